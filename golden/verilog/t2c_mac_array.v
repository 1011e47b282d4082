// t2c_mac_array.v — output-stationary ROWS x COLS MAC array computing one GEMM tile
//     C[r][c] = bias[c] + sum_k (A[r][k] - a_zp) * (B[c][k] - b_zp)
// exactly as the accumulator step of ops/README.md (conv2d / linear / matmul), for the GEMM view
// of a conv: A = im2col'ed input [Ho*Wo][Cin*KH*KW], B = weights [Cout][Cin*KH*KW], k in the
// recipe's (ci, kh, kw) order.
//
// Each cycle with `en` high, every PE (r, c) adds the product of row operand r and column
// operand c (one k step; the operands are broadcast along rows and columns, no skew).
// `load` (priority over `en`) starts a tile: PE (r, c) takes bias[c] (use 0 without a bias).
// Zero points are subtracted once per row / column at the array edge.
//
// Accumulator: ACC_BITS wide (2..32, the t2c range). After loading the bias and after every
// addition, a value outside [-2^(ACC_BITS-1), 2^(ACC_BITS-1)-1] is handled by OVERFLOW:
//   0 "error"    — the value wraps and the PE's sticky `ovf` flag is set (the engine fails the op);
//   1 "wrap"     — two's complement wrap to ACC_BITS bits;
//   2 "saturate" — clamped to the nearest bound (the result depends on the k order).
// Element widths: A_BITS/B_BITS (4 or 8; any width 2..16 works), signed or unsigned;
// a_zp / b_zp are signed (A_BITS+1 / B_BITS+1 bits: uint8's 255 needs 9) and in the element's range.
`timescale 1ns / 1ps
`default_nettype none

