#!/usr/bin/env bash
# Sets up everything, builds, and runs the main job. Until the DPDK runtime
# lands this is the simulated 3-replica cluster with faults.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build
./build/tools/trireme-sim --seeds 10 --ops 20000 --loss 0.1 --dup 0.02 --crash 1 --verbose "$@"
