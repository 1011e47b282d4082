/* golden_manifest.c — the JSON pieces of manifest.json (json-c), op parameters as the RTL
 * sees them (zero points, rounding, documented defaults), sha256 (nettle) and atomic small
 * file writes. The schema is documented in golden/README.md. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "golden_internal.h"

/* ---------------------------------------------------------------- attributes */

static json_object *int_array(const int64_t *v, int64_t n)
{
    json_object *a = json_object_new_array_ext((int)n);
    for (int64_t i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_int64(v[i]));
    return a;
}

static json_object *attr_json(const t2c_attr *a)
{
    switch (a->type) {
    case T2C_ATTR_INT: return json_object_new_int64(a->v.i);
    case T2C_ATTR_FLOAT: return json_object_new_double(a->v.f);
    case T2C_ATTR_STRING: return json_object_new_string_len(a->v.s, (int)a->count);
    case T2C_ATTR_INTS: return int_array(a->v.ints, a->count);
    case T2C_ATTR_FLOATS: {
        json_object *arr = json_object_new_array_ext((int)a->count);
        for (int64_t i = 0; i < a->count; i++)
            json_object_array_add(arr, json_object_new_double(a->v.floats[i]));
        return arr;
    }
    case T2C_ATTR_STRINGS: {
        json_object *arr = json_object_new_array_ext((int)a->count);
        for (int64_t i = 0; i < a->count; i++)
            json_object_array_add(arr, json_object_new_string(a->v.strs[i]));
        return arr;
    }
    }
    return NULL;
}

/* Attribute defaults of ops/README.md, as JSON text; "$lo"/"$hi" = the output dtype's range,
 * "$kernel" = the kernel attribute. Listed in the manifest for every attribute an op omits,
 * so a testbench never has to know the defaults. */
