/* SPDX-License-Identifier: MIT
 * Remote clients (include/trireme_proto.h): a replica serves requests that
 * arrive over UDP, submits them through its own clients (client.c) and
 * answers each on completion.
 *
 * A table of conf.serve_clients entries maps a remote client id to one of
 * the replica's clients (created at start, never freed before trireme_stop:
 * an entry is reused). Exactly once, two layers: the commands carry the
 * remote client's own id (top bit set: RT_REMOTE_ID_BIT), seq and W
 * (rt_client_submit_as), so the §8 table of every replica decides a retry
 * that reaches another replica or a restarted process; and per entry a slot
 * per seq % TRP_WINDOW_MAX remembers the last outcomes, so a retry to the
 * same replica is not submitted again and gets the same answer (a del's
 * found included). An entry idle for TRP_IDLE_S with nothing outstanding
 * may be given to a new remote client.
 *
 * Two transports, one core: in replica mode the column 0 task, which reads
 * the port, hands over the datagrams of port_base + 4 (worker.c) and polls
 * the completions; the replies leave on the replica's port and queue. In
 * cluster mode (net_ring ports, nothing outside can reach them) a thread
 * serves kernel UDP sockets, one per replica on port_base + 4 + replica.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_ethdev.h>
#include <rte_log.h>

#include "runtime.h"
#include "trireme_proto.h"

enum { RM_FREE = 0, RM_PENDING, RM_DONE };

struct rm_slot {
	uint64_t seq;
	uint8_t state;
	uint8_t status; /* RM_DONE: the answer, resent to a retry */
	bool found;
	uint8_t op;
};

struct rm_addr {
	struct rte_ether_addr mac; /* DPDK transport: the next hop back */
	uint32_t ip;               /* network order */
	uint16_t port;             /* network order */
};

struct rm_entry {
	uint64_t rid;              /* remote client id; 0: never used */
	int32_t next;              /* hash chain */
	unsigned pending;
	uint64_t max_seq;
	uint64_t last_ns;
	struct rm_addr addr;
	struct trireme_client *c;
	struct rm_slot slot[TRP_WINDOW_MAX];
};

struct rt_remote {
	struct rt_replica *r;
	struct rm_entry *e;
	uint32_t n, used;
	int32_t *head;
	uint32_t mask;
	struct trireme_client **bound; /* the entries' clients (rt_replica.bound) */
	int fd;                    /* kernel transport; -1: DPDK */
	uint64_t rng;              /* fault injection (drop_tx) on the replies */
	struct rte_mbuf *tx[RT_BURST];
	unsigned ntx;
	struct rt_remote_stats st;
};

static uint32_t
rm_hash(const struct rt_remote *rm, uint64_t rid)
{
	return (uint32_t)((rid * 0x9E3779B97F4A7C15ull) >> 32) & rm->mask;
}

static void
rm_unlink(struct rt_remote *rm, uint32_t idx)
{
	int32_t *p = &rm->head[rm_hash(rm, rm->e[idx].rid)];

	while (*p >= 0 && (uint32_t)*p != idx)
		p = &rm->e[*p].next;
	if (*p >= 0)
		*p = rm->e[idx].next;
}

/* The entry of rid, or a new one (free, else the longest idle); NULL when
 * every entry is busy. */
static struct rm_entry *
rm_lookup(struct rt_remote *rm, uint64_t rid, uint64_t now_ns)
{
	uint32_t h = rm_hash(rm, rid), idx = UINT32_MAX;
	struct rm_entry *e;

	for (int32_t i = rm->head[h]; i >= 0; i = rm->e[i].next)
		if (rm->e[i].rid == rid)
			return &rm->e[i];
	if (rm->used < rm->n) {
		idx = rm->used++;
	} else {
		uint64_t oldest = UINT64_MAX;

		for (uint32_t i = 0; i < rm->n; i++) {
			e = &rm->e[i];
			if (e->pending == 0 && now_ns - e->last_ns >= TRP_IDLE_S * 1000000000ull &&
			    e->last_ns < oldest) {
				oldest = e->last_ns;
				idx = i;
			}
		}
		if (idx == UINT32_MAX)
			return NULL;
		rm_unlink(rm, idx);
		rm->st.evictions++;
	}
	e = &rm->e[idx];
	e->rid = rid;
	/* §8 across replicas: its commands carry rid (nothing is outstanding
	 * on this entry's client). */
	atomic_store_explicit(&e->c->bound_id, rid | RT_REMOTE_ID_BIT, memory_order_relaxed);
	e->pending = 0;
	e->max_seq = 0;
	memset(e->slot, 0, sizeof(e->slot));
	e->next = rm->head[h];
	rm->head[h] = (int32_t)idx;
	return e;
}

