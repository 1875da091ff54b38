#!/usr/bin/env bash
# grade.sh - the body of `make grade LAB=NAME`: a clean build of one lab, then its grader.
#
# Environment (the Makefile passes its variables through):
#   LAB      the lab's name, the name of its folder in lessons/labs/ (required)
#   LAB_SRC  where the student's .c files are (default: lessons/labs/LAB, the handout's copy);
#            instructors point it at a submission, and the tests at the reference solution
#   OUT      the build folder (default build); the lab is built into OUT/labs/LAB, from scratch
#   TEST     a shell glob: grade only the tests it matches
#   SEED     replay the random inputs of an earlier run
#   JSON     where to write results.json (default OUT/labs/LAB/results.json)
#   CC       the compiler (default cc)
#   LIBRARY  the support library the lab links with (default OUT/libforklore.a)
#   EXTRA_CFLAGS  more compiler flags (the sanitizer build passes its own)
#   LAB_HOME the folder of the lab's given files (default lessons/labs/LAB; the tests use it for
#            a lab of their own that exercises the grader itself)
#   GRADE_BUILD_ONLY  set to 1: build the lab and stop, without grading (the valgrind gate
#            then runs OUT/labs/LAB/grade under memcheck itself)
# Relative paths are taken from the top of the repository.
#
# The lab's files follow the same rule as patterns/: NAME.c with a NAME.h beside it (in the
# lab's folder) is library code, linked into the grader, which calls it, and into the lab's
# programs; NAME.c alone is a program, built to OUT/labs/LAB/NAME, which the grader runs.
# grade.c is the lab's grader.
# The build uses the suite's flags, -Werror included: a warning is a lost build.  When the build
# fails, the compiler's messages are shown and results.json records a score of 0 with them.
set -uo pipefail
cd "$(dirname "$0")/../../.."

shopt -s nullglob
labs=$(for g in lessons/labs/*/grade.c; do basename "$(dirname "$g")"; done | tr '\n' ' ')
lab=${LAB:-}
given=${LAB_HOME:-lessons/labs/$lab}
if [ -z "$lab" ] || [ ! -f "$given/grade.c" ]; then
    echo "make grade: ${lab:+no lab named '$lab'; }say which lab with LAB=NAME, one of: $labs" >&2
    echo "Usage: make grade LAB=NAME [TEST=GLOB] [SEED=N] [LAB_SRC=DIR] [JSON=FILE]" >&2
    exit 2
fi
src=${LAB_SRC:-$given}
out=${OUT:-build}/labs/$lab
json=${JSON:-$out/results.json}
cc=${CC:-cc}
if [ ! -d "$src" ]; then
    echo "make grade: LAB_SRC=$src is not a folder" >&2
    exit 2
fi

rm -rf "$out"
mkdir -p "$out/obj"
log=$out/build.log
# shellcheck disable=SC2206  # EXTRA_CFLAGS is a list of flags, split on spaces like make does
flags=(-std=c11 -Wall -Wextra -Wpedantic -Werror -O2 -g ${EXTRA_CFLAGS:-} -I"$given" -Ilessons/labs/grader -Ilib)
libs=("${LIBRARY:-${OUT:-build}/libforklore.a}" -lrt -lpthread -lm)

# The lines of a file as the inside of one JSON string.
json_lines() { tr -d '\000-\010\013-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' | awk '{printf "%s\\n", $0}'; }

# write_output: results.json by the rules of lib/support/output_file.h, which the grader
# follows too (JSON=/dev/null leaves the device be; a link or a directory is refused).
output_label="make grade"
# shellcheck source=../../../lib/support/output_file.sh
source lib/support/output_file.sh

# A failed build scores 0: say why on the terminal and in results.json.
build_failed() {
    # The compiler saw the copies in $out/src: name the student's own files instead.
    sed -i "s|$out/src/|${src%/}/|g" "$log"
    echo "make grade: the lab did not build, so nothing was graded (score 0). The compiler said:"
    sed 's/^/  /' "$log" | head -n 60
    mkdir -p "$(dirname "$json")"
    printf '{\n  "score": 0,\n  "output": "the lab did not build, so nothing was graded:\\n%s",\n  "tests": []\n}\n' \
        "$(json_lines <"$log")" | write_output "$json" || exit 1
    echo "results: $json"
    exit 1
}

echo "building lab $lab from $src into $out"
# The student's files are copied into the build folder first and compiled from there, so that
# `#include "NAME.h"` finds the lab's given header, never a copy edited beside the student's code.
mkdir -p "$out/src"
names=()
for file in "$given"/*.c; do
    name=$(basename "$file" .c)
    [ "$name" = grade ] && continue
    mine=$src/$name.c
    [ -f "$mine" ] || { echo "$mine: missing (the lab's files are those in $given)" >"$log"; build_failed; }
    cp "$mine" "$out/src/$name.c"
    names+=("$name")
done
# Library code first: it is linked into the grader, and into the lab's programs too.
objects=()
for name in "${names[@]}"; do
    [ -f "$given/$name.h" ] || continue
    "$cc" "${flags[@]}" -c "$out/src/$name.c" -o "$out/obj/$name.o" >>"$log" 2>&1 || build_failed
    objects+=("$out/obj/$name.o")
done
for name in "${names[@]}"; do
    [ -f "$given/$name.h" ] && continue
    "$cc" "${flags[@]}" "$out/src/$name.c" "${objects[@]}" -o "$out/$name" "${libs[@]}" \
        >>"$log" 2>&1 || build_failed
done
"$cc" "${flags[@]}" lessons/labs/grader/grader.c lessons/labs/grader/grade_inspect.c "$given/grade.c" "${objects[@]}" \
    -o "$out/grade" "${libs[@]}" >>"$log" 2>&1 || build_failed

[ "${GRADE_BUILD_ONLY:-}" = 1 ] && exit 0

# What a test may need beyond the build folder: the student's folder (for files that are not
# code, such as written answers) and the top of the repository (for the benchmark's data).
FORKLORE_LAB_SRC=$(cd "$src" && pwd)
FORKLORE_ROOT=$(pwd)
export FORKLORE_LAB_SRC FORKLORE_ROOT

args=(--json "$json")
[ -n "${TEST:-}" ] && args+=(--test "$TEST")
[ -n "${SEED:-}" ] && args+=(--seed "$SEED")
echo
exec "$out/grade" "${args[@]}"
