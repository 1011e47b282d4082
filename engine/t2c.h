/* t2c.h — the public API of the t2c integer inference engine.
 *
 * Layers (one-way): formats/ (the .t2c container) -> engine/ (graph, executor, hooks)
 * -> ops/ (reference kernels). Tools, golden writers and checkers use this header only.
 *
 * Conventions
 *  - Every function that can fail returns a t2c_status and, when `err` is not NULL,
 *    fills it with the status and a one-line message naming the file/op and the problem.
 *  - Handles are opaque; every *_free accepts NULL.
 *  - Tensors are row-major, dims outermost first (NCHW for images). INT4/UINT4 tensors are
 *    unpacked in memory: one element per byte (int8_t / uint8_t holding -8..7 / 0..15).
 *    Packing two per byte happens only in files (see formats/t2c-format.md).
 */
#ifndef T2C_H
#define T2C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define T2C_VERSION_STRING "0.1.0"
#define T2C_MAX_RANK 8

typedef enum t2c_status {
    T2C_OK = 0,
    T2C_ERR_IO = 1,          /* cannot open/read/write a file */
    T2C_ERR_FORMAT = 2,      /* corrupt or truncated container */
    T2C_ERR_UNSUPPORTED = 3, /* unknown op, dtype, version or option value */
    T2C_ERR_INVALID_ARG = 4, /* bad argument from the caller */
    T2C_ERR_SHAPE = 5,       /* shapes do not fit the op */
    T2C_ERR_DTYPE = 6,       /* dtype not allowed for the op */
    T2C_ERR_ATTR = 7,        /* missing or invalid op attribute */
    T2C_ERR_NOMEM = 8,       /* allocation failed */
    T2C_ERR_OVERFLOW = 9,    /* accumulator overflow under the "error" policy */
    T2C_ERR_HOOK = 10,       /* a hook asked to stop the run */
    T2C_ERR_LIMIT = 11,      /* a declared size exceeds a configured limit */
    T2C_ERR_NOT_FOUND = 12,  /* no tensor/op/key of that name */
    T2C_STATUS_COUNT
} t2c_status;

typedef struct t2c_error {
    t2c_status status;
    char message[512];
} t2c_error;

/* Short fixed text for a status ("corrupt file", ...). Never NULL. */
const char *t2c_strerror(t2c_status status);

typedef enum t2c_dtype {
    T2C_DTYPE_INVALID = 0,
    T2C_INT4 = 1,   /* stored packed in files, int8_t in memory */
    T2C_UINT4 = 2,  /* stored packed in files, uint8_t in memory */
    T2C_INT8 = 3,
    T2C_UINT8 = 4,
    T2C_INT16 = 5,
    T2C_INT32 = 6,
    T2C_INT64 = 7,
    T2C_FLOAT32 = 8, /* model boundary only */
    T2C_DTYPE_COUNT
} t2c_dtype;

const char *t2c_dtype_name(t2c_dtype dtype);   /* "int8", ...; "invalid" if out of range */
t2c_dtype t2c_dtype_from_name(const char *name); /* T2C_DTYPE_INVALID if unknown */
int t2c_dtype_bits(t2c_dtype dtype);            /* logical width: 4, 8, 16, 32, 64 */
size_t t2c_dtype_mem_size(t2c_dtype dtype);     /* bytes per element in memory (int4 -> 1) */
int64_t t2c_dtype_min(t2c_dtype dtype);         /* integer range; 0 for float32 */
int64_t t2c_dtype_max(t2c_dtype dtype);

typedef struct t2c_tensor {
    const char *name;
    t2c_dtype dtype;
    int rank;
    int64_t dims[T2C_MAX_RANK];
    void *data;      /* unpacked elements, row-major; NULL until planned */
    int is_const;    /* 1 for parameters stored in the model */
} t2c_tensor;

int64_t t2c_tensor_numel(const t2c_tensor *t);
/* Read/write element i of any integer dtype as int64 (float32: truncates; use data directly). */
int64_t t2c_tensor_get_int(const t2c_tensor *t, int64_t i);
void t2c_tensor_set_int(t2c_tensor *t, int64_t i, int64_t value);

