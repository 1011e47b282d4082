/* golden_format.c — element encoding and word packing for every golden file format.
 *
 * Values arrive as int64 in stored order. Each word holds N elements of b bits (two's
 * complement at b bits; float32 as its bit pattern): element k at bit k·b (LSB first) or
 * (N-1-k)·b (MSB first); bits above N·b are zero; the last word is filled with the pad value.
 * Text is produced by hand into one large buffer and handed to a sink in big blocks:
 * printf per element would make the formatter, not the disk, the limit. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden_internal.h"

t2c_status t2c_golden_error(t2c_error *err, t2c_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->status = status;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

static const char *const format_names[T2C_GOLDEN_FORMAT_COUNT] = {"hex", "bin", "coe", "mif",
                                                                   "raw", "npy", "dec"};
static const char *const format_exts[T2C_GOLDEN_FORMAT_COUNT] = {".memh", ".memb", ".coe", ".mif",
                                                                  ".raw", ".npy", ".txt"};

const char *t2c_golden_format_name(t2c_golden_format f)
{
    return (unsigned)f < T2C_GOLDEN_FORMAT_COUNT ? format_names[f] : "?";
}

const char *t2c_golden_format_ext(t2c_golden_format f)
{
    return (unsigned)f < T2C_GOLDEN_FORMAT_COUNT ? format_exts[f] : "";
}

int t2c_golden_format_from_name(const char *name)
{
    for (int i = 0; name && i < T2C_GOLDEN_FORMAT_COUNT; i++)
        if (strcmp(name, format_names[i]) == 0)
            return i;
    return -1;
}

int64_t t2c_golden_pad_in_dtype(int64_t v, t2c_dtype dtype)
{
    int bits = t2c_dtype_bits(dtype);
    if (bits <= 0 || bits >= 64)
        return v;
    uint64_t m = ((uint64_t)1 << bits) - 1, u = (uint64_t)v & m;
    int is_signed = dtype == T2C_INT4 || dtype == T2C_INT8 || dtype == T2C_INT16 || dtype == T2C_INT32;
    if (is_signed && (u >> (bits - 1)))
        u |= ~m;
    return (int64_t)u;
}

static int hex_digits_of(uint64_t v)
{
    int d = 1;
    while (v >>= 4)
        d++;
    return d;
}

t2c_status t2c_golden_spec_init(t2c_golden_file_spec *spec, t2c_golden_format format, t2c_dtype dtype,
                                const t2c_golden_packing *pack, int64_t count, t2c_error *err)
{
    static const t2c_golden_packing none = {0};
    if (!pack)
        pack = &none;
    memset(spec, 0, sizeof *spec);
    if ((unsigned)format >= T2C_GOLDEN_FORMAT_COUNT)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "unknown golden format %d", (int)format);
    if (dtype == T2C_DTYPE_INVALID || dtype >= T2C_DTYPE_COUNT)
        return t2c_golden_error(err, T2C_ERR_DTYPE, "dtype %d cannot be written", (int)dtype);
    if (count < 1 || count > ((int64_t)1 << 48))
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "element count %lld is outside 1..2^48",
                                (long long)count);
    const int b = t2c_dtype_bits(dtype);
    int n = pack->elems_per_word, w = pack->word_bits;
    if (n < 0 || w < 0 || w > T2C_GOLDEN_MAX_WORD_BITS)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG,
                                "word of %d bits, %d elements per word: need 0..%d bits and N >= 0", w, n,
                                T2C_GOLDEN_MAX_WORD_BITS);
    if (format == T2C_GOLDEN_NPY) {
        n = 1, w = b;
    } else if (n == 0 && w == 0) {
        n = 1, w = b;
    } else if (n == 0) {
        n = w / b;
        if (n < 1)
            return t2c_golden_error(err, T2C_ERR_INVALID_ARG,
                                    "a %d-bit word cannot hold a %d-bit %s element", w, b, t2c_dtype_name(dtype));
    } else if (w == 0) {
        if ((int64_t)n * b > T2C_GOLDEN_MAX_WORD_BITS)
            return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "%d elements of %d bits exceed %d bits per word",
                                    n, b, T2C_GOLDEN_MAX_WORD_BITS);
        w = n * b;
    } else if ((int64_t)n * b > w) {
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "%d elements of %d bits (%s) do not fit a %d-bit word",
                                n, b, t2c_dtype_name(dtype), w);
    }
    if (format == T2C_GOLDEN_DEC)
        w = n * b; /* text: no unused bits */
    spec->format = format;
    spec->dtype = dtype;
    spec->bits = b;
    spec->elems_per_word = n;
    spec->word_bits = w;
    spec->msb_first = pack->msb_first ? 1 : 0;
    spec->pad_value = pack->pad_value;
    if (format == T2C_GOLDEN_HEX || format == T2C_GOLDEN_BIN) {
        spec->address_lines = pack->address_lines ? 1 : 0;
        spec->address_base = pack->address_base;
        spec->address_every = pack->address_every;
    }
    spec->count = count;
    spec->words = (count + n - 1) / n;
    spec->npy_rank = 1;
    spec->npy_dims[0] = count;
    if (spec->address_lines && spec->address_base > UINT64_MAX - (uint64_t)spec->words)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "address base 0x%llx + %lld words overflows 64 bits",
                                (unsigned long long)spec->address_base, (long long)spec->words);
    return T2C_OK;
}

