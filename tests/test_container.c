/* test_container.c — the .t2c container: byte helpers, writer, reader, rejections.
 *
 * Models are built here: with the writer (round trips) or byte by byte from the spec
 * (formats/t2c-format.md) with the small encoder below, so each hostile file reaches exactly
 * the check it is aimed at. Every rejection asserts the status and the whole message.
 * Run under ASan/UBSan too (a build dir configured with -Db_sanitize=address,undefined).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "t2c_container.h"

/* ---------------------------------------------------------------- spec encoder */
typedef struct bb {
    uint8_t b[1 << 16];
    size_t n;
} bb;

static void put8(bb *x, unsigned v) { x->b[x->n++] = (uint8_t)v; }
static void put16(bb *x, unsigned v) { put8(x, v & 0xff); put8(x, (v >> 8) & 0xff); }
static void put32(bb *x, uint32_t v) { for (int i = 0; i < 4; i++) put8(x, (v >> (8 * i)) & 0xff); }
static void put64(bb *x, uint64_t v) { for (int i = 0; i < 8; i++) put8(x, (unsigned)(v >> (8 * i)) & 0xff); }
static void putstr(bb *x, const char *s)
{
    size_t n = strlen(s);
    put32(x, (uint32_t)n);
    memcpy(x->b + x->n, s, n);
    x->n += n;
}
static void putbytes(bb *x, const void *p, size_t n)
{
    memcpy(x->b + x->n, p, n);
    x->n += n;
}

/* A tensor entry; storage 0 writes no payload fields. */
static void put_tensor(bb *x, const char *name, unsigned dtype, unsigned rank, const uint64_t *dims, unsigned storage,
                       uint64_t offset, uint64_t size, uint32_t crc)
{
    putstr(x, name);
    put8(x, dtype);
    put8(x, rank);
    for (unsigned i = 0; i < rank; i++)
        put64(x, dims[i]);
    put8(x, storage);
    if (storage) {
        put64(x, offset);
        put64(x, size);
        put32(x, crc);
    }
}

static uint8_t file_buf[1 << 17];

/* Header + tables + zero padding + data, with a correct tables CRC: the file size. */
static size_t craft(const bb *tables, const void *data, size_t data_size)
{
    memset(file_buf, 0, sizeof file_buf);
    uint64_t data_offset = (64 + tables->n + 63) / 64 * 64;
    memcpy(file_buf, "T2CMODEL", 8);
    t2c_le_put_u16(file_buf + 8, 1);
    t2c_le_put_u16(file_buf + 10, 0);
    t2c_le_put_u64(file_buf + 16, tables->n);
    t2c_le_put_u64(file_buf + 24, data_offset);
    t2c_le_put_u64(file_buf + 32, data_size);
    t2c_le_put_u32(file_buf + 40, t2c_crc32(0, tables->b, tables->n));
    memcpy(file_buf + 64, tables->b, tables->n);
    if (data_size)
        memcpy(file_buf + data_offset, data, data_size);
    return (size_t)(data_offset + data_size);
}

/* Fix the tables CRC after patching bytes of the tables section. */
static void fix_crc(uint8_t *f)
{
    uint64_t ts = t2c_le_get_u64(f + 16);
    t2c_le_put_u32(f + 40, t2c_crc32(0, f + 64, (size_t)ts));
}

/* Tables with one tensor (the rest empty). */
static size_t one_tensor_file(const char *name, unsigned dtype, unsigned rank, const uint64_t *dims, unsigned storage,
                              uint64_t offset, uint64_t size, uint32_t crc, const void *data, size_t data_size)
{
    static bb t;
    t.n = 0;
    put32(&t, 0);
    put32(&t, 1);
    put_tensor(&t, name, dtype, rank, dims, storage, offset, size, crc);
    put32(&t, 0);
    put32(&t, 0);
    put32(&t, 0);
    return craft(&t, data, data_size);
}

static void expect_reject_lim(const void *buf, size_t n, const t2c_load_limits *lim, t2c_status want,
                              const char *msg)
{
    t2c_container *c = (t2c_container *)(uintptr_t)1;
    t2c_error err = {0};
    t2c_status st = t2c_container_read_buffer(buf, n, "m.t2c", lim, &c, &err);
    if (st != want || strcmp(err.message, msg) != 0)
        print_error("got  %d '%s'\nwant %d '%s'\n", st, err.message, want, msg);
    assert_int_equal(st, want);
    assert_int_equal(err.status, want);
    assert_string_equal(err.message, msg);
    assert_null(c);
}

static void expect_reject(const void *buf, size_t n, t2c_status want, const char *msg)
{
    expect_reject_lim(buf, n, NULL, want, msg);
}

static t2c_container *read_ok(const void *buf, size_t n)
{
    t2c_container *c = NULL;
    t2c_error err = {0};
    t2c_status st = t2c_container_read_buffer(buf, n, "m.t2c", NULL, &c, &err);
    if (st != T2C_OK)
        print_error("unexpected: %s\n", err.message);
    assert_int_equal(st, T2C_OK);
    assert_non_null(c);
    return c;
}

