/* mpi_support.c - see mpi_support.h. */
#define _GNU_SOURCE
#include "mpi/mpi_support.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/clock.h"
#include "support/error.h"
#include "support/full_io.h"

static int my_rank = -1;

/* Registered by mpi_start: a usage error or --help exits through exit(), and a rank that
 * exits without MPI_Finalize is reported by the launcher as a failed job (MPICH prints its
 * "BAD TERMINATION" banner).  Finalizing here makes every such exit a clean one. */
static void finalize_at_exit(void)
{
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (initialized && !finalized)
        MPI_Finalize();
}

void mpi_start(int *argc, char ***argv, struct mpi_world *world)
{
    set_program_name((*argv)[0]);
    /* A rank is a child of the launcher (mpiexec, or MPICH's per-host proxy): if that dies
     * (kill -9, a closed ssh session), nobody else would ever end this rank. */
    die_with_parent(getppid());
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        fprintf(stderr, "%s: MPI_Init failed\n", program_name());
        exit(EXIT_FAILURE);
    }
    if (atexit(finalize_at_exit) != 0)
        die("atexit");
    /* From here on a failed call returns its code to us instead of ending the job silently. */
    mpi_check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN),
              "MPI_Comm_set_errhandler");
    mpi_check(MPI_Comm_rank(MPI_COMM_WORLD, &world->rank), "MPI_Comm_rank");
    mpi_check(MPI_Comm_size(MPI_COMM_WORLD, &world->size), "MPI_Comm_size");
    int length = 0;
    mpi_check(MPI_Get_processor_name(world->host, &length), "MPI_Get_processor_name");
    my_rank = world->rank;
}

void mpi_finish(void)
{
    fflush(NULL);
    mpi_check(MPI_Finalize(), "MPI_Finalize");
}

_Noreturn void mpi_abort(int exit_code, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "%s: rank %d: %s\n", program_name(), my_rank, message);
    fflush(stderr);
    /* Our stderr is a pipe to the launcher, which copies it to the terminal; MPI_Abort makes
     * the launcher kill everything at once, and a message still in that pipe can be lost with
     * it (seen with MPICH under load).  A moment's grace lets the message through first. */
    sleep_ns(200 * 1000 * 1000);
    /* Ends every rank of the job, on every host: the launcher kills the others. */
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    _exit(exit_code); /* MPI_Abort does not return; this line only tells the compiler so */
}

void mpi_check(int code, const char *what)
{
    if (code == MPI_SUCCESS)
        return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS)
        snprintf(text, sizeof text, "error code %d", code);
    mpi_abort(EXIT_FAILURE, "%s: %s", what, text);
}

void mpi_parse_options(const struct mpi_world *world, void (*parse)(int, char **, void *), int argc,
                       char **argv, void *options)
{
    if (world->rank == 0) {
        parse(argc, argv, options);
        return;
    }
    /* The same parse, silenced: its verdict (and exit status) is rank 0's. */
    fflush(NULL);
    int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
    int null = open("/dev/null", O_WRONLY);
    if (saved_out == -1 || saved_err == -1 || null == -1)
        die("dup or open /dev/null");
    if (dup2(null, STDOUT_FILENO) == -1 || dup2(null, STDERR_FILENO) == -1)
        die("dup2");
    parse(argc, argv, options);
    fflush(NULL);
    if (dup2(saved_out, STDOUT_FILENO) == -1 || dup2(saved_err, STDERR_FILENO) == -1)
        die("dup2");
    close_or_die(saved_out);
    close_or_die(saved_err);
    close_or_die(null);
}

int mpi_wait_message(MPI_Comm comm, int source, int tag, double timeout_s, MPI_Status *status)
{
    int64_t start = monotonic_ns(), sleep = 10000; /* ns */
    for (;;) {
        int ready = 0;
        mpi_check(MPI_Iprobe(source, tag, comm, &ready, status), "MPI_Iprobe");
        if (ready)
            return 0;
        int64_t waited = monotonic_ns() - start;
        if (timeout_s > 0 && waited > (int64_t)(timeout_s * 1e9))
            return -1;
        /* The answer usually comes within microseconds during a job: keep probing for a
         * moment.  Longer than that, sleep between probes, so that a waiting rank gives its
         * CPU to the ranks that compute (the pool's workers sleep in a futex the same way). */
        if (waited > 50000) {
            sleep_ns(sleep);
            sleep = sleep < 1000000 ? sleep * 2 : 1000000;
        }
    }
}
