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

# Standard input into the file $1, by the rules of patterns/support/output_file.h (which the
# grader itself follows): a regular file of ours, or no file, is replaced whole by a rename; a
# character device or a FIFO is written in place (JSON=/dev/null must leave the device be); a
# symbolic link, a directory or another user's file is refused.
write_output() {
    local path=$1 why="" tmp
    if [ -L "$path" ]; then why="it is a symbolic link (give the file itself)"
    elif [ -d "$path" ]; then why="it is a directory (give a file name)"
    elif [ -c "$path" ] || [ -p "$path" ]; then cat >"$path"; return
    elif [ -e "$path" ] && [ ! -f "$path" ]; then why="it is neither a regular file, a character device nor a FIFO"
    elif [ -e "$path" ] && [ ! -O "$path" ]; then why="it is another user's file"
    fi
    if [ -n "$why" ]; then
        echo "make grade: cannot write $path: $why" >&2
        return 1
    fi
    tmp=$(mktemp "$path.XXXXXX") || return 1   # O_EXCL, mode 0600
    if cat >"$tmp" && chmod 644 "$tmp" && mv -f -T "$tmp" "$path"; then
        return 0
    fi
    rm -f "$tmp"
    return 1
}

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
