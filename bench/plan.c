/* plan.c - see plan.h. */
#include "plan.h"

#include <math.h>
#include <stdlib.h>

#include "support/error.h"

static int compare_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Sort, drop repeats and what lies outside 1..n. */
static int tidy(int *ks, int count, int n)
{
    qsort(ks, (size_t)count, sizeof *ks, compare_int);
    int out = 0;
    for (int i = 0; i < count; i++)
        if (ks[i] >= 1 && ks[i] <= n && (out == 0 || ks[out - 1] != ks[i]))
            ks[out++] = ks[i];
    return out;
}

/* Room for the sweep of 1..n and `extra` more: 8 + 4 per doubling above 8, plus the ends. */
static int *room_for(int n, int extra, int *room)
{
    *room = 16 + extra + 4 * (int)ceil(log2(n > 8 ? n / 8.0 : 1) + 1);
    int *ks = malloc(sizeof *ks * (size_t)*room);
    if (!ks)
        die("malloc");
    return ks;
}

static int fill_sweep(int *ks, int n, int quick)
{
    int count = 0, dense_to = quick ? 2 : 8;
    for (int k = 1; k <= n && k <= dense_to; k++)
        ks[count++] = k;
    if (quick)
        for (long k = 4; k <= n; k *= 2)
            ks[count++] = (int)k;
    else
        for (int i = 1;; i++) {
            double k = round(8 * pow(2, i / 4.0));
            if (k > n)
                break;
            ks[count++] = (int)k;
        }
    ks[count++] = n;
    return count;
}

int *plan_count_sweep(int n, int quick, int *count)
{
    int room;
    int *ks = room_for(n, 0, &room);
    *count = tidy(ks, fill_sweep(ks, n, quick), n);
    return ks;
}

int *plan_core_sweep(const struct cpu_topology *t, int quick, int *count)
{
    int n = t->usable, room;
    int *ks = room_for(n, 6, &room);
    int c = fill_sweep(ks, n, quick);
    const int marks[] = {t->smt_from, t->efficient_from, t->socket_from};
    for (int i = 0; i < 3; i++)
        if (marks[i] > 1) { /* the last point before the change, and the first after it */
            ks[c++] = marks[i] - 1;
            ks[c++] = marks[i];
        }
    *count = tidy(ks, c, n);
    return ks;
}

const char *plan_boundary_at(const struct cpu_topology *t, int k)
{
    if (k <= 1)
        return NULL;
    if (k == t->socket_from)
        return t->nodes > 1 ? "second NUMA node" : "second socket";
    if (k == t->smt_from)
        return "SMT siblings";
    if (k == t->efficient_from)
        return "efficiency cores";
    return NULL;
}

static int is_boundary(const struct cpu_topology *t, int k)
{
    return t && (k == t->smt_from || k == t->efficient_from || k == t->socket_from ||
                 k + 1 == t->smt_from || k + 1 == t->efficient_from || k + 1 == t->socket_from);
}

void plan_measure_order(const struct cpu_topology *t, const int *ks, int n, int *order)
{
    char *taken = calloc((size_t)(n > 0 ? n : 1), 1);
    if (!taken)
        die("calloc: %d core counts", n);
    int out = 0;
    /* The ends, then the boundaries, in ascending order. */
    if (n > 0) {
        order[out++] = ks[0], taken[0] = 1;
        if (n > 1)
            order[out++] = ks[n - 1], taken[n - 1] = 1;
    }
    for (int i = 1; i < n - 1; i++)
        if (is_boundary(t, ks[i]))
            order[out++] = ks[i], taken[i] = 1;
    /* Then the farthest from every chosen count, on a log scale (the sweep's own spacing). */
    while (out < n) {
        int best = -1;
        double best_gap = -1;
        for (int i = 0; i < n; i++) {
            if (taken[i])
                continue;
            double gap = INFINITY;
            for (int j = 0; j < out; j++) {
                double d = fabs(log((double)ks[i]) - log((double)order[j]));
                gap = d < gap ? d : gap;
            }
            if (gap > best_gap)
                best_gap = gap, best = i;
        }
        order[out++] = ks[best];
        taken[best] = 1;
    }
    free(taken);
}

double plan_budget_s(int quick)
{
    /* Targets 300 s and 30 s; the margin pays for the report, the plots and the last point's
     * overrun (a point is started when its estimate fits, and may run longer). */
    return quick > 1 ? 0 : quick ? 24 : 255;
}
