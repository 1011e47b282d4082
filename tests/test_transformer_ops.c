/* test_transformer_ops.c — hand-worked values for the transformer ops (ops/README.md "Transformer ops"):
 * the integer square root, the I-BERT and Shiftmax exp constants, softmax rows worked out by hand for
 * every method (incl. TFLite's single-element and equal rows), layernorm with ties and negative gamma,
 * the GELU gates and a full GELU, transpose/slice/gather/expand/broadcast_add/mul, and prepare()
 * rejections. Every expected value is computed in the comment next to it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "broadcast_add.h"
#include "expand.h"
#include "gather.h"
#include "gelu.h"
#include "layernorm.h"
#include "mul.h"
#include "slice.h"
#include "softmax.h"
#include "transpose.h"

#define NA(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define A_INT(nm, val) {.name = nm, .type = T2C_ATTR_INT, .count = 1, .v = {.i = (val)}}
#define A_STR(nm, val) {.name = nm, .type = T2C_ATTR_STRING, .count = sizeof(val) - 1, .v = {.s = val}}
#define A_INTS(nm, arr) {.name = nm, .type = T2C_ATTR_INTS, .count = NA(arr), .v = {.ints = arr}}

static t2c_tensor mk(t2c_dtype dt, void *data, int rank, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    t2c_tensor t = {.name = "t", .dtype = dt, .rank = rank, .dims = {d0, d1, d2, d3}, .data = data};
    return t;
}

/* prepare + run through the op definition, as the executor does */
static t2c_status run_op(const t2c_op_def *def, t2c_tensor **ins, int n_in, t2c_tensor *y, const t2c_attr *attrs,
                         int n_attrs, t2c_error *err)
{
    static uint8_t params[512];
    memset(params, 0, sizeof params);
    t2c_node node = {.type = def->type, .name = "op", .n_inputs = n_in, .inputs = ins, .n_outputs = 1,
                     .outputs = &y, .n_attrs = n_attrs, .attrs = attrs, .params = params};
    t2c_status st = def->prepare(&node, err);
    if (st != T2C_OK)
        return st;
    return def->run(&node, NULL, err);
}

static void test_isqrt(void **state)
{
    (void)state;
    assert_true(t2c_isqrt64(0) == 0);
    assert_true(t2c_isqrt64(1) == 1);
    assert_true(t2c_isqrt64(3) == 1);
    assert_true(t2c_isqrt64(4) == 2);
    assert_true(t2c_isqrt64(15) == 3);
    assert_true(t2c_isqrt64(16) == 4);
    assert_true(t2c_isqrt64((uint64_t)1 << 62) == (uint64_t)1 << 31);
    /* (2^32-1)^2 and one below it */
    assert_true(t2c_isqrt64(0xFFFFFFFE00000001ull) == 0xFFFFFFFFull);
    assert_true(t2c_isqrt64(0xFFFFFFFE00000000ull) == 0xFFFFFFFEull);
    assert_true(t2c_isqrt64(UINT64_MAX) == 0xFFFFFFFFull);
}

