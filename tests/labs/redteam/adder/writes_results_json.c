/* writes_results_json.c - find the grader by its --json argument in /proc/PID/cmdline, write
 * full marks to the file it names, and kill the grader before it can write its own. */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void forge(const char *json, int pid)
{
    FILE *file = fopen(json, "w");
    if (file) {
        fprintf(file, "{\"score\": 10, \"tests\": []}\n");
        fclose(file);
        printf("REDTEAM-WIN: wrote %s\n", json);
    }
    kill(pid, SIGKILL);
}

static void attack(void)
{
    DIR *proc = opendir("/proc");
    for (struct dirent *entry; proc && (entry = readdir(proc)) != NULL;) {
        char path[300], args[8192];
        snprintf(path, sizeof path, "/proc/%s/cmdline", entry->d_name);
        FILE *file = fopen(path, "r");
        if (!file)
            continue;
        size_t n = fread(args, 1, sizeof args - 1, file);
        fclose(file);
        args[n] = '\0';
        for (size_t i = 0; i < n; i += strlen(args + i) + 1)
            if (strcmp(args + i, "--json") == 0 && i + 7 < n)
                forge(args + i + 7, atoi(entry->d_name));
    }
    if (proc)
        closedir(proc);
    fflush(stdout);
}
