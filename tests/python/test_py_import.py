"""Importers (formats/python/t2c/importers): TFLite INT8 and quantized ONNX -> .t2c.

Every imported graph is run twice, by the Python reference (t2c.reference) and by the C engine
(t2c_dump_tool), and both must give the expected integers. The expected integers come from
  - hand-worked values (written out below), and
  - for generated cases, an independent NHWC implementation of TFLite's reference kernels written
    here from TFLite's definitions (QuantizeMultiplier, MultiplyByQuantizedMultiplier, conv/depthwise/
    fully-connected per-channel, ADD with left shift 20, MEAN, pools), or ONNX's float definition
    (round half to even of the real-valued result) for ONNX graphs.
The real models of ../shared/models are imported and run when that folder exists (skipped otherwise).
"""
import math
import os
import subprocess
import sys
import tempfile
import unittest
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
try:
    from t2c import container as C
except ImportError:  # PYTHONPATH not set: run from the source tree
    sys.path.insert(0, os.path.join(ROOT, "formats", "python"))
    from t2c import container as C
from t2c import reference as R
from t2c.importers.common import ImportFailure, fixed_multiplier, t2c_shift_of
from t2c.importers.tflite import activation_range, import_tflite, quantize_multiplier
from t2c.importers.tflite_builder import TFLiteBuilder
from t2c.importers.tflite_schema import read_tflite

warnings.filterwarnings("ignore", category=DeprecationWarning)
BUILD = os.environ.get("T2C_BUILD_DIR", os.path.join(ROOT, "build"))
DUMP = os.path.join(BUILD, "tests", "t2c_dump_tool")
RUN = os.path.join(BUILD, "engine", "tools", "t2c-run")
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
MODELS = os.path.join(SHARED, "models")
IMAGES = os.path.join(SHARED, "images", "imagenet-dev")
TFLITE_MODEL = os.path.join(MODELS, "mobilenet_v2-imagenet-int8.tflite")
ONNX_MODEL = os.path.join(MODELS, "mobilenet_v2-imagenet-int8-qdq.onnx")
# accuracy on ../shared/images/imagenet-dev (100 images), as recorded in importers/README.md
TFLITE_TOP1, TFLITE_TOP5 = 78, 96
ONNX_TOP1, ONNX_TOP5 = 75, 96

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:  # python3-onnx missing
    onnx = None


# ---------------------------------------------------------------- running an imported model
def run_both(testcase, model, x):
    """Run with the Python reference and (when built) the C engine; assert they agree on every op
    output; return {tensor name: array} from the reference."""
    out = R.run(model, {model.inputs[0]: x})
    if os.path.exists(DUMP):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.t2c")
            C.write(model, path)
            np.save(os.path.join(d, "in.npy"), x)
            p = subprocess.run([DUMP, path, os.path.join(d, "in.npy"), d], capture_output=True, text=True)
            testcase.assertEqual(p.returncode, 0, p.stderr)
            for i, op in enumerate(model.ops):
                got = np.load(os.path.join(d, f"{i:04d}_{op.name}.npy"))
                np.testing.assert_array_equal(got, out[op.outputs[0]], err_msg=f"engine vs reference, op {op.name}")
    return out


def nchw(a):
    return np.ascontiguousarray(np.asarray(a).transpose(0, 3, 1, 2))


# ---------------------------------------------------------------- TFLite reference kernels (independent)
def q_mult(d):
    """TFLite QuantizeMultiplier: frexp, round half away from zero of q*2^31, renormalize, flush."""
    if d == 0:
        return 0, 0
    q, e = math.frexp(d)
    qf = int(math.copysign(math.floor(abs(q) * (1 << 31) + 0.5), q))
    if qf == 1 << 31:
        qf //= 2
        e += 1
    if e < -31:
        return 0, 0
    return qf, e


def srdhm(a, b):
    a = np.asarray(a, np.int64)
    ab = a * np.int64(b)
    nudge = np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    s = ab + nudge
    q = np.where(s >= 0, s >> 31, -((-s) >> 31))  # division truncating toward zero
    return np.where((a == -2**31) & (b == -2**31), 2**31 - 1, q)


