#!/usr/bin/env bash
# Shows that the purity check has teeth: it passes on engine/ as it is and
# fails once a forbidden header is planted in a copy of it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
engine=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bash "$here/check-engine-purity.sh" "$engine"
for header in '<rte_mbuf.h>' '<urcu-qsbr.h>' '<pthread.h>' '<time.h>' '<sys/socket.h>' '"stdio.h"'; do
	rm -rf "$tmp/engine"
	cp -r "$engine" "$tmp/engine"
	printf '#include %s\n' "$header" >> "$tmp/engine/order.c"
	if bash "$here/check-engine-purity.sh" "$tmp/engine" 2>/dev/null; then
		echo "purity check missed #include $header" >&2
		exit 1
	fi
done
echo "purity check: clean engine passes, 6 planted includes rejected"
