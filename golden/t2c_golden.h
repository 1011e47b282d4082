/* t2c_golden.h — golden vectors for RTL testbenches.
 *
 * For each selected op of a model run and each selected role (input, weight, bias, output,
 * requantize multiplier/shift/offset arrays), the writer dumps the tensor the reference
 * kernels saw or produced, in the file formats hardware flows read ($readmemh, $readmemb,
 * Xilinx COE, Intel MIF, raw little-endian binary, NumPy .npy, decimal text), packed into
 * memory words and arranged in a chosen layout, plus a JSON manifest (manifest.json) that is
 * enough to find and decode every file, and a short human-readable SUMMARY.txt.
 * golden/README.md is the normative description of the formats, the layouts and the manifest.
 *
 * Three levels of API:
 *  - the writer (t2c_golden_writer_*): attach to a session, run, finish — what t2c-golden and
 *    `t2c-run --golden` use, and what an embedding testbench harness uses;
 *  - planning + gathering (t2c_golden_plan_*, t2c_golden_gather): one tensor's elements in
 *    the stored order of a layout, e.g. for a DPI-C model that compares on the fly;
 *  - encoding (t2c_golden_spec_init, t2c_golden_encode): a value array in one file format.
 *
 * Element encoding: two's complement at the element's own width (dtype bits: int4/uint4 4,
 * int8/uint8 8, int16 16, int32 32, int64 64; float32 as its IEEE-754 bit pattern). The writer
 * uses the engine's public hook API only (t2c.h); kernels know nothing of it.
 */
#ifndef T2C_GOLDEN_H
#define T2C_GOLDEN_H

#include <stddef.h>
#include <stdint.h>

#include "t2c.h"

