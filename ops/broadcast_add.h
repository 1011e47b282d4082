/* broadcast_add.h — add with NumPy broadcasting (ops/README.md "broadcast_add"). */
#ifndef T2C_BROADCAST_ADD_H
#define T2C_BROADCAST_ADD_H

#include "add.h"

/* Same parameters, legality and per-element recipe as add (ops/add.h); a and b broadcast to y's
 * dims. */
t2c_status t2c_broadcast_add_ref(const t2c_add_params *p, const t2c_tensor *a, const t2c_tensor *b,
                                 t2c_tensor *y, t2c_error *err);

#endif /* T2C_BROADCAST_ADD_H */
