/* SPDX-License-Identifier: MIT
 * libFuzzer target: one replica (id 1) fed a fuzzed stream of events (fuzz.h
 * gives the input format): frames and messages from the two "peers", the
 * peers' natural answers to what the replica sent, ticks, client commands
 * and apply steps.
 *
 * The peers are adversarial: they may send anything the codec accepts,
 * including two different COMMITs for one slot. The replica answers such a
 * contradiction by stopping itself (shared.violation, crash-stop by design);
 * the run then ends there, after checking that a stopped replica stays
 * silent. Anything else must hold after every step:
 *   - no crash, no assertion, no sanitizer report;
 *   - an output never exceeds its msg_cap, and every message it holds comes
 *     from this replica and column, goes to a peer, obeys the limits, and
 *     survives encode + decode (with the receiver's limits) field for field;
 *   - known[c] never decreases; a column's committed prefix and base never
 *     decrease; base <= committed <= known; applied[c] never decreases and
 *     stays <= committed;
 *   - a committed slot stays committed with the very same value for as long
 *     as the replica holds it (every committed value seen is hashed and
 *     compared at every step);
 *   - each slot listed in out.committed_lsn is committed;
 *   - the applier applies each column's slots in order, each exactly once,
 *     with their committed value, and completes only this replica's column.
 * A failed check aborts (a finding).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "fuzz_engine: invariant failed at %s:%d: %s\n", \
				__FILE__, __LINE__, #cond);                              \
			abort();                                                         \
		}                                                                        \
	} while (0)

#define OUT_MSGS_MAX 255
#define HISTORY 32      /* recent output messages kept for REPLY */
#define SEEN_CAP 8192   /* committed (column, lsn) pairs remembered */
#define EVENTS_MAX 20000
#define FRAME_BUF (1u << 16)
#define TABLE_CELLS 64
#define TABLE_KEY 16
#define TABLE_VAL 32
#define CLIENTS_MAX 16
#define FUZZ_CLIENTS 4
#define FUZZ_W 8

/* An input being consumed. */
struct rd {
	const uint8_t *p;
	size_t left;
};

static uint8_t
rd_u8(struct rd *r)
{
	uint8_t v;

	if (r->left == 0)
		return 0;
	v = *r->p++;
	r->left--;
	return v;
}

static uint16_t
rd_u16(struct rd *r)
{
	uint16_t lo = rd_u8(r);

	return (uint16_t)(lo | (uint16_t)rd_u8(r) << 8);
}

static uint64_t
rd_u64(struct rd *r)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)rd_u8(r) << (8 * i);
	return v;
}

/* A message the replica sent, with its own copy of the value's commands. */
struct sent {
	struct tr_msg m;
	uint8_t cmds[FUZZ_BATCH_BYTES];
};

struct seen {
	uint64_t lsn_plus1; /* 0: empty */
	uint64_t hash;
	uint8_t column;
};

struct fz {
	struct tr_config cfg;
	struct tr_replica rep;
	void *mem;
	struct tr_table table;
	void *table_mem;
	struct tr_client_rec clients[CLIENTS_MAX];
	struct tr_sm sm;
	struct tr_applier applier;
	uint64_t now;
	unsigned out_cap;

	/* Observed so far (the monotonicity checks). */
	uint64_t known[TR_COLUMNS];
	uint64_t committed[TR_COLUMNS];
	uint64_t base[TR_COLUMNS];
	uint64_t applied[TR_COLUMNS];     /* as the applied callback counted */
	uint64_t client_seq[FUZZ_CLIENTS];
	uint32_t peer_inc[TR_REPLICAS];   /* J0: the fuzzed peers' current lives */

	struct sent hist[HISTORY];
	unsigned hist_n, hist_head;       /* hist_head: next to write */

	struct seen seen[SEEN_CAP];
	unsigned seen_n;
};

static struct fz fz;
/* Over a replay (fuzz_replay_check): message types delivered to the replica
 * and sent by it, reply kinds delivered. */
static uint32_t rx_types, tx_types, rx_replies;
static bool trace; /* FUZZ_TRACE set: every event and message to stderr */
static struct tr_msg out_msgs[OUT_MSGS_MAX];
static struct tr_msg rx_msgs[TR_FRAME_MSGS_MAX];
static uint8_t frame_buf[FRAME_BUF];
static struct tr_msg dec_msg;

/* Hashing values: FNV-1a over the fields and the commands. */
static uint64_t
fnv(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

static uint64_t
value_hash(const struct tr_value *v)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	h = fnv(h, v->deps, sizeof(v->deps));
	h = fnv(h, &v->proposer, sizeof(v->proposer));
	h = fnv(h, &v->cmd_count, sizeof(v->cmd_count));
	h = fnv(h, &v->cmds_len, sizeof(v->cmds_len));
	if (v->cmds_len > 0)
		h = fnv(h, v->cmds, v->cmds_len);
	return h;
}

static struct seen *
seen_find(unsigned column, uint64_t lsn, bool insert)
{
	uint64_t k = (lsn * 3 + column) * UINT64_C(0x9E3779B97F4A7C15);
	unsigned i = (unsigned)(k >> 40) & (SEEN_CAP - 1);

	for (unsigned n = 0; n < SEEN_CAP; n++, i = (i + 1) & (SEEN_CAP - 1)) {
		struct seen *e = &fz.seen[i];

		if (e->lsn_plus1 == 0) {
			if (!insert || fz.seen_n >= SEEN_CAP * 3 / 4)
				return NULL;
			e->lsn_plus1 = lsn + 1;
			e->column = (uint8_t)column;
			fz.seen_n++;
			return e;
		}
		if (e->lsn_plus1 == lsn + 1 && e->column == column)
			return e;
	}
	return NULL;
}

static bool
slot_is_committed(const struct tr_slot *s)
{
	return atomic_load_explicit(&((struct tr_slot *)s)->committed, memory_order_acquire) ==
	       s->lsn + 1;
}

/* Output messages. */

static bool
ballot_eq(struct tr_ballot a, struct tr_ballot b)
{
	return a.n == b.n && a.replica == b.replica && a.inc == b.inc;
}

static bool
value_eq(const struct tr_value *a, const struct tr_value *b)
{
	return memcmp(a->deps, b->deps, sizeof(a->deps)) == 0 && a->proposer == b->proposer &&
	       a->cmd_count == b->cmd_count && a->cmds_len == b->cmds_len &&
	       (a->cmds_len == 0 || memcmp(a->cmds, b->cmds, a->cmds_len) == 0);
}

static void
check_out_value(const struct tr_value *v)
{
	CHECK(v->proposer < TR_REPLICAS);
	CHECK(v->cmd_count <= fz.cfg.batch_cmds_max && v->cmds_len <= fz.cfg.batch_bytes_max);
	CHECK(tr_cmds_validate(v->cmds, v->cmds_len, v->cmd_count) == TR_WIRE_OK);
}

/* The message encodes into a frame on its own and decodes, with the
 * receiver's limits, to the same fields. */
