/* SPDX-License-Identifier: MIT
 * The checkers. They live outside the protocol code and see only its outputs:
 * commits, votes in ACCEPT_REPLY messages, applied instances, client results.
 *  (a) no slot committed with two values; no two values voted at one ballot
 *  (b) every replica applies the same sequence (prefix-wise)
 *  (c) every acknowledged write is applied on every live replica by the end
 *  (d) linearizable: acknowledged-before-invoked is applied-before, and every
 *      read returns the latest write preceding it in the sequence
 *      (barrier reads: see check_barrier_reads)
 *  (e) convergence after healing (in sim.c, which owns time)
 *  (f) exactly once: no write applied twice (completions, final state)
 */
#include "sim_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void
sim_violation_add(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	if (s->nviolations++ > 0)
		return;
	va_start(ap, fmt);
	vsnprintf(s->violation, sizeof(s->violation), fmt, ap);
	va_end(ap);
	sim_trace(s, "VIOLATION %s", s->violation);
}

const char *
sim_violation(const struct sim *s)
{
	return s->nviolations ? s->violation : NULL;
}

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * UINT64_C(0x100000001B3);
	return h;
}

uint64_t
value_hash(const struct tr_value *v)
{
	uint64_t h = UINT64_C(0xCBF29CE484222325);

	h = fnv(h, v->deps, sizeof(v->deps));
	h = fnv(h, &v->proposer, 1);
	h = fnv(h, &v->cmd_count, sizeof(v->cmd_count));
	h = fnv(h, v->cmds, v->cmds_len);
	return h | 1; /* 0 means "none" */
}

void
check_init(struct sim *s)
{
	s->votes_cap = 1 << 14;
	s->votes = calloc(s->votes_cap, sizeof(*s->votes));
}

void
check_free(struct sim *s)
{
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		free(s->chosen[c]);
	free(s->votes);
	for (size_t i = 0; i < s->gseq_len; i++)
		free(s->gseq[i].cmds);
	free(s->gseq);
}

/* (a) */
void
check_commit(struct sim *s, unsigned r, unsigned column, uint64_t lsn)
{
	const struct tr_slot *slot = tr_column_slot(&s->nodes[r].rep.col[column], lsn);

	if (slot == NULL) {
		s->st.commits++;
		sim_violation_add(s, "(a) replica %u reported %c%" PRIu64 " committed but holds no slot",
				  r, 'a' + column, lsn);
		return;
	}
	check_commit_hash(s, r, column, lsn, value_hash(&slot->value));
	sim_ack_at_commit(s, r, column, &slot->value);
}

/* (a), given the committed value's hash (a commit observed once durable). */
void
check_commit_hash(struct sim *s, unsigned r, unsigned column, uint64_t lsn, uint64_t h)
{
	s->st.commits++;
	if (lsn >= s->chosen_cap[column]) {
		size_t cap = s->chosen_cap[column] ? s->chosen_cap[column] : 1024;

		while (cap <= lsn)
			cap *= 2;
		s->chosen[column] = realloc(s->chosen[column], cap * sizeof(uint64_t));
		memset(s->chosen[column] + s->chosen_cap[column], 0,
		       (cap - s->chosen_cap[column]) * sizeof(uint64_t));
		s->chosen_cap[column] = cap;
	}
	if (s->chosen[column][lsn] == 0)
		s->chosen[column][lsn] = h;
	else if (s->chosen[column][lsn] != h)
		sim_violation_add(s, "(a) slot %c%" PRIu64 " committed with two different values "
				  "(replica %u differs)", 'a' + column, lsn, r);
}

static size_t
vote_slot(const struct sim *s, unsigned column, uint64_t lsn, struct tr_ballot b)
{
	uint64_t h = fnv(UINT64_C(0xCBF29CE484222325), &lsn, sizeof(lsn));

	h = fnv(h, &b.n, sizeof(b.n));
	h = fnv(h, &b.inc, sizeof(b.inc));
	h = (h ^ b.replica ^ ((uint64_t)column << 8)) * UINT64_C(0x9E3779B97F4A7C15);
	return (size_t)(h >> 20) & (s->votes_cap - 1);
}

