/* cleanup.c - see cleanup.h. */
#define _GNU_SOURCE
#include "support/cleanup.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/error.h"

/* A registered name may be a path in $TMPDIR, which can be as long as any path: PATH_MAX. */
enum { MAX_NAMES = 256, NAME_SIZE = PATH_MAX, FIRST_CHILD_ROOM = 64 };

struct name_entry {
    enum ipc_kind kind;
    volatile sig_atomic_t used;
    char name[NAME_SIZE];
};

static struct name_entry names[MAX_NAMES];

/* The registered children: as many as the program forks (a pool of 2 per CPU on a 1024-CPU
 * machine is 2048), so the table grows.  The signal handler may read it at any moment, so a
 * bigger table is filled first and published with one pointer store; the tables it replaced
 * stay allocated (a handler in another thread may still be walking one) and are freed at exit.
 * Together they are at most twice the last one. */
struct child_table {
    int room;
    struct child_table *replaced; /* the smaller table this one took over from */
    volatile pid_t pid[];         /* 0: a free entry */
};
static struct child_table *_Atomic children;
static volatile sig_atomic_t interrupted; /* set by the signal handler */

void unique_ipc_name(char *buf, size_t size, const char *tag)
{
    static unsigned counter;
    int n = snprintf(buf, size, "/forklore-%s-%ld-%u", tag, (long)getpid(), counter++);
    if (n < 0 || (size_t)n >= size)
        die("unique_ipc_name: buffer too small for tag \"%s\"", tag);
}

/* Unlink one name with the system call underneath each POSIX call (async-signal-safe). */
static void unlink_entry(const struct name_entry *e)
{
    char path[NAME_SIZE + 16];
    switch (e->kind) {
    case IPC_SHM: /* shm_unlink("/x") removes /dev/shm/x */
        strcpy(path, "/dev/shm");
        strcat(path, e->name);
        unlink(path);
        break;
    case IPC_SEMAPHORE: /* sem_unlink("/x") removes /dev/shm/sem.x */
        strcpy(path, "/dev/shm/sem.");
        strcat(path, e->name + 1);
        unlink(path);
        break;
    case IPC_MQUEUE: /* mq_unlink takes the name without the slash at the system call */
        syscall(SYS_mq_unlink, e->name + 1);
        break;
    case IPC_PATH: unlink(e->name); break;
    case IPC_DIRECTORY: rmdir(e->name); break;
    }
}

static void clear_registry(void)
{
    if (!in_owning_process())
        return; /* a child inherited the registry: the objects are not its to remove */
    struct child_table *t = atomic_load(&children);
    for (int i = 0; t && i < t->room; i++) {
        pid_t pid = t->pid[i];
        if (pid > 0) {
            kill(pid, SIGKILL);
            while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
                continue;
            t->pid[i] = 0;
        }
    }
    for (int pass = 0; pass < 2; pass++) /* directories last: their files go first */
        for (int i = 0; i < MAX_NAMES; i++)
            if (names[i].used && (names[i].kind == IPC_DIRECTORY) == pass) {
                unlink_entry(&names[i]);
                names[i].used = 0;
            }
}

static void on_signal(int sig)
{
    int saved = errno;
    interrupted = 1;
    if (sig == SIGPIPE && in_owning_process()) /* nobody asked for this one: say why */
        note_from_signal_handler(SIGPIPE_MESSAGE);
    clear_registry();
    /* Die of the same signal, so the parent shell sees "killed by SIGINT" (status 130). */
    signal(sig, SIG_DFL);
    raise(sig);
    errno = saved;
}

static void on_exit_normally(void)
{
    clear_registry();
    if (!in_owning_process())
        return;
    struct child_table *t = atomic_exchange(&children, NULL);
    while (t) {
        struct child_table *older = t->replaced;
        free(t);
        t = older;
    }
}

void cleanup_install(void)
{
    claim_owning_process(); /* this process owns the registry, and die() exits only here */
    if (atexit(on_exit_normally) != 0)
        die("atexit");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    if (sigfillset(&sa.sa_mask) == -1)
        die("sigfillset");
    /* SIGPIPE too: `program | head -1` kills the writer with it, and without the handler
     * that death would leave the run's named objects behind until reboot. */
    const int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
        if (sigaction(signals[i], &sa, NULL) == -1)
            die("sigaction");
}

