/* mpi_programs.h - where the MPI workloads find what `make mpi` built: build/mpi/ beside
 * build/bin/bench (for any OUT), with the launcher script mpirun (tools/mpirun.in),
 * the programs in bin/, and a file naming the MPI implementation they were built with.
 */
#ifndef FORKLORE_MPI_PROGRAMS_H
#define FORKLORE_MPI_PROGRAMS_H

/* The folder: ".../build/mpi" (a static buffer, filled on the first call). */
const char *mpi_programs_dir(void);

/* 1 if the launcher and the MPI program `name` (in bin/) are there and executable. */
int mpi_program_built(const char *name);

/* "mpich" or "openmpi", as `make` wrote it; "MPI" when it cannot be read. */
const char *mpi_programs_implementation(void);

#endif
