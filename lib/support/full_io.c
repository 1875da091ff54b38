/* full_io.c - see full_io.h. */
#define _GNU_SOURCE
#include "support/full_io.h"

#include <errno.h>
#include <unistd.h>

#include "support/error.h"

int write_fully(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n == -1 && errno == EINTR)
            continue; /* interrupted before writing anything: try again */
        if (n == -1)
            return -1;
        p += n; /* carry on after what was taken */
        len -= (size_t)n;
    }
    return 0;
}

ssize_t read_fully(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return -1;
        if (n == 0)
            break; /* end of file: every writer has closed its end */
        got += (size_t)n;
    }
    return (ssize_t)got;
}

void write_all(int fd, const void *buf, size_t len)
{
    if (write_fully(fd, buf, len) == -1)
        die("write(fd %d)", fd);
}

size_t read_all(int fd, void *buf, size_t len)
{
    ssize_t got = read_fully(fd, buf, len);
    if (got == -1)
        die("read(fd %d)", fd);
    return (size_t)got;
}

void close_or_die(int fd)
{
    /* Not retried on EINTR: on Linux the descriptor is closed even then, and a second close
     * could close a descriptor another thread has just been given. */
    if (close(fd) == -1 && errno != EINTR)
        die("close(fd %d)", fd);
}

void flush_or_die(FILE *stream)
{
    if (fflush(stream) == EOF)
        die("fflush");
}

void fclose_or_die(FILE *stream)
{
    if (fclose(stream) == EOF)
        die("fclose");
}
