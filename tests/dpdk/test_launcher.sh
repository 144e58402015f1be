#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Error paths of the trireme launcher (tools/trireme.c).
#
#   tests/dpdk/test_launcher.sh [path/to/trireme]     (default: build/tools/trireme)
#
# Every bad input must give an exit status in 1..127 (no crash, no signal, no
# hang), and one line on stderr, "trireme: ...", that names the problem. Where
# EAL or a driver prints lines of its own first (bad EAL arguments, a vdev
# that fails to probe), the last line is ours and is the one checked.
# --help must exit 0 and mention every option.
#
# Needs: EAL with --no-huge (root, or an unprivileged user for the cases
# without af_packet). Cases marked [runtime] need the dpdk/ runtime linked in.
set -u

here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-${TRIREME:-$here/../../build/tools/trireme}}
if [ ! -x "$bin" ]; then
	echo "test_launcher: no executable '$bin'; build first or pass its path" >&2
	exit 2
fi

prefix=trireme-test-$$
eal=(--no-huge --no-pci --no-telemetry --log-level='*:error' -m 128 --no-shconf
	--file-prefix "$prefix")
tmp=$(mktemp -d)
cleanup() {
	umount "$tmp/full/r2" 2>/dev/null
	rm -rf "$tmp" "/var/run/dpdk/$prefix" "/tmp/dpdk/$prefix" \
		"${XDG_RUNTIME_DIR:-/nonexistent}/dpdk/$prefix"
}
trap cleanup EXIT

peers=02:00:00:00:00:00@10.0.0.1,02:00:00:00:00:01@10.0.0.2,02:00:00:00:00:02@10.0.0.3
total=0
failed=0

fail() {
	failed=$((failed + 1))
	echo "FAIL $1: $2"
	sed 's/^/    stderr: /' "$tmp/err" | tail -n 5
}

# run NAME ARGS...: runs the launcher with stdin closed, at most 60 s
# (SIGKILL, so a hang shows as status 137).
run() {
	local name=$1

	shift
	total=$((total + 1))
	timeout -s KILL 60 "$bin" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -ge 128 ]; then
		fail "$name" "killed by signal $((rc - 128)) (status $rc)"
		return 1
	fi
	return 0
}

# bad NAME PATTERN ARGS...: status 1..127, exactly one stderr line, matching
# "^trireme: " and the extended regexp PATTERN (case-insensitive).
bad() {
	local name=$1 pattern=$2 lines

	shift 2
	run "$name" "$@" || return
	lines=$(grep -c '' "$tmp/err")
	if [ "$rc" -eq 0 ]; then
		fail "$name" "exit status 0"
	elif [ "$lines" -ne 1 ]; then
		fail "$name" "$lines lines on stderr, want 1"
	elif ! grep -q '^trireme: ' "$tmp/err" || ! grep -qiE -- "$pattern" "$tmp/err"; then
		fail "$name" "stderr does not match '$pattern'"
	else
		echo "ok   $name: $(cat "$tmp/err")"
	fi
}

# bad_last NAME PATTERN ARGS...: as bad, but others may print lines first.
bad_last() {
	local name=$1 pattern=$2 last

	shift 2
	run "$name" "$@" || return
	last=$(tail -n 1 "$tmp/err")
	if [ "$rc" -eq 0 ]; then
		fail "$name" "exit status 0"
	elif [[ "$last" != "trireme: "* ]] || ! grep -qiE -- "$pattern" <<<"$last"; then
		fail "$name" "last stderr line does not match '$pattern'"
	else
		echo "ok   $name: $last"
	fi
}

# bad_value OPTION VALUE [more args]: an impossible value of OPTION.
bad_value() {
	local opt=$1 val=$2

	shift 2
	bad "$opt $val" "$opt .*'$(printf '%s' "$val" | sed 's#[][\\.*^$+?(){}|]#\\&#g')'" \
		"${eal[@]}" -l 0-1 -- "$opt" "$val" "$@"
}

echo "# --help"
# Every long option of tools/options.c, and the short ones.
options=$(sed -n 's/^[[:space:]]*{"\([a-z-]*\)", .*_argument.*/--\1/p' \
	"$here/../../tools/options.c" 2>/dev/null)
