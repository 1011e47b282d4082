#!/usr/bin/python3
"""imagenet_accuracy.py — MobileNet-V2 ImageNet accuracy: float PyTorch against the C engine (INT8, W4A8,
W4A4) on the same 100 dev images, and the random-weight ResNet-18/50 and VGG-16-BN smoke exports.

    /usr/bin/python3 bench/imagenet_accuracy.py [--build build] [--cache /tmp/t2c-imagenet]
        [--study] [--no-twins] [--no-random] [--force]

What it does (one thread everywhere; every command it runs is printed):
  1. formats/t2c-export writes mobilenet_v2 INT8, W4A8 and W4A4 .t2c files from
     /work/shared/models/mobilenet_v2-imagenet-dequant.pth into the cache folder (outside the repo: never
     commit files derived from /work/shared), calibrated on --calib-count images of the dev folder;
     a cached file is reused while its export command is unchanged (--force re-exports).
  2. t2c-run --json on the dev folder (file names <wnid>_*.JPEG give the class): top-1 / top-5.
  3. Float PyTorch: torchvision mobilenet_v2 with that state_dict, PIL loading, torchvision
     Resize(256) + CenterCrop(224) + ToTensor + Normalize; and the same float model fed t2c's own
     preprocessed pixels (tests/t2c_preprocess_tool: stb_image decoding, which differs from PIL's
     libjpeg by up to 3 levels on ~2% of the pixels), so the float/engine comparison is clean.
  4. Unless --no-twins: the exporter's fake-quant PyTorch twin of each variant, built in-process from the
     same arguments (checked to give the same integer graph as the CLI's file): float32 on PIL pixels,
     and float64 on t2c's pixels, which should reproduce t2c-run's logits exactly.
  5. --study: the W4 remedies (first/last layer 8-bit, MSE observers, depthwise / projection convs at
     8 bits via --override), engine top-1/top-5 each.
  6. Unless --no-random: ResNet-18, ResNet-50, VGG-16-BN with random weights (seeded), calibrated on 8
     dev images: t2c-info MACs and activation memory (planned peak vs sum of all tensors), t2c-run
     seconds per image on --random-images images.
Results: markdown tables on stdout, and results.json in the cache folder.

Caveat: 100 images is a small sample. Moving one image changes top-1 by a point, and redrawing the
calibration images moves INT8 top-1 by about +-2 points; "agree" (top-1 equal to the float model's top-1
on the same pixels) is the steadier measure.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "formats", "python"))
EXPORT = os.path.join(ROOT, "formats", "t2c-export")
WEIGHTS = "/work/shared/models/mobilenet_v2-imagenet-dequant.pth"
IMAGES = "/work/shared/images/imagenet-dev"
WNID_TSV = "/work/shared/models/imagenet_classes.tsv"
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]

# MobileNet-V2 layer groups (torchvision names of the fused IR), for the W4 study's overrides.
DEPTHWISE = ["features.1.conv.0.0"] + [f"features.{i}.conv.1.0" for i in range(2, 18)]
PROJECTION = ["features.1.conv.1"] + [f"features.{i}.conv.2" for i in range(2, 18)]
ADDS = [f"features.{i}.add" for i in (3, 5, 6, 8, 9, 10, 12, 13, 15, 16)]

# The three variants of the main table: standard PTQ recipes (W4: first/last layer 8-bit, MSE clipping).
VARIANTS = [
    ("INT8", "int8", ["--wbits", "8", "--abits", "8"]),
    ("W4A8", "w4a8", ["--wbits", "4", "--abits", "8", "--first-last-8bit", "--weight-observer", "mse"]),
    ("W4A4", "w4a4", ["--wbits", "4", "--abits", "4", "--first-last-8bit", "--weight-observer", "mse",
                      "--act-observer", "mse"]),
]


def overrides(names, spec):
    out = []
    for n in names:
        out += ["--override", f"{n}={spec}"]
    return out


# W4 remedies: (label, short name, export options).
STUDY = [
    ("W4A8", "s_w4a8", ["--wbits", "4", "--abits", "8"]),
    ("W4A8 + first/last 8-bit", "s_w4a8_fl", ["--wbits", "4", "--abits", "8", "--first-last-8bit"]),
    ("W4A8 + first/last 8-bit + MSE weights", "s_w4a8_fl_wmse",
     ["--wbits", "4", "--abits", "8", "--first-last-8bit", "--weight-observer", "mse"]),
    ("W4A8 + first/last 8-bit + MSE weights + depthwise W8", "s_w4a8_fl_wmse_dw",
     ["--wbits", "4", "--abits", "8", "--first-last-8bit", "--weight-observer", "mse"] + overrides(DEPTHWISE, "w8")),
    ("W4A8 + first/last 8-bit + MSE weights + depthwise and projection W8 (only expansion 1x1 convs W4)",
     "s_w4a8_fl_wmse_dw_proj",
     ["--wbits", "4", "--abits", "8", "--first-last-8bit", "--weight-observer", "mse"]
     + overrides(DEPTHWISE, "w8") + overrides(PROJECTION, "w8")),
    ("W4A4", "s_w4a4", ["--wbits", "4", "--abits", "4"]),
    ("W4A4 + first/last 8-bit", "s_w4a4_fl", ["--wbits", "4", "--abits", "4", "--first-last-8bit"]),
    ("W4A4 + first/last 8-bit + MSE weights", "s_w4a4_fl_wmse",
     ["--wbits", "4", "--abits", "4", "--first-last-8bit", "--weight-observer", "mse"]),
    ("W4A4 + first/last 8-bit + MSE activations", "s_w4a4_fl_amse",
     ["--wbits", "4", "--abits", "4", "--first-last-8bit", "--act-observer", "mse"]),
    ("W4A4 + first/last 8-bit + depthwise W8A8", "s_w4a4_fl_dw",
     ["--wbits", "4", "--abits", "4", "--first-last-8bit"] + overrides(DEPTHWISE, "w8a8")),
    ("W4A4 + first/last 8-bit + MSE weights and activations + depthwise W8A8", "s_w4a4_fl_mse_dw",
     ["--wbits", "4", "--abits", "4", "--first-last-8bit", "--weight-observer", "mse", "--act-observer", "mse"]
     + overrides(DEPTHWISE, "w8a8")),
    ("W4A4 + first/last 8-bit + MSE both + depthwise and projection W8A8, adds A8 (only expansion 1x1 convs "
     "W4A4)", "s_w4a4_fl_mse_dw_proj",
     ["--wbits", "4", "--abits", "4", "--first-last-8bit", "--weight-observer", "mse", "--act-observer", "mse"]
     + overrides(DEPTHWISE, "w8a8") + overrides(PROJECTION, "w8a8") + overrides(ADDS, "a8")),
]

RANDOM_ARCHS = [("ResNet-18", "resnet18"), ("ResNet-50", "resnet50"), ("VGG-16-BN", "vgg16_bn")]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def show(cmd):
    """A command line as the user would type it (long --override lists abbreviated)."""
    text = " ".join(shlex.quote(c) for c in cmd).replace(ROOT + "/", "")
    return re.sub(r"(--override \S+=(\w+))( --override \S+=\2){3,}", r"\1 ... (per layer)", text)


def run(cmd, **kw):
    log("$ " + show(cmd))
    return subprocess.run(cmd, check=True, **kw)


def labels_of(files):
    rows = [ln.rstrip("\n").split("\t") for ln in open(WNID_TSV, encoding="utf-8")][1:]
    index = {r[1]: int(r[0]) for r in rows if len(r) >= 2}
    return np.array([index[os.path.basename(f).split("_")[0]] for f in files])


def topk_counts(logits, labels):
    """(top-1, top-5) hits; ties go to the lower class index, as in t2c-run."""
    order = np.argsort(-logits, axis=1, kind="stable")
    return int((order[:, 0] == labels).sum()), int((order[:, :5] == labels[:, None]).any(1).sum())


# ---------------------------------------------------------------------------------------------------
# exports and engine runs

def export_cmd(args, out, opts, arch="mobilenet_v2", weights=None, calib_count=None):
    return [sys.executable, EXPORT, "--arch", arch, "--weights", weights or args.weights, "--calib", args.images,
            "--calib-count", str(calib_count or args.calib_count), "--seed", str(args.seed), "--threads", "1",
            *opts, "-o", out, "--report", out[:-4] + ".json"]


def export_cached(args, cmd, out):
    """Run the export unless `out` exists from the same command (and the same weights file)."""
    stamp = out + ".cmd"
    key = " ".join(cmd[1:])
    if args.weights and os.path.exists(args.weights):
        st = os.stat(args.weights)
        key += f" # weights {st.st_size} {int(st.st_mtime)}"
    if not args.force and os.path.exists(out) and os.path.exists(stamp) and open(stamp).read() == key:
        log(f"cached: {out}")
        return
    for p in (out, stamp):
        if os.path.exists(p):
            os.remove(p)
    run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL if args.quiet_export else None)
    with open(stamp, "w") as f:
        f.write(key)


def engine(args, model, images, topk=5):
    """t2c-run --json -> (per-image logits [N, 1000] of the top-k classes (others -inf), summary,
    seconds)."""
    cmd = [os.path.join(args.build, "engine", "tools", "t2c-run"), "--json", "-k", str(topk), "-j", "1",
           "--no-progress", model] + images
    log("$ " + show(cmd[:-len(images)]) + (f" {args.images}" if len(images) > 3 else " " + " ".join(images)))
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.time() - t0
    if p.returncode != 0:
        raise RuntimeError(f"t2c-run failed: {p.stderr.strip()}")
    doc = json.loads(p.stdout)
    n = len(doc["images"])
    logits = np.full((n, 1000), -np.inf)
    for i, im in enumerate(doc["images"]):
        for t in im["top"]:
            logits[i, t["index"]] = t["logit"]
    return logits, doc.get("accuracy", {}), dt


def t2c_info(args, model):
    cmd = [os.path.join(args.build, "engine", "tools", "t2c-info"), model]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    tot = re.search(r"totals \(batch 1\): (\d+) ops, (\d+) MACs, parameters ([\d.]+ \w+)", out)
    act = re.search(r"sum of all tensors ([\d.]+ \w+), planned peak ([\d.]+ \w+) \(([\d.]+)% of the sum\)", out)
    if not tot or not act:
        raise RuntimeError(f"unexpected t2c-info output for {model}")
    return {"ops": int(tot.group(1)), "macs": int(tot.group(2)), "params": tot.group(3),
            "act_sum": act.group(1), "act_peak": act.group(2), "peak_pct": float(act.group(3))}


# ---------------------------------------------------------------------------------------------------
# PyTorch side

def float_model(weights):
    import torch
    import torchvision

    m = torchvision.models.mobilenet_v2()
    m.load_state_dict(torch.load(weights, map_location="cpu"), strict=True)
    return m.eval()


def pil_inputs(files):
    """torchvision's evaluation transform on PIL images: float32 [N, 3, 224, 224]."""
    import torch
    from PIL import Image
    from torchvision import transforms as T

    tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(MEAN, STD)])
    out = []
    for f in files:
        with Image.open(f) as im:
            out.append(tf(im.convert("RGB")))
    return torch.stack(out)


