/* SPDX-License-Identifier: MIT
 * Trireme engine: one replica of the mmp3 protocol (PROTOCOL.md), sans I/O.
 *
 * A replica is three column states plus a small shared part (DESIGN.md):
 *
 *   struct tr_replica
 *     shared     known[3] (atomic max, seq_cst), applied[3], the read queue
 *                (owner column -> applier, single producer single consumer)
 *     col[0..2]  one per log column; each touched by one thread only
 *
 * Every entry point takes the time (now_ns) and an output struct to fill:
 * messages to send (valid until the next call on that column) and the next
 * deadline at which tr_column_tick() wants to be called. The engine reads no
 * clock, starts no thread, does no I/O and allocates nothing: the caller hands
 * it memory sized by tr_replica_mem_bytes() from the declared limits.
 *
 * Applying (§7) is separate: tr_apply() reads the committed column heads
 * and applies the next instance to a state machine (kv.h). The simulator runs
 * everything from one thread; the runtime gives each column to one lcore and
 * the applier to its own thread.
 *
 * Reads (§8): through the log with tr_column_submit(), or with the read
 * barrier (Q1-Q3) with tr_column_read(): the owner column batches the reads,
 * asks a peer for its known, and hands {K, reads} to the applier, which
 * answers them once applied >= K (completions with lsn TR_LSN_BARRIER).
 */
#ifndef TR_MMP3_H
#define TR_MMP3_H

#include <stdatomic.h>

#include "durable.h"
#include "kv.h"
#include "types.h"

/* Known-bad variants of PROTOCOL §11, for showing that the checkers have
 * teeth. Never set outside tests. */
enum tr_variant {
	TR_VARIANT_NONE = 0,
	TR_VARIANT_REUSE_BALLOT = 1 << 0,   /* P2/P3 broken: a retry reuses its ballot */
	TR_VARIANT_COMMIT_ON_SPOT = 1 << 1, /* A5 broken: the acceptor commits at once */
	TR_VARIANT_NO_RECOVERER_PROMISE = 1 << 2, /* P2 broken for recoverers */
	TR_VARIANT_READ_NO_BARRIER = 1 << 3,  /* Q1-Q2 skipped: K = {0, 0, 0} */
	TR_VARIANT_READ_PEER_KNOWN_ONLY = 1 << 4, /* Q2: K = known_q, no merge */
	TR_VARIANT_READ_OWN_KNOWN_ONLY = 1 << 5,  /* Q2: K = own known at send */
	TR_VARIANT_READ_SHARE_EARLY = 1 << 6, /* Q1: reads taken after the send share it */
	TR_VARIANT_READ_NO_MERGE = 1 << 7,    /* Q2: K = max(own, known_q), not merged */
	TR_VARIANT_NO_FENCE = 1 << 8,      /* known: plain stores, no store-load fence */
	TR_VARIANT_PLAIN_DEPS = 1 << 9,    /* D1 broken: known ignores the deps it sees */
	TR_VARIANT_NO_DEDUP = 1 << 10,     /* §8: no duplicate suppression (kv.c) */
	TR_VARIANT_W_PER_REPLICA = 1 << 11, /* §8: W from tr_sm.window, not the command */
	TR_VARIANT_BALLOT_N_ONLY = 1 << 12, /* A1 compares only the ballots' n */
	TR_VARIANT_NO_RECHECK = 1 << 13,   /* P4: a reply's ballot not checked against the promise */
	TR_VARIANT_NO_FETCH_ANSWER = 1 << 14, /* C2: FETCH never answered */
	TR_VARIANT_CLIENTS_KEPT = 1 << 15,    /* §8: a full client table never evicts
					       * (before 2026-12-07): new ids refused */
	/* §12 (bits 16 and up). */
	TR_VARIANT_RECYCLE_HOLD = 1 << 16,    /* T2 broken: recycling waits for every peer heard
					       * from lately, no state transfer (the old rule) */
	TR_VARIANT_TOO_OLD_IGNORED = 1 << 17, /* T1 broken: an ACCEPT below the base is ignored */
	TR_VARIANT_JOIN_VOTES_AT_ONCE = 1 << 18, /* J2 broken: the amnesiac votes at once */
	TR_VARIANT_JOIN_RECOVERS_OWN = 1 << 19,  /* J3 broken: it recovers its old slots itself */
	TR_VARIANT_JOIN_FROM_H = 1 << 20,     /* J3's gap dropped: new instances from H[own] */
	TR_VARIANT_KEEP_OLD_INC = 1 << 21,    /* J0's drop dropped: old-incarnation messages kept */
	/* §12 S (the caller's half: the simulator's disk and restart). */
	TR_VARIANT_REPLY_BEFORE_PERSIST = 1 << 22, /* S1 broken: a burst's messages leave
						    * before its records are synced */
	TR_VARIANT_RESTART_SAME_INC = 1 << 23, /* J0 broken: a restart from disk keeps
						* the incarnation it had */
	TR_VARIANT_ACK_BEFORE_PERSIST = 1 << 24, /* S1 broken: a write's answer (P5)
						  * leaves before the sync of its commit */
	TR_VARIANT_NO_CATCHUP_PACE = 1 << 25, /* T4 off: a peer behind under load
					       * chases stale snapshots */
	TR_VARIANT_PACE_FOR_DEAF = 1 << 27,   /* T4 for a peer that does not hear us:
					       * the survivors paced for nothing */
	TR_VARIANT_FIRST_BY_HEARD = 1 << 26,  /* P6/Q1 by hearing only: a deaf peer (it
					       * sends, never answers) gets half the
					       * first attempts and every other retry */
	TR_VARIANT_NO_PROMISE_FLOOR = 1 << 28, /* S4 broken: a restart from disk forgets
						* the first attempts it sent unsynced */
	TR_VARIANT_NO_RESTART_GAP = 1 << 29,  /* S4 broken: a restart from disk uses
					       * again the lsns of first attempts it
					       * sent unsynced */
	TR_VARIANT_NO_MEMORY_CHECK = 1 << 30, /* J5 broken: a life that did not join
					       * votes at once and never compares its
					       * memory with its peers' echo */
};

