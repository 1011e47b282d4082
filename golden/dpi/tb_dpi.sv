`timescale 1ns / 1ps
// tb_dpi.sv — seeded random stimulus into t2c_dot_requant and a scoreboard that checks every
// transaction against t2c through DPI-C: the accumulator with a one-op "linear" handle
// (configured once), the int8 result with t2c_dpi_requant. The clock comes from sim_main.cpp;
// `done` and `errors` tell it when to stop and what to return. Plusargs: +n=COUNT +seed=S.
module tb_dpi #(
    parameter int K = 8,
    parameter int BUG_ROUNDING = 0
) (
    input  logic clk,
    output logic done,
    output int   errors
);
  import t2c_dpi_pkg::*;

  localparam int A_ZP = 3;
  logic in_valid = 0, out_valid;
  logic signed [7:0] a [K], w [K];
  logic signed [31:0] bias, a_zp, mult, zp, acc;
  logic [5:0] shift;
  logic [2:0] mode;
  logic signed [7:0] y;

  t2c_dot_requant #(.K(K), .BUG_ROUNDING(BUG_ROUNDING)) dut (.*);

  chandle lin;
  int n_tx = 200, seed = 1, sent = 0, checked = 0;
  // the expected-value queue: what went in, in order
  int q_a [$], q_w [$], q_bias [$], q_mult [$], q_shift [$], q_zp [$], q_mode [$];
  int xa [K], xw [K], xb [1], exp_acc [1];

  function automatic int rnd(int lo, int hi);
    return lo + int'($urandom % 32'(hi - lo + 1));
  endfunction

  initial begin
    void'($value$plusargs("n=%d", n_tx));
    void'($value$plusargs("seed=%d", seed));
    void'($urandom(seed));
    a_zp = A_ZP;
    errors = 0;
    done = 0;
    lin = t2c_dpi_op_create("linear", $sformatf("x_zero_point=%0d", A_ZP),
                            $sformatf("int8[1,%0d]; int8[1,%0d]; int32[1]", K, K), "");
    if (lin == null) begin
      $display("FAIL cannot create the linear handle: %s", t2c_dpi_last_error());
      errors = 1;
      done = 1;
    end
  end

  // driver: one new random transaction per cycle
  always_ff @(posedge clk) begin
    if (!done && sent < n_tx) begin
      for (int k = 0; k < K; k++) begin
        a[k] <= 8'(rnd(-128, 127));
        w[k] <= 8'(rnd(-128, 127));
      end
      bias <= rnd(-65536, 65535);
      mult <= rnd(1 << 29, 32'h7fffffff);
      shift <= 6'(rnd(28, 40));
      zp <= rnd(-5, 5);
      mode <= 3'(rnd(0, 4));
      in_valid <= 1;
      sent <= sent + 1;
    end else begin
      in_valid <= 0;
    end
  end

  // monitor: what the DUT accepts, in order (flattened: K values of a, then of w, per transaction)
  always_ff @(posedge clk) begin
    if (in_valid) begin
      for (int k = 0; k < K; k++) begin
        q_a.push_back(int'(a[k]));
        q_w.push_back(int'(w[k]));
      end
      q_bias.push_back(bias);
      q_mult.push_back(mult);
      q_shift.push_back(int'(shift));
      q_zp.push_back(zp);
      q_mode.push_back(int'(mode));
    end
  end

  // scoreboard: every output transaction against t2c
  always_ff @(posedge clk) begin
    if (out_valid && !done) begin
      int exp_y, m, s, e, st;
      string msg;
      e = 0;
      for (int k = 0; k < K; k++) begin
        xa[k] = q_a.pop_front();
        xw[k] = q_w.pop_front();
      end
      xb[0] = q_bias.pop_front();
      m = q_mult.pop_front();
      s = q_shift.pop_front();
      // one DPI call per statement: simulators may evaluate calls inside one expression in any order
      st = t2c_dpi_op_set_input(lin, 0, xa);
      if (st == 0) st = t2c_dpi_op_set_input(lin, 1, xw);
      if (st == 0) st = t2c_dpi_op_set_input(lin, 2, xb);
      if (st == 0) st = t2c_dpi_op_run(lin);
      if (st == 0) st = t2c_dpi_op_get_output(lin, 0, exp_acc);
      if (st != 0) begin
        $display("ERROR t2c linear: %s", t2c_dpi_last_error());
        e++;
      end
      exp_y = t2c_dpi_requant(exp_acc[0], m, s, q_zp[0], -128, 127, q_mode[0]);
      msg = t2c_dpi_last_error();
      if (msg != "") begin
        $display("ERROR t2c requant: %s", msg);
        e++;
      end
      if (acc != exp_acc[0] || int'(y) != exp_y) begin
        if (errors + e < 10)
          $display("MISMATCH tx %0d: acc %0d (expected %0d), y %0d (expected %0d), mult %0d shift %0d zp %0d mode %0d",
                   checked, acc, exp_acc[0], y, exp_y, m, s, q_zp[0], q_mode[0]);
        e++;
      end
      errors <= errors + e;
      void'(q_zp.pop_front());
      void'(q_mode.pop_front());
      checked <= checked + 1;
    end
    if (!done && sent == n_tx && checked == n_tx) begin
      if (errors == 0)
        $display("PASS %0d transactions checked against t2c", checked);
      else
        $display("FAIL %0d mismatches in %0d transactions", errors, checked);
      t2c_dpi_op_free(lin);
      done <= 1;
    end
  end
endmodule
