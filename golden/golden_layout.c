/* golden_layout.c — layouts as index mappings.
 *
 * A layout is (1) a view of the logical tensor (itself, a reshape, or for conv2d in the GEMM
 * bases the im2col matrix / the weight matrix), then (2) a list of stored axes, each naming
 * a view dim, a size and a step: a permutation (NHWC) and a blocking with padding (tiles) are
 * both such lists. The stored array is row-major over the axes; stored index s holds
 * view[c] with c[d] = sum_j s_j·step_j over the axes of dim d, or the pad value when a
 * coordinate falls outside the view. golden/README.md states the same formulas. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden_internal.h"

static const char *const base_names[T2C_GOLDEN_BASE_COUNT] = {"nchw", "nhwc", "gemm", "gemm_hwc"};

const char *t2c_golden_base_name(t2c_golden_base b)
{
    return (unsigned)b < T2C_GOLDEN_BASE_COUNT ? base_names[b] : "?";
}

int t2c_golden_base_from_name(const char *name)
{
    for (int i = 0; name && i < T2C_GOLDEN_BASE_COUNT; i++)
        if (strcmp(name, base_names[i]) == 0)
            return i;
    return -1;
}

#define SIZE_LIMIT ((int64_t)1 << 62)

static int64_t attr_int(const t2c_op_view *op, const char *name, int64_t def)
{
    const t2c_attr *a = t2c_op_attr(op, name);
    return a && a->type == T2C_ATTR_INT ? a->v.i : def;
}

static void attr_ints(const t2c_op_view *op, const char *name, int64_t *out, int n, int64_t def)
{
    const t2c_attr *a = t2c_op_attr(op, name);
    for (int i = 0; i < n; i++)
        out[i] = (a && a->type == T2C_ATTR_INTS && a->count == n) ? a->v.ints[i] : def;
}

/* The conv geometry of op (a conv2d whose input and weight are rank 4), or -1. */
static int conv_geometry(const t2c_op_view *op, t2c_golden_conv *g)
{
    if (!op || strcmp(op->type, "conv2d") != 0 || op->n_inputs < 2 || !op->inputs[0] || !op->inputs[1] ||
        op->inputs[0]->rank != 4 || op->inputs[1]->rank != 4)
        return -1;
    const t2c_tensor *x = op->inputs[0], *w = op->inputs[1];
    int64_t st[2], dl[2], pd[4];
    attr_ints(op, "strides", st, 2, 1);
    attr_ints(op, "dilations", dl, 2, 1);
    attr_ints(op, "pads", pd, 4, 0);
    memset(g, 0, sizeof *g);
    g->cin = x->dims[1], g->h = x->dims[2], g->w = x->dims[3];
    g->cout = w->dims[0], g->kh = w->dims[2], g->kw = w->dims[3];
    g->group = attr_int(op, "group", 1);
    g->stride_h = st[0], g->stride_w = st[1], g->dil_h = dl[0], g->dil_w = dl[1];
    g->pad_top = pd[0], g->pad_left = pd[1], g->pad_bottom = pd[2], g->pad_right = pd[3];
    g->x_zero_point = attr_int(op, "x_zero_point", 0);
    if (g->group < 1 || g->stride_h < 1 || g->stride_w < 1 || g->dil_h < 1 || g->dil_w < 1)
        return -1;
    g->ho = (g->h + g->pad_top + g->pad_bottom - g->dil_h * (g->kh - 1) - 1) / g->stride_h + 1;
    g->wo = (g->w + g->pad_left + g->pad_right - g->dil_w * (g->kw - 1) - 1) / g->stride_w + 1;
    return g->ho >= 1 && g->wo >= 1 ? 0 : -1;
}

static int64_t mul_limit(int64_t a, int64_t b)
{
    return (a > 0 && b > SIZE_LIMIT / a) ? -1 : a * b;
}

/* ---------------------------------------------------------------- descriptors */

static const char desc_letters[] = "NCHW"; /* rank-4 aliases of dims 0..3 */

