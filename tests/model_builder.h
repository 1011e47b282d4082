/* model_builder.h — a small whole model built in memory with the container writer, covering
 * every op kind the fast variants take (conv 3x3 with zero points, requantize in several rounding
 * modes, maxpool, depthwise, 1x1 convs, add, global avgpool, flatten, linear, reshape, matmul),
 * for the tests that run models through every backend (test_backends.c, test_isa_cap.c).
 * Include after variant_test_scaffold.h (its generator). */
#ifndef T2C_MODEL_BUILDER_H
#define T2C_MODEL_BUILDER_H

#include "t2c.h"
#include "t2c_container.h"

static inline void w_tensor(t2c_writer *w, const char *name, t2c_dtype dt, int rank, const int64_t *dims, const void *data)
{
    t2c_error err;
    assert_int_equal(t2c_writer_tensor(w, name, dt, rank, dims, data, 0, &err), T2C_OK);
}

static inline void w_op(t2c_writer *w, const char *type, const char *name, int ni, const char *const *in, const char *out,
                 int na, const t2c_attr *attrs)
{
    t2c_error err;
    const char *outs[1] = {out};
    assert_int_equal(t2c_writer_op(w, type, name, ni, in, 1, outs, na, attrs, &err), T2C_OK);
}

static inline t2c_attr at_i(const char *n, int64_t v) { return (t2c_attr){n, T2C_ATTR_INT, 1, {.i = v}}; }
static inline t2c_attr at_is(const char *n, const int64_t *v, int64_t c) { return (t2c_attr){n, T2C_ATTR_INTS, c, {.ints = v}}; }
static inline t2c_attr at_s(const char *n, const char *v) { return (t2c_attr){n, T2C_ATTR_STRING, (int64_t)strlen(v), {.s = v}}; }

/* input int8 [1,6,13,11] -> conv 3x3 pad 1 (x_zp -3) -> requantize per channel (uint8, relu) ->
 * maxpool 3x3 s2 p1 -> depthwise 3x3 s1 p1 -> requantize -> conv 1x1 (6->10) -> requantize (int8) ->
 * add with a 1x1 stride-1 projection of the pool output -> global avgpool -> flatten -> linear ->
 * requantize; a side branch matmul(flatten^T-ish) covers matmul. */
