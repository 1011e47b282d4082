/* info_ranges.c — `t2c-info --ranges DATASET`: the accumulator width each layer needs.
 *
 * Runs the model (batch 1, reference-equal kernels) over every input of DATASET — a directory
 * (its *.npy files and images, in name order) or one file — and, for every conv2d / linear /
 * matmul with an int32 output, reports the largest |accumulator| seen (the op's output, bias
 * included) and the signed width it needs, next to the worst case the dtypes allow:
 * K · max|x - x_zp| · max|w - w_zp| + max|bias|, K = the products summed per output. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "info_ranges.h"
#include "preprocess.h"

typedef struct ranges {
    int n_ops;
    int64_t *max_abs; /* per op; -1 = not an accumulator op */
} ranges;

static int is_acc_op(const t2c_op_view *op)
{
    return (strcmp(op->type, "conv2d") == 0 || strcmp(op->type, "linear") == 0 ||
            strcmp(op->type, "matmul") == 0) &&
           op->n_outputs >= 1 && op->outputs[0] && op->outputs[0]->dtype == T2C_INT32;
}

static int ranges_hook(const t2c_op_view *op, int when, void *user)
{
    ranges *r = user;
    (void)when;
    if (op->index < 0 || op->index >= r->n_ops || !is_acc_op(op))
        return 0;
    const int32_t *v = op->outputs[0]->data;
    const int64_t n = t2c_tensor_numel(op->outputs[0]);
    int64_t m = r->max_abs[op->index] < 0 ? 0 : r->max_abs[op->index];
    for (int64_t i = 0; i < n; i++) {
        int64_t a = v[i] < 0 ? -(int64_t)v[i] : v[i];
        if (a > m)
            m = a;
    }
    r->max_abs[op->index] = m;
    return 0;
}

/* Signed two's complement bits holding -m..m: 1 + the bit length of m. */
static int signed_bits_u(uint64_t m)
{
    int b = 1;
    while (m > 0) {
        b++;
        m >>= 1;
    }
    return b;
}

static int64_t attr_int(const t2c_op_view *op, const char *name, int64_t dflt)
{
    const t2c_attr *a = t2c_op_attr(op, name);
    if (a && a->type == T2C_ATTR_INT)
        return a->v.i;
    if (a && a->type == T2C_ATTR_INTS && a->count >= 1)
        return a->v.ints[0];
    return dflt;
}

static uint64_t max_dev(t2c_dtype dt, int64_t zp)
{
    int64_t a = t2c_dtype_min(dt) - zp, b = t2c_dtype_max(dt) - zp;
    a = a < 0 ? -a : a;
    b = b < 0 ? -b : b;
    return (uint64_t)(a > b ? a : b);
}

/* Worst-case |accumulator| from the dtype ranges, K and the bias (saturating at 2^63). */
static uint64_t worst_case(const t2c_op_view *op, int64_t *k_out)
{
    const t2c_tensor *x = op->inputs[0], *w = op->n_inputs > 1 ? op->inputs[1] : NULL;
    const t2c_tensor *bias = op->n_inputs > 2 ? op->inputs[2] : NULL;
    int64_t k = 0;
    uint64_t dx, dw;
    if (strcmp(op->type, "matmul") == 0) {
        k = x->dims[x->rank - 1];
        dx = max_dev(x->dtype, attr_int(op, "a_zero_point", 0));
        dw = w ? max_dev(w->dtype, attr_int(op, "b_zero_point", 0)) : 0;
    } else {
        k = w && w->dims[0] > 0 ? t2c_tensor_numel(w) / w->dims[0] : 0; /* conv: Cin/g·KH·KW */
        dx = max_dev(x->dtype, attr_int(op, "x_zero_point", 0));
        dw = w ? max_dev(w->dtype, attr_int(op, "w_zero_point", 0)) : 0;
    }
    *k_out = k;
    uint64_t b = 0;
    if (bias && bias->data)
        for (int64_t i = 0; i < t2c_tensor_numel(bias); i++) {
            int64_t v = t2c_tensor_get_int(bias, i);
            uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            if (a > b)
                b = a;
        }
    const uint64_t cap = (uint64_t)1 << 63;
    if (dx && dw && (uint64_t)k > cap / dx / dw)
        return cap;
    uint64_t s = (uint64_t)k * dx * dw;
    return s > cap - b ? cap : s + b;
}

