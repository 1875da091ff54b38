/* cpus.c - see cpus.h. */
#define _GNU_SOURCE
#include "support/cpus.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/error.h"

/* --- the affinity mask, at whatever size the kernel's mask is ------------------------------- */

/* A CPU set big enough for this kernel: sched_getaffinity fails with EINVAL while the set is
 * smaller than the kernel's mask (nr_cpu_ids bits), so the size doubles until it fits. */
static cpu_set_t *read_mask(int *ncpus, size_t *size)
{
    for (int n = 1024;; n *= 2) {
        cpu_set_t *set = CPU_ALLOC((size_t)n);
        if (!set)
            die("CPU_ALLOC(%d)", n);
        size_t bytes = CPU_ALLOC_SIZE((size_t)n);
        CPU_ZERO_S(bytes, set);
        if (sched_getaffinity(0, bytes, set) == 0) {
            *ncpus = n;
            *size = bytes;
            return set;
        }
        CPU_FREE(set);
        if (errno != EINVAL || n > INT_MAX / 4)
            die("sched_getaffinity");
    }
}

static int *real_cpu_list(int *count)
{
    int n;
    size_t size;
    cpu_set_t *set = read_mask(&n, &size);
    int total = CPU_COUNT_S(size, set);
    int *ids = malloc(sizeof *ids * (size_t)(total > 0 ? total : 1));
    if (!ids)
        die("malloc");
    int got = 0;
    for (int cpu = 0; cpu < n && got < total; cpu++)
        if (CPU_ISSET_S((size_t)cpu, size, set))
            ids[got++] = cpu;
    CPU_FREE(set);
    *count = got;
    return ids;
}

int pinned_cpu_count(void)
{
    int n;
    size_t size;
    cpu_set_t *set = read_mask(&n, &size);
    int count = CPU_COUNT_S(size, set);
    CPU_FREE(set);
    return count > 0 ? count : 1;
}

/* --- small readers for sysfs and cgroup files --------------------------------------------- */

