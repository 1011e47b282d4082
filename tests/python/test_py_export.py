"""Tests of the PyTorch -> .t2c exporter (formats/python/t2c/export).

Small random models only (fast). What is checked: fixed-point multipliers within their stated error
for every width 8..32 (and hand-worked cases), BN folding preserves the float function, unsupported
layers are rejected naming the module, a hand-worked one-layer export (weights, bias, zero points,
multiplier/shift, ReLU clamp), bit-width overrides, the written file read back with the container
reader, and the fake-quant model against the integer graph run by t2c.reference.
Skipped when torch is missing.
"""
import math
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
    HAVE_TORCH = True
except ImportError:  # pragma: no cover
    HAVE_TORCH = False

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "formats", "python"))

if HAVE_TORCH:
    torch.set_num_threads(1)
    from t2c import container
    from t2c.export import (QuantConfig, UnsupportedError, add_metadata, export, quantize_multiplier,
                            scale_error_bound)
    from t2c.models import FmnistResNet


def randomize_bn(model, seed=1):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.2)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.3)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.3)
    return model.eval()


if HAVE_TORCH:
    class TinyNet(nn.Module):
        """conv-BN-ReLU, maxpool, residual block (add + ReLU), avgpool, flatten, linear."""

        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, 2, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.relu = nn.ReLU()
            self.pool = nn.MaxPool2d(3, 2, 1)
            self.conv2 = nn.Conv2d(8, 8, 3, 1, 1)
            self.bn2 = nn.BatchNorm2d(8)
            self.conv3 = nn.Conv2d(8, 8, 1, groups=2)
            self.bn3 = nn.BatchNorm2d(8)
            self.avg = nn.AvgPool2d(2)
            self.fc = nn.Linear(8 * 2 * 2, 5)

        def forward(self, x):
            x = self.pool(self.relu(self.bn1(self.conv1(x))))
            y = self.relu(self.bn2(self.conv2(x)))
            y = self.bn3(self.conv3(y))
            x = torch.relu(x + y)
            x = self.avg(x)
            return self.fc(x.view(x.size(0), -1))

    class GeluNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(1, 4, 3)
            self.block = nn.Sequential(nn.Conv2d(4, 4, 3), nn.GELU())
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(torch.flatten(self.block(self.stem(x)).mean((2, 3)), 1))

    class SigmoidNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)
            self.fc = nn.Linear(4 * 4 * 4, 2)

        def forward(self, x):
            return self.fc(torch.flatten(torch.sigmoid(self.conv(x)), 1))

    class LoneBN(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm2d(1)
            self.fc = nn.Linear(36, 2)

        def forward(self, x):
            return self.fc(torch.flatten(self.bn(x), 1))

    class SharedPreact(nn.Module):
        """The pre-ReLU value is also used by the add: the ReLU cannot be folded."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            y = self.conv(x)
            z = F.relu(y) + y
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(z, 1), 1))

    class OneLinear(nn.Module):
        def __init__(self, relu):
            super().__init__()
            self.fc = nn.Linear(2, 1)
            self.relu = relu

        def forward(self, x):
            y = self.fc(torch.flatten(x, 1))
            return torch.relu(y) if self.relu else y


def quiet(_msg):
    pass


@unittest.skipUnless(HAVE_TORCH, "torch is not installed")
class TestFixedPoint(unittest.TestCase):
    def test_hand_worked(self):
        self.assertEqual(quantize_multiplier(0.5, 8)[:2], (64, 7))
        self.assertEqual(quantize_multiplier(0.75, 32)[:2], (3 << 29, 31))
        # 1/3 = 0.666.. * 2^-1 -> s = 8, m = round(256/3) = 85, error exactly 2^-8
        m, s, e = quantize_multiplier(1.0 / 3.0, 8)
        self.assertEqual((m, s), (85, 8))
        self.assertAlmostEqual(e, 2.0 ** -8, places=15)
        # 96.5/128: a tie, rounded to the even multiplier 96
        self.assertEqual(quantize_multiplier(96.5 / 128, 8)[:2], (96, 7))
        # 127.5/128 rounds up to 128 = 2^7: renormalized to 64 / 2^6
        m, s, e = quantize_multiplier(127.5 / 128, 8)
        self.assertEqual((m, s), (64, 6))
        self.assertAlmostEqual(e, 0.5 / 127.5, places=15)
        # >= 1: shift 0 while the multiplier fits, an error when it does not
        self.assertEqual(quantize_multiplier(100.0, 8), (100, 0, 0.0))
        with self.assertRaises(ValueError):
            quantize_multiplier(200.0, 8)
        # Below 2^-63 nothing is left
        self.assertEqual(quantize_multiplier(2.0 ** -70, 32), (0, 62, 1.0))
        self.assertEqual(quantize_multiplier(0.0, 16), (0, 0, 0.0))

    def test_every_width_within_bound(self):
        rng = np.random.default_rng(7)
        scales = np.exp(rng.uniform(math.log(1e-9), math.log(0.999), 400))
        for bits in range(8, 33):
            bound = scale_error_bound(bits)
            self.assertEqual(bound, 2.0 ** (1 - bits))
            for v in scales:
                m, s, e = quantize_multiplier(float(v), bits)
                self.assertTrue(0 <= s <= 62)
                self.assertTrue(2 ** (bits - 2) <= m < 2 ** (bits - 1), (bits, v, m))
                exact = abs(m / 2.0 ** s - v) / v
                self.assertAlmostEqual(e, exact, delta=1e-15)
                self.assertLessEqual(exact, bound * (1 + 1e-12), (bits, v, m, s))


@unittest.skipUnless(HAVE_TORCH, "torch is not installed")
class TestGraph(unittest.TestCase):
    def test_bn_folding_preserves_function(self):
        torch.manual_seed(0)
        for model, shape in ((randomize_bn(TinyNet()), (4, 3, 16, 16)),
                             (randomize_bn(FmnistResNet()), (4, 1, 28, 28))):
            x = torch.randn(shape)
            res = export(model, x, QuantConfig(), progress=quiet)
            self.assertFalse(any(nd.kind == "bn" for nd in res.nodes))
            with torch.no_grad():
                ref = model(x)
                got = res.float_model(x)
            err = float((got - ref).abs().max() / ref.abs().max())
            self.assertLess(err, 1e-5)

    def test_unsupported_module_named(self):
        with self.assertRaises(UnsupportedError) as cm:
            export(GeluNet(), torch.randn(2, 1, 8, 8), progress=quiet)
        msg = str(cm.exception)
        self.assertIn("module 'block.1'", msg)
        self.assertIn("GELU", msg)

    def test_unsupported_function_named(self):
        with self.assertRaises(UnsupportedError) as cm:
            export(SigmoidNet(), torch.randn(2, 1, 6, 6), progress=quiet)
        msg = str(cm.exception)
        self.assertIn("torch.sigmoid", msg)
        self.assertIn("fx node 'sigmoid'", msg)

    def test_lone_batchnorm_rejected(self):
        with self.assertRaises(UnsupportedError) as cm:
            export(LoneBN().eval(), torch.randn(2, 1, 6, 6), progress=quiet)
        self.assertIn("module 'bn'", str(cm.exception))
        self.assertIn("BatchNorm2d", str(cm.exception))

    def test_untraceable_model(self):
        class Branchy(nn.Module):
            def forward(self, x):
                return x if x.sum() > 0 else -x
        with self.assertRaises(UnsupportedError) as cm:
            export(Branchy(), torch.randn(1, 1, 2, 2), progress=quiet)
        self.assertIn("torch.fx cannot trace Branchy", str(cm.exception))


@unittest.skipUnless(HAVE_TORCH, "torch is not installed")
class TestHandWorked(unittest.TestCase):
    def setUp(self):
        self.model = OneLinear(relu=False)
        with torch.no_grad():
            self.model.fc.weight.copy_(torch.tensor([[0.5, -0.25]]))
            self.model.fc.bias.copy_(torch.tensor([0.125]))
        # y = 0.5 a - 0.25 b + 0.125 -> 0.875 and -0.625 on these two inputs
        self.x = torch.tensor([[1.0, -1.0], [-1.0, 1.0]]).reshape(2, 2, 1, 1)

    def test_one_linear(self):
        res = export(self.model, self.x, QuantConfig(), input_range=(-1.0, 1.0), progress=quiet)
        qi, qo = res.qparams["input"], res.qparams["fc"]
        # input: int8 asymmetric over [-1, 1]: scale 2/255, zero point -128 + round(127.5) = 0
        self.assertEqual((qi["dtype"], qi["zp"]), ("int8", 0))
        self.assertAlmostEqual(qi["scale"], 2 / 255, places=7)
        # output: [-0.625, 0.875]: scale 1.5/255, zero point -128 + round(106.25) = -22
        self.assertEqual((qo["dtype"], qo["zp"]), ("int8", -22))
        self.assertAlmostEqual(qo["scale"], 1.5 / 255, places=7)
        m = res.model
        w = m.tensors["fc.weight"]
        self.assertEqual(w.dtype, "int8")
        # w scale 0.5/127: 0.5 -> 127, -0.25 -> -63.5 -> -64 (ties to even)
        self.assertEqual(w.data.tolist(), [[127, -64]])
        # bias 0.125 / (2/255 * 0.5/127) = 4048.125 -> 4048
        self.assertEqual(m.tensors["fc.bias"].data.tolist(), [4048])
        self.assertEqual(m.tensors["fc.bias"].dtype, "int32")
        self.assertEqual([op.type for op in m.ops], ["flatten", "linear", "requantize"])
        rq = m.op("fc.requant")
        # M = (2/255)(0.5/127)/(1.5/255) = 1/190.5 = 0.6719 * 2^-7 -> shift 31 + 7 = 38
        self.assertEqual(rq.attrs["shift"], [38])
        self.assertEqual(rq.attrs["zero_point"], -22)
        self.assertEqual((rq.attrs["lo"], rq.attrs["hi"]), (-128, 127))
        self.assertLess(abs(rq.attrs["multiplier"][0] / 2.0 ** 38 * 190.5 - 1), 1e-6)
        self.assertEqual(m.op("fc").attrs["x_zero_point"], 0)
        # the integer recipe by hand on input (0.5, 0.5): q = round(63.75) = 64 each (zp 0)
        acc = 127 * 64 + (-64) * 64 + 4048
        self.assertEqual(acc, 8080)
        y = round(acc * rq.attrs["multiplier"][0] / 2.0 ** 38) - 22  # 8080 / 190.5 = 42.41 -> 42
        self.assertEqual(y, 20)  # real 0.25 / (1.5/255) - 22 = 20.5
        try:
            from t2c import reference
        except Exception:  # pragma: no cover
            reference = None
        if reference is not None:
            out = reference.run(m, {"input": np.array([[[[64]], [[64]]]], np.int8)})
            self.assertEqual(out["fc.acc"].tolist(), [[8080]])
            self.assertEqual(out["fc"].tolist(), [[20]])
        self.assertEqual(res.report[0]["name"], "fc")
        self.assertLessEqual(res.report[0]["max_rel_scale_error"], 2.0 ** -31)

    def test_relu_folded_into_clamp(self):
        self.model.relu = True
        cfg = QuantConfig(act_signed="signed")
        res = export(self.model, self.x, cfg, input_range=(-1.0, 1.0), progress=quiet)
        rq = res.model.op("fc.requant")
        q = res.qparams["fc"]
        # ReLU: range [0, 0.875] signed asymmetric -> zero point -128, and lo = the zero point
        self.assertEqual(q["zp"], -128)
        self.assertEqual((rq.attrs["lo"], rq.attrs["hi"]), (-128, 127))
        self.assertNotIn("relu", [op.type for op in res.model.ops])
        res = export(self.model, self.x, QuantConfig(), input_range=(-1.0, 1.0), progress=quiet)
        self.assertEqual(res.model.tensors["fc"].dtype, "uint8")  # auto: unsigned after ReLU
        self.assertEqual(res.model.op("fc.requant").attrs["lo"], 0)


@unittest.skipUnless(HAVE_TORCH, "torch is not installed")
class TestContainer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.manual_seed(3)
        cls.model = randomize_bn(TinyNet())
        cls.calib = torch.randn(16, 3, 16, 16)

    def export(self, **kw):
        return export(self.model, self.calib, QuantConfig(**kw), input_range=(-3.0, 3.0), progress=quiet)

    def test_written_file_reads_back(self):
        res = self.export(wbits=4, abits=4, first_last_8bit=True)
        pre = {"color": "RGB", "resize": 16, "resize_mode": "exact", "crop": None,
               "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
        add_metadata(res.model, res.qparams, "fc", "tiny", pre, labels=list("abcde"))
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "tiny.t2c")
            container.write(res.model, path)
            back = container.read(path)
        self.assertEqual(back.inputs, ["input"])
        self.assertEqual(back.outputs, ["fc"])
        self.assertEqual([op.type for op in back.ops],
                         ["conv2d", "requantize", "maxpool2d", "conv2d", "requantize", "conv2d", "requantize",
                          "add", "avgpool2d", "flatten", "linear", "requantize"])
        self.assertEqual(back.meta["labels"], ["a", "b", "c", "d", "e"])
        self.assertEqual(back.meta["input.color"], "RGB")
        self.assertEqual(back.meta["input.zero_point"], res.qparams["input"]["zp"])
        self.assertEqual(back.meta["input.scale"], res.qparams["input"]["scale"])
        self.assertEqual(back.meta["output.zero_point"], res.qparams["fc"]["zp"])
        # first/last 8-bit: conv1 and fc weights int8, the rest int4; fc input 8-bit, graph input int8
        self.assertEqual(back.tensors["conv1.weight"].dtype, "int8")
        self.assertEqual(back.tensors["conv2.weight"].dtype, "int4")
        self.assertEqual(back.tensors["conv3.weight"].dtype, "int4")
        self.assertEqual(back.tensors["fc.weight"].dtype, "int8")
        self.assertEqual(back.tensors["input"].dtype, "int8")
        self.assertEqual(back.tensors["conv2"].dtype, "uint4")
        self.assertEqual(back.tensors["add"].dtype, "uint8")  # feeds fc through avgpool/flatten
        self.assertEqual(back.tensors["fc"].dtype, "int8")
        for name, t in res.model.tensors.items():
            b = back.tensors[name]
            self.assertEqual((b.dtype, tuple(b.shape)), (t.dtype, tuple(t.shape)))
            if t.data is not None:
                np.testing.assert_array_equal(b.data, t.data)
        w4 = back.tensors["conv2.weight"].data
        self.assertGreaterEqual(int(w4.min()), -7)
        self.assertLessEqual(int(w4.max()), 7)
        self.assertEqual(int(np.abs(w4.reshape(8, -1)).max(axis=1).min()), 7)  # per-channel minmax
        for op in back.ops:
            if op.type == "requantize":
                self.assertTrue(all(0 < m < 2 ** 31 for m in op.attrs["multiplier"]))
                self.assertTrue(all(0 <= s <= 62 for s in op.attrs["shift"]))

    def test_overrides_and_multiplier_width(self):
        res = self.export(wbits=8, abits=8, overrides={"conv2": {"w": 4, "a": 4}}, mult_bits=12,
                          weight_granularity="tensor", rounding="half_up")
        m = res.model
        self.assertEqual(m.tensors["conv2.weight"].dtype, "int4")
        self.assertEqual(m.tensors["conv2"].dtype, "uint4")
        self.assertEqual(m.tensors["conv3.weight"].dtype, "int8")
        rq = m.op("conv2.requant")
        self.assertEqual(len(rq.attrs["multiplier"]), 1)  # per-tensor weights: one multiplier
        self.assertEqual(rq.attrs["rounding"], "half_up")
        for op in m.ops:
            for k, v in op.attrs.items():
                if "multiplier" in k:
                    for mm in (v if isinstance(v, list) else [v]):
                        self.assertTrue(2 ** 10 <= mm < 2 ** 11, (op.name, k, mm))
        for r in res.report:
            self.assertLessEqual(r["max_rel_scale_error"], scale_error_bound(12))
        with self.assertRaises(ValueError):
            self.export(overrides={"nonexistent": {"w": 8}})

    def test_standalone_relu(self):
        torch.manual_seed(5)
        res = export(SharedPreact().eval(), torch.randn(8, 1, 6, 6), QuantConfig(), progress=quiet)
        m = res.model
        self.assertEqual([op.type for op in m.ops],
                         ["conv2d", "requantize", "relu", "add", "global_avgpool", "flatten", "linear", "requantize"])
        relu = m.op("relu")
        self.assertEqual(relu.inputs, ["conv"])
        self.assertEqual(relu.attrs["zero_point"], res.qparams["conv"]["zp"])
        self.assertEqual(m.tensors["relu"].dtype, m.tensors["conv"].dtype)
        self.assertEqual(m.tensors["conv"].dtype, "int8")  # not clamped: signed
        add = m.op("add")
        self.assertEqual(add.inputs, ["relu", "conv"])
        # both inputs share one scale: equal input multipliers
        self.assertEqual((add.attrs["a_multiplier"], add.attrs["a_shift"]),
                         (add.attrs["b_multiplier"], add.attrs["b_shift"]))

    def test_fakequant_matches_integer_graph(self):
        try:
            from t2c import reference
        except Exception as e:  # pragma: no cover
            self.skipTest(f"t2c.reference unavailable: {e}")
        x = torch.randn(8, 3, 16, 16) * 0.8
        for kw in ({}, {"wbits": 4, "abits": 4, "act_observer": "mse"}):
            res = self.export(**kw)
            qi = res.qparams["input"]
            inv = np.float32(1.0) / np.float32(qi["scale"])
            xq = np.clip(np.rint(x.numpy() * inv) + qi["zp"], qi["qmin"], qi["qmax"]).astype(np.int8)
            outs = reference.run(res.model, {"input": xq})
            qo = res.qparams["fc"]
            with torch.no_grad():
                fq = res.fakequant.double()(x.double()).numpy()
            lq = np.rint(fq / qo["scale"]).astype(np.int64) + qo["zp"]
            d = np.abs(lq - outs["fc"].astype(np.int64))
            self.assertLessEqual(int(d.max()), 1, kw)
            self.assertGreaterEqual(float((d == 0).mean()), 0.9, kw)
            # in float64 every value of every quantization point is the integer graph's
            with torch.no_grad():
                vals = res.fakequant.double()(x.double(), return_all=True)
            for nd in res.nodes:
                if nd.name in outs and nd.kind != "input":
                    q = res.qparams[nd.qsrc]
                    got = np.rint(vals[nd.name].numpy() / q["scale"]).astype(np.int64) + q["zp"]
                    np.testing.assert_array_equal(got, outs[nd.name].astype(np.int64), err_msg=f"{kw} {nd.name}")

    def test_fakequant_double_reloads_float64_weights(self):
        res = self.export()
        fq = res.fakequant
        w32 = fq.params["conv2__w"].detach().clone()
        self.assertEqual(w32.dtype, torch.float32)
        w64 = res.layer_q["conv2"]["w_deq"]
        self.assertEqual(w64.dtype, torch.float64)
        self.assertTrue(torch.equal(w32, w64.float()))
        fq.double()
        # not widened from float32: the float64 values themselves (they differ from w32 in the low bits)
        self.assertTrue(torch.equal(fq.params["conv2__w"].detach(), w64))
        self.assertTrue(torch.equal(fq.params["conv2__b"].detach(), res.layer_q["conv2"]["b_deq"]))
        self.assertFalse(torch.equal(w32.double(), w64))
        fq.float()


@unittest.skipUnless(HAVE_TORCH, "torch is not installed")
class TestLogits(unittest.TestCase):
    """The graph output (logits) has its own observer (minmax by default), margin and width (4/8/16)."""

    def setUp(self):
        self.model = OneLinear(relu=False)
        with torch.no_grad():
            self.model.fc.weight.copy_(torch.tensor([[1.0, 0.0]]))
            self.model.fc.bias.zero_()
        # y = x0: 1000 values evenly in [-1, 1] and one outlier 10
        x0 = torch.cat([torch.linspace(-1.0, 1.0, 1000), torch.tensor([10.0])])
        self.x = torch.stack([x0, torch.zeros_like(x0)], 1).reshape(-1, 2, 1, 1)

    def export(self, **kw):
        return export(self.model, self.x, QuantConfig(**kw), input_range=(-10.0, 10.0), batch=1001,
                      progress=quiet)

    def test_minmax_logits_under_percentile_activations(self):
        res = self.export(act_observer="percentile")
        q = res.qparams["fc"]
        # [-1, 10] on int8: scale 11/255, zero point -128 - round(-1 / (11/255)) = -128 + round(23.18) = -105
        self.assertEqual((q["dtype"], q["zp"]), ("int8", -105))
        self.assertAlmostEqual(q["scale"] / (11 / 255), 1.0, places=6)
        self.assertEqual(q["range"], (-1.0, 10.0))
        # the same observer for the logits clips the outlier
        clipped = self.export(act_observer="percentile", percentile=99.0, output_observer="percentile").qparams["fc"]
        self.assertLess(clipped["range"][1], 10.0)
        self.assertLess(clipped["scale"], 11 / 255 * 0.999)

    def test_margin(self):
        q = self.export(output_margin=2.0).qparams["fc"]
        # [-2, 20]: scale 22/255, zero point -128 + round(23.18) = -105
        self.assertEqual(q["zp"], -105)
        self.assertAlmostEqual(q["scale"] / (22 / 255), 1.0, places=6)
        with self.assertRaises(ValueError):
            self.export(output_margin=0.5)

    def test_int16_logits(self):
        res = self.export(output_bits=16)
        q = res.qparams["fc"]
        # [-1, 10] on int16: scale 11/65535, zero point -32768 + round(5957.73) = -26810
        self.assertEqual((q["dtype"], q["qmin"], q["qmax"], q["zp"]), ("int16", -32768, 32767, -26810))
        self.assertAlmostEqual(q["scale"] / (11 / 65535), 1.0, places=6)
        m = res.model
        self.assertEqual(m.tensors["fc"].dtype, "int16")
        rq = m.op("fc.requant")
        self.assertEqual((rq.attrs["lo"], rq.attrs["hi"], rq.attrs["zero_point"]), (-32768, 32767, -26810))
        with self.assertRaises(ValueError):
            self.export(output_bits=12)
        from t2c.export.observers import act_dtype
        self.assertEqual(act_dtype(16, True), "int16")
        with self.assertRaises(ValueError):
            act_dtype(16, False)
        try:
            from t2c import reference
        except Exception:  # pragma: no cover
            return
        # input 0.5: int8 over [-10, 10], scale 20/255, zero point 0: q = round(6.375) = 6 (ties n/a)
        xq = np.array([[[[6]], [[0]]]], np.int8)
        out = reference.run(m, {"input": xq})["fc"]
        # real 6 * 20/255 = 0.470588 -> 0.470588 / (11/65535) = 2803.6 -> 2804 - 26810 = -24006
        self.assertEqual(out.dtype, np.int16)
        self.assertEqual(int(out[0, 0]), -24006)


@unittest.skipUnless(HAVE_TORCH, "torch is not installed")
class TestCli(unittest.TestCase):
    def run_cli(self, *args):
        return subprocess.run([sys.executable, os.path.join(ROOT, "formats", "t2c-export"), *args],
                              capture_output=True, text=True, timeout=300)

    def test_help(self):
        r = self.run_cli("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--first-last-8bit", r.stdout)
        self.assertIn("--act-observer", r.stdout)

    def test_fmnist_random_weights(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "m.t2c")
            r = self.run_cli("--arch", "fmnist", "--weights", "random", "--calib", "random", "--calib-count", "8",
                             "--wbits", "4", "--abits", "4", "--first-last-8bit", "--act-observer", "percentile",
                             "--mult-bits", "16", "-o", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, "")
            self.assertIn("worst relative scale error", r.stderr)
            m = container.read(out)
        self.assertEqual(m.meta["input.color"], "GRAY")
        self.assertEqual(m.meta["preprocess.resize"], 28)
        self.assertEqual(m.meta["preprocess.resize_mode"], "exact")
        self.assertEqual(m.meta["labels"][0], "T-shirt/top")
        self.assertEqual(len(m.meta["labels"]), 10)
        self.assertEqual(m.tensors["input"].dtype, "int8")

    def test_int16_logits_and_default_observer(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "m.t2c")
            r = self.run_cli("--arch", "fmnist", "--weights", "random", "--calib", "random", "--calib-count", "8",
                             "--output-bits", "16", "--output-margin", "2", "-o", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            m = container.read(out)
        self.assertEqual(m.tensors["fc"].dtype, "int16")
        self.assertEqual(m.tensors["layer1.conv1"].dtype, "uint8")
        desc = m.meta["model.description"]
        self.assertIn("activations percentile 99.99", desc)
        self.assertIn("logits 16-bit minmax x2", desc)

    def test_missing_weights_is_an_error(self):
        r = self.run_cli("--arch", "fmnist", "--calib", "random", "-o", "/nonexistent/x.t2c")
        self.assertEqual(r.returncode, 1)
        self.assertIn("--weights is required", r.stderr)


if __name__ == "__main__":
    unittest.main()
