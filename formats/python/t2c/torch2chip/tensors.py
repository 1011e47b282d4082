"""Torch2Chip's extracted tensors (`tensors/`) -> a golden dump directory, and a cross-check.

`T2C.export` hooks every conv/matmul ("ConvOPS"/"IntMatMul") and saves `<op>_x1.pt` (its integer
input), `<op>_x2.pt` (weight; for a matmul `qweight.T`) and `<op>_y.pt` (accumulator), all int32, plus
`matmul.json` with their shapes. The compat model names its conv/linear ops after these hooks
(`layer1.0.conv1.conv.ops`, `fc.linear.ops`), so every file maps onto one op and role:

    x1 -> role "input"  (the op's input tensor, converted to the model's dtype, e.g. uint8)
    x2 -> role "weight" (transposed back to [out, in] for a matmul)
    y  -> role "output" (int32 accumulator)

The directory follows golden/README.md (t2c-golden's layout): NumPy files
`NNN_<op>.<role>[.img0].npy` in the engine's row-major (nchw) order, and `manifest.json` listing the
model, the ops and one entry per file.

Where Torch2Chip's own number is not the integer the op computes, the file is not a golden vector:
its stem conv reads the float image, so `T2C.save`'s `.int()` truncates x1 (the image) and y (the
float accumulator) toward zero. The converter detects this (y != conv(x1, x2) in exact arithmetic, or
a float tensor in the model), writes only the exact weight, and lists the skipped files with the
reason under manifest["torch2chip"]["skipped"]. Integer ops are always written; one whose y is not
conv(x1, x2) is listed under manifest["torch2chip"]["consistent"] (false) and shows up in the check.
"""

import hashlib
import json
import os
import re
import zlib

import numpy as np

from .. import container

GOLDEN_VERSION = 1
_NP = {"int4": np.int8, "uint4": np.uint8, "int8": np.int8, "uint8": np.uint8, "int16": np.int16,
       "int32": np.int32, "int64": np.int64, "float32": np.float32}
_RANGE = {"int4": (-8, 7), "uint4": (0, 15), "int8": (-128, 127), "uint8": (0, 255),
          "int16": (-32768, 32767), "int32": (-2**31, 2**31 - 1)}
ROLES = {"conv2d": ("input", "weight", "bias"), "conv2d_f32": ("input", "weight", "bias"),
         "linear": ("input", "weight", "bias"), "matmul": ("input_a", "input_b")}


class TensorsError(ValueError):
    pass


def safe_name(name: str) -> str:
    """As t2c-golden: [A-Za-z0-9._-] kept, others '_', at most 96 characters, no leading '.'."""
    s = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:96] or "_"
    return "_" + s[1:] if s[0] == "." else s


def _load_pt(path):
    import torch
    try:
        t = torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:
        t = torch.load(path, map_location="cpu")
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def read_tensors(folder):
    """{op name: {"x1": arr, "x2": arr, "y": arr}} from a Torch2Chip tensors/ folder."""
    if not os.path.isdir(folder):
        raise TensorsError(f"{folder}: not a directory")
    ops = {}
    for f in sorted(os.listdir(folder)):
        m = re.fullmatch(r"(.+)_(x1|x2|y)\.pt", f)
        if m:
            ops.setdefault(m.group(1), {})[m.group(2)] = _load_pt(os.path.join(folder, f))
    if not ops:
        raise TensorsError(f"{folder}: no <op>_x1.pt / <op>_x2.pt / <op>_y.pt files")
    for op, d in ops.items():
        miss = [r for r in ("x1", "x2", "y") if r not in d]
        if miss:
            raise TensorsError(f"{folder}: op '{op}' lacks {', '.join(k + '.pt' for k in miss)}")
    return ops


def _exact_conv(x1, x2, op):
    """y of the op recomputed exactly (float64 holds every partial sum: |values| < 2^53)."""
    import torch
    import torch.nn.functional as F
    a = torch.from_numpy(np.asarray(x1, np.float64))
    w = torch.from_numpy(np.asarray(x2, np.float64))
    if op.type == "linear":
        return (a @ w.T).numpy()
    st = op.attrs.get("strides", [1, 1])
    pads = op.attrs.get("pads", [0, 0, 0, 0])
    if pads[0] != pads[2] or pads[1] != pads[3]:
        a = F.pad(a, (pads[1], pads[3], pads[0], pads[2]))
        pads = [0, 0, 0, 0]
    return F.conv2d(a, w, None, tuple(st), (pads[0], pads[1]), tuple(op.attrs.get("dilations", [1, 1])),
                    op.attrs.get("group", 1)).numpy()


