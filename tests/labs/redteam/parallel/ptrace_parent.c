/* ptrace_parent.c - appended to the parallel lab's starter code: a constructor that attaches to
 * its parent (the test process that started parallel) with ptrace, as root once could, to make
 * it report success.  Here it only tries, and says "REDTEAM-WIN" if the attach worked. */
#include <sys/ptrace.h>
#include <sys/wait.h>

__attribute__((constructor)) static void attach_to_parent(void)
{
    pid_t parent = getppid();
    if (ptrace(PTRACE_ATTACH, parent, NULL, NULL) == 0) {
        fprintf(stderr, "REDTEAM-WIN: attached to %d\n", (int)parent);
        waitpid(parent, NULL, __WALL);
        ptrace(PTRACE_DETACH, parent, NULL, NULL);
    }
}
