/* t2c_container_tool.c — test helper for tests/python/test_py_container.py.
 *
 *   t2c_container_tool summary IN            read IN with the C reader, print a JSON summary
 *   t2c_container_tool rewrite IN OUT [LVL]  read IN, write it back to OUT with the C writer
 *                                            (zstd-stored tensors at level LVL, default 19)
 *   t2c_container_tool sample OUT [LVL]      write a fixed model built with the C writer
 *
 * On a reader/writer error: the one-line message on stderr, exit code = the t2c_status.
 * The summary lists every tensor's unpacked values, so Python can compare them with its own.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t2c_container.h"

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void json_names(int n, char **names)
{
    putchar('[');
    for (int i = 0; i < n; i++) {
        if (i)
            putchar(',');
        json_str(names[i]);
    }
    putchar(']');
}

static const char *const type_names[] = {"?", "int", "float", "string", "ints", "floats", "strings"};

static void json_attrs(int n, const t2c_attr *a)
{
    putchar('[');
    for (int i = 0; i < n; i++) {
        printf("%s{\"name\":", i ? "," : "");
        json_str(a[i].name);
        printf(",\"type\":\"%s\",\"value\":", type_names[a[i].type]);
        switch (a[i].type) {
        case T2C_ATTR_INT: printf("%lld", (long long)a[i].v.i); break;
        case T2C_ATTR_FLOAT: printf("%.17g", a[i].v.f); break;
        case T2C_ATTR_STRING: json_str(a[i].v.s); break;
        case T2C_ATTR_INTS:
            putchar('[');
            for (int64_t k = 0; k < a[i].count; k++)
                printf("%s%lld", k ? "," : "", (long long)a[i].v.ints[k]);
            putchar(']');
            break;
        case T2C_ATTR_FLOATS:
            putchar('[');
            for (int64_t k = 0; k < a[i].count; k++)
                printf("%s%.17g", k ? "," : "", a[i].v.floats[k]);
            putchar(']');
            break;
        case T2C_ATTR_STRINGS:
            putchar('[');
            for (int64_t k = 0; k < a[i].count; k++) {
                if (k)
                    putchar(',');
                json_str(a[i].v.strs[k]);
            }
            putchar(']');
            break;
        }
        putchar('}');
    }
    putchar(']');
}

static void summary(const t2c_container *c)
{
    static const char *const storage[] = {"none", "raw", "zstd"};
    printf("{\"version\":[%u,%u],\"meta\":", c->version_major, c->version_minor);
    json_attrs(c->n_meta, c->meta);
    printf(",\"tensors\":[");
    for (int i = 0; i < c->n_tensors; i++) {
        const t2c_container_tensor *t = &c->tensors[i];
        printf("%s{\"name\":", i ? "," : "");
        json_str(t->name);
        printf(",\"dtype\":\"%s\",\"shape\":[", t2c_dtype_name(t->dtype));
        int64_t numel = 1;
        for (int d = 0; d < t->rank; d++) {
            printf("%s%lld", d ? "," : "", (long long)t->dims[d]);
            numel *= t->dims[d];
        }
        printf("],\"storage\":\"%s\"", storage[t->storage]);
        if (t->data) {
            printf(",\"stored_size\":%llu,\"crc32\":%u,\"data\":[", (unsigned long long)t->stored_size, t->crc32);
            t2c_tensor view = {.dtype = t->dtype, .rank = t->rank, .data = t->data};
            for (int64_t k = 0; k < numel; k++) {
                if (t->dtype == T2C_FLOAT32)
                    printf("%s%.17g", k ? "," : "", (double)((const float *)t->data)[k]);
                else
                    printf("%s%lld", k ? "," : "", (long long)t2c_tensor_get_int(&view, k));
            }
            putchar(']');
        }
        putchar('}');
    }
    printf("],\"inputs\":");
    json_names(c->n_inputs, c->inputs);
    printf(",\"outputs\":");
    json_names(c->n_outputs, c->outputs);
    printf(",\"ops\":[");
    for (int i = 0; i < c->n_ops; i++) {
        const t2c_container_op *op = &c->ops[i];
        printf("%s{\"type\":", i ? "," : "");
        json_str(op->type);
        printf(",\"name\":");
        json_str(op->name);
        printf(",\"inputs\":");
        json_names(op->n_inputs, op->inputs);
        printf(",\"outputs\":");
        json_names(op->n_outputs, op->outputs);
        printf(",\"attrs\":");
        json_attrs(op->n_attrs, op->attrs);
        putchar('}');
    }
    printf("]}\n");
}

static int die(const t2c_error *err)
{
    fprintf(stderr, "%s\n", err->message);
    return (int)err->status;
}

static int rewrite(const t2c_container *c, const char *out, int level)
{
    t2c_error err = {0};
    t2c_writer *w = t2c_writer_new();
    if (!w)
        return T2C_ERR_NOMEM;
    t2c_status st = T2C_OK;
    for (int i = 0; i < c->n_meta && st == T2C_OK; i++)
        st = t2c_writer_meta(w, &c->meta[i], &err);
    for (int i = 0; i < c->n_tensors && st == T2C_OK; i++) {
        const t2c_container_tensor *t = &c->tensors[i];
        st = t2c_writer_tensor(w, t->name, t->dtype, t->rank, t->dims, t->data,
                               t->storage == T2C_STORAGE_ZSTD ? level : 0, &err);
    }
    if (st == T2C_OK)
        st = t2c_writer_graph_io(w, c->n_inputs, (const char *const *)c->inputs, c->n_outputs,
                                 (const char *const *)c->outputs, &err);
    for (int i = 0; i < c->n_ops && st == T2C_OK; i++) {
        const t2c_container_op *op = &c->ops[i];
        st = t2c_writer_op(w, op->type, op->name, op->n_inputs, (const char *const *)op->inputs, op->n_outputs,
                           (const char *const *)op->outputs, op->n_attrs, op->attrs, &err);
    }
    if (st == T2C_OK)
        st = t2c_writer_save(w, out, &err);
    t2c_writer_free(w);
    return st == T2C_OK ? 0 : die(&err);
}

/* The fixed sample model: every dtype, raw and zstd, every value type. The Python test
 * checks these values by hand. */
