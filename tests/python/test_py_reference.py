"""Tests of formats/python/t2c/reference.py against hand-worked values from ops/README.md.

Run: cd tests/python && PYTHONPATH=/work/main/formats/python /usr/bin/python3 -m unittest -v test_py_reference

Every expected value below is worked out by hand in the comment next to it (README recipes),
except the randomised cross-checks, which compare the vectorised kernels with naive loop nests
written here directly from the README pseudo-code.
"""

import os
import subprocess
import sys
import tempfile
import unittest
from types import SimpleNamespace

import numpy as np

from t2c import reference as R

I8 = np.int8
U8 = np.uint8
I16 = np.int16
I32 = np.int32
MODES = ("half_even", "half_up", "half_away", "floor", "tflite")


def a(values, dtype=np.int64):
    return np.array(values, dtype=dtype)


class Eq:
    def eq(self, got, want, dtype=None):
        got = np.asarray(got)
        want = np.asarray(want)
        if dtype is not None:
            self.assertEqual(got.dtype, np.dtype(dtype))
        self.assertEqual(got.shape, want.shape, f"shape {got.shape} != {want.shape}")
        self.assertTrue(np.array_equal(got.astype(object), want.astype(object)),
                        f"\n got {got.tolist()}\nwant {want.tolist()}")


# ------------------------------------------------------------------------------------------
# Rounding helpers
# ------------------------------------------------------------------------------------------

class TestRoundShift(unittest.TestCase, Eq):
    # v:      5    7   -5   -7    6   -6    7   -7    9
    # s:      1    1    1    1    2    2    2    2    2
    # v/2^s: 2.5  3.5 -2.5 -3.5  1.5 -1.5 1.75 -1.75 2.25
    # q:      2    3   -3   -4    1   -2    1   -2    2     (floor)
    # r:      1    1    1    1    2    2    3    1    1     (h = 1,1,1,1,2,2,2,2,2)
    V = a([5, 7, -5, -7, 6, -6, 7, -7, 9])
    S = a([1, 1, 1, 1, 2, 2, 2, 2, 2])

    def test_half_even(self):
        # ties go to the even one of q, q+1: 2, 4, -2, -4, 2, -2; non-ties 2, -2, 2
        self.eq(R.round_shift(self.V, self.S, "half_even"), [2, 4, -2, -4, 2, -2, 2, -2, 2])

    def test_half_up(self):
        # ties -> q + 1: 3, 4, -2, -3, 2, -1
        self.eq(R.round_shift(self.V, self.S, "half_up"), [3, 4, -2, -3, 2, -1, 2, -2, 2])

    def test_half_away(self):
        # ties away from zero: 3, 4, -3, -4, 2, -2
        self.eq(R.round_shift(self.V, self.S, "half_away"), [3, 4, -3, -4, 2, -2, 2, -2, 2])

    def test_floor(self):
        self.eq(R.round_shift(self.V, self.S, "floor"), [2, 3, -3, -4, 1, -2, 1, -2, 2])

    def test_shift_zero_is_identity(self):
        # s = 0: the result is v for every mode (r = 0 is not a tie)
        v = a([-7, -1, 0, 1, 7, 1 << 40, -(1 << 62)])
        for mode in ("half_even", "half_up", "half_away", "floor"):
            self.eq(R.round_shift(v, 0, mode), v)

    def test_large_shifts(self):
        # s = 62: 2^62 -> 1; 2^61 = 0.5 (tie, q = 0); -2^61 = -0.5 (tie, q = -1);
        # 3*2^61 = 1.5 (tie, q = 1); -2^63 = -2 exactly; 2^61 + 1 just above the tie
        v = a([1 << 62, 1 << 61, -(1 << 61), 3 << 61, -(1 << 63), (1 << 61) + 1])
        self.eq(R.round_shift(v, 62, "half_even"), [1, 0, 0, 2, -2, 1])
        self.eq(R.round_shift(v, 62, "half_up"), [1, 1, 0, 2, -2, 1])
        self.eq(R.round_shift(v, 62, "half_away"), [1, 1, -1, 2, -2, 1])
        self.eq(R.round_shift(v, 62, "floor"), [1, 0, -1, 1, -2, 0])
        # s = 31: 2^31 + 2^30 = 1.5 -> 2 (even), 2^30 = 0.5 -> 0 (even), -2^30 -> 0
        self.eq(R.round_shift(a([(1 << 31) + (1 << 30), 1 << 30, -(1 << 30)]), 31), [2, 0, 0])

    def test_beyond_int64(self):
        # exact Python ints: (2^70 + 2^59) / 2^60 = 1024.5 -> 1024 (even); away: 1025
        v = np.array([(1 << 70) + (1 << 59), -(1 << 70) - (1 << 59)], dtype=object)
        self.eq(R.round_shift(v, 60, "half_even"), [1024, -1024])
        self.eq(R.round_shift(v, 60, "half_away"), [1025, -1025])

    def test_bad_arguments(self):
        with self.assertRaises(ValueError):
            R.round_shift(a([1]), 63)
        with self.assertRaises(ValueError):
            R.round_shift(a([1]), -1)
        with self.assertRaises(ValueError):
            R.round_shift(a([1]), 1, "nearest")
        with self.assertRaises(ValueError):
            R.round_shift(a([1]), 1, "tflite")


class TestRoundDiv(unittest.TestCase, Eq):
    def test_all_modes(self):
        # v, d:   5,2   -5,2   7,3   8,3   -8,3   -7,3  -9,6  15,6  -7,1
        # exact:  2.5   -2.5  2.33  2.67  -2.67  -2.33  -1.5  2.5   -7
        # q, r:  2,1   -3,1   2,1   2,2   -3,1   -3,2   -2,3  2,3  -7,0
        v = a([5, -5, 7, 8, -8, -7, -9, 15, -7])
        d = a([2, 2, 3, 3, 3, 3, 6, 6, 1])
        self.eq(R.round_div(v, d, "half_even"), [2, -2, 2, 3, -3, -2, -2, 2, -7])
        self.eq(R.round_div(v, d, "half_up"), [3, -2, 2, 3, -3, -2, -1, 3, -7])
        self.eq(R.round_div(v, d, "half_away"), [3, -3, 2, 3, -3, -2, -2, 3, -7])
        self.eq(R.round_div(v, d, "floor"), [2, -3, 2, 2, -3, -3, -2, 2, -7])
        # tflite behaves as half_away
        self.eq(R.round_div(v, d, "tflite"), [3, -3, 2, 3, -3, -2, -2, 3, -7])

    def test_bad_divisor(self):
        with self.assertRaises(ValueError):
            R.round_div(a([1]), 0)


