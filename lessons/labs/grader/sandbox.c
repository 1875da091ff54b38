/* sandbox.c - see sandbox.h.  Each step is a function of its own, in the order sandbox_enter
 * takes them; sandbox_probe takes the same steps in a throw-away child to learn which work. */
#define _GNU_SOURCE
#include "sandbox.h"
#include "support/private_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* The sandbox's limits: generous for any lab's honest solution, small beside the machine. */
enum {
    SANDBOX_PIDS_MAX = 512, /* pids cgroup: processes and threads at once */
    SANDBOX_NPROC = 1024,   /* RLIMIT_NPROC (counts every process of the user) */
    SANDBOX_FILE_MB = 256,  /* RLIMIT_FSIZE */
    SANDBOX_ADDRESS_GB = 8, /* RLIMIT_AS, per process */
    SANDBOX_TMPFS_MB = 256, /* each of the private /tmp and /dev/shm */
};
#define SANDBOX_TEMP "/tmp/forklore-test" /* the test's temp folder inside a mount namespace */

static int say(const char *step) /* in the child: why the sandbox could not be entered */
{
    dprintf(STDERR_FILENO, "sandbox: %s: %s\n", step, strerror(errno));
    return -1;
}

static int write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    int saved = errno;
    close(fd);
    errno = saved;
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int under_valgrind(void)
{
    const char *preload = getenv("LD_PRELOAD");
    return preload && strstr(preload, "vgpreload") != NULL;
}

/* ---- the steps, in the child --------------------------------------------------------------- */

static int join_cgroup(const struct sandbox *box)
{
    if (!box->cgroup[0])
        return 0;
    char path[PATH_MAX + 16], pid[32];
    snprintf(path, sizeof path, "%s/cgroup.procs", box->cgroup);
    snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    return write_text(path, pid) == -1 ? say("join the pids cgroup") : 0;
}

/* Wait for child, then end with its status: as a waiter outside the PID namespace, by
 * exiting or dying the same way; as process 1 inside (where raise() of a signal without a
 * handler does nothing), by writing the raw status to the waiter outside, on status_fd. */
_Noreturn static void wait_and_pass_on(pid_t child, int status_fd, int is_init)
{
    /* The pipes are the test program's, not ours; the status pipe may be among 0..4 when the
     * grader was started with fewer descriptors open (grade-sandbox, run from a test). */
    for (int fd = 0; fd <= 4; fd++)
        if (fd != status_fd)
            close(fd);
    int status;
    while (waitpid(child, &status, 0) == -1)
        if (errno != EINTR)
            _exit(125);
    if (is_init) {
        ssize_t n = write(status_fd, &status, sizeof status);
        _exit(n == (ssize_t)sizeof status ? 0 : 125);
    }
    int passed; /* what process 1 said, if it said it */
    if (read(status_fd, &passed, sizeof passed) == (ssize_t)sizeof passed)
        status = passed;
    if (WIFEXITED(status))
        _exit(WEXITSTATUS(status));
    signal(WTERMSIG(status), SIG_DFL);
    kill(getpid(), WTERMSIG(status));
    _exit(125);
}

static int enter_namespaces(const struct sandbox *box)
{
    if (!box->namespaces)
        return 0;
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(box->namespaces) == -1)
        return say("unshare");
    if (box->namespaces & CLONE_NEWUSER) { /* ourselves, and only ourselves, inside */
        char map[64];
        snprintf(map, sizeof map, "%d %d 1\n", (int)uid, (int)uid);
        if (write_text("/proc/self/setgroups", "deny") == -1 ||
            write_text("/proc/self/uid_map", map) == -1)
            return say("map the user namespace");
        snprintf(map, sizeof map, "%d %d 1\n", (int)gid, (int)gid);
        if (write_text("/proc/self/gid_map", map) == -1)
            return say("map the user namespace's group");
    }
    if (!(box->namespaces & CLONE_NEWPID))
        return 0;
    /* The first child in a new PID namespace is its process 1, which the kernel spares every
     * signal it has no handler for (even its own raise(SIGSEGV)): that is not a test program's
     * life.  So process 1 is a plain waiter, and the test program is its child, process 2.
     * When the test program ends, process 1 passes its status on and exits, and the kernel
     * kills whatever else is left in the namespace. */
    int status_pipe[2];
    if (pipe2(status_pipe, O_CLOEXEC) == -1)
        return say("pipe");
    for (int level = 0; level < 2; level++) {
        pid_t child = fork();
        if (child == -1)
            return say("fork into the PID namespace");
        if (child > 0)
            wait_and_pass_on(child, status_pipe[level], level == 1);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
            return say("prctl");
    }
    close(status_pipe[0]);
    close(status_pipe[1]);
    return 0;
}

