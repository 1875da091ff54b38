/* pool.c - see pool.h.  A pool of pre-forked workers sharing an array of task slots.
 *
 * The shared mapping (anonymous, MAP_SHARED, made before the first fork):
 *   control   sequence words the workers and the parent sleep on (futex), the stop flag
 *   slots[S]  one chunk each: a header (state word, function, sizes, range still to run)
 *             then max_chunk entries (done flag, error, result size, crashes; argument bytes;
 *             result bytes)
 *
 * A slot's state word moves EMPTY -> QUEUED -> RUNNING(w) -> DONE -> EMPTY.  The parent alone
 * writes EMPTY, QUEUED and the slot's contents; a worker moves QUEUED -> RUNNING(w) with a
 * compare-and-swap that names itself, and RUNNING(w) -> DONE with a plain store, after a
 * per-task done flag for each task it finished.  There is no lock and no claimed-but-unnamed
 * moment: a worker killed at any instant leaves either a QUEUED slot (someone else takes it),
 * a RUNNING(w) slot whose owner the parent can name once it has reaped w, or a DONE slot.
 * After a death the parent keeps the finished tasks of the slot (their done flags), and puts
 * the slot back to QUEUED from the task that was running (retry) or the one after it (failed).
 */
#define _GNU_SOURCE
#include "pool/pool.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/clock.h"
#include "support/cpus.h"

/* How often the parent checks for dead workers while it waits (a death wakes no futex). */
#define REAP_INTERVAL_NS 5000000LL
/* Exit status of a worker whose initializer failed: the pool cannot work, it is broken. */
#define EXIT_INITIALIZER 3
/* How long a worker or the parent keeps looking before it sleeps in the kernel, when there is
 * more than one CPU (on one CPU, spinning only delays the process it waits for).  A futex
 * wake-up costs tens of microseconds on a virtual machine; a refill by the other side, one or
 * two.  Spinning a little longer than a refill turns most sleeps into nothing. */
#define SPIN_NS 50000LL

enum { PHASE_EMPTY, PHASE_QUEUED, PHASE_RUNNING, PHASE_DONE };
#define STATE(phase, worker) ((uint32_t)(phase) | ((uint32_t)(worker) << 2))
#define PHASE_OF(state) ((state)&3u)
#define WORKER_OF(state) ((state) >> 2)

/* Each group on its own cache line: workers bump work_seq's line, the parent done_seq's. */
struct control {
    _Alignas(64) _Atomic uint32_t work_seq; /* bumped when slots are queued or on stop */
    _Atomic uint32_t sleepers;              /* workers asleep (or about to be) on work_seq */
    _Atomic uint32_t stop;                  /* 1: idle workers leave */
    _Alignas(64) _Atomic uint32_t hint;     /* where the last claim was: start looking there */
    /* Slots QUEUED and not yet claimed, or more (a hint, never less: the parent counts a slot
     * before it stores QUEUED, a worker uncounts it after its claim).  An idle worker looks at
     * this one word, not at every slot: each slot header is on a page of its own, and a forked
     * worker's first look at a page is a page fault, so 1024 workers scanning 4096 idle slots
     * cost four million faults (pool_create at 1024 workers took seconds, almost all kernel). */
    _Atomic int32_t queued;
    _Alignas(64) _Atomic uint32_t done_seq; /* bumped when a slot is DONE */
    _Atomic uint32_t parent_waiting;        /* 1: the parent sleeps on done_seq */
};

struct slot_header {
    _Alignas(64) _Atomic uint32_t state;
    int32_t worker_pid;    /* who ran it (set before DONE) */
    uint32_t start, count; /* entries [start, count) are still to run */
    pool_task_fn fn;
    uint64_t arg_size, result_size;
};

struct entry_header {
    _Atomic uint32_t done; /* 1: error and result are written */
    int32_t error;
    uint32_t result_size;
    uint32_t crashes;         /* workers that died running it (the parent's count) */
    int64_t start_ns, end_ns; /* the worker's clock around the call; end 0: never returned */
};

struct pool_job; /* a map, an imap or a future: where delivered results go */

struct slot_owner {
    struct pool_job *job; /* NULL: the slot is free (EMPTY) */
    size_t first;         /* the job's index of entry 0 */
};

struct worker {
    struct pool *pool;
    int index, alive;
    pid_t pid;             /* process mode */
    pthread_t thread;      /* thread mode */
    _Atomic pid_t tid;     /* thread mode: set by the thread */
    _Atomic int exited;    /* thread mode: the thread has returned */
    _Atomic int exit_code; /* thread mode: 0, or EXIT_INITIALIZER */
};

struct pool {
    int threaded, nworkers, nslots;
    int64_t spin_ns;        /* how long a waiter may spin: SPIN_NS, or 0 on one CPU */
    int64_t parent_spin_ns; /* what the parent spins now: adapts to how long it waits */
    struct pool_options o;
    size_t arg_room, entry_stride, slot_stride, map_size;
    unsigned char *map;
    struct control *ctl;
    struct slot_owner *owners;
    struct worker *workers;
    struct pool_job *jobs_head, *jobs_tail;
    int closed, terminated, broken;
    int64_t last_reap_ns;
    struct pool_stats stats;
    /* Every worker that ever ran, in the order they started (pool_worker_history). */
    struct pool_worker_span *history;
    size_t history_count, history_room;
    size_t *current_span; /* per worker index: its entry in history */
};

enum job_kind { JOB_MAP, JOB_IMAP, JOB_FUTURE };

struct pool_job {
    struct pool *pool;
    struct pool_job *prev, *next;
    int listed, orphaned;
    enum job_kind kind;
    pool_task_fn fn;
    const unsigned char *args;
    size_t arg_size, result_size, count, chunk, next_submit, delivered, failed;
    unsigned char *results;
    struct pool_outcome *outcomes;
    size_t *ready, ready_head, ready_tail; /* imap and future: delivered, not yet read */
    void *owned[4];                        /* buffers the job allocated */
};