#ifdef __cplusplus
extern "C" {
#endif

#define T2C_GOLDEN_VERSION 1        /* manifest "t2c_golden_version" */
#define T2C_GOLDEN_MAX_AXES 12      /* stored axes of a layout */
#define T2C_GOLDEN_MAX_WORD_BITS 65536

/* ---------- file formats ---------- */
typedef enum t2c_golden_format {
    T2C_GOLDEN_HEX = 0, /* "hex": $readmemh, one word per line, ceil(W/4) hex digits, ".memh" */
    T2C_GOLDEN_BIN = 1, /* "bin": $readmemb, one word per line, W binary digits, ".memb" */
    T2C_GOLDEN_COE = 2, /* "coe": Xilinx COE, radix 16, ".coe" */
    T2C_GOLDEN_MIF = 3, /* "mif": Intel (Altera) MIF, HEX radixes, ".mif" */
    T2C_GOLDEN_RAW = 4, /* "raw": each word as ceil(W/8) little-endian bytes, ".raw" */
    T2C_GOLDEN_NPY = 5, /* "npy": NumPy .npy v1.0 of the stored array (no word packing) */
    T2C_GOLDEN_DEC = 6, /* "dec": decimal text, the elements of one word per line, ".txt" */
    T2C_GOLDEN_FORMAT_COUNT
} t2c_golden_format;

const char *t2c_golden_format_name(t2c_golden_format format); /* "hex", ...; "?" if invalid */
const char *t2c_golden_format_ext(t2c_golden_format format);  /* ".memh", ... */
int t2c_golden_format_from_name(const char *name);             /* -1 if unknown */

/* ---------- word packing ---------- */
typedef struct t2c_golden_packing {
    /* Elements per word N and word width W in bits. Both 0: N = 1, W = element bits.
     * Only N: W = N × bits. Only W: N = floor(W / bits), which must be >= 1. Both: N × bits <= W.
     * W <= T2C_GOLDEN_MAX_WORD_BITS. Bits above N × bits are zero. npy ignores packing. */
    int elems_per_word;
    int word_bits;
    int msb_first;     /* 0: element k of a word at bits [k·b, (k+1)·b) (first element in the
                        * least significant bits); 1: element k at bits [(N-1-k)·b, (N-k)·b) */
    int64_t pad_value; /* fills the last word and tile padding; written as its low b bits */
    int address_lines; /* hex/bin: 1 = "@ADDR" lines (word addresses, hex) */
    uint64_t address_base;  /* address of the first word */
    uint64_t address_every; /* an address line every this many words; 0 = before the first only */
} t2c_golden_packing;

/* ---------- layouts ---------- */
typedef enum t2c_golden_base {
    T2C_GOLDEN_NCHW = 0,     /* "nchw": the engine's row-major order (rank-4: N, C, H, W) */
    T2C_GOLDEN_NHWC = 1,     /* "nhwc": rank-4 tensors permuted to N, H, W, C (weights O, KH, KW, I) */
    T2C_GOLDEN_GEMM = 2,     /* "gemm": conv2d as GEMM, K ordered (c, kh, kw): input im2col
                              * [N, Cin·KH·KW, Ho·Wo], weight [Cout, Cin/g·KH·KW]; other rank-4
                              * tensors [N, C, H·W]; other ranks unchanged */
    T2C_GOLDEN_GEMM_HWC = 3, /* "gemm_hwc": the same with K ordered (kh, kw, c) within a group */
    T2C_GOLDEN_BASE_COUNT
} t2c_golden_base;

const char *t2c_golden_base_name(t2c_golden_base base);
int t2c_golden_base_from_name(const char *name); /* -1 if unknown */

typedef struct t2c_golden_layout {
    t2c_golden_base base;
    /* Tiling of the last two stored dims (rows, cols) into tile_rows × tile_cols tiles, each
     * dim padded up to a multiple of its tile size; a rank-1 tensor is blocked by tile_rows.
     * 0, 0 = no tiling; otherwise both >= 1. */
    int64_t tile_rows, tile_cols;
    int tile_col_major;  /* order of the tiles: 0 row-major, 1 column-major */
    int inner_col_major; /* order of the elements inside a tile: 0 row-major, 1 column-major */
    /* General descriptor ("desc:N,C/32,H,W,C%32", golden/README.md "Layouts"), filled by
     * t2c_golden_desc_parse; n_desc = 0: none. With one, base must be nchw and there are no
     * tiles; tensors of rank desc_rank get one stored axis per term, others their own order. */
    int desc_rank;
    int n_desc;
    struct {
        int dim;       /* tensor dim 0..desc_rank-1 */
        int part;      /* 0: the whole dim; 1: "D/B", the block index; 2: "D%B", inside the block */
        int64_t block; /* B (parts 1, 2) */
    } desc[T2C_GOLDEN_MAX_AXES];
} t2c_golden_layout;

/* Parse a descriptor (with or without the "desc:" prefix) into layout->desc_rank/n_desc/desc
 * (other fields unchanged). INVALID_ARG with a one-line message naming the problem. */
t2c_status t2c_golden_desc_parse(const char *text, t2c_golden_layout *layout, t2c_error *err);
/* The descriptor as text ("N,C/32,H,W,C%32", without the prefix); "" when there is none. */
const char *t2c_golden_desc_format(const t2c_golden_layout *layout, char *buf, size_t size);

/* How the logical tensor becomes the "view" the layout arranges. */
typedef enum t2c_golden_view_kind {
    T2C_GOLDEN_VIEW_IDENTITY = 0, /* the tensor itself */
    T2C_GOLDEN_VIEW_RESHAPE = 1,  /* the same row-major data with other dims */
    T2C_GOLDEN_VIEW_IM2COL = 2,   /* conv2d input as a GEMM matrix (materialized) */
    T2C_GOLDEN_VIEW_WEIGHT_HWC = 3, /* conv2d weight [Cout, KH·KW·Cin/g] in (kh, kw, c) order */
} t2c_golden_view_kind;

typedef struct t2c_golden_conv {
    int64_t cin, h, w, cout, kh, kw, group;
    int64_t stride_h, stride_w, dil_h, dil_w;
    int64_t pad_top, pad_left, pad_bottom, pad_right;
    int64_t ho, wo;
    int64_t x_zero_point; /* the im2col value of a padded position */
} t2c_golden_conv;

/* One stored axis: the stored array is row-major over the axes (last fastest); stored index
 * s = (s_0, ..., s_{m-1}) holds view[c] with c[d] = sum over axes j with dim_j = d of
 * s_j · step_j, or the pad value when some c[d] >= view_dims[d]. */
typedef struct t2c_golden_axis {
    int dim;      /* view dim 0..view_rank-1 */
    int64_t size; /* >= 1 */
    int64_t step; /* >= 1 */
} t2c_golden_axis;

typedef struct t2c_golden_plan {
    int rank;                      /* logical tensor */
    int64_t dims[T2C_MAX_RANK];
    t2c_golden_view_kind view;
    int view_rank;
    int64_t view_dims[T2C_MAX_RANK];
    t2c_golden_conv conv;          /* for IM2COL / WEIGHT_HWC */
    int hwc;                       /* IM2COL: K ordered (kh, kw, c) */
    int n_axes;
    t2c_golden_axis axes[T2C_GOLDEN_MAX_AXES];
    int64_t view_numel;            /* elements of the view (real elements) */
    int64_t stored_numel;          /* product of the axis sizes (with tile padding) */
} t2c_golden_plan;

/* Plan `layout` for a tensor of `rank`/`dims` that plays `role` ("input", "weight", ...) in op
 * `op` (may be NULL: no conv views). Conv views need op->type "conv2d" with its weight input;
 * the tensor must be that op's input ("input") or weight ("weight"). Errors: INVALID_ARG for
 * a bad layout (tiles < 0, one of them 0), SHAPE when a size overflows 2^62. */
t2c_status t2c_golden_plan_tensor(const t2c_golden_layout *layout, const t2c_op_view *op,
                                  const char *role, int rank, const int64_t *dims,
                                  t2c_golden_plan *plan, t2c_error *err);

/* The stored elements of `plan` in order: plan->stored_numel values into out. `data` holds
 * the logical tensor (row-major, rank/dims of the plan) in the engine's memory type for
 * `dtype` (int4 as int8_t, uint4 as uint8_t; float32 values come out as their bit patterns).
 * Padding positions get `pad_value` reduced to the dtype (low bits, sign-extended for signed
 * dtypes). Errors: NOMEM (im2col buffer). */
t2c_status t2c_golden_gather(const t2c_golden_plan *plan, const void *data, t2c_dtype dtype,
                             int64_t pad_value, int64_t *out, t2c_error *err);

/* The element order as text, e.g. "V[s0][s3][s1][s2]" or "V[s0][s2*4+s4][s3*4+s5]"
 * (written into buf, truncated to size; returns buf). */
const char *t2c_golden_plan_formula(const t2c_golden_plan *plan, char *buf, size_t size);

/* `pad_value` reduced to dtype: its low bits, sign-extended for int4/int8/int16/int32. */
int64_t t2c_golden_pad_in_dtype(int64_t pad_value, t2c_dtype dtype);

/* ---------- encoding ---------- */
typedef struct t2c_golden_file_spec {
    t2c_golden_format format;
    t2c_dtype dtype;
    int bits;            /* element bits (from dtype) */
    int elems_per_word;  /* resolved N (1 for npy) */
    int word_bits;       /* resolved W (N × bits for npy/dec) */
    int msb_first;
    int64_t pad_value;
    int address_lines;
    uint64_t address_base, address_every;
    int64_t count;       /* elements before word padding, >= 1 */
    int64_t words;       /* ceil(count / N) */
    int npy_rank;        /* npy: the array shape (product = count); spec_init sets [count];
                          * 0 = a scalar () */
    int64_t npy_dims[T2C_GOLDEN_MAX_AXES];
    char comment[160];   /* COE/MIF header comment; "" = none */
} t2c_golden_file_spec;

/* Resolve `pack` for `count` elements of `dtype` in `format` (see t2c_golden_packing).
 * Errors: INVALID_ARG (format, word width, count), DTYPE (no integer/float32 dtype). */
t2c_status t2c_golden_spec_init(t2c_golden_file_spec *spec, t2c_golden_format format,
                                t2c_dtype dtype, const t2c_golden_packing *pack, int64_t count,
                                t2c_error *err);

/* The whole file for `spec` and spec->count values into a malloc'ed buffer (*out, *size;
 * the caller frees it). */
t2c_status t2c_golden_encode(const t2c_golden_file_spec *spec, const int64_t *values,
                             uint8_t **out, size_t *size, t2c_error *err);

/* ---------- CRCs (golden_crc.c) ---------- */
/* A CRC in the Rocksoft/"catalogue" parameter model: `width` 8..32 bits, `poly` without its
 * top bit, `init` register start, `refin` (bytes are fed LSB first), `refout` (the register is
 * reflected before xorout), `xorout`. width 0 = no CRC. */
typedef struct t2c_golden_crc {
    int width;
    uint32_t poly, init, xorout;
    int refin, refout;
    char name[24];       /* "crc32", "crc16-ccitt" or "custom" */
} t2c_golden_crc;

/* Parse "crc32" (CRC-32/ISO-HDLC), "crc16-ccitt" (CRC-16/CCITT-FALSE) or
 * "custom:poly=P,width=W,init=I,refin=0|1,refout=0|1,xorout=X" (numbers decimal or 0x hex;
 * omitted keys: init 0, refin 0, refout = refin, xorout 0; poly and width required).
 * Errors: INVALID_ARG with a one-line message. */
t2c_status t2c_golden_crc_parse(const char *text, t2c_golden_crc *crc, t2c_error *err);
/* The CRC of `size` bytes. */
uint32_t t2c_golden_crc_compute(const t2c_golden_crc *crc, const void *data, size_t size);

/* ---------- AXI-Stream beats (golden_axis.c) ---------- */
/* One text file of AXI4-Stream beats per tensor (golden/README.md "AXI-Stream"). */
typedef struct t2c_golden_axis_stream {
    int tdata_bytes;  /* TDATA width in bytes, 1..128; 0 = no AXI-Stream files */
    int tlast;        /* TLAST after the last beat of: 0 the frame (file), 1 each stored row
                       * (innermost stored axis), 2 each tile (needs tiling) */
    int lane_pad;     /* 0..15: bits 7..4 of the byte lane of a 4-bit element */
    int throttle;     /* 1 = add per-beat valid-gap / ready-stall columns drawn from seed */
    uint64_t seed;
} t2c_golden_axis_stream;

/* ---------- the writer ---------- */
typedef struct t2c_golden_writer t2c_golden_writer;

typedef struct t2c_golden_progress {
    int64_t ops_done;      /* op × image calls finished */
    int64_t ops_total;     /* selected ops × expected_images (0 if unknown) */
    int64_t files;         /* files written so far */
    uint64_t bytes;        /* bytes written so far */
    double seconds;        /* wall time spent writing (not running ops) */
    double cpu_seconds;    /* CPU time of the writing thread (user + system) */
    const char *op_name;   /* the op just written */
} t2c_golden_progress;

typedef struct t2c_golden_options {
    const char *out_dir;         /* created (with parents) if missing */
    unsigned formats;            /* mask of 1u << t2c_golden_format; 0 = hex only */
    t2c_golden_packing packing;
    t2c_golden_layout layout;
    /* Op selection: an op is written when its name matches one of the fnmatch(3) globs (or
     * there are none) and its type is one of op_types (or there are none). */
    const char *const *op_globs;
    int n_op_globs;
    const char *const *op_types;
    int n_op_types;
    /* Roles: "input", "input_a", "input_b", "weight", "bias", "output", "multiplier",
     * "shift", "offset", or the groups "act" (activations: every non-constant input and
     * output), "param" (constants and attribute arrays), "all". None = all. */
    const char *const *roles;
    int n_roles;
    int zstd_level;              /* 0 = plain files; 1..19: each file zstd-compressed, ".zst" */
    int expected_images;         /* for progress only; 0 = unknown */
    void (*progress)(const t2c_golden_progress *p, void *user);
    void *progress_user;
    /* For the manifest: the model's bytes when it was loaded from a buffer (sha256); NULL =
     * hash the file at t2c_model_path() if it can be read. */
    const void *model_bytes;
    size_t model_size;
    const char *generator;       /* e.g. "t2c-golden 0.1.0" */
    const char *command_line;    /* recorded in the manifest; may be NULL */
    /* CRC of every file's packed memory image and of each of its tiles (width 0 = none);
     * golden/README.md "CRCs". */
    t2c_golden_crc crc;
    /* AXI-Stream beat files next to the other formats (tdata_bytes 0 = none). */
    t2c_golden_axis_stream axis;
    /* Partial sums of conv2d/linear (role "psum"): the accumulator after every psum_k terms of K
     * (0 = none), K in (c, kh, kw) order, or (kh, kw, c) with psum_order_hwc. */
    int64_t psum_k;
    int psum_order_hwc;
    int has_seed;                /* 1: the vectors come from random stimulus drawn with `seed` */
    uint64_t seed;               /* recorded as the manifest's "seed" (null without has_seed) */
} t2c_golden_options;

/* Check the options and create the output directory. The model must outlive the writer. */
t2c_status t2c_golden_writer_create(const t2c_model *model, const t2c_golden_options *options,
                                    t2c_golden_writer **out, t2c_error *err);
/* Register the writer's hook on `session` (a session of the same model, any batch size).
 * Every later t2c_session_run writes the selected ops of every image of the batch. */
t2c_status t2c_golden_writer_attach(t2c_golden_writer *w, t2c_session *session, t2c_error *err);
/* Remove the hook (before freeing the writer while the session lives on). */
void t2c_golden_writer_detach(t2c_golden_writer *w);
/* Number the images of the next run: batch slot k is image `first_image + k`; `source`
 * (copied, may be NULL) is recorded in the manifest as "SOURCE" for a batch of one or
 * "SOURCE#k". Without it, images are numbered on from the previous run (first run: 0). */
t2c_status t2c_golden_writer_next_image(t2c_golden_writer *w, int first_image,
                                        const char *source, t2c_error *err);
/* t2c_session_run, with the writer's own error (e.g. "DIR/x.memh: cannot write: No space
 * left on device") instead of "a hook stopped the run". */
t2c_status t2c_golden_writer_run(t2c_golden_writer *w, t2c_session *session, t2c_error *err);
/* The first error the hook met (status T2C_OK if none). */
const t2c_error *t2c_golden_writer_error(const t2c_golden_writer *w);
/* Write manifest.json and SUMMARY.txt (each atomically). Call once, after the last run. */
t2c_status t2c_golden_writer_finish(t2c_golden_writer *w, t2c_error *err);
void t2c_golden_writer_stats(const t2c_golden_writer *w, t2c_golden_progress *stats);
void t2c_golden_writer_free(t2c_golden_writer *w); /* NULL ok; does not touch the session */

#ifdef __cplusplus
}
#endif
#endif /* T2C_GOLDEN_H */
