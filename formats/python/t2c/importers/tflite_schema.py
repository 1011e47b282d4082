"""The parts of the TFLite FlatBuffer schema (tensorflow/lite/schema/schema.fbs, file identifier
"TFL3") that the importer reads, as slot numbers and enum values, and a reader that turns a
.tflite file into plain Python objects.

Written from the schema's field layout (table fields in declaration order; a union field takes two
slots: its type byte, then the table). Only what the importer needs is named here.
"""

from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np
from flatbuffers import number_types as N

from ._flatbuf import Buffer, FlatbufferError

# enum TensorType : byte
TENSOR_TYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 5: "string", 6: "bool",
                7: "int16", 8: "complex64", 9: "int8", 10: "float64", 11: "complex128", 12: "uint64",
                13: "resource", 14: "variant", 15: "uint32", 16: "uint16", 17: "int4"}
NP_TYPES = {"float32": "<f4", "int32": "<i4", "uint8": "u1", "int64": "<i8", "int16": "<i2", "int8": "i1",
            "float64": "<f8", "uint64": "<u8", "uint32": "<u4", "uint16": "<u2", "bool": "u1", "float16": "<f2"}

# enum BuiltinOperator (the codes the importer names; others are reported by number)
BUILTIN_OPS = {
    0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D",
    5: "DEPTH_TO_SPACE", 6: "DEQUANTIZE", 7: "EMBEDDING_LOOKUP", 8: "FLOOR", 9: "FULLY_CONNECTED",
    10: "HASHTABLE_LOOKUP", 11: "L2_NORMALIZATION", 12: "L2_POOL_2D", 13: "LOCAL_RESPONSE_NORMALIZATION",
    14: "LOGISTIC", 15: "LSH_PROJECTION", 16: "LSTM", 17: "MAX_POOL_2D", 18: "MUL", 19: "RELU",
    20: "RELU_N1_TO_1", 21: "RELU6", 22: "RESHAPE", 23: "RESIZE_BILINEAR", 24: "RNN", 25: "SOFTMAX",
    26: "SPACE_TO_DEPTH", 27: "SVDF", 28: "TANH", 29: "CONCAT_EMBEDDINGS", 30: "SKIP_GRAM", 31: "CALL",
    32: "CUSTOM", 33: "EMBEDDING_LOOKUP_SPARSE", 34: "PAD", 35: "UNIDIRECTIONAL_SEQUENCE_RNN",
    36: "GATHER", 37: "BATCH_TO_SPACE_ND", 38: "SPACE_TO_BATCH_ND", 39: "TRANSPOSE", 40: "MEAN",
    41: "SUB", 42: "DIV", 43: "SQUEEZE", 44: "UNIDIRECTIONAL_SEQUENCE_LSTM", 45: "STRIDED_SLICE",
    47: "EXP", 49: "SPLIT", 50: "LOG_SOFTMAX", 53: "CAST", 54: "PRELU", 55: "MAXIMUM", 56: "ARG_MAX",
    57: "MINIMUM", 60: "PADV2", 65: "SLICE", 67: "TRANSPOSE_CONV", 70: "EXPAND_DIMS", 74: "SUM",
    83: "PACK", 88: "UNPACK", 97: "RESIZE_NEAREST_NEIGHBOR", 98: "LEAKY_RELU", 102: "SPLIT_V",
    114: "QUANTIZE", 117: "HARD_SWISH", 126: "BATCH_MATMUL",
}
BUILTIN_CODES = {v: k for k, v in BUILTIN_OPS.items()}

# union BuiltinOptions: index of each options table (0 = NONE)
OPTIONS_TYPES = {"Conv2DOptions": 1, "DepthwiseConv2DOptions": 2, "Pool2DOptions": 5,
                 "FullyConnectedOptions": 8, "SoftmaxOptions": 9, "ConcatenationOptions": 10,
                 "AddOptions": 11, "ReshapeOptions": 17, "MulOptions": 21, "PadOptions": 22,
                 "TransposeOptions": 26, "ReducerOptions": 27, "DequantizeOptions": 38,
                 "QuantizeOptions": 85}

# enum ActivationFunctionType : byte
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
# enum Padding : byte
PADDINGS = {0: "SAME", 1: "VALID"}

