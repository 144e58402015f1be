#!/usr/bin/env bash
# Issue 17's three attacks at a cluster of three trireme processes (one
# replica each, af_packet on veth pairs in namespaces of their own, tra*),
# frames built by tests/dpdk/inject_hostile.py on a raw socket in replica 1's
# namespace, aimed at the slots the replicas are about to use:
#   a  COMMITs with deps = 2^48 in every column, to replica 0
#   b  ACCEPTs at ballot n = 2^30, to the two non-owners of column 0
#   c  COMMITs carrying a client command (a non-owner's; the owner's, forged)
#   auth  all three with --auth-key on every replica, from an attacker
#         without the key
#   rotate  (no attack) a key rotation at the three prompts under load:
#         accept the new key everywhere, sign with it everywhere, retire the
#         old one everywhere, one process after the other: no frame dropped
#         (without the staging, the frames of a process that signs with the
#         new key would be dropped by one that does not accept it yet), and
#         after the retirement only the new key is accepted
# Each phase is a fresh cluster under load. After the attack every replica
# keeps committing (ops in its stats lines after it), every process ends
# with the same digest, the three histories check as one, and the counters
# show the drops: implausible by reason (docs/protocol.md §13), or drops_auth
# and no implausible drop at all when the frames never reach the engine.
# Usage: test_hostile_multiprocess.sh path/to/trireme path/to/history-check
set -uo pipefail
trireme=$1
check=$2
here=$(cd "$(dirname "$0")/../.." && pwd)
inject=$here/tests/dpdk/inject_hostile.py
tmp=$(mktemp -d)
export TR_NETNS=tra
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	"$here/scripts/netns.sh" down
	rm -rf "$tmp" /var/run/dpdk/trap*
}
trap cleanup EXIT
if [ "$(id -u)" -ne 0 ]; then
	echo "hostile-multiprocess: needs root for network namespaces"; exit 77
fi
"$here/scripts/netns.sh" down
"$here/scripts/netns.sh" up || { echo "FAIL: cannot create namespaces"; exit 1; }
peers=02:00:00:00:00:00@10.0.0.1,02:00:00:00:00:01@10.0.0.2,02:00:00:00:00:02@10.0.0.3
head -c 32 /dev/urandom >"$tmp/key"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/key2" # hex this time
fail=0

# start <replica> <name> <options...>
start() {
	local i=$1 name=$2
	shift 2
	ip netns exec tra$i "$trireme" --lcores "0@(0-1),1@(0-1)" --no-huge --no-pci \
		--no-telemetry --log-level='*:error' -m 256 --file-prefix trap$i \
		--vdev=net_af_packet0,iface=trv -- --replica-id $i --peers $peers \
		--window 8 --json --linger 10 --duration 12 --stats-interval 1 \
		--history "$tmp/$name.jsonl" "$@" >"$tmp/$name.json" 2>"$tmp/$name.err" &
	pid[$i]=$!
	pids+=($!)
}

field() { # field <name> <json file>: the last replica's value
	grep -o "\"$1\":[^,}]*" "$2" | tail -1 | cut -d: -f2 | tr -d '"'
}

implausible() { # implausible <reason> <json file>
	grep -o "\"$1\":[0-9]*" "$2" | tail -1 | cut -d: -f2
}

# ops in the stats lines of <err file> after second <from>
ops_after() {
	awk -v a="$2" '/^\[ *[0-9.]+s\]/ { t = substr($1, 2) + 0;
		if ($1 == "[") t = $2 + 0; if (t > a) s += $(($1 == "[") ? 3 : 2) }
		END { print s + 0 }' "$1"
}

# phase <name> <inject options> -- <trireme options>
phase() {
	local name=$1 opts=() d0="" d rc files=() out
	shift
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	for i in 0 1 2; do start $i $name$i "$@"; done
	sleep 4
	if ! out=$(ip netns exec tra1 python3 "$inject" --iface trv "${opts[@]}" 2>&1); then
		echo "FAIL: $name: the injector failed: $out"; fail=1
	fi
	echo "$name: $out"
	for i in 0 1 2; do
		wait "${pid[$i]}"; rc=$?
		d=$(field kv_digest "$tmp/$name$i.json")
		late=$(ops_after "$tmp/$name$i.err" 7)
		echo "$name replica $i: exit $rc, digest $d, ops after the attack $late," \
			"drops_auth $(field drops_auth "$tmp/$name$i.json")," \
			"implausible $(grep -o '"implausible":{[^}]*}' "$tmp/$name$i.json")"
		[ "$rc" -eq 0 ] || { echo "FAIL: $name replica $i exited $rc"; tail -5 "$tmp/$name$i.err"; fail=1; }
		[ -n "$d" ] || { echo "FAIL: $name replica $i printed no digest"; fail=1; }
		[ -z "$d0" ] && d0=$d
		[ "$d" = "$d0" ] || { echo "FAIL: $name: digests differ ($d0, $d)"; fail=1; }
		[ "$late" -gt 0 ] || { echo "FAIL: $name: replica $i committed nothing after the attack"; fail=1; }
		files+=("$tmp/$name$i.jsonl")
	done
	if out=$("$check" "${files[@]}" 2>&1); then
		echo "$name histories: $(tail -1 <<<"$out")"
	else
		echo "FAIL: $name histories: $(tail -3 <<<"$out")"; fail=1
	fi
}

