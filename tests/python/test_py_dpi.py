"""The DPI-C example (golden/dpi/) under Verilator: a dot-product + requantize RTL block, seeded
random stimulus, and a scoreboard that checks every transaction through DPI-C calls into t2c.
A deliberately wrong variant (BUG_ROUNDING=1: always floor) must be reported as mismatches.
Second flow: a t2c-gen requantize instance (stimulus, per-channel parameters through its generated
SV package, golden output file) drives golden/verilog/t2c_requant.v; tb_gen.sv checks each element
against the file and through DPI-C.
Skips when verilator or the shared library (libt2c.so) is absent."""
import os
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.environ.get('T2C_BUILD_DIR', os.path.join(ROOT, 'build'))
LIB = os.path.join(BUILD, 'libt2c.so')
VERILATOR = shutil.which('verilator')
# the simulations are short: compiling the C++ without optimisation halves the build time
FAST_CXX = 'OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0'


def svdpi_include():
    out = subprocess.run([VERILATOR, '--getenv', 'VERILATOR_ROOT'], capture_output=True, text=True)
    return os.path.join(out.stdout.strip(), 'include', 'vltstd')


@unittest.skipUnless(VERILATOR, 'verilator not installed')
@unittest.skipUnless(os.path.exists(LIB), 'libt2c.so not built')
class DpiVerilatorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='t2c_dpi_')
        cls.obj = os.path.join(cls.tmp, 't2c_dpi.o')
        subprocess.run(['cc', '-std=gnu11', '-Wall', '-Wextra', '-Werror', '-O2', '-fPIC', '-c',
                        '-I' + svdpi_include(), '-I' + os.path.join(ROOT, 'engine'),
                        '-I' + os.path.join(ROOT, 'ops'),
                        os.path.join(ROOT, 'golden', 'dpi', 't2c_dpi.c'), '-o', cls.obj], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def build(self, name, params):
        mdir = os.path.join(self.tmp, name)
        d = os.path.join(ROOT, 'golden', 'dpi')
        cmd = [VERILATOR, '--cc', '--exe', '--build', '-j', '2', '-O1', '-Wno-fatal', '-MAKEFLAGS', FAST_CXX,
               '--top-module', 'tb_dpi',
               '-Mdir', mdir] + params + [
            os.path.join(d, 't2c_dpi_pkg.sv'), os.path.join(ROOT, 'golden', 'verilog', 't2c_requant.v'),
            os.path.join(d, 't2c_dot_requant.sv'), os.path.join(d, 'tb_dpi.sv'), os.path.join(d, 'sim_main.cpp'),
            self.obj, '-LDFLAGS', '-L%s -lt2c -Wl,-rpath,%s' % (BUILD, BUILD)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        return os.path.join(mdir, 'Vtb_dpi')

    def test_scoreboard_pass_and_catch_wrong_rounding(self):
        good = self.build('good', [])
        r = subprocess.run([good, '+n=3000', '+seed=11'], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('PASS 3000 transactions checked against t2c', r.stdout)
        self.assertNotIn('MISMATCH', r.stdout)
        self.assertNotIn('ERROR', r.stdout)

        bad = self.build('bad', ['-GBUG_ROUNDING=1'])
        r = subprocess.run([bad, '+n=3000', '+seed=11'], capture_output=True, text=True, timeout=120)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn('MISMATCH', r.stdout)
        self.assertRegex(r.stdout, r'FAIL \d+ mismatches in 3000 transactions')
        # floor only differs from the other modes on the result, never on the accumulator
        for line in r.stdout.splitlines():
            if line.startswith('MISMATCH'):
                acc = line.split('acc ')[1].split(' (expected ')
                self.assertEqual(acc[0], acc[1].split(')')[0], line)

    def test_t2c_gen_stimulus(self):
        """t2c-gen requantize instance (per-channel multiplier/shift/offset, seeded) -> RTL; every
        element checked against the golden file and through DPI-C; a corrupted golden file is caught."""
        gen = os.path.join(BUILD, 'golden', 't2c-gen')
        if not os.path.exists(gen):
            self.skipTest('t2c-gen not built')
        out = os.path.join(self.tmp, 'gen')
        subprocess.run([gen, '--op', 'requantize', '--seed', '3', '--count', '1', '--rounding', 'half_even',
                        '-f', 'hex', '--sv-pkg', '--out', out], check=True, capture_output=True)
        inst = os.path.join(out, '0000_requantize')
        pkg = [f for f in os.listdir(inst) if f.endswith('_pkg.sv')]
        self.assertEqual(len(pkg), 1, os.listdir(inst))
        d = os.path.join(ROOT, 'golden', 'dpi')
        mdir = os.path.join(self.tmp, 'gen_obj')
        cmd = [VERILATOR, '--cc', '--exe', '--build', '-j', '2', '-O1', '-Wno-fatal', '-MAKEFLAGS', FAST_CXX,
               '--top-module', 'tb_gen',
               '-Mdir', mdir, '+define+T2C_PKG=' + pkg[0][:-3],
               os.path.join(d, 't2c_dpi_pkg.sv'), os.path.join(inst, pkg[0]),
               os.path.join(ROOT, 'golden', 'verilog', 't2c_requant.v'), os.path.join(d, 'tb_gen.sv'),
               os.path.join(d, 'sim_gen.cpp'), self.obj, '-LDFLAGS', '-L%s -lt2c -Wl,-rpath,%s' % (BUILD, BUILD)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        exe = os.path.join(mdir, 'Vtb_gen')
        r = subprocess.run([exe], cwd=inst, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r'PASS \d+ t2c-gen elements checked')
        # flip one golden output element: the file comparison must report it
        gold = [f for f in os.listdir(inst) if f.endswith('.output.img0.memh')][0]
        path = os.path.join(inst, gold)
        with open(path) as f:
            lines = f.read().split('\n')
        lines[7] = '%x' % ((int(lines[7], 16) + 1) % 16)
        with open(path, 'w') as f:
            f.write('\n'.join(lines))
        r = subprocess.run([exe], cwd=inst, capture_output=True, text=True, timeout=120)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn('MISMATCH element 7 ', r.stdout)
        self.assertIn('FAIL 1 mismatches', r.stdout)


if __name__ == '__main__':
    unittest.main()
