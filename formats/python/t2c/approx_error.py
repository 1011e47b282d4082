"""Accuracy of the integer softmax / GELU / layernorm approximations against the float functions.

    python3 -m t2c.approx_error        (from formats/python; prints the Markdown tables of ops/transformers.md)

Every integer result comes from t2c.reference (bit-exact with the C kernels); the float function is
evaluated on the *dequantized* integer input, so the numbers measure the approximation plus the output
rounding, not the input quantization. Inputs are seeded and realistic for a ViT:
  softmax  rows of attention logits, N(0, σ²) with σ = 1, 2, 4 (plus one large logit per row in a third of
           the rows), 17 and 197 per row; int32 input at scale 2^-10 (ibert/shift/lut), int8 at the scale
           that spans each batch (tflite); probabilities uint8 at 2^-8 (and int16 at 2^-16);
  GELU     every input value of an int8 tensor at scale 8/127 (range ±8) and an int16 tensor at 2^-11;
           error of the Q12 GELU value and of the int8 output;
  layernorm  rows of 64 and 768 N(0, 1) values with 1% outliers at ±8, int8 input (scale 8/127), int16
           input (scale 2^-12); normalized output (γ = 1, β = 0) in int16 at 2^-10, and int8 at 4/127.
"""

import math

import numpy as np

from . import reference as ref
from .export.fixedpoint import quantize_multiplier


def _mult(s):
    m, sh, _ = quantize_multiplier(s, 32)
    return m, sh


def _fsoftmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _gelu(x):
    from math import erf
    return x * 0.5 * (1.0 + np.vectorize(erf)(x / math.sqrt(2.0)))


