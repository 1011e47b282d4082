/* t2c-check — bit-exact cross-check of hardware (FPGA/RTL) dumps against the engine.
 *
 *   t2c-check MODEL INPUT DUMPDIR [--manifest FILE] [--isolate] [--json] [--max-report K]
 *             [--image K] [--no-diagnose] [--waivers FILE] [--compare-as OP=OP2]...
 *
 * INPUT is an image (preprocessed as the model's metadata says) or a .npy of the graph input's
 * dtype ([C,H,W], or [N,C,H,W] with --image choosing the image). DUMPDIR holds the dumps,
 * described by DUMPDIR/manifest.json or --manifest FILE (golden/README.md).
 * Exit status: 0 every dumped op output matches, 1 a mismatch, 2 a usage or input error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "preprocess.h"
#include "t2c.h"
#include "t2c_check.h"

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("t2c-check: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: t2c-check MODEL INPUT DUMPDIR [--manifest FILE] [--isolate] [--json]\n"
               "                 [--max-report K] [--image K] [--no-diagnose]\n"
               "Compare hardware dumps (any format t2c-golden writes, described by a golden manifest)\n"
               "with the reference run of MODEL on INPUT (an image, or a .npy of the input dtype).\n"
               "  --manifest FILE  the manifest (default DUMPDIR/manifest.json); its paths are taken\n"
               "                   relative to DUMPDIR\n"
               "  --isolate        also re-run each op from the dumped outputs of the ops feeding it\n"
               "  --json           one JSON object on stdout (for CI)\n"
               "  --max-report K   mismatches listed per op (default 10, at most 64)\n"
               "  --image K        the image of the dump to check (default the first)\n"
               "  --no-diagnose    skip the what-if hypotheses\n"
               "  --waivers FILE   expected differences, one per line: GLOB max_diff=N|count=N REASON;\n"
               "                   or JSON (FILE.json, or starting with '{' / '[{'): [{\"op\": GLOB,\n"
               "                   \"max_diff\": N or \"count\": N, \"reason\": \"...\"}, ...];\n"
               "                   a mismatch within one is reported 'waived (REASON)' and passes\n"
               "  --compare-as OP=OP2  OP is fused into the later OP2 in hardware: compare at OP2 only,\n"
               "                   OP is reported 'skipped' (repeatable; also the manifest's \"compare_as\")\n"
               "Exit status: 0 all match, 1 mismatch, 2 usage or input error.\n");
}

static int ends_with_ci(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcasecmp(s + a - b, suf) == 0;
}

/* A .npy of the input dtype into image `index` of it (one image). */
static void load_npy(const char *path, t2c_tensor *in, int image)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("%s: cannot open: %s", path, strerror(errno));
    unsigned char h[12];
    if (fread(h, 1, 10, f) != 10 || memcmp(h, "\x93NUMPY", 6) != 0)
        die("%s: not a .npy file", path);
    size_t hl = h[8] | (size_t)h[9] << 8;
    if (h[6] >= 2) {
        if (fread(h + 10, 1, 2, f) != 2)
            die("%s: truncated .npy header", path);
        hl |= (size_t)h[10] << 16 | (size_t)h[11] << 24;
    }
    if (hl > 65536)
        die("%s: .npy header too long", path);
    char *hdr = calloc(1, hl + 1);
    if (!hdr || fread(hdr, 1, hl, f) != hl)
        die("%s: truncated .npy header", path);
    const char *want = in->dtype == T2C_INT8 || in->dtype == T2C_INT4     ? "|i1"
                       : in->dtype == T2C_UINT8 || in->dtype == T2C_UINT4 ? "|u1"
                       : in->dtype == T2C_INT16                           ? "<i2"
                       : in->dtype == T2C_INT32                           ? "<i4"
                       : in->dtype == T2C_FLOAT32                         ? "<f4"
                                                                          : "?";
    if (!strstr(hdr, want))
        die("%s: the .npy dtype is not %s (the model input is %s)", path, want, t2c_dtype_name(in->dtype));
    if (strstr(hdr, "True"))
        die("%s: Fortran-order .npy is not supported", path);
    const char *sh = strstr(hdr, "'shape'");
    sh = sh ? strchr(sh, '(') : NULL;
    int64_t dims[8], nd = 0;
    while (sh && *sh && *sh != ')' && nd < 8) {
        sh++;
        while (*sh == ' ')
            sh++;
        if (*sh >= '0' && *sh <= '9')
            dims[nd++] = strtoll(sh, (char **)&sh, 10);
        while (*sh && *sh != ',' && *sh != ')')
            sh++;
    }
    free(hdr);
    const int64_t per = t2c_tensor_numel(in);
    int64_t total = 1;
    for (int i = 0; i < nd; i++)
        total *= dims[i];
    if (total % per != 0 || total == 0)
        die("%s: wrong size: %lld elements, the model input has %lld per image", path, (long long)total,
            (long long)per);
    if (image >= total / per)
        die("%s: has %lld images, --image %d asked", path, (long long)(total / per), image);
    size_t es = t2c_dtype_mem_size(in->dtype);
    if (fseek(f, (long)((size_t)image * (size_t)per * es), SEEK_CUR) != 0 ||
        fread(in->data, es, (size_t)per, f) != (size_t)per)
        die("%s: truncated data", path);
    fclose(f);
}

