/* t2c_dpi.c — t2c's golden model as SystemVerilog DPI-C imports (golden/dpi/README.md).
 *
 * Compile with the simulator's svdpi.h on the include path and link with libt2c:
 *   cc -c -fPIC -I<sim>/include -Iengine -Iops golden/dpi/t2c_dpi.c
 * The SV side imports these (t2c_dpi_pkg.sv has the declarations):
 *   int     t2c_dpi_requant(int acc, int mult, int shift, int zp, int lo, int hi, int rounding)
 *   int     t2c_dpi_requant_offset(int acc, int mult, int shift, longint offset, int zp, int lo, int hi,
 *                                  int rounding)
 *   chandle t2c_dpi_op_create(string type, string attrs, string inputs, string outputs)
 *   int     t2c_dpi_op_set_input(chandle h, int index, input int data[])
 *   int     t2c_dpi_op_run(chandle h)
 *   int     t2c_dpi_op_get_output(chandle h, int index, output int data[])
 *   ...
 * Only ints, strings, chandles and open `int` arrays cross the boundary. Failures never abort
 * the simulation: calls return a nonzero t2c_status (or 0 / null) and t2c_dpi_last_error()
 * says why.
 */
#include <stdint.h>
#include <stdio.h>

#include "svdpi.h"

#include "requantize.h"
#include "t2c_op_api.h"

static char last_error[512];

int t2c_dpi_requant_offset(int acc, int mult, int shift, long long offset, int zp, int lo, int hi, int rounding);

static void set_error(const char *msg)
{
    snprintf(last_error, sizeof last_error, "%s", msg);
}

const char *t2c_dpi_last_error(void)
{
    return last_error;
}

/* requantize of one int32 accumulator to an int32 result clamped to [lo, hi], with one
 * multiplier/shift (rounding in t2c_rounding numbering: 0 half_even, 1 half_up, 2 half_away,
 * 3 floor, 4 tflite), offset 0. Calls the reference kernel directly: no handle, no allocation.
 * Invalid arguments (shift outside 0..62, lo > hi, tflite with mult < 0) return 0 and set
 * t2c_dpi_last_error(); a valid call clears it. */
int t2c_dpi_requant(int acc, int mult, int shift, int zp, int lo, int hi, int rounding)
{
    return t2c_dpi_requant_offset(acc, mult, shift, 0, zp, lo, hi, rounding);
}

/* The same with the recipe's offset term (|offset| < 2^62; 0 for tflite). */
int t2c_dpi_requant_offset(int acc, int mult, int shift, long long offset, int zp, int lo, int hi, int rounding)
{
    int64_t m = mult, s = shift, off = offset;
    int32_t x_val = acc, y_val = 0;
    t2c_tensor x = {"acc", T2C_INT32, 1, {1}, &x_val, 0};
    t2c_tensor y = {"y", T2C_INT32, 1, {1}, &y_val, 0};
    t2c_requantize_params p = {&m, &s, &off, 1, 1, 1, 0, zp, lo, hi, (t2c_rounding)rounding};
    t2c_error err = {T2C_OK, ""};
    if (rounding < 0 || rounding >= T2C_ROUNDING_COUNT) {
        set_error("t2c_dpi_requant: rounding must be 0..4");
        return 0;
    }
    if (t2c_requantize_infer(&p, &x, &y, &err) != T2C_OK || t2c_requantize_ref(&p, &x, &y, &err) != T2C_OK) {
        set_error(err.message);
        return 0;
    }
    last_error[0] = '\0';
    return y_val;
}

void *t2c_dpi_op_create(const char *type, const char *attrs, const char *inputs, const char *outputs)
{
    t2c_error err = {T2C_OK, ""};
    t2c_op_handle *h = t2c_op_create(type, attrs, inputs, outputs, &err);
    if (!h)
        set_error(err.message);
    else
        last_error[0] = '\0';
    return h;
}

void t2c_dpi_op_free(void *h)
{
    t2c_op_free(h);
}

int t2c_dpi_op_input_numel(void *h, int index)
{
    return (int)t2c_op_input_numel(h, index);
}

int t2c_dpi_op_output_numel(void *h, int index)
{
    return (int)t2c_op_output_numel(h, index);
}

/* An open array's elements as one contiguous int32 buffer: the simulator's own when it gives one,
 * else copied element by element into buf (at most cap elements). */
static int32_t *array_ptr(const svOpenArrayHandle a, int32_t *buf, int cap, int *n)
{
    *n = svSize(a, 1);
    int32_t *p = svGetArrayPtr(a);
    if (p || *n > cap)
        return p;
    for (int i = 0; i < *n; i++)
        buf[i] = *(int32_t *)svGetArrElemPtr1(a, svLow(a, 1) + i);
    return buf;
}

int t2c_dpi_op_set_input(void *h, int index, const svOpenArrayHandle data)
{
    int32_t buf[4096];
    int n;
    int32_t *p = array_ptr(data, buf, 4096, &n);
    if (!p) {
        set_error("t2c_dpi_op_set_input: array is not contiguous and longer than 4096");
        return T2C_ERR_INVALID_ARG;
    }
    t2c_error err = {T2C_OK, ""};
    t2c_status st = t2c_op_set_input_int(h, index, p, n, &err);
    set_error(err.message);
    return st;
}

int t2c_dpi_op_run(void *h)
{
    t2c_error err = {T2C_OK, ""};
    t2c_status st = t2c_op_run(h, &err);
    set_error(err.message);
    return st;
}

int t2c_dpi_op_get_output(void *h, int index, const svOpenArrayHandle data)
{
    int n = svSize(data, 1);
    int32_t *p = svGetArrayPtr(data);
    t2c_error err = {T2C_OK, ""};
    t2c_status st;
    if (p) {
        st = t2c_op_get_output_int(h, index, p, n, &err);
    } else {
        int32_t buf[4096];
        if (n > 4096) {
            set_error("t2c_dpi_op_get_output: array is not contiguous and longer than 4096");
            return T2C_ERR_INVALID_ARG;
        }
        st = t2c_op_get_output_int(h, index, buf, n, &err);
        for (int i = 0; st == T2C_OK && i < n; i++)
            *(int32_t *)svGetArrElemPtr1(data, svLow(data, 1) + i) = buf[i];
    }
    set_error(err.message);
    return st;
}
