"""t2c-export: PyTorch model (torchvision-format state_dict) -> integer .t2c model.

Examples:
  t2c-export --arch fmnist --weights fmnist_resnet.pt --calib fmnist --wbits 8 --abits 8 -o fmnist_int8.t2c
  t2c-export --arch mobilenet_v2 --weights mobilenet_v2.pth --calib /path/to/images \\
             --wbits 4 --abits 4 --first-last-8bit --act-observer mse -o mbv2_w4a4.t2c

Progress and the per-layer report go to stderr.
"""

import argparse
import json
import os
import re
import sys
import time

import numpy as np

DEFAULT_WNID_TSV = "/work/shared/models/imagenet_classes.tsv"


def log(msg):
    print(f"t2c-export: {msg}", file=sys.stderr, flush=True)


def parse_override(text):
    """'layer1.0.conv1=w8a8' / 'fc=w8' / 'x=a4' -> (name, {'w': 8, 'a': 8})."""
    m = re.fullmatch(r"(.+)=((?:[wa](?:4|8))+)", text)
    if not m:
        raise argparse.ArgumentTypeError(f"bad override {text!r}: expected NAME=w8a4, NAME=w8 or NAME=a8")
    bits = {k: int(v) for k, v in re.findall(r"([wa])(4|8)", m.group(2))}
    return m.group(1), bits