[ -n "$options" ] || options="--cluster --replica-id --peers --port --udp-port-base
	--peer-timeout --duration --window --keys --value-size --read-ratio --loss --writers
	--batch --inflight --seed --json --stats-interval --interactive --quiet --help"
options="$options -i -h"
for how in "after --" "without EAL args" "without --"; do
	case $how in
	"after --") args=("${eal[@]}" -l 0-1 -- --help) ;;
	"without EAL args") args=(-- --help) ;;
	*) args=(--help) ;;
	esac
	run "--help $how" "${args[@]}" || continue
	missing=""
	for o in $options; do
		grep -qe "$o\b" "$tmp/out" || missing="$missing $o"
	done
	if [ "$rc" -ne 0 ]; then
		fail "--help $how" "exit status $rc"
	elif [ -n "$missing" ]; then
		fail "--help $how" "does not mention:$missing"
	else
		echo "ok   --help $how: $(wc -l <"$tmp/out") lines, every option"
	fi
done

echo "# arguments before --, and EAL's own"
bad "app option before --" "--cluster.*after --" "${eal[@]}" -l 0-1 --cluster
bad "-i before --" "-i.*after --" "${eal[@]}" -l 0-1 -i -- --duration 1
bad_last "unknown EAL option" "EAL init failed.*before --" "${eal[@]}" -l 0-1 --bogus-eal -- \
	--cluster
bad_last "impossible EAL lcores" "EAL init failed" "${eal[@]}" -l 0-1 -l 5000 -- --cluster

echo "# unknown options, missing and extra values"
bad "unknown long option" "unknown.*--bogus" "${eal[@]}" -l 0-1 -- --bogus
bad "unknown short option" "unknown option '-x'" "${eal[@]}" -l 0-1 -- -x
bad "ambiguous option" "ambiguous.*--re'" "${eal[@]}" -l 0-1 -- --re 1
bad "missing value" "--window needs a value" "${eal[@]}" -l 0-1 -- --window
bad "value on a flag" "--json=1 takes no value" "${eal[@]}" -l 0-1 -- --json=1
bad "positional argument" "unexpected argument 'extra'" "${eal[@]}" -l 0-1 -- --json extra

echo "# impossible values"
bad_value --window abc
bad_value --window 0
bad_value --window 257
bad_value --window -5
bad_value --window 12x
bad_value --window ''
bad_value --duration -1
bad_value --duration soon
bad_value --keys 0
bad_value --keys 1e3
bad_value --value-size 0
bad_value --value-size 1048577
bad_value --read-ratio 1.5
bad_value --read-ratio nan
bad_value --mtu 575
bad_value --mtu 9001
bad_value --read-mode fast
bad_value --read-mode ''
bad_value --idle sleepy
bad_value --idle ''
bad_value --loss 0.95
bad_value --loss inf
bad_value --writers -1
bad_value --serve-clients 0
bad_value --serve-clients 1025
bad_value --writers 4
bad_value --batch 0
bad_value --batch 4097
bad_value --inflight 0
bad_value --seed -1
bad_value --seed 18446744073709551616
bad_value --stats-interval 0
bad_value --udp-port-base 0
bad_value --udp-port-base 70000
bad_value --peer-timeout -1
bad_value --replica-id 3 --peers "$peers"
bad_value --port 65535 --replica-id 0 --peers "$peers"

echo "# sizes: values above a packet go as parts (issue 16)"
run "1 MiB values at MTU 1500" "${eal[@]}" -l 0-1 -- --value-size 1048576 --window 8 \
	--keys 16 --duration 2 --json --quiet
ops=$(grep -o '"writes":[0-9]*' "$tmp/out" | cut -d: -f2)
errors=$(grep -o '"errors":[0-9]*' "$tmp/out" | cut -d: -f2)
if [ "$rc" -ne 0 ] || [ "${ops:-0}" -lt 1 ] || [ "${errors:-1}" -ne 0 ]; then
	fail "1 MiB values at MTU 1500" "status $rc, writes '${ops}', errors '${errors}'"
