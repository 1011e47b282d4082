/* test_check.c — t2c_check_decode on hand-written dump files and manifest entries, with the
 * worked examples of golden/README.md (values worked by hand there), and the "other reading"
 * alternatives the diagnosis uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "t2c_check.h"

static char dir[256];

static void put(const char *name, const char *text, size_t len)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

/* One manifest entry: the keys t2c_check reads. axes: "[{...}, ...]". */
static void entry(char *buf, size_t size, const char *path, const char *dtype, const char *shape,
                  const char *format, int word_bits, int n, const char *order, int words, int elements,
                  int stored, const char *view_shape, const char *axes, const char *tile)
{
    snprintf(buf, size,
             "{\"path\": \"%s\", \"op\": \"x\", \"op_index\": 0, \"image\": 0, \"role\": \"output\", \"dtype\": \"%s\","
             " \"shape\": %s, \"format\": \"%s\", \"word_bits\": %d, \"elems_per_word\": %d, \"word_order\": \"%s\","
             " \"pad_value\": 0, \"words\": %d, \"elements\": %d, \"stored_elements\": %d, \"compression\": \"none\","
             " \"layout\": {\"base\": \"nchw\", \"view\": \"identity\", \"view_shape\": %s, \"axes\": %s, \"tile\": %s}}",
             path, dtype, shape, format, word_bits, n, order, words, elements, stored, view_shape, axes, tile);
}