class TestScaleRound(unittest.TestCase, Eq):
    def test_plain_modes(self):
        # (3*5 + 1) / 4 = 4 exactly; 15/2 = 7.5; -15/2 = -7.5; -9/2 = -4.5
        v, m, b, s = a([3, 3, -3, -3]), a([5, 5, 5, 3]), a([1, 0, 0, 0]), a([2, 1, 1, 1])
        self.eq(R.scale_round(v, m, b, s, "half_even"), [4, 8, -8, -4])
        self.eq(R.scale_round(v, m, b, s, "half_up"), [4, 8, -7, -4])
        self.eq(R.scale_round(v, m, b, s, "half_away"), [4, 8, -8, -5])
        self.eq(R.scale_round(v, m, b, s, "floor"), [4, 7, -8, -5])

    def test_extreme_legal_ranges(self):
        # v = -2^31, m = -(2^31 - 1): v*m = 2^62 - 2^31; + b = 2^62 - 1 -> 2^63 - 2^31 - 1
        # / 2^62: q = 1, r = 2^62 - 2^31 - 1 > 2^61 -> 2
        self.eq(R.scale_round(-(1 << 31), -((1 << 31) - 1), (1 << 62) - 1, 62), 2)
        # negative offset: (1 * 1 - 2^61) / 2^61 = -1 + 2^-61: q = -1, r = 1 -> -1
        self.eq(R.scale_round(1, 1, -(1 << 61), 61), -1)

    def test_exact_beyond_int64(self):
        # 2^40 * (2^31 - 1) / 8 = 2^68 - 2^37 = 295147905041913872384 (exceeds int64)
        r = R.scale_round(a([1 << 40]), (1 << 31) - 1, 0, 3)
        self.assertEqual(int(r[0]), 295147905041913872384)

    def test_tflite_basic(self):
        # m = 2^30 (0.5 in Q31), s = 31: L = R = 0.
        # v = 100: p = 100*2^30, (p + 2^30) / 2^31 = 50.5 -> trunc 50
        # v = -100: (p + 1 - 2^30) / 2^31 = -50.4999.. -> trunc -50
        # v = 1: (2^30 + 2^30) / 2^31 = 1; v = -1: (1 - 2^31) / 2^31 -> trunc 0
        self.eq(R.scale_round(a([100, -100, 1, -1]), 1 << 30, 0, 31, "tflite"), [50, -50, 1, 0])

    def test_tflite_rdbpot(self):
        # m = 2^30, s = 33: L = 0, R = 2.
        # v = 10:  t = (10*2^30 + 2^30)/2^31 = 5.5 -> 5;  RDBPOT(5, 2): 5>>2 = 1, 5&3 = 1,
        #          threshold 1 + 0 = 1, 1 > 1 no -> 1
        # v = 12:  t = 6.5 -> 6; 6>>2 = 1, 6&3 = 2 > 1 -> 2
        # v = -12: t = (-12*2^30 + 1 - 2^30)/2^31 = -6.4999.. -> -6; -6>>2 = -2, -6&3 = 2,
        #          threshold 1 + 1 = 2, 2 > 2 no -> -2
        # v = -10: t = -5.4999.. -> -5; -5>>2 = -2, -5&3 = 3 > 2 -> -1
        self.eq(R.scale_round(a([10, 12, -12, -10]), 1 << 30, 0, 33, "tflite"), [1, 2, -2, -1])

    def test_tflite_left_shift(self):
        # s = 29: L = 2, R = 0: v = 3 -> x = 12; t = (12*2^30 + 2^30)/2^31 = 6.5 -> 6
        self.eq(R.scale_round(3, 1 << 30, 0, 29, "tflite"), 6)
        # s = 0: L = 31: x = 1*2^31 wraps to -2^31; p = -2^61;
        # (p + 1 - 2^30)/2^31 = -2^30 - 0.4999.. -> -2^30
        self.eq(R.scale_round(1, 1 << 30, 0, 0, "tflite"), -(1 << 30))

    def test_tflite_extremes(self):
        # v = m = 2^31 - 1, s = 31: p = 2^62 - 2^32 + 1, + 2^30, / 2^31 = 2^31 - 2 + 0.50.. -> 2^31 - 2
        self.eq(R.scale_round((1 << 31) - 1, (1 << 31) - 1, 0, 31, "tflite"), (1 << 31) - 2)
        # s = 62: R = 31: t = 2^31 - 2; t>>31 = 0; t & (2^31 - 1) = 2^31 - 2 > 2^30 - 1 -> 1
        self.eq(R.scale_round((1 << 31) - 1, (1 << 31) - 1, 0, 62, "tflite"), 1)
        # v = -2^31, m = 2^31 - 1, s = 31: p = -2^62 + 2^31; + 1 - 2^30 = -2^62 + 2^30 + 1;
        # / 2^31 = -2^31 + 0.50.. -> trunc -2^31 + 1
        self.eq(R.scale_round(-(1 << 31), (1 << 31) - 1, 0, 31, "tflite"), -(1 << 31) + 1)

    def test_srdhm_saturation(self):
        # the one overflow case of SRDHM: x = m = -2^31 gives 2^31 - 1
        self.eq(R.srdhm(-(1 << 31), -(1 << 31)), (1 << 31) - 1)
        # neighbour: x = -2^31, m = -2^31 + 3: p = 2^62 - 3*2^31, + 2^30, / 2^31 = 2^31 - 2.5
        # -> trunc 2^31 - 3
        self.eq(R.srdhm(-(1 << 31), -(1 << 31) + 3), (1 << 31) - 3)

    def test_rdbpot_direct(self):
        # RDBPOT(t, 1): 3 -> 1.5 -> 2; -3 -> -1.5 -> -2; 1 -> 0.5 -> 1; -1 -> -0.5 -> -1; R = 0 -> t
        self.eq(R.rdbpot(a([3, -3, 1, -1, 2]), 1), [2, -2, 1, -1, 1])
        self.eq(R.rdbpot(a([-7, 7]), 0), [-7, 7])

    def test_tflite_requirements(self):
        with self.assertRaises(ValueError):
            R.scale_round(1, 1 << 30, 1, 31, "tflite")          # offset must be 0
        with self.assertRaises(ValueError):
            R.scale_round(1, -1, 0, 31, "tflite")               # multiplier >= 0
        with self.assertRaises(ValueError):
            R.scale_round(1, 1 << 31, 0, 31, "tflite")          # multiplier < 2^31
        with self.assertRaises(ValueError):
            R.scale_round(1 << 31, 1 << 30, 0, 31, "tflite")    # v in int32


# ------------------------------------------------------------------------------------------
# Boundary ops
# ------------------------------------------------------------------------------------------

class TestQuantize(unittest.TestCase, Eq):
    def test_ties_to_even_and_zero_point(self):
        # scale 0.5 -> inv 2: t = 0.5, 1.5, -0.5, -1.5, 2.5 -> rint 0, 2, -0, -2, 2 -> +3
        x = a([0.25, 0.75, -0.25, -0.75, 1.25], np.float32)
        self.eq(R.quantize(x, 0.5, 3), [3, 5, 3, 1, 5], I8)

    def test_binary32_arithmetic(self):
        # (float)0.1 = 0.100000001490116; 1/that = 9.99999985 -> binary32 10.0 exactly.
        # x = 0.35f = 0.3499999940395355; x*10 = 3.49999994 -> nearest binary32 is 3.5
        # (neighbours 3.5 and 3.49999976) -> rint 4. In binary64 it would be 3.4999999 -> 3.
        self.eq(R.quantize(a([0.35], np.float32), 0.1), [4], I8)

    def test_specials_and_saturation(self):
        x = a([np.nan, np.inf, -np.inf, 1e30, -1e30, 200.0, -200.0], np.float32)
        # NaN -> zero_point; +-inf / huge clamp; 200/1 + 5 = 205 -> 127; -200 + 5 -> -128
        self.eq(R.quantize(x, 1.0, 5), [5, 127, -128, 127, -128, 127, -128], I8)

    def test_int4_uint4_limits(self):
        # scale 1: 7.5 -> 8 (even) -> 7; 8.4 -> 8 -> 7; -8.6 -> -9 -> -8; -7.5 -> -8
        x = a([7.5, 8.4, -8.6, -7.5, 6.5], np.float32)
        self.eq(R.quantize(x, 1.0, 0, dtype="int4"), [7, 7, -8, -8, 6], I8)
        # uint4, zp 8: 8+8 = 16 -> 15; 8 -> 15; -9+8 = -1 -> 0; -8+8 = 0; 6+8 = 14
        self.eq(R.quantize(x, 1.0, 8, dtype="uint4"), [15, 15, 0, 0, 14], U8)

    def test_lo_hi(self):
        # fused ReLU at the boundary: lo = zero_point = 2: -3+2 = -1 -> 2; 1+2 = 3; 9+2 = 11 -> hi 10
        self.eq(R.quantize(a([-3.0, 1.0, 9.0], np.float32), 1.0, 2, lo=2, hi=10), [2, 3, 10], I8)

    def test_bad(self):
        with self.assertRaises(R.OpError):
            R.quantize(a([1.0], np.float32), 0.0)
        with self.assertRaises(R.OpError):
            R.quantize(a([1.0], np.float32), 1.0, 200)       # zero point outside int8
        with self.assertRaises(R.OpError):
            R.quantize(a([1.0], np.float64), 1.0)            # float32 only
        with self.assertRaises(R.OpError):
            R.quantize(a([1.0], np.float32), 1.0, lo=5, hi=4)

    def test_matches_torch(self):
        # README: "This is PyTorch's quantize_per_tensor arithmetic" (finite values).
        try:
            import torch
        except ImportError:
            self.skipTest("torch not installed")
        rng = np.random.default_rng(7)
        x = (rng.standard_normal(5000) * 40).astype(np.float32)
        x[:200] = (np.arange(200) - 100).astype(np.float32) * np.float32(0.05)  # many ties
        for scale, zp in ((0.1, 3), (0.05, -7), (0.3, 0), (1.0 / 3, 11)):
            want = torch.quantize_per_tensor(torch.from_numpy(x), scale, zp, torch.qint8)
            self.eq(R.quantize(x, scale, zp), want.int_repr().numpy())


class TestDequantize(unittest.TestCase, Eq):
    def test_values(self):
        # (x - 0) * 0.5: -64, 0, 63.5
        self.eq(R.dequantize(a([-128, 0, 127], I8), 0.5), a([-64, 0, 63.5], np.float32),
                np.float32)
        # (13 - 3) * 0.1f = 1.00000001 -> binary32 1.0; (4 - 3) * 0.1f = 0.1f
        y = R.dequantize(a([13, 4], I8), 0.1, 3)
        self.assertEqual(y[0], np.float32(1.0))
        self.assertEqual(y[1], np.float32(0.1))


