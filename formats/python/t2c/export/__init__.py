"""t2c.export: float PyTorch model -> integer .t2c graph (post-training quantization).

    from t2c.export import QuantConfig, export, add_metadata
    res = export(model, calib_images, QuantConfig(wbits=4, abits=4, first_last_8bit=True))
    add_metadata(res.model, res.qparams, res.model.outputs[0], "mynet", pre)
    t2c.container.write(res.model, "mynet.t2c")
    res.fakequant(x)   # float simulation of the same quantizers

The command-line front end is formats/t2c-export (t2c.export.cli).
"""
from .fixedpoint import quantize_multiplier, quantize_multipliers, scale_error_bound  # noqa: F401
from .graph import UnsupportedError, build_ir  # noqa: F401
from .quantize import (ExportResult, QuantConfig, add_metadata, export, format_report,  # noqa: F401
                       input_range_of)

__all__ = ["quantize_multiplier", "quantize_multipliers", "scale_error_bound", "UnsupportedError", "build_ir",
           "ExportResult", "QuantConfig", "add_metadata", "export", "format_report", "input_range_of"]
