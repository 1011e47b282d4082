/* check_decode.c — golden manifest entries and dump files back to logical tensors: the inverse
 * of golden_format.c (formats, word packing), golden_layout.c (views, stored axes, tiles) and the
 * writer's zstd compression, as golden/README.md describes them. */
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "t2c_check.h"

static t2c_status fail(t2c_error *err, t2c_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static t2c_status fail(t2c_error *err, t2c_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->status = st;
    }
    return st;
}

/* ---------------------------------------------------------------- manifest */

static char *dup_str(const char *s) { return s ? strdup(s) : NULL; }

static json_object *key(json_object *o, const char *k)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static int get_int(json_object *o, const char *k, int64_t def, int64_t *v)
{
    json_object *x = key(o, k);
    if (!x || json_object_get_type(x) == json_type_null) {
        *v = def;
        return 0;
    }
    if (json_object_get_type(x) != json_type_int)
        return -1;
    *v = json_object_get_int64(x);
    return 0;
}

static const char *get_str(json_object *o, const char *k)
{
    json_object *x = key(o, k);
    return x && json_object_get_type(x) == json_type_string ? json_object_get_string(x) : NULL;
}

static int get_dims(json_object *o, const char *k, int max, int *rank, int64_t *dims)
{
    json_object *a = key(o, k);
    if (!a || json_object_get_type(a) != json_type_array || (int)json_object_array_length(a) > max)
        return -1;
    *rank = (int)json_object_array_length(a);
    for (int i = 0; i < *rank; i++) {
        json_object *x = json_object_array_get_idx(a, (size_t)i);
        if (json_object_get_type(x) != json_type_int || json_object_get_int64(x) < 0)
            return -1;
        dims[i] = json_object_get_int64(x);
    }
    return 0;
}

