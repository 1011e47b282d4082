/* container_read.c — the .t2c reader (formats/t2c-format.md).
 *
 * Order of checks (GGUF/libspng style): file size and limit -> magic -> version -> flags and
 * reserved bytes -> section sizes (overflow-safe, against the file size) -> tables CRC ->
 * tables, where every count is checked against the limits and the bytes left before anything
 * is allocated -> payloads (alignment, bounds, size, CRC, zstd frame header, exact size, pad
 * nibble) -> unpacking. All reads are explicit little-endian loads from bytes; nothing is cast
 * onto the file. Graph rules (names resolve, execution order) are the engine's (model.c).
 *
 * Everything but the tensor payloads lives in one arena owned by the container, so every
 * error path frees with one call and nothing leaks.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "t2c_container.h"

static const uint8_t t2c_magic[8] = {'T', '2', 'C', 'M', 'O', 'D', 'E', 'L'};

/* ---------- arena ---------- */
typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[]; /* aligned for any element type */
} chunk;

typedef struct container_impl {
    t2c_container pub; /* first: the public pointer is the impl pointer */
    chunk *arena;
} container_impl;

static void *arena_alloc(container_impl *c, size_t size, size_t align)
{
    chunk *k = c->arena;
    size_t at = k ? (k->used + align - 1) & ~(align - 1) : 0;
    if (!k || at > k->cap || size > k->cap - at) {
        size_t cap = size + align > 65536 ? size + align : 65536;
        k = malloc(sizeof(chunk) + cap);
        if (!k)
            return NULL;
        k->next = c->arena;
        k->used = 0;
        k->cap = cap;
        c->arena = k;
        at = 0;
    }
    k->used = at + size;
    return (unsigned char *)k->data + at;
}

void t2c_container_free(t2c_container *pub)
{
    if (!pub)
        return;
    container_impl *c = (container_impl *)pub;
    for (int i = 0; i < pub->n_tensors && pub->tensors; i++)
        free(pub->tensors[i].data);
    for (chunk *k = c->arena; k;) {
        chunk *next = k->next;
        free(k);
        k = next;
    }
    free(c);
}

/* ---------- reader state and messages ---------- */
typedef struct reader {
    const char *src;        /* file or buffer name, first in every message */
    t2c_error *err;
    t2c_load_limits lim;
    container_impl *c;
    const uint8_t *buf;     /* the whole file */
    size_t size;
    size_t tab_size, pos;   /* cursor in the tables section (which starts at byte 64) */
    uint64_t data_offset, data_size;
    char ctx[400];          /* "tensor 'w1'", "op 'conv1': attribute 'stride'", ... */
} reader;

typedef unsigned long long ull;

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        t2c_status try_st_ = (expr);                                                               \
        if (try_st_ != T2C_OK)                                                                     \
            return try_st_;                                                                        \
    } while (0)

static t2c_status fail(reader *r, t2c_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static t2c_status fail(reader *r, t2c_status st, const char *fmt, ...)
{
    if (r->err) {
        char *m = r->err->message;
        size_t cap = sizeof r->err->message;
        int n = snprintf(m, cap, "%s: %s%s", r->src, r->ctx, r->ctx[0] ? ": " : "");
        if (n >= 0 && (size_t)n < cap) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(m + n, cap - (size_t)n, fmt, ap);
            va_end(ap);
        }
        r->err->status = st;
    }
    return st;
}

/* A (validated UTF-8) name made safe for a one-line message: at most 64 bytes, cut at a
 * character boundary with "..." appended; control bytes as \xNN. The Python reader does the same. */
