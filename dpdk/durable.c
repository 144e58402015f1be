/* SPDX-License-Identifier: MIT
 * Trireme runtime: PROTOCOL §12 S with a data directory (issue 14).
 *
 * S1 (group commit): the engine reports each change through cfg.durable
 * from the column's own task; the record goes to that column's WAL buffer.
 * Before a task transmits anything (tx_flush, worker.c), rt_durable_gate
 * writes and syncs what its column appended: one sync per burst, none for
 * a burst without records. The column 0 task makes a snapshot on disk every
 * quarter ring of instances, and each task then deletes its own segments
 * that the snapshot holds whole.
 *
 * S2: rt_durable_start: superblock, J0's new incarnation durable before
 * anything is sent, the newest valid snapshot, every column's log, then
 * tr_replica_restored: the replica votes at once.
 *
 * S3: a torn tail is dropped (wal.c); any other damage is logged loudly,
 * counted, the log and snapshots set aside (damaged-N/), and the replica
 * joins as an amnesiac (J). The superblock says so (TR_DD_AMNESIAC) until
 * the join is complete and durable: a restart in between joins again.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include <rte_log.h>

#include "runtime.h"
#include "thread.h"

/* The longest sync stall the retries outwait (P6). */
#define RT_SYNC_STALL_NS 500000000ull

/* S1: the engine's record into the column's log (the column's thread). */
static void
on_record(void *arg, const struct tr_durable_rec *rec)
{
	struct rt_replica *r = arg;
	struct tr_wal *w = &r->dur.wal[rec->column];

	if (w->buf == NULL)
		return; /* not open: the engine reports only from its steps */
	if (tr_wal_append(w, rec) != 0)
		atomic_store(&r->dur.failed, true);
}

/* A new, empty state machine in place of the current one. */
static int
sm_fresh(struct rt_replica *r)
{
	struct tr_client_rec *recs = calloc(r->sm.clients_max, sizeof(*recs));
	uint32_t n = r->sm.clients_max;

	if (recs == NULL)
		return -1;
	rt_sm_close(r);
	if (rt_sm_open(r, recs, n) != 0) {
		free(recs);
		return -1;
	}
	rt_applier_init(r);
	return 0;
}

/* S2: the newest valid snapshot on disk into the state machine and the
 * engine. 0 (none, or installed), -1: snapshot files exist and none loads
 * (damage). */
static int
snap_restore(struct rt_replica *r, uint64_t now_ns)
{
	struct rt_durable *d = &r->dur;
	uint64_t seqs[8];
	unsigned n = tr_dd_snap_list(d->dd.dirfd, seqs, 8);

	for (unsigned i = 0; i < n && i < 8; i++) {
		size_t len;
		uint8_t *buf = tr_dd_snap_read(d->dd.dirfd, seqs[i], &len);
		struct tr_snap_load *l;
		int st;

		if (buf == NULL)
			continue;
		l = rt_sm_load_start(r, buf, len);
		if (l == NULL)
			return -1;
		while ((st = atomic_load(&l->state)) == 0)
			usleep(1000);
		if (st < 0) {
			RT_LOG(ERR, "replica %u: snapshot %" PRIu64 " in %s does not load: %s\n",
				r->id, seqs[i], d->dd.path, l->why);
			tr_snap_load_put(l);
			continue;
		}
		if (tr_replica_install(&r->eng, &l->hdr.point, now_ns) == 0) {
			rt_sm_install(r, l);
			rt_applier_init(r);
		}
		memcpy(d->snap_applied, l->hdr.point.applied, sizeof(d->snap_applied));
		d->snap_seq = seqs[i];
		tr_snap_load_put(l);
		return 0;
	}
	return n > 0 ? -1 : 0;
}

struct restore_ctx {
	struct rt_replica *r;
	uint64_t now_ns;
};

static int
on_replay(void *arg, const struct tr_durable_rec *rec)
{
	struct restore_ctx *x = arg;

	return tr_replica_restore(&x->r->eng, rec, x->now_ns);
}