def build_parser():
    from ..models import ARCHS
    from .vit import VIT_ARCHS, add_arguments as add_vit_arguments

    ap = argparse.ArgumentParser(prog="t2c-export", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_argument_group("model")
    g.add_argument("--arch", required=True, choices=sorted(ARCHS) + sorted(VIT_ARCHS), help="architecture")
    g.add_argument("--weights", default=None,
                   help="float state_dict (torchvision format; a checkpoint dict with 'state_dict' or 'model' "
                        "also works), or 'random' for seeded random weights (smoke tests)")
    g.add_argument("--num-classes", type=int, default=None, help="default: from the state_dict")
    g.add_argument("--name", default=None, help="model.name (default: the architecture + bit widths)")
    g.add_argument("--labels", default=None, help="text file with one class name per line")
    g.add_argument("--wnid-tsv", default=DEFAULT_WNID_TSV,
                   help="ImageNet index/wnid/name TSV for labels.wnid (used when it exists; default %(default)s)")
    g = ap.add_argument_group("calibration")
    g.add_argument("--calib", required=True,
                   help="a folder of images (recursively), 'fmnist' (Fashion-MNIST training images), "
                        "'fmnist-test', or 'random' (noise, smoke tests only)")
    g.add_argument("--calib-count", type=int, default=256, help="images used for calibration (default 256)")
    g.add_argument("--batch", type=int, default=16)
    g.add_argument("--seed", type=int, default=0)
    g = ap.add_argument_group("quantization")
    g.add_argument("--wbits", type=int, choices=(4, 8), default=8, help="weight bits (default 8)")
    g.add_argument("--abits", type=int, choices=(4, 8), default=8, help="activation bits (default 8)")
    g.add_argument("--input-bits", type=int, choices=(4, 8), default=None,
                   help="graph input bits (default: 8 with --first-last-8bit, else --abits)")
    g.add_argument("--output-bits", type=int, choices=(4, 8, 16), default=8,
                   help="logits bits (default 8; 16 = int16)")
    g.add_argument("--output-observer", choices=("minmax", "percentile", "mse"), default="minmax",
                   help="range of the logits (default minmax: clipping the largest logits changes the argmax)")
    g.add_argument("--output-margin", type=float, default=1.0,
                   help="widen the logits' observed range by this factor (1..64, default 1)")
    g.add_argument("--first-last-8bit", action="store_true",
                   help="8-bit weights and 8-bit input activations for the first and last layer")
    g.add_argument("--override", action="append", type=parse_override, default=[], metavar="LAYER=w8a8",
                   help="per-layer bits: weights (w) and the layer's output activation (a); repeatable")
    g.add_argument("--weight-granularity", choices=("channel", "tensor"), default="channel")
    g.add_argument("--weight-observer", choices=("minmax", "mse"), default="minmax")
    g.add_argument("--act-observer", choices=("minmax", "percentile", "mse"), default=None,
                   help="activation ranges (default percentile; ViT: minmax)")
    g.add_argument("--percentile", type=float, default=99.99, help="for --act-observer percentile")
    g.add_argument("--act-signed", choices=("auto", "signed", "unsigned"), default="auto",
                   help="activation dtype: auto = unsigned after ReLU, signed elsewhere")
    g.add_argument("--input-signed", choices=("auto", "signed", "unsigned"), default="auto",
                   help="graph input dtype (int8 or uint8); auto = signed if the normalized image can be < 0")
    g.add_argument("--act-symmetric", action="store_true", help="zero point 0 for every activation")
    g.add_argument("--mult-bits", type=int, default=32, help="requantize multiplier width, 8..32 (default 32)")
    g.add_argument("--rounding", choices=("half_even", "half_up", "half_away", "floor", "tflite"),
                   default="half_even")
    g.add_argument("--add-left-shift", type=int, default=20, help="left shift of residual add inputs")
    g = ap.add_argument_group("output")
    g.add_argument("-o", "--output", required=True, help="the .t2c file to write")
    g.add_argument("--compress", type=int, default=0, help="zstd level for weights (0 = raw, default)")
    g.add_argument("--report", default=None, help="write the per-layer report as JSON here")
    g.add_argument("--eval", default=None,
                   help="after export, top-1 of float and fake-quant models on 'fmnist-test' or a folder of "
                        "ImageNet images named <wnid>_*.JPEG")
    g.add_argument("--eval-count", type=int, default=0, help="limit --eval to N images (0 = all)")
    g.add_argument("--eval-int", action="store_true",
                   help="with --eval, also run the integer graph (t2c.reference, the Python implementation "
                        "of ops/README.md) and report its top-1")
    g.add_argument("--threads", type=int, default=1, help="torch threads (default 1: the machine is shared)")
    add_vit_arguments(ap)
    return ap


def load_state_dict(path):
    import torch

    sd = torch.load(path, map_location="cpu")
    if isinstance(sd, dict):
        for key in ("state_dict", "model", "model_state_dict"):
            if key in sd and isinstance(sd[key], dict):
                sd = sd[key]
                break
    if not isinstance(sd, dict):
        raise ValueError(f"{path}: not a state_dict (a {type(sd).__name__})")
    return {k[7:] if k.startswith("module.") else k: v for k, v in sd.items()}


def classes_from_state_dict(sd):
    last = None
    for k, v in sd.items():
        if k.endswith("weight") and getattr(v, "dim", lambda: 0)() == 2:
            last = v
    return int(last.shape[0]) if last is not None else None


def imagenet_labels(arch_info, num_classes, wnid_tsv):
    labels = wnids = None
    if num_classes != 1000:
        return None, None
    try:
        import torchvision

        labels = list(getattr(torchvision.models, arch_info["tv_weights"]).IMAGENET1K_V1.meta["categories"])
    except Exception:  # torchvision without weight metadata
        labels = None
    if wnid_tsv and os.path.exists(wnid_tsv):
        rows = [ln.rstrip("\n").split("\t") for ln in open(wnid_tsv, encoding="utf-8")]
        rows = [r for r in rows[1:] if len(r) >= 2]
        if len(rows) == 1000:
            wnids = [r[1] for r in rows]
            if labels is None:
                labels = [r[2] if len(r) > 2 else r[1] for r in rows]
    return labels, wnids


def evaluate(models, spec, pre, wnids, count, batch, progress):
    """Top-1 of each model on 'fmnist-test' or a folder of <wnid>_*.JPEG images."""
    import torch

    from .data import list_images, load_fmnist, normalize_uint8, preprocess_image

    if spec in ("fmnist-test", "fmnist"):
        imgs, labels = load_fmnist("test")
        if count:
            imgs, labels = imgs[:count], labels[:count]
        x_all = normalize_uint8(imgs, pre["mean"], pre["std"])

        def batches():
            for i in range(0, len(x_all), 500):
                yield torch.from_numpy(x_all[i:i + 500]), labels[i:i + 500]
    elif os.path.isdir(spec):
        from PIL import Image

        if not wnids:
            raise ValueError("--eval on a folder needs ImageNet wnids (--wnid-tsv)")
        index = {w: i for i, w in enumerate(wnids)}
        files = [f for f in list_images(spec) if os.path.basename(f).split("_")[0] in index]
        if count:
            files = files[:count]
        labels = np.array([index[os.path.basename(f).split("_")[0]] for f in files])

        def batches():
            for i in range(0, len(files), batch):
                arr = []
                for f in files[i:i + batch]:
                    with Image.open(f) as im:
                        arr.append(preprocess_image(im, pre))
                yield torch.from_numpy(np.stack(arr)), labels[i:i + batch]
    else:
        raise ValueError(f"--eval {spec!r}: not a folder and not fmnist-test")
    correct = [0] * len(models)
    total = 0
    with torch.no_grad():
        for x, y in batches():
            for j, m in enumerate(models):
                correct[j] += int((m(x).argmax(1).numpy() == y).sum())
            total += len(y)
            progress(f"  evaluated {total}")
    return [c / max(total, 1) for c in correct], total


def main(argv=None):
    args = build_parser().parse_args(argv)
    from .vit import VIT_ARCHS, cli_main as vit_main
    if args.arch in VIT_ARCHS:  # vision transformers: t2c/export/vit.py
        args.act_observer = args.act_observer or "minmax"
        return vit_main(args)
    args.act_observer = args.act_observer or "percentile"
    import torch

    from .. import container
    from ..models import ARCHS, FMNIST_LABELS
    from .data import calibration_data
    from .graph import UnsupportedError
    from .quantize import QuantConfig, add_metadata, export, format_report, input_range_of

    torch.set_num_threads(max(1, args.threads))
    t0 = time.time()
    info = ARCHS[args.arch]
    pre = info["pre"]()
    try:
        if args.weights is None:
            raise ValueError("--weights is required (a state_dict path, or 'random')")
        if args.weights == "random":
            torch.manual_seed(args.seed)
            model = info["make"](args.num_classes) if args.num_classes else info["make"]()
            _randomize_bn(model, args.seed)
            log(f"{args.arch}: random weights (seed {args.seed})")
        else:
            sd = load_state_dict(args.weights)
            nc = args.num_classes or classes_from_state_dict(sd)
            model = info["make"](nc) if nc else info["make"]()
            model.load_state_dict(sd, strict=True)
            log(f"{args.arch}: loaded {args.weights}")
        model.eval()
        num_classes = classes_from_state_dict(model.state_dict())

        if args.labels:
            labels = [ln.strip() for ln in open(args.labels, encoding="utf-8") if ln.strip()]
            wnids = None
        elif info["labels"] == "fmnist" and num_classes == 10:
            labels, wnids = list(FMNIST_LABELS), None
        elif info["labels"] == "imagenet":
            labels, wnids = imagenet_labels(info, num_classes, args.wnid_tsv)
        else:
            labels, wnids = None, None
        if labels is not None and len(labels) != num_classes:
            raise ValueError(f"{len(labels)} labels for {num_classes} classes")

        log(f"loading calibration data from {args.calib}")
        calib = calibration_data(args.calib, pre, args.calib_count, args.seed)
        cfg = QuantConfig(wbits=args.wbits, abits=args.abits, input_bits=args.input_bits,
                          output_bits=args.output_bits, output_observer=args.output_observer,
                          output_margin=args.output_margin, first_last_8bit=args.first_last_8bit,
                          overrides=dict(args.override), weight_granularity=args.weight_granularity,
                          weight_observer=args.weight_observer, act_observer=args.act_observer,
                          percentile=args.percentile, act_signed=args.act_signed,
                          input_signed=args.input_signed, act_symmetric=args.act_symmetric,
                          mult_bits=args.mult_bits, rounding=args.rounding, add_left_shift=args.add_left_shift,
                          compress=args.compress)
        res = export(model, calib, cfg, input_range=input_range_of(pre), batch=args.batch,
                     progress=lambda m: log(m))
        name = args.name or f"{args.arch}-w{args.wbits}a{args.abits}" + ("-fl8" if args.first_last_8bit else "")
        desc = (f"{args.arch} from {os.path.basename(args.weights)}; {cfg.describe()}; calibrated on "
                f"{len(calib)} images from {args.calib}")
        add_metadata(res.model, res.qparams, res.model.outputs[0], name, pre, labels, wnids, desc)
        out_dir = os.path.dirname(os.path.abspath(args.output))
        os.makedirs(out_dir, exist_ok=True)
        container.write(res.model, args.output)
        log(f"wrote {args.output} ({os.path.getsize(args.output)} bytes, {len(res.model.ops)} ops)")
        print(format_report(res.report, cfg.mult_bits), file=sys.stderr)
        summary = {"file": args.output, "config": cfg.describe(), "layers": res.report}
        if args.eval:
            log(f"evaluating on {args.eval}")
            models = [res.float_model, res.fakequant]
            if args.eval_int:
                models.append(integer_runner(res.model))
            accs, n = evaluate(models, args.eval, pre, wnids, args.eval_count, args.batch, lambda m: None)
            log(f"top-1 on {n} images: float {accs[0]:.4f}, fake-quant {accs[1]:.4f}"
                + (f", integer graph {accs[2]:.4f}" if args.eval_int else ""))
            summary["eval"] = {"dataset": args.eval, "images": n, "float_top1": accs[0], "fakequant_top1": accs[1]}
            if args.eval_int:
                summary["eval"]["integer_top1"] = accs[2]
        if args.report:
            with open(args.report, "w", encoding="utf-8") as f:
                json.dump(summary, f, indent=1)
        log(f"done in {time.time() - t0:.1f} s")
        return 0
    except UnsupportedError as e:
        log(f"error: {e}")
        return 2
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        log(f"error: {e}")
        return 1


def integer_runner(cmodel):
    """x (float, preprocessed) -> integer logits of the graph, via t2c.reference: the input is quantized
    with the `quantize` recipe (float32 x * (1/scale), ties to even) and metadata input.scale/zero_point."""
    import torch

    from .. import reference

    t = cmodel.tensors[cmodel.inputs[0]]
    scale, zp = cmodel.meta["input.scale"], cmodel.meta["input.zero_point"]

    def run(x):
        xq = reference.quantize(x.numpy(), scale, zp, dtype=t.dtype)
        out = reference.run(cmodel, {cmodel.inputs[0]: xq})[cmodel.outputs[0]]
        return torch.from_numpy(out.astype(np.int64))
    return run


def _randomize_bn(model, seed):
    """Random-weight smoke tests: non-trivial BatchNorm parameters so that folding matters."""
    import torch

    g = torch.Generator().manual_seed(seed + 1)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 0.5 + 0.75)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)


if __name__ == "__main__":
    sys.exit(main())