t2c_status t2c_golden_desc_parse(const char *text, t2c_golden_layout *l, t2c_error *err)
{
    if (!text || !l)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "t2c_golden_desc_parse: NULL argument");
    if (strncmp(text, "desc:", 5) == 0)
        text += 5;
    int n = 0, rank = 0, dims[T2C_GOLDEN_MAX_AXES], parts[T2C_GOLDEN_MAX_AXES];
    int64_t blocks[T2C_GOLDEN_MAX_AXES];
    const char *s = text;
    for (;;) {
        if (n == T2C_GOLDEN_MAX_AXES)
            return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "layout desc '%s': more than %d terms", text,
                                    T2C_GOLDEN_MAX_AXES);
        int d;
        const char *at = s;
        const char *L = *s ? strchr(desc_letters, *s) : NULL;
        if (L) {
            d = (int)(L - desc_letters), s++;
            if (rank < 4)
                rank = 4;
        } else if (*s >= '0' && *s <= '9') {
            d = 0;
            while (*s >= '0' && *s <= '9' && d < 100)
                d = d * 10 + (*s++ - '0');
            if (d >= T2C_MAX_RANK)
                return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "layout desc '%s': dim %d is not below rank %d",
                                        text, d, T2C_MAX_RANK);
        } else {
            return t2c_golden_error(err, T2C_ERR_INVALID_ARG,
                                    "layout desc '%s': term '%.*s' does not start with a dim (N, C, H, W or 0..%d)",
                                    text, (int)strcspn(at, ","), at, T2C_MAX_RANK - 1);
        }
        if (d + 1 > rank)
            rank = d + 1;
        int part = 0;
        int64_t b = 0;
        if (*s == '/' || *s == '%') {
            part = *s == '/' ? 1 : 2;
            s++;
            if (!(*s >= '0' && *s <= '9'))
                return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "layout desc '%s': term '%.*s' needs a block size",
                                        text, (int)strcspn(at, ","), at);
            for (; *s >= '0' && *s <= '9'; s++)
                b = b > SIZE_LIMIT / 10 ? SIZE_LIMIT + 1 : b * 10 + (*s - '0');
            if (b < 1 || b > SIZE_LIMIT)
                return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "layout desc '%s': block size in '%.*s' is not in 1..2^62",
                                        text, (int)strcspn(at, ","), at);
        }
        if (*s != ',' && *s != '\0')
            return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "layout desc '%s': unexpected '%c' in term '%.*s'", text,
                                    *s, (int)strcspn(at, ","), at);
        dims[n] = d, parts[n] = part, blocks[n] = b, n++;
        if (*s == '\0')
            break;
        s++;
    }
    /* each dim once whole, or once as D/B and once as D%B with the same B */
    int nwhole[T2C_MAX_RANK] = {0}, nblk[T2C_MAX_RANK] = {0}, nin[T2C_MAX_RANK] = {0};
    int64_t bsz[T2C_MAX_RANK] = {0};
    for (int i = 0; i < n; i++) {
        const int d = dims[i];
        int *cnt = parts[i] == 0 ? nwhole : parts[i] == 1 ? nblk : nin;
        if (cnt[d]++ || (parts[i] == 0 && (nblk[d] || nin[d])) || (parts[i] && nwhole[d]))
            return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "layout desc '%s': dim %d appears more than once", text,
                                    d);
        if (parts[i]) {
            if (bsz[d] && bsz[d] != blocks[i])
                return t2c_golden_error(err, T2C_ERR_INVALID_ARG,
                                        "layout desc '%s': dim %d has block sizes %lld and %lld", text, d,
                                        (long long)bsz[d], (long long)blocks[i]);
            bsz[d] = blocks[i];
        }
    }
    int missing = 0;
    for (int d = 0; d < rank; d++) {
        if (nblk[d] != nin[d])
            return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "layout desc '%s': dim %d has '%s' without '%s'", text,
                                    d, nblk[d] ? "/B" : "%B", nblk[d] ? "%B" : "/B");
        missing += !nwhole[d] && !nblk[d];
    }
    if (n + missing > T2C_GOLDEN_MAX_AXES)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "layout desc '%s': more than %d stored axes", text,
                                T2C_GOLDEN_MAX_AXES);
    /* dims the descriptor does not name come first, whole, in their order */
    int k = 0;
    for (int d = 0; d < rank; d++)
        if (!nwhole[d] && !nblk[d])
            l->desc[k].dim = d, l->desc[k].part = 0, l->desc[k].block = 0, k++;
    for (int i = 0; i < n; i++, k++)
        l->desc[k].dim = dims[i], l->desc[k].part = parts[i], l->desc[k].block = blocks[i];
    l->n_desc = k;
    l->desc_rank = rank;
    return T2C_OK;
}

