#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# trireme --history FILE writes HISTORY.md version 2 (a pending line at each
# call, the complete line at its return). A 3-replica cluster under 10% loss:
# history-check accepts what it wrote, for each read mode; a history with a
# set's line repeated is refused. Two runs: CLOCK_MONOTONIC timestamps (the
# second run's calls after the first run's returns), client ids of their own.
# A run killed by SIGKILL: its history still checks. As root, three
# processes over af_packet, one killed: their three files check as one.
#
#   test_history_launcher.sh TRIREME HISTORY_CHECK OUT_DIR [SEED]
set -euo pipefail
bin=$1
check=$2
dir=$3
seed=${4:-${SEED:-7}}
here=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$dir"
prefix=trireme-hist-$$
eal=(--no-huge --no-pci --no-telemetry --log-level='*:error' -m 256 --no-shconf
	--file-prefix "$prefix" -l 0-1)
fail() {
	echo "$*" >&2
	exit 1
}
# Only the processes started here and not yet reaped are killed.
pid=()
netns=false
cleanup() {
	for p in "${pid[@]}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
	if $netns; then "$here/scripts/netns.sh" down; fi
	rm -rf "/var/run/dpdk/$prefix" /var/run/dpdk/"$prefix"-*
}
trap cleanup EXIT
# history-check's count of operations and of those of unknown outcome.
ops() { sed -n 's/.* \([0-9]*\) operations (\([0-9]*\) of unknown.*/\1 \2/p'; }
field() { grep -o "\"$1\": [0-9]*" "$2" | cut -d' ' -f2 | sort -n; }

for mode in barrier log local; do
	h=$dir/h-$mode.jsonl
	rm -f "$h"
	timeout -s KILL 60 "$bin" "${eal[@]}" -- --cluster --duration 1 --loss 0.1 \
		--read-mode "$mode" --read-ratio 0.5 --keys 200 --window 16 --seed "$seed" \
		--history "$h" --json --quiet >"$dir/out-$mode.json"
	grep -q '"digests_match":true' "$dir/out-$mode.json" ||
		fail "read mode $mode: replicas diverged"
	pending=$(grep -c '"ret": null' "$h" || true)
	complete=$(grep -c '"ret": [0-9]' "$h" || true)
	[ "$complete" -gt 100 ] || fail "read mode $mode: only $complete operations completed"
	[ "$complete" -le "$pending" ] || fail "read mode $mode: $complete complete lines, $pending pending"
	if [ "$mode" = local ]; then
		# Local reads are kept out of the checked history.
		! grep -q '"op": "get"' "$h" || fail "read mode local: gets in the checked history"
	else
		grep -q "\"meta\": \"$mode\"" "$h" || fail "read mode $mode: no gets in the history"
	fi
	out=$("$check" "$h")
	echo "$out"
	# Every operation has its pending line; the drained run leaves none unknown.
	[ "$(echo "$out" | ops)" = "$pending 0" ] ||
		fail "read mode $mode: $(echo "$out" | ops) operations (unknown), $pending pending lines"
	grep -q "\"history_ops\":$pending," "$dir/out-$mode.json" ||
		fail "read mode $mode: history_ops is not the $pending operations"
done

# The checker is not a rubber stamp: a value written twice is refused.
bad=$dir/h-dup.jsonl
{ cat "$dir/h-barrier.jsonl"; grep -m 1 '"op": "set".*"ret": [0-9]' "$dir/h-barrier.jsonl" |
	sed 's/"value": "/"value": "x/'; grep -m 1 '"op": "set".*"ret": [0-9]' "$dir/h-barrier.jsonl"; } >"$bad"
if "$check" "$bad" 2>"$dir/err"; then
	fail "history-check accepted a value written twice"
fi
grep -q 'written twice' "$dir/err" || fail "$(cat "$dir/err")"

# One clock for every process of the host: the log run started after the
# barrier run ended. Client ids: a nonce per process, values built from them.
last_ret=$(field ret "$dir/h-barrier.jsonl" | tail -1)
first_call=$(field call "$dir/h-log.jsonl" | sed -n 1p)
[ "$last_ret" -lt "$first_call" ] ||
	fail "the second run's first call $first_call is not after the first run's last return $last_ret"