static void test_exp_constants(void **state)
{
    (void)state;
    /* ibert: t = 0 -> 22168^2 + 257578234 = 491420224 + 257578234 */
    assert_int_equal(t2c_softmax_exp_ibert(0), 748998458);
    /* t = -1: z = 0, p = -1: 22167^2 + C = 491375889 + 257578234 */
    assert_int_equal(t2c_softmax_exp_ibert(-1), 748954123);
    /* t = -11357 (one ln 2): z = 1, p = 0: 748998458 >> 1 */
    assert_int_equal(t2c_softmax_exp_ibert(-11357), 374499229);
    /* t = -11358: z = 1, p = -1: 748954123 >> 1 = 374477061 (floor) */
    assert_int_equal(t2c_softmax_exp_ibert(-11358), 374477061);
    /* 30 octaves down: 748998458 >> 30 = 0 */
    assert_int_equal(t2c_softmax_exp_ibert(-30 * 11357), 0);
    /* shift: t = 0 -> 2^14·2^15 */
    assert_int_equal(t2c_softmax_exp_shift(0), 1 << 29);
    /* t = -1: u = -1 + (-1) - (-1) = -1; q = 0, r = -1; (16384 + (-1 >> 1))·2^15 = 16383·32768 */
    assert_int_equal(t2c_softmax_exp_shift(-1), 16383 * 32768);
    /* t = -16384: u = -16384 - 8192 + 1024 = -23552; q = 1, r = -7168; (16384 - 3584)·2^14 */
    assert_int_equal(t2c_softmax_exp_shift(-16384), 12800 * 16384);
    /* far below: u clamps at -15·2^14: q = 15, r = 0: 16384·2^0 */
    assert_int_equal(t2c_softmax_exp_shift(-(1 << 20)), 16384);
    /* tflite exp(0) = 2^31 - 1; recip(0) = 1/(1+0) saturates to 2^31 - 1 */
    assert_int_equal(t2c_tflite_exp_on_negative_values(0), INT32_MAX);
}

static void softmax_row(const char *method, int8_t *xd, int n, t2c_dtype out_dt, void *yd, int64_t mult, int64_t shift,
                        const t2c_tensor *table, int lut_shift)
{
    t2c_tensor x = mk(T2C_INT8, xd, 2, 1, n, 0, 0), y = {.dtype = out_dt, .data = yd};
    t2c_tensor *ins[2] = {&x, (t2c_tensor *)table};
    const t2c_attr attrs[] = {{.name = "method", .type = T2C_ATTR_STRING, .count = (int64_t)strlen(method),
                               .v = {.s = method}},
                              A_INT("x_multiplier", mult), A_INT("x_shift", shift), A_INT("lut_shift", lut_shift)};
    t2c_error err = {0};
    assert_int_equal(run_op(&t2c_op_softmax, ins, table ? 2 : 1, &y, attrs, NA(attrs), &err), T2C_OK);
}

