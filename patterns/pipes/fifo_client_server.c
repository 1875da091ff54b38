#define _GNU_SOURCE
/* fifo_client_server.c - a server and many clients meeting at named pipes (FIFOs).
 *
 * Usage: fifo_client_server [--clients N] [--requests N] [--idle SECONDS]
 *        fifo_client_server --role=server [--dir DIR] [--count N] [--idle SECONDS]
 *        fifo_client_server --role=client --dir DIR [--requests N] [--idle SECONDS]
 *   -R, --role ROLE     server or client: run one side only, as its own program.  Without
 *                       it, the program starts one server and --clients clients itself.
 *   -d, --dir DIR       where the FIFOs live.  A server without --dir makes a private
 *                       directory with mkdtemp() and prints it; a client needs it.
 *   -c, --clients N     clients in the default mode (default 4, 1..32)
 *   -r, --requests N    requests each client sends (default 3, 1..10000)
 *   -n, --count N       the server stops after N requests (default: clients x requests in
 *                       the default mode, 0 = never in --role=server)
 *   -i, --idle SECONDS  a server or client gives up after this long without news (default 10)
 *   -h, --help          this text
 *
 * What to observe:
 *   - The two sides share no parent pipe: they find each other by NAME.  The server reads
 *     requests from one well-known FIFO, DIR/server.fifo; each client makes its own reply
 *     FIFO, DIR/client-PID.fifo, and puts its pid in every request so the server knows
 *     where to answer.  Try it by hand in two terminals:
 *         fifo_client_server --role=server            (prints the directory)
 *         fifo_client_server --role=client --dir /tmp/forklore-fifo-XXXXXX
 *   - Many clients write to the same server FIFO at once.  Each request is one write() of
 *     fewer than PIPE_BUF bytes, so requests never interleave (see pipe_atomicity).
 *   - The server opens its own FIFO a second time for writing: without that, read() would
 *     return 0 (EOF) every time the last client closed it, between two clients.
 *   - The FIFOs are files: `ls -l DIR` shows them with type "p".  Every one is removed at
 *     the end, on an error, and on Ctrl-C; so is the directory.
 *
 * Python counterpart: os.mkfifo() plus open(); multiprocessing.connection.Listener and
 *   Client give the same "meet at a well-known address" design over sockets.
 *
 * See also: pipe_atomicity.c, socketpair_duplex.c, fifo(7), mkfifo(3), TLPI chapter 44.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/cleanup.h"
#include "support/clock.h"
#include "support/error.h"
#include "support/full_io.h"
#include "support/output_file.h"
#include "support/parse.h"
#include "support/private_dir.h"
#include "support/process.h"

static const char usage[] =
    "Usage: fifo_client_server [--clients N] [--requests N] [--idle SECONDS]\n"
    "       fifo_client_server --role=server [--dir DIR] [--count N] [--idle SECONDS]\n"
    "       fifo_client_server --role=client --dir DIR [--requests N] [--idle SECONDS]\n"
    "  -R, --role ROLE     server or client (default: start one server and N clients)\n"
    "  -d, --dir DIR       the FIFOs' directory (a server without it makes one)\n"
    "  -c, --clients N     clients in the default mode (default 4, 1..32)\n"
    "  -r, --requests N    requests per client (default 3, 1..10000)\n"
    "  -n, --count N       the server stops after N requests (0 = never)\n"
    "  -i, --idle SECONDS  give up after this long without news (default 10, 1..3600)\n"
    "  -h, --help          this text\n";

/* A request: fixed size, far below PIPE_BUF, so one write() is one indivisible request. */
struct request {
    pid_t client; /* where to reply: DIR/client-PID.fifo */
    int seq;      /* the client's request number, checked in the reply */
    long number;  /* the question: the server answers number * number */
};
_Static_assert(sizeof(struct request) <= PIPE_BUF, "a request must be written atomically");

struct reply {
    pid_t server;
    int seq;
    long number, square;
};

/* Who is running, with the settings of the command line. */
struct settings {
    char dir[PATH_MAX];
    int clients, requests, idle_s;
    long count;
};

/* The private directory this process made ("" if --dir named one), removed on every path. */
static char made_dir[PATH_MAX];

/* The FIFO names both sides compute: the server's (client 0) or a client's own. */
static void fifo_path(char *buf, size_t size, const char *dir, pid_t client)
{
    int n = client ? snprintf(buf, size, "%s/client-%ld.fifo", dir, (long)client)
                   : snprintf(buf, size, "%s/server.fifo", dir);
    if (n < 0 || (size_t)n >= size)
        die("path too long for directory %s", dir);
}

