#!/usr/bin/env bash
# Installs the Debian 12 packages Trireme builds, tests and runs with.
# Idempotent: runs `apt-get update` once and installs only what is missing.
#   install-deps.sh [--bench]   --bench: also what bench/run.sh needs
set -euo pipefail

packages=(
	meson ninja-build pkg-config gcc g++
	libcriterion-dev
	dpdk dpdk-dev libdpdk-dev
	liburcu-dev libjemalloc-dev
	iproute2 python3
	spin clang libclang-rt-14-dev llvm-14
	libsodium-dev liburing-dev
)
if [ "${1:-}" = --bench ]; then
	packages+=(gnuplot-nox valgrind util-linux procps libraft-dev libuv1-dev etcd-server etcd-client)
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