struct pool_iter {
    struct pool_job job;
};
struct pool_future {
    struct pool_job job;
};

/* --- small helpers -------------------------------------------------------------------- */

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

static void futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns)
{
    struct timespec ts = {(time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000)};
    /* EAGAIN (the word changed), EINTR and ETIMEDOUT all mean: look again. */
    syscall(SYS_futex, word, FUTEX_WAIT, expected, timeout_ns >= 0 ? &ts : NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word, int count)
{
    syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("pause");
#endif
}

/* Spin while *word == value, for at most limit_ns.  Returns 1 if the word changed. */
static int spin_while_equal(_Atomic uint32_t *word, uint32_t value, int64_t limit_ns)
{
    if (limit_ns <= 0)
        return atomic_load(word) != value;
    int64_t until = monotonic_ns() + limit_ns;
    for (;;) {
        for (int i = 0; i < 64; i++) {
            if (atomic_load_explicit(word, memory_order_acquire) != value)
                return 1;
            cpu_relax();
        }
        if (monotonic_ns() >= until)
            return 0;
        /* Give the CPU away if someone else wants it here: with more processes than CPUs,
         * the one we wait for may be queued behind our spinning. */
        sched_yield();
    }
}

static struct slot_header *slot_at(const struct pool *p, int i)
{
    return (struct slot_header *)(p->map + round_up(sizeof(struct control), 64) +
                                  (size_t)i * p->slot_stride);
}

static struct entry_header *entry_at(const struct pool *p, struct slot_header *s, size_t i)
{
    return (struct entry_header *)((unsigned char *)s + sizeof *s + i * p->entry_stride);
}

static unsigned char *entry_arg(struct entry_header *e)
{
    return (unsigned char *)(e + 1);
}
static unsigned char *entry_result(const struct pool *p, struct entry_header *e)
{
    return entry_arg(e) + p->arg_room;
}

/* --- the worker's side ------------------------------------------------------------------ */

/* Fault injection: die here with probability fault_rate (processes only). */
static void maybe_die(const struct pool *p, uint64_t *rng)
{
    if (p->o.fault_rate <= 0 || p->threaded)
        return;
    *rng ^= *rng << 13; /* xorshift64: each worker its own stream, no shared state */
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    if ((double)(*rng >> 11) / 9007199254740992.0 < p->o.fault_rate)
        kill(getpid(), SIGKILL);
}

/* Claim the first QUEUED slot from the hint on; the CAS writes our index into the state. */
static struct slot_header *scan_and_claim(struct pool *p, uint32_t index)
{
    if (atomic_load(&p->ctl->queued) <= 0)
        return NULL; /* nothing queued: no need to look (see control.queued) */
    uint32_t n = (uint32_t)p->nslots;
    uint32_t h = atomic_load_explicit(&p->ctl->hint, memory_order_relaxed) % n;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = h + k < n ? h + k : h + k - n;
        struct slot_header *s = slot_at(p, (int)i);
        uint32_t st = atomic_load_explicit(&s->state, memory_order_relaxed);
        if (PHASE_OF(st) != PHASE_QUEUED)
            continue;
        /* acquire: the parent's writes of the slot's contents happened before QUEUED. */
        if (atomic_compare_exchange_strong_explicit(&s->state, &st, STATE(PHASE_RUNNING, index),
                                                    memory_order_acquire, memory_order_relaxed)) {
            atomic_store_explicit(&p->ctl->hint, i + 1 == n ? 0 : i + 1, memory_order_relaxed);
            atomic_fetch_sub(&p->ctl->queued, 1);
            return s;
        }
    }
    return NULL;
}

/* Wait for a slot: look, spin a little, then sleep on work_seq.  NULL: the pool stops. */
static struct slot_header *claim(struct pool *p, uint32_t index)
{
    for (;;) {
        uint32_t seq = atomic_load(&p->ctl->work_seq);
        struct slot_header *s = scan_and_claim(p, index);
        if (s)
            return s;
        if (atomic_load(&p->ctl->stop))
            return NULL;
        if (spin_while_equal(&p->ctl->work_seq, seq, p->spin_ns))
            continue;
        /* Announce the sleep, then sleep only if work_seq has not moved since we looked:
         * the parent bumps work_seq after queueing and wakes when it sees a sleeper. */
        atomic_fetch_add(&p->ctl->sleepers, 1);
        futex_wait(&p->ctl->work_seq, seq, -1);
        atomic_fetch_sub(&p->ctl->sleepers, 1);
    }
}

/* Run the slot's tasks; publish each result with its done flag, then the slot with DONE. */
static void run_chunk(struct pool *p, struct slot_header *s, uint32_t index, pid_t self,
                      uint64_t *rng)
{
    maybe_die(p, rng); /* claimed, nothing run: the parent must put the slot back */
    for (uint32_t i = s->start; i < s->count; i++) {
        struct entry_header *e = entry_at(p, s, i);
        size_t size = (size_t)s->result_size;
        e->start_ns = monotonic_ns(); /* the task's span: CLOCK_MONOTONIC is one clock for all */
        int err = s->fn(entry_arg(e), (size_t)s->arg_size, entry_result(p, e), &size);
        e->end_ns = monotonic_ns();  /* published with the result by the release store below */
        if (size > s->result_size) { /* the task wrote past its room: report, never trust */
            size = (size_t)s->result_size;
            err = err ? err : EMSGSIZE;
        }
        e->error = err;
        e->result_size = (uint32_t)size;
        maybe_die(p, rng); /* result written, not flagged: the parent must not deliver it */
        atomic_store_explicit(&e->done, 1, memory_order_release);
        maybe_die(p, rng); /* between tasks: keep the finished ones, rerun the rest */
    }
    s->worker_pid = (int32_t)self;
    atomic_store_explicit(&s->state, STATE(PHASE_DONE, index), memory_order_release);
    maybe_die(p, rng); /* DONE but the parent not woken: it finds the slot on its next look */
    atomic_fetch_add(&p->ctl->done_seq, 1);
    if (atomic_load(&p->ctl->parent_waiting))
        futex_wake(&p->ctl->done_seq, 1);
}

