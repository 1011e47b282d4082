/* op_api.c — one op, configured once, called per transaction (t2c_op_api.h).
 *
 * The handle is a bound t2c_node like the executor's, with tensors and buffers of its own: the
 * op def's prepare() runs once at create (it checks attributes and shapes and infers outputs),
 * its reference run() at every call. No model, no session: nothing is shared between handles. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t2c_op.h"
#include "t2c_op_api.h"

#define MAX_IO 16
#define MAX_ATTRS 64

struct t2c_op_handle {
    const t2c_op_def *def;
    t2c_node node;
    int n_inputs, n_outputs;
    t2c_tensor in[MAX_IO], out[MAX_IO];
    t2c_tensor *in_ptr[MAX_IO], *out_ptr[MAX_IO];
    char in_name[MAX_IO][16], out_name[MAX_IO][16];
    void *in_store[MAX_IO];   /* the handle's copy of each input (NULL = omitted) */
    int in_set[MAX_IO];       /* 1 once a value was stored */
    void *out_data[MAX_IO];
    int n_attrs;
    t2c_attr attrs[MAX_ATTRS];
    char *text;               /* copy of the attribute string: names and strings point into it */
    void *params;
    void *scratch;
    size_t scratch_bytes;
    char last_error[512];
};

static size_t bytes_of(const t2c_tensor *t)
{
    return (size_t)t2c_tensor_numel(t) * t2c_dtype_mem_size(t->dtype);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n'))
        *--e = '\0';
    return s;
}

static int parse_int(const char *s, int64_t *out)
{
    if (!*s)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return 0;
    *out = v;
    return 1;
}

static int parse_float(const char *s, double *out)
{
    if (!*s)
        return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end)
        return 0;
    *out = v;
    return 1;
}

/* "[a,b,c]" (s without brackets) -> ints or floats; arrays are malloc'ed (freed with the handle). */
static t2c_status parse_array(t2c_attr *a, char *s, t2c_error *err)
{
    int64_t n = 1;
    for (char *p = s; *p; p++)
        n += *p == ',';
    if (!*trim(s))
        return t2c_error_set(err, T2C_ERR_ATTR, "attribute '%s': empty array", a->name);
    int64_t *ints = calloc((size_t)n, sizeof *ints);
    double *floats = calloc((size_t)n, sizeof *floats);
    if (!ints || !floats) {
        free(ints);
        free(floats);
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    }
    int all_int = 1;
    char *p = s;
    for (int64_t i = 0; i < n; i++) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        char *v = trim(p);
        if (!parse_float(v, &floats[i])) {
            free(ints);
            free(floats);
            return t2c_error_set(err, T2C_ERR_ATTR, "attribute '%s': '%s' is not a number", a->name, v);
        }
        if (!parse_int(v, &ints[i]))
            all_int = 0;
        p = comma ? comma + 1 : p + strlen(p);
    }
    a->count = n;
    if (all_int) {
        a->type = T2C_ATTR_INTS;
        a->v.ints = ints;
        free(floats);
    } else {
        a->type = T2C_ATTR_FLOATS;
        a->v.floats = floats;
        free(ints);
    }
    return T2C_OK;
}

