/* SPDX-License-Identifier: MIT
 * Trireme runtime: mempool and port set-up (see port.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "port.h"

static void __rte_format_printf(3, 4)
set_err(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

unsigned int
tr_mempool_size(unsigned int desc_total, unsigned int nb_lcores,
		unsigned int burst, unsigned int held)
{
	uint64_t n = (uint64_t)desc_total + held +
		     (uint64_t)nb_lcores * (TR_MEMPOOL_CACHE_MAX * 3 / 2 +
					    2 * burst);

	/* 2^k - 1: the ring behind the pool is then exactly full. */
	if (n >= UINT32_MAX / 2)
		return UINT32_MAX / 2;
	return (unsigned int)rte_align64pow2(n + 1) - 1;
}

static unsigned int
pool_cache_size(unsigned int n)
{
	return RTE_MIN((unsigned int)TR_MEMPOOL_CACHE_MAX, n / 8);
}

/* rte_pktmbuf_pool_create() with RTE_MEMPOOL_F_NO_IOVA_CONTIG: without
 * hugepages the stock pool keeps each object inside one 4 KiB page (one
 * 2.3 KiB mbuf per page); this one packs them. */
static struct rte_mempool *
mempool_create_dense(const char *name, unsigned int n, uint16_t data_room, int socket)
{
	struct rte_pktmbuf_pool_private priv;
	struct rte_mempool *mp;
	int ret;

	memset(&priv, 0, sizeof(priv));
	priv.mbuf_data_room_size = data_room;
	priv.mbuf_priv_size = 0;

	mp = rte_mempool_create_empty(name, n,
				      sizeof(struct rte_mbuf) + data_room,
				      pool_cache_size(n), sizeof(priv), socket,
				      RTE_MEMPOOL_F_NO_IOVA_CONTIG);
	if (mp == NULL)
		return NULL;
	ret = rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(),
					 NULL);
	if (ret != 0)
		goto fail;
	rte_pktmbuf_pool_init(mp, &priv);
	ret = rte_mempool_populate_default(mp);
	if (ret < 0)
		goto fail;
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
fail:
	rte_mempool_free(mp);
	rte_errno = -ret;
	return NULL;
}

struct rte_mempool *
tr_mempool_create(const char *name, unsigned int n_mbufs, uint16_t data_room, int socket)
{
	struct rte_mempool *mp = NULL;

	if (data_room == 0)
		data_room = TR_MBUF_BUF_SIZE;

	/* Objects may straddle pages: only safe when IOVA is VA. */
	if (rte_eal_iova_mode() == RTE_IOVA_VA) {
		mp = mempool_create_dense(name, n_mbufs, data_room, socket);
		if (mp != NULL)
			return mp;
	}
	return rte_pktmbuf_pool_create(name, n_mbufs, pool_cache_size(n_mbufs),
				       0, data_room, socket);
}

