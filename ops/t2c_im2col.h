/* t2c_im2col.h — rows of the im2col matrix of an NCHW conv2d input, shared by the GEMM-based
 * conv2d variants (conv2d_simd.c, conv2d_blas.c). Row k = (ci, kh, kw) in the weight's order,
 * column p = (oh, ow); padded positions hold the input's zero point (the recipe's padding). */
#ifndef T2C_IM2COL_H
#define T2C_IM2COL_H

#include "conv2d.h"

typedef struct t2c_im2col {
    int64_t Cin, H, W, KH, KW, Ho, Wo, cin_g;
    int64_t sh, sw, dh, dw, top, left;
    int direct;       /* 1x1, stride 1, no padding: rows are the input planes themselves */
    uint8_t pad_byte; /* x_zero_point as stored in the input's bytes */
} t2c_im2col;

void t2c_im2col_init(t2c_im2col *g, const t2c_conv2d_params *p, const t2c_tensor *x, const t2c_tensor *w,
                     const t2c_tensor *y);

/* Row k for image n, group grp, columns [p0, p0 + L): a pointer into x (direct) or `tmp`
 * (L bytes). x is the input's raw bytes (int8 or uint8). */
const uint8_t *t2c_im2col_row(const t2c_im2col *g, const uint8_t *x, int64_t n, int64_t grp, int64_t k,
                              int64_t p0, int64_t L, uint8_t *tmp);

#endif /* T2C_IM2COL_H */
