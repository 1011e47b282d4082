/* conv2d.h — integer 2-D convolution (NCHW), see ops/README.md "conv2d". */
#ifndef T2C_CONV2D_H
#define T2C_CONV2D_H

#include "t2c_op.h"

/* The sliding window of conv2d and conv2d_f32: attributes "strides", "pads", "dilations", "group". */
typedef struct t2c_conv_window {
    int64_t stride_h, stride_w;                       /* >= 1 */
    int64_t pad_top, pad_left, pad_bottom, pad_right; /* >= 0 */
    int64_t dilation_h, dilation_w;                   /* >= 1 */
    int64_t group;                                    /* divides Cin and Cout */
} t2c_conv_window;

/* Read the window attributes of node (defaults: strides 1, pads 0, dilations 1, group 1). */
t2c_status t2c_conv_window_read(const t2c_node *node, t2c_conv_window *win, t2c_error *err);

/* Check the window's ranges and the shapes of x [N,Cin,H,W], w [Cout,Cin/group,KH,KW] and the
 * optional bias [Cout]; set y's rank and dims [N,Cout,Ho,Wo] (not its dtype). */
t2c_status t2c_conv_window_infer(const t2c_conv_window *win, const t2c_tensor *x, const t2c_tensor *w,
                                 const t2c_tensor *bias, t2c_tensor *y, t2c_error *err);

/* N·Cout·Ho·Wo·(Cin/group)·KH·KW of a prepared conv node (INT64_MAX if that overflows). */
int64_t t2c_conv_macs(const t2c_node *node);

typedef struct t2c_conv2d_params {
    int64_t stride_h, stride_w;                          /* >= 1 */
    int64_t pad_top, pad_left, pad_bottom, pad_right;    /* >= 0 */
    int64_t dilation_h, dilation_w;                      /* >= 1 */
    int64_t group;                                       /* divides Cin and Cout */
    int64_t x_zero_point, w_zero_point;                  /* within x's / w's dtype range */
    int acc_bits;                                        /* 2..32 */
    t2c_overflow overflow;
} t2c_conv2d_params;

/* Check dtypes and shapes of x [N,Cin,H,W], w [Cout,Cin/group,KH,KW], optional bias [Cout]
 * against p (attribute ranges included) and set y's dtype (int32), rank and dims
 * [N,Cout,Ho,Wo]. y->data is not touched. */
t2c_status t2c_conv2d_infer(const t2c_conv2d_params *p, const t2c_tensor *x, const t2c_tensor *w,
                            const t2c_tensor *bias, t2c_tensor *y, t2c_error *err);

/* The reference kernel: the recipe of ops/README.md. Arguments must have passed
 * t2c_conv2d_infer and hold values within their dtypes' ranges. bias may be NULL.
 * Returns T2C_ERR_OVERFLOW (naming the output coordinate) only under overflow = error. */
t2c_status t2c_conv2d_ref(const t2c_conv2d_params *p, const t2c_tensor *x, const t2c_tensor *w,
                          const t2c_tensor *bias, t2c_tensor *y, t2c_error *err);

#endif /* T2C_CONV2D_H */
