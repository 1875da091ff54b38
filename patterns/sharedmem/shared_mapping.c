#define _GNU_SOURCE
/* shared_mapping.c - one struct, a parent and a child: in a MAP_SHARED mapping both see each
 * other's writes; in a MAP_PRIVATE mapping or on the heap each has its own copy.
 *
 * Usage: shared_mapping [--only KIND]
 *   -o, --only KIND  shared, private or heap (default: all three, in that order)
 *   -h, --help       this text
 *
 * What to observe (the same steps for each kind of memory):
 *   1. The parent fills a struct: counter=1, note "set by the parent before fork".
 *   2. It forks.  The child waits on a pipe while the parent, after the fork, sets counter=7.
 *   3. The child reads the counter (did the parent's later write reach it?), then writes
 *      counter=42 and a note of its own, and exits.
 *   4. The parent reaps it and reads the struct (did the child's write reach the parent?).
 *   - shared:  mmap(MAP_SHARED | MAP_ANONYMOUS).  The child sees 7, the parent then sees 42
 *              and the child's note: one set of physical pages, mapped in both processes.
 *   - private: mmap(MAP_PRIVATE | MAP_ANONYMOUS).  The child sees 1, the parent keeps 7:
 *              fork gave each process its own copy-on-write view of the pages.
 *   - heap:    malloc.  The same as private: the heap is private memory like any other.
 *   - The pipe and waitpid are the only synchronisation, and all this demo needs: a write
 *     before them is visible after them.  Two processes updating the struct at the same time
 *     need a lock or atomics (lessons 04 and 05).
 *   - The program exits 0 when each kind behaved as described, 1 otherwise.
 *
 * Python counterpart: multiprocessing.Value('l', 1) and Array live in shared memory (a
 *   deleted file in /dev/shm, mapped MAP_SHARED), with a lock; RawValue and RawArray the same
 *   without one.  An ordinary Python object in a fork child is the "heap" case: the child's
 *   changes never come back.
 *
 * See also: shm_objects.c (named shared memory between unrelated processes),
 *   ../queues/shm_queue.c (a queue built on this), mmap(2), fork(2), lessons/02b-shared-memory.md.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/error.h"
#include "support/full_io.h"
#include "support/parse.h"

static const char usage[] = "Usage: shared_mapping [--only KIND]\n"
                            "  -o, --only KIND  shared, private or heap (default: all three)\n"
                            "  -h, --help       this text\n";

/* What parent and child share (or do not). */
struct record {
    long counter;
    char note[64];
};

enum kind { SHARED, PRIVATE, HEAP };
static const char *const kind_names[] = {"shared", "private", "heap", NULL};

static struct record *allocate(enum kind kind)
{
    if (kind == HEAP) {
        struct record *r = malloc(sizeof *r);
        if (!r)
            die("malloc");
        return r;
    }
    /* MAP_ANONYMOUS: memory, not a file; fd -1 and offset 0 go with it.  The flag that
     * matters is the other one: MAP_SHARED pages are the same pages after fork, MAP_PRIVATE
     * pages are copied the first time either process writes them. */
    int flags = MAP_ANONYMOUS | (kind == SHARED ? MAP_SHARED : MAP_PRIVATE);
    struct record *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (r == MAP_FAILED)
        die("mmap(%s)", kind_names[kind]);
    return r;
}

static void release(enum kind kind, struct record *r)
{
    if (kind == HEAP)
        free(r);
    else if (munmap(r, sizeof *r) == -1)
        die("munmap");
}

/* The child's side: wait for the parent's go, report what it sees, write, leave. */
static _Noreturn void child(enum kind kind, struct record *r, int go_fd)
{
    char byte;
    ssize_t n;
    while ((n = read(go_fd, &byte, 1)) == -1 && errno == EINTR)
        continue;
    if (n != 1)
        die_in_child("read(go)");
    printf("[%s] child %ld sees counter=%ld note=\"%s\"\n", kind_names[kind], (long)getpid(),
           r->counter, r->note);
    r->counter = 42;
    snprintf(r->note, sizeof r->note, "written by child %ld", (long)getpid());
    fflush(stdout);
    release(kind, r); /* the child's mapping, or its own copy of the heap block: its to free */
    _exit(0);         /* not exit(): the parent's atexit handlers are the parent's */
}

static int run_kind(enum kind kind)
{
    struct record *r = allocate(kind);
    r->counter = 1;
    snprintf(r->note, sizeof r->note, "set by the parent before fork");
    int go[2];
    if (pipe(go) == -1)
        die("pipe");
    fflush(stdout);
    pid_t pid = cleanup_fork(); /* registered for Ctrl-C before any signal can arrive */
    if (pid == 0) {
        close_or_die(go[1]);
        child(kind, r, go[0]);
    }
    close_or_die(go[0]);
    r->counter = 7;                /* after fork: does the child see it? */
    if (write(go[1], "g", 1) != 1) /* the write above happens before the child's read */
        die("write(go)");
    close_or_die(go[1]); /* the child's read now sees the byte, then end of file */
    int status = cleanup_reap(pid);
    printf("[%s] parent %ld after the child exited: counter=%ld note=\"%s\"\n", kind_names[kind],
           (long)getpid(), r->counter, r->note);
    int ok =
        WIFEXITED(status) && WEXITSTATUS(status) == 0 && r->counter == (kind == SHARED ? 42 : 7);
    printf("[%s] %s\n", kind_names[kind],
           !ok              ? "NOT what this kind of memory predicts"
           : kind == SHARED ? "one copy: each saw the other's write, as expected"
                            : "two copies: neither saw the other's write, as expected");
    release(kind, r);
    return ok;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install(); /* Ctrl-C kills and reaps the child */
    int chosen = -1;   /* one kind, or -1 for all three */
    static const struct option options[] = {
        {"only", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:h", options, NULL)) != -1) {
        switch (c) {
        case 'o': chosen = parse_choice(optarg, "--only", kind_names, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);

    printf("shared_mapping: a struct of %zu bytes, written on both sides of fork\n",
           sizeof(struct record));
    int ok = 1;
    for (int k = SHARED; k <= HEAP; k++)
        if (chosen < 0 || chosen == k)
            ok &= run_kind((enum kind)k);
    return ok ? 0 : 1;
}
