/* SPDX-License-Identifier: MIT
 * bench-engine: what the protocol core costs, with no DPDK and no threads.
 *
 * Three tr_replica instances run in this thread over an in-memory network,
 * with a fake clock (ROUND_NS per round). Every round each owner submits
 * `window` instances' worth of SETs and flushes; queued messages are then
 * delivered kind by kind (all ACCEPTs, all ACCEPT_REPLYs, ...) until none
 * is left; then every replica applies. Engine calls are timed per group with
 * CLOCK_MONOTONIC, so the timer costs nothing per message.
 *
 * Output: one JSON object per line on stdout, a summary on stderr. Exits 1
 * if the replicas disagree (applied count, commands, completions, digest).
 *
 *   bench-engine [--quick] [--batch B] [--window W] [--commits N] [--large V]
 *
 * --commits N runs exactly N instances per batch size, and no codec test:
 *   valgrind --tool=callgrind build/bench/bench-engine --commits 20000 --batch 1
 * --large V: each owner's client sets values of V bytes (issue 16), one at a
 * time, as TR_OP_PART commands of LARGE_PART_BYTES of the staged whole, one
 * per instance (a batch of LARGE_BATCH_BYTES: an MTU-sized frame's worth);
 * reports the message bytes per value byte. No codec test.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "mmp3.h"
#include "wire.h"

#define ROUND_NS 1000     /* fake time per round */
#define RTT_NS 1000       /* config timers: STATUS every 10 rounds */
#define LOG_SLOTS_MIN 1024
#define KEYS 4096
#define KEY_BYTES 8
#define VAL_BYTES 16
#define CMD_BYTES (TR_WIRE_CMD_HDR_BYTES + KEY_BYTES + VAL_BYTES)
#define CALL_OUT_MAX 1024 /* messages one engine call may emit */
#define CLIENT_RECS 64
/* --large: an ACCEPT carrying one part fills a 1500-byte IPv4 packet: its
 * frame header and CRC, IPv4 and UDP headers (no options) outside. */
#define LARGE_MTU 1500
#define LARGE_PKT_HDR_BYTES (20 + 8)
#define LARGE_FRAME_HDR_BYTES (TR_WIRE_HDR_BYTES + TR_WIRE_CRC_BYTES)
/* --large: keys (at most 64), so that the table stays near 8 MiB a replica */
#define LARGE_KEYS(v) ((v) >= (8u << 20) / 4 ? 4u : (v) <= (8u << 20) / 64 ? 64u : (8u << 20) / (v))

/* Timed operations: recv by message type, then the other entry points. */
enum {
	OP_SUBMIT = TR_MSG_TYPE_COUNT,
	OP_FLUSH,
	OP_TICK,
	OP_APPLY,
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	[TR_MSG_ACCEPT] = "recv.ACCEPT",
	[TR_MSG_ACCEPT_REPLY] = "recv.ACCEPT_REPLY",
	[TR_MSG_COMMIT] = "recv.COMMIT",
	[TR_MSG_FETCH] = "recv.FETCH",
	[TR_MSG_FETCH_REPLY] = "recv.FETCH_REPLY",
	[TR_MSG_STATUS] = "recv.STATUS",
	[TR_MSG_READ_INDEX] = "recv.READ_INDEX",
	[TR_MSG_READ_INDEX_REPLY] = "recv.READ_INDEX_REPLY",
	[OP_SUBMIT] = "submit",
	[OP_FLUSH] = "flush",
	[OP_TICK] = "tick",
	[OP_APPLY] = "apply",
};

struct cost {
	uint64_t ns;
	uint64_t count;
};

