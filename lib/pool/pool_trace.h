/* pool_trace.h - a pool's timeline: each worker's life and each task's run, as spans for
 * support/timeline.h (Chrome trace-event JSON, opened by Perfetto).
 *
 * A worker row spans from its fork to its reaping, named "worker PID", with how it ended
 * (exited, recycled, died, stopped) and who replaced it.  Each task is a span on the row of
 * the worker that ran it, from the start to the end of its call; a task whose worker died
 * under it ends where its worker ended.  Call these after pool_close (every worker reaped)
 * and before pool_destroy.
 *
 * Python counterpart: none; a Pool keeps no such record.
 */
#ifndef FORKLORE_POOL_TRACE_H
#define FORKLORE_POOL_TRACE_H

#include <stddef.h>

#include "pool/pool.h"
#include "support/timeline.h"

/* One span per worker the pool ever started.  Returns 0 or ENOMEM. */
int pool_trace_add_workers(struct timeline *t, struct pool *pool);

/* One span per task that ran, named "LABEL task INDEX" ("static task 17"), from the outcomes
 * of one pool_map.  Returns 0 or ENOMEM. */
int pool_trace_add_tasks(struct timeline *t, struct pool *pool, const char *label,
                         const struct pool_outcome *outcomes, size_t count);

/* Add the workers, write the timeline to path (output_file.h's rules) with this process name,
 * free it.  Returns 0, or -1 with errno set (output_file_reason words it). */
int pool_trace_finish(struct timeline *t, struct pool *pool, const char *path,
                      const char *process_name);

#endif
