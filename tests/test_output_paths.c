/* test_output_paths.c - every program and script that writes to a path named on its command
 * line, given a character device, a FIFO, a symbolic link and a directory as that path: none
 * may replace, follow into or delete what it did not create.
 *
 * The hazard is real: as root, the lab grader once renamed its results over "--json /dev/null"
 * and left the machine with a regular file for /dev/null.  The device case here never touches
 * the machine's own devices: inside a private mount namespace (unshare(CLONE_NEWNS), allowed as
 * root) a fresh tmpfs holds a node made with mknod, 1:3 like /dev/null, and the program is given
 * that.  Where namespaces or mknod are refused (an ordinary user, an unprivileged container),
 * the device case is left out and says so; the FIFO case stands in for "a node that is not a
 * regular file" there.
 *
 * Each check runs in a child of the test process (the namespace must not be the test's own):
 * the child plants the path, runs the program, looks at what is left, and reports "OK ..." or
 * "FAIL ..." lines through a pipe.  Only the test process asserts.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "grading.h"
#include "harness.h"

enum kind { DEVICE, FIFO, SYMLINK, DIRECTORY, KINDS };
static const char *const kind_names[KINDS] = {"a character device", "a FIFO", "a symbolic link",
                                              "a directory"};

/* What the program is asked to write.  In argv, "@" stands for the planted path and "%" for a
 * scratch folder of the check's own (for the other outputs a program needs). */
struct path_case {
    const char *what; /* "pool_mandelbrot --output" */
    const char *argv[16];
    int takes_folder;   /* the path names a folder: a directory is its normal use */
    const char *inside; /* for a folder: a file the program writes in it, or NULL */
    int status;         /* its exit status when all goes well (a lab that fails to build: 1) */
};

static const char precious[] = "precious: not the program's to change\n";

/* ---- in the checking child: report lines, never assert -------------------------------------- */

static int report_fd = -1;

static void say(const char *verdict, const char *fmt, ...)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "%s ", verdict);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (write(report_fd, line, (size_t)n) != n)
        _exit(3);
}

static int file_holds(const char *path, const char *text)
{
    char buf[256];
    int fd = open(path, O_RDONLY | O_NOFOLLOW);
    if (fd == -1)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n == (ssize_t)strlen(text) && memcmp(buf, text, (size_t)n) == 0;
}

static int put_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd == -1)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    return close(fd) == 0 && n == (ssize_t)strlen(text) ? 0 : -1;
}

/* A reader that keeps a FIFO drained for as long as the program writes to it.  O_RDWR: the
 * reader holds a write end too, so it never sees end-of-file before the program opens it. */
static pid_t start_fifo_reader(const char *fifo)
{
    pid_t parent = getpid(), pid = fork();
    if (pid != 0)
        return pid;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
        _exit(1);
    int fd = open(fifo, O_RDWR);
    if (fd == -1)
        _exit(1);
    char buf[65536];
    while (read(fd, buf, sizeof buf) > 0) {
    }
    _exit(0);
}

/* Plant a node of this kind at path; for a link, its target holds precious text. */
static int plant(enum kind kind, const char *path, const char *victim, pid_t *reader)
{
    *reader = -1;
    switch (kind) {
    case DEVICE: return mknod(path, S_IFCHR | 0666, makedev(1, 3));
    case FIFO:
        if (mkfifo(path, 0600) == -1)
            return -1;
        *reader = start_fifo_reader(path);
        return *reader == -1 ? -1 : 0;
    case SYMLINK: return put_file(victim, precious) == -1 ? -1 : symlink(victim, path);
    case DIRECTORY: {
        char keep[PATH_MAX + 8];
        if (snprintf(keep, sizeof keep, "%s/keep", path) >= (int)sizeof keep)
            return -1;
        return mkdir(path, 0755) == -1 ? -1 : put_file(keep, precious);
    }
    default: return -1;
    }
}

/* Is the planted node still what it was? */
static int intact(enum kind kind, const char *path, const char *victim)
{
    struct stat st;
    if (lstat(path, &st) == -1)
        return 0;
    char target[PATH_MAX], keep[PATH_MAX + 8];
    switch (kind) {
    case DEVICE: return S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
    case FIFO: return S_ISFIFO(st.st_mode);
    case SYMLINK: {
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (!S_ISLNK(st.st_mode) || n < 0)
            return 0;
        target[n] = '\0';
        return strcmp(target, victim) == 0 && file_holds(victim, precious);
    }
    case DIRECTORY:
        if (snprintf(keep, sizeof keep, "%s/keep", path) >= (int)sizeof keep)
            return 0;
        return S_ISDIR(st.st_mode) && file_holds(keep, precious);
    default: return 0;
    }
}

