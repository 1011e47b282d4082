/* t2c-info — the graph of a .t2c model as a table, with MACs, parameter bytes and memory. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "info_ranges.h"
#include "t2c.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: t2c-info [OPTION]... MODEL.t2c\n"
            "Print the graph of a t2c model: every op with its dtypes, output shape, multiply-accumulates\n"
            "and parameter bytes, then totals and the planned activation memory.\n\n"
            "  -b, --batch N     shapes, MACs and memory for batch N (default 1)\n"
            "  -m, --meta        also print the metadata\n"
            "  -r, --ranges DATASET  run the model over DATASET (a directory of .npy inputs and images,\n"
            "                    or one file) and print per conv2d/linear/matmul the max |accumulator|\n"
            "                    seen and the signed bits it needs, beside the worst case of the dtypes\n"
            "  -h, --help        display this help and exit\n"
            "  -V, --version     output version information and exit\n\n"
            "Exit status: 0 on success, 2 on a usage error or an unreadable/invalid model.\n");
}

/* Bytes of a parameter as stored packed (int4: two per byte). */
static uint64_t packed_bytes(const t2c_tensor *t)
{
    uint64_t n = (uint64_t)t2c_tensor_numel(t);
    return t2c_dtype_bits(t->dtype) == 4 ? (n + 1) / 2 : n * t2c_dtype_mem_size(t->dtype);
}

static void shape_str(const t2c_tensor *t, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->rank && used + 24 < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? "x" : "", (long long)t->dims[i]);
}

static void human(uint64_t b, char *buf, size_t size)
{
    if (b >= (1u << 20))
        snprintf(buf, size, "%.2f MiB", (double)b / (1 << 20));
    else if (b >= 1024)
        snprintf(buf, size, "%.1f KiB", (double)b / 1024);
    else
        snprintf(buf, size, "%llu B", (unsigned long long)b);
}

