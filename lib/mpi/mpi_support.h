/* mpi_support.h - what every forklore MPI program would otherwise repeat: start MPI with
 * errors returned instead of fatal, check every call, meet a bad command line on every rank
 * at once, and wait for a message without holding a CPU.
 *
 * The one-machine programs use lib/support/ (error.h, parse.h, clock.h): these programs
 * do too, and this module adds only what MPI changes.
 *
 *   mpi_start            MPI_Init, then MPI_ERRORS_RETURN on MPI_COMM_WORLD: a failed call
 *                        returns a code we check (the default handler, MPI_ERRORS_ARE_FATAL,
 *                        would end the job without saying which call of ours failed)
 *   mpi_check            a failed call: print it with the rank and MPI's own words, then
 *                        MPI_Abort the whole job (one rank cannot leave alone: the others
 *                        would wait for it for ever)
 *   mpi_abort            the same for a failure of our own (a watchdog, a wrong answer)
 *   mpi_parse_options    run a program's getopt parser on every rank (they all hold the same
 *                        argv, so they reach the same verdict), rank 0 alone printing; a
 *                        usage error or --help ends every rank cleanly with exit status 2 or
 *                        0 (MPI_Finalize, then exit), not with MPI_Abort and its banner
 *   mpi_wait_message     wait for a message by probing, sleeping between probes: MPI_Recv
 *                        never sleeps in MPICH or Open MPI, it polls at 100% CPU
 *
 * See also: lib/support/error.h, lessons/10-mpi.md.
 */
#ifndef FORKLORE_MPI_SUPPORT_H
#define FORKLORE_MPI_SUPPORT_H

#include <mpi.h>

/* Who this process is in MPI_COMM_WORLD, and where it runs. */
struct mpi_world {
    int rank, size;
    char host[MPI_MAX_PROCESSOR_NAME];
};

/* MPI_Init, errors returned, rank, size and host name.  Also: this rank dies with the process
 * that started it (the launcher's proxy), so a killed mpiexec leaves no rank running. */
void mpi_start(int *argc, char ***argv, struct mpi_world *world);

/* MPI_Finalize (every rank must call it before it returns from main). */
void mpi_finish(void);

/* code != MPI_SUCCESS: "PROGRAM: rank R: WHAT: MPI's message", then MPI_Abort(.., 1). */
void mpi_check(int code, const char *what);

/* "PROGRAM: rank R: message", then MPI_Abort(MPI_COMM_WORLD, exit_code). */
_Noreturn void mpi_abort(int exit_code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Call parse(argc, argv, options) on every rank.  On ranks other than 0 stdout and stderr
 * point at /dev/null meanwhile, so a usage error (parse.h's usage_error, exit status 2) or
 * --help (exit 0) is printed once; the exit then finalizes MPI (an atexit handler), so every
 * rank leaves cleanly with the same status and the launcher returns it. */
void mpi_parse_options(const struct mpi_world *world, void (*parse)(int, char **, void *), int argc,
                       char **argv, void *options);

/* Wait until a message from source with tag can be received (MPI_ANY_SOURCE and MPI_ANY_TAG
 * allowed): probe for 50 us, then sleep between probes, 10 us doubling to 1 ms.  Returns 0
 * with *status filled, or -1 if timeout_s (> 0) passed first; timeout_s <= 0 waits for ever. */
int mpi_wait_message(MPI_Comm comm, int source, int tag, double timeout_s, MPI_Status *status);

#endif
