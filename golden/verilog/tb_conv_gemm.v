// tb_conv_gemm.v — runs one conv2d (or linear) layer as GEMM tiles on t2c_mac_array and
// t2c_requant, and compares every accumulator and every requantized output with golden files.
//
// GEMM view of a conv (batch BATCH, output HO x WO, GROUP groups, K = Cin/GROUP*KH*KW):
//   A   = im2col'ed input, row r = (n*HO + oh)*WO + ow, column g*K + k (padding = a_zp)
//   B   = weights [N = Cout][K]: the weight tensor [Cout][Cin/GROUP][KH][KW] (or [Cout][KH][KW][Cin/G])
//   acc = bias[c] + sum_k (A[r][g*K+k] - a_zp) * (B[c][k] - b_zp), g = c / (N/GROUP), k in file order
//   out = requantize(acc)
// A linear layer is HO = WO = 1, BATCH rows, KH = KW = 1.
//
// Data files ($readmemh, e.g. t2c-golden "hex"): one word per line, `word_bits` wide, holding
// `epw` elements of `bits` bits each: element j of a word at bits [j*bits +: bits]
// (msb_first = 0) or [(epw-1-j)*bits +: bits] (msb_first = 1); bits above epw*bits are ignored;
// the last word may be partly used. `@addr` lines and `//` comments are allowed.
//
// File layouts (plusargs):
//   +a_layout=0  A as [M][GROUP*K] rows                         (im2col, row-major)
//   +a_layout=1  A as [BATCH][GROUP*K][HO*WO]                     (t2c-golden "gemm"/"gemm_hwc")
//   +a_layout=2  the input image NCHW [BATCH][CIN][H][W]; this testbench does the im2col
//   +a_layout=3  the input image NHWC [BATCH][H][W][CIN]; likewise
//       (2, 3: +k_order=0 for k = (ci, kh, kw) [default], 1 for (kh, kw, ci), as the weights)
//   +acc_layout, +out_layout = 0  NCHW [BATCH][N][HO][WO] (t2c-golden "nchw" and "gemm")
//                            = 1  [M][N] = NHWC                    (t2c-golden "nhwc")
//
// Plusargs (defaults in brackets):
//   +a= +b= +bias= +acc= +out= +mult= +shift= +offset=   file names. +bias if HAS_BIAS; +acc is
//       optional (without it accumulators are only requantized); +out, +mult, +shift if
//       HAS_REQ, +offset optional (default 0) (mult/shift/offset: NPARAM values, 1 or N)
//   +word_bits=[32] +msb_first=[0]          packing defaults for every file
//   +<f>_wb= +<f>_epw= +<f>_msb= +<f>_bits= +<f>_signed=   per file f in a b bias acc out mult
//       shift offset; bits default A_BITS, B_BITS, 32, 32, OUT_BITS, 64, 64, 64; signed as the
//       datapath (shift unsigned); word bits default max(word_bits, bits); epw word bits / bits
//   +a_zp=[0] +b_zp=[0]                      input / weight zero points
//   +out_zp=[0] +lo= +hi= [output range]     requantize zero point and clamp bounds
//   +rounding=[half_even]                    half_even half_up half_away floor tflite
//   +max_print=[1]                           mismatches printed in full
// Output: "MISMATCH acc|out ..." lines with the GEMM (row, col) and the (n, c, h, w) coordinate,
// expected and actual values; then "PASS ..." (exit status 0) or "FAIL <n> mismatches" followed
// by $fatal (nonzero exit status); "FAIL <n> errors" for missing files or words and bad
// plusargs. Missing words are detected by Icarus (4-state memories stay x), not by Verilator.
`timescale 1ns / 1ps
`default_nettype none