static void
rm_flush(struct rt_remote *rm)
{
	unsigned sent;

	if (rm->ntx == 0)
		return;
	sent = rte_eth_tx_burst(rm->r->port, 0, rm->tx, (uint16_t)rm->ntx);
	if (sent < rm->ntx) {
		rm->st.tx_fail += rm->ntx - sent;
		rte_pktmbuf_free_bulk(rm->tx + sent, rm->ntx - sent);
	}
	rm->ntx = 0;
}

/* A reply datagram being filled: the replies of one client that complete
 * in one pass, up to a packet (the MTU) or TRP_REQS_MAX. */
struct rm_out {
	const struct rm_entry *e;
	struct rte_mbuf *m;        /* DPDK; NULL: kernel (buf) or nothing open */
	uint8_t *p;
	size_t len, cap, room;    /* cap: where a datagram of several ends */
	unsigned count;
	uint8_t buf[TRP_REPLY_LEN + TRP_VAL_MAX]; /* kernel transport */
};

/* Sends what o holds (count replies). */
static void
rm_out_close(struct rt_remote *rm, struct rm_out *o)
{
	const struct rm_entry *e = o->e;

	if (o->count == 0)
		goto done;
	o->p[3] = (uint8_t)o->count;
	rm->st.replies += o->count;
	if (rm->fd >= 0) {
		struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = e->addr.port,
					 .sin_addr.s_addr = e->addr.ip};

		if (sendto(rm->fd, o->p, o->len, MSG_DONTWAIT, (struct sockaddr *)&to,
			   sizeof(to)) < 0)
			rm->st.tx_fail++;
		goto done;
	}
	if (tr_net_build_reply(o->m, &rm->r->net, (uint8_t)rm->r->id, &e->addr.mac, e->addr.ip,
			       e->addr.port, (uint16_t)o->len) != 0) {
		rm->st.tx_fail++;
		goto done;
	}
	rm->tx[rm->ntx++] = o->m;
	o->m = NULL;
	if (rm->ntx == RT_BURST)
		rm_flush(rm);
done:
	if (o->m != NULL)
		rte_pktmbuf_free(o->m);
	o->m = NULL;
	o->count = 0;
	o->p = NULL;
}

/* Opens a datagram to e; false when there is no room (no mbuf) or --loss
 * takes it (replies get lost like every packet a replica sends). */
static bool
rm_out_open(struct rt_remote *rm, struct rm_out *o, const struct rm_entry *e)
{
	uint32_t loss = atomic_load_explicit(&rm->r->faults.drop_tx, memory_order_relaxed);

	o->e = e;
	o->count = 0;
	o->m = NULL;
	if (rm->fd >= 0) {
		o->p = o->buf;
		o->cap = TR_NET_MTU_DEFAULT - TR_NET_IP_UDP_LEN;
		o->room = sizeof(o->buf);
	} else {
		if (loss != 0) {
			rm->rng ^= rm->rng << 13;
			rm->rng ^= rm->rng >> 7;
			rm->rng ^= rm->rng << 17;
			if ((uint32_t)(rm->rng >> 16) < loss)
				return false;
		}
		o->m = rte_pktmbuf_alloc(rm->r->pool);
		if (o->m == NULL) {
			rm->st.tx_fail++;
			return false;
		}
		o->p = tr_net_payload(o->m);
		o->cap = tr_net_payload_cap(o->m, &rm->r->net);
		o->room = o->cap;
	}
	trp_put_hdr(o->p, TRP_MAGIC_REPLY, 0, e->rid);
	o->len = TRP_HDR_LEN;
	return true;
}

/* Adds a reply to o (open or not), closing and reopening it when full. */
static void
rm_out_add(struct rt_remote *rm, struct rm_out *o, const struct rm_entry *e, uint64_t seq,
	   uint8_t status, bool found, const uint8_t *val, uint32_t val_len)
{
	struct trp_reply rep = {.client = e->rid, .seq = seq, .status = status, .found = found,
				.val_len = (uint16_t)val_len, .val = val};

	if (o->p != NULL && o->count > 0 && (o->count == TRP_REQS_MAX ||
					     o->len + TRP_REPLY_HDR_LEN + val_len > o->cap))
		rm_out_close(rm, o);
	if (o->p == NULL && !rm_out_open(rm, o, e)) {
		rm->st.replies++; /* lost (--loss), or no mbuf (counted) */
		return;
	}
	if (o->len + TRP_REPLY_HDR_LEN + val_len > o->room) {
		rep.status = TRP_ST_INVAL; /* cannot happen: the request was larger */
		rep.val_len = 0;
	}
	o->len += trp_put_reply(o->p + o->len, &rep);
	o->count++;
}

