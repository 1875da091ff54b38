/* error.h - how a forklore program reports a failed call, plus bad usage.
 *
 * Every system call in forklore is checked, and a failure is reported in one line that names
 * the call and says what errno meant:  "fork_join: pipe: Too many open files".
 *
 *   die(fmt, ...)               print, then end the process.  In the owning process (the one
 *                               that called set_program_name or cleanup_install) it flushes
 *                               stdout first and leaves with exit(EXIT_FAILURE).  In any
 *                               other process, a child made by fork(), it leaves with
 *                               _exit(EXIT_FAILURE): a child must not run exit(), which would
 *                               flush the stdio buffers it inherited a second time and run
 *                               the parent's atexit handlers (which unlink IPC objects the
 *                               parent still uses).  So no caller has to choose.
 *   die_with_code(err, fmt, ...) the same for calls that *return* an error number instead of
 *                               setting errno (pthread_*, posix_spawn): the number is passed.
 *                               A negative err prints the message alone, for a failure that
 *                               errno does not describe.
 *   check_error_number(err, what) die_with_code(err, what) when err is not 0: the one-line
 *                               check of a pthread call.
 *   die_in_child(fmt, ...)      always the _exit path: for library code that forks workers
 *                               in a process that may never have named an owner (a test).
 *   usage_error(usage, fmt, ...) a bad argument: one line of reason, then the usage text, on
 *                               stderr, exit status 2 (the convention of Unix tools).
 *   note(fmt, ...)              a message in the same form, without errno, without exiting.
 *                               (Not called warn: that would replace glibc's warn(3), which
 *                               does append errno, in every program linked with this.)
 *
 * The program name in messages comes from set_program_name(argv[0]), which main calls first.
 * That call also makes the program safe against two things a user can do to it:
 *   - start it with descriptor 0, 1 or 2 closed (`prog >&-`): each closed one is filled with
 *     /dev/null, so no pipe or socket the program makes can land on descriptor 1;
 *   - give it an output that cannot take what it prints (`>/dev/full`, a full disk, `>&-`):
 *     at exit stdout is closed and checked, and a failure ends the program with status 1 and
 *     a message on stderr instead of the 0 that would claim it showed its results;
 *   - close the pipe it writes to (`prog | head -1`): SIGPIPE still kills it, as the shell
 *     expects, but it first says so on stderr (cleanup_install's handler does the same and
 *     also removes the run's named objects).
 */
#ifndef FORKLORE_ERROR_H
#define FORKLORE_ERROR_H

#include <stdarg.h>

/* Exit status for bad usage, as grep, diff and most Unix tools use it. */
#define EXIT_USAGE 2

/* Names the program and makes the calling process the owning one. */
void set_program_name(const char *argv0);
const char *program_name(void);

/* Make the calling process the owning one (cleanup_install does this too). */
void claim_owning_process(void);

/* 1 in the owning process, or when no process has claimed to own the program; else 0. */
int in_owning_process(void);

_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die_with_code(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void die_in_child(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void check_error_number(int err, const char *what);
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* note() for a signal handler: "NAME: text" and a newline in one write(2), no stdio, no
 * formatting (async-signal-safe). */
void note_from_signal_handler(const char *text);

/* What a program killed by SIGPIPE says first (`program | head -1`: the reader left). */
#define SIGPIPE_MESSAGE "a write found its pipe closed by the reader (SIGPIPE): stopping"

#endif
