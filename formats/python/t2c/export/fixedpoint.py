"""Float scales -> integer (multiplier, shift) pairs for requantize/add (ops/README.md: scale = m / 2^s).

A multiplier of `mult_bits` bits (8..32) is a positive signed integer, normalized into
[2^(mult_bits-2), 2^(mult_bits-1)), so |m| < 2^31 always holds. Rounding m to the nearest integer
(ties to even) then bounds the relative error of m / 2^s against the float scale by
    2^(1 - mult_bits)                                   (`scale_error_bound`)
as long as the shift stays within 0..62. Scales too small for shift 62 lose precision (m gets fewer
bits) and scales of 2^(mult_bits-1) or more cannot be represented at all; both are reported by the
returned relative error (and the latter raises).
"""

import math

import numpy as np

MAX_SHIFT = 62


def scale_error_bound(mult_bits):
    """Worst relative error |m/2^s - M| / M of a normalized multiplier of `mult_bits` bits."""
    return 2.0 ** (1 - mult_bits)


def quantize_multiplier(scale, mult_bits=32):
    """One positive float `scale` -> (m, s, rel_err) with m / 2^s ~= scale, 0 <= s <= 62,
    0 < m < 2^(mult_bits-1). A zero scale gives (0, 0, 0.0)."""
    if not 2 <= mult_bits <= 32:
        raise ValueError(f"multiplier width {mult_bits} outside 2..32")
    scale = float(scale)
    if not math.isfinite(scale) or scale < 0:
        raise ValueError(f"scale {scale} is not a finite non-negative number")
    if scale == 0.0:
        return 0, 0, 0.0
    f, e = math.frexp(scale)  # scale = f * 2^e, 0.5 <= f < 1
    s = mult_bits - 1 - e     # then scale * 2^s = f * 2^(mult_bits-1) in [2^(mult_bits-2), 2^(mult_bits-1))
    top = 1 << (mult_bits - 1)
    if s > MAX_SHIFT:
        s = MAX_SHIFT
    if s < 0:
        s = 0
    m = round(math.ldexp(scale, s))  # exact product by a power of two; round() ties to even
    if m >= top:
        if s > 0 and m == top:  # rounded up to the next power of two: renormalize
            m >>= 1
            s -= 1
        else:
            raise ValueError(f"scale {scale} needs a multiplier >= 2^{mult_bits - 1} (shift 0): "
                             "too large for the multiplier width")
    if m == 0:
        # Underflow (scale < 2^-63): the op would output zero_point everywhere.
        return 0, MAX_SHIFT, 1.0
    rel = abs(math.ldexp(m, -s) - scale) / scale
    return int(m), int(s), rel


def quantize_multipliers(scales, mult_bits=32):
    """Vector form: (multipliers list, shifts list, per-element rel errors ndarray)."""
    ms, ss, errs = [], [], []
    for v in np.asarray(scales, dtype=np.float64).reshape(-1):
        m, s, e = quantize_multiplier(v, mult_bits)
        ms.append(m)
        ss.append(s)
        errs.append(e)
    return ms, ss, np.asarray(errs, dtype=np.float64)
