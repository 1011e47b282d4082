"""Command line: `t2c-export --from-torch2chip CHECKPOINT --arch ARCH ...` or `python3 -m t2c.torch2chip`.

    python3 -m t2c.torch2chip export CHECKPOINT --arch resnet18 -o model.t2c [--mode compat|integer]
        [--wbit 8 --abit 8 --fl 26] [--tensors tensors/ --golden-out golden/ --input input.pt]
    python3 -m t2c.torch2chip tensors TENSORS_DIR --model model.t2c -o golden/ [--input input.pt]
    python3 -m t2c.torch2chip check model.t2c golden/ --input input.pt [--dump ENGINE_DUMP_DIR]

`export` writes the .t2c (and, with --tensors, converts Torch2Chip's extracted tensors into a golden
directory next to it); `check` runs the model (the Python reference, or reads an engine dump of
NNNN_<op>.npy files) on the image and compares it op by op with a golden directory.
"""

import argparse
import os
import shlex
import sys

import numpy as np

from . import MODES, convert
from .archs import ARCHS
from .checkpoint import CheckpointError
from .tensors import TensorsError


def _log(msg):
    print(f"t2c-export --from-torch2chip: {msg}", file=sys.stderr, flush=True)


def load_input(path):
    """A preprocessed image tensor (.pt or .npy), float32 NCHW."""
    if path.endswith(".npy"):
        x = np.load(path)
    else:
        from .tensors import _load_pt
        x = _load_pt(path)
    return np.asarray(x, np.float32)


def model_input(model, x):
    """x (float image) as the model's graph input: float32 (compat) or quantized (integer mode)."""
    from .. import reference
    t = model.tensors[model.inputs[0]]
    if t.dtype == "float32":
        return x.astype(np.float32)
    if np.issubdtype(x.dtype, np.integer):
        return x
    return reference.quantize(x.astype(np.float32), float(model.meta["input.scale"]),
                              int(model.meta.get("input.zero_point", 0)), dtype=t.dtype)


def _labels():
    tsv = "/work/shared/models/imagenet_classes.tsv"
    if not os.path.exists(tsv):
        return None, None
    with open(tsv, encoding="utf-8") as fh:
        rows = [ln.rstrip("\n").split("\t") for ln in fh if ln.strip()]
    if len(rows) != 1000 or any(len(r) < 2 for r in rows):
        return None, None
    return [r[2] if len(r) > 2 else r[1] for r in rows], [r[1] for r in rows]


def add_export_args(ap):
    ap.add_argument("checkpoint", help="Torch2Chip's t2c_model.pth.tar (T2C.save; .xz accepted)")
    ap.add_argument("--arch", required=True, choices=sorted(ARCHS))
    ap.add_argument("-o", "--output", required=True, help="the .t2c file to write")
    ap.add_argument("--mode", choices=MODES, default="compat",
                    help="compat: Torch2Chip's binary32 arithmetic, bit-exact; integer: integer-only "
                         "(default %(default)s)")
    g = ap.add_argument_group("Torch2Chip parameters the checkpoint does not store")
    g.add_argument("--wbit", type=int, default=8, help="weight bits (Torch2Chip default 8)")
    g.add_argument("--abit", type=int, default=8, help="activation bits (Torch2Chip default 8)")
    g.add_argument("--fl", type=int, default=26, help="MulShift fractional bits = T2C sfl (default 26)")
    g.add_argument("--num-classes", type=int, default=None, help="default: from the checkpoint")
    g.add_argument("--input-size", type=int, default=224)
    g = ap.add_argument_group("integer mode")
    g.add_argument("--frac-bits", type=int, default=None,
                   help="fractional bits of the int16 residual streams (default: from the quantizer ranges)")
    g.add_argument("--out-frac-bits", type=int, default=16, help="fractional bits of the int32 logits")
    g.add_argument("--input-scale", type=float, default=None,
                   help="step of the int8 image (default: max |normalized ImageNet pixel| / 127)")
    g = ap.add_argument_group("extracted tensors (compat mode)")
    g.add_argument("--tensors", default=None, help="Torch2Chip's tensors/ folder to convert")
    g.add_argument("--golden-out", default=None, help="golden directory (default: OUTPUT without .t2c + '.golden')")
    g.add_argument("--input", default=None, help="the preprocessed image the tensors were taken on (recorded)")
    ap.add_argument("--name", default=None, help="model.name")


