"""t2c.engine: the C engine from Python (ctypes over libt2c.so), NumPy arrays in and out.

For cocotb and other Python testbenches:

    from t2c.engine import Engine, OpCall
    eng = Engine.load("model.t2c")                 # a .t2c model
    outs = eng.run(x)                              # list of arrays, one per graph output
    outs, trace = eng.run_trace(x)                 # trace: {op name: [output arrays]} via a hook
    rq = OpCall("requantize", {"multiplier": [1 << 30], "shift": [31], "zero_point": -3},
                inputs=[("int32", (1, 16))], outputs=["int8"])
    y = rq(acc)                                    # one transaction through the reference kernel

The library is found via the T2C_LIB environment variable (a path to libt2c.so), else
$T2C_BUILD_DIR/libt2c.so, else build*/libt2c.so under the source root. Every error from C is
raised as T2CError with the engine's one-line message.
"""
import ctypes as C
import glob
import os

import numpy as np

MAX_RANK = 8
DTYPES = {1: "int4", 2: "uint4", 3: "int8", 4: "uint8", 5: "int16", 6: "int32", 7: "int64", 8: "float32"}
NUMPY = {"int4": np.int8, "uint4": np.uint8, "int8": np.int8, "uint8": np.uint8, "int16": np.int16,
         "int32": np.int32, "int64": np.int64, "float32": np.float32}
RANGES = {"int4": (-8, 7), "uint4": (0, 15)}
HOOK_BEFORE, HOOK_AFTER = 1, 2


class T2CError(RuntimeError):
    def __init__(self, status, message):
        super().__init__(f"t2c status {status}: {message}")
        self.status = status


class _Error(C.Structure):
    _fields_ = [("status", C.c_int), ("message", C.c_char * 512)]


class _Tensor(C.Structure):
    _fields_ = [("name", C.c_char_p), ("dtype", C.c_int), ("rank", C.c_int),
                ("dims", C.c_int64 * MAX_RANK), ("data", C.c_void_p), ("is_const", C.c_int)]


class _Attr(C.Structure):
    _fields_ = [("name", C.c_char_p), ("type", C.c_int), ("count", C.c_int64), ("v", C.c_int64)]


class _OpView(C.Structure):
    _fields_ = [("index", C.c_int), ("type", C.c_char_p), ("name", C.c_char_p),
                ("n_inputs", C.c_int), ("inputs", C.POINTER(C.POINTER(_Tensor))),
                ("input_roles", C.POINTER(C.c_char_p)),
                ("n_outputs", C.c_int), ("outputs", C.POINTER(C.POINTER(_Tensor))),
                ("n_attrs", C.c_int), ("attrs", C.POINTER(_Attr)), ("macs", C.c_int64)]


class _SessionOptions(C.Structure):
    _fields_ = [("batch", C.c_int), ("threads", C.c_int), ("backend", C.c_char_p)]


class _HookFilter(C.Structure):
    _fields_ = [("name_glob", C.c_char_p), ("op_type", C.c_char_p)]


HOOK_FN = C.CFUNCTYPE(C.c_int, C.POINTER(_OpView), C.c_int, C.c_void_p)

_lib = None


def _find_library():
    env = os.environ.get("T2C_LIB")
    if env:
        return env
    cands = []
    if os.environ.get("T2C_BUILD_DIR"):
        cands.append(os.path.join(os.environ["T2C_BUILD_DIR"], "libt2c.so"))
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    cands += sorted(glob.glob(os.path.join(root, "build*", "libt2c.so")), key=os.path.getmtime, reverse=True)
    for c in cands:
        if os.path.exists(c):
            return c
    raise OSError("libt2c.so not found: set T2C_LIB or T2C_BUILD_DIR (meson builds it as libt2c.so)")


def library():
    """The loaded libt2c (ctypes.CDLL), with argument types declared."""
    global _lib
    if _lib is not None:
        return _lib
    lib = C.CDLL(_find_library())
    P, E, T = C.c_void_p, C.POINTER(_Error), C.POINTER(_Tensor)
    sig = {
        "t2c_model_load_file": (C.c_int, [C.c_char_p, P, C.POINTER(P), E]),
        "t2c_model_free": (None, [P]),
        "t2c_model_input_count": (C.c_int, [P]),
        "t2c_model_output_count": (C.c_int, [P]),
        "t2c_model_input": (T, [P, C.c_int]),
        "t2c_model_output": (T, [P, C.c_int]),
        "t2c_session_create_ex": (C.c_int, [P, C.POINTER(_SessionOptions), C.POINTER(P), E]),
        "t2c_session_free": (None, [P]),
        "t2c_session_input": (T, [P, C.c_int]),
        "t2c_session_output": (T, [P, C.c_int]),
        "t2c_session_run": (C.c_int, [P, E]),
        "t2c_session_add_hook": (C.c_int, [P, C.POINTER(_HookFilter), C.c_int, HOOK_FN, P, E]),
        "t2c_session_remove_hook": (C.c_int, [P, C.c_int]),
        "t2c_op_create": (P, [C.c_char_p, C.c_char_p, C.c_char_p, C.c_char_p, E]),
        "t2c_op_free": (None, [P]),
        "t2c_op_input_count": (C.c_int, [P]),
        "t2c_op_output_count": (C.c_int, [P]),
        "t2c_op_input": (T, [P, C.c_int]),
        "t2c_op_output": (T, [P, C.c_int]),
        "t2c_op_set_param": (C.c_int, [P, C.c_int, P, E]),
        "t2c_op_call": (C.c_int, [P, C.POINTER(P), C.POINTER(P), E]),
    }
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    _lib = lib
    return lib


