/* SPDX-License-Identifier: MIT
 * Trireme runtime internals: replicas, their column tasks and appliers, shared
 * by the files of dpdk/ (lifecycle, client, applier, control, telemetry,
 * worker, heal, clock).
 */
#ifndef TR_RUNTIME_H
#define TR_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "auth.h"
#include "datadir.h"
#include "kvstore.h"
#include "mmp3.h"
#include "net.h"
#include "snapshot.h"
#include "trireme.h"
#include "trireme_proto.h"
#include "usm.h"
#include "wal.h"
#include "wire.h"

#define RT_BURST 32
#define RT_OUT_MSGS 512
#define RT_SUBMIT_RING 4096
#define RT_DELAY_MAX 1024
#define RT_LAT_BUCKETS 40
/* Large commands staged at once by every replica's state machine (issue
 * 16). Every replica must stage alike (a part refused FULL on one and
 * staged on another would split their states), so it is a constant, not a
 * setting. A client stages one large command at a time, and 8 writers of
 * 1 MiB values already fill a link; a ninth gets -TRIREME_EFULL and
 * retries. The memory is mapped (tr_stages_new): 9 MiB of address space
 * per state machine, resident once a stage has held bytes there (or a
 * snapshot was loaded: tr_sm_clients_decode clears every stage). */
#define RT_LARGE_STAGES 8

/* §8 across process starts (durable.c): the client sequences a superblock
 * write grants at once, and how far ahead of a client's next one a submit
 * asks for them (a large op's parts, 2,700 at most, come after its submit). */
#define RT_SEQ_LEASE (UINT64_C(1) << 32)
#define RT_SEQ_AHEAD (UINT64_C(1) << 16)

struct rt_replica;
struct trireme;

/* A submitted command: lives in its client's slot array (index seq % W). */
/* A client's command. Cache-line aligned: the client fills one command
 * while the applier answers its neighbour. */
struct rt_cmd {
	struct trireme_client *client;
	uint64_t tag;
	uint64_t seq;
	/* §8 identity for a remote client's command (rt_client_submit_as): its
	 * id, seq and W travel instead of the client's; origin_id 0: none. */
	uint64_t origin_id, origin_seq;
	uint8_t origin_window;
	uint64_t submit_ns;
	uint8_t kind;
	uint8_t read_mode;     /* get: enum trireme_read_mode */
	_Atomic uint8_t state; /* RT_CMD_FREE, _QUEUED, _DONE */
	_Atomic bool in_ring;  /* in the submit ring or a task's stash: the
				* worker still reads it (cleared once taken) */
	bool held;             /* answered, held for a sync (applier only) */
	uint16_t key_len;
	uint32_t val_len;
	int status;
	bool found;
	uint8_t st;            /* the engine's answer (enum tr_status; a part's
				* STAGED or DUPLICATE matter to its large op) */
	uint32_t out_len;
	uint8_t *data; /* key then value; a get's result replaces them */
	uint8_t *big;  /* a result longer than the cell (a value up to
			* TRIREME_LARGE_MAX): malloc'd by whoever answers,
			* freed when the client releases the command */
} __rte_cache_aligned;

#define RT_WAKE_MAX 64

enum { RT_CMD_FREE = 0, RT_CMD_QUEUED = 1, RT_CMD_DONE = 2 };

/* A large set or cmd (issue 16) of a client, carried as TR_OP_PART commands
 * in the client's window (the client thread's own). */
struct rt_large {
	bool on;              /* in flight: no other command may be submitted */
	uint8_t op;           /* TR_OP_SET or TR_OP_CMD */
	uint16_t key_len;
	uint32_t val_len;
	uint64_t tag, submit_ns;
	uint64_t stage;       /* the seq of its first part */
	uint8_t *buf;         /* its key then value, copied (cap bytes) */
	size_t cap;
	uint32_t total, sent; /* bytes of the staged whole, sent in parts */
	uint32_t chunk;       /* whole bytes per part */
	unsigned inflight;    /* parts not answered yet */
	int err;              /* the first part's error, or 0 */
	bool dup;             /* a part was applied before (DUPLICATE) */
	bool done;            /* every part answered: final is the completion */
	struct rt_cmd *final; /* the part whose answer is the command's */
};

