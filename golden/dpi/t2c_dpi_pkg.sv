`timescale 1ns / 1ps
// t2c_dpi_pkg.sv — DPI-C imports of t2c's golden model (golden/dpi/t2c_dpi.c, README.md).
package t2c_dpi_pkg;
  // requantize one accumulator (ops/README.md "requantize"); rounding: 0 half_even, 1 half_up,
  // 2 half_away, 3 floor, 4 tflite. Bad arguments return 0 and set t2c_dpi_last_error().
  import "DPI-C" function int t2c_dpi_requant(input int acc, input int mult, input int shift,
      input int zp, input int lo, input int hi, input int rounding);
  import "DPI-C" function int t2c_dpi_requant_offset(input int acc, input int mult, input int shift,
      input longint offset, input int zp, input int lo, input int hi, input int rounding);
  import "DPI-C" function string t2c_dpi_last_error();
  // one op of any type, configured once (engine/t2c_op_api.h for the spec strings)
  import "DPI-C" function chandle t2c_dpi_op_create(input string op_type, input string attrs,
      input string inputs, input string outputs);
  import "DPI-C" function void t2c_dpi_op_free(input chandle h);
  import "DPI-C" function int t2c_dpi_op_input_numel(input chandle h, input int index);
  import "DPI-C" function int t2c_dpi_op_output_numel(input chandle h, input int index);
  import "DPI-C" function int t2c_dpi_op_set_input(input chandle h, input int index, input int data[]);
  import "DPI-C" function int t2c_dpi_op_run(input chandle h);
  import "DPI-C" function int t2c_dpi_op_get_output(input chandle h, input int index, output int data[]);
endpackage