static inline t2c_model *build_model(rng *r, int wbits)
{
    t2c_writer *w = t2c_writer_new();
    const t2c_dtype wd = wbits == 4 ? T2C_INT4 : T2C_INT8;
    const int64_t xd[4] = {1, 6, 13, 11};
    w_tensor(w, "x", T2C_INT8, 4, xd, NULL);
    int8_t w1[12 * 6 * 9], w2[12 * 9], w3[10 * 12], w4[10 * 12], wl[7 * 10];
    int32_t b1[12], b2[12], b3[10], b4[10], bl[7];
    int8_t *ws[5] = {w1, w2, w3, w4, wl};
    const size_t wn[5] = {sizeof w1, sizeof w2, sizeof w3, sizeof w4, sizeof wl};
    for (int k = 0; k < 5; k++)
        for (size_t i = 0; i < wn[k]; i++)
            ws[k][i] = (int8_t)rval(r, wd);
    int32_t *bs[5] = {b1, b2, b3, b4, bl};
    const int bn[5] = {12, 12, 10, 10, 7};
    for (int k = 0; k < 5; k++)
        for (int i = 0; i < bn[k]; i++)
            bs[k][i] = (int32_t)rin(r, -5000, 5000);
    const int64_t w1d[4] = {12, 6, 3, 3}, w2d[4] = {12, 1, 3, 3}, w3d[4] = {10, 12, 1, 1}, wld[2] = {7, 10};
    const int64_t b12[1] = {12}, b10[1] = {10}, b7[1] = {7};
    w_tensor(w, "w1", wd, 4, w1d, w1), w_tensor(w, "b1", T2C_INT32, 1, b12, b1);
    w_tensor(w, "w2", wd, 4, w2d, w2), w_tensor(w, "b2", T2C_INT32, 1, b12, b2);
    w_tensor(w, "w3", wd, 4, w3d, w3), w_tensor(w, "b3", T2C_INT32, 1, b10, b3);
    w_tensor(w, "w4", wd, 4, w3d, w4), w_tensor(w, "b4", T2C_INT32, 1, b10, b4);
    w_tensor(w, "wl", wd, 2, wld, wl), w_tensor(w, "bl", T2C_INT32, 1, b7, bl);
    const int64_t a1[4] = {1, 12, 13, 11}, a2[4] = {1, 12, 7, 6}, a3[4] = {1, 10, 7, 6}, g[4] = {1, 10, 1, 1},
                  f[2] = {1, 10}, l[2] = {1, 7}, mm[3] = {1, 10, 10}, fr[3] = {1, 1, 10}, fc[3] = {1, 10, 1};
    w_tensor(w, "c1", T2C_INT32, 4, a1, NULL), w_tensor(w, "q1", T2C_UINT8, 4, a1, NULL);
    w_tensor(w, "p1", T2C_UINT8, 4, a2, NULL);
    w_tensor(w, "c2", T2C_INT32, 4, a2, NULL), w_tensor(w, "q2", T2C_UINT8, 4, a2, NULL);
    w_tensor(w, "c3", T2C_INT32, 4, a3, NULL), w_tensor(w, "q3", T2C_INT8, 4, a3, NULL);
    w_tensor(w, "c4", T2C_INT32, 4, a3, NULL), w_tensor(w, "q4", T2C_INT8, 4, a3, NULL);
    w_tensor(w, "s", T2C_UINT8, 4, a3, NULL), w_tensor(w, "gp", T2C_UINT8, 4, g, NULL);
    w_tensor(w, "fl", T2C_UINT8, 2, f, NULL), w_tensor(w, "cl", T2C_INT32, 2, l, NULL);
    w_tensor(w, "y", T2C_INT8, 2, l, NULL);
    w_tensor(w, "fr", T2C_UINT8, 3, fr, NULL), w_tensor(w, "fcol", T2C_UINT8, 3, fc, NULL);
    w_tensor(w, "mm", T2C_INT32, 3, mm, NULL);
    int64_t m12[12], s12[12], m10[10], s10[10];
    for (int i = 0; i < 12; i++)
        m12[i] = rin(r, 1 << 29, INT32_MAX), s12[i] = rin(r, 36, 42);
    for (int i = 0; i < 10; i++)
        m10[i] = rin(r, 1 << 29, INT32_MAX), s10[i] = rin(r, 36, 42);
    const int64_t ones[2] = {1, 1}, pad1[4] = {1, 1, 1, 1}, k3[2] = {3, 3}, s2[2] = {2, 2};
    const char *ci1[3] = {"x", "w1", "b1"}, *ci2[3] = {"p1", "w2", "b2"}, *ci3[3] = {"q2", "w3", "b3"},
               *ci4[3] = {"p1", "w4", "b4"};
    (void)ci4;
    t2c_attr c1a[4] = {at_is("pads", pad1, 4), at_i("x_zero_point", -3), at_is("strides", ones, 2),
                       at_i("w_zero_point", wbits == 4 ? 1 : 0)};
    w_op(w, "conv2d", "conv1", 3, ci1, "c1", 4, c1a);
    t2c_attr r1[5] = {at_is("multiplier", m12, 12), at_is("shift", s12, 12), at_i("lo", 0),
                      at_s("rounding", "half_even"), at_i("zero_point", 0)};
    const char *rin1[1] = {"c1"};
    w_op(w, "requantize", "conv1.rq", 1, rin1, "q1", 5, r1);
    t2c_attr pa[3] = {at_is("kernel", k3, 2), at_is("strides", s2, 2), at_is("pads", pad1, 4)};
    const char *pin[1] = {"q1"};
    w_op(w, "maxpool2d", "pool", 1, pin, "p1", 3, pa);
    t2c_attr c2a[2] = {at_is("pads", pad1, 4), at_i("group", 12)};
    w_op(w, "conv2d", "dw", 3, ci2, "c2", 2, c2a);
    t2c_attr r2[4] = {at_is("multiplier", m12, 12), at_is("shift", s12, 12), at_s("rounding", "tflite"),
                      at_i("zero_point", 3)};
    const char *rin2[1] = {"c2"};
    w_op(w, "requantize", "dw.rq", 1, rin2, "q2", 4, r2);
    w_op(w, "conv2d", "pw", 3, ci3, "c3", 0, NULL);
    t2c_attr r3[3] = {at_is("multiplier", m10, 10), at_is("shift", s10, 10), at_s("rounding", "half_away")};
    const char *rin3[1] = {"c3"};
    w_op(w, "requantize", "pw.rq", 1, rin3, "q3", 3, r3);
    const char *ci4b[3] = {"p1", "w4", "b4"};
    /* p1 is [1,12,7,6] uint8; the projection is 1x1 12 -> 10 */
    t2c_attr c4a[1] = {at_i("x_zero_point", 1)};
    w_op(w, "conv2d", "proj", 3, ci4b, "c4", 1, c4a);
    t2c_attr r4[2] = {at_is("multiplier", m10, 10), at_is("shift", s10, 10)};
    const char *rin4[1] = {"c4"};
    w_op(w, "requantize", "proj.rq", 1, rin4, "q4", 2, r4);
    t2c_attr aa[9] = {at_i("left_shift", 20), at_i("a_multiplier", 1 << 30), at_i("a_shift", 31),
                      at_i("b_multiplier", 1500000000), at_i("b_shift", 32), at_i("out_multiplier", 1700000000),
                      at_i("out_shift", 50), at_i("lo", 0), at_s("rounding", "half_even")};
    const char *ain[2] = {"q3", "q4"};
    w_op(w, "add", "add", 2, ain, "s", 9, aa);
    const char *gin[1] = {"s"};
    w_op(w, "global_avgpool", "gap", 1, gin, "gp", 0, NULL);
    t2c_attr fa[1] = {at_i("axis", 1)};
    const char *fin[1] = {"gp"};
    w_op(w, "flatten", "flat", 1, fin, "fl", 1, fa);
    const char *lin[3] = {"fl", "wl", "bl"};
    w_op(w, "linear", "fc", 3, lin, "cl", 0, NULL);
    int64_t ml[1] = {1 << 30}, sl[1] = {36};
    t2c_attr rl[2] = {at_is("multiplier", ml, 1), at_is("shift", sl, 1)};
    const char *rinl[1] = {"cl"};
    w_op(w, "requantize", "fc.rq", 1, rinl, "y", 2, rl);
    const int64_t shr[1] = {1}, shc[1] = {10};
    t2c_attr ra[1] = {at_is("shape", (const int64_t[]){1, 10}, 2)};
    t2c_attr rc[1] = {at_is("shape", (const int64_t[]){10, 1}, 2)};
    (void)shr, (void)shc;
    const char *fl1[1] = {"fl"};
    w_op(w, "reshape", "row", 1, fl1, "fr", 1, ra);
    w_op(w, "reshape", "col", 1, fl1, "fcol", 1, rc);
    const char *min_[2] = {"fcol", "fr"};
    t2c_attr ma[2] = {at_i("a_zero_point", 5), at_i("b_zero_point", 250)};
    w_op(w, "matmul", "outer", 2, min_, "mm", 2, ma);
    const char *gi[1] = {"x"}, *go[2] = {"y", "mm"};
    t2c_error err;
    assert_int_equal(t2c_writer_graph_io(w, 1, gi, 2, go, &err), T2C_OK);
    uint8_t *buf = NULL;
    size_t size = 0;
    assert_int_equal(t2c_writer_to_buffer(w, &buf, &size, &err), T2C_OK);
    t2c_writer_free(w);
    t2c_model *m = NULL;
    const t2c_status st = t2c_model_load_buffer(buf, size, "backends.t2c", NULL, &m, &err);
    if (st != T2C_OK)
        fail_msg("%s", err.message);
    free(buf);
    return m;
}

#endif /* T2C_MODEL_BUILDER_H */