static struct vote_key *
vote_find(struct sim *s, unsigned column, uint64_t lsn, struct tr_ballot b)
{
	for (size_t i = vote_slot(s, column, lsn, b);; i = (i + 1) & (s->votes_cap - 1)) {
		struct vote_key *k = &s->votes[i];

		if (!k->used || (k->lsn == lsn && k->n == b.n && k->inc == b.inc &&
				 k->replica == b.replica && k->column == column))
			return k;
	}
}

/* (a): an acceptor's vote, seen in its ACCEPT_REPLY OK. */
void
check_vote(struct sim *s, const struct tr_msg *m)
{
	check_vote_hash(s, m, value_hash(&m->value));
}

/* (a), given the voted value's hash (m->value is not read). */
void
check_vote_hash(struct sim *s, const struct tr_msg *m, uint64_t h)
{
	struct vote_key *k;

	if (2 * (s->votes_used + 1) > s->votes_cap) {
		struct vote_key *old = s->votes;
		size_t cap = s->votes_cap;

		s->votes_cap *= 2;
		s->votes = calloc(s->votes_cap, sizeof(*s->votes));
		for (size_t i = 0; i < cap; i++)
			if (old[i].used)
				*vote_find(s, old[i].column, old[i].lsn,
					   (struct tr_ballot){old[i].n, old[i].replica, old[i].inc}) =
					old[i];
		free(old);
	}
	k = vote_find(s, m->column, m->lsn, m->ballot);
	if (!k->used) {
		*k = (struct vote_key){.lsn = m->lsn, .n = m->ballot.n, .inc = m->ballot.inc,
				       .replica = m->ballot.replica, .column = m->column, .used = 1,
				       .hash = h};
		s->votes_used++;
	} else if (k->hash != h) {
		sim_violation_add(s, "(a) two different values voted for %c%" PRIu64
				  " at ballot (%u,%u,%u)", 'a' + m->column, m->lsn, m->ballot.n,
				  m->ballot.inc, m->ballot.replica);
	}
}

/* (b) */
void
check_apply(struct sim *s, unsigned r, unsigned column, uint64_t lsn, const struct tr_value *v)
{
	struct node *n = &s->nodes[r];
	struct applied_entry e = {.column = (uint8_t)column, .lsn = lsn, .hash = value_hash(v)};
	size_t i = n->seq_len;

	if (n->seq_len == n->seq_cap) {
		n->seq_cap = n->seq_cap ? 2 * n->seq_cap : 1024;
		n->seq = realloc(n->seq, n->seq_cap * sizeof(*n->seq));
	}
	n->seq[n->seq_len++] = e; /* no copy of the commands: the common sequence has them */
	sim_trace(s, "apply replica %u %c%" PRIu64, r, 'a' + column, lsn);
	if (i < s->gseq_len) {
		const struct applied_entry *g = &s->gseq[i];

		if (g->column != e.column || g->lsn != e.lsn || g->hash != e.hash)
			sim_violation_add(s, "(b) replica %u applies %c%" PRIu64 " at position %zu "
					  "where another applied %c%" PRIu64, r, 'a' + column, lsn, i,
					  'a' + g->column, g->lsn);
		return;
	}
	if (s->gseq_len == s->gseq_cap) {
		s->gseq_cap = s->gseq_cap ? 2 * s->gseq_cap : 1024;
		s->gseq = realloc(s->gseq, s->gseq_cap * sizeof(*s->gseq));
	}
	e.cmd_count = v->cmd_count;
	e.cmds_len = v->cmds_len;
	e.cmds = malloc(v->cmds_len + 1);
	memcpy(e.cmds, v->cmds, v->cmds_len);
	s->gseq[s->gseq_len++] = e;
}

/* (c), (d), (f): replays the common sequence against a model of the KV that
 * shares no code with the engine's, then judges the clients' results.
 *
 * Positions: command ci of the gi-th instance of the common sequence is at
 * pos = gi << 16 | ci. A read "at point q" sees exactly the writes with
 * pos < q: a log read is at its own pos; a barrier or local read answered
 * after a replica had applied P instances is at P << 16. */
struct kwrite {
	uint64_t pos;
	unsigned op;       /* index into s->ops */
	bool present;      /* a set (true) or a del */
	char val[32];
};

