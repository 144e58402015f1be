/* SPDX-License-Identifier: MIT
 * Simulator internals shared by sim.c, ops.c and check.c.
 */
#ifndef TR_SIM_INTERNAL_H
#define TR_SIM_INTERNAL_H

#include "sim.h"

#define SIM_OUT_MSGS 256
#define SIM_W 8 /* every simulated client's W (§8) */
/* Large sets (issue 16, p.large_ratio): values of SIM_LARGE_MIN..MAX bytes,
 * cut into parts of SIM_PART_BYTES of the staged whole (a part command
 * then fits the sim's 512-byte batches). */
#define SIM_LARGE_MIN 600
#define SIM_LARGE_MAX 4096
#define SIM_PART_BYTES 448
#define SIM_STAGES 64      /* per replica */
#define SIM_VAL_MAX 32     /* the table's values without large sets */

enum ev_kind {
	EV_DELIVER, EV_TICK, EV_CLIENT, EV_CRASH, EV_PARTITION, EV_HEAL, EV_CHECK, EV_RESUBMIT,
	EV_FAULT,      /* §12: start the next pause or restart episode */
	EV_RESUME,     /* end of a pause */
	EV_HEAR,       /* end of a deaf episode */
	EV_RESTART,    /* a crashed replica starts again without memory */
	EV_SNAPSHOT,   /* a snapshot transfer arrives (T1) */
	EV_REBOOT,     /* a replica crashes and restarts without memory at once */
	EV_SYNC,       /* §12 S: a replica's sync completes (data: the disk's generation) */
	EV_DISK_RESTART, /* §12 S: a crashed replica restarts from its disk */
};

/* T1: a snapshot in flight, or on a disk: a replica's state machine at its
 * applied point. */
struct sim_snap {
	unsigned from, from_life, to_life;
	struct tr_snap_point pt;
	uint8_t *table_mem;
	size_t table_bytes;
	uint32_t table_used;
	uint8_t *sm_bytes;       /* tr_sm_clients_encode: the client table, the stages */
	size_t sm_len;
	uint64_t digest, applied_cmds;
};

/* §12 S: something a step revealed, held until the disk has synced need
 * bytes (disk.c). */
enum dfr_kind {
	DFR_FRAME,     /* a frame to send (buf) */
	DFR_VOTE,      /* check_vote_hash(m, hash) */
	DFR_COMMIT,    /* check_commit_hash(column, lsn, hash) */
	DFR_APPLY,     /* check_apply(column, lsn, v; cmds in buf) */
	DFR_COMPLETE,  /* a client completion (res.val in buf) */
	DFR_SNAP,      /* snap becomes the disk's snapshot */
	DFR_REJOINED,  /* an amnesiac life has rejoined: a restart may use the disk */
};

struct dfr {
	uint8_t kind;
	uint8_t column;
	uint8_t to;
	size_t need;
	uint64_t lsn;
	uint64_t hash;
	struct tr_msg m;
	struct tr_value v;
	struct tr_completion done;
	uint8_t *buf;
	uint32_t len;
	struct sim_snap *snap;
};

struct sim_disk {
	uint8_t *log;            /* records, as written (tr_durable_encode) */
	size_t len, cap;
	size_t synced;           /* bytes a crash keeps */
	size_t must;             /* the end of the last record that is not lazy (S4) */
	uint32_t inc;            /* the superblock's incarnation (J0) */
	uint32_t peer_inc[TR_REPLICAS]; /* J0: the highest incarnation heard from each
				  * peer, kept in the superblock as the runtime does */
	bool joining;            /* an amnesiac life not rejoined yet: its disk lacks
				  * the old life's votes, so a restart forgets too */
	struct sim_snap *snap;   /* the latest durable snapshot (T1) */
	uint64_t snap_at[TR_COLUMNS]; /* the point of the latest one taken */
	struct dfr *q;           /* held, oldest first, from qhead */
	size_t qhead, qlen, qcap;
	bool syncing;
	size_t sync_target;
	uint32_t gen;            /* bumped at a crash: older EV_SYNCs are void */
	uint64_t restart_at;     /* when a restart from disk is due (stale_deliver) */
};

struct event {
	uint64_t t;
	uint64_t seq;
	uint8_t kind;
	uint8_t replica;
	uint8_t column;
	uint32_t data;
	uint8_t *buf;
	uint32_t len;
};

struct applied_entry {
	uint8_t column;
	uint16_t cmd_count;
	uint32_t cmds_len;
	uint64_t lsn;
	uint64_t hash;
	uint8_t *cmds; /* the checker's own copy (common sequence only) */
};

