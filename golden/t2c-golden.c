/* t2c-golden — write golden vectors of a model run for RTL testbenches.
 *
 *   t2c-golden [OPTIONS] MODEL.t2c INPUT... --out DIR
 *
 * INPUT is an image (preprocessed as the model's metadata says, engine/preprocess.h) or a
 * .npy of the graph input's dtype ([C, H, W] for one image, [N, C, H, W] for N). Uses the
 * public APIs only: t2c.h, preprocess.h, t2c_golden.h. golden/README.md describes the files.
 *
 * Exit status: 0 ok; 1 an op or a file write failed (nothing partial is left; no manifest);
 * 2 usage, model or input error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "preprocess.h"
#include "t2c.h"
#include "t2c_golden.h"

#define PROG "t2c-golden"
enum { EXIT_RUN = 1, EXIT_USAGE = 2 };
enum { MAX_LIST = 256 };

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PROG ": ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    if (code == EXIT_USAGE && strncmp(fmt, "option", 6) == 0)
        fprintf(stderr, "Try '" PROG " --help' for more information.\n");
    va_end(ap);
    exit(code);
}

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PROG ": ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry '" PROG " --help' for more information.\n");
    va_end(ap);
    exit(EXIT_USAGE);
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: " PROG " [OPTIONS] MODEL.t2c INPUT... --out DIR\n"
            "Write golden vectors for RTL testbenches: the inputs, parameters and outputs of every\n"
            "selected op of a model run, computed by the reference kernels, with a manifest\n"
            "(DIR/manifest.json) and a summary (DIR/SUMMARY.txt). See golden/README.md.\n"
            "\n"
            "INPUT is an image (PNG, JPEG, BMP; preprocessed as the model's metadata says) or a\n"
            ".npy of the graph input's dtype (int4 as int8, uint4 as uint8): [C,H,W] for one image\n"
            "or [N,C,H,W] for N images. Images are numbered from 0 across all INPUTs.\n"
            "\n"
            "Selection:\n"
            "  -o, --out DIR        output directory (created if missing)\n"
            "      --ops GLOB       ops whose name matches the fnmatch(3) GLOB (repeatable)\n"
            "      --op-type TYPES  ops of these types, comma-separated (conv2d,requantize,...)\n"
            "      --roles LIST     comma-separated: input, input_a, input_b, weight, bias, output,\n"
            "                       multiplier, shift, offset, or act, param, all (default all)\n"
            "      --images LIST    images to write, e.g. 0,2-3 (default all)\n"
            "Formats and packing:\n"
            "  -f, --format LIST    comma-separated: hex ($readmemh), bin ($readmemb), coe, mif,\n"
            "                       raw (little-endian words), npy, dec (decimal text), or all\n"
            "                       (default hex)\n"
            "      --pack N         elements per word (default 1, or word-bits / element bits)\n"
            "      --word-bits W    word width in bits, 4..%d (default N x element bits)\n"
            "      --order ORDER    lsb (first element in the least significant bits, default) or msb\n"
            "      --pad V          value of padding elements (last word, tiles; default 0)\n"
            "      --addr[=EVERY]   hex/bin: '@ADDR' lines before the first word and every EVERY words\n"
            "      --addr-base A    address of the first word (default 0; 0x.. for hex)\n"
            "Layout:\n"
            "  -l, --layout BASE    nchw (default), nhwc, gemm (conv2d as im2col/weight matrices,\n"
            "                       K in c,kh,kw order), gemm_hwc (K in kh,kw,c order) or\n"
            "                       desc:TERMS, e.g. desc:N,C/32,H,W,C%%32 (see golden/README.md)\n"
            "      --tile RxC       tile the last two stored dims into RxC tiles (padded)\n"
            "      --tile-order O   row (default) or col: the order of the tiles\n"
            "      --tile-inner O   row (default) or col: the order inside a tile\n"
            "      --crc SPEC       CRC of each file's packed memory image and of each tile, in the\n"
            "                       manifest: crc32, crc16-ccitt (CCITT-FALSE) or custom:poly=P,\n"
            "                       width=W,init=I,refin=0|1,refout=0|1,xorout=X\n"
            "      --axis BYTES     also write AXI-Stream beats (.axis): TDATA BYTES wide, one line per\n"
            "                       beat 'tdata tkeep tlast tuser'\n"
            "      --axis-tlast T   frame (default), row or tile: where TLAST goes\n"
            "      --axis-pad V     0..15: upper nibble of the byte lane of a 4-bit element (default 0)\n"
            "      --axis-throttle SEED  add per-beat valid-gap and ready-stall columns from SEED\n"
            "      --psum-k N       also write conv2d/linear partial sums (role psum): the accumulator\n"
            "                       after every N terms of K\n"
            "      --psum-order O   cin-kh-kw (default, the op's own order) or kh-kw-cin\n"
            "Output:\n"
            "  -z, --zstd[=LEVEL]   compress each file with zstd (LEVEL 1..19, default 3; '.zst')\n"
            "      --progress       progress bar on stderr even when it is not a terminal\n"
            "      --no-progress    no progress bar\n"
            "      --stats          print bytes written and the writing speed on stderr\n"
            "      --backend NAME   kernels to run: ref (default: the reference kernels, the spec),\n"
            "                       or auto/simd/blas (proven equal, faster; see t2c.h)\n"
            "  -q, --quiet          no summary line on stdout\n"
            "  -h, --help           this help\n"
            "  -V, --version        version\n"
            "\n"
            "Exit status: 0 ok, 1 an op or a file write failed (no partial files, no manifest),\n"
            "2 usage, model or input error.\n",
            T2C_GOLDEN_MAX_WORD_BITS);
}

static long long parse_ll(const char *opt, const char *s, long long lo, long long hi)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (errno || end == s || *end || v < lo || v > hi)
        die_usage("option %s: '%s' is not an integer in %lld..%lld", opt, s, lo, hi);
    return v;
}

/* Split a comma-separated list into `out` (strdup'ed). */
static int split_list(const char *opt, const char *s, char **out, int n, int max)
{
    char *copy = strdup(s);
    if (!copy)
        die(EXIT_USAGE, "out of memory");
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n >= max)
            die_usage("option %s: more than %d values", opt, max);
        out[n++] = strdup(tok);
    }
    free(copy);
    return n;
}

