#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, ASan and UBSan, regenerates
# the seed corpus and runs each target.
#
# Usage: scripts/fuzz.sh [--smoke | --long SECONDS] [TARGET...]
#   --smoke          (default) each target for FUZZ_SMOKE_SECONDS (30) s, one
#                    process, stops at the first crash: for CI.
#   --long SECONDS   each target for SECONDS in fork mode with one worker,
#                    going on after crashes to collect them all.
#   TARGET           wire, engine (default: both).
# Environment: CLANG (default clang, else clang-14), FUZZ_BUILD_DIR (default
# build-fuzz), FUZZ_SMOKE_SECONDS, FUZZ_CFLAGS (extra flags for the targets).
#
# Prints one line per target:
#   fuzz <target>: <execs> execs, <cov> cov, <findings> crashes, PASS|FAIL
# then, for a failure, the reproducers (BUILD/artifacts/<target>/) and how to
# replay them. Exits 1 if any target found a crash (or failed to run), 2 on a
# build problem.
# The working corpus (BUILD/corpus/<target>) grows across runs; the seed
# corpus fuzz/corpus/<target> is only written by fuzz/gen_corpus.c.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mode=smoke
seconds=${FUZZ_SMOKE_SECONDS:-30}
targets=()

while [ $# -gt 0 ]; do
	case $1 in
	--smoke) mode=smoke; shift ;;
	--long)
		mode=long
		seconds=${2:?--long needs SECONDS}
		shift 2 ;;
	-h | --help)
		sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
		exit 0 ;;
	wire | engine) targets+=("$1"); shift ;;
	*) echo "fuzz.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done
