/* SPDX-License-Identifier: MIT
 * Trireme runtime: PROTOCOL §12 on the runtime's side. A snapshot's
 * transfer between the column 0 tasks of two replicas, its install under a
 * hold of the replica's tasks and applier, crash and restart of a replica.
 *
 * Transfer frames travel on the snapshot channel (UDP port_base + 3,
 * TR_NET_SNAP), never through the engine's decoder:
 *
 *    0 u32 magic "TRSX"   4 u8 type   5 u8 from   6 u16 zero
 *    8 u32 cluster id    12 u32 zero  16 u64 transfer id
 *   24 REQ:  applied[3] u64 of the asker (informational)
 *      DATA: u64 offset, u64 total, u32 chunk, u32 len, len bytes
 *      ACK:  u64 acked (every byte below it received)
 *   end: u32 CRC32C of the bytes before it
 *
 * The receiver names a new transfer id in every REQ (after a restart of
 * either side, or a peer that stopped answering: the other peer); it keeps
 * chunks out of order and acknowledges its contiguous prefix every
 * RT_SNAP_ACK_EVERY chunks, on a gap and at the end. The sender sends at
 * most RT_SNAP_WINDOW bytes beyond the acknowledged prefix, paced to
 * RT_SNAP_BYTES_PER_S (T3: the survivors' commit path keeps the wire),
 * resends the first missing chunk on repeated ACKs, goes back to the prefix
 * after RT_SNAP_RTO_NS without progress, and gives up after
 * RT_SNAP_GIVEUP_NS of silence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu-qsbr.h>

#include <rte_cycles.h>
#include <rte_log.h>

#include "le.h"
#include "runtime.h"

#define RT_SNAP_SLOW_NS 1000000000ull    /* a load or an install this slow is logged */
#define RT_JOIN_LOG_NS 2000000000ull     /* an unfinished start says so this often */

uint64_t
rt_client_id(const struct rt_replica *r, uint32_t index)
{
	return r->client_id_base + (uint64_t)r->id * r->clients_max + index;
}

bool
rt_held(struct rt_replica *r, unsigned bit)
{
	if (!atomic_load_explicit(&r->hold, memory_order_seq_cst))
		return false;
	atomic_fetch_or(&r->parked, bit);
	return true;
}

/* Frames. */
static uint8_t *
snapx_begin(struct rt_task *k, struct rte_mbuf **m, uint8_t type, uint64_t xfer)
{
	struct rt_replica *r = k->rep;
	uint8_t *p;

	*m = rt_task_frame_alloc(k);
	if (*m == NULL)
		return NULL;
	p = tr_net_payload(*m);
	memset(p, 0, SNAPX_HDR);
	put_le32(p, SNAPX_MAGIC);
	p[4] = type;
	p[5] = (uint8_t)r->id;
	put_le32(p + 8, r->limits.cluster_id);
	put_le64(p + 16, xfer);
	return p;
}

static void
snapx_send(struct rt_task *k, unsigned peer, struct rte_mbuf *m, uint32_t len)
{
	uint8_t *p = tr_net_payload(m);

	put_le32(p + len, tr_crc32c(0, p, len));
	rt_task_send(k, peer, m, (uint16_t)(len + 4));
}

/* Payload room of a DATA frame. */
static size_t
snapx_chunk(struct rt_task *k, struct rte_mbuf *m)
{
	return rt_task_payload_cap(k, m) - SNAPX_DATA_HDR - 4;
}

static void
send_req(struct rt_task *k, uint64_t now_ns)
{
	struct rt_replica *r = k->rep;
	struct rte_mbuf *m;
	uint8_t *p = snapx_begin(k, &m, SNAPX_REQ, r->srx.xfer);

	r->srx.req_ns = now_ns;
	if (p == NULL)
		return;
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		put_le64(p + SNAPX_HDR + 8 * c, atomic_load(&r->eng.shared.applied[c]));
	snapx_send(k, r->srx.peer, m, SNAPX_HDR + 24);
	r->snap.requests++;
}

