"""Bounds-checked reading of FlatBuffers tables, on top of Debian's python3-flatbuffers.

flatbuffers.table.Table does the vtable/offset arithmetic but trusts the buffer: a truncated or
corrupt file gives struct.error, a wrong value or an endless loop. Every access here first checks
that the bytes it reads lie inside the buffer, and a failure raises FlatbufferError naming the
field path ("subgraphs[0].tensors[12].quantization.scale") and the problem.

Fields are addressed by slot number: the n-th field declared in the schema's table (a union field
takes two slots, its type byte and then its value), so the vtable entry is at 4 + 2*slot.
"""

import numpy as np
from flatbuffers import encode
from flatbuffers import number_types as N
from flatbuffers import table

__all__ = ["FlatbufferError", "Buffer", "Obj"]


class FlatbufferError(ValueError):
    """A malformed FlatBuffer: the message names the file, the field path and the problem."""


class Buffer:
    """The whole file, plus its name for messages."""

    def __init__(self, data, source):
        self.data = bytes(data)
        self.size = len(self.data)
        self.source = source

    def fail(self, where, problem):
        raise FlatbufferError(f"{self.source}: {where}: {problem}" if where else f"{self.source}: {problem}")

    def check(self, pos, nbytes, where):
        if pos < 0 or nbytes < 0 or pos + nbytes > self.size:
            self.fail(where, f"{nbytes} bytes at offset {pos} lie outside the file ({self.size} bytes)")

    def get(self, flags, pos, where):
        self.check(pos, flags.bytewidth, where)
        return flags.py_type(encode.Get(flags.packer_type, self.data, pos))

    def root(self, identifier=None, what="file"):
        """The root table; `identifier` (4 bytes) is checked when given."""
        if self.size < 8:
            self.fail("", f"too short for a FlatBuffer ({self.size} bytes)")
        if identifier is not None and self.data[4:8] != identifier:
            self.fail("", f"not a {what}: file identifier {self.data[4:8]!r}, expected {identifier!r}")
        return Obj(self, self.get(N.UOffsetTFlags, 0, "root offset"), "")


_NP = {N.BoolFlags: np.bool_, N.Uint8Flags: np.uint8, N.Int8Flags: np.int8, N.Uint16Flags: np.uint16,
       N.Int16Flags: np.int16, N.Uint32Flags: np.uint32, N.Int32Flags: np.int32, N.Uint64Flags: np.uint64,
       N.Int64Flags: np.int64, N.Float32Flags: np.float32, N.Float64Flags: np.float64}


class Obj:
    """One table at `pos`; `path` names it in messages."""

    def __init__(self, buf, pos, path):
        self.buf, self.path = buf, path
        where = path or "root table"
        buf.check(pos, 4, where)
        self.t = table.Table(buf.data, pos)
        vt = pos - buf.get(N.SOffsetTFlags, pos, where)
        vlen = buf.get(N.VOffsetTFlags, vt, where + " (vtable)")
        olen = buf.get(N.VOffsetTFlags, vt + 2, where + " (vtable)")
        if vlen < 4 or vlen % 2:
            buf.fail(where, f"vtable length {vlen} is invalid")
        buf.check(vt, vlen, where + " (vtable)")
        buf.check(pos, olen, where + " (table)")
        self.pos, self.vt, self.vlen, self.olen = pos, vt, vlen, olen

    def _name(self, name):
        return f"{self.path}.{name}" if self.path else name

    def _field(self, slot, size, name):
        """Absolute position of field `slot` (None if absent), checked to hold `size` bytes."""
        voff = 4 + 2 * slot
        off = self.t.Offset(voff) if voff < self.vlen else 0
        if off == 0:
            return None
        if off + size > self.olen:
            self.buf.fail(self._name(name),
                          f"field at {off} (+{size} bytes) lies outside its table ({self.olen} bytes)")
        pos = self.pos + off
        self.buf.check(pos, size, self._name(name))
        return pos

    def has(self, slot):
        voff = 4 + 2 * slot
        return voff < self.vlen and self.t.Offset(voff) != 0

    def scalar(self, slot, flags, default, name):
        pos = self._field(slot, flags.bytewidth, name)
        return default if pos is None else self.buf.get(flags, pos, self._name(name))

    def _target(self, slot, name):
        pos = self._field(slot, 4, name)
        if pos is None:
            return None
        return pos + self.buf.get(N.UOffsetTFlags, pos, self._name(name))

    def table(self, slot, name):
        """The sub-table in `slot`, or None."""
        tpos = self._target(slot, name)
        return None if tpos is None else Obj(self.buf, tpos, self._name(name))

    def _vector(self, slot, elem, name):
        vpos = self._target(slot, name)
        if vpos is None:
            return None, 0
        n = self.buf.get(N.Uint32Flags, vpos, self._name(name) + " (length)")
        self.buf.check(vpos + 4, n * elem, self._name(name) + f" ({n} elements)")
        return vpos + 4, n

    def numbers(self, slot, flags, name):
        """A vector of scalars as a numpy array (a copy), or None when absent."""
        start, n = self._vector(slot, flags.bytewidth, name)
        if start is None:
            return None
        dt = np.dtype(_NP[flags]).newbyteorder("<")
        return np.frombuffer(self.buf.data, dtype=dt, count=n, offset=start).astype(_NP[flags])

    def bytes(self, slot, name):
        start, n = self._vector(slot, 1, name)
        return None if start is None else self.buf.data[start:start + n]

    def string(self, slot, name):
        b = self.bytes(slot, name)
        return None if b is None else b.decode("utf-8", errors="replace")

    def tables(self, slot, name):
        """A vector of tables as a list of Obj (empty when absent)."""
        start, n = self._vector(slot, 4, name)
        out = []
        for i in range(n):
            p = start + 4 * i
            out.append(Obj(self.buf, p + self.buf.get(N.UOffsetTFlags, p, f"{self._name(name)}[{i}]"),
                           f"{self._name(name)}[{i}]"))
        return out
