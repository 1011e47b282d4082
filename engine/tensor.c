/* tensor.c — dtypes, tensor element access, status texts and error messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "t2c.h"
#include "t2c_op.h"

static const char *const status_texts[T2C_STATUS_COUNT] = {
    [T2C_OK] = "success",
    [T2C_ERR_IO] = "input/output error",
    [T2C_ERR_FORMAT] = "corrupt or truncated model file",
    [T2C_ERR_UNSUPPORTED] = "unsupported feature",
    [T2C_ERR_INVALID_ARG] = "invalid argument",
    [T2C_ERR_SHAPE] = "shape mismatch",
    [T2C_ERR_DTYPE] = "dtype not allowed",
    [T2C_ERR_ATTR] = "invalid op attribute",
    [T2C_ERR_NOMEM] = "out of memory",
    [T2C_ERR_OVERFLOW] = "accumulator overflow",
    [T2C_ERR_HOOK] = "stopped by a hook",
    [T2C_ERR_LIMIT] = "size limit exceeded",
    [T2C_ERR_NOT_FOUND] = "not found",
};

const char *t2c_strerror(t2c_status status)
{
    if ((int)status < 0 || status >= T2C_STATUS_COUNT)
        return "unknown status";
    return status_texts[status];
}

t2c_status t2c_error_set(t2c_error *err, t2c_status status, const char *fmt, ...)
{
    if (err) {
        err->status = status;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

static const struct {
    const char *name;
    int bits;
    size_t mem;
    int64_t lo, hi;
} dtype_info[T2C_DTYPE_COUNT] = {
    [T2C_DTYPE_INVALID] = {"invalid", 0, 0, 0, 0},
    [T2C_INT4] = {"int4", 4, 1, -8, 7},
    [T2C_UINT4] = {"uint4", 4, 1, 0, 15},
    [T2C_INT8] = {"int8", 8, 1, INT8_MIN, INT8_MAX},
    [T2C_UINT8] = {"uint8", 8, 1, 0, UINT8_MAX},
    [T2C_INT16] = {"int16", 16, 2, INT16_MIN, INT16_MAX},
    [T2C_INT32] = {"int32", 32, 4, INT32_MIN, INT32_MAX},
    [T2C_INT64] = {"int64", 64, 8, INT64_MIN, INT64_MAX},
    [T2C_FLOAT32] = {"float32", 32, 4, 0, 0},
};

static int dtype_ok(t2c_dtype d) { return d > T2C_DTYPE_INVALID && d < T2C_DTYPE_COUNT; }

const char *t2c_dtype_name(t2c_dtype d) { return dtype_ok(d) ? dtype_info[d].name : "invalid"; }
int t2c_dtype_bits(t2c_dtype d) { return dtype_ok(d) ? dtype_info[d].bits : 0; }
size_t t2c_dtype_mem_size(t2c_dtype d) { return dtype_ok(d) ? dtype_info[d].mem : 0; }
int64_t t2c_dtype_min(t2c_dtype d) { return dtype_ok(d) ? dtype_info[d].lo : 0; }
int64_t t2c_dtype_max(t2c_dtype d) { return dtype_ok(d) ? dtype_info[d].hi : 0; }

t2c_dtype t2c_dtype_from_name(const char *name)
{
    for (int d = 1; d < T2C_DTYPE_COUNT && name; d++)
        if (strcmp(name, dtype_info[d].name) == 0)
            return (t2c_dtype)d;
    return T2C_DTYPE_INVALID;
}

int t2c_dtype_is_int(t2c_dtype d) { return dtype_ok(d) && d != T2C_FLOAT32; }
int t2c_dtype_is_int4(t2c_dtype d) { return d == T2C_INT4 || d == T2C_UINT4; }

int64_t t2c_tensor_numel(const t2c_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->dims[i];
    return n;
}

int64_t t2c_tensor_get_int(const t2c_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case T2C_INT4:
    case T2C_INT8: return ((const int8_t *)t->data)[i];
    case T2C_UINT4:
    case T2C_UINT8: return ((const uint8_t *)t->data)[i];
    case T2C_INT16: return ((const int16_t *)t->data)[i];
    case T2C_INT32: return ((const int32_t *)t->data)[i];
    case T2C_INT64: return ((const int64_t *)t->data)[i];
    case T2C_FLOAT32: return (int64_t)((const float *)t->data)[i];
    default: return 0;
    }
}

void t2c_tensor_set_int(t2c_tensor *t, int64_t i, int64_t v)
{
    switch (t->dtype) {
    case T2C_INT4:
    case T2C_INT8: ((int8_t *)t->data)[i] = (int8_t)v; break;
    case T2C_UINT4:
    case T2C_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)v; break;
    case T2C_INT16: ((int16_t *)t->data)[i] = (int16_t)v; break;
    case T2C_INT32: ((int32_t *)t->data)[i] = (int32_t)v; break;
    case T2C_INT64: ((int64_t *)t->data)[i] = v; break;
    case T2C_FLOAT32: ((float *)t->data)[i] = (float)v; break;
    default: break;
    }
}

const char *t2c_shape_str(const t2c_tensor *t, char *buf, size_t size)
{
    size_t used = 0;
    int n = snprintf(buf, size, "[");
    used = n > 0 ? (size_t)n : 0;
    for (int i = 0; i < t->rank && used < size; i++) {
        n = snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
        used += n > 0 ? (size_t)n : 0;
    }
    if (used < size)
        snprintf(buf + used, size - used, "]");
    return buf;
}
