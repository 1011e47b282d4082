"""t2c-golden manifest coverage and traceability (issue 10), checked against hand-worked values.

Model: x int8 [1,2,1,4] -> 1x1 conv2d (weight [[1,0],[0,-1]], bias [0,1]) -> int32 acc
-> requantize per channel (multiplier [1,3], shift [1,2], offset [0,1], zero_point 2, lo 1, hi 40,
half_even) -> int8.

x ch0 = [3, 5, -3, 100], ch1 = [0, 2, -19, 31]
acc ch0 = x0 = [3, 5, -3, 100]             max |acc| 100
acc ch1 = 1 - x1 = [1, -1, 20, -30]        max |acc| 30      -> 100 needs 8 signed bits
requantize ch0: t = acc (shift 1): 3, 5, -3 have remainder exactly 1 = half -> 3 ties;
    rounded half_even 2, 2, -2, 50; + zp 2 = 4, 4, 0, 52 -> 0 < lo (1), 52 > hi (40)
requantize ch1: t = 3·acc + 1 = 4, -2, 61, -89 (shift 2): -2 mod 4 = 2 = half -> 1 tie;
    rounded 1, 0 (tie -0.5 to even), 15, -22; + 2 = 3, 2, 17, -20 -> -20 < lo
Totals: saturated_lo 2 ([1, 1]), saturated_hi 1 ([1, 0]), ties 4 ([3, 1]).
Two images of the same input double every count; the max stays.
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
INFO = os.path.join(BUILD, "engine", "tools", "t2c-info")

X = np.array([[[[3, 5, -3, 100]], [[0, 2, -19, 31]]]], np.int8)


def cov_model(path, overflow=None):
    m = C.Model()
    m.meta["model.name"] = "coverage"
    m.add_tensor("x", "int8", (1, 2, 1, 4))
    m.add_tensor("w", "int8", (2, 2, 1, 1), data=np.array([1, 0, 0, -1], np.int8))
    m.add_tensor("b", "int32", (2,), data=np.array([0, 1], np.int32))
    m.add_tensor("acc", "int32", (1, 2, 1, 4))
    m.add_tensor("y", "int8", (1, 2, 1, 4))
    conv_attrs = {} if overflow is None else {"overflow": overflow, "acc_bits": 16}
    m.add_op("conv2d", "conv", ["x", "w", "b"], ["acc"], conv_attrs)
    m.add_op("requantize", "rq", ["acc"], ["y"], multiplier=C.Ints([1, 3]), shift=C.Ints([1, 2]),
             offset=C.Ints([0, 1]), zero_point=2, lo=1, hi=40, rounding="half_even")
    m.inputs, m.outputs = ["x"], ["y"]
    C.write(m, path)


class CoverageTest(unittest.TestCase):
    def dump(self, d, inputs, overflow=None):
        model = os.path.join(d, "m.t2c")
        cov_model(model, overflow)
        for i, x in enumerate(inputs):
            np.save(os.path.join(d, f"x{i}.npy"), x)
        out = os.path.join(d, "g")
        p = subprocess.run([GOLDEN, model] + [os.path.join(d, f"x{i}.npy") for i in range(len(inputs))]
                           + ["--out", out], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(out, "manifest.json")) as f:
            return json.load(f)

    def ops(self, man):
        return {o["name"]: o for o in man["ops"]}

    def test_hand_worked_counts(self):
        with tempfile.TemporaryDirectory() as d:
            man = self.dump(d, [X])
        ops = self.ops(man)
        c = ops["conv"]["coverage"]
        self.assertEqual(c["channels"], 2)
        self.assertEqual(c["max_abs_acc_per_channel"], [100, 30])
        self.assertEqual(c["max_abs_acc"], 100)
        self.assertEqual(c["acc_bits_needed"], 8)
        self.assertEqual(c["wraps"], 0)  # policy "error": no wrap possible
        self.assertEqual(c["elements"], 8)
        r = ops["rq"]["coverage"]
        self.assertEqual(r["channels"], 2)
        self.assertEqual(r["saturated_lo_per_channel"], [1, 1])
        self.assertEqual(r["saturated_hi_per_channel"], [1, 0])
        self.assertEqual(r["ties_per_channel"], [3, 1])
        self.assertEqual((r["saturated_lo"], r["saturated_hi"], r["ties"]), (2, 1, 4))
        self.assertEqual(r["elements"], 8)

    def test_counts_accumulate_over_images(self):
        x2 = X.copy()
        x2[0, 0, 0, 3] = -128  # acc ch0 -128: max 128 needs 9 bits; rq: -64 + 2 < lo, no tie
        with tempfile.TemporaryDirectory() as d:
            man = self.dump(d, [X, x2])
        ops = self.ops(man)
        self.assertEqual(ops["conv"]["coverage"]["max_abs_acc_per_channel"], [128, 30])
        self.assertEqual(ops["conv"]["coverage"]["acc_bits_needed"], 9)
        r = ops["rq"]["coverage"]
        self.assertEqual(r["saturated_lo_per_channel"], [3, 2])
        self.assertEqual(r["saturated_hi_per_channel"], [1, 0])
        self.assertEqual(r["ties_per_channel"], [6, 2])
        self.assertEqual(r["elements"], 16)

    def test_wrap_policy_noted(self):
        with tempfile.TemporaryDirectory() as d:
            man = self.dump(d, [X], overflow="wrap")
        c = self.ops(man)["conv"]["coverage"]
        self.assertIsNone(c["wraps"])
        self.assertIn("not counted", c["note"])
        self.assertEqual(c["max_abs_acc_per_channel"], [100, 30])

    def test_traceability(self):
        with tempfile.TemporaryDirectory() as d:
            man = self.dump(d, [X])
        self.assertEqual(man["engine_version"], "0.1.0")
        c = man["engine_commit"]
        p = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True)
        if p.returncode != 0:
            self.assertEqual(c, "unknown")
        else:  # a commit of this repository (HEAD when built; the tree may have moved on since)
            self.assertRegex(c, r"^[0-9a-f]{40}$")
            q = subprocess.run(["git", "-C", ROOT, "cat-file", "-t", c], capture_output=True, text=True)
            self.assertEqual(q.stdout.strip(), "commit")
        self.assertIn("seed", man)
        self.assertIsNone(man["seed"])
        self.assertEqual(len(man["model"]["sha256"]), 64)
        self.assertIn("options", man)

    def test_gen_records_seed(self):
        gen = os.path.join(BUILD, "golden", "t2c-gen")
        if not os.path.exists(gen):
            self.skipTest("t2c-gen not built")
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run([gen, "--op", "requantize", "--seed", "12345", "--count", "2", "--out", d],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            mans = sorted(os.path.join(d, n, "manifest.json") for n in os.listdir(d)
                          if os.path.isfile(os.path.join(d, n, "manifest.json")))
            self.assertEqual(len(mans), 2)
            for m in mans:
                with open(m) as f:
                    man = json.load(f)
                self.assertEqual(man["seed"], 12345)
                rq = [o for o in man["ops"] if o["type"] == "requantize"]
                self.assertTrue(rq and "saturated_lo" in rq[0]["coverage"])


class RangesTest(unittest.TestCase):
    """t2c-info --ranges: max |acc| over a dataset and the worst case from dtypes and K."""

    def info(self, *args):
        return subprocess.run([INFO] + [str(a) for a in args], capture_output=True, text=True, timeout=120)

    def test_directory_of_npy(self):
        with tempfile.TemporaryDirectory() as d:
            model = os.path.join(d, "m.t2c")
            cov_model(model)
            ds = os.path.join(d, "ds")
            os.mkdir(ds)
            np.save(os.path.join(ds, "a.npy"), X)            # [1,2,1,4]: max |acc| 100
            x2 = X.copy()
            x2[0, 0, 0, 3] = -128                            # acc ch0 = -128
            np.save(os.path.join(ds, "b.npy"), x2[0])        # [2,1,4] also accepted
            p = self.info("--ranges", ds, model)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("ranges over 2 input(s)", p.stdout)
            row = [l.split() for l in p.stdout.splitlines() if " conv " in l]
            self.assertEqual(len(row), 1, p.stdout)
            # index, name, type, K, max|acc|, bits, worst, worst bits
            # worst: K=2 products of max|x| 128 · max|w| 128 = 32768, + max|bias| 1 = 32769 -> 17 bits
            self.assertEqual(row[0], ["0", "conv", "conv2d", "2", "128", "9", "32769", "17"])
            # one file only: 100 needs 8 bits
            p = self.info("--ranges", os.path.join(ds, "a.npy"), model)
            self.assertEqual(p.returncode, 0, p.stderr)
            row = [l.split() for l in p.stdout.splitlines() if " conv " in l]
            self.assertEqual(row[0][4:6], ["100", "8"])

    def test_bad_inputs(self):
        with tempfile.TemporaryDirectory() as d:
            model = os.path.join(d, "m.t2c")
            cov_model(model)
            np.save(os.path.join(d, "bad.npy"), np.zeros(5, np.int8))   # 5 is not a multiple of 8
            p = self.info("--ranges", os.path.join(d, "bad.npy"), model)
            self.assertEqual(p.returncode, 2)
            self.assertIn("not a whole number of inputs", p.stderr)
            np.save(os.path.join(d, "big.npy"), np.full(8, 300, np.int16))  # outside int8
            p = self.info("--ranges", os.path.join(d, "big.npy"), model)
            self.assertEqual(p.returncode, 2)
            self.assertIn("outside", p.stderr)
            p = self.info("--ranges", os.path.join(d, "missing"), model)
            self.assertEqual(p.returncode, 2)


if __name__ == "__main__":
    unittest.main()
