/* SPDX-License-Identifier: MIT
 * bench-floor: what moving packets costs on the runtime's virtual devices,
 * with no protocol work: the floor under any commit latency or rate.
 *
 * Set up as trireme_start() does in cluster mode: one pool
 * (tr_mempool_create), the ring mesh (tr_ring_mesh_create, queue
 * peer * 3 + column), Ethernet/IPv4/UDP framing (tr_net_build, tr_net_parse),
 * three replicas of three column tasks each, every task polling its column's
 * queue from each peer, freeing what it received and allocating what it sends.
 * Replica 0 pings replicas 1 and 2 on column 0 and they echo:
 *
 *   rtt  one ping (to both peers) at a time, latency to the first echo:
 *        a commit at window 1, without the protocol
 *   pps  up to --window pings outstanding, sent in bursts of 32
 *
 * Layouts: one-lcore, all 9 tasks on the worker lcore as the runtime places
 * them with -l 0-1; two-lcore, replica 0 on the main lcore, 1 and 2 on the
 * worker. Latency is taken with the TSC.
 *
 *   bench-floor --no-huge --no-pci -l 0-1 -m 512 --log-level='*:error' -- \
 *       [--quick] [--size BYTES] [--secs S] [--window PINGS]
 *
 * Output: one JSON object per line on stdout, a summary on stderr.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "args.h"
#include "hist.h"
#include "net.h"
#include "port.h"

#define BURST 32          /* RT_BURST */
#define RING_SIZE 1024    /* as trireme_start */
#define POOL_MBUFS (4095 * TR_REPLICAS) /* trireme_conf.mbufs default, per replica */
#define PORT_BASE 7400    /* trireme_conf.udp_port_base default */
#define PING_COLUMN 0
#define TIMEOUT_NS 100000000 /* rtt: a ping unanswered this long is given up */
#define NTASKS (TR_REPLICAS * TR_COLUMNS)

enum test { TEST_RTT, TEST_PPS };
enum layout { LAYOUT_ONE, LAYOUT_TWO };

static const char *const test_names[] = {"rtt", "pps"};
static const char *const layout_names[] = {"one-lcore", "two-lcore"};

struct ping {
	uint64_t seq;
	uint64_t tsc; /* when replica 0 built it */
};

struct task {
	struct floor *f;
	uint8_t replica, column;
	uint16_t port;
	struct rte_mbuf *tx[TR_REPLICAS][BURST];
	unsigned ntx[TR_REPLICAS];
	uint64_t drops;
};

/* Replica 0's side of a test: sends pings, takes the echoes. */
struct pinger {
	enum test test;
	uint64_t start, end;  /* TSC: measure from start, stop sending at end */
	uint64_t seq;         /* next ping */
	uint64_t first_seq;   /* first ping of this test */
	bool waiting;         /* rtt: ping seq - 1 is unanswered */
	uint64_t sent_tsc;    /* rtt: when it went out */
	uint64_t sent_pkts, echoes;
	uint64_t samples, timeouts;
	struct hist hist;
	uint8_t payload[TR_NET_MTU_DEFAULT]; /* a ping's: header, then zeros */
};

struct floor {
	struct rte_mempool *pool;
	struct tr_ring_mesh mesh;
	struct tr_net_conf net;
	struct task tasks[NTASKS];
	struct pinger ping;
	uint16_t size;        /* payload bytes */
	unsigned window;      /* pps: pings outstanding */
	double ns_per_cycle;
	double load1_start;   /* before this program's lcores spun */
	_Atomic bool stop;
};

/* The tasks one lcore polls round robin. */
struct lcore_tasks {
	struct task *t[NTASKS];
	unsigned n;
};

static uint64_t
cycles_to_ns(const struct floor *f, uint64_t cycles)
{
	return (uint64_t)((double)cycles * f->ns_per_cycle);
}

/* The 1-minute load average (-1: unknown): the lcores busy-poll pinned
 * CPUs, so another tenant's load shows in every number. */
