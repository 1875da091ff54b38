#define _GNU_SOURCE
/* shm_objects.c - named shared memory: shm_open + ftruncate + mmap between unrelated
 * processes, who unlinks it and when, SIGBUS past the object's end, /dev/shm's size, and
 * System V's shmget for comparison.
 *
 * Usage: shm_objects [--only DEMO] [--attach NAME]
 *   -o, --only DEMO    attach, unlink, sigbus, sysv or limits (default: all, in that order)
 *   -a, --attach NAME  open the object NAME, read the parent's greeting, write a reply, exit
 *                      (what the attach and unlink demos exec this program as)
 *   -h, --help         this text
 *
 * What to observe:
 *   - attach: the parent creates /forklore-shm-PID-N (O_CREAT | O_EXCL, mode 0600), sizes it
 *     with ftruncate, maps it and writes a greeting.  Then it starts this program again
 *     (fork + exec): a new program image that shares nothing with the parent but the name.  It
 *     opens the object, reads the greeting, writes a reply.  The name is visible as a file,
 *     /dev/shm/forklore-shm-PID-N, until the parent unlinks it.
 *   - unlink: the parent unlinks the name at once, keeping its mapping.  The mapping still
 *     works and a forked child (which inherits it) still shares it, but a program that comes
 *     by name finds nothing (ENOENT).  Unlink as soon as everyone has attached: then even a
 *     SIGKILL leaves no object behind.
 *   - sigbus: the object is one page, the mapping two.  Touching the second page is not a
 *     segmentation fault (the address is mapped) but SIGBUS: no page of the object backs it.
 *     The same happens when someone shrinks the object (ftruncate) under a mapping.
 *   - sysv: shmget(IPC_PRIVATE) + shmat, marked for removal (IPC_RMID) right after attaching:
 *     the segment lives until the last process detaches.  It has no name in any folder, no
 *     file descriptor, its own limits (/proc/sys/kernel/shm*), and it outlives every process
 *     if nobody removes it (ipcs -m lists such leftovers).
 *   - limits: /dev/shm is a tmpfs with a size; a full one makes writes into a mapping fail
 *     with SIGBUS.  Docker gives a container 64 MiB unless run with --shm-size.
 *   - The program exits 0 when every demo saw what it predicts, 1 otherwise.
 *
 * Python counterpart: multiprocessing.shared_memory.SharedMemory(name=..., create=True,
 *   size=...) is shm_open + ftruncate + mmap (names like /psm_1a2b3c4d); .close() is munmap,
 *   .unlink() is shm_unlink.  Its resource tracker unlinks what a program forgot, with a
 *   warning (see lessons/02b-shared-memory.md).  System V has no standard-library wrapper.
 *
 * See also: shared_mapping.c, ../queues/shm_queue.c, shm_overview(7), shm_open(3), mmap(2)
 *   (SIGBUS), shmget(2), shmctl(2), lessons/02b-shared-memory.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/error.h"
#include "support/full_io.h"
#include "support/parse.h"

static const char usage[] =
    "Usage: shm_objects [--only DEMO] [--attach NAME]\n"
    "  -o, --only DEMO    attach, unlink, sigbus, sysv or limits (default: all)\n"
    "  -a, --attach NAME  open the object NAME, read the greeting, write a reply, exit\n"
    "  -h, --help         this text\n";

/* The layout both sides agree on: the only contract between unrelated processes. */
struct mailbox {
    char greeting[64];
    char reply[64];
};

/* How a child ended, in words. */
static void say_status(const char *demo, const char *who, int status)
{
    if (WIFSIGNALED(status))
        printf("[%s] %s killed by signal %d (%s)\n", demo, who, WTERMSIG(status),
               strsignal(WTERMSIG(status)));
    else
        printf("[%s] %s exited with %d\n", demo, who, WEXITSTATUS(status));
}

/* Does /dev/shm/NAME exist?  (On Linux a POSIX object's name is a file there.) */
static int name_visible(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "/dev/shm%s", name);
    struct stat st;
    return stat(path, &st) == 0;
}