static const struct {
    const char *op, *name, *json;
} defaults[] = {
    {"conv2d", "strides", "[1, 1]"}, {"conv2d", "pads", "[0, 0, 0, 0]"}, {"conv2d", "dilations", "[1, 1]"},
    {"conv2d", "group", "1"}, {"conv2d", "x_zero_point", "0"}, {"conv2d", "w_zero_point", "0"},
    {"conv2d", "acc_bits", "32"}, {"conv2d", "overflow", "\"error\""},
    {"linear", "x_zero_point", "0"}, {"linear", "w_zero_point", "0"}, {"linear", "acc_bits", "32"},
    {"linear", "overflow", "\"error\""},
    {"matmul", "a_zero_point", "0"}, {"matmul", "b_zero_point", "0"}, {"matmul", "transpose_b", "0"},
    {"matmul", "acc_bits", "32"}, {"matmul", "overflow", "\"error\""},
    {"requantize", "offset", "[0]"}, {"requantize", "zero_point", "0"}, {"requantize", "lo", "$lo"},
    {"requantize", "hi", "$hi"}, {"requantize", "rounding", "\"half_even\""}, {"requantize", "axis", "1"},
    {"add", "a_zero_point", "0"}, {"add", "b_zero_point", "0"}, {"add", "left_shift", "0"},
    {"add", "a_multiplier", "1"}, {"add", "a_shift", "0"}, {"add", "b_multiplier", "1"}, {"add", "b_shift", "0"},
    {"add", "out_multiplier", "1"}, {"add", "out_shift", "0"}, {"add", "out_zero_point", "0"},
    {"add", "rounding", "\"half_even\""}, {"add", "lo", "$lo"}, {"add", "hi", "$hi"},
    {"relu", "zero_point", "0"}, {"clamp", "lo", "$lo"}, {"clamp", "hi", "$hi"},
    {"maxpool2d", "strides", "$kernel"}, {"maxpool2d", "pads", "[0, 0, 0, 0]"}, {"maxpool2d", "dilations", "[1, 1]"},
    {"avgpool2d", "strides", "$kernel"}, {"avgpool2d", "pads", "[0, 0, 0, 0]"},
    {"avgpool2d", "count_include_pad", "0"}, {"avgpool2d", "x_zero_point", "0"},
    {"avgpool2d", "rounding", "\"half_even\""},
    {"global_avgpool", "rounding", "\"half_even\""}, {"flatten", "axis", "1"},
    {"quantize", "zero_point", "0"}, {"quantize", "lo", "$lo"}, {"quantize", "hi", "$hi"},
    {"dequantize", "zero_point", "0"},
    /* transformer ops (ops/README.md "Transformer ops"); broadcast_add has add's defaults */
    {"broadcast_add", "a_zero_point", "0"}, {"broadcast_add", "b_zero_point", "0"},
    {"broadcast_add", "left_shift", "0"}, {"broadcast_add", "a_multiplier", "1"}, {"broadcast_add", "a_shift", "0"},
    {"broadcast_add", "b_multiplier", "1"}, {"broadcast_add", "b_shift", "0"},
    {"broadcast_add", "out_multiplier", "1"}, {"broadcast_add", "out_shift", "0"},
    {"broadcast_add", "out_zero_point", "0"}, {"broadcast_add", "rounding", "\"half_even\""},
    {"broadcast_add", "lo", "$lo"}, {"broadcast_add", "hi", "$hi"},
    {"mul", "a_zero_point", "0"}, {"mul", "b_zero_point", "0"}, {"mul", "multiplier", "1"}, {"mul", "shift", "0"},
    {"mul", "out_zero_point", "0"}, {"mul", "rounding", "\"half_even\""}, {"mul", "lo", "$lo"}, {"mul", "hi", "$hi"},
    {"slice", "step", "1"}, {"softmax", "method", "\"ibert\""}, {"softmax", "lut_shift", "0"},
    {"layernorm", "method", "\"ibert\""}, {"layernorm", "shift", "0"}, {"layernorm", "eps", "0"},
    {"layernorm", "out_zero_point", "0"}, {"layernorm", "lo", "$lo"}, {"layernorm", "hi", "$hi"},
    {"layernorm", "rounding", "\"half_even\""},
    {"gelu", "method", "\"ibert\""}, {"gelu", "x_zero_point", "0"}, {"gelu", "out_zero_point", "0"},
    {"gelu", "lo", "$lo"}, {"gelu", "hi", "$hi"}, {"gelu", "rounding", "\"half_even\""},
    {"gelu", "lut_shift", "0"}, {"gelu", "lut_offset", "0"},
};

/* Which attribute holds the zero point of a role. relu's zero_point is its threshold, the
 * zero point of both its input and output. */
static const struct {
    const char *op, *role, *attr;
} zero_points[] = {
    {"conv2d", "input", "x_zero_point"}, {"conv2d", "weight", "w_zero_point"},
    {"linear", "input", "x_zero_point"}, {"linear", "weight", "w_zero_point"},
    {"matmul", "input_a", "a_zero_point"}, {"matmul", "input_b", "b_zero_point"},
    {"add", "input_a", "a_zero_point"}, {"add", "input_b", "b_zero_point"}, {"add", "output", "out_zero_point"},
    {"requantize", "output", "zero_point"}, {"relu", "input", "zero_point"}, {"relu", "output", "zero_point"},
    {"avgpool2d", "input", "x_zero_point"}, {"quantize", "output", "zero_point"},
    {"dequantize", "input", "zero_point"},
    {"broadcast_add", "input_a", "a_zero_point"}, {"broadcast_add", "input_b", "b_zero_point"},
    {"broadcast_add", "output", "out_zero_point"}, {"mul", "input_a", "a_zero_point"},
    {"mul", "input_b", "b_zero_point"}, {"mul", "output", "out_zero_point"},
    {"layernorm", "output", "out_zero_point"}, {"gelu", "input", "x_zero_point"}, {"gelu", "output", "out_zero_point"},
};

int t2c_golden_zero_point(const t2c_op_view *op, const char *role, int64_t *zp)
{
    for (size_t i = 0; i < sizeof zero_points / sizeof zero_points[0]; i++) {
        if (strcmp(zero_points[i].op, op->type) != 0 || strcmp(zero_points[i].role, role) != 0)
            continue;
        const t2c_attr *a = t2c_op_attr(op, zero_points[i].attr);
        *zp = a && a->type == T2C_ATTR_INT ? a->v.i : 0;
        return 1;
    }
    return 0;
}

