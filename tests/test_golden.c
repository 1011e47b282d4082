/* test_golden.c — golden file encodings, word packing, layouts and the writer, against
 * hand-worked bytes (golden/README.md has the same examples). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "t2c.h"
#include "t2c_container.h"
#include "t2c_golden.h"

/* Encode `n` values and compare the whole file with `want` (`want_len` bytes). */
static void check_bytes(t2c_golden_format fmt, t2c_dtype dt, const t2c_golden_packing *pk, const int64_t *v,
                        int64_t n, const void *want, size_t want_len)
{
    t2c_golden_file_spec spec;
    t2c_error err;
    assert_int_equal(t2c_golden_spec_init(&spec, fmt, dt, pk, n, &err), T2C_OK);
    uint8_t *out = NULL;
    size_t size = 0;
    assert_int_equal(t2c_golden_encode(&spec, v, &out, &size, &err), T2C_OK);
    if (size != want_len || memcmp(out, want, size) != 0) {
        fprintf(stderr, "got %zu bytes: '%.*s'\nwant %zu: '%.*s'\n", size, (int)size, (const char *)out, want_len,
                (int)want_len, (const char *)want);
        fail();
    }
    free(out);
}

static void check_text(t2c_golden_format fmt, t2c_dtype dt, const t2c_golden_packing *pk, const int64_t *v,
                       int64_t n, const char *want)
{
    check_bytes(fmt, dt, pk, v, n, want, strlen(want));
}

/* ---------------------------------------------------------------- hex / bin */

static void test_int4_one_per_word(void **state)
{
    (void)state;
    const int64_t v[3] = {-8, 7, -1};
    t2c_golden_packing pk = {0};
    check_text(T2C_GOLDEN_HEX, T2C_INT4, &pk, v, 3, "8\n7\nf\n"); /* an int4 element is one hex digit */
    check_text(T2C_GOLDEN_BIN, T2C_INT4, &pk, v, 3, "1000\n0111\n1111\n");
    check_text(T2C_GOLDEN_DEC, T2C_INT4, &pk, v, 3, "-8\n7\n-1\n");
    const int64_t u[2] = {15, 0};
    check_text(T2C_GOLDEN_HEX, T2C_UINT4, &pk, u, 2, "f\n0\n");
    check_text(T2C_GOLDEN_DEC, T2C_UINT4, &pk, u, 2, "15\n0\n");
}

static void test_int4_four_per_16bit_word(void **state)
{
    (void)state;
    const int64_t v[3] = {-8, 7, -1};
    /* LSB first: e0=8 in bits 3..0, e1=7 in 7..4, e2=f in 11..8, pad 0 in 15..12 -> 0x0f78 */
    t2c_golden_packing pk = {.elems_per_word = 4, .word_bits = 16};
    check_text(T2C_GOLDEN_HEX, T2C_INT4, &pk, v, 3, "0f78\n");
    check_text(T2C_GOLDEN_BIN, T2C_INT4, &pk, v, 3, "0000111101111000\n");
    /* MSB first: e0 in bits 15..12 -> 0x87f0 */
    pk.msb_first = 1;
    check_text(T2C_GOLDEN_HEX, T2C_INT4, &pk, v, 3, "87f0\n");
    /* pad -1 fills the last slot with f */
    pk.msb_first = 0;
    pk.pad_value = -1;
    check_text(T2C_GOLDEN_HEX, T2C_INT4, &pk, v, 3, "ff78\n");
    /* word width alone: 16 / 4 = 4 per word */
    t2c_golden_packing pw = {.word_bits = 16};
    check_text(T2C_GOLDEN_HEX, T2C_INT4, &pw, v, 3, "0f78\n");
    /* elements per word alone: W = 4 x 4 */
    t2c_golden_packing pn = {.elems_per_word = 4};
    check_text(T2C_GOLDEN_HEX, T2C_INT4, &pn, v, 3, "0f78\n");
}

static void test_int8_words_and_padding(void **state)
{
    (void)state;
    const int64_t v[3] = {-1, 2, -128};
    t2c_golden_packing pk = {.elems_per_word = 2};
    /* word0 = e1<<8 | e0 = 0x02ff; word1 = pad<<8 | e2 = 0x0080 */
    check_text(T2C_GOLDEN_HEX, T2C_INT8, &pk, v, 3, "02ff\n0080\n");
    pk.pad_value = -1;
    check_text(T2C_GOLDEN_HEX, T2C_INT8, &pk, v, 3, "02ff\nff80\n");
    pk.msb_first = 1;
    check_text(T2C_GOLDEN_HEX, T2C_INT8, &pk, v, 3, "ff02\n80ff\n");
    check_text(T2C_GOLDEN_BIN, T2C_INT8, &pk, v, 3, "1111111100000010\n1000000011111111\n");
    /* decimal: the elements of a word on one line, in index order; the last line padded */
    check_text(T2C_GOLDEN_DEC, T2C_INT8, &pk, v, 3, "-1 2\n-128 -1\n");
    /* a pad value outside the dtype is cut to its low 8 bits: 0x1ff -> 0xff */
    pk.pad_value = 0x1ff;
    pk.msb_first = 0;
    check_text(T2C_GOLDEN_HEX, T2C_INT8, &pk, v, 3, "02ff\nff80\n");
}

