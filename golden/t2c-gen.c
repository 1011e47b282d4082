/* t2c-gen — seeded single-op stimulus with golden outputs, and parameter packages.
 *
 * Each instance is a one-op model built in memory with the container writer, loaded, run with
 * the reference kernels on seeded inputs, and written through the golden writer (so every
 * golden format, packing and layout option applies). The seed and the options determine every
 * byte written. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>

#include "gen.h"
#include "t2c_golden.h"

#define GEN_NAME "t2c-gen"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: t2c-gen --op OP --out DIR [options]\n"
            "       t2c-gen --from-model MODEL --out DIR [--ops GLOB]... [options]\n"
            "Write seeded, random-but-legal op instances (or a model's ops) with golden vectors computed\n"
            "by the reference kernels, and optional SystemVerilog/C parameter packages.\n\n"
            "Stimulus:\n"
            "  --op OP            conv2d, linear, matmul, requantize, add, pool, softmax, layernorm, gelu\n"
            "  --seed N           PRNG seed (default 1); the output is a function of seed and options\n"
            "  --count K          random instances (default 4)\n"
            "  --directed         also write the op's directed corner cases\n"
            "  --cin A:B --cout A:B --hw A:B --k A:B --stride A:B --pad A:B\n"
            "  --m A:B --n A:B --kdim A:B --rows A:B   ranges of shapes (inclusive)\n"
            "  --bits LIST        activation/weight bit widths, from 4,8 (default 4,8)\n"
            "  --rounding LIST    from half_even,half_up,half_away,floor,tflite (default: all five)\n"
            "  --acc-bits A       accumulator width of the directed overflow cases (16..32, default 16)\n"
            "  --pe RxC           PE array (default 4x4): directed sizes off its grid; in packages\n"
            "Golden files (as t2c-golden):\n"
            "  -f, --format LIST  hex,bin,coe,mif,raw,npy,dec (default hex)\n"
            "  --pack N --word-bits W --order lsb|msb --pad-value V\n"
            "  -l, --layout nchw|nhwc|gemm|gemm_hwc --tile RxC\n"
            "Packages:\n"
            "  --sv-pkg           write t2c_<name>_pkg.sv per instance (or model)\n"
            "  --c-header         write t2c_<name>.h per instance (or model)\n"
            "  --from-model MODEL run MODEL on a seeded random input instead of generating ops\n"
            "  --ops GLOB         with --from-model: the ops to write (repeatable; default all)\n"
            "Other:\n"
            "  --bench            print instances per second and golden MB/s on stderr\n"
            "  -h, --help         this text\n"
            "  -V, --version      version\n"
            "Output: DIR/gen.json (seed, options, instances) and DIR/NNNN_OP/ (manifest.json, model.t2c,\n"
            "golden files, packages). Exit status: 0 ok, 1 a run or write failed, 2 usage error.\n");
}

static int parse_span(const char *s, gen_span *out)
{
    char *e;
    long a = strtol(s, &e, 10), b = a;
    if (e == s)
        return -1;
    if (*e == ':') {
        const char *t = e + 1;
        b = strtol(t, &e, 10);
        if (e == t)
            return -1;
    }
    if (*e || a < 0 || b < a || b > 1000000)
        return -1;
    out->lo = a;
    out->hi = b;
    return 0;
}

static int mkdir_p(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0777) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(buf, 0777) && errno != EEXIST ? -1 : 0;
}

typedef struct run_opts {
    t2c_golden_options g;
    int sv, ch;
    int pe_r, pe_c;
    uint64_t seed;
    double bytes, seconds;
    long instances;
} run_opts;

static int write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, n, f);
    return (fclose(f) || w != n) ? -1 : 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Load the model bytes, fill graph inputs (given values, or seeded random), run, write. */
