/* pool_trace.c - see pool_trace.h. */
#include "pool/pool_trace.h"

#include <errno.h>
#include <stdio.h>

#include "support/clock.h"

int pool_trace_add_workers(struct timeline *t, struct pool *pool)
{
    const struct pool_worker_span *w;
    size_t n = pool_worker_history(pool, &w);
    int64_t now = monotonic_ns();
    for (size_t i = 0; i < n; i++) {
        struct timeline_span *s = timeline_add(t);
        if (!s)
            return ENOMEM;
        s->row = w[i].pid;
        s->names_row = 1;
        s->category = "worker";
        snprintf(s->name, sizeof s->name, "worker %ld", (long)w[i].pid);
        s->start_ns = w[i].start_ns;
        s->end_ns = w[i].end_ns ? w[i].end_ns : now; /* still running: up to now */
        snprintf(s->args, sizeof s->args,
                 "\"worker\": %d, \"end\": \"%s\", \"status\": %d, \"replaced_by\": %ld",
                 w[i].worker, pool_worker_end_name(w[i].end), w[i].status, (long)w[i].replaced_by);
    }
    return 0;
}

/* When the worker with this pid ended (for a task that died with it), or now. */
static int64_t worker_end(struct pool *pool, long pid)
{
    const struct pool_worker_span *w;
    size_t n = pool_worker_history(pool, &w);
    for (size_t i = 0; i < n; i++)
        if (w[i].pid == pid && w[i].end_ns)
            return w[i].end_ns;
    return monotonic_ns();
}

int pool_trace_add_tasks(struct timeline *t, struct pool *pool, const char *label,
                         const struct pool_outcome *outcomes, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const struct pool_outcome *o = &outcomes[i];
        if (o->start_ns == 0)
            continue; /* never started (cancelled): nothing to draw */
        struct timeline_span *s = timeline_add(t);
        if (!s)
            return ENOMEM;
        s->row = o->worker;
        s->category = "task";
        snprintf(s->name, sizeof s->name, "%s task %zu", label, o->index);
        s->start_ns = o->start_ns;
        s->end_ns = o->end_ns ? o->end_ns : worker_end(pool, o->worker);
        snprintf(s->args, sizeof s->args,
                 "\"task\": %zu, \"job\": \"%s\", \"status\": \"%s\", \"attempts\": %d", o->index,
                 label, pool_status_name(o->status), o->attempts);
    }
    return 0;
}

int pool_trace_finish(struct timeline *t, struct pool *pool, const char *path,
                      const char *process_name)
{
    int err = pool_trace_add_workers(t, pool);
    int written = err ? -1 : timeline_write(t, path, process_name);
    int saved = err ? err : errno;
    timeline_free(t);
    errno = saved;
    return written;
}
