"""t2c.reference -- an independent Python implementation of the integer ops of ops/README.md.

Written from ops/README.md alone (not from the C kernels), so that the two implementations can
check each other. Every function computes the README recipe on mathematical integers: int64
NumPy where the value provably fits, Python ints (object arrays) where it might not, float64
BLAS only for dot products whose partial sums are provably below 2^53 (then every partial sum
is an exact integer, whatever the summation order).

Arrays: int4 values live in np.int8, uint4 in np.uint8 (unpacked, one element per byte).
Kernels take a `dtype` name where the numpy dtype cannot tell (int4/uint4).

Errors: bad attributes, shapes, dtypes or data raise OpError ("op 'NAME' (TYPE): ..."); an
accumulator overflow under the "error" policy raises AccumulatorOverflow, which names the op and
the first output coordinate (row-major) whose accumulator left the range.

    run(model, inputs)  -> {tensor name: ndarray} for the graph inputs and every op output
    python3 -m t2c.reference MODEL.t2c INPUT.npy [...] --out DIR
        writes every op output as DIR/<index>_<opname>.npy (index zero-padded to 3 digits).
"""

import argparse
import os
import re
import sys

import numpy as np

ROUNDINGS = ("half_even", "half_up", "half_away", "floor", "tflite")
OVERFLOWS = ("error", "wrap", "saturate")

DTYPE_RANGE = {
    "int4": (-8, 7),
    "uint4": (0, 15),
    "int8": (-128, 127),
    "uint8": (0, 255),
    "int16": (-32768, 32767),
    "int32": (-(1 << 31), (1 << 31) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1),
}
NP_DTYPE = {
    "int4": np.int8,
    "uint4": np.uint8,
    "int8": np.int8,
    "uint8": np.uint8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "float32": np.float32,
}
INT_ACT = ("int4", "uint4", "int8", "uint8")  # "int activations"
INT_WEIGHT = ("int4", "int8")

_I64_MAX = (1 << 63) - 1
_F64_EXACT = 1 << 53  # every integer of magnitude <= 2^53 is a float64


class OpError(Exception):
    """An op cannot run: bad attribute, dtype, shape or data."""

    def __init__(self, label, message):
        self.label = label
        self.message = message
        super().__init__(f"{label}: {message}" if label else message)


class AccumulatorOverflow(OpError):
    """Accumulator left its acc_bits range under overflow = "error"."""

    def __init__(self, label, coordinate, acc_bits):
        self.coordinate = tuple(int(c) for c in coordinate)
        self.acc_bits = acc_bits
        super().__init__(label, f"accumulator overflow (acc_bits = {acc_bits}) at output "
                         f"[{', '.join(str(c) for c in self.coordinate)}]")


def _label(op_type, name):
    return f"op '{name}' ({op_type})" if name else op_type


def _dtype_of(a, dtype):
    """The dtype name of array `a` (int4/uint4 must be given explicitly)."""
    if dtype is not None:
        if dtype not in NP_DTYPE:
            raise ValueError(f"unknown dtype '{dtype}'")
        return dtype
    name = np.asarray(a).dtype.name
    if name not in NP_DTYPE:
        raise ValueError(f"unsupported numpy dtype {name}")
    return name


# ---------------------------------------------------------------------------------------------
# Exact integer helpers
# ---------------------------------------------------------------------------------------------

def _ints(a):
    """int64 array (or an object array of Python ints, kept as is)."""
    a = np.asarray(a)
    if a.dtype == object:
        return a
    if a.dtype == bool or not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"expected an integer array, got {a.dtype}")
    if a.dtype == np.uint64 and a.size and int(a.max()) > _I64_MAX:
        return a.astype(object)
    return a.astype(np.int64)


def _maxabs(a):
    """max |a| as a Python int (0 for an empty array)."""
    a = np.asarray(a)
    if a.size == 0:
        return 0
    if a.dtype == object:
        return max(abs(int(v)) for v in a.flat)
    return max(abs(int(a.max())), abs(int(a.min())))


def _obj(a):
    a = np.asarray(a)
    return a if a.dtype == object else a.astype(np.int64).astype(object)


def _to_i64(a):
    """Back to int64 (the caller guarantees the values fit)."""
    a = np.asarray(a)
    if a.dtype == object:
        return np.array([int(v) for v in a.flat], dtype=np.int64).reshape(a.shape)
    return a.astype(np.int64)


def _exact_add(a, b):
    a, b = _ints(a), _ints(b)
    if a.dtype == object or b.dtype == object or _maxabs(a) + _maxabs(b) > _I64_MAX:
        return _obj(a) + _obj(b)
    return a + b


def _clamp(v, lo, hi):
    """clamp(v, lo, hi) -> int64 (lo, hi are int64-representable)."""
    v = _ints(v)
    if v.dtype == object:
        v = np.where(v < lo, lo, np.where(v > hi, hi, v))
        return _to_i64(v)
    return np.clip(v, lo, hi)


def wrap(v, bits):
    """Reduce to two's complement `bits` bits (1 <= bits <= 63)."""
    v = _ints(v)
    half = 1 << (bits - 1)
    if v.dtype == object:
        return _to_i64(((v + half) % (1 << bits)) - half)
    return ((v + half) & ((1 << bits) - 1)) - half


def _check_mode(mode):
    if mode not in ROUNDINGS:
        raise ValueError(f"rounding mode '{mode}' is not one of: {', '.join(ROUNDINGS)}")


def _check_shift(s):
    if s.size and (int(s.min()) < 0 or int(s.max()) > 62):
        raise ValueError("shift must be in 0..62")


def round_shift(v, s, mode="half_even"):
    """round(v / 2^s) with the README's tie rules; s in 0..62 (broadcasts with v).

    tflite is not a round_shift mode (it is only defined for round_div and scale_round).
    """
    _check_mode(mode)
    if mode == "tflite":
        raise ValueError("round_shift has no 'tflite' mode")
    v, s = _ints(v), _ints(s)
    _check_shift(s)
    if v.dtype == object:
        s = _obj(s)
    q = v >> s                      # floor(v / 2^s): arithmetic shift
    r = v - (q << s)                # 0 <= r < 2^s
    if mode == "floor":
        return q
    h = (np.ones_like(s) << s) >> 1  # 2^(s-1); 0 when s = 0
    pos = s > 0                      # s = 0: result is v (r = h = 0 is not a tie)
    up = (r > h) & pos
    tie = (r == h) & pos
    if mode == "half_even":
        up = up | (tie & ((q & 1) == 1))
    elif mode == "half_up":
        up = up | tie
    else:  # half_away
        up = up | (tie & (v >= 0))
    return np.where(up, q + 1, q)


def round_div(v, d, mode="half_even"):
    """round(v / d), d >= 1, ties (2r = d) by `mode`; tflite behaves as half_away."""
    _check_mode(mode)
    if mode == "tflite":
        mode = "half_away"
    v, d = _ints(v), _ints(d)
    if d.size and int(d.min()) < 1:
        raise ValueError("divisor must be >= 1")
    if v.dtype == object:
        d = _obj(d)
    q = v // d                      # floor division
    r = v - q * d                   # 0 <= r < d
    if mode == "floor":
        return q
    up = 2 * r > d
    tie = 2 * r == d
    if mode == "half_even":
        up = up | (tie & ((q & 1) == 1))
    elif mode == "half_up":
        up = up | tie
    else:
        up = up | (tie & (v >= 0))
    return np.where(up, q + 1, q)


def srdhm(x, m):
    """TFLite SaturatingRoundingDoublingHighMul on int32 x and m (as in README's tflite mode)."""
    x, m = np.broadcast_arrays(_ints(x), _ints(m))
    x, m = _to_i64(x), _to_i64(m)
    p = x * m                                           # |p| <= 2^62: exact in int64
    num = p + np.where(p >= 0, 1 << 30, 1 - (1 << 30))
    t = np.where(num >= 0, num >> 31, -((-num) >> 31))  # division truncating toward zero
    return np.where((x == -(1 << 31)) & (m == -(1 << 31)), (1 << 31) - 1, t)


def rdbpot(t, r):
    """TFLite RoundingDivideByPOT: t / 2^r rounded, ties away from zero (0 <= r <= 62)."""
    t, r = _to_i64(_ints(t)), _to_i64(_ints(r))
    mask = (np.ones_like(r) << r) - 1
    threshold = (mask >> 1) + (t < 0)
    return (t >> r) + ((t & mask) > threshold)


def _scale_round_tflite(v, m, b, s):
    if _maxabs(b) != 0:
        raise ValueError("tflite rounding requires offset 0")
    if m.size and (int(m.min()) < 0 or int(m.max()) >= (1 << 31)):
        raise ValueError("tflite rounding requires 0 <= multiplier < 2^31")
    if v.size and (int(np.min(v)) < -(1 << 31) or int(np.max(v)) > (1 << 31) - 1):
        raise ValueError("tflite rounding requires the value in int32")
    v, m, s = _to_i64(v), _to_i64(m), _to_i64(s)
    left = np.maximum(0, 31 - s)
    right = np.maximum(0, s - 31)
    x = wrap(v << left, 32)          # |v| * 2^31 <= 2^62: no int64 overflow before wrapping
    return rdbpot(srdhm(x, m), right)


def scale_round(v, m, b, s, mode="half_even"):
    """Multiply by m / 2^s and round (README scale_round); all arguments broadcast.

    Non-tflite modes compute round_shift(v*m + b, s) exactly (Python ints if int64 could
    overflow). Returns int64, or an object array when the result does not fit int64.
    """
    _check_mode(mode)
    v, m, b, s = _ints(v), _ints(m), _ints(b), _ints(s)
    _check_shift(s)
    if mode == "tflite":
        return _scale_round_tflite(v, m, b, s)
    if (v.dtype == object or m.dtype == object or b.dtype == object
            or _maxabs(v) * _maxabs(m) + _maxabs(b) > _I64_MAX):
        v, m, b = _obj(v), _obj(m), _obj(b)
    r = round_shift(v * m + b, s, mode)
    if r.dtype == object and _maxabs(r) <= _I64_MAX:
        r = _to_i64(r)
    return r


# ---------------------------------------------------------------------------------------------
# Accumulator
# ---------------------------------------------------------------------------------------------

def _check_acc(label, acc_bits, overflow):
    if not isinstance(acc_bits, (int, np.integer)) or not 2 <= acc_bits <= 32:
        raise OpError(label, f"acc_bits = {acc_bits} is outside [2, 32]")
    if overflow not in OVERFLOWS:
        raise OpError(label, f"overflow = '{overflow}' is not one of: {', '.join(OVERFLOWS)}")


def _matmul_exact(label, a, b, bound):
    """a @ b (int64, broadcasting) where every |partial sum| <= bound."""
    if bound < _F64_EXACT:
        return np.matmul(a.astype(np.float64), b.astype(np.float64)).astype(np.int64)
    if bound <= _I64_MAX:
        return np.matmul(a.astype(np.int64), b.astype(np.int64))
    raise OpError(label, "dot product magnitude exceeds int64")


