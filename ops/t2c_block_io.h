/* t2c_block_io.h — a block of an int tensor to int64 and back, with the dtype switch outside the
 * element loops (so the loops vectorize); shared by the elementwise reference kernels. */
#ifndef T2C_BLOCK_IO_H
#define T2C_BLOCK_IO_H

#include "t2c_op.h"

/* v[j] = (t[at + j] - zp) * mul for j < n; t is int4/uint4/int8/uint8 (stored a byte each), int16
 * or int32. Callers keep |v| < 2^63 (their op's prepare bounds zp and mul). */
static inline __attribute__((always_inline)) void
t2c_block_load(const t2c_tensor *t, int64_t at, int64_t n, int64_t zp, int64_t mul, int64_t *v)
{
    switch (t->dtype) {
    case T2C_INT32:
        for (int64_t j = 0; j < n; j++)
            v[j] = (((const int32_t *)t->data)[at + j] - zp) * mul;
        break;
    case T2C_INT16:
        for (int64_t j = 0; j < n; j++)
            v[j] = (((const int16_t *)t->data)[at + j] - zp) * mul;
        break;
    case T2C_UINT4:
    case T2C_UINT8:
        for (int64_t j = 0; j < n; j++)
            v[j] = (((const uint8_t *)t->data)[at + j] - zp) * mul;
        break;
    default: /* int4, int8 */
        for (int64_t j = 0; j < n; j++)
            v[j] = (((const int8_t *)t->data)[at + j] - zp) * mul;
        break;
    }
}

/* y[at + j] = v[j] for j < n; every v[j] is already inside y's dtype range. */
static inline __attribute__((always_inline)) void
t2c_block_store(t2c_tensor *y, int64_t at, int64_t n, const int64_t *v)
{
    /* a pointer in a local: a byte store could alias y->data and force a reload per element */
    switch (y->dtype) {
    case T2C_INT32:
    {
        int32_t *d = (int32_t *)y->data + at;
        for (int64_t j = 0; j < n; j++)
            d[j] = (int32_t)v[j];
        break;
    }
    case T2C_INT16:
    {
        int16_t *d = (int16_t *)y->data + at;
        for (int64_t j = 0; j < n; j++)
            d[j] = (int16_t)v[j];
        break;
    }
    case T2C_UINT4:
    case T2C_UINT8:
    {
        uint8_t *d = (uint8_t *)y->data + at;
        for (int64_t j = 0; j < n; j++)
            d[j] = (uint8_t)v[j];
        break;
    }
    default: /* int4, int8 */
    {
        int8_t *d = (int8_t *)y->data + at;
        for (int64_t j = 0; j < n; j++)
            d[j] = (int8_t)v[j];
        break;
    }
    }
}

#endif
