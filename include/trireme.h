/* SPDX-License-Identifier: MIT
 * Trireme: the embeddable client API of the replication engine.
 *
 * A struct trireme is one process's part of a cluster: either all three
 * replicas in one process over in-memory virtual NICs (TRIREME_CLUSTER), or
 * one replica over DPDK ports (TRIREME_REPLICA: a real NIC, or af_packet /
 * memif here). The caller initialises DPDK's EAL first (rte_eal_init), then:
 *
 *   trireme_conf_default(&conf);  ... set fields ...
 *   trireme_start(&conf, &t, err, sizeof(err));
 *   struct trireme_client *c = trireme_client_new(t, replica, window);
 *   trireme_submit(c, &op, tag);            (from the client's thread)
 *   trireme_wait(c, timeout_ns);            (sleeps until one is ready)
 *   trireme_poll(c, done, n);               (completions, same thread)
 *   trireme_client_free(c);
 *   trireme_stop(t);
 *
 * Build: pkg-config --cflags --libs trireme (libtrireme.so.0). The program
 * calls rte_eal_init itself, so it also builds with libdpdk's flags.
 *
 * Threads: every column of every local replica is served by a poll-mode
 * worker on an EAL lcore (several columns and replicas may share one lcore;
 * idle loops back off, conf.idle). Each local replica has one applier thread,
 * registered with liburcu (QSBR), that applies committed instances in
 * PROTOCOL §7 order to a lock-free hash table (the built-in key/value store), or to the
 * embedder's own state machine (trireme_sm.h, trireme_start_sm), and completes the
 * clients' commands.
 *
 * A command completes when it has been applied on the replica it was
 * submitted to (PROTOCOL P5). Writes are linearizable, and so are gets in
 * the two strong read modes: the read barrier (the default, PROTOCOL §8
 * Q1-Q3: one message to one peer, no log slot) and the log (a read-only
 * instance). Local reads (TRIREME_READ_LOCAL, trireme_read_local) are the
 * weaker mode: the replica's applied state, which may lag the cluster; not
 * linearizable.
 */
#ifndef TRIREME_H
#define TRIREME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header (semantic versioning: the library's SONAME is
 * libtrireme.so.MAJOR). trireme_version() is the library's at run time. */
#define TRIREME_VERSION_MAJOR 0
#define TRIREME_VERSION_MINOR 1
#define TRIREME_VERSION_PATCH 0
#define TRIREME_VERSION "0.1.0"

const char *trireme_version(void); /* "MAJOR.MINOR.PATCH" */

#define TRIREME_REPLICAS 3
#define TRIREME_KEY_MAX 1024
#define TRIREME_VAL_MAX 4096    /* a query's bytes; a set or cmd in one packet */
#define TRIREME_LARGE_MAX (1u << 20) /* a set's value, a cmd's bytes, a get's or
				       * query's result */
#define TRIREME_WINDOW_MAX 64   /* a client's outstanding commands W */
#define TRIREME_BATCH_MAX 4096  /* commands per instance */

/* Errors: negative return values, one table, one strerror. */
#define TRIREME_ERRORS(X)                                                    \
	X(INVAL, "invalid argument")                                         \
	X(NOMEM, "out of memory")                                            \
	X(BUSY, "queue full: wait for a completion and retry")               \
	X(STOPPED, "replica stopped")                                        \
	X(NODEV, "missing or unusable DPDK device")                          \
	X(LCORE, "not enough EAL lcores for the requested placement")        \
	X(TOO_OLD, "write older than its client's window: outcome unknown")  \
	X(FULL, "the store is full")                                         \
	X(TIMEOUT, "timed out")                                              \
	X(INTERNAL, "internal error")                                        \
	X(NOEAL, "EAL not initialised: call rte_eal_init first")             \
	X(ALREADY, "already started: one instance per process")              \
	X(APPLIED, "applied once before (proposed again): its result is not known here")