# ------------------------------------------------------------------------------------------
# conv2d / linear / matmul
# ------------------------------------------------------------------------------------------

def img(rows, dtype=I8):
    """[[...], ...] -> [1, 1, H, W]"""
    return np.array(rows, dtype=dtype)[None, None]


class TestConv2d(unittest.TestCase, Eq):
    X = img([[1, 2, 3], [4, 5, 6], [7, 8, 9]])

    def test_basic_with_bias(self):
        # w = [[1, 2], [3, 4]]: y00 = 1 + 4 + 12 + 20 = 37, y01 = 2 + 6 + 15 + 24 = 47,
        # y10 = 4 + 10 + 21 + 32 = 67, y11 = 5 + 12 + 24 + 36 = 77; bias 10
        y = R.conv2d(self.X, img([[1, 2], [3, 4]]), a([10], I32))
        self.eq(y, img([[47, 57], [77, 87]], I32), I32)

    def test_strides(self):
        # 1x1 kernel 2, stride 2: Ho = (3 - 1)/2 + 1 = 2 -> 2 * [[1, 3], [7, 9]]
        self.eq(R.conv2d(self.X, img([[2]]), strides=[2, 2]), img([[2, 6], [14, 18]], I32))

    def test_dilation(self):
        # 2x2 kernel, dilation 2 spans 3x3, taps x[0,0], x[0,2], x[2,0], x[2,2] = 1, 3, 7, 9:
        # w [[1, 2], [3, 4]]: 1*1 + 3*2 + 7*3 + 9*4 = 64
        self.eq(R.conv2d(self.X, img([[1, 2], [3, 4]]), dilations=[2, 2]), img([[64]], I32))

    def test_asymmetric_pads(self):
        # x = [[1, 2], [3, 4]], pads [top 1, left 0, bottom 0, right 2]; padded (rows -1..1, cols 0..3):
        #   [[0, 0, 0, 0], [1, 2, 0, 0], [3, 4, 0, 0]]; Ho = 3 - 2 + 1 = 2, Wo = 4 - 2 + 1 = 3
        # w = [[1, 5], [20, 100]]:
        #   y00 = 20*1 + 100*2 = 220; y01 = 20*2 = 40; y02 = 0
        #   y10 = 1 + 5*2 + 20*3 + 100*4 = 471; y11 = 2 + 20*4 = 82; y12 = 0
        y = R.conv2d(img([[1, 2], [3, 4]]), img([[1, 5], [20, 100]]), pads=[1, 0, 0, 2])
        self.eq(y, img([[220, 40, 0], [471, 82, 0]], I32))

    def test_padding_is_zero_point(self):
        # uint8 x = [[10, 12], [14, 16]], x_zp = 10 -> [[0, 2], [4, 6]]; w = 3 with w_zp = 2 -> 1;
        # 3x3 kernel, pads 1: every window covers the whole input, padding adds (10 - 10) = 0:
        # y = 0 + 2 + 4 + 6 = 12 everywhere (padding by 0 instead would give 12 - 5*10 or so)
        y = R.conv2d(img([[10, 12], [14, 16]], U8), np.full((1, 1, 3, 3), 3, I8),
                     pads=[1, 1, 1, 1], x_zero_point=10, w_zero_point=2)
        self.eq(y, img([[12, 12], [12, 12]], I32))

    def test_negative_zero_points(self):
        # x int8 [[-5, 3]], x_zp = -5 -> [0, 8]; w [[2, -1]], w_zp = -3 -> [5, 2]; y = 0 + 16 = 16
        self.eq(R.conv2d(img([[-5, 3]]), img([[2, -1]]), x_zero_point=-5, w_zero_point=-3),
                img([[16]], I32))

    def test_depthwise(self):
        # group = Cin = Cout = 2; ch0 [[1, 2]] * 3 = [3, 6]; ch1 [[5, 6]] * -2 = [-10, -12]
        x = np.array([[[[1, 2]], [[5, 6]]]], I8)
        w = np.array([[[[3]]], [[[-2]]]], I8)
        self.eq(R.conv2d(x, w, group=2), np.array([[[[3, 6]], [[-10, -12]]]], I32))
        # Cout = 4 = 2 * Cin: outputs 0, 1 read ch0 (w 1, 2), outputs 2, 3 read ch1 (w 3, 4)
        w4 = np.array([1, 2, 3, 4], I8).reshape(4, 1, 1, 1)
        self.eq(R.conv2d(x, w4, group=2),
                np.array([[[[1, 2]], [[2, 4]], [[15, 18]], [[20, 24]]]], I32))

    def test_groups(self):
        # Cin = 4, Cout = 2, group 2: y0 = 1*x0 + 2*x1, y1 = 3*x2 + 4*x3 (1x1 spatial)
        x = np.array([1, 10, 100, -1], I8).reshape(1, 4, 1, 1)
        w = np.array([[1, 2], [3, 4]], I8).reshape(2, 2, 1, 1)
        # y0 = 1 + 20 = 21; y1 = 300 - 4 = 296
        self.eq(R.conv2d(x, w, group=2), np.array([21, 296], I32).reshape(1, 2, 1, 1))

    def test_int4_limits(self):
        # x = w = -8 (int4 in int8): 2 products of 64 -> 128
        self.eq(R.conv2d(img([[-8, -8]]), img([[-8, -8]])), img([[128]], I32))
        # x_zp = 7: -8 - 7 = -15; w = 7 with w_zp = -8: 15; 2 * (-225) = -450
        self.eq(R.conv2d(img([[-8, -8]]), img([[7, 7]]), x_zero_point=7, w_zero_point=-8),
                img([[-450]], I32))
        # uint4 x = [15, 0], zp 8 -> [7, -8]; w [7, -8] -> 49 + 64 = 113
        self.eq(R.conv2d(img([[15, 0]], U8), img([[7, -8]]), x_zero_point=8), img([[113]], I32))

    def test_batch(self):
        x = np.array([[[[1, 2]]], [[[-3, 4]]]], I8)      # N = 2
        # w [[1, -1]]: n0: 1 - 2 = -1; n1: -3 - 4 = -7
        self.eq(R.conv2d(x, img([[1, -1]])), np.array([-1, -7], I32).reshape(2, 1, 1, 1))

    def test_saturate_order(self):
        # acc_bits 8 [-128, 127]. 2 channels, 2x2 kernel, x = 40 everywhere, w ch0 = 1, ch1 = -1.
        # Order (ci, kh, kw): +40 four times: 40, 80, 120, 160 -> 127; then -40 four times:
        # 87, 47, 7, -33. (Exact sum 0; a (kh, kw, ci) order would give 0.)
        x = np.full((1, 2, 2, 2), 40, I8)
        w = np.stack([np.ones((2, 2), I8), -np.ones((2, 2), I8)])[None]
        self.eq(R.conv2d(x, w, acc_bits=8, overflow="saturate"), img([[-33]], I32))
        # within one channel, kw before kh: x = [[40, 40], [40, 40]], w = [[1, 1], [-1, -1]]:
        # row order: 40, 80, 40, 0 -> 0; now w = [[1, -1], [1, -1]] -> 40, 0, 40, 0 -> 0.
        # use w = [[3, 3], [-3, -3]] (products 120, 120, -120, -120): 120, 127, 7, -113
        x1 = np.full((1, 1, 2, 2), 40, I8)
        self.eq(R.conv2d(x1, img([[3, 3], [-3, -3]]), acc_bits=8, overflow="saturate"),
                img([[-113]], I32))
        # and column-major would be 120, 0, 120, 0 -> 0; check [[3, -3], [3, -3]]:
        # row-major: 120, 0, 120, 0 -> 0
        self.eq(R.conv2d(x1, img([[3, -3], [3, -3]]), acc_bits=8, overflow="saturate"),
                img([[0]], I32))

    def test_wrap_and_error(self):
        x = np.full((1, 2, 2, 2), 40, I8)
        w = np.stack([np.ones((2, 2), I8), -np.ones((2, 2), I8)])[None]
        # wrap: order-independent, exact sum 0 -> 0
        self.eq(R.conv2d(x, w, acc_bits=8, overflow="wrap"), img([[0]], I32))
        # wrap of a total 160 + bias 0 (ch0 only): 160 - 256 = -96
        self.eq(R.conv2d(x[:, :1], w[:, :1], acc_bits=8, overflow="wrap"), img([[-96]], I32))
        # error at the 4th product (160 > 127)
        with self.assertRaises(R.AccumulatorOverflow) as cm:
            R.conv2d(x, w, acc_bits=8, name="c1")
        self.assertEqual(cm.exception.coordinate, (0, 0, 0, 0))
        self.assertIn("'c1'", str(cm.exception))
        self.assertIn("conv2d", str(cm.exception))
        self.assertIn("[0, 0, 0, 0]", str(cm.exception))

    def test_error_coordinate(self):
        # x [[1, 2, 3]] (N=1, C=1), 2 output channels, 1x1 kernel, w = [10, 50] -> y0 = 10, 20, 30;
        # y1 = 50, 100, 150: acc_bits 8 overflows first at [0, 1, 0, 2]
        x = img([[1, 2, 3]])
        w = np.array([10, 50], I8).reshape(2, 1, 1, 1)
        with self.assertRaises(R.AccumulatorOverflow) as cm:
            R.conv2d(x, w, acc_bits=8)
        self.assertEqual(cm.exception.coordinate, (0, 1, 0, 2))
        # saturate: 150 -> 127; wrap: 150 - 256 = -106
        self.eq(R.conv2d(x, w, acc_bits=8, overflow="saturate"),
                np.array([[10, 20, 30], [50, 100, 127]], I32).reshape(1, 2, 1, 3))
        self.eq(R.conv2d(x, w, acc_bits=8, overflow="wrap"),
                np.array([[10, 20, 30], [50, 100, -106]], I32).reshape(1, 2, 1, 3))

    def test_bias_outside_narrow_accumulator(self):
        # acc_bits 8, bias 200, one product 1 * -100: error at the bias load;
        # saturate: 127 - 100 = 27; wrap: 200 - 100 = 100
        x, w, b = img([[1]]), img([[-100]]), a([200], I32)
        with self.assertRaises(R.AccumulatorOverflow):
            R.conv2d(x, w, b, acc_bits=8)
        self.eq(R.conv2d(x, w, b, acc_bits=8, overflow="saturate"), img([[27]], I32))
        self.eq(R.conv2d(x, w, b, acc_bits=8, overflow="wrap"), img([[100]], I32))

    def test_int32_edge(self):
        # bias 2^31 - 1 - 16384 + one product (-128)(-128) = 16384 -> exactly 2^31 - 1: fine
        x, w = img([[-128]]), img([[-128]])
        self.eq(R.conv2d(x, w, a([2147467263], I32)), img([[2147483647]], I32))
        # one more overflows the default exact-int32 accumulator
        with self.assertRaises(R.AccumulatorOverflow):
            R.conv2d(x, w, a([2147467264], I32))
        # bias 2^31 - 1, products (-128)(-128) = +16384 then (-128)(127) = -16256: the partial
        # sum 2^31 + 16383 overflows -> error;
        # wrap: the exact total 2^31 - 1 + 128 = 2^31 + 127 wraps to -2^31 + 127 = -2147483521;
        # saturate: clamp to 2^31 - 1, then -16256 -> 2147467391
        x2, w2, b2 = img([[-128, -128]]), img([[-128, 127]]), a([2147483647], I32)
        with self.assertRaises(R.AccumulatorOverflow):
            R.conv2d(x2, w2, b2)
        self.eq(R.conv2d(x2, w2, b2, overflow="wrap"), img([[-2147483521]], I32))
        self.eq(R.conv2d(x2, w2, b2, overflow="saturate"), img([[2147467391]], I32))

    def test_acc_bits_2(self):
        # acc_bits 2: range [-2, 1]. products 1, 1, -1 (x = 1, w = [1, 1, -1]):
        # saturate 1, 1, 0; wrap 1, 2 -> -2, -3 -> 1; error at the 2nd product
        x, w = img([[1, 1, 1]]), img([[1, 1, -1]])
        self.eq(R.conv2d(x, w, acc_bits=2, overflow="saturate"), img([[0]], I32))
        self.eq(R.conv2d(x, w, acc_bits=2, overflow="wrap"), img([[1]], I32))
        with self.assertRaises(R.AccumulatorOverflow):
            R.conv2d(x, w, acc_bits=2)

    def test_bad_shapes_and_attrs(self):
        with self.assertRaises(R.OpError):
            R.conv2d(self.X, img([[1, 1, 1, 1]]))                  # Wo < 1
        with self.assertRaises(R.OpError):
            R.conv2d(np.zeros((1, 3, 2, 2), I8), np.zeros((2, 1, 1, 1), I8), group=2)
        with self.assertRaises(R.OpError):
            R.conv2d(self.X, img([[1]]), acc_bits=33)
        with self.assertRaises(R.OpError):
            R.conv2d(self.X, img([[1]]), overflow="clip")


