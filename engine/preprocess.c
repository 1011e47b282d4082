/* preprocess.c — image decoding and the torchvision/PIL input pipeline (see preprocess.h).
 *
 * Written from the behaviour of Pillow 9.x (libImaging/Resample.c, Convert.c) and
 * torchvision 0.14 (transforms/functional.py) and checked against them bit for bit by
 * tests/python/test_py_preprocess.py.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>

#include "preprocess.h"
#include "quantize.h"
#include "t2c_op.h"

/* Largest decoded image (bytes) we accept: 1 GiB. */
#define T2C_IMAGE_MAX_BYTES ((uint64_t)1 << 30)

static const char *name_or(const char *name) { return name ? name : "image"; }

static int side_ok(int s) { return s >= 1 && s <= T2C_IMAGE_MAX_SIDE; }

void t2c_image_free(t2c_image *img)
{
    if (!img)
        return;
    free(img->data);
    memset(img, 0, sizeof *img);
}

t2c_status t2c_image_alloc(int width, int height, int channels, t2c_image *out, t2c_error *err)
{
    memset(out, 0, sizeof *out);
    if (!side_ok(width) || !side_ok(height) || (channels != 1 && channels != 3))
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "bad image size %dx%d with %d channels",
                             width, height, channels);
    uint64_t bytes = (uint64_t)width * (uint64_t)height * (uint64_t)channels;
    if (bytes > T2C_IMAGE_MAX_BYTES)
        return t2c_error_set(err, T2C_ERR_LIMIT, "image %dx%d is too large", width, height);
    out->data = calloc((size_t)bytes, 1);
    if (!out->data)
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory for a %dx%d image", width,
                             height);
    out->width = width;
    out->height = height;
    out->channels = channels;
    return T2C_OK;
}

/* ---------- decoding ---------- */

t2c_status t2c_image_load_buffer(const void *data, size_t size, const char *name,
                                 t2c_image *out, t2c_error *err)
{
    memset(out, 0, sizeof *out);
    name = name_or(name);
    if (!data || size == 0)
        return t2c_error_set(err, T2C_ERR_FORMAT, "%s: empty file, not an image", name);
    if (size > INT_MAX)
        return t2c_error_set(err, T2C_ERR_LIMIT, "%s: file too large for an image", name);
    int w = 0, h = 0, n = 0;
    /* Check the declared size before decoding anything. */
    if (!stbi_info_from_memory(data, (int)size, &w, &h, &n))
        return t2c_error_set(err, T2C_ERR_FORMAT, "%s: not a readable image (%s)", name,
                             stbi_failure_reason() ? stbi_failure_reason() : "unknown format");
    if (!side_ok(w) || !side_ok(h) || (uint64_t)w * (uint64_t)h * 4 > T2C_IMAGE_MAX_BYTES)
        return t2c_error_set(err, T2C_ERR_LIMIT, "%s: image %dx%d is too large", name, w, h);
    uint8_t *pix = stbi_load_from_memory(data, (int)size, &w, &h, &n, 0);
    if (!pix)
        return t2c_error_set(err, T2C_ERR_FORMAT, "%s: corrupt image (%s)", name,
                             stbi_failure_reason() ? stbi_failure_reason() : "decode failed");
    if (n < 1 || n > 4) {
        stbi_image_free(pix);
        return t2c_error_set(err, T2C_ERR_UNSUPPORTED, "%s: %d color channels", name, n);
    }
    /* Gray+alpha -> gray, RGBA -> RGB: drop alpha as PIL's convert("L"/"RGB") does. */
    int ch = n <= 2 ? 1 : 3;
    t2c_status st = t2c_image_alloc(w, h, ch, out, err);
    if (st != T2C_OK) {
        stbi_image_free(pix);
        return st;
    }
    size_t npix = (size_t)w * (size_t)h;
    for (size_t i = 0; i < npix; i++)
        for (int c = 0; c < ch; c++)
            out->data[i * ch + c] = pix[i * n + c];
    stbi_image_free(pix);
    return T2C_OK;
}

