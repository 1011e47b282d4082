/* slice.h — a strided range along one axis (ops/README.md "slice"). */
#ifndef T2C_SLICE_H
#define T2C_SLICE_H

#include "t2c_op.h"

typedef struct t2c_slice_params {
    int axis;          /* 1..rank-1 */
    int64_t start;     /* 0 <= start < dims[axis] */
    int64_t step;      /* >= 1 */
} t2c_slice_params;

/* y[.., i, ..] = x[.., start + i·step, ..] along axis, for i < y.dims[axis]. */
t2c_status t2c_slice_ref(const t2c_slice_params *p, const t2c_tensor *x, t2c_tensor *y, t2c_error *err);

#endif /* T2C_SLICE_H */
