#define _GNU_SOURCE
/* pool_mandelbrot.c - render the Mandelbrot set row by row with a process pool and write it
 * as a PGM image any viewer opens; each row is one task, its pixels are the task's result.
 *
 * Usage: pool_mandelbrot [--workers=P] [--width=W] [--height=H] [--iterations=I]
 *                        [--chunk=C] [--output=FILE] [--sequential] [--timeout=S]
 *   -w, --workers=P      worker processes (default: the usable CPU count; 1 to 256)
 *   -x, --width=W        pixels per row (default 320; 8 to 4096)
 *   -y, --height=H       rows (default 240; 1 to 100000)
 *   -i, --iterations=I   escape-time limit per pixel (default 256; 1 to 100000)
 *   -c, --chunk=C        rows handed out at once (default 0: automatic, ceil(H / (4 P)))
 *   -o, --output=FILE    where the image goes (default mandelbrot.pgm, in this folder)
 *   -s, --sequential     render in this process, no pool (the reference the tests compare)
 *   -t, --timeout=S      watchdog: give up after S seconds (default 60; 0: none)
 *   -h, --help           this text
 * Exit status: 0 when the image was written, 1 on a failure.
 *
 * What to observe:
 *   - Rows through the middle of the set cost up to `iterations` steps per pixel, rows near
 *     the top and bottom a few: the per-row cost varies by 100x.  The "rows per worker" line
 *     shows the workers sharing them unevenly in number but evenly in time.
 *   - The image is byte-for-byte the same whatever P and C: `cmp` the outputs of
 *     --workers=1, --workers=3 --chunk=1 and --sequential.
 *   - A result is a whole row (W bytes): the pool's max_result_size is set from --width, and
 *     each row is copied once out of shared memory into the image, in row order (pool_map).
 *   - View it: `display mandelbrot.pgm`, or any image viewer.
 *
 * Python counterpart: Pool(P).map(render_row, range(H), chunksize=C), each row returned as
 *   bytes, then b"".join(rows) written after a b"P5 W H 255\n" header.
 *
 * See also: pool.h, pool_primes.c, pool_uneven.c, lessons/08-process-pool.md, pgm(5).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool/pool.h"
#include "support/cleanup.h"
#include "support/clock.h"
#include "support/cpus.h"
#include "support/error.h"
#include "support/output_file.h"
#include "support/parse.h"
#include "support/process.h"

/* A task's argument: which row, and the picture's geometry (a worker has nothing else). */
struct row_task {
    int32_t row, width, height, iterations;
};

struct options {
    long workers, width, height, iterations, chunk, timeout_s;
    const char *output;
    int sequential;
};

static const char usage[] =
    "Usage: pool_mandelbrot [--workers=P] [--width=W] [--height=H] [--iterations=I]\n"
    "                       [--chunk=C] [--output=FILE] [--sequential] [--timeout=S]\n"
    "  -w, --workers=P      worker processes (default: usable CPUs; 1 to 256)\n"
    "  -x, --width=W        pixels per row (default 320; 8 to 4096)\n"
    "  -y, --height=H       rows (default 240; 1 to 100000)\n"
    "  -i, --iterations=I   escape-time limit (default 256; 1 to 100000)\n"
    "  -c, --chunk=C        rows handed out at once (default 0: ceil(H / (4 P)))\n"
    "  -o, --output=FILE    PGM output (default mandelbrot.pgm, in this folder)\n"
    "  -s, --sequential     render without a pool (the reference)\n"
    "  -t, --timeout=S      watchdog in seconds (default 60; 0: none)\n"
    "  -h, --help           this text\n";

/* --- the task: one row --------------------------------------------------------------------- */

/* The classic view: x in [-2.5, 1], y in [-1.25, 1.25].  Grey level = escape time, scaled. */
static void render_row(const struct row_task *t, unsigned char *pixels)
{
    double y0 = 1.25 - 2.5 * (t->row + 0.5) / t->height; /* the pixel's centre, not its edge */
    for (int col = 0; col < t->width; col++) {
        double x0 = -2.5 + 3.5 * (col + 0.5) / t->width;
        double x = 0, y = 0;
        int n = 0;
        /* z = z^2 + c until |z| > 2 (then it escapes for ever) or the limit: near the set
         * this runs all `iterations` times, far from it a handful; hence uneven rows. */
        while (n < t->iterations && x * x + y * y <= 4.0) {
            double xt = x * x - y * y + x0;
            y = 2 * x * y + y0;
            x = xt;
            n++;
        }
        /* Inside the set: black.  Outside: brighter the sooner it escaped. */
        pixels[col] = n == t->iterations ? 0 : (unsigned char)(255 - (255L * n) / t->iterations);
    }
}