// A simulation-only module: blocking assignments in the clock generator, unused index bits.
/* verilator lint_off BLKSEQ */
/* verilator lint_off UNUSEDSIGNAL */
module tb_conv_gemm;
    // array and datapath
    parameter ROWS = 4;
    parameter COLS = 4;
    parameter A_BITS = 8;
    parameter A_SIGNED = 1;
    parameter B_BITS = 8;
    parameter B_SIGNED = 1;
    parameter ACC_BITS = 32;
    parameter OVERFLOW = 0;      // 0 error, 1 wrap, 2 saturate
    parameter OUT_BITS = 8;
    parameter OUT_SIGNED = 1;
    // layer
    parameter BATCH = 1;
    parameter HO = 1;
    parameter WO = 1;
    parameter K = 1;             // per-group reduction length (a weight row)
    parameter N = 1;             // Cout
    parameter GROUP = 1;
    parameter NPARAM = 1;        // requantize values: 1 or N
    parameter HAS_BIAS = 1;
    parameter HAS_REQ = 1;
    // conv geometry, for +a_layout=2/3 (the testbench's im2col)
    parameter CIN = 1;
    parameter H = 1;
    parameter W = 1;
    parameter KH = 1;
    parameter KW = 1;
    parameter SH = 1;
    parameter SW = 1;
    parameter PT = 0;            // pads top, left
    parameter PL = 0;
    parameter DH = 1;
    parameter DW = 1;
    parameter WMAX = 64;         // widest word_bits allowed (>= 64)

    localparam M = BATCH * HO * WO;
    localparam KA = GROUP * K;   // row length of A
    localparam A_IMG = BATCH * CIN * H * W;
    localparam A_COUNT = M * KA > A_IMG ? M * KA : A_IMG;
    localparam NG = N / GROUP;   // output channels per group

    reg clk = 1'b0;
    always #5 clk = ~clk;

    // ---------------------------------------------------------------- files and packing
    localparam F_A = 0, F_B = 1, F_BIAS = 2, F_ACC = 3, F_OUT = 4, F_MULT = 5, F_SHIFT = 6,
               F_OFFSET = 7;
    reg [WMAX-1:0] mem_a [0:A_COUNT-1];
    reg [WMAX-1:0] mem_b [0:N*K-1];
    reg [WMAX-1:0] mem_bias [0:N-1];
    reg [WMAX-1:0] mem_acc [0:M*N-1];
    reg [WMAX-1:0] mem_out [0:M*N-1];
    reg [WMAX-1:0] mem_mult [0:NPARAM-1];
    reg [WMAX-1:0] mem_shift [0:NPARAM-1];
    reg [WMAX-1:0] mem_offset [0:NPARAM-1];
    // A and B unpacked once after loading: the MAC loop reads elements, not words
    reg [A_BITS-1:0] elem_a [0:A_COUNT-1];
    reg [B_BITS-1:0] elem_b [0:N*K-1];

    integer f_wb [0:7];
    integer f_epw [0:7];
    integer f_msb [0:7];
    integer f_bits [0:7];
    integer f_sgn [0:7];
    integer f_count [0:7];       // elements the file must hold

    reg [8*1024-1:0] fn;
    reg [8*16-1:0] rstr;
    integer word_bits, msb_first, a_layout, k_order, acc_layout, out_layout, max_print, have_acc;
    integer have_offset;
    integer errors, mismatches, checked_acc, checked_out;

    function [WMAX-1:0] word_of;
        input integer f, i;
        case (f)
            F_A: word_of = mem_a[i];
            F_B: word_of = mem_b[i];
            F_BIAS: word_of = mem_bias[i];
            F_ACC: word_of = mem_acc[i];
            F_OUT: word_of = mem_out[i];
            F_MULT: word_of = mem_mult[i];
            F_SHIFT: word_of = mem_shift[i];
            default: word_of = mem_offset[i];
        endcase
    endfunction

    // Element `idx` of file f: its `bits` bits, sign- or zero-extended.
    function signed [63:0] get;
        input integer f, idx;
        integer lane, pos, nb;
        reg [WMAX-1:0] word;
        reg [63:0] v;
        begin
            word = word_of(f, idx / f_epw[f]);
            lane = idx % f_epw[f];
            nb = f_bits[f];
            pos = f_msb[f] != 0 ? (f_epw[f] - 1 - lane) * nb : lane * nb;
            word = word >> pos;
            v = word[63:0] << (64 - nb);  // the element in the top bits, then shifted back
            get = f_sgn[f] != 0 ? $signed(v) >>> (64 - nb) : $signed(v >> (64 - nb));
        end
    endfunction

    function integer words_of;
        input integer f;
        words_of = (f_count[f] + f_epw[f] - 1) / f_epw[f];
    endfunction

    // Packing and file of f: +<name>_wb, _epw, _msb, _bits over the defaults; load the words.
    task open_file;
        input integer f;
        input [8*8-1:0] name;
        input integer bits, sgn, count, required;
        reg [8*32-1:0] key;
        integer v, i;
        reg [WMAX-1:0] w, mask;
        begin
            f_bits[f] = bits;
            $sformat(key, "%0s_bits=%%d", name);
            if ($value$plusargs(key, v)) f_bits[f] = v;
            f_sgn[f] = sgn;
            $sformat(key, "%0s_signed=%%d", name);
            if ($value$plusargs(key, v)) f_sgn[f] = v;
            f_count[f] = count;
            f_wb[f] = word_bits > f_bits[f] ? word_bits : f_bits[f];
            $sformat(key, "%0s_wb=%%d", name);
            if ($value$plusargs(key, v)) f_wb[f] = v;
            f_epw[f] = f_bits[f] > 0 ? f_wb[f] / f_bits[f] : 1;
            $sformat(key, "%0s_epw=%%d", name);
            if ($value$plusargs(key, v)) f_epw[f] = v;
            f_msb[f] = msb_first;
            $sformat(key, "%0s_msb=%%d", name);
            if ($value$plusargs(key, v)) f_msb[f] = v;
            if (f_bits[f] < 1 || f_bits[f] > 64 || f_wb[f] < 1 || f_wb[f] > WMAX || f_epw[f] < 1
                    || f_epw[f] * f_bits[f] > f_wb[f]) begin
                $display("ERROR: %0s: %0d elements of %0d bits do not fit a %0d-bit word (WMAX %0d)",
                         name, f_epw[f], f_bits[f], f_wb[f], WMAX);
                errors = errors + 1;
                f_bits[f] = 1;
                f_epw[f] = 1;
                f_wb[f] = 1;
            end
            $sformat(key, "%0s=%%s", name);
            if (!$value$plusargs(key, fn)) begin
                if (required != 0) begin
                    $display("ERROR: +%0s=FILE is required", name);
                    errors = errors + 1;
                end
            end else if (errors == 0) begin
                case (f)
                    F_A: $readmemh(fn, mem_a, 0, words_of(f) - 1);
                    F_B: $readmemh(fn, mem_b, 0, words_of(f) - 1);
                    F_BIAS: $readmemh(fn, mem_bias, 0, words_of(f) - 1);
                    F_ACC: $readmemh(fn, mem_acc, 0, words_of(f) - 1);
                    F_OUT: $readmemh(fn, mem_out, 0, words_of(f) - 1);
                    F_MULT: $readmemh(fn, mem_mult, 0, words_of(f) - 1);
                    F_SHIFT: $readmemh(fn, mem_shift, 0, words_of(f) - 1);
                    default: $readmemh(fn, mem_offset, 0, words_of(f) - 1);
                endcase
                // every word the layer needs is there (an unread word stays x)
                mask = {WMAX{1'b1}} >> (WMAX - f_wb[f]);
                for (i = 0; i < words_of(f); i = i + 1) begin
                    w = word_of(f, i) & mask;
                    if (^w === 1'bx) begin
                        $display("ERROR: %0s: file has no word %0d (needs %0d words)", name, i,
                                 words_of(f));
                        errors = errors + 1;
                        i = words_of(f);
                    end
                end
            end
        end
    endtask

    // ---------------------------------------------------------------- datapath
    reg load = 1'b0, en = 1'b0;
    reg [ROWS*A_BITS-1:0] a_vec = 0;
    reg [COLS*B_BITS-1:0] b_vec = 0;
    reg [ROWS*A_BITS-1:0] a_next = 0;
    reg [COLS*B_BITS-1:0] b_next = 0;
    reg [COLS*32-1:0] bias_vec = 0;
    reg signed [31:0] a_zp = 0, b_zp = 0;
    wire [ROWS*COLS*ACC_BITS-1:0] acc_flat;
    wire [ROWS*COLS-1:0] ovf_flat;

    t2c_mac_array #(
        .ROWS(ROWS), .COLS(COLS), .A_BITS(A_BITS), .A_SIGNED(A_SIGNED), .B_BITS(B_BITS),
        .B_SIGNED(B_SIGNED), .ACC_BITS(ACC_BITS), .OVERFLOW(OVERFLOW)
    ) dut (
        .clk(clk), .load(load), .en(en), .a_vec(a_vec), .b_vec(b_vec), .a_zp(a_zp[A_BITS:0]),
        .b_zp(b_zp[B_BITS:0]), .bias_vec(bias_vec), .acc_flat(acc_flat), .ovf_flat(ovf_flat)
    );

    // One requantize unit per column, fed with the accumulators of one row at a time (the
    // drain registers q_x, so the units do not re-evaluate on every MAC cycle).
    reg [ACC_BITS-1:0] q_x [0:COLS-1];
    reg signed [31:0] q_mult [0:COLS-1];
    reg [5:0] q_shift [0:COLS-1];
    reg signed [63:0] q_offset [0:COLS-1];
    reg signed [31:0] out_zp = 0, lo = 0, hi = 0;
    reg [2:0] mode = 3'd0;
    wire signed [31:0] q_y [0:COLS-1];

    genvar gc;
    generate
        for (gc = 0; gc < COLS; gc = gc + 1) begin : g_req
            wire [OUT_BITS-1:0] y_bits;
            t2c_requant #(.IN_BITS(ACC_BITS), .OUT_BITS(OUT_BITS)) rq (
                .x(q_x[gc]), .mult(q_mult[gc]),
                .shift(q_shift[gc]), .offset(q_offset[gc]), .zp(out_zp), .lo(lo), .hi(hi),
                .mode(mode), .y(q_y[gc]), .y_bits(y_bits)
            );
        end
    endgenerate

    // ---------------------------------------------------------------- addressing
    integer n_, h_, w_;

    task coord;                  // GEMM row -> (n, oh, ow)
        input integer grow;
        begin
            n_ = grow / (HO * WO);
            h_ = (grow % (HO * WO)) / WO;
            w_ = grow % WO;
        end
    endtask

    function integer out_index;  // element (row, col) in an acc/out file
        input integer grow, gcol, layout;
        begin
            if (layout == 1)
                out_index = grow * N + gcol;
            else
                out_index = ((grow / (HO * WO)) * N + gcol) * (HO * WO) + grow % (HO * WO);
        end
    endfunction

    // Index of A[grow][kk] (kk = g*K + k) in the A file, or -1 for a padded position.
    function integer a_index;
        input integer grow, kk;
        integer n, p, g, k, ci, kh, kw, ih, iw, cg;
        begin
            n = grow / (HO * WO);
            p = grow % (HO * WO);
            if (a_layout == 0)
                a_index = grow * KA + kk;
            else if (a_layout == 1)
                a_index = (n * KA + kk) * (HO * WO) + p;
            else begin
                cg = CIN / GROUP;
                g = kk / K;
                k = kk % K;
                if (k_order == 0) begin
                    ci = k / (KH * KW);
                    kh = (k / KW) % KH;
                    kw = k % KW;
                end else begin
                    kh = k / (KW * cg);
                    kw = (k / cg) % KW;
                    ci = k % cg;
                end
                ci = g * cg + ci;
                ih = (p / WO) * SH - PT + kh * DH;
                iw = (p % WO) * SW - PL + kw * DW;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                    a_index = -1;
                else if (a_layout == 2)
                    a_index = ((n * CIN + ci) * H + ih) * W + iw;
                else
                    a_index = ((n * H + ih) * W + iw) * CIN + ci;
            end
        end
    endfunction

    // ---------------------------------------------------------------- run
    integer r0, c0, cend, g, r, c, k, row, col, pi, tmp;
    reg signed [63:0] expv, gotv, tv;

    initial begin
        errors = 0;
        mismatches = 0;
        checked_acc = 0;
        checked_out = 0;
        if (!$value$plusargs("word_bits=%d", word_bits)) word_bits = 32;
        if (!$value$plusargs("msb_first=%d", msb_first)) msb_first = 0;
        if (!$value$plusargs("a_layout=%d", a_layout)) a_layout = 0;
        if (!$value$plusargs("k_order=%d", k_order)) k_order = 0;
        if (!$value$plusargs("acc_layout=%d", acc_layout)) acc_layout = 0;
        if (!$value$plusargs("out_layout=%d", out_layout)) out_layout = 0;
        if (!$value$plusargs("max_print=%d", max_print)) max_print = 1;
        if ($value$plusargs("a_zp=%d", tmp)) a_zp = tmp;
        if ($value$plusargs("b_zp=%d", tmp)) b_zp = tmp;
        if ($value$plusargs("out_zp=%d", tmp)) out_zp = tmp;
        lo = OUT_SIGNED ? -(32'sd1 <<< (OUT_BITS - 1)) : 32'sd0;
        hi = OUT_SIGNED ? (32'sd1 <<< (OUT_BITS - 1)) - 32'sd1 : (32'sd1 <<< OUT_BITS) - 32'sd1;
        if ($value$plusargs("lo=%d", tmp)) lo = tmp;
        if ($value$plusargs("hi=%d", tmp)) hi = tmp;
        rstr = "half_even";
        if ($value$plusargs("rounding=%s", rstr)) ;
        if (rstr == "half_even") mode = 3'd0;
        else if (rstr == "half_up") mode = 3'd1;
        else if (rstr == "half_away") mode = 3'd2;
        else if (rstr == "floor") mode = 3'd3;
        else if (rstr == "tflite") mode = 3'd4;
        else begin
            $display("ERROR: +rounding=%0s is not one of half_even half_up half_away floor tflite", rstr);
            errors = errors + 1;
        end
        if (a_layout < 0 || a_layout > 3 || WMAX < 64 || N % GROUP != 0
                || (a_layout >= 2 && (CIN % GROUP != 0 || K != CIN / GROUP * KH * KW))) begin
            $display("ERROR: a_layout %0d, WMAX %0d, GROUP %0d: N, CIN, K = CIN/GROUP*KH*KW do not fit",
                     a_layout, WMAX, GROUP);
            errors = errors + 1;
        end

        open_file(F_A, "a", A_BITS, A_SIGNED, a_layout >= 2 ? A_IMG : M * KA, 1);
        open_file(F_B, "b", B_BITS, B_SIGNED, N * K, 1);
        open_file(F_BIAS, "bias", 32, 1, N, HAS_BIAS);
        open_file(F_ACC, "acc", 32, 1, M * N, 0);
        have_acc = $value$plusargs("acc=%s", fn);
        if (HAS_REQ != 0) begin
            open_file(F_OUT, "out", OUT_BITS, OUT_SIGNED, M * N, 1);
            open_file(F_MULT, "mult", 64, 1, NPARAM, 1);
            open_file(F_SHIFT, "shift", 64, 0, NPARAM, 1);
            open_file(F_OFFSET, "offset", 64, 1, NPARAM, 0);
            have_offset = $value$plusargs("offset=%s", fn);
        end
        if (errors != 0) begin
            $display("FAIL %0d errors", errors);
            $fatal(1, "tb_conv_gemm: %0d errors", errors);
        end
        for (k = 0; k < f_count[F_A]; k = k + 1) begin
            tv = get(F_A, k);
            elem_a[k] = tv[A_BITS-1:0];
        end
        for (k = 0; k < N * K; k = k + 1) begin
            tv = get(F_B, k);
            elem_b[k] = tv[B_BITS-1:0];
        end

        for (r0 = 0; r0 < M; r0 = r0 + ROWS) begin
            for (g = 0; g < GROUP; g = g + 1) begin
                for (c0 = g * NG; c0 < (g + 1) * NG; c0 = c0 + COLS) begin
                    cend = (g + 1) * NG;   // a tile's columns stay in one group
                    // start the tile: bias and this tile's requantize parameters
                    for (c = 0; c < COLS; c = c + 1) begin
                        col = c0 + c;
                        tv = (HAS_BIAS != 0 && col < cend) ? get(F_BIAS, col) : 64'sd0;
                        bias_vec[c*32 +: 32] = tv[31:0];
                        pi = NPARAM == 1 ? 0 : (col < cend ? col : 0);
                        if (HAS_REQ != 0) begin
                            tv = get(F_MULT, pi);
                            q_mult[c] = tv[31:0];
                            tv = get(F_SHIFT, pi);
                            q_shift[c] = tv[5:0];
                            q_offset[c] = have_offset != 0 ? get(F_OFFSET, pi) : 64'sd0;
                        end
                    end
                    load = 1'b1;
                    @(posedge clk); #1;
                    load = 1'b0;
                    // K steps; rows/columns past the matrix get the zero point (product 0)
                    en = 1'b1;
                    for (k = 0; k < K; k = k + 1) begin
                        // built in temporaries, then driven once (one event per cycle)
                        for (r = 0; r < ROWS; r = r + 1) begin
                            pi = r0 + r < M ? a_index(r0 + r, g * K + k) : -1;
                            a_next[r*A_BITS +: A_BITS] = pi < 0 ? a_zp[A_BITS-1:0] : elem_a[pi];
                        end
                        for (c = 0; c < COLS; c = c + 1)
                            b_next[c*B_BITS +: B_BITS] = c0 + c < cend ? elem_b[(c0 + c) * K + k]
                                                                      : b_zp[B_BITS-1:0];
                        a_vec = a_next;
                        b_vec = b_next;
                        @(posedge clk); #1;
                    end
                    en = 1'b0;
                    // drain: compare accumulators and requantized outputs, one row at a time
                    for (r = 0; r < ROWS && r0 + r < M; r = r + 1) begin
                        for (c = 0; c < COLS; c = c + 1)
                            q_x[c] = acc_flat[(r*COLS+c)*ACC_BITS +: ACC_BITS];
                        #1;
                        row = r0 + r;
                        coord(row);
                        for (c = 0; c < COLS && c0 + c < cend; c = c + 1) begin
                            col = c0 + c;
                            tv = {{(64-ACC_BITS){acc_flat[(r*COLS+c)*ACC_BITS+ACC_BITS-1]}},
                                  acc_flat[(r*COLS+c)*ACC_BITS +: ACC_BITS]};
                            gotv = tv;
                            if (OVERFLOW == 0 && ovf_flat[r*COLS+c]) begin
                                mismatches = mismatches + 1;
                                if (mismatches <= max_print)
                                    $display("MISMATCH acc (row %0d, col %0d) = (n %0d, c %0d, h %0d, w %0d): accumulator overflow (acc_bits %0d, policy error)",
                                             row, col, n_, col, h_, w_, ACC_BITS);
                            end
                            if (have_acc != 0) begin
                                expv = get(F_ACC, out_index(row, col, acc_layout));
                                checked_acc = checked_acc + 1;
                                if (expv !== gotv) begin
                                    mismatches = mismatches + 1;
                                    if (mismatches <= max_print)
                                        $display("MISMATCH acc (row %0d, col %0d) = (n %0d, c %0d, h %0d, w %0d): expected %0d, got %0d",
                                                 row, col, n_, col, h_, w_, expv, gotv);
                                end
                            end
                            if (HAS_REQ != 0) begin
                                expv = get(F_OUT, out_index(row, col, out_layout));
                                checked_out = checked_out + 1;
                                tv = {{32{q_y[c][31]}}, q_y[c]};
                                if (expv !== tv) begin
                                    mismatches = mismatches + 1;
                                    if (mismatches <= max_print)
                                        $display("MISMATCH out (n %0d, c %0d, h %0d, w %0d) = (row %0d, col %0d): expected %0d, got %0d (acc %0d)",
                                                 n_, col, h_, w_, row, col, expv, tv, gotv);
                                end
                            end
                        end
                    end
                end
            end
        end
        if (mismatches == 0)
            $display("PASS %0d accumulators, %0d outputs (M %0d, K %0d, N %0d, group %0d, array %0dx%0d, rounding %0s)",
                     checked_acc, checked_out, M, K, N, GROUP, ROWS, COLS, rstr);
        else begin
            $display("FAIL %0d mismatches", mismatches);
            $fatal(1, "tb_conv_gemm: %0d mismatches", mismatches);
        end
        $finish;
    end
endmodule
/* verilator lint_on UNUSEDSIGNAL */
/* verilator lint_on BLKSEQ */

`default_nettype wire
