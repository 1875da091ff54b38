/* cpus.h - which CPUs this process may run on, how they are built, and how many it may use.
 *
 * sysconf(_SC_NPROCESSORS_ONLN) counts the machine's CPUs, not the ones this process is
 * allowed to use: under taskset, a container's cpuset or a batch scheduler those differ, and a
 * pool sized from the machine would oversubscribe.  sched_getaffinity gives the real set; a
 * CFS quota (cgroup v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us) can cap it further
 * without narrowing the mask: 150000 us of CPU per 100000 us period is 1.5 CPUs' worth, so
 * ceil(1.5) = 2 workers keep the quota busy, and 8 would only take turns.
 *
 * CPU sets are allocated (CPU_ALLOC) to the size the kernel's mask needs, so a machine with
 * more than CPU_SETSIZE (1024) CPUs works; no count here has a fixed bound.
 *
 * The topology (which CPUs are SMT siblings of one core, which socket and NUMA node each is
 * on, the cache sizes) is read from sysfs, the kernel's own account, with no library: hwloc
 * reads the same files, and a student can `cat` them.  Two environment variables, for tests
 * and for trying the benchmark's plan on a machine you do not have (its times then mean
 * nothing; the benchmark says so):
 *   FORKLORE_SYSTEM_ROOT=DIR  read DIR/sys/devices/system/{cpu,node}, DIR/sys/fs/cgroup and
 *                             DIR/proc/self/cgroup instead of /sys and /proc (a snapshot in
 *                             tests/fixtures/topology/); its online CPUs stand for the mask
 *   FORKLORE_SIMULATED_CPUS=N N CPUs without topology, in place of the mask
 * In both cases the CPUs are simulated: pin_to_cpus maps CPU i to the i mod n-th CPU really
 * usable, so every worker still runs.
 */
#ifndef FORKLORE_CPUS_H
#define FORKLORE_CPUS_H

/* How many CPUs this process may use (at least 1): the mask, capped by a CPU quota. */
int usable_cpu_count(void);

/* The CPUs in this process's mask, ascending: fills ids[0..max-1], returns how many it filled.
 * (usable_cpu_list gives all of them.) */
int usable_cpu_ids(int *ids, int max);

/* All the CPUs in the mask, ascending, in a malloc'd array (free it); *count gets how many. */
int *usable_cpu_list(int *count);

/* Restrict this process (and the children it forks from now on) to the given CPUs. */
void pin_to_cpus(const int *ids, int count);

/* How many distinct CPUs this process is pinned to right now (the real mask, never simulated). */
int pinned_cpu_count(void);

/* Why the usable count is what it is. */
enum cpu_bound {
    CPU_BOUND_AFFINITY, /* the affinity mask (sched_getaffinity) */
    CPU_BOUND_QUOTA,    /* a CFS quota smaller than the mask */
};

/* One CPU as sysfs describes it. */
struct cpu_info {
    int id;        /* the kernel's CPU number */
    int core;      /* topology/core_id (unique per package only) */
    int package;   /* topology/physical_package_id: the socket */
    int node;      /* NUMA node, or -1 when the machine reports none */
    int thread;    /* 0 for the first hardware thread of its core, 1 for its SMT sibling ... */
    int efficient; /* 1 on an efficiency core (Intel's cpu_atom), 0 otherwise */
};

struct cpu_topology {
    int count;             /* CPUs in the mask (or the snapshot, or simulated) */
    struct cpu_info *cpus; /* all of them, in sweep order (see below) */
    int usable;            /* count, capped by the quota: the CPUs a plan may use */
    enum cpu_bound bound;  /* which bound gave `usable` */
    double quota_cpus;     /* the quota in CPUs (1.5 for 150000/100000), 0 if none */
    long pids_max;         /* the cgroup's pids.max, -1 if unlimited or unknown */
    int known;             /* 1 if sysfs described the CPUs; 0: the mask's order only */
    int simulated;         /* 1 under FORKLORE_SYSTEM_ROOT or FORKLORE_SIMULATED_CPUS */
    int sockets, cores, threads_per_core, nodes; /* counted over the mask's CPUs */
    long cache_bytes[4]; /* CPU 0's L1 data, L2, L3, L4 caches; 0 where none */
    /* Sweep positions (k, 1-based) where the curve may bend: the first k that adds an SMT
     * sibling, the first efficiency core, the first CPU on a second socket or NUMA node; 0 for
     * none.  The sweep order: one thread per core of the first socket (performance cores
     * first), then that socket's siblings, then the next socket the same way. */
    int smt_from, efficient_from, socket_from;
    char source[256]; /* where this came from, for the machine record */
};

/* Read the topology, the quota and pids.max (see the environment variables above).  Dies with
 * a message if the mask cannot be read. */
void cpu_topology_read(struct cpu_topology *t);

/* Read from a given root folder ("" for the live system) with the mask given as ids (NULL:
 * the snapshot's online CPUs).  For tests; cpu_topology_read calls it. */
void cpu_topology_read_from(struct cpu_topology *t, const char *root, const int *ids, int count);

void cpu_topology_free(struct cpu_topology *t);

/* For the machine record: "affinity mask" or "CPU quota". */
const char *cpu_bound_name(enum cpu_bound bound);

#endif
