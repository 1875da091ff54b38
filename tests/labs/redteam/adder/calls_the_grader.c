/* calls_the_grader.c - call the framework's own "the test passed" function from the code under
 * test (it is linked into the same test program). */
#define _GNU_SOURCE
_Noreturn void grade_api_end(int verdict);

static void attack(void)
{
    grade_api_end('P');
}
