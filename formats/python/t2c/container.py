"""Reading and writing the .t2c container (formats/t2c-format.md) in Python.

numpy only, plus libzstd through ctypes so that compressed payloads are byte-identical to the
C writer's (both call ZSTD_compress of the same library at the same level).

    m = Model()
    m.meta["model.name"] = "tiny"
    m.add_tensor("x", "int8", (1, 4))
    m.add_tensor("w", "int4", (3, 4), data=np.zeros((3, 4), np.int8), compress=19)
    m.add_op("linear", "fc", ["x", "w"], ["y"], acc_bits=32)
    m.inputs, m.outputs = ["x"], ["y"]
    write(m, "tiny.t2c")
    m2 = read("tiny.t2c")

Value typing (metadata and attributes): int -> int, float -> float, str -> string, a list, tuple
or 1-D array of ints -> ints, of floats (ints allowed among them) -> floats, of str -> strings.
Empty lists need a wrapper: Ints([]), Floats([]), Strings([]). The reader returns scalars as
int/float/str and arrays as Ints/Floats/Strings (list subclasses that compare equal to lists).

`read` validates like the C reader (formats/container_read.c) and raises FormatError whose
message is the C reader's message for the same file, word for word; `status` is 'format',
'unsupported' or 'limit' (the t2c_status it corresponds to).
"""

import ctypes
import ctypes.util
import math
import os
import struct
import tempfile
import zlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

__all__ = [
    "FormatError", "Limits", "Ints", "Floats", "Strings", "Tensor", "Op", "Model",
    "read", "to_bytes", "write", "DTYPES", "DEFAULT_LEVEL",
]

MAGIC = b"T2CMODEL"
VERSION = (1, 0)
HEADER_SIZE = 64
ALIGN = 64
MAX_STR = 65535
MAX_RANK = 8
MAX_DIM = 1 << 40
MAX_NUMEL = 1 << 48
DEFAULT_LEVEL = 19
INT_MAX = 2**31 - 1

DTYPES = {1: "int4", 2: "uint4", 3: "int8", 4: "uint8", 5: "int16", 6: "int32", 7: "int64", 8: "float32"}
DTYPE_CODES = {v: k for k, v in DTYPES.items()}
STORAGES = ("none", "raw", "zstd")
# in memory: one element per item (int4 -> int8, uint4 -> uint8)
MEM_DTYPE = {"int4": np.int8, "uint4": np.uint8, "int8": np.int8, "uint8": np.uint8, "int16": np.int16,
             "int32": np.int32, "int64": np.int64, "float32": np.float32}
FILE_DTYPE = {"int8": "<i1", "uint8": "<u1", "int16": "<i2", "int32": "<i4", "int64": "<i8",
              "float32": "<f4"}
