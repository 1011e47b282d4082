#!/usr/bin/python3
"""compare.py — t2c against PyTorch and ONNX Runtime, in one session, on the same machine, network,
batch size and thread count.

    /usr/bin/python3 bench/compare.py --build build-speed [--nets resnet18,resnet50,mobilenet_v2,fmnist]
        [--batches 1,8] [--threads 1,2] [--runs 20] [--rounds 1] [--markdown table.md] [--json results.json]

Contenders (median wall-clock latency of one batch, after warm-up runs):
  t2c ref / blas / simd   bench/t2c-bench --json on the .t2c model from formats/t2c-export
                          (ref runs at batch 1, 1 thread only: it is single-threaded and slow);
  torch fp32              torchvision model, torch.jit.freeze + optimize_for_inference;
  torch int8              FX-mode post-training quantization on the oneDNN engine
                          (get_default_qconfig_mapping("onednn")), jit traced and frozen;
  fake-int                a Torch2Chip-style fake-integer model: the .t2c graph run in PyTorch with
                          float conv/linear on integer-valued tensors and float scale/round/clamp
                          for requantize and add (eager, torch.no_grad, as Torch2Chip evaluates);
  ORT int8                ONNX Runtime (onnxruntime-node) on a QDQ ONNX model written here from the
                          same calibrated FX model as "torch int8" (int8 per-channel weights, uint8
                          activations, int32 biases), graph optimisation "all" (QLinearConv etc.).
Ratios are contender / t2c-simd (> 1: t2c is faster).

The PyTorch worker runs with glibc's mmap/trim thresholds raised (MALLOC_MMAP_THRESHOLD_ etc.): eager
PyTorch allocates every activation per call, and with the default thresholds its times here swing
2-6x with the allocator's history (page faults); this gives PyTorch its steady, best case.

Weights: random (seeded) for ResNet-18/50, the dequantized ImageNet MobileNet-V2 of
/work/shared/models, the trained Fashion-MNIST model of /work/cache; calibration on noise (speed
does not depend on the scales). Every process gets OMP/MKL/OPENBLAS_NUM_THREADS = the thread count
and no OPENBLAS_CORETYPE, so each library uses the CPU's own kernels.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = "/usr/bin/python3"

NETS = {
    "resnet18": {"arch": "resnet18", "weights": "random", "shape": (3, 224, 224)},
    "resnet50": {"arch": "resnet50", "weights": "random", "shape": (3, 224, 224)},
    "mobilenet_v2": {"arch": "mobilenet_v2", "weights": "/work/shared/models/mobilenet_v2-imagenet-dequant.pth",
                     "shape": (3, 224, 224)},
    "fmnist": {"arch": "fmnist", "weights": "/work/cache/fmnist_resnet.pt", "shape": (1, 28, 28)},
}


def log(msg):
    print(f"compare: {msg}", file=sys.stderr, flush=True)


def env_for(threads):
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[k] = str(threads)
    env["PYTHONPATH"] = os.path.join(ROOT, "formats", "python") + os.pathsep + env.get("PYTHONPATH", "")
    return env


# ---------------------------------------------------------------- torch side (worker process)

def load_float_model(net):
    import torch
    from t2c.models import ARCHS
    spec = NETS[net]
    torch.manual_seed(0)
    model = ARCHS[spec["arch"]]["make"]()
    if spec["weights"] != "random":
        sd = torch.load(spec["weights"], map_location="cpu")
        if isinstance(sd, dict) and "state_dict" in sd:
            sd = sd["state_dict"]
        elif isinstance(sd, dict) and "model" in sd and isinstance(sd["model"], dict):
            sd = sd["model"]
        model.load_state_dict(sd)
    return model.eval()


def calibrated_fx(model, shape):
    """FX post-training quantization for oneDNN, calibrated on seeded noise."""
    import torch
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import prepare_fx
    torch.backends.quantized.engine = "onednn"
    g = torch.Generator().manual_seed(1)
    example = torch.randn((1,) + shape, generator=g)
    prepared = prepare_fx(model, get_default_qconfig_mapping("onednn"), (example,))
    with torch.no_grad():
        for _ in range(4):
            prepared(torch.randn((2,) + shape, generator=g))
    return prepared


def export_qdq_onnx(prepared, shape, path):
    """Write a QDQ ONNX model from a calibrated FX model: every observer becomes QuantizeLinear ->
    DequantizeLinear with its scale/zero point, conv/linear weights int8 per-channel symmetric
    (PyTorch's per-channel observer) behind DequantizeLinear, biases int32 at s_in * s_w."""
    import numpy as np
    import onnx
    import operator
    import torch
    import torch.nn.functional as F
    from onnx import TensorProto, helper, numpy_helper
    from torch import nn
    from torch.ao.quantization.observer import ObserverBase, PerChannelMinMaxObserver
    import torch.ao.nn.intrinsic as nni

    nodes, inits = [], []
    names, scale_of = {}, {}
    counter = [0]

    def fresh(p):
        counter[0] += 1
        return f"{p}_{counter[0]}"

    def const(prefix, arr):
        name = fresh(prefix)
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def op(kind, inputs, **attrs):
        out = fresh(kind.lower())
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def weighted(mod, x, kind):
        relu = isinstance(mod, (nni.ConvReLU2d, nni.LinearReLU))
        core = mod[0] if relu else mod
        w = core.weight.detach()
        obs = PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8, qscheme=torch.per_channel_symmetric)
        obs(w)
        sw, zw = obs.calculate_qparams()
        shape_c = (-1,) + (1,) * (w.dim() - 1)
        wq = torch.clamp(torch.round(w / sw.reshape(shape_c)) + zw.reshape(shape_c), -128, 127).to(torch.int8)
        s_in = scale_of[x]
        wdq = op("DequantizeLinear", [const("w", wq.numpy()), const("sw", sw.numpy().astype(np.float32)),
                                      const("zw", zw.numpy().astype(np.int8))], axis=0)
        ins = [x, wdq]
        if core.bias is not None:
            sb = (sw.double() * s_in).numpy()
            bq = np.round(core.bias.detach().double().numpy() / sb).astype(np.int32)
            ins.append(op("DequantizeLinear", [const("b", bq), const("sb", sb.astype(np.float32)),
                                               const("zb", np.zeros(len(bq), np.int32))], axis=0))
        if kind == "Conv":
            y = op("Conv", ins, strides=list(core.stride), pads=list(core.padding) * 2,
                   dilations=list(core.dilation), group=core.groups,
                   kernel_shape=list(core.kernel_size))
        else:
            y = op("Gemm", ins, transB=1)
        return op("Relu", [y]) if relu else y

    for n in prepared.graph.nodes:
        if n.op == "placeholder":
            names[n] = "input"
        elif n.op == "output":
            out = names[n.args[0]]
            nodes.append(helper.make_node("Identity", [out], ["logits"]))
        elif n.op == "call_module":
            mod = prepared.get_submodule(n.target)  # observers may be shared by two names
            x = names[n.args[0]]
            if isinstance(mod, ObserverBase):
                s, zp = mod.calculate_qparams()
                s, zp = float(s), int(zp)
                zdt = np.uint8 if mod.dtype == torch.quint8 else np.int8
                sn, zn = const("s", np.array(s, np.float32)), const("zp", np.array(zp, zdt))
                q = op("QuantizeLinear", [x, sn, zn])
                names[n] = op("DequantizeLinear", [q, sn, zn])
                scale_of[names[n]] = s
            elif isinstance(mod, (nn.Conv2d, nni.ConvReLU2d)):
                names[n] = weighted(mod, x, "Conv")
            elif isinstance(mod, (nn.Linear, nni.LinearReLU)):
                names[n] = weighted(mod, x, "Gemm")
            elif isinstance(mod, nn.ReLU):
                names[n] = op("Relu", [x])
            elif isinstance(mod, (nn.ReLU6, nn.Hardtanh)):
                lo, hi = (0.0, 6.0) if isinstance(mod, nn.ReLU6) else (mod.min_val, mod.max_val)
                names[n] = op("Clip", [x, const("lo", np.array(lo, np.float32)), const("hi", np.array(hi, np.float32))])
            elif isinstance(mod, nn.MaxPool2d):
                k, s, p = (mod.kernel_size, mod.stride, mod.padding)
                k = [k, k] if isinstance(k, int) else list(k)
                s = [s, s] if isinstance(s, int) else list(s)
                p = [p, p] if isinstance(p, int) else list(p)
                names[n] = op("MaxPool", [x], kernel_shape=k, strides=s, pads=p * 2)
            elif isinstance(mod, nn.AdaptiveAvgPool2d):
                names[n] = op("GlobalAveragePool", [x])
            elif isinstance(mod, nn.Dropout):
                names[n] = x
            elif isinstance(mod, nn.Flatten):
                names[n] = op("Flatten", [x], axis=1)
            else:
                raise RuntimeError(f"QDQ export: module {type(mod).__name__} not handled")
        elif n.op in ("call_function", "call_method"):
            t = n.target
            if t in (operator.add, torch.add, "add"):
                names[n] = op("Add", [names[n.args[0]], names[n.args[1]]])
            elif t in (torch.flatten, "flatten"):
                names[n] = op("Flatten", [names[n.args[0]]], axis=1)
            elif t in (F.relu, torch.relu, "relu"):
                names[n] = op("Relu", [names[n.args[0]]])
            elif t is F.adaptive_avg_pool2d:
                names[n] = op("GlobalAveragePool", [names[n.args[0]]])
            else:
                raise RuntimeError(f"QDQ export: {n.op} {t} not handled")
    c, h, w = shape
    graph = helper.make_graph(
        nodes, "qdq", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", c, h, w])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", "classes"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="t2c bench/compare.py")
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, path)