/* ---------------------------------------------------------------- tables */

static const char HEX[16] = {'0', '1', '2', '3', '4', '5', '6', '7',
                             '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
static char bin4[16][4];
static char hex2[256][2]; /* a byte as two hex digits */
static char bin8[256][8]; /* a byte as eight binary digits */
static char dec2[100][2]; /* 0..99 as two decimal digits */
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_init(void)
{
    for (int i = 0; i < 16; i++)
        for (int k = 0; k < 4; k++)
            bin4[i][k] = (char)('0' + ((i >> (3 - k)) & 1));
    for (int i = 0; i < 100; i++) {
        dec2[i][0] = (char)('0' + i / 10);
        dec2[i][1] = (char)('0' + i % 10);
    }
    for (int i = 0; i < 256; i++) {
        hex2[i][0] = HEX[i >> 4];
        hex2[i][1] = HEX[i & 15];
        for (int k = 0; k < 8; k++)
            bin8[i][k] = (char)('0' + ((i >> (7 - k)) & 1));
    }
}

/* ---------------------------------------------------------------- encoder */

static t2c_status flush(t2c_golden_enc *e, t2c_error *err)
{
    if (e->len == 0)
        return T2C_OK;
    if (e->sink(e->sink_ctx, e->buf, e->len, err) != 0) {
        e->failed = 1;
        return err ? err->status : T2C_ERR_IO;
    }
    e->len = 0;
    return T2C_OK;
}

static void put_str(t2c_golden_enc *e, const char *s)
{
    size_t n = strlen(s);
    memcpy(e->buf + e->len, s, n);
    e->len += n;
}

static void clean_comment(char *dst, size_t size, const char *src)
{
    size_t k = 0;
    for (; *src && k + 1 < size; src++)
        dst[k++] = ((unsigned char)*src < 0x20 || *src == 0x7f) ? ' ' : *src;
    dst[k] = '\0';
}

static const char *npy_descr(t2c_dtype d)
{
    switch (d) {
    case T2C_INT4: case T2C_INT8: return "|i1";
    case T2C_UINT4: case T2C_UINT8: return "|u1";
    case T2C_INT16: return "<i2";
    case T2C_INT32: return "<i4";
    case T2C_INT64: return "<i8";
    case T2C_FLOAT32: return "<f4";
    default: return "?";
    }
}

/* Header of a .npy v1.0 file, byte for byte as numpy.save (1.24) writes it: magic, version,
 * u16 header length, the dict, spaces (21 minus the digits of dim 0, room numpy keeps for
 * growing the array in place, then up to a multiple of 64 bytes) and '\n'. */
static void npy_header(t2c_golden_enc *e)
{
    const t2c_golden_file_spec *s = &e->spec;
    char shape[T2C_GOLDEN_MAX_AXES * 24 + 8], dict[T2C_GOLDEN_MAX_AXES * 24 + 128];
    size_t k = 0;
    shape[k++] = '(';
    for (int i = 0; i < s->npy_rank; i++)
        k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%lld%s", i ? " " : "", (long long)s->npy_dims[i],
                              (s->npy_rank == 1 || i + 1 < s->npy_rank) ? "," : "");
    snprintf(shape + k, sizeof shape - k, ")");
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     npy_descr(s->dtype), shape);
    if (s->npy_rank > 0) {
        int digits = snprintf(NULL, 0, "%lld", (long long)s->npy_dims[0]);
        for (int i = digits; i < 21; i++)
            dict[n++] = ' ';
    }
    size_t hlen = (size_t)n + 1;
    size_t padlen = 64 - (10 + hlen) % 64;
    unsigned char *p = e->buf + e->len;
    memcpy(p, "\x93NUMPY\x01\x00", 8);
    p[8] = (unsigned char)((hlen + padlen) & 0xff);
    p[9] = (unsigned char)((hlen + padlen) >> 8);
    memcpy(p + 10, dict, (size_t)n);
    memset(p + 10 + n, ' ', padlen);
    p[10 + n + padlen] = '\n';
    e->len += 10 + hlen + padlen;
}

