"""t2c-golden: every format x packing x layout combination, decoded from the manifest alone.

The decoder below is written from golden/README.md and uses nothing of the C writer: it finds
every file through manifest.json, checks its size and crc32, undoes zstd with the zstd CLI,
parses the format (hex/bin @address lines, COE, MIF, raw words, .npy, decimal), unpacks the
words with the manifest's word_bits / elems_per_word / word_order and bits, and maps the stored
order back to the view with the manifest's axes. The expected values come from the independent
Python reference (t2c.reference.run) and the layouts are rebuilt in NumPy from the options
given on the command line (im2col written from the conv2d recipe of ops/README.md).

Models: a small hand-built graph with int4/uint4/int8/int16/int32 tensors, grouped, strided and
padded convs, per-channel requantize arrays, add, global_avgpool, flatten, linear and a
concat (two "input" roles); and the built-in default models if present.
"""
import hashlib
import io
import json
import os
import re
import resource
import signal
import subprocess
import tempfile
import unittest
import zlib

import numpy as np

try:
    from t2c import container as C
    from t2c import reference as R
except ImportError:  # PYTHONPATH not set: run from the source tree
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "formats", "python"))
    from t2c import container as C
    from t2c import reference as R

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("T2C_BUILD_DIR", os.path.join(ROOT, "build"))
GOLDEN = os.path.join(BUILD, "golden", "t2c-golden")
RUN = os.path.join(BUILD, "engine", "tools", "t2c-run")
DEFAULT_MODELS = [os.path.join(ROOT, "engine", "default_model", n)
                  for n in ("fmnist_resnet_int8.t2c", "fmnist_resnet_int4.t2c")]

BITS = {"int4": 4, "uint4": 4, "int8": 8, "uint8": 8, "int16": 16, "int32": 32, "int64": 64, "float32": 32}
NPY_DTYPE = {"int4": "|i1", "uint4": "|u1", "int8": "|i1", "uint8": "|u1", "int16": "<i2", "int32": "<i4",
             "int64": "<i8", "float32": "<f4"}
FORMATS = ("hex", "bin", "coe", "mif", "raw", "npy", "dec")
# thousands of small files: a tmpfs keeps file creation and removal cheap
TMP = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def golden(*args, preexec_fn=None):
    p = subprocess.run([GOLDEN] + [str(a) for a in args], capture_output=True, text=True, timeout=300,
                       preexec_fn=preexec_fn)
    return p.returncode, p.stdout, p.stderr


# ---------------------------------------------------------------- the small model

def small_model(path):
    rng = np.random.default_rng(20240607)
    m = C.Model()
    m.meta["model.name"] = "golden-small"
    m.add_tensor("x", "int8", (1, 3, 6, 5))
    m.add_tensor("w1", "int8", (4, 3, 3, 3), data=rng.integers(-128, 128, (4, 3, 3, 3)))
    m.add_tensor("b1", "int32", (4,), data=np.array([1000, -2000, 3, -4], np.int32))
    m.add_tensor("a1", "int32", (1, 4, 6, 5))
    m.add_tensor("q1", "int4", (1, 4, 6, 5))
    m.add_tensor("w2", "int4", (4, 2, 3, 3), data=rng.integers(-8, 8, (4, 2, 3, 3)))
    m.add_tensor("a2", "int32", (1, 4, 2, 5))
    m.add_tensor("q2", "uint4", (1, 4, 2, 5))
    m.add_tensor("s16", "int16", (1, 4, 2, 5))
    m.add_tensor("g", "uint4", (1, 4, 1, 1))
    m.add_tensor("f", "uint4", (1, 4))
    m.add_tensor("w3", "int8", (3, 4), data=rng.integers(-128, 128, (3, 4)))
    m.add_tensor("b3", "int32", (3,), data=np.array([7, -7, 70000], np.int32))
    m.add_tensor("y", "int32", (1, 3))
    m.add_tensor("cat", "int4", (1, 8, 6, 5))
    m.add_op("conv2d", "stem/conv", ["x", "w1", "b1"], ["a1"], pads=C.Ints([1, 1, 1, 1]), x_zero_point=2)
    m.add_op("requantize", "stem.rq", ["a1"], ["q1"], multiplier=C.Ints([1 << 20, 3 << 19, 5 << 18, 1 << 21]),
             shift=C.Ints([30, 30, 31, 29]), offset=C.Ints([0, 1 << 20, -(1 << 20), 5]), zero_point=-1,
             rounding="half_away")
    m.add_op("conv2d", "dw", ["q1", "w2"], ["a2"], group=2, strides=C.Ints([2, 1]),
             pads=C.Ints([0, 1, 0, 1]), x_zero_point=-1, w_zero_point=1)
    m.add_op("requantize", "dw.rq", ["a2"], ["q2"], multiplier=C.Ints([1 << 24]), shift=C.Ints([30]),
             zero_point=3)
    m.add_op("add", "res", ["q2", "q2"], ["s16"], a_zero_point=3, b_zero_point=3, out_zero_point=-5)
    m.add_op("global_avgpool", "gap", ["q2"], ["g"], rounding="half_up")
    m.add_op("flatten", "flat", ["g"], ["f"])
    m.add_op("linear", "fc", ["f", "w3", "b3"], ["y"])
    m.add_op("concat", "cat", ["q1", "q1"], ["cat"], axis=1)
    m.inputs, m.outputs = ["x"], ["y", "s16", "cat"]
    C.write(m, path)
    return m


