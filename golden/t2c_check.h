/* t2c_check.h — bit-exact cross-check of hardware (FPGA/RTL) dumps against the engine.
 *
 * The dumps are files in any format/packing/layout t2c-golden writes, described by a golden
 * manifest (golden/README.md; the golden manifest itself, or an edited copy naming which file
 * is which op's output and how it is encoded). Three pieces:
 *  - decoding (t2c_check_manifest_load, t2c_check_decode): a file back to the logical tensor,
 *    the inverse of every format, word packing, layout and compression the writer produces;
 *  - checking (t2c_check_run): run the model with the reference kernels, compare every dumped
 *    op output element by element, optionally re-run each op alone from the hardware's own
 *    dumped inputs (isolation), and for a mismatching op try the usual hardware bugs;
 *  - reporting (t2c_check_report_print): a table, or JSON for CI.
 */
#ifndef T2C_CHECK_H
#define T2C_CHECK_H

#include <stdint.h>
#include <stdio.h>

#include "t2c.h"
#include "t2c_golden.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One file of the manifest ("files" entry), as needed to decode it. */
typedef struct t2c_check_entry {
    char *path;           /* joined with the dump directory */
    char *op;             /* op name */
    int op_index;
    char *role;           /* "output", "input", "weight", ... */
    char *tensor;         /* tensor name (NULL for attribute arrays) */
    int image;            /* -1 for parameters */
    t2c_dtype dtype;
    int bits, is_signed, is_float;
    int rank;
    int64_t shape[T2C_MAX_RANK];
    t2c_golden_format format;
    int word_bits, elems_per_word, msb_first;
    int zstd;
    int64_t words, elements, stored_elements, pad_value;
    /* layout */
    t2c_golden_view_kind view;
    int view_rank;
    int64_t view_shape[T2C_MAX_RANK];
    t2c_golden_conv conv;  /* im2col / weight_hwc views */
    int hwc;               /* im2col in (kh, kw, c) order */
    int n_axes;
    t2c_golden_axis axes[T2C_GOLDEN_MAX_AXES];
    int tiled;             /* the last four axes are tile rows, tile cols, inner rows, inner cols */
} t2c_check_entry;

typedef struct t2c_check_manifest {
    int n;
    t2c_check_entry *entries;
} t2c_check_manifest;

/* Read a golden manifest. Relative file paths are taken from `dump_dir` (NULL: the manifest's
 * directory). Errors: IO (unreadable), FORMAT (not a manifest, bad entry; the message names the
 * entry and key). */
t2c_status t2c_check_manifest_load(const char *manifest_path, const char *dump_dir,
                                   t2c_check_manifest **out, t2c_error *err);
void t2c_check_manifest_free(t2c_check_manifest *m);

/* Another reading of a file: the usual ways a hardware dump differs from what it claims. */
typedef struct t2c_check_alt {
    int flip_word_order; /* element order inside packed words reversed (lsb <-> msb first) */
    int swap_nhwc;       /* rank-4 data stored NHWC where NCHW is declared, or the reverse */
    int transpose;       /* the last two stored dims transposed (inside tiles, when tiled) */
    int swap_tile_order; /* tiles in column-major order where row-major is declared, or reverse */
} t2c_check_alt;

/* Decode file `e` (read from disk, decompressed) into its logical tensor: numel(e->shape)
 * values into `out`, row-major, int64 (float32 as its bit pattern). alt may be NULL.
 * Errors: IO (unreadable), FORMAT (bad text, wrong number of words/elements: "wrong size"),
 * UNSUPPORTED (an alternative that does not apply). */
t2c_status t2c_check_decode(const t2c_check_entry *e, const t2c_check_alt *alt, int64_t *out,
                            t2c_error *err);

/* ---------- checking ---------- */
#define T2C_CHECK_MAX_REPORT 64

typedef struct t2c_check_mismatch {
    int64_t index;                 /* row-major element index */
    int64_t coord[T2C_MAX_RANK];   /* in the op's output shape (n, c, h, w for images) */
    int64_t expected, actual;
} t2c_check_mismatch;

