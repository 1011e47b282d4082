"""Transformer ops and the ViT exporter: the C engine equals the independent Python reference.

One-op models (t2c.container) run through tests/t2c_dump_tool (the C engine, every op output as
NNNN_<op>.npy) and t2c.reference.run; outputs must agree in dtype, shape and every bit.
  - softmax (ibert, shift, lut, tflite): every pair of int8 values as a row of 2, rows holding all 256
    int8 values, rows of equal values, several scales and output types; sampled int16/int32 rows;
  - gelu (ibert, sigmoid, lut): every int8 (and uint8) value at several scales and zero points,
    sampled int16/int32 values;
  - layernorm: rows covering every int8 value, constant rows (σ = 0), extremes, shift/eps, int16/int32;
  - mul and broadcast_add: every int8 × int8 pair through broadcasting;
  - transpose, slice, gather, expand on odd shapes;
  - small random ViTs (the Fashion-MNIST configuration and a 3-channel torchvision one) exported by
    t2c.export.vit with every softmax/GELU/layernorm choice and with INT4 weights: C == Python on every
    op, the integer logits follow the float model, t2c-golden/t2c-check handle every new op;
  - the shipped engine/default_model/fmnist_vit_int8.t2c on Fashion-MNIST test images.
Also checks a few values worked out by hand (TFLite's exp, the I-BERT exp constants).
"""

import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

from t2c import container
from t2c import reference as ref

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def _build_dir():
    d = os.environ.get("T2C_BUILD_DIR")
    if d:
        return d
    found = sorted(glob.glob(os.path.join(REPO, "build*", "tests", "t2c_dump_tool")))
    return os.path.dirname(os.path.dirname(found[0])) if found else ""


DUMP_TOOL = os.path.join(_build_dir(), "tests", "t2c_dump_tool")


def _have_torch():
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
        return True
    except Exception:
        return False


def diff(c, p):
    """None when arrays agree in dtype, shape and values; else a message naming the first difference."""
    if c.dtype != p.dtype:
        return f"dtype differs: C {c.dtype}, Python {p.dtype}"
    if c.shape != p.shape:
        return f"shape differs: C {list(c.shape)}, Python {list(p.shape)}"
    bad = c != p
    if not bad.any():
        return None
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    return (f"{int(bad.sum())} of {bad.size} elements differ; first at {list(first)}: "
            f"C {c[first].item()!r}, Python {p[first].item()!r}")


def run_c(model, x, workdir):
    """Every op output of the C engine: {op index: array}, and the process result."""
    path = os.path.join(workdir, "model.t2c")
    container.write(model, path)
    out = os.path.join(workdir, "out")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    xpath = os.path.join(workdir, "input.npy")
    np.save(xpath, np.ascontiguousarray(x))
    proc = subprocess.run([DUMP_TOOL, path, xpath, out], capture_output=True, text=True)
    res = {}
    for f in os.listdir(out):
        m = re.match(r"(\d{4})_", f)
        if m:
            res[int(m.group(1))] = np.load(os.path.join(out, f))
    return res, proc


def compare_model(tc, model, x, workdir, label):
    """Assert that C and Python agree on every op of `model` for input x; -> Python outputs by op."""
    py = {}
    ref.run(model, {model.inputs[0]: x}, on_op=lambda i, op, outs: py.__setitem__(i, outs[0]))
    c, proc = run_c(model, x, workdir)
    tc.assertEqual(proc.returncode, 0, f"{label}: C engine failed: {proc.stderr.strip()}")
    problems = []
    for i, op in enumerate(model.ops):
        if i not in c:
            problems.append(f"op #{i} '{op.name}' ({op.type}): no C output")
            continue
        d = diff(c[i], py[i])
        if d:
            problems.append(f"op #{i} '{op.name}' ({op.type}): {d}")
    if problems:
        tc.fail(f"{label}: C and Python differ:\n  " + "\n  ".join(problems[:12]))
    return py