/* A datagram of one reply. */
static void
rm_reply(struct rt_remote *rm, const struct rm_entry *e, uint64_t seq, uint8_t status,
	 bool found, const uint8_t *val, uint32_t val_len)
{
	struct rm_out o = {.p = NULL};

	rm_out_add(rm, &o, e, seq, status, found, val, val_len);
	rm_out_close(rm, &o);
}

static uint8_t
rm_status(int err)
{
	switch (err) {
	case 0: return TRP_ST_OK;
	case -TRIREME_EBUSY: return TRP_ST_BUSY;
	case -TRIREME_ETOO_OLD: return TRP_ST_TOO_OLD;
	case -TRIREME_EFULL: return TRP_ST_FULL;
	case -TRIREME_ESTOPPED: return TRP_ST_STOPPED;
	default: return TRP_ST_INVAL;
	}
}

static void
rm_request(struct rt_remote *rm, struct rm_entry *e, const struct trp_req *q)
{
	struct rm_slot *s = &e->slot[q->seq % TRP_WINDOW_MAX];
	struct trireme_op op = {.kind = q->op, .read_mode = q->read_mode, .key = q->key,
				.key_len = q->key_len, .val = q->val, .val_len = q->val_len};
	int rc;

	rm->st.requests++;
	if (s->state != RM_FREE && s->seq == q->seq) {
		if (s->state == RM_PENDING) { /* its reply comes on completion */
			rm->st.dups++;
			return;
		}
		if (s->op != TRP_GET) { /* done: the same answer again */
			rm->st.dups++;
			rm_reply(rm, e, q->seq, s->status, s->found, NULL, 0);
			return;
		}
		/* A get is read again. */
	} else if (q->seq + TRP_WINDOW_MAX <= e->max_seq) {
		rm->st.too_old++; /* its slot was reused: outcome unknown */
		rm_reply(rm, e, q->seq, TRP_ST_TOO_OLD, false, NULL, 0);
		return;
	} else if (s->state == RM_PENDING) { /* more than the window outstanding */
		rm->st.busy++;
		rm_reply(rm, e, q->seq, TRP_ST_BUSY, false, NULL, 0);
		return;
	}
	if (q->op == TRP_GET && q->read_mode == TRIREME_READ_LOCAL) {
		rm_reply(rm, e, q->seq, TRP_ST_INVAL, false, NULL, 0);
		return;
	}
	rc = rt_client_submit_as(e->c, &op,
				 (uint64_t)(e - rm->e) * TRP_WINDOW_MAX + q->seq % TRP_WINDOW_MAX,
				 q->seq, q->window);
	if (rc != 0) {
		if (rc == -TRIREME_EBUSY)
			rm->st.busy++;
		rm_reply(rm, e, q->seq, rm_status(rc), false, NULL, 0);
		return;
	}
	*s = (struct rm_slot){.seq = q->seq, .state = RM_PENDING, .op = q->op};
	e->pending++;
	if (q->seq > e->max_seq)
		e->max_seq = q->seq;
}

/* One datagram from addr: checked whole, then its requests in order. */
static void
rm_datagram(struct rt_remote *rm, const uint8_t *buf, size_t len, const struct rm_addr *addr,
	    uint64_t now_ns)
{
	struct trp_req reqs[TRP_REQS_MAX];
	struct rm_entry *e;
	uint64_t rid;
	unsigned n;
	int rc = trp_parse_request(buf, len, &rid, reqs, &n);

	if (rc != TRP_OK) {
		rm->st.drops[rc]++;
		return;
	}
	e = rm_lookup(rm, rid, now_ns);
	if (e == NULL) { /* every entry busy: BUSY, from a stand-in entry */
		struct rm_entry tmp = {.rid = rid, .addr = *addr};

		rm->st.table_full++;
		for (unsigned i = 0; i < n; i++)
			rm_reply(rm, &tmp, reqs[i].seq, TRP_ST_BUSY, false, NULL, 0);
		return;
	}
	e->addr = *addr; /* the last address the client used */
	e->last_ns = now_ns;
	for (unsigned i = 0; i < n; i++)
		rm_request(rm, e, &reqs[i]);
}

/* Completions of every entry with commands outstanding: their replies, a
 * datagram per client and pass (more when they do not fit one). */