# Options tables: field name -> (slot, flags, default). Lists of ints are (slot, "ints", None).
OPTION_FIELDS = {
    "Conv2DOptions": {"padding": (0, N.Int8Flags, 0), "stride_w": (1, N.Int32Flags, 0),
                      "stride_h": (2, N.Int32Flags, 0), "fused_activation_function": (3, N.Int8Flags, 0),
                      "dilation_w_factor": (4, N.Int32Flags, 1), "dilation_h_factor": (5, N.Int32Flags, 1)},
    "DepthwiseConv2DOptions": {"padding": (0, N.Int8Flags, 0), "stride_w": (1, N.Int32Flags, 0),
                               "stride_h": (2, N.Int32Flags, 0), "depth_multiplier": (3, N.Int32Flags, 0),
                               "fused_activation_function": (4, N.Int8Flags, 0),
                               "dilation_w_factor": (5, N.Int32Flags, 1), "dilation_h_factor": (6, N.Int32Flags, 1)},
    "Pool2DOptions": {"padding": (0, N.Int8Flags, 0), "stride_w": (1, N.Int32Flags, 0),
                      "stride_h": (2, N.Int32Flags, 0), "filter_width": (3, N.Int32Flags, 0),
                      "filter_height": (4, N.Int32Flags, 0), "fused_activation_function": (5, N.Int8Flags, 0)},
    "FullyConnectedOptions": {"fused_activation_function": (0, N.Int8Flags, 0), "weights_format": (1, N.Int8Flags, 0),
                              "keep_num_dims": (2, N.BoolFlags, False),
                              "asymmetric_quantize_inputs": (3, N.BoolFlags, False)},
    "SoftmaxOptions": {"beta": (0, N.Float32Flags, 0.0)},
    "ConcatenationOptions": {"axis": (0, N.Int32Flags, 0), "fused_activation_function": (1, N.Int8Flags, 0)},
    "AddOptions": {"fused_activation_function": (0, N.Int8Flags, 0), "pot_scale_int16": (1, N.BoolFlags, True)},
    "MulOptions": {"fused_activation_function": (0, N.Int8Flags, 0)},
    "ReshapeOptions": {"new_shape": (0, "ints", None)},
    "ReducerOptions": {"keep_dims": (0, N.BoolFlags, False)},
    "PadOptions": {}, "TransposeOptions": {}, "DequantizeOptions": {}, "QuantizeOptions": {},
}
OPTIONS_OF_OP = {"CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
                 "AVERAGE_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions",
                 "FULLY_CONNECTED": "FullyConnectedOptions", "SOFTMAX": "SoftmaxOptions",
                 "CONCATENATION": "ConcatenationOptions", "ADD": "AddOptions", "MUL": "MulOptions",
                 "RESHAPE": "ReshapeOptions", "MEAN": "ReducerOptions", "PAD": "PadOptions",
                 "TRANSPOSE": "TransposeOptions"}

# table slots
MODEL = {"version": 0, "operator_codes": 1, "subgraphs": 2, "description": 3, "buffers": 4}
OPERATOR_CODE = {"deprecated_builtin_code": 0, "custom_code": 1, "version": 2, "builtin_code": 3}
SUBGRAPH = {"tensors": 0, "inputs": 1, "outputs": 2, "operators": 3, "name": 4}
TENSOR = {"shape": 0, "type": 1, "buffer": 2, "name": 3, "quantization": 4, "is_variable": 5, "sparsity": 6}
QUANT = {"min": 0, "max": 1, "scale": 2, "zero_point": 3, "details_type": 4, "details": 5,
         "quantized_dimension": 6}
OPERATOR = {"opcode_index": 0, "inputs": 1, "outputs": 2, "builtin_options_type": 3, "builtin_options": 4,
            "custom_options": 5}
BUFFER = {"data": 0, "offset": 1, "size": 2}
PLACEHOLDER_FOR_GREATER_OP_CODES = 127


@dataclass
class TfTensor:
    index: int
    name: str
    dtype: str
    shape: tuple
    data: Optional[np.ndarray] = None       # constant payload, shaped; None for activations
    scale: Optional[np.ndarray] = None      # float32 per-tensor (1 value) or per-channel scales
    zero_point: Optional[np.ndarray] = None  # int64
    quantized_dimension: int = 0

    @property
    def quantized(self):
        return self.scale is not None and len(self.scale) > 0

    def qparams(self):
        """(scale float32, zero point int) of a per-tensor quantized tensor."""
        return np.float32(self.scale[0]), int(self.zero_point[0]) if len(self.zero_point) else 0