static void
check_out_msg(const struct tr_msg *m, unsigned column)
{
	struct tr_frame_hdr hdr = {.cluster_id = fz.cfg.cluster_id, .from = FUZZ_SELF,
				   .to = m->to, .column = (uint8_t)column, .inc = m->inc};
	struct tr_wire_limits lim = fuzz_limits(&fz.cfg, m->to);
	struct tr_frame_writer w;
	struct tr_frame_hdr dh;
	const struct tr_msg *d = &dec_msg;
	unsigned n;
	size_t len;
	int rc;

	CHECK(m->type >= TR_MSG_ACCEPT && m->type < TR_MSG_TYPE_COUNT);
	CHECK(m->from == FUZZ_SELF && m->to < TR_REPLICAS && m->to != FUZZ_SELF);
	CHECK(m->column == column);
	/* J0: every message carries this life's incarnation (0 only while an
	 * amnesiac has not learned it: its JOINs). */
	CHECK(m->inc == tr_replica_inc(&fz.rep));
	CHECK(m->inc != 0 || m->type == TR_MSG_JOIN);
	if (m->type == TR_MSG_JOIN) {
		CHECK(fz.cfg.join && column == FUZZ_SELF);
		CHECK(atomic_load(&fz.rep.shared.join_state) == TR_JOIN_WAITING);
	}
	/* J1: until both peers answered, an amnesiac sends nothing but JOINs. */
	if (atomic_load(&fz.rep.shared.join_state) == TR_JOIN_WAITING)
		CHECK(m->type == TR_MSG_JOIN);
	if (m->type == TR_MSG_ACCEPT) {
		/* P2: ballots of this replica, at this life, never wrapped. */
		CHECK(m->ballot.replica == FUZZ_SELF && m->ballot.inc == m->inc);
		CHECK(m->ballot.n >= 1 && m->ballot.n <= TR_BALLOT_N_MAX);
		CHECK(tr_ballot_cmp(m->vbal, m->ballot) < 0);
	}
	if (m->type == TR_MSG_READ_INDEX || m->type == TR_MSG_READ_INDEX_REPLY)
		CHECK(column == (m->type == TR_MSG_READ_INDEX ? FUZZ_SELF : m->to));
	if (m->type == TR_MSG_JOIN_REPLY) {
		CHECK(column == m->to);
		/* (The frontier is read at each answer, H at the first: it
		 * may lie above H.) */
		for (unsigned i = 0; i < TR_COLUMNS; i++)
			CHECK(m->known[i] <= TR_LSN_MAX && m->frontier[i] <= TR_LSN_MAX);
	}
	if (m->type == TR_MSG_TOO_OLD)
		CHECK(m->lsn == fz.rep.col[column].base && m->lsn > 0);
	if (m->type == TR_MSG_ACCEPT_REPLY)
		CHECK(m->reply == TR_REPLY_OK || m->reply == TR_REPLY_OK_COMMITTED ||
		      m->reply == TR_REPLY_REJECT || m->reply == TR_REPLY_REFUSED);
	if (m->type == TR_MSG_ACCEPT || m->type == TR_MSG_COMMIT ||
	    m->type == TR_MSG_FETCH_REPLY ||
	    (m->type == TR_MSG_ACCEPT_REPLY && m->reply != TR_REPLY_REJECT &&
	     m->reply != TR_REPLY_REFUSED))
		check_out_value(&m->value);

	CHECK(tr_frame_begin(&w, frame_buf, sizeof(frame_buf), &hdr) == TR_WIRE_OK);
	CHECK(tr_frame_add(&w, m) == TR_WIRE_OK);
	len = tr_frame_end(&w);
	rc = tr_frame_decode(frame_buf, len, &lim, &dh, &dec_msg, 1, &n);
	if (rc != TR_WIRE_OK)
		fprintf(stderr, "fuzz_engine: output type %u lsn %llu rejected: %s\n", m->type,
			(unsigned long long)m->lsn, tr_wire_strerror(rc));
	CHECK(rc == TR_WIRE_OK && n == 1);
	CHECK(d->type == m->type && d->from == m->from && d->to == m->to && d->column == column);
	CHECK(d->inc == m->inc && dh.inc == m->inc);
	switch (m->type) {
	case TR_MSG_ACCEPT:
		CHECK(d->lsn == m->lsn && ballot_eq(d->ballot, m->ballot) &&
		      ballot_eq(d->vbal, m->vbal) && value_eq(&d->value, &m->value));
		break;
	case TR_MSG_ACCEPT_REPLY:
		CHECK(d->lsn == m->lsn && ballot_eq(d->ballot, m->ballot) && d->reply == m->reply);
		CHECK(d->ref == m->ref);
		if (m->reply == TR_REPLY_REJECT)
			CHECK(ballot_eq(d->promised, m->promised));
		else if (m->ref) /* W1: the deps only */
			CHECK(memcmp(d->value.deps, m->value.deps, sizeof(d->value.deps)) == 0 &&
			      d->value.cmd_count == 0);
		else if (m->reply != TR_REPLY_REFUSED)
			CHECK(value_eq(&d->value, &m->value));
		break;
	case TR_MSG_COMMIT:
		CHECK(d->ref == m->ref && d->lsn == m->lsn);
		if (m->ref) /* W2: the ballot only */
			CHECK(ballot_eq(d->ballot, m->ballot) && d->value.cmd_count == 0);
		else
			CHECK(value_eq(&d->value, &m->value));
		break;
	case TR_MSG_FETCH_REPLY:
		CHECK(d->lsn == m->lsn && value_eq(&d->value, &m->value));
		break;
	case TR_MSG_FETCH:
		CHECK(d->lsn == m->lsn && d->lsn_end == m->lsn_end);
		break;
	case TR_MSG_STATUS:
		CHECK(d->committed == m->committed && d->applied == m->applied &&
		      memcmp(d->known, m->known, sizeof(d->known)) == 0);
		break;
	case TR_MSG_READ_INDEX:
	case TR_MSG_JOIN:
		CHECK(d->read_id == m->read_id);
		break;
	case TR_MSG_READ_INDEX_REPLY:
		CHECK(d->read_id == m->read_id && memcmp(d->known, m->known, sizeof(d->known)) == 0);
		break;
	case TR_MSG_TOO_OLD:
		CHECK(d->lsn == m->lsn);
		break;
	case TR_MSG_JOIN_REPLY:
		CHECK(d->read_id == m->read_id && d->inc_seen == m->inc_seen &&
		      memcmp(d->known, m->known, sizeof(d->known)) == 0 &&
		      memcmp(d->frontier, m->frontier, sizeof(d->frontier)) == 0);
		break;
	default:
		break; /* a type added since: the byte-level round trip below */
	}
	/* Every type: what was decoded encodes to the very same bytes. */
	{
		static uint8_t again[FRAME_BUF];

		CHECK(tr_frame_begin(&w, again, sizeof(again), &dh) == TR_WIRE_OK);
		CHECK(tr_frame_add(&w, d) == TR_WIRE_OK);
		CHECK(tr_frame_end(&w) == len && memcmp(again, frame_buf, len) == 0);
	}
}

static const char *
type_name(uint8_t type)
{
	static const char *const names[] = {
		"?",      "ACCEPT",     "ACCEPT_REPLY",     "COMMIT",  "FETCH",
		"FETCH_REPLY", "STATUS", "READ_INDEX", "READ_INDEX_REPLY", "TOO_OLD",
		"JOIN",   "JOIN_REPLY",
	};

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "type";
}