static const char *quote(const char *s, char *out, size_t outsz)
{
    size_t n = strlen(s), cut = 0;
    if (n > 64) {
        n = 64;
        while (n > 0 && ((uint8_t)s[n] & 0xc0) == 0x80)
            n--;
        cut = 1;
    }
    size_t o = 0;
    for (size_t i = 0; i < n && o + 8 < outsz; i++) {
        uint8_t ch = (uint8_t)s[i];
        if (ch < 0x20 || ch == 0x7f)
            o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", ch);
        else
            out[o++] = (char)ch;
    }
    if (cut && o + 4 < outsz) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

static void set_ctx(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_ctx(reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->ctx, sizeof r->ctx, fmt, ap);
    va_end(ap);
}

/* ---------- cursor over the tables section ---------- */
static const uint8_t *tab_at(const reader *r) { return r->buf + T2C_HEADER_SIZE + r->pos; }
static size_t tab_left(const reader *r) { return r->tab_size - r->pos; }

static t2c_status need(reader *r, uint64_t n, const char *what)
{
    if (tab_left(r) < n)
        return fail(r, T2C_ERR_FORMAT, "truncated tables section: %s needs %llu bytes at offset %llu, %llu left",
                    what, (ull)n, (ull)(T2C_HEADER_SIZE + r->pos), (ull)tab_left(r));
    return T2C_OK;
}

static t2c_status get_u8(reader *r, const char *what, uint32_t *v)
{
    TRY(need(r, 1, what));
    *v = *tab_at(r);
    r->pos += 1;
    return T2C_OK;
}

static t2c_status get_u16(reader *r, const char *what, uint32_t *v)
{
    TRY(need(r, 2, what));
    *v = t2c_le_get_u16(tab_at(r));
    r->pos += 2;
    return T2C_OK;
}

static t2c_status get_u32(reader *r, const char *what, uint32_t *v)
{
    TRY(need(r, 4, what));
    *v = t2c_le_get_u32(tab_at(r));
    r->pos += 4;
    return T2C_OK;
}

static t2c_status get_u64(reader *r, const char *what, uint64_t *v)
{
    TRY(need(r, 8, what));
    *v = t2c_le_get_u64(tab_at(r));
    r->pos += 8;
    return T2C_OK;
}

static t2c_status nomem(reader *r) { return fail(r, T2C_ERR_NOMEM, "out of memory"); }

/* A count of `bytes` (1, 2 or 4) bytes, checked against the limit and against the smallest
 * encoding of its entries (min_entry bytes each) before anything is allocated for them. */
static t2c_status get_count(reader *r, int bytes, const char *what, uint64_t min_entry, uint64_t limit,
                            uint32_t *out)
{
    uint32_t n = 0;
    char label[80];
    snprintf(label, sizeof label, "%s count", what);
    if (bytes == 1)
        TRY(get_u8(r, label, &n));
    else if (bytes == 2)
        TRY(get_u16(r, label, &n));
    else
        TRY(get_u32(r, label, &n));
    if (limit && n > limit)
        return fail(r, T2C_ERR_LIMIT, "%s count %u exceeds the limit of %llu", what, n, (ull)limit);
    if (n > tab_left(r) / min_entry)
        return fail(r, T2C_ERR_FORMAT,
                    "truncated tables section: %s count %u needs at least %llu bytes at offset %llu, %llu left",
                    what, n, (ull)n * min_entry, (ull)(T2C_HEADER_SIZE + r->pos), (ull)tab_left(r));
    if (n > INT_MAX)
        return fail(r, T2C_ERR_LIMIT, "%s count %u is too large", what, n);
    *out = n;
    return T2C_OK;
}

/* str: u32 length + UTF-8 bytes, no NUL, at most 65535 bytes; copied NUL-terminated. */
static t2c_status get_str(reader *r, const char *what, int allow_empty, char **out, uint32_t *len_out)
{
    uint32_t len;
    TRY(get_u32(r, what, &len));
    if (len > T2C_MAX_STR)
        return fail(r, T2C_ERR_FORMAT, "%s: string length %u exceeds 65535", what, len);
    TRY(need(r, len, what));
    const char *p = (const char *)tab_at(r);
    if (memchr(p, 0, len))
        return fail(r, T2C_ERR_FORMAT, "%s contains a NUL byte", what);
    if (!t2c_utf8_valid(p, len))
        return fail(r, T2C_ERR_FORMAT, "%s is not valid UTF-8", what);
    if (len == 0 && !allow_empty)
        return fail(r, T2C_ERR_FORMAT, "%s is empty", what);
    char *s = arena_alloc(r->c, (size_t)len + 1, 1);
    if (!s)
        return nomem(r);
    memcpy(s, p, len);
    s[len] = '\0';
    r->pos += len;
    *out = s;
    if (len_out)
        *len_out = len;
    return T2C_OK;
}

/* value: u8 type + payload. Arrays may be empty only where allow_empty (metadata). */
static t2c_status get_value(reader *r, int allow_empty, t2c_attr *a)
{
    uint32_t type, n;
    TRY(get_u8(r, "value type", &type));
    switch (type) {
    case T2C_ATTR_INT: {
        uint64_t v;
        TRY(get_u64(r, "int value", &v));
        a->v.i = (int64_t)v;
        a->count = 1;
        break;
    }
    case T2C_ATTR_FLOAT: {
        uint64_t bits;
        TRY(get_u64(r, "float value", &bits));
        memcpy(&a->v.f, &bits, 8);
        if (!isfinite(a->v.f))
            return fail(r, T2C_ERR_FORMAT, "float value is not finite");
        a->count = 1;
        break;
    }
    case T2C_ATTR_STRING: {
        char *s;
        TRY(get_str(r, "string value", 1, &s, &n));
        a->v.s = s;
        a->count = n;
        break;
    }
    case T2C_ATTR_INTS:
    case T2C_ATTR_FLOATS:
    case T2C_ATTR_STRINGS: {
        int is_str = type == T2C_ATTR_STRINGS;
        TRY(get_count(r, 4, "array", is_str ? 4 : 8, 0, &n));
        if (n == 0 && !allow_empty)
            return fail(r, T2C_ERR_FORMAT, "empty array (arrays may be empty only in metadata)");
        a->count = n;
        if (is_str) {
            char **strs = arena_alloc(r->c, (size_t)n * sizeof(char *) + 1, _Alignof(char *));
            if (!strs)
                return nomem(r);
            for (uint32_t i = 0; i < n; i++) {
                char what[40];
                snprintf(what, sizeof what, "string #%u", i);
                TRY(get_str(r, what, 1, &strs[i], NULL));
            }
            a->v.strs = (const char *const *)strs;
            break;
        }
        /* the count check above guarantees n * 8 bytes are present */
        uint64_t *vals = arena_alloc(r->c, (size_t)n * 8 + 1, 8);
        if (!vals)
            return nomem(r);
        for (uint32_t i = 0; i < n; i++) {
            vals[i] = t2c_le_get_u64(tab_at(r));
            r->pos += 8;
        }
        if (type == T2C_ATTR_INTS) {
            int64_t *iv = (int64_t *)vals; /* same bits, two's complement */
            a->v.ints = iv;
        } else {
            double *fv = (double *)vals;
            for (uint32_t i = 0; i < n; i++) {
                uint64_t bits = vals[i];
                memcpy(&fv[i], &bits, 8);
                if (!isfinite(fv[i]))
                    return fail(r, T2C_ERR_FORMAT, "float #%u is not finite", i);
            }
            a->v.floats = fv;
        }
        break;
    }
    default:
        return fail(r, T2C_ERR_UNSUPPORTED, "unknown value type %u", type);
    }
    a->type = (t2c_attr_type)type;
    return T2C_OK;
}

/* A key/value list (metadata or one op's attributes); keys non-empty and unique. */
static t2c_status get_attrs(reader *r, uint32_t n, int allow_empty, const char *owner, t2c_attr **out)
{
    t2c_attr *attrs = arena_alloc(r->c, (size_t)n * sizeof(t2c_attr) + 1, _Alignof(t2c_attr));
    if (!attrs)
        return nomem(r);
    memset(attrs, 0, (size_t)n * sizeof(t2c_attr));
    *out = attrs;
    t2c_name_set *keys = n > 1 ? t2c_name_set_new() : NULL;
    if (n > 1 && !keys)
        return nomem(r);
    t2c_status st = T2C_OK;
    const char *what = owner ? "attribute" : "metadata";
    char q[300];
    for (uint32_t i = 0; i < n && st == T2C_OK; i++) {
        char *key;
        if (owner)
            set_ctx(r, "%s: attribute #%u", owner, i);
        else
            set_ctx(r, "metadata #%u", i);
        st = get_str(r, "key", 0, &key, NULL);
        if (st != T2C_OK)
            break;
        attrs[i].name = key;
        if (owner)
            set_ctx(r, "%s: attribute '%s'", owner, quote(key, q, sizeof q));
        else
            set_ctx(r, "metadata '%s'", quote(key, q, sizeof q));
        int64_t prev = 0;
        int dup = keys ? t2c_name_set_add(keys, key, i, &prev) : 0;
        if (dup < 0)
            st = nomem(r);
        else if (dup > 0)
            st = fail(r, T2C_ERR_FORMAT, "duplicate key (also %s #%lld)", what, (long long)prev);
        else
            st = get_value(r, allow_empty, &attrs[i]);
    }
    t2c_name_set_free(keys);
    return st;
}

/* ---------- tables ---------- */
static t2c_status get_tensor(reader *r, uint32_t i, t2c_container_tensor *t, t2c_name_set *names)
{
    char q[300];
    uint32_t v;
    set_ctx(r, "tensor #%u", i);
    TRY(get_str(r, "name", 0, &t->name, NULL));
    set_ctx(r, "tensor '%s'", quote(t->name, q, sizeof q));
    int64_t prev = 0;
    int dup = t2c_name_set_add(names, t->name, i, &prev);
    if (dup < 0)
        return nomem(r);
    if (dup > 0)
        return fail(r, T2C_ERR_FORMAT, "duplicate tensor name (also tensor #%lld)", (long long)prev);

    TRY(get_u8(r, "dtype", &v));
    if (v == T2C_DTYPE_INVALID || v >= T2C_DTYPE_COUNT)
        return fail(r, T2C_ERR_UNSUPPORTED, "unknown dtype %u", v);
    t->dtype = (t2c_dtype)v;
    TRY(get_u8(r, "rank", &v));
    if (v > T2C_MAX_RANK)
        return fail(r, T2C_ERR_FORMAT, "rank %u exceeds %d", v, T2C_MAX_RANK);
    t->rank = (int)v;
    TRY(need(r, (uint64_t)t->rank * 8, "dims"));
    int64_t numel = 1;
    for (int d = 0; d < t->rank; d++) {
        int64_t dim = (int64_t)t2c_le_get_u64(tab_at(r));
        r->pos += 8;
        if (dim < 1 || dim > T2C_MAX_DIM)
            return fail(r, T2C_ERR_FORMAT, "dim %d = %lld is outside 1..2^40", d, (long long)dim);
        if (numel > T2C_MAX_NUMEL / dim)
            return fail(r, T2C_ERR_FORMAT, "element count exceeds 2^48");
        numel *= dim;
        t->dims[d] = dim;
    }
    /* numel <= 2^48 and at most 8 bytes per element: no overflow */
    uint64_t mem = (uint64_t)numel * t2c_dtype_mem_size(t->dtype);
    if (mem > r->lim.max_tensor_bytes || mem > SIZE_MAX)
        return fail(r, T2C_ERR_LIMIT, "%llu bytes in memory exceed the limit of %llu", (ull)mem,
                    (ull)r->lim.max_tensor_bytes);

    TRY(get_u8(r, "storage", &v));
    if (v > T2C_STORAGE_ZSTD)
        return fail(r, T2C_ERR_UNSUPPORTED, "unknown storage %u", v);
    t->storage = (int)v;
    if (t->storage != T2C_STORAGE_NONE) {
        TRY(get_u64(r, "payload offset", &t->offset));
        TRY(get_u64(r, "stored size", &t->stored_size));
        TRY(get_u32(r, "payload CRC", &v));
        t->crc32 = v;
    }
    return T2C_OK;
}

static t2c_status get_op(reader *r, uint32_t i, t2c_container_op *op, t2c_name_set *names)
{
    char q[300], owner[320], what[40];
    uint32_t n;
    set_ctx(r, "op #%u", i);
    TRY(get_str(r, "type", 0, &op->type, NULL));
    TRY(get_str(r, "name", 0, &op->name, NULL));
    snprintf(owner, sizeof owner, "op '%s'", quote(op->name, q, sizeof q));
    set_ctx(r, "%s", owner);
    int64_t prev = 0;
    int dup = t2c_name_set_add(names, op->name, i, &prev);
    if (dup < 0)
        return nomem(r);
    if (dup > 0)
        return fail(r, T2C_ERR_FORMAT, "duplicate op name (also op #%lld)", (long long)prev);

    TRY(get_count(r, 1, "input", 4, 0, &n));
    op->n_inputs = (int)n;
    op->inputs = arena_alloc(r->c, n * sizeof(char *) + 1, _Alignof(char *));
    if (!op->inputs)
        return nomem(r);
    for (uint32_t k = 0; k < n; k++) {
        snprintf(what, sizeof what, "input #%u", k);
        TRY(get_str(r, what, 1, &op->inputs[k], NULL)); /* "" = omitted optional input */
    }
    TRY(get_count(r, 1, "output", 5, 0, &n));
    op->n_outputs = (int)n;
    op->outputs = arena_alloc(r->c, n * sizeof(char *) + 1, _Alignof(char *));
    if (!op->outputs)
        return nomem(r);
    for (uint32_t k = 0; k < n; k++) {
        snprintf(what, sizeof what, "output #%u", k);
        TRY(get_str(r, what, 0, &op->outputs[k], NULL));
    }
    TRY(get_count(r, 2, "attribute", 10, 0, &n));
    op->n_attrs = (int)n;
    return get_attrs(r, n, 0, owner, &op->attrs);
}

static t2c_status get_names(reader *r, const char *what, int *count, char ***out)
{
    uint32_t n;
    set_ctx(r, "graph");
    TRY(get_count(r, 4, what, 5, 0, &n));
    char **names = arena_alloc(r->c, (size_t)n * sizeof(char *) + 1, _Alignof(char *));
    if (!names)
        return nomem(r);
    *count = (int)n;
    *out = names;
    for (uint32_t k = 0; k < n; k++) {
        set_ctx(r, "graph %s #%u", what, k);
        TRY(get_str(r, "name", 0, &names[k], NULL));
    }
    return T2C_OK;
}

static t2c_status parse_tables(reader *r)
{
    t2c_container *c = &r->c->pub;
    uint32_t n;
    set_ctx(r, "metadata");
    TRY(get_count(r, 4, "metadata", 10, 0, &n));
    c->n_meta = (int)n;
    TRY(get_attrs(r, n, 1, NULL, &c->meta));

    set_ctx(r, "tensor table");
    TRY(get_count(r, 4, "tensor", 8, r->lim.max_tensors, &n));
    c->tensors = arena_alloc(r->c, (size_t)n * sizeof(t2c_container_tensor) + 1,
                             _Alignof(t2c_container_tensor));
    if (!c->tensors)
        return nomem(r);
    memset(c->tensors, 0, (size_t)n * sizeof(t2c_container_tensor));
    c->n_tensors = (int)n;
    t2c_name_set *names = t2c_name_set_new();
    if (!names)
        return nomem(r);
    t2c_status st = T2C_OK;
    for (uint32_t i = 0; i < n && st == T2C_OK; i++)
        st = get_tensor(r, i, &c->tensors[i], names);
    t2c_name_set_free(names);
    TRY(st);

    TRY(get_names(r, "input", &c->n_inputs, &c->inputs));
    TRY(get_names(r, "output", &c->n_outputs, &c->outputs));

    set_ctx(r, "graph");
    TRY(get_count(r, 4, "op", 14, r->lim.max_ops, &n));
    c->ops = arena_alloc(r->c, (size_t)n * sizeof(t2c_container_op) + 1, _Alignof(t2c_container_op));
    if (!c->ops)
        return nomem(r);
    memset(c->ops, 0, (size_t)n * sizeof(t2c_container_op));
    c->n_ops = (int)n;
    names = t2c_name_set_new();
    if (!names)
        return nomem(r);
    for (uint32_t i = 0; i < n && st == T2C_OK; i++)
        st = get_op(r, i, &c->ops[i], names);
    t2c_name_set_free(names);
    TRY(st);

    set_ctx(r, "%s", "");
    if (r->pos != r->tab_size)
        return fail(r, T2C_ERR_FORMAT, "%llu bytes left over at the end of the tables section",
                    (ull)(r->tab_size - r->pos));
    return T2C_OK;
}

/* ---------- payloads ---------- */
static int64_t numel_of(const t2c_container_tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->rank; d++)
        n *= t->dims[d];
    return n;
}