t2c_status t2c_golden_enc_open(t2c_golden_enc *e, const t2c_golden_file_spec *spec,
                               t2c_golden_sink_fn sink, void *sink_ctx, unsigned char **buf,
                               size_t *buf_cap, t2c_error *err)
{
    memset(e, 0, sizeof *e);
    pthread_once(&tables_once, tables_init);
    e->spec = *spec;
    const t2c_golden_file_spec *s = &e->spec;
    const int b = s->bits, n = s->elems_per_word, w = s->word_bits;
    if (b < 4 || n < 1 || w < n * b || s->count < 1 || s->words != (s->count + n - 1) / n)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "golden encoder: spec not from t2c_golden_spec_init");
    e->mask = b >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << b) - 1);
    e->is_float = s->dtype == T2C_FLOAT32;
    e->is_signed = s->dtype == T2C_INT4 || s->dtype == T2C_INT8 || s->dtype == T2C_INT16 ||
                   s->dtype == T2C_INT32 || s->dtype == T2C_INT64;
    e->word_digits = (w + 3) / 4;
    e->lead_digits = e->word_digits - n * b / 4; /* n·b is a multiple of 4 */
    e->lead_bits = w - n * b;
    e->word_bytes = (w + 7) / 8;
    if (s->format == T2C_GOLDEN_MIF)
        e->addr_digits = hex_digits_of((uint64_t)s->words - 1);
    else if (s->address_lines)
        e->addr_digits = hex_digits_of(s->address_base + (uint64_t)s->words - 1);
    size_t wm = 0;
    switch (s->format) {
    case T2C_GOLDEN_HEX: wm = (size_t)e->word_digits + 1; break;
    case T2C_GOLDEN_BIN: wm = (size_t)w + 1; break;
    case T2C_GOLDEN_COE: wm = (size_t)e->word_digits + 2; break;
    case T2C_GOLDEN_MIF: wm = (size_t)e->addr_digits + (size_t)e->word_digits + 8; break;
    case T2C_GOLDEN_RAW: wm = (size_t)e->word_bytes; break;
    case T2C_GOLDEN_NPY: wm = 8; break;
    case T2C_GOLDEN_DEC: wm = (size_t)n * 24 + 1; break;
    default: break;
    }
    wm += (size_t)e->addr_digits + 2; /* an address line */
    e->word_max = wm;
    e->cap = wm * 4 > ((size_t)1 << 20) ? wm * 4 : ((size_t)1 << 20);
    if (buf && *buf && *buf_cap >= e->cap) { /* the caller's buffer, reused file after file */
        e->buf = *buf;
        e->cap = *buf_cap;
        e->borrowed = 1;
    } else if (buf) {
        free(*buf);
        *buf = e->buf = malloc(e->cap);
        *buf_cap = e->buf ? e->cap : 0;
        e->borrowed = 1;
    } else {
        e->buf = malloc(e->cap);
    }
    e->word = malloc(sizeof(int64_t) * (size_t)n);
    if (!e->buf || !e->word) {
        t2c_golden_enc_free(e);
        return t2c_golden_error(err, T2C_ERR_NOMEM, "out of memory");
    }
    e->sink = sink;
    e->sink_ctx = sink_ctx;
    char comment[sizeof s->comment];
    clean_comment(comment, sizeof comment, s->comment);
    char line[512];
    switch (s->format) {
    case T2C_GOLDEN_COE:
        if (comment[0]) {
            snprintf(line, sizeof line, "; %s\n", comment);
            put_str(e, line);
        }
        put_str(e, "memory_initialization_radix=16;\nmemory_initialization_vector=\n");
        break;
    case T2C_GOLDEN_MIF:
        if (comment[0]) {
            snprintf(line, sizeof line, "-- %s\n", comment);
            put_str(e, line);
        }
        snprintf(line, sizeof line,
                 "WIDTH=%d;\nDEPTH=%lld;\n\nADDRESS_RADIX=HEX;\nDATA_RADIX=HEX;\n\nCONTENT BEGIN\n", w,
                 (long long)s->words);
        put_str(e, line);
        break;
    case T2C_GOLDEN_NPY:
        npy_header(e);
        break;
    default:
        break;
    }
    return T2C_OK;
}