static void
trace_msg(const char *dir, const struct tr_msg *m)
{
	if (!trace)
		return;
	fprintf(stderr, "  %s %s(%u) %u->%u inc %u col %u lsn %llu", dir, type_name(m->type),
		m->type, m->from, m->to, m->inc, m->column, (unsigned long long)m->lsn);
	switch (m->type) {
	case TR_MSG_ACCEPT:
		fprintf(stderr, " b (%u,%u,%u) vbal (%u,%u,%u)", m->ballot.n, m->ballot.inc,
			m->ballot.replica, m->vbal.n, m->vbal.inc, m->vbal.replica);
		break;
	case TR_MSG_ACCEPT_REPLY:
		fprintf(stderr, " b (%u,%u) reply %u promised (%u,%u)", m->ballot.n,
			m->ballot.replica, m->reply, m->promised.n, m->promised.replica);
		break;
	case TR_MSG_FETCH:
		fprintf(stderr, " end %llu", (unsigned long long)m->lsn_end);
		break;
	case TR_MSG_STATUS:
		fprintf(stderr, " committed %llu applied %llu known %llu,%llu,%llu",
			(unsigned long long)m->committed, (unsigned long long)m->applied,
			(unsigned long long)m->known[0], (unsigned long long)m->known[1],
			(unsigned long long)m->known[2]);
		break;
	case TR_MSG_READ_INDEX:
	case TR_MSG_READ_INDEX_REPLY:
	case TR_MSG_JOIN:
	case TR_MSG_JOIN_REPLY:
		fprintf(stderr, " id %llu known %llu,%llu,%llu inc_seen %u",
			(unsigned long long)m->read_id, (unsigned long long)m->known[0],
			(unsigned long long)m->known[1], (unsigned long long)m->known[2],
			m->inc_seen);
		break;
	}
	if (m->type == TR_MSG_ACCEPT || m->type == TR_MSG_COMMIT ||
	    m->type == TR_MSG_FETCH_REPLY ||
	    (m->type == TR_MSG_ACCEPT_REPLY && m->reply != TR_REPLY_REJECT &&
	     m->reply != TR_REPLY_REFUSED))
		fprintf(stderr, " value p%u deps %llu,%llu,%llu cmds %u/%u", m->value.proposer,
			(unsigned long long)m->value.deps[0], (unsigned long long)m->value.deps[1],
			(unsigned long long)m->value.deps[2], m->value.cmd_count, m->value.cmds_len);
	fprintf(stderr, "\n");
}

static void
remember(const struct tr_msg *m)
{
	struct sent *s = &fz.hist[fz.hist_head];

	s->m = *m;
	if (m->value.cmds_len > 0 && m->value.cmds_len <= sizeof(s->cmds)) {
		memcpy(s->cmds, m->value.cmds, m->value.cmds_len);
		s->m.value.cmds = s->cmds;
	} else {
		s->m.value.cmds = NULL;
		s->m.value.cmds_len = 0;
		s->m.value.cmd_count = 0;
	}
	fz.hist_head = (fz.hist_head + 1) % HISTORY;
	if (fz.hist_n < HISTORY)
		fz.hist_n++;
}

/* The replica-wide invariants, after any step. */
static void
check_state(void)
{
	for (unsigned ci = 0; ci < TR_COLUMNS; ci++) {
		const struct tr_column *c = &fz.rep.col[ci];
		uint64_t known = tr_known(&fz.rep, ci);
		uint64_t applied = atomic_load(&fz.rep.shared.applied[ci]);

		CHECK(known >= fz.known[ci]);
		CHECK(known <= TR_LSN_MAX);
		CHECK(c->committed >= fz.committed[ci] && c->base >= fz.base[ci]);
		CHECK(c->base <= c->committed && c->committed <= known);
		CHECK(applied == fz.applied[ci] && applied <= c->committed);
		if (c->owned) {
			CHECK(c->repropose_count <= fz.cfg.inflight_max);
			CHECK(c->pending_off <= c->pending_len &&
			      c->pending_len <= fz.cfg.pending_bytes_max);
		}
		fz.known[ci] = known;
		fz.committed[ci] = c->committed;
		fz.base[ci] = c->base;

		/* The committed prefix really is committed. */
		if (c->committed > c->base) {
			const struct tr_slot *h = tr_column_slot(c, c->committed - 1);

			CHECK(h != NULL && slot_is_committed(h));
		}
		/* Every ring cell: committed values never change, never revert. */
		for (uint64_t i = 0; i <= c->mask; i++) {
			const struct tr_slot *s = &c->slots[i];
			struct seen *e;

			if (s->lsn == UINT64_MAX)
				continue;
			CHECK((s->lsn & c->mask) == i);
			if (s->lsn < c->base)
				continue; /* recycled: no longer held */
			CHECK(s->lsn - c->base <= c->mask);
			CHECK(tr_column_slot(c, s->lsn) == s);
			if (!slot_is_committed(s)) {
				CHECK(s->lsn >= c->committed);
				e = seen_find(ci, s->lsn, false);
				CHECK(e == NULL); /* was committed once */
				continue;
			}
			CHECK(s->value.cmds == s->cmds);
			CHECK(s->value.cmds_len <= fz.cfg.batch_bytes_max);
			CHECK(tr_cmds_validate(s->value.cmds, s->value.cmds_len,
					       s->value.cmd_count) == TR_WIRE_OK);
			e = seen_find(ci, s->lsn, true);
			if (e == NULL)
				continue; /* table full: stop remembering */
			if (e->hash == 0)
				e->hash = value_hash(&s->value) | 1;
			else
				CHECK(e->hash == (value_hash(&s->value) | 1));
		}
	}
}

/* After an engine step on column ci with output out. */
static void
check_step(unsigned ci, const struct tr_out *out)
{
	CHECK(out->msg_count <= out->msg_cap && out->msg_cap == fz.out_cap);
	CHECK(out->committed_count <= 4);
	for (unsigned i = 0; i < out->msg_count; i++) {
		trace_msg("send", &out->msgs[i]);
		tx_types |= 1u << out->msgs[i].type;
		check_out_msg(&out->msgs[i], ci);
		remember(&out->msgs[i]);
	}
	for (unsigned i = 0; i < out->committed_count; i++) {
		const struct tr_slot *s = tr_column_slot(&fz.rep.col[ci], out->committed_lsn[i]);

		/* Cells are recycled by ticks only, never in the step that commits. */
		CHECK(s != NULL && slot_is_committed(s));
	}
	check_state();
}

/* Stopped replicas stay silent. */
static void
check_stopped(void)
{
	struct tr_out out = {.msgs = out_msgs, .msg_cap = fz.out_cap};

	for (unsigned ci = 0; ci < TR_COLUMNS; ci++) {
		tr_out_reset(&out);
		tr_column_tick(&fz.rep.col[ci], fz.now + UINT64_C(1000000000), &out);
		CHECK(out.msg_count == 0);
		tr_out_reset(&out);
		tr_column_flush(&fz.rep.col[ci], fz.now, &out);
		CHECK(out.msg_count == 0);
	}
	CHECK(tr_apply(&fz.applier, 1000) == 0);
	CHECK(fz.rep.violation_why != NULL);
	/* Only a contradiction the peers planted may stop it (C1, A3, a STATUS
	 * with other state-machine limits, or one that heard more of this
	 * replica than it remembers, J5): a stop for anything else (ballots
	 * exhausted) is a hostile message stopping an honest replica (issue
	 * 17). */
	CHECK(strncmp(fz.rep.violation_why, "C1:", 3) == 0 ||
	      strncmp(fz.rep.violation_why, "A3:", 3) == 0 ||
	      strncmp(fz.rep.violation_why, "J5:", 3) == 0 ||
	      strncmp(fz.rep.violation_why, "cluster configuration differs", 29) == 0);
}