/* The flags a bind mount must keep when it is remounted (the kernel refuses to drop them). */
static unsigned long locked_flags(const char *path)
{
    struct statvfs st;
    if (statvfs(path, &st) == -1)
        return 0;
    return (st.f_flag & ST_NOSUID ? MS_NOSUID : 0) | (st.f_flag & ST_NODEV ? MS_NODEV : 0) |
           (st.f_flag & ST_NOEXEC ? MS_NOEXEC : 0);
}

/* Make every folder of path that is missing (in the fresh /tmp), mode 0755. */
static int make_path(const char *path)
{
    char partial[PATH_MAX];
    snprintf(partial, sizeof partial, "%s", path);
    for (char *slash = strchr(partial + 1, '/');; slash = strchr(slash + 1, '/')) {
        if (slash)
            *slash = '\0';
        if (mkdir(partial, 0755) == -1 && errno != EEXIST)
            return -1;
        if (!slash)
            return 0;
        *slash = '/';
    }
}

static int is_below(const char *path, const char *folder)
{
    size_t n = strlen(folder);
    return strncmp(path, folder, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static int hide_folders(const struct sandbox *box)
{
    for (int i = 0; i < box->hidden_count; i++) {
        struct stat st;
        const char *dir = box->hidden[i];
        if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode) || is_below(box->build_dir, dir))
            continue;
        if (mount("tmpfs", dir, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "mode=0555,size=4k") == -1)
            return say("hide a folder");
    }
    return 0;
}

/* Every mount the test can see, read-only (in this mount namespace only): the folder the
 * grader writes results.json into, the user's home (in a user namespace the test program is
 * this very user, and could write wherever the user can), /var/tmp.  The private /tmp, /dev/shm
 * and /proc mounted after it are the only places left to write; device nodes (/dev/null) work
 * on a read-only mount as before.  mount_setattr is Linux 5.12 and later. */
static int make_everything_read_only(void)
{
#if defined(SYS_mount_setattr) && defined(MOUNT_ATTR_RDONLY)
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
    return syscall(SYS_mount_setattr, AT_FDCWD, "/", AT_RECURSIVE, &attr, sizeof attr) == -1
               ? say("make every mount read-only")
               : 0;
#else
    errno = ENOSYS;
    return say("make every mount read-only");
#endif
}

static int make_mounts(const struct sandbox *box)
{
    if (!(box->namespaces & CLONE_NEWNS))
        return 0;
    /* Nothing mounted here propagates back to the machine's own mount table. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
        return say("make the mounts private");
    if (box->read_only_root && make_everything_read_only() == -1)
        return -1;
    int build = open(box->build_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (build == -1)
        return say("open the build folder");
    char options[64];
    snprintf(options, sizeof options, "mode=1777,size=%dm", SANDBOX_TMPFS_MB);
    if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, options) == -1 ||
        mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, options) == -1)
        return say("mount a private /tmp and /dev/shm");
    if ((box->namespaces & CLONE_NEWPID) &&
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == -1)
        return say("mount /proc for the PID namespace");
    if (hide_folders(box) == -1)
        return -1;
    /* The build folder, read-only, at the same path (recreated in the new /tmp if it was there). */
    char source[64];
    snprintf(source, sizeof source, "/proc/self/fd/%d", build);
    if ((is_below(box->build_dir, "/tmp") && make_path(box->build_dir) == -1) ||
        mount(source, box->build_dir, NULL, MS_BIND, NULL) == -1 ||
        mount(NULL, box->build_dir, NULL,
              MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(box->build_dir), NULL) == -1)
        return say("mount the build folder read-only");
    close(build);
    if (mkdir(SANDBOX_TEMP, 0700) == -1 ||
        (box->as_nobody && chown(SANDBOX_TEMP, box->uid, box->gid) == -1))
        return say("make the test's temp folder");
    return 0;
}