/* --- the server -------------------------------------------------------------------------- */

/* Answer one request on the client's own FIFO.  O_NONBLOCK: if the client is gone (no
 * reader), open fails with ENXIO at once instead of blocking the whole server. */
static int answer(const char *dir, const struct request *req)
{
    char path[PATH_MAX];
    fifo_path(path, sizeof path, dir, req->client); /* the client's pid says where */
    int fd = open(path, O_WRONLY | O_NONBLOCK);
    if (fd == -1) {
        note("[server %ld] cannot answer client %ld: open %s: %s", (long)getpid(),
             (long)req->client, path, strerror(errno));
        return 0;
    }
    struct reply rep = {getpid(), req->seq, req->number, req->number * req->number};
    ssize_t n = write(fd, &rep, sizeof rep); /* small: fits the empty FIFO in one piece */
    close_or_die(fd);
    return n == (ssize_t)sizeof rep;
}

/* Serve until `count` requests were answered (0: forever), or nothing came for idle_s. */
static int serve(const struct settings *s)
{
    char path[PATH_MAX];
    fifo_path(path, sizeof path, s->dir, 0);
    int in = open(path, O_RDONLY | O_NONBLOCK); /* do not wait here for a first client */
    int keep_open = open(path, O_WRONLY);       /* so read() never sees EOF between clients */
    if (in == -1 || keep_open == -1 || fcntl(in, F_SETFL, 0) == -1) /* reads block again */
        die("open %s", path);
    printf("[server %ld] listening on %s\n", (long)getpid(), path);
    flush_or_die(stdout);
    long served = 0;
    while (s->count == 0 || served < s->count) {
        struct pollfd p = {in, POLLIN, 0};
        int ready = poll(&p, 1, s->idle_s * 1000);
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready <= 0) {
            printf("[server %ld] no request for %ds after %ld served: stopping\n", (long)getpid(),
                   s->idle_s, served);
            break;
        }
        struct request req;
        ssize_t n = read(in, &req, sizeof req); /* whole requests only: all are this size */
        if (n == -1 && errno == EINTR)
            continue;
        if (n != (ssize_t)sizeof req)
            die("read request (%zd bytes)", n);
        served += answer(s->dir, &req); /* one at a time: an iterative server */
    }
    printf("[server %ld] served %ld requests\n", (long)getpid(), served);
    flush_or_die(stdout);
    close_or_die(in);
    close_or_die(keep_open);
    return s->count == 0 || served == s->count;
}

/* --- the client -------------------------------------------------------------------------- */

/* One round trip on FIFOs that are already open: send, then wait (bounded) for the reply. */
static int ask(const struct settings *s, int server_fd, int reply_fd, int seq)
{
    struct request req = {getpid(), seq, 1000L * getpid() + seq};  /* distinct per client */
    if (write(server_fd, &req, sizeof req) != (ssize_t)sizeof req) /* atomic: < PIPE_BUF */
        return 0;
    for (;;) {
        struct pollfd p = {reply_fd, POLLIN, 0};
        int ready = poll(&p, 1, s->idle_s * 1000);
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready <= 0) {
            printf("[client %ld] no reply to request %d after %ds\n", (long)getpid(), seq,
                   s->idle_s);
            return 0;
        }
        struct reply rep;
        ssize_t n = read(reply_fd, &rep, sizeof rep); /* each reply was one small write */
        if (n == -1 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n != (ssize_t)sizeof rep)
            return 0;
        if (rep.seq == seq) /* an older reply (one that came too late) is skipped */
            return rep.square == req.number * req.number;
    }
}

/* Open my reply FIFO for reading AND for writing.  The read end is non-blocking so the
 * open does not wait for the server.  My own write end means the FIFO always has a writer,
 * so poll() waits for data instead of reporting POLLHUP each time the server closes its
 * side after a reply (the same trick the server plays on its own FIFO). */
static void open_reply_fifo(const char *path, int fds[2])
{
    fds[0] = open(path, O_RDONLY | O_NONBLOCK);
    fds[1] = fds[0] == -1 ? -1 : open(path, O_WRONLY);
}

/* Open the server's FIFO for writing.  O_NONBLOCK makes open fail with ENXIO while no
 * server has it open for reading (a blocking open would wait with no time limit): retry
 * for up to idle_s seconds, since a server started at the same moment may be a bit late. */
