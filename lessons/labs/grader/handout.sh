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
mkdir -p "$out"
out=$(cd "$out" && pwd)

list=$(mktemp)
stage=$(mktemp -d)
trap 'rm -rf "$list" "$stage"' EXIT
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

mkdir -p "$stage/forklore-labs"
tar -cf - -T "$list" | tar -xf - -C "$stage/forklore-labs"
tar -czf "$out/forklore-labs.tar.gz" -C "$stage" forklore-labs
echo "handout: $out/forklore-labs.tar.gz ($(wc -l <"$list") files; no solutions: tests/labs/ is left out)"
echo "labs in it: $(for g in lessons/labs/*/grade.c; do basename "$(dirname "$g")"; done | tr '\n' ' ')"
