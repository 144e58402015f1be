/* SPDX-License-Identifier: MIT
 * C1: a chosen value is final. Every path that learns a commit ends here.
 */
#include "internal.h"

void
slot_commit(struct tr_column *c, struct tr_slot *s, const struct tr_value *v, struct tr_out *out)
{
	struct tr_replica *r = c->rep;

	if (slot_committed(s)) {
		if (!value_equal(&s->value, v))
			violation(r, "C1: slot committed with two different values");
		return;
	}
	if (v->cmds_len > r->cfg.batch_bytes_max) {
		c->stats.ignored++;
		return;
	}
	slot_set_value(c, s, v);
	s->flags &= (uint8_t)~TR_SLOT_ATTEMPT;
	s->timer_ns = UINT64_MAX;
	known_note(r, c->id, s->lsn, s->value.deps); /* D1 */
	atomic_store_explicit(&s->committed, s->lsn + 1, memory_order_release);
	durable_slot(c, s); /* S1: before a COMMIT, FETCH_REPLY or A0 reveals it */
	c->stats.committed++;
	if (out->committed_count < sizeof(out->committed_lsn) / sizeof(out->committed_lsn[0]))
		out->committed_lsn[out->committed_count++] = s->lsn;

	for (;;) {
		const struct tr_slot *h = slot_find(c, c->committed);

		if (h == NULL || !slot_committed(h))
			break;
		c->committed++;
	}
	floor_check(c);

	/* P7: a recoverer's NOOP took the owner's slot: the commands go again. */
	if (c->owned && s->own_count > 0 && s->value.proposer != self_id(c)) {
		assert(c->repropose_count <= c->mask);
		c->repropose[c->repropose_count++] = s->lsn;
	}
}

/* COMMIT and FETCH_REPLY (C1, C2): no ballot check. */
void
recv_commit(struct tr_column *c, const struct tr_msg *m, struct tr_out *out)
{
	struct tr_slot *s = slot_cell(c, m->lsn);

	if (s == NULL) {
		c->stats.ignored++;
		return;
	}
	if (m->ref) {
		/* W2: the value this replica voted at the ballot; anything else
		 * (a later vote, no vote) waits for catch-up (C2). */
		if ((s->flags & TR_SLOT_VALUE) && tr_ballot_cmp(s->vbal, m->ballot) == 0)
			slot_commit(c, s, &s->value, out);
		else if (!slot_committed(s))
			c->stats.ignored++;
		return;
	}
	slot_commit(c, s, &m->value, out);
}
