/* reshape.h — new dims after the batch (ops/README.md "reshape"). */
#ifndef T2C_RESHAPE_H
#define T2C_RESHAPE_H

#include "t2c_op.h"

typedef struct t2c_reshape_params {
    int rank;                     /* output rank = 1 + number of 'shape' values */
    int64_t dims[T2C_MAX_RANK];   /* resolved output dims after the batch (dims[0] unused) */
} t2c_reshape_params;

/* Copies the elements unchanged (row-major); y has x's dtype and element count. x and y may
 * share their buffer. */
t2c_status t2c_reshape_ref(const t2c_reshape_params *p, const t2c_tensor *x, t2c_tensor *y,
                           t2c_error *err);

#endif /* T2C_RESHAPE_H */
