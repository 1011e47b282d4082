"""Bound Torch2Chip model (checkpoint.Bound) -> t2c container Model, in two arithmetic modes.

compat   Torch2Chip's own arithmetic: integer conv/matmul between the binary32 ops of the
         compat set (ops/README.md "Float32 compat ops"): conv2d_f32 at the stem, mulshift_f32,
         add_f32, maxpool2d_f32, global_avgpool_f32, and the `quantize` op for each layer's
         input quantizer (its binary32 product and round-half-to-even are Torch2Chip's).
integer  the same model integer-only: the image quantized once at the stem, every MulShift and
         the next layer's quantizer folded into one `requantize`, residual streams as int16
         fixed point with `frac_bits` fractional bits (int32 where a max pool reads them),
         integer adds and pools; the logits are int32 with `out_frac_bits` fractional bits.

Op and tensor names follow Torch2Chip's module names: the conv/matmul of module M is op
"M.conv.ops" / "M.linear.ops" (Torch2Chip's hook names, so its tensors/ map onto them), its input
quantizer "M.conv.aq", its MulShift "M.scaler". Every activation tensor has the name of the op that
writes it.
"""

import math
from fractions import Fraction
from typing import Dict, List, Tuple

import numpy as np

from ..container import Floats, Ints, Model
from .archs import GAP, Add, Flatten, MaxPool, QConv, QLinear
from .checkpoint import Bound

# ImageNet preprocessing of Torch2Chip's vision scripts (torchvision eval transform)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
WEIGHT_ZSTD_LEVEL = 3
PRODUCER = "t2c.torch2chip 0.1.0"


def default_input_scale(bits: int = 8) -> float:
    """Symmetric step covering every normalized ImageNet pixel: max|(p - mean)/std| / (2^(bits-1) - 1)."""
    m = max(max(mu / sd, (1 - mu) / sd) for mu, sd in zip(IMAGENET_MEAN, IMAGENET_STD))
    return m / ((1 << (bits - 1)) - 1)


def default_frac_bits(bound: Bound, stream_bits: int = 16, headroom: float = 4.0) -> int:
    """Fractional bits of the int16 streams: the largest quantizer clip range (hi / scale) times
    `headroom` must fit. Torch2Chip's float activations are unbounded; values beyond the range
    saturate (reported by compare tools)."""
    r = max(q.hi / float(q.scale) for q in (l.quant for l in bound.layers.values()) if q is not None)
    f = (stream_bits - 1) - math.ceil(math.log2(r * headroom))
    return max(0, min(f, bound.fl))


def _conv_out(n, size):
    return (size + 2 * n.pad - n.k) // n.stride + 1


class _Builder:
    def __init__(self, bound: Bound, mode: str, name: str, labels=None, wnids=None):
        self.b = bound
        self.m = Model()
        self.shapes: Dict[str, Tuple[int, ...]] = {}
        arch = bound.arch
        meta = self.m.meta
        meta["model.name"] = name
        meta["model.producer"] = PRODUCER
        meta["model.description"] = (
            f"Torch2Chip fused {arch.name} (W{bound.wbit}A{bound.abit}, MulShift fl={bound.fl}), "
            f"{mode} mode" + (": Torch2Chip's binary32 arithmetic (compat ops)" if mode == "compat"
                              else ": integer-only"))
        meta["input.layout"] = "NCHW"
        meta["input.color"] = "RGB"
        meta["preprocess.resize"] = 256 if arch.input_shape[2] == 224 else arch.input_shape[2]
        meta["preprocess.resize_mode"] = "shorter"
        meta["preprocess.interpolation"] = "bilinear"
        meta["preprocess.crop"] = [arch.input_shape[2], arch.input_shape[3]]
        meta["preprocess.mean"] = list(IMAGENET_MEAN)
        meta["preprocess.std"] = list(IMAGENET_STD)
        meta["torch2chip.arch"] = arch.name
        meta["torch2chip.mode"] = mode
        meta["torch2chip.wbit"] = bound.wbit
        meta["torch2chip.abit"] = bound.abit
        meta["torch2chip.fl"] = bound.fl
        self.labels, self.wnids = labels, wnids
        self.taps: Dict[str, dict] = {}   # per IR node / conv input: tensor and real step

    # ---- graph helpers
    def act(self, name, dtype, shape):
        self.m.add_tensor(name, dtype, shape)
        self.shapes[name] = tuple(shape)
        return name

    def const(self, name, dtype, data):
        big = np.asarray(data).size >= 4096
        self.m.add_tensor(name, dtype, np.asarray(data).shape, data=data,
                          compress=WEIGHT_ZSTD_LEVEL if big else 0)
        return name

    def op(self, typ, name, inputs, out_dtype, out_shape, **attrs):
        self.act(name, out_dtype, out_shape)
        self.m.add_op(typ, name, inputs, [name], attrs)
        return name

    def finish(self, output):
        if self.labels:
            self.m.meta["labels"] = list(self.labels)
        if self.wnids:
            self.m.meta["labels.wnid"] = list(self.wnids)
        self.m.outputs = [output]
        return self.m

    def conv_geom(self, n: QConv, x):
        N, C, H, W = self.shapes[x]
        return (1, n.cout, _conv_out(n, H), _conv_out(n, W))

    def weight(self, n):
        L = self.b.layers[n.name]
        suffix = ".conv.qweight" if isinstance(n, QConv) else ".linear.qweight"
        return self.const(n.name + suffix, L.wdtype, L.weight)

    def conv_attrs(self, n):
        a = dict(strides=[n.stride, n.stride], pads=[n.pad] * 4)
        if n.groups != 1:
            a["group"] = n.groups
        return a