struct node {
	struct tr_replica rep;
	void *mem;
	struct tr_table table;
	void *table_mem;
	struct tr_client_rec recs[CLIENT_RECS];
	void *stage_mem;
	struct tr_sm sm;
	struct tr_applier applier;
	uint64_t deadline[TR_COLUMNS];
	uint64_t quota;       /* instances this owner proposes */
	uint64_t submitted;   /* commands */
	uint64_t completions; /* own commands applied with TR_ST_OK */
	uint64_t bad;         /* completions with another status */
	uint64_t staged;      /* --large: parts answered TR_ST_STAGED */
	uint8_t *large_val;   /* --large: the value being set */
	uint64_t large_stage; /* its first part's seq */
	uint32_t large_next;  /* its next part */
};

/* The messages of one type in flight: indices into bench.net, in send order. */
struct queue {
	uint32_t *idx;
	size_t head, len, cap;
};

struct bench {
	unsigned batch, window;
	uint32_t large;       /* --large V: value bytes (0: 16-byte sets) */
	uint32_t parts;       /* parts per large set */
	uint32_t large_batch; /* a batch's bytes: one part command */
	uint32_t part_bytes;  /* a part's bytes of the whole */
	uint32_t log_slots;
	uint64_t now;
	struct node node[TR_REPLICAS];
	struct queue q[TR_MSG_TYPE_COUNT];
	/* The network: every message sent since all were last delivered, each
	 * written there by the engine call that sent it (no copies). Its cmds
	 * point into the sender's slots, which do not change before recycling. */
	struct tr_msg *net;
	size_t nnet, net_cap;
	struct cost cost[OP_COUNT];
	uint64_t msgs;
	uint64_t msg_bytes;   /* encoded messages (tr_wire_msg_bytes), no frame headers */
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (p == NULL) {
		fprintf(stderr, "bench-engine: out of memory\n");
		exit(2);
	}
	return p;
}

static inline void
queue_push(struct queue *q, uint32_t i)
{
	if (q->len == q->cap) {
		q->cap = q->cap ? 2 * q->cap : 256;
		q->idx = xrealloc(q->idx, q->cap * sizeof(*q->idx));
	}
	q->idx[q->len++] = i;
}

/* An output area for one engine call: the network's free end. */
static inline void
out_area(struct bench *b, struct tr_out *out)
{
	if (b->net_cap - b->nnet < CALL_OUT_MAX) {
		b->net_cap = b->net_cap ? 2 * b->net_cap : 8 * CALL_OUT_MAX;
		b->net = xrealloc(b->net, b->net_cap * sizeof(*b->net));
	}
	out->msgs = b->net + b->nnet;
	out->msg_cap = CALL_OUT_MAX;
	tr_out_reset(out);
}

static inline void
out_done(struct bench *b, unsigned replica, unsigned column, const struct tr_out *out)
{
	b->node[replica].deadline[column] = out->deadline_ns;
	b->nnet += out->msg_count;
}

/* Sends the outputs of a timed group (net from first on), after it: queues
 * them by type. */
static void
send_from(struct bench *b, size_t first)
{
	for (size_t i = first; i < b->nnet; i++)
		queue_push(&b->q[b->net[i].type], (uint32_t)i);
}

static void
cost_add(struct bench *b, unsigned op, uint64_t t0, uint64_t count)
{
	b->cost[op].ns += now_ns() - t0;
	b->cost[op].count += count;
}

static void
on_complete(void *ctx, const struct tr_completion *d)
{
	struct node *n = ctx;

	if (d->res.status == TR_ST_OK)
		n->completions++;
	else if (d->res.status == TR_ST_STAGED)
		n->staged++;
	else
		n->bad++;
}

static size_t
align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

