/* SPDX-License-Identifier: MIT
 * The applier: committed instances into the state machine in §7 order,
 * completions back to the clients, and the violation stop (P5, A3).
 */
#include <stdlib.h>
#include <string.h>

#include <urcu-qsbr.h>

#include <rte_log.h>

#include "port.h"
#include "runtime.h"
#include "thread.h"

static void complete_cmd(struct rt_replica *r, struct trireme_client *c, struct rt_cmd *cmd);

/* A remote client's command submitted here (rt_client_submit_as): a
 * client bound to its origin id (two, for remote ids that differ in the top
 * bit alone), and in its window the command with that origin seq. A scan:
 * remote clients are few (serve_clients), and only the commands of this
 * replica's own column come here. */
static struct rt_cmd *
find_origin_cmd(struct rt_replica *r, uint64_t origin_id, uint64_t seq,
		struct trireme_client **cp)
{
	uint32_t n = atomic_load_explicit(&r->nbound, memory_order_acquire);

	for (uint32_t i = 0; i < n; i++) {
		struct trireme_client *c = r->bound[i];

		if (atomic_load_explicit(&c->bound_id, memory_order_relaxed) != origin_id)
			continue;
		for (unsigned j = 0; j < c->window; j++) {
			struct rt_cmd *cmd = &c->cmds[j];

			if (cmd->origin_id == origin_id && cmd->origin_seq == seq &&
			    atomic_load_explicit(&cmd->state, memory_order_acquire) ==
				    RT_CMD_QUEUED) {
				*cp = c;
				return cmd;
			}
		}
	}
	return NULL;
}

/* The command (client_id, seq) of a local client, still waiting; NULL when
 * it is not ours or not waiting any more. own: it was applied from this
 * replica's column, where a remote client's commands submitted here are. */
static struct rt_cmd *
find_cmd(struct rt_replica *r, uint64_t client_id, uint64_t seq, bool own,
	 struct trireme_client **cp)
{
	uint64_t id = client_id - r->client_id_base;
	struct trireme_client *c;
	struct rt_cmd *cmd;

	if (client_id & RT_REMOTE_ID_BIT)
		return own ? find_origin_cmd(r, client_id, seq, cp) : NULL;
	/* Another process's or replica's client: not ours. */
	if (client_id < r->client_id_base || (id / r->clients_max) % TR_REPLICAS != r->id)
		return NULL;
	/* QSBR: trireme_client_free waits for our quiescent state. */
	c = __atomic_load_n(&r->clients[id % r->clients_max], __ATOMIC_ACQUIRE);
	if (c == NULL || c->id != client_id)
		return NULL; /* the slot's earlier client, freed */
	cmd = &c->cmds[seq % c->window];
	if (cmd->seq != seq ||
	    atomic_load_explicit(&cmd->state, memory_order_acquire) != RT_CMD_QUEUED)
		return NULL; /* a duplicate completion (§8), or failed by a crash */
	*cp = c;
	return cmd;
}

/* §12 S1: an answer held for the sync (durable.c) goes now. */
void
rt_applier_release(struct rt_replica *r, uint64_t client_id, uint64_t seq)
{
	struct trireme_client *c;
	struct rt_cmd *cmd = find_cmd(r, client_id, seq, true, &c);

	if (cmd != NULL && cmd->held) {
		cmd->held = false;
		complete_cmd(r, c, cmd);
	}
}

/* The applier: committed instances in §7 order into the store (P5). */
static void
on_complete(void *ctx, const struct tr_completion *d)
{
	struct rt_replica *r = ctx;
	struct trireme_client *c;
	struct rt_cmd *cmd = find_cmd(r, d->client_id, d->seq, d->column == r->id, &c);

	if (cmd == NULL || cmd->held)
		return; /* held: answered already, waiting for a sync */
	/* A part's STAGED or DUPLICATE is its large op's business (client.c). */
	cmd->st = d->res.status;
	cmd->status = d->res.status == TR_ST_TOO_OLD ? -TRIREME_ETOO_OLD
		    : d->res.status == TR_ST_FULL ? -TRIREME_EFULL
		    : d->res.status == TR_ST_INVALID ? -TRIREME_EINVAL
		    : d->res.status == TR_ST_DUPLICATE && d->op == TR_OP_CMD ? -TRIREME_EAPPLIED
		    : d->res.status == TR_ST_STAGED ? 0
		    : (int)d->res.code; /* the embedder's machine: its status, >= 0 */
	cmd->found = d->res.status == TR_ST_OK && d->res.code == 0;
	cmd->out_len = 0;
	if (d->res.val_len > 0 && d->res.status == TR_ST_OK) { /* a get's value, a machine's bytes */
		uint8_t *out = cmd->data;

		if (d->res.val_len > c->cell) /* up to TRIREME_LARGE_MAX: for this answer */
			out = cmd->big = malloc(d->res.val_len);
		if (out != NULL) {
			cmd->out_len = d->res.val_len;
			memcpy(out, d->res.val, d->res.val_len);
		} else {
			cmd->status = -TRIREME_ENOMEM;
			cmd->found = false;
		}
	}
	/* §12 S1 with a disk: the answer reveals the commit (and what a read
	 * saw): it waits until the commits applied so far are durable here. */
	if (r->dur.on) {
		cmd->held = true;
		rt_durable_defer(r, d);
		return;
	}
	complete_cmd(r, c, cmd);
}

