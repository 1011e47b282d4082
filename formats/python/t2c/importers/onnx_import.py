"""Quantized ONNX model (QDQ or QOperator form) -> .t2c.

    from t2c.importers.onnx_import import import_onnx, measure_requant
    model, report = import_onnx("mobilenet_v2-int8-qdq.onnx")
    stats = measure_requant(model, report, [int8_input, ...])   # per-op differences from ONNX's float

ONNX defines requantization in floating point: y = saturate(round_half_even(v / y_scale) + y_zp), with
v the real-valued result of the op (for Conv: x_scale * w_scale[c] * acc). t2c replaces each float
scale by an integer multiplier of 31 significant bits and a shift (t2c requantize, rounding
"half_even"); the result equals the float definition except where the exact value lies within the
multiplier's relative error (2^-31) of a rounding tie. `measure_requant` counts, op by op, how many
outputs differ on given inputs. The op mapping is documented in importers/README.md.
"""

import math
import os
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .common import INT_RANGE, Builder, ImportFailure, add_metadata, fixed_multiplier

__all__ = ["import_onnx", "measure_requant", "ImportFailure", "MULT_BITS", "SUPPORTED_OPS"]

MULT_BITS = 31  # significant bits of every multiplier derived from a float scale
SUPPORTED_OPS = ("QuantizeLinear", "DequantizeLinear", "Conv", "Gemm", "MatMul", "Add", "Clip", "Relu",
                 "GlobalAveragePool", "AveragePool", "MaxPool", "Flatten", "Reshape", "Identity", "Concat",
                 "QLinearConv", "QLinearMatMul", "QLinearAdd", "QLinearGlobalAveragePool", "ConvInteger",
                 "MatMulInteger")
_FLOAT_COMPUTE = ("Conv", "Gemm", "MatMul", "Add", "GlobalAveragePool", "AveragePool", "Concat", "Clip", "Relu")
_ONNX_DTYPES = {2: "uint8", 3: "int8", 6: "int32", 1: "float32"}


@dataclass
class _Int:
    """An integer tensor of the t2c graph with its quantization (scale None for raw int32)."""
    name: str
    dtype: str
    shape: tuple
    scale: object = None  # float (per tensor)
    zp: int = 0


@dataclass
class _DQ:
    """A DequantizeLinear output: a view of an integer activation, or a quantized constant."""
    act: object = None    # _Int
    data: object = None   # constant integer array
    scale: object = None  # np.float32 array (1 or per-channel)
    zp: object = None     # np.int64 array
    axis: int = 1


def _ratios(num, w_scales, s_y, count=1):
    """Exact scales num[0] * w[c] / (count * s_y) as Fractions (the float32 parameters are exact rationals)."""
    from fractions import Fraction

    base = Fraction(float(np.float32(num[0]))) / (Fraction(float(np.float32(s_y))) * count)
    return [base * Fraction(float(np.float32(w))) for w in np.atleast_1d(w_scales)]


