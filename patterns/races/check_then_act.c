#define _GNU_SOURCE
/* check_then_act.c - processes race to create the same file: "if it does not exist, create it"
 * lets several of them believe they created it; open(O_CREAT|O_EXCL) lets exactly one win.
 *
 * Usage: check_then_act [options]
 *   -w, --workers P   processes racing for the file (default 2)
 *   -f, --fix         create with open(O_CREAT|O_EXCL): the check and the act are one system call
 *   -a, --amplify     hold each process between the check (stat) and the act (open) until
 *                     every process has checked (at most 2 s): the widest possible window
 *   -r, --runs K      repeat K times and count the runs with more than one winner (default 1)
 *   -h, --help        this text
 *
 * What to observe:
 *   - Without --fix, each process prints "file absent -> I created it"; with --amplify all of
 *     them do, every time.  The file holds the pid of whichever wrote last: the others'
 *     "creation" was silently overwritten (O_TRUNC) and nobody noticed.
 *   - With --fix, exactly one process gets the file; the others get EEXIST from the kernel,
 *     which checks and creates under one lock on the directory.
 *   - The files live in a private directory under /tmp, removed on every exit path.
 *
 * Python counterpart: os.path.exists(p) followed by open(p, "w") races between Process
 * objects; open(p, "x") (O_CREAT|O_EXCL underneath) raises FileExistsError for all but one.
 *
 * See also: lessons/04-races.md, lost_update.c, ../locks/init_race.c (the same idea deciding
 * who initialises a shared lock).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/clock.h"
#include "support/error.h"
#include "support/full_io.h"
#include "support/parse.h"
#include "support/private_dir.h"
#include "support/process.h"
#include "support/process_shared.h"

static const char usage[] =
    "Usage: check_then_act [options]\n"
    "  -w, --workers P   processes racing for the file (default 2)\n"
    "  -f, --fix         create with open(O_CREAT|O_EXCL): check and act in one system call\n"
    "  -a, --amplify     hold each racer between the check and the act until all have checked\n"
    "  -r, --runs K      repeat K times; count runs with more than one winner (default 1)\n"
    "  -h, --help        this text\n";

/* A child's exit status is its answer: it made the file, or found it already there. */
enum { CREATED = 0, FOUND_EXISTING = 10 };
enum { MAX_WORKERS = 64 };
enum { ALREADY_THERE = -2 };      /* returned instead of a file descriptor */
enum { AMPLIFY_LIMIT_MS = 2000 }; /* the amplifier waits for the slowest racer this long at most */

/* The amplifier's meeting point: a counter in shared memory (made before fork) that each
 * racer bumps after its check.  Nobody acts until all have checked, however the scheduler
 * runs them: even on one CPU, or under valgrind. */
static atomic_int *checked;

/* The private directory and the file the racers make: the cleanup registry removes both. */
static char temp_dir[PATH_MAX];
static char temp_file[PATH_MAX + 16];

struct options {
    int workers, fix, amplify, runs;
};

/* Count myself in, then wait until every racer has counted itself in (or the limit passes). */
static void wait_for_all_checks(int workers)
{
    atomic_fetch_add(checked, 1);
    for (int waited_ms = 0; atomic_load(checked) < workers && waited_ms < AMPLIFY_LIMIT_MS;
         waited_ms++)
        sleep_ns((int64_t)1000 * 1000);
}

/* ---- the two ways to "create the file if nobody has" ----------------------------------- */

/* Broken: look, then leap.  Between stat() and open() another process can create the file,
 * and O_TRUNC silently wipes what it wrote. */
static int create_check_then_act(const char *path, int amplify, int workers)
{
    struct stat st;
    if (stat(path, &st) == 0) /* the check */
        return ALREADY_THERE;
    if (errno != ENOENT)
        die("stat %s", path);
    if (amplify)
        wait_for_all_checks(workers); /* the window between the check and the act, made wide */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600); /* the act, on a stale check */
    if (fd == -1)
        die("open %s", path);
    return fd;
}

/* Fixed: one system call checks and creates; the kernel holds the directory locked meanwhile,
 * so exactly one caller gets a new file and every other gets EEXIST. */
static int create_exclusive(const char *path, int amplify, int workers)
{
    if (amplify)
        wait_for_all_checks(workers); /* the same meeting point: here there is no window */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd == -1 && errno == EEXIST)
        return ALREADY_THERE;
    if (fd == -1)
        die("open(O_EXCL) %s", path);
    return fd;
}

/* A racer: wait for the starting gun, try to create the file, and if it believes it did,
 * write its pid into it. */
static _Noreturn void racer(const char *path, int gun, const struct options *opt)
{
    char byte;
    if (read(gun, &byte, 1) == -1) /* returns 0 (end of file) when the parent closes the pipe */
        die("read starting gun");
    int fd = opt->fix ? create_exclusive(path, opt->amplify, opt->workers)
                      : create_check_then_act(path, opt->amplify, opt->workers);
    if (fd == ALREADY_THERE) {
        printf("pid %ld: file exists -> somebody else created it\n", (long)getpid());
        flush_or_die(stdout);
        _exit(FOUND_EXISTING);
    }
    char line[32];
    int len = snprintf(line, sizeof line, "%ld\n", (long)getpid());
    if (write(fd, line, (size_t)len) != len || close(fd) == -1) /* sign the file: my pid */
        die("write %s", path);
    printf("pid %ld: file absent -> I created it\n", (long)getpid());
    flush_or_die(stdout); /* one printf per line, flushed at once: lines from racers do not mix */
    _exit(CREATED);
}