/* scripts/mutants.sh builds with -DTR_MUTANT_VARIANT=bits: those variants
 * forced on in every replica and state machine, whatever the test asks. */
#ifndef TR_MUTANT_VARIANT
#define TR_MUTANT_VARIANT 0
#endif

struct tr_config {
	uint8_t id;            /* this replica, 0..2 */
	uint32_t cluster_id;
	uint32_t log_slots_max;   /* per column, a power of two: the slot ring */
	uint32_t inflight_max;    /* the owner's uncommitted instances at most */
	uint16_t batch_cmds_max;  /* commands per instance */
	uint32_t batch_bytes_max; /* encoded command bytes per instance */
	uint32_t pending_bytes_max; /* client commands queued at the owner */
	uint32_t fetch_span_max;  /* slots asked for in one FETCH */
	uint64_t retry_ns;        /* P6: first retry timeout, doubled per attempt */
	uint64_t retry_max_ns;    /* P6: cap of the back-off */
	uint64_t fetch_ns;        /* C2: age of a gap before fetching, and re-fetch period */
	uint64_t recover_ns;      /* R1: age of a slot before a non-owner recovers it */
	uint64_t status_ns;       /* STATUS period */
	uint64_t suspect_ns;      /* a peer silent this long is suspected (R2, P6) */
	uint64_t join_ns;         /* J1: JOIN re-sent this often until both peers answer */
	uint64_t catchup_ns;      /* T4: while a peer that fell below the base catches
				   * up, the owner paces its instances so that the
				   * newer half of the ring lasts this long (0: off) */
	uint64_t seed;            /* jitter */
	uint32_t read_bytes_max;  /* Q1: encoded GETs waiting for a barrier (and per batch) */
	uint32_t read_batches_max; /* Q2: answered barriers queued for the applier */
	uint32_t read_barriers_max; /* Q1: barriers in flight per column, at most
				     * (1..TR_READ_BARRIERS_MAX; 1: one round trip
				     * at a time) */
	/* The state machine's limits that can refuse a command (TR_ST_FULL):
	 * part of the cluster's configuration, equal on every replica, so that
	 * every replica decides every command alike. STATUS carries them; a
	 * replica that hears different ones stops, naming both. */
	uint64_t sm_keys_max;
	uint32_t sm_clients_max;
	uint32_t incarnation;     /* J0: this life's incarnation (>= 1), when not joining */
	bool join;                /* J: start as an amnesiac: JOIN both peers, take the
				   * incarnation they report plus one, vote and serve
				   * only as J2-J4 allow */
	uint32_t join_inc_floor;  /* J0: a joiner also takes an incarnation above this
				   * one (a disk's last, when its peers forgot it) */
	uint32_t peer_inc_seen[TR_REPLICAS]; /* J0: the highest incarnation of each peer
				   * heard in earlier lives (a disk's record): a
				   * peer's JOIN is answered with no less */
	/* S1 (durable.h): every change a later message may reveal, reported
	 * before the step returns the messages; NULL: memory only. */
	tr_durable_fn *durable;
	void *durable_arg;
	uint32_t variant;         /* enum tr_variant, tests only */
};

