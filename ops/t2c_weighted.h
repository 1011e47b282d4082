/* t2c_weighted.h — what conv2d and linear share: the node form, attributes and dtype checks of
 * an integer product of activations x and weights w with an optional int32 bias and an int32
 * accumulator (ops/README.md "conv2d", "linear"). */
#ifndef T2C_WEIGHTED_H
#define T2C_WEIGHTED_H

#include "t2c_op.h"

/* Inputs (x, w, optional bias), one output, and the attributes x_zero_point, w_zero_point
 * (default 0), acc_bits (default 32) and overflow (default "error"). */
static inline t2c_status t2c_weighted_read(const t2c_node *node, int64_t *x_zp, int64_t *w_zp, int *acc_bits,
                                           t2c_overflow *overflow, t2c_error *err)
{
    int64_t i64;
    int e;
    t2c_status st;
    if (node->n_inputs < 2 || node->n_inputs > 3 || !node->inputs[0] || !node->inputs[1] ||
        node->n_outputs != 1 || !node->outputs[0])
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs input, weight, optional bias and one output");
    if ((st = t2c_attr_int(node, "x_zero_point", 0, 0, INT32_MIN, INT32_MAX, x_zp, err)) != T2C_OK ||
        (st = t2c_attr_int(node, "w_zero_point", 0, 0, INT32_MIN, INT32_MAX, w_zp, err)) != T2C_OK ||
        (st = t2c_attr_int(node, "acc_bits", 0, 32, 2, 32, &i64, err)) != T2C_OK ||
        (st = t2c_attr_enum(node, "overflow", 0, T2C_OVERFLOW_ERROR, t2c_overflow_names, T2C_OVERFLOW_COUNT,
                            &e, err)) != T2C_OK)
        return st;
    *acc_bits = (int)i64;
    *overflow = (t2c_overflow)e;
    return T2C_OK;
}

static inline int t2c_in_dtype_range(t2c_dtype d, int64_t v) { return v >= t2c_dtype_min(d) && v <= t2c_dtype_max(d); }

/* x int4/uint4/int8/uint8, w int4/int8, bias int32, y int32 (or not yet set), acc_bits 2..32
 * with a valid policy, each zero point inside its operand's range. */
static inline t2c_status t2c_weighted_check(const t2c_tensor *x, const t2c_tensor *w, const t2c_tensor *bias,
                                            const t2c_tensor *y, int64_t x_zp, int64_t w_zp, int acc_bits,
                                            t2c_overflow overflow, t2c_error *err)
{
    if (x->dtype != T2C_INT4 && x->dtype != T2C_UINT4 && x->dtype != T2C_INT8 && x->dtype != T2C_UINT8)
        return t2c_error_set(err, T2C_ERR_DTYPE, "input dtype %s is not int4/uint4/int8/uint8",
                             t2c_dtype_name(x->dtype));
    if (w->dtype != T2C_INT4 && w->dtype != T2C_INT8)
        return t2c_error_set(err, T2C_ERR_DTYPE, "weight dtype %s is not int4/int8", t2c_dtype_name(w->dtype));
    if (bias && bias->dtype != T2C_INT32)
        return t2c_error_set(err, T2C_ERR_DTYPE, "bias dtype %s is not int32", t2c_dtype_name(bias->dtype));
    if (y->dtype != T2C_DTYPE_INVALID && y->dtype != T2C_INT32)
        return t2c_error_set(err, T2C_ERR_DTYPE, "output dtype %s is not int32", t2c_dtype_name(y->dtype));
    if (acc_bits < 2 || acc_bits > 32 || (int)overflow < 0 || overflow >= T2C_OVERFLOW_COUNT)
        return t2c_error_set(err, T2C_ERR_ATTR, "acc_bits = %d must be 2..32 with a valid overflow policy",
                             acc_bits);
    if (!t2c_in_dtype_range(x->dtype, x_zp))
        return t2c_error_set(err, T2C_ERR_ATTR, "x_zero_point = %lld is outside the %s range", (long long)x_zp,
                             t2c_dtype_name(x->dtype));
    if (!t2c_in_dtype_range(w->dtype, w_zp))
        return t2c_error_set(err, T2C_ERR_ATTR, "w_zero_point = %lld is outside the %s range", (long long)w_zp,
                             t2c_dtype_name(w->dtype));
    return T2C_OK;
}

#endif /* T2C_WEIGHTED_H */