static double
load1(void)
{
	FILE *fp = fopen("/proc/loadavg", "r");
	double l = -1;

	if (fp != NULL) {
		if (fscanf(fp, "%lf", &l) != 1)
			l = -1;
		fclose(fp);
	}
	return l;
}

/* As the runtime's net_conf_init() for cluster mode. */
static void
net_conf_init(struct tr_net_conf *net)
{
	memset(net, 0, sizeof(*net));
	net->port_base = PORT_BASE;
	for (unsigned i = 0; i < TR_REPLICAS; i++) {
		net->addr[i].mac.addr_bytes[0] = 0x02;
		net->addr[i].mac.addr_bytes[5] = (uint8_t)i;
		net->addr[i].ip = rte_cpu_to_be_32(0x0a000001 + i);
	}
}

/* A fresh packet from `k` to `to` with the payload copied in. */
static void
send_copy(struct task *k, uint8_t to, const void *payload, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(k->f->pool);

	if (m == NULL) {
		k->drops++;
		return;
	}
	memcpy(tr_net_payload(m), payload, len);
	if (tr_net_build(m, &k->f->net, k->replica, to, k->column, len) != 0) {
		rte_pktmbuf_free(m);
		k->drops++;
		return;
	}
	k->tx[to][k->ntx[to]++] = m;
}

static void
tx_flush(struct task *k)
{
	for (uint8_t peer = 0; peer < TR_REPLICAS; peer++) {
		unsigned n = k->ntx[peer], sent;

		if (n == 0)
			continue;
		sent = rte_eth_tx_burst(k->port, tr_mesh_queue(peer, k->column), k->tx[peer],
					(uint16_t)n);
		if (sent < n) {
			rte_pktmbuf_free_bulk(k->tx[peer] + sent, n - sent);
			k->drops += n - sent;
		}
		k->ntx[peer] = 0;
	}
}

static void
pinger_send(struct task *k, uint64_t now)
{
	struct floor *f = k->f;
	struct pinger *p = &f->ping;
	unsigned pings;

	if (now >= p->end)
		return;
	if (p->test == TEST_RTT) {
		if (p->waiting && cycles_to_ns(f, now - p->sent_tsc) < TIMEOUT_NS)
			return;
		p->timeouts += p->waiting;
		p->waiting = true;
		p->sent_tsc = now;
		pings = 1;
	} else {
		if ((p->sent_pkts - p->echoes) / 2 + BURST > f->window)
			return;
		pings = BURST;
	}
	for (unsigned i = 0; i < pings; i++) {
		struct ping h = {.seq = p->seq++, .tsc = rte_rdtsc()};

		memcpy(p->payload, &h, sizeof(h));
		send_copy(k, 1, p->payload, f->size);
		send_copy(k, 2, p->payload, f->size);
		p->sent_pkts += 2;
	}
}

static void
pinger_echo(struct task *k, const struct tr_net_rx *rx)
{
	struct floor *f = k->f;
	struct pinger *p = &f->ping;
	uint64_t now = rte_rdtsc();
	struct ping h;

	memcpy(&h, rx->payload, sizeof(h));
	if (h.seq < p->first_seq)
		return; /* from an earlier test */
	p->echoes++;
	if (p->test == TEST_RTT && (!p->waiting || h.seq != p->seq - 1))
		return; /* the second echo of a ping */
	p->waiting = false;
	if (now >= p->start && h.tsc >= p->start) {
		hist_add(&p->hist, cycles_to_ns(f, now - h.tsc));
		p->samples++;
	}
}

/* One pass over a task's queues, as the runtime's task_poll(). */
static void
task_poll(struct task *k)
{
	struct floor *f = k->f;
	struct rte_mbuf *pkts[BURST];

	for (uint8_t peer = 0; peer < TR_REPLICAS; peer++) {
		unsigned n;

		if (peer == k->replica)
			continue;
		n = rte_eth_rx_burst(k->port, tr_mesh_queue(peer, k->column), pkts, BURST);
		for (unsigned i = 0; i < n; i++) {
			struct tr_net_rx rx;

			if (tr_net_parse(pkts[i], &f->net, k->replica, &rx) != TR_NET_OK ||
			    rx.len < sizeof(struct ping))
				k->drops++;
			else if (k->replica == 0)
				pinger_echo(k, &rx);
			else
				send_copy(k, rx.from, rx.payload, rx.len);
			rte_pktmbuf_free(pkts[i]);
		}
	}
	if (k->replica == 0 && k->column == PING_COLUMN) {
		uint64_t now = rte_rdtsc();

		pinger_send(k, now);
		if (now >= f->ping.end)
			atomic_store_explicit(&f->stop, true, memory_order_relaxed);
	}
	tx_flush(k);
}