field client "$dir/h-barrier.jsonl" | uniq >"$dir/clients-1"
field client "$dir/h-log.jsonl" | uniq >"$dir/clients-2"
[ "$(sed -n 1p "$dir/clients-1")" -ge 65536 ] || fail "client ids without a nonce: $(sed -n 1p "$dir/clients-1")"
[ -z "$(comm -12 "$dir/clients-1" "$dir/clients-2")" ] || fail "two runs share client ids"
[ "$(wc -l <"$dir/clients-1")" -eq 3 ] || fail "$(wc -l <"$dir/clients-1") clients, want 3"
grep '"op": "set"' "$dir/h-log.jsonl" | grep -vq '"client": \([0-9]*\), .*"value": "\1\.' &&
	fail "a value not built from its client id"

# SIGKILL mid-run: the pending lines were flushed before their commands were
# sent, so what the killed process wrote still checks, a torn line aside.
h=$dir/h-kill.jsonl
rm -f "$h"
"$bin" "${eal[@]}" -- --cluster --duration 30 --loss 0.1 --read-ratio 0.5 --keys 200 \
	--window 16 --seed "$seed" --history "$h" --quiet >/dev/null 2>&1 &
pid[0]=$!
for _ in $(seq 200); do
	[ -s "$h" ] && [ "$(grep -c '' "$h")" -gt 20000 ] && break
	sleep 0.1
done
kill -9 "${pid[0]}"
wait "${pid[0]}" 2>/dev/null || true
pid[0]=
out=$("$check" "$h")
echo "SIGKILL: $out"
set -- $(echo "$out" | ops)
[ "$1" -gt 10000 ] && [ "$2" -gt 0 ] || fail "SIGKILL: $1 operations, $2 of unknown outcome"

# Three processes, one replica each, over af_packet (root, network namespaces
# of scripts/netns.sh): replica 2 killed by SIGKILL mid-run. The three
# histories check as one.
if [ "$(id -u)" -ne 0 ] || ip netns list | grep -q '^tr[0-2s]'; then
	echo "launcher histories ok (seed $seed); three processes skipped (root, free namespaces)"
	exit 0
fi
netns=true
"$here/scripts/netns.sh" up || fail "cannot create the namespaces"
peers=02:00:00:00:00:00@10.0.0.1,02:00:00:00:00:01@10.0.0.2,02:00:00:00:00:02@10.0.0.3
for i in 0 1 2; do
	rm -f "$dir/p$i.jsonl"
	ip netns exec tr$i "$bin" --lcores "0@(0-1),1@(0-1)" --no-huge --no-pci \
		--no-telemetry --log-level='*:error' -m 256 --file-prefix "$prefix-$i" \
		--vdev=net_af_packet0,iface=trv -- --replica-id $i --peers $peers \
		--duration 6 --window 8 --read-ratio 0.5 --keys 100 --seed "$seed" \
		--history "$dir/p$i.jsonl" --json >"$dir/p$i.json" 2>"$dir/p$i.err" &
	pid[$i]=$!
done
sleep 3
kill -9 "${pid[2]}"
wait "${pid[2]}" 2>/dev/null || true
pid[2]=
# A survivor may end unconverged (exit 1: its own last commands never commit,
# about one run in eight, main's too; test_multiprocess.sh judges that): its
# history must check all the same.
for i in 0 1; do
	rc=0
	wait "${pid[$i]}" || rc=$?
	pid[$i]=
	[ "$rc" -le 1 ] || fail "replica $i exited with $rc: $(tail -3 "$dir/p$i.err")"
	[ "$rc" -eq 0 ] || echo "note: replica $i did not converge: $(grep -o '"unfinished":[0-9]*' "$dir/p$i.json")"
done
out=$("$check" "$dir/p0.jsonl" "$dir/p1.jsonl" "$dir/p2.jsonl")
echo "three processes: $out"
for i in 0 1 2; do
	grep -q '"ret": [0-9]' "$dir/p$i.jsonl" || fail "replica $i completed nothing"
done
echo "launcher histories ok (seed $seed)"
