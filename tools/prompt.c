/* SPDX-License-Identifier: MIT
 * The interactive prompt of the trireme launcher (see prompt.h). Commands:
 *
 *   set <replica> <key> <value>     through the log
 *   get <replica> <key>             in the read mode (barrier by default)
 *   getlocal <replica> <key>        the replica's applied state
 *   read-mode barrier|log|local     of get and of the load's gets
 *   del <replica> <key>
 *   show stats | show replica <id>
 *   start load | stop load
 *   fault <replica> <drop_tx> <drop_rx>
 *   pause <replica> | resume <replica> | crash <replica> | restart <replica>
 *   help | quit
 *
 * A line longer than PROMPT_LINE_MAX characters is refused whole.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_pause.h>

#include <cmdline.h>
#include <cmdline_parse.h>
#include <cmdline_parse_num.h>
#include <cmdline_parse_string.h>
#include <cmdline_socket.h>

#include "options.h"
#include "prompt.h"
#include "replica_view.h"

#define PROMPT_OP_TIMEOUT_S 5 /* 2 s timed out once on a busy 2-vCPU machine */
#define PROMPT_PRINT_MAX 256 /* value bytes shown */
/* The line editor keeps 512 bytes of a line and drops the rest without a
 * word, then runs what it kept (a set with its value cut): a longer line is
 * refused whole. */
#define PROMPT_LINE_MAX 500

struct prompt {
	struct prompt_env env;
	struct cmdline *cl;
	bool quit;
	bool long_line;    /* the current line passed PROMPT_LINE_MAX: dropped */
	unsigned line_len; /* bytes of the current line given to cmdline */
	struct trireme_client *client[TRIREME_REPLICAS]; /* single commands, window 1 */
	uint64_t tag;
	uint32_t val_len;
	uint8_t val[TRIREME_VAL_MAX];
};

/* cmdline's callbacks take no context of ours. */
static struct prompt *prompt_cur;

static bool
replica_ok(struct cmdline *cl, unsigned r)
{
	unsigned i;

	if (r >= TRIREME_REPLICAS) {
		cmdline_printf(cl, "no replica %u: replicas are 0..%u\n", r, TRIREME_REPLICAS - 1);
		return false;
	}
	if (trireme_replica_local(prompt_cur->env.t, r))
		return true;
	for (i = 0; i < TRIREME_REPLICAS; i++)
		if (trireme_replica_local(prompt_cur->env.t, i))
			break;
	cmdline_printf(cl, "replica %u runs in another process; this one runs replica %u\n", r, i);
	return false;
}

/* Prints bytes, escaping what is not printable, at most PROMPT_PRINT_MAX. */
static void
print_bytes(struct cmdline *cl, const uint8_t *b, uint32_t len)
{
	char out[PROMPT_PRINT_MAX * 4 + 1];
	uint32_t i, n = 0;

	for (i = 0; i < len && i < PROMPT_PRINT_MAX; i++) {
		if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\\')
			out[n++] = (char)b[i];
		else
			n += (uint32_t)snprintf(out + n, sizeof(out) - n, "\\x%02x", b[i]);
	}
	out[n] = 0;
	if (len > PROMPT_PRINT_MAX)
		cmdline_printf(cl, "%s... (%" PRIu32 " bytes)\n", out, len);
	else
		cmdline_printf(cl, "%s\n", out);
}

/* Submits one command on the replica's own client and waits up to
 * PROMPT_OP_TIMEOUT_S for it, running the load meanwhile. 0 with *d filled
 * (a get's value copied to p->val), or -1 after printing why not. */
