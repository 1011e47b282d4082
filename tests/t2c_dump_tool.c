/* t2c_dump_tool — test helper: run a model on an input .npy and write every op output as
 * OUTDIR/<index>_<opname>.npy (via an AFTER hook), so tests can compare the C engine with the
 * independent Python reference op by op.
 *   t2c_dump_tool MODEL.t2c INPUT.npy OUTDIR [--outputs-only]
 * --outputs-only: no hook (so fused kernels run, as in production) and only the graph outputs are
 * written, as OUTDIR/out<k>.npy. The backend and threads come from T2C_BACKEND / T2C_THREADS. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t2c.h"

static const char *npy_descr(t2c_dtype d)
{
    switch (d) {
    case T2C_INT4:
    case T2C_INT8: return "|i1";
    case T2C_UINT4:
    case T2C_UINT8: return "|u1";
    case T2C_INT16: return "<i2";
    case T2C_INT32: return "<i4";
    case T2C_INT64: return "<i8";
    case T2C_FLOAT32: return "<f4";
    default: return NULL;
    }
}

static int write_npy(const char *path, const t2c_tensor *t)
{
    char header[512], shape[256] = "";
    size_t used = 0;
    for (int i = 0; i < t->rank; i++)
        used += (size_t)snprintf(shape + used, sizeof shape - used, "%lld,%s", (long long)t->dims[i],
                                 (t->rank > 1 && i < t->rank - 1) ? " " : "");
    if (t->rank > 1 && used > 0 && shape[used - 1] == ',')
        shape[--used] = '\0';
    int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                     npy_descr(t->dtype), shape);
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    unsigned short hl = (unsigned short)(n + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hl & 0xff, f);
    fputc(hl >> 8, f);
    fwrite(header, 1, (size_t)n, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    size_t bytes = (size_t)t2c_tensor_numel(t) * t2c_dtype_mem_size(t->dtype);
    int ok = fwrite(t->data, 1, bytes, f) == bytes;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Minimal .npy reader for C-order arrays. */
static void *read_npy(const char *path, char *descr, int *rank, int64_t *dims)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char pre[10];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        fclose(f);
        return NULL;
    }
    size_t hl = pre[8] | (pre[9] << 8);
    char *h = calloc(hl + 1, 1);
    if (!h || fread(h, 1, hl, f) != hl) {
        free(h);
        fclose(f);
        return NULL;
    }
    char *d = strstr(h, "'descr': '");
    char *s = strstr(h, "'shape': (");
    if (!d || !s || strstr(h, "'fortran_order': True")) {
        free(h);
        fclose(f);
        return NULL;
    }
    sscanf(d + 10, "%7[^']", descr);
    s += 10;
    *rank = 0;
    int64_t numel = 1;
    while (*s && *s != ')' && *rank < T2C_MAX_RANK) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s)
            break;
        dims[(*rank)++] = v;
        numel *= v;
        s = end;
        while (*s == ',' || *s == ' ')
            s++;
    }
    free(h);
    int es = descr[2] - '0';
    void *data = malloc((size_t)(numel * es) + 1);
    if (data && fread(data, 1, (size_t)(numel * es), f) != (size_t)(numel * es)) {
        free(data);
        data = NULL;
    }
    fclose(f);
    return data;
}

static int dump_hook(const t2c_op_view *op, int when, void *user)
{
    (void)when;
    const char *dir = user;
    char path[4096];
    for (int i = 0; i < op->n_outputs; i++) {
        snprintf(path, sizeof path, "%s/%04d_%s%s.npy", dir, op->index, op->name, i ? "_1" : "");
        for (char *p = path + strlen(dir) + 1; *p; p++)
            if (*p == '/')
                *p = '_';
        if (write_npy(path, op->outputs[i]) != 0) {
            fprintf(stderr, "t2c_dump_tool: %s: %s\n", path, strerror(errno));
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    const int outputs_only = argc == 5 && strcmp(argv[4], "--outputs-only") == 0;
    if (argc != 4 && !outputs_only) {
        fprintf(stderr, "usage: t2c_dump_tool MODEL.t2c INPUT.npy OUTDIR [--outputs-only]\n");
        return 2;
    }
    t2c_error err;
    t2c_model *m = NULL;
    if (t2c_model_load_file(argv[1], NULL, &m, &err) != T2C_OK) {
        fprintf(stderr, "t2c_dump_tool: %s\n", err.message);
        return 2;
    }
    char descr[8] = "";
    int rank = 0;
    int64_t dims[T2C_MAX_RANK];
    void *in = read_npy(argv[2], descr, &rank, dims);
    if (!in || rank < 1) {
        fprintf(stderr, "t2c_dump_tool: %s: cannot read .npy\n", argv[2]);
        return 2;
    }
    t2c_session *s = NULL;
    if (t2c_session_create(m, (int)dims[0], &s, &err) != T2C_OK) {
        fprintf(stderr, "t2c_dump_tool: %s\n", err.message);
        return 2;
    }
    t2c_tensor *x = t2c_session_input(s, 0);
    size_t bytes = (size_t)t2c_tensor_numel(x) * t2c_dtype_mem_size(x->dtype);
    const char *want = npy_descr(x->dtype);
    if (strcmp(want + 1, descr + 1) != 0 || rank != x->rank) {
        fprintf(stderr, "t2c_dump_tool: input is %s rank %d, model wants %s rank %d\n", descr, rank, want,
                x->rank);
        return 2;
    }
    memcpy(x->data, in, bytes);
    t2c_hook_filter all = {NULL, NULL};
    if ((!outputs_only && t2c_session_add_hook(s, &all, T2C_HOOK_AFTER, dump_hook, argv[3], &err) < 0) ||
        t2c_session_run(s, &err) != T2C_OK) {
        fprintf(stderr, "t2c_dump_tool: %s\n", err.message);
        return 1;
    }
    for (int k = 0; outputs_only && k < t2c_model_output_count(m); k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/out%d.npy", argv[3], k);
        if (write_npy(path, t2c_session_output(s, k)) != 0) {
            fprintf(stderr, "t2c_dump_tool: %s: %s\n", path, strerror(errno));
            return 1;
        }
    }
    free(in);
    t2c_session_free(s);
    t2c_model_free(m);
    return 0;
}
