// t2c_requant.v — the requantize op of ops/README.md, one element, combinational:
//     y = clamp(scale_round(x, mult, offset, shift, mode) + zp, lo, hi)
// with scale_round and round_shift exactly as ops/README.md and ops/t2c_int.h define them.
//
// mode (t2c_rounding numbering):
//   0 half_even, 1 half_up, 2 half_away, 3 floor:
//       v = x*mult + offset (exact, |x| < 2^31, |mult| < 2^31, |offset| < 2^62, so |v| < 2^63);
//       q = floor(v / 2^s), r = v - q*2^s, h = 2^(s-1); s = 0 -> v; r < h -> q; r > h -> q+1;
//       r = h (a tie): half_even q + (q odd), half_up q + 1, half_away q + (v >= 0); floor: q.
//   4 tflite (TFLite MultiplyByQuantizedMultiplier; needs offset = 0, 0 <= mult < 2^31,
//       x in int32; offset is ignored): L = max(0, 31-s), R = max(0, s-31);
//       xx = (x * 2^L) wrapped to int32; p = xx*mult; t = trunc((p + (p >= 0 ? 2^30 : 1-2^30)) / 2^31)
//       (xx = mult = -2^31 gives 2^31-1); result = (t >> R) + ((t & (2^R-1)) > ((2^R-1) >> 1) + (t < 0)).
// shift s: 0..62. lo <= hi, both within the output dtype's range (OUT_BITS wide).
// y is the clamped value as a signed 32-bit number; y_bits is its OUT_BITS-bit encoding.
`timescale 1ns / 1ps
`default_nettype none

module t2c_requant #(
    parameter IN_BITS = 32,   // accumulator width (2..32), two's complement
    parameter OUT_BITS = 8    // width of y_bits (the output dtype's width)
) (
    input  wire signed [IN_BITS-1:0] x,
    input  wire signed [31:0]        mult,
    input  wire [5:0]                shift,
    input  wire signed [63:0]        offset,
    input  wire signed [31:0]        zp,
    input  wire signed [31:0]        lo,
    input  wire signed [31:0]        hi,
    input  wire [2:0]                mode,
    output reg  signed [31:0]        y,
    output wire [OUT_BITS-1:0]       y_bits
);
    localparam W = 66; // |x*mult + offset| < 2^63; two guard bits for q+1 and + zp
    localparam signed [W-1:0] ONE = 1;
    localparam signed [63:0] ONE64 = 1;
    localparam signed [63:0] NUDGE_POS = 64'sd1073741824;   //  2^30
    localparam signed [63:0] NUDGE_NEG = -64'sd1073741823;  //  1 - 2^30

    // operands sign-extended once, so every expression below is exact at its width
    wire signed [W-1:0] x_w = {{(W-IN_BITS){x[IN_BITS-1]}}, x};
    wire signed [W-1:0] mult_w = {{(W-32){mult[31]}}, mult};
    wire signed [W-1:0] offset_w = {{(W-64){offset[63]}}, offset};
    wire signed [W-1:0] zp_w = {{(W-32){zp[31]}}, zp};
    wire signed [W-1:0] lo_w = {{(W-32){lo[31]}}, lo};
    wire signed [W-1:0] hi_w = {{(W-32){hi[31]}}, hi};
    wire signed [63:0] mult_64 = {{32{mult[31]}}, mult};
    // tflite: x * 2^L wrapped to int32 (the low 32 bits of x_w, shifted)
    wire [5:0] left = shift < 6'd31 ? 6'd31 - shift : 6'd0;
    wire [5:0] right = shift > 6'd31 ? shift - 6'd31 : 6'd0;
    wire signed [31:0] xx = x_w[31:0] << left;
    wire signed [63:0] xx_64 = {{32{xx[31]}}, xx};

    reg signed [W-1:0] v, q, r, h, scaled, withzp;
    reg signed [63:0] p, num, t, mask, rem, thr, t_round;

    assign y_bits = y[OUT_BITS-1:0];

    always @* begin
        // half_even / half_up / half_away / floor: round_shift(x*mult + offset, s)
        v = x_w * mult_w + offset_w;
        q = v >>> shift;                 // floor(v / 2^s)
        r = v - (q <<< shift);           // 0 <= r < 2^s
        h = shift == 6'd0 ? {W{1'b0}} : (ONE <<< (shift - 6'd1));
        if (shift == 6'd0 || mode == 3'd3 || r < h)
            scaled = q;                  // s = 0: q = v exactly
        else if (r > h)
            scaled = q + ONE;
        else case (mode)                 // a tie
            3'd0: scaled = q[0] ? q + ONE : q;
            3'd1: scaled = q + ONE;
            default: scaled = v >= 0 ? q + ONE : q;
        endcase

        // tflite: SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT
        p = xx_64 * mult_64;             // |p| <= 2^62: exact
        num = p + (p >= 0 ? NUDGE_POS : NUDGE_NEG);
        t = num >= 0 ? (num >>> 31) : -((-num) >>> 31); // division truncating toward zero
        if (xx == 32'sh80000000 && mult == 32'sh80000000)
            t = 64'sd2147483647;
        mask = (ONE64 <<< right) - ONE64;
        rem = t & mask;
        thr = (mask >>> 1) + (t < 0 ? ONE64 : 64'sd0);
        t_round = (t >>> right) + (rem > thr ? ONE64 : 64'sd0);
        if (mode == 3'd4)
            scaled = {{(W-64){t_round[63]}}, t_round};

        withzp = scaled + zp_w;
        if (withzp < lo_w)
            y = lo;
        else if (withzp > hi_w)
            y = hi;
        else
            y = withzp[31:0];
    end
endmodule

`default_nettype wire
