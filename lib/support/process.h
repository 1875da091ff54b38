/* process.h - the process idiom every forklore program follows, written once.
 *
 * Lesson 1 shows the bare calls (fflush, fork, prctl, waitpid, the W* macros); from then on
 * a program writes these instead:
 *
 *   start_child()            fork() with the house rules: flush stdout first (else the child
 *                            inherits the unwritten output and prints it again); in the child,
 *                            die with the parent (no orphan if the parent is killed); in the
 *                            parent, register the child with cleanup.h, so that Ctrl-C kills
 *                            and reaps it.  Returns like fork(): 0 in the child, the pid in
 *                            the parent; a failed fork ends the program.
 *   leave_child(code)        how a child ends: flush its own output, then _exit(code), never
 *                            exit() (the parent's atexit handlers are not the child's).
 *   wait_for_child(pid)      waitpid() until that child has ended (again after EINTR), then
 *                            forget it in cleanup.h: its raw wait status.
 *   reap_child(pid, role)    wait_for_child, and on stderr one line when it failed ("worker
 *                            4242 killed by signal 9 (Killed)"): 1 if it failed, else 0.
 *   reap_group(pids, n, role) for workers that wait on each other (a barrier, a condition, a
 *                            lock in shared memory): reap them in the order they end, and at
 *                            the first that fails, say so and SIGKILL the rest, which would
 *                            otherwise wait for it for ever.  Returns how many failed (the
 *                            stopped ones included); 0 means every one exited with 0 and the
 *                            shared objects may be destroyed - after a failure they may not
 *                            (a destroy can block on a waiter that died mid-call).
 *   report_child(pid, role)  wait_for_child, and on stdout how it ended, whatever it was
 *                            ("[parent 4241] writer 4242 killed by signal 13 (Broken pipe)"):
 *                            its raw wait status, for the caller to judge.
 *   child_succeeded(status)  did it exit, with status 0?
 *   describe_status(status)  a wait status in words, into a buffer the caller gives.
 *   say(fmt, ...)            one line on stdout, "[pid N] ..." with one write(2), so lines
 *                            from several processes never mix and stdio buffers play no part.
 *
 * Python's multiprocessing does the same behind Process.start(), join() and exitcode.
 */
#ifndef FORKLORE_PROCESS_H
#define FORKLORE_PROCESS_H

#include <stddef.h>
#include <sys/types.h>

/* Room for any describe_status() text. */
enum { STATUS_TEXT_SIZE = 96 };

pid_t start_child(void);
_Noreturn void leave_child(int code);
int wait_for_child(pid_t pid);
int reap_child(pid_t pid, const char *role);
int reap_group(const pid_t pids[], int n, const char *role);
int report_child(pid_t pid, const char *role);
int child_succeeded(int status);
const char *describe_status(int status, char *buf, size_t size);
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
