// sim_gen.cpp — Verilator driver for tb_gen: toggles the clock until `done`, returns 1 on errors.
#include <memory>

#include "Vtb_gen.h"
#include "verilated.h"

int main(int argc, char **argv)
{
    auto ctx = std::make_unique<VerilatedContext>();
    ctx->commandArgs(argc, argv);
    auto top = std::make_unique<Vtb_gen>(ctx.get());
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