def rdbpot(x, e):
    x = np.asarray(x, np.int64)
    mask = (1 << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (x < 0)
    return (x >> e) + (rem > thr)


def mbqm(x, m, shift):
    left, right = max(shift, 0), max(-shift, 0)
    v = (np.asarray(x, np.int64) * (1 << left) + 2**31) % 2**32 - 2**31  # int32 wrap
    return rdbpot(srdhm(v, m), right)


def act_range(act, scale, zp):
    def q(f):
        t = np.float32(f) / np.float32(scale)
        return zp + int(math.copysign(math.floor(abs(float(t)) + 0.5), float(t)))
    lo, hi = -128, 127
    if act == "RELU":
        return max(lo, q(0)), hi
    if act == "RELU6":
        return max(lo, q(0)), min(hi, q(6))
    if act == "RELU_N1_TO_1":
        return max(lo, q(-1)), min(hi, q(1))
    return lo, hi


def pad_amount(padding, in_size, k, stride, dil, out_size):
    if padding == "VALID":
        return 0
    eff = (k - 1) * dil + 1
    total = max(0, (out_size - 1) * stride + eff - in_size)
    return total // 2


def out_size(padding, in_size, k, stride, dil):
    eff = (k - 1) * dil + 1
    return (in_size + stride - 1) // stride if padding == "SAME" else (in_size - eff + stride) // stride


def tfl_conv(x, zp_in, w, b, stride, dil, padding, out_hw, depth_mult=None):
    """Per-channel conv (NHWC, filter [Cout,KH,KW,Cin]) or depthwise (filter [1,KH,KW,Cout]): int64 acc
    including the bias; positions outside the input are skipped (TFLite's reference loops)."""
    n, h, wd, cin = x.shape
    if depth_mult is None:
        cout, kh, kw, _ = w.shape
    else:
        _, kh, kw, cout = w.shape
    oh, ow = out_hw
    pt = pad_amount(padding, h, kh, stride[0], dil[0], oh)
    pl = pad_amount(padding, wd, kw, stride[1], dil[1], ow)
    acc = np.zeros((n, oh, ow, cout), np.int64)
    xs = x.astype(np.int64) - zp_in
    for ky in range(kh):
        for kx in range(kw):
            iy = np.arange(oh) * stride[0] - pt + ky * dil[0]
            ix = np.arange(ow) * stride[1] - pl + kx * dil[1]
            vy, vx = (iy >= 0) & (iy < h), (ix >= 0) & (ix < wd)
            patch = np.zeros((n, oh, ow, cin), np.int64)
            patch[:, vy[:, None] & vx[None, :]] = xs[:, iy[vy]][:, :, ix[vx]].reshape(n, -1, cin)
            if depth_mult is None:
                acc += np.einsum("nhwc,oc->nhwo", patch.astype(np.float64),
                                 w[:, ky, kx, :].astype(np.float64)).astype(np.int64)
            else:
                rep = np.repeat(patch, depth_mult, axis=3)
                acc += rep * w[0, ky, kx, :].astype(np.int64)
    if b is not None:
        acc += b.astype(np.int64)
    return acc


def requant_per_channel(acc, mults, shifts, zp_out, lo, hi):
    out = np.empty_like(acc)
    c = acc.shape[-1]
    for ch in range(c):
        m, s = (mults[ch], shifts[ch]) if len(mults) > 1 else (mults[0], shifts[0])
        out[..., ch] = mbqm(acc[..., ch], m, s)
    return np.clip(out + zp_out, lo, hi)


class TfliteRef:
    """A whole TFLite graph in TFLite's integer semantics (NHWC)."""

    def __init__(self, tm):
        self.tm = tm

    def run(self, x):
        T = self.tm.tensors
        env = {self.tm.inputs[0]: np.asarray(x)}

        def get(i):
            return env[i] if i in env else T[i].data

        def qp(i):
            return float(T[i].scale[0]), int(T[i].zero_point[0])

        for op in self.tm.ops:
            o = op.options
            ins = op.inputs
            out = op.outputs[0]
            act = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}.get(o.get("fused_activation_function", 0))
            if op.opcode == "TRANSPOSE":
                env[out] = np.transpose(get(ins[0]), get(ins[1]))
            elif op.opcode == "PAD":
                env[out] = np.pad(get(ins[0]), get(ins[1]), constant_values=qp(out)[1])
            elif op.opcode == "RESHAPE":
                env[out] = get(ins[0]).reshape(T[out].shape)
            elif op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                x_, w_ = get(ins[0]), T[ins[1]].data
                b_ = T[ins[2]].data if len(ins) > 2 and ins[2] >= 0 else None
                (s_in, z_in), (s_out, z_out) = qp(ins[0]), qp(out)
                dw = op.opcode == "DEPTHWISE_CONV_2D"
                dm = w_.shape[3] // x_.shape[3] if dw else None
                pad = {0: "SAME", 1: "VALID"}[o["padding"]]
                acc = tfl_conv(x_, z_in, w_, b_, (o["stride_h"], o["stride_w"]),
                               (o["dilation_h_factor"], o["dilation_w_factor"]), pad, T[out].shape[1:3], dm)
                ws = T[ins[1]].scale
                ms = [q_mult(float(np.float32(s_in)) * float(s) / float(np.float32(s_out))) for s in ws]
                lo, hi = act_range(act, s_out, z_out)
                env[out] = requant_per_channel(acc, [m for m, _ in ms], [e for _, e in ms], z_out, lo, hi)
            elif op.opcode == "FULLY_CONNECTED":
                x_, w_ = get(ins[0]), T[ins[1]].data
                (s_in, z_in), (s_out, z_out) = qp(ins[0]), qp(out)
                xf = x_.reshape(-1, w_.shape[1]).astype(np.int64) - z_in
                acc = (xf.astype(np.float64) @ w_.T.astype(np.float64)).astype(np.int64)
                if len(ins) > 2 and ins[2] >= 0:
                    acc += T[ins[2]].data.astype(np.int64)
                ms = [q_mult(s_in * float(s) / s_out) for s in T[ins[1]].scale]
                lo, hi = act_range(act, s_out, z_out)
                env[out] = requant_per_channel(acc, [m for m, _ in ms], [e for _, e in ms], z_out, lo, hi)
                env[out] = env[out].reshape(T[out].shape)
            elif op.opcode == "ADD":
                (s1, z1), (s2, z2), (so, zo) = qp(ins[0]), qp(ins[1]), qp(out)
                twice = 2 * max(np.float32(s1), np.float32(s2))
                m1, e1 = q_mult(s1 / float(twice))
                m2, e2 = q_mult(s2 / float(twice))
                mo, eo = q_mult(float(twice) / float(np.float32(1 << 20) * np.float32(so)))
                a1 = (get(ins[0]).astype(np.int64) - z1) * (1 << 20)
                a2 = (get(ins[1]).astype(np.int64) - z2) * (1 << 20)
                raw = mbqm(mbqm(a1, m1, e1) + mbqm(a2, m2, e2), mo, eo) + zo
                lo, hi = act_range(act, so, zo)
                env[out] = np.clip(raw, lo, hi)
            elif op.opcode == "MEAN":
                (si, zi), (so, zo) = qp(ins[0]), qp(out)
                m, e = q_mult(si / so)
                x_ = get(ins[0]).astype(np.int64)
                cnt = x_.shape[1] * x_.shape[2]
                acc = mbqm((x_ - zi).sum(axis=(1, 2), keepdims=True), m, e)
                acc = np.where(acc > 0, (acc + cnt // 2) // cnt, -((-(acc - cnt // 2)) // cnt))
                env[out] = np.clip(acc + zo, -128, 127)
            elif op.opcode in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
                x_ = get(ins[0]).astype(np.int64)
                n, h, w, c = x_.shape
                kh, kw, sh, sw = o["filter_height"], o["filter_width"], o["stride_h"], o["stride_w"]
                oh, ow = T[out].shape[1:3]
                pad = {0: "SAME", 1: "VALID"}[o["padding"]]
                pt, pl = pad_amount(pad, h, kh, sh, 1, oh), pad_amount(pad, w, kw, sw, 1, ow)
                res = np.zeros((n, oh, ow, c), np.int64)
                for y in range(oh):
                    for xx in range(ow):
                        y0, x0 = y * sh - pt, xx * sw - pl
                        win = x_[:, max(0, y0):min(h, y0 + kh), max(0, x0):min(w, x0 + kw), :]
                        if op.opcode == "MAX_POOL_2D":
                            res[:, y, xx] = win.max(axis=(1, 2))
                        else:
                            cnt = win.shape[1] * win.shape[2]
                            s = win.sum(axis=(1, 2))
                            res[:, y, xx] = np.where(s > 0, (s + cnt // 2) // cnt, -((-(s - cnt // 2)) // cnt))
                lo, hi = act_range(act, *qp(out))
                env[out] = np.clip(res, lo, hi)
            elif op.opcode == "CONCATENATION":
                env[out] = np.concatenate([get(i) for i in ins], axis=o["axis"])
            else:
                raise NotImplementedError(op.opcode)
        return env


def compare_with_tflite(testcase, tm, model, x_nhwc_or_input, out_env):
    """Every TFLite tensor the t2c graph also has (same name) must hold the same integers."""
    ref = TfliteRef(tm).run(x_nhwc_or_input)
    checked = 0
    for i, val in ref.items():
        t = tm.tensors[i]
        if t.name not in out_env or i == tm.inputs[0]:
            continue
        got = np.asarray(out_env[t.name]).astype(np.int64)
        want = np.asarray(val).astype(np.int64)
        if want.ndim == 4:  # TFLite activations are NHWC, t2c's NCHW
            want = want.transpose(0, 3, 1, 2)
        np.testing.assert_array_equal(got.reshape(want.shape), want, err_msg=f"tensor {t.name}")
        checked += 1
    testcase.assertGreater(checked, 0)
    return checked


# ---------------------------------------------------------------- TFLite: multipliers
class TestTfliteMultiplier(unittest.TestCase):
    def test_hand_worked(self):
        # d = q * 2^e, 0.5 <= q < 1, m = round_half_away(q * 2^31)
        self.assertEqual(quantize_multiplier(0.5), (1 << 30, 0))
        self.assertEqual(quantize_multiplier(1.0), (1 << 30, 1))
        self.assertEqual(quantize_multiplier(0.75), (3 << 29, 0))
        self.assertEqual(quantize_multiplier(3.0), (3 << 29, 2))          # shift > 0
        self.assertEqual(quantize_multiplier(0.25 * 0.75), (3 << 29, -2))  # shift < 0
        self.assertEqual(quantize_multiplier(0.0), (0, 0))

    def test_round_half_away_and_renormalize(self):
        # q*2^31 = 2^30 + 0.5 exactly: ties away from zero (half-even would keep 2^30)
        self.assertEqual(quantize_multiplier(0.5 + 2.0 ** -32), ((1 << 30) + 1, 0))
        # q*2^31 = 2^31 - 0.25 rounds to 2^31: becomes 2^30 with the exponent + 1
        self.assertEqual(quantize_multiplier(1.0 - 2.0 ** -33), (1 << 30, 1))

    def test_edge_exponents(self):
        self.assertEqual(quantize_multiplier(2.0 ** -32), (1 << 30, -31))  # smallest kept: t2c shift 62
        self.assertEqual(t2c_shift_of(-31, "x"), 62)
        self.assertEqual(quantize_multiplier(2.0 ** -33), (0, 0))          # flushed to zero
        self.assertEqual(quantize_multiplier(2.0 ** 30), (1 << 30, 31))    # largest: t2c shift 0
        self.assertEqual(t2c_shift_of(31, "x"), 0)
        with self.assertRaises(ImportFailure):
            t2c_shift_of(32, "x")

    def test_matches_independent_definition(self):
        rng = np.random.RandomState(1)
        for d in np.concatenate([10.0 ** rng.uniform(-9, 3, 2000), [2.0 ** k for k in range(-31, 20)]]):
            self.assertEqual(quantize_multiplier(float(d)), q_mult(float(d)), d)

    def test_activation_range(self):
        # scale 0.05, zp -10: RELU6 -> [-10, -10 + 120]; ReLU_N1_TO_1 -> [-30, 10]
        self.assertEqual(activation_range("RELU6", np.float32(0.05), -10, "int8"), (-10, 110))
        self.assertEqual(activation_range("RELU", np.float32(0.05), -10, "int8"), (-10, 127))
        self.assertEqual(activation_range("RELU_N1_TO_1", np.float32(0.05), -10, "int8"), (-30, 10))
        # 6/0.02 = 300: clamps at 127
        self.assertEqual(activation_range("RELU6", np.float32(0.02), 5, "int8"), (5, 127))
        self.assertEqual(activation_range("NONE", np.float32(0.02), 5, "int8"), (-128, 127))

    def test_fixed_multiplier(self):
        # 31-bit multipliers for ONNX: m in [2^30, 2^31), ties to even
        self.assertEqual(fixed_multiplier(0.5)[:2], (1 << 30, 31))
        self.assertEqual(fixed_multiplier(3.0)[:2], (3 << 29, 29))
        m, s, err = fixed_multiplier(0.1)
        self.assertTrue((1 << 30) <= m < (1 << 31))
        self.assertLessEqual(err, 2.0 ** -31)
        self.assertEqual(m, round(0.1 * 2 ** s))


# ---------------------------------------------------------------- TFLite: ops
def single_conv(x_shape, w_data, w_scales, in_q, out_q, bias=None, depthwise=False, **opts):
    b = TFLiteBuilder()
    x = b.tensor("x", x_shape, "int8", scale=in_q[0], zero_point=in_q[1])
    qdim = 3 if depthwise else 0
    w = b.tensor("w", w_data.shape, "int8", data=w_data, scale=w_scales,
                 zero_point=[0] * len(np.atleast_1d(w_scales)), quantized_dimension=qdim)
    cout = w_data.shape[3] if depthwise else w_data.shape[0]
    ins = [x, w]
    if bias is not None:
        ins.append(b.tensor("b", (cout,), "int32", data=bias,
                            scale=np.float32(in_q[0]) * np.atleast_1d(np.float32(w_scales)),
                            zero_point=[0] * len(np.atleast_1d(w_scales))))
    else:
        ins.append(-1)
    pad = opts.get("padding", "VALID")
    kh, kw = (w_data.shape[1], w_data.shape[2])
    oh = out_size(pad, x_shape[1], kh, opts.get("stride_h", 1), opts.get("dilation_h_factor", 1))
    ow = out_size(pad, x_shape[2], kw, opts.get("stride_w", 1), opts.get("dilation_w_factor", 1))
    y = b.tensor("y", (1, oh, ow, cout), "int8", scale=out_q[0], zero_point=out_q[1])
    o = dict(padding=pad, stride_w=opts.get("stride_w", 1), stride_h=opts.get("stride_h", 1),
             fused_activation_function=opts.get("act", "NONE"),
             dilation_w_factor=opts.get("dilation_w_factor", 1), dilation_h_factor=opts.get("dilation_h_factor", 1))
    if depthwise:
        o["depth_multiplier"] = cout // x_shape[3]
    b.op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", ins, [y], **o)
    return b.build([x], [y])


class TestTfliteOps(unittest.TestCase):
    def check_generated(self, data, x_nhwc):
        tm = read_tflite(data, "gen.tflite")
        model, _ = import_tflite(data, name="gen", labels=None, preprocess="none")
        env = run_both(self, model, nchw(x_nhwc))
        compare_with_tflite(self, tm, model, x_nhwc, env)
        return model, env

    def test_conv_double_rounding_hand_worked(self):
        # x - zp = [5, 10, 0, -5], w = 1, effective scale 0.5*0.5/1 = 0.25 -> TFLite: MBQM(5) = RDBPOT(SRDHM(5, 2^30)
        # = 3, 1) = 2 (exact rounding of 1.25 would give 1); 10 -> 2.5 -> 3; 0 -> 0; -5 -> SRDHM = -2 -> -1
        data = single_conv((1, 2, 2, 1), np.ones((1, 1, 1, 1), np.int8), [0.5], (0.5, -3), (1.0, 0))
        model, rep = import_tflite(data, name="t", labels=None)
        self.assertEqual(rep[0]["multipliers"], [1 << 30])
        self.assertEqual(rep[0]["shifts"], [32])
        out = run_both(self, model, np.array([2, 7, -3, -8], np.int8).reshape(1, 1, 2, 2))
        np.testing.assert_array_equal(out["y"].reshape(-1), [2, 3, 0, -1])

    def test_conv_shift_both_signs_and_bias_hand_worked(self):
        # two output channels: scales 0.5*w/0.25 with w = [1.5, 0.0625] -> 3.0 (TFLite shift +2, t2c 29)
        # and 0.125 (shift -2, t2c 33); x - zp = 3 (zp 4), weights 1, bias [1, 5]:
        # ch0: (3 + 1) * 3 = 12 -> + zp_out 2 = 14;  ch1: (3 + 5) * 0.125 = 1 -> 3
        w = np.ones((2, 1, 1, 1), np.int8)
        data = single_conv((1, 1, 1, 1), w, [1.5, 0.0625], (0.5, 4), (0.25, 2), bias=np.array([1, 5]))
        model, rep = import_tflite(data, name="t", labels=None)
        self.assertEqual(rep[0]["shifts"], [29, 33])
        out = run_both(self, model, np.array([[[[7]]]], np.int8))
        np.testing.assert_array_equal(out["y"].reshape(-1), [14, 3])

    def test_conv_relu6_clamp_hand_worked(self):
        # out scale 0.05, zp -10: RELU6 range [-10, 110]; acc * 0.5*1/0.05 = 10 * (x - zp)
        w = np.ones((1, 1, 1, 1), np.int8)
        data = single_conv((1, 1, 3, 1), w, [1.0], (0.5, 0), (0.05, -10), act="RELU6")
        model, _ = import_tflite(data, name="t", labels=None)
        out = run_both(self, model, np.array([-3, 5, 13], np.int8).reshape(1, 1, 1, 3))
        # -30 - 10 = -40 -> -10;  50 - 10 = 40;  130 - 10 = 120 -> 110
        np.testing.assert_array_equal(out["y"].reshape(-1), [-10, 40, 110])

    def test_conv_generated_same_padding_per_channel(self):
        rng = np.random.RandomState(2)
        for stride, dil, k, act in (((2, 2), (1, 1), 3, "RELU6"), ((1, 2), (2, 1), 3, "RELU"),
                                    ((3, 1), (1, 1), 2, "NONE")):
            w = rng.randint(-127, 128, (5, k, k, 3)).astype(np.int8)
            scales = (10.0 ** rng.uniform(-3, -1, 5)).astype(np.float32)
            data = single_conv((1, 9, 8, 3), w, scales, (0.03, -7), (0.02, 11), bias=rng.randint(-3000, 3000, 5),
                               padding="SAME", stride_h=stride[0], stride_w=stride[1], dilation_h_factor=dil[0],
                               dilation_w_factor=dil[1], act=act)
            self.check_generated(data, rng.randint(-128, 128, (1, 9, 8, 3)).astype(np.int8))

    def test_depthwise_generated(self):
        rng = np.random.RandomState(3)
        for dm in (1, 2):
            w = rng.randint(-127, 128, (1, 3, 3, 4 * dm)).astype(np.int8)
            scales = (10.0 ** rng.uniform(-3, -1, 4 * dm)).astype(np.float32)
            data = single_conv((1, 7, 6, 4), w, scales, (0.05, 9), (0.04, -20), bias=rng.randint(-500, 500, 4 * dm),
                               depthwise=True, padding="SAME", stride_h=2, stride_w=1, act="RELU6")
            self.check_generated(data, rng.randint(-128, 128, (1, 7, 6, 4)).astype(np.int8))

    def test_pad_folds_into_conv(self):
        rng = np.random.RandomState(4)
        b = TFLiteBuilder()
        x = b.tensor("x", (1, 5, 5, 2), "int8", scale=0.1, zero_point=-5)
        p = b.tensor("p", (4, 2), "int32", data=[[0, 0], [1, 2], [2, 0], [0, 0]])
        xp = b.tensor("xp", (1, 8, 7, 2), "int8", scale=0.1, zero_point=-5)
        w = b.tensor("w", (3, 3, 3, 2), "int8", data=rng.randint(-127, 128, (3, 3, 3, 2)), scale=[0.01, 0.02, 0.03],
                     zero_point=[0, 0, 0])
        y = b.tensor("y", (1, 3, 3, 3), "int8", scale=0.05, zero_point=3)
        b.op("PAD", [x, p], [xp])
        b.op("CONV_2D", [xp, w, -1], [y], padding="VALID", stride_w=2, stride_h=2, fused_activation_function="NONE")
        data = b.build([x], [y])
        model, rep = import_tflite(data, name="t", labels=None)
        conv = [o for o in model.ops if o.type == "conv2d"][0]
        self.assertEqual(conv.attrs["pads"], [1, 2, 2, 0])  # [top, left, bottom, right]
        self.assertEqual(conv.attrs["x_zero_point"], -5)     # padding value = zero point
        self.check_generated(data, rng.randint(-128, 128, (1, 5, 5, 2)).astype(np.int8))

    def test_fully_connected_and_reshape(self):
        rng = np.random.RandomState(5)
        b = TFLiteBuilder()
        x = b.tensor("x", (1, 2, 2, 3), "int8", scale=0.07, zero_point=4)
        sh = b.tensor("shape", (2,), "int32", data=[1, 12])
        xr = b.tensor("xr", (1, 12), "int8", scale=0.07, zero_point=4)
        w = b.tensor("w", (6, 12), "int8", data=rng.randint(-127, 128, (6, 12)), scale=0.01, zero_point=0)
        bias = b.tensor("b", (6,), "int32", data=rng.randint(-300, 300, 6), scale=0.0007, zero_point=0)
        y = b.tensor("y", (1, 6), "int8", scale=0.03, zero_point=-6)
        b.op("RESHAPE", [x, sh], [xr], new_shape=[1, 12])
        b.op("FULLY_CONNECTED", [xr, w, bias], [y], fused_activation_function="RELU")
        data = b.build([x], [y])
        # the flattening is in NHWC order, so the NCHW t2c input is reordered by a view only when
        # that keeps element order: here H, W, C > 1, so the import must refuse
        with self.assertRaisesRegex(ImportFailure, r"op #0 RESHAPE .*transpose"):
            import_tflite(data, name="t", labels=None)
        # with H = W = 1 the orders agree
        b2 = TFLiteBuilder()
        x = b2.tensor("x", (1, 1, 1, 12), "int8", scale=0.07, zero_point=4)
        sh = b2.tensor("shape", (2,), "int32", data=[1, 12])
        xr = b2.tensor("xr", (1, 12), "int8", scale=0.07, zero_point=4)
        w = b2.tensor("w", (6, 12), "int8", data=rng.randint(-127, 128, (6, 12)), scale=0.01, zero_point=0)
        bias = b2.tensor("b", (6,), "int32", data=rng.randint(-300, 300, 6), scale=0.0007, zero_point=0)
        y = b2.tensor("y", (1, 6), "int8", scale=0.03, zero_point=-6)
        b2.op("RESHAPE", [x, sh], [xr], new_shape=[1, 12])
        b2.op("FULLY_CONNECTED", [xr, w, bias], [y], fused_activation_function="RELU")
        self.check_generated(b2.build([x], [y]), rng.randint(-128, 128, (1, 1, 1, 12)).astype(np.int8))

    def add_model(self, s1, z1, s2, z2, so, zo, act="NONE", shape=(1, 2, 3, 4)):
        b = TFLiteBuilder()
        x = b.tensor("x", shape, "int8", scale=s1, zero_point=z1)
        w = b.tensor("w", (shape[3], 1, 1, shape[3]), "int8", data=np.eye(shape[3], dtype=np.int8).reshape(
            shape[3], 1, 1, shape[3]), scale=[s2 / s1] * shape[3], zero_point=[0] * shape[3])
        x2 = b.tensor("x2", shape, "int8", scale=s2, zero_point=z2)   # x2 = x requantized by a 1x1 identity conv
        y = b.tensor("y", shape, "int8", scale=so, zero_point=zo)
        b.op("CONV_2D", [x, w, -1], [x2], padding="VALID", stride_w=1, stride_h=1, fused_activation_function="NONE")
        b.op("ADD", [x, x2], [y], fused_activation_function=act)
        return b.build([x], [y])

    def test_add_hand_worked(self):
        # all scales 1/64, zps 0: x2 = x (conv scale (1/64)(1)/(1/64) = 1 exactly), y = 2x saturated.
        data = self.add_model(1 / 64, 0, 1 / 64, 0, 1 / 64, 0, shape=(1, 1, 1, 4))
        model, rep = import_tflite(data, name="t", labels=None)
        add = model.op("001_add")
        # real multipliers 0.5, 0.5 and 2^-19 -> (2^30, TFLite shift 0) twice and (2^30, -18): t2c 31, 31, 49
        self.assertEqual((add.attrs["a_multiplier"], add.attrs["a_shift"]), (1 << 30, 31))
        self.assertEqual((add.attrs["out_multiplier"], add.attrs["out_shift"]), (1 << 30, 49))
        self.assertEqual(add.attrs["left_shift"], 20)
        out = run_both(self, model, np.array([3, -7, 70, -100], np.int8).reshape(1, 4, 1, 1))
        np.testing.assert_array_equal(out["y"].reshape(-1), [6, -14, 127, -128])

    def test_add_generated(self):
        rng = np.random.RandomState(6)
        for s1, z1, s2, z2, so, zo, act in ((0.02, 5, 0.031, -9, 0.04, 3, "NONE"), (0.1, -128, 0.013, 127, 0.07, -30,
                                                                                     "RELU6")):
            data = self.add_model(s1, z1, s2, z2, so, zo, act)
            self.check_generated(data, rng.randint(-128, 128, (1, 2, 3, 4)).astype(np.int8))

    def mean_model(self, si, zi, so, zo, hw=(3, 4), c=5):
        b = TFLiteBuilder()
        x = b.tensor("x", (1,) + hw + (c,), "int8", scale=si, zero_point=zi)
        ax = b.tensor("axis", (2,), "int32", data=[1, 2])
        y = b.tensor("y", (1, 1, 1, c), "int8", scale=so, zero_point=zo)
        b.op("MEAN", [x, ax], [y], keep_dims=True)
        return b.build([x], [y])

    def test_mean_hand_worked(self):
        # same scale and zp, 2x2 window (even count), zp 3: sum(x - 3) = 2 -> 2/4 = 0.5 -> away from zero: 1 -> 4;
        # sum(x - 3) = -2 -> -1 -> 2.  (global_avgpool on raw x would give round(14/4 = 3.5) = 4 and
        # round(10/4 = 2.5) = 3: the import must not take that shortcut for even counts with zp != 0)
        data = self.mean_model(0.1, 3, 0.1, 3, hw=(2, 2), c=2)
        model, rep = import_tflite(data, name="t", labels=None)
        self.assertIn("conv2d", [o.type for o in model.ops])
        x = np.array([[4, 4, 3, 3], [2, 2, 3, 3]], np.int8).reshape(1, 2, 2, 2)  # NCHW: channel 0 sums +2, 1 -2
        out = run_both(self, model, x)
        np.testing.assert_array_equal(out["y"].reshape(-1), [4, 2])

    def test_mean_generated(self):
        rng = np.random.RandomState(7)
        for si, zi, so, zo, hw in ((0.05, -3, 0.05, -3, (7, 7)), (0.05, -3, 0.02, 10, (7, 7)), (0.1, 0, 0.1, 0, (2, 4)),
                                   (0.03, 20, 0.09, -1, (4, 4)), (0.2, -128, 0.01, 0, (3, 5))):
            data = self.mean_model(si, zi, so, zo, hw)
            self.check_generated(data, rng.randint(-128, 128, (1,) + hw + (5,)).astype(np.int8))

    def pool_model(self, kind, padding, k, s, act="NONE", shape=(1, 7, 6, 3)):
        b = TFLiteBuilder()
        x = b.tensor("x", shape, "int8", scale=0.1, zero_point=-4)
        oh, ow = out_size(padding, shape[1], k[0], s[0], 1), out_size(padding, shape[2], k[1], s[1], 1)
        y = b.tensor("y", (1, oh, ow, shape[3]), "int8", scale=0.1, zero_point=-4)
        b.op(kind, [x], [y], padding=padding, stride_w=s[1], stride_h=s[0], filter_width=k[1], filter_height=k[0],
             fused_activation_function=act)
        return b.build([x], [y])

    def test_avg_pool_hand_worked(self):
        # 1x3 input [1, 2, 4], kernel 1x2 stride 1 SAME: windows [1,2] [2,4] [4] -> 1.5 -> 2, 3, 4
        data = self.pool_model("AVERAGE_POOL_2D", "SAME", (1, 2), (1, 1), shape=(1, 1, 3, 1))
        model, _ = import_tflite(data, name="t", labels=None)
        out = run_both(self, model, np.array([1, 2, 4], np.int8).reshape(1, 1, 1, 3))
        np.testing.assert_array_equal(out["y"].reshape(-1), [2, 3, 4])

    def test_pools_generated(self):
        rng = np.random.RandomState(8)
        for kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            for padding, k, s, act in (("SAME", (3, 3), (2, 2), "RELU6"), ("VALID", (2, 3), (1, 2), "NONE")):
                data = self.pool_model(kind, padding, k, s, act)
                self.check_generated(data, rng.randint(-128, 128, (1, 7, 6, 3)).astype(np.int8))

    def test_concatenation_transpose_input(self):
        rng = np.random.RandomState(9)
        b = TFLiteBuilder()
        x = b.tensor("x", (1, 2, 3, 3), "int8", scale=0.1, zero_point=1)           # NCHW input ...
        perm = b.tensor("perm", (4,), "int32", data=[0, 2, 3, 1])
        xt = b.tensor("xt", (1, 3, 3, 2), "int8", scale=0.1, zero_point=1)         # ... transposed to NHWC
        w = b.tensor("w", (2, 1, 1, 2), "int8", data=[[[[1, 0]]], [[[0, 1]]]], scale=[1.0, 1.0], zero_point=[0, 0])
        c1 = b.tensor("c1", (1, 3, 3, 2), "int8", scale=0.1, zero_point=1)
        y = b.tensor("y", (1, 3, 3, 4), "int8", scale=0.1, zero_point=1)
        b.op("TRANSPOSE", [x, perm], [xt])
        b.op("CONV_2D", [xt, w, -1], [c1], padding="VALID", stride_w=1, stride_h=1, fused_activation_function="RELU")
        b.op("CONCATENATION", [xt, c1], [y], axis=3, fused_activation_function="NONE")
        data = b.build([x], [y])
        model, rep = import_tflite(data, name="t", labels=None)
        self.assertEqual(model.tensors[model.inputs[0]].shape, (1, 2, 3, 3))  # NCHW input kept, no transpose op
        self.assertEqual(rep[0]["t2c_ops"], [])
        xin = rng.randint(-128, 128, (1, 2, 3, 3)).astype(np.int8)
        env = run_both(self, model, xin)
        compare_with_tflite(self, read_tflite(data, "t"), model, xin, env)
        np.testing.assert_array_equal(env["y"][:, :2], xin)                       # channels 0-1: x itself
        np.testing.assert_array_equal(env["y"][:, 2:], np.maximum(xin, 1))       # 2-3: ReLU(x) (zp 1)


    def test_float_boundary_quantize_dequantize(self):
        # float32 in -> QUANTIZE (scale 0.5, zp 1) -> CONV (w 1, scale 1 -> out scale 1, zp 0) -> DEQUANTIZE
        b = TFLiteBuilder()
        x = b.tensor("x", (1, 1, 3, 1), "float32")
        xq = b.tensor("xq", (1, 1, 3, 1), "int8", scale=0.5, zero_point=1)
        w = b.tensor("w", (1, 1, 1, 1), "int8", data=[1], scale=[1.0], zero_point=[0])
        yq = b.tensor("yq", (1, 1, 1, 1), "int8", scale=1.0, zero_point=0)
        y = b.tensor("y", (1, 1, 1, 1), "float32")
        b.op("QUANTIZE", [x], [xq])
        b.op("CONV_2D", [xq, w, -1], [yq], padding="VALID", stride_w=3, stride_h=1, fused_activation_function="NONE")
        b.op("DEQUANTIZE", [yq], [y])
        model, rep = import_tflite(b.build([x], [y]), name="t", labels=None)
        self.assertEqual([o.type for o in model.ops], ["quantize", "conv2d", "requantize", "dequantize"])
        out = run_both(self, model, np.array([3.2, 0, 0], np.float32).reshape(1, 1, 1, 3))
        # q = round(3.2 / 0.5) + 1 = 7; acc = 7 - 1 = 6; y = 6 * 0.5 = 3 -> 3.0
        self.assertEqual(int(out["xq"].reshape(-1)[0]), 7)
        self.assertEqual(float(out["y"].reshape(-1)[0]), 3.0)


class TestTfliteErrors(unittest.TestCase):
    def test_unsupported_ops_are_named(self):
        b = TFLiteBuilder()
        x = b.tensor("x", (1, 4), "int8", scale=0.1, zero_point=0)
        y = b.tensor("probs", (1, 4), "int8", scale=1 / 256, zero_point=-128)
        b.op("SOFTMAX", [x], [y], beta=1.0)
        with self.assertRaisesRegex(ImportFailure, r"t\.tflite: op #0 SOFTMAX \('probs'\): not supported"):
            import_tflite(b.build([x], [y]), name="t.tflite")
        b = TFLiteBuilder()
        x = b.tensor("x", (1, 4), "int8", scale=0.1, zero_point=0)
        y = b.tensor("y", (1, 4), "int8", scale=0.1, zero_point=0)
        b.op("MUL", [x, x], [y], fused_activation_function="NONE")
        with self.assertRaisesRegex(ImportFailure, r"op #0 MUL \('y'\): not supported"):
            import_tflite(b.build([x], [y]), name="t.tflite")

    def test_unsupported_attributes_are_named(self):
        w = np.ones((1, 1, 1, 1), np.int8)
        data = single_conv((1, 2, 2, 1), w, [0.5], (0.5, 0), (1.0, 0), act="NONE")
        tm = read_tflite(data, "t")
        self.assertEqual(tm.ops[0].options["fused_activation_function"], 0)
        b = TFLiteBuilder()
        x = b.tensor("x", (1, 2, 2, 1), "int8", scale=0.5, zero_point=0)
        wt = b.tensor("w", (1, 1, 1, 1), "int8", data=[1], scale=[0.5], zero_point=[0])
        y = b.tensor("y", (1, 2, 2, 1), "int8", scale=1.0, zero_point=0)
        b.op("CONV_2D", [x, wt, -1], [y], padding="VALID", stride_w=1, stride_h=1, fused_activation_function="TANH")
        with self.assertRaisesRegex(ImportFailure, r"op #0 CONV_2D \('y'\): fused activation TANH is not supported"):
            import_tflite(b.build([x], [y]), name="t")
        # PAD feeding a pool cannot be folded
        b = TFLiteBuilder()
        x = b.tensor("x", (1, 2, 2, 1), "int8", scale=0.5, zero_point=0)
        p = b.tensor("p", (4, 2), "int32", data=[[0, 0], [1, 1], [1, 1], [0, 0]])
        xp = b.tensor("xp", (1, 4, 4, 1), "int8", scale=0.5, zero_point=0)
        y = b.tensor("y", (1, 2, 2, 1), "int8", scale=0.5, zero_point=0)
        b.op("PAD", [x, p], [xp])
        b.op("MAX_POOL_2D", [xp], [y], padding="VALID", stride_w=2, stride_h=2, filter_width=2, filter_height=2,
             fused_activation_function="NONE")
        with self.assertRaisesRegex(ImportFailure, r"op #0 PAD \('xp'\): its output feeds MAX_POOL_2D \(op #1\)"):
            import_tflite(b.build([x], [y]), name="t")

    def test_malformed_files_name_the_field(self):
        w = np.ones((1, 1, 1, 1), np.int8)
        data = single_conv((1, 2, 2, 1), w, [0.5], (0.5, 0), (1.0, 0))
        with self.assertRaisesRegex(ImportFailure, r"m\.tflite: not a TFLite model: file identifier b'XXXX'"):
            import_tflite(data[:4] + b"XXXX" + data[8:], name="m.tflite")
        with self.assertRaisesRegex(ImportFailure, r"m\.tflite: too short"):
            import_tflite(data[:6], name="m.tflite")
        for cut in (len(data) // 2, len(data) - 9, 40):
            with self.assertRaisesRegex(ImportFailure, r"m\.tflite: .*(outside the file|out of range)"):
                import_tflite(data[:cut], name="m.tflite")
        # a corrupt root offset
        bad = (len(data) + 100).to_bytes(4, "little") + data[4:]
        with self.assertRaisesRegex(ImportFailure, r"root table: 4 bytes at offset \d+ lie outside the file"):
            import_tflite(bad, name="m.tflite")
        # a wrong schema version
        b = TFLiteBuilder()
        x = b.tensor("x", (1, 4), "int8", scale=0.1, zero_point=0)
        with self.assertRaisesRegex(ImportFailure, r"version: schema version 2 is not supported"):
            import_tflite(b.build([x], [x], version=2), name="m.tflite")

    def test_every_truncation_fails_cleanly(self):
        w = np.ones((1, 1, 1, 1), np.int8)
        data = single_conv((1, 2, 2, 1), w, [0.5], (0.5, 0), (1.0, 0), bias=np.array([3]))
        for cut in range(0, len(data), 7):
            try:
                import_tflite(data[:cut], name="m.tflite")
            except ImportFailure as e:
                self.assertTrue(str(e).startswith("m.tflite: "), str(e))
            else:
                self.fail(f"truncated at {cut}: imported")
        # flipping bytes gives a clear error or a model (never a Python exception of another kind)
        rng = np.random.RandomState(10)
        for _ in range(200):
            b = bytearray(data)
            for _ in range(3):
                b[rng.randint(8, len(b))] = rng.randint(0, 256)
            try:
                import_tflite(bytes(b), name="m.tflite")
            except ImportFailure:
                pass


# ---------------------------------------------------------------- ONNX
def onnx_reference_round(v_exact):
    """round half to even of exact Fractions (numpy object array)."""
    from fractions import Fraction
    out = np.empty(v_exact.shape, np.int64)
    for idx, e in np.ndenumerate(v_exact):
        fl = e.numerator // e.denominator
        rem = e - fl
        out[idx] = fl + (1 if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and fl % 2) else 0)
    return out


def F(x):
    from fractions import Fraction
    return Fraction(float(np.float32(x)))


@unittest.skipIf(onnx is None, "python3-onnx is not installed")
class TestOnnx(unittest.TestCase):
    def make(self, nodes, inits, in_shape, out_name="y", opset=13, extra_opsets=()):
        g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)] + list(extra_opsets))
        return m.SerializeToString()

    def qdq_in(self, s, z):
        return ([helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
                 helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"])],
                {"xs": np.float32(s), "xz": np.int8(z)})

    def test_conv_ties_to_even_hand_worked(self):
        from t2c.importers.onnx_import import import_onnx
        # 1x1 conv, weight 1 (scale 1), x scale 0.5, y scale 1: y = round_half_even(0.5 * (x - zp))
        nodes, inits = self.qdq_in(0.5, 0)
        nodes += [helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"], axis=0),
                  helper.make_node("Conv", ["xd", "wd"], ["c"], kernel_shape=[1, 1]),
                  helper.make_node("QuantizeLinear", ["c", "ys", "yz"], ["yq"]),
                  helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"])]
        inits.update(w=np.ones((1, 1, 1, 1), np.int8), ws=np.array([1.0], np.float32), wz=np.array([0], np.int8),
                     ys=np.float32(1.0), yz=np.int8(0))
        model, rep = import_onnx(self.make(nodes, inits, [1, 1, 1, 6]), name="t", labels=None)
        out = run_both(self, model, np.array([3, 5, -3, -5, 7, 1], np.int8).reshape(1, 1, 1, 6))
        # 1.5 -> 2, 2.5 -> 2, -1.5 -> -2, -2.5 -> -2, 3.5 -> 4, 0.5 -> 0
        np.testing.assert_array_equal(out["y"].reshape(-1), [2, 2, -2, -2, 4, 0])
        self.assertEqual(model.outputs, ["y"])
        self.assertEqual((model.meta["output.scale"], model.meta["output.zero_point"]), (1.0, 0))
        self.assertEqual((model.meta["input.scale"], model.meta["input.zero_point"]), (0.5, 0))

    def conv_model(self, rng, relu6, group=1, cin=3, cout=4):
        nodes, inits = self.qdq_in(0.037, -11)
        w = rng.randint(-127, 128, (cout, cin // group, 3, 3)).astype(np.int8)
        ws = (10.0 ** rng.uniform(-3, -1, cout)).astype(np.float32)
        bs = (np.float32(0.037) * ws).astype(np.float32)
        nodes += [helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"], axis=0),
                  helper.make_node("DequantizeLinear", ["b", "bs", "bz"], ["bd"], axis=0),
                  helper.make_node("Conv", ["xd", "wd", "bd"], ["c"], kernel_shape=[3, 3], pads=[1, 0, 2, 1],
                                   strides=[2, 1], group=group)]
        last = "c"
        if relu6:
            nodes.append(helper.make_node("Clip", ["c", "lo", "hi"], ["r"]))
            inits.update(lo=np.float32(0), hi=np.float32(6))
            last = "r"
        nodes += [helper.make_node("QuantizeLinear", [last, "ys", "yz"], ["yq"]),
                  helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"])]
        inits.update(w=w, ws=ws, wz=np.zeros(cout, np.int8), b=rng.randint(-5000, 5000, cout).astype(np.int32),
                     bs=bs, bz=np.zeros(cout, np.int32), ys=np.float32(0.021), yz=np.int8(7))
        return nodes, inits, w, ws

    def test_conv_generated_vs_float_definition(self):
        from t2c.importers.onnx_import import import_onnx, measure_requant
        rng = np.random.RandomState(11)
        for relu6, group, cin, cout in ((True, 1, 3, 4), (False, 3, 3, 6)):
            nodes, inits, w, ws = self.conv_model(rng, relu6, group, cin, cout)
            model, rep = import_onnx(self.make(nodes, inits, [1, cin, 6, 5]), name="t", labels=None)
            x = rng.randint(-128, 128, (1, cin, 6, 5)).astype(np.int8)
            out = run_both(self, model, x)
            # ONNX float definition, exactly: acc from integers, v = acc * sx * sw / sy
            xp = np.pad(x.astype(np.int64) + 11, ((0, 0), (0, 0), (1, 2), (0, 1)))  # padding = real 0
            acc = np.zeros((1, cout, 4, 4), np.int64)  # H: (6 + 1 + 2 - 3) // 2 + 1, W: (5 + 0 + 1 - 3) + 1
            cpg, opg = cin // group, cout // group
            for co in range(cout):
                g = co // opg
                for oy in range(4):
                    for ox in range(4):
                        acc[0, co, oy, ox] = (xp[0, g * cpg:(g + 1) * cpg, oy * 2:oy * 2 + 3, ox:ox + 3] *
                                              w[co].astype(np.int64)).sum()
            acc += inits["b"].astype(np.int64)[None, :, None, None]
            v = np.empty(acc.shape, object)
            for idx, a in np.ndenumerate(acc):
                v[idx] = int(a) * F(0.037) * F(ws[idx[1]]) / F(0.021)
            want = onnx_reference_round(v) + 7
            lo, hi = (7, 7 + int(round(6 / np.float32(0.021)))) if relu6 else (-128, 127)
            np.testing.assert_array_equal(out["y"], np.clip(want, max(lo, -128), min(hi, 127)))
            stats = measure_requant(model, rep, [x])
            self.assertEqual([s["differ"] for s in stats], [0])
            self.assertEqual(stats[0]["elements"], cout * 16)

    def test_measure_detects_differences(self):
        # a multiplier deliberately perturbed in the t2c model must show up in the per-op count
        from t2c.importers.onnx_import import import_onnx, measure_requant
        rng = np.random.RandomState(12)
        nodes, inits, w, ws = self.conv_model(rng, False)
        model, rep = import_onnx(self.make(nodes, inits, [1, 3, 6, 5]), name="t", labels=None)
        rq = [o for o in model.ops if o.type == "requantize"][0]
        rq.attrs["multiplier"] = [m + (m >> 12) for m in rq.attrs["multiplier"]]  # +0.02 %
        xs = [rng.randint(-128, 128, (1, 3, 6, 5)).astype(np.int8) for _ in range(4)]
        stats = measure_requant(model, rep, xs)
        self.assertGreater(stats[0]["differ"], 0)
        self.assertEqual(stats[0]["elements"], 4 * 64)

    def test_gemm_add_gap_concat_pools(self):
        from t2c.importers.onnx_import import import_onnx, measure_requant
        rng = np.random.RandomState(13)
        nodes, inits = self.qdq_in(0.05, 3)
        # branch a: x requantized by a Relu + Q to another scale; b: MaxPool(x); add(a, b) -> GAP -> Gemm
        nodes += [helper.make_node("Relu", ["xd"], ["r"]),
                  helper.make_node("QuantizeLinear", ["r", "as", "az"], ["aq"]),
                  helper.make_node("DequantizeLinear", ["aq", "as", "az"], ["ad"]),
                  helper.make_node("MaxPool", ["xd"], ["mp"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                  helper.make_node("Add", ["ad", "mp"], ["s"]),
                  helper.make_node("QuantizeLinear", ["s", "ss", "sz"], ["sq"]),
                  helper.make_node("DequantizeLinear", ["sq", "ss", "sz"], ["sd"]),
                  helper.make_node("AveragePool", ["sd"], ["ap"], kernel_shape=[2, 2], strides=[2, 2]),
                  helper.make_node("QuantizeLinear", ["ap", "ss", "sz"], ["apq"]),
                  helper.make_node("DequantizeLinear", ["apq", "ss", "sz"], ["apd"]),
                  helper.make_node("Concat", ["apd", "apd2"], ["cat"], axis=1),
                  helper.make_node("QuantizeLinear", ["cat", "cs", "cz"], ["catq"]),
                  helper.make_node("DequantizeLinear", ["catq", "cs", "cz"], ["catd"]),
                  helper.make_node("GlobalAveragePool", ["catd"], ["g"]),
                  helper.make_node("QuantizeLinear", ["g", "gs", "gz"], ["gq"]),
                  helper.make_node("DequantizeLinear", ["gq", "gs", "gz"], ["gd"]),
                  helper.make_node("Flatten", ["gd"], ["f"]),
                  helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"]),
                  helper.make_node("Gemm", ["f", "wd"], ["fc"], transB=1),
                  helper.make_node("QuantizeLinear", ["fc", "ys", "yz"], ["yq"]),
                  helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"])]
        # apd2: the same pooled tensor at another scale (requantized inside the concat)
        nodes.insert(-11, helper.make_node("QuantizeLinear", ["apd", "ps", "pz"], ["apq2"]))
        nodes.insert(-11, helper.make_node("DequantizeLinear", ["apq2", "ps", "pz"], ["apd2"]))
        inits.update({"as": np.float32(0.031), "az": np.int8(-128), "ss": np.float32(0.07), "sz": np.int8(-2),
                      "ps": np.float32(0.09), "pz": np.int8(5), "cs": np.float32(0.08), "cz": np.int8(1),
                      "gs": np.float32(0.013), "gz": np.int8(-7),
                      "w": rng.randint(-127, 128, (5, 6)).astype(np.int8), "ws": np.float32(0.02),
                      "wz": np.int8(0), "ys": np.float32(0.03), "yz": np.int8(2)})
        model, rep = import_onnx(self.make(nodes, inits, [1, 3, 6, 6]), name="t", labels=None)
        types = [o.type for o in model.ops]
        for t in ("requantize", "maxpool2d", "add", "avgpool2d", "concat", "conv2d", "flatten", "linear"):
            self.assertIn(t, types)
        xs = [rng.randint(-128, 128, (1, 3, 6, 6)).astype(np.int8) for _ in range(3)]
        for x in xs:
            out = run_both(self, model, x)
            # float definition, step by step, in exact arithmetic
            xr = (x.astype(np.int64) - 3)
            relu_rq = np.vectorize(lambda v: max(v, 0) * F(0.05) / F(0.031), otypes=[object])
            a = np.clip(onnx_reference_round(relu_rq(xr)) - 128, -128, 127)
            np.testing.assert_array_equal(out["aq"], a)
            xp = np.pad(x.astype(np.int64), ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-10**9)
            mp = np.max([xp[:, :, i:i + 6, j:j + 6] for i in range(3) for j in range(3)], axis=0)
            v = np.vectorize(lambda p, q: ((p + 128) * F(0.031) + (q - 3) * F(0.05)) / F(0.07), otypes=[object])(a, mp)
            s = np.clip(onnx_reference_round(v) - 2, -128, 127)
            np.testing.assert_array_equal(out["sq"], s)
        stats = measure_requant(model, rep, xs)
        self.assertEqual(sum(st["differ"] for st in stats), 0)
        self.assertGreaterEqual(len(stats), 4)

    def test_qoperator_graph(self):
        from t2c.importers.onnx_import import import_onnx, measure_requant
        rng = np.random.RandomState(14)
        ms = helper.make_opsetid("com.microsoft", 1)
        w = rng.randint(-127, 128, (4, 3, 3, 3)).astype(np.int8)
        nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
                 helper.make_node("QLinearConv", ["xq", "xs", "xz", "w", "ws", "wz", "cs", "cz", "b"], ["cq"],
                                  pads=[1, 1, 1, 1]),
                 helper.make_node("QLinearAdd", ["cq", "cs", "cz", "cq", "cs", "cz", "as", "az"], ["aq"],
                                  domain="com.microsoft"),
                 helper.make_node("QLinearGlobalAveragePool", ["aq", "as", "az", "gs", "gz"], ["gq"],
                                  domain="com.microsoft", channels_last=0),
                 helper.make_node("Flatten", ["gq"], ["fq"]),
                 helper.make_node("QLinearMatMul", ["fq", "gs", "gz", "m", "mss", "mz", "ys", "yz"], ["yq"]),
                 helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"])]
        inits = {"xs": np.float32(0.04), "xz": np.int8(-5), "w": w, "ws": np.float32(0.011), "wz": np.int8(0),
                 "cs": np.float32(0.05), "cz": np.int8(3), "b": rng.randint(-900, 900, 4).astype(np.int32),
                 "as": np.float32(0.09), "az": np.int8(-1), "gs": np.float32(0.03), "gz": np.int8(4),
                 "m": rng.randint(-127, 128, (4, 3)).astype(np.int8), "mss": np.float32(0.02), "mz": np.int8(0),
                 "ys": np.float32(0.01), "yz": np.int8(-3)}
        model, rep = import_onnx(self.make(nodes, inits, [1, 3, 5, 5], extra_opsets=[ms]), name="t", labels=None)
        self.assertEqual(model.outputs, ["y"])
        x = rng.randint(-128, 128, (1, 3, 5, 5)).astype(np.int8)
        out = run_both(self, model, x)
        stats = measure_requant(model, rep, [x])
        self.assertEqual(sum(s["differ"] for s in stats), 0)
        self.assertEqual(len(stats), 4)  # conv, add, pool, matmul
        # the float definition, op by op, in exact arithmetic
        xp = np.pad(x.astype(np.int64) + 5, ((0, 0), (0, 0), (1, 1), (1, 1)))
        acc = np.zeros((1, 4, 5, 5), np.int64)
        for i in range(3):
            for j in range(3):
                acc += np.einsum("nchw,oc->nohw", xp[:, :, i:i + 5, j:j + 5], w[:, :, i, j].astype(np.int64))
        acc += inits["b"].astype(np.int64)[None, :, None, None]

        def rq(v, f):
            return onnx_reference_round(np.vectorize(f, otypes=[object])(v))

        c = np.clip(rq(acc, lambda a: a * F(0.04) * F(0.011) / F(0.05)) + 3, -128, 127)
        np.testing.assert_array_equal(out["cq"], c)
        a = np.clip(rq(c, lambda v: 2 * (int(v) - 3) * F(0.05) / F(0.09)) - 1, -128, 127)
        np.testing.assert_array_equal(out["aq"], a)
        g = np.clip(rq((a.astype(np.int64) + 1).sum(axis=(2, 3), keepdims=True),
                       lambda v: v * F(0.09) / (25 * F(0.03))) + 4, -128, 127)
        np.testing.assert_array_equal(out["gq"], g)
        y = np.clip(rq((g.reshape(1, 4) - 4) @ inits["m"].astype(np.int64), lambda v: v * F(0.03) * F(0.02) / F(0.01))
                    - 3, -128, 127)
        np.testing.assert_array_equal(out["y"], y)

    def test_conv_integer_and_matmul_integer(self):
        from t2c.importers.onnx_import import import_onnx
        rng = np.random.RandomState(15)
        w = rng.randint(-127, 128, (2, 3, 1, 1)).astype(np.int8)
        m = rng.randint(-127, 128, (4, 5)).astype(np.int8)
        nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
                 helper.make_node("ConvInteger", ["xq", "w", "xz", "wz"], ["c"]),
                 helper.make_node("MatMulInteger", ["xq", "m", "xz", "mz"], ["y"])]
        inits = {"xs": np.float32(0.1), "xz": np.uint8(128), "w": w, "wz": np.int8(0), "m": m, "mz": np.int8(2)}
        g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 2, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.INT32, None)],
                              [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
        data = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()
        model, rep = import_onnx(data, name="t", labels=None, preprocess="none")
        x = rng.randint(0, 256, (1, 3, 2, 4)).astype(np.uint8)
        out = run_both(self, model, x)
        want = (x.astype(np.int64) - 128) @ (m.astype(np.int64) - 2)
        np.testing.assert_array_equal(out["y"], want)
        want_c = np.einsum("nchw,oc->nohw", x.astype(np.int64) - 128, w[:, :, 0, 0].astype(np.int64))
        np.testing.assert_array_equal(out["c"], want_c)

    def test_errors_name_the_node(self):
        from t2c.importers.onnx_import import import_onnx
        nodes, inits = self.qdq_in(0.5, 0)
        nodes += [helper.make_node("Softmax", ["xd"], ["sm"]),
                  helper.make_node("QuantizeLinear", ["sm", "xs", "xz"], ["yq"]),
                  helper.make_node("DequantizeLinear", ["yq", "xs", "xz"], ["y"])]
        with self.assertRaisesRegex(ImportFailure, r"t\.onnx: node #2 Softmax 'sm': op type not supported"):
            import_onnx(self.make(nodes, inits, [1, 4]), name="t.onnx")
        # a float op result used without QuantizeLinear
        nodes, inits = self.qdq_in(0.5, 0)
        nodes += [helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"]),
                  helper.make_node("Gemm", ["xd", "wd"], ["g"], transB=1),
                  helper.make_node("Gemm", ["g", "wd"], ["y"], transB=1)]
        inits.update(w=np.ones((4, 4), np.int8), ws=np.float32(1), wz=np.int8(0))
        with self.assertRaisesRegex(ImportFailure, r"graph output 'y' is not a \(dequantized\) integer tensor"):
            import_onnx(self.make(nodes, inits, [1, 4]), name="t.onnx")
        with self.assertRaisesRegex(ImportFailure, r"bad\.onnx: not a readable ONNX model"):
            import_onnx(b"\x08\x07garbage\xff\xff\xff", name="bad.onnx")

    @unittest.skipUnless(os.path.isdir("/work/cache/ort/node_modules/onnxruntime-node")
                         and subprocess.run(["which", "node"], capture_output=True).returncode == 0,
                         "onnxruntime-node not installed")
    def test_onnxruntime_agrees(self):
        # ONNX Runtime (float Q/DQ simulation, optimizations disabled) on a generated QDQ conv: its float32
        # arithmetic may differ from the exact definition at near-ties only
        from t2c.importers.onnx_import import import_onnx
        rng = np.random.RandomState(16)
        nodes, inits, w, ws = self.conv_model(rng, True)
        data = self.make(nodes, inits, [1, 3, 6, 5])
        model, _ = import_onnx(data, name="t", labels=None)
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "m.onnx"), "wb") as f:
                f.write(data)
            xs = rng.randint(-128, 128, (20, 3, 6, 5)).astype(np.int8)
            ((xs.astype(np.float32) + 11) * np.float32(0.037)).astype(np.float32).tofile(os.path.join(d, "in.f32"))
            script = os.path.join(ROOT, "formats", "python", "t2c", "importers", "ort_run.mjs")
            subprocess.run(["node", script, os.path.join(d, "m.onnx"), os.path.join(d, "in.f32"), "20", "3", "6", "5",
                            os.path.join(d, "out.f32"), "disabled"], check=True, capture_output=True,
                           env=dict(os.environ, NODE_PATH="/work/cache/ort/node_modules"))
            ort = np.fromfile(os.path.join(d, "out.f32"), np.float32).reshape(20, 4, 4, 4)
        ort_q = np.rint(ort / np.float32(0.021)).astype(np.int64) + 7
        ours = np.concatenate([R.run(model, {model.inputs[0]: xs[i:i + 1]})["y"] for i in range(20)])
        self.assertLessEqual(np.abs(ort_q - ours).max(), 1)
        self.assertGreaterEqual((ort_q == ours).mean(), 0.99)


# ---------------------------------------------------------------- the real models
def image_input(model, path):
    from PIL import Image
    from t2c.export.data import preprocess_image
    meta = model.meta
    pre = {"color": meta["input.color"], "resize": meta["preprocess.resize"],
           "resize_mode": meta["preprocess.resize_mode"], "crop": meta["preprocess.crop"],
           "mean": meta["preprocess.mean"], "std": meta["preprocess.std"]}
    with Image.open(path) as im:
        x = preprocess_image(im, pre)
    inv = np.float32(1) / np.float32(meta["input.scale"])
    r = np.rint((x * inv).astype(np.float32)).astype(np.int64) + meta["input.zero_point"]
    return np.clip(r, -128, 127).astype(np.int8)[None]


def t2c_run_accuracy(testcase, path):
    p = subprocess.run([RUN, "-q", "-j", "2", "--no-progress", path, IMAGES], capture_output=True, text=True,
                       timeout=1500)
    testcase.assertEqual(p.returncode, 0, p.stderr)
    import re
    m = re.search(r"top-1 accuracy [\d.]+% \((\d+)/(\d+)\), top-5 [\d.]+% \((\d+)/(\d+)\)", p.stdout)
    testcase.assertIsNotNone(m, p.stdout)
    return int(m.group(1)), int(m.group(3)), int(m.group(2))


@unittest.skipUnless(os.path.exists(TFLITE_MODEL), "../shared/models is not available")
class TestRealTflite(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model, cls.report = import_tflite(TFLITE_MODEL)
        with open(TFLITE_MODEL, "rb") as f:
            cls.tm = read_tflite(f.read(), "mbv2.tflite")

    def test_structure_and_metadata(self):
        from collections import Counter
        # as described in ../shared/models/README.md
        self.assertEqual(Counter(op.opcode for op in self.tm.ops),
                         Counter({"CONV_2D": 35, "PAD": 18, "DEPTHWISE_CONV_2D": 17, "ADD": 10, "TRANSPOSE": 1,
                                  "MEAN": 1, "RESHAPE": 1, "FULLY_CONNECTED": 1}))
        meta = self.model.meta
        self.assertAlmostEqual(meta["input.scale"], 0.018631115555763245, places=12)
        self.assertEqual(meta["input.zero_point"], -14)
        self.assertAlmostEqual(meta["output.scale"], 0.11373531818389893, places=12)
        self.assertEqual(meta["output.zero_point"], -24)
        self.assertEqual(self.model.tensors[self.model.inputs[0]].shape, (1, 3, 224, 224))
        self.assertEqual(meta["preprocess.resize"], 256)
        self.assertEqual(list(meta["preprocess.crop"]), [224, 224])
        if "labels" in meta:
            self.assertEqual(meta["labels"][0], "tench")
        if "labels.wnid" in meta:
            self.assertEqual(meta["labels.wnid"][999], "n15075141")
        types = Counter(o.type for o in self.model.ops)
        self.assertEqual(types["conv2d"], 52)
        self.assertEqual(types["requantize"], 53)
        self.assertEqual(types["add"], 10)
        self.assertNotIn("pad", types)

    def test_bit_exact_on_an_image(self):
        path = sorted(os.listdir(IMAGES))[0]
        x = image_input(self.model, os.path.join(IMAGES, path))
        env = run_both(self, self.model, x)
        n = compare_with_tflite(self, self.tm, self.model, x, env)
        self.assertEqual(n, 65)  # every CONV_2D, DEPTHWISE_CONV_2D, ADD, MEAN, RESHAPE, FULLY_CONNECTED output

    @unittest.skipUnless(os.path.exists(RUN) and os.path.isdir(IMAGES), "t2c-run or images missing")
    def test_t2c_run_accuracy(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "mbv2.t2c")
            C.write(self.model, path)
            self.assertEqual(t2c_run_accuracy(self, path), (TFLITE_TOP1, TFLITE_TOP5, 100))


@unittest.skipUnless(onnx is not None and os.path.exists(ONNX_MODEL), "../shared/models or python3-onnx missing")
class TestRealOnnx(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from t2c.importers.onnx_import import import_onnx
        cls.model, cls.report = import_onnx(ONNX_MODEL)

    def test_requantization_matches_float_definition(self):
        from t2c.importers.onnx_import import measure_requant
        x = image_input(self.model, os.path.join(IMAGES, sorted(os.listdir(IMAGES))[1]))
        run_both(self, self.model, x)
        stats = measure_requant(self.model, self.report, [x])
        self.assertEqual(len(stats), 63)  # 52 conv + 10 add + 1 gemm
        self.assertGreater(sum(s["elements"] for s in stats), 6_000_000)
        self.assertEqual(sum(s["differ"] for s in stats), 0)

    @unittest.skipUnless(os.path.exists(RUN) and os.path.isdir(IMAGES), "t2c-run or images missing")
    def test_t2c_run_accuracy(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "mbv2.t2c")
            C.write(self.model, path)
            self.assertEqual(t2c_run_accuracy(self, path), (ONNX_TOP1, ONNX_TOP5, 100))


if __name__ == "__main__":
    unittest.main()