static void test_softmax_rows(void **state)
{
    (void)state;
    uint8_t y[4];
    int8_t yi[4];
    /* scale 0.5 (2^30·2^-31), row [0, -2]: d = [0, -2], t = [0, -2·2^30 >> 17 = -16384] (-1.0 in Q14).
     * ibert: e0 = 748998458; e1: z = 1, p = -5027, (17141^2 + 257578234) >> 1 = 275696057;
     * Σ = 1024694515; y0 = round(748998458·256/Σ) = 187 (187.12), y1 = round(70578190592/Σ) = 69 (68.88) */
    int8_t r1[2] = {0, -2};
    softmax_row("ibert", r1, 2, T2C_UINT8, y, (int64_t)1 << 30, 31, NULL, 0);
    assert_int_equal(y[0], 187), assert_int_equal(y[1], 69);
    /* shift: e0 = 2^29, e1 = 12800·2^14 = 209715200, Σ = 746586112:
     * 2^29·256 / Σ = 184.09 -> 184; 209715200·256 / Σ = 71.91 -> 72 */
    softmax_row("shift", r1, 2, T2C_UINT8, y, (int64_t)1 << 30, 31, NULL, 0);
    assert_int_equal(y[0], 184), assert_int_equal(y[1], 72);
    /* int8 output: zero point -128 by default: 187 - 128 = 59, 69 - 128 = -59 */
    softmax_row("ibert", r1, 2, T2C_INT8, yi, (int64_t)1 << 30, 31, NULL, 0);
    assert_int_equal(yi[0], 59), assert_int_equal(yi[1], -59);
    /* equal values: each gets exactly 256/4 = 64, for every method */
    int8_t r2[4] = {-7, -7, -7, -7};
    softmax_row("ibert", r2, 4, T2C_UINT8, y, 1234567, 40, NULL, 0);
    assert_int_equal(y[0], 64), assert_int_equal(y[3], 64);
    softmax_row("shift", r2, 4, T2C_UINT8, y, 1234567, 40, NULL, 0);
    assert_int_equal(y[1], 64), assert_int_equal(y[2], 64);
    /* a far smaller value: t1 = -255·2^30 >> 17 = -2088960 -> z = 183, e1 = 0; y0 = 256 clamps to 255 */
    int8_t r3[2] = {127, -128};
    softmax_row("ibert", r3, 2, T2C_UINT8, y, (int64_t)1 << 30, 31, NULL, 0);
    assert_int_equal(y[0], 255), assert_int_equal(y[1], 0);
    /* lut with table {8, 2, 1}, lut_shift 14 (step 1.0): row [0, -2, -20] at scale 0.5 -> t = [0, -1, -10]
     * in units of 1.0 -> i = [0, 1, 2 (clamped)] -> e = [8, 2, 1], Σ = 11:
     * y = round(8·256/11 = 186.18) = 186, round(46.55) = 47, round(23.27) = 23 */
    int32_t tb[3] = {8, 2, 1};
    t2c_tensor table = mk(T2C_INT32, tb, 1, 3, 0, 0, 0);
    int8_t r4[3] = {0, -2, -20};
    softmax_row("lut", r4, 3, T2C_UINT8, y, (int64_t)1 << 30, 31, &table, 14);
    assert_int_equal(y[0], 186), assert_int_equal(y[1], 47), assert_int_equal(y[2], 23);
    /* table {1, 2} (a rising table is legal): e = [1, 2], Σ = 3: 256/3 = 85.33 -> 85, 512/3 = 170.67 -> 171 */
    int32_t tb2[2] = {1, 2};
    t2c_tensor table2 = mk(T2C_INT32, tb2, 1, 2, 0, 0, 0);
    int8_t r5[2] = {0, -2}; /* t = [0, -1.0]: i = [0, 1] */
    softmax_row("lut", r5, 2, T2C_UINT8, y, (int64_t)1 << 30, 31, &table2, 14);
    assert_int_equal(y[0], 85), assert_int_equal(y[1], 171);
    /* tflite: one element: E = 2^31-1, Σ = RDBPOT(2^31-1, 12) = 2^19, clz = 12, nbou = 0, v = 0, recip ≈ 1.0;
     * out = RDBPOT(≈2^31, 23) = 256 -> int8: 256 - 128 = 128 clamps to 127; uint8: 256 clamps to 255 */
    int8_t r6[1] = {42};
    softmax_row("tflite", r6, 1, T2C_INT8, yi, 1717986918, 33, NULL, 0);
    assert_int_equal(yi[0], 127);
    softmax_row("tflite", r6, 1, T2C_UINT8, y, 1717986918, 33, NULL, 0);
    assert_int_equal(y[0], 255);
    /* tflite, two equal values: Σ = 2^20, h = 11, nbou = 1, v = 0, out = RDBPOT(≈2^31, 24) = 128
     * -> uint8 128, int8 0 */
    int8_t r7[2] = {-3, -3};
    softmax_row("tflite", r7, 2, T2C_UINT8, y, 1717986918, 33, NULL, 0);
    assert_int_equal(y[0], 128), assert_int_equal(y[1], 128);
    softmax_row("tflite", r7, 2, T2C_INT8, yi, 1717986918, 33, NULL, 0);
    assert_int_equal(yi[0], 0), assert_int_equal(yi[1], 0);
    /* tflite diff_min: x_shift 33 -> input_left_shift 24, diff_min = -(31·2^26 >> 24) = -124;
     * row [100, -24] has d = -124 (kept), [100, -25] d = -125 (dropped -> output min) */
    int8_t r8[2] = {100, -25};
    softmax_row("tflite", r8, 2, T2C_INT8, yi, 1717986918, 33, NULL, 0);
    assert_int_equal(yi[1], -128);
    assert_int_equal(yi[0], 127);
}

