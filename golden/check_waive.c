/* check_waive.c — expected differences (waivers) and moved compare points for t2c-check.
 *
 * Both act on a finished report: they only relabel ops and recount, so the comparison itself
 * (check_run.c) stays one exact function of the dumps. Waiver files come as text lines or as
 * JSON (golden/README.md "t2c-check waivers"); both fill the same list. */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "t2c_check.h"

static t2c_status wfail(t2c_error *err, t2c_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static t2c_status wfail(t2c_error *err, t2c_status st, const char *fmt, ...)
{
    if (err) {
        err->status = st;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* Counters and first divergences from the ops' current labels. */
static void recount(t2c_check_report *r)
{
    r->n_checked = r->n_mismatch = r->n_iso_mismatch = 0;
    r->first_divergent = r->first_divergent_iso = -1;
    for (int i = 0; i < r->n_ops; i++) {
        const t2c_check_op_result *o = &r->ops[i];
        if (!o->file || o->skipped[0])
            continue;
        r->n_checked++;
        if (o->waived[0])
            continue;
        if (o->full.mismatches) {
            r->n_mismatch++;
            if (r->first_divergent < 0)
                r->first_divergent = i;
        }
        if (o->iso_checked && o->iso.mismatches) {
            r->n_iso_mismatch++;
            if (r->first_divergent_iso < 0)
                r->first_divergent_iso = i;
        }
    }
}

typedef struct waiver {
    char glob[256];
    int by_count;   /* 0: max_diff limit, 1: count limit */
    long long limit;
    char reason[128];
} waiver;

static int within(const t2c_check_stats *s, const waiver *w)
{
    return w->by_count ? s->mismatches <= w->limit : s->max_abs_diff <= w->limit;
}

static t2c_status add_waiver(waiver **ws, int *n, const waiver *w, t2c_error *err)
{
    waiver *nw = realloc(*ws, sizeof **ws * (size_t)(*n + 1));
    if (!nw)
        return wfail(err, T2C_ERR_NOMEM, "out of memory");
    *ws = nw;
    nw[(*n)++] = *w;
    return T2C_OK;
}

/* Text form: "GLOB max_diff=N|count=N REASON" per line, '#' comments. */
static t2c_status parse_text(FILE *f, const char *path, waiver **ws, int *n, t2c_error *err)
{
    int lineno = 0;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            continue;
        waiver w = {0};
        char lim[64];
        int used = 0;
        if (sscanf(p, "%255s %63s %n", w.glob, lim, &used) < 2)
            return wfail(err, T2C_ERR_FORMAT, "%s:%d: expected 'GLOB max_diff=N|count=N REASON'", path, lineno);
        char *end = NULL;
        if (strncmp(lim, "max_diff=", 9) == 0)
            w.limit = strtoll(lim + 9, &end, 10);
        else if (strncmp(lim, "count=", 6) == 0)
            w.by_count = 1, w.limit = strtoll(lim + 6, &end, 10);
        if (!end || *end || end == lim || w.limit < 0)
            return wfail(err, T2C_ERR_FORMAT, "%s:%d: limit '%s' is not max_diff=N or count=N (N >= 0)", path,
                         lineno, lim);
        char *reason = p + used;
        size_t rl = strlen(reason);
        while (rl && isspace((unsigned char)reason[rl - 1]))
            reason[--rl] = '\0';
        if (!rl)
            return wfail(err, T2C_ERR_FORMAT, "%s:%d: a waiver needs a reason", path, lineno);
        snprintf(w.reason, sizeof w.reason, "%s", reason);
        t2c_status st = add_waiver(ws, n, &w, err);
        if (st != T2C_OK)
            return st;
    }
    return T2C_OK;
}

/* One waiver object of the JSON form: {"op", "max_diff" | "count", "reason", optional "comment"}. */
static t2c_status json_waiver(json_object *o, const char *path, int k, waiver *w, t2c_error *err)
{
    if (!json_object_is_type(o, json_type_object))
        return wfail(err, T2C_ERR_FORMAT, "%s: waiver %d: not an object {\"op\", \"max_diff\"|\"count\", \"reason\"}",
                     path, k);
    int limits = 0;
    json_object_object_foreach(o, key, val)
    {
        if (strcmp(key, "op") == 0) {
            const char *g = json_object_get_string(val);
            if (!json_object_is_type(val, json_type_string) || !*g || strlen(g) >= sizeof w->glob)
                return wfail(err, T2C_ERR_FORMAT, "%s: waiver %d: \"op\" must be a glob string of 1..%d characters",
                             path, k, (int)sizeof w->glob - 1);
            snprintf(w->glob, sizeof w->glob, "%s", g);
        } else if (strcmp(key, "max_diff") == 0 || strcmp(key, "count") == 0) {
            if (!json_object_is_type(val, json_type_int) || json_object_get_int64(val) < 0)
                return wfail(err, T2C_ERR_FORMAT, "%s: waiver %d: \"%s\" must be an integer >= 0", path, k, key);
            w->by_count = key[0] == 'c';
            w->limit = json_object_get_int64(val);
            limits++;
        } else if (strcmp(key, "reason") == 0) {
            const char *r = json_object_get_string(val);
            if (!json_object_is_type(val, json_type_string))
                return wfail(err, T2C_ERR_FORMAT, "%s: waiver %d: \"reason\" must be a string", path, k);
            while (isspace((unsigned char)*r))
                r++;
            snprintf(w->reason, sizeof w->reason, "%s", r);
            for (char *c = w->reason; *c; c++)
                if (iscntrl((unsigned char)*c))
                    *c = ' '; /* the report prints it on one line */
            size_t rl = strlen(w->reason);
            while (rl && isspace((unsigned char)w->reason[rl - 1]))
                w->reason[--rl] = '\0';
        } else if (strcmp(key, "comment") != 0) {
            return wfail(err, T2C_ERR_FORMAT,
                         "%s: waiver %d: unknown key \"%s\" (op, max_diff, count, reason, comment)", path, k, key);
        }
    }
    if (!w->glob[0])
        return wfail(err, T2C_ERR_FORMAT, "%s: waiver %d: missing \"op\"", path, k);
    if (limits != 1)
        return wfail(err, T2C_ERR_FORMAT, "%s: waiver %d: needs exactly one of \"max_diff\" and \"count\"", path, k);
    if (!w->reason[0])
        return wfail(err, T2C_ERR_FORMAT, "%s: waiver %d: a waiver needs a reason (\"reason\")", path, k);
    return T2C_OK;
}

/* JSON form: [waiver, ...] or {"waivers": [waiver, ...]}. */
static t2c_status parse_json(FILE *f, const char *path, waiver **ws, int *n, t2c_error *err)
{
    size_t len = 0, cap = 0;
    char *buf = NULL;
    for (;;) {
        if (len == cap) {
            if (cap >= ((size_t)64 << 20)) {
                free(buf);
                return wfail(err, T2C_ERR_FORMAT, "%s: larger than 64 MiB", path);
            }
            cap = cap ? cap * 2 : 4096;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                return wfail(err, T2C_ERR_NOMEM, "out of memory");
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        return wfail(err, T2C_ERR_IO, "%s: read error", path);
    }
    json_tokener *tok = json_tokener_new();
    if (!tok || len > INT32_MAX) {
        json_tokener_free(tok);
        free(buf);
        return wfail(err, T2C_ERR_NOMEM, "out of memory");
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT); /* no trailing commas, no comments */
    json_object *root = json_tokener_parse_ex(tok, buf, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    t2c_status st = T2C_OK;
    size_t rest = end;
    while (rest < len && isspace((unsigned char)buf[rest]))
        rest++;
    if (!root || je != json_tokener_success || rest < len) {
        size_t at = !root && je == json_tokener_continue ? len : rest < len && root ? rest : end;
        int line = 1, col = 1;
        for (size_t i = 0; i < at && i < len; i++)
            buf[i] == '\n' ? (line++, col = 1) : col++;
        st = wfail(err, T2C_ERR_FORMAT, "%s:%d: not valid JSON: %s (column %d)", path, line,
                   root && je == json_tokener_success ? "extra text after the value"
                   : je == json_tokener_continue      ? "unexpected end of file"
                                                      : json_tokener_error_desc(je),
                   col);
        json_object_put(root);
        free(buf);
        return st;
    }
    free(buf);
    json_object *list = root;
    if (json_object_is_type(root, json_type_object)) {
        list = NULL;
        json_object_object_foreach(root, key, val)
        {
            if (strcmp(key, "waivers") == 0)
                list = val;
            else if (strcmp(key, "comment") != 0) {
                st = wfail(err, T2C_ERR_FORMAT, "%s: unknown key \"%s\" (expected \"waivers\")", path, key);
                break;
            }
        }
    }
    if (st == T2C_OK && !json_object_is_type(list, json_type_array))
        st = wfail(err, T2C_ERR_FORMAT, "%s: expected an array of waivers or {\"waivers\": [...]}", path);
    for (size_t k = 0; st == T2C_OK && k < (list ? json_object_array_length(list) : 0); k++) {
        waiver w = {0};
        st = json_waiver(json_object_array_get_idx(list, k), path, (int)k + 1, &w, err);
        if (st == T2C_OK)
            st = add_waiver(ws, n, &w, err);
    }
    json_object_put(root);
    return st;
}

/* JSON when the name ends in ".json" or the content starts with '{', or with '[' then '{' or ']'
 * (a text glob may itself start with '[', as in "[ab]* max_diff=1 ..."). */
static int is_json(FILE *f, const char *path)
{
    size_t pl = strlen(path);
    if (pl >= 5 && strcasecmp(path + pl - 5, ".json") == 0)
        return 1;
    int c, c2 = EOF;
    while ((c = getc(f)) != EOF && isspace(c))
        ;
    if (c == '[')
        while ((c2 = getc(f)) != EOF && isspace(c2))
            ;
    rewind(f);
    return c == '{' || (c == '[' && (c2 == '{' || c2 == ']'));
}

t2c_status t2c_check_apply_waivers(t2c_check_report *r, const char *path, t2c_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return wfail(err, T2C_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    waiver *ws = NULL;
    int n = 0;
    t2c_status st = is_json(f, path) ? parse_json(f, path, &ws, &n, err) : parse_text(f, path, &ws, &n, err);
    fclose(f);
    if (st == T2C_OK) {
        for (int i = 0; i < r->n_ops; i++) {
            t2c_check_op_result *o = &r->ops[i];
            if (!o->file || o->skipped[0] || !(o->full.mismatches || (o->iso_checked && o->iso.mismatches)))
                continue;
            for (int k = 0; k < n; k++) {
                if (fnmatch(ws[k].glob, o->name, 0) != 0)
                    continue;
                if (within(&o->full, &ws[k]) && (!o->iso_checked || within(&o->iso, &ws[k]))) {
                    snprintf(o->waived, sizeof o->waived, "%s", ws[k].reason);
                    r->n_waived++;
                }
                break; /* the first matching waiver decides */
            }
        }
        recount(r);
    }
    free(ws);
    return st;
}

static int find_op(const t2c_check_report *r, const char *name)
{
    for (int i = 0; i < r->n_ops; i++)
        if (r->ops[i].name && strcmp(r->ops[i].name, name) == 0)
            return i;
    return -1;
}

t2c_status t2c_check_apply_compare_as(t2c_check_report *r, const char *op, const char *target, t2c_error *err)
{
    int a = find_op(r, op), b = find_op(r, target);
    if (a < 0)
        return wfail(err, T2C_ERR_NOT_FOUND, "--compare-as: no op named '%s'", op);
    if (b < 0)
        return wfail(err, T2C_ERR_NOT_FOUND, "--compare-as: no op named '%s'", target);
    if (b <= a)
        return wfail(err, T2C_ERR_INVALID_ARG, "--compare-as %s=%s: the compare point must be a later op", op, target);
    t2c_check_op_result *o = &r->ops[a];
    if (!o->skipped[0]) {
        snprintf(o->skipped, sizeof o->skipped, "fused into '%s': compared there", target);
        if (o->file)
            r->n_skipped++;
        if (o->waived[0]) {
            o->waived[0] = '\0';
            r->n_waived--;
        }
    }
    recount(r);
    return T2C_OK;
}
