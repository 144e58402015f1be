#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Tail latency of the in-process cluster (issue 16: "p99 <= 5x p50 at every
# window up to half of peak, and on a machine with other load"): windows 1,
# 2, 4, 8, 16, 32, 64, batch 1 and the default batch, each idle policy
# (--idle backoff|yield|poll), with 0, 1 and 2 other CPU-bound processes, and
# on 2 MiB hugepages against 4 KiB pages (--no-huge); 3 interleaved rounds
# (bench/tails.py says what runs how). Writes into DIR: machine.txt (with
# this command as typed), tails.csv (one row per run), tails.jsonl,
# tails-summary.json and summary.md (the medians, spreads and the check).
#
#   bench/tails.sh [--quick] [--out DIR] [--lock FILE]
#
# --quick: windows 1, 4, 16, 64, other load 0 and 1, 2 rounds of 0.5 s
# points (about 4 minutes; the full run about 11). --lock FILE: every run
# holds flock(FILE), so that benchmarks of other users of the machine take
# turns with ours. DIR is taken relative to the directory the script is
# started from (default: bench/results/tails). The hugepages come from
# scripts/hugepages.sh (root); without them the hugepage points are left out
# and summary.md says so. Needs root for DPDK, like the launcher.
set -euo pipefail

usage() {
	echo "usage: bench/tails.sh [--quick] [--out DIR] [--lock FILE]" >&2
	exit 2
}

. "$(dirname "$0")/lib.sh"
bench_init "$@"

args=()
out=$repo/bench/results/tails
while [ $# -gt 0 ]; do
	case $1 in
	--quick) args+=(--quick) ;;
	--lock) [ $# -ge 2 ] || usage; args+=(--lock "$2"); shift ;;
	--out) [ $# -ge 2 ] && out=$(bench_out_dir "$2") && [ -n "$out" ] || usage; shift ;;
	*) usage ;;
	esac
	shift
done
cd "$repo"

[ -f build/build.ninja ] || meson setup build
ninja -C build >/dev/null
mkdir -p "$out"
rm -f "$out"/tails.* "$out"/tails-summary.json "$out"/summary*.md

before=$(scripts/hugepages.sh --status 2>/dev/null | sed -n 's/^hugepages: \([0-9]*\) x.*/\1/p')
if huge=$(scripts/hugepages.sh 2>&1); then
	echo "$huge" >&2
	# Pages this run reserved go back when it ends, however it ends.
	[ "${before:-0}" = 0 ] && trap 'scripts/hugepages.sh --release >/dev/null 2>&1' EXIT
else
	echo "tails: no hugepages ($huge): the hugepage points are left out" >&2
	args+=(--no-hugepages)
fi
bench/machine.sh "$command_line" "$started_in" >"$out/machine.txt"
python3 bench/tails.py build/tools/trireme "$out" "${args[@]}"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"

{
	echo "# Tail latency of the in-process cluster"
	echo
	echo "Command: \`$command_line\` ($(sed -n 's/^date: //p' "$out/machine.txt"), commit" \
		"$(sed -n 's/^commit: //p' "$out/machine.txt"))."
	echo "Machine: $(sed -n 's/^Model name: *//p' "$out/machine.txt"), $(sed -n \
		's/^CPU(s): *//p' "$out/machine.txt") vCPUs, $(sed -n 's/^kernel: //p' \
		"$out/machine.txt"); $(sed -n 's/^load average at start: /load average /p' \
		"$out/machine.txt") at the start, $(sed -n \
		's/^load average at the end: //p' "$out/machine.txt") at the end (other users" \
		"of the machine included)."
	echo "$huge" | grep -q '^hugepages:' && echo "Hugepages: ${huge#hugepages: }." ||
		echo "Hugepages: none could be reserved; those points are left out."
	python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
ok = sum(c["ok"] for c in s["curves"])
print("Each point: %g s, %d interleaved rounds; medians, spreads min-max over the rounds."
      % (s["secs"], s["reps"]))
print("Other load: N processes `sh -c \"while :; do :; done\"` at normal priority during each run.")
print("The check: p99 <= %gx p50 at every window from 1 up to the last whose throughput is at"
      " most half the curve'"'"'s peak: %d of %d curves pass." % (s["ratio_max"], ok, len(s["curves"])))
' "$out/tails-summary.json"
	echo
	cat "$out/summary-table.md"
	echo
	echo "Every run: tails.csv; the launcher's JSON and command: tails.jsonl."
} >"$out/summary.md"
rm -f "$out/summary-table.md"
echo "tails: results in $out: $(cd "$out" && ls | tr '\n' ' ')" >&2
