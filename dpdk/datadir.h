/* SPDX-License-Identifier: MIT
 * Trireme runtime: a replica's data directory (PROTOCOL §12 S, issue 14).
 * Plain POSIX, no DPDK: the unit tests use it without an EAL.
 *
 *   LOCK                 flock(2)ed while a process uses the directory
 *   super.0, super.1     the superblock, two copies (below)
 *   wal-C-NNNNNNNNNNNN   column C's log segments (wal.h)
 *   snap-NNNNNNNNNNNN    snapshots (dpdk/snapshot.h bytes, opaque here),
 *                        the newest valid one wins
 *   damaged-N/           what S3 damage set aside (never read again)
 *
 * Superblock copy, 64 bytes, little-endian:
 *    0 magic "TRSB"   4 format version   8 cluster id   12 replica id
 *   16 incarnation   20 flags           24 sequence u64
 *   32 client id base u64 (0: none recorded)  40 clients_max
 *   44 the lower-id peer's incarnation, as heard   48 client sequence
 *   ceiling u64      56 the higher-id peer's incarnation, as heard
 *   60 CRC32C of bytes 0..59
 * A directory written before bytes 32..59 existed reads as "no base, no
 * ceiling, no peer heard": its replica takes new client ids, as every start
 * used to (a base of conf's own: sequences from the wall clock, durable.c).
 * A write goes to the copy that does not hold the newest sequence, with the
 * sequence plus one, then fdatasync: a torn write spoils one copy, and the
 * other (older) one is still valid. The newer valid copy wins.
 */
#ifndef TR_DATADIR_H
#define TR_DATADIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TR_DD_VERSION 1u
#define TR_DD_SUPER_BYTES 64u

enum tr_dd_flags {
	/* §12 J with a disk: this directory's log does not hold every vote of
	 * the replica's earlier lives; a restart from it must join again until
	 * the join completed (tr_replica_rejoined) and was made durable. */
	TR_DD_AMNESIAC = 1u << 0,
};

struct tr_dd_super {
	uint32_t cluster_id;
	uint32_t replica;
	uint32_t inc;
	uint32_t flags;
	uint64_t seq;
	/* §8 across process starts (dpdk/durable.c): the replica's client ids
	 * and the sequence no client of this directory has reached yet. */
	uint64_t client_base;
	uint32_t clients_max;
	uint64_t seq_ceiling;
	/* J0: the highest incarnation heard from each other replica, the
	 * lower id first: a peer that joins without memory is answered no less,
	 * after this replica restarted and forgot (durable.c). */
	uint32_t peer_inc[2];
};

/* The slot of peer q in tr_dd_super.peer_inc, for replica self. */
static inline unsigned
tr_dd_peer_slot(uint32_t self, uint32_t q)
{
	return q < self ? q : q - 1;
}

struct tr_datadir {
	int dirfd;
	int lockfd;
	char path[4096];
	struct tr_dd_super sb; /* the newest durable copy */
	bool fresh;            /* no superblock was there: a new replica */
};

/* Opens (creating if needed) the directory at path for replica `replica` of
 * cluster `cluster_id`: takes the lock, reads the superblock. A directory of
 * another cluster or replica, a second process, or two damaged superblock
 * copies are refused: -1 with one line in err naming what and both values.
 * A directory without a superblock is fresh (d->fresh): sb.inc is 0. */
int tr_dd_open(struct tr_datadir *d, const char *path, uint32_t cluster_id, uint32_t replica,
	       char *err, size_t len);
/* Writes inc and flags durably (the other copy, then fdatasync). 0 or -1. */
int tr_dd_super_write(struct tr_datadir *d, uint32_t inc, uint32_t flags);
void tr_dd_close(struct tr_datadir *d);

/* Encodes / decodes one copy; decode returns false when it is not valid. */
void tr_dd_super_encode(uint8_t buf[TR_DD_SUPER_BYTES], const struct tr_dd_super *s);
bool tr_dd_super_decode(const uint8_t buf[TR_DD_SUPER_BYTES], struct tr_dd_super *s);

/* Snapshots. Writes buf as snapshot seq (snap-N.tmp, fdatasync, rename,
 * directory fsync), then removes the older ones. 0 or -1. */
int tr_dd_snap_write(int dirfd, uint64_t seq, const uint8_t *buf, size_t len);
/* The snapshot files, newest first: up to max sequences into seqs; returns
 * how many there are. */
unsigned tr_dd_snap_list(int dirfd, uint64_t *seqs, unsigned max);
/* Reads snapshot seq whole (malloc'd; the caller frees), NULL on error. */
uint8_t *tr_dd_snap_read(int dirfd, uint64_t seq, size_t *len);

/* S3: moves the log segments and snapshots into damaged-N/ (N: the first
 * free number), so that a restart never reads them again. 0 or -1. */
int tr_dd_set_aside(struct tr_datadir *d, char *name, size_t name_len);

/* fsync of the directory itself (after creating, renaming, unlinking). */
int tr_dd_sync_dir(int dirfd);

/* How long a small write and its fdatasync take in the directory, in ns
 * (the median of three, on a preallocated file removed after); 0 when
 * they fail. */
uint64_t tr_dd_sync_probe(int dirfd);

#endif
