#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# trireme --history FILE: a 3-replica cluster under 10% loss records every
# client operation (HISTORY.md), and history-check accepts what it wrote, for
# each read mode. A history with a set's line repeated is refused.
#
#   test_history_launcher.sh TRIREME HISTORY_CHECK OUT_DIR [SEED]
set -euo pipefail
bin=$1
check=$2
dir=$3
seed=${4:-${SEED:-7}}
mkdir -p "$dir"
prefix=trireme-hist-$$
eal=(--no-huge --no-pci --no-telemetry --log-level='*:error' -m 256 --no-shconf
	--file-prefix "$prefix" -l 0-1)

for mode in barrier log local; do
	h=$dir/h-$mode.jsonl
	rm -f "$h"
	timeout -s KILL 60 "$bin" "${eal[@]}" -- --cluster --duration 1 --loss 0.1 \
		--read-mode "$mode" --read-ratio 0.5 --keys 200 --window 16 --seed "$seed" \
		--history "$h" --json --quiet >"$dir/out-$mode.json"
	grep -q '"digests_match":true' "$dir/out-$mode.json" || {
		echo "read mode $mode: replicas diverged" >&2
		exit 1
	}
	ops=$(grep -c '' "$h")
	[ "$ops" -gt 100 ] || {
		echo "read mode $mode: only $ops operations in the history" >&2
		exit 1
	}
	if [ "$mode" = local ]; then
		# Local reads are kept out of the checked history.
		! grep -q '"op": "get"' "$h" || {
			echo "read mode local: gets in the checked history" >&2
			exit 1
		}
	else
		grep -q "\"meta\": \"$mode\"" "$h" || {
			echo "read mode $mode: no gets in the history" >&2
			exit 1
		}
	fi
	"$check" "$h"
done

# The checker is not a rubber stamp: a value written twice is refused.
bad=$dir/h-dup.jsonl
{ cat "$dir/h-barrier.jsonl"; grep -m 1 '"op": "set"' "$dir/h-barrier.jsonl"; } >"$bad"
if "$check" "$bad" 2>/dev/null; then
	echo "history-check accepted a value written twice" >&2
	exit 1
fi
echo "launcher histories ok (seed $seed)"