/* ---------------------------------------------------------------- .npy inputs */

static int npy_elem(const char *d, size_t *size, int *is_signed)
{
    static const struct { const char *d; size_t size; int sgn; } k[] = {
        {"|i1", 1, 1}, {"|u1", 1, 0}, {"<i2", 2, 1}, {"<u2", 2, 0}, {"<i4", 4, 1}, {"<i8", 8, 1}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (strncmp(d, k[i].d, 3) == 0) {
            *size = k[i].size;
            *is_signed = k[i].sgn;
            return 0;
        }
    return -1;
}

/* Every image of a .npy (C order, total elements a multiple of one image's) into the session
 * input, one run each. Returns 0, or -1 after printing a message. */
static int run_npy(const char *path, t2c_session *s, int64_t *images)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "t2c-info: %s: cannot open\n", path);
        return -1;
    }
    unsigned char head[10];
    int rc = -1;
    char *hdr = NULL;
    unsigned char *data = NULL;
    if (fread(head, 1, 10, f) != 10 || memcmp(head, "\x93NUMPY", 6) != 0) {
        fprintf(stderr, "t2c-info: %s: not a .npy file\n", path);
        goto out;
    }
    size_t hlen = head[6] == 1 ? (size_t)(head[8] | head[9] << 8) : 0;
    if (head[6] >= 2) {
        unsigned char more[2];
        if (fread(more, 1, 2, f) != 2)
            goto bad;
        hlen = (size_t)head[8] | (size_t)head[9] << 8 | (size_t)more[0] << 16 | (size_t)more[1] << 24;
    }
    if (hlen == 0 || hlen > (1u << 20) || !(hdr = calloc(hlen + 1, 1)) || fread(hdr, 1, hlen, f) != hlen)
        goto bad;
    const char *dp = strstr(hdr, "'descr':"), *fo = strstr(hdr, "'fortran_order':");
    size_t esize;
    int sgn;
    if (!dp || !(dp = strchr(dp + 8, '\'')) || npy_elem(dp + 1, &esize, &sgn) != 0) {
        fprintf(stderr, "t2c-info: %s: unsupported .npy dtype (int8/uint8/int16/uint16/int32/int64)\n", path);
        goto out;
    }
    if (!fo || strncmp(strchr(fo + 16, 'F') ? strchr(fo + 16, 'F') : "", "False", 5) != 0) {
        fprintf(stderr, "t2c-info: %s: Fortran-order .npy is not supported\n", path);
        goto out;
    }
    long pos = ftell(f);
    if (pos < 0 || fseek(f, 0, SEEK_END) != 0)
        goto bad;
    long end = ftell(f);
    if (end < pos || fseek(f, pos, SEEK_SET) != 0)
        goto bad;
    size_t bytes = (size_t)(end - pos);
    t2c_tensor *in = t2c_session_input(s, 0);
    const int64_t per = t2c_tensor_numel(in);
    const int64_t total = (int64_t)(bytes / esize);
    if (per <= 0 || total == 0 || total % per != 0) {
        fprintf(stderr, "t2c-info: %s: %lld elements are not a whole number of inputs of %lld\n", path,
                (long long)total, (long long)per);
        goto out;
    }
    if (!(data = malloc(bytes ? bytes : 1)) || fread(data, 1, bytes, f) != bytes)
        goto bad;
    const int64_t lo = t2c_dtype_min(in->dtype), hi = t2c_dtype_max(in->dtype);
    for (int64_t img = 0; img < total / per; img++) {
        for (int64_t i = 0; i < per; i++) {
            const unsigned char *p = data + (size_t)(img * per + i) * esize;
            uint64_t u = 0;
            for (size_t b = 0; b < esize; b++)
                u |= (uint64_t)p[b] << (8 * b);
            int64_t v = (int64_t)u;
            if (sgn && esize < 8 && (u >> (8 * esize - 1)) & 1)
                v = (int64_t)(u | ~(((uint64_t)1 << (8 * esize)) - 1));
            if (v < lo || v > hi) {
                fprintf(stderr, "t2c-info: %s: value %lld outside the input's %s range\n", path, (long long)v,
                        t2c_dtype_name(in->dtype));
                goto out;
            }
            t2c_tensor_set_int(in, i, v);
        }
        t2c_error err;
        if (t2c_session_run(s, &err) != T2C_OK) {
            fprintf(stderr, "t2c-info: %s[%lld]: %s\n", path, (long long)img, err.message);
            goto out;
        }
        (*images)++;
    }
    rc = 0;
    goto out;
