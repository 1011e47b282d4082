/* clamp.h — y = clamp(x, lo, hi) (ops/README.md "clamp"). */
#ifndef T2C_CLAMP_H
#define T2C_CLAMP_H

#include "t2c_op.h"

typedef struct t2c_clamp_params {
    int64_t lo, hi; /* lo <= hi, both in the input dtype's range */
} t2c_clamp_params;

/* Elementwise y = clamp(x, lo, hi); x and y have the same dtype and shape. */
t2c_status t2c_clamp_ref(const t2c_clamp_params *p, const t2c_tensor *x, t2c_tensor *y, t2c_error *err);

#endif /* T2C_CLAMP_H */