static int
run_op(struct cmdline *cl, unsigned r, const struct trireme_op *op, struct trireme_done *d)
{
	struct prompt *p = prompt_cur;
	struct trireme_done old[8];
	uint64_t deadline, tag;
	unsigned idle = 0;
	int rc;

	if (p->client[r] == NULL) {
		p->client[r] = trireme_client_new(p->env.t, r, 1);
		if (p->client[r] == NULL) {
			cmdline_printf(cl, "cannot create a client on replica %u; lower "
				       "--window\n", r);
			return -1;
		}
	}
	/* Completions of commands that timed out earlier. */
	while (trireme_poll(p->client[r], old, RTE_DIM(old)) > 0)
		;
	tag = ++p->tag;
	rc = trireme_submit(p->client[r], op, tag);
	if (rc == -TRIREME_EBUSY) {
		cmdline_printf(cl, "replica %u: an earlier command is still pending; try again\n",
			       r);
		return -1;
	}
	if (rc == -TRIREME_ESTOPPED) {
		cmdline_printf(cl, "replica %u is paused or crashed; 'resume %u' or 'restart %u' "
			       "first\n", r, r, r);
		return -1;
	}
	if (rc != 0) {
		cmdline_printf(cl, "replica %u refused the command: %s\n", r, trireme_strerror(rc));
		return -1;
	}
	deadline = rte_rdtsc() + PROMPT_OP_TIMEOUT_S * rte_get_tsc_hz();
	while (rte_rdtsc() < deadline && !*p->env.signalled) {
		if (trireme_poll(p->client[r], d, 1) == 1 && d->tag == tag) {
			if (d->status == 0 && op->kind == TRIREME_GET && d->found) {
				p->val_len = RTE_MIN(d->val_len, (uint32_t)TRIREME_VAL_MAX);
				memcpy(p->val, d->val, p->val_len);
			}
			return 0;
		}
		if (load_step(p->env.load) == 0 && ++idle > 64)
			sched_yield();
		else
			rte_pause();
	}
	cmdline_printf(cl, "timed out after %d s (does replica %u have a majority? see "
		       "'show stats')\n", PROMPT_OP_TIMEOUT_S, r);
	return -1;
}

/* set <replica> <key> <value> */
struct cmd_set_result {
	cmdline_fixed_string_t set;
	uint8_t replica;
	cmdline_fixed_string_t key;
	cmdline_multi_string_t value;
};

static void
cmd_set_parsed(void *parsed, struct cmdline *cl, __rte_unused void *data)
{
	struct cmd_set_result *res = parsed;
	struct trireme_done d;
	struct trireme_op op = {
		.kind = TRIREME_SET,
		.key = res->key,
		.key_len = (uint16_t)strlen(res->key),
		.val = res->value,
		.val_len = (uint32_t)strlen(res->value),
	};

	if (!replica_ok(cl, res->replica) || run_op(cl, res->replica, &op, &d) != 0)
		return;
	if (d.status != 0)
		cmdline_printf(cl, "error: %s\n", trireme_strerror(d.status));
	else
		cmdline_printf(cl, "ok\n");
}

static cmdline_parse_token_string_t cmd_set_set =
	TOKEN_STRING_INITIALIZER(struct cmd_set_result, set, "set");
static cmdline_parse_token_num_t cmd_set_replica =
	TOKEN_NUM_INITIALIZER(struct cmd_set_result, replica, RTE_UINT8);
static cmdline_parse_token_string_t cmd_set_key =
	TOKEN_STRING_INITIALIZER(struct cmd_set_result, key, NULL);
static cmdline_parse_token_string_t cmd_set_value =
	TOKEN_STRING_INITIALIZER(struct cmd_set_result, value, TOKEN_STRING_MULTI);

static cmdline_parse_inst_t cmd_set = {
	.f = cmd_set_parsed,
	.help_str = "set <replica> <key> <value>: write through the log",
	.tokens = {
		(void *)&cmd_set_set, (void *)&cmd_set_replica, (void *)&cmd_set_key,
		(void *)&cmd_set_value, NULL,
	},
};

/* get|getlocal|del <replica> <key> */
struct cmd_key_result {
	cmdline_fixed_string_t cmd;
	uint8_t replica;
	cmdline_fixed_string_t key;
};

