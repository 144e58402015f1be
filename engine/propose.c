/* SPDX-License-Identifier: MIT
 * The write path, proposer side: P1 allocate, P2 ballot, P3 ship, P7 again.
 * Recoverers (R1) start their attempts through the same attempt_start().
 */
#include "internal.h"

/* P6: the peer for this attempt. The first goes to the peer that answered
 * most recently (peer_first); retries alternate, unless only the other peer
 * looks alive. */
static uint8_t
choose_peer(struct tr_column *c, const struct tr_slot *s, uint64_t now_ns)
{
	uint8_t me = self_id(c);
	uint8_t a = (uint8_t)((me + 1) % TR_REPLICAS);
	uint8_t b = (uint8_t)((me + 2) % TR_REPLICAS);
	uint8_t next;

	/* J3: the joiner's abandoned slots go to the other peer, never to it. */
	if (!c->owned && s->lsn < c->abandon_below)
		return (uint8_t)(TR_REPLICAS * (TR_REPLICAS - 1) / 2 - me - c->id);
	if (s->attempts <= 1) {
		uint8_t pick = peer_first(c);
		uint8_t other = pick == a ? b : a;

		/* T1: a peer whose STATUS shows it a ring behind holds no cell for
		 * the slot (it ignores the ACCEPT): the other one first. */
		if (c->peers[pick].committed + c->mask < s->lsn &&
		    c->peers[other].committed + c->mask >= s->lsn)
			return other;
		/* J2, J5: one that refused this slot, if the other can vote. */
		if ((s->refused >> pick) & 1 && !((s->refused >> other) & 1) &&
		    peer_fresh(c, other, now_ns))
			return other;
		return pick;
	}
	next = s->attempt_peer == a ? b : a;
	/* J2, J5: it cannot vote here yet, unless the other one fell silent
	 * (a J5 refusal lasts a STATUS period). */
	if ((s->refused >> next) & 1 && !((s->refused >> s->attempt_peer) & 1) &&
	    peer_fresh(c, s->attempt_peer, now_ns))
		return s->attempt_peer;
	if (!peer_fresh(c, next, now_ns) && peer_fresh(c, s->attempt_peer, now_ns))
		return s->attempt_peer;
	if (peer_shunned(c, next, s->attempts, now_ns))
		return s->attempt_peer;
	return next;
}

/* P2 + P3 (and R1): a new attempt on the slot with a ballot never used for it,
 * promised locally, shipped to one peer. The snapshot is the local entry, or
 * for a recoverer holding none, a NOOP with deps = known (not stored). */
void
attempt_start(struct tr_column *c, struct tr_slot *s, uint64_t now_ns, struct tr_out *out)
{
	const struct tr_config *cfg = &c->rep->cfg;
	uint8_t me = self_id(c);
	struct tr_ballot b;
	struct tr_msg *m;

	assert(!slot_committed(s));
	if (!vouched(c->rep)) {
		/* J5: no ballot before a peer vouched for this life's memory;
		 * only a restored attempt gets here (the others wait upstream). */
		s->timer_ns = now_ns + cfg->retry_ns;
		arm(c, s->timer_ns);
		return;
	}
	if (out->msg_count == out->msg_cap) {
		arm(c, 0);
		return;
	}
	if ((cfg->variant & TR_VARIANT_REUSE_BALLOT) && s->attempts > 0 &&
	    tr_ballot_cmp(s->promised, s->attempt) == 0) {
		b = s->attempt; /* known-bad: the same ballot to the other peer */
	} else {
		uint32_t n = s->promised.n > s->n_seen ? s->promised.n : s->n_seen;

		if (n >= TR_BALLOT_N_MAX) {
			violation(c->rep, "P2: ballots exhausted for a slot");
			return;
		}
		b = (struct tr_ballot){n + 1, me, replica_inc(c->rep)}; /* P2, J0 */
	}
	if ((s->flags & TR_SLOT_VALUE) || !(cfg->variant & TR_VARIANT_NO_RECOVERER_PROMISE))
		s->promised = b; /* P2: recorded even without an entry (R1) */
	s->attempt = b;
	s->attempts++;
	s->flags |= TR_SLOT_ATTEMPT;
	s->attempt_peer = choose_peer(c, s, now_ns);
	s->timer_ns = now_ns + backoff_ns(c, s->attempts);
	arm(c, s->timer_ns);
	if (s->attempts > 1)
		c->stats.retries++;
	/* S1: the promise, and for the owner its allocation (the slot's value),
	 * durable before the ACCEPT that reveals them; S4: not the owner's
	 * first attempt, whose promise a restart assumes (promise_floor). */
	if (cfg->durable != NULL)
		durable_slot_rec(c, s, c->owned && b.n == 1 && tr_ballot_none(s->vbal) &&
					       s->lsn < c->committed + TR_LAZY_SPAN);

	m = out_msg(c, out, TR_MSG_ACCEPT, s->attempt_peer);
	peer_asked(c, s->attempt_peer, now_ns);
	m->lsn = s->lsn;
	m->ballot = b;
	if (s->flags & TR_SLOT_VALUE) {
		m->vbal = s->vbal;
		m->value = s->value;
	} else {
		known_load(c->rep, m->value.deps);
		m->value.proposer = me;
	}
}

