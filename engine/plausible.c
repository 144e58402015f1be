/* SPDX-License-Identifier: MIT
 * Issue 17: plausibility. Every field a peer sends is bounded by what that
 * peer could know; a message no honest peer could send is dropped, counted
 * by reason, and changes nothing. docs/protocol.md, "Plausibility", gives
 * each bound and why it never drops a message an honest peer sends (or, for
 * the windowed bounds, why dropping it costs only a retransmission).
 */
#include "internal.h"

const char *
tr_implausible_name(unsigned reason)
{
	static const char *const names[] = {
#define TR_IMPLAUSIBLE_TEXT(name, text) text,
		TR_IMPLAUSIBLE(TR_IMPLAUSIBLE_TEXT)
#undef TR_IMPLAUSIBLE_TEXT
	};

	return reason < TR_IMPLAUSIBLE_COUNT ? names[reason] : "unknown reason";
}

static bool
drop(struct tr_column *c, unsigned reason)
{
	c->stats.implausible[reason]++;
	return false;
}

/* The highest ballot n this replica has seen or made for the slot. */
static uint32_t
slot_n(const struct tr_slot *s)
{
	uint32_t n;

	if (s == NULL)
		return 0;
	n = s->promised.n > s->vbal.n ? s->promised.n : s->vbal.n;
	if (s->attempt.n > n)
		n = s->attempt.n;
	return s->n_seen > n ? s->n_seen : n;
}

/* V1, V2: the commands of a value for slot lsn of column c. */
static bool
cmds_plausible(struct tr_column *c, const struct tr_msg *m, const struct tr_value *v)
{
	const struct tr_config *cfg = &c->rep->cfg;

	/* V1: client commands enter a column only at its owner (P1), and A3
	 * keeps the owner as the proposer of a value with commands. */
	if (v->cmd_count > 0 && v->proposer != c->id)
		return drop(c, TR_IMPLAUSIBLE_CMDS);
	/* V2: in the own column, a value in this replica's name is the very
	 * batch it allocated for that lsn (kept apart, P1). */
	if (c->owned && v->proposer == cfg->id && v->cmd_count > 0) {
		const struct tr_slot *s = slot_find(c, m->lsn);

		if (s != NULL && s->own_count > 0 &&
		    (s->own_count != v->cmd_count || s->own_len != v->cmds_len ||
		     memcmp(s->own_cmds, v->cmds, v->cmds_len) != 0))
			return drop(c, TR_IMPLAUSIBLE_CMDS);
	}
	return true;
}

/* V1-V3: a value for slot lsn of column c. A value by reference (W1, W2)
 * carries no commands to judge (decoded from the wire, only its deps are
 * set; in process, the receiver takes its own): V3 only. */
static bool
value_plausible(struct tr_column *c, const struct tr_msg *m, const struct tr_value *v)
{
	const struct tr_config *cfg = &c->rep->cfg;

	if (!m->ref && !cmds_plausible(c, m, v))
		return false;
	/* V3: deps within the horizons (H1, H2); the slot's own column entry
	 * covers the slot itself (D2). Every horizon is at least known[d] (up
	 * to TR_LSN_MAX): deps below it pass without computing it. */
#pragma GCC unroll 3
	for (unsigned d = 0; d < TR_COLUMNS; d++) {
		uint64_t h;

		if (v->deps[d] <= u64_min(known_get(c->rep, d), TR_LSN_MAX))
			continue;
		h = plausible_horizon(c, d);

		if (d == c->id && !c->owned)
			h = u64_max(h, u64_min(m->lsn + 1 + plausible_window(cfg), TR_LSN_MAX));
		if (v->deps[d] > h)
			return drop(c, d == cfg->id ? TR_IMPLAUSIBLE_OWN : TR_IMPLAUSIBLE_AHEAD);
	}
	return true;
}

/* A known vector a peer sends (READ_INDEX_REPLY): H1, H2. */
static bool
known_plausible(struct tr_column *c, const uint64_t known[TR_COLUMNS])
{
	for (unsigned d = 0; d < TR_COLUMNS; d++)
		if (known[d] > plausible_horizon(c, d))
			return drop(c, d == c->rep->cfg.id ? TR_IMPLAUSIBLE_OWN
							   : TR_IMPLAUSIBLE_AHEAD);
	return true;
}

/* I1, before J0 takes the sender's incarnation as its new life: a peer's
 * incarnation grows by one per restart. */