/* argv with "@" and "%" substituted: the strings live in storage (16 of PATH_MAX each). */
static void substitute(const struct path_case *c, const char *path, const char *scratch,
                       char *argv[], char storage[][PATH_MAX + 64])
{
    int i = 0;
    for (; c->argv[i]; i++) {
        const char *from = c->argv[i], *at = strpbrk(from, "@%");
        if (!at) {
            argv[i] = (char *)from;
            continue;
        }
        if (snprintf(storage[i], PATH_MAX + 64, "%.*s%s%s", (int)(at - from), from,
                     *at == '@' ? path : scratch, at + 1) >= PATH_MAX + 64)
            storage[i][0] = '\0'; /* too long: the program is told an empty path, and fails */
        argv[i] = storage[i];
    }
    argv[i] = NULL;
}

/* One kind of node at the path the program writes (or, with inside, at a file the program
 * writes in a folder of the check's own).  Reports one line. */
static void check_one(const struct path_case *c, enum kind kind, const char *base, int inside)
{
    static int serial; /* each check gets names of its own */
    char node[2 * PATH_MAX], victim[PATH_MAX], scratch[PATH_MAX], folder[PATH_MAX];
    serial++;
    snprintf(scratch, sizeof scratch, "%s/scratch-%d", base, serial);
    snprintf(victim, sizeof victim, "%s/victim-%d", base, serial);
    snprintf(folder, sizeof folder, "%s/folder-%d", base, serial);
    if (mkdir(scratch, 0700) == -1) {
        say("FAIL", "%s: cannot make %s: %s", c->what, scratch, strerror(errno));
        return;
    }
    if (inside) {
        if (mkdir(folder, 0755) == -1) {
            say("FAIL", "%s: cannot make %s: %s", c->what, folder, strerror(errno));
            return;
        }
        snprintf(node, sizeof node, "%s/%s", folder, c->inside);
    } else {
        snprintf(node, sizeof node, "%s/node-%d", base, serial);
    }
    pid_t reader;
    if (plant(kind, node, victim, &reader) == -1) {
        say("FAIL", "%s: cannot plant %s at %s: %s", c->what, kind_names[kind], node,
            strerror(errno));
        return;
    }
    char *argv[16], storage[16][PATH_MAX + 64];
    substitute(c, inside ? folder : node, scratch, argv, storage);
    struct program_run run;
    int started = run_program(argv, 300, &run);
    if (reader > 0) {
        kill(reader, SIGKILL);
        waitpid(reader, NULL, 0);
    }
    const char *where = inside ? "in the folder it writes to" : "as the path";
    if (started == -1) {
        say("FAIL", "%s: could not start %s", c->what, argv[0]);
        return;
    }
    /* A refusal is a status other than the usual one, or the word for it on stderr. */
    int refused = !exited_with(&run, c->status) || strstr(run.err, "cannot write") != NULL;
    /* A link, and anything but a folder where a folder is wanted, must be refused; a folder
     * where a file is wanted too.  A device or a FIFO may be written in place. */
    int must_refuse = kind == SYMLINK || (kind == DIRECTORY && !c->takes_folder && !inside) ||
                      (c->takes_folder && !inside && (kind == DEVICE || kind == FIFO));
    if (run.timed_out)
        say("FAIL", "%s with %s %s: did not finish", c->what, kind_names[kind], where);
    else if (!intact(kind, node, victim))
        say("FAIL", "%s with %s %s: %s was replaced, removed or written through", c->what,
            kind_names[kind], where, node);
    else if (must_refuse && !refused)
        say("FAIL", "%s with %s %s: exit 0, but it should have refused", c->what, kind_names[kind],
            where);
    else if (refused && !*run.err)
        say("FAIL", "%s with %s %s: refused without a word on stderr", c->what, kind_names[kind],
            where);
    else
        say("OK", "%s with %s %s: %s", c->what, kind_names[kind], where,
            refused ? "refused, and left it be" : "written in place, left it be");
    program_run_free(&run);
}

/* In the child: a private mount namespace with a tmpfs of our own at base, where device
 * nodes work (/tmp may be nodev).  Returns 1 if the device case can run. */