def _accumulate(label, total, coarse, fine, terms, acc_bits, overflow, chunk=2048):
    """Apply the accumulator policy of README "Accumulator".

    total:  exact sums (bias + all products), output-shaped int64.
    coarse: a Python int bounding |bias| + sum |products| for every output.
    fine(): the per-output bound |bias| + sum |products| (int64 array), asked for only when the
            coarse bound does not already prove that no partial sum can leave the range.
    terms(flat_indices) -> (bias[F], products[F, K]) in the recipe's summation order.
    """
    if overflow == "wrap":          # order-independent: wrap the exact total once
        return wrap(total, acc_bits)
    hi = (1 << (acc_bits - 1)) - 1
    lo = -hi - 1
    if coarse <= hi:                # no partial sum can leave [lo, hi]
        return total
    risky = np.flatnonzero(fine() > hi)
    out = total.reshape(-1).copy()
    for start in range(0, risky.size, chunk):
        idx = risky[start:start + chunk]
        bias, prods = terms(idx)
        bias = bias.astype(np.int64)
        prods = prods.astype(np.int64)
        if overflow == "error":
            partial = np.cumsum(np.concatenate([bias[:, None], prods], axis=1), axis=1)
            bad = ((partial < lo) | (partial > hi)).any(axis=1)
            if bad.any():
                first = idx[int(np.argmax(bad))]
                raise AccumulatorOverflow(label, np.unravel_index(first, total.shape), acc_bits)
            out[idx] = partial[:, -1]
        else:  # saturate, in the stated order, clamping after the bias and after every product
            acc = np.clip(bias, lo, hi)
            for k in range(prods.shape[1]):
                acc = np.clip(acc + prods[:, k], lo, hi)
            out[idx] = acc
    return out.reshape(total.shape)


# ---------------------------------------------------------------------------------------------
# Ops (README order)
# ---------------------------------------------------------------------------------------------

def _out_range(label, dtype, lo, hi):
    dlo, dhi = DTYPE_RANGE[dtype]
    lo = dlo if lo is None else int(lo)
    hi = dhi if hi is None else int(hi)
    if not dlo <= lo <= hi <= dhi:
        raise OpError(label, f"lo/hi = {lo}/{hi} must satisfy {dlo} <= lo <= hi <= {dhi} ({dtype})")
    return lo, hi


def quantize(x, scale, zero_point=0, lo=None, hi=None, dtype="int8", name=None):
    """float32 -> int, in binary32: y = clamp(nearbyint(x * (1.0f / (float)scale)) + zp, lo, hi).

    NaN gives zero_point (as is, not clamped to lo/hi); +-inf and huge values clamp.
    """
    label = _label("quantize", name)
    if dtype not in ("int4", "uint4", "int8", "uint8", "int16"):
        raise OpError(label, f"output dtype {dtype} is not int4/uint4/int8/uint8/int16")
    if not scale > 0:
        raise OpError(label, f"scale = {scale} must be > 0")
    dlo, dhi = DTYPE_RANGE[dtype]
    if not dlo <= zero_point <= dhi:
        raise OpError(label, f"zero_point = {zero_point} is outside the {dtype} range")
    lo, hi = _out_range(label, dtype, lo, hi)
    x = np.asarray(x)
    if x.dtype != np.float32:
        raise OpError(label, f"input must be float32, not {x.dtype}")
    with np.errstate(all="ignore"):
        inv = np.float32(1.0) / np.float32(scale)   # (float)scale, then a binary32 division
        t = x * inv                                 # binary32 product
        r = np.rint(t)                              # nearbyint: ties to even
        nan = np.isnan(r)
        # |r| >= 2^24 clamps whatever the zero point, so float64 addition is exact enough here
        y = np.clip(np.where(nan, 0.0, r.astype(np.float64)) + zero_point, lo, hi)
    y = np.where(nan, zero_point, y)
    return y.astype(NP_DTYPE[dtype])


def dequantize(x, scale, zero_point=0, name=None):
    """int -> float32: y = (float)(x - zero_point) * (float)scale, in binary32."""
    label = _label("dequantize", name)
    if not scale > 0:
        raise OpError(label, f"scale = {scale} must be > 0")
    d = _ints(x) - int(zero_point)
    with np.errstate(all="ignore"):
        return d.astype(np.float32) * np.float32(scale)


def _pair(label, what, v, lo=1):
    v = [int(e) for e in v]
    if len(v) != 2 or min(v) < lo:
        raise OpError(label, f"{what} must be 2 ints >= {lo}, got {v}")
    return v


def _pads(label, pads):
    pads = [int(e) for e in pads]
    if len(pads) != 4 or min(pads) < 0:
        raise OpError(label, f"pads must be 4 ints >= 0 [top, left, bottom, right], got {pads}")
    return pads


def _out_size(label, size, before, after, k, d, s):
    o = (size + before + after - d * (k - 1) - 1) // s + 1
    if o < 1:
        raise OpError(label, "the window does not fit the padded input (output size < 1)")
    return o


