#!/usr/bin/env bash
# Three network namespaces (tr0..tr2) on a bridge (namespace trsw), each with
# a veth "trv" carrying MAC 02:00:00:00:00:0N, for one trireme replica per
# process over af_packet (DPDK-COOKBOOK §3a). Usage: netns.sh up|down
set -euo pipefail
case "${1:-}" in
up)
	ip netns add trsw
	ip netns exec trsw sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip -n trsw link add trbr type bridge
	ip -n trsw link set trbr up
	for i in 0 1 2; do
		ip netns add tr$i
		ip netns exec tr$i sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		ip -n tr$i link set lo up
		ip -n tr$i link add trv type veth peer name trp$i
		ip -n tr$i link set trp$i netns trsw
		ip -n tr$i link set trv address 02:00:00:00:00:0$i up
		ip -n trsw link set trp$i master trbr up
	done
	;;
down)
	for i in 0 1 2; do ip netns del tr$i 2>/dev/null || true; done
	ip netns del trsw 2>/dev/null || true
	;;
*)
	echo "usage: netns.sh up|down" >&2
	exit 2
	;;
esac