def run_export(args):
    labels, wnids = _labels()
    try:
        model, taps, bound = convert(args.checkpoint, args.arch, args.mode, wbit=args.wbit, abit=args.abit,
                                     fl=args.fl, num_classes=args.num_classes, input_size=args.input_size,
                                     frac_bits=args.frac_bits, out_frac_bits=args.out_frac_bits,
                                     input_scale=args.input_scale, name=args.name, labels=labels, wnids=wnids)
    except (CheckpointError, ValueError, OSError) as e:
        _log(f"error: {e}")
        return 1
    for w in bound.warnings:
        _log(f"warning: {w}")
    model.write(args.output)
    kinds = {}
    for op in model.ops:
        kinds[op.type] = kinds.get(op.type, 0) + 1
    _log(f"wrote {args.output}: {args.arch}, {args.mode} mode, W{args.wbit}A{args.abit}, {len(model.ops)} ops "
         f"({', '.join(f'{k} {v}' for k, v in kinds.items())})")
    if args.mode == "integer":
        _log(f"integer mode: input int8 step {model.meta['input.scale']:.6g}, streams int16 with "
             f"{model.meta['torch2chip.frac_bits']} fractional bits, logits int32 x 2^-{args.out_frac_bits}")
    if args.tensors:
        if args.mode != "compat":
            _log("error: --tensors needs --mode compat (only compat mode computes Torch2Chip's integers)")
            return 1
        out = args.golden_out or (args.output[:-4] if args.output.endswith(".t2c") else args.output) + ".golden"
        return _tensors(args.tensors, model, out, args.output, args.input)
    return 0


def _tensors(tensors_dir, model, out, model_path, input_path):
    from . import tensors
    try:
        man = tensors.convert(tensors_dir, model, out, model_path=model_path, input_source=input_path,
                              command_line=" ".join(shlex.quote(a) for a in sys.argv))
    except (TensorsError, OSError) as e:
        _log(f"error: {e}")
        return 1
    t2 = man["torch2chip"]
    _log(f"wrote {out}: {len(man['files'])} golden files for {len(t2['consistent'])} Torch2Chip ops")
    for s in t2["skipped"]:
        _log(f"note: {s['op']} {s['role']} not a golden vector: {s['reason']}")
    explained = {s["op"] for s in t2["skipped"]}
    bad = [k for k, v in t2["consistent"].items() if not v and k not in explained]
    if bad:
        _log(f"warning: Torch2Chip's own y != conv(x1, x2) for {', '.join(bad)}")
    return 0


def run_tensors(args):
    from .. import container
    return _tensors(args.tensors_dir, container.read(args.model), args.output, args.model, args.input)


def run_check(args):
    from .. import container, reference
    from . import tensors
    model = container.read(args.model)
    if args.dump:
        env = tensors.engine_tensors_from_dump(model, args.dump)
    else:
        if not args.input:
            print("check: --input (the image) or --dump (an engine dump) is needed", file=sys.stderr)
            return 2
        x = model_input(model, load_input(args.input))
        env = reference.run(model, {model.inputs[0]: x})
        for n, t in model.tensors.items():   # the weights the ops read
            if t.data is not None:
                env.setdefault(n, np.asarray(t.data).reshape(t.shape))
    bad = tensors.check(args.golden, model, env, max_report=0)
    import json
    with open(os.path.join(args.golden, "manifest.json")) as fh:
        n = len(json.load(fh)["files"])
    if not bad:
        print(f"check: {n} golden files match")
        return 0
    for b in bad:
        print(f"check: op '{b['op']}' {b['role']} ({b['tensor']}): {b['message']}")
    print(f"check: {len(bad)} of {n} golden files differ")
    return 1


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="python3 -m t2c.torch2chip", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    add_export_args(sub.add_parser("export", help="Torch2Chip checkpoint -> .t2c"))
    p = sub.add_parser("tensors", help="Torch2Chip tensors/ -> golden directory")
    p.add_argument("tensors_dir")
    p.add_argument("--model", required=True, help="the compat-mode .t2c of the same checkpoint")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--input", default=None, help="the image the tensors were taken on (recorded)")
    p = sub.add_parser("check", help="compare a run with a golden directory, op by op")
    p.add_argument("model")
    p.add_argument("golden")
    p.add_argument("--input", default=None, help="preprocessed image (.pt/.npy)")
    p.add_argument("--dump", default=None, help="engine dump directory (NNNN_<op>.npy) instead of a run")
    args = ap.parse_args(argv)
    return {"export": run_export, "tensors": run_tensors, "check": run_check}[args.cmd](args)


def export_main(argv):
    """Entry for `t2c-export --from-torch2chip CHECKPOINT ...` (argv without the program name)."""
    argv = list(argv)
    i = next(k for k, a in enumerate(argv) if a.split("=")[0] == "--from-torch2chip")
    if "=" in argv[i]:
        ckpt, rest = argv[i].split("=", 1)[1], argv[:i] + argv[i + 1:]
    elif i + 1 < len(argv):
        ckpt, rest = argv[i + 1], argv[:i] + argv[i + 2:]
    else:
        print("t2c-export: --from-torch2chip needs the checkpoint path", file=sys.stderr)
        return 2
    ap = argparse.ArgumentParser(prog="t2c-export --from-torch2chip",
                                 description="Import a Torch2Chip fused checkpoint (see "
                                             "formats/python/t2c/torch2chip/README.md).")
    add_export_args(ap)
    return run_export(ap.parse_args([ckpt] + rest))
