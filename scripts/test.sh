#!/usr/bin/env bash
# Sets up everything Trireme needs on Debian 12, builds it and runs every test.
# Ends with a line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
if [ ! -f build/build.ninja ]; then
	meson setup build
fi
ninja -C build

status=0
meson test -C build --print-errorlogs --num-processes 2 "$@" || status=$?

python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r == "SKIP":
        skipped += 1
    else:
        failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit $status