static unsigned char *put_hex_addr(unsigned char *p, uint64_t a, int digits)
{
    for (int i = digits - 1; i >= 0; i--)
        *p++ = (unsigned char)HEX[(a >> (4 * i)) & 15];
    return p;
}

/* One element's b bits as b/4 hex digits, most significant first. */
static inline unsigned char *put_hex_elem(unsigned char *p, uint64_t u, int b)
{
    if (b == 4) {
        *p++ = (unsigned char)HEX[u & 15];
        return p;
    }
    for (int sh = b - 8; sh >= 0; sh -= 8) {
        memcpy(p, hex2[(u >> sh) & 255], 2);
        p += 2;
    }
    return p;
}

static unsigned char *put_hex_word(const t2c_golden_enc *e, unsigned char *p, const int64_t *v)
{
    const int n = e->spec.elems_per_word, b = e->spec.bits;
    for (int i = 0; i < e->lead_digits; i++)
        *p++ = '0';
    if (e->spec.msb_first)
        for (int i = 0; i < n; i++)
            p = put_hex_elem(p, (uint64_t)v[i] & e->mask, b);
    else
        for (int i = n - 1; i >= 0; i--)
            p = put_hex_elem(p, (uint64_t)v[i] & e->mask, b);
    return p;
}

static inline unsigned char *put_bin_elem(unsigned char *p, uint64_t u, int b)
{
    if (b == 4) {
        memcpy(p, bin4[u & 15], 4);
        return p + 4;
    }
    for (int sh = b - 8; sh >= 0; sh -= 8) {
        memcpy(p, bin8[(u >> sh) & 255], 8);
        p += 8;
    }
    return p;
}

static unsigned char *put_bin_word(const t2c_golden_enc *e, unsigned char *p, const int64_t *v)
{
    const int n = e->spec.elems_per_word, b = e->spec.bits;
    for (int i = 0; i < e->lead_bits; i++)
        *p++ = '0';
    if (e->spec.msb_first)
        for (int i = 0; i < n; i++)
            p = put_bin_elem(p, (uint64_t)v[i] & e->mask, b);
    else
        for (int i = n - 1; i >= 0; i--)
            p = put_bin_elem(p, (uint64_t)v[i] & e->mask, b);
    return p;
}

static unsigned char *put_raw_word(const t2c_golden_enc *e, unsigned char *p, const int64_t *v)
{
    const int n = e->spec.elems_per_word, b = e->spec.bits;
    for (int i = 0; i < e->word_bytes; i++)
        p[i] = 0;
    for (int k = 0; k < n; k++) {
        uint64_t u = (uint64_t)v[k] & e->mask;
        int pos = (e->spec.msb_first ? n - 1 - k : k) * b;
        if (b == 4) {
            p[pos / 8] |= (unsigned char)(u << (pos % 8));
        } else {
            unsigned char *q = p + pos / 8;
            for (int i = 0; i < b / 8; i++)
                q[i] = (unsigned char)(u >> (8 * i));
        }
    }
    return p + e->word_bytes;
}

static inline unsigned char *put_dec(const t2c_golden_enc *e, unsigned char *p, int64_t v)
{
    if (e->is_float) {
        uint32_t bits = (uint32_t)v;
        float f;
        memcpy(&f, &bits, sizeof f);
        return p + snprintf((char *)p, 24, "%.9g", (double)f);
    }
    uint64_t u;
    if (e->is_signed && v < 0) {
        *p++ = '-';
        u = (uint64_t)0 - (uint64_t)v;
    } else {
        u = (uint64_t)v;
    }
    int nd = 1; /* digits */
    for (uint64_t t = u; t >= 10; t /= 10)
        nd++;
    unsigned char *end = p + nd, *q = end;
    while (u >= 100) { /* two digits per division, written backwards */
        q -= 2;
        memcpy(q, dec2[u % 100], 2);
        u /= 100;
    }
    if (u >= 10) {
        q -= 2;
        memcpy(q, dec2[u], 2);
    } else {
        *--q = (unsigned char)('0' + u);
    }
    return end;
}

