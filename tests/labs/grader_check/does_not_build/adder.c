/* A submission that does not compile: the grader must score it 0 and say why. */
#include "adder.h"

long add(long a, long b)
{
    return a + b
}
