/* SPDX-License-Identifier: MIT
 * Trireme runtime: one column's write-ahead log (PROTOCOL §12 S1-S3).
 * Plain POSIX, no DPDK: the unit tests use it without an EAL.
 *
 * A column's log is a sequence of segment files wal-C-NNNNNNNNNNNN in the
 * data directory, each preallocated (posix_fallocate: its unwritten tail
 * reads as zeros), touched by the column's worker alone: no lock is shared
 * between columns. Segment layout:
 *   64-byte header: magic "TRWL", version, cluster id, replica id, column,
 *   segment number u64, zero, CRC32C at 60; then records (durable.h's
 *   codec), back to back; a zero length word ends them.
 *
 * Group commit (S1): the worker appends the records the engine reported
 * during a burst (tr_wal_append, buffered), then tr_wal_sync_post writes
 * them and has them made durable by one fdatasync (or one O_DSYNC write);
 * the burst's messages leave once that sync is done (tr_wal_durable). On a
 * disk whose fdatasync is slow (over TR_WAL_INLINE_NS, measured as it
 * goes) the fdatasync runs on the log's syncer thread, so the worker goes
 * on receiving and appending meanwhile, and the next sync covers all of
 * that at once; a fast one (tmpfs) runs inline. A full segment is synced
 * and closed before the next one opens, so only the newest segment can end
 * in a torn write.
 *
 * Replay (S2, S3): the segments in order, every valid record to a callback.
 * A record that fails at the end of the newest segment, with no valid
 * record after it, was never synced: its bytes are zeroed and dropped. Any
 * other failure (a bad record with a valid one after it, a bad record in an
 * older segment, a missing segment) is damage.
 */
#ifndef TR_WAL_H
#define TR_WAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "durable.h"

#define TR_WAL_SEG_HDR 64u
#define TR_WAL_SEG_BYTES_DEFAULT (16u << 20)
/* A log whose fastest fdatasync of the last 8 took longer than this syncs
 * on its syncer thread. */
#define TR_WAL_INLINE_NS 20000u

/* The same values as trireme.h's enum trireme_sync. */
enum tr_wal_sync {
	TR_WAL_FDATASYNC = 0, /* pwrite, then fdatasync (measured fastest here) */
	TR_WAL_ODSYNC = 1,    /* the segment opened O_DSYNC: each write is durable */
	TR_WAL_NONE = 2,      /* pwrite only: survives a process crash, not power loss */
};

struct tr_wal_seg {
	uint64_t seq;
	uint64_t max_lsn;  /* highest slot lsn in it (0: none) */
	bool has_slot;
};

struct tr_wal_replay {
	uint64_t records;
	uint64_t torn_bytes;   /* S3: an unsynced tail, dropped */
	bool damaged;          /* S3: damage: rejoin as an amnesiac */
	char why[256];         /* what and where, when damaged */
	uint64_t next_seq;     /* the writer's first segment */
	struct tr_wal_seg *segs; /* the segments read, oldest first (malloc'd) */
	unsigned nsegs;
};

/* One record in log order; rec->value.cmds points into the log's bytes,
 * valid during the call. Returns 0, or -1: the record is damage. */
typedef int tr_wal_rec_fn(void *ctx, const struct tr_durable_rec *rec);

/* Replays column's log. 0, or -1 on an I/O error (errno). Damage is not an
 * error: out->damaged. fn may be NULL (a scan). */
int tr_wal_replay(int dirfd, unsigned column, uint32_t cluster_id, uint32_t replica,
		  tr_wal_rec_fn *fn, void *ctx, struct tr_wal_replay *out);
void tr_wal_replay_free(struct tr_wal_replay *r);

struct tr_wal_stats {
	uint64_t records;     /* appended */
	uint64_t bytes;
	uint64_t syncs;       /* group commits (one fdatasync or O_DSYNC write) */
	uint64_t synced_records; /* records those syncs covered */
	uint64_t segments;    /* opened */
	uint64_t trimmed;     /* deleted behind a snapshot */
	uint64_t sync_ns;     /* time in the syncs' writes and fdatasyncs */
};

struct tr_wal_syncer; /* wal.c */

