/* SPDX-License-Identifier: MIT
 * Control of a running replica (trireme.h): pause and resume, crash and
 * restart (§12), fault injection.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <urcu-qsbr.h>

#include "runtime.h"

bool
trireme_replica_local(const struct trireme *t, unsigned replica)
{
	return replica < TR_REPLICAS && t->reps[replica].local;
}

int
trireme_replica_pause(struct trireme *t, unsigned replica)
{
	struct rt_replica *r = rt_local_replica(t, replica);

	if (r == NULL)
		return -TRIREME_EINVAL;
	atomic_store(&r->paused, true);
	return 0;
}

int
trireme_replica_resume(struct trireme *t, unsigned replica)
{
	struct rt_replica *r = rt_local_replica(t, replica);

	if (r == NULL)
		return -TRIREME_EINVAL;
	atomic_store(&r->paused, false);
	return 0;
}

/* §12: stops a replica's tasks and applier at their next poll and waits
 * until each is parked; down keeps them there. */
static void
hold_all(struct rt_replica *r)
{
	atomic_store(&r->down, true);
	atomic_store(&r->parked, 0);
	atomic_store(&r->hold, true);
	while ((atomic_load(&r->parked) & RT_PARK_ALL) != RT_PARK_ALL) {
		if (!atomic_load(&r->hold)) { /* an install finished meanwhile */
			atomic_store(&r->parked, 0);
			atomic_store(&r->hold, true);
		}
		sched_yield();
	}
}

/* The crashed replica's clients: every command outstanding completes with
 * ESTOPPED (its outcome is unknown), none hangs. */
static void
fail_outstanding(struct rt_replica *r)
{
	void *p;

	pthread_mutex_lock(&r->clients_lock);
	for (uint32_t i = 0; i < r->clients_max; i++) {
		struct trireme_client *c = r->clients[i];

		for (unsigned w = 0; c != NULL && w < c->window; w++) {
			struct rt_cmd *cmd = &c->cmds[w];

			if (atomic_load_explicit(&cmd->state, memory_order_acquire) != RT_CMD_QUEUED)
				continue;
			cmd->status = -TRIREME_ESTOPPED;
			cmd->found = false;
			cmd->out_len = 0;
			atomic_store_explicit(&cmd->state, RT_CMD_DONE, memory_order_release);
			if (rte_ring_sp_enqueue(c->done, cmd) != 0)
				abort(); /* sized to the window */
		}
	}
	pthread_mutex_unlock(&r->clients_lock);
	/* Dropped: nothing holds them any more, so a freed client may go. */
	while (rte_ring_sc_dequeue(r->submit, &p) == 0)
		atomic_store_explicit(&((struct rt_cmd *)p)->in_ring, false, memory_order_release);
}

/* Frames a task has not sent yet. */
static void
task_drop_tx(struct rt_task *k)
{
	for (unsigned p = 0; p < TR_REPLICAS; p++) {
		if (k->open[p] != NULL)
			rte_pktmbuf_free(k->open[p]);
		k->open[p] = NULL;
		k->open_status[p] = false;
		rte_pktmbuf_free_bulk(k->tx[p], k->ntx[p]);
		k->ntx[p] = 0;
		k->tx_status[p] = 0;
	}
	while (k->delayed_len > 0) {
		rte_pktmbuf_free(k->delayed[k->delayed_head].m);
		k->delayed_head = (k->delayed_head + 1) % RT_DELAY_MAX;
		k->delayed_len--;
	}
	rt_task_drop_held(k);
	for (unsigned i = 0; i < k->nstash; i++)
		atomic_store_explicit(&k->stash[i]->in_ring, false, memory_order_release);
	k->nstash = 0;
}