# ------------------------------------------------------------------------------------ compat

def lower_compat(bound: Bound, name=None, labels=None, wnids=None) -> Tuple[Model, dict]:
    """Torch2Chip's arithmetic, step for step. Returns (model, taps)."""
    arch = bound.arch
    bd = _Builder(bound, "compat", name or f"{arch.name}-t2c-w{bound.wbit}a{bound.abit}-compat",
                  labels, wnids)
    bd.act("input", "float32", arch.input_shape)
    bd.m.inputs = ["input"]
    rep = {"input": "input"}
    qcache = {}
    for n in arch.nodes:
        if isinstance(n, (QConv, QLinear)):
            L = bound.layers[n.name]
            kind = "conv" if isinstance(n, QConv) else "linear"
            src = rep[n.src]
            if L.quant is None:
                x = src
            else:
                q = L.quant
                ck = (src, q.key())
                if ck not in qcache:
                    attrs = dict(scale=q.quantize_scale())
                    if q.lo != 0:
                        attrs["lo"] = q.lo
                    if q.hi != (15 if q.dtype == "uint4" else 255):
                        attrs["hi"] = q.hi
                    qcache[ck] = bd.op("quantize", f"{n.name}.{kind}.aq", [src], q.dtype, bd.shapes[src],
                                       **attrs)
                x = qcache[ck]
                bd.taps[n.name + ".x1"] = dict(tensor=x, step=1.0, kind="int")
            w = bd.weight(n)
            opname = f"{n.name}.{kind}.ops"
            if kind == "conv":
                shape = bd.conv_geom(n, x)
                if L.quant is None or L.conv_bias is not None:
                    ins = [x, w]
                    if L.conv_bias is not None:
                        ins.append(bd.const(n.name + ".conv.bias", "float32", L.conv_bias))
                    acc = bd.op("conv2d_f32", opname, ins, "float32", shape, **bd.conv_attrs(n))
                else:
                    acc = bd.op("conv2d", opname, [x, w], "int32", shape, **bd.conv_attrs(n))
            else:
                shape = (1, n.cout)
                acc = bd.op("linear", opname, [x, w], "int32", shape)
            attrs = dict(scale=Floats([float(v) for v in L.S]), bias=Floats([float(v) for v in L.B]),
                         shift=bound.fl)
            if n.relu:
                attrs["relu"] = 1
            rep[n.name] = bd.op("mulshift_f32", n.name + ".scaler", [acc], "float32", shape, **attrs)
            bd.taps[n.name] = dict(tensor=rep[n.name], step=1.0, kind="float")
        elif isinstance(n, MaxPool):
            x = rep[n.src]
            N, C, H, W = bd.shapes[x]
            o = (H + 2 * n.pad - n.k) // n.stride + 1
            attrs = dict(kernel=[n.k, n.k], strides=[n.stride, n.stride])
            if n.pad:
                attrs["pads"] = [n.pad] * 4
            rep[n.name] = bd.op("maxpool2d_f32", n.name, [x], "float32", (1, C, o, o), **attrs)
            bd.taps[n.name] = dict(tensor=rep[n.name], step=1.0, kind="float")
        elif isinstance(n, Add):
            a, b = rep[n.a], rep[n.b]
            attrs = dict(relu=1) if n.relu else {}
            rep[n.name] = bd.op("add_f32", n.name, [a, b], "float32", bd.shapes[a], **attrs)
            bd.taps[n.name] = dict(tensor=rep[n.name], step=1.0, kind="float")
        elif isinstance(n, GAP):
            x = rep[n.src]
            N, C, H, W = bd.shapes[x]
            rep[n.name] = bd.op("global_avgpool_f32", n.name, [x], "float32", (1, C, 1, 1))
            bd.taps[n.name] = dict(tensor=rep[n.name], step=1.0, kind="float")
        elif isinstance(n, Flatten):
            x = rep[n.src]
            rep[n.name] = bd.op("flatten", n.name, [x], "float32", (1, int(np.prod(bd.shapes[x][1:]))))
        else:
            raise TypeError(n)
    bd.m.meta["output.scale"] = 1.0
    return bd.finish(rep[arch.output]), bd.taps


