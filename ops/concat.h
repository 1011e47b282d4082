/* concat.h — join tensors along one axis (ops/README.md "concat"). */
#ifndef T2C_CONCAT_H
#define T2C_CONCAT_H

#include "t2c_op.h"

#define T2C_CONCAT_MAX_INPUTS 64

typedef struct t2c_concat_params {
    int axis; /* normalized: 1..rank-1 */
} t2c_concat_params;

/* Copies the n_inputs tensors (same dtype and rank, dims equal except `axis`) into y, in
 * order along p->axis. No arithmetic. */
t2c_status t2c_concat_ref(const t2c_concat_params *p, int n_inputs, const t2c_tensor *const *inputs,
                          t2c_tensor *y, t2c_error *err);

#endif /* T2C_CONCAT_H */
