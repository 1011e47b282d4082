/* t2c_kernels.h — the fast kernel variants beside the reference kernels (issue 7).
 *
 * Backends: "ref" (the op's own run(), the spec), "blas" (OpenBLAS float GEMM proven exact by
 * chunking K), "simd" (native int8 kernels: AVX-512 VNNI, AVX-VNNI, AVX2). A session asks for a
 * backend by name ("ref", "blas", "simd", "auto") or for one variant by its full name
 * ("conv2d.simd-avx2"); ops without a matching variant run the reference.
 */
#ifndef T2C_KERNELS_H
#define T2C_KERNELS_H

#include "t2c_op.h"

/* Every variant of an op type, fastest first (the order "auto" and "simd" follow); *count may
 * be 0. Never NULL. */
const t2c_kernel_variant *const *t2c_kernel_variants(const char *op_type, int *count);

/* Pick the variant for a prepared node under `backend` (see above): the first listed variant
 * whose backend (or full name) matches and whose supports() accepts the node; "auto" takes the
 * first supported one of any backend. NULL = run the reference. */
const t2c_kernel_variant *t2c_kernel_select(const t2c_node *node, const char *backend);

/* 1 if `backend` is one of "ref", "blas", "simd", "auto" or a variant's full name. */
int t2c_backend_name_valid(const char *backend);

/* OpenBLAS core type in use ("Cooperlake", "Haswell", ...), or "none". */
const char *t2c_blas_corename(void);

/* ---- shared by the variants ---- */

/* Largest |v - zp| over the dtype's range. */
static inline int64_t t2c_max_abs_diff(t2c_dtype d, int64_t zp)
{
    const int64_t a = t2c_dtype_max(d) - zp, b = zp - t2c_dtype_min(d);
    return a > b ? a : b;
}

/* When may a fast kernel replace the accumulator recipe by an exact sum computed modulo 2^32?
 *  - when max|bias| + K*max|product| <= 2^(bits-1) - 1 (the reference's own test): no partial
 *    sum in any order leaves the accumulator, the policy never acts, the result is the exact
 *    sum, which fits int32: *wrap_bits = 32;
 *  - under overflow = "wrap": the recipe's result is the exact sum modulo 2^bits, which is the
 *    sum modulo 2^32 sign-extended from `bits` (2^bits divides 2^32): *wrap_bits = bits.
 * Otherwise (error/saturate that might act) 0: the reference must run. */
static inline int t2c_acc_fast_ok(int64_t max_bias, int64_t K, int64_t max_prod, int bits,
                                  t2c_overflow policy, int *wrap_bits)
{
    int64_t s;
    if (!__builtin_mul_overflow(K, max_prod, &s) && !__builtin_add_overflow(s, max_bias, &s) &&
        s <= ((int64_t)1 << (bits - 1)) - 1) {
        *wrap_bits = 32;
        return 1;
    }
    if (policy == T2C_OVERFLOW_WRAP) {
        *wrap_bits = bits;
        return 1;
    }
    return 0;
}

/* max |bias[i]| of an int32 tensor (0 for NULL). */
static inline int64_t t2c_max_abs_i32(const t2c_tensor *t)
{
    int64_t m = 0;
    if (!t || !t->data)
        return 0;
    const int32_t *v = t->data;
    for (int64_t i = 0, n = t2c_tensor_numel(t); i < n; i++) {
        const int64_t a = v[i] < 0 ? -(int64_t)v[i] : v[i];
        m = a > m ? a : m;
    }
    return m;
}

/* Round n up to a multiple of 64 (scratch sub-buffers stay cache-line aligned). */
static inline size_t t2c_align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* Every variant, for the registry and the tests. */
extern const t2c_kernel_variant t2c_conv2d_dw_avx512vnni, t2c_conv2d_simd_avx512vnni, t2c_conv2d_simd_avxvnni, t2c_conv2d_simd_avx2,
    t2c_conv2d_stem_avx512vnni, t2c_conv2d_blas;
extern const t2c_kernel_variant t2c_linear_simd_avx512vnni, t2c_linear_simd_avxvnni, t2c_linear_simd_avx2,
    t2c_linear_blas;
extern const t2c_kernel_variant t2c_matmul_simd_avx512vnni, t2c_matmul_simd_avxvnni, t2c_matmul_simd_avx2,
    t2c_matmul_blas;
extern const t2c_kernel_variant t2c_requantize_simd_avx512, t2c_add_simd_avx512, t2c_maxpool2d_simd_avx2,
    t2c_maxpool2d_simd_avx512bw;

#endif /* T2C_KERNELS_H */