else
	echo "ok   1 MiB values at MTU 1500: $ops writes in 2 s, no errors"
fi

echo "# --history"
bad "--history in a missing directory" "cannot write --history $tmp/no/h.jsonl" "${eal[@]}" \
	-l 0-1 -- --history "$tmp/no/h.jsonl" --duration 1
bad "--history with short values" "--history needs --value-size >= 32" "${eal[@]}" -l 0-1 \
	-- --history "$tmp/h.jsonl" --value-size 8
# [runtime] the history cannot be written to the end: the run fails.
bad_last "--history on a full disk" "writing --history /dev/full failed" "${eal[@]}" -l 0-1 \
	-- --history /dev/full --duration 1 --quiet

echo "# modes"
bad "--cluster with --replica-id" "--cluster.*--replica-id" "${eal[@]}" -l 0-1 -- --cluster \
	--replica-id 0 --peers "$peers"
bad "--replica-id without --peers" "--replica-id needs --peers" "${eal[@]}" -l 0-1 -- \
	--replica-id 0
bad "--peers without --replica-id" "--peers needs --replica-id" "${eal[@]}" -l 0-1 -- \
	--peers "$peers"
bad "--port without --replica-id" "--port applies" "${eal[@]}" -l 0-1 -- --port 0

echo "# --peers"
for p in "02:00:00:00:00:00@10.0.0.1" \
	"02:00:00:00:00:00@10.0.0.1,02:00:00:00:00:01@10.0.0.2" \
	"$peers," \
	"$peers,02:00:00:00:00:03@10.0.0.4" \
	",$peers" \
	"02:00:00:00:00:00@10.0.0.1,,02:00:00:00:00:02@10.0.0.3"; do
	bad "--peers '$p'" "--peers takes 3 addresses" "${eal[@]}" -l 0-1 -- --replica-id 0 \
		--peers "$p"
done
bad "--peers without @" "entry 1 .*not MAC@IP" "${eal[@]}" -l 0-1 -- --replica-id 0 \
	--peers 02:00:00:00:00:00@10.0.0.1,02:00:00:00:00:01,02:00:00:00:00:02@10.0.0.3
bad "--peers short MAC" "entry 0: '02:00:00:00:00' is not a MAC" "${eal[@]}" -l 0-1 -- \
	--replica-id 0 \
	--peers 02:00:00:00:00@10.0.0.1,02:00:00:00:00:01@10.0.0.2,02:00:00:00:00:02@10.0.0.3
bad "--peers bad hex" "entry 2: .* is not a MAC" "${eal[@]}" -l 0-1 -- --replica-id 0 \
	--peers 02:00:00:00:00:00@10.0.0.1,02:00:00:00:00:01@10.0.0.2,02:00:00:00:0g:02@10.0.0.3
bad "--peers IP field > 255" "entry 1: '10.0.0.256' is not an IPv4" "${eal[@]}" -l 0-1 -- \
	--replica-id 0 \
	--peers 02:00:00:00:00:00@10.0.0.1,02:00:00:00:00:01@10.0.0.256,02:00:00:00:00:02@10.0.0.3
bad "--peers 3-field IP" "entry 0: '10.0.1' is not an IPv4" "${eal[@]}" -l 0-1 -- \
	--replica-id 0 \
	--peers 02:00:00:00:00:00@10.0.1,02:00:00:00:00:01@10.0.0.2,02:00:00:00:00:02@10.0.0.3
bad "--peers IP with spaces" "is not an IPv4" "${eal[@]}" -l 0-1 -- --replica-id 0 \
	--peers "02:00:00:00:00:00@10.0.0.1 ,02:00:00:00:00:01@10.0.0.2,02:00:00:00:00:02@10.0.0.3"
bad "--peers multicast MAC" "entry 1: .*multicast" "${eal[@]}" -l 0-1 -- --replica-id 0 \
	--peers 02:00:00:00:00:00@10.0.0.1,01:00:5e:00:00:01@10.0.0.2,02:00:00:00:00:02@10.0.0.3
