#!/usr/bin/env bash
# run_tests.sh OUT [--no-valgrind] - the body of `make test` (and of `make sanitize`).
#
# 1. The machine is checked before anything runs (see "What a run may not touch" below).
# 2. The Criterion suite, OUT/tests/forklore-tests: its closing "Synthesis:" line is kept.
# 3. The valgrind gate (tests/valgrind_gate.sh), unless --no-valgrind.
# 4. The machine is checked again: what the run left behind counts as one more check.
# 5. One closing line, "make test: N passed, M failed", counting Criterion's tests, the
#    valgrind gate and the leftover check; the exit status is non-zero on any failure.
#
# What a run may not touch.  The suite runs in a folder of its own (a fresh mkdtemp folder,
# its working directory) with TMPDIR pointing into it, so everything the programs and tests
# make in "the temp folder" or the current folder lands there and can be counted.  Afterwards:
#   - /dev/null, /dev/zero and /dev/full must be the character devices they were (a program
#     that renames a file over one of them, as root, breaks every later program that writes to
#     "/dev/null": this check fails the run loudly, before and after);
#   - the run's own folder must be empty: a temp folder, FIFO, output file or core left there
#     is a leak (it is listed, then removed with the folder, which this script made);
#   - nothing new may be left in /tmp (forklore-* folders and files, valgrind's vgdb-pipe-*
#     FIFOs, core files), /dev/shm, /dev/mqueue or System V IPC.  Names that carry a pid whose
#     process is still alive belong to somebody else's run at the same time and are not counted.
set -uo pipefail
out=${1:?usage: run_tests.sh OUT [--no-valgrind]}
valgrind=1
[ "${2:-}" = "--no-valgrind" ] && valgrind=0
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$out" && pwd)

# --- the machine, before -------------------------------------------------------------------
devices() {   # "path type major:minor" for each device the run must leave alone
    local dev
    for dev in /dev/null /dev/zero /dev/full; do
        printf '%s %s\n' "$dev" "$(stat -c '%F %t:%T' "$dev" 2>/dev/null || echo missing)"
    done
}
devices_ok() {   # every device a character device, as Linux numbers them (1:3, 1:5, 1:7)
    [ "$(devices)" = $'/dev/null character special file 1:3\n/dev/zero character special file 1:5\n/dev/full character special file 1:7' ]
}
if ! devices_ok; then
    echo "make test: this machine's devices are not what Linux makes them; nothing was run:" >&2
    devices >&2
    echo "make test: restore them as root with: mknod -m 666 /dev/null c 1 3 (zero: 1 5, full: 1 7)" >&2
    echo "make test: 0 passed, 1 failed"
    exit 1
fi
listing() { ls -A "$1" 2>/dev/null | sort; }
sysv() { ipcs -m -s -q 2>/dev/null | awk 'NF > 4 && $1 ~ /^0x/ { print $1 " " $2 }' | sort; }
tmp_before=$(listing /tmp)
shm_before=$(listing /dev/shm)
mq_before=$(listing /dev/mqueue)
sysv_before=$(sysv)
root=$(cd "$here/.." && pwd)
cores_before=$(cd "$root" && ls -d core core.* vgcore.* 2>/dev/null | sort)

run=$(mktemp -d "/tmp/forklore-test-run-$$-XXXXXX")   # carries our pid: not a leftover
mkdir "$run/tmp" "$run/work"
log=$run/criterion.log
trap 'rm -rf -- "$run"' EXIT
export TMPDIR=$run/tmp
cd "$run/work" || exit 1

# --- the suite ------------------------------------------------------------------------------
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
rm -f -- "$log"

if [ "$valgrind" -eq 1 ]; then
    if bash "$here/valgrind_gate.sh" "$out"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
fi

# --- the machine, after ---------------------------------------------------------------------
# A name whose pid (forklore-TAG-PID-..., vgdb-pipe-...-PID-by-...) is a live process belongs
# to a run still going on beside this one.
owner_alive() {
    local pid
    pid=$(sed -n -e 's/^vgdb-pipe-[^0-9]*\([0-9][0-9]*\)-by-.*/\1/p' \
                 -e 's/^\(sem\.\)\{0,1\}forklore-.*-\([0-9][0-9]*\)-[0-9A-Za-z]*$/\2/p' <<<"$1" | head -n 1)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}
left=()
new_entries() {   # $1 where, $2 before, $3 after, $4 an extended regex the names must match
    local name
    while IFS= read -r name; do
        [ -n "$name" ] || continue
        [[ $name =~ $4 ]] || continue
        owner_alive "$name" && continue
        left+=("$1/$name")
    done < <(comm -13 <(printf '%s\n' "$2") <(printf '%s\n' "$3"))
}
if ! devices_ok; then
    echo "make test: FAILED: this run changed the machine's devices:" >&2
    devices >&2
    echo "make test: restore them as root with: mknod -m 666 /dev/null c 1 3 (zero: 1 5, full: 1 7)" >&2
    left+=("the devices /dev/null, /dev/zero, /dev/full")
fi
while IFS= read -r name; do
    [ -n "$name" ] && left+=("$name (in the run's temp folder or working folder)")
done < <(cd "$run" && find tmp work -mindepth 1 -maxdepth 1 2>/dev/null | sort)
new_entries /tmp "$tmp_before" "$(listing /tmp)" '^(forklore-|vgdb-pipe-|core|vgcore\.)'
new_entries /dev/shm "$shm_before" "$(listing /dev/shm)" '.'
new_entries /dev/mqueue "$mq_before" "$(listing /dev/mqueue)" '.'
new_entries "System V IPC (key id)" "$sysv_before" "$(sysv)" '.'
new_entries "$root" "$cores_before" "$(cd "$root" && ls -d core core.* vgcore.* 2>/dev/null | sort)" '.'
if [ ${#left[@]} -eq 0 ]; then
    passed=$((passed + 1))
else
    echo "make test: FAILED: the run left ${#left[@]} thing(s) behind:" >&2
    printf '  %s\n' "${left[@]:0:40}" >&2
    echo "  (names without a pid in /tmp may also come from another test run on this machine at" >&2
    echo "  the same time: run one make test at a time to be sure)" >&2
    failed=$((failed + 1))
fi

echo "make test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
