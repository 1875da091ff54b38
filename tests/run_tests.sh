#!/usr/bin/env bash
# run_tests.sh OUT [--no-valgrind] - the body of `make test` (and of `make sanitize`).
#
# 1. The Criterion suite, OUT/tests/forklore-tests: its closing "Synthesis:" line is kept.
# 2. The valgrind gate (tests/valgrind_gate.sh), unless --no-valgrind.
# 3. One closing line, "make test: N passed, M failed", counting Criterion's tests and the
#    valgrind gate as one more check; the exit status is non-zero on any failure.
set -uo pipefail
out=${1:?usage: run_tests.sh OUT [--no-valgrind]}
valgrind=1
[ "${2:-}" = "--no-valgrind" ] && valgrind=0

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Criterion prints its synthesis on stderr; keep a copy to read the counts from.
"$out/tests/forklore-tests" --jobs="${FORKLORE_TEST_JOBS:-0}" 2> >(tee "$log" >&2)
criterion_status=$?
wait   # for tee
synthesis=$(grep -a 'Synthesis:' "$log" | tail -n 1)
passed=$(sed -n 's/.*Passing: \([0-9]*\).*/\1/p' <<<"$synthesis")
failing=$(sed -n 's/.*Failing: \([0-9]*\).*/\1/p' <<<"$synthesis")
crashing=$(sed -n 's/.*Crashing: \([0-9]*\).*/\1/p' <<<"$synthesis")
passed=${passed:-0}
failed=$(( ${failing:-0} + ${crashing:-0} ))
if [ -z "$synthesis" ] || { [ "$criterion_status" -ne 0 ] && [ "$failed" -eq 0 ]; }; then
    failed=$((failed + 1))   # the runner itself failed without saying which test
fi

if [ "$valgrind" -eq 1 ]; then
    if bash "$(dirname "$0")/valgrind_gate.sh" "$out"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
fi

echo "make test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