/* The loop of every worker, process or thread: claim, run, until stopped or recycled. */
static void worker_main(struct pool *p, uint32_t index, pid_t self)
{
    uint64_t rng = ((uint64_t)p->o.fault_seed * 0x9E3779B97F4A7C15ull) ^ (uint64_t)self ^
                   ((uint64_t)(index + 1) << 32);
    rng = rng ? rng : 1;
    long chunks = 0;
    for (;;) {
        struct slot_header *s = claim(p, index);
        if (!s)
            return;
        run_chunk(p, s, index, self, &rng);
        if (p->o.max_tasks_per_worker && ++chunks >= p->o.max_tasks_per_worker)
            return; /* maxtasksperchild: leave; the parent forks a fresh worker */
    }
}

static _Noreturn void worker_process(struct pool *p, int index, pid_t parent)
{
    die_with_parent(parent); /* a pool worker without its pool is an orphan: die with it */
    if (p->o.initializer && p->o.initializer(p->o.initializer_arg) != 0)
        _exit(EXIT_INITIALIZER);
    worker_main(p, (uint32_t)index, getpid());
    _exit(0); /* never exit(): the parent's atexit handlers and stdio buffers are not ours */
}

static void *worker_thread(void *arg)
{
    struct worker *w = arg;
    struct pool *p = w->pool;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    atomic_store(&w->tid, tid);
    int code = 0;
    if (p->o.initializer && p->o.initializer(p->o.initializer_arg) != 0)
        code = EXIT_INITIALIZER;
    else
        worker_main(p, (uint32_t)w->index, tid);
    atomic_store(&w->exit_code, code);
    atomic_store(&w->exited, 1);
    atomic_fetch_add(&p->ctl->done_seq, 1); /* let the parent notice at once */
    futex_wake(&p->ctl->done_seq, 1);
    return NULL;
}

/* --- the parent's side: workers ----------------------------------------------------------- */

/* A new entry in the worker history for worker index i (pid filled in by the caller). */
static int history_open(struct pool *p, int i)
{
    if (p->history_count == p->history_room) {
        size_t room = p->history_room ? 2 * p->history_room : 2 * (size_t)p->nworkers;
        struct pool_worker_span *more = realloc(p->history, room * sizeof *more);
        if (!more)
            return ENOMEM;
        p->history = more;
        p->history_room = room;
    }
    p->current_span[i] = p->history_count;
    p->history[p->history_count++] =
        (struct pool_worker_span){0, i, monotonic_ns(), 0, POOL_WORKER_RUNNING, 0, 0};
    return 0;
}

/* Worker i has ended (reaped or joined) in this way. */
static void history_close(struct pool *p, int i, enum pool_worker_end how, int status)
{
    struct pool_worker_span *span = &p->history[p->current_span[i]];
    if (p->threaded)
        span->pid = atomic_load(&p->workers[i].tid);
    span->end_ns = monotonic_ns();
    span->end = how;
    span->status = status;
}

static int spawn_worker(struct pool *p, int i)
{
    struct worker *w = &p->workers[i];
    int err = history_open(p, i);
    if (err)
        return err;
    w->pool = p;
    w->index = i;
    atomic_store(&w->exited, 0);
    if (p->threaded) {
        err = pthread_create(&w->thread, NULL, worker_thread, w);
        if (err) {
            p->history_count--; /* it never ran */
            return err;
        }
    } else {
        if (fflush(NULL) == EOF) /* else the child inherits unwritten buffers, writes them too */
            return errno;
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid == -1) {
            p->history_count--;
            return errno;
        }
        if (pid == 0)
            worker_process(p, i, parent);
        cleanup_add_child(pid); /* Ctrl-C: the cleanup handler kills and reaps it */
        w->pid = pid;
        p->history[p->current_span[i]].pid = pid;
    }
    w->alive = 1;
    p->stats.workers_started++;
    return 0;
}

static void wake_workers(struct pool *p, int count)
{
    atomic_fetch_add(&p->ctl->work_seq, 1);
    if (atomic_load(&p->ctl->sleepers) > 0)
        futex_wake(&p->ctl->work_seq, count);
}

/* --- the parent's side: delivering results ------------------------------------------------ */

static void job_unlink(struct pool *p, struct pool_job *j)
{
    if (!j->listed)
        return;
    *(j->prev ? &j->prev->next : &p->jobs_head) = j->next;
    *(j->next ? &j->next->prev : &p->jobs_tail) = j->prev;
    j->listed = 0;
}

static void job_free(struct pool_job *j)
{
    for (int i = 0; i < 4; i++)
        free(j->owned[i]);
    free(j);
}

/* Once every task of a job is delivered, the pool forgets it (and frees it if orphaned). */
static void job_maybe_finished(struct pool *p, struct pool_job *j)
{
    if (j->delivered == j->count && j->next_submit == j->count) {
        job_unlink(p, j);
        if (j->orphaned)
            job_free(j);
    }
}

/* One task's fate reaches its job: exactly once per task, only ever from here (or from the
 * fast path of deliver_range, which does the same for a run of successful map results). */