static int open_server_fifo(const char *server, int idle_s)
{
    for (int tries = 0; tries < idle_s * 100; tries++) {
        int fd = open(server, O_WRONLY | O_NONBLOCK);
        if (fd != -1 || errno != ENXIO)
            return fd;
        sleep_ns(10 * 1000 * 1000); /* 10 ms */
    }
    return -1; /* errno is still ENXIO: nobody is listening */
}

/* A client session: make my FIFO, send my requests one at a time, remove my FIFO. */
static int client(const struct settings *s)
{
    char my_fifo[PATH_MAX], server[PATH_MAX];
    fifo_path(my_fifo, sizeof my_fifo, s->dir, getpid());
    fifo_path(server, sizeof server, s->dir, 0);
    if (mkfifo(my_fifo, 0600) == -1) /* 0600: only this user may open it */
        die("mkfifo %s", my_fifo);
    if (in_owning_process()) /* a child's FIFO is registered by its parent */
        cleanup_add_name(IPC_PATH, my_fifo);
    int out = open_server_fifo(server, s->idle_s);
    if (out == -1) {
        int err = errno;
        (void)unlink(my_fifo); /* best effort on the way out: the open's error is the news */
        errno = err;
        die("open %s (is the server running?)", server);
    }
    int reply[2];
    open_reply_fifo(my_fifo, reply);
    if (reply[1] == -1) {
        int err = errno;
        (void)unlink(my_fifo); /* best effort on the way out: the open's error is the news */
        errno = err;
        die("open %s", my_fifo);
    }
    int correct = 0;
    for (int seq = 0; seq < s->requests; seq++) /* strictly one request in flight */
        correct += ask(s, out, reply[0], seq);
    close_or_die(out);
    close_or_die(reply[0]);
    close_or_die(reply[1]);
    if (unlink(my_fifo) == -1)
        die("unlink %s", my_fifo);
    cleanup_forget_name(my_fifo);
    printf("[client %ld] %d of %d replies correct\n", (long)getpid(), correct, s->requests);
    flush_or_die(stdout);
    return correct == s->requests;
}

/* --- the default mode: one server and several clients, all started here ----------------- */

static pid_t start(const struct settings *s, int is_server)
{
    /* The child makes its FIFO at once, and the name is registered here, after fork returns:
     * Ctrl-C between the two would leave the FIFO behind (6 runs in 76 did).  So the
     * terminating signals wait from before the fork until both the child and its FIFO's name
     * are registered; the handler then kills the child before it unlinks the name, so a FIFO
     * made at any moment is removed.  (cleanup_fork holds them only until the child is
     * registered: here the name must be in the registry too.) */
    sigset_t old;
    cleanup_hold_signals(&old);
    pid_t pid = start_child();
    if (pid == 0) {
        cleanup_release_signals(&old);
        leave_child(is_server ? !serve(s) : !client(s));
    }
    if (!is_server) { /* the child makes this FIFO; we remove it if we are interrupted */
        char path[PATH_MAX];
        fifo_path(path, sizeof path, s->dir, pid);
        cleanup_add_name(IPC_PATH, path);
    }
    cleanup_release_signals(&old); /* a Ctrl-C that came meanwhile acts now */
    return pid;
}

static int reap(pid_t pid, const struct settings *s, const char *role)
{
    int failed = reap_child(pid, role);
    char path[PATH_MAX];
    fifo_path(path, sizeof path, s->dir, pid);
    /* A client that failed (killed, or by SIGPIPE printing to a closed stdout) may not have
     * removed its FIFO: then we do, or the folder around it could not go. */
    if (failed && unlink(path) == -1 && errno != ENOENT)
        die("unlink %s", path);
    cleanup_forget_name(path);
    return !failed;
}

static int run_everything(struct settings *s)
{
    pid_t clients[32]; /* --clients is at most 32: enough to show many clients at once */
    s->count = (long)s->clients * s->requests; /* the server knows when it is done */
    pid_t server = start(s, 1);
    for (int i = 0; i < s->clients; i++)
        clients[i] = start(s, 0);
    int ok = 1;
    for (int i = 0; i < s->clients; i++) /* clients first: the server ends after them */
        ok &= reap(clients[i], s, "client");
    ok &= reap(server, s, "server");
    printf("[parent %ld] %d clients, %d requests each: %s\n", (long)getpid(), s->clients,
           s->requests, ok ? "every client got every answer" : "FAILED");
    return ok;
}

/* --- main -------------------------------------------------------------------------------- */

