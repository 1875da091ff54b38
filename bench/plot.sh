#!/usr/bin/env bash
# plot.sh DATA_DIR PLOTS_DIR - draw every plot from the benchmark's last data; runs nothing.
#
# DATA_DIR/index.tsv lists the workloads (name, shape, title, x label, figure label) and
# DATA_DIR/NAME.dat holds one gnuplot block per series.  Each plot is written as PNG (pngcairo)
# and SVG.  Scaling workloads get two plots, on log-log axes so that ideal scaling is a straight
# line of slope 1 whatever the core count:
#   NAME-speedup    speedup over 1 core, min-max error bars, the ideal line y = x, and the
#                   Amdahl and USL fits from DATA/NAME.fits when there were enough core counts
#   NAME-efficiency speedup / cores (1 is perfect)
# Both mark with a labelled vertical line where SMT siblings, efficiency cores or a second
# socket begin (DATA/boundaries.tsv).
# A series workload with an extra figure (fairness) also gets NAME-EXTRA, on a linear y axis.
# Series workloads get NAME: the figure against x, log-log (a share such as lost updates on a
# linear y axis, since it can be 0), with min-max error bars.
#
# plot.sh --compare REFERENCE_DIR DATA_DIR PLOTS_DIR draws, for every workload measured in both
# runs, PLOTS_DIR/compare-NAME: this run's series solid, the reference run's dashed, same axes.
set -euo pipefail
reference=""
if [ "${1:-}" = --compare ]; then
    reference=${2:?usage: plot.sh --compare REFERENCE_DIR DATA_DIR PLOTS_DIR}
    shift 2
fi
data=${1:?usage: plot.sh [--compare REFERENCE_DIR] DATA_DIR PLOTS_DIR}
plots=${2:?usage: plot.sh [--compare REFERENCE_DIR] DATA_DIR PLOTS_DIR}
if [ ! -f "$data/index.tsv" ]; then
    echo "plots: no benchmark data in $data: run 'make bench' first" >&2
    exit 1
fi
command -v gnuplot >/dev/null || { echo "plots: gnuplot not found: run 'make deps'" >&2; exit 1; }
# The plots folder must be a folder itself; each plot is drawn into a private folder inside it
# and then moved into place by the rules of support/output_file.h, so a link planted at a
# plot's name is refused, never written through.
output_label=plots
# shellcheck source=../lib/support/output_file.sh
source "$(dirname "$0")/../lib/support/output_file.sh"
check_output_dir "$plots"
stage=$(mktemp -d "$plots/.drawing-XXXXXX")
trap 'rm -rf -- "$stage"' EXIT

# The position of a column of a .dat file, found by its name in the file's header line
# ("# x figure_median ...", written from bench/reduced_csv.c's table), never by a count.  Later
# names are older spellings to try: a reference run written by an older driver.
#   $1 file, $2... names
column() {
    local file=$1 found
    shift
    for name in "$@"; do
        found=$(awk -v want="$name" '/^# x / { for (i = 2; i <= NF; i++) if ($i == want) { print i - 1; exit } }' "$file")
        [ -n "$found" ] && { echo "$found"; return 0; }
    done
    echo "plots: $file has no column named $1" >&2
    exit 1
}

# A gnuplot `using` spec from column names: using FILE x speedup ... -> "1:5:...".
using() {
    local file=$1 spec="" sep=""
    shift
    for name in "$@"; do
        spec+="$sep$(column "$file" "$name" "${name%_median}")"
        sep=:
    done
    echo "$spec"
}