class FakeInt:
    """Torch2Chip-style fake-integer execution of a .t2c graph: float32 tensors holding integers,
    float conv/linear, and requantize/add as a float multiply by the scale, round, clamp."""

    def __init__(self, path):
        import numpy as np
        import torch
        from t2c import container
        m = container.read(path)
        self.torch = torch
        self.tensors = m.tensors
        self.consts = {}
        for t in m.tensors.values():
            if t.data is not None:
                self.consts[t.name] = torch.from_numpy(np.asarray(t.data).astype(np.float32))
        self.ops = m.ops
        self.inputs, self.outputs = list(m.inputs), list(m.outputs)
        # free each activation after its last reader, as a module's forward does (holding them
        # all makes every run map fresh memory)
        last = {}
        for i, op in enumerate(self.ops):
            for name in op.inputs:
                if name and name not in self.consts:
                    last[name] = i
        self.dead = [[n for n, i in last.items() if i == k and n not in self.outputs] for k in range(len(self.ops))]
        # per-op float parameters, computed once
        self.prep = []
        for op in self.ops:
            a = op.attrs
            p = {}
            if op.type == "requantize":
                mult = np.asarray(a["multiplier"], np.float64)
                shift = np.asarray(a["shift"], np.float64)
                sc = torch.from_numpy((mult * 2.0 ** -shift).astype(np.float32))
                p["scale"] = sc
                p["zp"] = float(a.get("zero_point", 0))
                p["axis"] = a.get("axis", 1)
            elif op.type == "add":
                ls = a.get("left_shift", 0)
                p["sa"] = float(a.get("a_multiplier", 1) * 2.0 ** (ls - a.get("a_shift", 0)))
                p["sb"] = float(a.get("b_multiplier", 1) * 2.0 ** (ls - a.get("b_shift", 0)))
                p["so"] = float(a.get("out_multiplier", 1) * 2.0 ** -a.get("out_shift", 0))
            self.prep.append(p)

    def __call__(self, x):
        import torch.nn.functional as F
        torch = self.torch
        env = dict(self.consts)
        env[self.inputs[0]] = x
        for idx, (op, p) in enumerate(zip(self.ops, self.prep)):
            a = op.attrs
            ins = [env[i] if i else None for i in op.inputs]
            out_t = self.tensors[op.outputs[0]]
            if op.type == "conv2d":
                pads = a.get("pads", [0, 0, 0, 0])
                xin = ins[0] - a.get("x_zero_point", 0)
                if pads[0] != pads[2] or pads[1] != pads[3]:
                    xin = F.pad(xin, (pads[1], pads[3], pads[0], pads[2]))
                    pad = 0
                else:
                    pad = (pads[0], pads[1])
                w = ins[1] - a.get("w_zero_point", 0)
                y = F.conv2d(xin, w, ins[2] if len(ins) > 2 else None, a.get("strides", [1, 1]), pad,
                             a.get("dilations", [1, 1]), a.get("group", 1))
            elif op.type == "linear":
                y = F.linear(ins[0] - a.get("x_zero_point", 0), ins[1] - a.get("w_zero_point", 0),
                             ins[2] if len(ins) > 2 else None)
            elif op.type == "requantize":
                sc = p["scale"]
                if sc.numel() > 1:
                    shape = [1] * ins[0].dim()
                    shape[p["axis"]] = -1
                    sc = sc.reshape(shape)
                lo = a.get("lo", _dmin(out_t.dtype))
                hi = a.get("hi", _dmax(out_t.dtype))
                y = torch.clamp(torch.round(ins[0] * sc) + p["zp"], lo, hi)
            elif op.type == "add":
                s = (ins[0] - a.get("a_zero_point", 0)) * p["sa"] + (ins[1] - a.get("b_zero_point", 0)) * p["sb"]
                lo = a.get("lo", _dmin(out_t.dtype))
                hi = a.get("hi", _dmax(out_t.dtype))
                y = torch.clamp(torch.round(s * p["so"]) + a.get("out_zero_point", 0), lo, hi)
            elif op.type == "maxpool2d":
                k = a["kernel"]
                pads = a.get("pads", [0, 0, 0, 0])
                y = F.max_pool2d(ins[0], k, a.get("strides", k), (pads[0], pads[1]), a.get("dilations", [1, 1]))
            elif op.type == "global_avgpool":
                y = torch.round(ins[0].mean(dim=(2, 3), keepdim=True))
            elif op.type == "flatten":
                y = torch.flatten(ins[0], a.get("axis", 1))
            elif op.type == "reshape":
                y = ins[0].reshape([ins[0].shape[0]] + list(a["shape"]))
            elif op.type == "relu":
                y = torch.clamp(ins[0], min=a.get("zero_point", 0))
            elif op.type == "clamp":
                y = torch.clamp(ins[0], a.get("lo"), a.get("hi"))
            else:
                raise RuntimeError(f"fake-int: op {op.type} not handled")
            env[op.outputs[0]] = y
            for name in self.dead[idx]:
                del env[name]
        return env[self.outputs[0]]


