"""Vision transformers -> integer-only .t2c graphs (ops/README.md "Transformer ops").

Takes torchvision's VisionTransformer (any configuration without a pre-logits layer: vit_b_16, vit_b_32,
vit_l_16, ..., and the small custom `make_fmnist_vit`) and emits, with post-training quantization from
calibration images:

    input int8 -> conv2d (patch embedding) -> requantize -> reshape [D, P] -> transpose [P, D]
    expand(class token, batch) ; concat -> broadcast_add(position embedding)      residual r0
    per block:  layernorm -> linear q, k, v (+requantize) -> reshape/transpose to heads
                matmul(q, kᵀ) int32 -> [requantize for tflite] -> softmax -> matmul(p, v) -> requantize
                -> transpose/reshape -> linear out_proj -> add (residual)
                layernorm -> linear fc1 -> requantize -> gelu -> linear fc2 -> add (residual)
    slice(class token) -> reshape -> layernorm -> linear head -> requantize: int8 logits

Every op is integer-only; the approximation of softmax / GELU / layernorm is a choice
(`ViTQuantConfig.softmax`, `.gelu`, `.layernorm`), and the lookup tables are parameter tensors.
Quantization: weights symmetric per output channel (int8, or int4 with the patch embedding and the head
kept at 8 bits when `first_last_8bit`), biases int32, activations asymmetric per tensor (int8; the
residual stream and the GELU input optionally int16), the 1/√d of attention folded into the softmax
input scale, probabilities unsigned with scale 2^-8 (or int8 with zero point -128).
"""

import math
import sys
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .. import container as tc
from .fixedpoint import quantize_multiplier
from .graph import UnsupportedError
from .observers import ActObserver, choose_act_qparams, quantize_weight

SOFTMAX_METHODS = ("ibert", "shift", "lut", "tflite")
GELU_METHODS = ("ibert", "sigmoid", "lut")
LAYERNORM_METHODS = ("ibert",)

FMNIST_VIT = dict(image_size=28, patch_size=7, num_layers=4, num_heads=4, hidden_dim=64, mlp_dim=128)


def make_fmnist_vit(num_classes=10, **overrides):
    """torchvision's VisionTransformer in a small custom configuration for 28x28 grayscale images:
    patch 7 (4x4 = 16 patches + class token: 17 tokens), 4 encoder blocks, 4 heads, width 64, MLP 128;
    the patch embedding takes one input channel. 139,018 parameters."""
    from torchvision.models import VisionTransformer

    cfg = dict(FMNIST_VIT, **overrides)
    m = VisionTransformer(num_classes=num_classes, **cfg)
    m.conv_proj = torch.nn.Conv2d(1, cfg["hidden_dim"], cfg["patch_size"], cfg["patch_size"])
    return m


def _tv_vit(name):
    def make(num_classes=1000):
        import torchvision
        return getattr(torchvision.models, name)(num_classes=num_classes)
    return make


def _fmnist_pre():
    from ..models import FMNIST_MEAN, FMNIST_STD
    return {"color": "GRAY", "resize": 28, "resize_mode": "exact", "crop": None,
            "mean": list(FMNIST_MEAN), "std": list(FMNIST_STD)}


