"""Reading a Torch2Chip fused checkpoint (`t2c_model.pth.tar`) and binding it to an architecture.

`T2C.save` writes `torch.save(fused_model.state_dict())`: a plain dict of tensors, so no Torch2Chip
code is needed to read it. Per fused module (see archs.py) we use:

    <m>.conv.qweight / <m>.linear.qweight   integer-valued fp32 weights (mask already applied)
    <m>.conv.bias                           VGG only: a float bias Torch2Chip adds to the accumulator
    <m>.conv.aq.scale, .aq.zero_point       the module's input quantizer (1/step, zero point)
    <m>.conv.aq.delta                       LSQ's step; 1/delta is aq.scale exactly (fp32)
    <m>.scaler.scale, <m>.scaler.bias       MulShift: fixed-point integers with `fl` fractional bits

Everything else under a known module (the float `weight`, `mask`, `wq.*`, observers, `yq.*`, the
unused template `bn.*`, `linear.bias` which is folded into `scaler.bias`) is read but not needed.
A key outside every module of the architecture, or a needed key that is missing, is an error that
names them.
"""

import io
import lzma
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from .archs import Arch, QConv


class CheckpointError(ValueError):
    """The checkpoint does not fit the architecture (message names the keys)."""


def load_state_dict(path: str) -> Dict[str, np.ndarray]:
    """The state dict at `path` (optionally .xz-compressed) as {key: ndarray}."""
    import torch

    if str(path).endswith(".xz"):
        with lzma.open(path) as f:
            src = io.BytesIO(f.read())
    else:
        src = path
    try:
        obj = torch.load(src, map_location="cpu", weights_only=True)
    except TypeError:  # torch < 1.13 has no weights_only
        obj = torch.load(src, map_location="cpu")
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a state dict (a dict of tensors), got {type(obj).__name__}")
    out = {}
    for k, v in obj.items():
        if not hasattr(v, "detach"):
            raise CheckpointError(f"{path}: key '{k}' is not a tensor ({type(v).__name__})")
        k = k[7:] if k.startswith("module.") else k   # DataParallel prefix
        out[k] = v.detach().cpu().numpy()
    return out


@dataclass
class Quantizer:
    """Torch2Chip's activation quantizer in inference mode (dequantize=False):
    q = clamp(clamp(round(x * scale) + z, 0, 2^abit - 1) - z, 0, 2^abit - 1)
      = clamp(round(x * scale), lo, hi) with lo = clamp(-z, 0, M), hi = clamp(M - z, 0, M)."""
    scale: np.float32           # 1 / step, binary32
    zero_point: int
    abit: int
    delta: Optional[np.float32] = None

    @property
    def lo(self) -> int:
        m = (1 << self.abit) - 1
        return min(max(-self.zero_point, 0), m)

    @property
    def hi(self) -> int:
        m = (1 << self.abit) - 1
        return min(max(m - self.zero_point, 0), m)

    @property
    def dtype(self) -> str:
        return "uint4" if self.abit <= 4 else "uint8"

    def key(self):
        return (float(self.scale), self.lo, self.hi, self.dtype)

    def quantize_scale(self) -> float:
        """A float d with 1.0f / (float)d == scale in binary32, so that the `quantize` op (which
        multiplies by 1.0f / (float)scale) multiplies by exactly Torch2Chip's aq.scale."""
        s = np.float32(self.scale)
        one = np.float32(1.0)
        cands = []
        if self.delta is not None:
            cands.append(np.float32(self.delta))
        d = one / s
        cands += [d, np.nextafter(d, np.float32(0)), np.nextafter(d, np.float32(np.inf))]
        for c in cands:
            if c > 0 and np.isfinite(c) and one / c == s:
                return float(c)
        raise CheckpointError(f"no binary32 step d has 1/d == aq.scale = {float(s)!r}: the quantize "
                              "op cannot reproduce this multiplication")


@dataclass
class Layer:
    """One fused conv/linear module with the parameters the graphs need."""
    node: object                 # archs.QConv / archs.QLinear
    weight: np.ndarray           # int8 array (int4 values when wbit <= 4), conv [Co,Ci/g,K,K], fc [Co,Ci]
    wdtype: str                  # "int4" / "int8"
    S: np.ndarray                # float32 [C] (or [1]): MulShift scale, integer-valued
    B: np.ndarray                # float32 [C] (or [1]): MulShift bias, integer-valued
    quant: Optional[Quantizer]   # None at the stem
    conv_bias: Optional[np.ndarray] = None   # float32 [C], non-zero VGG conv bias


@dataclass
class Bound:
    arch: Arch
    layers: Dict[str, Layer]
    fl: int
    wbit: int
    abit: int
    warnings: List[str] = field(default_factory=list)


def _prefix(n):
    return n.name + (".conv" if isinstance(n, QConv) else ".linear")