/* ---------------------------------------------------------------- byte helpers */
static void test_crc32(void **state)
{
    (void)state;
    assert_int_equal(t2c_crc32(0, "123456789", 9), 0xCBF43926u); /* the CRC-32/ISO-HDLC check value */
    assert_int_equal(t2c_crc32(0, "", 0), 0u);
    assert_int_equal(t2c_crc32(t2c_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u); /* incremental */
    static const uint8_t payload[2] = {0x2f, 0x08};
    assert_int_equal(t2c_crc32(0, payload, 2), 0x5d1ea2a0u); /* from Python's zlib.crc32 */
}

static void test_le(void **state)
{
    (void)state;
    uint8_t b[8];
    t2c_le_put_u64(b, 0x0102030405060708ull);
    static const uint8_t want[8] = {8, 7, 6, 5, 4, 3, 2, 1};
    assert_memory_equal(b, want, 8);
    assert_int_equal(t2c_le_get_u64(b), 0x0102030405060708ull);
    assert_int_equal(t2c_le_get_u32(b), 0x05060708u);
    assert_int_equal(t2c_le_get_u16(b), 0x0708u);
    t2c_le_put_u16(b, 0xBEEF);
    assert_int_equal(b[0], 0xEF);
    assert_int_equal(b[1], 0xBE);
}

static void test_int4_pack(void **state)
{
    (void)state;
    /* element 2i in the low nibble, 2i+1 in the high nibble, two's complement */
    const int8_t s[5] = {-8, 7, -1, 0, 3};
    uint8_t packed[3] = {0xAA, 0xAA, 0xAA};
    t2c_pack_int4((const uint8_t *)s, 5, packed);
    assert_int_equal(packed[0], 0x78); /* -8 = 0x8 low, 7 high */
    assert_int_equal(packed[1], 0x0F); /* -1 = 0xF low, 0 high */
    assert_int_equal(packed[2], 0x03); /* 3 low, pad nibble 0 */
    int8_t back[5];
    assert_int_equal(t2c_unpack_int4(packed, 5, 1, (uint8_t *)back), 0);
    assert_memory_equal(back, s, 5);

    const uint8_t u[3] = {15, 0, 9};
    t2c_pack_int4(u, 3, packed);
    assert_int_equal(packed[0], 0x0F);
    assert_int_equal(packed[1], 0x09);
    uint8_t ub[3];
    assert_int_equal(t2c_unpack_int4(packed, 3, 0, ub), 0);
    assert_memory_equal(ub, u, 3);

    /* the same byte read as uint4 and as int4 */
    const uint8_t b8 = 0x9F;
    uint8_t two[2];
    t2c_unpack_int4(&b8, 2, 0, two);
    assert_int_equal(two[0], 15);
    assert_int_equal(two[1], 9);
    t2c_unpack_int4(&b8, 2, 1, two);
    assert_int_equal((int8_t)two[0], -1);
    assert_int_equal((int8_t)two[1], -7);

    /* non-zero pad nibble of an odd count */
    const uint8_t bad[2] = {0x0F, 0x19};
    uint8_t four[4];
    assert_int_equal(t2c_unpack_int4(bad, 3, 1, four), -1);
    assert_int_equal(t2c_unpack_int4(bad, 4, 1, four), 0); /* even count: no pad */
    assert_int_equal(four[3], 1);

    /* to_le range check: 8 is not an int4, 16 not a uint4 */
    const int8_t out_of_range[2] = {0, 8};
    assert_int_equal(t2c_container_to_le(T2C_INT4, out_of_range, 2, packed), -1);
    const uint8_t u16v[1] = {16};
    assert_int_equal(t2c_container_to_le(T2C_UINT4, u16v, 1, packed), -1);
    assert_int_equal(t2c_container_raw_size(T2C_INT4, 5), 3);
    assert_int_equal(t2c_container_raw_size(T2C_UINT4, 4), 2);
    assert_int_equal(t2c_container_raw_size(T2C_INT16, 3), 6);
    assert_int_equal(t2c_container_raw_size(T2C_FLOAT32, 3), 12);
    assert_int_equal(t2c_container_raw_size(T2C_INT64, 3), 24);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_int_equal(t2c_utf8_valid("d\xc3\xb6g", 4), 1);
    assert_int_equal(t2c_utf8_valid("\xf0\x9f\x98\x80", 4), 1);   /* U+1F600 */
    assert_int_equal(t2c_utf8_valid("\xf4\x8f\xbf\xbf", 4), 1);   /* U+10FFFF */
    assert_int_equal(t2c_utf8_valid("", 0), 1);
    assert_int_equal(t2c_utf8_valid("\xc0\xaf", 2), 0);           /* overlong '/' */
    assert_int_equal(t2c_utf8_valid("\xe0\x80\xaf", 3), 0);       /* overlong */
    assert_int_equal(t2c_utf8_valid("\xed\xa0\x80", 3), 0);       /* surrogate U+D800 */
    assert_int_equal(t2c_utf8_valid("\xf4\x90\x80\x80", 4), 0);   /* U+110000 */
    assert_int_equal(t2c_utf8_valid("\xe2\x82", 2), 0);           /* truncated */
    assert_int_equal(t2c_utf8_valid("\x80", 1), 0);               /* lone continuation */
    assert_int_equal(t2c_utf8_valid("a\0b", 3), 0);               /* NUL */
}

static void test_name_set(void **state)
{
    (void)state;
    t2c_name_set *s = t2c_name_set_new();
    assert_non_null(s);
    char names[300][8];
    for (int i = 0; i < 300; i++) {
        snprintf(names[i], sizeof names[i], "n%d", i);
        assert_int_equal(t2c_name_set_add(s, names[i], i, NULL), 0);
    }
    int64_t prev = -1;
    assert_int_equal(t2c_name_set_add(s, "n123", 999, &prev), 1);
    assert_int_equal(prev, 123);
    t2c_name_set_free(s);
    t2c_name_set_free(NULL);
}

/* ---------------------------------------------------------------- writer: exact bytes */
static void test_writer_exact_bytes(void **state)
{
    (void)state;
    /* meta {a: 1}; tensor w int4 [3] = {-1, 2, -8} raw -> payload 2F 08. Worked by hand from the spec. */
    static const uint8_t want_tables[70] = {
        1, 0, 0, 0,                                     /* n_meta */
        1, 0, 0, 0, 'a', 1, 1, 0, 0, 0, 0, 0, 0, 0,    /* "a": int 1 */
        1, 0, 0, 0,                                     /* n_tensors */
        1, 0, 0, 0, 'w', 1, 1, 3, 0, 0, 0, 0, 0, 0, 0, /* "w" int4 rank 1 [3] */
        1,                                              /* raw */
        0, 0, 0, 0, 0, 0, 0, 0,                         /* offset 0 */
        2, 0, 0, 0, 0, 0, 0, 0,                         /* stored size 2 */
        0xa0, 0xa2, 0x1e, 0x5d,                         /* crc32(2F 08) */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,             /* no inputs, outputs, ops */
    };
    t2c_writer *w = t2c_writer_new();
    t2c_error err = {0};
    t2c_attr a = {.name = "a", .type = T2C_ATTR_INT, .v.i = 1};
    assert_int_equal(t2c_writer_meta(w, &a, &err), T2C_OK);
    const int8_t v[3] = {-1, 2, -8};
    const int64_t dims[1] = {3};
    assert_int_equal(t2c_writer_tensor(w, "w", T2C_INT4, 1, dims, v, 0, &err), T2C_OK);
    uint8_t *buf = NULL;
    size_t n = 0;
    assert_int_equal(t2c_writer_to_buffer(w, &buf, &n, &err), T2C_OK);
    assert_int_equal(n, 194); /* data_offset = roundup(64 + 70, 64) = 192, + 2 payload bytes */
    assert_memory_equal(buf, "T2CMODEL", 8);
    assert_int_equal(t2c_le_get_u16(buf + 8), 1);
    assert_int_equal(t2c_le_get_u16(buf + 10), 0);
    assert_int_equal(t2c_le_get_u32(buf + 12), 0);
    assert_int_equal(t2c_le_get_u64(buf + 16), 70);
    assert_int_equal(t2c_le_get_u64(buf + 24), 192);
    assert_int_equal(t2c_le_get_u64(buf + 32), 2);
    assert_int_equal(t2c_le_get_u32(buf + 40), 0x6432bb47u); /* from Python's zlib.crc32 */
    for (int i = 44; i < 64; i++)
        assert_int_equal(buf[i], 0);
    assert_memory_equal(buf + 64, want_tables, 70);
    for (int i = 134; i < 192; i++)
        assert_int_equal(buf[i], 0);
    assert_int_equal(buf[192], 0x2f);
    assert_int_equal(buf[193], 0x08);

    t2c_container *c = read_ok(buf, n);
    assert_int_equal(c->n_tensors, 1);
    const int8_t *d = c->tensors[0].data;
    assert_int_equal(d[0], -1);
    assert_int_equal(d[1], 2);
    assert_int_equal(d[2], -8);
    t2c_container_free(c);
    free(buf);
    t2c_writer_free(w);
}

static void test_empty_model(void **state)
{
    (void)state;
    t2c_writer *w = t2c_writer_new();
    uint8_t *buf;
    size_t n;
    assert_int_equal(t2c_writer_to_buffer(w, &buf, &n, NULL), T2C_OK);
    assert_int_equal(n, 128); /* 64 header + 20 bytes of tables, padded to 128; no data */
    assert_int_equal(t2c_le_get_u64(buf + 16), 20);
    assert_int_equal(t2c_le_get_u64(buf + 24), 128);
    assert_int_equal(t2c_le_get_u64(buf + 32), 0);
    t2c_container *c = read_ok(buf, n);
    assert_int_equal(c->n_meta + c->n_tensors + c->n_inputs + c->n_outputs + c->n_ops, 0);
    assert_string_equal(c->source, "m.t2c");
    t2c_container_free(c);
    free(buf);
    t2c_writer_free(w);
}

/* ---------------------------------------------------------------- round trip */
static const int8_t s_i4[5] = {-8, 7, -1, 0, 3};
static const uint8_t s_u4[7] = {15, 0, 9, 1, 2, 14, 8};
static const int8_t s_i8[6] = {-128, 127, -1, 0, 1, -2};
static const uint8_t s_u8[3] = {255, 0, 128};
static const int16_t s_i16[3] = {-32768, 32767, -2};
static const int32_t s_i32[2] = {INT32_MIN, INT32_MAX};
static const int64_t s_i64[3] = {INT64_MIN, INT64_MAX, -1};
static const float s_f32[2] = {1.5f, -0.25f};
static int8_t s_big[4096];   /* compressible: mostly zero */
static int8_t s_big4[1001];  /* int4, odd count, compressible */
static const int64_t s_ints[3] = {-1, 0, 9007199254740993LL};
static const double s_floats[2] = {0.5, -2.25};
static const char *const s_strs[3] = {"cat", "", "d\xc3\xb6g"};

static uint8_t *build_sample(int level, size_t *size)
{
    for (int i = 0; i < 4096; i++)
        s_big[i] = (int8_t)(i % 97 == 0 ? -(i % 5) : 0);
    for (int i = 0; i < 1001; i++)
        s_big4[i] = (int8_t)(i % 13 == 0 ? -8 : (i % 7 == 0 ? 7 : 0));
    t2c_writer *w = t2c_writer_new();
    t2c_error err = {0};
    assert_non_null(w);
    const t2c_attr meta[] = {
        {.name = "model.name", .type = T2C_ATTR_STRING, .v.s = "sample"},
        {.name = "input.zero_point", .type = T2C_ATTR_INT, .v.i = -128},
        {.name = "input.scale", .type = T2C_ATTR_FLOAT, .v.f = -0.0},
        {.name = "preprocess.crop", .type = T2C_ATTR_INTS, .count = 3, .v.ints = s_ints},
        {.name = "preprocess.mean", .type = T2C_ATTR_FLOATS, .count = 2, .v.floats = s_floats},
        {.name = "labels", .type = T2C_ATTR_STRINGS, .count = 3, .v.strs = s_strs},
        {.name = "empty.ints", .type = T2C_ATTR_INTS, .count = 0},
        {.name = "empty.strings", .type = T2C_ATTR_STRINGS, .count = 0},
        {.name = "empty.string", .type = T2C_ATTR_STRING, .v.s = ""},
    };
    for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++)
        assert_int_equal(t2c_writer_meta(w, &meta[i], &err), T2C_OK);
    const int64_t d14[] = {1, 4}, d5[] = {5}, d7[] = {7}, d23[] = {2, 3}, d3[] = {3}, d131[] = {1, 3, 1},
                  d2[] = {2}, dbig[] = {4, 32, 32}, dbig4[] = {7, 11, 13}, d1[] = {1};
    assert_int_equal(t2c_writer_tensor(w, "x", T2C_INT8, 2, d14, NULL, 0, &err), T2C_OK);
    assert_int_equal(t2c_writer_tensor(w, "w.int4", T2C_INT4, 1, d5, s_i4, level, &err), T2C_OK);
    assert_int_equal(t2c_writer_tensor(w, "w.uint4", T2C_UINT4, 1, d7, s_u4, level, &err), T2C_OK);
    assert_int_equal(t2c_writer_tensor(w, "w.int8", T2C_INT8, 2, d23, s_i8, level, &err), T2C_OK);
    assert_int_equal(t2c_writer_tensor(w, "w.uint8", T2C_UINT8, 1, d3, s_u8, level, &err), T2C_OK);
    assert_int_equal(t2c_writer_tensor(w, "w.int16", T2C_INT16, 3, d131, s_i16, level, &err), T2C_OK);
    assert_int_equal(t2c_writer_tensor(w, "w.int32", T2C_INT32, 1, d2, s_i32, level, &err), T2C_OK);
    assert_int_equal(t2c_writer_tensor(w, "w.int64", T2C_INT64, 1, d3, s_i64, level, &err), T2C_OK);
    assert_int_equal(t2c_writer_tensor(w, "w.float32", T2C_FLOAT32, 1, d2, s_f32, level, &err), T2C_OK);
    assert_int_equal(t2c_writer_tensor(w, "w.big", T2C_INT8, 3, dbig, s_big, level, &err), T2C_OK);
    assert_int_equal(t2c_writer_tensor(w, "w.big4", T2C_INT4, 3, dbig4, s_big4, level, &err), T2C_OK);
    const int32_t scalar = -7;
    assert_int_equal(t2c_writer_tensor(w, "scalar", T2C_INT32, 0, NULL, &scalar, 0, &err), T2C_OK);
    assert_int_equal(t2c_writer_tensor(w, "one", T2C_INT8, 1, d1, s_i8, level, &err), T2C_OK);
    assert_int_equal(t2c_writer_tensor(w, "y", T2C_INT32, 2, d14, NULL, 0, &err), T2C_OK);
    const char *in[] = {"x"}, *out[] = {"y"}, *op_in[] = {"x", "w.int8", ""};
    const int64_t stride[] = {1, 2};
    const t2c_attr attrs[] = {
        {.name = "stride", .type = T2C_ATTR_INTS, .count = 2, .v.ints = stride},
        {.name = "rounding", .type = T2C_ATTR_STRING, .v.s = "half_even"},
        {.name = "scale", .type = T2C_ATTR_FLOAT, .v.f = 0.1},
        {.name = "acc_bits", .type = T2C_ATTR_INT, .v.i = 32},
        {.name = "mean", .type = T2C_ATTR_FLOATS, .count = 2, .v.floats = s_floats},
        {.name = "names", .type = T2C_ATTR_STRINGS, .count = 3, .v.strs = s_strs},
    };
    assert_int_equal(t2c_writer_graph_io(w, 1, in, 1, out, &err), T2C_OK);
    assert_int_equal(t2c_writer_op(w, "linear", "fc", 3, op_in, 1, out, 6, attrs, &err), T2C_OK);
    assert_int_equal(t2c_writer_op(w, "relu", "act", 1, out + 0, 0, NULL, 0, NULL, &err), T2C_OK);
    uint8_t *buf = NULL;
    assert_int_equal(t2c_writer_to_buffer(w, &buf, size, &err), T2C_OK);
    t2c_writer_free(w);
    return buf;
}