static void
cmd_key_parsed(void *parsed, struct cmdline *cl, __rte_unused void *data)
{
	struct cmd_key_result *res = parsed;
	struct prompt *p = prompt_cur;
	struct trireme_done d;
	struct trireme_op op = {
		.key = res->key,
		.key_len = (uint16_t)strlen(res->key),
	};
	uint32_t len = 0;
	int rc;

	if (!replica_ok(cl, res->replica))
		return;
	if (strcmp(res->cmd, "getlocal") == 0) {
		rc = trireme_read_local(p->env.t, res->replica, op.key, op.key_len, p->val,
					sizeof(p->val), &len);
		if (rc == 0)
			print_bytes(cl, p->val, RTE_MIN(len, (uint32_t)sizeof(p->val)));
		else if (rc == 1)
			cmdline_printf(cl, "(absent)\n");
		else
			cmdline_printf(cl, "error: %s\n", trireme_strerror(rc));
		return;
	}
	op.kind = strcmp(res->cmd, "get") == 0 ? TRIREME_GET : TRIREME_DEL;
	op.read_mode = load_read_mode(p->env.load);
	if (run_op(cl, res->replica, &op, &d) != 0)
		return;
	if (d.status != 0)
		cmdline_printf(cl, "error: %s\n", trireme_strerror(d.status));
	else if (op.kind == TRIREME_DEL)
		cmdline_printf(cl, d.found ? "deleted\n" : "(absent)\n");
	else if (d.found)
		print_bytes(cl, p->val, p->val_len);
	else
		cmdline_printf(cl, "(absent)\n");
}

static cmdline_parse_token_string_t cmd_key_cmd =
	TOKEN_STRING_INITIALIZER(struct cmd_key_result, cmd, "get#getlocal#del");
static cmdline_parse_token_num_t cmd_key_replica =
	TOKEN_NUM_INITIALIZER(struct cmd_key_result, replica, RTE_UINT8);
static cmdline_parse_token_string_t cmd_key_key =
	TOKEN_STRING_INITIALIZER(struct cmd_key_result, key, NULL);

static cmdline_parse_inst_t cmd_key = {
	.f = cmd_key_parsed,
	.help_str = "get|getlocal|del <replica> <key>: get in the read mode, del through "
		    "the log, getlocal from the replica's applied state",
	.tokens = {
		(void *)&cmd_key_cmd, (void *)&cmd_key_replica, (void *)&cmd_key_key, NULL,
	},
};

/* read-mode barrier|log|local */
struct cmd_read_mode_result {
	cmdline_fixed_string_t word;
	cmdline_fixed_string_t mode;
};

static void
cmd_read_mode_parsed(void *parsed, struct cmdline *cl, __rte_unused void *data)
{
	struct cmd_read_mode_result *res = parsed;
	int mode = opts_read_mode(res->mode);

	load_set_read_mode(prompt_cur->env.load, (uint8_t)mode);
	cmdline_printf(cl, "gets now read in %s mode%s\n", res->mode,
		       mode == TRIREME_READ_LOCAL ? " (weaker: not linearizable)" : "");
}

static cmdline_parse_token_string_t cmd_read_mode_word =
	TOKEN_STRING_INITIALIZER(struct cmd_read_mode_result, word, "read-mode");
static cmdline_parse_token_string_t cmd_read_mode_mode =
	TOKEN_STRING_INITIALIZER(struct cmd_read_mode_result, mode, "barrier#log#local");

static cmdline_parse_inst_t cmd_read_mode = {
	.f = cmd_read_mode_parsed,
	.help_str = "read-mode barrier|log|local: how get and the load's gets read",
	.tokens = { (void *)&cmd_read_mode_word, (void *)&cmd_read_mode_mode, NULL },
};

/* show stats */
struct cmd_show_stats_result {
	cmdline_fixed_string_t show;
	cmdline_fixed_string_t stats;
};

