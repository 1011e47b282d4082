/* check_waive.c — expected differences (waivers) and moved compare points for t2c-check.
 *
 * Both act on a finished report: they only relabel ops and recount, so the comparison itself
 * (check_run.c) stays one exact function of the dumps. */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

t2c_status t2c_check_apply_waivers(t2c_check_report *r, const char *path, t2c_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return wfail(err, T2C_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    waiver *ws = NULL;
    int n = 0, lineno = 0;
    char line[1024];
    t2c_status st = T2C_OK;
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
        if (sscanf(p, "%255s %63s %n", w.glob, lim, &used) < 2) {
            st = wfail(err, T2C_ERR_FORMAT, "%s:%d: expected 'GLOB max_diff=N|count=N REASON'", path, lineno);
            break;
        }
        char *end = NULL;
        if (strncmp(lim, "max_diff=", 9) == 0)
            w.limit = strtoll(lim + 9, &end, 10);
        else if (strncmp(lim, "count=", 6) == 0)
            w.by_count = 1, w.limit = strtoll(lim + 6, &end, 10);
        if (!end || *end || end == lim || w.limit < 0) {
            st = wfail(err, T2C_ERR_FORMAT, "%s:%d: limit '%s' is not max_diff=N or count=N (N >= 0)", path, lineno, lim);
            break;
        }
        char *reason = p + used;
        size_t rl = strlen(reason);
        while (rl && isspace((unsigned char)reason[rl - 1]))
            reason[--rl] = '\0';
        if (!rl) {
            st = wfail(err, T2C_ERR_FORMAT, "%s:%d: a waiver needs a reason", path, lineno);
            break;
        }
        snprintf(w.reason, sizeof w.reason, "%s", reason);
        waiver *nw = realloc(ws, sizeof *ws * (size_t)(n + 1));
        if (!nw) {
            st = wfail(err, T2C_ERR_NOMEM, "out of memory");
            break;
        }
        ws = nw;
        ws[n++] = w;
    }
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
