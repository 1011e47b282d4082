"""The float graphs of the architectures Torch2Chip's CNN fusers produce, as a small IR.

Each node names the Torch2Chip module it comes from (its state-dict prefix) and produces one float
activation named after the node. The IR holds no weights: lower.py binds it to a checkpoint.

    QConv    QConvBNReLU: the conv's own input quantizer (none at the stem), integer conv,
             MulShift, optional ReLU
    QLinear  FusedLinear: input quantizer, integer matmul, MulShift (optional ReLU after it)
    MaxPool, Add (residual, then ReLU), GAP (global average pool), Flatten

Module paths follow Torch2Chip 293a8ec's fusers: torchvision ResNet (ResNet18Fuser, ResNet34Fuser,
ResNet50Fuser), torchvision vgg16_bn (VGGFuser) and Torch2Chip's own MobileNet-V1
(src/models/imagenet/mobilenetv1.py with MobileNetV1Fuser).
"""

from dataclasses import dataclass
from typing import List, Optional


@dataclass
class QConv:
    name: str          # module prefix, e.g. "layer1.0.conv1"
    src: str
    cin: int
    cout: int
    k: int
    stride: int
    pad: int
    groups: int = 1
    relu: bool = True
    stem: bool = False  # input not quantized (Torch2Chip skips in_channels == 3)


@dataclass
class QLinear:
    name: str          # e.g. "fc", "classifier.0"
    src: str
    cin: int
    cout: int
    relu: bool = False


@dataclass
class MaxPool:
    name: str
    src: str
    k: int
    stride: int
    pad: int


@dataclass
class Add:
    name: str
    a: str
    b: str
    relu: bool = True


@dataclass
class GAP:
    name: str
    src: str


@dataclass
class Flatten:
    name: str
    src: str


@dataclass
class Arch:
    name: str
    nodes: list
    input_shape: tuple          # (1, 3, H, W)
    output: str
    # module prefixes that own no quantized layer but may hold keys (none in these fusers)
    notes: Optional[List[str]] = None

    def modules(self):
        return [n for n in self.nodes if isinstance(n, (QConv, QLinear))]


def _resnet(name, block, layers, num_classes, size):
    nodes = [QConv("conv1", "input", 3, 64, 7, 2, 3, stem=True),
             MaxPool("maxpool", "conv1", 3, 2, 1)]
    x, inplanes = "maxpool", 64
    expansion = 4 if block == "bottleneck" else 1
    for li, (planes, n) in enumerate(zip((64, 128, 256, 512), layers), start=1):
        for b in range(n):
            p = f"layer{li}.{b}"
            stride = 2 if (li > 1 and b == 0) else 1
            if block == "basic":
                nodes.append(QConv(p + ".conv1", x, inplanes, planes, 3, stride, 1))
                nodes.append(QConv(p + ".conv2", p + ".conv1", planes, planes, 3, 1, 1, relu=False))
                last = p + ".conv2"
            else:  # torchvision v1.5 bottleneck: the stride sits on the 3x3 conv
                nodes.append(QConv(p + ".conv1", x, inplanes, planes, 1, 1, 0))
                nodes.append(QConv(p + ".conv2", p + ".conv1", planes, planes, 3, stride, 1))
                nodes.append(QConv(p + ".conv3", p + ".conv2", planes, planes * expansion, 1, 1, 0,
                                   relu=False))
                last = p + ".conv3"
            idn = x
            if stride != 1 or inplanes != planes * expansion:
                nodes.append(QConv(p + ".downsample", x, inplanes, planes * expansion, 1, stride, 0,
                                   relu=False))
                idn = p + ".downsample"
            nodes.append(Add(p + ".add", last, idn, relu=True))
            x, inplanes = p + ".add", planes * expansion
    nodes += [GAP("avgpool", x), Flatten("flatten", "avgpool"),
              QLinear("fc", "flatten", 512 * expansion, num_classes)]
    return Arch(name, nodes, (1, 3, size, size), "fc")


def _vgg16_bn(num_classes, size):
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    nodes, x, cin = [], "input", 3
    for i, v in enumerate(cfg):   # fused Sequential: one index per conv block and per pool
        name = f"features.{i}"
        if v == "M":
            nodes.append(MaxPool(name, x, 2, 2, 0))
        else:
            nodes.append(QConv(name, x, cin, v, 3, 1, 1, stem=(i == 0)))
            cin = v
        x = name
    if size != 224:
        raise ValueError("vgg16_bn: only 224x224 inputs (AdaptiveAvgPool2d(7) is then the identity)")
    nodes += [Flatten("flatten", x),
              QLinear("classifier.0", "flatten", 512 * 7 * 7, 4096, relu=True),
              QLinear("classifier.3", "classifier.0", 4096, 4096, relu=True),
              QLinear("classifier.6", "classifier.3", 4096, num_classes)]
    return Arch("vgg16_bn", nodes, (1, 3, size, size), "classifier.6",
                notes=["avgpool (AdaptiveAvgPool2d(7)) is the identity on the 7x7 map of a 224 input",
                       "Dropout (classifier.2, classifier.5) is the identity at inference"])


def _mobilenetv1(num_classes, size):
    nodes = [QConv("model.0.0", "input", 3, 32, 3, 2, 1, stem=True)]
    x, cin = "model.0.0", 32
    dw = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
          (512, 1), (512, 1), (1024, 2), (1024, 1)]
    for i, (cout, stride) in enumerate(dw, start=1):
        nodes.append(QConv(f"model.{i}.0", x, cin, cin, 3, stride, 1, groups=cin))
        nodes.append(QConv(f"model.{i}.3", f"model.{i}.0", cin, cout, 1, 1, 0))
        x, cin = f"model.{i}.3", cout
    if size != 224:
        raise ValueError("mobilenetv1: only 224x224 inputs (AvgPool2d(7) must see a 7x7 map)")
    nodes += [GAP("pool", x), Flatten("flatten", "pool"), QLinear("fc", "flatten", 1024, num_classes)]
    return Arch("mobilenetv1", nodes, (1, 3, size, size), "fc")


ARCHS = {
    "resnet18": lambda nc, size: _resnet("resnet18", "basic", (2, 2, 2, 2), nc, size),
    "resnet34": lambda nc, size: _resnet("resnet34", "basic", (3, 4, 6, 3), nc, size),
    "resnet50": lambda nc, size: _resnet("resnet50", "bottleneck", (3, 4, 6, 3), nc, size),
    "vgg16_bn": _vgg16_bn,
    "mobilenetv1": _mobilenetv1,
}


def build(arch: str, num_classes: int = 1000, size: int = 224) -> Arch:
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture '{arch}' (choose from {', '.join(ARCHS)})")
    return ARCHS[arch](num_classes, size)