static void
cmd_show_stats_parsed(__rte_unused void *parsed, struct cmdline *cl,
		      __rte_unused void *data)
{
	struct prompt *p = prompt_cur;
	const struct hist *h = load_hist_total(p->env.load);
	struct load_counts c;
	double s = load_active_s(p->env.load);
	unsigned r;

	load_counts(p->env.load, &c);
	cmdline_printf(cl, "load: %s, %.1f s, %" PRIu64 " ops (%.0f ops/s), reads %" PRIu64
		       ", writes %" PRIu64 ", errors %" PRIu64 ", outstanding %" PRIu64 "\n",
		       load_running(p->env.load) ? "running" : "stopped", s, c.ops,
		       s > 0 ? (double)c.ops / s : 0.0, c.reads, c.writes, c.errors,
		       c.outstanding);
	cmdline_printf(cl, "latency: p50 %.1f us, p99 %.1f us, p999 %.1f us\n",
		       (double)hist_quantile(h, 0.5) / 1e3, (double)hist_quantile(h, 0.99) / 1e3,
		       (double)hist_quantile(h, 0.999) / 1e3);
	for (r = 0; r < TRIREME_REPLICAS; r++) {
		struct trireme_replica_stats st;

		if (!trireme_replica_local(p->env.t, r) ||
		    trireme_replica_stats(p->env.t, r, &st) != 0)
			continue;
		cmdline_printf(cl, "replica %u: applied %" PRIu64 " (%" PRIu64 " cmds), committed %"
			       PRIu64 ", digest 0x%016" PRIx64 ", keys %" PRIu64 ", retries %"
			       PRIu64 ", recoveries %" PRIu64 ", drops %" PRIu64 "%s\n",
			       r, st.applied, st.applied_cmds, st.committed, st.kv_digest, st.keys,
			       st.retries, st.recoveries, replica_drops(&st), replica_state(&st));
	}
}

static cmdline_parse_token_string_t cmd_show_stats_show =
	TOKEN_STRING_INITIALIZER(struct cmd_show_stats_result, show, "show");
static cmdline_parse_token_string_t cmd_show_stats_stats =
	TOKEN_STRING_INITIALIZER(struct cmd_show_stats_result, stats, "stats");

static cmdline_parse_inst_t cmd_show_stats = {
	.f = cmd_show_stats_parsed,
	.help_str = "show stats: the load's counters and every local replica's",
	.tokens = { (void *)&cmd_show_stats_show, (void *)&cmd_show_stats_stats, NULL },
};

/* show replica <id> */
struct cmd_show_replica_result {
	cmdline_fixed_string_t show;
	cmdline_fixed_string_t replica_kw;
	uint8_t replica;
};

static void
cmd_show_replica_parsed(void *parsed, struct cmdline *cl, __rte_unused void *data)
{
	struct cmd_show_replica_result *res = parsed;
	struct trireme_replica_stats s;
	unsigned r = res->replica;
	int rc;

	if (!replica_ok(cl, r))
		return;
	rc = trireme_replica_stats(prompt_cur->env.t, r, &s);
	if (rc != 0) {
		cmdline_printf(cl, "error: %s\n", trireme_strerror(rc));
		return;
	}
	cmdline_printf(cl, "replica %u%s\n"
		       "  applied %" PRIu64 " instances, %" PRIu64 " commands\n"
		       "  kv_digest 0x%016" PRIx64 ", keys %" PRIu64 "\n"
		       "  committed %" PRIu64 ", proposed %" PRIu64 ", retries %" PRIu64
		       ", recoveries %" PRIu64 ", fetches %" PRIu64 ", rejects %" PRIu64 "\n"
		       "  rx %" PRIu64 " pkts %" PRIu64 " msgs, tx %" PRIu64 " pkts %" PRIu64
		       " msgs\n"
		       "  drops: fault %" PRIu64 ", malformed %" PRIu64 ", foreign %" PRIu64
		       ", tx full %" PRIu64 ", auth %" PRIu64 ", implausible %" PRIu64 "\n"
		       "  known [%" PRIu64 " %" PRIu64 " %" PRIu64 "], applied prefix [%" PRIu64
		       " %" PRIu64 " %" PRIu64 "]\n",
		       r, s.paused ? " (paused)" : "", s.applied, s.applied_cmds, s.kv_digest,
		       s.keys, s.committed, s.proposed, s.retries, s.recoveries, s.fetches,
		       s.rejects, s.rx_pkts, s.rx_msgs, s.tx_pkts, s.tx_msgs, s.drops_fault,
		       s.drops_malformed, s.drops_foreign, s.drops_tx_full, s.drops_auth,
		       s.drops_implausible, s.known[0], s.known[1],
		       s.known[2], s.applied_prefix[0], s.applied_prefix[1], s.applied_prefix[2]);
}

