/* golden_internal.h — the streaming pieces shared by the golden writer sources. */
#ifndef T2C_GOLDEN_INTERNAL_H
#define T2C_GOLDEN_INTERNAL_H

#include <json-c/json.h>

#include "t2c_golden.h"

t2c_status t2c_golden_error(t2c_error *err, t2c_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---------- streaming encoder (golden_format.c) ---------- */

/* Where encoded bytes go: returns 0, or -1 after filling err. */
typedef int (*t2c_golden_sink_fn)(void *ctx, const void *data, size_t size, t2c_error *err);

typedef struct t2c_golden_enc {
    t2c_golden_file_spec spec;
    uint64_t mask;          /* low `bits` bits */
    int is_float, is_signed;
    int word_digits;        /* hex digits per word: ceil(W/4) */
    int lead_digits;        /* zero hex digits above the used bits */
    int lead_bits;          /* zero binary digits above the used bits */
    int word_bytes;         /* raw: ceil(W/8) */
    int addr_digits;        /* hex/bin '@' lines and MIF addresses */
    size_t word_max;        /* most bytes one word can produce (with its address line) */
    int64_t *word;          /* pending elements of a partial word (N) */
    int fill;
    int64_t words_done;
    int64_t elems_done;
    unsigned char *buf;
    size_t len, cap;
    int borrowed;           /* buf belongs to the caller */
    t2c_golden_sink_fn sink;
    void *sink_ctx;
    int failed;
} t2c_golden_enc;

/* Start a file: allocate, write the header into the buffer. spec must come from
 * t2c_golden_spec_init. buf/buf_cap (may be NULL): a text buffer kept by the caller and reused
 * from file to file (grown here when too small; the caller frees it): fresh megabytes per
 * file would cost a page fault every 4 KiB. */
t2c_status t2c_golden_enc_open(t2c_golden_enc *e, const t2c_golden_file_spec *spec,
                               t2c_golden_sink_fn sink, void *sink_ctx, unsigned char **buf,
                               size_t *buf_cap, t2c_error *err);
/* Encode n more values (in stored order). */
t2c_status t2c_golden_enc_put(t2c_golden_enc *e, const int64_t *v, size_t n, t2c_error *err);
/* Whether the rest of the body is exactly the elements' memory image (npy; raw words of whole
 * little-endian elements, LSB first, no unused bits), on a little-endian host: large raw and npy
 * dumps then skip the per-element path and write the tensor's bytes. */
int t2c_golden_enc_is_memory_image(const t2c_golden_enc *e);
/* n elements from the tensor memory `mem` (engine memory type; float32 as stored). */
t2c_status t2c_golden_enc_put_memory(t2c_golden_enc *e, const void *mem, int64_t n, t2c_error *err);
/* Pad the last word, write the trailer, flush everything to the sink. */
t2c_status t2c_golden_enc_close(t2c_golden_enc *e, t2c_error *err);
void t2c_golden_enc_free(t2c_golden_enc *e);

/* ---------- gathering in stored order (golden_layout.c) ---------- */
typedef struct t2c_golden_iter {
    const t2c_golden_plan *plan;
    const void *data;       /* the view's row-major data */
    t2c_dtype mem;          /* how to read it: INT8, UINT8, INT16, INT32, INT64, FLOAT32 (bits) */
    int64_t pad;
    int64_t lstride[T2C_GOLDEN_MAX_AXES];
    int64_t idx[T2C_GOLDEN_MAX_AXES];
    int64_t coord[T2C_MAX_RANK]; /* view coordinate from the outer axes */
    int64_t off;            /* view offset of `coord` (valid when every coord is in range) */
    int64_t inner;          /* position on the innermost axis */
    int64_t done;
    int contiguous;         /* the stored order is the view's row-major order */
    int64_t *owned;         /* materialized view (im2col) */
} t2c_golden_iter;

/* Prepare to gather `plan` from the logical tensor `data` (engine memory type of dtype).
 * Materializes im2col/weight views. */
t2c_status t2c_golden_iter_init(t2c_golden_iter *it, const t2c_golden_plan *plan, const void *data,
                                t2c_dtype dtype, int64_t pad_value, t2c_error *err);
/* Up to `max` next values; returns how many (0 at the end). */
size_t t2c_golden_iter_fill(t2c_golden_iter *it, int64_t *out, size_t max);
void t2c_golden_iter_free(t2c_golden_iter *it);

/* ---------- manifest pieces (golden_manifest.c) ---------- */
/* An op as the manifest shows it: index, name, type, inputs, outputs, attributes, defaults. */
json_object *t2c_golden_op_json(const t2c_op_view *op, int batch);
/* The layout description of one file. */
json_object *t2c_golden_layout_json(const t2c_golden_layout *layout, const t2c_golden_plan *plan,
                                    int64_t pad_in_dtype);
/* The zero point an op applies to the tensor in `role` (input slot >= 0, or output -1), and
 * whether the op has one for it. */
int t2c_golden_zero_point(const t2c_op_view *op, const char *role, int64_t *zp);
/* The op's rounding mode ("half_even", ...) or NULL if it does no rounding. */
const char *t2c_golden_rounding(const t2c_op_view *op);
/* sha256 of a file or buffer as 64 hex digits + NUL. Returns 0 or -1 (unreadable). */
int t2c_golden_sha256_file(const char *path, char hex[65]);
void t2c_golden_sha256_buffer(const void *data, size_t size, char hex[65]);

/* ---------- CRCs (golden_crc.c) ---------- */
/* The CRC's parameters and its check value ("123456789") as a JSON object. */
json_object *t2c_golden_crc_json(const t2c_golden_crc *crc);
/* The manifest "crc" entry of one tensor: the CRC parameters, "value" over the whole packed
 * memory image (the raw format's bytes with `pack`), "tiles" over each tile packed alone. */
t2c_status t2c_golden_crc_file_json(const t2c_golden_crc *crc, const t2c_golden_plan *plan,
                                    const t2c_golden_layout *layout, const void *data, t2c_dtype dtype,
                                    const t2c_golden_packing *pack, json_object **out, t2c_error *err);

/* ---------- AXI-Stream (golden_axis.c) ---------- */
/* Write dir/name (AXI-Stream beats of the stored elements of plan) and describe it in *entry. */
t2c_status t2c_golden_axis_write(const t2c_golden_axis_stream *a, const t2c_golden_plan *plan,
                                 const t2c_golden_layout *layout, const void *data, t2c_dtype dtype,
                                 int64_t pad_value, const char *dir, const char *name, json_object **entry,
                                 t2c_error *err);

/* ---------- partial sums (golden_psum.c) ---------- */
/* The accumulator of conv2d/linear `op` for batch slot `slot` after each slice of k_slice
 * terms of K (order_hwc: conv K in (kh, kw, c) order), as int32 [S, ...op output per image]
 * (malloc'ed into *out). Errors: OVERFLOW (policy "error" and this order leaves acc_bits). */
t2c_status t2c_golden_psum(const t2c_op_view *op, int batch, int slot, int64_t k_slice, int order_hwc,
                           int32_t **out, int *rank, int64_t *dims, t2c_error *err);

/* Write `size` bytes to dir/name through a temporary file and rename. */
t2c_status t2c_golden_write_atomic(const char *dir, const char *name, const void *data,
                                   size_t size, t2c_error *err);

#endif
