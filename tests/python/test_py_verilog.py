"""golden/verilog under Icarus Verilog: the RTL MAC array + requantize unit against golden vectors.

tb_conv_gemm.v runs a conv layer as GEMM tiles and compares every accumulator and every
requantized output with files read by $readmemh. Here it is fed
  - hand-worked vectors (rounding ties of every mode, zero points, clamps, INT4 limits,
    accumulator wrap/saturate/overflow, a short file),
  - random layers computed by the independent NumPy reference (formats/python/t2c/reference.py):
    every dtype and rounding mode, groups, strides, dilations, odd pads, all file layouts,
  - real conv layers written by t2c-golden from the embedded default model (INT8 and INT4,
    packings 4/32-bit LSB-first, 8 and 16/64-bit MSB-first, layouts gemm/nhwc/nchw, the model's
    half_even and rewritten floor/tflite),
and a corrupted golden element must make it fail naming that element's coordinate.
Skipped when iverilog/vvp (or t2c-golden and the default models) are missing; Verilator lint
runs when verilator is installed, a Verilator simulation with T2C_VERILATOR_SIM=1.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
RTL = os.path.join(ROOT, "golden", "verilog")
BUILD = os.environ.get("T2C_BUILD_DIR", os.path.join(ROOT, "build"))

try:
    from t2c import container as C
    from t2c import reference as R
except ImportError:  # PYTHONPATH not set: run from the source tree
    import sys
    sys.path.insert(0, os.path.join(ROOT, "formats", "python"))
    from t2c import container as C
    from t2c import reference as R

IVERILOG = shutil.which("iverilog")
VVP = shutil.which("vvp")
HAVE_SIM = IVERILOG is not None and VVP is not None
SOURCES = [os.path.join(RTL, f) for f in ("tb_conv_gemm.v", "t2c_mac_array.v", "t2c_requant.v")]
DTYPE_BITS = {"int4": (4, 1), "uint4": (4, 0), "int8": (8, 1), "uint8": (8, 0), "int32": (32, 1)}


# ---------------------------------------------------------------------------------------------
# vectors
# ---------------------------------------------------------------------------------------------

def pack_hex(values, bits, word_bits, epw, msb_first):
    """$readmemh text as t2c-golden writes it: one word per line, `epw` elements of `bits` bits
    per word, element j at bit j*bits (or (epw-1-j)*bits with msb_first), bits above epw*bits
    zero, the last word padded with zeros."""
    vals = [int(v) for v in np.asarray(values).reshape(-1)]
    lines = []
    for start in range(0, len(vals), epw):
        word = 0
        for j, v in enumerate(vals[start:start + epw]):
            pos = (epw - 1 - j) if msb_first else j
            word |= (v & ((1 << bits) - 1)) << (pos * bits)
        lines.append(format(word, "0%dx" % ((word_bits + 3) // 4)))
    return "\n".join(lines) + "\n"


def im2col(x, kh, kw, strides, pads, dilations, x_zp, group=1, k_order=0):
    """[N, Cin, H, W] -> A [N*Ho*Wo, Cin*KH*KW], padding = x_zp; each group's columns in
    (ci, kh, kw) order (k_order 0) or (kh, kw, ci) (k_order 1), groups one after the other."""
    n, cin, h, w = x.shape
    sh, sw = strides
    dh, dw = dilations
    top, left, bottom, right = pads
    xp = np.full((n, cin, h + top + bottom, w + left + right), x_zp, np.int64)
    xp[:, :, top:top + h, left:left + w] = x
    ho = (h + top + bottom - dh * (kh - 1) - 1) // sh + 1
    wo = (w + left + right - dw * (kw - 1) - 1) // sw + 1
    cols = np.empty((n, ho, wo, cin, kh, kw), np.int64)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, :, :, i, j] = xp[:, :, i * dh: i * dh + (ho - 1) * sh + 1: sh,
                                        j * dw: j * dw + (wo - 1) * sw + 1: sw].transpose(0, 2, 3, 1)
    cols = cols.reshape(n * ho * wo, group, cin // group, kh, kw)
    if k_order == 1:
        cols = cols.transpose(0, 1, 3, 4, 2)
    return cols.reshape(n * ho * wo, cin * kh * kw), ho, wo


class Layer:
    """One layer for the testbench: A (im2col rows [M][GROUP*K]), B [N][K] (same k order),
    bias, golden acc/out as [BATCH, N, HO, WO] arrays, datapath and requantize parameters.
    x (the NCHW image) and geom (CIN, H, W, KH, KW, SH, SW, PT, PL, DH, DW) for a_layout 2/3."""

    def __init__(self, a, b, bias, acc, out, ho, wo, batch=1, a_dtype="int8", b_dtype="int8",
                 out_dtype="int8", a_zp=0, b_zp=0, mult=(1,), shift=(0,), offset=(0,), out_zp=0,
                 lo=None, hi=None, rounding="half_even", acc_bits=32, overflow=0, group=1,
                 k_order=0, x=None, geom=None):
        self.__dict__.update(locals())
        del self.__dict__["self"]


def simulate(tmp, params, plusargs, timeout=300):
    """Compile tb_conv_gemm with `params` (-P) and run it with `plusargs`: (returncode, text)."""
    vvp = os.path.join(tmp, "tb.vvp")
    cmd = [IVERILOG, "-g2005", "-Wall", "-o", vvp]
    cmd += ["-Ptb_conv_gemm.%s=%d" % kv for kv in params.items()]
    comp = subprocess.run(cmd + SOURCES, capture_output=True, text=True, timeout=120)
    if comp.returncode != 0 or comp.stderr.strip():
        raise AssertionError("iverilog failed:\n" + comp.stderr)
    sim = subprocess.run([VVP, "-n", vvp] + list(plusargs), capture_output=True, text=True,
                         timeout=timeout)
    return sim.returncode, sim.stdout + sim.stderr


def run_tb(layer, tmp, packing=(32, None, 0), per_file=None, rows=4, cols=4, a_layout=0,
           acc_layout=0, out_layout=0, files=None, max_print=1):
    """Write the layer's files (those `files` {name: path} does not give), compile, simulate.

    packing: (word_bits, elems_per_word or None = word_bits / element bits, msb_first) for the
    data files (int32 and 64-bit files get as many per word as fit); per_file:
    {file: (word_bits, epw, msb)} overrides. Returns (returncode, text)."""
    a_bits, a_signed = DTYPE_BITS[layer.a_dtype]
    b_bits, b_signed = DTYPE_BITS[layer.b_dtype]
    o_bits, o_signed = DTYPE_BITS[layer.out_dtype]
    a = np.asarray(layer.a)
    m, ka = a.shape
    n, k = np.asarray(layer.b).shape
    params = dict(ROWS=rows, COLS=cols, A_BITS=a_bits, A_SIGNED=a_signed, B_BITS=b_bits,
                  B_SIGNED=b_signed, ACC_BITS=layer.acc_bits, OVERFLOW=layer.overflow,
                  OUT_BITS=o_bits, OUT_SIGNED=o_signed, BATCH=layer.batch, HO=layer.ho,
                  WO=layer.wo, K=k, N=n, GROUP=layer.group, NPARAM=len(layer.mult),
                  HAS_BIAS=int(layer.bias is not None), HAS_REQ=int(layer.out is not None))
    params.update(layer.geom or {})
    per_file = dict(per_file or {})
    word_bits, epw, msb = packing
    params["WMAX"] = max([word_bits, 64] + [p[0] for p in per_file.values()])
    args = ["+word_bits=%d" % word_bits, "+msb_first=%d" % msb, "+a_layout=%d" % a_layout,
            "+k_order=%d" % layer.k_order, "+acc_layout=%d" % acc_layout,
            "+out_layout=%d" % out_layout, "+a_zp=%d" % layer.a_zp, "+b_zp=%d" % layer.b_zp,
            "+out_zp=%d" % layer.out_zp, "+rounding=%s" % layer.rounding,
            "+max_print=%d" % max_print]
    if layer.lo is not None:
        args.append("+lo=%d" % layer.lo)
    if layer.hi is not None:
        args.append("+hi=%d" % layer.hi)
    if a_layout == 1:    # [BATCH][GROUP*K][HO*WO]
        a = a.reshape(layer.batch, layer.ho * layer.wo, ka).transpose(0, 2, 1)
    elif a_layout == 2:  # the NCHW image
        a = layer.x
    elif a_layout == 3:  # NHWC
        a = np.asarray(layer.x).transpose(0, 2, 3, 1)

    def gemm_out(v):     # [BATCH, N, HO, WO] -> [M][N] for layout 1
        return None if v is None else np.asarray(v).transpose(0, 2, 3, 1)

    data = {"a": a, "b": layer.b, "bias": layer.bias,
            "acc": gemm_out(layer.acc) if acc_layout == 1 else layer.acc,
            "out": gemm_out(layer.out) if out_layout == 1 else layer.out,
            "mult": layer.mult, "shift": layer.shift, "offset": layer.offset}
    ebits = {"a": a_bits, "b": b_bits, "bias": 32, "acc": 32, "out": o_bits, "mult": 64,
             "shift": 64, "offset": 64}
    files = dict(files or {})
    for f, eb in ebits.items():
        wb, e, ms = per_file.get(f, (word_bits, epw, msb))
        if f not in per_file and (e or 1) * eb > wb:  # int32/64 files: as many as fit
            wb = max(wb, eb)
            e = wb // eb
        e = e or wb // eb
        args += ["+%s_wb=%d" % (f, wb), "+%s_epw=%d" % (f, e), "+%s_msb=%d" % (f, ms)]
        if data[f] is not None and f not in files:
            files[f] = os.path.join(tmp, f + ".hex")
            with open(files[f], "w") as fh:
                fh.write(pack_hex(data[f], eb, wb, e, ms))
    args += ["+%s=%s" % (f, p) for f, p in files.items()]
    return simulate(tmp, params, args)


def last_line(out):
    """The verdict: the last line starting with PASS or FAIL."""
    lines = [ln for ln in out.splitlines() if ln.startswith(("PASS", "FAIL"))]
    return lines[-1] if lines else ""


# ---------------------------------------------------------------------------------------------
# hand-worked vectors
# ---------------------------------------------------------------------------------------------

def passthrough_layer(values, out, rounding, mult, shift, out_dtype="int8", **kw):
    """A 1x1 conv with one input channel and weight 1: acc[r] = values[r] exactly."""
    v = np.array(values, np.int64).reshape(-1, 1)
    return Layer(v, np.ones((1, 1), np.int64), None, v.reshape(-1), out, ho=len(values), wo=1,
                 mult=(mult,), shift=(shift,), rounding=rounding, out_dtype=out_dtype, **kw)


@unittest.skipUnless(HAVE_SIM, "iverilog/vvp not installed")
class HandWorked(unittest.TestCase):
    # acc / 2 for acc = -5 -3 -1 1 3 5 (all ties) and 2 (exact), per mode
    ACC = [-5, -3, -1, 1, 3, 5, 2]
    HALF = {
        "half_even": [-2, -2, 0, 0, 2, 2, 1],
        "half_up": [-2, -1, 0, 1, 2, 3, 1],
        "half_away": [-3, -2, -1, 1, 2, 3, 1],
        "floor": [-3, -2, -1, 0, 1, 2, 1],
        # SRDHM(v, 2^30) = round(v/2), ties toward +inf; R = 0
        "tflite": [-2, -1, 0, 1, 2, 3, 1],
    }

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def check(self, layer, **kw):
        rc, out = run_tb(layer, self.tmp, **kw)
        self.assertTrue(last_line(out).startswith("PASS"), out)
        self.assertEqual(rc, 0, out)
        self.assertNotIn("WARNING", out)
        return out

    def test_ties_every_mode(self):
        for mode, want in self.HALF.items():
            with self.subTest(mode=mode):
                if mode == "tflite":  # scale 2^30 / 2^31 = 1/2
                    layer = passthrough_layer(self.ACC, want, mode, 1 << 30, 31)
                else:                 # scale 1 / 2^1
                    layer = passthrough_layer(self.ACC, want, mode, 1, 1)
                self.check(layer)

    def test_tflite_right_shift_and_offset(self):
        # scale 2^30 / 2^33 = 1/8: t = SRDHM(v, 2^30) = round-half-up(v/2), then RDBPOT(t, 2)
        # ties away: v = 12 -> t 6 -> 1.5 -> 2; v = -12 -> t -6 -> -1.5 -> -2;
        # v = -3 -> t = -1 (-1.5 up) -> -0.25 -> 0; v = 20 -> 10 -> 2.5 -> 3; v = 8 -> 4 -> 1
        self.check(passthrough_layer([12, -12, -3, 20, 8], [2, -2, 0, 3, 1], "tflite", 1 << 30, 33))
        # offset: (v*3 + 5) / 4 half_even: v=1 -> 8/4 = 2; v=-3 -> -4/4 = -1; v=-1 -> 2/4 = 0.5 -> 0;
        # v=0 -> 5/4 -> 1; v=5 -> 20/4 = 5
        layer = passthrough_layer([1, -3, -1, 0, 5], [2, -1, 0, 1, 5], "half_even", 3, 2)
        layer.offset = (5,)
        self.check(layer)

    def test_zero_point_and_clamp(self):
        # y = clamp(round(v/4) + 10, 8, 12) half_up: v = -100 -> -25+10 -> 8 (lo);
        # v = -10 -> -2.5 -> -2 -> 8; v = -9 -> -2.25 -> -2 -> 8; v = -6 -> -1.5 -> -1 -> 9;
        # v = 6 -> 1.5 -> 2 -> 12; v = 100 -> 35 -> 12 (hi)
        layer = passthrough_layer([-100, -10, -9, -6, 6, 100], [8, 8, 8, 9, 12, 12], "half_up", 1, 2,
                                  out_zp=10, lo=8, hi=12)
        self.check(layer)

    def test_int4_and_uint4_saturation(self):
        # int4 output: round(v/1) clamped to -8..7; uint4 with zp 8: v + 8 clamped to 0..15
        self.check(passthrough_layer([-100, -9, -8, 7, 8, 100], [-8, -8, -8, 7, 7, 7], "floor", 1, 0,
                                     out_dtype="int4"))
        self.check(passthrough_layer([-100, -9, -8, 7, 8, 100], [0, 0, 0, 15, 15, 15], "floor", 1, 0,
                                     out_dtype="uint4", out_zp=8))

    def test_zero_points_subtracted(self):
        # uint8 input zp 128, int8 weight zp -3, one output: (200-128)*(5+3) + (100-128)*(-4+3) + bias 7
        # = 72*8 + 28 + 7 = 611; requantized /4 half_even: 152.75 -> 153, clamped int8 -> 127
        layer = Layer(np.array([[200, 100]]), np.array([[5, -4]]), np.array([7]), np.array([611]),
                      np.array([127]), ho=1, wo=1, a_dtype="uint8", a_zp=128, b_zp=-3,
                      mult=(1,), shift=(2,))
        self.check(layer, rows=2, cols=2)
        # int4 input zp -8 (so x - zp is 0..15) and int4 weight zp 7 (w - zp is -15..0):
        # (7+8)*(-8-7) + (-8+8)*(...) = -225, + bias 0; int32 output raw via mult 1 shift 0 -> int8 -128
        layer = Layer(np.array([[7, -8]]), np.array([[-8, 3]]), None, np.array([-225]), np.array([-128]),
                      ho=1, wo=1, a_dtype="int4", b_dtype="int4", a_zp=-8, b_zp=7)
        self.check(layer, rows=1, cols=3)

    def test_accumulator_policies(self):
        # 8-bit accumulator, bias 0, row 0 products 100, 100, -100 in k order:
        # wrap: 100, 200 -> -56, -156 -> 100 (= exact 100); saturate: 100, 127, 27.
        # Row 1 (input negated): wrap -100; saturate -100, -128, -28.
        a = np.array([[100, 100, -100], [-100, -100, 100]])
        b = np.array([[1, 1, 1]])
        for overflow, want in ((1, [100, -100]), (2, [27, -28])):
            with self.subTest(overflow=overflow):
                layer = Layer(a, b, None, np.array(want), np.array(want), ho=1, wo=2,
                              acc_bits=8, overflow=overflow)
                self.check(layer)
        a = a[:1]
        # error policy: the PE flags the overflow and the testbench reports it
        layer = Layer(a, b, None, np.array([100]), np.array([100]), ho=1, wo=1, acc_bits=8, overflow=0)
        rc, out = run_tb(layer, self.tmp)
        self.assertIn("MISMATCH acc (row 0, col 0) = (n 0, c 0, h 0, w 0): accumulator overflow", out)
        self.assertEqual(last_line(out), "FAIL 1 mismatches")
        self.assertNotEqual(rc, 0)

    def test_missing_words_reported(self):
        layer = passthrough_layer(self.ACC, self.HALF["floor"], "floor", 1, 1)
        short = os.path.join(self.tmp, "short.hex")
        with open(short, "w") as fh:  # 4 of the 7 outputs: word 0 of the 2 needed
            fh.write(pack_hex(self.HALF["floor"][:4], 8, 32, 4, 0))
        rc, out = run_tb(layer, self.tmp, files={"out": short})
        self.assertIn("ERROR: out: file has no word 1 (needs 2 words)", out)
        self.assertEqual(last_line(out), "FAIL 1 errors")
        self.assertNotEqual(rc, 0)


# ---------------------------------------------------------------------------------------------
# random layers from the independent NumPy reference
# ---------------------------------------------------------------------------------------------

def reference_layer(rng, a_dtype, w_dtype, out_dtype, rounding, cin=3, cout=5, h=6, w=5, k=3,
                    strides=(1, 1), pads=(1, 1, 1, 1), dilations=(1, 1), a_zp=0, w_zp=0, batch=1,
                    group=1, k_order=0, per_channel=True):
    alo, ahi = R.DTYPE_RANGE[a_dtype]
    wlo, whi = R.DTYPE_RANGE[w_dtype]
    x = rng.integers(alo, ahi + 1, (batch, cin, h, w))
    wt = rng.integers(wlo, whi + 1, (cout, cin // group, k, k))
    bias = rng.integers(-3000, 3000, cout)
    acc = R.conv2d(x, wt, bias, strides=strides, pads=pads, dilations=dilations, group=group,
                   x_zero_point=a_zp, w_zero_point=w_zp)
    nparam = cout if per_channel else 1
    if rounding == "tflite":
        mult = rng.integers(1 << 29, 1 << 31, nparam)
        shift = rng.integers(36, 42, nparam)
        offset = np.zeros(nparam, np.int64)
    else:
        # small multipliers and shifts make many exact ties
        mult = rng.integers(-7, 8, nparam)
        shift = rng.integers(0, 6, nparam)
        offset = rng.integers(-20, 20, nparam)
    olo, ohi = R.DTYPE_RANGE[out_dtype]
    out_zp = int(rng.integers(olo, ohi + 1)) // 2
    out = R.requantize(acc, mult, shift, offset, out_zp, rounding=rounding, dtype=out_dtype)
    a, ho, wo = im2col(x, k, k, strides, pads, dilations, a_zp, group, k_order)
    b = wt.transpose(0, 2, 3, 1) if k_order == 1 else wt
    geom = dict(CIN=cin, H=h, W=w, KH=k, KW=k, SH=strides[0], SW=strides[1], PT=pads[0],
                PL=pads[1], DH=dilations[0], DW=dilations[1])
    return Layer(a, b.reshape(cout, -1), bias, acc, out, ho, wo, batch=batch, a_dtype=a_dtype,
                 b_dtype=w_dtype, out_dtype=out_dtype, a_zp=a_zp, b_zp=w_zp, mult=tuple(mult),
                 shift=tuple(shift), offset=tuple(offset), out_zp=out_zp, rounding=rounding,
                 group=group, k_order=k_order, x=x, geom=geom)


@unittest.skipUnless(HAVE_SIM, "iverilog/vvp not installed")
class RandomVsReference(unittest.TestCase):
    """Random layers: numpy default_rng(seed) data, expected values from t2c.reference."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def test_modes_dtypes_packings_layouts(self):
        cases = [
            # (seed, input, weight, output dtype, rounding, packing, run_tb args, layer args)
            (1, "int8", "int8", "int8", "half_even", (32, 4, 0), {}, {}),
            (2, "uint8", "int8", "uint8", "half_up", (64, 8, 1), {"rows": 3, "cols": 2, "a_layout": 1},
             {"a_zp": 131, "w_zp": -2, "strides": (2, 1), "batch": 2}),
            (3, "int4", "int4", "int4", "half_away", (32, 8, 1), {"a_layout": 2},
             {"a_zp": -3, "w_zp": 1, "batch": 2, "dilations": (2, 3)}),
            (4, "uint4", "int4", "uint4", "floor", (16, 2, 0), {"rows": 5, "cols": 3, "a_layout": 3},
             {"a_zp": 9, "per_channel": False, "pads": (0, 1, 2, 0), "k_order": 1}),
            (5, "int8", "int4", "int8", "tflite", (64, 8, 0),
             {"acc_layout": 1, "out_layout": 1, "per_file": {"bias": (64, 2, 1), "acc": (32, 1, 0)}},
             {"cin": 4, "cout": 6}),
            (6, "int8", "int8", "int8", "half_even", (32, 3, 1), {"rows": 2, "cols": 2, "a_layout": 2},
             {"cin": 4, "cout": 6, "group": 2, "a_zp": 5}),
            (7, "int8", "int8", "int8", "half_up", (48, 6, 0), {"cols": 3, "a_layout": 1},
             {"cin": 3, "cout": 3, "group": 3, "k_order": 1}),
        ]
        for seed, a, w, o, rounding, packing, tb_kw, kw in cases:
            with self.subTest(seed=seed, rounding=rounding):
                layer = reference_layer(np.random.default_rng(seed), a, w, o, rounding, **kw)
                rc, out = run_tb(layer, self.tmp, packing=packing, **tb_kw)
                self.assertTrue(last_line(out).startswith("PASS"), out)
                self.assertEqual(rc, 0, out)
                m = np.asarray(layer.acc).size
                self.assertIn("PASS %d accumulators, %d outputs" % (m, m), out)
                self.assertNotIn("WARNING", out)

    def test_corrupt_output_element(self):
        layer = reference_layer(np.random.default_rng(7), "int8", "int8", "int8", "half_even")
        # output [1, 5, 6, 5]; corrupt (n 0, c 3, h 4, w 2)
        out = np.array(layer.out)
        good = int(out[0, 3, 4, 2])
        out[0, 3, 4, 2] = good + 1 if good < 127 else good - 1
        layer.out = out
        rc, text = run_tb(layer, self.tmp, packing=(64, 8, 1))
        row = 4 * 5 + 2
        self.assertIn("MISMATCH out (n 0, c 3, h 4, w 2) = (row %d, col 3): expected %d, got %d"
                      % (row, int(out[0, 3, 4, 2]), good), text)
        self.assertEqual(last_line(text), "FAIL 1 mismatches")
        self.assertNotEqual(rc, 0)
        # a corrupted accumulator is reported with its GEMM coordinate
        layer.out[0, 3, 4, 2] = good
        acc = np.array(layer.acc)
        acc[0, 1, 0, 3] -= 5
        layer.acc = acc
        rc, text = run_tb(layer, self.tmp)
        self.assertIn("MISMATCH acc (row 3, col 1) = (n 0, c 1, h 0, w 3): expected %d, got %d"
                      % (acc[0, 1, 0, 3], acc[0, 1, 0, 3] + 5), text)
        self.assertEqual(last_line(text), "FAIL 1 mismatches")
        self.assertNotEqual(rc, 0)