/* Fills a configuration with defaults for a LAN-like round trip of rtt_ns. */
void tr_config_default(struct tr_config *cfg, uint8_t id, uint64_t rtt_ns);
/* Sets the timers counted in round trips (retry, fetch, recover, status,
 * suspect, join) for a round trip of rtt_ns, as tr_config_default does:
 * a replica with a disk counts its sync in it. */
void tr_config_timers(struct tr_config *cfg, uint64_t rtt_ns);
/* NULL when valid, else what is wrong. */
const char *tr_config_check(const struct tr_config *cfg);

enum tr_slot_flags {
	TR_SLOT_VALUE = 1 << 0,   /* holds a value (as a proposal or a vote) */
	TR_SLOT_ATTEMPT = 1 << 1, /* this replica runs an attempt (P2–P6, R1) */
	TR_SLOT_FETCHED = 1 << 2, /* a FETCH covering it went out (R1) */
};

/* One slot as this replica holds it. Once committed, the value never changes
 * (C1): another thread may read it after an acquire load of committed finds
 * lsn + 1 there (a tag, so a recycled cell is never mistaken for it). */
struct tr_slot {
	uint64_t lsn;              /* tag: the lsn this ring cell holds now */
	_Atomic uint64_t committed; /* lsn + 1 once committed (release store), else 0 */
	uint8_t flags;
	uint8_t attempt_peer;
	uint8_t refused;           /* J2: peers that refused to vote here (a bit each) */
	struct tr_ballot promised;
	struct tr_ballot vbal;     /* none: the value is only a proposal */
	struct tr_ballot attempt;  /* the ballot of the attempt in flight */
	uint32_t n_seen;           /* P2: highest n seen in replies */
	uint32_t attempts;
	uint64_t seen_ns;          /* R1: when this replica learned the slot exists */
	uint64_t timer_ns;         /* next retry (attempt in flight) */
	struct tr_value value;     /* value.cmds points at the slot's cmds cell */
	uint8_t *cmds;             /* batch_bytes_max bytes */
	/* P1: the owner's client commands for this lsn, kept apart (P7). */
	uint8_t *own_cmds;         /* owner column only */
	uint32_t own_len;
	uint16_t own_count;
};

struct tr_peer {
	uint32_t inc;       /* J0: its incarnation as this column last saw it */
	uint64_t heard_ns;  /* last message from it on this column (0: never) */
	uint64_t answered_ns; /* last reply from it to this column's requests */
	uint64_t asked_ns;  /* the first request to it since its last reply (0: none) */
	uint64_t committed; /* its committed prefix of this column (STATUS) */
	uint64_t said;      /* the same as it said it, unclamped: echoed back (heard);
			     * kept across its restarts from disk (J5) */
	uint64_t heard_us;  /* T4: our committed prefix as it last echoed hearing it */
	uint64_t applied;   /* its applied prefix of this column (STATUS) */
	bool joining;       /* its JOIN came: its next life echoes from 0 (T4) */
};

/* Issue 17, docs/protocol.md "Plausibility": why a well-formed message was
 * judged impossible for an honest peer and dropped (plausible.c). */