def _check(status, err):
    if status != 0:
        raise T2CError(status, err.message.decode(errors="replace"))


def _shape(t):
    return tuple(t.dims[i] for i in range(t.rank))


def _dtype(t):
    return DTYPES.get(t.dtype, "invalid")


def _to_numpy(t):
    """A copy of a C tensor's elements as an ndarray of its shape."""
    shape, dt = _shape(t), NUMPY[_dtype(t)]
    n = int(np.prod(shape)) if shape else 1
    buf = (C.c_char * (n * np.dtype(dt).itemsize)).from_address(t.data)
    return np.frombuffer(buf, dtype=dt, count=n).reshape(shape).copy()


def _as_input(a, dtype, shape, what):
    """a as a C-contiguous array of the engine's memory type, checked against dtype and shape."""
    a = np.asarray(a)
    if dtype != "float32":
        if a.dtype.kind not in "iub":
            raise T2CError(4, f"{what}: integer data expected, got {a.dtype}")
        lo, hi = RANGES.get(dtype, (np.iinfo(NUMPY[dtype]).min, np.iinfo(NUMPY[dtype]).max))
        if a.size and (int(a.min()) < lo or int(a.max()) > hi):
            raise T2CError(4, f"{what}: values outside {dtype} [{lo}, {hi}]")
    if tuple(a.shape) != tuple(shape):
        raise T2CError(5, f"{what}: shape {tuple(a.shape)}, expected {tuple(shape)}")
    return np.ascontiguousarray(a, dtype=NUMPY[dtype])


class Engine:
    """A loaded .t2c model; sessions are created per batch size and reused."""

    def __init__(self, model_ptr, backend="ref", threads=1):
        self._lib = library()
        self._model = model_ptr
        self.backend, self.threads = backend, threads
        self._sessions = {}

    @classmethod
    def load(cls, path, backend="ref", threads=1):
        lib, err, m = library(), _Error(), C.c_void_p()
        _check(lib.t2c_model_load_file(os.fsencode(path), None, C.byref(m), C.byref(err)), err)
        return cls(m, backend, threads)

    def close(self):
        for s in self._sessions.values():
            self._lib.t2c_session_free(s)
        self._sessions = {}
        if self._model:
            self._lib.t2c_model_free(self._model)
            self._model = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _io(self, count, get):
        out = []
        for i in range(count(self._model)):
            t = get(self._model, i).contents
            out.append((t.name.decode(), _dtype(t), _shape(t)))
        return out

    @property
    def inputs(self):
        """[(name, dtype, shape with batch 1)] of the graph inputs."""
        return self._io(self._lib.t2c_model_input_count, self._lib.t2c_model_input)

    @property
    def outputs(self):
        return self._io(self._lib.t2c_model_output_count, self._lib.t2c_model_output)

    def _session(self, batch):
        s = self._sessions.get(batch)
        if s is None:
            opts = _SessionOptions(batch, self.threads, self.backend.encode())
            s, err = C.c_void_p(), _Error()
            _check(self._lib.t2c_session_create_ex(self._model, C.byref(opts), C.byref(s), C.byref(err)), err)
            self._sessions[batch] = s
        return s

    def run(self, *arrays, hook=None, op_type=None, name_glob=None):
        """Run on one array per graph input (dim 0 = batch); returns one array per graph output.

        hook(name, type, outputs) is called after every op (optionally filtered by exact op_type
        or an fnmatch name_glob) with copies of the op's outputs; a truthy return stops the run
        (T2CError status 10)."""
        ins = self.inputs
        if len(arrays) != len(ins):
            raise T2CError(4, f"{len(ins)} inputs expected, got {len(arrays)}")
        batch = int(np.asarray(arrays[0]).shape[0])
        s = self._session(batch)
        keep = []
        for i, ((name, dtype, shape), a) in enumerate(zip(ins, arrays)):
            a = _as_input(a, dtype, (batch,) + tuple(shape[1:]), f"input '{name}'")
            t = self._lib.t2c_session_input(s, i).contents
            C.memmove(t.data, a.ctypes.data, a.nbytes)
            keep.append(a)
        hook_id, err, raised = -1, _Error(), []
        if hook is not None:
            def trampoline(view, when, user):
                try:
                    v = view.contents
                    outs = [_to_numpy(v.outputs[j].contents) for j in range(v.n_outputs)]
                    return 1 if hook(v.name.decode(), v.type.decode(), outs) else 0
                except BaseException as e:  # never unwind through C: stop the run, re-raise below
                    raised.append(e)
                    return 1
            cb = HOOK_FN(trampoline)
            filt = _HookFilter(name_glob.encode() if name_glob else None, op_type.encode() if op_type else None)
            hook_id = self._lib.t2c_session_add_hook(s, C.byref(filt), HOOK_AFTER, cb, None, C.byref(err))
            if hook_id < 0:
                _check(err.status or 4, err)
        try:
            st = self._lib.t2c_session_run(s, C.byref(err))
            if raised:
                raise raised[0]
            _check(st, err)
        finally:
            if hook_id >= 0:
                self._lib.t2c_session_remove_hook(s, hook_id)
        n_out = self._lib.t2c_model_output_count(self._model)
        return [_to_numpy(self._lib.t2c_session_output(s, i).contents) for i in range(n_out)]

    def run_trace(self, *arrays, op_type=None, name_glob=None):
        """run() plus {op name: [output arrays]} for every (matching) op."""
        trace = {}

        def grab(name, _type, outs):
            trace[name] = outs
            return 0
        outs = self.run(*arrays, hook=grab, op_type=op_type, name_glob=name_glob)
        return outs, trace