static void
node_init(struct bench *b, unsigned id)
{
	struct node *n = &b->node[id];
	struct tr_config cfg;
	size_t bytes, tbytes;
	const char *why;

	uint32_t keys = b->large ? LARGE_KEYS(b->large) : KEYS, val_bytes = b->large ? b->large : VAL_BYTES;
	uint32_t cmd_bytes = b->large ? b->large_batch : CMD_BYTES;

	tr_config_default(&cfg, (uint8_t)id, RTT_NS);
	cfg.log_slots_max = b->log_slots;
	cfg.inflight_max = b->window;
	cfg.batch_cmds_max = (uint16_t)b->batch;
	cfg.batch_bytes_max = b->batch * cmd_bytes;
	cfg.pending_bytes_max = b->window * b->batch * cmd_bytes;
	cfg.read_bytes_max = 1024;
	cfg.read_batches_max = 4;
	if ((why = tr_config_check(&cfg)) != NULL) {
		fprintf(stderr, "bench-engine: %s\n", why);
		exit(2);
	}
	bytes = tr_replica_mem_bytes(&cfg);
	tbytes = tr_table_mem_bytes(2 * keys, KEY_BYTES, val_bytes);
	n->mem = aligned_alloc(64, align64(bytes));
	n->table_mem = aligned_alloc(64, align64(tbytes));
	if (n->mem == NULL || n->table_mem == NULL) {
		fprintf(stderr, "bench-engine: out of memory\n");
		exit(2);
	}
	memset(n->mem, 0, bytes); /* fault the pages in now, not while timing */
	if (tr_replica_init(&n->rep, &cfg, n->mem, bytes, 0) != 0)
		abort();
	tr_table_init(&n->table, n->table_mem, 2 * keys, KEY_BYTES, val_bytes);
	tr_sm_init(&n->sm, &tr_table_ops, &n->table, n->recs, CLIENT_RECS);
	if (b->large) {
		uint32_t sb = (uint32_t)tr_large_bytes(KEY_BYTES, b->large);

		n->stage_mem = aligned_alloc(64, align64(tr_sm_stages_mem_bytes(TR_REPLICAS, sb)));
		n->large_val = malloc(b->large);
		if (n->stage_mem == NULL || n->large_val == NULL)
			abort();
		tr_sm_stages_init(&n->sm, n->stage_mem, TR_REPLICAS, sb);
	}
	n->applier = (struct tr_applier){.rep = &n->rep, .sm = &n->sm, .complete = on_complete,
					 .ctx = n};
}

static void
bench_free(struct bench *b)
{
	for (unsigned r = 0; r < TR_REPLICAS; r++) {
		free(b->node[r].mem);
		free(b->node[r].table_mem);
		free(b->node[r].stage_mem);
		free(b->node[r].large_val);
	}
	for (unsigned t = 0; t < TR_MSG_TYPE_COUNT; t++)
		free(b->q[t].idx);
	free(b->net);
}

/* Client `client`'s SET number seq: key seq % KEYS, value (seq, client). */
static struct tr_cmd
make_set(uint64_t client, uint64_t seq, uint8_t k[KEY_BYTES], uint8_t v[VAL_BYTES])
{
	uint64_t key = seq % KEYS;

	memcpy(k, &key, sizeof(key));
	memcpy(v, &seq, sizeof(seq));
	memcpy(v + 8, &client, sizeof(client));
	return (struct tr_cmd){.op = TR_OP_SET, .window = TR_WINDOW_MAX, .client_id = client,
			       .seq = seq, .key = k, .key_len = KEY_BYTES, .val = v,
			       .val_len = VAL_BYTES};
}

/* --large: the next part of client id's large set (a new one after the
 * last part): value bytes from its first part's seq. */
static struct tr_cmd
make_part(const struct bench *b, struct node *n, uint64_t id, uint64_t seq,
	  uint8_t k[KEY_BYTES], uint8_t *buf)
{
	uint32_t total = (uint32_t)tr_large_bytes(KEY_BYTES, b->large);
	uint32_t off, len;
	uint64_t key;

	if (n->large_next == 0) {
		n->large_stage = seq;
		for (uint32_t i = 0; i < b->large; i++)
			n->large_val[i] = (uint8_t)(seq * 131 + i * 7 + id);
	}
	key = n->large_stage % LARGE_KEYS(b->large);
	memcpy(k, &key, sizeof(key));
	off = n->large_next * b->part_bytes;
	len = total - off < b->part_bytes ? total - off : b->part_bytes;
	if (++n->large_next == b->parts)
		n->large_next = 0;
	return (struct tr_cmd){
		.op = TR_OP_PART, .window = TR_WINDOW_MAX, .client_id = id, .seq = seq,
		.val = buf,
		.val_len = (uint32_t)tr_part_fill(buf, n->large_stage, TR_OP_SET, k, KEY_BYTES,
						  n->large_val, b->large, off, len),
	};
}

