/* SPDX-License-Identifier: MIT
 * The acceptor rule, A0–A6: peer q handling ACCEPT(b, slot, snapshot s).
 */
#include "internal.h"

/* copied: the slot's value was copied from m's in this step (its commands
 * are m's, its proposer too). */
static void
reply(struct tr_column *c, const struct tr_msg *m, const struct tr_slot *s, uint8_t kind,
      bool copied, struct tr_out *out)
{
	struct tr_msg *r = out_msg(c, out, TR_MSG_ACCEPT_REPLY, m->from);

	if (r == NULL)
		return; /* the proposer retries */
	r->lsn = m->lsn;
	r->ballot = m->ballot;
	r->reply = kind;
	if (kind == TR_REPLY_REJECT)
		r->promised = s->promised;
	else if (kind != TR_REPLY_REFUSED)
		r->value = s->value;
	/* W1: the proposer holds the commands it sent: only the deps return. */
	r->ref = kind == TR_REPLY_OK &&
		 (copied || (s->value.proposer == m->value.proposer &&
			     s->value.cmd_count == m->value.cmd_count &&
			     s->value.cmds_len == m->value.cmds_len &&
			     (s->value.cmds_len == 0 ||
			      memcmp(s->value.cmds, m->value.cmds, s->value.cmds_len) == 0)));
}

void
recv_accept(struct tr_column *c, const struct tr_msg *m, uint64_t now_ns, struct tr_out *out)
{
	const struct tr_config *cfg = &c->rep->cfg;
	struct tr_slot *s = slot_cell(c, m->lsn);
	struct tr_ballot qv;
	const struct tr_ballot sv = m->vbal;
	bool fresh, copied;

	if (s == NULL && m->lsn < c->base && !(cfg->variant & TR_VARIANT_TOO_OLD_IGNORED)) {
		send_too_old(c, m->from, out); /* T1: its vote is gone with it */
		return;
	}
	if (s == NULL || m->value.cmds_len > cfg->batch_bytes_max) {
		c->stats.ignored++;
		return;
	}
	/* A0: a committed slot never changes again. */
	if (slot_committed(s)) {
		reply(c, m, s, TR_REPLY_OK_COMMITTED, false, out);
		return;
	}
	/* J2: where the old self may have voted, no promise and no vote. */
	if (!may_vote(c, m->lsn)) {
		c->stats.join_refused++;
		reply(c, m, s, TR_REPLY_REFUSED, false, out);
		return;
	}
	/* S4: the promises of the first attempts the last life sent unsynced. */
	if (c->owned && tr_ballot_cmp(s->promised, c->promise_floor) < 0)
		s->promised = c->promise_floor;
	/* A1 */
	if ((cfg->variant & TR_VARIANT_BALLOT_N_ONLY) ? m->ballot.n < s->promised.n /* known-bad */
						      : tr_ballot_cmp(m->ballot, s->promised) < 0) {
		c->stats.rejects_sent++;
		reply(c, m, s, TR_REPLY_REJECT, false, out);
		return;
	}
	s->promised = m->ballot;
	/* D1: the slot and its deps enter known before known is captured. */
	known_note(c->rep, c->id, m->lsn, m->value.deps);
	if (s->seen_ns == 0)
		s->seen_ns = now_ns;

	/* A2: a fresh entry from the snapshot, never with its vote or commit. */
	fresh = !(s->flags & TR_SLOT_VALUE);
	copied = fresh;
	if (fresh) {
		uint64_t known[TR_COLUMNS];

		known_load(c->rep, known);
		slot_set_value(c, s, &m->value);
#pragma GCC unroll 3
		for (unsigned i = 0; i < TR_COLUMNS; i++)
			s->value.deps[i] = u64_max(m->value.deps[i], known[i]);
		s->vbal = (struct tr_ballot){0, 0};
	}

	/* A3: highest vote wins; a voted value is never re-merged. */
	qv = s->vbal;
	if (tr_ballot_none(qv) && tr_ballot_none(sv)) {
#pragma GCC unroll 3
		for (unsigned i = 0; i < TR_COLUMNS; i++)
			s->value.deps[i] = u64_max(s->value.deps[i], m->value.deps[i]);
		if (tr_value_is_noop(&s->value)) {
			struct tr_value v = m->value;

			memcpy(v.deps, s->value.deps, sizeof(v.deps));
			if (tr_value_is_noop(&v))
				v.proposer = m->from;
			slot_set_value(c, s, &v);
			copied = false; /* maybe another proposer */
		}
	} else if (tr_ballot_cmp(sv, qv) > 0) {
		slot_set_value(c, s, &m->value);
		copied = true;
	} else if (tr_ballot_cmp(sv, qv) == 0 && !value_equal(&s->value, &m->value)) {
		violation(c->rep, "A3: two different values voted at one ballot");
		return;
	}

	/* A4: vote at b, never lowering the vote. */
	s->vbal = m->ballot;
	/* (A fresh entry's deps are m's and known's, in known already.) */
	if (!fresh)
		known_note(c->rep, c->id, m->lsn, s->value.deps);
	durable_slot(c, s); /* S1: promise and vote with its value, before the OK */

	if ((cfg->variant & TR_VARIANT_COMMIT_ON_SPOT) && !tr_ballot_none(sv) &&
	    tr_ballot_cmp(sv, qv) >= 0) {
		/* Known-bad (A5 forbids it): commit at the acceptor. */
		slot_commit(c, s, &s->value, out);
		reply(c, m, s, TR_REPLY_OK_COMMITTED, false, out);
		return;
	}
	/* A5: no commit on the spot. A6: a duplicate re-votes the same value. */
	reply(c, m, s, TR_REPLY_OK, copied, out);
}
