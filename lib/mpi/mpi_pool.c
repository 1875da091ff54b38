/* mpi_pool.c - see mpi_pool.h.  The master's loop, the worker's loop, and the messages
 * between them. */
#define _GNU_SOURCE
#include "mpi/mpi_pool.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi/mpi_support.h"
#include "support/clock.h"
#include "support/error.h"

/* Message tags: the kind of message, so a receiver can tell them apart before reading. */
enum { TAG_TASK = 1, TAG_DONE, TAG_RESULT, TAG_REPORT };

/* A task message is this header followed by arg_size bytes; a result message this header
 * followed by result_size bytes.  Plain bytes (MPI_BYTE): every rank is the same program on
 * the same kind of machine.  (Across unlike machines one would describe the layout with an
 * MPI datatype, and MPI would convert it.) */
struct task_header {
    uint64_t index;
};
struct result_header {
    uint64_t index;
    int32_t error;
    uint32_t size;
};

/* One pool_map call's state on the master. */
struct master {
    MPI_Comm comm;
    int size;
    const struct mpi_pool_options *o;
    mpi_task_fn fn;
    const unsigned char *args;
    size_t arg_size, count, result_size, next, received;
    unsigned char *results, *message;
    int *errors, *in_flight, failed, reports_due;
    struct mpi_pool_report *report;
};

/* --- running one task, on any rank ------------------------------------------------------ */

static int run_task(mpi_task_fn fn, const void *arg, size_t arg_size, void *result,
                    size_t *result_size, struct mpi_rank_report *me)
{
    int64_t start = monotonic_ns(), cpu = thread_cpu_ns();
    int error = fn(arg, arg_size, result, result_size);
    if (me->tasks++ == 0)
        me->start_ns = start;
    me->end_ns = monotonic_ns();
    me->cpu_ns += thread_cpu_ns() - cpu;
    return error;
}

/* Who this rank is, for the report: its pid and its host. */
static void identify(struct mpi_rank_report *me)
{
    char host[MPI_MAX_PROCESSOR_NAME];
    int length = 0;
    mpi_check(MPI_Get_processor_name(host, &length), "MPI_Get_processor_name");
    snprintf(me->host, sizeof me->host, "%.63s", host);
    me->pid = getpid();
}

/* --- the master --------------------------------------------------------------------------- */

static void send_task(struct master *m, int worker)
{
    struct task_header h = {m->next};
    memcpy(m->message, &h, sizeof h);
    memcpy(m->message + sizeof h, m->args + m->next * m->arg_size, m->arg_size);
    /* A small message: MPI sends it eagerly (buffered), so this returns at once even if the
     * worker is busy, and master and worker never wait for each other here. */
    mpi_check(
        MPI_Send(m->message, (int)(sizeof h + m->arg_size), MPI_BYTE, worker, TAG_TASK, m->comm),
        "MPI_Send (task)");
    m->next++;
    m->in_flight[worker]++;
}

/* Tasks left: the worker gets the next one.  None left and nothing in flight: it is told
 * to stop and answers with its report. */
static void feed(struct master *m, int worker)
{
    if (m->next < m->count)
        send_task(m, worker);
    else if (m->in_flight[worker] == 0)
        mpi_check(MPI_Send(NULL, 0, MPI_BYTE, worker, TAG_DONE, m->comm), "MPI_Send (done)");
}

static void store_result(struct master *m, const struct result_header *h, const void *bytes)
{
    if (h->index >= m->count || h->size > m->result_size)
        mpi_abort(EXIT_FAILURE, "a result for task %llu of %zu, %u bytes: not ours",
                  (unsigned long long)h->index, m->count, h->size);
    memcpy(m->results + h->index * m->result_size, bytes, h->size);
    if (m->errors)
        m->errors[h->index] = h->error;
    m->failed |= h->error != 0;
    m->received++;
}

