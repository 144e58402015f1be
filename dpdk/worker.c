/* SPDX-License-Identifier: MIT
 * Poll-mode workers: per column task, rx burst -> engine -> tx burst.
 * No protocol decisions here: the engine makes them.
 */
#include <string.h>

#include <urcu-qsbr.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "runtime.h"

static inline uint32_t
task_rand(struct rt_task *k)
{
	k->rng ^= k->rng << 13;
	k->rng ^= k->rng >> 7;
	k->rng ^= k->rng << 17;
	return (uint32_t)(k->rng >> 16);
}

static inline bool
chance(struct rt_task *k, _Atomic uint32_t *threshold)
{
	uint32_t p = atomic_load_explicit(threshold, memory_order_relaxed);

	return p != 0 && task_rand(k) < p;
}

/* Queue index of (peer, column) on a replica's port. */
static inline uint16_t
queue_of(const struct rt_replica *r, unsigned peer, unsigned column)
{
	if (r->t->ring_mesh)
		return (uint16_t)(peer * TR_COLUMNS + column);
	return r->rxq > 1 ? (uint16_t)column : 0; /* a queue per column, or one */
}

static void
tx_burst(struct rt_task *k, uint16_t queue, struct rte_mbuf **pkts, unsigned n)
{
	struct rt_replica *r = k->rep;
	uint64_t bytes = 0;
	unsigned sent;

	for (unsigned i = 0; i < n; i++) /* before: a sent mbuf is the peer's */
		bytes += rte_pktmbuf_pkt_len(pkts[i]);
	sent = rte_eth_tx_burst(r->port, queue, pkts, (uint16_t)n);
	k->tx_pkts += sent;
	if (sent < n) {
		k->drops_tx_full += n - sent;
		for (unsigned i = sent; i < n; i++)
			bytes -= rte_pktmbuf_pkt_len(pkts[i]);
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	}
	k->tx_bytes += bytes;
}

/* tx[]'s frames out, through fault injection (drop, duplicate, delay),
 * then the delayed ones that are due. */
static void
tx_send(struct rt_task *k, uint64_t now_ns)
{
	struct rt_replica *r = k->rep;

	for (unsigned peer = 0; peer < TR_REPLICAS; peer++) {
		struct rte_mbuf *out[2 * RT_BURST];
		unsigned n = 0;
		uint16_t q = queue_of(r, peer, k->column);

		for (unsigned i = 0; i < k->ntx[peer]; i++) {
			struct rte_mbuf *m = k->tx[peer][i];

			if (chance(k, &r->faults.drop_tx)) {
				k->drops_fault++;
				rte_pktmbuf_free(m);
				continue;
			}
			if (chance(k, &r->faults.delay_tx) && k->delayed_len < RT_DELAY_MAX) {
				unsigned at = (k->delayed_head + k->delayed_len++) % RT_DELAY_MAX;

				k->delayed[at] = (struct rt_delayed){
					.m = m, .queue = q,
					.due_ns = now_ns + atomic_load(&r->faults.delay_ns)};
				continue;
			}
			out[n++] = m;
			if (chance(k, &r->faults.dup_tx)) {
				rte_mbuf_refcnt_update(m, 1); /* readers never write a frame */
				out[n++] = m;
			}
		}
		k->ntx[peer] = 0;
		k->tx_status[peer] = 0;
		if (n > 0)
			tx_burst(k, q, out, n);
	}
	while (k->delayed_len > 0 && k->delayed[k->delayed_head].due_ns <= now_ns) {
		struct rt_delayed *d = &k->delayed[k->delayed_head];

		tx_burst(k, d->queue, &d->m, 1);
		k->delayed_head = (k->delayed_head + 1) % RT_DELAY_MAX;
		k->delayed_len--;
	}
}

/* S1: tx[]'s frames wait, behind those already waiting, for sync gen
 * (the caller made room). */