class TestLinear(unittest.TestCase, Eq):
    def test_values(self):
        # x [[1, 2, 3]], w [[1, 0, -1], [2, 2, 2]], b [5, -5]: y = [1 - 3 + 5, 12 - 5] = [3, 7]
        y = R.linear(a([[1, 2, 3]], I8), a([[1, 0, -1], [2, 2, 2]], I8), a([5, -5], I32))
        self.eq(y, a([[3, 7]], I32), I32)

    def test_zero_points_and_rank3(self):
        # x [1, 2, 2] uint8 [[[130, 128], [0, 255]]], x_zp 128 -> [[2, 0], [-128, 127]]
        # w [[3, 1]], w_zp 1 -> [[2, 0]]: y = [[4], [-256]]
        y = R.linear(a([[[130, 128], [0, 255]]], U8), a([[3, 1]], I8), x_zero_point=128,
                     w_zero_point=1)
        self.eq(y, a([[[4], [-256]]], I32))

    def test_int4(self):
        # x int4 [-8, 7], w int4 [[-8, -8]]: 64 - 56 = 8
        self.eq(R.linear(a([[-8, 7]], I8), a([[-8, -8]], I8)), a([[8]], I32))

    def test_policies(self):
        # acc_bits 8; x = [10, 10, -10, -10], w = [[10, 10, 10, 10]]: products 100, 100, -100, -100
        x, w = a([[10, 10, -10, -10]], I8), a([[10, 10, 10, 10]], I8)
        # error: 100, 200 -> overflow at [0, 0]
        with self.assertRaises(R.AccumulatorOverflow) as cm:
            R.linear(x, w, acc_bits=8)
        self.assertEqual(cm.exception.coordinate, (0, 0))
        # wrap: 100, 200 -> -56, -156 -> 100, 0
        self.eq(R.linear(x, w, acc_bits=8, overflow="wrap"), a([[0]], I32))
        # saturate: 100, 127, 27, -73
        self.eq(R.linear(x, w, acc_bits=8, overflow="saturate"), a([[-73]], I32))

    def test_first_overflow_reported(self):
        # x [[1, 1], [2, 2]], w [[1, 1], [30, 30], [40, 40]], acc_bits 8:
        # row 0: 2, 60, 80; row 1: 4, 120, 160 (80 then 160 -> overflow) -> first is [1, 2]
        x, w = a([[1, 1], [2, 2]], I8), a([[1, 1], [30, 30], [40, 40]], I8)
        with self.assertRaises(R.AccumulatorOverflow) as cm:
            R.linear(x, w, acc_bits=8)
        self.assertEqual(cm.exception.coordinate, (1, 2))
        # two overflowing outputs: w row 2 = 70 -> row 0: 140 at [0, 2], row 1: 280 at [1, 2]
        with self.assertRaises(R.AccumulatorOverflow) as cm:
            R.linear(x, a([[1, 1], [30, 30], [70, 70]], I8), acc_bits=8)
        self.assertEqual(cm.exception.coordinate, (0, 2))


