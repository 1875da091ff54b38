/* includes_a_solution.c - read a reference solution at compile time, by its absolute path.
 *
 * The compiler reads every file the source names, wherever it is: were the student's files
 * compiled outside the sandbox, `#include "/abs/path/tests/labs/.../solution.c"` (or an .incbin,
 * or a path made from __FILE__ and "../..") would bring the instructors' code into the object.
 * REDTEAM_SOLUTION is the absolute path of one, which the test defines in front of this file. */
#include <stdio.h>

static void attack(void)
{
#if defined(__has_include)
#if __has_include(REDTEAM_SOLUTION)
    puts("REDTEAM-WIN: the compiler could read " REDTEAM_SOLUTION);
#else
    puts("the compiler found no " REDTEAM_SOLUTION);
#endif
#endif
    fflush(stdout);
}