struct node {
	struct sim *sim;
	unsigned id;
	struct tr_replica rep;
	void *mem;
	struct tr_table table;
	void *table_mem;
	struct tr_client_rec *client_recs;
	void *stage_mem;   /* the large sets' stages (issue 16) */
	struct tr_sm sm;
	struct tr_applier applier;
	bool crashed;
	bool paused;       /* §12: memory kept, nothing heard or done */
	uint64_t paced_seen[TR_COLUMNS]; /* T4: each column's stats.paced, last step */
	bool violation_seen;
	bool wiped;        /* J5: started as a new replica where one ran (--wipe) */
	unsigned life;     /* restarts so far: a transfer to an earlier life is dropped */
	bool snap_pending; /* T1: a snapshot is on its way */
	uint64_t snap_asked_ns;
	uint64_t down_since; /* paused, crashed or joining since (UINT64_MAX: up) */
	unsigned snap_installs;
	uint64_t catchup;  /* down until it has applied this many instances */
	uint64_t back_ns;  /* (h): when it came back from this episode (0: not back) */
	bool cut_done;     /* cut_transfers: this episode's transfer was cut already */
	uint64_t tick_at[TR_COLUMNS];
	struct sim_disk disk;  /* §12 S (p.disk) */
	uint32_t start_inc;    /* the incarnation of a life that remembers (J0) */
	uint32_t join_floor;   /* J0: a joiner's floor, its superblock's last (0: none),
				* until its join has taken an incarnation above it */
	struct applied_entry *seq; /* this replica's apply sequence */
	size_t seq_len, seq_cap;
	char order_text[4096];
};

struct op {
	uint32_t client;
	uint64_t cid;       /* its §8 client id: client + life * nclients */
	uint64_t seq;
	uint8_t op;
	uint8_t mode;       /* gets: enum sim_read_mode */
	uint8_t submits;    /* writes: times submitted (client retries) */
	uint8_t applied;    /* writes: completions that applied it (exactly once: <= 1) */
	/* A large set (issue 16): val is its tag (sim_large_bytes), its parts
	 * take seqs seq..seq + parts - 1; sent of them submitted, answered the
	 * ones answered (bit k: part k), staged those answered STAGED. */
	uint8_t parts, sent;
	uint64_t answered, staged;
	uint64_t point;     /* barrier and local reads: instances applied at the answer */
	bool lost;          /* its home crashed: outcome unknown, no longer waited for */
	char key[16];
	char val[32];
	uint64_t call, ret;
	bool done;
	uint8_t status;
	bool out_null;
	char out[32];
	uint8_t column;
	uint64_t lsn;
	uint16_t index;
};

struct client {
	unsigned id;
	unsigned home;
	uint32_t life;     /* --client-lives: its home's restarts without memory */
	uint64_t next_seq;
	unsigned outstanding;
	int large;         /* its large set in flight (an op index), or -1 */
	bool want_large;   /* the next op is a large set, once nothing is outstanding */
	bool wake_pending;
	uint32_t *op_idx; /* by seq - 1 */
	size_t op_cap;
};

struct held {
	struct tr_msg m;
	uint8_t *cmds;
};

struct vote_key {
	uint64_t lsn;
	uint32_t n;
	uint32_t inc;
	uint8_t replica;
	uint8_t column;
	uint8_t used;
	uint64_t hash;
};

struct sim {
	struct sim_params p;
	uint64_t rng;
	uint64_t now;
	uint32_t cfg_cluster;
	double loss_send, loss_recv, dup;
	uint64_t isolated_until[TR_REPLICAS];
	uint64_t deaf_until[TR_REPLICAS]; /* frames to it are lost until then */
	uint64_t deaf_from[TR_REPLICAS];
	bool healed, converged;
	uint64_t heal_ns;
	int crashed;
	unsigned crash_at_op;

	struct node nodes[TR_REPLICAS];
	struct client *clients;
	unsigned nclients;
	struct op *ops;
	unsigned nops, ops_cap;
	unsigned issued;

	struct event *ev;
	size_t ev_len, ev_cap;
	uint64_t ev_seq;

	struct tr_out out;
	struct tr_msg out_msgs[SIM_OUT_MSGS];
	struct tr_msg rx_msgs[TR_FRAME_MSGS_MAX];

	struct held *held;
	unsigned nheld, held_cap;

	/* checkers */
	uint64_t *chosen[TR_COLUMNS]; /* value hash by lsn, 0: none */
	size_t chosen_cap[TR_COLUMNS];
	struct vote_key *votes;
	size_t votes_cap, votes_used;
	struct applied_entry *gseq;   /* the longest apply sequence seen */
	size_t gseq_len, gseq_cap;
	unsigned nviolations;
	char violation[512];