class TestMatmul(unittest.TestCase, Eq):
    A = a([[[1, 2, 3], [4, 5, 6]]], I8)

    def test_values_and_transpose(self):
        # b [[1, 0], [0, 1], [1, 1]]: [[1 + 3, 2 + 3], [4 + 6, 5 + 6]] = [[4, 5], [10, 11]]
        b = a([[[1, 0], [0, 1], [1, 1]]], I8)
        self.eq(R.matmul(self.A, b), a([[[4, 5], [10, 11]]], I32), I32)
        self.eq(R.matmul(self.A, np.swapaxes(b, 1, 2).copy(), transpose_b=1),
                a([[[4, 5], [10, 11]]], I32))

    def test_zero_points(self):
        # a - 1 = [[0, 1, 2], [3, 4, 5]]; b - 1 = [[0, -1], [-1, 0], [0, 0]]
        # -> [[-1, 0], [-4, -3]]
        b = a([[[1, 0], [0, 1], [1, 1]]], I8)
        self.eq(R.matmul(self.A, b, a_zero_point=1, b_zero_point=1), a([[[-1, 0], [-4, -3]]], I32))

    def test_int16_overflow(self):
        # a = 32767, zp -32768 -> 65535; b = -32768, zp 32767 -> -65535; product -4294836225
        A, B = a([[[32767]]], I16), a([[[-32768]]], I16)
        kw = dict(a_zero_point=-32768, b_zero_point=32767)
        with self.assertRaises(R.AccumulatorOverflow):
            R.matmul(A, B, **kw)
        # wrap: -4294836225 + 2^32 = 131071; saturate: -2^31
        self.eq(R.matmul(A, B, overflow="wrap", **kw), a([[[131071]]], I32))
        self.eq(R.matmul(A, B, overflow="saturate", **kw), a([[[-(1 << 31)]]], I32))

    def test_rank4(self):
        # [2, 1, 1, 2] x [2, 1, 2, 1]: batch 0: [1, 2].[3, 4] = 11; batch 1: [-1, 0].[5, 6] = -5
        A = a([[[[1, 2]]], [[[-1, 0]]]], I8)
        B = a([[[[3], [4]]], [[[5], [6]]]], I8)
        self.eq(R.matmul(A, B), a([[[[11]]], [[[-5]]]], I32))

    def test_bad(self):
        with self.assertRaises(R.OpError):
            R.matmul(self.A, a([[[1, 0], [0, 1]]], I8))          # K mismatch
        with self.assertRaises(R.OpError):
            R.matmul(self.A, a([[1, 0], [0, 1], [1, 1]], I8))     # rank mismatch


# ------------------------------------------------------------------------------------------
# requantize / add / relu / clamp
# ------------------------------------------------------------------------------------------

class TestRequantize(unittest.TestCase, Eq):
    def test_per_tensor_ties(self):
        # m 3, s 2: 10*3/4 = 7.5 -> 8; -7.5 -> -8; 6*3/4 = 4.5 -> 4; -4.5 -> -4; 1.5 -> 2; -1.5 -> -2
        # + zp 10
        x = a([10, -10, 6, -6, 2, -2], I32)
        self.eq(R.requantize(x, [3], [2], zero_point=10), [18, 2, 14, 6, 12, 8], I8)
        # half_away: 8, -8, 5, -5, 2, -2 (+10)
        self.eq(R.requantize(x, [3], [2], zero_point=10, rounding="half_away"),
                [18, 2, 15, 5, 12, 8])
        # floor: 7, -8, 4, -5, 1, -2 (+10)
        self.eq(R.requantize(x, [3], [2], zero_point=10, rounding="floor"), [17, 2, 14, 5, 11, 8])

    def test_saturation_both_ends(self):
        self.eq(R.requantize(a([1000, -1000, 127, -128], I32), [1], [0]), [127, -128, 127, -128])

    def test_int4_uint4(self):
        # s 1: 20 -> 10 -> 7; -20 -> -10 -> -8; 7 -> 3.5 -> 4 (even); -9 -> -4.5 -> -4
        self.eq(R.requantize(a([20, -20, 7, -9], I32), [1], [1], dtype="int4"), [7, -8, 4, -4], I8)
        # uint4, zp 8: 0 -> 8; 10 + 8 = 18 -> 15; -10 + 8 -> 0; 1.5 -> 2 -> 10
        self.eq(R.requantize(a([0, 20, -20, 3], I32), [1], [1], zero_point=8, dtype="uint4"),
                [8, 15, 0, 10], U8)

    def test_per_channel(self):
        # [1, 2, 2], axis 1: ch0 m 1 s 0 o 0: [5, -5]; ch1 m 3 s 1 o 1: (15 + 1)/2 = 8,
        # (-15 + 1)/2 = -7
        x = a([[[5, -5], [5, -5]]], I32)
        self.eq(R.requantize(x, [1, 3], [0, 1], offset=[0, 1]), [[[5, -5], [8, -7]]])
        # axis 2 instead: per column: col0 m 1: 5, 5; col1 m 3 s 1 o 1: -7, -7
        self.eq(R.requantize(x, [1, 3], [0, 1], offset=[0, 1], axis=2), [[[5, -7], [5, -7]]])
        with self.assertRaises(R.OpError):
            R.requantize(x, [1, 3, 4], [0])                # dims[1] = 2 != 3

    def test_lo_hi(self):
        # fused ReLU: lo = zp = -3: -10 - 3 -> -3; 4 - 3 = 1; hi = 2: 9 - 3 = 6 -> 2
        self.eq(R.requantize(a([-10, 4, 9], I32), [1], [0], zero_point=-3, lo=-3, hi=2), [-3, 1, 2])
        with self.assertRaises(R.OpError):
            R.requantize(a([1], I32), [1], [0], lo=-200)

    def test_offset_tie(self):
        # x = 0, offset 2^60, s = 61: 0.5 -> half_even 0, half_up 1
        self.eq(R.requantize(a([0], I32), [1], [61], offset=[1 << 60]), [0])
        self.eq(R.requantize(a([0], I32), [1], [61], offset=[1 << 60], rounding="half_up"), [1])

    def test_int32_output(self):
        # m = 2^31 - 1, s = 0: (2^31 - 1)^2 -> 2^31 - 1; -2^31 (2^31 - 1) -> -2^31;
        # 3 (2^31 - 1) -> 2^31 - 1; with s = 31: 3 (2^31 - 1) / 2^31 = 2.99999 -> 3
        x = a([(1 << 31) - 1, -(1 << 31), 3], I32)
        self.eq(R.requantize(x, [(1 << 31) - 1], [0], dtype="int32"),
                [(1 << 31) - 1, -(1 << 31), (1 << 31) - 1], I32)
        self.eq(R.requantize(a([3], I32), [(1 << 31) - 1], [31], dtype="int32"), [3])

    def test_tflite(self):
        # m 2^30, s 33 as in TestScaleRound.test_tflite_rdbpot: [1, 2, -2, -1]
        self.eq(R.requantize(a([10, 12, -12, -10], I32), [1 << 30], [33], rounding="tflite"),
                [1, 2, -2, -1])
        with self.assertRaises(R.OpError):
            R.requantize(a([1], I32), [1 << 30], [33], offset=[1], rounding="tflite")
        with self.assertRaises(R.OpError):
            R.requantize(a([1], I32), [-5], [33], rounding="tflite")

    def test_int16_input(self):
        # int16 in, int8 out: -32768 * 1 / 2^8 = -128; 32767 / 256 = 127.996 -> 128 -> 127
        self.eq(R.requantize(a([-32768, 32767, 384], I16), [1], [8]), [-128, 127, 2])


class TestAdd(unittest.TestCase, Eq):
    def test_same_scale(self):
        # 100 + 100 = 200 -> 127; -200 -> -128; 50 - 20 = 30
        self.eq(R.add(a([100, -100, 50], I8), a([100, -100, -20], I8)), [127, -128, 30], I8)

    def test_zero_points(self):
        # (20 - 10) + (0 - (-5)) + 3 = 18
        self.eq(R.add(a([20], I8), a([0], I8), a_zero_point=10, b_zero_point=-5,
                      out_zero_point=3), [18])

    def test_multipliers_half_even(self):
        # a2 = 1 * 3 / 2 = 1.5 -> 2; b2 = 1 * 1 / 2 = 0.5 -> 0; out = 2
        self.eq(R.add(a([1], I8), a([1], I8), a_multiplier=3, a_shift=1, b_shift=1), [2])

    def test_tflite_style(self):
        # left_shift 20, a/b multiplier 2^30 shift 31 (x0.5), out multiplier 2^30 shift 50.
        # a = 3: a1 = 3*2^20; SRDHM: (3*2^50 + 2^30)/2^31 = 3*2^19 + 0.5 -> 3*2^19
        # b = 4: 4*2^19.  sum 7*2^19.  out: L = 0, R = 19: t = (7*2^49 + 2^30)/2^31 -> 7*2^18
        # RDBPOT(7*2^18, 19): 3.5 -> rem 2^18 > 2^18 - 1 -> 4
        # negatives: a2 = -3*2^19, b2 = -2^21, t = -7*2^18; RDBPOT: -7*2^18 >> 19 = -4,
        # rem 2^18, threshold 2^18 - 1 + 1 -> not greater -> -4
        kw = dict(left_shift=20, a_multiplier=1 << 30, a_shift=31, b_multiplier=1 << 30,
                  b_shift=31, out_multiplier=1 << 30, out_shift=50, rounding="tflite")
        self.eq(R.add(a([3, -3], I8), a([4, -4], I8), **kw), [4, -4])

    def test_wide_values_exact(self):
        # int16: a = 32767, a_zp = -32768 -> 65535 * 2^30 (~2^46); a_multiplier 2^31 - 1, shift 62:
        # 65535 * 2^30 * (2^31 - 1) / 2^62 = 65535 * (2^31 - 1) / 2^32 = 32767.49998 -> 32767
        # (v*m ~ 2^77: must not wrap in int64). b = 0. Negative: -32767.49998 -> -32767
        kw = dict(left_shift=30, a_multiplier=(1 << 31) - 1, a_shift=62, dtype="int16")
        self.eq(R.add(a([32767], I16), a([0], I16), a_zero_point=-32768, **kw), [32767], I16)
        self.eq(R.add(a([-32768], I16), a([0], I16), a_zero_point=32767, **kw), [-32767], I16)
        # tflite requires int32 values: 65535 * 2^30 is not
        with self.assertRaises(R.OpError):
            R.add(a([32767], I16), a([0], I16), a_zero_point=-32768, rounding="tflite",
                  **dict(kw, a_multiplier=1 << 30))

    def test_int4_out_and_lo_hi(self):
        # int4: 5 + 5 = 10 -> 7; -5 - 5 -> -8; lo 0 (ReLU) clamps -3 - 1 = -4 -> 0
        self.eq(R.add(a([5, -5], I8), a([5, -5], I8), dtype="int4"), [7, -8])
        self.eq(R.add(a([-3, 2], I8), a([-1, 1], I8), dtype="int4", lo=0), [0, 3])

    def test_shape_mismatch(self):
        with self.assertRaises(R.OpError):
            R.add(a([1, 2], I8), a([1], I8))