bad:
    fprintf(stderr, "t2c-info: %s: truncated or unreadable .npy\n", path);
out:
    free(hdr);
    free(data);
    fclose(f);
    return rc;
}

static int run_one(const char *path, const t2c_model *model, t2c_session *s, int64_t *images)
{
    size_t n = strlen(path);
    if (n > 4 && strcmp(path + n - 4, ".npy") == 0)
        return run_npy(path, s, images);
    t2c_preprocess pp;
    t2c_error err;
    if (t2c_preprocess_from_model(model, &pp, &err) != T2C_OK ||
        t2c_preprocess_file(&pp, path, t2c_session_input(s, 0), 0, &err) != T2C_OK ||
        t2c_session_run(s, &err) != T2C_OK) {
        fprintf(stderr, "t2c-info: %s: %s\n", path, err.message);
        return -1;
    }
    (*images)++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int t2c_info_ranges(const t2c_model *model, const char *dataset)
{
    t2c_error err;
    t2c_session_options so = {.batch = 1, .threads = 1, .backend = "ref"};
    t2c_session *s = NULL;
    if (t2c_session_create_ex(model, &so, &s, &err) != T2C_OK) {
        fprintf(stderr, "t2c-info: %s\n", err.message);
        return 2;
    }
    ranges r = {t2c_session_op_count(s), NULL};
    r.max_abs = malloc(sizeof(int64_t) * (size_t)(r.n_ops + 1));
    char **names = NULL;
    size_t n_names = 0;
    int rc = 2;
    if (!r.max_abs)
        goto done;
    for (int i = 0; i < r.n_ops; i++)
        r.max_abs[i] = -1;
    if (t2c_session_add_hook(s, NULL, T2C_HOOK_AFTER, ranges_hook, &r, &err) < 0) {
        fprintf(stderr, "t2c-info: %s\n", err.message);
        goto done;
    }
    struct stat st;
    if (stat(dataset, &st) != 0) {
        fprintf(stderr, "t2c-info: %s: no such file or directory\n", dataset);
        goto done;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(dataset);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char **nn = realloc(names, sizeof(char *) * (n_names + 1));
            if (!nn)
                break;
            names = nn;
            size_t len = strlen(dataset) + strlen(e->d_name) + 2;
            if (!(names[n_names] = malloc(len)))
                break;
            snprintf(names[n_names++], len, "%s/%s", dataset, e->d_name);
        }
        if (d)
            closedir(d);
        qsort(names, n_names, sizeof(char *), cmp_str);
    } else {
        names = malloc(sizeof(char *));
        if (!names || !(names[0] = strdup(dataset)))
            goto done;
        n_names = 1;
    }
    int64_t images = 0;
    for (size_t i = 0; i < n_names; i++)
        if (run_one(names[i], model, s, &images) != 0)
            goto done;
    if (images == 0) {
        fprintf(stderr, "t2c-info: %s: no inputs\n", dataset);
        goto done;
    }
    printf("ranges over %lld input(s) of %s\n", (long long)images, dataset);
    printf("%-4s %-28s %-8s %8s %14s %9s %20s %10s\n", "#", "op", "type", "K", "max|acc|", "acc_bits",
           "worst|acc|", "worst_bits");
    for (int i = 0; i < r.n_ops; i++) {
        if (r.max_abs[i] < 0)
            continue;
        const t2c_op_view *op = t2c_session_op(s, i);
        int64_t k = 0;
        uint64_t w = worst_case(op, &k);
        printf("%-4d %-28s %-8s %8lld %14lld %9d %20llu %10d\n", i, op->name, op->type, (long long)k,
               (long long)r.max_abs[i], signed_bits_u((uint64_t)r.max_abs[i]), (unsigned long long)w,
               signed_bits_u(w));
    }
    rc = 0;
done:
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    free(r.max_abs);
    t2c_session_free(s);
    return rc;
}
