/* SPDX-License-Identifier: MIT
 * P4 and P6 at the proposer (owner or recoverer): ACCEPT_REPLY.
 */
#include "internal.h"

void
recv_accept_reply(struct tr_column *c, const struct tr_msg *m, uint64_t now_ns,
		  struct tr_out *out)
{
	struct tr_slot *s = slot_cell(c, m->lsn);

	if (s == NULL || m->value.cmds_len > c->rep->cfg.batch_bytes_max) {
		c->stats.ignored++;
		return;
	}
	if (m->reply == TR_REPLY_OK_COMMITTED) {
		slot_commit(c, s, &m->value, out); /* P4: committed elsewhere */
		return;
	}
	if (m->reply == TR_REPLY_REJECT && m->promised.n > s->n_seen)
		s->n_seen = m->promised.n; /* P2: above everything seen */
	if (m->ballot.n > s->n_seen)
		s->n_seen = m->ballot.n;
	/* P4: replies for a ballot the slot no longer uses are ignored. */
	if (slot_committed(s) || !(s->flags & TR_SLOT_ATTEMPT) ||
	    tr_ballot_cmp(m->ballot, s->attempt) != 0) {
		c->stats.ignored++;
		return;
	}
	if (m->reply == TR_REPLY_REFUSED) {
		/* J2, J5: this peer cannot vote here yet. Its first refusal is no
		 * contention: that attempt does not step the back-off. Then the
		 * other peer at once if it can vote, else this one again later. */
		uint8_t other = (uint8_t)(TR_REPLICAS * (TR_REPLICAS - 1) / 2 - self_id(c) - m->from);
		bool other_ok = !((s->refused >> other) & 1) && peer_fresh(c, other, now_ns);

		if (!((s->refused >> m->from) & 1))
			s->attempts--;
		s->refused |= (uint8_t)(1u << m->from);
		s->timer_ns = other_ok ? now_ns : now_ns + backoff_ns(c, s->attempts + 1);
		arm(c, s->timer_ns);
		return;
	}
	if (m->reply == TR_REPLY_REJECT ||
	    (tr_ballot_cmp(s->promised, m->ballot) != 0 &&
	     !(c->rep->cfg.variant & TR_VARIANT_NO_RECHECK))) {
		/* P6: retry soon with a new ballot, backed off with jitter. */
		s->timer_ns = now_ns + backoff_ns(c, s->attempts);
		arm(c, s->timer_ns);
		return;
	}
	/* P4: vote the returned value at b; two votes at b: chosen. */
	if (m->ref && (s->flags & TR_SLOT_VALUE)) {
		/* W1: what this attempt sent (the slot, unchanged while it is
		 * promised at b), with the acceptor's deps. */
		memcpy(s->value.deps, m->value.deps, sizeof(s->value.deps));
	} else if (m->ref) {
		/* W1: P2's NOOP, with the acceptor's deps. */
		struct tr_value v = {.proposer = self_id(c)};

		memcpy(v.deps, m->value.deps, sizeof(v.deps));
		slot_set_value(c, s, &v);
	} else {
		slot_set_value(c, s, &m->value);
	}
	s->vbal = m->ballot;
	slot_commit(c, s, &s->value, out);
	send_commit(c, s, m->from, out);
}
