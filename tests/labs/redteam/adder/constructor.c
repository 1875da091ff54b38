/* constructor.c - run before the test program's main: a constructor that registers an atexit
 * handler (the route that once rewrote results.json to 100 from inside the grader). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <unistd.h>

static void make_it_zero(void)
{
    _exit(0);
}

__attribute__((constructor)) static void early(void)
{
    atexit(make_it_zero);
}

static void attack(void) {}