/* Three groups of fields, a cache line apart, so that the client thread's
 * writes never evict what the applier reads (and the other way round). */
struct trireme_client {
	/* Set at creation; read by the client, the owner task, the applier. */
	struct trireme *t;
	struct rt_replica *rep;
	uint64_t id;          /* client_id_base + replica * clients_max + slot
			       * (rt_client_id), read by its owner task */
	/* A remote client's client (remote.c): the origin id it submits for
	 * now, 0 before; set by remote.c with nothing outstanding, read by
	 * the applier (rt_applier's find_cmd). */
	_Atomic uint64_t bound_id;
	unsigned window;
	uint32_t cell;        /* bytes of each command's data */
	struct rt_cmd *cmds;  /* window of them */
	struct rte_ring *done; /* SPSC: applier -> client */
	int efd;               /* eventfd: the applier wakes trireme_wait */
	/* Written by trireme_wait, read by the applier. */
	_Atomic bool waiting __rte_cache_aligned; /* trireme_wait is asleep on
				* efd, or the embedder polls it (fd_given) */
	/* The client thread's own. */
	uint64_t next_seq __rte_cache_aligned;
	uint64_t oldest;      /* oldest outstanding seq */
	unsigned outstanding;
	bool fd_given;         /* trireme_client_fd: every completion wakes */
	struct rt_cmd **local_done; /* local gets, answered in submit (window) */
	unsigned nlocal_done;
	unsigned npolled;
	struct rt_cmd *polled[RT_BURST]; /* freed by the next poll */
	struct trireme_client *retired_next; /* freed, the worker still holds it */
	struct rt_large large;
} __rte_cache_aligned;

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

/* One column of one replica, polled by one lcore. What every poll reads
 * comes first, the arrays last: an idle poll touches a line or two. */
/* S1: a frame built, waiting for the sync of what it may reveal. */
struct rt_held {
	struct rte_mbuf *m;
	uint64_t gen;           /* the sync it waits for (tr_wal_sync_post) */
	uint8_t peer;
	bool status;            /* it carries a STATUS */
};
#define RT_HELD_MAX 256

struct rt_task {
	struct rt_replica *rep;
	unsigned column;
	struct tr_column *col;
	uint64_t deadline_ns;
	/* Ring mesh: the ring behind the rx queue from each peer, so an idle
	 * poll checks it inline rather than through the ethdev (NULL: none). */
	struct rte_ring *rx_ring[TR_REPLICAS];
	/* tx: an open frame per peer, then a burst per peer (tx[]) */
	struct rte_mbuf *open[TR_REPLICAS];
	unsigned ntx[TR_REPLICAS];
	unsigned nstash;
	unsigned delayed_head, delayed_len;
	unsigned held_head, held_len;
	/* STATUS while frames wait: the open frame carries one, tx[]'s that do
	 * (a bit per entry), and the held frames that do, per peer (a newer
	 * STATUS to that peer is not sent while one waits). */
	bool open_status[TR_REPLICAS];
	uint32_t tx_status[TR_REPLICAS];
	unsigned status_held[TR_REPLICAS];
	uint64_t asked_pub, done_pub; /* as last stored in rt_durable's asked/done */
	uint64_t rng;
	struct tr_frame_writer fw[TR_REPLICAS];
	struct tr_out out;
	struct tr_net_stats net;
	uint64_t rx_pkts, tx_pkts, rx_msgs_n, tx_msgs_n;
	uint64_t tx_bytes;     /* frames' bytes, as sent */
	uint64_t drops_fault, drops_malformed, drops_tx_full, drops_nombuf;
	uint64_t drops_auth;   /* frames without a valid MAC (auth.h) */
	struct rte_mbuf *tx[TR_REPLICAS][RT_BURST];
	struct rt_cmd *stash[RT_BURST]; /* commands the engine's queue refused */
	struct tr_msg msgs[RT_OUT_MSGS];
	struct tr_msg rx_msgs[TR_FRAME_MSGS_MAX];
	struct rt_delayed delayed[RT_DELAY_MAX];
	struct rt_held held[RT_HELD_MAX];
} __rte_cache_aligned;