enum trireme_err {
	TRIREME_OK = 0,
#define TRIREME_ERR_ENUM(name, text) TRIREME_E##name,
	TRIREME_ERRORS(TRIREME_ERR_ENUM)
#undef TRIREME_ERR_ENUM
};

const char *trireme_strerror(int err); /* err: 0 or negative */

enum trireme_mode {
	TRIREME_CLUSTER = 0, /* 3 replicas in this process over net_ring ports */
	TRIREME_REPLICA = 1, /* one replica over DPDK ports */
};

struct trireme_sm_ops; /* trireme_sm.h */
#define TRIREME_AUTH_KEY_LEN 32 /* conf.auth_key, trireme_auth_key_read */

struct trireme_peer {
	uint8_t mac[6];
	uint32_t ip; /* host order, e.g. 10.0.0.1 = 0x0a000001 */
};

struct trireme_conf {
	enum trireme_mode mode;
	/* TRIREME_REPLICA: this replica's id, its DPDK port (one rx and one tx
	 * queue), and every replica's address (peers[replica_id] is our own). */
	unsigned replica_id;
	uint16_t port_id;
	struct trireme_peer peers[TRIREME_REPLICAS];
	uint16_t udp_port_base;      /* column c uses udp_port_base + c */
	/* IP MTU of every packet, TRIREME_MTU_MIN..TRIREME_MTU_MAX (default
	 * 1500). An instance's commands fit one packet: the MTU bounds the
	 * batch and the largest value (trireme_value_max). Above 1500 the
	 * port must take jumbo frames (net_ring always does). */
	uint16_t mtu;
	/* Placement: the EAL worker lcores to use (0: all but the main lcore).
	 * Columns are spread over them round robin; with fewer lcores than
	 * columns, several share one lcore. */
	unsigned lcores[64];
	unsigned lcore_count;
	bool applier_threads;        /* appliers on their own threads, not on
				      * the worker lcores (the default) */
	/* Engine limits. */
	uint32_t inflight_max;       /* uncommitted instances per owner */
	uint16_t batch_cmds_max;     /* commands per instance; 1: no batching */
	uint32_t log_slots_max;      /* per column, a power of two */
	uint64_t rtt_ns;             /* expected round trip; sets the timers (with a
				      * data_dir, plus two syncs measured at start) */
	uint64_t keys_max;           /* store capacity, the same on every replica */
	uint32_t clients_max;        /* per replica */
	uint32_t mbufs;              /* mempool size per replica */
	uint64_t seed;
	/* Client ids (the exactly-once key of PROTOCOL §8, sent in every
	 * command) are client_id_base + replica * clients_max + n, n below
	 * clients_max. 0 (the default): trireme_start picks a random base
	 * below 2^63 (getrandom), so that another process never shares an id;
	 * a base of your own must keep every id below 2^63 too (the ids above
	 * are remote clients', trireme_proto.h);
	 * with a data directory, a replica keeps the base its directory
	 * recorded, and its clients' sequences go on above the ceiling the
	 * directory recorded (docs/durability.md), so that restarts neither
	 * reuse a (client id, seq) the replicas remember (its writes would be
	 * answered as duplicates and not applied) nor fill their table of
	 * clients. A base of your own must be as far from every other
	 * process's; without a data directory, from every earlier start's too
	 * (with one, its clients' sequences start at the directory's ceiling
	 * or the wall clock in microseconds times 4,096, whichever is higher:
	 * above those of starts a second apart on a new directory or with
	 * another clients_max). (An in-process restart,
	 * trireme_replica_restart, keeps its clients' ids and sequences.) */
	uint64_t client_id_base;     /* default 0: random; taken from reserved */
	/* Start as an amnesiac that joins running peers (PROTOCOL §12 J; the
	 * launcher's --cluster-state existing): a replica restarted without
	 * its memory. It serves once caught up with its peers. */
	bool join;                   /* default false; taken from reserved */
	/* Authentication (off by default): every frame between replicas carries
	 * a 16-byte MAC under this key, and frames without a valid one are
	 * dropped (drops_auth). Every replica of the cluster needs the same key;
	 * trireme_auth_load rotates it at run time. Taken from reserved. */
	bool auth;
	uint8_t auth_key[TRIREME_AUTH_KEY_LEN];
	/* Remote clients (trireme_proto.h): how many a local replica serves at
	 * once over UDP, each through one of its clients (so at most
	 * clients_max, with the caller's own). 0: none (the default). Replica
	 * mode: UDP port udp_port_base + 4 of the replica's address, through
	 * its DPDK port; cluster mode: kernel UDP sockets on port
	 * udp_port_base + 4 + replica of every local address. Their datagrams
	 * carry no MAC (conf.auth covers the replicas' frames). */
	uint16_t serve_clients;      /* taken from reserved */
	/* Durability (PROTOCOL §12 S, docs/durability.md); taken from reserved.
	 * data_dir NULL: memory only (a replica restarts as an amnesiac that
	 * joins, and losing all three loses everything). Else each local
	 * replica keeps a write-ahead log, snapshots and a superblock there
	 * (in TRIREME_CLUSTER mode in data_dir/r0, r1, r2), makes every
	 * promise, vote and commit durable before a message or an answer
	 * reveals it, and restarts from it (trireme_start,
	 * trireme_replica_restart) voting at once. A directory that already
	 * holds this replica's state wins over join. The string is copied. */
	uint8_t sync;                /* enum trireme_sync, with data_dir */
	/* What a polling thread (worker lcore, applier thread, remote-client
	 * loop) does when a pass finds no work: enum trireme_idle (default
	 * TRIREME_IDLE_BACKOFF). Taken from reserved_pad. */
	uint8_t idle;
	uint8_t reserved_pad[2];     /* zero */
	const char *data_dir;
	uint32_t cluster_id;         /* 0: the default; the same on every
				      * replica: frames and data directories
				      * of another cluster are refused */
	uint8_t reserved[4];         /* zero (trireme_conf_default): room for
				      * later options without an ABI break */
};

