"""Data for calibration and evaluation: Fashion-MNIST (Debian's idx files), image folders, and the
preprocessing recipe of formats/t2c-format.md (the torchvision evaluation transform, done with PIL)."""

import gzip
import os

import numpy as np

FMNIST_DIR = "/usr/share/datasets/fashion-mnist"
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".webp")


def read_idx(path):
    """Read an idx file (optionally .gz): big-endian magic 0x00 0x00 dtype rank, dims, data."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an idx file")
    types = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in types:
        raise ValueError(f"{path}: unknown idx element type 0x{raw[2]:02x}")
    rank = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    data = np.frombuffer(raw, dtype=types[raw[2]], offset=4 + 4 * rank)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {data.size} elements, header says {dims}")
    return data.reshape(dims)


def load_fmnist(split="train", root=FMNIST_DIR):
    """(images uint8 [N, 28, 28], labels int64 [N]) of the 'train' (60,000) or 'test' (10,000) split."""
    prefix = "train" if split == "train" else "t10k"
    img = os.path.join(root, f"{prefix}-images-idx3-ubyte.gz")
    lab = os.path.join(root, f"{prefix}-labels-idx1-ubyte.gz")
    if not os.path.exists(img):
        raise FileNotFoundError(f"{img} not found (apt-get install dataset-fashion-mnist)")
    return read_idx(img), read_idx(lab).astype(np.int64)


def normalize_uint8(images, mean, std):
    """uint8 [N, H, W] (gray) or [N, H, W, C] -> float32 NCHW, (p/255 - mean) / std per channel."""
    x = images.astype(np.float32) / np.float32(255.0)
    if x.ndim == 3:
        x = x[:, None, :, :]
    else:
        x = x.transpose(0, 3, 1, 2)
    m = np.asarray(mean, np.float32).reshape(1, -1, 1, 1)
    s = np.asarray(std, np.float32).reshape(1, -1, 1, 1)
    return np.ascontiguousarray((x - m) / s, dtype=np.float32)


def preprocess_image(img, pre):
    """A PIL image -> float32 [C, H, W] following the preprocessing dict `pre` (keys color, resize,
    resize_mode, crop, mean, std), exactly as torchvision 0.14's Resize/CenterCrop/ToTensor/Normalize
    do on PIL images."""
    from PIL import Image

    img = img.convert("L" if pre["color"] == "GRAY" else "RGB")
    size = pre.get("resize") or 0
    if size:
        w, h = img.size
        if pre.get("resize_mode", "shorter") == "exact":
            nw, nh = size, size
        elif w <= h:  # torchvision: the long side is int(size * long / short)
            nw, nh = size, int(size * h / w)
        else:
            nw, nh = int(size * w / h), size
        if (nw, nh) != (w, h):
            img = img.resize((nw, nh), Image.BILINEAR)
    crop = pre.get("crop")
    if crop:
        ch, cw = crop
        w, h = img.size
        if cw > w or ch > h:
            raise ValueError(f"crop {crop} larger than the resized image {h}x{w}")
        top = int(round((h - ch) / 2.0))
        left = int(round((w - cw) / 2.0))
        img = img.crop((left, top, left + cw, top + ch))
    a = np.asarray(img, dtype=np.uint8)
    return normalize_uint8(a[None], pre["mean"], pre["std"])[0]


def list_images(folder):
    """Image files under `folder` (recursively), sorted by path."""
    out = []
    for root, _dirs, files in os.walk(folder):
        for f in files:
            if f.lower().endswith(IMAGE_EXTS):
                out.append(os.path.join(root, f))
    return sorted(out)


def calibration_data(spec, pre, count, seed=0):
    """float32 [count', C, H, W] calibration inputs.

    spec: a folder of images; 'fmnist' / 'fashion-mnist' (the training split, `count` images drawn
    with `seed`); 'fmnist-test'; or 'random' (standard normal noise, for smoke tests only; needs the
    input size from `pre`)."""
    rng = np.random.default_rng(seed)
    if spec in ("fmnist", "fashion-mnist", "fmnist-train", "fmnist-test"):
        imgs, _ = load_fmnist("test" if spec == "fmnist-test" else "train")
        idx = rng.choice(len(imgs), size=min(count, len(imgs)), replace=False)
        return normalize_uint8(imgs[np.sort(idx)], pre["mean"], pre["std"])
    if spec == "random":
        c = 1 if pre["color"] == "GRAY" else 3
        h, w = pre["crop"] if pre.get("crop") else (pre["resize"], pre["resize"])
        return rng.standard_normal((count, c, h, w)).astype(np.float32)
    if os.path.isdir(spec):
        from PIL import Image

        files = list_images(spec)
        if not files:
            raise ValueError(f"calibration folder {spec} holds no images ({', '.join(IMAGE_EXTS)})")
        if len(files) > count:
            files = [files[i] for i in np.sort(rng.choice(len(files), size=count, replace=False))]
        arrs = []
        for f in files:
            with Image.open(f) as im:
                arrs.append(preprocess_image(im, pre))
        return np.stack(arrs)
    raise ValueError(f"--calib {spec!r}: not a folder and not one of fmnist, fmnist-test, random")