/* Create a new object of `size` bytes and map it; registered for clean-up at once. */
static struct mailbox *create_mailbox(char *name, size_t name_size)
{
    unique_ipc_name(name, name_size, "shm");
    cleanup_add_name(IPC_SHM, name); /* before shm_open: a Ctrl-C just after it is covered */
    /* O_EXCL: never open someone else's object by accident; 0600: nobody else may open ours. */
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd == -1) {
        cleanup_forget_name(name); /* not made by us: not ours to unlink */
        die("shm_open(%s)", name);
    }
    if (ftruncate(fd, sizeof(struct mailbox)) == -1) /* a new object has size 0 */
        die("ftruncate");
    struct mailbox *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        die("mmap");
    close_or_die(fd); /* the mapping holds the object; the descriptor is no longer needed */
    return m;
}

static void remove_name(const char *name)
{
    if (shm_unlink(name) == -1)
        die("shm_unlink(%s)", name);
    cleanup_forget_name(name);
}

/* ---- The attaching side: a separate program that knows only the name ------------------- */

static int attach_and_reply(const char *name)
{
    int fd = shm_open(name, O_RDWR, 0);
    if (fd == -1) {
        printf("[attach %ld] shm_open(%s): %s\n", (long)getpid(), name, strerror(errno));
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) == -1) /* never trust the size: map only what the object has */
        die("fstat");
    if ((size_t)st.st_size < sizeof(struct mailbox)) {
        printf("[attach %ld] %s has %lld bytes, fewer than a mailbox\n", (long)getpid(), name,
               (long long)st.st_size);
        return 1;
    }
    struct mailbox *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        die("mmap");
    close_or_die(fd);
    printf("[attach %ld] opened %s by name, read \"%s\"\n", (long)getpid(), name, m->greeting);
    snprintf(m->reply, sizeof m->reply, "hello back from pid %ld", (long)getpid());
    if (munmap(m, sizeof *m) == -1)
        die("munmap");
    return 0;
}

/* A child registered for Ctrl-C before any signal can arrive, dying with its parent. */
static pid_t start_child(void)
{
    fflush(stdout); /* else the child inherits unflushed output and prints it again */
    return cleanup_fork();
}

/* Start this program again as `shm_objects --attach NAME`: exec, so that nothing is inherited
 * but the open files (none of them the object) and the name on the command line. */
static pid_t spawn_attacher(const char *name)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n == -1)
        die("readlink(/proc/self/exe)");
    self[n] = '\0';
    pid_t pid = start_child();
    if (pid == 0) {
        char *args[] = {self, "--attach", (char *)name, NULL};
        execv(self, args);
        die_in_child("execv(%s)", self);
    }
    return pid;
}

static int demo_attach(void)
{
    printf("-- attach: an unrelated program opens the object by its name\n");
    char name[96];
    struct mailbox *m = create_mailbox(name, sizeof name);
    snprintf(m->greeting, sizeof m->greeting, "hello from pid %ld", (long)getpid());
    printf("[attach] created %s (%zu bytes); /dev/shm%s exists: %s\n", name, sizeof *m, name,
           name_visible(name) ? "yes" : "no");
    int status = cleanup_reap(spawn_attacher(name));
    say_status("attach", "the attaching program", status);
    printf("[attach] the reply in shared memory: \"%s\"\n", m->reply);
    int ok =
        WIFEXITED(status) && WEXITSTATUS(status) == 0 && strncmp(m->reply, "hello back", 10) == 0;
    if (munmap(m, sizeof *m) == -1)
        die("munmap");
    remove_name(name); /* the last user is done: the name goes, and with it the memory */
    printf("[attach] after shm_unlink: /dev/shm%s exists: %s\n", name,
           name_visible(name) ? "yes" : "no");
    ok &= !name_visible(name);
    return ok;
}