/* The clients answered since the last flush: one fence for all, then a
 * wake for each one asleep. The enqueues before the look at waiting;
 * trireme_wait does the opposite, so one of the two sees the other. */
static void
wake_flush(struct rt_replica *r)
{
	if (r->nwake == 0)
		return;
	atomic_thread_fence(memory_order_seq_cst);
	for (unsigned i = 0; i < r->nwake; i++)
		if (atomic_load_explicit(&r->wake[i]->waiting, memory_order_relaxed))
			rt_client_wake(r->wake[i]);
	r->nwake = 0;
}

/* The answer to the client; wake_flush wakes it before the pass ends. */
static void
complete_cmd(struct rt_replica *r, struct trireme_client *c, struct rt_cmd *cmd)
{
	{
		uint64_t ns, *h;
		unsigned b;

		/* One clock read per step that answers, not per answer (on a VM
		 * as dear as a lookup), and none in an idle step. */
		if (r->step_ns == 0)
			r->step_ns = rt_now_ns(r->t);
		ns = r->step_ns > cmd->submit_ns ? r->step_ns - cmd->submit_ns : 0;
		b = ns == 0 ? 0 : 64 - (unsigned)__builtin_clzll(ns);
		h = &r->lat_hist[b < RT_LAT_BUCKETS ? b : RT_LAT_BUCKETS - 1];
		/* The applier is the one writer: no locked add. */
		__atomic_store_n(h, *h + 1, __ATOMIC_RELAXED);
	}
	atomic_store_explicit(&cmd->state, RT_CMD_DONE, memory_order_release);
	if (rte_ring_sp_enqueue(c->done, cmd) != 0)
		abort(); /* sized to the window: cannot be full */
	r->completions++;
	if (r->nwake > 0 && r->wake[r->nwake - 1] == c)
		return;
	if (r->nwake == RT_WAKE_MAX)
		wake_flush(r);
	r->wake[r->nwake++] = c;
}

/* The clients asleep in trireme_wait, woken to see -TRIREME_ESTOPPED. */
static void
wake_sleepers(struct rt_replica *r)
{
	for (uint32_t i = 0; i < r->clients_max; i++) {
		struct trireme_client *c = __atomic_load_n(&r->clients[i], __ATOMIC_ACQUIRE);

		if (c != NULL && atomic_load(&c->waiting))
			rt_client_wake(c);
	}
}

/* A3, C1, P2 "stop loudly": the engine has stopped the replica; say so
 * once, and wake the clients asleep in trireme_wait. */
static void
violation_report(struct rt_replica *r)
{
	const char *why = atomic_load(&r->eng.violation_why);

	r->violation_logged = true;
	if (strncmp(why, "J5:", 3) == 0)
		rte_log(RTE_LOG_ERR, tr_logtype,
			"trireme: replica %u stopped before it voted: %s; restart it with an "
			"empty data directory and conf.join (the launcher's --cluster-state "
			"existing)\n", r->id, why);
	else
		rte_log(RTE_LOG_ERR, tr_logtype,
			"trireme: replica %u stopped on a safety violation: %s; it refuses every "
			"later step and its clients get -TRIREME_ESTOPPED: keep its state for "
			"inspection, then rebuild the replica\n", r->id, why);
	wake_sleepers(r);
}

unsigned
rt_applier_step(struct rt_replica *r)
{
	uint64_t before = r->completions;
	unsigned n;

	if (rt_violated(r)) {
		if (!r->violation_logged)
			violation_report(r);
		return 0;
	}
	if (r->dur.on && !r->dur.failed_woken &&
	    atomic_load_explicit(&r->dur.failed, memory_order_relaxed)) {
		r->dur.failed_woken = true; /* S1: its log failed (said by its columns) */
		wake_sleepers(r);
	}
	if (rt_held(r, RT_PARK_APPLIER) || atomic_load_explicit(&r->paused, memory_order_relaxed))
		return 0;
	r->step_ns = 0; /* read at the step's first answer */
	rt_snap_applier_before(r);
	n = tr_apply(&r->applier, 256);
	rt_snap_applier_after(r);
	if (r->dur.on)
		rt_durable_release(r);
	wake_flush(r);
	if (n > 0) {
		atomic_fetch_add_explicit(&r->applied, n, memory_order_relaxed);
		if (r->kv != NULL)
			atomic_store_explicit(&r->keys, tr_kvstore_count(r->kv),
					      memory_order_relaxed);
	} else if (r->kv != NULL) {
		tr_kvstore_reclaim(r->kv); /* idle: no freed nodes kept */
	}
	return n + (unsigned)(r->completions - before); /* Q3 answers count as work */
}