static int
submit_one(const struct bench *b, struct node *n, unsigned id)
{
	uint8_t k[KEY_BYTES], v[VAL_BYTES], part[LARGE_MTU];
	struct tr_cmd cmd = b->large ? make_part(b, n, id, n->submitted + 1, k, part)
				     : make_set(id, n->submitted + 1, k, v);

	if (tr_column_submit(&n->rep.col[id], &cmd) != 0)
		return -1;
	n->submitted++;
	return 0;
}

/* Each owner whose queue is empty takes the next window of instances. */
static void
submit_and_flush(struct bench *b)
{
	for (unsigned r = 0; r < TR_REPLICAS; r++) {
		struct node *n = &b->node[r];
		struct tr_column *c = &n->rep.col[r];
		uint64_t left = n->quota * b->batch - n->submitted;
		uint64_t want = (uint64_t)b->window * b->batch, t0, i;
		size_t first = b->nnet;
		struct tr_out out;

		if (c->pending_count > 0 || left == 0)
			continue;
		if (want > left)
			want = left;
		t0 = now_ns();
		for (i = 0; i < want && submit_one(b, n, r) == 0; i++)
			;
		cost_add(b, OP_SUBMIT, t0, i);
		out_area(b, &out);
		t0 = now_ns();
		tr_column_flush(c, b->now, &out);
		cost_add(b, OP_FLUSH, t0, 1);
		out_done(b, r, r, &out);
		send_from(b, first);
	}
}

static void
tick_due(struct bench *b)
{
	size_t first = b->nnet;

	for (unsigned r = 0; r < TR_REPLICAS; r++)
		for (unsigned c = 0; c < TR_COLUMNS; c++) {
			struct tr_out out;
			uint64_t t0;

			if (b->now < b->node[r].deadline[c])
				continue;
			out_area(b, &out);
			t0 = now_ns();
			tr_column_tick(&b->node[r].rep.col[c], b->now, &out);
			cost_add(b, OP_TICK, t0, 1);
			out_done(b, r, c, &out);
		}
	send_from(b, first);
}

/* Delivers the messages of one type queued so far; returns how many. */
static size_t
deliver_type(struct bench *b, unsigned type)
{
	struct queue *q = &b->q[type];
	size_t n = q->len - q->head, first = b->nnet;
	uint64_t t0;

	if (n == 0)
		return 0;
	t0 = now_ns();
	for (size_t i = q->head; i < q->len; i++) {
		struct tr_out out;
		const struct tr_msg *m;

		out_area(b, &out); /* may move net: m after it */
		m = &b->net[q->idx[i]];

		b->msg_bytes += tr_wire_msg_bytes(m);
		tr_column_recv(&b->node[m->to].rep.col[m->column], m, b->now, &out);
		out_done(b, m->to, m->column, &out);
	}
	cost_add(b, type, t0, n);
	q->head = q->len;
	b->msgs += n;
	send_from(b, first);
	return n;
}

/* Until no message is left; the network is then empty. */
static void
deliver_all(struct bench *b)
{
	size_t n;

	do {
		n = 0;
		for (unsigned t = 1; t < TR_MSG_TYPE_COUNT; t++)
			n += deliver_type(b, t);
	} while (n > 0);
	b->nnet = 0;
	for (unsigned t = 1; t < TR_MSG_TYPE_COUNT; t++)
		b->q[t].head = b->q[t].len = 0;
}

