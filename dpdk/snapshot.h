/* SPDX-License-Identifier: MIT
 * Trireme runtime: snapshots of a replica's state machine (PROTOCOL §12 T1,
 * T3), their byte format, their production without a pause, their loading.
 *
 * Byte format, version 2 (little-endian; the durability work stores the
 * same bytes on disk):
 *
 *   header, TR_SNAP_HDR_BYTES:
 *     0 magic "TRSN" (u32 0x4e535254)   4 version u32     8 header bytes u32
 *    12 cluster id u32                 16 source replica u32
 *    20 client table bytes u32
 *    24 point: applied[3] u64          48 point: known[3] u64   (F_end)
 *    72 start: applied[3] u64 (F_start, where the fuzzy copy began)
 *    96 applied_cmds u64 at F_end     104 pairs u64    112 pair bytes u64
 *   120 instances u64                 128 instance bytes u64
 *   136 total bytes u64 (the whole snapshot, CRC included)
 *   144 machine u32: 0 the built-in KV, 1 the embedder's (trireme_sm.h)
 *   148..159 zero
 *   client table: tr_sm_clients_encode() at F_start
 *   pairs: u16 key_len, u32 val_len, key, value          (the fuzzy copy)
 *      or, machine 1: its snapshot's bytes at F_start (pairs 0, pair bytes
 *      their length), taken on the applier, not fuzzy
 *   instances: u8 column, u64 lsn, u16 cmd_count, u32 cmds_len, cmds
 *              (every instance applied from F_start to F_end, in order)
 *   u32 CRC32C (tr_crc32c) of every byte before it
 *
 * Loading: the pairs into a new store (machine 1: a new instance's
 * restore), the client table of F_start, then
 * the instances through tr_sm_apply: a write absolute over a fuzzy copy
 * converges, and the exactly-once decisions are the ones the source made
 * from the same table. The result is the state at F_end. (One exception,
 * documented: a store within a few keys of keys_max during the copy, where
 * "store full" decisions may differ: keys_max must leave room.)
 *
 * Production (T3): the applier calls tr_snap_begin() between two instances
 * (F_start, the client table copied at that instant) and passes every
 * instance it applies next to tr_snap_log(); a thread of the job iterates
 * the store inside one read-side section meanwhile; once tr_snap_copied(),
 * the applier calls tr_snap_close() with F_end and the thread assembles the
 * bytes. Neither the applier nor the columns wait for anything.
 */
#ifndef TR_SNAPSHOT_H
#define TR_SNAPSHOT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvstore.h"
#include "mmp3.h"
#include "usm.h"

#define TR_SNAP_MAGIC 0x4e535254u
#define TR_SNAP_VERSION 2u /* 2: client records carry their last write */
#define TR_SNAP_HDR_BYTES 160u
#define TR_SNAP_PAIR_HDR 6u
#define TR_SNAP_INST_HDR 15u
enum { TR_SNAP_MACHINE_KV = 0, TR_SNAP_MACHINE_USER = 1 };

struct tr_snap_hdr {
	uint32_t cluster_id;
	uint32_t source;
	uint32_t clients_bytes;
	struct tr_snap_point point; /* F_end */
	uint64_t start[TR_COLUMNS]; /* F_start */
	uint64_t applied_cmds;
	uint64_t pairs, pairs_bytes;
	uint64_t instances, instances_bytes;
	uint64_t total_bytes;
	uint32_t machine;           /* TR_SNAP_MACHINE_* */
};

/* Growable byte buffer. */
struct tr_snap_buf {
	uint8_t *p;
	size_t len, cap;
};

/* 0, or -1 (out of memory: nothing appended). */
int tr_snap_buf_put(struct tr_snap_buf *b, const void *data, size_t len);
void tr_snap_buf_free(struct tr_snap_buf *b);

/* Writes h at buf (TR_SNAP_HDR_BYTES). */
void tr_snap_hdr_encode(uint8_t *buf, const struct tr_snap_hdr *h);
/* Checks a whole snapshot (header, section sizes, CRC) and fills *h.
 * NULL when valid, else what is wrong. */
const char *tr_snap_check(const uint8_t *buf, size_t len, uint32_t cluster_id,
			  struct tr_snap_hdr *h);
