#!/usr/bin/env bash
# Sets up everything Trireme needs on Debian 12, builds it and runs every
# test: the meson suite, the suite again under ASan + UBSan, a fuzz smoke run
# and the bounded model check. Ends with a line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh || exit 1
[ -f build/build.ninja ] || meson setup build || exit 1
ninja -C build || exit 1

meson test -C build --print-errorlogs --num-processes 2 "$@"
read -r passed failed failed_names < <(python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
p = 0
bad = []
for line in open(sys.argv[1]):
    t = json.loads(line)
    if t["result"] in ("OK", "EXPECTEDFAIL", "SKIP"):
        p += 1
    else:
        bad.append(f'{t["name"]}:{t["result"]}')
print(p, len(bad), " ".join(bad))
PY
)

stage() {
	local name=$1
	shift
	echo "== $name: $*"
	if "$@"; then
		passed=$((passed + 1))
		echo "== $name: ok"
	else
		failed=$((failed + 1))
		echo "== $name: FAILED"
		failed_names="$failed_names $name"
	fi
}

if [ $# -eq 0 ]; then
	# The launcher's and the multi-process tests time real processes: not
	# under ASan's slowdown.
	stage sanitize-engine ./scripts/sanitize.sh --no-suite dpdk
	stage sanitize-runtime ./scripts/sanitize.sh cluster net kvstore auth
	stage fuzz-smoke ./scripts/fuzz.sh --smoke
	stage model bash model/check.sh --quick
fi
# The failures again at the end, where a truncated log still shows them.
if [ "$failed" -ne 0 ]; then
	python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    if t["result"] not in ("OK", "EXPECTEDFAIL", "SKIP"):
        print(f'== {t["name"]}: {t["result"]}, its last lines:')
        print("\n".join(((t.get("stdout") or "") + (t.get("stderr") or "")).splitlines()[-25:]))
PY
	echo "failed: ${failed_names# }"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
