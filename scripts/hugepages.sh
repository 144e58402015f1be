#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reserves 2 MiB hugepages for DPDK, or gives them back.
#
#   scripts/hugepages.sh [PAGES]     at least PAGES pages reserved (default 600:
#                                    the launcher's -m 1024 of bench/ and some
#                                    room); never lowers a larger reservation
#   scripts/hugepages.sh --release   gives the pages back (those in use stay
#                                    until their process ends)
#   scripts/hugepages.sh --status    prints the reservation only
#
# Then run EAL with --in-memory instead of --no-huge (no hugetlbfs mount
# needed: EAL takes the pages through memfd), e.g.
#   build/tools/trireme --in-memory --no-pci -m 1024 -l 0-1 -- --cluster
# Prints one line, "hugepages: N x 2 MiB reserved (F free) ...". Exit status 0,
# 1 when the kernel gave fewer pages than asked (the reservation is put back
# as it was; free memory is fragmented: try again after a drop of the page
# cache, or reserve at boot with hugepages=N), 2 on bad arguments or without
# the right to write the kernel's setting (root).
set -euo pipefail

sys=/sys/kernel/mm/hugepages/hugepages-2048kB
usage() {
	echo "usage: scripts/hugepages.sh [PAGES | --release | --status]" >&2
	exit 2
}

pages=600
action=reserve
case ${1:-} in
"") ;;
--release) action=release ;;
--status) action=status ;;
-h | --help) sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*[!0-9]* | 0*) usage ;;
*) pages=$1 ;;
esac
[ $# -le 1 ] || usage

if [ ! -d "$sys" ]; then
	echo "hugepages: this kernel has no 2 MiB hugepages ($sys missing); run EAL with --no-huge" >&2
	exit 2
fi
total() { cat "$sys/nr_hugepages"; }
free() { cat "$sys/free_hugepages"; }
status() {
	echo "hugepages: $(total) x 2 MiB reserved ($(free) free, $(($(total) * 2)) MiB)$1"
}
set_pages() {
	if ! echo "$1" 2>/dev/null >"$sys/nr_hugepages"; then
		echo "hugepages: cannot write $sys/nr_hugepages (run as root)" >&2
		exit 2
	fi
}

case $action in
status)
	status ""
	;;
release)
	set_pages 0
	if [ "$(total)" -gt 0 ]; then
		status "; still in use by running processes: they go when those end"
	else
		status "; released"
	fi
	;;
reserve)
	before=$(total)
	if [ "$before" -ge "$pages" ]; then
		status "; at least $pages wanted: nothing to do"
		exit 0
	fi
	avail=$(awk '/MemAvailable/ {print int($2 / 2048)}' /proc/meminfo)
	if [ $((pages - before)) -gt "$avail" ]; then
		echo "hugepages: $pages pages (2 MiB each) is more than the $before reserved" \
			"and the $avail available; ask for fewer" >&2
		exit 1
	fi
	set_pages "$pages"
	if [ "$(total)" -lt "$pages" ]; then
		# Fragmented memory: compact it once and ask again.
		echo 1 2>/dev/null >/proc/sys/vm/compact_memory || true
		set_pages "$pages"
	fi
	got=$(total)
	if [ "$got" -lt "$pages" ]; then
		set_pages "$before"
		echo "hugepages: the kernel gave $got of $pages pages (2 MiB each; $(awk \
			'/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo) MiB available);" \
			"put back to $(total). Free memory (drop caches:" \
			"echo 3 > /proc/sys/vm/drop_caches) or reserve at boot (hugepages=$pages)," \
			"or run EAL with --no-huge" >&2
		exit 1
	fi
	status "; was $before"
	;;
esac