static void test_wide_words_unused_bits(void **state)
{
    (void)state;
    /* 2 int4 in a 12-bit word: 3 hex digits, the top one unused (0) */
    const int64_t v[2] = {1, 2};
    t2c_golden_packing pk = {.elems_per_word = 2, .word_bits = 12};
    check_text(T2C_GOLDEN_HEX, T2C_INT4, &pk, v, 2, "021\n");
    check_text(T2C_GOLDEN_BIN, T2C_INT4, &pk, v, 2, "000000100001\n");
    pk.msb_first = 1; /* used bits 7..0: e0 in 7..4 */
    check_text(T2C_GOLDEN_HEX, T2C_INT4, &pk, v, 2, "012\n");
    /* 10-bit word, one int8: 3 hex digits, 10 binary digits */
    const int64_t w[1] = {-1};
    t2c_golden_packing p10 = {.word_bits = 10};
    check_text(T2C_GOLDEN_HEX, T2C_INT8, &p10, w, 1, "0ff\n");
    check_text(T2C_GOLDEN_BIN, T2C_INT8, &p10, w, 1, "0011111111\n");
    /* 64-bit elements */
    const int64_t big[2] = {-1, INT64_MIN};
    t2c_golden_packing p0 = {0};
    check_text(T2C_GOLDEN_HEX, T2C_INT64, &p0, big, 2, "ffffffffffffffff\n8000000000000000\n");
    check_text(T2C_GOLDEN_DEC, T2C_INT64, &p0, big, 2, "-1\n-9223372036854775808\n");
    const int64_t i32[3] = {INT32_MIN, INT32_MAX, 0};
    t2c_golden_packing p2 = {.elems_per_word = 2};
    check_text(T2C_GOLDEN_HEX, T2C_INT32, &p2, i32, 3, "7fffffff80000000\n0000000000000000\n");
    check_text(T2C_GOLDEN_DEC, T2C_INT32, &p2, i32, 3, "-2147483648 2147483647\n0 0\n");
    /* a 128-bit word of 16 int8 (a bus wider than 64 bits) */
    int64_t b16[16];
    for (int i = 0; i < 16; i++)
        b16[i] = i - 8; /* -8..7 */
    t2c_golden_packing p128 = {.word_bits = 128};
    check_text(T2C_GOLDEN_HEX, T2C_INT8, &p128, b16, 16, "0706050403020100fffefdfcfbfaf9f8\n");
}

static void test_address_lines(void **state)
{
    (void)state;
    const int64_t v[5] = {1, 2, 3, 4, 5};
    t2c_golden_packing pk = {.address_lines = 1};
    check_text(T2C_GOLDEN_HEX, T2C_INT8, &pk, v, 5, "@0\n01\n02\n03\n04\n05\n");
    pk.address_base = 0x10;
    pk.address_every = 2; /* last address 0x14: 2 digits */
    check_text(T2C_GOLDEN_HEX, T2C_INT8, &pk, v, 5, "@10\n01\n02\n@12\n03\n04\n@14\n05\n");
    check_text(T2C_GOLDEN_BIN, T2C_INT8, &pk, v, 5,
               "@10\n00000001\n00000010\n@12\n00000011\n00000100\n@14\n00000101\n");
    /* addresses count words, not elements */
    pk.elems_per_word = 2;
    pk.address_every = 1;
    pk.address_base = 0xff;
    check_text(T2C_GOLDEN_HEX, T2C_INT8, &pk, v, 5, "@0ff\n0201\n@100\n0403\n@101\n0005\n");
    /* other formats have no address lines */
    check_text(T2C_GOLDEN_DEC, T2C_INT8, &pk, v, 5, "1 2\n3 4\n5 0\n");
}

/* ---------------------------------------------------------------- COE, MIF, raw, npy */

