/* SPDX-License-Identifier: MIT
 * Trireme runtime: mempool and port set-up (control path; may log).
 *
 * Mempool sizing (what must be able to be out of the pool at once):
 *
 *   n_mbufs >= sum over ports (nb_rxq * nb_rxd + nb_txq * nb_txd)
 *            + nb_lcores * (1.5 * cache + 2 * burst)
 *            + mbufs the application holds (in-flight/retransmit queues,
 *              for a ring mesh: the rings' capacity)
 *
 * rounded up to 2^k - 1. tr_mempool_size() computes it; the cache is
 * min(256, n/8). Memory: a dense pool costs about 2.4 KiB per mbuf, the
 * page-bound one (rte_pktmbuf_pool_create under --no-huge) about 4.1 KiB,
 * so give EAL -m >= 4.2 * n_mbufs / 1000 + 10 MiB to be safe either way.
 */
#ifndef TR_PORT_H
#define TR_PORT_H

#include <stddef.h>
#include <stdint.h>

#include <rte_mempool.h>
#include <rte_ring.h>

#include "types.h"

#define TR_MBUF_BUF_SIZE RTE_MBUF_DEFAULT_BUF_SIZE	/* 2048 + headroom */
#define TR_MEMPOOL_CACHE_MAX 256
#define TR_ERR_LEN 256				/* enough for any message here */

/* Ring mesh: queue q = peer * TR_COLUMNS + column on every port. */
#define TR_MESH_QUEUES (TR_REPLICAS * TR_COLUMNS)	/* 9 <= 16 */
#define TR_MESH_NAME_MAX 12

static inline uint16_t
tr_mesh_queue(uint8_t peer, uint8_t column)
{
	return (uint16_t)(peer * TR_COLUMNS + column);
}

/* The sizing formula above; result is 2^k - 1. */
unsigned int tr_mempool_size(unsigned int desc_total, unsigned int nb_lcores,
			     unsigned int burst, unsigned int held);

/* An mbuf pool of n_mbufs with data_room-byte buffers (0: TR_MBUF_BUF_SIZE,
 * headroom included). When IOVA is VA
 * (always under --no-huge) objects are packed across page boundaries
 * (RTE_MEMPOOL_F_NO_IOVA_CONTIG); otherwise, or if that fails, it falls back
 * to rte_pktmbuf_pool_create(). NULL with rte_errno set on failure. */
struct rte_mempool *tr_mempool_create(const char *name, unsigned int n_mbufs,
				      uint16_t data_room, int socket);

/* Configures port_id with nb_rxq/nb_txq queues of nb_desc descriptors
 * (adjusted to the device's limits; 0: device default), RX buffers from mp,
 * and starts it. 0, or a negative errno with a sentence in err. */
int tr_port_setup(uint16_t port_id, uint16_t nb_rxq, uint16_t nb_txq,
		  struct rte_mempool *mp, uint16_t nb_desc,
		  char *err, size_t err_len);

/* Steers the UDP ports port_base + q (network order ip: the replica's own
 * address) to RX queue q of a started port, for q < nb_queues, with rte_flow
 * rules (ETH / IPV4 dst / UDP dst -> QUEUE); everything else reaches queue 0.
 * 0, or a negative errno with the PMD's reason in err (rules made so far are
 * flushed): the caller falls back to one queue. */
int tr_port_steer(uint16_t port_id, uint32_t ip, uint16_t port_base, uint16_t nb_queues,
		  char *err, size_t err_len);

/*
 * In-process 3-replica cluster over rte_eth_from_rings ("pair" topology,
 * DPDK-COOKBOOK §1): ring[i][j][c] carries replica i -> j, column c (SP/SC).
 * Port i has 9 RX and 9 TX queues; queue tr_mesh_queue(j, c) is
 *   RX: ring[j][i][c] (from peer j),  TX: ring[i][j][c] (to peer j).
 * Self queues (j == i) are wired to the self-loop ring[i][i][c]: they work
 * but the runtime does not use them. Each queue must be used by one lcore.
 */
struct tr_ring_mesh {
	uint16_t port[TR_REPLICAS];
	struct rte_ring *ring[TR_REPLICAS][TR_REPLICAS][TR_COLUMNS];
	char name[TR_MESH_NAME_MAX + 1];
	uint8_t nb_ports;		/* ports created so far */
};

/* name: 1..TR_MESH_NAME_MAX chars, unique in the process; ports are named
 * net_ring_<name><i>, rings <name>_<i><j><c>. ring_size: a power of 2.
 * 0, or a negative errno with a sentence in err (nothing left behind). */
int tr_ring_mesh_create(struct tr_ring_mesh *mesh, const char *name,
			unsigned int ring_size, struct rte_mempool *mp,
			int socket, char *err, size_t err_len);

/* Stops and removes the ports, frees the mbufs left in the rings and the
 * rings. Safe on a partly created or already freed mesh. */
void tr_ring_mesh_free(struct tr_ring_mesh *mesh);

#endif
