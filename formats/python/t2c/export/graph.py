"""torch.fx trace of a float model -> a small fused float IR (BN folded, activations folded).

IR node kinds (each node produces one value, named like the node):
  input                       the graph input
  conv   (weight, bias, strides, pads[t,l,b,r], dilations, group, act)
  linear (weight, bias, act)
  add    (two inputs, act)
  maxpool (kernel, strides, pads, dilations)   avgpool (kernel, strides, pads, count_include_pad)
  gap    (global average pool)                 flatten   reshape (shape)
  relu / clamp (standalone, lo/hi in real units; used only when they cannot be folded)
`act` is a (lo, hi) clamp in real units, or None: ReLU is (0, inf), ReLU6 (0, 6), Hardtanh (a, b).
Quantization points (nodes whose output gets its own scale) are input, conv, linear and add; the
other nodes keep their input's quantization.
"""

import math
import operator
import re
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

QUANT_KINDS = ("input", "conv", "linear", "add")


class UnsupportedError(Exception):
    """A layer or function the exporter cannot map to integer ops."""


@dataclass
class IRNode:
    kind: str
    name: str
    inputs: list
    shape: tuple
    attrs: dict = field(default_factory=dict)
    weight: torch.Tensor = None
    bias: torch.Tensor = None
    act: tuple = None
    source: str = ""          # module path / fx node, for messages
    qsrc: str = None          # name of the quantization point whose parameters this value uses

    @property
    def is_quant_point(self):
        return self.kind in QUANT_KINDS


class _ScopeTracer(fx.Tracer):
    """Records, for every created node, the path of the module whose forward was being traced."""

    def __init__(self):
        super().__init__()
        self.scope = [""]

    def call_module(self, m, forward, args, kwargs):
        self.scope.append(self.path_of_module(m))
        try:
            return super().call_module(m, forward, args, kwargs)
        finally:
            self.scope.pop()

    def create_node(self, *args, **kwargs):
        node = super().create_node(*args, **kwargs)
        node.meta["t2c_scope"] = self.scope[-1]
        return node


def trace(model):
    """fx-trace `model` (eval mode) into a GraphModule; a tracing failure names the cause."""
    model = model.eval()
    tracer = _ScopeTracer()
    try:
        graph = tracer.trace(model)
    except Exception as e:  # data-dependent control flow, unsupported Python constructs, ...
        raise UnsupportedError(f"torch.fx cannot trace {type(model).__name__}: {type(e).__name__}: {e}") from e
    gm = fx.GraphModule(tracer.root, graph, type(model).__name__)
    return gm


RELU_FUNCS = {F.relu, torch.relu, getattr(torch, "relu_", None), getattr(F, "relu_", None)}
ADD_FUNCS = {operator.add, operator.iadd, torch.add}
FLATTEN_FUNCS = {torch.flatten}
DROPOUT_FUNCS = {F.dropout, F.dropout2d, getattr(F, "alpha_dropout", None)}


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _fn_name(fn):
    name = getattr(fn, "__name__", None) or repr(fn)
    for prefix, mod in (("torch", torch), ("torch.nn.functional", F), ("operator", operator)):
        if getattr(mod, name, None) is fn:
            return f"{prefix}.{name}"
    mod = getattr(fn, "__module__", None)
    return f"{mod}.{name}" if mod else name


