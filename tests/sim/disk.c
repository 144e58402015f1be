/* SPDX-License-Identifier: MIT
 * The simulator's disk (PROTOCOL §12 S1-S3): one log per replica, written
 * through cfg.durable, synced in virtual time.
 *
 * Group commit: every record a step appends waits for a sync; whatever the
 * step reveals (its frames, its client answers) and what the checkers learn
 * from it (votes, commits, applies) is held in order and released once a
 * sync covers the records appended before it, lazy ones (S4) excepted. A sync covers everything
 * appended when it starts and takes sync_min_ns..sync_max_ns. A crash keeps
 * the synced bytes plus a random part of the rest, which may end inside a
 * record (a torn tail, S3). The known-bad TR_VARIANT_REPLY_BEFORE_PERSIST
 * sends frames at once and still syncs later.
 */
#include "sim_internal.h"

#include <stdlib.h>
#include <string.h>

void
disk_append(void *arg, const struct tr_durable_rec *rec)
{
	struct node *n = arg;
	struct sim_disk *d = &n->disk;
	size_t need = tr_durable_bytes(rec);

	if (d->len + need > d->cap) {
		d->cap = d->cap ? 2 * d->cap : 1 << 16;
		while (d->len + need > d->cap)
			d->cap *= 2;
		d->log = realloc(d->log, d->cap);
	}
	d->len += tr_durable_encode(d->log + d->len, d->cap - d->len, rec);
	if (!rec->lazy)
		d->must = d->len; /* S4: a lazy record holds nothing back */
	n->sim->st.records++;
}