def _imagenet_pre():
    from ..models import IMAGENET_MEAN, IMAGENET_STD
    return {"color": "RGB", "resize": 256, "resize_mode": "shorter", "crop": [224, 224],
            "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}


# Architectures of t2c-export --arch handled here (same keys as t2c.models.ARCHS).
VIT_ARCHS = {
    "fmnist_vit": {"make": lambda num_classes=10: make_fmnist_vit(num_classes), "pre": _fmnist_pre,
                   "labels": "fmnist"},
    "vit_b_16": {"make": _tv_vit("vit_b_16"), "pre": _imagenet_pre, "labels": "imagenet",
                 "tv_weights": "ViT_B_16_Weights"},
    "vit_b_32": {"make": _tv_vit("vit_b_32"), "pre": _imagenet_pre, "labels": "imagenet",
                 "tv_weights": "ViT_B_32_Weights"},
    "vit_l_16": {"make": _tv_vit("vit_l_16"), "pre": _imagenet_pre, "labels": "imagenet",
                 "tv_weights": "ViT_L_16_Weights"},
}


@dataclass
class ViTQuantConfig:
    wbits: int = 8                  # linear weights inside the blocks: 8 or 4
    first_last_8bit: bool = True    # patch embedding and head keep 8-bit weights
    softmax: str = "ibert"          # ibert, shift, lut, tflite
    gelu: str = "ibert"             # ibert, sigmoid, lut
    layernorm: str = "ibert"
    softmax_out: str = "uint8"      # probabilities: uint8 (zero point 0) or int8 (zero point -128)
    residual_bits: int = 8          # the residual stream (adds, position embedding): 8 or 16
    gelu_input_bits: int = 8        # the fc1 output feeding GELU: 8 or 16
    lut_size: int = 256             # entries of the softmax / GELU tables
    act_observer: str = "minmax"    # minmax or percentile
    percentile: float = 99.99
    weight_observer: str = "minmax"
    rounding: str = "half_even"     # of every requantize / add / gelu output step (not tflite)
    compress: int = 0

    def check(self):
        if self.wbits not in (4, 8):
            raise ValueError(f"wbits must be 4 or 8, not {self.wbits}")
        for key, allowed in (("softmax", SOFTMAX_METHODS), ("gelu", GELU_METHODS),
                             ("layernorm", LAYERNORM_METHODS), ("softmax_out", ("uint8", "int8")),
                             ("act_observer", ("minmax", "percentile")), ("weight_observer", ("minmax", "mse")),
                             ("rounding", ("half_even", "half_up", "half_away", "floor"))):
            if getattr(self, key) not in allowed:
                raise ValueError(f"{key} must be one of {', '.join(allowed)}, not {getattr(self, key)!r}")
        if self.residual_bits not in (8, 16) or self.gelu_input_bits not in (8, 16):
            raise ValueError("residual_bits and gelu_input_bits must be 8 or 16")
        if not 2 <= self.lut_size <= 65536:
            raise ValueError("lut_size must be 2..65536")

    def describe(self):
        w = f"W{self.wbits}A8" + (" (patch embedding and head W8)" if self.wbits == 4 and self.first_last_8bit else "")
        return (f"{w}, softmax {self.softmax} -> {self.softmax_out}, GELU {self.gelu}, layernorm {self.layernorm}, "
                f"residual int{self.residual_bits}, GELU input int{self.gelu_input_bits}, LUT size {self.lut_size}, "
                f"activations {self.act_observer}, rounding {self.rounding}")


# ------------------------------------------------------------------------------------------------
# The model's parameters and a float forward pass that exposes every quantization point
# ------------------------------------------------------------------------------------------------

def is_vit(model):
    return all(hasattr(model, a) for a in ("conv_proj", "class_token", "encoder", "heads", "patch_size"))


class _Structure:
    """The float parameters of a torchvision VisionTransformer, in the order the graph uses them."""

    def __init__(self, model):
        if not is_vit(model):
            raise UnsupportedError(f"{type(model).__name__} is not a torchvision VisionTransformer")
        heads = dict(model.heads.named_children())
        if set(heads) != {"head"}:
            raise UnsupportedError(f"heads {sorted(heads)}: only a single linear 'head' is supported "
                                   "(no representation/pre_logits layer)")
        g = lambda t: t.detach().double()  # noqa: E731
        cp = model.conv_proj
        if cp.kernel_size != cp.stride or cp.padding != (0, 0) or cp.groups != 1:
            raise UnsupportedError("conv_proj must be a non-overlapping patch embedding (kernel == stride)")
        self.patch = int(model.patch_size)
        self.image_size = int(model.image_size)
        self.dim = int(model.hidden_dim)
        self.conv_w, self.conv_b = g(cp.weight), g(cp.bias) if cp.bias is not None else torch.zeros(self.dim).double()
        self.cls = g(model.class_token)
        self.pos = g(model.encoder.pos_embedding)
        self.blocks = []
        for name, blk in model.encoder.layers.named_children():
            att = blk.self_attention
            if not att.batch_first or att._qkv_same_embed_dim is False or att.in_proj_bias is None:
                raise UnsupportedError(f"{name}: attention must be batch_first with packed q/k/v and biases")
            lin = [m for m in blk.mlp if isinstance(m, torch.nn.Linear)]
            acts = [m for m in blk.mlp if isinstance(m, torch.nn.GELU)]
            if len(lin) != 2 or len(acts) != 1:
                raise UnsupportedError(f"{name}: the MLP must be Linear, GELU, Linear (dropouts aside)")
            w, b, d = g(att.in_proj_weight), g(att.in_proj_bias), self.dim
            self.blocks.append({
                "name": name, "heads": int(att.num_heads),
                "ln1": (g(blk.ln_1.weight), g(blk.ln_1.bias), float(blk.ln_1.eps)),
                "q": (w[:d], b[:d]), "k": (w[d:2 * d], b[d:2 * d]), "v": (w[2 * d:], b[2 * d:]),
                "o": (g(att.out_proj.weight), g(att.out_proj.bias)),
                "ln2": (g(blk.ln_2.weight), g(blk.ln_2.bias), float(blk.ln_2.eps)),
                "fc1": (g(lin[0].weight), g(lin[0].bias)), "fc2": (g(lin[1].weight), g(lin[1].bias)),
            })
        ln = model.encoder.ln
        self.ln = (g(ln.weight), g(ln.bias), float(ln.eps))
        self.head = (g(heads["head"].weight), g(heads["head"].bias))
        self.in_ch = int(self.conv_w.shape[1])
        self.grid = self.image_size // self.patch
        self.tokens = self.grid * self.grid + 1
        self.classes = int(self.head[0].shape[0])


def float_forward(S, x, observe=None):
    """The ViT on float64, step by step as the integer graph does it; observe(name, tensor) sees every
    quantization point. Returns the logits."""
    ob = observe or (lambda name, t: None)
    x = x.double()
    n, d = x.shape[0], S.dim
    t = F.conv2d(x, S.conv_w, S.conv_b, stride=S.patch)
    ob("patch", torch.cat([t.reshape(-1), S.cls.reshape(-1)]))   # the class token shares this scale
    t = t.reshape(n, d, -1).permute(0, 2, 1)
    t = torch.cat([S.cls.expand(n, -1, -1), t], dim=1)
    t = t + S.pos
    ob("embed", t)
    T = t.shape[1]
    for i, b in enumerate(S.blocks):
        p = f"blocks.{i}."
        h, dh = b["heads"], d // b["heads"]
        y = F.layer_norm(t, (d,), *b["ln1"][:2], eps=b["ln1"][2])
        ob(p + "ln1", y)
        qkv = {}
        for key in "qkv":
            z = F.linear(y, *b[key])
            ob(p + key, z)
            qkv[key] = z.reshape(n, T, h, dh).transpose(1, 2)
        s = qkv["q"] @ qkv["k"].transpose(-1, -2) / math.sqrt(dh)
        ob(p + "scores", s)
        c = torch.softmax(s, dim=-1) @ qkv["v"]
        ob(p + "ctx", c)
        c = c.transpose(1, 2).reshape(n, T, d)
        z = F.linear(c, *b["o"])
        ob(p + "proj", z)
        t = t + z
        ob(p + "res1", t)
        y = F.layer_norm(t, (d,), *b["ln2"][:2], eps=b["ln2"][2])
        ob(p + "ln2", y)
        z = F.linear(y, *b["fc1"])
        ob(p + "fc1", z)
        z = F.gelu(z)
        ob(p + "gelu", z)
        z = F.linear(z, *b["fc2"])
        ob(p + "fc2", z)
        t = t + z
        ob(p + "res2", t)
    y = F.layer_norm(t[:, 0], (d,), *S.ln[:2], eps=S.ln[2])
    ob("ln", y)
    z = F.linear(y, *S.head)
    ob("logits", z)
    return z


# ------------------------------------------------------------------------------------------------
# Quantization parameters
# ------------------------------------------------------------------------------------------------

def _qp(scale, zp, dtype):
    lo, hi = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}[dtype]
    return {"scale": float(scale), "zp": int(zp), "dtype": dtype, "qmin": lo, "qmax": hi}