struct tr_wal {
	int dirfd;
	unsigned column;
	uint32_t cluster_id, replica;
	int mode;              /* enum tr_wal_sync */
	uint64_t seg_bytes;
	int fd;                /* the open segment */
	uint64_t seq;
	uint64_t off;          /* where buf goes in the segment */
	uint64_t seg_max_lsn;
	bool seg_has_slot;
	uint8_t *buf;          /* appended, not yet written */
	size_t len, cap;
	uint64_t unsynced;     /* records written or buffered, not yet durable */
	uint64_t must;         /* of them, not lazy (S4): a send waits for their sync */
	struct tr_wal_seg *closed; /* oldest first */
	unsigned nclosed, closed_cap;
	bool failed;           /* an I/O error: nothing may be sent any more */
	int err;               /* its errno */
	uint64_t posted;       /* the last sync generation asked for */
	struct tr_wal_syncer *syncer;
	/* Tests: a slow disk, this long before each fdatasync. */
	_Atomic uint64_t delay_ns;
	struct tr_wal_stats stats;
};

/* Opens a new segment after what replay found (from may be NULL: a new
 * log). 0, or -1 (errno). */
int tr_wal_open(struct tr_wal *w, int dirfd, unsigned column, uint32_t cluster_id,
		uint32_t replica, int mode, uint64_t seg_bytes, const struct tr_wal_replay *from);
/* S1: buffers one record. 0, or -1 on an I/O error (w->failed). */
int tr_wal_append(struct tr_wal *w, const struct tr_durable_rec *rec);
static inline bool
tr_wal_pending(const struct tr_wal *w)
{
	return w->unsynced > 0;
}

/* S1: everything appended made durable (one sync, after any the syncer
 * runs); nothing to do without records. Blocks. 0, or -1 on an I/O error
 * (w->failed). */
int tr_wal_sync(struct tr_wal *w);

/* S1 without blocking: writes what was appended and asks for a sync that
 * covers it, a generation above every one asked before (a sync the syncer
 * has not begun takes the new records too, under its generation). tag
 * comes back from tr_wal_durable once it is done. Inline (done on return)
 * when the disk is fast or the mode needs no fdatasync. Returns the
 * generation, or 0 on an I/O error (w->failed). */
uint64_t tr_wal_sync_post(struct tr_wal *w, uint64_t tag);

/* The highest generation durable, and (tag) what was posted with it, or
 * left alone when no tag was; a syncer's I/O error sets w->failed. */
uint64_t tr_wal_durable(struct tr_wal *w, uint64_t *tag);
/* Deletes the oldest closed segments numbered below below_seq whose slots
 * all lie below frontier (a snapshot holds them), stopping at the first
 * that does not qualify. Returns how many. */
unsigned tr_wal_trim(struct tr_wal *w, uint64_t below_seq, uint64_t frontier);
void tr_wal_close(struct tr_wal *w);

/* A mark that every column's log holds what it had logged when the mark
 * began (J with a disk: the join's end, before its superblock flag goes).
 * Each column's gate, on its own thread, publishes its passes (polls) and
 * its sync generations asked and done. First every column passes its gate
 * since the mark began: each has asked for the sync of what it had logged;
 * then those generations are done (later asks do not hold the mark). */
struct tr_sync_mark {
	uint8_t stage; /* 0: not begun, 1: waiting for passes, 2: for syncs */
	uint64_t polls[TR_COLUMNS], asked[TR_COLUMNS];
};

/* One look: polls, asked and done read in that order (asked after the
 * passes it follows). True once the mark holds. */
static inline bool
tr_sync_mark_step(struct tr_sync_mark *m, const uint64_t polls[TR_COLUMNS],
		  const uint64_t asked[TR_COLUMNS], const uint64_t done[TR_COLUMNS])
{
	if (m->stage == 0) {
		m->stage = 1;
		memcpy(m->polls, polls, sizeof(m->polls));
		return false;
	}
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		if (polls[c] <= m->polls[c])
			return false;
	if (m->stage == 1) {
		m->stage = 2;
		memcpy(m->asked, asked, sizeof(m->asked));
	}
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		if (done[c] < m->asked[c])
			return false;
	return true;
}

#endif
