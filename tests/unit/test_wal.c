/* SPDX-License-Identifier: MIT
 * §12 S1-S3 on disk: the data directory (dpdk/datadir.c: superblock, lock,
 * refusal of another cluster's or replica's directory) and a column's
 * write-ahead log (dpdk/wal.c: group commit, replay, a torn tail dropped,
 * damage anywhere else detected, segments trimmed behind a snapshot, a slow
 * disk's syncs on the syncer thread).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datadir.h"
#include "mono.h"
#include "wal.h"
#include "wire.h"

#define CLUSTER 0x7472u
#define SEG_SMALL 4096u

static char dir[64];
static uint8_t cmds[256];

static void
mkdir_tmp(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tr-wal-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
rm_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(datadir, .init = mkdir_tmp, .fini = rm_tmp);
TestSuite(wal, .init = mkdir_tmp, .fini = rm_tmp);

/* A voted slot record of column 1 at lsn, one SET. */
static struct tr_durable_rec
slot_rec(uint64_t lsn)
{
	struct tr_durable_rec rec;
	struct tr_cmd c = {.op = TR_OP_SET, .window = 4, .client_id = 7, .seq = lsn + 1,
			   .key = (const uint8_t *)"key", .key_len = 3,
			   .val = (const uint8_t *)"value", .val_len = 5};
	size_t n = tr_cmd_encode(cmds, sizeof(cmds), &c);

	memset(&rec, 0, sizeof(rec));
	rec.kind = TR_DURABLE_SLOT;
	rec.column = 1;
	rec.lsn = lsn;
	rec.promised = (struct tr_ballot){.n = 2, .replica = 1, .inc = 1};
	rec.vbal = rec.promised;
	rec.has_value = true;
	rec.value = (struct tr_value){.deps = {0, lsn, 0}, .proposer = 1, .cmd_count = 1,
				      .cmds_len = (uint32_t)n, .cmds = cmds};
	return rec;
}

static int
open_dir(void)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	cr_assert_geq(fd, 0);
	return fd;
}

/* Writes records 0..n-1 (a sync every `group`) into a new log. */
static void
write_log(int dirfd, unsigned n, unsigned group, uint64_t seg_bytes, struct tr_wal *w)
{
	cr_assert_eq(tr_wal_open(w, dirfd, 1, CLUSTER, 2, TR_WAL_FDATASYNC, seg_bytes, NULL), 0);
	for (unsigned i = 0; i < n; i++) {
		struct tr_durable_rec rec = slot_rec(i);

		cr_assert_eq(tr_wal_append(w, &rec), 0);
		if ((i + 1) % group == 0)
			cr_assert_eq(tr_wal_sync(w), 0);
	}
	cr_assert_eq(tr_wal_sync(w), 0);
}

struct seen {
	uint64_t next;  /* the lsn expected next */
	bool order_ok;
};

static int
on_rec(void *ctx, const struct tr_durable_rec *rec)
{
	struct seen *s = ctx;

	if (rec->lsn != s->next || rec->value.cmd_count != 1)
		s->order_ok = false;
	s->next++;
	return 0;
}

static struct tr_wal_replay
replay(int dirfd, struct seen *s)
{
	struct tr_wal_replay r;

	*s = (struct seen){.order_ok = true};
	cr_assert_eq(tr_wal_replay(dirfd, 1, CLUSTER, 2, on_rec, s, &r), 0);
	return r;
}

static char seg_path[128];

static const char *
seg_file(uint64_t seq)
{
	snprintf(seg_path, sizeof(seg_path), "%s/wal-1-%012llu", dir, (unsigned long long)seq);
	return seg_path;
}

static void
poke(const char *path, off_t off, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, bytes, len, off), (ssize_t)len);
	close(fd);
}