/* Make the directory (unless given) and the server's well-known FIFO. */
static void prepare_server_fifo(struct settings *s)
{
    /* Each name is registered right after it is made; a Ctrl-C between the two would leave
     * it behind, so the terminating signals wait until both are in the registry. */
    sigset_t old;
    cleanup_hold_signals(&old);
    if (!s->dir[0]) { /* mode 0700: nobody else can plant a FIFO in it */
        if (make_private_dir(made_dir, sizeof made_dir, "fifo") == -1)
            die("mkdtemp %s", made_dir);
        cleanup_add_name(IPC_DIRECTORY, made_dir); /* removed after the FIFOs inside it */
        snprintf(s->dir, sizeof s->dir, "%s", made_dir);
    }
    char path[PATH_MAX];
    fifo_path(path, sizeof path, s->dir, 0);
    if (mkfifo(path, 0600) == -1) /* a FIFO is a file: mkfifo creates the name only */
        die("mkfifo %s", path);
    cleanup_add_name(IPC_PATH, path);
    cleanup_release_signals(&old);
}

static void remove_server_fifo(const struct settings *s)
{
    char path[PATH_MAX];
    fifo_path(path, sizeof path, s->dir, 0);
    if (unlink(path) == -1) /* the name goes; open descriptors would still work */
        die("unlink %s", path);
    cleanup_forget_name(path);
    if (made_dir[0] && rmdir(made_dir) == -1)
        die("rmdir %s", made_dir);
    cleanup_forget_name(made_dir);
    made_dir[0] = '\0';
}

static void parse_arguments(int argc, char *argv[], struct settings *s, const char **role)
{
    static const struct option options[] = {
        {"role", required_argument, 0, 'R'},    {"dir", required_argument, 0, 'd'},
        {"clients", required_argument, 0, 'c'}, {"requests", required_argument, 0, 'r'},
        {"count", required_argument, 0, 'n'},   {"idle", required_argument, 0, 'i'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    opterr = 0; /* getopt stays quiet: usage_error() explains and exits with 2 */
    int c;
    /* The leading ":" in the option string makes a missing value return \':\'. */
    while ((c = getopt_long(argc, argv, ":R:d:c:r:n:i:h", options, NULL)) != -1) {
        switch (c) {
        case 'R': *role = optarg; break;
        case 'd':
            if (!*optarg)
                usage_error(usage, "--dir wants a folder, not an empty string");
            if (snprintf(s->dir, sizeof s->dir, "%s", optarg) >= (int)sizeof s->dir - 32)
                usage_error(usage, "--dir: path too long");
            break;
        case 'c': s->clients = (int)parse_long(optarg, "--clients", 1, 32, usage); break;
        case 'r': s->requests = (int)parse_long(optarg, "--requests", 1, 10000, usage); break;
        case 'n': s->count = parse_long(optarg, "--count", 0, 100000000, usage); break;
        case 'i': s->idle_s = (int)parse_long(optarg, "--idle", 1, 3600, usage); break;
        default: help_or_bad_option(c, argv, usage);
        }
    }
    no_more_arguments(argc, argv, usage);
    if (*role && strcmp(*role, "server") != 0 && strcmp(*role, "client") != 0)
        usage_error(usage, "--role: expected server or client, got \"%s\"", *role);
    if (*role && strcmp(*role, "client") == 0 && !s->dir[0])
        usage_error(usage, "--role=client needs --dir (the directory the server printed)");
    if (!*role && s->dir[0])
        usage_error(usage, "--dir goes with --role; the default mode makes its own directory");
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    cleanup_install(); /* Ctrl-C then kills and reaps our children, removes our names */
    struct settings s = {.clients = 4, .requests = 3, .idle_s = 10, .count = 0};
    const char *role = NULL;
    parse_arguments(argc, argv, &s, &role);
    /* The FIFOs are made and removed in --dir: it must be a folder, not a link to one. */
    if (s.dir[0] && output_folder_check(s.dir) == -1)
        die_with_code(-1, "--dir %s: %s", s.dir, output_file_reason(errno));

    int ok;
    if (role && strcmp(role, "client") == 0) {
        printf("fifo_client_server: client, dir=%s requests=%d idle=%ds\n", s.dir, s.requests,
               s.idle_s);
        return client(&s) ? 0 : 1;
    }
    prepare_server_fifo(&s);
    if (role) {
        printf("fifo_client_server: server, dir=%s count=%ld idle=%ds\n", s.dir, s.count, s.idle_s);
        ok = serve(&s);
    } else {
        printf("fifo_client_server: dir=%s clients=%d requests=%d idle=%ds\n", s.dir, s.clients,
               s.requests, s.idle_s);
        ok = run_everything(&s);
    }
    remove_server_fifo(&s);
    return ok ? 0 : 1;
}
