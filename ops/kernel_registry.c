/* kernel_registry.c — the fast variants of each op, fastest first, and backend selection. */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "t2c_gemm.h"

#include "t2c_kernels.h"

typedef struct op_variants {
    const char *type;
    const t2c_kernel_variant *const *list;
    int count;
} op_variants;

/* Order = preference for "auto" (measured on AMD Zen 5: VNNI-512 > AVX-VNNI > AVX2 for every
 * conv/linear shape of ResNet/MobileNet; see bench/README.md). "auto" never takes a blas variant:
 * the reference kernels' vectorized plain paths are 2x faster than exact OpenBLAS SGEMM there. */
static const t2c_kernel_variant *const conv2d_list[] = {
    &t2c_conv2d_dw_avx512vnni, &t2c_conv2d_stem_avx512vnni, &t2c_conv2d_simd_avx512vnni, &t2c_conv2d_simd_avxvnni,
    &t2c_conv2d_simd_avx2, &t2c_conv2d_blas};
static const t2c_kernel_variant *const linear_list[] = {
    &t2c_linear_simd_avx512vnni, &t2c_linear_simd_avxvnni, &t2c_linear_simd_avx2, &t2c_linear_blas};
static const t2c_kernel_variant *const matmul_list[] = {
    &t2c_matmul_simd_avx512vnni, &t2c_matmul_simd_avxvnni, &t2c_matmul_simd_avx2, &t2c_matmul_blas};
static const t2c_kernel_variant *const requantize_list[] = {&t2c_requantize_simd_avx512};
static const t2c_kernel_variant *const add_list[] = {&t2c_add_simd_avx512};
static const t2c_kernel_variant *const maxpool2d_list[] = {&t2c_maxpool2d_simd_avx512bw, &t2c_maxpool2d_simd_avx2};

#define ENTRY(T, L) {T, L, (int)(sizeof L / sizeof L[0])}
static const op_variants registry[] = {
    ENTRY("conv2d", conv2d_list),
    ENTRY("linear", linear_list),
    ENTRY("matmul", matmul_list),
    ENTRY("requantize", requantize_list),
    ENTRY("add", add_list),
    ENTRY("maxpool2d", maxpool2d_list),
};
#undef ENTRY

const t2c_kernel_variant *const *t2c_kernel_variants(const char *op_type, int *count)
{
    static const t2c_kernel_variant *const none[1] = {NULL};
    for (size_t i = 0; op_type && i < sizeof registry / sizeof registry[0]; i++)
        if (strcmp(registry[i].type, op_type) == 0) {
            *count = registry[i].count;
            return registry[i].list;
        }
    *count = 0;
    return none;
}

static int backend_matches(const t2c_kernel_variant *v, const char *backend)
{
    if (strcmp(backend, "auto") == 0)
        return strcmp(v->backend, "blas") != 0;
    return strcmp(backend, v->backend) == 0 || strcmp(backend, v->name) == 0;
}

const t2c_kernel_variant *t2c_kernel_select(const t2c_node *node, const char *backend)
{
    if (!backend || strcmp(backend, "ref") == 0)
        return NULL;
    int n;
    const t2c_kernel_variant *const *list = t2c_kernel_variants(node->type, &n);
    /* "blas" is about the GEMM ops; ops without any blas variant (requantize, add, pooling) take
     * their simd kernel, so a blas run measures OpenBLAS and not the reference elementwise ops */
    if (strcmp(backend, "blas") == 0) {
        int has_blas = 0;
        for (int i = 0; i < n; i++)
            has_blas |= strcmp(list[i]->backend, "blas") == 0;
        if (!has_blas)
            backend = "simd";
    }
    for (int i = 0; i < n; i++)
        if (backend_matches(list[i], backend) && list[i]->supports(node))
            return list[i];
    return NULL;
}

int t2c_backend_name_valid(const char *backend)
{
    if (!backend)
        return 0;
    if (!strcmp(backend, "ref") || !strcmp(backend, "blas") || !strcmp(backend, "simd") || !strcmp(backend, "auto"))
        return 1;
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
        for (int k = 0; k < registry[i].count; k++)
            if (strcmp(registry[i].list[k]->name, backend) == 0)
                return 1;
    return 0;
}

const char *t2c_blas_corename(void)
{
    const char *c = openblas_get_corename();
    return c ? c : "none";
}

static char backends_text[256];

static void backends_describe(void)
{
    size_t n = (size_t)snprintf(backends_text, sizeof backends_text, "simd:");
    int any = 0;
    for (int isa = T2C_SIMD_ISA_COUNT - 1; isa >= 0; isa--)
        if (t2c_simd_supported((t2c_simd_isa)isa) && n < sizeof backends_text) {
            n += (size_t)snprintf(backends_text + n, sizeof backends_text - n, " %s",
                                  t2c_simd_isa_name((t2c_simd_isa)isa));
            any = 1;
        }
    if (!any && n < sizeof backends_text)
        n += (size_t)snprintf(backends_text + n, sizeof backends_text - n, " none");
    /* "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ...": keep the first two words */
    char name[32] = "OpenBLAS", version[32] = "";
    const char *cfg = openblas_get_config();
    if (cfg)
        sscanf(cfg, "%31s %31s", name, version);
    if (n < sizeof backends_text)
        snprintf(backends_text + n, sizeof backends_text - n, "; blas: %s %s (core %s)", name, version,
                 t2c_blas_corename());
}

const char *t2c_backends_available(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, backends_describe);
    return backends_text;
}
