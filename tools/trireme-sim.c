/* SPDX-License-Identifier: MIT
 * trireme-sim: runs the deterministic cluster simulator over a range of seeds.
 *
 *   trireme-sim --seeds N --first-seed S --ops K --loss P --dup P --crash 0|1
 *   trireme-sim --seed S --trace          (one run, every event printed)
 *   trireme-sim --seed S --history FILE   (one run, its client history)
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

enum {
	OPT_SEEDS = 256, OPT_FIRST_SEED, OPT_SEED, OPT_OPS, OPT_LOSS, OPT_LOSS_SEND, OPT_LOSS_RECV,
	OPT_DUP, OPT_CRASH, OPT_PARTITION, OPT_READS, OPT_KEYS, OPT_CLIENTS, OPT_WINDOW,
	OPT_VARIANT, OPT_LOG_SLOTS, OPT_TRACE, OPT_VERBOSE, OPT_HELP, OPT_READ_MODE, OPT_RETRY,
	OPT_LARGE,
	OPT_HISTORY, OPT_HISTORY_LOCAL, OPT_SLOW, OPT_SLOW_NS, OPT_THINK, OPT_PAUSE, OPT_RESTART, OPT_DEAF,
	OPT_DOWN_MIN, OPT_DOWN_MAX, OPT_SECOND_FAULT, OPT_STALL, OPT_REJOIN, OPT_CATCHUP, OPT_SNAP, OPT_CUT_TRANSFERS,
	OPT_DISK, OPT_SYNC, OPT_CRASH_DISK, OPT_POWER_LOSS, OPT_WIPE, OPT_CORRUPT, OPT_LOSE_DISK, OPT_STALE_DELIVER,
	OPT_READ_BARRIERS, OPT_CLIENT_RECS, OPT_CLIENT_TTL, OPT_CLIENT_LIVES,
};

static const struct option long_options[] = {
	{"seeds", required_argument, NULL, OPT_SEEDS},
	{"first-seed", required_argument, NULL, OPT_FIRST_SEED},
	{"seed", required_argument, NULL, OPT_SEED},
	{"ops", required_argument, NULL, OPT_OPS},
	{"loss", required_argument, NULL, OPT_LOSS},
	{"loss-send", required_argument, NULL, OPT_LOSS_SEND},
	{"loss-recv", required_argument, NULL, OPT_LOSS_RECV},
	{"dup", required_argument, NULL, OPT_DUP},
	{"slow", required_argument, NULL, OPT_SLOW},
	{"slow-us", required_argument, NULL, OPT_SLOW_NS},
	{"crash", required_argument, NULL, OPT_CRASH},
	{"pause", required_argument, NULL, OPT_PAUSE},
	{"deaf", required_argument, NULL, OPT_DEAF},
	{"restart", required_argument, NULL, OPT_RESTART},
	{"down-ms", required_argument, NULL, OPT_DOWN_MIN},
	{"down-max-ms", required_argument, NULL, OPT_DOWN_MAX},
	{"second-fault", no_argument, NULL, OPT_SECOND_FAULT},
	{"cut-transfers", no_argument, NULL, OPT_CUT_TRANSFERS},
	{"stall-ms", required_argument, NULL, OPT_STALL},
	{"rejoin-ms", required_argument, NULL, OPT_REJOIN},
	{"catchup-us", required_argument, NULL, OPT_CATCHUP},
	{"snap-us", required_argument, NULL, OPT_SNAP},
	{"disk", no_argument, NULL, OPT_DISK},
	{"sync-us", required_argument, NULL, OPT_SYNC},
	{"crash-disk", required_argument, NULL, OPT_CRASH_DISK},
	{"power-loss", required_argument, NULL, OPT_POWER_LOSS},
	{"wipe", required_argument, NULL, OPT_WIPE},
	{"corrupt", required_argument, NULL, OPT_CORRUPT},
	{"lose-disk", required_argument, NULL, OPT_LOSE_DISK},
	{"client-recs", required_argument, NULL, OPT_CLIENT_RECS},
	{"client-ttl", required_argument, NULL, OPT_CLIENT_TTL},
	{"client-lives", no_argument, NULL, OPT_CLIENT_LIVES},
	{"stale-deliver", no_argument, NULL, OPT_STALE_DELIVER},
	{"partition", required_argument, NULL, OPT_PARTITION},
	{"read-ratio", required_argument, NULL, OPT_READS},
	{"read-mode", required_argument, NULL, OPT_READ_MODE},
	{"retry", required_argument, NULL, OPT_RETRY},
	{"large", required_argument, NULL, OPT_LARGE},
	{"history", required_argument, NULL, OPT_HISTORY},
	{"history-local", required_argument, NULL, OPT_HISTORY_LOCAL},
	{"keys", required_argument, NULL, OPT_KEYS},
	{"clients", required_argument, NULL, OPT_CLIENTS},
	{"window", required_argument, NULL, OPT_WINDOW},
	{"think-us", required_argument, NULL, OPT_THINK},
	{"variant", required_argument, NULL, OPT_VARIANT},
	{"log-slots", required_argument, NULL, OPT_LOG_SLOTS},
	{"read-barriers", required_argument, NULL, OPT_READ_BARRIERS},
	{"trace", no_argument, NULL, OPT_TRACE},
	{"verbose", no_argument, NULL, OPT_VERBOSE},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: trireme-sim [options]\n"
		"  --seeds N          number of seeds to run (default 100)\n"
		"  --first-seed S     first seed (default 1)\n"
		"  --seed S           run one seed (same as --first-seed S --seeds 1)\n"
		"  --ops K            client operations per seed (default 2000)\n"
		"  --loss P           drop probability on send and on receive (default 0)\n"
		"  --loss-send P      drop probability on send only\n"
		"  --loss-recv P      drop probability on receive only\n"
		"  --dup P            duplication probability (default 0)\n"
		"  --slow P           share of frames delayed up to --slow-us more (default 0;\n"
		"                     the usual delay is 20..200 us)\n"
		"  --slow-us N        the extra delay of a slow frame, at most (default 1000)\n"
		"  --crash 0|1        crash-stop one replica per seed (default 0)\n"
		"  --pause N          N episodes of one replica paused, memory kept (§12 T)\n"
		"  --deaf N           N episodes of one replica that hears nothing while it\n"
		"                     goes on sending (down-ms .. down-max-ms each)\n"
		"  --restart N        N episodes of one replica crashed and restarted without\n"
		"                     memory: it JOINs (§12 J); episodes one at a time\n"
		"  --down-ms MIN      how long a replica stays down, at least (default 5)\n"
		"  --down-max-ms MAX  ... and at most (default 100)\n"
		"  --second-fault     pause another replica while one joins\n"
		"  --cut-transfers    the replica receiving a snapshot restarts without memory\n"
		"                     halfway through the transfer (once per episode)\n"
		"  --stall-ms N       (g): a survivor's op taking over N ms while one other\n"
		"                     replica is down is a violation (default: not checked)\n"
		"  --rejoin-ms N      (h): a replica back from a pause or restart that has not\n"
		"                     caught up with the others' frontier (within a quarter\n"
		"                     ring) N ms later, both others up, is a violation\n"
		"  --catchup-us N     T4: half a ring lasts N us while a peer catches up\n"
		"                     (default: two snapshot transfers + 10 retry periods)\n"
		"  --snap-us N        a snapshot transfer takes N us + 2 us per key (1000)\n"
		"  --disk             a simulated disk per replica (§12 S): records synced in\n"
		"                     groups before the messages that reveal them leave\n"
		"  --sync-us N        a sync takes N/4..N us (default 400)\n"
		"  --crash-disk N     N episodes of one replica crashed and restarted from its\n"
		"                     disk (unsynced records lost, maybe a torn tail; implies\n"
		"                     --disk)\n"
		"  --power-loss N     N episodes of all three crashed at once, restarted from\n"
		"                     their disks (implies --disk)\n"
		"  --wipe N           N episodes of one replica whose disk is lost, started\n"
		"                     again as a new replica, not as a joiner (the operator's\n"
		"                     mistake): J5 must stop it (implies --disk)\n"
		"  --corrupt P        chance per restart from disk of a damaged record before\n"
		"                     the last: the replica rejoins without memory (S3)\n"
		"  --lose-disk P      chance per restart from disk that the disk was replaced\n"
		"                     (an empty one, no superblock): it rejoins without memory\n"
		"  --stale-deliver    frames to a replica down for a restart from disk arrive\n"
		"                     after it restarted, some before its first tick\n"
		"  --partition P      chance per 10 ms of isolating a replica (default 0)\n"
		"  --read-ratio P     share of gets among operations (default 0.25)\n"
		"  --read-mode M      how gets are served (PROTOCOL §8): barrier (default),\n"
		"                     log, local, or mix (50%% barrier, 30%% log, 20%% local)\n"
		"  --retry P          share of writes a client submits again, same client id\n"
		"                     and sequence (default 0.05)\n"
		"  --large P          share of sets whose value is large (600..4096 bytes), set\n"
		"                     by parts (issue 16, TR_OP_PART) (default 0)\n"
		"  --keys N           key space, 1..768 (default 16)\n"
		"  --clients N        clients per replica (default 2)\n"
		"  --window N         outstanding operations per client, 1..8 (default 3)\n"
		"  --client-recs N    the exactly-once table's records (§8), a power of two,\n"
		"                     16..4096 (default 256; new clients past 3/4 of them)\n"
		"  --client-ttl N     writes a client must be idle before a full table gives\n"
		"                     its record to a new one (default 2^24)\n"
		"  --client-lives     a client takes a new id each time its replica restarts\n"
		"                     without memory (a process without a data directory)\n"
		"  --think-us N       a client's pause after a completion, 0..N us (default 20)\n"
		"  --variant NAME     a known-bad variant (PROTOCOL §11, §12): reuse-ballot,\n"
		"                     commit-on-spot, ack-at-commit, no-recoverer-promise,\n"
		"                     read-no-barrier, read-peer-known-only,\n"
		"                     read-own-known-only, read-share-early, read-no-merge,\n"
		"                     no-fence, plain-deps, no-dedup, w-per-replica,\n"
		"                     ballot-n-only, no-recheck, no-fetch-answer,\n"
		"                     recycle-hold, too-old-ignored, join-votes-at-once,\n"
		"                     join-recovers-own, join-from-h, keep-old-inc,\n"
		"                     reply-before-persist, restart-same-inc,\n"
		"                     ack-before-persist, no-catchup-pace, first-by-heard,\n"
		"                     pace-for-deaf, no-promise-floor, no-restart-gap,\n"
		"                     no-memory-check, peer-incs-forgotten, clients-kept\n"
		"  --log-slots N      slot ring per column, a power of two >= 64 (default:\n"
		"                     large enough that nothing is recycled)\n"
		"  --read-barriers N  read barriers in flight per replica, 1..16 (Q1;\n"
		"                     default: the engine's, 4)\n"
		"  --trace            print every event of the run (with --seed)\n"
		"  --history FILE     write the run's client history (HISTORY.md) to FILE\n"
		"                     (with --seed); local reads are left out of it\n"
		"  --history-local FILE  the local reads' history, \"meta\": \"local\"\n"
		"  --verbose          one line per seed, failing or not\n"
		"Prints one line per failing seed, then 'N seeds, V violations'.\n"
		"Exits 0 only when V is 0. A failing seed replays with --seed S --trace.\n");
}

static int
parse_double(const char *name, const char *arg, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(arg, &end);
	if (errno != 0 || *end != 0 || end == arg || *out < lo || *out > hi) {
		fprintf(stderr, "trireme-sim: --%s takes a number in [%g, %g], not '%s'\n", name, lo,
			hi, arg);
		return -1;
	}
	return 0;
}

static int
parse_u64(const char *name, const char *arg, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno != 0 || *end != 0 || end == arg || arg[0] == '-' || v < lo || v > hi) {
		fprintf(stderr, "trireme-sim: --%s takes an integer in [%" PRIu64 ", %" PRIu64
			"], not '%s'\n", name, lo, hi, arg);
		return -1;
	}
	*out = v;
	return 0;
}

/* The known-bad variants by name (enum tr_variant; PROTOCOL §11, §12). */
static const struct {
	const char *name;
	uint32_t bit;
} variants[] = {
	{"reuse-ballot", TR_VARIANT_REUSE_BALLOT},
	{"commit-on-spot", TR_VARIANT_COMMIT_ON_SPOT},
	{"no-recoverer-promise", TR_VARIANT_NO_RECOVERER_PROMISE},
	{"read-no-barrier", TR_VARIANT_READ_NO_BARRIER},
	{"read-peer-known-only", TR_VARIANT_READ_PEER_KNOWN_ONLY},
	{"read-own-known-only", TR_VARIANT_READ_OWN_KNOWN_ONLY},
	{"read-share-early", TR_VARIANT_READ_SHARE_EARLY},
	{"read-no-merge", TR_VARIANT_READ_NO_MERGE},
	{"no-fence", TR_VARIANT_NO_FENCE},
	{"plain-deps", TR_VARIANT_PLAIN_DEPS},
	{"no-dedup", TR_VARIANT_NO_DEDUP},
	{"w-per-replica", TR_VARIANT_W_PER_REPLICA},
	{"ballot-n-only", TR_VARIANT_BALLOT_N_ONLY},
	{"no-recheck", TR_VARIANT_NO_RECHECK},
	{"no-fetch-answer", TR_VARIANT_NO_FETCH_ANSWER},
	{"recycle-hold", TR_VARIANT_RECYCLE_HOLD},
	{"too-old-ignored", TR_VARIANT_TOO_OLD_IGNORED},
	{"join-votes-at-once", TR_VARIANT_JOIN_VOTES_AT_ONCE},
	{"join-recovers-own", TR_VARIANT_JOIN_RECOVERS_OWN},
	{"join-from-h", TR_VARIANT_JOIN_FROM_H},
	{"keep-old-inc", TR_VARIANT_KEEP_OLD_INC},
	{"reply-before-persist", TR_VARIANT_REPLY_BEFORE_PERSIST},
	{"restart-same-inc", TR_VARIANT_RESTART_SAME_INC},
	{"ack-before-persist", TR_VARIANT_ACK_BEFORE_PERSIST},
	{"no-catchup-pace", TR_VARIANT_NO_CATCHUP_PACE},
	{"first-by-heard", TR_VARIANT_FIRST_BY_HEARD},
	{"pace-for-deaf", TR_VARIANT_PACE_FOR_DEAF},
	{"no-promise-floor", TR_VARIANT_NO_PROMISE_FLOOR},
	{"no-restart-gap", TR_VARIANT_NO_RESTART_GAP},
	{"no-memory-check", TR_VARIANT_NO_MEMORY_CHECK},
	{"clients-kept", TR_VARIANT_CLIENTS_KEPT},
};

