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
# lab's folder) is library code; NAME.c alone is a program, built to BUILD/NAME, which the tests
# run.  Two programs are built from the lab's grade.c (grader.c says why):
#   BUILD/grade        the grader: the framework's main, grade.c for its table of tests, and the
#                      lab's *given* library files (never the student's), never called;
#   BUILD/grade-tests  the test program: grade.c with the student's library files, which the
#                      grader runs once per test in its sandbox.
# A student's library file may define only what the given file defines (anything else must be
# static), and no constructor or destructor: code that would run before the test program's
# main, or replace a function the framework calls, is refused at build time with the reason.
# The student's files are compiled in the sandbox the tests run in (sandbox_run.c, built first
# as BUILD/grade-sandbox), where the instructors' folder and the other submissions are hidden, so
# no #include or .incbin can read them; each may include only its own files, the lab's headers,
# the grader's, lib/'s and the system's (checked too where the sandbox has no namespaces).
# The build uses the suite's flags, -Werror included: a warning is a lost build.  When the build
# fails, the compiler's messages are shown and results.json records a score of 0 with them.
#
# Each run builds in a folder of its own, OUT/labs/LAB/build.XXXXXX, removed when it ends
# (interrupted or not), so two grades of one lab at once cannot spoil each other; results.json
# and the log of everything the tests printed (results.log beside it, or OUT/labs/LAB/output.log
# when JSON is not a .json file) are what stay.  GRADE_BUILD_ONLY=1 builds into OUT/labs/LAB
# itself and keeps it (the valgrind gate runs OUT/labs/LAB/grade).
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

mkdir -p "$out" || exit 1
if [ "${GRADE_BUILD_ONLY:-}" = 1 ]; then
    build=$out
    rm -rf "$build/src" "$build/given" "$build/obj"
else
    build=$(mktemp -d "$out/build.XXXXXX") || exit 1
    chmod 755 "$build"   # the sandbox's unprivileged user runs the test program from here
    trap 'rm -rf "$build"' EXIT
fi
mkdir -p "$build/obj" "$build/given" "$build/src"
log=$build/build.log
: >"$log"
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
    # The compiler saw the copies in $build/src: name the student's own files instead.
    sed -i "s|$build/src/|${src%/}/|g" "$log"
    echo "make grade: the lab did not build, so nothing was graded (score 0). The compiler said:"
    sed 's/^/  /' "$log" | head -n 60
    mkdir -p "$(dirname "$json")"
    printf '{\n  "score": 0,\n  "output": "the lab did not build, so nothing was graded:\\n%s",\n  "tests": []\n}\n' \
        "$(json_lines <"$log")" | write_output "$json" || exit 1
    echo "results: $json"
    exit 1
}

# The sizes of the sections that hold constructors and destructors, "NAME SIZE" a line.
init_sections() {
    readelf -SW "$1" | sed -n 's/^ *\[ *[0-9]*\] *//p' |
        awk '$1 ~ /^\.(preinit_array|init_array|fini_array|ctors|dtors)/ {print $1, $5}' | sort
}
defined_symbols() { nm -g --defined-only "$@" | awk 'NF == 3 {print $3}' | sort -u; }
used_symbols() { nm -u "$1" | awk '{print $NF}' | sort -u; }

# A student's library object may hold no more constructors and define no more symbols than the
# given one compiled the same way (a sanitizer adds its own constructor to both).
check_library_object() {
    local name=$1 mine=$2 given=$3 extra
    if [ "$(init_sections "$mine")" != "$(init_sections "$given")" ]; then
        echo "$src/$name.c: a constructor or destructor (__attribute__((constructor)), .init_array): the lab's library code may not run on its own, before or after the tests" >>"$log"
        return 1
    fi
    extra=$(comm -23 <(defined_symbols "$mine") <(defined_symbols "$given") | tr '\n' ' ')
    if [ -n "$extra" ]; then
        echo "$src/$name.c: defines ${extra% }, which the lab's $name.h does not declare: make each such function or variable static" >>"$log"
        return 1
    fi
    extra=$(comm -12 <(used_symbols "$mine") <(defined_symbols "${framework[@]}") | tr '\n' ' ')
    if [ -n "$extra" ]; then
        echo "$src/$name.c: calls ${extra% }, the grader's own code: the lab's library code may use only the C library and the support library" >>"$log"
        return 1
    fi
}

