"""t2c.torch2chip: import Torch2Chip's fused checkpoints and extracted tensors.

    from t2c.torch2chip import convert
    model, taps, bound = convert("t2c_model.pth.tar", "resnet18", mode="compat", wbit=8, abit=8)
    model.write("resnet18_compat.t2c")

See README.md in this folder; the command line is `t2c-export --from-torch2chip` or
`python3 -m t2c.torch2chip`.
"""

from .archs import ARCHS, build  # noqa: F401
from .checkpoint import CheckpointError, bind, load_state_dict  # noqa: F401
from .lower import default_frac_bits, default_input_scale, lower_compat, lower_integer  # noqa: F401

MODES = ("compat", "integer")


def convert(checkpoint, arch, mode="compat", wbit=8, abit=8, fl=26, num_classes=None, input_size=224,
            frac_bits=None, out_frac_bits=16, input_scale=None, name=None, labels=None, wnids=None):
    """Checkpoint (path or state dict) -> (t2c container Model, taps, bound checkpoint)."""
    sd = load_state_dict(checkpoint) if isinstance(checkpoint, str) else checkpoint
    if num_classes is None:
        num_classes = _num_classes(sd, arch)
    a = build(arch, num_classes, input_size)
    if labels is not None and len(labels) != num_classes:
        labels = wnids = None
    if wnids is not None and len(wnids) != num_classes:
        wnids = None
    bound = bind(sd, a, wbit=wbit, abit=abit, fl=fl)
    if mode == "compat":
        model, taps = lower_compat(bound, name=name, labels=labels, wnids=wnids)
    elif mode == "integer":
        model, taps = lower_integer(bound, frac_bits=frac_bits, out_frac_bits=out_frac_bits,
                                    input_scale=input_scale, name=name, labels=labels, wnids=wnids)
    else:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    return model, taps, bound


def _num_classes(sd, arch):
    key = {"vgg16_bn": "classifier.6.scaler.scale"}.get(arch, "fc.scaler.scale")
    v = sd.get(key)
    return int(v.size) if v is not None and v.size > 1 else 1000
