#!/usr/bin/env bash
# timelines.sh BIN_DIR DATA_DIR PLOTS_DIR [--draw-only] - Gantt timelines of three real runs.
#
# Runs three demos with --trace (Chrome trace-event JSON, see lib/support/timeline.h):
#   timeline-uneven     pool_uneven: static against dynamic scheduling of uneven tasks
#   timeline-fork-join  fork_join --split=equal: one child per range, the join waits for all
#   timeline-crash      pool_primes --crash-range: a worker killed mid-task and replaced
# and keeps each trace as DATA_DIR/NAME.json (open it in ui.perfetto.dev).  Then, for each,
# DATA_DIR/NAME.dat (one line per span: row, start and end in ms, kind) and the Gantt chart
# PLOTS_DIR/NAME.png and .svg: a row per worker, its life as a thin bar, its tasks as boxes.
# --draw-only redraws from the data already there (make plots).  Runs nothing else, and
# writes nothing outside DATA_DIR and PLOTS_DIR.
set -euo pipefail
bin=${1:?usage: timelines.sh BIN_DIR DATA_DIR PLOTS_DIR [--draw-only]}
data=${2:?usage: timelines.sh BIN_DIR DATA_DIR PLOTS_DIR [--draw-only]}
plots=${3:?usage: timelines.sh BIN_DIR DATA_DIR PLOTS_DIR [--draw-only]}
draw_only=${4:-}
command -v gnuplot >/dev/null || { echo "timelines: gnuplot not found: run 'make deps'" >&2; exit 1; }
mkdir -p "$data" "$plots"

# The runs.  Two workers at least, so that there is something to balance even on one CPU.
cpus=$(nproc)
workers=$(( cpus < 2 ? 2 : cpus ))
record() { # NAME EXPECTED_STATUS PROGRAM ARGS...
    local name=$1 expected=$2 status=0
    shift 2
    "$bin/$1" "${@:2}" --trace "$data/$name.json" >"$data/$name.out" 2>&1 || status=$?
    if [ "$status" != "$expected" ] || [ ! -s "$data/$name.json" ]; then
        cat "$data/$name.out" >&2
        echo "timelines: $1 exited with $status (expected $expected) or wrote no trace" >&2
        exit 1
    fi
}
if [ "$draw_only" != --draw-only ]; then
    record timeline-uneven 0 pool_uneven --workers "$workers" --tasks 32 --work-ms 400
    record timeline-fork-join 0 fork_join --workers "$workers" --split equal --no-check
    # The crashing range kills its worker and, on the retry, the replacement too: the run
    # reports that range as lost, so its exit status is 1 by design.
    record timeline-crash 1 pool_primes --workers "$workers" --ranges 24 --crash-range 5
fi

# One trace-event line per span, as forklore's writer puts them (one event a line), into
# "row start_ms end_ms kind": kind 0 a worker's life, 1 a task (or the first job's), 2 a task
# of the second job (dynamic), 3 a task whose worker died under it.  Rows are numbered from 1
# in the order the lives start.
to_dat() {
    awk '
        function field(name,   m) {
            if (match($0, "\"" name "\": \"[^\"]*\"")) {
                m = substr($0, RSTART, RLENGTH); sub(/^[^:]*: "/, "", m); sub(/"$/, "", m); return m
            }
            if (match($0, "\"" name "\": [-0-9.]+")) {
                m = substr($0, RSTART, RLENGTH); sub(/^[^:]*: /, "", m); return m
            }
            return ""
        }
        /"ph": "X"/ {
            n++; cat[n] = field("cat"); tid[n] = field("tid"); ts[n] = field("ts")
            dur[n] = field("dur"); job[n] = field("job"); status[n] = field("status")
        }
        END {
            rows = 0
            for (i = 1; i <= n; i++)
                if (cat[i] != "task" && !(tid[i] in row)) row[tid[i]] = ++rows
            for (i = 1; i <= n; i++) {
                if (cat[i] != "task") kind = 0
                else if (status[i] == "worker died") kind = 3
                else if (job[i] == "dynamic") kind = 2
                else kind = 1
                printf "%d %.3f %.3f %d\n", row[tid[i]], ts[i] / 1000, (ts[i] + dur[i]) / 1000, kind
            }
            printf "# rows %d\n", rows
        }' "$1"
}

