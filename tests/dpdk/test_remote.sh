#!/usr/bin/env bash
# Remote clients end to end. First --cluster (kernel sockets), then three
# trireme processes, one replica each over
# af_packet in network namespaces trr0..trr2 (scripts/netns.sh), serving
# remote clients (--serve-clients, UDP port base + 4), and trireme-load in a
# fourth namespace, trr3, on the same bridge, over kernel UDP. The load must
# complete operations on all three replicas, its history must check
# linearizable (history-check), and the replicas' digests must match.
# Clients fail over (trireme-load --failover): in --cluster, replica 1
# crashes and restarts under the load, and its clients move on without an
# unknown outcome; over af_packet, with 5% of the packets lost, a client moves
# after every unanswered send, so writes are retried at other replicas all
# the time, and the history stays linearizable only because every replica
# applies a remote client's write once (before 2026-12-07, when a remote
# write carried the serving replica's own client id, it failed here).
# Usage: test_remote.sh path/to/trireme path/to/trireme-load path/to/history-check
set -uo pipefail
trireme=$1
load=$2
check=$3
here=$(cd "$(dirname "$0")/../.." && pwd)
export TR_NETNS=trr
tmp=$(mktemp -d)
cleanup() {
	for i in 0 1 2; do
		[ -n "${pid[$i]:-}" ] && kill -9 "${pid[$i]}" 2>/dev/null
	done
	ip netns del trr3 2>/dev/null
	"$here/scripts/netns.sh" down
	[ -n "${cpid:-}" ] && kill -9 "$cpid" 2>/dev/null
	rm -rf "$tmp" /var/run/dpdk/trrm*
}
trap cleanup EXIT
if [ "$(id -u)" -ne 0 ]; then
	echo "remote: needs root for network namespaces"; exit 77
fi
"$here/scripts/netns.sh" down
ip netns del trr3 2>/dev/null
"$here/scripts/netns.sh" up || { echo "FAIL: cannot create namespaces"; exit 1; }
# The load generator's namespace: a veth on the bridge and an address. No
# static neighbours: the replicas answer ARP for their addresses (remote.c).
ip netns add trr3 && ip -n trr3 link set lo up &&
	ip netns exec trr3 sysctl -qw net.ipv6.conf.all.disable_ipv6=1 &&
	ip -n trr3 link add trv type veth peer name trp3 &&
	ip -n trr3 link set trp3 netns trrsw &&
	ip -n trr3 link set trv address 02:00:00:00:00:0a up &&
	ip -n trrsw link set trp3 master trbr up &&
	ip -n trr3 addr add 10.0.0.10/24 dev trv || { echo "FAIL: load namespace"; exit 1; }

fail=0
# --cluster first: the three replicas in one process serve on kernel sockets
# (ports base + 4 + replica), here inside trr3 (its own loopback).
base=7400
ip netns exec trr3 "$trireme" --lcores "0@(0-1),1@(0-1)" --no-huge --no-pci --no-telemetry \
	--log-level='*:error' -m 256 --file-prefix trrmc -- --cluster --udp-port-base $base \
	--serve-clients 8 --writers 0 --duration 7 --fault "crash 1 at 2 for 0.5" \
	--json >"$tmp/c.json" 2>"$tmp/c.err" &
cpid=$!
sleep 1.5
ip netns exec trr3 "$load" --target 127.0.0.1:$((base + 4)),127.0.0.1:$((base + 5)),127.0.0.1:$((base + 6)) \
	--clients 3 --window 4 --duration 4 --keys 20 --seed 3 --quiet --failover 3 --timeout-ms 20 \
	--history "$tmp/c-history.jsonl" --json >"$tmp/c-load.json" 2>"$tmp/c-load.err" ||
	{ echo "FAIL: trireme-load against --cluster"; fail=1; }
wait $cpid || { echo "FAIL: --cluster exit $?"; fail=1; }
cpid=
echo "cluster load: $(cat "$tmp/c-load.json")"
n=$(grep -o '"target":"[^"]*","ops":[1-9][0-9]*' "$tmp/c-load.json" | wc -l)
[ "$n" -eq 3 ] || { echo "FAIL: $n of 3 --cluster replicas completed operations"; fail=1; }
grep -q '"digests_match":true' "$tmp/c.json" || { echo "FAIL: --cluster digests differ"; fail=1; }
grep -q '"unknown":0,' "$tmp/c-load.json" ||
	{ echo "FAIL: outcomes unknown after replica 1's crash: its clients did not fail over"; fail=1; }
grep -q '"failovers":[1-9]' "$tmp/c-load.json" || { echo "FAIL: no client failed over"; fail=1; }
"$check" "$tmp/c-history.jsonl" || { echo "FAIL: --cluster history not linearizable"; fail=1; }

peers=02:00:00:00:00:00@10.0.0.1,02:00:00:00:00:01@10.0.0.2,02:00:00:00:00:02@10.0.0.3
# Replica frames authenticated (--auth-key); the clients' datagrams carry no
# MAC and are served all the same.
head -c 32 /dev/urandom >"$tmp/key"
for i in 0 1 2; do
	ip netns exec trr$i "$trireme" --lcores "0@(0-1),1@(0-1)" --no-huge --no-pci \
		--no-telemetry --log-level='*:error' -m 256 --file-prefix trrm$i \
		--vdev=net_af_packet0,iface=trv -- --replica-id $i --peers $peers \
		--udp-port-base $base --serve-clients 16 --writers 0 --duration 10 --linger 5 \
		--loss 0.05 --auth-key "$tmp/key" \
		--json >"$tmp/r$i.json" 2>"$tmp/r$i.err" &
	pid[$i]=$!