# sum <field or reason> <kind: field|implausible> <phase> <replicas...>
sum() {
	local what=$1 kind=$2 name=$3 n=0 v
	shift 3
	for i in "$@"; do
		v=$($kind "$what" "$tmp/$name$i.json"); n=$((n + ${v:-0}))
	done
	echo $n
}

phase a --attack a --
[ "$(( $(sum OWN implausible a 0) + $(sum AHEAD implausible a 0) ))" -gt 0 ] ||
	{ echo "FAIL: a: replica 0 counted no OWN/AHEAD drop"; fail=1; }
phase b --attack b --
[ "$(sum BALLOT implausible b 1 2)" -gt 0 ] ||
	{ echo "FAIL: b: replicas 1 and 2 counted no BALLOT drop"; fail=1; }
phase c --attack c --
[ "$(sum CMDS implausible c 0 1)" -gt 0 ] ||
	{ echo "FAIL: c: replicas 0 and 1 counted no CMDS drop"; fail=1; }
phase auth --attack a --attack b --attack c --auth -- --auth-key "$tmp/key"
[ "$(sum drops_auth field auth 0 1 2)" -gt 0 ] ||
	{ echo "FAIL: auth: no drops_auth"; fail=1; }
[ "$(sum drops_implausible field auth 0 1 2)" -eq 0 ] ||
	{ echo "FAIL: auth: unauthenticated frames reached the engine"; fail=1; }

# rotate: the three prompts read FIFOs this script holds open.
for i in 0 1 2; do
	mkfifo "$tmp/in$i"
	exec {fd}<>"$tmp/in$i"
	in[$i]=$fd
	ip netns exec tra$i "$trireme" --lcores "0@(0-1),1@(0-1)" --no-huge --no-pci \
		--no-telemetry --log-level='*:error' -m 256 --file-prefix trap$i \
		--vdev=net_af_packet0,iface=trv -- --replica-id $i --peers $peers \
		--window 8 --json --linger 10 --auth-key "$tmp/key" -i \
		<"$tmp/in$i" >"$tmp/rotate$i.json" 2>"$tmp/rotate$i.err" &
	pid[$i]=$!
	pids+=($!)
done
# One process after the other, half a second apart, as an operator would.
say() { for i in 0 1 2; do echo "$1" >&"${in[$i]}"; sleep 0.5; done; sleep "$2"; }
say "start load" 3
say "auth-key accept $tmp/key2" 1
say "auth-key $tmp/key2" 1
say "auth-key retire" 3
say "quit" 0
d0=""
for i in 0 1 2; do
	wait "${pid[$i]}"; rc=$?
	d=$(field kv_digest "$tmp/rotate$i.json")
	n=$(grep -ac "auth: " "$tmp/rotate$i.json")
	echo "rotate replica $i: exit $rc, digest $d, ops $(field ops "$tmp/rotate$i.json")," \
		"key commands done $n, drops_auth $(field drops_auth "$tmp/rotate$i.json")"
	[ "$rc" -eq 0 ] || { echo "FAIL: rotate replica $i exited $rc"; tail -5 "$tmp/rotate$i.err"; fail=1; }
	[ "$n" -eq 3 ] || { echo "FAIL: rotate replica $i: $n of 3 key commands done"; grep -a "error" "$tmp/rotate$i.json"; fail=1; }
	[ -n "$d" ] && [ "${d0:=$d}" = "$d" ] || { echo "FAIL: rotate: digests differ ($d0, $d)"; fail=1; }
	[ "$(field ops "$tmp/rotate$i.json")" -gt 0 ] 2>/dev/null || { echo "FAIL: rotate replica $i: no ops"; fail=1; }
	[ "$(field drops_auth "$tmp/rotate$i.json")" = 0 ] ||
		{ echo "FAIL: rotate replica $i dropped frames of its peers"; fail=1; }
done

[ $fail -eq 0 ] && echo "hostile-multiprocess: attacks a, b, c (and all three under --auth-key) dropped and counted; the replicas kept committing, digests match, histories check; a key rotation at three processes dropped nothing"
exit $fail