# The plot clause of one kind of span, or nothing when the run had none of that kind.
#   $1 the .dat file, $2 kind, $3 half-height of its bars, $4 colour, $5 title
clause() {
    awk -v k="$2" '$4 == k { found = 1 } END { exit !found }' "$1" || return 0
    printf '"%s" using (($2 + $3) / 2):($4 == %s ? $1 : NaN):(($3 - $2) / 2):(%s) ' "$1" "$2" "$3"
    printf 'with boxxyerror lc rgb "%s" title "%s", ' "$4" "$5"
}

draw() { # NAME TITLE TASK_TITLE [SECOND_JOB_TITLE]
    local name=$1 title=$2 dat="$data/$1.dat" rows plot
    rows=$(sed -n 's/^# rows //p' "$dat")
    plot=$(clause "$dat" 0 0.06 "#999999" "worker alive"; clause "$dat" 1 0.3 "#3b78c2" "$3"
           clause "$dat" 2 0.3 "#e0902a" "${4:-}"; clause "$dat" 3 0.3 "#c0302a" "task whose worker died")
    for terminal in "pngcairo size 1000,$((160 + 40 * rows))" "svg size 1000,$((160 + 40 * rows))"; do
        local ext=${terminal%% *}
        ext=${ext/pngcairo/png}
        gnuplot <<EOF
set terminal $terminal noenhanced
set output "$plots/$name.$ext"
set title "$title"
set xlabel "time since the first span (ms)"
set ylabel "worker (one row per process)"
set yrange [0.3:$rows + 0.7]
set ytics 1
set grid xtics
set key outside right top
set style fill solid 0.8 border lc rgb "#333333"
plot ${plot%, }
EOF
    done
}

for name in timeline-uneven timeline-fork-join timeline-crash; do
    if [ ! -s "$data/$name.json" ]; then
        echo "timelines: no $data/$name.json: run 'make bench' first" >&2
        exit 1
    fi
    to_dat "$data/$name.json" >"$data/$name.dat"
done
draw timeline-uneven "pool_uneven: static blocks, then dynamic (one task at a time)" \
    "static task" "dynamic task"
draw timeline-fork-join "fork_join --split=equal: one child per range" "its count"
draw timeline-crash "pool_primes --crash-range=5: a worker killed mid-task, and replaced" "task"
# The report, when there is one, links the charts (once: it is rewritten by every run).
report="$plots/report.md"
if [ -f "$report" ] && ! grep -q '^## Timelines of real runs' "$report"; then
    cat >>"$report" <<EOF

## Timelines of real runs

One row per worker process, from its fork to its reaping; its tasks are the boxes on it. The
traces behind them are Chrome trace-event JSON files in \`$data\`: open one in
ui.perfetto.dev to zoom in (lessons/08-process-pool.md, section 9).

- Static against dynamic scheduling of uneven tasks (\`pool_uneven\`): under static one worker
  holds the heavy block while the other idles; under dynamic both stay busy to the end.
  ![pool_uneven timeline](timeline-uneven.svg)
- The fork-join job (\`fork_join --split=equal\`): the join waits for the slowest child.
  ![fork_join timeline](timeline-fork-join.svg)
- A worker killed mid-task and replaced (\`pool_primes --crash-range=5\`): the red box ends
  with its worker's row, and the replacement's row starts after it.
  ![pool_primes crash timeline](timeline-crash.svg)
EOF
fi
echo "timelines: plots/timeline-uneven, timeline-fork-join, timeline-crash (.png, .svg); traces in $data/*.json"