static const t2c_container_tensor *find(const t2c_container *c, const char *name)
{
    for (int i = 0; i < c->n_tensors; i++)
        if (strcmp(c->tensors[i].name, name) == 0)
            return &c->tensors[i];
    fail_msg("tensor %s missing", name);
    return NULL;
}

static void check_sample(const t2c_container *c, int zstd)
{
    assert_int_equal(c->version_major, 1);
    assert_int_equal(c->version_minor, 0);
    assert_int_equal(c->n_meta, 9);
    assert_string_equal(c->meta[0].name, "model.name");
    assert_int_equal(c->meta[0].type, T2C_ATTR_STRING);
    assert_string_equal(c->meta[0].v.s, "sample");
    assert_int_equal(c->meta[0].count, 6);
    assert_int_equal(c->meta[1].v.i, -128);
    assert_int_equal(c->meta[2].type, T2C_ATTR_FLOAT);
    assert_true(c->meta[2].v.f == 0.0 && signbit(c->meta[2].v.f)); /* -0.0 kept bit-exact */
    assert_int_equal(c->meta[3].type, T2C_ATTR_INTS);
    assert_int_equal(c->meta[3].count, 3);
    assert_int_equal(c->meta[3].v.ints[2], 9007199254740993LL);
    assert_int_equal(c->meta[3].v.ints[0], -1);
    assert_true(c->meta[4].v.floats[0] == 0.5 && c->meta[4].v.floats[1] == -2.25);
    assert_int_equal(c->meta[5].count, 3);
    assert_string_equal(c->meta[5].v.strs[0], "cat");
    assert_string_equal(c->meta[5].v.strs[1], "");
    assert_string_equal(c->meta[5].v.strs[2], "d\xc3\xb6g");
    assert_int_equal(c->meta[6].type, T2C_ATTR_INTS);
    assert_int_equal(c->meta[6].count, 0);
    assert_int_equal(c->meta[7].type, T2C_ATTR_STRINGS);
    assert_int_equal(c->meta[7].count, 0);
    assert_string_equal(c->meta[8].v.s, "");

    assert_int_equal(c->n_tensors, 14);
    const t2c_container_tensor *t = find(c, "x");
    assert_int_equal(t->storage, T2C_STORAGE_NONE);
    assert_null(t->data);
    assert_int_equal(t->rank, 2);
    assert_int_equal(t->dims[1], 4);
    t = find(c, "w.int4");
    assert_int_equal(t->dtype, T2C_INT4);
    assert_int_equal(t->storage, T2C_STORAGE_RAW); /* 3 bytes: a zstd frame is never smaller */
    assert_int_equal(t->stored_size, 3);
    assert_memory_equal(t->data, s_i4, 5);
    t = find(c, "w.uint4");
    assert_memory_equal(t->data, s_u4, 7);
    assert_memory_equal(find(c, "w.int8")->data, s_i8, 6);
    assert_memory_equal(find(c, "w.uint8")->data, s_u8, 3);
    t = find(c, "w.int16");
    assert_int_equal(t->rank, 3);
    assert_int_equal(((const int16_t *)t->data)[0], -32768);
    assert_int_equal(((const int16_t *)t->data)[1], 32767);
    assert_int_equal(((const int16_t *)t->data)[2], -2);
    assert_int_equal(((const int32_t *)find(c, "w.int32")->data)[0], INT32_MIN);
    assert_int_equal(((const int32_t *)find(c, "w.int32")->data)[1], INT32_MAX);
    assert_true(((const int64_t *)find(c, "w.int64")->data)[0] == INT64_MIN);
    assert_true(((const int64_t *)find(c, "w.int64")->data)[1] == INT64_MAX);
    assert_true(((const float *)find(c, "w.float32")->data)[1] == -0.25f);
    t = find(c, "w.big");
    assert_int_equal(t->storage, zstd ? T2C_STORAGE_ZSTD : T2C_STORAGE_RAW);
    assert_true(zstd ? t->stored_size < 4096 : t->stored_size == 4096);
    assert_int_equal(t->offset % 64, 0);
    assert_memory_equal(t->data, s_big, 4096);
    t = find(c, "w.big4");
    assert_int_equal(t->storage, zstd ? T2C_STORAGE_ZSTD : T2C_STORAGE_RAW);
    assert_true(zstd ? t->stored_size < 501 : t->stored_size == 501);
    assert_memory_equal(t->data, s_big4, 1001);
    t = find(c, "scalar");
    assert_int_equal(t->rank, 0);
    assert_int_equal(*(const int32_t *)t->data, -7);
    assert_int_equal(find(c, "one")->storage, T2C_STORAGE_RAW);

    assert_int_equal(c->n_inputs, 1);
    assert_string_equal(c->inputs[0], "x");
    assert_int_equal(c->n_outputs, 1);
    assert_string_equal(c->outputs[0], "y");
    assert_int_equal(c->n_ops, 2);
    const t2c_container_op *op = &c->ops[0];
    assert_string_equal(op->type, "linear");
    assert_string_equal(op->name, "fc");
    assert_int_equal(op->n_inputs, 3);
    assert_string_equal(op->inputs[1], "w.int8");
    assert_string_equal(op->inputs[2], "");
    assert_int_equal(op->n_outputs, 1);
    assert_int_equal(op->n_attrs, 6);
    assert_string_equal(op->attrs[0].name, "stride");
    assert_int_equal(op->attrs[0].v.ints[1], 2);
    assert_string_equal(op->attrs[1].v.s, "half_even");
    assert_true(op->attrs[2].v.f == 0.1);
    assert_int_equal(op->attrs[3].v.i, 32);
    assert_string_equal(op->attrs[5].v.strs[2], "d\xc3\xb6g");
    assert_int_equal(c->ops[1].n_outputs, 0);
    assert_int_equal(c->ops[1].n_attrs, 0);
}