def conv2d(x, w, b=None, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1), group=1,
           x_zero_point=0, w_zero_point=0, acc_bits=32, overflow="error", name=None):
    """README conv2d: x [N, Cin, H, W], w [Cout, Cin/group, KH, KW], b [Cout] -> int32."""
    label = _label("conv2d", name)
    _check_acc(label, acc_bits, overflow)
    x, w = _ints(x), _ints(w)
    if x.ndim != 4 or w.ndim != 4:
        raise OpError(label, "input and weight must be rank 4")
    n_, cin, h, wd = x.shape
    cout, cg, kh_, kw_ = w.shape
    sh, sw = _pair(label, "strides", strides)
    dh, dw = _pair(label, "dilations", dilations)
    top, left, bottom, right = _pads(label, pads)
    if group < 1 or cin % group or cout % group or cg != cin // group:
        raise OpError(label, f"group = {group} does not fit Cin = {cin}, Cout = {cout}, "
                      f"weight dim 1 = {cg}")
    ho = _out_size(label, h, top, bottom, kh_, dh, sh)
    wo = _out_size(label, wd, left, right, kw_, dw, sw)
    bias = np.zeros(cout, np.int64) if b is None else _ints(b).reshape(-1)
    if bias.shape != (cout,):
        raise OpError(label, f"bias must have {cout} elements")
    mg = cout // group
    k = cg * kh_ * kw_

    xs = x - int(x_zero_point)
    ws = w - int(w_zero_point)
    # padded positions hold x_zero_point, i.e. 0 after subtracting it
    xp = np.pad(xs, ((0, 0), (0, 0), (top, bottom), (left, right)))
    cols = np.empty((n_, cin, kh_, kw_, ho, wo), np.int64)
    for kh in range(kh_):
        for kw in range(kw_):
            cols[:, :, kh, kw] = xp[:, :, kh * dh: kh * dh + (ho - 1) * sh + 1: sh,
                                    kw * dw: kw * dw + (wo - 1) * sw + 1: sw]
    cols = cols.reshape(n_, group, k, ho * wo)        # k in (ci, kh, kw) order
    wm = ws.reshape(group, mg, k)

    mx = _maxabs(xs)
    wsum = np.abs(ws).reshape(cout, k).sum(axis=1)
    dot_bound = mx * int(wsum.max())
    total = _matmul_exact(label, wm[None], cols, dot_bound).reshape(n_, cout, ho, wo)
    total = total + bias[None, :, None, None]
    coarse = max(abs(int(bias[c])) + mx * int(wsum[c]) for c in range(cout))

    def fine():
        s = _matmul_exact(label, np.abs(wm)[None], np.abs(cols), dot_bound)
        return s.reshape(n_, cout, ho, wo) + np.abs(bias)[None, :, None, None]

    def terms(idx):
        n, co, oh, ow = np.unravel_index(idx, (n_, cout, ho, wo))
        c = (co // mg)[:, None] * cg + np.arange(cg)[None, :]
        ih = oh[:, None] * sh + np.arange(kh_)[None, :] * dh   # padded coordinates
        iw = ow[:, None] * sw + np.arange(kw_)[None, :] * dw
        xv = xp[n[:, None, None, None], c[:, :, None, None], ih[:, None, :, None],
                iw[:, None, None, :]]
        return bias[co], (xv * ws[co]).reshape(idx.size, k)

    y = _accumulate(label, total, coarse, fine, terms, acc_bits, overflow)
    return y.astype(np.int32)


def linear(x, w, b=None, x_zero_point=0, w_zero_point=0, acc_bits=32, overflow="error",
           name=None):
    """README linear: x [N, ..., K], w [M, K], b [M] -> int32 [N, ..., M]."""
    label = _label("linear", name)
    _check_acc(label, acc_bits, overflow)
    x, w = _ints(x), _ints(w)
    if x.ndim < 2 or w.ndim != 2 or x.shape[-1] != w.shape[1]:
        raise OpError(label, f"shapes {x.shape} and {w.shape} do not fit [N, ..., K] x [M, K]")
    m_, k = w.shape
    bias = np.zeros(m_, np.int64) if b is None else _ints(b).reshape(-1)
    if bias.shape != (m_,):
        raise OpError(label, f"bias must have {m_} elements")
    xs = (x - int(x_zero_point)).reshape(-1, k)
    ws = w - int(w_zero_point)
    mx = _maxabs(xs)
    wsum = np.abs(ws).sum(axis=1)
    dot_bound = mx * int(wsum.max())
    total = _matmul_exact(label, xs, ws.T, dot_bound) + bias[None, :]
    coarse = max(abs(int(bias[m])) + mx * int(wsum[m]) for m in range(m_))

    def fine():
        return _matmul_exact(label, np.abs(xs), np.abs(ws).T, dot_bound) + np.abs(bias)[None, :]

    def terms(idx):
        row, m = idx // m_, idx % m_
        return bias[m], xs[row] * ws[m]

    y = _accumulate(label, total, coarse, fine, terms, acc_bits, overflow)
    return y.reshape(x.shape[:-1] + (m_,)).astype(np.int32)


def matmul(a, b, a_zero_point=0, b_zero_point=0, transpose_b=0, acc_bits=32, overflow="error",
           name=None):
    """README matmul: a [B..., M, K] x b [B..., K, N] (or [B..., N, K] transposed) -> int32."""
    label = _label("matmul", name)
    _check_acc(label, acc_bits, overflow)
    a, b = _ints(a), _ints(b)
    if transpose_b not in (0, 1):
        raise OpError(label, f"transpose_b = {transpose_b} must be 0 or 1")
    if a.ndim < 2 or a.ndim != b.ndim or a.shape[:-2] != b.shape[:-2]:
        raise OpError(label, f"shapes {a.shape} and {b.shape}: same rank >= 2 and equal "
                      "leading dims required")
    bs = b - int(b_zero_point)
    if transpose_b:
        bs = np.swapaxes(bs, -1, -2)
    m_, k = a.shape[-2:]
    if bs.shape[-2] != k:
        raise OpError(label, f"inner dims differ: {a.shape} x {b.shape}")
    n_ = bs.shape[-1]
    lead = a.shape[:-2]
    am = (a - int(a_zero_point)).reshape(-1, m_, k)
    bm = np.ascontiguousarray(bs).reshape(-1, k, n_)
    coarse = k * _maxabs(am) * _maxabs(bm)
    total = _matmul_exact(label, am, bm, coarse).reshape(lead + (m_, n_))

    def fine():
        return _matmul_exact(label, np.abs(am), np.abs(bm), coarse).reshape(total.shape)

    def terms(idx):
        p, m, n = np.unravel_index(idx, (am.shape[0], m_, n_))
        return np.zeros(idx.size, np.int64), am[p, m, :] * bm[p, :, n]

    return _accumulate(label, total, coarse, fine, terms, acc_bits, overflow).astype(np.int32)


def _per_channel(label, x, axis, params):
    """Reshape 1-or-C value lists so they broadcast along `axis` of x."""
    counts = {len(p) for p in params.values() if len(p) > 1}
    if any(len(p) < 1 for p in params.values()):
        raise OpError(label, "per-channel attributes need at least one value")
    if len(counts) > 1:
        raise OpError(label, "per-channel attributes have different value counts")
    out = {}
    if counts:
        c = counts.pop()
        if not 0 <= axis < x.ndim or x.shape[axis] != c:
            raise OpError(label, f"axis = {axis}: dims[axis] must equal {c} for shape {x.shape}")
        shape = [1] * x.ndim
        shape[axis] = c
    for key, p in params.items():
        arr = np.array([int(e) for e in p], dtype=object)
        if _maxabs(arr) <= _I64_MAX:
            arr = arr.astype(np.int64)
        out[key] = arr.reshape(shape) if len(p) > 1 else arr.reshape(())
    return out


def requantize(x, multiplier, shift, offset=(0,), zero_point=0, lo=None, hi=None,
               rounding="half_even", axis=1, dtype="int8", name=None):
    """y = clamp(scale_round(x, multiplier[c], offset[c], shift[c], rounding) + zp, lo, hi)."""
    label = _label("requantize", name)
    if dtype not in ("int4", "uint4", "int8", "uint8", "int16", "int32"):
        raise OpError(label, f"output dtype {dtype} is not allowed")
    if rounding not in ROUNDINGS:
        raise OpError(label, f"rounding = '{rounding}' is not one of: {', '.join(ROUNDINGS)}")
    lo, hi = _out_range(label, dtype, lo, hi)
    x = _ints(x)
    p = _per_channel(label, x, axis, {"multiplier": list(multiplier), "shift": list(shift),
                                      "offset": list(offset)})
    if _maxabs(p["multiplier"]) >= (1 << 31):
        raise OpError(label, "|multiplier| must be < 2^31")
    if _maxabs(p["offset"]) >= (1 << 62):
        raise OpError(label, "|offset| must be < 2^62")
    try:
        v = scale_round(x, p["multiplier"], p["offset"], p["shift"], rounding)
    except ValueError as e:
        raise OpError(label, str(e)) from None
    return _clamp(_exact_add(v, np.int64(zero_point)), lo, hi).astype(NP_DTYPE[dtype])


def add(a, b, a_zero_point=0, b_zero_point=0, left_shift=0, a_multiplier=1, a_shift=0,
        b_multiplier=1, b_shift=0, out_multiplier=1, out_shift=0, out_zero_point=0,
        rounding="half_even", lo=None, hi=None, dtype="int8", name=None):
    """README add (residual), including TFLite-style rescaling."""
    label = _label("add", name)
    if dtype not in ("int4", "uint4", "int8", "uint8", "int16"):
        raise OpError(label, f"output dtype {dtype} is not allowed")
    if rounding not in ROUNDINGS:
        raise OpError(label, f"rounding = '{rounding}' is not one of: {', '.join(ROUNDINGS)}")
    if not 0 <= left_shift <= 30:
        raise OpError(label, f"left_shift = {left_shift} is outside [0, 30]")
    for nm, mv in (("a_multiplier", a_multiplier), ("b_multiplier", b_multiplier),
                   ("out_multiplier", out_multiplier)):
        if abs(mv) >= (1 << 31):
            raise OpError(label, f"|{nm}| must be < 2^31")
    lo, hi = _out_range(label, dtype, lo, hi)
    a, b = _ints(a), _ints(b)
    if a.shape != b.shape:
        raise OpError(label, f"input shapes differ: {a.shape} vs {b.shape}")
    a1 = (a - int(a_zero_point)) << left_shift     # |a1| < 2^17 * 2^30: int64
    b1 = (b - int(b_zero_point)) << left_shift
    try:
        a2 = scale_round(a1, a_multiplier, 0, a_shift, rounding)
        b2 = scale_round(b1, b_multiplier, 0, b_shift, rounding)
        v = scale_round(_exact_add(a2, b2), out_multiplier, 0, out_shift, rounding)
    except ValueError as e:
        raise OpError(label, str(e)) from None
    return _clamp(_exact_add(v, np.int64(out_zero_point)), lo, hi).astype(NP_DTYPE[dtype])


def relu(x, zero_point=0, name=None):
    """y = max(x, zero_point), same dtype."""
    x = np.asarray(x)
    return np.maximum(_ints(x), int(zero_point)).astype(x.dtype)


def clamp(x, lo=None, hi=None, dtype=None, name=None):
    """y = clamp(x, lo, hi), lo/hi default to the dtype's range."""
    label = _label("clamp", name)
    x = np.asarray(x)
    lo, hi = _out_range(label, _dtype_of(x, dtype), lo, hi)
    return np.clip(_ints(x), lo, hi).astype(x.dtype)


def _pool_geometry(label, x, kernel, strides, pads, dilations):
    x = _ints(x)
    if x.ndim != 4:
        raise OpError(label, "input must be [N, C, H, W]")
    kh_, kw_ = _pair(label, "kernel", kernel)
    sh, sw = _pair(label, "strides", kernel if strides is None else strides)
    dh, dw = _pair(label, "dilations", dilations)
    pads = _pads(label, pads)
    ho = _out_size(label, x.shape[2], pads[0], pads[2], kh_, dh, sh)
    wo = _out_size(label, x.shape[3], pads[1], pads[3], kw_, dw, sw)
    return x, (kh_, kw_), (sh, sw), pads, (dh, dw), (ho, wo)


def _windows(xp, k, s, d, o):
    """Yield xp[:, :, oh*sh + kh*dh, ow*sw + kw*dw] over (oh, ow) for each (kh, kw)."""
    for kh in range(k[0]):
        for kw in range(k[1]):
            yield xp[:, :, kh * d[0]: kh * d[0] + (o[0] - 1) * s[0] + 1: s[0],
                     kw * d[1]: kw * d[1] + (o[1] - 1) * s[1] + 1: s[1]]


def maxpool2d(x, kernel, strides=None, pads=(0, 0, 0, 0), dilations=(1, 1), name=None):
    """Max over the window positions inside the input (padding never wins)."""
    label = _label("maxpool2d", name)
    dt = np.asarray(x).dtype
    x, k, s, p, d, o = _pool_geometry(label, x, kernel, strides, pads, dilations)
    if p[0] >= k[0] or p[2] >= k[0] or p[1] >= k[1] or p[3] >= k[1]:
        raise OpError(label, f"pads {p} must each be < kernel {list(k)}")
    none = np.iinfo(np.int64).min
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])), constant_values=none)
    y = np.full(x.shape[:2] + o, none, np.int64)
    for win in _windows(xp, k, s, d, o):
        np.maximum(y, win, out=y)
    if (y == none).any():
        raise OpError(label, "a window holds no input element")
    return y.astype(dt)


def avgpool2d(x, kernel, strides=None, pads=(0, 0, 0, 0), count_include_pad=0, x_zero_point=0,
              rounding="half_even", multiplier=None, shift=None, dtype=None, name=None):
    """README avgpool2d; sum and n run over the counted positions (see the README)."""
    label = _label("avgpool2d", name)
    dt = np.asarray(x).dtype
    dtype = _dtype_of(x, dtype)
    if rounding not in ROUNDINGS:
        raise OpError(label, f"rounding = '{rounding}' is not one of: {', '.join(ROUNDINGS)}")
    if count_include_pad not in (0, 1):
        raise OpError(label, "count_include_pad must be 0 or 1")
    if (multiplier is None) != (shift is None):
        raise OpError(label, "multiplier and shift go together")
    x, k, s, p, d, o = _pool_geometry(label, x, kernel, strides, pads, (1, 1))
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])))
    inside = np.pad(np.ones(x.shape[2:], np.int64), ((p[0], p[2]), (p[1], p[3])))[None, None]
    total = np.zeros(x.shape[:2] + o, np.int64)
    count = np.zeros((1, 1) + o, np.int64)
    for win in _windows(xp, k, s, (1, 1), o):
        total += win
    for win in _windows(inside, k, s, (1, 1), o):
        count += win
    n = count
    if count_include_pad:
        n_pad = k[0] * k[1] - count                     # padded positions in each window
        total = total + n_pad * int(x_zero_point)
        n = count + n_pad
    if (n == 0).any():
        raise OpError(label, "a window counts no position")
    try:
        if multiplier is None:
            y = round_div(total, n, rounding)
        else:
            if (n != n.flat[0]).any():
                raise OpError(label, "multiplier given but windows count different n")
            if abs(int(multiplier)) >= (1 << 31):
                raise OpError(label, "|multiplier| must be < 2^31")
            y = scale_round(total, int(multiplier), 0, int(shift), rounding)
    except ValueError as e:
        raise OpError(label, str(e)) from None
    return _clamp(y, *DTYPE_RANGE[dtype]).astype(dt)


def global_avgpool(x, rounding="half_even", multiplier=None, shift=None, dtype=None, name=None):
    """Mean over H, W -> [N, C, 1, 1], clamped to the dtype's range."""
    label = _label("global_avgpool", name)
    dt = np.asarray(x).dtype
    dtype = _dtype_of(x, dtype)
    if rounding not in ROUNDINGS:
        raise OpError(label, f"rounding = '{rounding}' is not one of: {', '.join(ROUNDINGS)}")
    if (multiplier is None) != (shift is None):
        raise OpError(label, "multiplier and shift go together")
    x = _ints(x)
    if x.ndim != 4:
        raise OpError(label, "input must be [N, C, H, W]")
    total = x.sum(axis=(2, 3), keepdims=True)
    try:
        if multiplier is None:
            y = round_div(total, x.shape[2] * x.shape[3], rounding)
        else:
            if abs(int(multiplier)) >= (1 << 31):
                raise OpError(label, "|multiplier| must be < 2^31")
            y = scale_round(total, int(multiplier), 0, int(shift), rounding)
    except ValueError as e:
        raise OpError(label, str(e)) from None
    return _clamp(y, *DTYPE_RANGE[dtype]).astype(dt)


