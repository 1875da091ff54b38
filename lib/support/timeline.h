/* timeline.h - spans of time on rows (a worker's life, a task), written as a Chrome
 * trace-event JSON file that Perfetto (ui.perfetto.dev) and chrome://tracing open as a Gantt
 * chart: one row per process, its spans nested where one lies within another.
 *
 *     struct timeline t = {0};
 *     struct timeline_span *s = timeline_add(&t);      one span; fill it in
 *     timeline_write(&t, path, "pool_uneven");         by output_file.h's rules
 *     timeline_free(&t);
 *
 * The file holds one "complete" event ("ph": "X") per span, with its start ("ts") and length
 * ("dur") in microseconds from the earliest span, its row ("tid": the pid) and category, its
 * fields in "args", and a "thread_name" record naming each row.  Times come from the
 * monotonic clock (clock.h), one clock for every process of the machine, so spans recorded by
 * different processes line up.
 *
 * Python counterpart: none in multiprocessing; viztracer and the trace-event format itself
 * are what Python users reach for.
 */
#ifndef FORKLORE_TIMELINE_H
#define FORKLORE_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

struct timeline_span {
    long row;             /* the process (or thread) it ran on: its pid */
    int names_row;        /* 1: this span's name is also the row's name ("worker 1234") */
    const char *category; /* "worker", "task", "child": a static string */
    char name[64];
    int64_t start_ns, end_ns; /* monotonic_ns(); end >= start */
    /* Further fields, as JSON object members without the braces, e.g. "\"task\": 3"; "" for
     * none.  Written as they are: only the program's own numbers and words go here. */
    char args[192];
};

struct timeline {
    struct timeline_span *spans;
    size_t count, room;
};

/* A new zeroed span at the end (the array grows as needed), or NULL with errno ENOMEM. */
struct timeline_span *timeline_add(struct timeline *t);

/* Write the file.  Returns 0, or -1 with errno set: output_file_open's refusals (see
 * output_file.h; output_file_reason words them) or a write error. */
int timeline_write(const struct timeline *t, const char *path, const char *process_name);

void timeline_free(struct timeline *t);

#endif
