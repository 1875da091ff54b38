/* test_plan.c - the benchmark's plan on machines this one is not: the core-count sweep for 1 to
 * 1024 CPUs, and the topology, quota and pids.max read from the sysfs/cgroup snapshots in
 * tests/fixtures/topology/ (make_fixtures.sh there says what each imitates). */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "support/cpus.h"

#define FIXTURES FORKLORE_ROOT "/tests/fixtures/topology/"

/* n CPUs numbered 0..n-1 with nothing else known (a root with no files). */
static void plain_machine(struct cpu_topology *t, int n)
{
    int *ids = malloc(sizeof *ids * (size_t)n);
    cr_assert_not_null(ids);
    for (int i = 0; i < n; i++)
        ids[i] = i;
    cpu_topology_read_from(t, FIXTURES "no-such-machine", ids, n);
    free(ids);
}

static void assert_sweep(const struct cpu_topology *t, int quick, const int *want, int nwant)
{
    int n;
    int *got = plan_core_sweep(t, quick, &n);
    char text[1024] = "";
    for (int i = 0; i < n; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), " %d", got[i]);
    cr_assert_eq(n, nwant, "%d CPUs: %d core counts (%s), expected %d", t->usable, n, text, nwant);
    for (int i = 0; i < n; i++)
        cr_assert_eq(got[i], want[i], "%d CPUs, position %d: %d, expected %d (%s)", t->usable, i,
                     got[i], want[i], text);
    free(got);
}

#define SWEEP(t, quick, ...)                                                                       \
    do {                                                                                           \
        const int want_[] = {__VA_ARGS__};                                                         \
        assert_sweep(t, quick, want_, (int)(sizeof want_ / sizeof want_[0]));                      \
    } while (0)

/* --- the documented sweep (bench/plan.h) for machines of every size ---------------------- */

Test(plan, sweep_for_small_machines)
{
    struct cpu_topology t;
    plain_machine(&t, 1);
    SWEEP(&t, 0, 1);
    SWEEP(&t, 1, 1);
    cpu_topology_free(&t);
    plain_machine(&t, 2);
    SWEEP(&t, 0, 1, 2);
    SWEEP(&t, 1, 1, 2);
    cpu_topology_free(&t);
    plain_machine(&t, 3);
    SWEEP(&t, 0, 1, 2, 3);
    SWEEP(&t, 1, 1, 2, 3);
    cpu_topology_free(&t);
    plain_machine(&t, 8);
    SWEEP(&t, 0, 1, 2, 3, 4, 5, 6, 7, 8);
    SWEEP(&t, 1, 1, 2, 4, 8);
    cpu_topology_free(&t);
    plain_machine(&t, 12);
    SWEEP(&t, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12);
    SWEEP(&t, 1, 1, 2, 4, 8, 12);
    cpu_topology_free(&t);
}

Test(plan, sweep_for_big_machines)
{
    struct cpu_topology t;
    plain_machine(&t, 64);
    SWEEP(&t, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 13, 16, 19, 23, 27, 32, 38, 45, 54, 64);
    SWEEP(&t, 1, 1, 2, 4, 8, 16, 32, 64);
    cpu_topology_free(&t);
    plain_machine(&t, 256);
    SWEEP(&t, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 13, 16, 19, 23, 27, 32, 38, 45, 54, 64, 76, 91,
          108, 128, 152, 181, 215, 256);
    SWEEP(&t, 1, 1, 2, 4, 8, 16, 32, 64, 128, 256);
    cpu_topology_free(&t);
    plain_machine(&t, 1024);
    SWEEP(&t, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 13, 16, 19, 23, 27, 32, 38, 45, 54, 64, 76, 91,
          108, 128, 152, 181, 215, 256, 304, 362, 431, 512, 609, 724, 861, 1024);
    SWEEP(&t, 1, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024);
    cpu_topology_free(&t);
    plain_machine(&t, 100); /* not a power of two: the full count closes the sweep */
    SWEEP(&t, 1, 1, 2, 4, 8, 16, 32, 64, 100);
    cpu_topology_free(&t);
}

Test(plan, count_sweep_follows_the_same_rule)
{
    int n;
    int *ks = plan_count_sweep(24, 0, &n);
    const int want[] = {1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 13, 16, 19, 23, 24};
    cr_assert_eq(n, (int)(sizeof want / sizeof want[0]));
    for (int i = 0; i < n; i++)
        cr_assert_eq(ks[i], want[i]);
    free(ks);
}

/* --- topologies from sysfs snapshots --------------------------------------------------------- */

static void fixture(struct cpu_topology *t, const char *name)
{
    char root[512];
    snprintf(root, sizeof root, FIXTURES "%s", name);
    cpu_topology_read_from(t, root, NULL, 0);
}

static void assert_order(const struct cpu_topology *t, const int *want, int n)
{
    cr_assert_eq(t->count, n);
    for (int i = 0; i < n; i++)
        cr_assert_eq(t->cpus[i].id, want[i], "sweep position %d: cpu%d, expected cpu%d", i + 1,
                     t->cpus[i].id, want[i]);
}

