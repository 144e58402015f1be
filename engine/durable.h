/* SPDX-License-Identifier: MIT
 * Trireme engine: what a replica with a disk keeps (PROTOCOL §12 S1-S3).
 *
 * The engine does no I/O. It reports every change a later message may
 * reveal through cfg.durable (S1), one record per change, from the thread
 * that runs the column concerned; the caller appends the record to its log
 * and makes the records of a burst durable (one sync) before it transmits
 * any message produced in that burst, unless every one of them is lazy
 * (S4: an owner's first attempt; the next sync covers it). Records are full
 * images: a later record of the same slot supersedes an earlier one.
 *
 * On restart (S2) the caller takes a new incarnation (J0: the one on disk
 * plus one, made durable before anything is sent), calls tr_replica_init
 * with it, installs its latest snapshot if it has one (tr_replica_install),
 * then hands back every record of its log after that snapshot, in log
 * order, with tr_replica_restore, and ends with tr_replica_restored. The
 * replica then votes at once: its promises and votes are intact.
 *
 * What the caller must also do (found by the simulator, docs/protocol.md
 * §12, departures): answer clients (P5 completions, Q3 barrier reads) only
 * after the sync that covers the commits they reveal, like any message;
 * make the incarnation a join takes (tr_replica_inc changes) durable before
 * sending what that step produced; restart a replica whose join had not
 * finished (tr_replica_rejoined() false) without memory again; and cut a
 * disk snapshot before the engine recycles past the last one (a column's
 * base beyond its point), or tr_replica_restore refuses the log.
 *
 * Byte format of one record (little-endian), written and read only through
 * tr_durable_encode / tr_durable_decode:
 *   u32 length of the body, u32 CRC32C (tr_crc32c) of the body, body.
 * A zero length word marks the end of a log (preallocated files are zero).
 */
#ifndef TR_DURABLE_H
#define TR_DURABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "types.h"

enum tr_durable_kind {
	TR_DURABLE_SLOT = 1,  /* a slot's promise, vote (with value) or commit */
	TR_DURABLE_KNOWN = 2, /* known, before a READ_INDEX_REPLY reveals it */
};

struct tr_durable_rec {
	uint8_t kind;               /* enum tr_durable_kind */
	uint8_t column;
	/* TR_DURABLE_SLOT */
	uint64_t lsn;
	struct tr_ballot promised;
	struct tr_ballot vbal;      /* none: value (if any) is only the owner's proposal */
	bool has_value;
	bool committed;             /* the value is chosen (C1) */
	/* S4: an owner's first attempt on a slot below its committed prefix
	 * plus TR_LAZY_SPAN (its promise at (1, self, inc) and its commands, no
	 * vote): the messages of a step whose records are all lazy may leave
	 * before the sync; a later sync covers them. Not stored
	 * (tr_durable_decode leaves it false). */
	bool lazy;
	struct tr_value value;      /* cmds point into the caller's or the engine's bytes */
	/* TR_DURABLE_KNOWN */
	uint64_t known[TR_COLUMNS];
};

/* S4: how far past its committed prefix an owner's first attempt may be
 * lazy, and so how far a restart from disk skips: a constant, not
 * inflight_max, which a restart may change. */
#define TR_LAZY_SPAN 32u

/* S1: called for every change to make durable. arg is cfg.durable_arg. */
typedef void tr_durable_fn(void *arg, const struct tr_durable_rec *rec);

/* Header bytes before the body (length + CRC). */
#define TR_DURABLE_HDR_BYTES 8u

/* Bytes tr_durable_encode needs for rec. */
size_t tr_durable_bytes(const struct tr_durable_rec *rec);
/* Writes one record (header included); returns its bytes, 0 if cap is short. */
size_t tr_durable_encode(uint8_t *buf, size_t cap, const struct tr_durable_rec *rec);

enum tr_durable_decode_rc {
	TR_DURABLE_OK = 0,
	TR_DURABLE_END = 1,  /* a zero length word, or fewer than 8 bytes left */
	TR_DURABLE_TORN = 2, /* the length runs past the end of the bytes */
	TR_DURABLE_BAD = 3,  /* CRC mismatch or a body that does not decode */
};

/* Reads one record at buf; *used gets its bytes. rec->value.cmds points
 * into buf. S3: TORN or BAD with no valid record after it is a torn tail
 * (drop it); BAD anywhere else is damage (rejoin as an amnesiac). */
int tr_durable_decode(const uint8_t *buf, size_t len, struct tr_durable_rec *rec, size_t *used);

struct tr_replica;

/* S2: one record from the log, in log order. Records of slots the snapshot
 * covers are skipped. Returns 0, or -1 when the record cannot belong to this
 * replica's log (column, lsn or ballot out of any possible range): damage. */
int tr_replica_restore(struct tr_replica *r, const struct tr_durable_rec *rec, uint64_t now_ns);
/* S2: after the last record: recomputes known and the own column's next
 * lsn, arms the timers. */
void tr_replica_restored(struct tr_replica *r, uint64_t now_ns);

#endif