/* "0,2-3" -> a sorted set, as a bitmap over 0..limit-1 filled later. */
typedef struct range_list {
    long long lo[MAX_LIST], hi[MAX_LIST];
    int n;
} range_list;

static void parse_images(const char *s, range_list *r)
{
    char *copy = strdup(s);
    if (!copy)
        die(EXIT_USAGE, "out of memory");
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (r->n >= MAX_LIST)
            die_usage("option --images: more than %d ranges", MAX_LIST);
        char *dash = strchr(tok, '-');
        if (dash) {
            *dash = '\0';
            r->lo[r->n] = parse_ll("--images", tok, 0, 1 << 30);
            r->hi[r->n] = parse_ll("--images", dash + 1, 0, 1 << 30);
            if (r->hi[r->n] < r->lo[r->n])
                die_usage("option --images: empty range %lld-%lld", r->lo[r->n], r->hi[r->n]);
        } else {
            r->lo[r->n] = r->hi[r->n] = parse_ll("--images", tok, 0, 1 << 30);
        }
        r->n++;
    }
    free(copy);
    if (r->n == 0)
        die_usage("option --images: empty list");
}

static int image_wanted(const range_list *r, long long i)
{
    if (r->n == 0)
        return 1;
    for (int k = 0; k < r->n; k++)
        if (i >= r->lo[k] && i <= r->hi[k])
            return 1;
    return 0;
}