# ---------------------------------------------------------------------------------------------
# real layers of the embedded default model, vectors from t2c-golden
# ---------------------------------------------------------------------------------------------

GOLDEN = os.path.join(BUILD, "golden", "t2c-golden")
MODEL_DIR = os.path.join(ROOT, "engine", "default_model")
MODEL_INT8 = os.path.join(MODEL_DIR, "fmnist_resnet_int8.t2c")
MODEL_INT4 = os.path.join(MODEL_DIR, "fmnist_resnet_int4.t2c")
SAMPLE = os.path.join(MODEL_DIR, "samples", "0_t-shirt-top.png")
HAVE_GOLDEN = all(os.path.exists(p) for p in (GOLDEN, MODEL_INT8, MODEL_INT4, SAMPLE))
OVERFLOW_CODES = {"error": 0, "wrap": 1, "saturate": 2}
# testbench file name -> (op key, role): the conv's operands and int32 output, the requantize
# op's parameters and output
TB_FILES = {"a": ("conv", "input"), "b": ("conv", "weight"), "bias": ("conv", "bias"),
            "acc": ("conv", "output"), "out": ("req", "output"), "mult": ("req", "multiplier"),
            "shift": ("req", "shift"), "offset": ("req", "offset")}


def run_golden(model, op_glob, out_dir, *opts):
    """t2c-golden on one image for the ops matching op_glob; returns the manifest."""
    p = subprocess.run([GOLDEN, model, SAMPLE, "--out", out_dir, "--ops", op_glob, "-q",
                        "--no-progress", "--format", "hex"] + list(opts),
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError("t2c-golden failed: %s %s" % (p.stdout, p.stderr))
    with open(os.path.join(out_dir, "manifest.json")) as fh:
        return json.load(fh)


def model_with_rounding(src, dst, op_name, rounding):
    """A copy of the model whose requantize op `op_name` rounds with `rounding`."""
    m = C.read(src)
    m.op(op_name).attrs["rounding"] = rounding
    C.write(m, dst)


def manifest_op(man, name):
    (op,) = [o for o in man["ops"] if o["name"] == name]
    return op


def manifest_file(man, op_name, role):
    """The file of (op, role) for image 0 (or a constant), or None."""
    got = [f for f in man["files"]
           if f["op"] == op_name and f["role"] == role and f["image"] in (None, 0)]
    return got[0] if got else None


def attr(op, key):
    return op["attrs"][key] if key in op["attrs"] else op["defaults"][key]


def read_words(path, f):
    """Decode a t2c-golden hex file into its stored elements (per the manifest entry f)."""
    bits, epw, msb = f["bits"], f["elems_per_word"], f["word_order"] == "msb_first"
    vals = []
    with open(path) as fh:
        for line in fh:
            line = line.split("//")[0].strip()
            if not line or line.startswith("@"):
                continue
            word = int(line, 16)
            for j in range(epw):
                pos = (epw - 1 - j) if msb else j
                v = (word >> (pos * bits)) & ((1 << bits) - 1)
                if f["signed"] and v >> (bits - 1):
                    v -= 1 << bits
                vals.append(v)
    return vals[:f["stored_elements"]]


def write_words(path, f, vals):
    with open(path, "w") as fh:
        fh.write(pack_hex(vals, f["bits"], f["word_bits"], f["elems_per_word"],
                          f["word_order"] == "msb_first"))


def tb_from_manifest(man, out_dir, conv_name, req_name):
    """tb_conv_gemm parameters and plusargs for conv `conv_name` + requantize `req_name`."""
    ops = {"conv": manifest_op(man, conv_name), "req": manifest_op(man, req_name)}
    files = {k: manifest_file(man, ops[o]["name"], role) for k, (o, role) in TB_FILES.items()}
    conv, req = ops["conv"], ops["req"]
    fin, fw, facc, fout = files["a"], files["b"], files["acc"], files["out"]
    for f in files.values():
        if f is not None and (f["layout"]["tile"] is not None or f["format"] != "hex"):
            raise AssertionError("untiled hex files expected: %s" % f["path"])
    batch, cin, h, w = fin["shape"]
    cout, _, kh, kw = fw["shape"]
    _, _, ho, wo = facc["shape"]
    group = attr(conv, "group")
    base = fin["layout"]["base"]
    sh, sw = attr(conv, "strides")
    dh, dw = attr(conv, "dilations")
    pads = attr(conv, "pads")
    mult = attr(req, "multiplier")
    params = dict(ROWS=8, COLS=8, A_BITS=fin["bits"], A_SIGNED=int(fin["signed"]),
                  B_BITS=fw["bits"], B_SIGNED=int(fw["signed"]), ACC_BITS=attr(conv, "acc_bits"),
                  OVERFLOW=OVERFLOW_CODES[attr(conv, "overflow")], OUT_BITS=fout["bits"],
                  OUT_SIGNED=int(fout["signed"]), BATCH=batch, HO=ho, WO=wo,
                  K=cin // group * kh * kw, N=cout, GROUP=group, NPARAM=len(mult),
                  HAS_BIAS=int(files["bias"] is not None), HAS_REQ=1, CIN=cin, H=h, W=w, KH=kh,
                  KW=kw, SH=sh, SW=sw, PT=pads[0], PL=pads[1], DH=dh, DW=dw,
                  WMAX=max([64] + [f["word_bits"] for f in files.values() if f]))
    args = ["+a_layout=%d" % {"gemm": 1, "gemm_hwc": 1, "nchw": 2, "nhwc": 3}[base],
            "+k_order=%d" % (base in ("gemm_hwc", "nhwc")),
            "+acc_layout=%d" % (facc["layout"]["base"] == "nhwc"),
            "+out_layout=%d" % (fout["layout"]["base"] == "nhwc"),
            "+a_zp=%d" % attr(conv, "x_zero_point"), "+b_zp=%d" % attr(conv, "w_zero_point"),
            "+out_zp=%d" % attr(req, "zero_point"), "+lo=%d" % attr(req, "lo"),
            "+hi=%d" % attr(req, "hi"), "+rounding=%s" % req["rounding"]]
    for name, f in files.items():
        if f is None:
            continue
        args += ["+%s=%s" % (name, os.path.join(out_dir, f["path"])),
                 "+%s_wb=%d" % (name, f["word_bits"]), "+%s_epw=%d" % (name, f["elems_per_word"]),
                 "+%s_msb=%d" % (name, f["word_order"] == "msb_first"),
                 "+%s_bits=%d" % (name, f["bits"]), "+%s_signed=%d" % (name, f["signed"])]
    if files["offset"] is None and any(attr(req, "offset")):
        raise AssertionError("offset attribute without an offset file")
    return params, args, files


def golden_output(man, out_dir, req_name):
    """The requantize output of image 0 as a flat NCHW array."""
    f = manifest_file(man, req_name, "output")
    vals = np.array(read_words(os.path.join(out_dir, f["path"]), f))
    n, c, h, w = f["shape"]
    if f["layout"]["base"] == "nhwc":
        return vals.reshape(n, h, w, c).transpose(0, 3, 1, 2).reshape(-1)
    return vals


@unittest.skipUnless(HAVE_SIM, "iverilog/vvp not installed")
@unittest.skipUnless(HAVE_GOLDEN, "t2c-golden or the default models not built")
class GoldenLayers(unittest.TestCase):
    """Real conv2d + requantize layers of engine/default_model on one sample image: t2c-golden
    vectors in two packings and three layouts, the model's rounding and rewritten ones."""

    # (model, conv op, rounding: None = the model's own half_even, t2c-golden options,
    #  expected (input, weight, output) bits)
    CASES = [
        # int8 input with zero point -55 (padding is -55), uint8 output; 4 per 32-bit word
        (MODEL_INT8, "conv1", None, ["--word-bits", "32", "--layout", "gemm"], (8, 8, 8)),
        # uint8 -> int8 (zero point 18); NHWC image (the testbench's im2col), 8 per 64-bit word
        (MODEL_INT8, "layer1.conv2", "floor",
         ["--word-bits", "64", "--order", "msb", "--layout", "nhwc"], (8, 8, 8)),
        # uint4 x int4 -> uint4; 16 per 64-bit word, MSB first
        (MODEL_INT4, "layer2.conv1", None,
         ["--word-bits", "64", "--order", "msb", "--layout", "gemm"], (4, 4, 4)),
        # uint4 x int4 -> int4 (zero point -1); NCHW image, 8 per 32-bit word
        (MODEL_INT4, "layer2.conv2", "tflite", ["--word-bits", "32", "--layout", "nchw"], (4, 4, 4)),
    ]

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def golden(self, model, conv, rounding, opts, tag):
        req = conv + ".requant"
        if rounding is not None:
            path = os.path.join(self.tmp, tag + ".t2c")
            model_with_rounding(model, path, req, rounding)
            model = path
        out_dir = os.path.join(self.tmp, tag)
        man = run_golden(model, conv + "*", out_dir, *opts)
        self.assertEqual(manifest_op(man, req)["rounding"], rounding or "half_even")
        return man, out_dir

    def simulate(self, params, args, tag):
        sim_dir = os.path.join(self.tmp, "sim_" + tag)
        os.makedirs(sim_dir, exist_ok=True)
        return simulate(sim_dir, params, args)

    def test_real_layers_int8_int4(self):
        for i, (model, conv, rounding, opts, bits) in enumerate(self.CASES):
            with self.subTest(model=os.path.basename(model), conv=conv, rounding=rounding):
                man, out_dir = self.golden(model, conv, rounding, opts, "case%d" % i)
                params, args, files = tb_from_manifest(man, out_dir, conv, conv + ".requant")
                self.assertEqual((params["A_BITS"], params["B_BITS"], params["OUT_BITS"]), bits)
                rc, text = self.simulate(params, args, str(i))
                count = params["N"] * params["HO"] * params["WO"]
                self.assertIn("PASS %d accumulators, %d outputs" % (count, count), text)
                self.assertEqual(rc, 0, text)
                self.assertNotIn("WARNING", text)
                if rounding == "floor":
                    # the rewritten mode reached the engine: floor differs from half_even here
                    man0, dir0 = self.golden(model, conv, None, opts, "orig%d" % i)
                    diff = (golden_output(man, out_dir, conv + ".requant")
                            != golden_output(man0, dir0, conv + ".requant"))
                    self.assertGreater(np.count_nonzero(diff), count // 10)

    def test_corrupt_golden_output_element(self):
        # INT4 1x1 stride-2 conv: uint4 x int4 -> int4, 16 per 64-bit word, MSB first
        conv = "layer1.downsample.0"
        man, out_dir = self.golden(MODEL_INT4, conv, None,
                                   ["--word-bits", "64", "--order", "msb", "--layout", "gemm"], "bad")
        params, args, files = tb_from_manifest(man, out_dir, conv, conv + ".requant")
        f = files["out"]
        path = os.path.join(out_dir, f["path"])
        vals = read_words(path, f)
        ho, wo = params["HO"], params["WO"]
        c, h, w = 11, 5, 9                                # (n 0, c 11, h 5, w 9)
        idx = (c * ho + h) * wo + w                       # gemm layout: [N][C][H*W]
        good = vals[idx]
        vals[idx] = good + 1 if good < 7 else good - 1
        write_words(path, f, vals)
        rc, text = self.simulate(params, args, "bad")
        self.assertIn("MISMATCH out (n 0, c 11, h 5, w 9) = (row %d, col 11): expected %d, got %d"
                      % (h * wo + w, vals[idx], good), text)
        self.assertEqual(last_line(text), "FAIL 1 mismatches")
        self.assertNotEqual(rc, 0)
        # restored, but simulated with the wrong rounding mode: fails too
        vals[idx] = good
        write_words(path, f, vals)
        args = [a for a in args if not a.startswith("+rounding=")]
        rc, text = self.simulate(params, args + ["+rounding=floor", "+max_print=0"], "bad")
        self.assertRegex(last_line(text), r"^FAIL \d+ mismatches$")
        self.assertNotEqual(rc, 0)


# ---------------------------------------------------------------------------------------------
# Verilator: the RTL is lint-clean; the testbench also runs there (opt-in: a C++ build)
# ---------------------------------------------------------------------------------------------

VERILATOR = shutil.which("verilator")


@unittest.skipUnless(VERILATOR, "verilator not installed")
class Verilator(unittest.TestCase):
    def lint(self, top, files, params):
        cmd = [VERILATOR, "--lint-only", "-Wall", "--timing", "--top-module", top]
        cmd += ["-G%s=%d" % kv for kv in params.items()]
        p = subprocess.run(cmd + [os.path.join(RTL, f) for f in files], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))

    def test_lint_wall(self):
        for params in ({}, {"A_BITS": 4, "A_SIGNED": 0, "B_BITS": 4, "ACC_BITS": 12, "OVERFLOW": 2}):
            self.lint("t2c_mac_array", ["t2c_mac_array.v"], params)
        for params in ({}, {"IN_BITS": 12, "OUT_BITS": 4}):
            self.lint("t2c_requant", ["t2c_requant.v"], params)
        self.lint("tb_conv_gemm", ["tb_conv_gemm.v", "t2c_mac_array.v", "t2c_requant.v"],
                  {"A_BITS": 4, "OUT_BITS": 4, "ACC_BITS": 16, "HO": 3, "WO": 2, "K": 9, "N": 4,
                   "GROUP": 2, "NPARAM": 4, "WMAX": 128})

    @unittest.skipUnless(os.environ.get("T2C_VERILATOR_SIM"), "set T2C_VERILATOR_SIM=1 (a C++ build)")
    def test_simulate_ties(self):
        want = HandWorked.HALF["half_even"]
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "a.hex"), "w") as fh:
                fh.write(pack_hex(HandWorked.ACC, 8, 32, 4, 0))
            with open(os.path.join(tmp, "b.hex"), "w") as fh:
                fh.write(pack_hex([1], 8, 8, 1, 0))
            for name, vals in (("out", want), ("bad", want[:3] + [want[3] + 1] + want[4:])):
                with open(os.path.join(tmp, name + ".hex"), "w") as fh:
                    fh.write(pack_hex(vals, 8, 64, 8, 1))
            for name in ("mult", "shift"):
                with open(os.path.join(tmp, name + ".hex"), "w") as fh:
                    fh.write("1\n")
            obj = os.path.join(tmp, "obj")
            cmd = [VERILATOR, "--binary", "--timing", "-Wall", "--top-module", "tb_conv_gemm",
                   "-Mdir", obj, "-j", "2", "-GHO=%d" % len(want), "-GHAS_BIAS=0"]
            p = subprocess.run(cmd + SOURCES, capture_output=True, text=True, timeout=600)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            args = ["+a=" + os.path.join(tmp, "a.hex"), "+b=" + os.path.join(tmp, "b.hex"),
                    "+mult=" + os.path.join(tmp, "mult.hex"), "+shift=" + os.path.join(tmp, "shift.hex"),
                    "+b_wb=8", "+out_wb=64", "+out_msb=1", "+rounding=half_even"]
            exe = os.path.join(obj, "Vtb_conv_gemm")
            p = subprocess.run([exe, "+out=" + os.path.join(tmp, "out.hex")] + args,
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stdout)
            self.assertTrue(last_line(p.stdout).startswith("PASS 0 accumulators, 7 outputs"), p.stdout)
            p = subprocess.run([exe, "+out=" + os.path.join(tmp, "bad.hex")] + args,
                               capture_output=True, text=True, timeout=120)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("MISMATCH out (n 0, c 0, h 3, w 0) = (row 3, col 0): expected 1, got 0",
                          p.stdout)
            self.assertEqual(last_line(p.stdout), "FAIL 1 mismatches")


if __name__ == "__main__":
    unittest.main()
