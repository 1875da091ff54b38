/* adder.c - library code of the grader's check lab (linked into its grader). */
#include "adder.h"

long add(long a, long b)
{
    return a + b;
}