const char *t2c_golden_rounding(const t2c_op_view *op)
{
    static const char *const rounding_ops[] = {"requantize", "add", "avgpool2d", "global_avgpool",
                                               "broadcast_add", "mul", "layernorm", "gelu"};
    for (size_t i = 0; i < sizeof rounding_ops / sizeof rounding_ops[0]; i++)
        if (strcmp(op->type, rounding_ops[i]) == 0) {
            const t2c_attr *a = t2c_op_attr(op, "rounding");
            return a && a->type == T2C_ATTR_STRING ? a->v.s : "half_even";
        }
    return NULL;
}

static json_object *shape_json(const t2c_tensor *t, int per_image, int batch)
{
    json_object *a = json_object_new_array_ext(t->rank);
    for (int i = 0; i < t->rank; i++)
        json_object_array_add(a, json_object_new_int64(i == 0 && per_image && batch > 1 ? t->dims[0] / batch
                                                                                         : t->dims[i]));
    return a;
}

static json_object *tensor_list(const t2c_tensor *const *ts, int n, const char *const *roles, int batch)
{
    json_object *arr = json_object_new_array_ext(n);
    for (int i = 0; i < n; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "slot", json_object_new_int(i));
        if (roles)
            json_object_object_add(o, "role", json_object_new_string(roles[i]));
        const t2c_tensor *t = ts[i];
        json_object_object_add(o, "tensor", t ? json_object_new_string(t->name) : NULL);
        if (t) {
            json_object_object_add(o, "dtype", json_object_new_string(t2c_dtype_name(t->dtype)));
            json_object_object_add(o, "shape", shape_json(t, !t->is_const, batch));
            json_object_object_add(o, "constant", json_object_new_boolean(t->is_const));
        }
        json_object_array_add(arr, o);
    }
    return arr;
}

json_object *t2c_golden_op_json(const t2c_op_view *op, int batch)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "index", json_object_new_int(op->index));
    json_object_object_add(o, "name", json_object_new_string(op->name));
    json_object_object_add(o, "type", json_object_new_string(op->type));
    json_object_object_add(o, "macs_per_image", json_object_new_int64(batch > 0 ? op->macs / batch : op->macs));
    json_object_object_add(o, "inputs", tensor_list(op->inputs, op->n_inputs, op->input_roles, batch));
    json_object *outs = tensor_list(op->outputs, op->n_outputs, NULL, batch);
    for (int i = 0; i < op->n_outputs; i++)
        json_object_object_add(json_object_array_get_idx(outs, (size_t)i), "role",
                               json_object_new_string("output"));
    json_object_object_add(o, "outputs", outs);
    json_object *attrs = json_object_new_object();
    for (int i = 0; i < op->n_attrs; i++)
        json_object_object_add(attrs, op->attrs[i].name, attr_json(&op->attrs[i]));
    json_object_object_add(o, "attrs", attrs);
    json_object *defs = json_object_new_object();
    const t2c_tensor *out = op->n_outputs ? op->outputs[0] : NULL;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        if (strcmp(defaults[i].op, op->type) != 0 || t2c_op_attr(op, defaults[i].name))
            continue;
        json_object *v = NULL;
        if (strcmp(defaults[i].json, "$lo") == 0 && out)
            v = json_object_new_int64(t2c_dtype_min(out->dtype));
        else if (strcmp(defaults[i].json, "$hi") == 0 && out)
            v = json_object_new_int64(t2c_dtype_max(out->dtype));
        else if (strcmp(defaults[i].json, "$kernel") == 0) {
            const t2c_attr *k = t2c_op_attr(op, "kernel");
            v = k ? attr_json(k) : NULL;
        } else
            v = json_tokener_parse(defaults[i].json);
        if (v)
            json_object_object_add(defs, defaults[i].name, v);
    }
    json_object_object_add(o, "defaults", defs);
    const char *r = t2c_golden_rounding(op);
    json_object_object_add(o, "rounding", r ? json_object_new_string(r) : NULL);
    return o;
}