const char *t2c_golden_desc_format(const t2c_golden_layout *l, char *buf, size_t size)
{
    size_t k = 0;
    if (size)
        buf[0] = '\0';
    for (int i = 0; i < l->n_desc; i++) {
        char name[16];
        const int d = l->desc[i].dim;
        if (l->desc_rank == 4)
            snprintf(name, sizeof name, "%c", desc_letters[d]);
        else
            snprintf(name, sizeof name, "%d", d);
        int w = l->desc[i].part ? snprintf(buf + k, k < size ? size - k : 0, "%s%s%c%lld", i ? "," : "", name,
                                           l->desc[i].part == 1 ? '/' : '%', (long long)l->desc[i].block)
                                : snprintf(buf + k, k < size ? size - k : 0, "%s%s", i ? "," : "", name);
        k += w > 0 ? (size_t)w : 0;
    }
    if (size && k >= size)
        buf[size - 1] = '\0';
    return buf;
}

/* The stored axes of descriptor l for a tensor of its rank (the view is the tensor). */
static t2c_status desc_axes(const t2c_golden_layout *l, t2c_golden_plan *p, t2c_error *err)
{
    if (l->n_desc < 1 || l->n_desc > T2C_GOLDEN_MAX_AXES || l->desc_rank < 1 || l->desc_rank > T2C_MAX_RANK)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "layout desc: bad term count %d or rank %d", l->n_desc,
                                l->desc_rank);
    for (int i = 0; i < l->n_desc; i++) {
        const int d = l->desc[i].dim;
        const int64_t b = l->desc[i].block;
        if (d < 0 || d >= l->desc_rank || l->desc[i].part < 0 || l->desc[i].part > 2 ||
            (l->desc[i].part && (b < 1 || b > SIZE_LIMIT)))
            return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "layout desc: bad term %d", i);
        const int64_t n = p->view_dims[d];
        if (l->desc[i].part == 0)
            p->axes[i] = (t2c_golden_axis){d, n, 1};
        else if (l->desc[i].part == 1)
            p->axes[i] = (t2c_golden_axis){d, (n + b - 1) / b, b}; /* padded up to a multiple of B */
        else
            p->axes[i] = (t2c_golden_axis){d, b, 1};
    }
    p->n_axes = l->n_desc;
    return T2C_OK;
}

