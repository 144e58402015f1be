#!/usr/bin/env bash
# Three trireme processes, one replica each, over af_packet on veth pairs in
# network namespaces that this test creates and removes. Replica 2 is killed
# with SIGKILL mid-run; the other two must keep committing and end with the
# same KV digest. Usage: test_multiprocess.sh path/to/trireme
set -uo pipefail
trireme=$1
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
cleanup() {
	pkill -9 -f "file-prefix trmp" 2>/dev/null
	"$here/scripts/netns.sh" down
	rm -rf "$tmp" /var/run/dpdk/trmp*
}
trap cleanup EXIT
if [ "$(id -u)" -ne 0 ]; then
	echo "multiprocess: needs root for network namespaces"; exit 77
fi
"$here/scripts/netns.sh" down
"$here/scripts/netns.sh" up || { echo "FAIL: cannot create namespaces"; exit 1; }
peers=02:00:00:00:00:00@10.0.0.1,02:00:00:00:00:01@10.0.0.2,02:00:00:00:00:02@10.0.0.3
for i in 0 1 2; do
	ip netns exec tr$i "$trireme" --lcores "0@(0-1),1@(0-1)" --no-huge --no-pci \
		--no-telemetry --log-level='*:error' -m 256 --file-prefix trmp$i \
		--vdev=net_af_packet0,iface=trv -- --replica-id $i --peers $peers \
		--duration 8 --window 8 --json >"$tmp/r$i.json" 2>"$tmp/r$i.err" &
	pid[$i]=$!
done
sleep 3
kill -9 "${pid[2]}"
wait "${pid[0]}"; rc0=$?
wait "${pid[1]}"; rc1=$?
fail=0
for i in 0 1; do
	echo "replica $i: $(cat "$tmp/r$i.json")"
	tail -3 "$tmp/r$i.err"
done
[ "$rc0" -eq 0 ] && [ "$rc1" -eq 0 ] || { echo "FAIL: exit codes $rc0 $rc1"; fail=1; }
d0=$(grep -o '"kv_digest":"[^"]*"' "$tmp/r0.json")
d1=$(grep -o '"kv_digest":"[^"]*"' "$tmp/r1.json")
[ -n "$d0" ] && [ "$d0" = "$d1" ] || { echo "FAIL: digests differ: $d0 / $d1"; fail=1; }
# Still committing after the kill: the last stats lines of both survivors
# (written after second 3) show operations.
for i in 0 1; do
	late=$(grep -E '^\[ *[6-7]\.[0-9]s\]' "$tmp/r$i.err" | awk '{s += $2} END {print s + 0}')
	[ "$late" -gt 0 ] || { echo "FAIL: replica $i committed nothing after the kill"; fail=1; }
done
[ $fail -eq 0 ] && echo "multiprocess: 2 survivors kept committing, digests match ($d0)"
exit $fail
