"""Post-training quantization of the fused IR and emission of the integer .t2c graph.

Pipeline (`export`): trace + fuse (graph.build_ir) -> calibrate (float IR with observers) -> choose
activation scales/zero points and bit widths -> quantize weights (symmetric) and biases
(int32 = round(b / (s_in * s_w[c]))) -> integer multipliers/shifts for every float scale -> the
container Model (ops of ops/README.md) and the fake-quant PyTorch model of the same quantizers.
"""

import math
import sys
from dataclasses import dataclass, field

import numpy as np
import torch

from .. import container as tc
from .fakequant import IRModule
from .fixedpoint import quantize_multipliers, scale_error_bound
from .graph import UnsupportedError, build_ir
from .observers import ActObserver, choose_act_qparams, dtype_range, quantize_weight

PRODUCER_NAME = "t2c-export"
PRODUCER_VERSION = "0.1.0"
OBSERVERS = ("minmax", "percentile", "mse")
ROUNDINGS = ("half_even", "half_up", "half_away", "floor", "tflite")


@dataclass
class QuantConfig:
    wbits: int = 8
    abits: int = 8
    input_bits: int = None          # None: 8 with first_last_8bit, else abits
    output_bits: int = 8            # the logits: 4, 8 or 16 (int16)
    output_observer: str = "minmax"  # the logits' range: clipping the largest logits changes the argmax
    output_margin: float = 1.0      # the logits' observed range is widened by this factor
    first_last_8bit: bool = False   # first and last layer: 8-bit weights and 8-bit input activations
    overrides: dict = field(default_factory=dict)  # layer name -> {"w": bits, "a": bits (its output)}
    weight_granularity: str = "channel"  # or "tensor"
    weight_observer: str = "minmax"      # or "mse"
    act_observer: str = "percentile"     # 99.99th percentile; or "minmax", "mse"
    percentile: float = 99.99
    act_signed: str = "auto"        # auto: unsigned where the value is >= 0 by construction (ReLU)
    input_signed: str = "auto"      # auto: signed when the preprocessed image can be negative
    act_symmetric: bool = False     # zero point 0 everywhere
    mult_bits: int = 32
    rounding: str = "half_even"
    add_left_shift: int = 20
    compress: int = 0               # zstd level for weights; 0 = raw

    def check(self):
        for k in ("wbits", "abits"):
            if getattr(self, k) not in (4, 8):
                raise ValueError(f"{k} must be 4 or 8, not {getattr(self, k)}")
        if self.output_bits not in (4, 8, 16):
            raise ValueError(f"output_bits must be 4, 8 or 16, not {self.output_bits}")
        if self.act_observer not in OBSERVERS or self.output_observer not in OBSERVERS:
            raise ValueError(f"activation observers are {', '.join(OBSERVERS)}")
        if not 1.0 <= self.output_margin <= 64.0:
            raise ValueError(f"output_margin must be 1..64, not {self.output_margin}")
        if self.input_bits not in (None, 4, 8):
            raise ValueError(f"input_bits must be 4 or 8, not {self.input_bits}")
        if not 8 <= self.mult_bits <= 32:
            raise ValueError(f"multiplier width must be 8..32 bits, not {self.mult_bits}")
        if self.rounding not in ROUNDINGS:
            raise ValueError(f"rounding must be one of {', '.join(ROUNDINGS)}")
        if self.weight_granularity not in ("channel", "tensor"):
            raise ValueError("weight granularity must be 'channel' or 'tensor'")
        if self.act_signed not in ("auto", "signed", "unsigned") or \
                self.input_signed not in ("auto", "signed", "unsigned"):
            raise ValueError("signedness must be auto, signed or unsigned")
        if not 0 <= self.add_left_shift <= 30:
            raise ValueError("add left shift must be 0..30")

    def describe(self):
        s = f"W{self.wbits}A{self.abits}"
        if self.first_last_8bit:
            s += ", first/last layer 8-bit"
        if self.overrides:
            s += ", overrides " + " ".join(
                f"{k}=" + "".join(f"{t}{v}" for t, v in sorted(o.items())) for k, o in self.overrides.items())
        s += (f", weights symmetric per-{self.weight_granularity} {self.weight_observer}"
              f", activations {self.act_observer}" + (f" {self.percentile}" if self.act_observer == "percentile" else "")
              + (" symmetric" if self.act_symmetric else " asymmetric") + f" {self.act_signed}-signed"
              + f", logits {self.output_bits}-bit {self.output_observer}"
              + (f" x{self.output_margin:g}" if self.output_margin != 1.0 else "")
              + f", {self.mult_bits}-bit multipliers, rounding {self.rounding}")
        return s


