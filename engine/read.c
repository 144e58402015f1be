/* SPDX-License-Identifier: MIT
 * The read barrier at the reader's owner column (§8, Q1 and the hand-over of
 * Q2): reads wait in a FIFO; READ_INDEX goes to one peer for every read taken
 * before it was sent; the answered batch {K, reads} goes to the applier, which
 * answers it once it has applied K (Q3, apply.c).
 */
#include "internal.h"

int
tr_column_read(struct tr_column *c, const struct tr_cmd *get)
{
	const struct tr_config *cfg = &c->rep->cfg;
	size_t need = tr_cmd_bytes(get);
	uint32_t room = cfg->read_bytes_max - c->reads_len;

	if (!c->owned || !tr_op_is_read(get->op) || need > room) {
		c->stats.backpressure++;
		return -1;
	}
	/* The applier decodes it later: refuse what it could not decode. */
	if (tr_cmd_encode(c->reads + c->reads_len, room, get) != need ||
	    tr_cmds_validate(c->reads + c->reads_len, need, 1) != TR_WIRE_OK) {
		c->stats.backpressure++;
		return -1;
	}
	c->reads_len += (uint32_t)need;
	c->reads_count++;
	c->stats.reads++;
	return 0;
}

/* Q1: the peer heard from most recently; on a timeout, the other one, unless
 * only the current one looks alive (as P6 does). */
static uint8_t
barrier_peer(const struct tr_column *c, uint64_t now_ns)
{
	const struct tr_barrier *b = &c->barrier;
	uint8_t me = self_id(c);
	uint8_t p1 = (uint8_t)((me + 1) % TR_REPLICAS);
	uint8_t p2 = (uint8_t)((me + 2) % TR_REPLICAS);
	uint8_t next;

	if (b->state != TR_BARRIER_SENT)
		return c->peers[p2].heard_ns > c->peers[p1].heard_ns ? p2 : p1;
	next = b->peer == p1 ? p2 : p1;
	if (!peer_fresh(c, next, now_ns) && peer_fresh(c, b->peer, now_ns))
		return b->peer;
	return next;
}

/* Q1: READ_INDEX with a new id; the barrier takes every read queued so far
 * (on a retry, the reads that arrived meanwhile too: they were taken before
 * this send). A reply to an earlier id is ignored from now on. */
static void
barrier_send(struct tr_column *c, uint64_t now_ns, struct tr_out *out)
{
	struct tr_barrier *b = &c->barrier;
	uint8_t peer = barrier_peer(c, now_ns);
	struct tr_msg *m = out_msg(c, out, TR_MSG_READ_INDEX, peer);

	if (m == NULL)
		return; /* out_msg armed a tick */
	if (b->state == TR_BARRIER_SENT)
		c->stats.read_retries++;
	else
		b->attempts = 0;
	b->state = TR_BARRIER_SENT;
	b->peer = peer;
	b->attempts++;
	b->id = c->read_id_next++;
	b->sent_ns = now_ns;
	b->len = c->reads_len;
	b->count = c->reads_count;
	known_load(c->rep, b->own_known);
	b->timer_ns = now_ns + backoff_ns(c, b->attempts); /* P6 back-off */
	arm(c, b->timer_ns);
	m->read_id = b->id;
	c->stats.read_barriers++;
}

/* Q2 -> Q3: the answered batch into the applier's queue (release: the
 * applier's acquire of read_tail sees the batch). false when it is full. */
static bool
batch_hand(struct tr_column *c)
{
	struct tr_replica *r = c->rep;
	struct tr_barrier *b = &c->barrier;
	uint64_t tail = atomic_load_explicit(&r->shared.read_tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&r->shared.read_head, memory_order_acquire);
	struct tr_read_batch *e;

	assert(b->state == TR_BARRIER_ANSWERED && b->len <= c->reads_len);
	if (tail - head >= r->cfg.read_batches_max)
		return false;
	e = &r->shared.read_batches[tail % r->cfg.read_batches_max];
	memcpy(e->k, b->k, sizeof(e->k));
	e->count = b->count;
	e->len = b->len;
	memcpy(e->cmds, c->reads, b->len);
	atomic_store_explicit(&r->shared.read_tail, tail + 1, memory_order_release);

	memmove(c->reads, c->reads + b->len, c->reads_len - b->len);
	c->reads_len -= b->len;
	c->reads_count -= b->count;
	b->state = TR_BARRIER_IDLE;
	b->len = 0;
	b->count = 0;
	return true;
}

/* Q2 done: K is known for the reads taken before the send that was answered. */
void
read_answered(struct tr_column *c, const uint64_t k[TR_COLUMNS], uint64_t now_ns)
{
	struct tr_barrier *b = &c->barrier;

	assert(b->state == TR_BARRIER_SENT);
	if (c->rep->cfg.variant & TR_VARIANT_READ_SHARE_EARLY) {
		b->len = c->reads_len; /* known-bad: reads taken after the send */
		b->count = c->reads_count;
	}
	memcpy(b->k, k, sizeof(b->k));
	b->state = TR_BARRIER_ANSWERED;
	b->timer_ns = UINT64_MAX;
	if (!batch_hand(c)) {
		c->stats.read_queue_full++;
		arm(c, now_ns + c->rep->cfg.retry_ns);
	}
}

/* Called at the end of every flush, recv and tick of a column: retries a
 * full hand-over, times out the barrier in flight, or starts the next one. */
void
read_pump(struct tr_column *c, uint64_t now_ns, struct tr_out *out)
{
	struct tr_barrier *b = &c->barrier;

	if (!c->owned || !tr_replica_serving(c->rep))
		return; /* J4 */
	if (b->state == TR_BARRIER_ANSWERED && !batch_hand(c)) {
		arm(c, now_ns + c->rep->cfg.retry_ns); /* the applier makes room */
		return;
	}
	if (b->state == TR_BARRIER_SENT) {
		if (now_ns >= b->timer_ns)
			barrier_send(c, now_ns, out); /* Q1: on a timeout, the other peer */
		arm(c, b->timer_ns);
		return;
	}
	if (c->reads_count == 0)
		return;
	if (c->rep->cfg.variant & TR_VARIANT_READ_NO_BARRIER) {
		static const uint64_t none[TR_COLUMNS];

		/* Known-bad: answered from the local state at once. */
		b->len = c->reads_len;
		b->count = c->reads_count;
		b->state = TR_BARRIER_SENT;
		read_answered(c, none, now_ns);
		return;
	}
	barrier_send(c, now_ns, out);
}
