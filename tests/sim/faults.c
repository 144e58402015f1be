/* SPDX-License-Identifier: MIT
 * The simulator's PROTOCOL §12 faults: a replica paused for any length of
 * time (memory kept), or crashed and restarted without memory (it JOINs);
 * snapshot transfers (T1) between nodes; and checker (g): while one replica
 * is down, the two others keep committing.
 *
 * One episode at a time: a victim goes down, comes back, and counts as down
 * until it has caught up with what the others had applied when it came back
 * (§1: "a replica that is catching up counts as the one that is down").
 */
#include "sim_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static uint64_t
applied_sum(const struct node *n)
{
	uint64_t sum = 0;

	for (unsigned c = 0; c < TR_COLUMNS; c++)
		sum += atomic_load(&((struct node *)n)->rep.shared.applied[c]);
	return sum;
}

bool
node_up(const struct sim *s, unsigned r)
{
	const struct node *n = &s->nodes[r];

	return !n->crashed && !n->paused && n->down_since == UINT64_MAX;
}

/* (g): replica r is down from now on, until down_end (a crash-stop: for
 * good). */
void
down_record(struct sim *s, unsigned r)
{
	if (s->ndowns == s->downs_cap) {
		s->downs_cap = s->downs_cap ? 2 * s->downs_cap : 16;
		s->downs = realloc(s->downs, s->downs_cap * sizeof(*s->downs));
	}
	s->downs[s->ndowns++] = (struct down){.replica = (uint8_t)r, .from = s->now,
					      .to = UINT64_MAX};
}

static void
down_begin(struct sim *s, unsigned r)
{
	struct node *n = &s->nodes[r];

	if (n->down_since != UINT64_MAX)
		return;
	n->down_since = s->now;
	down_record(s, r);
}

static void
down_end(struct sim *s, unsigned r)
{
	s->nodes[r].down_since = UINT64_MAX;
	for (size_t i = s->ndowns; i-- > 0;)
		if (s->downs[i].replica == r && s->downs[i].to == UINT64_MAX) {
			s->downs[i].to = s->now;
			break;
		}
	s->nodes[r].back_ns = 0;
	if (s->fault_victim == (int)r)
		s->fault_victim = -1;
	sim_trace(s, "replica %u caught up", r);
}

/* What the others have applied: the victim is down until it gets there. */
static uint64_t
catchup_target(struct sim *s, unsigned r)
{
	uint64_t best = 0;

	for (unsigned q = 0; q < TR_REPLICAS; q++)
		if (q != r && !s->nodes[q].crashed && applied_sum(&s->nodes[q]) > best)
			best = applied_sum(&s->nodes[q]);
	return best;
}

/* Back in the race: it has applied what the others had when it came back
 * and, with a ring, is within a quarter of it from what they apply now (a
 * replica that installs a snapshot already a ring old has not caught up). */
static bool
caught_up(struct sim *s, unsigned r)
{
	struct node *n = &s->nodes[r];

	if (applied_sum(n) < n->catchup)
		return false;
	for (unsigned c = 0; c < TR_COLUMNS && s->p.log_slots != 0; c++) {
		uint64_t mine = atomic_load(&n->rep.shared.applied[c]);

		for (unsigned q = 0; q < TR_REPLICAS; q++) {
			struct node *o = &s->nodes[q];

			if (q != r && !o->crashed && !o->paused &&
			    mine + s->p.log_slots / 4 < atomic_load(&o->rep.shared.applied[c]))
				return false;
		}
	}
	return true;
}

/* (h): a replica back from a fault catches up within rejoin_ns while both
 * others are up; the clock restarts whenever one of them is not. */
