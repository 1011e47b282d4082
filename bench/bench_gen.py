#!/usr/bin/python3
"""t2c-gen speed: generated op instances per second and golden MB/s, per op and for a whole model.

Each op type: `t2c-gen --op OP --count N --seed 1 -f FORMATS --bench` into a fresh directory (a
tmpfs when there is one); t2c-gen's --bench line gives instances, golden bytes and wall seconds of
the whole loop (build the one-op model, load, run with the reference kernels, write files and
manifest). The CPU seconds of the child (user + system) are measured here too: on a shared machine
the CPU figure is the one to trust. Whole model: `t2c-gen --from-model MODEL` (every op, all roles)
for each --model (default: the engine's default FMNIST ResNet). Best of --repeat runs.

    bench/bench_gen.py [--build build] [--count 200] [--formats hex] [--model M.t2c ...]
"""
import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OPS = ("conv2d", "linear", "matmul", "requantize", "add", "pool", "softmax", "layernorm", "gelu")
LINE = re.compile(r"(\d+) instances in ([0-9.]+) s: ([0-9.]+) instances/s, ([0-9.]+) MB golden, ([0-9.]+) MB/s")


def run(gen, args, tmp):
    out = tempfile.mkdtemp(dir=tmp)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run([gen] + args + ["--out", out, "--bench"], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    shutil.rmtree(out, ignore_errors=True)
    if p.returncode:
        sys.exit(f"bench_gen: {' '.join(args)}: {p.stderr.strip()}")
    m = LINE.search(p.stderr)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    n, secs, mb = int(m.group(1)), float(m.group(2)), float(m.group(4))
    return n, secs, mb, cpu, wall


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--formats", default="hex")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--model", action="append", default=[])
    a = ap.parse_args()
    gen = os.path.join(a.build, "golden", "t2c-gen")
    tmp = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    models = a.model or [os.path.join(ROOT, "engine", "default_model", "fmnist_resnet_int8.t2c")]
    print(f"{'what':<34} {'instances':>9} {'inst/s':>10} {'inst/cpu-s':>10} {'MB':>8} {'MB/s':>8} {'MB/cpu-s':>9}")
    for op in OPS:
        best = min((run(gen, ["--op", op, "--count", str(a.count), "--seed", "1", "-f", a.formats], tmp)
                    for _ in range(a.repeat)), key=lambda r: r[3])
        n, secs, mb, cpu, _ = best
        print(f"{op:<34} {n:>9} {n / secs:>10.1f} {n / cpu:>10.1f} {mb:>8.2f} {mb / secs:>8.1f} {mb / cpu:>9.1f}")
    for model in models:
        best = min((run(gen, ["--from-model", model, "--seed", "1", "-f", a.formats], tmp)
                    for _ in range(a.repeat)), key=lambda r: r[3])
        n, secs, mb, cpu, _ = best
        name = "model " + os.path.basename(model)
        print(f"{name:<34} {n:>9} {n / secs:>10.1f} {n / cpu:>10.1f} {mb:>8.2f} {mb / secs:>8.1f} {mb / cpu:>9.1f}")


if __name__ == "__main__":
    main()
