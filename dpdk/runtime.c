/* SPDX-License-Identifier: MIT
 * Trireme runtime: replicas, placement, appliers, clients (trireme.h).
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_telemetry.h>

#include "port.h"
#include "runtime.h"

/* The library's DPDK log type: --log-level=trireme:debug */
RTE_LOG_REGISTER(tr_logtype, trireme, INFO);

const char *
trireme_version(void)
{
	return TRIREME_VERSION;
}

static const char *const err_text[] = {
	"ok",
#define TRIREME_ERR_TEXT(name, text) text,
	TRIREME_ERRORS(TRIREME_ERR_TEXT)
#undef TRIREME_ERR_TEXT
};

const char *
trireme_strerror(int err)
{
	unsigned i = (unsigned)(err < 0 ? -err : err);

	return i < sizeof(err_text) / sizeof(err_text[0]) ? err_text[i] : "unknown error";
}

/* An instance's commands fit one packet: its frame header, the ACCEPT's
 * fixed part (64 bytes with room to spare), the crc and the MAC aside. */
static uint32_t
batch_bytes_for(const struct trireme_conf *conf)
{
	return (uint32_t)conf->mtu - TR_NET_IP_UDP_LEN - TR_WIRE_HDR_BYTES - TR_WIRE_CRC_BYTES -
	       64 - (conf->auth ? RT_AUTH_TAG : 0);
}

uint32_t
trireme_value_max(const struct trireme_conf *conf, uint16_t key_len)
{
	uint32_t room = batch_bytes_for(conf);
	uint32_t need = TR_WIRE_CMD_HDR_BYTES + (uint32_t)key_len;

	return room <= need ? 0 : RTE_MIN(room - need, (uint32_t)TRIREME_VAL_MAX);
}

/* Mbufs that hold a whole frame of the MTU (never below DPDK's default). */
static uint16_t
mbuf_room_for(uint16_t mtu)
{
	uint32_t room = RTE_PKTMBUF_HEADROOM + RTE_ETHER_HDR_LEN + (uint32_t)mtu;

	return (uint16_t)RTE_MAX(room, (uint32_t)TR_MBUF_BUF_SIZE);
}