static t2c_status load_payload(reader *r, t2c_container_tensor *t)
{
    char q[300];
    set_ctx(r, "tensor '%s'", quote(t->name, q, sizeof q));
    if (t->offset % T2C_ALIGN)
        return fail(r, T2C_ERR_FORMAT, "payload offset %llu is not a multiple of 64", (ull)t->offset);
    if (t->offset > r->data_size)
        return fail(r, T2C_ERR_FORMAT, "payload offset %llu is past the end of the data section (%llu bytes)",
                    (ull)t->offset, (ull)r->data_size);
    if (t->stored_size > r->data_size - t->offset)
        return fail(r, T2C_ERR_FORMAT, "stored size %llu at offset %llu exceeds data section (%llu bytes)",
                    (ull)t->stored_size, (ull)t->offset, (ull)r->data_size);
    int64_t numel = numel_of(t);
    uint64_t raw = t2c_container_raw_size(t->dtype, numel);
    if (t->storage == T2C_STORAGE_RAW && t->stored_size != raw)
        return fail(r, T2C_ERR_FORMAT, "raw payload is %llu bytes, expected %llu (%lld %s elements)",
                    (ull)t->stored_size, (ull)raw, (long long)numel, t2c_dtype_name(t->dtype));
    const uint8_t *p = r->buf + r->data_offset + t->offset;
    size_t stored = (size_t)t->stored_size; /* <= file size, so it fits */
    uint32_t crc = t2c_crc32(0, p, stored);
    if (crc != t->crc32)
        return fail(r, T2C_ERR_FORMAT, "payload CRC mismatch (stored 0x%08x, computed 0x%08x)", t->crc32, crc);

    size_t mem = (size_t)numel * t2c_dtype_mem_size(t->dtype); /* checked against the limit */
    int is_int4 = t->dtype == T2C_INT4 || t->dtype == T2C_UINT4;
    if (t->storage == T2C_STORAGE_ZSTD) {
        unsigned long long fcs = ZSTD_getFrameContentSize(p, stored);
        if (fcs == ZSTD_CONTENTSIZE_ERROR)
            return fail(r, T2C_ERR_FORMAT, "payload is not a zstd frame");
        if (fcs == ZSTD_CONTENTSIZE_UNKNOWN)
            return fail(r, T2C_ERR_FORMAT, "zstd frame does not declare its content size");
        if (fcs != raw)
            return fail(r, T2C_ERR_FORMAT, "zstd content size %llu does not match the raw size %llu (%lld %s elements)",
                        fcs, (ull)raw, (long long)numel, t2c_dtype_name(t->dtype));
        size_t fsize = ZSTD_findFrameCompressedSize(p, stored);
        if (ZSTD_isError(fsize))
            return fail(r, T2C_ERR_FORMAT, "corrupt zstd frame (%s)", ZSTD_getErrorName(fsize));
        if (fsize != stored)
            return fail(r, T2C_ERR_FORMAT, "%llu bytes after the zstd frame", (ull)(stored - fsize));
        /* wider dtypes decompress straight into the tensor and convert in place */
        uint8_t *tmp = malloc(is_int4 ? (size_t)raw : mem);
        if (!tmp)
            return nomem(r);
        size_t got = ZSTD_decompress(tmp, (size_t)raw, p, stored);
        if (ZSTD_isError(got) || got != raw) {
            free(tmp);
            if (ZSTD_isError(got))
                return fail(r, T2C_ERR_FORMAT, "corrupt zstd frame (%s)", ZSTD_getErrorName(got));
            return fail(r, T2C_ERR_FORMAT, "zstd frame decompressed to %llu bytes, expected %llu", (ull)got,
                        (ull)raw);
        }
        if (!is_int4) {
            t->data = tmp;
            t2c_container_from_le(t->dtype, tmp, numel, tmp);
            return T2C_OK;
        }
        t->data = malloc(mem);
        int bad = t->data ? t2c_container_from_le(t->dtype, tmp, numel, t->data) : 0;
        free(tmp);
        if (!t->data)
            return nomem(r);
        if (bad)
            return fail(r, T2C_ERR_FORMAT, "%s pad nibble is not zero", t2c_dtype_name(t->dtype));
        return T2C_OK;
    }
    t->data = malloc(mem);
    if (!t->data)
        return nomem(r);
    if (t2c_container_from_le(t->dtype, p, numel, t->data) != 0)
        return fail(r, T2C_ERR_FORMAT, "%s pad nibble is not zero", t2c_dtype_name(t->dtype));
    return T2C_OK;
}