RANGE = {"int4": (-8, 7), "uint4": (0, 15), "int8": (-128, 127), "uint8": (0, 255),
         "int16": (-32768, 32767), "int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1)}

T_INT, T_FLOAT, T_STRING, T_INTS, T_FLOATS, T_STRINGS = 1, 2, 3, 4, 5, 6


class FormatError(ValueError):
    """A file the reader rejects. `status`: 'format', 'unsupported', 'limit' or 'nomem'."""

    def __init__(self, message: str, status: str = "format"):
        super().__init__(message)
        self.status = status


class Ints(list):
    """An int array value (use for empty arrays, whose type cannot be guessed)."""


class Floats(list):
    """A float array value."""


class Strings(list):
    """A string array value."""


@dataclass
class Limits:
    """As t2c_load_limits: 0 means the default."""
    max_file_bytes: int = 0
    max_tensor_bytes: int = 0
    max_tensors: int = 0
    max_ops: int = 0

    def resolved(self) -> "Limits":
        return Limits(self.max_file_bytes or 8 << 30, self.max_tensor_bytes or 4 << 30,
                      self.max_tensors or 1000000, self.max_ops or 1000000)


@dataclass
class Tensor:
    name: str
    dtype: str                      # 'int4', 'uint4', 'int8', ..., 'float32'
    shape: Tuple[int, ...]
    data: Optional[np.ndarray] = None  # unpacked (int4 as int8, uint4 as uint8); None = activation
    compress: int = 0               # zstd level; 0 = raw. Read files give DEFAULT_LEVEL for zstd.
    storage: str = ""               # set by read(): 'none', 'raw' or 'zstd'


@dataclass
class Op:
    type: str
    name: str
    inputs: List[str] = field(default_factory=list)   # "" = omitted optional input
    outputs: List[str] = field(default_factory=list)
    attrs: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Model:
    meta: Dict[str, Any] = field(default_factory=dict)
    tensors: Dict[str, Tensor] = field(default_factory=dict)
    inputs: List[str] = field(default_factory=list)
    outputs: List[str] = field(default_factory=list)
    ops: List[Op] = field(default_factory=list)

    def add_tensor(self, name: str, dtype: str, shape, data=None, compress: int = 0) -> Tensor:
        if name in self.tensors:
            raise ValueError(f"tensor '{name}': duplicate tensor name")
        if dtype not in DTYPE_CODES:
            raise ValueError(f"tensor '{name}': unknown dtype '{dtype}'")
        shape = tuple(int(d) for d in shape)
        if data is not None:
            data = np.asarray(data)
            if data.size != _prod(shape):
                raise ValueError(f"tensor '{name}': data has {data.size} elements, shape {list(shape)} "
                                 f"needs {_prod(shape)}")
            data = data.reshape(shape)
        t = Tensor(name, dtype, shape, data, compress)
        self.tensors[name] = t
        return t

    def add_op(self, type: str, name: str, inputs, outputs, attrs: Optional[dict] = None, **kw) -> Op:
        if any(op.name == name for op in self.ops):
            raise ValueError(f"op '{name}': duplicate op name")
        merged = dict(attrs or {})
        merged.update(kw)
        op = Op(type, name, list(inputs), list(outputs), merged)
        self.ops.append(op)
        return op

    def op(self, name: str) -> Op:
        for o in self.ops:
            if o.name == name:
                return o
        raise KeyError(name)

    def to_bytes(self) -> bytes:
        return to_bytes(self)

    def write(self, path) -> None:
        write(self, path)


def _prod(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


# ---------------------------------------------------------------- libzstd through ctypes
class _Zstd:
    CONTENTSIZE_UNKNOWN = 2**64 - 1
    CONTENTSIZE_ERROR = 2**64 - 2

    def __init__(self):
        path = "libzstd.so.1"
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            found = ctypes.util.find_library("zstd")
            if not found:
                raise
            lib = ctypes.CDLL(found)
        sz, vp, ull = ctypes.c_size_t, ctypes.c_void_p, ctypes.c_ulonglong
        lib.ZSTD_compressBound.restype, lib.ZSTD_compressBound.argtypes = sz, [sz]
        lib.ZSTD_compress.restype, lib.ZSTD_compress.argtypes = sz, [vp, sz, vp, sz, ctypes.c_int]
        lib.ZSTD_decompress.restype, lib.ZSTD_decompress.argtypes = sz, [vp, sz, vp, sz]
        lib.ZSTD_isError.restype, lib.ZSTD_isError.argtypes = ctypes.c_uint, [sz]
        lib.ZSTD_getErrorName.restype, lib.ZSTD_getErrorName.argtypes = ctypes.c_char_p, [sz]
        lib.ZSTD_getFrameContentSize.restype, lib.ZSTD_getFrameContentSize.argtypes = ull, [vp, sz]
        lib.ZSTD_findFrameCompressedSize.restype, lib.ZSTD_findFrameCompressedSize.argtypes = sz, [vp, sz]
        lib.ZSTD_minCLevel.restype, lib.ZSTD_minCLevel.argtypes = ctypes.c_int, []
        lib.ZSTD_maxCLevel.restype, lib.ZSTD_maxCLevel.argtypes = ctypes.c_int, []
        self.lib = lib
        self.min_level = lib.ZSTD_minCLevel()
        self.max_level = lib.ZSTD_maxCLevel()

    def error(self, code: int) -> Optional[str]:
        if self.lib.ZSTD_isError(code):
            return self.lib.ZSTD_getErrorName(code).decode()
        return None

    def compress(self, raw: bytes, level: int) -> bytes:
        src = np.frombuffer(raw, np.uint8)
        bound = self.lib.ZSTD_compressBound(len(raw))
        dst = np.empty(max(bound, 1), np.uint8)
        n = self.lib.ZSTD_compress(dst.ctypes.data, bound, src.ctypes.data, len(raw), level)
        e = self.error(n)
        if e:
            raise ValueError(f"zstd: {e}")
        return dst[:n].tobytes()

    def content_size(self, frame: bytes) -> int:
        return self.lib.ZSTD_getFrameContentSize(np.frombuffer(frame, np.uint8).ctypes.data, len(frame))

    def frame_size(self, frame: bytes) -> int:
        return self.lib.ZSTD_findFrameCompressedSize(np.frombuffer(frame, np.uint8).ctypes.data, len(frame))

    def decompress(self, frame: bytes, size: int) -> Tuple[int, np.ndarray]:
        dst = np.empty(max(size, 1), np.uint8)
        n = self.lib.ZSTD_decompress(dst.ctypes.data, size, np.frombuffer(frame, np.uint8).ctypes.data,
                                     len(frame))
        return n, dst[:size]


_zstd_lib: Optional[_Zstd] = None


def _zstd() -> _Zstd:
    global _zstd_lib
    if _zstd_lib is None:
        _zstd_lib = _Zstd()
    return _zstd_lib


# ---------------------------------------------------------------- reader
def _quote(name: str) -> str:
    """As quote() in container_read.c: at most 64 bytes cut at a character boundary plus '...',
    control characters as \\xNN."""
    b = name.encode("utf-8")
    cut = len(b) > 64
    if cut:
        n = 64
        while n > 0 and (b[n] & 0xC0) == 0x80:
            n -= 1
        b = b[:n]
    s = "".join("\\x%02x" % ord(c) if ord(c) < 0x20 or ord(c) == 0x7F else c for c in b.decode("utf-8"))
    return s + ("..." if cut else "")


class _Reader:
    def __init__(self, buf: bytes, src: str, limits: Limits):
        self.buf = buf
        self.src = src
        self.lim = limits
        self.ctx = ""
        self.pos = 0
        self.tab_size = 0
        self.data_offset = 0
        self.data_size = 0

    def fail(self, msg: str, status: str = "format"):
        prefix = f"{self.src}: {self.ctx}: " if self.ctx else f"{self.src}: "
        raise FormatError(prefix + msg, status)

    # ---- cursor
    def left(self) -> int:
        return self.tab_size - self.pos

    def need(self, n: int, what: str):
        if self.left() < n:
            self.fail(f"truncated tables section: {what} needs {n} bytes at offset "
                      f"{HEADER_SIZE + self.pos}, {self.left()} left")

    def take(self, n: int, what: str) -> bytes:
        self.need(n, what)
        at = HEADER_SIZE + self.pos
        self.pos += n
        return self.buf[at:at + n]

    def u8(self, what):
        return self.take(1, what)[0]

    def u16(self, what):
        return struct.unpack("<H", self.take(2, what))[0]

    def u32(self, what):
        return struct.unpack("<I", self.take(4, what))[0]

    def u64(self, what):
        return struct.unpack("<Q", self.take(8, what))[0]

    def count(self, nbytes: int, what: str, min_entry: int, limit: int = 0) -> int:
        label = f"{what} count"
        n = {1: self.u8, 2: self.u16, 4: self.u32}[nbytes](label)
        if limit and n > limit:
            self.fail(f"{what} count {n} exceeds the limit of {limit}", "limit")
        if n > self.left() // min_entry:
            self.fail(f"truncated tables section: {what} count {n} needs at least {n * min_entry} bytes "
                      f"at offset {HEADER_SIZE + self.pos}, {self.left()} left")
        if n > INT_MAX:
            self.fail(f"{what} count {n} is too large", "limit")
        return n

    def string(self, what: str, allow_empty: bool) -> str:
        n = self.u32(what)
        if n > MAX_STR:
            self.fail(f"{what}: string length {n} exceeds 65535")
        self.need(n, what)
        at = HEADER_SIZE + self.pos
        raw = self.buf[at:at + n]
        if b"\0" in raw:
            self.fail(f"{what} contains a NUL byte")
        try:
            s = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.fail(f"{what} is not valid UTF-8")
        if not n and not allow_empty:
            self.fail(f"{what} is empty")
        self.pos += n
        return s

    def value(self, allow_empty: bool):
        t = self.u8("value type")
        if t == T_INT:
            return struct.unpack("<q", self.take(8, "int value"))[0]
        if t == T_FLOAT:
            f = struct.unpack("<d", self.take(8, "float value"))[0]
            if not math.isfinite(f):
                self.fail("float value is not finite")
            return f
        if t == T_STRING:
            return self.string("string value", True)
        if t in (T_INTS, T_FLOATS, T_STRINGS):
            is_str = t == T_STRINGS
            n = self.count(4, "array", 4 if is_str else 8)
            if n == 0 and not allow_empty:
                self.fail("empty array (arrays may be empty only in metadata)")
            if is_str:
                return Strings(self.string(f"string #{i}", True) for i in range(n))
            raw = self.take(8 * n, "array")
            if t == T_INTS:
                return Ints(int(v) for v in np.frombuffer(raw, "<i8"))
            vals = np.frombuffer(raw, "<f8")
            bad = np.flatnonzero(~np.isfinite(vals))
            if bad.size:
                self.fail(f"float #{int(bad[0])} is not finite")
            return Floats(float(v) for v in vals)
        self.fail(f"unknown value type {t}", "unsupported")

    def attrs(self, n: int, allow_empty: bool, owner: Optional[str]) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        index: Dict[str, int] = {}
        what = "attribute" if owner else "metadata"
        for i in range(n):
            self.ctx = f"{owner}: attribute #{i}" if owner else f"metadata #{i}"
            key = self.string("key", False)
            self.ctx = f"{owner}: attribute '{_quote(key)}'" if owner else f"metadata '{_quote(key)}'"
            if key in index:
                self.fail(f"duplicate key (also {what} #{index[key]})")
            index[key] = i
            out[key] = self.value(allow_empty)
        return out

    def tensor(self, i: int, seen: Dict[str, int]) -> Tensor:
        self.ctx = f"tensor #{i}"
        name = self.string("name", False)
        self.ctx = f"tensor '{_quote(name)}'"
        if name in seen:
            self.fail(f"duplicate tensor name (also tensor #{seen[name]})")
        seen[name] = i
        code = self.u8("dtype")
        if code not in DTYPES:
            self.fail(f"unknown dtype {code}", "unsupported")
        dtype = DTYPES[code]
        rank = self.u8("rank")
        if rank > MAX_RANK:
            self.fail(f"rank {rank} exceeds {MAX_RANK}")
        raw = self.take(8 * rank, "dims")
        numel, shape = 1, []
        for d in range(rank):
            dim = struct.unpack_from("<q", raw, 8 * d)[0]
            if dim < 1 or dim > MAX_DIM:
                self.fail(f"dim {d} = {dim} is outside 1..2^40")
            if numel > MAX_NUMEL // dim:
                self.fail("element count exceeds 2^48")
            numel *= dim
            shape.append(dim)
        mem = numel * np.dtype(MEM_DTYPE[dtype]).itemsize
        if mem > self.lim.max_tensor_bytes:
            self.fail(f"{mem} bytes in memory exceed the limit of {self.lim.max_tensor_bytes}", "limit")
        storage = self.u8("storage")
        if storage > 2:
            self.fail(f"unknown storage {storage}", "unsupported")
        t = Tensor(name, dtype, tuple(shape), None, 0, STORAGES[storage])
        if storage:
            t._offset = self.u64("payload offset")
            t._stored = self.u64("stored size")
            t._crc = self.u32("payload CRC")
            t.compress = DEFAULT_LEVEL if storage == 2 else 0
        return t

    def names(self, what: str) -> List[str]:
        self.ctx = "graph"
        n = self.count(4, what, 5)
        out = []
        for k in range(n):
            self.ctx = f"graph {what} #{k}"
            out.append(self.string("name", False))
        return out

    def op(self, i: int, seen: Dict[str, int]) -> Op:
        self.ctx = f"op #{i}"
        type_ = self.string("type", False)
        name = self.string("name", False)
        owner = f"op '{_quote(name)}'"
        self.ctx = owner
        if name in seen:
            self.fail(f"duplicate op name (also op #{seen[name]})")
        seen[name] = i
        n = self.count(1, "input", 4)
        inputs = [self.string(f"input #{k}", True) for k in range(n)]
        n = self.count(1, "output", 5)
        outputs = [self.string(f"output #{k}", False) for k in range(n)]
        n = self.count(2, "attribute", 10)
        return Op(type_, name, inputs, outputs, self.attrs(n, False, owner))

    def payload(self, t: Tensor):
        self.ctx = f"tensor '{_quote(t.name)}'"
        off, stored = t._offset, t._stored
        if off % ALIGN:
            self.fail(f"payload offset {off} is not a multiple of 64")
        if off > self.data_size:
            self.fail(f"payload offset {off} is past the end of the data section ({self.data_size} bytes)")
        if stored > self.data_size - off:
            self.fail(f"stored size {stored} at offset {off} exceeds data section ({self.data_size} bytes)")
        numel = _prod(t.shape)
        raw_size = _raw_size(t.dtype, numel)
        if t.storage == "raw" and stored != raw_size:
            self.fail(f"raw payload is {stored} bytes, expected {raw_size} ({numel} {t.dtype} elements)")
        at = self.data_offset + off
        body = self.buf[at:at + stored]
        crc = zlib.crc32(body) & 0xFFFFFFFF
        if crc != t._crc:
            self.fail(f"payload CRC mismatch (stored 0x{t._crc:08x}, computed 0x{crc:08x})")
        if t.storage == "zstd":
            z = _zstd()
            fcs = z.content_size(body)
            if fcs == z.CONTENTSIZE_ERROR:
                self.fail("payload is not a zstd frame")
            if fcs == z.CONTENTSIZE_UNKNOWN:
                self.fail("zstd frame does not declare its content size")
            if fcs != raw_size:
                self.fail(f"zstd content size {fcs} does not match the raw size {raw_size} "
                          f"({numel} {t.dtype} elements)")
            fsize = z.frame_size(body)
            e = z.error(fsize)
            if e:
                self.fail(f"corrupt zstd frame ({e})")
            if fsize != stored:
                self.fail(f"{stored - fsize} bytes after the zstd frame")
            got, arr = z.decompress(body, raw_size)
            e = z.error(got)
            if e:
                self.fail(f"corrupt zstd frame ({e})")
            if got != raw_size:
                self.fail(f"zstd frame decompressed to {got} bytes, expected {raw_size}")
            body = arr.tobytes()
        data = _from_le(t.dtype, body, numel)
        if data is None:
            self.fail(f"{t.dtype} pad nibble is not zero")
        t.data = data.reshape(t.shape)

    def parse(self) -> Model:
        b, size, lim = self.buf, len(self.buf), self.lim
        if size > lim.max_file_bytes:
            self.fail(f"file is {size} bytes, over the limit of {lim.max_file_bytes}", "limit")
        if size == 0:
            self.fail("file is empty")
        if size < HEADER_SIZE:
            self.fail(f"truncated header: file is {size} bytes, the header is 64")
        if b[:8] != MAGIC:
            self.fail("not a .t2c file (bad magic)")
        major, minor, flags, tables_size, data_offset, data_size, tables_crc = \
            struct.unpack_from("<HHIQQQI", b, 8)
        if major != VERSION[0]:
            self.fail(f"unsupported format version {major}.{minor} (this reader reads {VERSION[0]}.x)",
                      "unsupported")
        if flags:
            self.fail(f"unsupported flags 0x{flags:08x}", "unsupported")
        for i in range(44, 64):
            if b[i]:
                self.fail(f"reserved header byte {i} is not zero")
        if tables_size > size - HEADER_SIZE:
            self.fail(f"truncated file: tables section of {tables_size} bytes ends past the end of the "
                      f"file ({size} bytes)")
        if data_offset % ALIGN:
            self.fail(f"data_offset {data_offset} is not a multiple of 64")
        if data_offset < HEADER_SIZE + tables_size:
            self.fail(f"data_offset {data_offset} overlaps the tables section (which ends at "
                      f"{HEADER_SIZE + tables_size})")
        if data_offset > size or data_size > size - data_offset:
            self.fail(f"truncated file: data section of {data_size} bytes at offset {data_offset} ends past "
                      f"the end of the file ({size} bytes)")
        if data_offset + data_size != size:
            self.fail(f"{size - data_offset - data_size} unexpected bytes after the data section")
        crc = zlib.crc32(b[HEADER_SIZE:HEADER_SIZE + tables_size]) & 0xFFFFFFFF
        if crc != tables_crc:
            self.fail(f"tables CRC mismatch (stored 0x{tables_crc:08x}, computed 0x{crc:08x})")
        pad = b[HEADER_SIZE + tables_size:data_offset]
        if pad.strip(b"\0"):
            first = HEADER_SIZE + tables_size + len(pad) - len(pad.lstrip(b"\0"))
            self.fail(f"padding byte at offset {first} before the data section is not zero")
        self.tab_size, self.data_offset, self.data_size = tables_size, data_offset, data_size

        m = Model()
        self.ctx = "metadata"
        n = self.count(4, "metadata", 10)
        m.meta = self.attrs(n, True, None)
        self.ctx = "tensor table"
        n = self.count(4, "tensor", 8, lim.max_tensors)
        seen: Dict[str, int] = {}
        tensors = [self.tensor(i, seen) for i in range(n)]
        m.inputs = self.names("input")
        m.outputs = self.names("output")
        self.ctx = "graph"
        n = self.count(4, "op", 14, lim.max_ops)
        seen = {}
        m.ops = [self.op(i, seen) for i in range(n)]
        self.ctx = ""
        if self.pos != self.tab_size:
            self.fail(f"{self.tab_size - self.pos} bytes left over at the end of the tables section")
        for t in tensors:
            if t.storage != "none":
                self.payload(t)
                del t._offset, t._stored, t._crc
            m.tensors[t.name] = t
        m.version = (major, minor)
        return m


def _raw_size(dtype: str, numel: int) -> int:
    if dtype in ("int4", "uint4"):
        return (numel + 1) // 2
    return numel * np.dtype(FILE_DTYPE[dtype]).itemsize


def _from_le(dtype: str, body: bytes, numel: int) -> Optional[np.ndarray]:
    if dtype in ("int4", "uint4"):
        packed = np.frombuffer(body, np.uint8)
        if numel % 2 and packed[-1] & 0xF0:
            return None
        nib = np.empty(packed.size * 2, np.uint8)
        nib[0::2] = packed & 0x0F
        nib[1::2] = packed >> 4
        nib = nib[:numel]
        if dtype == "uint4":
            return nib.copy()
        return (nib.astype(np.int16) - ((nib >= 8) * 16)).astype(np.int8)  # sign-extend
    return np.frombuffer(body, FILE_DTYPE[dtype], count=numel).astype(MEM_DTYPE[dtype])


def read(src, name: Optional[str] = None, limits: Optional[Limits] = None) -> Model:
    """Read a .t2c file (a path) or bytes. Raises FormatError (message as the C reader's)."""
    lim = (limits or Limits()).resolved()
    if isinstance(src, (bytes, bytearray, memoryview)):
        buf = bytes(src)
        label = name or "<buffer>"
    else:
        path = os.fspath(src)
        label = name or path
        size = os.stat(path).st_size
        if size > lim.max_file_bytes:
            raise FormatError(f"{label}: file is {size} bytes, over the limit of {lim.max_file_bytes}", "limit")
        with open(path, "rb") as f:
            buf = f.read()
    return _Reader(buf, label, lim).parse()


# ---------------------------------------------------------------- writer
def _werr(msg: str):
    raise ValueError(f"t2c writer: {msg}")


def _check_str(s, allow_empty: bool, what: str) -> bytes:
    if not isinstance(s, str):
        _werr(f"{what} must be a str, not {type(s).__name__}")
    try:
        b = s.encode("utf-8")
    except UnicodeEncodeError:
        _werr(f"{what} is not valid UTF-8")
    if len(b) > MAX_STR:
        _werr(f"{what} is {len(b)} bytes (at most 65535)")
    if b"\0" in b:
        _werr(f"{what} contains a NUL byte")
    if not b and not allow_empty:
        _werr(f"{what} is empty")
    return b


def _typed(v, where: str) -> Tuple[int, Any]:
    """(value type, normalized value) of a Python value."""
    if isinstance(v, Ints):
        return T_INTS, [int(x) for x in v]
    if isinstance(v, Floats):
        return T_FLOATS, [float(x) for x in v]
    if isinstance(v, Strings):
        return T_STRINGS, list(v)
    if isinstance(v, (bool, np.bool_, int, np.integer)):
        return T_INT, int(v)
    if isinstance(v, (float, np.floating)):
        return T_FLOAT, float(v)
    if isinstance(v, str):
        return T_STRING, v
    if isinstance(v, np.ndarray):
        if v.ndim != 1:
            _werr(f"{where}: array value must be 1-D, not shape {list(v.shape)}")
        if v.dtype.kind in "iub":
            return T_INTS, [int(x) for x in v]
        if v.dtype.kind == "f":
            return T_FLOATS, [float(x) for x in v]
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        if not v:
            _werr(f"{where}: empty list (use Ints([]), Floats([]) or Strings([]))")
        if all(isinstance(x, str) for x in v):
            return T_STRINGS, list(v)
        if all(isinstance(x, (bool, np.bool_, int, np.integer)) for x in v):
            return T_INTS, [int(x) for x in v]
        if all(isinstance(x, (bool, np.bool_, int, np.integer, float, np.floating)) for x in v):
            return T_FLOATS, [float(x) for x in v]
        _werr(f"{where}: list mixes types")
    _werr(f"{where}: cannot store a {type(v).__name__}")


def _put_str(out: bytearray, b: bytes):
    out += struct.pack("<I", len(b))
    out += b


def _put_value(out: bytearray, v, allow_empty: bool, where: str):
    t, v = _typed(v, where)
    out.append(t)
    if t == T_INT:
        if not -2**63 <= v < 2**63:
            _werr(f"{where}: int {v} does not fit in int64")
        out += struct.pack("<q", v)
    elif t == T_FLOAT:
        if not math.isfinite(v):
            _werr(f"{where}: float value is not finite")
        out += struct.pack("<d", v)
    elif t == T_STRING:
        _put_str(out, _check_str(v, True, f"{where}: string value"))
    else:
        if not v and not allow_empty:
            _werr(f"{where}: empty array (arrays may be empty only in metadata)")
        out += struct.pack("<I", len(v))
        for i, x in enumerate(v):
            if t == T_INTS:
                if not -2**63 <= x < 2**63:
                    _werr(f"{where}: int #{i} = {x} does not fit in int64")
                out += struct.pack("<q", x)
            elif t == T_FLOATS:
                if not math.isfinite(x):
                    _werr(f"{where}: float #{i} is not finite")
                out += struct.pack("<d", x)
            else:
                _put_str(out, _check_str(x, True, f"{where}: string #{i}"))


def _put_attrs(out: bytearray, attrs: dict, allow_empty: bool, owner: Optional[str]):
    for key, v in attrs.items():
        kb = _check_str(key, False, f"{owner}: attribute name" if owner else "metadata key")
        where = f"{owner}: attribute '{key}'" if owner else f"metadata '{key}'"
        _put_str(out, kb)
        _put_value(out, v, allow_empty, where)


def _payload(t: Tensor) -> Tuple[int, bytes]:
    """(storage code, stored bytes) of a tensor with data."""
    where = f"tensor '{t.name}'"
    numel = _prod(t.shape)
    arr = np.asarray(t.data)
    if arr.size != numel:
        _werr(f"{where}: data has {arr.size} elements, shape {list(t.shape)} needs {numel}")
    arr = arr.reshape(-1)
    if t.dtype == "float32":
        if arr.dtype.kind not in "fiub":
            _werr(f"{where}: float32 data of dtype {arr.dtype}")
        raw = arr.astype("<f4").tobytes()
    else:
        if arr.dtype.kind not in "iub":
            _werr(f"{where}: {t.dtype} data must be integers, not {arr.dtype}")
        lo, hi = RANGE[t.dtype]
        if arr.size and (int(arr.min()) < lo or int(arr.max()) > hi):
            _werr(f"{where}: an element is outside the {t.dtype} range")
        if t.dtype in ("int4", "uint4"):
            nib = (arr.astype(np.int64) & 0x0F).astype(np.uint8)
            if nib.size % 2:
                nib = np.concatenate([nib, np.zeros(1, np.uint8)])  # pad nibble stays zero
            raw = (nib[0::2] | (nib[1::2] << 4)).astype(np.uint8).tobytes()
        else:
            raw = arr.astype(FILE_DTYPE[t.dtype]).tobytes()
    level = int(t.compress or 0)
    if level:
        z = _zstd()
        if not z.min_level <= level <= z.max_level:
            _werr(f"{where}: zstd level {level} is outside {z.min_level}..{z.max_level}")
        frame = z.compress(raw, level)
        if len(frame) < len(raw):  # keep the frame only when it is smaller
            return 2, frame
    return 1, raw


def _align(v: int) -> int:
    return (v + ALIGN - 1) // ALIGN * ALIGN


def to_bytes(model: Model) -> bytes:
    """The file's bytes, identical to the C writer's for the same content."""
    tab = bytearray()
    tab += struct.pack("<I", len(model.meta))
    _put_attrs(tab, model.meta, True, None)

    payloads = []
    data_size = 0
    tab += struct.pack("<I", len(model.tensors))
    for key, t in model.tensors.items():
        if t.name != key:
            _werr(f"tensor '{t.name}' is stored under the key '{key}'")
        tab_name = _check_str(t.name, False, "tensor name")
        where = f"tensor '{t.name}'"
        if t.dtype not in DTYPE_CODES:
            _werr(f"{where}: unknown dtype '{t.dtype}'")
        shape = tuple(int(d) for d in t.shape)
        if len(shape) > MAX_RANK:
            _werr(f"{where}: rank {len(shape)} is outside 0..8")
        numel = 1
        for d, dim in enumerate(shape):
            if dim < 1 or dim > MAX_DIM:
                _werr(f"{where}: dim {d} = {dim} is outside 1..2^40")
            if numel > MAX_NUMEL // dim:
                _werr(f"{where}: element count exceeds 2^48")
            numel *= dim
        _put_str(tab, tab_name)
        tab += struct.pack("<BB", DTYPE_CODES[t.dtype], len(shape))
        for dim in shape:
            tab += struct.pack("<q", dim)
        if t.data is None:
            tab.append(0)
            continue
        storage, stored = _payload(t)
        offset = _align(data_size)
        data_size = offset + len(stored)
        payloads.append((offset, stored))
        tab += struct.pack("<BQQI", storage, offset, len(stored), zlib.crc32(stored) & 0xFFFFFFFF)

    for what, names in (("input", model.inputs), ("output", model.outputs)):
        tab += struct.pack("<I", len(names))
        for k, n in enumerate(names):
            _put_str(tab, _check_str(n, False, f"graph {what} #{k}"))

    tab += struct.pack("<I", len(model.ops))
    seen = set()
    for op in model.ops:
        name_b = _check_str(op.name, False, "op name")
        owner = f"op '{op.name}'"
        if op.name in seen:
            _werr(f"{owner}: duplicate op name")
        seen.add(op.name)
        _put_str(tab, _check_str(op.type, False, f"{owner}: type"))
        _put_str(tab, name_b)
        if len(op.inputs) > 255 or len(op.outputs) > 255 or len(op.attrs) > 65535:
            _werr(f"{owner}: too many inputs, outputs or attributes")
        tab.append(len(op.inputs))
        for k, n in enumerate(op.inputs):
            _put_str(tab, _check_str(n, True, f"{owner}: input #{k}"))
        tab.append(len(op.outputs))
        for k, n in enumerate(op.outputs):
            _put_str(tab, _check_str(n, False, f"{owner}: output #{k}"))
        tab += struct.pack("<H", len(op.attrs))
        _put_attrs(tab, op.attrs, False, owner)

    data_offset = _align(HEADER_SIZE + len(tab))
    out = bytearray(data_offset + data_size)
    struct.pack_into("<8sHHIQQQI", out, 0, MAGIC, VERSION[0], VERSION[1], 0, len(tab), data_offset,
                     data_size, zlib.crc32(tab) & 0xFFFFFFFF)
    out[HEADER_SIZE:HEADER_SIZE + len(tab)] = tab
    for offset, stored in payloads:
        out[data_offset + offset:data_offset + offset + len(stored)] = stored
    return bytes(out)


def write(model: Model, path) -> None:
    """Write to PATH.tmp.XXXXXX in the same directory, fsync, rename: no partial file on error."""
    data = to_bytes(model)
    path = os.fspath(path)
    d, base = os.path.split(path)
    fd, tmp = tempfile.mkstemp(prefix=base + ".tmp.", dir=d or ".")
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.fchmod(fd, 0o666 & ~mask)
        with os.fdopen(fd, "wb") as f:
            fd = -1
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