static uint64_t
applied_total(const struct node *n)
{
	uint64_t sum = 0;

	for (unsigned c = 0; c < TR_COLUMNS; c++)
		sum += atomic_load(&n->rep.shared.applied[c]);
	return sum;
}

static void
apply_all(struct bench *b)
{
	for (unsigned r = 0; r < TR_REPLICAS; r++) {
		uint64_t t0 = now_ns();
		unsigned done = tr_apply(&b->node[r].applier, UINT32_MAX);

		cost_add(b, OP_APPLY, t0, done);
	}
}

/* The replicas must agree, and every command must have completed once. */
static const char *
check(const struct bench *b, uint64_t instances)
{
	const struct node *n0 = &b->node[0];

	for (unsigned r = 0; r < TR_REPLICAS; r++) {
		const struct node *n = &b->node[r];

		if (atomic_load(&n->rep.shared.violation))
			return n->rep.violation_why;
		if (applied_total(n) != instances)
			return "a replica applied a different number of instances";
		if (n->sm.applied_cmds != instances * b->batch)
			return "a replica applied a different number of commands";
		if (n->completions != n->quota * b->batch / (b->large ? b->parts : 1) ||
		    n->bad != 0 || n->staged != (b->large ? n->completions * (b->parts - 1) : 0))
			return "an owner's commands did not all complete with OK";
		if (n->sm.digest != n0->sm.digest || tr_sm_digest(&n->sm) != tr_sm_digest(&n0->sm))
			return "KV digests differ";
		if (n->sm.stages_used != 0)
			return "a stage left open";
	}
	return NULL;
}

static void
print_cost(const struct bench *b, unsigned op)
{
	const struct cost *c = &b->cost[op];
	double per = c->count ? (double)c->ns / (double)c->count : 0;

	if (c->count == 0)
		return;
	printf("{\"bench\":\"engine\",\"test\":\"op\",\"batch\":%u,\"window\":%u,\"op\":\"%s\","
	       "\"count\":%" PRIu64 ",\"total_ns\":%" PRIu64 ",\"ns_per_op\":%.1f}\n",
	       b->batch, b->window, op_names[op], c->count, c->ns, per);
	fprintf(stderr, "  %-22s %10" PRIu64 " x %9.1f ns", op_names[op], c->count, per);
	if (op == OP_APPLY)
		fprintf(stderr, "  (%.1f ns/cmd)", per / b->batch);
	fputc('\n', stderr);
}

