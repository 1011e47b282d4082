"""A float PyTorch interpreter of the fused IR: float mode (BN folded, for calibration) and fake-quant
mode (the same quantizers as the integer graph, simulated in float: dequantized integer weights and
biases, every activation snapped to its integer grid with the graph's rounding mode and clamped, pooled
values re-rounded). The fake-quant weights and add paths carry the fixed-point scale error (factor
(m / 2^s) / scale, about 1), so the float model rounds where the integer graph rounds; differences left
are float32 rounding of the accumulations, and the double rounding of the add's input rescale."""

import torch
import torch.nn.functional as F
from torch import nn


def round_mode(x, mode="half_even"):
    """Round a float tensor to integers with the tie rule of a rounding mode (ops/README.md)."""
    if mode == "half_even":
        return torch.round(x)
    if mode == "half_up":
        return torch.floor(x + 0.5)
    if mode in ("half_away", "tflite"):
        return torch.sign(x) * torch.floor(torch.abs(x) + 0.5)
    if mode == "floor":
        return torch.floor(x)
    raise ValueError(f"unknown rounding mode {mode!r}")


def fake_quant(x, scale, zp, lo, hi, rounding="half_even", input_recipe=False):
    """(clamp(round(x / scale) + zp, lo, hi) - zp) * scale. With input_recipe the division is
    x * float32(1/scale), as the `quantize` op and PyTorch's quantize_per_tensor do it."""
    if input_recipe:
        inv = torch.tensor(1.0, dtype=torch.float32) / torch.tensor(scale, dtype=torch.float32)
        t = (x.float() * inv).to(x.dtype)
    else:
        t = x / scale
    q = torch.clamp(round_mode(t, rounding) + zp, lo, hi)
    return (q - zp) * scale


def fake_quant_mean(x, scale, zp, lo, hi, rounding="half_even"):
    """Pooled mean re-rounded on the integer grid as the integer pools do: round(mean(q)) with q
    including the zero point (so ties follow q, not q - zp)."""
    q = torch.clamp(round_mode(x / scale + zp, rounding), lo, hi)
    return (q - zp) * scale