/* ---------------------------------------------------------------- layout */

static const char *const view_names[] = {"identity", "reshape", "im2col", "weight_hwc"};

json_object *t2c_golden_layout_json(const t2c_golden_layout *l, const t2c_golden_plan *p, int64_t pad)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "base", json_object_new_string(t2c_golden_base_name(l->base)));
    if (l->n_desc) { /* the axes below are the descriptor's when the tensor has its rank */
        char d[512];
        json_object_object_add(o, "desc", json_object_new_string(t2c_golden_desc_format(l, d, sizeof d)));
    }
    json_object_object_add(o, "view", json_object_new_string(view_names[p->view]));
    json_object *vs = json_object_new_array_ext(p->view_rank);
    for (int i = 0; i < p->view_rank; i++)
        json_object_array_add(vs, json_object_new_int64(p->view_dims[i]));
    json_object_object_add(o, "view_shape", vs);
    char f[512];
    switch (p->view) {
    case T2C_GOLDEN_VIEW_IDENTITY: snprintf(f, sizeof f, "V = X"); break;
    case T2C_GOLDEN_VIEW_RESHAPE: snprintf(f, sizeof f, "V = X reshaped (row-major, data unchanged)"); break;
    case T2C_GOLDEN_VIEW_IM2COL:
        snprintf(f, sizeof f,
                 p->hwc ? "V[n][g*Kg+(kh*KW+kw)*Cg+ci][oh*Wo+ow] = X[n][g*Cg+ci][oh*sh-pad_top+kh*dh]"
                          "[ow*sw-pad_left+kw*dw], x_zero_point outside X (Cg = Cin/group, Kg = Cg*KH*KW)"
                        : "V[n][(c*KH+kh)*KW+kw][oh*Wo+ow] = X[n][c][oh*sh-pad_top+kh*dh][ow*sw-pad_left+kw*dw], "
                          "x_zero_point outside X");
        break;
    case T2C_GOLDEN_VIEW_WEIGHT_HWC:
        snprintf(f, sizeof f, "V[co][(kh*KW+kw)*Cg+ci] = W[co][ci][kh][kw] (Cg = Cin/group)");
        break;
    }
    json_object_object_add(o, "view_formula", json_object_new_string(f));
    if (p->view == T2C_GOLDEN_VIEW_IM2COL || p->view == T2C_GOLDEN_VIEW_WEIGHT_HWC) {
        const t2c_golden_conv *g = &p->conv;
        json_object *c = json_object_new_object();
        json_object_object_add(c, "Cin", json_object_new_int64(g->cin));
        json_object_object_add(c, "H", json_object_new_int64(g->h));
        json_object_object_add(c, "W", json_object_new_int64(g->w));
        json_object_object_add(c, "Cout", json_object_new_int64(g->cout));
        json_object_object_add(c, "KH", json_object_new_int64(g->kh));
        json_object_object_add(c, "KW", json_object_new_int64(g->kw));
        json_object_object_add(c, "group", json_object_new_int64(g->group));
        json_object_object_add(c, "sh", json_object_new_int64(g->stride_h));
        json_object_object_add(c, "sw", json_object_new_int64(g->stride_w));
        json_object_object_add(c, "dh", json_object_new_int64(g->dil_h));
        json_object_object_add(c, "dw", json_object_new_int64(g->dil_w));
        json_object_object_add(c, "pad_top", json_object_new_int64(g->pad_top));
        json_object_object_add(c, "pad_left", json_object_new_int64(g->pad_left));
        json_object_object_add(c, "pad_bottom", json_object_new_int64(g->pad_bottom));
        json_object_object_add(c, "pad_right", json_object_new_int64(g->pad_right));
        json_object_object_add(c, "Ho", json_object_new_int64(g->ho));
        json_object_object_add(c, "Wo", json_object_new_int64(g->wo));
        json_object_object_add(c, "x_zero_point", json_object_new_int64(g->x_zero_point));
        json_object_object_add(o, "conv", c);
    }
    const int tiled = l->tile_rows > 0 && l->tile_cols > 0;
    if (tiled) {
        json_object *t = json_object_new_array_ext(2);
        json_object_array_add(t, json_object_new_int64(l->tile_rows));
        json_object_array_add(t, json_object_new_int64(l->tile_cols));
        json_object_object_add(o, "tile", t);
        json_object_object_add(o, "tile_order", json_object_new_string(l->tile_col_major ? "col" : "row"));
        json_object_object_add(o, "inner_order", json_object_new_string(l->inner_col_major ? "col" : "row"));
    } else {
        json_object_object_add(o, "tile", NULL);
    }
    json_object *axes = json_object_new_array_ext(p->n_axes), *ss = json_object_new_array_ext(p->n_axes);
    for (int j = 0; j < p->n_axes; j++) {
        json_object *a = json_object_new_object();
        json_object_object_add(a, "dim", json_object_new_int(p->axes[j].dim));
        json_object_object_add(a, "size", json_object_new_int64(p->axes[j].size));
        json_object_object_add(a, "step", json_object_new_int64(p->axes[j].step));
        json_object_array_add(axes, a);
        json_object_array_add(ss, json_object_new_int64(p->axes[j].size));
    }
    json_object_object_add(o, "axes", axes);
    json_object_object_add(o, "stored_shape", ss);
    char formula[1024], text[1200];
    t2c_golden_plan_formula(p, formula, sizeof formula);
    snprintf(text, sizeof text,
             "stored[s0]..[s%d] (row-major, last index fastest) = %s; pad_value where an index of V is out of "
             "range",
             p->n_axes ? p->n_axes - 1 : 0, formula);
    json_object_object_add(o, "element_order", json_object_new_string(text));
    json_object_object_add(o, "pad_value", json_object_new_int64(pad));
    return o;
}