static void print_attr_value(const t2c_attr *a)
{
    switch (a->type) {
    case T2C_ATTR_INT: printf("%lld", (long long)a->v.i); break;
    case T2C_ATTR_FLOAT: printf("%.9g", a->v.f); break;
    case T2C_ATTR_STRING: printf("\"%s\"", a->v.s); break;
    case T2C_ATTR_INTS:
    case T2C_ATTR_FLOATS:
    case T2C_ATTR_STRINGS:
        printf("[");
        for (int64_t i = 0; i < a->count && i < 8; i++) {
            if (i)
                printf(", ");
            if (a->type == T2C_ATTR_INTS)
                printf("%lld", (long long)a->v.ints[i]);
            else if (a->type == T2C_ATTR_FLOATS)
                printf("%.6g", a->v.floats[i]);
            else
                printf("\"%s\"", a->v.strs[i]);
        }
        if (a->count > 8)
            printf(", ... (%lld values)", (long long)a->count);
        printf("]");
        break;
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"batch", required_argument, 0, 'b'},
                                             {"meta", no_argument, 0, 'm'},
                                             {"ranges", required_argument, 0, 'r'},
                                             {"help", no_argument, 0, 'h'},
                                             {"version", no_argument, 0, 'V'},
                                             {0, 0, 0, 0}};
    int batch = 1, meta = 0, c;
    const char *ranges = NULL;
    while ((c = getopt_long(argc, argv, "b:mr:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 65536) {
                fprintf(stderr, "t2c-info: invalid batch size '%s' (expected 1..65536)\n", optarg);
                return 2;
            }
            batch = (int)v;
            break;
        }
        case 'm': meta = 1; break;
        case 'r': ranges = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("t2c-info (t2c) %s\n", T2C_VERSION_STRING); return 0;
        default: fprintf(stderr, "Try 't2c-info --help' for more information.\n"); return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "t2c-info: %s\nTry 't2c-info --help' for more information.\n",
                optind >= argc ? "missing MODEL operand" : "expected exactly one MODEL");
        return 2;
    }
    t2c_error err;
    t2c_model *model = NULL;
    if (t2c_model_load_file(argv[optind], NULL, &model, &err) != T2C_OK) {
        fprintf(stderr, "t2c-info: %s\n", err.message);
        return 2;
    }
    if (ranges) {
        int rc = t2c_info_ranges(model, ranges);
        t2c_model_free(model);
        return rc;
    }
    t2c_session *s = NULL;
    if (t2c_session_create(model, batch, &s, &err) != T2C_OK) {
        fprintf(stderr, "t2c-info: %s\n", err.message);
        t2c_model_free(model);
        return 2;
    }
    const t2c_attr *name = t2c_model_meta(model, "model.name");
    printf("model: %s (%s)\n", name && name->type == T2C_ATTR_STRING ? name->v.s : "(unnamed)",
           t2c_model_path(model));
    if (meta)
        for (int i = 0; i < t2c_model_meta_count(model); i++) {
            const t2c_attr *a = t2c_model_meta_at(model, i);
            printf("  %s = ", a->name);
            print_attr_value(a);
            printf("\n");
        }
    for (int i = 0; i < t2c_model_input_count(model); i++) {
        char sh[128];
        const t2c_tensor *t = t2c_session_input(s, i);
        shape_str(t, sh, sizeof sh);
        printf("input:  %s %s %s\n", t->name, t2c_dtype_name(t->dtype), sh);
    }
    for (int i = 0; i < t2c_model_output_count(model); i++) {
        char sh[128];
        const t2c_tensor *t = t2c_session_output(s, i);
        shape_str(t, sh, sizeof sh);
        printf("output: %s %s %s\n", t->name, t2c_dtype_name(t->dtype), sh);
    }
    printf("\n%4s  %-15s %-28s %-22s %-8s %-18s %14s %12s\n", "#", "op", "name", "inputs", "output", "shape",
           "MACs", "param bytes");
    int64_t total_macs = 0;
    uint64_t total_params = 0;
    for (int o = 0; o < t2c_session_op_count(s); o++) {
        const t2c_op_view *v = t2c_session_op(s, o);
        char ins[64] = "", sh[128];
        uint64_t pbytes = 0;
        size_t used = 0;
        for (int i = 0; i < v->n_inputs; i++) {
            const t2c_tensor *t = v->inputs[i];
            const char *dn = t ? t2c_dtype_name(t->dtype) : "-";
            if (used + strlen(dn) + 2 < sizeof ins)
                used += (size_t)snprintf(ins + used, sizeof ins - used, "%s%s", i ? "," : "", dn);
            if (t && t->is_const)
                pbytes += packed_bytes(t);
        }
        const t2c_tensor *out = v->outputs[0];
        shape_str(out, sh, sizeof sh);
        printf("%4d  %-15s %-28s %-22s %-8s %-18s %14lld %12llu\n", o, v->type, v->name, ins,
               t2c_dtype_name(out->dtype), sh, (long long)v->macs, (unsigned long long)pbytes);
        total_macs += v->macs;
        total_params += pbytes;
    }
    t2c_memory_report mem;
    t2c_session_memory(s, &mem);
    char a[32], b[32], p[32], sc[32];
    human(mem.activation_sum_bytes, a, sizeof a);
    human(mem.activation_peak_bytes, b, sizeof b);
    human(total_params, p, sizeof p);
    human(mem.scratch_bytes, sc, sizeof sc);
    printf("\ntotals (batch %d): %d ops, %lld MACs, parameters %s (%llu bytes as stored)\n", batch,
           t2c_session_op_count(s), (long long)total_macs, p, (unsigned long long)total_params);
    printf("activations: sum of all tensors %s, planned peak %s (%.1f%% of the sum); kernel scratch %s\n", a, b,
           mem.activation_sum_bytes ? 100.0 * (double)mem.activation_peak_bytes / (double)mem.activation_sum_bytes
                                    : 0.0,
           sc);
    t2c_session_free(s);
    t2c_model_free(model);
    return 0;
}
