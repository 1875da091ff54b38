#define _GNU_SOURCE
/* mpi_mandelbrot.c - render the Mandelbrot set row by row with MPI master-worker and write
 * it as a PGM image: each row is one task, its pixels come back to rank 0 in a message.
 * The same picture as pool_mandelbrot, byte for byte, for any number of ranks.
 *
 * Usage: mpiexec -n P mpi_mandelbrot [--width=W] [--height=H] [--iterations=I] [--ahead=A]
 *                                    [--idle-master] [--output=FILE] [--fail-rank=K]
 *                                    [--fail-how=kill|hang] [--timeout=S]
 *   -x, --width=W        pixels per row (default 320; 8 to 4096)
 *   -y, --height=H       rows (default 240; 1 to 100000)
 *   -i, --iterations=I   escape-time limit per pixel (default 256; 1 to 100000)
 *   -a, --ahead=A        rows sent in advance to each worker (default 2; 1 to 64)
 *   -m, --idle-master    rank 0 only hands out rows (needs at least 2 ranks)
 *   -o, --output=FILE    where the image goes (default mpi_mandelbrot.pgm, in this folder)
 *   -k, --fail-rank=K    worker rank K fails at its first row (1 to P-1)
 *   -f, --fail-how=W     kill (default) or hang
 *   -t, --timeout=S      the master's watchdog in seconds (default 60; 0: none)
 *   -h, --help           this text
 * Exit status: 0 when the image was written; non-zero when a rank failed; 2 for a bad
 * command line.
 *
 * What to observe:
 *   - `cmp` the image with `pool_mandelbrot --sequential`'s for the same size and iterations:
 *     no difference, whatever -n.  Only the argument (a row number and the geometry) travels
 *     to a worker, and only its pixels travel back: a worker has no image at all.
 *   - "rank R ... rendered K rows": rows through the set cost 100 times the rows above it,
 *     and dynamic scheduling gives the ranks unequal counts of rows but equal work.
 *   - A result is a whole row, W bytes plus a small header: one message per row.  Compare the
 *     pool, which copies the row once out of memory shared by every worker.
 *
 * Python counterpart: MPIPoolExecutor().map(render_row, range(H)) (mpi4py.futures), each
 *   row returned as bytes; multiprocessing.Pool(P).map on one machine.
 *
 * See also: mpi_pool.h, pool_mandelbrot.c (the same picture with a process pool),
 *   mpi_primes.c, lessons/10-mpi.md, pgm(5).
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/mpi_pool.h"
#include "mpi/mpi_support.h"
#include "support/error.h"
#include "support/output_file.h"
#include "support/parse.h"

/* A task's argument: which row, and the picture's geometry (a worker has nothing else). */
struct row_task {
    int32_t row, width, height, iterations;
};

struct options {
    long width, height, iterations;
    const char *output;
    struct mpi_pool_options pool; /* --ahead, --idle-master, --timeout, --fail-rank, --fail-how */
};

static const char usage[] =
    "Usage: mpiexec -n P mpi_mandelbrot [--width=W] [--height=H] [--iterations=I] [--ahead=A]\n"
    "                                   [--idle-master] [--output=FILE] [--fail-rank=K]\n"
    "                                   [--fail-how=kill|hang] [--timeout=S]\n"
    "  -x, --width=W        pixels per row (default 320; 8 to 4096)\n"
    "  -y, --height=H       rows (default 240; 1 to 100000)\n"
    "  -i, --iterations=I   escape-time limit (default 256; 1 to 100000)\n"
    "  -a, --ahead=A        rows sent in advance to each worker (default 2; 1 to 64)\n"
    "  -m, --idle-master    rank 0 only hands out rows (needs 2 ranks or more)\n"
    "  -o, --output=FILE    PGM output (default mpi_mandelbrot.pgm, in this folder)\n"
    "  -k, --fail-rank=K    worker rank K fails at its first row (1 to P-1)\n"
    "  -f, --fail-how=W     kill (default) or hang\n"
    "  -t, --timeout=S      master's watchdog in seconds (default 60; 0: none)\n"
    "  -h, --help           this text\n";

/* --- the task: one row (pool_mandelbrot.c's render_row, unchanged: the bytes must match) -- */

static void render_row(const struct row_task *t, unsigned char *pixels)
{
    double y0 = 1.25 - 2.5 * (t->row + 0.5) / t->height; /* the pixel's centre, not its edge */
    for (int col = 0; col < t->width; col++) {
        double x0 = -2.5 + 3.5 * (col + 0.5) / t->width;
        double x = 0, y = 0;
        int n = 0;
        while (n < t->iterations && x * x + y * y <= 4.0) {
            double xt = x * x - y * y + x0;
            y = 2 * x * y + y0;
            x = xt;
            n++;
        }
        pixels[col] = n == t->iterations ? 0 : (unsigned char)(255 - (255L * n) / t->iterations);
    }
}

/* Runs on any rank: the argument is a struct row_task, the result the row's pixels. */
static int row_task(const void *arg, size_t arg_size, void *result, size_t *result_size)
{
    struct row_task t;
    if (arg_size != sizeof t)
        return EINVAL;
    memcpy(&t, arg, sizeof t);
    if ((size_t)t.width > *result_size)
        return EMSGSIZE;
    render_row(&t, result);
    *result_size = (size_t)t.width;
    return 0;
}