struct mkey {
	char name[16];
	bool present;      /* the replay's current state */
	char val[32];
	struct kwrite *w;  /* every write to the key, in sequence order */
	size_t nw, wcap;
	unsigned *reads;   /* barrier reads of the key */
	size_t nr, rcap;
	unsigned *logs;    /* placed log reads of the key */
	size_t nl, lcap;
};

struct model {
	struct mkey *k;
	size_t n, cap;
	uint32_t *slots;   /* hash of names -> index + 1 (0: empty) */
	size_t nslots;
};

static uint64_t
name_hash(const char *name)
{
	return fnv(UINT64_C(0xCBF29CE484222325), name, strlen(name)) * UINT64_C(0x9E3779B97F4A7C15);
}

static void
model_rehash(struct model *m)
{
	free(m->slots);
	m->nslots = m->nslots ? 2 * m->nslots : 64;
	m->slots = calloc(m->nslots, sizeof(*m->slots));
	for (size_t i = 0; i < m->n; i++) {
		size_t h = (size_t)(name_hash(m->k[i].name) >> 16) & (m->nslots - 1);

		while (m->slots[h] != 0)
			h = (h + 1) & (m->nslots - 1);
		m->slots[h] = (uint32_t)i + 1;
	}
}

/* The model's index of a key name, created on first use. */
static size_t
model_key(struct model *m, const char *name)
{
	size_t h;

	if (2 * (m->n + 1) > m->nslots)
		model_rehash(m);
	h = (size_t)(name_hash(name) >> 16) & (m->nslots - 1);
	for (; m->slots[h] != 0; h = (h + 1) & (m->nslots - 1))
		if (strcmp(m->k[m->slots[h] - 1].name, name) == 0)
			return m->slots[h] - 1;
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->k = realloc(m->k, m->cap * sizeof(*m->k));
	}
	memset(&m->k[m->n], 0, sizeof(m->k[m->n]));
	snprintf(m->k[m->n].name, sizeof(m->k[m->n].name), "%s", name);
	m->slots[h] = (uint32_t)m->n + 1;
	return m->n++;
}

static void
model_free(struct model *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->k[i].w);
		free(m->k[i].reads);
		free(m->k[i].logs);
	}
	free(m->k);
	free(m->slots);
}

static void
push_u(unsigned **a, size_t *n, size_t *cap, unsigned v)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		*a = realloc(*a, *cap * sizeof(**a));
	}
	(*a)[(*n)++] = v;
}

/* (c), (d): placed operations, ordered by position. */
struct placed {
	uint64_t pos;  /* instance index << 16 | command index */
	uint64_t call;
	uint64_t ret;
	unsigned op;
};

static int
placed_cmp(const void *a, const void *b)
{
	const struct placed *x = a, *y = b;

	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static bool
acked(const struct op *o)
{
	return o->done && o->status != TR_ST_TOO_OLD && o->status != TR_ST_FULL;
}

static const char *
mode_name(uint8_t mode)
{
	return mode == SIM_READ_BARRIER ? "barrier" : mode == SIM_READ_LOCAL ? "local" : "log";
}

/* The write a read at point q sees last on key k, or NULL (the key's
 * initial absence). */
static const struct kwrite *
seen_at(const struct mkey *k, uint64_t q)
{
	const struct kwrite *last = NULL;

	for (size_t i = 0; i < k->nw && k->w[i].pos < q; i++)
		last = &k->w[i];
	return last;
}

/* Barrier and local reads were answered from a replica's applied state: the
 * value must be what the model holds at that point. (Local reads are judged
 * by this only: they are not linearizable, PROTOCOL §8.) */
static void
check_read_points(struct sim *s, struct model *m)
{
	for (unsigned i = 0; i < s->nops; i++) {
		const struct op *o = &s->ops[i];
		const struct kwrite *w;
		bool present;
		size_t ki;

		if (o->op != TR_OP_GET || o->mode == SIM_READ_LOG || !acked(o))
			continue;
		if (o->point > s->gseq_len) {
			sim_violation_add(s, "(d) client %u seq %" PRIu64 ": a %s read answered after %"
					  PRIu64 " instances, beyond the common sequence", o->client,
					  o->seq, mode_name(o->mode), o->point);
			return;
		}
		ki = model_key(m, o->key); /* may move m->k */
		w = seen_at(&m->k[ki], o->point << 16);
		present = w != NULL && w->present;
		if (present == o->out_null || (present && strcmp(w->val, o->out) != 0)) {
			sim_violation_add(s, "(d) client %u seq %" PRIu64 " %s read %s=%s, but after the "
					  "first %" PRIu64 " instances the key holds %s", o->client, o->seq,
					  mode_name(o->mode), o->key, o->out_null ? "(absent)" : o->out,
					  o->point, present ? w->val : "(absent)");
			return;
		}
	}
}

/* Sorts op indices by invocation time (an insertion sort: ops are made in
 * invocation order, so this is nearly always one pass). */
static void
sort_by_call(const struct sim *s, unsigned *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		unsigned x = a[i];
		size_t j = i;

		for (; j > 0 && s->ops[a[j - 1]].call > s->ops[x].call; j--)
			a[j] = a[j - 1];
		a[j] = x;
	}
}

