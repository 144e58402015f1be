/* SPDX-License-Identifier: MIT
 * The one dispatch of received messages, and the column's timers.
 */
#include "internal.h"

#define TYPE_BIT(t) (1u << (t))
/* The answers to a request (peer_asked): the peer answered. */
#define ANSWER_TYPES                                                                   \
	(TYPE_BIT(TR_MSG_ACCEPT_REPLY) | TYPE_BIT(TR_MSG_FETCH_REPLY) |                \
	 TYPE_BIT(TR_MSG_READ_INDEX_REPLY) | TYPE_BIT(TR_MSG_TOO_OLD) |                 \
	 TYPE_BIT(TR_MSG_JOIN_REPLY))
/* The messages about one slot of the column. */
#define SLOT_TYPES                                                                     \
	(TYPE_BIT(TR_MSG_ACCEPT) | TYPE_BIT(TR_MSG_ACCEPT_REPLY) | TYPE_BIT(TR_MSG_COMMIT) | \
	 TYPE_BIT(TR_MSG_FETCH_REPLY))
/* J5: what a replica whose memory no peer has vouched for yet leaves
 * unanswered: the questions whose answers reveal its known (Q1, J1). An
 * ACCEPT gets J2's REFUSED (may_vote); it makes no attempt to be answered. */
#define UNVOUCHED_TYPES (TYPE_BIT(TR_MSG_READ_INDEX) | TYPE_BIT(TR_MSG_JOIN))
_Static_assert(TR_MSG_TYPE_COUNT <= 32, "a message type is a bit of an unsigned");

static void
recv_step(struct tr_column *c, const struct tr_msg *m, uint64_t now_ns, struct tr_out *out)
{
	assert(m->column == c->id && m->to == self_id(c) && m->from < TR_REPLICAS);
	c->stats.rx[m->type]++;
	/* I1 and J0 pass a message of the sender's life as this column knows
	 * it (and a JOIN) without a look at the shared incarnations. */
	if (m->inc != c->peers[m->from].inc && m->type != TR_MSG_JOIN &&
	    (!plausible_inc(c, m) || !inc_admit(c, m)))
		return; /* J0: an older life of the sender: loss; issue 17: too new */
	/* J1: until both peers answered its JOIN, an amnesiac hears nothing else. */
	if (joining(c->rep) && m->type != TR_MSG_JOIN_REPLY &&
	    !(c->rep->cfg.variant & TR_VARIANT_JOIN_VOTES_AT_ONCE)) {
		c->stats.ignored++;
		return;
	}
	if (!plausible(c, m))
		return; /* issue 17: no honest peer sends it; counted, changes nothing */
	if ((TYPE_BIT(m->type) & UNVOUCHED_TYPES) && !vouched(c->rep)) {
		c->stats.ignored++;
		return; /* J5 */
	}
	c->peers[m->from].heard_ns = now_ns;
	if (TYPE_BIT(m->type) & ANSWER_TYPES) {
		c->peers[m->from].answered_ns = now_ns;
		c->peers[m->from].asked_ns = 0;
	}
	/* Only the owner allocates slots in its column (P1): a message about
	 * one it never allocated is foreign, never stored. */
	if (c->owned && m->lsn >= c->next_lsn && (TYPE_BIT(m->type) & SLOT_TYPES)) {
		c->stats.ignored++;
		return;
	}
	switch (m->type) {
	case TR_MSG_ACCEPT:
		recv_accept(c, m, now_ns, out);
		break;
	case TR_MSG_ACCEPT_REPLY:
		recv_accept_reply(c, m, now_ns, out);
		break;
	case TR_MSG_COMMIT:
	case TR_MSG_FETCH_REPLY:
		recv_commit(c, m, out);
		break;
	case TR_MSG_FETCH:
		recv_fetch(c, m, out);
		break;
	case TR_MSG_STATUS:
		recv_status(c, m, now_ns);
		break;
	case TR_MSG_READ_INDEX:
		recv_read_index(c, m, out);
		break;
	case TR_MSG_READ_INDEX_REPLY:
		recv_read_index_reply(c, m, now_ns);
		break;
	case TR_MSG_TOO_OLD:
		recv_too_old(c, m);
		break;
	case TR_MSG_JOIN:
		recv_join(c, m, out);
		break;
	case TR_MSG_JOIN_REPLY:
		recv_join_reply(c, m);
		break;
	default:
		c->stats.ignored++;
		break;
	}
	propose_pending(c, now_ns, out);
	read_pump(c, now_ns, out);
}

void
tr_column_recv(struct tr_column *c, const struct tr_msg *m, uint64_t now_ns, struct tr_out *out)
{
	if (atomic_load_explicit(&c->rep->shared.violation, memory_order_relaxed))
		return;
	recv_step(c, m, now_ns, out);
	/* Every step, the messages it drops too: the caller's timer is this
	 * (a joiner that ignores all but JOIN_REPLY must still resend JOIN). */
	out->deadline_ns = c->next_ns;
}
