/* session.c — planned buffers for one batch size, the run loop, and hooks.
 *
 * All memory is allocated here, once: one arena for activations (planned by lifetime), one
 * scratch buffer (the largest any op asks for). run() only calls kernels and hooks. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "t2c_exec.h"
#include "t2c_kernels.h"

typedef struct t2c_hook {
    int id;            /* -1 once removed */
    int when;
    char *name_glob;
    char *op_type;
    t2c_hook_fn fn;
    void *user;
} t2c_hook;

struct t2c_session {
    const t2c_model *model;
    t2c_bound_graph g;
    t2c_op_view *views;
    void *arena;
    void *scratch;
    uint64_t arena_bytes, scratch_bytes, activation_sum;
    t2c_hook *hooks;
    int n_hooks, cap_hooks, next_hook_id;
    char *hook_match;   /* n_ops × n_hooks cache: 1 if hook h applies to op o */
    t2c_exec *exec;     /* worker threads (NULL with 1 thread) */
    const t2c_kernel_variant **variant; /* per op: fast kernel, or NULL = the reference run() */
    void **vstate;      /* per op: the variant's packed weights etc. */
    char *fused;        /* per op: 1 if its variant also computes the next op (a requantize) */
};

static int op_watched(const t2c_session *s, int o);

static uint64_t tensor_bytes(const t2c_tensor *t)
{
    return (uint64_t)t2c_tensor_numel(t) * t2c_dtype_mem_size(t->dtype);
}

/* Issue 7: pick each op's kernel (variant or reference), pack its weights and size its
 * scratch, once; the run loop only calls kernels. */
static t2c_status select_kernels(t2c_session *s, const char *backend, int threads, t2c_error *err)
{
    const int no = s->model->n_ops;
    t2c_status st;
    if (threads > 1 && (st = t2c_exec_create(threads, &s->exec, err)) != T2C_OK)
        return st;
    s->variant = calloc((size_t)no + 1, sizeof *s->variant);
    s->vstate = calloc((size_t)no + 1, sizeof *s->vstate);
    if (!s->variant || !s->vstate)
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    for (int o = 0; o < no; o++) {
        t2c_node *nd = &s->g.nodes[o];
        nd->exec = s->exec;
        const t2c_kernel_variant *v = t2c_kernel_select(nd, backend);
        if (!v)
            continue;
        t2c_error verr = {T2C_OK, ""};
        if (v->prepare && (st = v->prepare(nd, &s->vstate[o], &verr)) != T2C_OK)
            return t2c_error_set(err, st, "op '%s' (%s): %s: %s", nd->name, nd->type, v->name, verr.message);
        s->variant[o] = v;
        const size_t need = v->scratch_size ? v->scratch_size(nd, s->vstate[o]) : 0;
        if (need > s->g.scratch[o])
            s->g.scratch[o] = need;
    }
    /* epilogue fusion: op o's int32 output read only by the requantize op o + 1 (not a graph
     * output); used at run time only while no hook watches either op */
    s->fused = calloc((size_t)no + 1, 1);
    if (!s->fused)
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    const t2c_model *m = s->model;
    for (int o = 0; o + 1 < no; o++) {
        const t2c_kernel_variant *v = s->variant[o];
        const t2c_model_op *op = &m->ops[o], *next = &m->ops[o + 1];
        if (!v || !v->fuse_prepare || !v->run_fused || op->n_outputs != 1 || strcmp(next->type, "requantize") != 0 ||
            next->n_inputs < 1 || next->inputs[0] != op->outputs[0])
            continue;
        int readers = 0, is_output = 0;
        for (int k = 0; k < no; k++)
            for (int i = 0; i < m->ops[k].n_inputs; i++)
                readers += m->ops[k].inputs[i] == op->outputs[0];
        for (int k = 0; k < m->n_outputs; k++)
            is_output |= m->outputs[k] == op->outputs[0];
        if (readers == 1 && !is_output && v->fuse_prepare(&s->g.nodes[o], s->vstate[o], &s->g.nodes[o + 1]))
            s->fused[o] = 1, o++;
    }
    return T2C_OK;
}

t2c_status t2c_session_create(const t2c_model *model, int batch, t2c_session **out, t2c_error *err)
{
    t2c_session_options opts = {batch, 1, getenv("T2C_BACKEND")};
    const char *threads = getenv("T2C_THREADS");
    if (threads && *threads)
        opts.threads = atoi(threads);
    return t2c_session_create_ex(model, &opts, out, err);
}

