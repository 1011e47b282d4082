"""t2c-run command line: options, exit codes, messages, results on a hand-made model.

The model is built here with t2c.container: a 2x2 gray image, int8 input (scale 1/127,
zero point 0), flatten, linear with weights
    class 0 ("zero"): pixel (0,0);  class 1 ("one"): pixel (0,1);  class 2 ("two"): row 1
and int32 logits with output.scale 0.5. A pixel p becomes round(p/255 · 127), so an image
[[255,0],[0,0]] scores [127, 0, 0] -> logits [63.5, 0, 0].
"""
import json
import os
import subprocess
import tempfile
import unittest

import numpy as np
from PIL import Image

BUILD = os.environ.get("T2C_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
RUN = os.path.join(BUILD, "engine", "tools", "t2c-run")

try:
    from t2c import container as C
except ImportError:  # PYTHONPATH not set: run from the source tree
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "formats", "python"))
    from t2c import container as C


def run(*args, cwd=None):
    p = subprocess.run([RUN] + [str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                       timeout=120)
    return p.returncode, p.stdout, p.stderr


def tiny_model(path, wnids=None, extra_meta=None):
    m = C.Model()
    m.meta["model.name"] = "tiny"
    m.meta["input.layout"] = "NCHW"
    m.meta["input.color"] = "GRAY"
    m.meta["preprocess.mean"] = [0.0]
    m.meta["preprocess.std"] = [1.0]
    m.meta["input.scale"] = 1 / 127
    m.meta["input.zero_point"] = 0
    m.meta["output.scale"] = 0.5
    m.meta["output.zero_point"] = 0
    m.meta["labels"] = ["zero", "one", "two"]
    if wnids:
        m.meta["labels.wnid"] = wnids
    for k, v in (extra_meta or {}).items():
        m.meta[k] = v
    m.add_tensor("x", "int8", (1, 1, 2, 2))
    m.add_tensor("xf", "int8", (1, 4))
    m.add_tensor("w", "int8", (3, 4), data=np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]], np.int8))
    m.add_tensor("y", "int32", (1, 3))
    m.add_op("flatten", "flat", ["x"], ["xf"])
    m.add_op("linear", "fc", ["xf", "w"], ["y"])
    m.inputs, m.outputs = ["x"], ["y"]
    C.write(m, path)


@unittest.skipUnless(os.path.exists(RUN), "t2c-run not built")
class CliOptions(unittest.TestCase):
    def assert_usage_error(self, args, text):
        rc, out, err = run(*args)
        self.assertEqual(rc, 2, err)
        self.assertEqual(out, "")
        self.assertIn(text, err)
        self.assertIn("Try 't2c-run --help'", err)

    def test_help_and_version(self):
        rc, out, err = run("--help")
        self.assertEqual((rc, err), (0, ""))
        self.assertTrue(out.startswith("Usage: t2c-run [OPTIONS] [MODEL.t2c] [IMAGE... | DIR...]"))
        for opt in ("--topk", "--threads", "--batch", "--quiet", "--json", "--golden", "Exit status"):
            self.assertIn(opt, out)
        self.assertEqual(run("-h")[:2], (0, out))
        rc, out, err = run("--version")
        self.assertEqual((rc, out, err), (0, "t2c-run (t2c) 0.1.0\n", ""))
        self.assertEqual(run("-V")[1], out)

    def test_bad_options(self):
        self.assert_usage_error(["--frobnicate"], "unrecognized option '--frobnicate'")
        self.assert_usage_error(["-x"], "invalid option -- 'x'")
        self.assert_usage_error(["-k", "0", "a.png"], "option --topk: '0' is not an integer in 1..")
        self.assert_usage_error(["--threads", "two"], "option --threads: 'two' is not an integer")
        self.assert_usage_error(["-j", "1000"], "option --threads: '1000' is not an integer in 1..256")
        self.assert_usage_error(["-b", "-3"], "option --batch: '-3'")
        self.assert_usage_error(["-b", "4x"], "option --batch: '4x'")
        self.assert_usage_error(["-k"], "option requires an argument -- 'k'")
        self.assert_usage_error(["--golden"], "option '--golden' requires an argument")
        self.assert_usage_error(["a.t2c", "b.t2c", "x.png"], "more than one model given ('a.t2c' and 'b.t2c')")

    def test_model_errors(self):
        with tempfile.TemporaryDirectory() as d:
            missing = os.path.join(d, "missing.t2c")
            rc, out, err = run(missing, "x.png")
            self.assertEqual(rc, 2)
            self.assertEqual(len(err.splitlines()), 1, err)
            self.assertTrue(err.startswith("t2c-run: ") and missing in err, err)
            bad = os.path.join(d, "bad.t2c")
            with open(bad, "wb") as f:
                f.write(b"T2CMODEL" + b"\0" * 10)
            rc, out, err = run(bad, "x.png")
            self.assertEqual(rc, 2)
            self.assertEqual(len(err.splitlines()), 1, err)
            self.assertIn(bad, err)
            # a model whose input is not an image
            m = C.Model()
            m.add_tensor("x", "int8", (1, 4))
            m.add_tensor("y", "int8", (1, 4))
            m.add_op("relu", "r", ["x"], ["y"])
            m.inputs, m.outputs = ["x"], ["y"]
            flat = os.path.join(d, "flat.t2c")
            C.write(m, flat)
            rc, out, err = run(flat, "x.png")
            self.assertEqual(rc, 2)
            self.assertIn("flat.t2c: graph input 'x' is not an image tensor [N, C, H, W]", err)
            # int input without input.scale
            tiny_model(os.path.join(d, "noscale.t2c"), extra_meta={"input.scale": 0.0})
            rc, out, err = run(os.path.join(d, "noscale.t2c"), "x.png")
            self.assertEqual(rc, 2)
            self.assertIn("input.scale", err)


