/* SPDX-License-Identifier: MIT
 * Simulator internals shared by sim.c, ops.c and check.c.
 */
#ifndef TR_SIM_INTERNAL_H
#define TR_SIM_INTERNAL_H

#include "sim.h"

#define SIM_OUT_MSGS 256
#define SIM_W 8 /* every simulated client's W (§8) */

enum ev_kind {
	EV_DELIVER, EV_TICK, EV_CLIENT, EV_CRASH, EV_PARTITION, EV_HEAL, EV_CHECK, EV_RESUBMIT,
	EV_FAULT,      /* §12: start the next pause or restart episode */
	EV_RESUME,     /* end of a pause */
	EV_RESTART,    /* a crashed replica starts again without memory */
	EV_SNAPSHOT,   /* a snapshot transfer arrives (T1) */
	EV_REBOOT,     /* a replica crashes and restarts without memory at once */
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
	struct tr_sm sm;
	struct tr_applier applier;
	bool crashed;
	bool paused;       /* §12: memory kept, nothing heard or done */
	bool violation_seen;
	unsigned life;     /* restarts so far: a transfer to an earlier life is dropped */
	bool snap_pending; /* T1: a snapshot is on its way */
	uint64_t snap_asked_ns;
	uint64_t down_since; /* paused, crashed or joining since (UINT64_MAX: up) */
	unsigned snap_installs;
	uint64_t catchup;  /* down until it has applied this many instances */
	bool cut_done;     /* cut_transfers: this episode's transfer was cut already */
	uint64_t tick_at[TR_COLUMNS];
	struct applied_entry *seq; /* this replica's apply sequence */
	size_t seq_len, seq_cap;
	char order_text[4096];
};

struct op {
	uint32_t client;
	uint64_t seq;
	uint8_t op;
	uint8_t mode;       /* gets: enum sim_read_mode */
	uint8_t submits;    /* writes: times submitted (client retries) */
	uint8_t applied;    /* writes: completions that applied it (exactly once: <= 1) */
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
	uint64_t next_seq;
	unsigned outstanding;
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

	struct sim_stats st;
};

void sim_trace(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_trace_msg(struct sim *s, const char *what, const struct tr_msg *m);
void sim_after_step(struct sim *s, unsigned r, unsigned column, const struct tr_out *out);
void sim_recv_frame(struct sim *s, unsigned r, const uint8_t *buf, size_t len);
void sim_tick_column(struct sim *s, unsigned r, unsigned column);
void sim_ack_at_commit(struct sim *s, unsigned r, unsigned column, const struct tr_value *v);

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
void node_mark_lost(struct sim *s, unsigned r);

/* ops.c */
struct op *sim_op_new(struct sim *s, struct client *c, uint8_t op, const char *key,
		      const char *val);
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
void check_apply(struct sim *s, unsigned r, unsigned column, uint64_t lsn,
		 const struct tr_value *v);
void sim_violation_add(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t value_hash(const struct tr_value *v);

#endif
