#!/usr/bin/env bash
# Fails when engine/ includes an I/O, thread, clock or DPDK header.
# Usage: check-engine-purity.sh ENGINE_DIR [STAMP]
set -euo pipefail
dir=$1
pattern='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](rte_[^>"]*|urcu[^>"]*|pthread\.h|threads\.h|time\.h|sys/time\.h|sys/socket\.h|sys/.*|unistd\.h|stdio\.h|netinet/[^>"]*|arpa/[^>"]*|signal\.h|fcntl\.h)[>"]'
if bad=$(grep -rnE "$pattern" --include='*.c' --include='*.h' "$dir"); then
	echo "engine purity: engine/ must not include I/O, thread, clock or DPDK headers:" >&2
	echo "$bad" >&2
	exit 1
fi
[ $# -ge 2 ] && : > "$2"
exit 0
