// sim_main.cpp — Verilator driver for tb_dpi: toggles the clock until `done`, returns 1 on errors.
#include <memory>

#include "Vtb_dpi.h"
#include "verilated.h"

int main(int argc, char **argv)
{
    auto ctx = std::make_unique<VerilatedContext>();
    ctx->commandArgs(argc, argv);
    auto top = std::make_unique<Vtb_dpi>(ctx.get());
    for (long cycle = 0; !top->done && !ctx->gotFinish() && cycle < 10000000; cycle++) {
        top->clk = 0;
        top->eval();
        ctx->timeInc(1);
        top->clk = 1;
        top->eval();
        ctx->timeInc(1);
    }
    top->final();
    return top->done && top->errors == 0 ? 0 : 1;
}