# The folders no code of the student's may read, at compile time or in the tests: the
# instructors' (reference solutions among them), and the folder the submission came from, which
# holds the other submissions in an instructor's loop.
FORKLORE_ROOT=$(pwd)
hide=(--hide "$FORKLORE_ROOT/tests/labs")
src_parent=$(cd "$src/.." && pwd)
case "$FORKLORE_ROOT/" in "$src_parent"/*) ;; *)
    case "$(cd "$build" && pwd)/" in "$src_parent"/*) ;; *) hide+=(--hide "$src_parent") ;; esac ;;
esac

# The sandbox the student's files are compiled in, built first from the grader's own sources.
"$cc" "${flags[@]}" lessons/labs/grader/sandbox_run.c lessons/labs/grader/sandbox.c \
    -o "$build/grade-sandbox" "${libs[@]}" >>"$log" 2>&1 || build_failed
# The lab's given headers are read from a copy in the build folder: the lab's own folder may be
# one of those hidden (the tests' check lab lives in tests/labs/).
cp "$given"/*.h "$build/given/" 2>/dev/null
chmod -R a+rX "$build/given"
student_flags=()
for flag in "${flags[@]}"; do
    [ "$flag" = "-I$given" ] && flag=-I$build/given
    student_flags+=("$flag")
done
# check_student_source SOURCE: where the sandbox has no namespaces it cannot hide a folder (the
# header line says so), so each source is also checked, everywhere: every file the preprocessor
# read is the student's copy, a given header, the grader's or the support library's (system
# headers aside), and the assembly has no directive that reads a file (.incbin, .include) or
# could spell one (.macro, .irp, .rept).
build_abs=$(cd "$build" && pwd)
check_student_source() {
    local deps bad
    deps=$("$build/grade-sandbox" --build "$build" "${hide[@]}" -- \
        "$cc" "${student_flags[@]}" -MM "$1" 2>>"$log") || return 1
    bad=$(printf '%s\n' "$deps" | tr ' \\' '\n\n' | sed '/^$/d; 1d' | while read -r file; do
        case $(realpath -m "$file") in
            "$build_abs"/src/* | "$build_abs"/given/* | "$FORKLORE_ROOT"/lessons/labs/grader/* | "$FORKLORE_ROOT"/lib/*) ;;
            *) printf '%s ' "$file" ;;
        esac
    done)
    if [ -n "$bad" ]; then
        echo "${1/$build\/src/$src}: includes ${bad% }: a lab's code may include only its own files, the lab's headers, the support library's and the system's" >>"$log"
        return 1
    fi
    bad=$("$build/grade-sandbox" --build "$build" "${hide[@]}" -- \
        "$cc" "${student_flags[@]}" -S -o - "$1" 2>>"$log" |
        grep -ioE '^[[:space:]]*\.(incbin|include|macro|irpc?|rept)\b' | sort -u | tr -d ' \t' | tr '\n' ' ')
    if [ -n "$bad" ]; then
        echo "${1/$build\/src/$src}: assembler directive ${bad% }: a lab's code may not read files at build time" >>"$log"
        return 1
    fi
}
# compile_student SOURCE OBJECT: compile one of the student's files in the sandbox, where the
# folders above are hidden and the rest of the machine is read-only: an `#include "/abs/path"`,
# an assembler .incbin or a path made from __FILE__ finds nothing there.  The compiler writes
# the object into the sandbox's private /tmp, and cat hands it out on stdout.
compile_student() {
    check_student_source "$1" || return 1
    "$build/grade-sandbox" --build "$build" "${hide[@]}" -- \
        /bin/sh -c '"$@" -o /tmp/student.o && cat /tmp/student.o' sh \
        "$cc" "${student_flags[@]}" -c "$1" >"$2" 2>>"$log"
    local status=$?
    # 125 and above: the sandbox itself, not the compiler (which has said why on stderr).
    [ "$status" -ge 125 ] && echo "make grade: the sandbox for the compiler ended with status $status" >>"$log"
    return "$status"
}

echo "building lab $lab from $src"
# The student's files are copied into the build folder first and compiled from there, so that
# `#include "NAME.h"` finds the lab's given header, never a copy edited beside the student's code.
# Every other plain file of the submission (written answers, data) is copied too, and the tests
# read those copies: symbolic links are not followed, and nothing of the student's own folder
# is reachable from the sandbox through them.
find "$src" -maxdepth 1 -type f -size -2048k ! -name '*.h' -exec cp {} "$build/src/" \;
chmod -R a+rX "$build/src"   # the sandbox's unprivileged user compiles them
names=()
for file in "$given"/*.c; do
    name=$(basename "$file" .c)
    [ "$name" = grade ] && continue
    [ -f "$build/src/$name.c" ] || { echo "$src/$name.c: missing (the lab's files are those in $given)" >"$log"; build_failed; }
    names+=("$name")
done
# The framework's parts both programs share (grade.c in it: the lab's tests).
framework=()
for part in grade_api grade_inspect; do
    "$cc" "${flags[@]}" -c "lessons/labs/grader/$part.c" -o "$build/obj/grader-$part.o" >>"$log" 2>&1 || build_failed
    framework+=("$build/obj/grader-$part.o")
done
"$cc" "${flags[@]}" -c "$given/grade.c" -o "$build/obj/grader-lab.o" >>"$log" 2>&1 || build_failed
framework+=("$build/obj/grader-lab.o")
# Library code next: the student's into the test program, the given into the grader's table.
objects=()
given_objects=()
for name in "${names[@]}"; do
    [ -f "$given/$name.h" ] || continue
    compile_student "$build/src/$name.c" "$build/obj/$name.o" || build_failed
    "$cc" "${flags[@]}" -c "$given/$name.c" -o "$build/given/$name.o" >>"$log" 2>&1 || build_failed
    check_library_object "$name" "$build/obj/$name.o" "$build/given/$name.o" || build_failed
    objects+=("$build/obj/$name.o")
    given_objects+=("$build/given/$name.o")
done
for name in "${names[@]}"; do
    [ -f "$given/$name.h" ] && continue
    compile_student "$build/src/$name.c" "$build/obj/$name.o" || build_failed
    "$cc" "${flags[@]}" "$build/obj/$name.o" "${objects[@]}" -o "$build/$name" "${libs[@]}" \
        >>"$log" 2>&1 || build_failed
done
"$cc" "${flags[@]}" lessons/labs/grader/grade_test_main.c "${framework[@]}" "${objects[@]}" \
    -o "$build/grade-tests" "${libs[@]}" >>"$log" 2>&1 || build_failed
"$cc" "${flags[@]}" lessons/labs/grader/grader.c lessons/labs/grader/sandbox.c "${framework[@]}" \
    "${given_objects[@]}" -o "$build/grade" "${libs[@]}" >>"$log" 2>&1 || build_failed

[ "${GRADE_BUILD_ONLY:-}" = 1 ] && exit 0

# What a test may need beyond the build folder: the copies of the student's other files (written
# answers, data) and the top of the repository (for the benchmark's data).
FORKLORE_LAB_SRC=$(cd "$build/src" && pwd)
export FORKLORE_LAB_SRC FORKLORE_ROOT

case $json in
    *.json) output_log=${json%.json}.log ;;
    *) output_log=$out/output.log ;;
esac
args=(--json "$json" --log "$output_log" "${hide[@]}")
[ -n "${TEST:-}" ] && args+=(--test "$TEST")
[ -n "${SEED:-}" ] && args+=(--seed "$SEED")
echo
# In the background, so that a SIGTERM to this script reaches the grader at once (bash runs a
# trap only after the foreground command ends); the grader cleans up its test and exits 130.
"$build/grade" "${args[@]}" &
grader=$!
trap 'kill -TERM "$grader" 2>/dev/null' INT TERM HUP
wait "$grader"
status=$?
while kill -0 "$grader" 2>/dev/null; do   # a trapped signal ended `wait` early: wait again
    wait "$grader"
    status=$?
done
exit "$status"
