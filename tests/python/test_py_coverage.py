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


def cov_model(path, overflow=None, acc_bits=16):
    m = C.Model()
    m.meta["model.name"] = "coverage"
    m.add_tensor("x", "int8", (1, 2, 1, 4))
    m.add_tensor("w", "int8", (2, 2, 1, 1), data=np.array([1, 0, 0, -1], np.int8))
    m.add_tensor("b", "int32", (2,), data=np.array([0, 1], np.int32))
    m.add_tensor("acc", "int32", (1, 2, 1, 4))
    m.add_tensor("y", "int8", (1, 2, 1, 4))
    conv_attrs = {} if overflow is None else {"overflow": overflow, "acc_bits": acc_bits}
    m.add_op("conv2d", "conv", ["x", "w", "b"], ["acc"], conv_attrs)
    m.add_op("requantize", "rq", ["acc"], ["y"], multiplier=C.Ints([1, 3]), shift=C.Ints([1, 2]),
             offset=C.Ints([0, 1]), zero_point=2, lo=1, hi=40, rounding="half_even")
    m.inputs, m.outputs = ["x"], ["y"]
    C.write(m, path)


class CoverageTest(unittest.TestCase):
    def dump(self, d, inputs, overflow=None, acc_bits=16):
        model = os.path.join(d, "m.t2c")
        cov_model(model, overflow, acc_bits)
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
        self.assertEqual((c["wraps"], c["saturations"]), (0, 0))  # policy "error": none possible
        self.assertEqual((c["overflow"], c["acc_bits"], c["wraps_per_channel"]), ("error", 32, [0, 0]))
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

    def test_proven_bound_counts_nothing(self):
        # acc_bits 16 wrap: the bound 2·128·128 + 1 = 32769 > 32767 does not prove it, so the steps
        # are recomputed (none wraps); acc_bits 17 is proven safe without recomputing. Both 0.
        for bits in (16, 17):
            with self.subTest(bits=bits), tempfile.TemporaryDirectory() as d:
                man = self.dump(d, [X], overflow="wrap", acc_bits=bits)
                c = self.ops(man)["conv"]["coverage"]
                self.assertEqual((c["overflow"], c["acc_bits"], c["wraps"], c["saturations"]), ("wrap", bits, 0, 0))
                self.assertEqual(c["wraps_per_channel"], [0, 0])
                self.assertIsNone(c["note"])
                self.assertEqual(c["max_abs_acc_per_channel"], [100, 30])

    def one_op(self, d, build, x):
        """Dump a one-op model built by build(m) with input x; return that op's coverage."""
        m = C.Model()
        build(m)
        m.inputs, m.outputs = [m.ops[0].inputs[0]], [m.ops[0].outputs[0]]
        model = os.path.join(d, "m.t2c")
        C.write(m, model)
        np.save(os.path.join(d, "x.npy"), x)
        p = subprocess.run([GOLDEN, model, os.path.join(d, "x.npy"), "--out", os.path.join(d, "g")],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(d, "g", "manifest.json")) as f:
            man = json.load(f)
        self.assertEqual(len(man["ops"]), 1)
        return man["ops"][0]["coverage"], man

    def test_conv_acc8_wraps_and_saturations(self):
        # conv 1x3, x = [10, 10, -10], acc_bits 8 (range -128..127), bias [100, -100]
        # ch0 w [3, 2, 5]:  products 30, 20, -50
        #   wrap:     100 -> 130 wraps (-126) -> -106 -> -156 wraps (100)            2 wraps, y 100
        #   saturate: 100 -> 130 clips (127) -> 147 clips (127) -> 77                2 clips, y 77
        # ch1 w [-4, 0, 4]: products -40, 0, -40
        #   wrap:     -100 -> -140 wraps (116) -> 116 -> 76                          1 wrap,  y 76
        #   saturate: -100 -> -140 clips (-128) -> -128 -> -168 clips (-128)         2 clips, y -128
        def build(policy):
            def b(m):
                m.add_tensor("x", "int8", (1, 1, 1, 3))
                m.add_tensor("w", "int8", (2, 1, 1, 3), data=np.array([3, 2, 5, -4, 0, 4], np.int8))
                m.add_tensor("b", "int32", (2,), data=np.array([100, -100], np.int32))
                m.add_tensor("acc", "int32", (1, 2, 1, 1))
                m.add_op("conv2d", "conv", ["x", "w", "b"], ["acc"], {"acc_bits": 8, "overflow": policy})
            return b
        x = np.array([10, 10, -10], np.int8).reshape(1, 1, 1, 3)
        with tempfile.TemporaryDirectory() as d:
            c, _ = self.one_op(d, build("wrap"), x)
        self.assertEqual((c["wraps"], c["wraps_per_channel"]), (3, [2, 1]))
        self.assertEqual((c["saturations"], c["saturations_per_channel"]), (0, [0, 0]))
        self.assertEqual(c["max_abs_acc_per_channel"], [100, 76])
        self.assertIsNone(c["note"])   # the recomputed accumulators equal the op's outputs
        with tempfile.TemporaryDirectory() as d:
            c, _ = self.one_op(d, build("saturate"), x)
        self.assertEqual((c["saturations"], c["saturations_per_channel"]), (4, [2, 2]))
        self.assertEqual((c["wraps"], c["wraps_per_channel"]), (0, [0, 0]))
        self.assertEqual(c["max_abs_acc_per_channel"], [77, 128])
        self.assertIsNone(c["note"])

    def test_linear_bias_load_wraps(self):
        # acc_bits 8 wrap: loading the bias 200 is itself a step out of range (-> -56), then
        # + 1·1 + 1·1 = -54 (= 202 - 256): 1 wrap
        def b(m):
            m.add_tensor("x", "int8", (1, 2))
            m.add_tensor("w", "int8", (1, 2), data=np.array([1, 1], np.int8))
            m.add_tensor("b", "int32", (1,), data=np.array([200], np.int32))
            m.add_tensor("y", "int32", (1, 1))
            m.add_op("linear", "fc", ["x", "w", "b"], ["y"], {"acc_bits": 8, "overflow": "wrap"})
        with tempfile.TemporaryDirectory() as d:
            c, _ = self.one_op(d, b, np.array([[1, 1]], np.int8))
        self.assertEqual((c["wraps"], c["wraps_per_channel"], c["max_abs_acc"]), (1, [1], 54))

    def test_matmul_transpose_b_wraps(self):
        # a = [100, 100]; b (transpose_b: rows are n) = [[1, 1], [-1, 2]]; acc_bits 8 wrap
        # n0: 100 -> 200 wraps (-56); n1: -100 -> 100: wraps per channel [1, 0]
        def b(m):
            m.add_tensor("a", "int8", (1, 1, 2))
            m.add_tensor("b", "int8", (1, 2, 2), data=np.array([1, 1, -1, 2], np.int8))
            m.add_tensor("y", "int32", (1, 1, 2))
            m.add_op("matmul", "mm", ["a", "b"], ["y"], {"acc_bits": 8, "overflow": "wrap", "transpose_b": 1})
        with tempfile.TemporaryDirectory() as d:
            c, _ = self.one_op(d, b, np.array([[[100, 100]]], np.int8))
        self.assertEqual((c["wraps"], c["wraps_per_channel"]), (1, [1, 0]))
        self.assertEqual(c["max_abs_acc_per_channel"], [56, 100])

    def test_add_saturates_both_ends(self):
        # a_shift 1, out_shift 1, lo -5, hi 5, half_even; a = [3, -5, 40, -40], b = [0, 1, 0, -1]
        # a2 = a/2: 1.5 -> 2 (tie), -2.5 -> -2 (tie), 20, -20;  b2 = b
        # sum 2, -1, 20, -21; /2: 1, -0.5 -> 0 (tie), 10, -10.5 -> -10 (tie)
        # clamp: 1, 0, 5 (hi), -5 (lo): saturated_lo 1, saturated_hi 1, ties 2 + 2 = 4
        def b(m):
            m.add_tensor("a", "int8", (1, 4))
            m.add_tensor("b", "int8", (1, 4), data=np.array([[0, 1, 0, -1]], np.int8))
            m.add_tensor("y", "int8", (1, 4))
            m.add_op("add", "add", ["a", "b"], ["y"], {"a_shift": 1, "out_shift": 1, "lo": -5, "hi": 5})
        with tempfile.TemporaryDirectory() as d:
            c, _ = self.one_op(d, b, np.array([[3, -5, 40, -40]], np.int8))
        self.assertEqual(c["channels"], 1)
        self.assertEqual((c["saturated_lo"], c["saturated_hi"], c["ties"], c["elements"]), (1, 1, 4, 4))
        self.assertEqual((c["saturated_lo_per_channel"], c["saturated_hi_per_channel"], c["ties_per_channel"]),
                         ([1], [1], [4]))

    def test_broadcast_add_and_mul(self):
        # broadcast_add: a [1, 2, 2] = [[3, -5], [40, -40]] + b [1, 2] = [0, 1] (row broadcast), the
        # add example's attributes: a2 2 (tie), -2 (tie), 20, -20; sums 2, -1, 20, -19;
        # /2: 1, 0 (tie), 10 -> hi, -9.5 -> -10 (tie, q = -10 even) -> lo: 1, 1, ties 4
        def ba(m):
            m.add_tensor("a", "int8", (1, 2, 2))
            m.add_tensor("b", "int8", (1, 2), data=np.array([[0, 1]], np.int8))
            m.add_tensor("y", "int8", (1, 2, 2))
            m.add_op("broadcast_add", "badd", ["a", "b"], ["y"], {"a_shift": 1, "out_shift": 1, "lo": -5, "hi": 5})
        with tempfile.TemporaryDirectory() as d:
            c, _ = self.one_op(d, ba, np.array([[[3, -5], [40, -40]]], np.int8))
        self.assertEqual((c["saturated_lo"], c["saturated_hi"], c["ties"]), (1, 1, 4))
        # mul: a = [5, -7, 20] · b = [3] (broadcast), shift 1, lo -10, hi 10
        # p = 15, -21, 60; /2: 7.5 -> 8 (tie), -10.5 -> -10 (tie), 30 -> hi
        def mu(m):
            m.add_tensor("a", "int8", (1, 3))
            m.add_tensor("b", "int8", (1, 1), data=np.array([[3]], np.int8))
            m.add_tensor("y", "int8", (1, 3))
            m.add_op("mul", "mul", ["a", "b"], ["y"], {"shift": 1, "lo": -10, "hi": 10})
        with tempfile.TemporaryDirectory() as d:
            c, _ = self.one_op(d, mu, np.array([[5, -7, 20]], np.int8))
        self.assertEqual((c["saturated_lo"], c["saturated_hi"], c["ties"], c["elements"]), (0, 1, 2, 3))

    def test_quantize_ties_and_clamps(self):
        # scale 0.5 (1/scale = 2 exactly), lo -1, hi 50: t = 0.5, 1.5, 2.5, -0.5 are ties (to even:
        # 0, 2, 2, -0); t = 100 > hi; t = -7.25 -> -7 < lo; t = 3.0 neither; NaN -> zero_point, neither
        def b(m):
            m.add_tensor("x", "float32", (1, 8))
            m.add_tensor("y", "int8", (1, 8))
            m.add_op("quantize", "q", ["x"], ["y"], {"scale": 0.5, "lo": -1, "hi": 50})
        x = np.array([[0.25, 0.75, 1.25, -0.25, 50.0, -3.625, 1.5, np.nan]], np.float32)
        with tempfile.TemporaryDirectory() as d:
            c, _ = self.one_op(d, b, x)
        self.assertEqual((c["saturated_lo"], c["saturated_hi"], c["ties"], c["elements"]), (1, 1, 4, 8))
        self.assertIsNone(c["note"])

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


    def test_pools(self):
        # avgpool2d kernel 2x2, strides 1, pads [0, 0, 1, 1] (bottom/right), count_include_pad 0:
        # ch0 [[1, 2], [3, 4]]: windows 10/4 = 2.5 (tie), 6/2 = 3, 7/2 = 3.5 (tie), 4/1 -> 2 ties
        # ch1 [[-1, -2], [-2, -1]]: -6/4 = -1.5 (tie), -3/2 (tie), -3/2 (tie), -1/1 -> 3 ties
        def ap(m):
            m.add_tensor("x", "int8", (1, 2, 2, 2))
            m.add_tensor("y", "int8", (1, 2, 2, 2))
            m.add_op("avgpool2d", "pool", ["x"], ["y"], {"kernel": C.Ints([2, 2]), "strides": C.Ints([1, 1]),
                                                          "pads": C.Ints([0, 0, 1, 1])})
        x = np.array([1, 2, 3, 4, -1, -2, -2, -1], np.int8).reshape(1, 2, 2, 2)
        with tempfile.TemporaryDirectory() as d:
            c, _ = self.one_op(d, ap, x)
        self.assertEqual((c["channels"], c["ties_per_channel"], c["ties"], c["elements"]), (2, [2, 3], 5, 8))
        self.assertEqual((c["saturated_lo"], c["saturated_hi"]), (0, 0))
        # global_avgpool, multiplier 3, shift 1: sums 1, 400, -400 -> 1.5 (tie), 600 > 127, -600 < -128
        def gp(m):
            m.add_tensor("x", "int8", (1, 3, 2, 2))
            m.add_tensor("y", "int8", (1, 3, 1, 1))
            m.add_op("global_avgpool", "gap", ["x"], ["y"], {"multiplier": 3, "shift": 1})
        x = np.array([1, 2, 3, -5] + [100] * 4 + [-100] * 4, np.int8).reshape(1, 3, 2, 2)
        with tempfile.TemporaryDirectory() as d:
            c, _ = self.one_op(d, gp, x)
        self.assertEqual(c["saturated_lo_per_channel"], [0, 0, 1])
        self.assertEqual(c["saturated_hi_per_channel"], [0, 1, 0])
        self.assertEqual(c["ties_per_channel"], [1, 0, 0])

    def test_gen_directed_overflow_cases(self):
        # t2c-gen's directed acc_overflow cases (--acc-bits 16): int8 x = w = -128, K = 2^(16-15) = 2
        # products of 2^14 per output, so the second step reaches 2^15, one past 32767: exactly one
        # wrap (or clip) per output element. conv2d: [1, 2, 2, 2] outputs -> [4, 4] per channel.
        gen = os.path.join(BUILD, "golden", "t2c-gen")
        if not os.path.exists(gen):
            self.skipTest("t2c-gen not built")
        for op in ("conv2d", "linear", "matmul"):
            with self.subTest(op), tempfile.TemporaryDirectory() as d:
                p = subprocess.run([gen, "--op", op, "--directed", "--count", "0", "--acc-bits", "16", "--out", d],
                                   capture_output=True, text=True, timeout=120)
                self.assertEqual(p.returncode, 0, p.stderr)
                seen = set()
                for n in sorted(os.listdir(d)):
                    if not os.path.isfile(os.path.join(d, n, "manifest.json")):
                        continue
                    with open(os.path.join(d, n, "manifest.json")) as f:
                        o = json.load(f)["ops"][0]
                    c, pol = o["coverage"], o["attrs"].get("overflow", "error")
                    if pol == "error":
                        self.assertEqual((c["wraps"], c["saturations"]), (0, 0))
                        continue
                    seen.add(pol)
                    key = "wraps" if pol == "wrap" else "saturations"
                    self.assertEqual(c[key], c["elements"], n)
                    self.assertEqual(c["wraps" if key == "saturations" else "saturations"], 0)
                    self.assertIsNone(c["note"])
                    if op == "conv2d":
                        self.assertEqual(c[key + "_per_channel"], [4, 4])
                self.assertEqual(seen, {"wrap", "saturate"})


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
