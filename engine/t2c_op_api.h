/* t2c_op_api.h — one op at a time: configure once, call per transaction.
 *
 * For testbenches (SystemVerilog DPI-C scoreboards, cocotb via ctypes): a handle holds one op of
 * any registered type with fixed attributes and fixed input shapes; each call runs the op's
 * reference kernel (the spec, ops/README.md) on new input values. No model file is involved.
 *
 * Only plain C types cross this API (strings, ints, pointers to element arrays, an opaque
 * handle), so it binds directly to DPI-C and ctypes. Nothing aborts on bad data: every failing
 * call returns a status and fills `err` (may be NULL); t2c_op_last_error(h) keeps the last
 * message per handle for callers that cannot pass a t2c_error (DPI).
 *
 * Text arguments
 *   attrs:   "key=value; key=value" (items separated by ';', list elements by ','). A value is
 *            - an int ("-3"), or an int array in brackets ("[1,1]", "[1073741824]"): ops that take
 *              per-channel arrays (requantize multiplier/shift/offset, conv2d strides/pads) need
 *              the brackets even for one value;
 *            - a float ("0.5"), a float array ("[0.5,0.25]") — boundary ops only;
 *            - otherwise a string ("half_even", "saturate").
 *   inputs:  one spec per op input, separated by ';': "DTYPE[d0,d1,...]", e.g.
 *            "int8[1,3,8,8]; int8[4,3,3,3]; int32[4]"; "-" omits an optional input (e.g. bias).
 *   outputs: one dtype per op output ("int8"), or "" / "-" for ops that choose it (int32 accs).
 *
 * Element buffers are the engine's memory layout: row-major, one element per byte for
 * int4/uint4 (int8_t -8..7 / uint8_t 0..15), native-endian 16/32/64-bit integers, float32.
 * The *_int calls convert from/to int32 arrays instead (what an SV `int` open array is).
 */
#ifndef T2C_OP_API_H
#define T2C_OP_API_H

#include <stdint.h>

#include "t2c.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct t2c_op_handle t2c_op_handle;

/* Parse the specs, run the op's prepare (attribute and shape checks, output shapes) and
 * allocate buffers. NULL on error (err filled). */
t2c_op_handle *t2c_op_create(const char *type, const char *attrs, const char *inputs,
                             const char *outputs, t2c_error *err);
void t2c_op_free(t2c_op_handle *h);

int t2c_op_input_count(const t2c_op_handle *h);
int t2c_op_output_count(const t2c_op_handle *h);
/* Dtype/rank/dims of input/output i (an omitted input gives NULL); data is the handle's copy. */
const t2c_tensor *t2c_op_input(const t2c_op_handle *h, int index);
const t2c_tensor *t2c_op_output(const t2c_op_handle *h, int index);
/* Elements of input/output i (0 for an omitted input or a bad index). */
int64_t t2c_op_input_numel(const t2c_op_handle *h, int index);
int64_t t2c_op_output_numel(const t2c_op_handle *h, int index);
/* The last error message of this handle ("" after a successful call). Never NULL. */
const char *t2c_op_last_error(const t2c_op_handle *h);

/* Store input i's elements in the handle (copied; memory layout above). Stored inputs are used
 * by t2c_op_run and for NULL entries of t2c_op_call: set weights/bias once, then stream
 * activations. int4/uint4 values outside their range are rejected (T2C_ERR_INVALID_ARG). */
t2c_status t2c_op_set_param(t2c_op_handle *h, int index, const void *data, t2c_error *err);
/* The same from int32 values; `count` must equal the input's element count, and each value must
 * fit the input's dtype. */
t2c_status t2c_op_set_input_int(t2c_op_handle *h, int index, const int32_t *data, int64_t count,
                                t2c_error *err);

/* Run on the stored inputs; outputs stay in the handle. Every input must have been set. */
t2c_status t2c_op_run(t2c_op_handle *h, t2c_error *err);
/* Output i after a run, converted to int32 (`count` = its element count; int64 values outside
 * int32 and float32 outputs give T2C_ERR_DTYPE). */
t2c_status t2c_op_get_output_int(const t2c_op_handle *h, int index, int32_t *data, int64_t count,
                                 t2c_error *err);
/* Output i's data after a run (memory layout above), NULL for a bad index. */
const void *t2c_op_output_data(const t2c_op_handle *h, int index);

/* One transaction: inputs[i] (NULL = the stored input i) -> outputs[i] (NULL = keep only in the
 * handle). Buffers hold exactly numel elements in memory layout. Inputs given here are not
 * stored. */
t2c_status t2c_op_call(t2c_op_handle *h, const void *const *inputs, void *const *outputs,
                       t2c_error *err);

#ifdef __cplusplus
}
#endif
#endif /* T2C_OP_API_H */
