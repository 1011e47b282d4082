/* golden_writer.c — the session hook that selects ops and roles and writes their golden files.
 *
 * One AFTER hook per session (inputs and outputs are both valid then). For every selected op
 * and image of the batch, each selected tensor is gathered once in stored order, in chunks,
 * and every chunk is handed to one encoder per format; each encoder streams into its own
 * temporary file (optionally through zstd), which is renamed into place only when complete.
 * Parameters (constants and attribute arrays) are written once, with the first image. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "golden_commit.h"
#include "golden_coverage.h"
#include "golden_internal.h"

#define CHUNK_VALUES (1 << 16)

struct t2c_golden_writer {
    const t2c_model *model;
    t2c_golden_options opt;
    char **strs;                 /* copies of the option strings */
    int n_strs;
    char *dir;
    char model_sha256[65];
    t2c_session *session;
    int hook_id;
    int batch;
    int next_image;              /* image number of batch slot 0 of the next run */
    char *next_source;
    int explicit_next;           /* next_image/next_source were set for the coming run */
    int run_first_image;
    char *run_source;
    int last_op;                 /* op index of the previous hook call (a lower one = a new run) */
    int n_ops;
    unsigned char *selected;     /* per op */
    unsigned char *params_done;  /* per op */
    unsigned char *op_listed;    /* per op: in the manifest's "ops" */
    int64_t ops_selected;
    t2c_golden_progress stats;
    t2c_error error;
    int64_t *chunk;
    ZSTD_CCtx *zctx[T2C_GOLDEN_FORMAT_COUNT];
    unsigned char *text[T2C_GOLDEN_FORMAT_COUNT]; /* encoder buffers, reused file after file */
    size_t text_cap[T2C_GOLDEN_FORMAT_COUNT];
    unsigned char *zbuf[T2C_GOLDEN_FORMAT_COUNT];
    json_object *files, *ops, *inputs;
    json_object *axis_files;     /* "axis_streams": AXI-Stream beat files (NULL until the first) */
    t2c_golden_cov *cov;         /* coverage counters per op (golden_coverage.c) */
    int finished;
};

static double now_seconds(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---------------------------------------------------------------- options */

static const char *const role_names[] = {"input", "input_a", "input_b", "weight", "bias", "output",
                                         "multiplier", "shift", "offset", "act", "param", "all"};

static int known_role(const char *r)
{
    size_t n = strlen(r);
    while (n > 0 && r[n - 1] >= '0' && r[n - 1] <= '9') /* "input1": the second "input" of a concat */
        n--;
    for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
        if (strlen(role_names[i]) == n && strncmp(role_names[i], r, n) == 0)
            return 1;
    return 0;
}

static char *keep_str(t2c_golden_writer *w, const char *s)
{
    if (!s)
        return NULL;
    char **ns = realloc(w->strs, sizeof(char *) * (size_t)(w->n_strs + 1));
    if (!ns)
        return NULL;
    w->strs = ns;
    char *c = strdup(s);
    if (c)
        w->strs[w->n_strs++] = c;
    return c;
}

static const char *const *keep_list(t2c_golden_writer *w, const char *const *list, int n, int *ok)
{
    if (n <= 0 || !list)
        return NULL;
    char **arr = calloc((size_t)n, sizeof(char *));
    if (!arr) {
        *ok = 0;
        return NULL;
    }
    char **ns = realloc(w->strs, sizeof(char *) * (size_t)(w->n_strs + 1));
    if (!ns) {
        free(arr);
        *ok = 0;
        return NULL;
    }
    w->strs = ns;
    w->strs[w->n_strs++] = (char *)arr;
    for (int i = 0; i < n; i++)
        if (!list[i] || !(arr[i] = keep_str(w, list[i])))
            *ok = 0;
    return (const char *const *)arr;
}

static int mkdir_p(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = mkdir(p, 0777);
    free(p);
    if (rc != 0 && errno != EEXIST)
        return -1;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return -1;
    if (!S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

t2c_status t2c_golden_writer_create(const t2c_model *model, const t2c_golden_options *o, t2c_golden_writer **out,
                                    t2c_error *err)
{
    if (!model || !o || !out)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "t2c_golden_writer_create: NULL argument");
    *out = NULL;
    if (!o->out_dir || !o->out_dir[0])
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "no output directory given");
    if (o->formats >> T2C_GOLDEN_FORMAT_COUNT)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "unknown format bits 0x%x", o->formats);
    if (o->zstd_level < 0 || o->zstd_level > ZSTD_maxCLevel())
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "zstd level %d is outside 0..%d", o->zstd_level,
                                ZSTD_maxCLevel());
    const t2c_golden_packing *pk = &o->packing;
    if (pk->elems_per_word < 0 || pk->word_bits < 0 || pk->word_bits > T2C_GOLDEN_MAX_WORD_BITS ||
        (pk->elems_per_word && pk->word_bits && pk->elems_per_word > pk->word_bits / 4))
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "packing: %d elements in %d-bit words is impossible",
                                pk->elems_per_word, pk->word_bits);
    if (pk->elems_per_word > T2C_GOLDEN_MAX_WORD_BITS / 4)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "packing: %d elements per word is too many",
                                pk->elems_per_word);
    const t2c_golden_layout *l = &o->layout;
    if ((unsigned)l->base >= T2C_GOLDEN_BASE_COUNT)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "unknown layout %d", (int)l->base);
    if (o->axis.tdata_bytes < 0 || o->axis.tdata_bytes > 128 || o->axis.tlast < 0 || o->axis.tlast > 2 ||
        o->axis.lane_pad < 0 || o->axis.lane_pad > 15)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "axis: TDATA bytes 1..128, tlast 0..2, lane pad 0..15");
    if (o->axis.tdata_bytes && o->axis.tlast == 2 && o->layout.tile_rows < 1)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "axis: TLAST per tile needs tiles");
    if (o->crc.width && (o->crc.width < 8 || o->crc.width > 32))
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "crc width %d not in 8..32", o->crc.width);
    if (l->n_desc && (l->base != T2C_GOLDEN_NCHW || l->tile_rows || l->tile_cols))
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "a layout desc cannot be combined with %s",
                                l->base != T2C_GOLDEN_NCHW ? "another base than nchw" : "tiles");
    if ((l->tile_rows || l->tile_cols) && (l->tile_rows < 1 || l->tile_cols < 1))
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "tile %lldx%lld: both sizes must be >= 1",
                                (long long)l->tile_rows, (long long)l->tile_cols);
    for (int i = 0; i < o->n_roles; i++)
        if (!o->roles[i] || !known_role(o->roles[i]))
            return t2c_golden_error(err, T2C_ERR_INVALID_ARG,
                                    "unknown role '%s' (roles: input, input_a, input_b, weight, bias, output, "
                                    "multiplier, shift, offset; groups: act, param, all)",
                                    o->roles[i] ? o->roles[i] : "(null)");

    t2c_golden_writer *w = calloc(1, sizeof *w);
    if (!w)
        return t2c_golden_error(err, T2C_ERR_NOMEM, "out of memory");
    w->model = model;
    w->opt = *o;
    if (!w->opt.formats)
        w->opt.formats = 1u << T2C_GOLDEN_HEX;
    int ok = 1;
    w->dir = strdup(o->out_dir);
    w->opt.out_dir = w->dir;
    w->opt.op_globs = keep_list(w, o->op_globs, o->n_op_globs, &ok);
    w->opt.op_types = keep_list(w, o->op_types, o->n_op_types, &ok);
    w->opt.roles = keep_list(w, o->roles, o->n_roles, &ok);
    if (o->generator)
        ok &= (w->opt.generator = keep_str(w, o->generator)) != NULL;
    if (o->command_line)
        ok &= (w->opt.command_line = keep_str(w, o->command_line)) != NULL;
    w->opt.model_bytes = NULL;
    w->chunk = malloc(sizeof(int64_t) * CHUNK_VALUES);
    w->files = json_object_new_array();
    w->ops = json_object_new_array();
    w->inputs = json_object_new_array();
    w->hook_id = -1;
    w->last_op = 1 << 30;
    if (!ok || !w->dir || !w->chunk || !w->files || !w->ops || !w->inputs) {
        t2c_golden_writer_free(w);
        return t2c_golden_error(err, T2C_ERR_NOMEM, "out of memory");
    }
    /* the model's sha256: from the caller's bytes, or the file */
    if (o->model_bytes)
        t2c_golden_sha256_buffer(o->model_bytes, o->model_size, w->model_sha256);
    else if (!t2c_model_path(model) || t2c_golden_sha256_file(t2c_model_path(model), w->model_sha256) != 0)
        w->model_sha256[0] = '\0';

    if (mkdir_p(w->dir) != 0) {
        t2c_status st = t2c_golden_error(err, T2C_ERR_IO, "%s: cannot create directory: %s", w->dir, strerror(errno));
        t2c_golden_writer_free(w);
        return st;
    }
    /* fail now, not after a long run, when the directory cannot take files */
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/.t2c-golden-probe.%ld", w->dir, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        t2c_status st = t2c_golden_error(err, T2C_ERR_IO, "%s: cannot write files here: %s", w->dir, strerror(errno));
        t2c_golden_writer_free(w);
        return st;
    }
    close(fd);
    unlink(probe);
    /* a manifest means a complete dump: an earlier one must not outlive a failing run */
    snprintf(probe, sizeof probe, "%s/manifest.json", w->dir);
    if (unlink(probe) != 0 && errno != ENOENT) {
        t2c_status st = t2c_golden_error(err, T2C_ERR_IO, "%s: cannot remove: %s", probe, strerror(errno));
        t2c_golden_writer_free(w);
        return st;
    }
    *out = w;
    return T2C_OK;
}

