/* test_golden_desc.c — general layout descriptors ("desc:N,C/2,H,W,C%2", golden/README.md
 * "Layouts") against hand-worked stored orders and files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "t2c.h"
#include "t2c_golden.h"

/* Plan + gather `data` with layout l; compare with want (n stored elements) and the formula. */
static void gather_check(const t2c_golden_layout *l, int rank, const int64_t *dims, const void *data, t2c_dtype dt,
                         int64_t pad, const int64_t *want, int64_t n, const char *formula, int64_t *out)
{
    t2c_golden_plan p;
    t2c_error err;
    assert_int_equal(t2c_golden_plan_tensor(l, NULL, "input", rank, dims, &p, &err), T2C_OK);
    assert_int_equal(p.stored_numel, n);
    assert_int_equal(t2c_golden_gather(&p, data, dt, pad, out, &err), T2C_OK);
    for (int64_t i = 0; i < n; i++) {
        if (out[i] != want[i])
            fprintf(stderr, "element %lld: got %lld want %lld\n", (long long)i, (long long)out[i], (long long)want[i]);
        assert_int_equal(out[i], want[i]);
    }
    char buf[256];
    assert_string_equal(t2c_golden_plan_formula(&p, buf, sizeof buf), formula);
}

static void parse_ok(const char *text, t2c_golden_layout *l, const char *canonical)
{
    t2c_error err;
    memset(l, 0, sizeof *l);
    assert_int_equal(t2c_golden_desc_parse(text, l, &err), T2C_OK);
    char buf[128];
    assert_string_equal(t2c_golden_desc_format(l, buf, sizeof buf), canonical);
}

/* [1, 3, 2, 2] int8, x[c][h][w] = c·4 + h·2 + w − 6 (−6..5), in NC/2HW2 with pad −7:
 * stored [1, 2, 2, 2, 2]; block 0 holds c 0,1 interleaved per pixel, block 1 holds c 2 and
 * the pad channel 3:  (h0w0) −6 −2 | (h0w1) −5 −1 | (h1w0) −4 0 | (h1w1) −3 1 |
 *                     2 P | 3 P | 4 P | 5 P. */
static void test_nc2hw2_dec_file(void **state)
{
    (void)state;
    int8_t x[12];
    for (int i = 0; i < 12; i++)
        x[i] = (int8_t)(i - 6);
    const int64_t dims[4] = {1, 3, 2, 2};
    const int64_t want[16] = {-6, -2, -5, -1, -4, 0, -3, 1, 2, -7, 3, -7, 4, -7, 5, -7};
    t2c_golden_layout l;
    parse_ok("desc:N,C/2,H,W,C%2", &l, "N,C/2,H,W,C%2");
    assert_int_equal(l.desc_rank, 4);
    assert_int_equal(l.n_desc, 5);
    int64_t out[16];
    gather_check(&l, 4, dims, x, T2C_INT8, -7, want, 16, "V[s0][s1*2+s4][s2][s3]", out);

    t2c_golden_plan p;
    t2c_error err;
    assert_int_equal(t2c_golden_plan_tensor(&l, NULL, "input", 4, dims, &p, &err), T2C_OK);
    assert_int_equal(p.n_axes, 5);
    const t2c_golden_axis ax[5] = {{0, 1, 1}, {1, 2, 2}, {2, 2, 1}, {3, 2, 1}, {1, 2, 1}};
    for (int j = 0; j < 5; j++) {
        assert_int_equal(p.axes[j].dim, ax[j].dim);
        assert_int_equal(p.axes[j].size, ax[j].size);
        assert_int_equal(p.axes[j].step, ax[j].step);
    }

    /* the dec file, one element per line */
    t2c_golden_packing pk = {.elems_per_word = 1, .pad_value = -7};
    t2c_golden_file_spec spec;
    assert_int_equal(t2c_golden_spec_init(&spec, T2C_GOLDEN_DEC, T2C_INT8, &pk, 16, &err), T2C_OK);
    uint8_t *file = NULL;
    size_t size = 0;
    assert_int_equal(t2c_golden_encode(&spec, out, &file, &size, &err), T2C_OK);
    const char *want_file = "-6\n-2\n-5\n-1\n-4\n0\n-3\n1\n2\n-7\n3\n-7\n4\n-7\n5\n-7\n";
    assert_int_equal(size, strlen(want_file));
    assert_memory_equal(file, want_file, size);
    free(file);

    /* N omitted: it comes first, whole (the same layout) */
    parse_ok("C/2,H,W,C%2", &l, "N,C/2,H,W,C%2");
    gather_check(&l, 4, dims, x, T2C_INT8, -7, want, 16, "V[s0][s1*2+s4][s2][s3]", out);
}

/* Block size not dividing, %B before /B, numbered dims: [2, 3] int16 m[r][c] = r·3 + c − 2,
 * desc 1%2,0,1/2: axes (1,2,1) (0,2,1) (1,2,2), stored[ci][r][cb] = m[r][cb·2+ci]:
 * ci 0: r0 → c0 c2 = −2 0, r1 → 1 3; ci 1: r0 → c1 P = −1 P, r1 → 2 P. */
