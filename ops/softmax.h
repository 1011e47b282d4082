/* softmax.h — integer softmax over the last axis with four exp/normalisation recipes
 * (ops/README.md "softmax"). */
#ifndef T2C_SOFTMAX_H
#define T2C_SOFTMAX_H

#include "t2c_op.h"

typedef enum t2c_softmax_method {
    T2C_SOFTMAX_IBERT = 0,  /* I-BERT i-exp: 2nd-order polynomial + shift by floor(-x/ln2) */
    T2C_SOFTMAX_SHIFT = 1,  /* I-ViT Shiftmax: base-2 shift-and-add exp */
    T2C_SOFTMAX_LUT = 2,    /* exp from a table (second input) */
    T2C_SOFTMAX_TFLITE = 3, /* TFLite reference int8/uint8 softmax, bit-exact */
    T2C_SOFTMAX_METHOD_COUNT
} t2c_softmax_method;

extern const char *const t2c_softmax_method_names[T2C_SOFTMAX_METHOD_COUNT];

typedef struct t2c_softmax_params {
    t2c_softmax_method method;
    int64_t x_multiplier; /* 0..2^31-1: input scale = x_multiplier · 2^-x_shift */
    int x_shift;          /* 14..62 (tflite: 26..57) */
    int out_bits;         /* 1..16: y = p·2^out_bits + zero_point */
    int64_t zero_point;   /* in the output range */
    int lut_shift;        /* 0..62, lut only */
} t2c_softmax_params;

/* The exp stage of ibert/shift/lut on t <= 0 (Q14), as in ops/README.md; 0 <= result <= 2^30.
 * `table` (K entries) is used by lut only. */
int64_t t2c_softmax_exp_ibert(int64_t t);
int64_t t2c_softmax_exp_shift(int64_t t);
int64_t t2c_softmax_exp_lut(const t2c_tensor *table, int lut_shift, int64_t t);

/* gemmlowp's exp_on_negative_values for Q5.26 input a <= 0 (result Q0.31), and
 * one_over_one_plus_x_for_x_in_0_1 for v in [0, 2^31) (Q0.31), as TFLite's softmax uses them. */
int32_t t2c_tflite_exp_on_negative_values(int32_t a);
int32_t t2c_tflite_one_over_one_plus_x(int32_t v);

/* The reference kernel: x [.., L] -> y (uint8/int8/int16), one row at a time; `table` is the lut
 * input (NULL otherwise). Fails (T2C_ERR_INVALID_ARG) if a table entry is outside [0, 2^30]. */
t2c_status t2c_softmax_ref(const t2c_softmax_params *p, const t2c_tensor *x, const t2c_tensor *table,
                           t2c_tensor *y, t2c_error *err);

#endif /* T2C_SOFTMAX_H */