/* ---------- header ---------- */
static t2c_status parse(reader *r)
{
    const uint8_t *b = r->buf;
    size_t size = r->size;
    if (size > r->lim.max_file_bytes)
        return fail(r, T2C_ERR_LIMIT, "file is %llu bytes, over the limit of %llu", (ull)size,
                    (ull)r->lim.max_file_bytes);
    if (size == 0)
        return fail(r, T2C_ERR_FORMAT, "file is empty");
    if (size < T2C_HEADER_SIZE)
        return fail(r, T2C_ERR_FORMAT, "truncated header: file is %llu bytes, the header is 64", (ull)size);
    if (memcmp(b, t2c_magic, 8) != 0)
        return fail(r, T2C_ERR_FORMAT, "not a .t2c file (bad magic)");
    uint16_t major = t2c_le_get_u16(b + 8), minor = t2c_le_get_u16(b + 10);
    if (major != T2C_FORMAT_MAJOR)
        return fail(r, T2C_ERR_UNSUPPORTED, "unsupported format version %u.%u (this reader reads %d.x)", major,
                    minor, T2C_FORMAT_MAJOR);
    uint32_t flags = t2c_le_get_u32(b + 12);
    if (flags != 0)
        return fail(r, T2C_ERR_UNSUPPORTED, "unsupported flags 0x%08x", flags);
    for (int i = 44; i < 64; i++)
        if (b[i] != 0)
            return fail(r, T2C_ERR_FORMAT, "reserved header byte %d is not zero", i);
    uint64_t tables_size = t2c_le_get_u64(b + 16);
    uint64_t data_offset = t2c_le_get_u64(b + 24);
    uint64_t data_size = t2c_le_get_u64(b + 32);
    uint32_t tables_crc = t2c_le_get_u32(b + 40);
    if (tables_size > size - T2C_HEADER_SIZE)
        return fail(r, T2C_ERR_FORMAT,
                    "truncated file: tables section of %llu bytes ends past the end of the file (%llu bytes)",
                    (ull)tables_size, (ull)size);
    if (data_offset % T2C_ALIGN)
        return fail(r, T2C_ERR_FORMAT, "data_offset %llu is not a multiple of 64", (ull)data_offset);
    if (data_offset < T2C_HEADER_SIZE + tables_size)
        return fail(r, T2C_ERR_FORMAT, "data_offset %llu overlaps the tables section (which ends at %llu)",
                    (ull)data_offset, (ull)(T2C_HEADER_SIZE + tables_size));
    if (data_offset > size || data_size > size - data_offset)
        return fail(r, T2C_ERR_FORMAT,
                    "truncated file: data section of %llu bytes at offset %llu ends past the end of the file "
                    "(%llu bytes)",
                    (ull)data_size, (ull)data_offset, (ull)size);
    if (data_offset + data_size != size)
        return fail(r, T2C_ERR_FORMAT, "%llu unexpected bytes after the data section",
                    (ull)(size - data_offset - data_size));
    uint32_t crc = t2c_crc32(0, b + T2C_HEADER_SIZE, (size_t)tables_size);
    if (crc != tables_crc)
        return fail(r, T2C_ERR_FORMAT, "tables CRC mismatch (stored 0x%08x, computed 0x%08x)", tables_crc, crc);
    for (uint64_t i = T2C_HEADER_SIZE + tables_size; i < data_offset; i++)
        if (b[i] != 0)
            return fail(r, T2C_ERR_FORMAT, "padding byte at offset %llu before the data section is not zero",
                        (ull)i);

    t2c_container *c = &r->c->pub;
    c->version_major = major;
    c->version_minor = minor;
    r->tab_size = (size_t)tables_size;
    r->pos = 0;
    r->data_offset = data_offset;
    r->data_size = data_size;
    TRY(parse_tables(r));

    for (int i = 0; i < c->n_tensors; i++)
        if (c->tensors[i].storage != T2C_STORAGE_NONE)
            TRY(load_payload(r, &c->tensors[i]));
    set_ctx(r, "%s", "");
    return T2C_OK;
}