def _dmin(dt):
    return {"int4": -8, "uint4": 0, "int8": -128, "uint8": 0, "int16": -32768, "int32": -2 ** 31}[dt]


def _dmax(dt):
    return {"int4": 7, "uint4": 15, "int8": 127, "uint8": 255, "int16": 32767, "int32": 2 ** 31 - 1}[dt]


def time_fn(fn, x, runs, warmup, max_seconds):
    for _ in range(warmup):
        fn(x)
    times, cpu = [], []
    start = time.perf_counter()
    while len(times) < runs:
        t0, c0 = time.perf_counter(), time.process_time()
        fn(x)
        times.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
        if len(times) >= 3 and time.perf_counter() - start > max_seconds:
            break
    return {"median_ms": statistics.median(times), "min_ms": min(times), "runs": len(times),
            "cpu_median_ms": statistics.median(cpu)}


def torch_worker(args):
    import torch
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    net = args.net
    shape = NETS[net]["shape"]
    batches = [int(b) for b in args.batches.split(",")]
    model = load_float_model(net)
    out = {"torch_version": torch.__version__, "results": []}
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        example = torch.randn((1,) + shape, generator=g)
        fp32 = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(load_float_model(net), example)))
        prepared = calibrated_fx(model, shape)
        if args.onnx and not os.path.exists(args.onnx):
            export_qdq_onnx(prepared, shape, args.onnx)
        from torch.ao.quantization.quantize_fx import convert_fx
        import copy
        int8 = convert_fx(copy.deepcopy(prepared))
        try:
            int8 = torch.jit.freeze(torch.jit.trace(int8, example))
        except RuntimeError as e:  # seen: oneDNN reorder failures with 2 threads; eager still runs
            out["notes"] = out.get("notes", []) + [f"torch int8: jit trace failed ({str(e).splitlines()[-1][:120]}); "
                                                   "timed in eager mode"]
        fake = FakeInt(args.t2c)
        t2c_in = NETS[net]["shape"]
        for b in batches:
            x = torch.randn((b,) + shape, generator=g)
            xi = torch.randint(-128, 128, (b,) + t2c_in, generator=g).float()
            for name, fn, inp in (("torch fp32", fp32, x), ("torch int8", int8, x), ("fake-int", fake, xi)):
                try:
                    r = time_fn(fn, inp, args.runs, 3, args.max_seconds)
                except RuntimeError as e:
                    out["notes"] = out.get("notes", []) + [f"{name} batch {b}: {str(e).splitlines()[-1][:160]}"]
                    continue
                r.update({"contender": name, "batch": b, "threads": args.threads})
                out["results"].append(r)
    print(json.dumps(out))