static void test_coe_mif(void **state)
{
    (void)state;
    const int64_t v[2] = {1, -1};
    t2c_golden_packing pk = {0};
    check_text(T2C_GOLDEN_COE, T2C_INT8, &pk, v, 2,
               "memory_initialization_radix=16;\nmemory_initialization_vector=\n01,\nff;\n");
    const int64_t u[3] = {10, 255, 0};
    check_text(T2C_GOLDEN_MIF, T2C_UINT8, &pk, u, 3,
               "WIDTH=8;\nDEPTH=3;\n\nADDRESS_RADIX=HEX;\nDATA_RADIX=HEX;\n\nCONTENT BEGIN\n"
               "  0 : 0a;\n  1 : ff;\n  2 : 00;\nEND;\n");
    /* a comment line, words of 2 x int4 (DEPTH counts words) */
    const int64_t w[3] = {-8, 7, -1};
    t2c_golden_file_spec spec;
    t2c_error err;
    t2c_golden_packing p2 = {.elems_per_word = 2};
    assert_int_equal(t2c_golden_spec_init(&spec, T2C_GOLDEN_MIF, T2C_INT4, &p2, 3, &err), T2C_OK);
    snprintf(spec.comment, sizeof spec.comment, "op x\nnewline");
    uint8_t *out;
    size_t size;
    assert_int_equal(t2c_golden_encode(&spec, w, &out, &size, &err), T2C_OK);
    const char *want = "-- op x newline\nWIDTH=8;\nDEPTH=2;\n\nADDRESS_RADIX=HEX;\nDATA_RADIX=HEX;\n\n"
                       "CONTENT BEGIN\n  0 : 78;\n  1 : 0f;\nEND;\n";
    assert_int_equal(size, strlen(want));
    assert_memory_equal(out, want, size);
    free(out);
    spec.format = T2C_GOLDEN_COE;
    assert_int_equal(t2c_golden_encode(&spec, w, &out, &size, &err), T2C_OK);
    want = "; op x newline\nmemory_initialization_radix=16;\nmemory_initialization_vector=\n78,\n0f;\n";
    assert_int_equal(size, strlen(want));
    assert_memory_equal(out, want, size);
    free(out);
}

static void test_raw(void **state)
{
    (void)state;
    t2c_golden_packing pk = {0};
    const int64_t s16[2] = {0x1234, -2};
    const uint8_t w16[4] = {0x34, 0x12, 0xfe, 0xff};
    check_bytes(T2C_GOLDEN_RAW, T2C_INT16, &pk, s16, 2, w16, 4);
    const int64_t i4[3] = {1, 2, -1};
    const uint8_t one[3] = {0x01, 0x02, 0x0f}; /* one int4 per 4-bit word: a byte each, high bits 0 */
    check_bytes(T2C_GOLDEN_RAW, T2C_INT4, &pk, i4, 3, one, 3);
    t2c_golden_packing p2 = {.elems_per_word = 2};
    const uint8_t lsb[2] = {0x21, 0x0f}; /* the container's INT4 packing */
    check_bytes(T2C_GOLDEN_RAW, T2C_INT4, &p2, i4, 3, lsb, 2);
    p2.msb_first = 1;
    const uint8_t msb[2] = {0x12, 0xf0};
    check_bytes(T2C_GOLDEN_RAW, T2C_INT4, &p2, i4, 3, msb, 2);
    t2c_golden_packing p12 = {.elems_per_word = 2, .word_bits = 12}; /* 2 bytes per word */
    const uint8_t w12[4] = {0x21, 0x00, 0x0f, 0x00};
    check_bytes(T2C_GOLDEN_RAW, T2C_INT4, &p12, i4, 3, w12, 4);
    t2c_golden_packing p32 = {.word_bits = 32}; /* 2 int16 per word, little-endian bytes */
    const int64_t h[3] = {0x0102, 0x0304, -1};
    const uint8_t w32[8] = {0x02, 0x01, 0x04, 0x03, 0xff, 0xff, 0x00, 0x00};
    check_bytes(T2C_GOLDEN_RAW, T2C_INT16, &p32, h, 3, w32, 8);
}

static void test_npy(void **state)
{
    (void)state;
    t2c_golden_file_spec spec;
    t2c_error err;
    t2c_golden_packing pk = {.elems_per_word = 4}; /* ignored by npy */
    const int64_t v[6] = {1, -1, 2, -2, 3, -3};
    assert_int_equal(t2c_golden_spec_init(&spec, T2C_GOLDEN_NPY, T2C_INT16, &pk, 6, &err), T2C_OK);
    assert_int_equal(spec.elems_per_word, 1);
    spec.npy_rank = 2;
    spec.npy_dims[0] = 2;
    spec.npy_dims[1] = 3;
    uint8_t *out;
    size_t size;
    assert_int_equal(t2c_golden_encode(&spec, v, &out, &size, &err), T2C_OK);
    /* as numpy.save: the 59-byte dict, 20 spaces of growth room (21 - digits of "2"), spaces
     * to 127 bytes, '\n': header length 118 = 0x76 */
    assert_int_equal(size, 128 + 12);
    assert_memory_equal(out, "\x93NUMPY\x01\x00\x76\x00", 10);
    const char *dict = "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }";
    assert_memory_equal(out + 10, dict, strlen(dict));
    for (int i = 10 + (int)strlen(dict); i < 127; i++)
        assert_int_equal(out[i], ' ');
    assert_int_equal(out[127], '\n');
    const uint8_t data[12] = {1, 0, 0xff, 0xff, 2, 0, 0xfe, 0xff, 3, 0, 0xfd, 0xff};
    assert_memory_equal(out + 128, data, 12);
    free(out);
    /* rank 1, int4 stored as int8 */
    const int64_t q[3] = {-8, 7, -1};
    assert_int_equal(t2c_golden_spec_init(&spec, T2C_GOLDEN_NPY, T2C_INT4, NULL, 3, &err), T2C_OK);
    spec.npy_rank = 1;
    spec.npy_dims[0] = 3;
    assert_int_equal(t2c_golden_encode(&spec, q, &out, &size, &err), T2C_OK);
    const char *d1 = "{'descr': '|i1', 'fortran_order': False, 'shape': (3,), }";
    assert_memory_equal(out + 10, d1, strlen(d1));
    assert_int_equal(size, 131);
    assert_int_equal(out[128], 0xf8);
    assert_int_equal(out[129], 7);
    assert_int_equal(out[130], 0xff);
    free(out);
}

