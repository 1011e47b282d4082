/* broadcast_add.c — add with NumPy broadcasting (ops/README.md "broadcast_add").
 * Attributes and legality are add's: prepare() runs add's prepare on the inputs viewed at the
 * broadcast shape, so the two ops can never disagree on what is legal. */
#include "broadcast_add.h"
#include "t2c_bcast.h"

/* Recipe (add's), per output element with a, b taken at their broadcast positions:
 *   a2 = scale_round((a - a_zero_point)·2^left_shift, a_multiplier, 0, a_shift, rounding)
 *   b2 = scale_round((b - b_zero_point)·2^left_shift, b_multiplier, 0, b_shift, rounding)
 *   y  = clamp(scale_round(a2 + b2, out_multiplier, 0, out_shift, rounding) + out_zero_point, lo, hi) */
t2c_status t2c_broadcast_add_ref(const t2c_add_params *p, const t2c_tensor *a, const t2c_tensor *b,
                                 t2c_tensor *y, t2c_error *err)
{
    (void)err;
    const int64_t n = t2c_tensor_numel(y);
    const int64_t pow_ls = (int64_t)1 << p->left_shift;
    t2c_bcast_iter it;
    t2c_bcast_begin(&it, y->rank, y->dims, a, b);
    for (int64_t i = 0; i < n; i++, t2c_bcast_next(&it)) {
        int64_t a1 = (t2c_tensor_get_int(a, it.off[0]) - p->a_zero_point) * pow_ls;
        int64_t b1 = (t2c_tensor_get_int(b, it.off[1]) - p->b_zero_point) * pow_ls;
        int64_t a2 = t2c_scale_round(a1, p->a_multiplier, 0, p->a_shift, p->rounding);
        int64_t b2 = t2c_scale_round(b1, p->b_multiplier, 0, p->b_shift, p->rounding);
        int64_t s = t2c_scale_round(a2 + b2, p->out_multiplier, 0, p->out_shift, p->rounding);
        t2c_tensor_set_int(y, i, t2c_clamp64(s + p->out_zero_point, p->lo, p->hi));
    }
    return T2C_OK;
}

static t2c_status broadcast_add_prepare(t2c_node *node, t2c_error *err)
{
    if (node->n_inputs != 2 || !node->inputs[0] || !node->inputs[1] || node->n_outputs != 1)
        return t2c_error_set(err, T2C_ERR_INVALID_ARG, "needs inputs input_a, input_b and one output");
    const t2c_tensor *a = node->inputs[0], *b = node->inputs[1];
    t2c_tensor *y = node->outputs[0];
    int rank;
    int64_t dims[T2C_MAX_RANK];
    char sa[128], sb[128];
    if (t2c_bcast_shape(a, b, &rank, dims) != 0)
        return t2c_error_set(err, T2C_ERR_SHAPE, "input shapes %s and %s do not broadcast",
                             t2c_shape_str(a, sa, sizeof sa), t2c_shape_str(b, sb, sizeof sb));
    /* add's checks on same-shape views of the inputs */
    t2c_tensor va = *a, vb = *b, vy = *y;
    va.rank = vb.rank = rank;
    for (int i = 0; i < rank; i++)
        va.dims[i] = vb.dims[i] = dims[i];
    t2c_tensor *ins[2] = {&va, &vb}, *outs[1] = {&vy};
    t2c_node view = *node;
    view.inputs = ins;
    view.outputs = outs;
    t2c_status st = t2c_op_add.prepare(&view, err);
    if (st)
        return st;
    y->rank = rank;
    for (int i = 0; i < rank; i++)
        y->dims[i] = dims[i];
    return T2C_OK;
}

static t2c_status broadcast_add_run(t2c_node *node, void *scratch, t2c_error *err)
{
    (void)scratch;
    return t2c_broadcast_add_ref(node->params, node->inputs[0], node->inputs[1], node->outputs[0], err);
}

static const char *const broadcast_add_roles[] = {"input_a", "input_b"};

const t2c_op_def t2c_op_broadcast_add = {
    .type = "broadcast_add",
    .min_inputs = 2,
    .max_inputs = 2,
    .n_outputs = 1,
    .input_roles = broadcast_add_roles,
    .params_size = sizeof(t2c_add_params),
    .prepare = broadcast_add_prepare,
    .run = broadcast_add_run,
};