#define TR_IMPLAUSIBLE(X)                                                     \
	X(INC, "incarnation beyond what restarts could reach")                \
	X(AHEAD, "lsn, deps or known beyond the window of this replica's known") \
	X(OWN, "own column beyond what this replica allocated")               \
	X(BALLOT, "ballot n beyond the slot's step")                          \
	X(SHAPE, "fields that contradict each other")                         \
	X(CMDS, "client commands not from the column's owner")

enum tr_implausible {
#define TR_IMPLAUSIBLE_ENUM(name, text) TR_IMPLAUSIBLE_##name,
	TR_IMPLAUSIBLE(TR_IMPLAUSIBLE_ENUM)
#undef TR_IMPLAUSIBLE_ENUM
	TR_IMPLAUSIBLE_COUNT
};

/* The reason's text, for logs and exported counters. */
const char *tr_implausible_name(unsigned reason);

/* Plausibility bounds (docs/protocol.md): a ballot's n may exceed the highest
 * n this replica has seen for the slot by at most TR_BALLOT_STEP, a peer's
 * incarnation its last known one by at most TR_INC_STEP; a non-own column's
 * lsns and deps may exceed known by at most log_slots_max + 2 * inflight_max. */
#define TR_BALLOT_STEP (UINT32_C(1) << 20)
#define TR_INC_STEP (UINT32_C(1) << 16)

/* Counters of one column; the runtime exports them. */
struct tr_column_stats {
	uint64_t rx[TR_MSG_TYPE_COUNT];
	uint64_t tx[TR_MSG_TYPE_COUNT];
	uint64_t proposed;     /* instances allocated (P1) */
	uint64_t reproposed;   /* P7 */
	uint64_t committed;
	uint64_t retries;      /* P6 */
	uint64_t recoveries;   /* R1 attempts */
	uint64_t rejects_sent;
	uint64_t fetches;
	uint64_t fetch_too_old; /* FETCHes and ACCEPTs for recycled slots, answered TOO_OLD */
	uint64_t too_old_rx;    /* T1: TOO_OLD received (a snapshot may be needed) */
	uint64_t stale_inc;     /* J0: messages from an older incarnation, dropped */
	uint64_t join_refused;  /* J2, J5: ACCEPTs this replica could not vote on */
	uint64_t joins;         /* J1: JOIN sent (joiner) or answered (peer) */
	uint64_t ignored;      /* stale replies, out-of-window slots */
	uint64_t implausible[TR_IMPLAUSIBLE_COUNT]; /* dropped, by reason (issue 17) */
	uint64_t status_clamped; /* H2: a STATUS beyond the window, used up to it */
	uint64_t backpressure; /* submits and reads refused */
	uint64_t reads;        /* barrier reads taken (Q1) */
	uint64_t read_barriers; /* READ_INDEX sent, retries included */
	uint64_t read_retries; /* Q1: timeouts */
	uint64_t read_queue_full; /* Q2: answered batch waiting for the applier */
	uint64_t paced;        /* T4: instances started at the catch-up pace */
	uint64_t pace_slowed;  /* T4: a peer installed a snapshot too old: pace halved */
};

/* Q1: a barrier of the owner column: the reads of the column's read FIFO
 * below len bytes (count reads) were taken before READ_INDEX(id) went to
 * peer; it covers them from the previous barrier's end. Once answered, k is
 * the K of Q2 and the batch waits for room in the applier's queue. */
#define TR_READ_BARRIERS_MAX 16

enum tr_barrier_state {
	TR_BARRIER_IDLE = 0,
	TR_BARRIER_SENT = 1,
	TR_BARRIER_ANSWERED = 2,
};

struct tr_barrier {
	uint8_t state;         /* enum tr_barrier_state */
	uint8_t peer;
	uint32_t attempts;
	uint64_t id;           /* of the last READ_INDEX sent */
	uint64_t sent_ns;
	uint64_t timer_ns;     /* Q1: timeout, then the other peer */
	uint32_t count;        /* end of its reads in the FIFO (all before it too) */
	uint32_t len;          /* ... in bytes */
	uint64_t k[TR_COLUMNS];
	uint64_t own_known[TR_COLUMNS]; /* known at send (READ_OWN_KNOWN_ONLY) */
};

/* Q2 -> Q3: an answered barrier, handed to the applier. */
struct tr_read_batch {
	uint64_t k[TR_COLUMNS]; /* answer once applied[c] >= k[c] for every c */
	uint32_t count;
	uint32_t len;
	uint8_t *cmds;         /* read_bytes_max bytes: count encoded GETs */
};