/* The first line of root/path into buf (newline removed); 0, or -1 if it cannot be read. */
static int read_line(const char *root, const char *path, char *buf, size_t size)
{
    char full[4096];
    snprintf(full, sizeof full, "%s%s", root, path);
    FILE *f = fopen(full, "r");
    if (!f)
        return -1;
    int ok = fgets(buf, (int)size, f) != NULL;
    fclose(f);
    if (!ok)
        return -1;
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

static long read_long(const char *root, const char *path, long otherwise)
{
    char buf[64], *end;
    if (read_line(root, path, buf, sizeof buf) != 0)
        return otherwise;
    errno = 0;
    long v = strtol(buf, &end, 10);
    return errno || end == buf ? otherwise : v;
}

/* A kernel CPU list ("0-3,8,10-11") into a malloc'd array; NULL if it does not parse. */
static int *parse_cpu_list(const char *text, int *count)
{
    int *ids = NULL, n = 0, room = 0;
    const char *s = text;
    while (*s) {
        char *end;
        long first = strtol(s, &end, 10), last = first;
        if (end == s || first < 0)
            goto bad;
        s = end;
        if (*s == '-') {
            last = strtol(s + 1, &end, 10);
            if (end == s + 1 || last < first)
                goto bad;
            s = end;
        }
        for (long cpu = first; cpu <= last; cpu++) {
            if (n == room) {
                room = room ? 2 * room : 64;
                int *grown = realloc(ids, sizeof *ids * (size_t)room);
                if (!grown)
                    die("realloc");
                ids = grown;
            }
            ids[n++] = (int)cpu;
        }
        if (*s == ',')
            s++;
        else if (*s)
            goto bad;
    }
    *count = n;
    return ids ? ids : calloc(1, sizeof *ids);
bad:
    free(ids);
    return NULL;
}

static int in_list(const int *ids, int n, int id)
{
    for (int i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

/* --- which CPUs: the mask, or a snapshot's online CPUs, or a simulated count --------------- */

static const char *system_root(void)
{
    const char *root = getenv("FORKLORE_SYSTEM_ROOT");
    return root ? root : "";
}

static int simulated_count(void)
{
    const char *text = getenv("FORKLORE_SIMULATED_CPUS");
    if (!text || !*text)
        return 0;
    char *end;
    long n = strtol(text, &end, 10);
    if (*end || n < 1 || n > (1L << 20))
        die("FORKLORE_SIMULATED_CPUS=%s: expected a whole number from 1 to %ld", text, 1L << 20);
    return (int)n;
}

/* The CPUs this process stands for: simulated, a snapshot's, or the real mask. */
static int *logical_cpu_list(int *count, int *simulated)
{
    int n = simulated_count();
    *simulated = n > 0 || *system_root();
    if (n > 0) {
        int *ids = malloc(sizeof *ids * (size_t)n);
        if (!ids)
            die("malloc");
        for (int i = 0; i < n; i++)
            ids[i] = i;
        *count = n;
        return ids;
    }
    if (*system_root()) {
        char line[4096];
        int *ids = NULL;
        if (read_line(system_root(), "/sys/devices/system/cpu/online", line, sizeof line) == 0)
            ids = parse_cpu_list(line, count);
        if (!ids || *count == 0)
            die("FORKLORE_SYSTEM_ROOT=%s: no readable sys/devices/system/cpu/online",
                system_root());
        return ids;
    }
    return real_cpu_list(count);
}

int *usable_cpu_list(int *count)
{
    int simulated;
    return logical_cpu_list(count, &simulated);
}

int usable_cpu_ids(int *ids, int max)
{
    int n;
    int *all = usable_cpu_list(&n);
    int count = n < max ? n : max;
    memcpy(ids, all, sizeof *ids * (size_t)(count > 0 ? count : 0));
    free(all);
    return count;
}

void pin_to_cpus(const int *ids, int count)
{
    int nreal = 0, simulated;
    int *logical = logical_cpu_list(&nreal, &simulated);
    free(logical);
    /* Simulated: CPU i runs on the (i mod n)-th of the CPUs the process had when it first
     * pinned itself (the mask now may be a narrower pin of its own). */
    static int *real_at_start, nreal_at_start;
    if (simulated && !real_at_start) {
        real_at_start = real_cpu_list(&nreal_at_start);
        if (nreal_at_start == 0)
            die("pin_to_cpus: no usable CPU");
    }
    const int *real = simulated ? real_at_start : NULL;
    nreal = nreal_at_start;
    int highest = 0;
    for (int i = 0; i < count; i++) {
        int cpu = real ? real[ids[i] % nreal] : ids[i];
        highest = cpu > highest ? cpu : highest;
    }
    cpu_set_t *set = CPU_ALLOC((size_t)highest + 1);
    if (!set)
        die("CPU_ALLOC(%d)", highest + 1);
    size_t size = CPU_ALLOC_SIZE((size_t)highest + 1);
    CPU_ZERO_S(size, set);
    for (int i = 0; i < count; i++)
        CPU_SET_S((size_t)(real ? real[ids[i] % nreal] : ids[i]), size, set);
    if (sched_setaffinity(0, size, set) == -1)
        die("sched_setaffinity");
    CPU_FREE(set);
}

/* --- quotas: cgroup v2 cpu.max, v1 cpu.cfs_quota_us / cfs_period_us, pids.max -------------- */

/* Where this process's cgroup is, from root/proc/self/cgroup: for cgroup v2 (controller
 * NULL) the line "0::/path", mounted at sys/fs/cgroup; for a v1 controller ("cpu", "pids") the
 * line "N:cpu,cpuacct:/path", mounted at sys/fs/cgroup/cpu.  0, or -1 if it is not listed. */
static int cgroup_path(const char *root, const char *controller, char *mount, size_t msize,
                       char *path, size_t psize)
{
    char file[4096], line[4096];
    snprintf(file, sizeof file, "%s/proc/self/cgroup", root);
    FILE *f = fopen(file, "r");
    if (!f)
        return -1;
    int found = -1;
    while (found != 0 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *controllers = strchr(line, ':');
        char *where = controllers ? strchr(controllers + 1, ':') : NULL;
        if (!where)
            continue;
        *controllers++ = '\0';
        *where++ = '\0';
        if (!controller)
            found = strcmp(line, "0") == 0 && *controllers == '\0' ? 0 : -1;
        else
            for (char *c = strtok(controllers, ","); c && found != 0; c = strtok(NULL, ","))
                found = strcmp(c, controller) == 0 ? 0 : -1;
        if (found == 0) {
            snprintf(mount, msize, "%s/sys/fs/cgroup%s%s", root, controller ? "/" : "",
                     controller ? controller : "");
            snprintf(path, psize, "%s", where);
        }
    }
    fclose(f);
    return found;
}

/* Walk from mount/path up to mount, calling visit on each folder that exists. */
static void each_ancestor(const char *mount, const char *path,
                          void (*visit)(const char *dir, void *arg), void *arg)
{
    char rel[4096];
    snprintf(rel, sizeof rel, "%s", path);
    for (;;) {
        char dir[8192];
        snprintf(dir, sizeof dir, "%s%s", mount, strcmp(rel, "/") == 0 ? "" : rel);
        if (access(dir, F_OK) == 0)
            visit(dir, arg);
        char *slash = strrchr(rel, '/');
        if (!slash || slash == rel) {
            if (strcmp(rel, "/") == 0 || rel[0] == '\0')
                break;
            snprintf(rel, sizeof rel, "/");
            continue;
        }
        *slash = '\0';
    }
}

struct limits {
    double quota_cpus; /* the smallest quota seen, 0 for none */
    long pids_max;     /* the smallest pids.max seen, -1 for none */
};

static void keep_quota(struct limits *l, double cpus)
{
    if (cpus > 0 && (l->quota_cpus == 0 || cpus < l->quota_cpus))
        l->quota_cpus = cpus;
}

static void keep_pids(struct limits *l, long max)
{
    if (max >= 0 && (l->pids_max < 0 || max < l->pids_max))
        l->pids_max = max;
}

static void visit_v2(const char *dir, void *arg)
{
    struct limits *l = arg;
    char buf[128];
    long quota, period;
    if (read_line(dir, "/cpu.max", buf, sizeof buf) == 0 &&
        sscanf(buf, "%ld %ld", &quota, &period) == 2 && period > 0) /* "max 100000" fails */
        keep_quota(l, (double)quota / (double)period);
    keep_pids(l, read_long(dir, "/pids.max", -1)); /* "max" reads as none */
}

static void visit_v1_cpu(const char *dir, void *arg)
{
    long quota = read_long(dir, "/cpu.cfs_quota_us", -1);
    long period = read_long(dir, "/cpu.cfs_period_us", -1);
    if (quota > 0 && period > 0)
        keep_quota(arg, (double)quota / (double)period);
}

static void visit_v1_pids(const char *dir, void *arg)
{
    keep_pids(arg, read_long(dir, "/pids.max", -1));
}

static struct limits read_limits(const char *root)
{
    struct limits l = {0, -1};
    char mount[4096], path[4096];
    if (cgroup_path(root, NULL, mount, sizeof mount, path, sizeof path) == 0)
        each_ancestor(mount, path, visit_v2, &l);
    if (cgroup_path(root, "cpu", mount, sizeof mount, path, sizeof path) == 0)
        each_ancestor(mount, path, visit_v1_cpu, &l);
    if (cgroup_path(root, "pids", mount, sizeof mount, path, sizeof path) == 0)
        each_ancestor(mount, path, visit_v1_pids, &l);
    return l;
}

/* The usable count: the mask's, capped at ceil(quota). */
static int apply_quota(int count, double quota_cpus, enum cpu_bound *bound)
{
    *bound = CPU_BOUND_AFFINITY;
    if (quota_cpus <= 0)
        return count;
    double cap = ceil(quota_cpus - 1e-9);
    if (cap < 1)
        cap = 1;
    if (cap < count) {
        *bound = CPU_BOUND_QUOTA;
        return (int)cap;
    }
    return count;
}

int usable_cpu_count(void)
{
    int n, simulated;
    free(logical_cpu_list(&n, &simulated));
    enum cpu_bound bound;
    /* A simulated count stands alone; a snapshot brings its own cgroup files. */
    struct limits l = simulated_count() ? (struct limits){0, -1} : read_limits(system_root());
    n = apply_quota(n, l.quota_cpus, &bound);
    return n > 0 ? n : 1;
}

const char *cpu_bound_name(enum cpu_bound bound)
{
    return bound == CPU_BOUND_QUOTA ? "CPU quota" : "affinity mask";
}

/* --- topology ------------------------------------------------------------------------------ */

static long parse_cache_size(const char *text)
{
    char *end;
    long v = strtol(text, &end, 10);
    switch (*end) {
    case 'K': return v << 10;
    case 'M': return v << 20;
    case 'G': return v << 30;
    default: return v;
    }
}

static void read_caches(const char *root, int cpu, long bytes[4])
{
    for (int index = 0; index < 16; index++) {
        char path[256], type[32], size[32];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/cache/index%d/type", cpu, index);
        if (read_line(root, path, type, sizeof type) != 0)
            break;
        if (strcmp(type, "Instruction") == 0)
            continue;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/cache/index%d/level", cpu,
                 index);
        long level = read_long(root, path, 0);
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/cache/index%d/size", cpu, index);
        if (level >= 1 && level <= 4 && read_line(root, path, size, sizeof size) == 0)
            bytes[level - 1] = parse_cache_size(size);
    }
}

/* Which NUMA node each CPU is on: root/sys/devices/system/node/nodeN/cpulist. */
static void read_nodes(const char *root, struct cpu_info *cpus, int n)
{
    char list[4096];
    int *nodes = NULL, nnodes = 0;
    if (read_line(root, "/sys/devices/system/node/online", list, sizeof list) == 0)
        nodes = parse_cpu_list(list, &nnodes); /* the same list syntax */
    for (int k = 0; k < nnodes; k++) {
        char path[128];
        snprintf(path, sizeof path, "/sys/devices/system/node/node%d/cpulist", nodes[k]);
        int count = 0;
        int *members =
            read_line(root, path, list, sizeof list) == 0 ? parse_cpu_list(list, &count) : NULL;
        for (int i = 0; i < n && members; i++)
            if (in_list(members, count, cpus[i].id))
                cpus[i].node = nodes[k];
        free(members);
    }
    free(nodes);
}

/* One CPU's place; 0, or -1 if sysfs does not say. */
static int read_cpu(const char *root, struct cpu_info *c)
{
    char path[128], list[4096];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/core_id", c->id);
    c->core = (int)read_long(root, path, -1);
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/physical_package_id",
             c->id);
    c->package = (int)read_long(root, path, -1);
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list",
             c->id);
    if (c->core < 0 || c->package < 0 || read_line(root, path, list, sizeof list) != 0)
        return -1;
    int count = 0;
    int *siblings = parse_cpu_list(list, &count);
    if (!siblings)
        return -1;
    c->thread = 0; /* its rank among its core's threads, lowest CPU number first */
    for (int i = 0; i < count; i++)
        c->thread += siblings[i] < c->id;
    free(siblings);
    return 0;
}

