/* SPDX-License-Identifier: MIT
 * Trireme state machine: exactly-once writes (§8) in front of a machine.
 *
 * tr_sm is the one seam between replication and storage. It makes the
 * exactly-once decision for every write (client id, seq, W) from its client
 * table, then hands the fresh writes, in order and in batches, to a machine
 * (struct tr_machine), and the reads to its read. The built-in machine is
 * the KV (tr_kv_machine): set/get/del over a tr_store (ops table), so the
 * simulator uses the fixed-size table below and the runtime a concurrent
 * one, with the same decisions. The runtime puts the embedder's own machine
 * (trireme_sm.h) behind the same seam. Every replica that applies the same
 * sequence reaches the same state and the same digest.
 */
#ifndef TR_KV_H
#define TR_KV_H

#include "types.h"

enum tr_status {
	TR_ST_OK = 0,        /* applied; a get found the key */
	TR_ST_NOT_FOUND = 1, /* get or del of an absent key (del is still success) */
	TR_ST_DUPLICATE = 2, /* write already applied: acknowledged again, not applied */
	TR_ST_TOO_OLD = 3,   /* write older than its window: not applied, outcome unknown */
	TR_ST_FULL = 4,      /* the store or the client table is full: not applied
			      * (a write the machine refused stays decided: the
			      * same seq again is a duplicate) */
	TR_ST_STAGED = 5,    /* a part applied; its large command is not complete */
	TR_ST_INVALID = 6,   /* a malformed part or staged whole: refused, nothing
			      * changed, decided like FULL */
};

const char *tr_status_str(int st);

/* Storage. get returns 0 and points *val at the stored bytes (valid until the
 * next set/del of that key), or -1 if absent. set returns 0, or -1 when the
 * store is full (nothing changed); del returns 0, or 1 if the key was absent.
 * set is given the key's hash (tr_kv_key_hash) and the new pair's digest
 * contribution (tr_kv_pair_hash) to keep with it; set and del put in *old
 * the one kept with the pair they replaced or removed, 0 if none: a write
 * is one look-up, and no key or pair is hashed twice (a 1 MiB value would
 * be). */
struct tr_store_ops {
	int (*get)(void *store, const uint8_t *key, uint16_t key_len, const uint8_t **val,
		   uint32_t *val_len);
	int (*set)(void *store, const uint8_t *key, uint16_t key_len, uint64_t key_hash,
		   const uint8_t *val, uint32_t val_len, uint64_t pair_hash, uint64_t *old);
	int (*del)(void *store, const uint8_t *key, uint16_t key_len, uint64_t *old);
	/* Optional (NULL: none): a hint that the key whose tr_kv_key_hash is
	 * key_hash is written soon, in two stages a few commands apart (0: its
	 * bucket, 1: what the bucket points at). Changes nothing. */
	void (*prefetch)(void *store, uint64_t key_hash, unsigned stage);
};

/* Per client: the highest write sequence applied and which of the
 * TR_WINDOW_MAX sequences below it were applied (bit i: hi - 1 - i). */
struct tr_client_rec {
	uint64_t client_id;
	uint64_t hi;      /* 0: nothing applied yet (sequences start at 1) */
	uint64_t below;   /* bitmap */
	uint64_t last;    /* stage_clock at the client's last write */
	uint8_t used;
};

struct tr_sm;
struct tr_sm_result;

/* What the commands do, on the machine of sm (its machine_ctx; the KV: its
 * ops, store and digest). apply: n fresh writes (exactly-once decided), in
 * order; res[i] is cmds[i]'s, zeroed before: status TR_ST_OK, NOT_FOUND, or
 * FULL (refused, nothing changed), code and val for the client (val valid
 * until the next call). read: a get or query, changes nothing. digest
 * (NULL: the machine keeps tr_sm.digest itself): the state's digest, asked
 * after each apply. A tr_sm may be copied: nothing points back at it. */
struct tr_machine {
	void (*apply)(struct tr_sm *sm, const struct tr_cmd *cmds, unsigned n,
		      struct tr_sm_result *res);
	void (*read)(struct tr_sm *sm, const struct tr_cmd *cmd, struct tr_sm_result *res);
	uint64_t (*digest)(const struct tr_sm *sm);
};

