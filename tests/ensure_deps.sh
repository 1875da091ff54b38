#!/usr/bin/env bash
# ensure_deps.sh - make sure Criterion, gnuplot and valgrind are here; install what is missing.
#
# Called by `make test`, `make bench`, `make deps`.  A machine that has everything is not
# touched.  On Debian or Ubuntu the missing packages are installed with apt-get, as root or
# through `sudo -n` (never a password prompt: CI has no terminal).  Anywhere else the script
# stops with the exact command to run.
set -euo pipefail

missing=()   # Debian package names
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists criterion; then
    missing+=(libcriterion-dev)
fi
command -v gnuplot >/dev/null 2>&1 || missing+=(gnuplot-nox)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)

[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: missing ${missing[*]}"
apt_install="apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: this is not a Debian-like system; install Criterion, gnuplot and valgrind" >&2
    echo "deps: with your package manager (the README lists the names), then run make again" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "deps: cannot install without root; run:" >&2
    echo "    sudo apt-get update && sudo $apt_install" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists of a fresh machine may be empty or stale: refresh them first.
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq
"${sudo[@]}" $apt_install
echo "deps: installed ${missing[*]}"