void t2c_golden_writer_free(t2c_golden_writer *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n_strs; i++)
        free(w->strs[i]);
    free(w->strs);
    free(w->dir);
    free(w->next_source);
    free(w->run_source);
    free(w->selected);
    free(w->params_done);
    free(w->op_listed);
    t2c_golden_cov_free(w->cov);
    free(w->chunk);
    for (int i = 0; i < T2C_GOLDEN_FORMAT_COUNT; i++) {
        ZSTD_freeCCtx(w->zctx[i]);
        free(w->text[i]);
        free(w->zbuf[i]);
    }
    json_object_put(w->files);
    json_object_put(w->axis_files);
    json_object_put(w->ops);
    json_object_put(w->inputs);
    free(w);
}

/* ---------------------------------------------------------------- selection */

static int op_selected(const t2c_golden_writer *w, const t2c_op_view *op)
{
    int ok = w->opt.n_op_globs == 0;
    for (int i = 0; i < w->opt.n_op_globs && !ok; i++)
        ok = fnmatch(w->opt.op_globs[i], op->name, 0) == 0;
    if (!ok)
        return 0;
    if (w->opt.n_op_types == 0)
        return 1;
    for (int i = 0; i < w->opt.n_op_types; i++)
        if (strcmp(w->opt.op_types[i], op->type) == 0)
            return 1;
    return 0;
}

static int role_selected(const t2c_golden_writer *w, const char *base, const char *file_role, int is_param)
{
    if (w->opt.n_roles == 0)
        return 1;
    for (int i = 0; i < w->opt.n_roles; i++) {
        const char *r = w->opt.roles[i];
        if (strcmp(r, "all") == 0 || (strcmp(r, "act") == 0 && !is_param) || (strcmp(r, "param") == 0 && is_param) ||
            strcmp(r, base) == 0 || strcmp(r, file_role) == 0)
            return 1;
    }
    return 0;
}

static int golden_hook(const t2c_op_view *op, int when, void *user);

t2c_status t2c_golden_writer_attach(t2c_golden_writer *w, t2c_session *s, t2c_error *err)
{
    if (!w || !s)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "t2c_golden_writer_attach: NULL argument");
    if (w->session)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "the golden writer is already attached to a session");
    const int n = t2c_session_op_count(s);
    if (w->selected && n != w->n_ops)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "session of another model");
    if (!w->selected) {
        w->n_ops = n;
        w->selected = calloc((size_t)n + 1, 1);
        w->params_done = calloc((size_t)n + 1, 1);
        w->op_listed = calloc((size_t)n + 1, 1);
        w->cov = t2c_golden_cov_create(n);
        if (!w->selected || !w->params_done || !w->op_listed || !w->cov)
            return t2c_golden_error(err, T2C_ERR_NOMEM, "out of memory");
    }
    w->ops_selected = 0;
    for (int i = 0; i < n; i++) {
        w->selected[i] = (unsigned char)op_selected(w, t2c_session_op(s, i));
        w->ops_selected += w->selected[i];
    }
    if (w->ops_selected == 0)
        return t2c_golden_error(err, T2C_ERR_NOT_FOUND, "no op of the model matches the op selection (names/types)");
    /* one glob and at most one type: let the engine filter; otherwise filter here */
    t2c_hook_filter f = {NULL, NULL};
    if (w->opt.n_op_globs == 1 && w->opt.n_op_types <= 1) {
        f.name_glob = w->opt.op_globs[0];
        f.op_type = w->opt.n_op_types ? w->opt.op_types[0] : NULL;
    } else if (w->opt.n_op_globs == 0 && w->opt.n_op_types == 1) {
        f.op_type = w->opt.op_types[0];
    }
    int id = t2c_session_add_hook(s, &f, T2C_HOOK_AFTER, golden_hook, w, err);
    if (id < 0)
        return err ? err->status : T2C_ERR_INVALID_ARG;
    w->session = s;
    w->hook_id = id;
    w->batch = t2c_session_batch(s);
    w->last_op = 1 << 30;
    return T2C_OK;
}