void
send_commit(struct tr_column *c, const struct tr_slot *s, uint8_t voter, struct tr_out *out)
{
	for (uint8_t q = 0; q < TR_REPLICAS; q++) {
		struct tr_msg *m;

		if (q == self_id(c))
			continue;
		m = out_msg(c, out, TR_MSG_COMMIT, q);
		if (m == NULL)
			return; /* lost COMMITs cost latency, not progress (C2) */
		m->lsn = s->lsn;
		m->value = s->value;
		/* W2: the voter holds the value at vbal: a reference is enough. */
		m->ref = q == voter;
		m->ballot = s->vbal;
	}
}

static bool
window_open(const struct tr_column *c, const struct tr_out *out)
{
	const struct tr_config *cfg = &c->rep->cfg;

	return c->next_lsn - c->committed < cfg->inflight_max &&
	       c->next_lsn - c->base <= c->mask && out->msg_count < out->msg_cap;
}

/* P1: allocate the next lsn of the owner's column for these commands. */
static void
allocate(struct tr_column *c, const uint8_t *cmds, uint32_t len, uint16_t count,
	 uint64_t now_ns, struct tr_out *out)
{
	uint64_t lsn = c->next_lsn++;
	struct tr_slot *s = slot_cell(c, lsn);
	struct tr_value v;

	assert(s != NULL && !(s->flags & TR_SLOT_VALUE));
	pace_start(c, now_ns); /* T4 */
	/* D1/D2: the own slot enters known first, then known is captured. */
	known_note(c->rep, c->id, lsn, NULL);
	known_load(c->rep, v.deps);
	v.proposer = self_id(c);
	v.cmd_count = count;
	v.cmds_len = len;
	v.cmds = cmds;
	slot_set_value(c, s, &v);
	memcpy(s->own_cmds, s->cmds, len); /* P1: kept apart for P7 */
	s->own_len = len;
	s->own_count = count;
	s->seen_ns = now_ns;
	c->stats.proposed++;
	attempt_start(c, s, now_ns, out);
}

/* Proposes what waits: first P7 re-proposals, then queued client commands,
 * as many commands per instance as the batch limits allow (propose_pending
 * calls it when something does). */
void
propose_waiting(struct tr_column *c, uint64_t now_ns, struct tr_out *out)
{
	const struct tr_config *cfg = &c->rep->cfg;

	if (!c->owned || !tr_replica_serving(c->rep))
		return; /* J4 */
	if (!vouched(c->rep)) {
		arm(c, now_ns + cfg->retry_ns); /* J5: another column may vouch */
		return;
	}
	while (c->repropose_count > 0 && window_open(c, out) && !pace_wait(c, now_ns)) {
		/* The raw cell: after an install (T1) it lies below the base. */
		uint64_t lsn = c->repropose[0];
		const struct tr_slot *old = &c->slots[lsn & c->mask];

		c->repropose_count--;
		memmove(c->repropose, c->repropose + 1, c->repropose_count * sizeof(uint64_t));
		if (old->lsn != lsn || old->own_count == 0)
			continue;
		c->stats.reproposed++;
		allocate(c, old->own_cmds, old->own_len, old->own_count, now_ns, out);
	}
	while (c->pending_count > 0 && window_open(c, out) && !pace_wait(c, now_ns)) {
		uint32_t len = 0;
		uint16_t count = 0;
		size_t off = c->pending_off;

		while (count < c->pending_count && count < cfg->batch_cmds_max) {
			/* well-formed: tr_column_submit took it */
			size_t n = tr_cmd_len(c->pending + off);

			assert(off + n <= c->pending_len);
			if (len + n > cfg->batch_bytes_max)
				break;
			len += (uint32_t)n;
			off += n;
			count++;
		}
		assert(count > 0);
		allocate(c, c->pending + c->pending_off, len, count, now_ns, out);
		c->pending_off += len;
		c->pending_count -= count;
		if (c->pending_count == 0)
			c->pending_off = c->pending_len = 0;
	}
}

int
tr_column_submit(struct tr_column *c, const struct tr_cmd *cmd)
{
	const struct tr_config *cfg = &c->rep->cfg;
	size_t need = tr_cmd_bytes(cmd);

	if (!c->owned || need > cfg->batch_bytes_max) {
		c->stats.backpressure++;
		return -1;
	}
	if (c->pending_len + need > cfg->pending_bytes_max && c->pending_off > 0) {
		memmove(c->pending, c->pending + c->pending_off, c->pending_len - c->pending_off);
		c->pending_len -= c->pending_off;
		c->pending_off = 0;
	}
	if (c->pending_len + need > cfg->pending_bytes_max) {
		c->stats.backpressure++;
		return -1;
	}
	/* A command queued is well-formed (propose and apply read it unchecked). */
	assert(tr_cmd_fields_ok(cmd->op, cmd->window, cmd->key_len, cmd->val_len));
	c->pending_len += (uint32_t)tr_cmd_encode(c->pending + c->pending_len,
						  cfg->pending_bytes_max - c->pending_len, cmd);
	c->pending_count++;
	return 0;
}

void
tr_column_flush(struct tr_column *c, uint64_t now_ns, struct tr_out *out)
{
	if (atomic_load_explicit(&c->rep->shared.violation, memory_order_relaxed))
		return;
	propose_pending(c, now_ns, out);
	read_pump(c, now_ns, out);
	out->deadline_ns = c->next_ns;
}
