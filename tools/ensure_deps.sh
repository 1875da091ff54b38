#!/usr/bin/env bash
# ensure_deps.sh - make sure Criterion, gnuplot, valgrind and python3 are here; install what is
# missing.
#
# Called by `make test`, `make bench`, `make deps`.  A machine that has everything is not
# touched.  On Debian or Ubuntu the missing packages are installed with apt-get, as root or
# through `sudo -n` (install_packages.sh).  Anywhere else the script stops with what to do.
set -euo pipefail

missing=()   # Debian package names
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists criterion; then
    missing+=(libcriterion-dev)
fi
command -v gnuplot >/dev/null 2>&1 || missing+=(gnuplot-nox)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
# The Python twins (lessons/python) and the benchmark's Python series run python3 from PATH.
command -v python3 >/dev/null 2>&1 || missing+=(python3)

[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: missing ${missing[*]}"
exec bash "$(dirname "$0")/install_packages.sh" deps "${missing[@]}"
