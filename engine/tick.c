/* SPDX-License-Identifier: MIT
 * A column's timers: STATUS, catch-up (C2), retries (P6), recovery (R1, R2),
 * and recycling the slots every replica has applied.
 */
#include "internal.h"

static void
send_status(struct tr_column *c, uint64_t now_ns, struct tr_out *out)
{
	struct tr_replica *r = c->rep;
	uint64_t applied = atomic_load_explicit(&r->shared.applied[c->id], memory_order_acquire);

	for (uint8_t q = 0; q < TR_REPLICAS; q++) {
		struct tr_msg *m;

		if (q == self_id(c))
			continue;
		m = out_msg(c, out, TR_MSG_STATUS, q);
		if (m == NULL)
			return;
		m->committed = c->committed;
		m->applied = applied;
		known_load(r, m->known);
		m->sm_keys_max = r->cfg.sm_keys_max;
		m->sm_clients_max = r->cfg.sm_clients_max;
		m->heard = c->peers[q].said; /* T4: what we heard of q, echoed */
	}
	c->status_at_ns = now_ns + r->cfg.status_ns;
}

/* Recycling, only when the ring fills up. T2: a cell may go once it is
 * applied here and by at least one peer; a replica behind the new base gets
 * TOO_OLD and a snapshot (T1) and never holds recycling back. Only a peer
 * heard from lately vouches for what it applied: a dead peer's last report
 * must not push the one live peer below the base (it would need a snapshot
 * for slots it could have fetched). */
static void
recycle(struct tr_column *c, uint64_t now_ns)
{
	uint64_t top = u64_max(c->next_lsn, tr_known(c->rep, c->id));
	uint64_t low, peer = 0;

	if (top - c->base < (c->mask + 1) / 4 * 3)
		return;
	low = atomic_load_explicit(&c->rep->shared.applied[c->id], memory_order_acquire);
	for (uint8_t q = 0; q < TR_REPLICAS; q++) {
		if (q == self_id(c))
			continue;
		if (c->rep->cfg.variant & TR_VARIANT_RECYCLE_HOLD) {
			/* Known-bad: the old rule, every peer heard from lately. */
			uint64_t since = u64_max(c->peers[q].heard_ns, c->rep->started_ns);

			if (now_ns - since < 400 * c->rep->cfg.suspect_ns)
				low = u64_min(low, c->peers[q].applied);
			continue;
		}
		if (peer_fresh(c, q, now_ns))
			peer = u64_max(peer, c->peers[q].applied);
	}
	if (!(c->rep->cfg.variant & TR_VARIANT_RECYCLE_HOLD))
		low = u64_min(low, peer);
	low = u64_min(low, c->committed);
	/* T1: keep the newer half of the ring: a replica back from a snapshot
	 * (its point a transfer old) catches up by FETCH, not by another one. */
	low = u64_min(low, top - (c->mask + 1) / 2);
	if (low > c->base)
		c->base = low;
}

/* C2: ask a peer (rotating, so a dead one cannot stall us) for what we lack. */
static void
fetch(struct tr_column *c, uint64_t target, uint64_t now_ns, struct tr_out *out)
{
	const struct tr_config *cfg = &c->rep->cfg;
	const struct tr_slot *head = slot_find(c, c->committed);
	uint64_t end = u64_min(target, c->committed + cfg->fetch_span_max);
	uint8_t q;
	struct tr_msg *m;

	/* A gap younger than fetch_ns is most likely a COMMIT still in flight. */
	if (head != NULL && head->seen_ns != 0 && now_ns - head->seen_ns < cfg->fetch_ns) {
		c->fetch_at_ns = head->seen_ns + cfg->fetch_ns;
		return;
	}
	q = c->fetch_peer;
	/* P6's shunning, without its probes: the other peer answers. */
	if (q == self_id(c) || !peer_fresh(c, q, now_ns) || peer_shunned(c, q, 1, now_ns))
		q = (uint8_t)((q + 1) % TR_REPLICAS);
	if (q == self_id(c))
		q = (uint8_t)((q + 1) % TR_REPLICAS);
	m = out_msg(c, out, TR_MSG_FETCH, q);
	if (m == NULL)
		return;
	peer_asked(c, q, now_ns);
	m->lsn = c->committed;
	m->lsn_end = end;
	c->fetch_peer = (uint8_t)((q + 1) % TR_REPLICAS);
	c->stats.fetches++;
	for (uint64_t lsn = c->committed; lsn < end; lsn++) {
		struct tr_slot *s = slot_cell(c, lsn);

		if (s != NULL)
			s->flags |= TR_SLOT_FETCHED;
	}
	c->fetch_at_ns = now_ns + cfg->fetch_ns;
}