def t2c_inputs(args, files):
    """The engine's own preprocessing (stb_image decode, PIL-exact resize, crop, normalize), as floats,
    from tests/t2c_preprocess_tool; None when the tool is not built."""
    import torch

    tool = os.path.join(args.build, "tests", "t2c_preprocess_tool")
    if not os.path.exists(tool):
        log(f"{tool} not built (meson -Dtests=true): no float run on t2c's pixels")
        return None
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "pp")
        for f in files:
            subprocess.run([tool, "pipeline", f, prefix, "channels=3", "resize=256", "mode=shorter", "crop=224,224",
                            "size=224,224", "mean=" + ",".join(map(repr, MEAN)), "std=" + ",".join(map(repr, STD))],
                           check=True, capture_output=True)
            out.append(np.fromfile(prefix + ".f32", np.float32).reshape(3, 224, 224))
    return torch.from_numpy(np.stack(out))


def predict(model, x, batch=20):
    import torch

    outs = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            outs.append(model(x[i:i + batch]).double().numpy())
    return np.concatenate(outs)


def twin(args, opts, cli_file):
    """The fake-quant twin of a variant: the export redone in-process from the same arguments; its integer
    graph must equal the CLI's file (so the twin is that file's)."""
    import torch

    from t2c import container
    from t2c.export.cli import build_parser, load_state_dict
    from t2c.export.data import calibration_data
    from t2c.export.quantize import QuantConfig, export, input_range_of
    from t2c.models import ARCHS

    a = build_parser().parse_args(["--arch", "mobilenet_v2", "--weights", args.weights, "--calib", args.images,
                                   "--calib-count", str(args.calib_count), "--seed", str(args.seed), *opts,
                                   "-o", "unused.t2c"])
    pre = ARCHS["mobilenet_v2"]["pre"]()
    model = ARCHS["mobilenet_v2"]["make"](1000)
    model.load_state_dict(load_state_dict(a.weights), strict=True)
    cfg = QuantConfig(wbits=a.wbits, abits=a.abits, input_bits=a.input_bits, output_bits=a.output_bits,
                      output_observer=a.output_observer, output_margin=a.output_margin,
                      first_last_8bit=a.first_last_8bit, overrides=dict(a.override),
                      weight_granularity=a.weight_granularity, weight_observer=a.weight_observer,
                      act_observer=a.act_observer or "percentile", percentile=a.percentile,
                      act_signed=a.act_signed, input_signed=a.input_signed, act_symmetric=a.act_symmetric,
                      mult_bits=a.mult_bits, rounding=a.rounding, add_left_shift=a.add_left_shift)
    calib = calibration_data(a.calib, pre, a.calib_count, a.seed)
    res = export(model.eval(), calib, cfg, input_range=input_range_of(pre), batch=a.batch, progress=None)
    ref = container.read(cli_file)
    same = [op.type for op in ref.ops] == [op.type for op in res.model.ops] and \
        all(op.attrs == o2.attrs for op, o2 in zip(ref.ops, res.model.ops))
    for name, t in res.model.tensors.items():
        if t.data is not None:
            same = same and np.array_equal(np.asarray(ref.tensors[name].data), np.asarray(t.data))
    if not same:
        raise RuntimeError(f"the in-process export differs from {cli_file}: bench and t2c-export disagree")
    torch.set_num_threads(1)
    return res


