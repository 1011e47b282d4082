"""Python bindings (t2c.engine over libt2c.so) used the way a cocotb test uses them: coroutine
drivers push transactions into a DUT model, a monitor coroutine collects what comes out, and a
scoreboard calls the engine per transaction (one-op API) and per model (with a per-op hook),
comparing with the independent NumPy reference (t2c.reference). No cocotb needed: asyncio plays
the simulator's scheduler. Skips when libt2c.so is not built."""
import asyncio
import os
import unittest

import numpy as np

from t2c import container, reference

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.environ.get('T2C_BUILD_DIR', os.path.join(ROOT, 'build'))
if 'T2C_LIB' not in os.environ and os.path.exists(os.path.join(BUILD, 'libt2c.so')):
    os.environ['T2C_LIB'] = os.path.join(BUILD, 'libt2c.so')
try:
    from t2c import engine
    engine.library()
    HAVE_LIB = True
except OSError:
    HAVE_LIB = False

MODEL = os.path.join(ROOT, 'engine', 'default_model', 'fmnist_resnet_int8.t2c')
MODES = ['half_even', 'half_up', 'half_away', 'floor', 'tflite']


def dut_dot_requant(a, w, bias, x_zp, mult, shift, zp, mode, bug=False):
    """A 'DUT': what an RTL dot-product + requantize unit computes, written as hardware would
    (Python ints, shift-and-round), independent of both t2c implementations."""
    acc = int(bias) + sum((int(x) - x_zp) * int(y) for x, y in zip(a, w))
    if mode == 'tflite':
        left, right = max(0, 31 - shift), max(0, shift - 31)
        xx = ((acc << left) + (1 << 31)) % (1 << 32) - (1 << 31)
        p = xx * mult
        # SRDHM: nudge 2^30 or 1 - 2^30, then division truncating toward zero
        t = (p + (1 << 30)) >> 31 if p >= 0 else -((-p + (1 << 30) - 1) >> 31)
        mask = (1 << right) - 1
        v = (t >> right) + (1 if (t & mask) > (mask >> 1) + (1 if t < 0 else 0) else 0)
    else:
        prod = acc * mult
        q, r, h = prod >> shift, prod & ((1 << shift) - 1), 1 << (shift - 1)
        if bug or mode == 'floor' or r < h:
            v = q
        elif r > h:
            v = q + 1
        else:
            v = q + (q & 1 if mode == 'half_even' else 1 if mode == 'half_up' else 1 if prod >= 0 else 0)
    return acc, max(-128, min(127, v + zp))