static void parse_tile(const char *s, t2c_golden_layout *l)
{
    char *x = strpbrk(s, "xX");
    if (!x)
        die_usage("option --tile: '%s' is not ROWSxCOLS (e.g. 16x16)", s);
    char buf[64];
    size_t n = (size_t)(x - s);
    if (n == 0 || n >= sizeof buf)
        die_usage("option --tile: '%s' is not ROWSxCOLS (e.g. 16x16)", s);
    memcpy(buf, s, n);
    buf[n] = '\0';
    l->tile_rows = parse_ll("--tile", buf, 1, 1LL << 30);
    l->tile_cols = parse_ll("--tile", x + 1, 1, 1LL << 30);
}

static int row_col(const char *opt, const char *s)
{
    if (strcmp(s, "row") == 0)
        return 0;
    if (strcmp(s, "col") == 0)
        return 1;
    die_usage("option %s: '%s' is not 'row' or 'col'", opt, s);
}

/* ---------------------------------------------------------------- .npy input */

typedef struct npy {
    char descr[16];
    int rank;
    int64_t dims[T2C_MAX_RANK];
    int64_t numel;
    unsigned char *data; /* points into buf */
    unsigned char *buf;
} npy;

static int npy_load(const char *path, npy *out, char *msg, size_t msize)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, msize, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (size < 12) {
        fclose(f);
        snprintf(msg, msize, "%s: not a .npy file (too short)", path);
        return -1;
    }
    out->buf = malloc((size_t)size + 1);
    if (!out->buf || fread(out->buf, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        snprintf(msg, msize, "%s: cannot read", path);
        return -1;
    }
    fclose(f);
    unsigned char *b = out->buf;
    if (memcmp(b, "\x93NUMPY", 6) != 0) {
        snprintf(msg, msize, "%s: not a .npy file (bad magic)", path);
        return -1;
    }
    size_t hlen, hoff;
    if (b[6] == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        hoff = 10;
    } else if (b[6] == 2 || b[6] == 3) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hoff = 12;
    } else {
        snprintf(msg, msize, "%s: unsupported .npy version %d", path, b[6]);
        return -1;
    }
    if (hoff + hlen > (size_t)size) {
        snprintf(msg, msize, "%s: truncated .npy header", path);
        return -1;
    }
    char *h = malloc(hlen + 1);
    memcpy(h, b + hoff, hlen);
    h[hlen] = '\0';
    char *d = strstr(h, "'descr'"), *fo = strstr(h, "'fortran_order'"), *sh = strstr(h, "'shape'");
    int bad = !d || !fo || !sh;
    if (!bad) {
        char *q1 = strchr(d + 7, '\''), *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
        bad = !q1 || !q2 || (size_t)(q2 - q1 - 1) >= sizeof out->descr;
        if (!bad)
            memcpy(out->descr, q1 + 1, (size_t)(q2 - q1 - 1));
        if (!bad && strncmp(strchr(fo, ':') + 1 + strspn(strchr(fo, ':') + 1, " "), "False", 5) != 0) {
            snprintf(msg, msize, "%s: Fortran-order arrays are not supported", path);
            free(h);
            return -1;
        }
        char *p = strchr(sh, '(');
        char *e = p ? strchr(p, ')') : NULL;
        bad = bad || !p || !e;
        out->numel = 1;
        for (p = p ? p + 1 : NULL; !bad && p < e;) {
            p += strspn(p, " ,");
            if (p >= e)
                break;
            char *end;
            long long v = strtoll(p, &end, 10);
            if (end == p || v < 0 || out->rank >= T2C_MAX_RANK) {
                bad = 1;
                break;
            }
            out->dims[out->rank++] = v;
            out->numel *= v;
            p = end;
        }
    }
    free(h);
    if (bad) {
        snprintf(msg, msize, "%s: cannot parse the .npy header", path);
        return -1;
    }
    out->data = b + hoff + hlen;
    return 0;
}