static void
check_rejoin(struct sim *s, unsigned r)
{
	struct node *n = &s->nodes[r];

	if (s->p.rejoin_ns == 0 || n->back_ns == 0 || s->healed)
		return;
	for (unsigned q = 0; q < TR_REPLICAS; q++)
		if (q != r && (s->nodes[q].crashed || s->nodes[q].paused))
			n->back_ns = s->now;
	if (s->now - n->back_ns <= s->p.rejoin_ns)
		return;
	sim_violation_add(s, "(h) replica %u not caught up %" PRIu64 " ms after it came back "
			  "(%u snapshots installed): applied [%" PRIu64 " %" PRIu64 " %" PRIu64 "]",
			  r, (s->now - n->back_ns) / 1000000, n->snap_installs,
			  atomic_load(&n->rep.shared.applied[0]), atomic_load(&n->rep.shared.applied[1]),
			  atomic_load(&n->rep.shared.applied[2]));
	n->back_ns = 0;
}

void
node_mark_lost(struct sim *s, unsigned r)
{
	for (unsigned i = 0; i < s->nops; i++) {
		struct op *o = &s->ops[i];

		if (!o->done && s->clients[o->client].home == r)
			o->lost = true;
	}
	for (unsigned i = 0; i < s->nclients; i++)
		if (s->clients[i].home == r)
			s->clients[i].outstanding = 0;
}

void
snap_free(struct sim_snap *sn)
{
	if (sn == NULL)
		return;
	free(sn->table_mem);
	free(sn->sm_bytes);
	free(sn);
}

static void
tick_all_at(struct sim *s, unsigned r, uint64_t at)
{
	struct node *n = &s->nodes[r];

	for (unsigned c = 0; c < TR_COLUMNS; c++) {
		n->tick_at[c] = at;
		schedule(s, at, EV_TICK, (uint8_t)r, (uint8_t)c, 0, NULL, 0);
	}
}

static void
tick_all(struct sim *s, unsigned r)
{
	tick_all_at(s, r, s->now);
}

static void
wake_clients(struct sim *s, unsigned r)
{
	for (unsigned i = 0; i < s->nclients; i++)
		if (s->clients[i].home == r)
			client_wake(s, &s->clients[i], s->now);
}

/* A restart without memory (J); with a disk, on an empty one, or (inc_floor
 * not 0) on a damaged one whose superblock's incarnation was inc_floor. */
void
node_restart(struct sim *s, unsigned r, uint32_t inc_floor)
{
	struct node *n = &s->nodes[r];
	uint64_t down_since = n->down_since;

	snap_free(s->snaps[r]);
	s->snaps[r] = NULL;
	node_free(n);
	n->life++;
	for (unsigned i = 0; s->p.client_lives && i < s->nclients; i++)
		s->clients[i].life += s->clients[i].home == r; /* new ids, seqs going on */
	if (s->p.disk)
		disk_wipe(n);
	n->join_floor = inc_floor;
	node_init(s, r, true);
	n->down_since = down_since; /* down until it has caught up */
	n->crashed = false;
	n->paused = false;
	n->snap_pending = false;
	sim_trace(s, "restart replica %u without memory (life %u)", r, n->life);
}

void
sim_restart(struct sim *s, unsigned replica)
{
	node_restart(s, replica, 0);
}

/* §12 S: a crash that keeps the disk; the restart is due after d. */
static void
crash_disk(struct sim *s, unsigned r, uint64_t d)
{
	struct node *n = &s->nodes[r];

	down_begin(s, r);
	n->crashed = true;
	node_mark_lost(s, r);
	disk_crash(s, r);
	n->disk.restart_at = s->now + d;
	schedule(s, s->now + d, EV_DISK_RESTART, (uint8_t)r, 0, 0, NULL, 0);
}

/* The episode, when it is one of §12 S's (chosen uniformly among the kinds
 * with episodes left): one replica crashes and restarts from its disk, or
 * all three lose power at once and restart from their disks, or (J5) one
 * loses its disk and starts again as a new replica. */