static void test_round_trip_raw(void **state)
{
    (void)state;
    size_t n;
    uint8_t *buf = build_sample(0, &n);
    t2c_container *c = read_ok(buf, n);
    check_sample(c, 0);
    t2c_container_free(c);
    free(buf);
}

static void test_round_trip_zstd(void **state)
{
    (void)state;
    size_t n;
    uint8_t *buf = build_sample(T2C_ZSTD_DEFAULT_LEVEL, &n);
    t2c_container *c = read_ok(buf, n);
    check_sample(c, 1);
    t2c_container_free(c);
    size_t n2;
    uint8_t *again = build_sample(T2C_ZSTD_DEFAULT_LEVEL, &n2); /* deterministic */
    assert_int_equal(n, n2);
    assert_memory_equal(buf, again, n);
    free(again);
    free(buf);
}

/* Data section layout: payloads in tensor order at multiples of 64, zero gaps, nothing after the last. */
static void test_data_layout(void **state)
{
    (void)state;
    size_t n;
    uint8_t *buf = build_sample(0, &n);
    t2c_container *c = read_ok(buf, n);
    uint64_t data_offset = t2c_le_get_u64(buf + 24), data_size = t2c_le_get_u64(buf + 32);
    assert_int_equal(data_offset, (64 + t2c_le_get_u64(buf + 16) + 63) / 64 * 64);
    uint64_t expect = 0, end = 0;
    for (int i = 0; i < c->n_tensors; i++) {
        const t2c_container_tensor *t = &c->tensors[i];
        if (t->storage == T2C_STORAGE_NONE)
            continue;
        for (uint64_t k = end; k < t->offset; k++)
            assert_int_equal(buf[data_offset + k], 0);
        expect = (end + 63) / 64 * 64;
        assert_int_equal(t->offset, expect);
        end = t->offset + t->stored_size;
    }
    assert_int_equal(end, data_size);
    assert_int_equal(data_offset + data_size, n);
    t2c_container_free(c);
    free(buf);
}

static void test_minor_version_accepted(void **state)
{
    (void)state;
    size_t n;
    uint8_t *buf = build_sample(0, &n);
    t2c_le_put_u16(buf + 10, 7);
    t2c_container *c = read_ok(buf, n);
    assert_int_equal(c->version_minor, 7);
    t2c_container_free(c);
    free(buf);
}

/* ---------------------------------------------------------------- files */
static char tmpdir[64];

static int setup_dir(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/t2c_container_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static int count_tmp_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp."))
            n++;
    if (d)
        closedir(d);
    return n;
}

static t2c_writer *small_writer(void)
{
    t2c_writer *w = t2c_writer_new();
    const int8_t v[4] = {1, -2, 3, -4};
    const int64_t d[1] = {4};
    assert_int_equal(t2c_writer_tensor(w, "w", T2C_INT8, 1, d, v, 0, NULL), T2C_OK);
    return w;
}

static void test_save_and_read_file(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/m.t2c", tmpdir);
    t2c_writer *w = small_writer();
    t2c_error err = {0};
    assert_int_equal(t2c_writer_save(w, path, &err), T2C_OK);
    assert_int_equal(count_tmp_files(tmpdir), 0);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    mode_t mask = umask(0);
    umask(mask);
    assert_int_equal(sb.st_mode & 0777, 0666 & ~mask); /* not mkstemp's 0600 */
    uint8_t *buf;
    size_t n;
    assert_int_equal(t2c_writer_to_buffer(w, &buf, &n, &err), T2C_OK);
    assert_int_equal((size_t)sb.st_size, n);
    FILE *f = fopen(path, "rb");
    uint8_t *disk = malloc(n);
    assert_int_equal(fread(disk, 1, n, f), n);
    fclose(f);
    assert_memory_equal(disk, buf, n);
    free(disk);
    free(buf);

    t2c_container *c = NULL;
    assert_int_equal(t2c_container_read_file(path, NULL, &c, &err), T2C_OK);
    assert_string_equal(c->source, path);
    assert_int_equal(((const int8_t *)c->tensors[0].data)[3], -4);
    t2c_container_free(c);

    /* limit checked from the file size before reading */
    t2c_load_limits lim = {.max_file_bytes = 100};
    assert_int_equal(t2c_container_read_file(path, &lim, &c, &err), T2C_ERR_LIMIT);
    char want[256];
    snprintf(want, sizeof want, "%s: file is %llu bytes, over the limit of 100", path, (unsigned long long)n);
    assert_string_equal(err.message, want);
    assert_null(c);
    t2c_writer_free(w);
}

static void test_read_file_errors(void **state)
{
    (void)state;
    char path[128], want[256];
    t2c_container *c = NULL;
    t2c_error err = {0};
    snprintf(path, sizeof path, "%s/missing.t2c", tmpdir);
    assert_int_equal(t2c_container_read_file(path, NULL, &c, &err), T2C_ERR_IO);
    snprintf(want, sizeof want, "%s: %s", path, strerror(ENOENT));
    assert_string_equal(err.message, want);
    assert_int_equal(t2c_container_read_file(tmpdir, NULL, &c, &err), T2C_ERR_IO);
    snprintf(want, sizeof want, "%s: %s", tmpdir, strerror(EISDIR));
    assert_string_equal(err.message, want);
    /* an empty file on disk */
    snprintf(path, sizeof path, "%s/empty.t2c", tmpdir);
    fclose(fopen(path, "wb"));
    assert_int_equal(t2c_container_read_file(path, NULL, &c, &err), T2C_ERR_FORMAT);
    snprintf(want, sizeof want, "%s: file is empty", path);
    assert_string_equal(err.message, want);
    assert_null(c);
}