@unittest.skipUnless(os.path.exists(RUN), "t2c-run not built")
class CliRuns(unittest.TestCase):
    IMAGES = {
        "0_a.png": [[255, 0], [0, 0]],     # x = [127, 0, 0, 0] -> [127, 0, 0] -> 63.5
        "1_b.png": [[0, 255], [0, 0]],     # -> [0, 127, 0]
        "2_c.png": [[0, 0], [200, 100]],   # 99.6 -> 100, 49.8 -> 50 -> [0, 0, 150] -> 75
        "x.png": [[10, 20], [30, 40]],     # 5, 10, 15, 20 -> [5, 10, 35] -> 2.5, 5, 17.5
        "1_wrong.png": [[0, 0], [0, 255]],  # true class 1, predicted 2 (rank of class 1: 2)
    }

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.model = os.path.join(d, "tiny.t2c")
        tiny_model(cls.model)
        cls.imgdir = os.path.join(d, "imgs")
        os.mkdir(cls.imgdir)
        for name, px in cls.IMAGES.items():
            Image.fromarray(np.array(px, np.uint8)).save(os.path.join(cls.imgdir, name))
        with open(os.path.join(cls.imgdir, "notes.txt"), "w") as f:
            f.write("not an image, not listed")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def img(self, name):
        return os.path.join(self.imgdir, name)

    def test_text_output(self):
        rc, out, err = run(self.model, self.img("0_a.png"), self.img("x.png"), "-k", "2")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out.splitlines(), [
            self.img("0_a.png") + "  (true class: 0 zero)",
            "   1. 100.000%    63.5000     0 zero",
            "   2.   0.000%     0.0000     1 one",
            self.img("x.png"),
            "   1. 100.000%    17.5000     2 two",
            "   2.   0.000%     5.0000     1 one",
            "top-1 accuracy 100.00% (1/1), top-5 100.00% (1/1)",
        ])

    def test_json_values(self):
        rc, out, err = run(self.model, self.img("x.png"), self.img("1_wrong.png"), "--json")
        self.assertEqual((rc, err), (0, ""))
        doc = json.loads(out)
        self.assertEqual(doc["model"], self.model)
        self.assertEqual(doc["classes"], 3)
        self.assertEqual(doc["failed"], 0)
        x, wrong = doc["images"]
        self.assertNotIn("truth", x)
        self.assertEqual([t["index"] for t in x["top"]], [2, 1, 0])  # -k 5 capped at 3 classes
        self.assertEqual([t["logit"] for t in x["top"]], [17.5, 5.0, 2.5])
        e = np.exp(np.array([17.5, 5.0, 2.5]) - 17.5)
        np.testing.assert_allclose([t["prob"] for t in x["top"]], e / e.sum(), rtol=1e-8)
        self.assertEqual([t["label"] for t in x["top"]], ["two", "one", "zero"])
        # 1_wrong: logits [0, 0, 63.5]; class 1 ties class 0 and ranks after it (lower index first)
        self.assertEqual(wrong["truth"], 1)
        self.assertEqual([t["index"] for t in wrong["top"]], [2, 0, 1])
        self.assertEqual(doc["accuracy"], {"labelled": 1, "top1": 0, "top5": 1,
                                           "top1_rate": 0.0, "top5_rate": 1.0})

    def test_directory_sorted_and_accuracy(self):
        rc, out, err = run(self.model, self.imgdir, "-q")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "top-1 accuracy 75.00% (3/4), top-5 100.00% (4/4)\n")
        rc, out, err = run(self.model, self.imgdir, "--json")
        names = [os.path.basename(i["image"]) for i in json.loads(out)["images"]]
        self.assertEqual(names, sorted(self.IMAGES))

    def test_threads_and_batches_give_identical_output(self):
        files = [self.img(n) for n in sorted(self.IMAGES)] * 7  # 35 images
        ref = run(self.model, *files, "--json")
        self.assertEqual(ref[0], 0)
        for opts in (["-j", "3"], ["-b", "4"], ["-j", "4", "-b", "3"], ["-b", "64"], ["-j", "2", "-b", "35"]):
            with self.subTest(opts=opts):
                self.assertEqual(run(self.model, *files, "--json", *opts), ref)
        text = run(self.model, *files)
        self.assertEqual(run(self.model, *files, "-j", "3", "-b", "2"), text)

    def test_failing_images(self):
        bad = os.path.join(self.tmp.name, "bad.png")
        with open(bad, "wb") as f:
            f.write(b"this is no png")
        big = os.path.join(self.tmp.name, "3x3.png")
        Image.new("L", (3, 3)).save(big)
        missing = os.path.join(self.tmp.name, "missing.png")
        for opts in ([], ["-b", "3", "-j", "2"]):
            with self.subTest(opts=opts):
                rc, out, err = run(self.model, self.img("0_a.png"), bad, missing, big,
                                   self.img("1_b.png"), *opts)
                self.assertEqual(rc, 1)
                self.assertEqual(err.splitlines(), [
                    "t2c-run: %s: not a readable image (unknown image type)" % bad,
                    "t2c-run: %s: cannot open: No such file or directory" % missing,
                    "t2c-run: %s: image is 3x3 after preprocessing, the model needs 2x2" % big,
                ])
                self.assertIn(self.img("0_a.png") + "  (true class: 0 zero)\n", out)
                self.assertIn(self.img("1_b.png") + "  (true class: 1 one)\n", out)
                self.assertTrue(out.endswith(
                    "top-1 accuracy 100.00% (2/2), top-5 100.00% (2/2), 3 images failed\n"), out)
        rc, out, err = run(self.model, bad, "--json")
        self.assertEqual(rc, 1)
        doc = json.loads(out)
        self.assertEqual(doc["failed"], 1)
        self.assertFalse(doc["images"][0]["ok"])
        self.assertIn("not a readable image", doc["images"][0]["error"])

    def test_empty_directory_is_usage_error(self):
        empty = os.path.join(self.tmp.name, "empty")
        os.makedirs(empty, exist_ok=True)
        rc, out, err = run(self.model, empty)
        self.assertEqual(rc, 2)
        self.assertIn("no image files", err)
        rc, out, err = run(self.model)
        self.assertEqual(rc, 2)
        self.assertIn("no images given", err)

    def test_progress(self):
        files = [self.img(n) for n in sorted(self.IMAGES)]
        rc, out, err = run(self.model, *files, "-q")
        self.assertEqual(err, "")  # stderr is a pipe: no progress bar by default
        rc, out, err = run(self.model, *files, "-q", "--progress")
        self.assertEqual(rc, 0)
        lines = err.splitlines()
        self.assertTrue(lines and all(l.startswith("[") for l in lines), err)
        self.assertIn("] 5/5 ", lines[-1])
        self.assertIn("top-1 75.00%", lines[-1])

    def test_wnid_ground_truth(self):
        model = os.path.join(self.tmp.name, "wnid.t2c")
        tiny_model(model, wnids=["n00000010", "n00000020", "n00000030"])
        d = os.path.join(self.tmp.name, "wnid")
        os.makedirs(d, exist_ok=True)
        for name, px in (("n00000010_first.png", [[255, 0], [0, 0]]),
                         ("n00000030_third.PNG", [[0, 0], [9, 9]]),
                         ("n00000020_second.png", [[0, 0], [9, 9]]),
                         ("n99999999_unknown.png", [[1, 2], [3, 4]])):
            Image.fromarray(np.array(px, np.uint8)).save(os.path.join(d, name))
        rc, out, err = run(model, d, "--json")
        self.assertEqual((rc, err), (0, ""))
        doc = json.loads(out)
        truths = {os.path.basename(i["image"]): i.get("truth") for i in doc["images"]}
        self.assertEqual(truths, {"n00000010_first.png": 0, "n00000020_second.png": 1,
                                  "n00000030_third.PNG": 2, "n99999999_unknown.png": None})
        self.assertEqual(doc["accuracy"]["top1"], 2)
        self.assertEqual(doc["accuracy"]["labelled"], 3)


@unittest.skipUnless(os.path.exists(RUN), "t2c-run not built")
class CliDefaultModel(unittest.TestCase):
    def test_builtin_model_and_samples(self):
        rc, out, err = run("-q")
        if rc == 2 and "no built-in default model" in err:
            self.skipTest("this build has no embedded default model")
        self.assertEqual(rc, 0, err)
        rc, out, err = run("--json", "-k", "1")
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        self.assertTrue(doc["model"].startswith("embedded:"))
        self.assertGreater(len(doc["images"]), 0)
        for img in doc["images"]:
            self.assertTrue(img["image"].startswith("embedded:samples/"), img["image"])
            self.assertTrue(img["ok"], img)
            self.assertEqual(len(img["top"]), 1)


if __name__ == "__main__":
    unittest.main()
