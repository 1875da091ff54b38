#!/usr/bin/env bash
# gradescope.sh LAB DIR - the body of `make gradescope LAB=NAME`: an autograder for Gradescope.
#
# Gradescope wants a zip holding setup.sh (run once, as root, to build the image) and
# run_autograder (run for every submission, which it finds in /autograder/submission/, and
# which writes /autograder/results/results.json).  This writes DIR/LAB/ with both and the
# suite itself (the hand-out, so no solutions), and zips it as DIR/LAB-gradescope.zip when
# `zip` or `python3` is here to do it.
#
# run_autograder starts from the handout's starter files and lays every uploaded file over them
# (by name, wherever the student put it in the upload), so a file left out is graded as the
# starter code and loses that part's points instead of the whole build.
set -euo pipefail
lab=${1:?usage: gradescope.sh LAB DIR}
out=${2:?usage: gradescope.sh LAB DIR}
cd "$(dirname "$0")/../../.."
[ -f "lessons/labs/$lab/grade.c" ] || { echo "make gradescope: no lab named '$lab'" >&2; exit 2; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "${out:?}/$lab" "$out/$lab-gradescope.zip"
mkdir -p "$out/$lab"
bash lessons/labs/grader/handout.sh "$out/$lab" >/dev/null
tar -xzf "$out/$lab/forklore-labs.tar.gz" -C "$out/$lab"
rm "$out/$lab/forklore-labs.tar.gz"
mv "$out/$lab/forklore-labs" "$out/$lab/source"

cat >"$out/$lab/setup.sh" <<'EOF'
#!/usr/bin/env bash
# Gradescope image set-up: a C compiler and make are all a lab's grader needs.
set -euo pipefail
apt-get -o DPkg::Lock::Timeout=300 update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y \
    --no-install-recommends build-essential
make -C /autograder/source build/libforklore.a
EOF

cat >"$out/$lab/run_autograder" <<EOF
#!/usr/bin/env bash
# Gradescope runs this for each submission: grade lab $lab, results to results.json.
# (AUTOGRADER_ROOT moves /autograder, to try this outside Gradescope.)
set -uo pipefail
root=\${AUTOGRADER_ROOT:-/autograder}
source=\$root/source
work=\$(mktemp -d)
# The starter files first, then every file the student uploaded, wherever it is in the upload
# (the lab's grade.c and headers are always the given ones: the build takes them from source).
for f in "\$source/lessons/labs/$lab"/*; do
    case "\$(basename "\$f")" in grade.c|handout.md|*.h) continue ;; esac
    cp "\$f" "\$work/"
done
find "\$root/submission" -type f -exec cp {} "\$work/" \;
mkdir -p "\$root/results"
make -s -C "\$source" grade LAB=$lab LAB_SRC="\$work" JSON="\$root/results/results.json"
rm -rf "\$work"
# The score is in results.json; a score below full marks is not an autograder failure.
exit 0
EOF
chmod +x "$out/$lab/setup.sh" "$out/$lab/run_autograder"

if command -v zip >/dev/null 2>&1; then
    (cd "$out/$lab" && zip -qr "../$lab-gradescope.zip" setup.sh run_autograder source)
elif command -v python3 >/dev/null 2>&1; then
    (cd "$out/$lab" && python3 -m zipfile -c "../$lab-gradescope.zip" setup.sh run_autograder source)
else
    echo "gradescope: neither zip nor python3 is here: zip the contents of $out/$lab yourself"
    exit 0
fi
echo "gradescope: $out/$lab-gradescope.zip (upload it as the autograder of lab $lab)"