t2c_status t2c_session_create_ex(const t2c_model *model, const t2c_session_options *opts, t2c_session **out,
                                 t2c_error *err)
{
    if (!model || !out || !opts)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "t2c_session_create: NULL argument");
    *out = NULL;
    const int batch = opts->batch;
    const char *backend = opts->backend ? opts->backend : T2C_DEFAULT_BACKEND;
    if (batch < 1 || batch > 65536)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "batch size %d is outside 1..65536", batch);
    if (opts->threads < 1 || opts->threads > T2C_EXEC_MAX_THREADS)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "threads = %d is outside 1..%d", opts->threads,
                             T2C_EXEC_MAX_THREADS);
    if (!t2c_backend_name_valid(backend))
        return t2c_error_set(err, T2C_ERR_INVALID_ARG,
                             "backend '%s' is not ref, blas, simd, auto or a kernel variant's name", backend);
    t2c_session *s = calloc(1, sizeof *s);
    if (!s)
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    s->model = model;
    t2c_status st = t2c_graph_bind(model, batch, &s->g, err);
    if (st != T2C_OK) {
        free(s);
        return st;
    }
    if ((st = select_kernels(s, backend, opts->threads, err)) != T2C_OK) {
        t2c_session_free(s);
        return st;
    }
    const int nt = model->n_tensors, no = model->n_ops;

    /* lifetimes: graph inputs from before op 0; outputs of op i from i; live until the last reader,
     * graph outputs until the end */
    t2c_plan_item *items = calloc((size_t)nt + 1, sizeof *items);
    int *item_tensor = calloc((size_t)nt + 1, sizeof(int));
    if (!items || !item_tensor) {
        free(items), free(item_tensor);
        t2c_session_free(s);
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    }
    int n = 0;
    for (int i = 0; i < nt; i++) {
        const t2c_tensor *t = &s->g.tensors[i];
        if (t->is_const)
            continue;
        items[n].size = tensor_bytes(t);
        items[n].first = model->producer[i]; /* -1 for graph inputs */
        items[n].last = model->last_reader[i] >= 0 ? model->last_reader[i] : items[n].first;
        for (int k = 0; k < model->n_outputs; k++)
            if (model->outputs[k] == i)
                items[n].last = no; /* kept after the run */
        for (int k = 0; k < model->n_inputs; k++)
            if (model->inputs[k] == i) /* never reused: a second run without refilling sees the same input */
                items[n].first = -1, items[n].last = no;
        /* a fused op o also writes op o + 1's output: its inputs must outlive op o + 1 */
        for (int o = 0; o + 1 < no; o++)
            for (int k = 0; s->fused[o] && k < model->ops[o].n_inputs; k++)
                if (model->ops[o].inputs[k] == i && items[n].last < o + 1)
                    items[n].last = o + 1;
        s->activation_sum += items[n].size;
        item_tensor[n++] = i;
    }
    s->arena_bytes = t2c_memory_plan(items, n);
    for (int o = 0; o < no; o++)
        if (s->g.scratch[o] > s->scratch_bytes)
            s->scratch_bytes = s->g.scratch[o];
    s->arena = aligned_alloc(64, (size_t)(s->arena_bytes ? s->arena_bytes : 64));
    s->scratch = aligned_alloc(64, (size_t)((s->scratch_bytes + 63) / 64 * 64 + 64));
    s->views = calloc((size_t)no + 1, sizeof *s->views);
    if (!s->arena || !s->scratch || !s->views) {
        free(items), free(item_tensor);
        t2c_session_free(s);
        return t2c_error_set(err, T2C_ERR_NOMEM, "cannot allocate %llu bytes of activations",
                             (unsigned long long)s->arena_bytes);
    }
    memset(s->arena, 0, (size_t)(s->arena_bytes ? s->arena_bytes : 64));
    for (int k = 0; k < n; k++)
        s->g.tensors[item_tensor[k]].data = (char *)s->arena + items[k].offset;
    free(items), free(item_tensor);

    for (int o = 0; o < no; o++) {
        const t2c_model_op *op = &model->ops[o];
        t2c_node *nd = &s->g.nodes[o];
        t2c_op_view *v = &s->views[o];
        v->index = o;
        v->type = op->type;
        v->name = op->name;
        v->n_inputs = nd->n_inputs;
        v->inputs = (const t2c_tensor *const *)nd->inputs;
        v->input_roles = op->def->input_roles;
        v->n_outputs = nd->n_outputs;
        v->outputs = (const t2c_tensor *const *)nd->outputs;
        v->n_attrs = op->n_attrs;
        v->attrs = op->attrs;
        v->macs = s->g.macs[o];
    }
    *out = s;
    return T2C_OK;
}

