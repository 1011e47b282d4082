"""The C engine equals the independent Python integer reference, bit for bit, on every op's output.

For each model and input, tests/t2c_dump_tool (the C engine with an AFTER hook on every op) writes
every op output as NNNN_<opname>.npy, and t2c.reference.run computes every op output in Python;
each pair must agree in dtype, shape and every bit. A mismatch names the op (index, name, type),
the first differing coordinates with both values, and how many elements differ.

The C side runs with several kernel backends (T2C_BACKEND = ref, auto, simd, blas) and thread counts
(T2C_THREADS), op by op, and also without hooks (`t2c_dump_tool --outputs-only`), where the session
fuses conv/linear with the following requantize; that run is compared on the graph outputs.

Models:
  - many random small graphs (tests/python/random_graphs.py; T2C_RANDOM_GRAPHS=N sets how many,
    default 500, T2C_RANDOM_GRAPHS_START the first seed), batch 1..3; graphs built to overflow a
    narrow accumulator under overflow = "error" must fail on both sides at the same op and output;
  - the Fashion-MNIST default models engine/default_model/fmnist_resnet_int8.t2c and _int4.t2c,
    on test images and full-range random inputs (batch > 1);
  - ResNet-18 (batch 2; TFLite rounding, 16-bit multipliers) and ResNet-50 (batch 1; defaults) with
    random weights, exported by formats/t2c-export at the full 224x224 resolution (needs torch);
  - MobileNet-V2 INT8 and W4A4 from ../shared/models on a dev image of ../shared/images/imagenet-dev
    (needs torch and ../shared).
Exports go to a temporary directory (or to $T2C_VERIFY_CACHE, reused when present), never the repo.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from collections import Counter

import numpy as np

from t2c import container
from t2c import reference as ref

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(REPO), "shared")
sys.path.insert(0, HERE)

import random_graphs  # noqa: E402


def _build_dir():
    d = os.environ.get("T2C_BUILD_DIR")
    if d:
        return d
    found = sorted(glob.glob(os.path.join(REPO, "build*", "tests", "t2c_dump_tool")))
    return os.path.dirname(os.path.dirname(found[0])) if found else ""


DUMP_TOOL = os.path.join(_build_dir(), "tests", "t2c_dump_tool")
EXPORTER = os.path.join(REPO, "formats", "t2c-export")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


FMNIST_TEST_IMAGES = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


def _have_torch():
    import importlib.util
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "torchvision"))


def _fmnist_test_images(count):
    """The first `count` Fashion-MNIST test images, uint8 [count, 28, 28] (idx3 format), or None."""
    import gzip
    if not os.path.exists(FMNIST_TEST_IMAGES):
        return None
    with gzip.open(FMNIST_TEST_IMAGES, "rb") as f:
        raw = f.read(16 + 784 * count)
    n, h, w = (int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(3))
    if raw[:4] != b"\x00\x00\x08\x03" or (h, w) != (28, 28) or n < count:
        return None
    return np.frombuffer(raw, np.uint8, count * 784, 16).reshape(count, 28, 28)


# ------------------------------------------------------------------------------------------------
# Comparison
# ------------------------------------------------------------------------------------------------

def _fmt(v):
    return repr(v.item()) if hasattr(v, "item") else repr(v)


def diff(c, p):
    """None if arrays c (C engine) and p (Python) agree in dtype, shape and bits; else a message."""
    if c.dtype != p.dtype:
        return f"dtype differs: C {c.dtype}, Python {p.dtype}"
    if c.shape != p.shape:
        return f"shape differs: C {list(c.shape)}, Python {list(p.shape)}"
    if c.dtype.kind == "f":      # bits, so -0.0, NaN payloads and infinities count too
        cb, pb = c.view(np.uint32 if c.itemsize == 4 else np.uint64), p.view(np.uint32 if p.itemsize == 4
                                                                              else np.uint64)
    else:
        cb, pb = c, p
    bad = cb != pb
    if not bad.any():
        return None
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    return (f"{int(bad.sum())} of {bad.size} elements differ; first at {list(first)}: "
            f"C {_fmt(c[first])}, Python {_fmt(p[first])}")


_COORD = re.compile(r"accumulator overflow at output \(([^)]*)\)")


def _c_overflow_flat(msg, out_shape):
    """Row-major flat output index from the C message '... at output (n=1, co=2, ...)'. The C ops
    name a multi-index over the output with leading dims merged (linear: row, m; matmul: batch,
    m, n), so the trailing dims of the output shape are its radices."""
    m = _COORD.search(msg)
    if not m:
        return None
    idx = [int(part.split("=")[1]) for part in m.group(1).split(",")]
    radices = list(out_shape[len(out_shape) - len(idx) + 1:]) if len(idx) > 1 else []
    flat = idx[0]
    for i, r in zip(idx[1:], radices):
        flat = flat * int(r) + i
    return flat


class Engine:
    """Runs the C dump tool and the Python reference on one model and compares every op."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.c_seconds = self.py_seconds = 0.0

    def _run_c(self, path, x, backend, threads, outputs_only):
        out = os.path.join(self.workdir, "out")
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        xpath = os.path.join(self.workdir, "input.npy")
        np.save(xpath, np.ascontiguousarray(x))
        env = dict(os.environ, T2C_BACKEND=backend, T2C_THREADS=str(threads))
        t0 = time.time()
        proc = subprocess.run([DUMP_TOOL, path, xpath, out] + (["--outputs-only"] if outputs_only else []),
                              capture_output=True, text=True, env=env)
        self.c_seconds += time.time() - t0
        return proc, out

    def _run_py(self, model, feeds):
        t0 = time.time()
        py, err = {}, None
        try:
            env = ref.run(model, feeds, on_op=lambda i, op, outs: py.__setitem__(i, outs[0]))
        except ref.OpError as e:
            env, err = None, e
        self.py_seconds += time.time() - t0
        return py, env, err

    def compare(self, model, path, feeds, expect=None, label="", backend="ref", threads=1, py=None):
        """Every op output: C (dump tool with an AFTER hook on every op, so nothing is fused) against
        Python. -> list of problems (empty when they agree). `py` may carry an earlier _run_py."""
        if len(model.inputs) != 1:
            return [f"{label}: the dump tool feeds one graph input, the model has {len(model.inputs)}"]
        label = f"{label} [{backend}, {threads} thread{'s' if threads > 1 else ''}]"
        x = feeds[model.inputs[0]]
        proc, out = self._run_c(path, x, backend, threads, False)
        py, _, py_err = py or self._run_py(model, feeds)

        problems = []
        c_files = {}
        for f in os.listdir(out):
            mm = re.match(r"(\d{4})_", f)
            if mm:
                c_files[int(mm.group(1))] = os.path.join(out, f)
        for i, op in enumerate(model.ops):
            where = f"{label}: op #{i} '{op.name}' ({op.type})"
            if i in py and i in c_files:
                d = diff(np.load(c_files[i]), py[i])
                if d:
                    problems.append(f"{where}: {d}")
            elif i in py or i in c_files:
                side = "Python" if i in py else "C"
                if expect is None or i != expect["op"]:
                    problems.append(f"{where}: only {side} produced an output")
        if expect is None:
            if proc.returncode != 0:
                problems.append(f"{label}: C engine failed (rc {proc.returncode}): {proc.stderr.strip()}")
            if py_err is not None:
                problems.append(f"{label}: Python reference failed: {py_err}")
        else:
            op = model.ops[expect["op"]]
            where = f"{label}: op #{expect['op']} '{op.name}' ({op.type})"
            shape = (x.shape[0],) + tuple(model.tensors[op.outputs[0]].shape[1:])
            if proc.returncode == 0:
                problems.append(f"{where}: expected an accumulator overflow, the C engine succeeded")
            elif f"op '{op.name}'" not in proc.stderr or "overflow" not in proc.stderr:
                problems.append(f"{where}: expected an accumulator overflow here, C said: {proc.stderr.strip()}")
            else:
                flat = _c_overflow_flat(proc.stderr, shape)
                if flat != expect["flat"]:
                    problems.append(f"{where}: first overflowing output: C flat index {flat} "
                                    f"({proc.stderr.strip()}), Python {expect['flat']}")
            if not isinstance(py_err, ref.AccumulatorOverflow) or f"'{op.name}'" not in str(py_err):
                problems.append(f"{where}: expected an accumulator overflow, Python said: {py_err}")
        return problems

    def compare_outputs(self, model, path, feeds, label="", backend="auto", threads=1, py=None):
        """Graph outputs only, C run without hooks (fused kernels, as in production) against Python."""
        label = f"{label} [{backend}, {threads} thread{'s' if threads > 1 else ''}, no hooks]"
        proc, out = self._run_c(path, feeds[model.inputs[0]], backend, threads, True)
        _, env, py_err = py or self._run_py(model, feeds)
        if proc.returncode != 0 or py_err is not None:
            return [f"{label}: C rc {proc.returncode} ({proc.stderr.strip()}), Python: {py_err}"]
        problems = []
        for k, name in enumerate(model.outputs):
            d = diff(np.load(os.path.join(out, f"out{k}.npy")), env[name])
            if d:
                problems.append(f"{label}: graph output #{k} '{name}': {d}")
        return problems