/* (d) for barrier reads, judged like an outside checker would, key by key,
 * from the clients' results and the common order of writes only:
 *
 * A read R of key k returning v is linearizable iff it can be given a point
 * q (it sees the writes to k with pos < q) such that
 *   - the last write to k before q wrote v (or a del, or none, for absent):
 *     q lies in one of v's intervals [pos(w) + 1, pos(next write to k)];
 *   - lower bounds: q > pos(w) for every write w to k acknowledged before R
 *     was invoked (ret < call; equal times are concurrent), q >= pos(L) for
 *     every log read L of k completed before R was invoked, and q >= q(R')
 *     for every barrier read R' of k completed before R was invoked;
 *   - upper bounds: q <= pos(w) for every write to k invoked after R
 *     returned, q <= pos(L) for every log read of k invoked after R returned.
 * Reads are placed in invocation order at the earliest such q; the earliest
 * choice is never worse for a later read (its bounds only grow with q), so
 * a read that finds no q is a violation whatever the other choices. */
static void
check_barrier_reads(struct sim *s, struct model *m, const uint64_t *pos)
{
	for (size_t ki = 0; ki < m->n && s->nviolations == 0; ki++) {
		struct mkey *k = &m->k[ki];
		uint64_t *q = calloc(k->nr + 1, sizeof(*q));

		sort_by_call(s, k->reads, k->nr);
		for (size_t ri = 0; ri < k->nr; ri++) {
			const struct op *r = &s->ops[k->reads[ri]];
			uint64_t lo = 0, hi = UINT64_MAX, got = UINT64_MAX;
			const char *lo_why = "", *hi_why = "";
			unsigned lo_op = 0, hi_op = 0;
			bool found = false;

			for (size_t i = 0; i < k->nw; i++) {
				const struct op *o = &s->ops[k->w[i].op];

				if (acked(o) && o->ret < r->call && k->w[i].pos + 1 > lo) {
					lo = k->w[i].pos + 1;
					lo_op = k->w[i].op;
					lo_why = "misses the write of";
				}
				if (o->call > r->ret && k->w[i].pos < hi) {
					hi = k->w[i].pos;
					hi_op = k->w[i].op;
					hi_why = "must precede the write of";
				}
			}
			for (size_t i = 0; i < k->nl; i++) {
				const struct op *o = &s->ops[k->logs[i]];

				if (o->ret < r->call && pos[k->logs[i]] > lo) {
					lo = pos[k->logs[i]];
					lo_op = k->logs[i];
					lo_why = "sees less than the log read of";
				}
				if (o->call > r->ret && pos[k->logs[i]] < hi) {
					hi = pos[k->logs[i]];
					hi_op = k->logs[i];
					hi_why = "must precede the log read of";
				}
			}
			for (size_t i = 0; i < ri; i++) {
				const struct op *o = &s->ops[k->reads[i]];

				if (o->ret < r->call && q[i] > lo) {
					lo = q[i];
					lo_op = k->reads[i];
					lo_why = "sees less than the barrier read of";
				}
			}
			/* The earliest point >= lo in one of the value's intervals. */
			for (size_t i = 0; i <= k->nw && !found; i++) {
				/* Interval i: after write i - 1 (none: the start), up to write i. */
				const struct kwrite *w = i > 0 ? &k->w[i - 1] : NULL;
				uint64_t start = w != NULL ? w->pos + 1 : 0;
				uint64_t end = i < k->nw ? k->w[i].pos : UINT64_MAX;
				bool present = w != NULL && w->present;

				if (present == r->out_null || (present && strcmp(w->val, r->out) != 0))
					continue;
				if (end < lo)
					continue;
				got = start > lo ? start : lo;
				found = true;
			}
			if (!found || got > hi) {
				const struct op *a = &s->ops[lo_op], *b = &s->ops[hi_op];
				char why[256] = "";

				if (lo > 0)
					snprintf(why, sizeof(why), " %s client %u seq %" PRIu64
						 " (invoked at %" PRIu64 ", answered at %" PRIu64 ")%s",
						 lo_why, a->client, a->seq, a->call, a->ret,
						 found ? " and" : "");
				if (found)
					snprintf(why + strlen(why), sizeof(why) - strlen(why),
						 " %s client %u seq %" PRIu64 " (invoked at %" PRIu64
						 ", answered at %" PRIu64 ")", hi_why, b->client, b->seq,
						 b->call, b->ret);
				sim_violation_add(s, "(d) client %u seq %" PRIu64 " barrier read %s=%s "
						  "(invoked at %" PRIu64 ", answered at %" PRIu64 ")%s",
						  r->client, r->seq, r->key,
						  r->out_null ? "(absent)" : r->out, r->call, r->ret,
						  lo == 0 && !found ? ": a value the key never held" : why);
				break;
			}
			q[ri] = got;
		}
		free(q);
	}
}