def flatten(x, axis=1, name=None):
    """Merge dims axis..rank-1 (axis in 1..rank-1)."""
    x = np.asarray(x)
    if not 1 <= axis <= x.ndim - 1:
        raise OpError(_label("flatten", name), f"axis = {axis} is outside [1, {x.ndim - 1}]")
    return x.reshape(x.shape[:axis] + (int(np.prod(x.shape[axis:])),))


def reshape(x, shape, name=None):
    """[N] + shape, at most one -1 (inferred)."""
    label = _label("reshape", name)
    x = np.asarray(x)
    shape = [int(e) for e in shape]
    if shape.count(-1) > 1 or any(e < 1 and e != -1 for e in shape):
        raise OpError(label, f"shape {shape}: dims must be >= 1 with at most one -1")
    per_item = x.size // x.shape[0] if x.shape[0] else 0
    known = int(np.prod([e for e in shape if e != -1]))
    if -1 in shape:
        if known == 0 or per_item % known:
            raise OpError(label, f"cannot infer -1 in {shape} for {per_item} elements")
        shape[shape.index(-1)] = per_item // known
    if int(np.prod(shape)) != per_item:
        raise OpError(label, f"shape {shape} does not hold {per_item} elements")
    return x.reshape([x.shape[0]] + shape)


def concat(xs, axis, name=None):
    """Concatenate along axis (1..rank-1; negative counts from the end)."""
    label = _label("concat", name)
    xs = [np.asarray(x) for x in xs]
    if not 1 <= len(xs) <= 64:
        raise OpError(label, "1..64 inputs required")
    rank = xs[0].ndim
    ax = axis + rank if axis < 0 else axis
    if not 1 <= ax <= rank - 1:
        raise OpError(label, f"axis = {axis} is outside [1, {rank - 1}] (or its negative form)")
    for x in xs[1:]:
        if x.dtype != xs[0].dtype or x.ndim != rank or any(
                x.shape[i] != xs[0].shape[i] for i in range(rank) if i != ax):
            raise OpError(label, "inputs differ in dtype, rank or a dim other than axis")
    return np.concatenate(xs, axis=ax)


# ---------------------------------------------------------------------------------------------
# Float32 compat ops (ops/README.md "Float32 compat ops (Torch2Chip)"): binary32 / binary64
# recipes, each step a separate NumPy operation in the README's order (NumPy rounds every
# float32 and float64 operation to nearest-even and never fuses a multiply with an add).
# ---------------------------------------------------------------------------------------------

_F32 = np.float32


def _relu_step(w):
    """w < 0 ? +0.0 : w  (-0.0 and NaN pass through)."""
    return np.where(w < 0, _F32(0.0), w).astype(np.float32)


def _check_binary32(label, what, values):
    out = []
    for v in values:
        v = float(v)
        if not np.isfinite(v) or float(_F32(v)) != v:
            raise OpError(label, f"{what} value {v!r} is not a finite binary32 value")
        out.append(_F32(v))
    return out


