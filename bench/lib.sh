# SPDX-License-Identifier: MIT
# Sourced by the bench scripts that write a results directory.
#
# bench_init "$@" (before the script parses its options) sets command_line
# (the command as typed, for machine.txt), started_in (the directory the
# script was started from) and repo (the repository's top).
bench_init() {
	command_line=$(printf '%q ' "$0" "$@")
	command_line=${command_line% }
	started_in=$PWD
	repo=$(cd "$(dirname "$0")/.." && pwd)
}

# bench_out_dir DIR: DIR, taken relative to started_in unless absolute;
# empty (a usage error for the caller) when DIR is empty.
bench_out_dir() {
	case $1 in
	'') ;;
	/*) printf '%s\n' "$1" ;;
	*) printf '%s\n' "$started_in/$1" ;;
	esac
}
