#!/usr/bin/env bash
# Sets up everything, builds, and runs the main job: a 3-replica cluster in
# one process over net_ring virtual NICs (no hugepages, no NIC), a 10-second
# closed-loop workload with 5% injected loss each way, a stats line every
# second, and the JSON summary at the end. Extra arguments go to the launcher.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build
exec ./build/tools/trireme --no-huge --no-pci -l 0-1 --log-level='*:error' -m 512 \
	-- --cluster --duration 10 --loss 0.05 --json "$@"