static void
engine_init(struct rt_replica *r, const struct tr_config *cfg, uint64_t now_ns)
{
	struct tr_config ec = *cfg;

	/* J0: a joiner with a disk starts above every incarnation it had, even
	 * when its peers restarted and forgot them (they report the highest
	 * they heard; the join takes the larger plus one). And a peer that
	 * joins without memory is answered at least what this replica heard of
	 * it in earlier lives: its own disk may be new (peer_inc_poll). */
	if (ec.join)
		ec.join_inc_floor = r->dur.dd.sb.inc;
	for (unsigned q = 0; q < TR_REPLICAS; q++)
		if (q != r->id)
			ec.peer_inc_seen[q] = r->dur.dd.sb.peer_inc[tr_dd_peer_slot(r->id, q)];
	memset(&r->eng, 0, sizeof(r->eng));
	memset(r->eng_mem, 0, r->eng_bytes);
	tr_replica_init(&r->eng, &ec, r->eng_mem, r->eng_bytes, now_ns);
	for (unsigned c = 0; c < TR_COLUMNS; c++) {
		r->tasks[c].col = &r->eng.col[c];
		r->tasks[c].deadline_ns = 0;
	}
	rt_applier_init(r);
}

/* The log and snapshots into damaged-N/, never read again. */
static void
set_aside(struct rt_replica *r, char *aside, size_t len)
{
	struct rt_durable *d = &r->dur;

	if (tr_dd_set_aside(&d->dd, aside, len) != 0)
		RT_LOG(ERR, "replica %u: cannot set the log of %s aside: %s\n", r->id,
			d->dd.path, strerror(errno));
}

/* S3: loud, counted, set aside; the caller joins as an amnesiac. */
static void
damaged(struct rt_replica *r, const char *why)
{
	struct rt_durable *d = &r->dur;
	char aside[32] = "";

	atomic_fetch_add(&d->damage, 1);
	set_aside(r, aside, sizeof(aside));
	RT_LOG(ERR, "replica %u: DAMAGED LOG in %s: %s. Votes may be missing: the replica "
		"rejoins as an amnesiac (PROTOCOL §12 S3, J); the damaged files are in %s/%s\n",
		r->id, d->dd.path, why, d->dd.path, aside);
}

/* Every column's log to fn (NULL: a scan); why gets the first damage. 0, or
 * -1 on an I/O error. */
static int
replay_all(struct rt_replica *r, tr_wal_rec_fn *fn, void *ctx,
	   struct tr_wal_replay rep[TR_COLUMNS], char *why, size_t why_len)
{
	for (unsigned c = 0; c < TR_COLUMNS; c++) {
		if (tr_wal_replay(r->dur.dd.dirfd, c, r->limits.cluster_id, r->id, fn, ctx,
				  &rep[c]) != 0)
			return -1;
		if (rep[c].damaged) {
			snprintf(why, why_len, "%s", rep[c].why);
			return 0;
		}
	}
	return 0;
}

/* §8 across process starts: a replica keeps the client ids its directory
 * recorded (so the replicated table of clients does not grow with every
 * start), and its clients' sequences start at the ceiling that none of its
 * earlier clients reached: (client id, seq) never repeats. The next lease
 * goes into the superblock write that follows, before any client exists. */