static int
lcore_main(void *arg)
{
	struct lcore_tasks *l = arg;
	struct floor *f = l->t[0]->f;

	while (!atomic_load_explicit(&f->stop, memory_order_relaxed))
		for (unsigned i = 0; i < l->n; i++)
			task_poll(l->t[i]);
	return 0;
}

/* Frees whatever is left in the rings (the lcores have returned). */
static void
drain(struct floor *f)
{
	struct rte_mbuf *pkts[BURST];

	for (unsigned r = 0; r < TR_REPLICAS; r++)
		for (uint16_t q = 0; q < TR_MESH_QUEUES; q++) {
			unsigned n;

			while ((n = rte_eth_rx_burst(f->mesh.port[r], q, pkts, BURST)) > 0)
				rte_pktmbuf_free_bulk(pkts, n);
		}
}

static int
run(struct floor *f, enum test test, enum layout layout, double secs, double warm_secs)
{
	struct lcore_tasks main_l = {.n = 0}, worker_l = {.n = 0};
	struct pinger *p = &f->ping;
	unsigned worker = rte_get_next_lcore(-1, 1, 0);
	uint64_t hz = rte_get_tsc_hz(), now, drops = 0;

	for (unsigned i = 0; i < NTASKS; i++) {
		struct task *k = &f->tasks[i];
		struct lcore_tasks *l = layout == LAYOUT_TWO && k->replica == 0 ? &main_l
										  : &worker_l;

		k->drops = 0;
		l->t[l->n++] = k;
	}
	now = rte_rdtsc();
	p->test = test;
	p->first_seq = p->seq;
	p->start = now + (uint64_t)(warm_secs * hz);
	p->end = now + (uint64_t)((warm_secs + secs) * hz);
	p->waiting = false;
	p->sent_pkts = p->echoes = p->samples = p->timeouts = 0;
	hist_reset(&p->hist);
	atomic_store(&f->stop, false);
	if (rte_eal_remote_launch(lcore_main, &worker_l, worker) != 0) {
		fprintf(stderr, "bench-floor: lcore %u is busy\n", worker);
		return -1;
	}
	if (main_l.n > 0)
		lcore_main(&main_l);
	rte_eal_wait_lcore(worker);
	drain(f);
	for (unsigned i = 0; i < NTASKS; i++)
		drops += f->tasks[i].drops;

	printf("{\"bench\":\"floor\",\"test\":\"%s\",\"layout\":\"%s\",\"size\":%u,"
	       "\"pkt_bytes\":%zu,", test_names[test], layout_names[layout], f->size,
	       f->size + TR_NET_HDR_LEN);
	if (test == TEST_PPS)
		printf("\"window\":%u,\"burst\":%u,\"pkts_per_s\":%.0f,", f->window, BURST,
		       2 * p->samples / secs);
	printf("\"rtts_per_s\":%.0f,\"samples\":%" PRIu64 ",\"p50_ns\":%" PRIu64
	       ",\"p99_ns\":%" PRIu64 ",\"p999_ns\":%" PRIu64 ",\"min_ns\":%" PRIu64
	       ",\"max_ns\":%" PRIu64 ",\"mean_ns\":%.1f,\"timeouts\":%" PRIu64 ",\"drops\":%" PRIu64
	       ",\"secs\":%.2f,\"load1_start\":%.2f}\n", p->samples / secs, p->samples,
	       hist_quantile(&p->hist, 0.5), hist_quantile(&p->hist, 0.99),
	       hist_quantile(&p->hist, 0.999), p->hist.min_ns, p->hist.max_ns,
	       p->samples ? (double)p->hist.sum_ns / p->samples : 0.0, p->timeouts, drops,
	       secs, f->load1_start);
	fprintf(stderr, "%-3s %-9s %4u B: %9.0f round trips/s", test_names[test],
		layout_names[layout], f->size, p->samples / secs);
	if (test == TEST_PPS)
		fprintf(stderr, " (%.2f Mpkt/s)", 2 * p->samples / secs / 1e6);
	fprintf(stderr, ", latency p50 %" PRIu64 " p99 %" PRIu64 " p99.9 %" PRIu64
		" ns (%" PRIu64 " samples, %" PRIu64 " timeouts, %" PRIu64 " drops)\n",
		hist_quantile(&p->hist, 0.5), hist_quantile(&p->hist, 0.99),
		hist_quantile(&p->hist, 0.999), p->samples, p->timeouts, drops);
	return p->samples > 0 && drops == 0 ? 0 : -1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench-floor <EAL args, at least 2 lcores> -- [--quick] "
		"[--size BYTES] [--secs S] [--window PINGS]\n");
}