def _act_qp(ob, bits, cfg):
    if bits == 8:
        s, zp, dt, _ = choose_act_qparams(ob, 8, True, False, cfg.act_observer, cfg.percentile)
        return _qp(s, zp, dt)
    lo, hi = min(ob.min, 0.0), max(ob.max, 0.0)
    if cfg.act_observer == "percentile":
        smp = ob.sample()
        lo = min(0.0, float(np.percentile(smp, 100 - cfg.percentile)))
        hi = max(0.0, float(np.percentile(smp, cfg.percentile)))
    scale = float(np.float32(max(hi - lo, 1e-8) / 65535.0))
    zp = int(np.clip(-32768 - round(lo / scale), -32768, 32767))
    return _qp(scale, zp, "int16")


def _mult(real):
    m, s, _ = quantize_multiplier(real, 32)
    return int(m), int(s)


def softmax_table(size, lut_shift):
    """exp(-i · 2^(lut_shift-14)) · 2^30 for i < size (README softmax lut)."""
    i = np.arange(size, dtype=np.float64)
    return np.round(np.exp(-i * 2.0 ** (lut_shift - 14)) * 2 ** 30).astype(np.int32)


def gelu_table(size, lut_shift, offset):
    """Φ((i - offset) · 2^(lut_shift-12)) · 2^16 for i < size (README gelu lut)."""
    u = (np.arange(size, dtype=np.float64) - offset) * 2.0 ** (lut_shift - 12)
    phi = 0.5 * (1.0 + np.array([math.erf(v / math.sqrt(2.0)) for v in u]))
    return np.round(phi * 2 ** 16).astype(np.int32)