/* An ACK of transfer xfer from peer: its prefix received is acked. */
static void
ack_to(struct rt_task *k, uint8_t peer, uint64_t xfer, uint64_t acked)
{
	struct rte_mbuf *m;
	uint8_t *p = snapx_begin(k, &m, SNAPX_ACK, xfer);

	if (p == NULL)
		return;
	put_le64(p + SNAPX_HDR, acked);
	snapx_send(k, peer, m, SNAPX_HDR + 8);
}

static void
send_ack(struct rt_task *k, uint64_t now_ns)
{
	struct rt_snap_rx *x = &k->rep->srx;

	x->unacked = 0;
	x->ack_ns = now_ns;
	ack_to(k, x->peer, x->xfer, x->acked);
}

static void
send_data(struct rt_task *k, size_t off)
{
	struct rt_snap_tx *s = &k->rep->stx;
	struct rte_mbuf *m;
	uint8_t *p = snapx_begin(k, &m, SNAPX_DATA, s->xfer);
	size_t n;

	if (p == NULL)
		return;
	if (s->chunk == 0)
		s->chunk = snapx_chunk(k, m);
	n = RTE_MIN(s->chunk, s->len - off);
	put_le64(p + SNAPX_HDR, off);
	put_le64(p + SNAPX_HDR + 8, s->len);
	put_le32(p + SNAPX_HDR + 16, (uint32_t)s->chunk);
	put_le32(p + SNAPX_HDR + 20, (uint32_t)n);
	memcpy(p + SNAPX_DATA_HDR, s->buf + off, n);
	snapx_send(k, s->to, m, (uint32_t)(SNAPX_DATA_HDR + n));
	k->rep->snap.bytes_tx += n;
}

/* The sender. */
/* An ACK of nothing to a repeated REQ: the snapshot is being made. */
static void
send_keepalive(struct rt_task *k, const struct rt_snap_tx *s)
{
	struct rte_mbuf *m;
	uint8_t *p = snapx_begin(k, &m, SNAPX_ACK, s->xfer);

	if (p == NULL)
		return;
	put_le64(p + SNAPX_HDR, 0);
	snapx_send(k, s->to, m, SNAPX_HDR + 8);
}

static void
tx_end(struct rt_replica *r)
{
	tr_snap_put(r->stx.job);
	r->stx = (struct rt_snap_tx){0};
}

static void
on_req(struct rt_task *k, uint8_t from, uint64_t xfer, uint64_t now_ns)
{
	struct rt_replica *r = k->rep;
	struct rt_snap_tx *s = &r->stx;
	struct tr_snap_job *j;

	if (!tr_replica_serving(&r->eng))
		return; /* J4: not caught up itself; the asker turns to the other peer */
	if (s->state == RT_SNAP_IDLE && atomic_load(&r->snap_req) != NULL)
		return; /* the applier has not taken a disk snapshot's job yet: asked again */
	if (s->state != RT_SNAP_IDLE) {
		if (s->to != from)
			return; /* busy with the other peer: the asker times out */
		if (s->xfer == xfer) {
			if (s->state == RT_SNAP_PRODUCING)
				send_keepalive(k, s);
			return;
		}
		s->xfer = xfer; /* the asker restarted its transfer: from the start */
		s->acked = s->next = 0;
		s->progress_ns = now_ns;
		return;
	}
	j = tr_snap_job_new(r->limits.cluster_id, (uint8_t)r->id, &r->t->threads);
	if (j == NULL)
		return;
	*s = (struct rt_snap_tx){.state = RT_SNAP_PRODUCING, .to = from, .xfer = xfer, .job = j,
				 .progress_ns = now_ns, .pace_ns = now_ns};
	atomic_store(&r->snap_req, j); /* the applier's reference goes with it */
}

static void
on_ack(struct rt_replica *r, uint8_t from, uint64_t xfer, uint64_t acked, uint64_t now_ns)
{
	struct rt_snap_tx *s = &r->stx;

	if (s->state != RT_SNAP_SENDING || s->to != from || s->xfer != xfer || acked > s->len)
		return;
	if (acked > s->acked) {
		s->acked = acked;
		s->dups = 0;
		s->progress_ns = now_ns;
		if (s->next < acked)
			s->next = acked;
	} else {
		s->dups++;
	}
}