static void test_spec_errors(void **state)
{
    (void)state;
    t2c_golden_file_spec spec;
    t2c_error err;
    t2c_golden_packing pk = {.word_bits = 8};
    assert_int_equal(t2c_golden_spec_init(&spec, T2C_GOLDEN_HEX, T2C_INT32, &pk, 4, &err), T2C_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "8-bit word cannot hold a 32-bit int32"));
    t2c_golden_packing pn = {.elems_per_word = 3, .word_bits = 16};
    assert_int_equal(t2c_golden_spec_init(&spec, T2C_GOLDEN_HEX, T2C_INT8, &pn, 4, &err), T2C_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "do not fit a 16-bit word"));
    assert_int_equal(t2c_golden_spec_init(&spec, T2C_GOLDEN_HEX, T2C_INT8, NULL, 0, &err), T2C_ERR_INVALID_ARG);
    assert_int_equal(t2c_golden_spec_init(&spec, (t2c_golden_format)9, T2C_INT8, NULL, 1, &err), T2C_ERR_INVALID_ARG);
    assert_int_equal(t2c_golden_spec_init(&spec, T2C_GOLDEN_HEX, T2C_DTYPE_INVALID, NULL, 1, &err), T2C_ERR_DTYPE);
    t2c_golden_packing pa = {.address_lines = 1, .address_base = UINT64_MAX - 1};
    assert_int_equal(t2c_golden_spec_init(&spec, T2C_GOLDEN_HEX, T2C_INT8, &pa, 4, &err), T2C_ERR_INVALID_ARG);
    /* names */
    assert_int_equal(t2c_golden_format_from_name("mif"), T2C_GOLDEN_MIF);
    assert_int_equal(t2c_golden_format_from_name("MIF"), -1);
    assert_string_equal(t2c_golden_format_ext(T2C_GOLDEN_BIN), ".memb");
    assert_int_equal(t2c_golden_base_from_name("gemm_hwc"), T2C_GOLDEN_GEMM_HWC);
}

static void test_pad_in_dtype(void **state)
{
    (void)state;
    assert_int_equal(t2c_golden_pad_in_dtype(-1, T2C_UINT8), 255);
    assert_int_equal(t2c_golden_pad_in_dtype(200, T2C_INT8), -56);
    assert_int_equal(t2c_golden_pad_in_dtype(0x1f, T2C_INT4), -1);
    assert_int_equal(t2c_golden_pad_in_dtype(8, T2C_INT4), -8);
    assert_int_equal(t2c_golden_pad_in_dtype(-1, T2C_UINT4), 15);
    assert_int_equal(t2c_golden_pad_in_dtype(0x18000, T2C_INT16), -32768);
    assert_int_equal(t2c_golden_pad_in_dtype(-5, T2C_INT64), -5);
}

/* ---------------------------------------------------------------- layouts */

static void gather_check(const t2c_golden_layout *l, const t2c_op_view *op, const char *role, int rank,
                         const int64_t *dims, const void *data, t2c_dtype dt, int64_t pad, const int64_t *want,
                         int64_t n, const char *formula)
{
    t2c_golden_plan p;
    t2c_error err;
    assert_int_equal(t2c_golden_plan_tensor(l, op, role, rank, dims, &p, &err), T2C_OK);
    assert_int_equal(p.stored_numel, n);
    int64_t *out = calloc((size_t)n, sizeof *out);
    assert_int_equal(t2c_golden_gather(&p, data, dt, pad, out, &err), T2C_OK);
    for (int64_t i = 0; i < n; i++) {
        if (out[i] != want[i])
            fprintf(stderr, "element %lld: got %lld want %lld\n", (long long)i, (long long)out[i], (long long)want[i]);
        assert_int_equal(out[i], want[i]);
    }
    free(out);
    if (formula) {
        char buf[256];
        assert_string_equal(t2c_golden_plan_formula(&p, buf, sizeof buf), formula);
    }
}