static void deliver(struct pool *p, struct pool_job *j, size_t index, int status, int error,
                    pid_t worker, int attempts, const void *result, size_t size,
                    const struct entry_header *ran)
{
    if (j->outcomes)
        j->outcomes[index] = (struct pool_outcome){index,
                                                   status,
                                                   error,
                                                   worker,
                                                   attempts,
                                                   status == POOL_TASK_OK ? size : 0,
                                                   ran ? ran->start_ns : 0,
                                                   ran ? ran->end_ns : 0};
    if (j->results && status != POOL_TASK_CANCELLED && status != POOL_TASK_WORKER_DIED)
        memcpy(j->results + index * j->result_size, result, size);
    if (j->ready)
        j->ready[j->ready_tail++] = index;
    j->failed += status != POOL_TASK_OK;
    j->delivered++;
    p->stats.tasks_done += status == POOL_TASK_OK || status == POOL_TASK_ERROR;
    job_maybe_finished(p, j);
}

static void deliver_entry(struct pool *p, int slot, size_t i, pid_t worker)
{
    struct slot_header *s = slot_at(p, slot);
    struct entry_header *e = entry_at(p, s, i);
    struct slot_owner *o = &p->owners[slot];
    deliver(p, o->job, o->first + i, e->error ? POOL_TASK_ERROR : POOL_TASK_OK, e->error, worker,
            (int)e->crashes + 1, entry_result(p, e), e->result_size, e);
}

/* Deliver entries [from, to) of a slot.  A pool_map without outcomes only needs the result
 * bytes: copy a run of successful results in one tight loop, then the rest one by one. */
static void deliver_range(struct pool *p, int slot, uint32_t from, uint32_t to, pid_t worker)
{
    struct slot_owner *o = &p->owners[slot];
    struct pool_job *j = o->job;
    if (!j->outcomes && !j->ready) {
        struct slot_header *s = slot_at(p, slot);
        uint32_t t = from;
        for (; t < to; t++) {
            struct entry_header *e = entry_at(p, s, t);
            if (e->error)
                break; /* the slow path records it */
            if (j->results)
                memcpy(j->results + (o->first + t) * j->result_size, entry_result(p, e),
                       e->result_size);
        }
        j->delivered += t - from;
        p->stats.tasks_done += t - from;
        from = t;
        if (from == to) {
            job_maybe_finished(p, j);
            return;
        }
    }
    for (; from < to; from++)
        deliver_entry(p, slot, from, worker);
}

static void free_slot(struct pool *p, int slot)
{
    p->owners[slot].job = NULL;
    atomic_store_explicit(&slot_at(p, slot)->state, STATE(PHASE_EMPTY, 0), memory_order_relaxed);
}

/* Take every DONE slot's results.  Returns how many slots were collected. */
static int collect(struct pool *p)
{
    int collected = 0;
    for (int i = 0; i < p->nslots; i++) {
        if (!p->owners[i].job)
            continue;
        struct slot_header *s = slot_at(p, i);
        if (PHASE_OF(atomic_load_explicit(&s->state, memory_order_acquire)) != PHASE_DONE)
            continue;
        deliver_range(p, i, s->start, s->count, s->worker_pid);
        free_slot(p, i);
        collected++;
    }
    return collected;
}

/* Fill free slots with the next chunks of the oldest jobs.  Returns how many were filled.
 * The lowest free slots first: the same few slots again and again, their pages mapped. */
static int submit_pending(struct pool *p)
{
    int filled = 0;
    struct pool_job *j = p->jobs_head;
    for (int i = 0; i < p->nslots; i++) {
        while (j && j->next_submit == j->count)
            j = j->next;
        if (!j)
            break;
        if (p->owners[i].job)
            continue;
        struct slot_header *s = slot_at(p, i);
        size_t n = j->count - j->next_submit < j->chunk ? j->count - j->next_submit : j->chunk;
        s->fn = j->fn;
        s->arg_size = j->arg_size;
        s->result_size = j->result_size;
        s->start = 0;
        s->count = (uint32_t)n;
        for (size_t t = 0; t < n; t++) {
            struct entry_header *e = entry_at(p, s, t);
            atomic_store_explicit(&e->done, 0, memory_order_relaxed);
            e->crashes = 0;
            e->start_ns = e->end_ns = 0;
            memcpy(entry_arg(e), j->args + (j->next_submit + t) * j->arg_size, j->arg_size);
        }
        p->owners[i] = (struct slot_owner){j, j->next_submit};
        j->next_submit += n;
        /* release: a worker that sees QUEUED sees everything written above, the count too */
        atomic_fetch_add(&p->ctl->queued, 1);
        atomic_store_explicit(&s->state, STATE(PHASE_QUEUED, 0), memory_order_release);
        filled++;
    }
    if (filled)
        wake_workers(p, filled);
    return filled;
}

/* A dead worker held slot `slot`: keep its finished tasks, retry or fail the one it was
 * running, and queue the rest again. */
static void repair_slot(struct pool *p, int slot, pid_t dead, int status)
{
    struct slot_header *s = slot_at(p, slot);
    uint32_t k = s->start;
    while (k < s->count && atomic_load_explicit(&entry_at(p, s, k)->done, memory_order_acquire))
        deliver_entry(p, slot, k++, dead);
    if (k < s->count) {
        struct entry_header *e = entry_at(p, s, k);
        e->crashes++;
        if (p->o.on_crash == POOL_RETRY_ONCE && e->crashes < 2 && !p->terminated) {
            p->stats.tasks_retried++;
        } else {
            p->stats.tasks_lost++;
            e->end_ns = 0; /* it never returned: the span ends with its worker */
            deliver(p, p->owners[slot].job, p->owners[slot].first + k, POOL_TASK_WORKER_DIED,
                    status, dead, (int)e->crashes, NULL, 0, e);
            k++;
        }
    }
    if (k == s->count) {
        free_slot(p, slot);
        return;
    }
    s->start = k;
    if (p->terminated) { /* nobody will run them: cancel what is left */
        for (; k < s->count; k++)
            deliver(p, p->owners[slot].job, p->owners[slot].first + k, POOL_TASK_CANCELLED, 0, 0,
                    (int)entry_at(p, s, k)->crashes, NULL, 0, NULL);
        free_slot(p, slot);
        return;
    }
    atomic_fetch_add(&p->ctl->queued, 1);
    atomic_store_explicit(&s->state, STATE(PHASE_QUEUED, 0), memory_order_release);
    wake_workers(p, 1);
}