struct tr_replica;

struct tr_column {
	struct tr_replica *rep;
	uint8_t id;            /* the column */
	bool owned;            /* id == replica id */
	uint64_t base;         /* lowest lsn still held (recycling below it) */
	uint64_t committed;    /* committed prefix */
	uint64_t next_lsn;     /* P1: owner only */
	uint64_t scanned;      /* slots below this have a cell (R1 timers started) */
	struct tr_slot *slots; /* log_slots_max cells, index lsn & mask */
	uint64_t mask;
	struct tr_peer peers[TR_REPLICAS];
	uint64_t next_ns;      /* earliest armed timer */
	uint64_t status_at_ns;
	uint64_t fetch_at_ns;
	uint8_t fetch_peer;
	uint64_t rng;
	/* Owner only: client commands waiting for an instance (FIFO of encoded
	 * commands) and slots committed as a NOOP that must be re-proposed (P7). */
	uint8_t *pending;
	uint32_t pending_off;  /* first queued byte */
	uint32_t pending_len;  /* end of queued bytes */
	uint32_t pending_count;
	uint64_t *repropose;   /* lsns, inflight_max of them */
	uint32_t repropose_count;
	/* Owner only: barrier reads (Q1), FIFO of encoded GETs, and the
	 * barriers in flight over it, oldest first (a ring of
	 * read_barriers_max): each covers the reads from the previous one's end
	 * to its own; the reads after the newest one's end have none yet. */
	uint8_t *reads;
	uint32_t reads_off;    /* first queued byte (compacted when the end is reached) */
	uint32_t reads_len;    /* bytes queued from there */
	uint32_t reads_count;
	uint64_t read_id_next;
	struct tr_barrier barriers[TR_READ_BARRIERS_MAX];
	uint32_t barrier_head;  /* the oldest */
	uint32_t barrier_count;
	uint64_t read_rtt_ns;   /* smoothed round trip of first attempts (pacing) */
	/* T4, owner only: while a peer catches up, one instance per pace_ns. */
	uint8_t catchup;        /* peers that fell below the base, not back yet (a bit each) */
	uint64_t pace_ns;
	uint64_t pace_at_ns;    /* the next instance starts then at the earliest */
	uint64_t pace_slow_at_ns; /* no halving of the pace before then */
	uint64_t pace_heard_ns; /* a peer of the episode reported then */
	/* J3 at a peer of a joiner (this column's owner): the slots below
	 * abandon_below are recovered at once, never shipped to the owner. */
	uint64_t abandon_below;
	uint64_t join_id;      /* the JOIN being answered */
	uint64_t join_known[TR_COLUMNS]; /* known when that JOIN first came (J1's H) */
	/* S1: the known last made durable by this column (READ_INDEX_REPLY). */
	uint64_t known_durable[TR_COLUMNS];
	/* S4, owner only, after a restart from disk: every slot of the column
	 * counts as promised at least this, the ballot of the first attempts
	 * the last life may have sent before their records were durable. */
	struct tr_ballot promise_floor;
	uint64_t gap_end;   /* S4: the restart's next lsn; the owner attempts below */
	bool floor_open;    /* J2: a joiner's, until its committed prefix reaches the floor */
	struct tr_column_stats stats;
};

/* J1-J4: where this replica stands in a join. */
enum tr_join_state {
	TR_JOIN_NONE = 0,    /* a replica that remembers: votes, proposes, serves */
	TR_JOIN_WAITING = 1, /* J1: JOIN sent, not both answers in: votes nowhere */
	TR_JOIN_JOINED = 2,  /* J2: votes from the floors up; J4: serves once caught up */
}; 

