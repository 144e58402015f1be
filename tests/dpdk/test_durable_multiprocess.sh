#!/usr/bin/env bash
# PROTOCOL §12 S across processes (issue 14): replicas with data directories.
# 0. --cluster (3 replicas in one process) with --data-dir: SIGKILL of the
#    process under load, restart from the same directory: its histories
#    check as one, the replicas' digests match; then a crash and restart of
#    one replica in the process (--fault): from its directory.
# Then three trireme processes, one replica each, over af_packet on veth pairs
# in namespaces of their own (trd*), each with its own data directory:
# 1. SIGKILL of replica 2 under load, restarted from its directory (no
#    --cluster-state existing): a new incarnation (J0), no join, it votes
#    at once and serves once it has fetched what it missed; repeated. Every process ends with the same digest.
# 2. SIGKILL of all three at once, restart of all three from their
#    directories: every acknowledged write present (the histories of both
#    runs, concatenated, check as one), digests match.
# 3. Damage (S3): a record in the middle of replica 1's log flipped: it logs
#    it, counts it, rejoins as an amnesiac; digests match, histories check;
#    once its join is complete, the next start restores from its directory.
# 4. J5: replica 2 started on an empty directory without --cluster-state
#    existing while its peers run: it stops before it votes; they go on.
# 5. A full disk: a new cluster whose replica 2 cannot grow its log stops
#    (exit 3, named) while the others go on.
#    A directory of another replica, and one with both superblock copies
#    damaged, are refused with a message.
# Usage: test_durable_multiprocess.sh path/to/trireme path/to/history-check
set -uo pipefail
trireme=$1
check=$2
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/dpdk/netns_lib.sh"
netns_test_setup durable-multiprocess trd
declare -A waitpid

# 0. The in-process cluster, SIGKILLed whole.
cluster() { # cluster <name> <options...>
	local name=$1
	shift
	"$trireme" -l 0-1 --no-huge --no-pci --no-telemetry --log-level='*:error' \
		--log-level=trireme:info -m 256 --file-prefix trdpc -- --cluster \
		--data-dir "$tmp/c" --keys 200 --window 8 --log-slots 1024 --inflight 64 --json \
		--quiet --history "$tmp/$name.jsonl" "$@" >"$tmp/$name.json" 2>"$tmp/$name.err" &
	pids+=($!)
	cpid=$!
}
cluster c1 --duration 30
sleep 4
kill -9 "$cpid"; wait "$cpid" 2>/dev/null
cluster c2 --duration 3
wait "$cpid"; rc=$?
d0=$(field kv_digest "$tmp/c2.json" 0); d1=$(field kv_digest "$tmp/c2.json" 1)
d2=$(field kv_digest "$tmp/c2.json" 2)
echo "cluster restart: exit $rc, digests $d0 $d1 $d2, incarnation $(field incarnation "$tmp/c2.json")"
[ "$rc" -eq 0 ] || { echo "FAIL: the restarted cluster exited $rc"; tail -5 "$tmp/c2.err"; fail=1; }
[ -n "$d0" ] && [ "$d0" = "$d1" ] && [ "$d0" = "$d2" ] ||
	{ echo "FAIL: cluster digests differ or missing"; fail=1; }
[ "$(field incarnation "$tmp/c2.json")" = 2 ] ||
	{ echo "FAIL: the restarted cluster's replica 0 is not at incarnation 2"; fail=1; }
grep -q "restarted from $tmp/c/r0" "$tmp/c2.err" ||
	{ echo "FAIL: replica 0 did not restart from its directory"; fail=1; }
# In-process crash and restart of replica 2 (trireme_replica_restart): from
# its directory too (S2), not as an amnesiac.
cluster c3 --duration 5 --fault "crash 2 at 1.5 for 1"
wait "$cpid"; rc=$?
[ "$rc" -eq 0 ] && [ "$(field digests_match "$tmp/c3.json")" = true ] ||
	{ echo "FAIL: the cluster with a crash of replica 2 exited $rc or diverged"; fail=1; }