t2c_status t2c_golden_plan_tensor(const t2c_golden_layout *layout, const t2c_op_view *op, const char *role,
                                  int rank, const int64_t *dims, t2c_golden_plan *p, t2c_error *err)
{
    static const t2c_golden_layout def = {0};
    if (!layout)
        layout = &def;
    if (!p || (rank > 0 && !dims) || rank < 0 || rank > T2C_MAX_RANK)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "t2c_golden_plan_tensor: bad arguments");
    if ((unsigned)layout->base >= T2C_GOLDEN_BASE_COUNT)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "unknown layout base %d", (int)layout->base);
    const int tiled = layout->tile_rows != 0 || layout->tile_cols != 0;
    if (tiled && (layout->tile_rows < 1 || layout->tile_cols < 1 || layout->tile_rows > SIZE_LIMIT ||
                  layout->tile_cols > SIZE_LIMIT))
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "tile %lldx%lld: both sizes must be >= 1",
                                (long long)layout->tile_rows, (long long)layout->tile_cols);
    if (layout->n_desc && (layout->base != T2C_GOLDEN_NCHW || tiled))
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "a layout desc cannot be combined with %s",
                                tiled ? "tiles" : "another base than nchw");
    memset(p, 0, sizeof *p);
    p->rank = rank;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 1 || dims[i] > SIZE_LIMIT)
            return t2c_golden_error(err, T2C_ERR_SHAPE, "dim %d = %lld is outside 1..2^62", i, (long long)dims[i]);
        p->dims[i] = dims[i];
    }

    /* (1) the view */
    p->view = T2C_GOLDEN_VIEW_IDENTITY;
    p->view_rank = rank;
    memcpy(p->view_dims, p->dims, sizeof p->dims);
    const int gemm = layout->base == T2C_GOLDEN_GEMM || layout->base == T2C_GOLDEN_GEMM_HWC;
    const int hwc = layout->base == T2C_GOLDEN_GEMM_HWC;
    t2c_golden_conv g;
    if (gemm && role && conv_geometry(op, &g) == 0 && rank == 4 &&
        (strcmp(role, "input") == 0 || strcmp(role, "weight") == 0)) {
        p->conv = g;
        const int64_t k = (g.cin / g.group) * g.kh * g.kw; /* per group */
        if (strcmp(role, "input") == 0) {
            if (dims[1] != g.cin || dims[2] != g.h || dims[3] != g.w)
                return t2c_golden_error(err, T2C_ERR_SHAPE, "conv2d input dims do not match the op");
            p->view = T2C_GOLDEN_VIEW_IM2COL;
            p->hwc = hwc;
            p->view_rank = 3;
            p->view_dims[0] = dims[0];
            p->view_dims[1] = mul_limit(k, g.group);
            p->view_dims[2] = mul_limit(g.ho, g.wo);
        } else {
            p->view = hwc ? T2C_GOLDEN_VIEW_WEIGHT_HWC : T2C_GOLDEN_VIEW_RESHAPE;
            p->view_rank = 2;
            p->view_dims[0] = dims[0];
            p->view_dims[1] = k;
        }
        for (int i = p->view_rank; i < T2C_MAX_RANK; i++)
            p->view_dims[i] = 0;
    } else if (gemm && rank == 4) {
        p->view = T2C_GOLDEN_VIEW_RESHAPE;
        p->view_rank = 3;
        p->view_dims[2] = dims[2] * dims[3];
        p->view_dims[3] = 0;
    }
    int64_t vn = 1;
    for (int i = 0; i < p->view_rank; i++) {
        if (p->view_dims[i] < 1 || (vn = mul_limit(vn, p->view_dims[i])) < 0)
            return t2c_golden_error(err, T2C_ERR_SHAPE, "view of %lld elements or more is too large",
                                    (long long)p->view_dims[i]);
    }
    p->view_numel = vn;

    /* (2) the stored axes: permutation, then tiling of the last two */
    int perm[T2C_MAX_RANK];
    const int m = p->view_rank;
    for (int i = 0; i < m; i++)
        perm[i] = i;
    if (layout->base == T2C_GOLDEN_NHWC && m == 4)
        perm[1] = 2, perm[2] = 3, perm[3] = 1;
    int n = 0;
    const int keep = tiled ? (m >= 2 ? m - 2 : 0) : m;
    for (int i = 0; i < keep; i++)
        p->axes[n++] = (t2c_golden_axis){perm[i], p->view_dims[perm[i]], 1};
    if (tiled && m == 1) {
        const int64_t r = p->view_dims[perm[0]], tr = layout->tile_rows;
        p->axes[n++] = (t2c_golden_axis){perm[0], (r + tr - 1) / tr, tr};
        p->axes[n++] = (t2c_golden_axis){perm[0], tr, 1};
    } else if (tiled && m >= 2) {
        const int dr = perm[m - 2], dc = perm[m - 1];
        const int64_t tr = layout->tile_rows, tc = layout->tile_cols;
        t2c_golden_axis outer_r = {dr, (p->view_dims[dr] + tr - 1) / tr, tr};
        t2c_golden_axis outer_c = {dc, (p->view_dims[dc] + tc - 1) / tc, tc};
        t2c_golden_axis inner_r = {dr, tr, 1}, inner_c = {dc, tc, 1};
        if (layout->tile_col_major)
            p->axes[n++] = outer_c, p->axes[n++] = outer_r;
        else
            p->axes[n++] = outer_r, p->axes[n++] = outer_c;
        if (layout->inner_col_major)
            p->axes[n++] = inner_c, p->axes[n++] = inner_r;
        else
            p->axes[n++] = inner_r, p->axes[n++] = inner_c;
    }
    p->n_axes = n;
    if (layout->n_desc && layout->desc_rank == m) {
        t2c_status st = desc_axes(layout, p, err);
        if (st != T2C_OK)
            return st;
        n = p->n_axes;
    }
    int64_t sn = 1;
    for (int j = 0; j < n; j++)
        if ((sn = mul_limit(sn, p->axes[j].size)) < 0)
            return t2c_golden_error(err, T2C_ERR_SHAPE, "tiled size exceeds 2^62 elements");
    p->stored_numel = sn;
    return T2C_OK;
}