def _op_json(model, index, op):
    roles = ROLES.get(op.type, ("input",) * len(op.inputs))
    ins = []
    for i, t in enumerate(op.inputs):
        e = dict(slot=i, role=roles[i] if i < len(roles) else f"input{i}", tensor=t or None)
        if t:
            tt = model.tensors[t]
            e.update(dtype=tt.dtype, shape=list(tt.shape), constant=tt.data is not None)
        ins.append(e)
    outs = []
    for i, t in enumerate(op.outputs):
        tt = model.tensors[t]
        outs.append(dict(slot=i, tensor=t, dtype=tt.dtype, shape=list(tt.shape), constant=False, role="output"))
    attrs = {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in op.attrs.items()}
    macs = 0
    if op.type in ("conv2d", "conv2d_f32", "linear"):
        w = model.tensors[op.inputs[1]].shape
        o = model.tensors[op.outputs[0]].shape
        macs = int(np.prod(o)) * int(np.prod(w[1:]))
    return dict(index=index, name=op.name, type=op.type, macs_per_image=macs, inputs=ins, outputs=outs,
                attrs=attrs, defaults={}, rounding=None)


def _file_entry(rel, op, index, role, base_role, slot, tensor, dtype, arr, image, raw):
    bits = {"int4": 4, "uint4": 4, "int8": 8, "uint8": 8, "int16": 16, "int32": 32, "float32": 32}[dtype]
    return dict(path=rel, op=op.name, op_type=op.type, op_index=index, image=image, role=role,
                base_role=base_role, slot=slot, tensor=tensor, attribute=None, dtype=dtype, bits=bits,
                signed=dtype not in ("uint4", "uint8"), float=dtype == "float32", shape=list(arr.shape),
                zero_point=0 if base_role in ("input", "weight") else None, rounding=None,
                layout=dict(base="nchw", view="identity", view_shape=list(arr.shape), formula="V = X"),
                format="npy", word_bits=None, elems_per_word=1, word_order=None, pad_value=0,
                address_lines=None, words=int(arr.size), elements=int(arr.size), stored_elements=int(arr.size),
                compression="none", bytes=len(raw), crc32=f"{zlib.crc32(raw) & 0xffffffff:08x}")


def convert(tensors_dir, model, out_dir, model_path=None, input_source=None, command_line=None):
    """Write the golden directory; returns a report dict (files, skipped, consistency per op)."""
    if isinstance(model, str):
        model_path = model_path or model
        model = container.read(model)
    ops = read_tensors(tensors_dir)
    by_name = {op.name: (i, op) for i, op in enumerate(model.ops)}
    unknown = [n for n in ops if n not in by_name]
    if unknown:
        raise TensorsError(f"{tensors_dir}: op(s) not in the model: {', '.join(unknown)} (was the model "
                           "exported in compat mode from the same checkpoint and architecture?)")
    covered = [op.name for op in model.ops if op.type in ("conv2d", "conv2d_f32", "linear")
               and op.name not in ops]
    os.makedirs(out_dir, exist_ok=True)
    files, skipped, consistency, op_entries = [], [], {}, []
    order = sorted(ops, key=lambda n: by_name[n][0])
    for name in order:
        index, op = by_name[name]
        d = ops[name]
        tx, tw = model.tensors[op.inputs[0]], model.tensors[op.inputs[1]]
        ty = model.tensors[op.outputs[0]]
        x2 = np.asarray(d["x2"])
        if op.type == "linear" and x2.shape == tuple(tw.shape)[::-1]:
            x2 = x2.T   # IntMatMul saves qweight.T
        if x2.shape != tuple(tw.shape):
            raise TensorsError(f"op '{name}': x2 has shape {list(d['x2'].shape)}, the model's weight "
                               f"'{tw.name}' is {list(tw.shape)}")
        y_exact = _exact_conv(d["x1"], x2, op)
        ok = y_exact.shape == d["y"].shape and bool(np.array_equal(y_exact, d["y"].astype(np.float64)))
        consistency[name] = ok
        op_entries.append(_op_json(model, index, op))
        safe = safe_name(name)
        items = [("weight", "weight", 1, tw.name, tw.dtype, x2, None)]
        if tx.dtype == "float32" or ty.dtype == "float32":
            # a float input (the stem's image) or a float bias (VGG): Torch2Chip's int32 files hold
            # trunc() of float values, which the op does not compute
            what = "image" if tx.dtype == "float32" else "accumulator plus float bias"
            why = (f"the op computes in binary32 (float {what}); Torch2Chip's .int() truncated its "
                   "x1/y toward zero" + ("" if ok else ", so y != conv(x1, x2)"))
            for role, t in (("input", tx.name), ("output", ty.name)):
                skipped.append(dict(op=name, role=role, tensor=t, reason=why))
        else:
            # written even when inconsistent: the cross-check then shows where
            items.append(("input", "input", 0, tx.name, tx.dtype, d["x1"], 0))
            items.append(("output", "output", 0, ty.name, ty.dtype, d["y"], 0))
        for role, base, slot, tensor, dtype, arr, image in items:
            arr = np.asarray(arr)
            want = tuple(model.tensors[tensor].shape)
            if arr.shape != want:
                raise TensorsError(f"op '{name}': {role} has shape {list(arr.shape)}, the model's tensor "
                                   f"'{tensor}' is {list(want)}")
            if dtype != "float32":
                lo, hi = _RANGE[dtype]
                if arr.size and (arr.min() < lo or arr.max() > hi):
                    raise TensorsError(f"op '{name}': {role} holds values outside {dtype} [{lo}, {hi}]")
            arr = arr.astype(_NP[dtype])
            stem = f"{index:03d}_{safe}.{role}" + (".img0" if image is not None else "")
            rel = stem + ".npy"
            path = os.path.join(out_dir, rel)
            np.save(path, arr)
            with open(path, "rb") as fh:
                raw = fh.read()
            files.append(_file_entry(rel, op, index, role, base, slot, tensor, dtype, arr, image, raw))
    sha = None
    if model_path and os.path.exists(model_path):
        with open(model_path, "rb") as fh:
            sha = hashlib.sha256(fh.read()).hexdigest()
    manifest = dict(
        t2c_golden_version=GOLDEN_VERSION, engine_version="0.1.0",
        generator="t2c.torch2chip tensors (from Torch2Chip T2C.export tensors/)",
        command_line=command_line,
        model=dict(path=model_path, sha256=sha, name=model.meta.get("model.name"),
                   graph_inputs=list(model.inputs), graph_outputs=list(model.outputs), ops=len(model.ops)),
        options=dict(formats=["npy"],
                     packing=dict(elems_per_word=0, word_bits=0, word_order="lsb_first", pad_value=0,
                                  address_lines=False, address_base=0, address_every=0),
                     layout=dict(base="nchw", tile=None, tile_order="row", inner_order="row"),
                     ops=order, op_types=[], roles=["input", "weight", "output"], zstd_level=0),
        inputs=[dict(image=0, source=input_source)],
        ops=op_entries, files=files,
        totals=dict(files=len(files), bytes=sum(f["bytes"] for f in files)),
        torch2chip=dict(source=os.path.abspath(tensors_dir), skipped=skipped,
                        consistent=consistency, not_in_tensors=covered),
    )
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    return manifest