	/* §12 faults: episodes, one replica down at a time (plus the second
	 * fault), and when each replica was down, for the liveness checker. */
	unsigned fault_episodes;
	unsigned fault_next_op;
	int fault_victim;
	struct down { uint8_t replica; uint64_t from, to; } *downs;
	size_t ndowns, downs_cap;
	struct sim_snap *snaps[TR_REPLICAS]; /* in flight, by receiver */
	uint64_t power_ns;       /* the last power loss (0: none) */

	struct sim_stats st;
};

void sim_trace(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_trace_msg(struct sim *s, const char *what, const struct tr_msg *m);
void sim_after_step(struct sim *s, unsigned r, unsigned column, const struct tr_out *out);
void sim_recv_frame(struct sim *s, unsigned r, const uint8_t *buf, size_t len);
void sim_tick_column(struct sim *s, unsigned r, unsigned column);
void sim_ack_at_commit(struct sim *s, unsigned r, unsigned column, const struct tr_value *v);
void sim_net_frame(struct sim *s, unsigned from, unsigned to, unsigned column, const uint8_t *buf,
		   size_t len);
void sim_complete(struct node *n, const struct tr_completion *d);

/* sim.c */
void schedule(struct sim *s, uint64_t t, uint8_t kind, uint8_t replica, uint8_t column,
	      uint32_t data, uint8_t *buf, uint32_t len);
uint64_t sim_between(struct sim *s, uint64_t lo, uint64_t hi);
double sim_unit(struct sim *s);
void node_init(struct sim *s, unsigned id, bool join);
void node_free(struct node *n);
void client_wake(struct sim *s, struct client *c, uint64_t at);

/* faults.c (§12) */
void fault_maybe_start(struct sim *s);
void fault_event(struct sim *s, struct event *e);
void fault_after_step(struct sim *s, unsigned r);
void fault_check_op(struct sim *s, const struct op *o);
void fault_free(struct sim *s);
bool node_up(const struct sim *s, unsigned r);
void down_record(struct sim *s, unsigned r);
void node_mark_lost(struct sim *s, unsigned r);

struct sim_snap *snap_take(struct sim *s, unsigned from);
void snap_free(struct sim_snap *sn);
bool snap_install(struct sim *s, unsigned r, const struct sim_snap *sn);
void node_restart(struct sim *s, unsigned r, uint32_t inc_floor);
void disk_restart(struct sim *s, unsigned r);

/* disk.c (§12 S) */
tr_durable_fn disk_append;
struct dfr *disk_hold(struct sim *s, unsigned r, uint8_t kind);
void disk_step_end(struct sim *s, unsigned r);
void disk_sync_done(struct sim *s, unsigned r, uint32_t gen);
void disk_sync_now(struct sim *s, unsigned r);
void disk_crash(struct sim *s, unsigned r);
void disk_wipe(struct node *n);
bool disk_idle(const struct node *n);
void disk_free(struct node *n);

/* ops.c */
struct op *sim_op_new(struct sim *s, struct client *c, uint8_t op, const char *key,
		      const char *val);
/* A large set's op: its parts' seqs reserved. */
struct op *sim_op_new_large(struct sim *s, struct client *c, const char *key, uint32_t len);
/* The value of a large set from its tag, into buf (SIM_LARGE_MAX bytes):
 * its length, or 0 when tag is not a large set's. */
uint32_t sim_large_bytes(const char *tag, uint8_t *buf);
/* A value read: its tag when it is a large set's value whole, "CORRUPT"
 * when it only looks like one, else NULL (an ordinary value). */
const char *sim_large_tag(const uint8_t *val, uint32_t len, char *tag, size_t cap);
void sim_op_unissue(struct sim *s, struct client *c);
struct op *sim_op_lookup(struct sim *s, uint64_t client, uint64_t seq);
uint64_t sim_client_oldest(const struct sim *s, const struct client *c);
void sim_hold(struct sim *s, const struct tr_msg *m);
void sim_held_free(struct sim *s);

/* check.c */
void check_init(struct sim *s);
void check_free(struct sim *s);
void check_commit(struct sim *s, unsigned r, unsigned column, uint64_t lsn);
void check_vote(struct sim *s, const struct tr_msg *m);
void check_vote_hash(struct sim *s, const struct tr_msg *m, uint64_t hash);
void check_commit_hash(struct sim *s, unsigned r, unsigned column, uint64_t lsn, uint64_t hash);
void check_apply(struct sim *s, unsigned r, unsigned column, uint64_t lsn,
		 const struct tr_value *v);
void sim_violation_add(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t value_hash(const struct tr_value *v);

#endif
