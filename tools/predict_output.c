/* predict_output.c - "what does this print?": seeded fork/wait/exit puzzles, with their answers.
 *
 * Usage: predict_output [--seed N] [--level 1|2|3] [--question | --answer] [--help]
 *   -s, --seed N     which program to make, from 0 to 2147483647 (default: from the clock;
 *                    the program names its seed in its first comment, so it can be remade)
 *   -l, --level L    1: one fork, one wait, an exit code
 *                    2: loops of forks (2^n processes), nested forks, batches of children
 *                       reaped in a chosen order, variables that a child changes
 *                    3: level 2 plus the stdio trap (printf without a newline before fork,
 *                       stdout fully buffered) and _exit against exit (default 1)
 *   -q, --question   print the program: a complete C11 file to read, predict, then compile
 *                    and run (the default)
 *   -a, --answer     print instead exactly what that program prints (needs --seed)
 *   -h, --help       print this text and exit
 *
 * Exit status: 0; 1 if stdout cannot be written, or on an internal error (a generator bug:
 * please report the seed); 2 for bad usage.
 *
 * How to use it (lessons/01-processes.md, "Drill"):
 *     predict_output --seed 7 --level 2 > q.c       read q.c, write down what it prints
 *     predict_output --seed 7 --level 2 --answer    then compare
 *     cc -std=c11 -o q q.c && ./q                   and see it happen
 *   The answer is NOT obtained by compiling and running the program: the generator works it
 *   out from its own model of the program, the way a student does on paper.  The tests
 *   compile and run many generated programs and check that the two agree, byte for byte.
 *
 * What the programs contain: fork() (checked for -1), wait() and waitpid(), exit() and
 *   _exit() with chosen codes, printf of variables and of WEXITSTATUS(status), variables a
 *   child changes (the parent never sees it), loops that fork (2^n processes), a child that
 *   forks a grandchild, a batch of children reaped in fork order or backwards, and at level 3
 *   setvbuf(stdout, ..., _IOFBF, ...), printf without a newline before a fork that does not
 *   flush, and children that leave with _exit (their buffered output is lost).  They compile
 *   warning-free with -std=c11 -Wall -Wextra -Wpedantic -Werror and leave no zombie.
 *
 * One correct answer: why the output of every generated program is determined.
 *   Bytes from two processes come out in a fixed order only if the program itself makes one
 *   process finish writing before the other starts.  The generator writes only code in which:
 *     1. after fork() the parent does nothing visible until it has reaped that child: between
 *        fork and waitpid it only changes variables (nobody else sees them) or forks more
 *        children that stay silent (rule 3).  wait() (any child) is used only where exactly
 *        one child can be running, so which child it returns is never in doubt;
 *     2. every process reaps all its children before it ends, so "the child has ended" means
 *        "everything it forked has ended too, and has written all it ever will" (and no
 *        process is left a zombie or an orphan);
 *     3. children that run at the same time as their siblings (a batch, reaped after the last
 *        fork) write nothing: they leave at once with _exit, or with exit and an empty stdio
 *        buffer, and hand back only an exit code, which the parent prints in the order it
 *        chooses to wait.
 *   So at any moment at most one process can write, and the program behaves as if each child
 *   ran from fork() to its end before its parent took one more visible step.  The model runs
 *   it in exactly that order, and checks the rules on the way (a process may not write while
 *   an unreaped child of its has written; two unreaped children may not both write; nobody
 *   ends with an unreaped child), so a generator bug stops with "internal error" instead of
 *   printing a wrong answer.
 *   What is ordered is writes, not printfs: printf fills the stdio buffer, and the bytes leave
 *   when it is flushed (at a newline if line-buffered, at fflush, at exit; never at _exit).
 *   Levels 1 and 2 flush before every fork, end every printf with a newline and leave with
 *   exit, so the answer is the same whether stdout is a terminal (line-buffered) or a pipe
 *   (fully buffered): the model runs both ways and checks that they agree.  Level 3 makes
 *   stdout fully buffered with setvbuf inside the program, so the trap shows the same way on
 *   a terminal as through a pipe.  Each process buffers under 1000 bytes, so no buffer ever
 *   fills up and writes on its own.
 *
 * How the answer is computed: the program is a small tree of statements (print, assign,
 *   fork-with-a-child-block, fork-where-both-continue, loop, batch).  The same tree is printed
 *   as C and compiled into a list of instructions with the loops unrolled; a model runs that
 *   list.  A model process is its instruction counter, its variables, its pid and status
 *   variables, the pids it keeps, its unreaped children and its stdio buffer; fork copies all
 *   of it, the buffer included (which is the whole stdio trap).
 *
 * Python counterpart: the same puzzles work with os.fork(), os.wait(), os.waitpid(),
 *   os.WEXITSTATUS(), sys.exit() against os._exit() (only sys.exit flushes sys.stdout), and
 *   print(..., end="") with sys.stdout block-buffered into a pipe: flush with
 *   sys.stdout.flush() before os.fork().
 *
 * See also: fork_basics.c, stdio_flush.c, wait_status.c, OSTEP's homework generators (the
 *   idea: seeded questions with a checkable answer), fork(2), wait(2), exit(3), _exit(2),
 *   setvbuf(3), lessons/01-processes.md.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/error.h"
#include "support/parse.h"

static const char usage[] =
    "Usage: predict_output [--seed N] [--level 1|2|3] [--question | --answer] [--help]\n"
    "  -s, --seed N     which program, from 0 to 2147483647 (default: from the clock;\n"
    "                   the program's first comment names it)\n"
    "  -l, --level L    1: one fork and wait; 2: loops and nested forks, variables;\n"
    "                   3: 2 plus the stdio buffer trap and _exit (default 1)\n"
    "  -q, --question   print the program to read and predict (the default)\n"
    "  -a, --answer     print exactly what that program prints (needs --seed)\n"
    "  -h, --help       print this text and exit\n";

enum { MAX_SEED = 2147483647, DEFAULT_LEVEL = 1 };

/* Sizes of one program.  They keep a question small enough to work out by hand, and every
 * array below bounded; a draw that would exceed them is thrown away and drawn again. */