/* The KV: set/get/del on tr_sm's store through its ops. */
extern const struct tr_machine tr_kv_machine;

/* Writes in one tr_sm_apply_batch at most. */
#define TR_SM_BATCH_MAX 64

struct tr_sm {
	const struct tr_machine *machine;
	void *machine_ctx;
	/* The KV's store (tr_kv_machine only; NULL for another machine). */
	const struct tr_store_ops *ops;
	void *store;
	struct tr_client_rec *clients; /* open addressing, clients_max, a power of two */
	uint32_t clients_max;
	uint32_t clients_used;
	uint64_t clients_evicted; /* records given to new clients (a count, not state) */
	uint64_t clients_idle_at; /* no record idle for client_ttl_cmds before this clock
				   * (a bound the last full scan found; 0: none) */
	uint64_t digest;   /* the machine's digest (the KV: order-independent, of
			    * the key/value contents) */
	uint64_t applied_cmds;
	uint32_t variant;  /* enum tr_variant (mmp3.h), tests only */
	uint8_t window;    /* TR_VARIANT_W_PER_REPLICA only: a replica's W */
	/* Large commands (issue 16): stages_max slots of stage_bytes in the
	 * caller's memory (tr_sm_stages_init; none: every part is FULL). A
	 * tr_sm copied shares them. */
	uint8_t *stages;
	uint32_t stages_max;
	uint32_t stage_bytes;
	uint32_t stages_used;
	uint64_t stage_ttl_cmds; /* a stage idle this many writes may be reclaimed */
	uint64_t client_ttl_cmds; /* a client record idle this many writes may be */
	uint64_t stage_clock;    /* writes given to tr_sm_apply_batch (in the
				  * order: every replica counts alike; in
				  * snapshots), the TTL clock of the stages
				  * and of the client records */
};

struct tr_sm_result {
	uint8_t status;        /* enum tr_status */
	uint32_t code;         /* the machine's own result (the KV: 0) */
	const uint8_t *val;    /* get with TR_ST_OK: the value, valid until the next apply */
	uint32_t val_len;
};

/* clients: clients_max records (a power of two), zeroed by init. tr_sm_init:
 * the KV over store; tr_sm_init_machine: another machine.
 *
 * The client table takes a new client up to 3/4 of clients_max; past that,
 * the new client takes the record of the client idle longest, if that one
 * wrote nothing for client_ttl_cmds writes (ties by client id: chosen by
 * the state alone), and its open stages go with it; else the write is FULL.
 * Client ids come and go (a process restarted without its data directory
 * takes new ones): without this the table would fill for good. An evicted
 * client's exactly-once is forgotten: a retry of one of its writes after
 * that many others is applied again. client_ttl_cmds must be equal on every
 * replica. */
#define TR_SM_CLIENT_TTL_CMDS (UINT64_C(1) << 24)
void tr_sm_init(struct tr_sm *sm, const struct tr_store_ops *ops, void *store,
		struct tr_client_rec *clients, uint32_t clients_max);
void tr_sm_init_machine(struct tr_sm *sm, const struct tr_machine *machine, void *ctx,
			struct tr_client_rec *clients, uint32_t clients_max);
/* Commands in order (n <= TR_SM_BATCH_MAX): each write decided (§8), the
 * fresh ones to the machine in batches, a read after the writes before it.
 * A read's val stays valid only if it is the last command of the call. */
void tr_sm_apply_batch(struct tr_sm *sm, const struct tr_cmd *cmds, unsigned n,
		       struct tr_sm_result *res);
void tr_sm_apply(struct tr_sm *sm, const struct tr_cmd *cmd, struct tr_sm_result *res);
/* Reads only (tr_op_is_read, n <= TR_SM_BATCH_MAX), as tr_sm_apply would
 * answer each; every val stays valid until the next write. */
void tr_sm_read_batch(struct tr_sm *sm, const struct tr_cmd *cmds, unsigned n,
		      struct tr_sm_result *res);

