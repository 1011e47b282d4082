/* relu.h — y = max(x, zero_point) (ops/README.md "relu"). */
#ifndef T2C_RELU_H
#define T2C_RELU_H

#include "t2c_op.h"

typedef struct t2c_relu_params {
    int64_t zero_point; /* in the input dtype's range */
} t2c_relu_params;

/* Elementwise y = max(x, zero_point); x and y have the same dtype and shape. */
t2c_status t2c_relu_ref(const t2c_relu_params *p, const t2c_tensor *x, t2c_tensor *y, t2c_error *err);

#endif /* T2C_RELU_H */