/* ---- the private directory, removed on every path -------------------------------------- */

/* ---- one race, and many ---------------------------------------------------------------- */

/* Decode a racer's status: 1 if it said "I created it", 0 if "it existed", -1 if it failed. */
static int racer_result(pid_t pid, int status)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) == CREATED)
        return 1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == FOUND_EXISTING)
        return 0;
    char how[STATUS_TEXT_SIZE];
    note("racer %ld %s", (long)pid, describe_status(status, how, sizeof how));
    return -1;
}

/* Start the racers together, count those who believe they created the file. */
static int race_once(const struct options *opt)
{
    int gun[2];
    if (pipe(gun) == -1)
        die("pipe");
    atomic_store(checked, 0); /* nobody has checked yet in this run */
    pid_t pids[MAX_WORKERS];
    for (int i = 0; i < opt->workers; i++)
        if ((pids[i] = start_child()) == 0) { /* dies with us: else it could outlive the folder */
            close_or_die(gun[1]);             /* or read() would never see end of file */
            racer(temp_file, gun[0], opt);
        }
    close_or_die(gun[0]); /* bang: every racer's read returns 0 */
    close_or_die(gun[1]);
    int winners = 0, failed = 0;
    for (int i = 0; i < opt->workers; i++) {
        /* The exit status carries the answer. */
        int result = racer_result(pids[i], wait_for_child(pids[i]));
        winners += result == 1;
        failed += result == -1;
    }
    return failed ? -1 : winners;
}

/* What is in the file now: the pid of the last writer. */
static void show_file(void)
{
    char text[64] = "";
    int fd = open(temp_file, O_RDONLY);
    if (fd == -1)
        die("open %s", temp_file);
    ssize_t got = read(fd, text, sizeof text - 1);
    if (got == -1 || close(fd) == -1)
        die("read %s", temp_file);
    text[got] = '\0';
    text[strcspn(text, "\n")] = '\0';
    printf("the file holds pid %s\n", text);
}

static int run(const struct options *opt)
{
    printf("check_then_act: %d racers, %s, amplify=%s, %d run(s)\n", opt->workers,
           opt->fix ? "open(O_CREAT|O_EXCL)" : "stat() then open(O_CREAT|O_TRUNC)",
           opt->amplify ? "on" : "off", opt->runs);
    checked = map_shared(sizeof *checked); /* shared, and made before any fork */
    if (make_private_dir(temp_dir, sizeof temp_dir, "check_then_act") == -1)
        die("mkdtemp %s", temp_dir);
    cleanup_add_name(IPC_DIRECTORY, temp_dir); /* gone on every exit path, Ctrl-C included */
    snprintf(temp_file, sizeof temp_file, "%s/the-file", temp_dir);
    cleanup_add_name(IPC_PATH, temp_file); /* the racers make it; Ctrl-C removes it first */
    printf("directory: %s\n", temp_dir);
    int bad_runs = 0, failed = 0;
    for (int r = 1; r <= opt->runs; r++) {
        int winners = race_once(opt);
        if (winners < 0) {
            failed = 1;
            break;
        }
        printf("run %d: winners: %d%s\n", r, winners,
               winners > 1 ? " (each believes it created the file)" : "");
        show_file();
        bad_runs += winners != 1;
        if (unlink(temp_file) == -1) /* the next run races for a file that does not exist */
            die("unlink %s", temp_file);
    }
    if (failed && unlink(temp_file) == -1 && errno != ENOENT) /* a good run unlinked it */
        die("unlink %s", temp_file);
    cleanup_forget_name(temp_file);
    if (rmdir(temp_dir) == -1)
        die("rmdir %s", temp_dir);
    cleanup_forget_name(temp_dir);
    unmap_shared(checked, sizeof *checked);
    if (failed)
        return EXIT_FAILURE;
    printf("verdict: %d of %d run(s) had %s\n", bad_runs, opt->runs,
           "a number of winners other than exactly one");
    /* With --fix, anything but one winner is a bug; without it, it is the demonstration. */
    return opt->fix && bad_runs ? EXIT_FAILURE : EXIT_SUCCESS;
}

static struct options parse_options(int argc, char **argv)
{
    struct options opt = {2, 0, 0, 1};
    static const struct option longs[] = {
        {"workers", required_argument, 0, 'w'}, {"fix", no_argument, 0, 'f'},
        {"amplify", no_argument, 0, 'a'},       {"runs", required_argument, 0, 'r'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":w:far:h", longs, NULL)) != -1) {
        switch (c) {
        case 'w': opt.workers = (int)parse_long(optarg, "--workers", 2, MAX_WORKERS, usage); break;
        case 'f': opt.fix = 1; break;
        case 'a': opt.amplify = 1; break;
        case 'r': opt.runs = (int)parse_long(optarg, "--runs", 1, 1000, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    return opt;
}

int main(int argc, char **argv)
{
    set_program_name(argv[0]);
    struct options opt = parse_options(argc, argv);
    cleanup_install();
    return run(&opt);
}