static unsigned
tx_poll(struct rt_task *k, uint64_t now_ns)
{
	struct rt_replica *r = k->rep;
	struct rt_snap_tx *s = &r->stx;
	unsigned sent = 0;

	if (s->state == RT_SNAP_PRODUCING) {
		bool failed;

		s->buf = tr_snap_ready(s->job, &s->len, &failed);
		if (failed) {
			r->snap.failed++;
			tx_end(r);
			return 1;
		}
		if (s->buf == NULL)
			return 0;
		s->state = RT_SNAP_SENDING;
		s->progress_ns = now_ns;
		s->pace_ns = now_ns;
	}
	if (s->state != RT_SNAP_SENDING)
		return 0;
	if (s->acked == s->len) {
		r->snap.sent++;
		tx_end(r);
		return 1;
	}
	if (now_ns - s->progress_ns > RT_SNAP_GIVEUP_NS) {
		r->snap.failed++; /* the receiver is gone */
		tx_end(r);
		return 1;
	}
	if (now_ns - s->progress_ns > RT_SNAP_RTO_NS && now_ns - s->resent_ns > RT_SNAP_RTO_NS) {
		s->next = s->acked; /* go back */
		s->resent_ns = now_ns;
	} else if (s->dups >= 2 && now_ns - s->resent_ns > RT_SNAP_RTO_NS / 8) {
		send_data(k, s->acked); /* the first missing chunk */
		s->dups = 0;
		s->resent_ns = now_ns;
		sent++;
	}
	if (s->pace_ns + 1000000 < now_ns)
		s->pace_ns = now_ns - 1000000; /* at most 1 ms of credit */
	while (sent < RT_SNAP_BURST && s->next < s->len && s->next - s->acked < RT_SNAP_WINDOW &&
	       s->pace_ns <= now_ns) {
		size_t before = s->next;

		send_data(k, s->next);
		if (s->chunk == 0)
			break; /* no mbuf */
		s->next = RTE_MIN(s->len, before + s->chunk);
		s->pace_ns += (s->next - before) * 1000000000ull / RT_SNAP_BYTES_PER_S;
		sent++;
	}
	return sent;
}

/* The receiver. */
static void
rx_end(struct rt_replica *r, uint64_t retry_ns)
{
	struct rt_snap_rx *x = &r->srx;

	free(x->buf);
	free(x->have);
	tr_snap_load_put(x->load);
	*x = (struct rt_snap_rx){.idle_until_ns = retry_ns, .done_peer = x->done_peer,
				 .done_xfer = x->done_xfer, .done_total = x->done_total};
}

static void
rx_ask(struct rt_task *k, uint8_t peer, uint64_t now_ns)
{
	struct rt_replica *r = k->rep;
	struct rt_snap_rx *x = &r->srx;

	free(x->buf);
	free(x->have);
	*x = (struct rt_snap_rx){.state = RT_SNAP_RECEIVING, .peer = peer,
				 .xfer = (rte_rdtsc() << 8) ^ ((uint64_t)r->id << 4) ^ r->life,
				 .progress_ns = now_ns, .done_peer = x->done_peer,
				 .done_xfer = x->done_xfer, .done_total = x->done_total};
	send_req(k, now_ns);
}