class _OnnxImporter:
    def __init__(self, m, source):
        import onnx
        from onnx import numpy_helper

        self.onnx, self.nh = onnx, numpy_helper
        self.m, self.g, self.source = m, m.graph, source
        self.b = Builder()
        self.init = {i.name: numpy_helper.to_array(i) for i in self.g.initializer}
        self.producer, self.consumers = {}, {}
        for n in self.g.node:
            for o in n.output:
                self.producer[o] = n
            for i in n.input:
                if i:
                    self.consumers.setdefault(i, []).append(n)
        self.ints, self.dqs, self.pending = {}, {}, {}
        self.report = []
        self.index = {id(n): k for k, n in enumerate(self.g.node)}
        self.out_names = self._output_names()

    # ------------------------------------------------------------ helpers
    def fail(self, node, problem):
        if node is None:
            raise ImportFailure(f"{self.source}: {problem}")
        k = self.index.get(id(node), -1)
        raise ImportFailure(f"{self.source}: node #{k} {node.op_type} '{node.name or node.output[0]}': {problem}")

    def attr(self, node, name, default=None):
        for a in node.attribute:
            if a.name == name:
                return self.onnx.helper.get_attribute_value(a)
        return default

    def const(self, node, name, what, required=True):
        if not name:
            if required:
                self.fail(node, f"{what} is missing")
            return None
        if name in self.init:
            return self.init[name]
        p = self.producer.get(name)
        if p is not None and p.op_type == "Constant":
            v = self.attr(p, "value")
            if v is not None:
                return self.nh.to_array(v)
        self.fail(node, f"{what} '{name}' must be a constant initializer")

    def scalar_q(self, node, s_name, z_name, what, dtype_default="uint8"):
        """(scale float32, zero point int, dtype) of a per-tensor quantization."""
        s = np.asarray(self.const(node, s_name, f"{what} scale"), dtype=np.float32)
        z = self.const(node, z_name, f"{what} zero point", required=False)
        if s.size != 1:
            self.fail(node, f"{what} must be quantized per tensor ({s.size} scales)")
        dt = dtype_default if z is None else str(np.asarray(z).dtype)
        if dt not in ("int8", "uint8", "int32"):
            self.fail(node, f"{what} has type {dt}; int8 or uint8 expected")
        zp = 0 if z is None else int(np.asarray(z).reshape(-1)[0])
        if not (np.isfinite(s) and s > 0):
            self.fail(node, f"{what} scale {float(s)} must be finite and > 0")
        return np.float32(s.reshape(-1)[0]), zp, dt

    def _output_names(self):
        """t2c names for the integer tensors behind the graph outputs (the outputs' own names)."""
        names = {}
        for o in self.g.output:
            n = self.producer.get(o.name)
            while n is not None and n.op_type == "Identity":
                n = self.producer.get(n.input[0])
            if n is not None and n.op_type == "DequantizeLinear":
                names[n.input[0]] = o.name
        return names

    def new_int(self, onnx_name, dtype, shape, scale=None, zp=0):
        name = self.b.act(self.out_names.get(onnx_name, onnx_name), dtype, shape)
        v = _Int(name, dtype, tuple(int(d) for d in shape), scale, zp)
        self.ints[onnx_name] = v
        return v

    def int_in(self, node, name, what="input"):
        if name in self.ints:
            return self.ints[name]
        self.fail(node, f"{what} '{name}' is not an integer tensor of the imported graph")

    def dq(self, node, name, what):
        if name in self.dqs:
            return self.dqs[name]
        if name in self.pending:
            self.fail(node, f"{what} '{name}' is a float result of {self.pending[name].op_type} without a "
                            "QuantizeLinear after it (t2c needs every activation quantized)")
        self.fail(node, f"{what} '{name}' is not a dequantized integer tensor")

    def act_dq(self, node, name, what):
        d = self.dq(node, name, what)
        if d.act is None:
            self.fail(node, f"{what} '{name}' is a constant; an activation is expected")
        return d

    def weight_zp(self, node, zp, what):
        z = np.asarray(zp).reshape(-1) if zp is not None else np.zeros(1, np.int64)
        if np.any(z != z[0]):
            self.fail(node, f"{what} has per-channel zero points {z[:4].tolist()}...; t2c's conv2d/linear take "
                            "one weight zero point")
        return int(z[0])

    def weight_array(self, node, arr, what):
        a = np.asarray(arr)
        if a.dtype != np.int8:
            self.fail(node, f"{what} has type {a.dtype}; t2c weights are int8 (or int4)")
        return a

    def note(self, node, t2c_ops, detail, **kw):
        e = {"node": node.name or node.output[0], "op": node.op_type, "t2c_ops": list(t2c_ops), "detail": detail}
        e.update(kw)
        self.report.append(e)

    # ------------------------------------------------------------ requantization
    def requant(self, node, acc, scales, out_name, dtype, zp, lo, hi, axis=1, in_zp=0, what="requantize"):
        """requantize `acc` (a t2c tensor) by scales (1 or per channel; each a Fraction: the exact real
        scale from the float32 parameters) with 31-bit multipliers, rounding half to even; in_zp
        subtracts an input zero point (as offset = -in_zp * m)."""
        ms, ss, errs = [], [], []
        for sc in scales:
            try:
                m, s, e = fixed_multiplier(float(sc), MULT_BITS)
            except ValueError as ex:
                self.fail(node, f"{what}: {ex}")
            ms.append(m)
            ss.append(s)
            errs.append(e)
        offs = [-int(in_zp) * m for m in ms] if in_zp else None
        if len(set(zip(ms, ss))) == 1:
            ms, ss = ms[:1], ss[:1]
            offs = offs[:1] if offs else None
        shape = self.b.shapes[acc]
        out = self.new_int(out_name, dtype, shape, None, zp)
        attrs = dict(multiplier=ms, shift=ss, zero_point=int(zp), lo=int(lo), hi=int(hi), rounding="half_even",
                     axis=axis)
        if offs:
            attrs["offset"] = offs
        opname = self.b.op("requantize", f"{node.name or out_name}/requantize", [acc], [out.name], **attrs)
        spec = {"kind": "affine", "t2c_op": opname, "input": acc, "scale": [str(s) for s in scales],
                "axis": axis, "zero_point": int(zp), "lo": int(lo), "hi": int(hi), "in_zero_point": int(in_zp),
                "max_rel_scale_error": float(max(errs))}
        return out, opname, spec

    def qbounds(self, lo_f, hi_f, s, z, dtype):
        """Integer clamp of a float clip [lo_f, hi_f] followed by QuantizeLinear(s, z): q(t) =
        saturate(round_half_even(t / s) + z), in float32 as QuantizeLinear computes it."""
        qmin, qmax = INT_RANGE[dtype]

        def q(t):
            if t == math.inf:
                return qmax
            if t == -math.inf:
                return qmin
            r = float(np.rint(np.float32(t) / np.float32(s)))
            return int(min(max(r + z, qmin), qmax))

        return q(lo_f), q(hi_f)

    # ------------------------------------------------------------ graph
    def run(self):
        self.shapes_in = {}
        for i in self.g.input:
            if i.name in self.init:
                continue
            tt = i.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") else 1 for d in tt.shape.dim]
            if dims:
                dims[0] = 1  # a symbolic or fixed batch: t2c files hold batch 1
            self.shapes_in[i.name] = (tt.elem_type, tuple(dims))
        for node in self.g.node:
            h = getattr(self, "n_" + node.op_type, None) if node.op_type in SUPPORTED_OPS + ("Constant",) else None
            if h is None:
                self.fail(node, "op type not supported (supported: " + ", ".join(SUPPORTED_OPS) + ")")
            if node.domain not in ("", "ai.onnx", "com.microsoft"):
                self.fail(node, f"domain '{node.domain}' is not supported")
            h(node)
        for o in self.g.output:
            name = o.name
            while name not in self.ints and name not in self.dqs and self.producer.get(name) is not None \
                    and self.producer[name].op_type == "Identity":
                name = self.producer[name].input[0]
            if name in self.dqs and self.dqs[name].act is not None:
                v = self.dqs[name].act
            elif name in self.ints:
                v = self.ints[name]
            else:
                self.fail(None, f"graph output '{o.name}' is not a (dequantized) integer tensor")
            if v.name in self.b.model.inputs:
                self.fail(None, f"graph output '{o.name}' is a graph input")
            self.b.model.outputs.append(v.name)
            self.final = v
        if len(self.b.model.inputs) != 1:
            self.fail(None, f"{len(self.b.model.inputs)} quantized graph inputs; exactly one is supported")
        return self.b.model

    # ------------------------------------------------------------ Q / DQ
    def n_Constant(self, node):
        pass

    def n_QuantizeLinear(self, node):
        x = node.input[0]
        s, z, dt = self.scalar_q(node, node.input[1], node.input[2] if len(node.input) > 2 else "", "output")
        if x in self.shapes_in:  # the graph input: quantized by t2c's preprocessing
            etype, shape = self.shapes_in[x]
            if etype != 1:
                self.fail(node, "the graph input must be float32")
            v = self.new_int(node.output[0], dt, shape, s, z)
            self.b.model.inputs.append(v.name)
            self.input_q = (float(s), z)
            self.note(node, [], "graph input: quantized by t2c's preprocessing (input.scale / input.zero_point)")
            return
        chain, lo_f, hi_f, base = self.clip_chain(node, x)
        lo, hi = self.qbounds(lo_f, hi_f, s, z, dt)
        if base in self.pending:
            p = self.pending[base]
            getattr(self, "q_" + p.op_type)(p, node, s, z, dt, lo, hi, chain)
        elif base in self.dqs and self.dqs[base].act is not None:
            self.q_requant(node, self.dqs[base].act, s, z, dt, lo, hi, chain)
        else:
            self.fail(node, f"input '{x}' is neither a supported float op result nor a dequantized tensor")

    def clip_chain(self, node, x):
        """Follow Clip/Relu nodes back from a QuantizeLinear input: (nodes, lo, hi, base tensor)."""
        chain, lo, hi = [], -math.inf, math.inf
        while x in self.pending and self.pending[x].op_type in ("Clip", "Relu"):
            n = self.pending[x]
            if len(self.consumers.get(x, [])) != 1:
                self.fail(n, "its float output has several consumers")
            if n.op_type == "Relu":
                lo = max(lo, 0.0)
            else:
                a = self.attr(n, "min")
                b = self.attr(n, "max")
                if len(n.input) > 1 and n.input[1]:
                    a = float(np.asarray(self.const(n, n.input[1], "min")).reshape(-1)[0])
                if len(n.input) > 2 and n.input[2]:
                    b = float(np.asarray(self.const(n, n.input[2], "max")).reshape(-1)[0])
                lo = max(lo, -math.inf if a is None else a)
                hi = min(hi, math.inf if b is None else b)
            chain.append(n)
            x = n.input[0]
        if x in self.pending and len(self.consumers.get(x, [])) != 1:
            self.fail(self.pending[x], "its float output has several consumers; t2c needs one QuantizeLinear")
        return chain, lo, hi, x

    def n_DequantizeLinear(self, node):
        x = node.input[0]
        axis = self.attr(node, "axis", 1)
        if x in self.ints:
            v = self.ints[x]
            s, z, _ = self.scalar_q(node, node.input[1], node.input[2] if len(node.input) > 2 else "", "input",
                                    v.dtype)
            self.dqs[node.output[0]] = _DQ(act=_Int(v.name, v.dtype, v.shape, float(s), z))
            return
        data = self.const(node, x, "input")
        s = np.asarray(self.const(node, node.input[1], "scale"), dtype=np.float32).reshape(-1)
        zp = self.const(node, node.input[2], "zero point", required=False) if len(node.input) > 2 else None
        zp = np.zeros(s.shape, np.int64) if zp is None else np.asarray(zp).astype(np.int64).reshape(-1)
        self.dqs[node.output[0]] = _DQ(data=np.asarray(data), scale=s, zp=zp, axis=axis)

    # ------------------------------------------------------------ float ops: recorded, emitted at Q
    def _pend(self, node):
        self.pending[node.output[0]] = node

    n_Conv = n_Gemm = n_MatMul = n_Add = n_GlobalAveragePool = n_AveragePool = n_Concat = _pend

    def n_Clip(self, node):
        self._pend(node)

    n_Relu = n_Clip

    # ------------------------------------------------------------ layout ops on DQ views: integer ops now
    def layout_in(self, node):
        """The integer tensor under a layout op's input: a dequantized view (QDQ) or an integer tensor
        (QOperator)."""
        x = node.input[0]
        if x in self.ints and x not in self.dqs:
            return self.ints[x]
        return self.act_dq(node, x, "input").act

    def _int_view_op(self, node, t2c_type, shape, **attrs):
        x = node.input[0]
        v = self.layout_in(node)
        qdq = x in self.dqs
        out = self.new_int(node.output[0] + "/q" if qdq else node.output[0], v.dtype, shape, v.scale, v.zp)
        nm = self.b.op(t2c_type, node.name or node.output[0], [v.name], [out.name], **attrs)
        if qdq:
            self.dqs[node.output[0]] = _DQ(act=out)
            del self.ints[node.output[0] + "/q"]
        self.note(node, [nm], "on the integer tensor" + (" (commutes with DequantizeLinear)" if qdq else ""))

    def n_Identity(self, node):
        x = node.input[0]
        if x in self.dqs:
            self.dqs[node.output[0]] = self.dqs[x]
        elif x in self.ints:
            self.ints[node.output[0]] = self.ints[x]
        else:
            self.fail(node, f"input '{x}' is not an integer or dequantized tensor")

    def n_Flatten(self, node):
        axis = self.attr(node, "axis", 1)
        shape = self.layout_in(node).shape
        if axis < 0:
            axis += len(shape)
        if axis != 1:
            self.fail(node, f"axis {axis}: only axis 1 (keep the batch) is supported")
        self._int_view_op(node, "flatten", (shape[0], int(np.prod(shape[1:]))), axis=1)

    def n_Reshape(self, node):
        spec = [int(v) for v in np.asarray(self.const(node, node.input[1], "shape")).reshape(-1)]
        shape = self.layout_in(node).shape
        spec = [shape[i] if v == 0 and i < len(shape) else v for i, v in enumerate(spec)]
        try:
            out = np.empty(shape, np.int8).reshape(spec).shape
        except ValueError:
            self.fail(node, f"cannot reshape {list(shape)} to {spec}")
        if out[0] != 1:
            self.fail(node, f"reshape to {list(out)} moves the batch dimension")
        self._int_view_op(node, "reshape", out, shape=[int(v) for v in out[1:]])

    def _pool_geometry(self, node, shape):
        if self.attr(node, "ceil_mode", 0):
            self.fail(node, "ceil_mode = 1 is not supported")
        if self.attr(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
            self.fail(node, "auto_pad SAME_* is not supported; give explicit pads")
        k = list(self.attr(node, "kernel_shape"))
        st = list(self.attr(node, "strides", [1, 1]))
        pads = list(self.attr(node, "pads", [0, 0, 0, 0]))
        dil = list(self.attr(node, "dilations", [1, 1]))
        if len(k) != 2 or len(shape) != 4:
            self.fail(node, "only 2-D pooling of NCHW tensors is supported")
        ho = (shape[2] + pads[0] + pads[2] - dil[0] * (k[0] - 1) - 1) // st[0] + 1
        wo = (shape[3] + pads[1] + pads[3] - dil[1] * (k[1] - 1) - 1) // st[1] + 1
        return k, st, pads, dil, (shape[0], shape[1], ho, wo)

    def n_MaxPool(self, node):
        if len(node.output) > 1 and node.output[1]:
            self.fail(node, "the Indices output is not supported")
        k, st, pads, dil, out = self._pool_geometry(node, self.layout_in(node).shape)
        self._int_view_op(node, "maxpool2d", out, kernel=k, strides=st, pads=pads, dilations=dil)

    # ------------------------------------------------------------ emitted at QuantizeLinear
    def _bias(self, node, name, acc_scales, cout):
        if not name:
            return None
        d = self.dq(node, name, "bias")
        if d.data is None or d.data.dtype != np.int32 or d.data.size != cout:
            self.fail(node, f"bias '{name}' must be a dequantized int32 constant with {cout} values")
        if np.any(d.zp != 0):
            self.fail(node, f"bias '{name}' has a non-zero zero point")
        bs = np.broadcast_to(d.scale.astype(np.float64), (cout,))
        want = np.broadcast_to(np.asarray(acc_scales, np.float64), (cout,))
        if np.any(np.abs(bs - want) > 1e-6 * want):
            self.fail(node, f"bias scale differs from input scale x weight scale (max rel. diff "
                            f"{float(np.max(np.abs(bs - want) / want)):.2e}); t2c adds the bias to the accumulator")
        return self.b.const(name + "/q", "int32", d.data.reshape(cout).astype(np.int32))

    def _conv_attrs(self, node, x_shape, w_shape):
        if self.attr(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
            self.fail(node, "auto_pad SAME_* is not supported; give explicit pads")
        st = list(self.attr(node, "strides", [1, 1]))
        pads = list(self.attr(node, "pads", [0, 0, 0, 0]))
        dil = list(self.attr(node, "dilations", [1, 1]))
        group = int(self.attr(node, "group", 1))
        if len(w_shape) != 4 or len(x_shape) != 4:
            self.fail(node, "only 2-D convolution of NCHW tensors is supported")
        cout, _, kh, kw = w_shape
        ho = (x_shape[2] + pads[0] + pads[2] - dil[0] * (kh - 1) - 1) // st[0] + 1
        wo = (x_shape[3] + pads[1] + pads[3] - dil[1] * (kw - 1) - 1) // st[1] + 1
        return dict(strides=st, pads=pads, dilations=dil, group=group), (x_shape[0], cout, ho, wo)

    def q_Conv(self, node, q, s_y, z_y, dt, lo, hi, chain):
        x = self.act_dq(node, node.input[0], "input")
        w = self.dq(node, node.input[1], "weight")
        if w.data is None:
            self.fail(node, "the weight must be a quantized constant")
        wdata = self.weight_array(node, w.data, "weight")
        cout = wdata.shape[0]
        if w.scale.size not in (1, cout) or (w.scale.size > 1 and w.axis != 0):
            self.fail(node, f"weight scales ({w.scale.size}, axis {w.axis}) are neither per tensor nor per "
                            "output channel")
        attrs, shape = self._conv_attrs(node, x.act.shape, wdata.shape)
        acc_scales = np.float64(x.act.scale) * w.scale.astype(np.float64)
        bias = self._bias(node, node.input[2] if len(node.input) > 2 else "", acc_scales, cout)
        wname = self.b.const(node.input[1] + "/q", "int8", wdata)
        acc = self.b.act(q.output[0] + "/acc", "int32", shape)
        cname = self.b.op("conv2d", node.name or node.output[0], [x.act.name, wname] + ([bias] if bias else []),
                          [acc], x_zero_point=int(x.act.zp), w_zero_point=self.weight_zp(node, w.zp, "weight"),
                          **attrs)
        out, rname, spec = self.requant(node, acc, _ratios([x.act.scale], w.scale, s_y), q.output[0], dt, z_y, lo, hi)
        self.dqs_from_q(q, out, s_y, z_y)
        self.note(node, [cname, rname], f"conv2d + requantize, clamp [{lo}, {hi}]", requant=spec)

    def _linear(self, node, q, s_y, z_y, dt, lo, hi, x, w2d, w, bias_name, what):
        """x [.., K] activation, w2d [M, K] int8 weights -> linear + requantize."""
        m_out, k = w2d.shape
        if x.act.shape[-1] != k:
            self.fail(node, f"input {list(x.act.shape)} does not end in K = {k}")
        if w.scale.size not in (1, m_out):
            self.fail(node, f"weight has {w.scale.size} scales for {m_out} outputs")
        acc_scales = np.float64(x.act.scale) * w.scale.astype(np.float64)
        bias = self._bias(node, bias_name, acc_scales, m_out)
        wname = self.b.const(node.input[1] + "/q", "int8", np.ascontiguousarray(w2d))
        shape = tuple(x.act.shape[:-1]) + (m_out,)
        acc = self.b.act(q.output[0] + "/acc", "int32", shape)
        lname = self.b.op("linear", node.name or node.output[0], [x.act.name, wname] + ([bias] if bias else []),
                          [acc], x_zero_point=int(x.act.zp), w_zero_point=self.weight_zp(node, w.zp, "weight"))
        out, rname, spec = self.requant(node, acc, _ratios([x.act.scale], w.scale, s_y), q.output[0], dt, z_y, lo,
                                        hi, axis=len(shape) - 1)
        self.dqs_from_q(q, out, s_y, z_y)
        self.note(node, [lname, rname], f"{what}: linear + requantize, clamp [{lo}, {hi}]", requant=spec)

    def q_Gemm(self, node, q, s_y, z_y, dt, lo, hi, chain):
        if self.attr(node, "transA", 0) or self.attr(node, "alpha", 1.0) != 1.0 or self.attr(node, "beta", 1.0) != 1.0:
            self.fail(node, "only transA = 0, alpha = beta = 1 are supported")
        x = self.act_dq(node, node.input[0], "input A")
        w = self.dq(node, node.input[1], "input B")
        if w.data is None or w.data.ndim != 2:
            self.fail(node, "input B must be a quantized 2-D constant")
        wdata = self.weight_array(node, w.data, "input B")
        trans_b = self.attr(node, "transB", 0)
        if w.scale.size > 1 and w.axis != (0 if trans_b else 1):
            self.fail(node, "input B must be quantized per output column")
        w2d = wdata if trans_b else wdata.T
        self._linear(node, q, s_y, z_y, dt, lo, hi, x, w2d, w, node.input[2] if len(node.input) > 2 else "", "Gemm")

    def q_MatMul(self, node, q, s_y, z_y, dt, lo, hi, chain):
        x = self.act_dq(node, node.input[0], "input A")
        w = self.dq(node, node.input[1], "input B")
        if w.data is None:
            self.fail(node, "activation x activation MatMul in QDQ form is not supported (use QLinearMatMul)")
        if w.data.ndim != 2:
            self.fail(node, "input B must be a 2-D constant")
        if w.scale.size > 1 and w.axis not in (1, -1):
            self.fail(node, "input B must be quantized per output column")
        self._linear(node, q, s_y, z_y, dt, lo, hi, x, self.weight_array(node, w.data, "input B").T, w, "", "MatMul")

    def q_Add(self, node, q, s_y, z_y, dt, lo, hi, chain):
        a = self.act_dq(node, node.input[0], "input A")
        b = self.act_dq(node, node.input[1], "input B")
        if a.act.shape != b.act.shape:
            self.fail(node, f"shapes {list(a.act.shape)} and {list(b.act.shape)}: broadcasting is not supported")
        self.emit_add(node, q.output[0], a.act, b.act, s_y, z_y, dt, lo, hi, q)

    def emit_add(self, node, out_name, a, b, s_y, z_y, dt, lo, hi, q=None):
        """t2c add: a2 = round((a - za) * ra * 2^K), b2 likewise (ra = s_a / s_y), y = round((a2 + b2) / 2^K)
        + zy, all half to even; K as large as the add's int32 legality allows."""
        ra, rb = float(a.scale) / float(s_y), float(b.scale) / float(s_y)
        ma_ = max(INT_RANGE[a.dtype][1] - a.zp, a.zp - INT_RANGE[a.dtype][0])
        mb_ = max(INT_RANGE[b.dtype][1] - b.zp, b.zp - INT_RANGE[b.dtype][0])
        k = 40
        while k > 0:
            try:
                m1, s1, e1 = fixed_multiplier(ra * 2.0 ** k, MULT_BITS)
                m2, s2, e2 = fixed_multiplier(rb * 2.0 ** k, MULT_BITS)
            except ValueError:
                k -= 1
                continue
            bound = -(-ma_ * m1 // (1 << s1)) + -(-mb_ * m2 // (1 << s2))
            if bound < 2**31 - 1 and k <= 62:
                break
            k -= 1
        out = self.new_int(out_name, dt, a.shape, None, z_y)
        nm = self.b.op("add", node.name or out_name, [a.name, b.name], [out.name], a_zero_point=int(a.zp),
                       b_zero_point=int(b.zp), a_multiplier=m1, a_shift=s1, b_multiplier=m2, b_shift=s2,
                       out_multiplier=1, out_shift=k, out_zero_point=int(z_y), rounding="half_even",
                       lo=int(lo), hi=int(hi))
        if q is not None:
            self.dqs_from_q(q, out, s_y, z_y)
        spec = {"kind": "add", "t2c_op": nm, "a": a.name, "b": b.name, "a_scale": str(_ratios([a.scale], [1], s_y)[0]),
                "b_scale": str(_ratios([b.scale], [1], s_y)[0]),
                "a_zero_point": int(a.zp), "b_zero_point": int(b.zp), "zero_point": int(z_y), "lo": int(lo),
                "hi": int(hi), "fraction_bits": k, "max_rel_scale_error": float(max(e1, e2))}
        self.note(node, [nm], f"add with {k} fraction bits, clamp [{lo}, {hi}]", requant=spec)
        return out

    def _sum_hw(self, node, x, what):
        """Sum over H, W of (x - zx) as int32 by a depthwise conv2d with a ones kernel."""
        n, c, h, w = x.shape
        ones = self.b.const(f"{node.name or node.output[0]}/ones", "int8", np.ones((c, 1, h, w), np.int8),
                            compress=19)
        acc = self.b.act(f"{node.output[0]}/sum", "int32", (n, c, 1, 1))
        nm = self.b.op("conv2d", f"{node.name or node.output[0]}/{what}", [x.name, ones], [acc], group=c,
                       x_zero_point=int(x.zp))
        return acc, nm

    def q_GlobalAveragePool(self, node, q, s_y, z_y, dt, lo, hi, chain):
        x = self.act_dq(node, node.input[0], "input").act
        if len(x.shape) != 4:
            self.fail(node, "only 4-D NCHW input is supported")
        cnt = x.shape[2] * x.shape[3]
        shape = (x.shape[0], x.shape[1], 1, 1)
        qmin, qmax = INT_RANGE[dt]
        if np.float32(x.scale) == s_y and x.zp == z_y and x.dtype == dt and (lo, hi) == (qmin, qmax):
            # round_half_even(sum(x - z) / n) + z == round_half_even(sum(x) / n): exact
            out = self.new_int(q.output[0], dt, shape, None, z_y)
            nm = self.b.op("global_avgpool", node.name or node.output[0], [x.name], [out.name], rounding="half_even")
            self.dqs_from_q(q, out, s_y, z_y)
            self.note(node, [nm], "same scale: global_avgpool (half to even), exact")
            return
        acc, n1 = self._sum_hw(node, x, "sum")
        out, rname, spec = self.requant(node, acc, _ratios([x.scale], [1], s_y, cnt), q.output[0], dt, z_y, lo, hi)
        self.dqs_from_q(q, out, s_y, z_y)
        self.note(node, [n1, rname], f"sum (ones-kernel conv2d) + requantize by x_scale / ({cnt} y_scale)",
                  requant=spec)

    def q_AveragePool(self, node, q, s_y, z_y, dt, lo, hi, chain):
        x = self.act_dq(node, node.input[0], "input").act
        if np.float32(x.scale) != s_y or x.zp != z_y or x.dtype != dt:
            self.fail(node, "input and output quantization differ; only same-scale AveragePool is supported")
        k, st, pads, dil, shape = self._pool_geometry(node, x.shape)
        if dil != [1, 1]:
            self.fail(node, "dilations are not supported")
        full = (lo, hi) == INT_RANGE[dt]
        out = self.new_int(q.output[0] if full else q.output[0] + "/pool", dt, shape, None, z_y)
        names = [self.b.op("avgpool2d", node.name or node.output[0], [x.name], [out.name], kernel=k, strides=st,
                           pads=pads, count_include_pad=int(self.attr(node, "count_include_pad", 0)),
                           x_zero_point=int(x.zp), rounding="half_even")]
        if not full:
            pooled = out
            out = self.new_int(q.output[0], dt, shape, None, z_y)
            names.append(self.b.op("clamp", f"{node.name or node.output[0]}/clip", [pooled.name], [out.name],
                                   lo=int(lo), hi=int(hi)))
        self.dqs_from_q(q, out, s_y, z_y)
        self.note(node, names, "same scale: avgpool2d (half to even), exact")

    def q_Concat(self, node, q, s_y, z_y, dt, lo, hi, chain):
        axis = self.attr(node, "axis")
        names = []
        parts = []
        for i, nm in enumerate(node.input):
            v = self.act_dq(node, nm, f"input {i}").act
            if np.float32(v.scale) == s_y and v.zp == z_y and v.dtype == dt:
                parts.append(v.name)
            else:  # requantize this input to the output's scale
                out, rname, spec = self.requant(node, v.name, _ratios([v.scale], [1], s_y), f"{q.output[0]}/in{i}", dt,
                                                z_y, INT_RANGE[dt][0], INT_RANGE[dt][1], in_zp=v.zp)
                names.append(rname)
                parts.append(out.name)
                self.note(node, [rname], f"input {i} requantized to the output scale", requant=spec)
        shapes = [self.b.shapes[p] for p in parts]
        rank = len(shapes[0])
        ax = axis + rank if axis < 0 else axis
        if ax == 0:
            self.fail(node, "concatenation along the batch dimension is not supported")
        shape = list(shapes[0])
        shape[ax] = sum(s[ax] for s in shapes)
        full = (lo, hi) == INT_RANGE[dt]
        out = self.new_int(q.output[0] if full else q.output[0] + "/cat", dt, shape, None, z_y)
        names.append(self.b.op("concat", node.name or node.output[0], parts, [out.name], axis=ax))
        if not full:
            cat = out
            out = self.new_int(q.output[0], dt, shape, None, z_y)
            names.append(self.b.op("clamp", f"{node.name or node.output[0]}/clip", [cat.name], [out.name],
                                   lo=int(lo), hi=int(hi)))
        self.dqs_from_q(q, out, s_y, z_y)
        self.note(node, names, f"concat along axis {ax}")

    def q_requant(self, node, v, s_y, z_y, dt, lo, hi, chain):
        """QuantizeLinear of a dequantized tensor (through Clip/Relu): alias, clamp, or requantize."""
        src = chain[-1] if chain else node
        if np.float32(v.scale) == s_y and v.zp == z_y and v.dtype == dt:
            if (lo, hi) == INT_RANGE[dt]:
                self.ints[node.output[0]] = v
                self.dqs_from_q(node, v, s_y, z_y)
                return
            out = self.new_int(node.output[0], dt, v.shape, None, z_y)
            nm = self.b.op("clamp", src.name or node.output[0], [v.name], [out.name], lo=int(lo), hi=int(hi))
            self.dqs_from_q(node, out, s_y, z_y)
            self.note(src, [nm], f"same scale: clamp [{lo}, {hi}]")
            return
        out, rname, spec = self.requant(src, v.name, _ratios([v.scale], [1], s_y), node.output[0], dt, z_y, lo, hi,
                                        in_zp=v.zp)
        self.dqs_from_q(node, out, s_y, z_y)
        self.note(src, [rname], "requantize to a new scale", requant=spec)

    def dqs_from_q(self, q, out, s, z):
        out.scale, out.zp = float(s), int(z)
        self.ints[q.output[0]] = out

    # ------------------------------------------------------------ QOperator
    def qop_inputs(self, node, idx_x, idx_s, idx_z, what):
        v = self.int_in(node, node.input[idx_x], what)
        s, z, _ = self.scalar_q(node, node.input[idx_s], node.input[idx_z] if len(node.input) > idx_z else "", what,
                                v.dtype)
        return _Int(v.name, v.dtype, v.shape, float(s), z)

    def qop_weight(self, node, idx_w, idx_s, idx_z):
        w = np.asarray(self.const(node, node.input[idx_w], "weight"))
        s = np.asarray(self.const(node, node.input[idx_s], "weight scale"), np.float32).reshape(-1)
        z = self.const(node, node.input[idx_z], "weight zero point", required=False) if len(node.input) > idx_z \
            else None
        z = np.zeros(s.shape, np.int64) if z is None else np.asarray(z).astype(np.int64).reshape(-1)
        return _DQ(data=w, scale=s, zp=z, axis=0)

    def out_q(self, node, idx_s, idx_z):
        return self.scalar_q(node, node.input[idx_s], node.input[idx_z] if len(node.input) > idx_z else "", "output")

    def n_QLinearConv(self, node):
        x = self.qop_inputs(node, 0, 1, 2, "x")
        w = self.qop_weight(node, 3, 4, 5)
        s_y, z_y, dt = self.out_q(node, 6, 7)
        wdata = self.weight_array(node, w.data, "w")
        cout = wdata.shape[0]
        if w.scale.size not in (1, cout):
            self.fail(node, f"w has {w.scale.size} scales for {cout} output channels")
        attrs, shape = self._conv_attrs(node, x.shape, wdata.shape)
        bias = None
        if len(node.input) > 8 and node.input[8]:
            bd = np.asarray(self.const(node, node.input[8], "B"))
            if bd.dtype != np.int32 or bd.size != cout:
                self.fail(node, f"B must be int32 with {cout} values")
            bias = self.b.const(node.input[8], "int32", bd.reshape(cout))
        wname = self.b.const(node.input[3], "int8", wdata)
        acc = self.b.act(node.output[0] + "/acc", "int32", shape)
        cname = self.b.op("conv2d", node.name or node.output[0], [x.name, wname] + ([bias] if bias else []), [acc],
                          x_zero_point=int(x.zp), w_zero_point=self.weight_zp(node, w.zp, "w"), **attrs)
        out, rname, spec = self.requant(node, acc, _ratios([x.scale], w.scale, s_y), node.output[0], dt, z_y,
                                        *INT_RANGE[dt])
        out.scale, out.zp = float(s_y), z_y
        self.note(node, [cname, rname], "conv2d + requantize", requant=spec)

    def n_QLinearMatMul(self, node):
        a = self.qop_inputs(node, 0, 1, 2, "a")
        s_y, z_y, dt = self.out_q(node, 6, 7)
        if node.input[3] in self.init:
            w = self.qop_weight(node, 3, 4, 5)
            wd = self.weight_array(node, w.data, "b")
            if wd.ndim != 2:
                self.fail(node, "a constant b must be 2-D")
            m_out = wd.shape[1]
            if w.scale.size not in (1, m_out):
                self.fail(node, "b must be quantized per tensor or per column")
            wname = self.b.const(node.input[3], "int8", np.ascontiguousarray(wd.T))
            shape = tuple(a.shape[:-1]) + (m_out,)
            acc = self.b.act(node.output[0] + "/acc", "int32", shape)
            nm = self.b.op("linear", node.name or node.output[0], [a.name, wname], [acc], x_zero_point=int(a.zp),
                           w_zero_point=self.weight_zp(node, w.zp, "b"))
            scales = _ratios([a.scale], w.scale, s_y)
        else:
            b = self.qop_inputs(node, 3, 4, 5, "b")
            if len(a.shape) != len(b.shape) or a.shape[:-2] != b.shape[:-2] or a.shape[-1] != b.shape[-2]:
                self.fail(node, f"shapes {list(a.shape)} x {list(b.shape)} are not supported (no broadcasting)")
            shape = tuple(a.shape[:-1]) + (b.shape[-1],)
            acc = self.b.act(node.output[0] + "/acc", "int32", shape)
            nm = self.b.op("matmul", node.name or node.output[0], [a.name, b.name], [acc], a_zero_point=int(a.zp),
                           b_zero_point=int(b.zp))
            scales = _ratios([a.scale], [b.scale], s_y)
        out, rname, spec = self.requant(node, acc, scales, node.output[0], dt, z_y, *INT_RANGE[dt],
                                        axis=len(shape) - 1)
        out.scale, out.zp = float(s_y), z_y
        self.note(node, [nm, rname], "matmul/linear + requantize", requant=spec)

    def n_QLinearAdd(self, node):
        a = self.qop_inputs(node, 0, 1, 2, "A")
        b = self.qop_inputs(node, 3, 4, 5, "B")
        s_y, z_y, dt = self.out_q(node, 6, 7)
        if a.shape != b.shape:
            self.fail(node, "broadcasting is not supported")
        out = self.emit_add(node, node.output[0], a, b, s_y, z_y, dt, *INT_RANGE[dt])
        out.scale, out.zp = float(s_y), z_y

    def n_QLinearGlobalAveragePool(self, node):
        if self.attr(node, "channels_last", 0):
            self.fail(node, "channels_last = 1 is not supported")
        x = self.qop_inputs(node, 0, 1, 2, "X")
        s_y, z_y, dt = self.out_q(node, 3, 4)
        cnt = x.shape[2] * x.shape[3]
        acc, n1 = self._sum_hw(node, x, "sum")
        out, rname, spec = self.requant(node, acc, _ratios([x.scale], [1], s_y, cnt), node.output[0], dt, z_y,
                                        *INT_RANGE[dt])
        out.scale, out.zp = float(s_y), z_y
        self.note(node, [n1, rname], f"sum + requantize by x_scale / ({cnt} y_scale)", requant=spec)

    def n_ConvInteger(self, node):
        x = self.int_in(node, node.input[0], "x")
        w = self.weight_array(node, self.const(node, node.input[1], "w"), "w")
        xz = self.const(node, node.input[2], "x_zero_point", required=False) if len(node.input) > 2 else None
        wz = self.const(node, node.input[3], "w_zero_point", required=False) if len(node.input) > 3 else None
        xz = 0 if xz is None else int(np.asarray(xz).reshape(-1)[0])
        attrs, shape = self._conv_attrs(node, x.shape, w.shape)
        wname = self.b.const(node.input[1], "int8", w)
        out = self.new_int(node.output[0], "int32", shape)
        nm = self.b.op("conv2d", node.name or node.output[0], [x.name, wname], [out.name], x_zero_point=xz,
                       w_zero_point=self.weight_zp(node, wz, "w"), **attrs)
        self.note(node, [nm], "conv2d, int32 output")

    def n_MatMulInteger(self, node):
        a = self.int_in(node, node.input[0], "A")
        az = self.const(node, node.input[2], "a_zero_point", required=False) if len(node.input) > 2 else None
        bz = self.const(node, node.input[3], "b_zero_point", required=False) if len(node.input) > 3 else None
        az = 0 if az is None else int(np.asarray(az).reshape(-1)[0])
        if node.input[1] in self.init:
            wd = self.weight_array(node, self.init[node.input[1]], "B")
            if wd.ndim != 2:
                self.fail(node, "a constant B must be 2-D")
            wname = self.b.const(node.input[1], "int8", np.ascontiguousarray(wd.T))
            out = self.new_int(node.output[0], "int32", tuple(a.shape[:-1]) + (wd.shape[1],))
            nm = self.b.op("linear", node.name or node.output[0], [a.name, wname], [out.name], x_zero_point=az,
                           w_zero_point=self.weight_zp(node, bz, "B"))
        else:
            b = self.int_in(node, node.input[1], "B")
            out = self.new_int(node.output[0], "int32", tuple(a.shape[:-1]) + (b.shape[-1],))
            nm = self.b.op("matmul", node.name or node.output[0], [a.name, b.name], [out.name], a_zero_point=az,
                           b_zero_point=0 if bz is None else int(np.asarray(bz).reshape(-1)[0]))
        self.note(node, [nm], "int32 output")


def import_onnx(src, name=None, preprocess="auto", labels="auto", wnid_tsv=None):
    """A quantized .onnx file (path or bytes) -> (container.Model, report list). Raises ImportFailure
    naming the node (index, type and name) on anything unsupported."""
    import onnx

    try:
        if isinstance(src, (bytes, bytearray)):
            m = onnx.load_model_from_string(bytes(src))
            source = name or "model.onnx"
        else:
            m = onnx.load(str(src))
            source = os.path.basename(str(src))
    except Exception as e:  # protobuf DecodeError and friends
        raise ImportFailure(f"{name or src}: not a readable ONNX model ({type(e).__name__}: {e})") from None
    imp = _OnnxImporter(m, source)
    model = imp.run()
    in_name = model.inputs[0]
    in_shape = imp.b.shapes[in_name]
    in_s, in_z = getattr(imp, "input_q", (None, 0))
    out = imp.final
    classes = int(imp.b.shapes[out.name][-1]) if imp.b.shapes[out.name] else 0
    base = name or os.path.splitext(source)[0]
    add_metadata(model, base, f"imported from {source} (ONNX opset "
                 f"{max((o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')), default=0)})",
                 in_shape, in_s, in_z, out.scale, out.zp, classes, preprocess, labels, wnid_tsv)
    return model, imp.report


# ---------------------------------------------------------------- mismatch measurement
def _round_exact(v, exact):
    """round_half_even of float64 values `v`, re-deciding the ones within 1e-9 of a tie with exact
    rationals: exact(index) -> Fraction."""
    r = np.rint(v)
    for idx in np.argwhere(np.abs(v - np.floor(v) - 0.5) < 1e-9):
        idx = tuple(idx)
        e = exact(idx)
        fl = e.numerator // e.denominator
        rem = e - fl
        r[idx] = fl + (1 if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and fl % 2) else 0)
    return r


def _affine_reference(acc, spec):
    """ONNX's float requantization: saturate(round_half_even((acc - in_zp) * scale) + zp), clamped to
    [lo, hi], with the exact real scale (float64 product, ties re-decided exactly)."""
    acc = np.asarray(acc).astype(np.int64) - spec["in_zero_point"]
    fr = [Fraction(s) for s in spec["scale"]]
    sc = np.array([float(f) for f in fr])
    if sc.size > 1:
        shape = [1] * acc.ndim
        shape[spec["axis"]] = sc.size
        sc = sc.reshape(shape)
        frs = np.array(fr, dtype=object).reshape(shape)
    else:
        sc = sc.reshape(())
        frs = np.array(fr[0], dtype=object).reshape(())
    frb = np.broadcast_to(frs, acc.shape)
    r = _round_exact(acc * sc, lambda idx: int(acc[idx]) * frb[idx])
    return np.clip(r + spec["zero_point"], spec["lo"], spec["hi"]).astype(np.int64)


def _add_reference(a, b, spec):
    """ONNX's float Add between DequantizeLinear and QuantizeLinear, exactly."""
    ra, rb = Fraction(spec["a_scale"]), Fraction(spec["b_scale"])
    da = np.asarray(a).astype(np.int64) - spec["a_zero_point"]
    db = np.asarray(b).astype(np.int64) - spec["b_zero_point"]
    r = _round_exact(da * float(ra) + db * float(rb), lambda idx: int(da[idx]) * ra + int(db[idx]) * rb)
    return np.clip(r + spec["zero_point"], spec["lo"], spec["hi"]).astype(np.int64)


def measure_requant(model, report, inputs):
    """Run `model` (container.Model) with the Python reference on each input array and count, for every
    requantizing op of `report`, the outputs that differ from ONNX's float definition. Returns a list of
    {node, t2c_op, kind, elements, differ, max_abs_diff, max_rel_scale_error} (one per requantizing op)."""
    from ..reference import run as ref_run

    specs = {e["requant"]["t2c_op"]: (e["node"], e["requant"]) for e in report if "requant" in e}
    needed = set()
    for _, s in specs.values():
        needed.update([s["input"]] if s["kind"] == "affine" else [s["a"], s["b"]])
    stats = {k: {"node": n, "t2c_op": k, "kind": s["kind"], "elements": 0, "differ": 0, "max_abs_diff": 0,
                 "max_rel_scale_error": s["max_rel_scale_error"]} for k, (n, s) in specs.items()}
    for x in inputs:
        env = {}
        if model.inputs[0] in needed:
            env[model.inputs[0]] = x

        def on_op(index, op, outs):
            if op.outputs[0] in needed:
                env[op.outputs[0]] = outs[0]
            if op.name in specs:
                _, s = specs[op.name]
                if s["kind"] == "affine":
                    want = _affine_reference(env[s["input"]], s)
                else:
                    want = _add_reference(env[s["a"]], env[s["b"]], s)
                d = np.abs(np.asarray(outs[0]).astype(np.int64) - want)
                st = stats[op.name]
                st["elements"] += int(d.size)
                st["differ"] += int((d != 0).sum())
                st["max_abs_diff"] = max(st["max_abs_diff"], int(d.max()) if d.size else 0)

        ref_run(model, {model.inputs[0]: x}, on_op=on_op)
    return list(stats.values())