static bool
disk_fault_start(struct sim *s, unsigned victim, uint64_t d)
{
	uint64_t left[5] = {s->p.pauses - s->st.pauses + s->p.deafs - s->st.deafs,
			    s->p.restarts - s->st.restarts,
			    s->p.crash_disks - s->st.crash_disks,
			    s->p.power_losses - s->st.power_losses,
			    s->p.wipes - s->st.wipes};
	uint64_t x = sim_between(s, 0, left[0] + left[1] + left[2] + left[3] + left[4] - 1);

	if (x < left[0] + left[1])
		return false; /* a pause, a deaf episode or a restart without memory */
	if (x >= left[0] + left[1] + left[2] + left[3]) {
		s->st.wipes++;
		s->fault_victim = (int)victim;
		s->nodes[victim].wiped = true;
		sim_trace(s, "crash replica %u, its disk lost: it starts as a new replica in %" PRIu64
			  " us", victim, d / 1000);
		crash_disk(s, victim, d);
		return true;
	}
	if (x < left[0] + left[1] + left[2]) {
		s->st.crash_disks++;
		s->fault_victim = (int)victim;
		sim_trace(s, "crash replica %u, restart from its disk in %" PRIu64 " us", victim,
			  d / 1000);
		crash_disk(s, victim, d);
		return true;
	}
	s->st.power_losses++;
	s->power_ns = s->now;
	s->fault_victim = -1;
	sim_trace(s, "power loss: all three crash, restart from disk in %" PRIu64 " us", d / 1000);
	for (unsigned r = 0; r < TR_REPLICAS; r++)
		crash_disk(s, r, d + sim_between(s, 0, d / 4));
	return true;
}

/* Starts the next episode: one replica paused, or crashed and restarted. */
static void
fault_start(struct sim *s)
{
	unsigned victim;
	uint64_t d;
	bool crash;

	if (s->healed || s->fault_episodes == 0)
		return;
	for (unsigned r = 0; r < TR_REPLICAS; r++)
		if (!node_up(s, r) && !(s->nodes[r].crashed && s->nodes[r].down_since == UINT64_MAX)) {
			schedule(s, s->now + 1000000, EV_FAULT, 0, 0, 0, NULL, 0);
			return; /* one episode at a time */
		}
	/* After the crash-stop, pauses only: a restart needs both peers (J1),
	 * a power loss would bring the stopped replica back. */
	if (s->crashed >= 0 && s->st.pauses >= s->p.pauses)
		return;
	victim = (unsigned)sim_between(s, 0, TR_REPLICAS - 1);
	if (s->nodes[victim].crashed)
		return;
	d = sim_between(s, s->p.down_min_ns, s->p.down_max_ns);
	s->nodes[victim].cut_done = false;
	s->fault_episodes--;
	s->fault_next_op = s->issued + s->p.ops / (s->p.pauses + s->p.restarts + s->p.deafs +
						   s->p.crash_disks + s->p.power_losses +
						   s->p.wipes + 2);
	if (s->crashed < 0 && s->p.crash_disks + s->p.power_losses + s->p.wipes > 0 &&
	    disk_fault_start(s, victim, d))
		return;
	if (s->st.deafs < s->p.deafs &&
	    (s->st.pauses + s->st.restarts >= s->p.pauses + s->p.restarts || sim_unit(s) < 0.5)) {
		s->fault_victim = (int)victim;
		down_begin(s, victim);
		s->deaf_until[victim] = s->now + d;
		s->deaf_from[victim] = s->now;
		s->st.deafs++;
		sim_trace(s, "replica %u hears nothing for %" PRIu64 " us", victim, d / 1000);
		schedule(s, s->now + d, EV_HEAR, (uint8_t)victim, 0, 0, NULL, 0);
		return;
	}
	crash = s->crashed < 0 && s->st.restarts < s->p.restarts &&
		(s->st.pauses >= s->p.pauses || sim_unit(s) < 0.5);
	s->fault_victim = (int)victim;
	down_begin(s, victim);
	if (crash) {
		s->nodes[victim].crashed = true;
		node_mark_lost(s, victim);
		s->st.restarts++;
		sim_trace(s, "crash replica %u, restart in %" PRIu64 " us", victim, d / 1000);
		schedule(s, s->now + d, EV_RESTART, (uint8_t)victim, 0, 0, NULL, 0);
	} else {
		s->nodes[victim].paused = true;
		s->st.pauses++;
		sim_trace(s, "pause replica %u for %" PRIu64 " us", victim, d / 1000);
		schedule(s, s->now + d, EV_RESUME, (uint8_t)victim, 0, 0, NULL, 0);
	}
}

