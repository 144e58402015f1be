/* SPDX-License-Identifier: MIT
 * PROTOCOL §12: falling behind (T1, state transfer) and restarting without
 * memory (J0-J4).
 */
#include "internal.h"

uint32_t
tr_replica_inc(const struct tr_replica *r)
{
	return replica_inc(r);
}

static uint32_t
join_state(const struct tr_replica *r)
{
	return atomic_load_explicit(&((struct tr_replica *)r)->shared.join_state,
				    memory_order_acquire);
}

/* J4: a joiner serves once it has applied the frontier its peers reported. */
bool
tr_replica_serving(const struct tr_replica *r)
{
	struct tr_replica *w = (struct tr_replica *)r;

	if (atomic_load_explicit(&w->shared.serving, memory_order_acquire))
		return true;
	if (join_state(r) != TR_JOIN_JOINED)
		return false;
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		if (atomic_load_explicit(&w->shared.applied[c], memory_order_acquire) <
		    r->shared.join_frontier[c])
			return false;
	atomic_store_explicit(&w->shared.serving, true, memory_order_release);
	return true;
}

bool
tr_replica_vouched(const struct tr_replica *r)
{
	return vouched(r);
}

/* J2 lifted everywhere: every slot below the floors is committed here, so
 * this replica votes like any other again and no longer counts as the one
 * failure (a second failure before then can stop the cluster for good: the
 * slots below the floors need this replica's peers, one of which failed). */
bool
tr_replica_rejoined(const struct tr_replica *r)
{
	uint32_t st = join_state(r);

	return st == TR_JOIN_NONE ||
	       (st == TR_JOIN_JOINED &&
		atomic_load_explicit(&((struct tr_replica *)r)->shared.floors_met,
				     memory_order_acquire) == TR_COLUMNS_ALL);
}

/* J2, J5: may this replica vote (or recover) in slot lsn of column c? Not
 * before a peer vouched for its memory (J5), nor while its JOIN is
 * unanswered; after, not below the floor its peers reported, unless it holds
 * the slot committed (A0 answers those first). */
bool
may_vote(const struct tr_column *c, uint64_t lsn)
{
	const struct tr_replica *r = c->rep;
	uint32_t st = join_state(r);

	if (!vouched(r))
		return false; /* J5 */
	if (st == TR_JOIN_NONE || (r->cfg.variant & TR_VARIANT_JOIN_VOTES_AT_ONCE))
		return true;
	return st == TR_JOIN_JOINED && lsn >= r->shared.floor[c->id];
}

/* J0: drops a message from an older life of its sender; a newer life wipes
 * what this column believed of the old one. JOIN comes from an amnesiac that
 * does not know its incarnation yet. */
bool
inc_admit(struct tr_column *c, const struct tr_msg *m)
{
	struct tr_replica *r = c->rep;
	struct tr_peer *p = &c->peers[m->from];
	uint32_t seen;

	if (m->type == TR_MSG_JOIN)
		return true;
	if (m->inc < p->inc) {
		if (r->cfg.variant & TR_VARIANT_KEEP_OLD_INC)
			return true;
		c->stats.stale_inc++;
		return false;
	}
	if (m->inc == p->inc)
		return true;
	p->inc = m->inc;
	p->committed = 0;
	p->applied = 0;
	/* J5: what a life restarted from disk said, its next one is echoed:
	 * no less is on its disk (S1), unless its memory went back. A joiner's
	 * new life starts afresh (T4), and is not judged. */
	if (p->joining)
		p->said = 0;
	p->joining = false;
	p->heard_us = 0;
	/* J5: a new life waits for a STATUS to vouch for it: one at once. */
	c->status_at_ns = 0;
	arm(c, 0);
	seen = atomic_load(&r->shared.peer_inc[m->from]);
	while (seen < m->inc &&
	       !atomic_compare_exchange_weak(&r->shared.peer_inc[m->from], &seen, m->inc))
		;
	return true;
}