static void test_softmax_rejects(void **state)
{
    (void)state;
    int8_t xd[600] = {0};
    uint8_t yd[600];
    t2c_tensor x = mk(T2C_INT8, xd, 2, 1, 600, 0, 0), y = {.dtype = T2C_UINT8, .data = yd};
    t2c_tensor *ins[2] = {&x, NULL};
    t2c_error err = {0};
    const t2c_attr tfl[] = {A_STR("method", "tflite"), A_INT("x_multiplier", 1 << 30), A_INT("x_shift", 33)};
    /* rows longer than 511 for an 8-bit output */
    assert_int_equal(run_op(&t2c_op_softmax, ins, 1, &y, tfl, NA(tfl), &err), T2C_ERR_SHAPE);
    x.dims[1] = 8;
    const t2c_attr lowshift[] = {A_STR("method", "ibert"), A_INT("x_multiplier", 1 << 30), A_INT("x_shift", 13)};
    assert_int_equal(run_op(&t2c_op_softmax, ins, 1, &y, lowshift, NA(lowshift), &err), T2C_ERR_ATTR);
    const t2c_attr lut[] = {A_STR("method", "lut"), A_INT("x_multiplier", 1 << 30), A_INT("x_shift", 31)};
    assert_int_equal(run_op(&t2c_op_softmax, ins, 1, &y, lut, NA(lut), &err), T2C_ERR_INVALID_ARG);
    int32_t bad[2] = {1, (1 << 30) + 1};
    t2c_tensor table = mk(T2C_INT32, bad, 1, 2, 0, 0, 0);
    ins[1] = &table;
    assert_int_equal(run_op(&t2c_op_softmax, ins, 2, &y, lut, NA(lut), &err), T2C_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "table[1]"));
    t2c_tensor y32 = {.dtype = T2C_INT32, .data = yd};
    assert_int_equal(run_op(&t2c_op_softmax, ins, 1, &y32, lowshift, NA(lowshift), &err), T2C_ERR_DTYPE);
}