/* §12 T1, the sending side of a snapshot transfer (the column 0 task). */
enum { RT_SNAP_IDLE = 0, RT_SNAP_PRODUCING, RT_SNAP_SENDING };
struct rt_snap_tx {
	uint8_t state;
	uint8_t to;
	uint64_t xfer;
	struct tr_snap_job *job;  /* the owner's reference */
	const uint8_t *buf;
	size_t len, acked, next, chunk;
	unsigned dups;            /* ACKs that did not move acked */
	uint64_t progress_ns;     /* last time acked moved (or the request) */
	uint64_t pace_ns;         /* when the next byte may leave */
	uint64_t resent_ns;
};

/* The receiving side (the column 0 task), then the install. */
enum { RT_SNAP_RECEIVING = 1, RT_SNAP_LOADING, RT_SNAP_INSTALLING };
struct rt_snap_rx {
	uint8_t state;
	uint8_t peer;
	uint64_t xfer;
	uint8_t *buf;
	uint8_t *have;            /* a byte per chunk received */
	size_t total, chunk, acked, chunks, got_chunks;
	unsigned unacked;
	uint64_t progress_ns, req_ns, ack_ns, idle_until_ns;
	uint64_t stage_ns;        /* LOADING or INSTALLING since */
	bool slow_logged;         /* a stage took over RT_SNAP_SLOW_NS: said once */
	struct tr_snap_load *load;
	/* The last transfer received whole, kept across the ones after: its
	 * resends are acknowledged again (both final ACKs may be lost). */
	uint8_t done_peer;
	uint64_t done_xfer, done_total;
};

struct rt_snap_stats {
	uint64_t sent, received, bytes_tx, bytes_rx, installs, discarded, failed, requests;
};

/* An answer held until the commits it reveals are durable (durable.c). */
struct rt_deferred {
	uint64_t client_id, seq;
	uint64_t frontier[TR_COLUMNS]; /* applied when it was answered */
};

/* §12 S: a replica's data directory (durable.c). Column c's WAL is touched
 * by column c's task only (and by a restart, with the tasks parked). */
struct rt_durable {
	bool on;
	struct tr_datadir dd;
	struct tr_wal wal[TR_COLUMNS];
	pthread_mutex_t sb_lock;          /* superblock writes (rare) */
	_Atomic uint32_t inc_durable;     /* J0: the incarnation on disk */
	uint32_t peer_inc_durable[2];     /* J0: the peers' on disk (column 0's task) */
	bool peer_inc_failed;             /* ... could not be written: not tried again */
	_Atomic bool amnesiac;            /* J with a disk: TR_DD_AMNESIAC set */
	_Atomic bool failed;              /* an I/O error: nothing is sent */
	uint64_t sync_ns;                 /* a sync in the directory, probed */
	bool failed_woken;                /* the applier woke the clients for it */
	_Atomic uint64_t polls[TR_COLUMNS]; /* passes of each task's gate */
	/* Each task's sync generations (tr_wal_sync_post): the last asked for
	 * and the last done, as of its last gate. */
	_Atomic uint64_t asked[TR_COLUMNS], done[TR_COLUMNS];
	_Atomic uint64_t open_seq[TR_COLUMNS]; /* each WAL's open segment */
	_Atomic uint64_t max_lsn[TR_COLUMNS];  /* highest slot logged this life */
	/* The column 0 task: disk snapshots. */
	struct tr_snap_job *job;
	uint64_t job_below[TR_COLUMNS];   /* segments closed when it began */
	uint64_t snap_applied[TR_COLUMNS]; /* applied when the last one began */
	bool received_any;                /* one was received and written this life */
	uint64_t received[TR_COLUMNS];    /* the point of the newest one received */
	uint64_t snap_seq;
	uint64_t every;                   /* instances of a column between two */
	struct tr_sync_mark clear;        /* amnesia_poll: the join's records synced */
	_Atomic bool writing;             /* a writer thread runs */
	/* Tests: 1 holds the snapshot made before its write; 2 lets it go
	 * (written, or dropped) and begins no other. */
	_Atomic unsigned snap_hold;
	/* Published by a snapshot writer: each task trims its own WAL. */
	_Atomic uint64_t trim_gen;
	_Atomic uint64_t trim_below[TR_COLUMNS], trim_frontier[TR_COLUMNS];
	uint64_t trim_seen[TR_COLUMNS];   /* task c only */
	bool fail_logged[TR_COLUMNS];     /* task c only */
	_Atomic uint64_t snapshots, torn_bytes, damage;
	/* S1 for answers: each column's committed prefix as of its last sync
	 * (task c), and the applier's answers waiting for it (applier only). */
	_Atomic uint64_t synced[TR_COLUMNS];
	struct rt_deferred *defer;
	size_t defer_head, defer_len, defer_cap;
};