class TestReluClamp(unittest.TestCase, Eq):
    def test_relu(self):
        self.eq(R.relu(a([-5, 0, 5], I8)), [0, 0, 5], I8)
        self.eq(R.relu(a([-5, -3, 5], I8), zero_point=-3), [-3, -3, 5], I8)
        self.eq(R.relu(a([0, 127, 128, 255], U8), zero_point=128), [128, 128, 128, 255], U8)
        self.eq(R.relu(a([-8, 7], I8), zero_point=-8), [-8, 7])       # int4 limits
        self.eq(R.relu(a([-(1 << 31), 5], I32)), [0, 5], I32)

    def test_clamp(self):
        self.eq(R.clamp(a([-8, -2, 0, 3, 7], I8), -2, 3), [-2, -2, 0, 3, 3], I8)
        self.eq(R.clamp(a([-8, 7], I8), dtype="int4"), [-8, 7])
        self.eq(R.clamp(a([-128, 127], I8), lo=-5), [-5, 127])
        with self.assertRaises(R.OpError):
            R.clamp(a([1], I8), 3, 2)
        with self.assertRaises(R.OpError):
            R.clamp(a([1], I8), -9, 0, dtype="int4")


# ------------------------------------------------------------------------------------------
# pools
# ------------------------------------------------------------------------------------------

class TestMaxpool(unittest.TestCase, Eq):
    def test_basic(self):
        # 2x4, kernel 2 (stride 2): max(1, 2, 5, 6) = 6, max(3, 4, 7, -9) = 7
        x = img([[1, 2, 3, 4], [5, 6, 7, -9]])
        self.eq(R.maxpool2d(x, [2, 2]), img([[6, 7]]), I8)

    def test_padding_never_wins(self):
        # x = [[-5, -3], [-7, -1]], kernel 2, stride 1, pads [1, 1, 0, 0]: Ho = (2+1-2)/1+1 = 2
        # (0,0): only x00 = -5; (0,1): max(-5, -3) = -3; (1,0): max(-5, -7) = -5; (1,1): -1
        x = img([[-5, -3], [-7, -1]])
        self.eq(R.maxpool2d(x, [2, 2], [1, 1], [1, 1, 0, 0]), img([[-5, -3], [-5, -1]]))

    def test_dilation_and_int4(self):
        # 1x5 [1, 7, 2, -8, 3], kernel [1, 2], dilation [1, 2], stride 1: Wo = 5 - 2 = 3
        # windows {0, 2}: 2; {1, 3}: 7; {2, 4}: 3
        x = img([[1, 7, 2, -8, 3]])
        self.eq(R.maxpool2d(x, [1, 2], [1, 1], dilations=[1, 2]), img([[2, 7, 3]]))
        self.eq(R.maxpool2d(img([[-8, -8]]), [1, 2]), img([[-8]]))

    def test_bad(self):
        with self.assertRaises(R.OpError):
            R.maxpool2d(img([[1, 2]]), [1, 2], pads=[0, 2, 0, 0])