static int sample(const char *out, int level)
{
    t2c_error err = {0};
    t2c_writer *w = t2c_writer_new();
    if (!w)
        return T2C_ERR_NOMEM;
    static const int64_t ints[] = {-1, 0, 9007199254740993LL};
    static const double floats[] = {0.5, -2.25};
    static const char *const strs[] = {"cat", "", "d\xc3\xb6g"};
    t2c_attr meta[] = {
        {.name = "model.name", .type = T2C_ATTR_STRING, .v.s = "sample"},
        {.name = "input.zero_point", .type = T2C_ATTR_INT, .v.i = -128},
        {.name = "input.scale", .type = T2C_ATTR_FLOAT, .v.f = 0.0078125},
        {.name = "preprocess.crop", .type = T2C_ATTR_INTS, .count = 3, .v.ints = ints},
        {.name = "preprocess.mean", .type = T2C_ATTR_FLOATS, .count = 2, .v.floats = floats},
        {.name = "labels", .type = T2C_ATTR_STRINGS, .count = 3, .v.strs = strs},
        {.name = "empty", .type = T2C_ATTR_INTS, .count = 0},
    };
    t2c_status st = T2C_OK;
    for (size_t i = 0; i < sizeof meta / sizeof meta[0] && st == T2C_OK; i++)
        st = t2c_writer_meta(w, &meta[i], &err);

    int8_t i4[5] = {-8, 7, -1, 0, 3};
    uint8_t u4[3] = {15, 0, 9};
    int8_t i8[4] = {-128, 127, -1, 0};
    uint8_t u8[2] = {255, 1};
    int16_t i16[3] = {-32768, 32767, -2};
    int32_t i32[2] = {INT32_MIN, 123456789};
    int64_t i64[2] = {INT64_MIN, INT64_MAX};
    float f32[2] = {1.5f, -0.25f};
    int8_t zeros[1000];
    memset(zeros, 0, sizeof zeros);
    zeros[999] = 5;
    int64_t d5[] = {5}, d3[] = {3}, d22[] = {2, 2}, d2[] = {2}, d131[] = {1, 3, 1}, d1000[] = {10, 100};
    int64_t din[] = {1, 4};
    if (st == T2C_OK) st = t2c_writer_tensor(w, "x", T2C_INT8, 2, din, NULL, 0, &err);
    if (st == T2C_OK) st = t2c_writer_tensor(w, "w_int4", T2C_INT4, 1, d5, i4, 0, &err);
    if (st == T2C_OK) st = t2c_writer_tensor(w, "w_uint4", T2C_UINT4, 1, d3, u4, level, &err);
    if (st == T2C_OK) st = t2c_writer_tensor(w, "w_int8", T2C_INT8, 2, d22, i8, 0, &err);
    if (st == T2C_OK) st = t2c_writer_tensor(w, "w_uint8", T2C_UINT8, 1, d2, u8, 0, &err);
    if (st == T2C_OK) st = t2c_writer_tensor(w, "w_int16", T2C_INT16, 3, d131, i16, 0, &err);
    if (st == T2C_OK) st = t2c_writer_tensor(w, "w_int32", T2C_INT32, 1, d2, i32, 0, &err);
    if (st == T2C_OK) st = t2c_writer_tensor(w, "w_int64", T2C_INT64, 1, d2, i64, 0, &err);
    if (st == T2C_OK) st = t2c_writer_tensor(w, "w_float32", T2C_FLOAT32, 1, d2, f32, 0, &err);
    if (st == T2C_OK) st = t2c_writer_tensor(w, "w_zstd", T2C_INT8, 2, d1000, zeros, level, &err);
    if (st == T2C_OK) st = t2c_writer_tensor(w, "y", T2C_INT32, 2, din, NULL, 0, &err);
    const char *in[] = {"x"}, *outs[] = {"y"}, *op_in[] = {"x", "w_int8", ""};
    int64_t stride[] = {1, 2};
    t2c_attr attrs[] = {
        {.name = "stride", .type = T2C_ATTR_INTS, .count = 2, .v.ints = stride},
        {.name = "rounding", .type = T2C_ATTR_STRING, .v.s = "half_even"},
        {.name = "scale", .type = T2C_ATTR_FLOAT, .v.f = 0.1},
        {.name = "acc_bits", .type = T2C_ATTR_INT, .v.i = 32},
    };
    if (st == T2C_OK) st = t2c_writer_graph_io(w, 1, in, 1, outs, &err);
    if (st == T2C_OK) st = t2c_writer_op(w, "linear", "fc", 3, op_in, 1, outs, 4, attrs, &err);
    if (st == T2C_OK) st = t2c_writer_save(w, out, &err);
    t2c_writer_free(w);
    return st == T2C_OK ? 0 : die(&err);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "sample") == 0)
        return sample(argv[2], argc > 3 ? atoi(argv[3]) : T2C_ZSTD_DEFAULT_LEVEL);
    if (argc < 3 || (strcmp(argv[1], "summary") != 0 && strcmp(argv[1], "rewrite") != 0) ||
        (strcmp(argv[1], "rewrite") == 0 && argc < 4)) {
        fprintf(stderr, "usage: %s summary IN | rewrite IN OUT [LEVEL] | sample OUT [LEVEL]\n", argv[0]);
        return 64;
    }
    t2c_container *c = NULL;
    t2c_error err = {0};
    if (t2c_container_read_file(argv[2], NULL, &c, &err) != T2C_OK)
        return die(&err);
    int rc = 0;
    if (strcmp(argv[1], "rewrite") == 0)
        rc = rewrite(c, argv[3], argc > 4 ? atoi(argv[4]) : T2C_ZSTD_DEFAULT_LEVEL);
    if (rc == 0)
        summary(c);
    t2c_container_free(c);
    return rc;
}