void t2c_golden_writer_detach(t2c_golden_writer *w)
{
    if (w && w->session) {
        t2c_session_remove_hook(w->session, w->hook_id);
        w->session = NULL;
        w->hook_id = -1;
    }
}

t2c_status t2c_golden_writer_next_image(t2c_golden_writer *w, int first_image, const char *source, t2c_error *err)
{
    if (!w || first_image < 0)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "t2c_golden_writer_next_image: bad arguments");
    free(w->next_source);
    w->next_source = source ? strdup(source) : NULL;
    if (source && !w->next_source)
        return t2c_golden_error(err, T2C_ERR_NOMEM, "out of memory");
    w->next_image = first_image;
    w->explicit_next = 1;
    w->last_op = 1 << 30; /* the next hook call starts a run */
    return T2C_OK;
}

const t2c_error *t2c_golden_writer_error(const t2c_golden_writer *w) { return &w->error; }

t2c_status t2c_golden_writer_run(t2c_golden_writer *w, t2c_session *s, t2c_error *err)
{
    if (!w || !s)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "t2c_golden_writer_run: NULL argument");
    w->last_op = 1 << 30;
    t2c_status st = t2c_session_run(s, err);
    if (st == T2C_ERR_HOOK && w->error.status != T2C_OK) {
        if (err)
            *err = w->error;
        return w->error.status;
    }
    return st;
}

void t2c_golden_writer_stats(const t2c_golden_writer *w, t2c_golden_progress *s)
{
    *s = w->stats;
    s->ops_total = w->opt.expected_images > 0 ? w->ops_selected * w->opt.expected_images : 0;
}

/* ---------------------------------------------------------------- one file per format */

typedef struct out_file {
    t2c_golden_writer *w;
    t2c_golden_format format;
    t2c_golden_enc enc;
    int enc_open;
    int fd;
    char *tmp, *fin;   /* paths */
    const char *rel;   /* name inside the directory (points into fin) */
    ZSTD_CCtx *z;
    unsigned char *zbuf;
    size_t zcap;
    uint32_t crc, raw_crc;
    uint64_t bytes, raw_bytes;
} out_file;

static int write_all(out_file *f, const void *data, size_t size, t2c_error *err)
{
    const unsigned char *p = data;
    while (size) {
        ssize_t n = write(f->fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            t2c_golden_error(err, T2C_ERR_IO, "%s: cannot write: %s", f->fin, n < 0 ? strerror(errno) : "short write");
            return -1;
        }
        f->crc = (uint32_t)crc32(f->crc, p, (uInt)n);
        f->bytes += (uint64_t)n;
        p += n;
        size -= (size_t)n;
    }
    return 0;
}

static int zstd_push(out_file *f, const void *data, size_t size, ZSTD_EndDirective mode, t2c_error *err)
{
    ZSTD_inBuffer in = {data, size, 0};
    for (;;) {
        ZSTD_outBuffer out = {f->zbuf, f->zcap, 0};
        size_t left = ZSTD_compressStream2(f->z, &out, &in, mode);
        if (ZSTD_isError(left)) {
            t2c_golden_error(err, T2C_ERR_IO, "%s: zstd: %s", f->fin, ZSTD_getErrorName(left));
            return -1;
        }
        if (out.pos && write_all(f, f->zbuf, out.pos, err) != 0)
            return -1;
        if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size)
            return 0;
    }
}

static int sink_write(void *ctx, const void *data, size_t size, t2c_error *err)
{
    out_file *f = ctx;
    if (!f->z)
        return write_all(f, data, size, err);
    f->raw_crc = (uint32_t)crc32(f->raw_crc, data, (uInt)size);
    f->raw_bytes += size;
    return zstd_push(f, data, size, ZSTD_e_continue, err);
}

static void file_abort(out_file *f)
{
    if (f->enc_open)
        t2c_golden_enc_free(&f->enc);
    f->enc_open = 0;
    if (f->fd >= 0) {
        close(f->fd);
        unlink(f->tmp);
    }
    f->fd = -1;
    free(f->tmp);
    free(f->fin);
    f->tmp = f->fin = NULL;
    f->zbuf = NULL; /* the writer's */
}

static void safe_name(char *dst, size_t size, const char *src)
{
    size_t k = 0;
    for (; *src && k + 1 < size && k < 96; src++) {
        char c = *src;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                 c == '-' || c == '_';
        dst[k++] = ok ? c : '_';
    }
    if (k == 0 || dst[0] == '.')
        dst[0] = '_', k = k ? k : 1;
    dst[k] = '\0';
}

/* What one file holds. */
typedef struct item {
    const t2c_op_view *op;
    const char *base_role;   /* "input", "weight", ..., "output", "multiplier" */
    char role[48];           /* file role: base_role, or base_role + index when repeated */
    int slot;                /* input/output slot; -1 for attributes */
    int is_output;
    const char *tensor;      /* NULL for attribute arrays */
    const char *attribute;
    t2c_dtype dtype;
    const void *data;
    int rank;
    int64_t dims[T2C_MAX_RANK];
    int image;               /* -1 for parameters */
    int is_param;
} item;

