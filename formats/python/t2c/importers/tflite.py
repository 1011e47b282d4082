"""TFLite INT8 model -> .t2c, with the integers of TFLite's reference kernels.

    from t2c.importers.tflite import import_tflite
    model, report = import_tflite("mobilenet_v2.tflite")
    container.write(model, "mobilenet_v2.t2c")

The mapping of each TFLite op to t2c ops, and how multipliers/shifts are derived, is documented
in formats/python/t2c/importers/README.md. In short: t2c is NCHW, so NHWC activations become NCHW
tensors, weights are transposed, and TRANSPOSE ops that only change the layout disappear; PAD with
the zero point folds into the following convolution; each CONV_2D / DEPTHWISE_CONV_2D /
FULLY_CONNECTED becomes conv2d/linear (int32) + requantize (rounding "tflite"), with TFLite's
QuantizeMultiplier applied to the double scales and t2c shift = 31 - TFLite shift.
"""

import os
from dataclasses import dataclass

import numpy as np

from .common import (INT_RANGE, Builder, ImportFailure, add_metadata, t2c_shift_of, tflite_mbqm,
                     tflite_quantize_multiplier)
from .tflite_schema import ACTIVATIONS, PADDINGS, FlatbufferError, TfModel, read_tflite

__all__ = ["import_tflite", "ImportFailure", "quantize_multiplier", "activation_range", "SUPPORTED_OPS"]

SUPPORTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "AVERAGE_POOL_2D", "MAX_POOL_2D",
                 "MEAN", "PAD", "RESHAPE", "TRANSPOSE", "CONCATENATION", "QUANTIZE", "DEQUANTIZE")
NHWC = (0, 3, 1, 2)  # t2c (NCHW) dim k is TFLite (NHWC) dim NHWC[k]


def quantize_multiplier(d):
    """TFLite's QuantizeMultiplier: double -> (multiplier, tflite_shift)."""
    return tflite_quantize_multiplier(d)


def activation_range(act, scale, zero_point, dtype):
    """TFLite's CalculateActivationRangeQuantized: (lo, hi) of a fused activation, with
    q(f) = zero_point + round_half_away(f / scale) computed in float32."""
    qmin, qmax = INT_RANGE[dtype]

    def q(f):
        t = np.float32(f) / np.float32(scale)
        return int(zero_point) + int(np.copysign(np.floor(np.abs(t) + np.float32(0.5)), t))

    if act == "NONE":
        return qmin, qmax
    if act == "RELU":
        return max(qmin, q(0.0)), qmax
    if act == "RELU6":
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if act == "RELU_N1_TO_1":
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    raise ValueError(act)


@dataclass
class _Val:
    """A TFLite tensor as it exists in the t2c graph."""
    name: str                 # t2c tensor
    perm: tuple               # t2c dim k = TFLite dim perm[k]
    tfl_shape: tuple
    dtype: str
    scale: object = None      # np.float32 or None
    zp: int = 0
    pads: tuple = (0, 0, 0, 0)  # pending PAD (top, left, bottom, right), consumed by a conv only
    pad_op: int = -1

    @property
    def shape(self):
        return tuple(self.tfl_shape[p] for p in self.perm)


def _same_order(shape, perm_a, perm_b):
    """True when two layouts of `shape` have the same row-major element order (they differ only in
    where size-1 dims sit)."""
    return [p for p in perm_a if shape[p] != 1] == [p for p in perm_b if shape[p] != 1]