static cmdline_parse_token_string_t cmd_show_replica_show =
	TOKEN_STRING_INITIALIZER(struct cmd_show_replica_result, show, "show");
static cmdline_parse_token_string_t cmd_show_replica_kw =
	TOKEN_STRING_INITIALIZER(struct cmd_show_replica_result, replica_kw, "replica");
static cmdline_parse_token_num_t cmd_show_replica_id =
	TOKEN_NUM_INITIALIZER(struct cmd_show_replica_result, replica, RTE_UINT8);

static cmdline_parse_inst_t cmd_show_replica = {
	.f = cmd_show_replica_parsed,
	.help_str = "show replica <id>: every counter of a local replica",
	.tokens = {
		(void *)&cmd_show_replica_show, (void *)&cmd_show_replica_kw,
		(void *)&cmd_show_replica_id, NULL,
	},
};

/* start load | stop load */
struct cmd_load_result {
	cmdline_fixed_string_t action;
	cmdline_fixed_string_t load;
};

static void
cmd_load_parsed(void *parsed, struct cmdline *cl, __rte_unused void *data)
{
	struct cmd_load_result *res = parsed;
	struct load *l = prompt_cur->env.load;
	struct load_counts c;

	if (strcmp(res->action, "start") == 0) {
		if (load_running(l)) {
			cmdline_printf(cl, "the load is already running\n");
			return;
		}
		load_start(l);
		cmdline_printf(cl, "load started\n");
		return;
	}
	if (!load_running(l)) {
		cmdline_printf(cl, "the load is not running\n");
		return;
	}
	load_stop(l);
	load_counts(l, &c);
	cmdline_printf(cl, "load stopped: %" PRIu64 " ops in %.1f s, %" PRIu64
		       " outstanding still complete\n", c.ops, load_active_s(l), c.outstanding);
}

static cmdline_parse_token_string_t cmd_load_action =
	TOKEN_STRING_INITIALIZER(struct cmd_load_result, action, "start#stop");
static cmdline_parse_token_string_t cmd_load_load =
	TOKEN_STRING_INITIALIZER(struct cmd_load_result, load, "load");

static cmdline_parse_inst_t cmd_load = {
	.f = cmd_load_parsed,
	.help_str = "start load | stop load: the closed-loop load of the command line options",
	.tokens = { (void *)&cmd_load_action, (void *)&cmd_load_load, NULL },
};

/* fault <replica> <drop_tx> <drop_rx> */
struct cmd_fault_result {
	cmdline_fixed_string_t fault;
	uint8_t replica;
	cmdline_fixed_string_t drop_tx;
	cmdline_fixed_string_t drop_rx;
};

static int
parse_probability(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (end == s || *end != 0 || errno != 0 || !(*out >= 0 && *out <= 1))
		return -1;
	return 0;
}

static void
cmd_fault_parsed(void *parsed, struct cmdline *cl, __rte_unused void *data)
{
	struct cmd_fault_result *res = parsed;
	struct trireme_faults f;
	int rc;

	if (!replica_ok(cl, res->replica))
		return;
	memset(&f, 0, sizeof(f));
	if (parse_probability(res->drop_tx, &f.drop_tx) != 0 ||
	    parse_probability(res->drop_rx, &f.drop_rx) != 0) {
		cmdline_printf(cl, "drop_tx and drop_rx are probabilities in 0..1, e.g. "
			       "'fault 1 0.1 0.1'; 'fault 1 0 0' heals\n");
		return;
	}
	rc = trireme_set_faults(prompt_cur->env.t, res->replica, &f);
	if (rc != 0)
		cmdline_printf(cl, "error: %s\n", trireme_strerror(rc));
	else
		cmdline_printf(cl, "replica %u drops %g of sent and %g of received packets\n",
			       res->replica, f.drop_tx, f.drop_rx);
}