/* J1 at the joiner's own column: JOIN to every peer that has not answered. */
void
join_tick(struct tr_column *c, uint64_t now_ns, struct tr_out *out)
{
	struct tr_replica *r = c->rep;

	if (!c->owned || join_state(r) != TR_JOIN_WAITING)
		return;
	if (now_ns >= r->join_at_ns) {
		for (uint8_t q = 0; q < TR_REPLICAS; q++) {
			struct tr_msg *m;

			if (q == self_id(c) || (r->join_answered & (1u << q)))
				continue;
			m = out_msg(c, out, TR_MSG_JOIN, q);
			if (m == NULL)
				return;
			peer_asked(c, q, now_ns);
			m->read_id = r->join_id;
			c->stats.joins++;
		}
		r->join_at_ns = now_ns + r->cfg.join_ns;
	}
	arm(c, r->join_at_ns);
}

/* J1 at a peer, in the joiner's column: answer with what this replica had
 * seen when the JOIN first came, and (J3) give up the joiner's old slots:
 * known[j] rises to L = H[j] + inflight_max and every slot below L that is
 * not committed here is recovered at once, between the two peers. */
void
recv_join(struct tr_column *c, const struct tr_msg *m, struct tr_out *out)
{
	struct tr_replica *r = c->rep;
	struct tr_msg *a;

	if (c->owned || m->from != c->id || join_state(r) == TR_JOIN_WAITING) {
		c->stats.ignored++; /* two replicas joining at once: no answer, J1 waits */
		return;
	}
	if (m->read_id != c->join_id) {
		uint64_t l;

		c->join_id = m->read_id;
		known_load(r, c->join_known);
		l = c->join_known[c->id] + r->cfg.inflight_max;
		c->abandon_below = u64_max(c->abandon_below, l);
		known_note(r, c->id, l - 1, NULL);
		c->peers[m->from].committed = 0;
		c->peers[m->from].applied = 0;
		c->peers[m->from].said = 0;
		c->peers[m->from].heard_us = 0;
		c->peers[m->from].joining = true;
		c->stats.joins++;
	}
	a = out_msg(c, out, TR_MSG_JOIN_REPLY, m->from);
	if (a == NULL)
		return; /* the joiner sends JOIN again */
	a->read_id = m->read_id;
	a->inc_seen = atomic_load(&r->shared.peer_inc[m->from]);
	memcpy(a->known, c->join_known, sizeof(a->known));
	for (unsigned i = 0; i < TR_COLUMNS; i++)
		a->frontier[i] = atomic_load_explicit(&r->shared.applied[i], memory_order_acquire);
}

/* Both answers in: the new incarnation (J0), the floors (J2) and the first
 * lsn of the new life (J3), then votes and proposals may start. */
static void
join_complete(struct tr_column *c)
{
	struct tr_replica *r = c->rep;
	uint8_t me = self_id(c);
	uint64_t l = r->join_h[me];
	uint32_t inc = r->join_inc_max + 1;

	if (inc >= TR_INC_MAX) {
		violation(r, "J0: incarnations exhausted");
		return;
	}
	if (!(r->cfg.variant & TR_VARIANT_JOIN_FROM_H))
		l += r->cfg.inflight_max; /* J3: what the old self may have allocated */
	for (unsigned i = 0; i < TR_COLUMNS; i++)
		r->shared.floor[i] = r->join_h[i];
	r->shared.floor[me] = l;
	known_merge(r, r->join_h);
	if (l > 0)
		known_note(r, me, l - 1, NULL);
	c->next_lsn = u64_max(c->next_lsn, l);
	c->read_id_next = (uint64_t)inc << 32 | 1; /* J0: this life's barrier ids */
	atomic_store_explicit(&r->shared.inc, inc, memory_order_release);
	atomic_store_explicit(&r->shared.join_state, TR_JOIN_JOINED, memory_order_release);
	for (unsigned i = 0; i < TR_COLUMNS; i++)
		arm(&r->col[i], 0);
}