static t2c_status run_model(const uint8_t *buf, size_t size, const gen_inst *g, gen_rng *rng, const char *dir,
                            const char *pkg_name, run_opts *ro, t2c_error *err)
{
    t2c_model *model = NULL;
    t2c_session *s = NULL;
    t2c_golden_writer *w = NULL;
    t2c_status st = t2c_model_load_buffer(buf, size, "model.t2c", NULL, &model, err);
    if (!st) {
        t2c_session_options so = {.batch = 1, .threads = 1, .backend = "ref"};
        st = t2c_session_create_ex(model, &so, &s, err);
    }
    if (!st) {
        for (int i = 0; i < t2c_model_input_count(model); i++) {
            t2c_tensor *t = t2c_session_input(s, i);
            int64_t n = t2c_tensor_numel(t);
            const gen_input *gi = g && i < g->n_in ? &g->in[i] : NULL;
            for (int64_t k = 0; k < n; k++) {
                int64_t v = gi ? gi->vals[k]
                               : gen_int(rng, t2c_dtype_min(t->dtype), t2c_dtype_max(t->dtype));
                if (t->dtype == T2C_FLOAT32)
                    ((float *)t->data)[k] = (float)gen_int(rng, -1000, 1000) / 1000.0f;
                else
                    t2c_tensor_set_int(t, k, v);
            }
        }
        t2c_golden_options o = ro->g;
        o.out_dir = dir;
        o.model_bytes = buf;
        o.model_size = size;
        o.has_seed = 1; /* the manifest records the run's seed */
        o.seed = ro->seed;
        st = t2c_golden_writer_create(model, &o, &w, err);
    }
    if (!st)
        st = t2c_golden_writer_attach(w, s, err);
    if (!st)
        st = t2c_golden_writer_run(w, s, err);
    if (!st)
        st = t2c_golden_writer_finish(w, err);
    if (!st) {
        t2c_golden_progress p;
        t2c_golden_writer_stats(w, &p);
        ro->bytes += (double)p.bytes;
    }
    t2c_golden_writer_free(w);
    t2c_session_free(s);
    t2c_model_free(model);
    if (!st && (ro->sv || ro->ch))
        st = gen_packages(dir, pkg_name, ro->sv, ro->ch, ro->pe_r, ro->pe_c, ro->seed, err);
    return st;
}