static void test_layernorm(void **state)
{
    (void)state;
    /* row [1, 2, 3, 4]: Σ = 10, μ = round_div(10, 4, half_even) = 2 (2.5 -> even); d = [-1, 0, 1, 2];
     * V = 1 + 0 + 1 + 4 = 6; σ = isqrt(6) = 2; f = 2^31 / 2 = 2^30; n = d·2^30 >> 1 = d·2^29.
     * gamma [100, 100, -100, 3], beta [0, 5·2^30, 0, 2^29], out_shift 30, zero point 7:
     * a = [-100·2^29, 5·2^30, -100·2^29, 3·2^30 + 2^29] -> /2^30 = [-50, 5, -50, 3.5 -> 4 (even)]
     * -> y = [-43, 12, -43, 11] */
    int8_t xd[4] = {1, 2, 3, 4}, yd[4];
    int16_t gd[4] = {100, 100, -100, 3};
    int64_t bd[4] = {0, (int64_t)5 << 30, 0, (int64_t)1 << 29};
    t2c_tensor x = mk(T2C_INT8, xd, 2, 1, 4, 0, 0), g = mk(T2C_INT16, gd, 1, 4, 0, 0, 0),
               b = mk(T2C_INT64, bd, 1, 4, 0, 0, 0), y = {.dtype = T2C_INT8, .data = yd};
    t2c_tensor *ins[3] = {&x, &g, &b};
    const t2c_attr attrs[] = {A_INT("out_shift", 30), A_INT("out_zero_point", 7)};
    t2c_error err = {0};
    assert_int_equal(run_op(&t2c_op_layernorm, ins, 3, &y, attrs, NA(attrs), &err), T2C_OK);
    assert_int_equal(yd[0], -43), assert_int_equal(yd[1], 12), assert_int_equal(yd[2], -43),
        assert_int_equal(yd[3], 11);
    /* floor rounding: 3.5 -> 3 -> 10; half_away: 4 -> 11 */
    const t2c_attr fl[] = {A_INT("out_shift", 30), A_INT("out_zero_point", 7), A_STR("rounding", "floor")};
    assert_int_equal(run_op(&t2c_op_layernorm, ins, 3, &y, fl, NA(fl), &err), T2C_OK);
    assert_int_equal(yd[3], 10);
    /* constant row: d = 0, V = 0, σ = 0, f = 0 -> a = beta -> [0, 5, 0, 0.5 -> 0 (even)] + 7 */
    int8_t cd[4] = {-9, -9, -9, -9};
    x.data = cd;
    assert_int_equal(run_op(&t2c_op_layernorm, ins, 3, &y, attrs, NA(attrs), &err), T2C_OK);
    assert_int_equal(yd[0], 7), assert_int_equal(yd[1], 12), assert_int_equal(yd[2], 7), assert_int_equal(yd[3], 7);
    /* eps = 10 on [1,2,3,4]: σ = isqrt(16) = 4, f = 2^29, n = d·2^28: c0 -> -100·2^28/2^30 = -25 -> -18 */
    const t2c_attr ep[] = {A_INT("out_shift", 30), A_INT("out_zero_point", 7), A_INT("eps", 10)};
    x.data = xd;
    assert_int_equal(run_op(&t2c_op_layernorm, ins, 3, &y, ep, NA(ep), &err), T2C_OK);
    assert_int_equal(yd[0], -18);
    /* saturation at both ends of int8 (no beta, out_shift 20): a = [-100·2^29, 0, -100·2^29, 3·2^30]
     * / 2^20 = [-51200, 0, -51200, 3072] -> [-128, 0, -128, 127] */
    const t2c_attr sat[] = {A_INT("out_shift", 20)};
    assert_int_equal(run_op(&t2c_op_layernorm, ins, 2, &y, sat, NA(sat), &err), T2C_OK);
    assert_int_equal(yd[0], -128), assert_int_equal(yd[1], 0), assert_int_equal(yd[2], -128),
        assert_int_equal(yd[3], 127);
    /* int32 input without shift: 4·(2^32-1)^2 >= 2^63 is rejected; shift 2 makes it legal */
    int32_t x32[4] = {0};
    t2c_tensor xb = mk(T2C_INT32, x32, 2, 1, 4, 0, 0);
    ins[0] = &xb;
    assert_int_equal(run_op(&t2c_op_layernorm, ins, 3, &y, attrs, NA(attrs), &err), T2C_ERR_ATTR);
    const t2c_attr sh[] = {A_INT("out_shift", 30), A_INT("shift", 2)};
    assert_int_equal(run_op(&t2c_op_layernorm, ins, 3, &y, sh, NA(sh), &err), T2C_OK);
}