/* The sweep order: socket (or NUMA node) by socket; within one, a thread of every core
 * (performance cores before efficiency cores) before any core's second thread. */
static int compare_sweep(const void *a, const void *b)
{
    const struct cpu_info *x = a, *y = b;
    int gx = x->node >= 0 ? x->node : x->package, gy = y->node >= 0 ? y->node : y->package;
    if (gx != gy)
        return gx < gy ? -1 : 1;
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    if (x->efficient != y->efficient)
        return x->efficient < y->efficient ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static int distinct(const struct cpu_info *c, int n, int (*key)(const struct cpu_info *))
{
    int count = 0;
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = key(&c[j]) == key(&c[i]);
        count += !seen && key(&c[i]) >= 0;
    }
    return count;
}

static int key_package(const struct cpu_info *c)
{
    return c->package;
}
static int key_node(const struct cpu_info *c)
{
    return c->node;
}
static int key_core(const struct cpu_info *c)
{
    return c->package * 1048576 + c->core;
}

static void count_and_mark(struct cpu_topology *t)
{
    struct cpu_info *c = t->cpus;
    t->sockets = distinct(c, t->count, key_package);
    t->cores = distinct(c, t->count, key_core);
    t->nodes = distinct(c, t->count, key_node);
    t->threads_per_core = 1;
    for (int i = 0; i < t->count; i++) {
        if (c[i].thread + 1 > t->threads_per_core)
            t->threads_per_core = c[i].thread + 1;
        int group = c[i].node >= 0 ? c[i].node : c[i].package;
        int first = c[0].node >= 0 ? c[0].node : c[0].package;
        if (!t->smt_from && c[i].thread > 0)
            t->smt_from = i + 1;
        if (!t->efficient_from && c[i].efficient)
            t->efficient_from = i + 1;
        if (!t->socket_from && group != first)
            t->socket_from = i + 1;
    }
}