def one_op(op_type, x_dtype, x_shape, out_dtype, attrs, consts=()):
    """A model: graph input 'x', constants [(name, dtype, array)], one op writing 'y'."""
    m = container.Model()
    m.add_tensor("x", x_dtype, tuple(x_shape))
    names = ["x"]
    for name, dt, arr in consts:
        if name == "":
            names.append("")
            continue
        m.add_tensor(name, dt, tuple(arr.shape), data=arr)
        names.append(name)
    out_shape = attrs.pop("_out_shape")
    m.add_tensor("y", out_dtype, tuple(out_shape))
    m.add_op(op_type, op_type, names, ["y"], attrs)
    m.inputs, m.outputs = ["x"], ["y"]
    return m


def _mult(scale):
    """float scale -> (multiplier, shift) with 31-bit normalized multiplier."""
    from t2c.export.fixedpoint import quantize_multiplier
    m, s, _ = quantize_multiplier(scale, 32)
    return m, s


def softmax_lut(scale_step_shift, k=256):
    step = 2.0 ** (scale_step_shift - 14)
    return np.round(np.exp(-np.arange(k) * step) * 2 ** 30).astype(np.int32)


def gelu_lut(lut_shift=7, k=256, offset=128):
    from math import erf, sqrt
    step = 2.0 ** (lut_shift - 12)
    phi = [0.5 * (1 + erf((i - offset) * step / sqrt(2))) for i in range(k)]
    return np.round(np.array(phi) * 2 ** 16).astype(np.int32)