/* remote.c: what the remote clients' server counts (one writer). */
struct rt_remote_stats {
	uint64_t requests, replies, dups, busy, too_old, table_full, evictions, tx_fail, arp;
	uint64_t drops[TRP_DROP_COUNT]; /* by trp_parse_request reason */
};
struct rt_remote;

struct rt_replica {
	struct trireme *t;
	unsigned id;
	bool local;
	struct tr_replica eng;
	void *eng_mem;
	/* The state machine behind sm: the built-in KV's store, or (trireme_start_sm)
	 * the embedder's instance; the other is NULL. */
	struct tr_kvstore *kv;  /* RCU pointer: rcu_dereference in readers */
	struct tr_usm *usm;     /* the applier's alone (and an install's) */
	_Atomic uint64_t keys;  /* the store's count, published by the applier */
	struct tr_sm sm;
	struct tr_client_rec *client_recs;
	void *stages;           /* sm's staging memory (tr_stages_new) */
	struct tr_applier applier;
	pthread_t applier_thread;
	bool applier_started;
	_Atomic uint64_t applied;
	uint64_t completions;  /* applier only: clients' commands answered */
	unsigned applier_idle; /* applier only: back-off of its own thread */
	uint64_t lat_hist[RT_LAT_BUCKETS]; /* submit -> completion, log2 ns (applier) */
	uint64_t step_ns;      /* applier only: the clock at its step's first answer */
	/* Clients answered in this applier pass, woken (if asleep) at its end
	 * behind one fence (applier only). */
	struct trireme_client *wake[RT_WAKE_MAX];
	unsigned nwake;
	_Atomic bool paused;
	/* §12: hold stops this replica's tasks and applier at their next poll;
	 * each sets its bit in parked (column c: bit c, the applier: bit 3).
	 * An install holds with the column 0 task installing; a crash holds
	 * until the restart (down). */
	_Atomic bool hold;
	_Atomic unsigned parked;
	_Atomic bool down;
	uint64_t life;          /* in-process restarts (transfer ids) */
	struct tr_config cfg;   /* as started, for a restart */
	size_t eng_bytes;
	struct tr_snap_job *_Atomic snap_req; /* column 0 task -> applier */
	struct tr_snap_job *snap_job;  /* applier: open, logging */
	struct rt_snap_tx stx;
	struct rt_snap_rx srx;
	struct rt_snap_stats snap;
	uint64_t join_log_ns;  /* J1, J5: the next "still joining" line (heal.c) */
	uint16_t port;
	uint16_t rxq;          /* replica mode: RX/TX queues of the port, 1 or
				* one per column (steered by rte_flow) */
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
	/* With a data directory: no client sequence at or above it is used
	 * until the superblock says so (rt_durable_seq_lease); UINT64_MAX
	 * without one. */
	_Atomic uint64_t seq_ceiling;
	uint32_t clients_max;
	uint64_t client_id_base; /* trireme_conf's, or its data directory's */
	struct trireme_client *retired; /* freed with commands in the ring */
	pthread_mutex_t clients_lock;
	bool violation_logged; /* applier only */
	struct rt_durable dur;
	struct rt_remote *remote; /* conf.serve_clients > 0 (remote.c) */
	/* The remote clients' clients (bound_id), for the applier: set before
	 * the workers start, never changed after. */
	struct trireme_client **bound;
	_Atomic uint32_t nbound;
};

