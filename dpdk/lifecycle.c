/* SPDX-License-Identifier: MIT
 * Trireme's lifecycle: configuration, version and errors, trireme_start
 * (replicas, ports, placement on lcores, threads) and trireme_stop.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>

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

/* The port must carry a whole frame of the MTU. */
static int
port_check_mtu(uint16_t port, uint16_t mtu, char *err, size_t len)
{
	struct rte_eth_dev_info info;
	uint32_t frame = RTE_ETHER_HDR_LEN + (uint32_t)mtu;

	if (rte_eth_dev_info_get(port, &info) != 0 || info.max_rx_pktlen >= frame)
		return 0;
	return rt_fail(err, len, -TRIREME_EINVAL,
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

int
rt_fail(char *err, size_t len, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (err != NULL && len > 0)
		vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return code;
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
	struct tr_client_rec *client_recs;
	char name[RTE_RING_NAMESIZE];

	r->t = t;
	r->id = id;
	r->local = true;
	tr_config_default(&cfg, (uint8_t)id, conf->rtt_ns);
	cfg.cluster_id = conf->cluster_id != 0 ? conf->cluster_id : 0x7472;
	cfg.log_slots_max = conf->log_slots_max;
	cfg.inflight_max = conf->inflight_max;
	cfg.batch_cmds_max = conf->batch_cmds_max;
	cfg.batch_bytes_max = batch_bytes_for(conf);
	cfg.pending_bytes_max = 1u << 20;
	cfg.fetch_span_max = 16;
	/* T4: half the ring lasts a snapshot cycle (request, copy, transfer,
	 * load, install: about half a second here) twice over; the engine
	 * slows the pace further while a catch-up takes longer. */
	cfg.catchup_ns = 1000000000ull;
	cfg.seed = conf->seed * 3 + id;
	while (recs < 4 * TR_REPLICAS * conf->clients_max)
		recs *= 2;
	cfg.sm_keys_max = conf->keys_max; /* the cluster's, checked through STATUS */
	cfg.sm_clients_max = recs;
	cfg.join = conf->join; /* J: starts as an amnesiac that joins its peers */
	if ((why = tr_config_check(&cfg)) != NULL)
		return rt_fail(err, len, -TRIREME_EINVAL, "replica %u: %s", id, why);
	bytes = tr_replica_mem_bytes(&cfg);
	r->eng_mem = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
	if (r->eng_mem == NULL)
		return rt_fail(err, len, -TRIREME_ENOMEM,
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

	client_recs = calloc(recs, sizeof(*client_recs));
	r->clients_max = conf->clients_max;
	r->client_id_base = conf->client_id_base;
	r->clients = calloc(conf->clients_max, sizeof(*r->clients));
	r->slot_seq = calloc(conf->clients_max, sizeof(*r->slot_seq));
	atomic_init(&r->seq_ceiling, UINT64_MAX);
	if (client_recs == NULL || r->clients == NULL || r->slot_seq == NULL ||
	    rt_sm_open(r, client_recs, recs) != 0) {
		free(client_recs);
		return rt_fail(err, len, -TRIREME_ENOMEM, "out of memory setting up replica %u%s",
			       id, t->sm != NULL ? " (or the state machine's create failed)" : "");
	}
	pthread_mutex_init(&r->clients_lock, NULL);
	rt_applier_init(r);
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		r->tasks[c].rep = r;
	if (conf->data_dir != NULL) { /* §12 S2: from the directory, or J */
		int rc = rt_durable_start(r, &cfg, rt_now_ns(t), err, len);

		if (rc != 0)
			return rc;
		r->cfg = cfg;
	}

	snprintf(name, sizeof(name), "tr_sub%u_%p", id, (void *)t);
	r->submit = rte_ring_create(name, RT_SUBMIT_RING, rte_socket_id(), RING_F_SC_DEQ);
	if (r->submit == NULL)
		return rt_fail(err, len, -TRIREME_ENOMEM, "cannot create the submit ring: %s",
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
				return rt_fail(err, len, -TRIREME_ELCORE,
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
		return rt_fail(err, len, -TRIREME_ELCORE,
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
			if (t->ring_mesh || t->reps[r].rxq > 1 || c == TR_COLUMNS - 1)
				n++;
		}
		if (!t->conf.applier_threads) {
			struct rt_lcore *l = &t->lcores[n++ % t->nlcores];

			l->applier_at[l->nappliers] = l->ntasks; /* right after its columns */
			l->appliers[l->nappliers++] = &t->reps[r];
		}
	}
	return 0;
}

/* Replica mode: a queue per column when the worker lcores allow one per
 * column, else one. */
static uint16_t
replica_queues(const struct trireme_conf *conf)
{
	unsigned workers = conf->lcore_count > 0 ? conf->lcore_count : rte_lcore_count() - 1;

	return workers >= TR_COLUMNS ? TR_COLUMNS : 1;
}

/* Sets the port up with *nq queues, the UDP port of column c steered to
 * queue c by rte_flow; where the PMD cannot, falls back to one queue (and
 * says so in the log). */
static int
port_setup_steered(const struct trireme_conf *conf, struct rte_mempool *pool, uint16_t *nq,
		   char *msg, size_t len)
{
	int rc;

	if (*nq > 1) {
		rc = tr_port_setup(conf->port_id, *nq, *nq, pool, 0, msg, len);
		if (rc == 0)
			rc = tr_port_steer(conf->port_id,
					   rte_cpu_to_be_32(conf->peers[conf->replica_id].ip),
					   conf->udp_port_base, *nq, msg, len);
		if (rc == 0) {
			rte_log(RTE_LOG_NOTICE, tr_logtype,
				"trireme: port %u: %u RX/TX queues, UDP ports %u..%u steered to "
				"their column's queue by rte_flow\n", conf->port_id, *nq,
				conf->udp_port_base, conf->udp_port_base + *nq - 1);
			return 0;
		}
		rte_log(RTE_LOG_NOTICE, tr_logtype,
			"trireme: port %u: no queue per column (%s); one RX/TX queue, its "
			"columns on one lcore\n", conf->port_id, msg);
		rte_eth_dev_stop(conf->port_id);
		*nq = 1;
	}
	return tr_port_setup(conf->port_id, 1, 1, pool, 0, msg, len);
}

static struct tr_ring_mesh mesh;
static _Atomic bool instance_running;


/* conf.client_id_base 0: a random base for this process, below 2^63 and a
 * multiple of a power of two above one process's ids (3 * clients_max), so that
 * no two processes share a client id: a shared id takes over the other's
 * sequences (§8), and its writes are answered as duplicates without being
 * applied. A replica with a data directory keeps the base it recorded there
 * instead (durable.c, client_ids). */
static uint64_t
client_id_nonce(uint32_t clients_max)
{
	uint64_t nonce = 0, span = (uint64_t)TR_REPLICAS * clients_max, base;
	unsigned shift = 0;

	if (getrandom(&nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce)) {
		uint64_t seed[2] = {rte_rdtsc(), (uint64_t)getpid()};

		nonce = tr_kv_key_hash((const uint8_t *)seed, sizeof(seed));
	}
	while (shift < 62 && (UINT64_C(1) << shift) < span)
		shift++;
	base = (nonce >> (shift + 1)) << shift;
	return base != 0 ? base : UINT64_C(1) << shift;
}

int
trireme_start(const struct trireme_conf *conf, struct trireme **out, char *err, size_t len)
{
	return trireme_start_sm(conf, NULL, NULL, out, err, len);
}

int
trireme_start_sm(const struct trireme_conf *conf, const struct trireme_sm_ops *sm, void *sm_arg,
		 struct trireme **out, char *err, size_t len)
{
	struct trireme *t;
	struct rte_mempool *pool = NULL;
	char msg[TR_ERR_LEN];
	int rc;

	*out = NULL;
	if (rte_lcore_count() == 0) /* EAL's lcore table is empty before rte_eal_init */
		return rt_fail(err, len, -TRIREME_ENOEAL,
			       "EAL not initialised: call rte_eal_init first (Trireme runs on its "
			       "lcores and memory)");
	if (conf->mode != TRIREME_CLUSTER && conf->mode != TRIREME_REPLICA)
		return rt_fail(err, len, -TRIREME_EINVAL, "unknown mode");
	if (conf->mode == TRIREME_REPLICA && conf->replica_id >= TR_REPLICAS)
		return rt_fail(err, len, -TRIREME_EINVAL, "replica id must be 0, 1 or 2");
	if (conf->clients_max == 0 || conf->keys_max == 0)
		return rt_fail(err, len, -TRIREME_EINVAL, "clients_max and keys_max must be > 0");
	if (sm != NULL && tr_usm_ops_check(sm) != NULL)
		return rt_fail(err, len, -TRIREME_EINVAL, "%s", tr_usm_ops_check(sm));
	if (conf->client_id_base > RT_REMOTE_ID_BIT - (uint64_t)TR_REPLICAS * conf->clients_max)
		return rt_fail(err, len, -TRIREME_EINVAL,
			       "client_id_base too large for clients_max: local client ids stay "
			       "below 2^63 (the ids above are remote clients')");
	if (conf->mtu < TRIREME_MTU_MIN || conf->mtu > TRIREME_MTU_MAX)
		return rt_fail(err, len, -TRIREME_EINVAL, "mtu %u is not in %u..%u", conf->mtu,
			       TRIREME_MTU_MIN, TRIREME_MTU_MAX);
	if (conf->serve_clients > conf->clients_max)
		return rt_fail(err, len, -TRIREME_EINVAL,
			       "serve_clients %u is more than clients_max %u: raise clients_max",
			       conf->serve_clients, conf->clients_max);
	for (size_t i = 0; i < sizeof(conf->reserved); i++)
		if (conf->reserved[i] != 0 || (i < sizeof(conf->reserved_pad) &&
					       conf->reserved_pad[i] != 0))
			return rt_fail(err, len, -TRIREME_EINVAL,
				       "conf.reserved is not zero: start from trireme_conf_default");
	if (conf->sync > TRIREME_SYNC_NONE)
		return rt_fail(err, len, -TRIREME_EINVAL, "conf.sync %u is not a trireme_sync",
			       conf->sync);
	if (conf->idle > TRIREME_IDLE_POLL)
		return rt_fail(err, len, -TRIREME_EINVAL,
			       "conf.idle %u is not a trireme_idle: TRIREME_IDLE_BACKOFF (0), "
			       "TRIREME_IDLE_YIELD (1) or TRIREME_IDLE_POLL (2)", conf->idle);
	if (conf->data_dir != NULL && (conf->data_dir[0] == 0 || strlen(conf->data_dir) > 4000))
		return rt_fail(err, len, -TRIREME_EINVAL, "conf.data_dir is empty or too long");
	if (atomic_exchange(&instance_running, true))
		return rt_fail(err, len, -TRIREME_EALREADY,
			       "already started: one Trireme instance per process; trireme_stop "
			       "it before starting another");
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		atomic_store(&instance_running, false);
		return rt_fail(err, len, -TRIREME_ENOMEM, "out of memory");
	}
	t->conf = *conf;
	t->client_id_random = conf->client_id_base == 0;
	if (t->client_id_random)
		t->conf.client_id_base = client_id_nonce(conf->clients_max);
	if (conf->data_dir != NULL && (t->conf.data_dir = strdup(conf->data_dir)) == NULL) {
		free(t);
		atomic_store(&instance_running, false);
		return rt_fail(err, len, -TRIREME_ENOMEM, "out of memory");
	}
	t->sm = sm;
	t->sm_arg = sm_arg;
	t->ns_per_cycle = 1e9 / (double)rte_get_tsc_hz();
	atomic_init(&t->stop, false);
	if ((rc = rt_auth_init(&t->auth, conf)) != 0) {
		rc = rt_fail(err, len, rc, "cannot set up authentication: %s", trireme_strerror(rc));
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
			rc = rt_fail(err, len, -TRIREME_ENOMEM,
				     "cannot create a pool of %u mbufs (%s); give EAL more memory, e.g. -m 256",
				     conf->mbufs * TR_REPLICAS, rte_strerror(rte_errno));
			goto out_free;
		}
		rc = tr_ring_mesh_create(&mesh, "trm", 1024, pool, rte_socket_id(), msg, sizeof(msg));
		if (rc != 0) {
			rc = rt_fail(err, len, -TRIREME_ENODEV, "cannot create the ring ports: %s", msg);
			goto out_free;
		}
		t->ring_mesh = true;
		for (unsigned i = 0; i < TR_REPLICAS; i++) {
			net_conf_init(t, &t->reps[i].net);
			t->reps[i].port = mesh.port[i];
			t->reps[i].pool = pool;
			if ((rc = replica_init(t, i, err, len)) != 0)
				goto out_free;
			for (unsigned col = 0; col < TR_COLUMNS; col++)
				for (unsigned j = 0; j < TR_REPLICAS; j++)
					t->reps[i].tasks[col].rx_ring[j] =
						j == i ? NULL : mesh.ring[j][i][col];
		}
	} else {
		unsigned id = conf->replica_id;

		if (!rte_eth_dev_is_valid_port(conf->port_id)) {
			rc = rt_fail(err, len, -TRIREME_ENODEV,
				     "no DPDK port %u: add a device to the EAL arguments, e.g. "
				     "--vdev=net_af_packet0,iface=veth0", conf->port_id);
			goto out_free;
		}
		uint16_t nq = replica_queues(conf);
		int socket = rte_eth_dev_socket_id(conf->port_id);

		if (socket < 0)
			socket = (int)rte_socket_id();
		/* On the port's NUMA node; room for every queue's descriptors. */
		pool = tr_mempool_create("tr_pool", conf->mbufs * nq, mbuf_room_for(conf->mtu),
					 socket);
		if (pool == NULL) {
			rc = rt_fail(err, len, -TRIREME_ENOMEM,
				     "cannot create a pool of %u mbufs (%s); give EAL more memory, e.g. -m 256",
				     conf->mbufs * nq, rte_strerror(rte_errno));
			goto out_free;
		}
		rc = port_setup_steered(conf, pool, &nq, msg, sizeof(msg));
		t->reps[id].rxq = nq;
		if (rc != 0) {
			rc = rt_fail(err, len, -TRIREME_ENODEV, "port %u: %s", conf->port_id, msg);
			goto out_free;
		}
		if ((rc = port_check_mtu(conf->port_id, conf->mtu, err, len)) != 0)
			goto out_free;
		net_conf_init(t, &t->reps[id].net);
		if (tr_net_conf_check(&t->reps[id].net) != 0) {
			rc = rt_fail(err, len, -TRIREME_EINVAL,
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
		if (pthread_create(&t->reps[r].applier_thread, NULL, rt_applier_main, &t->reps[r]) != 0) {
			rc = rt_fail(err, len, -TRIREME_EINTERNAL, "cannot start the applier thread");
			goto out_free;
		}
		t->reps[r].applier_started = true;
	}
	if ((rc = rt_remote_start(t, err, len)) != 0)
		goto out_free;
	for (unsigned i = 0; i < t->nlcores; i++) {
		if (rte_eal_remote_launch(rt_worker_main, &t->lcores[i], t->lcores[i].lcore) != 0) {
			rc = rt_fail(err, len, -TRIREME_ELCORE, "lcore %u is busy", t->lcores[i].lcore);
			goto out_free;
		}
		t->lcores[i].launched = true;
	}
	rt_telemetry_start(t);
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
	rt_telemetry_stop(t);
	atomic_store(&t->stop, true);
	rt_remote_stop(t);
	for (unsigned i = 0; i < t->nlcores; i++)
		if (t->lcores[i].launched)
			rte_eal_wait_lcore(t->lcores[i].lcore);
	for (unsigned r = 0; r < TR_REPLICAS; r++) {
		struct rt_replica *rep = &t->reps[r];

		if (rep->applier_started)
			pthread_join(rep->applier_thread, NULL);
		rt_remote_free(rep->remote);
		rep->remote = NULL;
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
				rt_client_destroy(rep->clients[i]);
		while (rep->retired != NULL) {
			struct trireme_client *c = rep->retired;

			rep->retired = c->retired_next;
			rt_client_destroy(c);
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
			rt_task_drop_held(k);
		}
		if (rep->kv != NULL)
			tr_kvstore_free(rep->kv);
		tr_usm_free(rep->usm);
		rte_ring_free(rep->submit);
		free(rep->client_recs);
		free(rep->clients);
		free(rep->slot_seq);
		free(rep->eng_mem);
		rt_durable_close(rep);
	}
	rte_mempool_free(pool);
	rt_auth_free(&t->auth);
	free((char *)t->conf.data_dir);
	free(t);
	atomic_store(&instance_running, false);
}