static void test_save_errors(void **state)
{
    (void)state;
    char path[128], want[256];
    t2c_writer *w = small_writer();
    t2c_error err = {0};
    /* no such directory */
    snprintf(path, sizeof path, "%s/nodir/m.t2c", tmpdir);
    assert_int_equal(t2c_writer_save(w, path, &err), T2C_ERR_IO);
    snprintf(want, sizeof want, "%s: %s", path, strerror(ENOENT));
    assert_string_equal(err.message, want);
    /* the target is a directory: rename fails, the temp file is removed */
    snprintf(path, sizeof path, "%s/adir", tmpdir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(t2c_writer_save(w, path, &err), T2C_ERR_IO);
    snprintf(want, sizeof want, "%s: %s", path, strerror(EISDIR));
    assert_string_equal(err.message, want);
    assert_int_equal(count_tmp_files(tmpdir), 0);
    /* a failing write (file size limit: EFBIG, as ENOSPC would) keeps the old file intact */
    snprintf(path, sizeof path, "%s/keep.t2c", tmpdir);
    FILE *f = fopen(path, "wb");
    fputs("old", f);
    fclose(f);
    struct rlimit old;
    getrlimit(RLIMIT_FSIZE, &old);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = {.rlim_cur = 100, .rlim_max = old.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    t2c_status st = t2c_writer_save(w, path, &err); /* the file is 128 + 4 bytes */
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    assert_int_equal(st, T2C_ERR_IO);
    snprintf(want, sizeof want, "%s: %s", path, strerror(EFBIG));
    assert_string_equal(err.message, want);
    assert_int_equal(count_tmp_files(tmpdir), 0);
    char got[8] = {0};
    f = fopen(path, "rb");
    assert_int_equal(fread(got, 1, sizeof got, f), 3);
    fclose(f);
    assert_string_equal(got, "old");
    t2c_writer_free(w);
}

/* ---------------------------------------------------------------- writer argument checks */
static void expect_writer(t2c_status st, const t2c_error *err, const char *msg)
{
    if (st != T2C_ERR_INVALID_ARG || strcmp(err->message, msg) != 0)
        print_error("got %d '%s'\nwant '%s'\n", st, err->message, msg);
    assert_int_equal(st, T2C_ERR_INVALID_ARG);
    assert_string_equal(err->message, msg);
}

static void test_writer_rejects(void **state)
{
    (void)state;
    t2c_writer *w = small_writer();
    t2c_error err = {0};
    const int64_t d4[] = {4}, d0[] = {0}, dbig[] = {(int64_t)1 << 41}, d9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    const int64_t dnumel[] = {(int64_t)1 << 40, 512};
    const int8_t v[4] = {0};
    expect_writer(t2c_writer_tensor(w, "w", T2C_INT8, 1, d4, v, 0, &err), &err,
                  "t2c writer: tensor 'w': duplicate tensor name (also tensor #0)");
    expect_writer(t2c_writer_tensor(w, "", T2C_INT8, 1, d4, v, 0, &err), &err, "t2c writer: tensor name is empty");
    expect_writer(t2c_writer_tensor(w, "\xc0\xaf", T2C_INT8, 1, d4, v, 0, &err), &err,
                  "t2c writer: tensor name is not valid UTF-8");
    expect_writer(t2c_writer_tensor(w, "a", T2C_INT8, 1, d0, v, 0, &err), &err,
                  "t2c writer: tensor 'a': dim 0 = 0 is outside 1..2^40");
    expect_writer(t2c_writer_tensor(w, "a", T2C_INT8, 1, dbig, NULL, 0, &err), &err,
                  "t2c writer: tensor 'a': dim 0 = 2199023255552 is outside 1..2^40");
    expect_writer(t2c_writer_tensor(w, "a", T2C_INT8, 2, dnumel, NULL, 0, &err), &err,
                  "t2c writer: tensor 'a': element count exceeds 2^48");
    expect_writer(t2c_writer_tensor(w, "a", T2C_INT8, 9, d9, NULL, 0, &err), &err,
                  "t2c writer: tensor 'a': rank 9 is outside 0..8");
    expect_writer(t2c_writer_tensor(w, "a", (t2c_dtype)9, 1, d4, v, 0, &err), &err,
                  "t2c writer: tensor 'a': unknown dtype 9");
    char want[120];
    snprintf(want, sizeof want, "t2c writer: tensor 'a': zstd level 99 is outside %d..%d", ZSTD_minCLevel(),
             ZSTD_maxCLevel());
    expect_writer(t2c_writer_tensor(w, "a", T2C_INT8, 1, d4, v, 99, &err), &err, want);
    const int8_t i4bad[4] = {0, 7, -8, 8};
    expect_writer(t2c_writer_tensor(w, "a", T2C_INT4, 1, d4, i4bad, 0, &err), &err,
                  "t2c writer: tensor 'a': an element is outside the int4 range");

    t2c_attr nan = {.name = "s", .type = T2C_ATTR_FLOAT, .v.f = NAN};
    expect_writer(t2c_writer_meta(w, &nan, &err), &err, "t2c writer: metadata 's': float value is not finite");
    t2c_attr k = {.name = "k", .type = T2C_ATTR_INT, .v.i = 1};
    assert_int_equal(t2c_writer_meta(w, &k, &err), T2C_OK);
    expect_writer(t2c_writer_meta(w, &k, &err), &err, "t2c writer: metadata 'k': duplicate key (also metadata #0)");
    t2c_attr badtype = {.name = "t", .type = (t2c_attr_type)7};
    expect_writer(t2c_writer_meta(w, &badtype, &err), &err, "t2c writer: metadata 't': unknown value type 7");

    const char *io[] = {"w"};
    t2c_attr attrs[2] = {{.name = "a", .type = T2C_ATTR_INT, .v.i = 1}, {.name = "a", .type = T2C_ATTR_INT}};
    expect_writer(t2c_writer_op(w, "relu", "r", 1, io, 1, io, 2, attrs, &err), &err,
                  "t2c writer: op 'r': attribute 'a': duplicate key (also attribute #0)");
    t2c_attr empty = {.name = "e", .type = T2C_ATTR_INTS, .count = 0};
    expect_writer(t2c_writer_op(w, "relu", "r", 1, io, 1, io, 1, &empty, &err), &err,
                  "t2c writer: op 'r': attribute 'e': empty array (arrays may be empty only in metadata)");
    const double inf[1] = {INFINITY};
    t2c_attr finf = {.name = "f", .type = T2C_ATTR_FLOATS, .count = 1, .v.floats = inf};
    expect_writer(t2c_writer_op(w, "relu", "r", 1, io, 1, io, 1, &finf, &err), &err,
                  "t2c writer: op 'r': attribute 'f': float #0 is not finite");
    const char *empty_out[] = {""};
    expect_writer(t2c_writer_op(w, "relu", "r", 1, io, 1, empty_out, 0, NULL, &err), &err,
                  "t2c writer: op 'r': output #0 is empty");
    assert_int_equal(t2c_writer_op(w, "relu", "r", 1, io, 1, io, 1, attrs, &err), T2C_OK);
    expect_writer(t2c_writer_op(w, "relu", "r", 1, io, 1, io, 0, NULL, &err), &err,
                  "t2c writer: op 'r': duplicate op name (also op #0)");
    expect_writer(t2c_writer_graph_io(w, 1, empty_out, 0, NULL, &err), &err, "t2c writer: graph input #0 is empty");

    /* the failed calls left nothing behind: the file still reads back with 1 tensor, 1 meta, 1 op */
    uint8_t *buf;
    size_t n;
    assert_int_equal(t2c_writer_to_buffer(w, &buf, &n, &err), T2C_OK);
    t2c_container *c = read_ok(buf, n);
    assert_int_equal(c->n_tensors, 1);
    assert_int_equal(c->n_meta, 1);
    assert_int_equal(c->n_ops, 1);
    t2c_container_free(c);
    free(buf);
    t2c_writer_free(w);
    t2c_writer_free(NULL);
}

/* ---------------------------------------------------------------- header rejections */
static void test_reject_empty_and_short(void **state)
{
    (void)state;
    expect_reject("", 0, T2C_ERR_FORMAT, "m.t2c: file is empty");
    expect_reject("T2CMODEL", 8, T2C_ERR_FORMAT, "m.t2c: truncated header: file is 8 bytes, the header is 64");
}

static void test_reject_every_prefix(void **state)
{
    (void)state;
    size_t n;
    uint8_t *buf = build_sample(T2C_ZSTD_DEFAULT_LEVEL, &n);
    uint64_t tables_end = 64 + t2c_le_get_u64(buf + 16);
    char want[200];
    for (size_t len = 0; len < n; len++) {
        uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees any overread */
        memcpy(copy, buf, len);
        if (len == 0)
            snprintf(want, sizeof want, "m.t2c: file is empty");
        else if (len < 64)
            snprintf(want, sizeof want, "m.t2c: truncated header: file is %zu bytes, the header is 64", len);
        else if (len < tables_end)
            snprintf(want, sizeof want,
                     "m.t2c: truncated file: tables section of %llu bytes ends past the end of the file (%zu bytes)",
                     (unsigned long long)(tables_end - 64), len);
        else
            snprintf(want, sizeof want,
                     "m.t2c: truncated file: data section of %llu bytes at offset %llu ends past the end of the file (%zu bytes)",
                     (unsigned long long)t2c_le_get_u64(buf + 32), (unsigned long long)t2c_le_get_u64(buf + 24), len);
        expect_reject(copy, len, T2C_ERR_FORMAT, want);
        free(copy);
    }
    free(buf);
}

static void test_reject_header_fields(void **state)
{
    (void)state;
    size_t n;
    uint8_t *buf = build_sample(0, &n);
    uint8_t *b = malloc(n + 64);

    memcpy(b, buf, n);
    b[0] = 'X';
    expect_reject(b, n, T2C_ERR_FORMAT, "m.t2c: not a .t2c file (bad magic)");

    memcpy(b, buf, n);
    t2c_le_put_u16(b + 8, 2);
    expect_reject(b, n, T2C_ERR_UNSUPPORTED, "m.t2c: unsupported format version 2.0 (this reader reads 1.x)");
    t2c_le_put_u16(b + 8, 0);
    expect_reject(b, n, T2C_ERR_UNSUPPORTED, "m.t2c: unsupported format version 0.0 (this reader reads 1.x)");

    memcpy(b, buf, n);
    t2c_le_put_u32(b + 12, 1);
    expect_reject(b, n, T2C_ERR_UNSUPPORTED, "m.t2c: unsupported flags 0x00000001");

    memcpy(b, buf, n);
    b[50] = 1;
    expect_reject(b, n, T2C_ERR_FORMAT, "m.t2c: reserved header byte 50 is not zero");

    /* tables_size beyond the file; overflow-prone huge values */
    memcpy(b, buf, n);
    t2c_le_put_u64(b + 16, UINT64_MAX);
    char want[300];
    snprintf(want, sizeof want,
             "m.t2c: truncated file: tables section of 18446744073709551615 bytes ends past the end of the file (%zu bytes)", n);
    expect_reject(b, n, T2C_ERR_FORMAT, want);

    uint64_t ts = t2c_le_get_u64(buf + 16), doff = t2c_le_get_u64(buf + 24), dsize = t2c_le_get_u64(buf + 32);
    memcpy(b, buf, n);
    t2c_le_put_u64(b + 24, doff + 1);
    snprintf(want, sizeof want, "m.t2c: data_offset %llu is not a multiple of 64", (unsigned long long)doff + 1);
    expect_reject(b, n, T2C_ERR_FORMAT, want);

    memcpy(b, buf, n);
    t2c_le_put_u64(b + 24, doff - 64);
    snprintf(want, sizeof want, "m.t2c: data_offset %llu overlaps the tables section (which ends at %llu)",
             (unsigned long long)doff - 64, (unsigned long long)(64 + ts));
    if (doff - 64 < 64 + ts)
        expect_reject(b, n, T2C_ERR_FORMAT, want);

    memcpy(b, buf, n);
    t2c_le_put_u64(b + 32, UINT64_MAX - 5); /* data_offset + data_size wraps around */
    snprintf(want, sizeof want,
             "m.t2c: truncated file: data section of 18446744073709551610 bytes at offset %llu ends past the end of the file (%zu bytes)",
             (unsigned long long)doff, n);
    expect_reject(b, n, T2C_ERR_FORMAT, want);

    memcpy(b, buf, n);
    memset(b + n, 0, 3);
    expect_reject(b, n + 3, T2C_ERR_FORMAT, "m.t2c: 3 unexpected bytes after the data section");

    memcpy(b, buf, n);
    b[64 + 5] ^= 0x20; /* a byte of the first metadata key */
    snprintf(want, sizeof want, "m.t2c: tables CRC mismatch (stored 0x%08x, computed 0x%08x)",
             t2c_le_get_u32(buf + 40), t2c_crc32(0, b + 64, (size_t)ts));
    expect_reject(b, n, T2C_ERR_FORMAT, want);

    if (64 + ts < doff) {
        memcpy(b, buf, n);
        b[doff - 1] = 1;
        snprintf(want, sizeof want, "m.t2c: padding byte at offset %llu before the data section is not zero",
                 (unsigned long long)doff - 1);
        expect_reject(b, n, T2C_ERR_FORMAT, want);
    }

    /* payload CRC: flip a byte of the first payload (w.int4 at data offset 0) */
    memcpy(b, buf, n);
    b[doff] ^= 0x01;
    t2c_container *c = read_ok(buf, n);
    snprintf(want, sizeof want, "m.t2c: tensor 'w.int4': payload CRC mismatch (stored 0x%08x, computed 0x%08x)",
             c->tensors[1].crc32, t2c_crc32(0, b + doff, 3));
    t2c_container_free(c);
    expect_reject(b, n, T2C_ERR_FORMAT, want);
    (void)dsize;
    free(b);
    free(buf);
}

/* ---------------------------------------------------------------- table and payload rejections */
static void test_reject_shapes(void **state)
{
    (void)state;
    size_t n;
    const uint64_t d0[] = {2, 0};
    n = one_tensor_file("t", T2C_INT8, 2, d0, 0, 0, 0, 0, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: tensor 't': dim 1 = 0 is outside 1..2^40");
    const uint64_t d62[] = {(uint64_t)1 << 62};
    n = one_tensor_file("t", T2C_INT8, 1, d62, 0, 0, 0, 0, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: tensor 't': dim 0 = 4611686018427387904 is outside 1..2^40");
    const uint64_t dneg[] = {UINT64_MAX};
    n = one_tensor_file("t", T2C_INT8, 1, dneg, 0, 0, 0, 0, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: tensor 't': dim 0 = -1 is outside 1..2^40");
    /* each dim legal, the product not: 2^40 * 2^40 would overflow 2^64 after two more */
    const uint64_t dover[] = {(uint64_t)1 << 40, (uint64_t)1 << 40, (uint64_t)1 << 40};
    n = one_tensor_file("t", T2C_INT8, 3, dover, 0, 0, 0, 0, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: tensor 't': element count exceeds 2^48");
    const uint64_t d48[] = {(uint64_t)1 << 40, 256}; /* exactly 2^48 elements: legal, but over the memory limit */
    n = one_tensor_file("t", T2C_INT8, 2, d48, 0, 0, 0, 0, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_LIMIT,
                  "m.t2c: tensor 't': 281474976710656 bytes in memory exceed the limit of 4294967296");
    const uint64_t d9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    n = one_tensor_file("t", T2C_INT8, 9, d9, 0, 0, 0, 0, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: tensor 't': rank 9 exceeds 8");
    const uint64_t d1[] = {1};
    n = one_tensor_file("t", 9, 1, d1, 0, 0, 0, 0, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_UNSUPPORTED, "m.t2c: tensor 't': unknown dtype 9");
    n = one_tensor_file("t", 0, 1, d1, 0, 0, 0, 0, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_UNSUPPORTED, "m.t2c: tensor 't': unknown dtype 0");
    n = one_tensor_file("t", T2C_INT8, 1, d1, 3, 0, 0, 0, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_UNSUPPORTED, "m.t2c: tensor 't': unknown storage 3");
    /* a name with a control character is escaped in the message */
    n = one_tensor_file("a\nb", 9, 1, d1, 0, 0, 0, 0, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_UNSUPPORTED, "m.t2c: tensor 'a\\x0ab': unknown dtype 9");
}

static void test_reject_payloads(void **state)
{
    (void)state;
    size_t n;
    const uint64_t d4[] = {4}, d3[] = {3};
    uint8_t data[256] = {1, 2, 3, 4};
    uint32_t crc4 = t2c_crc32(0, data, 4);
    n = one_tensor_file("w1", T2C_INT8, 1, d4, 1, 0, 4, crc4, data, 4);
    t2c_container *c = read_ok(file_buf, n);
    assert_int_equal(((const int8_t *)c->tensors[0].data)[3], 4);
    t2c_container_free(c);

    n = one_tensor_file("w1", T2C_INT8, 1, d4, 1, 0, 10, crc4, data, 8);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: tensor 'w1': stored size 10 at offset 0 exceeds data section (8 bytes)");
    n = one_tensor_file("w1", T2C_INT8, 1, d4, 1, 128, 4, crc4, data, 8);
    expect_reject(file_buf, n, T2C_ERR_FORMAT,
                  "m.t2c: tensor 'w1': payload offset 128 is past the end of the data section (8 bytes)");
    n = one_tensor_file("w1", T2C_INT8, 1, d4, 1, 4, 4, crc4, data, 8);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: tensor 'w1': payload offset 4 is not a multiple of 64");
    n = one_tensor_file("w1", T2C_INT8, 1, d4, 1, 64, UINT64_MAX, crc4, data, 68);
    expect_reject(file_buf, n, T2C_ERR_FORMAT,
                  "m.t2c: tensor 'w1': stored size 18446744073709551615 at offset 64 exceeds data section (68 bytes)");
    n = one_tensor_file("w1", T2C_INT8, 1, d4, 1, 0, 3, t2c_crc32(0, data, 3), data, 4);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: tensor 'w1': raw payload is 3 bytes, expected 4 (4 int8 elements)");
    n = one_tensor_file("w1", T2C_INT8, 1, d4, 1, 0, 4, crc4 ^ 1, data, 4);
    char want[200];
    snprintf(want, sizeof want, "m.t2c: tensor 'w1': payload CRC mismatch (stored 0x%08x, computed 0x%08x)", crc4 ^ 1,
             crc4);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, want);

    /* int4 pad nibble: 3 elements in 2 bytes, the high nibble of byte 1 must be 0 */
    uint8_t i4[2] = {0x21, 0x13};
    n = one_tensor_file("q", T2C_INT4, 1, d3, 1, 0, 2, t2c_crc32(0, i4, 2), i4, 2);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: tensor 'q': int4 pad nibble is not zero");
    n = one_tensor_file("q", T2C_UINT4, 1, d3, 1, 0, 2, t2c_crc32(0, i4, 2), i4, 2);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: tensor 'q': uint4 pad nibble is not zero");
    i4[1] = 0x03;
    n = one_tensor_file("q", T2C_INT4, 1, d3, 1, 0, 2, t2c_crc32(0, i4, 2), i4, 2);
    c = read_ok(file_buf, n);
    const int8_t *q = c->tensors[0].data;
    assert_int_equal(q[0], 1);
    assert_int_equal(q[1], 2);
    assert_int_equal(q[2], 3);
    t2c_container_free(c);
}

static void test_reject_zstd(void **state)
{
    (void)state;
    size_t n;
    uint8_t raw[4] = {5, 6, 7, 8}, z[128];
    const uint64_t d4[] = {4}, d3[] = {3}, d5[] = {5};
    size_t zn = ZSTD_compress(z, sizeof z, raw, 4, 3);
    assert_false(ZSTD_isError(zn));
    /* a valid zstd payload even though it is larger than raw: readers accept it */
    n = one_tensor_file("z", T2C_INT8, 1, d4, 2, 0, zn, t2c_crc32(0, z, zn), z, zn);
    t2c_container *c = read_ok(file_buf, n);
    assert_int_equal(((const int8_t *)c->tensors[0].data)[2], 7);
    t2c_container_free(c);

    /* declared shape 3 elements, frame content size 4 */
    n = one_tensor_file("z", T2C_INT8, 1, d3, 2, 0, zn, t2c_crc32(0, z, zn), z, zn);
    expect_reject(file_buf, n, T2C_ERR_FORMAT,
                  "m.t2c: tensor 'z': zstd content size 4 does not match the raw size 3 (3 int8 elements)");
    /* int4 [5] is 3 bytes raw */
    n = one_tensor_file("z", T2C_INT4, 1, d5, 2, 0, zn, t2c_crc32(0, z, zn), z, zn);
    expect_reject(file_buf, n, T2C_ERR_FORMAT,
                  "m.t2c: tensor 'z': zstd content size 4 does not match the raw size 3 (5 int4 elements)");

    /* frame without content size */
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
    uint8_t zs[128];
    ZSTD_outBuffer ob = {zs, sizeof zs, 0};
    ZSTD_inBuffer ib = {raw, 4, 0};
    assert_int_equal(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end), 0);
    ZSTD_freeCCtx(cc);
    assert_int_equal(ZSTD_getFrameContentSize(zs, ob.pos), ZSTD_CONTENTSIZE_UNKNOWN);
    n = one_tensor_file("z", T2C_INT8, 1, d4, 2, 0, ob.pos, t2c_crc32(0, zs, ob.pos), zs, ob.pos);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: tensor 'z': zstd frame does not declare its content size");

    /* not a frame */
    n = one_tensor_file("z", T2C_INT8, 1, d4, 2, 0, 4, t2c_crc32(0, raw, 4), raw, 4);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: tensor 'z': payload is not a zstd frame");

    /* two frames back to back */
    uint8_t two[256];
    memcpy(two, z, zn);
    memcpy(two + zn, z, zn);
    n = one_tensor_file("z", T2C_INT8, 1, d4, 2, 0, 2 * zn, t2c_crc32(0, two, 2 * zn), two, 2 * zn);
    char want[200];
    snprintf(want, sizeof want, "m.t2c: tensor 'z': %zu bytes after the zstd frame", zn);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, want);

    /* a frame cut short */
    n = one_tensor_file("z", T2C_INT8, 1, d4, 2, 0, zn - 1, t2c_crc32(0, z, zn - 1), z, zn - 1);
    t2c_error err;
    t2c_container *cx = NULL;
    assert_int_equal(t2c_container_read_buffer(file_buf, n, "m.t2c", NULL, &cx, &err), T2C_ERR_FORMAT);
    assert_non_null(strstr(err.message, "m.t2c: tensor 'z': corrupt zstd frame ("));

    /* int4 with a non-zero pad nibble inside a zstd frame */
    uint8_t p4[3] = {0x21, 0x43, 0x65};
    zn = ZSTD_compress(z, sizeof z, p4, 3, 3);
    n = one_tensor_file("z", T2C_INT4, 1, d5, 2, 0, zn, t2c_crc32(0, z, zn), z, zn);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: tensor 'z': int4 pad nibble is not zero");
}

static void test_reject_values(void **state)
{
    (void)state;
    static bb t;
    size_t n;
    /* metadata with NaN */
    t.n = 0;
    put32(&t, 1);
    putstr(&t, "input.scale");
    put8(&t, T2C_ATTR_FLOAT);
    double nanv = NAN;
    uint64_t bits;
    memcpy(&bits, &nanv, 8);
    put64(&t, bits);
    put32(&t, 0); put32(&t, 0); put32(&t, 0); put32(&t, 0);
    n = craft(&t, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: metadata 'input.scale': float value is not finite");

    /* op attribute NaN inside a float array */
    t.n = 0;
    put32(&t, 0); put32(&t, 0); put32(&t, 0); put32(&t, 0);
    put32(&t, 1);
    putstr(&t, "requantize");
    putstr(&t, "rq");
    put8(&t, 0);
    put8(&t, 0);
    put16(&t, 1);
    putstr(&t, "scales");
    put8(&t, T2C_ATTR_FLOATS);
    put32(&t, 2);
    double one = 1.0, inf = -INFINITY;
    memcpy(&bits, &one, 8);
    put64(&t, bits);
    memcpy(&bits, &inf, 8);
    put64(&t, bits);
    n = craft(&t, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: op 'rq': attribute 'scales': float #1 is not finite");

    /* unknown value type */
    t.n = 0;
    put32(&t, 1);
    putstr(&t, "k");
    put8(&t, 7);
    put32(&t, 0); put32(&t, 0); put32(&t, 0); put32(&t, 0);
    n = craft(&t, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_UNSUPPORTED, "m.t2c: metadata 'k': unknown value type 7");

    /* empty array in an op attribute */
    t.n = 0;
    put32(&t, 0); put32(&t, 0); put32(&t, 0); put32(&t, 0);
    put32(&t, 1);
    putstr(&t, "conv2d");
    putstr(&t, "c");
    put8(&t, 0);
    put8(&t, 0);
    put16(&t, 1);
    putstr(&t, "stride");
    put8(&t, T2C_ATTR_INTS);
    put32(&t, 0);
    n = craft(&t, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT,
                  "m.t2c: op 'c': attribute 'stride': empty array (arrays may be empty only in metadata)");
}

static void test_reject_strings(void **state)
{
    (void)state;
    static bb t;
    size_t n;
    const uint64_t d1[] = {1};
    /* NUL in a tensor name */
    t.n = 0;
    put32(&t, 0);
    put32(&t, 1);
    put32(&t, 3);
    putbytes(&t, "a\0b", 3);
    put8(&t, T2C_INT8); put8(&t, 1); put64(&t, 1); put8(&t, 0);
    put32(&t, 0); put32(&t, 0); put32(&t, 0);
    n = craft(&t, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: tensor #0: name contains a NUL byte");

    /* invalid UTF-8 in a metadata string value */
    t.n = 0;
    put32(&t, 1);
    putstr(&t, "model.name");
    put8(&t, T2C_ATTR_STRING);
    put32(&t, 2);
    putbytes(&t, "\xc0\xaf", 2);
    put32(&t, 0); put32(&t, 0); put32(&t, 0); put32(&t, 0);
    n = craft(&t, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: metadata 'model.name': string value is not valid UTF-8");

    /* empty op name */
    t.n = 0;
    put32(&t, 0); put32(&t, 0); put32(&t, 0); put32(&t, 0);
    put32(&t, 1);
    putstr(&t, "relu");
    putstr(&t, "");
    put8(&t, 0); put8(&t, 0); put16(&t, 0);
    n = craft(&t, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: op #0: name is empty");

    /* string longer than 65535 */
    t.n = 0;
    put32(&t, 1);
    put32(&t, 70000);
    /* the bytes are not even there: the length is checked first */
    put32(&t, 0); put32(&t, 0); put32(&t, 0); put32(&t, 0);
    n = craft(&t, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: metadata #0: key: string length 70000 exceeds 65535");

    /* string running past the tables section */
    t.n = 0;
    put32(&t, 0);
    put32(&t, 1);
    put32(&t, 50);
    putbytes(&t, "abcdefghij", 10);
    n = craft(&t, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT,
                  "m.t2c: tensor #0: truncated tables section: name needs 50 bytes at offset 76, 10 left");

    /* graph output name empty */
    t.n = 0;
    put32(&t, 0);
    put32(&t, 1);
    put_tensor(&t, "x", T2C_INT8, 1, d1, 0, 0, 0, 0);
    put32(&t, 1);
    putstr(&t, "x");
    put32(&t, 1);
    putstr(&t, "");
    put32(&t, 0);
    n = craft(&t, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: graph output #0: name is empty");
}

static void test_reject_duplicates(void **state)
{
    (void)state;
    static bb t;
    size_t n;
    const uint64_t d1[] = {1};
    /* tensors */
    t.n = 0;
    put32(&t, 0);
    put32(&t, 3);
    put_tensor(&t, "a", T2C_INT8, 1, d1, 0, 0, 0, 0);
    put_tensor(&t, "b", T2C_INT8, 1, d1, 0, 0, 0, 0);
    put_tensor(&t, "a", T2C_INT8, 1, d1, 0, 0, 0, 0);
    put32(&t, 0); put32(&t, 0); put32(&t, 0);
    n = craft(&t, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: tensor 'a': duplicate tensor name (also tensor #0)");
    /* metadata keys */
    t.n = 0;
    put32(&t, 2);
    putstr(&t, "k"); put8(&t, T2C_ATTR_INT); put64(&t, 1);
    putstr(&t, "k"); put8(&t, T2C_ATTR_INT); put64(&t, 2);
    put32(&t, 0); put32(&t, 0); put32(&t, 0); put32(&t, 0);
    n = craft(&t, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: metadata 'k': duplicate key (also metadata #0)");
    /* ops and attribute keys */
    t.n = 0;
    put32(&t, 0); put32(&t, 0); put32(&t, 0); put32(&t, 0);
    put32(&t, 2);
    putstr(&t, "relu"); putstr(&t, "r"); put8(&t, 0); put8(&t, 0); put16(&t, 0);
    putstr(&t, "relu"); putstr(&t, "r"); put8(&t, 0); put8(&t, 0); put16(&t, 0);
    n = craft(&t, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: op 'r': duplicate op name (also op #0)");
    t.n = 0;
    put32(&t, 0); put32(&t, 0); put32(&t, 0); put32(&t, 0);
    put32(&t, 1);
    putstr(&t, "relu"); putstr(&t, "r"); put8(&t, 0); put8(&t, 0); put16(&t, 3);
    putstr(&t, "x"); put8(&t, T2C_ATTR_INT); put64(&t, 1);
    putstr(&t, "y"); put8(&t, T2C_ATTR_INT); put64(&t, 1);
    putstr(&t, "x"); put8(&t, T2C_ATTR_STRING); putstr(&t, "");
    n = craft(&t, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: op 'r': attribute 'x': duplicate key (also attribute #0)");
}

static void test_reject_leftover_and_counts(void **state)
{
    (void)state;
    static bb t;
    size_t n;
    t.n = 0;
    put32(&t, 0); put32(&t, 0); put32(&t, 0); put32(&t, 0); put32(&t, 0);
    put8(&t, 0xAB);
    put8(&t, 0xCD);
    n = craft(&t, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT, "m.t2c: 2 bytes left over at the end of the tables section");

    /* a count far larger than the bytes that follow: rejected before allocating */
    t.n = 0;
    put32(&t, 0x10000000);
    put32(&t, 0);
    n = craft(&t, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT,
                  "m.t2c: metadata: truncated tables section: metadata count 268435456 needs at least 2684354560 bytes at offset 68, 4 left");
    t.n = 0;
    put32(&t, 0);
    put32(&t, 0xFFFFFFFF);
    n = craft(&t, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_LIMIT, "m.t2c: tensor table: tensor count 4294967295 exceeds the limit of 1000000");
    t2c_load_limits lim = {.max_tensors = 0xFFFFFFFF};
    expect_reject_lim(file_buf, n, &lim, T2C_ERR_FORMAT,
                      "m.t2c: tensor table: truncated tables section: tensor count 4294967295 needs at least 34359738360 bytes at offset 72, 0 left");
    /* u8 input count of an op */
    t.n = 0;
    put32(&t, 0); put32(&t, 0); put32(&t, 0); put32(&t, 0);
    put32(&t, 1);
    putstr(&t, "add"); putstr(&t, "a"); put8(&t, 200);
    put32(&t, 0);
    n = craft(&t, NULL, 0);
    expect_reject(file_buf, n, T2C_ERR_FORMAT,
                  "m.t2c: op 'a': truncated tables section: input count 200 needs at least 800 bytes at offset 97, 4 left");
}

static void test_reject_limits(void **state)
{
    (void)state;
    size_t n;
    uint8_t *buf = build_sample(0, &n);
    t2c_load_limits lim = {.max_tensors = 13};
    expect_reject_lim(buf, n, &lim, T2C_ERR_LIMIT, "m.t2c: tensor table: tensor count 14 exceeds the limit of 13");
    lim = (t2c_load_limits){.max_ops = 1};
    expect_reject_lim(buf, n, &lim, T2C_ERR_LIMIT, "m.t2c: graph: op count 2 exceeds the limit of 1");
    lim = (t2c_load_limits){.max_tensor_bytes = 4095};
    expect_reject_lim(buf, n, &lim, T2C_ERR_LIMIT, "m.t2c: tensor 'w.big': 4096 bytes in memory exceed the limit of 4095");
    lim = (t2c_load_limits){.max_file_bytes = 1000};
    char want[120];
    snprintf(want, sizeof want, "m.t2c: file is %zu bytes, over the limit of 1000", n);
    expect_reject_lim(buf, n, &lim, T2C_ERR_LIMIT, want);
    lim = (t2c_load_limits){.max_tensors = 14, .max_ops = 2, .max_tensor_bytes = 4096, .max_file_bytes = n};
    t2c_container *c = NULL;
    assert_int_equal(t2c_container_read_buffer(buf, n, "m.t2c", &lim, &c, NULL), T2C_OK); /* exactly at the limits */
    t2c_container_free(c);
    free(buf);
}

/* Every byte of the tables section changed (CRC fixed so the parser sees it), and every
 * truncation of the tables section (sizes fixed): no crash, no leak (ASan), a message that
 * starts with the file name. */
static void test_mutations(void **state)
{
    (void)state;
    size_t n;
    uint8_t *buf = build_sample(T2C_ZSTD_DEFAULT_LEVEL, &n);
    uint64_t ts = t2c_le_get_u64(buf + 16);
    uint8_t *b = malloc(n);
    static const uint8_t xors[] = {0x01, 0x80, 0xFF, 0x7F};
    int rejected = 0, total = 0;
    for (uint64_t i = 64; i < 64 + ts; i++)
        for (size_t k = 0; k < sizeof xors; k++) {
            memcpy(b, buf, n);
            b[i] ^= xors[k];
            fix_crc(b);
            t2c_container *c = NULL;
            t2c_error err = {0};
            t2c_status st = t2c_container_read_buffer(b, n, "m.t2c", NULL, &c, &err);
            total++;
            if (st != T2C_OK) {
                rejected++;
                assert_null(c);
                assert_true(strncmp(err.message, "m.t2c: ", 7) == 0);
                assert_null(strchr(err.message, '\n'));
            } else {
                t2c_container_free(c);
            }
        }
    assert_true(rejected > total / 2);
    /* shorter tables sections, the data section moved along so only the tables are cut */
    for (uint64_t cut = 0; cut < ts; cut++) {
        static bb t;
        memcpy(t.b, buf + 64, (size_t)cut);
        t.n = (size_t)cut;
        size_t m = craft(&t, NULL, 0);
        t2c_container *c = NULL;
        t2c_error err = {0};
        assert_int_not_equal(t2c_container_read_buffer(file_buf, m, "m.t2c", NULL, &c, &err), T2C_OK);
        assert_null(c);
        assert_true(strncmp(err.message, "m.t2c: ", 7) == 0);
    }
    free(b);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32),
        cmocka_unit_test(test_le),
        cmocka_unit_test(test_int4_pack),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_name_set),
        cmocka_unit_test(test_writer_exact_bytes),
        cmocka_unit_test(test_empty_model),
        cmocka_unit_test(test_round_trip_raw),
        cmocka_unit_test(test_round_trip_zstd),
        cmocka_unit_test(test_data_layout),
        cmocka_unit_test(test_minor_version_accepted),
        cmocka_unit_test(test_save_and_read_file),
        cmocka_unit_test(test_read_file_errors),
        cmocka_unit_test(test_save_errors),
        cmocka_unit_test(test_writer_rejects),
        cmocka_unit_test(test_reject_empty_and_short),
        cmocka_unit_test(test_reject_every_prefix),
        cmocka_unit_test(test_reject_header_fields),
        cmocka_unit_test(test_reject_shapes),
        cmocka_unit_test(test_reject_payloads),
        cmocka_unit_test(test_reject_zstd),
        cmocka_unit_test(test_reject_values),
        cmocka_unit_test(test_reject_strings),
        cmocka_unit_test(test_reject_duplicates),
        cmocka_unit_test(test_reject_leftover_and_counts),
        cmocka_unit_test(test_reject_limits),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
