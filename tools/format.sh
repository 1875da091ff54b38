#!/usr/bin/env bash
# format.sh CLANG_FORMAT FILE... - format C files in place, and keep the labs' wrong-solution
# patches applying to what they patch.
#
# Each tests/labs/LAB/wrong/NAME.patch is a lab's reference solution with one mistake in it
# (tests/test_labs.c applies it and grades the result).  Formatting the solution moves its
# lines, and a patch written against the old lines would no longer apply.  So, before the
# files are formatted, every patch is applied to a copy of its solution; after, that copy is
# formatted the same way and the patch is written again as the difference between the two.
# Its comment lines (# what the mistake is, # test:, # expect:) are kept as they were.
set -euo pipefail
clang_format=${1:?usage: format.sh CLANG_FORMAT FILE...}
shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

patches=()
for p in tests/labs/*/wrong/*.patch; do
    [ -e "$p" ] || continue
    lab=$(dirname "$(dirname "$p")")
    old=$(sed -n 's/^--- \([^\t]*\).*/\1/p' "$p" | head -1)
    new=$(sed -n 's/^+++ \([^\t]*\).*/\1/p' "$p" | head -1)
    k=${#patches[@]}
    patches+=("$p")
    printf '%s\n%s\n%s\n' "$lab" "$old" "$new" >"$work/$k.names"
    grep '^#' "$p" >"$work/$k.comments" || true
    patch --quiet --output="$work/$k.c" "$lab/$old" <"$p"
done

"$clang_format" -i --style=file "$@"

for k in "${!patches[@]}"; do
    p=${patches[$k]}
    { read -r lab; read -r old; read -r new; } <"$work/$k.names"
    # From standard input, so that the style is the one found from the lab's folder.
    "$clang_format" --style=file --assume-filename="$lab/$old" <"$work/$k.c" >"$work/$k.formatted"
    {
        cat "$work/$k.comments"
        diff -u --label "$old" --label "$new" "$lab/$old" "$work/$k.formatted" || [ $? -eq 1 ]
    } >"$work/$k.patch"
    # The new patch must give exactly the formatted wrong solution, or nothing is replaced.
    patch --quiet --output="$work/$k.check" "$lab/$old" <"$work/$k.patch"
    cmp -s "$work/$k.check" "$work/$k.formatted" || {
        echo "format: $p: the rewritten patch does not reproduce the wrong solution" >&2
        exit 1
    }
    cmp -s "$work/$k.patch" "$p" || cat "$work/$k.patch" >"$p"
done
echo "format: $# files formatted with $clang_format; ${#patches[@]} wrong-solution patches kept applying"
