/* container_write.c — the .t2c writer (formats/t2c-format.md, "Writer rules").
 *
 * Output is a pure function of the calls made: metadata, tensors and ops in insertion order,
 * payloads in tensor order at 64-byte offsets, zero padding, zstd via ZSTD_compress at the
 * caller's level (content size in the frame header), raw when the frame is not smaller. The
 * Python writer (formats/python/t2c/container.py) produces the same bytes.
 *
 * Every argument is validated so that the writer only produces files the reader accepts
 * (graph rules excepted: those are the engine's). A failed call leaves the writer unchanged.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "t2c_container.h"

typedef struct wtensor {
    char *name;
    t2c_dtype dtype;
    int rank;
    int64_t dims[T2C_MAX_RANK];
    int storage;
    uint8_t *bytes;   /* stored payload (packed LE, maybe zstd) */
    uint64_t size;
    uint32_t crc;
    uint64_t offset;  /* assigned at serialization */
} wtensor;

typedef struct wop {
    char *type, *name;
    int n_inputs, n_outputs, n_attrs;
    char **inputs, **outputs;
    t2c_attr *attrs;
} wop;

struct t2c_writer {
    int n_meta, cap_meta;
    t2c_attr *meta;
    t2c_name_set *meta_keys;
    int n_tensors, cap_tensors;
    wtensor *tensors;
    t2c_name_set *tensor_names;
    int n_ops, cap_ops;
    wop *ops;
    t2c_name_set *op_names;
    int n_inputs, n_outputs;
    char **inputs, **outputs;
};

typedef unsigned long long ull;

static t2c_status werr(t2c_error *err, t2c_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static t2c_status werr(t2c_error *err, t2c_status st, const char *fmt, ...)
{
    if (err) {
        char msg[480];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        err->status = st;
        snprintf(err->message, sizeof err->message, "t2c writer: %s", msg);
    }
    return st;
}

static t2c_status ok(t2c_error *err)
{
    if (err) {
        err->status = T2C_OK;
        err->message[0] = '\0';
    }
    return T2C_OK;
}

/* ---------- ownership ---------- */
static void free_attr(t2c_attr *a)
{
    free((void *)a->name);
    switch (a->type) {
    case T2C_ATTR_STRING: free((void *)a->v.s); break;
    case T2C_ATTR_INTS: free((void *)a->v.ints); break;
    case T2C_ATTR_FLOATS: free((void *)a->v.floats); break;
    case T2C_ATTR_STRINGS:
        if (a->v.strs)
            for (int64_t i = 0; i < a->count; i++)
                free((void *)a->v.strs[i]);
        free((void *)a->v.strs);
        break;
    default: break;
    }
}

static void free_strs(char **s, int n)
{
    if (s)
        for (int i = 0; i < n; i++)
            free(s[i]);
    free(s);
}

static void free_op(wop *op)
{
    free(op->type);
    free(op->name);
    free_strs(op->inputs, op->n_inputs);
    free_strs(op->outputs, op->n_outputs);
    if (op->attrs)
        for (int i = 0; i < op->n_attrs; i++)
            free_attr(&op->attrs[i]);
    free(op->attrs);
}

t2c_writer *t2c_writer_new(void)
{
    t2c_writer *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->meta_keys = t2c_name_set_new();
    w->tensor_names = t2c_name_set_new();
    w->op_names = t2c_name_set_new();
    if (!w->meta_keys || !w->tensor_names || !w->op_names) {
        t2c_writer_free(w);
        return NULL;
    }
    return w;
}

void t2c_writer_free(t2c_writer *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n_meta; i++)
        free_attr(&w->meta[i]);
    free(w->meta);
    for (int i = 0; i < w->n_tensors; i++) {
        free(w->tensors[i].name);
        free(w->tensors[i].bytes);
    }
    free(w->tensors);
    for (int i = 0; i < w->n_ops; i++)
        free_op(&w->ops[i]);
    free(w->ops);
    free_strs(w->inputs, w->n_inputs);
    free_strs(w->outputs, w->n_outputs);
    t2c_name_set_free(w->meta_keys);
    t2c_name_set_free(w->tensor_names);
    t2c_name_set_free(w->op_names);
    free(w);
}