@unittest.skipUnless(HAVE_LIB, 'libt2c.so not found (set T2C_LIB or T2C_BUILD_DIR)')
class CocotbStyleTest(unittest.TestCase):
    K, X_ZP = 16, 3

    async def _bench(self, n, seed, bug=False):
        """Driver -> DUT -> monitor -> scoreboard, all coroutines; returns the mismatch list."""
        rng = np.random.default_rng(seed)
        to_dut, from_dut = asyncio.Queue(maxsize=4), asyncio.Queue()
        expected = []
        linear = engine.OpCall('linear', {'x_zero_point': self.X_ZP},
                               inputs=[('int8', (1, self.K)), ('int8', (1, self.K)), ('int32', (1,))])
        requant = {}   # (mult, shift, zp, mode) -> OpCall: configure once, call per transaction

        async def driver():
            for _ in range(n):
                tx = dict(a=rng.integers(-128, 128, self.K), w=rng.integers(-128, 128, self.K),
                          bias=int(rng.integers(-65536, 65536)), mult=int(rng.integers(1 << 29, 1 << 31)),
                          shift=int(rng.integers(28, 41)), zp=int(rng.integers(-5, 6)),
                          mode=MODES[int(rng.integers(0, 5))])
                expected.append(tx)
                await to_dut.put(tx)
            await to_dut.put(None)

        async def dut():
            while (tx := await to_dut.get()) is not None:
                await asyncio.sleep(0)   # a clock edge
                await from_dut.put(dut_dot_requant(tx['a'], tx['w'], tx['bias'], self.X_ZP, tx['mult'],
                                                   tx['shift'], tx['zp'], tx['mode'], bug))
            await from_dut.put(None)

        mismatches = []

        async def scoreboard():
            i = 0
            while (got := await from_dut.get()) is not None:
                tx = expected[i]
                acc = linear(tx['a'].reshape(1, -1), tx['w'].reshape(1, -1), np.array([tx['bias']]))
                key = (tx['mult'], tx['shift'], tx['zp'], tx['mode'])
                if key not in requant:
                    requant[key] = engine.OpCall(
                        'requantize', {'multiplier': [tx['mult']], 'shift': [tx['shift']],
                                       'zero_point': tx['zp'], 'rounding': tx['mode']},
                        inputs=[('int32', (1, 1))], outputs=['int8'])
                y = requant[key](acc)
                # the independent NumPy reference must agree with the C engine
                ref_acc = reference.linear(tx['a'].reshape(1, -1).astype(np.int8),
                                           tx['w'].reshape(1, -1).astype(np.int8),
                                           np.array([tx['bias']], np.int32), x_zero_point=self.X_ZP)
                ref_y = reference.requantize(ref_acc, [tx['mult']], [tx['shift']], zero_point=tx['zp'],
                                             rounding=tx['mode'], dtype='int8')
                self.assertEqual(int(acc[0, 0]), int(ref_acc[0, 0]))
                self.assertEqual(int(y[0, 0]), int(ref_y[0, 0]))
                if got != (int(acc[0, 0]), int(y[0, 0])):
                    mismatches.append((i, got, (int(acc[0, 0]), int(y[0, 0]))))
                i += 1
            self.assertEqual(i, n)

        await asyncio.gather(driver(), dut(), scoreboard())
        return mismatches

    def test_per_transaction_scoreboard(self):
        self.assertEqual(asyncio.run(self._bench(600, seed=5)), [])

    def test_wrong_dut_is_caught(self):
        bad = asyncio.run(self._bench(600, seed=5, bug=True))
        self.assertGreater(len(bad), 10)
        self.assertTrue(all(got[0] == exp[0] and got[1] != exp[1] for _, got, exp in bad))

    def test_hand_worked_requantize(self):
        # x * 2^30 / 2^31 = x / 2, ties: 3/2 = 1.5 -> 2 (half_even), -5/2 = -2.5 -> -2; then zp -3
        rq = engine.OpCall('requantize', {'multiplier': [1 << 30], 'shift': [31], 'zero_point': -3,
                                          'rounding': 'half_even'},
                           inputs=[('int32', (1, 6))], outputs=['int8'])
        x = np.array([[1, 2, 3, -5, 1000, -1000]], np.int32)
        self.assertEqual(rq(x).tolist(), [[-3, -2, -1, -5, 127, -128]])
        up = engine.OpCall('requantize', 'multiplier=[1073741824];shift=[31];rounding=half_up',
                           inputs=[('int32', (1, 2))], outputs=['int8'])
        self.assertEqual(up(np.array([[-5, 3]])).tolist(), [[-2, 2]])

    def test_params_once_and_errors(self):
        # int4 weights stored once; x - zp with x_zp = 1: ((2-1)*7 + (0-1)*(-8)) + 5 = 20
        lin = engine.OpCall('linear', {'x_zero_point': 1}, inputs=[('int8', (1, 2)), ('int4', (1, 2)),
                                                                   ('int32', (1,))],
                            params={1: np.array([[7, -8]]), 2: np.array([5])})
        self.assertEqual(lin(np.array([[2, 0]])).tolist(), [[20]])
        with self.assertRaises(engine.T2CError):
            lin.set_param(1, np.array([[8, 0]]))        # outside int4
        with self.assertRaises(engine.T2CError) as cm:
            engine.OpCall('requantize', {'multiplier': [1], 'shift': [63]},
                          inputs=[('int32', (1, 1))], outputs=['int8'])
        self.assertIn('shift', str(cm.exception))
        with self.assertRaises(engine.T2CError):
            engine.OpCall('no_such_op', inputs=[('int8', (1,))])

    def test_conv2d_per_call(self):
        # hand-worked: 3x3 input 1..9, 2x2 ones kernel, x_zero_point 1, bias 10
        conv = engine.OpCall('conv2d', {'x_zero_point': 1},
                             inputs=[('int8', (1, 1, 3, 3)), ('int8', (1, 1, 2, 2)), ('int32', (1,))],
                             params={1: np.ones((1, 1, 2, 2), np.int8), 2: np.array([10])})
        x = np.arange(1, 10).reshape(1, 1, 3, 3)
        self.assertEqual(conv(x).tolist(), [[[[10 + 8, 10 + 12], [10 + 20, 10 + 24]]]])
        # random grouped, strided, padded int4 conv against the NumPy reference, per transaction
        rng = np.random.default_rng(3)
        w = rng.integers(-8, 8, (6, 2, 3, 3)).astype(np.int8)
        b = rng.integers(-1000, 1000, 6).astype(np.int32)
        attrs = {'strides': [2, 1], 'pads': [1, 0, 2, 1], 'group': 2, 'x_zero_point': -2, 'w_zero_point': 1,
                 'acc_bits': 16, 'overflow': 'saturate'}
        conv = engine.OpCall('conv2d', attrs, inputs=[('int8', (1, 4, 7, 5)), ('int4', w.shape), ('int32', (6,))],
                             params={1: w, 2: b})
        for _ in range(20):
            x = rng.integers(-128, 128, (1, 4, 7, 5)).astype(np.int8)
            ref = reference.conv2d(x, w, b, strides=(2, 1), pads=(1, 0, 2, 1), group=2, x_zero_point=-2,
                                   w_zero_point=1, acc_bits=16, overflow='saturate')
            np.testing.assert_array_equal(conv(x), ref)

    @unittest.skipUnless(os.path.exists(MODEL), 'default model missing')
    def test_per_model_with_hook(self):
        m = container.read(MODEL)
        eng = engine.Engine.load(MODEL)
        name, dtype, shape = eng.inputs[0]
        rng = np.random.default_rng(1)

        async def run_model(batch):
            x = rng.integers(-128, 128, (batch,) + tuple(shape[1:])).astype(np.int8)
            await asyncio.sleep(0)
            outs, trace = eng.run_trace(x)
            ref = reference.run(m, {name: x})
            for op in m.ops:
                self.assertIn(op.name, trace)
                np.testing.assert_array_equal(trace[op.name][0], ref[op.outputs[0]], err_msg=op.name)
            np.testing.assert_array_equal(outs[0], ref[m.outputs[0]])
            return outs[0]

        async def main():
            return await asyncio.gather(run_model(1), run_model(3))

        a, b = asyncio.run(main())
        self.assertEqual(a.shape, (1, 10))
        self.assertEqual(b.shape, (3, 10))
        # a hook can stop the run; its exception reaches the caller
        with self.assertRaises(ZeroDivisionError):
            eng.run(np.zeros((1,) + tuple(shape[1:]), np.int8), hook=lambda *a: 1 // 0)
        # filtered hook: only conv2d ops
        seen = []
        eng.run(np.zeros((1,) + tuple(shape[1:]), np.int8), op_type='conv2d',
                hook=lambda n, t, o: seen.append(t))
        self.assertTrue(seen and set(seen) == {'conv2d'})
        eng.close()


if __name__ == '__main__':
    unittest.main()
