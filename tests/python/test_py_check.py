"""t2c-check: hardware dumps cross-checked against the engine, with first-divergence diagnosis.

The "hardware" dumps are t2c-golden dumps of the embedded default model, then corrupted the way
real accelerators go wrong: one bit flipped in one element, a layer built with another rounding
mode / shift / zero point / accumulator width (a model copy edited with t2c.container and dumped,
so the error cascades through the later layers like a real faulty layer), wrap instead of
saturate, a transposed or NHWC-ordered file, packed words in the other element order, tiles in
the other order. Each must be detected in the right op, at the right coordinates, with the
right hypothesis named; in isolation mode the faulty layer alone is reported.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

try:
    from t2c import container as C
except ImportError:  # PYTHONPATH not set: run from the source tree
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "formats", "python"))
    from t2c import container as C

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("T2C_BUILD_DIR", os.path.join(ROOT, "build"))
GOLDEN = os.path.join(BUILD, "golden", "t2c-golden")
CHECK = os.path.join(BUILD, "golden", "t2c-check")
MODEL = os.path.join(ROOT, "engine", "default_model", "fmnist_resnet_int8.t2c")
IMAGE = os.path.join(ROOT, "engine", "default_model", "samples", "0_t-shirt-top.png")

# op indices of the default model (execution order, as t2c-golden's manifest lists them)
L1_CONV1_REQ = 5     # layer1.conv1.requant (uint8, lo 0, hi 255: relu folded in)
L1_CONV2 = 6         # layer1.conv2 (conv2d, int32 out)
L1_CONV2_REQ = 7     # layer1.conv2.requant (int8, zero_point 18)


def read_text(path):
    with open(path) as f:
        return f.read()


def write_text(path, text):
    with open(path, "w") as f:
        f.write(text)


def run(*args):
    p = subprocess.run([str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=600)
    return p.returncode, p.stdout, p.stderr


@unittest.skipUnless(os.path.exists(CHECK) and os.path.exists(GOLDEN) and os.path.exists(MODEL),
                     "t2c-check / t2c-golden not built")
class CheckTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="t2c_check_")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def dump(self, name, model=MODEL, *opts):
        out = os.path.join(self.tmp, name)
        shutil.rmtree(out, ignore_errors=True)
        rc, so, se = run(GOLDEN, "-q", model, IMAGE, "--out", out, "--roles", "act", *opts)
        self.assertEqual(rc, 0, se)
        return out

    def check(self, d, *opts, expect=1):
        rc, so, se = run(CHECK, MODEL, IMAGE, d, "--json", *opts)
        self.assertEqual(rc, expect, so + se)
        return json.loads(so)

    def edited_model(self, name, op_name, **attrs):
        m = C.read(MODEL)
        op = m.op(op_name)
        for k, v in attrs.items():
            op.attrs[k] = v(op.attrs.get(k)) if callable(v) else v
        path = os.path.join(self.tmp, name + ".t2c")
        C.write(m, path)
        return path

    @staticmethod
    def manifest(d):
        with open(os.path.join(d, "manifest.json")) as f:
            return json.load(f)

    @staticmethod
    def entry(man, op_index, role="output"):
        return next(e for e in man["files"] if e["op_index"] == op_index and e["role"] == role)

    def mismatching(self, rep, key="full"):
        return [o["index"] for o in rep["ops"] if o[key]["mismatches"]]

    # ------------------------------------------------------------ clean dumps

    def test_clean_dumps_match(self):
        for name, opts in [("hex", ()), ("raw_msb", ("-f", "raw", "--pack", "3", "--order", "msb")),
                           ("gemm_tiled_zstd", ("-f", "coe", "-l", "gemm", "--tile", "4x8", "--pack", "4", "-z")),
                           ("nhwc_mif", ("-f", "mif", "-l", "nhwc", "--word-bits", "32")),
                           ("npy_dec", ("-f", "npy", "--tile", "3x5", "--tile-order", "col"))]:
            with self.subTest(name):
                d = self.dump("clean_" + name, MODEL, *opts)
                rep = self.check(d, "--isolate", expect=0)
                self.assertEqual(rep["checked"], 25)
                self.assertEqual(rep["mismatching"], 0)
                self.assertIsNone(rep["first_divergent"])
                self.assertEqual(rep["isolation_mismatching"], 0)
        rc, so, se = run(CHECK, MODEL, IMAGE, os.path.join(self.tmp, "clean_hex"))
        self.assertEqual(rc, 0)
        self.assertIn("all 25 checked op outputs match bit for bit", so)

    # ------------------------------------------------------------ one bit flip

    def test_bit_flip(self):
        d = self.dump("flip")
        e = self.entry(self.manifest(d), L1_CONV1_REQ)
        path = os.path.join(d, e["path"])
        lines = read_text(path).split("\n")
        k = 37 * 7 + 3
        old = int(lines[k], 16)
        lines[k] = "%02x" % (old ^ 0x10)
        write_text(path, "\n".join(lines))
        rep = self.check(d, "--isolate")
        self.assertEqual(rep["first_divergent_index"], L1_CONV1_REQ)
        self.assertEqual(self.mismatching(rep), [L1_CONV1_REQ])
        o = rep["ops"][L1_CONV1_REQ]
        self.assertEqual(o["full"]["mismatches"], 1)
        self.assertEqual(o["full"]["max_abs_diff"], 16)
        self.assertEqual((o["full"]["off_by_one"], o["full"]["larger"]), (0, 1))
        m = o["full"]["first"][0]
        self.assertEqual(m["coord"], list(np.unravel_index(k, e["shape"])))
        self.assertEqual((m["expected"], m["actual"]), (old, old ^ 0x10))  # uint8: hex is the value
        self.assertIsNone(o["diagnosis"])
        # isolation: the next op, fed the flipped value, now disagrees with its (clean) dump
        self.assertEqual(rep["first_divergent_isolated"], "layer1.conv1.requant")

    # ------------------------------------------------------------ faulty layers (cascading)

    def faulty_layer(self, name, op_name, op_index, hypothesis, **attrs):
        d = self.dump(name, self.edited_model(name, op_name, **attrs))
        rep = self.check(d, "--isolate")
        self.assertEqual(rep["first_divergent_index"], op_index)
        self.assertEqual(rep["ops"][op_index]["name"], op_name)
        self.assertIn(hypothesis, rep["ops"][op_index]["diagnosis"] or "")
        # isolation finds the one faulty layer; the full comparison cascades to later ones
        self.assertEqual(self.mismatching(rep, "isolated"), [op_index])
        later = [i for i in self.mismatching(rep) if i > op_index]
        for i in later:
            self.assertIn("earlier ops", rep["ops"][i]["diagnosis"])
        return rep, later

    def test_rounding_floor(self):
        rep, later = self.faulty_layer("round", "layer1.conv2.requant", L1_CONV2_REQ, 'rounding "floor"',
                                       rounding="floor")
        full = rep["ops"][L1_CONV2_REQ]["full"]
        self.assertGreater(full["mismatches"], 0)
        self.assertEqual(full["max_abs_diff"], 1)          # floor vs half_even: off by one
        self.assertEqual(full["larger"], 0)
        for m in full["first"]:
            self.assertEqual(m["expected"] - m["actual"], 1)  # floor only rounds down
        self.assertGreater(len(later), 0)

    def test_shift_off_by_one(self):
        self.faulty_layer("shift", "layer1.conv2.requant", L1_CONV2_REQ, "shift off by one (+1)",
                          shift=lambda s: C.Ints([v + 1 for v in s]))

    def test_zero_point_dropped(self):
        rep, _ = self.faulty_layer("zp", "layer1.conv2.requant", L1_CONV2_REQ, "zero_point zero point missing",
                                   zero_point=0)
        full = rep["ops"][L1_CONV2_REQ]["full"]
        for m in full["first"]:
            if -128 + 18 <= m["expected"] <= 127:          # unsaturated: exactly the zero point 18 apart
                self.assertEqual(m["expected"] - m["actual"], 18)

    def test_input_zero_point_dropped(self):
        # conv1 has x_zero_point -55: a conv that ignores it
        self.faulty_layer("xzp", "conv1", 0, "x_zero_point zero point missing", x_zero_point=0)

    def test_narrow_accumulator(self):
        self.faulty_layer("acc", "layer1.conv2", L1_CONV2, "narrower accumulator: 16 bits with wrap",
                          acc_bits=16, overflow="wrap")

    def test_wrap_instead_of_saturate(self):
        # layer1.conv1.requant (uint8, lo 0, hi 255) computed here from its dumped int32 input with
        # the ops/README.md recipe, half_even, then reduced mod 256 instead of clamped
        d = self.dump("wrap")
        man = self.manifest(d)
        op = next(o for o in man["ops"] if o["index"] == L1_CONV1_REQ)
        acc_e = self.entry(man, L1_CONV1_REQ - 1)
        acc = np.array([int(x, 16) for x in read_text(os.path.join(d, acc_e["path"])).split()], dtype=np.int64)
        acc = np.where(acc >= 1 << 31, acc - (1 << 32), acc).reshape(acc_e["shape"])
        m = np.array(op["attrs"]["multiplier"], dtype=np.int64).reshape(1, -1, 1, 1)
        sh = np.array(op["attrs"]["shift"], dtype=np.int64).reshape(1, -1, 1, 1)
        p = acc * m
        q = p >> sh                                         # floor
        r = p - (q << sh)
        half = np.int64(1) << (sh - 1)
        q = q + ((r > half) | ((r == half) & (q & 1 == 1)))
        v = q + op["attrs"]["zero_point"]
        out_e = self.entry(man, L1_CONV1_REQ)
        path = os.path.join(d, out_e["path"])
        clean = np.array([int(x, 16) for x in read_text(path).split()], dtype=np.int64)
        np.testing.assert_array_equal(np.clip(v, 0, 255).ravel(), clean)   # the recipe is right
        wrapped = (v & 255).ravel()
        self.assertGreater(int((wrapped != clean).sum()), 0)
        write_text(path, "".join("%02x\n" % x for x in wrapped))
        rep = self.check(d)
        self.assertEqual(self.mismatching(rep), [L1_CONV1_REQ])
        o = rep["ops"][L1_CONV1_REQ]
        self.assertEqual(o["full"]["mismatches"], int((wrapped != clean).sum()))
        self.assertIn("wrap instead of saturate", o["diagnosis"])
        for mm in o["full"]["first"]:
            self.assertIn(mm["expected"], (0, 255))         # only saturated elements can differ
            self.assertEqual(mm["actual"], wrapped[mm["index"]])

    # ------------------------------------------------------------ files in another arrangement

    def rewrite_hex(self, d, op_index, fn):
        e = self.entry(self.manifest(d), op_index)
        path = os.path.join(d, e["path"])
        vals = np.array([int(x, 16) for x in read_text(path).split()], dtype=np.int64)
        vals = fn(vals.reshape(e["shape"])).ravel()
        write_text(path, "".join("%02x\n" % v for v in vals))
        return e

    def test_transposed_layout(self):
        d = self.dump("transposed")
        self.rewrite_hex(d, L1_CONV1_REQ, lambda x: x.transpose(0, 1, 3, 2))
        rep = self.check(d)
        self.assertEqual(rep["first_divergent_index"], L1_CONV1_REQ)
        self.assertEqual(self.mismatching(rep), [L1_CONV1_REQ])
        self.assertIn("transposed layout", rep["ops"][L1_CONV1_REQ]["diagnosis"])

    def test_nhwc_swapped(self):
        d = self.dump("nhwc")
        self.rewrite_hex(d, L1_CONV1_REQ, lambda x: x.transpose(0, 2, 3, 1))
        rep = self.check(d)
        self.assertEqual(self.mismatching(rep), [L1_CONV1_REQ])
        self.assertIn("NCHW/NHWC swapped", rep["ops"][L1_CONV1_REQ]["diagnosis"])

    def edit_manifest(self, d, op_index, fn):
        man = self.manifest(d)
        fn(self.entry(man, op_index))
        with open(os.path.join(d, "manifest.json"), "w") as f:
            json.dump(man, f)

    def test_reversed_packing(self):
        # hardware packed 4 elements per word MSB-first while the mapping says LSB-first
        d = self.dump("packing", MODEL, "--pack", "4", "--order", "msb")
        self.edit_manifest(d, L1_CONV1_REQ, lambda e: e.update(word_order="lsb_first"))
        rep = self.check(d)
        self.assertEqual(self.mismatching(rep), [L1_CONV1_REQ])
        o = rep["ops"][L1_CONV1_REQ]
        self.assertIn("reversed element order inside packed words", o["diagnosis"])
        # elements 0..3 of word 0 come out as 3..0: a mismatch at (0,0,0,0) unless e0 == e3
        self.assertGreater(o["full"]["mismatches"], 0)

    def test_wrong_tile_order(self):
        d = self.dump("tiles", MODEL, "--tile", "4x4")
        # the file was written with column-major tiles, the mapping keeps row-major
        d2 = self.dump("tiles_col", MODEL, "--tile", "4x4", "--tile-order", "col")
        man2 = self.manifest(d2)
        e2 = self.entry(man2, L1_CONV1_REQ)
        shutil.copy(os.path.join(d2, e2["path"]), os.path.join(d, self.entry(self.manifest(d), L1_CONV1_REQ)["path"]))
        rep = self.check(d)
        self.assertEqual(self.mismatching(rep), [L1_CONV1_REQ])
        self.assertIn("wrong tile order", rep["ops"][L1_CONV1_REQ]["diagnosis"])

    def test_small_mapping_file(self):
        # a hand-written mapping: only which file is which op's output and its encoding
        d = self.dump("mapping", MODEL, "-f", "raw", "--pack", "2")
        e = self.entry(self.manifest(d), L1_CONV2_REQ)
        small = {"files": [{k: e[k] for k in ("path", "op", "op_index", "role", "image", "dtype", "shape", "format",
                                               "word_bits", "elems_per_word", "word_order")}]}
        mpath = os.path.join(self.tmp, "mapping.json")
        write_text(mpath, json.dumps(small))
        rep = self.check(d, "--manifest", mpath, expect=0)
        self.assertEqual(rep["checked"], 1)
        self.assertEqual(rep["ops"][0]["name"], "layer1.conv2.requant")

    # ------------------------------------------------------------ table output

    def test_table_names_first_divergence(self):
        d = self.dump("table", self.edited_model("table", "layer1.conv2.requant", rounding="floor"))
        rc, so, se = run(CHECK, MODEL, IMAGE, d, "--max-report", "3")
        self.assertEqual(rc, 1)
        self.assertIn("first divergent op: 7 'layer1.conv2.requant' (requantize)", so)
        self.assertIn('diagnosis: rounding "floor" instead of "half_even"', so)
        self.assertIn("<- first divergence", so)

    # ------------------------------------------------------------ input errors: exit 2, one line

    def test_input_errors(self):
        d = self.dump("errors")
        e = self.entry(self.manifest(d), 3)
        path = os.path.join(d, e["path"])
        lines = read_text(path).split("\n")
        write_text(path, "\n".join(lines[:-5]))
        rc, so, se = run(CHECK, MODEL, IMAGE, d)
        self.assertEqual(rc, 2)
        self.assertIn("wrong size", se)
        self.assertEqual(len(se.strip().split("\n")), 1)
        os.remove(path)
        rc, so, se = run(CHECK, MODEL, IMAGE, d)
        self.assertEqual(rc, 2)
        self.assertIn("cannot open", se)
        d = self.dump("errors2")
        self.edit_manifest(d, 3, lambda e: e.update(op="no_such_op"))
        rc, so, se = run(CHECK, MODEL, IMAGE, d)
        self.assertEqual(rc, 2)
        self.assertIn("unknown op 'no_such_op'", se)
        rc, so, se = run(CHECK, MODEL, IMAGE)
        self.assertEqual(rc, 2)
        rc, so, se = run(CHECK, MODEL, IMAGE, os.path.join(self.tmp, "missing"))
        self.assertEqual(rc, 2)
        self.assertEqual(len(se.strip().split("\n")), 1)


if __name__ == "__main__":
    unittest.main()
