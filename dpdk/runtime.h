/* SPDX-License-Identifier: MIT
 * Trireme runtime internals: replicas, their column tasks and appliers.
 */
#ifndef TR_RUNTIME_H
#define TR_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "kvstore.h"
#include "mmp3.h"
#include "net.h"
#include "trireme.h"
#include "wire.h"

#define RT_BURST 32
#define RT_OUT_MSGS 512
#define RT_SUBMIT_RING 4096
#define RT_DELAY_MAX 1024
#define RT_LAT_BUCKETS 40

struct rt_replica;
struct trireme;

/* A submitted command: lives in its client's slot array (index seq % W). */
struct rt_cmd {
	struct trireme_client *client;
	uint64_t tag;
	uint64_t seq;
	uint64_t submit_ns;
	uint8_t kind;
	uint8_t read_mode;     /* get: enum trireme_read_mode */
	_Atomic uint8_t state; /* RT_CMD_FREE, _QUEUED, _DONE */
	_Atomic bool in_ring;  /* in the submit ring or a task's stash: the
				* worker still reads it (cleared once taken) */
	uint16_t key_len;
	uint32_t val_len;
	int status;
	bool found;
	uint32_t out_len;
	uint8_t *data; /* key then value; a get's result replaces them */
};

enum { RT_CMD_FREE = 0, RT_CMD_QUEUED = 1, RT_CMD_DONE = 2 };

struct trireme_client {
	struct trireme *t;
	struct rt_replica *rep;
	uint64_t id;          /* client_id_base + replica * clients_max + slot */
	unsigned window;
	uint64_t next_seq;
	uint64_t oldest;      /* oldest outstanding seq */
	unsigned outstanding;
	struct rt_cmd *cmds;  /* window of them */
	struct rte_ring *done; /* SPSC: applier -> client */
	struct rt_cmd **local_done; /* local gets, answered in submit (window) */
	unsigned nlocal_done;
	struct rt_cmd *polled[RT_BURST]; /* freed by the next poll */
	unsigned npolled;
	int efd;               /* eventfd: the applier wakes trireme_wait */
	_Atomic bool waiting;  /* trireme_wait is asleep on efd, or the
				* embedder polls it (fd_given) */
	bool fd_given;         /* trireme_client_fd: every completion wakes */
	struct trireme_client *retired_next; /* freed, the worker still holds it */
};

struct rt_delayed {
	struct rte_mbuf *m;
	uint64_t due_ns;
	uint16_t queue;
};

/* Fault probabilities as 32-bit thresholds (p * 2^32), set at run time. */
struct rt_faults {
	_Atomic uint32_t drop_tx, drop_rx, dup_tx, delay_tx;
	_Atomic uint32_t delay_ns;
};

/* One column of one replica, polled by one lcore. */
struct rt_task {
	struct rt_replica *rep;
	unsigned column;
	struct tr_column *col;
	struct tr_out out;
	struct tr_msg msgs[RT_OUT_MSGS];
	struct tr_msg rx_msgs[TR_FRAME_MSGS_MAX];
	uint64_t deadline_ns;
	/* tx: an open frame per peer, then a burst per peer */
	struct rte_mbuf *open[TR_REPLICAS];
	struct tr_frame_writer fw[TR_REPLICAS];
	struct rte_mbuf *tx[TR_REPLICAS][RT_BURST];
	unsigned ntx[TR_REPLICAS];
	struct rt_cmd *stash[RT_BURST]; /* commands the engine's queue refused */
	unsigned nstash;
	struct rt_delayed delayed[RT_DELAY_MAX];
	unsigned delayed_head, delayed_len;
	uint64_t rng;
	struct tr_net_stats net;
	uint64_t rx_pkts, tx_pkts, rx_msgs_n, tx_msgs_n;
	uint64_t drops_fault, drops_malformed, drops_tx_full, drops_nombuf;
} __rte_cache_aligned;

struct rt_replica {
	struct trireme *t;
	unsigned id;
	bool local;
	struct tr_replica eng;
	void *eng_mem;
	struct tr_kvstore *kv;
	struct tr_sm sm;
	struct tr_client_rec *client_recs;
	struct tr_applier applier;
	pthread_t applier_thread;
	bool applier_started;
	_Atomic uint64_t applied;
	uint64_t completions;  /* applier only: clients' commands answered */
	unsigned applier_idle; /* applier only: back-off of its own thread */
	uint64_t lat_hist[RT_LAT_BUCKETS]; /* submit -> completion, log2 ns (applier) */
	_Atomic bool paused;
	uint16_t port;
	struct rte_mempool *pool;
	struct tr_net_conf net;
	struct tr_wire_limits limits;
	struct rte_ring *submit; /* MPSC: clients -> the owner column's task */
	struct rt_faults faults;
	struct rt_task tasks[TR_COLUMNS];
	/* Clients by slot (id % clients_max): published for the applier
	 * (QSBR readers); a freed slot is reused, its sequences going on
	 * (slot_seq) so that (client id, seq) stays unique for §8. */
	struct trireme_client **clients;
	uint64_t *slot_seq;
	uint32_t clients_max;
	uint64_t client_id_base; /* trireme_conf's */
	struct trireme_client *retired; /* freed with commands in the ring */
	pthread_mutex_t clients_lock;
	bool violation_logged; /* applier only */
};

struct rt_lcore {
	struct trireme *t;
	unsigned lcore;
	struct rt_task *tasks[TR_REPLICAS * TR_COLUMNS];
	unsigned ntasks;
	struct rt_replica *appliers[TR_REPLICAS]; /* applier_threads off */
	unsigned nappliers;
	bool launched;
};

struct trireme {
	struct trireme_conf conf;
	struct rt_replica reps[TR_REPLICAS];
	struct rt_lcore lcores[64];
	unsigned nlcores;
	_Atomic bool stop;
	uint16_t ports[TR_REPLICAS];
	bool ring_mesh;
	double ns_per_cycle;
};

uint64_t rt_now_ns(const struct trireme *t);
/* One applier pass on a replica (any thread registered with QSBR): the
 * instances applied plus the clients' commands answered (0: idle). */
unsigned rt_applier_step(struct rt_replica *r);
/* Idle back-off (pause, yield, sleep); the _qsbr form goes offline while it
 * sleeps, for threads registered with liburcu QSBR. */
void rt_idle(unsigned *idle);
void rt_idle_qsbr(unsigned *idle);
int rt_worker_main(void *arg);

#endif
