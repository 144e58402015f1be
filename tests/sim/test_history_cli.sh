#!/usr/bin/env bash
# trireme-sim --history FILE --seed S: the file it writes (and the local
# reads' file) pass history-check, the project's validator and checker of
# HISTORY.md histories.
# Usage: test_history_cli.sh TRIREME_SIM HISTORY_CHECK OUT_DIR
set -euo pipefail
sim=$1
check=$2
dir=$3
mkdir -p "$dir"
rm -f "$dir"/h.jsonl "$dir"/h-local.jsonl
"$sim" --seed 11 --ops 2000 --loss 0.2 --dup 0.05 --crash 1 --read-ratio 0.5 \
	--read-mode mix --retry 0.1 --history "$dir/h.jsonl" --history-local "$dir/h-local.jsonl"
"$check" "$dir/h.jsonl"
"$check" --local "$dir/h-local.jsonl"
# A local read in the checked history is refused.
if "$check" "$dir/h-local.jsonl" 2>/dev/null; then
	echo "history-check accepted local reads in a checked history" >&2
	exit 1
fi
# A history needs a single run.
if "$sim" --seeds 2 --history "$dir/x.jsonl" 2>/dev/null; then
	echo "trireme-sim --history accepted several seeds" >&2
	exit 1
fi
echo "history ok"