def softmax_rows(seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for L in (17, 197):
        for sigma in (1.0, 2.0, 4.0):
            x = rng.normal(0.0, sigma, (300, L))
            x[::3, 0] += 3 * sigma
            out.append((L, sigma, x))
    return out


def softmax_errors():
    rows = []
    from .export.vit import softmax_lut_shift, softmax_table
    for method in ("ibert", "shift", "lut", "tflite", "exact"):
        for out_dt, bits in (("uint8", 8), ("int16", 16)):
            errs = []
            for L, sigma, x in softmax_rows():
                if method == "tflite":
                    scale = float(np.max(np.abs(x))) / 127.0
                    xi = np.clip(np.rint(x / scale), -128, 127).astype(np.int8)
                else:
                    scale = 2.0 ** -10
                    xi = np.rint(x / scale).astype(np.int32)
                xr = xi.astype(np.float64) * scale
                pf = _fsoftmax(xr)
                zp = ref.DTYPE_RANGE[out_dt][0]
                if method == "exact":
                    p = np.clip(np.rint(pf * 2 ** bits), 0, 2 ** bits - 1) / 2 ** bits
                else:
                    m, s = _mult(scale)
                    table, ls = None, 0
                    if method == "lut":
                        ls = softmax_lut_shift(256)
                        table = softmax_table(256, ls)
                    y = ref.softmax(xi[None], m, s, method, table=table, lut_shift=ls, dtype=out_dt,
                                    x_dtype="int8" if method == "tflite" else "int32")[0]
                    p = (y.astype(np.float64) - zp) / 2 ** bits
                errs.append(np.abs(p - pf))
            e = np.concatenate([v.ravel() for v in errs])
            rows.append((method, out_dt, float(e.max()), float(e.mean())))
    return rows


def exp_errors():
    """Relative error of the exp stage alone (e(t)/e(0) vs exp(t)) for t in [-8, 0], Q14 grid."""
    from .export.vit import softmax_lut_shift, softmax_table
    t = -np.arange(0, 8 * 16384 + 1, dtype=np.int64)
    want = np.exp(t / 16384.0)
    rows = []
    for method in ("ibert", "shift", "lut"):
        ls = softmax_lut_shift(256)
        e = ref.softmax_exp(t, method, softmax_table(256, ls), ls).astype(np.float64)
        got = e / e[0]
        rel = np.abs(got - want) / want
        rows.append((method, float(rel.max()), float(rel.mean())))
    return rows


def gelu_errors():
    from .export.vit import gelu_lut_params, gelu_table
    rows = []
    cases = [("int8", 8.0 / 127, np.arange(-128, 128)), ("int16", 2.0 ** -11, np.arange(-32768, 32768, 7))]
    for method in ("ibert", "sigmoid", "lut"):
        for dt, scale, xs in cases:
            m, s = _mult(scale)
            xr = xs * scale
            want = _gelu(xr)
            table, ls, off = None, 0, 0
            if method == "lut":
                ls, off = gelu_lut_params(256)
                table = gelu_table(256, ls, off)
            # the Q12 value g itself: an int16 output at scale 2^-12 (multiplier 2^30, shift 30)
            y12 = ref.gelu(xs.astype(ref.NP_DTYPE[dt]), m, s, 1 << 30, 30, method=method, table=table,
                           lut_shift=ls, lut_offset=off, dtype="int16", lo=None, hi=None)
            ok = np.abs(xr) < 7.9
            e12 = np.abs(y12.astype(np.float64)[ok] / 4096.0 - want[ok])
            so = (float(want.max()) - float(want.min())) / 255.0
            zo = int(np.rint(-128 - want.min() / so))
            om, osh = _mult(2.0 ** -12 / so)
            y8 = ref.gelu(xs.astype(ref.NP_DTYPE[dt]), m, s, om, osh, method=method, table=table, lut_shift=ls,
                          lut_offset=off, out_zero_point=zo, dtype="int8")
            e8 = np.abs((y8.astype(np.float64) - zo) * so - want)
            rows.append((method, dt, scale, float(e12.max()), float(e12.mean()), float(e8.max()), float(e8.mean()),
                         so))
    return rows


def layernorm_errors(seed=1):
    rng = np.random.default_rng(seed)
    rows = []
    for C in (64, 768):
        x = rng.normal(0.0, 1.0, (200, C))
        x[rng.random(x.shape) < 0.01] = 8.0 * np.sign(rng.normal(size=1))
        for dt, scale in (("int8", 8.0 / 127), ("int16", 2.0 ** -12)):
            lo, hi = ref.DTYPE_RANGE[dt]
            xi = np.clip(np.rint(x / scale), lo, hi).astype(ref.NP_DTYPE[dt])
            xr = xi.astype(np.float64) * scale
            mu = xr.mean(axis=1, keepdims=True)
            want = (xr - mu) / np.sqrt(xr.var(axis=1, keepdims=True) + 1e-6)
            for odt, so in (("int16", 2.0 ** -10), ("int8", 4.0 / 127)):
                g = math.sqrt(C) / (2.0 ** 30 * so)
                out_shift = int(math.floor(math.log2(32767.0 / g)))
                gamma = np.full(C, int(round(g * 2 ** out_shift)), np.int16)
                eps = int(round(C * 1e-6 / scale ** 2))
                y = ref.layernorm(xi, gamma, None, out_shift=out_shift, eps=eps, dtype=odt, x_dtype=dt)
                e = np.abs(y.astype(np.float64) * so - np.clip(want, ref.DTYPE_RANGE[odt][0] * so,
                                                                ref.DTYPE_RANGE[odt][1] * so))
                rows.append((C, dt, odt, so, float(e.max()), float(e.mean())))
    return rows


def main():
    print("Softmax, probabilities vs float softmax of the dequantized input (absolute error):\n")
    print("| method | output | max error | mean error |\n|---|---|---|---|")
    for method, odt, mx, mean in softmax_errors():
        print(f"| {method} | {odt} | {mx:.2e} | {mean:.2e} |")
    print("\nExp stage alone, e(t)/e(0) vs exp(t) on t ∈ [-8, 0] (relative error):\n")
    print("| method | max | mean |\n|---|---|---|")
    for method, mx, mean in exp_errors():
        print(f"| {method} | {mx:.2e} | {mean:.2e} |")
    print("\nGELU vs float GELU of the dequantized input (absolute error, real units):\n")
    print("| method | input | Q12 value: max | mean | int8 output: max | mean | (output scale) |\n"
          "|---|---|---|---|---|---|---|")
    for method, dt, scale, m12, a12, m8, a8, so in gelu_errors():
        print(f"| {method} | {dt} at {scale:.3g} | {m12:.2e} | {a12:.2e} | {m8:.2e} | {a8:.2e} | {so:.3g} |")
    print("\nLayernorm (γ = 1, β = 0) vs float layernorm of the dequantized input (absolute error):\n")
    print("| C | input | output | max error | mean error | (output scale) |\n|---|---|---|---|---|---|")
    for C, dt, odt, so, mx, mean in layernorm_errors():
        print(f"| {C} | {dt} | {odt} | {mx:.2e} | {mean:.2e} | {so:.3g} |")


if __name__ == "__main__":
    main()
