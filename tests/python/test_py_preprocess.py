"""engine/preprocess.c against PIL 9.x and torchvision 0.14, bit for bit.

Random images (numpy seed below) are written as PNG (lossless, so both sides decode the
same pixels), then run through tests/t2c_preprocess_tool and through PIL/torchvision.
JPEG decoding differs between stb_image and libjpeg: that is measured, not asserted, on
/work/shared/images/imagenet-dev when present.
"""
import os
import subprocess
import tempfile
import unittest

import numpy as np
from PIL import Image

BUILD = os.environ.get("T2C_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
TOOL = os.path.join(BUILD, "tests", "t2c_preprocess_tool")
IMAGENET_DEV = "/work/shared/images/imagenet-dev"
SEED = 20240611


def run_tool(*args):
    p = subprocess.run([TOOL] + [str(a) for a in args], capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError("t2c_preprocess_tool %s failed: %s" % (args, p.stderr.strip()))
    w, h, c = (int(v) for v in p.stdout.split())
    return w, h, c


def read_u8(path, w, h, c):
    a = np.fromfile(path, dtype=np.uint8)
    return a.reshape(h, w, c) if c > 1 else a.reshape(h, w)


@unittest.skipUnless(os.path.exists(TOOL), "t2c_preprocess_tool not built")
class PreprocessVsPil(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.rng = np.random.default_rng(SEED)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def random_image(self, w, h, mode, smooth=False):
        shape = (h, w) if mode == "L" else (h, w, len(mode))
        a = self.rng.integers(0, 256, shape, dtype=np.uint8)
        if smooth:  # natural-looking gradients plus noise, to exercise mid-range rounding
            yy, xx = np.mgrid[0:h, 0:w]
            g = (xx * 255 // max(w - 1, 1) + yy * 97 // max(h - 1, 1)) % 256
            g = g if mode == "L" else g[..., None]
            a = ((g.astype(np.int32) + a // 8) % 256).astype(np.uint8)
        return Image.fromarray(a, mode)

    def save(self, img, name):
        p = self.path(name)
        img.save(p)
        return p

    def check_resize(self, img, w, h, name):
        p = self.save(img, name)
        out = self.path(name + ".out")
        ow, oh, oc = run_tool("resize", p, w, h, out)
        self.assertEqual((ow, oh), (w, h))
        got = read_u8(out, ow, oh, oc)
        ref = np.asarray(img.resize((w, h), Image.BILINEAR))
        diff = np.argwhere(got != ref)
        self.assertEqual(len(diff), 0, "%s %s -> %dx%d: %d pixels differ, first at %s: %s vs PIL %s"
                         % (name, img.size, w, h, len(diff), diff[:1].tolist(),
                            got[tuple(diff[0])] if len(diff) else None,
                            ref[tuple(diff[0])] if len(diff) else None))

    def test_resize_matches_pil(self):
        cases = [
            ((2, 2), (1, 1)), ((1, 1), (3, 5)), ((3, 1), (1, 1)), ((3, 1), (2, 1)),
            ((17, 13), (5, 7)), ((13, 17), (40, 41)), ((64, 48), (64, 20)), ((64, 48), (23, 48)),
            ((101, 67), (33, 99)), ((500, 375), (341, 256)), ((37, 251), (256, 1736)),
            ((640, 480), (7, 5)), ((5, 3), (1000, 3)), ((256, 341), (224, 224)),
        ]
        for i, ((w, h), (ow, oh)) in enumerate(cases):
            for mode in ("L", "RGB"):
                for smooth in (False, True):
                    with self.subTest(size=(w, h), out=(ow, oh), mode=mode, smooth=smooth):
                        img = self.random_image(w, h, mode, smooth)
                        self.check_resize(img, ow, oh, "r%d_%s_%d.png" % (i, mode, smooth))

    def test_decode_png_modes(self):
        # stb_image vs PIL's convert("RGB") / native L for lossless PNG variants.
        for mode in ("L", "LA", "RGB", "RGBA", "P"):
            with self.subTest(mode=mode):
                base = self.random_image(19, 11, "RGBA" if mode in ("RGBA", "LA") else "RGB")
                img = base.convert(mode) if mode != "P" else base.quantize(colors=50)
                p = self.save(img, "d_%s.png" % mode)
                w, h, c = run_tool("decode", p, self.path("d.out"))
                got = read_u8(self.path("d.out"), w, h, c)
                want = np.asarray(img.convert("L" if c == 1 else "RGB"))
                self.assertEqual(c, 1 if mode in ("L", "LA") else 3)
                np.testing.assert_array_equal(got, want)

    def pipeline(self, img, name, channels, resize, mode, crop, size, mean, std):
        p = self.save(img, name)
        prefix = self.path(name + ".pp")
        args = ["pipeline", p, prefix, "channels=%d" % channels, "resize=%d" % resize,
                "mode=%s" % mode, "size=%d,%d" % size,
                "mean=" + ",".join(repr(float(m)) for m in mean),
                "std=" + ",".join(repr(float(s)) for s in std)]
        if crop:
            args.append("crop=%d,%d" % crop)
        w, h, c = run_tool(*args)
        pix = read_u8(prefix + ".u8", w, h, c)
        f = np.fromfile(prefix + ".f32", dtype=np.float32).reshape(c, h, w)
        return pix, f

    def torchvision_ref(self, img, channels, resize, mode, crop, mean, std):
        from torchvision import transforms as T
        steps = []
        if resize:
            steps.append(T.Resize(resize if mode == "shorter" else (resize, resize)))
        if crop:
            steps.append(T.CenterCrop(crop))
        pil = T.Compose(steps)(img.convert("L" if channels == 1 else "RGB"))
        tensor = T.Compose([T.ToTensor(), T.Normalize(mean, std)])(pil)
        return np.asarray(pil), tensor.numpy()

    def test_pipeline_matches_torchvision(self):
        imagenet = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
        cases = [
            # (w, h, source mode, channels, resize, mode, crop, size, mean/std)
            (300, 200, "RGB", 3, 256, "shorter", (224, 224), (224, 224), imagenet),
            (199, 257, "RGB", 3, 256, "shorter", (224, 224), (224, 224), imagenet),
            (256, 256, "RGB", 3, 256, "shorter", (224, 224), (224, 224), imagenet),
            (120, 90, "L", 3, 256, "shorter", (224, 224), (224, 224), imagenet),
            (333, 101, "RGB", 3, 64, "exact", (57, 61), (57, 61), imagenet),
            (41, 37, "RGB", 1, 28, "exact", None, (28, 28), ([0.2860], [0.3530])),
            (28, 28, "L", 1, 0, "shorter", None, (28, 28), ([0.2860], [0.3530])),
            (20, 15, "RGB", 3, 0, "shorter", (18, 24), (18, 24), ([0.5] * 3, [0.5] * 3)),
            (35, 29, "RGBA", 1, 17, "shorter", (16, 15), (16, 15), ([0.1], [0.7])),
        ]
        for i, (w, h, src, ch, resize, mode, crop, size, (mean, std)) in enumerate(cases):
            with self.subTest(case=i, size=(w, h), channels=ch, resize=resize, crop=crop):
                img = self.random_image(w, h, src, smooth=True)
                pix, f = self.pipeline(img, "p%d.png" % i, ch, resize, mode, crop, size, mean, std)
                ref_pix, ref_f = self.torchvision_ref(img, ch, resize, mode, crop, mean, std)
                np.testing.assert_array_equal(pix.reshape(ref_pix.shape), ref_pix)
                self.assertEqual(f.shape, ref_f.shape)
                # Exact float32 equality, bit for bit.
                np.testing.assert_array_equal(f.view(np.uint32), ref_f.view(np.uint32))

    def test_luma_all_gray_levels_and_random(self):
        # RGB -> L on every (v, v, v) and 4096 random colours, through the pipeline (no resize).
        rng = self.rng
        a = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
        a[0, :, :] = np.arange(64)[:, None] * 4 + 3
        img = Image.fromarray(a, "RGB")
        pix, _ = self.pipeline(img, "luma.png", 1, 0, "shorter", None, (64, 64), [0.0], [1.0])
        np.testing.assert_array_equal(pix.reshape(64, 64), np.asarray(img.convert("L")))


@unittest.skipUnless(os.path.exists(TOOL), "t2c_preprocess_tool not built")
@unittest.skipUnless(os.path.isdir(IMAGENET_DEV), "no ImageNet dev images")
class JpegDecoders(unittest.TestCase):
    """Measures (does not assert) how far stb_image's JPEG decoding is from libjpeg's."""

    def test_measure_stb_vs_libjpeg(self):
        names = sorted(n for n in os.listdir(IMAGENET_DEV) if n.lower().endswith((".jpeg", ".jpg")))
        max_diff, total, count, differing, identical = 0, 0, 0, 0, 0
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "d.out")
            for n in names:
                p = os.path.join(IMAGENET_DEV, n)
                w, h, c = run_tool("decode", p, out)
                got = read_u8(out, w, h, c).astype(np.int16)
                want = np.asarray(Image.open(p).convert("L" if c == 1 else "RGB")).astype(np.int16)
                self.assertEqual(got.shape, want.shape, n)
                d = np.abs(got - want)
                max_diff = max(max_diff, int(d.max()))
                total += int(d.sum())
                count += d.size
                differing += int((d > 0).sum())
                identical += int(d.max() == 0)
        print("\nJPEG decode, stb_image vs PIL/libjpeg, %d images: max |diff| %d, mean |diff| %.4f, "
              "%.2f%% of values differ, %d images identical"
              % (len(names), max_diff, total / count, 100.0 * differing / count, identical))

    def test_measure_imagenet_pipeline(self):
        # Resize(256) + CenterCrop(224) + Normalize, then the MobileNet-V2 int8 input
        # quantization of /work/shared/models (scale 0.018631115555763245, zero point -14).
        import torch
        from torchvision import transforms as T
        mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
        scale, zp = 0.018631115555763245, -14
        tv = T.Compose([T.Resize(256), T.CenterCrop(224)])
        names = sorted(n for n in os.listdir(IMAGENET_DEV) if n.lower().endswith((".jpeg", ".jpg")))
        pmax, psum, qmax, qdiff, n_all = 0, 0, 0, 0, 0
        with tempfile.TemporaryDirectory() as tmp:
            prefix = os.path.join(tmp, "pp")
            for n in names:
                p = os.path.join(IMAGENET_DEV, n)
                run_tool("pipeline", p, prefix, "channels=3", "resize=256", "mode=shorter",
                         "crop=224,224", "size=224,224", "mean=" + ",".join(map(repr, mean)),
                         "std=" + ",".join(map(repr, std)))
                pix = np.fromfile(prefix + ".u8", np.uint8).reshape(224, 224, 3).astype(np.int16)
                f = torch.from_numpy(np.fromfile(prefix + ".f32", np.float32).reshape(3, 224, 224))
                ref_img = tv(Image.open(p).convert("RGB"))
                ref_pix = np.asarray(ref_img).astype(np.int16)
                ref_f = T.Normalize(mean, std)(T.ToTensor()(ref_img))
                q = torch.quantize_per_tensor(f, scale, zp, torch.qint8).int_repr().numpy().astype(np.int16)
                rq = torch.quantize_per_tensor(ref_f, scale, zp, torch.qint8).int_repr().numpy().astype(np.int16)
                d = np.abs(pix - ref_pix)
                pmax, psum = max(pmax, int(d.max())), psum + int(d.sum())
                qd = np.abs(q - rq)
                qmax, qdiff = max(qmax, int(qd.max())), qdiff + int((qd > 0).sum())
                n_all += d.size
        print("\nImageNet pipeline (stb vs PIL decode, same resize/crop), %d images: pixels max |diff| "
              "%d, mean %.4f; int8 input max |diff| %d, %.2f%% of values differ"
              % (len(names), pmax, psum / n_all, qmax, 100.0 * qdiff / n_all))


if __name__ == "__main__":
    unittest.main()