void
recv_join_reply(struct tr_column *c, const struct tr_msg *m)
{
	struct tr_replica *r = c->rep;
	uint8_t bit = (uint8_t)(1u << m->from);

	if (!c->owned || join_state(r) != TR_JOIN_WAITING || m->read_id != r->join_id ||
	    (r->join_answered & bit)) {
		c->stats.ignored++;
		return;
	}
	r->join_answered |= bit;
	if (m->inc_seen > r->join_inc_max)
		r->join_inc_max = m->inc_seen;
	for (unsigned i = 0; i < TR_COLUMNS; i++) {
		r->join_h[i] = u64_max(r->join_h[i], m->known[i]);
		r->shared.join_frontier[i] = u64_max(r->shared.join_frontier[i], m->frontier[i]);
	}
	if (r->join_answered == (uint8_t)(((1u << TR_REPLICAS) - 1) & ~(1u << self_id(c))))
		join_complete(c);
}

/* T4 (this project's, docs/protocol.md §12): a peer that fell below the
 * base needs a snapshot, then the slots after its point, which recycling
 * keeps for half a ring (T1). Under load half a ring can go by faster than a
 * snapshot cycle, and the peer would chase snapshots for ever. So while a
 * live peer catches up, the owner starts one instance per pace_ns, which
 * makes half a ring last catchup_ns (batches grow: commands/s drop far less
 * than instances/s). A peer whose applied prefix moves but stays below the
 * base installed a snapshot that came too late: the pace halves, down to a
 * sixteenth. The episode ends when the peer applies within a quarter ring
 * of the top. */
static uint64_t
pace_floor(const struct tr_column *c)
{
	return u64_max(c->rep->cfg.catchup_ns / ((c->mask + 1) / 2), 1);
}

/* T4: a peer of the episode slows us only while it can catch up: it is
 * heard from (a silent one cannot), and its STATUS echoes our committed
 * prefix within a quarter ring of where it is (a deaf one, which sends but
 * hears nothing, cannot either: its echo stays where it went deaf). */
static bool
catchup_active(const struct tr_column *c, uint64_t now_ns)
{
	for (uint8_t q = 0; q < TR_REPLICAS; q++)
		if ((c->catchup >> q) & 1 && peer_fresh(c, q, now_ns) &&
		    ((c->rep->cfg.variant & TR_VARIANT_PACE_FOR_DEAF) ||
		     c->peers[q].heard_us + (c->mask + 1) / 4 >= c->committed))
			return true;
	return false;
}

/* recv_status: peer q's applied prefix of this column was was, and moved. */
void
catchup_note(struct tr_column *c, uint8_t q, uint64_t was, uint64_t now_ns)
{
	const struct tr_peer *p = &c->peers[q];
	uint64_t top;

	if (!c->owned || c->rep->cfg.catchup_ns == 0 ||
	    (c->rep->cfg.variant & TR_VARIANT_NO_CATCHUP_PACE))
		return;
	if (!((c->catchup >> q) & 1)) {
		if (p->applied >= c->base)
			return;
		if (!catchup_active(c, now_ns))
			c->pace_ns = pace_floor(c);
		c->catchup |= (uint8_t)(1u << q);
		c->pace_heard_ns = now_ns;
		return;
	}
	/* No peer of the episode reported for a catchup_ns (it was paused or
	 * restarted while it caught up): a new episode, at the first pace. */
	if (now_ns - c->pace_heard_ns > c->rep->cfg.catchup_ns)
		c->pace_ns = pace_floor(c);
	c->pace_heard_ns = now_ns;
	if (p->applied > was && p->applied < c->base) {
		/* Too late (or fetched from the other peer, whose base is
		 * lower): at most one halving per quarter of catchup_ns. */
		if (now_ns >= c->pace_slow_at_ns && c->pace_ns < 16 * pace_floor(c)) {
			c->pace_ns *= 2;
			c->pace_slow_at_ns = now_ns + c->rep->cfg.catchup_ns / 4;
			c->stats.pace_slowed++;
		}
		return;
	}
	top = u64_max(c->next_lsn, tr_known(c->rep, c->id));
	if (p->applied + (c->mask + 1) / 4 >= top)
		c->catchup &= (uint8_t)~(1u << q);
}

/* True while the next instance must wait for the pace (its timer armed). */
bool
catchup_wait(struct tr_column *c, uint64_t now_ns)
{
	if (now_ns >= c->pace_at_ns || !catchup_active(c, now_ns))
		return false;
	arm(c, c->pace_at_ns);
	return true;
}

