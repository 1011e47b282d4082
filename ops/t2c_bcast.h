/* t2c_bcast.h — NumPy broadcasting for the elementwise transformer ops (broadcast_add, mul, expand).
 *
 * Shapes align at the right; each pair of dims must be equal or one of them 1; the output dim is
 * the larger; a shorter shape is padded with 1s on the left (ops/README.md "Transformer ops").
 * An input is walked through the output's index space with stride 0 along its broadcast dims.
 */
#ifndef T2C_BCAST_H
#define T2C_BCAST_H

#include <stdint.h>

#include "t2c.h"

/* Broadcast shape of a and b into (*rank, dims). Returns 0, or -1 if they do not broadcast. */
static inline int t2c_bcast_shape(const t2c_tensor *a, const t2c_tensor *b, int *rank, int64_t *dims)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return -1;
        dims[i] = da == 1 ? db : da;
    }
    *rank = r;
    return 0;
}

/* Element strides of x (row-major) in an output index space of `rank` dims `dims` that x
 * broadcasts to: 0 along dims where x has 1 (or no dim). */
static inline void t2c_bcast_strides(const t2c_tensor *x, int rank, const int64_t *dims, int64_t *stride)
{
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        int ix = i - (rank - x->rank);
        int64_t dx = ix >= 0 ? x->dims[ix] : 1;
        stride[i] = (dx == 1 && dims[i] != 1) ? 0 : s;
        s *= dx;
    }
}

/* Row-major walk over an output of `rank` dims with up to two broadcast inputs. */
typedef struct t2c_bcast_iter {
    int rank;
    int64_t dims[T2C_MAX_RANK];
    int64_t stride[2][T2C_MAX_RANK];
    int64_t idx[T2C_MAX_RANK];
    int64_t off[2];
} t2c_bcast_iter;

static inline void t2c_bcast_begin(t2c_bcast_iter *it, int rank, const int64_t *dims, const t2c_tensor *a,
                                   const t2c_tensor *b)
{
    it->rank = rank;
    for (int i = 0; i < rank; i++) {
        it->dims[i] = dims[i];
        it->idx[i] = 0;
    }
    t2c_bcast_strides(a, rank, dims, it->stride[0]);
    if (b)
        t2c_bcast_strides(b, rank, dims, it->stride[1]);
    else
        for (int i = 0; i < rank; i++)
            it->stride[1][i] = 0;
    it->off[0] = it->off[1] = 0;
}

/* Advance to the next output element (row-major); off[] follow. */
static inline void t2c_bcast_next(t2c_bcast_iter *it)
{
    for (int i = it->rank - 1; i >= 0; i--) {
        it->idx[i]++;
        it->off[0] += it->stride[0][i];
        it->off[1] += it->stride[1][i];
        if (it->idx[i] < it->dims[i])
            return;
        it->off[0] -= it->stride[0][i] * it->dims[i];
        it->off[1] -= it->stride[1][i] * it->dims[i];
        it->idx[i] = 0;
    }
}

#endif /* T2C_BCAST_H */