static bool
stopped(void)
{
	return atomic_load(&fz.rep.shared.violation) != 0;
}

/* Applier callbacks. */
static void
on_complete(void *ctx, const struct tr_completion *d)
{
	(void)ctx;
	CHECK(d->column == FUZZ_SELF);
	CHECK(d->op == TR_OP_SET || d->op == TR_OP_GET || d->op == TR_OP_DEL);
	CHECK(d->res.status <= TR_ST_FULL);
	if (d->lsn == TR_LSN_BARRIER)
		CHECK(d->op == TR_OP_GET); /* Q3: a barrier read, answered */
	else
		CHECK(d->lsn == fz.applied[d->column]); /* before on_applied counts it */
}

static void
on_applied(void *ctx, unsigned column, uint64_t lsn, const struct tr_value *v)
{
	const struct tr_slot *s = tr_column_slot(&fz.rep.col[column], lsn);
	struct seen *e = seen_find(column, lsn, false);

	(void)ctx;
	CHECK(column < TR_COLUMNS && lsn == fz.applied[column]);
	CHECK(s != NULL && slot_is_committed(s) && &s->value == v);
	if (e != NULL)
		CHECK(e->hash == (value_hash(v) | 1));
	fz.applied[column]++;
}

/* Delivering messages. */

/* Built with -DFUZZ_SKIP_KNOWN: drop the inputs that trigger the findings
 * still open (fuzz/README.md), to look past them. Never in CI. */
static bool
drop_known_issue(unsigned column, const struct tr_msg *m)
{
#ifdef FUZZ_SKIP_KNOWN
	/* F1: state in the owner's column at or past next_lsn. */
	if (column == FUZZ_SELF && m->type != TR_MSG_FETCH && m->type != TR_MSG_STATUS &&
	    m->lsn >= fz.rep.col[column].next_lsn)
		return true;
	/* F2: ballots near UINT32_MAX (the next ballot wraps to 0). */
	if (m->ballot.n >= UINT32_C(0x80000000) || m->vbal.n >= UINT32_C(0x80000000) ||
	    m->promised.n >= UINT32_C(0x80000000))
		return true;
#else
	(void)column;
	(void)m;
#endif
	return false;
}

static uint64_t
implausible_total(const struct tr_column *c)
{
	uint64_t n = 0;

	for (unsigned k = 0; k < TR_IMPLAUSIBLE_COUNT; k++)
		n += c->stats.implausible[k];
	return n;
}

/* What an implausible message must leave as it was (issue 17). */
struct before {
	uint64_t known[TR_COLUMNS];
	uint64_t committed, next_lsn;
	struct tr_peer peer;
	bool has_slot;
	struct tr_slot slot;
};

static void
take_before(const struct tr_column *c, const struct tr_msg *m, struct before *b)
{
	const struct tr_slot *s = tr_column_slot(c, m->lsn);

	for (unsigned i = 0; i < TR_COLUMNS; i++)
		b->known[i] = tr_known(&fz.rep, i);
	b->committed = c->committed;
	b->next_lsn = c->next_lsn;
	b->peer = c->peers[m->from];
	b->has_slot = s != NULL;
	if (s != NULL)
		memcpy(&b->slot, s, sizeof(b->slot));
}

static void
check_unchanged(const struct tr_column *c, const struct tr_msg *m, const struct before *b,
		const struct tr_out *out)
{
	const struct tr_slot *s = tr_column_slot(c, m->lsn);

	CHECK(out->msg_count == 0 && out->committed_count == 0);
	for (unsigned i = 0; i < TR_COLUMNS; i++)
		CHECK(tr_known(&fz.rep, i) == b->known[i]);
	CHECK(c->committed == b->committed && c->next_lsn == b->next_lsn);
	/* (The header's incarnation was admitted first, J0: a new life of the
	 * sender resets what the column believed of it.) */
	CHECK(c->peers[m->from].heard_ns == b->peer.heard_ns);
	if (c->peers[m->from].inc == b->peer.inc)
		CHECK(memcmp(&c->peers[m->from], &b->peer, sizeof(b->peer)) == 0);
	CHECK((s != NULL) == b->has_slot);
	if (s != NULL)
		CHECK(memcmp(s, &b->slot, sizeof(*s)) == 0);
}

static void
deliver(unsigned column, const struct tr_msg *msgs, unsigned count)
{
	struct tr_out out = {.msgs = out_msgs, .msg_cap = fz.out_cap};
	struct tr_column *c = &fz.rep.col[column];

	for (unsigned i = 0; i < count && !stopped(); i++) {
		struct before b;
		uint64_t dropped = implausible_total(c);

		if (drop_known_issue(column, &msgs[i]))
			continue;
		trace_msg("recv", &msgs[i]);
		rx_types |= 1u << msgs[i].type;
		if (msgs[i].type == TR_MSG_ACCEPT_REPLY)
			rx_replies |= 1u << msgs[i].reply;
		take_before(c, &msgs[i], &b);
		tr_out_reset(&out);
		tr_column_recv(c, &msgs[i], fz.now, &out);
		if (implausible_total(c) != dropped) {
			/* Dropped as implausible: counted once, nothing changed. */
			CHECK(implausible_total(c) == dropped + 1);
			if (trace)
				fprintf(stderr, "  implausible\n");
			check_unchanged(c, &msgs[i], &b, &out);
		}
		check_step(column, &out);
	}
}

/* The runtime's receive path: decode with the replica's limits, drop what
 * fails, hand the rest to the column the frame names. */
static void
recv_frame(const uint8_t *buf, size_t len)
{
	struct tr_wire_limits lim = fuzz_limits(&fz.cfg, FUZZ_SELF);
	struct tr_frame_hdr hdr;
	unsigned count;

	int rc = tr_frame_decode(buf, len, &lim, &hdr, rx_msgs, TR_FRAME_MSGS_MAX, &count);

	if (rc != 0) {
		if (trace)
			fprintf(stderr, "  frame of %zu bytes dropped: %s\n", len,
				tr_wire_strerror(rc));
		return;
	}
	CHECK(hdr.to == FUZZ_SELF && hdr.column < TR_COLUMNS && count >= 1);
	deliver(hdr.column, rx_msgs, count);
}

/* A peer's message goes through the codec like anything from the network. */
static void
send_to_self(const struct tr_msg *m)
{
	static uint8_t buf[FRAME_BUF];
	struct tr_frame_hdr hdr = {.cluster_id = fz.cfg.cluster_id, .from = m->from,
				   .to = FUZZ_SELF, .column = m->column, .inc = m->inc};
	struct tr_frame_writer w;

	if (m->from >= TR_REPLICAS || m->from == FUZZ_SELF || m->column >= TR_COLUMNS)
		return;
	if (tr_frame_begin(&w, buf, sizeof(buf), &hdr) != 0 || tr_frame_add(&w, m) != 0)
		return;
	recv_frame(buf, tr_frame_end(&w));
}

/* Building commands and values from the input. */

static uint8_t cmd_scratch[4][FUZZ_BATCH_BYTES];
static uint8_t key_scratch[4][4];
static uint8_t val_scratch[4][16];

