#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The remote-client benchmark across hosts: three replicas (one trireme
# process each, --serve-clients, no load of their own) and trireme-load on a
# fourth host, over the replicas' NICs. The same script runs here, in network
# namespaces (--local: the setup of tests/dpdk/test_remote.sh), so that what
# runs on three servers is what CI runs.
#
#   bench/remote.sh --replicas root@a,root@b,root@c --load root@d \
#       --peers 0c:42:a1:00:00:01@10.1.0.1,0c:42:a1:00:00:02@10.1.0.2,0c:42:a1:00:00:03@10.1.0.3 \
#       --eal "-l 0-3 -a 0000:3b:00.0" --clients 48 --window 8 --duration 10 --runs 3
#   bench/remote.sh --local --runs 3          (this host: namespaces trb0..trb3)
#
# Hosts are reached with ssh (BatchMode; keys set up beforehand); trireme and
# trireme-load must be installed on them (--trireme, --trireme-load: their
# paths there). The replicas answer ARP for their addresses; --neigh adds
# static neighbour entries on the load host instead (root). Per run: one
# line of the load's JSON, the replicas'
# digests; at the end min / median / max of ops/s and p50/p99/p999.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
replicas=""
load_host=""
peers=""
base=7400
eal="-l 0-1"
eal_i=("" "" "")
trireme=trireme
trireme_load=trireme-load
clients=24
window=8
value=16
keys=100000
reads=0.25
read_mode=barrier
duration=10
runs=1
serve=256
local_run=false
neigh=false
load_if=""
extra_load=""
out=${TMPDIR:-/tmp}/trireme-remote-bench.$$

usage() {
	sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//'
	cat <<EOF
options:
  --replicas H0,H1,H2   ssh destinations of replicas 0, 1, 2
  --load H              ssh destination of the load host
  --peers M@I,M@I,M@I   the replicas' MACs and IPs (as trireme --peers)
  --port-base N         UDP port base (default 7400; clients use N + 4)
  --eal "ARGS"          EAL arguments of every replica (default "$eal")
  --eal0/1/2 "ARGS"     EAL arguments of one replica (instead of --eal)
  --serve-clients N     remote clients each replica serves (default $serve)
  --trireme P, --trireme-load P   the programs' paths on the hosts
  --clients N --window W --value-size B --keys N --read-ratio P
  --read-mode barrier|log --duration S     trireme-load's (defaults $clients, $window,
                        $value, $keys, $reads, $read_mode, $duration)
  --load-args "ARGS"    more trireme-load arguments (e.g. --timeout-ms 20)
  --neigh               static neighbour entries on the load host (root), for
                        networks where ARP does not reach the replicas
  --load-if IF          with --neigh: the load host's interface towards them
  --runs N              repeat the run N times (default 1)
  --local               on this host, in network namespaces (needs root)
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--replicas) replicas=$2; shift ;;
	--load) load_host=$2; shift ;;
	--peers) peers=$2; shift ;;
	--port-base) base=$2; shift ;;
	--eal) eal=$2; shift ;;
	--eal0) eal_i[0]=$2; shift ;;
	--eal1) eal_i[1]=$2; shift ;;
	--eal2) eal_i[2]=$2; shift ;;
	--serve-clients) serve=$2; shift ;;
	--trireme) trireme=$2; shift ;;
	--trireme-load) trireme_load=$2; shift ;;
	--clients) clients=$2; shift ;;
	--window) window=$2; shift ;;
	--value-size) value=$2; shift ;;
	--keys) keys=$2; shift ;;
	--read-ratio) reads=$2; shift ;;
	--read-mode) read_mode=$2; shift ;;
	--duration) duration=$2; shift ;;
	--load-args) extra_load=$2; shift ;;
	--load-if) load_if=$2; shift ;;
	--neigh) neigh=true ;;
	--runs) runs=$2; shift ;;
	--local) local_run=true ;;
	-h|--help) usage; exit 0 ;;
	*) echo "remote.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

if $local_run; then
	[ "$(id -u)" -eq 0 ] || { echo "remote.sh: --local needs root (namespaces)" >&2; exit 2; }
	trireme=$here/build/tools/trireme
	trireme_load=$here/build/tools/trireme-load
	replicas="netns:trb0,netns:trb1,netns:trb2"
	load_host=netns:trb3
	peers=02:00:00:00:00:00@10.0.0.1,02:00:00:00:00:01@10.0.0.2,02:00:00:00:00:02@10.0.0.3
	eal='--lcores 0@(0-1),1@(0-1) --no-huge --no-pci --no-telemetry -m 256 --vdev=net_af_packet0,iface=trv'
	load_if=trv
	extra_load="--no-udp-checksum $extra_load"
