#!/usr/bin/env bash
# PROTOCOL §12: time for a crashed replica to rejoin (restart without
# memory, snapshot, catch-up) against the state size, and the latency of
# the load (all clients; the survivors' are the ones that complete while
# replica 2 is away) in the seconds of the transfer against the seconds
# before the crash. In-process cluster, write-only load over --keys keys.
# Usage: bench/rejoin.sh [build dir] [keys...]   (default: 10000 1000000)
# Not a test: it prints numbers.
set -uo pipefail
build=${1:-build}
shift || true
sizes=${*:-10000 1000000}
for keys in $sizes; do
	fill=$(( keys / 50000 + 4 ))   # seconds of load before the crash
	out=$(mktemp)
	"$build/tools/trireme" --no-huge --no-pci -l 0-1 --file-prefix rj$$ -m 2048 \
		--log-level='*:error' -- --cluster --keys "$keys" --read-ratio 0 \
		--window 64 --duration $((fill + 12)) --stats-interval 1 \
		--fault "crash 2 at $fill for 1" >"$out.sum" 2>"$out"
	line=$(grep "caught up" "$out")
	took=$(sed -E 's/.*caught up ([0-9.]+) s after.*/\1/' <<<"$line")
	keys_at=$(sed -E 's/.*\(([0-9]+) keys.*/\1/' <<<"$line")
	bytes=$(sed -E 's/.* ([0-9]+) bytes\).*/\1/' <<<"$line")
	back=$((fill + 1))
	# stats lines: "[ 12.0s] N ops/s  p50 Xus p99 Yus ..."
	lat() { # lat <from> <to>: mean ops/s, p50 and p99 of the lines in (from, to]
		awk -v a="$1" -v b="$2" '/^\[/ { t = ($1 == "[") ? $2 + 0 : substr($1, 2) + 0;
			o = ($1 == "[") ? 3 : 2;
			if (t > a && t <= b) { n++; ops += $o; p50 += $(o + 3) + 0; p99 += $(o + 5) + 0 } }
			END { if (n) printf "%.0f ops/s, p50 %.0f us, p99 %.0f us", ops / n, p50 / n, p99 / n }' "$out"
	}
	echo "keys $keys: $keys_at keys at the crash; rejoin (restart to caught up) ${took:-?} s," \
		"snapshot ${bytes:-?} bytes"
	echo "  before the crash:          $(lat $((fill - 3)) "$fill")"
	echo "  transfer and catch-up:     $(lat "$back" "$(awk -v b="$back" -v t="${took:-1}" 'BEGIN { printf "%d", b + t + 1 }')")"
	grep -E "converge|digests" "$out.sum"
	rm -f "$out" "$out.sum"
done