/* (a) and (b): exactly `instances` instances over the three columns. */
static int
run_commits(unsigned batch, unsigned window, uint64_t instances, uint32_t large)
{
	struct bench *b = calloc(1, sizeof(*b));
	uint64_t t0, setup_ns, wall_ns, engine_ns = 0, rounds = 0, max_rounds;
	const char *why;

	if (b == NULL)
		return 2;
	b->batch = batch;
	b->window = window;
	b->large = large;
	if (large) {
		struct tr_msg accept = {.type = TR_MSG_ACCEPT}; /* its bytes without commands */

		b->large_batch = LARGE_MTU - LARGE_PKT_HDR_BYTES - LARGE_FRAME_HDR_BYTES -
				 (uint32_t)tr_wire_msg_bytes(&accept);
		b->part_bytes = b->large_batch - TR_WIRE_CMD_HDR_BYTES - TR_PART_HDR_BYTES;
	}
	b->parts = large ? (uint32_t)((tr_large_bytes(KEY_BYTES, large) + b->part_bytes - 1) /
				      b->part_bytes) : 1;
	instances -= instances % (TR_REPLICAS * b->parts); /* whole large sets per owner */
	/* 32 rounds of instances: slots recycle ~10 rounds (STATUS) after use */
	b->log_slots = LOG_SLOTS_MIN;
	while (b->log_slots < 32 * window)
		b->log_slots *= 2;
	t0 = now_ns();
	for (unsigned r = 0; r < TR_REPLICAS; r++) {
		node_init(b, r);
		b->node[r].quota = instances / TR_REPLICAS + (r < instances % TR_REPLICAS);
	}
	setup_ns = now_ns() - t0;
	max_rounds = 100 * (instances / window + 100);

	t0 = now_ns();
	while (applied_total(&b->node[0]) < instances ||
	       applied_total(&b->node[1]) < instances ||
	       applied_total(&b->node[2]) < instances) {
		if (++rounds > max_rounds)
			break;
		b->now += ROUND_NS;
		submit_and_flush(b);
		tick_due(b);
		deliver_all(b);
		apply_all(b);
	}
	wall_ns = now_ns() - t0;
	for (unsigned op = 0; op < OP_COUNT; op++)
		engine_ns += b->cost[op].ns;
	why = rounds > max_rounds ? "no progress" : check(b, instances);

	printf("{\"bench\":\"engine\",\"test\":\"setup\",\"batch\":%u,\"window\":%u,"
	       "\"log_slots\":%u,\"ns\":%" PRIu64 "}\n", batch, window, b->log_slots, setup_ns);
	printf("{\"bench\":\"engine\",\"test\":\"commit\",\"batch\":%u,\"window\":%u,"
	       "\"instances\":%" PRIu64 ",\"cmds\":%" PRIu64 ",\"msgs\":%" PRIu64
	       ",\"rounds\":%" PRIu64 ",\"wall_ns\":%" PRIu64 ",\"engine_ns\":%" PRIu64
	       ",\"ns_per_instance\":%.1f,\"ns_per_cmd\":%.1f,\"engine_ns_per_instance\":%.1f"
	       ",\"msgs_per_instance\":%.2f,\"cmd_bytes\":%u,\"wire_bytes_per_cmd\":%.1f"
	       ",\"digest\":\"%016" PRIx64 "\",\"ok\":%s}\n",
	       batch, window, instances, instances * batch, b->msgs, rounds, wall_ns, engine_ns,
	       (double)wall_ns / instances, (double)wall_ns / (instances * batch),
	       (double)engine_ns / instances, (double)b->msgs / instances, CMD_BYTES,
	       (double)b->msg_bytes / (instances * batch), b->node[0].sm.digest, why ? "false" : "true");
	fprintf(stderr, "batch %u, window %u: %" PRIu64 " instances (%" PRIu64 " cmds) in %.3f s"
		" (setup %.3f s)\n  %.1f ns/instance, %.1f ns/cmd wall; %.1f ns/instance in the"
		" engine; %.2f msgs/instance\n  %.1f message bytes per %u-byte command (%.2fx;"
		" frame and packet headers not counted)\n", batch, window, instances,
		instances * batch, wall_ns / 1e9, setup_ns / 1e9, (double)wall_ns / instances,
		(double)wall_ns / (instances * batch), (double)engine_ns / instances,
		(double)b->msgs / instances, (double)b->msg_bytes / (instances * batch), CMD_BYTES,
		(double)b->msg_bytes / (instances * batch) / CMD_BYTES);
	for (unsigned op = 1; op < OP_COUNT; op++)
		print_cost(b, op);
	if (large) {
		uint64_t sets = instances / b->parts;
		double per_set = (double)b->msg_bytes / sets;
		/* Each message in a frame and packet of its own: the most headers. */
		double per_set_pkt = per_set + (double)b->msgs / sets *
						       (LARGE_FRAME_HDR_BYTES + LARGE_PKT_HDR_BYTES);
		unsigned cmd = TR_WIRE_CMD_HDR_BYTES + KEY_BYTES + large;

		printf("{\"bench\":\"engine\",\"test\":\"large\",\"window\":%u,\"value_bytes\":%u,"
		       "\"part_bytes\":%u,\"parts\":%u,\"sets\":%" PRIu64 ",\"msg_bytes_per_set\":%.1f,"
		       "\"msg_bytes_per_value_byte\":%.3f,\"cmd_bytes\":%u,\"per_cmd_byte\":%.3f,"
		       "\"packet_bytes_per_set\":%.1f,\"packet_per_cmd_byte\":%.3f,\"ok\":%s}\n",
		       window, large, b->part_bytes, b->parts, sets, per_set, per_set / large, cmd,
		       per_set / cmd, per_set_pkt, per_set_pkt / cmd, why ? "false" : "true");
		fprintf(stderr, "  large sets of %u bytes: %u parts of %u bytes (an ACCEPT fills a %u-byte"
			" packet); %" PRIu64 " sets\n  %.1f message bytes each: %.3f per value byte,"
			" %.3fx the %u-byte command\n  %.1f with every message in a frame and UDP/IPv4"
			" packet of its own (+%u bytes each): %.3fx\n", large, b->parts,
			b->part_bytes, LARGE_MTU, sets, per_set, per_set / large, per_set / cmd, cmd,
			per_set_pkt, LARGE_FRAME_HDR_BYTES + LARGE_PKT_HDR_BYTES, per_set_pkt / cmd);
	}
	if (why != NULL)
		fprintf(stderr, "CHECK FAILED: %s\n", why);
	else
		fprintf(stderr, "  check ok: 3 replicas applied %" PRIu64 " instances, digest %016"
			PRIx64 "\n", instances, b->node[0].sm.digest);
	bench_free(b);
	free(b);
	return why ? 1 : 0;
}

