"""Accuracy of an imported model in t2c, image-by-image agreement with ONNX Runtime, and op-by-op
bit-exactness of the C engine against the Python reference.

    python3 -m t2c.importers.compare --t2c mbv2.t2c --onnx mobilenet_v2-imagenet-int8-qdq.onnx \\
        --images ../shared/images/imagenet-dev --build build --ort-modules /work/cache/ort/node_modules

1. Every image goes through t2c's own preprocessing (t2c_preprocess_tool: decode, resize, crop,
   normalize — the code t2c-run uses) and is quantized with the model's input.scale/zero_point by the
   `quantize` op recipe (float32 x * (1/scale), ties to even). The same int8 tensor feeds both
   runtimes: t2c directly; ONNX Runtime as (q - zero_point) * scale in float32, which its first
   QuantizeLinear maps back to q exactly. Preprocessing differences are thereby removed.
2. t2c logits come from t2c-run (--json, all classes; the dequantized logits are mapped back to int8).
   A check runs t2c_dump_tool on the first few dumped inputs and asserts the same logits, so t2c-run
   and the dumped inputs agree.
3. ONNX Runtime runs through ort_run.mjs (node + onnxruntime-node); its float logits are divided by
   the output scale to give int8 steps.
4. --verify K: for the first K images the Python reference (t2c.reference) must equal the C engine
   (t2c_dump_tool) on every op output.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from .. import container

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp")


def log(msg):
    print(f"compare: {msg}", file=sys.stderr, flush=True)


def list_images(folder):
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXT))


def f32_arg(values):
    return ",".join(repr(float(np.float32(v))) for v in values)


def preprocess(tool, meta, shape, path, tmp):
    """t2c's float preprocessing of one image (CHW float32) through t2c_preprocess_tool."""
    _, c, h, w = shape
    args = [tool, "pipeline", path, os.path.join(tmp, "pp"), f"channels={c}", f"size={h},{w}"]
    if meta.get("preprocess.resize"):
        args += [f"resize={meta['preprocess.resize']}", f"mode={meta.get('preprocess.resize_mode', 'shorter')}"]
    if meta.get("preprocess.crop"):
        args.append("crop={},{}".format(*meta["preprocess.crop"]))
    if meta.get("preprocess.mean"):
        args += ["mean=" + f32_arg(meta["preprocess.mean"]), "std=" + f32_arg(meta["preprocess.std"])]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return np.fromfile(os.path.join(tmp, "pp.f32"), dtype=np.float32).reshape(c, h, w)


def quantize(x, scale, zp, lo=-128, hi=127):
    """ops/README.md `quantize`: binary32 inv = 1/scale, nearbyint(x * inv) (ties to even), + zp, clamp."""
    inv = np.float32(1.0) / np.float32(scale)
    r = np.rint((x.astype(np.float32) * inv).astype(np.float32))
    return np.clip(r.astype(np.int64) + zp, lo, hi).astype(np.int8)


