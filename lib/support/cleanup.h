/* cleanup.h - per-run names for IPC objects, and leaving nothing behind on any exit path.
 *
 * A named IPC object (POSIX shared memory, a named semaphore, a message queue, a FIFO) outlives
 * the process that made it: if the program dies before unlinking it, the name stays in
 * /dev/shm or /dev/mqueue until reboot.  A child process left running becomes an orphan.
 * This module keeps a small registry of both and clears it:
 *   - on a normal exit (an atexit handler), and
 *   - on SIGINT, SIGTERM, SIGHUP and SIGPIPE (Ctrl-C, kill, a closed terminal, a reader that
 *     went away as in `program | head -1`): the handler kills and reaps the registered
 *     children, unlinks the registered names, then re-raises the signal so the shell still
 *     sees "killed by SIGINT" (for SIGPIPE it first says on stderr why the program stops).
 *     A program that wants EPIPE from write() instead sets SIGPIPE to SIG_IGN after
 *     cleanup_install.
 * Only the process that installed the registry acts on it: a forked child inherits the
 * registry but must leave its parent's objects alone (and leaves with _exit, never exit).
 *
 * The handler uses only async-signal-safe calls (kill, waitpid, unlink, mq_unlink's system
 * call); this is why a shared-memory name is unlinked as the file /dev/shm/NAME, which is what
 * shm_unlink() does on Linux.
 */
#ifndef FORKLORE_CLEANUP_H
#define FORKLORE_CLEANUP_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

/* Write a name unique to this run into buf: "/forklore-TAG-PID-N" (N counts up per call).
 * The leading slash is what shm_open, sem_open and mq_open expect. */
void unique_ipc_name(char *buf, size_t size, const char *tag);

/* Install the atexit handler and the signal handlers. Call once, early in main. */
void cleanup_install(void);

/* IPC_PATH is a file (a FIFO, a lock file); IPC_DIRECTORY an empty directory, removed after
 * every other name (so the files in it go first). */
enum ipc_kind { IPC_SHM, IPC_SEMAPHORE, IPC_MQUEUE, IPC_PATH, IPC_DIRECTORY };

/* Remember an object to unlink; forget it once the program has unlinked it itself. */
void cleanup_add_name(enum ipc_kind kind, const char *name);
void cleanup_forget_name(const char *name);

/* Remember a child to kill and reap if the program is interrupted; forget it once reaped. */
void cleanup_add_child(pid_t pid);
void cleanup_forget_child(pid_t pid);

/* fork() for a program that uses this registry.  The terminating signals are held from just
 * before the fork until the child is registered, so that Ctrl-C at any moment finds the child
 * in the registry (a child forked but not yet registered would outlive an interrupted
 * parent); the child calls die_with_parent before it returns 0.  Flush stdio before calling. */
pid_t cleanup_fork(void);

/* Wait for a registered child (a wait a signal interrupts is resumed), forget it, and return
 * its wait status.  A failed waitpid is fatal. */
int cleanup_reap(pid_t pid);

/* Hold SIGINT, SIGTERM and SIGHUP (the signals whose handler clears the registry) around a
 * step that must not be cut in two, such as creating an object the registry cannot remove;
 * release restores the mask saved in *old, delivering whatever came meanwhile. */
void cleanup_hold_signals(sigset_t *old);
void cleanup_release_signals(const sigset_t *old);

/* In a child, right after fork(): die with SIGKILL when the parent dies, so an interrupted
 * or crashed parent never leaves this child running as an orphan.  parent is the pid the
 * parent had before fork (if the parent died before prctl took effect, exit at once). */
void die_with_parent(pid_t parent);

/* For processes that wait on each other (a producer and its consumers around a mutex in
 * shared memory): from this call on, a child that is killed or fails ends the program at once
 * with a message, as SIGTERM would (children killed and reaped, names unlinked), instead of
 * leaving the others blocked for ever on a lock the dead one held.  A SIGCHLD handler looks
 * at the ended child without reaping it; children that exit with 0 are left to the program's
 * own wait.  Stop watching before reaping the children the ordinary way. */
void cleanup_stop_when_a_child_fails(void);
void cleanup_stop_watching_children(void);

/* Has SIGINT, SIGTERM or SIGHUP arrived?  (For programs that poll instead of dying at once.) */
int cleanup_interrupted(void);

#endif