/* How the write-ahead log makes a group of records durable. */
enum trireme_sync {
	TRIREME_SYNC_FDATASYNC = 0, /* pwrite, then one fdatasync per group
				     * (the default: measured fastest here) */
	TRIREME_SYNC_O_DSYNC = 1,   /* segments opened O_DSYNC */
	TRIREME_SYNC_NONE = 2,      /* UNSAFE against power loss: writes reach
				     * the page cache only (survives a process
				     * crash); for tmpfs and benchmarks */
};

/* conf.idle: the idle policy of the polling threads (docs/architecture.md,
 * "Idle back-off"). */
enum trireme_idle {
	TRIREME_IDLE_BACKOFF = 0, /* pause, then sched_yield, then sleep 20 us,
				   * later 200 us: shares CPUs with other
				   * threads and processes (the default) */
	TRIREME_IDLE_YIELD = 1,   /* pause, then sched_yield; never sleeps */
	TRIREME_IDLE_POLL = 2,    /* pause only, never gives up the CPU: for
				   * lcores on dedicated cores */
};

void trireme_conf_default(struct trireme_conf *conf);

#define TRIREME_MTU_MIN 576
#define TRIREME_MTU_MAX 9000

/* The largest value a set with a key of key_len bytes may carry under conf
 * (its MTU); 0 if the key alone does not fit. */
uint32_t trireme_value_max(const struct trireme_conf *conf, uint16_t key_len);

struct trireme;
struct trireme_client;

/* Starts the replicas of this process: one instance per process, after
 * rte_eal_init. On failure returns a negative error (-TRIREME_ENOEAL before
 * rte_eal_init, -TRIREME_EALREADY while an instance runs) and writes one
 * line saying what is wrong and what to do into err. */
int trireme_start(const struct trireme_conf *conf, struct trireme **out, char *err,
		  size_t err_len);
