#!/usr/bin/python3
"""Train the default model (t2c.models.FmnistResNet) on Fashion-MNIST, CPU only, one thread, fixed seed.

Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/*.gz). The float state_dict is
small (38,554 parameters, 170 KB); engine/default_model/make.sh trains it into
engine/default_model/fmnist_resnet_float.pt (8 epochs, about 4 minutes on one core) and exports it with
`formats/t2c-export --arch fmnist --weights ... --calib fmnist ...` (engine/default_model/README.md).
"""

import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from t2c.export.data import load_fmnist, normalize_uint8  # noqa: E402
from t2c.models import FMNIST_LABELS, FMNIST_MEAN, FMNIST_STD, FmnistResNet  # noqa: E402


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
    return correct / len(x)


def slug(label):
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def write_samples(folder):
    """The first test image of each class as <class>_<label-slug>.png (28x28 grayscale)."""
    from PIL import Image

    imgs, labels = load_fmnist("test")
    os.makedirs(folder, exist_ok=True)
    for c, name in enumerate(FMNIST_LABELS):
        i = int(np.flatnonzero(labels == c)[0])
        path = os.path.join(folder, f"{c}_{slug(name)}.png")
        Image.fromarray(imgs[i], mode="L").save(path, optimize=True)
        print(f"{path}: test image {i}", file=sys.stderr)


def write_test_set(folder):
    """All 10,000 test images as <class>_<index>.png, for measuring accuracy with t2c-run."""
    from PIL import Image

    imgs, labels = load_fmnist("test")
    os.makedirs(folder, exist_ok=True)
    for i in range(len(imgs)):
        Image.fromarray(imgs[i], mode="L").save(os.path.join(folder, f"{int(labels[i])}_{i:05d}.png"))
    print(f"{folder}: {len(imgs)} test images", file=sys.stderr)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", default="/work/cache/fmnist_resnet.pt", help="state_dict path")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N training images (testing)")
    ap.add_argument("--write-samples", metavar="DIR", default=None,
                    help="only write one test image per class as DIR/<class>_<label>.png, then exit")
    ap.add_argument("--write-test-set", metavar="DIR", default=None,
                    help="only write all 10,000 test images as DIR/<class>_<index>.png, then exit")
    args = ap.parse_args(argv)
    if args.write_test_set:
        write_test_set(args.write_test_set)
        return
    if args.write_samples:
        write_samples(args.write_samples)
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

    model = FmnistResNet()
    steps = args.epochs * ((len(xtr) + args.batch - 1) // args.batch)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.2)
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
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(idx)
            n += len(idx)
        acc = evaluate(model, xte, yte)
        print(f"epoch {ep + 1}/{args.epochs}: train loss {total / n:.4f}, test accuracy {acc:.4f}, "
              f"{time.time() - t0:.0f} s", file=sys.stderr)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    torch.save(model.state_dict(), args.output)
    print(f"saved {args.output}; float test accuracy {evaluate(model, xte, yte):.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