static int
client_ids(struct rt_replica *r, char *err, size_t len)
{
	struct tr_dd_super *sb = &r->dur.dd.sb;
	uint64_t from = sb->seq_ceiling;

	/* A base of the embedder's: its ids may have written beyond what this
	 * directory recorded (before it had a ceiling: new, a replaced disk, an
	 * older version; or as another replica's ids under another
	 * clients_max), from sequence 1 or from a start like this one. So not
	 * below the wall clock in microseconds times 4,096 (until 2112): above
	 * every sequence of a client that took fewer than 4,096 a microsecond,
	 * and of starts of this kind that were a second (a lease) apart. */
	if (!r->t->client_id_random) {
		struct timespec ts;
		uint64_t now;

		clock_gettime(CLOCK_REALTIME, &ts);
		now = ((uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u) << 12;
		from = RTE_MAX(from, now);
	}
	if (from > UINT64_MAX - 2 * RT_SEQ_LEASE)
		return rt_fail(err, len, -TRIREME_EINTERNAL, "replica %u: the client sequences "
			       "of %s are used up: start it on a new directory (J)", r->id,
			       r->dur.dd.path);
	if (r->t->client_id_random && sb->client_base != 0 && sb->clients_max == r->clients_max)
		r->client_id_base = sb->client_base;
	for (uint32_t i = 0; i < r->clients_max; i++)
		r->slot_seq[i] = from;
	sb->client_base = r->client_id_base;
	sb->clients_max = r->clients_max;
	sb->seq_ceiling = from + RT_SEQ_LEASE;
	return 0;
}

int
rt_durable_seq_lease(struct rt_replica *r, uint64_t need)
{
	struct rt_durable *d = &r->dur;
	int rc = 0;

	pthread_mutex_lock(&d->sb_lock);
	if (need >= atomic_load(&r->seq_ceiling)) {
		uint64_t was = d->dd.sb.seq_ceiling;

		d->dd.sb.seq_ceiling = need + RT_SEQ_LEASE;
		if (tr_dd_super_write(&d->dd, d->dd.sb.inc, d->dd.sb.flags) == 0) {
			atomic_store(&r->seq_ceiling, d->dd.sb.seq_ceiling);
		} else {
			d->dd.sb.seq_ceiling = was;
			rc = -1;
			RT_LOG(ERR, "replica %u: cannot write the superblock in %s: %s: its "
				"clients cannot take new sequences\n", r->id, d->dd.path,
				strerror(errno));
		}
	}
	pthread_mutex_unlock(&d->sb_lock);
	return rc;
}

int
rt_durable_start(struct rt_replica *r, struct tr_config *cfg, uint64_t now_ns, char *err,
		 size_t len)
{
	struct rt_durable *d = &r->dur;
	bool first = !d->on;
	const struct trireme_conf *conf = &r->t->conf;
	struct tr_wal_replay rep[TR_COLUMNS];
	struct restore_ctx x = {.r = r, .now_ns = now_ns};
	bool join = cfg->join, fresh;
	uint32_t inc = 0;
	char path[4096];
	int rc = 0;

	memset(rep, 0, sizeof(rep));
	memset(d->snap_applied, 0, sizeof(d->snap_applied)); /* this life's */
	if (!d->on) {
		if (conf->mode == TRIREME_CLUSTER) {
			if (mkdir(conf->data_dir, 0755) != 0 && errno != EEXIST)
				return rt_fail(err, len, -TRIREME_EINVAL, "data directory %s: "
					       "cannot create it: %s", conf->data_dir,
					       strerror(errno));
			snprintf(path, sizeof(path), "%s/r%u", conf->data_dir, r->id);
		} else {
			snprintf(path, sizeof(path), "%s", conf->data_dir);
		}
		if (tr_dd_open(&d->dd, path, cfg->cluster_id, r->id, err, len) != 0)
			return -TRIREME_EINVAL;
		pthread_mutex_init(&d->sb_lock, NULL);
		d->on = true;
		d->every = cfg->log_slots_max / 4;
		d->sync_ns = conf->sync == TRIREME_SYNC_NONE ? 0 : tr_dd_sync_probe(d->dd.dirfd);
		RT_LOG(INFO, "replica %u: a sync in %s takes about %" PRIu64 " us\n", r->id,
		       d->dd.path, d->sync_ns / 1000);
	}
	/* S1: a commit waits for two syncs in series (the peer's vote, then
	 * the owner's commit), so a round trip, the unit of the timers (P6
	 * retries, R1 recoveries, suspicion), counts them. Once: a restart
	 * reuses this cfg. */
	if (first && d->sync_ns > 0)
		tr_config_timers(cfg, conf->rtt_ns + 2 * d->sync_ns);
	/* P6: a retry is a new ballot, so a vote slower than the back-off is
	 * always too late; on a disk that stalls (RT_SYNC_STALL_NS), the
	 * back-off grows past the stall, and a vote gets through. */
	if (conf->sync != TRIREME_SYNC_NONE && cfg->retry_max_ns < 2 * RT_SYNC_STALL_NS)
		cfg->retry_max_ns = 2 * RT_SYNC_STALL_NS;
	/* Which life this is. */
	fresh = d->dd.fresh;
	if (d->dd.fresh) {
		d->dd.fresh = false;
	} else if (d->dd.sb.flags & TR_DD_AMNESIAC) {
		char aside[32] = "";

		set_aside(r, aside, sizeof(aside));
		RT_LOG(WARNING, "replica %u: %s was left in the middle of a join: joining again "
			"(PROTOCOL §12 J); its log is in %s\n", r->id, d->dd.path, aside);
		join = true;
	} else {
		join = false; /* S2: it remembers, whatever the conf says */
	}
	if (!join) {
		if (d->dd.sb.inc + 1 >= TR_INC_MAX)
			return rt_fail(err, len, -TRIREME_EINVAL, "replica %u: incarnation %"
				       PRIu32 " in %s is at its maximum", r->id, d->dd.sb.inc,
				       d->dd.path);
		inc = d->dd.sb.inc + 1; /* J0: one sync before anything is sent */
	}
	if (first && (rc = client_ids(r, err, len)) != 0)
		return rc;
	/* sb_lock: after an in-process crash, a client thread may be raising
	 * the sequence ceiling (rt_durable_seq_lease) meanwhile. */
	pthread_mutex_lock(&d->sb_lock);
	rc = tr_dd_super_write(&d->dd, join ? d->dd.sb.inc : inc, join ? TR_DD_AMNESIAC : 0);
	pthread_mutex_unlock(&d->sb_lock);
	if (rc != 0)
		return rt_fail(err, len, -TRIREME_EINTERNAL, "replica %u: cannot write the "
			       "superblock in %s: %s", r->id, d->dd.path, strerror(errno));
	if (first)
		atomic_store(&r->seq_ceiling, d->dd.sb.seq_ceiling);
	cfg->join = join;
	if (!join)
		cfg->incarnation = inc;
	cfg->durable = on_record;
	cfg->durable_arg = r;
	engine_init(r, cfg, now_ns);

	if (!join) {
		char why[300] = "";

		/* A scan first (torn tails zeroed, damage found), nothing loaded. */
		if (replay_all(r, NULL, NULL, rep, why, sizeof(why)) != 0)
			goto io_fail;
		for (unsigned c = 0; c < TR_COLUMNS; c++) {
			atomic_fetch_add(&d->torn_bytes, rep[c].torn_bytes);
			tr_wal_replay_free(&rep[c]);
		}
		if (why[0] == 0 && snap_restore(r, now_ns) != 0)
			snprintf(why, sizeof(why), "no snapshot in it loads");
		if (why[0] == 0 && replay_all(r, on_replay, &x, rep, why, sizeof(why)) != 0)
			goto io_fail;
		if (why[0] != 0) {
			damaged(r, why);
			for (unsigned c = 0; c < TR_COLUMNS; c++)
				tr_wal_replay_free(&rep[c]);
			memset(d->snap_applied, 0, sizeof(d->snap_applied));
			join = true;
			cfg->join = true;
			pthread_mutex_lock(&d->sb_lock);
			rc = tr_dd_super_write(&d->dd, d->dd.sb.inc, TR_DD_AMNESIAC);
			pthread_mutex_unlock(&d->sb_lock);
			if (rc != 0 || sm_fresh(r) != 0) {
				rc = rt_fail(err, len, -TRIREME_EINTERNAL, "replica %u: cannot "
					     "start over in %s", r->id, d->dd.path);
				goto out;
			}
			engine_init(r, cfg, now_ns);
		} else if (fresh) {
			tr_replica_restored(&r->eng, now_ns);
			RT_LOG(INFO, "replica %u: new data directory %s, incarnation %" PRIu32
				"\n", r->id, d->dd.path, inc);
		} else {
			tr_replica_restored(&r->eng, now_ns);
			RT_LOG(INFO, "replica %u: restarted from %s, incarnation %" PRIu32
				", %" PRIu64 "+%" PRIu64 "+%" PRIu64 " records, applied from %"
				PRIu64 "/%" PRIu64 "/%" PRIu64 "\n", r->id, d->dd.path, inc,
				rep[0].records, rep[1].records, rep[2].records, d->snap_applied[0],
				d->snap_applied[1], d->snap_applied[2]);
		}
	}
	for (unsigned c = 0; c < TR_COLUMNS; c++) {
		if (tr_wal_open(&d->wal[c], d->dd.dirfd, c, cfg->cluster_id, r->id, conf->sync,
				TR_WAL_SEG_BYTES_DEFAULT, join ? NULL : &rep[c]) != 0) {
			rc = rt_fail(err, len, -TRIREME_EINTERNAL, "replica %u: cannot open a "
				     "log segment in %s: %s", r->id, d->dd.path, strerror(errno));
			goto out;
		}
		atomic_store(&d->open_seq[c], d->wal[c].seq);
		d->trim_seen[c] = atomic_load(&d->trim_gen);
	}
	atomic_store(&d->inc_durable, join ? 0 : inc);
	memcpy(d->peer_inc_durable, d->dd.sb.peer_inc, sizeof(d->peer_inc_durable));
	atomic_store(&d->amnesiac, join);
	atomic_store(&d->failed, false);
	d->failed_woken = false;
	d->clear = (struct tr_sync_mark){0};
	goto out;
io_fail:
	rc = rt_fail(err, len, -TRIREME_EINTERNAL, "replica %u: cannot read its log in %s: %s",
		     r->id, d->dd.path, strerror(errno));
out:
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		tr_wal_replay_free(&rep[c]);
	return rc;
}

/* J0 for a joiner: the incarnation its peers gave it, durable before any
 * frame carries it. */
static bool
inc_gate(struct rt_replica *r)
{
	struct rt_durable *d = &r->dur;
	uint32_t inc = tr_replica_inc(&r->eng);
	bool ok = true;

	if (inc == 0 || inc == atomic_load_explicit(&d->inc_durable, memory_order_acquire))
		return true;
	pthread_mutex_lock(&d->sb_lock);
	if (inc != atomic_load(&d->inc_durable)) {
		ok = tr_dd_super_write(&d->dd, inc, d->dd.sb.flags) == 0;
		if (ok)
			atomic_store_explicit(&d->inc_durable, inc, memory_order_release);
	}
	pthread_mutex_unlock(&d->sb_lock);
	return ok;
}

enum rt_gate
rt_durable_gate(struct rt_task *k, uint64_t *wait, uint64_t *durable)
{
	struct rt_replica *r = k->rep;
	struct rt_durable *d = &r->dur;
	struct tr_wal *w = &d->wal[k->column];
	uint64_t tag = 0, synced;
	int err = 0;

	*wait = *durable = 0;
	if (!d->on)
		return RT_GATE_OPEN;
	/* The records a frame may reveal were appended before it was built:
	 * the sync asked for now covers them (lazy ones need none, S4). */
	if (w->must > 0)
		tr_wal_sync_post(w, k->col->committed);
	if (!inc_gate(r)) {
		err = errno;
		atomic_store(&d->failed, true);
	}
	*durable = tr_wal_durable(w, &tag);
	*wait = w->posted;
	/* Shared lines (every column's): written only when they change. */
	if (k->asked_pub != *wait)
		atomic_store_explicit(&d->asked[k->column], k->asked_pub = *wait,
				      memory_order_relaxed);
	if (k->done_pub != *durable)
		atomic_store_explicit(&d->done[k->column], k->done_pub = *durable,
				      memory_order_relaxed);
	atomic_fetch_add_explicit(&d->polls[k->column], 1, memory_order_release);
	if (w->failed) { /* its own log: say why */
		err = w->err;
		atomic_store(&d->failed, true);
	}
	if (!atomic_load_explicit(&d->failed, memory_order_relaxed)) {
		/* The commits of the last sync done are durable; all of them
		 * when nothing asked is pending. */
		synced = *durable == *wait ? k->col->committed : tag;
		if (synced > atomic_load_explicit(&d->synced[k->column], memory_order_relaxed))
			atomic_store_explicit(&d->synced[k->column], synced,
					      memory_order_release);
		return *durable == *wait ? RT_GATE_OPEN : RT_GATE_WAIT;
	}
	if (!d->fail_logged[k->column]) {
		d->fail_logged[k->column] = true;
		RT_LOG(ERR, "replica %u column %u: cannot write its log in %s (%s): it sends "
			"nothing from now on (PROTOCOL §12 S1)\n", r->id, k->column, d->dd.path,
			err != 0 ? strerror(err) : "another column's write failed");
	}
	return RT_GATE_SHUT;
}

void
rt_durable_sync(struct rt_task *k)
{
	if (k->rep->dur.on)
		tr_wal_sync(&k->rep->dur.wal[k->column]);
}

/* A snapshot on disk, off the column's thread. */
struct snap_writer {
	struct rt_replica *r;
	struct tr_snap_job *job;
	const uint8_t *buf;
	size_t len;
	uint64_t seq;
	uint64_t below[TR_COLUMNS];
};

/* Writes a snapshot and publishes what the tasks may trim; false if it is
 * not on disk. */
static bool
snap_commit(struct rt_replica *r, uint64_t seq, const uint8_t *buf, size_t len,
	    const uint64_t below[TR_COLUMNS], bool own)
{
	struct rt_durable *d = &r->dur;
	struct tr_snap_hdr h;
	bool ok = tr_snap_check(buf, len, r->limits.cluster_id, &h) == NULL;

	if (atomic_load(&d->failed))
		return false; /* the log could not be written: said, and stopped */
	/* S1: an own snapshot holds what was applied; its commits must be on
	 * disk first (they are, a task pass after they were made). */
	for (unsigned c = 0, waited = 0; ok && own && c < TR_COLUMNS; c++) {
		while (atomic_load(&d->synced[c]) < h.point.applied[c] && waited++ < 5000 &&
		       !atomic_load(&r->down) && !atomic_load(&r->t->stop))
			usleep(1000);
		ok = atomic_load(&d->synced[c]) >= h.point.applied[c];
	}
	if (!ok) {
		RT_LOG(WARNING, "replica %u: snapshot %" PRIu64 " not written to %s: its "
			"commits were not on disk within 5 s\n", r->id, seq, d->dd.path);
		return false;
	}
	if (tr_dd_snap_write(d->dd.dirfd, seq, buf, len) != 0) {
		RT_LOG(WARNING, "replica %u: snapshot %" PRIu64 " not written to %s: %s; the "
			"log is kept until one is\n", r->id, seq, d->dd.path, strerror(errno));
		return false;
	}
	for (unsigned c = 0; c < TR_COLUMNS; c++) {
		atomic_store(&d->trim_below[c], below[c]);
		atomic_store(&d->trim_frontier[c], h.point.applied[c]);
	}
	atomic_fetch_add(&d->trim_gen, 1);
	atomic_fetch_add(&d->snapshots, 1);
	return true;
}

static void *
writer_main(void *arg)
{
	struct snap_writer *w = arg;
	struct rt_replica *r = w->r;

	tr_thread_anywhere();
	snap_commit(r, w->seq, w->buf, w->len, w->below, true);
	tr_snap_put(w->job);
	atomic_store(&r->dur.writing, false);
	atomic_fetch_sub(&r->t->threads, 1);
	free(w);
	return NULL;
}

bool
rt_durable_snap_received(struct rt_replica *r, const uint8_t *buf, size_t len)
{
	struct rt_durable *d = &r->dur;
	uint64_t below[TR_COLUMNS];

	struct tr_snap_hdr h;

	/* Only one ahead of this replica (the install will take it): the newest
	 * snapshot on disk always has the highest frontier. */
	if (!d->on || tr_snap_check(buf, len, r->limits.cluster_id, &h) != NULL ||
	    !tr_replica_snapshot_ahead(&r->eng, &h.point))
		return true;
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		below[c] = atomic_load(&d->open_seq[c]);
	/* Inline: the replica is catching up, and its next restart needs it. */
	if (!snap_commit(r, ++d->snap_seq, buf, len, below, false))
		return false;
	memcpy(d->received, h.point.applied, sizeof(d->received));
	d->received_any = true;
	return true;
}

/* A disk snapshot of this replica's that a received one, written since it
 * began, covers: written after it, it would be the newest on disk, and a
 * restart would load the older point (and the log trimmed behind the newer
 * one would not fill the gap). */
static bool
job_covered(const struct rt_replica *r, const uint8_t *buf, size_t len)
{
	struct tr_snap_hdr h;

	if (!r->dur.received_any || tr_snap_check(buf, len, r->limits.cluster_id, &h) != NULL)
		return false;
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		if (h.point.applied[c] > r->dur.received[c])
			return false;
	return true;
}

/* The column 0 task: a snapshot every d->every instances of a column. */
static unsigned
snap_poll(struct rt_replica *r)
{
	struct rt_durable *d = &r->dur;
	struct snap_writer *w;
	pthread_t th;
	bool due = false, failed;
	unsigned hold = atomic_load_explicit(&d->snap_hold, memory_order_relaxed);

	if (d->job != NULL) {
		size_t len;
		const uint8_t *buf;

		if (hold == 1)
			return 0;
		buf = tr_snap_ready(d->job, &len, &failed);

		if (buf == NULL && !failed)
			return 0;
		if (failed || job_covered(r, buf, len)) {
			tr_snap_put(d->job);
			d->job = NULL;
			return 1;
		}
		w = malloc(sizeof(*w));
		if (w == NULL) {
			tr_snap_put(d->job);
			d->job = NULL;
			return 1;
		}
		*w = (struct snap_writer){.r = r, .job = d->job, .buf = buf, .len = len,
					  .seq = ++d->snap_seq};
		memcpy(w->below, d->job_below, sizeof(w->below));
		d->job = NULL;
		atomic_store(&d->writing, true);
		atomic_fetch_add(&r->t->threads, 1);
		if (pthread_create(&th, NULL, writer_main, w) != 0) {
			atomic_fetch_add(&r->t->threads, 1); /* writer_main takes one off */
			writer_main(w);
			atomic_fetch_sub(&r->t->threads, 1);
		} else {
			pthread_detach(th);
		}
		return 1;
	}
	if (hold == 2 || atomic_load_explicit(&d->writing, memory_order_relaxed) ||
	    atomic_load_explicit(&r->snap_req, memory_order_relaxed) != NULL ||
	    atomic_load_explicit(&d->amnesiac, memory_order_relaxed))
		return 0;
	for (unsigned c = 0; c < TR_COLUMNS; c++) {
		uint64_t applied = atomic_load_explicit(&r->eng.shared.applied[c],
							memory_order_relaxed);

		due |= applied >= d->snap_applied[c] + d->every;
		/* The log after the snapshot must fit the ring at a restart: a
		 * column voting far ahead of its applied prefix (the applier
		 * held up by another) needs a newer point, if there is one. */
		due |= applied > d->snap_applied[c] &&
		       atomic_load_explicit(&d->max_lsn[c], memory_order_relaxed) >=
		       d->snap_applied[c] + 3 * d->every;
	}
	if (!due)
		return 0;
	d->job = tr_snap_job_new(r->limits.cluster_id, (uint8_t)r->id, &r->t->threads);
	if (d->job == NULL)
		return 0;
	for (unsigned c = 0; c < TR_COLUMNS; c++) {
		/* Every record of a segment closed now was written before F_end. */
		d->job_below[c] = atomic_load(&d->open_seq[c]);
		d->snap_applied[c] = atomic_load(&r->eng.shared.applied[c]);
	}
	atomic_store(&r->snap_req, d->job); /* the applier's reference goes with it */
	return 1;
}

/* J with a disk: once the join is complete (every slot below the floors
 * committed here) and every task has synced what it logged since, a
 * restart may trust the log again. */
static void
amnesia_poll(struct rt_replica *r)
{
	struct rt_durable *d = &r->dur;
	uint64_t polls[TR_COLUMNS], asked[TR_COLUMNS], done[TR_COLUMNS];

	if (!atomic_load_explicit(&d->amnesiac, memory_order_relaxed) ||
	    tr_replica_inc(&r->eng) == 0 || !tr_replica_rejoined(&r->eng))
		return;
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		polls[c] = atomic_load(&d->polls[c]);
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		asked[c] = atomic_load(&d->asked[c]);
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		done[c] = atomic_load(&d->done[c]);
	if (!tr_sync_mark_step(&d->clear, polls, asked, done))
		return;
	if (!inc_gate(r))
		return;
	pthread_mutex_lock(&d->sb_lock);
	if (tr_dd_super_write(&d->dd, atomic_load(&d->inc_durable), 0) == 0) {
		atomic_store(&d->amnesiac, false);
		RT_LOG(INFO, "replica %u: join complete and durable in %s: a restart now "
			"recovers from its log\n", r->id, d->dd.path);
	}
	pthread_mutex_unlock(&d->sb_lock);
}

/* J0: a peer's new incarnation into the superblock (one write per peer
 * restart), so that after this replica restarts, a JOIN of that peer on a
 * new disk is still answered above every life it had. */
static void
peer_inc_poll(struct rt_replica *r)
{
	struct rt_durable *d = &r->dur;
	uint32_t heard[2], was[2];
	bool more = false;

	if (d->peer_inc_failed)
		return;
	for (unsigned q = 0; q < TR_REPLICAS; q++) {
		unsigned i = tr_dd_peer_slot(r->id, q);

		if (q == r->id)
			continue;
		heard[i] = atomic_load_explicit(&r->eng.shared.peer_inc[q], memory_order_relaxed);
		more |= heard[i] > d->peer_inc_durable[i];
	}
	if (!more)
		return;
	pthread_mutex_lock(&d->sb_lock);
	memcpy(was, d->dd.sb.peer_inc, sizeof(was));
	for (unsigned i = 0; i < 2; i++)
		if (heard[i] > d->dd.sb.peer_inc[i])
			d->dd.sb.peer_inc[i] = heard[i];
	if (tr_dd_super_write(&d->dd, d->dd.sb.inc, d->dd.sb.flags) == 0) {
		memcpy(d->peer_inc_durable, d->dd.sb.peer_inc, sizeof(d->peer_inc_durable));
	} else {
		memcpy(d->dd.sb.peer_inc, was, sizeof(was));
		d->peer_inc_failed = true;
		RT_LOG(ERR, "replica %u: cannot write the superblock in %s: %s: a peer that "
			"rejoins on a new disk after this replica restarts may take an old "
			"incarnation\n", r->id, d->dd.path, strerror(errno));
	}
	pthread_mutex_unlock(&d->sb_lock);
}

unsigned
rt_durable_poll(struct rt_task *k, uint64_t now_ns)
{
	struct rt_replica *r = k->rep;
	struct rt_durable *d = &r->dur;
	struct tr_wal *w = &d->wal[k->column];
	uint64_t gen;
	unsigned work = 0;

	(void)now_ns;
	if (!d->on)
		return 0;
	gen = atomic_load_explicit(&d->trim_gen, memory_order_acquire);
	if (gen != d->trim_seen[k->column]) {
		d->trim_seen[k->column] = gen;
		work += tr_wal_trim(w, atomic_load(&d->trim_below[k->column]),
				    atomic_load(&d->trim_frontier[k->column]));
	}
	if (w->seq != atomic_load_explicit(&d->open_seq[k->column], memory_order_relaxed))
		atomic_store(&d->open_seq[k->column], w->seq);
	if (w->seg_max_lsn > atomic_load_explicit(&d->max_lsn[k->column], memory_order_relaxed))
		atomic_store_explicit(&d->max_lsn[k->column], w->seg_max_lsn,
				      memory_order_relaxed);
	if (k->column == 0) {
		work += snap_poll(r);
		amnesia_poll(r);
		peer_inc_poll(r);
	}
	return work;
}

void
rt_durable_defer(struct rt_replica *r, const struct tr_completion *d)
{
	struct rt_durable *x = &r->dur;
	struct rt_deferred *e;

	if (x->defer_len == x->defer_cap) {
		size_t cap = x->defer_cap ? 2 * x->defer_cap : 1024;
		struct rt_deferred *p = malloc(cap * sizeof(*p));

		if (p == NULL)
			abort(); /* the applier cannot answer early, nor drop an answer */
		for (size_t i = 0; i < x->defer_len; i++)
			p[i] = x->defer[(x->defer_head + i) % x->defer_cap];
		free(x->defer);
		x->defer = p;
		x->defer_head = 0;
		x->defer_cap = cap;
	}
	e = &x->defer[(x->defer_head + x->defer_len++) % x->defer_cap];
	e->client_id = d->client_id;
	e->seq = d->seq;
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		e->frontier[c] = atomic_load_explicit(&r->eng.shared.applied[c],
						      memory_order_relaxed);
	if (d->lsn != TR_LSN_BARRIER && e->frontier[d->column] <= d->lsn)
		e->frontier[d->column] = d->lsn + 1;
	rt_durable_release(r); /* synced already: it goes at once */
}

void
rt_durable_release(struct rt_replica *r)
{
	struct rt_durable *x = &r->dur;
	uint64_t synced[TR_COLUMNS];

	if (x->defer_len == 0)
		return;
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		synced[c] = atomic_load_explicit(&x->synced[c], memory_order_acquire);
	while (x->defer_len > 0) {
		struct rt_deferred *e = &x->defer[x->defer_head];
		unsigned c = 0;

		while (c < TR_COLUMNS && e->frontier[c] <= synced[c])
			c++;
		if (c < TR_COLUMNS)
			return; /* answers go in order: the later ones wait too */
		x->defer_head = (x->defer_head + 1) % x->defer_cap;
		x->defer_len--;
		rt_applier_release(r, e->client_id, e->seq);
	}
}

void
rt_durable_crash(struct rt_replica *r)
{
	struct rt_durable *d = &r->dur;

	if (!d->on)
		return;
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		tr_wal_close(&d->wal[c]);
	tr_snap_put(d->job);
	d->job = NULL;
	while (atomic_load(&d->writing))
		usleep(1000);
	/* Held answers: their clients got ESTOPPED (the crash) or are gone. */
	d->defer_len = 0;
	d->defer_head = 0;
	memset((void *)d->synced, 0, sizeof(d->synced));
	memset((void *)d->max_lsn, 0, sizeof(d->max_lsn));
}

void
rt_durable_close(struct rt_replica *r)
{
	struct rt_durable *d = &r->dur;

	if (!d->on)
		return;
	rt_durable_crash(r);
	free(d->defer);
	d->defer = NULL;
	d->defer_cap = 0;
	tr_dd_close(&d->dd);
	pthread_mutex_destroy(&d->sb_lock);
	d->on = false;
}
