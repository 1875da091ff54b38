/* error.h - the three ways a forklore program reports a failed call, plus bad usage.
 *
 * Every system call in forklore is checked, and a failure is reported in one line that names
 * the call and says what errno meant:  "fork_join: pipe: Too many open files".
 *
 *   die(fmt, ...)               the normal case: flush stdio, print, exit(EXIT_FAILURE).
 *   die_in_child(fmt, ...)      in a child made by fork(): print with write(2), _exit(1).
 *                               A child must not run exit(): that would flush the stdio
 *                               buffers it inherited from its parent a second time, and run
 *                               the parent's atexit handlers (which may unlink IPC objects
 *                               the parent still uses).
 *   die_with_code(err, fmt, ...) for calls that *return* an error number instead of setting
 *                               errno (pthread_*, posix_spawn): the number is passed in.
 *   usage_error(usage, fmt, ...) a bad argument: one line of reason, then the usage text, on
 *                               stderr, exit status 2 (the convention of Unix tools).
 *
 * The program name in messages comes from set_program_name(argv[0]), which main calls first.
 */
#ifndef FORKLORE_ERROR_H
#define FORKLORE_ERROR_H

#include <stdarg.h>

/* Exit status for bad usage, as grep, diff and most Unix tools use it. */
#define EXIT_USAGE 2

void set_program_name(const char *argv0);
const char *program_name(void);

_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die_in_child(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die_with_code(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A message without errno and without exiting, for a note or a warning. */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