bool
plausible_inc(struct tr_column *c, const struct tr_msg *m)
{
	uint32_t inc = atomic_load_explicit(&c->rep->shared.peer_inc[m->from],
					    memory_order_relaxed);

	if (c->peers[m->from].inc > inc)
		inc = c->peers[m->from].inc;
	if (m->type != TR_MSG_JOIN && m->inc > inc && m->inc - inc > TR_INC_STEP)
		return drop(c, TR_IMPLAUSIBLE_INC);
	return true;
}

bool
plausible(struct tr_column *c, const struct tr_msg *m)
{
	const struct tr_replica *r = c->rep;
	const struct tr_slot *s;

	switch (m->type) {
	case TR_MSG_ACCEPT:
		s = slot_find(c, m->lsn);
		/* B1: a ballot is made by its replica only, which ships it; its
		 * snapshot's vote is older than the ballot it promised (P2). */
		if (m->ballot.replica != m->from || tr_ballot_cmp(m->vbal, m->ballot) >= 0)
			return drop(c, TR_IMPLAUSIBLE_SHAPE);
		/* B2: one message cannot jump the slot's ballots far ahead. */
		if (m->ballot.n > slot_n(s) && m->ballot.n - slot_n(s) > TR_BALLOT_STEP)
			return drop(c, TR_IMPLAUSIBLE_BALLOT);
		return value_plausible(c, m, &m->value);
	case TR_MSG_ACCEPT_REPLY:
		s = slot_find(c, m->lsn);
		/* B3: a reply answers a ballot this replica made. */
		if (m->ballot.replica != r->cfg.id ||
		    (s != NULL && m->ballot.n > slot_n(s)))
			return drop(c, TR_IMPLAUSIBLE_SHAPE);
		if (m->reply == TR_REPLY_REJECT) {
			/* A1: a REJECT names a promise above the ballot; B2. */
			if (tr_ballot_cmp(m->promised, m->ballot) <= 0)
				return drop(c, TR_IMPLAUSIBLE_SHAPE);
			if (m->promised.n > slot_n(s) && m->promised.n - slot_n(s) > TR_BALLOT_STEP)
				return drop(c, TR_IMPLAUSIBLE_BALLOT);
			return true;
		}
		if (m->reply == TR_REPLY_REFUSED)
			return true;
		return value_plausible(c, m, &m->value);
	case TR_MSG_COMMIT:
		/* W2: by reference, only lsn and ballot travel (the receiver
		 * takes the value it voted): nothing else to judge. */
		if (m->ref)
			return true;
		return value_plausible(c, m, &m->value);
	case TR_MSG_FETCH_REPLY:
		return value_plausible(c, m, &m->value);
	case TR_MSG_STATUS:
		/* S1: applied <= committed <= known, of the sender's own view;
		 * H1 for the own column. H2 clamps (recv_status), never drops:
		 * STATUS is how a replica far behind learns it is. */
		if (m->applied > m->committed || m->committed > m->known[c->id])
			return drop(c, TR_IMPLAUSIBLE_SHAPE);
		if (c->owned && m->committed > plausible_horizon(c, c->id)) {
			/* J5: commits in the own column past what this life knows
			 * it allocated: from an honest peer, an older memory. */
			if (!r->cfg.join && !(r->cfg.variant & TR_VARIANT_NO_MEMORY_CHECK))
				memory_behind((struct tr_replica *)r, m->from, c->id, m->committed,
					      plausible_horizon(c, c->id), true);
			return drop(c, TR_IMPLAUSIBLE_OWN);
		}
		return true;
	case TR_MSG_READ_INDEX_REPLY:
		return known_plausible(c, m->known);
	case TR_MSG_TOO_OLD:
		/* T1: a base above 0; in the own column, not above what was
		 * allocated. Another column's base may be anywhere ahead. */
		if (m->lsn == 0)
			return drop(c, TR_IMPLAUSIBLE_SHAPE);
		if (c->owned && m->lsn > plausible_horizon(c, c->id))
			return drop(c, TR_IMPLAUSIBLE_OWN);
		return true;
	case TR_MSG_JOIN_REPLY:
		/* J1: L = H + inflight_max stays an lsn. The joiner knows
		 * nothing else to judge by (the frontier is read later than H:
		 * it may lie above it). */
		for (unsigned d = 0; d < TR_COLUMNS; d++)
			if (m->known[d] > TR_LSN_MAX - r->cfg.inflight_max - 1)
				return drop(c, TR_IMPLAUSIBLE_AHEAD);
		return true;
	default:
		return true;
	}
}
