/* SPDX-License-Identifier: MIT
 * Options of the trireme launcher (see options.h). Every value is checked;
 * a bad one gets one line saying what is wrong and what to do.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

enum {
	OPT_HELP = 'h',
	OPT_INTERACTIVE = 'i',
	OPT_CLUSTER = 256,
	OPT_REPLICA_ID,
	OPT_PEERS,
	OPT_PORT,
	OPT_UDP_PORT_BASE,
	OPT_MTU,
	OPT_PEER_TIMEOUT,
	OPT_DURATION,
	OPT_WINDOW,
	OPT_KEYS,
	OPT_VALUE_SIZE,
	OPT_READ_RATIO,
	OPT_READ_MODE,
	OPT_HISTORY,
	OPT_APPLIER_THREADS,
	OPT_LOSS,
	OPT_WRITERS,
	OPT_BATCH,
	OPT_INFLIGHT,
	OPT_SEED,
	OPT_JSON,
	OPT_STATS_INTERVAL,
	OPT_QUIET,
	OPT_FAULT,
	OPT_LOG_SLOTS,
	OPT_CLUSTER_STATE,
	OPT_LINGER,
	OPT_DATA_DIR,
	OPT_SYNC,
	OPT_CLUSTER_ID,
	OPT_AUTH_KEY,
	OPT_SERVE_CLIENTS,
	OPT_IDLE,
};

static const char short_options[] = ":hi";

static const struct option long_options[] = {
	{"cluster", no_argument, NULL, OPT_CLUSTER},
	{"replica-id", required_argument, NULL, OPT_REPLICA_ID},
	{"peers", required_argument, NULL, OPT_PEERS},
	{"port", required_argument, NULL, OPT_PORT},
	{"udp-port-base", required_argument, NULL, OPT_UDP_PORT_BASE},
	{"mtu", required_argument, NULL, OPT_MTU},
	{"peer-timeout", required_argument, NULL, OPT_PEER_TIMEOUT},
	{"duration", required_argument, NULL, OPT_DURATION},
	{"window", required_argument, NULL, OPT_WINDOW},
	{"keys", required_argument, NULL, OPT_KEYS},
	{"value-size", required_argument, NULL, OPT_VALUE_SIZE},
	{"read-ratio", required_argument, NULL, OPT_READ_RATIO},
	{"read-mode", required_argument, NULL, OPT_READ_MODE},
	{"history", required_argument, NULL, OPT_HISTORY},
	{"applier-threads", no_argument, NULL, OPT_APPLIER_THREADS},
	{"idle", required_argument, NULL, OPT_IDLE},
	{"loss", required_argument, NULL, OPT_LOSS},
	{"writers", required_argument, NULL, OPT_WRITERS},
	{"batch", required_argument, NULL, OPT_BATCH},
	{"inflight", required_argument, NULL, OPT_INFLIGHT},
	{"seed", required_argument, NULL, OPT_SEED},
	{"json", no_argument, NULL, OPT_JSON},
	{"stats-interval", required_argument, NULL, OPT_STATS_INTERVAL},
	{"interactive", no_argument, NULL, OPT_INTERACTIVE},
	{"quiet", no_argument, NULL, OPT_QUIET},
	{"fault", required_argument, NULL, OPT_FAULT},
	{"log-slots", required_argument, NULL, OPT_LOG_SLOTS},
	{"cluster-state", required_argument, NULL, OPT_CLUSTER_STATE},
	{"linger", required_argument, NULL, OPT_LINGER},
	{"data-dir", required_argument, NULL, OPT_DATA_DIR},
	{"sync", required_argument, NULL, OPT_SYNC},
	{"cluster-id", required_argument, NULL, OPT_CLUSTER_ID},
	{"auth-key", required_argument, NULL, OPT_AUTH_KEY},
	{"serve-clients", required_argument, NULL, OPT_SERVE_CLIENTS},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

void
opts_usage(FILE *f)
{
	fprintf(f,
		"usage: trireme <EAL args> -- [options]\n"
		"Runs Trireme replicas with a closed-loop key/value load and prints its stats.\n"
		"\n"
		"Mode:\n"
		"  --cluster             all 3 replicas in this process over net_ring ports it\n"
		"                        creates itself; no NIC, no hugepages (the default)\n"
		"  --replica-id N        run replica N (0..2) of a cluster of 3 processes, over\n"
		"                        DPDK port --port (a NIC, or af_packet / memif vdevs)\n"
		"  --peers M@I,M@I,M@I   with --replica-id: the MAC@IPv4 of replicas 0, 1, 2,\n"
		"                        ours included, e.g. 02:00:00:00:00:01@10.0.0.1\n"
		"  --port N              DPDK port id of the replica (default 0)\n"
		"  --udp-port-base N     UDP port of column 0; column c uses N + c\n"
		"                        (default: the runtime's)\n"
		"  --mtu N               IP MTU of the replicas' packets, 576..9000 (default\n"
		"                        1500); it bounds a batch and the largest value of\n"
		"                        one packet (larger ones go as parts)\n"
		"  --peer-timeout S      with --replica-id: give up when nothing was heard from\n"
		"                        any peer after S seconds (default 10, 0: never)\n"
		"\n"
		"Load (closed loop; replicas 0 .. writers-1 of this process get load):\n"
		"  --duration S          seconds of load (default 10; 0: until quit or SIGINT)\n"
		"  --window N            outstanding commands per loaded replica, 1..%u\n"
		"                        (default 32; ceil(N/64) clients of <= 64 each)\n"
		"  --keys N              key space: keys k0 .. k<N-1>, uniform (default 10000)\n"
		"  --value-size B        bytes per value, 1..%u (default 16); a value above\n"
		"                        one packet's (--mtu) goes as parts, taking its\n"
		"                        client's whole window (large values)\n"
		"  --read-ratio P        share of gets, 0..1 (default 0.25)\n"
		"  --read-mode M         how gets read: barrier (linearizable, no log slot;\n"
		"                        the default), log (linearizable, a read-only\n"
		"                        instance) or local (WEAKER: the replica's applied\n"
		"                        state, not linearizable)\n"
		"  --writers N           how many replicas get load, 0..3 (default 3)\n"
		"  --serve-clients N     serve N remote clients at once over UDP (trireme-load,\n"
		"                        include/trireme_proto.h), 1..1024: replica mode on\n"
		"                        port udp-port-base + 4 of the replica's address,\n"
		"                        --cluster on udp-port-base + 4 + replica (kernel\n"
		"                        sockets); default 0: none\n"
		"  --loss P              drop this fraction of packets on send and on receive\n"
		"                        of every local replica, 0..0.9 (default 0)\n"
		"  --seed N              seed of the load and of the engine (default 1)\n"
		"  --fault \"A R at T [for D]\"   at T s into the run, A = pause, resume,\n"
		"                        crash (stop and wipe its memory), restart (an\n"
		"                        amnesiac that joins; with --data-dir: from its\n"
		"                        directory), deaf (drop every frame it receives,\n"
		"                        while it goes on sending) or hear local replica\n"
		"                        R; \"for D\": the resume (pause), restart (crash)\n"
		"                        or hear (deaf) D s later;\n"
		"                        repeatable, e.g. --fault \"crash 1 at 2 for 4\"\n"
		"  --history FILE        write every operation of the load to FILE as a\n"
		"                        client history (HISTORY.md: JSON lines, one clock,\n"
		"                        unique values; local reads left out); values\n"
		"                        of at least %u bytes\n"
		"\n"
		"Engine:\n"
		"  --batch N             commands per instance, 1..%u (1: no batching;\n"
		"                        default: the runtime's)\n"
		"  --inflight N          uncommitted instances per owner, 1..1048576\n"
		"                        (default: the runtime's)\n"
		"  --applier-threads     run each replica's applier on a thread of its own\n"
		"                        instead of on the worker lcores\n"
		"  --idle P              what a polling thread does with no work: backoff\n"
		"                        (pause, yield, then sleep: shares the CPUs; the\n"
		"                        default), yield (pause, then yield; never sleeps)\n"
		"                        or poll (never gives up its CPU: dedicated cores)\n"
		"  --log-slots N         log ring per column, a power of two 16..2^24 (default:\n"
		"                        the runtime's); a replica further behind gets a\n"
		"                        snapshot\n"
		"  --cluster-state S     new (the default) or existing: start as an amnesiac\n"
		"                        that joins running peers (a replica restarted\n"
		"                        without its memory); it serves once caught up\n"
		"  --linger S            --replica-id: at the end, keep serving until every\n"
		"                        live peer has applied the same frontier for 0.5 s,\n"
		"                        at most S s (default 10), then print the digest\n"
		"  --auth-key FILE       a MAC on every frame between replicas under the\n"
		"                        32-byte key in FILE (raw, or 64 hex digits; every\n"
		"                        replica the same); frames without a valid one are\n"
		"                        dropped (drops_auth). Off by default\n"
		"\n"
		"Durability (docs/durability.md):\n"
		"  --data-dir DIR        keep each replica's log, snapshots and superblock in\n"
		"                        DIR (--cluster: DIR/r0, r1, r2) and restart from it;\n"
		"                        default: memory only\n"
		"  --sync M              how the log is made durable: fdatasync (the\n"
		"                        default), o_dsync, or none (UNSAFE against power\n"
		"                        loss: survives a process crash only; for tmpfs\n"
		"                        and benchmarks)\n"
		"  --cluster-id N        the cluster's id, 1..4294967295, the same in every\n"
		"                        process (default: the runtime's); a data directory\n"
		"                        of another cluster is refused\n"
		"\n"
		"Output:\n"
		"  --stats-interval S    seconds between stats lines on stderr, 0.1..3600\n"
		"                        (default 1)\n"
		"  --quiet               no stats lines\n"
		"  --json                at the end, one JSON object on stdout: ops, ops_per_s,\n"
		"                        p50_us, p99_us, p999_us (and read_p50_us, write_p50_us,\n"
		"                        ... for gets and writes alone), reads, writes, errors,\n"
		"                        replicas [{id, applied, kv_digest, ...}], digests_match\n"
		"  -i, --interactive     a prompt (trireme> ) instead of a timed run; the load\n"
		"                        starts with 'start load'; type 'help' for the commands\n"
		"  -h, --help            this text\n"
		"\n"
		"Interactive commands: set|get|getlocal|del <replica> <key> [value],\n"
		"  read-mode barrier|log|local, show stats, show replica <id>,\n"
		"  start load, stop load,\n"
		"  fault <replica> <drop_tx> <drop_rx>, pause|resume|crash|restart <replica>,\n"
		"  auth-key [accept] FILE, auth-key retire (with --auth-key: key rotation),\n"
		"  quit\n"
		"\n"
		"EAL args (before --), e.g. on a machine without hugepages or NIC:\n"
		"  --no-huge --no-pci -l 0-1    (the main lcore runs the load, the others\n"
		"                                the replicas)\n"
		"  --vdev=net_af_packet0,iface=veth0   a port for --replica-id\n"
		"\n"
		"Examples:\n"
		"  trireme --no-huge --no-pci -l 0-1 -- --cluster --duration 5 --json\n"
		"  trireme --no-huge --no-pci -l 0-1 --file-prefix r0 \\\n"
		"      --vdev=net_af_packet0,iface=veth0 -- --replica-id 0 \\\n"
		"      --peers 02:00:00:00:00:00@10.0.0.1,02:00:00:00:00:01@10.0.0.2,"
		"02:00:00:00:00:02@10.0.0.3\n"
		"\n"
		"SIGINT or SIGTERM stops the load and finishes as at the end of --duration\n"
		"(a second one skips the waits for completions and convergence).\n"
		"Exit status: 0 done, 1 the replicas did not converge, 2 bad arguments,\n"
		"3 the replicas could not start or run, 4 a replica stopped on a safety\n"
		"violation (stderr names the replica and the rule).\n",
		OPTS_WINDOW_MAX, TRIREME_LARGE_MAX, OPTS_HISTORY_VALUE_MIN, OPTS_BATCH_MAX);
}

static void
opts_default(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->cluster = true;
	o->peer_timeout_s = 10;
	o->duration_s = 10;
	o->window = 32;
	o->keys = 10000;
	o->value_size = 16;
	o->read_ratio = 0.25;
	o->writers = TRIREME_REPLICAS;
	o->seed = 1;
	o->stats_interval_s = 1;
	o->linger_s = 10;
}

static const char *const fault_names[] = {"",      "pause", "resume", "crash",
					  "restart", "deaf",  "hear"};

const char *
opts_fault_name(unsigned action)
{
	return action < sizeof(fault_names) / sizeof(fault_names[0]) ? fault_names[action] : "?";
}

/* "A R at T [for D]". */
static int
parse_fault(const char *spec, struct opts *o)
{
	char act[16], tail[16] = "";
	unsigned r, a, n = o->fault_count;
	double at, dur = -1;
	int got = sscanf(spec, " %15s %u at %lf %15s %lf", act, &r, &at, tail, &dur);

	for (a = OPTS_PAUSE; a <= OPTS_HEAR; a++)
		if (strcmp(act, fault_names[a]) == 0)
			break;
	if (got < 3 || a > OPTS_HEAR || (got >= 4 && (strcmp(tail, "for") != 0 || got != 5))) {
		fprintf(stderr, "trireme: --fault '%.64s' is not \"pause|resume|crash|restart|"
			"deaf|hear <replica> at <seconds> [for <seconds>]\"\n", spec);
		return -1;
	}
	if (r >= TRIREME_REPLICAS || at < 0 || at > 31536000 || (got == 5 && !(dur > 0))) {
		fprintf(stderr, "trireme: --fault '%.64s': the replica must be 0..2 and the "
			"times non-negative (for: positive)\n", spec);
		return -1;
	}
	if (got == 5 && a != OPTS_PAUSE && a != OPTS_CRASH && a != OPTS_DEAF) {
		fprintf(stderr, "trireme: --fault '%.64s': only pause, crash and deaf take "
			"\"for\"\n", spec);
		return -1;
	}
	if (n + (got == 5) >= OPTS_FAULTS_MAX) {
		fprintf(stderr, "trireme: at most %u --fault events\n", OPTS_FAULTS_MAX);
		return -1;
	}
	o->faults[n++] = (struct opts_fault){.action = (uint8_t)a, .replica = r, .at_s = at};
	if (got == 5)
		o->faults[n++] = (struct opts_fault){
			.action = a == OPTS_PAUSE ? OPTS_RESUME : a == OPTS_DEAF ? OPTS_HEAR
								 : OPTS_RESTART,
			.replica = r,
			.at_s = at + dur};
	o->fault_count = n;
	return 0;
}