# ---------------------------------------------------------------------------------------------------

def pct(n, total):
    return f"{100.0 * n / total:.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="meson build folder (t2c-run, t2c-info)")
    ap.add_argument("--cache", default=os.environ.get("T2C_IMAGENET_CACHE", "/tmp/t2c-imagenet"),
                    help="folder for the exported .t2c files (outside the repo)")
    ap.add_argument("--weights", default=WEIGHTS)
    ap.add_argument("--images", default=IMAGES)
    ap.add_argument("--calib-count", type=int, default=32, help="calibration images drawn from --images")
    ap.add_argument("--seed", type=int, default=0, help="calibration draw (and random weights)")
    ap.add_argument("--study", action="store_true", help="also the W4 remedies table")
    ap.add_argument("--no-twins", action="store_true", help="skip the fake-quant PyTorch twins")
    ap.add_argument("--no-random", action="store_true", help="skip ResNet-18/50 and VGG-16-BN")
    ap.add_argument("--random-images", type=int, default=10, help="images t2c-run times for the random models")
    ap.add_argument("--force", action="store_true", help="re-export even when a cached file matches")
    ap.add_argument("--quiet-export", action="store_true", help="hide t2c-export's per-layer report")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    cache = os.path.abspath(args.cache)
    if os.path.commonpath([cache, ROOT]) == ROOT:
        sys.exit(f"--cache {cache} is inside the repository: files derived from /work/shared stay outside")
    os.makedirs(cache, exist_ok=True)
    for tool in ("t2c-run", "t2c-info"):
        if not os.path.exists(os.path.join(args.build, "engine", "tools", tool)):
            sys.exit(f"{tool} not found in {args.build}/engine/tools (build first, or give --build)")
    files = sorted(os.path.join(args.images, f) for f in os.listdir(args.images)
                   if f.lower().endswith((".jpeg", ".jpg", ".png")))
    labels = labels_of(files)
    n = len(files)
    results = {"images": n, "calib_count": args.calib_count, "seed": args.seed, "rows": [], "study": [],
               "random": []}

    # ---- float PyTorch
    log(f"float PyTorch on {n} images (PIL + torchvision transforms)")
    fmodel = float_model(args.weights)
    x_pil = pil_inputs(files)
    f_pil = predict(fmodel, x_pil)
    x_t2c = t2c_inputs(args, files)
    f_t2c = predict(fmodel, x_t2c) if x_t2c is not None else None
    top_pil, top_t2c = f_pil.argmax(1), (f_t2c.argmax(1) if f_t2c is not None else None)

    def row(name, what, pixels, logits, cmd=None, seconds=None):
        t1, t5 = topk_counts(logits, labels)
        ref = top_t2c if pixels == "t2c" else top_pil
        agree = int((np.argsort(-logits, 1, kind="stable")[:, 0] == ref).sum()) if ref is not None else None
        r = {"model": name, "run": what, "pixels": pixels, "top1": t1, "top5": t5, "agree": agree,
             "cmd": cmd, "s_per_image": seconds}
        results["rows"].append(r)
        return r

    row("float", "PyTorch fp32", "PIL", f_pil, "torchvision mobilenet_v2 + state_dict")
    if f_t2c is not None:
        row("float", "PyTorch fp32", "t2c", f_t2c, "same model, t2c_preprocess_tool pixels")

    # ---- the three variants
    for label, short, opts in VARIANTS:
        out = os.path.join(cache, f"mobilenet_v2_{short}.t2c")
        cmd = export_cmd(args, out, opts)
        export_cached(args, cmd, out)
        logits, acc, dt = engine(args, out, files)
        r = row(label, "t2c-run", "t2c", logits, show(cmd), dt / n)
        if acc.get("top1") is not None and (acc["top1"], acc["top5"]) != (r["top1"], r["top5"]):
            raise RuntimeError(f"t2c-run's own accuracy {acc} differs from the recount {r}")
        if not args.no_twins:
            log(f"{label}: fake-quant twin")
            res = twin(args, opts, out)
            fq32 = predict(res.fakequant.float(), x_pil)
            row(label, "fake-quant fp32", "PIL", fq32)
            if x_t2c is not None:
                fq64 = predict(res.fakequant.double(), x_t2c.double())
                r64 = row(label, "fake-quant fp64", "t2c", fq64)
                # the engine's top-5 logits against the twin's, on the integer grid of the output
                q = res.qparams[res.model.outputs[0]]
                mask = np.isfinite(logits)
                same = np.rint(logits[mask] / q["scale"]) == np.rint(fq64[mask] / q["scale"])
                r64["same_top5_logits_as_engine"] = int(np.all(same.reshape(n, -1), axis=1).sum())
            res.fakequant.float()

    # ---- W4 study
    if args.study:
        for label, short, opts in STUDY:
            out = os.path.join(cache, f"mobilenet_v2_{short}.t2c")
            cmd = export_cmd(args, out, opts)
            export_cached(args, cmd, out)
            logits, _, dt = engine(args, out, files)
            t1, t5 = topk_counts(logits, labels)
            agree = int((np.argsort(-logits, 1, kind="stable")[:, 0] == (top_t2c if top_t2c is not None
                                                                         else top_pil)).sum())
            results["study"].append({"config": label, "top1": t1, "top5": t5, "agree": agree, "cmd": show(cmd)})

    # ---- random-weight architectures
    if not args.no_random:
        sub = files[:args.random_images]
        for label, arch in RANDOM_ARCHS:
            out = os.path.join(cache, f"{arch}_random_int8.t2c")
            cmd = export_cmd(args, out, ["--wbits", "8", "--abits", "8"], arch=arch, weights="random",
                             calib_count=8)
            export_cached(args, cmd, out)
            info = t2c_info(args, out)
            _, _, dt = engine(args, out, sub, topk=1)
            results["random"].append({"model": label, **info, "s_per_image": dt / len(sub),
                                      "file_mb": os.path.getsize(out) / 2 ** 20, "cmd": show(cmd)})

    with open(os.path.join(cache, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print_tables(args, results)
    return 0


def print_tables(args, res):
    n = res["images"]
    print(f"\n### MobileNet-V2 on {n} ImageNet dev images ({args.images})\n")
    print(f"Calibration: {res['calib_count']} of the same images (seed {res['seed']}). 'pixels': PIL = torchvision "
          "transforms on PIL/libjpeg decoding; t2c = the engine's own preprocessing (stb_image). "
          "'agree': top-1 equal to float PyTorch's on the same pixels.\n")
    print("| model | run | pixels | top-1 % | top-5 % | agree | s/image |")
    print("|---|---|---|---|---|---|---|")
    for r in res["rows"]:
        extra = f" (top-5 logits = t2c-run's on {r['same_top5_logits_as_engine']}/{n})" \
            if "same_top5_logits_as_engine" in r else ""
        agree = "-" if r["agree"] is None else f"{r['agree']}/{n}"
        sec = "-" if r["s_per_image"] is None else f"{r['s_per_image']:.3f}"
        print(f"| {r['model']} | {r['run']}{extra} | {r['pixels']} | {pct(r['top1'], n)} | {pct(r['top5'], n)} | "
              f"{agree} | {sec} |")
    print("\nExport commands:\n")
    for r in res["rows"]:
        if r["run"] == "t2c-run":
            print(f"- {r['model']}: `{r['cmd']}`")
    if res["study"]:
        print(f"\n### W4 remedies (MobileNet-V2, t2c-run, {n} images, t2c pixels)\n")
        print("| configuration | top-1 % | top-5 % | agree |")
        print("|---|---|---|---|")
        for r in res["study"]:
            print(f"| {r['config']} | {pct(r['top1'], n)} | {pct(r['top5'], n)} | {r['agree']}/{n} |")
    if res["random"]:
        print("\n### Random-weight exports (INT8, seed "
              f"{res['seed']}, calibrated on 8 dev images; accuracy meaningless)\n")
        print("| model | ops | MACs | parameters | .t2c MiB | activations: sum of all tensors | planned peak | "
              "s/image (t2c-run -j 1) |")
        print("|---|---|---|---|---|---|---|---|")
        for r in res["random"]:
            print(f"| {r['model']} | {r['ops']} | {r['macs'] / 1e9:.2f} G | {r['params']} | {r['file_mb']:.1f} | "
                  f"{r['act_sum']} | {r['act_peak']} ({r['peak_pct']:.1f}%) | {r['s_per_image']:.2f} |")


if __name__ == "__main__":
    sys.exit(main())
