"""Tests of formats/python/t2c/container.py, alone and against the C reader/writer.

The C side is reached through tests/t2c_container_tool (built by meson; found through
T2C_BUILD_DIR). Hostile files are built byte by byte from the spec with the small encoder below,
so each reaches exactly the check it aims at; the Python reader must give the C reader's message.
"""
import json
import math
import os
import struct
import subprocess
import tempfile
import unittest
import zlib

import numpy as np

from t2c import container as tc
from t2c.container import Floats, FormatError, Ints, Limits, Model, Strings

BUILD = os.environ.get("T2C_BUILD_DIR", "")
TOOL = os.path.join(BUILD, "tests", "t2c_container_tool") if BUILD else ""
HAVE_TOOL = bool(TOOL) and os.access(TOOL, os.X_OK)
STATUS = {"format": 2, "unsupported": 3, "limit": 11}


# ------------------------------------------------------------------ spec encoder (independent)
def s_(text: str) -> bytes:
    b = text.encode()
    return struct.pack("<I", len(b)) + b


def tensor_entry(name, dtype, dims, storage=0, offset=0, size=0, crc=0, raw_name=None):
    out = (raw_name if raw_name is not None else s_(name)) + bytes([dtype, len(dims)])
    out += b"".join(struct.pack("<Q", d & (2**64 - 1)) for d in dims)
    out += bytes([storage])
    if storage:
        out += struct.pack("<QQI", offset, size, crc)
    return out


def craft(tables: bytes, data: bytes = b"") -> bytes:
    off = (64 + len(tables) + 63) // 64 * 64
    head = struct.pack("<8sHHIQQQI", b"T2CMODEL", 1, 0, 0, len(tables), off, len(data), zlib.crc32(tables))
    head += bytes(64 - len(head))
    return head + tables + bytes(off - 64 - len(tables)) + data


def one_tensor(name, dtype, dims, storage=0, offset=0, size=0, crc=0, data=b""):
    t = struct.pack("<II", 0, 1) + tensor_entry(name, dtype, dims, storage, offset, size, crc)
    return craft(t + bytes(12), data)


EMPTY4 = bytes(16)  # n_meta, n_tensors, n_inputs, n_outputs = 0


def sample_model(level=0) -> Model:
    m = Model()
    m.meta["model.name"] = "sample"
    m.meta["input.zero_point"] = -128
    m.meta["input.scale"] = 0.0078125
    m.meta["preprocess.crop"] = [224, 224]
    m.meta["preprocess.mean"] = (0.485, 0.456, 0.406)
    m.meta["labels"] = ["cat", "", "d\u00f6g"]
    m.meta["empty.ints"] = Ints([])
    m.meta["empty.floats"] = Floats([])
    m.meta["empty.strings"] = Strings([])
    m.add_tensor("x", "int8", (1, 4))
    m.add_tensor("w.int4", "int4", (5,), [-8, 7, -1, 0, 3], compress=level)
    m.add_tensor("w.uint4", "uint4", (7,), [15, 0, 9, 1, 2, 14, 8], compress=level)
    m.add_tensor("w.int8", "int8", (2, 3), np.array([[-128, 127, -1], [0, 1, -2]]), compress=level)
    m.add_tensor("w.uint8", "uint8", (3,), [255, 0, 128], compress=level)
    m.add_tensor("w.int16", "int16", (1, 3, 1), [-32768, 32767, -2], compress=level)
    m.add_tensor("w.int32", "int32", (2,), [-2**31, 2**31 - 1], compress=level)
    m.add_tensor("w.int64", "int64", (3,), [-2**63, 2**63 - 1, -1], compress=level)
    m.add_tensor("w.float32", "float32", (2,), [1.5, -0.25], compress=level)
    big = np.zeros((4, 32, 32), np.int8)
    big.reshape(-1)[::97] = -3
    m.add_tensor("w.big", "int8", big.shape, big, compress=level)
    big4 = np.zeros(1001, np.int8)
    big4[::13] = -8
    big4[5::7] = 7
    m.add_tensor("w.big4", "int4", (7, 11, 13), big4, compress=level)
    m.add_tensor("scalar", "int32", (), np.int32(-7))
    m.add_tensor("y", "int32", (1, 4))
    m.inputs, m.outputs = ["x"], ["y"]
    m.add_op("linear", "fc", ["x", "w.int8", ""], ["y"], stride=[1, 2], rounding="half_even", scale=0.1,
             acc_bits=32, attrs={"a.b": Strings(["p", "q"]), "mean": np.array([0.5, -2.25])})
    m.add_op("relu", "act", ["y"], [])
    return m