int
tr_port_setup(uint16_t port_id, uint16_t nb_rxq, uint16_t nb_txq,
	      struct rte_mempool *mp, uint16_t nb_desc,
	      char *err, size_t err_len)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	char name[RTE_ETH_NAME_MAX_LEN] = "?";
	uint16_t nb_rxd = nb_desc, nb_txd = nb_desc, q;
	int socket, ret;

	if (!rte_eth_dev_is_valid_port(port_id)) {
		set_err(err, err_len,
			"port %u does not exist (%u ports; check --vdev, the "
			"device binding, and that EAL probed it)",
			port_id, rte_eth_dev_count_avail());
		return -ENODEV;
	}
	rte_eth_dev_get_name_by_port(port_id, name);
	if (mp == NULL || nb_rxq == 0 || nb_txq == 0) {
		set_err(err, err_len, "port %u (%s): needs a mempool and at "
			"least one RX and one TX queue", port_id, name);
		return -EINVAL;
	}
	ret = rte_eth_dev_info_get(port_id, &info);
	if (ret != 0) {
		set_err(err, err_len, "port %u (%s): cannot get device info: %s",
			port_id, name, rte_strerror(-ret));
		return ret;
	}
	if (nb_rxq > info.max_rx_queues || nb_txq > info.max_tx_queues) {
		set_err(err, err_len, "port %u (%s, driver %s) supports at most "
			"%u RX / %u TX queues, %u / %u asked",
			port_id, name, info.driver_name, info.max_rx_queues,
			info.max_tx_queues, nb_rxq, nb_txq);
		return -EINVAL;
	}

	memset(&conf, 0, sizeof(conf));
	ret = rte_eth_dev_configure(port_id, nb_rxq, nb_txq, &conf);
	if (ret != 0) {
		set_err(err, err_len, "port %u (%s): configure with %u RX / %u "
			"TX queues failed: %s%s", port_id, name, nb_rxq, nb_txq,
			rte_strerror(-ret),
			ret == -EBUSY ? " (port is started: stop it first)" : "");
		return ret;
	}
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nb_rxd, &nb_txd);
	if (ret != 0) {
		set_err(err, err_len, "port %u (%s): cannot fit %u descriptors "
			"to the device limits: %s", port_id, name, nb_desc,
			rte_strerror(-ret));
		return ret;
	}

	socket = rte_eth_dev_socket_id(port_id);
	if (socket < 0)
		socket = (int)rte_socket_id();
	for (q = 0; q < nb_rxq; q++) {
		ret = rte_eth_rx_queue_setup(port_id, q, nb_rxd,
					     (unsigned int)socket,
					     &info.default_rxconf, mp);
		if (ret != 0) {
			set_err(err, err_len, "port %u (%s): RX queue %u setup "
				"(%u descriptors, pool %s, data room %u) failed: "
				"%s", port_id, name, q, nb_rxd, mp->name,
				rte_pktmbuf_data_room_size(mp),
				rte_strerror(-ret));
			return ret;
		}
	}
	for (q = 0; q < nb_txq; q++) {
		ret = rte_eth_tx_queue_setup(port_id, q, nb_txd,
					     (unsigned int)socket,
					     &info.default_txconf);
		if (ret != 0) {
			set_err(err, err_len, "port %u (%s): TX queue %u setup "
				"(%u descriptors) failed: %s", port_id, name, q,
				nb_txd, rte_strerror(-ret));
			return ret;
		}
	}

	ret = rte_eth_dev_start(port_id);
	if (ret != 0) {
		set_err(err, err_len, "port %u (%s, driver %s): start failed: "
			"%s%s", port_id, name, info.driver_name,
			rte_strerror(-ret),
			strstr(info.driver_name, "memif") != NULL ?
			" (memif client: start the server first, then retry)" :
			"");
		return ret;
	}
	return 0;
}

int
tr_port_steer(uint16_t port_id, uint32_t ip, uint16_t port_base, uint16_t nb_queues,
	      char *err, size_t err_len)
{
	const struct rte_flow_attr attr = {.ingress = 1};
	struct rte_flow_error ferr;
	uint16_t q;

	for (q = 0; q < nb_queues; q++) {
		struct rte_flow_item_ipv4 ip_spec = {.hdr.dst_addr = ip};
		struct rte_flow_item_ipv4 ip_mask = {.hdr.dst_addr = RTE_BE32(0xffffffff)};
		struct rte_flow_item_udp udp_spec = {
			.hdr.dst_port = rte_cpu_to_be_16((uint16_t)(port_base + q))};
		struct rte_flow_item_udp udp_mask = {.hdr.dst_port = RTE_BE16(0xffff)};
		const struct rte_flow_item pattern[] = {
			{.type = RTE_FLOW_ITEM_TYPE_ETH},
			{.type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip_spec, .mask = &ip_mask},
			{.type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &udp_spec, .mask = &udp_mask},
			{.type = RTE_FLOW_ITEM_TYPE_END},
		};
		struct rte_flow_action_queue queue = {.index = q};
		const struct rte_flow_action actions[] = {
			{.type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &queue},
			{.type = RTE_FLOW_ACTION_TYPE_END},
		};

		memset(&ferr, 0, sizeof(ferr));
		if (rte_flow_validate(port_id, &attr, pattern, actions, &ferr) != 0 ||
		    rte_flow_create(port_id, &attr, pattern, actions, &ferr) == NULL) {
			set_err(err, err_len, "rte_flow cannot steer UDP port %u to queue %u: %s",
				port_base + q, q,
				ferr.message != NULL ? ferr.message : rte_strerror(rte_errno));
			rte_flow_flush(port_id, &ferr);
			return -ENOTSUP;
		}
	}
	return 0;
}

static void
ring_drain_free(struct rte_ring *r)
{
	void *objs[32];
	unsigned int n, i;

	while ((n = rte_ring_dequeue_burst(r, objs, RTE_DIM(objs), NULL)) > 0)
		for (i = 0; i < n; i++)
			rte_pktmbuf_free(objs[i]);
	rte_ring_free(r);
}