# (backend, threads, per-op) runs of the C side for every real model: the reference kernels op by
# op, the fastest kernels op by op on 2 threads, and without hooks (fused epilogues) on 2 threads.
MODEL_RUNS = (("ref", 1, True), ("auto", 2, True), ("auto", 2, False))


def _check(testcase, engine, model, path, feeds, label, runs=MODEL_RUNS):
    py = engine._run_py(model, feeds)
    problems = []
    for backend, threads, per_op in runs:
        if per_op:
            problems += engine.compare(model, path, feeds, label=label, backend=backend, threads=threads, py=py)
        else:
            problems += engine.compare_outputs(model, path, feeds, label=label, backend=backend,
                                               threads=threads, py=py)
    if problems:
        testcase.fail(f"C engine and Python reference differ on {label} ({len(problems)} problems):\n  "
                      + "\n  ".join(problems[:20]))
    return len(model.ops)


def _random_input(model, batch, seed):
    t = model.tensors[model.inputs[0]]
    lo, hi = ref.DTYPE_RANGE[t.dtype]
    rng = np.random.default_rng(seed)
    return rng.integers(lo, hi + 1, size=(batch,) + tuple(t.shape[1:])).astype(ref.NP_DTYPE[t.dtype])


def _quantize_input(model, x):
    """Float preprocessed images -> the graph input, with the model's input.scale/zero_point."""
    t = model.tensors[model.inputs[0]]
    return ref.quantize(np.asarray(x, np.float32), float(model.meta["input.scale"]),
                        int(model.meta["input.zero_point"]), dtype=t.dtype)