static t2c_check_manifest *load(const char *entries)
{
    size_t len = strlen(entries) + 64;
    char *m = malloc(len);
    snprintf(m, len, "{\"files\": [%s]}", entries);
    put("manifest.json", m, strlen(m));
    free(m);
    char p[512];
    snprintf(p, sizeof p, "%s/manifest.json", dir);
    t2c_check_manifest *man = NULL;
    t2c_error err;
    assert_int_equal(t2c_check_manifest_load(p, NULL, &man, &err), T2C_OK);
    return man;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/t2c_test_check_%ld", (long)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    return system(cmd);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

#define AX1(n) "[{\"dim\": 0, \"size\": " #n ", \"step\": 1}]"

/* int4 [-8, 7, -1], 4 per 16-bit word, LSB first: "0f78" (README); read MSB first: 0, -1, 7 */
static void test_hex_int4_packed(void **state)
{
    (void)state;
    put("a.memh", "0f78\n", 5);
    char e[2048];
    entry(e, sizeof e, "a.memh", "int4", "[3]", "hex", 16, 4, "lsb_first", 1, 3, 3, "[3]", AX1(3), "null");
    t2c_check_manifest *m = load(e);
    int64_t v[3];
    t2c_error err;
    assert_int_equal(t2c_check_decode(&m->entries[0], NULL, v, &err), T2C_OK);
    assert_int_equal(v[0], -8);
    assert_int_equal(v[1], 7);
    assert_int_equal(v[2], -1);
    t2c_check_alt flip = {.flip_word_order = 1};
    assert_int_equal(t2c_check_decode(&m->entries[0], &flip, v, &err), T2C_OK);
    assert_int_equal(v[0], 0);
    assert_int_equal(v[1], -1);
    assert_int_equal(v[2], 7);
    t2c_check_manifest_free(m);
}

/* 12-bit words of 3 int4 (not whole bytes), LSB first: "a5f" = -1, 5, -6 (0xf, 0x5, 0xa); a
 * leading zero digit past the 12 bits is fine ("0a5f"), a set bit past them is an error ("1a5f");
 * 16-bit words of one int16: "8001" = -32767 */
static void test_hex_odd_words(void **state)
{
    (void)state;
    put("o.memh", "a5f\n0a5f\n", 9);
    put("p.memh", "a5f\n1a5f\n", 9);
    put("q.memh", "8001\n7fff\n", 10);
    char e1[2048], e2[2048], e3[2048], all[6400];
    entry(e1, sizeof e1, "o.memh", "int4", "[6]", "hex", 12, 3, "lsb_first", 2, 6, 6, "[6]", AX1(6), "null");
    entry(e2, sizeof e2, "p.memh", "int4", "[6]", "hex", 12, 3, "lsb_first", 2, 6, 6, "[6]", AX1(6), "null");
    entry(e3, sizeof e3, "q.memh", "int16", "[2]", "hex", 16, 1, "lsb_first", 2, 2, 2, "[2]", AX1(2), "null");
    snprintf(all, sizeof all, "%s, %s, %s", e1, e2, e3);
    t2c_check_manifest *m = load(all);
    int64_t v[6];
    t2c_error err;
    assert_int_equal(t2c_check_decode(&m->entries[0], NULL, v, &err), T2C_OK);
    static const int64_t want[6] = {-1, 5, -6, -1, 5, -6};
    for (int i = 0; i < 6; i++)
        assert_int_equal(v[i], want[i]);
    assert_int_equal(t2c_check_decode(&m->entries[1], NULL, v, &err), T2C_ERR_FORMAT);
    assert_non_null(strstr(err.message, "word 1: bad hex digits '1a5f'"));
    assert_int_equal(t2c_check_decode(&m->entries[2], NULL, v, &err), T2C_OK);
    assert_int_equal(v[0], -32767);
    assert_int_equal(v[1], 32767);
    t2c_check_manifest_free(m);
}

/* raw int4 [1, 2, -1] 2 per word MSB first: bytes 12 f0; bin of int4 [-8, 7, -1] 4 per word */
static void test_raw_and_bin(void **state)
{
    (void)state;
    put("b.raw", "\x12\xf0", 2);
    put("c.memb", "@0\n0000111101111000\n", 20);
    char e1[2048], e2[2048], all[4200];
    entry(e1, sizeof e1, "b.raw", "int4", "[3]", "raw", 8, 2, "msb_first", 2, 3, 3, "[3]", AX1(3), "null");
    entry(e2, sizeof e2, "c.memb", "int4", "[3]", "bin", 16, 4, "lsb_first", 1, 3, 3, "[3]", AX1(3), "null");
    snprintf(all, sizeof all, "%s, %s", e1, e2);
    t2c_check_manifest *m = load(all);
    int64_t v[3];
    t2c_error err;
    assert_int_equal(t2c_check_decode(&m->entries[0], NULL, v, &err), T2C_OK);
    assert_int_equal(v[0], 1);
    assert_int_equal(v[1], 2);
    assert_int_equal(v[2], -1);
    assert_int_equal(t2c_check_decode(&m->entries[1], NULL, v, &err), T2C_OK);
    assert_int_equal(v[0], -8);
    assert_int_equal(v[1], 7);
    assert_int_equal(v[2], -1);
    t2c_check_manifest_free(m);
}

/* MIF uint8 [10, 255, 0]; COE int8 [1, -1]; dec int8 [-1, 2, -128] 2 per line, pad -1 */
static void test_mif_coe_dec(void **state)
{
    (void)state;
    const char *mif = "-- t2c golden: op x\nWIDTH=8;\nDEPTH=3;\n\nADDRESS_RADIX=HEX;\nDATA_RADIX=HEX;\n\n"
                      "CONTENT BEGIN\n  0 : 0a;\n  1 : ff;\n  2 : 00;\nEND;\n";
    const char *coe = "; t2c golden\nmemory_initialization_radix=16;\nmemory_initialization_vector=\n01,\nff;\n";
    const char *dec = "-1 2\n-128 -1\n";
    put("d.mif", mif, strlen(mif));
    put("e.coe", coe, strlen(coe));
    put("f.txt", dec, strlen(dec));
    char e1[2048], e2[2048], e3[2048], all[6400];
    entry(e1, sizeof e1, "d.mif", "uint8", "[3]", "mif", 8, 1, "lsb_first", 3, 3, 3, "[3]", AX1(3), "null");
    entry(e2, sizeof e2, "e.coe", "int8", "[2]", "coe", 8, 1, "lsb_first", 2, 2, 2, "[2]", AX1(2), "null");
    entry(e3, sizeof e3, "f.txt", "int8", "[3]", "dec", 16, 2, "lsb_first", 2, 3, 3, "[3]", AX1(3), "null");
    snprintf(all, sizeof all, "%s, %s, %s", e1, e2, e3);
    t2c_check_manifest *m = load(all);
    int64_t v[3];
    t2c_error err;
    assert_int_equal(t2c_check_decode(&m->entries[0], NULL, v, &err), T2C_OK);
    assert_int_equal(v[0], 10);
    assert_int_equal(v[1], 255);
    assert_int_equal(v[2], 0);
    assert_int_equal(t2c_check_decode(&m->entries[1], NULL, v, &err), T2C_OK);
    assert_int_equal(v[0], 1);
    assert_int_equal(v[1], -1);
    assert_int_equal(t2c_check_decode(&m->entries[2], NULL, v, &err), T2C_OK);
    assert_int_equal(v[0], -1);
    assert_int_equal(v[1], 2);
    assert_int_equal(v[2], -128);
    t2c_check_manifest_free(m);
}

/* [3, 5] matrix r·5 + c in 2×2 tiles, pad 99 (README): stored
 * 0 1 5 6 | 2 3 7 8 | 4 P 9 P | 10 11 P P | 12 13 P P | 14 P P P; the same tiles in column order
 * (0 1 5 6 | 10 11 P P | 2 3 7 8 | 12 13 P P | 4 P 9 P | 14 P P P) read with swap_tile_order. */
static void test_tiles(void **state)
{
    (void)state;
    const char *row = "0\n1\n5\n6\n2\n3\n7\n8\n4\n99\n9\n99\n10\n11\n99\n99\n12\n13\n99\n99\n14\n99\n99\n99\n";
    const char *col = "0\n1\n5\n6\n10\n11\n99\n99\n2\n3\n7\n8\n12\n13\n99\n99\n4\n99\n9\n99\n14\n99\n99\n99\n";
    put("t.txt", row, strlen(row));
    put("u.txt", col, strlen(col));
    const char *axes = "[{\"dim\": 0, \"size\": 2, \"step\": 2}, {\"dim\": 1, \"size\": 3, \"step\": 2},"
                       " {\"dim\": 0, \"size\": 2, \"step\": 1}, {\"dim\": 1, \"size\": 2, \"step\": 1}]";
    char e1[2048], e2[2048], all[4200];
    entry(e1, sizeof e1, "t.txt", "int8", "[3, 5]", "dec", 8, 1, "lsb_first", 24, 15, 24, "[3, 5]", axes, "[2, 2]");
    entry(e2, sizeof e2, "u.txt", "int8", "[3, 5]", "dec", 8, 1, "lsb_first", 24, 15, 24, "[3, 5]", axes, "[2, 2]");
    snprintf(all, sizeof all, "%s, %s", e1, e2);
    t2c_check_manifest *m = load(all);
    int64_t v[15];
    t2c_error err;
    assert_int_equal(t2c_check_decode(&m->entries[0], NULL, v, &err), T2C_OK);
    for (int i = 0; i < 15; i++)
        assert_int_equal(v[i], i);
    assert_int_equal(t2c_check_decode(&m->entries[1], NULL, v, &err), T2C_OK);
    assert_int_not_equal(v[2], 2); /* read as row-order tiles: (0,2) holds 10 */
    assert_int_equal(v[2], 10);
    t2c_check_alt swap = {.swap_tile_order = 1};
    assert_int_equal(t2c_check_decode(&m->entries[1], &swap, v, &err), T2C_OK);
    for (int i = 0; i < 15; i++)
        assert_int_equal(v[i], i);
    t2c_check_manifest_free(m);
}

/* NHWC of X[1][2][2][3] = c·6 + h·3 + w: stored 0 6 1 7 2 8 3 9 4 10 5 11 (README). The same
 * file declared NCHW is read back with swap_nhwc; transposed data with transpose. */
static void test_nhwc_and_transpose(void **state)
{
    (void)state;
    const char *nhwc = "00\n06\n01\n07\n02\n08\n03\n09\n04\n0a\n05\n0b\n";
    /* X transposed on (h, w): stored X[n][c][w][h], i.e. c·6 + w + 3·h order: 0 3 1 4 2 5 6 9 7 10 8 11 */
    const char *tr = "00\n03\n01\n04\n02\n05\n06\n09\n07\n0a\n08\n0b\n";
    put("n.memh", nhwc, strlen(nhwc));
    put("r.memh", tr, strlen(tr));
    const char *ax_nhwc = "[{\"dim\": 0, \"size\": 1, \"step\": 1}, {\"dim\": 2, \"size\": 2, \"step\": 1},"
                          " {\"dim\": 3, \"size\": 3, \"step\": 1}, {\"dim\": 1, \"size\": 2, \"step\": 1}]";
    const char *ax_nchw = "[{\"dim\": 0, \"size\": 1, \"step\": 1}, {\"dim\": 1, \"size\": 2, \"step\": 1},"
                          " {\"dim\": 2, \"size\": 2, \"step\": 1}, {\"dim\": 3, \"size\": 3, \"step\": 1}]";
    char e1[2048], e2[2048], e3[2048], all[6400];
    entry(e1, sizeof e1, "n.memh", "int8", "[1, 2, 2, 3]", "hex", 8, 1, "lsb_first", 12, 12, 12, "[1, 2, 2, 3]",
          ax_nhwc, "null");
    entry(e2, sizeof e2, "n.memh", "int8", "[1, 2, 2, 3]", "hex", 8, 1, "lsb_first", 12, 12, 12, "[1, 2, 2, 3]",
          ax_nchw, "null");
    entry(e3, sizeof e3, "r.memh", "int8", "[1, 2, 2, 3]", "hex", 8, 1, "lsb_first", 12, 12, 12, "[1, 2, 2, 3]",
          ax_nchw, "null");
    snprintf(all, sizeof all, "%s, %s, %s", e1, e2, e3);
    t2c_check_manifest *m = load(all);
    int64_t v[12];
    t2c_error err;
    assert_int_equal(t2c_check_decode(&m->entries[0], NULL, v, &err), T2C_OK);
    for (int i = 0; i < 12; i++)
        assert_int_equal(v[i], i);
    assert_int_equal(t2c_check_decode(&m->entries[1], NULL, v, &err), T2C_OK);
    assert_int_equal(v[1], 6);
    t2c_check_alt sw = {.swap_nhwc = 1}, tp = {.transpose = 1};
    assert_int_equal(t2c_check_decode(&m->entries[1], &sw, v, &err), T2C_OK);
    for (int i = 0; i < 12; i++)
        assert_int_equal(v[i], i);
    assert_int_equal(t2c_check_decode(&m->entries[2], &tp, v, &err), T2C_OK);
    for (int i = 0; i < 12; i++)
        assert_int_equal(v[i], i);
    /* an alternative that does not apply */
    t2c_check_alt fl = {.flip_word_order = 1};
    assert_int_equal(t2c_check_decode(&m->entries[0], &fl, v, &err), T2C_ERR_UNSUPPORTED);
    t2c_check_manifest_free(m);
}

/* wrong size, bad digits, missing file: one-line errors */
static void test_errors(void **state)
{
    (void)state;
    put("s.memh", "01\n02\n", 6);
    put("g.memh", "01\nzz\n03\n", 9);
    char e1[2048], e2[2048], e3[2048], all[6400];
    entry(e1, sizeof e1, "s.memh", "int8", "[3]", "hex", 8, 1, "lsb_first", 3, 3, 3, "[3]", AX1(3), "null");
    entry(e2, sizeof e2, "g.memh", "int8", "[3]", "hex", 8, 1, "lsb_first", 3, 3, 3, "[3]", AX1(3), "null");
    entry(e3, sizeof e3, "missing.memh", "int8", "[3]", "hex", 8, 1, "lsb_first", 3, 3, 3, "[3]", AX1(3), "null");
    snprintf(all, sizeof all, "%s, %s, %s", e1, e2, e3);
    t2c_check_manifest *m = load(all);
    int64_t v[3];
    t2c_error err;
    assert_int_equal(t2c_check_decode(&m->entries[0], NULL, v, &err), T2C_ERR_FORMAT);
    assert_non_null(strstr(err.message, "wrong size: 2 words, the manifest declares 3"));
    assert_int_equal(t2c_check_decode(&m->entries[1], NULL, v, &err), T2C_ERR_FORMAT);
    assert_non_null(strstr(err.message, "word 1: bad hex digits 'zz'"));
    assert_int_equal(t2c_check_decode(&m->entries[2], NULL, v, &err), T2C_ERR_IO);
    assert_null(strchr(err.message, '\n'));
    t2c_check_manifest_free(m);
    /* a manifest without "files" */
    put("bad.json", "{\"x\": 1}", 8);
    char p[512];
    snprintf(p, sizeof p, "%s/bad.json", dir);
    t2c_check_manifest *bad = NULL;
    assert_int_equal(t2c_check_manifest_load(p, NULL, &bad, &err), T2C_ERR_FORMAT);
    assert_null(bad);
}

/* A report of three compared ops: "conv.0" 2 elements differ by at most 1, "conv.1" matches,
 * "rq" 5 elements differ by at most 3 (isolation: 1 element, 1). */
static void waiver_report(t2c_check_report *r, t2c_check_op_result *ops)
{
    static const char *const names[3] = {"conv.0", "conv.1", "rq"};
    memset(ops, 0, 3 * sizeof *ops);
    memset(r, 0, sizeof *r);
    for (int i = 0; i < 3; i++)
        ops[i].op_index = i, ops[i].name = names[i], ops[i].type = "x", ops[i].file = "f";
    ops[0].full.mismatches = 2, ops[0].full.max_abs_diff = 1;
    ops[2].full.mismatches = 5, ops[2].full.max_abs_diff = 3;
    ops[2].iso_checked = 1, ops[2].iso.mismatches = 1, ops[2].iso.max_abs_diff = 1;
    r->n_ops = 3, r->ops = ops, r->n_checked = 3, r->n_mismatch = 2, r->n_iso_mismatch = 1;
    r->first_divergent = 0, r->first_divergent_iso = 2;
}

static const char *wpath(const char *name, const char *text)
{
    static char p[512];
    put(name, text, strlen(text));
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

/* The text and JSON waiver forms give the same result; bad files give one-line errors. */
static void test_waivers(void **state)
{
    (void)state;
    static const char *const same[][2] = {
        {"w.txt", "# known\nconv.* max_diff=1 ties up (T-1)\nrq count=5 five known\n"},
        {"w.json", "[{\"op\": \"conv.*\", \"max_diff\": 1, \"reason\": \"ties up (T-1)\"},\n"
                   " {\"op\": \"rq\", \"count\": 5, \"reason\": \"five known\", \"comment\": \"c\"}]"},
        {"w2", "  {\"waivers\": [{\"op\": \"conv.*\", \"max_diff\": 1, \"reason\": \" ties up (T-1) \"},"
               " {\"reason\": \"five known\", \"count\": 5, \"op\": \"rq\"}]}"},
    };
    t2c_check_report r;
    t2c_check_op_result ops[3];
    t2c_error err;
    for (int k = 0; k < 3; k++) {
        waiver_report(&r, ops);
        assert_int_equal(t2c_check_apply_waivers(&r, wpath(same[k][0], same[k][1]), &err), T2C_OK);
        assert_string_equal(ops[0].waived, "ties up (T-1)");
        assert_string_equal(ops[1].waived, ""); /* matches: nothing to waive */
        assert_string_equal(ops[2].waived, "five known");
        assert_int_equal(r.n_waived, 2);
        assert_int_equal(r.n_mismatch, 0);
        assert_int_equal(r.n_iso_mismatch, 0);
        assert_int_equal(r.first_divergent, -1);
        assert_int_equal(r.n_checked, 3);
    }
    /* rq: count=4 < 5 differing elements; max_diff=2 < 3; the first matching waiver decides */
    waiver_report(&r, ops);
    const char *first = wpath("l.json", "[{\"op\": \"rq\", \"count\": 4, \"reason\": \"a\"},"
                                        " {\"op\": \"*\", \"max_diff\": 3, \"reason\": \"b\"}]");
    assert_int_equal(t2c_check_apply_waivers(&r, first, &err), T2C_OK);
    assert_string_equal(ops[0].waived, "b");
    assert_string_equal(ops[2].waived, "");
    assert_int_equal(r.n_waived, 1);
    assert_int_equal(r.n_mismatch, 1);
    assert_int_equal(r.first_divergent, 2);
    static const char *const bad[][3] = {
        {"b1.json", "[{\"op\": \"rq\", \"count\": 1, \"reason\": \"x\",}]", "b1.json:1: not valid JSON"},
        {"b2.json", "[{\"op\": \"rq\", \"count\": 1}]", "b2.json: waiver 1: a waiver needs a reason"},
        {"b3", "[{\"op\": \"rq\", \"reason\": \"x\"}]", "b3: waiver 1: needs exactly one of"},
        {"b4", "{\"waivers\": [{\"op\": \"rq\", \"count\": 1, \"reason\": \"x\"},\n {\"op\": 7}]}",
         "b4: waiver 2: \"op\" must be a glob string"},
        {"b5.txt", "rq count=1\n", "b5.txt:1: a waiver needs a reason"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        waiver_report(&r, ops);
        assert_int_equal(t2c_check_apply_waivers(&r, wpath(bad[k][0], bad[k][1]), &err), T2C_ERR_FORMAT);
        assert_non_null(strstr(err.message, bad[k][2]));
        assert_null(strchr(err.message, '\n'));
        assert_int_equal(r.n_waived, 0);
        assert_int_equal(r.n_mismatch, 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_int4_packed),
        cmocka_unit_test(test_hex_odd_words), cmocka_unit_test(test_raw_and_bin),
        cmocka_unit_test(test_mif_coe_dec),     cmocka_unit_test(test_tiles),
        cmocka_unit_test(test_nhwc_and_transpose), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_waivers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
