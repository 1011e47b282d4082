/* im2col.c — see t2c_im2col.h. */
#include <string.h>

#include "t2c_im2col.h"

void t2c_im2col_init(t2c_im2col *g, const t2c_conv2d_params *p, const t2c_tensor *x, const t2c_tensor *w,
                     const t2c_tensor *y)
{
    g->Cin = x->dims[1], g->H = x->dims[2], g->W = x->dims[3];
    g->KH = w->dims[2], g->KW = w->dims[3], g->Ho = y->dims[2], g->Wo = y->dims[3];
    g->cin_g = g->Cin / p->group;
    g->sh = p->stride_h, g->sw = p->stride_w, g->dh = p->dilation_h, g->dw = p->dilation_w;
    g->top = p->pad_top, g->left = p->pad_left;
    g->direct = g->KH == 1 && g->KW == 1 && g->sh == 1 && g->sw == 1 && p->pad_top == 0 && p->pad_left == 0 &&
                p->pad_bottom == 0 && p->pad_right == 0;
    g->pad_byte = (uint8_t)p->x_zero_point;
}

const uint8_t *t2c_im2col_row(const t2c_im2col *g, const uint8_t *x, int64_t n, int64_t grp, int64_t k,
                              int64_t p0, int64_t L, uint8_t *tmp)
{
    const int64_t kw = k % g->KW, kh = (k / g->KW) % g->KH, ci = k / (g->KW * g->KH);
    const uint8_t *plane = x + ((n * g->Cin) + grp * g->cin_g + ci) * g->H * g->W;
    if (g->direct)
        return plane + p0;
    /* output columns ow with 0 <= ow*sw + off < W */
    const int64_t off = kw * g->dw - g->left;
    const int64_t ow_lo = off >= 0 ? 0 : (-off + g->sw - 1) / g->sw;
    int64_t ow_hi = g->W - 1 - off;
    ow_hi = ow_hi < 0 ? -1 : ow_hi / g->sw;
    uint8_t *d = tmp;
    for (int64_t p = p0, p1 = p0 + L; p < p1;) {
        const int64_t oh = p / g->Wo, ow0 = p % g->Wo;
        const int64_t cnt = g->Wo - ow0 < p1 - p ? g->Wo - ow0 : p1 - p;
        const int64_t ih = oh * g->sh - g->top + kh * g->dh;
        const int64_t a = ow_lo > ow0 ? ow_lo : ow0;
        const int64_t b = ow_hi < ow0 + cnt - 1 ? ow_hi : ow0 + cnt - 1;
        if (ih < 0 || ih >= g->H || a > b) {
            memset(d, g->pad_byte, (size_t)cnt);
        } else {
            if (a > ow0)
                memset(d, g->pad_byte, (size_t)(a - ow0));
            uint8_t *o = d + (a - ow0);
            const uint8_t *src = plane + ih * g->W + a * g->sw + off;
            if (g->sw == 1)
                memcpy(o, src, (size_t)(b - a + 1));
            else
                for (int64_t j = 0; j <= b - a; j++)
                    o[j] = src[j * g->sw];
            if (b < ow0 + cnt - 1)
                memset(d + (b - ow0 + 1), g->pad_byte, (size_t)(ow0 + cnt - 1 - b));
        }
        d += cnt;
        p += cnt;
    }
    return tmp;
}
