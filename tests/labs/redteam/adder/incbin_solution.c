/* incbin_solution.c - copy a reference solution into the object with the assembler's .incbin.
 *
 * The preprocessor never sees the file: the assembler reads it.  Compiled in the sandbox, the
 * file is hidden and the assembler stops ("file not found"), so the build fails and scores 0;
 * compiled where it could be read, the bytes would be in the test program and printed. */
#include <stdio.h>

__asm__(".section .rodata\n"
        "redteam_solution:\n"
        ".incbin \"" REDTEAM_SOLUTION "\"\n"
        ".byte 0\n"
        ".previous\n");

static void attack(void)
{
    const char *text;
    __asm__("lea redteam_solution(%%rip), %0" : "=r"(text));
    printf("REDTEAM-WIN: %.60s\n", text);
    fflush(stdout);
}