static void test_gelu(void **state)
{
    (void)state;
    /* ibert gate: t = 0: k = -10247, k^2·9463 = 993624548167 -> /2^25 = 29612.32 -> 29612; erf = 3156;
     * φ = 32768 + 3156. t = -1: k = -10246 -> 29606.54 -> 29607, erf = 3161, φ = 32768 - 3161 */
    assert_int_equal(t2c_gelu_gate_ibert(0), 35924);
    assert_int_equal(t2c_gelu_gate_ibert(-1), 29607);
    assert_int_equal(t2c_gelu_gate_ibert(1 << 20), 65536);
    assert_int_equal(t2c_gelu_gate_ibert(-(1 << 20)), 0);
    /* sigmoid gate at 0: e = 2^27, s = 2^43 / 2^28 = 2^15, φ = 2^16 - 2^15 */
    assert_int_equal(t2c_gelu_gate_sigmoid(0), 32768);
    /* full op: int8 x, scale 2^-4 (2^30·2^-34), output scale 2^-4 (out 2^-12/2^-4 = 2^30·2^-38):
     * x = 40: t = 40·2^8 = 10240 (< 10247: k = -7, erf = 2^15), φ = 2^16, g = 10240, y = 40;
     * x = 8: t = 2048, k = -8199 -> 18958, erf = 13810, φ = 46578, g = 1455.58 -> 1456, y = 5.69 -> 6;
     * x = -40: φ = 0 -> 0; x = 0 -> 0 */
    int8_t xd[4] = {40, 8, -40, 0}, yd[4];
    t2c_tensor x = mk(T2C_INT8, xd, 2, 1, 4, 0, 0), y = {.dtype = T2C_INT8, .data = yd};
    t2c_tensor *ins[2] = {&x, NULL};
    const t2c_attr attrs[] = {A_INT("x_multiplier", 1 << 30), A_INT("x_shift", 34),
                              A_INT("out_multiplier", 1 << 30), A_INT("out_shift", 38)};
    t2c_error err = {0};
    assert_int_equal(run_op(&t2c_op_gelu, ins, 1, &y, attrs, NA(attrs), &err), T2C_OK);
    assert_int_equal(yd[0], 40), assert_int_equal(yd[1], 6), assert_int_equal(yd[2], 0), assert_int_equal(yd[3], 0);
    /* lut: table {0, 32768, 65536}, offset 1, lut_shift 12 (step 1.0): x = 40 (2.5) -> i = 1 + 3 -> clamp 2:
     * φ = 2^16 -> 40; x = 8 (0.5 -> rounds half up to 1) -> i = 2 -> 8; x = -8 -> -0.5 -> 0 -> i = 1: φ = 0.5
     * -> g = -2048·0.5 = -1024 -> y = -4 */
    int32_t tb[3] = {0, 32768, 65536};
    t2c_tensor table = mk(T2C_INT32, tb, 1, 3, 0, 0, 0);
    ins[1] = &table;
    xd[2] = -8;
    const t2c_attr lut[] = {A_STR("method", "lut"), A_INT("x_multiplier", 1 << 30), A_INT("x_shift", 34),
                            A_INT("out_multiplier", 1 << 30), A_INT("out_shift", 38), A_INT("lut_shift", 12),
                            A_INT("lut_offset", 1)};
    assert_int_equal(run_op(&t2c_op_gelu, ins, 2, &y, lut, NA(lut), &err), T2C_OK);
    assert_int_equal(yd[0], 40), assert_int_equal(yd[1], 8), assert_int_equal(yd[2], -4);
    /* lut_offset outside the table is rejected */
    const t2c_attr badoff[] = {A_STR("method", "lut"), A_INT("x_multiplier", 1 << 30), A_INT("x_shift", 34),
                               A_INT("out_multiplier", 1 << 30), A_INT("out_shift", 38), A_INT("lut_offset", 3)};
    assert_int_equal(run_op(&t2c_op_gelu, ins, 2, &y, badoff, NA(badoff), &err), T2C_ERR_ATTR);
}

