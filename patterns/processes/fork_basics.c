#define _GNU_SOURCE
/* fork_basics.c - fork() returns twice, and the child gets a copy of the parent's memory.
 *
 * Usage: fork_basics [--children N] [--help]
 *   -n, --children N   how many children to fork (default 2, from 1 to 64)
 *   -h, --help         print this text and exit
 *
 * Exit status: 0, or 1 if a child did not exit with 0 (or a call failed), 2 for bad usage.
 *
 * What to observe:
 *   - fork() is called once and returns twice: in the parent it returns the child's pid, in
 *     the child it returns 0.  That return value is the only way each copy knows which it is.
 *   - every child's getppid() is the parent's getpid().
 *   - every child writes new values into a global, a heap and a stack variable and prints them
 *     at the SAME addresses the parent prints.  After reaping the children the parent reads
 *     the variables again: its values have not changed.  Same virtual address, different
 *     memory: fork gave the child a copy (copy-on-write pages, copied on the child's write).
 *   - the parent reaps every child and prints how it ended.
 *
 * Python counterpart: os.fork(), and multiprocessing.Process with the "fork" start method:
 *   Process.pid, os.getpid(), os.getppid(), Process.join(), Process.exitcode.  A global that a
 *   Process target changes is likewise unchanged in the parent (use Value/Array or a Queue).
 *
 * See also: stdio_flush.c (why fflush comes before fork), wait_status.c (every way a child
 *   can end), zombie_orphan.c, fork(2), getppid(2), lessons/01-processes.md.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/error.h"
#include "support/process.h"
#include "support/parse.h"

static const char usage[] =
    "Usage: fork_basics [--children N] [--help]\n"
    "  -n, --children N   how many children to fork (default 2, from 1 to 64)\n"
    "  -h, --help         print this text and exit\n";

enum { DEFAULT_CHILDREN = 2, MAX_CHILDREN = 64 }; /* 64: enough to see, few enough to read */

/* The three places a C variable can live; the child writes to all three. */
static int global_value = 1; /* in the data segment */

/* Pointers to the three variables: the child writes through the same addresses the parent
 * uses, which shows that an address means "this process's copy", not one shared place. */
struct variables {
    int *global;
    int *heap;  /* from malloc, before fork: the child's heap is a copy too */
    int *stack; /* main's local variable: the child has a copy of the whole stack */
};

static void print_variables(const char *who, const char *when, const struct variables *v)
{
    printf("%s %ld: %s: global=%d heap=%d stack=%d at global=%p heap=%p stack=%p\n", who,
           (long)getpid(), when, *v->global, *v->heap, *v->stack, (void *)v->global,
           (void *)v->heap, (void *)v->stack);
}

/* The child's side: number is 1..N.  It never returns: a child leaves with _exit, so it does
 * not run the parent's atexit handlers or flush stdio buffers that belong to the parent. */
static _Noreturn void run_child(int number, pid_t parent, const struct variables *v)
{
    die_with_parent(parent); /* if the parent is killed, do not linger as an orphan */
    /* getppid() is the parent's pid; getpid() is new: the only two things that tell the
     * copies apart besides fork's return value. */
    printf("child %ld: fork() returned 0 -> I am child %d; getpid()=%ld getppid()=%ld\n",
           (long)getpid(), number, (long)getpid(), (long)getppid());

    /* The first write to each page makes the kernel copy that page for this process only. */
    *v->global = 100 * number + 1;
    *v->heap = 100 * number + 2;
    *v->stack = 100 * number + 3;
    print_variables("child", "wrote", v);

    if (fflush(stdout) == EOF) /* line-buffered already; this catches a write error */
        die("fflush");
    _exit(EXIT_SUCCESS);
}

/* Fork `count` children; record their pids so they can be reaped (and killed on Ctrl-C). */
static void fork_children(int count, pid_t *pids, const struct variables *v)
{
    for (int i = 0; i < count; i++) {
        pid_t parent = getpid();
        if (fflush(stdout) == EOF) /* else the child would inherit, and repeat, pending output */
            die("fflush");
        pid_t pid = fork();
        if (pid == -1)
            die("fork");
        if (pid == 0)
            run_child(i + 1, parent, v);
        cleanup_add_child(pid);
        pids[i] = pid; /* the parent keeps the pid: it is how it will wait for this child */
        printf("parent %ld: fork() returned %ld -> I am the parent of child %d\n", (long)getpid(),
               (long)pid, i + 1);
    }
}

/* Reap every child, in the order they were made; return how many did not exit with 0. */
static int reap_children(int count, const pid_t *pids)
{
    int failed = 0;
    for (int i = 0; i < count; i++) {
        int status;
        /* Blocks until that child has ended; collecting its status frees its process entry
         * (until then it would be a zombie: see zombie_orphan.c). */
        if (waitpid(pids[i], &status, 0) == -1)
            die("waitpid(%ld)", (long)pids[i]);
        cleanup_forget_child(pids[i]);
        char how[128];
        describe_status(status, how, sizeof how);
        printf("parent %ld: reaped child %d (pid %ld): %s\n", (long)getpid(), i + 1, (long)pids[i],
               how);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed++;
    }
    return failed;
}

static int parse_arguments(int argc, char *argv[])
{
    static const struct option options[] = {
        {"children", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int children = DEFAULT_CHILDREN;
    opterr = 0; /* we print our own one-line reasons */
    /* The leading ':' makes getopt return ':' (not '?') for a missing value. */
    int c;
    while ((c = getopt_long(argc, argv, ":n:h", options, NULL)) != -1) {
        switch (c) {
        case 'n': children = (int)parse_long(optarg, "--children", 1, MAX_CHILDREN, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    return children;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    int children = parse_arguments(argc, argv);
    cleanup_install(); /* Ctrl-C kills and reaps the registered children */

    /* Line-buffered stdout: each line leaves in one write(2) as soon as it is complete, so lines
     * from several processes never mix inside a line, even through a pipe. */
    if (setvbuf(stdout, NULL, _IOLBF, 0) != 0)
        die("setvbuf");

    int stack_value = 3; /* on main's stack */
    int *heap_value = malloc(sizeof *heap_value);
    if (heap_value == NULL)
        die("malloc");
    *heap_value = 2;
    struct variables v = {&global_value, heap_value, &stack_value};
    pid_t pids[MAX_CHILDREN];

    printf("fork_basics: parent pid %ld forks %d children\n", (long)getpid(), children);
    print_variables("parent", "before fork", &v);
    fork_children(children, pids, &v);
    int failed = reap_children(children, pids);

    /* Every child has written and exited: whatever it wrote, it wrote to its own copy. */
    int unchanged = global_value == 1 && *heap_value == 2 && stack_value == 3;
    print_variables("parent", "after the children wrote", &v);
    printf("parent %ld: my values are %s\n", (long)getpid(),
           unchanged ? "unchanged: each child wrote to its own copy" : "CHANGED (unexpected)");
    free(heap_value);
    return failed == 0 && unchanged ? EXIT_SUCCESS : EXIT_FAILURE;
}