@unittest.skipUnless(os.path.exists(DUMP_TOOL), f"{DUMP_TOOL} is not built (set T2C_BUILD_DIR)")
class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="t2c-verify-")
        self.engine = Engine(self.tmp)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


# ------------------------------------------------------------------------------------------------
# The comparison itself can fail
# ------------------------------------------------------------------------------------------------

class TestComparisonCanFail(Base):
    def test_diff_reports_first_coordinate(self):
        a = np.array([[1, 2], [3, 4]], np.int8)
        b = a.copy()
        b[1, 0] = -3
        self.assertEqual(diff(a, b), "1 of 4 elements differ; first at [1, 0]: C 3, Python -3")
        self.assertIn("dtype", diff(a, a.astype(np.uint8)))
        self.assertIn("shape", diff(a, a.reshape(1, 4)))
        self.assertIsNone(diff(a, a.copy()))
        z = np.zeros(2, np.float32)
        self.assertIn("first at [1]", diff(z, np.array([0.0, -0.0], np.float32)))

    def test_c_overflow_coordinates(self):
        self.assertEqual(_c_overflow_flat("op 'c' (conv2d): accumulator overflow at output "
                                          "(n=1, co=2, oh=0, ow=3): 5 + 6 is outside", (2, 3, 4, 5)),
                         ((1 * 3 + 2) * 4 + 0) * 5 + 3)
        self.assertEqual(_c_overflow_flat("accumulator overflow at output (row=4, m=1): x", (2, 3, 6)), 4 * 6 + 1)
        self.assertEqual(_c_overflow_flat("accumulator overflow at output (batch=3, m=1, n=2): x", (2, 2, 4, 5)),
                         (3 * 4 + 1) * 5 + 2)
        self.assertIsNone(_c_overflow_flat("op 'c' (conv2d): something else", (1, 1, 1, 1)))

    def test_a_wrong_output_is_caught(self):
        """A graph whose Python side is tampered with must be reported, op and coordinate."""
        m = container.Model()
        m.add_tensor("x", "int8", (1, 2, 3))
        m.add_tensor("y", "int8", (1, 2, 3))
        m.add_op("relu", "r", ["x"], ["y"], zero_point=-1)
        m.inputs, m.outputs = ["x"], ["y"]
        path = os.path.join(self.tmp, "m.t2c")
        container.write(m, path)
        x = np.array([[[-5, 0, 7], [-1, -2, 127]]], np.int8)
        self.assertEqual(self.engine.compare(m, path, {"x": x}), [])
        self.assertEqual(self.engine.compare_outputs(m, path, {"x": x}), [])
        m.ops[0].attrs["zero_point"] = -2      # the Python side now computes another function
        problems = self.engine.compare(m, path, {"x": x}, label="tampered")
        # C: max(x, -1) = [-1, 0, 7], [-1, -1, 127]; Python: max(x, -2) = [-2, 0, 7], [-1, -2, 127]
        self.assertEqual(problems, ["tampered [ref, 1 thread]: op #0 'r' (relu): 2 of 6 elements differ; "
                                    "first at [0, 0, 0]: C -1, Python -2"])
        problems = self.engine.compare_outputs(m, path, {"x": x}, label="tampered", threads=2)
        self.assertEqual(problems, ["tampered [auto, 2 threads, no hooks]: graph output #0 'y': 2 of 6 "
                                    "elements differ; first at [0, 0, 0]: C -1, Python -2"])