/* Runs in a worker: the same function as the sequential render, so the bytes must match. */
static int row_task(const void *arg, size_t arg_size, void *result, size_t *result_size)
{
    struct row_task t;
    if (arg_size != sizeof t)
        return EINVAL;
    memcpy(&t, arg, sizeof t);
    if ((size_t)t.width > *result_size)
        return EMSGSIZE; /* the pool's result room is smaller than a row: say so */
    render_row(&t, result);
    *result_size = (size_t)t.width;
    return 0;
}

/* --- rendering two ways -------------------------------------------------------------------- */

static void render_sequentially(const struct options *o, unsigned char *image)
{
    for (long row = 0; row < o->height; row++) {
        struct row_task t = {(int32_t)row, (int32_t)o->width, (int32_t)o->height,
                             (int32_t)o->iterations};
        render_row(&t, image + row * o->width);
    }
}

static void render_with_pool(const struct options *o, unsigned char *image)
{
    struct row_task *tasks = malloc((size_t)o->height * sizeof *tasks);
    struct pool_outcome *outcomes = malloc((size_t)o->height * sizeof *outcomes);
    if (!tasks || !outcomes)
        die("malloc");
    /* A worker knows only what its argument says: the geometry travels with every row. */
    for (long row = 0; row < o->height; row++)
        tasks[row] = (struct row_task){(int32_t)row, (int32_t)o->width, (int32_t)o->height,
                                       (int32_t)o->iterations};
    /* Results are bounded bytes in shared memory: make room for a whole row. */
    struct pool_options po = {.workers = (int)o->workers, .max_result_size = (size_t)o->width};
    struct pool *pool;
    int err = pool_create(&pool, &po);
    if (err)
        die_with_code(err, "pool_create");
    /* pool_map writes row r's result at image + r * width: the image, in order. */
    err = pool_map(pool, row_task, tasks, sizeof *tasks, (size_t)o->height, image, (size_t)o->width,
                   (size_t)o->chunk, outcomes);
    /* EIO: some row failed; its outcome says which and why (the row number is its index). */
    if (err == EIO)
        for (long row = 0; row < o->height; row++) {
            const struct pool_outcome *out = &outcomes[row];
            if (out->status == POOL_TASK_WORKER_DIED) { /* error holds a wait status here */
                char how[STATUS_TEXT_SIZE];
                die_with_code(-1, "row %ld: worker %ld %s", row, (long)out->worker,
                              describe_status(out->error, how, sizeof how));
            }
            if (out->status == POOL_TASK_ERROR)
                die_with_code(out->error, "row %ld: %s", row, pool_status_name(out->status));
            if (out->status != POOL_TASK_OK)
                die_with_code(-1, "row %ld: %s", row, pool_status_name(out->status));
        }
    if (err)
        die_with_code(err, "pool_map");
    /* Count the rows each live worker rendered, from the pid in each row's outcome. */
    long rows_by[POOL_MAX_WORKERS] = {0};
    pid_t pids[POOL_MAX_WORKERS];
    int n = pool_worker_pids(pool, pids, POOL_MAX_WORKERS);
    for (long row = 0; row < o->height; row++)
        for (int k = 0; k < n; k++)
            rows_by[k] += outcomes[row].worker == pids[k];
    for (int k = 0; k < n; k++)
        printf("worker pid %d rendered %ld rows\n", (int)pids[k], rows_by[k]);
    if ((err = pool_close(pool)) != 0) /* the workers leave and are reaped: no zombie */
        die_with_code(err, "pool_close");
    pool_destroy(pool); /* unmaps the shared slots: nothing named, nothing to unlink */
    free(tasks);
    free(outcomes);
}

