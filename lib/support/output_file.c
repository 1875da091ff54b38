/* output_file.c - see output_file.h for the rules: a file is replaced whole, a device or FIFO
 * is written in place, a symbolic link or a directory is refused. */
#define _GNU_SOURCE
#include "support/output_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_in_place(struct output_file *out, const char *path)
{
    /* O_NONBLOCK so that a FIFO nobody reads fails at once (ENXIO) instead of hanging here;
     * O_NOFOLLOW because a link may have replaced the node since lstat looked at it. */
    int fd = open(path, O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd == -1)
        return -1;
    struct stat st;
    int err = 0;
    if (fstat(fd, &st) == -1)
        err = errno;
    else if (!S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode))
        err = EINVAL;
    if (err) {
        close(fd); /* nothing was written: its result cannot matter */
        errno = err;
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags == -1 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1 ||
        !(out->stream = fdopen(fd, "w"))) {
        err = errno;
        close(fd); /* as above */
        errno = err;
        return -1;
    }
    return 0;
}

static int open_temporary(struct output_file *out, const char *path)
{
    if (asprintf(&out->temp_path, "%s.XXXXXX", path) == -1) {
        out->temp_path = NULL;
        return -1;
    }
    int fd = mkostemp(out->temp_path, O_CLOEXEC); /* O_EXCL, mode 0600: nobody else's file */
    if (fd == -1)
        goto fail;
    mode_t mask = umask(0); /* the only way to read the umask is to set it */
    umask(mask);
    if (fchmod(fd, 0644 & ~mask) == -1 || !(out->stream = fdopen(fd, "w"))) {
        int err = errno;
        close(fd);              /* we are giving up on this file anyway */
        unlink(out->temp_path); /* our own file, made just now */
        errno = err;
        goto fail;
    }
    return 0;
fail:;
    int err = errno;
    free(out->temp_path);
    out->temp_path = NULL;
    errno = err;
    return -1;
}

int output_file_open(struct output_file *out, const char *path)
{
    memset(out, 0, sizeof *out);
    struct stat st;
    int rc;
    if (lstat(path, &st) == -1) {
        if (errno != ENOENT)
            return -1;
        rc = open_temporary(out, path);
    } else if (S_ISLNK(st.st_mode)) {
        errno = ELOOP;
        return -1;
    } else if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        return -1;
    } else if (S_ISREG(st.st_mode)) {
        if (st.st_uid != geteuid()) { /* root must not swap a user's file for its own */
            errno = EPERM;
            return -1;
        }
        rc = open_temporary(out, path);
    } else if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
        rc = open_in_place(out, path);
    } else {
        errno = EINVAL; /* a socket or a block device: not something to write results to */
        return -1;
    }
    if (rc == -1)
        return -1;
    if (!(out->path = strdup(path))) {
        output_file_abandon(out);
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

FILE *output_stream_open(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode) ||
            (S_ISREG(st.st_mode) && st.st_uid != geteuid())) {
            errno = S_ISLNK(st.st_mode) ? ELOOP : S_ISDIR(st.st_mode) ? EISDIR : EPERM;
            return NULL;
        }
        if (!S_ISREG(st.st_mode)) {
            struct output_file out;
            if (output_file_open(&out, path) == -1) /* a device or a FIFO: in place */
                return NULL;
            free(out.path);
            return out.stream;
        }
    } else if (errno != ENOENT) {
        return NULL;
    }
    /* O_NOFOLLOW and O_NONBLOCK: a link or a FIFO put there since lstat is refused, not
     * followed or waited on; O_TRUNC only once fstat says it is still a regular file. */
    int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd == -1)
        return NULL;
    int err = 0;
    if (fstat(fd, &st) == -1)
        err = errno;
    else if (!S_ISREG(st.st_mode))
        err = EINVAL;
    else if (ftruncate(fd, 0) == -1)
        err = errno;
    FILE *stream = err ? NULL : fdopen(fd, "w");
    if (!stream) {
        err = err ? err : errno;
        close(fd); /* nothing written yet */
        errno = err;
    }
    return stream;
}

int output_file_commit(struct output_file *out)
{
    int failed = fflush(out->stream) != 0;
    if (!failed && out->temp_path && fsync(fileno(out->stream)) == -1)
        failed = 1;
    int err = errno;
    if (fclose(out->stream) != 0 && !failed) {
        failed = 1;
        err = errno;
    }
    out->stream = NULL;
    if (!failed && out->temp_path && rename(out->temp_path, out->path) == -1) {
        failed = 1;
        err = errno;
    }
    if (failed && out->temp_path)
        unlink(out->temp_path); /* our own temporary; path itself was never touched */
    free(out->temp_path);
    free(out->path);
    out->temp_path = out->path = NULL;
    errno = err;
    return failed ? -1 : 0;
}

void output_file_abandon(struct output_file *out)
{
    if (out->stream)
        fclose(out->stream); /* abandoned: what it would say does not matter */
    if (out->temp_path)
        unlink(out->temp_path); /* our own temporary */
    free(out->temp_path);
    free(out->path);
    memset(out, 0, sizeof *out);
}

int output_folder_check(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == -1)
        return -1;
    if (S_ISDIR(st.st_mode))
        return 0;
    errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
    return -1;
}

const char *output_file_reason(int err)
{
    switch (err) {
    case ELOOP: return "it is a symbolic link (give the path itself, not a link to it)";
    case ENOTDIR: return "it is not a folder";
    case EISDIR: return "it is a directory (give a file name)";
    case EPERM: return "it is another user's file";
    case EINVAL: return "it is neither a regular file, a character device nor a FIFO";
    case ENXIO: return "it is a FIFO that nobody is reading";
    default: return strerror(err);
    }
}