/* ---------------------------------------------------------------- sha256, files */

static void hex_digest(const uint8_t *d, char hex[65])
{
    static const char H[] = "0123456789abcdef";
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) {
        hex[2 * i] = H[d[i] >> 4];
        hex[2 * i + 1] = H[d[i] & 15];
    }
    hex[64] = '\0';
}

void t2c_golden_sha256_buffer(const void *data, size_t size, char hex[65])
{
    struct sha256_ctx c;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&c);
    sha256_update(&c, size, data);
    sha256_digest(&c, sizeof d, d);
    hex_digest(d, hex);
}

int t2c_golden_sha256_file(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    struct sha256_ctx c;
    sha256_init(&c);
    static uint8_t buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sha256_update(&c, n, buf);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return -1;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(&c, sizeof d, d);
    hex_digest(d, hex);
    return 0;
}

t2c_status t2c_golden_write_atomic(const char *dir, const char *name, const void *data, size_t size,
                                   t2c_error *err)
{
    size_t n = strlen(dir) + strlen(name) + 64;
    char *tmp = malloc(n), *fin = malloc(n);
    if (!tmp || !fin) {
        free(tmp), free(fin);
        return t2c_golden_error(err, T2C_ERR_NOMEM, "out of memory");
    }
    snprintf(fin, n, "%s/%s", dir, name);
    snprintf(tmp, n, "%s/.%s.tmp%ld", dir, name, (long)getpid());
    t2c_status st = T2C_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        st = t2c_golden_error(err, T2C_ERR_IO, "%s: cannot create: %s", fin, strerror(errno));
        goto out;
    }
    const char *p = data;
    size_t left = size;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            st = t2c_golden_error(err, T2C_ERR_IO, "%s: cannot write: %s", fin, w < 0 ? strerror(errno) : "short write");
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (close(fd) != 0 && st == T2C_OK)
        st = t2c_golden_error(err, T2C_ERR_IO, "%s: cannot write: %s", fin, strerror(errno));
    if (st == T2C_OK && rename(tmp, fin) != 0)
        st = t2c_golden_error(err, T2C_ERR_IO, "%s: cannot rename into place: %s", fin, strerror(errno));
    if (st != T2C_OK)
        unlink(tmp);
out:
    free(tmp);
    free(fin);
    return st;
}
