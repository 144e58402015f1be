#!/usr/bin/env bash
# PROTOCOL §12 across processes: three trireme processes, one replica each,
# over af_packet on veth pairs in namespaces of their own (trh*), a ring of
# 1024 slots per column so that a replica that is away needs a snapshot.
# 1. SIGKILL of replica 2, restarted 3 s later with --cluster-state existing
#    (an amnesiac that joins): it installs a snapshot, the survivors keep
#    committing, and every process ends (--linger) with the same digest.
# 2. SIGSTOP of replica 2 for 2 s, later of replica 1 for 30 s, then SIGCONT:
#    the same.
# Every process writes its client history (HISTORY.md version 2); each
# phase's files, the killed process's included, check as one history.
# Usage: test_heal_multiprocess.sh path/to/trireme path/to/history-check
set -uo pipefail
trireme=$1
check=$2
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/dpdk/netns_lib.sh"
netns_test_setup heal-multiprocess trh

# start <replica> <output name> <options...>: one process in the background.
start() {
	local i=$1 name=$2
	shift 2
	ip netns exec trh$i "$trireme" --lcores "0@(0-1),1@(0-1)" --no-huge --no-pci \
		--no-telemetry --log-level='*:error' -m 256 --file-prefix trhp$i \
		--vdev=net_af_packet0,iface=trv -- --replica-id $i --peers $peers \
		--log-slots 1024 --inflight 64 --window 8 --json --linger 40 \
		--history "$tmp/$name.jsonl" "$@" \
		>"$tmp/$name.json" 2>"$tmp/$name.err" &
	pid[$i]=$!
	pids+=($!)
}

# finish <phase> <names...>: every process exits 0 with one digest.
finish() {
	local phase=$1 d0="" d rc
	shift
	for n in "$@"; do
		wait "${waitpid[$n]}"; rc=$?
		d=$(field kv_digest "$tmp/$n.json")
		echo "$phase $n: exit $rc, digest $d, snapshots installed $(field snap_installs "$tmp/$n.json"), incarnation $(field incarnation "$tmp/$n.json")"
		[ "$rc" -eq 0 ] || { echo "FAIL: $phase $n exited $rc"; tail -5 "$tmp/$n.err"; fail=1; }
		[ -n "$d" ] || { echo "FAIL: $phase $n printed no digest"; fail=1; }
		[ -z "$d0" ] && d0=$d
		[ "$d" = "$d0" ] || { echo "FAIL: $phase: digests differ ($d0, $d)"; fail=1; }
	done
}
declare -A waitpid

# 1. SIGKILL and a restart without memory.
for i in 0 1 2; do start $i k$i --duration 16 --stats-interval 1; waitpid[k$i]=${pid[$i]}; done
sleep 3
kill -9 "${pid[2]}"
wait "${pid[2]}" 2>/dev/null
sleep 3
start 2 k2b --duration 8 --cluster-state existing --stats-interval 1
waitpid[k2b]=${pid[2]}
finish kill k0 k1 k2b
[ "$(field snap_installs "$tmp/k2b.json")" -gt 0 ] 2>/dev/null ||
	{ echo "FAIL: the restarted replica installed no snapshot"; fail=1; }
for i in 0 1; do
	late=$(ops_between "$tmp/k$i.err" 3.5 6)
	[ "$late" -gt 0 ] || { echo "FAIL: replica $i committed nothing while 2 was dead"; fail=1; }
done

histories kill k0 k1 k2 k2b

# 2. SIGSTOP 2 s (replica 2), then 30 s (replica 1).
for i in 0 1 2; do start $i s$i --duration 44 --stats-interval 1; waitpid[s$i]=${pid[$i]}; done
sleep 3
kill -STOP "${pid[2]}"; sleep 2; kill -CONT "${pid[2]}"
sleep 4
kill -STOP "${pid[1]}"; sleep 30; kill -CONT "${pid[1]}"
finish stop s0 s1 s2
[ "$(field snap_installs "$tmp/s1.json")" -gt 0 ] 2>/dev/null ||
	{ echo "FAIL: replica 1 (stopped 30 s) installed no snapshot"; fail=1; }
late=$(ops_between "$tmp/s0.err" 12 38)
[ "$late" -gt 0 ] || { echo "FAIL: replica 0 committed nothing while 1 was stopped"; fail=1; }
histories stop s0 s1 s2

[ $fail -eq 0 ] && echo "heal-multiprocess: kill + restart, stops of 2 s and 30 s: digests match, histories check"
exit $fail