done
sleep 2
targets=10.0.0.1:$((base + 4)),10.0.0.2:$((base + 4)),10.0.0.3:$((base + 4))
ip netns exec trr3 "$load" --target "$targets" --clients 6 --window 4 --threads 2 --batch 4 --duration 4 \
	--keys 8 --read-ratio 0.3 --seed 7 --timeout-ms 10 --failover 1 --no-udp-checksum \
	--history "$tmp/history.jsonl" --json >"$tmp/load.json" 2>"$tmp/load.err"
lrc=$?
ip -n trr3 neigh show >"$tmp/neigh"
# Exactly once, by hand: set probe=a (seq 1), set probe=b (seq 2), the retry
# of seq 1 (answered again, not applied again), then a get (seq 3) reads b.
if command -v python3 >/dev/null; then
	probe=$(ip netns exec trr3 python3 - "$base" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 11, 1)
s.settimeout(0.2)
dst = ('10.0.0.2', int(sys.argv[1]) + 4)
def call(seq, op, val):
    d = struct.pack('<HBBIQ', 0x5154, 1, 1, 0, 4242) + \
        struct.pack('<QBBBBHH', seq, op, 0, 4, 0, 5, len(val)) + b'probe' + val
    for _ in range(50):
        s.sendto(d, dst)
        try:
            r = s.recv(2048)
        except socket.timeout:
            continue
        if struct.unpack_from('<Q', r, 16)[0] == seq:
            return r[24], r[32:]
    return None, b''
call(1, 1, b'a')
call(2, 1, b'b')
call(1, 1, b'a')
st, v = call(3, 2, b'')
print('%s:%s' % (st, v.decode()))
PY
)
	[ "$probe" = "0:b" ] || { echo "FAIL: a retried set applied again (get after it: $probe)"; fail=1; }
fi
# Malformed datagrams to replica 0 (its address resolved by now): dropped
# and counted (remote_drops), no answer, no crash; 24 sent, at least 12 must
# get past --loss. SO_NO_CHECK (11): see trireme-load --no-udp-checksum.
bad=0
if command -v python3 >/dev/null; then
	ip netns exec trr3 python3 - "$base" <<'PY' && bad=12
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 11, 1)
hdr = struct.pack('<HBBIQ', 0x5154, 1, 1, 0, 42)
req = struct.pack('<QBBBBHH', 1, 1, 0, 8, 0, 1, 1) + b'kv'
for d in 4 * [b'', b'xx', b'\0' * 16, hdr[:3] + b'\0' + hdr[4:], hdr + req[:17],
	  hdr + req[:8] + b'\x07' + req[9:]]:
	s.sendto(d, ('10.0.0.1', int(sys.argv[1]) + 4))
	time.sleep(0.002)
PY
fi
for i in 0 1 2; do
	wait "${pid[$i]}"; rc[$i]=$?
	pid[$i]=
done
echo "load: $(cat "$tmp/load.json")"
tail -2 "$tmp/load.err"
for i in 0 1 2; do
	echo "replica $i (exit ${rc[$i]}): $(cat "$tmp/r$i.json")"
	tail -2 "$tmp/r$i.err"
done
[ "$lrc" -eq 0 ] || { echo "FAIL: trireme-load exit $lrc"; fail=1; }
for i in 0 1 2; do
	[ "${rc[$i]}" -eq 0 ] || { echo "FAIL: replica $i exit ${rc[$i]}"; fail=1; }
done
# Operations completed against every replica.
n=$(grep -o '"target":"[^"]*","ops":[1-9][0-9]*' "$tmp/load.json" | wc -l)
[ "$n" -eq 3 ] || { echo "FAIL: $n of 3 replicas completed operations"; fail=1; }
"$check" "$tmp/history.jsonl" || { echo "FAIL: history not linearizable"; fail=1; }
d0=$(grep -o '"kv_digest":"[^"]*"' "$tmp/r0.json")
for i in 1 2; do
	d=$(grep -o '"kv_digest":"[^"]*"' "$tmp/r$i.json")
	[ -n "$d0" ] && [ "$d" = "$d0" ] || { echo "FAIL: digests differ: $d0 / $d"; fail=1; }
done
drops=$(grep -o '"remote_drops":[0-9]*' "$tmp/r0.json" | cut -d: -f2)
[ "${drops:-0}" -ge $bad ] || { echo "FAIL: replica 0 counted ${drops:-0} of $bad malformed datagrams"; fail=1; }
retries=$(grep -o '"retries":[0-9]*' "$tmp/load.json" | head -1 | cut -d: -f2)
echo "remote: $retries resends (the same seq), $drops malformed datagrams dropped"
served=$(grep -o '"remote_replies":[0-9]*' "$tmp"/r*.json | awk -F: '{s += $NF} END {print s + 0}')
[ "$served" -gt 0 ] || { echo "FAIL: the replicas sent no replies"; fail=1; }
grep -q '10.0.0.1 .*02:00:00:00:00:00' "$tmp/neigh" ||
	{ echo "FAIL: no ARP answer from replica 0: $(cat "$tmp/neigh")"; fail=1; }
[ $fail -eq 0 ] && echo "remote: 3 replicas served trireme-load ($served replies), history linearizable, digests match ($d0)"
exit $fail
