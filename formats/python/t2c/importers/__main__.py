"""python3 -m t2c.importers --from-tflite M.tflite | --from-onnx M.onnx -o OUT.t2c (see cli.py)."""
import sys

from .cli import main

sys.exit(main())