static void
build_cmd(struct rd *r, struct tr_cmd *c, unsigned k)
{
	uint8_t op = rd_u8(r), client = rd_u8(r), seq = rd_u8(r), key = rd_u8(r);
	uint8_t vlen = rd_u8(r) % 17;

	c->op = (uint8_t)(1 + op % 3);
	c->window = (uint8_t)(op & 0x80 ? 1 + (op >> 2) % TR_WINDOW_MAX : FUZZ_W);
	c->client_id = client % FUZZ_CLIENTS;
	c->seq = seq;
	key_scratch[k][0] = 'k';
	key_scratch[k][1] = (uint8_t)('0' + key % 8);
	c->key = key_scratch[k];
	c->key_len = key & 0x80 ? 0 : 2;
	if (c->op == TR_OP_SET) {
		for (unsigned i = 0; i < vlen; i++)
			val_scratch[k][i] = rd_u8(r);
		c->val = val_scratch[k];
		c->val_len = vlen;
	} else {
		c->val = NULL;
		c->val_len = 0;
	}
}

static void
build_value(struct rd *r, struct tr_value *v, unsigned k)
{
	uint8_t spec = rd_u8(r);
	unsigned ncmds = 0;

	memset(v, 0, sizeof(*v));
	v->proposer = (uint8_t)((spec >> 2) % TR_REPLICAS);
	for (int i = 0; i < TR_COLUMNS; i++) {
		uint8_t b = rd_u8(r);

		v->deps[i] = b == 0xff ? rd_u16(r) : b;
	}
	switch (spec & 3) {
	case 0:
		return; /* NOOP */
	case 1:
		ncmds = 1;
		break;
	case 2: { /* the value of a message the replica sent */
		uint8_t idx = rd_u8(r);

		if (fz.hist_n > 0) {
			const struct sent *s =
				&fz.hist[(fz.hist_head + HISTORY - 1 - idx % fz.hist_n) % HISTORY];

			memcpy(v->deps, s->m.value.deps, sizeof(v->deps));
			v->proposer = s->m.value.proposer;
			v->cmd_count = s->m.value.cmd_count;
			v->cmds_len = s->m.value.cmds_len;
			if (v->cmds_len > 0) {
				memcpy(cmd_scratch[k], s->cmds, v->cmds_len);
				v->cmds = cmd_scratch[k];
			}
		}
		return;
	}
	default:
		ncmds = 2 + (spec >> 4) % 7;
		break;
	}
	for (unsigned i = 0; i < ncmds; i++) {
		struct tr_cmd c;
		size_t n;

		build_cmd(r, &c, 3);
		n = tr_cmd_encode(cmd_scratch[k] + v->cmds_len, sizeof(cmd_scratch[k]) - v->cmds_len,
				  &c);
		if (n == 0)
			break;
		v->cmds_len += (uint32_t)n;
		v->cmd_count++;
	}
	v->cmds = v->cmd_count > 0 ? cmd_scratch[k] : NULL;
}

/* Q1: the id of the newest barrier in flight (0 when none). */
static uint64_t
newest_barrier_id(const struct tr_column *c)
{
	if (c->barrier_count == 0)
		return 0;
	return c->barriers[(c->barrier_head + c->barrier_count - 1) % fz.cfg.read_barriers_max].id;
}

static uint64_t
build_lsn(struct rd *r, unsigned column)
{
	uint8_t b = rd_u8(r);

	if (b < 0xf0)
		return b;
	if (b < 0xf8) /* around the committed prefix */
		return fz.rep.col[column].committed + (b & 7);
	if (b < 0xfe)
		return rd_u16(r);
	return rd_u64(r) & (2 * TR_LSN_MAX - 1); /* sometimes out of range */
}

static struct tr_ballot
build_ballot(struct rd *r, bool none_ok)
{
	uint8_t n8 = rd_u8(r), who = rd_u8(r);
	uint32_t n = n8 < 0xff ? n8 : (uint32_t)rd_u64(r) % (TR_BALLOT_N_MAX + 1); /* sometimes huge */
	struct tr_ballot b = {.n = n, .replica = (uint8_t)(who % TR_REPLICAS)};

	/* J0: the ballot's maker's incarnation, or (who & 0x80) another one. */
	if (who & 0x80)
		b.inc = (who >> 4) & 7;
	else if (b.replica == FUZZ_SELF)
		b.inc = tr_replica_inc(&fz.rep);
	else
		b.inc = fz.peer_inc[b.replica];
	if (n == 0 && none_ok)
		b = (struct tr_ballot){0};
	else if (n == 0)
		b.n = 1;
	return b;
}

static void
ev_msg(struct rd *r, unsigned arg)
{
	struct tr_msg m;
	uint8_t inc = rd_u8(r), type = rd_u8(r);

	memset(&m, 0, sizeof(m));
	m.column = (uint8_t)(arg % TR_COLUMNS);
	m.from = (uint8_t)(arg / TR_COLUMNS % TR_REPLICAS);
	if (m.from == FUZZ_SELF)
		m.from = (FUZZ_SELF + 1) % TR_REPLICAS;
	m.to = FUZZ_SELF;
	/* J0: the sender's current life, a new one, or any (perhaps older). */
	if (inc >= 0xf0 && inc < 0xf8)
		fz.peer_inc[m.from]++;
	m.inc = inc < 0xf8 ? fz.peer_inc[m.from] : (uint32_t)(inc & 7);
	m.type = (uint8_t)(1 + type % (TR_MSG_TYPE_COUNT - 1));
	switch (m.type) {
	case TR_MSG_ACCEPT:
		m.lsn = build_lsn(r, m.column);
		m.ballot = build_ballot(r, false);
		m.vbal = build_ballot(r, true);
		build_value(r, &m.value, 0);
		break;
	case TR_MSG_ACCEPT_REPLY:
		m.lsn = build_lsn(r, m.column);
		m.ballot = build_ballot(r, false);
		m.reply = (uint8_t)(1 + (type >> 4) % 4);
		if (m.reply == TR_REPLY_REJECT)
			m.promised = build_ballot(r, false);
		else if (m.reply != TR_REPLY_REFUSED)
			build_value(r, &m.value, 0);
		break;
	case TR_MSG_COMMIT:
	case TR_MSG_FETCH_REPLY:
		m.lsn = build_lsn(r, m.column);
		build_value(r, &m.value, 0);
		break;
	case TR_MSG_FETCH:
		m.lsn = build_lsn(r, m.column);
		m.lsn_end = m.lsn + 1 + rd_u8(r) % (FUZZ_FETCH_SPAN + 8);
		break;
	case TR_MSG_STATUS:
		m.committed = build_lsn(r, m.column);
		m.applied = build_lsn(r, m.column);
		for (int i = 0; i < TR_COLUMNS; i++)
			m.known[i] = build_lsn(r, (unsigned)i);
		m.sm_keys_max = fz.cfg.sm_keys_max; /* a mismatch stops the replica */
		m.sm_clients_max = fz.cfg.sm_clients_max;
		break;
	case TR_MSG_READ_INDEX:
	case TR_MSG_JOIN:
		m.read_id = rd_u8(r);
		break;
	case TR_MSG_READ_INDEX_REPLY: /* the id of the newest barrier in flight, mostly */
		m.read_id = (type & 0x80) ? rd_u8(r) : newest_barrier_id(&fz.rep.col[m.column]);
		for (int i = 0; i < TR_COLUMNS; i++)
			m.known[i] = build_lsn(r, (unsigned)i);
		break;
	case TR_MSG_TOO_OLD:
		m.lsn = build_lsn(r, m.column);
		break;
	case TR_MSG_JOIN_REPLY: /* the JOIN in flight's id, mostly */
		m.read_id = (type & 0x80) ? rd_u8(r) : fz.rep.join_id;
		m.inc_seen = rd_u8(r) % 8;
		for (int i = 0; i < TR_COLUMNS; i++) {
			m.known[i] = build_lsn(r, (unsigned)i);
			m.frontier[i] = build_lsn(r, (unsigned)i);
		}
		break;
	default: /* a type added since: the generic fields it may use */
		m.lsn = build_lsn(r, m.column);
		for (int i = 0; i < TR_COLUMNS; i++)
			m.known[i] = build_lsn(r, (unsigned)i);
		m.sm_keys_max = fz.cfg.sm_keys_max; /* a mismatch stops the replica */
		m.sm_clients_max = fz.cfg.sm_clients_max;
		break;
	}
	send_to_self(&m);
}