struct rt_lcore {
	struct trireme *t;
	unsigned lcore;
	struct rt_task *tasks[TR_REPLICAS * TR_COLUMNS];
	unsigned ntasks;
	struct rt_replica *appliers[TR_REPLICAS]; /* applier_threads off */
	unsigned applier_at[TR_REPLICAS]; /* each runs after this many tasks */
	unsigned nappliers;
	bool launched;
};

struct trireme {
	struct trireme_conf conf;
	const struct trireme_sm_ops *sm; /* trireme_start_sm: the embedder's, or NULL */
	void *sm_arg;
	struct rt_replica reps[TR_REPLICAS];
	struct rt_lcore lcores[64];
	unsigned nlcores;
	bool client_id_random; /* conf.client_id_base 0: ours to choose */
	_Atomic bool stop;
	_Atomic int threads;   /* snapshot, loader and store-freeing threads alive */
	uint16_t ports[TR_REPLICAS];
	bool ring_mesh;
	double ns_per_cycle;
	struct rt_auth auth;   /* frame MACs, off unless conf.auth */
	pthread_t remote_thread; /* cluster mode: remote clients over kernel UDP */
	bool remote_started;
};

/* Who calls whom (each file below declares what it offers the others):
 * lifecycle.c starts the worker lcores (worker.c), the applier threads
 * (applier.c) and telemetry (telemetry.c), and frees clients on stop
 * (client.c); worker.c runs the column tasks and the appliers placed on its
 * lcore; applier.c completes clients' commands (client.c); control.c holds
 * and rebuilds replicas. The one mutual pair is worker.c and heal.c: the
 * column 0 task polls the snapshot transfer (heal.c), which sends its frames
 * through that task's tx burst (worker.c). */

/* The library's DPDK log type (lifecycle.c): --log-level=trireme:debug */
extern int tr_logtype;
/* The runtime's own lines, under the "trireme" log type. */
#define RT_LOG(level, ...) rte_log(RTE_LOG_##level, tr_logtype, "trireme: " __VA_ARGS__)

/* A local replica of t, or NULL. */
static inline struct rt_replica *
rt_local_replica(struct trireme *t, unsigned replica)
{
	return replica < TR_REPLICAS && t->reps[replica].local ? &t->reps[replica] : NULL;
}

/* The engine stopped the replica on a safety violation (A3, C1, P2). */
static inline bool
rt_violated(const struct rt_replica *r)
{
	return atomic_load_explicit(&r->eng.shared.violation, memory_order_seq_cst) != 0;
}

/* Takes no more commands until restarted: a safety violation, or a data
 * directory it could not write (§12 S1: it sends nothing). */
static inline bool
rt_stopped(const struct rt_replica *r)
{
	return rt_violated(r) || atomic_load_explicit(&r->dur.failed, memory_order_relaxed);
}

/* clock.c: the clock, and what a polling thread does after a pass with no
 * work, by t->conf.idle (pause, yield, sleep; *idle counts the passes since
 * the last work); the _qsbr form goes offline while it sleeps, for threads
 * registered with liburcu QSBR. */