/* The same, replicating the embedder's own state machine (trireme_sm.h)
 * instead of the built-in key/value store: every local replica gets an
 * instance, sm->create(sm_arg, replica). sm must stay valid until
 * trireme_stop. trireme_start is trireme_start_sm with sm NULL. */
int trireme_start_sm(const struct trireme_conf *conf, const struct trireme_sm_ops *sm,
		     void *sm_arg, struct trireme **out, char *err, size_t err_len);
void trireme_stop(struct trireme *t);

/* Pauses a local replica (it stops processing and sending; its state is
 * kept, as in a long stall of its process), and resumes it: it catches up,
 * by a snapshot from a peer (PROTOCOL §12 T1) when its peers recycled the
 * log it missed. */
int trireme_replica_pause(struct trireme *t, unsigned replica);
int trireme_replica_resume(struct trireme *t, unsigned replica);
/* Crashes a local replica: it stops, and its memory is wiped (engine state,
 * store, client table); its clients' outstanding commands complete with
 * -TRIREME_ESTOPPED (outcome unknown) and new ones are refused until the
 * restart. Restart starts it again as an amnesiac that joins its peers
 * (PROTOCOL §12 J), with an empty store; its clients keep their ids and go
 * on from their next sequences. It serves once caught up (submits wait in
 * its queue meanwhile). With a data_dir, restart recovers it from its
 * directory instead (§12 S2: a new incarnation, its votes intact, voting at
 * once). Restart of a running
 * replica crashes it first. From one control thread. */
int trireme_replica_crash(struct trireme *t, unsigned replica);
int trireme_replica_restart(struct trireme *t, unsigned replica);
bool trireme_replica_local(const struct trireme *t, unsigned replica);

/* Fault injection in the transport, per replica and direction, at run time:
 * probabilities in [0, 1]; delay_us adds a fixed delay to that fraction (at
 * most 4,294,967 us). -TRIREME_EINVAL outside these ranges. */
struct trireme_faults {
	double drop_tx, drop_rx, dup_tx, delay_tx;
	uint32_t delay_us;
};
int trireme_set_faults(struct trireme *t, unsigned replica, const struct trireme_faults *f);

/* Clients. A client belongs to one replica and one thread (which must call
 * trireme_thread_online() first if it uses trireme_read_local). window is
 * its maximum outstanding commands W (1..64); it travels in every write.
 * At most conf.clients_max clients per replica exist at once; a freed
 * client's slot is reused, so clients may come and go forever. NULL with
 * errno ENOSPC when clients_max exist (free one or raise it), EINVAL (not a
 * local replica, window not in 1..64) or ENOMEM.
 * Freeing a client with commands outstanding abandons them: their writes may
 * or may not be applied, and nobody is told. trireme_client_free waits for
 * the appliers' next quiescent state (microseconds; the calling thread goes
 * offline meanwhile if it is online). */
struct trireme_client *trireme_client_new(struct trireme *t, unsigned replica, unsigned window);
void trireme_client_free(struct trireme_client *c);
/* The client's id (trireme_conf's client_id_base, or its data directory's);
 * the same after its replica's trireme_replica_restart. */
uint64_t trireme_client_id(const struct trireme_client *c);

enum trireme_op_kind {
	TRIREME_SET = 1,
	TRIREME_GET = 2,
	TRIREME_DEL = 3,
	/* With trireme_start_sm (trireme_sm.h): the embedder's state machine. */
	TRIREME_CMD = 4,   /* a write: op.val's bytes to its apply, exactly once */
	TRIREME_QUERY = 5, /* a read (read_mode barrier or log): op.val's bytes
			    * to its read */
};