/* Large commands (issue 16). A command too large for a frame travels as
 * TR_OP_PART writes (types.h) of one client, staged here until every byte
 * of its whole (op key_len key val, TR_LARGE_BYTES_MAX at most) has
 * arrived, in any order; the part that completes it hands the whole to the
 * machine as one command (op, key, val, the part's client, window and seq)
 * at that part's place in the order, and its result is the command's.
 * Other parts: TR_ST_STAGED; overlapping, out of range, disagreeing or
 * malformed: TR_ST_INVALID. A stage is keyed by (client_id, stage), stage
 * being the seq of the command's first part; a new one takes a free slot,
 * else the least recently used one idle for stage_ttl_cmds writes, else the
 * part is FULL. mem: tr_sm_stages_mem_bytes, 8-byte aligned. stages_max and
 * stage_bytes must be equal on every replica (FULL must be decided alike). */
#define TR_SM_STAGE_TTL_CMDS (UINT64_C(1) << 20)
size_t tr_sm_stages_mem_bytes(uint32_t stages_max, uint32_t stage_bytes);
void tr_sm_stages_init(struct tr_sm *sm, void *mem, uint32_t stages_max, uint32_t stage_bytes);
/* The staged whole's bytes for op, key_len and val_len. */
size_t tr_large_bytes(uint16_t key_len, uint32_t val_len);
/* Writes into out the val of the part of stage holding the whole's bytes
 * [offset, offset + len) (the whole: op key val, never built in one piece);
 * returns TR_PART_HDR_BYTES + len. */
size_t tr_part_fill(uint8_t *out, uint64_t stage, uint8_t op, const uint8_t *key,
		    uint16_t key_len, const uint8_t *val, uint32_t val_len, uint32_t offset,
		    uint32_t len);
/* The digest replicas compare: the machine's (sm->digest) plus every open
 * stage's client, stage, total, clock and bytes (order-independent; reads
 * each stage whole, so for checkers, not for every apply). */
uint64_t tr_sm_digest(const struct tr_sm *sm);
/* The exactly-once table's digest: stage_clock and every client record (id,
 * hi, below, last), order-independent; equal on replicas that applied the
 * same writes (checkers: the eviction choices depend on all of it). */
uint64_t tr_sm_clients_digest(const struct tr_sm *sm);

/* T1: the exactly-once client table and the stages in a snapshot: a u32
 * count, then per client its id, hi, below and last (u64 each); then stage_clock
 * (u64) and a u32 count of stages, then per stage client_id, stage, last
 * (u64 each), total, have (u32 each), the bitmap of bytes received
 * ((total + 7) / 8 bytes) and the total bytes (zero where not received);
 * little-endian. encode returns the bytes written (tr_sm_clients_bytes), 0
 * when cap is too small; decode replaces the table and the stages and
 * returns 0, or -1 (malformed, a repeated client or stage, a stage of no
 * client, more clients or stages than sm takes: the table and the stages
 * are then empty). */
#define TR_SM_CLIENT_REC_BYTES 32
size_t tr_sm_clients_bytes(const struct tr_sm *sm);
size_t tr_sm_clients_encode(const struct tr_sm *sm, uint8_t *buf, size_t cap);
int tr_sm_clients_decode(struct tr_sm *sm, const uint8_t *buf, size_t len);
/* The digest contribution of one key/value pair (for stores and checkers). */
uint64_t tr_kv_pair_hash(const uint8_t *key, uint16_t key_len, const uint8_t *val,
			 uint32_t val_len);
/* The hash of a key, for tables (the engine's and the runtime's). */
uint64_t tr_kv_key_hash(const uint8_t *key, uint16_t key_len);

/* A fixed-size open-addressing table in caller memory: the simulator's and
 * the tests' store. Keys and values are copied into fixed-size cells. */
struct tr_table {
	uint8_t *cells;
	uint32_t cells_max; /* a power of two */
	uint32_t used;
	uint16_t key_max;
	uint32_t val_max;
	uint32_t cell_bytes;
};

size_t tr_table_mem_bytes(uint32_t cells_max, uint16_t key_max, uint32_t val_max);
void tr_table_init(struct tr_table *t, void *mem, uint32_t cells_max, uint16_t key_max,
		   uint32_t val_max);
extern const struct tr_store_ops tr_table_ops;

#endif
