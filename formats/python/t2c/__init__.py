"""t2c: Python side of the t2c integer inference engine.

t2c.container reads and writes .t2c files (formats/t2c-format.md); t2c.reference is the
independent numpy implementation of the op recipes (ops/README.md); t2c.export turns trained
models into .t2c files.
"""
from .container import (DEFAULT_LEVEL, DTYPES, Floats, FormatError, Ints, Limits, Model, Op,  # noqa: F401
                        Strings, Tensor, read, to_bytes, write)

__version__ = "0.1.0"