/* How a get reads (PROTOCOL §8). */
enum trireme_read_mode {
	TRIREME_READ_BARRIER = 0, /* linearizable, no log slot: the owner column
				   * asks one peer for its known (Q1-Q3) */
	TRIREME_READ_LOG = 1,     /* linearizable, through the log: a read-only
				   * instance, one commit round */
	TRIREME_READ_LOCAL = 2,   /* WEAKER, not linearizable: this replica's
				   * applied state, read on the caller's thread
				   * (which must be online, trireme_thread_online) */
	TRIREME_READ_MODES
};

struct trireme_op {
	uint8_t kind;
	uint8_t read_mode; /* get, query: enum trireme_read_mode, 0 is the
			    * barrier (a query: barrier or log) */
	const void *key;
	uint16_t key_len;
	const void *val; /* set; cmd and query: their bytes */
	uint32_t val_len;
};

/* Queues a command; tag comes back with its completion. 0, or -TRIREME_EBUSY
 * when the client has window commands outstanding or the replica's queue is
 * full, -TRIREME_ESTOPPED, -TRIREME_EINVAL (a value above TRIREME_LARGE_MAX,
 * a query above what one packet carries), -TRIREME_EINTERNAL (the data
 * directory's superblock cannot take a new sequence ceiling, once in 2^32
 * commands). The key and value are copied.
 * A local get is done at once; its completion comes from the next poll.
 *
 * Large values: a set or cmd whose value is longer than
 * trireme_value_max(conf, key_len) (up to TRIREME_LARGE_MAX) travels as
 * parts, ordinary exactly-once writes that fill a packet each; the replicas
 * stage them and apply the whole command where its last part applies, and
 * the caller sees ONE completion (its tag, the command's result). Such an
 * op takes the client's whole window: submitted with anything outstanding
 * it gets -TRIREME_EBUSY, and every submit gets -TRIREME_EBUSY until its
 * completion is polled. Its parts go out as earlier ones are answered, at
 * most the window at a time, from trireme_poll and trireme_wait: a client
 * with a large op in flight must keep calling one of them (trireme_wait
 * sleeps only while parts are in flight). Its status: that of a set or cmd;
 * -TRIREME_EFULL: not applied (no stage free, at most 8 large commands of
 * the cluster at once, or the store full); -TRIREME_EINVAL: not applied (a
 * part the replicas refused as malformed); -TRIREME_ETOO_OLD,
 * -TRIREME_ESTOPPED: outcome unknown; -TRIREME_EAPPLIED (a set as well as a
 * cmd): applied exactly once, its result not seen here. After an error the
 * remaining parts are not sent; the replicas drop the half-staged command
 * later (a stage no part reached during 2^20 writes, when another needs its
 * room). A large op costs one round per window of parts: about
 * value / (window * packet) round trips. */
int trireme_submit(struct trireme_client *c, const struct trireme_op *op, uint64_t tag);

struct trireme_done {
	uint64_t tag;
	int status;       /* 0, or -TRIREME_ETOO_OLD / -TRIREME_EFULL; cmd and
			   * query: the machine's status (>= 0), or those, or
			   * -TRIREME_EAPPLIED: a cmd (or a large set) the
			   * machine applied before, whose answer this
			   * replica did not see
			   * (its replica caught up by a snapshot, PROTOCOL
			   * §12 T1): applied exactly once, result unknown */
	bool found;       /* get, del: the key was present; cmd, query:
			   * status == 0 */
	uint32_t val_len; /* get; cmd, query: the machine's result bytes, up to
			   * TRIREME_LARGE_MAX */
	const uint8_t *val; /* valid until the next trireme_poll or
			     * trireme_submit on this client */
};

/* Returns up to n completions. Never blocks. With a large op in flight it
 * also takes its parts' answers and sends its next parts (so it may return
 * 0 after a wake-up of trireme_client_fd). */
unsigned trireme_poll(struct trireme_client *c, struct trireme_done *done, unsigned n);
unsigned trireme_outstanding(const struct trireme_client *c);