t2c_status t2c_image_load_file(const char *path, t2c_image *out, t2c_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return t2c_error_set(err, T2C_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    t2c_status st = T2C_OK;
    for (;;) {
        if (len == cap) {
            if (cap >= (size_t)INT_MAX) {
                st = t2c_error_set(err, T2C_ERR_LIMIT, "%s: file too large for an image", path);
                break;
            }
            size_t ncap = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                st = t2c_error_set(err, T2C_ERR_NOMEM, "%s: out of memory reading file", path);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                st = t2c_error_set(err, T2C_ERR_IO, "%s: read error: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st == T2C_OK)
        st = t2c_image_load_buffer(buf, len, path, out, err);
    free(buf);
    return st;
}

/* ---------- color ---------- */

uint8_t t2c_luma601(uint8_t r, uint8_t g, uint8_t b)
{
    /* Pillow's L24: the 601-2 weights in 16-bit fixed point (they sum to 65536), so the
     * result is at most 255. */
    uint32_t v = (uint32_t)r * 19595u + (uint32_t)g * 38470u + (uint32_t)b * 7471u + 0x8000u;
    return (uint8_t)(v >> 16);
}

t2c_status t2c_image_convert(const t2c_image *in, int channels, t2c_image *out, t2c_error *err)
{
    t2c_status st = t2c_image_alloc(in->width, in->height, channels, out, err);
    if (st != T2C_OK)
        return st;
    size_t npix = (size_t)in->width * (size_t)in->height;
    const uint8_t *s = in->data;
    uint8_t *d = out->data;
    if (in->channels == channels) {
        memcpy(d, s, npix * (size_t)channels);
    } else if (channels == 3) {
        for (size_t i = 0; i < npix; i++)
            d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = s[i];
    } else {
        for (size_t i = 0; i < npix; i++)
            d[i] = t2c_luma601(s[3 * i], s[3 * i + 1], s[3 * i + 2]);
    }
    return T2C_OK;
}

/* ---------- resize (PIL BILINEAR) ---------- */

#define RESAMPLE_BITS 22 /* Pillow's PRECISION_BITS for 8-bit images: 32 - 8 - 2 */

/* Fixed-point weights of one axis: output position o reads `count[o]` inputs starting at
 * `first[o]`, with weights w[o * ksize + i] (sum ≈ 2^22). */
typedef struct axis_weights {
    int ksize;
    int *first, *count;
    int32_t *w;
} axis_weights;

static void axis_weights_free(axis_weights *a)
{
    free(a->first);
    free(a->count);
    free(a->w);
}

static double triangle(double x)
{
    if (x < 0.0)
        x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

static t2c_status axis_weights_make(int in_size, int out_size, axis_weights *a, t2c_error *err)
{
    memset(a, 0, sizeof *a);
    /* Downscaling widens the triangle by the scale factor: that is the antialiasing. */
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale;
    a->ksize = (int)ceil(support) * 2 + 1;
    size_t nw = (size_t)out_size * (size_t)a->ksize;
    a->first = malloc((size_t)out_size * sizeof *a->first);
    a->count = malloc((size_t)out_size * sizeof *a->count);
    a->w = calloc(nw, sizeof *a->w);
    double *wd = malloc((size_t)a->ksize * sizeof *wd);
    if (!a->first || !a->count || !a->w || !wd) {
        free(wd);
        axis_weights_free(a);
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory for resize weights");
    }
    double inv = 1.0 / filterscale;
    for (int o = 0; o < out_size; o++) {
        double center = (o + 0.5) * scale;
        /* Bounds rounded by truncating x + 0.5, as Pillow does (clamped to the image). */
        int lo = (int)(center - support + 0.5);
        int hi = (int)(center + support + 0.5);
        if (lo < 0)
            lo = 0;
        if (hi > in_size)
            hi = in_size;
        int n = hi - lo;
        if (n > a->ksize)
            n = a->ksize; /* cannot happen: support bounds the window; keeps writes in range */
        double sum = 0.0;
        for (int i = 0; i < n; i++) {
            wd[i] = triangle((i + lo - center + 0.5) * inv);
            sum += wd[i];
        }
        for (int i = 0; i < n; i++) {
            double v = sum != 0.0 ? wd[i] / sum : wd[i];
            /* Round half away from zero into 22-bit fixed point. */
            double f = v * (double)(1 << RESAMPLE_BITS);
            a->w[(size_t)o * a->ksize + i] = (int32_t)(v < 0 ? f - 0.5 : f + 0.5);
        }
        a->first[o] = lo;
        a->count[o] = n;
    }
    free(wd);
    return T2C_OK;
}

/* Round-half-up of the fixed-point sum (the accumulator starts at 2^21) and clip to 0..255.
 * Bilinear weights are >= 0 and sum to about 2^22, so |acc| < 2^31; int64 for safety. */
static uint8_t clip_fixed(int64_t acc)
{
    int64_t v = acc >> RESAMPLE_BITS; /* arithmetic shift = floor */
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

t2c_status t2c_image_resize_bilinear(const t2c_image *in, int out_w, int out_h, t2c_image *out,
                                     t2c_error *err)
{
    memset(out, 0, sizeof *out);
    if (!side_ok(out_w) || !side_ok(out_h))
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "bad resize target %dx%d", out_w, out_h);
    const int ch = in->channels;
    if (out_w == in->width && out_h == in->height)
        return t2c_image_convert(in, ch, out, err); /* a copy */

    axis_weights wx = {0}, wy = {0};
    t2c_image tmp = {0};
    t2c_status st = axis_weights_make(in->height, out_h, &wy, err);
    if (st != T2C_OK)
        return st;

    /* Horizontal pass, only over the rows the vertical pass reads. */
    const t2c_image *src = in;
    int row0 = 0;
    if (out_w != in->width) {
        row0 = wy.first[0];
        int row_end = wy.first[out_h - 1] + wy.count[out_h - 1];
        st = axis_weights_make(in->width, out_w, &wx, err);
        if (st == T2C_OK)
            st = t2c_image_alloc(out_w, row_end - row0, ch, &tmp, err);
        if (st != T2C_OK)
            goto done;
        for (int y = 0; y < tmp.height; y++) {
            const uint8_t *srow = in->data + (size_t)(y + row0) * in->width * ch;
            uint8_t *drow = tmp.data + (size_t)y * out_w * ch;
            for (int x = 0; x < out_w; x++) {
                const int32_t *k = wx.w + (size_t)x * wx.ksize;
                const uint8_t *sp = srow + (size_t)wx.first[x] * ch;
                for (int c = 0; c < ch; c++) {
                    int64_t acc = (int64_t)1 << (RESAMPLE_BITS - 1);
                    for (int i = 0; i < wx.count[x]; i++)
                        acc += (int64_t)sp[(size_t)i * ch + c] * k[i];
                    drow[(size_t)x * ch + c] = clip_fixed(acc);
                }
            }
        }
        src = &tmp;
    }

    /* Vertical pass (rows of `src` are numbered from row0). */
    if (out_h != in->height) {
        st = t2c_image_alloc(out_w, out_h, ch, out, err);
        if (st != T2C_OK)
            goto done;
        size_t stride = (size_t)out_w * ch;
        for (int y = 0; y < out_h; y++) {
            const int32_t *k = wy.w + (size_t)y * wy.ksize;
            const uint8_t *scol = src->data + (size_t)(wy.first[y] - row0) * stride;
            uint8_t *drow = out->data + (size_t)y * stride;
            for (size_t xc = 0; xc < stride; xc++) {
                int64_t acc = (int64_t)1 << (RESAMPLE_BITS - 1);
                for (int i = 0; i < wy.count[y]; i++)
                    acc += (int64_t)scol[(size_t)i * stride + xc] * k[i];
                drow[xc] = clip_fixed(acc);
            }
        }
    } else {
        *out = tmp; /* only the width changed: the horizontal pass is the result */
        memset(&tmp, 0, sizeof tmp);
    }

done:
    if (st != T2C_OK)
        t2c_image_free(out);
    t2c_image_free(&tmp);
    axis_weights_free(&wx);
    axis_weights_free(&wy);
    return st;
}

void t2c_resize_shorter_dims(int w, int h, int size, int *out_w, int *out_h)
{
    int shorter = w <= h ? w : h, longer = w <= h ? h : w;
    /* Python's int(size * long / short): a true division in double, truncated. */
    int new_long = (int)((double)((int64_t)size * longer) / (double)shorter);
    if (w <= h) {
        *out_w = size;
        *out_h = new_long;
    } else {
        *out_w = new_long;
        *out_h = size;
    }
}

/* ---------- center crop ---------- */

/* Python's int(round(d / 2.0)) for d >= 0: halves round to even. */
static int half_round_even(int d)
{
    int q = d / 2;
    if (d % 2 == 0)
        return q;
    return (q % 2 == 0) ? q : q + 1;
}

void t2c_center_crop_offsets(int w, int h, int crop_w, int crop_h, int *left, int *top)
{
    /* torchvision pads a too-small side by (crop - side) // 2 before, then crops at 0. */
    *left = crop_w > w ? -((crop_w - w) / 2) : half_round_even(w - crop_w);
    *top = crop_h > h ? -((crop_h - h) / 2) : half_round_even(h - crop_h);
}

t2c_status t2c_image_center_crop(const t2c_image *in, int crop_w, int crop_h, t2c_image *out,
                                 t2c_error *err)
{
    t2c_status st = t2c_image_alloc(crop_w, crop_h, in->channels, out, err);
    if (st != T2C_OK)
        return st;
    int left, top;
    t2c_center_crop_offsets(in->width, in->height, crop_w, crop_h, &left, &top);
    const int ch = in->channels;
    for (int y = 0; y < crop_h; y++) {
        int sy = y + top;
        if (sy < 0 || sy >= in->height)
            continue; /* zero padding */
        for (int x = 0; x < crop_w; x++) {
            int sx = x + left;
            if (sx < 0 || sx >= in->width)
                continue;
            memcpy(out->data + ((size_t)y * crop_w + x) * ch,
                   in->data + ((size_t)sy * in->width + sx) * ch, (size_t)ch);
        }
    }
    return T2C_OK;
}

/* ---------- model metadata ---------- */

static t2c_status meta_floats(const t2c_model *model, const char *key, int channels,
                              float def, float *out, t2c_error *err)
{
    const t2c_attr *a = t2c_model_meta(model, key);
    for (int c = 0; c < channels; c++)
        out[c] = def;
    if (!a)
        return T2C_OK;
    if (a->type == T2C_ATTR_FLOAT) {
        for (int c = 0; c < channels; c++)
            out[c] = (float)a->v.f;
        return T2C_OK;
    }
    if (a->type != T2C_ATTR_FLOATS || (a->count != 1 && a->count != channels))
        return t2c_error_set(err, T2C_ERR_ATTR,
                             "metadata '%s' must be 1 or %d floats", key, channels);
    for (int c = 0; c < channels; c++)
        out[c] = (float)a->v.floats[a->count == 1 ? 0 : c];
    return T2C_OK;
}

t2c_status t2c_preprocess_from_model(const t2c_model *model, t2c_preprocess *pp, t2c_error *err)
{
    memset(pp, 0, sizeof *pp);
    if (t2c_model_input_count(model) < 1)
        return t2c_error_set(err, T2C_ERR_SHAPE, "model has no graph input");
    const t2c_tensor *in = t2c_model_input(model, 0);
    if (in->rank != 4 || in->dims[1] < 1 || in->dims[2] < 1 || in->dims[3] < 1 ||
        in->dims[2] > T2C_IMAGE_MAX_SIDE || in->dims[3] > T2C_IMAGE_MAX_SIDE)
        return t2c_error_set(err, T2C_ERR_SHAPE,
                             "graph input '%s' is not an image tensor [N, C, H, W]", in->name);
    const t2c_attr *a = t2c_model_meta(model, "input.layout");
    if (a && (a->type != T2C_ATTR_STRING || strcmp(a->v.s, "NCHW") != 0))
        return t2c_error_set(err, T2C_ERR_UNSUPPORTED, "metadata 'input.layout' must be NCHW");

    pp->channels = (int)in->dims[1];
    a = t2c_model_meta(model, "input.color");
    if (a) {
        int want = 0;
        if (a->type == T2C_ATTR_STRING && strcmp(a->v.s, "RGB") == 0)
            want = 3;
        else if (a->type == T2C_ATTR_STRING && strcmp(a->v.s, "GRAY") == 0)
            want = 1;
        if (!want)
            return t2c_error_set(err, T2C_ERR_ATTR, "metadata 'input.color' must be RGB or GRAY");
        if (want != pp->channels)
            return t2c_error_set(err, T2C_ERR_SHAPE,
                                 "metadata 'input.color' does not match the %d input channels",
                                 pp->channels);
    }
    if (pp->channels != 1 && pp->channels != 3)
        return t2c_error_set(err, T2C_ERR_SHAPE, "graph input '%s' has %d channels (need 1 or 3)",
                             in->name, pp->channels);
    pp->height = (int)in->dims[2];
    pp->width = (int)in->dims[3];

    a = t2c_model_meta(model, "preprocess.resize");
    if (a) {
        if (a->type != T2C_ATTR_INT || a->v.i < 0 || a->v.i > T2C_IMAGE_MAX_SIDE)
            return t2c_error_set(err, T2C_ERR_ATTR,
                                 "metadata 'preprocess.resize' must be an int in 0..%d",
                                 T2C_IMAGE_MAX_SIDE);
        pp->resize = (int)a->v.i;
    }
    a = t2c_model_meta(model, "preprocess.resize_mode");
    if (a) {
        if (a->type == T2C_ATTR_STRING && strcmp(a->v.s, "shorter") == 0)
            pp->resize_exact = 0;
        else if (a->type == T2C_ATTR_STRING && strcmp(a->v.s, "exact") == 0)
            pp->resize_exact = 1;
        else
            return t2c_error_set(err, T2C_ERR_ATTR,
                                 "metadata 'preprocess.resize_mode' must be shorter or exact");
    }
    a = t2c_model_meta(model, "preprocess.interpolation");
    if (a && (a->type != T2C_ATTR_STRING || strcmp(a->v.s, "bilinear") != 0))
        return t2c_error_set(err, T2C_ERR_UNSUPPORTED,
                             "metadata 'preprocess.interpolation': only bilinear is supported");
    a = t2c_model_meta(model, "preprocess.crop");
    if (a) {
        if (a->type != T2C_ATTR_INTS || a->count != 2 || a->v.ints[0] < 1 || a->v.ints[1] < 1 ||
            a->v.ints[0] > T2C_IMAGE_MAX_SIDE || a->v.ints[1] > T2C_IMAGE_MAX_SIDE)
            return t2c_error_set(err, T2C_ERR_ATTR,
                                 "metadata 'preprocess.crop' must be two ints [h, w] >= 1");
        pp->crop_h = (int)a->v.ints[0];
        pp->crop_w = (int)a->v.ints[1];
    }
    t2c_status st = meta_floats(model, "preprocess.mean", pp->channels, 0.0f, pp->mean, err);
    if (st == T2C_OK)
        st = meta_floats(model, "preprocess.std", pp->channels, 1.0f, pp->std, err);
    if (st != T2C_OK)
        return st;
    for (int c = 0; c < pp->channels; c++)
        if (!(pp->std[c] != 0.0f) || !isfinite(pp->std[c]) || !isfinite(pp->mean[c]))
            return t2c_error_set(err, T2C_ERR_ATTR,
                                 "metadata 'preprocess.std'/'preprocess.mean' not finite/non-zero");

    pp->dtype = in->dtype;
    if (pp->dtype == T2C_FLOAT32) {
        pp->scale = 1.0f;
        return T2C_OK;
    }
    if (pp->dtype != T2C_INT4 && pp->dtype != T2C_UINT4 && pp->dtype != T2C_INT8 &&
        pp->dtype != T2C_UINT8 && pp->dtype != T2C_INT16)
        return t2c_error_set(err, T2C_ERR_DTYPE, "graph input '%s' has dtype %s", in->name,
                             t2c_dtype_name(pp->dtype));
    pp->lo = t2c_dtype_min(pp->dtype);
    pp->hi = t2c_dtype_max(pp->dtype);
    a = t2c_model_meta(model, "input.scale");
    double scale = !a ? 0.0 : a->type == T2C_ATTR_FLOAT ? a->v.f : a->type == T2C_ATTR_INT ? (double)a->v.i : 0.0;
    if (!(scale > 0.0) || !isfinite((float)scale))
        return t2c_error_set(err, T2C_ERR_ATTR,
                             "metadata 'input.scale' (a float > 0) is needed for a %s input",
                             t2c_dtype_name(pp->dtype));
    pp->scale = (float)scale;
    a = t2c_model_meta(model, "input.zero_point");
    if (a) {
        if (a->type != T2C_ATTR_INT || a->v.i < pp->lo || a->v.i > pp->hi)
            return t2c_error_set(err, T2C_ERR_ATTR,
                                 "metadata 'input.zero_point' must be an int in %s's range",
                                 t2c_dtype_name(pp->dtype));
        pp->zero_point = a->v.i;
    }
    return T2C_OK;
}

/* ---------- the pipeline ---------- */

/* "NAME: message" in place, truncating the message when needed. */
static void prefix_message(t2c_error *err, const char *name)
{
    size_t nl = strlen(name), ml = strlen(err->message), cap = sizeof err->message;
    if (nl + 3 > cap)
        return;
    if (nl + 2 + ml + 1 > cap)
        ml = cap - nl - 3;
    memmove(err->message + nl + 2, err->message, ml);
    err->message[nl + 2 + ml] = '\0';
    memcpy(err->message, name, nl);
    err->message[nl] = ':';
    err->message[nl + 1] = ' ';
}

t2c_status t2c_preprocess_pixels(const t2c_preprocess *pp, const t2c_image *img,
                                 const char *name, t2c_image *out, t2c_error *err)
{
    t2c_image a = {0}, b = {0};
    name = name_or(name);
    t2c_status st = t2c_image_convert(img, pp->channels, &a, err);
    if (st == T2C_OK && pp->resize > 0) {
        int w = pp->resize, h = pp->resize;
        if (!pp->resize_exact)
            t2c_resize_shorter_dims(a.width, a.height, pp->resize, &w, &h);
        if (w < 1 || h < 1 || w > T2C_IMAGE_MAX_SIDE || h > T2C_IMAGE_MAX_SIDE) {
            st = t2c_error_set(err, T2C_ERR_LIMIT, "%s: resizing %dx%d gives %dx%d", name,
                               a.width, a.height, w, h);
        } else if (w != a.width || h != a.height) { /* torchvision returns the image as is */
            st = t2c_image_resize_bilinear(&a, w, h, &b, err);
            t2c_image_free(&a);
            a = b;
            memset(&b, 0, sizeof b);
        }
    }
    if (st == T2C_OK && pp->crop_w > 0) {
        st = t2c_image_center_crop(&a, pp->crop_w, pp->crop_h, &b, err);
        t2c_image_free(&a);
        a = b;
        memset(&b, 0, sizeof b);
    }
    if (st == T2C_OK && (a.width != pp->width || a.height != pp->height))
        st = t2c_error_set(err, T2C_ERR_SHAPE,
                           "%s: image is %dx%d after preprocessing, the model needs %dx%d", name,
                           a.width, a.height, pp->width, pp->height);
    if (st != T2C_OK) {
        if (err && strncmp(err->message, name, strlen(name)) != 0)
            prefix_message(err, name);
        t2c_image_free(&a);
        memset(out, 0, sizeof *out);
        return st;
    }
    *out = a;
    return T2C_OK;
}

void t2c_preprocess_normalize(const t2c_preprocess *pp, const t2c_image *pixels, float *out)
{
    const int ch = pixels->channels;
    const size_t npix = (size_t)pixels->width * (size_t)pixels->height;
    for (int c = 0; c < ch; c++) {
        /* float32 throughout, as torch: x / 255 (true division), then (x - mean) / std. */
        const float mean = pp->mean[c], std = pp->std[c];
        float *o = out + (size_t)c * npix;
        for (size_t i = 0; i < npix; i++) {
            float x = (float)pixels->data[i * ch + c] / 255.0f;
            o[i] = (x - mean) / std;
        }
    }
}

/* The kernel of the `quantize` op (ops/quantize.c) on a contiguous run of floats, written
 * into elements [offset, offset + n) of `dst`. */
static void quantize_into(const t2c_preprocess *pp, const float *x, int64_t n, t2c_tensor *dst,
                          int64_t offset)
{
    const t2c_quantize_params qp = {(double)pp->scale, pp->zero_point, pp->lo, pp->hi};
    t2c_tensor xt, yt;
    memset(&xt, 0, sizeof xt);
    xt.name = "preprocessed";
    xt.dtype = T2C_FLOAT32;
    xt.rank = 1;
    xt.dims[0] = n;
    xt.data = (void *)x;
    yt = xt;
    yt.dtype = dst->dtype;
    yt.name = dst->name;
    yt.data = (uint8_t *)dst->data + (size_t)offset * t2c_dtype_mem_size(dst->dtype);
    t2c_quantize_ref(&qp, &xt, &yt, NULL); /* cannot fail */
}

int64_t t2c_preprocess_quantize_one(const t2c_preprocess *pp, float x)
{
    int64_t out = 0;
    t2c_tensor y;
    memset(&y, 0, sizeof y);
    y.dtype = T2C_INT64;
    y.rank = 1;
    y.dims[0] = 1;
    y.data = &out;
    quantize_into(pp, &x, 1, &y, 0);
    return out;
}

t2c_status t2c_preprocess_to_tensor(const t2c_preprocess *pp, const t2c_image *img,
                                    const char *name, t2c_tensor *input, int index,
                                    t2c_error *err)
{
    name = name_or(name);
    if (!input || input->rank != 4 || input->dims[1] != pp->channels ||
        input->dims[2] != pp->height || input->dims[3] != pp->width || index < 0 ||
        index >= input->dims[0] || input->dtype != pp->dtype || !input->data)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG,
                             "%s: input tensor does not match the preprocessing", name);
    t2c_image px = {0};
    t2c_status st = t2c_preprocess_pixels(pp, img, name, &px, err);
    if (st != T2C_OK)
        return st;
    size_t n = (size_t)pp->channels * pp->height * pp->width;
    float *f = malloc(n * sizeof *f);
    if (!f) {
        t2c_image_free(&px);
        return t2c_error_set(err, T2C_ERR_NOMEM, "%s: out of memory", name);
    }
    t2c_preprocess_normalize(pp, &px, f);
    t2c_image_free(&px);
    if (pp->dtype == T2C_FLOAT32) {
        memcpy((float *)input->data + (size_t)index * n, f, n * sizeof *f);
    } else {
        quantize_into(pp, f, (int64_t)n, input, (int64_t)index * (int64_t)n);
    }
    free(f);
    return T2C_OK;
}

t2c_status t2c_preprocess_file(const t2c_preprocess *pp, const char *path, t2c_tensor *input,
                               int index, t2c_error *err)
{
    t2c_image img = {0};
    t2c_status st = t2c_image_load_file(path, &img, err);
    if (st == T2C_OK)
        st = t2c_preprocess_to_tensor(pp, &img, path, input, index, err);
    t2c_image_free(&img);
    return st;
}