def softmax_lut_shift(size):
    """The table covers exp down to exp(-16): step 16/size rounded down to a power of two."""
    return int(14 + math.floor(math.log2(16.0 / size)))


def gelu_lut_params(size):
    """Step so that the table spans [-4, 4): (lut_shift, offset)."""
    return int(12 + math.floor(math.log2(8.0 / size))), size // 2


# ------------------------------------------------------------------------------------------------
# The integer graph
# ------------------------------------------------------------------------------------------------

class _Emitter:
    def __init__(self, cfg, qp):
        self.m = tc.Model()
        self.cfg = cfg
        self.qp = qp        # quant point -> qparams; also keyed by the tensor names emitted
        self.report = []

    def act(self, name, dtype, shape):
        self.m.add_tensor(name, dtype, tuple(int(v) for v in shape))
        return name

    def const(self, name, dtype, arr):
        arr = np.ascontiguousarray(arr)
        self.m.add_tensor(name, dtype, tuple(arr.shape), data=arr, compress=self.cfg.compress)
        return name

    def op(self, typ, name, ins, out, attrs):
        self.m.add_op(typ, name, list(ins), [out], attrs)
        return out

    def requant(self, name, acc, acc_scales, q, shape, axis):
        ms, ss = zip(*[_mult(float(s) / q["scale"]) for s in np.atleast_1d(acc_scales)])
        out = self.act(name, q["dtype"], shape)
        return self.op("requantize", name + ".requant", [acc], out,
                       {"multiplier": [int(v) for v in ms], "shift": [int(v) for v in ss], "zero_point": q["zp"],
                        "rounding": self.cfg.rounding, "axis": axis})

    def dense(self, kind, name, x, qx, w, b, q, shape_out, wbits, attrs=None):
        """conv2d or linear with int32 bias, then requantize per output channel to q."""
        w_int, s_w, wdt = quantize_weight(w.float(), wbits, True, self.cfg.weight_observer)
        s_acc = qx["scale"] * np.asarray(s_w, np.float64)
        b_int = np.rint(b.numpy() / s_acc)
        sat = int(np.sum(np.abs(b_int) > 2 ** 31 - 1))
        b_int = np.clip(b_int, -2 ** 31, 2 ** 31 - 1).astype(np.int32)
        wn = self.const(name + ".weight", wdt, w_int.numpy().astype(np.int8))
        bn = self.const(name + ".bias", "int32", b_int)
        acc = self.act(name + ".acc", "int32", shape_out)
        a = {"x_zero_point": qx["zp"]}
        a.update(attrs or {})
        self.op(kind, name, [x, wn, bn], acc, a)
        axis = 1 if kind == "conv2d" else len(shape_out) - 1
        self.report.append({"name": name, "kind": kind, "wbits": wbits, "bias_saturated": sat})
        return self.requant(name, acc, s_acc, q, shape_out, axis)

    def add(self, name, a, qa, b, qb, q, shape):
        ls = 20 if max(qa["qmax"], qb["qmax"]) <= 255 else 15
        twice = 2.0 * max(qa["scale"], qb["scale"])
        (am, ash), (bm, bsh), (om, osh) = (_mult(qa["scale"] / twice), _mult(qb["scale"] / twice),
                                           _mult(twice / (2 ** ls * q["scale"])))
        # a parameter (the position embedding) has batch 1: it broadcasts over the batch
        op = "broadcast_add" if self.m.tensors[b].data is not None else "add"
        out = self.act(name, q["dtype"], shape)
        return self.op(op, name, [a, b], out,
                       {"a_zero_point": qa["zp"], "b_zero_point": qb["zp"], "left_shift": ls,
                        "a_multiplier": am, "a_shift": ash, "b_multiplier": bm, "b_shift": bsh,
                        "out_multiplier": om, "out_shift": osh, "out_zero_point": q["zp"],
                        "rounding": self.cfg.rounding})

    def layernorm(self, name, x, qx, params, q, shape):
        w, b, eps = (params[0].numpy(), params[1].numpy(), params[2])
        C = w.shape[0]
        g_real = w * math.sqrt(C) / (2.0 ** 30 * q["scale"])
        gmax = max(float(np.max(np.abs(g_real))), 1e-30)
        out_shift = int(min(62, math.floor(math.log2(32767.0 / gmax))))
        if out_shift < 0:
            raise ValueError(f"{name}: gamma too large for an int16 gamma")
        gamma = np.clip(np.rint(g_real * 2.0 ** out_shift), -32767, 32767).astype(np.int16)
        beta = np.rint(b * 2.0 ** out_shift / q["scale"])
        if np.max(np.abs(beta)) >= 2.0 ** 62:
            raise ValueError(f"{name}: beta does not fit")
        beta = beta.astype(np.int64)
        eps_int = int(round(C * eps / (qx["scale"] ** 2)))
        gn = self.const(name + ".gamma", "int16", gamma)
        bn = self.const(name + ".beta", "int64", beta)
        out = self.act(name, q["dtype"], shape)
        return self.op("layernorm", name, [x, gn, bn], out,
                       {"method": self.cfg.layernorm, "eps": eps_int, "out_shift": out_shift,
                        "out_zero_point": q["zp"], "rounding": self.cfg.rounding})