uint64_t rt_now_ns(const struct trireme *t);
/* Writes one line into err (if any) and returns code: a failure to report. */
int rt_fail(char *err, size_t len, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void rt_idle(const struct trireme *t, unsigned *idle);
void rt_idle_qsbr(const struct trireme *t, unsigned *idle);

/* applier.c: the applier of a replica (r->applier) over its state machine;
 * one pass (any thread registered with QSBR) returns the instances applied
 * plus the clients' commands answered (0: idle); _main is the thread of
 * conf.applier_threads. */
void rt_applier_init(struct rt_replica *r);
unsigned rt_applier_step(struct rt_replica *r);
void *rt_applier_main(void *arg);
/* The replica's state machine behind r->sm, new and empty, over the client
 * table recs (nrecs, taken on success): -1 when out of memory. close: the
 * state machine and its client table go (the store after a grace period). */
int rt_sm_open(struct rt_replica *r, struct tr_client_rec *recs, uint32_t nrecs);
void rt_sm_close(struct rt_replica *r);
/* A snapshot's bytes (taken) loaded into a new state machine of r's kind
 * on a thread of its own (tr_snap_load_start); NULL when out of memory. */
struct tr_snap_load *rt_sm_load_start(struct rt_replica *r, uint8_t *buf, size_t len);
/* A loaded snapshot's state machine in place of r's (the engine's install
 * done; the replica's tasks and applier parked or not started): the old
 * one goes (the store after a grace period). */
void rt_sm_install(struct rt_replica *r, struct tr_snap_load *l);

/* client.c: wakes trireme_wait (never blocks); frees a client. */
void rt_client_wake(struct trireme_client *c);
void rt_client_destroy(struct trireme_client *c);

/* telemetry.c: registers the /trireme commands for t; forgets t. */
void rt_telemetry_start(struct trireme *t);
void rt_telemetry_stop(struct trireme *t);

/* worker.c: an lcore's loop; a snapshot frame into the column 0 task's tx
 * burst. */
int rt_worker_main(void *arg);
struct rte_mbuf *rt_task_frame_alloc(struct rt_task *k);
/* Payload bytes a frame may fill in m (the MAC's room aside). */
uint16_t rt_task_payload_cap(const struct rt_task *k, const struct rte_mbuf *m);
void rt_task_send(struct rt_task *k, unsigned peer, struct rte_mbuf *m, uint16_t len);
/* Frees the frames waiting for a sync (S1): a crash, a stop. */
void rt_task_drop_held(struct rt_task *k);

/* remote.c: remote clients (trireme_proto.h). start: before the workers
 * (their clients, and in cluster mode the kernel sockets' thread); stop:
 * joins that thread (t->stop set); free: after the workers stopped. In
 * replica mode the column 0 task hands over the datagrams of the client port
 * (rx) and the ARP packets (arp: answered for our address), and polls the
 * completions, sending the replies (poll). */
int rt_remote_start(struct trireme *t, char *err, size_t len);
void rt_remote_stop(struct trireme *t);
void rt_remote_free(struct rt_remote *rm);
void rt_remote_rx(struct rt_task *k, const struct tr_net_rx *rx, uint64_t now_ns);
void rt_remote_arp(struct rt_task *k, const struct rte_mbuf *m);
unsigned rt_remote_poll(struct rt_task *k);
void rt_remote_stats(const struct rt_remote *rm, struct rt_remote_stats *st);
/* Remote clients' ids in the §8 table: the client's own id with the top bit
 * set, above every local client's (trireme_start keeps local ids below). */
#define RT_REMOTE_ID_BIT (UINT64_C(1) << 63)
/* trireme_submit on behalf of a remote client (§8 across replicas): the
 * command carries id (c->bound_id), seq and window instead of the client's
 * own, so every replica's table decides a retry sent to any of them. A set
 * larger than a packet travels as parts under the client's own identity
 * (exactly once within this process only). */
int rt_client_submit_as(struct trireme_client *c, const struct trireme_op *op, uint64_t tag,
			uint64_t seq, uint8_t window);

/* heal.c's snapshot transfer (T1, T3): its frames (a header of SNAPX_HDR
 * bytes: magic, type, transfer id; DATA adds offset, total, chunk, length)
 * and its pace. */
#define SNAPX_MAGIC 0x58535254u
enum { SNAPX_REQ = 1, SNAPX_DATA = 2, SNAPX_ACK = 3 };
#define SNAPX_HDR 24u
#define SNAPX_DATA_HDR (SNAPX_HDR + 24u)
#define RT_SNAP_WINDOW (1u << 20)          /* bytes beyond the acknowledged prefix */
#define RT_SNAP_BYTES_PER_S (200ull << 20)
#define RT_SNAP_BURST 16                   /* frames per poll at most */
#define RT_SNAP_ACK_EVERY 16
#define RT_SNAP_RTO_NS 20000000ull
#define RT_SNAP_GIVEUP_NS 3000000000ull
#define RT_SNAP_REQ_NS 100000000ull      /* REQ again until the first chunk */
#define RT_SNAP_STALL_NS 2000000000ull   /* no progress: ask the other peer */
#define RT_SNAP_RETRY_NS 200000000ull    /* after a failed or stale snapshot */

/* heal.c: §12 on the runtime's side. */
#define RT_PARK_APPLIER (1u << TR_COLUMNS)
#define RT_PARK_ALL ((1u << (TR_COLUMNS + 1)) - 1)
uint64_t rt_client_id(const struct rt_replica *r, uint32_t index);
/* A task or the applier at the top of its pass: true when held (parked). */
bool rt_held(struct rt_replica *r, unsigned bit);
/* Column 0 task: the snapshot transfer both ways, and the install. */
unsigned rt_snap_poll(struct rt_task *k, uint64_t now_ns);
void rt_snap_rx(struct rt_task *k, const struct tr_net_rx *rx, uint64_t now_ns);
/* Applier: opens and closes snapshot jobs around tr_apply. */
void rt_snap_applier_before(struct rt_replica *r);
void rt_snap_applier_after(struct rt_replica *r);
/* Frees what the transfers hold (stop, crash). */
void rt_snap_reset(struct rt_replica *r);

/* durable.c: PROTOCOL §12 S with a data directory. */
/* S2: the engine initialised from the directory (superblock, J0's new
 * incarnation made durable, snapshot, log replay) or, without a usable
 * log, as an amnesiac (J, S3). The replica's state machine is new and
 * empty; its tasks and applier are idle. cfg: as configured; it gets the
 * incarnation, join and the durable callback. 0, or a -TRIREME_E* error
 * with one line in err. */
int rt_durable_start(struct rt_replica *r, struct tr_config *cfg, uint64_t now_ns, char *err,
		     size_t len);
/* §8 across process starts: the client sequences up to need may be used
 * once this returns 0 (the superblock's ceiling raised and synced, or it
 * already was above); -1 on an I/O error. Any client thread. */
int rt_durable_seq_lease(struct rt_replica *r, uint64_t need);
/* S1: task k's frames leave once the records they may reveal are durable.
 * Starts the sync of what k appended (tr_wal_sync_post) and publishes what
 * is durable. RT_GATE_OPEN: its frames may go; RT_GATE_WAIT: they wait
 * until *durable reaches *wait (a later call says); RT_GATE_SHUT: nothing
 * may be sent (an I/O error). Without a data directory, always open. */
enum rt_gate { RT_GATE_OPEN, RT_GATE_WAIT, RT_GATE_SHUT };
enum rt_gate rt_durable_gate(struct rt_task *k, uint64_t *wait, uint64_t *durable);
/* S1 the blocking way: task k's records durable now (an I/O error fails
 * the log, which the next gate says). */
void rt_durable_sync(struct rt_task *k);
/* Every task pass: trims behind a snapshot; column 0 makes snapshots. */
unsigned rt_durable_poll(struct rt_task *k, uint64_t now_ns);
/* T1: a snapshot received whole, written as the newest on disk; false if
 * the write failed (it is not installed: S4's gap counts from the
 * committed prefix a restart finds on disk). */
bool rt_durable_snap_received(struct rt_replica *r, const uint8_t *buf, size_t len);
/* Closes the logs (a crash, with the tasks parked) or everything (stop). */
void rt_durable_crash(struct rt_replica *r);
void rt_durable_close(struct rt_replica *r);
/* Applier: the answer d (its command marked held) waits for the sync of
 * every commit applied so far, in order with the others. */
void rt_durable_defer(struct rt_replica *r, const struct tr_completion *d);
/* Applier: the answers whose commits are durable now go. */
void rt_durable_release(struct rt_replica *r);
/* applier.c: the held answer of (client_id, seq), if still waiting. */
void rt_applier_release(struct rt_replica *r, uint64_t client_id, uint64_t seq);

#endif