void t2c_session_free(t2c_session *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_hooks; i++) {
        free(s->hooks[i].name_glob);
        free(s->hooks[i].op_type);
    }
    free(s->hooks);
    free(s->hook_match);
    for (int o = 0; s->variant && o < s->model->n_ops; o++)
        if (s->variant[o]) {
            if (s->variant[o]->release)
                s->variant[o]->release(s->vstate[o]);
            else
                free(s->vstate[o]);
        }
    free(s->variant);
    free(s->vstate);
    free(s->fused);
    t2c_exec_free(s->exec);
    free(s->views);
    free(s->arena);
    free(s->scratch);
    t2c_graph_unbind(s->model, &s->g);
    free(s);
}

int t2c_session_batch(const t2c_session *s) { return s->g.batch; }

int t2c_session_threads(const t2c_session *s) { return t2c_exec_threads(s->exec); }

const char *t2c_session_op_kernel(const t2c_session *s, int i)
{
    if (!s || i < 0 || i >= s->model->n_ops)
        return NULL;
    if (s->fused && i > 0 && s->fused[i - 1] && !op_watched(s, i - 1) && !op_watched(s, i))
        return "fused"; /* computed by the previous op's kernel (no hook watches either op) */
    return s->variant && s->variant[i] ? s->variant[i]->name : "ref";
}

t2c_tensor *t2c_session_input(t2c_session *s, int i)
{
    return i >= 0 && i < s->model->n_inputs ? &s->g.tensors[s->model->inputs[i]] : NULL;
}

const t2c_tensor *t2c_session_output(const t2c_session *s, int i)
{
    return i >= 0 && i < s->model->n_outputs ? &s->g.tensors[s->model->outputs[i]] : NULL;
}

const t2c_tensor *t2c_session_tensor(const t2c_session *s, const char *name)
{
    int idx = t2c_model_find_tensor(s->model, name);
    return idx >= 0 ? &s->g.tensors[idx] : NULL;
}

int t2c_session_op_count(const t2c_session *s) { return s->model->n_ops; }

const t2c_op_view *t2c_session_op(const t2c_session *s, int i)
{
    return i >= 0 && i < s->model->n_ops ? &s->views[i] : NULL;
}

void t2c_session_memory(const t2c_session *s, t2c_memory_report *r)
{
    memset(r, 0, sizeof *r);
    r->activation_sum_bytes = s->activation_sum;
    r->activation_peak_bytes = s->arena_bytes;
    r->scratch_bytes = s->scratch_bytes;
    for (int i = 0; i < s->model->n_tensors; i++)
        if (s->g.tensors[i].is_const)
            r->parameter_bytes += tensor_bytes(&s->g.tensors[i]);
}

/* ---------- hooks ---------- */

static int hook_applies(const t2c_hook *h, const t2c_model_op *op)
{
    if (h->id < 0)
        return 0;
    if (h->op_type && strcmp(h->op_type, op->type) != 0)
        return 0;
    if (h->name_glob && fnmatch(h->name_glob, op->name, 0) != 0)
        return 0;
    return 1;
}

static t2c_status rebuild_hook_match(t2c_session *s)
{
    free(s->hook_match);
    s->hook_match = NULL;
    if (s->n_hooks == 0)
        return T2C_OK;
    s->hook_match = malloc((size_t)s->model->n_ops * (size_t)s->n_hooks + 1);
    if (!s->hook_match)
        return T2C_ERR_NOMEM;
    for (int o = 0; o < s->model->n_ops; o++)
        for (int h = 0; h < s->n_hooks; h++)
            s->hook_match[(size_t)o * (size_t)s->n_hooks + (size_t)h] =
                (char)hook_applies(&s->hooks[h], &s->model->ops[o]);
    return T2C_OK;
}

