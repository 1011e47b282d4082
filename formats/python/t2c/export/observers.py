"""Range observers and quantization-parameter choice (post-training quantization).

Activations: an `ActObserver` sees every calibration batch of one tensor, keeps its exact min/max and a
bounded random sample of its values; `choose_act_qparams` turns that into (scale, zero_point, dtype)
with the `minmax`, `percentile` or `mse` method once the bit width is known.
Weights: symmetric (zero point 0), per output channel or per tensor, `minmax` or `mse` clipping;
the integer range is the narrow one [-(2^(b-1)-1), 2^(b-1)-1].
"""

import numpy as np
import torch

SAMPLE_PER_BATCH = 16384
SAMPLE_MAX = 262144


def dtype_range(dtype):
    return {"int4": (-8, 7), "uint4": (0, 15), "int8": (-128, 127), "uint8": (0, 255),
            "int16": (-32768, 32767), "int32": (-2 ** 31, 2 ** 31 - 1)}[dtype]


def act_dtype(bits, signed):
    """4/8 bits signed or unsigned; 16 bits signed only (int16: the logits, `output_bits`)."""
    if bits == 16 and signed:
        return "int16"
    if bits not in (4, 8):
        raise ValueError(f"activation width {bits} not supported (4 or 8; 16 signed)")
    return ("int" if signed else "uint") + str(bits)


class ActObserver:
    def __init__(self, seed=0):
        self.min = float("inf")
        self.max = float("-inf")
        self.samples = []
        self.count = 0
        self.gen = torch.Generator().manual_seed(seed)

    def update(self, x):
        x = x.detach().reshape(-1).float()
        if x.numel() == 0:
            return
        self.min = min(self.min, float(x.min()))
        self.max = max(self.max, float(x.max()))
        if self.count < SAMPLE_MAX:
            k = min(SAMPLE_PER_BATCH, x.numel())
            idx = torch.randint(0, x.numel(), (k,), generator=self.gen)
            self.samples.append(x[idx].clone())
            self.count += k

    def sample(self):
        if not self.samples:
            return np.zeros(1, np.float32)
        return torch.cat(self.samples).numpy()


def _affine(lo, hi, qmin, qmax, symmetric):
    """(scale, zero_point) covering [lo, hi] (which always includes 0)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if symmetric:
        if qmin == 0:  # unsigned symmetric: only for non-negative tensors
            amax = hi
            scale = amax / qmax
        else:
            amax = max(-lo, hi)
            scale = amax / min(qmax, -qmin)
        zp = 0
    else:
        scale = (hi - lo) / (qmax - qmin)
        zp = 0 if scale == 0 else int(np.clip(qmin - round(lo / scale), qmin, qmax))
    if not scale > 1e-12:
        scale = 1e-8  # an all-zero tensor: any scale represents it exactly
    return float(np.float32(scale)), zp


def fake_quant_np(x, scale, zp, qmin, qmax):
    q = np.clip(np.rint(x / scale) + zp, qmin, qmax)
    return (q - zp) * scale


def choose_act_qparams(obs, bits, signed, symmetric, method, percentile=99.99, nonneg=False):
    """-> (scale, zero_point, dtype, (lo_f, hi_f) range used)."""
    dtype = act_dtype(bits, signed)
    qmin, qmax = dtype_range(dtype)
    if not signed and symmetric and obs.min < 0 and not nonneg:
        raise ValueError("unsigned symmetric activation quantization of a tensor with negative values")
    lo, hi = obs.min, obs.max
    if not np.isfinite(lo):  # never observed
        lo, hi = 0.0, 1.0
    if nonneg:
        lo = 0.0
    if method == "minmax":
        pass
    elif method == "percentile":
        s = obs.sample()
        if lo < 0:
            lo = float(min(0.0, np.percentile(s, 100.0 - percentile)))
        hi = float(max(0.0, np.percentile(s, percentile)))
    elif method == "mse":
        s = obs.sample().astype(np.float64)
        best = None
        for a in np.linspace(0.05, 1.0, 96):
            sc, zp = _affine(lo * a, hi * a, qmin, qmax, symmetric)
            err = float(np.mean((fake_quant_np(s, sc, zp, qmin, qmax) - s) ** 2))
            if best is None or err < best[0] - 1e-15:
                best = (err, a)
        lo, hi = lo * best[1], hi * best[1]
    else:
        raise ValueError(f"unknown activation observer {method!r} (minmax, percentile, mse)")
    scale, zp = _affine(lo, hi, qmin, qmax, symmetric)
    return scale, zp, dtype, (lo, hi)


def quantize_weight(w, bits, per_channel=True, method="minmax"):
    """Symmetric weight quantization. w: float tensor [Cout, ...].
    -> (w_int int64 tensor, scales float64 ndarray [Cout] (or [1]), dtype)."""
    if bits not in (4, 8):
        raise ValueError(f"weight width {bits} not supported (4 or 8)")
    qmax = 2 ** (bits - 1) - 1
    w64 = w.detach().double()
    flat = w64.reshape(w64.shape[0], -1) if per_channel else w64.reshape(1, -1)
    amax = flat.abs().max(dim=1).values
    if method == "mse":
        best_err = torch.full_like(amax, float("inf"))
        best_amax = amax.clone()
        for a in np.linspace(0.3, 1.0, 71):
            am = (amax * a).clamp_min(1e-12)
            sc = (am / qmax)[:, None]
            q = torch.clamp(torch.round(flat / sc), -qmax, qmax) * sc
            err = ((q - flat) ** 2).sum(dim=1)
            better = err < best_err
            best_err = torch.where(better, err, best_err)
            best_amax = torch.where(better, am, best_amax)
        amax = best_amax
    elif method != "minmax":
        raise ValueError(f"unknown weight observer {method!r} (minmax, mse)")
    scale = amax / qmax
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # all-zero channel
    # Scales are stored as float32-representable values so every consumer sees the same numbers.
    scale = scale.float().double()
    q = torch.clamp(torch.round(flat / scale[:, None]), -qmax, qmax).to(torch.int64)
    return q.reshape(w.shape), scale.numpy(), "int" + str(bits)
