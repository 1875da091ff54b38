/* timeline.c - see timeline.h. */
#include "support/timeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/output_file.h"

struct timeline_span *timeline_add(struct timeline *t)
{
    if (t->count == t->room) {
        size_t room = t->room ? 2 * t->room : 64;
        struct timeline_span *more = realloc(t->spans, room * sizeof *more);
        if (!more) {
            errno = ENOMEM;
            return NULL;
        }
        t->spans = more;
        t->room = room;
    }
    struct timeline_span *s = &t->spans[t->count++];
    memset(s, 0, sizeof *s);
    return s;
}

void timeline_free(struct timeline *t)
{
    free(t->spans);
    *t = (struct timeline){0};
}

/* A JSON string: quote, and escape what JSON requires (the names are ours, but a program
 * name comes from argv). */
static void write_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void write_events(FILE *f, const struct timeline *t, const char *process_name)
{
    int64_t origin = 0;
    for (size_t i = 0; i < t->count; i++)
        if (i == 0 || t->spans[i].start_ns < origin)
            origin = t->spans[i].start_ns;
    fputs("{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n", f);
    fputs("{\"ph\": \"M\", \"name\": \"process_name\", \"pid\": 1, \"args\": {\"name\": ", f);
    write_string(f, process_name);
    fputs("}}", f);
    for (size_t i = 0; i < t->count; i++) {
        const struct timeline_span *s = &t->spans[i];
        if (s->names_row) {
            fprintf(f,
                    ",\n{\"ph\": \"M\", \"name\": \"thread_name\", \"pid\": 1, \"tid\": %ld, "
                    "\"args\": {\"name\": ",
                    s->row);
            write_string(f, s->name);
            fputs("}}", f);
        }
        /* Microseconds with three decimals: the nanoseconds survive. */
        int64_t ts = s->start_ns - origin, dur = s->end_ns - s->start_ns;
        fprintf(f, ",\n{\"ph\": \"X\", \"cat\": \"%s\", \"name\": ", s->category);
        write_string(f, s->name);
        fprintf(f,
                ", \"pid\": 1, \"tid\": %ld, \"ts\": %lld.%03lld, \"dur\": %lld.%03lld, "
                "\"args\": {%s}}",
                s->row, (long long)(ts / 1000), (long long)(ts % 1000), (long long)(dur / 1000),
                (long long)(dur % 1000), s->args);
    }
    fputs("\n]}\n", f);
}

int timeline_write(const struct timeline *t, const char *path, const char *process_name)
{
    for (size_t i = 0; i < t->count; i++)
        if (t->spans[i].end_ns < t->spans[i].start_ns) {
            errno = EINVAL; /* a span that ends before it starts is the caller's mistake */
            return -1;
        }
    struct output_file out;
    if (output_file_open(&out, path) == -1)
        return -1;
    write_events(out.stream, t, process_name);
    if (ferror(out.stream)) {
        output_file_abandon(&out);
        errno = EIO;
        return -1;
    }
    return output_file_commit(&out);
}
