/* transpose.h — permute the dims after the batch (ops/README.md "transpose"). */
#ifndef T2C_TRANSPOSE_H
#define T2C_TRANSPOSE_H

#include "t2c_op.h"

typedef struct t2c_transpose_params {
    int rank;
    int perm[T2C_MAX_RANK]; /* a permutation of 0..rank-1 with perm[0] = 0 */
} t2c_transpose_params;

/* y.dims[i] = x.dims[perm[i]]; y[i0..ik] = x[j] with j[perm[a]] = i_a. x and y must not overlap. */
t2c_status t2c_transpose_ref(const t2c_transpose_params *p, const t2c_tensor *x, t2c_tensor *y,
                             t2c_error *err);

#endif /* T2C_TRANSPOSE_H */
