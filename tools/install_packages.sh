#!/usr/bin/env bash
# install_packages.sh LABEL PACKAGE... - install Debian packages the way every forklore target
# does: apt-get as root, or through `sudo -n` (never a password prompt: CI has no terminal).
# Without apt-get, or without root or sudo, it stops and prints the command to run.  LABEL
# starts each line it prints ("deps", "mpi").  Used by ensure_deps.sh and ensure_mpi.sh.
set -euo pipefail
label=${1:?usage: install_packages.sh LABEL PACKAGE...}
shift
apt_install="apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends $*"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "$label: this is not a Debian-like system: install $* (or your system's names for" >&2
    echo "$label: them; the README lists them) with your package manager, then run make again" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "$label: cannot install without root; run:" >&2
    echo "    sudo apt-get update && sudo $apt_install" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists of a fresh machine may be empty or stale: refresh them first.
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq
"${sudo[@]}" $apt_install
echo "$label: installed $*"
