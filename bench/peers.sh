#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Trireme, canonical/raft and etcd side by side, in one run (issues 16 and
# 14): 3 replicas each on this machine, 16-byte writes, windows 1 and 128
# (the same total outstanding commands for every system), data on tmpfs and
# on this machine's disk, --rounds interleaved rounds (bench/peers.py says
# what runs how). Writes into DIR: machine.txt (with this command as typed,
# the peers' versions, the file systems and the load average before and
# after), peers.jsonl, peers.csv, peers-summary.json, table.md, peers.png.
#
#   bench/peers.sh [--quick] [--rounds N] [--secs S] [--out DIR]
#
# DIR is taken relative to the directory the script is started from
# (default: bench/results/peers). Takes about 6 minutes with the defaults
# (3 rounds of 5 s points; --quick: 1 round of 2 s points, about 1.5 min).
# Needs root for DPDK's --no-huge memory, like the launcher.
set -euo pipefail

usage() {
	echo "usage: bench/peers.sh [--quick] [--rounds N] [--secs S] [--out DIR]" >&2
	exit 2
}

. "$(dirname "$0")/lib.sh"
bench_init "$@"

rounds=3
secs=5
warmup=1
out=$repo/bench/results/peers
while [ $# -gt 0 ]; do
	case $1 in
	--quick) rounds=1; secs=2; warmup=0.5 ;;
	--rounds) [ $# -ge 2 ] || usage; rounds=$2; shift ;;
	--secs) [ $# -ge 2 ] || usage; secs=$2; shift ;;
	--out) [ $# -ge 2 ] && out=$(bench_out_dir "$2") && [ -n "$out" ] || usage; shift ;;
	*) usage ;;
	esac
	shift
done
cd "$repo"

./scripts/install-deps.sh --bench
[ -f build/build.ninja ] || meson setup build
# raft-bench is built where libraft and libuv are found: look again if they
# came after the build directory.
if [ ! -x build/bench/raft-bench ] && pkg-config --exists raft libuv; then
	meson setup --reconfigure build >/dev/null
fi
ninja -C build
mkdir -p "$out"
rm -f "$out"/peers.* "$out"/peers-summary.json "$out"/table.md

disk=$(mktemp -d /var/tmp/trireme-peers.XXXXXX)
tmpfs=$(mktemp -d /dev/shm/trireme-peers.XXXXXX)
trap 'rm -rf "$disk" "$tmpfs"' EXIT

{
	bench/machine.sh "$command_line" "$started_in"
	echo
	etcd_version=$( (etcd --version 2>/dev/null || true) | sed -n 1p)
	echo "peers: canonical/raft $(pkg-config --modversion raft 2>/dev/null || echo n/a)" \
		"(libuv $(pkg-config --modversion libuv 2>/dev/null || echo n/a)), ${etcd_version:-etcd n/a}"
	echo "disk data: $disk on $(findmnt -n -o SOURCE,FSTYPE,OPTIONS -T "$disk" | sed -n 1p)"
	echo "tmpfs data: $tmpfs on $(findmnt -n -o SOURCE,FSTYPE,OPTIONS -T "$tmpfs" | sed -n 1p)"
	echo "rounds: $rounds, $secs s per point (raft and etcd: after $warmup s of warm-up)"
} >"$out/machine.txt"

python3 bench/peers.py "$out" --rounds "$rounds" --secs "$secs" --warmup "$warmup" \
	--disk-dir "$disk" --tmpfs-dir "$tmpfs"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
(cd "$out" && gnuplot "$repo/bench/peers.gp")
echo "== results in $out: $(cd "$out" && ls | tr '\n' ' ')" >&2