static int demo_unlink(void)
{
    printf("-- unlink: the name removed at once, the mapping kept\n");
    char name[96];
    struct mailbox *m = create_mailbox(name, sizeof name);
    remove_name(name);
    snprintf(m->greeting, sizeof m->greeting, "written after the unlink");
    printf("[unlink] unlinked %s; /dev/shm%s exists: %s; our mapping still reads \"%s\"\n", name,
           name, name_visible(name) ? "yes" : "no", m->greeting);
    int by_name = cleanup_reap(spawn_attacher(name)); /* expected to fail: ENOENT */
    say_status("unlink", "a program coming by name", by_name);
    pid_t pid = start_child(); /* a child inherits the mapping itself: no name needed */
    if (pid == 0) {
        snprintf(m->reply, sizeof m->reply, "forked child %ld was here", (long)getpid());
        _exit(0);
    }
    int forked = cleanup_reap(pid);
    printf("[unlink] a forked child wrote through the inherited mapping: \"%s\"\n", m->reply);
    int ok = WIFEXITED(by_name) && WEXITSTATUS(by_name) == 1 && WIFEXITED(forked) &&
             WEXITSTATUS(forked) == 0 && strncmp(m->reply, "forked child", 12) == 0;
    if (munmap(m, sizeof *m) == -1) /* the last mapping goes: now the memory is freed */
        die("munmap");
    return ok;
}

/* A child that touches `offset` in `map`: it lives or dies by SIGBUS. */
static int touch_in_child(volatile char *map, size_t offset)
{
    pid_t pid = start_child();
    if (pid == 0) {
        signal(SIGBUS, SIG_DFL); /* a SIGBUS handler inherited from a caller would hide it */
        map[offset] = 1;
        _exit(0);
    }
    return cleanup_reap(pid);
}

static int demo_sigbus(void)
{
    printf("-- sigbus: a mapping longer than the object\n");
    long page = sysconf(_SC_PAGESIZE);
    char name[96];
    unique_ipc_name(name, sizeof name, "shm");
    cleanup_add_name(IPC_SHM, name); /* before shm_open, as in create_mailbox */
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd == -1) {
        cleanup_forget_name(name);
        die("shm_open(%s)", name);
    }
    if (ftruncate(fd, page) == -1) /* one page of object... */
        die("ftruncate");
    char *map = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) /* ...two pages of mapping: mmap does not check */
        die("mmap");
    int first = touch_in_child(map, 0);
    say_status("sigbus", "a child touching byte 0 (page 1 of 1)", first);
    int second = touch_in_child(map, (size_t)page);
    char who[96];
    snprintf(who, sizeof who, "a child touching byte %ld (past the object's end)", page);
    say_status("sigbus", who, second);
    if (ftruncate(fd, 0) == -1) /* someone shrinks the object under our mapping */
        die("ftruncate");
    int shrunk = touch_in_child(map, 0);
    say_status("sigbus", "after ftruncate(0), a child touching byte 0", shrunk);
    close_or_die(fd);
    if (munmap(map, 2 * (size_t)page) == -1)
        die("munmap");
    remove_name(name);
    return WIFEXITED(first) && WEXITSTATUS(first) == 0 && WIFSIGNALED(second) &&
           WTERMSIG(second) == SIGBUS && WIFSIGNALED(shrunk) && WTERMSIG(shrunk) == SIGBUS;
}

/* Print one of /proc/sys/kernel/shm{max,all,mni}. */
static void print_sysv_limit(const char *file, const char *meaning)
{
    char path[64], value[64] = "?";
    snprintf(path, sizeof path, "/proc/sys/kernel/%s", file);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(value, sizeof value, f))
            snprintf(value, sizeof value, "?");
        value[strcspn(value, "\n")] = '\0';
        fclose(f);
    }
    printf("[sysv] %s = %s (%s)\n", file, value, meaning);
}