static unsigned char *put_npy(const t2c_golden_enc *e, unsigned char *p, int64_t v)
{
    size_t m = e->spec.dtype == T2C_FLOAT32 ? 4 : t2c_dtype_mem_size(e->spec.dtype);
    uint64_t u = (uint64_t)v;
    for (size_t i = 0; i < m; i++)
        p[i] = (unsigned char)(u >> (8 * i));
    return p + m;
}

/* One full word (N values). */
static t2c_status emit_word(t2c_golden_enc *e, const int64_t *v, t2c_error *err)
{
    if (e->cap - e->len < e->word_max && flush(e, err) != T2C_OK)
        return err ? err->status : T2C_ERR_IO;
    const t2c_golden_file_spec *s = &e->spec;
    unsigned char *p = e->buf + e->len;
    const int64_t wi = e->words_done;
    if (s->address_lines && (wi == 0 || (s->address_every && wi % (int64_t)s->address_every == 0))) {
        *p++ = '@';
        p = put_hex_addr(p, s->address_base + (uint64_t)wi, e->addr_digits);
        *p++ = '\n';
    }
    switch (s->format) {
    case T2C_GOLDEN_HEX:
        p = put_hex_word(e, p, v);
        *p++ = '\n';
        break;
    case T2C_GOLDEN_BIN:
        p = put_bin_word(e, p, v);
        *p++ = '\n';
        break;
    case T2C_GOLDEN_COE:
        p = put_hex_word(e, p, v);
        *p++ = wi + 1 == s->words ? ';' : ',';
        *p++ = '\n';
        break;
    case T2C_GOLDEN_MIF:
        *p++ = ' ', *p++ = ' ';
        p = put_hex_addr(p, (uint64_t)wi, e->addr_digits);
        *p++ = ' ', *p++ = ':', *p++ = ' ';
        p = put_hex_word(e, p, v);
        *p++ = ';';
        *p++ = '\n';
        break;
    case T2C_GOLDEN_RAW:
        p = put_raw_word(e, p, v);
        break;
    case T2C_GOLDEN_NPY:
        p = put_npy(e, p, v[0]);
        break;
    case T2C_GOLDEN_DEC:
        for (int k = 0; k < s->elems_per_word; k++) {
            if (k)
                *p++ = ' ';
            p = put_dec(e, p, v[k]);
        }
        *p++ = '\n';
        break;
    default:
        break;
    }
    e->len = (size_t)(p - e->buf);
    e->words_done++;
    return T2C_OK;
}

/* Many full words at once, with the format decided once: the common path of large dumps.
 * Leaves to emit_word what needs a per-word decision (address lines, the last COE word).
 * Returns the words written: as many as fit the buffer, up to nw. */
