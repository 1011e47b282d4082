/* t2c-bench — speed of a .t2c model per backend: a per-op table (MACs, ms, GMAC/s, % of this
 * machine's measured instruction peak) and end-to-end latency / throughput at batch 1 and batch N,
 * medians over repeated runs. Public API only (engine/t2c.h).
 *
 * Per-op times come from hooks; while a hook watches an op the session does not fuse the
 * requantize into the conv epilogue, so the per-op table shows the unfused kernels and the
 * end-to-end rows (run without hooks) are the numbers to quote. */
#define _GNU_SOURCE
#include <getopt.h>
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "t2c.h"

#define MAX_BACKENDS 16

typedef struct opts {
    const char *model;
    char *backends[MAX_BACKENDS];
    int n_backends;
    int threads[4], n_threads;
    int batch;
    int runs, warmup;
    double max_seconds;
    int per_op, json, measure_peak, cpu_clock;
} opts;

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: t2c-bench [OPTION]... MODEL.t2c\n"
            "Measure a t2c model: per-op table (op, shape, MACs, ms, GMAC/s, %% of the measured peak of the\n"
            "kernel's instruction set) and end-to-end latency and throughput at batch 1 and batch N, for\n"
            "each backend; every time is the median of repeated runs.\n\n"
            "  -b, --backend LIST   comma-separated: ref, blas, simd, auto or kernel variant names\n"
            "                       (default: ref,blas,simd)\n"
            "  -t, --threads LIST   comma-separated thread counts (default 1)\n"
            "  -n, --batch N        batch size of the throughput runs (default 8; batch 1 is always run)\n"
            "  -r, --runs N         timed runs per measurement (default 20)\n"
            "  -w, --warmup N       untimed runs first (default 2)\n"
            "  -s, --max-seconds S  stop a measurement after S seconds of runs (default 10; at least 3 runs)\n"
            "      --no-per-op      skip the per-op tables\n"
            "      --no-peak        use the peaks of /work/shared/design/perf-notes.md (AMD Zen 5) instead of\n"
            "                       measuring them\n"
            "      --cpu-time       time with the process CPU clock instead of the wall clock (a loaded\n"
            "                       shared machine; meaningful with 1 thread)\n"
            "      --keep-openblas-coretype  keep OPENBLAS_CORETYPE from the environment (by default\n"
            "                       t2c-bench restarts itself without it so OpenBLAS detects the CPU)\n"
            "  -j, --json           one JSON document on stdout instead of the tables\n"
            "  -h, --help           display this help and exit\n"
            "  -V, --version        output version information and exit\n\n"
            "Exit status: 0 on success, 1 if a run fails, 2 on a usage error or an unreadable model.\n");
}

/* ---------------------------------------------------------------- clocks */