/* A second fault while a replica joins: another one pauses for a while.
 * Progress stops (J1 waits for both peers); nothing wrong may happen. */
static void
second_fault(struct sim *s, unsigned joiner)
{
	unsigned other = (joiner + 1 + (unsigned)sim_between(s, 0, 1)) % TR_REPLICAS;
	uint64_t d = sim_between(s, s->p.down_min_ns / 4, s->p.down_min_ns);

	if (s->nodes[other].crashed || s->nodes[other].paused)
		return;
	down_begin(s, other);
	s->nodes[other].paused = true;
	sim_trace(s, "second fault: pause replica %u for %" PRIu64 " us while %u joins", other,
		  d / 1000, joiner);
	schedule(s, s->now + d, EV_RESUME, (uint8_t)other, 0, 0, NULL, 0);
}

static void
snapshot_deliver(struct sim *s, unsigned r)
{
	struct node *n = &s->nodes[r];
	struct sim_snap *sn = s->snaps[r];
	const struct node *from;

	s->snaps[r] = NULL;
	n->snap_pending = false;
	if (sn == NULL)
		return;
	from = &s->nodes[sn->from];
	if (n->crashed || n->paused || sn->to_life != n->life || from->crashed ||
	    from->life != sn->from_life || !tr_replica_snapshot_ahead(&n->rep, &sn->pt)) {
		sim_trace(s, "snapshot for replica %u dropped", r);
		snap_free(sn);
		return;
	}
	disk_sync_now(s, r); /* what it applied before is on disk first */
	if (snap_install(s, r, sn)) {
		n->snap_installs++;
		s->st.snapshots++;
		sim_trace(s, "snapshot from %u installed on %u at [%" PRIu64 " %" PRIu64 " %" PRIu64
			  "]", sn->from, r, sn->pt.applied[0], sn->pt.applied[1], sn->pt.applied[2]);
	}
	snap_free(sn);
	tick_all(s, r);
}

/* Installs a snapshot whole: the state machine, then the engine (T1).
 * False (a violation) when it cannot be. */
bool
snap_install(struct sim *s, unsigned r, const struct sim_snap *sn)
{
	struct node *n = &s->nodes[r];
	uint64_t total = 0;

	memcpy(n->table_mem, sn->table_mem, sn->table_bytes);
	n->table.used = sn->table_used;
	if (tr_sm_clients_decode(&n->sm, sn->sm_bytes, sn->sm_len) != 0) {
		sim_violation_add(s, "replica %u refused the client table and stages of a snapshot",
				  r);
		return false;
	}
	n->sm.digest = sn->digest;
	n->sm.applied_cmds = sn->applied_cmds;
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		total += sn->pt.applied[c];
	if (total > s->gseq_len) {
		sim_violation_add(s, "snapshot of replica %u ahead of every apply sequence", sn->from);
		return false;
	}
	if (total > n->seq_cap) {
		n->seq_cap = total + 1024;
		n->seq = realloc(n->seq, n->seq_cap * sizeof(*n->seq));
	}
	for (uint64_t i = 0; i < total; i++) {
		n->seq[i] = s->gseq[i];
		n->seq[i].cmds = NULL;
	}
	n->seq_len = total;
	if (total > 0 && tr_replica_install(&n->rep, &sn->pt, s->now) != 0) {
		sim_violation_add(s, "replica %u refused a snapshot that was ahead", r);
		return false;
	}
	return true;
}