class _Builder:
    def __init__(self, gm):
        self.gm = gm
        self.modules = dict(gm.named_modules())
        self.nodes = []
        self.by_name = {}
        self.value = {}        # fx node -> IR node name (None for shape-only values)
        self.meta_nodes = set()  # fx nodes that are sizes/shapes (only for view/reshape)
        self.last_fx = {}      # IR node name -> fx node that currently carries its value
        self.used_names = set()

    # ---- helpers
    def where(self, n):
        scope = n.meta.get("t2c_scope", "")
        if n.op == "call_module":
            return f"module '{n.target}' (fx node '{n.name}')"
        what = f"fx node '{n.name}'"
        return what + (f" inside module '{scope}'" if scope else " in the model's forward()")

    def fail(self, n, msg):
        raise UnsupportedError(f"{msg} at {self.where(n)}")

    def uniq(self, name):
        base, i = name, 1
        while name in self.used_names:
            name = f"{base}_{i}"
            i += 1
        self.used_names.add(name)
        return name

    def name_for(self, n):
        if n.op == "call_module":
            return self.uniq(str(n.target))
        scope = n.meta.get("t2c_scope", "")
        base = re.sub(r"_\d+$", "", n.name)  # fx numbers names globally ("add_3"); scope them instead
        return self.uniq(f"{scope}.{base}" if scope else base)

    def shape(self, n):
        tm = n.meta.get("tensor_meta")
        if tm is None or not hasattr(tm, "shape"):
            self.fail(n, "output is not a single tensor")
        return tuple(int(d) for d in tm.shape)

    def src(self, n, arg):
        if not isinstance(arg, fx.Node):
            self.fail(n, f"argument {arg!r} is not a tensor (constants are not supported here)")
        if arg in self.meta_nodes:
            self.fail(n, "a tensor size/shape value is used in arithmetic (only view/reshape may use it)")
        if arg not in self.value:
            self.fail(n, f"input '{arg.name}' was not produced by a supported layer")
        return self.value[arg]

    def add(self, n, kind, inputs, **kw):
        node = IRNode(kind=kind, name=self.name_for(n), inputs=inputs, shape=self.shape(n),
                      source=self.where(n), **kw)
        if node.is_quant_point:
            node.qsrc = node.name
        else:
            node.qsrc = self.by_name[inputs[0]].qsrc
        self.nodes.append(node)
        self.by_name[node.name] = node
        self.value[n] = node.name
        self.last_fx[node.name] = n
        return node

    def alias(self, n, src_name):
        self.value[n] = src_name
        self.last_fx[src_name] = n

    def sole_user(self, ir_name, n):
        """True when fx node n is the only consumer of the value IR node `ir_name` carries now."""
        carrier = self.last_fx[ir_name]
        return len(carrier.users) == 1 and n in carrier.users

    # ---- per-kind translation
    def activation(self, n, x, lo, hi):
        src = self.by_name[x]
        if src.kind in ("conv", "linear", "add") and self.sole_user(x, n):
            if src.act is None:
                src.act = (lo, hi)
            else:
                src.act = (max(src.act[0], lo), min(src.act[1], hi))
            self.alias(n, x)
            return
        kind = "relu" if (lo == 0.0 and hi == math.inf) else "clamp"
        self.add(n, kind, [x], attrs={"lo": lo, "hi": hi})

    def conv(self, n, m):
        if not isinstance(m, nn.Conv2d):
            self.fail(n, f"unsupported convolution {type(m).__name__}")
        if m.padding_mode != "zeros":
            self.fail(n, f"Conv2d padding_mode '{m.padding_mode}' is not supported (only 'zeros')")
        kh, kw = m.kernel_size
        dh, dw = m.dilation
        if isinstance(m.padding, str):
            if m.padding == "valid":
                pads = [0, 0, 0, 0]
            else:  # 'same' (stride 1): PyTorch puts the odd extra row/column at the bottom/right
                th, tw = dh * (kh - 1), dw * (kw - 1)
                pads = [th // 2, tw // 2, th - th // 2, tw - tw // 2]
        else:
            ph, pw = m.padding
            pads = [ph, pw, ph, pw]
        x = self.src(n, n.args[0])
        w = m.weight.detach().clone().float()
        b = (m.bias.detach().clone().float() if m.bias is not None
             else torch.zeros(m.out_channels, dtype=torch.float32))
        self.add(n, "conv", [x], weight=w, bias=b,
                 attrs={"strides": list(m.stride), "pads": pads, "dilations": [dh, dw], "group": m.groups})

    def batchnorm(self, n, m):
        x = self.src(n, n.args[0])
        src = self.by_name[x]
        if not isinstance(m, nn.BatchNorm2d):
            self.fail(n, f"unsupported normalization {type(m).__name__}")
        if src.kind != "conv" or src.act is not None or not self.sole_user(x, n):
            self.fail(n, "BatchNorm2d that does not directly follow a Conv2d (used by nothing else) "
                      "cannot be folded")
        if m.running_mean is None or m.running_var is None:
            self.fail(n, "BatchNorm2d without running statistics cannot be folded")
        fold_bn(src, m)
        self.alias(n, x)

    def linear(self, n, m):
        x = self.src(n, n.args[0])
        w = m.weight.detach().clone().float()
        b = (m.bias.detach().clone().float() if m.bias is not None
             else torch.zeros(m.out_features, dtype=torch.float32))
        self.add(n, "linear", [x], weight=w, bias=b)

    def maxpool(self, n, k, s, p, d, ceil, ret_idx):
        if ret_idx:
            self.fail(n, "max pooling with return_indices is not supported")
        k, p, d = _pair(k), _pair(p), _pair(d)
        s = k if (s is None or s == [] or s == ()) else _pair(s)
        x = self.src(n, n.args[0])
        self._check_pool_shape(n, x, k, s, p, d, ceil)
        self.add(n, "maxpool", [x], attrs={"kernel": list(k), "strides": list(s),
                                           "pads": [p[0], p[1], p[0], p[1]], "dilations": list(d)})

    def avgpool(self, n, k, s, p, ceil, cip, div):
        if div is not None:
            self.fail(n, "avg_pool2d with divisor_override is not supported")
        k, p = _pair(k), _pair(p)
        s = k if (s is None or s == [] or s == ()) else _pair(s)
        x = self.src(n, n.args[0])
        self._check_pool_shape(n, x, k, s, p, (1, 1), ceil)
        if not any(p):
            cip = False  # no padding: both conventions count the same positions
        self.add(n, "avgpool", [x], attrs={"kernel": list(k), "strides": list(s),
                                           "pads": [p[0], p[1], p[0], p[1]],
                                           "count_include_pad": int(bool(cip))})

    def adaptive_avgpool(self, n, out_size):
        x = self.src(n, n.args[0])
        ih, iw = self.by_name[x].shape[2:]
        oh, ow = _pair(out_size)
        oh = ih if oh is None else oh
        ow = iw if ow is None else ow
        if (oh, ow) == (1, 1):
            self.add(n, "gap", [x])
        elif (oh, ow) == (ih, iw):
            self.alias(n, x)
        elif ih % oh == 0 and iw % ow == 0:
            k = [ih // oh, iw // ow]
            self.add(n, "avgpool", [x], attrs={"kernel": k, "strides": k, "pads": [0, 0, 0, 0],
                                               "count_include_pad": 0})
        else:
            self.fail(n, f"adaptive average pooling {ih}x{iw} -> {oh}x{ow} (sizes not divisible)")

    def _check_pool_shape(self, n, x, k, s, p, d, ceil):
        ih, iw = self.by_name[x].shape[2:]
        for i in range(2):
            if p[i] * 2 > k[i]:
                self.fail(n, f"pooling padding {p[i]} larger than half the kernel {k[i]}")
        want = tuple((size + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i, size in enumerate((ih, iw)))
        got = self.shape(n)[2:]
        if tuple(got) != want:
            self.fail(n, f"pooling output {got} differs from the floor-mode size {want}"
                      + (" (ceil_mode=True is not supported)" if ceil else ""))

    def flatten(self, n, start, end):
        x = self.src(n, n.args[0])
        rank = len(self.by_name[x].shape)
        if end < 0:
            end += rank
        if start < 0:
            start += rank
        if end != rank - 1 or start < 1:
            self.fail(n, f"flatten(start_dim={start}, end_dim={end}) is not supported "
                      "(only start_dim >= 1 up to the last dim)")
        if start == rank - 1:
            self.alias(n, x)
            return
        if start == 1:
            self.add(n, "flatten", [x], attrs={"axis": 1})
        else:
            self.add(n, "reshape", [x], attrs={"shape": list(self.shape(n)[1:])})

    def reshape(self, n):
        x = self.src(n, n.args[0])
        out = self.shape(n)
        if out[0] != self.by_name[x].shape[0]:
            self.fail(n, "reshape that changes the batch dimension")
        if len(out) == 2:
            self.add(n, "flatten", [x], attrs={"axis": 1})
        else:
            self.add(n, "reshape", [x], attrs={"shape": list(out[1:])})

    def add_op(self, n):
        args = list(n.args)
        if len(args) != 2 or any(k != "alpha" for k in n.kwargs) or n.kwargs.get("alpha", 1) != 1:
            self.fail(n, "add must have exactly two tensor operands (no alpha)")
        for a in args:
            if not isinstance(a, fx.Node):
                self.fail(n, f"adding the constant {a!r} is not supported (only tensor + tensor)")
        a, b = self.src(n, args[0]), self.src(n, args[1])
        if self.by_name[a].shape != self.by_name[b].shape:
            self.fail(n, f"add of different shapes {self.by_name[a].shape} and {self.by_name[b].shape} "
                      "(broadcasting is not supported)")
        self.add(n, "add", [a, b])

    # ---- main loop
    def run(self):
        out_node = None
        for n in self.gm.graph.nodes:
            if n.op == "placeholder":
                if any(nd.kind == "input" for nd in self.nodes):
                    self.fail(n, "a second model input (only one image input is supported)")
                node = IRNode(kind="input", name="input", inputs=[], shape=self.shape(n), source=self.where(n))
                node.qsrc = "input"
                self.used_names.add("input")
                self.nodes.append(node)
                self.by_name["input"] = node
                self.value[n] = "input"
                self.last_fx["input"] = n
            elif n.op == "call_module":
                self.module(n, self.modules[n.target])
            elif n.op == "call_function":
                self.function(n)
            elif n.op == "call_method":
                self.method(n)
            elif n.op == "get_attr":
                self.fail(n, f"direct use of parameter/buffer '{n.target}' is not supported")
            elif n.op == "output":
                res = n.args[0]
                if not isinstance(res, fx.Node):
                    self.fail(n, "the model must return one tensor")
                out_node = self.src(n, res)
        if out_node is None:
            raise UnsupportedError("the traced graph has no output")
        return self.nodes, out_node

    def module(self, n, m):
        if isinstance(m, nn.Conv2d):
            self.conv(n, m)
        elif isinstance(m, nn.modules.conv._ConvNd):
            self.fail(n, f"unsupported module {type(m).__module__}.{type(m).__name__}")
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            self.batchnorm(n, m)
        elif isinstance(m, nn.Linear):
            self.linear(n, m)
        elif isinstance(m, nn.ReLU6):
            self.activation(n, self.src(n, n.args[0]), 0.0, 6.0)
        elif isinstance(m, nn.ReLU):
            self.activation(n, self.src(n, n.args[0]), 0.0, math.inf)
        elif isinstance(m, nn.Hardtanh):
            self.activation(n, self.src(n, n.args[0]), float(m.min_val), float(m.max_val))
        elif isinstance(m, nn.MaxPool2d):
            self.maxpool(n, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode, m.return_indices)
        elif isinstance(m, nn.AvgPool2d):
            self.avgpool(n, m.kernel_size, m.stride, m.padding, m.ceil_mode, m.count_include_pad,
                         m.divisor_override)
        elif isinstance(m, nn.AdaptiveAvgPool2d):
            self.adaptive_avgpool(n, m.output_size)
        elif isinstance(m, nn.Flatten):
            self.flatten(n, m.start_dim, m.end_dim)
        elif isinstance(m, (nn.Dropout, nn.Dropout2d, nn.AlphaDropout, nn.Identity)):
            self.alias(n, self.src(n, n.args[0]))
        else:
            self.fail(n, f"unsupported module {type(m).__module__}.{type(m).__name__}")

    def _arg(self, n, i, key, default):
        if len(n.args) > i:
            return n.args[i]
        return n.kwargs.get(key, default)

    def function(self, n):
        f = n.target
        if f in ADD_FUNCS:
            self.add_op(n)
        elif f in RELU_FUNCS:
            self.activation(n, self.src(n, n.args[0]), 0.0, math.inf)
        elif f is F.relu6:
            self.activation(n, self.src(n, n.args[0]), 0.0, 6.0)
        elif f is F.hardtanh:
            self.activation(n, self.src(n, n.args[0]), float(self._arg(n, 1, "min_val", -1.0)),
                            float(self._arg(n, 2, "max_val", 1.0)))
        elif f in FLATTEN_FUNCS:
            self.flatten(n, self._arg(n, 1, "start_dim", 0), self._arg(n, 2, "end_dim", -1))
        elif f is torch.reshape:
            self.reshape(n)
        elif f is F.adaptive_avg_pool2d:
            self.adaptive_avgpool(n, self._arg(n, 1, "output_size", None))
        elif f is F.max_pool2d or getattr(f, "__name__", "") == "_max_pool2d":
            self.maxpool(n, self._arg(n, 1, "kernel_size", None), self._arg(n, 2, "stride", None),
                         self._arg(n, 3, "padding", 0), self._arg(n, 4, "dilation", 1),
                         self._arg(n, 5, "ceil_mode", False), self._arg(n, 6, "return_indices", False))
        elif f is F.avg_pool2d:
            self.avgpool(n, self._arg(n, 1, "kernel_size", None), self._arg(n, 2, "stride", None),
                         self._arg(n, 3, "padding", 0), self._arg(n, 4, "ceil_mode", False),
                         self._arg(n, 5, "count_include_pad", True), self._arg(n, 6, "divisor_override", None))
        elif f in DROPOUT_FUNCS:
            self.alias(n, self.src(n, n.args[0]))
        elif f is getattr and n.args[1] == "shape" or f is operator.getitem and n.args[0] in self.meta_nodes:
            self.meta_nodes.add(n)
        else:
            self.fail(n, f"unsupported function {_fn_name(f)}")

    def method(self, n):
        name = n.target
        if name in ("add", "add_"):
            self.add_op(n)
        elif name in ("relu", "relu_"):
            self.activation(n, self.src(n, n.args[0]), 0.0, math.inf)
        elif name == "flatten":
            self.flatten(n, self._arg(n, 1, "start_dim", 0), self._arg(n, 2, "end_dim", -1))
        elif name in ("view", "reshape"):
            self.reshape(n)
        elif name == "size":
            self.meta_nodes.add(n)
        elif name in ("contiguous", "clone", "detach"):
            self.alias(n, self.src(n, n.args[0]))
        else:
            self.fail(n, f"unsupported tensor method '.{name}()'")


def fold_bn(node, bn):
    """Fold eval-mode BatchNorm into a conv IR node: w' = w * g/sqrt(v+eps), b' = (b - mu) * g/sqrt(v+eps) + beta."""
    var = bn.running_var.detach().double()
    mean = bn.running_mean.detach().double()
    gamma = bn.weight.detach().double() if bn.weight is not None else torch.ones_like(var)
    beta = bn.bias.detach().double() if bn.bias is not None else torch.zeros_like(var)
    k = gamma / torch.sqrt(var + bn.eps)
    shape = [-1] + [1] * (node.weight.dim() - 1)
    node.weight = (node.weight.double() * k.reshape(shape)).float()
    node.bias = ((node.bias.double() - mean) * k + beta).float()


def build_ir(model, example_input):
    """Float model + one example input [1, C, H, W] -> (list of IRNode in execution order, output name)."""
    gm = trace(model)
    if example_input.shape[0] != 1:
        example_input = example_input[:1]
    with torch.no_grad():
        try:
            ShapeProp(gm).propagate(example_input)
        except Exception as e:
            raise UnsupportedError(f"running the traced model failed: {type(e).__name__}: {e}") from e
    nodes, out = _Builder(gm).run()
    # Drop nodes whose value does not reach the output (e.g. unused branches).
    live, stack = set(), [out]
    byn = {nd.name: nd for nd in nodes}
    while stack:
        v = stack.pop()
        if v not in live:
            live.add(v)
            stack.extend(byn[v].inputs)
    nodes = [nd for nd in nodes if nd.name in live]
    if nodes[0].kind != "input":
        raise UnsupportedError("the model output does not depend on its input")
    if byn[out].kind not in ("conv", "linear", "add"):
        raise UnsupportedError(f"the model output comes from a {byn[out].kind} node ('{out}'); the last layer "
                               "must be a linear, conv or add")
    return nodes, out