static int private_tmpfs(const char *base)
{
    if (unshare(CLONE_NEWNS) == -1)
        return 0;
    /* Our mounts must not propagate back to the machine's namespace. */
    if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == -1) /* names ignored here */
        return 0;
    if (mount("forklore-test", base, "tmpfs", 0, "mode=0700,size=64m") == -1)
        return 0;
    char probe[PATH_MAX + 16];
    snprintf(probe, sizeof probe, "%s/probe", base);
    if (mknod(probe, S_IFCHR | 0666, makedev(1, 3)) == -1)
        return 0;
    int fd = open(probe, O_WRONLY);
    if (fd == -1 || write(fd, "x", 1) != 1) {
        if (fd != -1)
            close(fd);
        return 0;
    }
    close(fd);
    return unlink(probe) == 0;
}

static _Noreturn void checking_child(const struct path_case *cases, size_t n, const char *base,
                                     int out_fd, pid_t test)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != test)
        _exit(2);
    report_fd = out_fd;
    int devices = private_tmpfs(base);
    if (!devices)
        say("NOTE", "no private mount namespace or mknod here: the device case is left out");
    for (size_t i = 0; i < n; i++) {
        for (int kind = devices ? DEVICE : FIFO; kind < KINDS; kind++)
            check_one(&cases[i], (enum kind)kind, base, 0);
        if (cases[i].inside)
            for (int kind = devices ? DEVICE : FIFO; kind < KINDS; kind++)
                if (kind != DIRECTORY) /* a folder where a file goes: the program's own error */
                    check_one(&cases[i], (enum kind)kind, base, 1);
    }
    /* Whatever the tmpfs holds goes with the namespace when this process exits. */
    _exit(0);
}

/* Run the cases in a checking child; fail on any FAIL line, and show every line. */
static void check_cases(const struct path_case *cases, size_t n, const char *tag)
{
    char dir[PATH_MAX], base[PATH_MAX + 8];
    make_temp_dir(dir, sizeof dir, tag);
    snprintf(base, sizeof base, "%s/nodes", dir);
    cr_assert_eq(mkdir(base, 0700), 0);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t test = getpid(), child = fork();
    cr_assert_neq(child, -1);
    if (child == 0) {
        close(fds[0]);
        checking_child(cases, n, base, fds[1], test);
    }
    close(fds[1]);
    char *report = NULL;
    size_t size = 0;
    FILE *lines = open_memstream(&report, &size);
    cr_assert_not_null(lines);
    char chunk[4096];
    ssize_t got;
    while ((got = read(fds[0], chunk, sizeof chunk)) > 0)
        fwrite(chunk, 1, (size_t)got, lines);
    fclose(lines);
    close(fds[0]);
    int status;
    cr_assert_eq(waitpid(child, &status, 0), child);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the checking child failed:\n%s",
              report);
    cr_assert_eq(count_lines_containing(report, "FAIL "), 0, "%s", report);
    cr_assert_geq(count_lines_containing(report, "OK "), (int)n * 3, "%s", report);
    free(report);
    remove_dir(dir);
}

/* ---- the programs ------------------------------------------------------------------------------
 */

Test(output_paths, programs_never_replace_or_follow_what_they_are_given, .timeout = 600)
{
    static const struct path_case cases[] = {
        {.what = "pool_mandelbrot --output",
         .argv = {"pool_mandelbrot", "--workers=2", "--width=16", "--height=8", "--output=@"}},
        {.what = "exec_spawn --output", .argv = {"exec_spawn", "--method=both", "--output=@"}},
        {.what = "fifo_client_server --role=server --dir",
         .argv = {"fifo_client_server", "--role=server", "--dir", "@", "--idle", "1"},
         .takes_folder = 1,
         .inside = "server.fifo"},
        {.what = "bench --data",
         .argv = {"bench", "--quick", "--repeats", "1", "--only", "race_rate", "--data", "@",
                  "--plots", "%"},
         .takes_folder = 1,
         .inside = "samples.csv"},
        {.what = "bench --plots",
         .argv = {"bench", "--quick", "--repeats", "1", "--only", "race_rate", "--data", "%",
                  "--plots", "@"},
         .takes_folder = 1,
         .inside = "report.md"},
    };
    check_cases(cases, sizeof cases / sizeof cases[0], "paths-programs");
}

/* ---- the scripts -------------------------------------------------------------------------------
 */

/* The lab links with this build's library and flags (the sanitizer build has its own). */
#define LIBRARY_ENV "LIBRARY=" FORKLORE_BIN "/../libforklore.a"
#define FLAGS_ENV "EXTRA_CFLAGS=" FORKLORE_LAB_CFLAGS