void cleanup_add_name(enum ipc_kind kind, const char *name)
{
    if (strlen(name) >= NAME_SIZE)
        die_with_code(ENAMETOOLONG, "cleanup_add_name: %s", name);
    for (int i = 0; i < MAX_NAMES; i++)
        if (!names[i].used) {
            names[i].kind = kind;
            strcpy(names[i].name, name);
            names[i].used = 1; /* last: the handler never sees a half-written entry */
            return;
        }
    die("cleanup_add_name: more than %d names registered", MAX_NAMES);
}

void cleanup_forget_name(const char *name)
{
    for (int i = 0; i < MAX_NAMES; i++)
        if (names[i].used && strcmp(names[i].name, name) == 0)
            names[i].used = 0;
}

/* A table twice the size of the current one, holding the same children, published. */
static struct child_table *grow_children(void)
{
    struct child_table *old = atomic_load(&children);
    int room = old ? old->room : FIRST_CHILD_ROOM / 2;
    if (room > (1 << 28))
        die("cleanup_add_child: more than %d children registered", room);
    struct child_table *t = calloc(1, sizeof *t + sizeof t->pid[0] * (size_t)room * 2);
    if (!t)
        die("cleanup_add_child: no memory for a table of %d children", room * 2);
    t->room = room * 2;
    t->replaced = old;
    for (int i = 0; old && i < old->room; i++)
        t->pid[i] = old->pid[i];
    atomic_store(&children, t); /* from here the handler reads the new table */
    return t;
}

void cleanup_add_child(pid_t pid)
{
    struct child_table *t = atomic_load(&children);
    for (int i = 0; t && i < t->room; i++)
        if (t->pid[i] == 0) {
            t->pid[i] = pid;
            return;
        }
    int first_new = t ? t->room : 0;
    t = grow_children();
    t->pid[first_new] = pid;
}

void cleanup_forget_child(pid_t pid)
{
    struct child_table *t = atomic_load(&children);
    for (int i = 0; t && i < t->room; i++)
        if (t->pid[i] == pid)
            t->pid[i] = 0;
}

void die_with_parent(pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
        die_in_child("prctl(PR_SET_PDEATHSIG)");
    if (getppid() != parent) /* the parent died before prctl: nobody will send the signal */
        _exit(EXIT_FAILURE);
}

int cleanup_interrupted(void)
{
    return interrupted;
}

/* SIGCHLD: look at the child that ended without reaping it (WNOWAIT: the program's own wait
 * still finds it).  One that was killed or failed ends the program as SIGTERM would. */
static void on_child_ended(int sig)
{
    (void)sig;
    int saved = errno;
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid != 0 &&
        !(info.si_code == CLD_EXITED && info.si_status == 0) && in_owning_process()) {
        note_from_signal_handler("a child process died while the others depended on it: "
                                 "stopping them, after removing what this run made");
        raise(SIGTERM); /* its handler kills and reaps the children and unlinks the names */
    }
    errno = saved;
}

static void set_sigchld(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    if (sigemptyset(&sa.sa_mask) == -1 || sigaction(SIGCHLD, &sa, NULL) == -1)
        die("sigaction(SIGCHLD)");
}

void cleanup_stop_when_a_child_fails(void)
{
    set_sigchld(on_child_ended);
}

void cleanup_stop_watching_children(void)
{
    set_sigchld(SIG_DFL);
}

void cleanup_hold_signals(sigset_t *old)
{
    sigset_t terminating;
    sigemptyset(&terminating);
    sigaddset(&terminating, SIGINT);
    sigaddset(&terminating, SIGTERM);
    sigaddset(&terminating, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &terminating, old) == -1)
        die("sigprocmask");
}

void cleanup_release_signals(const sigset_t *old)
{
    if (sigprocmask(SIG_SETMASK, old, NULL) == -1)
        die("sigprocmask");
}

pid_t cleanup_fork(void)
{
    sigset_t old;
    cleanup_hold_signals(&old);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == -1)
        die("fork");
    if (pid == 0) {
        die_with_parent(parent);
        if (sigprocmask(SIG_SETMASK, &old, NULL) == -1)
            die_in_child("sigprocmask");
        return 0;
    }
    cleanup_add_child(pid);
    cleanup_release_signals(&old); /* a signal that came meanwhile arrives now, child known */
    return pid;
}

int cleanup_reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            die("waitpid(%ld)", (long)pid);
    cleanup_forget_child(pid);
    return status;
}