static void resolve_limits(const t2c_load_limits *in, t2c_load_limits *out)
{
    t2c_load_limits l = in ? *in : (t2c_load_limits){0};
    if (!l.max_file_bytes)
        l.max_file_bytes = T2C_DEFAULT_MAX_FILE_BYTES;
    if (!l.max_tensor_bytes)
        l.max_tensor_bytes = T2C_DEFAULT_MAX_TENSOR_BYTES;
    if (!l.max_tensors)
        l.max_tensors = T2C_DEFAULT_MAX_TENSORS;
    if (!l.max_ops)
        l.max_ops = T2C_DEFAULT_MAX_OPS;
    *out = l;
}

static t2c_status set_error(t2c_error *err, t2c_status st, const char *src, const char *what)
{
    if (err) {
        err->status = st;
        snprintf(err->message, sizeof err->message, "%s: %s", src, what);
    }
    return st;
}

t2c_status t2c_container_read_buffer(const void *data, size_t size, const char *name,
                                     const t2c_load_limits *limits, t2c_container **out,
                                     t2c_error *err)
{
    if (!name)
        name = "<buffer>";
    if (!out || (!data && size))
        return set_error(err, T2C_ERR_INVALID_ARG, name, "t2c_container_read_buffer: NULL argument");
    *out = NULL;
    reader r = {.src = name, .err = err, .buf = data, .size = size};
    resolve_limits(limits, &r.lim);
    r.c = calloc(1, sizeof *r.c);
    if (!r.c)
        return set_error(err, T2C_ERR_NOMEM, name, "out of memory");
    size_t nlen = strlen(name);
    char *src = arena_alloc(r.c, nlen + 1, 1);
    if (!src) {
        t2c_container_free(&r.c->pub);
        return set_error(err, T2C_ERR_NOMEM, name, "out of memory");
    }
    memcpy(src, name, nlen + 1);
    r.c->pub.source = src;
    r.src = src;
    t2c_status st = parse(&r);
    if (st != T2C_OK) {
        t2c_container_free(&r.c->pub);
        return st;
    }
    if (err) {
        err->status = T2C_OK;
        err->message[0] = '\0';
    }
    *out = &r.c->pub;
    return T2C_OK;
}