Test(output_paths, grader_json_never_replaces_a_device_or_follows_a_link, .timeout = 600)
{
    SKIP_UNLESS_GRADING_HERE();
    /* The grader's own write (a lab that builds), and grade.sh's (one that does not). */
    char broken[PATH_MAX], source[PATH_MAX + 16], src_env[PATH_MAX + 16];
    make_temp_dir(broken, sizeof broken, "paths-broken-lab");
    snprintf(source, sizeof source, "%s/parallel.c", broken);
    write_file(source, "#error this lab does not build\n");
    snprintf(src_env, sizeof src_env, "LAB_SRC=%s", broken);
    const struct path_case cases[] = {
        {.what = "the grader's --json (make grade JSON=)",
         .argv = {"/usr/bin/env", "LAB=parallel",
                  "LAB_SRC=" FORKLORE_ROOT "/tests/labs/parallel/solution", "OUT=%", LIBRARY_ENV,
                  FLAGS_ENV, "TEST=exit_status", "JSON=@", "/bin/bash",
                  FORKLORE_ROOT "/lessons/labs/grader/grade.sh"}},
        {.what = "grade.sh's results for a lab that does not build (make grade JSON=)",
         .argv = {"/usr/bin/env", "LAB=parallel", src_env, "OUT=%", LIBRARY_ENV, FLAGS_ENV,
                  "JSON=@", "/bin/bash", FORKLORE_ROOT "/lessons/labs/grader/grade.sh"},
         .status = 1},
    };
    check_cases(cases, sizeof cases / sizeof cases[0], "paths-grader");
    remove_dir(broken);
}

Test(output_paths, handout_gradescope_and_plots_keep_out_of_what_they_did_not_make, .timeout = 600)
{
    SKIP_UNLESS_GRADING_HERE();
    /* plot.sh draws from data: make some, quickly, in a folder of the test's own. */
    char data[PATH_MAX], csv[PATH_MAX + 32];
    make_temp_dir(data, sizeof data, "paths-data");
    struct program_run run;
    run_expect(&run,
               (char *[]){"bench", "--quick", "--repeats", "1", "--only", "race_rate", "--data",
                          data, "--plots", data, NULL},
               120, 0);
    program_run_free(&run);
    snprintf(csv, sizeof csv, "%s/race_rate.csv", data);
    cr_assert_eq(access(csv, R_OK), 0, "bench wrote no %s", csv);
    const struct path_case cases[] = {
        {.what = "make handout (handout.sh DIR)",
         .argv = {"/bin/bash", FORKLORE_ROOT "/lessons/labs/grader/handout.sh", "@"},
         .takes_folder = 1,
         .inside = "forklore-labs.tar.gz"},
        {.what = "make gradescope (gradescope.sh LAB DIR)",
         .argv = {"/bin/bash", FORKLORE_ROOT "/lessons/labs/grader/gradescope.sh", "parallel", "@"},
         .takes_folder = 1,
         .inside = "parallel-gradescope.zip"},
        {.what = "make plots (plot.sh DATA PLOTS)",
         .argv = {"/bin/bash", FORKLORE_ROOT "/bench/plot.sh", data, "@"},
         .takes_folder = 1,
         .inside = "race_rate.png"},
    };
    check_cases(cases, sizeof cases / sizeof cases[0], "paths-scripts");
    remove_dir(data);
}

/* An earlier DIR/LAB that make gradescope did not make is somebody's folder: left alone. */
Test(output_paths, gradescope_leaves_a_folder_it_did_not_make)
{
    SKIP_UNLESS_GRADING_HERE();
    char dir[PATH_MAX], mine[PATH_MAX + 16], keep[PATH_MAX + 32];
    make_temp_dir(dir, sizeof dir, "paths-gradescope");
    snprintf(mine, sizeof mine, "%s/parallel", dir);
    cr_assert_eq(mkdir(mine, 0755), 0);
    snprintf(keep, sizeof keep, "%s/notes.txt", mine);
    write_file(keep, precious);
    struct program_run run;
    run_finished(&run,
                 (char *[]){"/bin/bash", FORKLORE_ROOT "/lessons/labs/grader/gradescope.sh",
                            "parallel", dir, NULL},
                 120);
    cr_assert(exited_with(&run, 1), "status 0x%x: %s", run.status, run.err);
    expect_text(run.err, "was not made by make gradescope");
    char *text = read_file(keep, NULL);
    cr_assert(text && strcmp(text, precious) == 0, "%s was changed", keep);
    free(text);
    program_run_free(&run);
    remove_dir(dir);
}
