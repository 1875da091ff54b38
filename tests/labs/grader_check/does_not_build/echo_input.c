/* echo_input.c - a program of the grader's check lab: copies stdin to stdout, exits 0. */
#include <stdio.h>

int main(void)
{
    int c;
    while ((c = getchar()) != EOF)
        putchar(c);
    return 0;
}