const char *t2c_golden_plan_formula(const t2c_golden_plan *p, char *buf, size_t size)
{
    size_t k = 0;
#define PUT(...)                                                                    \
    do {                                                                            \
        int w_ = snprintf(buf + k, k < size ? size - k : 0, __VA_ARGS__);           \
        k += w_ > 0 ? (size_t)w_ : 0;                                               \
    } while (0)
    if (size)
        buf[0] = '\0';
    PUT("V");
    for (int d = 0; d < p->view_rank; d++) {
        PUT("[");
        int first = 1;
        for (int j = 0; j < p->n_axes; j++) {
            if (p->axes[j].dim != d)
                continue;
            if (p->axes[j].step == 1)
                PUT("%ss%d", first ? "" : "+", j);
            else
                PUT("%ss%d*%lld", first ? "" : "+", j, (long long)p->axes[j].step);
            first = 0;
        }
        PUT("]");
    }
#undef PUT
    if (size && k >= size)
        buf[size - 1] = '\0';
    return buf;
}

/* ---------------------------------------------------------------- reading elements */

static t2c_dtype read_type(t2c_dtype d)
{
    switch (d) {
    case T2C_INT4: return T2C_INT8;
    case T2C_UINT4: return T2C_UINT8;
    default: return d;
    }
}

static inline int64_t read_elem(const void *data, t2c_dtype mem, int64_t i)
{
    switch (mem) {
    case T2C_INT8: return ((const int8_t *)data)[i];
    case T2C_UINT8: return ((const uint8_t *)data)[i];
    case T2C_INT16: return ((const int16_t *)data)[i];
    case T2C_INT32: return ((const int32_t *)data)[i];
    case T2C_FLOAT32: return ((const uint32_t *)data)[i]; /* the bit pattern */
    default: return ((const int64_t *)data)[i];
    }
}

/* im2col: V[n][row][oh·Wo+ow] with row = (c·KH+kh)·KW+kw (hwc: g·Kg + (kh·KW+kw)·Cg + ci),
 * x at (oh·sh - top + kh·dh, ow·sw - left + kw·dw), x_zero_point outside the input. */