typedef struct t2c_check_stats {
    int64_t numel, mismatches, max_abs_diff;
    int64_t n_off_by_one, n_larger;  /* |diff| == 1, |diff| > 1 */
    int n_first;
    t2c_check_mismatch first[T2C_CHECK_MAX_REPORT];
} t2c_check_stats;

typedef struct t2c_check_op_result {
    int op_index;
    const char *name, *type;       /* owned by the session's model */
    const char *file;              /* the output dump (NULL: not dumped, not checked) */
    int rank;
    int64_t dims[T2C_MAX_RANK];
    t2c_check_stats full;          /* against the whole reference run */
    int iso_checked;               /* isolation: re-run from the dumped inputs */
    t2c_check_stats iso;
    char diagnosis[256];           /* the hypothesis that makes it match exactly, or "" */
    char waived[160];              /* the waiver's reason when its differences are expected, or "" */
    char skipped[160];             /* why it is not compared (a fused group's earlier member), or "" */
} t2c_check_op_result;

typedef struct t2c_check_report {
    int n_ops;                     /* every op of the model, in execution order */
    t2c_check_op_result *ops;
    int n_checked, n_mismatch, n_iso_mismatch;
    int first_divergent;           /* op index, -1 if none */
    int first_divergent_iso;
    int isolate;
    int image;
    int n_waived, n_skipped;       /* mismatching ops waived; ops not compared (compare-as) */
} t2c_check_report;

typedef struct t2c_check_options {
    int isolate;     /* also re-run every op from the hardware's own dumped inputs */
    int diagnose;    /* try the hypotheses for mismatching ops */
    int max_report;  /* mismatches listed per op, 0..T2C_CHECK_MAX_REPORT */
    int image;       /* which image of the dump; -1 = the first one found */
} t2c_check_options;

/* Run `session` (batch 1; its input already set), compare every op output dumped in `m` for
 * the chosen image and fill a report. Errors: input errors (unreadable dump, wrong size, an
 * entry naming an unknown op or a shape that differs from the model's) with a one-line message. */
t2c_status t2c_check_run(t2c_session *session, const t2c_check_manifest *m,
                         const t2c_check_options *opts, t2c_check_report **out, t2c_error *err);
/* Table (json = 0) or one JSON object (json = 1). */
void t2c_check_report_print(const t2c_check_report *r, int json, int max_report, FILE *f);
void t2c_check_report_free(t2c_check_report *r);

/* ---------- waivers and compare points (check_waive.c) ---------- */
/* Waive expected differences: the file has one waiver per line, "GLOB LIMIT REASON...", where
 * GLOB is an fnmatch(3) pattern on op names, LIMIT "max_diff=N" (every |diff| <= N) or
 * "count=N" (at most N elements differ), REASON the rest of the line; '#' starts a comment.
 * A mismatching op within a matching waiver's limit is reported "waived (REASON)" and no longer
 * counts as a mismatch (n_mismatch, n_iso_mismatch, first_divergent exclude it). The first
 * matching waiver applies. The same file may be JSON instead (chosen when its name ends in
 * ".json" or it starts with '{', or '[' then '{' or ']'): [{"op": GLOB, "max_diff": N | "count": N,
 * "reason": "...", "comment": optional}, ...] or {"waivers": [...]}; unknown keys are errors.
 * Errors: IO (unreadable), FORMAT (bad line with its number; bad JSON with its line; a JSON
 * waiver's missing or bad key with its 1-based position), each message starting with the path. */
t2c_status t2c_check_apply_waivers(t2c_check_report *r, const char *path, t2c_error *err);
/* Hardware that fuses ops compares the group at its last op only: op `op` is not compared
 * (reported "skipped", "fused into TARGET"). `target` must be a later op of the model.
 * Errors: NOT_FOUND (unknown name), INVALID_ARG (target not after op). */
t2c_status t2c_check_apply_compare_as(t2c_check_report *r, const char *op, const char *target,
                                      t2c_error *err);

#ifdef __cplusplus
}
#endif
#endif /* T2C_CHECK_H */
