"""Writing small TFLite models (for tests and synthetic examples), with flatbuffers.Builder and the
slot layout of tflite_schema.py.

    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4, 4, 2), "int8", scale=0.5, zero_point=-3)
    w = b.tensor("w", (3, 1, 1, 2), "int8", data=..., scale=[0.1, 0.2, 0.3], zero_point=[0, 0, 0])
    ...
    b.op("CONV_2D", [x, w, bias], [y], padding="VALID", stride_w=1, stride_h=1, fused_activation_function="RELU")
    data = b.build(inputs=[x], outputs=[y])
"""

import flatbuffers
import numpy as np
from flatbuffers import number_types as N

from .tflite_schema import (ACTIVATIONS, BUILTIN_CODES, MODEL, OPERATOR, OPERATOR_CODE, OPTION_FIELDS,
                            OPTIONS_OF_OP, OPTIONS_TYPES, PADDINGS, QUANT, SUBGRAPH, TENSOR, TENSOR_TYPES)

_TYPE_CODES = {v: k for k, v in TENSOR_TYPES.items()}
_ACT_CODES = {v: k for k, v in ACTIVATIONS.items()}
_PAD_CODES = {v: k for k, v in PADDINGS.items()}
_PREPEND = {N.Int8Flags: "PrependInt8Slot", N.Int32Flags: "PrependInt32Slot", N.BoolFlags: "PrependBoolSlot",
            N.Float32Flags: "PrependFloat32Slot", N.Uint8Flags: "PrependUint8Slot"}


