#!/usr/bin/env bash
# Runs the spin model of the mmp3 protocol (model/mmp3.pml) in bounded
# configurations and checks that each one meets its expectation.
#
# Usage: bash model/check.sh [--quick|--full] [-j N] [--keep DIR] [NAME...]
#   --quick   the CI set (default): exhaustive runs, about 3-4 minutes
#   --full    the quick set, then larger bounds (bitstate search), ~25-35 min
#   -j N      run N configurations at once (default: the number of CPUs,
#             at most 4); results are printed in order at the end
#   --keep    keep the generated verifiers, logs and counterexample trails
#             (trail.txt: the trail replayed as a narration) in DIR
#   NAME...   run only the named configurations
#
# One line per configuration:
#   model <name>: <states> states, <errors> errors, <seconds> s, PASS|FAIL
# A "safe" configuration passes when the search completes without an error.
# A "teeth" configuration is a deliberately broken variant: it passes when
# spin finds the counterexample it must find (and the replayed trail reports
# the expected violation).  Exit status 0 only if every configuration passed.
# Installs nothing: needs spin and gcc on PATH.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
model=$here/mmp3.pml
mode=quick
keep=
jobs_max=$(nproc 2>/dev/null || echo 1)
[ "$jobs_max" -gt 4 ] && jobs_max=4
only=()
while [ $# -gt 0 ]; do
	case $1 in
	--quick) mode=quick ;;
	--full) mode=full ;;
	--keep) keep=${2:?--keep needs a directory}; shift ;;
	-j) jobs_max=${2:?-j needs a number}; shift ;;
	-h|--help) sed -n '2,20p' "$0"; exit 0 ;;
	-*) echo "check.sh: unknown option $1" >&2; exit 2 ;;
	*) only+=("$1") ;;
	esac
	shift
done

for tool in spin gcc; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "check.sh: '$tool' not found on PATH; install it first (Debian: apt-get install $tool)" >&2
		exit 2
	fi
done