static int
parse_variant(const char *arg, struct sim_params *p)
{
	if (strcmp(arg, "ack-at-commit") == 0) {
		p->ack_at_commit = true;
		return 0;
	}
	if (strcmp(arg, "peer-incs-forgotten") == 0) {
		p->peer_incs_forgotten = true;
		return 0;
	}
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
		if (strcmp(arg, variants[i].name) == 0) {
			p->variant |= variants[i].bit;
			return 0;
		}
	fprintf(stderr, "trireme-sim: unknown --variant '%s' (see --help)\n", arg);
	return -1;
}

static int
parse_read_mode(const char *arg, struct sim_params *p)
{
	static const struct {
		const char *name;
		double mix[SIM_READ_MODES];
	} modes[] = {
		{"barrier", {1, 0, 0}},
		{"log", {0, 1, 0}},
		{"local", {0, 0, 1}},
		{"mix", {0.5, 0.3, 0.2}},
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(arg, modes[i].name) == 0) {
			memcpy(p->read_mix, modes[i].mix, sizeof(p->read_mix));
			return 0;
		}
	}
	fprintf(stderr, "trireme-sim: --read-mode takes barrier, log, local or mix, not '%s'\n",
		arg);
	return -1;
}

static FILE *
open_out(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		fprintf(stderr, "trireme-sim: cannot write %s: %s\n", path, strerror(errno));
	return f;
}