/* PGM "P5": a text header, then width * height grey bytes, top row first. */
static void write_pgm(const char *path, const unsigned char *image, long width, long height)
{
    /* As pool_mandelbrot: a temporary renamed into place; a link or a device never replaced. */
    struct output_file out;
    if (output_file_open(&out, path) == -1)
        mpi_abort(EXIT_FAILURE, "cannot write %s: %s", path, output_file_reason(errno));
    fprintf(out.stream, "P5\n%ld %ld\n255\n", width, height);
    fwrite(image, 1, (size_t)(width * height), out.stream);
    if (ferror(out.stream)) {
        output_file_abandon(&out);
        mpi_abort(EXIT_FAILURE, "writing %s failed", path);
    }
    if (output_file_commit(&out) == -1)
        mpi_abort(EXIT_FAILURE, "writing %s: %s", path, strerror(errno));
}

/* --- main ------------------------------------------------------------------------------------ */

static void parse_options(int argc, char **argv, void *out)
{
    static const struct option longs[] = {{"width", required_argument, 0, 'x'},
                                          {"height", required_argument, 0, 'y'},
                                          {"iterations", required_argument, 0, 'i'},
                                          {"ahead", required_argument, 0, 'a'},
                                          {"idle-master", no_argument, 0, 'm'},
                                          {"output", required_argument, 0, 'o'},
                                          {"fail-rank", required_argument, 0, 'k'},
                                          {"fail-how", required_argument, 0, 'f'},
                                          {"timeout", required_argument, 0, 't'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    struct options *o = out;
    *o = (struct options){.width = 320,
                          .height = 240,
                          .iterations = 256,
                          .output = "mpi_mandelbrot.pgm",
                          .pool = {.master_works = 1, .ahead = 2, .timeout_s = 60}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":x:y:i:a:mo:k:f:t:h", longs, NULL)) != -1) {
        switch (c) {
        case 'x': o->width = parse_long(optarg, "--width", 8, 4096, usage); break;
        case 'y': o->height = parse_long(optarg, "--height", 1, 100000, usage); break;
        case 'i': o->iterations = parse_long(optarg, "--iterations", 1, 100000, usage); break;
        case 'a': o->pool.ahead = (int)parse_long(optarg, "--ahead", 1, 64, usage); break;
        case 'm': o->pool.master_works = 0; break;
        case 'o':
            if (!*optarg)
                usage_error(usage, "--output wants a file name, not an empty string");
            o->output = optarg;
            break;
        case 'k':
            o->pool.fail_rank =
                (int)parse_long(optarg, "--fail-rank", 1, MPI_POOL_MAX_RANKS - 1, usage);
            break;
        case 't':
            o->pool.timeout_s = (double)parse_long(optarg, "--timeout", 0, 86400, usage);
            break;
        case 'f': o->pool.fail_how = mpi_pool_parse_failure(optarg, usage); break;
        case 'h': fputs(usage, stdout); exit(EXIT_SUCCESS);
        case ':': usage_error(usage, "option %s needs a value", argv[optind - 1]);
        default: usage_error(usage, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        usage_error(usage, "unexpected argument: %s", argv[optind]);
    mpi_pool_check_options(&o->pool, usage); /* needs the number of ranks: after MPI_Init */
}

int main(int argc, char **argv)
{
    struct mpi_world world;
    mpi_start(&argc, &argv, &world);
    struct options o;
    mpi_parse_options(&world, parse_options, argc, argv, &o);
    /* Rank 0 alone holds the rows to hand out and the image they come back into. */
    size_t rows = world.rank == 0 ? (size_t)o.height : 0;
    struct row_task *tasks = calloc(rows ? rows : 1, sizeof *tasks);
    unsigned char *image = calloc(rows ? rows * (size_t)o.width : 1, 1);
    if (!tasks || !image)
        mpi_abort(EXIT_FAILURE, "calloc: out of memory");
    for (size_t row = 0; row < rows; row++)
        tasks[row] = (struct row_task){(int32_t)row, (int32_t)o.width, (int32_t)o.height,
                                       (int32_t)o.iterations};
    if (world.rank == 0) {
        printf("mpi_mandelbrot: %ldx%ld, %ld iterations, %d ranks (%s)\n", o.width, o.height,
               o.iterations, world.size,
               o.pool.master_works ? "rank 0 renders too" : "rank 0 only hands out");
        fflush(stdout);
    }
    static struct mpi_pool_report report;
    /* Row r's pixels land at image + r * width, as with pool_map. */
    if (mpi_pool_map(MPI_COMM_WORLD, row_task, tasks, sizeof *tasks, rows, image, (size_t)o.width,
                     NULL, &o.pool, &report) != 0)
        mpi_abort(EXIT_FAILURE, "a row could not be rendered");
    if (world.rank == 0) {
        for (int r = 0; r < world.size; r++)
            printf("rank %d on %s (pid %lld) rendered %lld rows\n", r, report.rank[r].host,
                   (long long)report.rank[r].pid, (long long)report.rank[r].tasks);
        printf("job time %.3f s (MPI_Wtime on rank 0, not mpiexec's start-up)\n", report.seconds);
        write_pgm(o.output, image, o.width, o.height);
        printf("wrote %s (PGM, %ld x %ld)\n", o.output, o.width, o.height);
    }
    free(tasks);
    free(image);
    mpi_finish();
    return EXIT_SUCCESS;
}