static void
tx_hold(struct rt_task *k, uint64_t gen)
{
	for (unsigned peer = 0; peer < TR_REPLICAS; peer++) {
		for (unsigned i = 0; i < k->ntx[peer]; i++) {
			bool status = k->tx_status[peer] >> i & 1;

			RTE_VERIFY(k->held_len < RT_HELD_MAX);
			k->held[(k->held_head + k->held_len++) % RT_HELD_MAX] =
				(struct rt_held){.m = k->tx[peer][i], .gen = gen,
						 .peer = (uint8_t)peer, .status = status};
			k->status_held[peer] += status;
		}
		k->ntx[peer] = 0;
		k->tx_status[peer] = 0;
	}
}

/* The oldest waiting frame, out of held[]. */
static struct rt_held
held_pop(struct rt_task *k)
{
	struct rt_held h = k->held[k->held_head];

	k->held_head = (k->held_head + 1) % RT_HELD_MAX;
	k->held_len--;
	k->status_held[h.peer] -= h.status;
	return h;
}

/* The waiting frames whose sync is done (up to durable), oldest first,
 * out; then tx[]'s. */
static unsigned
held_release(struct rt_task *k, uint64_t durable, uint64_t now_ns)
{
	struct rte_mbuf *fresh[TR_REPLICAS][RT_BURST];
	unsigned nfresh[TR_REPLICAS], n = 0;

	memcpy(fresh, k->tx, sizeof(fresh));
	memcpy(nfresh, k->ntx, sizeof(nfresh));
	memset(k->ntx, 0, sizeof(k->ntx));
	memset(k->tx_status, 0, sizeof(k->tx_status));
	while (k->held_len > 0 && k->held[k->held_head].gen <= durable) {
		struct rt_held h = held_pop(k);

		if (k->ntx[h.peer] == RT_BURST)
			tx_send(k, now_ns);
		k->tx[h.peer][k->ntx[h.peer]++] = h.m;
		n++;
	}
	for (unsigned peer = 0; peer < TR_REPLICAS; peer++)
		for (unsigned i = 0; i < nfresh[peer]; i++) {
			if (k->ntx[peer] == RT_BURST)
				tx_send(k, now_ns);
			k->tx[peer][k->ntx[peer]++] = fresh[peer][i];
		}
	tx_send(k, now_ns);
	return n;
}

void
rt_task_drop_held(struct rt_task *k)
{
	while (k->held_len > 0)
		rte_pktmbuf_free(held_pop(k).m);
}

/* S1: nothing leaves before the records it may reveal are durable (this
 * also covers a flush forced mid-burst by a full tx array); a frame whose
 * sync runs on the syncer waits in held[] while the task goes on. Returns
 * the waiting frames sent. */
static unsigned
tx_flush(struct rt_task *k, uint64_t now_ns)
{
	uint64_t wait, durable;
	enum rt_gate gate = rt_durable_gate(k, &wait, &durable);
	unsigned frames = 0;

	for (unsigned peer = 0; peer < TR_REPLICAS; peer++)
		frames += k->ntx[peer];
	if (gate == RT_GATE_WAIT && k->held_len + frames > RT_HELD_MAX) {
		rt_durable_sync(k); /* no room to wait: the sync here, as a disk without a syncer */
		gate = rt_durable_gate(k, &wait, &durable); /* open: all of it durable */
	}
	if (gate == RT_GATE_SHUT) {
		for (unsigned peer = 0; peer < TR_REPLICAS; peer++) {
			rte_pktmbuf_free_bulk(k->tx[peer], k->ntx[peer]);
			k->drops_tx_full += k->ntx[peer];
			k->ntx[peer] = 0;
			k->tx_status[peer] = 0;
		}
		k->drops_tx_full += k->held_len;
		rt_task_drop_held(k);
		return 0;
	}
	if (gate == RT_GATE_WAIT) {
		tx_hold(k, wait);
		return held_release(k, durable, now_ns);
	}
	if (k->held_len > 0) /* open: every waiting frame is durable, and goes first */
		return held_release(k, durable, now_ns);
	tx_send(k, now_ns);
	return 0;
}

uint16_t
rt_task_payload_cap(const struct rt_task *k, const struct rte_mbuf *m)
{
	return rt_auth_room(&k->rep->t->auth, tr_net_payload_cap(m, &k->rep->net));
}

