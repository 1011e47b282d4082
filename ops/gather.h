/* gather.h — pick positions along one axis by an index list (ops/README.md "gather"). */
#ifndef T2C_GATHER_H
#define T2C_GATHER_H

#include "t2c_op.h"

typedef struct t2c_gather_params {
    int axis; /* 1..rank-1 */
} t2c_gather_params;

/* y[.., k, ..] = x[.., idx[k], ..]; a negative index counts from the end. An index outside
 * [-dims[axis], dims[axis]) fails with T2C_ERR_INVALID_ARG naming its position. */
t2c_status t2c_gather_ref(const t2c_gather_params *p, const t2c_tensor *x, const t2c_tensor *indices,
                          t2c_tensor *y, t2c_error *err);

#endif /* T2C_GATHER_H */
