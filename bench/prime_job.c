/* prime_job.c - the prime-counting job of the scaling workloads: see prime_job.h. */
#define _GNU_SOURCE
#include "prime_job.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "support/clock.h"
#include "workload.h"

static int is_prime(int64_t n)
{
    if (n < 2)
        return 0;
    if (n % 2 == 0)
        return n == 2;
    for (int64_t d = 3; d <= n / d; d += 2)
        if (n % d == 0)
            return 0;
    return 1;
}

int64_t prime_count_range(struct prime_range r)
{
    int64_t count = 0;
    for (int64_t n = r.first; n < r.end; n++)
        count += is_prime(n);
    return count;
}

void prime_count_with_span(const struct prime_range *ranges, int n, struct prime_result *out)
{
    out->start_ns = monotonic_ns();
    int64_t cpu0 = thread_cpu_ns();
    out->count = 0;
    for (int i = 0; i < n; i++)
        out->count += prime_count_range(ranges[i]);
    out->cpu_ns = thread_cpu_ns() - cpu0;
    out->end_ns = monotonic_ns();
    out->worker = (int32_t)syscall(SYS_gettid);
}

int prime_range_task(const void *arg, size_t arg_size, void *result, size_t *result_size)
{
    struct prime_range r;
    struct prime_result out;
    if (arg_size != sizeof r || *result_size < sizeof out)
        return EINVAL;
    memcpy(&r, arg, sizeof r);
    prime_count_with_span(&r, 1, &out);
    memcpy(result, &out, sizeof out);
    *result_size = sizeof out;
    return 0;
}

int prime_add_spans(struct run_result *r, const struct prime_result *results, int n)
{
    /* The worker of each span added here, to find it again: at most one per result. */
    int32_t *ids = malloc(sizeof *ids * (size_t)(n > 0 ? n : 1));
    if (!ids)
        return ENOMEM;
    int first = r->nspans, added = 0;
    for (int i = 0; i < n; i++) {
        int k = 0;
        while (k < added && ids[k] != results[i].worker)
            k++;
        if (k == added) {
            struct worker_span s = {results[i].start_ns, results[i].end_ns, 0};
            if (run_result_add_span(r, s) != 0) {
                free(ids);
                return ENOMEM;
            }
            ids[added++] = results[i].worker;
        }
        if (r->trace) { /* the traced run: each task on the row of whoever ran it */
            struct timeline_span *t = timeline_add(r->trace);
            if (!t) {
                free(ids);
                return ENOMEM;
            }
            t->row = results[i].worker;
            t->category = "task";
            snprintf(t->name, sizeof t->name, "task %d", i);
            t->start_ns = results[i].start_ns;
            t->end_ns = results[i].end_ns;
            snprintf(t->args, sizeof t->args, "\"task\": %d, \"primes\": %lld", i,
                     (long long)results[i].count);
        }
        struct worker_span *s = &r->spans[first + k];
        s->start_ns = results[i].start_ns < s->start_ns ? results[i].start_ns : s->start_ns;
        s->end_ns = results[i].end_ns > s->end_ns ? results[i].end_ns : s->end_ns;
        s->cpu_ns += results[i].cpu_ns;
    }
    for (int k = 0; r->trace && k < added;
         k++) { /* each worker's row: from its first task to its last */
        struct timeline_span *t = timeline_add(r->trace);
        if (!t) {
            free(ids);
            return ENOMEM;
        }
        t->row = ids[k];
        t->names_row = 1;
        t->category = "worker";
        snprintf(t->name, sizeof t->name, "worker %ld", (long)ids[k]);
        t->start_ns = r->spans[first + k].start_ns;
        t->end_ns = r->spans[first + k].end_ns;
    }
    free(ids);
    return 0;
}

long prime_sieve_count(long limit)
{
    char *composite = calloc((size_t)limit + 1, 1);
    if (!composite)
        return -1;
    long count = 0;
    for (long i = 2; i < limit; i++) {
        if (composite[i])
            continue;
        count++;
        for (long j = i * i; j < limit; j += i)
            composite[j] = 1;
    }
    free(composite);
    return count;
}