bad "--peers same MAC" "replicas 0 and 2 the same MAC" "${eal[@]}" -l 0-1 -- --replica-id 0 \
	--peers 02:00:00:00:00:00@10.0.0.1,02:00:00:00:00:01@10.0.0.2,02:00:00:00:00:00@10.0.0.3
bad "--peers same IP" "replicas 1 and 2 the same IP" "${eal[@]}" -l 0-1 -- --replica-id 0 \
	--peers 02:00:00:00:00:00@10.0.0.1,02:00:00:00:00:01@10.0.0.2,02:00:00:00:00:02@10.0.0.2

echo "# devices"
bad "no port at all" "no DPDK port 0: add --vdev" "${eal[@]}" -l 0-1 -- --replica-id 0 \
	--peers "$peers"
bad "port id beyond the ports" "no DPDK port 3; .*port\(s\) 0" "${eal[@]}" -l 0-1 \
	--vdev=net_null0 -- --replica-id 0 --peers "$peers" --port 3
bad_last "af_packet on a missing interface" "no DPDK port 0" "${eal[@]}" -l 0-1 \
	--vdev=net_af_packet0,iface=trireme-nope0 -- --replica-id 0 --peers "$peers"
# [runtime] a memif client with no server: the port does not start.
bad_last "port that will not start" "port|memif|start" "${eal[@]}" -l 0-1 \
	"--vdev=net_memif0,role=client,id=0,socket=$tmp/none.sock,socket-abstract=no" -- \
	--replica-id 1 --peers "$peers" --duration 2
# [runtime] a port where nothing ever arrives: the peers are unreachable.
bad_last "unreachable peers" "heard nothing from its peers" "${eal[@]}" -l 0-1 \
	--vdev=net_null0,no-rx=1 -- --replica-id 0 --peers "$peers" --duration 10 \
	--peer-timeout 1 --quiet
# [runtime] no worker lcore for the replicas.
bad_last "no worker lcore" "lcore" "${eal[@]}" -l 0 -- --cluster --duration 1 --quiet

echo "# an idle launcher"
# [runtime] --writers 0: the main loop has no load to measure and must not
# hold a CPU (it naps). Its thread's CPU time over 2.5 s of a 3 s run, in
# clock ticks: EAL start-up takes about 0.3 s; a loop that yields instead
# takes the whole CPU whenever nothing else wants it.
total=$((total + 1))
"$bin" "${eal[@]}" -l 0-1 -- --cluster --writers 0 --duration 3 --quiet </dev/null \
	>"$tmp/out" 2>"$tmp/err" &
pid=$!
sleep 2.5
ticks=$(awk '{print $14 + $15}' "/proc/$pid/task/$pid/stat" 2>/dev/null || echo gone)
wait "$pid"
rc=$?
hz=$(getconf CLK_TCK)
if [ "$rc" -ne 0 ] || [ "$ticks" = gone ]; then
	fail "--writers 0 idle" "status $rc, main thread ${ticks} ticks"
elif [ "$ticks" -gt $((hz * 12 / 10)) ]; then
	fail "--writers 0 idle" "main thread used $ticks ticks of CPU in 2.5 s (limit $((hz * 12 / 10)))"
fi

echo "# restarts from disk serve again (protocol §12 S2, J5)"
# [runtime] A whole cluster started again on its data directories, then one
# replica crashed and restarted from its directory mid-run: every start from
# disk takes no command until a peer's STATUS vouched for its memory (J5), so
# a vouch that never comes shows as "serving":false, no writes, or a stall.
check_served() {
	local name=$1 serving writes

	serving=$(grep -o '"serving":true' "$tmp/out" | wc -l)
	writes=$(grep -o '"writes":[0-9]*' "$tmp/out" | cut -d: -f2)
	if [ "$rc" -ne 0 ] || [ "$serving" -ne 3 ] || [ "${writes:-0}" -lt 100 ] ||
		! grep -q '"digests_match":true' "$tmp/out"; then
		fail "$name" "status $rc, $serving of 3 serving, writes '${writes}'"
	else
		echo "ok   $name: $writes writes, 3 of 3 serving"
	fi
}
for life in first second; do
	run "the $life start on the data directories" "${eal[@]}" -m 512 -l 0-1 -- --cluster \
		--data-dir "$tmp/dd" --keys 64 --duration 1 --json --quiet &&
		check_served "the $life start on the data directories"
