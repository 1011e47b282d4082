"""The project's own small models (float PyTorch), and the registry of architectures the exporter knows.

`FmnistResNet` is the default model shipped in engine/default_model/: a small residual CNN for 28x28
grayscale Fashion-MNIST images. It uses only layers the exporter maps to integer ops: conv-BN-ReLU,
BasicBlocks with residual adds (one with a strided 1x1 projection), global average pooling and a linear
classifier.
"""

import torch
from torch import nn

FMNIST_LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# Mean/std of the Fashion-MNIST training pixels scaled to [0, 1].
FMNIST_MEAN = [0.2860]
FMNIST_STD = [0.3530]

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


class BasicBlock(nn.Module):
    """ResNet basic block: conv3x3-BN-ReLU, conv3x3-BN, + shortcut, ReLU."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = out + identity
        return self.relu(out)


class FmnistResNet(nn.Module):
    """28x28x1 -> 10 logits. Stem conv-BN-ReLU at 28x28; layer1 stride 2 (14x14, 1x1 projection
    shortcut); layer2 stride 2 (7x7, projection); layer3 at 7x7 with an identity shortcut; global
    average pool; linear. 38,554 parameters, about 1.6 M MACs per image."""

    def __init__(self, widths=(16, 32, 32), num_classes=10, in_channels=1):
        super().__init__()
        c1, c2, c3 = widths
        self.conv1 = nn.Conv2d(in_channels, c1, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c1)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = BasicBlock(c1, c1, stride=2)
        self.layer2 = BasicBlock(c1, c2, stride=2)
        self.layer3 = BasicBlock(c2, c3)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(c3, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


# Architecture registry: constructor, preprocessing (t2c-format.md keys) and label source.
def _imagenet_pre():
    return {"color": "RGB", "resize": 256, "resize_mode": "shorter", "crop": [224, 224],
            "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}


def _fmnist_pre():
    return {"color": "GRAY", "resize": 28, "resize_mode": "exact", "crop": None,
            "mean": list(FMNIST_MEAN), "std": list(FMNIST_STD)}


def _tv(name):
    def make(num_classes=1000):
        import torchvision
        return getattr(torchvision.models, name)(num_classes=num_classes)
    return make


ARCHS = {
    "resnet18": {"make": _tv("resnet18"), "pre": _imagenet_pre, "labels": "imagenet",
                 "tv_weights": "ResNet18_Weights"},
    "resnet34": {"make": _tv("resnet34"), "pre": _imagenet_pre, "labels": "imagenet",
                 "tv_weights": "ResNet34_Weights"},
    "resnet50": {"make": _tv("resnet50"), "pre": _imagenet_pre, "labels": "imagenet",
                 "tv_weights": "ResNet50_Weights"},
    "vgg16_bn": {"make": _tv("vgg16_bn"), "pre": _imagenet_pre, "labels": "imagenet",
                 "tv_weights": "VGG16_BN_Weights"},
    "mobilenet_v2": {"make": _tv("mobilenet_v2"), "pre": _imagenet_pre, "labels": "imagenet",
                     "tv_weights": "MobileNet_V2_Weights"},
    "fmnist": {"make": lambda num_classes=10: FmnistResNet(num_classes=num_classes),
               "pre": _fmnist_pre, "labels": "fmnist"},
}