struct dfr *
disk_hold(struct sim *s, unsigned r, uint8_t kind)
{
	struct sim_disk *d = &s->nodes[r].disk;
	struct dfr *e;

	if (d->qlen == d->qcap) {
		d->qcap = d->qcap ? 2 * d->qcap : 256;
		d->q = realloc(d->q, d->qcap * sizeof(*d->q));
	}
	e = &d->q[d->qlen++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->need = d->must;
	return e;
}

static void
dfr_free(struct dfr *e)
{
	free(e->buf);
	if (e->kind == DFR_SNAP)
		snap_free(e->snap);
	e->buf = NULL;
	e->snap = NULL;
}

static void
dfr_release(struct sim *s, unsigned r, struct dfr *e)
{
	struct node *n = &s->nodes[r];

	switch (e->kind) {
	case DFR_FRAME:
		sim_net_frame(s, r, e->to, e->column, e->buf, e->len);
		break;
	case DFR_VOTE:
		check_vote_hash(s, &e->m, e->hash);
		break;
	case DFR_COMMIT:
		check_commit_hash(s, r, e->column, e->lsn, e->hash);
		break;
	case DFR_APPLY:
		e->v.cmds = e->buf;
		check_apply(s, r, e->column, e->lsn, &e->v);
		break;
	case DFR_COMPLETE:
		e->done.res.val = e->buf;
		sim_complete(n, &e->done);
		break;
	case DFR_SNAP:
		snap_free(n->disk.snap);
		n->disk.snap = e->snap;
		e->snap = NULL;
		break;
	case DFR_REJOINED:
		n->disk.joining = false;
		break;
	}
	dfr_free(e);
}

/* Releases, in order, everything the synced bytes cover. */
static void
disk_release(struct sim *s, unsigned r)
{
	struct sim_disk *d = &s->nodes[r].disk;

	while (d->qhead < d->qlen && d->q[d->qhead].need <= d->synced) {
		struct dfr e = d->q[d->qhead++];

		dfr_release(s, r, &e);
	}
	if (d->qhead == d->qlen)
		d->qhead = d->qlen = 0;
}

static void
sync_start(struct sim *s, unsigned r)
{
	struct sim_disk *d = &s->nodes[r].disk;

	if (d->syncing || d->qhead == d->qlen)
		return;
	d->syncing = true;
	d->sync_target = d->len;
	schedule(s, s->now + sim_between(s, s->p.sync_min_ns, s->p.sync_max_ns), EV_SYNC,
		 (uint8_t)r, 0, d->gen, NULL, 0);
}

void
disk_sync_done(struct sim *s, unsigned r, uint32_t gen)
{
	struct sim_disk *d = &s->nodes[r].disk;

	if (gen != d->gen || !d->syncing)
		return; /* a sync of a life that crashed */
	d->syncing = false;
	if (d->sync_target > d->synced)
		d->synced = d->sync_target;
	s->st.syncs++;
	disk_release(s, r);
	sync_start(s, r);
}

/* A sync that takes no time: before a snapshot is cut or installed. */
void
disk_sync_now(struct sim *s, unsigned r)
{
	struct sim_disk *d = &s->nodes[r].disk;

	if (!s->p.disk)
		return;
	d->synced = d->len;
	disk_release(s, r);
}

/* After every step: the superblock's incarnation (J0: a join's new one,
 * written before anything is sent at it), a snapshot once the engine has
 * recycled past the disk's (the log after a snapshot must fit the ring,
 * tr_replica_restore), the end of a rejoin, then what is synced goes. */
void
disk_step_end(struct sim *s, unsigned r)
{
	struct node *n = &s->nodes[r];
	struct sim_disk *d = &n->disk;
	bool snap = false;

	/* J0: a life joining from a damaged disk above every earlier one (a
	 * message of an earlier life would otherwise pass for its newest: the
	 * new life's messages dropped as old, for good). */
	if (n->join_floor != 0 && tr_replica_inc(&n->rep) != 0) {
		if (tr_replica_inc(&n->rep) <= n->join_floor)
			sim_violation_add(s, "J0: replica %u joined at incarnation %u, not above "
					  "its disk's %u", r, tr_replica_inc(&n->rep), n->join_floor);
		n->join_floor = 0;
	}
	if (tr_replica_inc(&n->rep) > d->inc)
		d->inc = tr_replica_inc(&n->rep);
	for (unsigned q = 0; q < TR_REPLICAS; q++) {
		uint32_t heard = atomic_load(&n->rep.shared.peer_inc[q]);

		if (heard > d->peer_inc[q] && !s->p.peer_incs_forgotten)
			d->peer_inc[q] = heard;
	}
	if (d->joining && tr_replica_rejoined(&n->rep)) {
		bool held = false;

		for (size_t i = d->qhead; i < d->qlen; i++)
			held |= d->q[i].kind == DFR_REJOINED;
		if (!held)
			disk_hold(s, r, DFR_REJOINED);
	}
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		snap |= n->rep.col[c].base > d->snap_at[c];
	if (snap) {
		struct dfr *e = disk_hold(s, r, DFR_SNAP);

		e->snap = snap_take(s, r);
		memcpy(d->snap_at, e->snap->pt.applied, sizeof(d->snap_at));
		for (unsigned c = 0; c < TR_COLUMNS; c++)
			if (d->snap_at[c] < n->rep.col[c].base)
				d->snap_at[c] = n->rep.col[c].base; /* installed, not applied yet */
	}
	disk_release(s, r);
	sync_start(s, r);
}

bool
disk_idle(const struct node *n)
{
	return n->disk.qhead == n->disk.qlen;
}

static void
disk_drop_held(struct sim_disk *d)
{
	for (size_t i = d->qhead; i < d->qlen; i++)
		dfr_free(&d->q[i]);
	d->qhead = d->qlen = 0;
	d->syncing = false;
	d->gen++;
}

/* A crash: what was held is lost; the synced bytes stay, and of the rest a
 * random part made it (the last record kept may be cut short). */
void
disk_crash(struct sim *s, unsigned r)
{
	struct sim_disk *d = &s->nodes[r].disk;

	disk_drop_held(d);
	if (d->snap != NULL)
		memcpy(d->snap_at, d->snap->pt.applied, sizeof(d->snap_at));
	else
		memset(d->snap_at, 0, sizeof(d->snap_at));
	d->len = d->synced + sim_between(s, 0, d->len - d->synced);
	if (d->log != NULL)
		memset(d->log + d->len, 0, d->cap - d->len); /* a preallocated file reads zero */
	d->synced = d->must = d->len;
}

/* A new machine: nothing on it (the amnesiac's, J). */
void
disk_wipe(struct node *n)
{
	struct sim_disk *d = &n->disk;

	disk_drop_held(d);
	d->len = d->synced = d->must = 0;
	if (d->log != NULL)
		memset(d->log, 0, d->cap);
	snap_free(d->snap);
	d->snap = NULL;
	memset(d->snap_at, 0, sizeof(d->snap_at));
	d->joining = true;
}

void
disk_free(struct node *n)
{
	disk_drop_held(&n->disk);
	free(n->disk.q);
	free(n->disk.log);
	snap_free(n->disk.snap);
	memset(&n->disk, 0, sizeof(n->disk));
}

/* A replaced disk: not even its superblock is left (node_restart wipes the
 * rest). */
static void
disk_new(struct sim_disk *d)
{
	d->inc = 0;
	memset(d->peer_inc, 0, sizeof(d->peer_inc));
}

/* S3 fault: one byte of a record before the last one flipped. */
static void
corrupt_middle(struct sim *s, struct sim_disk *d)
{
	size_t starts[64], n = 0, off = 0, used;
	struct tr_durable_rec rec;
	size_t pick, span;

	/* The first 64 records' starts are enough to pick from. */
	while (n < 64 && tr_durable_decode(d->log + off, d->len - off, &rec, &used) ==
				 TR_DURABLE_OK) {
		starts[n++] = off;
		off += used;
	}
	if (n < 2)
		return;
	pick = (size_t)sim_between(s, 0, n - 2);
	span = starts[pick + 1] - starts[pick];
	d->log[starts[pick] + sim_between(s, 0, span - 1)] ^= (uint8_t)(1u << sim_between(s, 0, 7));
}

/* S3: the length of the valid prefix; *damaged when a record fails and a
 * valid one follows it (not a torn tail). */
static size_t
disk_scan(struct sim_disk *d, bool *damaged, bool *torn)
{
	struct tr_durable_rec rec;
	size_t off = 0, used, at;

	*damaged = *torn = false;
	while (tr_durable_decode(d->log + off, d->len - off, &rec, &used) == TR_DURABLE_OK)
		off += used;
	for (at = off; at < d->len && d->log[at] == 0; at++)
		;
	if (at == d->len)
		return off; /* the end of the log */
	*torn = true;
	for (at = off + 1; at + TR_DURABLE_HDR_BYTES <= d->len; at++)
		if (tr_durable_decode(d->log + at, d->len - at, &rec, &used) == TR_DURABLE_OK) {
			*damaged = true;
			break;
		}
	return off;
}

/* A life of replica r that does not join, at incarnation inc, up again
 * (still down until it has caught up), before anything is restored. */
static void
life_not_joining(struct sim *s, unsigned r, uint32_t inc, uint64_t down_since)
{
	struct node *n = &s->nodes[r];

	snap_free(s->snaps[r]);
	s->snaps[r] = NULL;
	node_free(n);
	n->life++;
	n->start_inc = inc;
	node_init(s, r, false);
	n->down_since = down_since;
	n->crashed = false;
	n->paused = false;
	n->snap_pending = false;
}

/* J5's episode: the log is lost, and the replica starts again without
 * joining: half the time on an empty disk as a new replica (inc 1: the
 * operator's mistake), else with its superblock left (inc + 1: a log restored
 * from an old backup, or lost with --sync none). */
static void
disk_restart_new(struct sim *s, unsigned r, uint64_t down_since)
{
	struct node *n = &s->nodes[r];
	uint32_t inc = sim_unit(s) < 0.5 ? 1 : n->disk.inc + 1;

	disk_wipe(n);
	n->disk.joining = false;
	n->disk.inc = inc - 1;
	life_not_joining(s, r, inc, down_since);
	sim_trace(s, "replica %u starts on an empty log, not as a joiner (inc %u)", r, inc);
}

/* S2: a crashed replica back from its disk, or (S3's damage, a rejoin not
 * finished, a record the engine refuses) as an amnesiac (J). */
void
disk_restart(struct sim *s, unsigned r)
{
	struct node *n = &s->nodes[r];
	struct sim_disk *d = &n->disk;
	uint64_t down_since = n->down_since;
	struct tr_durable_rec rec;
	bool damaged, torn;
	size_t valid, off = 0, used;
	uint32_t inc;

	d->restart_at = UINT64_MAX;
	if (n->wiped) {
		disk_restart_new(s, r, down_since);
		return;
	}
	/* f = 1: no damage while another replica rejoins without memory (two
	 * amnesiacs at once, after a power loss, could never rejoin: J1). */
	if (s->p.corrupt > 0 && sim_unit(s) < s->p.corrupt &&
	    !s->nodes[(r + 1) % TR_REPLICAS].disk.joining &&
	    !s->nodes[(r + 2) % TR_REPLICAS].disk.joining)
		corrupt_middle(s, d);
	/* A disk replaced while the replica was down: nothing of its lives
	 * left, so it joins like a restart without memory (no floor of its own:
	 * J0 rests on what its peers heard). f = 1, as above. */
	if (s->p.lose_disk > 0 && sim_unit(s) < s->p.lose_disk &&
	    !s->nodes[(r + 1) % TR_REPLICAS].disk.joining &&
	    !s->nodes[(r + 2) % TR_REPLICAS].disk.joining) {
		s->st.lost_disks++;
		sim_trace(s, "replica %u: its disk was replaced: rejoins without memory", r);
		disk_new(d);
		node_restart(s, r, 0);
		return;
	}
	valid = disk_scan(d, &damaged, &torn);
	if (damaged || d->joining) {
		s->st.damaged += damaged;
		sim_trace(s, "replica %u: %s: rejoins without memory", r,
			  damaged ? "damaged log (S3)" : "its disk is from a rejoin not finished");
		/* J0: above every incarnation its superblock knew, as the
		 * runtime does (its peers may have restarted and forgotten). */
		node_restart(s, r, d->inc);
		return;
	}
	if (torn) {
		s->st.torn_tails++;
		memset(d->log + valid, 0, d->len - valid);
	}
	d->len = d->synced = d->must = valid;
	/* J0: a new incarnation, durable before anything is sent. */
	inc = d->inc + ((s->p.variant & TR_VARIANT_RESTART_SAME_INC) ? 0 : 1);
	d->inc = inc;
	life_not_joining(s, r, inc, down_since);
	if (d->snap != NULL && !snap_install(s, r, d->snap))
		return;
	while (tr_durable_decode(d->log + off, d->len - off, &rec, &used) == TR_DURABLE_OK) {
		if (tr_replica_restore(&n->rep, &rec, s->now) != 0) {
			s->st.restore_refused++;
			sim_trace(s, "replica %u: record at %zu refused: rejoins without memory", r,
				  off);
			node_restart(s, r, d->inc);
			return;
		}
		off += used;
	}
	tr_replica_restored(&n->rep, s->now);
	s->st.disk_restarts++;
	sim_trace(s, "replica %u restarts from its disk: inc %u, %zu bytes of log%s", r, inc, valid,
		  torn ? ", torn tail dropped" : "");
}
