#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer,
# in its own build directory (default build-asan): sets it up if missing,
# builds, runs `meson test`, then fails on any sanitizer report in the test
# output as well, since not every report makes a test fail on its own:
# LeakSanitizer's reports from Criterion's worker processes do not change
# the test's result.
# Usage: scripts/sanitize.sh [meson test arguments, e.g. --suite unit]
# Environment: SANITIZE_BUILD_DIR, ASAN_OPTIONS, UBSAN_OPTIONS, LSAN_OPTIONS
# (default: the suppressions in scripts/lsan.supp, if it lists any).
# Ends with "sanitize: N passed, N failed"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${SANITIZE_BUILD_DIR:-build-asan}
want=address,undefined
opts=("-Db_sanitize=$want" -Db_lundef=false
	"-Dc_args=-fno-sanitize-recover=undefined -fno-omit-frame-pointer")
# jemalloc replaces malloc, which hides allocations from ASan.
if grep -q "option('jemalloc'" meson_options.txt 2> /dev/null; then
	opts+=(-Djemalloc=false)
fi

if [ ! -f "$dir/build.ninja" ]; then
	meson setup "$dir" "${opts[@]}"
else
	have=$(meson introspect "$dir" --buildoptions |
		python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "b_sanitize"))')
	if [ "$have" != "$want" ]; then
		echo "sanitize: $dir had b_sanitize=$have; reconfiguring" >&2
		meson configure "$dir" "${opts[@]}"
	fi
fi
ninja -C "$dir"

# Compiled in: UBSan aborts on its first report (-fno-sanitize-recover); these
# also cover binaries built without it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:print_summary=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:print_summary=1}
# Known leaks being worked on, one "leak:FUNCTION" a line (# comments).
if [ -z "${LSAN_OPTIONS:-}" ] && grep -q '^leak:' scripts/lsan.supp 2> /dev/null; then
	export LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp:print_suppressions=0
fi

status=0
meson test -C "$dir" --print-errorlogs --num-processes 2 "$@" || status=$?

python3 - "$dir/meson-logs/testlog.json" <<'PY' || status=1
import json, re, sys
report = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer)"
                    r"|runtime error: ")
passed = failed = skipped = 0
dirty = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    out = (r.get("stdout") or "") + (r.get("stderr") or "")
    hits = [l for l in out.splitlines() if report.search(l)]
    ok = r["result"] in ("OK", "EXPECTEDFAIL")
    if r["result"] == "SKIP":
        skipped += 1
    elif ok and not hits:
        passed += 1
    else:
        failed += 1
    if hits:
        dirty.append((r["name"], hits[0].strip()))
for name, first in dirty:
    print(f"sanitize: {name}: sanitizer report: {first}", file=sys.stderr)
print(f"sanitize: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
PY
exit $status