static volatile uint64_t codec_sink;

/* (c): one message per frame, encoded then decoded; and the frame's CRC
 * alone (encode and decode each compute it once). */
static void
codec_one(const struct tr_msg *m, unsigned batch, uint64_t budget_bytes)
{
	static uint8_t buf[TR_BATCH_BYTES_MAX];
	static struct tr_msg rx[1];
	const struct tr_frame_hdr hdr = {.cluster_id = 0x7472, .from = 0, .to = 1, .column = 0};
	const struct tr_wire_limits lim = {.cluster_id = 0x7472, .self = 1,
					   .cmd_count_max = (uint16_t)batch,
					   .cmds_bytes_max = batch * CMD_BYTES, .fetch_span_max = 64};
	struct tr_frame_writer w;
	uint64_t iters, t0, enc_ns, dec_ns, crc_ns, sink = 0;
	size_t len = 0;
	unsigned count;

	tr_frame_begin(&w, buf, sizeof(buf), &hdr);
	tr_frame_add(&w, m);
	len = tr_frame_end(&w);
	iters = budget_bytes / len;
	iters = iters < 1000 ? 1000 : iters > 2000000 ? 2000000 : iters;

	t0 = now_ns();
	for (uint64_t i = 0; i < iters; i++) {
		tr_frame_begin(&w, buf, sizeof(buf), &hdr);
		tr_frame_add(&w, m);
		sink += tr_frame_end(&w);
	}
	enc_ns = now_ns() - t0;
	t0 = now_ns();
	for (uint64_t i = 0; i < iters; i++) {
		if (tr_frame_decode(buf, len, &lim, NULL, rx, 1, &count) != 0) {
			fprintf(stderr, "bench-engine: codec rejected its own frame\n");
			exit(1);
		}
		sink += rx[0].lsn;
	}
	dec_ns = now_ns() - t0;
	t0 = now_ns();
	for (uint64_t i = 0; i < iters; i++)
		sink += tr_crc32c((uint32_t)i, buf, len - TR_WIRE_CRC_BYTES);
	crc_ns = now_ns() - t0;
	codec_sink = sink; /* the loops' results are used */
	printf("{\"bench\":\"engine\",\"test\":\"codec\",\"batch\":%u,\"type\":\"%s\","
	       "\"frame_bytes\":%zu,\"iters\":%" PRIu64 ",\"encode_ns\":%.1f,\"decode_ns\":%.1f,"
	       "\"crc32c_ns\":%.1f}\n", batch, op_names[m->type] + 5, len, iters,
	       (double)enc_ns / iters, (double)dec_ns / iters, (double)crc_ns / iters);
	fprintf(stderr, "  %-13s %5zu B: encode %8.1f ns, decode %8.1f ns; crc32c alone %8.1f ns\n",
		op_names[m->type] + 5, len, (double)enc_ns / iters, (double)dec_ns / iters,
		(double)crc_ns / iters);
}

