"""t2c-check waivers (--waivers FILE) and moved compare points (--compare-as, manifest "compare_as").

Model: x int8 [1,2,1,4] -> 1x1 conv2d "conv" (int32) -> requantize "rq" (int8); clean golden dump
from t2c-golden (hex, one element per line), then hardware differences are made by editing lines.
Reference rq output (hand-worked in test_py_coverage.py): ch0 [4, 4, 1, 40], ch1 [3, 2, 17, 1].
"""
import json
import os
import subprocess
import tempfile
import unittest

import numpy as np

try:
    from t2c import container as C
except ImportError:  # PYTHONPATH not set: run from the source tree
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "formats", "python"))
    from t2c import container as C

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("T2C_BUILD_DIR", os.path.join(ROOT, "build"))
GOLDEN = os.path.join(BUILD, "golden", "t2c-golden")
CHECK = os.path.join(BUILD, "golden", "t2c-check")

X = np.array([[[[3, 5, -3, 100]], [[0, 2, -19, 31]]]], np.int8)


def model(path):
    m = C.Model()
    m.add_tensor("x", "int8", (1, 2, 1, 4))
    m.add_tensor("w", "int8", (2, 2, 1, 1), data=np.array([1, 0, 0, -1], np.int8))
    m.add_tensor("b", "int32", (2,), data=np.array([0, 1], np.int32))
    m.add_tensor("acc", "int32", (1, 2, 1, 4))
    m.add_tensor("y", "int8", (1, 2, 1, 4))
    m.add_op("conv2d", "conv", ["x", "w", "b"], ["acc"])
    m.add_op("requantize", "rq", ["acc"], ["y"], multiplier=C.Ints([1, 3]), shift=C.Ints([1, 2]),
             offset=C.Ints([0, 1]), zero_point=2, lo=1, hi=40, rounding="half_even")
    m.inputs, m.outputs = ["x"], ["y"]
    C.write(m, path)


def run(*args):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