static cmdline_parse_token_string_t cmd_fault_fault =
	TOKEN_STRING_INITIALIZER(struct cmd_fault_result, fault, "fault");
static cmdline_parse_token_num_t cmd_fault_replica =
	TOKEN_NUM_INITIALIZER(struct cmd_fault_result, replica, RTE_UINT8);
static cmdline_parse_token_string_t cmd_fault_tx =
	TOKEN_STRING_INITIALIZER(struct cmd_fault_result, drop_tx, NULL);
static cmdline_parse_token_string_t cmd_fault_rx =
	TOKEN_STRING_INITIALIZER(struct cmd_fault_result, drop_rx, NULL);

static cmdline_parse_inst_t cmd_fault = {
	.f = cmd_fault_parsed,
	.help_str = "fault <replica> <drop_tx> <drop_rx>: drop these fractions of packets "
		    "(0 0 heals)",
	.tokens = {
		(void *)&cmd_fault_fault, (void *)&cmd_fault_replica, (void *)&cmd_fault_tx,
		(void *)&cmd_fault_rx, NULL,
	},
};

/* pause|resume|crash|restart <replica> */
struct cmd_pause_result {
	cmdline_fixed_string_t action;
	uint8_t replica;
};

static void
cmd_pause_parsed(void *parsed, struct cmdline *cl, __rte_unused void *data)
{
	struct cmd_pause_result *res = parsed;
	struct trireme *t = prompt_cur->env.t;
	static const char *const done[] = {"paused", "resumed", "crashed (memory wiped)",
					   "restarted: joining its peers"};
	unsigned r, live = 0, local = 0, act;
	int rc;

	if (!replica_ok(cl, res->replica))
		return;
	act = res->action[0] == 'p' ? 0 : strcmp(res->action, "resume") == 0 ? 1
	    : res->action[0] == 'c' ? 2 : 3;
	rc = act == 0 ? trireme_replica_pause(t, res->replica)
	   : act == 1 ? trireme_replica_resume(t, res->replica)
	   : act == 2 ? trireme_replica_crash(t, res->replica)
		      : trireme_replica_restart(t, res->replica);
	if (rc != 0) {
		cmdline_printf(cl, "error: %s\n", trireme_strerror(rc));
		return;
	}
	cmdline_printf(cl, "replica %u %s\n", res->replica, done[act]);
	for (r = 0; r < TRIREME_REPLICAS; r++) {
		struct trireme_replica_stats s;

		if (!trireme_replica_local(t, r) || trireme_replica_stats(t, r, &s) != 0)
			continue;
		local++;
		live += !s.paused && !s.down;
	}
	if (local == TRIREME_REPLICAS && live < 2)
		cmdline_printf(cl, "note: %u of 3 replicas run: no majority, commands wait until "
			       "one resumes or restarts\n", live);
}

static cmdline_parse_token_string_t cmd_pause_action =
	TOKEN_STRING_INITIALIZER(struct cmd_pause_result, action, "pause#resume#crash#restart");
static cmdline_parse_token_num_t cmd_pause_replica =
	TOKEN_NUM_INITIALIZER(struct cmd_pause_result, replica, RTE_UINT8);

static cmdline_parse_inst_t cmd_pause = {
	.f = cmd_pause_parsed,
	.help_str = "pause|resume|crash|restart <replica>: stop a replica (state kept), "
		    "resume it; crash it (memory wiped), restart it (joins its peers)",
	.tokens = { (void *)&cmd_pause_action, (void *)&cmd_pause_replica, NULL },
};

