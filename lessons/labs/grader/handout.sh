#!/usr/bin/env bash
# handout.sh DIR - the body of `make handout`: the student hand-out, DIR/forklore-labs.tar.gz.
#
# The hand-out is the suite as it is committed (git archive HEAD): the lessons, the programs,
# the labs' handouts, starter code and graders, the Makefile, minus what an instructor keeps
# back: tests/labs/, which holds the reference solutions, the broken and wrong versions and
# the red-team submissions, and lessons/solutions/, the worked solutions to the lessons'
# exercises.  (tests/test_labs.c stays; without tests/labs/ it skips itself and
# says so.)  Never the working tree: in a checkout where the labs have been solved, the files
# on disk are solutions, and a hand-out made from them would give them away.  Uncommitted
# changes to lessons/labs/ are named, and left out.  Outside a git checkout (a student's copy
# of the hand-out) there is no committed tree to build from, and it says so.
set -euo pipefail
out=${1:?usage: handout.sh DIR}
cd "$(dirname "$0")/../../.."
if ! git rev-parse --verify -q HEAD >/dev/null 2>&1; then
    echo "make handout: this is not a git checkout with a commit, so there is no committed tree to build the hand-out from (and the files here may be solved labs): run it in the instructors' repository" >&2
    exit 2
fi
# DIR must be a folder itself, and the archive lands in it by the rules of output_file.h: a
# link planted at its name is refused, a device or a FIFO written in place, never replaced.
output_label=handout
# shellcheck source=../../../lib/support/output_file.sh
source lib/support/output_file.sh
check_output_dir "$out"
out=$(cd "$out" && pwd)
changed=$(git status --porcelain -- lessons/labs | sed 's/^...//' | tr '\n' ' ')
if [ -n "$changed" ]; then
    echo "make handout: left out, because not committed (the hand-out has the committed versions): $changed" >&2
fi

stage=$(mktemp -d)   # private (mode 0700): the tree being packed, and the archive
trap 'rm -rf -- "$stage"' EXIT
mkdir -p "$stage/tree/forklore-labs"
git archive --format=tar HEAD | tar -xf - -C "$stage/tree/forklore-labs"
rm -rf "$stage/tree/forklore-labs/tests/labs" "$stage/tree/forklore-labs/lessons/solutions" \
    "$stage/tree/forklore-labs/.ci"
files=$(find "$stage/tree/forklore-labs" -type f | wc -l)
tar -czf "$stage/forklore-labs.tar.gz" -C "$stage/tree" forklore-labs
place_output "$stage/forklore-labs.tar.gz" "$out/forklore-labs.tar.gz"
echo "handout: $out/forklore-labs.tar.gz ($files files from commit $(git rev-parse --short HEAD); no solutions: tests/labs/ and lessons/solutions/ are left out)"
echo "labs in it: $(for g in lessons/labs/*/grade.c; do basename "$(dirname "$g")"; done | tr '\n' ' ')"