/* R1/R2: when a non-owner may start recovering slot s. A FETCH must have gone
 * out for it first; while the owner's STATUS is fresh, the slot must also be
 * older than recover_ns (never faster than the owner could finish it). */
static uint64_t
recover_at(const struct tr_column *c, const struct tr_slot *s, uint64_t now_ns)
{
	const struct tr_config *cfg = &c->rep->cfg;

	if (s->lsn < c->abandon_below)
		return s->seen_ns; /* J3: its owner gave it up: at once */
	if (!(s->flags & TR_SLOT_FETCHED))
		return UINT64_MAX; /* the fetch timer comes first */
	if (peer_fresh(c, c->id, now_ns))
		return s->seen_ns + cfg->recover_ns;
	return s->seen_ns + 2 * cfg->fetch_ns;
}

void
tr_column_tick(struct tr_column *c, uint64_t now_ns, struct tr_out *out)
{
	struct tr_replica *r = c->rep;
	uint64_t known_c, target, hi, limit;

	if (atomic_load_explicit(&r->shared.violation, memory_order_relaxed))
		return;
	if (now_ns < c->next_ns) {
		out->deadline_ns = c->next_ns;
		return;
	}
	c->next_ns = UINT64_MAX;

	if (joining(r)) {
		join_tick(c, now_ns, out); /* J1: nothing else until both answer */
		if (!(r->cfg.variant & TR_VARIANT_JOIN_VOTES_AT_ONCE)) {
			out->deadline_ns = c->next_ns;
			return;
		}
	}
	floor_check(c); /* J2: join_complete armed every column */
	if (now_ns >= c->status_at_ns)
		send_status(c, now_ns, out);
	arm(c, c->status_at_ns);
	recycle(c, now_ns);

	/* R1: a timer starts when the slot is first known to exist. */
	known_c = tr_known(r, c->id);
	limit = c->base + c->mask + 1;
	for (uint64_t lsn = u64_max(c->scanned, c->committed); lsn < u64_min(known_c, limit); lsn++) {
		struct tr_slot *s = slot_cell(c, lsn);

		if (s->seen_ns == 0)
			s->seen_ns = now_ns;
	}
	c->scanned = u64_max(c->scanned, u64_min(known_c, limit));

	/* C2: catch up to what known and the peers' STATUS say exists. */
	target = known_c;
	for (uint8_t q = 0; q < TR_REPLICAS; q++)
		if (q != self_id(c))
			target = u64_max(target, c->peers[q].committed);
	if (c->owned)
		target = u64_min(target, c->next_lsn);
	if (c->committed < target) {
		if (c->fetch_at_ns == UINT64_MAX)
			c->fetch_at_ns = now_ns;
		if (now_ns >= c->fetch_at_ns)
			fetch(c, target, now_ns, out);
		arm(c, c->fetch_at_ns);
	} else {
		c->fetch_at_ns = UINT64_MAX;
	}

	/* P6 retries and R1 recoveries, over the uncommitted window. */
	hi = u64_min(c->owned ? c->next_lsn : known_c, limit);
	for (uint64_t lsn = c->committed; lsn < hi; lsn++) {
		struct tr_slot *s = slot_cell(c, lsn);
		uint64_t at;

		if (slot_committed(s))
			continue;
		if (s->flags & TR_SLOT_ATTEMPT) {
			if (now_ns >= s->timer_ns)
				attempt_start(c, s, now_ns, out);
			arm(c, s->timer_ns);
			continue;
		}
		/* J3: an owner never recovers its own column; J2: nor does anyone
		 * below its join floor. S4: a slot of the restart's gap that lay
		 * beyond the ring then is attempted once it is in it. */
		if (c->owned && !((r->cfg.variant & TR_VARIANT_JOIN_RECOVERS_OWN) &&
				  lsn < r->shared.floor[c->id])) {
			if (lsn < c->gap_end && lsn >= r->shared.floor[c->id]) {
				s->flags |= TR_SLOT_ATTEMPT;
				if (s->seen_ns == 0)
					s->seen_ns = now_ns;
				attempt_start(c, s, now_ns, out);
				arm(c, s->timer_ns);
			}
			continue;
		}
		if (!c->owned && !may_vote(c, lsn))
			continue;
		at = recover_at(c, s, now_ns);
		if (now_ns >= at) {
			c->stats.recoveries++;
			attempt_start(c, s, now_ns, out);
			arm(c, s->timer_ns);
		} else {
			arm(c, at);
		}
	}
	propose_pending(c, now_ns, out);
	read_pump(c, now_ns, out); /* Q1: timeouts, and the next barrier */
	out->deadline_ns = c->next_ns;
}