/* Sleeps (no spinning) until a completion is ready for c or timeout_ns has
 * passed; a large op's parts' answers wake it, and it sends the next parts
 * itself before sleeping again (they are not completions). Returns the completions ready (> 0; take them with trireme_poll),
 * 0 at once when nothing is outstanding, -TRIREME_ETIMEOUT, or
 * -TRIREME_ESTOPPED when the client's replica stopped on a safety violation.
 * From the client's thread, like trireme_poll. */
int trireme_wait(struct trireme_client *c, uint64_t timeout_ns);

/* For an event loop (poll, epoll): a file descriptor that is readable while
 * a completion is ready for c; then trireme_poll (which rearms it). From
 * then on the applier signals every completion of c (one write(2) each),
 * and every answer to a large op's part: trireme_poll then sends the next
 * parts and may return 0.
 * The descriptor belongs to c: do not close it; it goes with the client. */
int trireme_client_fd(struct trireme_client *c);

/* Local read from the applied state (weaker: not linearizable). 0 found,
 * 1 absent, or a negative error. The calling thread must be online and
 * report quiescent states (trireme_thread_quiescent) between reads. */
int trireme_read_local(struct trireme *t, unsigned replica, const void *key, uint16_t key_len,
		       void *buf, uint32_t cap, uint32_t *val_len);
void trireme_thread_online(void);
void trireme_thread_quiescent(void);
void trireme_thread_offline(void);

/* Observation. */
#define TRIREME_IMPLAUSIBLE_MAX 8
/* The short name of a reason a message was implausible (docs/protocol.md
 * §13), e.g. "BALLOT"; NULL for one that does not exist. */
const char *trireme_implausible_name(unsigned reason);

struct trireme_replica_stats {
	uint64_t applied;          /* instances applied */
	uint64_t applied_cmds;
	uint64_t kv_digest;        /* order-independent digest of the KV state
				    * (trireme_start_sm: the machine's
				    * digest, or 0) */
	uint64_t keys;
	uint64_t committed, proposed, retries, recoveries, fetches, rejects;
	uint64_t barrier_reads, read_barriers; /* Q1: reads taken, READ_INDEX sent */
	uint64_t rx_pkts, tx_pkts, rx_msgs, tx_msgs;
	uint64_t drops_fault, drops_malformed, drops_foreign, drops_tx_full;
	uint64_t known[TRIREME_REPLICAS], applied_prefix[TRIREME_REPLICAS];
	/* [q][c]: replica q's applied prefix of column c as this one last heard
	 * it (STATUS); [self] is applied_prefix. */
	uint64_t peer_applied[TRIREME_REPLICAS][TRIREME_REPLICAS];
	uint64_t too_old;          /* §12 T1: TOO_OLD answers received */
	uint64_t drops_implausible; /* messages no honest peer could send (protocol §13) */
	/* §12 T1: snapshots sent, received, their bytes, installed, and those
	 * that failed or were discarded (stale) */
	uint64_t snap_sent, snap_received, snap_bytes_tx, snap_bytes_rx, snap_installs;
	uint64_t snap_failed;
	uint32_t incarnation;      /* §12 J0 (0 while joining) */
	bool paused;
	bool down;                 /* crashed, not restarted */
	bool serving;              /* takes commands: a joiner caught up (§12 J4),
				    * a peer vouched for its memory (J5) */
	bool peer_live[TRIREME_REPLICAS]; /* heard from in the last second */
	bool log_failed;           /* §12 S1: its data directory could not be
				    * written (a full or failing disk), so it
				    * sends nothing: stopped until restarted */
	uint64_t drops_auth;       /* frames without a valid MAC (conf.auth) */
	uint64_t auth_key_errors;  /* trireme_auth_load failures (the process's) */
	/* drops_implausible by reason, named by trireme_implausible_name */
	uint64_t implausible[TRIREME_IMPLAUSIBLE_MAX];
	/* Remote clients (conf.serve_clients): requests taken, replies sent,
	 * datagrams dropped as malformed (trireme_proto.h, TRP_DROPS). */
	uint64_t remote_requests, remote_replies, remote_drops;
	/* Bytes of the frames sent to peers (Ethernet headers on): the wire's
	 * cost, on devices whose stats count no bytes (net_ring). */
	uint64_t tx_bytes;         /* taken from reserved */
	/* §12 T4 (docs/protocol.md): instances this replica's owner started at
	 * the catch-up pace, while a peer caught up (taken from reserved) */
	uint64_t paced;
	/* §12 J2 (docs/protocol.md): every slot its old life may have voted on
	 * is committed here, so it votes everywhere again. A replica that kept
	 * its memory always; one restarted without memory some time after it
	 * serves. Until then it still counts as the one failure: stop another
	 * replica only once every replica has rejoined (taken from reserved). */
	bool rejoined;
	uint8_t reserved[7];       /* zero: room for later fields */
};
int trireme_replica_stats(struct trireme *t, unsigned replica, struct trireme_replica_stats *s);