static void
port_remove(uint16_t port_id)
{
	struct rte_eth_dev_info info;
	struct rte_device *dev = NULL;

	if (!rte_eth_dev_is_valid_port(port_id))
		return;
	if (rte_eth_dev_info_get(port_id, &info) == 0)
		dev = info.device;
	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
	/* Remove the vdev too, or its name cannot be used again. */
	if (dev != NULL)
		rte_dev_remove(dev);
}

void
tr_ring_mesh_free(struct tr_ring_mesh *mesh)
{
	unsigned int i, j, c;

	for (i = 0; i < mesh->nb_ports; i++)
		port_remove(mesh->port[i]);
	mesh->nb_ports = 0;
	for (i = 0; i < TR_REPLICAS; i++)
		for (j = 0; j < TR_REPLICAS; j++)
			for (c = 0; c < TR_COLUMNS; c++) {
				if (mesh->ring[i][j][c] != NULL)
					ring_drain_free(mesh->ring[i][j][c]);
				mesh->ring[i][j][c] = NULL;
			}
}

int
tr_ring_mesh_create(struct tr_ring_mesh *mesh, const char *name,
		    unsigned int ring_size, struct rte_mempool *mp,
		    int socket, char *err, size_t err_len)
{
	struct rte_ring *rx[TR_MESH_QUEUES], *tx[TR_MESH_QUEUES];
	char rname[RTE_RING_NAMESIZE], pname[TR_MESH_NAME_MAX + 4];
	unsigned int i, j, c;
	int ret;

	memset(mesh, 0, sizeof(*mesh));
	if (name == NULL || name[0] == '\0' ||
	    strlen(name) > TR_MESH_NAME_MAX) {
		set_err(err, err_len, "ring mesh name must be 1..%u characters",
			TR_MESH_NAME_MAX);
		return -EINVAL;
	}
	if (!rte_is_power_of_2(ring_size) || ring_size < 2) {
		set_err(err, err_len, "ring mesh %s: ring size %u is not a power "
			"of 2 >= 2", name, ring_size);
		return -EINVAL;
	}
	snprintf(mesh->name, sizeof(mesh->name), "%s", name);

	/* ring[i][j][c]: replica i -> replica j, column c */
	for (i = 0; i < TR_REPLICAS; i++)
		for (j = 0; j < TR_REPLICAS; j++)
			for (c = 0; c < TR_COLUMNS; c++) {
				snprintf(rname, sizeof(rname), "%s_%u%u%u",
					 name, i, j, c);
				mesh->ring[i][j][c] = rte_ring_create(rname,
					ring_size, socket,
					RING_F_SP_ENQ | RING_F_SC_DEQ);
				if (mesh->ring[i][j][c] == NULL) {
					ret = -rte_errno;
					set_err(err, err_len, "ring mesh %s: "
						"creating ring %s (%u slots) "
						"failed: %s", name, rname,
						ring_size, rte_strerror(-ret));
					goto fail;
				}
			}

	for (i = 0; i < TR_REPLICAS; i++) {
		for (j = 0; j < TR_REPLICAS; j++)
			for (c = 0; c < TR_COLUMNS; c++) {
				rx[tr_mesh_queue(j, c)] = mesh->ring[j][i][c];
				tx[tr_mesh_queue(j, c)] = mesh->ring[i][j][c];
			}
		snprintf(pname, sizeof(pname), "%s%u", name, i);
		ret = rte_eth_from_rings(pname, rx, TR_MESH_QUEUES, tx,
					 TR_MESH_QUEUES,
					 socket < 0 ? rte_socket_id() :
						      (unsigned int)socket);
		if (ret < 0) {
			ret = rte_errno != 0 ? -rte_errno : -EINVAL;
			set_err(err, err_len, "ring mesh %s: rte_eth_from_rings"
				"(net_ring_%s) failed: %s (name in use? linked "
				"with -lrte_net_ring?)", name, pname,
				rte_strerror(-ret));
			goto fail;
		}
		mesh->port[i] = (uint16_t)ret;
		mesh->nb_ports = (uint8_t)(i + 1);
		ret = tr_port_setup(mesh->port[i], TR_MESH_QUEUES,
				    TR_MESH_QUEUES, mp, (uint16_t)ring_size,
				    err, err_len);
		if (ret != 0)
			goto fail;
	}
	return 0;
fail:
	tr_ring_mesh_free(mesh);
	return ret;
}
