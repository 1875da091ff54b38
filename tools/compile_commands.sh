#!/usr/bin/env bash
# compile_commands.sh DIR - the body of `make compdb`: turn the lines "FILE<TAB>COMMAND" on
# standard input (written by the Makefile, one per C file it compiles) into the JSON
# compilation database clangd and other tools read, on standard output.  DIR is the
# directory the commands run in: the top of the tree.
set -euo pipefail
dir=${1:?usage: compile_commands.sh DIR}

# The inside of a JSON string: a backslash and a double quote are escaped, nothing else
# occurs in a path or a compiler flag here.
json_string() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'; }

echo '['
first=1
while IFS=$'\t' read -r file command; do
    [ -n "$file" ] || continue
    [ "$first" -eq 1 ] || echo ','
    first=0
    printf '  {"directory": "%s", "file": "%s", "command": "%s"}' \
        "$(json_string "$dir")" "$(json_string "$file")" "$(json_string "$command")"
done
echo
echo ']'