int
main(int argc, char **argv)
{
	static struct floor f;
	char err[TR_ERR_LEN];
	double secs = 2, warm = 0.2;
	int n, rc = 0;

	f.load1_start = load1();
	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "bench-floor: EAL: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	argc -= n;
	argv += n;
	f.size = 64;
	f.window = 256;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			secs = 0.4;
			warm = 0.05;
		} else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
			f.size = (uint16_t)bench_arg(argv[++i], sizeof(struct ping), 1400, usage);
		} else if (strcmp(argv[i], "--secs") == 0 && i + 1 < argc) {
			secs = (double)bench_arg(argv[++i], 1, 600, usage);
		} else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc) {
			f.window = (unsigned)bench_arg(argv[++i], BURST, RING_SIZE / 2, usage);
		} else {
			usage();
			return 2;
		}
	}
	if (rte_lcore_count() < 2) {
		fprintf(stderr, "bench-floor: needs a worker lcore: give EAL -l 0-1\n");
		return 2;
	}
	f.ns_per_cycle = 1e9 / (double)rte_get_tsc_hz();
	net_conf_init(&f.net);
	f.pool = tr_mempool_create("bf_pool", POOL_MBUFS, 0, (int)rte_socket_id());
	if (f.pool == NULL) {
		fprintf(stderr, "bench-floor: pool of %u mbufs: %s (give EAL -m 512)\n",
			POOL_MBUFS, rte_strerror(rte_errno));
		return 2;
	}
	if (tr_ring_mesh_create(&f.mesh, "bfm", RING_SIZE, f.pool, (int)rte_socket_id(), err,
				sizeof(err)) != 0) {
		fprintf(stderr, "bench-floor: %s\n", err);
		return 2;
	}
	for (unsigned i = 0; i < NTASKS; i++)
		f.tasks[i] = (struct task){.f = &f, .replica = (uint8_t)(i / TR_COLUMNS),
					   .column = (uint8_t)(i % TR_COLUMNS),
					   .port = f.mesh.port[i / TR_COLUMNS]};
	fprintf(stderr, "floor: %u-byte payloads, TSC %.2f GHz, worker lcore %u, load %.2f\n",
		f.size, rte_get_tsc_hz() / 1e9, rte_get_next_lcore(-1, 1, 0), f.load1_start);

	for (unsigned l = LAYOUT_ONE; l <= LAYOUT_TWO; l++)
		for (unsigned t = TEST_RTT; t <= TEST_PPS; t++)
			if (run(&f, t, l, secs, warm) != 0)
				rc = 1;
	if (rte_mempool_in_use_count(f.pool) != 0) {
		fprintf(stderr, "bench-floor: %u mbufs leaked\n", rte_mempool_in_use_count(f.pool));
		rc = 1;
	}
	tr_ring_mesh_free(&f.mesh);
	rte_mempool_free(f.pool);
	rte_eal_cleanup();
	return rc;
}
