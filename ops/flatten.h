/* flatten.h — merge the dims from `axis` on (ops/README.md "flatten"). */
#ifndef T2C_FLATTEN_H
#define T2C_FLATTEN_H

#include "t2c_op.h"

typedef struct t2c_flatten_params {
    int axis; /* 1..rank-1 */
} t2c_flatten_params;

/* Copies the elements unchanged (row-major); y has x's dtype and element count. x and y may
 * share their buffer. */
t2c_status t2c_flatten_ref(const t2c_flatten_params *p, const t2c_tensor *x, t2c_tensor *y,
                           t2c_error *err);

#endif /* T2C_FLATTEN_H */