static t2c_status parse_attrs(t2c_op_handle *h, const char *text, t2c_error *err)
{
    h->text = strdup(text ? text : "");
    if (!h->text)
        return t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
    char *p = h->text;
    while (*p) {
        char *semi = strchr(p, ';');
        if (semi)
            *semi = '\0';
        char *item = trim(p);
        p = semi ? semi + 1 : p + strlen(p);
        if (!*item)
            continue;
        char *eq = strchr(item, '=');
        if (!eq)
            return t2c_error_set(err, T2C_ERR_ATTR, "attribute '%s' has no '=value'", item);
        *eq = '\0';
        char *name = trim(item), *val = trim(eq + 1);
        if (!*name)
            return t2c_error_set(err, T2C_ERR_ATTR, "attribute with an empty name");
        for (int i = 0; i < h->n_attrs; i++)
            if (!strcmp(h->attrs[i].name, name))
                return t2c_error_set(err, T2C_ERR_ATTR, "attribute '%s' given twice", name);
        if (h->n_attrs == MAX_ATTRS)
            return t2c_error_set(err, T2C_ERR_LIMIT, "more than %d attributes", MAX_ATTRS);
        t2c_attr *a = &h->attrs[h->n_attrs++];
        a->name = name;
        size_t len = strlen(val);
        if (len >= 2 && val[0] == '[' && val[len - 1] == ']') {
            val[len - 1] = '\0';
            a->type = T2C_ATTR_STRING; /* until parsed: nothing to free */
            t2c_status st = parse_array(a, val + 1, err);
            if (st != T2C_OK)
                return st;
        } else if (parse_int(val, &a->v.i)) {
            a->type = T2C_ATTR_INT;
            a->count = 1;
        } else if (parse_float(val, &a->v.f)) {
            a->type = T2C_ATTR_FLOAT;
            a->count = 1;
        } else {
            a->type = T2C_ATTR_STRING;
            a->v.s = val;
            a->count = (int64_t)len;
        }
    }
    return T2C_OK;
}

/* "int8[1,2,3]" -> dtype/rank/dims; "-" -> omitted (returns 0 with *omitted = 1). */
static t2c_status parse_tensor_spec(char *spec, t2c_tensor *t, int *omitted, t2c_error *err)
{
    char *s = trim(spec);
    *omitted = !strcmp(s, "-");
    if (*omitted)
        return T2C_OK;
    char *br = strchr(s, '[');
    size_t len = strlen(s);
    if (!br || len < 3 || s[len - 1] != ']')
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "input spec '%s' is not DTYPE[d0,d1,...]", s);
    *br = '\0';
    s[len - 1] = '\0';
    t->dtype = t2c_dtype_from_name(trim(s));
    if (t->dtype == T2C_DTYPE_INVALID)
        return t2c_error_set(err, T2C_ERR_DTYPE, "unknown dtype '%s'", trim(s));
    t->rank = 0;
    int64_t numel = 1;
    char *p = br + 1;
    while (*p) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        int64_t d;
        if (!parse_int(trim(p), &d) || d < 1 || d > ((int64_t)1 << 40))
            return t2c_error_set(err, T2C_ERR_SHAPE, "bad dimension '%s'", trim(p));
        if (t->rank == T2C_MAX_RANK)
            return t2c_error_set(err, T2C_ERR_SHAPE, "more than %d dimensions", T2C_MAX_RANK);
        if (numel > ((int64_t)1 << 40) / d)
            return t2c_error_set(err, T2C_ERR_LIMIT, "tensor larger than 2^40 elements");
        numel *= d;
        t->dims[t->rank++] = d;
        p = comma ? comma + 1 : p + strlen(p);
    }
    if (t->rank == 0)
        return t2c_error_set(err, T2C_ERR_SHAPE, "a tensor needs at least one dimension");
    return T2C_OK;
}

/* Split `text` at ';' into at most MAX_IO items (modified in place). Returns the count or -1. */
static int split(char *text, char **items)
{
    int n = 0;
    if (!*trim(text))
        return 0;
    char *p = text;
    for (;;) {
        if (n == MAX_IO)
            return -1;
        char *semi = strchr(p, ';');
        if (semi)
            *semi = '\0';
        items[n++] = p;
        if (!semi)
            return n;
        p = semi + 1;
    }
}

static void handle_error(t2c_op_handle *h, const t2c_error *e)
{
    if (h)
        snprintf(h->last_error, sizeof h->last_error, "%s", e->message);
}

