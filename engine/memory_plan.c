/* memory_plan.c — one arena for all activations, reused across non-overlapping lifetimes.
 *
 * Greedy by decreasing size (a standard offline heuristic, as in TFLite's arena planner):
 * each buffer goes at the lowest aligned offset that fits between buffers already placed
 * whose lifetimes intersect its own. Deterministic: ties are broken by item index. */
#include <stdlib.h>

#include "engine_internal.h"

#define PLAN_ALIGN 64u

typedef struct span { uint64_t lo, hi; } span;

static const t2c_plan_item *sort_items;

static int by_size_desc(const void *a, const void *b)
{
    int ia = *(const int *)a, ib = *(const int *)b;
    if (sort_items[ia].size != sort_items[ib].size)
        return sort_items[ia].size > sort_items[ib].size ? -1 : 1;
    return ia - ib;
}

static int by_lo(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->lo < y->lo ? -1 : (x->lo > y->lo ? 1 : 0);
}

static uint64_t align_up(uint64_t v) { return (v + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN; }

uint64_t t2c_memory_plan(t2c_plan_item *items, int n)
{
    if (n <= 0)
        return 0;
    int *order = malloc(sizeof(int) * (size_t)n);
    span *busy = malloc(sizeof(span) * (size_t)n);
    char *placed = calloc((size_t)n, 1);
    uint64_t arena = 0;
    if (!order || !busy || !placed) {
        /* no memory to plan: give every item its own region */
        for (int i = 0; i < n; i++) {
            items[i].offset = arena;
            arena += align_up(items[i].size);
        }
        free(order), free(busy), free(placed);
        return arena;
    }
    for (int i = 0; i < n; i++)
        order[i] = i;
    sort_items = items;
    qsort(order, (size_t)n, sizeof(int), by_size_desc);
    for (int k = 0; k < n; k++) {
        t2c_plan_item *it = &items[order[k]];
        int nb = 0;
        for (int j = 0; j < n; j++) {
            if (!placed[j])
                continue;
            const t2c_plan_item *o = &items[j];
            if (o->last < it->first || it->last < o->first)
                continue; /* lifetimes do not intersect */
            busy[nb].lo = o->offset;
            busy[nb].hi = o->offset + align_up(o->size);
            nb++;
        }
        qsort(busy, (size_t)nb, sizeof(span), by_lo);
        uint64_t off = 0, need = align_up(it->size);
        for (int j = 0; j < nb; j++) {
            if (busy[j].lo >= off + need)
                break; /* fits in the gap before this one */
            if (busy[j].hi > off)
                off = busy[j].hi;
        }
        it->offset = off;
        placed[order[k]] = 1;
        if (off + need > arena)
            arena = off + need;
    }
    free(order), free(busy), free(placed);
    return arena;
}