static void
run_codec(unsigned batch, uint64_t budget_bytes)
{
	uint8_t *cmds = malloc((size_t)batch * CMD_BYTES);
	struct tr_msg m = {.from = 0, .to = 1, .column = 0, .lsn = 12345,
			   .ballot = {1, 0}, .value = {.deps = {12345, 678, 910}, .proposer = 0}};
	size_t len = 0;

	if (cmds == NULL)
		exit(2);
	for (unsigned i = 0; i < batch; i++) {
		uint8_t k[KEY_BYTES], v[VAL_BYTES];
		struct tr_cmd c = make_set(1, i + 1, k, v);

		len += tr_cmd_encode(cmds + len, (size_t)batch * CMD_BYTES - len, &c);
	}
	m.value.cmd_count = (uint16_t)batch;
	m.value.cmds_len = (uint32_t)len;
	m.value.cmds = cmds;
	fprintf(stderr, "codec, one message per frame, %u commands per value:\n", batch);
	m.type = TR_MSG_ACCEPT;
	codec_one(&m, batch, budget_bytes);
	m.type = TR_MSG_ACCEPT_REPLY;
	m.reply = TR_REPLY_OK;
	codec_one(&m, batch, budget_bytes);
	m.type = TR_MSG_COMMIT;
	codec_one(&m, batch, budget_bytes);
	m = (struct tr_msg){.type = TR_MSG_STATUS, .from = 0, .to = 1, .column = 0,
			    .committed = 1000, .applied = 990, .known = {1000, 2000, 3000}};
	codec_one(&m, batch, budget_bytes);
	free(cmds);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench-engine [--quick] [--batch B] [--window W] [--commits N]"
		" [--large V]\n"
		"  default: batch 1 and 64, window 64, then the codec\n"
		"  --commits N: exactly N instances per batch size, no codec\n"
		"  --large V: sets of V-byte values (16..1048576) by parts, batch 1, no codec\n");
}

int
main(int argc, char **argv)
{
	bool quick = false;
	unsigned batch = 0, window = 64, batches[2] = {1, 64}, nbatches;
	uint64_t commits = 0;
	uint32_t large = 0;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			quick = true;
		else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
			batch = (unsigned)bench_arg(argv[++i], 1, 256, usage);
		else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc)
			window = (unsigned)bench_arg(argv[++i], 1, 1024, usage);
		else if (strcmp(argv[i], "--commits") == 0 && i + 1 < argc)
			commits = bench_arg(argv[++i], 1, UINT64_C(1) << 40, usage);
		else if (strcmp(argv[i], "--large") == 0 && i + 1 < argc)
			large = (uint32_t)bench_arg(argv[++i], 16, 1u << 20, usage);
		else {
			usage();
			return 2;
		}
	}
	if (large != 0) /* a part per instance */
		return run_commits(1, window, commits ? commits : (quick ? 20000 : 200000), large);
	if (batch != 0)
		batches[0] = batch;
	nbatches = batch != 0 ? 1 : 2;
	for (unsigned i = 0; i < nbatches; i++)
		rc |= run_commits(batches[i], window,
				  commits ? commits : (quick ? 400000 : 4000000) / (batches[i] + 6), 0);
	for (unsigned i = 0; i < nbatches && commits == 0; i++)
		run_codec(batches[i], quick ? 4u << 20 : 32u << 20);
	return rc;
}