/* ---------- op attributes (typed key/values on each op) ---------- */
typedef enum t2c_attr_type {
    T2C_ATTR_INT = 1,    /* int64 */
    T2C_ATTR_FLOAT = 2,  /* float64, boundary ops only */
    T2C_ATTR_STRING = 3,
    T2C_ATTR_INTS = 4,   /* int64 array */
    T2C_ATTR_FLOATS = 5, /* float64 array */
    T2C_ATTR_STRINGS = 6, /* string array (metadata such as labels) */
} t2c_attr_type;

typedef struct t2c_attr {
    const char *name;
    t2c_attr_type type;
    int64_t count; /* elements for arrays, 1 for scalars, bytes for strings */
    union {
        int64_t i;
        double f;
        const char *s;
        const int64_t *ints;
        const double *floats;
        const char *const *strs;
    } v;
} t2c_attr;

/* ---------- model ---------- */
typedef struct t2c_model t2c_model;

typedef struct t2c_load_limits {
    uint64_t max_file_bytes;    /* 0 = default (8 GiB) */
    uint64_t max_tensor_bytes;  /* 0 = default (4 GiB) */
    uint32_t max_tensors;       /* 0 = default (1,000,000) */
    uint32_t max_ops;           /* 0 = default (1,000,000) */
} t2c_load_limits;

t2c_status t2c_model_load_file(const char *path, const t2c_load_limits *limits,
                               t2c_model **out, t2c_error *err);
/* `name` is used in error messages in place of a path. The buffer is copied. */
t2c_status t2c_model_load_buffer(const void *data, size_t size, const char *name,
                                 const t2c_load_limits *limits, t2c_model **out, t2c_error *err);
void t2c_model_free(t2c_model *model);

const char *t2c_model_path(const t2c_model *model);
/* Metadata lookups return NULL/0 when the key is absent or has another type. */
const t2c_attr *t2c_model_meta(const t2c_model *model, const char *key);
int t2c_model_meta_count(const t2c_model *model);
const t2c_attr *t2c_model_meta_at(const t2c_model *model, int index);
/* Class labels ("labels" metadata, a string array): count, and the i-th label or NULL. */
int t2c_model_label_count(const t2c_model *model);
const char *t2c_model_label(const t2c_model *model, int index);

int t2c_model_op_count(const t2c_model *model);
int t2c_model_tensor_count(const t2c_model *model);
/* Shapes as stored in the file (batch 1). */
const t2c_tensor *t2c_model_tensor_at(const t2c_model *model, int index);
int t2c_model_input_count(const t2c_model *model);
int t2c_model_output_count(const t2c_model *model);
const t2c_tensor *t2c_model_input(const t2c_model *model, int index);
const t2c_tensor *t2c_model_output(const t2c_model *model, int index);

/* ---------- ops as hooks and tools see them ---------- */
typedef struct t2c_op_view {
    int index;                 /* position in execution order */
    const char *type;          /* "conv2d", "requantize", ... */
    const char *name;
    int n_inputs;
    const t2c_tensor *const *inputs;   /* an omitted optional input is NULL */
    const char *const *input_roles;    /* "input", "weight", "bias", ... per input */
    int n_outputs;
    const t2c_tensor *const *outputs;
    int n_attrs;
    const t2c_attr *attrs;
    int64_t macs;              /* multiply-accumulates for the current batch (0 if none) */
} t2c_op_view;

const t2c_attr *t2c_op_attr(const t2c_op_view *op, const char *name);

/* ---------- session: planned buffers for one batch size ---------- */
typedef struct t2c_session t2c_session;

t2c_status t2c_session_create(const t2c_model *model, int batch, t2c_session **out,
                              t2c_error *err);

/* Kernels (issue 7). Every op has its reference kernel (the spec, backend "ref"); conv2d,
 * linear, matmul, requantize, add and maxpool2d also have fast variants proven to give the
 * same integers (tests/test_backends.c): "simd" (AVX-512 VNNI / AVX-VNNI / AVX2 int8 kernels,
 * picked by the CPU at run time) and "blas" (OpenBLAS float GEMM, exact by splitting K; ops
 * that are not GEMMs take their simd kernel under "blas").
 * An op whose variant cannot reproduce the recipe exactly (e.g. an accumulator policy that may
 * act) runs the reference. "auto" takes the fastest supported variant per op. A full variant
 * name ("conv2d.simd-avx2") selects that one variant. Outputs do not depend on backend or
 * threads. */
#define T2C_DEFAULT_BACKEND "auto"