/* T1: the sender copies its state machine at its applied point now; the
 * copy arrives after a delay that grows with its size. */
static void
snapshot_request(struct sim *s, unsigned r, uint8_t peer)
{
	struct node *n = &s->nodes[r];
	unsigned from = peer;
	const struct node *f;
	struct sim_snap *sn;
	uint64_t d;

	if (n->snap_pending || (n->snap_asked_ns != 0 && s->now - n->snap_asked_ns < s->p.snap_ns))
		return;
	for (unsigned i = 0; i < 2; i++) {
		f = &s->nodes[from];
		if (from != r && !f->crashed && !f->paused &&
		    atomic_load(&f->rep.shared.join_state) != TR_JOIN_WAITING)
			break;
		from = (from + 1) % TR_REPLICAS == r ? (from + 2) % TR_REPLICAS
						     : (from + 1) % TR_REPLICAS;
		f = NULL;
	}
	if (f == NULL)
		return; /* nobody to ask now: the next step tries again */
	n->snap_asked_ns = s->now;
	disk_sync_now(s, from); /* the sender's applied state is durable before it leaves */
	sn = snap_take(s, from);
	sn->to_life = n->life;
	s->snaps[r] = sn;
	n->snap_pending = true;
	sim_trace(s, "snapshot of replica %u for %u requested", from, r);
	d = s->p.snap_ns + 2000 * (uint64_t)f->table.used;
	schedule(s, s->now + d, EV_SNAPSHOT, (uint8_t)r, 0, 0, NULL, 0);
	if (s->p.cut_transfers && !n->cut_done && s->fault_victim == (int)r) {
		n->cut_done = true; /* a restart halfway through the transfer */
		schedule(s, s->now + d / 2, EV_REBOOT, (uint8_t)r, 0, 0, NULL, 0);
	}
}

/* A copy of replica from's state machine at its applied point now. */
struct sim_snap *
snap_take(struct sim *s, unsigned from)
{
	const struct node *f = &s->nodes[from];
	struct sim_snap *sn = calloc(1, sizeof(*sn));

	sn->from = from;
	sn->from_life = f->life;
	tr_replica_snapshot_point(&f->rep, &sn->pt);
	sn->table_bytes = tr_table_mem_bytes(f->table.cells_max, f->table.key_max,
					     f->table.val_max);
	sn->table_mem = malloc(sn->table_bytes);
	memcpy(sn->table_mem, f->table_mem, sn->table_bytes);
	sn->table_used = f->table.used;
	/* T1: the client table and the stages as a snapshot carries them. */
	sn->sm_len = tr_sm_clients_bytes(&f->sm);
	sn->sm_bytes = malloc(sn->sm_len);
	if (tr_sm_clients_encode(&f->sm, sn->sm_bytes, sn->sm_len) != sn->sm_len)
		abort();
	if (s->p.large_snap_no_stages) {
		/* Known-bad: the clients, the clock, and no stage. */
		sn->sm_len = 4 + (size_t)f->sm.clients_used * TR_SM_CLIENT_REC_BYTES + 12;
		memset(sn->sm_bytes + sn->sm_len - 4, 0, 4);
	}
	sn->digest = f->sm.digest;
	sn->applied_cmds = f->sm.applied_cmds;
	return sn;
}

void
fault_after_step(struct sim *s, unsigned r)
{
	struct node *n = &s->nodes[r];
	uint8_t peer;

	if (n->crashed || n->paused)
		return;
	if (!s->p.manual && tr_replica_snapshot_wanted(&n->rep, &peer))
		snapshot_request(s, r, peer);
	if (n->down_since != UINT64_MAX && s->deaf_until[r] > s->now)
		return; /* deaf: down until it hears again and catches up */
	if (n->down_since != UINT64_MAX && tr_replica_serving(&n->rep) &&
	    tr_replica_rejoined(&n->rep) && caught_up(s, r))
		down_end(s, r);
	else if (n->down_since != UINT64_MAX)
		check_rejoin(s, r);
}

