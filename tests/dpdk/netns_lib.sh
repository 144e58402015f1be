# Shared by the multi-process tests over network namespaces (sourced after
# `set -uo pipefail`, with $here the source root and $check history-check).

# netns_test_setup <test name> <prefix>: $tmp, namespaces <prefix>0..2 (up),
# $pids killed, the namespaces and $tmp removed at exit; exit 77 without root.
netns_test_setup() {
	tmp=$(mktemp -d)
	export TR_NETNS=$2
	pids=()
	fail=0
	peers=02:00:00:00:00:00@10.0.0.1,02:00:00:00:00:01@10.0.0.2,02:00:00:00:00:02@10.0.0.3
	trap netns_test_cleanup EXIT
	if [ "$(id -u)" -ne 0 ]; then
		echo "$1: needs root for network namespaces"; exit 77
	fi
	"$here/scripts/netns.sh" down
	"$here/scripts/netns.sh" up || { echo "FAIL: cannot create namespaces"; exit 1; }
}

netns_test_cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	"$here/scripts/netns.sh" down
	rm -rf "$tmp" /var/run/dpdk/"${TR_NETNS}"p*
}

field() { # field <name> <json file> [the replica's index in it, default 0]
	grep -o "\"$1\":[^,}]*" "$2" | sed -n "$((${3:-0} + 1))p" | cut -d: -f2 | tr -d '"'
}

# ops in the stats lines of <err file> between seconds <from> and <to>
ops_between() {
	awk -v a="$2" -v b="$3" '/^\[ *[0-9.]+s\]/ { t = substr($1, 2) + 0;
		if ($1 == "[") t = $2 + 0; if (t > a && t <= b) s += $(($1 == "[") ? 3 : 2) }
		END { print s + 0 }' "$1"
}

histories() { # histories <phase> <names...>: $tmp/<name>.jsonl check as one history
	local phase=$1 files=() out
	shift
	for n in "$@"; do files+=("$tmp/$n.jsonl"); done
	if out=$("$check" "${files[@]}" 2>&1); then
		echo "$phase histories: $(tail -1 <<<"$out")"
	else
		echo "FAIL: $phase histories: $(tail -3 <<<"$out")"; fail=1
	fi
}
