/* model.c — turns a parsed container into a validated graph.
 *
 * Checks (beyond the container's byte-level ones): every name resolves, ops are known, input
 * and output counts fit each op, activations are written once and read only after, and each
 * op's prepare() accepts its dtypes/shapes/attributes with the output shapes the file declares.
 * Every failure is one line: "<file>: <what>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

static const t2c_model *sort_model;

static int by_name(const void *a, const void *b)
{
    return strcmp(sort_model->tensors[*(const int *)a].name, sort_model->tensors[*(const int *)b].name);
}

int t2c_model_find_tensor(const t2c_model *model, const char *name)
{
    int lo = 0, hi = model->n_tensors - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int idx = model->sorted_names[mid];
        int c = strcmp(name, model->tensors[idx].name);
        if (c == 0)
            return idx;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return -1;
}

void t2c_model_free(t2c_model *m)
{
    if (!m)
        return;
    if (m->ops)
        for (int i = 0; i < m->n_ops; i++) {
            free(m->ops[i].inputs);
            free(m->ops[i].outputs);
        }
    free(m->ops);
    free(m->tensors);
    free(m->inputs);
    free(m->outputs);
    free(m->producer);
    free(m->last_reader);
    free(m->sorted_names);
    t2c_container_free(m->file);
    free(m);
}

static t2c_status fail(t2c_error *err, t2c_status st, const t2c_model *m, const char *fmt, const char *a,
                       const char *b, const char *c)
{
    char what[400];
    snprintf(what, sizeof what, fmt, a, b, c);
    return t2c_error_set(err, st, "%s: %s", m->file->source, what);
}

static t2c_status resolve_graph(t2c_model *m, t2c_error *err)
{
    t2c_container *f = m->file;
    m->n_tensors = f->n_tensors;
    m->n_ops = f->n_ops;
    m->tensors = calloc((size_t)f->n_tensors + 1, sizeof(t2c_tensor));
    m->ops = calloc((size_t)f->n_ops + 1, sizeof(t2c_model_op));
    m->producer = malloc(sizeof(int) * ((size_t)f->n_tensors + 1));
    m->last_reader = malloc(sizeof(int) * ((size_t)f->n_tensors + 1));
    m->sorted_names = malloc(sizeof(int) * ((size_t)f->n_tensors + 1));
    m->inputs = malloc(sizeof(int) * ((size_t)f->n_inputs + 1));
    m->outputs = malloc(sizeof(int) * ((size_t)f->n_outputs + 1));
    if (!m->tensors || !m->ops || !m->producer || !m->last_reader || !m->sorted_names || !m->inputs ||
        !m->outputs)
        return t2c_error_set(err, T2C_ERR_NOMEM, "%s: out of memory", f->source);

    for (int i = 0; i < f->n_tensors; i++) {
        const t2c_container_tensor *ct = &f->tensors[i];
        t2c_tensor *t = &m->tensors[i];
        t->name = ct->name;
        t->dtype = ct->dtype;
        t->rank = ct->rank;
        memcpy(t->dims, ct->dims, sizeof t->dims);
        t->data = ct->data;
        t->is_const = ct->storage != T2C_STORAGE_NONE;
        m->producer[i] = -1;
        m->last_reader[i] = -1;
        m->sorted_names[i] = i;
    }
    sort_model = m;
    qsort(m->sorted_names, (size_t)m->n_tensors, sizeof(int), by_name);
    for (int i = 1; i < m->n_tensors; i++)
        if (strcmp(m->tensors[m->sorted_names[i]].name, m->tensors[m->sorted_names[i - 1]].name) == 0)
            return fail(err, T2C_ERR_FORMAT, m, "tensor name '%s' is used twice%s%s",
                        m->tensors[m->sorted_names[i]].name, "", "");

    char *is_input = calloc((size_t)m->n_tensors + 1, 1);
    if (!is_input)
        return t2c_error_set(err, T2C_ERR_NOMEM, "%s: out of memory", f->source);
    t2c_status st = T2C_OK;
    m->n_inputs = f->n_inputs;
    for (int i = 0; i < f->n_inputs && st == T2C_OK; i++) {
        int idx = t2c_model_find_tensor(m, f->inputs[i]);
        if (idx < 0)
            st = fail(err, T2C_ERR_FORMAT, m, "graph input '%s' is not in the tensor table%s%s", f->inputs[i], "", "");
        else if (m->tensors[idx].is_const)
            st = fail(err, T2C_ERR_FORMAT, m, "graph input '%s' has a payload (it must be an activation)%s%s",
                      f->inputs[i], "", "");
        else if (m->tensors[idx].rank < 1 || m->tensors[idx].dims[0] != 1)
            st = fail(err, T2C_ERR_FORMAT, m, "graph input '%s' must have batch dimension 1 in the file%s%s",
                      f->inputs[i], "", "");
        else {
            m->inputs[i] = idx;
            is_input[idx] = 1;
        }
    }
    if (st == T2C_OK && f->n_inputs < 1)
        st = t2c_error_set(err, T2C_ERR_FORMAT, "%s: the graph has no input", f->source);

    for (int o = 0; o < f->n_ops && st == T2C_OK; o++) {
        const t2c_container_op *co = &f->ops[o];
        t2c_model_op *op = &m->ops[o];
        op->type = co->type;
        op->name = co->name;
        op->def = t2c_op_find(co->type);
        op->n_attrs = co->n_attrs;
        op->attrs = co->attrs;
        if (!op->def) {
            st = fail(err, T2C_ERR_UNSUPPORTED, m, "op '%s': unknown op type '%s'%s", co->name, co->type, "");
            break;
        }
        if (co->n_inputs < op->def->min_inputs || co->n_inputs > op->def->max_inputs ||
            co->n_outputs != op->def->n_outputs) {
            char counts[120];
            snprintf(counts, sizeof counts, "%d inputs and %d outputs (%s takes %d..%d inputs, %d outputs)",
                     co->n_inputs, co->n_outputs, co->type, op->def->min_inputs, op->def->max_inputs,
                     op->def->n_outputs);
            st = fail(err, T2C_ERR_FORMAT, m, "op '%s' (%s): %s", co->name, co->type, counts);
            break;
        }
        op->n_inputs = co->n_inputs;
        op->n_outputs = co->n_outputs;
        op->inputs = malloc(sizeof(int) * ((size_t)co->n_inputs + 1));
        op->outputs = malloc(sizeof(int) * ((size_t)co->n_outputs + 1));
        if (!op->inputs || !op->outputs) {
            st = t2c_error_set(err, T2C_ERR_NOMEM, "%s: out of memory", f->source);
            break;
        }
        for (int i = 0; i < co->n_inputs && st == T2C_OK; i++) {
            if (co->inputs[i][0] == '\0') {
                if (i < op->def->min_inputs)
                    st = fail(err, T2C_ERR_FORMAT, m, "op '%s' (%s): required input %s is omitted", co->name,
                              co->type, op->def->input_roles[i]);
                op->inputs[i] = -1;
                continue;
            }
            int idx = t2c_model_find_tensor(m, co->inputs[i]);
            if (idx < 0) {
                st = fail(err, T2C_ERR_FORMAT, m, "op '%s': input '%s' is not in the tensor table%s", co->name,
                          co->inputs[i], "");
            } else if (!m->tensors[idx].is_const && !is_input[idx] && m->producer[idx] < 0) {
                st = fail(err, T2C_ERR_FORMAT, m,
                          "op '%s': input '%s' is read before any op writes it (ops must be in execution order)%s",
                          co->name, co->inputs[i], "");
            } else {
                op->inputs[i] = idx;
                m->last_reader[idx] = o;
            }
        }
        for (int i = 0; i < co->n_outputs && st == T2C_OK; i++) {
            int idx = t2c_model_find_tensor(m, co->outputs[i]);
            if (idx < 0)
                st = fail(err, T2C_ERR_FORMAT, m, "op '%s': output '%s' is not in the tensor table%s", co->name,
                          co->outputs[i], "");
            else if (m->tensors[idx].is_const || is_input[idx])
                st = fail(err, T2C_ERR_FORMAT, m, "op '%s': output '%s' is a constant or a graph input%s",
                          co->name, co->outputs[i], "");
            else if (m->producer[idx] >= 0)
                st = fail(err, T2C_ERR_FORMAT, m, "op '%s': output '%s' is already written by op '%s'", co->name,
                          co->outputs[i], m->ops[m->producer[idx]].name);
            else {
                op->outputs[i] = idx;
                m->producer[idx] = o;
            }
        }
    }
    m->n_outputs = f->n_outputs;
    if (st == T2C_OK && f->n_outputs < 1)
        st = t2c_error_set(err, T2C_ERR_FORMAT, "%s: the graph has no output", f->source);
    for (int i = 0; i < f->n_outputs && st == T2C_OK; i++) {
        int idx = t2c_model_find_tensor(m, f->outputs[i]);
        if (idx < 0)
            st = fail(err, T2C_ERR_FORMAT, m, "graph output '%s' is not in the tensor table%s%s", f->outputs[i], "", "");
        else if (m->producer[idx] < 0 && !is_input[idx])
            st = fail(err, T2C_ERR_FORMAT, m, "graph output '%s' is not written by any op%s%s", f->outputs[i], "", "");
        else
            m->outputs[i] = idx;
    }
    for (int i = 0; i < m->n_tensors && st == T2C_OK; i++)
        if (!m->tensors[i].is_const && !is_input[i] && m->producer[i] < 0)
            st = fail(err, T2C_ERR_FORMAT, m, "tensor '%s' has no payload and no op writes it%s%s",
                      m->tensors[i].name, "", "");
    free(is_input);
    return st;
}

/* ---------- binding a graph for one batch size ---------- */

