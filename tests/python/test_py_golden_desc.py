"""t2c-golden -l desc:...: general layout descriptors (golden/README.md "Layouts").

Every file of a desc dump is decoded from the manifest alone (its axes) back to the tensor and
compared with an nchw dump of the same run; the NC/BHWB stored order is also rebuilt directly in
numpy (pad, reshape, transpose) from the descriptor's definition, independent of the axes; and
t2c-check accepts a desc dump of the default model.
"""
import json
import os
import subprocess
import tempfile
import unittest

import numpy as np

import test_py_golden as G

CHECK = os.path.join(G.BUILD, "golden", "t2c-check")


def nc_blocked(x, b, pad):
    """[N, C, H, W] -> stored [N, ceil(C/b), H, W, b] (desc:N,C/b,H,W,C%b), padded with pad."""
    n, c, h, w = x.shape
    cp = -(-c // b) * b
    xp = np.full((n, cp, h, w), pad, np.int64)
    xp[:, :c] = x
    return xp.reshape(n, cp // b, b, h, w).transpose(0, 1, 3, 4, 2)


@unittest.skipUnless(os.path.exists(G.GOLDEN), "t2c-golden not built")
class TestGoldenDesc(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(dir=G.TMP)
        cls.model = os.path.join(cls.tmp.name, "m.t2c")
        G.small_model(cls.model)
        cls.npy = os.path.join(cls.tmp.name, "x.npy")
        np.save(cls.npy, np.random.default_rng(5).integers(-128, 128, (1, 3, 6, 5)).astype(np.int8))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def dump(self, model, npy, name, *args):
        d = os.path.join(self.tmp.name, name)
        rc, out, err = G.golden(model, npy, "--out", d, "-q", *args)
        self.assertEqual(rc, 0, err)
        with open(os.path.join(d, "manifest.json")) as f:
            return d, json.load(f)

    def test_blocked_channels_decode(self):
        ref_d, ref = self.dump(self.model, self.npy, "ref", "-f", "npy")
        want = {(e["op"], e["role"], e["image"]): np.load(os.path.join(ref_d, e["path"])).astype(np.int64)
                for e in ref["files"] if not e["float"]}
        for desc, block in (("desc:N,C/2,H,W,C%2", 2), ("desc:C/4,H,W,C%4", 4)):
            d, m = self.dump(self.model, self.npy, "b%d" % block, "-f", "npy,dec,hex", "--pad", "-3", "-l", desc)
            self.assertEqual(m["options"]["layout"]["desc"], "N,C/%d,H,W,C%%%d" % (block, block))
            seen = 0
            for e in m["files"]:
                if e["float"]:
                    continue
                lay = e["layout"]
                self.assertEqual(lay["desc"], m["options"]["layout"]["desc"])
                x = want[(e["op"], e["role"], e["image"])]
                stored = G.decode(self, d, e)
                self.assertTrue(np.array_equal(G.stored_to_view(self, e, stored), x), e["path"])
                if len(e["shape"]) == 4:  # the descriptor's rank: blocked channels
                    pad = G.pad_in(-3, e["dtype"])
                    self.assertEqual(lay["stored_shape"], list(nc_blocked(x, block, pad).shape))
                    self.assertTrue(np.array_equal(stored, nc_blocked(x, block, pad).reshape(-1)), e["path"])
                    seen += 1
                else:  # other ranks keep their own order
                    self.assertEqual(lay["stored_shape"], e["shape"])
                    self.assertTrue(np.array_equal(stored, x.reshape(-1)), e["path"])
            self.assertGreater(seen, 3)

    def test_default_model_check(self):
        model = G.DEFAULT_MODELS[0]
        if not (os.path.exists(CHECK) and os.path.exists(model)):
            self.skipTest("t2c-check or the default model missing")
        npy = os.path.join(self.tmp.name, "img.npy")
        np.save(npy, np.random.default_rng(3).integers(-128, 128, (1, 1, 28, 28)).astype(np.int8))
        d, m = self.dump(model, npy, "resnet", "-f", "hex", "-l", "desc:N,C/32,H,W,C%32", "--pad", "7")
        p = subprocess.run([CHECK, model, npy, d], capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_bad_descriptors(self):
        for desc, msg in (("desc:N,C/32,H,W", "dim 1 has '/B' without '%B'"),
                          ("desc:N,C,C,H,W", "dim 1 appears more than once"),
                          ("desc:N,C/4,H,W,C%8", "block sizes 4 and 8"),
                          ("desc:N,C/0,H,W,C%0", "not in 1..2^62"),
                          ("desc:N,Q,H,W", "'Q' does not start with a dim")):
            rc, out, err = G.golden(self.model, self.npy, "--out", os.path.join(self.tmp.name, "bad"), "-q",
                                    "-l", desc)
            self.assertEqual(rc, 2, err)
            self.assertIn(msg, err.splitlines()[0])
        rc, out, err = G.golden(self.model, self.npy, "--out", os.path.join(self.tmp.name, "bad"), "-q",
                                "-l", "desc:N,H,W,C", "--tile", "2x2")
        self.assertEqual(rc, 2, err)
        self.assertIn("cannot be combined with tiles", err)


if __name__ == "__main__":
    unittest.main()
