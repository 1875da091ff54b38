/* fork_workers.c - see fork_workers.h. */
#define _GNU_SOURCE
#include "fork_workers.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"

/* What a worker writes: its index, then its record.  8 bytes of header keep it aligned. */
struct message_header {
    int64_t index;
};

static _Noreturn void worker(const struct fork_workers_job *job, int index, int go, int out,
                             pid_t parent)
{
    die_with_parent(parent);
    char byte;
    while (read(go, &byte, 1) == -1 && errno == EINTR) /* EOF: every worker exists */
        continue;
    size_t size = sizeof(struct message_header) + job->record_size;
    char *message = calloc(1, size);
    if (!message)
        _exit(EXIT_FAILURE);
    struct message_header header = {index};
    memcpy(message, &header, sizeof header);
    int status = job->work(index, job->arg, message + sizeof header);
    if (status == 0 && write(out, message, size) != (ssize_t)size)
        status = EXIT_FAILURE;
    _exit(status);
}

/* Kill (when asked) and reap every child started; count those that did not exit with 0. */
static int reap_all(const pid_t *pids, int started, int kill_them)
{
    int failed = 0;
    for (int i = 0; i < started; i++) {
        if (kill_them)
            kill(pids[i], SIGKILL);
        int status;
        pid_t got;
        while ((got = waitpid(pids[i], &status, 0)) == -1 && errno == EINTR)
            continue;
        cleanup_forget_child(pids[i]);
        /* A failed waitpid leaves status unread: that worker counts as failed. */
        failed += got == -1 || !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    return failed;
}

int fork_workers(const struct fork_workers_job *job, void *records, char *detail,
                 size_t detail_size)
{
    if (job->workers < 1 || job->record_size < 1 || job->record_size > FORK_WORKERS_MAX_RECORD) {
        snprintf(detail, detail_size, "fork_workers: %d workers with %zu-byte records (1 to %d)",
                 job->workers, job->record_size, FORK_WORKERS_MAX_RECORD);
        return -1;
    }
    size_t size = sizeof(struct message_header) + job->record_size;
    pid_t *pids = malloc(sizeof *pids * (size_t)job->workers);
    char *got = calloc((size_t)job->workers, 1), *message = malloc(size);
    int go[2] = {-1, -1}, results[2] = {-1, -1}, started = 0, err = 0;
    const char *what = NULL;
    if (!pids || !got || !message)
        err = ENOMEM, what = "malloc";
    else if (pipe(go) == -1 || pipe(results) == -1)
        err = errno, what = "pipe";
    pid_t parent = getpid();
    fflush(NULL); /* nothing buffered for a child to write out again */
    for (; !err && started < job->workers; started++) {
        pid_t pid = fork();
        if (pid == -1) {
            err = errno, what = "fork";
            break;
        }
        if (pid == 0) { /* the parent's bookkeeping is not the child's to keep */
            free(pids);
            free(got);
            free(message);
            close(go[1]);
            close(results[0]);
            worker(job, started, go[0], results[1], parent);
        }
        cleanup_add_child(pid);
        pids[started] = pid;
    }
    /* The parent keeps only the read end of the results: EOF once every worker is gone. */
    if (go[0] != -1)
        close(go[0]);
    if (results[1] != -1)
        close(results[1]);
    if (err) { /* release nobody: kill what was started */
        if (go[1] != -1)
            close(go[1]);
        reap_all(pids, started, 1);
    } else {
        close(go[1]); /* the start signal: EOF to every worker at once */
        int received = 0;
        ssize_t n;
        while ((n = read(results[0], message, size)) == (ssize_t)size ||
               (n == -1 && errno == EINTR)) {
            if (n == -1)
                continue;
            struct message_header header;
            memcpy(&header, message, sizeof header);
            if (header.index < 0 || header.index >= job->workers || got[header.index])
                continue; /* cannot happen with whole writes; never trust it blindly */
            got[header.index] = 1;
            memcpy((char *)records + (size_t)header.index * job->record_size,
                   message + sizeof header, job->record_size);
            received++;
        }
        int failed = reap_all(pids, started, 0);
        if (failed || received != job->workers) {
            snprintf(detail, detail_size, "%d of %d workers failed, %d records of %d received",
                     failed, job->workers, received, job->workers);
            err = EIO;
            what = "";
        }
    }
    if (results[0] != -1)
        close(results[0]);
    if (err && what && *what)
        snprintf(detail, detail_size, "%s: %s (%d of %d workers started)", what, strerror(err),
                 started, job->workers);
    free(pids);
    free(got);
    free(message);
    return err ? -1 : 0;
}
