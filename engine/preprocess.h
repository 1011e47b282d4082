/* preprocess.h — image loading and the float -> integer input preprocessing of a model.
 *
 * Reproduces, bit for bit, the torchvision 0.14 evaluation pipeline on PIL images
 * (Pillow 9.x) for 8-bit images:
 *   load (stb_image) -> convert to RGB or L -> Resize (PIL BILINEAR, antialiased)
 *   -> CenterCrop -> ToTensor -> Normalize -> quantize (ops/README.md `quantize`).
 * The steps are read from the model metadata (formats/t2c-format.md, `preprocess.*`,
 * `input.*`). Each step is exposed separately so tests and tools can check it alone.
 *
 * Images are 8-bit, interleaved (HWC), 1 (gray) or 3 (RGB) channels.
 * Known differences from PIL: JPEG decoding (stb_image is not libjpeg; a few levels apart
 * on some pixels), 16-bit PNGs (stb keeps the high byte, as PIL does for RGB but not for
 * 16-bit gray "I" images), no EXIF orientation (as torchvision).
 */
#ifndef T2C_PREPROCESS_H
#define T2C_PREPROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "t2c.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct t2c_image {
    int width, height;
    int channels;   /* 1 or 3 */
    uint8_t *data;  /* height × width × channels bytes, row-major, interleaved */
} t2c_image;

/* Largest side accepted by the loader and by the resize/crop steps. */
#define T2C_IMAGE_MAX_SIDE 65536

/* Decode a JPEG/PNG/BMP/... file (anything stb_image reads). The result has the file's
 * own color: 1 channel for gray (and gray+alpha), 3 for RGB (and RGBA: alpha dropped,
 * as PIL's convert("RGB") does). Errors: T2C_ERR_IO (cannot open/read),
 * T2C_ERR_FORMAT (not an image, corrupt), T2C_ERR_LIMIT (side > T2C_IMAGE_MAX_SIDE);
 * the message starts with the path. `out` is zeroed on error. */
t2c_status t2c_image_load_file(const char *path, t2c_image *out, t2c_error *err);
/* The same from memory; `name` stands for the path in messages. */
t2c_status t2c_image_load_buffer(const void *data, size_t size, const char *name,
                                 t2c_image *out, t2c_error *err);
/* A zero-filled image (channels 1 or 3, sides 1..T2C_IMAGE_MAX_SIDE). */
t2c_status t2c_image_alloc(int width, int height, int channels, t2c_image *out,
                           t2c_error *err);
void t2c_image_free(t2c_image *img); /* frees data, zeroes the struct; NULL ok */

/* Color conversion to `channels` (1 or 3), as PIL's convert("L") / convert("RGB"):
 * gray -> RGB replicates; RGB -> gray is ITU-R 601-2 luma in PIL's 16-bit fixed point
 *   L = (R·19595 + G·38470 + B·7471 + 2^15) >> 16
 * (≈ R·299/1000 + G·587/1000 + B·114/1000, rounded). Same channels: a copy. */
t2c_status t2c_image_convert(const t2c_image *in, int channels, t2c_image *out,
                             t2c_error *err);
/* The luma above for one pixel. */
uint8_t t2c_luma601(uint8_t r, uint8_t g, uint8_t b);

/* PIL's Image.resize((out_w, out_h), BILINEAR) for 8-bit images: separable triangle
 * filter whose support is widened by the downscale factor (antialiasing), weights
 * normalised in double then rounded to 22-bit fixed point, horizontal pass then vertical
 * pass, each rounding half up and clipping to 0..255. A pass whose size does not change
 * is skipped (as PIL does). out_w, out_h in 1..T2C_IMAGE_MAX_SIDE. */
t2c_status t2c_image_resize_bilinear(const t2c_image *in, int out_w, int out_h,
                                     t2c_image *out, t2c_error *err);

