/* dequantize.h — integer -> float32 at the model boundary, see ops/README.md "dequantize". */
#ifndef T2C_DEQUANTIZE_H
#define T2C_DEQUANTIZE_H

#include "t2c_op.h"

typedef struct t2c_dequantize_params {
    double scale;       /* (float)scale must be a positive finite binary32 */
    int64_t zero_point; /* within the input dtype's range */
} t2c_dequantize_params;

/* Check x (any integer dtype) and y (float32; set if not preset) and set y's rank/dims. */
t2c_status t2c_dequantize_infer(const t2c_dequantize_params *p, const t2c_tensor *x, t2c_tensor *y,
                                t2c_error *err);

/* y = (float)(x - zero_point) * (float)scale in binary32. Always T2C_OK. */
t2c_status t2c_dequantize_ref(const t2c_dequantize_params *p, const t2c_tensor *x, t2c_tensor *y,
                              t2c_error *err);

#endif /* T2C_DEQUANTIZE_H */