/* A message is waiting (status says from whom and what): receive it and answer it. */
static void handle(struct master *m, const MPI_Status *status)
{
    int worker = status->MPI_SOURCE;
    if (status->MPI_TAG == TAG_REPORT) {
        struct mpi_rank_report r;
        mpi_check(MPI_Recv(&r, sizeof r, MPI_BYTE, worker, TAG_REPORT, m->comm, MPI_STATUS_IGNORE),
                  "MPI_Recv (report)");
        if (m->report && worker < MPI_POOL_MAX_RANKS)
            m->report->rank[worker] = r;
        m->reports_due--;
        return;
    }
    struct result_header h;
    mpi_check(MPI_Recv(m->message, (int)(sizeof h + m->result_size), MPI_BYTE, worker, TAG_RESULT,
                       m->comm, MPI_STATUS_IGNORE),
              "MPI_Recv (result)");
    memcpy(&h, m->message, sizeof h);
    store_result(m, &h, m->message + sizeof h);
    m->in_flight[worker]--;
    feed(m, worker); /* dynamic scheduling: whoever answers first gets the next task */
}

/* The watchdog fired: say who owes what, then end the whole job. */
static _Noreturn void give_up(const struct master *m)
{
    char owing[256] = "";
    size_t used = 0;
    for (int w = 1; w < m->size && used < sizeof owing - 32; w++)
        if (m->in_flight[w] > 0)
            used += (size_t)snprintf(owing + used, sizeof owing - used, " %d (%d task(s))", w,
                                     m->in_flight[w]);
    mpi_abort(3,
              "watchdog: no message from any worker for %g s; %zu of %zu results in; "
              "waiting for rank(s)%s; aborting the job",
              m->o->timeout_s, m->received, m->count, used ? owing : " (reports only)");
}

static void master_loop(struct master *m)
{
    struct mpi_rank_report *me = m->report ? &m->report->rank[0] : &(struct mpi_rank_report){0};
    unsigned char *result = malloc(m->result_size ? m->result_size : 1);
    if (!result)
        mpi_abort(EXIT_FAILURE, "malloc: out of memory");
    identify(me);
    /* The first hand-out: `ahead` tasks to every worker, or a stop if there is nothing. */
    for (int round = 0; round < m->o->ahead; round++)
        for (int w = 1; w < m->size; w++)
            if (m->next < m->count)
                send_task(m, w);
    for (int w = 1; w < m->size; w++)
        if (m->in_flight[w] == 0)
            feed(m, w);
    while (m->received < m->count || m->reports_due > 0) {
        MPI_Status status;
        int waiting = 0;
        mpi_check(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, m->comm, &waiting, &status),
                  "MPI_Iprobe");
        if (waiting) {
            handle(m, &status); /* answer a worker first: it may be idle */
        } else if (m->o->master_works && m->next < m->count) {
            struct task_header h = {m->next++};
            size_t size = m->result_size;
            int error =
                run_task(m->fn, m->args + h.index * m->arg_size, m->arg_size, result, &size, me);
            store_result(m, &(struct result_header){h.index, error, (uint32_t)size}, result);
        } else if (mpi_wait_message(m->comm, MPI_ANY_SOURCE, MPI_ANY_TAG, m->o->timeout_s,
                                    &status) == 0) {
            handle(m, &status);
        } else {
            give_up(m);
        }
    }
    free(result);
}

/* --- a worker --------------------------------------------------------------------------- */

static _Noreturn void fail_on_purpose(int rank, uint64_t task, enum mpi_pool_failure how)
{
    fprintf(stderr, "%s: rank %d (pid %d): --fail-rank: %s at task %llu\n", program_name(), rank,
            (int)getpid(),
            how == MPI_POOL_FAIL_KILL ? "killing itself (SIGKILL)" : "stops answering (hangs)",
            (unsigned long long)task);
    fflush(stderr);
    if (how == MPI_POOL_FAIL_KILL)
        raise(SIGKILL); /* as the OOM killer would: no goodbye, no MPI_Finalize */
    for (;;)
        pause(); /* alive but silent: only the master's watchdog can notice */
}