static void
on_data(struct rt_task *k, uint8_t from, uint64_t xfer, const uint8_t *p, size_t len,
	uint64_t now_ns)
{
	struct rt_replica *r = k->rep;
	struct rt_snap_rx *x = &r->srx;
	uint64_t off, total;
	uint32_t chunk, n;

	if (x->state != RT_SNAP_RECEIVING || from != x->peer || xfer != x->xfer) {
		/* A resend of the last one received whole: its sender missed
		 * both final ACKs. Else another transfer's, or late. */
		if (xfer == x->done_xfer && from == x->done_peer && xfer != 0)
			ack_to(k, from, xfer, x->done_total);
		return;
	}
	if (len < SNAPX_DATA_HDR - SNAPX_HDR) {
		k->drops_malformed++;
		return;
	}
	off = ld_u64(p);
	total = ld_u64(p + 8);
	chunk = ld_u32(p + 16);
	n = ld_u32(p + 20);
	/* Inside the snapshot, without a wrap-around: off < total, and a chunk
	 * of 1..chunk bytes (short at the end only). */
	if (n + (SNAPX_DATA_HDR - SNAPX_HDR) != len || chunk == 0 || off % chunk != 0 ||
	    n == 0 || n > chunk || off >= total || n > total - off ||
	    (n != chunk && off + n != total)) {
		k->drops_malformed++;
		return;
	}
	if (x->buf == NULL) {
		if (total < TR_SNAP_HDR_BYTES)
			return;
		x->total = total;
		x->chunk = chunk;
		x->chunks = (total + chunk - 1) / chunk;
		x->buf = malloc(total);
		x->have = calloc(x->chunks, 1);
		if (x->buf == NULL || x->have == NULL) {
			rx_end(r, now_ns + RT_SNAP_RETRY_NS);
			return;
		}
	}
	if (total != x->total || chunk != x->chunk)
		return;
	x->progress_ns = now_ns;
	if (!x->have[off / chunk]) {
		x->have[off / chunk] = 1;
		memcpy(x->buf + off, p + (SNAPX_DATA_HDR - SNAPX_HDR), n);
		x->got_chunks++;
		r->snap.bytes_rx += n;
	}
	while (x->acked < x->total && x->have[x->acked / chunk])
		x->acked = RTE_MIN(x->total, x->acked + chunk);
	x->unacked++;
	if (x->acked == x->total) {
		send_ack(k, now_ns);
		send_ack(k, now_ns); /* the sender frees on it: twice against a loss */
		x->done_peer = x->peer;
		x->done_xfer = x->xfer;
		x->done_total = x->total;
		r->snap.received++;
		if (!rt_durable_snap_received(r, x->buf, x->total)) { /* §12 S2, S4 */
			r->snap.failed++;
			rx_end(r, now_ns + RT_SNAP_RETRY_NS);
			return;
		}
		x->load = rt_sm_load_start(r, x->buf, x->total);
		x->buf = NULL;
		free(x->have);
		x->have = NULL;
		x->state = x->load != NULL ? RT_SNAP_LOADING : RT_SNAP_IDLE;
		x->stage_ns = now_ns;
		return;
	}
	/* Every few chunks, and soon after a gap (the sender resends it). */
	if (x->unacked >= RT_SNAP_ACK_EVERY || (off > x->acked && now_ns - x->ack_ns > 200000))
		send_ack(k, now_ns);
}

void
rt_snap_rx(struct rt_task *k, const struct tr_net_rx *rx, uint64_t now_ns)
{
	struct rt_replica *r = k->rep;
	const uint8_t *p = rx->payload;
	uint64_t xfer;

	if (rx->len < SNAPX_HDR + 4 || ld_u32(p) != SNAPX_MAGIC || p[5] != rx->from ||
	    ld_u32(p + 8) != r->limits.cluster_id ||
	    tr_crc32c(0, p, rx->len - 4u) != ld_u32(p + rx->len - 4)) {
		k->drops_malformed++;
		return;
	}
	xfer = ld_u64(p + 16);
	switch (p[4]) {
	case SNAPX_REQ:
		on_req(k, rx->from, xfer, now_ns);
		break;
	case SNAPX_DATA:
		on_data(k, rx->from, xfer, p + SNAPX_HDR, rx->len - 4u - SNAPX_HDR, now_ns);
		break;
	case SNAPX_ACK:
		if (rx->len < SNAPX_HDR + 12)
			break;
		on_ack(r, rx->from, xfer, ld_u64(p + SNAPX_HDR), now_ns);
		if (r->srx.state == RT_SNAP_RECEIVING && r->srx.peer == rx->from &&
		    r->srx.xfer == xfer)
			r->srx.progress_ns = now_ns; /* the sender's keepalive */
		break;
	default:
		k->drops_malformed++;
	}
}

