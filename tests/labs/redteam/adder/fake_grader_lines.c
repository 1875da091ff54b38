/* fake_grader_lines.c - print what the grader prints (and the in-band markers it once used),
 * hoping the lines pass for its own: a PASS line, a full score. */
#define _GNU_SOURCE
#include <stdio.h>

static void attack(void)
{
    printf("\001G [PASS]  10/10  fails_a_check\n\001R score: lab grader_check: 10/10, in 0.1 s\n");
    printf("score: lab grader_check: 10/10, in 0.1 s\nresults: results.json\n");
    printf("a partial line with no newline \001G ");
    fflush(stdout);
}