static void test_numbered_dims_and_order(void **state)
{
    (void)state;
    const int16_t m[6] = {-2, -1, 0, 1, 2, 3};
    const int64_t dims[2] = {2, 3};
    t2c_golden_layout l;
    parse_ok("desc:1%2,0,1/2", &l, "1%2,0,1/2");
    assert_int_equal(l.desc_rank, 2);
    const int64_t want[8] = {-2, 0, 1, 3, -1, 32767, 2, 32767};
    int64_t out[8];
    gather_check(&l, 2, dims, m, T2C_INT16, 32767, want, 8, "V[s1][s0+s2*2]", out);
    /* a transpose */
    parse_ok("1,0", &l, "1,0");
    const int64_t tw[6] = {-2, 1, -1, 2, 0, 3};
    gather_check(&l, 2, dims, m, T2C_INT16, 0, tw, 6, "V[s1][s0]", out);
    /* tensors of another rank keep their own order: a rank-1 bias under a rank-4 desc */
    parse_ok("N,H,W,C", &l, "N,H,W,C");
    const int32_t b[3] = {INT32_MIN, 0, INT32_MAX};
    const int64_t bw[3] = {INT32_MIN, 0, INT32_MAX};
    const int64_t bd[1] = {3};
    gather_check(&l, 1, bd, b, T2C_INT32, 0, bw, 3, "V[s0]", out);
    /* and int4 with a block of 1 (no padding) and a block larger than the dim (all padding but one) */
    parse_ok("N,C/1,H,W,C%1", &l, "N,C/1,H,W,C%1");
    const int8_t q[4] = {-8, 7, -1, 0}; /* [1, 2, 1, 2] int4 */
    const int64_t qd[4] = {1, 2, 1, 2}, qw[4] = {-8, 7, -1, 0};
    gather_check(&l, 4, qd, q, T2C_INT4, 0, qw, 4, "V[s0][s1+s4][s2][s3]", out);
    parse_ok("N,C/4,H,W,C%4", &l, "N,C/4,H,W,C%4");
    const int64_t q4[8] = {-8, -1, -8, -8, 7, 0, -8, -8}; /* pad -8 */
    gather_check(&l, 4, qd, q, T2C_INT4, -8, q4, 8, "V[s0][s1*4+s4][s2][s3]", out);
}

static void parse_bad(const char *text, const char *needle)
{
    t2c_golden_layout l = {0};
    t2c_error err = {0};
    assert_int_equal(t2c_golden_desc_parse(text, &l, &err), T2C_ERR_INVALID_ARG);
    if (!strstr(err.message, needle)) {
        fprintf(stderr, "'%s': message '%s' lacks '%s'\n", text, err.message, needle);
        fail();
    }
    assert_null(strchr(err.message, '\n'));
}

static void test_bad_descriptors(void **state)
{
    (void)state;
    parse_bad("desc:N,C/32,H,W", "without '%B'");
    parse_bad("desc:N,H,W,C%32", "without '/B'");
    parse_bad("desc:N,C,C,H,W", "appears more than once");
    parse_bad("desc:N,C,H,W,C%4", "appears more than once");
    parse_bad("desc:N,C/4,H,W,C%8", "block sizes 4 and 8");
    parse_bad("desc:N,C/0,H,W,C%0", "not in 1..2^62");
    parse_bad("desc:N,C/99999999999999999999,H,W,C%1", "not in 1..2^62");
    parse_bad("desc:X,C", "'X' does not start with a dim");
    parse_bad("desc:", "does not start with a dim");
    parse_bad("desc:N,,C", "does not start with a dim");
    parse_bad("desc:N,C/,H", "needs a block size");
    parse_bad("desc:N,C*2,H", "unexpected '*'");
    parse_bad("desc:9,0", "not below rank");
    parse_bad("desc:0/1,0%1,1/1,1%1,2/1,2%1,3/1,3%1,4/1,4%1,5/1,5%1,6", "more than 12 terms");
    /* a descriptor with tiles or another base: INVALID_ARG when planning */
    t2c_golden_layout l;
    parse_ok("N,H,W,C", &l, "N,H,W,C");
    l.tile_rows = l.tile_cols = 2;
    const int64_t dims[4] = {1, 2, 2, 2};
    t2c_golden_plan p;
    t2c_error err;
    assert_int_equal(t2c_golden_plan_tensor(&l, NULL, "input", 4, dims, &p, &err), T2C_ERR_INVALID_ARG);
    l.tile_rows = l.tile_cols = 0;
    l.base = T2C_GOLDEN_NHWC;
    assert_int_equal(t2c_golden_plan_tensor(&l, NULL, "input", 4, dims, &p, &err), T2C_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nc2hw2_dec_file),
        cmocka_unit_test(test_numbered_dims_and_order),
        cmocka_unit_test(test_bad_descriptors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
