#!/usr/bin/env bash
# trireme-sim --history FILE --seed S: the file it writes (and the local
# reads' file) pass history-check, the project's validator and checker of
# HISTORY.md histories. Then history-check on version 2 (pending lines), on
# several files, on a file torn by a kill, and on files of processes whose
# values collide.
# Usage: test_history_cli.sh TRIREME_SIM HISTORY_CHECK OUT_DIR
set -euo pipefail
sim=$1
check=$2
dir=$3
mkdir -p "$dir"
rm -f "$dir"/*.jsonl
fail() {
	echo "$*" >&2
	exit 1
}
"$sim" --seed 11 --ops 2000 --loss 0.2 --dup 0.05 --crash 1 --read-ratio 0.5 \
	--read-mode mix --retry 0.1 --history "$dir/h.jsonl" --history-local "$dir/h-local.jsonl"
"$check" "$dir/h.jsonl"
"$check" --local "$dir/h-local.jsonl"
# A local read in the checked history is refused.
if "$check" "$dir/h-local.jsonl" 2>/dev/null; then
	fail "history-check accepted local reads in a checked history"
fi
# A history needs a single run.
if "$sim" --seeds 2 --history "$dir/x.jsonl" 2>/dev/null; then
	fail "trireme-sim --history accepted several seeds"
fi

# Version 2: the pending line of every completed operation (those of unknown
# outcome already are one), in a file of its own or before the complete
# lines: the same operations.
ops() { sed -n 's/.* \([0-9]*\) operations (\([0-9]*\) of unknown.*/\1 \2/p'; }
want=$("$check" "$dir/h.jsonl" | ops)
grep -v '"ret": null' "$dir/h.jsonl" |
	sed -E 's/"ret": [0-9]+, "ok": (true|false)(, "out": ("[^"]*"|null))?/"ret": null, "ok": false/' \
	>"$dir/pending.jsonl"
grep -q '"ret": null, "ok": false' "$dir/pending.jsonl" || fail "no pending lines made"
! grep -q '"ret": [0-9]' "$dir/pending.jsonl" || fail "a complete line left among the pending"
got=$("$check" "$dir/pending.jsonl" "$dir/h.jsonl" | ops)
[ "$got" = "$want" ] || fail "pending + complete files: $got operations, want $want"
cat "$dir/pending.jsonl" "$dir/h.jsonl" >"$dir/v2.jsonl"
got=$("$check" "$dir/v2.jsonl" | ops)
[ "$got" = "$want" ] || fail "pending + complete concatenated: $got operations, want $want"
# Without their completions every operation is of unknown outcome.
got=$("$check" "$dir/pending.jsonl" | ops)
[ "${got#* }" = "${got% *}" ] || fail "pending lines alone: $got, want every one unknown"

# A writer killed mid-line: the torn last line is ignored with a warning...
head -c -25 "$dir/pending.jsonl" >"$dir/torn.jsonl"
"$check" "$dir/torn.jsonl" 2>"$dir/torn.err" | grep -q '1 torn last line ignored' ||
	fail "a torn last line refused"
grep -q 'torn.jsonl:[0-9]*: warning: torn last line ignored' "$dir/torn.err" ||
	fail "no warning for a torn last line"
"$check" "$dir/torn.jsonl" "$dir/h-local.jsonl" 2>/dev/null && fail "local reads accepted"
"$check" "$dir/torn.jsonl" "$dir/h.jsonl" >/dev/null 2>&1 ||
	fail "a torn last line refused before another file"
# ... but not when it runs into the next file's first line, or ends with a newline.
cat "$dir/torn.jsonl" "$dir/h.jsonl" >"$dir/torn-cat.jsonl"
if "$check" "$dir/torn-cat.jsonl" 2>"$dir/err"; then
	fail "a torn line inside a file accepted"
fi
grep -q 'torn-cat.jsonl:[0-9]*: ' "$dir/err" || fail "no line number: $(cat "$dir/err")"
{ cat "$dir/torn.jsonl"; echo; } >"$dir/torn-nl.jsonl"
if "$check" "$dir/torn-nl.jsonl" 2>/dev/null; then
	fail "a malformed last line with its newline accepted"
fi

# Two processes' files: client ids may overlap (they only name operations);
# values may not. Each numbering its clients from 0 with values
# "<client>.<seq>:" (the launcher before version 2) writes the same values.
proc() { # client value key call ret
	printf '{"client": %s, "op": "set", "key": "%s", "value": "%s", "call": %s, "ret": null, "ok": false}\n' \
		"$1" "$3" "$2" "$4"
	printf '{"client": %s, "op": "set", "key": "%s", "value": "%s", "call": %s, "ret": %s, "ok": true}\n' \
		"$1" "$3" "$2" "$4" "$5"
}
proc 0 0.0:x k1 100 200 >"$dir/p0.jsonl"
proc 0 0.0:x k2 150 250 >"$dir/p1.jsonl"
if "$check" "$dir/p0.jsonl" "$dir/p1.jsonl" 2>"$dir/err"; then
	fail "two processes' equal values accepted"
fi
grep -q 'value 0.0:x written twice' "$dir/err" || fail "$(cat "$dir/err")"
proc 0 1.0:x k2 150 250 >"$dir/p1.jsonl"
"$check" "$dir/p0.jsonl" "$dir/p1.jsonl" >/dev/null || fail "overlapping client ids refused"
# Exit status 2: an unreadable file, among good ones.
rc=0
"$check" "$dir/p0.jsonl" "$dir/missing.jsonl" 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "an unreadable file: exit status $rc, want 2"
echo "history ok"
