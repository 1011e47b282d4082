"""t2c-export --from-tflite / --from-onnx: import an already-quantized model into .t2c.

Examples:
  t2c-export --from-tflite mobilenet_v2-imagenet-int8.tflite -o mbv2_tflite.t2c
  t2c-export --from-onnx mobilenet_v2-imagenet-int8-qdq.onnx -o mbv2_onnx.t2c \\
             --calib ../shared/images/imagenet-dev --calib-count 8
  (also: python3 -m t2c.importers ...)

TFLite: the integers are TFLite's reference-kernel integers (QuantizeMultiplier on the double scales,
rounding "tflite"). ONNX: float requantization becomes 31-bit integer multipliers (rounding half to
even); with --calib the import reports, per op, how many outputs differ from ONNX's float definition
on those images. Semantics: formats/python/t2c/importers/README.md. Progress and reports go to stderr.
"""

import argparse
import json
import os
import sys


def log(msg):
    print(f"t2c-export: {msg}", file=sys.stderr, flush=True)


def build_parser():
    ap = argparse.ArgumentParser(prog="t2c-export", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--from-tflite", metavar="MODEL.tflite", help="import a TFLite INT8 model")
    src.add_argument("--from-onnx", metavar="MODEL.onnx", help="import a quantized ONNX model (QDQ or QOperator)")
    ap.add_argument("-o", "--output", required=True, help="the .t2c file to write")
    ap.add_argument("--name", default=None, help="model.name (default: the file name)")
    ap.add_argument("--preprocess", choices=("auto", "imagenet", "none"), default="auto",
                    help="input preprocessing metadata (auto: ImageNet for a 3x224x224 input)")
    ap.add_argument("--labels", default="auto",
                    help="'auto' (ImageNet names and WordNet ids for 1000 classes), 'none', or a text file with "
                         "one class name per line")
    ap.add_argument("--wnid-tsv", default=None, help="ImageNet index/wnid/name TSV (default ../shared/models/"
                                                     "imagenet_classes.tsv next to the repository)")
    ap.add_argument("--calib", default=None,
                    help="ONNX only: folder of images on which to count, per op, the outputs where the integer "
                         "requantization differs from ONNX's float definition")
    ap.add_argument("--calib-count", type=int, default=8, help="images used with --calib (default 8)")
    ap.add_argument("--report", default=None, help="write the per-op import report as JSON here")
    ap.add_argument("--compress", type=int, default=0, help="zstd level for weights (0 = raw, default)")
    return ap


def _calibration_inputs(model, folder, count):
    """int8 inputs of `model` for the images in `folder`: PIL/torchvision preprocessing from the model's
    metadata, then the `quantize` op recipe."""
    import numpy as np
    from PIL import Image

    from ..export.data import preprocess_image

    meta = model.meta
    pre = {"color": meta.get("input.color", "RGB"), "resize": meta.get("preprocess.resize", 0),
           "resize_mode": meta.get("preprocess.resize_mode", "shorter"), "crop": meta.get("preprocess.crop"),
           "mean": meta.get("preprocess.mean", [0.0]), "std": meta.get("preprocess.std", [1.0])}
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder)
                   if f.lower().endswith((".png", ".jpg", ".jpeg", ".bmp")))[:count]
    if not files:
        raise ValueError(f"--calib {folder}: no images")
    dt = model.tensors[model.inputs[0]].dtype
    lo, hi = {"int8": (-128, 127), "uint8": (0, 255)}[dt]
    inv = np.float32(1.0) / np.float32(meta["input.scale"])
    out = []
    for f in files:
        with Image.open(f) as im:
            x = preprocess_image(im, pre)
        r = np.rint((x.astype(np.float32) * inv).astype(np.float32)).astype(np.int64) + meta["input.zero_point"]
        out.append(np.clip(r, lo, hi).astype(np.int8 if dt == "int8" else np.uint8)[None])
    return out


def main(argv=None):
    args = build_parser().parse_args(argv)
    from .. import container
    from .common import ImportFailure

    labels = args.labels
    if labels == "none":
        labels = None
    elif labels != "auto":
        with open(labels, encoding="utf-8") as f:
            labels = [ln.strip() for ln in f if ln.strip()]
    try:
        if args.from_tflite:
            from .tflite import import_tflite

            model, report = import_tflite(args.from_tflite, name=args.name, preprocess=args.preprocess,
                                          labels=labels, wnid_tsv=args.wnid_tsv)
            src = args.from_tflite
        else:
            from .onnx_import import import_onnx

            model, report = import_onnx(args.from_onnx, name=args.name, preprocess=args.preprocess,
                                        labels=labels, wnid_tsv=args.wnid_tsv)
            src = args.from_onnx
        if args.compress:
            for t in model.tensors.values():
                if t.data is not None:
                    t.compress = args.compress
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        container.write(model, args.output)
        log(f"imported {src}: {len(report)} source ops -> {len(model.ops)} t2c ops; wrote {args.output} "
            f"({os.path.getsize(args.output)} bytes)")
        summary = {"source": src, "output": args.output, "ops": report}
        if args.calib:
            if not args.from_onnx:
                log("--calib: TFLite imports are exact (no float requantization); nothing to measure")
            else:
                from .onnx_import import MULT_BITS, measure_requant

                inputs = _calibration_inputs(model, args.calib, args.calib_count)
                log(f"measuring requantization against ONNX's float definition on {len(inputs)} images")
                stats = measure_requant(model, report, inputs)
                summary["requant_vs_float"] = {"images": len(inputs), "multiplier_bits": MULT_BITS, "ops": stats}
                for s in stats:
                    log(f"  {s['node'][:48]:<48} {s['differ']:>8} / {s['elements']:<10} differ "
                        f"(max |diff| {s['max_abs_diff']}, scale rel. error <= {s['max_rel_scale_error']:.1e})")
                tot = sum(s["elements"] for s in stats)
                bad = sum(s["differ"] for s in stats)
                log(f"total: {bad} of {tot} requantized outputs differ from the float definition")
        if args.report:
            with open(args.report, "w", encoding="utf-8") as f:
                json.dump(summary, f, indent=1)
        return 0
    except ImportFailure as e:
        log(f"error: {e}")
        return 2
    except (ValueError, OSError) as e:
        log(f"error: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
