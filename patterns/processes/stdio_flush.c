#define _GNU_SOURCE
/* stdio_flush.c - why stdout must be flushed before fork(): unflushed output is copied too.
 *
 * Usage: stdio_flush [--mode broken|fixed|both] [--children N] [--buffering full|default]
 *                    [--help]
 *   -m, --mode M        broken: printf a line, then fork() without fflush: the line comes out
 *                         once from the parent and once more from every child
 *                       fixed: the same, with fflush(stdout) just before fork(): the line
 *                         comes out exactly once
 *                       both: broken first, then fixed (default: see the bug, then the cure)
 *   -n, --children N    children forked after the line (default 1, from 1 to 16)
 *   -b, --buffering B   full: make stdout fully buffered with setvbuf (default), so the demo
 *                         looks the same on a terminal as through a pipe or into a file
 *                       default: keep what stdio chose: line-buffered on a terminal (each line
 *                         is written at its newline and the bug hides), fully buffered into
 *                         a pipe or a file (the bug shows): try `stdio_flush -b default` and
 *                         `stdio_flush -b default | cat`
 *   -h, --help          print this text and exit
 *
 * Exit status: 0, or 1 if a child did not exit with 0 (or a call failed), 2 for bad usage.
 * The duplicated line is the demonstration, not a failure.
 *
 * What to observe:
 *   - printf does not write: it appends to a buffer in the process's memory, and stdio writes
 *     the buffer out later (when it is full, at a newline if line-buffered, at fflush or exit).
 *   - fork() copies the whole memory, that buffer included.  In broken mode, the line marked
 *     "[broken]" was printed ONCE, yet appears 1 + N times: each child flushes its copy.
 *   - In fixed mode the buffer is empty when fork() copies it: the "[fixed]" line appears once.
 *   - The children here flush on purpose before _exit.  A child that called exit() instead of
 *     _exit() would flush the inherited copy too, even without printing anything itself.
 *
 * Python counterpart: sys.stdout.flush() before os.fork() (Python's own buffered sys.stdout
 *   has the same bug).  multiprocessing.Process flushes sys.stdout and sys.stderr itself
 *   before it forks a child, which is why the bug shows with bare os.fork and not with it.
 *
 * See also: fork_basics.c, wait_status.c, setvbuf(3), fflush(3), _exit(2),
 *   lessons/01-processes.md.
 */
#include <getopt.h>
#include <stdarg.h>
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
    "Usage: stdio_flush [--mode broken|fixed|both] [--children N] [--buffering full|default]\n"
    "                   [--help]\n"
    "  -m, --mode M        broken: fork() right after printf, without fflush (the line is\n"
    "                        repeated by every child); fixed: fflush(stdout) before fork()\n"
    "                        (the line appears once); both: broken, then fixed (default)\n"
    "  -n, --children N    children forked after the line (default 1, from 1 to 16)\n"
    "  -b, --buffering B   full: force full buffering with setvbuf, so a terminal behaves like\n"
    "                        a pipe (default); default: keep stdio's choice (line-buffered on\n"
    "                        a terminal, where the bug hides; fully buffered into a pipe)\n"
    "  -h, --help          print this text and exit\n";

enum { MAX_CHILDREN = 16 }; /* each child repeats the line once: 16 copies is plenty to see */

/* Bits, so that "both" is simply both demos, one after the other. */
enum mode { MODE_BROKEN = 1, MODE_FIXED = 2, MODE_BOTH = MODE_BROKEN | MODE_FIXED };

struct settings {
    enum mode mode;
    int children;
    int force_full_buffering; /* 1: setvbuf(_IOFBF); 0: stdio's own choice */
};

/* A child prints its own line, then flushes: out goes whatever its buffer holds, which in
 * broken mode includes the parent's line, copied by fork. */
static _Noreturn void run_child(const char *tag, pid_t parent)
{
    die_with_parent(parent); /* no orphan if the parent is killed */
    /* This printf appends to the buffer the child inherited: behind the parent's line in
     * broken mode, alone in fixed mode. */
    printf("child %ld %s: my own line, then fflush(stdout) and _exit\n", (long)getpid(), tag);
    if (fflush(stdout) == EOF) /* one write(2) of the whole buffer, copy included */
        die("fflush");
    _exit(EXIT_SUCCESS); /* _exit never flushes stdio: only what we flushed comes out */
}

