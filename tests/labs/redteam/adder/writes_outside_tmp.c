/* writes_outside_tmp.c - leave a file where the code under test has no business writing.
 *
 * In a user namespace the test program is the grading user itself, who may write the results
 * folder (build/labs/LAB/, where results.json is written last), the repository and the home
 * folder: the sandbox mounts every folder read-only but its private /tmp and /dev/shm.  As
 * nobody (the grader is root) those folders are not nobody's to write anyway; /var/tmp is.
 * REDTEAM_RESULTS_DIR, when the test defines it, is the folder of this grade's results.json. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void try_write(const char *folder)
{
    if (!folder)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/redteam-%s-planted", folder, REDTEAM_NAME);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd != -1) {
        printf("REDTEAM-WIN: wrote %s\n", path);
        close(fd);
        unlink(path); /* the test looks for the line, not the file */
    } else {
        printf("could not write %s\n", path); /* the attempt was made */
    }
}

static void attack(void)
{
    const char *root = getenv("FORKLORE_ROOT");
    char results[4096];
    snprintf(results, sizeof results, "%s/build/labs/grader_check", root ? root : ".");
    try_write(results);
    try_write(root);
    try_write(getenv("HOME"));
    try_write("/var/tmp");
#ifdef REDTEAM_RESULTS_DIR
    try_write(REDTEAM_RESULTS_DIR); /* where this grade's results.json goes (the test says) */
#endif
    fflush(stdout);
}