/* A peer's natural answer to a message the replica sent. */
static void
ev_reply(struct rd *r)
{
	uint8_t idx = rd_u8(r), mode = rd_u8(r);
	const struct sent *s;
	struct tr_msg m;

	if (fz.hist_n == 0)
		return;
	s = &fz.hist[(fz.hist_head + HISTORY - 1 - idx % fz.hist_n) % HISTORY];
	memset(&m, 0, sizeof(m));
	m.from = s->m.to;
	m.to = FUZZ_SELF;
	m.column = s->m.column;
	m.lsn = s->m.lsn;
	m.inc = fz.peer_inc[m.from];
	switch (s->m.type) {
	case TR_MSG_ACCEPT:
		if (mode % 16 == 15) { /* J2: it is joining and cannot vote here */
			m.type = TR_MSG_ACCEPT_REPLY;
			m.ballot = s->m.ballot;
			m.reply = TR_REPLY_REFUSED;
			break;
		}
		if (mode % 16 == 14 && s->m.lsn > 0) { /* T1: it recycled the slot */
			m.type = TR_MSG_TOO_OLD;
			m.lsn = s->m.lsn;
			break;
		}
		switch (mode % 6) {
		case 0: /* the peer votes the value (A2/A3: deps may grow) */
		case 5:
			m.type = TR_MSG_ACCEPT_REPLY;
			m.ballot = s->m.ballot;
			m.reply = TR_REPLY_OK;
			m.value = s->m.value;
			if (mode & 0x80)
				m.value.deps[((mode >> 3) & 3) % TR_COLUMNS] += (mode >> 5) & 3;
			break;
		case 1: /* it had committed the slot already */
			m.type = TR_MSG_ACCEPT_REPLY;
			m.ballot = s->m.ballot;
			m.reply = TR_REPLY_OK_COMMITTED;
			m.value = s->m.value;
			break;
		case 2: /* it promised a higher ballot */
			m.type = TR_MSG_ACCEPT_REPLY;
			m.ballot = s->m.ballot;
			m.reply = TR_REPLY_REJECT;
			m.promised = (struct tr_ballot){.n = s->m.ballot.n + 1 + (mode >> 3),
							.replica = (uint8_t)(mode >> 6 & 1 ? m.from : 0)};
			m.promised.inc = m.promised.replica == FUZZ_SELF
						 ? s->m.ballot.inc
						 : fz.peer_inc[m.promised.replica];
			break;
		case 3: /* it learned the commit elsewhere */
			m.type = TR_MSG_COMMIT;
			m.value = s->m.value;
			break;
		default: /* it asks for the slot */
			m.type = TR_MSG_FETCH;
			m.lsn_end = m.lsn + 1 + (mode >> 3) % 4;
			break;
		}
		break;
	case TR_MSG_ACCEPT_REPLY:
		/* The proposer (s->m.to) got our vote. */
		if (s->m.reply == TR_REPLY_REJECT || s->m.reply == TR_REPLY_REFUSED ||
		    mode % 3 == 2) {
			/* It retries higher with its value, or a NOOP. */
			m.type = TR_MSG_ACCEPT;
			m.ballot = (struct tr_ballot){
				.n = (s->m.reply == TR_REPLY_REJECT ? s->m.promised.n : s->m.ballot.n) + 1,
				.replica = m.from, .inc = m.inc};
			m.vbal = s->m.reply == TR_REPLY_REJECT || s->m.reply == TR_REPLY_REFUSED
					 ? (struct tr_ballot){0}
					 : s->m.ballot;
			m.value = s->m.value;
		} else if (mode % 3 == 0) {
			/* Two votes at b: it commits and tells us. */
			m.type = TR_MSG_COMMIT;
			m.value = s->m.value;
		} else {
			/* A duplicate of its ACCEPT (A6). */
			m.type = TR_MSG_ACCEPT;
			m.ballot = s->m.ballot;
			m.vbal = (struct tr_ballot){0, 0};
			m.value = s->m.value;
		}
		break;
	case TR_MSG_COMMIT:
	case TR_MSG_FETCH_REPLY:
		if (mode & 1) { /* the same commit, back (must agree) */
			m.type = TR_MSG_COMMIT;
			m.value = s->m.value;
		} else { /* a late ACCEPT for the committed slot (A0) */
			m.type = TR_MSG_ACCEPT;
			m.ballot = (struct tr_ballot){.n = 1 + (mode >> 1), .replica = m.from,
						      .inc = m.inc};
			m.value = s->m.value;
			m.value.deps[0] += mode >> 7;
		}
		break;
	case TR_MSG_FETCH: /* answers for the range: NOOPs (a liar, if they were not) */
		if (mode >= 0xf0 && s->m.lsn > 0) { /* T1: recycled below it */
			m.type = TR_MSG_TOO_OLD;
			m.lsn = s->m.lsn + (mode & 7);
			break;
		}
		for (uint64_t lsn = s->m.lsn; lsn < s->m.lsn_end && lsn < s->m.lsn + (mode % 4);
		     lsn++) {
			m.type = TR_MSG_FETCH_REPLY;
			m.lsn = lsn;
			m.value.proposer = m.column;
			send_to_self(&m);
			if (stopped())
				return;
		}
		return;
	case TR_MSG_STATUS:
		m.type = TR_MSG_STATUS;
		m.committed = s->m.committed + mode % 4;
		m.applied = s->m.applied + (mode >> 2) % 2;
		if (m.applied > m.committed)
			m.applied = m.committed;
		memcpy(m.known, s->m.known, sizeof(m.known));
		m.known[m.column] = m.known[m.column] > m.committed ? m.known[m.column] : m.committed;
		m.sm_keys_max = fz.cfg.sm_keys_max;
		m.sm_clients_max = fz.cfg.sm_clients_max;
		break;
	case TR_MSG_READ_INDEX: /* Q1: the peer's known, a little ahead */
		m.type = TR_MSG_READ_INDEX_REPLY;
		m.read_id = s->m.read_id;
		for (unsigned i = 0; i < TR_COLUMNS; i++)
			m.known[i] = tr_known(&fz.rep, i) + ((mode >> (2 * i)) & 3);
		break;
	case TR_MSG_JOIN: /* J1: what the peer has seen, and its applied frontier */
		m.type = TR_MSG_JOIN_REPLY;
		m.read_id = s->m.read_id;
		m.inc_seen = mode & 3;
		for (unsigned i = 0; i < TR_COLUMNS; i++) {
			m.known[i] = (mode >> 2) & 7;
			m.frontier[i] = (mode >> 5) & 1;
		}
		break;
	default:
		return;
	}
	send_to_self(&m);
}