/* Worker i is gone (reaped): repair what it held, count why it left, replace it. */
static void worker_gone(struct pool *p, int i, int status)
{
    struct worker *w = &p->workers[i];
    pid_t dead = p->threaded ? atomic_load(&w->tid) : w->pid;
    w->alive = 0;
    int held = 0;
    for (int slot = 0; slot < p->nslots; slot++) {
        uint32_t st = atomic_load(&slot_at(p, slot)->state);
        if (p->owners[slot].job && PHASE_OF(st) == PHASE_RUNNING && WORKER_OF(st) == (uint32_t)i) {
            repair_slot(p, slot, dead, status);
            held++;
        }
    }
    int clean_exit = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    enum pool_worker_end how = POOL_WORKER_EXITED;
    if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_INITIALIZER) {
        p->broken = 1;
        how = POOL_WORKER_DIED;
    } else if (held || !clean_exit) {
        p->stats.worker_deaths++;
        how = POOL_WORKER_DIED;
    } else if (!atomic_load(&p->ctl->stop)) {
        p->stats.workers_recycled++;
        how = POOL_WORKER_RECYCLED;
    }
    history_close(p, i, how, status);
    if (p->broken || p->terminated || atomic_load(&p->ctl->stop))
        return;
    size_t gone = p->current_span[i];
    int err = spawn_worker(p, i);
    if (err)
        p->broken = err; /* cannot replace it: stop rather than run short for ever */
    else
        p->history[gone].replaced_by = p->history[p->current_span[i]].pid; /* 0 for a thread
                                                                            * not yet started */
}

/* Reap the workers that have ended (never blocks).  Returns how many. */
static int reap_dead(struct pool *p)
{
    int reaped = 0;
    for (int i = 0; i < p->nworkers; i++) {
        struct worker *w = &p->workers[i];
        if (!w->alive)
            continue;
        int status = 0;
        if (p->threaded) {
            if (!atomic_load(&w->exited))
                continue;
            pthread_join(w->thread, NULL);
            status = atomic_load(&w->exit_code) << 8; /* as a wait status: exited with code */
        } else {
            pid_t r = waitpid(w->pid, &status, WNOHANG);
            if (r == 0 || (r == -1 && errno == EINTR))
                continue;
            if (r == -1)
                status = 0x7f00; /* someone else reaped it (wait(-1) elsewhere): exit 127 */
            cleanup_forget_child(w->pid);
        }
        worker_gone(p, i, status);
        reaped++;
    }
    return reaped;
}

/* Every task not yet delivered becomes CANCELLED.  The workers must all be gone. */
static void cancel_all(struct pool *p)
{
    for (int i = 0; i < p->nslots; i++) {
        if (!p->owners[i].job)
            continue;
        struct slot_header *s = slot_at(p, i);
        uint32_t st = atomic_load(&s->state);
        for (uint32_t t = s->start; t < s->count; t++) {
            struct entry_header *e = entry_at(p, s, t);
            if (PHASE_OF(st) == PHASE_DONE ||
                (PHASE_OF(st) == PHASE_RUNNING && atomic_load(&e->done)))
                deliver_entry(p, i, t, s->worker_pid);
            else
                deliver(p, p->owners[i].job, p->owners[i].first + t, POOL_TASK_CANCELLED, 0, 0,
                        (int)e->crashes, NULL, 0, NULL);
        }
        free_slot(p, i);
    }
    for (struct pool_job *j = p->jobs_head, *next; j; j = next) {
        next = j->next;
        size_t from = j->next_submit;
        j->next_submit = j->count;
        for (size_t t = from; t < j->count; t++)
            deliver(p, j, t, POOL_TASK_CANCELLED, 0, 0, 0, NULL, 0, NULL);
    }
}

/* Stop every worker now and reap it. */
static void stop_workers_now(struct pool *p)
{
    atomic_store(&p->ctl->stop, 1);
    wake_workers(p, INT_MAX);
    for (int i = 0; i < p->nworkers; i++) {
        struct worker *w = &p->workers[i];
        if (!w->alive)
            continue;
        if (p->threaded) {
            /* A thread cannot be killed: cancel it at its next cancellation point (a sleep,
             * a read) or wait until its task returns. */
            pthread_cancel(w->thread);
            pthread_join(w->thread, NULL);
        } else {
            kill(w->pid, SIGKILL);
            while (waitpid(w->pid, NULL, 0) == -1 && errno == EINTR)
                continue;
            cleanup_forget_child(w->pid);
        }
        history_close(p, i, POOL_WORKER_STOPPED, 0);
        w->alive = 0;
    }
}

/* --- the parent's side: waiting ------------------------------------------------------------ */

static int in_flight(const struct pool *p)
{
    for (int i = 0; i < p->nslots; i++)
        if (p->owners[i].job)
            return 1;
    return 0;
}

/* Sleep until a worker publishes a slot, the deadline, or the next check for dead workers.
 *
 * The parent spins first only while spinning pays.  With tiny tasks a result comes within
 * the spin and the futex round trip is saved.  With long tasks every spin runs out, and a
 * spinning parent takes CPU time from the workers it waits for (on k CPUs with k workers it
 * is a k+1th process).  So: after a spin that ran out, the parent sleeps straight away; a
 * sleep that ends within SPIN_NS shows results come fast again, and spinning resumes. */
