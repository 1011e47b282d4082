/* gen_pkg.c — SystemVerilog package and C header from a golden manifest.
 *
 * The constants come from DIR/manifest.json, so the RTL testbench is configured from the same
 * source as the vectors: per op, each tensor's rank, dims, bits and signedness; every integer
 * attribute (scalar, or per-channel array: zero points, multipliers, shifts, ...); every file's
 * name, bytes, words, word width and CRC-32 (zlib's, of the file as stored).
 *
 * SV arrays are flat vectors (element i at bits [i*EW +: EW], EW = <KEY>_EW), since unpacked
 * and multi-dimensional packed localparams are not accepted by every simulator (iverilog). */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "gen.h"

typedef struct out2 {
    FILE *sv, *c;
    const char *cname; /* lowercase package name */
    char upper[128];
} out2;

static void ident(char *dst, size_t n, const char *src, int up)
{
    size_t k = 0;
    for (const char *p = src; *p && k + 1 < n; p++) {
        int ch = (unsigned char)*p;
        dst[k++] = isalnum(ch) ? (char)(up ? toupper(ch) : tolower(ch)) : '_';
    }
    dst[k] = 0;
}

static void put_int(out2 *o, const char *key, int64_t v)
{
    if (o->sv) {
        if (v >= INT32_MIN && v <= INT32_MAX)
            fprintf(o->sv, "  localparam longint %s = %" PRId64 ";\n", key, v);
        else
            fprintf(o->sv, "  localparam longint %s = %s64'sd%" PRIu64 ";\n", key, v < 0 ? "-" : "",
                    v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
    }
    if (o->c)
        fprintf(o->c, "#define T2C_%s_%s INT64_C(%" PRId64 ")\n", o->upper, key, v);
}

static void put_hex32(out2 *o, const char *key, uint32_t v)
{
    if (o->sv)
        fprintf(o->sv, "  localparam logic [31:0] %s = 32'h%08" PRIx32 ";\n", key, v);
    if (o->c)
        fprintf(o->c, "#define T2C_%s_%s UINT32_C(0x%08" PRIx32 ")\n", o->upper, key, v);
}

static void put_str(out2 *o, const char *key, const char *s)
{
    /* file names and attribute words: no quotes or backslashes in practice; escape anyway */
    char buf[1024];
    size_t k = 0;
    for (const char *p = s; *p && k + 3 < sizeof buf; p++) {
        if (*p == '"' || *p == '\\')
            buf[k++] = '\\';
        buf[k++] = *p;
    }
    buf[k] = 0;
    if (o->sv)
        fprintf(o->sv, "  localparam %s = \"%s\";\n", key, buf);
    if (o->c)
        fprintf(o->c, "#define T2C_%s_%s \"%s\"\n", o->upper, key, buf);
}

static void put_array(out2 *o, const char *key, const int64_t *v, size_t n)
{
    int ew = 32;
    for (size_t i = 0; i < n; i++)
        if (v[i] < INT32_MIN || v[i] > INT32_MAX)
            ew = 64;
    char k2[640];
    snprintf(k2, sizeof k2, "%s_COUNT", key);
    put_int(o, k2, (int64_t)n);
    snprintf(k2, sizeof k2, "%s_EW", key);
    put_int(o, k2, ew);
    if (o->sv) {
        fprintf(o->sv, "  localparam logic [%zu:0] %s = {", n * (size_t)ew - 1, key);
        for (size_t i = n; i-- > 0;)
            fprintf(o->sv, "%s%s%d'sd%" PRIu64, i + 1 < n ? ", " : "", v[i] < 0 ? "-" : "", ew,
                    v[i] < 0 ? (uint64_t)0 - (uint64_t)v[i] : (uint64_t)v[i]);
        fprintf(o->sv, "};\n");
    }
    if (o->c) {
        char low[256];
        ident(low, sizeof low, key, 0);
        fprintf(o->c, "static const int64_t t2c_%s_%s[%zu] = {", o->cname, low, n);
        for (size_t i = 0; i < n; i++)
            fprintf(o->c, "%sINT64_C(%" PRId64 ")", i ? ", " : "", v[i]);
        fprintf(o->c, "};\n");
    }
}

static void put_tensor(out2 *o, const char *pfx, json_object *t)
{
    json_object *shape = json_object_object_get(t, "shape"), *dt = json_object_object_get(t, "dtype");
    char key[640];
    if (dt) {
        t2c_dtype d = t2c_dtype_from_name(json_object_get_string(dt));
        snprintf(key, sizeof key, "%s_BITS", pfx);
        put_int(o, key, t2c_dtype_bits(d));
        snprintf(key, sizeof key, "%s_SIGNED", pfx);
        put_int(o, key, d == T2C_INT4 || d == T2C_INT8 || d == T2C_INT16 || d == T2C_INT32 || d == T2C_INT64);
    }
    if (shape && json_object_is_type(shape, json_type_array)) {
        size_t n = json_object_array_length(shape);
        snprintf(key, sizeof key, "%s_RANK", pfx);
        put_int(o, key, (int64_t)n);
        int64_t numel = 1;
        for (size_t i = 0; i < n; i++) {
            int64_t d = json_object_get_int64(json_object_array_get_idx(shape, i));
            snprintf(key, sizeof key, "%s_DIM%zu", pfx, i);
            put_int(o, key, d);
            numel *= d;
        }
        snprintf(key, sizeof key, "%s_NUMEL", pfx);
        put_int(o, key, numel);
    }
}

t2c_status gen_packages(const char *dir, const char *name, int sv, int c_header, int pe_r, int pe_c,
                        uint64_t seed, t2c_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_object *m = json_object_from_file(path);
    if (!m) {
        snprintf(err->message, sizeof err->message, "%.400s: cannot read the manifest", path);
        return err->status = T2C_ERR_IO;
    }
    out2 o = {0};
    char cname[128];
    ident(cname, sizeof cname - 2, name, 0);
    if (!isalpha((unsigned char)cname[0])) {
        memmove(cname + 1, cname, strlen(cname) + 1);
        cname[0] = 'm';
    }
    o.cname = cname;
    ident(o.upper, sizeof o.upper, cname, 1);
    char svp[4400], chp[4400];
    snprintf(svp, sizeof svp, "%s/t2c_%s_pkg.sv", dir, cname);
    snprintf(chp, sizeof chp, "%s/t2c_%s.h", dir, cname);
    if (sv && !(o.sv = fopen(svp, "w"))) {
        json_object_put(m);
        snprintf(err->message, sizeof err->message, "%.400s: cannot write", svp);
        return err->status = T2C_ERR_IO;
    }
    if (c_header && !(o.c = fopen(chp, "w"))) {
        if (o.sv)
            fclose(o.sv);
        json_object_put(m);
        snprintf(err->message, sizeof err->message, "%.400s: cannot write", chp);
        return err->status = T2C_ERR_IO;
    }
    const char *gen = "t2c-gen " T2C_VERSION_STRING;
    if (o.sv)
        fprintf(o.sv, "// Generated by %s from manifest.json: do not edit.\n// Arrays: element i at bits [i*EW +: EW] (EW = <NAME>_EW), signed.\npackage t2c_%s_pkg;\n", gen, cname);
    if (o.c)
        fprintf(o.c, "/* Generated by %s from manifest.json: do not edit. */\n#ifndef T2C_%s_H\n#define T2C_%s_H\n#include <stdint.h>\n\n",
                gen, o.upper, o.upper);
    put_int(&o, "SEED", (int64_t)seed);
    put_int(&o, "PE_ROWS", pe_r);
    put_int(&o, "PE_COLS", pe_c);
    json_object *ops = json_object_object_get(m, "ops"), *files = json_object_object_get(m, "files");
    size_t n_ops = ops ? json_object_array_length(ops) : 0;
    put_int(&o, "N_OPS", (int64_t)n_ops);
    for (size_t i = 0; i < n_ops; i++) {
        json_object *op = json_object_array_get_idx(ops, i);
        char pfx[160], key[512];
        ident(pfx, 100, json_object_get_string(json_object_object_get(op, "name")), 1);
        int64_t index = json_object_get_int64(json_object_object_get(op, "index"));
        char full[200];
        snprintf(full, sizeof full, "OP_%s", pfx);
        if (o.sv)
            fprintf(o.sv, "  // op %" PRId64 " '%s' (%s)\n", index,
                    json_object_get_string(json_object_object_get(op, "name")),
                    json_object_get_string(json_object_object_get(op, "type")));
        if (o.c)
            fprintf(o.c, "/* op %" PRId64 " '%s' (%s) */\n", index,
                    json_object_get_string(json_object_object_get(op, "name")),
                    json_object_get_string(json_object_object_get(op, "type")));
        snprintf(key, sizeof key, "%s_INDEX", full);
        put_int(&o, key, index);
        snprintf(key, sizeof key, "%s_TYPE", full);
        put_str(&o, key, json_object_get_string(json_object_object_get(op, "type")));
        static const char *const sides[2] = {"inputs", "outputs"};
        for (int s = 0; s < 2; s++) {
            json_object *arr = json_object_object_get(op, sides[s]);
            size_t n = arr ? json_object_array_length(arr) : 0;
            for (size_t k = 0; k < n; k++) {
                json_object *t = json_object_array_get_idx(arr, k);
                json_object *role = json_object_object_get(t, "role");
                if (!role || json_object_get_type(t) != json_type_object || !json_object_object_get(t, "dtype"))
                    continue;
                char r[64];
                ident(r, sizeof r, json_object_get_string(role), 1);
                /* a role met before in this op (concat's inputs) gets its slot number */
                int dup = 0;
                for (size_t q = 0; q < k; q++) {
                    json_object *r2 = json_object_object_get(json_object_array_get_idx(arr, q), "role");
                    dup |= r2 && !strcmp(json_object_get_string(r2), json_object_get_string(role));
                }
                char slot[24] = "";
                if (dup)
                    snprintf(slot, sizeof slot, "%zu", k);
                snprintf(key, sizeof key, "%s_%s%s", full, r, slot);
                put_tensor(&o, key, t);
            }
        }
        json_object *attrs = json_object_object_get(op, "attrs");
        if (attrs) {
            json_object_object_foreach(attrs, an, av) {
                char a[96];
                ident(a, sizeof a, an, 1);
                snprintf(key, sizeof key, "%s_%s", full, a);
                if (json_object_is_type(av, json_type_int)) {
                    put_int(&o, key, json_object_get_int64(av));
                } else if (json_object_is_type(av, json_type_string)) {
                    put_str(&o, key, json_object_get_string(av));
                } else if (json_object_is_type(av, json_type_array)) {
                    size_t n = json_object_array_length(av);
                    int ok = n > 0 && n <= 1u << 20;
                    for (size_t k = 0; ok && k < n; k++)
                        ok = json_object_is_type(json_object_array_get_idx(av, k), json_type_int);
                    if (!ok)
                        continue;
                    int64_t *v = malloc(n * sizeof *v);
                    if (!v)
                        continue;
                    for (size_t k = 0; k < n; k++)
                        v[k] = json_object_get_int64(json_object_array_get_idx(av, k));
                    put_array(&o, key, v, n);
                    free(v);
                }
            }
        }
        size_t nf = files ? json_object_array_length(files) : 0;
        for (size_t k = 0; k < nf; k++) {
            json_object *f = json_object_array_get_idx(files, k);
            if (json_object_get_int64(json_object_object_get(f, "op_index")) != index)
                continue;
            char r[64], fmt[16], img[32] = "";
            ident(r, sizeof r, json_object_get_string(json_object_object_get(f, "role")), 1);
            ident(fmt, sizeof fmt, json_object_get_string(json_object_object_get(f, "format")), 1);
            json_object *im = json_object_object_get(f, "image");
            if (im && json_object_get_int64(im) > 0)
                snprintf(img, sizeof img, "_IMG%" PRId64, json_object_get_int64(im));
            char fk[300];
            snprintf(fk, sizeof fk, "%s_%s%s_%s", full, r, img, fmt);
            snprintf(key, sizeof key, "%s_FILE", fk);
            put_str(&o, key, json_object_get_string(json_object_object_get(f, "path")));
            static const char *const nums[4] = {"bytes", "words", "word_bits", "elems_per_word"};
            for (int q = 0; q < 4; q++) {
                json_object *v = json_object_object_get(f, nums[q]);
                if (!v || !json_object_is_type(v, json_type_int))
                    continue;
                char u[32];
                ident(u, sizeof u, nums[q], 1);
                snprintf(key, sizeof key, "%s_%s", fk, u);
                put_int(&o, key, json_object_get_int64(v));
            }
            json_object *crc = json_object_object_get(f, "crc32");
            if (crc) {
                snprintf(key, sizeof key, "%s_CRC32", fk);
                put_hex32(&o, key, (uint32_t)strtoul(json_object_get_string(crc), NULL, 16));
            }
        }
    }
    int bad = 0;
    if (o.sv) {
        fprintf(o.sv, "endpackage\n");
        bad |= fclose(o.sv) != 0;
    }
    if (o.c) {
        fprintf(o.c, "\n#endif\n");
        bad |= fclose(o.c) != 0;
    }
    json_object_put(m);
    if (bad) {
        snprintf(err->message, sizeof err->message, "%.400s: cannot write the packages", dir);
        return err->status = T2C_ERR_IO;
    }
    return T2C_OK;
}