/* The MAC after a closed frame (auth on; rt_task_payload_cap left room). */
static uint16_t
sign(struct rt_task *k, struct rte_mbuf *m, uint16_t len, unsigned peer, unsigned channel)
{
	const struct rt_auth *a = &k->rep->t->auth;

	if (!a->on)
		return len;
	return rt_auth_sign(rcu_dereference(a->keys), tr_net_payload(m), len, k->rep->id, peer,
			    channel);
}

static void
frame_close(struct rt_task *k, unsigned peer)
{
	struct rte_mbuf *m = k->open[peer];
	uint16_t len;

	if (m == NULL)
		return;
	k->open[peer] = NULL;
	len = sign(k, m, (uint16_t)tr_frame_end(&k->fw[peer]), peer, k->column);
	tr_net_build(m, &k->rep->net, (uint8_t)k->rep->id, (uint8_t)peer, (uint8_t)k->column,
		     len);
	if (k->open_status[peer])
		k->tx_status[peer] |= 1u << k->ntx[peer];
	k->open_status[peer] = false;
	k->tx[peer][k->ntx[peer]++] = m;
}

static bool
frame_open(struct rt_task *k, unsigned peer)
{
	struct rt_replica *r = k->rep;
	struct rte_mbuf *m = rte_pktmbuf_alloc(r->pool);
	struct tr_frame_hdr hdr = {.cluster_id = r->limits.cluster_id, .from = (uint8_t)r->id,
				   .to = (uint8_t)peer, .column = (uint8_t)k->column,
				   .inc = tr_replica_inc(&r->eng)};

	if (m == NULL) {
		k->drops_nombuf++;
		return false;
	}
	if (k->ntx[peer] == RT_BURST)
		tx_flush(k, rt_now_ns(r->t));
	tr_frame_begin(&k->fw[peer], tr_net_payload(m), rt_task_payload_cap(k, m), &hdr);
	k->open[peer] = m;
	return true;
}

struct rte_mbuf *
rt_task_frame_alloc(struct rt_task *k)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(k->rep->pool);

	if (m == NULL)
		k->drops_nombuf++;
	return m;
}

void
rt_task_send(struct rt_task *k, unsigned peer, struct rte_mbuf *m, uint16_t len)
{
	struct rt_replica *r = k->rep;

	if (k->ntx[peer] == RT_BURST)
		tx_flush(k, rt_now_ns(r->t));
	len = sign(k, m, len, peer, TR_NET_SNAP);
	if (tr_net_build(m, &r->net, (uint8_t)r->id, (uint8_t)peer, TR_NET_SNAP, len) != 0) {
		rte_pktmbuf_free(m);
		k->drops_tx_full++;
		return;
	}
	k->tx[peer][k->ntx[peer]++] = m;
}

/* Several messages to one peer share a frame (and a packet). */
static void
emit(struct rt_task *k)
{
	for (unsigned i = 0; i < k->out.msg_count; i++) {
		const struct tr_msg *m = &k->out.msgs[i];

		/* A STATUS is a heartbeat: while an older one to this peer waits
		 * for a sync (held[]), a newer one would only pile up behind it. */
		if (m->type == TR_MSG_STATUS && k->status_held[m->to] > 0)
			continue;
		if (k->open[m->to] != NULL && tr_frame_add(&k->fw[m->to], m) == 0)
			goto sent;
		frame_close(k, m->to);
		if (!frame_open(k, m->to))
			continue; /* lost: timers repeat what matters */
		if (tr_frame_add(&k->fw[m->to], m) != 0) {
			k->drops_tx_full++; /* larger than a packet: a config error */
			continue;
		}
sent:
		k->open_status[m->to] |= m->type == TR_MSG_STATUS;
		k->tx_msgs_n++;
	}
	k->deadline_ns = k->out.deadline_ns;
}

/* A received packet to the engine: the column's task (the UDP port says
 * which; on the ring mesh it is always k's own column). */
