`timescale 1ns / 1ps
// tb_gen.sv — t2c-gen stimulus into the requantize RTL (golden/verilog/t2c_requant.v), checked
// per element against both the t2c-gen golden output file and a DPI-C call into t2c.
// Configured from the instance's generated package: +define+T2C_PKG=t2c_requantize_NNNN_pkg and
// the package file on the command line; run in the instance directory (it reads the memh files
// the package names). Requantize along axis 1 (NCHW), one element per clock.
module tb_gen (
    input  logic clk,
    output logic done,
    output int   errors
);
  import t2c_dpi_pkg::*;
  import `T2C_PKG::*;

  localparam int NUMEL = int'(OP_REQUANTIZE_INPUT_NUMEL);
  localparam int IN_BITS = int'(OP_REQUANTIZE_INPUT_BITS);
  localparam int OUT_BITS = int'(OP_REQUANTIZE_OUTPUT_BITS);
  localparam int C = int'(OP_REQUANTIZE_INPUT_DIM1);
  localparam int INNER = NUMEL / (int'(OP_REQUANTIZE_INPUT_DIM0) * C);
  localparam longint ONE = 1;
  localparam int LO = int'(OP_REQUANTIZE_OUTPUT_SIGNED != 0 ? -(ONE << (OUT_BITS - 1)) : 0);
  localparam int HI = int'(OP_REQUANTIZE_OUTPUT_SIGNED != 0 ? (ONE << (OUT_BITS - 1)) - 1 : (ONE << OUT_BITS) - 1);
  localparam int MODE = OP_REQUANTIZE_ROUNDING == "half_even" ? 0 : OP_REQUANTIZE_ROUNDING == "half_up" ? 1 :
                        OP_REQUANTIZE_ROUNDING == "half_away" ? 2 : OP_REQUANTIZE_ROUNDING == "floor" ? 3 : 4;

  logic [OP_REQUANTIZE_INPUT_HEX_WORD_BITS-1:0] xin [NUMEL];
  logic [OP_REQUANTIZE_OUTPUT_HEX_WORD_BITS-1:0] gold [NUMEL];
  int i = 0;
  logic signed [IN_BITS-1:0] x;
  logic signed [31:0] mult, zp, y;
  logic signed [63:0] offset;
  logic [5:0] shift;
  logic [OUT_BITS-1:0] y_bits;

  function automatic int chan(int e);
    return (e / INNER) % C;
  endfunction

  initial begin
    $readmemh(OP_REQUANTIZE_INPUT_HEX_FILE, xin);
    $readmemh(OP_REQUANTIZE_OUTPUT_HEX_FILE, gold);
    errors = 0;
    done = 0;
  end

  // operands of element i (per-channel arrays: element c at [c*EW +: EW], or one value)
  always_comb begin
    int c, cm, cs, co;
    c = chan(i < NUMEL ? i : 0);
    cm = OP_REQUANTIZE_MULTIPLIER_COUNT == 1 ? 0 : c;
    cs = OP_REQUANTIZE_SHIFT_COUNT == 1 ? 0 : c;
    co = OP_REQUANTIZE_OFFSET_COUNT == 1 ? 0 : c;
    x = IN_BITS'(xin[i < NUMEL ? i : 0]);
    mult = 32'(OP_REQUANTIZE_MULTIPLIER[cm * OP_REQUANTIZE_MULTIPLIER_EW +: OP_REQUANTIZE_MULTIPLIER_EW]);
    shift = 6'(OP_REQUANTIZE_SHIFT[cs * OP_REQUANTIZE_SHIFT_EW +: OP_REQUANTIZE_SHIFT_EW]);
    offset = 64'($signed(OP_REQUANTIZE_OFFSET[co * OP_REQUANTIZE_OFFSET_EW +: OP_REQUANTIZE_OFFSET_EW]));
    zp = 32'(OP_REQUANTIZE_ZERO_POINT);
  end

  t2c_requant #(.IN_BITS(IN_BITS), .OUT_BITS(OUT_BITS)) dut (
      .x(x), .mult(mult), .shift(shift), .offset(offset), .zp(zp), .lo(LO), .hi(HI),
      .mode(3'(MODE)), .y(y), .y_bits(y_bits));

  always_ff @(posedge clk) begin
    if (!done && i < NUMEL) begin
      int exp_y;
      string msg;
      exp_y = t2c_dpi_requant_offset(int'(x), mult, int'(shift), offset, zp, LO, HI, MODE);
      msg = t2c_dpi_last_error();
      if (msg != "" || y != exp_y || y_bits != OUT_BITS'(gold[i])) begin
        if (errors < 10)
          $display("MISMATCH element %0d (channel %0d): x %0d, rtl %0d, t2c %0d, file %0d %s", i, chan(i),
                   x, y, exp_y, gold[i], msg);
        errors <= errors + 1;
      end
      i <= i + 1;
    end else if (!done) begin
      if (errors == 0)
        $display("PASS %0d t2c-gen elements checked (file and DPI-C)", NUMEL);
      else
        $display("FAIL %0d mismatches in %0d elements", errors, NUMEL);
      done <= 1;
    end
  end
endmodule
