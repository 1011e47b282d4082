/* expand.h — repeat size-1 dims, batch taken from another tensor (ops/README.md "expand"). */
#ifndef T2C_EXPAND_H
#define T2C_EXPAND_H

#include "t2c_op.h"

typedef struct t2c_expand_params {
    int unused;
} t2c_expand_params;

/* y = x broadcast to y's dims (each x dim equals y's or is 1). */
t2c_status t2c_expand_ref(const t2c_expand_params *p, const t2c_tensor *x, t2c_tensor *y, t2c_error *err);

#endif /* T2C_EXPAND_H */