static void
ev_frame(struct rd *r, unsigned arg)
{
	static uint8_t buf[FRAME_BUF];
	size_t len = rd_u16(r);

	if (len > r->left)
		len = r->left;
	memcpy(buf, r->p, len);
	r->p += len;
	r->left -= len;
	if ((arg & 1) && len >= TR_WIRE_HDR_BYTES + TR_WIRE_CRC_BYTES) {
		fuzz_put32(buf + 4, fz.cfg.cluster_id);
		buf[9] = FUZZ_SELF;
		fuzz_fix_frame(buf, len);
	}
	recv_frame(buf, len);
}

static void
ev_tick(struct rd *r, unsigned arg)
{
	struct tr_out out = {.msgs = out_msgs, .msg_cap = fz.out_cap};

	fz.now += (uint64_t)(rd_u8(r) + 1) * (arg + 1) * FUZZ_TICK_UNIT_NS;
	if (trace)
		fprintf(stderr, "  now +%llu us\n",
			(unsigned long long)(fz.now - FUZZ_START_NS) / 1000);
	for (unsigned ci = 0; ci < TR_COLUMNS && !stopped(); ci++) {
		tr_out_reset(&out);
		tr_column_tick(&fz.rep.col[ci], fz.now, &out);
		check_step(ci, &out);
	}
}

static void
ev_submit(struct rd *r, unsigned arg)
{
	struct tr_column *own = &fz.rep.col[FUZZ_SELF];
	struct tr_out out = {.msgs = out_msgs, .msg_cap = fz.out_cap};
	struct tr_cmd c;
	uint32_t pending = own->pending_count;

	build_cmd(r, &c, 0);
	/* Clients number their writes 1, 2, ...; the seq byte may skip some. */
	if (c.op != TR_OP_GET)
		c.seq = ++fz.client_seq[c.client_id] + (c.seq < 0xf0 ? 0 : c.seq & 0xf);
	if (trace)
		fprintf(stderr, "  submit op %u client %llu seq %llu key_len %u val_len %u\n", c.op,
			(unsigned long long)c.client_id, (unsigned long long)c.seq, c.key_len,
			c.val_len);
	if (c.op == TR_OP_GET && (arg & 2)) {
		uint32_t reads = own->reads_count;

		/* Q1: a barrier read (READ_INDEX, its reply, the applier). */
		if (tr_column_read(own, &c) == 0)
			CHECK(own->reads_count == reads + 1);
		else
			CHECK(own->reads_count == reads);
	} else if (tr_column_submit(own, &c) == 0) {
		CHECK(own->pending_count == pending + 1);
	} else {
		CHECK(own->pending_count == pending);
	}
	if (arg & 1)
		return;
	tr_out_reset(&out);
	tr_column_flush(own, fz.now, &out);
	check_step(FUZZ_SELF, &out);
}

static void
ev_apply(unsigned arg)
{
	uint64_t before[TR_COLUMNS], total = 0;
	unsigned n;

	memcpy(before, fz.applied, sizeof(before));
	n = tr_apply(&fz.applier, arg + 1);
	if (trace)
		fprintf(stderr, "  applied %u (now %llu,%llu,%llu)\n", n,
			(unsigned long long)fz.applied[0], (unsigned long long)fz.applied[1],
			(unsigned long long)fz.applied[2]);
	CHECK(n <= arg + 1);
	for (unsigned ci = 0; ci < TR_COLUMNS; ci++)
		total += fz.applied[ci] - before[ci];
	CHECK(total == n);
	check_state();
}

/* Liveness (issue 17): after whatever the fuzzed peers sent, two honest
 * peers let the replica commit a fresh write in its own column. The honest
 * peers vote every ACCEPT of that column with the value it carries (A2/A3
 * at a peer that holds no vote) and report STATUS at the replica's own
 * prefixes (so that recycling goes on). Skipped while a joiner does not
 * serve yet (J4: it first applies up to the frontier its peers reported, in
 * every column; a JOIN_REPLY is believed, docs/protocol.md §13), and when
 * its ring is too full to allocate (recycling
 * needs the applier, which may wait for columns the fuzzed peers left
 * uncommitted: catching those up is not what this checks). */
#define LIVE_ROUNDS 64

static struct sent live_out[OUT_MSGS_MAX];

static void
live_answer(const struct tr_out *out)
{
	unsigned n = out->msg_count;

	for (unsigned i = 0; i < n; i++) {
		live_out[i].m = out->msgs[i];
		if (out->msgs[i].value.cmds_len > 0) {
			memcpy(live_out[i].cmds, out->msgs[i].value.cmds, out->msgs[i].value.cmds_len);
			live_out[i].m.value.cmds = live_out[i].cmds;
		}
	}
	for (unsigned i = 0; i < n && !stopped(); i++) {
		const struct tr_msg *a = &live_out[i].m;
		struct tr_msg m;

		if (a->type == TR_MSG_FETCH && a->column == FUZZ_SELF) {
			/* J3: the peers recovered a joiner's old slots as NOOPs. */
			for (uint64_t lsn = a->lsn;
			     lsn < a->lsn_end && lsn < fz.rep.shared.floor[FUZZ_SELF] && !stopped();
			     lsn++) {
				memset(&m, 0, sizeof(m));
				m.type = TR_MSG_FETCH_REPLY;
				m.from = a->to;
				m.to = FUZZ_SELF;
				m.column = FUZZ_SELF;
				m.inc = fz.peer_inc[a->to];
				m.lsn = lsn;
				m.value.proposer = a->to;
				for (unsigned d = 0; d < TR_COLUMNS; d++)
					m.value.deps[d] = tr_known(&fz.rep, d);
				send_to_self(&m);
			}
			continue;
		}
		if (a->type != TR_MSG_ACCEPT || a->column != FUZZ_SELF)
			continue;
		memset(&m, 0, sizeof(m));
		m.type = TR_MSG_ACCEPT_REPLY;
		m.from = a->to;
		m.to = FUZZ_SELF;
		m.column = FUZZ_SELF;
		m.inc = fz.peer_inc[a->to];
		m.lsn = a->lsn;
		m.ballot = a->ballot;
		m.reply = TR_REPLY_OK;
		m.value = a->value;
		send_to_self(&m);
	}
}