/* ---------- validation ---------- */
/* A string the format can hold; `what` names it in the message. */
static t2c_status check_str(const char *s, int allow_empty, const char *ctx, const char *what, t2c_error *err)
{
    if (!s)
        return werr(err, T2C_ERR_INVALID_ARG, "%s%s is NULL", ctx, what);
    size_t n = strlen(s);
    if (n > T2C_MAX_STR)
        return werr(err, T2C_ERR_INVALID_ARG, "%s%s is %llu bytes (at most 65535)", ctx, what, (ull)n);
    if (!t2c_utf8_valid(s, n))
        return werr(err, T2C_ERR_INVALID_ARG, "%s%s is not valid UTF-8", ctx, what);
    if (n == 0 && !allow_empty)
        return werr(err, T2C_ERR_INVALID_ARG, "%s%s is empty", ctx, what);
    return T2C_OK;
}

static t2c_status check_value(const t2c_attr *a, int allow_empty, const char *ctx, t2c_error *err)
{
    switch (a->type) {
    case T2C_ATTR_INT: return T2C_OK;
    case T2C_ATTR_FLOAT:
        if (!isfinite(a->v.f))
            return werr(err, T2C_ERR_INVALID_ARG, "%sfloat value is not finite", ctx);
        return T2C_OK;
    case T2C_ATTR_STRING: return check_str(a->v.s, 1, ctx, "string value", err);
    case T2C_ATTR_INTS:
    case T2C_ATTR_FLOATS:
    case T2C_ATTR_STRINGS:
        if (a->count < 0 || (uint64_t)a->count > UINT32_MAX)
            return werr(err, T2C_ERR_INVALID_ARG, "%sarray count %lld is out of range", ctx, (long long)a->count);
        if (a->count == 0 && !allow_empty)
            return werr(err, T2C_ERR_INVALID_ARG, "%sempty array (arrays may be empty only in metadata)", ctx);
        if (a->count > 0 && !a->v.ints)
            return werr(err, T2C_ERR_INVALID_ARG, "%sarray is NULL", ctx);
        if (a->type == T2C_ATTR_FLOATS)
            for (int64_t i = 0; i < a->count; i++)
                if (!isfinite(a->v.floats[i]))
                    return werr(err, T2C_ERR_INVALID_ARG, "%sfloat #%lld is not finite", ctx, (long long)i);
        if (a->type == T2C_ATTR_STRINGS)
            for (int64_t i = 0; i < a->count; i++) {
                char what[40];
                snprintf(what, sizeof what, "string #%lld", (long long)i);
                if (check_str(a->v.strs[i], 1, ctx, what, err) != T2C_OK)
                    return err ? err->status : T2C_ERR_INVALID_ARG;
            }
        return T2C_OK;
    default:
        return werr(err, T2C_ERR_INVALID_ARG, "%sunknown value type %d", ctx, (int)a->type);
    }
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Deep copy of a validated attribute; 0 or -1 (out of memory, dst left freeable). */
static int copy_attr(t2c_attr *dst, const t2c_attr *src)
{
    memset(dst, 0, sizeof *dst);
    dst->type = src->type;
    dst->count = src->count;
    dst->name = dup_str(src->name);
    if (!dst->name)
        return -1;
    switch (src->type) {
    case T2C_ATTR_INT: dst->v.i = src->v.i; dst->count = 1; return 0;
    case T2C_ATTR_FLOAT: dst->v.f = src->v.f; dst->count = 1; return 0;
    case T2C_ATTR_STRING:
        dst->v.s = dup_str(src->v.s);
        dst->count = dst->v.s ? (int64_t)strlen(dst->v.s) : 0;
        return dst->v.s ? 0 : -1;
    case T2C_ATTR_INTS:
    case T2C_ATTR_FLOATS: {
        void *p = malloc((size_t)src->count * 8 + 1);
        if (!p)
            return -1;
        if (src->count)
            memcpy(p, src->v.ints, (size_t)src->count * 8);
        dst->v.ints = p;
        return 0;
    }
    case T2C_ATTR_STRINGS: {
        char **s = calloc((size_t)src->count + 1, sizeof *s);
        if (!s) {
            dst->type = T2C_ATTR_INT; /* nothing to free beyond the name */
            return -1;
        }
        dst->v.strs = (const char *const *)s;
        for (int64_t i = 0; i < src->count; i++)
            if (!(s[i] = dup_str(src->v.strs[i])))
                return -1; /* the NULL tail is skipped by free() */
        return 0;
    }
    default: return -1;
    }
}

/* ---------- building ---------- */
static int grow(void **arr, int *cap, int n, size_t elem)
{
    if (n < *cap)
        return 0;
    if (n >= INT_MAX / 2)
        return -1;
    int nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, (size_t)nc * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

static t2c_status nomem(t2c_error *err) { return werr(err, T2C_ERR_NOMEM, "out of memory"); }

t2c_status t2c_writer_meta(t2c_writer *w, const t2c_attr *value, t2c_error *err)
{
    if (!w || !value)
        return werr(err, T2C_ERR_INVALID_ARG, "t2c_writer_meta: NULL argument");
    t2c_status st = check_str(value->name, 0, "", "metadata key", err);
    if (st != T2C_OK)
        return st;
    char ctx[120];
    snprintf(ctx, sizeof ctx, "metadata '%.80s': ", value->name);
    if ((st = check_value(value, 1, ctx, err)) != T2C_OK)
        return st;
    if ((uint64_t)w->n_meta >= UINT32_MAX || grow((void **)&w->meta, &w->cap_meta, w->n_meta, sizeof(t2c_attr)))
        return nomem(err);
    t2c_attr *a = &w->meta[w->n_meta];
    if (copy_attr(a, value) != 0) {
        free_attr(a);
        return nomem(err);
    }
    int64_t prev = 0;
    int dup = t2c_name_set_add(w->meta_keys, a->name, w->n_meta, &prev);
    if (dup != 0) {
        free_attr(a);
        return dup < 0 ? nomem(err)
                       : werr(err, T2C_ERR_INVALID_ARG, "metadata '%.80s': duplicate key (also metadata #%lld)",
                              value->name, (long long)prev);
    }
    w->n_meta++;
    return ok(err);
}

t2c_status t2c_writer_tensor(t2c_writer *w, const char *name, t2c_dtype dtype, int rank,
                             const int64_t *dims, const void *data, int zstd_level,
                             t2c_error *err)
{
    if (!w || (rank > 0 && !dims))
        return werr(err, T2C_ERR_INVALID_ARG, "t2c_writer_tensor: NULL argument");
    t2c_status st = check_str(name, 0, "", "tensor name", err);
    if (st != T2C_OK)
        return st;
    if (dtype <= T2C_DTYPE_INVALID || dtype >= T2C_DTYPE_COUNT)
        return werr(err, T2C_ERR_INVALID_ARG, "tensor '%.80s': unknown dtype %d", name, (int)dtype);
    if (rank < 0 || rank > T2C_MAX_RANK)
        return werr(err, T2C_ERR_INVALID_ARG, "tensor '%.80s': rank %d is outside 0..8", name, rank);
    int64_t numel = 1;
    for (int d = 0; d < rank; d++) {
        if (dims[d] < 1 || dims[d] > T2C_MAX_DIM)
            return werr(err, T2C_ERR_INVALID_ARG, "tensor '%.80s': dim %d = %lld is outside 1..2^40", name, d,
                        (long long)dims[d]);
        if (numel > T2C_MAX_NUMEL / dims[d])
            return werr(err, T2C_ERR_INVALID_ARG, "tensor '%.80s': element count exceeds 2^48", name);
        numel *= dims[d];
    }
    if (data && zstd_level != 0 && (zstd_level < ZSTD_minCLevel() || zstd_level > ZSTD_maxCLevel()))
        return werr(err, T2C_ERR_INVALID_ARG, "tensor '%.80s': zstd level %d is outside %d..%d", name,
                    zstd_level, ZSTD_minCLevel(), ZSTD_maxCLevel());
    if (w->n_tensors >= (int)T2C_DEFAULT_MAX_TENSORS)
        return werr(err, T2C_ERR_LIMIT, "tensor '%.80s': more than %u tensors", name, T2C_DEFAULT_MAX_TENSORS);

    wtensor t = {.dtype = dtype, .rank = rank, .storage = T2C_STORAGE_NONE};
    for (int d = 0; d < rank; d++)
        t.dims[d] = dims[d];
    if (data) {
        uint64_t raw = t2c_container_raw_size(dtype, numel);
        if (raw > SIZE_MAX)
            return nomem(err);
        t.bytes = malloc((size_t)raw);
        if (!t.bytes)
            return nomem(err);
        if (t2c_container_to_le(dtype, data, numel, t.bytes) != 0) {
            free(t.bytes);
            return werr(err, T2C_ERR_INVALID_ARG, "tensor '%.80s': an element is outside the %s range", name,
                        t2c_dtype_name(dtype));
        }
        t.storage = T2C_STORAGE_RAW;
        t.size = raw;
        if (zstd_level != 0) {
            size_t bound = ZSTD_compressBound((size_t)raw);
            uint8_t *z = malloc(bound);
            if (!z) {
                free(t.bytes);
                return nomem(err);
            }
            size_t zn = ZSTD_compress(z, bound, t.bytes, (size_t)raw, zstd_level);
            if (ZSTD_isError(zn)) {
                free(z);
                free(t.bytes);
                return werr(err, T2C_ERR_INVALID_ARG, "tensor '%.80s': zstd: %s", name, ZSTD_getErrorName(zn));
            }
            if (zn < raw) { /* keep the frame only when it is smaller */
                free(t.bytes);
                uint8_t *shrunk = realloc(z, zn);
                t.bytes = shrunk ? shrunk : z;
                t.size = zn;
                t.storage = T2C_STORAGE_ZSTD;
            } else {
                free(z);
            }
        }
        t.crc = t2c_crc32(0, t.bytes, (size_t)t.size);
    }
    t.name = dup_str(name);
    if (!t.name || grow((void **)&w->tensors, &w->cap_tensors, w->n_tensors, sizeof(wtensor))) {
        free(t.name);
        free(t.bytes);
        return nomem(err);
    }
    int64_t prev = 0;
    int dup = t2c_name_set_add(w->tensor_names, t.name, w->n_tensors, &prev);
    if (dup != 0) {
        free(t.name);
        free(t.bytes);
        return dup < 0 ? nomem(err)
                       : werr(err, T2C_ERR_INVALID_ARG, "tensor '%.80s': duplicate tensor name (also tensor #%lld)",
                              name, (long long)prev);
    }
    w->tensors[w->n_tensors++] = t;
    return ok(err);
}

static t2c_status copy_names(int n, const char *const *src, int allow_empty, const char *ctx,
                             const char *what, char ***out, t2c_error *err)
{
    *out = NULL;
    if (n > 0 && !src)
        return werr(err, T2C_ERR_INVALID_ARG, "%s%ss are NULL", ctx, what);
    for (int i = 0; i < n; i++) {
        char label[40];
        snprintf(label, sizeof label, "%s #%d", what, i);
        t2c_status st = check_str(src[i], allow_empty, ctx, label, err);
        if (st != T2C_OK)
            return st;
    }
    char **d = calloc((size_t)n + 1, sizeof *d);
    if (!d)
        return nomem(err);
    for (int i = 0; i < n; i++)
        if (!(d[i] = dup_str(src[i]))) {
            free_strs(d, n);
            return nomem(err);
        }
    *out = d;
    return T2C_OK;
}

t2c_status t2c_writer_op(t2c_writer *w, const char *type, const char *name, int n_inputs,
                         const char *const *inputs, int n_outputs, const char *const *outputs,
                         int n_attrs, const t2c_attr *attrs, t2c_error *err)
{
    if (!w || (n_attrs > 0 && !attrs))
        return werr(err, T2C_ERR_INVALID_ARG, "t2c_writer_op: NULL argument");
    t2c_status st = check_str(name, 0, "", "op name", err);
    if (st != T2C_OK)
        return st;
    char ctx[120];
    snprintf(ctx, sizeof ctx, "op '%.80s': ", name);
    if ((st = check_str(type, 0, ctx, "type", err)) != T2C_OK)
        return st;
    if (n_inputs < 0 || n_inputs > 255 || n_outputs < 0 || n_outputs > 255)
        return werr(err, T2C_ERR_INVALID_ARG, "%s%d inputs and %d outputs (at most 255 each)", ctx, n_inputs,
                    n_outputs);
    if (n_attrs < 0 || n_attrs > 65535)
        return werr(err, T2C_ERR_INVALID_ARG, "%s%d attributes (at most 65535)", ctx, n_attrs);
    if (w->n_ops >= (int)T2C_DEFAULT_MAX_OPS)
        return werr(err, T2C_ERR_LIMIT, "%smore than %u ops", ctx, T2C_DEFAULT_MAX_OPS);
    t2c_name_set *keys = t2c_name_set_new();
    if (!keys)
        return nomem(err);
    for (int i = 0; i < n_attrs && st == T2C_OK; i++) {
        char actx[240];
        st = check_str(attrs[i].name, 0, ctx, "attribute name", err);
        if (st != T2C_OK)
            break;
        snprintf(actx, sizeof actx, "op '%.80s': attribute '%.80s': ", name, attrs[i].name);
        int64_t prev = 0;
        int dup = t2c_name_set_add(keys, attrs[i].name, i, &prev);
        if (dup < 0)
            st = nomem(err);
        else if (dup > 0)
            st = werr(err, T2C_ERR_INVALID_ARG, "%sduplicate key (also attribute #%lld)", actx, (long long)prev);
        else
            st = check_value(&attrs[i], 0, actx, err);
    }
    t2c_name_set_free(keys);
    if (st != T2C_OK)
        return st;
    int64_t prev = 0;
    wop op = {.n_inputs = n_inputs, .n_outputs = n_outputs};
    if ((st = copy_names(n_inputs, inputs, 1, ctx, "input", &op.inputs, err)) != T2C_OK ||
        (st = copy_names(n_outputs, outputs, 0, ctx, "output", &op.outputs, err)) != T2C_OK) {
        free_op(&op);
        return st;
    }
    op.type = dup_str(type);
    op.name = dup_str(name);
    op.attrs = calloc((size_t)n_attrs + 1, sizeof(t2c_attr));
    if (!op.type || !op.name || !op.attrs) {
        free_op(&op);
        return nomem(err);
    }
    for (int i = 0; i < n_attrs; i++) {
        op.n_attrs = i + 1;
        if (copy_attr(&op.attrs[i], &attrs[i]) != 0) {
            free_op(&op);
            return nomem(err);
        }
    }
    if (grow((void **)&w->ops, &w->cap_ops, w->n_ops, sizeof(wop))) {
        free_op(&op);
        return nomem(err);
    }
    int dup = t2c_name_set_add(w->op_names, op.name, w->n_ops, &prev);
    if (dup != 0) {
        free_op(&op);
        return dup < 0 ? nomem(err)
                       : werr(err, T2C_ERR_INVALID_ARG, "op '%.80s': duplicate op name (also op #%lld)", name,
                              (long long)prev);
    }
    w->ops[w->n_ops++] = op;
    return ok(err);
}

t2c_status t2c_writer_graph_io(t2c_writer *w, int n_inputs, const char *const *inputs,
                               int n_outputs, const char *const *outputs, t2c_error *err)
{
    if (!w || n_inputs < 0 || n_outputs < 0)
        return werr(err, T2C_ERR_INVALID_ARG, "t2c_writer_graph_io: bad argument");
    char **in = NULL, **out = NULL;
    t2c_status st = copy_names(n_inputs, inputs, 0, "graph ", "input", &in, err);
    if (st == T2C_OK)
        st = copy_names(n_outputs, outputs, 0, "graph ", "output", &out, err);
    if (st != T2C_OK) {
        free_strs(in, n_inputs);
        return st;
    }
    /* a second call replaces the first */
    free_strs(w->inputs, w->n_inputs);
    free_strs(w->outputs, w->n_outputs);
    w->inputs = in;
    w->outputs = out;
    w->n_inputs = n_inputs;
    w->n_outputs = n_outputs;
    return ok(err);
}

/* ---------- serialization ---------- */
typedef struct dynbuf {
    uint8_t *p;
    size_t n, cap;
    int failed;
} dynbuf;

static uint8_t *put(dynbuf *b, size_t n)
{
    if (b->failed)
        return NULL;
    if (b->cap - b->n < n) {
        size_t nc = b->cap ? b->cap : 4096;
        while (nc - b->n < n) {
            if (nc > SIZE_MAX / 2) {
                b->failed = 1;
                return NULL;
            }
            nc *= 2;
        }
        uint8_t *p = realloc(b->p, nc);
        if (!p) {
            b->failed = 1;
            return NULL;
        }
        b->p = p;
        b->cap = nc;
    }
    uint8_t *at = b->p + b->n;
    b->n += n;
    return at;
}

static void put_u8(dynbuf *b, uint32_t v)
{
    uint8_t *p = put(b, 1);
    if (p)
        *p = (uint8_t)v;
}
static void put_u16(dynbuf *b, uint32_t v)
{
    uint8_t *p = put(b, 2);
    if (p)
        t2c_le_put_u16(p, (uint16_t)v);
}
static void put_u32(dynbuf *b, uint32_t v)
{
    uint8_t *p = put(b, 4);
    if (p)
        t2c_le_put_u32(p, v);
}
static void put_u64(dynbuf *b, uint64_t v)
{
    uint8_t *p = put(b, 8);
    if (p)
        t2c_le_put_u64(p, v);
}
static void put_str(dynbuf *b, const char *s)
{
    size_t n = strlen(s); /* <= 65535, checked when added */
    put_u32(b, (uint32_t)n);
    uint8_t *p = put(b, n);
    if (p && n)
        memcpy(p, s, n);
}
static void put_f64(dynbuf *b, double f)
{
    uint64_t bits;
    memcpy(&bits, &f, 8);
    put_u64(b, bits);
}

static void put_value(dynbuf *b, const t2c_attr *a)
{
    put_u8(b, (uint32_t)a->type);
    switch (a->type) {
    case T2C_ATTR_INT: put_u64(b, (uint64_t)a->v.i); break;
    case T2C_ATTR_FLOAT: put_f64(b, a->v.f); break;
    case T2C_ATTR_STRING: put_str(b, a->v.s); break;
    case T2C_ATTR_INTS:
        put_u32(b, (uint32_t)a->count);
        for (int64_t i = 0; i < a->count; i++)
            put_u64(b, (uint64_t)a->v.ints[i]);
        break;
    case T2C_ATTR_FLOATS:
        put_u32(b, (uint32_t)a->count);
        for (int64_t i = 0; i < a->count; i++)
            put_f64(b, a->v.floats[i]);
        break;
    case T2C_ATTR_STRINGS:
        put_u32(b, (uint32_t)a->count);
        for (int64_t i = 0; i < a->count; i++)
            put_str(b, a->v.strs[i]);
        break;
    default: break;
    }
}

static uint64_t align_up(uint64_t v) { return (v + T2C_ALIGN - 1) / T2C_ALIGN * T2C_ALIGN; }

t2c_status t2c_writer_to_buffer(t2c_writer *w, uint8_t **out, size_t *size, t2c_error *err)
{
    if (!w || !out || !size)
        return werr(err, T2C_ERR_INVALID_ARG, "t2c_writer_to_buffer: NULL argument");
    *out = NULL;
    *size = 0;
    /* data layout first: the offsets go into the tables */
    uint64_t data_size = 0;
    for (int i = 0; i < w->n_tensors; i++) {
        wtensor *t = &w->tensors[i];
        if (t->storage == T2C_STORAGE_NONE)
            continue;
        t->offset = align_up(data_size);
        data_size = t->offset + t->size;
    }

    dynbuf b = {0};
    put_u32(&b, (uint32_t)w->n_meta);
    for (int i = 0; i < w->n_meta; i++) {
        put_str(&b, w->meta[i].name);
        put_value(&b, &w->meta[i]);
    }
    put_u32(&b, (uint32_t)w->n_tensors);
    for (int i = 0; i < w->n_tensors; i++) {
        const wtensor *t = &w->tensors[i];
        put_str(&b, t->name);
        put_u8(&b, (uint32_t)t->dtype);
        put_u8(&b, (uint32_t)t->rank);
        for (int d = 0; d < t->rank; d++)
            put_u64(&b, (uint64_t)t->dims[d]);
        put_u8(&b, (uint32_t)t->storage);
        if (t->storage != T2C_STORAGE_NONE) {
            put_u64(&b, t->offset);
            put_u64(&b, t->size);
            put_u32(&b, t->crc);
        }
    }
    put_u32(&b, (uint32_t)w->n_inputs);
    for (int i = 0; i < w->n_inputs; i++)
        put_str(&b, w->inputs[i]);
    put_u32(&b, (uint32_t)w->n_outputs);
    for (int i = 0; i < w->n_outputs; i++)
        put_str(&b, w->outputs[i]);
    put_u32(&b, (uint32_t)w->n_ops);
    for (int i = 0; i < w->n_ops; i++) {
        const wop *op = &w->ops[i];
        put_str(&b, op->type);
        put_str(&b, op->name);
        put_u8(&b, (uint32_t)op->n_inputs);
        for (int k = 0; k < op->n_inputs; k++)
            put_str(&b, op->inputs[k]);
        put_u8(&b, (uint32_t)op->n_outputs);
        for (int k = 0; k < op->n_outputs; k++)
            put_str(&b, op->outputs[k]);
        put_u16(&b, (uint32_t)op->n_attrs);
        for (int k = 0; k < op->n_attrs; k++) {
            put_str(&b, op->attrs[k].name);
            put_value(&b, &op->attrs[k]);
        }
    }
    if (b.failed) {
        free(b.p);
        return nomem(err);
    }

    uint64_t tables_size = b.n;
    uint64_t data_offset = align_up(T2C_HEADER_SIZE + tables_size);
    uint64_t total = data_offset + data_size;
    uint8_t *f = total <= SIZE_MAX ? calloc(1, (size_t)total) : NULL; /* zero: padding, gaps, reserved */
    if (!f) {
        free(b.p);
        return nomem(err);
    }
    memcpy(f, "T2CMODEL", 8);
    t2c_le_put_u16(f + 8, T2C_FORMAT_MAJOR);
    t2c_le_put_u16(f + 10, T2C_FORMAT_MINOR);
    t2c_le_put_u32(f + 12, 0);
    t2c_le_put_u64(f + 16, tables_size);
    t2c_le_put_u64(f + 24, data_offset);
    t2c_le_put_u64(f + 32, data_size);
    t2c_le_put_u32(f + 40, t2c_crc32(0, b.p, b.n));
    if (b.n)
        memcpy(f + T2C_HEADER_SIZE, b.p, b.n);
    free(b.p);
    for (int i = 0; i < w->n_tensors; i++) {
        const wtensor *t = &w->tensors[i];
        if (t->storage != T2C_STORAGE_NONE)
            memcpy(f + data_offset + t->offset, t->bytes, (size_t)t->size);
    }
    *out = f;
    *size = (size_t)total;
    return ok(err);
}

static t2c_status io_fail(t2c_error *err, const char *path, int e)
{
    if (err) {
        err->status = T2C_ERR_IO;
        snprintf(err->message, sizeof err->message, "%s: %s", path, strerror(e));
    }
    return T2C_ERR_IO;
}

t2c_status t2c_writer_save(t2c_writer *w, const char *path, t2c_error *err)
{
    if (!w || !path || !*path)
        return werr(err, T2C_ERR_INVALID_ARG, "t2c_writer_save: NULL argument");
    uint8_t *bytes;
    size_t size;
    t2c_status st = t2c_writer_to_buffer(w, &bytes, &size, err);
    if (st != T2C_OK)
        return st;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + sizeof ".tmp.XXXXXX");
    if (!tmp) {
        free(bytes);
        return nomem(err);
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    int fd = mkstemp(tmp); /* same directory as path, so rename() is atomic */
    if (fd < 0) {
        int e = errno;
        free(tmp);
        free(bytes);
        return io_fail(err, path, e);
    }
    int e = 0;
    /* mkstemp creates 0600; give the file the mode open(..., 0666) would (umask applied) */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0)
        e = errno;
    for (size_t done = 0; !e && done < size;) {
        ssize_t n = write(fd, bytes + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            e = n < 0 ? errno : EIO;
        else
            done += (size_t)n;
    }
    free(bytes);
    if (!e && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (e) {
        unlink(tmp);
        free(tmp);
        return io_fail(err, path, e);
    }
    free(tmp);
    /* make the rename durable (best effort: some filesystems refuse fsync on directories) */
    char *dir = dup_str(path);
    if (dir) {
        char *slash = strrchr(dir, '/');
        const char *d = ".";
        if (slash) {
            slash[slash == dir ? 1 : 0] = '\0';
            d = dir;
        }
        int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    return ok(err);
}