@dataclass
class TfOp:
    index: int
    opcode: str          # "CONV_2D", ..., "CUSTOM:name" or "BUILTIN_<n>"
    inputs: List[int]
    outputs: List[int]
    options: dict = field(default_factory=dict)


@dataclass
class TfModel:
    source: str
    version: int
    description: str
    tensors: List[TfTensor]
    inputs: List[int]
    outputs: List[int]
    ops: List[TfOp]


def _fail(buf, where, problem):
    buf.fail(where, problem)


def _read_options(buf, op_obj, opcode, where):
    """Parse builtin_options for the op types of OPTIONS_OF_OP (other ops: {})."""
    kind = OPTIONS_OF_OP.get(opcode)
    if kind is None:
        return {}
    otype = op_obj.scalar(OPERATOR["builtin_options_type"], N.Uint8Flags, 0, "builtin_options_type")
    opts = {}
    table = op_obj.table(OPERATOR["builtin_options"], "builtin_options") if otype else None
    if otype and otype != OPTIONS_TYPES[kind]:
        _fail(buf, where, f"builtin_options has union type {otype}, expected {kind} ({OPTIONS_TYPES[kind]})")
    for name, (slot, flags, default) in OPTION_FIELDS[kind].items():
        if flags == "ints":
            v = table.numbers(slot, N.Int32Flags, name) if table is not None else None
            opts[name] = None if v is None else [int(x) for x in v]
        else:
            opts[name] = table.scalar(slot, flags, default, name) if table is not None else default
    return opts


def _buffer_data(buf, model_obj, buffers, index, where):
    if index == 0:
        return None
    if index >= len(buffers):
        _fail(buf, where, f"buffer index {index} out of range ({len(buffers)} buffers)")
    b = buffers[index]
    data = b.bytes(BUFFER["data"], "data")
    if data is not None and len(data):
        return data
    off = b.scalar(BUFFER["offset"], N.Uint64Flags, 0, "offset")
    size = b.scalar(BUFFER["size"], N.Uint64Flags, 0, "size")
    if off > 1:  # buffers stored after the FlatBuffer (models over 2 GB)
        buf.check(off, size, b.path)
        return buf.data[off:off + size]
    return None