/* T1: the install, once the other tasks and the applier are parked. */
static unsigned
install(struct rt_task *k, uint64_t now_ns)
{
	struct rt_replica *r = k->rep;
	struct tr_snap_load *l = r->srx.load;
	unsigned others = RT_PARK_ALL & ~1u, parked = atomic_load(&r->parked);

	if ((parked & others) != others) {
		if (now_ns - r->srx.stage_ns > RT_SNAP_SLOW_NS && !r->srx.slow_logged) {
			r->srx.slow_logged = true;
			RT_LOG(WARNING, "replica %u: the snapshot's install has waited %lu ms "
				"for its tasks and applier to park (parked %#x of %#x)\n", r->id,
				(unsigned long)((now_ns - r->srx.stage_ns) / 1000000), parked, others);
		}
		return 0;
	}
	/* A snapshot being made (for a peer, or for the disk) would span the
	 * install: the copy of the old store plus instances after the new
	 * point. Abandoned; its owner sees it fail and asks again. */
	if (r->snap_job != NULL) {
		tr_snap_put(r->snap_job);
		r->snap_job = NULL;
		r->applier.applied = NULL;
	}
	if (tr_replica_install(&r->eng, &l->hdr.point, now_ns) == 0) {
		/* Counted before the new state shows (a reader of the stats that
		 * sees it converged sees the install too; the old store's free
		 * can take long under ASan). */
		__atomic_store_n(&r->snap.installs, r->snap.installs + 1, __ATOMIC_RELEASE);
		rt_sm_install(r, l);
		RTE_LOG(INFO, USER1, "replica %u: snapshot installed at applied %lu/%lu/%lu (%lu keys)\n",
			r->id, l->hdr.point.applied[0], l->hdr.point.applied[1],
			l->hdr.point.applied[2], atomic_load(&r->keys));
	} else {
		r->snap.discarded++; /* not ahead any more */
	}
	rx_end(r, 0);
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		r->tasks[c].deadline_ns = 0;
	atomic_store(&r->parked, 0);
	atomic_store(&r->hold, false);
	return 1;
}

static unsigned
rx_poll(struct rt_task *k, uint64_t now_ns)
{
	struct rt_replica *r = k->rep;
	struct rt_snap_rx *x = &r->srx;
	uint8_t peer;

	switch (x->state) {
	case RT_SNAP_IDLE:
		if (now_ns < x->idle_until_ns || !tr_replica_snapshot_wanted(&r->eng, &peer))
			return 0;
		rx_ask(k, peer, now_ns);
		return 1;
	case RT_SNAP_RECEIVING:
		if (now_ns - x->progress_ns > RT_SNAP_STALL_NS) {
			/* The peer died or will not send: the other one (T1). */
			r->snap.failed++;
			rx_ask(k, (uint8_t)(TR_REPLICAS - r->id - x->peer), now_ns);
			return 1;
		}
		if (x->buf == NULL && now_ns - x->req_ns > RT_SNAP_REQ_NS) {
			send_req(k, now_ns);
			return 1;
		}
		if (x->unacked > 0 && now_ns - x->ack_ns > RT_SNAP_RTO_NS / 4)
			send_ack(k, now_ns);
		return 0;
	case RT_SNAP_LOADING: {
		int st = atomic_load(&x->load->state);

		if (st == 0) {
			if (now_ns - x->stage_ns > RT_SNAP_SLOW_NS && !x->slow_logged) {
				x->slow_logged = true;
				RT_LOG(WARNING, "replica %u: the snapshot from %u (%zu bytes) "
					"has been loading for %lu ms\n", r->id, x->peer, x->total,
					(unsigned long)((now_ns - x->stage_ns) / 1000000));
			}
			return 0;
		}
		if (st < 0) {
			RTE_LOG(WARNING, USER1, "replica %u: snapshot from %u refused: %s\n", r->id,
				x->peer, x->load->why);
			r->snap.failed++;
			rx_end(r, now_ns + RT_SNAP_RETRY_NS);
			return 1;
		}
		if (!tr_replica_snapshot_ahead(&r->eng, &x->load->hdr.point)) {
			r->snap.discarded++;
			rx_end(r, now_ns + RT_SNAP_RETRY_NS);
			return 1;
		}
		x->state = RT_SNAP_INSTALLING;
		x->stage_ns = now_ns;
		x->slow_logged = false;
		atomic_store(&r->parked, 0);
		atomic_store(&r->hold, true);
		return 1;
	}
	default:
		return 0;
	}
}

