/* SPDX-License-Identifier: MIT
 * The deterministic cluster simulator: three replicas running the real engine
 * over a simulated network, with clients, faults and checkers. One seed drives
 * everything; the same seed replays the same run, event for event.
 */
#ifndef TR_SIM_H
#define TR_SIM_H

#include <stdio.h>

#include "mmp3.h"
#include "wire.h"

/* How a client's get is served (PROTOCOL §8). */
enum sim_read_mode {
	SIM_READ_BARRIER = 0, /* Q1-Q3: tr_column_read, answered by the applier */
	SIM_READ_LOG = 1,     /* a read-only instance through the log */
	SIM_READ_LOCAL = 2,   /* the home replica's applied state, at once (not linearizable) */
	SIM_READ_MODES
};

/* Keys the simulated store holds: three quarters of its 1024 cells. */
#define SIM_KEYS_MAX 768

struct sim_params {
	uint64_t seed;
	unsigned ops;            /* client operations to issue */
	double loss_send;        /* a frame is dropped as it is sent */
	double loss_recv;        /* ... as it is received */
	double dup;              /* a frame is delivered twice */
	double partition;        /* chance per 10 ms of isolating one replica for a while */
	bool crash;              /* crash-stop one replica during the fault phase */
	/* §12: episodes of one replica down, one after the other during the
	 * fault phase: paused (memory kept) or crashed and restarted without
	 * memory (it JOINs, and takes a snapshot where its peers recycled). */
	unsigned pauses;         /* pause episodes */
	unsigned restarts;       /* crash + amnesiac restart episodes */
	unsigned deafs;          /* episodes of one replica that hears nothing (every
				  * frame to it lost) while it goes on sending */
	uint64_t down_min_ns;    /* how long a replica stays down */
	uint64_t down_max_ns;
	bool second_fault;       /* pause a second replica while one is joining */
	bool cut_transfers;      /* a replica receiving a snapshot crashes and restarts
				  * (without memory) halfway through, once per episode */
	uint64_t snap_ns;        /* a snapshot transfer takes this, plus 2 us per key */
	uint64_t catchup_ns;     /* T4: tr_config.catchup_ns (0: two snapshot transfers
				  * and ten first retries) */
	/* §12 S: a simulated disk per replica (cfg.durable). A step's records
	 * are appended; whatever the step reveals (messages, client answers,
	 * and the checkers' view of its commits and applies) waits for the sync
	 * that covers them (group commit: one sync for all records appended
	 * when it starts). A crash keeps the synced bytes and a random part of
	 * the rest (a torn tail). */
	bool disk;
	uint64_t sync_min_ns;    /* one sync takes sync_min_ns..sync_max_ns */
	uint64_t sync_max_ns;
	unsigned crash_disks;    /* episodes: one replica crashes, restarts from its disk */
	unsigned power_losses;   /* episodes: all three crash at once, restart from disk */
	unsigned wipes;          /* episodes: one replica's disk is lost and it starts
				  * again as a new replica (not as a joiner): J5 must
				  * stop it; it then counts as the crash-stop */
	double corrupt;          /* per restart from disk: a record before the last is damaged */
	double lose_disk;        /* per restart from disk: its disk was replaced (an empty
				  * one, no superblock): it rejoins without memory (J) */
	/* §8's client table: its records (a power of two; 0: 256), its TTL in
	 * writes (0: the engine's), and new ids for a client at each restart
	 * of its home without memory (as a process without a data directory). */
	uint32_t client_recs;
	uint64_t client_ttl;
	bool client_lives;
	bool peer_incs_forgotten; /* J0 bent (the runtime before): the disks keep no
				  * incarnations heard from peers */
	bool stale_deliver;      /* frames to a replica down for a restart from disk arrive
				  * after it restarted (messages delayed past the restart) */
	uint64_t stall_ns;       /* (g): a survivor's op may take this long while one
				  * replica is down (0: not checked) */
	uint64_t rejoin_ns;      /* (h): a replica back from a fault catches up with the
				  * live frontier within this, while the load goes on
				  * (0: not checked) */
	unsigned clients;        /* per replica */
	unsigned client_window;  /* outstanding operations per client */
	uint64_t think_ns;       /* a client's next operation after a completion: 0..think_ns */
	double read_ratio;
	double read_mix[SIM_READ_MODES]; /* weights of the read modes (default: barrier only) */
	double client_retry;     /* share of writes submitted again (same client, seq, W) */
	double del_ratio;        /* share of the writes that are dels */
	double large_ratio;      /* share of the sets that are large (issue 16): a value
				  * of a few KiB, set by parts (TR_OP_PART) that the
				  * client drips alone in its window; one op */
	unsigned keys;
	uint64_t delay_min_ns;
	uint64_t delay_max_ns;
	double slow;             /* a frame takes up to slow_ns more (reordering) */
	uint64_t slow_ns;
	uint64_t converge_ns;    /* (e): bound after healing */
	uint32_t log_slots;      /* per column ring; 0: large enough never to recycle */
	uint32_t read_barriers;  /* Q1: barriers in flight per replica; 0: the default */
	uint32_t variant;        /* engine known-bad variants (mmp3.h) */
	/* Known-bad, for the large sets' checks: the answer of the part that
	 * completes a large set is lost; snapshots leave the stages out. */
	bool large_drop_result;
	bool large_snap_no_stages;
	bool ack_at_commit;      /* known-bad P5: clients acknowledged at commit */
	bool manual;             /* tests deliver messages by hand */
	FILE *trace;             /* one line per event, or NULL */
};

