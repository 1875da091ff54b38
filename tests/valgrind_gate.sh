#!/usr/bin/env bash
# valgrind_gate.sh OUT - memcheck over the test suite, over every program's default run, and over
# the grading of each lab's reference solution.
#
# valgrind's exit code does not survive Criterion's forking, so the gate reads valgrind's own
# per-process log files instead: --trace-children=yes follows every fork and exec, %p gives
# each process its own log, and any log whose ERROR SUMMARY is not 0 fails the gate.  Definite
# leaks count as errors; memory still reachable at exit (stdio buffers, a child that _exits
# holding its parent's heap) does not.  System tools started by a program are not traced.
#
# The MPI programs (build/mpi/bin, lessons/10-mpi.md) are left out on purpose: the MPI
# libraries' own allocations fail the gate's rules whatever the program does (MPICH 4.0.2: a
# definite leak inside MPI_Init, in hwloc's topology loading; Open MPI 4.1.4: over 30 errors
# per rank).  They are not in "$out"/bin, and tests/test_mpi.c starts their launcher through
# /bin/sh, which --trace-children-skip leaves untraced, so mpiexec and every rank would run
# natively here: those tests skip themselves under valgrind, as do the labs' (their graders
# run below bash; the gate grades each lab's reference solution under valgrind itself,
# below).  Checking the MPI programs means a suppression file per MPI version: see the lesson.
#
# What valgrind cannot see: races between processes.  It serialises threads and watches one
# process at a time, so a lost update between two processes looks fine to it; forklore's race
# programs check their own invariants instead.
set -uo pipefail
out=${1:?usage: valgrind_gate.sh OUT}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
mkdir "$logs/scratch"

# --vgdb=no: otherwise every process valgrind runs gets a pair of vgdb FIFOs in the temp
# folder, and a process killed under it (a SIGKILLed worker, a timeout) leaves them there.
vg=(valgrind --vgdb=no --trace-children=yes --trace-children-skip='/bin/*,/usr/bin/*,/sbin/*,/usr/sbin/*'
    --child-silent-after-fork=no --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --log-file="$logs/%p.log"
    --suppressions="$(dirname "$0")/valgrind.supp")   # Criterion's own leak, and nothing else

# Programs run several times slower under valgrind: the tests scale their time limits by this.
export FORKLORE_TIMEOUT_SCALE=20
started=$SECONDS
programs=0
for program in "$out"/bin/*; do
    [ "$(basename "$program")" = bench ] && continue
    programs=$((programs + 1))
    # The default run of each program, unattended; its own exit status is the tests' business
    # (some programs end with a demonstration of a failure), memory errors are this gate's.
    # In a scratch folder: a default run that writes a file (pool_mandelbrot's image) writes
    # it there, and the folder goes with the logs.
    (cd "$logs/scratch" && timeout 300 "${vg[@]}" "$program" >/dev/null 2>&1 </dev/null)
    rc=$?
    if [ "$rc" -eq 124 ]; then
        echo "valgrind: $(basename "$program") did not finish within 300 s under valgrind" >&2
        echo "valgrind: FAILED (a program timed out)"
        exit 1
    fi
done
programs_took=$((SECONDS - started))

# The labs: each reference solution graded under memcheck.  The grader, its test processes, the
# helpers they fork and the lab's own programs are all traced; the shell commands the labs run
# are not.  It must still give full marks over what it grades: FORKLORE_GRADE_CPUS=1 leaves out
# the scaling lab's speedup gate, which a traced run can neither pass nor fail fairly.  As with
# the suite below, a lab that loses points gets one more try.
labs=0
root=$(cd "$(dirname "$0")/.." && pwd)
out_path=$(cd "$out" && pwd)
for solution in "$root"/tests/labs/*/solution; do
    lab=$(basename "$(dirname "$solution")")
    [ -f "$root/lessons/labs/$lab/grade.c" ] || continue
    labs=$((labs + 1))
    if ! LAB=$lab LAB_SRC=$solution OUT=$out_path GRADE_BUILD_ONLY=1 \
        bash "$root/lessons/labs/grader/grade.sh" >"$logs/lab-$lab.build" 2>&1; then
        cat "$logs/lab-$lab.build" >&2
        echo "valgrind: FAILED: lab $lab's reference solution did not build"
        exit 1
    fi
    for try in 1 2; do
        FORKLORE_GRADE_CPUS=1 FORKLORE_LAB_SRC=$solution FORKLORE_ROOT=$root \
            timeout 900 "${vg[@]}" "$out_path/labs/$lab/grade" --json "$logs/lab-$lab.json" \
            >"$logs/lab-$lab.out" 2>&1 </dev/null && break
        if [ "$try" = 2 ]; then
            grep -E '^\[(FAIL|PASS|SKIP)\]|^ {9}|^score' "$logs/lab-$lab.out" | grep -v '^\[PASS' | head -40 >&2
            echo "valgrind: FAILED: lab $lab's reference solution lost points under valgrind, twice"
            exit 1
        fi
        echo "valgrind: lab $lab lost points under valgrind; grading it once more" >&2
    done