static const char *parse_entry(json_object *f, const char *dir, t2c_check_entry *e)
{
    const char *p = get_str(f, "path");
    if (!p)
        return "path";
    size_t n = strlen(dir) + strlen(p) + 2;
    e->path = malloc(n);
    if (!e->path)
        return "path (out of memory)";
    if (p[0] == '/')
        snprintf(e->path, n, "%s", p);
    else
        snprintf(e->path, n, "%s/%s", dir, p);
    e->op = dup_str(get_str(f, "op"));
    e->role = dup_str(get_str(f, "role"));
    e->tensor = dup_str(get_str(f, "tensor"));
    if (!e->op || !e->role)
        return "op/role";
    int64_t v;
    if (get_int(f, "op_index", -1, &v) || v < 0 || v > INT32_MAX)
        return "op_index";
    e->op_index = (int)v;
    if (get_int(f, "image", -1, &v))
        return "image";
    e->image = (int)v;
    const char *dt = get_str(f, "dtype");
    e->dtype = dt ? t2c_dtype_from_name(dt) : T2C_DTYPE_INVALID;
    if (e->dtype == T2C_DTYPE_INVALID)
        return "dtype";
    e->bits = t2c_dtype_bits(e->dtype);
    e->is_float = e->dtype == T2C_FLOAT32;
    e->is_signed = !e->is_float && t2c_dtype_min(e->dtype) < 0;
    if (get_dims(f, "shape", T2C_MAX_RANK, &e->rank, e->shape))
        return "shape";
    const char *fmt = get_str(f, "format");
    int fi = fmt ? t2c_golden_format_from_name(fmt) : -1;
    if (fi < 0)
        return "format";
    e->format = (t2c_golden_format)fi;
    if (get_int(f, "elems_per_word", 1, &v) || v < 1 || v > T2C_GOLDEN_MAX_WORD_BITS)
        return "elems_per_word";
    e->elems_per_word = (int)v;
    if (get_int(f, "word_bits", (int64_t)e->elems_per_word * e->bits, &v) || v < 1 || v > T2C_GOLDEN_MAX_WORD_BITS ||
        v < (int64_t)e->elems_per_word * e->bits)
        return "word_bits";
    e->word_bits = (int)v;
    const char *wo = get_str(f, "word_order");
    e->msb_first = wo && strcmp(wo, "msb_first") == 0;
    const char *comp = get_str(f, "compression");
    e->zstd = comp && strcmp(comp, "zstd") == 0;
    if (get_int(f, "words", -1, &e->words) || get_int(f, "elements", -1, &e->elements) ||
        get_int(f, "stored_elements", -1, &e->stored_elements) || get_int(f, "pad_value", 0, &e->pad_value))
        return "words/elements";
    json_object *l = key(f, "layout"); /* absent (a hand-written mapping): the tensor in NCHW order */
    const char *view = get_str(l, "view");
    if (!view || strcmp(view, "identity") == 0)
        e->view = T2C_GOLDEN_VIEW_IDENTITY;
    else if (strcmp(view, "reshape") == 0)
        e->view = T2C_GOLDEN_VIEW_RESHAPE;
    else if (strcmp(view, "im2col") == 0)
        e->view = T2C_GOLDEN_VIEW_IM2COL;
    else if (strcmp(view, "weight_hwc") == 0)
        e->view = T2C_GOLDEN_VIEW_WEIGHT_HWC;
    else
        return "layout.view";
    const char *base = get_str(l, "base");
    e->hwc = base && strcmp(base, "gemm_hwc") == 0;
    if (key(l, "view_shape")) {
        if (get_dims(l, "view_shape", T2C_MAX_RANK, &e->view_rank, e->view_shape))
            return "layout.view_shape";
    } else {
        e->view_rank = e->rank;
        memcpy(e->view_shape, e->shape, sizeof e->shape);
    }
    json_object *c = key(l, "conv");
    if (e->view == T2C_GOLDEN_VIEW_IM2COL || e->view == T2C_GOLDEN_VIEW_WEIGHT_HWC) {
        t2c_golden_conv *g = &e->conv;
        if (!c || get_int(c, "Cin", -1, &g->cin) || get_int(c, "H", -1, &g->h) || get_int(c, "W", -1, &g->w) ||
            get_int(c, "Cout", -1, &g->cout) || get_int(c, "KH", -1, &g->kh) || get_int(c, "KW", -1, &g->kw) ||
            get_int(c, "group", 1, &g->group) || get_int(c, "sh", 1, &g->stride_h) ||
            get_int(c, "sw", 1, &g->stride_w) || get_int(c, "dh", 1, &g->dil_h) || get_int(c, "dw", 1, &g->dil_w) ||
            get_int(c, "pad_top", 0, &g->pad_top) || get_int(c, "pad_left", 0, &g->pad_left) ||
            get_int(c, "Ho", -1, &g->ho) || get_int(c, "Wo", -1, &g->wo) || g->cin < 1 || g->kh < 1 ||
            g->kw < 1 || g->group < 1 || g->ho < 0 || g->wo < 0 || g->cout < 1)
            return "layout.conv";
    }
    json_object *axes = key(l, "axes");
    if (axes) {
        if (json_object_get_type(axes) != json_type_array ||
            (int)json_object_array_length(axes) > T2C_GOLDEN_MAX_AXES)
            return "layout.axes";
        e->n_axes = (int)json_object_array_length(axes);
        for (int j = 0; j < e->n_axes; j++) {
            json_object *a = json_object_array_get_idx(axes, (size_t)j);
            int64_t d, s, st;
            if (get_int(a, "dim", -1, &d) || get_int(a, "size", -1, &s) || get_int(a, "step", 1, &st) || d < 0 ||
                d >= e->view_rank || s < 1 || st < 1)
                return "layout.axes";
            e->axes[j] = (t2c_golden_axis){.dim = (int)d, .size = s, .step = st};
        }
    } else { /* a hand-written mapping without axes: the view's own order */
        e->n_axes = e->view_rank;
        for (int j = 0; j < e->view_rank; j++)
            e->axes[j] = (t2c_golden_axis){.dim = j, .size = e->view_shape[j] ? e->view_shape[j] : 1, .step = 1};
    }
    json_object *tile = key(l, "tile");
    e->tiled = tile && json_object_get_type(tile) == json_type_array && e->n_axes >= 4 && e->view_rank >= 2;
    int64_t stored = 1, real = 1;
    for (int j = 0; j < e->n_axes; j++)
        stored *= e->axes[j].size;
    for (int j = 0; j < e->view_rank; j++)
        real *= e->view_shape[j];
    if (e->stored_elements < 0)
        e->stored_elements = stored;
    if (e->elements < 0)
        e->elements = real;
    if (e->stored_elements != stored)
        return "stored_elements (differs from the product of the axis sizes)";
    return NULL;
}