class TestAvgpool(unittest.TestCase, Eq):
    def test_rounding(self):
        # kernel 2, stride 2: (1 + 2 + 5 + 6) / 4 = 3.5; (3 + 4 + 7 + 9) / 4 = 5.75
        x = img([[1, 2, 3, 4], [5, 6, 7, 9]])
        self.eq(R.avgpool2d(x, [2, 2]), img([[4, 6]]), I8)                       # 3.5 -> 4 (even)
        self.eq(R.avgpool2d(x, [2, 2], rounding="floor"), img([[3, 5]]))
        # -10 / 4 = -2.5
        xn = img([[-1, -2], [-3, -4]])
        want = {"half_even": -2, "half_up": -2, "half_away": -3, "floor": -3, "tflite": -3}
        for mode, v in want.items():
            self.eq(R.avgpool2d(xn, [2, 2], rounding=mode), img([[v]]))

    def test_padding_zero_point(self):
        # uint8 [[10, 20], [30, 40]], zp 8, kernel 2, stride 1, pads [1, 1, 0, 0] -> 2x2 out
        # count_include_pad 0 (inside only): {10} -> 10; {10, 20} -> 15; {10, 30} -> 20; all -> 25
        # count_include_pad 1 (n = 4, each pad adds 8): (10 + 24)/4 = 8.5 -> 8;
        #   (30 + 16)/4 = 11.5 -> 12; (40 + 16)/4 = 14; 100/4 = 25
        x = img([[10, 20], [30, 40]], U8)
        kw = dict(kernel=[2, 2], strides=[1, 1], pads=[1, 1, 0, 0], x_zero_point=8)
        self.eq(R.avgpool2d(x, **kw), img([[10, 15], [20, 25]], U8), U8)
        self.eq(R.avgpool2d(x, count_include_pad=1, **kw), img([[8, 12], [14, 25]], U8))

    def test_multiplier(self):
        # 3x3 window, 1/9 ~ 7282 / 2^16: sum 45 -> 327690 / 65536 = 5.0002 -> 5
        x = img([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
        self.eq(R.avgpool2d(x, [3, 3], multiplier=7282, shift=16), img([[5]]))
        # sum 40 (9 -> 4): 291280 / 65536 = 4.44 -> 4
        x2 = img([[1, 2, 3], [4, 5, 6], [7, 8, 4]])
        self.eq(R.avgpool2d(x2, [3, 3], multiplier=7282, shift=16), img([[4]]))
        # int4 clamp: doubling (m 2, s 0) 4 sevens: 56 / ... use kernel 1: 7 * 2 = 14 -> 7; -8*2 -> -8
        self.eq(R.avgpool2d(img([[7, -8]]), [1, 1], multiplier=2, shift=0, dtype="int4"),
                img([[7, -8]]))
        # windows with different n under count_include_pad 0 -> error
        with self.assertRaises(R.OpError):
            R.avgpool2d(x, [2, 2], [1, 1], [1, 1, 0, 0], multiplier=1, shift=2)
        # same n with count_include_pad 1: (pads of zp 0) window (0,0) = 1 -> 1/4 = 0.25 -> 0
        y = R.avgpool2d(x, [2, 2], [2, 2], [1, 1, 0, 0], count_include_pad=1, multiplier=1,
                        shift=2)
        # windows: {1} = 1 -> 0; {2, 3} = 5 -> 1.25 -> 1; {4, 7} = 11 -> 2.75 -> 3;
        # {5, 6, 8, 9} = 28 -> 7
        self.eq(y, img([[0, 1], [3, 7]]))


class TestGlobalAvgpool(unittest.TestCase, Eq):
    def test_values(self):
        # ch0 1 + 2 + 3 + 4 = 10 / 4 = 2.5; ch1 -2.5
        x = np.array([[[[1, 2], [3, 4]], [[-1, -2], [-3, -4]]]], I8)
        self.eq(R.global_avgpool(x), np.array([2, -2], I8).reshape(1, 2, 1, 1), I8)
        self.eq(R.global_avgpool(x, "half_away"), np.array([3, -3], I8).reshape(1, 2, 1, 1))
        self.eq(R.global_avgpool(x, "floor"), np.array([2, -3], I8).reshape(1, 2, 1, 1))
        # multiplier 3, shift 3: 10 * 3 / 8 = 3.75 -> 4; -30 / 8 = -3.75 -> -4
        self.eq(R.global_avgpool(x, multiplier=3, shift=3), np.array([4, -4], I8).reshape(1, 2, 1, 1))

    def test_clamp(self):
        # uint8 all 255, multiplier 2 shift 0 over 1x1: 510 -> 255
        self.eq(R.global_avgpool(np.full((1, 1, 1, 1), 255, U8), multiplier=2, shift=0),
                np.full((1, 1, 1, 1), 255, U8))


# ------------------------------------------------------------------------------------------
# shape ops
# ------------------------------------------------------------------------------------------

class TestShapeOps(unittest.TestCase, Eq):
    def test_flatten(self):
        x = np.arange(24, dtype=I8).reshape(1, 2, 3, 4)
        self.eq(R.flatten(x), np.arange(24, dtype=I8).reshape(1, 24), I8)
        self.eq(R.flatten(x, 2), np.arange(24, dtype=I8).reshape(1, 2, 12))
        self.eq(R.flatten(x, 3), x)
        for bad in (0, 4):
            with self.assertRaises(R.OpError):
                R.flatten(x, bad)

    def test_reshape(self):
        x = np.arange(12, dtype=I8).reshape(2, 6)
        self.eq(R.reshape(x, [3, -1]), np.arange(12, dtype=I8).reshape(2, 3, 2))
        self.eq(R.reshape(x, [6]), x)
        for bad in ([4, -1], [5], [-1, -1], [0, 6]):
            with self.assertRaises(R.OpError):
                R.reshape(x, bad)

    def test_concat(self):
        p = np.array([[[1, 2]]], I8)          # [1, 1, 2]
        q = np.array([[[3, 4], [5, 6]]], I8)  # [1, 2, 2]
        self.eq(R.concat([p, q], 1), np.array([[[1, 2], [3, 4], [5, 6]]], I8))
        self.eq(R.concat([q, q], -1), np.array([[[3, 4, 3, 4], [5, 6, 5, 6]]], I8))
        with self.assertRaises(R.OpError):
            R.concat([p, q], 2)               # dims differ off the axis
        with self.assertRaises(R.OpError):
            R.concat([p, p], 0)               # batch axis not allowed


# ------------------------------------------------------------------------------------------
# cross-checks against naive loop nests written from the README pseudo-code
# ------------------------------------------------------------------------------------------

def naive_conv2d(x, w, b, strides, pads, dilations, group, xz, wz, acc_bits, overflow):
    n_, cin, h, wd = x.shape
    cout, cg, kh_, kw_ = w.shape
    sh, sw = strides
    top, left, bottom, right = pads
    dh, dw = dilations
    ho = (h + top + bottom - dh * (kh_ - 1) - 1) // sh + 1
    wo = (wd + left + right - dw * (kw_ - 1) - 1) // sw + 1
    lo, hi = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    y = np.zeros((n_, cout, ho, wo), np.int64)

    def step(acc, where):
        if lo <= acc <= hi:
            return acc
        if overflow == "error":
            raise R.AccumulatorOverflow("naive", where, acc_bits)
        if overflow == "wrap":
            return (acc - lo) % (1 << acc_bits) + lo
        return min(max(acc, lo), hi)

    for n in range(n_):
        for co in range(cout):
            g = co // (cout // group)
            for oh in range(ho):
                for ow in range(wo):
                    where = (n, co, oh, ow)
                    acc = step(int(b[co]) if b is not None else 0, where)
                    for ci in range(cg):
                        c = g * cg + ci
                        for kh in range(kh_):
                            for kw in range(kw_):
                                ih = oh * sh - top + kh * dh
                                iw = ow * sw - left + kw * dw
                                if 0 <= ih < h and 0 <= iw < wd:
                                    xv = int(x[n, c, ih, iw])
                                else:
                                    xv = xz
                                acc = step(acc + (xv - xz) * (int(w[co, ci, kh, kw]) - wz), where)
                    y[n, co, oh, ow] = acc
    return y


class TestCrossCheck(unittest.TestCase, Eq):
    def test_conv2d_random(self):
        rng = np.random.default_rng(20240611)
        cases = 0
        while cases < 150:
            group = int(rng.choice([1, 1, 2, 3]))
            cg = int(rng.integers(1, 4))
            mg = int(rng.integers(1, 3))
            cin, cout = cg * group, mg * group
            kh_, kw_ = int(rng.integers(1, 4)), int(rng.integers(1, 4))
            h, wd = int(rng.integers(1, 7)), int(rng.integers(1, 7))
            strides = [int(rng.integers(1, 3)), int(rng.integers(1, 4))]
            dil = [int(rng.integers(1, 3)), int(rng.integers(1, 3))]
            pads = [int(v) for v in rng.integers(0, 3, 4)]
            ho = (h + pads[0] + pads[2] - dil[0] * (kh_ - 1) - 1) // strides[0] + 1
            wo = (wd + pads[1] + pads[3] - dil[1] * (kw_ - 1) - 1) // strides[1] + 1
            if ho < 1 or wo < 1:
                continue
            xdt = rng.choice(["int4", "uint4", "int8", "uint8"])
            wdt = rng.choice(["int4", "int8"])
            xlo, xhi = R.DTYPE_RANGE[xdt]
            wlo, whi = R.DTYPE_RANGE[wdt]
            n_ = int(rng.integers(1, 3))
            x = rng.integers(xlo, xhi + 1, (n_, cin, h, wd)).astype(R.NP_DTYPE[xdt])
            w = rng.integers(wlo, whi + 1, (cout, cg, kh_, kw_)).astype(R.NP_DTYPE[wdt])
            b = rng.integers(-3000, 3000, cout).astype(I32) if rng.random() < 0.7 else None
            xz = int(rng.integers(xlo, xhi + 1))
            wz = int(rng.integers(wlo, whi + 1))
            acc_bits = int(rng.choice([32, 16, 12, 10, 8]))
            overflow = str(rng.choice(["error", "wrap", "saturate"]))
            args = (strides, pads, dil, group, xz, wz, acc_bits, overflow)
            try:
                want = naive_conv2d(x, w, b, *args)
            except R.AccumulatorOverflow as e:
                with self.assertRaises(R.AccumulatorOverflow) as cm:
                    R.conv2d(x, w, b, *args)
                self.assertEqual(cm.exception.coordinate, e.coordinate)
            else:
                self.eq(R.conv2d(x, w, b, *args), want.astype(I32), I32)
            cases += 1

    def test_linear_matmul_random(self):
        # linear == conv2d over 1x1 spatial with K channels (same README summation order);
        # matmul == the same without bias.
        rng = np.random.default_rng(99)
        nargs = ([1, 1], [0, 0, 0, 0], [1, 1], 1)
        for _ in range(80):
            k, m_, rows = int(rng.integers(1, 40)), int(rng.integers(1, 5)), int(rng.integers(1, 4))
            x = rng.integers(-128, 128, (rows, k)).astype(I8)
            w = rng.integers(-128, 128, (m_, k)).astype(I8)
            b = rng.integers(-20000, 20000, m_).astype(I32)
            xz, wz = int(rng.integers(-128, 128)), int(rng.integers(-128, 128))
            acc = (int(rng.choice([32, 20, 16, 14])), str(rng.choice(["error", "wrap", "saturate"])))
            xc, wc = x.reshape(rows, k, 1, 1), w.reshape(m_, k, 1, 1)
            for bias in (b, None):
                try:
                    want = naive_conv2d(xc, wc, bias, *nargs, xz, wz, *acc).reshape(rows, m_)
                except R.AccumulatorOverflow as e:
                    with self.assertRaises(R.AccumulatorOverflow) as cm:
                        R.linear(x, w, bias, xz, wz, *acc)
                    self.assertEqual(cm.exception.coordinate, e.coordinate[:2])
                    if bias is None:
                        with self.assertRaises(R.AccumulatorOverflow) as cm:
                            R.matmul(x[None], w[None], xz, wz, 1, *acc)
                        self.assertEqual(cm.exception.coordinate, (0,) + e.coordinate[:2])
                    continue
                self.eq(R.linear(x, w, bias, xz, wz, *acc), want.astype(I32))
                if bias is None:
                    self.eq(R.matmul(x[None], np.ascontiguousarray(w.T)[None], xz, wz, 0, *acc),
                            want[None].astype(I32))
                    self.eq(R.matmul(x[None], w[None], xz, wz, 1, *acc), want[None].astype(I32))


# ------------------------------------------------------------------------------------------
# executor
# ------------------------------------------------------------------------------------------

def T(name, dtype, shape, data=None):
    return SimpleNamespace(name=name, dtype=dtype, shape=tuple(shape), data=data, compress=0)


def Op(type_, name, inputs, outputs, **attrs):
    return SimpleNamespace(type=type_, name=name, inputs=list(inputs), outputs=list(outputs),
                           attrs=attrs)


def small_model():
    """x int8 [1, 1, 1, 2] -> conv 1x1 (w 2, b 1) -> requantize (m 1, s 1) -> relu -> flatten."""
    tensors = {t.name: t for t in [
        T("x", "int8", [1, 1, 1, 2]),
        T("w", "int8", [1, 1, 1, 1], np.array([2], I8)),
        T("b", "int32", [1], np.array([1], I32)),
        T("acc", "int32", [1, 1, 1, 2]),
        T("q", "int8", [1, 1, 1, 2]),
        T("r", "int8", [1, 1, 1, 2]),
        T("f", "int8", [1, 2]),
    ]}
    ops = [
        Op("conv2d", "conv", ["x", "w", "b"], ["acc"]),
        Op("requantize", "rq", ["acc"], ["q"], multiplier=[1], shift=[1]),
        Op("relu", "relu", ["q"], ["r"]),
        Op("flatten", "flat", ["r"], ["f"]),
    ]
    return SimpleNamespace(meta={}, tensors=tensors, inputs=["x"], outputs=["f"], ops=ops)


class TestExecutor(unittest.TestCase, Eq):
    def test_run_batch2(self):
        # n0: x = [3, -3] -> 2x + 1 = [7, -5] -> /2: 3.5 -> 4, -2.5 -> -2 -> relu [4, 0]
        # n1: x = [0, 1] -> [1, 3] -> 0.5 -> 0, 1.5 -> 2 -> [0, 2]
        env = R.run(small_model(), {"x": np.array([[[[3, -3]]], [[[0, 1]]]], I8)})
        self.assertEqual(set(env), {"x", "acc", "q", "r", "f"})
        self.eq(env["acc"], np.array([[[[7, -5]]], [[[1, 3]]]], I32), I32)
        self.eq(env["q"], np.array([[[[4, -2]]], [[[0, 2]]]], I8), I8)
        self.eq(env["f"], np.array([[4, 0], [0, 2]], I8), I8)

    def test_omitted_bias_and_defaults(self):
        m = small_model()
        m.ops[0].inputs[2] = ""
        # no bias: 2x = [6, -6] -> /2 = [3, -3] -> relu [3, 0]
        env = R.run(m, {"x": np.array([[[[3, -3]]]], I8)})
        self.eq(env["f"], np.array([[3, 0]], I8))

    def test_errors(self):
        m = small_model()
        with self.assertRaises(R.OpError):
            R.run(m, {"x": np.zeros((1, 1, 1, 3), I8)})          # wrong shape
        with self.assertRaises(R.OpError):
            R.run(m, {"y": np.zeros((1, 1, 1, 2), I8)})          # unknown input
        with self.assertRaises(R.OpError):
            R.run(m, {"x": np.full((1, 1, 1, 2), 300, np.int16)})  # outside int8
        m.tensors["q"].dtype = "int4"
        m.tensors["r"].dtype = "int4"
        m.tensors["f"].dtype = "int4"
        # int4 output of requantize: 7 and -5 halved -> 4, -2 fit; x = 127 -> 255/2 -> 7
        env = R.run(m, {"x": np.array([[[[127, -3]]]], I8)})
        self.eq(env["q"], np.array([[[[7, -2]]]], I8))
        m.ops[1].attrs["shift"] = [63]
        with self.assertRaises(R.OpError) as cm:
            R.run(m, {"x": np.zeros((1, 1, 1, 2), I8)})
        self.assertIn("'rq'", str(cm.exception))
        m.ops[1].attrs["shift"] = 1                              # must be an int array
        with self.assertRaises(R.OpError):
            R.run(m, {"x": np.zeros((1, 1, 1, 2), I8)})

    def test_declared_shape_checked(self):
        m = small_model()
        m.tensors["f"].shape = (1, 3)
        with self.assertRaises(R.OpError):
            R.run(m, {"x": np.zeros((1, 1, 1, 2), I8)})

    def test_overflow_names_op(self):
        m = small_model()
        m.ops[0].attrs.update(acc_bits=4)
        # 2 * 5 + 1 = 11 > 7 -> overflow at [0, 0, 0, 0] (bias 1, then 11)
        with self.assertRaises(R.AccumulatorOverflow) as cm:
            R.run(m, {"x": np.array([[[[5, 0]]]], I8)})
        self.assertIn("op 'conv' (conv2d)", str(cm.exception))
        self.assertEqual(cm.exception.coordinate, (0, 0, 0, 0))


class TestContainerAndCli(unittest.TestCase, Eq):
    """Round trip through t2c.container (written by another helper) and the CLI."""

    def setUp(self):
        try:
            from t2c import container
        except ImportError as e:
            self.skipTest(f"t2c.container not importable: {e}")
        self.c = container

    def model(self):
        # quantize (scale 0.5, zp 0) -> conv 1x1 int4 weight [-8] with bias 3 -> requantize
        # (m 1, s 3, int4 out) -> maxpool [1, 2] -> flatten
        m = self.c.Model()
        m.add_tensor("img", "float32", [1, 1, 1, 4])
        m.add_tensor("x", "int8", [1, 1, 1, 4])
        m.add_tensor("w", "int4", [1, 1, 1, 1], np.array([-8], I8))
        m.add_tensor("b", "int32", [1], np.array([3], I32))
        m.add_tensor("acc", "int32", [1, 1, 1, 4])
        m.add_tensor("q", "int4", [1, 1, 1, 4])
        m.add_tensor("p", "int4", [1, 1, 1, 2])
        m.add_tensor("f", "int4", [1, 2])
        m.inputs, m.outputs = ["img"], ["f"]
        m.add_op("quantize", "quant", ["img"], ["x"], scale=0.5)
        m.add_op("conv2d", "conv", ["x", "w", "b"], ["acc"])
        m.add_op("requantize", "rq", ["acc"], ["q"], multiplier=[1], shift=[3])
        m.add_op("maxpool2d", "pool/1", ["q"], ["p"], kernel=[1, 2])
        m.add_op("flatten", "flat", ["p"], ["f"])
        return m

    # img [0.25, -1.0, 1.5, 3.0] -> t = 0.5, -2, 3, 6 -> x = [0, -2, 3, 6]
    # conv: -8x + 3 = [3, 19, -21, -45]; /8: 0.375 -> 0, 2.375 -> 2, -2.625 -> -3,
    # -5.625 -> -6 (int4 ok); maxpool pairs: max(0, 2) = 2, max(-3, -6) = -3
    IMG = np.array([[[[0.25, -1.0, 1.5, 3.0]]]], np.float32)

    def test_run_read_model(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.t2c")
            self.c.write(self.model(), path)
            env = R.run(self.c.read(path), {"img": self.IMG})
        self.eq(env["x"], np.array([[[[0, -2, 3, 6]]]], I8))
        self.eq(env["acc"], np.array([[[[3, 19, -21, -45]]]], I32))
        self.eq(env["q"], np.array([[[[0, 2, -3, -6]]]], I8))
        self.eq(env["f"], np.array([[2, -3]], I8), I8)

    def test_cli(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.t2c")
            self.c.write(self.model(), path)
            np.save(os.path.join(d, "img.npy"), self.IMG)
            pkg = os.path.dirname(os.path.dirname(os.path.abspath(R.__file__)))
            out = os.path.join(d, "out")
            r = subprocess.run([sys.executable, "-m", "t2c.reference", path,
                                os.path.join(d, "img.npy"), "--out", out],
                               env=dict(os.environ, PYTHONPATH=pkg), capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(sorted(os.listdir(out)), ["000_quant.npy", "001_conv.npy", "002_rq.npy",
                                                       "003_pool_1.npy", "004_flat.npy"])
            self.eq(np.load(os.path.join(out, "001_conv.npy")), np.array([[[[3, 19, -21, -45]]]], I32))
            self.eq(np.load(os.path.join(out, "004_flat.npy")), np.array([[2, -3]], I8), I8)
            # a failing run exits 1 with the op named on stderr
            np.save(os.path.join(d, "bad.npy"), np.zeros((1, 1, 1, 5), np.float32))
            r = subprocess.run([sys.executable, "-m", "t2c.reference", path,
                                os.path.join(d, "bad.npy"), "--out", out],
                               env=dict(os.environ, PYTHONPATH=pkg), capture_output=True, text=True)
            self.assertEqual(r.returncode, 1)
            self.assertIn("input 'img'", r.stderr)


if __name__ == "__main__":
    unittest.main()
