/* SPDX-License-Identifier: MIT
 * The read barrier at the reader's owner column (§8, Q1 and the hand-over of
 * Q2): reads wait in a FIFO; READ_INDEX goes to one peer for every read taken
 * before it was sent; the answered batch {K, reads} goes to the applier, which
 * answers it once it has applied K (Q3, apply.c). Up to read_barriers_max
 * barriers are in flight, each over the reads since the previous one's send,
 * so that a read waits about one round trip rather than one and a half.
 */
#include "internal.h"

int
tr_column_read(struct tr_column *c, const struct tr_cmd *get)
{
	const struct tr_config *cfg = &c->rep->cfg;
	size_t need = tr_cmd_bytes(get);
	uint8_t *end;
	uint32_t room;

	if (!c->owned || !tr_op_is_read(get->op) || need > cfg->read_bytes_max - c->reads_len) {
		c->stats.backpressure++;
		return -1;
	}
	if (need > cfg->read_bytes_max - c->reads_off - c->reads_len) {
		memmove(c->reads, c->reads + c->reads_off, c->reads_len); /* compact */
		c->reads_off = 0;
	}
	end = c->reads + c->reads_off + c->reads_len;
	room = cfg->read_bytes_max - c->reads_off - c->reads_len;
	/* The applier decodes it later: refuse what it could not decode. */
	if (tr_cmd_encode(end, room, get) != need || tr_cmds_validate(end, need, 1) != TR_WIRE_OK) {
		c->stats.backpressure++;
		return -1;
	}
	c->reads_len += (uint32_t)need;
	c->reads_count++;
	c->stats.reads++;
	return 0;
}

/* The i-th oldest barrier in flight (a ring of read_barriers_max). */
static struct tr_barrier *
barrier_at(struct tr_column *c, uint32_t i)
{
	return &c->barriers[(c->barrier_head + i) % c->rep->cfg.read_barriers_max];
}

/* Q1: for a new barrier, the peer that answered most recently (peer_first);
 * on a timeout of b, the other one, unless only b's looks alive (as P6). */
static uint8_t
barrier_peer(const struct tr_column *c, const struct tr_barrier *b, uint64_t now_ns)
{
	uint8_t me = self_id(c);
	uint8_t p1 = (uint8_t)((me + 1) % TR_REPLICAS);
	uint8_t p2 = (uint8_t)((me + 2) % TR_REPLICAS);
	uint8_t next;

	if (b == NULL)
		return peer_first(c);
	next = b->peer == p1 ? p2 : p1;
	if (!peer_fresh(c, next, now_ns) && peer_fresh(c, b->peer, now_ns))
		return b->peer;
	if (peer_shunned(c, next, b->attempts, now_ns))
		return b->peer;
	return next;
}

/* Q1: READ_INDEX with a new id (ids only grow), for a new barrier (b NULL)
 * or a timed-out one. The newest barrier takes every read queued so far (on
 * a retry, the reads that arrived meanwhile too: they were taken before this
 * send); an older one keeps its reads. A reply to an earlier id of b is
 * ignored from now on. */
static void
barrier_send(struct tr_column *c, struct tr_barrier *b, uint64_t now_ns, struct tr_out *out)
{
	uint8_t peer = barrier_peer(c, b, now_ns);
	struct tr_msg *m = out_msg(c, out, TR_MSG_READ_INDEX, peer);

	if (m == NULL)
		return; /* out_msg armed a tick */
	peer_asked(c, peer, now_ns);
	if (b != NULL) {
		c->stats.read_retries++;
	} else {
		b = barrier_at(c, c->barrier_count++);
		b->attempts = 0;
	}
	b->state = TR_BARRIER_SENT;
	b->peer = peer;
	b->attempts++;
	b->id = c->read_id_next++;
	b->sent_ns = now_ns;
	if (b == barrier_at(c, c->barrier_count - 1)) {
		b->len = c->reads_len;
		b->count = c->reads_count;
	}
	known_load(c->rep, b->own_known);
	b->timer_ns = now_ns + backoff_ns(c, b->attempts); /* P6 back-off */
	arm(c, b->timer_ns);
	m->read_id = b->id;
	c->stats.read_barriers++;
}

/* Q2 -> Q3: the reads below len (count of them) into the applier's queue
 * with K = k (release: the applier's acquire of read_tail sees the batch).
 * false when it is full. */
static bool
batch_hand(struct tr_column *c, const uint64_t k[TR_COLUMNS], uint32_t len, uint32_t count)
{
	struct tr_replica *r = c->rep;
	uint64_t tail = atomic_load_explicit(&r->shared.read_tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&r->shared.read_head, memory_order_acquire);
	struct tr_read_batch *e;

	assert(len <= c->reads_len && count <= c->reads_count);
	if (tail - head >= r->cfg.read_batches_max)
		return false;
	e = &r->shared.read_batches[tail % r->cfg.read_batches_max];
	memcpy(e->k, k, sizeof(e->k));
	e->count = count;
	e->len = len;
	memcpy(e->cmds, c->reads + c->reads_off, len);
	atomic_store_explicit(&r->shared.read_tail, tail + 1, memory_order_release);

	c->reads_len -= len;
	c->reads_count -= count;
	c->reads_off = c->reads_len == 0 ? 0 : c->reads_off + len;
	return true;
}

/* Q2 -> Q3: the answered barriers at the head of the ring, oldest first (the
 * applier answers its batches in order); consecutive ones with one K go as
 * one batch. false when the applier's queue is full. */
