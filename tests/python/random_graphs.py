"""random_graphs -- a seeded generator of random, legal, small .t2c graphs.

    model, feeds, expect = random_graphs.make(seed)

`model` is a t2c.container.Model built with the container's builder, `feeds` is
{graph input name: array} with batch N (dim 0) in 1..3, and `expect` is None, or, when the
generator deliberately built an accumulator that overflows under overflow = "error", a dict
{"op": index, "name": op name, "flat": row-major output index of the first overflow} (that op is
then the last one of the graph). The same seed always gives the same graph and inputs.

Graphs chain every op of ops/README.md with random legal attributes: conv2d (groups, depthwise,
dilation, strides, asymmetric pads, int4/uint4/int8/uint8 inputs, int4/int8 weights, x and w zero
points, bias, narrow accumulators with error/wrap/saturate), linear, matmul (plain and transposed),
requantize (per-tensor and per-channel along any axis, all five rounding modes, multipliers up to
2^31 - 1 and negative ones, shifts 0..62 incl. > 31 and the wrapping left shift of tflite, offsets,
int4..int32 outputs, lo/hi), add (same-scale, TFLite-like and random rescaling within the README's
legality bound), relu, clamp, maxpool2d, avgpool2d and global_avgpool (every option incl.
multiplier/shift), flatten, reshape, concat, and quantize/dequantize at the boundary.

Some multipliers are "tie-rich" (an odd number times 2^k with a shift just above k, offsets on a
coarse grid; for tflite 2^30, 3·2^29 or 2^29 with shift 31 + R) so that every rounding mode meets
exact .5 cases often; average-pool windows favour small even counts for the same reason.

Attributes that depend on data (requantize scales, accumulator widths) are chosen from the values
the graph actually produces on `feeds`, computed op by op with the Python reference
(t2c.reference.run on a one-op graph), so that outputs use their range rather than saturate.
Legality is decided here from ops/README.md, not taken from either implementation.
"""

import math

import numpy as np

from t2c import container
from t2c import reference as ref

INT_ACT = ("int4", "uint4", "int8", "uint8")
WEIGHT = ("int4", "int8")
ROUNDINGS = ("half_even", "half_up", "half_away", "floor", "tflite")
RANGE = dict(ref.DTYPE_RANGE)
NP = dict(ref.NP_DTYPE)
M31 = (1 << 31) - 1


def _maxabs_diff(dtype, zp):
    lo, hi = RANGE[dtype]
    return max(hi - zp, zp - lo)


def _ceil_shift(v, s):
    return -((-v) >> s)


def scale_bound(v, m, s, rounding):
    """README add legality: bound(V, m, s) = ceil(V·|m| / 2^s); tflite:
    ceil(ceil(min(V·2^L, 2^31)·m / 2^31) / 2^R)."""
    if rounding == "tflite":
        left, right = max(0, 31 - s), max(0, s - 31)
        x = min(v << left, 1 << 31)
        return _ceil_shift(_ceil_shift(x * m, 31), right)
    return _ceil_shift(v * abs(m), s)


def _windows_ok(size, k, s, d, before, after):
    """Output size along one axis (conv/pool formula) and whether every window holds an input."""
    out = (size + before + after - d * (k - 1) - 1) // s + 1
    if out < 1:
        return out, False
    for o in range(out):
        if not any(0 <= o * s - before + t * d < size for t in range(k)):
            return out, False
    return out, True


def _inside_counts(size, k, s, before, out):
    return [sum(0 <= o * s - before + t < size for t in range(k)) for o in range(out)]


def _factor(n, parts, rng):
    """n as a product of `parts` positive ints, randomly."""
    dims = [1] * parts
    p, rest = 2, n
    primes = []
    while p * p <= rest:
        while rest % p == 0:
            primes.append(p)
            rest //= p
        p += 1
    if rest > 1:
        primes.append(rest)
    for q in primes:
        dims[int(rng.integers(parts))] *= q
    return dims