class TFLiteBuilder:
    def __init__(self):
        self.tensors = []   # dicts
        self.buffers = [b""]
        self.ops = []
        self.opcodes = []

    def tensor(self, name, shape, dtype, data=None, scale=None, zero_point=None, quantized_dimension=0):
        """Add a tensor; returns its index. `data` (numpy, any shape of the right size) makes a constant."""
        buf = 0
        if data is not None:
            from .tflite_schema import NP_TYPES
            arr = np.asarray(data).astype(np.dtype(NP_TYPES[dtype]))
            if arr.size != int(np.prod(shape)):
                raise ValueError(f"{name}: {arr.size} values for shape {shape}")
            self.buffers.append(arr.tobytes())
            buf = len(self.buffers) - 1
        if scale is not None:
            scale = np.atleast_1d(np.asarray(scale, np.float32))
            zero_point = np.zeros(len(scale), np.int64) if zero_point is None else \
                np.atleast_1d(np.asarray(zero_point, np.int64))
        self.tensors.append(dict(name=name, shape=list(shape), dtype=dtype, buffer=buf, scale=scale,
                                 zero_point=zero_point, qdim=quantized_dimension))
        return len(self.tensors) - 1

    def op(self, opcode, inputs, outputs, **options):
        """Add an operator. Options by field name; padding and activations may be given by name."""
        if opcode not in self.opcodes:
            self.opcodes.append(opcode)
        self.ops.append(dict(opcode=opcode, inputs=list(inputs), outputs=list(outputs), options=options))

    # ------------------------------------------------------------ writing
    @staticmethod
    def _vec(b, flags, values, prepend):
        b.StartVector(flags.bytewidth, len(values), flags.bytewidth)
        for v in reversed(list(values)):
            getattr(b, prepend)(v)
        return b.EndVector()

    @staticmethod
    def _tables(b, offsets):
        b.StartVector(4, len(offsets), 4)
        for o in reversed(offsets):
            b.PrependUOffsetTRelative(o)
        return b.EndVector()

    def _options(self, b, op):
        kind = OPTIONS_OF_OP.get(op["opcode"])
        if kind is None:
            if op["options"]:
                raise ValueError(f"{op['opcode']}: options given but no options table known")
            return 0, None
        fields = OPTION_FIELDS[kind]
        vals = dict(op["options"])
        unknown = set(vals) - set(fields)
        if unknown:
            raise ValueError(f"{op['opcode']}: unknown options {sorted(unknown)}")
        vec_offsets = {}
        for name, (slot, flags, _) in fields.items():
            if flags == "ints" and vals.get(name) is not None:
                vec_offsets[name] = self._vec(b, N.Int32Flags, [int(v) for v in vals[name]], "PrependInt32")
        b.StartObject(max((s for s, _, _ in fields.values()), default=-1) + 1)
        for name, (slot, flags, default) in fields.items():
            if name not in vals:
                continue
            v = vals[name]
            if flags == "ints":
                if name in vec_offsets:
                    b.PrependUOffsetTRelativeSlot(slot, vec_offsets[name], 0)
                continue
            if name == "padding" and isinstance(v, str):
                v = _PAD_CODES[v]
            if name == "fused_activation_function" and isinstance(v, str):
                v = _ACT_CODES[v]
            b.ForceDefaults(True)
            getattr(b, _PREPEND[flags])(slot, v, default)
            b.ForceDefaults(False)
        return OPTIONS_TYPES[kind], b.EndObject()

    def build(self, inputs, outputs, description="t2c test model", version=3, identifier=b"TFL3"):
        b = flatbuffers.Builder(1024)
        # buffers
        buf_offs = []
        for data in self.buffers:
            vec = b.CreateByteVector(data) if data else None
            b.StartObject(3)
            if vec is not None:
                b.PrependUOffsetTRelativeSlot(0, vec, 0)
            buf_offs.append(b.EndObject())
        # tensors
        t_offs = []
        for t in self.tensors:
            name = b.CreateString(t["name"])
            shape = self._vec(b, N.Int32Flags, t["shape"], "PrependInt32")
            q = None
            if t["scale"] is not None:
                sc = self._vec(b, N.Float32Flags, [float(v) for v in t["scale"]], "PrependFloat32")
                zp = self._vec(b, N.Int64Flags, [int(v) for v in t["zero_point"]], "PrependInt64")
                b.StartObject(7)
                b.PrependUOffsetTRelativeSlot(QUANT["scale"], sc, 0)
                b.PrependUOffsetTRelativeSlot(QUANT["zero_point"], zp, 0)
                b.PrependInt32Slot(QUANT["quantized_dimension"], int(t["qdim"]), 0)
                q = b.EndObject()
            b.StartObject(8)
            b.PrependUOffsetTRelativeSlot(TENSOR["shape"], shape, 0)
            b.PrependInt8Slot(TENSOR["type"], _TYPE_CODES[t["dtype"]], 0)
            b.PrependUint32Slot(TENSOR["buffer"], t["buffer"], 0)
            b.PrependUOffsetTRelativeSlot(TENSOR["name"], name, 0)
            if q is not None:
                b.PrependUOffsetTRelativeSlot(TENSOR["quantization"], q, 0)
            t_offs.append(b.EndObject())
        # operators
        op_offs = []
        for op in self.ops:
            ins = self._vec(b, N.Int32Flags, op["inputs"], "PrependInt32")
            outs = self._vec(b, N.Int32Flags, op["outputs"], "PrependInt32")
            otype, oopts = self._options(b, op)
            b.StartObject(9)
            b.PrependUint32Slot(OPERATOR["opcode_index"], self.opcodes.index(op["opcode"]), 0)
            b.PrependUOffsetTRelativeSlot(OPERATOR["inputs"], ins, 0)
            b.PrependUOffsetTRelativeSlot(OPERATOR["outputs"], outs, 0)
            if oopts is not None:
                b.PrependUint8Slot(OPERATOR["builtin_options_type"], otype, 0)
                b.PrependUOffsetTRelativeSlot(OPERATOR["builtin_options"], oopts, 0)
            op_offs.append(b.EndObject())
        sg_t = self._tables(b, t_offs)
        sg_in = self._vec(b, N.Int32Flags, inputs, "PrependInt32")
        sg_out = self._vec(b, N.Int32Flags, outputs, "PrependInt32")
        sg_ops = self._tables(b, op_offs)
        sg_name = b.CreateString("main")
        b.StartObject(5)
        b.PrependUOffsetTRelativeSlot(SUBGRAPH["tensors"], sg_t, 0)
        b.PrependUOffsetTRelativeSlot(SUBGRAPH["inputs"], sg_in, 0)
        b.PrependUOffsetTRelativeSlot(SUBGRAPH["outputs"], sg_out, 0)
        b.PrependUOffsetTRelativeSlot(SUBGRAPH["operators"], sg_ops, 0)
        b.PrependUOffsetTRelativeSlot(SUBGRAPH["name"], sg_name, 0)
        sg = b.EndObject()
        # operator codes
        oc_offs = []
        for name in self.opcodes:
            code = BUILTIN_CODES[name]
            b.StartObject(4)
            b.PrependInt8Slot(OPERATOR_CODE["deprecated_builtin_code"], min(code, 127), 0)
            b.PrependInt32Slot(OPERATOR_CODE["version"], 1, 1)
            b.PrependInt32Slot(OPERATOR_CODE["builtin_code"], code, 0)
            oc_offs.append(b.EndObject())
        codes = self._tables(b, oc_offs)
        sgs = self._tables(b, [sg])
        bufs = self._tables(b, buf_offs)
        desc = b.CreateString(description)
        b.StartObject(5)
        b.PrependUint32Slot(MODEL["version"], version, 0)
        b.PrependUOffsetTRelativeSlot(MODEL["operator_codes"], codes, 0)
        b.PrependUOffsetTRelativeSlot(MODEL["subgraphs"], sgs, 0)
        b.PrependUOffsetTRelativeSlot(MODEL["description"], desc, 0)
        b.PrependUOffsetTRelativeSlot(MODEL["buffers"], bufs, 0)
        root = b.EndObject()
        b.Finish(root, file_identifier=identifier)
        return bytes(b.Output())