static void
rx_packet(struct rt_task *k, struct rte_mbuf *m, uint64_t now_ns)
{
	struct rt_replica *r = k->rep;
	struct tr_net_rx rx;
	struct tr_frame_hdr hdr;
	unsigned count;
	int rc;

	if (chance(k, &r->faults.drop_rx)) {
		k->drops_fault++;
		return;
	}
	rc = tr_net_parse(m, &r->net, (uint8_t)r->id, &rx);
	tr_net_stats_count(&k->net, rc);
	if (rc == TR_NET_DROP_FOREIGN_ARP)
		rt_remote_arp(k, m); /* remote.c: remote clients' hosts ask */
	if (rc != TR_NET_OK)
		return;
	/* A queue per column: another column's packet is its lcore's alone
	 * (the snapshot and client channels go to column 0's queue). */
	if (r->rxq > 1 && (rx.column < TR_COLUMNS ? rx.column : 0) != k->column) {
		k->drops_malformed++;
		return;
	}
	if (rx.column == TR_NET_CLIENT) { /* no frame, no MAC: trireme_proto.h */
		rt_remote_rx(k, &rx, now_ns); /* remote.c */
		return;
	}
	/* Before anything reads the frame: its MAC, when auth is on. */
	if (r->t->auth.on && !rt_auth_verify(rcu_dereference(r->t->auth.keys), rx.payload,
					     rx.len, rx.from, r->id, rx.column, &rx.len)) {
		k->drops_auth++;
		return;
	}
	if (rx.column == TR_NET_SNAP) {
		rt_snap_rx(k, &rx, now_ns); /* k: the column 0 task (its queue) */
		return;
	}
	k = &r->tasks[rx.column];
	rc = tr_frame_decode(rx.payload, rx.len, &r->limits, &hdr, k->rx_msgs, TR_FRAME_MSGS_MAX,
			     &count);
	if (rc != 0 || hdr.column != rx.column || hdr.from != rx.from) {
		k->drops_malformed++;
		return;
	}
	for (unsigned i = 0; i < count; i++) {
		tr_out_reset(&k->out);
		tr_column_recv(k->col, &k->rx_msgs[i], now_ns, &k->out);
		emit(k);
	}
	k->rx_msgs_n += count;
}

/* Client commands into the engine's queue, in order; what it refuses waits
 * in the stash for the next poll. */
static bool
submit_cmd(struct rt_task *k, struct rt_cmd *c)
{
	struct tr_cmd cmd = {
		.op = c->kind,
		.window = c->origin_id != 0 ? c->origin_window : (uint8_t)c->client->window,
		.client_id = c->origin_id != 0 ? c->origin_id : c->client->id,
		.seq = c->origin_id != 0 ? c->origin_seq : c->seq,
		.key = c->data,
		.key_len = c->key_len,
		.val = c->data + c->key_len,
		.val_len = tr_op_has_val(c->kind) ? c->val_len : 0,
	};

	bool taken;

	if (tr_op_is_read(c->kind) && c->read_mode == TRIREME_READ_BARRIER)
		taken = tr_column_read(k->col, &cmd) == 0; /* Q1 */
	else
		taken = tr_column_submit(k->col, &cmd) == 0;
	if (taken) /* the engine copied it: a freed client may go now */
		atomic_store_explicit(&c->in_ring, false, memory_order_release);
	return taken;
}

static unsigned
take_commands(struct rt_task *k)
{
	unsigned i = 0, n;

	while (i < k->nstash && submit_cmd(k, k->stash[i]))
		i++;
	memmove(k->stash, k->stash + i, (k->nstash - i) * sizeof(k->stash[0]));
	k->nstash -= i;
	if (k->nstash > 0)
		return i;
	n = rte_ring_dequeue_burst(k->rep->submit, (void **)k->stash, RT_BURST, NULL);
	k->nstash = n;
	for (i = 0; i < n && submit_cmd(k, k->stash[i]); i++)
		;
	memmove(k->stash, k->stash + i, (n - i) * sizeof(k->stash[0]));
	k->nstash = n - i;
	return n;
}

/* Frames open, queued or delayed, or a log to sync before sending (S1):
 * tx_flush has something to do. */
static inline bool
tx_pending(const struct rt_task *k)
{
	for (unsigned peer = 0; peer < TR_REPLICAS; peer++)
		if (k->open[peer] != NULL || k->ntx[peer] > 0)
			return true;
	return k->delayed_len > 0 || k->rep->dur.on;
}