# ---------------------------------------------------------------- orchestration

def run_json(cmd, env, what):
    log(f"{what}: {' '.join(cmd)}")
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        log(f"{what} failed ({p.returncode}): {p.stderr.strip()[-600:]}")
        return None
    lines = [ln for ln in p.stdout.strip().splitlines() if ln.strip()]
    try:
        return json.loads(p.stdout) if p.stdout.strip().startswith("{\n") else json.loads(lines[-1])
    except json.JSONDecodeError:
        log(f"{what}: unreadable output: {p.stdout[-400:]}")
        return None


def ensure_t2c_model(net, cache):
    path = os.path.join(cache, f"{net}_int8.t2c")
    if os.path.exists(path):
        return path
    spec = NETS[net]
    calib = ["fmnist", "--calib-count", "64"] if net == "fmnist" else ["random", "--calib-count", "4"]
    cmd = [os.path.join(ROOT, "formats", "t2c-export"), "--arch", spec["arch"], "--weights", spec["weights"],
           "--calib"] + calib + ["-o", path]
    log("export: " + " ".join(cmd))
    subprocess.run(cmd, check=True, env=env_for(1), stderr=subprocess.DEVNULL)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nets", default="resnet18,resnet50,mobilenet_v2,fmnist")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat every contender's measurement this many times, interleaved (t2c, torch, ORT, "
                         "t2c, ...); each cell is then the median over the rounds, so load drifting during the "
                         "session hits every contender alike")
    ap.add_argument("--max-seconds", type=float, default=8.0, help="per measurement (at least 3 runs)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="meson build dir with bench/t2c-bench")
    ap.add_argument("--cache", default="/work/cache/speed/compare", help="exported models (outside the repo)")
    ap.add_argument("--ort-modules", default="/work/cache/ort/node_modules",
                    help="node_modules holding onnxruntime-node (npm install --ignore-scripts onnxruntime-node)")
    ap.add_argument("--no-ref", action="store_true", help="skip the t2c reference backend")
    ap.add_argument("--json", help="write all results here")
    ap.add_argument("--markdown", help="write the tables here")
    # worker mode (internal)
    ap.add_argument("--worker", choices=["torch"], help=argparse.SUPPRESS)
    ap.add_argument("--net", help=argparse.SUPPRESS)
    ap.add_argument("--t2c", help=argparse.SUPPRESS)
    ap.add_argument("--onnx", help=argparse.SUPPRESS)
    ap.add_argument("--threads-one", type=int, dest="threads_one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        args.threads = args.threads_one
        return torch_worker(args)

    os.makedirs(args.cache, exist_ok=True)
    bench = os.path.join(args.build, "bench", "t2c-bench")
    if not os.path.exists(bench):
        sys.exit(f"compare: {bench} not found (build with meson/ninja first)")
    ort_ok = os.path.isdir(os.path.join(args.ort_modules, "onnxruntime-node"))
    if not ort_ok:
        log(f"onnxruntime-node not found in {args.ort_modules}: ORT column skipped "
            "(npm install --ignore-scripts onnxruntime-node --prefix /work/cache/ort)")
    threads_list = [int(t) for t in args.threads.split(",")]
    batches = [int(b) for b in args.batches.split(",")]
    results = {"machine": {"loadavg_start": os.getloadavg(), "nproc": os.cpu_count()}, "nets": {}}
    for net in args.nets.split(","):
        model = ensure_t2c_model(net, args.cache)
        onnx_path = os.path.join(args.cache, f"{net}_int8_qdq.onnx")
        c, h, w = NETS[net]["shape"]
        rows = []
        info = {}
        for rnd, threads in [(r, t) for r in range(args.rounds) for t in threads_list]:
            if args.rounds > 1:
                log(f"{net}: round {rnd + 1} of {args.rounds}, {threads} thread(s)")
            env = env_for(threads)
            nbatch = max(batches)
            # t2c: blas and simd at batch 1 and N
            cmd = [bench, "--json", "--no-per-op", "-b", "blas,simd", "-t", str(threads), "-n", str(nbatch),
                   "-r", str(args.runs), "-s", str(args.max_seconds), model]
            t2c = run_json(cmd, env, f"{net} t2c {threads}t")
            if t2c:
                info["t2c"] = {k: t2c[k] for k in ("backends_available", "peaks_gmacs", "macs_per_image",
                                                   "openblas_note")}
                for r in t2c["results"]:
                    if r["batch"] in batches:
                        rows.append({"contender": "t2c " + r["backend"], "batch": r["batch"], "threads": threads,
                                     "round": rnd,
                                     "median_ms": r["median_ms"], "min_ms": r["min_ms"], "runs": r["runs"],
                                     "cpu_median_ms": r["cpu_median_ms"]})
            if threads == 1 and not args.no_ref and rnd == 0:
                cmd = [bench, "--json", "--no-per-op", "--no-peak", "-b", "ref", "-n", "1", "-w", "0", "-r", "3",
                       "-s", "1", model]
                ref = run_json(cmd, env, f"{net} t2c ref")
                if ref:
                    for r in ref["results"]:
                        rows.append({"contender": "t2c ref", "batch": 1, "threads": 1, "median_ms": r["median_ms"],
                                     "min_ms": r["min_ms"], "runs": r["runs"], "cpu_median_ms": r["cpu_median_ms"]})
            # PyTorch: fp32, FX int8 (oneDNN), Torch2Chip-style fake-int; also writes the QDQ ONNX
            cmd = [PY, os.path.abspath(__file__), "--worker", "torch", "--net", net, "--threads-one", str(threads),
                   "--batches", ",".join(map(str, batches)), "--runs", str(args.runs), "--max-seconds",
                   str(args.max_seconds), "--t2c", model, "--onnx", onnx_path]
            # glibc: keep freed tensors in the heap instead of unmapping them each call, otherwise
            # eager PyTorch pays page faults per run and its times swing 2-6x with the process history
            tenv = dict(env, MALLOC_MMAP_THRESHOLD_="4294967296", MALLOC_TRIM_THRESHOLD_="17179869184",
                        MALLOC_TOP_PAD_="268435456")
            tr = run_json(cmd, tenv, f"{net} torch {threads}t")
            if tr:
                info["torch_version"] = tr["torch_version"]
                rows += [dict(x, round=rnd) for x in tr["results"]]
                for note in tr.get("notes", []):
                    info.setdefault("notes", []).append(f"{threads} threads: {note}")
            if ort_ok and os.path.exists(onnx_path):
                oenv = dict(env, NODE_PATH=args.ort_modules)
                for b in batches:
                    cmd = ["node", os.path.join(HERE, "ort_bench.mjs"), onnx_path, str(b), str(c), str(h), str(w),
                           str(threads), str(args.runs), "3", str(args.max_seconds)]
                    o = run_json(cmd, oenv, f"{net} ORT {threads}t b{b}")
                    if o:
                        info["ort_version"] = o["ort_version"]
                        rows.append({"contender": "ORT int8", "batch": b, "threads": threads, "round": rnd,
                                     "median_ms": o["median_ms"], "min_ms": o["min_ms"], "runs": o["runs"],
                                     "cpu_median_ms": o["cpu_median_ms"]})
        for r in rows:
            r.setdefault("round", 0)
        results["nets"][net] = {"rows": merge_rounds(rows), "round_rows": rows, "info": info}
    results["machine"]["loadavg_end"] = os.getloadavg()
    text = markdown(results, batches, threads_list)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


def merge_rounds(rows):
    """One row per (contender, batch, threads): the median over the rounds of each round's median
    (min: the smallest; runs: the total), and, next to t2c simd's, the contender / t2c simd ratio of
    every round (ratios_by_round) so the spread of the ratio is visible."""
    groups = {}
    for r in rows:
        groups.setdefault((r["contender"], r["batch"], r["threads"]), []).append(r)
    simd = {(r["batch"], r["threads"], r["round"]): r for r in rows if r["contender"] == "t2c simd"}
    out = []
    for (name, b, t), rs in groups.items():
        m = dict(rs[0])
        m.pop("round", None)
        m["rounds"] = len(rs)
        for key in ("median_ms", "cpu_median_ms"):
            vals = [r[key] for r in rs if r.get(key) is not None]
            m[key] = statistics.median(vals) if vals else None
        m["min_ms"] = min(r["min_ms"] for r in rs)
        m["runs"] = sum(r["runs"] for r in rs)
        ratios = [r["median_ms"] / simd[(b, t, r["round"])]["median_ms"] for r in rs
                  if (b, t, r["round"]) in simd and simd[(b, t, r["round"])]["median_ms"]]
        if name != "t2c simd" and ratios:
            m["ratios_by_round"] = ratios
        out.append(m)
    return out


ORDER = ["t2c ref", "t2c blas", "t2c simd", "torch fp32", "torch int8", "fake-int", "ORT int8"]


def table(rows, batches, threads_list, key):
    out = ["| batch | threads | " + " | ".join(ORDER) + " |", "|" + "---|" * (2 + len(ORDER))]
    for b in batches:
        for t in threads_list:
            cells = {r["contender"]: r.get(key) for r in rows if r["batch"] == b and r["threads"] == t}
            spread = {r["contender"]: r.get("ratios_by_round") for r in rows if r["batch"] == b and r["threads"] == t}
            if not any(v is not None for v in cells.values()):
                continue
            base = cells.get("t2c simd")
            line = f"| {b} | {t} |"
            for k in ORDER:
                v = cells.get(k)
                if v is None:
                    line += " – |"
                elif base and k != "t2c simd":
                    rr = spread.get(k)
                    span = f", rounds {min(rr):.2f}–{max(rr):.2f}" if rr and len(rr) > 1 and key == "median_ms" else ""
                    line += f" {v:.2f} ({v / base:.2f}×{span}) |"
                else:
                    line += f" {v:.2f} |"
            out.append(line)
    return out


def markdown(results, batches, threads_list):
    out = []
    m = results["machine"]
    rounds = max((r.get("rounds", 1) for d in results["nets"].values() for r in d["rows"]), default=1)
    if rounds > 1:
        out.append(f"Each cell: the median over {rounds} interleaved rounds of each round's median; 'rounds a–b' "
                   f"is the range of the per-round ratio (wall clock).\n")
    out.append(f"Median latency of one batch in ms; in brackets contender / t2c simd (> 1: t2c is faster). "
               f"Load average {m['loadavg_start'][0]:.1f} at the start, {m['loadavg_end'][0]:.1f} at the end, "
               f"{m['nproc']} CPUs. Wall clock first; then, for 1 thread, the process CPU time, which other "
               f"processes on a shared machine disturb much less.\n")
    for net, d in results["nets"].items():
        rows = d["rows"]
        info = d["info"]
        extra = []
        if "t2c" in info:
            extra.append(f"{info['t2c']['macs_per_image'] / 1e9:.3f} GMAC/image; {info['t2c']['backends_available']}")
        if "torch_version" in info:
            extra.append(f"torch {info['torch_version']}")
        if "ort_version" in info:
            extra.append(f"onnxruntime-node {info['ort_version']}")
        notes = "".join(f"\nnote: {n}" for n in info.get("notes", []))
        out.append(f"\n### {net}\n\n{'; '.join(extra)}{notes}\n\nwall clock:\n")
        out += table(rows, batches, threads_list, "median_ms")
        out.append("\nprocess CPU time (1 thread):\n")
        out += table(rows, batches, [1], "cpu_median_ms")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