static unsigned
rm_complete(struct rt_remote *rm)
{
	struct trireme_done done[RT_BURST];
	struct rm_out o = {.p = NULL};
	unsigned work = 0;

	for (uint32_t i = 0; i < rm->used; i++) {
		struct rm_entry *e = &rm->e[i];
		unsigned got;

		if (e->pending == 0)
			continue;
		got = trireme_poll(e->c, done, RT_BURST);
		for (unsigned j = 0; j < got; j++) {
			struct rm_slot *s = &e->slot[done[j].tag % TRP_WINDOW_MAX];

			if (s->state != RM_PENDING)
				continue;
			s->state = RM_DONE;
			s->status = rm_status(done[j].status);
			s->found = done[j].found;
			e->pending--;
			rm_out_add(rm, &o, e, s->seq, s->status, s->found, done[j].val,
				   s->op == TRP_GET ? done[j].val_len : 0);
		}
		rm_out_close(rm, &o);
		work += got;
	}
	return work;
}

/* Owns fd (closed on failure too). */
static struct rt_remote *
rt_remote_new(struct rt_replica *r, uint32_t n, int fd)
{
	struct rt_remote *rm = calloc(1, sizeof(*rm));
	uint32_t buckets = 2;

	if (rm == NULL) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while (buckets < 2 * n)
		buckets *= 2;
	rm->r = r;
	rm->n = n;
	rm->fd = fd;
	rm->rng = r->t->conf.seed * 0x9E3779B97F4A7C15ull + r->id + 1;
	rm->mask = buckets - 1;
	rm->e = calloc(n, sizeof(*rm->e));
	rm->head = malloc(buckets * sizeof(*rm->head));
	rm->bound = calloc(n, sizeof(*rm->bound));
	if (rm->e == NULL || rm->head == NULL || rm->bound == NULL)
		goto fail;
	for (uint32_t i = 0; i < buckets; i++)
		rm->head[i] = -1;
	for (uint32_t i = 0; i < n; i++) {
		rm->e[i].next = -1;
		rm->e[i].c = trireme_client_new(r->t, r->id, TRP_WINDOW_MAX);
		if (rm->e[i].c == NULL)
			goto fail;
		rm->bound[i] = rm->e[i].c;
	}
	r->bound = rm->bound;
	atomic_store_explicit(&r->nbound, n, memory_order_release);
	return rm;
fail:
	rt_remote_free(rm);
	return NULL;
}

/* After the workers stopped; trireme_stop destroys the clients. */
void
rt_remote_free(struct rt_remote *rm)
{
	if (rm == NULL)
		return;
	if (rm->ntx > 0)
		rte_pktmbuf_free_bulk(rm->tx, rm->ntx);
	if (rm->fd >= 0)
		close(rm->fd);
	if (rm->r->bound == rm->bound) {
		atomic_store_explicit(&rm->r->nbound, 0, memory_order_release);
		rm->r->bound = NULL;
	}
	free(rm->e);
	free(rm->head);
	free(rm->bound);
	free(rm);
}

void
rt_remote_stats(const struct rt_remote *rm, struct rt_remote_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (rm != NULL)
		memcpy(st, &rm->st, sizeof(*st)); /* racy reads of counters */
}

/* DPDK transport: the column 0 task of a replica in replica mode. */
void
rt_remote_rx(struct rt_task *k, const struct tr_net_rx *rx, uint64_t now_ns)
{
	struct rt_remote *rm = k->rep->remote;
	struct rm_addr addr;

	if (rm == NULL || rm->fd >= 0) { /* not serving: a foreign port */
		k->net.rx_ok--;
		k->net.drops[TR_NET_DROP_FOREIGN_PORT]++;
		return;
	}
	rte_ether_addr_copy(rx->src_mac, &addr.mac);
	addr.ip = rx->src_ip;
	addr.port = rx->src_port;
	rm_datagram(rm, rx->payload, rx->len, &addr, now_ns);
}

/* ARP: a request for our address gets our MAC. A DPDK port has no kernel
 * to answer, and the remote clients' hosts need it (the peers do not: they
 * know each other's MACs from the configuration). */