static bool
reads_hand(struct tr_column *c)
{
	while (c->barrier_count > 0 && barrier_at(c, 0)->state == TR_BARRIER_ANSWERED) {
		const struct tr_barrier *b = barrier_at(c, 0);
		const struct tr_barrier *last = b;
		uint32_t n = 1;

		while (n < c->barrier_count && barrier_at(c, n)->state == TR_BARRIER_ANSWERED &&
		       memcmp(barrier_at(c, n)->k, b->k, sizeof(b->k)) == 0)
			last = barrier_at(c, n++);
		if (!batch_hand(c, b->k, last->len, last->count))
			return false;
		for (uint32_t i = n; i < c->barrier_count; i++) {
			barrier_at(c, i)->len -= last->len;
			barrier_at(c, i)->count -= last->count;
		}
		for (uint32_t i = 0; i < n; i++)
			*barrier_at(c, i) = (struct tr_barrier){.state = TR_BARRIER_IDLE};
		c->barrier_head = (c->barrier_head + n) % c->rep->cfg.read_barriers_max;
		c->barrier_count -= n;
	}
	return true;
}

/* Q1: the barrier in flight whose current READ_INDEX is id, sent to from;
 * NULL if none (a stale or duplicate reply). */
struct tr_barrier *
read_barrier(struct tr_column *c, uint64_t id, uint8_t from)
{
	for (uint32_t i = 0; i < c->barrier_count; i++) {
		struct tr_barrier *b = barrier_at(c, i);

		if (b->state == TR_BARRIER_SENT && b->id == id && b->peer == from)
			return b;
	}
	return NULL;
}

/* Q2 done: K is known for the reads taken before b's READ_INDEX was sent.
 * Those include every read of the barriers older than b (Q1: taken before
 * it too), so the ones still waiting take the same K: an answer never waits
 * for an older one, and the hand-over stays in FIFO order. */
void
read_answered(struct tr_column *c, struct tr_barrier *b, const uint64_t k[TR_COLUMNS],
	      uint64_t now_ns)
{
	uint32_t n = c->rep->cfg.read_barriers_max;
	uint32_t upto = ((uint32_t)(b - c->barriers) + n - c->barrier_head) % n;

	assert(b->state == TR_BARRIER_SENT && upto < c->barrier_count);
	if (b->attempts == 1 && now_ns > b->sent_ns) /* pacing: first attempts only */
		c->read_rtt_ns = c->read_rtt_ns == 0 ? now_ns - b->sent_ns
				 : (7 * c->read_rtt_ns + (now_ns - b->sent_ns)) / 8;
	if (c->rep->cfg.variant & TR_VARIANT_READ_SHARE_EARLY) {
		struct tr_barrier *last = barrier_at(c, c->barrier_count - 1);

		/* known-bad: the reads taken after the send (the newer barriers' too) */
		upto = c->barrier_count - 1;
		last->len = c->reads_len;
		last->count = c->reads_count;
	}
	for (uint32_t i = 0; i <= upto; i++) {
		struct tr_barrier *x = barrier_at(c, i);

		if (x->state != TR_BARRIER_SENT)
			continue;
		memcpy(x->k, k, sizeof(x->k));
		x->state = TR_BARRIER_ANSWERED;
		x->timer_ns = UINT64_MAX;
	}
	if (!reads_hand(c)) {
		c->stats.read_queue_full++;
		arm(c, now_ns + c->rep->cfg.retry_ns);
	}
}

/* Called at the end of every flush, recv and tick of a column (read_pump,
 * when a read waits or a barrier is in flight): retries a
 * full hand-over, times out the barriers in flight, or starts the next one:
 * when reads came after the newest send, fewer than read_barriers_max are in
 * flight, and the newest is older than a share of the round trip (1/N: N in
 * flight at a steady rate; the reads of the meantime share one). */
void
read_pump_busy(struct tr_column *c, uint64_t now_ns, struct tr_out *out)
{
	const struct tr_config *cfg = &c->rep->cfg;
	const struct tr_barrier *newest;
	uint64_t at;

	if (!c->owned || !tr_replica_serving(c->rep))
		return; /* J4 */
	if (!reads_hand(c))
		arm(c, now_ns + cfg->retry_ns); /* the applier makes room */
	for (uint32_t i = 0; i < c->barrier_count; i++) {
		struct tr_barrier *b = barrier_at(c, i);

		if (b->state != TR_BARRIER_SENT)
			continue;
		if (now_ns >= b->timer_ns)
			barrier_send(c, b, now_ns, out); /* Q1: on a timeout, the other peer */
		arm(c, b->timer_ns);
	}
	newest = c->barrier_count > 0 ? barrier_at(c, c->barrier_count - 1) : NULL;
	if (c->barrier_count == cfg->read_barriers_max ||
	    c->reads_count == (newest != NULL ? newest->count : 0))
		return;
	if (cfg->variant & TR_VARIANT_READ_NO_BARRIER) {
		static const uint64_t none[TR_COLUMNS];
		struct tr_barrier *b = barrier_at(c, c->barrier_count++);

		/* Known-bad: answered from the local state at once. */
		*b = (struct tr_barrier){.state = TR_BARRIER_SENT, .len = c->reads_len,
					 .count = c->reads_count};
		read_answered(c, b, none, now_ns);
		return;
	}
	if (newest != NULL) {
		at = newest->sent_ns + c->read_rtt_ns / cfg->read_barriers_max;
		if (now_ns < at) {
			arm(c, at);
			return;
		}
	}
	barrier_send(c, NULL, now_ns, out);
}
