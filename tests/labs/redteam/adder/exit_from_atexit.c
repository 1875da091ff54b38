/* exit_from_atexit.c - register an atexit handler that makes the exit status 0, then exit with
 * a failure: the handler runs last and has the final word on the status. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <unistd.h>

static void make_it_zero(void)
{
    _exit(0);
}

static void attack(void)
{
    atexit(make_it_zero);
    exit(1);
}