static void add_file_entry(t2c_golden_writer *w, const item *it, const t2c_golden_plan *plan, const out_file *f)
{
    const t2c_golden_file_spec *s = &f->enc.spec;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "path", json_object_new_string(f->rel));
    json_object_object_add(o, "op", json_object_new_string(it->op->name));
    json_object_object_add(o, "op_type", json_object_new_string(it->op->type));
    json_object_object_add(o, "op_index", json_object_new_int(it->op->index));
    json_object_object_add(o, "image", it->image >= 0 ? json_object_new_int(it->image) : NULL);
    json_object_object_add(o, "role", json_object_new_string(it->role));
    json_object_object_add(o, "base_role", json_object_new_string(it->base_role));
    json_object_object_add(o, "slot", it->slot >= 0 ? json_object_new_int(it->slot) : NULL);
    json_object_object_add(o, "tensor", it->tensor ? json_object_new_string(it->tensor) : NULL);
    json_object_object_add(o, "attribute", it->attribute ? json_object_new_string(it->attribute) : NULL);
    json_object_object_add(o, "dtype", json_object_new_string(t2c_dtype_name(it->dtype)));
    json_object_object_add(o, "bits", json_object_new_int(s->bits));
    json_object_object_add(o, "signed", json_object_new_boolean(it->dtype == T2C_INT4 || it->dtype == T2C_INT8 ||
                                                                it->dtype == T2C_INT16 || it->dtype == T2C_INT32 ||
                                                                it->dtype == T2C_INT64));
    json_object_object_add(o, "float", json_object_new_boolean(it->dtype == T2C_FLOAT32));
    json_object *shape = json_object_new_array_ext(it->rank);
    for (int i = 0; i < it->rank; i++)
        json_object_array_add(shape, json_object_new_int64(it->dims[i]));
    json_object_object_add(o, "shape", shape);
    int64_t zp;
    int has_zp = t2c_golden_zero_point(it->op, it->is_output ? "output" : it->base_role, &zp);
    json_object_object_add(o, "zero_point", has_zp ? json_object_new_int64(zp) : NULL);
    const char *r = t2c_golden_rounding(it->op);
    json_object_object_add(o, "rounding", r ? json_object_new_string(r) : NULL);
    int64_t pad = t2c_golden_pad_in_dtype(w->opt.packing.pad_value, it->dtype);
    json_object_object_add(o, "layout", t2c_golden_layout_json(&w->opt.layout, plan, pad));
    json_object_object_add(o, "format", json_object_new_string(t2c_golden_format_name(s->format)));
    const int words = s->format != T2C_GOLDEN_NPY;
    json_object_object_add(o, "word_bits", words ? json_object_new_int(s->word_bits) : NULL);
    json_object_object_add(o, "elems_per_word", json_object_new_int(s->elems_per_word));
    const int bit_order = s->format != T2C_GOLDEN_NPY && s->format != T2C_GOLDEN_DEC;
    json_object_object_add(o, "word_order",
                           bit_order ? json_object_new_string(s->msb_first ? "msb_first" : "lsb_first") : NULL);
    json_object_object_add(o, "pad_value", json_object_new_int64(pad));
    if (s->address_lines) {
        json_object *a = json_object_new_object();
        json_object_object_add(a, "base", json_object_new_uint64(s->address_base));
        json_object_object_add(a, "every", json_object_new_uint64(s->address_every));
        json_object_object_add(a, "digits", json_object_new_int(f->enc.addr_digits));
        json_object_object_add(o, "address_lines", a);
    } else {
        json_object_object_add(o, "address_lines", NULL);
    }
    json_object_object_add(o, "words", json_object_new_int64(s->words));
    json_object_object_add(o, "elements", json_object_new_int64(plan->view_numel));
    json_object_object_add(o, "stored_elements", json_object_new_int64(plan->stored_numel));
    json_object_object_add(o, "compression", json_object_new_string(f->z ? "zstd" : "none"));
    json_object_object_add(o, "bytes", json_object_new_uint64(f->bytes));
    char crc[16];
    snprintf(crc, sizeof crc, "%08x", f->crc);
    json_object_object_add(o, "crc32", json_object_new_string(crc));
    if (f->z) {
        json_object_object_add(o, "raw_bytes", json_object_new_uint64(f->raw_bytes));
        snprintf(crc, sizeof crc, "%08x", f->raw_crc);
        json_object_object_add(o, "raw_crc32", json_object_new_string(crc));
    }
    json_object_array_add(w->files, o);
}