class _Importer:
    def __init__(self, tm: TfModel, name):
        self.tm = tm
        self.b = Builder()
        self.vals = {}
        self.views = {}
        self.report = []
        self.name = name
        self.consumers = {}
        for op in tm.ops:
            for t in op.inputs:
                if t >= 0:
                    self.consumers.setdefault(t, []).append(op)

    # ------------------------------------------------------------ helpers
    def fail(self, op, problem):
        if op is None:
            raise ImportFailure(f"{self.tm.source}: {problem}")
        out = self.tm.tensors[op.outputs[0]].name if op.outputs else ""
        raise ImportFailure(f"{self.tm.source}: op #{op.index} {op.opcode} ('{out}'): {problem}")

    def T(self, i):
        return self.tm.tensors[i]

    def const(self, op, i, what):
        if i < 0:
            self.fail(op, f"{what} is missing")
        t = self.T(i)
        if t.data is None:
            self.fail(op, f"{what} '{t.name}' must be a constant (it is computed at run time)")
        return t

    def val(self, op, i, what="input"):
        if i < 0 or i not in self.vals:
            self.fail(op, f"{what} tensor #{i} is not produced by a supported op or graph input")
        v = self.vals[i]
        return v

    def view(self, op, v, perm):
        """The t2c tensor name of `v` in layout `perm` (a reshape op when only size-1 dims move)."""
        if v.pads != (0, 0, 0, 0):
            pop = self.tm.ops[v.pad_op]
            self.fail(op, f"its input comes from PAD (op #{pop.index}); t2c folds PAD only into a following "
                          "CONV_2D or DEPTHWISE_CONV_2D (t2c has no pad op)")
        if tuple(perm) == tuple(v.perm):
            return v.name
        if perm[0] != 0 or v.perm[0] != 0 or not _same_order(v.tfl_shape, v.perm, perm):
            self.fail(op, f"input '{v.name}' would need a data transpose (layout {list(v.perm)} -> "
                          f"{list(perm)}); t2c has no transpose op")
        key = (v.name, tuple(perm))
        if key not in self.views:
            shape = tuple(v.tfl_shape[p] for p in perm)
            out = self.b.act(f"{v.name}/{'x'.join(str(d) for d in shape[1:])}", v.dtype, shape)
            self.b.op("reshape", f"{op.index:03d}_view", [v.name], [out], shape=[int(d) for d in shape[1:]])
            self.views[key] = out
        return self.views[key]

    def qparams(self, op, i, what):
        t = self.T(i)
        if not t.quantized or len(t.scale) != 1:
            self.fail(op, f"{what} '{t.name}' must be quantized per tensor (scale, zero point)")
        return t.qparams()

    def act_dtype(self, op, t):
        if t.dtype not in ("int8", "uint8"):
            self.fail(op, f"tensor '{t.name}' has type {t.dtype}; only int8/uint8 activations are supported")
        return t.dtype

    def activation(self, op, name, out):
        act = ACTIVATIONS.get(op.options.get(name, 0), f"#{op.options.get(name)}")
        if act not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
            self.fail(op, f"fused activation {act} is not supported")
        s, z = self.qparams(op, out, "output")
        return act, activation_range(act, s, z, self.act_dtype(op, self.T(out)))

    def set_out(self, op, name, perm, scale=None, zp=0, **kw):
        t = self.T(op.outputs[0])
        self.vals[op.outputs[0]] = _Val(name, tuple(perm), t.shape, t.dtype, scale, zp, **kw)

    def new_out(self, op, perm, dtype=None):
        t = self.T(op.outputs[0])
        shape = tuple(t.shape[p] for p in perm)
        return self.b.act(t.name, dtype or t.dtype, shape)

    @staticmethod
    def same_padding(in_size, k, stride, dilation, out_size):
        """TFLite's padding for SAME: total = max(0, (out-1)*stride + eff_k - in); before = total // 2."""
        eff = (k - 1) * dilation + 1
        total = max(0, (out_size - 1) * stride + eff - in_size)
        return total // 2, total - total // 2

    def conv_pads(self, op, padding, in_hw, k_hw, strides, dil, out_hw, extra):
        """t2c pads [top, left, bottom, right] for a TFLite conv/pool (plus folded PAD `extra`),
        checked to give TFLite's output size."""
        pads = [0, 0, 0, 0]
        for ax in range(2):
            if padding == "SAME":
                before, after = self.same_padding(in_hw[ax], k_hw[ax], strides[ax], dil[ax], out_hw[ax])
                pads[ax], pads[ax + 2] = before, after
            elif padding != "VALID":
                self.fail(op, f"padding {padding} is not supported")
        pads = [pads[0] + extra[0], pads[1] + extra[1], pads[2] + extra[2], pads[3] + extra[3]]
        for ax in range(2):
            size = in_hw[ax] - (extra[ax] + extra[ax + 2])  # the unpadded input
            eff = (k_hw[ax] - 1) * dil[ax] + 1
            span = size + pads[ax] + pads[ax + 2] - eff
            got = span // strides[ax] + 1 if span >= 0 else 0
            if got != out_hw[ax]:
                self.fail(op, f"output size {out_hw[ax]} along {'HW'[ax]} does not follow from input {size}, "
                              f"kernel {k_hw[ax]}, stride {strides[ax]}, pads {pads}")
        return pads

    def requant_params(self, op, in_scale, w_scales, out_scale, what):
        """Per-channel TFLite multipliers for effective scales in*w[c]/out (all in double)."""
        ms, ss, effs = [], [], []
        for ws in np.atleast_1d(w_scales):
            d = float(in_scale) * float(ws) / float(out_scale)
            m, sh = quantize_multiplier(d)
            ms.append(m)
            ss.append(t2c_shift_of(sh, f"{self.tm.source}: op #{op.index} {op.opcode} {what}"))
            effs.append(d)
        if len(set(zip(ms, ss))) == 1:
            ms, ss = ms[:1], ss[:1]
        return ms, ss, effs

    # ------------------------------------------------------------ graph
    def inputs(self):
        for i in self.tm.inputs:
            t = self.T(i)
            if t.dtype not in ("int8", "uint8", "float32"):
                self.fail(None, f"graph input '{t.name}' has type {t.dtype}; int8, uint8 or float32 expected")
            if not t.shape or t.shape[0] != 1:
                self.fail(None, f"graph input '{t.name}' has shape {list(t.shape)}; batch 1 expected")
            perm = tuple(range(len(t.shape)))
            if len(t.shape) == 4:
                cons = self.consumers.get(i, [])
                # an NCHW input that the model transposes itself stays as it is; an NHWC input becomes NCHW
                if not cons or any(c.opcode != "TRANSPOSE" for c in cons):
                    perm = NHWC
            scale, zp = (t.qparams() if t.quantized else (None, 0))
            shape = tuple(t.shape[p] for p in perm)
            name = self.b.act(t.name, t.dtype, shape)
            self.b.model.inputs.append(name)
            self.vals[i] = _Val(name, perm, t.shape, t.dtype, scale, zp)

    def run(self):
        self.inputs()
        for op in self.tm.ops:
            handler = getattr(self, "op_" + op.opcode.lower(), None) if op.opcode in SUPPORTED_OPS else None
            if handler is None:
                self.fail(op, "not supported by t2c's op set (supported: " + ", ".join(SUPPORTED_OPS) + ")")
            if len(op.outputs) != 1:
                self.fail(op, f"{len(op.outputs)} outputs; 1 expected")
            handler(op)
        for i in self.tm.outputs:
            if i not in self.vals:
                self.fail(None, f"graph output '{self.T(i).name}' is not computed")
            v = self.vals[i]
            if v.pads != (0, 0, 0, 0):
                self.fail(None, f"graph output '{v.name}' comes from PAD, which t2c cannot represent alone")
            if v.name in self.b.model.inputs:
                self.fail(None, f"graph output '{v.name}' is a graph input")
            self.b.model.outputs.append(v.name)
        return self.b.model

    # ------------------------------------------------------------ ops
    def op_transpose(self, op):
        v = self.val(op, op.inputs[0])
        perm = [int(p) for p in self.const(op, op.inputs[1], "permutation").data.ravel()]
        n = len(v.tfl_shape)
        if sorted(perm) != list(range(n)):
            self.fail(op, f"permutation {perm} is invalid for rank {n}")
        if v.pads != (0, 0, 0, 0):
            self.view(op, v, v.perm)  # raises
        inv = [perm.index(k) for k in range(n)]
        # output dim j is input dim perm[j]: the same t2c tensor, seen through another layout
        self.vals[op.outputs[0]] = _Val(v.name, tuple(inv[p] for p in v.perm), self.T(op.outputs[0]).shape,
                                        v.dtype, v.scale, v.zp)
        self.note(op, [], f"layout only (perm {perm}): no t2c op")

    def op_pad(self, op):
        v = self.val(op, op.inputs[0])
        pads = self.const(op, op.inputs[1], "paddings").data.astype(np.int64)
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            self.fail(op, "a constant pad value is not supported")
        if pads.shape != (4, 2) or len(v.tfl_shape) != 4:
            self.fail(op, f"paddings of shape {list(pads.shape)}: only 4-D NHWC inputs are supported")
        if np.any(pads < 0) or np.any(pads[0] != 0) or np.any(pads[3] != 0):
            self.fail(op, f"paddings {pads.tolist()}: only non-negative H/W padding is supported")
        s, z = self.qparams(op, op.outputs[0], "output")
        if v.scale is None or s != v.scale or z != v.zp:
            self.fail(op, "input and output quantization differ")
        name = v.name if v.pads != (0, 0, 0, 0) else self.view(op, v, NHWC)  # PAD after PAD: pads add up
        cons = self.consumers.get(op.outputs[0], [])
        for c in cons:
            if c.opcode not in ("CONV_2D", "DEPTHWISE_CONV_2D") or c.inputs[0] != op.outputs[0]:
                self.fail(op, f"its output feeds {c.opcode} (op #{c.index}); t2c folds PAD only into a "
                              "following CONV_2D or DEPTHWISE_CONV_2D (t2c has no pad op)")
        p = (v.pads[0] + int(pads[1, 0]), v.pads[1] + int(pads[2, 0]), v.pads[2] + int(pads[1, 1]),
             v.pads[3] + int(pads[2, 1]))
        self.vals[op.outputs[0]] = _Val(name, NHWC, self.T(op.outputs[0]).shape, v.dtype, v.scale, v.zp,
                                        pads=p, pad_op=op.index)
        self.note(op, [], f"folded into the next conv: pads [top, left, bottom, right] = {list(p)}, "
                          f"padding value = zero point {v.zp}")

    def _conv(self, op, depthwise):
        o = op.options
        v = self.val(op, op.inputs[0])
        if tuple(v.perm) != NHWC:
            name = self.view(op, v, NHWC)
        else:
            name = v.name
        x = self.T(op.inputs[0])
        dt = self.act_dtype(op, x)
        w = self.const(op, op.inputs[1], "filter")
        if w.dtype != "int8":
            self.fail(op, f"filter '{w.name}' has type {w.dtype}; int8 weights expected")
        if not w.quantized:
            self.fail(op, f"filter '{w.name}' is not quantized")
        if np.any(w.zero_point != 0):
            self.fail(op, f"filter '{w.name}' has non-zero zero points; TFLite int8 weights are symmetric")
        out_t = self.T(op.outputs[0])
        in_s, in_z = self.qparams(op, op.inputs[0], "input")
        out_s, out_z = self.qparams(op, op.outputs[0], "output")
        if len(w.shape) != 4 or len(x.shape) != 4 or len(out_t.shape) != 4:
            self.fail(op, "4-D input, filter and output expected")
        n, h, wd, cin = x.shape
        if depthwise:
            _, kh, kw, cout = w.shape
            if cout % cin:
                self.fail(op, f"{cout} output channels is not a multiple of {cin} input channels")
            weight = np.ascontiguousarray(w.data[0].transpose(2, 0, 1)[:, None, :, :])  # [Cout, 1, KH, KW]
            group = cin
        else:
            cout, kh, kw, wcin = w.shape
            if wcin != cin:
                self.fail(op, f"filter has {wcin} input channels, input has {cin}")
            weight = np.ascontiguousarray(w.data.transpose(0, 3, 1, 2))  # [Cout, Cin, KH, KW]
            group = 1
        if out_t.shape[3] != cout:
            self.fail(op, f"output has {out_t.shape[3]} channels, filter gives {cout}")
        qdim = 3 if depthwise else 0
        if len(w.scale) not in (1, cout) or (len(w.scale) > 1 and w.quantized_dimension != qdim):
            self.fail(op, f"filter has {len(w.scale)} scales along dimension {w.quantized_dimension}")
        strides = (o["stride_h"], o["stride_w"])
        dil = (o["dilation_h_factor"], o["dilation_w_factor"])
        if min(strides) < 1 or min(dil) < 1:
            self.fail(op, f"strides {list(strides)} / dilations {list(dil)} must be >= 1")
        padding = PADDINGS.get(o["padding"], f"#{o['padding']}")
        pads = self.conv_pads(op, padding, (h, wd), (kh, kw), strides, dil, out_t.shape[1:3], v.pads)
        bias = None
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            bt = self.const(op, op.inputs[2], "bias")
            if bt.dtype != "int32" or bt.data.size != cout:
                self.fail(op, f"bias '{bt.name}' must be int32 with {cout} values")
            bias = self.b.const(bt.name, "int32", bt.data.reshape(cout).astype(np.int32))
        wname = self.b.const(w.name, "int8", weight)
        act, (lo, hi) = self.activation(op, "fused_activation_function", op.outputs[0])
        ms, ss, effs = self.requant_params(op, in_s, w.scale, out_s, "requantize")
        shape = (1, cout) + tuple(out_t.shape[1:3])
        acc = self.b.act(out_t.name + "/acc", "int32", shape)
        cname = self.b.op("conv2d", f"{op.index:03d}_{op.opcode.lower()}", [name, wname] + ([bias] if bias else []),
                          [acc], strides=list(strides), pads=pads, dilations=list(dil), group=group,
                          x_zero_point=int(in_z))
        out = self.b.act(out_t.name, out_t.dtype, shape)
        rname = self.b.op("requantize", f"{op.index:03d}_requantize", [acc], [out], multiplier=ms, shift=ss,
                          zero_point=int(out_z), lo=int(lo), hi=int(hi), rounding="tflite", axis=1)
        self.set_out(op, out, NHWC, out_s, out_z)
        self.note(op, [cname, rname], f"pads {pads}, group {group}, activation {act} -> [{lo}, {hi}]",
                  multipliers=ms, shifts=ss, scales=effs)
        return dt

    def op_conv_2d(self, op):
        self._conv(op, False)

    def op_depthwise_conv_2d(self, op):
        self._conv(op, True)

    def op_fully_connected(self, op):
        o = op.options
        if o["weights_format"] != 0:
            self.fail(op, f"weights_format {o['weights_format']} is not supported (DEFAULT only)")
        v = self.val(op, op.inputs[0])
        x = self.T(op.inputs[0])
        self.act_dtype(op, x)
        w = self.const(op, op.inputs[1], "weights")
        if w.dtype != "int8" or len(w.shape) != 2 or not w.quantized:
            self.fail(op, f"weights '{w.name}' must be quantized int8 of rank 2")
        if np.any(w.zero_point != 0):
            self.fail(op, f"weights '{w.name}' have non-zero zero points")
        m_out, k = w.shape
        numel = int(np.prod(x.shape))
        if numel % k or numel // k != 1:
            self.fail(op, f"input {list(x.shape)} does not flatten to [1, {k}] (batch 1 per image expected)")
        # a [1, K] view of the input in TFLite's element order
        if tuple(v.shape) == (1, k):
            name = v.name
        else:
            ident = tuple(range(len(v.tfl_shape)))
            base = self.view(op, v, ident) if tuple(v.perm) != ident else v.name
            name = self.b.act(f"{x.name}/flat", v.dtype, (1, k))
            self.b.op("reshape", f"{op.index:03d}_flatten", [base], [name], shape=[k])
        in_s, in_z = self.qparams(op, op.inputs[0], "input")
        out_s, out_z = self.qparams(op, op.outputs[0], "output")
        if len(w.scale) not in (1, m_out) or (len(w.scale) > 1 and w.quantized_dimension != 0):
            self.fail(op, f"weights have {len(w.scale)} scales along dimension {w.quantized_dimension}")
        bias = None
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            bt = self.const(op, op.inputs[2], "bias")
            if bt.dtype != "int32" or bt.data.size != m_out:
                self.fail(op, f"bias '{bt.name}' must be int32 with {m_out} values")
            bias = self.b.const(bt.name, "int32", bt.data.reshape(m_out).astype(np.int32))
        wname = self.b.const(w.name, "int8", np.ascontiguousarray(w.data))
        out_t = self.T(op.outputs[0])
        if int(np.prod(out_t.shape)) != m_out:
            self.fail(op, f"output shape {list(out_t.shape)} does not hold {m_out} values")
        act, (lo, hi) = self.activation(op, "fused_activation_function", op.outputs[0])
        ms, ss, effs = self.requant_params(op, in_s, w.scale, out_s, "requantize")
        acc = self.b.act(out_t.name + "/acc", "int32", (1, m_out))
        lname = self.b.op("linear", f"{op.index:03d}_fully_connected", [name, wname] + ([bias] if bias else []),
                          [acc], x_zero_point=int(in_z))
        out2 = self.b.act(out_t.name if len(out_t.shape) == 2 else out_t.name + "/2d", out_t.dtype, (1, m_out))
        rname = self.b.op("requantize", f"{op.index:03d}_requantize", [acc], [out2], multiplier=ms, shift=ss,
                          zero_point=int(out_z), lo=int(lo), hi=int(hi), rounding="tflite", axis=1)
        names = [lname, rname]
        if len(out_t.shape) == 2:
            self.set_out(op, out2, (0, 1), out_s, out_z)
        else:  # keep_num_dims: a [1, ..., M] output
            out = self.b.act(out_t.name, out_t.dtype, out_t.shape)
            names.append(self.b.op("reshape", f"{op.index:03d}_reshape", [out2], [out],
                                   shape=[int(d) for d in out_t.shape[1:]]))
            self.set_out(op, out, tuple(range(len(out_t.shape))), out_s, out_z)
        self.note(op, names, f"activation {act} -> [{lo}, {hi}]", multipliers=ms, shifts=ss, scales=effs)

    def op_add(self, op):
        a, b = self.val(op, op.inputs[0]), self.val(op, op.inputs[1])
        ta, tb, to = self.T(op.inputs[0]), self.T(op.inputs[1]), self.T(op.outputs[0])
        for t in (ta, tb, to):
            if t.dtype != "int8":
                self.fail(op, f"tensor '{t.name}' has type {t.dtype}; only int8 ADD is supported")
        if ta.shape != tb.shape or ta.shape != to.shape:
            self.fail(op, f"shapes {list(ta.shape)} + {list(tb.shape)} -> {list(to.shape)}: broadcasting is not "
                          "supported")
        an = self.view(op, a, a.perm)
        bn = self.view(op, b, a.perm)
        s1, z1 = self.qparams(op, op.inputs[0], "input 1")
        s2, z2 = self.qparams(op, op.inputs[1], "input 2")
        so, zo = self.qparams(op, op.outputs[0], "output")
        left_shift = 20
        twice_max = 2.0 * float(max(s1, s2))
        real1 = float(s1) / twice_max
        real2 = float(s2) / twice_max
        realo = twice_max / (float(np.float32(2 ** left_shift) * so))
        where = f"{self.tm.source}: op #{op.index} ADD"
        m1, e1 = quantize_multiplier(real1)
        m2, e2 = quantize_multiplier(real2)
        mo, eo = quantize_multiplier(realo)
        for e, what in ((e1, "input 1"), (e2, "input 2"), (eo, "output")):
            if e > 0:
                self.fail(op, f"{what} multiplier is >= 1 (TFLite requires a multiplier smaller than one)")
        act, (lo, hi) = self.activation(op, "fused_activation_function", op.outputs[0])
        out = self.b.act(to.name, to.dtype, a.shape)
        nm = self.b.op("add", f"{op.index:03d}_add", [an, bn], [out], a_zero_point=int(z1), b_zero_point=int(z2),
                       left_shift=left_shift, a_multiplier=m1, a_shift=t2c_shift_of(e1, where),
                       b_multiplier=m2, b_shift=t2c_shift_of(e2, where), out_multiplier=mo,
                       out_shift=t2c_shift_of(eo, where), out_zero_point=int(zo), rounding="tflite",
                       lo=int(lo), hi=int(hi))
        self.set_out(op, out, a.perm, so, zo)
        self.note(op, [nm], f"activation {act} -> [{lo}, {hi}]", multipliers=[m1, m2, mo],
                  shifts=[t2c_shift_of(e, where) for e in (e1, e2, eo)], scales=[real1, real2, realo])

    def op_mean(self, op):
        v = self.val(op, op.inputs[0])
        x, out_t = self.T(op.inputs[0]), self.T(op.outputs[0])
        dt = self.act_dtype(op, x)
        if dt != "int8":
            self.fail(op, "only int8 MEAN is supported")
        axes = sorted(int(a) % 4 for a in self.const(op, op.inputs[1], "axis").data.ravel()) \
            if len(x.shape) == 4 else None
        if axes != [1, 2] or not op.options.get("keep_dims"):
            self.fail(op, f"only MEAN over H, W (axes [1, 2]) of a 4-D input with keep_dims is supported "
                          f"(axes {axes}, keep_dims {op.options.get('keep_dims')})")
        name = self.view(op, v, NHWC)
        n, h, w, c = x.shape
        cnt = h * w
        in_s, in_z = self.qparams(op, op.inputs[0], "input")
        out_s, out_z = self.qparams(op, op.outputs[0], "output")
        # reference_integer_ops::Mean: acc = sum(x - in_zp); acc = MBQM(acc, M, shift) with M from in/out;
        # y = clamp(round_half_away(acc / count) + out_zp)
        m, e = quantize_multiplier(float(in_s) / float(out_s))
        shape = (1, c, 1, 1)
        out = self.b.act(out_t.name, dt, shape)
        where = f"{self.tm.source}: op #{op.index} MEAN"
        if (m, e) == (1 << 30, 1) and in_z == out_z and (cnt % 2 == 1 or in_z == 0):
            # multiplier exactly 1: round_half_away(sum(x - z) / n) + z == round_half_away(sum(x) / n)
            # (no ties for odd n; for z = 0 the same expression)
            nm = [self.b.op("global_avgpool", f"{op.index:03d}_mean", [name], [out], rounding="tflite")]
            detail = f"scale ratio 1: global_avgpool (half away from zero) over {cnt} values"
        else:
            nm = self._mean_general(op, name, c, h, w, cnt, in_z, out_z, m, e, out, where)
            detail = f"sum (conv2d with a ones kernel), MBQM, exact division by {cnt}"
        self.set_out(op, out, NHWC, out_s, out_z)
        self.note(op, nm, detail, multipliers=[m], shifts=[t2c_shift_of(e, where)],
                  scales=[float(in_s) / float(out_s)])

    def _mean_general(self, op, name, c, h, w, cnt, in_z, out_z, m, e, out, where):
        """sum(x - z) by a depthwise conv with a ones kernel (int32), MultiplyByQuantizedMultiplier by a
        requantize to int32, then round_half_away(t / cnt) + out_zp by a second requantize whose
        multiplier is ceil(2^k / cnt): exact for every |t| <= T (checked below)."""
        s = t2c_shift_of(e, where)
        lo_x, hi_x = INT_RANGE["int8"]
        amax = cnt * max(hi_x - in_z, in_z - lo_x)

        tmax = max(abs(tflite_mbqm(amax, m, e)), abs(tflite_mbqm(-amax, m, e)))  # MBQM is monotone
        # choose the largest k with ceil(2^k / cnt) < 2^31
        best = None
        for k in range(0, 63):
            m2 = -(-(1 << k) // cnt)
            if m2 >= 1 << 31:
                break
            best = (k, m2)
        k, m2 = best
        # exactness: the approximation error t*(m2/2^k - 1/cnt) stays below 1/(2*cnt) for |t| <= tmax
        if tmax * (m2 * cnt - (1 << k)) * 2 >= (1 << k):
            self.fail(op, f"cannot divide exactly by {cnt} for sums up to {tmax}")
        ones = self.b.const(f"{op.index:03d}_mean/ones", "int8", np.ones((c, 1, h, w), np.int8), compress=19)
        acc = self.b.act(f"{self.T(op.outputs[0]).name}/sum", "int32", (1, c, 1, 1))
        scaled = self.b.act(f"{self.T(op.outputs[0]).name}/scaled", "int32", (1, c, 1, 1))
        n1 = self.b.op("conv2d", f"{op.index:03d}_mean_sum", [name, ones], [acc], group=c, x_zero_point=int(in_z))
        n2 = self.b.op("requantize", f"{op.index:03d}_mean_scale", [acc], [scaled], multiplier=[m], shift=[s],
                       rounding="tflite")
        n3 = self.b.op("requantize", f"{op.index:03d}_mean_divide", [scaled], [out], multiplier=[m2], shift=[k],
                       zero_point=int(out_z), rounding="half_away")
        return [n1, n2, n3]

    def _pool(self, op, kind):
        o = op.options
        v = self.val(op, op.inputs[0])
        name = self.view(op, v, NHWC)
        x, out_t = self.T(op.inputs[0]), self.T(op.outputs[0])
        dt = self.act_dtype(op, x)
        in_s, in_z = self.qparams(op, op.inputs[0], "input")
        out_s, out_z = self.qparams(op, op.outputs[0], "output")
        if in_s != out_s or in_z != out_z:
            self.fail(op, "input and output quantization differ (TFLite requires them equal)")
        kh, kw = o["filter_height"], o["filter_width"]
        strides = (o["stride_h"], o["stride_w"])
        if min(kh, kw, *strides) < 1:
            self.fail(op, f"filter {kh}x{kw} / strides {list(strides)} must be >= 1")
        padding = PADDINGS.get(o["padding"], f"#{o['padding']}")
        pads = self.conv_pads(op, padding, x.shape[1:3], (kh, kw), strides, (1, 1), out_t.shape[1:3], (0, 0, 0, 0))
        act, (lo, hi) = self.activation(op, "fused_activation_function", op.outputs[0])
        shape = (1, x.shape[3]) + tuple(out_t.shape[1:3])
        names = []
        full = (lo, hi) == INT_RANGE[dt]
        pooled = self.b.act(out_t.name if full else out_t.name + "/pool", dt, shape)
        if kind == "avg":
            names.append(self.b.op("avgpool2d", f"{op.index:03d}_average_pool_2d", [name], [pooled], kernel=[kh, kw],
                                   strides=list(strides), pads=pads, count_include_pad=0, rounding="tflite"))
        else:
            names.append(self.b.op("maxpool2d", f"{op.index:03d}_max_pool_2d", [name], [pooled], kernel=[kh, kw],
                                   strides=list(strides), pads=pads))
        out = pooled
        if not full:
            out = self.b.act(out_t.name, dt, shape)
            names.append(self.b.op("clamp", f"{op.index:03d}_activation", [pooled], [out], lo=int(lo), hi=int(hi)))
        self.set_out(op, out, NHWC, out_s, out_z)
        self.note(op, names, f"pads {pads}, activation {act} -> [{lo}, {hi}]")

    def op_average_pool_2d(self, op):
        self._pool(op, "avg")

    def op_max_pool_2d(self, op):
        self._pool(op, "max")

    def op_reshape(self, op):
        v = self.val(op, op.inputs[0])
        out_t = self.T(op.outputs[0])
        if int(np.prod(out_t.shape)) != int(np.prod(v.tfl_shape)):
            self.fail(op, f"cannot reshape {list(v.tfl_shape)} to {list(out_t.shape)}")
        if not out_t.shape or out_t.shape[0] != 1:
            self.fail(op, f"output shape {list(out_t.shape)}: the batch dimension must stay first and 1")
        ident = tuple(range(len(v.tfl_shape)))
        base = self.view(op, v, ident)
        if tuple(self.b.shapes[base]) == tuple(out_t.shape):
            self.vals[op.outputs[0]] = _Val(base, tuple(range(len(out_t.shape))), out_t.shape, v.dtype, v.scale,
                                            v.zp)
            self.note(op, [], "same shape: no t2c op")
            return
        out = self.b.act(out_t.name, v.dtype, out_t.shape)
        nm = self.b.op("reshape", f"{op.index:03d}_reshape", [base], [out], shape=[int(d) for d in out_t.shape[1:]])
        self.set_out(op, out, tuple(range(len(out_t.shape))), v.scale, v.zp)
        self.note(op, [nm], "")

    def op_concatenation(self, op):
        o = op.options
        out_t = self.T(op.outputs[0])
        if ACTIVATIONS.get(o["fused_activation_function"]) != "NONE":
            self.fail(op, "a fused activation on CONCATENATION is not supported")
        so, zo = self.qparams(op, op.outputs[0], "output") if out_t.quantized else (None, 0)
        vals = [self.val(op, i) for i in op.inputs]
        rank = len(out_t.shape)
        axis = o["axis"] + rank if o["axis"] < 0 else o["axis"]
        if not 0 <= axis < rank:
            self.fail(op, f"axis {o['axis']} out of range for rank {rank}")
        perm = vals[0].perm
        names = []
        for i, v in zip(op.inputs, vals):
            t = self.T(i)
            if t.dtype != out_t.dtype:
                self.fail(op, f"input '{t.name}' has type {t.dtype}, output {out_t.dtype}")
            if out_t.quantized and (v.scale != so or v.zp != zo):
                self.fail(op, f"input '{t.name}' is quantized differently from the output (TFLite's int8 "
                              "CONCATENATION requires equal scales and zero points)")
            names.append(self.view(op, v, perm))
        k = perm.index(axis)
        if k == 0:
            self.fail(op, "concatenation along the batch dimension is not supported")
        out = self.b.act(out_t.name, out_t.dtype, tuple(out_t.shape[p] for p in perm))
        nm = self.b.op("concat", f"{op.index:03d}_concatenation", names, [out], axis=k)
        self.set_out(op, out, perm, so, zo)
        self.note(op, [nm], f"axis {axis} -> t2c axis {k}")

    def op_quantize(self, op):
        v = self.val(op, op.inputs[0])
        x, out_t = self.T(op.inputs[0]), self.T(op.outputs[0])
        if x.dtype != "float32":
            self.fail(op, f"QUANTIZE from {x.dtype} (requantization) is not supported; only float32 input")
        s, z = self.qparams(op, op.outputs[0], "output")
        dt = self.act_dtype(op, out_t)
        out = self.b.act(out_t.name, dt, v.shape)
        nm = self.b.op("quantize", f"{op.index:03d}_quantize", [self.view(op, v, v.perm)], [out], scale=float(s),
                       zero_point=int(z))
        self.set_out(op, out, v.perm, s, z)
        self.note(op, [nm], "t2c quantize multiplies by 1/scale (ops/README.md); TFLite divides by scale")

    def op_dequantize(self, op):
        v = self.val(op, op.inputs[0])
        out_t = self.T(op.outputs[0])
        if out_t.dtype != "float32":
            self.fail(op, f"DEQUANTIZE to {out_t.dtype} is not supported")
        s, z = self.qparams(op, op.inputs[0], "input")
        out = self.b.act(out_t.name, "float32", v.shape)
        nm = self.b.op("dequantize", f"{op.index:03d}_dequantize", [self.view(op, v, v.perm)], [out],
                       scale=float(s), zero_point=int(z))
        self.set_out(op, out, v.perm)
        self.note(op, [nm], "")

    def note(self, op, t2c_ops, detail, **kw):
        entry = {"index": op.index, "op": op.opcode, "output": self.T(op.outputs[0]).name, "t2c_ops": list(t2c_ops),
                 "detail": detail}
        for k, val in kw.items():
            entry[k] = [float(x) if isinstance(x, float) else int(x) for x in val]
        self.report.append(entry)


def import_tflite(src, name=None, preprocess="auto", labels="auto", wnid_tsv=None):
    """A .tflite file (path or bytes) -> (container.Model, report list). Raises ImportFailure naming
    the op (index and type) or the file field on anything unsupported or malformed."""
    if isinstance(src, (bytes, bytearray)):
        data, source = bytes(src), name or "model.tflite"
    else:
        with open(src, "rb") as f:
            data = f.read()
        source = os.path.basename(str(src))
    try:
        tm = read_tflite(data, source)
    except FlatbufferError as e:
        raise ImportFailure(str(e)) from None
    if len(tm.inputs) != 1:
        raise ImportFailure(f"{source}: {len(tm.inputs)} graph inputs; exactly one is supported")
    imp = _Importer(tm, name)
    model = imp.run()
    t_in, t_out = tm.tensors[tm.inputs[0]], tm.tensors[tm.outputs[0]]
    in_shape = imp.b.shapes[model.inputs[0]]
    in_s, in_z = t_in.qparams() if t_in.quantized else (None, 0)
    out_s, out_z = t_out.qparams() if t_out.quantized else (None, 0)
    classes = int(imp.b.shapes[model.outputs[0]][-1]) if imp.b.shapes[model.outputs[0]] else 0
    base = name or os.path.splitext(source)[0]
    desc = f"imported from {source} (TFLite schema v{tm.version}" + (f", '{tm.description}'" if tm.description
                                                                       else "") + ")"
    add_metadata(model, base, desc, in_shape, in_s, in_z, out_s, out_z, classes, preprocess, labels, wnid_tsv)
    return model, imp.report