static int demo_sysv(void)
{
    printf("-- sysv: shmget + shmat, marked for removal at once\n");
    /* The cleanup registry cannot remove a System V id on Ctrl-C: block the terminating
     * signals from shmget until IPC_RMID, so no interruption can leave a segment behind. */
    sigset_t old;
    cleanup_hold_signals(&old);
    int id = shmget(IPC_PRIVATE, sizeof(struct mailbox), IPC_CREAT | 0600);
    if (id == -1)
        die("shmget");
    struct mailbox *m = shmat(id, NULL, 0);
    int attach_err = m == (void *)-1 ? errno : 0;
    if (shmctl(id, IPC_RMID, NULL) == -1) /* gone once the last process detaches */
        die("shmctl(IPC_RMID)");
    cleanup_release_signals(&old);
    if (attach_err) {
        errno = attach_err;
        die("shmat");
    }
    struct shmid_ds ds;
    if (shmctl(id, IPC_STAT, &ds) == -1)
        die("shmctl(IPC_STAT)");
    printf("[sysv] segment id %d, %zu bytes, attached %lu time(s), marked for removal: %s\n", id,
           (size_t)ds.shm_segsz, (unsigned long)ds.shm_nattch,
           ds.shm_perm.mode & SHM_DEST ? "yes" : "no");
    pid_t pid = start_child(); /* fork keeps System V attachments too */
    if (pid == 0) {
        snprintf(m->reply, sizeof m->reply, "child %ld wrote this", (long)getpid());
        _exit(0);
    }
    int status = cleanup_reap(pid);
    printf("[sysv] the parent reads \"%s\"\n", m->reply);
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && strncmp(m->reply, "child ", 6) == 0;
    if (shmdt(m) == -1) /* the last detach: the kernel frees the segment now */
        die("shmdt");
    ok &= shmctl(id, IPC_STAT, &ds) == -1; /* EINVAL or EIDRM: no such segment any more */
    printf("[sysv] after the last shmdt, IPC_STAT on id %d: %s\n", id,
           ok ? "no such segment" : "still there");
    print_sysv_limit("shmmax", "largest segment, bytes");
    print_sysv_limit("shmall", "all segments together, pages");
    print_sysv_limit("shmmni", "segments on the system");
    return ok;
}

static int demo_limits(void)
{
    printf("-- limits: /dev/shm is a tmpfs with a size\n");
    struct statvfs fs;
    if (statvfs("/dev/shm", &fs) == -1) {
        printf("[limits] statvfs(/dev/shm): %s: POSIX shared memory needs it mounted\n",
               strerror(errno));
        return 0;
    }
    double mib = 1024.0 * 1024.0;
    double size = (double)fs.f_blocks * (double)fs.f_frsize / mib;
    double avail = (double)fs.f_bavail * (double)fs.f_frsize / mib;
    printf("[limits] /dev/shm: %.0f MiB, %.0f MiB free\n", size, avail);
    printf("[limits] %s\n", size <= 64.5 ? "64 MiB or less: Docker's default; run the container "
                                           "with --shm-size=1g for bigger objects"
                                         : "ftruncate past the free space succeeds; the write "
                                           "that finds no page left gets SIGBUS");
    return 1;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    const char *attach = NULL;
    int chosen = -1; /* one demonstration, or -1 for all */
    static const char *const demos[] = {"attach", "unlink", "sigbus", "sysv", "limits", NULL};
    static const struct option options[] = {{"only", required_argument, 0, 'o'},
                                            {"attach", required_argument, 0, 'a'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:a:h", options, NULL)) != -1) {
        switch (c) {
        case 'o': chosen = parse_choice(optarg, "--only", demos, usage); break;
        case 'a': attach = optarg; break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    if (attach) /* the other program: it owns nothing, so it installs no clean-up */
        return attach_and_reply(attach);
    static int (*const runs[])(void) = {demo_attach, demo_unlink, demo_sigbus, demo_sysv,
                                        demo_limits};
    cleanup_install(); /* Ctrl-C kills the children and unlinks the names */
    printf("shm_objects: pid %ld, page size %ld bytes\n", (long)getpid(), sysconf(_SC_PAGESIZE));
    int ok = 1;
    for (int d = 0; d < 5; d++)
        if (chosen < 0 || chosen == d)
            ok &= runs[d]();
    return ok ? 0 : 1;
}