/* One pass over a task at now_ns. Returns the work done (0: idle). */
static unsigned
task_poll(struct rt_task *k, uint64_t now_ns)
{
	struct rt_replica *r = k->rep;
	struct rte_mbuf *pkts[RT_BURST];
	bool paused = atomic_load_explicit(&r->paused, memory_order_relaxed);
	unsigned work = 0;

	if (atomic_load_explicit(&r->hold, memory_order_relaxed)) {
		/* §12: an install (the column 0 task does it) or a crash. */
		if (k->column == 0 && r->srx.state == RT_SNAP_INSTALLING &&
		    !atomic_load(&r->down))
			return rt_snap_poll(k, now_ns);
		if (rt_held(r, 1u << k->column))
			return 0;
	}

	/* Ring mesh: a queue per (peer, column). A queue per column (rte_flow):
	 * each task reads its own. One port queue: the column 0 task reads it
	 * for the replica (its columns share the lcore, place()). */
	for (unsigned peer = 0; peer < TR_REPLICAS; peer++) {
		unsigned n;

		if (r->t->ring_mesh ? peer == r->id : (peer > 0 || (k->column != 0 && r->rxq < 2)))
			continue;
		if (k->rx_ring[peer] != NULL && rte_ring_empty(k->rx_ring[peer]))
			continue; /* most polls of the mesh: a look, not a call */
		n = rte_eth_rx_burst(r->port, queue_of(r, peer, k->column), pkts, RT_BURST);
		k->rx_pkts += n;
		work += n;
		for (unsigned i = 0; i < n; i++) {
			if (!paused)
				rx_packet(k, pkts[i], now_ns);
			rte_pktmbuf_free(pkts[i]);
		}
	}
	if (paused)
		return work;

	if (k->col->owned) {
		unsigned n = take_commands(k);

		if (n > 0 || work > 0) {
			tr_out_reset(&k->out);
			tr_column_flush(k->col, now_ns, &k->out);
			emit(k);
		}
		work += n;
	}
	if (now_ns >= k->deadline_ns) {
		tr_out_reset(&k->out);
		tr_column_tick(k->col, now_ns, &k->out);
		emit(k);
		work++;
	}
	if (k->column == 0) {
		work += rt_snap_poll(k, now_ns); /* T1: snapshots both ways */
		work += rt_remote_poll(k);       /* remote clients' replies */
	}
	work += rt_durable_poll(k, now_ns);  /* §12 S: disk snapshots, trimming */
	if (!tx_pending(k))
		return work; /* most passes of an idle task end here */
	for (unsigned peer = 0; peer < TR_REPLICAS; peer++)
		frame_close(k, peer);
	return work + tx_flush(k, now_ns);
}

/* An lcore: its column tasks, then the appliers placed on it (QSBR
 * readers of the store: quiescent after every pass). */
int
rt_worker_main(void *arg)
{
	struct rt_lcore *lc = arg;
	struct trireme *t = lc->t;
	unsigned idle = 0;
	/* Readers: of the stores (appliers), of the auth keys (tasks). */
	bool qsbr = lc->nappliers > 0 || t->auth.on;

	if (qsbr)
		urcu_qsbr_register_thread();
	while (!atomic_load_explicit(&t->stop, memory_order_relaxed)) {
		uint64_t now_ns = rt_now_ns(t);
		unsigned work = 0, a = 0;

		/* The clock is read again only after a task that worked: a read
		 * costs about as much as an idle task's poll on a VM. A replica's
		 * applier runs right after its columns: a commit they just made
		 * is applied (and answered) before the other replicas' turns. */
		for (unsigned i = 0; i < lc->ntasks; i++) {
			unsigned w = task_poll(lc->tasks[i], now_ns);

			for (; a < lc->nappliers && lc->applier_at[a] == i + 1; a++)
				w += rt_applier_step(lc->appliers[a]);
			if (w > 0) {
				work += w;
				now_ns = rt_now_ns(t);
			}
		}
		for (; a < lc->nappliers; a++)
			work += rt_applier_step(lc->appliers[a]);
		if (qsbr)
			urcu_qsbr_quiescent_state();
		if (work > 0)
			idle = 0;
		else if (qsbr)
			rt_idle_qsbr(t, &idle);
		else
			rt_idle(t, &idle);
	}
	if (qsbr)
		urcu_qsbr_unregister_thread();
	return 0;
}