done
run "a replica restarted from its directory" "${eal[@]}" -m 512 -l 0-1 -- --cluster \
	--data-dir "$tmp/dd" --keys 64 --duration 2 --json --quiet --fault "crash 2 at 0.5 for 0.3" &&
	check_served "a replica restarted from its directory"

echo "# a second failure before the first has rejoined (protocol §12 J2)"
# [launcher] Replica 2 restarts without memory and, at the same instant,
# replica 1 is paused: the launcher warns (two failures at once may stop the
# cluster); once both are back, every replica reports "rejoined" and the
# digests match.
name="a fault while another replica rejoins"
if run "$name" "${eal[@]}" -m 512 -l 0-1 -- --cluster --keys 64 --duration 2 --json --quiet \
	--fault "crash 2 at 0.5 for 0.3" --fault "pause 1 at 0.8 for 0.2"; then
	if [ "$rc" -ne 0 ] ||
		! grep -Eq 'warning: pause replica 1 while replica 2 is (not serving|still rejoining)' \
			"$tmp/err" ||
		[ "$(grep -o '"rejoined":true' "$tmp/out" | wc -l)" -ne 3 ] ||
		! grep -q '"digests_match":true' "$tmp/out"; then
		fail "$name" "status $rc, no warning, or not 3 of 3 rejoined and converged"
	else
		echo "ok   $name: $(grep -o 'warning: .* is [a-z ]*' "$tmp/err")"
	fi
fi

echo "# a full disk (protocol §12 S1)"
# [runtime, root] Replica 2's directory on a small tmpfs. Too small for its
# first log segment: the start fails, naming the disk's error. Room for the
# segments, not for their successors: mid-run, replica 2 says it cannot write
# its log and stops sending; the launcher exits 3 naming it, the other two
# go on committing and converge, and its clients' commands are not waited for.
mkdir -p "$tmp/full/r2"
if mount -t tmpfs -o size=1m tmpfs "$tmp/full/r2" 2>/dev/null; then
	bad "a data directory too small for its log" \
		"replica 2: cannot open a log segment in .*: No space left on device" \
		"${eal[@]}" -m 512 -l 0-1 -- --cluster --data-dir "$tmp/full" --duration 1 --quiet
	umount "$tmp/full/r2"
	rm -rf "$tmp/full"
	mkdir -p "$tmp/full/r2"
	mount -t tmpfs -o size=50m tmpfs "$tmp/full/r2"
	name="a disk that fills mid-run"
	run "$name" "${eal[@]}" -m 1024 -l 0-1 -- --cluster --data-dir "$tmp/full" \
		--keys 64 --value-size 1024 --duration 6 --json --quiet
	writes=$(grep -o '"writes":[0-9]*' "$tmp/out" | cut -d: -f2)
	if [ "$rc" -ne 3 ] ||
		! grep -q 'replica 2 could not write its data directory' "$tmp/err" ||
		! grep -q 'replica 2 column [0-9]: cannot write its log .*No space left' "$tmp/err" ||
		! grep -q '"id":2,[^}]*"log_failed":true' "$tmp/out" ||
		[ "$(grep -o '"serving":true' "$tmp/out" | wc -l)" -ne 2 ] ||
		! grep -q '"digests_match":true' "$tmp/out" || ! grep -q '"unfinished":0,' "$tmp/out" ||
		[ "${writes:-0}" -lt 1000 ]; then
		fail "$name" "status $rc (want 3), writes '${writes}', replica 2 not reported \
as failed, or the others not serving and converged"
	else
		echo "ok   $name: $(grep 'could not write its data' "$tmp/err")"
	fi
	umount "$tmp/full/r2"
else
	echo "skip a full disk: cannot mount a tmpfs (not root?)"
fi

echo "$((total - failed)) of $total passed"
[ "$failed" -eq 0 ]