struct tr_shared {
	_Atomic uint64_t known[TR_COLUMNS]; /* D1: atomic max, seq_cst */
	_Atomic uint64_t applied[TR_COLUMNS];
	_Atomic uint32_t violation;         /* a safety violation stopped the replica */
	/* Q2 -> Q3: the owner column produces, the applier consumes; free-running
	 * counters, entry i at batches[i % read_batches_max]. */
	_Atomic uint64_t read_head;         /* consumer: batches answered */
	_Atomic uint64_t read_tail;         /* producer: batches handed over */
	struct tr_read_batch *read_batches;
	/* J0: this life's incarnation, and the highest seen from each peer. */
	_Atomic uint32_t inc;
	_Atomic uint32_t peer_inc[TR_REPLICAS];
	/* J1-J4, written by the own column (release on join_state), read by all. */
	_Atomic uint32_t join_state;        /* enum tr_join_state */
	_Atomic bool serving;               /* J4: caught up to the peers' frontier */
	_Atomic uint32_t vouched;           /* J5: columns a peer's STATUS vouched for */
	uint64_t floor[TR_COLUMNS];         /* J2: no vote below floor[c] unless committed */
	_Atomic uint32_t floors_met;        /* J2: columns committed up to their floor
					     * (a bit each; all for a replica that remembers) */
	uint64_t join_frontier[TR_COLUMNS]; /* J4: the peers' applied frontier */
	/* T1: a peer said TOO_OLD above this replica's committed prefix. */
	_Atomic uint32_t snap_want;         /* 0, or 1 + the peer to ask */
};

struct tr_replica {
	struct tr_config cfg;
	struct tr_shared shared;
	struct tr_column col[TR_COLUMNS];
	uint64_t started_ns;   /* tr_replica_init's now_ns */
	/* Set before shared.violation: whoever sees the flag can read it. */
	_Atomic(const char *) violation_why;
	/* A stop this replica names (a configuration mismatch, J5), written by
	 * the column that claims it first. */
	_Atomic bool why_claimed;
	char why_named[256];
	/* J1, the joiner's own column only. */
	uint64_t join_id;
	uint64_t join_at_ns;   /* next JOIN */
	uint8_t join_answered; /* bit per peer */
	uint32_t join_inc_max;
	uint64_t join_h[TR_COLUMNS];
};

/* What a step asks the caller to do. */
struct tr_out {
	struct tr_msg *msgs;
	unsigned msg_count;
	unsigned msg_cap;
	uint64_t deadline_ns;   /* call tr_column_tick() at this time (UINT64_MAX: idle) */
	uint64_t committed_lsn[4]; /* slots of this column committed by this step */
	unsigned committed_count;
};

/* Sets an output for a new step (messages array of msg_cap entries). */
void tr_out_reset(struct tr_out *out);

size_t tr_replica_mem_bytes(const struct tr_config *cfg);
/* mem: tr_replica_mem_bytes() bytes, 64-byte aligned. Returns 0 or -1 (bad config). */
int tr_replica_init(struct tr_replica *r, const struct tr_config *cfg, void *mem, size_t len,
		    uint64_t now_ns);

/* Column entry points (each column: one thread at a time). */
void tr_column_recv(struct tr_column *c, const struct tr_msg *m, uint64_t now_ns,
		    struct tr_out *out);
void tr_column_tick(struct tr_column *c, uint64_t now_ns, struct tr_out *out);
/* Owner column only: queues one client command. 0, or -1 when the queue is
 * full or the command too big (back-pressure: retry after a completion).
 * Queued commands are proposed by the next flush, recv or tick, as many per
 * instance as the batch limits allow. */
int tr_column_submit(struct tr_column *c, const struct tr_cmd *cmd);
/* Owner column only: queues one GET for the read barrier (§8, Q1-Q3). 0, or
 * -1 when the read FIFO is full, the command too big or not a GET. A later
 * flush, recv or tick sends READ_INDEX when fewer than read_barriers_max are
 * in flight (paced over the round trip); every read queued before it goes out
 * shares its answer. The applier answers it
 * through the completion callback, lsn TR_LSN_BARRIER. */
int tr_column_read(struct tr_column *c, const struct tr_cmd *get);
void tr_column_flush(struct tr_column *c, uint64_t now_ns, struct tr_out *out);

/* J0: this replica's incarnation, for the frame header of everything it
 * sends (0 while an amnesiac waits for its JOIN answers). */
uint32_t tr_replica_inc(const struct tr_replica *r);
/* J4: true once the replica may take client commands and reads: always for
 * a replica that remembers; for a joiner, once it has applied the frontier
 * its peers reported. Submits and reads before then are refused. */