/* Element size and memory dtype class of a descr: 1 int8, 2 uint8, 3 int16, 4 int32, 5 int64, 6 float32. */
static int npy_kind(const char *descr, size_t *size)
{
    static const struct {
        const char *d;
        int kind;
        size_t size;
    } k[] = {{"|i1", 1, 1}, {"<i1", 1, 1}, {"i1", 1, 1}, {"|u1", 2, 1}, {"<u1", 2, 1}, {"u1", 2, 1}, {"|b1", 0, 1},
             {"<i2", 3, 2}, {"<i4", 4, 4}, {"<i8", 5, 8}, {"<f4", 6, 4}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (strcmp(descr, k[i].d) == 0) {
            *size = k[i].size;
            return k[i].kind;
        }
    return 0;
}

static int dtype_kind(t2c_dtype d)
{
    switch (d) {
    case T2C_INT4: case T2C_INT8: return 1;
    case T2C_UINT4: case T2C_UINT8: return 2;
    case T2C_INT16: return 3;
    case T2C_INT32: return 4;
    case T2C_INT64: return 5;
    case T2C_FLOAT32: return 6;
    default: return 0;
    }
}

/* ---------------------------------------------------------------- images */

typedef struct image_src {
    const char *path;
    int is_npy;
    npy arr;
    int64_t count;     /* images in this INPUT */
    int64_t first;     /* global index of the first */
} image_src;

static int ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* ---------------------------------------------------------------- progress */

typedef struct progress_state {
    int on, tty, last_len;
    double t0, last;
} progress_state;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void progress_cb(const t2c_golden_progress *p, void *user)
{
    progress_state *s = user;
    if (!s->on)
        return;
    double t = now();
    int last = p->ops_total && p->ops_done >= p->ops_total;
    if (!last && t - s->last < (s->tty ? 0.1 : 2.0))
        return;
    s->last = t;
    const int width = 30;
    int fill = p->ops_total ? (int)(p->ops_done * width / p->ops_total) : 0;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    double mb = (double)p->bytes / 1e6;
    int len = fprintf(stderr, "%s[%s] %lld/%lld ops  %lld files  %.1f MB  %.0f MB/s", s->tty ? "\r" : "", bar,
                      (long long)p->ops_done, (long long)p->ops_total, (long long)p->files, mb,
                      p->seconds > 0 ? mb / p->seconds : 0.0);
    if (s->tty) {
        if (len < s->last_len)
            fprintf(stderr, "%*s", s->last_len - len, "");
        s->last_len = len;
    } else {
        fputc('\n', stderr);
    }
    fflush(stderr);
}

static void progress_clear(progress_state *s)
{
    if (s->on && s->tty && s->last_len) {
        fprintf(stderr, "\r%*s\r", s->last_len, "");
        s->last_len = 0;
    }
}

/* ---------------------------------------------------------------- main */

static char *join_args(int argc, char **argv)
{
    size_t n = 1;
    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) * 2 + 3;
    char *s = malloc(n), *p = s;
    if (!s)
        return NULL;
    for (int i = 0; i < argc; i++) {
        int quote = argv[i][0] == '\0' || strpbrk(argv[i], " \t'\"\\$*?") != NULL;
        if (i)
            *p++ = ' ';
        if (quote)
            *p++ = '\'';
        for (const char *c = argv[i]; *c; c++) {
            if (*c == '\'' && quote) {
                memcpy(p, "'\\''", 4);
                p += 4;
            } else {
                *p++ = *c;
            }
        }
        if (quote)
            *p++ = '\'';
    }
    *p = '\0';
    return s;
}