# name | expectation | spin defines | verifier compile flags | pan flags
#   expectation: safe, or teeth:<text the violation message must contain>
# Bounds: L0/L1/L2 slots per column, NB ballot numbers, NATT attempts
# beyond each owner's first one (retries and recoveries, all slots together).
# JOIN: replica JR (default 0) crashes once and rejoins without memory
# (PROTOCOL §12 J0-J3); its old incarnation's ballots use n <= JNB (default
# 1), the new one's n > JNB; INFL (default 1) is inflight_max.
# Compile flags: -O0/-O1 where the search is short (gcc -O2 on pan.c takes
# longer than the search itself); the last -O given to gcc wins.
quick_configs=(
	"base|safe|-DL0=1 -DL1=1 -DL2=1 -DNB=2 -DNATT=1|-DMEMLIM=2048|"
	"two-slots|safe|-DL0=1 -DL1=2 -DL2=0 -DNB=2 -DNATT=1|-DMEMLIM=2048|"
	"duel|safe|-DL0=1 -DL1=1 -DL2=0 -DNB=3 -DNATT=2|-DMEMLIM=2048|"
	"reuse-ballot|teeth:two different votes at one ballot|-DL0=1 -DL1=1 -DL2=1 -DNB=2 -DNATT=0 -DREUSE_BALLOT|-O0 -DMEMLIM=2048|"
	"reuse-ballot-lax|teeth:agreement|-DL0=1 -DL1=1 -DL2=0 -DNB=2 -DNATT=1 -DREUSE_BALLOT -DLAX|-O0 -DMEMLIM=2048|"
	"no-closure|teeth:§7|-DL0=1 -DL1=1 -DL2=1 -DNB=2 -DNATT=1 -DNO_CLOSURE|-O0 -DMEMLIM=2048|"
	"ack-at-commit|teeth:§8|-DL0=1 -DL1=2 -DL2=0 -DNB=2 -DNATT=0 -DACK_AT_COMMIT|-O0 -DMEMLIM=2048|"
	"commit-on-spot|teeth:agreement|-DL0=1 -DL1=1 -DL2=0 -DNB=3 -DNATT=3 -DCOMMIT_ON_SPOT|-O1 -DMEMLIM=2048|"
	# §12 J: restart without memory
	"join|safe|-DL0=1 -DL1=1 -DL2=0 -DNB=2 -DNATT=1 -DJOIN|-O1 -DMEMLIM=2048|"
	"join-own|safe|-DL0=2 -DL1=0 -DL2=0 -DNB=2 -DNATT=1 -DJOIN|-O1 -DMEMLIM=2048|"
	"join-gap|safe|-DL0=2 -DL1=0 -DL2=0 -DNB=2 -DNATT=1 -DJOIN -DJFROMH|-O1 -DMEMLIM=2048|"
	"join-nodrop|safe|-DL0=1 -DL1=1 -DL2=0 -DNB=2 -DNATT=1 -DJOIN -DJNODROP|-O1 -DMEMLIM=2048|"
	"join-votes-at-once|teeth:two different votes at one ballot|-DL0=1 -DL1=1 -DL2=0 -DNB=2 -DNATT=1 -DJOIN -DJVOTE|-O0 -DMEMLIM=2048|"
	"join-votes-at-once-lax|teeth:agreement|-DL0=1 -DL1=1 -DL2=0 -DNB=2 -DNATT=1 -DJOIN -DJVOTE -DLAX|-O0 -DMEMLIM=2048|"
	"join-self-recovery|teeth:agreement|-DL0=1 -DL1=1 -DL2=0 -DNB=2 -DNATT=1 -DJOIN -DJSELFREC|-O0 -DMEMLIM=2048|"
	"join-gap-nodrop|teeth:P1|-DL0=2 -DL1=0 -DL2=0 -DNB=2 -DNATT=1 -DJOIN -DJFROMH -DJNODROP|-O0 -DMEMLIM=2048|"
	# the engine's departures (docs/protocol.md §12): ballots ordered (n, inc,
	# replica) (JNFIRST; NB=4 is n = 1, 2 for each incarnation) and each peer's
	# own J3 floor set at JOIN (JPEERL)
	"join-engine|safe|-DL0=1 -DL1=1 -DL2=0 -DNB=4 -DNATT=1 -DJOIN -DJNFIRST -DJPEERL|-O1 -DMEMLIM=2048|"
	"join-engine-own|safe|-DL0=2 -DL1=0 -DL2=0 -DNB=4 -DNATT=1 -DJOIN -DJNFIRST -DJPEERL|-O1 -DMEMLIM=2048|"
	"join-engine-votes-at-once|teeth:two different votes at one ballot|-DL0=1 -DL1=1 -DL2=0 -DNB=4 -DNATT=1 -DJOIN -DJNFIRST -DJPEERL -DJVOTE|-O0 -DMEMLIM=2048|"
	"join-engine-self-recovery|teeth:agreement|-DL0=1 -DL1=1 -DL2=0 -DNB=4 -DNATT=1 -DJOIN -DJNFIRST -DJPEERL -DJSELFREC|-O0 -DMEMLIM=2048|"
	# §12 S4 (this project's): the owner's first attempt leaves before its
	# record is durable; replica LR (2) restarts from its disk without the
	# first attempts it had not synced (LAZY), assuming their promises
	"lazy|safe|-DL0=0 -DL1=1 -DL2=1 -DNB=4 -DNATT=2 -DLAZY|-O1 -DMEMLIM=2048|"
	"lazy-no-floor|teeth:agreement|-DL0=0 -DL1=1 -DL2=1 -DNB=4 -DNATT=2 -DLAZY -DLNOFLOOR|-O0 -DMEMLIM=2048|"
)
# Larger bounds: bitstate (supertrace) search in a 1 GiB bit array; a clean
# run is then a very thorough but not exhaustive search.
full_configs=(
	"base-2att|safe|-DL0=1 -DL1=1 -DL2=1 -DNB=2 -DNATT=2|-DBITSTATE|-w33"
	"stop|safe|-DL0=1 -DL1=1 -DL2=1 -DNB=2 -DNATT=1 -DSTOP|-DBITSTATE|-w33"
	"two-slots-2att|safe|-DL0=1 -DL1=2 -DL2=0 -DNB=2 -DNATT=2|-DBITSTATE|-w33"
	"four-slots|safe|-DL0=2 -DL1=1 -DL2=1 -DNB=2 -DNATT=1|-DBITSTATE|-w33"
	"duel-3att|safe|-DL0=1 -DL1=1 -DL2=0 -DNB=3 -DNATT=3|-DBITSTATE|-w33"
	"commit-on-spot-1col|safe|-DL0=1 -DL1=0 -DL2=0 -DNB=4 -DNATT=6 -DCOMMIT_ON_SPOT|-DMEMLIM=2048|"
	"commit-on-spot-3col|teeth:agreement|-DL0=1 -DL1=1 -DL2=1 -DNB=3 -DNATT=3 -DCOMMIT_ON_SPOT|-DBITSTATE|-w33"
	# §12 J, larger bounds
	"join-acceptor|safe|-DL0=1 -DL1=1 -DL2=0 -DNB=2 -DNATT=1 -DJOIN -DJR=2|-DMEMLIM=2048|"
	"join-two-cols|safe|-DL0=2 -DL1=1 -DL2=0 -DNB=2 -DNATT=0 -DJOIN|-DMEMLIM=2048|"
	"join-own-duel|safe|-DL0=2 -DL1=0 -DL2=0 -DNB=3 -DNATT=2 -DJOIN|-DMEMLIM=2048|"
	"join-gap-2col|safe|-DL0=2 -DL1=1 -DL2=0 -DNB=2 -DNATT=0 -DJOIN -DJFROMH|-DMEMLIM=2048|"
	"join-gap-duel|safe|-DL0=2 -DL1=0 -DL2=0 -DNB=3 -DNATT=2 -DJOIN -DJFROMH|-DMEMLIM=2048|"
	"join-nodrop-2col|safe|-DL0=2 -DL1=1 -DL2=0 -DNB=2 -DNATT=0 -DJOIN -DJNODROP|-DMEMLIM=2048|"
	"join-nodrop-duel|safe|-DL0=2 -DL1=0 -DL2=0 -DNB=3 -DNATT=2 -DJOIN -DJNODROP|-DMEMLIM=2048|"
	"join-gap-nodrop-2col|teeth:§7 premise|-DL0=2 -DL1=1 -DL2=0 -DNB=2 -DNATT=0 -DJOIN -DJFROMH -DJNODROP|-DMEMLIM=2048|"
	"join-engine-gap|safe|-DL0=1 -DL1=1 -DL2=0 -DNB=4 -DNATT=1 -DJOIN -DJNFIRST -DJPEERL -DJFROMH|-DMEMLIM=2048|"
	"join-engine-gap-own|safe|-DL0=2 -DL1=0 -DL2=0 -DNB=4 -DNATT=1 -DJOIN -DJNFIRST -DJPEERL -DJFROMH|-DMEMLIM=2048|"
	"join-engine-nodrop|safe|-DL0=1 -DL1=1 -DL2=0 -DNB=4 -DNATT=1 -DJOIN -DJNFIRST -DJPEERL -DJNODROP|-DMEMLIM=2048|"
	"join-engine-nodrop-own|safe|-DL0=2 -DL1=0 -DL2=0 -DNB=4 -DNATT=1 -DJOIN -DJNFIRST -DJPEERL -DJNODROP|-DMEMLIM=2048|"
	"lazy-own|safe|-DL0=0 -DL1=1 -DL2=2 -DNB=4 -DNATT=1 -DLAZY|-DBITSTATE|-w33"
	"lazy-window-2|safe|-DL0=0 -DL1=1 -DL2=2 -DNB=4 -DNATT=1 -DLAZY -DINFL=2|-DBITSTATE|-w33"
	"join-engine-gap-nodrop|teeth:P1|-DL0=2 -DL1=0 -DL2=0 -DNB=4 -DNATT=1 -DJOIN -DJNFIRST -DJPEERL -DJFROMH -DJNODROP|-O0 -DMEMLIM=2048|"
)