static void wait_for_done(struct pool *p, uint32_t seq, int64_t deadline)
{
    if (p->parent_spin_ns > 0) {
        if (spin_while_equal(&p->ctl->done_seq, seq, p->parent_spin_ns))
            return;
        p->parent_spin_ns = 0;
    }
    int64_t timeout = REAP_INTERVAL_NS;
    if (deadline >= 0) {
        int64_t left = deadline - monotonic_ns();
        timeout = left < timeout ? (left > 0 ? left : 0) : timeout;
    }
    int64_t slept_from = monotonic_ns();
    atomic_store(&p->ctl->parent_waiting, 1);
    futex_wait(&p->ctl->done_seq, seq, timeout);
    atomic_store(&p->ctl->parent_waiting, 0);
    if (monotonic_ns() - slept_from < p->spin_ns)
        p->parent_spin_ns = p->spin_ns;
}

/* The parent's loop: collect, refill, reap, wait, until ready(arg) or the timeout. */
static int pump(struct pool *p, int (*ready)(const struct pool_job *), const struct pool_job *j,
                int64_t timeout_ns)
{
    int64_t deadline = timeout_ns < 0 ? -1 : monotonic_ns() + timeout_ns;
    for (;;) {
        uint32_t seq = atomic_load(&p->ctl->done_seq);
        int moved = collect(p) + submit_pending(p);
        if (ready(j))
            return 0;
        int64_t now = monotonic_ns();
        if (now - p->last_reap_ns >= REAP_INTERVAL_NS || p->threaded) {
            p->last_reap_ns = now;
            moved += reap_dead(p);
        }
        if (p->broken) { /* an initializer failed: nothing will ever run */
            stop_workers_now(p);
            p->terminated = p->closed = 1;
            cancel_all(p);
            return ECHILD;
        }
        if (deadline >= 0 && now >= deadline)
            return ETIMEDOUT;
        if (moved)
            continue;
        if (!in_flight(p))
            return EDEADLK; /* nothing queued can make ready() true: a bug, not a wait */
        wait_for_done(p, seq, deadline);
    }
}

/* --- creating ------------------------------------------------------------------------------ */

static int check_options(const struct pool_options *o)
{
    if (o->workers < 0 || o->workers > POOL_MAX_WORKERS || o->slots < 0 ||
        o->slots > POOL_MAX_SLOTS || o->max_chunk > POOL_MAX_CHUNK ||
        o->max_arg_size > POOL_MAX_PAYLOAD || o->max_result_size > POOL_MAX_PAYLOAD ||
        o->max_tasks_per_worker < 0 || !(o->fault_rate >= 0 && o->fault_rate <= 1) ||
        (o->on_crash != POOL_RETRY_ONCE && o->on_crash != POOL_REPORT_FAILED))
        return EINVAL;
    return 0;
}

static int create(struct pool **out, const struct pool_options *options, int threaded)
{
    if (!out)
        return EINVAL;
    *out = NULL;
    struct pool_options o = {0};
    if (options)
        o = *options;
    int err = check_options(&o);
    if (err)
        return err;
    o.workers = o.workers ? o.workers : usable_cpu_count();
    o.max_arg_size = o.max_arg_size ? o.max_arg_size : 64;
    o.max_result_size = o.max_result_size ? o.max_result_size : 64;
    o.max_chunk = o.max_chunk ? o.max_chunk : 1024;
    /* Enough chunks in flight that the parent refills in batches, not one chunk per wake-up
     * (measured in lessons/08-process-pool.md); they are shared, so no worker hoards work. */
    o.slots = o.slots ? o.slots : (4 * o.workers > 32 ? 4 * o.workers : 32);
    if (o.slots < 2)
        o.slots = 2; /* one running, one queued behind it */
    struct pool *p = calloc(1, sizeof *p);
    if (!p)
        return ENOMEM;
    p->threaded = threaded;
    p->o = o;
    p->nworkers = o.workers;
    p->nslots = o.slots;
    p->spin_ns = usable_cpu_count() > 1 ? SPIN_NS : 0;
    p->parent_spin_ns = p->spin_ns;
    p->arg_room = round_up(o.max_arg_size, 8);
    p->entry_stride = sizeof(struct entry_header) + p->arg_room + round_up(o.max_result_size, 8);
    p->slot_stride = round_up(sizeof(struct slot_header) + o.max_chunk * p->entry_stride, 64);
    p->map_size = round_up(sizeof(struct control), 64) + (size_t)o.slots * p->slot_stride;
    p->owners = calloc((size_t)o.slots, sizeof *p->owners);
    p->workers = calloc((size_t)o.workers, sizeof *p->workers);
    p->current_span = calloc((size_t)o.workers, sizeof *p->current_span);
    if (!p->owners || !p->workers || !p->current_span) {
        free(p->owners);
        free(p->workers);
        free(p->current_span);
        free(p);
        return ENOMEM;
    }
    /* Anonymous and shared, made before any fork: every worker inherits it, and no name
     * exists anywhere, so nothing can be left in /dev/shm whatever happens. */
    p->map = mmap(NULL, p->map_size, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p->map == MAP_FAILED) {
        err = errno;
        free(p->owners);
        free(p->workers);
        free(p->current_span);
        free(p);
        return err;
    }
    p->ctl = (struct control *)p->map;
    for (int i = 0; i < o.workers; i++)
        if ((err = spawn_worker(p, i)) != 0) {
            pool_destroy(p);
            return err;
        }
    p->last_reap_ns = monotonic_ns();
    *out = p;
    return 0;
}

int pool_create(struct pool **pool, const struct pool_options *options)
{
    return create(pool, options, 0);
}

