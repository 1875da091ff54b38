#!/usr/bin/env bash
# ensure_mpi.sh [mpich|openmpi] - make sure one MPI implementation's compiler wrapper and
# launcher are here; install them when they are missing.  Called by `make mpi`.
#
# MPI is optional in forklore: only `make mpi` calls this script, never `make` or `make test`.
# Both implementations can live side by side on Debian, so forklore always names the
# implementation's own wrappers (mpicc.mpich, mpiexec.mpich; mpicc.openmpi, mpiexec.openmpi),
# never the plain `mpicc`, which the alternatives system points at one of them.
# The install is done as for the other dependencies (install_packages.sh): apt-get as root or
# through `sudo -n`; anywhere else the script stops with what to do.
# Prints nothing when everything is already here.
set -euo pipefail

impl=${1:-mpich}
case "$impl" in
mpich) packages=(mpich libmpich-dev) ;;
openmpi) packages=(openmpi-bin libopenmpi-dev) ;;
*)
    echo "mpi: MPI=$impl: expected mpich or openmpi" >&2
    exit 2
    ;;
esac

command -v "mpicc.$impl" >/dev/null 2>&1 && command -v "mpiexec.$impl" >/dev/null 2>&1 && exit 0

echo "mpi: $impl is missing (mpicc.$impl, mpiexec.$impl): installing ${packages[*]}"
exec bash "$(dirname "$0")/install_packages.sh" mpi "${packages[@]}"
