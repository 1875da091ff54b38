/* error.c - see error.h. */
#define _GNU_SOURCE
#include "support/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *name = "forklore";

void set_program_name(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');
    name = slash ? slash + 1 : argv0;
}

const char *program_name(void) { return name; }

/* Format "name: message: strerror" into buf.  err < 0 means "no errno part". */
static void format_message(char *buf, size_t size, int err, const char *fmt, va_list ap)
{
    int used = snprintf(buf, size, "%s: ", name);
    if (used < 0 || (size_t)used >= size)
        return;
    int more = vsnprintf(buf + used, size - (size_t)used, fmt, ap);
    if (more < 0)
        return;
    used += more;
    if ((size_t)used >= size)
        return;
    if (err >= 0)
        snprintf(buf + used, size - (size_t)used, ": %s", strerror(err));
}

/* Write the whole message with one write(2): one line, never interleaved with another
 * process's message, and safe in a child where stdio buffers belong to the parent. */
static void write_line(char *buf, size_t size)
{
    size_t len = strnlen(buf, size - 2);
    buf[len++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, buf, len);
    (void)ignored; /* nowhere left to report a failure to report */
}

_Noreturn void die(const char *fmt, ...)
{
    int err = errno;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    format_message(buf, sizeof buf, err, fmt, ap);
    va_end(ap);
    fflush(stdout); /* what the program printed so far comes before the error */
    write_line(buf, sizeof buf);
    exit(EXIT_FAILURE);
}

_Noreturn void die_in_child(const char *fmt, ...)
{
    int err = errno;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    format_message(buf, sizeof buf, err, fmt, ap);
    va_end(ap);
    write_line(buf, sizeof buf);
    _exit(EXIT_FAILURE);
}

_Noreturn void die_with_code(int err, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    format_message(buf, sizeof buf, err, fmt, ap);
    va_end(ap);
    fflush(stdout);
    write_line(buf, sizeof buf);
    exit(EXIT_FAILURE);
}

_Noreturn void usage_error(const char *usage, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    format_message(buf, sizeof buf, -1, fmt, ap);
    va_end(ap);
    fflush(stdout);
    write_line(buf, sizeof buf);
    fputs(usage, stderr);
    exit(EXIT_USAGE);
}

void warn(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    format_message(buf, sizeof buf, -1, fmt, ap);
    va_end(ap);
    fflush(stdout);
    write_line(buf, sizeof buf);
}