def bind(sd: Dict[str, np.ndarray], arch: Arch, wbit: int = 8, abit: int = 8, fl: int = 26) -> Bound:
    """Check `sd` against `arch` and extract every fused module's parameters."""
    if not 2 <= wbit <= 8 or not 2 <= abit <= 8:
        raise CheckpointError(f"wbit = {wbit} and abit = {abit} must be 2..8")
    if not 0 <= fl <= 62:
        raise CheckpointError(f"fl = {fl} must be 0..62")
    mods = arch.modules()
    prefixes = tuple(m.name + "." for m in mods)
    unexpected = sorted(k for k in sd if not k.startswith(prefixes))
    need = []
    for m in mods:
        p = _prefix(m)
        need += [p + ".qweight", m.name + ".scaler.scale", m.name + ".scaler.bias"]
        if not (isinstance(m, QConv) and m.stem):
            need += [p + ".aq.scale", p + ".aq.zero_point"]
    missing = [k for k in need if k not in sd]
    if missing or unexpected:
        msg = [f"checkpoint does not match --arch {arch.name}:"]
        if missing:
            msg.append(f"{len(missing)} missing key(s): {', '.join(missing[:12])}"
                       + (" ..." if len(missing) > 12 else ""))
        if unexpected:
            msg.append(f"{len(unexpected)} unexpected key(s): {', '.join(unexpected[:12])}"
                       + (" ..." if len(unexpected) > 12 else ""))
        raise CheckpointError(" ".join(msg))

    wlo, whi = -(1 << (wbit - 1)), (1 << (wbit - 1)) - 1
    layers, warnings = {}, []
    max_w = 0
    for m in mods:
        p = _prefix(m)
        w = np.asarray(sd[p + ".qweight"], np.float64)
        want = (m.cout, m.cin // m.groups, m.k, m.k) if isinstance(m, QConv) else (m.cout, m.cin)
        if w.shape != want:
            raise CheckpointError(f"key '{p}.qweight' has shape {list(w.shape)}, --arch {arch.name} "
                                  f"needs {list(want)}")
        if not np.all(np.isfinite(w)) or np.any(w != np.round(w)):
            raise CheckpointError(f"key '{p}.qweight' is not integer-valued")
        if w.size and (w.min() < wlo or w.max() > whi):
            raise CheckpointError(f"key '{p}.qweight' holds values in [{int(w.min())}, {int(w.max())}], "
                                  f"outside the {wbit}-bit range [{wlo}, {whi}] (wrong --wbit?)")
        max_w = max(max_w, int(np.abs(w).max()) if w.size else 0)
        S = np.asarray(sd[m.name + ".scaler.scale"], np.float32).reshape(-1)
        B = np.asarray(sd[m.name + ".scaler.bias"], np.float32).reshape(-1)
        for key, v in ((".scaler.scale", S), (".scaler.bias", B)):
            if v.size not in (1, m.cout):
                raise CheckpointError(f"key '{m.name}{key}' has {v.size} values, expected 1 or {m.cout}")
            if not np.all(np.isfinite(v)):
                raise CheckpointError(f"key '{m.name}{key}' holds non-finite values")
        quant = None
        if not (isinstance(m, QConv) and m.stem):
            s = np.asarray(sd[p + ".aq.scale"], np.float32).reshape(-1)
            z = np.asarray(sd[p + ".aq.zero_point"], np.float64).reshape(-1)
            if s.size != 1 or z.size != 1:
                raise CheckpointError(f"keys '{p}.aq.scale'/'{p}.aq.zero_point' must be per-tensor "
                                      f"scalars (got {s.size} and {z.size} values)")
            if not (np.isfinite(s[0]) and s[0] > 0) or z[0] != np.round(z[0]):
                raise CheckpointError(f"key '{p}.aq.scale' = {s[0]} must be > 0 and '{p}.aq.zero_point' "
                                      f"= {z[0]} an integer")
            delta = sd.get(p + ".aq.delta")
            quant = Quantizer(np.float32(s[0]), int(z[0]), abit,
                              None if delta is None else np.float32(np.asarray(delta).reshape(-1)[0]))
            quant.quantize_scale()   # fails early if the binary32 product cannot be reproduced
        cb = None
        if isinstance(m, QConv) and (p + ".bias") in sd:
            cb = np.asarray(sd[p + ".bias"], np.float32).reshape(-1)
            if cb.size != m.cout:
                raise CheckpointError(f"key '{p}.bias' has {cb.size} values, expected {m.cout}")
            if not np.any(cb != 0):
                cb = None
        layers[m.name] = Layer(m, w.astype(np.int8), "int4" if wbit <= 4 else "int8", S, B, quant, cb)
    if wbit > 4 and max_w <= 8:
        warnings.append(f"every qweight fits in 4 bits (max |w| = {max_w}): if this is a 4-bit model, "
                        "pass --wbit 4 --abit 4 (the activation clamp depends on --abit)")
    return Bound(arch, layers, fl, wbit, abit, warnings)