static int64_t emit_bulk(t2c_golden_enc *e, const int64_t *v, int64_t nw)
{
    const t2c_golden_file_spec *s = &e->spec;
    if (s->address_lines || s->format == T2C_GOLDEN_NPY)
        return 0;
    if (s->format == T2C_GOLDEN_COE && e->words_done + nw >= s->words)
        nw = s->words - 1 - e->words_done;
    int64_t room = (int64_t)((e->cap - e->len) / e->word_max);
    if (nw > room)
        nw = room;
    if (nw <= 0)
        return 0;
    const int n = s->elems_per_word, b = s->bits;
    const uint64_t mask = e->mask;
    unsigned char *p = e->buf + e->len;
    int64_t wi = e->words_done;
    switch (s->format) {
    case T2C_GOLDEN_HEX:
    case T2C_GOLDEN_COE:
        if (n == 1 && e->lead_digits == 0 && s->format == T2C_GOLDEN_HEX) {
            for (int64_t w = 0; w < nw; w++) {
                p = put_hex_elem(p, (uint64_t)v[w] & mask, b);
                *p++ = '\n';
            }
            break;
        }
        for (int64_t w = 0; w < nw; w++, v += n) {
            p = put_hex_word(e, p, v);
            if (s->format == T2C_GOLDEN_COE)
                *p++ = ',';
            *p++ = '\n';
        }
        break;
    case T2C_GOLDEN_BIN:
        for (int64_t w = 0; w < nw; w++, v += n) {
            p = put_bin_word(e, p, v);
            *p++ = '\n';
        }
        break;
    case T2C_GOLDEN_MIF:
        for (int64_t w = 0; w < nw; w++, v += n, wi++) {
            *p++ = ' ', *p++ = ' ';
            p = put_hex_addr(p, (uint64_t)wi, e->addr_digits);
            *p++ = ' ', *p++ = ':', *p++ = ' ';
            p = put_hex_word(e, p, v);
            *p++ = ';';
            *p++ = '\n';
        }
        break;
    case T2C_GOLDEN_RAW:
        if (!s->msb_first && b >= 8 && s->word_bits == n * b) { /* the elements' bytes in a row */
            const int64_t m = nw * n;
            const int nb = b / 8;
            if (nb == 1) {
                for (int64_t i = 0; i < m; i++)
                    p[i] = (unsigned char)v[i];
                p += m;
            } else {
                for (int64_t i = 0; i < m; i++) {
                    uint64_t u = (uint64_t)v[i];
                    for (int k = 0; k < nb; k++)
                        *p++ = (unsigned char)(u >> (8 * k));
                }
            }
            break;
        }
        for (int64_t w = 0; w < nw; w++, v += n)
            p = put_raw_word(e, p, v);
        break;
    case T2C_GOLDEN_DEC:
        for (int64_t w = 0; w < nw; w++) {
            for (int k = 0; k < n; k++, v++) {
                if (k)
                    *p++ = ' ';
                p = put_dec(e, p, *v);
            }
            *p++ = '\n';
        }
        break;
    default:
        return 0;
    }
    e->len = (size_t)(p - e->buf);
    e->words_done += nw;
    return nw;
}

t2c_status t2c_golden_enc_put(t2c_golden_enc *e, const int64_t *v, size_t n, t2c_error *err)
{
    if (e->failed)
        return t2c_golden_error(err, T2C_ERR_IO, "golden encoder: write after an error");
    if ((int64_t)n > e->spec.count - e->elems_done)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "golden encoder: more than %lld values",
                                (long long)e->spec.count);
    const size_t per = (size_t)e->spec.elems_per_word;
    size_t i = 0;
    t2c_status st;
    while (i < n && e->fill) { /* complete a word started by the previous call */
        e->word[e->fill++] = v[i++];
        if ((size_t)e->fill == per) {
            e->fill = 0;
            if ((st = emit_word(e, e->word, err)) != T2C_OK)
                return st;
        }
    }
    if (per == 1 && e->spec.format == T2C_GOLDEN_NPY) { /* the plain array: no word logic */
        size_t m = e->spec.dtype == T2C_FLOAT32 ? 4 : t2c_dtype_mem_size(e->spec.dtype);
        while (i < n) {
            size_t room = (e->cap - e->len) / m;
            if (room == 0) {
                if ((st = flush(e, err)) != T2C_OK)
                    return st;
                continue;
            }
            size_t k = n - i < room ? n - i : room;
            unsigned char *p = e->buf + e->len;
            if (m == 1) {
                for (size_t j = 0; j < k; j++)
                    p[j] = (unsigned char)v[i + j];
            } else {
                for (size_t j = 0; j < k; j++)
                    p = put_npy(e, p, v[i + j]);
            }
            e->len += k * m;
            e->words_done += (int64_t)k;
            i += k;
        }
    }
    while (i + per <= n) {
        int64_t k = emit_bulk(e, v + i, (int64_t)((n - i) / per));
        if (k > 0) {
            i += (size_t)k * per;
            continue;
        }
        if ((st = emit_word(e, v + i, err)) != T2C_OK) /* flushes when the buffer is full */
            return st;
        i += per;
    }
    while (i < n)
        e->word[e->fill++] = v[i++];
    e->elems_done += (int64_t)n;
    return T2C_OK;
}