static int set_limits(const struct sandbox *box)
{
    struct {
        int resource;
        rlim_t value;
        int wanted;
    } limits[] = {
        {RLIMIT_CORE, 0, 1},
        {RLIMIT_NPROC, SANDBOX_NPROC, 1},
        {RLIMIT_FSIZE, (rlim_t)SANDBOX_FILE_MB << 20, 1},
        {RLIMIT_CPU, (rlim_t)box->cpu_seconds + 1, box->cpu_seconds > 0},
        /* valgrind and AddressSanitizer reserve terabytes of address space they never use. */
        {RLIMIT_AS, (rlim_t)SANDBOX_ADDRESS_GB << 30, !UNDER_ASAN && !under_valgrind()},
    };
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        struct rlimit now;
        if (!limits[i].wanted || getrlimit(limits[i].resource, &now) == -1)
            continue;
        rlim_t value = limits[i].value < now.rlim_max ? limits[i].value : now.rlim_max;
        struct rlimit set = {value, value};
        if (setrlimit(limits[i].resource, &set) == -1)
            return say("setrlimit");
    }
    return 0;
}

static int drop_user(const struct sandbox *box)
{
    if (box->as_nobody &&
        (setgroups(0, NULL) == -1 || setresgid(box->gid, box->gid, box->gid) == -1 ||
         setresuid(box->uid, box->uid, box->uid) == -1))
        return say("become the unprivileged user");
    /* No set-user-ID program can give back what was dropped. */
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ? say("prctl(PR_SET_NO_NEW_PRIVS)") : 0;
}

int sandbox_enter(void *arg)
{
    const struct sandbox *box = arg;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
        return say("prctl");
    if (join_cgroup(box) == -1 || enter_namespaces(box) == -1 || make_mounts(box) == -1 ||
        set_limits(box) == -1 || drop_user(box) == -1)
        return -1;
    return 0;
}

/* ---- probing ------------------------------------------------------------------------------- */

/* Take the steps in a child, then check the build folder can be entered: 1 if all worked. */
static int try_steps(struct sandbox *box)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == -1)
        return 0;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null != -1)
            dup2(null, STDERR_FILENO);
        if (sandbox_enter(box) == -1 || access(box->build_dir, R_OK | X_OK) == -1)
            _exit(1);
        _exit(0);
    }
    int status;
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            return 0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* A pids cgroup below our own, v1 (/sys/fs/cgroup/pids) or v2 (/sys/fs/cgroup), if we may
 * make one there. */
static void find_cgroup(struct sandbox *box)
{
    FILE *file = fopen("/proc/self/cgroup", "r");
    if (!file)
        return;
    char line[PATH_MAX], v1[PATH_MAX] = "", v2[PATH_MAX] = "";
    while (fgets(line, sizeof line, file)) {
        line[strcspn(line, "\n")] = '\0';
        char *controllers = strchr(line, ':'),
             *path = controllers ? strchr(controllers + 1, ':') : NULL;
        if (!path)
            continue;
        *path++ = '\0';
        if (strcmp(controllers + 1, "pids") == 0)
            snprintf(v1, sizeof v1, "/sys/fs/cgroup/pids%s", strcmp(path, "/") ? path : "");
        else if (controllers[1] == '\0')
            snprintf(v2, sizeof v2, "/sys/fs/cgroup%s", strcmp(path, "/") ? path : "");
    }
    fclose(file);
    const char *parent = v1[0] ? v1 : v2;
    char probe[PATH_MAX + 64], max[PATH_MAX + 80];
    snprintf(probe, sizeof probe, "%s/forklore-probe-%d", parent, (int)getpid());
    snprintf(max, sizeof max, "%s/pids.max", probe);
    if (parent[0] && mkdir(probe, 0755) == 0) {
        box->cgroup_ok = access(max, W_OK) == 0;
        rmdir(probe);
        snprintf(box->cgroup_parent, sizeof box->cgroup_parent, "%s", parent);
    }
}