void
rt_remote_arp(struct rt_task *k, const struct rte_mbuf *m)
{
	struct rt_remote *rm = k->rep->remote;
	const struct tr_net_addr *me = &k->rep->net.addr[k->rep->id];
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_arp_hdr *arp = (const struct rte_arp_hdr *)(eth + 1);
	struct rte_ether_hdr *oeth;
	struct rte_arp_hdr *oarp;
	struct rte_mbuf *out;

	if (rm == NULL || rm->fd >= 0 || m->data_len < sizeof(*eth) + sizeof(*arp) ||
	    arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) || arp->arp_hlen != 6 ||
	    arp->arp_plen != 4 || arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST) ||
	    arp->arp_data.arp_tip != me->ip)
		return;
	out = rte_pktmbuf_alloc(k->rep->pool);
	if (out == NULL) {
		rm->st.tx_fail++;
		return;
	}
	oeth = rte_pktmbuf_mtod(out, struct rte_ether_hdr *);
	oarp = (struct rte_arp_hdr *)(oeth + 1);
	rte_ether_addr_copy(&arp->arp_data.arp_sha, &oeth->dst_addr);
	rte_ether_addr_copy(&me->mac, &oeth->src_addr);
	oeth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	*oarp = *arp;
	oarp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	rte_ether_addr_copy(&me->mac, &oarp->arp_data.arp_sha);
	oarp->arp_data.arp_sip = me->ip;
	rte_ether_addr_copy(&arp->arp_data.arp_sha, &oarp->arp_data.arp_tha);
	oarp->arp_data.arp_tip = arp->arp_data.arp_sip;
	out->data_len = sizeof(*oeth) + sizeof(*oarp);
	out->pkt_len = out->data_len;
	rm->st.arp++;
	rm->tx[rm->ntx++] = out;
	if (rm->ntx == RT_BURST)
		rm_flush(rm);
}

unsigned
rt_remote_poll(struct rt_task *k)
{
	struct rt_remote *rm = k->rep->remote;
	unsigned work;

	if (rm == NULL || rm->fd >= 0)
		return 0;
	work = rm_complete(rm);
	rm_flush(rm); /* with the replies of this pass's requests */
	return work;
}

/* Kernel transport (cluster mode): one thread for the local replicas. */
static unsigned
rm_kernel_pass(struct trireme *t)
{
	static uint8_t buf[65536]; /* the one kernel thread's */
	unsigned work = 0;

	for (unsigned i = 0; i < TR_REPLICAS; i++) {
		struct rt_remote *rm = t->reps[i].remote;
		uint64_t now = rt_now_ns(t);

		if (rm == NULL)
			continue;
		for (unsigned j = 0; j < RT_BURST; j++) {
			struct sockaddr_in from;
			socklen_t flen = sizeof(from);
			ssize_t len = recvfrom(rm->fd, buf, sizeof(buf), MSG_DONTWAIT,
					       (struct sockaddr *)&from, &flen);
			struct rm_addr addr = {.ip = from.sin_addr.s_addr, .port = from.sin_port};

			if (len < 0)
				break;
			rm_datagram(rm, buf, (size_t)len, &addr, now);
			work++;
		}
		work += rm_complete(rm);
	}
	return work;
}

static void *
rm_kernel_main(void *arg)
{
	struct trireme *t = arg;
	unsigned idle = 0;

	while (!atomic_load_explicit(&t->stop, memory_order_relaxed)) {
		if (rm_kernel_pass(t) > 0)
			idle = 0;
		else
			rt_idle(t, &idle);
	}
	return NULL;
}

int
rt_remote_start(struct trireme *t, char *err, size_t len)
{
	uint32_t n = t->conf.serve_clients;

	if (n == 0)
		return 0;
	for (unsigned i = 0; i < TR_REPLICAS; i++) {
		struct rt_replica *r = rt_local_replica(t, i);
		int fd = -1;

		if (r == NULL)
			continue;
		if (t->ring_mesh) {
			struct sockaddr_in a = {
				.sin_family = AF_INET,
				.sin_port = htons((uint16_t)(t->conf.udp_port_base +
							     TRP_PORT_OFFSET + i)),
				.sin_addr.s_addr = htonl(INADDR_ANY)};

			fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
				snprintf(err, len, "cannot bind UDP port %u for remote clients: %s",
					 ntohs(a.sin_port), strerror(errno));
				if (fd >= 0)
					close(fd);
				return -TRIREME_EINVAL;
			}
		}
		r->remote = rt_remote_new(r, n, fd);
		if (r->remote == NULL) { /* fd closed */
			snprintf(err, len, "cannot create %u clients for remote clients on replica "
				 "%u (%s: each takes a client slot and a ring); lower serve_clients "
				 "or raise clients_max", n, i, strerror(errno));
			return -TRIREME_ENOMEM;
		}
	}
	if (t->ring_mesh) {
		if (pthread_create(&t->remote_thread, NULL, rm_kernel_main, t) != 0) {
			snprintf(err, len, "cannot start the remote clients' thread");
			return -TRIREME_EINTERNAL;
		}
		t->remote_started = true;
	}
	return 0;
}

void
rt_remote_stop(struct trireme *t)
{
	if (t->remote_started)
		pthread_join(t->remote_thread, NULL);
	t->remote_started = false;
}
