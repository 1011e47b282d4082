/* test_golden_crc.c — the generic CRC of golden/golden_crc.c against catalogue check values
 * (reveng "CRC RevEng" catalogue: check = CRC of the ASCII bytes "123456789") and its parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "golden_internal.h"

static uint32_t crc_of(const char *spec, const void *data, size_t n)
{
    t2c_golden_crc c;
    t2c_error err = {0};
    assert_int_equal(t2c_golden_crc_parse(spec, &c, &err), T2C_OK);
    return t2c_golden_crc_compute(&c, data, n);
}

static void test_presets(void **state)
{
    (void)state;
    assert_int_equal(crc_of("crc32", "123456789", 9), 0xcbf43926u);        /* CRC-32/ISO-HDLC */
    assert_int_equal(crc_of("crc16-ccitt", "123456789", 9), 0x29b1u);      /* CRC-16/CCITT-FALSE */
    assert_int_equal(crc_of("crc32", "", 0), 0x00000000u);                 /* init ^ xorout, reflected */
    assert_int_equal(crc_of("crc16-ccitt", "", 0), 0xffffu);
    /* zlib's crc32 of one byte 0x00 (a well-known value) */
    assert_int_equal(crc_of("crc32", "\0", 1), 0xd202ef8du);
    /* golden/README.md "CRCs" worked example: image 01 02 03 00, tiles 01 02 and 03 00 */
    assert_int_equal(crc_of("crc16-ccitt", "\x01\x02\x03\x00", 4), 0xc947u);
    assert_int_equal(crc_of("crc16-ccitt", "\x01\x02", 2), 0x0e7cu);
    assert_int_equal(crc_of("crc16-ccitt", "\x03\x00", 2), 0x485cu);
    t2c_golden_crc c;
    t2c_error err = {0};
    assert_int_equal(t2c_golden_crc_parse("crc32", &c, &err), T2C_OK);
    assert_int_equal(c.width, 32);
    assert_int_equal(c.poly, 0x04c11db7u);
    assert_true(c.refin && c.refout);
    assert_string_equal(c.name, "crc32");
}

static void test_custom(void **state)
{
    (void)state;
    /* CRC-8/SMBUS */
    assert_int_equal(crc_of("custom:poly=0x07,width=8", "123456789", 9), 0xf4u);
    /* CRC-16/ARC: reflected; refout defaults to refin */
    assert_int_equal(crc_of("custom:poly=0x8005,width=16,refin=1", "123456789", 9), 0xbb3du);
    /* CRC-16/KERMIT */
    assert_int_equal(crc_of("custom:poly=0x1021,width=16,init=0,refin=1,refout=1", "123456789", 9), 0x2189u);
    /* CRC-32/MPEG-2: not reflected, no xorout */
    assert_int_equal(crc_of("custom:poly=0x04c11db7,width=32,init=0xffffffff", "123456789", 9), 0x0376e6e7u);
    /* CRC-32/BZIP2 */
    assert_int_equal(crc_of("custom:width=32,poly=0x04c11db7,init=0xffffffff,xorout=0xffffffff", "123456789", 9),
                     0xfc891918u);
    /* CRC-24/OPENPGP: a width that is not a multiple of 16 */
    assert_int_equal(crc_of("custom:poly=0x864cfb,width=24,init=0xb704ce", "123456789", 9), 0x21cf02u);
    /* CRC-12/UMTS: refin 0 but refout 1 */
    assert_int_equal(crc_of("custom:poly=0x80f,width=12,refin=0,refout=1", "123456789", 9), 0xdafu);
    /* CRC-32C (Castagnoli), decimal numbers */
    assert_int_equal(crc_of("custom:poly=517762881,width=32,init=4294967295,refin=1,xorout=4294967295",
                            "123456789", 9),
                     0xe3069283u);
}

static void test_parse_errors(void **state)
{
    (void)state;
    const char *bad[] = {"crc64", "custom:", "custom:width=16", "custom:poly=0x1021", "custom:poly=0x07,width=7",
                         "custom:poly=0x07,width=33", "custom:poly=0x1ff,width=8", "custom:poly=0x07,width=8,init=0x100",
                         "custom:poly=0x07,width=8,refin=2", "custom:poly=0x07,width=8,foo=1",
                         "custom:poly=-1,width=8", "custom:poly=0x07width=8", "custom:poly=0x07,width=8,xorout=zz"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t2c_golden_crc c;
        t2c_error err = {0};
        assert_int_equal(t2c_golden_crc_parse(bad[i], &c, &err), T2C_ERR_INVALID_ARG);
        assert_true(err.message[0] != '\0');
        assert_null(strchr(err.message, '\n'));
    }
}

static char *axis_text(const t2c_golden_axis_stream *a, int rank, const int64_t *dims, const void *data,
                       t2c_dtype dtype)
{
    char dir[] = "/tmp/t2c_axis_XXXXXX";
    assert_non_null(mkdtemp(dir));
    t2c_golden_layout layout = {0};
    t2c_golden_plan plan;
    t2c_error err = {0};
    assert_int_equal(t2c_golden_plan_tensor(&layout, NULL, "input", rank, dims, &plan, &err), T2C_OK);
    json_object *e = NULL;
    assert_int_equal(t2c_golden_axis_write(a, &plan, &layout, data, dtype, 0, dir, "t.axis", &e, &err), T2C_OK);
    json_object_put(e);
    char path[64];
    snprintf(path, sizeof path, "%s/t.axis", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
    rmdir(dir);
    return buf;
}

/* golden/README.md "AXI-Stream" worked examples */
static void test_axis_examples(void **state)
{
    (void)state;
    const int8_t v4[] = {-8, 7, -1, 2, 5};
    const int64_t d4[] = {1, 5};
    t2c_golden_axis_stream a = {.tdata_bytes = 2, .tlast = 1};
    assert_string_equal(axis_text(&a, 2, d4, v4, T2C_INT4), "0708 3 0 1\n020f 3 0 0\n0005 1 1 0\n");
    a.lane_pad = 15;
    assert_string_equal(axis_text(&a, 2, d4, v4, T2C_INT4), "f7f8 3 0 1\nf2ff 3 0 0\n00f5 1 1 0\n");
    const int16_t v16[] = {1000, -2};
    const int64_t d16[] = {2};
    t2c_golden_axis_stream b = {.tdata_bytes = 8};
    assert_string_equal(axis_text(&b, 1, d16, v16, T2C_INT16), "00000000fffe03e8 0f 1 1\n");
    /* throttle: seed 1 -> x = 1 ^ 1<<13 = 0x2001; ^ x>>7 (0x40) = 0x2041; ^ x<<17 (0x40820000)
     * = 0x40822041: GAP = 1, STALL = 0 */
    b.throttle = 1, b.seed = 1;
    assert_string_equal(axis_text(&b, 1, d16, v16, T2C_INT16), "00000000fffe03e8 0f 1 1 1 0\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presets),
        cmocka_unit_test(test_custom),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_axis_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