void t2c_graph_unbind(const t2c_model *model, t2c_bound_graph *g)
{
    if (g->params)
        for (int i = 0; i < model->n_ops; i++)
            free(g->params[i]);
    free(g->params);
    free(g->tensors);
    free(g->nodes);
    free(g->ptrs);
    free(g->macs);
    free(g->scratch);
    memset(g, 0, sizeof *g);
}

static int same_shape(const t2c_tensor *a, const t2c_tensor *b)
{
    if (a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return 0;
    return 1;
}

t2c_status t2c_graph_bind(const t2c_model *m, int batch, t2c_bound_graph *g, t2c_error *err)
{
    memset(g, 0, sizeof *g);
    g->batch = batch;
    size_t nptr = 0;
    for (int o = 0; o < m->n_ops; o++)
        nptr += (size_t)m->ops[o].n_inputs + (size_t)m->ops[o].n_outputs;
    g->tensors = malloc(sizeof(t2c_tensor) * ((size_t)m->n_tensors + 1));
    g->nodes = calloc((size_t)m->n_ops + 1, sizeof(t2c_node));
    g->ptrs = calloc(nptr + 1, sizeof(t2c_tensor *));
    g->params = calloc((size_t)m->n_ops + 1, sizeof(void *));
    g->macs = calloc((size_t)m->n_ops + 1, sizeof(int64_t));
    g->scratch = calloc((size_t)m->n_ops + 1, sizeof(size_t));
    if (!g->tensors || !g->nodes || !g->ptrs || !g->params || !g->macs || !g->scratch) {
        t2c_graph_unbind(m, g);
        return t2c_error_set(err, T2C_ERR_NOMEM, "%s: out of memory", m->file->source);
    }
    memcpy(g->tensors, m->tensors, sizeof(t2c_tensor) * (size_t)m->n_tensors);
    for (int i = 0; i < m->n_tensors; i++)
        if (!g->tensors[i].is_const) {
            g->tensors[i].data = NULL;
            if (m->producer[i] >= 0)
                g->tensors[i].rank = 0; /* inferred by the producing op */
        }
    for (int i = 0; i < m->n_inputs; i++)
        g->tensors[m->inputs[i]].dims[0] = batch;

    t2c_tensor **p = g->ptrs;
    for (int o = 0; o < m->n_ops; o++) {
        const t2c_model_op *op = &m->ops[o];
        t2c_node *nd = &g->nodes[o];
        nd->type = op->type;
        nd->name = op->name;
        nd->n_inputs = op->n_inputs;
        nd->inputs = p;
        for (int i = 0; i < op->n_inputs; i++)
            *p++ = op->inputs[i] >= 0 ? &g->tensors[op->inputs[i]] : NULL;
        nd->n_outputs = op->n_outputs;
        nd->outputs = p;
        for (int i = 0; i < op->n_outputs; i++)
            *p++ = &g->tensors[op->outputs[i]];
        nd->n_attrs = op->n_attrs;
        nd->attrs = op->attrs;
        g->params[o] = calloc(1, op->def->params_size ? op->def->params_size : 1);
        if (!g->params[o]) {
            t2c_graph_unbind(m, g);
            return t2c_error_set(err, T2C_ERR_NOMEM, "%s: out of memory", m->file->source);
        }
        nd->params = g->params[o];
        t2c_error perr = {T2C_OK, ""};
        t2c_status st = op->def->prepare(nd, &perr);
        if (st != T2C_OK) {
            t2c_error_set(err, st, "%s: op '%s' (%s): %s", m->file->source, op->name, op->type, perr.message);
            t2c_graph_unbind(m, g);
            return st;
        }
        for (int i = 0; i < op->n_outputs; i++) {
            const t2c_tensor *out = nd->outputs[i];
            const t2c_tensor *declared = &m->tensors[op->outputs[i]];
            if (out->dtype != declared->dtype || out->rank < 1 || out->rank > T2C_MAX_RANK ||
                (batch == 1 && !same_shape(out, declared))) {
                char a[160], b[160];
                t2c_error_set(err, T2C_ERR_SHAPE,
                              "%s: op '%s' (%s): output '%s' is declared %s %s but the op produces %s %s",
                              m->file->source, op->name, op->type, out->name, t2c_dtype_name(declared->dtype),
                              t2c_shape_str(declared, a, sizeof a), t2c_dtype_name(out->dtype),
                              t2c_shape_str(out, b, sizeof b));
                t2c_graph_unbind(m, g);
                return T2C_ERR_SHAPE;
            }
        }
        g->macs[o] = op->def->macs ? op->def->macs(nd) : 0;
        g->scratch[o] = op->def->scratch_size ? op->def->scratch_size(nd) : 0;
    }
    return T2C_OK;
}

/* ---------- loading ---------- */

static t2c_status finish_load(t2c_container *c, t2c_model **out, t2c_error *err)
{
    t2c_model *m = calloc(1, sizeof *m);
    if (!m) {
        t2c_container_free(c);
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    }
    m->file = c;
    t2c_status st = resolve_graph(m, err);
    if (st == T2C_OK) {
        t2c_bound_graph g;
        st = t2c_graph_bind(m, 1, &g, err); /* validates every op at batch 1 */
        if (st == T2C_OK)
            t2c_graph_unbind(m, &g);
    }
    if (st != T2C_OK) {
        t2c_model_free(m);
        return st;
    }
    const t2c_attr *labels = t2c_model_meta(m, "labels");
    m->labels = labels && labels->type == T2C_ATTR_STRINGS ? labels : NULL;
    *out = m;
    if (err) {
        err->status = T2C_OK;
        err->message[0] = '\0';
    }
    return T2C_OK;
}

t2c_status t2c_model_load_file(const char *path, const t2c_load_limits *limits, t2c_model **out,
                               t2c_error *err)
{
    if (!path || !out)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "t2c_model_load_file: NULL argument");
    *out = NULL;
    t2c_container *c = NULL;
    t2c_status st = t2c_container_read_file(path, limits, &c, err);
    if (st != T2C_OK)
        return st;
    return finish_load(c, out, err);
}

