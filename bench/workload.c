/* workload.c - the helpers workload.h declares: series labels, growing the worker spans. */
#include "workload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int per_cpu_of(const struct point *p)
{
    return p->per_cpu > 1 ? p->per_cpu : 1;
}

void point_label(const struct point *p, char *label, size_t size)
{
    if (per_cpu_of(p) > 1)
        snprintf(label, size, "%s, %d per CPU", p->series, per_cpu_of(p));
    else
        snprintf(label, size, "%s", p->series);
}

long scaled_size(const struct point *p, long full, long smallest)
{
    double scale = p->size_scale > 0 && p->size_scale < 1 ? p->size_scale : 1;
    long size = (long)((double)full * scale);
    return size > smallest ? size : smallest;
}

int same_series(const struct point *a, const struct point *b)
{
    return per_cpu_of(a) == per_cpu_of(b) && strcmp(a->series, b->series) == 0;
}

int run_result_reserve_spans(struct run_result *r, int n)
{
    if (n <= r->span_room)
        return 0;
    int room = r->span_room ? r->span_room : 16;
    while (room < n)
        room *= 2;
    struct worker_span *grown = realloc(r->spans, sizeof *grown * (size_t)room);
    if (!grown)
        return ENOMEM;
    r->spans = grown;
    r->span_room = room;
    return 0;
}

int run_result_add_span(struct run_result *r, struct worker_span span)
{
    int err = run_result_reserve_spans(r, r->nspans + 1);
    if (err)
        return err;
    r->spans[r->nspans++] = span;
    return 0;
}