static void test_data_movement(void **state)
{
    (void)state;
    /* transpose [1, 2, 3] -> perm [0, 2, 1] -> [1, 3, 2]: [[1,2,3],[4,5,6]] -> [[1,4],[2,5],[3,6]] */
    int16_t xd[6] = {1, 2, 3, 4, 5, 6}, yd[6];
    t2c_tensor x = mk(T2C_INT16, xd, 3, 1, 2, 3, 0), y = {.dtype = T2C_INT16, .data = yd};
    t2c_tensor *ins[2] = {&x, NULL};
    static const int64_t perm[] = {0, 2, 1};
    const t2c_attr tr[] = {A_INTS("perm", perm)};
    t2c_error err = {0};
    assert_int_equal(run_op(&t2c_op_transpose, ins, 1, &y, tr, NA(tr), &err), T2C_OK);
    assert_int_equal(y.dims[1], 3), assert_int_equal(y.dims[2], 2);
    const int16_t want_t[6] = {1, 4, 2, 5, 3, 6};
    assert_memory_equal(yd, want_t, sizeof want_t);
    static const int64_t badperm[] = {1, 0, 2};
    const t2c_attr trb[] = {A_INTS("perm", badperm)};
    assert_int_equal(run_op(&t2c_op_transpose, ins, 1, &y, trb, NA(trb), &err), T2C_ERR_ATTR);
    /* slice axis 2, start 2 end 3 -> [[3],[6]]; axis -1 start 0 step 2 -> [[1,3],[4,6]] */
    const t2c_attr sl[] = {A_INT("axis", 2), A_INT("start", 2), A_INT("end", 3)};
    assert_int_equal(run_op(&t2c_op_slice, ins, 1, &y, sl, NA(sl), &err), T2C_OK);
    assert_int_equal(y.dims[2], 1), assert_int_equal(yd[0], 3), assert_int_equal(yd[1], 6);
    const t2c_attr sl2[] = {A_INT("axis", -1), A_INT("start", 0), A_INT("step", 2)};
    assert_int_equal(run_op(&t2c_op_slice, ins, 1, &y, sl2, NA(sl2), &err), T2C_OK);
    const int16_t want_s[4] = {1, 3, 4, 6};
    assert_memory_equal(yd, want_s, sizeof want_s);
    const t2c_attr slb[] = {A_INT("axis", 0), A_INT("start", 0)};
    assert_int_equal(run_op(&t2c_op_slice, ins, 1, &y, slb, NA(slb), &err), T2C_ERR_ATTR);
    /* gather axis 2, indices [2, -3, 2] -> [[3,1,3],[6,4,6]]; index 3 fails naming position 1 */
    int32_t idx[3] = {2, -3, 2};
    t2c_tensor ind = mk(T2C_INT32, idx, 1, 3, 0, 0, 0);
    ins[1] = &ind;
    const t2c_attr ga[] = {A_INT("axis", 2)};
    assert_int_equal(run_op(&t2c_op_gather, ins, 2, &y, ga, NA(ga), &err), T2C_OK);
    const int16_t want_g[6] = {3, 1, 3, 6, 4, 6};
    assert_memory_equal(yd, want_g, sizeof want_g);
    idx[1] = 3;
    assert_int_equal(run_op(&t2c_op_gather, ins, 2, &y, ga, NA(ga), &err), T2C_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "position 1"));
    /* expand [1, 1, 2] with like [3, ...] and shape [2, -1] -> [3, 2, 2] all copies of (7, -8) */
    int8_t cd[2] = {7, -8}, ed[12], likebuf[3];
    t2c_tensor c = mk(T2C_INT8, cd, 3, 1, 1, 2, 0), like = mk(T2C_INT8, likebuf, 2, 3, 1, 0, 0),
               e = {.dtype = T2C_INT8, .data = ed};
    t2c_tensor *eins[2] = {&c, &like};
    static const int64_t shp[] = {2, -1};
    const t2c_attr ex[] = {A_INTS("shape", shp)};
    assert_int_equal(run_op(&t2c_op_expand, eins, 2, &e, ex, NA(ex), &err), T2C_OK);
    assert_int_equal(e.dims[0], 3), assert_int_equal(e.dims[1], 2), assert_int_equal(e.dims[2], 2);
    for (int i = 0; i < 12; i++)
        assert_int_equal(ed[i], i % 2 ? -8 : 7);
}

