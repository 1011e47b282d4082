"""Shared pieces of the TFLite and ONNX importers: errors, the t2c graph builder, the integer
multiplier derivations, and the input/label metadata."""

import math
import os

import numpy as np

from .. import container as c2

PRODUCER = "t2c-import 0.1"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INT_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "int32": (-2**31, 2**31 - 1),
             "int4": (-8, 7), "uint4": (0, 15)}


class ImportFailure(ValueError):
    """The model cannot be imported: an unsupported op or attribute, or malformed content.
    The message names the file, the op (index and type) or the field, and the problem."""


# ---------------------------------------------------------------- multipliers
def tflite_quantize_multiplier(d):
    """TFLite's QuantizeMultiplier(double) -> (multiplier, tflite_shift), from its definition:
    q, e = frexp(d) (0.5 <= q < 1); m = round(q * 2^31) with ties away from zero; m == 2^31 becomes
    2^30 with e + 1; e < -31 flushes to (0, 0). The scale is m * 2^(e - 31)."""
    d = float(d)
    if not math.isfinite(d) or d < 0:
        raise ValueError(f"multiplier {d} is not a finite non-negative number")
    if d == 0.0:
        return 0, 0
    q, e = math.frexp(d)
    m = math.floor(q * 2**31 + 0.5)  # q*2^31 is exact (a power-of-two scaling); +0.5 then floor = half away for q > 0
    if m == 2**31:
        m //= 2
        e += 1
    if e < -31:
        return 0, 0
    return int(m), int(e)


def tflite_mbqm(x, m, e):
    """TFLite's MultiplyByQuantizedMultiplier(x, m, e) on Python ints (x in int32):
    RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x * 2^max(e, 0), m), max(-e, 0))."""
    left, right = max(e, 0), max(-e, 0)
    v = ((x << left) + 2**31) % 2**32 - 2**31  # int32 multiply wraps
    if v == m == -2**31:
        t = 2**31 - 1
    else:
        p = v * m + (2**30 if v * m >= 0 else 1 - 2**30)
        t = p >> 31 if p >= 0 else -((-p) >> 31)  # division by 2^31 truncating toward zero
    mask = (1 << right) - 1
    return (t >> right) + (1 if (t & mask) > (mask >> 1) + (1 if t < 0 else 0) else 0)


def t2c_shift_of(tflite_shift, where):
    """t2c's shift s (scale = m / 2^s) for a TFLite exponent: s = 31 - tflite_shift, must be 0..62."""
    s = 31 - int(tflite_shift)
    if not 0 <= s <= 62:
        raise ImportFailure(f"{where}: scale needs TFLite shift {tflite_shift}, outside t2c's range -31..31")
    return s


def fixed_multiplier(scale, bits=31):
    """A positive float scale -> (m, s, rel_err) with m / 2^s ~= scale, m in [2^(bits-1), 2^bits)
    rounded to nearest (ties to even), 0 <= s <= 62. The relative error is at most 2^-bits.
    Used for ONNX's float requantization (bits = 31: |m| < 2^31 as t2c requires)."""
    scale = float(scale)
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale {scale} must be finite and > 0")
    f, e = math.frexp(scale)
    s = bits - e
    s = min(max(s, 0), 62)
    m = round(math.ldexp(scale, s))  # exact scaling by a power of two, then ties to even
    if m == 2**bits and s > 0:  # rounded up to the next power of two: renormalize
        m >>= 1
        s -= 1
    if m >= 2**31:
        raise ValueError(f"scale {scale} is too large for a 31-bit multiplier with shift 0")
    if m == 0:
        raise ValueError(f"scale {scale} is too small for shift 62")
    return int(m), int(s), abs(math.ldexp(m, -s) - scale) / scale


# ---------------------------------------------------------------- graph builder
class Builder:
    """Accumulates a t2c container.Model with unique names."""

    def __init__(self):
        self.model = c2.Model()
        self.shapes = {}
        self.dtypes = {}

    def unique(self, name):
        name = name or "t"
        base, k = name, 1
        while name in self.model.tensors:
            name = f"{base}_{k}"
            k += 1
        return name

    def const(self, name, dtype, array, compress=0):
        name = self.unique(name)
        arr = np.asarray(array)
        self.model.add_tensor(name, dtype, arr.shape, data=arr, compress=compress)
        self.shapes[name], self.dtypes[name] = tuple(arr.shape), dtype
        return name

    def act(self, name, dtype, shape):
        name = self.unique(name)
        self.model.add_tensor(name, dtype, tuple(int(d) for d in shape))
        self.shapes[name], self.dtypes[name] = tuple(int(d) for d in shape), dtype
        return name

    def op(self, type_, name, inputs, outputs, **attrs):
        # op names become file names in golden dumps (NNNN_<op>.npy): no '/'
        name = name.replace("/", ":").strip(":") or type_
        base, k, nm = name, 1, name
        names = {o.name for o in self.model.ops}
        while nm in names:
            nm = f"{base}_{k}"
            k += 1
        self.model.add_op(type_, nm, inputs, outputs, attrs)
        return nm