/* Two sockets with SMT: one thread per core of socket 0, its siblings, then socket 1. */
Test(plan, two_socket_smt_server)
{
    struct cpu_topology t;
    fixture(&t, "server-2s-smt");
    cr_assert(t.known);
    cr_assert_eq(t.sockets, 2);
    cr_assert_eq(t.cores, 16);
    cr_assert_eq(t.threads_per_core, 2);
    cr_assert_eq(t.nodes, 2);
    cr_assert_eq(t.cache_bytes[0], 48 << 10, "L1d %ld", t.cache_bytes[0]);
    cr_assert_eq(t.cache_bytes[1], 2048 << 10);
    cr_assert_eq(t.cache_bytes[2], 61440L << 10);
    const int order[] = {0, 1, 2,  3,  4,  5,  6,  7,  16, 17, 18, 19, 20, 21, 22, 23,
                         8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31};
    assert_order(&t, order, 32);
    cr_assert_eq(t.smt_from, 9);
    cr_assert_eq(t.socket_from, 17);
    cr_assert_eq(t.efficient_from, 0);
    cr_assert_eq(t.usable, 32);
    cr_assert_eq(t.bound, CPU_BOUND_AFFINITY);
    cr_assert_str_eq(plan_boundary_at(&t, 9), "SMT siblings");
    cr_assert_str_eq(plan_boundary_at(&t, 17), "second NUMA node");
    cr_assert_null(plan_boundary_at(&t, 10));
    /* The dense sweep, with 8 | 9 (SMT begins) and 16 | 17 (the second node) included. */
    SWEEP(&t, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 16, 17, 19, 23, 27, 32);
    SWEEP(&t, 1, 1, 2, 4, 8, 9, 16, 17, 32);
    cpu_topology_free(&t);
}

/* Performance cores first (one thread each), then the efficiency cores, then P siblings. */
Test(plan, laptop_with_performance_and_efficiency_cores)
{
    struct cpu_topology t;
    fixture(&t, "laptop-hybrid");
    cr_assert(t.known);
    cr_assert_eq(t.sockets, 1);
    cr_assert_eq(t.cores, 12);
    cr_assert_eq(t.threads_per_core, 2);
    const int order[] = {0, 2, 4, 6, 8, 9, 10, 11, 12, 13, 14, 15, 1, 3, 5, 7};
    assert_order(&t, order, 16);
    cr_assert_eq(t.efficient_from, 5);
    cr_assert_eq(t.smt_from, 13);
    cr_assert_eq(t.socket_from, 0);
    cr_assert_str_eq(plan_boundary_at(&t, 5), "efficiency cores");
    cr_assert_str_eq(plan_boundary_at(&t, 13), "SMT siblings");
    SWEEP(&t, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 16);
    SWEEP(&t, 1, 1, 2, 4, 5, 8, 12, 13, 16);
    cpu_topology_free(&t);
}

/* No topology in sysfs: the mask's order, and the record says so. */
Test(plan, virtual_machine_without_topology)
{
    struct cpu_topology t;
    fixture(&t, "vm-no-topology");
    cr_assert_not(t.known);
    const int order[] = {0, 1, 2, 3};
    assert_order(&t, order, 4);
    cr_assert_eq(t.smt_from, 0);
    cr_assert_eq(t.socket_from, 0);
    cr_assert(strstr(t.source, "no topology") != NULL, "%s", t.source);
    SWEEP(&t, 0, 1, 2, 3, 4);
    cpu_topology_free(&t);
}

/* A container's snapshot: its mask, its quota in CPUs, the usable count, its pids.max. */
static void check_container(struct cpu_topology *t, const char *name, int count, double quota,
                            int usable, long pids_max)
{
    fixture(t, name);
    cr_assert_eq(t->count, count, "%s: %d CPUs in the mask", name, t->count);
    cr_assert_float_eq(t->quota_cpus, quota, 1e-9, "%s: quota %g", name, t->quota_cpus);
    cr_assert_eq(t->usable, usable, "%s: %d usable", name, t->usable);
    cr_assert_eq(t->bound, CPU_BOUND_QUOTA);
    cr_assert_eq(t->pids_max, pids_max, "%s: pids.max %ld", name, t->pids_max);
}

/* cpu.max "150000 100000" on 8 CPUs: 1.5 CPUs' worth, so 2 usable, and the quota is the bound. */
Test(plan, container_with_a_cgroup_v2_quota)
{
    struct cpu_topology t;
    check_container(&t, "container-quota", 8, 1.5, 2, 512);
    cr_assert_str_eq(cpu_bound_name(t.bound), "CPU quota");
    SWEEP(&t, 0, 1, 2); /* the SMT boundary at 5 lies beyond the quota */
    cpu_topology_free(&t);
}