int
trireme_replica_crash(struct trireme *t, unsigned replica)
{
	struct rt_replica *r = rt_local_replica(t, replica);

	if (r == NULL)
		return -TRIREME_EINVAL;
	if (atomic_load(&r->down))
		return 0;
	hold_all(r);
	fail_outstanding(r);
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		task_drop_tx(&r->tasks[c]);
	rt_snap_reset(r);
	rt_durable_crash(r); /* its logs closed; the directory stays locked */
	/* Its memory: the engine's log and state, the state machine, the
	 * client table. */
	memset(r->eng_mem, 0, r->eng_bytes);
	rt_sm_close(r);
	return 0;
}

int
trireme_replica_restart(struct trireme *t, unsigned replica)
{
	struct rt_replica *r = rt_local_replica(t, replica);
	struct tr_config cfg;
	struct tr_client_rec *recs;
	uint64_t now;

	if (r == NULL)
		return -TRIREME_EINVAL;
	if (!atomic_load(&r->down))
		trireme_replica_crash(t, replica);
	recs = calloc(r->sm.clients_max, sizeof(*recs));
	if (recs == NULL)
		return -TRIREME_ENOMEM;
	/* J: an amnesiac that joins (new incarnation from its peers); with a
	 * data directory, §12 S2: from the directory. */
	now = rt_now_ns(t);
	cfg = r->cfg;
	cfg.join = true;
	cfg.seed = cfg.seed * 31 + now;
	memset(&r->eng, 0, sizeof(r->eng));
	memset(r->eng_mem, 0, r->eng_bytes);
	if (tr_replica_init(&r->eng, &cfg, r->eng_mem, r->eng_bytes, now) != 0) {
		free(recs);
		return -TRIREME_EINTERNAL;
	}
	if (rt_sm_open(r, recs, r->sm.clients_max) != 0) {
		free(recs);
		return -TRIREME_ENOMEM;
	}
	rt_applier_init(r);
	if (r->dur.on) {
		char err[256];
		int rc = rt_durable_start(r, &cfg, now, err, sizeof(err));

		if (rc != 0) {
			rte_log(RTE_LOG_ERR, tr_logtype, "trireme: %s\n", err);
			return rc;
		}
	}
	for (unsigned c = 0; c < TR_COLUMNS; c++) {
		r->tasks[c].col = &r->eng.col[c];
		r->tasks[c].deadline_ns = 0;
	}
	/* Its clients keep their ids and go on from their next sequences
	 * (§8): every one they used is below, so the table of clients does
	 * not grow with restarts. A late answer of a command the crash failed
	 * finds no command of its sequence waiting (find_cmd). */
	r->life++;
	atomic_store(&r->parked, 0);
	atomic_store(&r->down, false);
	atomic_store(&r->hold, false);
	return 0;
}

static uint32_t
threshold(double p)
{
	if (p <= 0)
		return 0;
	if (p >= 1)
		return UINT32_MAX;
	return (uint32_t)(p * 4294967296.0);
}

int
trireme_set_faults(struct trireme *t, unsigned replica, const struct trireme_faults *f)
{
	struct rt_replica *r = rt_local_replica(t, replica);

	/* written so that NaN fails too (threshold() would convert it) */
	if (r == NULL || !(f->drop_tx >= 0 && f->drop_tx <= 1) ||
	    !(f->drop_rx >= 0 && f->drop_rx <= 1) || !(f->dup_tx >= 0 && f->dup_tx <= 1) ||
	    !(f->delay_tx >= 0 && f->delay_tx <= 1) || f->delay_us > UINT32_MAX / 1000u)
		return -TRIREME_EINVAL; /* delay_ns is 32 bits */
	atomic_store(&r->faults.drop_tx, threshold(f->drop_tx));
	atomic_store(&r->faults.drop_rx, threshold(f->drop_rx));
	atomic_store(&r->faults.dup_tx, threshold(f->dup_tx));
	atomic_store(&r->faults.delay_ns, f->delay_us * 1000u);
	atomic_store(&r->faults.delay_tx, threshold(f->delay_tx));
	return 0;
}
