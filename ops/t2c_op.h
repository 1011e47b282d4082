/* t2c_op.h — how the executor talks to op kernels.
 *
 * Every op lives in its own file ops/<op>.c and exports:
 *   - a params struct and a reference kernel callable without a graph
 *     (e.g. t2c_conv2d_ref(const t2c_conv2d_params *, x, w, b, y)), which is the spec;
 *   - a t2c_op_def (name t2c_op_<op>) whose prepare() parses attributes into the params
 *     struct, checks dtypes/shapes and infers output shapes, and whose run() calls the kernel.
 * ops/op_registry.c lists every t2c_op_def. Kernels never allocate (scratch is given), never
 * print, never know about hooks or files.
 */
#ifndef T2C_OP_H
#define T2C_OP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "t2c.h"
#include "t2c_int.h"

/* A graph node with its tensors bound (shapes known; data may still be NULL in prepare). */
typedef struct t2c_node {
    const char *type;
    const char *name;
    int n_inputs;
    t2c_tensor **inputs;       /* omitted optional input -> NULL */
    int n_outputs;
    t2c_tensor **outputs;      /* dtype preset from the file; prepare sets rank/dims */
    int n_attrs;
    const t2c_attr *attrs;
    void *params;              /* op_def->params_size bytes, zeroed before prepare */
    struct t2c_exec *exec;     /* worker threads for fast kernels (ops/t2c_exec.h); NULL = 1 thread */
} t2c_node;

typedef struct t2c_op_def {
    const char *type;                /* as spelled in files */
    int min_inputs, max_inputs;
    int n_outputs;
    const char *const *input_roles;  /* max_inputs names: "input", "weight", "bias", ... */
    size_t params_size;
    /* Parse attrs into node->params; check input dtypes/ranks/shapes and attribute ranges;
     * set output rank/dims (and dtype where it is not the file's to choose). Called at model
     * load (batch 1) and again for every session batch size. Message without the op name
     * (the executor prefixes "op 'NAME' (TYPE): "). */
    t2c_status (*prepare)(t2c_node *node, t2c_error *err);
    /* Scratch bytes run() needs (0 if none); called after prepare. NULL = 0. */
    size_t (*scratch_size)(const t2c_node *node);
    /* Multiply-accumulates for the prepared shapes. NULL = 0. */
    int64_t (*macs)(const t2c_node *node);
    /* Compute outputs from inputs with the reference kernel. */
    t2c_status (*run)(t2c_node *node, void *scratch, t2c_error *err);
} t2c_op_def;

/* A fast kernel for an op (issue 7), chosen by the session beside the reference run().
 * It must give exactly the reference's outputs (and statuses) for every node it supports();
 * tests/test_backends.c compares them. One variant per file (ops/<op>_<backend>.c); the
 * list per op is in ops/kernel_registry.c (ops/t2c_kernels.h). */
typedef struct t2c_kernel_variant {
    const char *backend;   /* "blas" or "simd" */
    const char *name;      /* unique, e.g. "conv2d.simd-avx512vnni"; shown by t2c-bench/t2c-info */
    /* 1 when this CPU runs the variant and it reproduces the reference exactly for this
     * prepared node (dtypes, attributes, constant weights, accumulator policy). */
    int (*supports)(const t2c_node *node);
    /* Once per session, after the op's prepare: pack weights etc. into *state (may stay NULL). */
    t2c_status (*prepare)(t2c_node *node, void **state, t2c_error *err);
    /* Scratch bytes for run() with node->exec's thread count. NULL = 0. */
    size_t (*scratch_size)(const t2c_node *node, const void *state);
    t2c_status (*run)(t2c_node *node, void *state, void *scratch, t2c_error *err);
    void (*release)(void *state); /* NULL = free(state) */
    /* Optional epilogue fusion with the requantize node that alone reads this node's int32
     * output: fuse_prepare (once, after prepare) returns 1 if run_fused can compute the
     * requantize's output exactly (its recipe applied to the exact accumulators) in place of
     * both ops; the int32 tensor is then not written. The session uses it only while no hook
     * watches either op, so observers always see every tensor. NULL = never fuses. */
    int (*fuse_prepare)(t2c_node *node, void *state, t2c_node *requantize);
    t2c_status (*run_fused)(t2c_node *node, void *state, void *scratch, t2c_error *err);
} t2c_kernel_variant;

/* Look an op up by type; NULL if unknown. */
const t2c_op_def *t2c_op_find(const char *type);
int t2c_op_registry_count(void);
const t2c_op_def *t2c_op_registry_at(int index);

/* ---- error helper ---- */
t2c_status t2c_error_set(t2c_error *err, t2c_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- attribute helpers (ops/op_attrs.c). All set err and return non-OK on type/range
 * errors; a missing attribute takes `def` unless `required`. ---- */
const t2c_attr *t2c_node_attr(const t2c_node *node, const char *name);
t2c_status t2c_attr_int(const t2c_node *node, const char *name, int required, int64_t def,
                        int64_t lo, int64_t hi, int64_t *out, t2c_error *err);
/* An int array of exactly `count` elements (count < 0: any count >= 1); `def` (may be NULL
 * when required) is used when absent. out points into the model's attribute storage or def. */
t2c_status t2c_attr_ints(const t2c_node *node, const char *name, int required, int64_t count,
                         const int64_t *def, int64_t lo, int64_t hi, const int64_t **out,
                         int64_t *out_count, t2c_error *err);
t2c_status t2c_attr_float(const t2c_node *node, const char *name, int required, double def,
                          double *out, t2c_error *err);
/* A string attribute that must be one of names[0..n-1]; *out = its index. */
t2c_status t2c_attr_enum(const t2c_node *node, const char *name, int required, int def,
                         const char *const *names, int n, int *out, t2c_error *err);
t2c_status t2c_attr_rounding(const t2c_node *node, const char *name, t2c_rounding def,
                             t2c_rounding *out, t2c_error *err);

/* ---- shape/dtype check helpers ---- */
int t2c_dtype_is_int(t2c_dtype d);
int t2c_dtype_is_int4(t2c_dtype d);  /* int4 or uint4 */
/* "[1, 3, 224, 224]" into buf; returns buf. */
const char *t2c_shape_str(const t2c_tensor *t, char *buf, size_t size);

/* Every registered op definition. */
extern const t2c_op_def t2c_op_quantize, t2c_op_dequantize, t2c_op_conv2d, t2c_op_linear,
    t2c_op_matmul, t2c_op_requantize, t2c_op_add, t2c_op_relu, t2c_op_clamp, t2c_op_maxpool2d,
    t2c_op_avgpool2d, t2c_op_global_avgpool, t2c_op_flatten, t2c_op_reshape, t2c_op_concat;
/* Torch2Chip compat ops (binary32 recipes, ops/README.md "Float32 compat ops"). */
extern const t2c_op_def t2c_op_conv2d_f32, t2c_op_mulshift_f32, t2c_op_add_f32, t2c_op_maxpool2d_f32,
    t2c_op_global_avgpool_f32;
/* Transformer ops (ops/README.md "Transformer ops"). */
extern const t2c_op_def t2c_op_transpose, t2c_op_slice, t2c_op_gather, t2c_op_expand, t2c_op_broadcast_add,
    t2c_op_mul, t2c_op_softmax, t2c_op_layernorm, t2c_op_gelu;

#endif /* T2C_OP_H */