int main(int argc, char **argv)
{
    gen_cfg cfg = {.cin = {1, 16}, .cout = {1, 16}, .hw = {1, 12}, .k = {1, 5}, .stride = {1, 2},
                   .pad = {0, 2}, .m = {1, 16}, .n = {1, 32}, .kdim = {1, 64}, .rows = {1, 4},
                   .bits = {4, 8}, .n_bits = 2,
                   .roundings = {"half_even", "half_up", "half_away", "floor", "tflite"}, .n_roundings = 5,
                   .acc_bits = 16, .pe_r = 4, .pe_c = 4};
    run_opts ro = {0};
    ro.seed = 1;
    const char *op_name = NULL, *out = NULL, *from_model = NULL;
    const char *globs[32];
    int n_globs = 0, directed = 0, bench = 0;
    long count = 4;
    char *bits_buf = NULL, *round_buf = NULL;
    char opts_text[2048] = "";
    enum { O_OP = 256, O_SEED, O_COUNT, O_DIRECTED, O_CIN, O_COUT, O_HW, O_K, O_STRIDE, O_PAD, O_M, O_N, O_KDIM,
           O_ROWS, O_BITS, O_ROUND, O_ACC, O_PE, O_PACK, O_WORD, O_ORDER, O_PADV, O_LAYOUT, O_TILE, O_SV, O_CH,
           O_FROM, O_OPS, O_BENCH, O_OUT };
    static const struct option lo[] = {
        {"op", 1, 0, O_OP}, {"seed", 1, 0, O_SEED}, {"count", 1, 0, O_COUNT}, {"directed", 0, 0, O_DIRECTED},
        {"cin", 1, 0, O_CIN}, {"cout", 1, 0, O_COUT}, {"hw", 1, 0, O_HW}, {"k", 1, 0, O_K},
        {"stride", 1, 0, O_STRIDE}, {"pad", 1, 0, O_PAD}, {"m", 1, 0, O_M}, {"n", 1, 0, O_N},
        {"kdim", 1, 0, O_KDIM}, {"rows", 1, 0, O_ROWS}, {"bits", 1, 0, O_BITS}, {"rounding", 1, 0, O_ROUND},
        {"acc-bits", 1, 0, O_ACC}, {"pe", 1, 0, O_PE}, {"format", 1, 0, 'f'}, {"pack", 1, 0, O_PACK},
        {"word-bits", 1, 0, O_WORD}, {"order", 1, 0, O_ORDER}, {"pad-value", 1, 0, O_PADV},
        {"layout", 1, 0, 'l'}, {"tile", 1, 0, O_TILE}, {"sv-pkg", 0, 0, O_SV}, {"c-header", 0, 0, O_CH},
        {"from-model", 1, 0, O_FROM}, {"ops", 1, 0, O_OPS}, {"bench", 0, 0, O_BENCH}, {"out", 1, 0, 'o'},
        {"help", 0, 0, 'h'}, {"version", 0, 0, 'V'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:f:l:hV", lo, NULL)) != -1) {
        gen_span *sp = NULL;
        char *end;
        /* every option but --out is recorded (the output directory does not change the bytes) */
        if (c != 'o' && c != O_SEED && c != 'h' && c != 'V' && c != '?') {
            for (int i = 0; lo[i].name; i++)
                if (lo[i].val == c) {
                    size_t l = strlen(opts_text);
                    snprintf(opts_text + l, sizeof opts_text - l, "%s--%s%s%s", l ? " " : "", lo[i].name,
                             optarg ? " " : "", optarg ? optarg : "");
                }
        }
        switch (c) {
        case O_OP: op_name = optarg; break;
        case O_SEED:
            ro.seed = strtoull(optarg, &end, 0);
            if (*end || !*optarg) {
                fprintf(stderr, GEN_NAME ": --seed: not a number: '%s'\n", optarg);
                return 2;
            }
            break;
        case O_COUNT:
            count = strtol(optarg, &end, 10);
            if (*end || count < 0 || count > 10000000) {
                fprintf(stderr, GEN_NAME ": --count: expected 0..10000000, got '%s'\n", optarg);
                return 2;
            }
            break;
        case O_DIRECTED: directed = 1; break;
        case O_CIN: sp = &cfg.cin; break;
        case O_COUT: sp = &cfg.cout; break;
        case O_HW: sp = &cfg.hw; break;
        case O_K: sp = &cfg.k; break;
        case O_STRIDE: sp = &cfg.stride; break;
        case O_PAD: sp = &cfg.pad; break;
        case O_M: sp = &cfg.m; break;
        case O_N: sp = &cfg.n; break;
        case O_KDIM: sp = &cfg.kdim; break;
        case O_ROWS: sp = &cfg.rows; break;
        case O_BITS: {
            free(bits_buf);
            bits_buf = strdup(optarg);
            cfg.n_bits = 0;
            for (char *t = strtok(bits_buf, ","); t; t = strtok(NULL, ",")) {
                if ((strcmp(t, "4") && strcmp(t, "8")) || cfg.n_bits >= GEN_MAX_LIST) {
                    fprintf(stderr, GEN_NAME ": --bits: expected 4 and/or 8, got '%s'\n", t);
                    return 2;
                }
                cfg.bits[cfg.n_bits++] = atoi(t);
            }
            break;
        }
        case O_ROUND: {
            static const char *const modes[] = {"half_even", "half_up", "half_away", "floor", "tflite"};
            free(round_buf);
            round_buf = strdup(optarg);
            cfg.n_roundings = 0;
            for (char *t = strtok(round_buf, ","); t; t = strtok(NULL, ",")) {
                int k = -1;
                for (int i = 0; i < 5; i++)
                    if (!strcmp(t, modes[i]))
                        k = i;
                if (k < 0 || cfg.n_roundings >= GEN_MAX_LIST) {
                    fprintf(stderr, GEN_NAME ": --rounding: unknown mode '%s'\n", t);
                    return 2;
                }
                cfg.roundings[cfg.n_roundings++] = modes[k];
            }
            break;
        }
        case O_ACC:
            cfg.acc_bits = (int)strtol(optarg, &end, 10);
            if (*end || cfg.acc_bits < 16 || cfg.acc_bits > 32) {
                fprintf(stderr, GEN_NAME ": --acc-bits: expected 16..32, got '%s'\n", optarg);
                return 2;
            }
            break;
        case O_PE:
            if (sscanf(optarg, "%dx%d", &cfg.pe_r, &cfg.pe_c) != 2 || cfg.pe_r < 1 || cfg.pe_c < 1 ||
                cfg.pe_r > 4096 || cfg.pe_c > 4096) {
                fprintf(stderr, GEN_NAME ": --pe: expected RxC, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'f': {
            char *b = strdup(optarg);
            ro.g.formats = 0;
            for (char *t = strtok(b, ","); t; t = strtok(NULL, ",")) {
                int k = t2c_golden_format_from_name(t);
                if (k < 0) {
                    fprintf(stderr, GEN_NAME ": --format: unknown format '%s'\n", t);
                    free(b);
                    return 2;
                }
                ro.g.formats |= 1u << k;
            }
            free(b);
            break;
        }
        case O_PACK:
        case O_WORD: {
            long v = strtol(optarg, &end, 10);
            if (*end || !*optarg || v < 1 || v > T2C_GOLDEN_MAX_WORD_BITS) {
                fprintf(stderr, GEN_NAME ": --%s: expected 1..%d, got '%s'\n", c == O_PACK ? "pack" : "word-bits",
                        T2C_GOLDEN_MAX_WORD_BITS, optarg);
                return 2;
            }
            if (c == O_PACK)
                ro.g.packing.elems_per_word = (int)v;
            else
                ro.g.packing.word_bits = (int)v;
            break;
        }
        case O_ORDER:
            if (strcmp(optarg, "lsb") && strcmp(optarg, "msb")) {
                fprintf(stderr, GEN_NAME ": --order: expected lsb or msb, got '%s'\n", optarg);
                return 2;
            }
            ro.g.packing.msb_first = !strcmp(optarg, "msb");
            break;
        case O_PADV:
            ro.g.packing.pad_value = strtoll(optarg, &end, 0);
            if (*end || !*optarg) {
                fprintf(stderr, GEN_NAME ": --pad-value: not a number: '%s'\n", optarg);
                return 2;
            }
            break;
        case 'l': {
            int b = t2c_golden_base_from_name(optarg);
            if (b < 0) {
                fprintf(stderr, GEN_NAME ": --layout: unknown layout '%s'\n", optarg);
                return 2;
            }
            ro.g.layout.base = (t2c_golden_base)b;
            break;
        }
        case O_TILE: {
            long long r, cc;
            if (sscanf(optarg, "%lldx%lld", &r, &cc) != 2 || r < 1 || cc < 1) {
                fprintf(stderr, GEN_NAME ": --tile: expected RxC, got '%s'\n", optarg);
                return 2;
            }
            ro.g.layout.tile_rows = r;
            ro.g.layout.tile_cols = cc;
            break;
        }
        case O_SV: ro.sv = 1; break;
        case O_CH: ro.ch = 1; break;
        case O_FROM: from_model = optarg; break;
        case O_OPS:
            if (n_globs < 32)
                globs[n_globs++] = optarg;
            break;
        case O_BENCH: bench = 1; break;
        case 'o': out = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf(GEN_NAME " %s\n", T2C_VERSION_STRING); return 0;
        default: usage(stderr); return 2;
        }
        if (sp && parse_span(optarg, sp)) {
            const char *on = "?";
            for (int i = 0; lo[i].name; i++)
                if (lo[i].val == c)
                    on = lo[i].name;
            fprintf(stderr, GEN_NAME ": --%s: expected N or A:B with 0 <= A <= B, got '%s'\n", on, optarg);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, GEN_NAME ": unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    int op = op_name ? gen_op_index(op_name) : -1;
    if (!out || (!from_model && op < 0) || (from_model && op_name)) {
        fprintf(stderr, GEN_NAME ": %s\n",
                !out ? "--out DIR is required"
                : op_name && from_model ? "--op and --from-model exclude each other"
                : op_name ? "--op: unknown op (conv2d, linear, matmul, requantize, add, pool, softmax, layernorm, gelu)"
                          : "--op OP or --from-model MODEL is required");
        return 2;
    }
    /* ranges every op needs >= 1 */
    gen_span *pos[] = {&cfg.cin, &cfg.cout, &cfg.hw, &cfg.k, &cfg.stride, &cfg.m, &cfg.n, &cfg.kdim, &cfg.rows};
    for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++)
        if (pos[i]->lo < 1) {
            fprintf(stderr, GEN_NAME ": shape ranges must start at 1 or more\n");
            return 2;
        }
    if (cfg.cout.hi > 64 && op == 3) {
        fprintf(stderr, GEN_NAME ": requantize: --cout at most 64 (per-channel arrays)\n");
        return 2;
    }
    if (op == gen_op_index("layernorm") && cfg.n_roundings == 1 && !strcmp(cfg.roundings[0], "tflite")) {
        fprintf(stderr, GEN_NAME ": layernorm: rounding 'tflite' is not allowed (ops/README.md)\n");
        return 2;
    }
    if (mkdir_p(out)) {
        fprintf(stderr, GEN_NAME ": %s: cannot create: %s\n", out, strerror(errno));
        return 2;
    }
    ro.pe_r = cfg.pe_r;
    ro.pe_c = cfg.pe_c;
    ro.g.generator = GEN_NAME " " T2C_VERSION_STRING;
    /* the seed always leads, also when it is the default */
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "--seed %llu%s%s", (unsigned long long)ro.seed, opts_text[0] ? " " : "", opts_text);
    ro.g.command_line = cmd;
    gen_rng rng = {ro.seed};
    json_object *root = json_object_new_object(), *list = json_object_new_array();
    json_object_object_add(root, "generator", json_object_new_string(GEN_NAME " " T2C_VERSION_STRING));
    json_object_object_add(root, "seed", json_object_new_uint64(ro.seed));
    json_object_object_add(root, "options", json_object_new_string(cmd));
    char pe[32];
    snprintf(pe, sizeof pe, "%dx%d", cfg.pe_r, cfg.pe_c);
    json_object_object_add(root, "pe", json_object_new_string(pe));
    t2c_error err = {0};
    int rc = 0;
    double t0 = now();
    if (from_model) {
        FILE *f = fopen(from_model, "rb");
        uint8_t *buf = NULL;
        long n = -1;
        if (f && !fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET)) {
            buf = malloc((size_t)n + 1);
            if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n)
                n = -1;
        }
        if (f)
            fclose(f);
        if (!buf || n < 0) {
            fprintf(stderr, GEN_NAME ": %s: cannot read\n", from_model);
            free(buf);
            return 2;
        }
        ro.g.op_globs = globs;
        ro.g.n_op_globs = n_globs;
        const char *base = strrchr(from_model, '/') ? strrchr(from_model, '/') + 1 : from_model;
        char name[128];
        snprintf(name, sizeof name, "%s", base);
        char *dot = strrchr(name, '.');
        if (dot)
            *dot = 0;
        if (run_model(buf, (size_t)n, NULL, &rng, out, name, &ro, &err)) {
            fprintf(stderr, GEN_NAME ": %s\n", err.message);
            rc = 1;
        }
        ro.instances = 1;
        free(buf);
    } else {
        long n_dir = directed ? gen_directed_count(op, &cfg) : 0;
        for (long i = 0; i < n_dir + count && !rc; i++) {
            gen_inst g;
            /* each instance has its own stream: instance i does not depend on how many came before */
            gen_rng r = {ro.seed ^ (0x5851f42d4c957f2dull * (uint64_t)(i + 1)) ^ ((uint64_t)op << 56)};
            gen_next(&r);
            t2c_status st = gen_build(op, i < n_dir ? (int)i : -1, &cfg, &r, &g, &err);
            uint8_t *buf = NULL;
            size_t size = 0;
            if (!st)
                st = t2c_writer_to_buffer(g.w, &buf, &size, &err);
            char dir[4200], name[64], rel[64];
            snprintf(rel, sizeof rel, "%04ld_%s", i, gen_op_names[op]);
            snprintf(dir, sizeof dir, "%s/%s", out, rel);
            snprintf(name, sizeof name, "%s_%04ld", gen_op_names[op], i);
            if (!st)
                st = run_model(buf, size, &g, &r, dir, name, &ro, &err);
            if (!st) {
                char mp[4300];
                snprintf(mp, sizeof mp, "%s/model.t2c", dir);
                if (write_file(mp, buf, size)) {
                    snprintf(err.message, sizeof err.message, "%.400s: cannot write: %s", mp, strerror(errno));
                    st = T2C_ERR_IO;
                }
            }
            if (st) {
                fprintf(stderr, GEN_NAME ": %s instance %ld (%s): %s\n", gen_op_names[op], i, g.desc,
                        err.message);
                rc = 1;
            } else {
                json_object *e = json_object_new_object();
                json_object_object_add(e, "index", json_object_new_int64(i));
                json_object_object_add(e, "dir", json_object_new_string(rel));
                json_object_object_add(e, "op", json_object_new_string(gen_op_names[op]));
                json_object_object_add(e, "case", json_object_new_string(g.desc));
                json_object_object_add(e, "directed", json_object_new_boolean(i < n_dir));
                json_object_array_add(list, e);
                ro.instances++;
            }
            free(buf);
            gen_inst_clear(&g);
        }
    }
    double dt = now() - t0;
    json_object_object_add(root, "instances", list);
    char path[4200];
    snprintf(path, sizeof path, "%s/gen.json", out);
    if (!rc && json_object_to_file_ext(path, root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)) {
        fprintf(stderr, GEN_NAME ": %s: cannot write\n", path);
        rc = 1;
    }
    json_object_put(root);
    if (bench)
        fprintf(stderr, GEN_NAME ": %ld instances in %.3f s: %.1f instances/s, %.2f MB golden, %.2f MB/s\n",
                ro.instances, dt, ro.instances / (dt > 0 ? dt : 1e-9), ro.bytes / 1e6,
                ro.bytes / 1e6 / (dt > 0 ? dt : 1e-9));
    free(bits_buf);
    free(round_buf);
    return rc;
}