static void
flip(const char *path, off_t off)
{
	uint8_t b;
	int fd = open(path, O_RDWR);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &b, 1, off), 1);
	b ^= 0x40;
	cr_assert_eq(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

Test(wal, replay_in_order_and_group_commit)
{
	struct tr_wal w;
	struct seen s;
	struct tr_wal_replay r;
	int dirfd = open_dir();

	write_log(dirfd, 100, 10, TR_WAL_SEG_BYTES_DEFAULT, &w);
	cr_assert_eq(w.stats.syncs, 10, "one sync per group, none for an empty one");
	cr_assert_eq(w.stats.synced_records, 100);
	cr_assert_eq(tr_wal_sync(&w), 0);
	cr_assert_eq(w.stats.syncs, 10, "nothing appended: no sync");
	tr_wal_close(&w);
	r = replay(dirfd, &s);
	cr_assert_not(r.damaged, "%s", r.why);
	cr_assert_eq(r.records, 100);
	cr_assert(s.order_ok);
	cr_assert_eq(r.torn_bytes, 0);
	cr_assert_eq(r.next_seq, 2);
	tr_wal_replay_free(&r);
	close(dirfd);
}

/* S3: a record half written at the end (never synced) is dropped, and its
 * bytes zeroed so that the next replay finds a clean end. */
Test(wal, torn_tail_dropped)
{
	struct tr_wal w;
	struct seen s;
	struct tr_wal_replay r;
	struct tr_durable_rec rec = slot_rec(20);
	uint8_t buf[512];
	size_t n = tr_durable_encode(buf, sizeof(buf), &rec);
	int dirfd = open_dir();
	uint64_t end;

	write_log(dirfd, 20, 5, TR_WAL_SEG_BYTES_DEFAULT, &w);
	end = w.off;
	tr_wal_close(&w);
	poke(seg_file(1), (off_t)end, buf, n / 2); /* the torn write */
	r = replay(dirfd, &s);
	cr_assert_not(r.damaged, "%s", r.why);
	cr_assert_eq(r.records, 20);
	cr_assert(s.order_ok);
	cr_assert_gt(r.torn_bytes, 0);
	tr_wal_replay_free(&r);
	r = replay(dirfd, &s);
	cr_assert_not(r.damaged);
	cr_assert_eq(r.torn_bytes, 0, "the torn bytes were zeroed");
	tr_wal_replay_free(&r);
	/* A whole record whose checksum fails, last in the log: torn too. */
	poke(seg_file(1), (off_t)end, buf, n);
	flip(seg_file(1), (off_t)end + 12);
	r = replay(dirfd, &s);
	cr_assert_not(r.damaged, "%s", r.why);
	cr_assert_eq(r.records, 20);
	cr_assert_gt(r.torn_bytes, 0);
	tr_wal_replay_free(&r);
	close(dirfd);
}

/* S3: a bad record with valid records after it is damage, never skipped. */
Test(wal, mid_log_damage_detected)
{
	struct tr_wal w;
	struct seen s;
	struct tr_wal_replay r;
	int dirfd = open_dir();

	write_log(dirfd, 30, 30, TR_WAL_SEG_BYTES_DEFAULT, &w);
	tr_wal_close(&w);
	/* Inside the body of the 4th record. */
	{
		struct tr_durable_rec rec = slot_rec(0);
		size_t one = tr_durable_bytes(&rec);

		flip(seg_file(1), (off_t)(TR_WAL_SEG_HDR + 3 * one + 20));
	}
	r = replay(dirfd, &s);
	cr_assert(r.damaged);
	cr_assert_eq(r.records, 3, "the records before the damage, none after");
	cr_assert_not_null(strstr(r.why, "valid records after it"), "%s", r.why);
	tr_wal_replay_free(&r);
	close(dirfd);
}

/* S3: a zeroed length word in the middle (a lost sector) is not an end. */
Test(wal, zeroed_middle_detected)
{
	struct tr_wal w;
	struct seen s;
	struct tr_wal_replay r;
	struct tr_durable_rec rec = slot_rec(0);
	size_t one = tr_durable_bytes(&rec);
	uint8_t zeros[8] = {0};
	int dirfd = open_dir();

	write_log(dirfd, 30, 30, TR_WAL_SEG_BYTES_DEFAULT, &w);
	tr_wal_close(&w);
	poke(seg_file(1), (off_t)(TR_WAL_SEG_HDR + 10 * one), zeros, sizeof(zeros));
	r = replay(dirfd, &s);
	cr_assert(r.damaged);
	tr_wal_replay_free(&r);
	close(dirfd);
}

/* Rotation: a full segment is synced and closed; a bad end of an older
 * segment is damage (only the newest may be torn); a missing one too. */
Test(wal, segments_rotation_and_older_damage)
{
	struct tr_wal w;
	struct seen s;
	struct tr_wal_replay r;
	struct tr_durable_rec rec = slot_rec(0);
	size_t one = tr_durable_bytes(&rec);
	unsigned per_seg = (unsigned)((SEG_SMALL - TR_WAL_SEG_HDR) / one);
	int dirfd = open_dir();

	write_log(dirfd, 5 * per_seg, 7, SEG_SMALL, &w);
	cr_assert_geq(w.seq, 5);
	tr_wal_close(&w);
	r = replay(dirfd, &s);
	cr_assert_not(r.damaged, "%s", r.why);
	cr_assert_eq(r.records, 5 * per_seg);
	cr_assert(s.order_ok);
	cr_assert_geq(r.nsegs, 5);
	cr_assert_eq(r.segs[0].max_lsn, per_seg - 1);
	tr_wal_replay_free(&r);
	/* The last record of segment 2, with nothing after it in that segment. */
	flip(seg_file(2), (off_t)(TR_WAL_SEG_HDR + (per_seg - 1) * one + 20));
	r = replay(dirfd, &s);
	cr_assert(r.damaged, "an older segment's bad end is damage");
	tr_wal_replay_free(&r);
	flip(seg_file(2), (off_t)(TR_WAL_SEG_HDR + (per_seg - 1) * one + 20));
	cr_assert_eq(unlink(seg_file(3)), 0);
	r = replay(dirfd, &s);
	cr_assert(r.damaged);
	cr_assert_not_null(strstr(r.why, "missing"), "%s", r.why);
	tr_wal_replay_free(&r);
	close(dirfd);
}

/* Behind a snapshot: the oldest segments whose slots it holds go, in order;
 * the slot at the frontier is not in it. */
Test(wal, trim_behind_snapshot)
{
	struct tr_wal w;
	struct seen s;
	struct tr_wal_replay r;
	struct tr_durable_rec rec = slot_rec(0);
	size_t one = tr_durable_bytes(&rec);
	unsigned per_seg = (unsigned)((SEG_SMALL - TR_WAL_SEG_HDR) / one);
	int dirfd = open_dir();

	write_log(dirfd, 4 * per_seg + 1, 3, SEG_SMALL, &w);
	cr_assert_eq(w.nclosed, 4);
	/* Frontier at segment 2's last slot: that slot is not applied (the
	 * snapshot holds slots below the frontier), so only segment 1 goes. */
	cr_assert_eq(tr_wal_trim(&w, w.seq, 2 * per_seg - 1), 1,
		     "a segment holding the slot at the frontier was trimmed");
	cr_assert_eq(access(seg_file(2), F_OK), 0);
	/* Frontier inside segment 3: segment 2 goes too. */
	cr_assert_eq(tr_wal_trim(&w, w.seq, 2 * per_seg + 1), 1);
	cr_assert_eq(access(seg_file(1), F_OK), -1);
	cr_assert_eq(access(seg_file(3), F_OK), 0);
	/* Numbered at or above below_seq: kept whatever the frontier. */
	cr_assert_eq(tr_wal_trim(&w, 3, UINT64_MAX), 0);
	tr_wal_close(&w);
	r = replay(dirfd, &s);
	cr_assert_not(r.damaged, "%s", r.why);
	cr_assert_eq(r.records, 2 * per_seg + 1);
	tr_wal_replay_free(&r);
	close(dirfd);
}

/* J with a disk: the join's mark (tr_sync_mark) holds once every column has
 * passed its gate since the mark began (asking for the sync of what it had
 * logged) and those syncs are done; not while one of them runs (a restart
 * would trust a log that lacks the join's last records), and not held back
 * by syncs asked later. */
Test(wal, the_join_mark_waits_for_the_syncs_asked_before_it)
{
	struct tr_sync_mark m = {0};
	uint64_t polls[TR_COLUMNS] = {5, 5, 5}, asked[TR_COLUMNS] = {3, 3, 3},
		 done[TR_COLUMNS] = {3, 3, 3};

	cr_assert_not(tr_sync_mark_step(&m, polls, asked, done), "held before any gate since");
	polls[0] = polls[2] = 6;
	cr_assert_not(tr_sync_mark_step(&m, polls, asked, done),
		      "held before column 1 passed its gate");
	polls[1] = 6;
	asked[0] = 4, asked[2] = 5; /* columns 0 and 2 logged since: their syncs run */
	done[2] = 4;
	cr_assert_not(tr_sync_mark_step(&m, polls, asked, done),
		      "held while the syncs of columns 0 and 2 run");
	polls[0] = polls[1] = polls[2] = 9;
	asked[0] = asked[1] = asked[2] = 8; /* asked later: not waited for */
	done[0] = 4;
	cr_assert_not(tr_sync_mark_step(&m, polls, asked, done),
		      "held with column 2's sync (generation 5) still running");
	done[2] = 5;
	cr_assert(tr_sync_mark_step(&m, polls, asked, done),
		  "not held once the syncs asked at the gates are done");
}

/* A log of another replica or column is refused record by record. */
/* Appends records from..to-1 and posts their sync with tag to. */
static uint64_t
post(struct tr_wal *w, unsigned from, unsigned to)
{
	uint64_t gen;

	for (unsigned i = from; i < to; i++) {
		struct tr_durable_rec rec = slot_rec(i);

		cr_assert_eq(tr_wal_append(w, &rec), 0);
	}
	gen = tr_wal_sync_post(w, to);
	cr_assert_gt(gen, 0);
	return gen;
}

/* Waits until gen is durable (within 10 s); returns its tag. */
static uint64_t
durable_wait(struct tr_wal *w, uint64_t gen)
{
	uint64_t tag = 0, deadline = tr_mono_ns() + 10000000000u;

	while (tr_wal_durable(w, &tag) < gen) {
		cr_assert_not(w->failed, "the log failed");
		cr_assert_lt(tr_mono_ns(), deadline, "generation %lu never durable",
			     (unsigned long)gen);
		usleep(1000);
	}
	return tag;
}

/* A disk made slow (delay_ns from now on), after eight syncs at 30 ms: the
 * log has seen that its fastest sync is slow (its first eight ran inline,
 * each blocking its poster), and syncs on its syncer from now on. Returns
 * the next record's number. */
static unsigned
slow_disk(struct tr_wal *w, uint64_t delay_ns)
{
	atomic_store(&w->delay_ns, 30000000u);
	for (unsigned i = 0; i < 8; i++) {
		uint64_t t0 = tr_mono_ns();

		durable_wait(w, post(w, i, i + 1));
		cr_assert_geq(tr_mono_ns() - t0, 30000000u, "sync %u did not wait for the disk", i);
	}
	atomic_store(&w->delay_ns, delay_ns);
	return 8;
}

/* S1 on a slow disk: once fdatasyncs are seen to be slow, the next ones run
 * on the syncer: tr_wal_sync_post returns before the sync is done (the
 * worker goes on), the generation becomes durable later with its tag, the
 * records posted while a sync runs share the next one, and every record is
 * in the log. */
Test(wal, a_slow_sync_runs_on_the_syncer)
{
	struct tr_wal w;
	struct tr_wal_replay r;
	struct seen s;
	uint64_t g1, g2, g3, t0, syncs;
	int dirfd = open_dir();

	cr_assert_eq(tr_wal_open(&w, dirfd, 1, CLUSTER, 2, TR_WAL_FDATASYNC,
				 TR_WAL_SEG_BYTES_DEFAULT, NULL), 0);
	g1 = post(&w, slow_disk(&w, 200000000u), 10); /* 200 ms before each fdatasync */
	cr_assert_eq(durable_wait(&w, g1), 10);
	t0 = tr_mono_ns();
	g2 = post(&w, 10, 20);
	cr_assert_lt(tr_mono_ns() - t0, 100000000u, "a slow sync blocked its poster");
	cr_assert_gt(g2, g1);
	g3 = post(&w, 20, 30); /* while g2 sleeps or waits: a later generation */
	cr_assert_geq(g3, g2);
	cr_assert_lt(tr_wal_durable(&w, &(uint64_t){0}), g2,
		     "durable before the disk's 200 ms were over");
	cr_assert_eq(durable_wait(&w, g3), 30, "the tag of the last sync done");
	syncs = w.stats.syncs - 8;
	cr_assert_leq(syncs, 3, "%lu fdatasyncs for three posts", (unsigned long)syncs);
	cr_assert_eq(w.stats.synced_records, 30);
	tr_wal_close(&w);
	r = replay(dirfd, &s);
	cr_assert_not(r.damaged, "%s", r.why);
	cr_assert_eq(r.records, 30);
	cr_assert(s.order_ok);
	tr_wal_replay_free(&r);
	close(dirfd);
}

/* An fdatasync that fails on the syncer fails the log: the generation never
 * becomes durable, and the worker learns it from tr_wal_durable. The segment
 * is swapped for a pipe while the syncer sleeps before its fdatasync. */
Test(wal, a_failed_sync_on_the_syncer_fails_the_log)
{
	struct tr_wal w;
	uint64_t g, tag = 0, deadline;
	int dirfd = open_dir(), p[2];

	cr_assert_eq(tr_wal_open(&w, dirfd, 1, CLUSTER, 2, TR_WAL_FDATASYNC,
				 TR_WAL_SEG_BYTES_DEFAULT, NULL), 0);
	g = post(&w, slow_disk(&w, 200000000u), 10);
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(dup2(p[0], w.fd), w.fd); /* fdatasync on a pipe: EINVAL */
	deadline = tr_mono_ns() + 10000000000u;
	while (!w.failed) {
		cr_assert_lt(tr_wal_durable(&w, &tag), g, "a failed sync made durable");
		cr_assert_lt(tr_mono_ns(), deadline, "the syncer's failure never reached the log");
		usleep(1000);
	}
	cr_assert_eq(tr_wal_sync_post(&w, 10), 0, "a failed log took a sync");
	tr_wal_close(&w);
	close(p[0]);
	close(p[1]);
	close(dirfd);
}

Test(wal, other_log_refused)
{
	struct tr_wal w;
	struct tr_wal_replay r;
	int dirfd = open_dir();

	write_log(dirfd, 10, 10, TR_WAL_SEG_BYTES_DEFAULT, &w);
	tr_wal_close(&w);
	cr_assert_eq(tr_wal_replay(dirfd, 1, CLUSTER, 1, NULL, NULL, &r), 0);
	cr_assert(r.damaged);
	cr_assert_not_null(strstr(r.why, "another log"), "%s", r.why);
	tr_wal_replay_free(&r);
	close(dirfd);
}

Test(datadir, superblock_newest_valid_copy_wins)
{
	struct tr_datadir d;
	char err[256], path[128];

	cr_assert_eq(tr_dd_open(&d, dir, CLUSTER, 1, err, sizeof(err)), 0, "%s", err);
	cr_assert(d.fresh);
	cr_assert_eq(tr_dd_super_write(&d, 5, 0), 0);
	cr_assert_eq(tr_dd_super_write(&d, 6, TR_DD_AMNESIAC), 0);
	tr_dd_close(&d);
	cr_assert_eq(tr_dd_open(&d, dir, CLUSTER, 1, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(d.fresh);
	cr_assert_eq(d.sb.inc, 6);
	cr_assert_eq(d.sb.flags, TR_DD_AMNESIAC);
	/* A torn write of the newer copy: the older one wins. */
	snprintf(path, sizeof(path), "%s/super.%u", dir, (unsigned)(d.sb.seq & 1));
	tr_dd_close(&d);
	flip(path, 17);
	cr_assert_eq(tr_dd_open(&d, dir, CLUSTER, 1, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(d.sb.inc, 5);
	/* The next write goes over the damaged copy. */
	cr_assert_eq(tr_dd_super_write(&d, 7, 0), 0);
	tr_dd_close(&d);
	cr_assert_eq(tr_dd_open(&d, dir, CLUSTER, 1, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(d.sb.inc, 7);
	tr_dd_close(&d);
}

/* The client ids, the sequence ceiling (§8 across process starts) and the
 * incarnations heard from peers (J0) come back after a reopen and ride
 * along every later write; a copy from before they existed (bytes 32..59
 * zero) reads as "none recorded". */
Test(datadir, superblock_keeps_client_ids_and_ceiling)
{
	struct tr_dd_super old = {.cluster_id = CLUSTER, .replica = 1, .inc = 3, .seq = 9}, got;
	uint8_t buf[TR_DD_SUPER_BYTES];
	struct tr_datadir d;
	char err[256];

	cr_assert_eq(tr_dd_open(&d, dir, CLUSTER, 1, err, sizeof(err)), 0, "%s", err);
	d.sb.client_base = UINT64_C(0x123456789a00);
	d.sb.clients_max = 64;
	d.sb.seq_ceiling = UINT64_C(3) << 32;
	d.sb.peer_inc[tr_dd_peer_slot(1, 0)] = 7;
	d.sb.peer_inc[tr_dd_peer_slot(1, 2)] = UINT32_C(0x7ffffffe);
	cr_assert_eq(tr_dd_super_write(&d, 2, 0), 0);
	cr_assert_eq(tr_dd_super_write(&d, 4, TR_DD_AMNESIAC), 0); /* another writer's */
	tr_dd_close(&d);
	cr_assert_eq(tr_dd_open(&d, dir, CLUSTER, 1, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(d.sb.inc, 4);
	cr_assert_eq(d.sb.client_base, UINT64_C(0x123456789a00));
	cr_assert_eq(d.sb.clients_max, 64);
	cr_assert_eq(d.sb.seq_ceiling, UINT64_C(3) << 32);
	cr_assert_eq(d.sb.peer_inc[0], 7, "replica 0's, heard by replica 1");
	cr_assert_eq(d.sb.peer_inc[1], UINT32_C(0x7ffffffe), "replica 2's");
	tr_dd_close(&d);

	tr_dd_super_encode(buf, &old);
	for (unsigned i = 32; i < 60; i++)
		cr_assert_eq(buf[i], 0, "byte %u of a copy without client fields", i);
	cr_assert(tr_dd_super_decode(buf, &got));
	cr_assert_eq(got.inc, 3);
	cr_assert_eq(got.client_base, 0);
	cr_assert_eq(got.seq_ceiling, 0);
	cr_assert(got.peer_inc[0] == 0 && got.peer_inc[1] == 0);
	cr_assert(tr_dd_peer_slot(0, 1) == 0 && tr_dd_peer_slot(0, 2) == 1 &&
		  tr_dd_peer_slot(2, 0) == 0 && tr_dd_peer_slot(2, 1) == 1);
}

Test(datadir, other_cluster_or_replica_refused)
{
	struct tr_datadir d;
	char err[256];

	cr_assert_eq(tr_dd_open(&d, dir, CLUSTER, 1, err, sizeof(err)), 0, "%s", err);
	tr_dd_close(&d);
	cr_assert_eq(tr_dd_open(&d, dir, CLUSTER, 2, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "replica 1, this is replica 2"), "%s", err);
	cr_assert_eq(tr_dd_open(&d, dir, 0x1234, 1, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "cluster 29810"), "%s", err);
	cr_assert_not_null(strstr(err, "cluster 4660"), "%s", err);
}

Test(datadir, lock_refuses_a_second_user)
{
	struct tr_datadir a, b;
	char err[256];

	cr_assert_eq(tr_dd_open(&a, dir, CLUSTER, 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(tr_dd_open(&b, dir, CLUSTER, 0, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "in use by another process"), "%s", err);
	tr_dd_close(&a);
	cr_assert_eq(tr_dd_open(&b, dir, CLUSTER, 0, err, sizeof(err)), 0, "%s", err);
	tr_dd_close(&b);
}

/* Both copies damaged with a log present: refused, never taken as new. */
Test(datadir, both_copies_damaged_refused)
{
	struct tr_datadir d;
	struct tr_wal w;
	char err[256], path[128];
	int dirfd;

	cr_assert_eq(tr_dd_open(&d, dir, CLUSTER, 2, err, sizeof(err)), 0, "%s", err);
	dirfd = d.dirfd;
	write_log(dirfd, 3, 3, TR_WAL_SEG_BYTES_DEFAULT, &w);
	tr_wal_close(&w);
	tr_dd_close(&d);
	for (unsigned i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/super.%u", dir, i);
		flip(path, 9);
	}
	cr_assert_eq(tr_dd_open(&d, dir, CLUSTER, 2, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "damaged"), "%s", err);
}

Test(datadir, snapshots_newest_kept)
{
	struct tr_datadir d;
	char err[256];
	uint64_t seqs[4];
	uint8_t *buf;
	size_t len;

	cr_assert_eq(tr_dd_open(&d, dir, CLUSTER, 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(tr_dd_snap_write(d.dirfd, 3, (const uint8_t *)"three", 5), 0);
	cr_assert_eq(tr_dd_snap_write(d.dirfd, 4, (const uint8_t *)"four!!", 6), 0);
	cr_assert_eq(tr_dd_snap_list(d.dirfd, seqs, 4), 1);
	cr_assert_eq(seqs[0], 4);
	buf = tr_dd_snap_read(d.dirfd, 4, &len);
	cr_assert_not_null(buf);
	cr_assert_eq(len, 6);
	cr_assert_arr_eq(buf, "four!!", 6);
	free(buf);
	tr_dd_close(&d);
}

/* A snapshot write cut short (a crash, a full disk) leaves snap-N.tmp: the
 * next open removes it, and nothing else. */
Test(datadir, an_unfinished_snapshot_write_is_removed_at_open)
{
	struct tr_datadir d;
	char err[256], path[160];
	uint64_t seqs[4];
	FILE *f;

	cr_assert_eq(tr_dd_open(&d, dir, CLUSTER, 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(tr_dd_snap_write(d.dirfd, 3, (const uint8_t *)"three", 5), 0);
	tr_dd_close(&d);
	snprintf(path, sizeof(path), "%s/snap-000000000004.tmp", dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("half a snapshot", f);
	fclose(f);
	cr_assert_eq(tr_dd_open(&d, dir, CLUSTER, 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_neq(access(path, F_OK), 0, "snap-000000000004.tmp is still there");
	cr_assert_eq(tr_dd_snap_list(d.dirfd, seqs, 4), 1);
	cr_assert_eq(seqs[0], 3, "the finished snapshot stays");
	tr_dd_close(&d);
}

/* S3: a damaged log and its snapshots go to damaged-N/, out of every replay. */
Test(datadir, set_aside_moves_the_log)
{
	struct tr_datadir d;
	struct tr_wal w;
	struct tr_wal_replay r;
	char err[256], name[32], path[160];
	uint64_t seqs[2];

	cr_assert_eq(tr_dd_open(&d, dir, CLUSTER, 2, err, sizeof(err)), 0, "%s", err);
	write_log(d.dirfd, 5 * 40, 7, SEG_SMALL, &w);
	tr_wal_close(&w);
	cr_assert_eq(tr_dd_snap_write(d.dirfd, 1, (const uint8_t *)"snap", 4), 0);
	cr_assert_eq(tr_dd_set_aside(&d, name, sizeof(name)), 0);
	cr_assert_str_eq(name, "damaged-1");
	cr_assert_eq(tr_wal_replay(d.dirfd, 1, CLUSTER, 2, NULL, NULL, &r), 0);
	cr_assert_eq(r.nsegs, 0, "no segment left behind");
	cr_assert_eq(r.next_seq, 1);
	tr_wal_replay_free(&r);
	cr_assert_eq(tr_dd_snap_list(d.dirfd, seqs, 2), 0);
	snprintf(path, sizeof(path), "%s/damaged-1/wal-1-000000000001", dir);
	cr_assert_eq(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/damaged-1/snap-000000000001", dir);
	cr_assert_eq(access(path, F_OK), 0);
	cr_assert_eq(tr_dd_set_aside(&d, name, sizeof(name)), 0);
	cr_assert_str_eq(name, "damaged-2");
	tr_dd_close(&d);
}
