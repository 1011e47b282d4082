"""t2c-gen: seeded single-op stimulus and generated parameter packages (issue 10).

Every generated instance is decoded from its manifest alone (npy and $readmemh files) and its output
compared with the independent Python reference (formats/python/t2c/reference.py) run on the decoded
inputs and the instance's model. Directed cases are checked for the corner values they promise.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import zlib

import numpy as np

try:
    from t2c import container as C
    from t2c import reference as R
except ImportError:  # PYTHONPATH not set: run from the source tree
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "formats", "python"))
    from t2c import container as C
    from t2c import reference as R

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("T2C_BUILD_DIR", os.path.join(ROOT, "build"))
GEN = os.path.join(BUILD, "golden", "t2c-gen")
OPS = ("conv2d", "linear", "matmul", "requantize", "add", "pool", "softmax", "layernorm", "gelu")
TMP = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
MODEL = os.path.join(ROOT, "engine", "default_model", "fmnist_resnet_int8.t2c")


def gen(*args):
    p = subprocess.run([GEN] + [str(a) for a in args], capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def decode_hex(e, text):
    """$readmemh words -> element values (manifest keys only)."""
    b, n = e["bits"], e["elems_per_word"]
    vals = []
    for line in text.split():
        if line.startswith("@"):
            continue
        word = int(line, 16)
        for k in range(n):
            sh = (n - 1 - k) * b if e["word_order"] == "msb_first" else k * b
            v = (word >> sh) & ((1 << b) - 1)
            vals.append(v - (1 << b) if e["signed"] and v >> (b - 1) else v)
    return np.array(vals[:e["stored_elements"]], dtype=np.int64)


def load(d, e):
    data = open(os.path.join(d, e["path"]), "rb").read()
    assert "%08x" % zlib.crc32(data) == e["crc32"] and len(data) == e["bytes"]
    if e["format"] == "npy":
        import io
        return np.load(io.BytesIO(data)).astype(np.int64).reshape(e["shape"])
    if e["format"] == "hex":
        return decode_hex(e, data.decode()).reshape(e["shape"])  # nchw layout: stored = logical
    raise AssertionError(e["format"])


def instance(d):
    """(manifest, {role: array from npy}, {role: array from hex})."""
    m = json.load(open(os.path.join(d, "manifest.json")))
    npy, hexv = {}, {}
    for e in m["files"]:
        (npy if e["format"] == "npy" else hexv)[e["role"]] = load(d, e)
    return m, npy, hexv


class GenTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="t2c_gen_", dir=TMP)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_gen(self, name, *args):
        out = os.path.join(self.tmp, name)
        rc, so, se = gen(*args, "--out", out)
        self.assertEqual(rc, 0, se)
        return out, json.load(open(os.path.join(out, "gen.json")))

    def tree(self, d):
        files = {}
        for root, _, names in os.walk(d):
            for n in names:
                p = os.path.join(root, n)
                files[os.path.relpath(p, d)] = open(p, "rb").read()
        return files

    def test_help_version_errors(self):
        rc, so, _ = gen("--help")
        self.assertEqual(rc, 0)
        self.assertIn("--directed", so)
        rc, so, _ = gen("--version")
        self.assertEqual(rc, 0)
        self.assertTrue(so.startswith("t2c-gen "))
        for bad in (["--op", "nope", "--out", self.tmp], ["--op", "add"], ["--op", "add", "--bits", "5", "--out", self.tmp],
                    ["--op", "add", "--rounding", "banker", "--out", self.tmp],
                    ["--op", "layernorm", "--rounding", "tflite", "--out", self.tmp],
                    ["--op", "requantize", "--cout", "1:65", "--out", self.tmp],
                    ["--op", "conv2d", "--pe", "0x4", "--out", self.tmp], ["--op", "conv2d", "--acc-bits", "8", "--out", self.tmp],
                    ["--from-model", MODEL, "--op", "add", "--out", self.tmp],
                    ["--op", "conv2d", "--cin", "3:1", "--out", self.tmp], ["--op", "add", "--seed", "x", "--out", self.tmp]):
            rc, _, se = gen(*bad)
            self.assertEqual(rc, 2, bad)
            self.assertTrue(se.startswith("t2c-gen: "), se)

    def test_determinism(self):
        args = ["--op", "conv2d", "--count", "3", "--directed", "-f", "hex,npy,raw", "--sv-pkg", "--c-header"]
        a, ja = self.run_gen("det_a", *args, "--seed", "42")
        b, _ = self.run_gen("det_b", *args, "--seed", "42")
        c, _ = self.run_gen("det_c", *args, "--seed", "43")
        ta, tb, tc = self.tree(a), self.tree(b), self.tree(c)
        self.assertEqual(ta, tb)  # byte-identical, manifests and packages included
        self.assertEqual(ja["seed"], 42)
        self.assertTrue(ja["options"].startswith("--seed 42 --op conv2d"))
        man = json.loads(ta["0000_conv2d/manifest.json"])
        self.assertTrue(man["command_line"].startswith("--seed 42 "))  # the golden manifest records it too
        self.assertEqual([i["case"] for i in ja["instances"]][:6],
                         ["min_product_int8", "min_product_int4", "acc_overflow_wrap", "acc_overflow_saturate",
                          "pe_edge_plus", "pe_edge_minus"])
        _, jd = self.run_gen("det_default", "--op", "add", "--count", "1")
        self.assertEqual(jd["seed"], 1)
        self.assertTrue(jd["options"].startswith("--seed 1 "))  # the default seed is recorded
        self.assertNotEqual({k: v for k, v in ta.items() if "manifest" not in k and k != "gen.json"},
                            {k: v for k, v in tc.items() if "manifest" not in k and k != "gen.json"})
        # random instances differ from each other within one run
        self.assertNotEqual(ta["0006_conv2d/model.t2c"], ta["0007_conv2d/model.t2c"])

    def test_every_op_matches_python_reference(self):
        for op in OPS:
            with self.subTest(op=op):
                out, j = self.run_gen("ref_" + op, "--op", op, "--seed", "5", "--count", "6", "--directed",
                                      "-f", "npy,hex", "--pack", "2")
                self.assertGreater(len(j["instances"]), 6)
                for inst in j["instances"]:
                    d = os.path.join(out, inst["dir"])
                    m, npy, hexv = instance(d)
                    model = C.read(os.path.join(d, "model.t2c"))
                    feeds = {}
                    for e in m["files"]:
                        if e["format"] == "npy" and e["tensor"] in model.inputs:
                            feeds[e["tensor"]] = npy[e["role"]]
                    self.assertEqual(sorted(feeds), sorted(model.inputs))
                    ref = R.run(model, feeds)
                    want = np.asarray(ref[model.outputs[0]]).astype(np.int64)
                    self.assertTrue(np.array_equal(npy["output"], want), (op, inst))
                    self.assertTrue(np.array_equal(hexv["output"], want), (op, inst))
                    for role in npy:
                        self.assertTrue(np.array_equal(npy[role], hexv[role]), (op, inst, role))

    def directed(self, op, *extra):
        out, j = self.run_gen("dir_" + op + "_".join(extra), "--op", op, "--seed", "9", "--count", "0",
                              "--directed", "-f", "npy", *extra)
        return {inst["case"]: instance(os.path.join(out, inst["dir"])) for inst in j["instances"]}

    def test_directed_gemm(self):
        for op in ("conv2d", "linear", "matmul"):
            cases = self.directed(op, "--acc-bits", "16", "--pe", "8x4")
            x, w = ("input_a", "input_b") if op == "matmul" else ("input", "weight")
            for name, lo in (("min_product_int8", -128), ("min_product_int4", -8)):
                m, v, _ = cases[name]
                self.assertTrue((v[x] == lo).all() and (v[w] == lo).all(), (op, name))
                k = v[x].shape[-1] if op != "conv2d" else v[x].shape[1]
                self.assertTrue((v["output"] == lo * lo * k).all(), (op, name))
            # K·2^14 = 2^15: one past int16's maximum; wrap gives -2^15, saturate 2^15 - 1
            m, v, _ = cases["acc_overflow_wrap"]
            self.assertEqual(m["ops"][0]["attrs"]["acc_bits"], 16)
            self.assertEqual(m["ops"][0]["attrs"]["overflow"], "wrap")
            self.assertTrue((v["output"] == -32768).all(), op)
            m, v, _ = cases["acc_overflow_saturate"]
            self.assertTrue((v["output"] == 32767).all(), op)
            # sizes off the 8x4 PE grid: K = 17 / 15, M = 5 / 3
            for name, kk, mm in (("pe_edge_plus", 17, 5), ("pe_edge_minus", 15, 3)):
                m, v, _ = cases[name]
                if op == "conv2d":
                    self.assertEqual(v["input"].shape[1], kk)
                    self.assertEqual(v["weight"].shape[0], mm)
                    self.assertEqual(m["ops"][0]["attrs"]["strides"], [2, 2])
                elif op == "linear":
                    self.assertEqual(v["weight"].shape, (mm, kk))
                else:
                    self.assertEqual(v["input_a"].shape[1:], (mm, kk))
                self.assertNotEqual(kk % 8, 0)
                self.assertNotEqual(mm % 4, 0)

    def test_directed_requantize_ties_and_extremes(self):
        cases = self.directed("requantize", "--rounding", "half_even,half_up,floor")
        for mode in ("half_even", "half_up", "floor"):
            m, v, _ = cases["ties_every_shift_" + mode]
            a = m["ops"][0]["attrs"]
            self.assertEqual(a["shift"], list(range(63)))  # every shift 0..62, 0 and 31 included
            x, y = v["input"], v["output"]
            for s in range(1, 63):
                xs = [int(t) * a["multiplier"][s] for t in x[0, s].ravel()]  # v = x·m, offset 0
                tie = np.array([(t % (1 << s)) == (1 << (s - 1)) for t in xs])
                ties = np.array([t for t in xs if (t % (1 << s)) == (1 << (s - 1))], dtype=object)
                self.assertGreater(len(ties), 0, s)  # an exact .5 tie at every shift
                self.assertTrue((ties < 0).any(), s)
                self.assertTrue((ties > 0).any() or s == 62, s)
                q = np.array([t >> s for t in ties], dtype=np.int64)
                got = y[0, s].ravel()[tie]
                want = {"half_up": q + 1, "floor": q, "half_even": q + (q & 1)}[mode]
                self.assertTrue(np.array_equal(got, want), (mode, s))
            self.assertTrue(np.array_equal(y[0, 0], x[0, 0]))  # shift 0: identity
        m, v, _ = cases["multiplier_near_2^31_half_even"]
        self.assertIn(2147483647, m["ops"][0]["attrs"]["multiplier"])
        self.assertEqual(v["input"].min(), -2 ** 31)
        self.assertEqual(v["input"].max(), 2 ** 31 - 1)
        for name, ext in (("zero_point_min_floor", {"int8": -128, "int4": -8}),
                          ("zero_point_max_half_up", {"int8": 127, "int4": 7})):
            m, v, _ = cases[name]
            dt = [e for e in m["files"] if e["role"] == "output"][0]["dtype"]
            self.assertEqual(m["ops"][0]["attrs"]["zero_point"], ext[dt])

    def test_directed_add_pool_transformer(self):
        cases = self.directed("add", "--rounding", "half_even")
        m, v, _ = cases["ties_out_shift1_half_even"]
        s = v["input_a"] + v["input_b"]
        self.assertTrue(((s & 1) == 1).any())  # odd sums: ties at out_shift 1
        m, v, _ = cases["zero_point_extremes_half_even"]
        a = m["ops"][0]["attrs"]
        self.assertIn(a["a_zero_point"], (-128, -8))
        self.assertIn(a["b_zero_point"], (127, 7))
        cases = self.directed("pool", "--rounding", "half_up")
        m, v, _ = cases["avgpool_ties_half_up"]
        x = v["input"]
        pairs = x[..., 0::2] + x[..., 1::2]
        self.assertTrue(((pairs & 1) == 1).any())  # sums of two, odd: exact ties
        m, v, _ = cases["maxpool_pad_edge_max"]
        self.assertEqual(m["ops"][0]["attrs"]["pads"], [1, 1, 1, 1])
        self.assertEqual(v["output"].shape[2:], (4, 4))
        for op, n in (("softmax", 12), ("layernorm", 3), ("gelu", 9)):
            cases = self.directed(op)
            self.assertEqual(len(cases), n)
            for name, (m, v, _) in cases.items():
                if name.startswith("all_min"):
                    self.assertTrue((v["input"] == -128).all())
                if name.startswith("all_max"):
                    self.assertTrue((v["input"] == 127).all())

    def test_packages_compile(self):
        out, j = self.run_gen("pkg", "--op", "requantize", "--seed", "3", "--count", "2", "--directed",
                              "--rounding", "tflite", "--sv-pkg", "--c-header", "--pe", "16x8")
        d = os.path.join(out, j["instances"][0]["dir"])
        m = json.load(open(os.path.join(d, "manifest.json")))
        sv = os.path.join(d, "t2c_requantize_0000_pkg.sv")
        hdr = os.path.join(d, "t2c_requantize_0000.h")
        text = open(sv).read()
        self.assertIn("package t2c_requantize_0000_pkg;", text)
        self.assertIn("localparam longint PE_ROWS = 16;", text)
        f = [e for e in m["files"] if e["role"] == "output"][0]
        self.assertIn('OP_REQUANTIZE_OUTPUT_HEX_FILE = "%s";' % f["path"], text)
        self.assertIn("OP_REQUANTIZE_OUTPUT_HEX_CRC32 = 32'h%s;" % f["crc32"], text)
        # a testbench reads the per-channel shifts back out of the flat vector
        top = os.path.join(self.tmp, "top.sv")
        with open(top, "w") as t:
            t.write("module top; import t2c_requantize_0000_pkg::*;\n"
                    "initial begin\n"
                    "  $display(\"%0d %0d %0d %0d %s %h\", PE_ROWS, OP_REQUANTIZE_SHIFT_COUNT,\n"
                    "    $signed(OP_REQUANTIZE_SHIFT[31*OP_REQUANTIZE_SHIFT_EW +: 32]),\n"
                    "    $signed(OP_REQUANTIZE_MULTIPLIER[0 +: 32]), OP_REQUANTIZE_OUTPUT_HEX_FILE,\n"
                    "    OP_REQUANTIZE_OUTPUT_HEX_CRC32);\n"
                    "  $finish;\nend\nendmodule\n")
        iv = shutil.which("iverilog")
        if iv:
            vvp = os.path.join(self.tmp, "top.vvp")
            p = subprocess.run([iv, "-g2012", "-o", vvp, sv, top], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            p = subprocess.run(["vvp", "-n", vvp], capture_output=True, text=True)
            self.assertIn("16 63 31 1 %s %s" % (f["path"], f["crc32"]), p.stdout)
        # C: the header compiles and its values are the manifest's
        prog = os.path.join(self.tmp, "hdr.c")
        with open(prog, "w") as t:
            t.write('#include <stdio.h>\n#include "%s"\nint main(void) {\n'
                    '  printf("%%d %%d %%s %%08x\\n", (int)T2C_REQUANTIZE_0000_OP_REQUANTIZE_SHIFT_COUNT,\n'
                    '         (int)t2c_requantize_0000_op_requantize_shift[31], T2C_REQUANTIZE_0000_OP_REQUANTIZE_OUTPUT_HEX_FILE,\n'
                    '         (unsigned)T2C_REQUANTIZE_0000_OP_REQUANTIZE_OUTPUT_HEX_CRC32);\n  return 0;\n}\n' % hdr)
        exe = os.path.join(self.tmp, "hdr")
        p = subprocess.run(["cc", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-const-variable",
                            "-o", exe, prog], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = subprocess.run([exe], capture_output=True, text=True)
        self.assertEqual(p.stdout.strip(), "63 31 %s %s" % (f["path"], f["crc32"]))
        # every instance's package compiles
        if iv:
            for inst in j["instances"]:
                d = os.path.join(out, inst["dir"])
                svs = [n for n in os.listdir(d) if n.endswith("_pkg.sv")]
                self.assertEqual(len(svs), 1)
                t2 = os.path.join(self.tmp, "top2.sv")
                with open(t2, "w") as t:
                    t.write("module top; import %s::*; initial $display(N_OPS); endmodule\n" % svs[0][:-3])
                p = subprocess.run([iv, "-g2012", "-o", os.devnull, os.path.join(d, svs[0]), t2],
                                   capture_output=True, text=True)
                self.assertEqual(p.returncode, 0, p.stderr)

    @unittest.skipUnless(os.path.exists(MODEL), "no default model")
    def test_from_model(self):
        out, j = self.run_gen("model", "--from-model", MODEL, "--ops", "*conv*", "--seed", "4", "-f", "hex",
                              "--sv-pkg", "--c-header")
        m = json.load(open(os.path.join(out, "manifest.json")))
        self.assertGreater(len(m["ops"]), 1)
        import fnmatch
        self.assertTrue(all(fnmatch.fnmatch(o["name"], "*conv*") for o in m["ops"]))
        sv = os.path.join(out, "t2c_fmnist_resnet_int8_pkg.sv")
        text = open(sv).read()
        self.assertIn("localparam longint N_OPS = %d;" % len(m["ops"]), text)
        iv = shutil.which("iverilog")
        if iv:
            t2 = os.path.join(self.tmp, "top3.sv")
            with open(t2, "w") as t:
                t.write("module top; import t2c_fmnist_resnet_int8_pkg::*; initial $display(N_OPS); endmodule\n")
            p = subprocess.run([iv, "-g2012", "-o", os.devnull, sv, t2], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
        p = subprocess.run(["cc", "-std=gnu11", "-Wall", "-Werror", "-Wno-unused-const-variable", "-fsyntax-only",
                            "-include", "stdint.h", "-x", "c", os.path.join(out, "t2c_fmnist_resnet_int8.h")],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        # same seed, same bytes
        out2, _ = self.run_gen("model2", "--from-model", MODEL, "--ops", "*conv*", "--seed", "4", "-f", "hex",
                               "--sv-pkg", "--c-header")
        self.assertEqual(self.tree(out), self.tree(out2))


if __name__ == "__main__":
    unittest.main()