static int64_t *im2col(const t2c_golden_plan *p, const void *data, t2c_dtype mem)
{
    const t2c_golden_conv *g = &p->conv;
    const int64_t nb = p->view_dims[0], rows = p->view_dims[1], cols = p->view_dims[2];
    int64_t *v = malloc(sizeof(int64_t) * (size_t)(nb * rows * cols));
    if (!v)
        return NULL;
    const int64_t cg = g->cin / g->group;
    for (int64_t n = 0; n < nb; n++)
        for (int64_t c = 0; c < g->cin; c++)
            for (int64_t kh = 0; kh < g->kh; kh++)
                for (int64_t kw = 0; kw < g->kw; kw++) {
                    int64_t row = p->hwc ? (c / cg) * cg * g->kh * g->kw + (kh * g->kw + kw) * cg + c % cg
                                         : (c * g->kh + kh) * g->kw + kw;
                    int64_t *out = v + (n * rows + row) * cols;
                    const int64_t base = (n * g->cin + c) * g->h * g->w;
                    for (int64_t oh = 0; oh < g->ho; oh++) {
                        int64_t ih = oh * g->stride_h - g->pad_top + kh * g->dil_h;
                        for (int64_t ow = 0; ow < g->wo; ow++) {
                            int64_t iw = ow * g->stride_w - g->pad_left + kw * g->dil_w;
                            out[oh * g->wo + ow] = (ih >= 0 && ih < g->h && iw >= 0 && iw < g->w)
                                                       ? read_elem(data, mem, base + ih * g->w + iw)
                                                       : g->x_zero_point;
                        }
                    }
                }
    return v;
}

/* W'[co][(kh·KW+kw)·Cg + ci] = w[co][ci][kh][kw] */
static int64_t *weight_hwc(const t2c_golden_plan *p, const void *data, t2c_dtype mem)
{
    const int64_t co_n = p->dims[0], cg = p->dims[1], kh_n = p->dims[2], kw_n = p->dims[3];
    int64_t *v = malloc(sizeof(int64_t) * (size_t)(co_n * cg * kh_n * kw_n));
    if (!v)
        return NULL;
    int64_t i = 0;
    for (int64_t co = 0; co < co_n; co++)
        for (int64_t ci = 0; ci < cg; ci++)
            for (int64_t kh = 0; kh < kh_n; kh++)
                for (int64_t kw = 0; kw < kw_n; kw++, i++)
                    v[(co * kh_n * kw_n + kh * kw_n + kw) * cg + ci] = read_elem(data, mem, i);
    return v;
}

t2c_status t2c_golden_iter_init(t2c_golden_iter *it, const t2c_golden_plan *p, const void *data,
                                t2c_dtype dtype, int64_t pad_value, t2c_error *err)
{
    memset(it, 0, sizeof *it);
    it->plan = p;
    it->data = data;
    it->mem = read_type(dtype);
    it->pad = t2c_golden_pad_in_dtype(pad_value, dtype);
    if (p->view == T2C_GOLDEN_VIEW_IM2COL || p->view == T2C_GOLDEN_VIEW_WEIGHT_HWC) {
        it->owned = p->view == T2C_GOLDEN_VIEW_IM2COL ? im2col(p, data, it->mem) : weight_hwc(p, data, it->mem);
        if (!it->owned)
            return t2c_golden_error(err, T2C_ERR_NOMEM, "out of memory for a %lld-element GEMM view",
                                    (long long)p->view_numel);
        it->data = it->owned;
        it->mem = T2C_INT64;
    }
    int64_t vstride[T2C_MAX_RANK];
    int64_t s = 1;
    for (int d = p->view_rank - 1; d >= 0; d--) {
        vstride[d] = s;
        s *= p->view_dims[d];
    }
    for (int j = 0; j < p->n_axes; j++)
        it->lstride[j] = p->axes[j].step * vstride[p->axes[j].dim];
    it->contiguous = p->n_axes == p->view_rank && p->stored_numel == p->view_numel;
    for (int j = 0; j < p->n_axes && it->contiguous; j++)
        if (p->axes[j].dim != j || p->axes[j].step != 1 || p->axes[j].size != p->view_dims[j])
            it->contiguous = 0;
    return T2C_OK;
}

void t2c_golden_iter_free(t2c_golden_iter *it)
{
    free(it->owned);
    it->owned = NULL;
}

/* Values of the innermost axis from position i0, k of them, starting at view offset off0
 * with stride ls; positions at or past `valid` are padding. */