static void entry_free(t2c_check_entry *e)
{
    free(e->path), free(e->op), free(e->role), free(e->tensor);
}

void t2c_check_manifest_free(t2c_check_manifest *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n; i++)
        entry_free(&m->entries[i]);
    free(m->entries);
    free(m);
}

t2c_status t2c_check_manifest_load(const char *manifest_path, const char *dump_dir, t2c_check_manifest **out,
                                   t2c_error *err)
{
    *out = NULL;
    FILE *fp = fopen(manifest_path, "rb");
    if (!fp)
        return fail(err, T2C_ERR_IO, "%s: cannot open: %s", manifest_path, strerror(errno));
    fclose(fp);
    json_object *root = json_object_from_file(manifest_path);
    if (!root)
        return fail(err, T2C_ERR_FORMAT, "%s: not valid JSON", manifest_path);
    json_object *files = key(root, "files");
    if (!files || json_object_get_type(files) != json_type_array) {
        json_object_put(root);
        return fail(err, T2C_ERR_FORMAT, "%s: no \"files\" array (not a golden manifest)", manifest_path);
    }
    char *dir = NULL;
    if (dump_dir)
        dir = strdup(dump_dir);
    else {
        dir = strdup(manifest_path);
        char *slash = dir ? strrchr(dir, '/') : NULL;
        if (slash)
            *slash = '\0';
        else if (dir)
            strcpy(dir, ".");
    }
    t2c_check_manifest *m = calloc(1, sizeof *m);
    size_t n = json_object_array_length(files);
    if (m)
        m->entries = calloc(n ? n : 1, sizeof *m->entries);
    if (!dir || !m || !m->entries) {
        free(dir), free(m ? m->entries : NULL), free(m);
        json_object_put(root);
        return fail(err, T2C_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const char *bad = parse_entry(json_object_array_get_idx(files, i), dir, &m->entries[i]);
        m->n = (int)i + 1;
        if (bad) {
            fail(err, T2C_ERR_FORMAT, "%s: files[%zu] (%s): bad or missing \"%s\"", manifest_path, i,
                 m->entries[i].path ? m->entries[i].path : "?", bad);
            free(dir);
            json_object_put(root);
            t2c_check_manifest_free(m);
            return T2C_ERR_FORMAT;
        }
    }
    free(dir);
    json_object_put(root);
    *out = m;
    return T2C_OK;
}

/* ---------------------------------------------------------------- file bytes */

static t2c_status read_file(const t2c_check_entry *e, unsigned char **out, size_t *size, t2c_error *err)
{
    FILE *f = fopen(e->path, "rb");
    if (!f)
        return fail(err, T2C_ERR_IO, "%s: cannot open: %s", e->path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        if (len == cap) {
            unsigned char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf)
        return fail(err, T2C_ERR_NOMEM, "%s: out of memory", e->path);
    if (bad) {
        free(buf);
        return fail(err, T2C_ERR_IO, "%s: read error", e->path);
    }
    if (e->zstd) { /* streamed: the writer's frames need not record their size */
        ZSTD_DStream *z = ZSTD_createDStream();
        size_t cap2 = len * 4 + 4096, n = 0;
        unsigned char *d = malloc(cap2);
        ZSTD_inBuffer zi = {buf, len, 0};
        size_t r = z ? ZSTD_initDStream(z) : 1;
        while (d && z && !ZSTD_isError(r)) {
            if (n == cap2) {
                unsigned char *nd = cap2 > ((size_t)1 << 40) ? NULL : realloc(d, cap2 *= 2);
                if (!nd) {
                    free(d);
                    d = NULL;
                    break;
                }
                d = nd;
            }
            ZSTD_outBuffer zo = {d, cap2, n};
            r = ZSTD_decompressStream(z, &zo, &zi);
            n = zo.pos;
            if (!ZSTD_isError(r) && r == 0 && zi.pos == zi.size)
                break;
            if (!ZSTD_isError(r) && zi.pos == zi.size && zo.pos < zo.size) {
                r = (size_t)-1; /* truncated frame */
                break;
            }
        }
        ZSTD_freeDStream(z);
        free(buf);
        if (!d)
            return fail(err, T2C_ERR_NOMEM, "%s: out of memory", e->path);
        if (ZSTD_isError(r) || r != 0) {
            free(d);
            return fail(err, T2C_ERR_FORMAT, "%s: corrupt or truncated zstd data", e->path);
        }
        buf = d, len = n;
    }
    *out = buf, *size = len;
    return T2C_OK;
}

/* ---------------------------------------------------------------- words -> elements */

typedef struct words {
    int64_t n;        /* words */
    int wbytes;       /* bytes per word, little-endian */
    unsigned char *b; /* n × wbytes */
} words;

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A token of digits in radix 16 or 2 into word k (bits beyond W must be zero). */
static int put_word(words *w, int64_t k, const char *s, size_t len, int radix, int word_bits)
{
    unsigned char *dst = w->b + k * w->wbytes;
    memset(dst, 0, (size_t)w->wbytes);
    const int nb = radix == 16 ? 4 : 1;
    int64_t bit = 0; /* of the digit's lowest bit; digits never straddle a byte (4 | 8) */
    for (size_t i = len; i-- > 0; bit += nb) {
        int v = radix == 16 ? hexval((unsigned char)s[i]) : (s[i] == '0' ? 0 : s[i] == '1' ? 1 : -1);
        if (v < 0)
            return -1;
        if (v == 0)
            continue;
        if (bit + (31 - __builtin_clz((unsigned)v)) >= word_bits) /* a set bit past the word */
            return -1;
        dst[bit / 8] |= (unsigned char)(v << (bit % 8));
    }
    return 0;
}

static uint64_t word_bits_at(const unsigned char *w, int64_t off, int nbits)
{
    uint64_t v = 0;
    if (off % 8 == 0 && nbits % 8 == 0) { /* whole bytes, little-endian */
        for (int i = nbits / 8 - 1; i >= 0; i--)
            v = v << 8 | w[off / 8 + i];
        return v;
    }
    for (int i = 0; i < nbits; i++) {
        int64_t b = off + i;
        v |= (uint64_t)((w[b / 8] >> (b % 8)) & 1) << i;
    }
    return v;
}

static int64_t to_value(uint64_t raw, int bits, int is_signed)
{
    if (bits < 64 && is_signed && (raw >> (bits - 1)) & 1)
        return (int64_t)(raw | ~((UINT64_C(1) << bits) - 1));
    return (int64_t)raw;
}

/* Parse the text formats into words. */
static t2c_status parse_text_words(const t2c_check_entry *e, const char *txt, size_t len, words *w, t2c_error *err)
{
    int radix = e->format == T2C_GOLDEN_BIN ? 2 : 16;
    int64_t k = 0;
    const char *p = txt, *end = txt + len;
    int in_vector = e->format == T2C_GOLDEN_HEX || e->format == T2C_GOLDEN_BIN;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *s = p;
        p = nl ? nl + 1 : end;
        while (s < le && isspace((unsigned char)*s))
            s++;
        const char *t = le;
        while (t > s && isspace((unsigned char)t[-1]))
            t--;
        if (s == t)
            continue;
        if (e->format == T2C_GOLDEN_HEX || e->format == T2C_GOLDEN_BIN) {
            if (*s == '@' || (t - s >= 2 && s[0] == '/' && s[1] == '/'))
                continue;
        } else if (e->format == T2C_GOLDEN_COE) {
            if (*s == ';')
                continue;
            if (!in_vector) {
                if (strncmp(s, "memory_initialization_radix", 27) == 0) {
                    const char *eq = memchr(s, '=', (size_t)(t - s));
                    radix = eq ? atoi(eq + 1) : 16;
                    if (radix != 16 && radix != 2)
                        return fail(err, T2C_ERR_FORMAT, "%s: unsupported COE radix %d", e->path, radix);
                } else if (strncmp(s, "memory_initialization_vector", 28) == 0)
                    in_vector = 1;
                continue;
            }
            while (t > s && (t[-1] == ',' || t[-1] == ';' || isspace((unsigned char)t[-1])))
                t--;
        } else { /* MIF */
            if (t - s >= 2 && s[0] == '-' && s[1] == '-')
                continue;
            if (!in_vector) {
                if (strncmp(s, "DATA_RADIX", 10) == 0)
                    radix = strstr(s, "BIN") && strstr(s, "BIN") < t ? 2 : 16;
                else if (strncmp(s, "CONTENT BEGIN", 13) == 0)
                    in_vector = 1;
                continue;
            }
            if (strncmp(s, "END", 3) == 0)
                break;
            const char *colon = memchr(s, ':', (size_t)(t - s));
            if (!colon)
                return fail(err, T2C_ERR_FORMAT, "%s: bad MIF line '%.*s'", e->path, (int)(t - s), s);
            uint64_t addr = 0;
            for (const char *a = s; a < colon; a++)
                if (!isspace((unsigned char)*a)) {
                    int v = hexval((unsigned char)*a);
                    if (v < 0)
                        return fail(err, T2C_ERR_FORMAT, "%s: bad MIF address '%.*s'", e->path, (int)(colon - s), s);
                    addr = addr * 16 + (uint64_t)v;
                }
            if ((int64_t)addr != k)
                return fail(err, T2C_ERR_FORMAT, "%s: MIF address %llx out of sequence (expected %llx)", e->path,
                            (unsigned long long)addr, (unsigned long long)k);
            s = colon + 1;
            while (s < t && isspace((unsigned char)*s))
                s++;
            while (t > s && (t[-1] == ';' || isspace((unsigned char)t[-1])))
                t--;
        }
        if (k >= w->n)
            return fail(err, T2C_ERR_FORMAT, "%s: wrong size: more than the %lld words the manifest declares",
                        e->path, (long long)w->n);
        if (put_word(w, k, s, (size_t)(t - s), radix, e->word_bits) != 0)
            return fail(err, T2C_ERR_FORMAT, "%s: word %lld: bad %s digits '%.*s'", e->path, (long long)k,
                        radix == 16 ? "hex" : "binary", (int)(t - s > 40 ? 40 : t - s), s);
        k++;
    }
    if (k != w->n)
        return fail(err, T2C_ERR_FORMAT, "%s: wrong size: %lld words, the manifest declares %lld", e->path,
                    (long long)k, (long long)w->n);
    return T2C_OK;
}

/* .npy v1/v2/v3 of the stored array: element values in file order. */
static t2c_status parse_npy(const t2c_check_entry *e, const unsigned char *b, size_t len, int64_t *vals, int64_t n,
                            t2c_error *err)
{
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return fail(err, T2C_ERR_FORMAT, "%s: not a .npy file", e->path);
    size_t hl, off;
    if (b[6] == 1)
        hl = b[8] | (size_t)b[9] << 8, off = 10;
    else {
        if (len < 12)
            return fail(err, T2C_ERR_FORMAT, "%s: truncated .npy header", e->path);
        hl = b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24, off = 12;
    }
    if (off + hl > len)
        return fail(err, T2C_ERR_FORMAT, "%s: truncated .npy header", e->path);
    char hdr[512];
    snprintf(hdr, sizeof hdr, "%.*s", (int)(hl < 511 ? hl : 511), (const char *)b + off);
    const char *d = strstr(hdr, "'descr'");
    const char *q = d ? strchr(d + 7, '\'') : NULL;
    if (!q || strstr(hdr, "'fortran_order': True"))
        return fail(err, T2C_ERR_FORMAT, "%s: unsupported .npy header", e->path);
    q++;
    int size = 0, is_signed = 1, is_float = 0;
    if (strncmp(q, "|i1", 3) == 0)
        size = 1;
    else if (strncmp(q, "|u1", 3) == 0)
        size = 1, is_signed = 0;
    else if (strncmp(q, "<i2", 3) == 0)
        size = 2;
    else if (strncmp(q, "<u2", 3) == 0)
        size = 2, is_signed = 0;
    else if (strncmp(q, "<i4", 3) == 0)
        size = 4;
    else if (strncmp(q, "<u4", 3) == 0)
        size = 4, is_signed = 0;
    else if (strncmp(q, "<i8", 3) == 0)
        size = 8;
    else if (strncmp(q, "<f4", 3) == 0)
        size = 4, is_float = 1;
    else
        return fail(err, T2C_ERR_FORMAT, "%s: unsupported .npy dtype '%.3s'", e->path, q);
    const unsigned char *data = b + off + hl;
    size_t avail = len - off - hl;
    if (avail != (size_t)n * (size_t)size)
        return fail(err, T2C_ERR_FORMAT, "%s: wrong size: %zu data bytes, expected %lld elements of %d bytes", e->path,
                    avail, (long long)n, size);
    for (int64_t i = 0; i < n; i++) {
        uint64_t raw = 0;
        for (int j = 0; j < size; j++)
            raw |= (uint64_t)data[i * size + j] << (8 * j);
        vals[i] = is_float ? (int64_t)raw : to_value(raw, size * 8, is_signed);
    }
    return T2C_OK;
}

static t2c_status parse_dec(const t2c_check_entry *e, const char *txt, size_t len, int64_t *vals, int64_t n,
                            t2c_error *err)
{
    int64_t k = 0;
    const char *p = txt, *end = txt + len;
    char tok[64];
    while (p < end) {
        while (p < end && isspace((unsigned char)*p))
            p++;
        if (p == end)
            break;
        size_t m = 0;
        while (p < end && !isspace((unsigned char)*p) && m < sizeof tok - 1)
            tok[m++] = *p++;
        tok[m] = '\0';
        if (k >= n)
            return fail(err, T2C_ERR_FORMAT, "%s: wrong size: more than %lld values", e->path, (long long)n);
        char *ep;
        errno = 0;
        if (e->is_float) {
            float fv = strtof(tok, &ep);
            uint32_t u;
            memcpy(&u, &fv, 4);
            vals[k++] = u;
        } else
            vals[k++] = strtoll(tok, &ep, 10);
        if (*ep || errno)
            return fail(err, T2C_ERR_FORMAT, "%s: bad decimal value '%s'", e->path, tok);
    }
    if (k != n)
        return fail(err, T2C_ERR_FORMAT, "%s: wrong size: %lld values, the manifest declares %lld", e->path,
                    (long long)k, (long long)n);
    return T2C_OK;
}

/* The stored elements of the file (stored_elements of them, word padding dropped). */
static t2c_status read_stored(const t2c_check_entry *e, int flip, int64_t *stored, t2c_error *err)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    t2c_status st = read_file(e, &buf, &len, err);
    if (st != T2C_OK)
        return st;
    const int64_t N = e->elems_per_word;
    const int64_t nwords = e->words >= 0 ? e->words : (e->stored_elements + N - 1) / N;
    if (e->format == T2C_GOLDEN_NPY) {
        st = flip ? fail(err, T2C_ERR_UNSUPPORTED, "npy has no words") : parse_npy(e, buf, len, stored, e->stored_elements, err);
        free(buf);
        return st;
    }
    if (e->format == T2C_GOLDEN_DEC) {
        int64_t total = nwords * N;
        int64_t *tmp = malloc(sizeof(int64_t) * (size_t)(total ? total : 1));
        st = !tmp ? fail(err, T2C_ERR_NOMEM, "out of memory") : parse_dec(e, (const char *)buf, len, tmp, total, err);
        if (st == T2C_OK) {
            for (int64_t j = 0; j < nwords; j++)
                for (int64_t k = 0; k < N; k++) {
                    int64_t src = j * N + (flip ? N - 1 - k : k), dst = j * N + k;
                    if (dst < e->stored_elements)
                        stored[dst] = tmp[src];
                }
        }
        free(tmp);
        free(buf);
        return st;
    }
    if (flip && N < 2) {
        free(buf);
        return fail(err, T2C_ERR_UNSUPPORTED, "one element per word");
    }
    words w = {.n = nwords, .wbytes = (e->word_bits + 7) / 8};
    w.b = calloc((size_t)(nwords ? nwords : 1), (size_t)w.wbytes);
    if (!w.b) {
        free(buf);
        return fail(err, T2C_ERR_NOMEM, "out of memory");
    }
    if (e->format == T2C_GOLDEN_RAW) {
        if (len != (size_t)nwords * (size_t)w.wbytes)
            st = fail(err, T2C_ERR_FORMAT, "%s: wrong size: %zu bytes, expected %lld words of %d bytes", e->path,
                      len, (long long)nwords, w.wbytes);
        else
            memcpy(w.b, buf, len);
    } else
        st = parse_text_words(e, (const char *)buf, len, &w, err);
    free(buf);
    if (st == T2C_OK) {
        const int msb = flip ? !e->msb_first : e->msb_first;
        for (int64_t j = 0; j < nwords; j++)
            for (int64_t k = 0; k < N; k++) {
                int64_t i = j * N + k;
                if (i >= e->stored_elements)
                    break;
                int64_t off = (msb ? N - 1 - k : k) * e->bits;
                uint64_t raw = word_bits_at(w.b + j * w.wbytes, off, e->bits);
                stored[i] = e->is_float ? (int64_t)raw : to_value(raw, e->bits, e->is_signed);
            }
    }
    free(w.b);
    return st;
}