static int write_item(t2c_golden_writer *w, const item *it)
{
    t2c_error *err = &w->error;
    t2c_golden_plan plan;
    if (t2c_golden_plan_tensor(&w->opt.layout, it->op, it->base_role, it->rank, it->dims, &plan, err) != T2C_OK)
        goto prefix;
    t2c_golden_iter iter;
    if (t2c_golden_iter_init(&iter, &plan, it->data, it->dtype, w->opt.packing.pad_value, err) != T2C_OK)
        goto prefix;

    out_file files[T2C_GOLDEN_FORMAT_COUNT];
    int nf = 0, failed = 0;
    char opname[100], stem[256];
    safe_name(opname, sizeof opname, it->op->name);
    if (it->image >= 0)
        snprintf(stem, sizeof stem, "%03d_%s.%s.img%d", it->op->index, opname, it->role, it->image);
    else
        snprintf(stem, sizeof stem, "%03d_%s.%s", it->op->index, opname, it->role);
    for (int fmt = 0; fmt < T2C_GOLDEN_FORMAT_COUNT && !failed; fmt++) {
        if (!(w->opt.formats & (1u << fmt)))
            continue;
        out_file *f = &files[nf];
        memset(f, 0, sizeof *f);
        f->w = w;
        f->format = (t2c_golden_format)fmt;
        f->fd = -1;
        t2c_golden_file_spec spec;
        if (t2c_golden_spec_init(&spec, f->format, it->dtype, &w->opt.packing, plan.stored_numel, err) != T2C_OK) {
            failed = 1;
            break;
        }
        spec.npy_rank = plan.n_axes;
        for (int j = 0; j < plan.n_axes; j++)
            spec.npy_dims[j] = plan.axes[j].size;
        snprintf(spec.comment, sizeof spec.comment, "t2c golden: op %s (%s) %s%s%s", it->op->name, it->op->type,
                 it->role, it->image >= 0 ? " image " : "", "");
        if (it->image >= 0) {
            size_t k = strlen(spec.comment);
            snprintf(spec.comment + k, sizeof spec.comment - k, "%d", it->image);
        }
        size_t n = strlen(w->dir) + strlen(stem) + 64;
        f->fin = malloc(n);
        f->tmp = malloc(n);
        if (!f->fin || !f->tmp) {
            t2c_golden_error(err, T2C_ERR_NOMEM, "out of memory");
            nf++;
            failed = 1;
            break;
        }
        snprintf(f->fin, n, "%s/%s%s%s", w->dir, stem, t2c_golden_format_ext(f->format), w->opt.zstd_level ? ".zst" : "");
        f->rel = f->fin + strlen(w->dir) + 1;
        snprintf(f->tmp, n, "%s/.%s%s.tmp%ld", w->dir, stem, t2c_golden_format_ext(f->format), (long)getpid());
        nf++;
        f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (f->fd < 0) {
            t2c_golden_error(err, T2C_ERR_IO, "%s: cannot create: %s", f->fin, strerror(errno));
            failed = 1;
            break;
        }
        if (w->opt.zstd_level) {
            if (!w->zctx[fmt] && !(w->zctx[fmt] = ZSTD_createCCtx())) {
                t2c_golden_error(err, T2C_ERR_NOMEM, "out of memory");
                failed = 1;
                break;
            }
            f->z = w->zctx[fmt];
            ZSTD_CCtx_reset(f->z, ZSTD_reset_session_and_parameters);
            ZSTD_CCtx_setParameter(f->z, ZSTD_c_compressionLevel, w->opt.zstd_level);
            f->zcap = ZSTD_CStreamOutSize();
            if (!w->zbuf[fmt])
                w->zbuf[fmt] = malloc(f->zcap);
            if (!(f->zbuf = w->zbuf[fmt])) {
                t2c_golden_error(err, T2C_ERR_NOMEM, "out of memory");
                failed = 1;
                break;
            }
        }
        if (t2c_golden_enc_open(&f->enc, &spec, sink_write, f, &w->text[fmt], &w->text_cap[fmt], err) != T2C_OK) {
            failed = 1;
            break;
        }
        f->enc_open = 1;
    }
    /* formats whose body is the tensor's memory image take it as is (stored order = memory
     * order); the others get the elements gathered once, chunk by chunk */
    int direct[T2C_GOLDEN_FORMAT_COUNT] = {0}, gather = 0;
    for (int i = 0; i < nf && !failed; i++) {
        direct[i] = iter.contiguous && !iter.owned && t2c_golden_enc_is_memory_image(&files[i].enc);
        gather |= !direct[i];
        if (direct[i] && t2c_golden_enc_put_memory(&files[i].enc, it->data, plan.stored_numel, err) != T2C_OK)
            failed = 1;
    }
    while (!failed && gather) {
        size_t k = t2c_golden_iter_fill(&iter, w->chunk, CHUNK_VALUES);
        if (k == 0)
            break;
        for (int i = 0; i < nf && !failed; i++)
            if (!direct[i] && t2c_golden_enc_put(&files[i].enc, w->chunk, k, err) != T2C_OK)
                failed = 1;
    }
    t2c_golden_iter_free(&iter);
    for (int i = 0; i < nf && !failed; i++) {
        out_file *f = &files[i];
        if (t2c_golden_enc_close(&f->enc, err) != T2C_OK ||
            (f->z && zstd_push(f, NULL, 0, ZSTD_e_end, err) != 0)) {
            failed = 1;
            break;
        }
        if (close(f->fd) != 0) {
            f->fd = -1;
            unlink(f->tmp);
            t2c_golden_error(err, T2C_ERR_IO, "%s: cannot write: %s", f->fin, strerror(errno));
            failed = 1;
            break;
        }
        f->fd = -1;
    }
    json_object *crc = NULL; /* the same packed-memory-image CRCs for every format of the tensor */
    if (!failed && w->opt.crc.width &&
        t2c_golden_crc_file_json(&w->opt.crc, &plan, &w->opt.layout, it->data, it->dtype, &w->opt.packing, &crc,
                                 err) != T2C_OK)
        failed = 1;
    if (!failed && w->opt.axis.tdata_bytes) {
        char aname[300];
        snprintf(aname, sizeof aname, "%s.axis", stem);
        json_object *ae = NULL;
        if (t2c_golden_axis_write(&w->opt.axis, &plan, &w->opt.layout, it->data, it->dtype,
                                  w->opt.packing.pad_value, w->dir, aname, &ae, err) != T2C_OK) {
            failed = 1;
        } else {
            json_object_object_add(ae, "op", json_object_new_string(it->op->name));
            json_object_object_add(ae, "op_index", json_object_new_int(it->op->index));
            json_object_object_add(ae, "image", it->image >= 0 ? json_object_new_int(it->image) : NULL);
            json_object_object_add(ae, "role", json_object_new_string(it->role));
            json_object_object_add(ae, "dtype", json_object_new_string(t2c_dtype_name(it->dtype)));
            if (!w->axis_files)
                w->axis_files = json_object_new_array();
            json_object_array_add(w->axis_files, ae);
        }
    }
    if (!failed) {
        for (int i = 0; i < nf && !failed; i++) {
            out_file *f = &files[i];
            if (rename(f->tmp, f->fin) != 0) {
                t2c_golden_error(err, T2C_ERR_IO, "%s: cannot rename into place: %s", f->fin, strerror(errno));
                unlink(f->tmp);
                failed = 1;
                break;
            }
            add_file_entry(w, it, &plan, f);
            if (crc)
                json_object_object_add(json_object_array_get_idx(w->files, json_object_array_length(w->files) - 1),
                                       "crc", json_object_get(crc));
            w->stats.files++;
            w->stats.bytes += f->bytes;
        }
    }
    json_object_put(crc);
    for (int i = 0; i < nf; i++) {
        if (failed && files[i].fd < 0 && files[i].tmp)
            unlink(files[i].tmp); /* closed but not renamed */
        file_abort(&files[i]);
    }
    if (!failed)
        return 0;
prefix:
    {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s", err->message);
        snprintf(err->message, sizeof err->message, "op '%.100s' (%.40s) %.40s: %.300s", it->op->name, it->op->type,
                 it->role, msg);
    }
    return -1;
}

/* ---------------------------------------------------------------- the hook */

static void role_name(char *dst, size_t size, const char *base, int index_among_same, int same_count)
{
    if (same_count > 1)
        snprintf(dst, size, "%s%d", base, index_among_same);
    else
        snprintf(dst, size, "%s", base);
}

/* Requantize-style per-channel arrays written as files: name, file dtype (widened to int64
 * when a value does not fit: only offsets can, |offset| < 2^62). */
static const struct {
    const char *name;
    t2c_dtype dtype;
} attr_arrays[] = {{"multiplier", T2C_INT32}, {"shift", T2C_INT8}, {"offset", T2C_INT32}};