enum {
    MAX_STMTS = 96,       /* statements in one program */
    MAX_BLOCK = 12,       /* statements in one block */
    MAX_PIECES = 4,       /* "text %d" pieces in one printf */
    PIECE_TEXT = 32,      /* characters of text in one piece */
    MAX_BATCH = 3,        /* children in a batch */
    MAX_CODE = 512,       /* model instructions, loops unrolled */
    MAX_PROCESSES = 16,   /* processes one run makes, the first included */
    MAX_UNREAPED = 4,     /* children one process has not reaped yet (a batch) */
    MODEL_BUFFER = 1000,  /* bytes one process may have buffered: under any real buffer */
    MAX_OUTPUT = 4096,    /* bytes of the whole answer */
    MAX_LINES = 24,       /* lines of the whole answer: more is a chore, not a question */
    MAX_VALUE = 100000,   /* any variable: small numbers keep the arithmetic by hand */
    MAX_ATTEMPTS = 200,   /* draws before giving up (each takes a fraction of a millisecond) */
    OUTPUT_BUFFER = 4096, /* level 3: the size of the generated program's stdout buffer */
};

/* ---- a program, as a tree of statements ------------------------------------------------- */

/* x and y are main's variables; i is a loop's counter, k a batch's; total sums a batch. */
enum var { VAR_X, VAR_Y, VAR_I, VAR_K, VAR_TOTAL, VAR_COUNT };
static const char *const var_name[VAR_COUNT] = {"x", "y", "i", "k", "total"};

/* A number, a variable, or WEXITSTATUS(status): the exit code of the child reaped last. */
enum operand_kind { NUMBER, VARIABLE, CHILD_STATUS };
struct operand {
    enum operand_kind kind;
    int value; /* the number, or the variable (enum var) */
};

/* a, or a + b, or a * b. */
struct expr {
    struct operand a, b;
    char op; /* '+', '*', or 0 for just a */
};

/* One printf: pieces of text, each followed by a %d or not, and maybe a newline. */
struct piece {
    char text[PIECE_TEXT];
    int has_value;
    struct operand value;
};
struct print {
    struct piece piece[MAX_PIECES];
    int count;
    int newline;
};

/* A block is a list of statements, by their index in program.stmt. */
struct block {
    int item[MAX_BLOCK];
    int count;
};

enum stmt_kind {
    STMT_PRINT,      /* printf(...) */
    STMT_ASSIGN,     /* target = value */
    STMT_FORK_CHILD, /* the child runs `child`, then exits; the parent runs `parent`, reaps it */
    STMT_FORK_BOTH,  /* both go on after the if: the child after `child`, the parent after
                        reaping it and running `parent` */
    STMT_LOOP,       /* for (i = 0; i < count; i++) `child` */
    STMT_BATCH,      /* fork `count` silent children, then reap them one by one */
};

struct stmt {
    enum stmt_kind kind;
    struct print print; /* PRINT; BATCH: the line printed for each child reaped */
    enum var target;    /* ASSIGN; BATCH with sum: total = total + WEXITSTATUS(status) */
    struct expr value;
    int flush_first;       /* forks: fflush(stdout) just before */
    struct block child;    /* see stmt_kind */
    struct block parent;   /* FORK_CHILD: between fork and wait, assignments only;
                              FORK_BOTH: after the wait */
    struct expr exit_code; /* FORK_CHILD, BATCH (may use k) */
    int quick_exit;        /* the child leaves with _exit, not exit */
    int wait_any;          /* wait(&status), not waitpid(pid, &status, 0) */
    int count;             /* LOOP: iterations; BATCH: children */
    int reverse;           /* BATCH: reap the last one forked first */
    int sum;               /* BATCH: add up the codes instead of printing each */
};

struct program {
    unsigned long seed;
    int level;
    int full_buffering;      /* level 3: setvbuf(stdout, ..., _IOFBF, ...) */
    int declared[VAR_COUNT]; /* x and y, declared at the top of main */
    int initial[VAR_COUNT];
    int uses_pid, uses_status;
    struct stmt stmt[MAX_STMTS];
    int nstmt;
    int overflow; /* too many statements: draw again */
    struct block main;
};

/* ---- drawing a program ------------------------------------------------------------------- */

/* splitmix64: a tiny generator whose numbers depend on the seed alone, never on the C
 * library (rand() differs between systems, and the same seed must give the same program). */
