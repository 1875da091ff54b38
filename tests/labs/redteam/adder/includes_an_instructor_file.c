/* includes_an_instructor_file.c - build with a file of the instructors' folder, by its path.
 *
 * REDTEAM_INSTRUCTOR_HEADER is the absolute path of a header in tests/labs/ (the test defines
 * it in front of this file).  In the sandbox's namespaces the folder is hidden and the compiler
 * finds nothing; where there are none, the grader's own check of what the preprocessor read
 * refuses the file.  Either way the build fails and nothing is graded. */
#include <stdio.h>

#include REDTEAM_INSTRUCTOR_HEADER

static void attack(void)
{
    puts("REDTEAM-WIN: built with " REDTEAM_INSTRUCTOR_HEADER);
    fflush(stdout);
}