/* PGM "P5": a text header, then width * height grey bytes, top row first. */
static void write_pgm(const char *path, const unsigned char *image, long width, long height)
{
    /* Written beside the path and renamed into place: a reader never sees half an image, and
     * a link or a device at the path is refused or written in place, never replaced. */
    struct output_file out;
    if (output_file_open(&out, path) == -1)
        die_with_code(-1, "cannot write %s: %s", path, output_file_reason(errno));
    fprintf(out.stream, "P5\n%ld %ld\n255\n", width, height); /* magic, size, largest grey */
    fwrite(image, 1, (size_t)(width * height), out.stream);
    if (ferror(out.stream)) {
        output_file_abandon(&out);
        die_with_code(-1, "writing %s failed", path);
    }
    if (output_file_commit(&out) == -1)
        die("writing %s", path);
}

/* --- main ------------------------------------------------------------------------------------- */

static void on_watchdog(int sig)
{
    (void)sig;
    static const char msg[] = "pool_mandelbrot: watchdog: the render did not finish in time; "
                              "stopping (the workers are killed and reaped)\n";
    if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) { /* nothing more to do */
    }
    raise(SIGTERM); /* cleanup's handler kills and reaps the workers */
}

static void parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longs[] = {
        {"workers", required_argument, 0, 'w'}, {"width", required_argument, 0, 'x'},
        {"height", required_argument, 0, 'y'},  {"iterations", required_argument, 0, 'i'},
        {"chunk", required_argument, 0, 'c'},   {"output", required_argument, 0, 'o'},
        {"sequential", no_argument, 0, 's'},    {"timeout", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    *o = (struct options){.workers = usable_cpu_count(),
                          .width = 320,
                          .height = 240,
                          .iterations = 256,
                          .timeout_s = 60,
                          .output = "mandelbrot.pgm"};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":w:x:y:i:c:o:st:h", longs, NULL)) != -1) {
        switch (c) {
        case 'w': o->workers = parse_long(optarg, "--workers", 1, POOL_MAX_WORKERS, usage); break;
        case 'x': o->width = parse_long(optarg, "--width", 8, 4096, usage); break;
        case 'y': o->height = parse_long(optarg, "--height", 1, 100000, usage); break;
        case 'i': o->iterations = parse_long(optarg, "--iterations", 1, 100000, usage); break;
        case 'c': o->chunk = parse_long(optarg, "--chunk", 0, 1024, usage); break;
        case 'o':
            if (!*optarg)
                usage_error(usage, "--output wants a file name, not an empty string");
            o->output = optarg;
            break;
        case 's': o->sequential = 1; break;
        case 't': o->timeout_s = parse_long(optarg, "--timeout", 0, 86400, usage); break;
        case 'h': fputs(usage, stdout); exit(EXIT_SUCCESS);
        case ':': usage_error(usage, "option %s needs a value", argv[optind - 1]);
        default: usage_error(usage, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        usage_error(usage, "unexpected argument: %s", argv[optind]);
}

int main(int argc, char **argv)
{
    set_program_name(argv[0]);
    cleanup_install();
    struct options o;
    parse_options(argc, argv, &o);
    unsigned char *image = malloc((size_t)(o.width * o.height));
    if (!image)
        die("malloc");
    if (o.sequential)
        printf("pool_mandelbrot: %ldx%ld, %ld iterations, sequential (no pool)\n", o.width,
               o.height, o.iterations);
    else
        printf("pool_mandelbrot: %ldx%ld, %ld iterations, %ld workers, chunk %ld%s\n", o.width,
               o.height, o.iterations, o.workers,
               o.chunk ? o.chunk : (long)pool_auto_chunk_size((size_t)o.height, (int)o.workers),
               o.chunk ? "" : " (automatic)");
    if (signal(SIGALRM, on_watchdog) == SIG_ERR)
        die("signal");
    alarm((unsigned)o.timeout_s);
    int64_t start = monotonic_ns();
    if (o.sequential)
        render_sequentially(&o, image);
    else
        render_with_pool(&o, image);
    alarm(0);
    printf("rendered in %.3f s\n", (monotonic_ns() - start) / 1e9);
    write_pgm(o.output, image, o.width, o.height);
    printf("wrote %s (PGM, %ld x %ld)\n", o.output, o.width, o.height);
    free(image);
    return EXIT_SUCCESS;
}