[ "$(field incarnation "$tmp/c3.json" 2)" = 4 ] ||
	{ echo "FAIL: replica 2 restarted in process is not at incarnation 4"; fail=1; }
[ "$(grep -c "restarted from $tmp/c/r2" "$tmp/c3.err")" = 2 ] ||
	{ echo "FAIL: replica 2 did not restart from its directory in process"; fail=1; }
histories cluster c1 c2 c3

# start <replica> <output name> <options...>: one process in the background.
start() {
	local i=$1 name=$2
	shift 2
	ip netns exec trd$i "$trireme" --lcores "0@(0-1),1@(0-1)" --no-huge --no-pci \
		--no-telemetry --log-level='*:error' --log-level=trireme:info -m 256 \
		--file-prefix trdp$i --vdev=net_af_packet0,iface=trv -- --replica-id $i \
		--peers $peers --data-dir "$tmp/d$i" --keys 200 --log-slots 1024 --inflight 64 \
		--window 8 --json --linger 40 --history "$tmp/$name.jsonl" "$@" \
		>"$tmp/$name.json" 2>"$tmp/$name.err" &
	pid[$i]=$!
	pids+=($!)
	waitpid[$name]=$!
}

# finish <phase> <names...>: every process exits 0 with one digest.
finish() {
	local phase=$1 d0="" d rc
	shift
	for n in "$@"; do
		wait "${waitpid[$n]}"; rc=$?
		d=$(field kv_digest "$tmp/$n.json")
		echo "$phase $n: exit $rc, digest $d, incarnation $(field incarnation "$tmp/$n.json"), snapshots installed $(field snap_installs "$tmp/$n.json"), written $(field disk_snapshots "$tmp/$n.json"), records/sync $(field wal_records_per_sync "$tmp/$n.json"), damage $(field wal_damage "$tmp/$n.json")"
		[ "$rc" -eq 0 ] || { echo "FAIL: $phase $n exited $rc"; tail -5 "$tmp/$n.err"; fail=1; }
		[ -n "$d" ] || { echo "FAIL: $phase $n printed no digest"; fail=1; }
		[ -z "$d0" ] && d0=$d
		[ "$d" = "$d0" ] || { echo "FAIL: $phase: digests differ ($d0, $d)"; fail=1; }
	done
}

# restarted <name> <incarnation>: from its directory, voting at once.
restarted() {
	local n=$1 inc=$2
	[ "$(field incarnation "$tmp/$n.json")" = "$inc" ] ||
		{ echo "FAIL: $n is not at incarnation $inc (J0 from its disk)"; fail=1; }
	grep -q "restarted from" "$tmp/$n.err" ||
		{ echo "FAIL: $n did not restart from its directory"; fail=1; }
	[ "$(field wal_damage "$tmp/$n.json")" = 0 ] ||
		{ echo "FAIL: $n found damage in an intact log"; fail=1; }
	# It votes at once; its clients' answers wait until it has applied
	# what it missed (fetched from its peers).
	[ "$(ops_between "$tmp/$n.err" 0 4)" -gt 0 ] ||
		{ echo "FAIL: $n served nothing in its first 4 s"; fail=1; }
}

# 1. SIGKILL of replica 2 under load, restart from its directory, twice.
for i in 0 1 2; do start $i k$i --duration 18 --stats-interval 0.5; done
sleep 3
kill -9 "${pid[2]}"; wait "${pid[2]}" 2>/dev/null
sleep 1
start 2 k2b --duration 13 --stats-interval 0.5
sleep 5
kill -9 "${pid[2]}"; wait "${pid[2]}" 2>/dev/null
sleep 1
start 2 k2c --duration 7 --stats-interval 0.5
finish kill k0 k1 k2c
restarted k2c 3
grep -q "restarted from" "$tmp/k2b.err" || { echo "FAIL: k2b did not restart from disk"; fail=1; }
histories kill k0 k1 k2 k2b k2c