# The gnuplot `plot` clauses, one per series block of a .dat file.
#   $1 file, $2 using-spec, $3 style
# A series named "reference: ..." is drawn as a dashed horizontal line at its first figure,
# or left out when $4 is "no-reference".  $5, if given, is added to every title.
clauses() {
    local file=$1 using=$2 style=$3 references=${4:-} suffix=${5:-} i=0 sep="" value
    while IFS= read -r name; do
        name=${name//\"/\'}$suffix
        if [[ $name == reference:* && $references == no-reference ]]; then
            i=$((i + 1))
            continue
        elif [[ $name == reference:* ]]; then
            value=$(awk -v block="$i" -v c="$(column "$file" figure_median)" '/^# series:/ { b++ } !/^#/ && NF && b == block + 1 { print $c; exit }' "$file")
            printf '%s%s with lines dashtype 2 linewidth 2 linecolor "gray30" title "%s"' "$sep" "$value" "$name"
        else
            # A colour per series position, so a series keeps its colour on a comparison plot.
            printf '%s"%s" index %d using %s with %s linecolor %d title "%s"' "$sep" "$file" "$i" "$using" "$style" "$((i + 1))" "$name"
        fi
        sep=", "
        i=$((i + 1))
    done < <(sed -n 's/^# series: //p' "$file")
}

# The fitted models the report wrote (DATA/NAME.fits: series, model, p1, p2), as curves.
fitted_curves() {
    [ -f "$1" ] || return 0
    awk -F'\t' '
        $2 == "amdahl" { printf ", 1/(%s + (1 - %s)/x) with lines dashtype 3 linewidth 2 title \"%s: Amdahl fit, s = %.3g\"", $3, $3, $1, $3 }
        $2 == "usl" { printf ", x/(1 + %s*(x - 1) + %s*x*(x - 1)) with lines dashtype 4 linewidth 2 title \"%s: USL fit, sigma = %.3g, kappa = %.2g\"", $3, $4, $1, $3, $4 }
    ' "$1"
}

# Vertical lines where the machine changes (DATA/boundaries.tsv, written by the driver: the
# first k with SMT siblings, efficiency cores, a second socket), each labelled, so a reader
# sees why a curve bends there.
boundary_marks() {
    [ -f "$data/boundaries.tsv" ] || return 0
    awk -F'\t' 'NF == 2 { printf "set arrow from %s, graph 0 to %s, graph 1 nohead dashtype 3 linewidth 2 linecolor \"gray50\"; set label \"%s from k = %s\" at %s, graph 0.03 rotate by 90 left offset -1, 0 textcolor \"gray30\"; ", $1, $1, $2, $1, $1 }' "$data/boundaries.tsv"
}

# Draw one plot to PNG and SVG.  $1 output base name, $2 setup commands, $3 plot clauses
draw() {
    local out=$1 setup=$2 body=$3
    for term in "pngcairo size 1100,640 font 'sans,11'|png" "svg size 1100,640 dynamic font 'sans,11'|svg"; do
        gnuplot <<GP
set terminal ${term%|*}
set termoption noenhanced
set output "$stage/$out.${term#*|}"
set key top left box opaque
set grid
set datafile commentschars "#"
$setup
plot $body
GP
        place_output "$stage/$out.${term#*|}" "$plots/$out.${term#*|}"
    done
    echo "plots: $plots/$out.png and .svg"
}

# The x axis of a series workload: bytes get binary prefixes; x spanning decades gets tics at
# powers of 10, else of 2.  $1 the .dat file, $2 the x label.
x_axis() {
    local span
    # The queue ladder (ipc_ladder): steps 1..6, one idea each, on a plain axis of whole steps.
    if [[ $2 == "ladder step"* ]]; then echo "set xtics 1; set xrange [0.5:6.5];"; return; fi
    span=$(awk -v c="$(column "$1" x)" '!/^#/ && NF { if (min == "" || $c < min) min = $c; if ($c > max) max = $c } END { print (min > 0 ? max / min : 1) }' "$1")
    if [[ $2 == *bytes* ]]; then echo "set logscale x 4; set format x '%.0b %BB';"
    elif awk -v s="$span" 'BEGIN { exit !(s >= 1000) }'; then echo "set logscale x 10; set format x '10^%T';"
    else echo "set logscale x 2; set format x '%g';"; fi
}

if [ -n "$reference" ]; then
    count=0
    while IFS=$'\t' read -r name shape title xlabel figure kind extra; do
        mine="$data/$name.dat" theirs="$reference/$name.dat"
        [ -f "$mine" ] && [ -f "$theirs" ] || continue
        title=${title//\"/\'}
        if [ "$shape" = scaling ]; then
            maxx=$(awk -v c="$(column "$mine" x)" '!/^#/ && NF { if ($c > m) m = $c } END { print (m > 1 ? m : 2) }' "$mine")
            draw "compare-$name" "set logscale xy 2; set xrange [0.8:$maxx*1.25]; set key outside right top; set xlabel 'cores'; set ylabel 'speedup over 1 core'; set title \"$name: this run (solid) and the reference (dashed)\"" \
                "x with lines dashtype 2 linecolor 'gray40' title 'ideal', $(clauses "$mine" "$(using "$mine" x speedup speedup_min speedup_max)" 'yerrorlines pointtype 7'), $(clauses "$theirs" "$(using "$theirs" x speedup)" 'linespoints dashtype 2 pointtype 6' '' ' (reference)')"
        else
            yscale="set logscale y"; [ "${kind:-}" = extra ] && yscale="set yrange [0:*]"
            draw "compare-$name" "set key outside right top; $yscale; $(x_axis "$mine" "$xlabel") set xlabel \"$xlabel\"; set ylabel \"$figure\"; set title \"$name: this run (solid) and the reference (dashed)\"" \
                "$(clauses "$mine" "$(using "$mine" x figure_median figure_min figure_max)" 'yerrorlines pointtype 7' no-reference), $(clauses "$theirs" "$(using "$theirs" x figure_median)" 'linespoints dashtype 2 pointtype 6' no-reference ' (reference)')"
        fi
        count=$((count + 1))
    done < "$data/index.tsv"
    echo "plots: drew $count comparisons of $data with $reference"
    exit 0
fi

count=0
while IFS=$'\t' read -r name shape title xlabel figure kind extra; do
    dat="$data/$name.dat"
    [ -f "$dat" ] || continue
    # A workload that planned nothing (the MPI workloads without MPI) has nothing to draw.
    grep -q '^# series:' "$dat" || continue
    title=${title//\"/\'}
    if [ "$shape" = scaling ]; then
        maxx=$(awk -v c="$(column "$dat" x)" '!/^#/ && NF { if ($c > m) m = $c } END { print (m > 1 ? m : 2) }' "$dat")
        common="set logscale xy 2; set xlabel 'cores (k CPUs; the oversubscribed series runs 2k workers)'; set xrange [0.8:$maxx*1.25]; $(boundary_marks)"
        draw "$name-speedup" "$common; set title \"$title: speedup\"; set ylabel 'speedup over 1 core'; set yrange [0.4:$maxx*1.6]" \
            "x with lines dashtype 2 linecolor 'gray40' title 'ideal (linear)', $(clauses "$dat" "$(using "$dat" x speedup speedup_min speedup_max)" 'yerrorlines pointtype 7')$(fitted_curves "$data/$name.fits")"
        draw "$name-efficiency" "$common; set title \"$title: parallel efficiency\"; set ylabel 'efficiency (speedup / cores)'; set yrange [0:1.2]" \
            "1 with lines dashtype 2 linecolor 'gray40' title 'ideal', $(clauses "$dat" "$(using "$dat" x efficiency)" 'linespoints pointtype 7')"
    else
        fmt=$(x_axis "$dat" "$xlabel")
        # A share (lost updates, fairness) can be 0: a log axis would drop it.  A workload's
        # own figure that is never 0 and spans a decade or more (a round trip in ns, from an
        # MPI message to a pipe's) gets a log axis like the measured times.
        yscale="set logscale y"
        if [ "${kind:-}" = extra ] && ! awk -v c="$(column "$dat" figure_median)" '!/^#/ && NF { if ($c <= 0) z = 1; if (!m || $c > m) m = $c; if (!n || $c < n) n = $c } END { exit !(!z && n > 0 && m / n >= 10) }' "$dat"; then
            yscale="set yrange [0:*]"
        fi
        draw "$name" "set key outside right top; set autoscale xfix; set offsets graph 0.04, graph 0.04, 0, 0; $yscale; $fmt set xlabel \"$xlabel\"; set ylabel \"$figure\"; set title \"$title\"" \
            "$(clauses "$dat" "$(using "$dat" x figure_median figure_min figure_max)" 'yerrorlines pointtype 7')"
        # The workload's extra figure (such as fairness), when it has one, on a plot of its own.
        if [ -n "${extra:-}" ] && [ "$extra" != - ]; then
            draw "$name-${extra// /-}" "set key outside right top; set autoscale xfix; set offsets graph 0.04, graph 0.04, 0, 0; $fmt set yrange [0:1.1]; set xlabel \"$xlabel\"; set ylabel \"$extra\"; set title \"$title: $extra\"" \
                "1 with lines dashtype 2 linecolor 'gray40' title 'even shares', $(clauses "$dat" "$(using "$dat" x extra_median)" 'linespoints pointtype 7' no-reference)"
        fi
    fi
    count=$((count + 1))
done < "$data/index.tsv"
echo "plots: drew $count workloads from $data"