static void test_broadcast_add_and_mul(void **state)
{
    (void)state;
    /* broadcast_add [1, 2, 2] + [2] (same-scale defaults): [[1,2],[3,4]] + [10, -128] clamps:
     * -> [[11, -126], [13, -124]]; with b zero point -128: + [138, 0] -> [127 (139 clamps), 2, 127, 4] */
    int8_t ad[4] = {1, 2, 3, 4}, bd[2] = {10, -128}, yd[4];
    t2c_tensor a = mk(T2C_INT8, ad, 3, 1, 2, 2, 0), b = mk(T2C_INT8, bd, 1, 2, 0, 0, 0),
               y = {.dtype = T2C_INT8, .data = yd};
    t2c_tensor *ins[2] = {&a, &b};
    t2c_error err = {0};
    assert_int_equal(run_op(&t2c_op_broadcast_add, ins, 2, &y, NULL, 0, &err), T2C_OK);
    assert_int_equal(y.rank, 3);
    assert_int_equal(yd[0], 11), assert_int_equal(yd[1], -126), assert_int_equal(yd[2], 13),
        assert_int_equal(yd[3], -124);
    const t2c_attr zp[] = {A_INT("b_zero_point", -128)};
    assert_int_equal(run_op(&t2c_op_broadcast_add, ins, 2, &y, zp, NA(zp), &err), T2C_OK);
    assert_int_equal(yd[0], 127), assert_int_equal(yd[1], 2), assert_int_equal(yd[2], 127), assert_int_equal(yd[3], 4);
    /* shapes that do not broadcast */
    t2c_tensor b3 = mk(T2C_INT8, bd, 1, 3, 0, 0, 0);
    ins[1] = &b3;
    assert_int_equal(run_op(&t2c_op_broadcast_add, ins, 2, &y, NULL, 0, &err), T2C_ERR_SHAPE);
    /* add's legality applies: left_shift 24 on int8 makes 255·2^24 >= 2^31 */
    ins[1] = &b;
    const t2c_attr ls[] = {A_INT("left_shift", 24)};
    assert_int_equal(run_op(&t2c_op_broadcast_add, ins, 2, &y, ls, NA(ls), &err), T2C_ERR_ATTR);
    /* mul [1,2,2]·[2] with multiplier 3, shift 2 (·0.75), half_even: products [10, -256, 30, -512]
     * -> 7.5 -> 8, -192, 22.5 -> 22, -384 -> clamp -128 */
    const t2c_attr mu[] = {A_INT("multiplier", 3), A_INT("shift", 2)};
    assert_int_equal(run_op(&t2c_op_mul, ins, 2, &y, mu, NA(mu), &err), T2C_OK);
    assert_int_equal(yd[0], 8), assert_int_equal(yd[1], -128), assert_int_equal(yd[2], 22),
        assert_int_equal(yd[3], -128);
    /* zero points: (a - 1)·(b - 10) = [0·0, 1·-138, 2·0, 3·-138] with multiplier 1 shift 3 (floor):
     * [0, -17.25 -> -18, 0, -51.75 -> -52] */
    const t2c_attr mz[] = {A_INT("a_zero_point", 1), A_INT("b_zero_point", 10), A_INT("shift", 3),
                           A_STR("rounding", "floor")};
    assert_int_equal(run_op(&t2c_op_mul, ins, 2, &y, mz, NA(mz), &err), T2C_OK);
    assert_int_equal(yd[0], 0), assert_int_equal(yd[1], -18), assert_int_equal(yd[2], 0), assert_int_equal(yd[3], -52);
    /* int16 x int16 with zero point 0: |p| <= 32768^2 = 2^30, legal; with zero points 32767 and -32768
     * |p| can reach 65535^2 >= 2^31: rejected */
    int16_t s16[2] = {0, 0};
    t2c_tensor a16 = mk(T2C_INT16, s16, 2, 1, 2, 0, 0), b16 = mk(T2C_INT16, s16, 1, 2, 0, 0, 0);
    t2c_tensor y16 = {.dtype = T2C_INT16, .data = yd};
    t2c_tensor *ins16[2] = {&a16, &b16};
    assert_int_equal(run_op(&t2c_op_mul, ins16, 2, &y16, NULL, 0, &err), T2C_OK);
    const t2c_attr zz[] = {A_INT("a_zero_point", 32767), A_INT("b_zero_point", -32768)};
    assert_int_equal(run_op(&t2c_op_mul, ins16, 2, &y16, zz, NA(zz), &err), T2C_ERR_ATTR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isqrt),          cmocka_unit_test(test_exp_constants),
        cmocka_unit_test(test_softmax_rows),   cmocka_unit_test(test_softmax_rejects),
        cmocka_unit_test(test_layernorm),      cmocka_unit_test(test_gelu),
        cmocka_unit_test(test_data_movement),  cmocka_unit_test(test_broadcast_add_and_mul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
