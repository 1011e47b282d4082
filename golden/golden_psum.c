/* golden_psum.c — partial-sum traces of conv2d/linear: the accumulator after each K-slice, in a
 * declared loop order, with the op's own accumulator width and overflow policy
 * (golden/README.md "Partial sums"). */
#include <stdlib.h>
#include <string.h>

#include "golden_internal.h"
#include "t2c_int.h"

static int64_t attr_int(const t2c_op_view *op, const char *name, int idx, int64_t dflt)
{
    const t2c_attr *a = t2c_op_attr(op, name);
    if (!a)
        return dflt;
    if (a->type == T2C_ATTR_INTS)
        return idx < a->count ? a->v.ints[idx] : dflt;
    if (a->type == T2C_ATTR_INT)
        return a->v.i;
    return dflt;
}

static int64_t elem(const t2c_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case T2C_INT4: case T2C_INT8: return ((const int8_t *)t->data)[i];
    case T2C_UINT4: case T2C_UINT8: return ((const uint8_t *)t->data)[i];
    case T2C_INT16: return ((const int16_t *)t->data)[i];
    case T2C_INT32: return ((const int32_t *)t->data)[i];
    default: return 0;
    }
}

t2c_status t2c_golden_psum(const t2c_op_view *op, int batch, int slot, int64_t k_slice, int order_hwc,
                           int32_t **out, int *rank, int64_t *dims, t2c_error *err)
{
    *out = NULL;
    const int conv = strcmp(op->type, "conv2d") == 0;
    if (!conv && strcmp(op->type, "linear") != 0)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "psum: op type %s", op->type);
    const t2c_tensor *x = NULL, *wt = NULL, *b = NULL;
    for (int i = 0; i < op->n_inputs; i++) {
        if (!op->inputs[i])
            continue;
        if (strcmp(op->input_roles[i], "input") == 0)
            x = op->inputs[i];
        else if (strcmp(op->input_roles[i], "weight") == 0)
            wt = op->inputs[i];
        else if (strcmp(op->input_roles[i], "bias") == 0)
            b = op->inputs[i];
    }
    const t2c_tensor *y = op->n_outputs ? op->outputs[0] : NULL;
    if (!x || !wt || !y || !x->data || !wt->data || k_slice < 1 || batch < 1)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "psum: op '%s' lacks input/weight/output", op->name);
    const int64_t xzp = attr_int(op, "x_zero_point", 0, 0), wzp = attr_int(op, "w_zero_point", 0, 0);
    const int bits = (int)attr_int(op, "acc_bits", 0, 32);
    t2c_overflow pol = T2C_OVERFLOW_ERROR;
    const t2c_attr *ov = t2c_op_attr(op, "overflow");
    if (ov && ov->type == T2C_ATTR_STRING)
        for (int p = 0; p < T2C_OVERFLOW_COUNT; p++)
            if (strcmp(ov->v.s, t2c_overflow_names[p]) == 0)
                pol = (t2c_overflow)p;
    /* geometry: rows r (output positions), output channels m, K terms */
    int64_t K, M, R, cg = 0, kh = 1, kw = 1, H = 0, W = 0, ho = 0, wo = 0;
    int64_t sh = 1, sw = 1, dh = 1, dw = 1, top = 0, left = 0, group = 1;
    if (conv) {
        if (x->rank != 4 || wt->rank != 4 || y->rank != 4)
            return t2c_golden_error(err, T2C_ERR_SHAPE, "psum: conv2d '%s' is not rank 4", op->name);
        H = x->dims[2], W = x->dims[3];
        M = wt->dims[0], cg = wt->dims[1], kh = wt->dims[2], kw = wt->dims[3];
        ho = y->dims[2], wo = y->dims[3];
        sh = attr_int(op, "strides", 0, 1), sw = attr_int(op, "strides", 1, 1);
        dh = attr_int(op, "dilations", 0, 1), dw = attr_int(op, "dilations", 1, 1);
        top = attr_int(op, "pads", 0, 0), left = attr_int(op, "pads", 1, 0);
        group = attr_int(op, "group", 0, 1);
        K = cg * kh * kw;
        R = ho * wo;
    } else {
        K = x->dims[x->rank - 1];
        M = wt->dims[0];
        R = t2c_tensor_numel(x) / K / batch;
    }
    const int64_t S = (K + k_slice - 1) / k_slice;
    if (S * M * R > (1LL << 31))
        return t2c_golden_error(err, T2C_ERR_SHAPE, "psum: op '%s' trace too large", op->name);
    int32_t *ps = malloc((size_t)(S * M * R > 0 ? S * M * R : 1) * sizeof *ps);
    if (!ps)
        return t2c_golden_error(err, T2C_ERR_NOMEM, "out of memory");
    const int64_t xoff = slot * (t2c_tensor_numel(x) / batch);
    for (int64_t m = 0; m < M; m++) {
        const int64_t g = conv ? m / (M / group) : 0;
        for (int64_t r = 0; r < R; r++) {
            int64_t acc = 0;
            t2c_acc_add(&acc, b && b->data ? elem(b, m) : 0, bits, pol); /* load the bias */
            int64_t s = 0;
            for (int64_t t = 0; t < K; t++) {
                int64_t xv, wv;
                if (conv) {
                    int64_t ci, a, c;
                    if (order_hwc)
                        ci = t % cg, c = (t / cg) % kw, a = t / cg / kw;
                    else
                        c = t % kw, a = (t / kw) % kh, ci = t / kw / kh;
                    const int64_t oh = r / wo, ow = r % wo;
                    const int64_t ih = oh * sh - top + a * dh, iw = ow * sw - left + c * dw;
                    const int64_t ch = g * cg + ci;
                    xv = ih >= 0 && ih < H && iw >= 0 && iw < W ? elem(x, xoff + (ch * H + ih) * W + iw) : xzp;
                    wv = elem(wt, ((m * cg + ci) * kh + a) * kw + c);
                } else {
                    xv = elem(x, xoff + r * K + t);
                    wv = elem(wt, m * K + t);
                }
                if (t2c_acc_add(&acc, (xv - xzp) * (wv - wzp), bits, pol) != 0) {
                    free(ps);
                    return t2c_golden_error(err, T2C_ERR_OVERFLOW,
                                            "psum: op '%s': the accumulator overflows %d bits in this order", op->name,
                                            bits);
                }
                if ((t + 1) % k_slice == 0 || t + 1 == K)
                    ps[(s++ * M + m) * R + r] = (int32_t)acc;
            }
            for (; s < S; s++) /* only when K = 0: keeps the array defined */
                ps[(s * M + m) * R + r] = (int32_t)acc;
        }
    }
    /* dims: [S] + the op output's per-image dims (conv [S, Cout, Ho, Wo]; linear [S, .., M]) */
    *rank = y->rank + 1;
    dims[0] = S;
    for (int i = 0; i < y->rank; i++)
        dims[i + 1] = y->dims[i];
    dims[1] = y->dims[0] / batch; /* batch 1 per image */
    if (!conv) {
        /* linear output [N, ..., M]: rows r in row-major order over the leading dims -> psum layout
         * [S, ..., M] needs m fastest: transpose [S][M][R] -> [S][R][M] */
        int32_t *t = malloc((size_t)(S * M * R > 0 ? S * M * R : 1) * sizeof *t);
        if (!t) {
            free(ps);
            return t2c_golden_error(err, T2C_ERR_NOMEM, "out of memory");
        }
        for (int64_t s = 0; s < S; s++)
            for (int64_t m = 0; m < M; m++)
                for (int64_t r = 0; r < R; r++)
                    t[(s * R + r) * M + m] = ps[(s * M + m) * R + r];
        free(ps);
        ps = t;
    }
    *out = ps;
    return T2C_OK;
}