# ---------------------------------------------------------------------------- cross-check

def engine_tensors_from_dump(model, dump_dir):
    """{tensor name: array} from an engine dump (NNNN_<op>.npy per op output, t2c_dump_tool's
    naming) plus the model's constants."""
    env = {n: np.asarray(t.data).reshape(t.shape) for n, t in model.tensors.items() if t.data is not None}
    for i, op in enumerate(model.ops):
        p = os.path.join(dump_dir, f"{i:04d}_{op.name.replace('/', '_')}.npy")
        if os.path.exists(p):
            env[op.outputs[0]] = np.load(p)
    return env


def check(golden_dir, model, env, max_report=10):
    """Compare every manifest file with env[tensor] exactly. Returns a list of mismatch dicts
    (op, role, tensor, count, first coordinate, got, want), first by op order."""
    with open(os.path.join(golden_dir, "manifest.json")) as fh:
        manifest = json.load(fh)
    out = []
    for f in manifest["files"]:
        want = np.load(os.path.join(golden_dir, f["path"]))
        got = env.get(f["tensor"])
        if got is None:
            out.append(dict(op=f["op"], role=f["role"], tensor=f["tensor"], count=-1, first=None,
                            got=None, want=None, message="tensor not produced by the run"))
            continue
        got = np.asarray(got)
        if f["image"] is not None and got.shape[0] != want.shape[0]:
            got = got[f["image"]:f["image"] + 1]
        if got.shape != want.shape:
            out.append(dict(op=f["op"], role=f["role"], tensor=f["tensor"], count=-1, first=None, got=None,
                            want=None, message=f"shape {list(got.shape)} != golden {list(want.shape)}"))
            continue
        bad = got.astype(np.float64) != want.astype(np.float64)
        if bad.any():
            idx = np.argwhere(bad)
            first = tuple(int(v) for v in idx[0])
            out.append(dict(op=f["op"], role=f["role"], tensor=f["tensor"], count=int(bad.sum()), first=first,
                            got=got[first].item(), want=want[first].item(),
                            message=f"{int(bad.sum())} of {bad.size} elements differ, first at "
                                    f"[{', '.join(map(str, first))}]: engine {got[first].item()}, "
                                    f"golden {want[first].item()}"))
    return out[:max_report] if max_report else out
