"""t2c-golden --crc: per-file and per-tile CRCs of the packed memory image, recomputed here.

The CRC below is a plain bitwise Rocksoft-model CRC written from the parameters recorded in the
manifest (nothing of golden/golden_crc.c); the packed memory image is rebuilt from the stored
elements (the .npy file: stored order with tile padding) following golden/README.md "Words" and
"raw", and cross-checked against the raw file's bytes.
"""
import json
import os
import subprocess
import tempfile
import unittest

import numpy as np

import test_py_golden as G


def crc_bitwise(data, width, poly, init, refin, refout, xorout):
    mask = (1 << width) - 1
    reg = init
    for byte in data:
        for i in range(8):
            bit = (byte >> i) & 1 if refin else (byte >> (7 - i)) & 1
            top = (reg >> (width - 1)) & 1
            reg = (reg << 1) & mask
            if top ^ bit:
                reg ^= poly
    if refout:
        reg = int(format(reg, "0%db" % width)[::-1], 2)
    return reg ^ xorout


def crc_of(c, data):
    return crc_bitwise(data, c["width"], int(c["poly"], 16), int(c["init"], 16), c["refin"], c["refout"],
                       int(c["xorout"], 16))


def pack_image(vals, bits, n, w, msb, pad):
    """Stored elements -> raw memory image: N elements per W-bit word, ceil(W/8) bytes LE."""
    vals = list(vals) + [pad] * ((-len(vals)) % n)
    out = bytearray()
    for j in range(0, len(vals), n):
        word = 0
        for k in range(n):
            v = int(vals[j + k]) & ((1 << bits) - 1)
            word |= v << ((n - 1 - k) * bits if msb else k * bits)
        out += word.to_bytes((w + 7) // 8, "little")
    return bytes(out)


class TestGoldenCrc(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(dir=G.TMP)
        cls.model = os.path.join(cls.tmp.name, "m.t2c")
        G.small_model(cls.model)
        cls.npy = os.path.join(cls.tmp.name, "x.npy")
        np.save(cls.npy, np.random.default_rng(7).integers(-128, 128, (2, 3, 6, 5)).astype(np.int8))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def dump(self, name, *args):
        d = os.path.join(self.tmp.name, name)
        rc, out, err = G.golden(self.model, self.npy, "--out", d, "-q", "-f", "raw,npy,hex", *args)
        self.assertEqual(rc, 0, err)
        with open(os.path.join(d, "manifest.json")) as f:
            return d, json.load(f)

    def check(self, d, m, want_params):
        self.assertEqual({k: m["options"]["crc"][k] for k in want_params}, want_params)
        files = m["files"]
        self.assertTrue(files)
        tile = m["options"]["layout"]["tile"]
        for e in files:
            c = e["crc"]
            self.assertEqual({k: c[k] for k in want_params}, want_params)
            self.assertEqual(c["over"], "packed_memory_image")
            self.assertEqual(int(c["check"], 16), crc_of(c, b"123456789"))
            # stored elements, tile padding included, from the file's own .npy twin
            npy = e["path"].rsplit(".", 1)[0] + ".npy"
            stored = np.load(os.path.join(d, npy))
            if e["float"]:
                stored = stored.view(np.uint32)
            stored = stored.ravel().astype(np.int64)
            self.assertEqual(stored.size, e["stored_elements"])
            # the run's packing (README "Words"), the same for every format of the tensor
            pk, b = m["options"]["packing"], e["bits"]
            n = pk["elems_per_word"] or (pk["word_bits"] // b if pk["word_bits"] else 1)
            w = pk["word_bits"] or n * b
            if e["format"] != "npy":
                self.assertEqual((e["elems_per_word"], e["word_bits"]), (n, w))
            msb = m["options"]["packing"]["word_order"] == "msb_first"
            image = pack_image(stored, e["bits"], n, w, msb, e["pad_value"])
            if e["format"] == "raw":
                with open(os.path.join(d, e["path"]), "rb") as f:
                    self.assertEqual(f.read(), image, e["path"])
            self.assertEqual(c["bytes"], len(image))
            self.assertEqual(int(c["value"], 16), crc_of(c, image), e["path"])
            # tiles: R*C stored elements (R for rank-1 blocked tensors), each packed alone
            if tile is None:
                t = stored.size
            else:
                t = tile[0] if len(e["layout"]["view_shape"]) == 1 else tile[0] * tile[1]
            self.assertEqual(c["tile_elements"], t)
            want = [crc_of(c, pack_image(stored[i:i + t], e["bits"], n, w, msb, e["pad_value"]))
                    for i in range(0, stored.size, t)]
            self.assertEqual([int(x, 16) for x in c["tiles"]], want, e["path"])
        return files

    def test_crc32_tiles(self):
        d, m = self.dump("c32", "--crc", "crc32", "--tile", "2x3", "--word-bits", "64", "--pad", "-3")
        files = self.check(d, m, {"name": "crc32", "width": 32, "poly": "04c11db7", "init": "ffffffff",
                                  "refin": True, "refout": True, "xorout": "ffffffff", "check": "cbf43926"})
        w = [e for e in files if e["op"] == "stem/conv" and e["role"] == "weight"][0]
        self.assertEqual(w["layout"]["stored_shape"], [4, 3, 2, 1, 2, 3])
        self.assertEqual(len(w["crc"]["tiles"]), 24)
        # a raw file without zstd: the whole-image CRC-32 is zlib's crc32 of the file
        raw = [e for e in files if e["format"] == "raw"]
        for e in raw:
            self.assertEqual(e["crc"]["value"], e["crc32"])

    def test_crc16_ccitt_msb_int4(self):
        d, m = self.dump("c16", "--crc", "crc16-ccitt", "--pack", "3", "--order", "msb", "-l", "gemm",
                         "--tile", "4x4")
        files = self.check(d, m, {"name": "crc16-ccitt", "width": 16, "poly": "1021", "init": "ffff",
                                  "refin": False, "refout": False, "xorout": "0000", "check": "29b1"})
        self.assertTrue(any(e["dtype"] == "int4" for e in files))
        self.assertTrue(any(e["dtype"] == "uint4" for e in files))

    def test_custom_untiled(self):
        spec = "custom:poly=0x80f,width=12,refin=0,refout=1,init=0x123,xorout=0xabc"
        d, m = self.dump("c12", "--crc", spec, "--ops", "stem*", "--ops", "fc")
        files = self.check(d, m, {"name": "custom", "width": 12, "poly": "80f", "init": "123", "refin": False,
                                  "refout": True, "xorout": "abc"})
        for e in files:
            self.assertEqual(len(e["crc"]["tiles"]), 1)
            self.assertEqual(e["crc"]["tiles"][0], e["crc"]["value"])

    def test_no_crc_and_errors(self):
        d, m = self.dump("none")
        self.assertIsNone(m["options"]["crc"])
        self.assertTrue(all("crc" not in e for e in m["files"]))
        for bad in ("crc64", "custom:poly=0x07,width=7", "custom:width=8", "custom:poly=0x107,width=8"):
            rc, out, err = G.golden(self.model, self.npy, "--out", os.path.join(self.tmp.name, "bad"), "-q",
                                    "--crc", bad)
            self.assertEqual(rc, 2, bad)
            self.assertIn("--crc", err)
            self.assertFalse(os.path.exists(os.path.join(self.tmp.name, "bad", "manifest.json")))


if __name__ == "__main__":
    unittest.main()


def xorshift(x):
    m = (1 << 64) - 1
    x ^= (x << 13) & m
    x ^= x >> 7
    x ^= (x << 17) & m
    return x


class TestGoldenAxis(unittest.TestCase):
    """--axis: beats decoded back to the stored elements; TLAST/TKEEP/TUSER placement."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(dir=G.TMP)
        cls.model = os.path.join(cls.tmp.name, "m.t2c")
        G.small_model(cls.model)
        cls.npy = os.path.join(cls.tmp.name, "x.npy")
        np.save(cls.npy, np.random.default_rng(9).integers(-128, 128, (1, 3, 6, 5)).astype(np.int8))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def dump(self, name, *args):
        d = os.path.join(self.tmp.name, name)
        rc, out, err = G.golden(self.model, self.npy, "--out", d, "-q", "-f", "npy", *args)
        self.assertEqual(rc, 0, err)
        with open(os.path.join(d, "manifest.json")) as f:
            return d, json.load(f)

    def check(self, d, m, B, tlast, pad=0, seed=None):
        self.assertEqual(m["options"]["axis"]["tdata_bytes"], B)
        streams = m["axis_streams"]
        npys = {(e["op_index"], e["role"], e["image"]): e for e in m["files"]}
        self.assertEqual(len(streams), len(npys))
        tile = m["options"]["layout"]["tile"]
        for s in streams:
            e = npys[(s["op_index"], s["role"], s["image"])]
            self.assertEqual(s["path"], e["path"][:-4] + ".axis")
            stored = np.load(os.path.join(d, e["path"])).ravel().astype(np.int64)
            b = e["bits"]
            lane = (b + 7) // 8
            per = B // lane
            self.assertEqual((s["lane_bytes"], s["elements_per_beat"]), (lane, per))
            if tlast == "frame":
                pk = stored.size
            elif tlast == "row":
                pk = e["layout"]["stored_shape"][-1]
            else:
                pk = tile[0] if len(e["layout"]["view_shape"]) == 1 else tile[0] * tile[1]
            self.assertEqual(s["packet_elements"], pk)
            with open(os.path.join(d, s["path"])) as f:
                lines = f.read().split("\n")
            self.assertEqual(lines[-1], "")
            lines = lines[:-1]
            self.assertEqual(len(lines), s["beats"])
            vals, count, x = [], 0, seed or 0x9E3779B97F4A7C15
            want_beats = []  # (elements in beat, last) from the packet rule
            for st in range(0, stored.size, pk):
                k = min(pk, stored.size - st)
                for j in range(0, k, per):
                    want_beats.append((min(per, k - j), j + per >= k))
            self.assertEqual(len(want_beats), len(lines))
            for i, (line, (k, last)) in enumerate(zip(lines, want_beats)):
                cols = line.split(" ")
                self.assertEqual(len(cols), 6 if seed is not None else 4, line)
                tdata, tkeep = cols[0], cols[1]
                self.assertEqual(len(tdata), 2 * B)
                self.assertEqual(len(tkeep), (B + 3) // 4)
                self.assertEqual(int(tkeep, 16), (1 << (k * lane)) - 1, line)
                self.assertEqual(int(cols[2]), int(last))
                self.assertEqual(int(cols[3]), int(i == 0))
                data = int(tdata, 16).to_bytes(B, "little")
                self.assertEqual(data[k * lane:], bytes(B - k * lane), line)  # unused lanes zero
                for j in range(k):
                    v = int.from_bytes(data[j * lane:(j + 1) * lane], "little")
                    if b == 4:
                        self.assertEqual(v >> 4, pad, line)
                        v &= 15
                    if e["signed"] and v >> (b - 1):
                        v -= 1 << b
                    vals.append(v)
                if seed is not None:
                    x = xorshift(x)
                    self.assertEqual((int(cols[4]), int(cols[5])), (x & 3, (x >> 2) & 3))
                count += last
            self.assertEqual(vals, stored.tolist(), s["path"])
            self.assertEqual(count, s["packets"])
        return streams

    def test_frame(self):
        d, m = self.dump("frame", "--axis", "8")
        st = self.check(d, m, 8, "frame")
        # int4 [1, 3, 6, 5]... one frame per file: exactly one TLAST, on the last line
        self.assertTrue(all(s["packets"] == 1 for s in st))
        self.assertTrue(any(s["dtype"] == "int4" for s in st))

    def test_row_int4_pad_throttle(self):
        d, m = self.dump("row", "--axis", "16", "--axis-tlast", "row", "--axis-pad", "10", "--axis-throttle", "77",
                         "-l", "nhwc")
        self.check(d, m, 16, "row", pad=10, seed=77)

    def test_tile(self):
        d, m = self.dump("tile", "--axis", "8", "--axis-tlast", "tile", "--tile", "3x2", "-l", "gemm", "--pad", "-2")
        st = self.check(d, m, 8, "tile")
        self.assertTrue(any(s["packets"] > 1 for s in st))

    def test_errors(self):
        for args in (["--axis", "0"], ["--axis", "8", "--axis-tlast", "tile"], ["--axis", "8", "--axis-pad", "16"],
                     ["--axis", "8", "--axis-tlast", "col"]):
            rc, out, err = G.golden(self.model, self.npy, "--out", os.path.join(self.tmp.name, "bad"), "-q", *args)
            self.assertEqual(rc, 2, args)
            self.assertIn("axis", err)
        # a 2-byte TDATA cannot hold an int32 lane: the write fails, no manifest
        bad = os.path.join(self.tmp.name, "bad2")
        rc, out, err = G.golden(self.model, self.npy, "--out", bad, "-q", "--axis", "2")
        self.assertEqual(rc, 1)
        self.assertIn("int32", err)
        self.assertFalse(os.path.exists(os.path.join(bad, "manifest.json")))


def psum_ref(x, w, b, S_k, order, xzp, wzp, bits, policy, strides=(1, 1), pads=(0, 0, 0, 0), dil=(1, 1),
             group=1):
    """Independent conv2d partial sums: x [Cin,H,W], w [Cout,Cg,KH,KW] -> [S, Cout, Ho, Wo]."""
    cin, H, W = x.shape
    cout, cg, kh, kw = w.shape
    ho = (H + pads[0] + pads[2] - dil[0] * (kh - 1) - 1) // strides[0] + 1
    wo = (W + pads[1] + pads[3] - dil[1] * (kw - 1) - 1) // strides[1] + 1
    xp = np.full((cin, H + pads[0] + pads[2], W + pads[1] + pads[3]), xzp, np.int64)
    xp[:, pads[0]:pads[0] + H, pads[1]:pads[1] + W] = x
    if order == "cin-kh-kw":
        terms = [(c, a, d) for c in range(cg) for a in range(kh) for d in range(kw)]
    else:
        terms = [(c, a, d) for a in range(kh) for d in range(kw) for c in range(cg)]
    K = len(terms)
    S = -(-K // S_k)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    out = np.zeros((S, cout, ho, wo), np.int64)

    def fix(v):
        if lo <= v <= hi:
            return v
        if policy == "saturate":
            return lo if v < lo else hi
        if policy == "wrap":
            return ((v - lo) % (1 << bits)) + lo
        raise OverflowError

    for co in range(cout):
        g = co // (cout // group)
        for oh in range(ho):
            for ow in range(wo):
                acc = fix(int(b[co]) if b is not None else 0)
                for t, (c, a, d) in enumerate(terms):
                    xv = int(xp[g * cg + c, oh * strides[0] + a * dil[0], ow * strides[1] + d * dil[1]])
                    acc = fix(acc + (xv - xzp) * (int(w[co, c, a, d]) - wzp))
                    if (t + 1) % S_k == 0 or t + 1 == K:
                        out[(t) // S_k, co, oh, ow] = acc
    return out


class TestGoldenPsum(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(dir=G.TMP)
        cls.model = os.path.join(cls.tmp.name, "m.t2c")
        cls.m = G.small_model(cls.model)
        cls.x = np.random.default_rng(11).integers(-128, 128, (2, 3, 6, 5)).astype(np.int8)
        cls.npy = os.path.join(cls.tmp.name, "x.npy")
        np.save(cls.npy, cls.x)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def dump(self, model, npy, name, *args):
        d = os.path.join(self.tmp.name, name)
        rc, out, err = G.golden(model, npy, "--out", d, "-q", "-f", "npy", *args)
        self.assertEqual(rc, 0, err)
        with open(os.path.join(d, "manifest.json")) as f:
            return d, json.load(f)

    def load(self, d, m, op, role, image):
        e = [e for e in m["files"] if e["op"] == op and e["role"] == role and e["image"] == image]
        self.assertEqual(len(e), 1, (op, role, image))
        return e[0], np.load(os.path.join(d, e[0]["path"]))

    def test_small_model_orders(self):
        for order in ("cin-kh-kw", "kh-kw-cin"):
            d, m = self.dump(self.model, self.npy, order, "--psum-k", "4", "--psum-order", order)
            self.assertEqual(m["options"]["psum"], {"k_slice": 4, "order": order})
            for img in (0, 1):
                e, ps = self.load(d, m, "stem/conv", "psum", img)
                _, x = self.load(d, m, "stem/conv", "input", img)
                _, w = self.load(d, m, "stem/conv", "weight", None)
                _, b = self.load(d, m, "stem/conv", "bias", None)
                _, y = self.load(d, m, "stem/conv", "output", img)
                want = psum_ref(x[0].astype(np.int64), w.astype(np.int64), b, 4, order, 2, 0, 32, "error",
                                pads=(1, 1, 1, 1))
                self.assertEqual(ps.shape, (7, 1, 4, 6, 5))  # K = 27 -> 7 slices; [S, 1, Cout, Ho, Wo]
                self.assertEqual(e["shape"], [7, 1, 4, 6, 5])
                self.assertTrue(np.array_equal(ps[:, 0], want))
                self.assertTrue(np.array_equal(ps[-1], y))  # exact int32: the order does not matter
                # grouped, strided, int4 with zero points
                _, ps2 = self.load(d, m, "dw", "psum", img)
                _, x2 = self.load(d, m, "dw", "input", img)
                _, w2 = self.load(d, m, "dw", "weight", None)
                _, y2 = self.load(d, m, "dw", "output", img)
                want2 = psum_ref(x2[0].astype(np.int64), w2.astype(np.int64), None, 4, order, -1, 1, 32, "error",
                                 strides=(2, 1), pads=(0, 1, 0, 1), group=2)
                self.assertTrue(np.array_equal(ps2[:, 0], want2))
                self.assertTrue(np.array_equal(ps2[-1], y2))
                # linear: K = 4, slices of 4 -> one slice = the output
                _, ps3 = self.load(d, m, "fc", "psum", img)
                _, y3 = self.load(d, m, "fc", "output", img)
                self.assertEqual(ps3.shape, (1, 1, 3))
                self.assertTrue(np.array_equal(ps3[0], y3))

    def test_saturating_order(self):
        """A 12-bit saturating accumulator: the declared order defines the answer."""
        from t2c import container as C
        path = os.path.join(self.tmp.name, "sat.t2c")
        mm = C.Model()
        mm.add_tensor("x", "int8", (1, 2, 3, 3))
        wv = np.array([[[[127, 127], [-128, -128]], [[127, -128], [127, -128]]]], np.int8)  # [1, 2, 2, 2]
        mm.add_tensor("w", "int8", (1, 2, 2, 2), data=wv)
        mm.add_tensor("y", "int32", (1, 1, 2, 2))
        mm.add_op("conv2d", "c", ["x", "w"], ["y"], acc_bits=12, overflow="saturate")
        mm.inputs, mm.outputs = ["x"], ["y"]
        C.write(mm, path)
        x = np.array([[[[100, 100, -100], [-100, 50, 7], [1, 2, 3]], [[90, -90, 5], [80, -80, 6], [0, 1, 2]]]],
                     np.int8)
        npy = os.path.join(self.tmp.name, "sx.npy")
        np.save(npy, x)
        res = {}
        for order in ("cin-kh-kw", "kh-kw-cin"):
            d, m = self.dump(path, npy, "sat" + order, "--psum-k", "3", "--psum-order", order)
            _, ps = self.load(d, m, "c", "psum", 0)
            _, y = self.load(d, m, "c", "output", 0)
            want = psum_ref(x[0].astype(np.int64), wv.astype(np.int64), None, 3, order, 0, 0, 12, "saturate")
            self.assertEqual(ps.shape, (3, 1, 1, 2, 2))
            self.assertTrue(np.array_equal(ps[:, 0], want))
            self.assertTrue(want.max() == 2047 or want.min() == -2048)  # the accumulator saturated
            if order == "cin-kh-kw":
                self.assertTrue(np.array_equal(ps[-1], y))  # the op's own order
            res[order] = ps[:, 0, 0, 1, 0]
        # hand-worked output (oh 1, ow 0), slices of 3, clamp to [-2048, 2047] after every step:
        # cin-kh-kw: -12700→-2048, +6350→2047, -128→1919 | -256→1663, +10160→2047, +10240→2047 |
        #            +0→2047, -128→1919
        # kh-kw-cin: -12700→-2048, +10160→2047, +6350→2047 | +10240→2047, -128→1919, +0→1919 |
        #            -256→1663, -128→1535
        self.assertEqual(res["cin-kh-kw"].tolist(), [1919, 2047, 1919])
        self.assertEqual(res["kh-kw-cin"].tolist(), [2047, 1919, 1535])

    def test_errors(self):
        for args in (["--psum-k", "0"], ["--psum-order", "kw-kh-cin"]):
            rc, out, err = G.golden(self.model, self.npy, "--out", os.path.join(self.tmp.name, "bad"), "-q", *args)
            self.assertEqual(rc, 2, args)
            self.assertIn("psum", err)