static int g_cpu_clock;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(g_cpu_clock ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double process_cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double wall_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double thread_cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---------------------------------------------------------------- instruction peaks
 * Twelve independent accumulators (no latency bound, no spills), timed on the thread's CPU clock
 * so other processes on a shared machine do not lower the figure. MACs per instruction: vpdpbusd
 * zmm 64, ymm 32; the AVX2 kernel's pair vpmaddwd + vpaddd on ymm does 16; vfmadd231ps zmm 16. */

typedef struct peaks {
    double vnni512, vnni256, avx2, fma512;
    int measured;
} peaks;

#define REP12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

__attribute__((target("avx512f,avx512vnni"))) static double peak_vnni512(long n)
{
    __m512i b = _mm512_set1_epi8(1), c = _mm512_set1_epi8(2);
#define DECL(i) __m512i a##i = _mm512_set1_epi32(i);
    REP12(DECL)
#undef DECL
    const double t0 = thread_cpu_s();
    for (long i = 0; i < n; i++) {
#define OP(i) __asm__ volatile("vpdpbusd %2, %1, %0" : "+v"(a##i) : "v"(b), "v"(c));
        REP12(OP)
#undef OP
    }
    const double t = thread_cpu_s() - t0;
    __m512i s = a0;
#define SUM(i) s = _mm512_add_epi32(s, a##i);
    REP12(SUM)
#undef SUM
    volatile int sink = _mm512_reduce_add_epi32(s);
    (void)sink;
    return (double)n * 12 * 64 / t / 1e9;
}

__attribute__((target("avx2,avxvnni"))) static double peak_vnni256(long n)
{
    __m256i b = _mm256_set1_epi8(1), c = _mm256_set1_epi8(2);
#define DECL(i) __m256i a##i = _mm256_set1_epi32(i);
    REP12(DECL)
#undef DECL
    const double t0 = thread_cpu_s();
    for (long i = 0; i < n; i++) {
#define OP(i) __asm__ volatile("%{vex%} vpdpbusd %2, %1, %0" : "+x"(a##i) : "x"(b), "x"(c));
        REP12(OP)
#undef OP
    }
    const double t = thread_cpu_s() - t0;
    __m256i s = a0;
#define SUM(i) s = _mm256_add_epi32(s, a##i);
    REP12(SUM)
#undef SUM
    volatile int sink = _mm256_extract_epi32(s, 0);
    (void)sink;
    return (double)n * 12 * 32 / t / 1e9;
}

__attribute__((target("avx2"))) static double peak_avx2(long n)
{
    __m256i b = _mm256_set1_epi16(1), c = _mm256_set1_epi16(2);
#define DECL(i) __m256i a##i = _mm256_set1_epi32(i);
    REP12(DECL)
#undef DECL
    const double t0 = thread_cpu_s();
    for (long i = 0; i < n; i++) {
#define OP(i)                                                                                         \
    {                                                                                                 \
        __m256i p;                                                                                    \
        __asm__ volatile("vpmaddwd %2, %1, %0" : "=x"(p) : "x"(b), "x"(c));                           \
        __asm__ volatile("vpaddd %1, %0, %0" : "+x"(a##i) : "x"(p));                                  \
    }
        REP12(OP)
#undef OP
    }
    const double t = thread_cpu_s() - t0;
    __m256i s = a0;
#define SUM(i) s = _mm256_add_epi32(s, a##i);
    REP12(SUM)
#undef SUM
    volatile int sink = _mm256_extract_epi32(s, 0);
    (void)sink;
    return (double)n * 12 * 16 / t / 1e9;
}

__attribute__((target("avx512f"))) static double peak_fma512(long n)
{
    __m512 b = _mm512_set1_ps(1.0f), c = _mm512_set1_ps(0.0f);
#define DECL(i) __m512 a##i = _mm512_set1_ps((float)i);
    REP12(DECL)
#undef DECL
    const double t0 = thread_cpu_s();
    for (long i = 0; i < n; i++) {
#define OP(i) __asm__ volatile("vfmadd231ps %2, %1, %0" : "+v"(a##i) : "v"(b), "v"(c));
        REP12(OP)
#undef OP
    }
    const double t = thread_cpu_s() - t0;
    __m512 s = a0;
#define SUM(i) s = _mm512_add_ps(s, a##i);
    REP12(SUM)
#undef SUM
    volatile float sink = _mm512_reduce_add_ps(s);
    (void)sink;
    return (double)n * 12 * 16 / t / 1e9;
}

/* best of 5 short runs (~10 ms each) */
static double best_of(double (*fn)(long), long n)
{
    double best = 0;
    for (int i = 0; i < 5; i++) {
        const double v = fn(n);
        best = v > best ? v : best;
    }
    return best;
}

static void measure_peaks(peaks *p, int measure)
{
    /* perf-notes.md, AMD Zen 5 at ~3.5 GHz, one core */
    p->vnni512 = 450, p->vnni256 = 226, p->avx2 = 112, p->fma512 = 113, p->measured = 0;
    if (!measure)
        return;
    __builtin_cpu_init();
    p->measured = 1;
    if (__builtin_cpu_supports("avx512vnni"))
        p->vnni512 = best_of(peak_vnni512, 500000);
    if (__builtin_cpu_supports("avxvnni"))
        p->vnni256 = best_of(peak_vnni256, 500000);
    if (__builtin_cpu_supports("avx2"))
        p->avx2 = best_of(peak_avx2, 500000);
    if (__builtin_cpu_supports("avx512f"))
        p->fma512 = best_of(peak_fma512, 500000);
}

/* The peak that bounds a kernel, from its name; ref kernels are compared with the best int8 peak. */
static double kernel_peak(const peaks *p, const char *kernel, const char **label)
{
    if (strstr(kernel, "avx512vnni")) {
        *label = "vpdpbusd zmm";
        return p->vnni512;
    }
    if (strstr(kernel, "avxvnni")) {
        *label = "vpdpbusd ymm";
        return p->vnni256;
    }
    if (strstr(kernel, "avx2")) {
        *label = "vpmaddwd ymm";
        return p->avx2;
    }
    if (strstr(kernel, "blas")) {
        *label = "fp32 FMA zmm";
        return p->fma512;
    }
    *label = "vpdpbusd zmm";
    return p->vnni512;
}

/* ---------------------------------------------------------------- runs */

typedef struct op_times {
    double *t0, **samples;
    int n_ops, run;
} op_times;

static int time_hook(const t2c_op_view *op, int when, void *user)
{
    op_times *ot = user;
    if (when == T2C_HOOK_BEFORE)
        ot->t0[op->index] = now_s();
    else
        ot->samples[op->index][ot->run] = now_s() - ot->t0[op->index];
    return 0;
}

static void fill_inputs(t2c_session *s, const t2c_model *m)
{
    unsigned seed = 12345;
    for (int i = 0; i < t2c_model_input_count(m); i++) {
        t2c_tensor *x = t2c_session_input(s, i);
        const int64_t n = t2c_tensor_numel(x);
        for (int64_t k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            if (x->dtype == T2C_FLOAT32)
                ((float *)x->data)[k] = (float)((int)(seed >> 16) % 2001 - 1000) / 500.0f;
            else
                t2c_tensor_set_int(x, k, t2c_dtype_min(x->dtype) +
                                             (int64_t)((seed >> 8) % (uint64_t)(t2c_dtype_max(x->dtype) -
                                                                                 t2c_dtype_min(x->dtype) + 1)));
        }
    }
}

typedef struct result {
    const char *backend;
    int threads, batch, runs;
    double median_ms, min_ms, images_per_s;
    double wall_median_ms, cpu_median_ms; /* both clocks, whatever --cpu-time says */
} result;

/* End-to-end runs without hooks; returns 0 or prints the error. */
static int run_e2e(const t2c_model *m, const char *backend, int threads, int batch, const opts *o, result *r)
{
    t2c_session_options so = {batch, threads, backend};
    t2c_session *s = NULL;
    t2c_error err;
    if (t2c_session_create_ex(m, &so, &s, &err) != T2C_OK) {
        fprintf(stderr, "t2c-bench: %s\n", err.message);
        return 1;
    }
    fill_inputs(s, m);
    for (int i = 0; i < o->warmup; i++)
        if (t2c_session_run(s, &err) != T2C_OK) {
            fprintf(stderr, "t2c-bench: %s\n", err.message);
            t2c_session_free(s);
            return 1;
        }
    double *t = malloc(sizeof(double) * (size_t)o->runs * 3), *tw = t + o->runs, *tc = t + 2 * o->runs;
    int n = 0;
    const double start = now_s();
    while (n < o->runs) {
        const double t0 = now_s(), w0 = wall_s(), c0 = process_cpu_s();
        if (t2c_session_run(s, &err) != T2C_OK) {
            fprintf(stderr, "t2c-bench: %s\n", err.message);
            free(t);
            t2c_session_free(s);
            return 1;
        }
        t[n] = now_s() - t0, tw[n] = wall_s() - w0, tc[n] = process_cpu_s() - c0;
        n++;
        if (n >= 3 && now_s() - start > o->max_seconds)
            break;
    }
    r->backend = backend, r->threads = threads, r->batch = batch, r->runs = n;
    r->median_ms = median(t, n) * 1e3;
    r->min_ms = t[0] * 1e3;
    r->images_per_s = batch / (r->median_ms * 1e-3);
    r->wall_median_ms = median(tw, n) * 1e3;
    r->cpu_median_ms = median(tc, n) * 1e3;
    free(t);
    t2c_session_free(s);
    return 0;
}

static void shape_str(const t2c_tensor *t, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->rank && used + 24 < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? "x" : "", (long long)t->dims[i]);
}

/* Per-op medians at batch 1 with hooks; prints the table (or JSON objects). */
static int run_per_op(const t2c_model *m, const char *backend, int threads, const opts *o, const peaks *pk,
                      int *first_json)
{
    t2c_session_options so = {1, threads, backend};
    t2c_session *s = NULL;
    t2c_error err;
    if (t2c_session_create_ex(m, &so, &s, &err) != T2C_OK) {
        fprintf(stderr, "t2c-bench: %s\n", err.message);
        return 1;
    }
    fill_inputs(s, m);
    const int nops = t2c_session_op_count(s);
    op_times ot = {calloc((size_t)nops, sizeof(double)), calloc((size_t)nops, sizeof(double *)), nops, 0};
    for (int i = 0; i < nops; i++)
        ot.samples[i] = calloc((size_t)o->runs, sizeof(double));
    for (int i = 0; i < o->warmup; i++)
        t2c_session_run(s, &err);
    t2c_session_add_hook(s, NULL, T2C_HOOK_BEFORE | T2C_HOOK_AFTER, time_hook, &ot, &err);
    const double start = wall_s();
    for (ot.run = 0; ot.run < o->runs;) {
        if (t2c_session_run(s, &err) != T2C_OK) {
            fprintf(stderr, "t2c-bench: %s\n", err.message);
            return 1;
        }
        ot.run++;
        if (ot.run >= 3 && wall_s() - start > o->max_seconds)
            break;
    }
    const int runs = ot.run;
    if (!o->json)
        printf("\nper op: backend %s, %d thread%s, batch 1, median of %d runs (hooks on: no epilogue fusion)\n"
               "%4s  %-15s %-28s %-26s %-16s %12s %9s %8s %6s\n",
               backend, threads, threads > 1 ? "s" : "", runs, "#", "op", "name", "kernel", "output", "MACs", "ms",
               "GMAC/s", "%peak");
    double total = 0, total_macs_ms = 0;
    int64_t total_macs = 0;
    for (int i = 0; i < nops; i++) {
        const t2c_op_view *v = t2c_session_op(s, i);
        const double ms = median(ot.samples[i], runs) * 1e3;
        const char *kernel = t2c_session_op_kernel(s, i), *label;
        const double peak = kernel_peak(pk, kernel, &label) * threads;
        const double gmacs = v->macs && ms > 0 ? (double)v->macs / (ms * 1e-3) / 1e9 : 0;
        char shape[64];
        shape_str(v->outputs[0], shape, sizeof shape);
        total += ms;
        if (v->macs)
            total_macs += v->macs, total_macs_ms += ms;
        if (o->json) {
            printf("%s\n    {\"backend\": \"%s\", \"threads\": %d, \"index\": %d, \"op\": \"%s\", \"name\": \"%s\", "
                   "\"kernel\": \"%s\", \"shape\": \"%s\", \"macs\": %lld, \"ms\": %.6f, \"gmacs\": %.3f, "
                   "\"peak_label\": \"%s\", \"peak_gmacs\": %.3f}",
                   *first_json ? "" : ",", backend, threads, i, v->type, v->name, kernel, shape, (long long)v->macs,
                   ms, gmacs, label, peak);
            *first_json = 0;
        } else if (v->macs) {
            printf("%4d  %-15s %-28.28s %-26s %-16s %12lld %9.3f %8.1f %5.1f%%\n", i, v->type, v->name, kernel, shape,
                   (long long)v->macs, ms, gmacs, 100.0 * gmacs / peak);
        } else {
            printf("%4d  %-15s %-28.28s %-26s %-16s %12s %9.3f %8s %6s\n", i, v->type, v->name, kernel, shape, "-", ms,
                   "-", "-");
        }
    }
    if (!o->json)
        printf("      sum of op medians %.3f ms; ops with MACs %.3f ms = %.1f GMAC/s\n", total, total_macs_ms,
               total_macs_ms > 0 ? (double)total_macs / (total_macs_ms * 1e-3) / 1e9 : 0.0);
    for (int i = 0; i < nops; i++)
        free(ot.samples[i]);
    free(ot.samples), free(ot.t0);
    t2c_session_free(s);
    return 0;
}

/* ---------------------------------------------------------------- main */

static int parse_list(char *arg, char **items, int max)
{
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(arg, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save))
        items[n++] = tok;
    return n;
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++)
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s >= 0x20)
            putchar(*s);
    putchar('"');
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"backend", required_argument, 0, 'b'}, {"threads", required_argument, 0, 't'},
        {"batch", required_argument, 0, 'n'},   {"runs", required_argument, 0, 'r'},
        {"warmup", required_argument, 0, 'w'},  {"max-seconds", required_argument, 0, 's'},
        {"no-per-op", no_argument, 0, 1},       {"no-peak", no_argument, 0, 2},
        {"cpu-time", no_argument, 0, 3},        {"keep-openblas-coretype", no_argument, 0, 4},
        {"json", no_argument, 0, 'j'},          {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},       {0, 0, 0, 0}};
    opts o = {.batch = 8, .runs = 20, .warmup = 2, .max_seconds = 10, .per_op = 1, .measure_peak = 1};
    static char default_backends[] = "ref,blas,simd";
    char *backend_arg = default_backends, *threads_arg = NULL;
    int keep_coretype = 0, c;
    while ((c = getopt_long(argc, argv, "b:t:n:r:w:s:jhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': backend_arg = optarg; break;
        case 't': threads_arg = optarg; break;
        case 'n': o.batch = atoi(optarg); break;
        case 'r': o.runs = atoi(optarg); break;
        case 'w': o.warmup = atoi(optarg); break;
        case 's': o.max_seconds = atof(optarg); break;
        case 1: o.per_op = 0; break;
        case 2: o.measure_peak = 0; break;
        case 3: o.cpu_clock = 1; break;
        case 4: keep_coretype = 1; break;
        case 'j': o.json = 1; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("t2c-bench %s\n", T2C_VERSION_STRING); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1 || o.batch < 1 || o.runs < 1 || o.warmup < 0 || o.max_seconds <= 0) {
        usage(stderr);
        return 2;
    }
    /* OpenBLAS picks its kernels when the library loads; an inherited OPENBLAS_CORETYPE (e.g. Haswell
     * on an AVX-512 machine) halves SGEMM. Restart once without it unless asked to keep it. */
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    const char *dropped = getenv("T2C_BENCH_DROPPED_CORETYPE");
    if (coretype && !keep_coretype && !dropped) {
        setenv("T2C_BENCH_DROPPED_CORETYPE", coretype, 1);
        unsetenv("OPENBLAS_CORETYPE");
        execv("/proc/self/exe", argv);
        /* exec failed: carry on with the inherited core type */
    }
    g_cpu_clock = o.cpu_clock;
    o.model = argv[optind];
    o.n_backends = parse_list(backend_arg, o.backends, MAX_BACKENDS);
    o.n_threads = 1, o.threads[0] = 1;
    if (threads_arg) {
        char *items[4];
        o.n_threads = parse_list(threads_arg, items, 4);
        for (int i = 0; i < o.n_threads; i++)
            if ((o.threads[i] = atoi(items[i])) < 1) {
                usage(stderr);
                return 2;
            }
    }
    t2c_model *m = NULL;
    t2c_error err;
    if (t2c_model_load_file(o.model, NULL, &m, &err) != T2C_OK) {
        fprintf(stderr, "t2c-bench: %s\n", err.message);
        return 2;
    }
    int64_t macs = 0;
    {
        t2c_session_options so = {1, 1, "ref"};
        t2c_session *s = NULL;
        if (t2c_session_create_ex(m, &so, &s, &err) != T2C_OK) {
            fprintf(stderr, "t2c-bench: %s\n", err.message);
            return 2;
        }
        for (int i = 0; i < t2c_session_op_count(s); i++)
            macs += t2c_session_op(s, i)->macs;
        t2c_session_free(s);
    }
    peaks pk;
    measure_peaks(&pk, o.measure_peak);
    double load[3] = {0, 0, 0};
    if (getloadavg(load, 3) < 0)
        load[0] = -1;
    const t2c_attr *name = t2c_model_meta(m, "model.name");
    const char *model_name = name && name->type == T2C_ATTR_STRING ? name->v.s : "?";
    char core_note[160] = "";
    if (dropped)
        snprintf(core_note, sizeof core_note, " (OPENBLAS_CORETYPE=%s from the environment dropped)", dropped);
    else if (coretype)
        snprintf(core_note, sizeof core_note, " (OPENBLAS_CORETYPE=%s kept)", coretype);

    if (o.json) {
        printf("{\n  \"tool\": \"t2c-bench %s\",\n  \"model\": ", T2C_VERSION_STRING);
        json_str(o.model);
        printf(",\n  \"model_name\": ");
        json_str(model_name);
        printf(",\n  \"macs_per_image\": %lld,\n  \"backends_available\": ", (long long)macs);
        json_str(t2c_backends_available());
        printf(",\n  \"openblas_note\": ");
        json_str(core_note);
        printf(",\n  \"clock\": \"%s\",\n  \"loadavg\": [%.2f, %.2f, %.2f],\n", o.cpu_clock ? "process-cpu" : "wall",
               load[0], load[1], load[2]);
        printf("  \"peaks_gmacs\": {\"measured\": %s, \"vpdpbusd_zmm\": %.1f, \"vpdpbusd_ymm\": %.1f, "
               "\"vpmaddwd_ymm\": %.1f, \"fma_zmm\": %.1f},\n",
               pk.measured ? "true" : "false", pk.vnni512, pk.vnni256, pk.avx2, pk.fma512);
    } else {
        printf("t2c-bench %s: %s (%s), %d ops, %.3f GMAC per image\n", T2C_VERSION_STRING, model_name, o.model,
               t2c_model_op_count(m), (double)macs / 1e9);
        printf("kernels: %s%s\n", t2c_backends_available(), core_note);
        printf("clock: %s; load average %.2f %.2f %.2f on %ld CPUs\n",
               o.cpu_clock ? "process CPU time" : "wall clock", load[0], load[1], load[2], sysconf(_SC_NPROCESSORS_ONLN));
        printf("peaks per core (%s): vpdpbusd zmm %.0f, vpdpbusd ymm %.0f, vpmaddwd+vpaddd ymm %.0f, "
               "fp32 FMA zmm %.0f GMAC/s\n",
               pk.measured ? "measured now, best of 5 on the thread's CPU clock" : "perf-notes.md constants",
               pk.vnni512, pk.vnni256, pk.avx2, pk.fma512);
    }
    int status = 0, first_json = 1;
    if (o.per_op) {
        if (o.json)
            printf("  \"ops\": [");
        for (int b = 0; b < o.n_backends; b++)
            for (int t = 0; t < o.n_threads; t++)
                status |= run_per_op(m, o.backends[b], o.threads[t], &o, &pk, &first_json);
        if (o.json)
            printf("\n  ],\n");
    }
    result *res = calloc((size_t)(o.n_backends * o.n_threads * 2), sizeof *res);
    int nres = 0;
    for (int b = 0; b < o.n_backends; b++)
        for (int t = 0; t < o.n_threads; t++)
            for (int k = 0; k < (o.batch > 1 ? 2 : 1); k++) {
                const int batch = k ? o.batch : 1;
                if (run_e2e(m, o.backends[b], o.threads[t], batch, &o, &res[nres]) == 0)
                    nres++;
                else
                    status = 1;
            }
    if (o.json) {
        printf("  \"results\": [");
        for (int i = 0; i < nres; i++)
            printf("%s\n    {\"backend\": \"%s\", \"threads\": %d, \"batch\": %d, \"runs\": %d, \"median_ms\": %.6f, "
                   "\"min_ms\": %.6f, \"images_per_s\": %.3f, \"wall_median_ms\": %.6f, \"cpu_median_ms\": %.6f}",
                   i ? "," : "", res[i].backend, res[i].threads, res[i].batch, res[i].runs, res[i].median_ms,
                   res[i].min_ms, res[i].images_per_s, res[i].wall_median_ms, res[i].cpu_median_ms);
        printf("\n  ]\n}\n");
    } else {
        printf("\nend to end (no hooks), median of the runs (%s; the process CPU time column is robust to other "
               "load with 1 thread):\n%-28s %7s %5s %5s %11s %11s %10s %9s %13s\n",
               o.cpu_clock ? "process CPU time" : "wall clock", "backend", "threads", "batch", "runs", "median ms",
               "min ms", "images/s", "GMAC/s", "CPU median ms");
        for (int i = 0; i < nres; i++)
            printf("%-28s %7d %5d %5d %11.3f %11.3f %10.1f %9.1f %13.3f\n", res[i].backend, res[i].threads,
                   res[i].batch, res[i].runs, res[i].median_ms, res[i].min_ms, res[i].images_per_s,
                   (double)macs * res[i].batch / (res[i].median_ms * 1e-3) / 1e9, res[i].cpu_median_ms);
    }
    free(res);
    t2c_model_free(m);
    return status;
}