# 2. SIGKILL of all three at once, then all three from their directories.
for i in 0 1 2; do start $i a$i --duration 30 --stats-interval 0.5; done
sleep 4
kill -9 "${pid[0]}" "${pid[1]}" "${pid[2]}"
for i in 0 1 2; do wait "${pid[$i]}" 2>/dev/null; done
for i in 0 1 2; do start $i b$i --duration 4 --stats-interval 0.5; done
finish all-killed b0 b1 b2
for i in 0 1 2; do
	[ "$(field incarnation "$tmp/b$i.json")" -ge 2 ] 2>/dev/null ||
		{ echo "FAIL: b$i did not take a new incarnation"; fail=1; }
done
# Everything acknowledged in either run, in both phases so far: one history.
histories all-killed k0 k1 k2 k2b k2c a0 a1 a2 b0 b1 b2

# 3. Damage in the middle of replica 1's log (S3): it rejoins as an amnesiac.
seg="" used=0
for f in "$tmp"/d1/wal-*-*; do
	n=$(tr -d '\0' <"$f" | wc -c)
	[ "$n" -gt "$used" ] && { used=$n; seg=$f; }
done
printf '\xff' | dd of="$seg" bs=1 seek=$((64 + used / 2)) conv=notrunc status=none
for i in 0 1 2; do start $i m$i --duration 6 --stats-interval 0.5; done
finish damage m0 m1 m2
[ "$(field wal_damage "$tmp/m1.json")" = 1 ] ||
	{ echo "FAIL: replica 1's damaged log was not found ($seg at $((64 + used / 2)))"; fail=1; }
grep -q "DAMAGED LOG" "$tmp/m1.err" || { echo "FAIL: replica 1 did not log the damage"; fail=1; }
# J0: above every incarnation its superblock knows (b1's), though its peers forgot it.
[ "$(field incarnation "$tmp/m1.json")" -gt "$(field incarnation "$tmp/b1.json")" ] || {
	echo "FAIL: the amnesiac's incarnation is not above its earlier ones; its log's end:"
	tail -20 "$tmp/m1.err"
	fail=1
}
ls -d "$tmp"/d1/damaged-1 >/dev/null 2>&1 || { echo "FAIL: the damaged log was not set aside"; fail=1; }
histories damage k0 k1 k2 k2b k2c a0 a1 a2 b0 b1 b2 m0 m1 m2
# Once its join is complete and durable, replica 1's directory is trusted
# again: the next start restores from it instead of joining once more.
grep -q "join complete and durable" "$tmp/m1.err" ||
	{ echo "FAIL: replica 1's join was never marked complete"; fail=1; }
for i in 0 1 2; do start $i n$i --duration 3 --stats-interval 0.5; done
finish after-join n0 n1 n2
grep -q "restarted from" "$tmp/n1.err" ||
	{ echo "FAIL: after its join, replica 1 did not restart from its directory"; fail=1; }
histories after-join k0 k1 k2 k2b k2c a0 a1 a2 b0 b1 b2 m0 m1 m2 n0 n1 n2

# 4. J5: replica 2's disk is "replaced" and it starts on an empty directory
# without --cluster-state existing (a new replica where one ran). Its peers
# heard more of it than it remembers: it stops before it votes (exit 4,
# named), and replicas 0 and 1 go on committing without it.
for i in 0 1 2; do start $i w$i --duration 10 --stats-interval 0.5; done
sleep 3
kill -9 "${pid[2]}"; wait "${pid[2]}" 2>/dev/null
start 2 w2b --duration 5 --stats-interval 0.5 --data-dir "$tmp/d2new"
wait "${pid[2]}"; rc=$?
echo "new-where-one-ran w2b: exit $rc, $(grep -o 'stopped before it voted: J5:[^;]*' "$tmp/w2b.err" | head -1)"
[ "$rc" -eq 4 ] && grep -q "stopped before it voted: J5:" "$tmp/w2b.err" || {
	echo "FAIL: the new replica where one ran was not stopped by J5 (exit $rc)"
	tail -5 "$tmp/w2b.err"; fail=1
}
finish new-where-one-ran w0 w1
for i in 0 1; do
	[ "$(ops_between "$tmp/w$i.err" 5 9)" -gt 0 ] ||
		{ echo "FAIL: w$i committed nothing while the stopped replica was away"; fail=1; }