t2c_status t2c_model_load_buffer(const void *data, size_t size, const char *name,
                                 const t2c_load_limits *limits, t2c_model **out, t2c_error *err)
{
    if (!data || !out)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "t2c_model_load_buffer: NULL argument");
    *out = NULL;
    t2c_container *c = NULL;
    t2c_status st = t2c_container_read_buffer(data, size, name ? name : "<buffer>", limits, &c, err);
    if (st != T2C_OK)
        return st;
    return finish_load(c, out, err);
}

/* ---------- accessors ---------- */

const char *t2c_model_path(const t2c_model *m) { return m->file->source; }

const t2c_attr *t2c_model_meta(const t2c_model *m, const char *key)
{
    for (int i = 0; i < m->file->n_meta; i++)
        if (strcmp(m->file->meta[i].name, key) == 0)
            return &m->file->meta[i];
    return NULL;
}

int t2c_model_meta_count(const t2c_model *m) { return m->file->n_meta; }

const t2c_attr *t2c_model_meta_at(const t2c_model *m, int i)
{
    return i >= 0 && i < m->file->n_meta ? &m->file->meta[i] : NULL;
}

int t2c_model_label_count(const t2c_model *m) { return m->labels ? (int)m->labels->count : 0; }

const char *t2c_model_label(const t2c_model *m, int i)
{
    return m->labels && i >= 0 && i < m->labels->count ? m->labels->v.strs[i] : NULL;
}

int t2c_model_op_count(const t2c_model *m) { return m->n_ops; }
int t2c_model_tensor_count(const t2c_model *m) { return m->n_tensors; }

const t2c_tensor *t2c_model_tensor_at(const t2c_model *m, int i)
{
    return i >= 0 && i < m->n_tensors ? &m->tensors[i] : NULL;
}

int t2c_model_input_count(const t2c_model *m) { return m->n_inputs; }
int t2c_model_output_count(const t2c_model *m) { return m->n_outputs; }

const t2c_tensor *t2c_model_input(const t2c_model *m, int i)
{
    return i >= 0 && i < m->n_inputs ? &m->tensors[m->inputs[i]] : NULL;
}

const t2c_tensor *t2c_model_output(const t2c_model *m, int i)
{
    return i >= 0 && i < m->n_outputs ? &m->tensors[m->outputs[i]] : NULL;
}

const t2c_attr *t2c_op_attr(const t2c_op_view *op, const char *name)
{
    for (int i = 0; i < op->n_attrs; i++)
        if (strcmp(op->attrs[i].name, name) == 0)
            return &op->attrs[i];
    return NULL;
}