def _observe(S, calib, batch, cfg, progress):
    obs = {}

    def observe(name, t):
        if name not in obs:
            obs[name] = ActObserver(seed=len(obs))
        obs[name].update(t.float())

    with torch.no_grad():
        for i in range(0, len(calib), batch):
            float_forward(S, calib[i:i + batch], observe)
            if progress and (i // batch) % 8 == 0:
                progress(f"  calibration {min(i + batch, len(calib))}/{len(calib)}")
    return obs


def export_vit(model, calib, cfg=None, input_range=None, batch=32, progress=None):
    """Quantize a torchvision VisionTransformer. calib: float [N, C, H, W] preprocessed images;
    input_range: the exact (lo, hi) of a preprocessed image. -> (container Model, qparams, report)."""
    cfg = cfg or ViTQuantConfig()
    cfg.check()
    progress = progress or (lambda m: None)
    model = model.eval()
    S = _Structure(model)
    calib = torch.as_tensor(np.asarray(calib), dtype=torch.float32)
    with torch.no_grad():
        ref = model(calib[:4].float()).double()
        mine = float_forward(S, calib[:4])
    if not torch.allclose(ref, mine, rtol=1e-4, atol=1e-4):
        raise UnsupportedError(f"the float re-implementation differs from the model by "
                               f"{float((ref - mine).abs().max()):.3g}: unsupported ViT variant")
    progress(f"calibrating on {len(calib)} images ({cfg.act_observer})")
    obs = _observe(S, calib, batch, cfg, progress)

    qp = {}
    ob_in = ActObserver()
    if input_range is not None:
        ob_in.min, ob_in.max = float(input_range[0]), float(input_range[1])
    else:
        ob_in.update(calib)
    s, zp, dt, _ = choose_act_qparams(ob_in, 8, True, False, "minmax")
    qp["input"] = _qp(s, zp, dt)
    for name, ob in obs.items():
        bits = 8
        if name == "embed" or name.endswith("res1") or name.endswith("res2"):
            bits = cfg.residual_bits
        elif name.endswith("fc1"):
            bits = cfg.gelu_input_bits
        qp[name] = _act_qp(ob, bits, cfg)
    if cfg.softmax_out == "uint8":
        q_prob = _qp(2.0 ** -8, 0, "uint8")
    else:
        q_prob = _qp(2.0 ** -8, -128, "int8")

    E = _Emitter(cfg, qp)
    n1 = 1
    d, T, P = S.dim, S.tokens, S.grid * S.grid
    wb_edge = 8 if cfg.first_last_8bit else cfg.wbits
    x = E.act("input", qp["input"]["dtype"], (n1, S.in_ch, S.image_size, S.image_size))
    E.m.inputs = [x]
    # patch embedding, tokens, class token, position embedding
    qpt = qp["patch"]
    t = E.dense("conv2d", "patch", x, qp["input"], S.conv_w, S.conv_b, qpt, (n1, d, S.grid, S.grid), wb_edge,
                {"strides": [S.patch, S.patch], "pads": [0, 0, 0, 0], "dilations": [1, 1], "group": 1})
    t = E.op("reshape", "patch.flat", [t], E.act("patch.flat", qpt["dtype"], (n1, d, P)), {"shape": [d, P]})
    t = E.op("transpose", "patch.tokens", [t], E.act("patch.tokens", qpt["dtype"], (n1, P, d)), {"perm": [0, 2, 1]})
    cls_int = np.clip(np.rint(S.cls.numpy() / qpt["scale"]) + qpt["zp"], qpt["qmin"], qpt["qmax"])
    cn = E.const("class_token", qpt["dtype"], cls_int.astype(np.int8 if qpt["dtype"] == "int8" else np.uint8))
    c = E.op("expand", "class_token.expand", [cn, t], E.act("class_token.expand", qpt["dtype"], (n1, 1, d)),
             {"shape": [1, d]})
    t = E.op("concat", "tokens", [c, t], E.act("tokens", qpt["dtype"], (n1, T, d)), {"axis": 1})
    pos = S.pos.numpy()
    s_pos = max(float(np.max(np.abs(pos))), 1e-8) / 127.0
    qpos = _qp(s_pos, 0, "int8")
    pn = E.const("pos_embedding", "int8", np.clip(np.rint(pos / s_pos), -127, 127).astype(np.int8))
    r = E.add("embed", t, qpt, pn, qpos, qp["embed"], (n1, T, d))
    qr = qp["embed"]
    for i, b in enumerate(S.blocks):
        p = f"blocks.{i}."
        h = b["heads"]
        dh = d // h
        y = E.layernorm(p + "ln1", r, qr, b["ln1"], qp[p + "ln1"], (n1, T, d))
        heads = {}
        for key in "qkv":
            z = E.dense("linear", p + key, y, qp[p + "ln1"], *b[key], qp[p + key], (n1, T, d), cfg.wbits)
            dt = qp[p + key]["dtype"]
            z = E.op("reshape", p + key + ".split", [z], E.act(p + key + ".split", dt, (n1, T, h, dh)),
                     {"shape": [T, h, dh]})
            heads[key] = E.op("transpose", p + key + ".heads", [z],
                              E.act(p + key + ".heads", qp[p + key]["dtype"], (n1, h, T, dh)), {"perm": [0, 2, 1, 3]})
        qq, qk, qv = qp[p + "q"], qp[p + "k"], qp[p + "v"]
        sc = E.op("matmul", p + "scores", [heads["q"], heads["k"]], E.act(p + "scores", "int32", (n1, h, T, T)),
                  {"a_zero_point": qq["zp"], "b_zero_point": qk["zp"], "transpose_b": 1})
        s_scores = qq["scale"] * qk["scale"] / math.sqrt(dh)
        sm_in, sm_scale = sc, s_scores
        if cfg.softmax == "tflite":
            qs = qp[p + "scores"]
            sm_in = E.requant(p + "scores.q", sc, s_scores, qs, (n1, h, T, T), 3)
            sm_scale = qs["scale"]
        xm, xs = _mult(sm_scale)
        attrs = {"method": cfg.softmax, "x_multiplier": xm, "x_shift": xs}
        ins = [sm_in]
        if cfg.softmax == "lut":
            ls = softmax_lut_shift(cfg.lut_size)
            attrs["lut_shift"] = ls
            ins.append(E.const(p + "softmax.table", "int32", softmax_table(cfg.lut_size, ls)))
        if cfg.softmax != "tflite":
            attrs.update(out_bits=8, zero_point=q_prob["zp"])
        pr = E.op("softmax", p + "softmax", ins, E.act(p + "softmax", q_prob["dtype"], (n1, h, T, T)), attrs)
        cx = E.op("matmul", p + "ctx", [pr, heads["v"]], E.act(p + "ctx.acc", "int32", (n1, h, T, dh)),
                  {"a_zero_point": q_prob["zp"], "b_zero_point": qv["zp"]})
        qc = qp[p + "ctx"]
        cx = E.requant(p + "ctx", cx, q_prob["scale"] * qv["scale"], qc, (n1, h, T, dh), 3)
        cx = E.op("transpose", p + "ctx.merge", [cx], E.act(p + "ctx.merge", qc["dtype"], (n1, T, h, dh)),
                  {"perm": [0, 2, 1, 3]})
        cx = E.op("reshape", p + "ctx.flat", [cx], E.act(p + "ctx.flat", qc["dtype"], (n1, T, d)), {"shape": [T, d]})
        z = E.dense("linear", p + "proj", cx, qc, *b["o"], qp[p + "proj"], (n1, T, d), cfg.wbits)
        r = E.add(p + "res1", r, qr, z, qp[p + "proj"], qp[p + "res1"], (n1, T, d))
        qr = qp[p + "res1"]
        y = E.layernorm(p + "ln2", r, qr, b["ln2"], qp[p + "ln2"], (n1, T, d))
        mlp = b["fc1"][0].shape[0]
        qf = qp[p + "fc1"]
        z = E.dense("linear", p + "fc1", y, qp[p + "ln2"], *b["fc1"], qf, (n1, T, mlp), cfg.wbits)
        qg = qp[p + "gelu"]
        xm, xs = _mult(qf["scale"])
        om, osh = _mult(2.0 ** -12 / qg["scale"])
        attrs = {"method": cfg.gelu, "x_zero_point": qf["zp"], "x_multiplier": xm, "x_shift": xs,
                 "out_multiplier": om, "out_shift": osh, "out_zero_point": qg["zp"], "rounding": cfg.rounding}
        ins = [z]
        if cfg.gelu == "lut":
            ls, off = gelu_lut_params(cfg.lut_size)
            attrs.update(lut_shift=ls, lut_offset=off)
            ins.append(E.const(p + "gelu.table", "int32", gelu_table(cfg.lut_size, ls, off)))
        z = E.op("gelu", p + "gelu", ins, E.act(p + "gelu", qg["dtype"], (n1, T, mlp)), attrs)
        z = E.dense("linear", p + "fc2", z, qg, *b["fc2"], qp[p + "fc2"], (n1, T, d), cfg.wbits)
        r = E.add(p + "res2", r, qr, z, qp[p + "fc2"], qp[p + "res2"], (n1, T, d))
        qr = qp[p + "res2"]
    c = E.op("slice", "class_out", [r], E.act("class_out", qr["dtype"], (n1, 1, d)), {"axis": 1, "start": 0, "end": 1})
    c = E.op("reshape", "class_out.flat", [c], E.act("class_out.flat", qr["dtype"], (n1, d)), {"shape": [d]})
    y = E.layernorm("ln", c, qr, S.ln, qp["ln"], (n1, d))
    out = E.dense("linear", "head", y, qp["ln"], *S.head, qp["logits"], (n1, S.classes), wb_edge)
    E.m.outputs = [out]
    qp[out] = qp["logits"]
    return E.m, qp, E.report


# ------------------------------------------------------------------------------------------------
# t2c-export front end (formats/python/t2c/export/cli.py hands ViT architectures here)
# ------------------------------------------------------------------------------------------------

def add_arguments(ap):
    g = ap.add_argument_group("vision transformers (--arch " + ", ".join(sorted(VIT_ARCHS)) + ")")
    g.add_argument("--softmax", choices=SOFTMAX_METHODS, default="ibert", help="integer softmax (default ibert)")
    g.add_argument("--gelu", choices=GELU_METHODS, default="ibert", help="integer GELU (default ibert)")
    g.add_argument("--layernorm", choices=LAYERNORM_METHODS, default="ibert")
    g.add_argument("--softmax-out", choices=("uint8", "int8"), default="uint8", help="probability dtype")
    g.add_argument("--residual-bits", type=int, choices=(8, 16), default=8, help="residual stream bits")
    g.add_argument("--gelu-input-bits", type=int, choices=(8, 16), default=8, help="fc1 output bits")
    g.add_argument("--lut-size", type=int, default=256, help="softmax/GELU table entries (default 256)")


def config_from_args(args):
    return ViTQuantConfig(wbits=args.wbits, first_last_8bit=args.wbits == 4 or args.first_last_8bit,
                          softmax=args.softmax, gelu=args.gelu, layernorm=args.layernorm,
                          softmax_out=args.softmax_out, residual_bits=args.residual_bits,
                          gelu_input_bits=args.gelu_input_bits, lut_size=args.lut_size,
                          act_observer=args.act_observer if args.act_observer != "mse" else "minmax",
                          percentile=args.percentile, weight_observer=args.weight_observer,
                          rounding=args.rounding, compress=args.compress)


def cli_main(args):
    """t2c-export for --arch in VIT_ARCHS (called by cli.main)."""
    import json
    import os
    import time

    from .cli import evaluate, imagenet_labels, integer_runner, load_state_dict, log
    from .data import calibration_data
    from .quantize import add_metadata, input_range_of
    from ..models import FMNIST_LABELS

    torch.set_num_threads(max(1, args.threads))
    t0 = time.time()
    info = VIT_ARCHS[args.arch]
    pre = info["pre"]()
    try:
        if args.abits != 8:
            raise ValueError("vision transformers are exported with 8-bit activations (--abits 8)")
        if args.rounding == "tflite":
            raise ValueError("--rounding tflite is not supported for vision transformers (use --softmax tflite)")
        if args.weights in (None, "random"):
            if args.weights is None:
                raise ValueError("--weights is required (a state_dict path, or 'random')")
            torch.manual_seed(args.seed)
            model = info["make"](args.num_classes) if args.num_classes else info["make"]()
            log(f"{args.arch}: random weights (seed {args.seed})")
        else:
            sd = load_state_dict(args.weights)
            nc = args.num_classes or int(sd["heads.head.weight"].shape[0])
            model = info["make"](nc)
            model.load_state_dict(sd, strict=True)
            log(f"{args.arch}: loaded {args.weights}")
        model.eval()
        num_classes = int(model.heads.head.weight.shape[0])
        if args.labels:
            labels, wnids = [ln.strip() for ln in open(args.labels, encoding="utf-8") if ln.strip()], None
        elif info["labels"] == "fmnist" and num_classes == 10:
            labels, wnids = list(FMNIST_LABELS), None
        elif info["labels"] == "imagenet":
            labels, wnids = imagenet_labels(info, num_classes, args.wnid_tsv)
        else:
            labels, wnids = None, None
        log(f"loading calibration data from {args.calib}")
        calib = calibration_data(args.calib, pre, args.calib_count, args.seed)
        cfg = config_from_args(args)
        cmodel, qp, report = export_vit(model, calib, cfg, input_range=input_range_of(pre), batch=args.batch,
                                        progress=log)
        name = args.name or f"{args.arch}-w{cfg.wbits}a8-{cfg.softmax}-{cfg.gelu}"
        desc = (f"{args.arch} from {os.path.basename(str(args.weights))}; {cfg.describe()}; calibrated on "
                f"{len(calib)} images from {args.calib}")
        add_metadata(cmodel, qp, cmodel.outputs[0], name, pre, labels, wnids, desc)
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        tc.write(cmodel, args.output)
        log(f"wrote {args.output} ({os.path.getsize(args.output)} bytes, {len(cmodel.ops)} ops)")
        summary = {"file": args.output, "config": cfg.describe(), "layers": report}
        if args.eval:
            S = _Structure(model)
            models = [lambda x: float_forward(S, x)]
            if args.eval_int:
                models.append(integer_runner(cmodel))
            accs, n = evaluate(models, args.eval, pre, wnids, args.eval_count, args.batch, lambda m: None)
            log(f"top-1 on {n} images: float {accs[0]:.4f}"
                + (f", integer graph {accs[1]:.4f}" if args.eval_int else ""))
            summary["eval"] = {"dataset": args.eval, "images": n, "float_top1": accs[0]}
            if args.eval_int:
                summary["eval"]["integer_top1"] = accs[1]
        if args.report:
            with open(args.report, "w", encoding="utf-8") as f:
                json.dump(summary, f, indent=1)
        log(f"done in {time.time() - t0:.1f} s")
        return 0
    except UnsupportedError as e:
        log(f"error: {e}")
        return 2
    except (ValueError, FileNotFoundError, RuntimeError, KeyError) as e:
        log(f"error: {e}")
        return 1


def _stderr(msg):
    print(msg, file=sys.stderr, flush=True)