int t2c_session_add_hook(t2c_session *s, const t2c_hook_filter *filter, int when, t2c_hook_fn fn,
                         void *user, t2c_error *err)
{
    if (!s || !fn || (when & (T2C_HOOK_BEFORE | T2C_HOOK_AFTER)) == 0 ||
        (when & ~(T2C_HOOK_BEFORE | T2C_HOOK_AFTER)) != 0) {
        t2c_error_set(err, T2C_ERR_INVALID_ARG,
                      "t2c_session_add_hook: need a session, a callback and when = BEFORE and/or AFTER");
        return -1;
    }
    if (s->n_hooks == s->cap_hooks) {
        int cap = s->cap_hooks ? 2 * s->cap_hooks : 4;
        t2c_hook *nh = realloc(s->hooks, sizeof *nh * (size_t)cap);
        if (!nh) {
            t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
            return -1;
        }
        s->hooks = nh;
        s->cap_hooks = cap;
    }
    t2c_hook *h = &s->hooks[s->n_hooks];
    memset(h, 0, sizeof *h);
    h->when = when;
    h->fn = fn;
    h->user = user;
    if (filter && filter->name_glob && !(h->name_glob = strdup(filter->name_glob))) {
        t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
        return -1;
    }
    if (filter && filter->op_type && !(h->op_type = strdup(filter->op_type))) {
        free(h->name_glob);
        t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
        return -1;
    }
    h->id = s->next_hook_id++;
    s->n_hooks++;
    if (rebuild_hook_match(s) != T2C_OK) {
        s->n_hooks--;
        free(h->name_glob);
        free(h->op_type);
        t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
        return -1;
    }
    return h->id;
}

t2c_status t2c_session_remove_hook(t2c_session *s, int id)
{
    for (int i = 0; i < s->n_hooks; i++)
        if (s->hooks[i].id == id) {
            s->hooks[i].id = -1; /* keep slots stable; a removed hook never matches */
            return rebuild_hook_match(s) == T2C_OK ? T2C_OK : T2C_ERR_NOMEM;
        }
    return T2C_ERR_NOT_FOUND;
}

static t2c_status call_hooks(t2c_session *s, int o, int when, t2c_error *err)
{
    for (int h = 0; h < s->n_hooks; h++) {
        const t2c_hook *hk = &s->hooks[h];
        if (!(hk->when & when) || !s->hook_match[(size_t)o * (size_t)s->n_hooks + (size_t)h])
            continue;
        int rc = hk->fn(&s->views[o], when, hk->user);
        if (rc != 0)
            return t2c_error_set(err, T2C_ERR_HOOK, "op '%s' (%s): hook %d stopped the run %s the op (code %d)",
                                 s->views[o].name, s->views[o].type, hk->id,
                                 when == T2C_HOOK_BEFORE ? "before" : "after", rc);
    }
    return T2C_OK;
}

/* 1 if some registered hook applies to op o. */
static int op_watched(const t2c_session *s, int o)
{
    for (int h = 0; h < s->n_hooks; h++)
        if (s->hook_match[(size_t)o * (size_t)s->n_hooks + (size_t)h])
            return 1;
    return 0;
}

t2c_status t2c_session_run(t2c_session *s, t2c_error *err)
{
    if (!s)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "t2c_session_run: NULL session");
    for (int o = 0; o < s->model->n_ops; o++) {
        t2c_status st;
        if (s->fused[o] && !op_watched(s, o) && !op_watched(s, o + 1)) {
            t2c_error kerr = {T2C_OK, ""};
            if ((st = s->variant[o]->run_fused(&s->g.nodes[o], s->vstate[o], s->scratch, &kerr)) != T2C_OK)
                return t2c_error_set(err, st, "op '%s' (%s): %s", s->views[o].name, s->views[o].type,
                                     kerr.message);
            o++; /* the requantize op is done */
            continue;
        }
        if (s->n_hooks && (st = call_hooks(s, o, T2C_HOOK_BEFORE, err)) != T2C_OK)
            return st;
        t2c_error kerr = {T2C_OK, ""};
        st = s->variant[o] ? s->variant[o]->run(&s->g.nodes[o], s->vstate[o], s->scratch, &kerr)
                           : s->model->ops[o].def->run(&s->g.nodes[o], s->scratch, &kerr);
        if (st != T2C_OK)
            return t2c_error_set(err, st, "op '%s' (%s): %s", s->views[o].name, s->views[o].type,
                                 kerr.message);
        if (s->n_hooks && (st = call_hooks(s, o, T2C_HOOK_AFTER, err)) != T2C_OK)
            return st;
    }
    if (err) {
        err->status = T2C_OK;
        err->message[0] = '\0';
    }
    return T2C_OK;
}