struct rng {
    uint64_t state;
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* A whole number from lo to hi, both included. */
static int draw(struct rng *r, int lo, int hi)
{
    return lo + (int)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

static int chance(struct rng *r, int percent)
{
    return draw(r, 1, 100) <= percent;
}

struct generator {
    struct rng rng;
    struct program *p;
    int traps; /* level 3: prints without a newline, forks without fflush, _exit */
};

/* Where a statement goes: what its process is called and what it may use there. */
struct context {
    int depth;      /* 0: main's own code; 1: a child's block; 2: a grandchild's */
    int status_set; /* status holds the code of a child this process reaped */
    int in_loop;    /* i is in scope */
};

static struct operand number(int v)
{
    return (struct operand){NUMBER, v};
}
static struct operand variable(enum var v)
{
    return (struct operand){VARIABLE, (int)v};
}
static struct operand child_status(void)
{
    return (struct operand){CHILD_STATUS, 0};
}
static struct expr just(struct operand a)
{
    return (struct expr){a, number(0), 0};
}
static struct expr both(struct operand a, char op, struct operand b)
{
    return (struct expr){a, b, op};
}

/* A new statement at the end of block b.  When the program is full, a scratch statement
 * takes the writes and the draw is marked to be thrown away. */
static struct stmt *add_stmt(struct generator *g, struct block *b, enum stmt_kind kind)
{
    static struct stmt scratch;
    struct program *p = g->p;
    if (p->nstmt == MAX_STMTS || b->count == MAX_BLOCK) {
        p->overflow = 1;
        memset(&scratch, 0, sizeof scratch);
        return &scratch;
    }
    struct stmt *s = &p->stmt[p->nstmt];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    b->item[b->count++] = p->nstmt++;
    return s;
}

static void print_piece(struct print *pr, const char *text, int has_value, struct operand v)
{
    if (pr->count == MAX_PIECES)
        return;
    struct piece *pc = &pr->piece[pr->count++];
    snprintf(pc->text, sizeof pc->text, "%s", text);
    pc->has_value = has_value;
    pc->value = v;
}

/* One of main's variables, at random (x when there is no y). */
static enum var some_variable(struct generator *g)
{
    return g->p->declared[VAR_Y] && chance(&g->rng, 50) ? VAR_Y : VAR_X;
}

/* "who: x=4 y=7": one variable or both (all with `every`). */
static void add_print_variables(struct generator *g, struct block *b, const char *who, int every,
                                int newline)
{
    struct stmt *s = add_stmt(g, b, STMT_PRINT);
    char text[PIECE_TEXT];
    int with_y = g->p->declared[VAR_Y] && (every || chance(&g->rng, 40));
    enum var first = with_y || every ? VAR_X : some_variable(g);
    snprintf(text, sizeof text, "%s: %s=", who, var_name[first]);
    print_piece(&s->print, text, 1, variable(first));
    if (with_y && first == VAR_X)
        print_piece(&s->print, " y=", 1, variable(VAR_Y));
    if (!newline) /* a line left open: a space keeps what comes next readable */
        print_piece(&s->print, " ", 0, number(0));
    s->print.newline = newline;
}

/* Level 3's bait: a few characters without a newline, which wait in the stdio buffer. */
static void add_print_unfinished(struct generator *g, struct block *b, const struct context *c)
{
    static const char *const words[] = {"hello ", "tick ", "A ", "ping ", "go "};
    struct stmt *s = add_stmt(g, b, STMT_PRINT);
    if (c->in_loop && chance(&g->rng, 50)) {
        print_piece(&s->print, "i=", 1, variable(VAR_I));
        print_piece(&s->print, " ", 0, number(0));
    } else if (chance(&g->rng, 50)) {
        print_piece(&s->print, words[draw(&g->rng, 0, 4)], 0, number(0));
    } else {
        print_piece(&s->print, "x=", 1, variable(VAR_X));
        print_piece(&s->print, " ", 0, number(0));
    }
    s->print.newline = 0;
}

/* "who: child exited with 3", sometimes with a variable after it. */
static void add_print_status(struct generator *g, struct block *b, const char *who,
                             const char *whose)
{
    struct stmt *s = add_stmt(g, b, STMT_PRINT);
    char text[PIECE_TEXT];
    snprintf(text, sizeof text, "%s: %s exited with ", who, whose);
    print_piece(&s->print, text, 1, child_status());
    if (chance(&g->rng, 50)) {
        enum var v = some_variable(g);
        snprintf(text, sizeof text, ", %s=", var_name[v]);
        print_piece(&s->print, text, 1, variable(v));
    }
    s->print.newline = 1;
}

/* target = something small of target, i, or the last child's exit code. */
static void add_assign(struct generator *g, struct block *b, const struct context *c,
                       enum var target)
{
    struct stmt *s = add_stmt(g, b, STMT_ASSIGN);
    s->target = target;
    int pick = draw(&g->rng, 0, 9);
    if (pick < 4)
        s->value = both(variable(target), '+', number(draw(&g->rng, 1, 9)));
    else if (pick < 6)
        s->value = both(variable(target), '*', number(draw(&g->rng, 2, 3)));
    else if (pick < 8 && c->in_loop)
        s->value = both(variable(target), '+', variable(VAR_I));
    else if (pick < 8 && c->status_set)
        s->value = both(variable(target), '+', child_status());
    else
        s->value = just(number(draw(&g->rng, 10, 60)));
}

/* The code a child passes to exit: a number, x, its own child's code plus one, and at level 3
 * sometimes more than 255, of which the parent sees only the low 8 bits. */
static struct expr draw_exit_code(struct generator *g, const struct context *c)
{
    int pick = draw(&g->rng, 0, 9);
    if (g->traps && pick < 2)
        return chance(&g->rng, 50) ? just(number(draw(&g->rng, 256, 300)))
                                   : both(variable(VAR_X), '+', number(250));
    if (c->status_set && pick < 5)
        return both(child_status(), '+', number(draw(&g->rng, 1, 9)));
    if (pick < 5)
        return just(variable(VAR_X));
    return just(number(draw(&g->rng, 0, 42)));
}

/* A fork whose child runs a block and exits; the parent reaps it at once.  With nest, the
 * child forks a grandchild of its own the same way. */
static void add_fork_child(struct generator *g, struct block *b, struct context *c, int nest)
{
    struct program *p = g->p;
    struct context child = {c->depth + 1, c->status_set, c->in_loop};
    const char *me = c->depth == 0 ? "parent" : "child";
    const char *it = child.depth == 1 ? "child" : "grandchild";
    if (g->traps && chance(&g->rng, 50))
        add_print_unfinished(g, b, c); /* waits in the buffer: is it flushed before fork? */

    struct stmt *s = add_stmt(g, b, STMT_FORK_CHILD);
    p->uses_pid = p->uses_status = 1;
    s->flush_first = !g->traps || chance(&g->rng, 40);
    if (chance(&g->rng, 30)) /* the child's view before it changes anything */
        add_print_variables(g, &s->child, it, 0, 1);
    if (chance(&g->rng, 75))
        add_assign(g, &s->child, &child, some_variable(g));
    add_print_variables(g, &s->child, it, 0, !g->traps || chance(&g->rng, 70));
    if (nest) {
        add_fork_child(g, &s->child, &child, 0);
        if (chance(&g->rng, 50))
            add_assign(g, &s->child, &child, some_variable(g));
    }
    s->exit_code = draw_exit_code(g, &child);
    s->quick_exit = g->traps && chance(&g->rng, 50);
    if (chance(&g->rng, 30)) /* the parent's change, made while the child runs */
        add_assign(g, &s->parent, c, some_variable(g));
    s->wait_any = chance(&g->rng, 40);
    c->status_set = 1;
    add_print_status(g, b, me, it);
}

/* A fork after which parent and child both go on with the rest of the program; the parent
 * first reaps the child (which has then run the rest of the program). */
static void add_fork_both(struct generator *g, struct block *b, const struct context *c)
{
    struct program *p = g->p;
    struct stmt *s = add_stmt(g, b, STMT_FORK_BOTH);
    p->uses_pid = p->uses_status = 1;
    s->flush_first = !g->traps || chance(&g->rng, 40);
    struct context child = *c, parent = *c;
    if (chance(&g->rng, 70))
        add_assign(g, &s->child, &child, some_variable(g));
    parent.status_set = 1;
    if (!c->in_loop && chance(&g->rng, 60))
        add_print_status(g, &s->parent, "parent", "child");
    if (chance(&g->rng, 40))
        add_assign(g, &s->parent, &parent, some_variable(g));
    s->wait_any = chance(&g->rng, 40);
}

/* for (i = 0; i < count; i++) { fork, and both go on }: 2^count processes at the end. */
static void add_loop(struct generator *g, struct block *b, const struct context *c, int count)
{
    struct stmt *s = add_stmt(g, b, STMT_LOOP);
    s->count = count;
    struct context body = *c;
    body.in_loop = 1;
    if (g->traps && chance(&g->rng, 60))
        add_print_unfinished(g, &s->child, &body);
    add_fork_both(g, &s->child, &body);
    if (count == 2 || chance(&g->rng, 30)) { /* 2 + 4 (+ 8) lines: enough to count */
        struct stmt *shown = add_stmt(g, &s->child, STMT_PRINT);
        print_piece(&shown->print, "loop i=", 1, variable(VAR_I));
        enum var v = some_variable(g);
        char text[PIECE_TEXT];
        snprintf(text, sizeof text, ": %s=", var_name[v]);
        print_piece(&shown->print, text, 1, variable(v));
        shown->print.newline = !g->traps || chance(&g->rng, 70);
    }
}

/* Fork `count` children that only exit with a code, then reap them in a chosen order. */
static void add_batch(struct generator *g, struct block *b, struct context *c)
{
    struct stmt *s = add_stmt(g, b, STMT_BATCH);
    g->p->uses_status = 1;
    s->count = draw(&g->rng, 2, MAX_BATCH);
    s->flush_first = !g->traps || chance(&g->rng, 50);
    int pick = draw(&g->rng, 0, 3);
    if (g->traps && pick == 0)
        s->exit_code = both(variable(VAR_K), '*', number(draw(&g->rng, 100, 200)));
    else if (pick <= 1)
        s->exit_code = both(variable(VAR_K), '+', number(draw(&g->rng, 1, 20)));
    else if (pick == 2)
        s->exit_code = both(variable(VAR_K), '*', number(draw(&g->rng, 2, 10)));
    else
        s->exit_code = both(variable(VAR_X), '+', variable(VAR_K));
    /* Rule 3: these children run side by side, so they must write nothing.  exit() would
     * write what the parent left in the buffer, so they use it only after a flush. */
    s->quick_exit = g->traps && (!s->flush_first || chance(&g->rng, 50));
    s->reverse = chance(&g->rng, 40);
    s->sum = chance(&g->rng, 40);
    c->status_set = 1;
    if (s->sum) {
        s->target = VAR_TOTAL;
        s->value = both(variable(VAR_TOTAL), '+', child_status());
        struct stmt *shown = add_stmt(g, b, STMT_PRINT);
        print_piece(&shown->print, "the exit codes add up to ", 1, variable(VAR_TOTAL));
        shown->print.newline = 1;
    } else {
        print_piece(&s->print, "child ", 1, variable(VAR_K));
        print_piece(&s->print, " exited with ", 1, child_status());
        s->print.newline = 1;
    }
}

/* The episodes a level 2 or 3 program is made of.  A loop or a fork-where-both-go-on
 * multiplies the processes that run everything after it, so a program has at most one. */
enum episode { EPISODE_LOOP, EPISODE_FORK_BOTH, EPISODE_NESTED, EPISODE_CHILD, EPISODE_BATCH };

static void add_episode(struct generator *g, struct block *b, struct context *c, enum episode e,
                        int last)
{
    switch (e) {
    case EPISODE_LOOP: add_loop(g, b, c, last && chance(&g->rng, 50) ? 3 : 2); break;
    case EPISODE_FORK_BOTH: add_fork_both(g, b, c); break;
    case EPISODE_NESTED: add_fork_child(g, b, c, 1); break;
    case EPISODE_CHILD: add_fork_child(g, b, c, 0); break;
    case EPISODE_BATCH: add_batch(g, b, c); break;
    }
}

/* Draw a whole program for this level into g->p. */
static void draw_program(struct generator *g, unsigned long seed, int level)
{
    struct program *p = g->p;
    memset(p, 0, sizeof *p);
    p->seed = seed;
    p->level = level;
    p->full_buffering = g->traps = level == 3;
    p->declared[VAR_X] = 1;
    p->declared[VAR_Y] = level > 1 ? chance(&g->rng, 70) : chance(&g->rng, 40);
    p->initial[VAR_X] = draw(&g->rng, 1, 9);
    p->initial[VAR_Y] = draw(&g->rng, 10, 20);

    struct context c = {0, 0, 0};
    add_print_variables(g, &p->main, "start", 1, !g->traps || chance(&g->rng, 60));
    if (level == 1) {
        add_fork_child(g, &p->main, &c, 0);
    } else {
        enum episode menu[] = {EPISODE_LOOP, EPISODE_FORK_BOTH, EPISODE_NESTED, EPISODE_CHILD,
                               EPISODE_BATCH};
        int n = sizeof menu / sizeof menu[0];
        for (int i = n - 1; i > 0; i--) { /* shuffle, then take the first two or three */
            int j = draw(&g->rng, 0, i);
            enum episode t = menu[i];
            menu[i] = menu[j];
            menu[j] = t;
        }
        int episodes = chance(&g->rng, 30) ? 3 : 2, multiplied = 0;
        for (int i = 0, taken = 0; i < n && taken < episodes; i++) {
            int multiplies = menu[i] == EPISODE_LOOP || menu[i] == EPISODE_FORK_BOTH;
            if (multiplies && multiplied)
                continue;
            multiplied |= multiplies;
            if (taken > 0 && chance(&g->rng, 40))
                add_assign(g, &p->main, &c, some_variable(g));
            taken++;
            add_episode(g, &p->main, &c, menu[i], taken == episodes);
        }
    }
    if (level == 1 && chance(&g->rng, 50)) { /* the exit code is data the parent may use */
        struct stmt *s = add_stmt(g, &p->main, STMT_ASSIGN);
        s->target = VAR_X;
        s->value = both(variable(VAR_X), '+', child_status());
    }
    add_print_variables(g, &p->main, "end", 0, 1);
}

/* ---- printing the program as C ------------------------------------------------------------ */

static void line(FILE *out, int indent, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void line(FILE *out, int indent, const char *fmt, ...)
{
    fprintf(out, "%*s", indent * 4, "");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
}

static void operand_text(struct operand o, char *buf, size_t size)
{
    if (o.kind == NUMBER)
        snprintf(buf, size, "%d", o.value);
    else if (o.kind == VARIABLE)
        snprintf(buf, size, "%s", var_name[o.value]);
    else
        snprintf(buf, size, "WEXITSTATUS(status)");
}

static void expr_text(const struct expr *e, char *buf, size_t size)
{
    char a[32], b[32];
    operand_text(e->a, a, sizeof a);
    operand_text(e->b, b, sizeof b);
    if (e->op)
        snprintf(buf, size, "%s %c %s", a, e->op, b);
    else
        snprintf(buf, size, "%s", a);
}

/* printf("text %d text\n", a, ...); the texts hold no '%', '"' or '\'. */
static void emit_print(FILE *out, int indent, const struct print *pr)
{
    char format[MAX_PIECES * (PIECE_TEXT + 2) + 4] = "", args[MAX_PIECES * 24] = "";
    for (int i = 0; i < pr->count; i++) {
        strcat(format, pr->piece[i].text);
        if (pr->piece[i].has_value) {
            char value[24];
            operand_text(pr->piece[i].value, value, sizeof value);
            strcat(format, "%d");
            strcat(args, ", ");
            strcat(args, value);
        }
    }
    if (pr->newline)
        strcat(format, "\\n");
    line(out, indent, "printf(\"%s\"%s);", format, args);
}

static void emit_flush(FILE *out, int indent)
{
    line(out, indent, "if (fflush(stdout) == EOF)");
    line(out, indent + 1, "fail(\"fflush\");");
}

static void emit_wait(FILE *out, int indent, int wait_any)
{
    if (wait_any) {
        line(out, indent, "if (wait(&status) == -1)");
        line(out, indent + 1, "fail(\"wait\");");
    } else {
        line(out, indent, "if (waitpid(pid, &status, 0) == -1)");
        line(out, indent + 1, "fail(\"waitpid\");");
    }
}

static void emit_block(FILE *out, int indent, const struct program *p, const struct block *b);

static void emit_fork(FILE *out, int indent, const struct stmt *s)
{
    if (s->flush_first)
        emit_flush(out, indent);
    line(out, indent, "pid = fork();");
    line(out, indent, "if (pid == -1)");
    line(out, indent + 1, "fail(\"fork\");");
}

static void emit_batch(FILE *out, int indent, const struct stmt *s)
{
    char code[80], value[80];
    expr_text(&s->exit_code, code, sizeof code);
    line(out, indent, "pid_t pids[%d];", s->count);
    if (s->sum)
        line(out, indent, "int total = 0;");
    if (s->flush_first)
        emit_flush(out, indent);
    line(out, indent, "for (int k = 0; k < %d; k++) {", s->count);
    line(out, indent + 1, "pids[k] = fork();");
    line(out, indent + 1, "if (pids[k] == -1)");
    line(out, indent + 2, "fail(\"fork\");");
    line(out, indent + 1, "if (pids[k] == 0)");
    line(out, indent + 2, "%s(%s);", s->quick_exit ? "_exit" : "exit", code);
    line(out, indent, "}");
    if (s->reverse)
        line(out, indent, "for (int k = %d; k >= 0; k--) {", s->count - 1);
    else
        line(out, indent, "for (int k = 0; k < %d; k++) {", s->count);
    line(out, indent + 1, "if (waitpid(pids[k], &status, 0) == -1)");
    line(out, indent + 2, "fail(\"waitpid\");");
    if (s->sum) {
        expr_text(&s->value, value, sizeof value);
        line(out, indent + 1, "%s = %s;", var_name[s->target], value);
    } else {
        emit_print(out, indent + 1, &s->print);
    }
    line(out, indent, "}");
}

static void emit_stmt(FILE *out, int indent, const struct program *p, const struct stmt *s)
{
    char text[80];
    switch (s->kind) {
    case STMT_PRINT: emit_print(out, indent, &s->print); break;
    case STMT_ASSIGN:
        expr_text(&s->value, text, sizeof text);
        line(out, indent, "%s = %s;", var_name[s->target], text);
        break;
    case STMT_FORK_CHILD:
        emit_fork(out, indent, s);
        line(out, indent, "if (pid == 0) {");
        emit_block(out, indent + 1, p, &s->child);
        expr_text(&s->exit_code, text, sizeof text);
        line(out, indent + 1, "%s(%s);", s->quick_exit ? "_exit" : "exit", text);
        line(out, indent, "}");
        emit_block(out, indent, p, &s->parent);
        emit_wait(out, indent, s->wait_any);
        break;
    case STMT_FORK_BOTH:
        emit_fork(out, indent, s);
        if (s->child.count > 0) {
            line(out, indent, "if (pid == 0) {");
            emit_block(out, indent + 1, p, &s->child);
            line(out, indent, "} else {");
        } else {
            line(out, indent, "if (pid > 0) {");
        }
        emit_wait(out, indent + 1, s->wait_any);
        emit_block(out, indent + 1, p, &s->parent);
        line(out, indent, "}");
        break;
    case STMT_LOOP:
        line(out, indent, "for (int i = 0; i < %d; i++) {", s->count);
        emit_block(out, indent + 1, p, &s->child);
        line(out, indent, "}");
        break;
    case STMT_BATCH: emit_batch(out, indent, s); break;
    }
}

static void emit_block(FILE *out, int indent, const struct program *p, const struct block *b)
{
    for (int i = 0; i < b->count; i++)
        emit_stmt(out, indent, p, &p->stmt[b->item[i]]);
}

static void emit_program(FILE *out, const struct program *p)
{
    char command[64];
    snprintf(command, sizeof command, "predict_output --seed %lu --level %d", p->seed, p->level);
    fprintf(out, "/* Made by %s (forklore).\n *\n", command);
    fprintf(out, " * What does this program print?  Work it out and write it down, then check:\n");
    fprintf(out, " *     %s --answer\n", command);
    fprintf(out, " * or compile and run it:  cc -std=c11 -o question question.c && ./question\n");
    fprintf(out, " */\n");
    fprintf(out, "#define _POSIX_C_SOURCE 200809L\n#include <stdio.h>\n#include <stdlib.h>\n"
                 "#include <sys/types.h>\n#include <sys/wait.h>\n#include <unistd.h>\n\n");
    if (p->full_buffering)
        fprintf(out, "static char stdout_buffer[%d];\n\n", OUTPUT_BUFFER);
    fprintf(out, "/* Every call is checked: a failure ends the program, with the reason. */\n"
                 "static void fail(const char *call)\n{\n    perror(call);\n"
                 "    exit(EXIT_FAILURE);\n}\n\nint main(void)\n{\n");
    if (p->full_buffering) {
        line(out, 1, "/* Fully buffered, on a terminal as in a pipe: what printf prints waits in");
        line(out, 1, " * stdout_buffer until fflush or exit writes it out. */");
        line(out, 1, "if (setvbuf(stdout, stdout_buffer, _IOFBF, sizeof stdout_buffer) != 0)");
        line(out, 2, "fail(\"setvbuf\");");
    }
    for (int v = 0; v < VAR_COUNT; v++)
        if (p->declared[v])
            line(out, 1, "int %s = %d;", var_name[v], p->initial[v]);
    if (p->uses_status)
        line(out, 1, "int status = 0;");
    if (p->uses_pid)
        line(out, 1, "pid_t pid;");
    fputc('\n', out);
    emit_block(out, 1, p, &p->main);
    line(out, 1, "return 0;");
    fprintf(out, "}\n");
}

/* ---- the model: the program compiled to instructions, and run --------------------------- */

enum op {
    OP_PRINT,       /* stmt->print */
    OP_ASSIGN,      /* stmt->target = stmt->value */
    OP_SET,         /* variable a = b (a loop's i, a batch's k and total) */
    OP_FLUSH,       /* fflush(stdout) */
    OP_FORK,        /* pid = fork() */
    OP_PARENT_GOTO, /* if (pid != 0) go to a */
    OP_GOTO,        /* go to a */
    OP_WAIT,        /* waitpid(pid, &status, 0) */
    OP_WAIT_ANY,    /* wait(&status) */
    OP_KEEP_PID,    /* pids[a] = pid */
    OP_WAIT_KEPT,   /* waitpid(pids[a], &status, 0) */
    OP_EXIT,        /* exit or _exit (stmt->quick_exit) with stmt->exit_code */
    OP_END,         /* return 0 from main: exit(0) */
};

struct insn {
    enum op op;
    const struct stmt *stmt;
    int a, b;
};

struct code {
    struct insn insn[MAX_CODE];
    int count;
    int overflow;
};

static int add_insn(struct code *code, enum op op, const struct stmt *s, int a, int b)
{
    if (code->count == MAX_CODE) {
        code->overflow = 1;
        return 0;
    }
    code->insn[code->count] = (struct insn){op, s, a, b};
    return code->count++;
}

static void compile_block(struct code *code, const struct program *p, const struct block *b);

/* The fork, then the child's part; returns the jump the parent takes over it. */
static int compile_fork(struct code *code, const struct stmt *s)
{
    if (s->flush_first)
        add_insn(code, OP_FLUSH, s, 0, 0);
    add_insn(code, OP_FORK, s, 0, 0);
    return add_insn(code, OP_PARENT_GOTO, s, 0, 0);
}

static void compile_batch(struct code *code, const struct stmt *s)
{
    if (s->sum)
        add_insn(code, OP_SET, s, VAR_TOTAL, 0);
    if (s->flush_first)
        add_insn(code, OP_FLUSH, s, 0, 0);
    for (int k = 0; k < s->count; k++) {
        add_insn(code, OP_SET, s, VAR_K, k);
        add_insn(code, OP_FORK, s, 0, 0);
        int over = add_insn(code, OP_PARENT_GOTO, s, 0, 0);
        add_insn(code, OP_EXIT, s, 0, 0);
        code->insn[over].a = code->count;
        add_insn(code, OP_KEEP_PID, s, k, 0);
    }
    for (int n = 0; n < s->count; n++) {
        int k = s->reverse ? s->count - 1 - n : n;
        add_insn(code, OP_SET, s, VAR_K, k);
        add_insn(code, OP_WAIT_KEPT, s, k, 0);
        add_insn(code, s->sum ? OP_ASSIGN : OP_PRINT, s, 0, 0);
    }
}

static void compile_stmt(struct code *code, const struct program *p, const struct stmt *s)
{
    int over, end;
    switch (s->kind) {
    case STMT_PRINT: add_insn(code, OP_PRINT, s, 0, 0); break;
    case STMT_ASSIGN: add_insn(code, OP_ASSIGN, s, 0, 0); break;
    case STMT_FORK_CHILD:
        over = compile_fork(code, s);
        compile_block(code, p, &s->child);
        add_insn(code, OP_EXIT, s, 0, 0);
        code->insn[over].a = code->count;
        compile_block(code, p, &s->parent);
        add_insn(code, s->wait_any ? OP_WAIT_ANY : OP_WAIT, s, 0, 0);
        break;
    case STMT_FORK_BOTH:
        over = compile_fork(code, s);
        compile_block(code, p, &s->child);
        end = add_insn(code, OP_GOTO, s, 0, 0);
        code->insn[over].a = code->count;
        add_insn(code, s->wait_any ? OP_WAIT_ANY : OP_WAIT, s, 0, 0);
        compile_block(code, p, &s->parent);
        code->insn[end].a = code->count;
        break;
    case STMT_LOOP: /* unrolled: i is set before each copy of the body */
        for (int i = 0; i < s->count; i++) {
            add_insn(code, OP_SET, s, VAR_I, i);
            compile_block(code, p, &s->child);
        }
        break;
    case STMT_BATCH: compile_batch(code, s); break;
    }
}

static void compile_block(struct code *code, const struct program *p, const struct block *b)
{
    for (int i = 0; i < b->count; i++)
        compile_stmt(code, p, &p->stmt[b->item[i]]);
}

static void compile_program(struct code *code, const struct program *p)
{
    memset(code, 0, sizeof *code);
    compile_block(code, p, &p->main);
    add_insn(code, OP_END, NULL, 0, 0);
}

/* A child this process has forked and not reaped yet.  The model has already run it to its
 * end (rule 1 makes that the same as the real order), so its code is known. */
struct child_record {
    int id;
    int code;
    int wrote; /* it, or a descendant of it, wrote to stdout */
};

struct process {
    int pc;
    int var[VAR_COUNT];
    int pid;    /* the variable pid: 0 in a child, the child's id in its parent */
    int status; /* what WEXITSTATUS(status) gives: the last reaped child's exit code */
    int kept[MAX_BATCH];
    struct child_record unreaped[MAX_UNREAPED];
    int nunreaped;
    int wrote;
    size_t buffered;
    char buffer[MODEL_BUFFER]; /* the stdio buffer: fork copies it, like everything else */
};

enum verdict { MODEL_OK, MODEL_TOO_BIG, MODEL_BROKEN };

struct model {
    const struct code *code;
    int line_buffered; /* stdout is a terminal (levels 1 and 2 are run both ways) */
    enum verdict verdict;
    char why[160];
    int processes;
    size_t out_len;
    char out[MAX_OUTPUT];
};

/* Stop the run: the program is too big (draw another), or broken (a generator bug). */
static void model_stops(struct model *m, enum verdict v, const char *why)
{
    if (m->verdict == MODEL_OK) {
        m->verdict = v;
        snprintf(m->why, sizeof m->why, "%s", why);
    }
}

static int operand_value(const struct process *pr, struct operand o)
{
    if (o.kind == NUMBER)
        return o.value;
    if (o.kind == VARIABLE)
        return pr->var[o.value];
    return pr->status;
}

static int evaluate(struct model *m, const struct process *pr, const struct expr *e)
{
    long a = operand_value(pr, e->a), b = operand_value(pr, e->b);
    long v = e->op == '+' ? a + b : e->op == '*' ? a * b : a;
    if (v > MAX_VALUE || v < -MAX_VALUE) {
        model_stops(m, MODEL_TOO_BIG, "a value grows too large");
        return 0;
    }
    return (int)v;
}

/* write(2) of the whole buffer, as fflush and exit do.  Rule 1 checked: no child that wrote
 * may still be unreaped, or its bytes and these would race. */
static void write_buffer(struct model *m, struct process *pr)
{
    if (pr->buffered == 0)
        return;
    for (int c = 0; c < pr->nunreaped; c++)
        if (pr->unreaped[c].wrote)
            model_stops(m, MODEL_BROKEN, "a process writes while a child that wrote runs");
    if (m->out_len + pr->buffered >= MAX_OUTPUT) {
        model_stops(m, MODEL_TOO_BIG, "the output is too long");
        return;
    }
    memcpy(m->out + m->out_len, pr->buffer, pr->buffered);
    m->out_len += pr->buffered;
    pr->buffered = 0;
    pr->wrote = 1;
}

/* printf: into the buffer; out at once only if line-buffered and the text ends a line. */
static void model_print(struct model *m, struct process *pr, const struct print *print)
{
    char text[MODEL_BUFFER];
    size_t len = 0;
    for (int i = 0; i < print->count; i++) {
        const struct piece *pc = &print->piece[i];
        len += (size_t)snprintf(text + len, sizeof text - len, "%s", pc->text);
        if (pc->has_value)
            len +=
                (size_t)snprintf(text + len, sizeof text - len, "%d", operand_value(pr, pc->value));
    }
    if (print->newline)
        text[len++] = '\n';
    if (pr->buffered + len >= MODEL_BUFFER) {
        model_stops(m, MODEL_TOO_BIG, "too much output in one buffer");
        return;
    }
    memcpy(pr->buffer + pr->buffered, text, len);
    pr->buffered += len;
    if (m->line_buffered && print->newline)
        write_buffer(m, pr);
}

static int run_process(struct model *m, struct process *pr);

/* fork(): the child is a copy; it runs to its end now (rule 1: the parent shows nothing
 * until it has reaped it), and the parent keeps what it needs to reap it later. */
static void model_fork(struct model *m, struct process *pr)
{
    if (++m->processes > MAX_PROCESSES) {
        model_stops(m, MODEL_TOO_BIG, "too many processes");
        return;
    }
    if (pr->nunreaped == MAX_UNREAPED) {
        model_stops(m, MODEL_BROKEN, "too many unreaped children");
        return;
    }
    struct process child = *pr; /* variables, kept pids, stdio buffer: all copied */
    child.pid = 0;
    child.nunreaped = 0;
    child.wrote = 0;
    int id = m->processes;
    int code = run_process(m, &child);
    if (child.wrote) /* rule 3: at most one running child may write */
        for (int c = 0; c < pr->nunreaped; c++)
            if (pr->unreaped[c].wrote)
                model_stops(m, MODEL_BROKEN, "two children that write run at once");
    pr->unreaped[pr->nunreaped++] = (struct child_record){id, code, child.wrote};
    pr->pid = id;
}

/* waitpid for the child `id`: its code goes into status, and what it wrote is now behind us. */
static void model_reap(struct model *m, struct process *pr, int id)
{
    for (int c = 0; c < pr->nunreaped; c++) {
        if (pr->unreaped[c].id != id)
            continue;
        pr->status = pr->unreaped[c].code;
        pr->wrote |= pr->unreaped[c].wrote;
        pr->unreaped[c] = pr->unreaped[--pr->nunreaped];
        return;
    }
    model_stops(m, MODEL_BROKEN, "waits for a child it does not have");
}

/* exit flushes stdio, _exit does not.  Rule 2: nobody ends with an unreaped child. */
static int model_exit(struct model *m, struct process *pr, int quick, int code)
{
    if (!quick)
        write_buffer(m, pr);
    if (pr->nunreaped > 0)
        model_stops(m, MODEL_BROKEN, "a process ends without reaping its children");
    return code & 0xff; /* the parent sees only the low 8 bits */
}

/* Run one process from its pc to its end; return its exit code. */
static int run_process(struct model *m, struct process *pr)
{
    const struct code *code = m->code;
    while (m->verdict == MODEL_OK && pr->pc < code->count) {
        const struct insn *in = &code->insn[pr->pc++];
        const struct stmt *s = in->stmt;
        switch (in->op) {
        case OP_PRINT: model_print(m, pr, &s->print); break;
        case OP_ASSIGN: pr->var[s->target] = evaluate(m, pr, &s->value); break;
        case OP_SET: pr->var[in->a] = in->b; break;
        case OP_FLUSH: write_buffer(m, pr); break;
        case OP_FORK: model_fork(m, pr); break;
        case OP_PARENT_GOTO: pr->pc = pr->pid != 0 ? in->a : pr->pc; break;
        case OP_GOTO: pr->pc = in->a; break;
        case OP_WAIT: model_reap(m, pr, pr->pid); break;
        case OP_WAIT_ANY: /* wait() returns any child: only one may be running */
            if (pr->nunreaped != 1)
                model_stops(m, MODEL_BROKEN, "wait() with several children running");
            else
                model_reap(m, pr, pr->unreaped[0].id);
            break;
        case OP_KEEP_PID: pr->kept[in->a] = pr->pid; break;
        case OP_WAIT_KEPT: model_reap(m, pr, pr->kept[in->a]); break;
        case OP_EXIT: return model_exit(m, pr, s->quick_exit, evaluate(m, pr, &s->exit_code));
        case OP_END: return model_exit(m, pr, 0, 0);
        }
    }
    model_stops(m, MODEL_BROKEN, "a process ran past the end of main");
    return 0;
}

static void run_model(struct model *m, const struct program *p, const struct code *code,
                      int line_buffered)
{
    memset(m, 0, sizeof *m);
    m->code = code;
    m->line_buffered = line_buffered;
    m->processes = 1;
    static struct process first; /* static: a process holds its whole buffer */
    memset(&first, 0, sizeof first);
    memcpy(first.var, p->initial, sizeof first.var);
    if (run_process(m, &first) != 0)
        model_stops(m, MODEL_BROKEN, "main does not end with 0");
    int lines = 0;
    for (size_t i = 0; i < m->out_len; i++)
        lines += m->out[i] == '\n';
    if (lines > MAX_LINES)
        model_stops(m, MODEL_TOO_BIG, "too many lines");
}

/* ---- main ------------------------------------------------------------------------------- */

/* The program for this seed and level, and its answer.  Draws that come out too big are
 * thrown away; the random stream goes on, so the result still depends on the seed alone. */
static void make_question(unsigned long seed, int level, struct program *p, struct model *answer)
{
    static struct code code;
    static struct model terminal;
    struct generator g = {.rng = {seed * 4 + (uint64_t)level}, .p = p};
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        draw_program(&g, seed, level);
        if (p->overflow)
            continue;
        compile_program(&code, p);
        if (code.overflow)
            continue;
        run_model(answer, p, &code, 0);
        if (answer->verdict == MODEL_OK && !p->full_buffering) {
            run_model(&terminal, p, &code, 1); /* the same answer on a terminal? */
            if (terminal.verdict == MODEL_OK &&
                (terminal.out_len != answer->out_len ||
                 memcmp(terminal.out, answer->out, answer->out_len) != 0))
                model_stops(answer, MODEL_BROKEN, "the output depends on the buffering");
            else if (terminal.verdict != MODEL_OK)
                model_stops(answer, terminal.verdict, terminal.why);
        }
        if (answer->verdict == MODEL_OK)
            return;
        if (answer->verdict == MODEL_BROKEN) {
            note("internal error: --seed %lu --level %d: %s", seed, level, answer->why);
            exit(EXIT_FAILURE);
        }
    }
    note("internal error: --seed %lu --level %d: no program within the limits", seed, level);
    exit(EXIT_FAILURE);
}

struct settings {
    unsigned long seed;
    int seed_given;
    int level;
    int answer;
};

static struct settings parse_arguments(int argc, char *argv[])
{
    static const struct option options[] = {
        {"seed", required_argument, NULL, 's'}, {"level", required_argument, NULL, 'l'},
        {"question", no_argument, NULL, 'q'},   {"answer", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    struct settings s = {0, 0, DEFAULT_LEVEL, 0};
    int question = 0;
    opterr = 0; /* we print our own one-line reasons */
    int c;
    while ((c = getopt_long(argc, argv, ":s:l:qah", options, NULL)) != -1) {
        switch (c) {
        case 's':
            s.seed = (unsigned long)parse_long(optarg, "--seed", 0, MAX_SEED, usage);
            s.seed_given = 1;
            break;
        case 'l': s.level = (int)parse_long(optarg, "--level", 1, 3, usage); break;
        case 'q': question = 1; break;
        case 'a': s.answer = 1; break;
        case 'h': fputs(usage, stdout); exit(EXIT_SUCCESS);
        case ':': usage_error(usage, "option %s needs a value", argv[optind - 1]);
        case '?':
        default: usage_error(usage, "unknown option %s", argv[optind - 1]);
        }
    }
    no_more_arguments(argc, argv, usage);
    if (question && s.answer)
        usage_error(usage, "--question and --answer: choose one");
    if (s.answer && !s.seed_given) /* an answer to a program nobody has seen */
        usage_error(usage, "--answer needs --seed: the seed of the program to answer");
    if (!s.seed_given) /* a different program each time; the comment says which */
        s.seed = ((unsigned long)time(NULL) * 2654435761u + (unsigned long)getpid()) % 1000000;
    return s;
}

int main(int argc, char *argv[])
{
    set_program_name(argv[0]);
    struct settings s = parse_arguments(argc, argv);
    static struct program program; /* static: a program is some 40 KiB */
    static struct model answer;
    make_question(s.seed, s.level, &program, &answer);
    if (s.answer)
        fwrite(answer.out, 1, answer.out_len, stdout);
    else
        emit_program(stdout, &program);
    if (fflush(stdout) == EOF || ferror(stdout))
        die("writing to stdout");
    return EXIT_SUCCESS;
}