void cpu_topology_read_from(struct cpu_topology *t, const char *root, const int *ids, int count)
{
    memset(t, 0, sizeof *t);
    int *owned = NULL;
    if (!ids) {
        char line[4096];
        if (read_line(root, "/sys/devices/system/cpu/online", line, sizeof line) == 0)
            owned = parse_cpu_list(line, &count);
        if (!owned || count == 0)
            die("%s/sys/devices/system/cpu/online: cannot be read", root);
        ids = owned;
    }
    t->count = count;
    t->cpus = calloc((size_t)count, sizeof *t->cpus);
    if (!t->cpus)
        die("calloc");
    int known = 1;
    for (int i = 0; i < count; i++) {
        t->cpus[i] = (struct cpu_info){.id = ids[i], .node = -1};
        known &= read_cpu(root, &t->cpus[i]) == 0;
    }
    free(owned);
    char list[4096];
    int natom = 0;
    int *atom = read_line(root, "/sys/devices/cpu_atom/cpus", list, sizeof list) == 0
                    ? parse_cpu_list(list, &natom)
                    : NULL;
    for (int i = 0; i < count; i++) {
        if (!known) /* no topology: each CPU its own core, in the mask's order */
            t->cpus[i] = (struct cpu_info){.id = t->cpus[i].id, .core = i, .node = -1};
        t->cpus[i].efficient = atom && in_list(atom, natom, t->cpus[i].id);
    }
    free(atom);
    if (known) {
        read_nodes(root, t->cpus, count);
        qsort(t->cpus, (size_t)count, sizeof *t->cpus, compare_sweep);
    }
    t->known = known;
    read_caches(root, t->cpus[0].id, t->cache_bytes);
    count_and_mark(t);
    struct limits l = read_limits(root);
    t->quota_cpus = l.quota_cpus;
    t->pids_max = l.pids_max;
    t->usable = apply_quota(count, l.quota_cpus, &t->bound);
    snprintf(t->source, sizeof t->source, "%s",
             known ? "sysfs topology" : "no topology in sysfs: the affinity mask's order");
}

void cpu_topology_read(struct cpu_topology *t)
{
    int n, simulated;
    int *ids = logical_cpu_list(&n, &simulated);
    int sim = simulated_count();
    if (sim) { /* N CPUs and nothing else known: read from a root that has nothing */
        cpu_topology_read_from(t, "/nonexistent-forklore-simulated", ids, n);
        snprintf(t->source, sizeof t->source, "simulated: FORKLORE_SIMULATED_CPUS=%d", sim);
    } else {
        cpu_topology_read_from(t, system_root(), ids, n);
        if (*system_root()) {
            char was[sizeof t->source];
            snprintf(was, sizeof was, "%s", t->source);
            snprintf(t->source, sizeof t->source, "simulated from %.120s: %.120s", system_root(),
                     was);
        }
    }
    t->simulated = simulated;
    free(ids);
}

void cpu_topology_free(struct cpu_topology *t)
{
    free(t->cpus);
    t->cpus = NULL;
}
