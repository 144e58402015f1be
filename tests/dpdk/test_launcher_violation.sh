#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A replica stopped on a safety violation ends the launcher's run at once
# with exit status 4 and one stderr line naming the replica and the rule.
# The violation is reported by an LD_PRELOAD shim of trireme_replica_status.
#   test_launcher_violation.sh path/to/trireme path/to/violation_shim.so
set -u
bin=$1 shim=$2
prefix=trireme-viol-$$
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "/var/run/dpdk/$prefix"' EXIT
start=$(date +%s)
LD_PRELOAD=$shim timeout -s KILL 60 "$bin" --no-huge --no-pci --no-telemetry \
	--log-level='*:error' -m 256 --no-shconf --file-prefix "$prefix" -l 0-1 -- \
	--cluster --duration 30 --quiet </dev/null >"$tmp/out" 2>"$tmp/err"
rc=$?
took=$(($(date +%s) - start))
cat "$tmp/err"
fail=0
[ "$rc" -eq 4 ] || { echo "FAIL: exit status $rc, not 4"; fail=1; }
grep -q "^trireme: replica 1 stopped on a safety violation: A3: injected by the test" \
	"$tmp/err" || { echo "FAIL: no violation line on stderr"; fail=1; }
[ "$took" -lt 20 ] || { echo "FAIL: the run went on for $took s after the violation"; fail=1; }
[ $fail -eq 0 ] && echo "launcher-violation: exit 4 after $took s, the replica and rule named"
exit $fail
