/* error.c - see error.h. */
#define _GNU_SOURCE
#include "support/error.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *name = "forklore";
static pid_t owner; /* 0: nobody claimed the program, so every process counts as its owner */

void claim_owning_process(void)
{
    owner = getpid();
}

int in_owning_process(void)
{
    return owner == 0 || getpid() == owner;
}

static int stdout_was_closed; /* the program started with descriptor 1 closed (`>&-`) */

/* A program started with descriptor 0, 1 or 2 closed would hand that number to the first
 * pipe, socket or file it opens, and then printf would write into the socket (this happened:
 * socketpair_duplex's banner arrived as a torn frame).  So each closed one is filled with
 * /dev/null before anything else is opened.  open() returns the lowest free number, which is
 * the one just found closed. */
static void fill_closed_standard_descriptors(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue;
        if (fd == STDOUT_FILENO)
            stdout_was_closed = 1;
        int got = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (got != fd) /* cannot happen unless /dev/null is missing: nothing safe to do */
            _exit(EXIT_FAILURE);
    }
}

static void write_line(char *buf, size_t size);

void note_from_signal_handler(const char *text)
{
    char line[256];
    size_t len = 0;
    for (const char *s = name; *s && len < 120; s++)
        line[len++] = *s;
    line[len++] = ':';
    line[len++] = ' ';
    for (const char *s = text; *s && len + 1 < sizeof line; s++)
        line[len++] = *s;
    line[len++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line, len);
    (void)ignored; /* nowhere left to report it */
}

/* SIGPIPE's default action, preceded by a line saying so (only in the owning process: a
 * child inherits this handler until it execs, and dies silently as it would have). */
static void on_sigpipe(int sig)
{
    if (in_owning_process())
        note_from_signal_handler(SIGPIPE_MESSAGE);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* At exit: a teaching program that could not show what it saw has failed.  printf reports
 * nothing when its buffer cannot be written (stdout on a full disk, /dev/full, a closed
 * descriptor): the error surfaces only in fflush/fclose, here, after main returns.  This
 * handler is registered first, so it runs last, after the cleanup registry's.  It ends with
 * _exit(EXIT_FAILURE) on a failure: the status the program chose said it had succeeded. */
static void check_stdout_at_exit(void)
{
    if (!in_owning_process())
        return;
    char buf[256];
    if (stdout_was_closed) {
        snprintf(buf, sizeof buf,
                 "%s: standard output was closed: nothing this program "
                 "printed could be seen",
                 name);
        write_line(buf, sizeof buf);
        _exit(EXIT_FAILURE);
    }
    int had_error = ferror(stdout);
    errno = 0;
    if (fclose(stdout) != 0 || had_error) {
        if (errno != 0)
            snprintf(buf, sizeof buf, "%s: cannot write standard output: %s", name,
                     strerror(errno));
        else
            snprintf(buf, sizeof buf,
                     "%s: a write to standard output failed: part of what "
                     "this program printed was lost",
                     name);
        write_line(buf, sizeof buf);
        _exit(EXIT_FAILURE);
    }
}

void set_program_name(const char *argv0)
{
    static int done;
    const char *slash = strrchr(argv0, '/');
    name = slash ? slash + 1 : argv0;
    claim_owning_process();
    if (!done) {
        done = 1;
        fill_closed_standard_descriptors();
        if (atexit(check_stdout_at_exit) != 0)
            die("atexit");
        /* Only when SIGPIPE has its default action: one inherited as ignored (from Python,
         * say) stays ignored, and such a program sees EPIPE from write() instead. */
        struct sigaction old;
        if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
            signal(SIGPIPE, on_sigpipe);
    }
}

const char *program_name(void)
{
    return name;
}

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

enum { MESSAGE_SIZE = 512 };

/* Print the message, then leave the way this process must: exit in the owner, after its
 * output so far; _exit anywhere else (or always, when in_child is set). */
static _Noreturn void report_and_leave(int err, int in_child, const char *fmt, va_list ap)
{
    char buf[MESSAGE_SIZE];
    format_message(buf, sizeof buf, err, fmt, ap);
    if (in_child || !in_owning_process()) {
        write_line(buf, sizeof buf);
        _exit(EXIT_FAILURE);
    }
    fflush(stdout); /* what the program printed so far comes before the error */
    write_line(buf, sizeof buf);
    exit(EXIT_FAILURE);
}

_Noreturn void die(const char *fmt, ...)
{
    int err = errno;
    va_list ap;
    va_start(ap, fmt);
    report_and_leave(err, 0, fmt, ap);
}

_Noreturn void die_with_code(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_and_leave(err, 0, fmt, ap);
}

_Noreturn void die_in_child(const char *fmt, ...)
{
    int err = errno;
    va_list ap;
    va_start(ap, fmt);
    report_and_leave(err, 1, fmt, ap);
}

void check_error_number(int err, const char *what)
{
    if (err != 0)
        die_with_code(err, "%s", what);
}

_Noreturn void usage_error(const char *usage, const char *fmt, ...)
{
    char buf[MESSAGE_SIZE];
    va_list ap;
    va_start(ap, fmt);
    format_message(buf, sizeof buf, -1, fmt, ap);
    va_end(ap);
    fflush(stdout);
    write_line(buf, sizeof buf);
    fputs(usage, stderr);
    exit(EXIT_USAGE);
}

void note(const char *fmt, ...)
{
    char buf[MESSAGE_SIZE];
    va_list ap;
    va_start(ap, fmt);
    format_message(buf, sizeof buf, -1, fmt, ap);
    va_end(ap);
    if (in_owning_process())
        fflush(stdout); /* a child's stdout buffer is flushed when it leaves, not here */
    write_line(buf, sizeof buf);
}
