#!/usr/bin/env bash
# handout.sh DIR - the body of `make handout`: the student hand-out, DIR/forklore-labs.tar.gz.
#
# The hand-out is the suite as it is committed (git archive HEAD): the lessons, the programs,
# the labs' handouts, starter code and graders, the Makefile, minus what an instructor keeps
# back: tests/labs/, which holds the reference solutions, the broken and wrong versions and
# the red-team submissions.  (tests/test_labs.c stays; without tests/labs/ it skips itself and
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
mkdir -p "$out"
out=$(cd "$out" && pwd)
changed=$(git status --porcelain -- lessons/labs | sed 's/^...//' | tr '\n' ' ')
if [ -n "$changed" ]; then
    echo "make handout: left out, because not committed (the hand-out has the committed versions): $changed" >&2
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/forklore-labs"
git archive --format=tar HEAD | tar -xf - -C "$stage/forklore-labs"
rm -rf "$stage/forklore-labs/tests/labs" "$stage/forklore-labs/.ci"
files=$(find "$stage/forklore-labs" -type f | wc -l)
tar -czf "$out/forklore-labs.tar.gz" -C "$stage" forklore-labs
echo "handout: $out/forklore-labs.tar.gz ($files files from commit $(git rev-parse --short HEAD); no solutions: tests/labs/ is left out)"
echo "labs in it: $(for g in lessons/labs/*/grade.c; do basename "$(dirname "$g")"; done | tr '\n' ' ')"
