#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every benchmark and writes its results into one directory (default
# bench/results/): the machine, the floor, the engine alone, instructions per
# commit, the end-to-end sweeps, plots and a summary of the performance
# targets.
#
#   bench/run.sh [--quick] [--secs S] [--peers] [--huge] [--out DIR]
#
# --huge: DPDK on 2 MiB hugepages (scripts/hugepages.sh reserves them; EAL
# --in-memory instead of --no-huge); machine.txt says which.
# --peers: at the end, also Trireme, canonical/raft and etcd side by side
# (bench/peers.sh, with --quick when given) into DIR/peers.
#
# DIR is taken relative to the directory the script is started from; the
# results of an earlier run in DIR are replaced. machine.txt records the
# command as typed. Takes about 12 minutes on a 2-vCPU VM (--quick: about
# 4). Needs root for DPDK's --no-huge memory, like the launcher.
set -euo pipefail

usage() {
	echo "usage: bench/run.sh [--quick] [--secs S] [--peers] [--huge] [--out DIR]" >&2
	exit 2
}

. "$(dirname "$0")/lib.sh"
bench_init "$@"

quick=()
secs=3
peers=false
huge=()
out=$repo/bench/results
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=(--quick); secs=1 ;;
	--secs) [ $# -ge 2 ] || usage; secs=$2; shift ;;
	--peers) peers=true ;;
	--huge) huge=(--huge) ;;
	--out) [ $# -ge 2 ] && out=$(bench_out_dir "$2") && [ -n "$out" ] || usage; shift ;;
	*) usage ;;
	esac
	shift
done
cd "$repo"

./scripts/install-deps.sh --bench
[ -f build/build.ninja ] || meson setup build
ninja -C build
mkdir -p "$out"
rm -f "$out"/*.csv "$out"/*.jsonl "$out"/*.png "$out"/*.dat "$out"/summary.*

memory=--no-huge
if [ ${#huge[@]} -gt 0 ]; then
	scripts/hugepages.sh # enough for -m 1024; fails clearly when the kernel has fewer
	memory=--in-memory
fi
eal=("$memory" --no-pci --no-telemetry --log-level='*:error' -m 1024 --no-shconf -l 0-1)
log() { echo "== $*" >&2; }

log "machine"
bench/machine.sh "$command_line" "$started_in" >"$out/machine.txt"
echo "eal memory: $memory ($([ "$memory" = --no-huge ] && echo "4 KiB pages" ||
	echo "2 MiB hugepages"))" >>"$out/machine.txt"

log "floor: raw packets, no protocol (build/bench/bench-floor)"
build/bench/bench-floor "${eal[@]}" -- "${quick[@]}" >"$out/floor.jsonl"

log "engine alone, no DPDK (build/bench/bench-engine)"
build/bench/bench-engine "${quick[@]}" >"$out/engine.jsonl"

log "the runtime's store alone (build/bench/bench-store)"
build/bench/bench-store >"$out/store.jsonl"

log "instructions per commit (callgrind, bench-engine --commits N)"
# Twice: the whole program, and the engine's entry points only (the calls
# every replica makes: submit, flush, recv, tick, apply; the harness that
# moves messages between them is not counted).
for b in 1 64; do
	n1=2000
	n2=$((b == 1 ? 12000 : 4000))
	ir=()
	for only in "" --toggle-collect='tr_column_*'; do
		for n in $n1 $n2; do
			valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" \
				${only:+"$only" --toggle-collect=tr_apply} \
				build/bench/bench-engine --commits "$n" --batch "$b" >/dev/null 2>&1
			ir+=("$(sed -n 's/^\(summary\|totals\): *\([0-9]*\).*/\2/p' "$out/cg.out" | head -n 1)")
		done
	done
	rm -f "$out/cg.out"
	python3 -c "
import json, sys
b, n1, n2, i1, i2, e1, e2 = map(int, sys.argv[1:])
per, eng = (i2 - i1) / (n2 - n1), (e2 - e1) / (n2 - n1)
print(json.dumps({'bench': 'callgrind', 'batch': b, 'commits': [n1, n2], 'instructions': [i1, i2],
                  'instructions_per_instance': round(per), 'instructions_per_cmd': round(per / b),
                  'engine_instructions': [e1, e2], 'engine_instructions_per_instance': round(eng),
                  'engine_instructions_per_cmd': round(eng / b)}))
" "$b" "$n1" "$n2" "${ir[@]}" >>"$out/callgrind.jsonl"
done

log "end to end with the launcher (build/tools/trireme), $secs s per point"
python3 bench/e2e.py build/tools/trireme "$out" --secs "$secs" "${quick[@]}" "${huge[@]}"

log "summary and plots"
python3 bench/summary.py "$out"
floor_us=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['floor_rtt_one_lcore_p50_us'])" \
	"$out/summary.json")
(cd "$out" && gnuplot -e "floor_us=$floor_us" "$repo/bench/plots.gp")
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
if $peers; then
	log "side by side with canonical/raft and etcd (bench/peers.sh)"
	bench/peers.sh "${quick[@]}" --out "$out/peers"
fi
log "results in $out: $(cd "$out" && ls | tr '\n' ' ')"