/* torchvision Resize(size) with an int size on a w×h image: the shorter side becomes
 * `size`, the longer int(size·long/short) (truncated); a square stays square. */
void t2c_resize_shorter_dims(int w, int h, int size, int *out_w, int *out_h);

/* torchvision CenterCrop((crop_h, crop_w)): top = round_half_even((h - crop_h) / 2),
 * left likewise; a crop larger than the image pads with zeros as torchvision does
 * (pad before = (crop - side) / 2, floored). */
t2c_status t2c_image_center_crop(const t2c_image *in, int crop_w, int crop_h,
                                 t2c_image *out, t2c_error *err);
/* The offsets the crop uses (negative when padding). */
void t2c_center_crop_offsets(int w, int h, int crop_w, int crop_h, int *left, int *top);

/* ---------- the whole pipeline of one model ---------- */
typedef struct t2c_preprocess {
    int channels;          /* 1 (input.color GRAY) or 3 (RGB) */
    int resize;            /* 0 = no resize; else the target size */
    int resize_exact;      /* 0: `shorter` (keep aspect), 1: `exact` (resize × resize) */
    int crop_w, crop_h;    /* 0 = no crop */
    int width, height;     /* the model input's spatial size (dims[3], dims[2]) */
    float mean[3], std[3]; /* float32, as torchvision's Normalize uses them */
    t2c_dtype dtype;       /* graph input dtype: an int activation dtype or float32 */
    float scale;           /* input.scale (ignored for a float32 input) */
    int64_t zero_point;    /* input.zero_point */
    int64_t lo, hi;        /* quantize clamp: the dtype's range */
} t2c_preprocess;

/* Read the pipeline from the model's metadata and its first graph input ([N, C, H, W]).
 * Missing `preprocess.*` keys mean "skip the step" (mean 0, std 1); an int input needs
 * `input.scale`. Errors name the key: T2C_ERR_ATTR / T2C_ERR_SHAPE / T2C_ERR_UNSUPPORTED. */
t2c_status t2c_preprocess_from_model(const t2c_model *model, t2c_preprocess *pp,
                                     t2c_error *err);

/* Convert, resize and crop `img` to the model's pixels (pp->width × pp->height,
 * pp->channels). Fails with T2C_ERR_SHAPE when the steps do not end at the model's size
 * (e.g. a model without resize metadata and an image of another size). `name` (the file)
 * is used in messages; may be NULL. */
t2c_status t2c_preprocess_pixels(const t2c_preprocess *pp, const t2c_image *img,
                                 const char *name, t2c_image *out, t2c_error *err);

/* ToTensor + Normalize in float32: out[c][y][x] = ((float)p / 255.0f - mean[c]) / std[c]
 * (CHW, channels × height × width floats). `pixels` must have pp's channels; its size
 * sets the output size. */
void t2c_preprocess_normalize(const t2c_preprocess *pp, const t2c_image *pixels, float *out);

/* The `quantize` op's kernel (t2c_quantize_ref, ops/README.md): inv = 1.0f / scale;
 * r = nearbyintf(x · inv) (ties to even); y = clamp(r + zero_point, lo, hi); NaN -> zero_point. */
int64_t t2c_preprocess_quantize_one(const t2c_preprocess *pp, float x);

/* Load `path`, run the whole pipeline and store the result as image `index` of the
 * batched input tensor `input` ([N, C, H, W] with C, H, W equal to pp's, dtype pp->dtype).
 * Errors name the file. */
t2c_status t2c_preprocess_file(const t2c_preprocess *pp, const char *path, t2c_tensor *input,
                               int index, t2c_error *err);
/* The same for an image already decoded. */
t2c_status t2c_preprocess_to_tensor(const t2c_preprocess *pp, const t2c_image *img,
                                    const char *name, t2c_tensor *input, int index,
                                    t2c_error *err);

#ifdef __cplusplus
}
#endif
#endif /* T2C_PREPROCESS_H */