fi
IFS=, read -r -a rhost <<<"$replicas"
IFS=, read -r -a peer <<<"$peers"
if [ ${#rhost[@]} -ne 3 ] || [ ${#peer[@]} -ne 3 ] || [ -z "$load_host" ]; then
	echo "remote.sh: give --replicas H0,H1,H2, --load H and --peers (three), or --local" >&2
	exit 2
fi

# run HOST CMD...: on a host by ssh, or in a namespace ("netns:NAME").
run() {
	local h=$1
	shift
	case $h in
	netns:*) ip netns exec "${h#netns:}" "$@" ;;
	*) ssh -o BatchMode=yes "$h" "$(printf '%q ' "$@")" ;;
	esac
}

cleanup() {
	if $local_run; then
		ip netns del trb3 2>/dev/null || true
		TR_NETNS=trb "$here/scripts/netns.sh" down
		rm -rf /var/run/dpdk/trb*
	fi
}
if $local_run; then
	trap cleanup EXIT
	cleanup
	TR_NETNS=trb "$here/scripts/netns.sh" up
	ip netns add trb3
	ip -n trb3 link set lo up
	ip netns exec trb3 sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip -n trb3 link add trv type veth peer name trp3
	ip -n trb3 link set trp3 netns trbsw
	ip -n trb3 link set trv address 02:00:00:00:00:0a up
	ip -n trbsw link set trp3 master trbr up
	ip -n trb3 addr add 10.0.0.10/24 dev trv
fi

targets=""
for i in 0 1 2; do
	mac=${peer[$i]%@*}
	ip=${peer[$i]#*@}
	targets+="${targets:+,}$ip:$((base + 4))"
	if $neigh; then
		if [ -z "$load_if" ]; then
			load_if=$(run "$load_host" ip -o route get "$ip" | sed -n 's/.* dev \([^ ]*\).*/\1/p')
		fi
		run "$load_host" ip neigh replace "$ip" lladdr "$mac" dev "$load_if" nud permanent
	fi
done

mkdir -p "$out"
echo "remote.sh: $(date -u +%FT%TZ), replicas ${rhost[*]}, load $load_host, targets $targets"
echo "remote.sh: $clients clients x window $window, $value-byte values, read ratio $reads ($read_mode), $duration s, $runs run(s); results in $out"
for r in $(seq 1 "$runs"); do
	for i in 0 1 2; do
		e=${eal_i[$i]:-$eal}
		# shellcheck disable=SC2086
		run "${rhost[$i]}" "$trireme" $e --file-prefix trb$i --log-level='*:error' -- \
			--replica-id $i --peers "$peers" --udp-port-base "$base" \
			--serve-clients "$serve" --writers 0 --duration $((duration + 6)) --linger 10 \
			--quiet --json >"$out/r$r.$i.json" 2>"$out/r$r.$i.err" &
		pid[$i]=$!
	done
	sleep 3
	# shellcheck disable=SC2086
	run "$load_host" "$trireme_load" --target "$targets" --clients "$clients" \
		--window "$window" --value-size "$value" --keys "$keys" --read-ratio "$reads" \
		--read-mode "$read_mode" --duration "$duration" --quiet --json $extra_load \
		>"$out/load$r.json" 2>"$out/load$r.err" || true
	for i in 0 1 2; do wait "${pid[$i]}" || true; done
	digests=$(cat "$out"/r$r.*.json | grep -o '"kv_digest":"[^"]*"' | cut -d'"' -f4 | sort -u | wc -l)
	echo "run $r: $(cat "$out/load$r.json") digests_match=$([ "$digests" -eq 1 ] && echo true || echo false)"
done

# min / median / max over the runs
for f in ops_per_s p50_us p99_us p999_us; do
	vals=$(cat "$out"/load*.json | grep -o "\"$f\":[0-9.]*" | cut -d: -f2 | sort -g)
	n=$(echo "$vals" | grep -c . || true)
	[ "$n" -gt 0 ] || continue
	echo "$f: min $(echo "$vals" | head -1) median $(echo "$vals" | sed -n "$(((n + 1) / 2))p") max $(echo "$vals" | tail -1) ($n runs)"
done