static void
check_liveness(void)
{
	struct tr_column *own = &fz.rep.col[FUZZ_SELF];
	struct tr_out out = {.msgs = out_msgs, .msg_cap = fz.out_cap};
	struct tr_cmd c = {.op = TR_OP_SET, .window = FUZZ_W, .client_id = 0,
			   .key = (const uint8_t *)"k0", .key_len = 2,
			   .val = (const uint8_t *)"live", .val_len = 4};
	bool queued = false;

	if (!tr_replica_serving(&fz.rep) ||
	    own->next_lsn - own->base + fz.cfg.inflight_max > own->mask)
		return;
	c.seq = ++fz.client_seq[0];
	/* A forged frame with a higher incarnation makes the replica take the
	 * real peer's frames for an older life's (J0), which only frame
	 * authentication prevents (docs/protocol.md §13): the honest peers
	 * speak at the incarnation the replica believes. */
	for (unsigned q = 0; q < TR_REPLICAS; q++) {
		uint32_t seen = atomic_load(&fz.rep.shared.peer_inc[q]);

		for (unsigned ci = 0; ci < TR_COLUMNS; ci++)
			if (fz.rep.col[ci].peers[q].inc > seen)
				seen = fz.rep.col[ci].peers[q].inc;
		if (seen > fz.peer_inc[q])
			fz.peer_inc[q] = seen;
	}
	/* Room for everything a step sends: starving by a tiny output cap
	 * (STATUS first at every tick) is not what this checks. */
	fz.out_cap = OUT_MSGS_MAX;
	out.msg_cap = fz.out_cap;
	for (unsigned round = 0; round < LIVE_ROUNDS && !stopped(); round++) {
		if (!queued)
			queued = tr_column_submit(own, &c) == 0;
		tr_out_reset(&out);
		tr_column_flush(own, fz.now, &out);
		check_step(FUZZ_SELF, &out);
		live_answer(&out);
		fz.now += fz.cfg.retry_max_ns + FUZZ_TICK_UNIT_NS;
		/* Every column: their STATUS also vouches for the replica (J5). */
		for (uint8_t q = 0; q < TR_REPLICAS && !stopped(); q++)
			for (uint8_t ci = 0; ci < TR_COLUMNS && !stopped(); ci++) {
				struct tr_msg st = {.type = TR_MSG_STATUS, .from = q,
						    .to = FUZZ_SELF, .column = ci,
						    .inc = fz.peer_inc[q]};

				if (q == FUZZ_SELF)
					continue;
				st.committed = fz.rep.col[ci].committed;
				st.sm_keys_max = fz.cfg.sm_keys_max;
				st.sm_clients_max = fz.cfg.sm_clients_max;
				st.applied = atomic_load(&fz.rep.shared.applied[ci]);
				for (unsigned i = 0; i < TR_COLUMNS; i++)
					st.known[i] = tr_known(&fz.rep, i);
				send_to_self(&st);
			}
		for (unsigned ci = 0; ci < TR_COLUMNS && !stopped(); ci++) {
			tr_out_reset(&out);
			tr_column_tick(&fz.rep.col[ci], fz.now, &out);
			check_step(ci, &out);
			if (ci == FUZZ_SELF)
				live_answer(&out);
		}
		tr_apply(&fz.applier, 64);
		if (queued && own->pending_count == 0 && own->committed == own->next_lsn)
			return;
	}
	if (stopped())
		return; /* a contradiction the fuzzed peers planted: crash-stop */
	fprintf(stderr, "fuzz_engine: liveness: own column committed %llu of %llu, %u pending, "
		"queued %d\n", (unsigned long long)own->committed,
		(unsigned long long)own->next_lsn, own->pending_count, queued);
	CHECK(!"liveness: two honest peers cannot get a write committed");
}

/* The replica's memory, allocated once (page faults dominated otherwise). */
static void *rep_mem, *table_mem;
static size_t rep_bytes;

static void
setup(uint8_t cap_sel)
{
	memset(&fz, 0, sizeof(fz));
	fuzz_config(&fz.cfg);
	fz.cfg.join = (cap_sel & FUZZ_SETUP_JOIN) != 0;
	CHECK(tr_config_check(&fz.cfg) == NULL);
	for (unsigned i = 0; i < TR_REPLICAS; i++)
		fz.peer_inc[i] = 1;
	fz.out_cap = FUZZ_OUT_CAPS[cap_sel & 7];
	fz.now = FUZZ_START_NS;
	if (rep_mem == NULL) {
		rep_bytes = tr_replica_mem_bytes(&fz.cfg);
		CHECK(rep_bytes > 0);
		rep_mem = aligned_alloc(64, (rep_bytes + 63) & ~(size_t)63);
		table_mem = malloc(tr_table_mem_bytes(TABLE_CELLS, TABLE_KEY, TABLE_VAL));
		CHECK(rep_mem != NULL && table_mem != NULL);
	}
	/* Every cell the engine reads it initializes; cleared anyway so that a
	 * run never depends on the previous one. */
	memset(rep_mem, 0, rep_bytes);
	fz.mem = rep_mem;
	fz.table_mem = table_mem;
	CHECK(tr_replica_init(&fz.rep, &fz.cfg, fz.mem, rep_bytes, fz.now) == 0);
	tr_table_init(&fz.table, fz.table_mem, TABLE_CELLS, TABLE_KEY, TABLE_VAL);
	tr_sm_init(&fz.sm, &tr_table_ops, &fz.table, fz.clients, CLIENTS_MAX);
	fz.applier = (struct tr_applier){.rep = &fz.rep, .sm = &fz.sm, .complete = on_complete,
					 .applied = on_applied, .ctx = &fz};
	check_state();
	/* J5: peer 0's first STATUS vouches for the replica's memory, as at a
	 * cluster's start (a joiner's J1 stands instead). */
	for (uint8_t ci = 0; ci < TR_COLUMNS && !fz.cfg.join; ci++) {
		struct tr_msg st = {.type = TR_MSG_STATUS, .from = 0, .to = FUZZ_SELF,
				    .column = ci, .inc = fz.peer_inc[0],
				    .sm_keys_max = fz.cfg.sm_keys_max,
				    .sm_clients_max = fz.cfg.sm_clients_max};

		send_to_self(&st);
	}
	CHECK(tr_replica_vouched(&fz.rep));
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
const char *fuzz_replay_check(unsigned inputs);

/* A seed corpus must deliver every message type and reply kind. */
const char *
fuzz_replay_check(unsigned inputs)
{
	static char why[160];
	uint32_t all = ((1u << TR_MSG_TYPE_COUNT) - 1) & ~1u;
	uint32_t replies = (1u << TR_REPLY_OK) | (1u << TR_REPLY_OK_COMMITTED) |
			   (1u << TR_REPLY_REJECT) | (1u << TR_REPLY_REFUSED);

	printf("fuzz_engine: %u inputs; types delivered %#x, sent %#x (all %#x); replies %#x\n",
	       inputs, rx_types, tx_types, all, rx_replies);
	if ((rx_types & all) != all || (rx_replies & replies) != replies) {
		snprintf(why, sizeof(why), "types never delivered %#x, reply kinds %#x",
			 all & ~rx_types, replies & ~rx_replies);
		return why;
	}
	return NULL;
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	trace = getenv("FUZZ_TRACE") != NULL;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r = {data, size};
	unsigned events = 0;

	if (size == 0)
		return 0;
	setup(rd_u8(&r));
	while (r.left > 0 && events++ < EVENTS_MAX && !stopped()) {
		uint8_t op = rd_u8(&r);
		unsigned arg = op >> 3;
		static const char *const ev_name[8] = {"frame", "msg", "reply", "tick",
						       "submit", "apply", "reply", "msg"};

		if (trace)
			fprintf(stderr, "event %u: %s arg %u (offset %zu)\n", events, ev_name[op & 7],
				arg, size - r.left - 1);

		switch (op & 7) {
		case FUZZ_EV_FRAME:
			ev_frame(&r, arg);
			break;
		case FUZZ_EV_MSG:
		case FUZZ_EV_MSG2:
			ev_msg(&r, arg);
			break;
		case FUZZ_EV_REPLY:
		case FUZZ_EV_REPLY2:
			ev_reply(&r);
			break;
		case FUZZ_EV_TICK:
			ev_tick(&r, arg);
			break;
		case FUZZ_EV_SUBMIT:
			ev_submit(&r, arg);
			break;
		case FUZZ_EV_APPLY:
			ev_apply(arg);
			break;
		}
	}
	if (!stopped())
		check_liveness();
	if (stopped()) {
		if (trace)
			fprintf(stderr, "replica stopped: %s\n", fz.rep.violation_why);
		check_stopped();
	}
	return 0;
}
