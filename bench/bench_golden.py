#!/usr/bin/python3
"""Golden-vector writing speed (t2c-golden) against the machine's plain sequential write speed.

For ResNet-18 and ResNet-50 (random weights, made with formats/t2c-export when missing) and one
random image, every op's golden vectors (all roles) are written in each chosen format; the
writer's own clocks (t2c-golden --stats: wall and CPU time spent inside the hook formatting
and writing, not running the ops) give MB/s and MB per CPU second; the CPU figure is the one
to trust on a shared machine, where wall time mostly measures waiting for a core. The reference is `dd if=/dev/zero bs=4M` into the same
directory, without and with conv=fdatasync (page cache vs. disk). Each number is the best of
--repeat runs (the machine may be shared).

    bench/bench_golden.py [--build build] [--out /tmp/t2c-golden-bench] [--formats hex,raw,npy]
"""
import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "formats", "python"))


def dd_speed(directory, mb, sync):
    """(MB/s by wall time, MB per CPU second) of dd writing zeros."""
    path = os.path.join(directory, "dd.bin")
    args = ["dd", "if=/dev/zero", f"of={path}", "bs=4M", f"count={max(1, mb // 4)}"]
    if sync:
        args.append("conv=fdatasync")
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    size = os.path.getsize(path)
    os.remove(path)
    return size / 1e6 / dt, size / 1e6 / max(cpu, 1e-6)


def make_model(arch, path):
    if os.path.exists(path):
        return
    print(f"making {path} (random weights) ...", file=sys.stderr)
    subprocess.run([sys.executable, os.path.join(ROOT, "formats", "t2c-export"), "--arch", arch, "--weights",
                    "random", "--calib", "random", "--calib-count", "4", "--batch", "4", "--compress", "0",
                    "-o", path], check=True)


def make_input(model_path, path):
    import numpy as np
    from t2c import container
    m = container.read(model_path)
    t = m.tensors[m.inputs[0]]
    lo, hi = {"int8": (-128, 127), "uint8": (0, 255), "int4": (-8, 7), "uint4": (0, 15)}[t.dtype]
    x = np.random.default_rng(0).integers(lo, hi + 1, (1,) + tuple(t.shape[1:]))
    np.save(path, x.astype(np.uint8 if t.dtype.startswith("u") else np.int8))


def run_golden(exe, model, x, out, fmt, extra):
    shutil.rmtree(out, ignore_errors=True)
    p = subprocess.run([exe, model, x, "--out", out, "-q", "--stats", "--no-progress", "--backend", "auto",
                        "-f", fmt] + extra, capture_output=True, text=True, check=True)
    m = re.search(r"files=(\d+) bytes=(\d+) write_seconds=([0-9.]+) write_cpu_seconds=([0-9.]+)", p.stderr)
    shutil.rmtree(out, ignore_errors=True)
    return int(m.group(1)), int(m.group(2)), float(m.group(3)), float(m.group(4))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.environ.get("T2C_BUILD_DIR", os.path.join(ROOT, "build")))
    ap.add_argument("--out", default="/tmp/t2c-golden-bench", help="directory to write into (and keep models in)")
    ap.add_argument("--models", default="resnet18,resnet50")
    ap.add_argument("--formats", default="hex,bin,raw,npy,dec,all")
    ap.add_argument("--extra", default="", help="more t2c-golden options, e.g. '--word-bits 64'")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dd-mb", type=int, default=400)
    args = ap.parse_args()
    exe = os.path.join(args.build, "golden", "t2c-golden")
    if not os.path.exists(exe):
        sys.exit(f"bench_golden: {exe} not built")
    os.makedirs(args.out, exist_ok=True)

    cache = [dd_speed(args.out, args.dd_mb, False) for _ in range(args.repeat)]
    disk = [dd_speed(args.out, args.dd_mb, True) for _ in range(args.repeat)]
    dd_cache, dd_cache_cpu = max(c[0] for c in cache), max(c[1] for c in cache)
    dd_disk = max(d[0] for d in disk)
    print(f"dd bs=4M {args.dd_mb} MB into {args.out}: {dd_cache:.0f} MB/s (page cache; "
          f"{dd_cache_cpu:.0f} MB per CPU second), {dd_disk:.0f} MB/s (conv=fdatasync)")
    print()
    print("| model | formats | files | MB written | write s | MB/s | vs dd (cache) | vs dd (fdatasync) "
          "| CPU s | MB per CPU s | vs dd per CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for arch in args.models.split(","):
        model = os.path.join(args.out, f"{arch}.t2c")
        make_model(arch, model)
        x = os.path.join(args.out, f"{arch}_input.npy")
        make_input(model, x)
        for fmt in args.formats.split(","):
            runs = [run_golden(exe, model, x, os.path.join(args.out, "dump"), fmt, args.extra.split())
                    for _ in range(args.repeat)]
            files, size = runs[0][0], runs[0][1]
            secs, cpu = min(r[2] for r in runs), min(r[3] for r in runs)
            mbs, mbc = size / 1e6 / secs, size / 1e6 / max(cpu, 1e-6)
            print(f"| {arch} | {fmt} | {files} | {size / 1e6:.0f} | {secs:.2f} | {mbs:.0f} | "
                  f"{mbs / dd_cache:.2f}x | {mbs / dd_disk:.2f}x | {cpu:.2f} | {mbc:.0f} | {mbc / dd_cache_cpu:.2f}x |",
                  flush=True)


if __name__ == "__main__":
    main()
