/* gen.h — internals of t2c-gen (seeded single-op stimulus and parameter packages). */
#ifndef T2C_GEN_H
#define T2C_GEN_H

#include <stdint.h>
#include <stdio.h>

#include "t2c.h"
#include "t2c_container.h"

/* splitmix64: the whole output is a function of the seed (never rand()). */
typedef struct gen_rng {
    uint64_t s;
} gen_rng;

uint64_t gen_next(gen_rng *r);
/* Uniform-ish integer in [lo, hi] (modulo of a 64-bit draw; deterministic on every machine). */
int64_t gen_int(gen_rng *r, int64_t lo, int64_t hi);

typedef struct gen_span {
    int64_t lo, hi;
} gen_span;

enum { GEN_MAX_LIST = 8 };

typedef struct gen_cfg {
    gen_span cin, cout, hw, k, stride, pad, m, n, kdim, rows;
    int bits[GEN_MAX_LIST];
    int n_bits;
    const char *roundings[GEN_MAX_LIST];
    int n_roundings;
    int acc_bits;  /* directed accumulator-overflow cases */
    int pe_r, pe_c;
} gen_cfg;

/* A graph input of the generated one-op model with its values. */
typedef struct gen_input {
    char name[16];
    t2c_dtype dtype;
    int rank;
    int64_t dims[T2C_MAX_RANK];
    int64_t *vals;
} gen_input;

typedef struct gen_inst {
    t2c_writer *w;
    int n_in;
    gen_input in[2];
    char desc[96]; /* "random" or the directed case's name */
} gen_inst;

extern const char *const gen_op_names[];
int gen_op_index(const char *name); /* -1 if unknown */
/* Directed cases of op `op`: their count. */
int gen_directed_count(int op, const gen_cfg *cfg);
/* Build instance `which` (-1: random) of op `op`. */
t2c_status gen_build(int op, int which, const gen_cfg *cfg, gen_rng *rng, gen_inst *inst,
                     t2c_error *err);
void gen_inst_clear(gen_inst *inst);

/* Parameter packages from a golden manifest (DIR/manifest.json). */
t2c_status gen_packages(const char *dir, const char *name, int sv, int c_header, int pe_r, int pe_c,
                        uint64_t seed, t2c_error *err);

#endif
