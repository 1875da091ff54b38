/* litmus.c - see litmus.h. */
#define _GNU_SOURCE
#include "memory/litmus.h"

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/cpus.h"
#include "support/error.h"
#include "support/parse.h"

/* Spin this many times before giving the CPU away: on two CPUs the other process arrives
 * within a few hundred nanoseconds; on one, it cannot arrive until this one yields. */
enum { SPINS_BEFORE_YIELD = 1 << 12 };

void litmus_barrier_wait(struct litmus_barrier *b, int me, long round)
{
    atomic_store(&b->arrived[me], round); /* seq_cst: everything before is visible after */
    for (long spins = 1; atomic_load(&b->arrived[1 - me]) < round; spins++)
        if (spins % SPINS_BEFORE_YIELD == 0)
            sched_yield();
}

void *litmus_map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap %zu bytes", size);
    return p; /* anonymous memory starts zeroed */
}

void litmus_unmap(void *p, size_t size)
{
    if (munmap(p, size) == -1)
        die("munmap");
}

struct litmus_cpus litmus_choose_cpus(const char *program)
{
    int ids[2];
    int n = usable_cpu_ids(ids, 2); /* the first two of however many there are */
    struct litmus_cpus c = {{ids[0], n > 1 ? ids[1] : ids[0]}, n > 1};
    if (c.distinct)
        printf("%s: process 0 on CPU %d, process 1 on CPU %d\n", program, c.cpu[0], c.cpu[1]);
    else
        printf("%s: one usable CPU (%d): both processes share it, so this machine cannot show "
               "a reordering (a CPU sees its own stores in order, and a context switch drains "
               "its store buffer); run it where at least 2 CPUs are usable\n",
               program, c.cpu[0]);
    return c;
}

static int report(int me, pid_t pid, int status)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        note("process %d (pid %ld) exited with status %d", me, (long)pid, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        note("process %d (pid %ld) killed by signal %d (%s)", me, (long)pid, WTERMSIG(status),
             strsignal(WTERMSIG(status)));
    return 1;
}

/* In a forked child: run on this CPU only (die_in_child, not die: a child leaves by _exit). */
static void pin_child(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) == -1)
        die_in_child("sched_setaffinity(CPU %d)", cpu);
}

int litmus_run_pair(const struct litmus_cpus *cpus, void (*body)(int me, void *shared),
                    void *shared)
{
    pid_t pids[2], parent = getpid();
    fflush(stdout); /* the children must not inherit, and later print, a full buffer */
    for (int me = 0; me < 2; me++) {
        if ((pids[me] = fork()) == -1)
            die("fork");
        if (pids[me] == 0) {
            die_with_parent(parent); /* a spinning orphan would burn a CPU for ever */
            pin_child(cpus->cpu[me]);
            body(me, shared);
            _exit(0);
        }
        cleanup_add_child(pids[me]);
    }
    int failed = 0;
    for (int me = 0; me < 2; me++) {
        int status;
        while (waitpid(pids[me], &status, 0) == -1)
            if (errno != EINTR)
                die("waitpid");
        cleanup_forget_child(pids[me]);
        failed |= report(me, pids[me], status);
    }
    return failed;
}

void litmus_batches(struct litmus_barrier *b, int me, long trials, int batch,
                    void (*trial)(void *page, int me, int i), void (*tally)(void *page, int n),
                    void *page)
{
    long round = 0;
    for (long done = 0; done < trials; done += batch) {
        int n = trials - done < batch ? (int)(trials - done) : batch;
        for (int i = 0; i < n; i++) {
            litmus_barrier_wait(b, me, ++round); /* both start trial i together */
            trial(page, me, i);
        }
        litmus_barrier_wait(b, me, ++round); /* the batch is over in both */
        if (me == 0)
            tally(page, n);
        litmus_barrier_wait(b, me, ++round); /* counted and cleared: the next may start */
    }
}

void litmus_print_outcomes(const long outcomes[2][2], const char *const meaning[2][2])
{
    for (int r0 = 0; r0 < 2; r0++)
        for (int r1 = 0; r1 < 2; r1++)
            printf("  r0=%d r1=%d  %9ld  %s\n", r0, r1, outcomes[r0][r1], meaning[r0][r1]);
}

struct litmus_options litmus_parse_options(int argc, char **argv, const char *usage,
                                           const char *count_name, long default_count,
                                           const char *fixed_name, char fixed_letter)
{
    const struct option longs[] = {{count_name, required_argument, 0, 'n'},
                                   {fixed_name, no_argument, 0, fixed_letter},
                                   {"help", no_argument, 0, 'h'},
                                   {0, 0, 0, 0}};
    char count_option[64], letters[] = {':', 'n', ':', fixed_letter, 'h', '\0'};
    snprintf(count_option, sizeof count_option, "--%s", count_name);
    struct litmus_options opt = {default_count, 0};
    opterr = 0; /* we print our own one-line reasons */
    int c;
    while ((c = getopt_long(argc, argv, letters, longs, NULL)) != -1) {
        switch (c) {
        case 'n': opt.count = parse_long(optarg, count_option, 1, 1000000000, usage); break;
        case 'h': fputs(usage, stdout); exit(EXIT_SUCCESS);
        case ':': usage_error(usage, "option %s needs a value", argv[optind - 1]);
        default:
            if (c != fixed_letter)
                usage_error(usage, "unknown option %s", argv[optind - 1]);
            opt.fixed = 1;
        }
    }
    if (optind < argc)
        usage_error(usage, "unexpected argument \"%s\"", argv[optind]);
    return opt;
}

int litmus_main(const struct litmus_program *program, const struct litmus_options *opt)
{
    cleanup_install(); /* Ctrl-C kills and reaps both processes */
    struct litmus_cpus cpus = litmus_choose_cpus(program->name);
    void *page = litmus_map(program->page_size);
    program->prepare(page, opt);
    int status = litmus_run_pair(&cpus, program->body, page) != 0 ? EXIT_FAILURE
                                                                  : program->report(page, &cpus);
    litmus_unmap(page, program->page_size);
    return status;
}
