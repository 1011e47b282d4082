#!/usr/bin/python3
"""Train a small vision transformer (torchvision's VisionTransformer, t2c.export.vit.make_fmnist_vit:
patch 7, 4 blocks, 4 heads, width 64, MLP 128, 1 input channel) on Fashion-MNIST, CPU only, fixed seed.

Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist). The float state_dict goes to
/work/cache/ by default (about 0.6 MB); `formats/t2c-export --arch fmnist_vit --weights ...` exports it
integer-only, and tools/vit_accuracy.py measures every approximation choice on the 10,000 test images.
The machine is shared: one thread by default, about 10 minutes for the default 5 epochs.

`--accuracy-table` instead exports the trained weights once per quantization choice (softmax, GELU,
layernorm approximations; INT8; INT8 activations with INT4 weights), runs every integer model with the C
engine (t2c-run) on the 10,000 test images written as PNGs (formats/python/train_fmnist.py
--write-test-set DIR), and prints the Markdown table of float and integer-only top-1 accuracy.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from t2c.export.data import load_fmnist, normalize_uint8  # noqa: E402
from t2c.export.vit import make_fmnist_vit  # noqa: E402
from t2c.models import FMNIST_MEAN, FMNIST_STD  # noqa: E402


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
    return correct / len(x)


# (name, t2c-export options) of every row of the accuracy table
TABLE = [
    ("INT8, softmax ibert, GELU ibert, layernorm ibert", []),
    ("INT8, softmax shift (I-ViT Shiftmax)", ["--softmax", "shift"]),
    ("INT8, softmax lut (256 entries)", ["--softmax", "lut"]),
    ("INT8, softmax tflite (int8 scores)", ["--softmax", "tflite"]),
    ("INT8, GELU sigmoid (x·σ(1.702x), shifts)", ["--gelu", "sigmoid"]),
    ("INT8, GELU lut (256 entries)", ["--gelu", "lut"]),
    ("INT8, softmax shift + GELU sigmoid (I-ViT style)", ["--softmax", "shift", "--gelu", "sigmoid"]),
    ("INT8, softmax lut + GELU lut", ["--softmax", "lut", "--gelu", "lut"]),
    ("INT8, int16 residual stream and GELU input", ["--residual-bits", "16", "--gelu-input-bits", "16"]),
    ("INT8, int8 probabilities (zero point -128)", ["--softmax-out", "int8"]),
    ("INT8 activations, INT4 weights (patch embedding and head INT8)", ["--wbits", "4"]),
    ("INT8 activations, INT4 weights, int16 residual and GELU input",
     ["--wbits", "4", "--residual-bits", "16", "--gelu-input-bits", "16"]),
]


def accuracy_table(args):
    import re
    import subprocess

    here = os.path.dirname(os.path.abspath(__file__))
    exporter = os.path.join(os.path.dirname(here), "t2c-export")
    os.makedirs(args.models_dir, exist_ok=True)
    te_img, te_lab = load_fmnist("test")
    xte = torch.from_numpy(normalize_uint8(te_img, FMNIST_MEAN, FMNIST_STD))
    model = make_fmnist_vit()
    model.load_state_dict(torch.load(args.weights, map_location="cpu"))
    float_acc = evaluate(model, xte, torch.from_numpy(te_lab))
    rows = [("float (PyTorch)", "", float_acc, None)]
    print(f"float: {float_acc:.4f}", file=sys.stderr, flush=True)
    for i, (name, opts) in enumerate(TABLE):
        path = os.path.join(args.models_dir, f"fmnist_vit_{i:02d}.t2c")
        cmd = [sys.executable, exporter, "--arch", "fmnist_vit", "--weights", args.weights, "--calib", "fmnist",
               "--calib-count", str(args.calib_count), "--act-observer", args.act_observer, "-o", path] + opts
        subprocess.run(cmd, check=True, capture_output=True)
        t0 = time.time()
        out = subprocess.run([args.t2c_run, "-q", path, args.png_dir], check=True, capture_output=True,
                             text=True).stdout
        m = re.search(r"top-1 accuracy ([0-9.]+)% \((\d+)/(\d+)\)", out)
        acc = int(m.group(2)) / int(m.group(3))
        rows.append((name, " ".join(opts), acc, path))
        print(f"{name}: {acc:.4f} ({int(m.group(3))} images, {time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    lines = ["| model | t2c-export options | top-1 (10,000 test images) | vs float |", "|---|---|---|---|"]
    for name, opts, acc, _ in rows:
        delta = "" if opts == "" and name.startswith("float") else f"{100 * (acc - float_acc):+.2f}"
        shown = f"`{opts}`" if opts else ("" if name.startswith("float") else "(defaults)")
        lines.append(f"| {name} | {shown} | {100 * acc:.2f}% | {delta} |")
    print("\n".join(lines))
    best = max(rows[1:], key=lambda r: r[2])
    print(f"best integer-only: {best[0]} {100 * best[2]:.2f}% ({100 * (best[2] - float_acc):+.2f} points)",
          file=sys.stderr)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", default="/work/cache/fmnist_vit.pt", help="state_dict path")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N training images (testing)")
    g = ap.add_argument_group("accuracy table")
    g.add_argument("--accuracy-table", action="store_true", help="measure every quantization choice, then exit")
    g.add_argument("--weights", default="/work/cache/fmnist_vit.pt", help="trained state_dict")
    g.add_argument("--png-dir", default="/work/cache/fmnist_test_png", help="the 10,000 test images as PNGs")
    g.add_argument("--t2c-run", default="build/engine/tools/t2c-run", help="the t2c-run binary")
    g.add_argument("--models-dir", default="/work/cache/fmnist_vit_models", help="where the .t2c files go")
    g.add_argument("--calib-count", type=int, default=512)
    g.add_argument("--act-observer", default="minmax", choices=("minmax", "percentile"))
    args = ap.parse_args(argv)
    if args.accuracy_table:
        accuracy_table(args)
        return

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    tr_img, tr_lab = load_fmnist("train")
    te_img, te_lab = load_fmnist("test")
    if args.limit:
        tr_img, tr_lab = tr_img[:args.limit], tr_lab[:args.limit]
    xtr = torch.from_numpy(normalize_uint8(tr_img, FMNIST_MEAN, FMNIST_STD))
    ytr = torch.from_numpy(tr_lab)
    xte = torch.from_numpy(normalize_uint8(te_img, FMNIST_MEAN, FMNIST_STD))
    yte = torch.from_numpy(te_lab)

    model = make_fmnist_vit()
    print(f"{sum(p.numel() for p in model.parameters())} parameters", file=sys.stderr)
    steps = args.epochs * ((len(xtr) + args.batch - 1) // args.batch)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.15)
    t0 = time.time()
    for ep in range(args.epochs):
        model.train()
        perm = torch.from_numpy(rng.permutation(len(xtr)))
        total, n = 0.0, 0
        for i in range(0, len(xtr), args.batch):
            idx = perm[i:i + args.batch]
            xb, yb = xtr[idx], ytr[idx]
            flip = torch.from_numpy(rng.random(len(idx)) < 0.5)
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)  # horizontal flip augmentation
            loss = F.cross_entropy(model(xb), yb, label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += float(loss) * len(idx)
            n += len(idx)
        acc = evaluate(model, xte[:2000], yte[:2000])
        print(f"epoch {ep + 1}/{args.epochs}: train loss {total / n:.4f}, accuracy on 2000 test images {acc:.4f}, "
              f"{time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    torch.save(model.state_dict(), args.output)
    print(f"saved {args.output}; float test accuracy {evaluate(model, xte, yte):.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
