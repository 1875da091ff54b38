/* mpi_programs.c - where the MPI workloads find what `make mpi` built: see mpi_programs.h. */
#define _GNU_SOURCE
#include "mpi_programs.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *mpi_programs_dir(void)
{
    static char dir[4096];
    if (dir[0] == '\0') {
        char exe[4000];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0'; /* .../build/bin */
        snprintf(dir, sizeof dir, "%s/../mpi", exe);
    }
    return dir;
}

int mpi_program_built(const char *name)
{
    char launcher[4200], program[4400];
    snprintf(launcher, sizeof launcher, "%s/mpirun", mpi_programs_dir());
    snprintf(program, sizeof program, "%s/bin/%s", mpi_programs_dir(), name);
    return access(launcher, X_OK) == 0 && access(program, X_OK) == 0;
}

const char *mpi_programs_implementation(void)
{
    static char name[32];
    char path[4200];
    snprintf(path, sizeof path, "%s/implementation", mpi_programs_dir());
    FILE *f = fopen(path, "r");
    if (!f || !fgets(name, sizeof name, f))
        snprintf(name, sizeof name, "MPI");
    name[strcspn(name, "\n")] = '\0';
    if (f)
        fclose(f);
    return name;
}