def _attr_text(attrs):
    if attrs is None:
        return ""
    if isinstance(attrs, str):
        return attrs
    parts = []
    for k, v in attrs.items():
        if isinstance(v, (list, tuple, np.ndarray)):
            v = "[" + ",".join(str(x.item() if hasattr(x, "item") else x) for x in v) + "]"
        parts.append(f"{k}={v}")
    return ";".join(parts)


class OpCall:
    """One op configured once (engine/t2c_op_api.h), called per transaction with NumPy arrays.

    inputs: [(dtype, shape) or None for an omitted optional input]; outputs: [dtype or None]
    (None: the op chooses, e.g. int32 accumulators). params: {input index: array} stored once
    (weights, bias); calls then pass only the others, in order, or all of them."""

    def __init__(self, op_type, attrs=None, inputs=(), outputs=(), params=None):
        self._lib = library()
        spec = "; ".join("-" if s is None else f"{s[0]}[{','.join(str(int(d)) for d in s[1])}]" for s in inputs)
        out = "; ".join(o or "-" for o in outputs)
        err = _Error()
        self._h = self._lib.t2c_op_create(op_type.encode(), _attr_text(attrs).encode(), spec.encode(),
                                          out.encode(), C.byref(err))
        if not self._h:
            _check(err.status or 4, err)
        self.inputs = []
        for i in range(self._lib.t2c_op_input_count(self._h)):
            p = self._lib.t2c_op_input(self._h, i)
            self.inputs.append((_dtype(p.contents), _shape(p.contents)) if p else None)
        self.outputs = []
        for i in range(self._lib.t2c_op_output_count(self._h)):
            t = self._lib.t2c_op_output(self._h, i).contents
            self.outputs.append((_dtype(t), _shape(t)))
        self._stored = set()
        for i, a in (params or {}).items():
            self.set_param(i, a)

    def set_param(self, index, array):
        if index < 0 or index >= len(self.inputs) or self.inputs[index] is None:
            raise T2CError(4, f"no input {index}")
        a = _as_input(array, *self.inputs[index], f"input {index}")
        err = _Error()
        _check(self._lib.t2c_op_set_param(self._h, index, a.ctypes.data, C.byref(err)), err)
        self._stored.add(index)

    def __call__(self, *arrays):
        """Inputs not stored with set_param, in order (or all inputs). Returns the output array
        (a list when the op has several)."""
        slots = [i for i, s in enumerate(self.inputs) if s is not None]
        free = [i for i in slots if i not in self._stored]
        if len(arrays) == len(slots) and len(slots) != len(free):
            free = slots
        if len(arrays) != len(free):
            raise T2CError(4, f"{len(free)} inputs expected, got {len(arrays)}")
        n_in = len(self.inputs)
        ins, keep = (C.c_void_p * max(n_in, 1))(), []
        for i, a in zip(free, arrays):
            a = _as_input(a, *self.inputs[i], f"input {i}")
            keep.append(a)
            ins[i] = a.ctypes.data
        outs = [np.empty(s, dtype=NUMPY[d]) for d, s in self.outputs]
        optr = (C.c_void_p * max(len(outs), 1))(*[o.ctypes.data for o in outs])
        err = _Error()
        _check(self._lib.t2c_op_call(self._h, ins, optr, C.byref(err)), err)
        return outs[0] if len(outs) == 1 else outs

    def close(self):
        if getattr(self, "_h", None):
            self._lib.t2c_op_free(self._h)
            self._h = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
