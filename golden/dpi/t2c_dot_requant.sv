`timescale 1ns / 1ps
// t2c_dot_requant.sv — example RTL under test: a K-element int8 dot product with input zero
// point and int32 bias (one output of ops/README.md "linear", acc_bits 32), registered, then
// requantized by t2c_requant (golden/verilog/t2c_requant.v) to int8 with per-transaction
// multiplier/shift/zero point/rounding.
// BUG_ROUNDING = 1 is a deliberately wrong variant (always rounds with floor) that the
// scoreboard must catch.
module t2c_dot_requant #(
    parameter int K = 8,
    parameter int BUG_ROUNDING = 0
) (
    input  logic               clk,
    input  logic               in_valid,
    input  logic signed [7:0]  a [K],
    input  logic signed [7:0]  w [K],
    input  logic signed [31:0] bias,
    input  logic signed [31:0] a_zp,
    input  logic signed [31:0] mult,
    input  logic [5:0]         shift,
    input  logic signed [31:0] zp,
    input  logic [2:0]         mode,
    output logic               out_valid,
    output logic signed [31:0] acc,
    output logic signed [7:0]  y
);
  logic signed [31:0] mult_q, zp_q;
  logic [5:0] shift_q;
  logic [2:0] mode_q;
  logic signed [31:0] y32;
  logic [7:0] y_bits_unused;

  always_ff @(posedge clk) begin
    logic signed [31:0] sum;
    sum = bias;
    for (int k = 0; k < K; k++)
      sum = sum + (32'(a[k]) - a_zp) * 32'(w[k]);
    acc <= sum;
    mult_q <= mult;
    shift_q <= shift;
    zp_q <= zp;
    mode_q <= BUG_ROUNDING != 0 ? 3'd3 : mode;
    out_valid <= in_valid;
  end

  t2c_requant #(.IN_BITS(32), .OUT_BITS(8)) u_requant (
      .x(acc), .mult(mult_q), .shift(shift_q), .offset(64'sd0), .zp(zp_q),
      .lo(-32'sd128), .hi(32'sd127), .mode(mode_q), .y(y32), .y_bits(y_bits_unused));
  assign y = y32[7:0];
endmodule