[ ${#targets[@]} -gt 0 ] || targets=(wire engine)
case $seconds in
'' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number" >&2; exit 2 ;;
esac

clang=${CLANG:-}
if [ -z "$clang" ]; then
	for c in clang clang-14; do
		if command -v "$c" > /dev/null 2>&1; then clang=$c; break; fi
	done
fi
if [ -z "$clang" ]; then
	echo "fuzz.sh: clang not found (Debian 12: apt-get install clang-14 libclang-rt-14-dev llvm-14)" >&2
	exit 2
fi

build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
case $build in /*) ;; *) build=$root/$build ;; esac
obj=$build/obj
mkdir -p "$obj"

# Warnings as the project has them; UBSan aborts on the first report.
cflags=(-std=c11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Werror
	-Wno-missing-field-initializers -Wshadow -Wstrict-prototypes -Wvla
	-fno-sanitize-recover=undefined -I"$root/engine" -I"$root/fuzz")
# shellcheck disable=SC2206
extra=(${FUZZ_CFLAGS:-})
san=address,undefined

if ! echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n); int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' |
	"$clang" -x c -fsanitize=fuzzer,$san - -o "$obj/probe" > "$obj/probe.log" 2>&1; then
	cat "$obj/probe.log" >&2
	echo "fuzz.sh: $clang cannot build a libFuzzer target (Debian 12: apt-get install clang-14 libclang-rt-14-dev llvm-14)" >&2
	exit 2
fi

echo "fuzz.sh: building with $("$clang" --version | head -1) into $build" >&2
# The engine: instrumented for coverage. The harnesses: sanitized but not
# instrumented, so the coverage counted is the engine's alone.
engine_objs=()
for src in "$root"/engine/*.c; do
	o=$obj/engine_$(basename "$src" .c).o
	"$clang" "${cflags[@]}" "${extra[@]}" -fsanitize=fuzzer-no-link,$san -c "$src" -o "$o" || exit 2
	engine_objs+=("$o")
done
for t in "${targets[@]}"; do
	"$clang" "${cflags[@]}" "${extra[@]}" -fsanitize=$san -c "$root/fuzz/fuzz_$t.c" -o "$obj/fuzz_$t.o" || exit 2
	"$clang" -fsanitize=fuzzer,$san "$obj/fuzz_$t.o" "${engine_objs[@]}" -o "$build/fuzz_$t" || exit 2
done

# The seed corpus, regenerated (it is committed: a diff means the generator
# changed and the new seeds should be committed with it).
"$clang" "${cflags[@]}" "$root/fuzz/gen_corpus.c" "$root"/engine/*.c -o "$build/gen_corpus" || exit 2
mkdir -p "$root/fuzz/corpus/wire" "$root/fuzz/corpus/engine"
"$build/gen_corpus" "$root/fuzz/corpus" || exit 2

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && ! command -v llvm-symbolizer > /dev/null 2>&1 &&
	[ -x /usr/lib/llvm-14/bin/llvm-symbolizer ]; then
	export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
fi

# Where a crash happened, to tell findings apart: the harness check that
# failed, else the first engine frame, else the first frame in fuzz/.
signature() {
	local out sig
	out=$("$1" "$2" 2>&1 || true)
	sig=$(printf '%s\n' "$out" | grep -oE 'invariant failed at [^ ]+' | head -1 |
		sed -E 's@at /[^ ]*/fuzz/@at fuzz/@; s/:$//')
	[ -n "$sig" ] || sig=$(printf '%s\n' "$out" | grep -E '^ *#[0-9]+ .* in [A-Za-z_].*/engine/' |
		head -1 | sed -E 's/^ *#[0-9]+ 0x[0-9a-f]+ in //; s@ /[^ ]*/engine/@ engine/@')
	[ -n "$sig" ] || sig=$(printf '%s\n' "$out" | grep -E '^ *#[0-9]+ .* in [A-Za-z_].*/fuzz/' |
		head -1 | sed -E 's/^ *#[0-9]+ 0x[0-9a-f]+ in //; s@ /[^ ]*/fuzz/@ fuzz/@')
	printf '%s\n' "$sig"
}

status=0
summary=()
for t in "${targets[@]}"; do
	bin=$build/fuzz_$t
	work=$build/corpus/$t
	# Another FUZZ_CFLAGS, another harness: its corpus is kept apart.
	[ -z "${extra[*]}" ] || work=$work-$(printf '%s' "${extra[*]}" | md5sum | cut -c1-8)
	art=$build/artifacts/$t
	log=$build/fuzz_$t.log
	mkdir -p "$work" "$art"
	rm -f "$art"/crash-* "$art"/leak-* "$art"/timeout-* "$art"/oom-*
	common=(-print_final_stats=1 -timeout=25 -rss_limit_mb=2048 -artifact_prefix="$art/"
		-max_total_time="$seconds")
	set +e
	if [ "$mode" = smoke ]; then
		"$bin" "${common[@]}" "$work" "$root/fuzz/corpus/$t" > "$log" 2>&1
	else
		"$bin" "${common[@]}" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
			"$work" "$root/fuzz/corpus/$t" > "$log" 2>&1
	fi
	rc=$?
	set -e
	execs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || true)
	if [ -z "$execs" ]; then # fork mode, or a crash before the stats
		execs=$(grep -oE '^#[0-9]+' "$log" | tr -d '#' | tail -1 || true)
	fi
	if [ "$mode" = smoke ]; then
		cov=$(grep -oE 'cov: [0-9]+' "$log" | grep -oE '[0-9]+' | tail -1 || true)
	else
		# Fork mode counts coverage its own way: replay the corpus for the
		# number a smoke run would print.
		cov=$("$bin" -runs=0 -artifact_prefix="$build/replay-" "$work" "$root/fuzz/corpus/$t" 2>&1 |
			grep -oE 'DONE +cov: [0-9]+' | grep -oE '[0-9]+' | tail -1 || true)
		rm -f "$build"/replay-*
		[ -n "$cov" ] || cov=$(grep -oE 'cov: [0-9]+' "$log" | grep -oE '[0-9]+' | tail -1 || true)
	fi
	findings=$(find "$art" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
	verdict=PASS
	if [ "$findings" -gt 0 ] || { [ "$rc" -ne 0 ] && [ "$mode" = smoke ]; }; then
		verdict=FAIL
		status=1
	fi
	line="fuzz $t: ${execs:-0} execs, ${cov:-0} cov, $findings crashes, $verdict"
	echo "$line"
	summary+=("$line")
	if [ "$verdict" = FAIL ]; then
		[ "$findings" -gt 0 ] || echo "  exit code $rc without an artifact; see $log" >&2
		declare -A seen=()
		for f in "$art"/*; do
			[ -f "$f" ] || continue
			sig=$(signature "$bin" "$f")
			if [ -z "${seen[x$sig]:-}" ]; then
				seen[x$sig]=1
				echo "  reproducer: $f" >&2
				echo "    at: ${sig:-unknown}" >&2
			fi
		done
		echo "  distinct: ${#seen[@]}; replay: $bin FILE (FUZZ_TRACE=1 prints the events, engine)" >&2
		echo "  log: $log" >&2
		unset seen
	fi
done
exit $status