void sandbox_probe(struct sandbox *box)
{
    int root = geteuid() == 0, valgrind = under_valgrind();
    const char *forced = getenv("FORKLORE_GRADE_SANDBOX");
    int allow_namespaces = !valgrind && !(forced && strcmp(forced, "none") == 0);
    struct passwd *nobody = getpwnam("nobody");
    box->uid = nobody ? nobody->pw_uid : 65534;
    box->gid = nobody ? nobody->pw_gid : 65534;
    box->as_nobody = root && !valgrind;
    box->cgroup[0] = '\0';
    box->cpu_seconds = 0;
    int flags =
        CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWNET | (root ? 0 : CLONE_NEWUSER);
    box->namespaces = allow_namespaces ? flags : 0;
    box->read_only_root = 1;
    if (box->namespaces && !try_steps(box)) {
        box->read_only_root = 0; /* an older kernel: the namespaces, without it */
        if (!try_steps(box))
            box->namespaces = 0;
    }
    if (!box->namespaces && box->as_nobody && !try_steps(box))
        box->as_nobody = 0; /* the build folder is out of nobody's reach */
    if (!valgrind)
        find_cgroup(box);
    char *d = box->description;
    size_t size = sizeof box->description;
    int n =
        snprintf(d, size, "sandbox: %s; ",
                 box->as_nobody ? "as user nobody"
                 : root ? "as root (valgrind traces it, or nobody cannot reach the build folder)"
                        : "as this user");
    if (box->namespaces)
        n += snprintf(d + n, size - (size_t)n,
                      "%sPID, IPC, mount and network namespaces, private /tmp and /dev/shm, %s; ",
                      root ? "" : "a user namespace with ",
                      box->read_only_root
                          ? "every other folder read-only"
                          : "the machine's folders writable as by this user (no mount_setattr)");
    else
        n += snprintf(d + n, size - (size_t)n,
                      "no namespaces (%s): a process group, and orphans come back to the grader; ",
                      valgrind           ? "under valgrind"
                      : allow_namespaces ? "the kernel refused them"
                                         : "FORKLORE_GRADE_SANDBOX=none");
    snprintf(d + n, size - (size_t)n, "%srlimits on processes, file size, CPU time and core files",
             box->cgroup_ok ? "a pids cgroup, " : "no pids cgroup, ");
}

/* ---- per test ------------------------------------------------------------------------------ */

static unsigned test_number;

int sandbox_begin_test(struct sandbox *box, double limit_s)
{
    box->cpu_seconds = limit_s + 5;
    box->cgroup[0] = box->outside_temp[0] = '\0';
    if (box->cgroup_ok) {
        char max[PATH_MAX + 32], value[32];
        snprintf(box->cgroup, sizeof box->cgroup, "%.3000s/forklore-grade-%d-%u",
                 box->cgroup_parent, (int)getpid(), ++test_number);
        snprintf(max, sizeof max, "%s/pids.max", box->cgroup);
        snprintf(value, sizeof value, "%d\n", SANDBOX_PIDS_MAX);
        if (mkdir(box->cgroup, 0755) == -1 || write_text(max, value) == -1) {
            rmdir(box->cgroup);
            box->cgroup[0] = '\0'; /* the rlimits still hold */
        }
    }
    if (box->namespaces & CLONE_NEWNS) {
        snprintf(box->temp_dir, sizeof box->temp_dir, "%s", SANDBOX_TEMP);
        return 0;
    }
    if (make_private_dir(box->outside_temp, sizeof box->outside_temp, "grade") == -1 ||
        (box->as_nobody && chown(box->outside_temp, box->uid, box->gid) == -1)) {
        box->outside_temp[0] = '\0';
        return -1;
    }
    snprintf(box->temp_dir, sizeof box->temp_dir, "%s", box->outside_temp);
    return 0;
}

/* Kill every process listed in file (a cgroup's, or our children's); returns how many. */
static int kill_listed(const char *path)
{
    FILE *file = fopen(path, "r");
    if (!file)
        return 0;
    int count = 0, pid;
    while (fscanf(file, "%d", &pid) == 1)
        if (pid != getpid() && kill(pid, SIGKILL) == 0)
            count++;
    fclose(file);
    return count;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path); /* FTW_PHYS: a link the test planted is removed, never followed */
}

int sandbox_end_test(struct sandbox *box)
{
    char path[PATH_MAX + 32];
    int left = 0;
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    for (int round = 0; round < 100; round++) {
        int now = kill_listed(path);
        if (box->cgroup[0]) {
            char procs[PATH_MAX + 32];
            snprintf(procs, sizeof procs, "%s/cgroup.procs", box->cgroup);
            now += kill_listed(procs);
        }
        while (waitpid(-1, NULL, WNOHANG) > 0) /* the grader's own children are all the test's */
            continue;
        left += now;
        if (now == 0)
            break;
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
        continue;
    if (box->cgroup[0])
        rmdir(box->cgroup);
    if (box->outside_temp[0])
        nftw(box->outside_temp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    box->cgroup[0] = box->outside_temp[0] = '\0';
    return left;
}