/* (f): a live replica that applied the whole common sequence holds exactly
 * the model's state (a write applied twice would show here too). */
static void
check_digests(struct sim *s, const struct model *m)
{
	static uint8_t large[SIM_LARGE_MAX];
	uint64_t digest = 0;

	for (size_t i = 0; i < m->n; i++) {
		/* A large set's value from its tag. */
		uint32_t len = sim_large_bytes(m->k[i].val, large);

		if (m->k[i].present)
			digest += tr_kv_pair_hash((const uint8_t *)m->k[i].name,
						  (uint16_t)strlen(m->k[i].name),
						  len > 0 ? large : (const uint8_t *)m->k[i].val,
						  len > 0 ? len : (uint32_t)strlen(m->k[i].val));
	}
	for (unsigned r = 0; r < TR_REPLICAS; r++) {
		const struct node *n = &s->nodes[r];

		if (!n->crashed && n->seq_len == s->gseq_len && n->sm.digest != digest)
			sim_violation_add(s, "(f) replica %u's state differs from the model's replay "
					  "of the common sequence", r);
	}
	/* The exactly-once tables too: they decide what a later write does. */
	for (unsigned r = 1; r < TR_REPLICAS; r++) {
		const struct node *a = &s->nodes[0], *b = &s->nodes[r];

		if (!a->crashed && !b->crashed && a->seq_len == s->gseq_len &&
		    b->seq_len == s->gseq_len &&
		    tr_sm_clients_digest(&a->sm) != tr_sm_clients_digest(&b->sm))
			sim_violation_add(s, "(f) replicas 0 and %u applied the common sequence into "
					  "different client tables", r);
	}
}

/* §8's client table as the model sees it: a record per client id, its
 * highest applied seq and its last write on the clock of writes; a full
 * table (3/4 of the records) gives the record of the client idle longest,
 * if idle for the TTL, to a new client (ties by id), else the write is
 * FULL. The engine's table must decide the same (kv.h). */
struct mclient {
	uint64_t cid, hi, last;
	bool used;
};

struct mclients {
	struct mclient *c;
	size_t n, cap;
	uint64_t clock, limit, ttl;
	unsigned used;
};

/* The record of cid for a write at the clock, or NULL: FULL. */
static struct mclient *
mclient_write(struct mclients *t, uint64_t cid, bool kept)
{
	struct mclient *pick = NULL;

	for (size_t i = 0; i < t->n; i++)
		if (t->c[i].used && t->c[i].cid == cid) {
			t->c[i].last = t->clock;
			return &t->c[i];
		}
	if (t->used >= t->limit) {
		for (size_t i = 0; i < t->n && !kept; i++) {
			struct mclient *c = &t->c[i];

			if (c->used && t->clock - c->last >= t->ttl &&
			    (pick == NULL || c->last < pick->last ||
			     (c->last == pick->last && c->cid < pick->cid)))
				pick = c;
		}
		if (pick == NULL)
			return NULL;
		pick->used = false;
		t->used--;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->c = realloc(t->c, t->cap * sizeof(*t->c));
	}
	t->c[t->n] = (struct mclient){.cid = cid, .last = t->clock, .used = true};
	t->used++;
	return &t->c[t->n++];
}