bool tr_replica_serving(const struct tr_replica *r);
/* J5: true once, in every column, a peer's STATUS has vouched for this
 * life's memory (at once for a joiner, whose J1 stands instead): until then
 * the replica neither votes nor proposes, and answers no READ_INDEX or JOIN. */
bool tr_replica_vouched(const struct tr_replica *r);

/* J2: true once every slot below the join floors is committed here: the
 * joiner votes everywhere again and no longer counts as the one failure. A
 * second failure before then may stop progress for good (the slots below the
 * floors need both of its peers). Any thread (a hint from another one). */
bool tr_replica_rejoined(const struct tr_replica *r);

/* T1: state transfer. A snapshot is the state machine at an applied frontier
 * plus this point (the frontier and known there). */
struct tr_snap_point {
	uint64_t applied[TR_COLUMNS];
	uint64_t known[TR_COLUMNS];
};

/* True when a peer answered TOO_OLD above this replica's committed prefix:
 * the caller should fetch a snapshot, from *peer preferably (the other one if
 * it does not answer). Stays true until an install. */
bool tr_replica_snapshot_wanted(const struct tr_replica *r, uint8_t *peer);
/* The point of a snapshot taken now: call from the thread that applies, at
 * the moment the state machine is copied (the applied frontier must match the
 * copy; a fuzzy copy replays the instances applied while it ran and takes the
 * point at its end). */
void tr_replica_snapshot_point(const struct tr_replica *r, struct tr_snap_point *pt);
/* T1: continues from a snapshot's point once the caller has installed its
 * state machine. Every column and the applier of this replica must be idle
 * (no other thread in the engine for this replica). Returns 0, or -1 when the
 * point is not ahead of what this replica applied (stale: discard it). Own
 * client commands whose slots the snapshot covers are proposed again (P7):
 * exactly-once answers them "duplicate" if they were applied. */
int tr_replica_install(struct tr_replica *r, const struct tr_snap_point *pt, uint64_t now_ns);
/* True when the point pt is ahead of this replica's applied frontier. */
bool tr_replica_snapshot_ahead(const struct tr_replica *r, const struct tr_snap_point *pt);

/* Read access for appliers and checkers. NULL unless this replica holds the
 * slot. A committed slot's value is final. */
const struct tr_slot *tr_column_slot(const struct tr_column *c, uint64_t lsn);
uint64_t tr_known(const struct tr_replica *r, unsigned column);

/* §7: the next column to apply given the three heads. heads[c].committed
 * false means missing or uncommitted. Returns the column, or -1 if nothing
 * can be applied; *need (if not NULL) gets the mask of columns whose head
 * blocks a start. */
struct tr_head {
	bool committed;
	uint64_t deps[TR_COLUMNS];
};
int tr_order_next(const struct tr_head heads[TR_COLUMNS], const uint64_t applied[TR_COLUMNS],
		  unsigned *need);

/* One applied command, reported for the clients of this replica (P5): only
 * for instances this replica proposed, i.e. its own column's client values;
 * and every barrier read of this replica (Q3: column is the replica's own,
 * lsn TR_LSN_BARRIER, index the read's position in its batch). */
#define TR_LSN_BARRIER UINT64_MAX

struct tr_completion {
	uint64_t client_id;
	uint64_t seq;
	uint8_t op;
	struct tr_sm_result res;
	uint8_t column;
	uint64_t lsn;
	uint16_t index;         /* the command's position in its instance */
};

typedef void tr_complete_fn(void *ctx, const struct tr_completion *done);
/* Observes every applied instance (checkers, stats); may be NULL. */
typedef void tr_applied_fn(void *ctx, unsigned column, uint64_t lsn,
			   const struct tr_value *value);

struct tr_applier {
	struct tr_replica *rep;
	struct tr_sm *sm;
	tr_complete_fn *complete;
	tr_applied_fn *applied;
	void *ctx;
	unsigned blocked;       /* columns whose head blocked the last step */
};

/* Applies up to max instances in §7 order; returns how many. Between
 * instances, and when nothing is left to apply, answers the barrier reads
 * whose K is covered (Q3). */
unsigned tr_apply(struct tr_applier *a, unsigned max);

#endif