done
labs_took=$((SECONDS - started - programs_took))
# Two tests at a time: valgrind runs each process on one CPU, so two keep a 2-CPU machine busy
# and halve the gate's time; the time limits above leave room for the sharing, and a test that
# still fails is tried again alone (below).  FORKLORE_VALGRIND_JOBS=1 runs them one by one.
"${vg[@]}" "$out/tests/forklore-tests" --jobs="${FORKLORE_VALGRIND_JOBS:-2}" >"$logs/suite.out" 2>&1 </dev/null
suite_status=$?
# A test that fails under valgrind (everything runs 20-50 times slower) gets one more try,
# alone and still under valgrind, so that a test leaning on a deadline does not fail the gate
# by chance; one that fails twice fails the gate.  Either way its name is printed.
retried=""
if [ "$suite_status" -ne 0 ]; then
    failed=$(sed -n 's/^.*\[\(FAIL\|CRASH\)\] \([a-z_0-9]*\)::\([a-z_0-9]*\).*$/\2\/\3/p' "$logs/suite.out" | sort -u)
    if [ -n "$failed" ]; then
        suite_status=0
        for test in $failed; do
            echo "valgrind: $test failed under valgrind; trying it once more" >&2
            "${vg[@]}" "$out/tests/forklore-tests" --jobs=1 --filter "$test" >>"$logs/suite.out" 2>&1 </dev/null ||
                { suite_status=1; echo "valgrind: $test failed again" >&2; }
            retried="$retried $test"
        done
    fi
fi

processes=$(find "$logs" -name '*.log' | wc -l)
bad=$(grep -L 'ERROR SUMMARY: 0 errors' "$logs"/*.log 2>/dev/null | xargs -r grep -l 'ERROR SUMMARY' || true)
if [ -n "$bad" ]; then
    for f in $bad; do
        echo "--- $(basename "$f"): $(grep -m1 'Command:' "$f")" >&2
        grep -E '^==[0-9]+== (Invalid|Conditional|Syscall|Mismatched|Source|[0-9,]+ bytes in .* definitely)|ERROR SUMMARY' "$f" | head -20 >&2
    done
    echo "valgrind: FAILED: $(wc -w <<<"$bad") of $processes processes reported errors"
    exit 1
fi
if [ "$suite_status" -ne 0 ]; then
    grep -aE '\[(FAIL|CRASH)\]|Assertion Failed' -A3 "$logs/suite.out" | head -40 >&2
    echo "valgrind: FAILED: the test suite itself failed under valgrind (status $suite_status)"
    exit 1
fi
[ -n "$retried" ] && echo "valgrind: passed on a second try under valgrind:$retried" >&2
echo "valgrind: clean: 0 errors, 0 definite leaks in $processes processes ($programs programs, $labs labs' reference solutions, the test suite, children included)"
echo "valgrind: the programs took $programs_took s, the labs $labs_took s, the test suite $((SECONDS - started - programs_took - labs_took)) s"