static t2c_status create_inner(t2c_op_handle *h, const char *type, const char *attrs, const char *inputs,
                               const char *outputs, t2c_error *err)
{
    h->def = type ? t2c_op_find(type) : NULL;
    if (!h->def)
        return t2c_error_set(err, T2C_ERR_UNSUPPORTED, "unknown op type '%s'", type ? type : "(null)");
    t2c_status st = parse_attrs(h, attrs, err);
    if (st != T2C_OK)
        return st;

    char *in_text = strdup(inputs ? inputs : ""), *out_text = strdup(outputs ? outputs : "");
    char *items[MAX_IO];
    if (!in_text || !out_text) {
        st = t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
        goto done;
    }
    int n = split(in_text, items);
    if (n < h->def->min_inputs || n > h->def->max_inputs || n < 0) {
        st = t2c_error_set(err, T2C_ERR_INVALID_ARG, "%s takes %d..%d inputs, the spec has %d", type,
                           h->def->min_inputs, h->def->max_inputs, n);
        goto done;
    }
    h->n_inputs = n;
    for (int i = 0; i < n; i++) {
        int omitted;
        snprintf(h->in_name[i], sizeof h->in_name[i], "input%d", i);
        h->in[i].name = h->in_name[i];
        if ((st = parse_tensor_spec(items[i], &h->in[i], &omitted, err)) != T2C_OK)
            goto done;
        if (omitted)
            continue;
        h->in_ptr[i] = &h->in[i];
        h->in_store[i] = calloc(1, bytes_of(&h->in[i]) + 1);
        if (!h->in_store[i]) {
            st = t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    h->n_outputs = h->def->n_outputs;
    if (h->n_outputs > MAX_IO) {
        st = t2c_error_set(err, T2C_ERR_LIMIT, "op has too many outputs");
        goto done;
    }
    n = split(out_text, items);
    if (n != 0 && n != h->n_outputs) {
        st = t2c_error_set(err, T2C_ERR_INVALID_ARG, "%s has %d outputs, the spec has %d", type, h->n_outputs, n);
        goto done;
    }
    for (int i = 0; i < h->n_outputs; i++) {
        snprintf(h->out_name[i], sizeof h->out_name[i], "output%d", i);
        h->out[i].name = h->out_name[i];
        h->out_ptr[i] = &h->out[i];
        char *d = n ? trim(items[i]) : "";
        if (*d && strcmp(d, "-")) {
            h->out[i].dtype = t2c_dtype_from_name(d);
            if (h->out[i].dtype == T2C_DTYPE_INVALID) {
                st = t2c_error_set(err, T2C_ERR_DTYPE, "unknown output dtype '%s'", d);
                goto done;
            }
        }
    }

    h->params = calloc(1, h->def->params_size ? h->def->params_size : 1);
    if (!h->params) {
        st = t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
        goto done;
    }
    h->node.type = h->def->type;
    h->node.name = h->def->type;
    h->node.n_inputs = h->n_inputs;
    h->node.inputs = h->in_ptr;
    h->node.n_outputs = h->n_outputs;
    h->node.outputs = h->out_ptr;
    h->node.n_attrs = h->n_attrs;
    h->node.attrs = h->attrs;
    h->node.params = h->params;
    t2c_error perr = {T2C_OK, ""};
    if ((st = h->def->prepare(&h->node, &perr)) != T2C_OK) {
        st = t2c_error_set(err, st, "%s: %s", type, perr.message);
        goto done;
    }
    for (int i = 0; i < h->n_outputs; i++) {
        if (h->out[i].dtype == T2C_DTYPE_INVALID || h->out[i].rank < 1) {
            st = t2c_error_set(err, T2C_ERR_DTYPE, "%s: output %d needs a dtype in the outputs spec", type, i);
            goto done;
        }
        h->out_data[i] = calloc(1, bytes_of(&h->out[i]) + 1);
        if (!h->out_data[i]) {
            st = t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
            goto done;
        }
        h->out[i].data = h->out_data[i];
    }
    h->scratch_bytes = h->def->scratch_size ? h->def->scratch_size(&h->node) : 0;
    if (h->scratch_bytes && !(h->scratch = malloc(h->scratch_bytes)))
        st = t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
done:
    free(in_text);
    free(out_text);
    return st;
}

t2c_op_handle *t2c_op_create(const char *type, const char *attrs, const char *inputs, const char *outputs,
                             t2c_error *err)
{
    t2c_op_handle *h = calloc(1, sizeof *h);
    if (!h) {
        t2c_error_set(err, T2C_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (create_inner(h, type, attrs, inputs, outputs, err) != T2C_OK) {
        t2c_op_free(h);
        return NULL;
    }
    if (err)
        *err = (t2c_error){T2C_OK, ""};
    return h;
}

void t2c_op_free(t2c_op_handle *h)
{
    if (!h)
        return;
    for (int i = 0; i < h->n_attrs; i++) {
        if (h->attrs[i].type == T2C_ATTR_INTS)
            free((void *)h->attrs[i].v.ints);
        else if (h->attrs[i].type == T2C_ATTR_FLOATS)
            free((void *)h->attrs[i].v.floats);
    }
    for (int i = 0; i < MAX_IO; i++) {
        free(h->in_store[i]);
        free(h->out_data[i]);
    }
    free(h->text);
    free(h->params);
    free(h->scratch);
    free(h);
}

int t2c_op_input_count(const t2c_op_handle *h) { return h ? h->n_inputs : 0; }
int t2c_op_output_count(const t2c_op_handle *h) { return h ? h->n_outputs : 0; }

const t2c_tensor *t2c_op_input(const t2c_op_handle *h, int index)
{
    return h && index >= 0 && index < h->n_inputs ? h->in_ptr[index] : NULL;
}

const t2c_tensor *t2c_op_output(const t2c_op_handle *h, int index)
{
    return h && index >= 0 && index < h->n_outputs ? &h->out[index] : NULL;
}

int64_t t2c_op_input_numel(const t2c_op_handle *h, int index)
{
    const t2c_tensor *t = t2c_op_input(h, index);
    return t ? t2c_tensor_numel(t) : 0;
}

int64_t t2c_op_output_numel(const t2c_op_handle *h, int index)
{
    const t2c_tensor *t = t2c_op_output(h, index);
    return t ? t2c_tensor_numel(t) : 0;
}

const char *t2c_op_last_error(const t2c_op_handle *h) { return h ? h->last_error : "no handle"; }

const void *t2c_op_output_data(const t2c_op_handle *h, int index)
{
    return h && index >= 0 && index < h->n_outputs ? h->out_data[index] : NULL;
}

static t2c_status fail(t2c_op_handle *h, t2c_error *err, t2c_status st, const char *msg, int index)
{
    t2c_error e;
    t2c_error_set(&e, st, "%s: %s %d", h->def->type, msg, index);
    handle_error(h, &e);
    if (err)
        *err = e;
    return st;
}

static t2c_status ok(t2c_op_handle *h, t2c_error *err)
{
    h->last_error[0] = '\0';
    if (err)
        *err = (t2c_error){T2C_OK, ""};
    return T2C_OK;
}

/* int4/uint4 elements must be in range (the kernels assume it); wider types are by construction. */
static int int4_in_range(const t2c_tensor *t, const void *data)
{
    if (!t2c_dtype_is_int4(t->dtype))
        return 1;
    int64_t n = t2c_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        int v = t->dtype == T2C_INT4 ? ((const int8_t *)data)[i] : ((const uint8_t *)data)[i];
        if (v < t2c_dtype_min(t->dtype) || v > t2c_dtype_max(t->dtype))
            return 0;
    }
    return 1;
}

t2c_status t2c_op_set_param(t2c_op_handle *h, int index, const void *data, t2c_error *err)
{
    if (!h)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "no handle");
    if (index < 0 || index >= h->n_inputs || !h->in_ptr[index] || !data)
        return fail(h, err, T2C_ERR_INVALID_ARG, "no data or no such (non-omitted) input", index);
    if (!int4_in_range(&h->in[index], data))
        return fail(h, err, T2C_ERR_INVALID_ARG, "int4/uint4 value out of range in input", index);
    memcpy(h->in_store[index], data, bytes_of(&h->in[index]));
    h->in_set[index] = 1;
    return ok(h, err);
}

t2c_status t2c_op_set_input_int(t2c_op_handle *h, int index, const int32_t *data, int64_t count, t2c_error *err)
{
    if (!h)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "no handle");
    if (index < 0 || index >= h->n_inputs || !h->in_ptr[index] || !data)
        return fail(h, err, T2C_ERR_INVALID_ARG, "no data or no such (non-omitted) input", index);
    t2c_tensor *t = &h->in[index];
    if (count != t2c_tensor_numel(t))
        return fail(h, err, T2C_ERR_SHAPE, "wrong element count for input", index);
    if (t->dtype == T2C_FLOAT32)
        return fail(h, err, T2C_ERR_DTYPE, "float32 input cannot be set from ints:", index);
    for (int64_t i = 0; i < count; i++)
        if (data[i] < t2c_dtype_min(t->dtype) || data[i] > t2c_dtype_max(t->dtype))
            return fail(h, err, T2C_ERR_INVALID_ARG, "value outside the dtype's range in input", index);
    void *saved = t->data;
    t->data = h->in_store[index];
    for (int64_t i = 0; i < count; i++)
        t2c_tensor_set_int(t, i, data[i]);
    t->data = saved;
    h->in_set[index] = 1;
    return ok(h, err);
}

static t2c_status run_with(t2c_op_handle *h, const void *const *inputs, t2c_error *err)
{
    for (int i = 0; i < h->n_inputs; i++) {
        if (!h->in_ptr[i])
            continue;
        if (inputs && inputs[i]) {
            if (!int4_in_range(&h->in[i], inputs[i]))
                return fail(h, err, T2C_ERR_INVALID_ARG, "int4/uint4 value out of range in input", i);
            h->in[i].data = (void *)inputs[i]; /* read only: kernels never write inputs */
        } else if (h->in_set[i]) {
            h->in[i].data = h->in_store[i];
        } else {
            return fail(h, err, T2C_ERR_INVALID_ARG, "no value given for input", i);
        }
    }
    t2c_error kerr = {T2C_OK, ""};
    t2c_status st = h->def->run(&h->node, h->scratch, &kerr);
    if (st != T2C_OK) {
        t2c_error e;
        t2c_error_set(&e, st, "%s: %s", h->def->type, kerr.message);
        handle_error(h, &e);
        if (err)
            *err = e;
        return st;
    }
    return ok(h, err);
}

t2c_status t2c_op_run(t2c_op_handle *h, t2c_error *err)
{
    if (!h)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "no handle");
    return run_with(h, NULL, err);
}