static int fail(char *err, size_t len, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The port must carry a whole frame of the MTU. */
static int
port_check_mtu(uint16_t port, uint16_t mtu, char *err, size_t len)
{
	struct rte_eth_dev_info info;
	uint32_t frame = RTE_ETHER_HDR_LEN + (uint32_t)mtu;

	if (rte_eth_dev_info_get(port, &info) != 0 || info.max_rx_pktlen >= frame)
		return 0;
	return fail(err, len, -TRIREME_EINVAL,
		    "port %u takes frames of at most %u bytes, the MTU %u needs %u; lower the "
		    "MTU or raise the device's (af_packet: framesz=)", port, info.max_rx_pktlen,
		    mtu, frame);
}

void
trireme_conf_default(struct trireme_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->mode = TRIREME_CLUSTER;
	conf->udp_port_base = 7400;
	conf->mtu = 1500;
	conf->inflight_max = 256;
	conf->batch_cmds_max = 32;
	conf->log_slots_max = 8192;
	conf->rtt_ns = 50000;
	conf->keys_max = 1u << 20;
	conf->clients_max = 64;
	conf->mbufs = 4095;
	conf->seed = 1;
}

static int
fail(char *err, size_t len, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (err != NULL && len > 0)
		vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return code;
}

/* Wakes trireme_wait. EFD_NONBLOCK: the applier never blocks (a counter
 * already at its maximum is as good as signalled). */
static void
client_wake(struct trireme_client *c)
{
	uint64_t one = 1;
	ssize_t n = write(c->efd, &one, sizeof(one));

	(void)n;
}

static void
client_destroy(struct trireme_client *c)
{
	for (unsigned i = 0; c->cmds != NULL && i < c->window; i++)
		free(c->cmds[i].data);
	rte_ring_free(c->done);
	if (c->efd >= 0)
		close(c->efd);
	free(c->local_done);
	free(c->cmds);
	free(c);
}

/* The applier: committed instances in §7 order into the store (P5). */
static void
on_complete(void *ctx, const struct tr_completion *d)
{
	struct rt_replica *r = ctx;
	uint64_t id = d->client_id - r->client_id_base;
	struct trireme_client *c;
	struct rt_cmd *cmd;

	/* Another process's, replica's or life's client: not ours. */
	if (d->client_id < r->client_id_base || (id / r->clients_max) % TR_REPLICAS != r->id)
		return;
	/* QSBR: trireme_client_free waits for our quiescent state. */
	c = __atomic_load_n(&r->clients[id % r->clients_max], __ATOMIC_ACQUIRE);
	if (c == NULL || c->id != d->client_id)
		return; /* a client of an earlier life of this replica (§12 restart) */
	cmd = &c->cmds[d->seq % c->window];
	if (cmd->seq != d->seq ||
	    atomic_load_explicit(&cmd->state, memory_order_acquire) != RT_CMD_QUEUED)
		return; /* a duplicate completion (§8) */
	cmd->status = d->res.status == TR_ST_TOO_OLD ? -TRIREME_ETOO_OLD
		    : d->res.status == TR_ST_FULL ? -TRIREME_EFULL : 0;
	cmd->found = d->res.status == TR_ST_OK;
	cmd->out_len = 0;
	if (d->op == TR_OP_GET && d->res.status == TR_ST_OK) {
		cmd->out_len = d->res.val_len;
		memcpy(cmd->data, d->res.val, d->res.val_len);
	}
	{
		uint64_t ns = rt_now_ns(r->t) - cmd->submit_ns;
		unsigned b = ns == 0 ? 0 : 64 - (unsigned)__builtin_clzll(ns);

		__atomic_fetch_add(&r->lat_hist[b < RT_LAT_BUCKETS ? b : RT_LAT_BUCKETS - 1], 1,
				   __ATOMIC_RELAXED);
	}
	atomic_store_explicit(&cmd->state, RT_CMD_DONE, memory_order_release);
	if (rte_ring_sp_enqueue(c->done, cmd) != 0)
		abort(); /* sized to the window: cannot be full */
	r->completions++;
	/* The enqueue before the look at waiting; trireme_wait does the
	 * opposite, so one of the two sees the other. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&c->waiting, memory_order_relaxed))
		client_wake(c);
}

static bool
violated(const struct rt_replica *r)
{
	return atomic_load_explicit(&r->eng.shared.violation, memory_order_seq_cst) != 0;
}

/* A3, C1, P2 "stop loudly": the engine has stopped the replica; say so
 * once, and wake the clients asleep in trireme_wait. */
static void
violation_report(struct rt_replica *r)
{
	r->violation_logged = true;
	rte_log(RTE_LOG_ERR, tr_logtype,
		"trireme: replica %u stopped on a safety violation: %s; it refuses every "
		"later step and its clients get -TRIREME_ESTOPPED: keep its state for "
		"inspection, then rebuild the replica\n",
		r->id, atomic_load(&r->eng.violation_why));
	for (uint32_t i = 0; i < r->clients_max; i++) {
		struct trireme_client *c = __atomic_load_n(&r->clients[i], __ATOMIC_ACQUIRE);

		if (c != NULL && atomic_load(&c->waiting))
			client_wake(c);
	}
}

unsigned
rt_applier_step(struct rt_replica *r)
{
	uint64_t before = r->completions;
	unsigned n;

	if (violated(r)) {
		if (!r->violation_logged)
			violation_report(r);
		return 0;
	}
	if (rt_held(r, RT_PARK_APPLIER) || atomic_load_explicit(&r->paused, memory_order_relaxed))
		return 0;
	rt_snap_applier_before(r);
	n = tr_apply(&r->applier, 256);
	rt_snap_applier_after(r);
	if (n > 0) {
		atomic_fetch_add_explicit(&r->applied, n, memory_order_relaxed);
		atomic_store_explicit(&r->keys, tr_kvstore_count(r->kv), memory_order_relaxed);
	}
	return n + (unsigned)(r->completions - before); /* Q3 answers count as work */
}

/* With conf.applier_threads: the applier on a thread of its own. */
static void *
applier_main(void *arg)
{
	struct rt_replica *r = arg;
	unsigned idle = 0;

	tr_thread_anywhere(); /* not pinned to the main lcore */
	urcu_qsbr_register_thread();
	while (!atomic_load_explicit(&r->t->stop, memory_order_relaxed)) {
		unsigned n = rt_applier_step(r);

		urcu_qsbr_quiescent_state();
		if (n > 0)
			idle = 0;
		else
			rt_idle_qsbr(&idle);
	}
	urcu_qsbr_unregister_thread();
	return NULL;
}

static int
replica_init(struct trireme *t, unsigned id, char *err, size_t len)
{
	const struct trireme_conf *conf = &t->conf;
	struct rt_replica *r = &t->reps[id];
	struct tr_config cfg;
	size_t bytes;
	const char *why;
	uint32_t recs = 1;
	char name[RTE_RING_NAMESIZE];

	r->t = t;
	r->id = id;
	r->local = true;
	tr_config_default(&cfg, (uint8_t)id, conf->rtt_ns);
	cfg.cluster_id = 0x7472;
	cfg.log_slots_max = conf->log_slots_max;
	cfg.inflight_max = conf->inflight_max;
	cfg.batch_cmds_max = conf->batch_cmds_max;
	cfg.batch_bytes_max = batch_bytes_for(conf);
	cfg.pending_bytes_max = 1u << 20;
	cfg.fetch_span_max = 16;
	cfg.seed = conf->seed * 3 + id;
	while (recs < 4 * TR_REPLICAS * conf->clients_max)
		recs *= 2;
	cfg.sm_keys_max = conf->keys_max; /* the cluster's, checked through STATUS */
	cfg.sm_clients_max = recs;
	cfg.join = conf->join; /* J: starts as an amnesiac that joins its peers */
	if ((why = tr_config_check(&cfg)) != NULL)
		return fail(err, len, -TRIREME_EINVAL, "replica %u: %s", id, why);
	bytes = tr_replica_mem_bytes(&cfg);
	r->eng_mem = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
	if (r->eng_mem == NULL)
		return fail(err, len, -TRIREME_ENOMEM,
			    "cannot allocate %zu MiB for replica %u's log; lower log_slots_max",
			    bytes >> 20, id);
	/* Touch every page now: the first pass over the log would otherwise
	 * take a page fault per slot on the commit path. */
	memset(r->eng_mem, 0, bytes);
	tr_replica_init(&r->eng, &cfg, r->eng_mem, bytes, rt_now_ns(t));
	r->cfg = cfg;
	r->eng_bytes = bytes;
	r->limits = (struct tr_wire_limits){
		.cluster_id = cfg.cluster_id,
		.self = (uint8_t)id,
		.cmd_count_max = cfg.batch_cmds_max,
		.cmds_bytes_max = cfg.batch_bytes_max,
		.fetch_span_max = cfg.fetch_span_max,
	};

	r->kv = tr_kvstore_new(1024, conf->keys_max);
	r->client_recs = calloc(recs, sizeof(*r->client_recs));
	r->clients_max = conf->clients_max;
	r->client_id_base = conf->client_id_base;
	r->clients = calloc(conf->clients_max, sizeof(*r->clients));
	r->slot_seq = calloc(conf->clients_max, sizeof(*r->slot_seq));
	if (r->kv == NULL || r->client_recs == NULL || r->clients == NULL || r->slot_seq == NULL)
		return fail(err, len, -TRIREME_ENOMEM, "out of memory setting up replica %u", id);
	pthread_mutex_init(&r->clients_lock, NULL);
	tr_sm_init(&r->sm, &tr_kvstore_ops, r->kv, r->client_recs, recs);
	r->applier = (struct tr_applier){.rep = &r->eng, .sm = &r->sm, .complete = on_complete,
					 .ctx = r};

	snprintf(name, sizeof(name), "tr_sub%u_%p", id, (void *)t);
	r->submit = rte_ring_create(name, RT_SUBMIT_RING, rte_socket_id(), RING_F_SC_DEQ);
	if (r->submit == NULL)
		return fail(err, len, -TRIREME_ENOMEM, "cannot create the submit ring: %s",
			    rte_strerror(rte_errno));
	for (unsigned c = 0; c < TR_COLUMNS; c++) {
		struct rt_task *k = &r->tasks[c];

		k->rep = r;
		k->column = c;
		k->col = &r->eng.col[c];
		k->out.msgs = k->msgs;
		k->out.msg_cap = RT_OUT_MSGS;
		k->deadline_ns = 0;
		k->rng = conf->seed * 0x9E3779B97F4A7C15ull + id * 3 + c + 1;
	}
	return 0;
}

static void
net_conf_init(struct trireme *t, struct tr_net_conf *net)
{
	memset(net, 0, sizeof(*net));
	net->port_base = t->conf.udp_port_base;
	net->mtu = t->conf.mtu;
	for (unsigned i = 0; i < TR_REPLICAS; i++) {
		const struct trireme_peer *p = &t->conf.peers[i];

		memcpy(net->addr[i].mac.addr_bytes, p->mac, 6);
		net->addr[i].ip = rte_cpu_to_be_32(p->ip);
	}
}

/* Columns over the worker lcores, round robin; each replica's applier
 * follows its columns unless it has a thread of its own. */
static int
place(struct trireme *t, char *err, size_t len)
{
	unsigned lcores[64], n = 0, lc;

	if (t->conf.lcore_count > 0) {
		for (unsigned i = 0; i < t->conf.lcore_count && i < 64; i++) {
			if (!rte_lcore_is_enabled(t->conf.lcores[i]) ||
			    t->conf.lcores[i] == rte_get_main_lcore())
				return fail(err, len, -TRIREME_ELCORE,
					    "lcore %u is not an enabled worker lcore; list it in -l",
					    t->conf.lcores[i]);
			lcores[n++] = t->conf.lcores[i];
		}
	} else {
		RTE_LCORE_FOREACH_WORKER(lc) {
			if (n < 64)
				lcores[n++] = lc;
		}
	}
	if (n == 0)
		return fail(err, len, -TRIREME_ELCORE,
			    "no worker lcore: give EAL at least two lcores, e.g. -l 0-1");
	t->nlcores = n;
	for (unsigned i = 0; i < n; i++)
		t->lcores[i] = (struct rt_lcore){.t = t, .lcore = lcores[i]};
	n = 0;
	for (unsigned r = 0; r < TR_REPLICAS; r++) {
		if (!t->reps[r].local)
			continue;
		for (unsigned c = 0; c < TR_COLUMNS; c++) {
			struct rt_lcore *l = &t->lcores[n % t->nlcores];

			l->tasks[l->ntasks++] = &t->reps[r].tasks[c];
			/* One port queue: a replica's columns share the lcore that reads it. */
			if (t->ring_mesh || c == TR_COLUMNS - 1)
				n++;
		}
		if (!t->conf.applier_threads) {
			struct rt_lcore *l = &t->lcores[n++ % t->nlcores];

			l->appliers[l->nappliers++] = &t->reps[r];
		}
	}
	return 0;
}

static struct tr_ring_mesh mesh;
static struct trireme *telemetry_target; /* one runtime per process */
static _Atomic bool instance_running;

/* DPDK telemetry: /trireme/replica,<id> and /trireme/lcores. */
static int
tel_replica(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct trireme *t = telemetry_target;
	struct trireme_replica_stats s;
	struct rte_tel_data *hist;
	unsigned id = params != NULL ? (unsigned)atoi(params) : 0;

	(void)cmd;
	if (t == NULL || trireme_replica_stats(t, id, &s) != 0)
		return -EINVAL;
	rte_tel_data_start_dict(d);
#define TEL_U64(name) rte_tel_data_add_dict_u64(d, #name, s.name)
	TEL_U64(applied);
	TEL_U64(applied_cmds);
	TEL_U64(kv_digest);
	TEL_U64(keys);
	TEL_U64(committed);
	TEL_U64(proposed);
	TEL_U64(retries);
	TEL_U64(recoveries);
	TEL_U64(fetches);
	TEL_U64(rejects);
	TEL_U64(rx_pkts);
	TEL_U64(tx_pkts);
	TEL_U64(rx_msgs);
	TEL_U64(tx_msgs);
	TEL_U64(drops_fault);
	TEL_U64(drops_malformed);
	TEL_U64(drops_foreign);
	TEL_U64(drops_tx_full);
	TEL_U64(too_old);
	TEL_U64(drops_implausible);
	TEL_U64(drops_auth);
	TEL_U64(auth_key_errors);
	TEL_U64(snap_sent);
	TEL_U64(snap_received);
	TEL_U64(snap_bytes_tx);
	TEL_U64(snap_bytes_rx);
	TEL_U64(snap_installs);
	TEL_U64(snap_failed);
	TEL_U64(incarnation);
	TEL_U64(down);
#undef TEL_U64
	rte_tel_data_add_dict_u64(d, "violation", violated(&t->reps[id]));
	if (violated(&t->reps[id]))
		rte_tel_data_add_dict_string(d, "violation_why",
					     atomic_load(&t->reps[id].eng.violation_why));
	hist = rte_tel_data_alloc();
	if (hist != NULL) {
		rte_tel_data_start_array(hist, RTE_TEL_U64_VAL);
		for (unsigned b = 0; b < RT_LAT_BUCKETS; b++)
			rte_tel_data_add_array_u64(hist,
				__atomic_load_n(&t->reps[id].lat_hist[b], __ATOMIC_RELAXED));
		rte_tel_data_add_dict_container(d, "latency_log2_ns", hist, 0);
	}
	return 0;
}

static int
tel_lcores(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct trireme *t = telemetry_target;

	(void)cmd;
	(void)params;
	if (t == NULL)
		return -EINVAL;
	rte_tel_data_start_dict(d);
	for (unsigned i = 0; i < t->nlcores; i++) {
		const struct rt_lcore *l = &t->lcores[i];
		uint64_t rx = 0, tx = 0;
		char name[32];

		for (unsigned k = 0; k < l->ntasks; k++) {
			rx += __atomic_load_n(&l->tasks[k]->rx_pkts, __ATOMIC_RELAXED);
			tx += __atomic_load_n(&l->tasks[k]->tx_pkts, __ATOMIC_RELAXED);
		}
		snprintf(name, sizeof(name), "lcore%u_rx_pkts", l->lcore);
		rte_tel_data_add_dict_u64(d, name, rx);
		snprintf(name, sizeof(name), "lcore%u_tx_pkts", l->lcore);
		rte_tel_data_add_dict_u64(d, name, tx);
		snprintf(name, sizeof(name), "lcore%u_tasks", l->lcore);
		rte_tel_data_add_dict_u64(d, name, l->ntasks);
	}
	return 0;
}

int
trireme_start(const struct trireme_conf *conf, struct trireme **out, char *err, size_t len)
{
	struct trireme *t;
	struct rte_mempool *pool = NULL;
	char msg[TR_ERR_LEN];
	int rc;

	*out = NULL;
	if (rte_lcore_count() == 0) /* EAL's lcore table is empty before rte_eal_init */
		return fail(err, len, -TRIREME_ENOEAL,
			    "EAL not initialised: call rte_eal_init first (Trireme runs on its "
			    "lcores and memory)");
	if (conf->mode != TRIREME_CLUSTER && conf->mode != TRIREME_REPLICA)
		return fail(err, len, -TRIREME_EINVAL, "unknown mode");
	if (conf->mode == TRIREME_REPLICA && conf->replica_id >= TR_REPLICAS)
		return fail(err, len, -TRIREME_EINVAL, "replica id must be 0, 1 or 2");
	if (conf->clients_max == 0 || conf->keys_max == 0)
		return fail(err, len, -TRIREME_EINVAL, "clients_max and keys_max must be > 0");
	if (conf->client_id_base > UINT64_MAX - (uint64_t)TR_REPLICAS * conf->clients_max)
		return fail(err, len, -TRIREME_EINVAL, "client_id_base too large for clients_max");
	if (conf->mtu < TRIREME_MTU_MIN || conf->mtu > TRIREME_MTU_MAX)
		return fail(err, len, -TRIREME_EINVAL, "mtu %u is not in %u..%u", conf->mtu,
			    TRIREME_MTU_MIN, TRIREME_MTU_MAX);
	for (size_t i = 0; i < sizeof(conf->reserved); i++)
		if (conf->reserved[i] != 0)
			return fail(err, len, -TRIREME_EINVAL,
				    "conf.reserved is not zero: start from trireme_conf_default");
	if (atomic_exchange(&instance_running, true))
		return fail(err, len, -TRIREME_EALREADY,
			    "already started: one Trireme instance per process; trireme_stop "
			    "it before starting another");
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		atomic_store(&instance_running, false);
		return fail(err, len, -TRIREME_ENOMEM, "out of memory");
	}
	t->conf = *conf;
	t->ns_per_cycle = 1e9 / (double)rte_get_tsc_hz();
	atomic_init(&t->stop, false);
	if ((rc = rt_auth_init(&t->auth, conf)) != 0) {
		rc = fail(err, len, rc, "cannot set up authentication: %s", trireme_strerror(rc));
		goto out_free;
	}

	if (conf->mode == TRIREME_CLUSTER) {
		struct trireme_conf *c = &t->conf;

		for (unsigned i = 0; i < TR_REPLICAS; i++) {
			uint8_t mac[6] = {0x02, 0, 0, 0, 0, (uint8_t)i};

			memcpy(c->peers[i].mac, mac, 6);
			c->peers[i].ip = 0x0a000001 + i;
		}
		pool = tr_mempool_create("tr_pool", conf->mbufs * TR_REPLICAS,
					 mbuf_room_for(conf->mtu), rte_socket_id());
		if (pool == NULL) {
			rc = fail(err, len, -TRIREME_ENOMEM,
				  "cannot create a pool of %u mbufs (%s); give EAL more memory, e.g. -m 256",
				  conf->mbufs * TR_REPLICAS, rte_strerror(rte_errno));
			goto out_free;
		}
		rc = tr_ring_mesh_create(&mesh, "trm", 1024, pool, rte_socket_id(), msg, sizeof(msg));
		if (rc != 0) {
			rc = fail(err, len, -TRIREME_ENODEV, "cannot create the ring ports: %s", msg);
			goto out_free;
		}
		t->ring_mesh = true;
		for (unsigned i = 0; i < TR_REPLICAS; i++) {
			net_conf_init(t, &t->reps[i].net);
			t->reps[i].port = mesh.port[i];
			t->reps[i].pool = pool;
			if ((rc = replica_init(t, i, err, len)) != 0)
				goto out_free;
		}
	} else {
		unsigned id = conf->replica_id;

		if (!rte_eth_dev_is_valid_port(conf->port_id)) {
			rc = fail(err, len, -TRIREME_ENODEV,
				  "no DPDK port %u: add a device to the EAL arguments, e.g. "
				  "--vdev=net_af_packet0,iface=veth0", conf->port_id);
			goto out_free;
		}
		pool = tr_mempool_create("tr_pool", conf->mbufs, mbuf_room_for(conf->mtu),
					 rte_socket_id());
		if (pool == NULL) {
			rc = fail(err, len, -TRIREME_ENOMEM,
				  "cannot create a pool of %u mbufs (%s); give EAL more memory, e.g. -m 256",
				  conf->mbufs, rte_strerror(rte_errno));
			goto out_free;
		}
		rc = tr_port_setup(conf->port_id, 1, 1, pool, 0, msg, sizeof(msg));
		if (rc != 0) {
			rc = fail(err, len, -TRIREME_ENODEV, "port %u: %s", conf->port_id, msg);
			goto out_free;
		}
		if ((rc = port_check_mtu(conf->port_id, conf->mtu, err, len)) != 0)
			goto out_free;
		net_conf_init(t, &t->reps[id].net);
		if (tr_net_conf_check(&t->reps[id].net) != 0) {
			rc = fail(err, len, -TRIREME_EINVAL,
				  "peer addresses must be distinct, unicast MACs and IPs");
			goto out_free;
		}
		t->reps[id].port = conf->port_id;
		t->reps[id].pool = pool;
		if ((rc = replica_init(t, id, err, len)) != 0)
			goto out_free;
	}
	if ((rc = place(t, err, len)) != 0)
		goto out_free;

	for (unsigned r = 0; r < TR_REPLICAS; r++) {
		if (!t->reps[r].local || !conf->applier_threads)
			continue;
		if (pthread_create(&t->reps[r].applier_thread, NULL, applier_main, &t->reps[r]) != 0) {
			rc = fail(err, len, -TRIREME_EINTERNAL, "cannot start the applier thread");
			goto out_free;
		}
		t->reps[r].applier_started = true;
	}
	for (unsigned i = 0; i < t->nlcores; i++) {
		if (rte_eal_remote_launch(rt_worker_main, &t->lcores[i], t->lcores[i].lcore) != 0) {
			rc = fail(err, len, -TRIREME_ELCORE, "lcore %u is busy", t->lcores[i].lcore);
			goto out_free;
		}
		t->lcores[i].launched = true;
	}
	telemetry_target = t;
	rte_telemetry_register_cmd("/trireme/replica", tel_replica,
				   "Stats of a local replica. Parameters: int replica id");
	rte_telemetry_register_cmd("/trireme/lcores", tel_lcores,
				   "Packets per worker lcore. Takes no parameters");
	*out = t;
	return 0;

out_free:
	trireme_stop(t); /* undoes whatever was set up */
	return rc;
}

void
trireme_stop(struct trireme *t)
{
	struct rte_mempool *pool = NULL;

	if (t == NULL)
		return;
	if (telemetry_target == t)
		telemetry_target = NULL;
	atomic_store(&t->stop, true);
	for (unsigned i = 0; i < t->nlcores; i++)
		if (t->lcores[i].launched)
			rte_eal_wait_lcore(t->lcores[i].lcore);
	for (unsigned r = 0; r < TR_REPLICAS; r++) {
		struct rt_replica *rep = &t->reps[r];

		if (rep->applier_started)
			pthread_join(rep->applier_thread, NULL);
		if (rep->pool != NULL)
			pool = rep->pool;
		rt_snap_reset(rep);
	}
	while (atomic_load(&t->threads) > 0) /* snapshot threads use the stores */
		usleep(1000);
	if (t->ring_mesh)
		tr_ring_mesh_free(&mesh);
	else if (t->reps[t->conf.replica_id].local) {
		rte_eth_dev_stop(t->conf.port_id);
		rte_eth_dev_close(t->conf.port_id);
	}
	for (unsigned r = 0; r < TR_REPLICAS; r++) {
		struct rt_replica *rep = &t->reps[r];

		/* The workers and appliers are gone: every client goes now. */
		for (uint32_t i = 0; rep->clients != NULL && i < rep->clients_max; i++)
			if (rep->clients[i] != NULL)
				client_destroy(rep->clients[i]);
		while (rep->retired != NULL) {
			struct trireme_client *c = rep->retired;

			rep->retired = c->retired_next;
			client_destroy(c);
		}
		for (unsigned c = 0; c < TR_COLUMNS; c++) {
			struct rt_task *k = &rep->tasks[c];

			for (unsigned p = 0; p < TR_REPLICAS; p++)
				if (k->open[p] != NULL)
					rte_pktmbuf_free(k->open[p]);
			while (k->delayed_len > 0) {
				rte_pktmbuf_free(k->delayed[k->delayed_head].m);
				k->delayed_head = (k->delayed_head + 1) % RT_DELAY_MAX;
				k->delayed_len--;
			}
		}
		if (rep->kv != NULL)
			tr_kvstore_free(rep->kv);
		rte_ring_free(rep->submit);
		free(rep->client_recs);
		free(rep->clients);
		free(rep->slot_seq);
		free(rep->eng_mem);
	}
	rte_mempool_free(pool);
	rt_auth_free(&t->auth);
	free(t);
	atomic_store(&instance_running, false);
}

static struct rt_replica *
local_replica(struct trireme *t, unsigned replica)
{
	return replica < TR_REPLICAS && t->reps[replica].local ? &t->reps[replica] : NULL;
}

bool
trireme_replica_local(const struct trireme *t, unsigned replica)
{
	return replica < TR_REPLICAS && t->reps[replica].local;
}

int
trireme_replica_pause(struct trireme *t, unsigned replica)
{
	struct rt_replica *r = local_replica(t, replica);

	if (r == NULL)
		return -TRIREME_EINVAL;
	atomic_store(&r->paused, true);
	return 0;
}

int
trireme_replica_resume(struct trireme *t, unsigned replica)
{
	struct rt_replica *r = local_replica(t, replica);

	if (r == NULL)
		return -TRIREME_EINVAL;
	atomic_store(&r->paused, false);
	return 0;
}

/* §12: stops a replica's tasks and applier at their next poll and waits
 * until each is parked; down keeps them there. */
static void
hold_all(struct rt_replica *r)
{
	atomic_store(&r->down, true);
	atomic_store(&r->parked, 0);
	atomic_store(&r->hold, true);
	while ((atomic_load(&r->parked) & RT_PARK_ALL) != RT_PARK_ALL) {
		if (!atomic_load(&r->hold)) { /* an install finished meanwhile */
			atomic_store(&r->parked, 0);
			atomic_store(&r->hold, true);
		}
		sched_yield();
	}
}

/* The crashed replica's clients: every command outstanding completes with
 * ESTOPPED (its outcome is unknown), none hangs. */
static void
fail_outstanding(struct rt_replica *r)
{
	void *p;

	pthread_mutex_lock(&r->clients_lock);
	for (uint32_t i = 0; i < r->clients_max; i++) {
		struct trireme_client *c = r->clients[i];

		for (unsigned w = 0; c != NULL && w < c->window; w++) {
			struct rt_cmd *cmd = &c->cmds[w];

			if (atomic_load_explicit(&cmd->state, memory_order_acquire) != RT_CMD_QUEUED)
				continue;
			cmd->status = -TRIREME_ESTOPPED;
			cmd->found = false;
			cmd->out_len = 0;
			atomic_store_explicit(&cmd->state, RT_CMD_DONE, memory_order_release);
			if (rte_ring_sp_enqueue(c->done, cmd) != 0)
				abort(); /* sized to the window */
		}
	}
	pthread_mutex_unlock(&r->clients_lock);
	while (rte_ring_sc_dequeue(r->submit, &p) == 0)
		;
}

/* Frames a task has not sent yet. */
static void
task_drop_tx(struct rt_task *k)
{
	for (unsigned p = 0; p < TR_REPLICAS; p++) {
		if (k->open[p] != NULL)
			rte_pktmbuf_free(k->open[p]);
		k->open[p] = NULL;
		rte_pktmbuf_free_bulk(k->tx[p], k->ntx[p]);
		k->ntx[p] = 0;
	}
	while (k->delayed_len > 0) {
		rte_pktmbuf_free(k->delayed[k->delayed_head].m);
		k->delayed_head = (k->delayed_head + 1) % RT_DELAY_MAX;
		k->delayed_len--;
	}
	k->nstash = 0;
}

int
trireme_replica_crash(struct trireme *t, unsigned replica)
{
	struct rt_replica *r = local_replica(t, replica);
	struct tr_kvstore *old;

	if (r == NULL)
		return -TRIREME_EINVAL;
	if (atomic_load(&r->down))
		return 0;
	hold_all(r);
	fail_outstanding(r);
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		task_drop_tx(&r->tasks[c]);
	rt_snap_reset(r);
	/* Its memory: the engine's log and state, the store, the client table. */
	memset(r->eng_mem, 0, r->eng_bytes);
	old = r->kv;
	rcu_assign_pointer(r->kv, NULL);
	tr_snap_store_retire(old, &t->threads);
	free(r->client_recs);
	r->client_recs = NULL;
	r->sm.store = NULL;
	r->sm.clients = NULL;
	atomic_store(&r->keys, 0);
	return 0;
}

int
trireme_replica_restart(struct trireme *t, unsigned replica)
{
	struct rt_replica *r = local_replica(t, replica);
	struct tr_config cfg;
	struct tr_kvstore *kv;
	struct tr_client_rec *recs;
	uint64_t now;

	if (r == NULL)
		return -TRIREME_EINVAL;
	if (!atomic_load(&r->down))
		trireme_replica_crash(t, replica);
	kv = tr_kvstore_new(1024, t->conf.keys_max);
	recs = calloc(r->sm.clients_max, sizeof(*recs));
	if (kv == NULL || recs == NULL) {
		tr_kvstore_free(kv);
		free(recs);
		return -TRIREME_ENOMEM;
	}
	/* J: an amnesiac that joins (new incarnation from its peers). */
	now = rt_now_ns(t);
	cfg = r->cfg;
	cfg.join = true;
	cfg.seed = cfg.seed * 31 + now;
	memset(&r->eng, 0, sizeof(r->eng));
	memset(r->eng_mem, 0, r->eng_bytes);
	if (tr_replica_init(&r->eng, &cfg, r->eng_mem, r->eng_bytes, now) != 0) {
		tr_kvstore_free(kv);
		free(recs);
		return -TRIREME_EINTERNAL;
	}
	r->client_recs = recs;
	tr_sm_init(&r->sm, &tr_kvstore_ops, kv, recs, r->sm.clients_max);
	rcu_assign_pointer(r->kv, kv);
	r->applier = (struct tr_applier){.rep = &r->eng, .sm = &r->sm, .complete = on_complete,
					 .ctx = r};
	for (unsigned c = 0; c < TR_COLUMNS; c++) {
		r->tasks[c].col = &r->eng.col[c];
		r->tasks[c].deadline_ns = 0;
	}
	/* Its clients go on under new ids: the peers' exactly-once table knows
	 * the old ones with sequences this life does not. */
	pthread_mutex_lock(&r->clients_lock);
	r->life++;
	for (uint32_t i = 0; i < r->clients_max; i++)
		if (r->clients[i] != NULL)
			r->clients[i]->id = rt_client_id(r, i);
	pthread_mutex_unlock(&r->clients_lock);
	atomic_store(&r->parked, 0);
	atomic_store(&r->down, false);
	atomic_store(&r->hold, false);
	return 0;
}

static uint32_t
threshold(double p)
{
	if (p <= 0)
		return 0;
	if (p >= 1)
		return UINT32_MAX;
	return (uint32_t)(p * 4294967296.0);
}

int
trireme_set_faults(struct trireme *t, unsigned replica, const struct trireme_faults *f)
{
	struct rt_replica *r = local_replica(t, replica);

	if (r == NULL || f->drop_tx < 0 || f->drop_tx > 1 || f->drop_rx < 0 || f->drop_rx > 1 ||
	    f->dup_tx < 0 || f->dup_tx > 1 || f->delay_tx < 0 || f->delay_tx > 1)
		return -TRIREME_EINVAL;
	atomic_store(&r->faults.drop_tx, threshold(f->drop_tx));
	atomic_store(&r->faults.drop_rx, threshold(f->drop_rx));
	atomic_store(&r->faults.dup_tx, threshold(f->dup_tx));
	atomic_store(&r->faults.delay_ns, f->delay_us * 1000u);
	atomic_store(&r->faults.delay_tx, threshold(f->delay_tx));
	return 0;
}

/* Clients. */

/* Destroys the freed clients the workers no longer read (clients_lock). */
static void
reap_retired(struct rt_replica *r)
{
	struct trireme_client **p = &r->retired;

	while (*p != NULL) {
		struct trireme_client *c = *p;
		bool held = false;

		for (unsigned i = 0; i < c->window && !held; i++)
			held = atomic_load_explicit(&c->cmds[i].in_ring, memory_order_acquire);
		if (held) {
			p = &c->retired_next;
			continue;
		}
		*p = c->retired_next;
		client_destroy(c);
	}
}

struct trireme_client *
trireme_client_new(struct trireme *t, unsigned replica, unsigned window)
{
	static _Atomic uint32_t serial; /* ring names, unique in the process */
	struct rt_replica *r = local_replica(t, replica);
	struct trireme_client *c;
	char name[RTE_RING_NAMESIZE];
	unsigned ring = 1;
	uint32_t slot = 0;
	size_t cell = TRIREME_KEY_MAX + TRIREME_VAL_MAX;
	bool ok;

	if (r == NULL || window == 0 || window > TR_WINDOW_MAX) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	c->t = t;
	c->rep = r;
	c->window = window;
	atomic_init(&c->waiting, false);
	c->cmds = calloc(window, sizeof(*c->cmds));
	c->local_done = calloc(window, sizeof(*c->local_done));
	while (ring <= window)
		ring *= 2;
	snprintf(name, sizeof(name), "tr_done%u", atomic_fetch_add(&serial, 1));
	c->done = rte_ring_create(name, ring, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ok = c->cmds != NULL && c->local_done != NULL && c->done != NULL && c->efd >= 0;
	for (unsigned i = 0; ok && i < window; i++) {
		c->cmds[i].client = c;
		c->cmds[i].data = malloc(cell);
		ok = c->cmds[i].data != NULL;
		atomic_init(&c->cmds[i].state, RT_CMD_FREE);
		atomic_init(&c->cmds[i].in_ring, false);
	}
	pthread_mutex_lock(&r->clients_lock);
	reap_retired(r);
	while (ok && slot < r->clients_max && r->clients[slot] != NULL)
		slot++;
	if (!ok || slot == r->clients_max) {
		pthread_mutex_unlock(&r->clients_lock);
		client_destroy(c);
		errno = ok ? ENOSPC : ENOMEM;
		return NULL;
	}
	/* §8: (client id, seq) never repeats, so the slot's sequences go on
	 * from its previous client's. */
	c->id = rt_client_id(r, slot);
	c->next_seq = r->slot_seq[slot] + 1;
	c->oldest = c->next_seq;
	__atomic_store_n(&r->clients[slot], c, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&r->clients_lock);
	return c;
}

uint64_t
trireme_client_id(const struct trireme_client *c)
{
	return c->id;
}

void
trireme_client_free(struct trireme_client *c)
{
	struct rt_replica *r;
	uint32_t slot;

	if (c == NULL)
		return;
	r = c->rep;
	slot = (uint32_t)((c->id - r->client_id_base) % r->clients_max);
	pthread_mutex_lock(&r->clients_lock);
	__atomic_store_n(&r->clients[slot], NULL, __ATOMIC_RELEASE);
	r->slot_seq[slot] = c->next_seq - 1;
	pthread_mutex_unlock(&r->clients_lock);
	/* The appliers may hold c until their next quiescent state; after it,
	 * a late completion of c's finds the slot's next client (or none) and
	 * no command of that sequence. Only the workers may still read c's
	 * commands (in_ring): c waits in the retired list until they are done. */
	urcu_qsbr_synchronize_rcu();
	pthread_mutex_lock(&r->clients_lock);
	c->retired_next = r->retired;
	r->retired = c;
	reap_retired(r);
	pthread_mutex_unlock(&r->clients_lock);
}

static unsigned
client_ready(const struct trireme_client *c)
{
	return c->nlocal_done + rte_ring_count(c->done);
}

int
trireme_client_fd(struct trireme_client *c)
{
	c->fd_given = true;
	atomic_store(&c->waiting, true);
	return c->efd;
}

static void
release_polled(struct trireme_client *c)
{
	for (unsigned i = 0; i < c->npolled; i++)
		atomic_store_explicit(&c->polled[i]->state, RT_CMD_FREE, memory_order_relaxed);
	c->npolled = 0;
	while (c->oldest < c->next_seq &&
	       atomic_load_explicit(&c->cmds[c->oldest % c->window].state, memory_order_relaxed) ==
		       RT_CMD_FREE)
		c->oldest++;
}

/* A local get: answered now from the applied state (the weaker mode). */
static int
read_local_cmd(struct trireme_client *c, struct rt_cmd *cmd)
{
	int rc = trireme_read_local(c->t, c->rep->id, cmd->data, cmd->key_len, cmd->data,
				    TRIREME_KEY_MAX + TRIREME_VAL_MAX, &cmd->out_len);

	if (rc < 0)
		return rc;
	cmd->status = 0;
	cmd->found = rc == 0;
	if (!cmd->found)
		cmd->out_len = 0;
	atomic_store_explicit(&cmd->state, RT_CMD_DONE, memory_order_relaxed);
	c->local_done[c->nlocal_done++] = cmd;
	if (c->fd_given)
		client_wake(c);
	c->next_seq++;
	c->outstanding++;
	return 0;
}

int
trireme_submit(struct trireme_client *c, const struct trireme_op *op, uint64_t tag)
{
	struct rt_cmd *cmd;

	if (op == NULL || op->kind < TRIREME_SET || op->kind > TRIREME_DEL ||
	    (op->kind == TRIREME_GET && op->read_mode >= TRIREME_READ_MODES) ||
	    op->key_len > TRIREME_KEY_MAX || (op->key_len > 0 && op->key == NULL) ||
	    (op->kind == TRIREME_SET && (op->val_len > TRIREME_VAL_MAX ||
					 (op->val_len > 0 && op->val == NULL))))
		return -TRIREME_EINVAL;
	if (op->kind == TRIREME_SET &&
	    TR_WIRE_CMD_HDR_BYTES + op->key_len + op->val_len > c->rep->eng.cfg.batch_bytes_max)
		return -TRIREME_EINVAL; /* larger than a packet can carry */
	if (atomic_load_explicit(&c->rep->paused, memory_order_relaxed) || violated(c->rep) ||
	    atomic_load_explicit(&c->rep->down, memory_order_relaxed))
		return -TRIREME_ESTOPPED;
	release_polled(c);
	/* §8: never more than W sequences ahead of the oldest outstanding one. */
	if (c->next_seq - c->oldest >= c->window)
		return -TRIREME_EBUSY;
	cmd = &c->cmds[c->next_seq % c->window];
	if (atomic_load_explicit(&cmd->state, memory_order_relaxed) != RT_CMD_FREE)
		return -TRIREME_EBUSY;
	cmd->tag = tag;
	cmd->seq = c->next_seq;
	cmd->kind = op->kind;
	cmd->read_mode = op->kind == TRIREME_GET ? op->read_mode : 0;
	cmd->key_len = op->key_len;
	cmd->val_len = op->kind == TRIREME_SET ? op->val_len : 0;
	if (op->key_len > 0)
		memcpy(cmd->data, op->key, op->key_len);
	if (cmd->val_len > 0)
		memcpy(cmd->data + op->key_len, op->val, cmd->val_len);
	cmd->submit_ns = rt_now_ns(c->t);
	if (cmd->kind == TRIREME_GET && cmd->read_mode == TRIREME_READ_LOCAL)
		return read_local_cmd(c, cmd);
	atomic_store_explicit(&cmd->state, RT_CMD_QUEUED, memory_order_relaxed);
	atomic_store_explicit(&cmd->in_ring, true, memory_order_relaxed);
	if (rte_ring_mp_enqueue(c->rep->submit, cmd) != 0) {
		atomic_store_explicit(&cmd->in_ring, false, memory_order_relaxed);
		atomic_store_explicit(&cmd->state, RT_CMD_FREE, memory_order_relaxed);
		return -TRIREME_EBUSY;
	}
	c->next_seq++;
	c->outstanding++;
	return 0;
}

unsigned
trireme_poll(struct trireme_client *c, struct trireme_done *done, unsigned n)
{
	struct rt_cmd *cmds[RT_BURST];
	unsigned got;

	release_polled(c);
	if (c->fd_given) { /* reset before taking: a later completion sets it again */
		uint64_t v;
		ssize_t r = read(c->efd, &v, sizeof(v));

		(void)r;
	}
	if (n > RT_BURST)
		n = RT_BURST;
	got = n < c->nlocal_done ? n : c->nlocal_done;
	memcpy(cmds, c->local_done, got * sizeof(cmds[0]));
	c->nlocal_done -= got;
	memmove(c->local_done, c->local_done + got, c->nlocal_done * sizeof(cmds[0]));
	got += rte_ring_sc_dequeue_burst(c->done, (void **)cmds + got, n - got, NULL);
	for (unsigned i = 0; i < got; i++) {
		struct rt_cmd *cmd = cmds[i];

		done[i] = (struct trireme_done){
			.tag = cmd->tag,
			.status = cmd->status,
			.found = cmd->found,
			.val_len = cmd->out_len,
			.val = cmd->data,
		};
		c->polled[c->npolled++] = cmd;
	}
	c->outstanding -= got;
	if (c->fd_given && client_ready(c) > 0)
		client_wake(c); /* some left: the fd stays readable */
	return got;
}

unsigned
trireme_outstanding(const struct trireme_client *c)
{
	return c->outstanding;
}

/* Sleeps on the client's eventfd, offline for QSBR if the thread is online
 * (a sleeping reader must not hold up grace periods). */
static void
client_sleep(struct trireme_client *c, uint64_t ns)
{
	struct pollfd pfd = {.fd = c->efd, .events = POLLIN};
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
			      .tv_nsec = (long)(ns % 1000000000u)};
	bool online = urcu_qsbr_read_ongoing();
	uint64_t v;
	ssize_t n;

	if (online)
		urcu_qsbr_thread_offline();
	ppoll(&pfd, 1, &ts, NULL);
	if (online)
		urcu_qsbr_thread_online();
	n = read(c->efd, &v, sizeof(v)); /* reset: EFD_NONBLOCK */
	(void)n;
}

int
trireme_wait(struct trireme_client *c, uint64_t timeout_ns)
{
	uint64_t now = rt_now_ns(c->t);
	uint64_t deadline = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;

	for (;;) {
		unsigned n = client_ready(c);

		if (n > 0) {
			if (c->fd_given) /* client_sleep may have reset it */
				client_wake(c);
			return (int)n;
		}
		if (c->outstanding == 0)
			return 0;
		if (violated(c->rep))
			return -TRIREME_ESTOPPED;
		if (now >= deadline)
			return -TRIREME_ETIMEOUT;
		/* waiting before the look at the ring; on_complete does the
		 * opposite (seq_cst both), so no wakeup is lost. */
		atomic_store(&c->waiting, true);
		atomic_thread_fence(memory_order_seq_cst);
		if (client_ready(c) == 0 && !violated(c->rep))
			client_sleep(c, deadline - now);
		atomic_store(&c->waiting, c->fd_given);
		now = rt_now_ns(c->t);
	}
}

int
trireme_read_local(struct trireme *t, unsigned replica, const void *key, uint16_t key_len,
		   void *buf, uint32_t cap, uint32_t *val_len)
{
	struct rt_replica *r = local_replica(t, replica);
	struct tr_kvstore *kv;
	int rc;

	if (r == NULL || (key_len > 0 && key == NULL))
		return -TRIREME_EINVAL;
	urcu_qsbr_read_lock();
	kv = rcu_dereference(r->kv); /* an install swaps it (§12 T1) */
	rc = kv == NULL ? -3 : tr_kvstore_read(kv, key, key_len, buf, cap, val_len);
	urcu_qsbr_read_unlock();
	if (rc == -3)
		return -TRIREME_ESTOPPED;
	if (rc == -2)
		return -TRIREME_EINVAL;
	return rc == -1 ? 1 : 0;
}

void
trireme_thread_online(void)
{
	urcu_qsbr_register_thread();
}

void
trireme_thread_quiescent(void)
{
	urcu_qsbr_quiescent_state();
}

void
trireme_thread_offline(void)
{
	urcu_qsbr_unregister_thread();
}

int
trireme_replica_stats(struct trireme *t, unsigned replica, struct trireme_replica_stats *s)
{
	struct rt_replica *r = local_replica(t, replica);
	uint64_t now = rt_now_ns(t);

	if (r == NULL)
		return -TRIREME_EINVAL;
	memset(s, 0, sizeof(*s));
	s->applied = atomic_load(&r->applied);
	s->applied_cmds = __atomic_load_n(&r->sm.applied_cmds, __ATOMIC_RELAXED);
	s->kv_digest = __atomic_load_n(&r->sm.digest, __ATOMIC_RELAXED);
	s->keys = atomic_load(&r->keys);
	s->paused = atomic_load(&r->paused);
	s->down = atomic_load(&r->down);
	s->serving = !s->down && tr_replica_serving(&r->eng);
	s->incarnation = tr_replica_inc(&r->eng);
	s->snap_sent = __atomic_load_n(&r->snap.sent, __ATOMIC_RELAXED);
	s->snap_received = __atomic_load_n(&r->snap.received, __ATOMIC_RELAXED);
	s->snap_bytes_tx = __atomic_load_n(&r->snap.bytes_tx, __ATOMIC_RELAXED);
	s->snap_bytes_rx = __atomic_load_n(&r->snap.bytes_rx, __ATOMIC_RELAXED);
	s->snap_installs = __atomic_load_n(&r->snap.installs, __ATOMIC_RELAXED);
	s->auth_key_errors = atomic_load(&t->auth.key_errors);
	s->snap_failed = __atomic_load_n(&r->snap.failed, __ATOMIC_RELAXED) +
			 __atomic_load_n(&r->snap.discarded, __ATOMIC_RELAXED);
	for (unsigned c = 0; c < TR_COLUMNS; c++) {
		const struct rt_task *k = &r->tasks[c];
		const struct tr_column_stats *cs = &k->col->stats;

		s->known[c] = tr_known(&r->eng, c);
		for (unsigned q = 0; q < TR_REPLICAS; q++) {
			uint64_t heard = __atomic_load_n(&k->col->peers[q].heard_ns, __ATOMIC_RELAXED);

			s->peer_applied[q][c] = q == r->id ? atomic_load(&r->eng.shared.applied[c])
				: __atomic_load_n(&k->col->peers[q].applied, __ATOMIC_RELAXED);
			s->peer_live[q] |= q == r->id || (heard != 0 && now - heard < 1000000000ull);
		}
		s->too_old += __atomic_load_n(&cs->too_old_rx, __ATOMIC_RELAXED);
		for (unsigned i = 0; i < TR_IMPLAUSIBLE_COUNT; i++)
			s->drops_implausible +=
				__atomic_load_n(&cs->implausible[i], __ATOMIC_RELAXED);
		s->applied_prefix[c] = atomic_load(&r->eng.shared.applied[c]);
		s->committed += __atomic_load_n(&cs->committed, __ATOMIC_RELAXED);
		s->proposed += __atomic_load_n(&cs->proposed, __ATOMIC_RELAXED);
		s->retries += __atomic_load_n(&cs->retries, __ATOMIC_RELAXED);
		s->recoveries += __atomic_load_n(&cs->recoveries, __ATOMIC_RELAXED);
		s->fetches += __atomic_load_n(&cs->fetches, __ATOMIC_RELAXED);
		s->rejects += __atomic_load_n(&cs->rejects_sent, __ATOMIC_RELAXED);
		s->barrier_reads += __atomic_load_n(&cs->reads, __ATOMIC_RELAXED);
		s->read_barriers += __atomic_load_n(&cs->read_barriers, __ATOMIC_RELAXED);
		s->rx_pkts += __atomic_load_n(&k->rx_pkts, __ATOMIC_RELAXED);
		s->tx_pkts += __atomic_load_n(&k->tx_pkts, __ATOMIC_RELAXED);
		s->rx_msgs += __atomic_load_n(&k->rx_msgs_n, __ATOMIC_RELAXED);
		s->tx_msgs += __atomic_load_n(&k->tx_msgs_n, __ATOMIC_RELAXED);
		s->drops_fault += __atomic_load_n(&k->drops_fault, __ATOMIC_RELAXED);
		s->drops_malformed += __atomic_load_n(&k->drops_malformed, __ATOMIC_RELAXED);
		s->drops_auth += __atomic_load_n(&k->drops_auth, __ATOMIC_RELAXED);
		s->drops_tx_full += __atomic_load_n(&k->drops_tx_full, __ATOMIC_RELAXED) +
				    __atomic_load_n(&k->drops_nombuf, __ATOMIC_RELAXED);
		for (unsigned d = 1; d < TR_NET_DROP_COUNT; d++)
			s->drops_foreign += __atomic_load_n(&k->net.drops[d], __ATOMIC_RELAXED);
	}
	return 0;
}

int
trireme_replica_status(struct trireme *t, unsigned replica, struct trireme_replica_status *st)
{
	struct rt_replica *r = local_replica(t, replica);

	if (r == NULL || st == NULL)
		return -TRIREME_EINVAL;
	memset(st, 0, sizeof(*st));
	st->violation = violated(r);
	st->why = st->violation ? atomic_load(&r->eng.violation_why) : NULL;
	st->paused = atomic_load(&r->paused);
	return 0;
}