/* ---------------------------------------------------------------- layout inverse */

static int64_t numel(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    return n;
}

t2c_status t2c_check_decode(const t2c_check_entry *e, const t2c_check_alt *alt, int64_t *out, t2c_error *err)
{
    static const t2c_check_alt none;
    if (!alt)
        alt = &none;
    t2c_golden_axis axes[T2C_GOLDEN_MAX_AXES];
    memcpy(axes, e->axes, sizeof axes);
    const int na = e->n_axes;
    if (alt->swap_nhwc) {
        /* NCHW (0,1,2,3) <-> NHWC (0,2,3,1) over the first four untiled axes of a rank-4 view */
        if (e->view_rank != 4 || na != 4 || e->tiled)
            return fail(err, T2C_ERR_UNSUPPORTED, "not a rank-4 untiled layout");
        int nhwc = axes[1].dim == 2 && axes[2].dim == 3 && axes[3].dim == 1;
        int nchw = axes[1].dim == 1 && axes[2].dim == 2 && axes[3].dim == 3;
        if (!nhwc && !nchw)
            return fail(err, T2C_ERR_UNSUPPORTED, "neither NCHW nor NHWC");
        const int *perm = nchw ? (const int[]){0, 2, 3, 1} : (const int[]){0, 1, 2, 3};
        for (int j = 0; j < 4; j++)
            axes[j] = (t2c_golden_axis){.dim = perm[j], .size = e->view_shape[perm[j]], .step = 1};
        if (axes[1].size == 1 && axes[2].size == 1 && axes[3].size == 1)
            return fail(err, T2C_ERR_UNSUPPORTED, "trivial");
    }
    if (alt->transpose) {
        if (na < 2 || axes[na - 1].size == 1 || axes[na - 2].size == 1 || axes[na - 1].dim == axes[na - 2].dim)
            return fail(err, T2C_ERR_UNSUPPORTED, "no two axes to transpose");
        t2c_golden_axis t = axes[na - 1];
        axes[na - 1] = axes[na - 2];
        axes[na - 2] = t;
    }
    if (alt->swap_tile_order) {
        if (!e->tiled || axes[na - 3].size == 1 || axes[na - 4].size == 1)
            return fail(err, T2C_ERR_UNSUPPORTED, "not tiled in two directions");
        t2c_golden_axis t = axes[na - 3];
        axes[na - 3] = axes[na - 4];
        axes[na - 4] = t;
    }
    int64_t *stored = malloc(sizeof(int64_t) * (size_t)(e->stored_elements ? e->stored_elements : 1));
    int64_t vn = numel(e->view_rank, e->view_shape);
    int64_t *view = e->view == T2C_GOLDEN_VIEW_IDENTITY || e->view == T2C_GOLDEN_VIEW_RESHAPE
                        ? out
                        : malloc(sizeof(int64_t) * (size_t)(vn ? vn : 1));
    if (!stored || !view) {
        free(stored);
        if (view != out)
            free(view);
        return fail(err, T2C_ERR_NOMEM, "out of memory");
    }
    if (numel(e->rank, e->shape) != e->elements && e->view != T2C_GOLDEN_VIEW_IM2COL) {
        free(stored);
        if (view != out)
            free(view);
        return fail(err, T2C_ERR_FORMAT, "%s: wrong size: the shape has %lld elements, the manifest says %lld",
                    e->path, (long long)numel(e->rank, e->shape), (long long)e->elements);
    }
    t2c_status st = read_stored(e, alt->flip_word_order, stored, err);
    if (st == T2C_OK) {
        /* scatter: stored index s (row-major over axes) holds V[c], c[d] = sum s_j·step_j */
        int64_t vstride[T2C_MAX_RANK];
        for (int d = e->view_rank - 1; d >= 0; d--)
            vstride[d] = d == e->view_rank - 1 ? 1 : vstride[d + 1] * e->view_shape[d + 1];
        int64_t idx[T2C_GOLDEN_MAX_AXES] = {0};
        /* the common case: the axes are the view's dims in order, unit steps, no padding */
        int identity = na == e->view_rank && e->stored_elements == numel(e->view_rank, e->view_shape);
        for (int j = 0; identity && j < na; j++)
            identity = axes[j].dim == j && axes[j].step == 1 && axes[j].size == e->view_shape[j];
        if (identity)
            memcpy(view, stored, sizeof(int64_t) * (size_t)e->stored_elements);
        for (int64_t i = 0; !identity && i < e->stored_elements; i++) {
            int64_t c[T2C_MAX_RANK] = {0}, off = 0;
            int inside = 1;
            for (int j = 0; j < na; j++)
                c[axes[j].dim] += idx[j] * axes[j].step;
            for (int d = 0; d < e->view_rank; d++) {
                if (c[d] >= e->view_shape[d])
                    inside = 0;
                off += c[d] * vstride[d];
            }
            if (inside)
                view[off] = stored[i];
            for (int j = na - 1; j >= 0; j--) {
                if (++idx[j] < axes[j].size)
                    break;
                idx[j] = 0;
            }
        }
        const t2c_golden_conv *g = &e->conv;
        if (e->view == T2C_GOLDEN_VIEW_WEIGHT_HWC) {
            /* V[co][(kh·KW+kw)·Cg+ci] = W[co][ci][kh][kw] */
            int64_t cg = e->shape[1];
            for (int64_t co = 0; co < e->shape[0]; co++)
                for (int64_t ci = 0; ci < cg; ci++)
                    for (int64_t kh = 0; kh < g->kh; kh++)
                        for (int64_t kw = 0; kw < g->kw; kw++)
                            out[((co * cg + ci) * g->kh + kh) * g->kw + kw] =
                                view[co * cg * g->kh * g->kw + (kh * g->kw + kw) * cg + ci];
        } else if (e->view == T2C_GOLDEN_VIEW_IM2COL) {
            /* every image position read by some window gets its value; others stay x_zero_point */
            int64_t n = e->shape[0], C = g->cin, H = g->h, W = g->w, cg = C / g->group, K = C * g->kh * g->kw;
            int64_t P = g->ho * g->wo;
            for (int64_t i = 0; i < numel(e->rank, e->shape); i++)
                out[i] = g->x_zero_point;
            for (int64_t b = 0; b < n; b++)
                for (int64_t c = 0; c < C; c++)
                    for (int64_t kh = 0; kh < g->kh; kh++)
                        for (int64_t kw = 0; kw < g->kw; kw++) {
                            int64_t grp = c / cg, ci = c % cg;
                            int64_t row = e->hwc ? grp * cg * g->kh * g->kw + (kh * g->kw + kw) * cg + ci
                                                 : (c * g->kh + kh) * g->kw + kw;
                            for (int64_t oh = 0; oh < g->ho; oh++)
                                for (int64_t ow = 0; ow < g->wo; ow++) {
                                    int64_t ih = oh * g->stride_h - g->pad_top + kh * g->dil_h;
                                    int64_t iw = ow * g->stride_w - g->pad_left + kw * g->dil_w;
                                    if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                        continue;
                                    out[((b * C + c) * H + ih) * W + iw] = view[(b * K + row) * P + oh * g->wo + ow];
                                }
                        }
        }
    }
    free(stored);
    if (view != out)
        free(view);
    return st;
}