# ---------------------------------------------------------------- metadata
def repo_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))))


def shared_dir():
    """../shared relative to the repository root (the project's read-only material), or None."""
    d = os.path.join(os.path.dirname(repo_root()), "shared")
    return d if os.path.isdir(d) else None


def imagenet_labels(tv_weights="MobileNet_V2_Weights", wnid_tsv=None):
    """(labels, wnids) for the 1000 ImageNet classes: names from torchvision's weight metadata (falling
    back to the TSV's names), WordNet ids from imagenet_classes.tsv (../shared/models by default)."""
    labels = wnids = None
    try:
        import torchvision.models as tvm

        labels = list(getattr(tvm, tv_weights).IMAGENET1K_V1.meta["categories"])
    except Exception:  # torchvision missing or without weight metadata
        labels = None
    if wnid_tsv is None and shared_dir():
        wnid_tsv = os.path.join(shared_dir(), "models", "imagenet_classes.tsv")
    if wnid_tsv and os.path.exists(wnid_tsv):
        with open(wnid_tsv, encoding="utf-8") as f:
            rows = [ln.rstrip("\n").split("\t") for ln in f]
        rows = [r for r in rows if len(r) >= 2 and r[0].isdigit()]
        if len(rows) == 1000:
            wnids = [r[1] for r in sorted(rows, key=lambda r: int(r[0]))]
            if labels is None:
                labels = [r[2] if len(r) > 2 else r[1] for r in sorted(rows, key=lambda r: int(r[0]))]
    if labels is not None and len(labels) != 1000:
        labels = None
    return labels, wnids


def add_metadata(model, name, description, in_shape, in_scale, in_zp, out_scale, out_zp, classes,
                 preprocess="auto", labels="auto", wnid_tsv=None):
    """Metadata keys of formats/t2c-format.md. preprocess: 'imagenet', 'none' or 'auto' (ImageNet for a
    3-channel 224x224 input); labels: 'auto' (ImageNet names for 1000 outputs), None, or a list."""
    meta = model.meta
    meta["model.name"] = name
    meta["model.producer"] = PRODUCER
    if description:
        meta["model.description"] = description
    meta["input.layout"] = "NCHW"
    channels = int(in_shape[1]) if len(in_shape) == 4 else 0
    if channels in (1, 3):
        meta["input.color"] = "RGB" if channels == 3 else "GRAY"
    if preprocess == "auto":
        preprocess = "imagenet" if len(in_shape) == 4 and channels == 3 and tuple(in_shape[2:]) == (224, 224) \
            else "none"
    if preprocess == "imagenet":
        meta["preprocess.resize"] = 256
        meta["preprocess.resize_mode"] = "shorter"
        meta["preprocess.interpolation"] = "bilinear"
        meta["preprocess.crop"] = c2.Ints([int(in_shape[2]), int(in_shape[3])])
        meta["preprocess.mean"] = c2.Floats(IMAGENET_MEAN)
        meta["preprocess.std"] = c2.Floats(IMAGENET_STD)
    elif preprocess != "none":
        raise ValueError(f"preprocess {preprocess!r}: expected 'imagenet', 'none' or 'auto'")
    if in_scale is not None:
        meta["input.scale"] = float(in_scale)
        meta["input.zero_point"] = int(in_zp)
    if out_scale is not None:
        meta["output.scale"] = float(out_scale)
        meta["output.zero_point"] = int(out_zp)
    wnids = None
    if labels == "auto":
        labels = None
        if preprocess == "imagenet" and classes == 1000:
            labels, wnids = imagenet_labels(wnid_tsv=wnid_tsv)
    if labels and len(labels) != classes:
        raise ValueError(f"{len(labels)} labels for {classes} outputs")
    if labels:
        meta["labels"] = c2.Strings(labels)
    if wnids:
        meta["labels.wnid"] = c2.Strings(wnids)
    return model