module t2c_mac_array #(
    parameter ROWS = 4,
    parameter COLS = 4,
    parameter A_BITS = 8,
    parameter A_SIGNED = 1,
    parameter B_BITS = 8,
    parameter B_SIGNED = 1,
    parameter ACC_BITS = 32,
    parameter OVERFLOW = 0
) (
    input  wire                        clk,
    input  wire                        load,     // start a tile: acc <= bias
    input  wire                        en,       // one k step: acc <= acc + da * db
    input  wire [ROWS*A_BITS-1:0]      a_vec,    // element r in bits [r*A_BITS +: A_BITS]
    input  wire [COLS*B_BITS-1:0]      b_vec,    // element c in bits [c*B_BITS +: B_BITS]
    input  wire signed [A_BITS:0]      a_zp,
    input  wire signed [B_BITS:0]      b_zp,
    input  wire [COLS*32-1:0]          bias_vec, // int32 bias of column c in bits [c*32 +: 32]
    output wire [ROWS*COLS*ACC_BITS-1:0] acc_flat, // PE (r, c) in bits [(r*COLS+c)*ACC_BITS +: ACC_BITS]
    output wire [ROWS*COLS-1:0]        ovf_flat  // sticky overflow flag of PE (r, c) (OVERFLOW = 0)
);
    // a - a_zp needs A_BITS+2 signed bits: |a - zp| < 2^A_BITS for any element and zero point.
    localparam DA_BITS = A_BITS + 2;
    localparam DB_BITS = B_BITS + 2;

    wire signed [DA_BITS-1:0] da [0:ROWS-1];
    wire signed [DB_BITS-1:0] db [0:COLS-1];

    genvar r, c;
    generate
        for (r = 0; r < ROWS; r = r + 1) begin : g_row_edge
            wire [A_BITS-1:0] a_raw = a_vec[r*A_BITS +: A_BITS];
            wire signed [DA_BITS-1:0] a_ext = {{2{A_SIGNED ? a_raw[A_BITS-1] : 1'b0}}, a_raw};
            assign da[r] = a_ext - {a_zp[A_BITS], a_zp};
        end
        for (c = 0; c < COLS; c = c + 1) begin : g_col_edge
            wire [B_BITS-1:0] b_raw = b_vec[c*B_BITS +: B_BITS];
            wire signed [DB_BITS-1:0] b_ext = {{2{B_SIGNED ? b_raw[B_BITS-1] : 1'b0}}, b_raw};
            assign db[c] = b_ext - {b_zp[B_BITS], b_zp};
        end
        for (r = 0; r < ROWS; r = r + 1) begin : g_pe_row
            for (c = 0; c < COLS; c = c + 1) begin : g_pe_col
                t2c_mac_pe #(
                    .DA_BITS(DA_BITS), .DB_BITS(DB_BITS), .ACC_BITS(ACC_BITS), .OVERFLOW(OVERFLOW)
                ) pe (
                    .clk(clk), .load(load), .en(en), .da(da[r]), .db(db[c]),
                    .bias(bias_vec[c*32 +: 32]),
                    .acc(acc_flat[(r*COLS+c)*ACC_BITS +: ACC_BITS]),
                    .ovf(ovf_flat[r*COLS+c])
                );
            end
        end
    endgenerate
endmodule

// One processing element: acc <= policy(acc + da * db).
/* verilator lint_off DECLFILENAME */
module t2c_mac_pe #(
    parameter DA_BITS = 10,
    parameter DB_BITS = 10,
    parameter ACC_BITS = 32,
    parameter OVERFLOW = 0
) (
    input  wire                       clk,
    input  wire                       load,
    input  wire                       en,
    input  wire signed [DA_BITS-1:0]  da,
    input  wire signed [DB_BITS-1:0]  db,
    input  wire signed [31:0]         bias,
    output reg  signed [ACC_BITS-1:0] acc,
    output reg                        ovf
);
    // Wide enough for acc + product and for the 32-bit bias without loss: the range check and
    // the policy act on the exact sum.
    localparam P_BITS = DA_BITS + DB_BITS;
    localparam S_BITS = (P_BITS > ACC_BITS ? P_BITS : ACC_BITS) + 2 > 34
                        ? (P_BITS > ACC_BITS ? P_BITS : ACC_BITS) + 2 : 34;
    localparam signed [S_BITS-1:0] ONE = 1;
    localparam signed [S_BITS-1:0] ACC_MAX = (ONE <<< (ACC_BITS - 1)) - ONE;
    localparam signed [S_BITS-1:0] ACC_MIN = -(ONE <<< (ACC_BITS - 1));

    // prod and sum are temporaries of the clocked block (computed only on load/en cycles, which
    // also keeps event-driven simulators fast); they synthesize to the PE's adder path.
    reg signed [P_BITS-1:0] prod;
    reg signed [S_BITS-1:0] sum;

    initial begin
        acc = 0;
        ovf = 1'b0;
    end

    /* verilator lint_off BLKSEQ */
    always @(posedge clk) begin
        if (load || en) begin
            prod = $signed({{DB_BITS{da[DA_BITS-1]}}, da}) * $signed({{DA_BITS{db[DB_BITS-1]}}, db});
            if (load)
                sum = {{(S_BITS-32){bias[31]}}, bias};
            else
                sum = {{(S_BITS-ACC_BITS){acc[ACC_BITS-1]}}, acc} + {{(S_BITS-P_BITS){prod[P_BITS-1]}}, prod};
            if (OVERFLOW == 2 && sum > ACC_MAX)
                acc <= ACC_MAX[ACC_BITS-1:0];
            else if (OVERFLOW == 2 && sum < ACC_MIN)
                acc <= ACC_MIN[ACC_BITS-1:0];
            else
                acc <= sum[ACC_BITS-1:0]; // in range, or wrap (policies 0 and 1)
            if (OVERFLOW == 0)            // sticky from the bias load on
                ovf <= (ovf && !load) || sum > ACC_MAX || sum < ACC_MIN;
        end
    end
    /* verilator lint_on BLKSEQ */
endmodule
/* verilator lint_on DECLFILENAME */

`default_nettype wire