/* cgroup v1: cpu.cfs_quota_us 250000 per cpu.cfs_period_us 100000 is 2.5 CPUs: 3 usable. */
Test(plan, container_with_a_cgroup_v1_quota)
{
    struct cpu_topology t;
    check_container(&t, "container-v1", 4, 2.5, 3, 100);
    SWEEP(&t, 0, 1, 2, 3);
    cpu_topology_free(&t);
}

/* The same rule sizes the programs: usable_cpu_count() under the snapshot is the quota's 2. */
Test(plan, usable_cpu_count_follows_the_quota)
{
    cr_assert_eq(setenv("FORKLORE_SYSTEM_ROOT", FIXTURES "container-quota", 1), 0);
    cr_assert_eq(usable_cpu_count(), 2);
    int n;
    int *ids = usable_cpu_list(&n);
    cr_assert_eq(n, 8, "the mask (the snapshot's online CPUs) is still 8 wide");
    free(ids);
    struct cpu_topology t;
    cpu_topology_read(&t);
    cr_assert(t.simulated);
    cr_assert_eq(t.usable, 2);
    cpu_topology_free(&t);
}

/* A simulated machine of 2048 CPUs (more than a cpu_set_t holds): every CPU maps onto a real
 * one, and pinning to all of them works. */
Test(plan, simulated_2048_cpus_pin_onto_the_real_ones)
{
    int real = pinned_cpu_count();
    cr_assert_eq(setenv("FORKLORE_SIMULATED_CPUS", "2048", 1), 0);
    cr_assert_eq(usable_cpu_count(), 2048);
    int n;
    int *ids = usable_cpu_list(&n);
    cr_assert_eq(n, 2048);
    pin_to_cpus(ids, n);
    cr_assert_eq(pinned_cpu_count(), real);
    pin_to_cpus(ids, 1); /* CPU 0 stands on the first real CPU */
    cr_assert_eq(pinned_cpu_count(), 1);
    pin_to_cpus(ids, n); /* and back: the real CPUs are those at the first pin */
    cr_assert_eq(pinned_cpu_count(), real);
    free(ids);
    struct cpu_topology t;
    cpu_topology_read(&t);
    cr_assert_eq(t.usable, 2048);
    cr_assert_not(t.known);
    cpu_topology_free(&t);
}

/* --- the order the budget measures a sweep in (plan_measure_order) ------------------------ */

/* The sweep in measuring order, checked to be a rearrangement of the sweep itself. */
static int *measure_order(const struct cpu_topology *t, int quick, int *n)
{
    int *ks = plan_core_sweep(t, quick, n);
    int *order = malloc(sizeof *order * (size_t)*n);
    cr_assert_not_null(order);
    plan_measure_order(t, ks, *n, order);
    for (int i = 0; i < *n; i++) {
        int times = 0;
        for (int j = 0; j < *n; j++)
            times += order[j] == ks[i];
        cr_assert_eq(times, 1, "%d appears %d times in the measuring order", ks[i], times);
    }
    free(ks);
    return order;
}

Test(plan, measuring_order_keeps_the_ends_then_spreads_evenly)
{
    struct cpu_topology t;
    plain_machine(&t, 256);
    int n;
    int *order = measure_order(&t, 1, &n); /* quick: 1 2 4 8 16 32 64 128 256 */
    cr_assert_eq(n, 9);
    cr_assert_eq(order[0], 1, "k = 1 first: every speedup is over it");
    cr_assert_eq(order[1], 256, "then the full machine");
    cr_assert_eq(order[2], 16, "then the middle of the log scale, not the next small count");
    /* Then the middles of the two halves: 4 and 64, before any neighbour of a chosen count. */
    cr_assert((order[3] == 4 && order[4] == 64) || (order[3] == 64 && order[4] == 4), "%d %d",
              order[3], order[4]);
    free(order);
    cpu_topology_free(&t);
}

Test(plan, measuring_order_puts_the_boundaries_right_after_the_ends)
{
    struct cpu_topology t;
    fixture(&t, "server-2s-smt");
    int n;
    int *order = measure_order(&t, 1, &n); /* quick: 1 2 4 8 9 16 17 32 */
    cr_assert_eq(order[0], 1);
    cr_assert_eq(order[1], 32);
    int boundaries[] = {8, 9, 16,
                        17}; /* the last point before SMT and a second node, the first after */
    for (int i = 0; i < 4; i++)
        cr_assert_eq(order[2 + i], boundaries[i], "position %d: %d", 2 + i, order[2 + i]);
    free(order);
    cpu_topology_free(&t);
}

Test(plan, the_budget_follows_the_targets)
{
    cr_assert(plan_budget_s(0) > 0 && plan_budget_s(0) < 300, "default plan: under 5 minutes");
    cr_assert(plan_budget_s(1) > 0 && plan_budget_s(1) < 30, "--quick: under 30 s");
    cr_assert_eq(plan_budget_s(2), 0, "--smoke runs every point");
}