static void fill_run(const t2c_golden_iter *it, int64_t *out, int64_t off0, int64_t ls, int64_t i0, int64_t k,
                     int64_t valid)
{
    int64_t r = valid - i0; /* in-range values at the start of the run */
    if (r < 0)
        r = 0;
    if (r > k)
        r = k;
    const int64_t o = off0 + i0 * ls;
#define RUN(T)                                                     \
    do {                                                           \
        const T *src_ = (const T *)it->data + o;                   \
        if (ls == 1)                                               \
            for (int64_t q = 0; q < r; q++)                        \
                out[q] = src_[q];                                  \
        else                                                       \
            for (int64_t q = 0; q < r; q++)                        \
                out[q] = src_[q * ls];                             \
    } while (0)
    if (r > 0) {
        switch (it->mem) {
        case T2C_INT8: RUN(int8_t); break;
        case T2C_UINT8: RUN(uint8_t); break;
        case T2C_INT16: RUN(int16_t); break;
        case T2C_INT32: RUN(int32_t); break;
        case T2C_FLOAT32: RUN(uint32_t); break;
        default: RUN(int64_t); break;
        }
    }
#undef RUN
    for (int64_t q = r; q < k; q++)
        out[q] = it->pad;
}

size_t t2c_golden_iter_fill(t2c_golden_iter *it, int64_t *out, size_t max)
{
    const t2c_golden_plan *p = it->plan;
    size_t produced = 0;
    if (p->n_axes == 0) { /* a scalar */
        if (it->done == 0 && max > 0) {
            out[0] = read_elem(it->data, it->mem, 0);
            it->done = 1;
            return 1;
        }
        return 0;
    }
    if (it->contiguous) { /* stored order = view order: one long run */
        int64_t k = p->stored_numel - it->done;
        if ((int64_t)max < k)
            k = (int64_t)max;
        fill_run(it, out, it->done, 1, 0, k, k);
        it->done += k;
        return (size_t)k;
    }
    const int J = p->n_axes - 1;
    const t2c_golden_axis *in = &p->axes[J];
    while (produced < max && it->done < p->stored_numel) {
        /* in range on every dim from the outer axes? */
        int ok = 1;
        for (int d = 0; d < p->view_rank; d++)
            if (it->coord[d] >= p->view_dims[d])
                ok = 0;
        int64_t k = in->size - it->inner;
        if ((int64_t)(max - produced) < k)
            k = (int64_t)(max - produced);
        int64_t valid = 0; /* inner positions below this are in range */
        if (ok) {
            int64_t room = p->view_dims[in->dim] - it->coord[in->dim];
            valid = (room + in->step - 1) / in->step;
        }
        fill_run(it, out + produced, it->off, it->lstride[J], it->inner, k, valid);
        produced += (size_t)k;
        it->done += k;
        it->inner += k;
        if (it->inner < in->size)
            break; /* out of room */
        it->inner = 0;
        for (int j = J - 1; j >= 0; j--) { /* odometer over the outer axes */
            const t2c_golden_axis *a = &p->axes[j];
            it->idx[j]++;
            it->coord[a->dim] += a->step;
            it->off += it->lstride[j];
            if (it->idx[j] < a->size)
                break;
            it->idx[j] = 0;
            it->coord[a->dim] -= a->step * a->size;
            it->off -= it->lstride[j] * a->size;
        }
    }
    return produced;
}

t2c_status t2c_golden_gather(const t2c_golden_plan *plan, const void *data, t2c_dtype dtype,
                             int64_t pad_value, int64_t *out, t2c_error *err)
{
    if (!plan || !data || !out)
        return t2c_golden_error(err, T2C_ERR_INVALID_ARG, "t2c_golden_gather: NULL argument");
    t2c_golden_iter it;
    t2c_status st = t2c_golden_iter_init(&it, plan, data, dtype, pad_value, err);
    if (st != T2C_OK)
        return st;
    int64_t k = 0;
    while (k < plan->stored_numel)
        k += (int64_t)t2c_golden_iter_fill(&it, out + k, (size_t)(plan->stored_numel - k));
    t2c_golden_iter_free(&it);
    return T2C_OK;
}