static int write_attr_arrays(t2c_golden_writer *w, const t2c_op_view *op)
{
    for (size_t k = 0; k < sizeof attr_arrays / sizeof attr_arrays[0]; k++) {
        const t2c_attr *a = t2c_op_attr(op, attr_arrays[k].name);
        if (!a || a->type != T2C_ATTR_INTS || a->count <= 1)
            continue; /* scalars are in the manifest's op attributes */
        item it = {0};
        it.op = op;
        it.base_role = attr_arrays[k].name;
        snprintf(it.role, sizeof it.role, "%s", attr_arrays[k].name);
        it.slot = -1;
        it.attribute = attr_arrays[k].name;
        it.dtype = attr_arrays[k].dtype;
        for (int64_t i = 0; i < a->count; i++) /* a value out of the file dtype: widen */
            if (it.dtype != T2C_INT64 && (a->v.ints[i] < t2c_dtype_min(it.dtype) || a->v.ints[i] > t2c_dtype_max(it.dtype)))
                it.dtype = T2C_INT64;
        it.rank = 1;
        it.dims[0] = a->count;
        it.image = -1;
        it.is_param = 1;
        if (!role_selected(w, it.base_role, it.role, 1))
            continue;
        size_t m = t2c_dtype_mem_size(it.dtype);
        void *buf = malloc((size_t)a->count * m);
        if (!buf) {
            t2c_golden_error(&w->error, T2C_ERR_NOMEM, "out of memory");
            return -1;
        }
        for (int64_t i = 0; i < a->count; i++) {
            int64_t v = a->v.ints[i];
            if (m == 1)
                ((int8_t *)buf)[i] = (int8_t)v;
            else if (m == 4)
                ((int32_t *)buf)[i] = (int32_t)v;
            else
                ((int64_t *)buf)[i] = v;
        }
        it.data = buf;
        int rc = write_item(w, &it);
        free(buf);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* Inputs and outputs of op for batch slot `slot`. */
static int write_tensors(t2c_golden_writer *w, const t2c_op_view *op, int slot, int image, int params)
{
    for (int pass = 0; pass < 2; pass++) {
        const int is_out = pass == 1;
        const int n = is_out ? op->n_outputs : op->n_inputs;
        for (int i = 0; i < n; i++) {
            const t2c_tensor *t = is_out ? op->outputs[i] : op->inputs[i];
            if (!t || !t->data)
                continue;
            const char *base = is_out ? "output" : op->input_roles[i];
            if (t->is_const != params)
                continue;
            int same = 0, index = 0;
            for (int j = 0; j < n; j++) {
                const char *bj = is_out ? "output" : op->input_roles[j];
                if (strcmp(bj, base) == 0) {
                    if (j < i)
                        index++;
                    same++;
                }
            }
            item it = {0};
            it.op = op;
            it.base_role = base;
            role_name(it.role, sizeof it.role, base, index, same);
            it.slot = i;
            it.is_output = is_out;
            it.tensor = t->name;
            it.dtype = t->dtype;
            it.is_param = t->is_const;
            if (!role_selected(w, base, it.role, it.is_param))
                continue;
            it.rank = t->rank;
            memcpy(it.dims, t->dims, sizeof it.dims);
            it.data = t->data;
            it.image = -1;
            if (!t->is_const) {
                int64_t numel = t2c_tensor_numel(t);
                if (t->rank < 1 || t->dims[0] % w->batch != 0) {
                    t2c_golden_error(&w->error, T2C_ERR_SHAPE, "op '%s': tensor '%s' has no batch dimension of %d",
                                     op->name, t->name, w->batch);
                    return -1;
                }
                int64_t per = numel / w->batch;
                it.dims[0] = t->dims[0] / w->batch;
                it.data = (const char *)t->data + (size_t)(per * slot) * t2c_dtype_mem_size(t->dtype);
                it.image = image;
            }
            if (write_item(w, &it) != 0)
                return -1;
        }
    }
    return 0;
}

static void start_run(t2c_golden_writer *w)
{
    w->run_first_image = w->next_image;
    free(w->run_source);
    w->run_source = w->explicit_next ? w->next_source : NULL;
    w->next_source = NULL;
    w->explicit_next = 0;
    w->next_image = w->run_first_image + w->batch;
    for (int k = 0; k < w->batch; k++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "image", json_object_new_int(w->run_first_image + k));
        if (w->run_source) {
            char buf[4200];
            if (w->batch == 1)
                snprintf(buf, sizeof buf, "%s", w->run_source);
            else
                snprintf(buf, sizeof buf, "%s#%d", w->run_source, k);
            json_object_object_add(o, "source", json_object_new_string(buf));
        } else {
            json_object_object_add(o, "source", NULL);
        }
        json_object_array_add(w->inputs, o);
    }
}

static int golden_hook(const t2c_op_view *op, int when, void *user)
{
    t2c_golden_writer *w = user;
    (void)when;
    if (w->error.status != T2C_OK)
        return 1;
    if (op->index <= w->last_op || w->last_op == (1 << 30))
        start_run(w);
    w->last_op = op->index;
    if (op->index >= w->n_ops || !w->selected[op->index])
        return 0;
    double t0 = now_seconds(CLOCK_MONOTONIC), c0 = now_seconds(CLOCK_THREAD_CPUTIME_ID);
    if (!w->op_listed[op->index]) {
        json_object *oj = t2c_golden_op_json(op, w->batch);
        const char *kernel = w->session ? t2c_session_op_kernel(w->session, op->index) : NULL;
        json_object_object_add(oj, "kernel", kernel ? json_object_new_string(kernel) : NULL);
        json_object_array_add(w->ops, oj);
        w->op_listed[op->index] = 1;
    }
    int rc = t2c_golden_cov_op(w->cov, op);
    if (rc != 0)
        t2c_golden_error(&w->error, T2C_ERR_NOMEM, "out of memory");
    if (rc == 0 && !w->params_done[op->index]) {
        rc = write_tensors(w, op, 0, -1, 1);
        if (rc == 0)
            rc = write_attr_arrays(w, op);
        w->params_done[op->index] = 1;
    }
    for (int k = 0; k < w->batch && rc == 0; k++)
        rc = write_tensors(w, op, k, w->run_first_image + k, 0);
    const int psum_op = strcmp(op->type, "conv2d") == 0 || strcmp(op->type, "linear") == 0;
    for (int k = 0; k < w->batch && rc == 0 && w->opt.psum_k > 0 && psum_op; k++) {
        item it = {0};
        it.op = op;
        it.base_role = "psum";
        snprintf(it.role, sizeof it.role, "psum");
        it.slot = -1;
        it.dtype = T2C_INT32;
        it.image = w->run_first_image + k;
        int32_t *ps = NULL;
        if (t2c_golden_psum(op, w->batch, k, w->opt.psum_k, w->opt.psum_order_hwc, &ps, &it.rank, it.dims,
                            &w->error) != T2C_OK) {
            rc = -1;
            break;
        }
        it.data = ps;
        rc = write_item(w, &it);
        free(ps);
    }
    w->stats.seconds += now_seconds(CLOCK_MONOTONIC) - t0;
    w->stats.cpu_seconds += now_seconds(CLOCK_THREAD_CPUTIME_ID) - c0;
    w->stats.ops_done++;
    if (rc != 0) {
        if (w->error.status == T2C_OK)
            t2c_golden_error(&w->error, T2C_ERR_IO, "golden writer failed");
        return 1;
    }
    if (w->opt.progress) {
        t2c_golden_progress p;
        t2c_golden_writer_stats(w, &p);
        p.op_name = op->name;
        w->opt.progress(&p, w->opt.progress_user);
    }
    return 0;
}

/* ---------------------------------------------------------------- manifest and summary */

static json_object *options_json(const t2c_golden_writer *w)
{
    const t2c_golden_options *o = &w->opt;
    json_object *j = json_object_new_object();
    json_object *fm = json_object_new_array();
    for (int f = 0; f < T2C_GOLDEN_FORMAT_COUNT; f++)
        if (o->formats & (1u << f))
            json_object_array_add(fm, json_object_new_string(t2c_golden_format_name((t2c_golden_format)f)));
    json_object_object_add(j, "formats", fm);
    json_object *pk = json_object_new_object();
    json_object_object_add(pk, "elems_per_word", json_object_new_int(o->packing.elems_per_word));
    json_object_object_add(pk, "word_bits", json_object_new_int(o->packing.word_bits));
    json_object_object_add(pk, "word_order", json_object_new_string(o->packing.msb_first ? "msb_first" : "lsb_first"));
    json_object_object_add(pk, "pad_value", json_object_new_int64(o->packing.pad_value));
    json_object_object_add(pk, "address_lines", json_object_new_boolean(o->packing.address_lines));
    json_object_object_add(pk, "address_base", json_object_new_uint64(o->packing.address_base));
    json_object_object_add(pk, "address_every", json_object_new_uint64(o->packing.address_every));
    json_object_object_add(j, "packing", pk);
    json_object_object_add(j, "crc", o->crc.width ? t2c_golden_crc_json(&o->crc) : NULL);
    if (o->psum_k > 0) {
        json_object *ps = json_object_new_object();
        json_object_object_add(ps, "k_slice", json_object_new_int64(o->psum_k));
        json_object_object_add(ps, "order", json_object_new_string(o->psum_order_hwc ? "kh-kw-cin" : "cin-kh-kw"));
        json_object_object_add(j, "psum", ps);
    } else {
        json_object_object_add(j, "psum", NULL);
    }
    if (o->axis.tdata_bytes) {
        static const char *const tl[] = {"frame", "row", "tile"};
        json_object *ax = json_object_new_object();
        json_object_object_add(ax, "tdata_bytes", json_object_new_int(o->axis.tdata_bytes));
        json_object_object_add(ax, "tlast", json_object_new_string(tl[o->axis.tlast]));
        json_object_object_add(ax, "lane_pad", json_object_new_int(o->axis.lane_pad));
        json_object_object_add(ax, "throttle_seed", o->axis.throttle ? json_object_new_uint64(o->axis.seed) : NULL);
        json_object_object_add(j, "axis", ax);
    } else {
        json_object_object_add(j, "axis", NULL);
    }
    json_object *ly = json_object_new_object();
    json_object_object_add(ly, "base", json_object_new_string(t2c_golden_base_name(o->layout.base)));
    if (o->layout.n_desc) {
        char d[512];
        json_object_object_add(ly, "desc", json_object_new_string(t2c_golden_desc_format(&o->layout, d, sizeof d)));
    } else {
        json_object_object_add(ly, "desc", NULL);
    }
    if (o->layout.tile_rows) {
        json_object *t = json_object_new_array();
        json_object_array_add(t, json_object_new_int64(o->layout.tile_rows));
        json_object_array_add(t, json_object_new_int64(o->layout.tile_cols));
        json_object_object_add(ly, "tile", t);
    } else {
        json_object_object_add(ly, "tile", NULL);
    }
    json_object_object_add(ly, "tile_order", json_object_new_string(o->layout.tile_col_major ? "col" : "row"));
    json_object_object_add(ly, "inner_order", json_object_new_string(o->layout.inner_col_major ? "col" : "row"));
    json_object_object_add(j, "layout", ly);
    json_object *a;
    a = json_object_new_array();
    for (int i = 0; i < o->n_op_globs; i++)
        json_object_array_add(a, json_object_new_string(o->op_globs[i]));
    json_object_object_add(j, "ops", a);
    a = json_object_new_array();
    for (int i = 0; i < o->n_op_types; i++)
        json_object_array_add(a, json_object_new_string(o->op_types[i]));
    json_object_object_add(j, "op_types", a);
    a = json_object_new_array();
    for (int i = 0; i < o->n_roles; i++)
        json_object_array_add(a, json_object_new_string(o->roles[i]));
    json_object_object_add(j, "roles", a);
    json_object_object_add(j, "zstd_level", json_object_new_int(o->zstd_level));
    return j;
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "-";
}

static int64_t jint(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && v ? json_object_get_int64(v) : -1;
}

typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void tprintf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tprintf(text *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (t->s && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap * 2 : 4096;
        while (cap - t->len <= (size_t)n)
            cap *= 2;
        char *ns = realloc(t->s, cap);
        if (!ns)
            return;
        t->s = ns;
        t->cap = cap;
    }
}

static void shape_text(char *buf, size_t size, json_object *arr)
{
    size_t k = 0;
    buf[0] = '\0';
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%lld", i ? "x" : "",
                              (long long)json_object_get_int64(json_object_array_get_idx(arr, i)));
    if (n == 0)
        snprintf(buf, size, "scalar");
}