void sim_params_default(struct sim_params *p);

struct sim;

struct sim *sim_new(const struct sim_params *p);
void sim_free(struct sim *s);

/* Runs the whole scenario: fault phase, heal, convergence, checks. Returns the
 * number of violations; the first is described by sim_violation(). */
unsigned sim_run(struct sim *s);
const char *sim_violation(const struct sim *s);
/* Summary counters of a run. */
struct sim_stats {
	uint64_t events, frames, msgs, dropped, duplicated, commits, applied;
	uint64_t ops_done, ops_unknown, retries, recoveries, fetches;
	uint64_t reads[SIM_READ_MODES], resubmits, read_barriers;
	uint64_t sim_ns;
	int crashed;             /* replica id or -1 */
	uint64_t pauses, restarts, snapshots, joins; /* §12 episodes, installs, joins done */
	uint64_t deafs;          /* deaf episodes */
	uint64_t deaf_paced;     /* T4: instances another replica paced while one was deaf */
	uint64_t deaf_asks;      /* requests (ACCEPT, READ_INDEX, FETCH) sent to a replica
				  * deaf for more than twice suspect_ns (P6, Q1: a
				  * peer that never answers is not asked) */
	uint64_t transfers_cut;  /* snapshots whose receiver restarted on the way */
	uint64_t paced;          /* T4: instances started at the catch-up pace */
	uint64_t pace_slowed;    /* T4: the pace halved after a snapshot came too late */
	uint64_t crash_disks, power_losses; /* §12 S episodes */
	uint64_t wipes;          /* J5 episodes: a new replica where one ran */
	uint64_t memory_stops;   /* J5: a replica stopped, its memory older than its peers heard */
	uint64_t disk_restarts;  /* restarts from disk that restored (S2) */
	uint64_t torn_tails;     /* S3: a torn last record dropped */
	uint64_t damaged;        /* S3: damage found: rejoined as an amnesiac (J) */
	uint64_t lost_disks;     /* --lose-disk: rejoined on a new, empty disk (J) */
	uint64_t full_writes;    /* writes answered FULL */
	uint64_t clients_evicted; /* §8 records given to new clients (the live replicas' most) */
	uint64_t restore_refused; /* tr_replica_restore refused a record: rejoined (J) */
	uint64_t records, syncs; /* records appended, syncs done */
	uint64_t ops_after_power; /* writes invoked after a power loss and answered */
	uint64_t large_sets;     /* large sets acknowledged (issue 16) */
	uint64_t large_reads;    /* gets that read a large set's value whole */
};
void sim_stats(const struct sim *s, struct sim_stats *out);

/* Manual mode: the test owns time and delivery. */
struct tr_replica *sim_replica(struct sim *s, unsigned id);
void sim_set_time(struct sim *s, uint64_t now_ns);
/* A client write or read (through the log) at a replica; returns an op handle. */
int sim_submit(struct sim *s, unsigned replica, uint8_t op, const char *key, const char *val);
/* A client get in the given mode; returns an op handle. */
int sim_read(struct sim *s, unsigned replica, const char *key, enum sim_read_mode mode);
bool sim_op_done(const struct sim *s, int op);
/* A done op's status (kv.h), and for a get the value read (NULL: absent). */
uint8_t sim_op_status(const struct sim *s, int op);
const char *sim_op_out(const struct sim *s, int op);
/* Crash-stops a replica now (manual mode). */
void sim_crash(struct sim *s, unsigned replica);
/* Starts a crashed replica again without memory (J): it JOINs (manual mode). */
void sim_restart(struct sim *s, unsigned replica);
/* Messages held in the network (manual mode), oldest first. */
unsigned sim_held(const struct sim *s);
const struct tr_msg *sim_held_msg(const struct sim *s, unsigned i);
/* Delivers (and removes) held message i; drop removes it unseen. */
void sim_deliver(struct sim *s, unsigned i);
void sim_drop(struct sim *s, unsigned i);
/* Finds the first held message matching (type, from, to, column, lsn); -1 if
 * none. Fields given as -1 match anything. */
int sim_find(const struct sim *s, int type, int from, int to, int column, int64_t lsn);
/* Delivers m at once to m->to, framed with m->from and m->inc as a peer's
 * frame would be: a hostile message (issue 17). */
void sim_inject(struct sim *s, const struct tr_msg *m);
/* The state machine's digest of a replica (equal everywhere once converged). */
uint64_t sim_digest(const struct sim *s, unsigned replica);
/* Runs every replica's timers at the current time. */
void sim_tick(struct sim *s);
/* Runs one replica's timers (all its columns) at the current time. */
void sim_tick_replica(struct sim *s, unsigned replica);
/* The apply sequence of a replica as "a0 b1 c0 ..." (tests). */
const char *sim_apply_order(struct sim *s, unsigned replica);
/* Runs the checkers now (tests): violations so far. */
unsigned sim_check(struct sim *s, bool final);

/* Writes every client operation as a history (HISTORY.md, one JSON object per
 * line, simulated nanoseconds): a client's resubmissions of a write are one
 * operation; an unknown outcome has "ret": null. Local reads are not
 * linearizable: they go to local_f with "meta": "local", or nowhere if NULL.
 * Returns the number of lines written to f, or -1 on a write error. */
long sim_history_write(const struct sim *s, FILE *f, FILE *local_f);

#endif
