"""Importers of already-quantized models: TFLite INT8 (tflite.py) and ONNX QDQ/QOperator (onnx_import.py).
Their semantics (op mapping, multiplier derivation, where t2c and the producer can differ) are in README.md."""
