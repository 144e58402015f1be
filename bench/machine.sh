#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The machine.txt of a benchmark run, on stdout: date, commit, the command
# as typed, kernel, DPDK, compiler, build options, load average, CPU and
# memory. bench/run.sh and bench/peers.sh write it into their --out DIR.
#
#   bench/machine.sh COMMAND STARTED_IN [BUILD_DIR]
set -euo pipefail
command_line=$1
started_in=$2
build=${3:-build}
cd "$(dirname "$0")/.."
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- engine dpdk tools bench || echo ' (modified)')"
echo "command: $command_line"
echo "started in: $started_in"
echo "kernel: $(uname -srm)"
echo "dpdk: $(pkg-config --modversion libdpdk)"
echo "compiler: $(gcc --version | head -n 1)"
echo "build: $(meson introspect --buildoptions "$build" | python3 -c \
	'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; print(o["buildtype"], o["b_ndebug"])')"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "hugepages (2 MiB): $(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages \
	2>/dev/null || echo 0) reserved, $(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages \
	2>/dev/null || echo 0) free"
echo
lscpu
echo
free -h