done
histories new-where-one-ran k0 k1 k2 k2b k2c a0 a1 a2 b0 b1 b2 m0 m1 m2 n0 n1 n2 w0 w1 w2 w2b

# 5. A full disk (S1): a new cluster whose replica 2 has its directory on a
# 50 MB tmpfs, room for its first log segments and not their successors.
# Replica 2 says it cannot write its log and exits 3 long before its
# duration; replicas 0 and 1 go on committing without it.
mkdir -p "$tmp/f2"
if mount -t tmpfs -o size=50m tmpfs "$tmp/f2" 2>/dev/null; then
	t0=$SECONDS
	for i in 0 1 2; do
		# 1 KiB values fill the log fast; the history format holds 63 bytes.
		start $i f$i --duration 12 --stats-interval 0.5 --value-size 1024 --data-dir "$tmp/f$i" \
			--history /dev/null
	done
	wait "${pid[2]}"; rc=$?
	el=$((SECONDS - t0))
	echo "full-disk f2: exit $rc after $el s, $(grep -o 'replica 2 could not write[^;]*' "$tmp/f2.err" | head -1)"
	if [ "$rc" -ne 3 ] || ! grep -q "cannot write its log .*No space left on device" "$tmp/f2.err" ||
		! grep -q "replica 2 could not write its data directory" "$tmp/f2.err" ||
		[ "$el" -ge 12 ]; then
		echo "FAIL: replica 2 with a full disk did not stop at once, naming it (exit $rc)"
		tail -5 "$tmp/f2.err"; fail=1
	fi
	finish full-disk f0 f1
	for i in 0 1; do
		[ "$(ops_between "$tmp/f$i.err" 8 12)" -gt 0 ] ||
			{ echo "FAIL: f$i committed nothing after replica 2's disk filled"; fail=1; }
	done
	umount "$tmp/f2"
else
	echo "full-disk: skipped (cannot mount a tmpfs)"
fi

# Refused: another replica's directory; both superblock copies damaged.
ip netns exec trd0 "$trireme" --no-huge --no-pci --no-telemetry --log-level='*:error' -m 256 \
	--file-prefix trdp0 --vdev=net_af_packet0,iface=trv -- --replica-id 0 --peers $peers \
	--data-dir "$tmp/d2" --duration 1 >/dev/null 2>"$tmp/wrong.err"
rc=$?
if [ $rc -eq 0 ] || ! grep -q "belongs to replica 2, this is replica 0" "$tmp/wrong.err"; then
	echo "FAIL: replica 0 took replica 2's directory (exit $rc): $(cat "$tmp/wrong.err")"; fail=1
fi
for c in 0 1; do printf '\xff' | dd of="$tmp/d0/super.$c" bs=1 seek=9 conv=notrunc status=none; done
ip netns exec trd0 "$trireme" --no-huge --no-pci --no-telemetry --log-level='*:error' -m 256 \
	--file-prefix trdp0 --vdev=net_af_packet0,iface=trv -- --replica-id 0 --peers $peers \
	--data-dir "$tmp/d0" --duration 1 >/dev/null 2>"$tmp/super.err"
rc=$?
if [ $rc -eq 0 ] || ! grep -q "superblock copies are damaged" "$tmp/super.err"; then
	echo "FAIL: a directory without a valid superblock was used (exit $rc)"; fail=1
fi

[ $fail -eq 0 ] && echo "durable-multiprocess: cluster SIGKILL, one replica SIGKILLed twice, all three SIGKILLed, a damaged log, a new replica where one ran, a full disk: digests match, histories check, refusals named"
exit $fail
