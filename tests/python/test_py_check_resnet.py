"""t2c-check on a ResNet-18 layer set (issue 5): random weights exported by formats/t2c-export at 224x224,
golden vectors of every op of layer2 written by t2c-golden, then checked with the real t2c-check CLI:

  - the unmodified dump matches (exit 0);
  - one flipped bit in one element of one op's output is found in that op, at its (n, c, h, w), alone;
  - a dump made by a "hardware" model whose layer2.1.conv1 requantize shifts one bit too far is flagged
    first at that op, isolation mode reports that op alone, and the diagnosis names the off-by-one shift.

Needs PyTorch (the exporter), T2C_BUILD_DIR with golden/t2c-golden and golden/t2c-check; skips otherwise.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

from t2c import container

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("T2C_BUILD_DIR", "")
GOLDEN = os.path.join(BUILD, "golden", "t2c-golden")
CHECK = os.path.join(BUILD, "golden", "t2c-check")
EXPORTER = os.path.join(REPO, "formats", "t2c-export")

try:
    import torch  # noqa: F401
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False


@unittest.skipUnless(HAVE_TORCH, "needs PyTorch for the exporter")
@unittest.skipUnless(os.path.exists(GOLDEN) and os.path.exists(CHECK), "needs T2C_BUILD_DIR with t2c-golden/t2c-check")
class TestCheckResNet18Layers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="t2c_check_r18_")
        cls.model = os.path.join(cls.tmp, "r18.t2c")
        r = subprocess.run([sys.executable if sys.executable.startswith("/usr/bin") else "/usr/bin/python3",
                            EXPORTER, "--arch", "resnet18", "--weights", "random", "--seed", "3",
                            "--calib", "random", "--calib-count", "2", "-o", cls.model],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("t2c-export failed: " + r.stderr[-2000:])
        cls.input = os.path.join(cls.tmp, "x.npy")
        rng = np.random.default_rng(5)
        np.save(cls.input, rng.integers(-128, 128, (1, 3, 224, 224)).astype(np.int8))
        cls.golden = cls.dump(cls.model, "golden")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def dump(cls, model, name):
        out = os.path.join(cls.tmp, name)
        r = subprocess.run([GOLDEN, model, cls.input, "--out", out, "--ops", "layer2.*", "--roles", "act", "-q",
                            "--no-progress"], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("t2c-golden failed: " + r.stderr)
        return out

    def check(self, dump, *extra):
        return subprocess.run([CHECK, self.model, self.input, dump, *extra], capture_output=True, text=True)

    def test_clean_dump_matches(self):
        r = self.check(self.golden, "--isolate")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("all 12 checked op outputs match bit for bit", r.stdout)

    def test_one_bit_flip_located(self):
        bad = os.path.join(self.tmp, "flip")
        shutil.copytree(self.golden, bad)
        with open(os.path.join(bad, "manifest.json")) as f:
            man = json.load(f)
        entry = next(f for f in man["files"] if f["op"] == "layer2.0.conv2.requant" and f["role"] == "output")
        path = os.path.join(bad, entry["path"])
        with open(path) as f:
            lines = f.read().split("\n")
        # element (0, 37, 5, 11) of [1,128,28,28] in NCHW order, one element per line (int8, two hex digits)
        idx = ((0 * 128 + 37) * 28 + 5) * 28 + 11
        data = [ln for ln in lines if ln and not ln.startswith("@") and not ln.startswith("//")]
        v = int(data[idx], 16) ^ 0x04
        data[idx] = f"{v:02x}"
        with open(path, "w") as f:
            f.write("\n".join(data) + "\n")
        r = self.check(bad, "--isolate")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("first divergent op: 16 'layer2.0.conv2.requant' (requantize)", r.stdout)
        self.assertRegex(r.stdout, r"1 of 100352 differ .*max \|diff\| 4")
        self.assertRegex(r.stdout, r"\(0,37,5,11\)\s+expected\s+-?\d+\s+actual\s+-?\d+")
        self.assertIn("first op wrong on its own inputs (isolation): 16 'layer2.0.conv2.requant'", r.stdout)

    def test_shift_off_by_one_isolated_and_diagnosed(self):
        m = container.read(self.model)
        op = next(o for o in m.ops if o.name == "layer2.1.conv1.requant")
        op.attrs["shift"] = [int(s) + 1 for s in op.attrs["shift"]]
        hw_model = os.path.join(self.tmp, "hw.t2c")
        container.write(m, hw_model)
        hw = self.dump(hw_model, "hw-shift")
        r = self.check(hw, "--isolate")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("first divergent op: 21 'layer2.1.conv1.requant' (requantize)", r.stdout)
        self.assertIn("first op wrong on its own inputs (isolation): 21 'layer2.1.conv1.requant'", r.stdout)
        self.assertRegex(r.stdout, r"diagnosis: .*shift.*off by one")
        # isolation: only that op stays MISMATCH; the ops after it are right on their dumped inputs
        iso = re.findall(r"^\s+(\d+)\s+\S+\s+\S+\s+MISMATCH.*MISMATCH", r.stdout, re.M)
        self.assertEqual(iso, ["21"], r.stdout)


if __name__ == "__main__":
    unittest.main()