t2c_status t2c_container_read_file(const char *path, const t2c_load_limits *limits,
                                   t2c_container **out, t2c_error *err)
{
    if (!path || !out)
        return set_error(err, T2C_ERR_INVALID_ARG, path ? path : "<null>",
                         "t2c_container_read_file: NULL argument");
    *out = NULL;
    t2c_load_limits lim;
    resolve_limits(limits, &lim);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return set_error(err, T2C_ERR_IO, path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return set_error(err, T2C_ERR_IO, path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return set_error(err, T2C_ERR_IO, path, S_ISDIR(sb.st_mode) ? strerror(EISDIR) : "not a regular file");
    }
    if ((uint64_t)sb.st_size > lim.max_file_bytes || (uint64_t)sb.st_size > SIZE_MAX) {
        close(fd);
        if (err) {
            err->status = T2C_ERR_LIMIT;
            snprintf(err->message, sizeof err->message, "%s: file is %llu bytes, over the limit of %llu", path,
                     (ull)sb.st_size, (ull)lim.max_file_bytes);
        }
        return T2C_ERR_LIMIT;
    }
    size_t size = (size_t)sb.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return set_error(err, T2C_ERR_NOMEM, path, "out of memory");
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return set_error(err, T2C_ERR_IO, path, strerror(e));
        }
        if (n == 0)
            break; /* the file shrank: parse what is there (it will fail the size checks) */
        got += (size_t)n;
    }
    close(fd);
    t2c_status st = t2c_container_read_buffer(buf, got, path, &lim, out, err);
    free(buf);
    return st;
}
