#!/bin/sh
# Write compile_commands.json to stdout for the given sources:
#   compdb.sh CC "FLAGS" FILE...
# Every file compiles with the same flags (as the Makefile builds them).
set -eu
cc=$1 flags=$2
shift 2
dir=$(pwd)
esc() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
printf '[\n'
sep=""
for f in "$@"; do
	printf '%s  {"directory": "%s", "file": "%s", "command": "%s %s -c %s"}' \
		"$sep" "$(esc "$dir")" "$(esc "$f")" "$(esc "$cc")" "$(esc "$flags")" "$(esc "$f")"
	sep=",
"
done
printf '\n]\n'