/* auth-key FILE | auth-key accept FILE | auth-key retire (--auth-key) */
struct cmd_auth_result {
	cmdline_fixed_string_t auth;
	cmdline_fixed_string_t arg;
	cmdline_fixed_string_t file;
};

static void
cmd_auth_parsed(void *parsed, struct cmdline *cl, void *data)
{
	static const char *const done[] = {
		"auth: key signs; the previous one is still accepted until 'auth-key retire'",
		"auth: only the signing key is accepted",
		"auth: key accepted (signing unchanged)"};
	struct cmd_auth_result *res = parsed;
	struct trireme *t = prompt_cur->env.t;
	uintptr_t act = (uintptr_t)data; /* 0 sign, 1 retire, 2 accept */
	char err[320] = "";
	int rc;

	if (act == 0 && strcmp(res->arg, "retire") == 0) /* a file named so: ./retire */
		act = 1;
	if (act == 1)
		rc = trireme_auth_retire(t);
	else
		rc = trireme_auth_load(t, act == 2 ? res->file : res->arg,
				       act == 2 ? TRIREME_AUTH_ACCEPT : 0, err, sizeof(err));
	if (rc != 0)
		cmdline_printf(cl, "error: %s\n", err[0] != 0 ? err : trireme_strerror(rc));
	else
		cmdline_printf(cl, "%s\n", done[act]);
}

static cmdline_parse_token_string_t cmd_auth_word =
	TOKEN_STRING_INITIALIZER(struct cmd_auth_result, auth, "auth-key");
static cmdline_parse_token_string_t cmd_auth_accept_word =
	TOKEN_STRING_INITIALIZER(struct cmd_auth_result, arg, "accept");
static cmdline_parse_token_string_t cmd_auth_arg =
	TOKEN_STRING_INITIALIZER(struct cmd_auth_result, arg, NULL);
static cmdline_parse_token_string_t cmd_auth_file =
	TOKEN_STRING_INITIALIZER(struct cmd_auth_result, file, NULL);

static cmdline_parse_inst_t cmd_auth_accept = {
	.f = cmd_auth_parsed,
	.data = (void *)2,
	.help_str = "auth-key accept <file>: accept this key too (signing unchanged)",
	.tokens = { (void *)&cmd_auth_word, (void *)&cmd_auth_accept_word,
		    (void *)&cmd_auth_file, NULL },
};

static cmdline_parse_inst_t cmd_auth_sign = {
	.f = cmd_auth_parsed,
	.help_str = "auth-key <file>|retire: sign with this key, the previous one staying "
		    "accepted; retire: accept only the signing key",
	.tokens = { (void *)&cmd_auth_word, (void *)&cmd_auth_arg, NULL },
};

/* help */
struct cmd_word_result {
	cmdline_fixed_string_t word;
};

static void
cmd_help_parsed(__rte_unused void *parsed, struct cmdline *cl, __rte_unused void *data)
{
	cmdline_printf(cl,
		"set <replica> <key> <value>   write through the log\n"
		"get <replica> <key>           read in the read mode (default barrier)\n"
		"getlocal <replica> <key>      read the replica's applied state (weaker)\n"
		"read-mode barrier|log|local   how get and the load's gets read\n"
		"del <replica> <key>           delete through the log\n"
		"show stats                    the load's and the replicas' counters\n"
		"show replica <id>             every counter of one replica\n"
		"start load | stop load        the closed-loop load of the options\n"
		"fault <replica> <tx> <rx>     drop these fractions of packets (0 0 heals)\n"
		"pause <replica>               stop a replica (its state is kept)\n"
		"resume <replica>              let it go on (a snapshot if it is far behind)\n"
		"crash <replica>               stop it and wipe its memory\n"
		"restart <replica>             start it again empty: it joins its peers\n"
		"auth-key <file>               (--auth-key) sign with this key; the old one\n"
		"                              stays accepted until 'auth-key retire'\n"
		"auth-key accept <file>        accept this key too, signing unchanged\n"
		"auth-key retire               accept only the signing key\n"
		"quit                          stop the load, wait for convergence, exit\n");
}