int
main(int argc, char **argv)
{
	struct sim_params p;
	uint64_t seeds = 100, first = 1, v;
	bool verbose = false, trace = false;
	const char *history = NULL, *history_local = NULL;
	unsigned failed = 0;
	int opt;

	sim_params_default(&p);
	while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		double d;
		int rc = 0;

		switch (opt) {
		case OPT_SEEDS:
			rc = parse_u64("seeds", optarg, 1, 100000000, &seeds);
			break;
		case OPT_FIRST_SEED:
			rc = parse_u64("first-seed", optarg, 0, UINT64_MAX / 2, &first);
			break;
		case OPT_SEED:
			rc = parse_u64("seed", optarg, 0, UINT64_MAX / 2, &first);
			seeds = 1;
			break;
		case OPT_OPS:
			rc = parse_u64("ops", optarg, 0, 1000000, &v);
			p.ops = (unsigned)v;
			break;
		case OPT_LOSS:
			rc = parse_double("loss", optarg, 0, 0.9, &d);
			p.loss_send = p.loss_recv = d;
			break;
		case OPT_LOSS_SEND:
			rc = parse_double("loss-send", optarg, 0, 0.9, &p.loss_send);
			break;
		case OPT_LOSS_RECV:
			rc = parse_double("loss-recv", optarg, 0, 0.9, &p.loss_recv);
			break;
		case OPT_DUP:
			rc = parse_double("dup", optarg, 0, 1, &p.dup);
			break;
		case OPT_SLOW:
			rc = parse_double("slow", optarg, 0, 1, &p.slow);
			break;
		case OPT_SLOW_NS:
			rc = parse_u64("slow-us", optarg, 1, 1000000, &v);
			p.slow_ns = v * 1000;
			break;
		case OPT_CRASH:
			rc = parse_u64("crash", optarg, 0, 1, &v);
			p.crash = v == 1;
			break;
		case OPT_PAUSE:
			rc = parse_u64("pause", optarg, 0, 1000, &v);
			p.pauses = (unsigned)v;
			break;
		case OPT_DEAF:
			rc = parse_u64("deaf", optarg, 0, 1000, &v);
			p.deafs = (unsigned)v;
			break;
		case OPT_RESTART:
			rc = parse_u64("restart", optarg, 0, 1000, &v);
			p.restarts = (unsigned)v;
			break;
		case OPT_DOWN_MIN:
			rc = parse_u64("down-ms", optarg, 1, 100000, &v);
			p.down_min_ns = v * 1000000;
			break;
		case OPT_DOWN_MAX:
			rc = parse_u64("down-max-ms", optarg, 1, 100000, &v);
			p.down_max_ns = v * 1000000;
			break;
		case OPT_SECOND_FAULT:
			p.second_fault = true;
			break;
		case OPT_CUT_TRANSFERS:
			p.cut_transfers = true;
			break;
		case OPT_STALL:
			rc = parse_u64("stall-ms", optarg, 1, 100000, &v);
			p.stall_ns = v * 1000000;
			break;
		case OPT_CATCHUP:
			rc = parse_u64("catchup-us", optarg, 1, 100000000, &v);
			p.catchup_ns = v * 1000;
			break;
		case OPT_REJOIN:
			rc = parse_u64("rejoin-ms", optarg, 1, 100000, &v);
			p.rejoin_ns = v * 1000000;
			break;
		case OPT_SNAP:
			rc = parse_u64("snap-us", optarg, 0, 10000000, &v);
			p.snap_ns = v * 1000;
			break;
		case OPT_DISK:
			p.disk = true;
			break;
		case OPT_SYNC:
			rc = parse_u64("sync-us", optarg, 1, 1000000, &v);
			p.sync_max_ns = v * 1000;
			p.sync_min_ns = v * 1000 / 4;
			break;
		case OPT_CRASH_DISK:
			rc = parse_u64("crash-disk", optarg, 0, 1000, &v);
			p.crash_disks = (unsigned)v;
			p.disk = true;
			break;
		case OPT_POWER_LOSS:
			rc = parse_u64("power-loss", optarg, 0, 1000, &v);
			p.power_losses = (unsigned)v;
			p.disk = true;
			break;
		case OPT_WIPE:
			rc = parse_u64("wipe", optarg, 0, 1, &v);
			p.wipes = (unsigned)v;
			p.disk = true;
			break;
		case OPT_CORRUPT:
			rc = parse_double("corrupt", optarg, 0, 1, &p.corrupt);
			break;
		case OPT_LOSE_DISK:
			rc = parse_double("lose-disk", optarg, 0, 1, &p.lose_disk);
			break;
		case OPT_CLIENT_RECS:
			rc = parse_u64("client-recs", optarg, 16, 4096, &v);
			if (rc == 0 && (v & (v - 1)) != 0) {
				fprintf(stderr, "trireme-sim: --client-recs must be a power of two\n");
				rc = -1;
			}
			p.client_recs = (uint32_t)v;
			break;
		case OPT_CLIENT_TTL:
			rc = parse_u64("client-ttl", optarg, 1, UINT64_MAX, &v);
			p.client_ttl = v;
			break;
		case OPT_CLIENT_LIVES:
			p.client_lives = true;
			break;
		case OPT_STALE_DELIVER:
			p.stale_deliver = true;
			break;
		case OPT_PARTITION:
			rc = parse_double("partition", optarg, 0, 1, &p.partition);
			break;
		case OPT_READS:
			rc = parse_double("read-ratio", optarg, 0, 1, &p.read_ratio);
			break;
		case OPT_READ_MODE:
			rc = parse_read_mode(optarg, &p);
			break;
		case OPT_RETRY:
			rc = parse_double("retry", optarg, 0, 1, &p.client_retry);
			break;
		case OPT_LARGE:
			rc = parse_double("large", optarg, 0, 1, &p.large_ratio);
			break;
		case OPT_HISTORY:
			history = optarg;
			break;
		case OPT_HISTORY_LOCAL:
			history_local = optarg;
			break;
		case OPT_KEYS:
			/* The store holds 768 (SIM_KEYS_MAX): more keys would fill it,
			 * and the checkers' model does not refuse a set. */
			rc = parse_u64("keys", optarg, 1, SIM_KEYS_MAX, &v);
			p.keys = (unsigned)v;
			break;
		case OPT_CLIENTS:
			rc = parse_u64("clients", optarg, 1, 64, &v);
			p.clients = (unsigned)v;
			break;
		case OPT_WINDOW:
			rc = parse_u64("window", optarg, 1, 8, &v);
			p.client_window = (unsigned)v;
			break;
		case OPT_THINK:
			rc = parse_u64("think-us", optarg, 0, 1000000, &v);
			p.think_ns = v * 1000;
			break;
		case OPT_VARIANT:
			rc = parse_variant(optarg, &p);
			break;
		case OPT_LOG_SLOTS:
			rc = parse_u64("log-slots", optarg, 64, 1u << 24, &v);
			if (rc == 0 && (v & (v - 1)) != 0) {
				fprintf(stderr, "trireme-sim: --log-slots must be a power of two\n");
				rc = -1;
			}
			p.log_slots = (uint32_t)v;
			break;
		case OPT_READ_BARRIERS:
			rc = parse_u64("read-barriers", optarg, 1, TR_READ_BARRIERS_MAX, &v);
			p.read_barriers = (uint32_t)v;
			break;
		case OPT_TRACE:
			trace = true;
			break;
		case OPT_VERBOSE:
			verbose = true;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (rc != 0)
			return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "trireme-sim: unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}
	if (trace && seeds != 1) {
		fprintf(stderr, "trireme-sim: --trace needs a single run: add --seed S\n");
		return 2;
	}
	if ((history != NULL || history_local != NULL) && seeds != 1) {
		fprintf(stderr, "trireme-sim: --history needs a single run: add --seed S\n");
		return 2;
	}
	if (p.down_max_ns < p.down_min_ns)
		p.down_max_ns = p.down_min_ns;
	if (trace)
		p.trace = stdout;

	for (uint64_t seed = first; seed < first + seeds; seed++) {
		struct sim *s;
		struct sim_stats st;
		unsigned bad;

		p.seed = seed;
		s = sim_new(&p);
		bad = sim_run(s);
		sim_stats(s, &st);
		if (history != NULL || history_local != NULL) {
			FILE *f = history != NULL ? open_out(history) : NULL;
			FILE *lf = history_local != NULL ? open_out(history_local) : NULL;
			long lines = -1;

			if ((history == NULL || f != NULL) && (history_local == NULL || lf != NULL))
				lines = sim_history_write(s, f, lf);
			if ((f != NULL && fclose(f) != 0) || (lf != NULL && fclose(lf) != 0))
				lines = -1;
			if (lines < 0) {
				fprintf(stderr, "trireme-sim: writing the history failed\n");
				sim_free(s);
				return 2;
			}
		}
		if (bad > 0) {
			failed++;
			printf("seed %" PRIu64 ": %s\n", seed, sim_violation(s));
		} else if (verbose) {
			printf("seed %" PRIu64 ": ok, %" PRIu64 " events, %" PRIu64 " msgs, %" PRIu64
			       " dropped, %" PRIu64 " applied, %" PRIu64 " done, %" PRIu64
			       " unknown, %" PRIu64 " retries, %" PRIu64 " recoveries, %" PRIu64
			       " fetches, reads %" PRIu64 " barrier (%" PRIu64 " READ_INDEX) %"
			       PRIu64 " log %" PRIu64 " local, %" PRIu64 " resubmits, crashed %d,"
			       " %" PRIu64 " pauses, %" PRIu64 " deaf (%" PRIu64 " asked, %" PRIu64 " paced), %" PRIu64 " restarts, %" PRIu64 " snapshots,"
			       " %" PRIu64 " paced, %" PRIu64 " slowed, disk: %" PRIu64 " crashes, %" PRIu64 " power losses, %" PRIu64
			       " restored, %" PRIu64 " torn, %" PRIu64 " damaged, %" PRIu64 " lost, %" PRIu64
			       " refused, %" PRIu64 " syncs, %" PRIu64 " wiped, %" PRIu64 " stopped (J5),"
			       " %" PRIu64 " writes full, %" PRIu64 " clients evicted,"
			       " %.1f ms simulated\n",
			       seed, st.events, st.msgs, st.dropped, st.applied, st.ops_done,
			       st.ops_unknown, st.retries, st.recoveries, st.fetches,
			       st.reads[SIM_READ_BARRIER], st.read_barriers, st.reads[SIM_READ_LOG],
			       st.reads[SIM_READ_LOCAL], st.resubmits, st.crashed, st.pauses,
			       st.deafs, st.deaf_asks, st.deaf_paced, st.restarts, st.snapshots, st.paced, st.pace_slowed, st.crash_disks, st.power_losses,
			       st.disk_restarts, st.torn_tails, st.damaged, st.lost_disks,
			       st.restore_refused,
			       st.syncs, st.wipes, st.memory_stops, st.full_writes,
			       st.clients_evicted, (double)st.sim_ns / 1e6);
		}
		fflush(stdout);
		sim_free(s);
	}
	printf("%" PRIu64 " seeds, %u violations\n", seeds, failed);
	return failed == 0 ? 0 : 1;
}