static char *summary_text(const t2c_golden_writer *w)
{
    text t = {0};
    const t2c_golden_options *o = &w->opt;
    tprintf(&t, "t2c golden vectors (manifest.json has every detail; golden/README.md the formats)\n");
    tprintf(&t, "generator: %s\n", o->generator ? o->generator : "t2c golden writer " T2C_VERSION_STRING);
    tprintf(&t, "model:     %s%s%s\n", t2c_model_path(w->model) ? t2c_model_path(w->model) : "?",
            w->model_sha256[0] ? "  sha256 " : "", w->model_sha256);
    size_t ni = json_object_array_length(w->inputs);
    tprintf(&t, "images:    %zu\n", ni);
    for (size_t i = 0; i < ni && i < 16; i++) {
        json_object *e = json_object_array_get_idx(w->inputs, i);
        tprintf(&t, "  %lld: %s\n", (long long)jint(e, "image"), jstr(e, "source"));
    }
    tprintf(&t, "formats:  ");
    for (int f = 0; f < T2C_GOLDEN_FORMAT_COUNT; f++)
        if (o->formats & (1u << f))
            tprintf(&t, " %s", t2c_golden_format_name((t2c_golden_format)f));
    tprintf(&t, "%s\n", o->zstd_level ? " (zstd)" : "");
    tprintf(&t, "layout:    %s", t2c_golden_base_name(o->layout.base));
    if (o->layout.n_desc) {
        char d[512];
        tprintf(&t, ", desc:%s", t2c_golden_desc_format(&o->layout, d, sizeof d));
    }
    if (o->layout.tile_rows)
        tprintf(&t, ", tiles %lldx%lld (%s-major tiles, %s-major inside)", (long long)o->layout.tile_rows,
                (long long)o->layout.tile_cols, o->layout.tile_col_major ? "column" : "row",
                o->layout.inner_col_major ? "column" : "row");
    tprintf(&t, "\npacking:   ");
    if (o->packing.elems_per_word || o->packing.word_bits)
        tprintf(&t, "%d elements per %d-bit word (0 = derived per dtype)", o->packing.elems_per_word,
                o->packing.word_bits);
    else
        tprintf(&t, "one element per word");
    tprintf(&t, ", %s first, pad %lld%s\n", o->packing.msb_first ? "MSB" : "LSB", (long long)o->packing.pad_value,
            o->packing.address_lines ? ", @address lines" : "");
    tprintf(&t, "files:     %lld, %llu bytes\n\n", (long long)w->stats.files, (unsigned long long)w->stats.bytes);
    tprintf(&t, "%-4s %-28s %-12s %-10s %5s %-7s %-18s %-18s %s\n", "op", "name", "type", "role", "image", "dtype",
            "shape", "stored", "file");
    size_t nf = json_object_array_length(w->files);
    for (size_t i = 0; i < nf; i++) {
        json_object *e = json_object_array_get_idx(w->files, i), *lay = NULL, *ss = NULL, *sh = NULL;
        json_object_object_get_ex(e, "layout", &lay);
        if (lay)
            json_object_object_get_ex(lay, "stored_shape", &ss);
        json_object_object_get_ex(e, "shape", &sh);
        char a[64], b[64], img[16];
        shape_text(a, sizeof a, sh);
        shape_text(b, sizeof b, ss);
        int64_t im = jint(e, "image");
        snprintf(img, sizeof img, im >= 0 ? "%lld" : "-", (long long)im);
        tprintf(&t, "%-4lld %-28s %-12s %-10s %5s %-7s %-18s %-18s %s\n", (long long)jint(e, "op_index"),
                jstr(e, "op"), jstr(e, "op_type"), jstr(e, "role"), img, jstr(e, "dtype"), a, b, jstr(e, "path"));
    }
    return t.s;
}