# ---------------------------------------------------------------- decoding from the manifest

def read_payload(test, d, e):
    path = os.path.join(d, e["path"])
    with open(path, "rb") as f:
        data = f.read()
    test.assertEqual(len(data), e["bytes"], e["path"])
    test.assertEqual(zlib.crc32(data), int(e["crc32"], 16), e["path"])
    if e["compression"] == "zstd":
        test.assertTrue(e["path"].endswith(".zst"))
        data = subprocess.run(["zstd", "-dcq"], input=data, capture_output=True, check=True).stdout
        test.assertEqual(len(data), e["raw_bytes"])
        test.assertEqual(zlib.crc32(data), int(e["raw_crc32"], 16))
    else:
        test.assertEqual(e["compression"], "none")
    return data


def parse_readmem(test, e, text, radix):
    """$readmemh/$readmemb text: '@hex' address lines and one word per line."""
    width = e["word_bits"]
    digits = -(-width // 4) if radix == 16 else width
    al = e["address_lines"]
    words, at = [], []
    for line in text.split("\n")[:-1]:
        if line.startswith("@"):
            test.assertIsNotNone(al, "address line without address_lines")
            test.assertEqual(len(line) - 1, al["digits"])
            test.assertEqual(int(line[1:], 16), al["base"] + len(words))
            at.append(len(words))
            continue
        words.append(int(line, radix))
        if len(line) != digits:
            test.fail(f"word '{line}' has {len(line)} digits, not {digits}")
    test.assertTrue(text.endswith("\n"))
    if al is not None:
        every = al["every"]
        want = [0] + ([k for k in range(every, len(words), every)] if every else [])
        test.assertEqual(at, want)
    return words


def parse_coe(test, e, text):
    lines = [ln for ln in text.split("\n") if not ln.startswith(";")]
    test.assertEqual(lines[0], "memory_initialization_radix=16;")
    test.assertEqual(lines[1], "memory_initialization_vector=")
    body = "\n".join(lines[2:]).strip()
    test.assertTrue(body.endswith(";"))
    digits = -(-e["word_bits"] // 4)
    toks = [t.strip() for t in body[:-1].split(",")]
    test.assertEqual({len(t) for t in toks}, {digits})
    return [int(t, 16) for t in toks]


def parse_mif(test, e, text):
    lines = [ln for ln in text.split("\n") if not ln.startswith("--")]
    body = "\n".join(lines)
    test.assertEqual(int(re.search(r"^WIDTH=(\d+);$", body, re.M).group(1)), e["word_bits"])
    depth = int(re.search(r"^DEPTH=(\d+);$", body, re.M).group(1))
    test.assertEqual(depth, e["words"])
    test.assertIn("ADDRESS_RADIX=HEX;", body)
    test.assertIn("DATA_RADIX=HEX;", body)
    content = body[body.index("CONTENT BEGIN") + len("CONTENT BEGIN"):body.index("END;")]
    words = {}
    for ln in content.strip().split("\n"):
        m = re.fullmatch(r"\s*([0-9a-fA-F]+)\s*:\s*([0-9a-fA-F]+);", ln)
        test.assertIsNotNone(m, ln)
        words[int(m.group(1), 16)] = int(m.group(2), 16)
    test.assertEqual(sorted(words), list(range(depth)))
    return [words[a] for a in range(depth)]


def unpack(test, e, words):
    """Words -> elements with the manifest's packing; unused high bits must be zero."""
    b, n, w = e["bits"], e["elems_per_word"], e["word_bits"]
    msb = e["word_order"] == "msb_first"
    mask = (1 << b) - 1
    out = []
    test.assertFalse(any(word >> (n * b) for word in words), "unused bits above N*b must be zero")
    for word in words:
        for k in range(n):
            shift = (n - 1 - k) * b if msb else k * b
            v = (word >> shift) & mask
            if e["signed"] and v >> (b - 1):
                v -= 1 << b
            out.append(v)
    return out


def decode(test, d, e):
    """The stored elements of one file (word padding removed and checked)."""
    data = read_payload(test, d, e)
    fmt, n = e["format"], e["elems_per_word"]
    if fmt == "npy":
        a = np.load(io.BytesIO(data), allow_pickle=False)
        test.assertEqual(a.dtype.str, np.dtype(NPY_DTYPE[e["dtype"]]).str)
        test.assertEqual(list(a.shape), e["layout"]["stored_shape"])
        test.assertIsNone(e["word_bits"])
        buf = io.BytesIO()
        np.save(buf, a)
        test.assertEqual(buf.getvalue(), data, "npy differs from numpy.save")
        return a.reshape(-1).astype(np.int64)
    if fmt == "dec":
        vals = []
        for line in data.decode("ascii").split("\n")[:-1]:
            toks = line.split(" ")
            if len(toks) != n:
                test.fail(f"line '{line}' does not hold {n} values")
            vals += [int(t) for t in toks]
    elif fmt in ("hex", "bin"):
        words = parse_readmem(test, e, data.decode("ascii"), 16 if fmt == "hex" else 2)
        vals = unpack(test, e, words)
    elif fmt == "coe":
        vals = unpack(test, e, parse_coe(test, e, data.decode("ascii")))
    elif fmt == "mif":
        vals = unpack(test, e, parse_mif(test, e, data.decode("ascii")))
    elif fmt == "raw":
        wb = -(-e["word_bits"] // 8)
        test.assertEqual(len(data) % wb, 0)
        words = [int.from_bytes(data[i:i + wb], "little") for i in range(0, len(data), wb)]
        vals = unpack(test, e, words)
    else:
        test.fail(f"unknown format {fmt}")
    test.assertEqual(len(vals), e["words"] * n)
    total = e["stored_elements"]
    test.assertEqual(vals[total:], [e["pad_value"]] * (len(vals) - total), "last-word padding")
    return np.array(vals[:total], dtype=np.int64)


def stored_to_view(test, e, stored):
    """Undo the layout with the manifest's axes: stored[s] = V[c], c[d] = sum s_j*step_j."""
    lay = e["layout"]
    axes, vshape = lay["axes"], lay["view_shape"]
    sshape = [a["size"] for a in axes]
    test.assertEqual(sshape, lay["stored_shape"])
    test.assertEqual(int(np.prod(sshape)) if sshape else 1, len(stored))
    if not axes:
        return stored.reshape(())
    idx = np.indices(sshape).reshape(len(axes), -1)
    coords = []
    for d in range(len(vshape)):
        c = np.zeros(idx.shape[1], np.int64)
        for j, a in enumerate(axes):
            if a["dim"] == d:
                c += idx[j] * a["step"]
        coords.append(c)
    valid = np.ones(idx.shape[1], bool)
    for d, c in enumerate(coords):
        valid &= c < vshape[d]
    test.assertTrue(np.all(stored[~valid] == lay["pad_value"]), "tile padding")
    view = np.zeros(vshape, np.int64)
    hits = np.zeros(vshape, np.int64)
    sel = tuple(c[valid] for c in coords)
    view[sel] = stored[valid]
    np.add.at(hits, sel, 1)
    test.assertTrue(np.all(hits == 1), "every view element stored exactly once")
    test.assertEqual(int(valid.sum()), e["elements"])
    return view


# ---------------------------------------------------------------- layouts rebuilt in numpy

def im2col(x, op, w_shape, hwc):
    a = op.attrs
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    zp, g = a.get("x_zero_point", 0), a.get("group", 1)
    n, c, h, w = x.shape
    kh_n, kw_n = w_shape[2], w_shape[3]
    ho = (h + pt + pb - dh * (kh_n - 1) - 1) // sh + 1
    wo = (w + pl + pr - dw * (kw_n - 1) - 1) // sw + 1
    xp = np.full((n, c, h + pt + pb, w + pl + pr), zp, np.int64)
    xp[:, :, pt:pt + h, pl:pl + w] = x
    out = np.empty((n, c, kh_n, kw_n, ho, wo), np.int64)
    for kh in range(kh_n):
        for kw in range(kw_n):
            out[:, :, kh, kw] = xp[:, :, kh * dh:kh * dh + sh * (ho - 1) + 1:sh, kw * dw:kw * dw + sw * (wo - 1) + 1:sw]
    if not hwc:
        return out.reshape(n, c * kh_n * kw_n, ho * wo)
    cg = c // g
    return out.reshape(n, g, cg, kh_n, kw_n, ho * wo).transpose(0, 1, 3, 4, 2, 5).reshape(n, c * kh_n * kw_n, ho * wo)


def view_np(model, e, arr, base):
    op = model.op(e["op"])
    role = e["base_role"]
    if base in ("gemm", "gemm_hwc") and op.type == "conv2d" and role in ("input", "weight"):
        w_shape = model.tensors[op.inputs[1]].shape
        if role == "input":
            return im2col(arr, op, w_shape, base == "gemm_hwc")
        if base == "gemm_hwc":
            return arr.transpose(0, 2, 3, 1).reshape(arr.shape[0], -1)
        return arr.reshape(arr.shape[0], -1)
    if base in ("gemm", "gemm_hwc") and arr.ndim == 4:
        return arr.reshape(arr.shape[0], arr.shape[1], -1)
    return arr


def stored_np(view, base, tile, tile_col, inner_col, pad):
    v = view.transpose(0, 2, 3, 1) if base == "nhwc" and view.ndim == 4 else view
    if not tile or v.ndim == 0:
        return v
    tr, tc = tile
    if v.ndim == 1:
        m = -(-v.shape[0] // tr) * tr
        out = np.full(m, pad, np.int64)
        out[:v.shape[0]] = v
        return out.reshape(m // tr, tr)
    lead = list(v.shape[:-2])
    r, c = v.shape[-2:]
    rp, cp = -(-r // tr) * tr, -(-c // tc) * tc
    p = np.full(lead + [rp, cp], pad, np.int64)
    p[..., :r, :c] = v
    t = p.reshape(lead + [rp // tr, tr, cp // tc, tc])
    L = len(lead)
    outer = [L + 2, L] if tile_col else [L, L + 2]
    inner = [L + 3, L + 1] if inner_col else [L + 1, L + 3]
    return t.transpose(list(range(L)) + outer + inner)


def pad_in(pad, dtype):
    b = BITS[dtype]
    u = pad & ((1 << b) - 1)
    if dtype in ("int4", "int8", "int16", "int32", "int64") and u >> (b - 1):
        u -= 1 << b
    return u


def same(a, b):
    """assert_array_equal, with the slow path only for a mismatch."""
    if a.shape != b.shape or not np.array_equal(a, b):
        np.testing.assert_array_equal(a, b)


class GoldenCase(unittest.TestCase):
    """Shared checks: the manifest's own consistency, then every file's values."""

    def check_dump(self, d, model, tensors, images, base="nchw", tile=None, tile_col=False, inner_col=False,
                   pad=0, formats=FORMATS, expect_files=None, model_file=None):
        with open(os.path.join(d, "manifest.json")) as f:
            man = json.load(f)
        self.assertEqual(man["t2c_golden_version"], 1)
        self.assertEqual(man["engine_version"], "0.1.0")
        mp = model_file or man["model"]["path"]
        with open(mp, "rb") as f:
            self.assertEqual(man["model"]["sha256"], hashlib.sha256(f.read()).hexdigest())
        self.assertEqual(sorted(man["options"]["formats"]), sorted(formats))
        self.assertEqual([i["image"] for i in man["inputs"]], list(images))
        listed = {e["path"] for e in man["files"]}
        self.assertEqual(len(listed), len(man["files"]))
        on_disk = set(os.listdir(d)) - {"manifest.json", "SUMMARY.txt"}
        self.assertEqual(on_disk, listed, "files on disk = files in the manifest (no temporaries)")
        self.assertEqual(man["totals"]["files"], len(listed))
        if expect_files is not None:
            self.assertEqual(len(listed), expect_files)
        ops = {o["name"]: o for o in man["ops"]}
        with open(os.path.join(d, "SUMMARY.txt")) as f:
            summary = f.read()
        for e in man["files"]:
            with self.subTest(file=e["path"]):
                self.assertIn(e["path"], summary)
                op = model.op(e["op"])
                self.assertEqual(e["op_type"], op.type)
                self.assertEqual(e["op_index"], [o.name for o in model.ops].index(op.name))
                self.assertIn(e["op"], ops)
                self.assertEqual(e["bits"], BITS[e["dtype"]])
                self.assertEqual(e["signed"], e["dtype"] in ("int4", "int8", "int16", "int32", "int64"))
                # the logical tensor, from the model and the reference run
                if e["attribute"]:
                    self.assertIsNone(e["image"])
                    logical = np.array(op.attrs[e["attribute"]], np.int64)
                    self.assertEqual(ops[e["op"]]["attrs"][e["attribute"]], list(logical))
                    self.assertEqual(e["dtype"], "int8" if e["attribute"] == "shift" else "int32")
                else:
                    t = model.tensors[e["tensor"]]
                    self.assertEqual(e["dtype"], t.dtype)
                    if t.data is not None:
                        self.assertIsNone(e["image"])
                        logical = np.asarray(t.data).astype(np.int64).reshape(t.shape)
                    else:
                        k = e["image"]  # images are numbered by their row in the input
                        logical = tensors[e["tensor"]][k:k + 1].astype(np.int64)
                    slot = e["slot"]
                    names = op.outputs if e["base_role"] == "output" else op.inputs
                    self.assertEqual(names[slot], e["tensor"])
                self.assertEqual(list(logical.shape), e["shape"])
                # decode the file from the manifest alone, then compare
                stored = decode(self, d, e)
                lay = e["layout"]
                self.assertEqual(lay["base"], base)
                self.assertEqual(lay["pad_value"], pad_in(pad, e["dtype"]))
                view = stored_to_view(self, e, stored)
                want_view = view_np(model, e, logical, base)
                self.assertEqual(list(want_view.shape), lay["view_shape"])
                same(view, want_view)
                if lay["view"] in ("identity", "reshape"):
                    same(view.reshape(logical.shape), logical)
                want = stored_np(want_view, base, tile, tile_col, inner_col, pad_in(pad, e["dtype"]))
                self.assertEqual(list(want.shape), lay["stored_shape"])
                same(stored, want.reshape(-1))
        return man


@unittest.skipUnless(os.path.exists(GOLDEN), "t2c-golden not built")
class EveryCombination(GoldenCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="t2c_golden_py_", dir=TMP)
        cls.model_path = os.path.join(cls.tmp.name, "small.t2c")
        cls.model = small_model(cls.model_path)
        rng = np.random.default_rng(7)
        cls.x = rng.integers(-128, 128, (3, 3, 6, 5)).astype(np.int8)
        cls.x[0, 0, 0, :] = [-128, 127, 0, -1, 1]  # the extremes
        cls.npy = os.path.join(cls.tmp.name, "x.npy")
        np.save(cls.npy, cls.x)
        cls.ref = R.run(cls.model, {"x": cls.x})
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def dump(self, *args, images=(0, 1, 2)):
        type(self).n += 1
        d = os.path.join(self.tmp.name, f"out{self.n}")
        rc, out, err = golden(self.model_path, self.npy, "--out", d, "-q", *args)
        self.assertEqual((rc, err), (0, ""), args)
        self.assertEqual(out, "")
        return d

    LAYOUTS = [
        ("nchw", None, False, False),
        ("nhwc", None, False, False),
        ("gemm", None, False, False),
        ("gemm_hwc", None, False, False),
        ("nchw", (4, 3), False, False),
        ("nhwc", (2, 3), True, True),
        ("gemm", (3, 4), True, False),
        ("gemm_hwc", (5, 2), False, True),
    ]
    PACKINGS = [
        ([], 0),
        (["--pack", "3", "--order", "msb", "--pad", "-1"], -1),
        (["--word-bits", "36", "--pad", "5"], 5),
        (["--word-bits", "128", "--order", "msb", "--addr=3", "--addr-base", "0x100", "--pad", "0x1f2"], 0x1f2),
        (["--pack", "2", "--word-bits", "70", "--addr"], 0),
    ]

    def test_every_format_packing_layout(self):
        for base, tile, tcol, icol in self.LAYOUTS:
            for pargs, pad in self.PACKINGS:
                args = ["-f", "all", "-l", base] + pargs
                if tile:
                    args += ["--tile", f"{tile[0]}x{tile[1]}", "--tile-order", "col" if tcol else "row",
                             "--tile-inner", "col" if icol else "row"]
                with self.subTest(args=" ".join(args)):
                    d = self.dump(*args, "--images", "0,2")
                    # per format: 20 activation files per image; 8 parameter files (w1, b1,
                    # stem.rq's multiplier/shift/offset arrays, w2, w3, b3; dw.rq has scalars)
                    man = self.check_dump(d, self.model, self.ref, [0, 2], base, tile, tcol, icol, pad,
                                          expect_files=7 * (2 * 20 + 8))
                    self.assertEqual(man["options"]["layout"]["base"], base)

    def test_zstd_roles_ops_images(self):
        d = self.dump("-f", "hex,npy,raw", "-z", "--roles", "weight,output", "--ops", "stem*", "--ops", "fc",
                      "--images", "1")
        man = self.check_dump(d, self.model, self.ref, [1], formats=("hex", "npy", "raw"))
        got = sorted({(e["op"], e["role"]) for e in man["files"]})
        self.assertEqual(got, [("fc", "output"), ("fc", "weight"), ("stem.rq", "output"),
                               ("stem/conv", "output"), ("stem/conv", "weight")])
        self.assertTrue(all(e["compression"] == "zstd" for e in man["files"]))
        self.assertTrue(os.path.exists(os.path.join(d, "000_stem_conv.weight.memh.zst")))
        # groups and op types; a concat has two "input" roles
        d = self.dump("--op-type", "concat,requantize", "--roles", "act", "--images", "2")
        man = self.check_dump(d, self.model, self.ref, [2], formats=("hex",))
        got = sorted({(e["op"], e["role"]) for e in man["files"]})
        self.assertEqual(got, [("cat", "input0"), ("cat", "input1"), ("cat", "output"), ("dw.rq", "input"),
                               ("dw.rq", "output"), ("stem.rq", "input"), ("stem.rq", "output")])
        d = self.dump("--roles", "param", "--images", "0")
        man = self.check_dump(d, self.model, self.ref, [0], formats=("hex",))
        self.assertEqual(sorted(e["role"] for e in man["files"]),
                         ["bias", "bias", "multiplier", "offset", "shift", "weight", "weight", "weight"])
        self.assertEqual(man["files"][0]["path"], "000_stem_conv.weight.memh")

    def test_manifest_has_op_parameters(self):
        d = self.dump("--images", "0")
        with open(os.path.join(d, "manifest.json")) as f:
            man = json.load(f)
        ops = {o["name"]: o for o in man["ops"]}
        self.assertEqual(ops["stem.rq"]["rounding"], "half_away")
        self.assertEqual(ops["dw.rq"]["rounding"], "half_even")  # the default, stated
        self.assertEqual(ops["dw.rq"]["defaults"]["rounding"], "half_even")
        self.assertEqual(ops["dw.rq"]["defaults"]["lo"], 0)
        self.assertEqual(ops["dw.rq"]["defaults"]["hi"], 15)
        self.assertEqual(ops["dw.rq"]["attrs"]["multiplier"], [1 << 24])
        self.assertEqual(ops["dw"]["attrs"]["x_zero_point"], -1)
        self.assertEqual(ops["stem/conv"]["defaults"]["strides"], [1, 1])
        self.assertEqual(ops["gap"]["rounding"], "half_up")
        self.assertEqual(ops["fc"]["kernel"], "ref")
        files = {(e["op"], e["role"]): e for e in man["files"]}
        self.assertEqual(files[("dw", "input")]["zero_point"], -1)
        self.assertEqual(files[("dw", "weight")]["zero_point"], 1)
        self.assertEqual(files[("dw.rq", "output")]["zero_point"], 3)
        self.assertEqual(files[("res", "output")]["zero_point"], -5)
        self.assertEqual(files[("res", "input_a")]["zero_point"], 3)
        self.assertEqual(files[("stem.rq", "output")]["rounding"], "half_away")
        self.assertIsNone(files[("cat", "input0")]["zero_point"])
        self.assertEqual(man["inputs"], [{"image": 0, "source": self.npy + "[0]"}])
        self.assertIn("--images 0", man["command_line"])
        self.assertEqual(man["model"]["name"], "golden-small")

    def test_errors(self):
        base = [self.model_path, self.npy]
        # no directory can be made below a regular file: exit 1, nothing written
        rc, out, err = golden(*base, "--out", self.model_path + "/sub")
        self.assertEqual(rc, 1)
        self.assertIn("cannot create directory", err)
        # a file size limit stands in for a full disk: exit 1, no partial file, no manifest
        d = os.path.join(self.tmp.name, "full")

        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))

        rc, out, err = golden(*base, "--out", d, "-f", "hex,bin", preexec_fn=limit)
        self.assertEqual(rc, 1, err)
        self.assertRegex(err, r"^t2c-golden: op '[^']+' \(\w+\) \w+: \S+/full/\S+: cannot write: File too large\n$")
        left = os.listdir(d)
        self.assertNotIn("manifest.json", left)
        self.assertFalse([f for f in left if ".tmp" in f], left)
        for f in left:  # whatever was finished is complete
            self.assertLessEqual(os.path.getsize(os.path.join(d, f)), 3000)
        # a failing run into a finished dump removes its manifest (it would describe stale files)
        d2 = self.dump("--images", "0")
        self.assertTrue(os.path.exists(os.path.join(d2, "manifest.json")))
        rc, out, err = golden(*base, "--out", d2, "-f", "bin", preexec_fn=limit)
        self.assertEqual(rc, 1, err)
        self.assertFalse(os.path.exists(os.path.join(d2, "manifest.json")))
        if os.geteuid() != 0:  # root writes anywhere
            ro = os.path.join(self.tmp.name, "ro")
            os.mkdir(ro, 0o500)
            rc, out, err = golden(*base, "--out", ro)
            self.assertEqual(rc, 1)
            self.assertIn("cannot write files here: Permission denied", err)
        # usage errors: exit 2 with a hint
        for args, text in [
            (["--out", d, "-f", "vhdl"], "unknown format 'vhdl'"),
            (["--out", d, "--tile", "4"], "is not ROWSxCOLS"),
            (["--out", d, "--order", "middle"], "'middle' is not 'lsb' or 'msb'"),
            (["--out", d, "--pack", "0"], "--pack: '0' is not an integer"),
            (["--out", d, "--layout", "nhcw"], "unknown layout 'nhcw'"),
            (["--out", d, "--bogus"], "unrecognized option"),
            (["--out", d, "--zstd=30"], "--zstd: '30'"),
        ]:
            rc, out, err = golden(*base, *args)
            self.assertEqual(rc, 2, args)
            self.assertIn(text, err)
            self.assertIn("Try 't2c-golden --help'", err)
        for args, text in [
            (["--out", d, "--roles", "weights"], "unknown role 'weights'"),
            (["--out", d, "--ops", "nothing*"], "no op of the model matches"),
            (["--out", d, "--images", "7"], "selects none of the 3 images"),
            (["--out", d, "--word-bits", "16"], "a 16-bit word cannot hold a 32-bit int32 element"),
        ]:
            rc, out, err = golden(*base, *args)
            self.assertEqual(rc, 1 if "--word-bits" in args else 2, (args, err))
            self.assertIn(text, err)
        rc, out, err = golden(self.model_path, "--out", d)
        self.assertEqual(rc, 2)
        self.assertIn("no INPUT given", err)
        bad = os.path.join(self.tmp.name, "bad.npy")
        np.save(bad, self.x.astype(np.int16))
        rc, out, err = golden(self.model_path, bad, "--out", d)
        self.assertEqual(rc, 2)
        self.assertIn("dtype '<i2' does not fit the graph input 'x' (int8)", err)
        np.save(bad, self.x[:, :, :5])
        rc, out, err = golden(self.model_path, bad, "--out", d)
        self.assertEqual(rc, 2)
        self.assertIn("shape does not fit the graph input: need [N, 3, 6, 5] or [3, 6, 5]", err)

    def test_help_version(self):
        rc, out, err = golden("--help")
        self.assertEqual((rc, err), (0, ""))
        self.assertTrue(out.startswith("Usage: t2c-golden [OPTIONS] MODEL.t2c INPUT... --out DIR"))
        for opt in ("--format", "--pack", "--word-bits", "--order", "--addr", "--layout", "--tile", "--zstd",
                    "--roles", "--images", "--ops", "--progress", "Exit status"):
            self.assertIn(opt, out)
        rc, out, err = golden("--version")
        self.assertEqual((rc, out, err), (0, "t2c-golden (t2c) 0.1.0\n", ""))

    def test_single_image_npy_and_progress(self):
        one = os.path.join(self.tmp.name, "one.npy")
        np.save(one, self.x[1])  # [C, H, W]
        d = os.path.join(self.tmp.name, "single")
        rc, out, err = golden(self.model_path, one, "--out", d, "--progress", "--ops", "fc", "--stats")
        self.assertEqual(rc, 0, err)
        self.assertIn("wrote 4 files", out)
        self.assertIn("1/1 ops", err)  # the progress bar (not a terminal: one line per update)
        self.assertRegex(err, r"stats: files=4 bytes=\d+ write_seconds=")
        ref1 = {k: v[1:2] for k, v in self.ref.items()}
        self.check_dump(d, self.model, ref1, [0], formats=("hex",))


@unittest.skipUnless(os.path.exists(GOLDEN), "t2c-golden not built")
class DefaultModels(GoldenCase):
    def test_default_models(self):
        found = [p for p in DEFAULT_MODELS if os.path.exists(p)]
        if not found:
            self.skipTest("no default model yet")
        sample_dir = os.path.join(ROOT, "engine", "default_model", "samples")
        samples = sorted(os.path.join(sample_dir, f) for f in os.listdir(sample_dir)
                         if f.endswith(".png")) if os.path.isdir(sample_dir) else []
        with tempfile.TemporaryDirectory(prefix="t2c_golden_def_", dir=TMP) as tmp:
            for path in found:
                model = C.read(path)
                xin = model.tensors[model.inputs[0]]
                lo, hi = R.DTYPE_RANGE[xin.dtype]
                x = np.random.default_rng(3).integers(lo, hi + 1, (2,) + tuple(xin.shape[1:]))
                x = x.astype(R.NP_DTYPE[xin.dtype])
                npy = os.path.join(tmp, "x.npy")
                np.save(npy, x)
                ref = R.run(model, {model.inputs[0]: x})
                for args, base, tile in [(["-f", "all"], "nchw", None),
                                         (["-f", "hex,npy", "-l", "gemm", "--tile", "8x8", "--word-bits", "64"],
                                          "gemm", (8, 8))]:
                    d = os.path.join(tmp, os.path.basename(path) + "_" + base)
                    rc, out, err = golden(path, npy, "--out", d, "-q", *args)
                    self.assertEqual(rc, 0, err)
                    fm = args[1].split(",") if args[1] != "all" else FORMATS
                    self.check_dump(d, model, ref, [0, 1], base, tile, formats=fm)
                if samples:  # a PNG input: the graph input file is what the engine fed op 0
                    d = os.path.join(tmp, os.path.basename(path) + "_png")
                    rc, out, err = golden(path, samples[0], "--out", d, "-q", "-f", "npy")
                    self.assertEqual(rc, 0, err)
                    with open(os.path.join(d, "manifest.json")) as f:
                        man = json.load(f)
                    self.assertEqual(man["inputs"], [{"image": 0, "source": samples[0]}])
                    first = [e for e in man["files"] if e["op_index"] == 0 and e["role"] == "input"][0]
                    xin0 = np.load(os.path.join(d, first["path"]))
                    ref0 = R.run(model, {model.inputs[0]: xin0})
                    self.check_dump(d, model, ref0, [0], formats=("npy",))

    def test_t2c_run_golden(self):
        """t2c-run --golden on the built-in model and samples: every op of every image."""
        with tempfile.TemporaryDirectory(prefix="t2c_golden_run_", dir=TMP) as tmp:
            d = os.path.join(tmp, "g")
            p = subprocess.run([RUN, "--golden", d, "-q"], capture_output=True, text=True, timeout=300)
            if p.returncode == 2 and "no built-in default model" in p.stderr:
                self.skipTest("t2c-run has no built-in model")
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(d, "manifest.json")) as f:
                man = json.load(f)
            self.assertEqual(man["generator"], "t2c-run 0.1.0")
            self.assertTrue(man["model"]["path"].startswith("embedded:"))
            path = os.path.join(ROOT, "engine", "default_model", man["model"]["path"][len("embedded:"):])
            model = C.read(path)
            self.assertEqual({o["kernel"] for o in man["ops"]}, {"ref"})
            n = len(man["inputs"])
            self.assertGreater(n, 0)
            self.assertTrue(all(i["source"].startswith("embedded:samples/") for i in man["inputs"]))
            # the graph input each image had, from op 0's input files
            xs = []
            for k in range(n):
                e = [e for e in man["files"] if e["op_index"] == 0 and e["role"] == "input" and e["image"] == k][0]
                xs.append(stored_to_view(self, e, decode(self, d, e)))
            x = np.concatenate(xs).astype(R.NP_DTYPE[model.tensors[model.inputs[0]].dtype])
            ref = R.run(model, {model.inputs[0]: x})
            self.check_dump(d, model, ref, list(range(n)), formats=("hex",), model_file=path)
            # an unusable directory is refused before any image runs
            p = subprocess.run([RUN, "--golden", path + "/sub", "-q"], capture_output=True, text=True, timeout=300)
            self.assertEqual(p.returncode, 2)
            self.assertIn("cannot create directory", p.stderr)


if __name__ == "__main__":
    unittest.main()