def run_tool(*args):
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=120)


class Scratch(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def expect(self, buf, status, msg, limits=None):
        with self.assertRaises(FormatError) as cm:
            tc.read(buf, name="m.t2c", limits=limits)
        self.assertEqual(str(cm.exception), msg)
        self.assertEqual(cm.exception.status, status)


# ------------------------------------------------------------------ Python alone
class TestBytes(Scratch):
    def test_exact_bytes(self):
        # the same hand-worked file as test_writer_exact_bytes in tests/test_container.c
        m = Model()
        m.meta["a"] = 1
        m.add_tensor("w", "int4", (3,), [-1, 2, -8])
        b = tc.to_bytes(m)
        self.assertEqual(len(b), 194)
        self.assertEqual(b[:8], b"T2CMODEL")
        self.assertEqual(struct.unpack_from("<HHIQQQI", b, 8), (1, 0, 0, 70, 192, 2, 0x6432BB47))
        self.assertEqual(b[44:64], bytes(20))
        want_tables = (b"\x01\x00\x00\x00" + b"\x01\x00\x00\x00a" + b"\x01" + struct.pack("<q", 1)
                       + b"\x01\x00\x00\x00" + b"\x01\x00\x00\x00w" + b"\x01\x01" + struct.pack("<q", 3)
                       + b"\x01" + struct.pack("<QQ", 0, 2) + bytes([0xA0, 0xA2, 0x1E, 0x5D]) + bytes(12))
        self.assertEqual(b[64:134], want_tables)
        self.assertEqual(b[134:192], bytes(58))
        self.assertEqual(b[192:], bytes([0x2F, 0x08]))  # -1 | 2 << 4, -8 | pad 0
        r = tc.read(b)
        self.assertEqual(r.tensors["w"].data.tolist(), [-1, 2, -8])
        self.assertEqual(r.tensors["w"].data.dtype, np.int8)

    def test_empty_model(self):
        b = tc.to_bytes(Model())
        self.assertEqual(len(b), 128)
        self.assertEqual(struct.unpack_from("<QQQ", b, 16), (20, 128, 0))

    def test_round_trip(self):
        for level in (0, 19):
            m = sample_model(level)
            b = tc.to_bytes(m)
            r = tc.read(b)
            self.assertEqual(tc.to_bytes(r), b, "read -> write reproduces the bytes")
            self.assertEqual(r.meta["preprocess.crop"], [224, 224])
            self.assertIsInstance(r.meta["preprocess.crop"], Ints)
            self.assertIsInstance(r.meta["preprocess.mean"], Floats)
            self.assertEqual(r.meta["preprocess.mean"], [0.485, 0.456, 0.406])
            self.assertEqual(r.meta["labels"], ["cat", "", "d\u00f6g"])
            self.assertIsInstance(r.meta["empty.floats"], Floats)
            self.assertIsInstance(r.meta["empty.strings"], Strings)
            self.assertEqual(r.meta["input.zero_point"], -128)
            self.assertIsInstance(r.meta["input.scale"], float)
            for name, t in m.tensors.items():
                rt = r.tensors[name]
                self.assertEqual((rt.dtype, rt.shape), (t.dtype, t.shape))
                if t.data is None:
                    self.assertIsNone(rt.data)
                    self.assertEqual(rt.storage, "none")
                else:
                    self.assertEqual(rt.data.dtype, tc.MEM_DTYPE[t.dtype])
                    np.testing.assert_array_equal(rt.data, np.asarray(t.data).reshape(t.shape))
            self.assertEqual(r.tensors["w.int4"].storage, "raw")  # 3 bytes: zstd is never smaller
            self.assertEqual(r.tensors["w.big"].storage, "zstd" if level else "raw")
            self.assertEqual(r.tensors["w.big4"].storage, "zstd" if level else "raw")
            self.assertEqual(r.tensors["scalar"].data.shape, ())
            self.assertEqual(int(r.tensors["scalar"].data), -7)
            op = r.ops[0]
            self.assertEqual((op.type, op.name, op.inputs, op.outputs), ("linear", "fc", ["x", "w.int8", ""], ["y"]))
            self.assertEqual(list(op.attrs), ["a.b", "mean", "stride", "rounding", "scale", "acc_bits"])
            self.assertEqual(op.attrs["mean"], [0.5, -2.25])
            self.assertEqual(op.attrs["scale"], 0.1)
            self.assertEqual(r.inputs, ["x"])
            self.assertEqual(r.ops[1].outputs, [])

    def test_value_typing(self):
        m = Model()
        m.meta.update({"i": 3, "b": True, "f": 2.0, "s": "x", "li": [1, np.int64(2)], "lf": [1, 2.5],
                       "ls": ("a", "b"), "ai": np.arange(3, dtype=np.uint8), "af": np.array([0.5], np.float32),
                       "ni": np.int16(-4), "nf": np.float32(0.25)})
        r = tc.read(tc.to_bytes(m))
        self.assertEqual(r.meta, {"i": 3, "b": 1, "f": 2.0, "s": "x", "li": [1, 2], "lf": [1.0, 2.5],
                                  "ls": ["a", "b"], "ai": [0, 1, 2], "af": [0.5], "ni": -4, "nf": 0.25})
        self.assertIsInstance(r.meta["f"], float)
        self.assertIsInstance(r.meta["lf"], Floats)
        self.assertIsInstance(r.meta["li"], Ints)
        for bad, msg in (([], "empty list"), ([1, "a"], "mixes types"), (float("nan"), "not finite"),
                         ([1.0, math.inf], "float #1 is not finite"), ({"a": 1}, "cannot store"),
                         (2**63, "does not fit in int64"), ("a\0b", "NUL"), (np.zeros((2, 2)), "1-D")):
            m = Model(meta={"k": bad})
            with self.assertRaises(ValueError) as cm:
                tc.to_bytes(m)
            self.assertIn(msg, str(cm.exception))

    def test_writer_rejects(self):
        cases = [
            (lambda m: m.add_tensor("t", "int4", (2,), [0, 8]), "t2c writer: tensor 't': an element is outside the int4 range"),
            (lambda m: m.add_tensor("t", "uint4", (1,), [-1]), "t2c writer: tensor 't': an element is outside the uint4 range"),
            (lambda m: m.add_tensor("t", "int8", (0,)), "t2c writer: tensor 't': dim 0 = 0 is outside 1..2^40"),
            (lambda m: m.add_tensor("t", "int8", (1,) * 9), "t2c writer: tensor 't': rank 9 is outside 0..8"),
            (lambda m: m.add_tensor("t", "int8", (2**40, 512)), "t2c writer: tensor 't': element count exceeds 2^48"),
            (lambda m: m.add_tensor("t", "int8", (1,), [1], compress=99), "t2c writer: tensor 't': zstd level 99 is outside"),
            (lambda m: m.add_tensor("t", "int8", (1,), [0.5]), "t2c writer: tensor 't': int8 data must be integers"),
            (lambda m: m.add_op("relu", "r", ["x"], ["y"], e=Ints([])),
             "t2c writer: op 'r': attribute 'e': empty array (arrays may be empty only in metadata)"),
            (lambda m: m.add_op("relu", "r", ["x"], [""]), "t2c writer: op 'r': output #0 is empty"),
            (lambda m: m.add_op("relu", "", ["x"], ["y"]), "t2c writer: op name is empty"),
            (lambda m: m.inputs.append(""), "t2c writer: graph input #0 is empty"),
            (lambda m: m.meta.__setitem__("", 1), "t2c writer: metadata key is empty"),
            (lambda m: m.meta.__setitem__("k", "\udc80"), "t2c writer: metadata 'k': string value is not valid UTF-8"),
        ]
        for build, msg in cases:
            m = Model()
            build(m)
            with self.assertRaises(ValueError) as cm:
                tc.to_bytes(m)
            self.assertTrue(str(cm.exception).startswith(msg), (str(cm.exception), msg))
        m = Model()
        m.add_tensor("t", "int8", (1,))
        with self.assertRaises(ValueError):
            m.add_tensor("t", "int8", (1,))
        m.add_op("relu", "r", ["t"], ["u"])
        with self.assertRaises(ValueError):
            m.add_op("relu", "r", ["t"], ["u"])

    def test_write_file(self):
        p = self.path("m.t2c")
        m = sample_model(19)
        tc.write(m, p)
        with open(p, "rb") as f:
            self.assertEqual(f.read(), tc.to_bytes(m))
        mask = os.umask(0)
        os.umask(mask)
        self.assertEqual(os.stat(p).st_mode & 0o777, 0o666 & ~mask)
        self.assertEqual(tc.read(p).tensors["w.int8"].data.tolist(), [[-128, 127, -1], [0, 1, -2]])
        d = self.path("adir")
        os.mkdir(d)
        with self.assertRaises(OSError):
            tc.write(m, d)
        self.assertEqual([n for n in os.listdir(self.dir) if ".tmp." in n], [])
        with self.assertRaises(FormatError) as cm:
            tc.read(p, limits=Limits(max_file_bytes=100))
        self.assertEqual(cm.exception.status, "limit")
        self.assertEqual(str(cm.exception), f"{p}: file is {os.path.getsize(p)} bytes, over the limit of 100")


class TestReject(Scratch):
    def test_header(self):
        good = tc.to_bytes(sample_model(0))
        n = len(good)
        self.expect(b"", "format", "m.t2c: file is empty")
        self.expect(good[:8], "format", "m.t2c: truncated header: file is 8 bytes, the header is 64")
        self.expect(b"X" + good[1:], "format", "m.t2c: not a .t2c file (bad magic)")
        b = bytearray(good)
        b[8] = 2
        self.expect(bytes(b), "unsupported", "m.t2c: unsupported format version 2.0 (this reader reads 1.x)")
        b = bytearray(good)
        b[10] = 7
        self.assertEqual(tc.read(bytes(b)).version, (1, 7))
        b = bytearray(good)
        b[12] = 1
        self.expect(bytes(b), "unsupported", "m.t2c: unsupported flags 0x00000001")
        b = bytearray(good)
        b[50] = 1
        self.expect(bytes(b), "format", "m.t2c: reserved header byte 50 is not zero")
        ts, doff, dsize, crc = struct.unpack_from("<QQQI", good, 16)
        b = bytearray(good)
        struct.pack_into("<Q", b, 24, doff + 1)
        self.expect(bytes(b), "format", f"m.t2c: data_offset {doff + 1} is not a multiple of 64")
        b = bytearray(good)
        struct.pack_into("<Q", b, 32, 2**64 - 6)
        self.expect(bytes(b), "format", "m.t2c: truncated file: data section of 18446744073709551610 bytes at "
                    f"offset {doff} ends past the end of the file ({n} bytes)")
        self.expect(good + b"abc", "format", "m.t2c: 3 unexpected bytes after the data section")
        b = bytearray(good)
        b[69] ^= 0x20
        self.expect(bytes(b), "format", f"m.t2c: tables CRC mismatch (stored 0x{crc:08x}, computed "
                    f"0x{zlib.crc32(bytes(b[64:64 + ts])):08x})")
        if 64 + ts < doff:
            b = bytearray(good)
            b[doff - 1] = 1
            self.expect(bytes(b), "format", f"m.t2c: padding byte at offset {doff - 1} before the data section is not zero")

    def test_every_prefix(self):
        good = tc.to_bytes(sample_model(19))
        ts, doff, dsize = struct.unpack_from("<QQQ", good, 16)
        for k in range(len(good)):
            if k == 0:
                msg = "m.t2c: file is empty"
            elif k < 64:
                msg = f"m.t2c: truncated header: file is {k} bytes, the header is 64"
            elif k < 64 + ts:
                msg = f"m.t2c: truncated file: tables section of {ts} bytes ends past the end of the file ({k} bytes)"
            else:
                msg = (f"m.t2c: truncated file: data section of {dsize} bytes at offset {doff} ends past the end "
                       f"of the file ({k} bytes)")
            self.expect(good[:k], "format", msg)

    def test_shapes_and_codes(self):
        e = self.expect
        e(one_tensor("t", 3, [2, 0]), "format", "m.t2c: tensor 't': dim 1 = 0 is outside 1..2^40")
        e(one_tensor("t", 3, [2**62]), "format", "m.t2c: tensor 't': dim 0 = 4611686018427387904 is outside 1..2^40")
        e(one_tensor("t", 3, [-1]), "format", "m.t2c: tensor 't': dim 0 = -1 is outside 1..2^40")
        e(one_tensor("t", 3, [2**40] * 3), "format", "m.t2c: tensor 't': element count exceeds 2^48")
        e(one_tensor("t", 3, [2**40, 256]), "limit",
          "m.t2c: tensor 't': 281474976710656 bytes in memory exceed the limit of 4294967296")
        e(one_tensor("t", 3, [1] * 9), "format", "m.t2c: tensor 't': rank 9 exceeds 8")
        e(one_tensor("t", 9, [1]), "unsupported", "m.t2c: tensor 't': unknown dtype 9")
        e(one_tensor("t", 3, [1], storage=3), "unsupported", "m.t2c: tensor 't': unknown storage 3")
        e(one_tensor("a\nb", 9, [1]), "unsupported", "m.t2c: tensor 'a\\x0ab': unknown dtype 9")
        e(one_tensor("x" * 70, 9, [1]), "unsupported", f"m.t2c: tensor '{'x' * 64}...': unknown dtype 9")

    def test_payloads(self):
        e = self.expect
        data = bytes([1, 2, 3, 4]) + bytes(252)
        c4 = zlib.crc32(data[:4])
        self.assertEqual(tc.read(one_tensor("w1", 3, [4], 1, 0, 4, c4, data[:4])).tensors["w1"].data.tolist(),
                         [1, 2, 3, 4])
        e(one_tensor("w1", 3, [4], 1, 0, 10, c4, data[:8]), "format",
          "m.t2c: tensor 'w1': stored size 10 at offset 0 exceeds data section (8 bytes)")
        e(one_tensor("w1", 3, [4], 1, 128, 4, c4, data[:8]), "format",
          "m.t2c: tensor 'w1': payload offset 128 is past the end of the data section (8 bytes)")
        e(one_tensor("w1", 3, [4], 1, 4, 4, c4, data[:8]), "format",
          "m.t2c: tensor 'w1': payload offset 4 is not a multiple of 64")
        e(one_tensor("w1", 3, [4], 1, 0, 3, zlib.crc32(data[:3]), data[:4]), "format",
          "m.t2c: tensor 'w1': raw payload is 3 bytes, expected 4 (4 int8 elements)")
        e(one_tensor("w1", 3, [4], 1, 0, 4, c4 ^ 1, data[:4]), "format",
          f"m.t2c: tensor 'w1': payload CRC mismatch (stored 0x{c4 ^ 1:08x}, computed 0x{c4:08x})")
        p = bytes([0x21, 0x13])
        e(one_tensor("q", 1, [3], 1, 0, 2, zlib.crc32(p), p), "format", "m.t2c: tensor 'q': int4 pad nibble is not zero")
        e(one_tensor("q", 2, [3], 1, 0, 2, zlib.crc32(p), p), "format", "m.t2c: tensor 'q': uint4 pad nibble is not zero")
        p = bytes([0x9F, 0x03])
        r = tc.read(one_tensor("q", 1, [3], 1, 0, 2, zlib.crc32(p), p))
        self.assertEqual(r.tensors["q"].data.tolist(), [-1, -7, 3])
        r = tc.read(one_tensor("q", 2, [3], 1, 0, 2, zlib.crc32(p), p))
        self.assertEqual(r.tensors["q"].data.tolist(), [15, 9, 3])

    def test_zstd(self):
        e = self.expect
        z = tc._zstd().compress(bytes([5, 6, 7, 8]), 3)
        cz = zlib.crc32(z)
        self.assertEqual(tc.read(one_tensor("z", 3, [4], 2, 0, len(z), cz, z)).tensors["z"].data.tolist(), [5, 6, 7, 8])
        e(one_tensor("z", 3, [3], 2, 0, len(z), cz, z), "format",
          "m.t2c: tensor 'z': zstd content size 4 does not match the raw size 3 (3 int8 elements)")
        e(one_tensor("z", 1, [5], 2, 0, len(z), cz, z), "format",
          "m.t2c: tensor 'z': zstd content size 4 does not match the raw size 3 (5 int4 elements)")
        raw = bytes([5, 6, 7, 8])
        e(one_tensor("z", 3, [4], 2, 0, 4, zlib.crc32(raw), raw), "format", "m.t2c: tensor 'z': payload is not a zstd frame")
        e(one_tensor("z", 3, [4], 2, 0, 2 * len(z), zlib.crc32(z + z), z + z), "format",
          f"m.t2c: tensor 'z': {len(z)} bytes after the zstd frame")
        with self.assertRaises(FormatError) as cm:
            tc.read(one_tensor("z", 3, [4], 2, 0, len(z) - 1, zlib.crc32(z[:-1]), z[:-1]), name="m.t2c")
        self.assertTrue(str(cm.exception).startswith("m.t2c: tensor 'z': corrupt zstd frame ("))
        z4 = tc._zstd().compress(bytes([0x21, 0x43, 0x65]), 3)
        e(one_tensor("z", 1, [5], 2, 0, len(z4), zlib.crc32(z4), z4), "format",
          "m.t2c: tensor 'z': int4 pad nibble is not zero")

    def test_values_strings_duplicates(self):
        e = self.expect
        nan = struct.pack("<d", math.nan)
        e(craft(struct.pack("<I", 1) + s_("input.scale") + b"\x02" + nan + bytes(16)), "format",
          "m.t2c: metadata 'input.scale': float value is not finite")
        op = s_("requantize") + s_("rq") + b"\x00\x00" + struct.pack("<H", 1) + s_("scales") + b"\x05" + \
            struct.pack("<Idd", 2, 1.0, -math.inf)
        e(craft(EMPTY4 + struct.pack("<I", 1) + op), "format", "m.t2c: op 'rq': attribute 'scales': float #1 is not finite")
        e(craft(struct.pack("<I", 1) + s_("k") + b"\x07" + bytes(16)), "unsupported", "m.t2c: metadata 'k': unknown value type 7")
        op = s_("conv2d") + s_("c") + b"\x00\x00" + struct.pack("<H", 1) + s_("stride") + b"\x04" + struct.pack("<I", 0)
        e(craft(EMPTY4 + struct.pack("<I", 1) + op), "format",
          "m.t2c: op 'c': attribute 'stride': empty array (arrays may be empty only in metadata)")
        t = struct.pack("<II", 0, 1) + tensor_entry("", 3, [1], raw_name=struct.pack("<I", 3) + b"a\0b") + bytes(12)
        e(craft(t), "format", "m.t2c: tensor #0: name contains a NUL byte")
        e(craft(struct.pack("<I", 1) + s_("model.name") + b"\x03" + struct.pack("<I", 2) + b"\xc0\xaf" + bytes(16)),
          "format", "m.t2c: metadata 'model.name': string value is not valid UTF-8")
        e(craft(EMPTY4 + struct.pack("<I", 1) + s_("relu") + s_("") + b"\x00\x00\x00\x00"), "format",
          "m.t2c: op #0: name is empty")
        e(craft(struct.pack("<II", 1, 70000) + bytes(16)), "format",
          "m.t2c: metadata #0: key: string length 70000 exceeds 65535")
        e(craft(struct.pack("<III", 0, 1, 50) + b"abcdefghij"), "format",
          "m.t2c: tensor #0: truncated tables section: name needs 50 bytes at offset 76, 10 left")
        t = struct.pack("<II", 0, 3) + b"".join(tensor_entry(n, 3, [1]) for n in "aba") + bytes(12)
        e(craft(t), "format", "m.t2c: tensor 'a': duplicate tensor name (also tensor #0)")
        kv = s_("k") + b"\x01" + struct.pack("<q", 1)
        e(craft(struct.pack("<I", 2) + kv + kv + bytes(16)), "format", "m.t2c: metadata 'k': duplicate key (also metadata #0)")
        op = s_("relu") + s_("r") + b"\x00\x00\x00\x00"
        e(craft(EMPTY4 + struct.pack("<I", 2) + op + op), "format", "m.t2c: op 'r': duplicate op name (also op #0)")
        op = s_("relu") + s_("r") + b"\x00\x00" + struct.pack("<H", 3) + s_("x") + b"\x01" + bytes(8) + \
            s_("y") + b"\x01" + bytes(8) + s_("x") + b"\x03" + s_("")
        e(craft(EMPTY4 + struct.pack("<I", 1) + op), "format",
          "m.t2c: op 'r': attribute 'x': duplicate key (also attribute #0)")
        e(craft(bytes(20) + b"\xab\xcd"), "format", "m.t2c: 2 bytes left over at the end of the tables section")

    def test_counts_and_limits(self):
        e = self.expect
        e(craft(struct.pack("<II", 0x10000000, 0)), "format",
          "m.t2c: metadata: truncated tables section: metadata count 268435456 needs at least 2684354560 bytes at "
          "offset 68, 4 left")
        bad = craft(struct.pack("<II", 0, 0xFFFFFFFF))
        e(bad, "limit", "m.t2c: tensor table: tensor count 4294967295 exceeds the limit of 1000000")
        e(bad, "format", "m.t2c: tensor table: truncated tables section: tensor count 4294967295 needs at least "
          "34359738360 bytes at offset 72, 0 left", limits=Limits(max_tensors=0xFFFFFFFF))
        e(craft(EMPTY4 + struct.pack("<I", 1) + s_("add") + s_("a") + bytes([200]) + bytes(4)), "format",
          "m.t2c: op 'a': truncated tables section: input count 200 needs at least 800 bytes at offset 97, 4 left")
        good = tc.to_bytes(sample_model(0))
        e(good, "limit", "m.t2c: tensor table: tensor count 13 exceeds the limit of 12", Limits(max_tensors=12))
        e(good, "limit", "m.t2c: graph: op count 2 exceeds the limit of 1", Limits(max_ops=1))
        e(good, "limit", "m.t2c: tensor 'w.big': 4096 bytes in memory exceed the limit of 4095",
          Limits(max_tensor_bytes=4095))
        e(good, "limit", f"m.t2c: file is {len(good)} bytes, over the limit of 1000", Limits(max_file_bytes=1000))
        tc.read(good, limits=Limits(max_file_bytes=len(good), max_tensor_bytes=4096, max_tensors=13, max_ops=2))


# ------------------------------------------------------------------ against the C reader and writer
@unittest.skipUnless(HAVE_TOOL, "tests/t2c_container_tool not built (set T2C_BUILD_DIR)")
class TestAgainstC(Scratch):
    def c_summary(self, path):
        r = run_tool("summary", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def compare_summary(self, s, m: Model):
        def typed(v):
            t, val = tc._typed(v, "")
            return [None, "int", "float", "string", "ints", "floats", "strings"][t], val

        self.assertEqual([(a["name"], a["type"], a["value"]) for a in s["meta"]],
                         [(k,) + typed(v) for k, v in m.meta.items()])
        self.assertEqual([t["name"] for t in s["tensors"]], list(m.tensors))
        for st in s["tensors"]:
            t = m.tensors[st["name"]]
            self.assertEqual((st["dtype"], tuple(st["shape"])), (t.dtype, tuple(t.shape)))
            if t.data is None:
                self.assertEqual(st["storage"], "none")
                self.assertNotIn("data", st)
            else:
                want = np.asarray(t.data).reshape(-1)
                if t.dtype == "float32":
                    want = want.astype(np.float32).astype(float)
                self.assertEqual(st["data"], want.tolist(), st["name"])
        self.assertEqual((s["inputs"], s["outputs"]), (m.inputs, m.outputs))
        self.assertEqual(len(s["ops"]), len(m.ops))
        for so, op in zip(s["ops"], m.ops):
            self.assertEqual((so["type"], so["name"], so["inputs"], so["outputs"]),
                             (op.type, op.name, op.inputs, op.outputs))
            self.assertEqual([(a["name"], a["type"], a["value"]) for a in so["attrs"]],
                             [(k,) + typed(v) for k, v in op.attrs.items()])

    def test_python_written_read_by_c_and_rewritten_identically(self):
        for level in (0, 3, 19):
            m = sample_model(level)
            p, q = self.path(f"py{level}.t2c"), self.path(f"c{level}.t2c")
            tc.write(m, p)
            r = run_tool("rewrite", p, q, str(level or 19))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.compare_summary(json.loads(r.stdout), m)
            with open(p, "rb") as f1, open(q, "rb") as f2:
                self.assertEqual(f1.read(), f2.read(), f"C writer bytes differ from Python writer (level {level})")
            storages = {t["name"]: t["storage"] for t in json.loads(r.stdout)["tensors"]}
            self.assertEqual(storages["w.big"], "zstd" if level else "raw")

    def test_c_written_read_by_python(self):
        p = self.path("sample.t2c")
        r = run_tool("sample", p)
        self.assertEqual(r.returncode, 0, r.stderr)
        m = tc.read(p)
        # values written by t2c_container_tool.c's sample()
        self.assertEqual(m.meta["model.name"], "sample")
        self.assertEqual(m.meta["input.zero_point"], -128)
        self.assertEqual(m.meta["input.scale"], 0.0078125)
        self.assertEqual(m.meta["preprocess.crop"], [-1, 0, 9007199254740993])
        self.assertEqual(m.meta["preprocess.mean"], [0.5, -2.25])
        self.assertEqual(m.meta["labels"], ["cat", "", "d\u00f6g"])
        self.assertEqual(m.meta["empty"], [])
        self.assertIsInstance(m.meta["empty"], Ints)
        t = m.tensors
        self.assertEqual(t["w_int4"].data.tolist(), [-8, 7, -1, 0, 3])
        self.assertEqual(t["w_uint4"].data.tolist(), [15, 0, 9])
        self.assertEqual(t["w_int8"].data.tolist(), [[-128, 127], [-1, 0]])
        self.assertEqual(t["w_uint8"].data.tolist(), [255, 1])
        self.assertEqual(t["w_int16"].data.reshape(-1).tolist(), [-32768, 32767, -2])
        self.assertEqual(t["w_int32"].data.tolist(), [-2**31, 123456789])
        self.assertEqual(t["w_int64"].data.tolist(), [-2**63, 2**63 - 1])
        self.assertEqual(t["w_float32"].data.tolist(), [1.5, -0.25])
        self.assertEqual(t["w_zstd"].storage, "zstd")
        self.assertEqual(int(t["w_zstd"].data.sum()), 5)
        self.assertEqual(t["w_zstd"].data[9, 99], 5)
        self.assertIsNone(t["x"].data)
        self.assertEqual(m.ops[0].attrs, {"stride": [1, 2], "rounding": "half_even", "scale": 0.1, "acc_bits": 32})
        self.assertEqual(m.ops[0].inputs, ["x", "w_int8", ""])
        with open(p, "rb") as f:
            self.assertEqual(tc.to_bytes(m), f.read(), "Python writer bytes differ from the C writer")
        self.compare_summary(self.c_summary(p), m)

    def test_same_messages_as_c(self):
        good = tc.to_bytes(sample_model(19))
        ts, doff = struct.unpack_from("<QQ", good, 16)
        files = {"empty": b"", "short": good[:30], "prefix_tables": good[:64 + ts // 2],
                 "prefix_data": good[:-1], "magic": b"Y" + good[1:], "trailing": good + b"\0"}
        b = bytearray(good)
        b[8] = 3
        files["version"] = bytes(b)
        b = bytearray(good)
        b[100] ^= 1
        files["crc"] = bytes(b)
        b = bytearray(good)
        b[doff] ^= 1
        files["payload_crc"] = bytes(b)
        # every tables byte flipped with the CRC fixed: both readers must agree on each
        for i in range(64, 64 + ts, 3):
            b = bytearray(good)
            b[i] ^= 0xFF
            struct.pack_into("<I", b, 40, zlib.crc32(bytes(b[64:64 + ts])))
            files[f"flip{i}"] = bytes(b)
        files["dims"] = one_tensor("t", 3, [2**40] * 3)
        files["dtype"] = one_tensor("t\x01", 9, [1])
        files["name70"] = one_tensor("\u00e9" * 40, 9, [1])
        z = tc._zstd().compress(bytes([5, 6, 7, 8]), 3)
        files["zstd"] = one_tensor("z", 3, [3], 2, 0, len(z), zlib.crc32(z), z)
        agree = 0
        for label, data in files.items():
            p = self.path(label + ".t2c")
            with open(p, "wb") as f:
                f.write(data)
            r = run_tool("summary", p)
            try:
                tc.read(p)
                py_msg, py_status = None, 0
            except FormatError as e:
                py_msg, py_status = str(e), STATUS[e.status]
            if r.returncode == 0:
                self.assertIsNone(py_msg, label)
                self.compare_summary(json.loads(r.stdout), tc.read(p))
            else:
                self.assertEqual(py_msg, r.stderr.strip(), label)
                self.assertEqual(py_status, r.returncode, label)
                agree += 1
        self.assertGreater(agree, len(files) // 2)


if __name__ == "__main__":
    unittest.main()
