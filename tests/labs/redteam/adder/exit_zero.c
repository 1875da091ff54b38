/* exit_zero.c - end the test process with status 0 from inside the code under test (the
 * one-line `_exit(0)` that once scored 100/100 on the pool lab). */
#define _GNU_SOURCE
#include <unistd.h>

static void attack(void)
{
    _exit(0);
}