int main(int argc, char **argv)
{
    enum {
        OPT_OPS = 256, OPT_TYPE, OPT_ROLES, OPT_IMAGES, OPT_PACK, OPT_WBITS, OPT_ORDER, OPT_PAD, OPT_ADDR,
        OPT_ADDR_BASE, OPT_TILE, OPT_TILE_ORDER, OPT_TILE_INNER, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_STATS,
        OPT_BACKEND, OPT_CRC, OPT_AXIS, OPT_AXIS_TLAST, OPT_AXIS_PAD, OPT_AXIS_THROTTLE, OPT_PSUM_K, OPT_PSUM_ORDER
    };
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},       {"ops", required_argument, NULL, OPT_OPS},
        {"op-type", required_argument, NULL, OPT_TYPE}, {"roles", required_argument, NULL, OPT_ROLES},
        {"images", required_argument, NULL, OPT_IMAGES}, {"format", required_argument, NULL, 'f'},
        {"pack", required_argument, NULL, OPT_PACK}, {"word-bits", required_argument, NULL, OPT_WBITS},
        {"order", required_argument, NULL, OPT_ORDER}, {"pad", required_argument, NULL, OPT_PAD},
        {"addr", optional_argument, NULL, OPT_ADDR}, {"addr-base", required_argument, NULL, OPT_ADDR_BASE},
        {"layout", required_argument, NULL, 'l'},    {"tile", required_argument, NULL, OPT_TILE},
        {"tile-order", required_argument, NULL, OPT_TILE_ORDER},
        {"tile-inner", required_argument, NULL, OPT_TILE_INNER},
        {"zstd", optional_argument, NULL, 'z'},      {"progress", no_argument, NULL, OPT_PROGRESS},
        {"no-progress", no_argument, NULL, OPT_NO_PROGRESS}, {"stats", no_argument, NULL, OPT_STATS},
        {"backend", required_argument, NULL, OPT_BACKEND}, {"crc", required_argument, NULL, OPT_CRC},
        {"axis", required_argument, NULL, OPT_AXIS}, {"axis-tlast", required_argument, NULL, OPT_AXIS_TLAST},
        {"axis-pad", required_argument, NULL, OPT_AXIS_PAD},
        {"axis-throttle", required_argument, NULL, OPT_AXIS_THROTTLE},
        {"psum-k", required_argument, NULL, OPT_PSUM_K}, {"psum-order", required_argument, NULL, OPT_PSUM_ORDER},
        {"quiet", no_argument, NULL, 'q'},           {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},         {NULL, 0, NULL, 0},
    };
    t2c_golden_options opt = {0};
    char *globs[MAX_LIST], *types[MAX_LIST], *roles[MAX_LIST];
    int n_globs = 0, n_types = 0, n_roles = 0;
    range_list images = {0};
    int quiet = 0, stats = 0, progress = -1;
    const char *backend = "ref"; /* golden output comes from the reference kernels */
    unsigned formats = 0;
    int c;
    while ((c = getopt_long(argc, argv, "o:f:l:z::qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': opt.out_dir = optarg; break;
        case OPT_OPS:
            if (n_globs >= MAX_LIST)
                die_usage("option --ops: more than %d globs", MAX_LIST);
            globs[n_globs++] = optarg;
            break;
        case OPT_TYPE: n_types = split_list("--op-type", optarg, types, n_types, MAX_LIST); break;
        case OPT_ROLES: n_roles = split_list("--roles", optarg, roles, n_roles, MAX_LIST); break;
        case OPT_IMAGES: parse_images(optarg, &images); break;
        case 'f': {
            char *list[MAX_LIST];
            int n = split_list("--format", optarg, list, 0, MAX_LIST);
            if (n == 0)
                die_usage("option --format: empty list");
            for (int i = 0; i < n; i++) {
                if (strcmp(list[i], "all") == 0) {
                    formats |= (1u << T2C_GOLDEN_FORMAT_COUNT) - 1;
                } else {
                    int f = t2c_golden_format_from_name(list[i]);
                    if (f < 0)
                        die_usage("option --format: unknown format '%s' (hex, bin, coe, mif, raw, npy, dec, all)",
                                  list[i]);
                    formats |= 1u << f;
                }
                free(list[i]);
            }
            break;
        }
        case OPT_PACK: opt.packing.elems_per_word = (int)parse_ll("--pack", optarg, 1, T2C_GOLDEN_MAX_WORD_BITS / 4); break;
        case OPT_WBITS: opt.packing.word_bits = (int)parse_ll("--word-bits", optarg, 4, T2C_GOLDEN_MAX_WORD_BITS); break;
        case OPT_ORDER:
            if (strcmp(optarg, "lsb") == 0)
                opt.packing.msb_first = 0;
            else if (strcmp(optarg, "msb") == 0)
                opt.packing.msb_first = 1;
            else
                die_usage("option --order: '%s' is not 'lsb' or 'msb'", optarg);
            break;
        case OPT_PAD: opt.packing.pad_value = parse_ll("--pad", optarg, INT64_MIN, INT64_MAX); break;
        case OPT_ADDR:
            opt.packing.address_lines = 1;
            if (optarg)
                opt.packing.address_every = (uint64_t)parse_ll("--addr", optarg, 0, 1LL << 40);
            break;
        case OPT_ADDR_BASE: opt.packing.address_base = (uint64_t)parse_ll("--addr-base", optarg, 0, 1LL << 48); break;
        case 'l': {
            if (strncmp(optarg, "desc:", 5) == 0) {
                t2c_error e = {0};
                opt.layout.base = T2C_GOLDEN_NCHW;
                if (t2c_golden_desc_parse(optarg, &opt.layout, &e) != T2C_OK)
                    die_usage("option --layout: %s", e.message);
                break;
            }
            opt.layout.n_desc = 0;
            int b = t2c_golden_base_from_name(optarg);
            if (b < 0)
                die_usage("option --layout: unknown layout '%s' (nchw, nhwc, gemm, gemm_hwc)", optarg);
            opt.layout.base = (t2c_golden_base)b;
            break;
        }
        case OPT_TILE: parse_tile(optarg, &opt.layout); break;
        case OPT_TILE_ORDER: opt.layout.tile_col_major = row_col("--tile-order", optarg); break;
        case OPT_TILE_INNER: opt.layout.inner_col_major = row_col("--tile-inner", optarg); break;
        case 'z': opt.zstd_level = optarg ? (int)parse_ll("--zstd", optarg, 1, 19) : 3; break;
        case OPT_PROGRESS: progress = 1; break;
        case OPT_NO_PROGRESS: progress = 0; break;
        case OPT_STATS: stats = 1; break;
        case OPT_BACKEND: backend = optarg; break;
        case OPT_AXIS: opt.axis.tdata_bytes = (int)parse_ll("--axis", optarg, 1, 128); break;
        case OPT_AXIS_TLAST:
            if (strcmp(optarg, "frame") == 0)
                opt.axis.tlast = 0;
            else if (strcmp(optarg, "row") == 0)
                opt.axis.tlast = 1;
            else if (strcmp(optarg, "tile") == 0)
                opt.axis.tlast = 2;
            else
                die_usage("option --axis-tlast: '%s' is not frame, row or tile", optarg);
            break;
        case OPT_AXIS_PAD: opt.axis.lane_pad = (int)parse_ll("--axis-pad", optarg, 0, 15); break;
        case OPT_AXIS_THROTTLE:
            opt.axis.throttle = 1;
            opt.axis.seed = (uint64_t)parse_ll("--axis-throttle", optarg, 0, INT64_MAX);
            break;
        case OPT_PSUM_K: opt.psum_k = parse_ll("--psum-k", optarg, 1, 1LL << 30); break;
        case OPT_PSUM_ORDER:
            if (strcmp(optarg, "cin-kh-kw") == 0)
                opt.psum_order_hwc = 0;
            else if (strcmp(optarg, "kh-kw-cin") == 0)
                opt.psum_order_hwc = 1;
            else
                die_usage("option --psum-order: '%s' is not cin-kh-kw or kh-kw-cin", optarg);
            break;
        case OPT_CRC: {
            t2c_error cerr = {0};
            if (t2c_golden_crc_parse(optarg, &opt.crc, &cerr) != T2C_OK)
                die_usage("option --crc: %s", cerr.message);
            break;
        }
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf(PROG " (t2c) %s\n", T2C_VERSION_STRING); return 0;
        default:
            fprintf(stderr, "Try '" PROG " --help' for more information.\n");
            return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        die_usage("no MODEL given");
    if (optind + 1 >= argc)
        die_usage("no INPUT given");
    if (!opt.out_dir)
        die_usage("no output directory given (--out DIR)");
    const char *model_path = argv[optind];

    t2c_error err = {0};
    t2c_model *model = NULL;
    if (t2c_model_load_file(model_path, NULL, &model, &err) != T2C_OK)
        die(EXIT_USAGE, "%s", err.message);
    if (t2c_model_input_count(model) != 1)
        die(EXIT_USAGE, "%s: the model has %d graph inputs; t2c-golden feeds exactly one (use the C API)",
            model_path, t2c_model_input_count(model));
    const t2c_tensor *gin = t2c_model_input(model, 0);

    /* inputs: count the images first (numbering and --images need it) */
    const int n_src = argc - optind - 1;
    image_src *src = calloc((size_t)n_src, sizeof *src);
    if (!src)
        die(EXIT_USAGE, "out of memory");
    int64_t total = 0;
    const int64_t per_image = t2c_tensor_numel(gin) / (gin->dims[0] ? gin->dims[0] : 1);
    for (int i = 0; i < n_src; i++) {
        image_src *s = &src[i];
        s->path = argv[optind + 1 + i];
        s->first = total;
        s->count = 1;
        if (ends_with_ci(s->path, ".npy")) {
            char msg[600];
            s->is_npy = 1;
            if (npy_load(s->path, &s->arr, msg, sizeof msg) != 0)
                die(EXIT_USAGE, "%s", msg);
            size_t esz;
            int kind = npy_kind(s->arr.descr, &esz);
            if (kind == 0 || kind != dtype_kind(gin->dtype))
                die(EXIT_USAGE, "%s: dtype '%s' does not fit the graph input '%s' (%s)", s->path, s->arr.descr,
                    gin->name, t2c_dtype_name(gin->dtype));
            /* [C,H,W] = one image; [N,C,H,W] = N images (dims after the batch as declared) */
            int one = s->arr.rank == gin->rank - 1, many = s->arr.rank == gin->rank;
            for (int d = 1; d < gin->rank; d++) {
                if (one && s->arr.dims[d - 1] != gin->dims[d])
                    one = 0;
                if (many && s->arr.dims[d] != gin->dims[d])
                    many = 0;
            }
            if (!one && !many) {
                char want[128] = "";
                size_t k = 0;
                for (int d = 1; d < gin->rank; d++)
                    k += (size_t)snprintf(want + k, sizeof want - k, ", %lld", (long long)gin->dims[d]);
                die(EXIT_USAGE, "%s: shape does not fit the graph input: need [N%s] or [%s]", s->path, want,
                    want[0] ? want + 2 : "");
            }
            s->count = many ? s->arr.dims[0] : 1;
            if (s->count < 1)
                die(EXIT_USAGE, "%s: no images in the array", s->path);
            if (t2c_dtype_bits(gin->dtype) == 4) { /* int4/uint4 in 8-bit arrays: check the range */
                int64_t lo = t2c_dtype_min(gin->dtype), hi = t2c_dtype_max(gin->dtype);
                for (int64_t k = 0; k < s->arr.numel; k++) {
                    int64_t v = kind == 1 ? (int8_t)s->arr.data[k] : s->arr.data[k];
                    if (v < lo || v > hi)
                        die(EXIT_USAGE, "%s: element %lld = %lld is outside %s range %lld..%lld", s->path,
                            (long long)k, (long long)v, t2c_dtype_name(gin->dtype), (long long)lo, (long long)hi);
                }
            }
        }
        total += s->count;
    }
    int64_t wanted = 0;
    for (int64_t i = 0; i < total; i++)
        wanted += image_wanted(&images, i);
    if (wanted == 0)
        die(EXIT_USAGE, "--images selects none of the %lld images", (long long)total);

    t2c_preprocess pp;
    int have_pp = 0;
    for (int i = 0; i < n_src; i++)
        if (!src[i].is_npy && !have_pp) {
            if (t2c_preprocess_from_model(model, &pp, &err) != T2C_OK)
                die(EXIT_USAGE, "%s: %s", model_path, err.message);
            have_pp = 1;
        }

    t2c_session *session = NULL;
    t2c_session_options so = {.batch = 1, .threads = 1, .backend = backend};
    if (t2c_session_create_ex(model, &so, &session, &err) != T2C_OK)
        die(EXIT_USAGE, "%s: %s", model_path, err.message);

    progress_state ps = {.tty = isatty(2)};
    ps.on = progress == 1 || (progress == -1 && ps.tty);
    char *cmdline = join_args(argc, argv);
    char generator[64];
    snprintf(generator, sizeof generator, PROG " %s", T2C_VERSION_STRING);
    opt.formats = formats;
    opt.op_globs = (const char *const *)globs;
    opt.n_op_globs = n_globs;
    opt.op_types = (const char *const *)types;
    opt.n_op_types = n_types;
    opt.roles = (const char *const *)roles;
    opt.n_roles = n_roles;
    opt.expected_images = (int)wanted;
    opt.progress = progress_cb;
    opt.progress_user = &ps;
    opt.generator = generator;
    opt.command_line = cmdline;
    t2c_golden_writer *w = NULL;
    t2c_status st = t2c_golden_writer_create(model, &opt, &w, &err);
    if (st != T2C_OK)
        die(st == T2C_ERR_IO ? EXIT_RUN : EXIT_USAGE, "%s", err.message);
    if ((st = t2c_golden_writer_attach(w, session, &err)) != T2C_OK)
        die(EXIT_USAGE, "%s", err.message);
    ps.t0 = now();

    t2c_tensor *in = t2c_session_input(session, 0);
    const size_t slot_bytes = (size_t)per_image * t2c_dtype_mem_size(in->dtype);
    for (int i = 0; i < n_src; i++) {
        image_src *s = &src[i];
        for (int64_t k = 0; k < s->count; k++) {
            const int64_t index = s->first + k;
            if (!image_wanted(&images, index))
                continue;
            char source[4200];
            if (s->is_npy) {
                memcpy(in->data, s->arr.data + (size_t)k * slot_bytes, slot_bytes);
                if (s->count > 1)
                    snprintf(source, sizeof source, "%s[%lld]", s->path, (long long)k);
                else
                    snprintf(source, sizeof source, "%s", s->path);
            } else {
                if (t2c_preprocess_file(&pp, s->path, in, 0, &err) != T2C_OK) {
                    progress_clear(&ps);
                    die(EXIT_USAGE, "%s", err.message);
                }
                snprintf(source, sizeof source, "%s", s->path);
            }
            t2c_golden_writer_next_image(w, (int)index, source, NULL);
            if (t2c_golden_writer_run(w, session, &err) != T2C_OK) {
                progress_clear(&ps);
                die(EXIT_RUN, "%s", err.message);
            }
        }
    }
    progress_clear(&ps);
    if (t2c_golden_writer_finish(w, &err) != T2C_OK)
        die(EXIT_RUN, "%s", err.message);
    t2c_golden_progress p;
    t2c_golden_writer_stats(w, &p);
    if (!quiet)
        printf("wrote %lld files (%.1f MB) and manifest.json to %s\n", (long long)p.files, (double)p.bytes / 1e6,
               opt.out_dir);
    if (stats)
        fprintf(stderr,
                PROG ": stats: files=%lld bytes=%llu write_seconds=%.6f write_cpu_seconds=%.6f "
                "total_seconds=%.6f MB/s=%.1f\n",
                (long long)p.files, (unsigned long long)p.bytes, p.seconds, p.cpu_seconds, now() - ps.t0,
                p.seconds > 0 ? (double)p.bytes / 1e6 / p.seconds : 0.0);
    t2c_golden_writer_free(w);
    t2c_session_free(session);
    t2c_model_free(model);
    for (int i = 0; i < n_src; i++)
        free(src[i].arr.buf);
    free(src);
    free(cmdline);
    for (int i = 0; i < n_types; i++)
        free(types[i]);
    for (int i = 0; i < n_roles; i++)
        free(roles[i]);
    return 0;
}