# ------------------------------------------------------------------------------------ integer

def _fixed_point(M: Fraction, O: Fraction, max_shift: int = 62):
    """(m, off, shift) with acc*M + O ~= (acc*m + off) / 2^shift: the largest shift (<= max_shift)
    that keeps |m| < 2^31 and |off| < 2^62."""
    lim_m, lim_o = (1 << 31) - 1, (1 << 62) - 1
    if M == 0:
        k = max_shift
    else:
        k = math.floor(math.log2(lim_m / abs(M))) + 1
    k = min(k, max_shift)
    while True:
        if k < 0:
            raise ValueError(f"scale {float(M)} needs a multiplier >= 2^31")
        m = round(M * (1 << k))
        off = round(O * (1 << k))
        if abs(m) <= lim_m and abs(off) <= lim_o:
            return int(m), int(off), int(k)
        k -= 1


class _IntLowering:
    def __init__(self, bound: Bound, frac_bits: int, out_frac_bits: int, input_scale: float,
                 input_bits: int, name, labels, wnids):
        self.b = bound
        self.F = frac_bits
        self.Fo = out_frac_bits
        arch = bound.arch
        self.bd = _Builder(bound, "integer",
                           name or f"{arch.name}-t2c-w{bound.wbit}a{bound.abit}-int", labels, wnids)
        self.prod: Dict[str, tuple] = {}   # IR name -> producer description
        self.cache: Dict[tuple, str] = {}
        self.consumers_of: Dict[str, List[object]] = {}
        for n in arch.nodes:
            for s in ([n.a, n.b] if isinstance(n, Add) else [n.src]):
                self.consumers_of.setdefault(s, []).append(n)
        # graph input: the image quantized once (the `quantize` op's recipe, done by the caller)
        dt = "int8" if input_bits == 8 else "int4"
        self.bd.act("input", dt, arch.input_shape)
        self.bd.m.inputs = ["input"]
        meta = self.bd.m.meta
        meta["input.scale"] = float(input_scale)
        meta["input.zero_point"] = 0
        meta["torch2chip.frac_bits"] = frac_bits
        inv = np.float32(1.0) / np.float32(input_scale)   # what quantize multiplies by
        self.prod["input"] = ("input", "input", Fraction(1) / Fraction(float(inv)))

    # -- requantize helpers
    def requant(self, name, src, out_dtype, M, O, lo=None, hi=None):
        """y = clamp(round((acc * M[c] + O[c])), lo, hi) per channel (axis 1)."""
        ms, offs, shs = [], [], []
        for Mc, Oc in zip(M, O):
            m, off, k = _fixed_point(Mc, Oc)
            ms.append(m)
            offs.append(off)
            shs.append(k)
        if len(set(zip(ms, offs, shs))) == 1:
            ms, offs, shs = ms[:1], offs[:1], shs[:1]
        attrs = dict(multiplier=Ints(ms), shift=Ints(shs))
        if any(offs):
            attrs["offset"] = Ints(offs)
        if lo is not None:
            attrs["lo"] = int(lo)
        if hi is not None:
            attrs["hi"] = int(hi)
        return self.bd.op("requantize", name, [src], out_dtype, self.bd.shapes[src], **attrs)

    def cast(self, src, dtype):
        """int16 <-> int32 with saturation: requantize with multiplier 1, shift 0."""
        key = ("cast", src, dtype)
        if key not in self.cache:
            self.cache[key] = self.bd.op("requantize", f"{src}.{dtype}", [src], dtype, self.bd.shapes[src],
                                         multiplier=Ints([1]), shift=Ints([0]))
        return self.cache[key]

    # -- representations of an IR value
    def get(self, ir: str, want: tuple, consumer: str) -> str:
        """want = ("q", Quantizer) or ("s", dtype)."""
        key = (ir, want[0], want[1].key() if want[0] == "q" else want[1])
        if key in self.cache:
            return self.cache[key]
        p = self.prod[ir]
        kind = p[0]
        bd = self.bd
        if kind == "acc":
            _, acc, L, step, relu = p
            S = [Fraction(float(v)) for v in L.S]
            B = [Fraction(float(v)) for v in L.B]
            if len(S) == 1 and len(B) > 1:
                S = S * len(B)
            if len(B) == 1 and len(S) > 1:
                B = B * len(S)
            cb = [Fraction(float(v)) for v in L.conv_bias] if L.conv_bias is not None else [0] * len(S)
            two_fl = Fraction(1, 1 << self.b.fl)
            if want[0] == "q":
                q = want[1]
                s = Fraction(float(q.scale))
                M = [Sc * step * two_fl * s for Sc in S]
                O = [(cbc * Sc + Bc) * two_fl * s for Sc, Bc, cbc in zip(S, B, cb)]
                out = self.requant(f"{ir}.scaler+{consumer}.aq", acc, q.dtype, M, O, q.lo, q.hi)
            else:
                dt = want[1]
                f = Fraction(1 << self.F)
                M = [Sc * step * two_fl * f for Sc in S]
                O = [(cbc * Sc + Bc) * two_fl * f for Sc, Bc, cbc in zip(S, B, cb)]
                out = self.requant(f"{ir}.scaler.fx", acc, dt, M, O, 0 if relu else None)
        elif kind == "stream":
            _, t, dt = p
            if want[0] == "q":
                q = want[1]
                s = Fraction(float(q.scale))
                out = self.requant(f"{t}+{consumer}.aq", t, q.dtype, [s / (1 << self.F)], [Fraction(0)],
                                   q.lo, q.hi)
            else:
                out = t if want[1] == dt else self.cast(t, want[1])
        elif kind == "flatten":
            _, src = p
            x = self.get(src, want, consumer)
            shape = (1, int(np.prod(bd.shapes[x][1:])))
            nm = ir if not any(k[0] == ir for k in self.cache) else f"{ir}.{len(self.cache)}"
            out = bd.op("flatten", nm, [x], bd.m.tensors[x].dtype, shape)
        elif kind == "gap":
            _, src = p
            x = self.get(src, ("s", "int16"), consumer)
            N, Cc, H, W = bd.shapes[x]
            if want[0] == "q":
                # one rounding: round(sum * scale / (H*W) / 2^F) into int16, then clamp to the quantizer
                q = want[1]
                Mg = Fraction(float(q.scale)) / (H * W) / (1 << self.F)
                m, _, k = _fixed_point(Mg, Fraction(0))
                g = bd.op("global_avgpool", f"{ir}+{consumer}.aq", [x], "int16", (1, Cc, 1, 1),
                          multiplier=m, shift=k)
                out = bd.op("requantize", f"{ir}+{consumer}.aq.clamp", [g], q.dtype, (1, Cc, 1, 1),
                            multiplier=Ints([1]), shift=Ints([0]), lo=q.lo, hi=q.hi)
            else:
                g = bd.op("global_avgpool", ir, [x], "int16", (1, Cc, 1, 1))
                out = g if want[1] == "int16" else self.cast(g, want[1])
        elif kind == "input":
            raise ValueError("the graph input feeds only the stem conv")
        else:
            raise TypeError(kind)
        self.cache[key] = out
        return out

    def run(self) -> Tuple[Model, dict]:
        arch, bd = self.b.arch, self.bd
        for n in arch.nodes:
            if isinstance(n, (QConv, QLinear)):
                L = self.b.layers[n.name]
                kind = "conv" if isinstance(n, QConv) else "linear"
                if L.quant is None:
                    src = self.prod[n.src]
                    if src[0] != "input":
                        raise ValueError(f"{n.name}: an unquantized conv must read the image")
                    x, step = src[1], src[2]
                else:
                    x, step = self.get(n.src, ("q", L.quant), n.name), Fraction(1)
                    bd.taps[n.name + ".x1"] = dict(tensor=x, step=1.0, kind="int")
                w = bd.weight(n)
                opname = f"{n.name}.{kind}.ops"
                if kind == "conv":
                    acc = bd.op("conv2d", opname, [x, w], "int32", bd.conv_geom(n, x), **bd.conv_attrs(n))
                else:
                    acc = bd.op("linear", opname, [x, w], "int32", (1, n.cout))
                self.prod[n.name] = ("acc", acc, L, step, n.relu)
            elif isinstance(n, MaxPool):
                x = self.get(n.src, ("s", "int32"), n.name)
                N, C, H, W = bd.shapes[x]
                o = (H + 2 * n.pad - n.k) // n.stride + 1
                attrs = dict(kernel=[n.k, n.k], strides=[n.stride, n.stride])
                if n.pad:
                    attrs["pads"] = [n.pad] * 4
                t = bd.op("maxpool2d", n.name, [x], "int32", (1, C, o, o), **attrs)
                self.prod[n.name] = ("stream", t, "int32")
                bd.taps[n.name] = dict(tensor=t, step=2.0 ** -self.F, kind="fixed")
            elif isinstance(n, Add):
                a = self.get(n.a, ("s", "int16"), n.name)
                b = self.get(n.b, ("s", "int16"), n.name)
                attrs = dict(lo=0) if n.relu else {}
                t = bd.op("add", n.name, [a, b], "int16", bd.shapes[a], **attrs)
                self.prod[n.name] = ("stream", t, "int16")
                bd.taps[n.name] = dict(tensor=t, step=2.0 ** -self.F, kind="fixed")
            elif isinstance(n, GAP):
                self.prod[n.name] = ("gap", n.src)
            elif isinstance(n, Flatten):
                self.prod[n.name] = ("flatten", n.src)
            else:
                raise TypeError(n)
        # logits: int32 with Fo fractional bits
        p = self.prod[arch.output]
        _, acc, L, step, relu = p
        f = Fraction(1 << self.Fo, 1 << self.b.fl)
        S = [Fraction(float(v)) for v in L.S]
        B = [Fraction(float(v)) for v in L.B]
        if len(S) == 1:
            S = S * len(B)
        if len(B) == 1:
            B = B * len(S)
        out = self.requant(f"{arch.output}.scaler", acc, "int32", [Sc * step * f for Sc in S],
                           [Bc * f for Bc in B], 0 if relu else None)
        bd.m.meta["output.scale"] = 2.0 ** -self.Fo
        bd.m.meta["output.zero_point"] = 0
        bd.taps[arch.output] = dict(tensor=out, step=2.0 ** -self.Fo, kind="fixed")
        return bd.finish(out), bd.taps


def lower_integer(bound: Bound, frac_bits=None, out_frac_bits=16, input_scale=None, input_bits=8,
                  name=None, labels=None, wnids=None) -> Tuple[Model, dict]:
    """The integer-only graph. Returns (model, taps)."""
    if frac_bits is None:
        frac_bits = default_frac_bits(bound)
    if not 0 <= frac_bits <= 30 or not 0 <= out_frac_bits <= 30:
        raise ValueError("frac_bits and out_frac_bits must be 0..30")
    if input_scale is None:
        input_scale = default_input_scale(input_bits)
    lw = _IntLowering(bound, frac_bits, out_frac_bits, input_scale, input_bits, name, labels, wnids)
    return lw.run()
