/* gelu.h — integer GELU with three gate approximations (ops/README.md "gelu"). */
#ifndef T2C_GELU_H
#define T2C_GELU_H

#include "t2c_op.h"

typedef enum t2c_gelu_method {
    T2C_GELU_IBERT = 0,   /* I-BERT i-GELU: 2nd-order polynomial erf */
    T2C_GELU_SIGMOID = 1, /* x·σ(1.702x) with shift-and-add exp and one division */
    T2C_GELU_LUT = 2,     /* the gate Φ from a table (second input) */
    T2C_GELU_METHOD_COUNT
} t2c_gelu_method;

extern const char *const t2c_gelu_method_names[T2C_GELU_METHOD_COUNT];

typedef struct t2c_gelu_params {
    t2c_gelu_method method;
    int64_t x_zero_point;   /* in x's range */
    int64_t x_multiplier;   /* 0..2^31-1: input scale = x_multiplier · 2^-x_shift */
    int x_shift;            /* 12..62 */
    int64_t out_multiplier; /* |m| < 2^31 (tflite: >= 0) */
    int out_shift;          /* 0..62 */
    int64_t out_zero_point; /* in the output range */
    int64_t lo, hi;
    t2c_rounding rounding;  /* of the final scale_round */
    int lut_shift;          /* 0..62 */
    int64_t lut_offset;     /* 0..K-1 */
} t2c_gelu_params;

/* The gate Φ(t) in Q16 (0..2^16) for t in Q12, |t| <= 2^30. */
int64_t t2c_gelu_gate_ibert(int64_t t);
int64_t t2c_gelu_gate_sigmoid(int64_t t);
int64_t t2c_gelu_gate_lut(const t2c_tensor *table, int lut_shift, int64_t lut_offset, int64_t t);

/* x -> y elementwise; `table` is the lut input (NULL otherwise). Fails (T2C_ERR_INVALID_ARG) if a
 * table entry is outside [0, 2^16]. */
t2c_status t2c_gelu_ref(const t2c_gelu_params *p, const t2c_tensor *x, const t2c_tensor *table, t2c_tensor *y,
                        t2c_error *err);

#endif /* T2C_GELU_H */