unsigned
sim_check(struct sim *s, bool final)
{
	struct placed *pl = calloc(s->nops + 1, sizeof(*pl));
	uint64_t *pos = malloc((s->nops + 1) * sizeof(*pos));
	struct model m = {0};
	size_t npl = 0;
	uint32_t recs = s->p.client_recs != 0 ? s->p.client_recs : 256;
	struct mclients mc = {.limit = recs - recs / 4,
			      .ttl = s->p.client_ttl != 0 ? s->p.client_ttl : TR_SM_CLIENT_TTL_CMDS};
	bool kept = ((s->p.variant | TR_MUTANT_VARIANT) & TR_VARIANT_CLIENTS_KEPT) != 0;
	uint64_t *parts = calloc(s->nops + 1, sizeof(*parts)); /* large sets: parts applied */
	bool *full = calloc(s->nops + 1, sizeof(*full)); /* writes the model refused */

	for (unsigned i = 0; i < s->nops; i++)
		pos[i] = UINT64_MAX;

	/* Replay: which position applied each write, what each log read saw. */
	for (size_t gi = 0; gi < s->gseq_len; gi++) {
		const struct applied_entry *e = &s->gseq[gi];
		size_t off = 0;

		for (uint16_t ci = 0; ci < e->cmd_count; ci++) {
			struct tr_cmd cmd;
			struct op *o;
			struct mkey *k;
			size_t ki;
			char kbuf[16];

			if (tr_cmd_decode(e->cmds, e->cmds_len, &off, &cmd) != 0)
				break;
			o = sim_op_lookup(s, cmd.client_id, cmd.seq);
			if (o == NULL) {
				sim_violation_add(s, "(d) applied a command no client issued");
				break;
			}
			struct mclient *mcl = NULL;

			if (cmd.op != TR_OP_GET) {
				mc.clock++;
				mcl = mclient_write(&mc, cmd.client_id, kept);
				if (mcl == NULL) {
					full[o - s->ops] = true;
					continue; /* §8: the client table is full */
				}
			}
			if (cmd.op == TR_OP_PART) {
				/* A large set's part (issue 16): each applies once
				 * (§8); the set applies with the last of them. */
				uint64_t bit = UINT64_C(1) << (cmd.seq - o->seq);

				if (o->parts == 0 || cmd.seq - o->seq >= o->parts) {
					sim_violation_add(s, "(d) applied a part of no large set");
					break;
				}
				if ((parts[o - s->ops] & bit) || mcl->hi >= cmd.seq + cmd.window)
					continue; /* a duplicate, or too old: not applied */
				if (cmd.seq > mcl->hi)
					mcl->hi = cmd.seq;
				parts[o - s->ops] |= bit;
				if (parts[o - s->ops] != (o->parts == 64 ? ~UINT64_C(0)
						: (UINT64_C(1) << o->parts) - 1))
					continue;
				cmd.op = TR_OP_SET; /* the whole, here */
				cmd.key = (const uint8_t *)o->key;
				cmd.key_len = (uint16_t)strlen(o->key);
				cmd.val = (const uint8_t *)o->val; /* its tag */
				cmd.val_len = (uint32_t)strlen(o->val);
			}
			snprintf(kbuf, sizeof(kbuf), "%.*s", cmd.key_len, (const char *)cmd.key);
			ki = model_key(&m, kbuf); /* may move m.k */
			k = &m.k[ki];
			if (cmd.op == TR_OP_GET) {
				if (o->done && o->lsn == e->lsn && o->column == e->column && o->index == ci) {
					pos[o - s->ops] = (uint64_t)gi << 16 | ci;
					push_u(&k->logs, &k->nl, &k->lcap, (unsigned)(o - s->ops));
					if (k->present == o->out_null ||
					    (k->present && strcmp(k->val, o->out) != 0))
						sim_violation_add(s, "(d) client %u read %s=%s at %c%" PRIu64
								  " but the latest write there is %s",
								  o->client, o->key,
								  o->out_null ? "(absent)" : o->out,
								  'a' + e->column, e->lsn,
								  k->present ? k->val : "(absent)");
				}
				continue;
			}
			if (pos[o - s->ops] != UINT64_MAX)
				continue; /* §8: a duplicate, applied once already */
			if (o->parts == 0 && mcl->hi >= cmd.seq + cmd.window)
				continue; /* §8: older than the window: not applied (a slot
					   * of a restarted owner decided late, §12 S) */
			if (cmd.seq > mcl->hi)
				mcl->hi = cmd.seq;
			pos[o - s->ops] = (uint64_t)gi << 16 | ci;
			if (k->nw == k->wcap) {
				k->wcap = k->wcap ? 2 * k->wcap : 16;
				k->w = realloc(k->w, k->wcap * sizeof(*k->w));
			}
			k->w[k->nw] = (struct kwrite){.pos = pos[o - s->ops],
						      .op = (unsigned)(o - s->ops),
						      .present = cmd.op == TR_OP_SET};
			if (cmd.op == TR_OP_SET) {
				snprintf(k->val, sizeof(k->val), "%.*s", (int)cmd.val_len,
					 (const char *)cmd.val);
				snprintf(k->w[k->nw].val, sizeof(k->w[k->nw].val), "%s", k->val);
				k->present = true;
			} else {
				k->present = false;
			}
			k->nw++;
		}
	}

	for (unsigned i = 0; i < s->nops && final; i++) {
		const struct op *o = &s->ops[i];

		if (o->done && o->status == TR_ST_FULL && !full[i] && o->parts == 0)
			sim_violation_add(s, "(d) client %u seq %" PRIu64 " was answered FULL, but the "
					  "model's client table had room for it", o->client, o->seq);
		if (!acked(o) || (o->op == TR_OP_GET && o->mode != SIM_READ_LOG))
			continue;
		if (pos[i] == UINT64_MAX) {
			sim_violation_add(s, "(c) client %u seq %" PRIu64 " was acknowledged but never "
					  "applied", o->client, o->seq);
			continue;
		}
		for (unsigned r = 0; r < TR_REPLICAS; r++)
			if (!s->nodes[r].crashed && (pos[i] >> 16) >= s->nodes[r].seq_len)
				sim_violation_add(s, "(c) client %u seq %" PRIu64 " acknowledged but "
						  "not applied on live replica %u", o->client, o->seq, r);
		pl[npl++] = (struct placed){.pos = pos[i], .call = o->call, .ret = o->ret, .op = i};
	}

	/* (d) real time: no B placed before an A that was acknowledged before B
	 * was invoked. Scan from the end, keeping the earliest ack seen. */
	qsort(pl, npl, sizeof(*pl), placed_cmp);
	{
		uint64_t min_ret = UINT64_MAX;
		unsigned min_op = 0;

		for (size_t i = npl; i-- > 0;) {
			if (min_ret < pl[i].call) {
				const struct op *a = &s->ops[min_op], *b = &s->ops[pl[i].op];

				sim_violation_add(s, "(d) real time: client %u seq %" PRIu64 " acked at %"
						  PRIu64 " is applied after client %u seq %" PRIu64
						  " invoked at %" PRIu64, a->client, a->seq, a->ret,
						  b->client, b->seq, b->call);
				break;
			}
			if (pl[i].ret < min_ret) {
				min_ret = pl[i].ret;
				min_op = pl[i].op;
			}
		}
	}

	/* (d) barrier reads; the answered state of barrier and local reads. */
	for (unsigned i = 0; i < s->nops; i++) {
		const struct op *o = &s->ops[i];

		if (o->op == TR_OP_GET && o->mode == SIM_READ_BARRIER && acked(o)) {
			size_t ki = model_key(&m, o->key); /* may move m.k */

			push_u(&m.k[ki].reads, &m.k[ki].nr, &m.k[ki].rcap, i);
		}
	}
	check_read_points(s, &m);
	check_barrier_reads(s, &m, pos);
	if (final)
		check_digests(s, &m);

	model_free(&m);
	free(parts);
	free(full);
	free(mc.c);
	free(pl);
	free(pos);
	return s->nviolations;
}
