/* SPDX-License-Identifier: MIT
 * The checkers. They live outside the protocol code and see only its outputs:
 * commits, votes in ACCEPT_REPLY messages, applied instances, client results.
 *  (a) no slot committed with two values; no two values voted at one ballot
 *  (b) every replica applies the same sequence (prefix-wise)
 *  (c) every acknowledged write is applied on every live replica by the end
 *  (d) linearizable: acknowledged-before-invoked is applied-before, and every
 *      read returns the latest write preceding it in the sequence
 *  (e) convergence after healing (in sim.c, which owns time)
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
	uint64_t h;

	s->st.commits++;
	if (slot == NULL) {
		sim_violation_add(s, "(a) replica %u reported %c%" PRIu64 " committed but holds no slot",
				  r, 'a' + column, lsn);
		return;
	}
	h = value_hash(&slot->value);
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
	sim_ack_at_commit(s, r, column, &slot->value);
}

static size_t
vote_slot(const struct sim *s, unsigned column, uint64_t lsn, struct tr_ballot b)
{
	uint64_t h = fnv(UINT64_C(0xCBF29CE484222325), &lsn, sizeof(lsn));

	h = fnv(h, &b.n, sizeof(b.n));
	h = (h ^ b.replica ^ ((uint64_t)column << 8)) * UINT64_C(0x9E3779B97F4A7C15);
	return (size_t)(h >> 20) & (s->votes_cap - 1);
}

static struct vote_key *
vote_find(struct sim *s, unsigned column, uint64_t lsn, struct tr_ballot b)
{
	for (size_t i = vote_slot(s, column, lsn, b);; i = (i + 1) & (s->votes_cap - 1)) {
		struct vote_key *k = &s->votes[i];

		if (!k->used || (k->lsn == lsn && k->n == b.n && k->replica == b.replica &&
				 k->column == column))
			return k;
	}
}

/* (a): an acceptor's vote, seen in its ACCEPT_REPLY OK. */
void
check_vote(struct sim *s, const struct tr_msg *m)
{
	uint64_t h = value_hash(&m->value);
	struct vote_key *k;

	if (2 * (s->votes_used + 1) > s->votes_cap) {
		struct vote_key *old = s->votes;
		size_t cap = s->votes_cap;

		s->votes_cap *= 2;
		s->votes = calloc(s->votes_cap, sizeof(*s->votes));
		for (size_t i = 0; i < cap; i++)
			if (old[i].used)
				*vote_find(s, old[i].column, old[i].lsn,
					   (struct tr_ballot){old[i].n, old[i].replica}) = old[i];
		free(old);
	}
	k = vote_find(s, m->column, m->lsn, m->ballot);
	if (!k->used) {
		*k = (struct vote_key){.lsn = m->lsn, .n = m->ballot.n, .replica = m->ballot.replica,
				       .column = m->column, .used = 1, .hash = h};
		s->votes_used++;
	} else if (k->hash != h) {
		sim_violation_add(s, "(a) two different values voted for %c%" PRIu64
				  " at ballot (%u,%u)", 'a' + m->column, m->lsn, m->ballot.n,
				  m->ballot.replica);
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

/* (c), (d): replays the common sequence against a model of the KV that
 * shares no code with the engine's, then orders the acknowledged operations. */
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

unsigned
sim_check(struct sim *s, bool final)
{
	struct placed *pl = calloc(s->nops + 1, sizeof(*pl));
	uint64_t *pos = malloc((s->nops + 1) * sizeof(*pos));
	char (*model)[32] = calloc(s->p.keys + 1, sizeof(*model));
	bool *present = calloc(s->p.keys + 1, sizeof(*present));
	size_t npl = 0;

	for (unsigned i = 0; i < s->nops; i++)
		pos[i] = UINT64_MAX;

	/* Replay: which position applied each write, what each read saw. */
	for (size_t gi = 0; gi < s->gseq_len; gi++) {
		const struct applied_entry *e = &s->gseq[gi];
		size_t off = 0;

		for (uint16_t ci = 0; ci < e->cmd_count; ci++) {
			struct tr_cmd cmd;
			struct op *o;
			unsigned key;
			char kbuf[16];

			if (tr_cmd_decode(e->cmds, e->cmds_len, &off, &cmd) != 0)
				break;
			o = sim_op_lookup(s, cmd.client_id, cmd.seq);
			if (o == NULL) {
				sim_violation_add(s, "(d) applied a command no client issued");
				break;
			}
			snprintf(kbuf, sizeof(kbuf), "%.*s", cmd.key_len, (const char *)cmd.key);
			key = (unsigned)strtoul(kbuf + 1, NULL, 10) % (s->p.keys + 1);
			if (cmd.op == TR_OP_GET) {
				if (o->done && o->lsn == e->lsn && o->column == e->column && o->index == ci) {
					pos[o - s->ops] = (uint64_t)gi << 16 | ci;
					if (present[key] == o->out_null ||
					    (present[key] && strcmp(model[key], o->out) != 0))
						sim_violation_add(s, "(d) client %u read %s=%s at %c%" PRIu64
								  " but the latest write there is %s",
								  o->client, o->key,
								  o->out_null ? "(absent)" : o->out,
								  'a' + e->column, e->lsn,
								  present[key] ? model[key] : "(absent)");
				}
				continue;
			}
			if (pos[o - s->ops] != UINT64_MAX)
				continue; /* a duplicate: applied once already */
			pos[o - s->ops] = (uint64_t)gi << 16 | ci;
			if (cmd.op == TR_OP_SET) {
				snprintf(model[key], sizeof(model[key]), "%.*s", (int)cmd.val_len,
					 (const char *)cmd.val);
				present[key] = true;
			} else {
				present[key] = false;
			}
		}
	}

	for (unsigned i = 0; i < s->nops && final; i++) {
		const struct op *o = &s->ops[i];

		if (!acked(o))
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
	free(pl);
	free(pos);
	free(model);
	free(present);
	return s->nviolations;
}