int pool_create_threaded(struct pool **pool, const struct pool_options *options)
{
    return create(pool, options, 1);
}

size_t pool_auto_chunk_size(size_t count, int workers)
{
    size_t per = 4 * (size_t)(workers > 0 ? workers : 1);
    size_t chunk = count / per + (count % per != 0); /* Python: divmod, +1 if any remainder */
    return chunk ? chunk : 1;
}

/* --- jobs -------------------------------------------------------------------------------- */

static int job_check(struct pool *p, pool_task_fn fn, const void *args, size_t arg_size,
                     size_t count, size_t result_size, size_t chunk_size)
{
    if (!p || !fn || (count && arg_size && !args) || chunk_size > p->o.max_chunk)
        return EINVAL;
    if (arg_size > p->o.max_arg_size || result_size > p->o.max_result_size)
        return EMSGSIZE;
    if (p->broken)
        return ECHILD;
    if (p->closed)
        return EPIPE;
    return 0;
}

static void job_start(struct pool *p, struct pool_job *j)
{
    j->pool = p;
    if (j->chunk == 0) {
        j->chunk = pool_auto_chunk_size(j->count, p->nworkers);
        if (j->chunk > p->o.max_chunk)
            j->chunk = p->o.max_chunk; /* the slots cannot hold more: documented in pool.h */
    }
    j->prev = p->jobs_tail;
    j->next = NULL;
    *(p->jobs_tail ? &p->jobs_tail->next : &p->jobs_head) = j;
    p->jobs_tail = j;
    j->listed = 1;
    submit_pending(p);
}

static int job_done(const struct pool_job *j)
{
    return j->delivered == j->count;
}
static int job_has_ready(const struct pool_job *j)
{
    return j->ready_head < j->ready_tail || j->delivered == j->count;
}
static int no_jobs(const struct pool_job *j)
{
    return j->pool->jobs_head == NULL;
}

int pool_map(struct pool *pool, pool_task_fn fn, const void *args, size_t arg_size, size_t count,
             void *results, size_t result_size, size_t chunk_size, struct pool_outcome *outcomes)
{
    int err = job_check(pool, fn, args, arg_size, count, result_size, chunk_size);
    if (err || count == 0)
        return err;
    if (result_size && !results)
        return EINVAL;
    struct pool_job j = {.kind = JOB_MAP,
                         .fn = fn,
                         .args = args,
                         .arg_size = arg_size,
                         .result_size = result_size,
                         .count = count,
                         .chunk = chunk_size,
                         .results = results,
                         .outcomes = outcomes};
    job_start(pool, &j);
    err = pump(pool, job_done, &j, -1);
    if (j.listed) { /* cannot happen (pump returns once all is delivered); never dangle */
        job_unlink(pool, &j);
        return err ? err : EDEADLK;
    }
    if (err)
        return err;
    return j.failed ? EIO : 0;
}

/* A job whose buffers the pool owns: imap and future. */
static struct pool_job *job_alloc(size_t count, size_t result_size, size_t arg_bytes)
{
    /* A struct pool_iter or pool_future is a job and nothing more (the job is its first
     * member), so the handle the caller gets is this very allocation. */
    struct pool_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    size_t room = count ? count : 1; /* calloc(0) may return NULL */
    /* Zeroed: a task that failed or whose worker died writes no result, and the caller may
     * still copy its slot out; it must read zeros there, never uninitialised bytes. */
    j->owned[0] = j->results = calloc(1, room * result_size + 1);
    j->owned[1] = j->outcomes = calloc(room, sizeof *j->outcomes);
    j->owned[2] = j->ready = calloc(room, sizeof *j->ready);
    j->owned[3] = arg_bytes ? malloc(arg_bytes) : NULL;
    if (!j->results || !j->outcomes || !j->ready || (arg_bytes && !j->owned[3])) {
        job_free(j);
        return NULL;
    }
    j->result_size = result_size;
    j->count = count;
    return j;
}

int pool_imap_unordered(struct pool *pool, pool_task_fn fn, const void *args, size_t arg_size,
                        size_t count, size_t result_size, size_t chunk_size,
                        struct pool_iter **iter)
{
    if (!iter)
        return EINVAL;
    *iter = NULL;
    int err = job_check(pool, fn, args, arg_size, count, result_size, chunk_size);
    if (err)
        return err;
    struct pool_job *j = job_alloc(count, result_size, 0);
    if (!j)
        return ENOMEM;
    j->kind = JOB_IMAP;
    j->fn = fn;
    j->args = args;
    j->arg_size = arg_size;
    j->chunk = chunk_size;
    if (count)
        job_start(pool, j);
    else
        j->pool = pool;
    *iter = (struct pool_iter *)j;
    return 0;
}

/* Hand out the oldest delivered, unread result of a job. */
static void take_ready(struct pool_job *j, struct pool_outcome *outcome, void *result)
{
    size_t index = j->ready[j->ready_head++];
    if (outcome)
        *outcome = j->outcomes[index];
    if (result && j->result_size)
        memcpy(result, j->results + index * j->result_size, j->result_size);
}

int pool_iter_next(struct pool_iter *iter, struct pool_outcome *outcome, void *result,
                   int64_t timeout_ns)
{
    if (!iter)
        return EINVAL;
    struct pool_job *j = &iter->job;
    if (j->ready_head == j->ready_tail && j->delivered < j->count) {
        if (!j->pool)
            return EPIPE;
        int err = pump(j->pool, job_has_ready, j, timeout_ns);
        if (err && j->ready_head == j->ready_tail)
            return err;
    }
    if (j->ready_head == j->ready_tail)
        return EPIPE; /* every result has been read */
    take_ready(j, outcome, result);
    return 0;
}