@unittest.skipUnless(os.path.exists(CHECK) and os.path.exists(GOLDEN), "t2c-check / t2c-golden not built")
class WaiverTest(unittest.TestCase):
    def setUp(self):
        self.tmpd = tempfile.TemporaryDirectory()
        d = self.tmpd.name
        self.model, self.x, self.dump = os.path.join(d, "m.t2c"), os.path.join(d, "x.npy"), os.path.join(d, "g")
        model(self.model)
        np.save(self.x, X)
        rc, _, se = run(GOLDEN, "-q", self.model, self.x, "--out", self.dump, "--roles", "act")
        self.assertEqual(rc, 0, se)
        with open(os.path.join(self.dump, "manifest.json")) as f:
            self.man = json.load(f)

    def tearDown(self):
        self.tmpd.cleanup()

    def edit(self, op, changes):
        """Add delta to output element k (hex, one element per line) of op."""
        e = next(e for e in self.man["files"] if e["op"] == op and e["role"] == "output")
        path = os.path.join(self.dump, e["path"])
        with open(path) as f:
            lines = f.read().split("\n")
        b = e["bits"]
        for k, delta in changes.items():
            v = int(lines[k], 16)
            v = v - (1 << b) if v >> (b - 1) else v
            lines[k] = format((v + delta) & ((1 << b) - 1), "0%dx" % (b // 4))
        with open(path, "w") as f:
            f.write("\n".join(lines))

    def waivers(self, text, name="waivers.txt"):
        p = os.path.join(self.tmpd.name, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def check(self, *opts, expect):
        rc, so, se = run(CHECK, self.model, self.x, self.dump, "--json", *opts)
        self.assertEqual(rc, expect, so + se)
        return json.loads(so) if rc != 2 else se

    def op(self, rep, name):
        return next(o for o in rep["ops"] if o["name"] == name)

    def test_clean(self):
        rep = self.check(expect=0)
        self.assertEqual((rep["checked"], rep["mismatching"], rep["waived"], rep["skipped"]), (2, 0, 0, 0))

    def test_waived_within_max_diff(self):
        self.edit("rq", {0: +1, 5: -1})   # 4 -> 5, 2 -> 1: two elements, |diff| 1
        rep = self.check(expect=1)
        self.assertEqual(rep["mismatching"], 1)
        self.assertEqual(self.op(rep, "rq")["full"]["max_abs_diff"], 1)
        w = self.waivers("# expected RTL differences\nrq  max_diff=1  RTL rounds ties up (ticket 42)\n")
        rep = self.check("--waivers", w, expect=0)
        self.assertEqual((rep["mismatching"], rep["waived"]), (0, 1))
        self.assertIsNone(rep["first_divergent"])
        o = self.op(rep, "rq")
        self.assertEqual(o["waived"], "RTL rounds ties up (ticket 42)")
        self.assertFalse(o["match"])          # the difference is still reported
        self.assertEqual(o["full"]["mismatches"], 2)
        rc, so, _ = run(CHECK, self.model, self.x, self.dump, "--waivers", w)
        self.assertEqual(rc, 0)
        self.assertIn("waived (RTL rounds ties up (ticket 42))", so)
        self.assertIn("1 waived", so)

    def test_limits_and_first_match(self):
        self.edit("rq", {0: +1, 5: -1, 7: +3})  # three elements, max |diff| 3
        for text in ("r? max_diff=2 too small\n", "rq count=2 only two\n",
                     "rq count=1 first rule decides\n* max_diff=9 would pass\n",
                     "conv max_diff=100 other op\n"):
            with self.subTest(text):
                rep = self.check("--waivers", self.waivers(text), expect=1)
                self.assertEqual((rep["mismatching"], rep["waived"]), (1, 0))
                self.assertIsNone(self.op(rep, "rq")["waived"])
        rep = self.check("--waivers", self.waivers("r* count=3 three known\n"), expect=0)
        self.assertEqual(self.op(rep, "rq")["waived"], "three known")
        rep = self.check("--waivers", self.waivers("rq max_diff=3 three\n"), expect=0)
        self.assertEqual(rep["waived"], 1)

    def test_waiver_file_errors(self):
        for text, msg in (("rq\n", ":1:"), ("# c\nrq max=1 x\n", ":2:"), ("rq count=-1 x\n", "count=-1"),
                          ("rq count=1\n", "needs a reason")):
            with self.subTest(text):
                se = self.check("--waivers", self.waivers(text), expect=2)
                self.assertIn(msg, se)
        se = self.check("--waivers", os.path.join(self.tmpd.name, "none.txt"), expect=2)
        self.assertIn("cannot open", se)

    def test_json_waivers(self):
        self.edit("rq", {0: +1, 5: -1, 7: +3})  # three elements, max |diff| 3
        ok = [{"op": "conv", "max_diff": 100, "reason": "other op"},
              {"op": "r*", "count": 3, "reason": "three known (ticket 7)", "comment": "RTL v2"}]
        for name, text in (("w.json", json.dumps(ok)),                       # by extension
                           ("w.txt", "  \n" + json.dumps(ok, indent=2)),    # by content: '[' then '{'
                           ("w", json.dumps({"waivers": ok}))):             # by content: '{'
            with self.subTest(name):
                rep = self.check("--waivers", self.waivers(text, name), expect=0)
                self.assertEqual((rep["mismatching"], rep["waived"]), (0, 1))
                self.assertEqual(self.op(rep, "rq")["waived"], "three known (ticket 7)")
        # same semantics as the text form: limits, and the first matching waiver decides
        for ws in ([{"op": "rq", "max_diff": 2, "reason": "too small"}],
                   [{"op": "rq", "count": 1, "reason": "first"}, {"op": "*", "max_diff": 9, "reason": "later"}],
                   []):
            with self.subTest(ws=ws):
                rep = self.check("--waivers", self.waivers(json.dumps(ws), "w.json"), expect=1)
                self.assertEqual((rep["mismatching"], rep["waived"]), (1, 0))
        # a text glob may start with '[': still the text form
        rep = self.check("--waivers", self.waivers("[r]q max_diff=3 bracket glob\n"), expect=0)
        self.assertEqual(self.op(rep, "rq")["waived"], "bracket glob")

    def test_json_waiver_errors(self):
        bad = (('[{"op": "rq", "max_diff": 1,}]', "w.json", "w.json:1: not valid JSON"),
               ('[\n{"op": "rq",\n "count": 1', "w.txt", "w.txt:3: not valid JSON: unexpected end of file"),
               ('[{"op": "rq", "count": 1, "reason": "x"}] junk', "w.json", "w.json:1: not valid JSON"),
               ('[{"op": "rq", "count": 1}]', "w.json", "w.json: waiver 1: a waiver needs a reason"),
               ('[{"op": "rq", "count": 1, "reason": "  "}]', "w.json", "waiver 1: a waiver needs a reason"),
               ('[{"op": "a", "count": 1, "reason": "x"}, {"count": 1, "reason": "x"}]', "w.json",
                'w.json: waiver 2: missing "op"'),
               ('[{"op": "rq", "reason": "x"}]', "w.json", 'exactly one of "max_diff" and "count"'),
               ('[{"op": "rq", "count": 1, "max_diff": 1, "reason": "x"}]', "w.json", "exactly one of"),
               ('[{"op": "rq", "count": -1, "reason": "x"}]', "w.json", '"count" must be an integer >= 0'),
               ('[{"op": "rq", "max_diff": 1.5, "reason": "x"}]', "w.json", '"max_diff" must be an integer'),
               ('[{"op": "rq", "max_dif": 1, "reason": "x"}]', "w.json", 'unknown key "max_dif"'),
               ('{"waiver": []}', "w.json", 'unknown key "waiver"'),
               ('{"waivers": 3}', "w.json", "expected an array of waivers"),
               ('["rq"]', "w.json", "waiver 1: not an object"),
               ('', "w.json", "unexpected end of file"))
        for text, name, msg in bad:
            with self.subTest(text):
                se = self.check("--waivers", self.waivers(text, name), expect=2)
                self.assertIn(msg, se)
                self.assertIn(name, se)
                self.assertEqual(len(se.strip().splitlines()), 1, se)

    def test_compare_as(self):
        self.edit("conv", {2: 7})          # hardware fuses conv+rq: its conv dump is not comparable
        rep = self.check(expect=1)
        self.assertEqual(rep["first_divergent"], "conv")
        rep = self.check("--compare-as", "conv=rq", expect=0)
        o = self.op(rep, "conv")
        self.assertEqual(o["skipped"], "fused into 'rq': compared there")
        self.assertEqual((rep["checked"], rep["mismatching"], rep["skipped"]), (1, 0, 1))
        self.assertIsNone(self.op(rep, "rq")["skipped"])
        rc, so, _ = run(CHECK, self.model, self.x, self.dump, "--compare-as", "conv=rq")
        self.assertEqual(rc, 0)
        self.assertRegex(so, r"conv\s+conv2d\s+skipped\s+fused into 'rq'")
        # the compared point still fails when it differs
        self.edit("rq", {1: 1})
        rep = self.check("--compare-as", "conv=rq", expect=1)
        self.assertEqual(rep["first_divergent"], "rq")
        for bad, msg in (("rq=conv", "later op"), ("nope=rq", "no op named 'nope'"), ("conv", "not OP=OP2")):
            with self.subTest(bad):
                self.assertIn(msg, self.check("--compare-as", bad, expect=2))

    def test_manifest_compare_as(self):
        self.edit("conv", {0: -1})
        man = dict(self.man, compare_as={"conv": "rq"})
        with open(os.path.join(self.dump, "manifest.json"), "w") as f:
            json.dump(man, f)
        rep = self.check(expect=0)
        self.assertEqual(self.op(rep, "conv")["skipped"], "fused into 'rq': compared there")


if __name__ == "__main__":
    unittest.main()