/* Fork the children, then reap them; return how many did not exit with 0. */
static int fork_and_reap(int children, const char *tag)
{
    pid_t pids[MAX_CHILDREN];
    pid_t parent = getpid();
    for (int i = 0; i < children; i++) {
        pids[i] = fork(); /* NOTE: no fflush here, on purpose; run_demo decides */
        if (pids[i] == -1)
            die("fork");
        if (pids[i] == 0)
            run_child(tag, parent);
        cleanup_add_child(pids[i]);
    }
    /* The parent's own copy of the line is still in its buffer: it goes out with the lines
     * below, at the fflush after the children are reaped.  So the children's copies come
     * first, then the parent's: the order is fixed, whatever the scheduler does. */
    int failed = 0;
    for (int i = 0; i < children; i++) {
        int status;
        if (waitpid(pids[i], &status, 0) == -1)
            die("waitpid(%ld)", (long)pids[i]);
        cleanup_forget_child(pids[i]);
        char how[128];
        describe_status(status, how, sizeof how);
        printf("parent %ld %s: reaped child %ld: %s\n", (long)parent, tag, (long)pids[i], how);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed++;
    }
    if (fflush(stdout) == EOF)
        die("fflush");
    return failed;
}

/* One demonstration: print the marked line ONCE, maybe flush, fork, reap, explain. */
static int run_demo(enum mode mode, const struct settings *s, int fully_buffered)
{
    const char *tag = mode == MODE_BROKEN ? "[broken]" : "[fixed]";
    say("\n--- %s printf, then %s fork()\n", tag,
        mode == MODE_BROKEN ? "no fflush before" : "fflush(stdout) before");

    /* The marked line: one printf, so it goes into the buffer once. */
    printf("line printed once, before fork() %s by parent %ld\n", tag, (long)getpid());
    if (mode == MODE_FIXED && fflush(stdout) == EOF) /* THE FIX: empty the buffer first */
        die("fflush");
    int failed = fork_and_reap(s->children, tag);

    /* What to expect: with line buffering the newline already wrote the line out. */
    int copies = mode == MODE_BROKEN && fully_buffered ? 1 + s->children : 1;
    say("%s the line marked %s should appear %d time%s above%s\n", tag, tag, copies,
        copies == 1 ? "" : "s",
        copies == 1 ? (mode == MODE_FIXED ? ": the buffer was empty when fork() copied it"
                                          : ": line buffering wrote it at its newline")
                    : ": every child inherited the unflushed buffer and flushed its copy");
    return failed;
}

/* The words --mode and --buffering take, and what each word means. */
static const char *const mode_words[] = {"broken", "fixed", "both", NULL};
static const enum mode mode_values[] = {MODE_BROKEN, MODE_FIXED, MODE_BOTH};
static const char *const buffering_words[] = {"default", "full", NULL}; /* full: 1 */

static struct settings parse_arguments(int argc, char *argv[])
{
    static const struct option options[] = {
        {"mode", required_argument, NULL, 'm'},
        {"children", required_argument, NULL, 'n'},
        {"buffering", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct settings s = {MODE_BOTH, 1, 1}; /* the defaults the usage text promises */
    opterr = 0;                            /* we print our own one-line reasons */
    int c;
    while ((c = getopt_long(argc, argv, ":m:n:b:h", options, NULL)) != -1) {
        switch (c) {
        case 'm': s.mode = mode_values[parse_choice(optarg, "--mode", mode_words, usage)]; break;
        case 'n': s.children = (int)parse_long(optarg, "--children", 1, MAX_CHILDREN, usage); break;
        case 'b':
            s.force_full_buffering = parse_choice(optarg, "--buffering", buffering_words, usage);
            break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    return s;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    struct settings s = parse_arguments(argc, argv);
    cleanup_install();

    /* setvbuf must come before the first output on the stream.  Into a pipe or a file stdio
     * already buffers fully; on a terminal it would buffer by line, hiding the bug. */
    int fully_buffered = s.force_full_buffering || !isatty(STDOUT_FILENO);
    if (s.force_full_buffering && setvbuf(stdout, NULL, _IOFBF, BUFSIZ) != 0)
        die("setvbuf");
    say("stdio_flush: parent %ld, mode %s, %d child%s per demo, stdout %s\n", (long)getpid(),
        s.mode == MODE_BOTH     ? "both"
        : s.mode == MODE_BROKEN ? "broken"
                                : "fixed",
        s.children, s.children == 1 ? "" : "ren",
        s.force_full_buffering ? "fully buffered (forced with setvbuf _IOFBF)"
        : fully_buffered       ? "fully buffered (stdio's choice: not a terminal)"
                               : "line-buffered (stdio's choice: a terminal)");

    int failed = 0; /* children that did not exit with 0 */
    if (s.mode & MODE_BROKEN)
        failed += run_demo(MODE_BROKEN, &s, fully_buffered);
    if (s.mode & MODE_FIXED)
        failed += run_demo(MODE_FIXED, &s, fully_buffered);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