/* The handle goes; tasks not yet submitted never will be; those in flight are discarded. */
static void job_release(struct pool_job *j)
{
    if (!j)
        return;
    if (!j->listed) {
        job_free(j);
        return;
    }
    j->count = j->next_submit;
    if (j->delivered == j->count) {
        job_unlink(j->pool, j);
        job_free(j);
    } else {
        j->orphaned = 1;
    }
}

void pool_iter_free(struct pool_iter *iter)
{
    job_release(iter ? &iter->job : NULL);
}

int pool_submit(struct pool *pool, pool_task_fn fn, const void *arg, size_t arg_size,
                size_t result_size, struct pool_future **future)
{
    if (!future)
        return EINVAL;
    *future = NULL;
    int err = job_check(pool, fn, arg, arg_size, 1, result_size, 0);
    if (err)
        return err;
    struct pool_job *j = job_alloc(1, result_size, arg_size);
    if (!j)
        return ENOMEM;
    j->kind = JOB_FUTURE;
    j->fn = fn;
    if (arg_size)
        memcpy(j->owned[3], arg, arg_size);
    j->args = j->owned[3];
    j->arg_size = arg_size;
    j->chunk = 1;
    job_start(pool, j);
    *future = (struct pool_future *)j;
    return 0;
}

int pool_future_wait(struct pool_future *future, int64_t timeout_ns, struct pool_outcome *outcome,
                     void *result)
{
    if (!future)
        return EINVAL;
    struct pool_job *j = &future->job;
    if (!job_done(j)) {
        if (!j->pool)
            return EPIPE;
        int err = pump(j->pool, job_done, j, timeout_ns);
        if (err && !job_done(j))
            return err;
    }
    j->ready_head = 0; /* a future can be read any number of times, like Future.result() */
    take_ready(j, outcome, result);
    return 0;
}

void pool_future_free(struct pool_future *future)
{
    job_release(future ? &future->job : NULL);
}

/* --- ending ------------------------------------------------------------------------------- */

int pool_close(struct pool *p)
{
    if (!p)
        return EINVAL;
    if (p->terminated)
        return p->broken ? ECHILD : 0;
    p->closed = 1;
    struct pool_job probe = {.pool = p}; /* what no_jobs() looks at */
    int err = p->jobs_head ? pump(p, no_jobs, &probe, -1) : 0;
    if (p->terminated) /* broken while finishing */
        return err ? err : ECHILD;
    /* Everything delivered: tell the idle workers to leave, and reap each. */
    atomic_store(&p->ctl->stop, 1);
    wake_workers(p, INT_MAX);
    for (int i = 0; i < p->nworkers; i++) {
        struct worker *w = &p->workers[i];
        if (!w->alive)
            continue;
        int status = 0;
        if (p->threaded) {
            pthread_join(w->thread, NULL);
        } else {
            while (waitpid(w->pid, &status, 0) == -1 && errno == EINTR)
                continue;
            cleanup_forget_child(w->pid);
        }
        history_close(p, i, POOL_WORKER_EXITED, status);
        w->alive = 0;
    }
    p->terminated = 1;
    return err;
}

int pool_terminate(struct pool *p)
{
    if (!p)
        return EINVAL;
    if (p->terminated)
        return 0;
    p->closed = p->terminated = 1;
    stop_workers_now(p);
    cancel_all(p);
    return 0;
}

void pool_destroy(struct pool *p)
{
    if (!p)
        return;
    pool_terminate(p);
    /* Handles the caller still holds outlive the pool: detach them.  Orphans are freed. */
    for (struct pool_job *j = p->jobs_head, *next; j; j = next) {
        next = j->next;
        job_unlink(p, j);
        if (j->orphaned)
            job_free(j);
        else
            j->pool = NULL;
    }
    munmap(p->map, p->map_size);
    free(p->owners);
    free(p->workers);
    free(p->current_span);
    free(p->history);
    free(p);
}

/* --- facts ------------------------------------------------------------------------------- */

int pool_worker_count(const struct pool *p)
{
    return p ? p->nworkers : 0;
}

int pool_worker_pids(const struct pool *p, pid_t *pids, int max)
{
    int n = 0;
    for (int i = 0; p && i < p->nworkers && n < max; i++)
        if (p->workers[i].alive)
            pids[n++] = p->threaded ? atomic_load(&p->workers[i].tid) : p->workers[i].pid;
    return n;
}

size_t pool_worker_history(struct pool *p, const struct pool_worker_span **spans)
{
    if (!p) {
        *spans = NULL;
        return 0;
    }
    for (int i = 0; p->threaded && i < p->nworkers; i++) /* a thread learns its tid itself */
        if (p->workers[i].alive && !p->history[p->current_span[i]].pid)
            p->history[p->current_span[i]].pid = atomic_load(&p->workers[i].tid);
    for (size_t k = 0; k < p->history_count; k++) /* replacements whose tid came later */
        if (p->history[k].end == POOL_WORKER_DIED || p->history[k].end == POOL_WORKER_RECYCLED)
            if (!p->history[k].replaced_by)
                for (size_t later = k + 1; later < p->history_count; later++)
                    if (p->history[later].worker == p->history[k].worker) {
                        p->history[k].replaced_by = p->history[later].pid;
                        break;
                    }
    *spans = p->history;
    return p->history_count;
}

const char *pool_worker_end_name(int end)
{
    static const char *const names[] = {"running", "exited", "recycled", "died", "stopped"};
    return end >= 0 && end <= POOL_WORKER_STOPPED ? names[end] : "unknown";
}

void pool_get_stats(const struct pool *p, struct pool_stats *stats)
{
    if (p && stats)
        *stats = p->stats;
}

const char *pool_status_name(int status)
{
    static const char *const names[] = {"ok", "error", "worker died", "cancelled"};
    return status >= 0 && status <= POOL_TASK_CANCELLED ? names[status] : "unknown";
}