/* J1, J5: a start that takes seconds says where it stands, every 2 s: a
 * join, what it sent and what came back; a replica no peer has vouched for
 * yet, the columns that are. And what this replica received at all. */
static void
start_watch(struct rt_replica *r, uint64_t now_ns)
{
	const struct tr_column *own = &r->eng.col[r->id];
	bool joining = r->eng.cfg.join && tr_replica_inc(&r->eng) == 0;
	uint64_t frames = 0, malformed = 0;

	if (!joining && tr_replica_vouched(&r->eng)) {
		if (r->join_log_ns != 0)
			r->join_log_ns = 0; /* the next start counts afresh */
		return;
	}
	if (r->join_log_ns == 0)
		r->join_log_ns = now_ns + RT_JOIN_LOG_NS;
	if (now_ns < r->join_log_ns)
		return;
	r->join_log_ns = now_ns + RT_JOIN_LOG_NS;
	for (unsigned c = 0; c < TR_COLUMNS; c++) {
		frames += r->tasks[c].rx_pkts;
		malformed += r->tasks[c].drops_malformed + r->tasks[c].drops_auth;
	}
	if (joining)
		RT_LOG(WARNING, "replica %u: still joining: %lu JOINs sent, %lu JOIN_REPLYs in, "
		       "peers answered %#x, %lu messages ignored; %lu frames in, %lu dropped\n",
		       r->id, (unsigned long)own->stats.joins,
		       (unsigned long)own->stats.rx[TR_MSG_JOIN_REPLY], r->eng.join_answered,
		       (unsigned long)own->stats.ignored, (unsigned long)frames,
		       (unsigned long)malformed);
	else
		RT_LOG(WARNING, "replica %u: no peer has vouched for its memory yet (protocol "
		       "§12 J5: a STATUS in every column; columns vouched for %#x), so it neither "
		       "votes nor proposes; %lu frames in, %lu dropped\n", r->id,
		       (unsigned)atomic_load(&r->eng.shared.vouched), (unsigned long)frames,
		       (unsigned long)malformed);
}

unsigned
rt_snap_poll(struct rt_task *k, uint64_t now_ns)
{
	struct rt_replica *r = k->rep;

	if (r->srx.state == RT_SNAP_INSTALLING)
		return install(k, now_ns);
	start_watch(r, now_ns);
	return tx_poll(k, now_ns) + rx_poll(k, now_ns);
}

/* The applier's side of production (T3). */
static void
on_applied(void *ctx, unsigned column, uint64_t lsn, const struct tr_value *v)
{
	struct rt_replica *r = ctx;

	tr_snap_log(r->snap_job, column, lsn, v);
}

void
rt_snap_applier_before(struct rt_replica *r)
{
	struct tr_snap_job *j;
	struct tr_snap_point pt;

	if (r->snap_job != NULL || atomic_load_explicit(&r->snap_req, memory_order_relaxed) == NULL)
		return;
	j = atomic_exchange(&r->snap_req, NULL);
	if (j == NULL)
		return;
	tr_replica_snapshot_point(&r->eng, &pt); /* F_start: between two instances */
	if (tr_snap_begin(j, &r->sm, &pt) != 0) {
		tr_snap_put(j);
		return;
	}
	r->snap_job = j;
	r->applier.applied = on_applied;
}

void
rt_snap_applier_after(struct rt_replica *r)
{
	struct tr_snap_point pt;

	if (r->snap_job == NULL || !tr_snap_copied(r->snap_job))
		return;
	tr_replica_snapshot_point(&r->eng, &pt); /* F_end: the log stops here */
	r->applier.applied = NULL;
	tr_snap_close(r->snap_job, &pt, r->sm.applied_cmds);
	r->snap_job = NULL;
}

void
rt_snap_reset(struct rt_replica *r)
{
	tr_snap_put(atomic_exchange(&r->snap_req, NULL));
	tr_snap_put(r->snap_job);
	r->snap_job = NULL;
	r->applier.applied = NULL;
	tx_end(r);
	rx_end(r, 0);
}