def t2c_run(run, model, images, threads):
    out = subprocess.run([run, "--json", "-k", "1000", "-j", str(threads), "--no-progress", model] + images,
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def dump(tool, model, x, outdir):
    np.save(os.path.join(outdir, "in.npy"), x)
    subprocess.run([tool, model, os.path.join(outdir, "in.npy"), outdir], check=True, stdout=subprocess.DEVNULL)
    files = sorted(f for f in os.listdir(outdir) if f[:4].isdigit() and f.endswith(".npy"))
    return [np.load(os.path.join(outdir, f)) for f in files], files


def topk_stats(logits, truth, k=5):
    order = np.argsort(-logits, axis=1, kind="stable")
    top1 = order[:, 0] == truth
    top5 = (order[:, :k] == truth[:, None]).any(1)
    return order[:, 0], top1, top5


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m t2c.importers.compare", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--t2c", required=True, help="the imported .t2c model")
    ap.add_argument("--onnx", default=None, help="ONNX model for ONNX Runtime (float input, same network)")
    ap.add_argument("--images", required=True, help="folder of <wnid>_*.JPEG images")
    ap.add_argument("--build", required=True, help="meson build directory (t2c-run, t2c_dump_tool, ...)")
    ap.add_argument("--ort-modules", default="/work/cache/ort/node_modules",
                    help="node_modules holding onnxruntime-node (default %(default)s)")
    ap.add_argument("--ort-level", default="all", choices=("all", "disabled"))
    ap.add_argument("--verify", type=int, default=2, help="images checked op by op, reference vs engine")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N images")
    ap.add_argument("--json", default=None, help="write the summary (and per-image results) here")
    args = ap.parse_args(argv)

    tools = {"run": os.path.join(args.build, "engine", "tools", "t2c-run"),
             "pp": os.path.join(args.build, "tests", "t2c_preprocess_tool"),
             "dump": os.path.join(args.build, "tests", "t2c_dump_tool")}
    for k, p in tools.items():
        if not os.path.exists(p):
            ap.error(f"{p} not found (build first)")
    model = container.read(args.t2c)
    meta = model.meta
    shape = model.tensors[model.inputs[0]].shape
    in_s, in_z = meta["input.scale"], meta["input.zero_point"]
    out_s, out_z = meta["output.scale"], meta["output.zero_point"]
    wnids = list(meta.get("labels.wnid") or [])
    images = list_images(args.images)
    if args.limit:
        images = images[:args.limit]
    truth = np.array([wnids.index(os.path.basename(p).split("_")[0]) for p in images])
    summary = {"model": os.path.basename(args.t2c), "images": len(images)}

    with tempfile.TemporaryDirectory() as tmp:
        log(f"preprocessing {len(images)} images with t2c's pipeline")
        q = np.stack([quantize(preprocess(tools["pp"], meta, shape, p, tmp), in_s, in_z) for p in images])

        log("t2c-run")
        res = t2c_run(tools["run"], args.t2c, images, args.threads)
        t2c_logits = np.zeros((len(images), 1000), np.int64)
        for i, r in enumerate(res["images"]):
            for e in r["top"]:
                t2c_logits[i, e["index"]] = int(round(e["logit"] / np.float32(out_s))) + out_z
        pred, top1, top5 = topk_stats(t2c_logits, truth)
        summary["t2c"] = {"top1": float(top1.mean()), "top5": float(top5.mean()),
                          "t2c_run_accuracy": res.get("accuracy")}
        log(f"t2c: top-1 {top1.mean():.3f}, top-5 {top5.mean():.3f} (t2c-run: {res.get('accuracy')})")

        # the dumped inputs are t2c-run's inputs: same logits through the dump tool
        nchk = min(max(args.verify, 1), len(images))
        for i in range(nchk):
            d = os.path.join(tmp, f"dump{i}")
            os.makedirs(d)
            outs, files = dump(tools["dump"], args.t2c, q[i:i + 1], d)
            if not np.array_equal(outs[-1].reshape(-1).astype(np.int64), t2c_logits[i]):
                raise SystemExit(f"compare: image {images[i]}: dumped input does not reproduce t2c-run's logits")
            if i < args.verify:
                from ..reference import run as ref_run

                got = []
                ref_run(model, {model.inputs[0]: q[i:i + 1]}, on_op=lambda idx, op, o: got.append(o[0]))
                bad = [files[k] for k in range(len(files)) if not np.array_equal(
                    np.asarray(got[k]).astype(np.int64), outs[k].astype(np.int64))]
                if len(got) != len(files) or bad:
                    raise SystemExit(f"compare: reference differs from the engine on {bad or 'the op count'}")
                log(f"image {i}: Python reference == C engine on all {len(files)} op outputs")
        summary["verified_images"] = args.verify
        summary["verified_ops"] = len(model.ops)

        if args.onnx:
            xf = ((q.astype(np.float32) - np.float32(in_z)) * np.float32(in_s)).astype(np.float32)
            fin, fout = os.path.join(tmp, "in.f32"), os.path.join(tmp, "out.f32")
            xf.tofile(fin)
            env = dict(os.environ, NODE_PATH=args.ort_modules)
            log(f"ONNX Runtime ({args.ort_level})")
            subprocess.run(["node", os.path.join(HERE, "ort_run.mjs"), args.onnx, fin, str(len(images))]
                           + [str(d) for d in shape[1:]] + [fout, args.ort_level], check=True, env=env)
            ort = np.fromfile(fout, dtype=np.float32).reshape(len(images), -1)
            ort_steps = np.rint(ort / np.float32(out_s)).astype(np.int64) + out_z
            opred, otop1, otop5 = topk_stats(ort_steps, truth)
            diff = np.abs(ort_steps - t2c_logits)
            summary["ort"] = {"level": args.ort_level, "top1": float(otop1.mean()), "top5": float(otop5.mean()),
                              "top1_agreement": float((opred == pred).mean()),
                              "mean_abs_logit_diff_steps": float(diff.mean()),
                              "mean_max_abs_logit_diff_steps": float(diff.max(1).mean()),
                              "max_abs_logit_diff_steps": int(diff.max()),
                              "identical_logit_vectors": int((diff.max(1) == 0).sum()),
                              "max_abs_logit_diff_real": float(diff.max() * out_s)}
            log("ORT: " + json.dumps(summary["ort"]))
            summary["per_image"] = [{"image": os.path.basename(p), "truth": int(t), "t2c": int(a), "ort": int(b),
                                     "max_abs_diff_steps": int(m)}
                                    for p, t, a, b, m in zip(images, truth, pred, opred, diff.max(1))]
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=1)
    print(json.dumps({k: v for k, v in summary.items() if k != "per_image"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