static cmdline_parse_token_string_t cmd_help_word =
	TOKEN_STRING_INITIALIZER(struct cmd_word_result, word, "help");

static cmdline_parse_inst_t cmd_help = {
	.f = cmd_help_parsed,
	.help_str = "help: the commands",
	.tokens = { (void *)&cmd_help_word, NULL },
};

/* quit */
static void
cmd_quit_parsed(__rte_unused void *parsed, struct cmdline *cl, __rte_unused void *data)
{
	prompt_cur->quit = true;
	cmdline_quit(cl);
}

static cmdline_parse_token_string_t cmd_quit_word =
	TOKEN_STRING_INITIALIZER(struct cmd_word_result, word, "quit#exit");

static cmdline_parse_inst_t cmd_quit = {
	.f = cmd_quit_parsed,
	.help_str = "quit: stop the load, wait for convergence, print the summary, exit",
	.tokens = { (void *)&cmd_quit_word, NULL },
};

static cmdline_parse_ctx_t prompt_ctx[] = {
	&cmd_set,
	&cmd_key,
	&cmd_read_mode,
	&cmd_show_stats,
	&cmd_show_replica,
	&cmd_load,
	&cmd_fault,
	&cmd_pause,
	&cmd_auth_accept,
	&cmd_auth_sign,
	&cmd_help,
	&cmd_quit,
	NULL,
};

struct prompt *
prompt_new(const struct prompt_env *env)
{
	struct prompt *p;

	if (prompt_cur != NULL)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->env = *env;
	p->cl = cmdline_stdin_new(prompt_ctx, "trireme> ");
	if (p->cl == NULL) {
		free(p);
		return NULL;
	}
	prompt_cur = p;
	return p;
}

/* Gives the input to cmdline, but not the lines longer than PROMPT_LINE_MAX:
 * their first bytes are erased from the line editor (ctrl-a, ctrl-k), the
 * rest dropped, and the line refused. < 0 once cmdline quit. */
static int
prompt_in(struct prompt *p, const char *buf, size_t n)
{
	size_t i, from = 0;

	for (i = 0; i < n; i++) {
		bool eol = buf[i] == '\n' || buf[i] == '\r';

		if (!p->long_line) {
			if (eol)
				p->line_len = 0;
			else if (++p->line_len > PROMPT_LINE_MAX) {
				if (cmdline_in(p->cl, buf + from, (int)(i - from)) < 0)
					return -1;
				p->long_line = true;
			}
			if (!p->long_line)
				continue;
		}
		from = i + 1;
		if (eol) {
			p->long_line = false;
			p->line_len = 0;
			cmdline_in(p->cl, "\x01\x0b", 2);
			cmdline_printf(p->cl, "\nline too long: at most %d characters; "
				       "ignored\n", PROMPT_LINE_MAX);
			if (cmdline_in(p->cl, "\n", 1) < 0)
				return -1;
		}
	}
	return cmdline_in(p->cl, buf + from, (int)(n - from));
}

bool
prompt_poll(struct prompt *p)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	char buf[512];
	ssize_t n;

	if (p->quit)
		return true;
	if (poll(&pfd, 1, 0) <= 0)
		return false;
	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return false;
	if (n <= 0) {
		p->quit = true; /* end of input */
		cmdline_printf(p->cl, "\n");
		return true;
	}
	if (prompt_in(p, buf, (size_t)n) < 0)
		p->quit = true; /* ctrl-d on an empty line, or quit */
	return p->quit;
}

void
prompt_free(struct prompt *p)
{
	unsigned r;

	if (p == NULL)
		return;
	for (r = 0; r < TRIREME_REPLICAS; r++)
		if (p->client[r] != NULL)
			trireme_client_free(p->client[r]);
	cmdline_stdin_exit(p->cl);
	prompt_cur = NULL;
	free(p);
}
