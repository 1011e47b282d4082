/* op_attrs.c — typed, range-checked access to op attributes for prepare(). */
#include <string.h>

#include "t2c_op.h"

const char *const t2c_rounding_names[T2C_ROUNDING_COUNT] = {
    "half_even", "half_up", "half_away", "floor", "tflite"};
const char *const t2c_overflow_names[T2C_OVERFLOW_COUNT] = {"error", "wrap", "saturate"};

static const char *const attr_type_names[] = {"?", "int", "float", "string", "ints", "floats", "strings"};

const t2c_attr *t2c_node_attr(const t2c_node *node, const char *name)
{
    for (int i = 0; i < node->n_attrs; i++)
        if (strcmp(node->attrs[i].name, name) == 0)
            return &node->attrs[i];
    return NULL;
}

static t2c_status wrong_type(const t2c_attr *a, const char *want, t2c_error *err)
{
    int t = (a->type >= 1 && a->type <= 6) ? (int)a->type : 0;
    return t2c_error_set(err, T2C_ERR_ATTR, "attribute '%s' must be %s, not %s", a->name, want,
                         attr_type_names[t]);
}

static t2c_status missing(const char *name, t2c_error *err)
{
    return t2c_error_set(err, T2C_ERR_ATTR, "required attribute '%s' is missing", name);
}

t2c_status t2c_attr_int(const t2c_node *node, const char *name, int required, int64_t def,
                        int64_t lo, int64_t hi, int64_t *out, t2c_error *err)
{
    const t2c_attr *a = t2c_node_attr(node, name);
    if (!a) {
        if (required)
            return missing(name, err);
        *out = def;
        return T2C_OK;
    }
    if (a->type != T2C_ATTR_INT)
        return wrong_type(a, "an int", err);
    if (a->v.i < lo || a->v.i > hi)
        return t2c_error_set(err, T2C_ERR_ATTR, "attribute '%s' = %lld is outside [%lld, %lld]", name,
                             (long long)a->v.i, (long long)lo, (long long)hi);
    *out = a->v.i;
    return T2C_OK;
}

t2c_status t2c_attr_ints(const t2c_node *node, const char *name, int required, int64_t count,
                         const int64_t *def, int64_t lo, int64_t hi, const int64_t **out,
                         int64_t *out_count, t2c_error *err)
{
    const t2c_attr *a = t2c_node_attr(node, name);
    if (!a) {
        if (required || !def)
            return missing(name, err);
        *out = def;
        if (out_count)
            *out_count = count;
        return T2C_OK;
    }
    if (a->type != T2C_ATTR_INTS)
        return wrong_type(a, "an int array", err);
    if ((count >= 0 && a->count != count) || a->count < 1)
        return t2c_error_set(err, T2C_ERR_ATTR, "attribute '%s' has %lld values, expected %lld", name,
                             (long long)a->count, (long long)(count >= 0 ? count : 1));
    for (int64_t i = 0; i < a->count; i++)
        if (a->v.ints[i] < lo || a->v.ints[i] > hi)
            return t2c_error_set(err, T2C_ERR_ATTR,
                                 "attribute '%s'[%lld] = %lld is outside [%lld, %lld]", name,
                                 (long long)i, (long long)a->v.ints[i], (long long)lo, (long long)hi);
    *out = a->v.ints;
    if (out_count)
        *out_count = a->count;
    return T2C_OK;
}

t2c_status t2c_attr_float(const t2c_node *node, const char *name, int required, double def,
                          double *out, t2c_error *err)
{
    const t2c_attr *a = t2c_node_attr(node, name);
    if (!a) {
        if (required)
            return missing(name, err);
        *out = def;
        return T2C_OK;
    }
    if (a->type != T2C_ATTR_FLOAT)
        return wrong_type(a, "a float", err);
    *out = a->v.f;
    return T2C_OK;
}

t2c_status t2c_attr_enum(const t2c_node *node, const char *name, int required, int def,
                         const char *const *names, int n, int *out, t2c_error *err)
{
    const t2c_attr *a = t2c_node_attr(node, name);
    if (!a) {
        if (required)
            return missing(name, err);
        *out = def;
        return T2C_OK;
    }
    if (a->type != T2C_ATTR_STRING)
        return wrong_type(a, "a string", err);
    for (int i = 0; i < n; i++)
        if (strcmp(a->v.s, names[i]) == 0) {
            *out = i;
            return T2C_OK;
        }
    char choices[256] = "";
    for (int i = 0; i < n; i++) {
        strncat(choices, i ? ", " : "", sizeof choices - strlen(choices) - 1);
        strncat(choices, names[i], sizeof choices - strlen(choices) - 1);
    }
    return t2c_error_set(err, T2C_ERR_ATTR, "attribute '%s' = '%s' is not one of: %s", name, a->v.s,
                         choices);
}

t2c_status t2c_attr_rounding(const t2c_node *node, const char *name, t2c_rounding def,
                             t2c_rounding *out, t2c_error *err)
{
    int v;
    t2c_status st = t2c_attr_enum(node, name, 0, (int)def, t2c_rounding_names, T2C_ROUNDING_COUNT, &v, err);
    if (st == T2C_OK)
        *out = (t2c_rounding)v;
    return st;
}