class IRModule(nn.Module):
    """Runs a list of IRNode. `mode` is 'float' or 'fakequant' (the latter needs `qparams`,
    `layer_q` from the exporter). `observer(name, tensor)` is called at every quantization point in
    float mode."""

    def __init__(self, nodes, output, qparams=None, layer_q=None, mode="float", rounding="half_even"):
        super().__init__()
        self.rounding = rounding
        self.nodes = nodes
        self.output = output
        self.qparams = qparams or {}
        self.layer_q = layer_q or {}
        self.mode = mode
        self.observer = None
        self.params = nn.ParameterDict()
        for nd in nodes:
            if nd.kind in ("conv", "linear"):
                key = nd.name.replace(".", "__")
                if mode == "fakequant":
                    lq = self.layer_q[nd.name]
                    w, b = lq["w_deq"], lq["b_deq"]
                else:
                    w, b = nd.weight, nd.bias
                self.params[key + "__w"] = nn.Parameter(w.clone().float(), requires_grad=False)
                self.params[key + "__b"] = nn.Parameter(b.clone().float(), requires_grad=False)

    def double(self):
        """float64 model. Fake-quant weights and biases are reloaded from the exporter's float64 values
        rather than widened from their float32 copies (whose 2^-24 relative error moves values that are
        near a rounding tie to the other side, and MobileNet-V2 amplifies every such flip)."""
        super().double()
        if self.mode == "fakequant":
            for nd in self.nodes:
                if nd.kind in ("conv", "linear"):
                    key = nd.name.replace(".", "__")
                    lq = self.layer_q[nd.name]
                    self.params[key + "__w"].data = lq["w_deq"].clone().double()
                    self.params[key + "__b"].data = lq["b_deq"].clone().double()
        return self

    def _q(self, nd, x, lo=None, hi=None, rounding="half_even", mean=False):
        """Fake-quantize value x to the parameters of nd's quantization point."""
        qp = self.qparams[nd.qsrc]
        return (fake_quant_mean if mean else fake_quant)(x, qp["scale"], qp["zp"], qp["qmin"] if lo is None else lo,
                                                         qp["qmax"] if hi is None else hi, rounding)

    def _finish(self, nd, y):
        """Output of a quantization point (conv/linear/add): activation clamp, then observe or fake-quant."""
        if self.mode == "fakequant":
            lq = self.layer_q.get(nd.name, {})
            return self._q(nd, y, lq.get("lo"), lq.get("hi"), self.rounding)
        if nd.act is not None:
            y = torch.clamp(y, nd.act[0], nd.act[1])
        if self.observer is not None:
            self.observer(nd.name, y)
        return y

    def forward(self, x, return_all=False):
        """The output value; with return_all, a dict of every IR value (by node name)."""
        fq = self.mode == "fakequant"
        vals = {}
        for nd in self.nodes:
            xs = [vals[i] for i in nd.inputs]
            if nd.kind == "input":
                if fq:
                    qp = self.qparams["input"]
                    y = fake_quant(x, qp["scale"], qp["zp"], qp["qmin"], qp["qmax"], input_recipe=True)
                else:
                    y = x
                if not fq and self.observer is not None:
                    self.observer(nd.name, y)
            elif nd.kind == "conv":
                key = nd.name.replace(".", "__")
                t, l, b, r = nd.attrs["pads"]
                inp = xs[0]
                if (t, l) != (b, r):
                    inp, pad = F.pad(inp, (l, r, t, b)), 0
                else:
                    pad = (t, l)
                y = F.conv2d(inp, self.params[key + "__w"], self.params[key + "__b"], nd.attrs["strides"], pad,
                             nd.attrs["dilations"], nd.attrs["group"])
                y = self._finish(nd, y)
            elif nd.kind == "linear":
                key = nd.name.replace(".", "__")
                y = self._finish(nd, F.linear(xs[0], self.params[key + "__w"], self.params[key + "__b"]))
            elif nd.kind == "add":
                if fq:  # each input path scaled by its fixed-point error (ratio ~ 1)
                    ka, kb = self.layer_q[nd.name]["path_ratio"]
                    y = self._finish(nd, xs[0] * ka + xs[1] * kb)
                else:
                    y = self._finish(nd, xs[0] + xs[1])
            elif nd.kind == "maxpool":
                t, l, _, _ = nd.attrs["pads"]
                y = F.max_pool2d(xs[0], nd.attrs["kernel"], nd.attrs["strides"], (t, l), nd.attrs["dilations"])
            elif nd.kind == "avgpool":
                t, l, _, _ = nd.attrs["pads"]
                y = F.avg_pool2d(xs[0], nd.attrs["kernel"], nd.attrs["strides"], (t, l),
                                 count_include_pad=bool(nd.attrs["count_include_pad"]))
                if fq:
                    y = self._q(nd, y, rounding=self.rounding, mean=True)
            elif nd.kind == "gap":
                y = xs[0].mean(dim=(2, 3), keepdim=True)
                if fq:
                    y = self._q(nd, y, rounding=self.rounding, mean=True)
            elif nd.kind == "flatten":
                y = torch.flatten(xs[0], 1)
            elif nd.kind == "reshape":
                y = xs[0].reshape([xs[0].shape[0]] + list(nd.attrs["shape"]))
            elif nd.kind in ("relu", "clamp"):
                y = torch.clamp(xs[0], nd.attrs["lo"], nd.attrs["hi"])
                if fq:
                    lq = self.layer_q[nd.name]
                    y = self._q(nd, y, lq["lo"], lq["hi"])
            else:
                raise AssertionError(nd.kind)
            vals[nd.name] = y
        return vals if return_all else vals[self.output]