typedef struct t2c_session_options {
    int batch;           /* 1..65536 */
    int threads;         /* 1..64; kernels split their outputs across this many threads */
    const char *backend; /* "ref" | "blas" | "simd" | "auto" | a variant name; NULL = T2C_DEFAULT_BACKEND */
} t2c_session_options;

/* t2c_session_create(model, batch, ...) is create_ex with {batch, threads, backend} taken from
 * the environment variables T2C_THREADS (default 1) and T2C_BACKEND (default "auto"), so tools
 * built on it can be switched without a rebuild. Weights are packed for the chosen kernels here,
 * once per session. */
t2c_status t2c_session_create_ex(const t2c_model *model, const t2c_session_options *opts,
                                 t2c_session **out, t2c_error *err);
int t2c_session_threads(const t2c_session *session);
/* Name of the kernel op `index` runs: "ref" or a variant name such as "conv2d.simd-avx512vnni".
 * NULL for a bad index. */
const char *t2c_session_op_kernel(const t2c_session *session, int index);
/* What this build can use on this CPU, e.g. "simd: avx512vnni avxvnni avx2; blas: OpenBLAS
 * 0.3.21 (core Cooperlake)". Never NULL. */
const char *t2c_backends_available(void);
void t2c_session_free(t2c_session *session);

int t2c_session_batch(const t2c_session *session);
t2c_tensor *t2c_session_input(t2c_session *session, int index);
const t2c_tensor *t2c_session_output(const t2c_session *session, int index);
/* Any tensor by name (activations are valid only while their buffer is live: inside a
 * hook for the op that reads or writes them, or after the run for graph outputs). */
const t2c_tensor *t2c_session_tensor(const t2c_session *session, const char *name);
int t2c_session_op_count(const t2c_session *session);
const t2c_op_view *t2c_session_op(const t2c_session *session, int index);

typedef struct t2c_memory_report {
    uint64_t activation_sum_bytes;  /* every activation tensor, if each had its own buffer */
    uint64_t activation_peak_bytes; /* the planned arena */
    uint64_t parameter_bytes;       /* unpacked parameters in memory */
    uint64_t scratch_bytes;         /* largest kernel scratch */
} t2c_memory_report;
void t2c_session_memory(const t2c_session *session, t2c_memory_report *report);

t2c_status t2c_session_run(t2c_session *session, t2c_error *err);

/* Run op `index` alone with the reference kernel, on caller-provided tensors: the basis of
 * isolation mode and what-if diagnosis in cross-checkers.
 *  inputs:     n_inputs of the op; a NULL entry uses the session's own tensor (constants, or the
 *              activation as last computed). Shapes may differ from the session's if the op accepts them.
 *  overrides:  attributes replacing (by name) or added to the op's own, e.g. another rounding mode.
 *  outputs:    n_outputs tensors with data buffers; dtype/rank/dims are set by this call and must fit:
 *              set each output's `data` to a buffer of at least `capacity[i]` bytes.
 * Allocates temporary parameters/scratch (not for the hot path). */
t2c_status t2c_session_run_op(t2c_session *session, int index, const t2c_tensor *const *inputs,
                              const t2c_attr *overrides, int n_overrides, t2c_tensor *const *outputs,
                              const size_t *capacity, t2c_error *err);

/* ---------- hooks: observers called before/after ops ---------- */
enum { T2C_HOOK_BEFORE = 1, T2C_HOOK_AFTER = 2 };

/* Return 0 to continue; any other value stops the run with T2C_ERR_HOOK. During a BEFORE
 * call the outputs are not yet computed; during AFTER both inputs and outputs are valid. */
typedef int (*t2c_hook_fn)(const t2c_op_view *op, int when, void *user);

typedef struct t2c_hook_filter {
    const char *name_glob; /* fnmatch(3) pattern on op names; NULL = all */
    const char *op_type;   /* exact op type; NULL = all */
} t2c_hook_filter;

/* `when` is a mask of T2C_HOOK_BEFORE|T2C_HOOK_AFTER. Hooks run in registration order.
 * The filter strings are copied. Returns an id >= 0, or -1 (with err) on bad arguments. */
int t2c_session_add_hook(t2c_session *session, const t2c_hook_filter *filter, int when,
                         t2c_hook_fn fn, void *user, t2c_error *err);
t2c_status t2c_session_remove_hook(t2c_session *session, int hook_id);

#ifdef __cplusplus
}
#endif
#endif /* T2C_H */