static void worker_loop(MPI_Comm comm, int rank, mpi_task_fn fn, size_t arg_size,
                        size_t result_size, const struct mpi_pool_options *o)
{
    struct result_header h;
    size_t task_bytes = sizeof(struct task_header) + arg_size,
           result_bytes = sizeof h + result_size;
    unsigned char *task = malloc(task_bytes), *message = malloc(result_bytes);
    if (!task || !message)
        mpi_abort(EXIT_FAILURE, "malloc: out of memory");
    struct mpi_rank_report me = {0};
    identify(&me);
    for (;;) {
        MPI_Status status;
        /* Between jobs a worker may wait long: sleep between probes rather than spin. */
        mpi_wait_message(comm, 0, MPI_ANY_TAG, 0, &status);
        if (status.MPI_TAG == TAG_DONE) {
            mpi_check(MPI_Recv(NULL, 0, MPI_BYTE, 0, TAG_DONE, comm, MPI_STATUS_IGNORE),
                      "MPI_Recv (done)");
            break;
        }
        mpi_check(MPI_Recv(task, (int)task_bytes, MPI_BYTE, 0, TAG_TASK, comm, MPI_STATUS_IGNORE),
                  "MPI_Recv (task)");
        struct task_header t;
        memcpy(&t, task, sizeof t);
        if (rank == o->fail_rank)
            fail_on_purpose(rank, t.index, o->fail_how);
        size_t size = result_size;
        h.error = run_task(fn, task + sizeof t, arg_size, message + sizeof h, &size, &me);
        h.index = t.index;
        h.size = (uint32_t)size;
        memcpy(message, &h, sizeof h);
        mpi_check(MPI_Send(message, (int)(sizeof h + size), MPI_BYTE, 0, TAG_RESULT, comm),
                  "MPI_Send (result)");
    }
    mpi_check(MPI_Send(&me, sizeof me, MPI_BYTE, 0, TAG_REPORT, comm), "MPI_Send (report)");
    free(task);
    free(message);
}

/* --- the call ------------------------------------------------------------------------------ */

enum mpi_pool_failure mpi_pool_parse_failure(const char *text, const char *usage)
{
    if (strcmp(text, "kill") == 0)
        return MPI_POOL_FAIL_KILL;
    if (strcmp(text, "hang") == 0)
        return MPI_POOL_FAIL_HANG;
    usage_error(usage, "--fail-how: expected kill or hang, got \"%s\"", text);
}

void mpi_pool_check_options(const struct mpi_pool_options *options, const char *usage)
{
    int size;
    mpi_check(MPI_Comm_size(MPI_COMM_WORLD, &size), "MPI_Comm_size");
    if (options->fail_rank >= size)
        usage_error(usage, "--fail-rank=%d: the workers are ranks 1 to %d", options->fail_rank,
                    size - 1);
    if (!options->master_works && size < 2)
        usage_error(usage, "--idle-master: needs at least 2 ranks (mpiexec -n 2 or more)");
}

int mpi_pool_map(MPI_Comm comm, mpi_task_fn fn, const void *args, size_t arg_size, size_t count,
                 void *results, size_t result_size, int *errors,
                 const struct mpi_pool_options *options, struct mpi_pool_report *report)
{
    struct mpi_pool_options o = *options;
    o.ahead = o.ahead > 0 ? o.ahead : 2;
    int rank, size;
    mpi_check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
    mpi_check(MPI_Comm_size(comm, &size), "MPI_Comm_size");
    if (size > MPI_POOL_MAX_RANKS)
        mpi_abort(EXIT_FAILURE, "%d ranks: at most %d", size, MPI_POOL_MAX_RANKS);
    if (rank != 0) {
        worker_loop(comm, rank, fn, arg_size, result_size, &o);
        return 0;
    }
    if (size == 1)
        o.master_works = 1; /* alone, the master must do everything itself */
    struct master m = {.comm = comm,
                       .size = size,
                       .o = &o,
                       .fn = fn,
                       .args = args,
                       .arg_size = arg_size,
                       .count = count,
                       .result_size = result_size,
                       .results = results,
                       .errors = errors,
                       .reports_due = size - 1,
                       .report = report};
    size_t bytes = sizeof(struct task_header) + arg_size;
    if (bytes < sizeof(struct result_header) + result_size)
        bytes = sizeof(struct result_header) + result_size;
    m.message = malloc(bytes);
    m.in_flight = calloc((size_t)size, sizeof *m.in_flight);
    if (!m.message || !m.in_flight)
        mpi_abort(EXIT_FAILURE, "malloc: out of memory");
    if (report)
        memset(report, 0, sizeof *report);
    double start = MPI_Wtime();
    master_loop(&m);
    if (report) {
        report->seconds = MPI_Wtime() - start;
        report->ranks = size;
    }
    free(m.message);
    free(m.in_flight);
    return m.failed ? EIO : 0;
}