class OpSweeps(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(DUMP_TOOL):
            raise unittest.SkipTest(f"{DUMP_TOOL} not built")
        cls.tmp = tempfile.mkdtemp(prefix="t2c_vit_")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def check(self, model, x, label):
        return compare_model(self, model, x, self.tmp, label)

    # ---------------- softmax
    def softmax_cases(self, x, x_dtype, methods=("ibert", "shift", "lut", "tflite"),
                      scales=(0.02, 0.0625, 0.3, 1.7), outs=("uint8", "int8", "int16")):
        for method in methods:
            if method == "tflite" and x_dtype not in ("int8", "uint8"):
                continue
            if method == "tflite" and x.shape[-1] > 511:
                continue
            for scale in scales:
                for out in outs:
                    m, s = _mult(scale)
                    attrs = {"method": method, "x_multiplier": m, "x_shift": s, "_out_shape": (1,) + x.shape[1:]}
                    consts = []
                    if method == "lut":
                        attrs["lut_shift"] = 10
                        consts = [("table", "int32", softmax_lut(10))]
                    model = one_op("softmax", x_dtype, (1,) + x.shape[1:], out, attrs, consts)
                    self.check(model, x, f"softmax {method} {x_dtype}->{out} scale {scale}")

    def test_softmax_all_int8_pairs(self):
        v = np.arange(-128, 128)
        a, b = np.meshgrid(v, v, indexing="ij")
        x = np.stack([a.ravel(), b.ravel()], axis=-1).astype(np.int8)[None]  # [1, 65536, 2]
        self.softmax_cases(x, "int8", outs=("uint8", "int8"))
        self.softmax_cases((x.astype(np.int16) * 255), "int16", methods=("ibert", "shift"),
                           scales=(0.0004,), outs=("int16",))

    def test_softmax_rows(self):
        rng = np.random.default_rng(1)
        rows = [np.roll(np.arange(-128, 128), r) for r in range(0, 256, 37)]
        rows += [np.full(256, v) for v in (-128, 0, 127)]
        rows += [rng.integers(-128, 128, 256) for _ in range(8)]
        rows += [np.where(rng.random(256) < 0.9, -128, 127) for _ in range(4)]
        x = np.array(rows, np.int8)[None]
        self.softmax_cases(x, "int8")
        xu = (x.astype(np.int16) + 128).astype(np.uint8)
        self.softmax_cases(xu, "uint8", scales=(0.05,))
        # odd row lengths, ViT-sized rows
        for L in (1, 3, 50, 197):
            xl = rng.integers(-128, 128, (2, 3, L)).astype(np.int8)
            self.softmax_cases(xl, "int8", scales=(0.1,), outs=("uint8",))

    def test_softmax_int16_int32_sampled(self):
        rng = np.random.default_rng(2)
        x16 = rng.integers(-32768, 32768, (1, 64, 50)).astype(np.int16)
        x16[0, 0, :] = -32768
        x16[0, 1, :] = 32767
        x16[0, 2, ::2] = 32767
        self.softmax_cases(x16, "int16", scales=(2.0 ** -10, 0.003, 0.1), outs=("uint8", "int16"))
        x32 = rng.integers(-(2 ** 31), 2 ** 31, (1, 32, 50), dtype=np.int64).astype(np.int32)
        x32[0, 0, :] = -(2 ** 31)
        x32[0, 0, 7] = 2 ** 31 - 1                        # the d clamp at -(2^31 - 1)
        x32[0, 1] = rng.integers(-3000, 3000, 50)
        self.softmax_cases(x32, "int32", scales=(1e-5, 3e-4, 2.0 ** -20), outs=("uint8", "int16"))

    # ---------------- gelu
    def gelu_cases(self, x, x_dtype, zps, scales, outs=("int8", "uint8", "int16"), methods=("ibert", "sigmoid", "lut")):
        for method in methods:
            for zp in zps:
                for scale in scales:
                    for out in outs:
                        m, s = _mult(scale)
                        out_scale = scale * (0.6 if out != "int16" else 0.01)
                        om, osh = _mult(2.0 ** -12 / out_scale)
                        ozp = {"int8": -20, "uint8": 10, "int16": -100}[out]
                        attrs = {"method": method, "x_multiplier": m, "x_shift": s, "x_zero_point": zp,
                                 "out_multiplier": om, "out_shift": osh, "out_zero_point": ozp,
                                 "rounding": "half_even" if out != "int16" else "half_away",
                                 "_out_shape": (1,) + x.shape[1:]}
                        consts = []
                        if method == "lut":
                            attrs.update(lut_shift=7, lut_offset=128)
                            consts = [("table", "int32", gelu_lut(7))]
                        model = one_op("gelu", x_dtype, (1,) + x.shape[1:], out, attrs, consts)
                        self.check(model, x, f"gelu {method} {x_dtype}->{out} zp {zp} scale {scale}")

    def test_gelu_all_int8(self):
        x = np.arange(-128, 128, dtype=np.int8).reshape(1, 16, 16)
        self.gelu_cases(x, "int8", zps=(0, -37, 127), scales=(0.01, 0.05, 0.12, 0.9))
        xu = np.arange(0, 256).astype(np.uint8).reshape(1, 16, 16)
        self.gelu_cases(xu, "uint8", zps=(0, 128, 255), scales=(0.03,), outs=("int8",))

    def test_gelu_int16_int32_sampled(self):
        rng = np.random.default_rng(3)
        x16 = np.concatenate([rng.integers(-32768, 32768, 4000), [-32768, 32767, 0, 1, -1]]).astype(np.int16)
        self.gelu_cases(x16.reshape(1, -1), "int16", zps=(0, 1000), scales=(2.0 ** -11, 0.001),
                        outs=("int8", "int16"))
        x32 = np.concatenate([rng.integers(-(2 ** 31), 2 ** 31, 4000, dtype=np.int64),
                              rng.integers(-40000, 40000, 2000), [-(2 ** 31), 2 ** 31 - 1, 0]]).astype(np.int32)
        self.gelu_cases(x32.reshape(1, -1), "int32", zps=(0, 123456), scales=(1e-4, 2.0 ** -20),
                        outs=("int8", "int16"))

    # ---------------- layernorm
    def layernorm_case(self, x, x_dtype, out="int8", shift=0, eps=0, gamma_dtype="int16", beta_dtype="int64",
                       out_shift=40, zp=3, rounding="half_even", seed=0):
        rng = np.random.default_rng(seed)
        C = x.shape[-1]
        gmax = {"int8": 127, "int16": 32767, "int32": 2 ** 31 - 1}[gamma_dtype]
        gamma = rng.integers(-gmax, gmax + 1, C).astype(ref.NP_DTYPE[gamma_dtype])
        gamma[0] = -gmax - (1 if gamma_dtype != "int32" else 0)
        bl = 2 ** 45 if beta_dtype == "int64" else 2 ** 31 - 1
        beta = rng.integers(-bl, bl, C, dtype=np.int64).astype(ref.NP_DTYPE[beta_dtype])
        consts = [("gamma", gamma_dtype, gamma), ("beta", beta_dtype, beta)]
        attrs = {"shift": shift, "eps": eps, "out_shift": out_shift, "out_zero_point": zp, "rounding": rounding,
                 "_out_shape": (1,) + x.shape[1:]}
        model = one_op("layernorm", x_dtype, (1,) + x.shape[1:], out, attrs, consts)
        self.check(model, x, f"layernorm {x_dtype}->{out} shift {shift} eps {eps} {gamma_dtype}/{beta_dtype}")

    def test_layernorm_int8(self):
        rng = np.random.default_rng(4)
        rows = [np.roll(np.arange(-128, 128), r)[:64] for r in range(0, 256, 8)]
        rows += [np.full(64, v) for v in (-128, 0, 127)]                # σ = 0
        rows += [np.where(np.arange(64) == i, 127, -128) for i in (0, 31, 63)]  # one outlier
        rows += [rng.integers(-128, 128, 64) for _ in range(20)]
        rows += [rng.integers(-3, 4, 64) for _ in range(5)]
        x = np.array(rows, np.int8).reshape(1, -1, 64)
        for out, os_ in (("int8", 36), ("uint8", 33), ("int16", 44), ("int4", 30)):
            for rounding in ("half_even", "floor", "half_away"):
                self.layernorm_case(x, "int8", out=out, out_shift=os_, zp=0 if out == "int4" else 3,
                                    rounding=rounding)
        self.layernorm_case(x, "int8", shift=2, eps=5, gamma_dtype="int8", beta_dtype="int32", out_shift=25)
        self.layernorm_case(x, "int8", gamma_dtype="int32", out_shift=50)
        xu = (x.astype(np.int16) + 128).astype(np.uint8)
        self.layernorm_case(xu, "uint8", eps=1000)
        self.layernorm_case(x[:, :, :7], "int8")          # odd width
        self.layernorm_case(x[:, :, :1], "int8")          # C = 1: d = 0

    def test_layernorm_int16_int32_sampled(self):
        rng = np.random.default_rng(5)
        x16 = rng.integers(-32768, 32768, (1, 40, 96)).astype(np.int16)
        x16[0, 0] = -32768
        x16[0, 1, ::2] = 32767
        x16[0, 1, 1::2] = -32768
        self.layernorm_case(x16, "int16", out_shift=44)
        self.layernorm_case(x16, "int16", shift=3, eps=12345, out_shift=44)
        x32 = rng.integers(-(2 ** 31), 2 ** 31, (1, 20, 96), dtype=np.int64).astype(np.int32)
        x32[0, 1, ::2] = 2 ** 31 - 1
        x32[0, 1, 1::2] = -(2 ** 31)
        x32[0, 2] = rng.integers(-100, 100, 96)
        self.layernorm_case(x32, "int32", shift=20, out_shift=44)

    # ---------------- mul, broadcast_add
    def test_mul_and_broadcast_add_all_int8_pairs(self):
        a = np.arange(-128, 128, dtype=np.int8).reshape(1, 256, 1)
        b = np.arange(-128, 128, dtype=np.int8).reshape(1, 1, 256)
        for rounding in ("half_even", "half_up", "floor", "tflite"):
            attrs = {"a_zero_point": -5, "b_zero_point": 17, "multiplier": 1518500250, "shift": 38,
                     "out_zero_point": 3, "rounding": rounding, "_out_shape": (1, 256, 256)}
            self.check(one_op("mul", "int8", (1, 256, 1), "int8", attrs, [("b", "int8", b)]), a, f"mul {rounding}")
            attrs = {"a_zero_point": -5, "b_zero_point": 17, "left_shift": 20, "a_multiplier": 1073741824,
                     "a_shift": 31, "b_multiplier": 1431655765, "b_shift": 32, "out_multiplier": 1789569707,
                     "out_shift": 51, "out_zero_point": -7, "rounding": rounding, "_out_shape": (1, 256, 256)}
            self.check(one_op("broadcast_add", "int8", (1, 256, 1), "int8", attrs, [("b", "int8", b)]), a,
                       f"broadcast_add {rounding}")
        attrs = {"multiplier": 1, "shift": 0, "_out_shape": (1, 256, 256)}
        self.check(one_op("mul", "int8", (1, 256, 1), "int32", attrs, [("b", "int8", b)]), a, "mul int32 out")
        # rank-changing broadcast: [N, T, D] + [T, D], uint8 and int16 operands
        rng = np.random.default_rng(6)
        x = rng.integers(0, 256, (3, 5, 7)).astype(np.uint8)
        pos = rng.integers(-32768, 32768, (5, 7)).astype(np.int16)
        attrs = {"a_zero_point": 128, "out_zero_point": 0, "left_shift": 10, "a_multiplier": 1, "b_multiplier": 1,
                 "out_multiplier": 1, "out_shift": 10, "_out_shape": (1, 5, 7)}
        self.check(one_op("broadcast_add", "uint8", (1, 5, 7), "int16", attrs, [("pos", "int16", pos)]), x,
                   "broadcast_add rank 3 + rank 2")
        attrs = {"a_zero_point": 100, "b_zero_point": -3, "multiplier": 3, "shift": 2, "_out_shape": (1, 5, 7)}
        self.check(one_op("mul", "uint8", (1, 5, 7), "int16", attrs,
                          [("s", "int8", rng.integers(-128, 128, (1, 1, 7)).astype(np.int8))]), x, "mul uint8")

    # ---------------- data movement
    def test_data_movement(self):
        rng = np.random.default_rng(7)
        x = rng.integers(-128, 128, (2, 3, 5, 4)).astype(np.int8)
        for perm in ([0, 1, 2, 3], [0, 2, 1, 3], [0, 3, 1, 2], [0, 3, 2, 1]):
            shp = (1,) + tuple(x.shape[p] for p in perm[1:])
            self.check(one_op("transpose", "int8", (1, 3, 5, 4), "int8", {"perm": perm, "_out_shape": shp}), x,
                       f"transpose {perm}")
        x16 = rng.integers(-32768, 32768, (3, 7, 6)).astype(np.int16)
        for axis, start, end, step in ((1, 0, 1, 1), (1, 2, 7, 2), (-1, 1, 6, 3), (2, 5, 6, 1)):
            n = (end - start - 1) // step + 1
            shp = [1, 7, 6]
            shp[axis] = n
            self.check(one_op("slice", "int16", (1, 7, 6), "int16",
                              {"axis": axis, "start": start, "end": end, "step": step, "_out_shape": tuple(shp)}),
                       x16, f"slice {axis} {start}:{end}:{step}")
        idx = np.array([0, -1, 3, 3, 2], np.int32)
        self.check(one_op("gather", "int16", (1, 7, 6), "int16", {"axis": 2, "_out_shape": (1, 7, 5)},
                          [("idx", "int32", idx)]), x16, "gather")
        cls = rng.integers(-128, 128, (1, 1, 6)).astype(np.int8)
        m = container.Model()
        m.add_tensor("x", "int8", (1, 4, 6))
        m.add_tensor("cls", "int8", (1, 1, 6), data=cls)
        m.add_tensor("c", "int8", (1, 1, 6))
        m.add_tensor("y", "int8", (1, 5, 6))
        m.add_op("expand", "expand", ["cls", "x"], ["c"], {"shape": [-1, 6]})
        m.add_op("concat", "concat", ["c", "x"], ["y"], {"axis": 1})
        m.inputs, m.outputs = ["x"], ["y"]
        xb = rng.integers(-128, 128, (3, 4, 6)).astype(np.int8)
        py = self.check(m, xb, "expand + concat (class token)")
        self.assertTrue(np.array_equal(py[1][:, 0], np.repeat(cls[:, 0], 3, axis=0)))
        self.check(one_op("expand", "int8", (1, 1, 6), "int8", {"shape": [4, 6], "_out_shape": (1, 4, 6)}),
                   xb[:, :1], "expand own batch")


class HandWorked(unittest.TestCase):
    """Values worked out by hand from the README recipes (independent of both implementations)."""

    def test_tflite_exp(self):
        # a = 0 -> 2^31 - 1 (exactly 1.0 is not representable)
        self.assertEqual(int(ref.tflite_exp_on_negative_values(np.array([0]))[0]), 2 ** 31 - 1)
        # a = -1/4 (raw -2^24): m = -2^24, rem = 0, x = -2^29 + 2^28 = -1/8 in Q0.31, so the Taylor
        # series is at its centre (x = 0 after the shift): exp(-1/4) = exp(-1/8)·(1 + x + ...) with
        # x = -1/8 -> E = 1895147668 + SRDHM(1895147668, -2^28 + s); close to 0.7788·2^31.
        e = int(ref.tflite_exp_on_negative_values(np.array([-(1 << 24)]))[0])
        self.assertLess(abs(e - 0.7788007830714049 * 2 ** 31), 2 ** 31 * 1e-6)

    def test_ibert_exp_constants(self):
        # t = 0: z = 0, p = 0, e = 22168^2 + 257578234 = 748998458
        self.assertEqual(int(ref.softmax_exp(np.array([0]), "ibert")[0]), 748998458)
        # t = -11357 (one ln2 step): z = 1, p = 0 -> 748998458 >> 1 = 374499229
        self.assertEqual(int(ref.softmax_exp(np.array([-11357]), "ibert")[0]), 374499229)
        # shift: t = 0 -> u = 0, q = 0, r = 0: e = 2^14·2^15 = 2^29
        self.assertEqual(int(ref.softmax_exp(np.array([0]), "shift")[0]), 1 << 29)
        # t = -2^14 (-1.0): u = -16384 - 8192 + 1024 = -23552; q = 1, r = -7168, e = (16384 - 3584)·2^14
        self.assertEqual(int(ref.softmax_exp(np.array([-16384]), "shift")[0]), (16384 - 3584) << 14)

    def test_tflite_within_one_of_float(self):
        """TFLite Micro's own softmax test criterion: int8 input at scale 0.1, int8 output (2^-8, -128),
        every output within 1 of the quantized float softmax."""
        from t2c.export.fixedpoint import quantize_multiplier
        rows = np.array([[3, 6, -5, 4, -9], [-10, -10, -8, 2, 2], [8, -5, -8, 5, -6], [-8, 6, 1, -10, -8],
                         [7, 6, -10, -4, -5], [2, 7, 9, -9, 7]], np.float64)
        xq = np.rint(rows / 0.1).astype(np.int8)
        m, s, _ = quantize_multiplier(float(np.float32(0.1)), 32)
        y = ref.softmax(xq[None], m, s, "tflite", dtype="int8")[0].astype(np.int64)
        e = np.exp(rows - rows.max(axis=1, keepdims=True))
        want = np.clip(np.rint(e / e.sum(axis=1, keepdims=True) * 256) - 128, -128, 127)
        self.assertLessEqual(int(np.abs(y - want).max()), 1, f"{y} vs {want}")

    def test_softmax_single_element_row_is_one(self):
        for method in ("ibert", "shift", "tflite"):
            y = ref.softmax(np.array([[5]], np.int8), 1 << 30, 31, method, dtype="uint8")
            self.assertEqual(int(y[0, 0]), 255, method)   # 256 clamped


@unittest.skipUnless(_have_torch(), "needs torch and torchvision")
class ViTExport(unittest.TestCase):
    """Small random ViTs exported by t2c.export.vit: C == Python on every op, for every approximation."""

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(DUMP_TOOL):
            raise unittest.SkipTest(f"{DUMP_TOOL} not built")
        import torch

        from t2c.export.data import calibration_data
        from t2c.export.vit import make_fmnist_vit, _fmnist_pre

        torch.set_num_threads(1)
        cls.tmp = tempfile.mkdtemp(prefix="t2c_vitx_")
        torch.manual_seed(0)
        cls.model = make_fmnist_vit(num_layers=2, hidden_dim=32, mlp_dim=64, num_heads=2).eval()
        with torch.no_grad():   # torchvision zero-initializes the head and the class token: as if trained
            cls.model.heads.head.weight.normal_(0, 0.3)
            cls.model.heads.head.bias.normal_(0, 0.1)
            cls.model.class_token.normal_(0, 1.0)
            cls.model.encoder.pos_embedding.normal_(0, 0.5)
        cls.pre = _fmnist_pre()
        try:
            cls.calib = calibration_data("fmnist", cls.pre, 48, seed=0)
        except FileNotFoundError:
            cls.calib = calibration_data("random", cls.pre, 48, seed=0)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def export(self, model, calib, pre, **cfg):
        from t2c.export.quantize import input_range_of
        from t2c.export.vit import ViTQuantConfig, export_vit
        cmodel, qp, _ = export_vit(model, calib, ViTQuantConfig(**cfg), input_range=input_range_of(pre))
        return cmodel, qp

    def run_config(self, label, **cfg):
        import torch

        from t2c.export.vit import _Structure, float_forward
        cmodel, qp = self.export(self.model, self.calib, self.pre, **cfg)
        types = {op.type for op in cmodel.ops}
        for t in ("conv2d", "transpose", "expand", "concat", "broadcast_add", "layernorm", "matmul", "softmax",
                  "gelu", "add", "slice", "linear", "requantize"):
            self.assertIn(t, types, f"{label}: no {t} op")
        x = self.calib[:3]
        q = qp["input"]
        xq = ref.quantize(x, q["scale"], q["zp"], dtype=q["dtype"])
        py = compare_model(self, cmodel, xq, self.tmp, f"ViT {label}")
        logits = py[len(cmodel.ops) - 1].astype(np.float64)
        qo = qp[cmodel.outputs[0]]
        deq = (logits - qo["zp"]) * qo["scale"]
        with torch.no_grad():
            fl = float_forward(_Structure(self.model), torch.from_numpy(x)).numpy()
        return deq, fl, cmodel

    def test_every_approximation(self):
        for label, cfg in (("ibert/ibert", {}),
                           ("shift/sigmoid", {"softmax": "shift", "gelu": "sigmoid"}),
                           ("lut/lut 64 entries", {"softmax": "lut", "gelu": "lut", "lut_size": 64}),
                           ("tflite softmax, int8 probabilities", {"softmax": "tflite", "softmax_out": "int8"}),
                           ("W4, int16 residual and GELU input", {"wbits": 4, "residual_bits": 16,
                                                                  "gelu_input_bits": 16})):
            deq, fl, cmodel = self.run_config(label, **cfg)
            err = np.abs(deq - fl).max() / (np.abs(fl).max() + 1e-9)
            limit = 0.5 if cfg.get("wbits") == 4 else 0.25
            self.assertLess(err, limit, f"{label}: integer logits {deq[0]} vs float {fl[0]}")
        # the lookup tables are parameters of the model (golden vectors hold them)
        tables = [n for n, t in cmodel.tensors.items() if n.endswith(".table")]
        self.assertEqual(tables, [])
        lut_model, _ = self.export(self.model, self.calib, self.pre, softmax="lut", gelu="lut", lut_size=64)
        tables = [t for n, t in lut_model.tensors.items() if n.endswith(".table")]
        self.assertEqual(len(tables), 4)
        self.assertTrue(all(t.data is not None and t.data.shape == (64,) for t in tables))

    def test_golden_and_check(self):
        """t2c-golden writes every new op (tables included) and t2c-check accepts it, and catches a
        flipped bit in a softmax output."""
        golden = os.path.join(_build_dir(), "golden", "t2c-golden")
        check = os.path.join(_build_dir(), "golden", "t2c-check")
        if not (os.path.exists(golden) and os.path.exists(check)):
            self.skipTest("t2c-golden / t2c-check not built")
        cmodel, qp = self.export(self.model, self.calib, self.pre, softmax="lut", gelu="lut", lut_size=64)
        path = os.path.join(self.tmp, "vit_lut.t2c")
        container.write(cmodel, path)
        q = qp["input"]
        xin = os.path.join(self.tmp, "x.npy")
        np.save(xin, ref.quantize(self.calib[:1], q["scale"], q["zp"], dtype=q["dtype"]))
        out = os.path.join(self.tmp, "golden")
        subprocess.run([golden, path, xin, "--out", out, "-f", "npy"], check=True, capture_output=True)
        names = os.listdir(out)
        for t in ("softmax.table", "gelu.table", "ln1.gamma", "ln1.beta", "class_token.expand.input.",
                  "embed.input_b."):  # parameters by role: class token, position embedding
            self.assertTrue(any(t in n for n in names), f"no golden file for {t}")
        ok = subprocess.run([check, path, xin, out, "--isolate"], capture_output=True, text=True)
        self.assertEqual(ok.returncode, 0, ok.stdout[-2000:] + ok.stderr)
        f = sorted(n for n in names if "blocks.1.softmax.output" in n)[0]
        arr = np.load(os.path.join(out, f))
        arr.flat[5] ^= 1
        np.save(os.path.join(out, f), arr)
        bad = subprocess.run([check, path, xin, out], capture_output=True, text=True)
        self.assertEqual(bad.returncode, 1, bad.stdout[-2000:])

    def test_torchvision_rgb_config(self):
        """torchvision's VisionTransformer as is (3-channel patch embedding), another configuration."""
        import torch
        from torchvision.models import VisionTransformer

        from t2c.export.vit import _Structure, float_forward
        torch.manual_seed(1)
        m = VisionTransformer(image_size=32, patch_size=8, num_layers=1, num_heads=3, hidden_dim=48, mlp_dim=96,
                              num_classes=7).eval()
        with torch.no_grad():
            m.heads.head.weight.normal_(0, 0.3)
            m.class_token.normal_(0, 1.0)
            m.encoder.pos_embedding.normal_(0, 0.5)
        pre = {"color": "RGB", "resize": 32, "resize_mode": "exact", "crop": None,
               "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
        rng = np.random.default_rng(0)
        calib = rng.standard_normal((24, 3, 32, 32)).astype(np.float32)
        cmodel, qp = self.export(m, calib, pre)
        self.assertEqual(tuple(cmodel.tensors["input"].shape), (1, 3, 32, 32))
        q = qp["input"]
        xq = ref.quantize(calib[:2], q["scale"], q["zp"], dtype=q["dtype"])
        py = compare_model(self, cmodel, xq, self.tmp, "torchvision ViT 32x32 RGB")
        qo = qp[cmodel.outputs[0]]
        deq = (py[len(cmodel.ops) - 1].astype(np.float64) - qo["zp"]) * qo["scale"]
        with torch.no_grad():
            fl = float_forward(_Structure(m), torch.from_numpy(calib[:2])).numpy()
        self.assertLess(np.abs(deq - fl).max() / np.abs(fl).max(), 0.25)

    def test_float_reimplementation_matches_torchvision(self):
        import torch

        from t2c.export.vit import _Structure, float_forward
        x = torch.from_numpy(self.calib[:4])
        with torch.no_grad():
            self.assertTrue(torch.allclose(self.model(x).double(), float_forward(_Structure(self.model), x),
                                           atol=1e-5))

    def test_rejects_pre_logits(self):
        from torchvision.models import VisionTransformer

        from t2c.export.graph import UnsupportedError
        from t2c.export.vit import _Structure
        m = VisionTransformer(image_size=16, patch_size=8, num_layers=1, num_heads=1, hidden_dim=8, mlp_dim=8,
                              representation_size=4)
        with self.assertRaises(UnsupportedError):
            _Structure(m)


class ShippedViT(unittest.TestCase):
    """engine/default_model/fmnist_vit_int8.t2c: C == Python on every op for real test images."""

    PATH = os.path.join(REPO, "engine", "default_model", "fmnist_vit_int8.t2c")

    def test_shipped_model(self):
        if not os.path.exists(DUMP_TOOL) or not os.path.exists(self.PATH):
            self.skipTest("dump tool or model missing")
        from t2c.export.data import load_fmnist, normalize_uint8
        m = container.read(self.PATH)
        try:
            imgs, labels = load_fmnist("test")
        except FileNotFoundError:
            self.skipTest("Fashion-MNIST not installed")
        x = normalize_uint8(imgs[:64], m.meta["preprocess.mean"], m.meta["preprocess.std"])
        xq = ref.quantize(x, m.meta["input.scale"], m.meta["input.zero_point"], dtype="int8")
        tmp = tempfile.mkdtemp(prefix="t2c_vits_")
        try:
            py = compare_model(self, m, xq, tmp, "fmnist_vit_int8")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.assertEqual({op.type for op in m.ops} >= {"softmax", "layernorm", "gelu", "matmul", "expand"}, True)
        acc = float((py[len(m.ops) - 1].argmax(1) == labels[:64]).mean())
        self.assertGreater(acc, 0.8)