static bool
is_app_option(const char *arg)
{
	const struct option *lo;
	size_t len;

	if (strcmp(arg, "-i") == 0)
		return true;
	if (strncmp(arg, "--", 2) != 0 || arg[2] == 0)
		return false;
	arg += 2;
	len = strcspn(arg, "=");
	for (lo = long_options; lo->name != NULL; lo++) {
		if (lo->val == OPT_HELP)
			continue;
		if (strlen(lo->name) == len && strncmp(lo->name, arg, len) == 0)
			return true;
	}
	return false;
}

static int
find_separator(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			return i;
	return -1;
}

bool
opts_help_wanted(int argc, char **argv)
{
	int i, sep = find_separator(argc, argv);

	/* Before "--", --help is EAL's. Without "--", it is ours. */
	for (i = sep < 0 ? 1 : sep + 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

const char *
opts_misplaced(int argc, char **argv)
{
	int i, sep = find_separator(argc, argv);

	for (i = 1; i < (sep < 0 ? argc : sep); i++)
		if (is_app_option(argv[i]))
			return argv[i];
	return NULL;
}

static int
parse_uint(const char *name, const char *arg, uint64_t lo, uint64_t hi, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = 0;
	end = NULL;
	if (isdigit((unsigned char)arg[0]))
		v = strtoull(arg, &end, 10);
	if (end == NULL || *end != 0 || errno != 0 || v < lo || v > hi) {
		fprintf(stderr, "trireme: --%s takes an integer in %" PRIu64 "..%" PRIu64
			", not '%.64s'\n", name, lo, hi, arg);
		return -1;
	}
	*out = v;
	return 0;
}

static int
parse_real(const char *name, const char *arg, double lo, double hi, double *out)
{
	char *end = NULL;
	double v = 0;

	errno = 0;
	if (isdigit((unsigned char)arg[0]) || arg[0] == '.')
		v = strtod(arg, &end);
	/* !(v >= lo) also rejects NaN. */
	if (end == NULL || *end != 0 || errno != 0 || !(v >= lo && v <= hi)) {
		fprintf(stderr, "trireme: --%s takes a number in %.10g..%.10g, not '%.64s'\n",
			name, lo, hi, arg);
		return -1;
	}
	*out = v;
	return 0;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly hh:hh:hh:hh:hh:hh. */
static int
parse_mac(const char *s, size_t len, uint8_t mac[6])
{
	unsigned i;

	if (len != 17)
		return -1;
	for (i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Exactly four decimal fields 0..255, no leading zeros. */
static int
parse_ipv4(const char *s, size_t len, uint32_t *ip)
{
	const char *end = s + len;
	uint32_t v = 0;
	unsigned field;

	for (field = 0; field < 4; field++) {
		unsigned n = 0, digits = 0;

		if (field > 0) {
			if (s == end || *s != '.')
				return -1;
			s++;
		}
		while (s < end && isdigit((unsigned char)*s) && digits < 4) {
			if (digits == 1 && n == 0)
				return -1; /* leading zero */
			n = n * 10 + (unsigned)(*s - '0');
			digits++;
			s++;
		}
		if (digits == 0 || digits > 3 || n > 255)
			return -1;
		v = v << 8 | n;
	}
	if (s != end)
		return -1;
	*ip = v;
	return 0;
}

static int
parse_peers(const char *arg, struct trireme_peer peers[TRIREME_REPLICAS])
{
	const char *p = arg;
	unsigned i, j;

	for (i = 0; i < TRIREME_REPLICAS; i++) {
		size_t len = strcspn(p, ","), mac_len;
		const char *at = memchr(p, '@', len);

		if (len == 0 || (i < TRIREME_REPLICAS - 1 && p[len] != ',') ||
		    (i == TRIREME_REPLICAS - 1 && p[len] != 0)) {
			fprintf(stderr, "trireme: --peers takes 3 addresses MAC@IP,MAC@IP,MAC@IP "
				"(replicas 0, 1, 2, ours included), not '%.160s'\n", arg);
			return -1;
		}
		if (at == NULL) {
			fprintf(stderr, "trireme: --peers entry %u '%.*s' is not MAC@IP; write it "
				"as in 02:00:00:00:00:0%u@10.0.0.%u\n", i, (int)len, p, i, i + 1);
			return -1;
		}
		mac_len = (size_t)(at - p);
		if (parse_mac(p, mac_len, peers[i].mac) != 0) {
			fprintf(stderr, "trireme: --peers entry %u: '%.*s' is not a MAC address; "
				"write it as hh:hh:hh:hh:hh:hh\n", i, (int)mac_len, p);
			return -1;
		}
		if (parse_ipv4(at + 1, len - mac_len - 1, &peers[i].ip) != 0) {
			fprintf(stderr, "trireme: --peers entry %u: '%.*s' is not an IPv4 address; "
				"write it as a.b.c.d\n", i, (int)(len - mac_len - 1), at + 1);
			return -1;
		}
		if ((peers[i].mac[0] & 1) != 0 || (peers[i].mac[0] | peers[i].mac[1] |
		    peers[i].mac[2] | peers[i].mac[3] | peers[i].mac[4] | peers[i].mac[5]) == 0) {
			fprintf(stderr, "trireme: --peers entry %u: %.*s is a multicast or "
				"zero MAC; give the unicast MAC of replica %u's port\n", i,
				(int)mac_len, p, i);
			return -1;
		}
		if (peers[i].ip == 0 || peers[i].ip == UINT32_MAX || (peers[i].ip >> 28) == 0xe) {
			fprintf(stderr, "trireme: --peers entry %u: %.*s is not a unicast IPv4 "
				"address; give replica %u's own address\n", i,
				(int)(len - mac_len - 1), at + 1, i);
			return -1;
		}
		p += len + 1;
	}
	for (i = 0; i < TRIREME_REPLICAS; i++) {
		for (j = i + 1; j < TRIREME_REPLICAS; j++) {
			if (memcmp(peers[i].mac, peers[j].mac, 6) == 0) {
				fprintf(stderr, "trireme: --peers gives replicas %u and %u the "
					"same MAC; each replica needs its own port's\n", i, j);
				return -1;
			}
			if (peers[i].ip == peers[j].ip) {
				fprintf(stderr, "trireme: --peers gives replicas %u and %u the "
					"same IP; each replica needs its own address\n", i, j);
				return -1;
			}
		}
	}
	return 0;
}

static int
opts_check(struct opts *o)
{
	if (o->cluster_set && (o->replica_id_set || o->peers_set || o->port_set)) {
		fprintf(stderr, "trireme: --cluster runs all 3 replicas in this process; drop "
			"--replica-id, --peers and --port, or drop --cluster\n");
		return -1;
	}
	if (o->replica_id_set && !o->peers_set) {
		fprintf(stderr, "trireme: --replica-id needs --peers MAC@IP,MAC@IP,MAC@IP (every "
			"replica's address, ours included)\n");
		return -1;
	}
	if (o->peers_set && !o->replica_id_set) {
		fprintf(stderr, "trireme: --peers needs --replica-id N (which of the 3 addresses "
			"is this process's)\n");
		return -1;
	}
	if (o->port_set && !o->replica_id_set) {
		fprintf(stderr, "trireme: --port applies to one replica per process; add "
			"--replica-id and --peers, or drop --port\n");
		return -1;
	}
	if (o->sync_set && o->data_dir == NULL) {
		fprintf(stderr, "trireme: --sync applies to a data directory; add --data-dir DIR "
			"or drop --sync\n");
		return -1;
	}
	if (o->history != NULL && o->value_size < OPTS_HISTORY_VALUE_MIN) {
		if (o->value_size_set) {
			fprintf(stderr, "trireme: --history needs --value-size >= %u, so that "
				"every set writes a unique value\n", OPTS_HISTORY_VALUE_MIN);
			return -1;
		}
		o->value_size = OPTS_HISTORY_VALUE_MIN;
	}
	return 0;
}

static const char *const idle_names[] = {
	[TRIREME_IDLE_BACKOFF] = "backoff",
	[TRIREME_IDLE_YIELD] = "yield",
	[TRIREME_IDLE_POLL] = "poll",
};

const char *
opts_idle_name(unsigned idle)
{
	return idle < sizeof(idle_names) / sizeof(idle_names[0]) ? idle_names[idle] : "?";
}

static const char *const read_mode_names[TRIREME_READ_MODES] = {
	[TRIREME_READ_BARRIER] = "barrier",
	[TRIREME_READ_LOG] = "log",
	[TRIREME_READ_LOCAL] = "local",
};

int
opts_read_mode(const char *name)
{
	for (unsigned m = 0; m < TRIREME_READ_MODES; m++)
		if (strcmp(name, read_mode_names[m]) == 0)
			return (int)m;
	return -1;
}

const char *
opts_read_mode_name(unsigned mode)
{
	return mode < TRIREME_READ_MODES ? read_mode_names[mode] : "?";
}

int
opts_parse(int argc, char **argv, struct opts *o)
{
	int opt;

	opts_default(o);
	optind = 1;
	opterr = 0; /* every message below is ours */
	while ((opt = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
		uint64_t v = 0;
		int rc = 0;

		switch (opt) {
		case OPT_CLUSTER:
			o->cluster_set = true;
			break;
		case OPT_REPLICA_ID:
			rc = parse_uint("replica-id", optarg, 0, TRIREME_REPLICAS - 1, &v);
			o->replica_id = (unsigned)v;
			o->replica_id_set = true;
			o->cluster = false;
			break;
		case OPT_PEERS:
			rc = parse_peers(optarg, o->peers);
			o->peers_set = true;
			break;
		case OPT_PORT:
			rc = parse_uint("port", optarg, 0, UINT16_MAX - 1, &v);
			o->port_id = (uint16_t)v;
			o->port_set = true;
			break;
		case OPT_UDP_PORT_BASE:
			rc = parse_uint("udp-port-base", optarg, 1,
					UINT16_MAX - (TRIREME_REPLICAS - 1), &v);
			o->udp_port_base = (uint16_t)v;
			o->udp_port_base_set = true;
			break;
		case OPT_MTU:
			rc = parse_uint("mtu", optarg, TRIREME_MTU_MIN, TRIREME_MTU_MAX, &v);
			o->mtu = (uint16_t)v;
			o->mtu_set = true;
			break;
		case OPT_PEER_TIMEOUT:
			rc = parse_real("peer-timeout", optarg, 0, 3600, &o->peer_timeout_s);
			break;
		case OPT_DURATION:
			rc = parse_real("duration", optarg, 0, 31536000, &o->duration_s);
			o->duration_set = true;
			break;
		case OPT_WINDOW:
			rc = parse_uint("window", optarg, 1, OPTS_WINDOW_MAX, &v);
			o->window = (unsigned)v;
			break;
		case OPT_KEYS:
			rc = parse_uint("keys", optarg, 1, 1000000000, &o->keys);
			break;
		case OPT_VALUE_SIZE:
			rc = parse_uint("value-size", optarg, 1, TRIREME_LARGE_MAX, &v);
			o->value_size = (uint32_t)v;
			o->value_size_set = true;
			break;
		case OPT_READ_RATIO:
			rc = parse_real("read-ratio", optarg, 0, 1, &o->read_ratio);
			break;
		case OPT_READ_MODE:
			if ((rc = opts_read_mode(optarg)) < 0) {
				fprintf(stderr, "trireme: --read-mode must be barrier, log or local, "
					"not '%.64s'\n", optarg);
				return -1;
			}
			o->read_mode = (uint8_t)rc;
			rc = 0;
			break;
		case OPT_HISTORY:
			o->history = optarg;
			break;
		case OPT_APPLIER_THREADS:
			o->applier_threads = true;
			break;
		case OPT_IDLE:
			for (v = 0; v < sizeof(idle_names) / sizeof(idle_names[0]); v++)
				if (strcmp(optarg, idle_names[v]) == 0)
					break;
			if (v == sizeof(idle_names) / sizeof(idle_names[0])) {
				fprintf(stderr, "trireme: --idle must be backoff, yield or poll "
					"(poll: only with a dedicated core per lcore), not '%.64s'\n",
					optarg);
				return -1;
			}
			o->idle = (uint8_t)v;
			break;
		case OPT_LOSS:
			rc = parse_real("loss", optarg, 0, 0.9, &o->loss);
			break;
		case OPT_WRITERS:
			rc = parse_uint("writers", optarg, 0, TRIREME_REPLICAS, &v);
			o->writers = (unsigned)v;
			break;
		case OPT_BATCH:
			rc = parse_uint("batch", optarg, 1, OPTS_BATCH_MAX, &v);
			o->batch = (unsigned)v;
			o->batch_set = true;
			break;
		case OPT_INFLIGHT:
			rc = parse_uint("inflight", optarg, 1, 1u << 20, &v);
			o->inflight = (unsigned)v;
			o->inflight_set = true;
			break;
		case OPT_SEED:
			rc = parse_uint("seed", optarg, 0, UINT64_MAX, &o->seed);
			o->seed_set = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_STATS_INTERVAL:
			rc = parse_real("stats-interval", optarg, 0.1, 3600, &o->stats_interval_s);
			break;
		case OPT_INTERACTIVE:
			o->interactive = true;
			break;
		case OPT_QUIET:
			o->quiet = true;
			break;
		case OPT_FAULT:
			rc = parse_fault(optarg, o);
			break;
		case OPT_LOG_SLOTS:
			rc = parse_uint("log-slots", optarg, 16, 1u << 24, &v);
			if (rc == 0 && (v & (v - 1)) != 0) {
				fprintf(stderr, "trireme: --log-slots must be a power of two, not "
					"%.64s\n", optarg);
				rc = -1;
			}
			o->log_slots = (uint32_t)v;
			break;
		case OPT_CLUSTER_STATE:
			if (strcmp(optarg, "new") != 0 && strcmp(optarg, "existing") != 0) {
				fprintf(stderr, "trireme: --cluster-state must be new or existing, "
					"not '%.64s'\n", optarg);
				return -1;
			}
			o->join = strcmp(optarg, "existing") == 0;
			break;
		case OPT_LINGER:
			rc = parse_real("linger", optarg, 0, 3600, &o->linger_s);
			break;
		case OPT_AUTH_KEY:
			o->auth_key = optarg;
			break;
		case OPT_SERVE_CLIENTS:
			rc = parse_uint("serve-clients", optarg, 1, OPTS_SERVE_CLIENTS_MAX, &v);
			o->serve_clients = (unsigned)v;
			break;
		case OPT_DATA_DIR:
			if (optarg[0] == 0) {
				fprintf(stderr, "trireme: --data-dir needs a directory\n");
				return -1;
			}
			o->data_dir = optarg;
			break;
		case OPT_SYNC:
			o->sync_set = true;
			if (strcmp(optarg, "fdatasync") == 0) {
				o->sync = TRIREME_SYNC_FDATASYNC;
			} else if (strcmp(optarg, "o_dsync") == 0) {
				o->sync = TRIREME_SYNC_O_DSYNC;
			} else if (strcmp(optarg, "none") == 0) {
				o->sync = TRIREME_SYNC_NONE;
			} else {
				fprintf(stderr, "trireme: --sync must be fdatasync, o_dsync or none "
					"(unsafe against power loss), not '%.64s'\n", optarg);
				return -1;
			}
			break;
		case OPT_CLUSTER_ID:
			rc = parse_uint("cluster-id", optarg, 1, UINT32_MAX, &v);
			o->cluster_id = (uint32_t)v;
			break;
		case OPT_HELP:
			opts_usage(stdout);
			return 1;
		case ':':
			fprintf(stderr, "trireme: %.64s needs a value; see trireme -- --help\n",
				argv[optind - 1]);
			return -1;
		case '?':
		default:
			if (optopt >= OPT_CLUSTER || optopt == OPT_HELP ||
			    optopt == OPT_INTERACTIVE)
				fprintf(stderr, "trireme: %.64s takes no value; see trireme -- "
					"--help\n", argv[optind - 1]);
			else if (optopt != 0)
				fprintf(stderr, "trireme: unknown option '-%c'; see trireme -- "
					"--help (EAL arguments go before --)\n", optopt);
			else
				fprintf(stderr, "trireme: unknown or ambiguous option '%.64s'; see "
					"trireme -- --help (EAL arguments go before --)\n",
					argv[optind - 1]);
			return -1;
		}
		if (rc != 0)
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "trireme: unexpected argument '%.64s'; options start with -- "
			"(see trireme -- --help)\n", argv[optind]);
		return -1;
	}
	return opts_check(o);
}

unsigned
opts_clients_per_replica(const struct opts *o)
{
	return (o->window + OPTS_CLIENT_WINDOW_MAX - 1) / OPTS_CLIENT_WINDOW_MAX;
}