/* allocate: an instance starts now. */
void
catchup_started(struct tr_column *c, uint64_t now_ns)
{
	if (!catchup_active(c, now_ns))
		return;
	c->pace_at_ns = now_ns + c->pace_ns;
	c->stats.paced++;
}

/* T1: this column sent something about a slot below its base. */
void
send_too_old(struct tr_column *c, uint8_t to, struct tr_out *out)
{
	struct tr_msg *m = out_msg(c, out, TR_MSG_TOO_OLD, to);

	c->stats.fetch_too_old++;
	if (m != NULL)
		m->lsn = c->base;
}

/* T1: a peer recycled slots this replica has not committed: a snapshot. */
void
recv_too_old(struct tr_column *c, const struct tr_msg *m)
{
	uint32_t none = 0;

	c->stats.too_old_rx++;
	if (c->committed >= m->lsn)
		return; /* everything below its base is committed here */
	atomic_compare_exchange_strong(&c->rep->shared.snap_want, &none, 1u + m->from);
}

bool
tr_replica_snapshot_wanted(const struct tr_replica *r, uint8_t *peer)
{
	uint32_t w = atomic_load(&((struct tr_replica *)r)->shared.snap_want);

	if (w == 0)
		return false;
	if (peer != NULL)
		*peer = (uint8_t)(w - 1);
	return true;
}

void
tr_replica_snapshot_point(const struct tr_replica *r, struct tr_snap_point *pt)
{
	for (unsigned i = 0; i < TR_COLUMNS; i++)
		pt->applied[i] = atomic_load_explicit(&((struct tr_replica *)r)->shared.applied[i],
						      memory_order_acquire);
	known_load(r, pt->known);
}

bool
tr_replica_snapshot_ahead(const struct tr_replica *r, const struct tr_snap_point *pt)
{
	bool ahead = false;

	for (unsigned i = 0; i < TR_COLUMNS; i++) {
		uint64_t a = atomic_load(&((struct tr_replica *)r)->shared.applied[i]);

		if (pt->applied[i] < a)
			return false;
		ahead |= pt->applied[i] > a;
	}
	return ahead;
}

/* T1: the owner's client commands in slots the snapshot covers go again (P7);
 * their cells stay untouched until the ring comes round. */
static void
requeue_own(struct tr_column *c, uint64_t from, uint64_t to)
{
	for (uint64_t lsn = from; lsn < to; lsn++) {
		const struct tr_slot *s = &c->slots[lsn & c->mask];
		bool queued = false;

		if (s->lsn != lsn || s->own_count == 0)
			continue;
		for (uint32_t i = 0; i < c->repropose_count && !queued; i++)
			queued = c->repropose[i] == lsn;
		if (!queued && c->repropose_count <= c->mask)
			c->repropose[c->repropose_count++] = lsn;
	}
}

int
tr_replica_install(struct tr_replica *r, const struct tr_snap_point *pt, uint64_t now_ns)
{
	if (!tr_replica_snapshot_ahead(r, pt))
		return -1;
	for (unsigned i = 0; i < TR_COLUMNS; i++) {
		struct tr_column *c = &r->col[i];
		uint64_t f = pt->applied[i];

		if (c->owned)
			requeue_own(c, atomic_load(&r->shared.applied[i]), u64_min(f, c->next_lsn));
		/* Cells below f are stale now: the snapshot holds what they held. */
		c->base = u64_max(c->base, f);
		c->committed = u64_max(c->committed, f);
		for (;;) {
			const struct tr_slot *h = slot_find(c, c->committed);

			if (h == NULL || !slot_committed(h))
				break;
			c->committed++;
		}
		c->scanned = u64_max(c->scanned, f);
		if (c->owned)
			c->next_lsn = u64_max(c->next_lsn, f);
		c->fetch_at_ns = now_ns;
		c->next_ns = now_ns;
		atomic_store_explicit(&r->shared.applied[i], f, memory_order_release);
	}
	known_merge(r, pt->known);
	atomic_store(&r->shared.snap_want, 0);
	return 0;
}
