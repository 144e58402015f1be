#!/usr/bin/env bash
# PROTOCOL §12 S, issue 14: what durability costs. The in-process cluster (3
# replicas, one process), 16-byte writes only, closed loop, windows 1 and 128,
# for: memory only; --data-dir on this machine's disk with --sync fdatasync
# and o_dsync; on tmpfs (/dev/shm) with fdatasync; on the disk with --sync
# none (UNSAFE against power loss). Prints write throughput, p50 and p99, and
# the group commit: records per sync (the batch) and the time of one write +
# sync, averaged over the replicas.
# Usage: bench/durable.sh [build dir] [seconds per run] [disk dir]
#   (defaults: build, 8, a new directory under $TMPDIR or /tmp)
# Not a test: it prints numbers (a markdown table).
set -uo pipefail
build=${1:-build}
secs=${2:-8}
disk=${3:-}
if [ -z "$disk" ]; then
	disk=$(mktemp -d "${TMPDIR:-/tmp}/trdur.XXXXXX")
	own_disk=1
fi
shm=$(mktemp -d /dev/shm/trdur.XXXXXX)
cleanup() {
	rm -rf "$shm"
	[ -n "${own_disk:-}" ] && rm -rf "$disk"
}
trap cleanup EXIT

echo "# Trireme durable commit, in-process cluster, 16-byte writes, ${secs} s per run"
echo "# disk: $disk ($(df -T "$disk" | awk 'NR == 2 { print $2 }')), tmpfs: $shm"
echo
echo "| storage | sync | window | writes/s | p50 us | p99 us | records/sync | write+sync us |"
echo "|---|---|---|---|---|---|---|---|"
run() { # run <label> <sync label> <window> <trireme options...>
	local label=$1 sync=$2 window=$3 out
	shift 3
	out=$(mktemp)
	"$build/tools/trireme" --no-huge --no-pci -l 0-1 --file-prefix trdur$$ -m 512 \
		--no-telemetry --log-level='*:error' -- --cluster --read-ratio 0 --value-size 16 \
		--keys 100000 --window "$window" --duration "$secs" --json --quiet "$@" \
		>"$out" 2>/dev/null
	python3 - "$out" "$label" "$sync" "$window" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | failed | | | | |")
    sys.exit(0)
reps = d["replicas"]
syncs = sum(r.get("wal_syncs", 0) for r in reps)
recs = sum(r.get("wal_records", 0) for r in reps)
us = [r.get("wal_sync_us", 0) for r in reps if r.get("wal_syncs", 0) > 0]
batch = f"{recs / syncs:.2f}" if syncs else "-"
sync_us = f"{sum(us) / len(us):.1f}" if us else "-"
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {d['ops_per_s']:.0f} | "
      f"{d['write_p50_us']:.0f} | {d['write_p99_us']:.0f} | {batch} | {sync_us} |")
EOF
	rm -f "$out"
}
for w in 1 128; do
	run memory - "$w"
	rm -rf "$disk/d"; run disk fdatasync "$w" --data-dir "$disk/d" --sync fdatasync
	rm -rf "$disk/d"; run disk o_dsync "$w" --data-dir "$disk/d" --sync o_dsync
	rm -rf "$shm/d"; run tmpfs fdatasync "$w" --data-dir "$shm/d" --sync fdatasync
	rm -rf "$disk/d"; run disk "none (unsafe)" "$w" --data-dir "$disk/d" --sync none
done