/* §12 S, a local replica with a data directory (all zero without one):
 * records appended to its logs, group commits (one sync each: records /
 * syncs is the batch), bytes, time in write + sync (ns), snapshots written
 * to disk, log segments deleted behind them, torn tail bytes dropped at
 * the start, and damage found (the replica rejoined as an amnesiac). */
struct trireme_durable_stats {
	uint64_t wal_records, wal_syncs, wal_bytes, wal_sync_ns;
	uint64_t disk_snapshots, wal_trimmed, wal_torn_bytes, wal_damage;
	uint64_t reserved[8];      /* zero: room for later counters */
};
int trireme_durable_stats(struct trireme *t, unsigned replica, struct trireme_durable_stats *s);

/* Authentication keys (conf.auth). A key file holds 32 raw bytes or 64 hex
 * digits (a trailing newline allowed): `head -c 32 /dev/urandom > FILE`. */
/* Reads a key file into key. 0, or -TRIREME_EINVAL with one line in err
 * (missing, unreadable, too short, not hex). */
int trireme_auth_key_read(const char *path, uint8_t key[TRIREME_AUTH_KEY_LEN], char *err,
			  size_t err_len);
/* Key rotation without a restart, for an instance started with conf.auth.
 * Loads the key of the file at path: by default it signs every frame from
 * now on and the key that signed so far stays accepted (the roll-over);
 * with TRIREME_AUTH_ACCEPT it is only accepted (staged), the signing key
 * unchanged. Two keys at most: the one not kept goes. trireme_auth_retire
 * ends the roll-over: only the signing key is accepted. Both return once no
 * worker uses the keys before (an RCU grace period). Over a cluster of
 * processes: accept the new key everywhere, then sign with it everywhere,
 * then retire; no frame is dropped. 0, or -TRIREME_EINVAL (auth off, bad
 * file: one line in err, counted in auth_key_errors and logged) or
 * -TRIREME_ENOMEM. From one control thread. */
#define TRIREME_AUTH_ACCEPT 1u
int trireme_auth_load(struct trireme *t, const char *path, unsigned flags, char *err,
		      size_t err_len);
int trireme_auth_retire(struct trireme *t);

/* Health of a local replica. A safety violation (PROTOCOL A3, C1, P2: the
 * engine found two values where there must be one) stops the replica for
 * good: it refuses every later step, its clients' submits return
 * -TRIREME_ESTOPPED, and the library logs one line (DPDK log type
 * "trireme"). Its applied state is kept for inspection; rebuild it. */
struct trireme_replica_status {
	bool violation;      /* stopped on a safety violation */
	const char *why;     /* the rule broken, e.g. "A3: two different values
			      * voted at one ballot"; NULL without a violation */
	bool paused;         /* trireme_replica_pause */
	uint64_t reserved[8]; /* zero: room for later fields */
};
int trireme_replica_status(struct trireme *t, unsigned replica, struct trireme_replica_status *st);

#ifdef __cplusplus
}
#endif

#endif
