/* first_fork.c - fork, wait, _exit and nothing else (lesson 01 opens with it). */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    pid_t pid = fork(); /* from here on, two processes run this code */
    if (pid == -1) {    /* no child: too many processes, or no memory */
        perror("fork");
        return 1;
    }
    if (pid == 0) { /* the child: fork() returned 0 */
        printf("child %d: my parent is %d\n", (int)getpid(), (int)getppid());
        fflush(stdout); /* _exit does not flush stdio: do it first */
        _exit(7);       /* the child ends here, with status 7 */
    }
    int status; /* the parent: fork() returned the child's pid */
    if (waitpid(pid, &status, 0) == -1) {
        perror("waitpid");
        return 1;
    }
    if (WIFEXITED(status))
        printf("parent %d: child %d exited with %d\n", (int)getpid(), (int)pid,
               WEXITSTATUS(status));
    return 0;
}
