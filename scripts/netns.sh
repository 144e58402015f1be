#!/usr/bin/env bash
# Three network namespaces (tr0..tr2) on a bridge (namespace trsw), each with
# a veth "trv" carrying MAC 02:00:00:00:00:0N, for one trireme replica per
# process over af_packet (DPDK-COOKBOOK §3a). Usage: netns.sh up|down
# TR_NETNS=name: other names than tr (trN, trsw), for tests side by side.
set -euo pipefail
p=${TR_NETNS:-tr}
case "${1:-}" in
up)
	ip netns add ${p}sw
	ip netns exec ${p}sw sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip -n ${p}sw link add trbr type bridge
	ip -n ${p}sw link set trbr up
	for i in 0 1 2; do
		ip netns add $p$i
		ip netns exec $p$i sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		ip -n $p$i link set lo up
		ip -n $p$i link add trv type veth peer name trp$i
		ip -n $p$i link set trp$i netns ${p}sw
		ip -n $p$i link set trv address 02:00:00:00:00:0$i up
		ip -n ${p}sw link set trp$i master trbr up
	done
	;;
down)
	for i in 0 1 2; do ip netns del $p$i 2>/dev/null || true; done
	ip netns del ${p}sw 2>/dev/null || true
	;;
*)
	echo "usage: netns.sh up|down" >&2
	exit 2
	;;
esac
