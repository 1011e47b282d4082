/* engine_internal.h — the model and session structures shared by the engine sources. */
#ifndef T2C_ENGINE_INTERNAL_H
#define T2C_ENGINE_INTERNAL_H

#include "t2c.h"
#include "t2c_container.h"
#include "t2c_op.h"

/* One op of the model, resolved against the tensor table. */
typedef struct t2c_model_op {
    const t2c_op_def *def;
    const char *type;
    const char *name;
    int n_inputs, n_outputs;
    int *inputs;   /* tensor indices; -1 = omitted optional input */
    int *outputs;
    int n_attrs;
    const t2c_attr *attrs;
} t2c_model_op;

struct t2c_model {
    t2c_container *file;     /* owns every string, attribute and payload */
    int n_tensors;
    t2c_tensor *tensors;     /* file shapes (batch 1); constants point at payloads */
    int n_ops;
    t2c_model_op *ops;
    int n_inputs, n_outputs;
    int *inputs, *outputs;   /* tensor indices */
    int *producer;           /* per tensor: op index writing it, -1 for constants/inputs */
    int *last_reader;        /* per tensor: last op index reading it, -1 if none */
    int *sorted_names;       /* tensor indices sorted by name, for lookups */
    const t2c_attr *labels;  /* "labels" metadata (strings) or NULL */
};

int t2c_model_find_tensor(const t2c_model *model, const char *name);

/* A bound graph for one batch size: tensor copies with inferred shapes, nodes with params.
 * Used by sessions and, at batch 1, by the loader to validate the file. Data pointers of
 * activations are left NULL. */
typedef struct t2c_bound_graph {
    int batch;
    t2c_tensor *tensors;     /* n_tensors copies */
    t2c_node *nodes;         /* n_ops */
    t2c_tensor **ptrs;       /* backing store for node input/output pointer arrays */
    void **params;           /* per op */
    int64_t *macs;           /* per op */
    size_t *scratch;         /* per op */
} t2c_bound_graph;

t2c_status t2c_graph_bind(const t2c_model *model, int batch, t2c_bound_graph *g, t2c_error *err);
void t2c_graph_unbind(const t2c_model *model, t2c_bound_graph *g);

/* ---- memory planning (memory_plan.c) ---- */
typedef struct t2c_plan_item {
    uint64_t size;      /* bytes */
    int first, last;    /* live from op `first` (-1 = before the first op) to op `last` inclusive */
    uint64_t offset;    /* result */
} t2c_plan_item;

/* Greedy best-fit by decreasing size: places every item at the lowest 64-byte aligned offset that
 * does not overlap an already placed item whose lifetime intersects. Returns the arena size. */
uint64_t t2c_memory_plan(t2c_plan_item *items, int n);

#endif