@dataclass
class ExportResult:
    model: object            # t2c.container.Model
    fakequant: torch.nn.Module
    float_model: torch.nn.Module  # BN-folded float IR (same function as the input model)
    report: list
    nodes: list
    qparams: dict
    layer_q: dict


def _stderr(msg):
    print(msg, file=sys.stderr, flush=True)


def _as_tensor(x):
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    return x.float()


def calibrate(fmodel, calib, batch=16, progress=None):
    """Run the float IR over the calibration data; -> {quant point name: ActObserver}."""
    obs = {}

    def observe(name, t):
        if name not in obs:
            obs[name] = ActObserver(seed=len(obs))
        obs[name].update(t)

    fmodel.observer = observe
    n = len(calib)
    with torch.no_grad():
        for i in range(0, n, batch):
            fmodel(_as_tensor(calib[i:i + batch]))
            if progress and (i // batch) % 8 == 0:
                progress(f"  calibration {min(i + batch, n)}/{n}")
    fmodel.observer = None
    return obs


def _tflite_norm(m, s):
    """TFLite's scale_round left-shifts the input by 31 - s when s < 31 (and can wrap); carry the same
    value with s >= 31 instead when m stays below 2^31 (exact: m * 2^k / 2^(s+k))."""
    if s < 31 and m > 0 and (m << (31 - s)) < (1 << 31):
        return m << (31 - s), 31
    return m, s


def _mults(scales, cfg):
    ms, ss, errs = quantize_multipliers(scales, cfg.mult_bits)
    if cfg.rounding == "tflite":
        pairs = [_tflite_norm(m, s) for m, s in zip(ms, ss)]
        ms, ss = [p[0] for p in pairs], [p[1] for p in pairs]
    return ms, ss, errs


def _int_bound(v, scale, zp, qmin, qmax):
    if v == math.inf:
        return qmax
    if v == -math.inf:
        return qmin
    return int(min(max(zp + round(v / scale), qmin), qmax))


def _widened(ob, factor):
    """A copy of observer `ob` with its min and max multiplied by `factor` (headroom for values the
    few calibration images did not reach)."""
    w = ActObserver()
    w.min, w.max = ob.min * factor, ob.max * factor
    w.samples, w.count = ob.samples, ob.count
    return w


def export(model, calib, cfg=None, input_range=None, batch=16, progress=_stderr):
    """Quantize a float model. calib: float [N, C, H, W] preprocessed calibration images.
    input_range: (lo, hi) of the preprocessed input if known exactly (else observed).
    -> ExportResult (the container Model has no metadata other than what `add_metadata` adds)."""
    cfg = cfg or QuantConfig()
    cfg.check()
    progress = progress or (lambda m: None)
    calib = _as_tensor(calib)
    model = model.eval()

    progress(f"tracing {type(model).__name__} with torch.fx")
    nodes, out = build_ir(model, calib[:1])
    by = {nd.name: nd for nd in nodes}
    layers = [nd for nd in nodes if nd.kind in ("conv", "linear")]
    progress(f"  {len(nodes)} fused nodes: {len(layers)} conv/linear, "
             f"{sum(nd.kind == 'add' for nd in nodes)} add")

    fmodel = IRModule(nodes, out, mode="float")
    progress(f"calibrating on {len(calib)} images ({cfg.act_observer})")
    obs = calibrate(fmodel, calib, batch, progress)

    # ---- bit widths
    qpoints = [nd for nd in nodes if nd.is_quant_point]
    valid = {nd.name for nd in qpoints}
    for name in cfg.overrides:
        if name not in valid:
            raise ValueError(f"override for unknown layer '{name}'; layers are: {', '.join(sorted(valid))}")
    abits = {nd.name: cfg.abits for nd in qpoints}
    wbits = {nd.name: cfg.wbits for nd in layers}
    abits["input"] = cfg.input_bits or (8 if cfg.first_last_8bit else cfg.abits)
    abits[out] = cfg.output_bits
    if cfg.first_last_8bit:
        for nd in layers:
            if by[nd.inputs[0]].qsrc == "input":
                wbits[nd.name] = 8
        if by[out].kind in ("conv", "linear"):
            wbits[out] = 8
            abits[by[by[out].inputs[0]].qsrc] = 8
    for name, o in cfg.overrides.items():
        if "w" in o:
            if name not in wbits:
                raise ValueError(f"override: '{name}' has no weights")
            wbits[name] = o["w"]
        if "a" in o:
            abits[name] = o["a"]

    # ---- activation quantization parameters
    qparams = {}
    for nd in qpoints:
        ob = obs.get(nd.name) or ActObserver()
        if nd.kind == "input":
            if input_range is not None:
                ob = ActObserver()
                ob.min, ob.max = float(input_range[0]), float(input_range[1])
            nonneg = ob.min >= 0
            mode = cfg.input_signed
            method = "minmax" if input_range is not None else cfg.act_observer
        else:
            nonneg = nd.act is not None and nd.act[0] >= 0
            mode = cfg.act_signed
            method = cfg.act_observer
            if nd.name == out:
                method = cfg.output_observer
                if cfg.output_margin != 1.0:
                    ob = _widened(ob, cfg.output_margin)
        signed = {"auto": not nonneg, "signed": True, "unsigned": False}[mode]
        if abits[nd.name] == 16:
            signed = True  # int16 (there is no uint16)
        if not signed and not nonneg and cfg.act_symmetric:
            raise ValueError(f"'{nd.name}' can be negative: unsigned symmetric quantization is impossible")
        scale, zp, dt, rng = choose_act_qparams(ob, abits[nd.name], signed, cfg.act_symmetric, method,
                                                cfg.percentile, nonneg)
        qmin, qmax = dtype_range(dt)
        qparams[nd.name] = {"scale": scale, "zp": zp, "dtype": dt, "qmin": qmin, "qmax": qmax,
                            "bits": abits[nd.name], "range": rng, "observed": (ob.min, ob.max)}

    # ---- layers
    layer_q, report = {}, []
    bound = scale_error_bound(cfg.mult_bits)
    for nd in nodes:
        qo = qparams[nd.qsrc]
        if nd.kind in ("conv", "linear"):
            qi = qparams[by[nd.inputs[0]].qsrc]
            w_int, s_w, wdt = quantize_weight(nd.weight, wbits[nd.name], cfg.weight_granularity == "channel",
                                              cfg.weight_observer)
            cout = nd.weight.shape[0]
            s_wc = np.broadcast_to(s_w, (cout,)).astype(np.float64)
            s_acc = qi["scale"] * s_wc
            b_real = nd.bias.double().numpy()
            b_int = np.rint(b_real / s_acc)
            sat = int(np.sum(np.abs(b_int) > 2 ** 31 - 1))
            if sat:
                progress(f"  warning: {nd.name}: {sat} bias values saturated to int32")
            b_int = np.clip(b_int, -2 ** 31, 2 ** 31 - 1).astype(np.int64)
            m_real = s_acc / qo["scale"] if cfg.weight_granularity == "channel" else s_acc[:1] / qo["scale"]
            ms, ss, errs = _mults(m_real, cfg)
            act = nd.act or (-math.inf, math.inf)
            lo = _int_bound(act[0], qo["scale"], qo["zp"], qo["qmin"], qo["qmax"])
            hi = _int_bound(act[1], qo["scale"], qo["zp"], qo["qmin"], qo["qmax"])
            if act[0] == 0.0:
                lo = max(qo["zp"], qo["qmin"])  # ReLU: exactly the zero point
            # Fake-quant weights carry the fixed-point error: acc * s_in * s_w' / s_out = acc * m / 2^s.
            m_eff = np.array([mm * 2.0 ** -sh for mm, sh in zip(ms, ss)])
            ratio = np.broadcast_to(m_eff / m_real, (cout,))
            shape = [-1] + [1] * (nd.weight.dim() - 1)
            # float64: IRModule keeps float32 copies, and float64 ones after .double()
            w_deq = w_int.double() * torch.from_numpy(s_wc * ratio).reshape(shape)
            b_deq = torch.from_numpy(b_int.astype(np.float64) * s_acc * ratio)
            layer_q[nd.name] = {"w_int": w_int, "w_dtype": wdt, "s_w": s_wc, "b_int": b_int,
                                "mult": ms, "shift": ss, "lo": lo, "hi": hi, "w_deq": w_deq, "b_deq": b_deq,
                                "scale_real": m_real, "err": errs}
            report.append({"name": nd.name, "kind": nd.kind, "wbits": wbits[nd.name],
                           "input": _qdesc(qi), "output": _qdesc(qo), "max_rel_scale_error": float(errs.max()),
                           "bound": bound, "clamp": [lo, hi],
                           "bias_saturated": sat})
        elif nd.kind == "add":
            qa, qb = qparams[by[nd.inputs[0]].qsrc], qparams[by[nd.inputs[1]].qsrc]
            ls = cfg.add_left_shift
            twice = 2.0 * max(qa["scale"], qb["scale"])
            reals = [qa["scale"] / twice, qb["scale"] / twice, twice / (2 ** ls * qo["scale"])]
            ms, ss, errs = _mults(reals, cfg)
            act = nd.act or (-math.inf, math.inf)
            lo = _int_bound(act[0], qo["scale"], qo["zp"], qo["qmin"], qo["qmax"])
            hi = _int_bound(act[1], qo["scale"], qo["zp"], qo["qmin"], qo["qmax"])
            if act[0] == 0.0:
                lo = max(qo["zp"], qo["qmin"])
            # Effective scale of each input path (a: ra * rout * 2^ls vs s_a / s_out).
            path = [ms[i] * 2.0 ** -ss[i] * ms[2] * 2.0 ** -ss[2] * 2 ** ls / (q["scale"] / qo["scale"])
                    for i, q in ((0, qa), (1, qb))]
            eff = [abs(p - 1) for p in path]
            layer_q[nd.name] = {"mult": ms, "shift": ss, "left_shift": ls, "lo": lo, "hi": hi, "err": errs,
                                "path_ratio": path}
            report.append({"name": nd.name, "kind": "add", "wbits": None,
                           "input": _qdesc(qa) + " + " + _qdesc(qb), "output": _qdesc(qo),
                           "max_rel_scale_error": float(max(errs)), "effective_error": float(max(eff)),
                           "bound": bound, "clamp": [lo, hi]})
        elif nd.kind in ("relu", "clamp"):
            layer_q[nd.name] = {"lo": _int_bound(nd.attrs["lo"], qo["scale"], qo["zp"], qo["qmin"], qo["qmax"]),
                                "hi": _int_bound(nd.attrs["hi"], qo["scale"], qo["zp"], qo["qmin"], qo["qmax"])}
            if nd.attrs["lo"] == 0.0:
                layer_q[nd.name]["lo"] = max(qo["zp"], qo["qmin"])

    fq = IRModule(nodes, out, qparams=qparams, layer_q=layer_q, mode="fakequant",
                  rounding=cfg.rounding).eval()
    cmodel = emit(nodes, out, qparams, layer_q, cfg)
    return ExportResult(cmodel, fq, fmodel.eval(), report, nodes, qparams, layer_q)


def _qdesc(q):
    return f"{q['dtype']} s={q['scale']:.6g} zp={q['zp']}"


def emit(nodes, out, qparams, layer_q, cfg):
    """The integer graph as a t2c.container.Model (no metadata yet)."""
    m = tc.Model()
    by = {nd.name: nd for nd in nodes}

    def act_tensor(name, dtype, shape):
        m.add_tensor(name, dtype, tuple(shape))

    for nd in nodes:
        q = qparams[nd.qsrc]
        if nd.kind == "input":
            act_tensor("input", q["dtype"], nd.shape)
            m.inputs = ["input"]
            continue
        lq = layer_q.get(nd.name, {})
        src = nd.inputs
        if nd.kind in ("conv", "linear"):
            qi = qparams[by[src[0]].qsrc]
            wname, bname, acc = nd.name + ".weight", nd.name + ".bias", nd.name + ".acc"
            m.add_tensor(wname, lq["w_dtype"], tuple(nd.weight.shape),
                         data=lq["w_int"].numpy().astype(np.int8), compress=cfg.compress)
            m.add_tensor(bname, "int32", (nd.weight.shape[0],), data=lq["b_int"].astype(np.int32),
                         compress=cfg.compress)
            act_tensor(acc, "int32", nd.shape)
            if nd.kind == "conv":
                a = nd.attrs
                m.add_op("conv2d", nd.name, [src[0], wname, bname], [acc],
                         {"strides": list(a["strides"]), "pads": list(a["pads"]), "dilations": list(a["dilations"]),
                          "group": int(a["group"]), "x_zero_point": int(qi["zp"])})
            else:
                m.add_op("linear", nd.name, [src[0], wname, bname], [acc], {"x_zero_point": int(qi["zp"])})
            act_tensor(nd.name, q["dtype"], nd.shape)
            m.add_op("requantize", nd.name + ".requant", [acc], [nd.name],
                     {"multiplier": [int(v) for v in lq["mult"]], "shift": [int(v) for v in lq["shift"]],
                      "zero_point": int(q["zp"]), "lo": int(lq["lo"]), "hi": int(lq["hi"]),
                      "rounding": cfg.rounding, "axis": 1})
        elif nd.kind == "add":
            qa, qb = qparams[by[src[0]].qsrc], qparams[by[src[1]].qsrc]
            ms, ss = lq["mult"], lq["shift"]
            act_tensor(nd.name, q["dtype"], nd.shape)
            m.add_op("add", nd.name, [src[0], src[1]], [nd.name],
                     {"a_zero_point": int(qa["zp"]), "b_zero_point": int(qb["zp"]), "left_shift": lq["left_shift"],
                      "a_multiplier": int(ms[0]), "a_shift": int(ss[0]), "b_multiplier": int(ms[1]),
                      "b_shift": int(ss[1]), "out_multiplier": int(ms[2]), "out_shift": int(ss[2]),
                      "out_zero_point": int(q["zp"]), "rounding": cfg.rounding,
                      "lo": int(lq["lo"]), "hi": int(lq["hi"])})
        elif nd.kind == "maxpool":
            a = nd.attrs
            act_tensor(nd.name, q["dtype"], nd.shape)
            m.add_op("maxpool2d", nd.name, [src[0]], [nd.name],
                     {"kernel": list(a["kernel"]), "strides": list(a["strides"]), "pads": list(a["pads"]),
                      "dilations": list(a["dilations"])})
        elif nd.kind == "avgpool":
            a = nd.attrs
            act_tensor(nd.name, q["dtype"], nd.shape)
            m.add_op("avgpool2d", nd.name, [src[0]], [nd.name],
                     {"kernel": list(a["kernel"]), "strides": list(a["strides"]), "pads": list(a["pads"]),
                      "count_include_pad": int(a["count_include_pad"]), "x_zero_point": int(q["zp"]),
                      "rounding": cfg.rounding})
        elif nd.kind == "gap":
            act_tensor(nd.name, q["dtype"], nd.shape)
            m.add_op("global_avgpool", nd.name, [src[0]], [nd.name], {"rounding": cfg.rounding})
        elif nd.kind == "flatten":
            act_tensor(nd.name, q["dtype"], nd.shape)
            m.add_op("flatten", nd.name, [src[0]], [nd.name], {"axis": 1})
        elif nd.kind == "reshape":
            act_tensor(nd.name, q["dtype"], nd.shape)
            m.add_op("reshape", nd.name, [src[0]], [nd.name], {"shape": [int(v) for v in nd.attrs["shape"]]})
        elif nd.kind == "relu" and lq["hi"] == q["qmax"]:
            act_tensor(nd.name, q["dtype"], nd.shape)
            m.add_op("relu", nd.name, [src[0]], [nd.name], {"zero_point": int(lq["lo"])})
        elif nd.kind in ("relu", "clamp"):
            act_tensor(nd.name, q["dtype"], nd.shape)
            m.add_op("clamp", nd.name, [src[0]], [nd.name], {"lo": int(lq["lo"]), "hi": int(lq["hi"])})
        else:
            raise UnsupportedError(f"no integer op for IR node kind {nd.kind} ('{nd.name}')")
    m.outputs = [out]
    return m


def add_metadata(cmodel, qparams, out, name, pre, labels=None, wnids=None, description=None, producer=None):
    """Write the metadata keys of formats/t2c-format.md (in its order)."""
    meta = cmodel.meta
    meta["model.name"] = name
    meta["model.producer"] = producer or f"{PRODUCER_NAME} {PRODUCER_VERSION} (torch {torch.__version__})"
    if description:
        meta["model.description"] = description
    meta["input.layout"] = "NCHW"
    meta["input.color"] = pre["color"]
    meta["preprocess.resize"] = int(pre.get("resize") or 0)
    meta["preprocess.resize_mode"] = pre.get("resize_mode", "shorter")
    meta["preprocess.interpolation"] = "bilinear"
    if pre.get("crop"):
        meta["preprocess.crop"] = tc.Ints(int(v) for v in pre["crop"])
    meta["preprocess.mean"] = tc.Floats(float(v) for v in pre["mean"])
    meta["preprocess.std"] = tc.Floats(float(v) for v in pre["std"])
    meta["input.scale"] = float(qparams["input"]["scale"])
    meta["input.zero_point"] = int(qparams["input"]["zp"])
    meta["output.scale"] = float(qparams[out]["scale"])
    meta["output.zero_point"] = int(qparams[out]["zp"])
    if labels:
        meta["labels"] = tc.Strings(labels)
    if wnids:
        meta["labels.wnid"] = tc.Strings(wnids)
    return cmodel


def input_range_of(pre):
    """Exact range of a preprocessed image: min over channels of (0 - mean)/std, max of (1 - mean)/std."""
    lo = min((0.0 - m) / s for m, s in zip(pre["mean"], pre["std"]))
    hi = max((1.0 - m) / s for m, s in zip(pre["mean"], pre["std"]))
    return float(np.float32(lo)), float(np.float32(hi))


def format_report(report, mult_bits):
    """Human-readable per-layer table (for stderr)."""
    lines = [f"{'layer':<28} {'kind':<6} {'W':>2} {'input':<34} {'output':<24} {'max rel scale err':>17}"]
    for r in report:
        err = r["max_rel_scale_error"]
        extra = f" (eff {r['effective_error']:.2e})" if "effective_error" in r else ""
        lines.append(f"{r['name']:<28} {r['kind']:<6} {r['wbits'] or '-':>2} {r['input']:<34} {r['output']:<24} "
                     f"{err:17.3e}{extra}")
    worst = max((r["max_rel_scale_error"] for r in report), default=0.0)
    lines.append(f"worst relative scale error {worst:.3e} (bound for {mult_bits}-bit multipliers: "
                 f"{scale_error_bound(mult_bits):.3e})")
    return "\n".join(lines)