def conv2d_f32(x, w, b=None, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1), group=1, name=None):
    """float32 (or int activation) x int weights -> float32: binary64 sum in recipe order, one rounding."""
    label = _label("conv2d_f32", name)
    x, w = np.asarray(x), np.asarray(w)
    if x.ndim != 4 or w.ndim != 4:
        raise OpError(label, "input and weight must have rank 4")
    sh, sw = _pair(label, "strides", strides)
    dh, dw = _pair(label, "dilations", dilations)
    top, left, bottom, right = _pads(label, pads)
    N, Cin, H, W = x.shape
    Cout, cin_g, KH, KW = w.shape
    if group < 1 or Cin % group or Cout % group or cin_g != Cin // group:
        raise OpError(label, f"group = {group} does not fit input {list(x.shape)} and weight {list(w.shape)}")
    Ho = _out_size(label, H, top, bottom, KH, dh, sh)
    Wo = _out_size(label, W, left, right, KW, dw, sw)
    cout_g = Cout // group
    xd = x.astype(np.float64)                      # exact for float32 and integer inputs
    acc = np.zeros((N, Cout, Ho, Wo), np.float64)
    if b is not None:
        b = np.asarray(b)
        if b.dtype != np.float32 or b.shape != (Cout,):
            raise OpError(label, f"bias must be float32 [{Cout}]")
        acc += b.astype(np.float64)[None, :, None, None]
    oh, ow = np.arange(Ho), np.arange(Wo)
    for ci in range(cin_g):
        chan = (np.arange(Cout) // cout_g) * cin_g + ci      # input channel read by each co
        for kh in range(KH):
            ih = oh * sh - top + kh * dh
            rows_ok = (ih >= 0) & (ih < H)
            for kw in range(KW):
                iw = ow * sw - left + kw * dw
                cols_ok = (iw >= 0) & (iw < W)
                mask = rows_ok[:, None] & cols_ok[None, :]
                if not mask.any():
                    continue
                xs = xd[:, chan][:, :, np.clip(ih, 0, H - 1)][:, :, :, np.clip(iw, 0, W - 1)]
                prod = xs * w[:, ci, kh, kw].astype(np.float64)[None, :, None, None]   # exact
                acc = np.where(mask[None, None], acc + prod, acc)  # skipped taps add nothing
    return acc.astype(np.float32)


def mulshift_f32(x, scale, bias=(0.0,), shift=0, relu=0, axis=1, name=None):
    """((float)x * scale[c] + bias[c]) * 2^-shift, each step rounded to binary32; optional relu."""
    label = _label("mulshift_f32", name)
    x = np.asarray(x)
    if x.dtype not in (np.int32, np.float32):
        raise OpError(label, f"input must be int32 or float32, not {x.dtype}")
    if x.ndim < 1 or not 0 <= axis < x.ndim:
        raise OpError(label, f"axis = {axis} is outside 0..{x.ndim - 1}")
    if not 0 <= shift <= 126 or relu not in (0, 1):
        raise OpError(label, f"shift = {shift} must be 0..126 and relu = {relu} 0 or 1")
    C = x.shape[axis]
    scale = np.atleast_1d(scale)
    bias = np.atleast_1d(bias)
    if len(scale) not in (1, C) or len(bias) not in (1, C):
        raise OpError(label, f"'scale' and 'bias' need 1 or {C} values")
    shape = [1] * x.ndim
    shape[axis] = -1
    s = np.array(_check_binary32(label, "scale", scale), np.float32).reshape(shape)
    b = np.array(_check_binary32(label, "bias", bias), np.float32).reshape(shape)
    with np.errstate(all="ignore"):
        t = x.astype(np.float32)             # int32 -> nearest binary32 (ties to even)
        u = t * s
        v = u + b
        w = v * _F32(2.0 ** -shift)
    return _relu_step(w) if relu else w.astype(np.float32)


def add_f32(a, b, relu=0, name=None):
    """a + b in binary32, optional relu."""
    label = _label("add_f32", name)
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != np.float32 or b.dtype != np.float32:
        raise OpError(label, "inputs must be float32")
    if a.shape != b.shape:
        raise OpError(label, f"input shapes {list(a.shape)} and {list(b.shape)} differ")
    with np.errstate(all="ignore"):
        w = a + b
    return _relu_step(w) if relu else w


def maxpool2d_f32(x, kernel, strides=None, pads=(0, 0, 0, 0), dilations=(1, 1), name=None):
    """Max over each window's in-input positions, row-major scan, m = v if v > m or v is NaN."""
    label = _label("maxpool2d_f32", name)
    x = np.asarray(x)
    if x.dtype != np.float32 or x.ndim != 4:
        raise OpError(label, "input must be float32 [N, C, H, W]")
    kh_, kw_ = _pair(label, "kernel", kernel)
    sh, sw = _pair(label, "strides", kernel if strides is None else strides)
    dh, dw = _pair(label, "dilations", dilations)
    top, left, bottom, right = _pads(label, pads)
    if top >= kh_ or bottom >= kh_ or left >= kw_ or right >= kw_:
        raise OpError(label, "pads must be below the kernel")
    N, C, H, W = x.shape
    Ho = _out_size(label, H, top, bottom, kh_, dh, sh)
    Wo = _out_size(label, W, left, right, kw_, dw, sw)
    m = np.zeros((N, C, Ho, Wo), np.float32)
    have = np.zeros((Ho, Wo), bool)
    oh, ow = np.arange(Ho), np.arange(Wo)
    for kh in range(kh_):
        ih = oh * sh - top + kh * dh
        for kw in range(kw_):
            iw = ow * sw - left + kw * dw
            inside = ((ih >= 0) & (ih < H))[:, None] & ((iw >= 0) & (iw < W))[None, :]
            v = x[:, :, np.clip(ih, 0, H - 1)][:, :, :, np.clip(iw, 0, W - 1)]
            take = inside[None, None] & (~have[None, None] | (v > m) | np.isnan(v))
            m = np.where(take, v, m)
            have |= inside
    if not have.all():
        raise OpError(label, "a window lies entirely in padding")
    return m


def global_avgpool_f32(x, name=None):
    """(float)(binary64 row-major sum) / (float)(H*W) in binary32 -> [N, C, 1, 1]."""
    label = _label("global_avgpool_f32", name)
    x = np.asarray(x)
    if x.dtype != np.float32 or x.ndim != 4:
        raise OpError(label, "input must be float32 [N, C, H, W]")
    N, C, H, W = x.shape
    if not 1 <= H * W <= 1 << 24:
        raise OpError(label, "H*W must be 1 .. 2^24")
    s = np.zeros((N, C), np.float64)
    for h in range(H):
        for w in range(W):
            s = s + x[:, :, h, w].astype(np.float64)
    with np.errstate(all="ignore"):
        y = s.astype(np.float32) / _F32(H * W)
    return y.reshape(N, C, 1, 1)


# ---------------------------------------------------------------------------------------------
# Executor
# ---------------------------------------------------------------------------------------------

_REQUIRED = object()


class _Node:
    """One op being run: its arrays, declared dtypes and typed attribute access."""

    def __init__(self, op, ins, in_dtypes, out_dtypes):
        self.op = op
        self.label = _label(op.type, op.name)
        self.ins = ins
        self.in_dtypes = in_dtypes
        self.out_dtypes = out_dtypes
        self.attrs = dict(op.attrs or {})

    def fail(self, msg):
        raise OpError(self.label, msg)

    def _get(self, key, default):
        if key not in self.attrs:
            if default is _REQUIRED:
                self.fail(f"required attribute '{key}' is missing")
            return default, False
        return self.attrs[key], True

    def int(self, key, default=_REQUIRED, lo=None, hi=None):
        v, present = self._get(key, default)
        if not present:
            return v
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            self.fail(f"attribute '{key}' must be an int")
        v = int(v)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            self.fail(f"attribute '{key}' = {v} is outside [{lo}, {hi}]")
        return v

    def ints(self, key, default=_REQUIRED, count=None, lo=None, hi=None):
        v, present = self._get(key, default)
        if not present:
            return v
        if not isinstance(v, (list, tuple, np.ndarray)) or any(
                isinstance(e, bool) or not isinstance(e, (int, np.integer)) for e in v):
            self.fail(f"attribute '{key}' must be an int array")
        v = [int(e) for e in v]
        if len(v) < 1 or (count is not None and len(v) != count):
            self.fail(f"attribute '{key}' has {len(v)} values, expected {count or 'at least 1'}")
        for e in v:
            if (lo is not None and e < lo) or (hi is not None and e > hi):
                self.fail(f"attribute '{key}' value {e} is outside [{lo}, {hi}]")
        return v

    def float(self, key, default=_REQUIRED):
        v, present = self._get(key, default)
        if present and (isinstance(v, bool) or not isinstance(v, (float, np.floating))):
            self.fail(f"attribute '{key}' must be a float")
        return float(v)

    def enum(self, key, default, names):
        v, present = self._get(key, default)
        if present and v not in names:
            self.fail(f"attribute '{key}' = '{v}' is not one of: {', '.join(names)}")
        return v

    def dtype_in(self, i, allowed, role):
        if self.in_dtypes[i] not in allowed:
            self.fail(f"{role} dtype {self.in_dtypes[i]} is not one of: {', '.join(allowed)}")

    def zero_point(self, key, dtype, default=0):
        """A zero point, checked against the range of the tensor it belongs to."""
        if dtype not in DTYPE_RANGE:
            self.fail(f"dtype {dtype} is not allowed here")
        lo, hi = DTYPE_RANGE[dtype]
        return self.int(key, default, lo, hi)

    def n_inputs(self, lo, hi):
        if not lo <= len(self.ins) <= hi:
            self.fail(f"takes {lo}..{hi} inputs, got {len(self.ins)}")
        for i in range(lo):
            if self.ins[i] is None:
                self.fail(f"input {i} is required")

    def same_out_dtype(self):
        if self.out_dtypes[0] != self.in_dtypes[0]:
            self.fail(f"output dtype {self.out_dtypes[0]} must equal input dtype "
                      f"{self.in_dtypes[0]}")

    def acc(self):
        return dict(acc_bits=self.int("acc_bits", 32, 2, 32),
                    overflow=self.enum("overflow", "error", OVERFLOWS))

    def out(self, dtype):
        if self.out_dtypes[0] != dtype:
            self.fail(f"output dtype must be {dtype}, not {self.out_dtypes[0]}")


def _run_quantize(nd):
    nd.n_inputs(1, 1)
    nd.dtype_in(0, ("float32",), "input")
    dt = nd.out_dtypes[0]
    if dt not in ("int4", "uint4", "int8", "uint8", "int16"):
        nd.fail(f"output dtype {dt} is not int4/uint4/int8/uint8/int16")
    return quantize(nd.ins[0], nd.float("scale"), nd.zero_point("zero_point", dt),
                    nd.int("lo", None), nd.int("hi", None), dtype=dt, name=nd.op.name)


def _run_dequantize(nd):
    nd.n_inputs(1, 1)
    nd.dtype_in(0, tuple(DTYPE_RANGE), "input")
    nd.out("float32")
    return dequantize(nd.ins[0], nd.float("scale"), nd.zero_point("zero_point", nd.in_dtypes[0]),
                      name=nd.op.name)


def _run_conv2d(nd):
    nd.n_inputs(2, 3)
    nd.dtype_in(0, INT_ACT, "input")
    nd.dtype_in(1, INT_WEIGHT, "weight")
    b = nd.ins[2] if len(nd.ins) > 2 else None
    if b is not None:
        nd.dtype_in(2, ("int32",), "bias")
    nd.out("int32")
    return conv2d(nd.ins[0], nd.ins[1], b,
                  strides=nd.ints("strides", [1, 1], 2, 1),
                  pads=nd.ints("pads", [0, 0, 0, 0], 4, 0),
                  dilations=nd.ints("dilations", [1, 1], 2, 1),
                  group=nd.int("group", 1, 1),
                  x_zero_point=nd.zero_point("x_zero_point", nd.in_dtypes[0]),
                  w_zero_point=nd.zero_point("w_zero_point", nd.in_dtypes[1]),
                  name=nd.op.name, **nd.acc())


def _run_linear(nd):
    nd.n_inputs(2, 3)
    nd.dtype_in(0, INT_ACT, "input")
    nd.dtype_in(1, INT_WEIGHT, "weight")
    b = nd.ins[2] if len(nd.ins) > 2 else None
    if b is not None:
        nd.dtype_in(2, ("int32",), "bias")
    nd.out("int32")
    return linear(nd.ins[0], nd.ins[1], b,
                  x_zero_point=nd.zero_point("x_zero_point", nd.in_dtypes[0]),
                  w_zero_point=nd.zero_point("w_zero_point", nd.in_dtypes[1]),
                  name=nd.op.name, **nd.acc())


def _run_matmul(nd):
    nd.n_inputs(2, 2)
    allowed = INT_ACT + ("int16",)
    nd.dtype_in(0, allowed, "input_a")
    nd.dtype_in(1, allowed, "input_b")
    nd.out("int32")
    return matmul(nd.ins[0], nd.ins[1],
                  a_zero_point=nd.zero_point("a_zero_point", nd.in_dtypes[0]),
                  b_zero_point=nd.zero_point("b_zero_point", nd.in_dtypes[1]),
                  transpose_b=nd.int("transpose_b", 0, 0, 1),
                  name=nd.op.name, **nd.acc())


def _run_requantize(nd):
    nd.n_inputs(1, 1)
    nd.dtype_in(0, ("int32", "int8", "int16"), "input")
    dt = nd.out_dtypes[0]
    return requantize(nd.ins[0], nd.ints("multiplier"), nd.ints("shift", lo=0, hi=62),
                      offset=nd.ints("offset", [0]),
                      zero_point=nd.zero_point("zero_point", dt),
                      lo=nd.int("lo", None), hi=nd.int("hi", None),
                      rounding=nd.enum("rounding", "half_even", ROUNDINGS),
                      axis=nd.int("axis", 1), dtype=dt, name=nd.op.name)


def _run_add(nd):
    nd.n_inputs(2, 2)
    allowed = INT_ACT + ("int16",)
    nd.dtype_in(0, allowed, "input_a")
    nd.dtype_in(1, allowed, "input_b")
    dt = nd.out_dtypes[0]
    return add(nd.ins[0], nd.ins[1],
               a_zero_point=nd.zero_point("a_zero_point", nd.in_dtypes[0]),
               b_zero_point=nd.zero_point("b_zero_point", nd.in_dtypes[1]),
               left_shift=nd.int("left_shift", 0, 0, 30),
               a_multiplier=nd.int("a_multiplier", 1), a_shift=nd.int("a_shift", 0, 0, 62),
               b_multiplier=nd.int("b_multiplier", 1), b_shift=nd.int("b_shift", 0, 0, 62),
               out_multiplier=nd.int("out_multiplier", 1), out_shift=nd.int("out_shift", 0, 0, 62),
               out_zero_point=nd.zero_point("out_zero_point", dt),
               rounding=nd.enum("rounding", "half_even", ROUNDINGS),
               lo=nd.int("lo", None), hi=nd.int("hi", None), dtype=dt, name=nd.op.name)


def _run_relu(nd):
    nd.n_inputs(1, 1)
    nd.dtype_in(0, INT_ACT + ("int32",), "input")
    nd.same_out_dtype()
    return relu(nd.ins[0], nd.zero_point("zero_point", nd.in_dtypes[0]), name=nd.op.name)


def _run_clamp(nd):
    nd.n_inputs(1, 1)
    nd.dtype_in(0, INT_ACT + ("int32",), "input")
    nd.same_out_dtype()
    return clamp(nd.ins[0], nd.int("lo", None), nd.int("hi", None), dtype=nd.in_dtypes[0],
                 name=nd.op.name)


def _run_maxpool2d(nd):
    nd.n_inputs(1, 1)
    nd.dtype_in(0, INT_ACT + ("int32",), "input")
    nd.same_out_dtype()
    kernel = nd.ints("kernel", _REQUIRED, 2, 1)
    return maxpool2d(nd.ins[0], kernel, nd.ints("strides", kernel, 2, 1),
                     nd.ints("pads", [0, 0, 0, 0], 4, 0), nd.ints("dilations", [1, 1], 2, 1),
                     name=nd.op.name)


def _run_avgpool2d(nd):
    nd.n_inputs(1, 1)
    nd.dtype_in(0, INT_ACT, "input")
    nd.same_out_dtype()
    kernel = nd.ints("kernel", _REQUIRED, 2, 1)
    return avgpool2d(nd.ins[0], kernel, nd.ints("strides", kernel, 2, 1),
                     nd.ints("pads", [0, 0, 0, 0], 4, 0),
                     count_include_pad=nd.int("count_include_pad", 0, 0, 1),
                     x_zero_point=nd.zero_point("x_zero_point", nd.in_dtypes[0]),
                     rounding=nd.enum("rounding", "half_even", ROUNDINGS),
                     multiplier=nd.int("multiplier", None), shift=nd.int("shift", None, 0, 62),
                     dtype=nd.in_dtypes[0], name=nd.op.name)


def _run_global_avgpool(nd):
    nd.n_inputs(1, 1)
    nd.dtype_in(0, INT_ACT + ("int16",), "input")
    nd.same_out_dtype()
    return global_avgpool(nd.ins[0], nd.enum("rounding", "half_even", ROUNDINGS),
                          multiplier=nd.int("multiplier", None),
                          shift=nd.int("shift", None, 0, 62), dtype=nd.in_dtypes[0],
                          name=nd.op.name)


def _run_flatten(nd):
    nd.n_inputs(1, 1)
    nd.same_out_dtype()
    return flatten(nd.ins[0], nd.int("axis", 1), name=nd.op.name)


def _run_reshape(nd):
    nd.n_inputs(1, 1)
    nd.same_out_dtype()
    return reshape(nd.ins[0], nd.ints("shape"), name=nd.op.name)


def _run_concat(nd):
    nd.n_inputs(1, 64)
    if len(set(nd.in_dtypes)) != 1:
        nd.fail("inputs must have the same dtype")
    nd.same_out_dtype()
    return concat(nd.ins, nd.int("axis"), name=nd.op.name)


def _floats_attr(nd, key, default=_REQUIRED):
    v, present = nd._get(key, default)
    if not present:
        return v
    vals = list(v) if isinstance(v, (list, tuple, np.ndarray)) else [v]
    if not vals or any(isinstance(e, bool) or not isinstance(e, (int, float, np.integer, np.floating))
                       for e in vals):
        nd.fail(f"attribute '{key}' must be a float or a non-empty float array")
    return [float(e) for e in vals]


def _run_conv2d_f32(nd):
    nd.n_inputs(2, 3)
    nd.dtype_in(0, ("float32",) + INT_ACT, "input")
    nd.dtype_in(1, INT_WEIGHT, "weight")
    b = nd.ins[2] if len(nd.ins) > 2 else None
    if b is not None:
        nd.dtype_in(2, ("float32",), "bias")
    nd.out("float32")
    return conv2d_f32(nd.ins[0], nd.ins[1], b,
                      strides=nd.ints("strides", [1, 1], 2, 1),
                      pads=nd.ints("pads", [0, 0, 0, 0], 4, 0),
                      dilations=nd.ints("dilations", [1, 1], 2, 1),
                      group=nd.int("group", 1, 1), name=nd.op.name)


def _run_mulshift_f32(nd):
    nd.n_inputs(1, 1)
    nd.dtype_in(0, ("int32", "float32"), "input")
    nd.out("float32")
    return mulshift_f32(nd.ins[0], _floats_attr(nd, "scale"), _floats_attr(nd, "bias", [0.0]),
                        shift=nd.int("shift", 0, 0, 126), relu=nd.int("relu", 0, 0, 1),
                        axis=nd.int("axis", 1, 0), name=nd.op.name)


def _run_add_f32(nd):
    nd.n_inputs(2, 2)
    nd.dtype_in(0, ("float32",), "input_a")
    nd.dtype_in(1, ("float32",), "input_b")
    nd.out("float32")
    return add_f32(nd.ins[0], nd.ins[1], relu=nd.int("relu", 0, 0, 1), name=nd.op.name)


def _run_maxpool2d_f32(nd):
    nd.n_inputs(1, 1)
    nd.dtype_in(0, ("float32",), "input")
    nd.out("float32")
    kernel = nd.ints("kernel", _REQUIRED, 2, 1)
    return maxpool2d_f32(nd.ins[0], kernel, nd.ints("strides", kernel, 2, 1),
                         nd.ints("pads", [0, 0, 0, 0], 4, 0), nd.ints("dilations", [1, 1], 2, 1),
                         name=nd.op.name)


def _run_global_avgpool_f32(nd):
    nd.n_inputs(1, 1)
    nd.dtype_in(0, ("float32",), "input")
    nd.out("float32")
    return global_avgpool_f32(nd.ins[0], name=nd.op.name)


OPS = {
    "quantize": _run_quantize,
    "dequantize": _run_dequantize,
    "conv2d": _run_conv2d,
    "linear": _run_linear,
    "matmul": _run_matmul,
    "requantize": _run_requantize,
    "add": _run_add,
    "relu": _run_relu,
    "clamp": _run_clamp,
    "maxpool2d": _run_maxpool2d,
    "avgpool2d": _run_avgpool2d,
    "global_avgpool": _run_global_avgpool,
    "flatten": _run_flatten,
    "reshape": _run_reshape,
    "concat": _run_concat,
    "conv2d_f32": _run_conv2d_f32,
    "mulshift_f32": _run_mulshift_f32,
    "add_f32": _run_add_f32,
    "maxpool2d_f32": _run_maxpool2d_f32,
    "global_avgpool_f32": _run_global_avgpool_f32,
}


# ---------------------------------------------------------------------------------------------
# Transformer ops (README "Transformer ops"): data movement, broadcasting arithmetic, softmax,
# layernorm, gelu. Written from the README text; vectorized int64 NumPy where the README's bounds
# show every intermediate fits, Python ints (math.isqrt) for the square root.
# ---------------------------------------------------------------------------------------------

import math  # noqa: E402  (math.isqrt: the square root of layernorm)


def _axis(label, axis, ndim):
    if not -(ndim - 1) <= axis <= ndim - 1:
        raise OpError(label, f"axis = {axis} is outside [{-(ndim - 1)}, {ndim - 1}]")
    axis = axis + ndim if axis < 0 else axis
    if axis == 0:
        raise OpError(label, "axis must not be the batch axis")
    return axis


def transpose(x, perm, name=None):
    """README transpose: y = x with dims permuted; perm[0] must be 0."""
    label = _label("transpose", name)
    x = np.asarray(x)
    if x.ndim < 2 or sorted(perm) != list(range(x.ndim)) or perm[0] != 0:
        raise OpError(label, f"perm {list(perm)} is not a permutation of 0..{x.ndim - 1} keeping 0 first")
    return np.ascontiguousarray(np.transpose(x, perm))


def slice_(x, axis, start, end=None, step=1, name=None):
    """README slice: positions start, start+step, ... < end along axis."""
    label = _label("slice", name)
    x = np.asarray(x)
    axis = _axis(label, axis, x.ndim)
    n = x.shape[axis]
    end = n if end is None else end
    if not (0 <= start < n and start < end <= n and step >= 1):
        raise OpError(label, f"start/end/step = {start}/{end}/{step} do not fit dim {n}")
    sl = [slice(None)] * x.ndim
    sl[axis] = slice(start, end, step)
    return np.ascontiguousarray(x[tuple(sl)])


def gather(x, indices, axis, name=None):
    """README gather: y[.., k, ..] = x[.., idx[k], ..], negative indices from the end."""
    label = _label("gather", name)
    x = np.asarray(x)
    axis = _axis(label, axis, x.ndim)
    idx = _ints(indices).reshape(-1)
    n = x.shape[axis]
    bad = np.nonzero((idx < -n) | (idx >= n))[0]
    if bad.size:
        raise OpError(label, f"index {int(idx[bad[0]])} at position {int(bad[0])} is outside [{-n}, {n})")
    return np.ascontiguousarray(np.take(x, np.where(idx < 0, idx + n, idx), axis=axis))


def expand(x, shape, batch=None, name=None):
    """README expand: x broadcast to [batch] + shape (-1 keeps x's dim); batch defaults to x's dim 0."""
    label = _label("expand", name)
    x = np.asarray(x)
    if x.ndim < 2 or len(shape) != x.ndim - 1:
        raise OpError(label, f"'shape' needs {x.ndim - 1} values for input shape {list(x.shape)}")
    batch = x.shape[0] if batch is None else batch
    out = [batch] + [x.shape[i + 1] if s == -1 else s for i, s in enumerate(shape)]
    for i, (dx, do) in enumerate(zip(x.shape, out)):
        if do < 1 or dx not in (1, do):
            raise OpError(label, f"input {list(x.shape)} cannot expand to {out} along dim {i}")
    return np.ascontiguousarray(np.broadcast_to(x, out))


def _bshape(label, a, b):
    try:
        return np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise OpError(label, f"input shapes {list(a.shape)} and {list(b.shape)} do not broadcast") from None


def broadcast_add(a, b, dtype="int8", name=None, **attrs):
    """README broadcast_add: add's recipe on the broadcast inputs."""
    label = _label("broadcast_add", name)
    a, b = np.asarray(a), np.asarray(b)
    shape = _bshape(label, a, b)
    return add(np.broadcast_to(a, shape), np.broadcast_to(b, shape), dtype=dtype, name=name, **attrs)


def _span(dtype, zp):
    lo, hi = DTYPE_RANGE[dtype]
    return max(hi - zp, zp - lo)


def mul(a, b, a_zero_point=0, b_zero_point=0, multiplier=1, shift=0, out_zero_point=0,
        rounding="half_even", lo=None, hi=None, dtype="int8", a_dtype=None, b_dtype=None, name=None):
    """README mul: clamp(scale_round((a - za)(b - zb), m, 0, s) + zo, lo, hi), broadcasting."""
    label = _label("mul", name)
    a, b = np.asarray(a), np.asarray(b)
    if _span(_dtype_of(a, a_dtype), a_zero_point) * _span(_dtype_of(b, b_dtype), b_zero_point) >= 1 << 31:
        raise OpError(label, "|a - a_zero_point|·|b - b_zero_point| can reach 2^31")
    lo, hi = _out_range(label, dtype, lo, hi)
    shape = _bshape(label, a, b)
    p = (np.broadcast_to(_ints(a), shape) - int(a_zero_point)) * (np.broadcast_to(_ints(b), shape) - int(b_zero_point))
    try:
        v = scale_round(p, multiplier, 0, shift, rounding)
    except ValueError as e:
        raise OpError(label, str(e)) from None
    return np.clip(v + int(out_zero_point), lo, hi).astype(NP_DTYPE[dtype])


def _half_up_shift(v, s):
    """round(v / 2^s), ties up: floor((v + 2^(s-1)) / 2^s) (s >= 0)."""
    return v if s == 0 else (v + (1 << (s - 1))) >> s


def _half_up_div(n, d):
    """round(n / d), ties up, d >= 1: floor((2n + d) / (2d))."""
    return (2 * n + d) // (2 * d)


SOFTMAX_METHODS = ("ibert", "shift", "lut", "tflite")
_I32 = 1 << 31


def softmax_exp(t, method, table=None, lut_shift=0):
    """exp stage of the ibert/shift/lut softmax on t <= 0 in Q14 (int64 array) -> [0, 2^30]."""
    t = _ints(t)
    if method == "ibert":
        z = (-t) // 11357
        p = t + z * 11357
        poly = (p + 22168) ** 2 + 257578234
        return poly >> np.minimum(z, 62)
    if method == "shift":
        u = np.maximum(t + (t >> 1) - (t >> 4), -15 * 16384)
        q = (-u) >> 14
        r = u + (q << 14)
        return (16384 + (r >> 1)) << (15 - q)
    table = _ints(table).reshape(-1)
    i = np.minimum(_half_up_shift(-t, lut_shift), table.size - 1)
    return table[i]


def _i32(v):
    return wrap(v, 32)


def tflite_exp_on_negative_values(a):
    """gemmlowp exp_on_negative_values, Q5.26 (int32, <= 0) -> Q0.31, README recipe."""
    a = _ints(a)
    m = (a & ((1 << 24) - 1)) - (1 << 24)
    x = m * 32 + (1 << 28)
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    s = rdbpot(_i32(srdhm(_i32(rdbpot(x4, 2) + x3), 715827883) + x2), 1)
    e = _i32(1895147668 + srdhm(1895147668, _i32(x + s)))
    rem = _i32(m - a)
    for k, c in enumerate((1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242)):
        e = np.where((rem >> (24 + k)) & 1 == 1, srdhm(e, c), e)
    return np.where(a == 0, _I32 - 1, e)


def _sat_shl(x, k):
    thr = (1 << (31 - k)) - 1
    return np.where(x > thr, _I32 - 1, np.where(x < -thr, -_I32, x << k))


def tflite_one_over_one_plus_x(v):
    """gemmlowp one_over_one_plus_x_for_x_in_0_1 (Q0.31 in [0, 2^31)), README recipe."""
    v = _ints(v)
    s = v + (_I32 - 1)
    hd = np.where(s >= 0, (s + 1) // 2, -((-(s - 1)) // 2))   # (s ± 1) / 2 truncated toward zero
    x = _i32(1515870810 + srdhm(hd, -1010580540))
    for _ in range(3):
        x = _i32(x + _sat_shl(srdhm(x, _i32((1 << 29) - srdhm(hd, x))), 2))
    return _sat_shl(x, 1)


def softmax(x, x_multiplier, x_shift, method="ibert", table=None, out_bits=None, zero_point=None,
            lut_shift=0, dtype="uint8", x_dtype=None, name=None):
    """README softmax over the last axis."""
    label = _label("softmax", name)
    if method not in SOFTMAX_METHODS:
        raise OpError(label, f"method = '{method}' is not one of: {', '.join(SOFTMAX_METHODS)}")
    if dtype not in ("uint8", "int8", "int16"):
        raise OpError(label, f"output dtype {dtype} is not uint8/int8/int16")
    bits = 16 if dtype == "int16" else 8
    ymin, ymax = DTYPE_RANGE[dtype]
    out_bits = bits if out_bits is None else int(out_bits)
    zero_point = ymin if zero_point is None else int(zero_point)
    if not 1 <= out_bits <= 16 or not ymin <= zero_point <= ymax:
        raise OpError(label, f"out_bits = {out_bits} / zero_point = {zero_point} out of range")
    if not 0 <= x_multiplier < _I32:
        raise OpError(label, f"x_multiplier = {x_multiplier} is outside [0, 2^31)")
    x = _ints(x)
    if x.ndim < 2:
        raise OpError(label, "input needs rank >= 2")
    xd = _dtype_of(np.asarray(x), x_dtype) if x_dtype else None
    L = x.shape[-1]
    rows = x.reshape(-1, L)
    mx = rows.max(axis=1, keepdims=True)
    d = rows - mx
    if method == "tflite":
        if xd not in (None, "int8", "uint8"):
            raise OpError(label, f"method tflite takes int8 or uint8 input, not {xd}")
        if not 26 <= x_shift <= 57:
            raise OpError(label, f"x_shift = {x_shift} is outside [26, 57]")
        if out_bits != bits or zero_point != ymin:
            raise OpError(label, f"method tflite needs out_bits = {bits} and zero_point = {ymin}")
        if L > (4095 if bits == 16 else 511):
            raise OpError(label, f"method tflite: rows of {L} are too long for {dtype}")
        ls = 57 - x_shift
        diff_min = -((31 << 26) >> ls)
        keep = d >= diff_min
        a = srdhm(np.where(keep, d, 0) << ls, int(x_multiplier))
        e = tflite_exp_on_negative_values(a)
        total = np.where(keep, rdbpot(e, 12), 0).sum(axis=1, keepdims=True)
        _, ex = np.frexp(total.astype(np.float64))            # total = f·2^ex, 0.5 <= f < 1 (exact)
        h = 32 - ex.astype(np.int64)                           # leading zeros as uint32
        recip = tflite_one_over_one_plus_x(_i32((total << h) - _I32))
        out = rdbpot(srdhm(recip, e), 12 - h + 31 - bits) + ymin
        y = np.where(keep, np.clip(out, ymin, ymax), ymin)
        return y.reshape(x.shape).astype(NP_DTYPE[dtype])
    if not 14 <= x_shift <= 62:
        raise OpError(label, f"x_shift = {x_shift} is outside [14, 62]")
    if method == "lut":
        if table is None:
            raise OpError(label, "method lut needs the table input")
        tb = _ints(table).reshape(-1)
        if tb.size < 1 or int(tb.min()) < 0 or int(tb.max()) > 1 << 30:
            raise OpError(label, "table entries must be in [0, 2^30]")
    d = np.maximum(d, -(_I32 - 1))
    t = _half_up_shift(d * int(x_multiplier), x_shift - 14)
    e = softmax_exp(t, method, table, lut_shift)
    total = e.sum(axis=1, keepdims=True)
    q = _half_up_div(e << out_bits, np.maximum(total, 1))
    y = np.where(total > 0, q + zero_point, zero_point)
    return np.clip(y, ymin, ymax).reshape(x.shape).astype(NP_DTYPE[dtype])


def layernorm(x, gamma, beta=None, out_shift=0, shift=0, eps=0, out_zero_point=0, lo=None, hi=None,
              rounding="half_even", dtype="int8", x_dtype=None, name=None):
    """README layernorm (I-BERT recipe) over the last axis."""
    label = _label("layernorm", name)
    if rounding not in ROUNDINGS or rounding == "tflite":
        raise OpError(label, f"rounding = '{rounding}' is not allowed")
    lo, hi = _out_range(label, dtype, lo, hi)
    xa = np.asarray(x)
    xd = _dtype_of(xa, x_dtype)
    x = _ints(xa)
    C = x.shape[-1]
    w = DTYPE_RANGE[xd][1] - DTYPE_RANGE[xd][0]
    dmax = -((-w) >> shift)                          # ceil(w / 2^shift)
    if C * dmax * dmax + eps >= 1 << 63:
        raise OpError(label, "the variance sum can reach 2^63")
    g = _ints(gamma).reshape(-1)
    b = np.zeros(C, np.int64) if beta is None else _ints(beta).reshape(-1)
    if g.size != C or b.size != C:
        raise OpError(label, f"gamma and beta must have {C} values")
    if b.size and _maxabs(b) >= 1 << 62:
        raise OpError(label, "|beta| must be < 2^62")
    rows = x.reshape(-1, C)
    mu = round_div(rows.sum(axis=1, keepdims=True), C, "half_even")
    d = rows - mu
    ds = d >> shift
    var = (ds * ds).sum(axis=1)
    sigma = np.array([math.isqrt(int(v) + int(eps)) << shift for v in var], dtype=np.int64).reshape(-1, 1)
    f = np.where(sigma > 0, (1 << 31) // np.maximum(sigma, 1), 0)
    n = (d * f) >> 1
    a = n * g[None, :] + b[None, :]
    y = round_shift(a, out_shift, rounding) + int(out_zero_point)
    return np.clip(y, lo, hi).reshape(x.shape).astype(NP_DTYPE[dtype])


GELU_METHODS = ("ibert", "sigmoid", "lut")


def gelu_gate(t, method, table=None, lut_shift=0, lut_offset=0):
    """The gate Φ in Q16 for t in Q12 (int64 array), README gelu."""
    t = _ints(t)
    if method == "ibert":
        k = np.minimum(np.abs(t), 10247) - 10247
        erf = (1 << 15) - _half_up_shift(k * k * 9463, 25)
        return np.where(t >= 0, (1 << 15) + erf, (1 << 15) - erf)
    if method == "sigmoid":
        z = t + (t >> 1) + (t >> 3) + (t >> 4)
        a = -np.abs(z)
        u = np.maximum(a + (a >> 1) - (a >> 4), -15 * 4096)
        q = (-u) >> 12
        r = u + (q << 12)
        e = (4096 + (r >> 1)) << (15 - q)
        s = _half_up_div(e << 16, (1 << 27) + e)
        return np.where(z >= 0, (1 << 16) - s, s)
    table = _ints(table).reshape(-1)
    i = np.clip(_half_up_shift(t, lut_shift) + lut_offset, 0, table.size - 1)
    return table[i]


def gelu(x, x_multiplier, x_shift, out_multiplier, out_shift, method="ibert", table=None,
         x_zero_point=0, out_zero_point=0, lo=None, hi=None, rounding="half_even", lut_shift=0,
         lut_offset=0, dtype="int8", name=None):
    """README gelu: v·Φ(v) with the gate in Q16."""
    label = _label("gelu", name)
    if method not in GELU_METHODS:
        raise OpError(label, f"method = '{method}' is not one of: {', '.join(GELU_METHODS)}")
    if not 12 <= x_shift <= 62 or not 0 <= x_multiplier < _I32:
        raise OpError(label, "x_multiplier/x_shift out of range")
    lo, hi = _out_range(label, dtype, lo, hi)
    if method == "lut":
        if table is None:
            raise OpError(label, "method lut needs the table input")
        tb = _ints(table).reshape(-1)
        if tb.size < 1 or int(tb.min()) < 0 or int(tb.max()) > 1 << 16:
            raise OpError(label, "table entries must be in [0, 2^16]")
        if not 0 <= lut_offset < tb.size:
            raise OpError(label, f"lut_offset = {lut_offset} is outside the table")
    v = np.clip(_ints(x) - int(x_zero_point), -(_I32 - 1), _I32 - 1)
    t = np.clip(_half_up_shift(v * int(x_multiplier), x_shift - 12), -(1 << 30), 1 << 30)
    g = _half_up_shift(t * gelu_gate(t, method, table, lut_shift, lut_offset), 16)
    try:
        y = scale_round(g, out_multiplier, 0, out_shift, rounding)
    except ValueError as e:
        raise OpError(label, str(e)) from None
    return np.clip(y + int(out_zero_point), lo, hi).astype(NP_DTYPE[dtype])


def _run_transpose(nd):
    nd.n_inputs(1, 1)
    nd.same_out_dtype()
    return transpose(nd.ins[0], nd.ints("perm"), name=nd.op.name)


def _run_slice(nd):
    nd.n_inputs(1, 1)
    nd.same_out_dtype()
    return slice_(nd.ins[0], nd.int("axis"), nd.int("start"), nd.int("end", None), nd.int("step", 1, 1),
                  name=nd.op.name)


def _run_gather(nd):
    nd.n_inputs(2, 2)
    nd.dtype_in(1, ("int8", "int16", "int32", "int64"), "indices")
    if np.asarray(nd.ins[1]).ndim != 1:
        nd.fail("indices must have rank 1")
    nd.same_out_dtype()
    return gather(nd.ins[0], nd.ins[1], nd.int("axis"), name=nd.op.name)


def _run_expand(nd):
    nd.n_inputs(1, 2)
    nd.same_out_dtype()
    like = nd.ins[1] if len(nd.ins) > 1 else None
    return expand(nd.ins[0], nd.ints("shape"), None if like is None else np.asarray(like).shape[0],
                  name=nd.op.name)


def _run_broadcast_add(nd):
    nd.n_inputs(2, 2)
    allowed = INT_ACT + ("int16",)
    nd.dtype_in(0, allowed, "input_a")
    nd.dtype_in(1, allowed, "input_b")
    dt = nd.out_dtypes[0]
    if dt not in allowed:
        nd.fail(f"output dtype {dt} is not allowed")
    return broadcast_add(nd.ins[0], nd.ins[1],
                         a_zero_point=nd.zero_point("a_zero_point", nd.in_dtypes[0]),
                         b_zero_point=nd.zero_point("b_zero_point", nd.in_dtypes[1]),
                         left_shift=nd.int("left_shift", 0, 0, 30),
                         a_multiplier=nd.int("a_multiplier", 1), a_shift=nd.int("a_shift", 0, 0, 62),
                         b_multiplier=nd.int("b_multiplier", 1), b_shift=nd.int("b_shift", 0, 0, 62),
                         out_multiplier=nd.int("out_multiplier", 1), out_shift=nd.int("out_shift", 0, 0, 62),
                         out_zero_point=nd.zero_point("out_zero_point", dt),
                         rounding=nd.enum("rounding", "half_even", ROUNDINGS),
                         lo=nd.int("lo", None), hi=nd.int("hi", None), dtype=dt, name=nd.op.name)


def _run_mul(nd):
    nd.n_inputs(2, 2)
    allowed = INT_ACT + ("int16",)
    nd.dtype_in(0, allowed, "input_a")
    nd.dtype_in(1, allowed, "input_b")
    dt = nd.out_dtypes[0]
    if dt not in allowed + ("int32",):
        nd.fail(f"output dtype {dt} is not allowed")
    return mul(nd.ins[0], nd.ins[1],
               a_zero_point=nd.zero_point("a_zero_point", nd.in_dtypes[0]),
               b_zero_point=nd.zero_point("b_zero_point", nd.in_dtypes[1]),
               multiplier=nd.int("multiplier", 1), shift=nd.int("shift", 0, 0, 62),
               out_zero_point=nd.zero_point("out_zero_point", dt),
               rounding=nd.enum("rounding", "half_even", ROUNDINGS),
               lo=nd.int("lo", None), hi=nd.int("hi", None), dtype=dt,
               a_dtype=nd.in_dtypes[0], b_dtype=nd.in_dtypes[1], name=nd.op.name)


def _run_softmax(nd):
    nd.n_inputs(1, 2)
    method = nd.enum("method", "ibert", SOFTMAX_METHODS)
    nd.dtype_in(0, ("int8", "uint8") if method == "tflite" else ("int8", "uint8", "int16", "int32"), "input")
    table = nd.ins[1] if len(nd.ins) > 1 else None
    if method == "lut":
        if table is None:
            nd.fail("method lut needs the table input")
        nd.dtype_in(1, ("int32",), "table")
        if np.asarray(table).ndim != 1:
            nd.fail("table must have rank 1")
    elif table is not None:
        nd.fail(f"method {method} takes no table input")
    return softmax(nd.ins[0], nd.int("x_multiplier", _REQUIRED, 0, _I32 - 1), nd.int("x_shift"),
                   method=method, table=table, out_bits=nd.int("out_bits", None),
                   zero_point=nd.int("zero_point", None), lut_shift=nd.int("lut_shift", 0, 0, 62),
                   dtype=nd.out_dtypes[0], x_dtype=nd.in_dtypes[0], name=nd.op.name)


def _run_layernorm(nd):
    nd.n_inputs(2, 3)
    nd.enum("method", "ibert", ("ibert",))
    nd.dtype_in(0, ("int8", "uint8", "int16", "int32"), "input")
    nd.dtype_in(1, ("int8", "int16", "int32"), "gamma")
    beta = nd.ins[2] if len(nd.ins) > 2 else None
    if beta is not None:
        nd.dtype_in(2, ("int32", "int64"), "beta")
    dt = nd.out_dtypes[0]
    if dt not in INT_ACT + ("int16",):
        nd.fail(f"output dtype {dt} is not allowed")
    return layernorm(nd.ins[0], nd.ins[1], beta, out_shift=nd.int("out_shift", _REQUIRED, 0, 62),
                     shift=nd.int("shift", 0, 0, 31), eps=nd.int("eps", 0, 0, (1 << 62) - 1),
                     out_zero_point=nd.zero_point("out_zero_point", dt), lo=nd.int("lo", None),
                     hi=nd.int("hi", None), rounding=nd.enum("rounding", "half_even", ROUNDINGS),
                     dtype=dt, x_dtype=nd.in_dtypes[0], name=nd.op.name)


def _run_gelu(nd):
    nd.n_inputs(1, 2)
    method = nd.enum("method", "ibert", GELU_METHODS)
    nd.dtype_in(0, ("int8", "uint8", "int16", "int32"), "input")
    table = nd.ins[1] if len(nd.ins) > 1 else None
    if method == "lut":
        if table is None:
            nd.fail("method lut needs the table input")
        nd.dtype_in(1, ("int32",), "table")
    elif table is not None:
        nd.fail(f"method {method} takes no table input")
    dt = nd.out_dtypes[0]
    if dt not in INT_ACT + ("int16",):
        nd.fail(f"output dtype {dt} is not allowed")
    return gelu(nd.ins[0], nd.int("x_multiplier", _REQUIRED, 0, _I32 - 1), nd.int("x_shift", _REQUIRED, 12, 62),
                nd.int("out_multiplier"), nd.int("out_shift", _REQUIRED, 0, 62), method=method, table=table,
                x_zero_point=nd.zero_point("x_zero_point", nd.in_dtypes[0]),
                out_zero_point=nd.zero_point("out_zero_point", dt), lo=nd.int("lo", None),
                hi=nd.int("hi", None), rounding=nd.enum("rounding", "half_even", ROUNDINGS),
                lut_shift=nd.int("lut_shift", 0, 0, 62), lut_offset=nd.int("lut_offset", 0, 0),
                dtype=dt, name=nd.op.name)


OPS.update({
    "transpose": _run_transpose,
    "slice": _run_slice,
    "gather": _run_gather,
    "expand": _run_expand,
    "broadcast_add": _run_broadcast_add,
    "mul": _run_mul,
    "softmax": _run_softmax,
    "layernorm": _run_layernorm,
    "gelu": _run_gelu,
})


def _check_values(label, a, dtype, what):
    if dtype == "float32" or a.size == 0:
        return
    lo, hi = DTYPE_RANGE[dtype]
    if int(a.min()) < lo or int(a.max()) > hi:
        raise OpError(label, f"{what} holds values outside the {dtype} range [{lo}, {hi}]")


def _as_dtype(label, a, dtype, what):
    """a converted to the storage of `dtype`, checking the values fit."""
    a = np.asarray(a)
    if dtype == "float32":
        if not np.issubdtype(a.dtype, np.floating):
            raise OpError(label, f"{what} must be a float array for float32, not {a.dtype}")
        return a.astype(np.float32)
    if not np.issubdtype(a.dtype, np.integer):
        raise OpError(label, f"{what} must be an integer array for {dtype}, not {a.dtype}")
    _check_values(label, a, dtype, what)
    return a.astype(NP_DTYPE[dtype])


def run(model, inputs, on_op=None):
    """Run `model` (a t2c.container Model) on `inputs` {graph input name: array}.

    Batch N is dim 0 of the inputs; every other dim must equal the declared (batch 1) shape.
    Float inputs are converted to float32, integer inputs checked against their dtype's range.
    Returns {name: ndarray} for the graph inputs and every op output; op outputs are checked
    against the declared shapes (with dim 0 = N) and dtypes. on_op(index, op, outputs), if
    given, is called after each op.
    """
    tensors = model.tensors
    env = {}
    missing = [n for n in model.inputs if n not in inputs]
    extra = [n for n in inputs if n not in model.inputs]
    if missing or extra:
        raise OpError("run", f"inputs missing {missing}, unknown {extra}")
    batch = None
    for name in model.inputs:
        t = tensors[name]
        a = _as_dtype("run", inputs[name], t.dtype, f"input '{name}'")
        decl = tuple(t.shape)
        if a.ndim != len(decl) or (a.ndim and a.shape[1:] != decl[1:]):
            raise OpError("run", f"input '{name}' has shape {a.shape}, declared {list(decl)} "
                          "(dim 0 is the batch)")
        n = a.shape[0] if a.ndim else 1
        if batch is not None and n != batch:
            raise OpError("run", "graph inputs disagree on the batch size")
        batch = n
        env[name] = a

    def fetch(label, name):
        if name == "":
            return None, None
        if name in env:
            return env[name], tensors[name].dtype
        t = tensors.get(name)
        if t is None:
            raise OpError(label, f"tensor '{name}' does not exist")
        if t.data is None:
            raise OpError(label, f"tensor '{name}' is read before it is written")
        return _as_dtype(label, np.asarray(t.data).reshape(tuple(t.shape)), t.dtype,
                         f"constant '{name}'"), t.dtype

    for index, op in enumerate(model.ops):
        label = _label(op.type, op.name)
        fn = OPS.get(op.type)
        if fn is None:
            raise OpError(label, f"unknown op type '{op.type}'")
        got = [fetch(label, n) for n in op.inputs]
        while got and got[-1][0] is None:   # trailing omitted optional inputs
            got.pop()
        out_dtypes = [tensors[n].dtype for n in op.outputs]
        if len(out_dtypes) != 1:
            raise OpError(label, f"has {len(out_dtypes)} outputs, expected 1")
        nd = _Node(op, [g[0] for g in got], [g[1] for g in got], out_dtypes)
        result = fn(nd)
        t = tensors[op.outputs[0]]
        decl = tuple(t.shape)
        want = ((batch if batch is not None else 1),) + decl[1:] if decl else ()
        if tuple(result.shape) != want:
            raise OpError(label, f"output shape {list(result.shape)} differs from the declared "
                          f"{list(decl)} for batch {batch}")
        env[op.outputs[0]] = _as_dtype(label, result, t.dtype, "output")
        if on_op is not None:
            on_op(index, op, [env[op.outputs[0]]])
    return env


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------

def _safe(name):
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "op"


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python3 -m t2c.reference",
        description="Run a .t2c model with the Python integer reference and write every op "
                    "output as DIR/<index>_<opname>.npy.")
    ap.add_argument("model", help="the .t2c file")
    ap.add_argument("inputs", nargs="+",
                    help="INPUT.npy per graph input, in graph order, or NAME=INPUT.npy")
    ap.add_argument("--out", required=True, help="output directory (created if missing)")
    args = ap.parse_args(argv)

    from t2c import container  # imported here so the kernels work without it

    model = container.read(args.model)
    feeds = {}
    for i, spec in enumerate(args.inputs):
        if "=" in spec and not os.path.exists(spec):
            name, path = spec.split("=", 1)
        else:
            if i >= len(model.inputs):
                ap.error(f"more input files than graph inputs ({len(model.inputs)})")
            name, path = model.inputs[i], spec
        feeds[name] = np.load(path, allow_pickle=False)
    os.makedirs(args.out, exist_ok=True)
    written = []

    def save(index, op, outs):
        path = os.path.join(args.out, f"{index:03d}_{_safe(op.name)}.npy")
        np.save(path, outs[0])
        written.append(path)

    try:
        run(model, feeds, on_op=save)
    except OpError as e:
        print(f"t2c.reference: {e}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
