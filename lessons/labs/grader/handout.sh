#!/usr/bin/env bash
# handout.sh DIR - the body of `make handout`: the student hand-out, DIR/forklore-labs.tar.gz.
#
# The hand-out is the whole suite as it stands in this working tree (the lessons, the programs,
# the labs' handouts, starter code and graders, the Makefile), so that students can read the
# lessons, run the programs and grade themselves with `make grade LAB=NAME`, minus what an
# instructor keeps back: tests/labs/, which holds the reference solutions and the deliberately
# broken versions.  (tests/test_labs.c stays; without tests/labs/ it skips itself and says so.)
# Files git ignores (build/, benchmark data) are left out; so is everything when this is not a
# git checkout and git cannot list it, in which case the files are found with find(1).
set -euo pipefail
out=${1:?usage: handout.sh DIR}
cd "$(dirname "$0")/../../.."
# DIR must be a folder itself, and the archive lands in it by the rules of output_file.h: a
# link planted at its name is refused, a device or a FIFO written in place, never replaced.
output_label=handout
# shellcheck source=../../../lib/support/output_file.sh
source lib/support/output_file.sh
check_output_dir "$out"
out=$(cd "$out" && pwd)

stage=$(mktemp -d)   # private (mode 0700): the file list and the tree being packed
list=$stage/files
trap 'rm -rf -- "$stage"' EXIT
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Tracked files and new ones not ignored; a tracked file deleted in the tree is skipped.
    git ls-files --cached --others --exclude-standard | while read -r f; do
        [ -f "$f" ] && printf '%s\n' "$f"
    done >"$list"
else
    find . -type f ! -path './build/*' ! -path './.git/*' ! -path './plots/data/*' \
        ! -name '*.png' ! -name '*.svg' ! -path './plots/report.md' | sed 's|^\./||' >"$list"
fi
grep -v -e '^tests/labs/' -e '^\.ci/' "$list" | sort >"$list.kept"
mv "$list.kept" "$list"

mkdir -p "$stage/tree/forklore-labs"
tar -cf - -T "$list" | tar -xf - -C "$stage/tree/forklore-labs"
tar -czf "$stage/forklore-labs.tar.gz" -C "$stage/tree" forklore-labs
place_output "$stage/forklore-labs.tar.gz" "$out/forklore-labs.tar.gz"
echo "handout: $out/forklore-labs.tar.gz ($(wc -l <"$list") files; no solutions: tests/labs/ is left out)"
echo "labs in it: $(for g in lessons/labs/*/grade.c; do basename "$(dirname "$g")"; done | tr '\n' ' ')"