/* Loads a checked snapshot into sm, whose store is new and empty: the
 * client table, the pairs, the instances. NULL, or what is wrong (sm is
 * then garbage). The caller's thread: registered, online. */
const char *tr_snap_load_into(const uint8_t *buf, const struct tr_snap_hdr *h,
			      struct tr_sm *sm);

/* Production, see the top. Threads are counted in *threads (the runtime
 * waits for 0 before freeing stores). */
struct tr_snap_job;

/* A job for the applier of a replica with store kvs and client table in sm;
 * references: the caller's and the applier's (tr_snap_begin takes the
 * applier's). NULL when out of memory. */
struct tr_snap_job *tr_snap_job_new(uint32_t cluster_id, uint8_t source,
				    _Atomic int *threads);
/* Applier: F_start now; copies sm's client table and starts the copy of
 * sm's store (the embedder's machine: its snapshot, now, on the applier).
 * -1 when out of memory, no thread or the machine's snapshot failed (the
 * job is then failed). */
int tr_snap_begin(struct tr_snap_job *j, const struct tr_sm *sm,
		  const struct tr_snap_point *start);
/* Applier, while the job is open: one instance just applied. */
void tr_snap_log(struct tr_snap_job *j, unsigned column, uint64_t lsn,
		 const struct tr_value *v);
bool tr_snap_copied(const struct tr_snap_job *j);
/* Applier: F_end now; drops the applier's reference. */
void tr_snap_close(struct tr_snap_job *j, const struct tr_snap_point *end,
		   uint64_t applied_cmds);
/* The owner: the bytes once assembled (NULL until then), *failed when the
 * job cannot finish. */
const uint8_t *tr_snap_ready(struct tr_snap_job *j, size_t *len, bool *failed);
/* Drops a reference (the owner's, or the applier's when the replica stops
 * before tr_snap_close); an unfinished copy is abandoned. */
void tr_snap_put(struct tr_snap_job *j);

/* Loading on a thread of its own: takes buf (malloc'd) and builds a new
 * store (keys_max) or, with usm, a new instance of the embedder's machine,
 * a client table (recs records) and the state machine at the snapshot's
 * point. */
struct tr_snap_load {
	_Atomic int state;      /* 0 running, 1 done, -1 failed */
	_Atomic int refs;
	_Atomic int *threads;
	uint8_t *buf;
	size_t len;
	uint32_t cluster_id;
	uint64_t keys_max;
	uint32_t recs_max;
	const char *why;        /* failed: what was wrong */
	struct tr_snap_hdr hdr;
	struct tr_usm_spec usm_spec; /* ops NULL: the built-in KV */
	struct tr_kvstore *kv;  /* done: taken by the installer (NULL it) */
	struct tr_usm *usm;     /* the same */
	struct tr_client_rec *recs;
	uint32_t stages_max;
	void *stages;           /* the same (tr_stages_new) */
	struct tr_sm sm;
};

/* stages_max: the large commands' stages of the new state machine (its
 * snapshot's open stages are loaded into them). */
struct tr_snap_load *tr_snap_load_start(uint8_t *buf, size_t len, uint32_t cluster_id,
					uint64_t keys_max, const struct tr_usm_spec *usm,
					uint32_t recs_max, uint32_t stages_max,
					_Atomic int *threads);
/* Drops the owner's reference; what was not taken is freed. */
void tr_snap_load_put(struct tr_snap_load *l);

/* Staging memory for stages_max large commands (issue 16) of
 * TR_LARGE_BYTES_MAX each, given to sm (tr_sm_stages_init): an anonymous
 * mapping whose pages cost memory only once a stage writes them (a
 * machine that never sees a large value pays address space only). NULL
 * when out of memory (or stages_max 0); tr_stages_free takes NULL. */
void *tr_stages_new(struct tr_sm *sm, uint32_t stages_max);
void tr_stages_free(void *mem, uint32_t stages_max);

/* Frees a store once no reader can hold it (a grace period), on a thread of
 * its own, counted in *threads. */
void tr_snap_store_retire(struct tr_kvstore *kvs, _Atomic int *threads);

#endif