void
fault_event(struct sim *s, struct event *e)
{
	struct node *n = &s->nodes[e->replica];

	switch (e->kind) {
	case EV_FAULT:
		fault_start(s);
		break;
	case EV_RESUME:
		if (!n->paused)
			break;
		n->paused = false;
		n->catchup = catchup_target(s, e->replica);
		n->back_ns = s->now;
		sim_trace(s, "resume replica %u", e->replica);
		tick_all(s, e->replica);
		wake_clients(s, e->replica);
		break;
	case EV_HEAR:
		n->catchup = catchup_target(s, e->replica);
		n->back_ns = s->now;
		sim_trace(s, "replica %u hears again", e->replica);
		break;
	case EV_RESTART:
		node_restart(s, e->replica, 0);
		n->catchup = catchup_target(s, e->replica);
		n->back_ns = s->now;
		tick_all(s, e->replica);
		wake_clients(s, e->replica);
		if (s->p.second_fault)
			second_fault(s, e->replica);
		break;
	case EV_SNAPSHOT:
		snapshot_deliver(s, e->replica);
		break;
	case EV_SYNC:
		if (!n->crashed)
			disk_sync_done(s, e->replica, e->data);
		break;
	case EV_DISK_RESTART:
		disk_restart(s, e->replica);
		n->catchup = catchup_target(s, e->replica);
		n->back_ns = s->now;
		/* With --stale-deliver, as the runtime reads its port before its
		 * first tick: frames delayed past the restart may come before the
		 * retries and the S4 gap's attempts (the promise floor's case). */
		tick_all_at(s, e->replica,
			    s->now + (s->p.stale_deliver ? sim_between(s, 0, 2 * s->p.delay_max_ns) : 0));
		wake_clients(s, e->replica);
		break;
	case EV_REBOOT:
		if (n->crashed || n->paused)
			break;
		if (s->snaps[e->replica] != NULL)
			s->st.transfers_cut++;
		down_begin(s, e->replica);
		node_mark_lost(s, e->replica);
		node_restart(s, e->replica, 0);
		n->cut_done = true;
		n->catchup = catchup_target(s, e->replica);
		n->back_ns = s->now;
		tick_all(s, e->replica);
		wake_clients(s, e->replica);
		break;
	default:
		break;
	}
}

/* (g): an op at a replica that stayed up was outstanding for more than
 * stall_ns within one interval in which exactly one other replica was down:
 * the survivors stalled. (Latency from loss alone is not judged here.) */
void
fault_check_op(struct sim *s, const struct op *o)
{
	unsigned home = s->clients[o->client].home;

	if (s->p.stall_ns == 0 || o->ret - o->call <= s->p.stall_ns || s->p.partition > 0)
		return;
	for (size_t i = 0; i < s->ndowns; i++) {
		const struct down *d = &s->downs[i];
		uint64_t from = d->from > o->call ? d->from : o->call;
		uint64_t to = d->to < o->ret ? d->to : o->ret;
		bool alone = true;

		if (d->replica == home || to <= from || to - from <= s->p.stall_ns)
			continue;
		for (size_t j = 0; j < s->ndowns; j++)
			if (j != i && s->downs[j].from < to && s->downs[j].to > from)
				alone = false; /* two down at once: progress may stop */
		if (!alone)
			continue;
		sim_violation_add(s, "(g) client %u seq %" PRIu64 " at replica %u waited %" PRIu64
				  " ms while replica %u alone was down: the survivors stalled",
				  o->client, o->seq, home, (to - from) / 1000000, d->replica);
		return;
	}
}

void
fault_free(struct sim *s)
{
	for (unsigned r = 0; r < TR_REPLICAS; r++)
		snap_free(s->snaps[r]);
	free(s->downs);
}