int
rt_sm_open(struct rt_replica *r, struct tr_client_rec *recs, uint32_t nrecs)
{
	const struct trireme *t = r->t;

	if (t->sm != NULL) {
		struct tr_usm_spec spec = {.ops = t->sm, .arg = t->sm_arg, .replica = r->id};
		struct tr_usm *u = tr_usm_new(&spec);

		if (u == NULL)
			return -1;
		r->usm = u;
		tr_sm_init_machine(&r->sm, &tr_usm_machine, u, recs, nrecs);
	} else {
		struct tr_kvstore *kv = tr_kvstore_new(1024, t->conf.keys_max);

		if (kv == NULL)
			return -1;
		tr_sm_init(&r->sm, &tr_kvstore_ops, kv, recs, nrecs);
		rcu_assign_pointer(r->kv, kv);
	}
	r->stages = tr_stages_new(&r->sm, RT_LARGE_STAGES);
	if (r->stages == NULL) {
		rt_sm_close(r); /* recs stay the caller's */
		return -1;
	}
	r->client_recs = recs;
	return 0;
}

void
rt_sm_close(struct rt_replica *r)
{
	struct tr_kvstore *old = r->kv;

	rcu_assign_pointer(r->kv, NULL);
	tr_snap_store_retire(old, &r->t->threads);
	tr_usm_free(r->usm);
	r->usm = NULL;
	free(r->client_recs);
	r->client_recs = NULL;
	tr_stages_free(r->stages, RT_LARGE_STAGES);
	r->stages = NULL;
	r->sm.stages = NULL;
	r->sm.stages_max = 0;
	r->sm.store = NULL;
	r->sm.machine_ctx = NULL;
	r->sm.clients = NULL;
	atomic_store(&r->keys, 0);
}

struct tr_snap_load *
rt_sm_load_start(struct rt_replica *r, uint8_t *buf, size_t len)
{
	struct tr_usm_spec usm = {.ops = r->t->sm, .arg = r->t->sm_arg, .replica = r->id};

	return tr_snap_load_start(buf, len, r->limits.cluster_id, r->t->conf.keys_max,
				  usm.ops != NULL ? &usm : NULL, r->sm.clients_max, RT_LARGE_STAGES,
				  &r->t->threads);
}

void
rt_sm_install(struct rt_replica *r, struct tr_snap_load *l)
{
	struct tr_kvstore *old = r->kv;
	struct tr_usm *old_usm = r->usm;
	struct tr_client_rec *old_recs = r->client_recs;
	void *old_stages = r->stages;

	r->sm = l->sm;
	r->client_recs = l->recs;
	r->stages = l->stages;
	r->usm = l->usm;
	rcu_assign_pointer(r->kv, l->kv); /* readers: the old store or the new */
	atomic_store(&r->keys, l->kv != NULL ? tr_kvstore_count(l->kv) : 0);
	l->kv = NULL;
	l->usm = NULL;
	l->recs = NULL;
	l->stages = NULL;
	free(old_recs); /* the applier's alone, and it is parked */
	tr_stages_free(old_stages, RT_LARGE_STAGES);
	tr_usm_free(old_usm); /* the same */
	tr_snap_store_retire(old, &r->t->threads);
}

void
rt_applier_init(struct rt_replica *r)
{
	r->applier = (struct tr_applier){.rep = &r->eng, .sm = &r->sm, .complete = on_complete,
					 .ctx = r};
}

/* With conf.applier_threads: the applier on a thread of its own. */
void *
rt_applier_main(void *arg)
{
	struct rt_replica *r = arg;
	unsigned idle = 0;

	tr_thread_anywhere(); /* not pinned to the main lcore */
	urcu_qsbr_register_thread();
	while (!atomic_load_explicit(&r->t->stop, memory_order_relaxed)) {
		unsigned n = rt_applier_step(r);

		urcu_qsbr_quiescent_state();
		if (n > 0)
			idle = 0;
		else
			rt_idle_qsbr(r->t, &idle);
	}
	urcu_qsbr_unregister_thread();
	return NULL;
}