configs=("${quick_configs[@]}")
if [ "$mode" = full ]; then
	configs+=("${full_configs[@]}")
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mmp3-model.XXXXXX")
if [ -n "$keep" ]; then
	mkdir -p "$keep"
else
	trap 'rm -rf "$work"' EXIT
fi

run_config() {
	local cfg=$1 name expect defs cflags panflags d verdict states errors secs note
	local start end incomplete want found
	IFS='|' read -r name expect defs cflags panflags <<<"$cfg"
	d=$work/$name
	mkdir -p "$d"
	cp "$model" "$d/mmp3.pml"
	verdict=FAIL
	states=0
	errors=0
	secs=0
	note=
	# shellcheck disable=SC2086
	if ! (cd "$d" && spin $defs -a mmp3.pml >spin.log 2>&1); then
		note="spin could not generate the verifier (see spin.log)"
	elif ! (cd "$d" && gcc -O2 -w -DSAFETY $cflags -o pan pan.c >gcc.log 2>&1); then
		note="the verifier did not compile (see gcc.log)"
	else
		start=$(date +%s.%N)
		# shellcheck disable=SC2086
		(cd "$d" && ./pan -m100000 -E -c1 $panflags >pan.log 2>&1) || true
		end=$(date +%s.%N)
		secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
		states=$(awk '/states, stored/ { print $1; exit }' "$d/pan.log")
		states=${states:-0}
		errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$d/pan.log" | head -n 1)
		errors=${errors:-0}
		incomplete=
		if grep -q 'max search depth too small' "$d/pan.log"; then
			incomplete="search depth bound reached"
		elif grep -qiE 'out of memory|reached -DMEMLIM|Search not completed' "$d/pan.log"; then
			incomplete="memory bound reached"
		fi
		case $expect in
		safe)
			if [ "$errors" -eq 0 ] && [ -z "$incomplete" ] && grep -q 'states, stored' "$d/pan.log"; then
				verdict=PASS
			elif [ "$errors" -ne 0 ]; then
				(cd "$d" && spin $defs -t mmp3.pml >trail.txt 2>&1) || true
				note="unexpected: $(grep -m1 VIOLATION "$d/trail.txt" || echo 'assertion violated')"
			else
				note="incomplete: ${incomplete:-no statistics}"
			fi
			;;
		teeth:*)
			want=${expect#teeth:}
			if [ "$errors" -ne 0 ] && [ -f "$d/mmp3.pml.trail" ]; then
				# shellcheck disable=SC2086
				(cd "$d" && spin $defs -t mmp3.pml >trail.txt 2>&1) || true
				found=$(grep -m1 VIOLATION "$d/trail.txt" || true)
				if printf '%s' "$found" | grep -qF "$want"; then
					verdict=PASS
				else
					note="found a different violation: ${found:-none reported}"
				fi
			else
				note="no counterexample found${incomplete:+ ($incomplete)}"
			fi
			;;
		esac
	fi
	{
		echo "model $name: $states states, $errors errors, $secs s, $verdict"
		if [ -n "$note" ]; then
			echo "  $name: $note"
		fi
	} >"$work/$name.out"
	echo "$verdict" >"$work/$name.verdict"
	if [ -n "$keep" ]; then
		rm -rf "${keep:?}/$name"
		cp -r "$d" "$keep/$name"
		rm -f "$keep/$name/pan" "$keep/$name"/pan.[bchmpt]
	fi
	rm -rf "$d"
}

failed=0
names=()
for cfg in "${configs[@]}"; do
	IFS='|' read -r name _ <<<"$cfg"
	if [ ${#only[@]} -gt 0 ]; then
		case " ${only[*]} " in *" $name "*) ;; *) continue ;; esac
	fi
	names+=("$name")
	while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
		wait -n || true
	done
	run_config "$cfg" &
done
wait
ran=${#names[@]}
for name in "${names[@]}"; do
	cat "$work/$name.out" 2>/dev/null || echo "model $name: no result, FAIL"
	if [ "$(cat "$work/$name.verdict" 2>/dev/null)" != PASS ]; then
		failed=$((failed + 1))
	fi
done

if [ "$ran" -eq 0 ]; then
	echo "check.sh: no configuration matched: ${only[*]}" >&2
	exit 2
fi
if [ "$failed" -ne 0 ]; then
	echo "check.sh: $failed of $ran configurations failed" >&2
	exit 1
fi
exit 0