# ------------------------------------------------------------------------------------------------
# Random graphs
# ------------------------------------------------------------------------------------------------

# The integer ops of ops/README.md, all of which the random graphs must exercise.
INTEGER_OPS = ("quantize", "dequantize", "conv2d", "linear", "matmul", "requantize", "add", "relu", "clamp",
               "maxpool2d", "avgpool2d", "global_avgpool", "flatten", "reshape", "concat")


# C backends the random graphs rotate through (each seed: one backend op by op, 1 or 2 threads;
# every even seed also the default backend without hooks, so fused kernels run).
BACKENDS = ("ref", "auto", "simd", "blas")


class TestRandomGraphs(Base):
    def test_generator_is_deterministic(self):
        for seed in (0, 7, 123):
            m1, f1, e1 = random_graphs.make(seed)
            m2, f2, e2 = random_graphs.make(seed)
            self.assertEqual(container.to_bytes(m1), container.to_bytes(m2), f"seed {seed}")
            self.assertEqual(e1, e2)
            for k in f1:
                self.assertEqual(f1[k].tobytes(), f2[k].tobytes())
        self.assertNotEqual(container.to_bytes(random_graphs.make(1)[0]), container.to_bytes(random_graphs.make(2)[0]))

    def test_random_graphs(self):
        count = int(os.environ.get("T2C_RANDOM_GRAPHS", "500"))
        start = int(os.environ.get("T2C_RANDOM_GRAPHS_START", "0"))
        path = os.path.join(self.tmp, "g.t2c")
        failures, ops, seen = [], 0, Counter()
        t0 = time.time()
        for seed in range(start, start + count):
            try:
                model, feeds, expect = random_graphs.make(seed)
            except Exception as e:  # a generator bug is a test failure, with its seed
                failures.append(f"seed {seed}: generator failed: {type(e).__name__}: {e}")
                continue
            container.write(model, path)
            backend = BACKENDS[seed % len(BACKENDS)]
            threads = 1 + (seed // len(BACKENDS)) % 2
            py = self.engine._run_py(model, feeds)
            problems = self.engine.compare(model, path, feeds, expect, label=f"seed {seed}", backend=backend,
                                           threads=threads, py=py)
            if expect is None and seed % 2 == 0:
                problems += self.engine.compare_outputs(model, path, feeds, label=f"seed {seed}",
                                                        threads=2 - (seed // 2) % 2, py=py)
            if problems:
                failures.append("\n    ".join(problems[:5]))
            ops += len(model.ops)
            seen["batch>1"] += feeds[model.inputs[0]].shape[0] > 1
            seen["overflow error"] += expect is not None
            for op in model.ops:
                seen[op.type] += 1
                a = op.attrs
                if "rounding" in a:
                    seen["rounding " + a["rounding"]] += 1
                if "overflow" in a:
                    seen["overflow " + a["overflow"]] += 1
                if op.type == "conv2d" and a.get("group", 1) > 1:
                    seen["grouped conv"] += 1
                if op.type == "requantize" and len(a["multiplier"]) > 1:
                    seen["per-channel requantize"] += 1
                for role in op.inputs:
                    if role and model.tensors[role].dtype in ("int4", "uint4"):
                        seen["4-bit " + model.tensors[role].dtype] += 1
        elapsed = time.time() - t0
        print(f"\n{count} random graphs (seeds {start}..{start + count - 1}), {ops} ops, "
              f"{elapsed:.1f} s (C {self.engine.c_seconds:.1f} s, Python {self.engine.py_seconds:.1f} s); "
              f"{dict(sorted(seen.items()))}", file=sys.stderr)
        self.assertFalse(failures, f"{len(failures)} of {count} random graphs differ:\n  "
                         + "\n  ".join(failures[:15]))
        if count >= 100:    # the generator must keep covering what it claims
            wanted = list(INTEGER_OPS) + [f"rounding {r}" for r in ref.ROUNDINGS] + \
                [f"overflow {o}" for o in ref.OVERFLOWS] + \
                ["batch>1", "overflow error", "grouped conv", "per-channel requantize", "4-bit int4", "4-bit uint4"]
            missing = [w for w in wanted if not seen[w]]
            self.assertFalse(missing, f"the random graphs never exercised: {missing}")


# ------------------------------------------------------------------------------------------------
# Fashion-MNIST default models
# ------------------------------------------------------------------------------------------------

class TestFashionMnist(Base):
    def _run(self, variant):
        path = os.path.join(REPO, "engine", "default_model", f"fmnist_resnet_{variant}.t2c")
        if not os.path.exists(path):
            self.skipTest(f"{os.path.relpath(path, REPO)} is not there yet")
        model = container.read(path)
        xs = [_random_input(model, 4, 1)]
        imgs = _fmnist_test_images(12)
        if imgs is not None:
            # t2c-format.md preprocessing: (p/255 - mean) / std in binary32, then the input quantize
            mean = np.float32(model.meta["preprocess.mean"][0])
            std = np.float32(model.meta["preprocess.std"][0])
            f = (imgs.astype(np.float32) / np.float32(255.0) - mean) / std
            xs.insert(0, _quantize_input(model, f[:, None]))
        else:
            print(f"\n{variant}: no Fashion-MNIST test images ({FMNIST_TEST_IMAGES}); random inputs only",
                  file=sys.stderr)
        x = np.concatenate(xs)
        _check(self, self.engine, model, path, {model.inputs[0]: x}, f"fmnist {variant} (batch {len(x)})",
               runs=MODEL_RUNS + (("simd", 1, True), ("blas", 2, True), ("ref", 1, False)))

    def test_fmnist_int8(self):
        self._run("int8")

    def test_fmnist_int4(self):
        self._run("int4")


# ------------------------------------------------------------------------------------------------
# Exported torchvision models
# ------------------------------------------------------------------------------------------------

_EXPORTS = {}   # (arch, args) -> path, shared by the tests of one run


def _export(testcase, key, args):
    """Run formats/t2c-export (or reuse $T2C_VERIFY_CACHE/<key>.t2c) and return the file's path."""
    if not os.path.exists(EXPORTER):
        testcase.skipTest("formats/t2c-export is not there")
    if not _have_torch():
        testcase.skipTest("PyTorch/torchvision are not installed")
    cache = os.environ.get("T2C_VERIFY_CACHE")
    if key in _EXPORTS and os.path.exists(_EXPORTS[key]):
        return _EXPORTS[key]
    if cache:
        os.makedirs(cache, exist_ok=True)
        path = os.path.join(cache, key + ".t2c")
        if os.path.exists(path):
            _EXPORTS[key] = path
            return path
    else:
        path = os.path.join(_export_dir(), key + ".t2c")
    t0 = time.time()
    proc = subprocess.run([PYTHON, EXPORTER] + args + ["-o", path], capture_output=True, text=True)
    if proc.returncode != 0:
        testcase.fail(f"t2c-export {' '.join(args)} failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")
    print(f"\nexported {key} in {time.time() - t0:.1f} s", file=sys.stderr)
    _EXPORTS[key] = path
    return path


_EXPORT_DIR = []


def _export_dir():
    if not _EXPORT_DIR:
        _EXPORT_DIR.append(tempfile.mkdtemp(prefix="t2c-verify-export-"))
    return _EXPORT_DIR[0]


def tearDownModule():
    for d in _EXPORT_DIR:
        shutil.rmtree(d, ignore_errors=True)


class TestResNetRandomWeights(Base):
    """Random weights, calibrated on noise, at the full 224x224 input: exactness, not accuracy."""

    def _run(self, arch, batch, key, extra):
        path = _export(self, key, ["--arch", arch, "--weights", "random", "--seed", "3", "--calib", "random",
                                   "--calib-count", "4", "--batch", "4"] + extra)
        model = container.read(path)
        x = _random_input(model, batch, 7)
        t0 = time.time()
        n = _check(self, self.engine, model, path, {model.inputs[0]: x}, f"{arch} random weights (batch {batch})")
        print(f"\n{arch}: {n} ops equal, batch {batch}, {time.time() - t0:.1f} s", file=sys.stderr)

    def test_resnet18_tflite(self):
        # TFLite rounding, 16-bit multipliers, percentile activations: the tflite add/requantize path
        self._run("resnet18", 2, "resnet18-random-tflite",
                  ["--rounding", "tflite", "--mult-bits", "16", "--act-observer", "percentile"])

    def test_resnet50(self):
        self._run("resnet50", 1, "resnet50-random", [])


MBV2_WEIGHTS = os.path.join(SHARED, "models", "mobilenet_v2-imagenet-dequant.pth")
DEV_IMAGES = os.path.join(SHARED, "images", "imagenet-dev")


@unittest.skipUnless(os.path.exists(MBV2_WEIGHTS) and os.path.isdir(DEV_IMAGES),
                     f"{SHARED} (MobileNet-V2 weights and ImageNet dev images) is absent")
class TestMobileNetV2(Base):
    def _run(self, key, extra):
        path = _export(self, key, ["--arch", "mobilenet_v2", "--weights", MBV2_WEIGHTS, "--calib", DEV_IMAGES,
                                   "--calib-count", "8", "--batch", "8"] + extra)
        model = container.read(path)
        from PIL import Image

        from t2c.export.data import list_images, preprocess_image
        from t2c.models import ARCHS
        image = list_images(DEV_IMAGES)[0]
        with Image.open(image) as im:
            x = _quantize_input(model, preprocess_image(im, ARCHS["mobilenet_v2"]["pre"]())[None])
        t0 = time.time()
        n = _check(self, self.engine, model, path, {model.inputs[0]: x},
                   f"MobileNet-V2 {key} on {os.path.basename(image)}")
        print(f"\n{key}: {n} ops equal, {time.time() - t0:.1f} s", file=sys.stderr)

    def test_int8(self):
        self._run("mobilenet_v2-int8", ["--wbits", "8", "--abits", "8"])

    def test_w4a4(self):
        self._run("mobilenet_v2-w4a4", ["--wbits", "4", "--abits", "4", "--first-last-8bit"])


if __name__ == "__main__":
    unittest.main()