class _Gen:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.m = container.Model()
        self.m.meta["model.name"] = f"random-graph-{seed}"
        self.m.meta["model.producer"] = "tests/python/random_graphs.py"
        self.vals = {}
        self.count = 0
        self.expect = None
        self.batch = int(self.rng.choice([1, 1, 1, 2, 3]))

    # ------------------------------------------------------------------ small helpers
    def r(self, n):
        return int(self.rng.integers(n))

    def ri(self, lo, hi):
        """int in [lo, hi] (Python ints, any size)."""
        if hi - lo < (1 << 62):
            return lo + int(self.rng.integers(hi - lo + 1))
        return lo + int(self.rng.integers(1 << 62)) * ((hi - lo) >> 62)

    def p(self, prob):
        return self.rng.random() < prob

    def pick(self, seq):
        return seq[self.r(len(seq))]

    def name(self, prefix):
        self.count += 1
        return f"{prefix}{self.count}"

    def zp(self, dtype, p_zero=0.4):
        if self.p(p_zero) and RANGE[dtype][0] <= 0:
            return 0
        lo, hi = RANGE[dtype]
        return self.ri(lo, hi)

    def values(self, dtype, shape):
        lo, hi = RANGE[dtype]
        k = self.r(10)
        if k == 0:      # only the extremes (saturation at both ends)
            v = self.rng.choice([lo, hi], size=shape)
        elif k == 1:    # small values around 0 (or the low end of unsigned types)
            c = max(lo, 0)
            v = self.rng.integers(max(lo, c - 3), min(hi, c + 3) + 1, size=shape)
        else:
            v = self.rng.integers(lo, hi + 1, size=shape)
        return np.asarray(v).astype(NP[dtype])

    def const(self, prefix, dtype, data):
        n = self.name(prefix)
        self.m.add_tensor(n, dtype, data.shape, data=data)
        return n

    # ------------------------------------------------------------------ tensors and ops
    def shape(self, name):
        return (self.batch,) + tuple(self.m.tensors[name].shape[1:])

    def dtype(self, name):
        return self.m.tensors[name].dtype

    def op(self, op_type, inputs, out_dtype, out_shape, attrs):
        """Add an op with one output (declared at batch 1) and compute it with the reference."""
        out = self.name(op_type[:4] + "_")
        self.m.add_tensor(out, out_dtype, (1,) + tuple(out_shape[1:]))
        op = self.m.add_op(op_type, self.name("op_" + op_type + "_"), inputs, [out], attrs)
        sub = container.Model()
        acts = []
        for n in list(inputs) + [out]:
            if n and n not in sub.tensors:
                sub.tensors[n] = self.m.tensors[n]
                if n != out and self.m.tensors[n].data is None:
                    acts.append(n)
        sub.inputs, sub.outputs, sub.ops = acts, [out], [op]
        try:
            env = ref.run(sub, {n: self.vals[n] for n in acts})
        except ref.AccumulatorOverflow as e:
            self.expect = {"op": len(self.m.ops) - 1, "name": op.name,
                           "flat": int(np.ravel_multi_index(e.coordinate, self._acc_shape(op_type, out_shape)))}
            return None
        got = env[out]
        if got.shape != tuple(out_shape):
            raise AssertionError(f"seed {self.seed}: {op_type} gave {got.shape}, generator expected {out_shape}")
        self.vals[out] = got
        return out

    @staticmethod
    def _acc_shape(op_type, out_shape):
        if op_type == "linear":    # the reference reports linear's (row, m) over flattened rows
            return (int(np.prod(out_shape[:-1])), out_shape[-1])
        return tuple(out_shape)

    # ------------------------------------------------------------------ fixed-point scales
    def fixed(self, real, rounding, signed_ok=True):
        """(multiplier, shift) with multiplier / 2^shift near `real`, random multiplier width."""
        real = max(real, 1e-30)
        bits = self.pick([31, 31, 31, 24, 16, 8, self.ri(2, 31)])
        e = math.floor(math.log2(real))
        s = bits - 1 - e
        if s < 0:
            m, s = min(M31, max(1, round(real))), 0
        elif s > 62:
            m, s = min(M31, round(real * 2.0 ** 62)), 62
        else:
            m = min(M31, round(real * 2.0 ** s))
        if rounding == "tflite" and s < 31 and self.p(0.5):
            # the equivalent pair with shift >= 31 where it exists (TFLite's right-shift form)
            k = 31 - s
            if (m << k) <= M31:
                m, s = m << k, 31
        if self.p(0.25) and m > 0:
            # few significant bits: v·m / 2^s lands on a coarse grid, so ties are frequent
            k = max(0, m.bit_length() - self.ri(1, 4))
            m = (m >> k) << k
        if signed_ok and rounding != "tflite" and self.p(0.1):
            m = -m
        return m, s

    def tie_fixed(self, rounding):
        """(multiplier, shift) whose products land on a coarse grid, so rounding ties (.5) are
        frequent: non-tflite m = odd·2^k with shift k + 1..4; tflite m in {2^30, 3·2^29, 2^29}
        (SRDHM ties for odd or 2 mod 4 inputs) with shift 31 + R, R small (RDBPOT ties)."""
        if rounding == "tflite":
            return self.pick([1 << 30, 3 << 29, 1 << 29]), 31 + self.ri(0, 6)
        odd = 2 * self.ri(0, 7) + 1
        k = self.ri(0, 27)
        m = odd << k
        if self.p(0.15):
            m = -m
        return m, k + self.ri(1, 4)

    def special_fixed(self, rounding):
        """Corner multipliers/shifts: near 2^31, shift 0, shift > 31, large shifts, 0, 1."""
        k = self.r(6)
        if k == 0:
            return M31 - self.r(4), self.pick([0, 1, 30, 31, 32, 40, 62])
        if k == 1:
            return self.ri(0, 50), 0
        if k == 2:
            return self.ri(1 << 29, M31), self.ri(32, 62)
        if k == 3:
            return self.ri(0, M31), self.ri(0, 62)
        if k == 4:
            return self.pick([0, 1]), self.ri(0, 3)
        m, s = self.ri(1, M31), self.ri(0, 30)       # tflite: left shift 31 - s may wrap
        if rounding != "tflite" and self.p(0.3):
            m = -m
        return m, s

    # ------------------------------------------------------------------ ops
    def requantize(self, x, out_dtype=None):
        v = self.vals[x].astype(np.int64)
        shape = self.shape(x)
        ties = self.p(0.3)
        if out_dtype is None:
            # ties need a scale near 1/2..1/16: give them a wide output most of the time
            out_dtype = self.pick(("int16", "int32", "int8") if ties else INT_ACT * 3 + ("int16", "int32"))
        rounding = self.pick(ROUNDINGS)
        olo, ohi = RANGE[out_dtype]
        spread = (ohi - olo) * 2.0 ** self.rng.uniform(-1.5, 0.2)   # the output span the data gets
        # With an offset the data's centre is removed (y = (x·m + b) / 2^s with b = -centre·m), so the
        # scale follows its span; without one it follows max|x| and the zero point centres it.
        centred = rounding != "tflite" and self.p(0.5)
        axes = [a for a in range(1, len(shape)) if shape[a] > 1]
        per_channel = bool(axes) and self.p(0.5)
        if per_channel:
            axis = self.pick(axes) if self.p(0.4) or 1 not in axes else 1
            red = tuple(i for i in range(len(shape)) if i != axis)
            vmin, vmax = v.min(axis=red), v.max(axis=red)
        else:
            axis = 1
            vmin, vmax = np.array([v.min()]), np.array([v.max()])
        c = len(vmin)
        if centred:
            width = np.maximum(vmax - vmin, max(1, int(vmax.max() - vmin.min()) // 16))
        else:
            width = np.maximum(2 * np.maximum(np.abs(vmin), np.abs(vmax)), 1)
        if ties:
            pairs = [self.tie_fixed(rounding)] * c if self.p(0.5) else [self.tie_fixed(rounding) for _ in range(c)]
        else:
            pairs = [self.fixed(spread / int(w), rounding) for w in width]
        if self.p(0.1):
            pairs[self.r(c)] = self.special_fixed(rounding)
        mult, shift = [p[0] for p in pairs], [p[1] for p in pairs]
        if c > 1 and self.p(0.3):
            # one shared shift with per-channel multipliers: the largest that keeps every |m| < 2^31
            s0 = min([sh + 31 - abs(m).bit_length() for m, sh in zip(mult, shift) if m] or [shift[0]])
            s0 = max(0, min(62, s0))
            mult = [max(-M31, min(M31, round(m * 2.0 ** (s0 - sh)))) for m, sh in zip(mult, shift)]
            shift = [s0]
        if rounding == "tflite":
            mult = [max(0, m) for m in mult]
        attrs = {"multiplier": mult, "shift": shift}
        if per_channel and (axis != 1 or self.p(0.3)):
            attrs["axis"] = axis
        if centred:
            sh = shift * c if len(shift) == 1 else shift
            # the jitter is on a grid of 2^(s-3) half the time, so that ties stay possible
            grid = self.p(0.5)
            offs = [-((int(lo) + int(hi)) // 2) * m + (self.ri(-8, 8) << max(0, s_ - 3) if grid else
                                                        self.ri(-(1 << s_), 1 << s_))
                    for lo, hi, m, s_ in zip(vmin, vmax, mult, sh)]
            offs = [max(-(1 << 62) + 1, min((1 << 62) - 1, o)) for o in offs]
            attrs["offset"] = offs if c > 1 or self.p(0.7) else offs[:1]
        elif rounding != "tflite" and self.p(0.2):
            attrs["offset"] = [self.ri(-(1 << 61), 1 << 61)] if self.p(0.2) else \
                [self.ri(-(1 << max(shift)), 1 << max(shift))]
        attrs["rounding"] = rounding
        if self.p(0.8):
            # a zero point that centres the scaled data in the output range (little saturation)
            y = ref.requantize(v, attrs["multiplier"], attrs["shift"], attrs.get("offset", [0]),
                               rounding=rounding, axis=axis, dtype="int32").astype(np.int64)
            mid = (olo + ohi) // 2 - (int(y.min()) + int(y.max())) // 2
            zp = int(min(ohi, max(olo, mid + self.ri(-2, 2))))
        else:
            zp = self.zp(out_dtype)
        if zp or self.p(0.3):
            attrs["zero_point"] = zp
        k = self.r(8)
        if k == 0:
            attrs["lo"] = zp                                  # fused ReLU
        elif k == 1:
            lo = self.ri(olo, ohi)
            attrs["lo"], attrs["hi"] = lo, self.ri(lo, ohi)
        return self.op("requantize", [x], out_dtype, shape, attrs)

    def acc_attrs(self, op_type, inputs, attrs, shape):
        """Maybe a narrow accumulator: width near what the exact sums need, random policy."""
        if not self.p(0.35):
            return attrs
        probe = dict(attrs, overflow="wrap", acc_bits=32)
        exact = self._exact(op_type, inputs, probe, shape)
        need = int(np.abs(exact).max()).bit_length() + 1 if exact.size else 2
        bits = int(min(32, max(2, need + self.ri(-4, 1))))
        policy = self.pick(["wrap", "saturate", "saturate", "error"])
        if policy == "error" and self.p(0.5):
            bits = max(bits, min(32, need + 1))    # probably fits, but partial sums may not
        attrs = dict(attrs, acc_bits=bits)
        if policy != "error" or self.p(0.5):
            attrs["overflow"] = policy
        return attrs

    def _exact(self, op_type, inputs, attrs, shape):
        """The op's int32 result with a wrapping 32-bit accumulator (for choosing acc_bits)."""
        ins = [self.vals[n] if self.m.tensors[n].data is None else
               self.m.tensors[n].data for n in inputs if n]
        if op_type == "conv2d":
            return ref.conv2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None, **attrs)
        if op_type == "linear":
            return ref.linear(ins[0], ins[1], ins[2] if len(ins) > 2 else None, **attrs)
        return ref.matmul(ins[0], ins[1], **attrs)

    def bias(self, cout, small):
        if self.p(0.25):
            return ""
        k = self.r(10)
        if k == 0 and not small:
            b = self.rng.integers(-(1 << 31), 1 << 31, size=cout)   # near the int32 ends
        elif k < 3:
            b = self.rng.integers(-(1 << 20), 1 << 20, size=cout)
        else:
            b = self.rng.integers(-3000, 3001, size=cout)
        return self.const("b", "int32", np.asarray(b, np.int64).astype(np.int32))

    def conv(self, x, same=False, cout=None):
        n, cin, h, w = self.shape(x)
        for _ in range(30):
            divs = [g for g in range(1, cin + 1) if cin % g == 0]
            group = cin if self.p(0.25) else self.pick(divs)
            co = cout or group * self.ri(1, max(1, 6 // group) if group <= 6 else 1)
            if co % group:
                continue
            kh, kw = self.ri(1, 4), self.ri(1, 4)
            dh, dw = (self.ri(1, 3), self.ri(1, 3)) if self.p(0.3) else (1, 1)
            if same:
                kh, kw = self.pick([1, 3]), self.pick([1, 3])
                sh = sw = 1
                pads = [dh * (kh - 1) // 2, dw * (kw - 1) // 2] * 2
            else:
                sh, sw = (self.ri(1, 3), self.ri(1, 3)) if self.p(0.5) else (1, 1)
                pads = [self.ri(0, 3) for _ in range(4)] if self.p(0.6) else [0, 0, 0, 0]
            ho = (h + pads[0] + pads[2] - dh * (kh - 1) - 1) // sh + 1
            wo = (w + pads[1] + pads[3] - dw * (kw - 1) - 1) // sw + 1
            if ho >= 1 and wo >= 1:
                break
        else:
            group, co, kh, kw, dh, dw, sh, sw, pads = 1, cout or 2, 1, 1, 1, 1, 1, 1, [0, 0, 0, 0]
            ho, wo = h, w
        wdt = self.pick(WEIGHT)
        wname = self.const("w", wdt, self.values(wdt, (co, cin // group, kh, kw)))
        attrs = {}
        if (sh, sw) != (1, 1) or self.p(0.2):
            attrs["strides"] = [sh, sw]
        if any(pads) or self.p(0.2):
            attrs["pads"] = pads
        if (dh, dw) != (1, 1) or self.p(0.2):
            attrs["dilations"] = [dh, dw]
        if group != 1 or self.p(0.2):
            attrs["group"] = group
        xzp, wzp = self.zp(self.dtype(x)), self.zp(wdt, 0.7)
        if xzp or self.p(0.3):
            attrs["x_zero_point"] = xzp
        if wzp or self.p(0.2):
            attrs["w_zero_point"] = wzp
        bname = self.bias(co, same)
        ins = [x, wname] + ([bname] if bname else ([""] if self.p(0.2) else []))
        attrs = self.acc_attrs("conv2d", ins, attrs, None)
        return self.op("conv2d", ins, "int32", (n, co, ho, wo), attrs)

    def linear(self, x):
        shape = self.shape(x)
        k = shape[-1]
        mo = self.ri(1, 8)
        wdt = self.pick(WEIGHT)
        wname = self.const("w", wdt, self.values(wdt, (mo, k)))
        attrs = {}
        xzp, wzp = self.zp(self.dtype(x)), self.zp(wdt, 0.7)
        if xzp or self.p(0.3):
            attrs["x_zero_point"] = xzp
        if wzp:
            attrs["w_zero_point"] = wzp
        bname = self.bias(mo, False)
        ins = [x, wname] + ([bname] if bname else [])
        attrs = self.acc_attrs("linear", ins, attrs, None)
        return self.op("linear", ins, "int32", shape[:-1] + (mo,), attrs)

    def matmul(self, a):
        shape = self.shape(a)                 # [N, ..., M, K], rank >= 3
        m_, k = shape[-2:]
        attrs = {}
        choice = self.r(3)
        if choice == 0:                       # a · a^T
            b, tb = a, 1
        elif choice == 1:                     # a · f(a)^T with f shape-preserving
            b, tb = self.same_shape_partner(a, keep_dtype=False, int16_ok=True), 1
            if b is None:
                return None
        else:                                 # a · reshape(a) as [.., K, M]
            b = self.op("reshape", [a], self.dtype(a), shape[:-2] + (k, m_), {"shape": list(shape[1:-2]) + [k, -1]})
            tb = 0
        nb = m_
        if tb:
            attrs["transpose_b"] = 1
        elif self.p(0.3):
            attrs["transpose_b"] = 0
        azp, bzp = self.zp(self.dtype(a)), self.zp(self.dtype(b))
        if azp:
            attrs["a_zero_point"] = azp
        if bzp:
            attrs["b_zero_point"] = bzp
        attrs = self.acc_attrs("matmul", [a, b], attrs, None)
        return self.op("matmul", [a, b], "int32", shape[:-1] + (nb,), attrs)

    def relu(self, x):
        zp = self.zp(self.dtype(x)) if self.dtype(x) != "int32" else self.ri(-1000, 1000)
        return self.op("relu", [x], self.dtype(x), self.shape(x), {"zero_point": zp} if zp or self.p(0.3) else {})

    def clamp(self, x):
        lo, hi = RANGE[self.dtype(x)]
        if self.dtype(x) == "int32":
            lo, hi = -(1 << 20), 1 << 20
        a = self.ri(lo, hi)
        b = self.ri(a, hi)
        attrs = {}
        if self.p(0.8):
            attrs["lo"] = a
        if self.p(0.8):
            attrs["hi"] = b
        return self.op("clamp", [x], self.dtype(x), self.shape(x), attrs)

    def maxpool(self, x, same=False):
        n, c, h, w = self.shape(x)
        for _ in range(30):
            if same:
                k = [self.pick([1, 3]), self.pick([1, 3])]
                s, d = [1, 1], [1, 1]
                pads = [(k[0] - 1) // 2, (k[1] - 1) // 2] * 2
            else:
                k = [self.ri(1, 3), self.ri(1, 3)]
                s = [self.ri(1, 3), self.ri(1, 3)] if self.p(0.6) else list(k)
                d = [self.ri(1, 2), self.ri(1, 2)] if self.p(0.3) else [1, 1]
                pads = [self.ri(0, k[i % 2] - 1) for i in range(4)] if self.p(0.5) else [0, 0, 0, 0]
            ho, ok_h = _windows_ok(h, k[0], s[0], d[0], pads[0], pads[2])
            wo, ok_w = _windows_ok(w, k[1], s[1], d[1], pads[1], pads[3])
            if ok_h and ok_w:
                break
        else:
            k, s, d, pads, ho, wo = [1, 1], [1, 1], [1, 1], [0, 0, 0, 0], h, w
        attrs = {"kernel": k}
        if s != k or self.p(0.3):
            attrs["strides"] = s
        if any(pads) or self.p(0.2):
            attrs["pads"] = pads
        if d != [1, 1] or self.p(0.2):
            attrs["dilations"] = d
        return self.op("maxpool2d", [x], self.dtype(x), (n, c, ho, wo), attrs)

    def pool_scale(self, n, rounding):
        if self.p(0.5):
            s = self.ri(4, 30)
            m = round(2 ** s / n)
        else:
            m, s = self.fixed(1.0 / n * 2.0 ** self.rng.uniform(-1, 1), rounding)
        if rounding == "tflite":
            m = abs(m)
        return max(-M31, min(M31, m)), s

    def avgpool(self, x, same=False):
        n, c, h, w = self.shape(x)
        dt = self.dtype(x)
        for _ in range(30):
            if same:
                k = [self.pick([1, 3]), self.pick([1, 3])]
                s = [1, 1]
                pads = [(k[0] - 1) // 2, (k[1] - 1) // 2] * 2
            else:
                # small even window counts make round_div ties (sum = n/2 mod n) frequent
                k = [self.pick([1, 2, 2, 3, 4]), self.pick([1, 2, 2, 3, 4])]
                s = [self.ri(1, 3), self.ri(1, 3)] if self.p(0.6) else list(k)
                pads = [self.ri(0, k[i % 2] - 1) for i in range(4)] if self.p(0.5) else [0, 0, 0, 0]
            ho = (h + pads[0] + pads[2] - k[0]) // s[0] + 1
            wo = (w + pads[1] + pads[3] - k[1]) // s[1] + 1
            if ho >= 1 and wo >= 1:
                break
        else:
            k, s, pads, ho, wo = [1, 1], [1, 1], [0, 0, 0, 0], h, w
        rounding = self.pick(ROUNDINGS)
        cip = int(self.p(0.4))
        attrs = {"kernel": k}
        if s != k or self.p(0.3):
            attrs["strides"] = s
        if any(pads) or self.p(0.2):
            attrs["pads"] = pads
        if cip or self.p(0.2):
            attrs["count_include_pad"] = cip
        zp = self.zp(dt)
        if zp or self.p(0.2):
            attrs["x_zero_point"] = zp
        attrs["rounding"] = rounding
        counts_h = _inside_counts(h, k[0], s[0], pads[0], ho)
        counts_w = _inside_counts(w, k[1], s[1], pads[1], wo)
        same_n = cip or (len(set(counts_h)) == 1 and len(set(counts_w)) == 1)
        if same_n and self.p(0.5):
            cnt = k[0] * k[1] if cip else counts_h[0] * counts_w[0]
            attrs["multiplier"], attrs["shift"] = self.pool_scale(cnt, rounding)
        return self.op("avgpool2d", [x], dt, (n, c, ho, wo), attrs)

    def gap(self, x):
        n, c, h, w = self.shape(x)
        rounding = self.pick(ROUNDINGS)
        attrs = {"rounding": rounding} if self.p(0.8) else {}
        if self.p(0.4):
            attrs["multiplier"], attrs["shift"] = self.pool_scale(h * w, rounding if attrs else "half_even")
        return self.op("global_avgpool", [x], self.dtype(x), (n, c, 1, 1), attrs)

    def flatten(self, x):
        shape = self.shape(x)
        axis = self.ri(1, len(shape) - 1)
        out = shape[:axis] + (int(np.prod(shape[axis:])),)
        return self.op("flatten", [x], self.dtype(x), out, {"axis": axis} if axis != 1 or self.p(0.5) else {})

    def reshape(self, x, rank=None):
        shape = self.shape(x)
        per = int(np.prod(shape[1:]))
        parts = rank - 1 if rank else self.ri(1, 4)
        dims = _factor(per, parts, self.rng)
        spec = list(dims)
        if self.p(0.4):
            spec[self.r(parts)] = -1
        return self.op("reshape", [x], self.dtype(x), (shape[0],) + tuple(dims), {"shape": spec})

    def same_shape_partner(self, x, keep_dtype, int16_ok=False):
        """A tensor of x's shape computed from x (and of x's dtype if keep_dtype)."""
        dt = self.dtype(x)
        rank = len(self.shape(x))
        opts = ["self"]
        if dt in INT_ACT:
            opts += ["relu", "clamp"]
            if rank == 4:
                opts += ["maxpool", "avgpool", "conv"]
        if dt in ("int8", "int16") or (dt in INT_ACT and rank == 4):
            opts += ["requant"]
        k = self.pick(opts)
        if k == "self":
            return x
        if k == "relu":
            return self.relu(x)
        if k == "clamp":
            return self.clamp(x)
        if k == "maxpool":
            return self.maxpool(x, same=True)
        if k == "avgpool":
            return self.avgpool(x, same=True)
        if k == "requant" and dt in ("int8", "int16"):
            return self.requantize(x, dt if keep_dtype else self.pick(INT_ACT + (("int16",) if int16_ok else ())))
        acc = self.conv(x, same=True, cout=self.shape(x)[1])
        if acc is None:
            return None
        return self.requantize(acc, dt if keep_dtype else self.pick(INT_ACT + (("int16",) if int16_ok else ())))

    def add(self, a):
        b = self.same_shape_partner(a, keep_dtype=False, int16_ok=True)
        if b is None:
            return None
        if self.p(0.5):
            a, b = b, a
        da, db = self.dtype(a), self.dtype(b)
        out_dt = self.pick(INT_ACT * 2 + ("int16",))
        rounding = self.pick(ROUNDINGS)
        azp, bzp = self.zp(da), self.zp(db)
        a0, b0 = _maxabs_diff(da, azp), _maxabs_diff(db, bzp)
        max_ls = 0
        while max(a0, b0) << (max_ls + 1) < (1 << 31) and max_ls < 30:
            max_ls += 1
        style = self.r(3)
        if style == 0:                                    # same scale
            ls, ma, sa, mb, sb = 0, 1, 0, 1, 0
        elif style == 1:                                  # TFLite-like: 2·max scale, left shift 20
            ls = min(20, max_ls)
            sca, scb = 2.0 ** self.rng.uniform(-6, 1), 2.0 ** self.rng.uniform(-6, 1)
            twice = 2 * max(sca, scb)
            ma, sa = self.fixed(sca / twice, rounding, signed_ok=False)
            mb, sb = self.fixed(scb / twice, rounding, signed_ok=False)
        else:                                             # anything the bound allows
            ls = self.ri(0, max_ls)
            ma, sa = self.special_fixed(rounding) if self.p(0.3) else (self.ri(-M31, M31), self.ri(0, 62))
            mb, sb = self.special_fixed(rounding) if self.p(0.3) else (self.ri(-M31, M31), self.ri(0, 62))
            if rounding == "tflite":
                ma, mb = abs(ma), abs(mb)
        va, vb = a0 << ls, b0 << ls
        while scale_bound(va, ma, sa, rounding) + scale_bound(vb, mb, sb, rounding) >= (1 << 31):
            if sa < 62 and (scale_bound(va, ma, sa, rounding) >= scale_bound(vb, mb, sb, rounding) or sb >= 62):
                sa += 1
            elif sb < 62:
                sb += 1
            else:
                ma, mb = ma // 2, mb // 2
        # the output stage from the values the inputs actually give
        a1 = (self.vals[a].astype(np.int64) - azp) << ls
        b1 = (self.vals[b].astype(np.int64) - bzp) << ls
        s2 = ref.scale_round(a1, ma, 0, sa, rounding) + ref.scale_round(b1, mb, 0, sb, rounding)
        olo, ohi = RANGE[out_dt]
        target = (ohi - olo) / 2 * 2.0 ** self.rng.uniform(-1.5, 0.5)
        if style == 0 and self.p(0.5):
            mo, so = 1, self.ri(0, 3)
        elif self.p(0.3):
            mo, so = self.tie_fixed(rounding)
        else:
            mo, so = self.fixed(target / max(int(np.abs(s2).max()) if s2.size else 1, 1), rounding)
            if rounding == "tflite":
                mo = abs(mo)
        attrs = {}
        for key, val, default in (("a_zero_point", azp, 0), ("b_zero_point", bzp, 0), ("left_shift", ls, 0),
                                  ("a_multiplier", ma, 1), ("a_shift", sa, 0), ("b_multiplier", mb, 1),
                                  ("b_shift", sb, 0), ("out_multiplier", mo, 1), ("out_shift", so, 0)):
            if val != default or self.p(0.2):
                attrs[key] = val
        ozp = self.zp(out_dt)
        if ozp or self.p(0.3):
            attrs["out_zero_point"] = ozp
        if rounding != "half_even" or self.p(0.5):
            attrs["rounding"] = rounding
        if self.p(0.3):
            attrs["lo"] = max(ozp, olo)
        if self.p(0.2):
            attrs["hi"] = self.ri(attrs.get("lo", olo), ohi)
        return self.op("add", [a, b], out_dt, self.shape(a), attrs)

    def concat(self, x):
        shape = self.shape(x)
        rank = len(shape)
        axis = self.ri(1, rank - 1)
        ins = [x]
        for _ in range(self.r(4)):
            if rank == 4 and axis == 1 and self.dtype(x) in INT_ACT and self.p(0.4):
                acc = self.conv(x, same=True, cout=self.ri(1, 4))
                t = self.requantize(acc, self.dtype(x)) if acc is not None else None
            else:
                t = self.same_shape_partner(x, keep_dtype=True)
            if t is None:
                return None
            ins.append(t)
        if self.p(0.5):
            self.rng.shuffle(ins)
        out = list(shape)
        out[axis] = sum(self.shape(t)[axis] for t in ins)
        spec = axis - rank if self.p(0.3) else axis
        return self.op("concat", ins, self.dtype(x), tuple(out), {"axis": spec})

    def dequantize(self, x):
        dt = self.dtype(x)
        attrs = {"scale": float(2.0 ** self.rng.uniform(-12, 4))}
        zp = self.zp(dt) if dt != "int32" else self.ri(-(1 << 20), 1 << 20)
        if zp or self.p(0.3):
            attrs["zero_point"] = zp
        return self.op("dequantize", [x], "float32", self.shape(x), attrs)

    # ------------------------------------------------------------------ the graph
    def start(self):
        kind = self.r(8)
        rank = 4 if kind < 6 else self.pick([3, 3, 2, 5])
        if rank == 4:
            shape = (self.batch, self.ri(1, 6), self.ri(1, 9), self.ri(1, 9))
        else:
            shape = (self.batch,) + tuple(self.ri(1, 6) for _ in range(rank - 1))
        name = self.name("in_")
        if self.p(0.2):
            # float input through quantize: normal values, ties, NaN, infinities, huge, -0.0
            self.m.add_tensor(name, "float32", (1,) + shape[1:])
            scale = float(2.0 ** self.rng.uniform(-8, 3))
            dt = self.pick(INT_ACT + ("int16",))
            lo, hi = RANGE[dt]
            s32 = float(np.float32(scale))
            x = (self.rng.standard_normal(shape) * s32 * (hi - lo) / 4).astype(np.float32)
            flat = x.reshape(-1)
            for i in range(flat.size):
                k = self.r(12)
                if k == 0:
                    flat[i] = (self.ri(lo, hi) + 0.5) * s32
                elif k == 1:
                    flat[i] = self.pick([np.nan, np.inf, -np.inf, 3e38, -3e38, -0.0, 1e-40])
            self.vals[name] = x
            self.m.inputs = [name]
            attrs = {"scale": scale}
            zp = self.zp(dt)
            if zp or self.p(0.3):
                attrs["zero_point"] = zp
            if self.p(0.3):
                a = self.ri(lo, hi)
                attrs["lo"], attrs["hi"] = a, self.ri(a, hi)
            return self.op("quantize", [name], dt, shape, attrs)
        dt = self.pick(INT_ACT)
        self.m.add_tensor(name, dt, (1,) + shape[1:])
        self.vals[name] = self.values(dt, shape)
        self.m.inputs = [name]
        return name

    def step(self, x):
        dt, shape = self.dtype(x), self.shape(x)
        rank = len(shape)
        if dt == "int32":
            opts = ["requant"] * 8 + ["relu", "clamp", "reshape", "flatten"] + (["maxpool"] if rank == 4 else [])
        elif dt == "int16":
            opts = ["requant"] * 4 + ["add", "reshape", "concat"] + (["matmul"] if rank >= 3 else [])
        elif rank == 4:
            opts = (["conv"] * 6 + ["maxpool", "maxpool", "avgpool", "avgpool", "gap", "relu", "clamp", "add",
                                     "add", "concat", "flatten", "reshape", "linear", "matmul"]
                    + (["requant"] if dt == "int8" else []))
        else:
            opts = (["linear"] * 4 + ["matmul"] * (3 if rank >= 3 else 0) + ["add", "concat", "relu", "clamp",
                                                                             "reshape4"]
                    + (["requant"] if dt == "int8" else []))
        k = self.pick(opts)
        per = int(np.prod(shape[1:]))
        if k == "requant":
            return self.requantize(x)
        if k == "conv":
            return self.conv(x)
        if k == "linear":
            return self.linear(x)
        if k == "matmul":
            if rank < 3:
                x = self.reshape(x, rank=3)
            return self.matmul(x)
        if k == "relu":
            return self.relu(x)
        if k == "clamp":
            return self.clamp(x)
        if k == "maxpool":
            return self.maxpool(x)
        if k == "avgpool":
            return self.avgpool(x)
        if k == "gap":
            return self.gap(x)
        if k == "add":
            return self.add(x)
        if k == "concat":
            return self.concat(x) if per <= 400 else self.relu(x) if dt != "int16" else self.requantize(x)
        if k == "flatten":
            return self.flatten(x)
        if k == "reshape":
            return self.reshape(x)
        if k == "reshape4":
            return self.reshape(x, rank=4)
        raise AssertionError(k)

    def build(self):
        x = self.start()
        outputs = []
        for _ in range(self.ri(2, 9)):
            if x is None or self.expect:
                break
            if int(np.prod(self.shape(x)[1:])) > 600:     # keep graphs small: shrink
                if self.dtype(x) in ("int32", "int16"):
                    x = self.requantize(x, self.pick(INT_ACT))
                elif len(self.shape(x)) == 4:
                    x = self.gap(x)
                else:
                    x = self.reshape(x, rank=4)
                continue
            prev = x
            x = self.step(x)
            if self.p(0.1) and prev not in outputs and prev not in self.m.inputs:
                outputs.append(prev)                       # an extra graph output
        if x is not None and not self.expect and self.p(0.3):
            x = self.dequantize(x)
        if self.expect:
            x = self.m.ops[-1].outputs[0]
        if x is None:
            raise AssertionError(f"seed {self.seed}: the graph ended without a tensor")
        self.m.outputs = [x] + [o for o in outputs if o != x]
        name = self.m.inputs[0]
        return self.m, {name: self.vals[name]}, self.expect


def make(seed):
    """(model, feeds, expect) for one seed; see the module docstring."""
    return _Gen(seed).build()