def read_tflite(data, source="model.tflite") -> TfModel:
    """Parse a .tflite file (bytes) into a TfModel. Raises FlatbufferError on malformed input."""
    buf = Buffer(data, source)
    root = buf.root(b"TFL3", "TFLite model")
    version = root.scalar(MODEL["version"], N.Uint32Flags, 0, "version")
    if version != 3:
        _fail(buf, "version", f"schema version {version} is not supported (expected 3)")
    codes = []
    for oc in root.tables(MODEL["operator_codes"], "operator_codes"):
        dep = oc.scalar(OPERATOR_CODE["deprecated_builtin_code"], N.Int8Flags, 0, "deprecated_builtin_code")
        new = oc.scalar(OPERATOR_CODE["builtin_code"], N.Int32Flags, 0, "builtin_code")
        code = max(dep, new)  # the schema's rule: the larger of the two fields
        if code == BUILTIN_CODES["CUSTOM"]:
            codes.append("CUSTOM:" + (oc.string(OPERATOR_CODE["custom_code"], "custom_code") or "?"))
        else:
            codes.append(BUILTIN_OPS.get(code, f"BUILTIN_{code}"))
    subgraphs = root.tables(MODEL["subgraphs"], "subgraphs")
    if len(subgraphs) != 1:
        _fail(buf, "subgraphs", f"{len(subgraphs)} subgraphs; only single-subgraph models are supported")
    sg = subgraphs[0]
    buffers = root.tables(MODEL["buffers"], "buffers")

    tensors = []
    for i, t in enumerate(sg.tables(SUBGRAPH["tensors"], "tensors")):
        where = t.path
        shape = t.numbers(TENSOR["shape"], N.Int32Flags, "shape")
        shape = tuple(int(d) for d in shape) if shape is not None else ()
        if any(d < 0 for d in shape):
            _fail(buf, where + ".shape", f"negative dimension in {list(shape)}")
        tcode = t.scalar(TENSOR["type"], N.Int8Flags, 0, "type")
        dtype = TENSOR_TYPES.get(tcode, f"type{tcode}")
        name = t.string(TENSOR["name"], "name") or f"tensor{i}"
        if t.has(TENSOR["sparsity"]):
            _fail(buf, where, f"tensor '{name}' is sparse; sparse tensors are not supported")
        raw = _buffer_data(buf, root, buffers, t.scalar(TENSOR["buffer"], N.Uint32Flags, 0, "buffer"), where)
        arr = None
        if raw is not None:
            if dtype not in NP_TYPES:
                _fail(buf, where, f"tensor '{name}': constant of type {dtype} is not supported")
            dt = np.dtype(NP_TYPES[dtype])
            n = int(np.prod(shape)) if shape else 1
            if len(raw) != n * dt.itemsize:
                _fail(buf, where, f"tensor '{name}': buffer holds {len(raw)} bytes, shape {list(shape)} of "
                                  f"{dtype} needs {n * dt.itemsize}")
            arr = np.frombuffer(raw, dtype=dt).astype(dt.newbyteorder("=")).reshape(shape)
        scale = zp = None
        qdim = 0
        q = t.table(TENSOR["quantization"], "quantization")
        if q is not None:
            if q.scalar(QUANT["details_type"], N.Uint8Flags, 0, "details_type"):
                _fail(buf, q.path, f"tensor '{name}': custom quantization details are not supported")
            scale = q.numbers(QUANT["scale"], N.Float32Flags, "scale")
            zp = q.numbers(QUANT["zero_point"], N.Int64Flags, "zero_point")
            qdim = q.scalar(QUANT["quantized_dimension"], N.Int32Flags, 0, "quantized_dimension")
            if scale is not None and len(scale):
                if zp is None or len(zp) == 0:
                    zp = np.zeros(len(scale), np.int64)
                if len(zp) != len(scale):
                    _fail(buf, q.path, f"tensor '{name}': {len(scale)} scales but {len(zp)} zero points")
                if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
                    _fail(buf, q.path + ".scale", f"tensor '{name}': scales must be finite and > 0")
                if len(scale) > 1 and not (0 <= qdim < len(shape) and shape[qdim] == len(scale)):
                    _fail(buf, q.path + ".quantized_dimension",
                          f"tensor '{name}': {len(scale)} scales do not match dimension {qdim} of {list(shape)}")
            else:
                scale = zp = None
        tensors.append(TfTensor(i, name, dtype, shape, arr, scale, zp, qdim))

    def tensor_list(obj, slot, what, allow_missing=False):
        v = obj.numbers(slot, N.Int32Flags, what)
        out = [int(x) for x in v] if v is not None else []
        for k in out:
            if k >= len(tensors) or (k < 0 and not (allow_missing and k == -1)):
                _fail(buf, f"{obj.path}.{what}", f"tensor index {k} out of range ({len(tensors)} tensors)")
        return out

    inputs = tensor_list(sg, SUBGRAPH["inputs"], "inputs")
    outputs = tensor_list(sg, SUBGRAPH["outputs"], "outputs")
    ops = []
    for i, o in enumerate(sg.tables(SUBGRAPH["operators"], "operators")):
        ci = o.scalar(OPERATOR["opcode_index"], N.Uint32Flags, 0, "opcode_index")
        if ci >= len(codes):
            _fail(buf, o.path + ".opcode_index", f"opcode index {ci} out of range ({len(codes)} operator codes)")
        opcode = codes[ci]
        ins = tensor_list(o, OPERATOR["inputs"], "inputs", allow_missing=True)
        outs = tensor_list(o, OPERATOR["outputs"], "outputs")
        ops.append(TfOp(i, opcode, ins, outs, _read_options(buf, o, opcode, o.path)))
    desc = root.string(MODEL["description"], "description") or ""
    return TfModel(source, version, desc, tensors, inputs, outputs, ops)


__all__ = ["read_tflite", "TfModel", "TfOp", "TfTensor", "FlatbufferError", "BUILTIN_OPS", "BUILTIN_CODES",
           "ACTIVATIONS", "PADDINGS", "OPTIONS_TYPES", "OPTION_FIELDS", "OPTIONS_OF_OP", "TENSOR_TYPES"]