/* ---------- one op alone (isolation / what-if) ---------- */

t2c_status t2c_session_run_op(t2c_session *s, int index, const t2c_tensor *const *inputs,
                              const t2c_attr *overrides, int n_overrides, t2c_tensor *const *outputs,
                              const size_t *capacity, t2c_error *err)
{
    if (!s || index < 0 || index >= s->model->n_ops || !outputs || !capacity || (n_overrides > 0 && !overrides))
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "t2c_session_run_op: bad arguments");
    const t2c_model_op *op = &s->model->ops[index];
    const t2c_node *orig = &s->g.nodes[index];
    t2c_status st = T2C_OK;
    int n_attrs = 0;
    t2c_attr *attrs = malloc(sizeof(t2c_attr) * (size_t)(op->n_attrs + n_overrides + 1));
    t2c_tensor *tin = calloc((size_t)op->n_inputs + 1, sizeof(t2c_tensor));
    t2c_tensor *tout = calloc((size_t)op->n_outputs + 1, sizeof(t2c_tensor));
    t2c_tensor **pin = calloc((size_t)op->n_inputs + 1, sizeof(t2c_tensor *));
    t2c_tensor **pout = calloc((size_t)op->n_outputs + 1, sizeof(t2c_tensor *));
    void *params = calloc(1, op->def->params_size ? op->def->params_size : 1);
    void *scratch = NULL;
    if (!attrs || !tin || !tout || !pin || !pout || !params) {
        st = t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < op->n_attrs; i++) {
        int replaced = 0;
        for (int k = 0; k < n_overrides; k++)
            replaced |= strcmp(overrides[k].name, op->attrs[i].name) == 0;
        if (!replaced)
            attrs[n_attrs++] = op->attrs[i];
    }
    for (int k = 0; k < n_overrides; k++)
        attrs[n_attrs++] = overrides[k];
    for (int i = 0; i < op->n_inputs; i++) {
        const t2c_tensor *src = (inputs && inputs[i]) ? inputs[i] : orig->inputs[i];
        if (src) {
            tin[i] = *src;
            pin[i] = &tin[i];
        }
    }
    for (int i = 0; i < op->n_outputs; i++) {
        tout[i] = *orig->outputs[i];
        tout[i].rank = 0;
        tout[i].data = NULL;
        pout[i] = &tout[i];
    }
    t2c_node nd = *orig;
    nd.inputs = pin;
    nd.outputs = pout;
    nd.attrs = attrs;
    nd.n_attrs = n_attrs;
    nd.params = params;
    t2c_error perr = {T2C_OK, ""};
    if ((st = op->def->prepare(&nd, &perr)) != T2C_OK) {
        t2c_error_set(err, st, "op '%s' (%s): %s", op->name, op->type, perr.message);
        goto done;
    }
    for (int i = 0; i < op->n_outputs; i++) {
        size_t need = (size_t)t2c_tensor_numel(&tout[i]) * t2c_dtype_mem_size(tout[i].dtype);
        if (!outputs[i] || !outputs[i]->data || capacity[i] < need) {
            st = t2c_error_set(err, T2C_ERR_INVALID_ARG, "op '%s' (%s): output %d needs %zu bytes", op->name,
                               op->type, i, need);
            goto done;
        }
        tout[i].data = outputs[i]->data;
    }
    size_t ss = op->def->scratch_size ? op->def->scratch_size(&nd) : 0;
    if (ss && !(scratch = malloc(ss))) {
        st = t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
        goto done;
    }
    t2c_error kerr = {T2C_OK, ""};
    if ((st = op->def->run(&nd, scratch, &kerr)) != T2C_OK) {
        t2c_error_set(err, st, "op '%s' (%s): %s", op->name, op->type, kerr.message);
        goto done;
    }
    for (int i = 0; i < op->n_outputs; i++) {
        void *data = outputs[i]->data;
        *outputs[i] = tout[i];
        outputs[i]->data = data;
    }
done:
    free(scratch);
    free(params);
    free(pout);
    free(pin);
    free(tout);
    free(tin);
    free(attrs);
    return st;
}