t2c_status t2c_op_call(t2c_op_handle *h, const void *const *inputs, void *const *outputs, t2c_error *err)
{
    if (!h)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "no handle");
    t2c_status st = run_with(h, inputs, err);
    if (st != T2C_OK)
        return st;
    for (int i = 0; i < h->n_outputs; i++)
        if (outputs && outputs[i])
            memcpy(outputs[i], h->out_data[i], bytes_of(&h->out[i]));
    return T2C_OK;
}

t2c_status t2c_op_get_output_int(const t2c_op_handle *h, int index, int32_t *data, int64_t count, t2c_error *err)
{
    if (!h)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "no handle");
    t2c_op_handle *mh = (t2c_op_handle *)h; /* only last_error changes */
    if (index < 0 || index >= h->n_outputs || !data)
        return fail(mh, err, T2C_ERR_INVALID_ARG, "no buffer or no such output", index);
    const t2c_tensor *t = &h->out[index];
    if (count != t2c_tensor_numel(t))
        return fail(mh, err, T2C_ERR_SHAPE, "wrong element count for output", index);
    if (t->dtype == T2C_FLOAT32)
        return fail(mh, err, T2C_ERR_DTYPE, "float32 output cannot be read as ints:", index);
    for (int64_t i = 0; i < count; i++) {
        int64_t v = t2c_tensor_get_int(t, i);
        if (v < INT32_MIN || v > INT32_MAX)
            return fail(mh, err, T2C_ERR_DTYPE, "int64 value outside int32 in output", index);
        data[i] = (int32_t)v;
    }
    return ok(mh, err);
}