int t2c_golden_enc_is_memory_image(const t2c_golden_enc *e)
{
    const uint16_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    if (first != 1 || e->fill || e->spec.address_lines) /* a big-endian host, or mid-word */
        return 0;
    const t2c_golden_file_spec *s = &e->spec;
    if (s->format == T2C_GOLDEN_NPY)
        return 1; /* int4/uint4 as one int8/uint8 per element, as in memory */
    return s->format == T2C_GOLDEN_RAW && !s->msb_first && s->bits >= 8 && s->word_bits == s->elems_per_word * s->bits;
}

t2c_status t2c_golden_enc_put_memory(t2c_golden_enc *e, const void *mem, int64_t n, t2c_error *err)
{
    if (e->failed || !t2c_golden_enc_is_memory_image(e) || n > e->spec.count - e->elems_done)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "golden encoder: not a memory image");
    t2c_status st = flush(e, err);
    if (st != T2C_OK)
        return st;
    const size_t m = e->spec.dtype == T2C_FLOAT32 ? 4 : t2c_dtype_mem_size(e->spec.dtype);
    const unsigned char *p = mem;
    size_t left = (size_t)n * m;
    while (left) { /* in blocks, so a sink's checksum and compression see bounded pieces */
        size_t k = left < ((size_t)8 << 20) ? left : ((size_t)8 << 20);
        if (e->sink(e->sink_ctx, p, k, err) != 0) {
            e->failed = 1;
            return err ? err->status : T2C_ERR_IO;
        }
        p += k;
        left -= k;
    }
    e->elems_done += n;
    e->words_done = e->elems_done / e->spec.elems_per_word;
    return T2C_OK;
}

t2c_status t2c_golden_enc_close(t2c_golden_enc *e, t2c_error *err)
{
    t2c_status st;
    if (e->failed)
        return t2c_golden_error(err, T2C_ERR_IO, "golden encoder: close after an error");
    if (e->elems_done != e->spec.count)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "golden encoder: %lld of %lld values given",
                                (long long)e->elems_done, (long long)e->spec.count);
    if (e->fill) {
        int64_t pad = t2c_golden_pad_in_dtype(e->spec.pad_value, e->spec.dtype);
        while (e->fill < e->spec.elems_per_word)
            e->word[e->fill++] = pad;
        e->fill = 0;
        if ((st = emit_word(e, e->word, err)) != T2C_OK)
            return st;
    }
    if (e->spec.format == T2C_GOLDEN_MIF) {
        if (e->cap - e->len < 16 && (st = flush(e, err)) != T2C_OK)
            return st;
        put_str(e, "END;\n");
    }
    return flush(e, err);
}

void t2c_golden_enc_free(t2c_golden_enc *e)
{
    if (!e->borrowed)
        free(e->buf);
    free(e->word);
    e->buf = NULL;
    e->word = NULL;
}

/* ---------------------------------------------------------------- in memory */

typedef struct mem_sink {
    uint8_t *data;
    size_t len, cap;
} mem_sink;

static int mem_write(void *ctx, const void *data, size_t size, t2c_error *err)
{
    mem_sink *m = ctx;
    if (m->cap - m->len < size) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap - m->len < size)
            cap *= 2;
        uint8_t *nd = realloc(m->data, cap);
        if (!nd) {
            t2c_golden_error(err, T2C_ERR_NOMEM, "out of memory");
            return -1;
        }
        m->data = nd;
        m->cap = cap;
    }
    memcpy(m->data + m->len, data, size);
    m->len += size;
    return 0;
}

t2c_status t2c_golden_encode(const t2c_golden_file_spec *spec, const int64_t *values, uint8_t **out,
                             size_t *size, t2c_error *err)
{
    if (!spec || !values || !out || !size)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "t2c_golden_encode: NULL argument");
    *out = NULL;
    *size = 0;
    mem_sink m = {0};
    t2c_golden_enc e;
    t2c_status st = t2c_golden_enc_open(&e, spec, mem_write, &m, NULL, NULL, err);
    if (st != T2C_OK)
        return st;
    if ((st = t2c_golden_enc_put(&e, values, (size_t)spec->count, err)) == T2C_OK)
        st = t2c_golden_enc_close(&e, err);
    t2c_golden_enc_free(&e);
    if (st != T2C_OK) {
        free(m.data);
        return st;
    }
    *out = m.data ? m.data : malloc(1);
    *size = m.len;
    return *out ? T2C_OK : t2c_golden_error(err, T2C_ERR_NOMEM, "out of memory");
}