t2c_status t2c_golden_writer_finish(t2c_golden_writer *w, t2c_error *err)
{
    if (!w)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "t2c_golden_writer_finish: NULL writer");
    if (w->error.status != T2C_OK) {
        if (err)
            *err = w->error;
        return w->error.status;
    }
    if (w->finished)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "t2c_golden_writer_finish called twice");
    json_object *m = json_object_new_object();
    json_object_object_add(m, "t2c_golden_version", json_object_new_int(T2C_GOLDEN_VERSION));
    json_object_object_add(m, "engine_version", json_object_new_string(T2C_VERSION_STRING));
    json_object_object_add(m, "engine_commit", json_object_new_string(T2C_GIT_COMMIT));
    /* the writer draws nothing at random; a stimulus generator (t2c-gen) passes its seed */
    json_object_object_add(m, "seed", w->opt.has_seed ? json_object_new_uint64(w->opt.seed) : NULL);
    json_object_object_add(m, "generator", w->opt.generator ? json_object_new_string(w->opt.generator) : NULL);
    json_object_object_add(m, "command_line", w->opt.command_line ? json_object_new_string(w->opt.command_line) : NULL);
    json_object *mo = json_object_new_object();
    const char *mp = t2c_model_path(w->model);
    json_object_object_add(mo, "path", mp ? json_object_new_string(mp) : NULL);
    json_object_object_add(mo, "sha256", w->model_sha256[0] ? json_object_new_string(w->model_sha256) : NULL);
    const t2c_attr *name = t2c_model_meta(w->model, "model.name");
    json_object_object_add(mo, "name", name && name->type == T2C_ATTR_STRING ? json_object_new_string(name->v.s) : NULL);
    json_object *gi = json_object_new_array(), *go = json_object_new_array();
    for (int i = 0; i < t2c_model_input_count(w->model); i++)
        json_object_array_add(gi, json_object_new_string(t2c_model_input(w->model, i)->name));
    for (int i = 0; i < t2c_model_output_count(w->model); i++)
        json_object_array_add(go, json_object_new_string(t2c_model_output(w->model, i)->name));
    json_object_object_add(mo, "graph_inputs", gi);
    json_object_object_add(mo, "graph_outputs", go);
    json_object_object_add(mo, "ops", json_object_new_int(t2c_model_op_count(w->model)));
    json_object_object_add(m, "model", mo);
    json_object_object_add(m, "options", options_json(w));
    json_object_object_add(m, "inputs", json_object_get(w->inputs));
    for (size_t i = 0; i < json_object_array_length(w->ops); i++) {
        json_object *oj = json_object_array_get_idx(w->ops, i), *ix;
        if (json_object_object_get_ex(oj, "index", &ix))
            json_object_object_add(oj, "coverage", t2c_golden_cov_json(w->cov, json_object_get_int(ix)));
    }
    json_object_object_add(m, "ops", json_object_get(w->ops));
    json_object_object_add(m, "files", json_object_get(w->files));
    if (w->opt.axis.tdata_bytes)
        json_object_object_add(m, "axis_streams", w->axis_files ? json_object_get(w->axis_files)
                                                                : json_object_new_array());
    json_object *tot = json_object_new_object();
    json_object_object_add(tot, "files", json_object_new_int64(w->stats.files));
    json_object_object_add(tot, "bytes", json_object_new_uint64(w->stats.bytes));
    json_object_object_add(m, "totals", tot);
    size_t len = 0;
    const char *js = json_object_to_json_string_length(
        m, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    t2c_status st;
    if (!js) {
        st = t2c_golden_error(err, T2C_ERR_NOMEM, "out of memory");
    } else {
        char *withnl = malloc(len + 2);
        if (!withnl) {
            st = t2c_golden_error(err, T2C_ERR_NOMEM, "out of memory");
        } else {
            memcpy(withnl, js, len);
            withnl[len] = '\n';
            /* the summary first: manifest.json present means the dump is complete */
            char *sum = summary_text(w);
            st = sum ? t2c_golden_write_atomic(w->dir, "SUMMARY.txt", sum, strlen(sum), err)
                     : t2c_golden_error(err, T2C_ERR_NOMEM, "out of memory");
            free(sum);
            if (st == T2C_OK)
                st = t2c_golden_write_atomic(w->dir, "manifest.json", withnl, len + 1, err);
            free(withnl);
        }
    }
    json_object_put(m);
    if (st == T2C_OK)
        w->finished = 1;
    return st;
}