int main(int argc, char **argv)
{
    const char *pos[3] = {0}, *manifest = NULL, *waivers = NULL;
    const char *cmp_as[64];
    int n_cmp_as = 0;
    int npos = 0;
    t2c_check_options o = {.diagnose = 1, .max_report = 10, .image = -1};
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--isolate") == 0)
            o.isolate = 1;
        else if (strcmp(a, "--json") == 0)
            json = 1;
        else if (strcmp(a, "--no-diagnose") == 0)
            o.diagnose = 0;
        else if (strcmp(a, "--waivers") == 0 || strcmp(a, "--compare-as") == 0) {
            if (i + 1 >= argc)
                die("option %s needs a value", a);
            const char *v = argv[++i];
            if (strcmp(a, "--waivers") == 0)
                waivers = v;
            else if (!strchr(v, '=') || v[0] == '=' || !strchr(v, '=')[1])
                die("option --compare-as: '%s' is not OP=OP2", v);
            else if (n_cmp_as >= 64)
                die("option --compare-as: more than 64");
            else
                cmp_as[n_cmp_as++] = v;
        } else if (strcmp(a, "--manifest") == 0 || strcmp(a, "--max-report") == 0 || strcmp(a, "--image") == 0) {
            if (i + 1 >= argc)
                die("option %s needs a value", a);
            const char *v = argv[++i];
            if (strcmp(a, "--manifest") == 0)
                manifest = v;
            else {
                char *end;
                long n = strtol(v, &end, 10);
                if (*end || end == v || n < 0 || n > (strcmp(a, "--image") == 0 ? 1000000000L : T2C_CHECK_MAX_REPORT))
                    die("option %s: bad value '%s'", a, v);
                if (strcmp(a, "--image") == 0)
                    o.image = (int)n;
                else
                    o.max_report = (int)n;
            }
        } else if (a[0] == '-' && a[1])
            die("unknown option '%s' (see --help)", a);
        else if (npos < 3)
            pos[npos++] = a;
        else
            die("too many arguments (see --help)");
    }
    if (npos != 3) {
        usage(stderr);
        return 2;
    }
    t2c_error err = {0};
    t2c_model *model;
    if (t2c_model_load_file(pos[0], NULL, &model, &err) != T2C_OK)
        die("%s", err.message);
    char mpath[4096];
    if (!manifest) {
        snprintf(mpath, sizeof mpath, "%s/manifest.json", pos[2]);
        manifest = mpath;
    }
    t2c_check_manifest *m;
    if (t2c_check_manifest_load(manifest, pos[2], &m, &err) != T2C_OK)
        die("%s", err.message);
    int image = o.image;
    for (int i = 0; i < m->n && image < 0; i++)
        image = m->entries[i].image;
    if (image < 0)
        image = 0;
    o.image = image;
    t2c_session_options so = {.batch = 1, .threads = 1, .backend = "ref"};
    t2c_session *s;
    if (t2c_session_create_ex(model, &so, &s, &err) != T2C_OK)
        die("%s", err.message);
    t2c_tensor *in = t2c_session_input(s, 0);
    if (ends_with_ci(pos[1], ".npy"))
        load_npy(pos[1], in, image);
    else {
        t2c_preprocess pp;
        if (t2c_preprocess_from_model(model, &pp, &err) != T2C_OK ||
            t2c_preprocess_file(&pp, pos[1], in, 0, &err) != T2C_OK)
            die("%s", err.message);
    }
    t2c_check_report *r;
    if (t2c_check_run(s, m, &o, &r, &err) != T2C_OK)
        die("%s", err.message);
    if (r->n_checked == 0)
        die("%s: no op output of image %d in the manifest", manifest, image);
    /* the manifest's own compare points: "compare_as": {"OP": "OP2", ...} */
    json_object *mj = json_object_from_file(manifest), *ca;
    if (mj && json_object_object_get_ex(mj, "compare_as", &ca) && json_object_is_type(ca, json_type_object)) {
        json_object_object_foreach(ca, key, val) {
            if (!json_object_is_type(val, json_type_string))
                die("%s: compare_as: '%s' must name an op", manifest, key);
            if (t2c_check_apply_compare_as(r, key, json_object_get_string(val), &err) != T2C_OK)
                die("%s: %s", manifest, err.message);
        }
    }
    json_object_put(mj);
    for (int i = 0; i < n_cmp_as; i++) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", cmp_as[i]);
        char *eq = strchr(buf, '=');
        *eq = '\0';
        if (t2c_check_apply_compare_as(r, buf, eq + 1, &err) != T2C_OK)
            die("%s", err.message);
    }
    if (waivers && t2c_check_apply_waivers(r, waivers, &err) != T2C_OK)
        die("%s", err.message);
    t2c_check_report_print(r, json, o.max_report, stdout);
    int rc = r->n_mismatch || r->n_iso_mismatch ? 1 : 0;
    t2c_check_report_free(r);
    t2c_session_free(s);
    t2c_check_manifest_free(m);
    t2c_model_free(model);
    return rc;
}