static void test_layout_nhwc(void **state)
{
    (void)state;
    int8_t x[12];
    for (int i = 0; i < 12; i++)
        x[i] = (int8_t)i; /* [1, C=2, H=2, W=3]: value c*6 + h*3 + w */
    const int64_t dims[4] = {1, 2, 2, 3};
    t2c_golden_layout l = {.base = T2C_GOLDEN_NHWC};
    const int64_t want[12] = {0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11};
    gather_check(&l, NULL, "input", 4, dims, x, T2C_INT8, 0, want, 12, "V[s0][s3][s1][s2]");
    t2c_golden_layout nchw = {0};
    const int64_t ident[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    gather_check(&nchw, NULL, "input", 4, dims, x, T2C_INT8, 0, ident, 12, "V[s0][s1][s2][s3]");
    /* gemm on a rank-4 tensor that is not a conv operand: [N, C, H*W] */
    t2c_golden_layout gemm = {.base = T2C_GOLDEN_GEMM};
    gather_check(&gemm, NULL, "output", 4, dims, x, T2C_INT8, 0, ident, 12, "V[s0][s1][s2]");
    /* nhwc leaves other ranks alone: int16 [2, 3] */
    const int16_t m[6] = {-1, 2, -3, 4, -5, 6};
    const int64_t md[2] = {2, 3}, mw[6] = {-1, 2, -3, 4, -5, 6};
    gather_check(&l, NULL, "input", 2, md, m, T2C_INT16, 0, mw, 6, "V[s0][s1]");
}

static void test_layout_tiles(void **state)
{
    (void)state;
    int32_t v[15];
    for (int i = 0; i < 15; i++)
        v[i] = i; /* [3, 5]: r*5 + c */
    const int64_t dims[2] = {3, 5};
    const int64_t P = 99;
    t2c_golden_layout l = {.tile_rows = 2, .tile_cols = 2};
    const int64_t rowrow[24] = {0, 1, 5, 6, 2, 3, 7, 8, 4, P, 9, P, 10, 11, P, P, 12, 13, P, P, 14, P, P, P};
    gather_check(&l, NULL, "weight", 2, dims, v, T2C_INT32, P, rowrow, 24, "V[s0*2+s2][s1*2+s3]");
    l.tile_col_major = 1;
    const int64_t colrow[24] = {0, 1, 5, 6, 10, 11, P, P, 2, 3, 7, 8, 12, 13, P, P, 4, P, 9, P, 14, P, P, P};
    gather_check(&l, NULL, "weight", 2, dims, v, T2C_INT32, P, colrow, 24, "V[s1*2+s2][s0*2+s3]");
    l.tile_col_major = 0;
    l.inner_col_major = 1;
    const int64_t rowcol[24] = {0, 5, 1, 6, 2, 7, 3, 8, 4, 9, P, P, 10, P, 11, P, 12, P, 13, P, 14, P, P, P};
    gather_check(&l, NULL, "weight", 2, dims, v, T2C_INT32, P, rowcol, 24, "V[s0*2+s3][s1*2+s2]");
    /* rank 1 is blocked by tile_rows: [5] in blocks of 4 */
    const int8_t b[5] = {1, 2, 3, 4, 5};
    const int64_t bd[1] = {5}, bw[8] = {1, 2, 3, 4, 5, -1, -1, -1};
    t2c_golden_layout l4 = {.tile_rows = 4, .tile_cols = 3};
    gather_check(&l4, NULL, "bias", 1, bd, b, T2C_INT8, -1, bw, 8, "V[s0*4+s1]");
    /* rank 4 NCHW: H x W tiles; the pad is reduced to uint8 (-1 -> 255) */
    const uint8_t x[6] = {1, 2, 3, 4, 5, 6}; /* [1, 1, 2, 3] */
    const int64_t xd[4] = {1, 1, 2, 3}, xw[8] = {1, 2, 4, 5, 3, 255, 6, 255};
    t2c_golden_layout t22 = {.tile_rows = 2, .tile_cols = 2};
    gather_check(&t22, NULL, "input", 4, xd, x, T2C_UINT8, -1, xw, 8, "V[s0][s1][s2*2+s4][s3*2+s5]");
    /* a bad tile */
    t2c_golden_plan p;
    t2c_error err;
    t2c_golden_layout bad = {.tile_rows = 2};
    assert_int_equal(t2c_golden_plan_tensor(&bad, NULL, "input", 2, dims, &p, &err), T2C_ERR_INVALID_ARG);
}

static t2c_attr ints_attr(const char *n, const int64_t *v, int64_t c)
{
    t2c_attr a = {n, T2C_ATTR_INTS, c, {.ints = v}};
    return a;
}

static t2c_attr int_attr(const char *n, int64_t v)
{
    t2c_attr a = {n, T2C_ATTR_INT, 1, {.i = v}};
    return a;
}

static void test_layout_gemm_im2col(void **state)
{
    (void)state;
    /* x [1,1,3,3] = 1..9, 2x2 kernel: rows (kh,kw), columns (oh,ow) */
    int8_t x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {0};
    t2c_tensor tx = {"x", T2C_INT8, 4, {1, 1, 3, 3}, x, 0}, tw = {"w", T2C_INT8, 4, {1, 1, 2, 2}, w, 1};
    const t2c_tensor *ins[2] = {&tx, &tw};
    const char *roles[2] = {"input", "weight"};
    t2c_op_view op = {0, "conv2d", "c", 2, ins, roles, 0, NULL, 0, NULL, 0};
    t2c_golden_layout gemm = {.base = T2C_GOLDEN_GEMM};
    const int64_t want[16] = {1, 2, 4, 5, 2, 3, 5, 6, 4, 5, 7, 8, 5, 6, 8, 9};
    gather_check(&gemm, &op, "input", 4, tx.dims, x, T2C_INT8, 0, want, 16, "V[s0][s1][s2]");
    t2c_golden_plan p;
    t2c_error err;
    assert_int_equal(t2c_golden_plan_tensor(&gemm, &op, "input", 4, tx.dims, &p, &err), T2C_OK);
    assert_int_equal(p.view, T2C_GOLDEN_VIEW_IM2COL);
    assert_int_equal(p.view_rank, 3);
    assert_int_equal(p.view_dims[1], 4);
    assert_int_equal(p.view_dims[2], 4);
    /* tiled GEMM view: 4x4 matrix in 2x3 tiles -> [1, 2, 2, 2, 3] with the column padded to 6 */
    t2c_golden_layout tiled = {.base = T2C_GOLDEN_GEMM, .tile_rows = 2, .tile_cols = 3};
    const int64_t tw_[24] = {1, 2, 4, 2, 3, 5, 5, -7, -7, 6, -7, -7, 4, 5, 7, 5, 6, 8, 8, -7, -7, 9, -7, -7};
    gather_check(&tiled, &op, "input", 4, tx.dims, x, T2C_INT8, -7, tw_, 24, "V[s0][s1*2+s3][s2*3+s4]");

    /* padding takes x_zero_point: x [1,1,1,2] = [5, 6], 1x1 kernel, pads [0,1,0,0] */
    int8_t x2[2] = {5, 6};
    t2c_tensor tx2 = {"x", T2C_INT8, 4, {1, 1, 1, 2}, x2, 0}, tw2 = {"w", T2C_INT8, 4, {1, 1, 1, 1}, w, 1};
    const t2c_tensor *ins2[2] = {&tx2, &tw2};
    const int64_t pads[4] = {0, 1, 0, 0};
    t2c_attr a2[2] = {ints_attr("pads", pads, 4), int_attr("x_zero_point", 7)};
    t2c_op_view op2 = {0, "conv2d", "c", 2, ins2, roles, 0, NULL, 2, a2, 0};
    const int64_t want2[3] = {7, 5, 6};
    gather_check(&gemm, &op2, "input", 4, tx2.dims, x2, T2C_INT8, 0, want2, 3, NULL);

    /* strides [1,2], dilations [1,2]: x [1,1,1,5] = 1..5, kernel 1x2, Wo = 2 */
    int8_t x3[5] = {1, 2, 3, 4, 5};
    t2c_tensor tx3 = {"x", T2C_INT8, 4, {1, 1, 1, 5}, x3, 0}, tw3 = {"w", T2C_INT8, 4, {1, 1, 1, 2}, w, 1};
    const t2c_tensor *ins3[2] = {&tx3, &tw3};
    const int64_t st[2] = {1, 2}, dl[2] = {1, 2};
    t2c_attr a3[2] = {ints_attr("strides", st, 2), ints_attr("dilations", dl, 2)};
    t2c_op_view op3 = {0, "conv2d", "c", 2, ins3, roles, 0, NULL, 2, a3, 0};
    const int64_t want3[4] = {1, 3, 3, 5};
    gather_check(&gemm, &op3, "input", 4, tx3.dims, x3, T2C_INT8, 0, want3, 4, NULL);

    /* two channels: K in (c, kh, kw) order for gemm, (kh, kw, c) for gemm_hwc */
    int8_t x4[4] = {1, 2, 3, 4}, w4[4] = {10, 11, 20, 21}; /* x [1,2,1,2]; w [1,2,1,2] */
    t2c_tensor tx4 = {"x", T2C_INT8, 4, {1, 2, 1, 2}, x4, 0}, tw4 = {"w", T2C_INT8, 4, {1, 2, 1, 2}, w4, 1};
    const t2c_tensor *ins4[2] = {&tx4, &tw4};
    t2c_op_view op4 = {0, "conv2d", "c", 2, ins4, roles, 0, NULL, 0, NULL, 0};
    const int64_t chw[4] = {1, 2, 3, 4}, hwc[4] = {1, 3, 2, 4};
    gather_check(&gemm, &op4, "input", 4, tx4.dims, x4, T2C_INT8, 0, chw, 4, NULL);
    t2c_golden_layout gh = {.base = T2C_GOLDEN_GEMM_HWC};
    gather_check(&gh, &op4, "input", 4, tx4.dims, x4, T2C_INT8, 0, hwc, 4, NULL);
    const int64_t wchw[4] = {10, 11, 20, 21}, whwc[4] = {10, 20, 11, 21};
    gather_check(&gemm, &op4, "weight", 4, tw4.dims, w4, T2C_INT8, 0, wchw, 4, "V[s0][s1]");
    gather_check(&gh, &op4, "weight", 4, tw4.dims, w4, T2C_INT8, 0, whwc, 4, "V[s0][s1]");
    assert_int_equal(t2c_golden_plan_tensor(&gh, &op4, "weight", 4, tw4.dims, &p, &err), T2C_OK);
    assert_int_equal(p.view, T2C_GOLDEN_VIEW_WEIGHT_HWC);
    assert_int_equal(p.view_dims[0], 1);
    assert_int_equal(p.view_dims[1], 4);
}

/* ---------------------------------------------------------------- the writer */

/* x int4 [1,1,1,3] -> relu -> y int4 */
static t2c_model *relu_model(void)
{
    t2c_writer *w = t2c_writer_new();
    t2c_error err;
    int64_t d[4] = {1, 1, 1, 3};
    assert_int_equal(t2c_writer_tensor(w, "x", T2C_INT4, 4, d, NULL, 0, &err), T2C_OK);
    assert_int_equal(t2c_writer_tensor(w, "y", T2C_INT4, 4, d, NULL, 0, &err), T2C_OK);
    const char *in[1] = {"x"}, *out[1] = {"y"};
    assert_int_equal(t2c_writer_op(w, "relu", "r/1", 1, in, 1, out, 0, NULL, &err), T2C_OK);
    assert_int_equal(t2c_writer_graph_io(w, 1, in, 1, out, &err), T2C_OK);
    uint8_t *buf;
    size_t size;
    assert_int_equal(t2c_writer_to_buffer(w, &buf, &size, &err), T2C_OK);
    t2c_writer_free(w);
    t2c_model *m = NULL;
    assert_int_equal(t2c_model_load_buffer(buf, size, "relu.t2c", NULL, &m, &err), T2C_OK);
    free(buf);
    return m;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void test_writer_files_and_manifest(void **state)
{
    (void)state;
    char dir[] = "/tmp/t2c_golden_testXXXXXX";
    assert_non_null(mkdtemp(dir));
    t2c_model *m = relu_model();
    t2c_session *s = NULL;
    t2c_error err;
    assert_int_equal(t2c_session_create(m, 2, &s, &err), T2C_OK);
    int8_t *x = t2c_session_input(s, 0)->data;
    x[0] = -8, x[1] = 7, x[2] = -1; /* image 0 */
    x[3] = 1, x[4] = -2, x[5] = 3;  /* image 1 */
    t2c_golden_options o = {.out_dir = dir, .formats = 1u << T2C_GOLDEN_HEX};
    o.packing.elems_per_word = 4;
    o.packing.word_bits = 16;
    t2c_golden_writer *w = NULL;
    assert_int_equal(t2c_golden_writer_create(m, &o, &w, &err), T2C_OK);
    assert_int_equal(t2c_golden_writer_attach(w, s, &err), T2C_OK);
    assert_int_equal(t2c_golden_writer_next_image(w, 5, "pair.npy", &err), T2C_OK);
    assert_int_equal(t2c_golden_writer_run(w, s, &err), T2C_OK);
    assert_int_equal(t2c_golden_writer_finish(w, &err), T2C_OK);
    t2c_golden_writer_free(w);

    char path[512];
    /* the op name "r/1" becomes "r_1"; images 5 and 6 */
    snprintf(path, sizeof path, "%s/000_r_1.input.img5.memh", dir);
    assert_string_equal(slurp(path), "0f78\n");
    snprintf(path, sizeof path, "%s/000_r_1.output.img5.memh", dir);
    assert_string_equal(slurp(path), "0070\n"); /* relu: [0, 7, 0] */
    snprintf(path, sizeof path, "%s/000_r_1.input.img6.memh", dir);
    assert_string_equal(slurp(path), "03e1\n");
    snprintf(path, sizeof path, "%s/000_r_1.output.img6.memh", dir);
    assert_string_equal(slurp(path), "0301\n");

    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_object *j = json_object_from_file(path), *v, *files, *f0, *inputs;
    assert_non_null(j);
    assert_true(json_object_object_get_ex(j, "t2c_golden_version", &v));
    assert_int_equal(json_object_get_int(v), 1);
    assert_true(json_object_object_get_ex(j, "files", &files));
    assert_int_equal(json_object_array_length(files), 4);
    f0 = json_object_array_get_idx(files, 0);
    assert_true(json_object_object_get_ex(f0, "path", &v));
    assert_string_equal(json_object_get_string(v), "000_r_1.input.img5.memh");
    assert_true(json_object_object_get_ex(f0, "words", &v));
    assert_int_equal(json_object_get_int(v), 1);
    assert_true(json_object_object_get_ex(f0, "crc32", &v));
    assert_int_equal(strlen(json_object_get_string(v)), 8);
    assert_true(json_object_object_get_ex(j, "inputs", &inputs));
    assert_int_equal(json_object_array_length(inputs), 2);
    assert_true(json_object_object_get_ex(json_object_array_get_idx(inputs, 1), "source", &v));
    assert_string_equal(json_object_get_string(v), "pair.npy#1");
    json_object_put(j);
    snprintf(path, sizeof path, "%s/SUMMARY.txt", dir);
    assert_non_null(strstr(slurp(path), "000_r_1.output.img6.memh"));

    /* roles: outputs only; a second directory */
    char dir2[300];
    snprintf(dir2, sizeof dir2, "%s/sub/deeper", dir);
    o.out_dir = dir2;
    const char *roles[1] = {"output"};
    o.roles = roles;
    o.n_roles = 1;
    assert_int_equal(t2c_golden_writer_create(m, &o, &w, &err), T2C_OK);
    t2c_session_free(s);
    assert_int_equal(t2c_session_create(m, 1, &s, &err), T2C_OK);
    assert_int_equal(t2c_golden_writer_attach(w, s, &err), T2C_OK);
    assert_int_equal(t2c_golden_writer_run(w, s, &err), T2C_OK);
    assert_int_equal(t2c_golden_writer_finish(w, &err), T2C_OK);
    t2c_golden_progress st;
    t2c_golden_writer_stats(w, &st);
    assert_int_equal(st.files, 1);
    assert_int_equal(st.bytes, 5);
    t2c_golden_writer_free(w);
    snprintf(path, sizeof path, "%s/000_r_1.output.img0.memh", dir2);
    assert_string_equal(slurp(path), "0000\n"); /* a zeroed session input */
    snprintf(path, sizeof path, "%s/000_r_1.input.img0.memh", dir2);
    assert_int_equal(access(path, F_OK), -1);

    t2c_session_free(s);
    t2c_model_free(m);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_writer_errors(void **state)
{
    (void)state;
    t2c_model *m = relu_model();
    t2c_error err;
    t2c_golden_writer *w = NULL;
    /* a directory below a regular file cannot be created */
    t2c_golden_options o = {.out_dir = "/etc/hostname/golden"};
    assert_int_equal(t2c_golden_writer_create(m, &o, &w, &err), T2C_ERR_IO);
    assert_null(w);
    assert_non_null(strstr(err.message, "/etc/hostname/golden: cannot create directory"));
    char dir[] = "/tmp/t2c_golden_errXXXXXX";
    assert_non_null(mkdtemp(dir));
    o.out_dir = dir;
    const char *roles[1] = {"wieght"};
    o.roles = roles;
    o.n_roles = 1;
    assert_int_equal(t2c_golden_writer_create(m, &o, &w, &err), T2C_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "unknown role 'wieght'"));
    o.n_roles = 0;
    o.layout.tile_rows = 3; /* tile_cols 0 */
    assert_int_equal(t2c_golden_writer_create(m, &o, &w, &err), T2C_ERR_INVALID_ARG);
    o.layout.tile_rows = 0;
    o.zstd_level = 99;
    assert_int_equal(t2c_golden_writer_create(m, &o, &w, &err), T2C_ERR_INVALID_ARG);
    o.zstd_level = 0;
    /* no op matches */
    const char *globs[1] = {"conv*"};
    o.op_globs = globs;
    o.n_op_globs = 1;
    assert_int_equal(t2c_golden_writer_create(m, &o, &w, &err), T2C_OK);
    t2c_session *s = NULL;
    assert_int_equal(t2c_session_create(m, 1, &s, &err), T2C_OK);
    assert_int_equal(t2c_golden_writer_attach(w, s, &err), T2C_ERR_NOT_FOUND);
    t2c_golden_writer_free(w);
    /* a word too narrow for the element fails the run with the writer's message, no file */
    o.n_op_globs = 0;
    o.packing.word_bits = 2;
    assert_int_equal(t2c_golden_writer_create(m, &o, &w, &err), T2C_OK);
    assert_int_equal(t2c_golden_writer_attach(w, s, &err), T2C_OK);
    assert_int_equal(t2c_golden_writer_run(w, s, &err), T2C_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "op 'r/1' (relu) input: a 2-bit word cannot hold a 4-bit int4 element"));
    assert_int_equal(t2c_golden_writer_finish(w, &err), T2C_ERR_INVALID_ARG);
    t2c_golden_writer_free(w);
    char path[512];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    assert_int_equal(access(path, F_OK), -1);
    t2c_session_free(s);
    t2c_model_free(m);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rmdir '%s'", dir); /* fails if any file was left */
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int4_one_per_word),
        cmocka_unit_test(test_int4_four_per_16bit_word),
        cmocka_unit_test(test_int8_words_and_padding),
        cmocka_unit_test(test_wide_words_unused_bits),
        cmocka_unit_test(test_address_lines),
        cmocka_unit_test(test_coe_mif),
        cmocka_unit_test(test_raw),
        cmocka_unit_test(test_npy),
        cmocka_unit_test(test_spec_errors),
        cmocka_unit_test(test_pad_in_dtype),
        cmocka_unit_test(test_layout_nhwc),
        cmocka_unit_test(test_layout_tiles),
        cmocka_unit_test(test_layout_gemm_im2col),
        cmocka_unit_test(test_writer_files_and_manifest),
        cmocka_unit_test(test_writer_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
