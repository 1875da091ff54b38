#!/usr/bin/env bash
# gradescope.sh LAB DIR - the body of `make gradescope LAB=NAME`: an autograder for Gradescope.
#
# Gradescope wants a zip holding setup.sh (run once, as root, to build the image) and
# run_autograder (run for every submission, which it finds in /autograder/submission/, and
# which writes /autograder/results/results.json).  This writes DIR/LAB/ with both and the
# suite itself (the hand-out, so no solutions), and zips it as DIR/LAB-gradescope.zip when
# `zip` or `python3` is here to do it.
#
# run_autograder takes each of the lab's files from the upload by name, wherever the student put
# it (or by the name a browser gives a second copy, "parallel (1).c", when there is exactly
# one), and the starter's copy for a file not uploaded, so that a file left out loses that
# part's points instead of the whole build; it lists what it used and what it ignored.  The
# suite in it is the hand-out (handout.sh): the committed tree, without tests/labs/.
set -euo pipefail
lab=${1:?usage: gradescope.sh LAB DIR}
out=${2:?usage: gradescope.sh LAB DIR}
cd "$(dirname "$0")/../../.."
[ -f "lessons/labs/$lab/grade.c" ] || { echo "make gradescope: no lab named '$lab'" >&2; exit 2; }

# DIR must be a folder itself.  The autograder is made in a private folder inside it, then
# moved to DIR/LAB: an earlier DIR/LAB is replaced only if this script made it (its marker
# file says so), never a folder of someone else's; the zip lands by output_file.h's rules.
output_label="make gradescope"
# shellcheck source=../../../lib/support/output_file.sh
source lib/support/output_file.sh
check_output_dir "$out"
out=$(cd "$out" && pwd)
marker=.made-by-forklore-gradescope
if [ -e "$out/$lab" ] || [ -L "$out/$lab" ]; then
    if [ -L "$out/$lab" ] || [ ! -f "$out/$lab/$marker" ]; then
        echo "make gradescope: $out/$lab exists and was not made by make gradescope: move it away first" >&2
        exit 1
    fi
fi
stage=$(mktemp -d "$out/.gradescope-$lab-XXXXXX")
trap 'rm -rf -- "$stage"' EXIT
mkdir "$stage/$lab"
bash lessons/labs/grader/handout.sh "$stage" >/dev/null
tar -xzf "$stage/forklore-labs.tar.gz" -C "$stage"
rm -- "$stage/forklore-labs.tar.gz"
mv -- "$stage/forklore-labs" "$stage/$lab/source"
: >"$stage/$lab/$marker"

cat >"$stage/$lab/setup.sh" <<'EOF'
#!/usr/bin/env bash
# Gradescope image set-up: a C compiler and make are all a lab's grader needs.
set -euo pipefail
apt-get -o DPkg::Lock::Timeout=300 update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y \
    --no-install-recommends build-essential
make -C /autograder/source build/libforklore.a
EOF

cat >"$stage/$lab/run_autograder" <<EOF
#!/usr/bin/env bash
# Gradescope runs this for each submission: grade lab $lab, results to results.json.
# (AUTOGRADER_ROOT moves /autograder, to try this outside Gradescope.)
# Gradescope runs it as root: the grader runs the submission in its own sandbox (as nobody, in
# namespaces of its own) and alone writes results.json, after every process it started is gone.
set -uo pipefail
root=\${AUTOGRADER_ROOT:-/autograder}
source=\$root/source
lab=$lab
work=\$(mktemp -d)
trap 'rm -rf "\$work"' EXIT
EOF
cat >>"$stage/$lab/run_autograder" <<'EOF'
# Each file the lab asks for (the starter's .c files and its other files, not the given grade.c,
# headers or handout), from the upload wherever it is in it: by its exact name, else by a name
# a browser or an archiver gives a copy ("parallel (1).c", "parallel-2.c") when exactly one such
# file is there.  A file not uploaded is graded as the starter code (and loses that part's
# points).  What was used, from where, and what was ignored is printed: Gradescope shows it.
one_of() { [ "$(printf '%s\n' "$1" | grep -c .)" -eq 1 ]; }
used=$work/.used
: >"$used"
for f in "$source/lessons/labs/$lab"/*; do
    name=$(basename "$f")
    case "$name" in grade.c|handout.md|*.h) continue ;; esac
    stem=${name%.*} ext=${name##*.}
    pick=$(find "$root/submission" -type f -name "$name")
    if ! one_of "$pick"; then
        pick=$(find "$root/submission" -type f \( -name "$stem ([0-9]*).$ext" \
            -o -name "$stem-[0-9]*.$ext" -o -name "$stem([0-9]*).$ext" \))
        one_of "$pick" || pick=""
    fi
    if [ -n "$pick" ]; then
        cp "$pick" "$work/$name"
        echo "used: ${pick#"$root/submission/"} as $name"
        printf '%s\n' "$pick" >>"$used"
    else
        cp "$f" "$work/$name"
        echo "not uploaded (or more than one candidate): $name, graded as the starter code"
    fi
done
find "$root/submission" -type f | while read -r f; do
    grep -qxF "$f" "$used" || echo "ignored: ${f#"$root/submission/"} (not a file of lab $lab)"
done
rm -f "$used"
mkdir -p "$root/results"
make -s -C "$source" grade LAB="$lab" LAB_SRC="$work" JSON="$root/results/results.json"
# The score is in results.json; a score below full marks is not an autograder failure.
exit 0
EOF
chmod +x "$stage/$lab/setup.sh" "$stage/$lab/run_autograder"

zipped=1
if command -v zip >/dev/null 2>&1; then
    (cd "$stage/$lab" && zip -qr "../$lab-gradescope.zip" setup.sh run_autograder source)
elif command -v python3 >/dev/null 2>&1; then
    (cd "$stage/$lab" && python3 -m zipfile -c "../$lab-gradescope.zip" setup.sh run_autograder source)
else
    zipped=0
fi
[ -d "$out/$lab" ] && rm -rf -- "${out:?}/$lab"   # made by this script: the marker said so
mv -T -- "$stage/$lab" "$out/$lab"
if [ "$zipped" = 0 ]; then
    echo "gradescope: neither zip nor python3 is here: zip the contents of $out/$lab yourself"
    exit 0
fi
place_output "$stage/$lab-gradescope.zip" "$out/$lab-gradescope.zip"
echo "gradescope: $out/$lab-gradescope.zip (upload it as the autograder of lab $lab)"
