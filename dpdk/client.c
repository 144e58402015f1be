/* SPDX-License-Identifier: MIT
 * The client API (trireme.h): clients, submit, poll, wait, local reads,
 * and the QSBR registration of the threads that call it.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include <rte_lcore.h>

#include "runtime.h"

_Static_assert(TRIREME_LARGE_MAX == TR_KVS_VAL_MAX, "the store takes the largest value");
_Static_assert(TR_LARGE_HDR_BYTES + TRIREME_KEY_MAX + TRIREME_LARGE_MAX <= TR_LARGE_BYTES_MAX,
	       "a stage holds the largest set");

/* Wakes trireme_wait. EFD_NONBLOCK: the applier never blocks (a counter
 * already at its maximum is as good as signalled). */
void
rt_client_wake(struct trireme_client *c)
{
	uint64_t one = 1;
	ssize_t n = write(c->efd, &one, sizeof(one));

	(void)n;
}

void
rt_client_destroy(struct trireme_client *c)
{
	for (unsigned i = 0; c->cmds != NULL && i < c->window; i++) {
		free(c->cmds[i].data);
		free(c->cmds[i].big);
	}
	free(c->large.buf);
	rte_ring_free(c->done);
	if (c->efd >= 0)
		close(c->efd);
	free(c->local_done);
	free(c->cmds);
	free(c);
}

/* Clients. */

/* Destroys the freed clients the workers no longer read (clients_lock). */
static void
reap_retired(struct rt_replica *r)
{
	struct trireme_client **p = &r->retired;

	while (*p != NULL) {
		struct trireme_client *c = *p;
		bool held = false;

		for (unsigned i = 0; i < c->window && !held; i++)
			held = atomic_load_explicit(&c->cmds[i].in_ring, memory_order_acquire);
		if (held) {
			p = &c->retired_next;
			continue;
		}
		*p = c->retired_next;
		rt_client_destroy(c);
	}
}

/* Zeroed, cache-line aligned (the layouts of runtime.h); free() frees it. */
static void *
zalloc_lines(size_t bytes)
{
	size_t size = RTE_ALIGN_CEIL(bytes, RTE_CACHE_LINE_SIZE);
	void *p = aligned_alloc(RTE_CACHE_LINE_SIZE, size);

	if (p != NULL)
		memset(p, 0, size);
	return p;
}

struct trireme_client *
trireme_client_new(struct trireme *t, unsigned replica, unsigned window)
{
	static _Atomic uint32_t serial; /* ring names, unique in the process */
	struct rt_replica *r = rt_local_replica(t, replica);
	struct trireme_client *c;
	char name[RTE_RING_NAMESIZE];
	unsigned ring = 1;
	uint32_t slot = 0;
	bool ok;

	if (r == NULL || window == 0 || window > TR_WINDOW_MAX) {
		errno = EINVAL;
		return NULL;
	}
	c = zalloc_lines(sizeof(*c));
	if (c == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	c->t = t;
	c->rep = r;
	c->window = window;
	/* A command of a packet: a key and value, or a large command's part. */
	c->cell = RTE_MAX((uint32_t)(TRIREME_KEY_MAX + TRIREME_VAL_MAX), r->eng.cfg.batch_bytes_max);
	atomic_init(&c->waiting, false);
	atomic_init(&c->bound_id, 0);
	c->cmds = zalloc_lines(window * sizeof(*c->cmds));
	c->local_done = calloc(window, sizeof(*c->local_done));
	while (ring <= window)
		ring *= 2;
	snprintf(name, sizeof(name), "tr_done%u", atomic_fetch_add(&serial, 1));
	c->done = rte_ring_create(name, ring, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ok = c->cmds != NULL && c->local_done != NULL && c->done != NULL && c->efd >= 0;
	for (unsigned i = 0; ok && i < window; i++) {
		c->cmds[i].client = c;
		c->cmds[i].data = malloc(c->cell);
		ok = c->cmds[i].data != NULL;
		atomic_init(&c->cmds[i].state, RT_CMD_FREE);
		atomic_init(&c->cmds[i].in_ring, false);
	}
	pthread_mutex_lock(&r->clients_lock);
	reap_retired(r);
	while (ok && slot < r->clients_max && r->clients[slot] != NULL)
		slot++;
	if (!ok || slot == r->clients_max) {
		pthread_mutex_unlock(&r->clients_lock);
		rt_client_destroy(c);
		errno = ok ? ENOSPC : ENOMEM;
		return NULL;
	}
	/* §8: (client id, seq) never repeats, so the slot's sequences go on
	 * from its previous client's. */
	c->id = rt_client_id(r, slot);
	c->next_seq = r->slot_seq[slot] + 1;
	c->oldest = c->next_seq;
	__atomic_store_n(&r->clients[slot], c, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&r->clients_lock);
	return c;
}

uint64_t
trireme_client_id(const struct trireme_client *c)
{
	return c->id;
}

void
trireme_client_free(struct trireme_client *c)
{
	struct rt_replica *r;
	uint32_t slot;

	if (c == NULL)
		return;
	r = c->rep;
	slot = (uint32_t)((c->id - r->client_id_base) % r->clients_max);
	pthread_mutex_lock(&r->clients_lock);
	__atomic_store_n(&r->clients[slot], NULL, __ATOMIC_RELEASE);
	r->slot_seq[slot] = c->next_seq - 1;
	pthread_mutex_unlock(&r->clients_lock);
	/* The appliers may hold c until their next quiescent state; after it,
	 * a late completion of c's finds the slot's next client (or none) and
	 * no command of that sequence. Only the workers may still read c's
	 * commands (in_ring): c waits in the retired list until they are done. */
	urcu_qsbr_synchronize_rcu();
	pthread_mutex_lock(&r->clients_lock);
	c->retired_next = r->retired;
	r->retired = c;
	reap_retired(r);
	pthread_mutex_unlock(&r->clients_lock);
}

/* Completions ready for the caller: a large op's parts' answers are not. */
static unsigned
client_ready(const struct trireme_client *c)
{
	return c->nlocal_done + (c->large.on ? 0 : rte_ring_count(c->done));
}

int
trireme_client_fd(struct trireme_client *c)
{
	c->fd_given = true;
	atomic_store(&c->waiting, true);
	return c->efd;
}

/* A command the client thread took back: free for the next submit. */
static void
cmd_release(struct rt_cmd *cmd)
{
	free(cmd->big);
	cmd->big = NULL;
	atomic_store_explicit(&cmd->state, RT_CMD_FREE, memory_order_relaxed);
}

static void
advance_oldest(struct trireme_client *c)
{
	while (c->oldest < c->next_seq &&
	       atomic_load_explicit(&c->cmds[c->oldest % c->window].state, memory_order_relaxed) ==
		       RT_CMD_FREE)
		c->oldest++;
}

/* Only a poll frees commands (and a large op's advance, its parts), so the
 * oldest moves only there: a submit with nothing polled never touches a
 * line the applier may be writing. */
static void
release_polled(struct trireme_client *c)
{
	if (c->npolled == 0)
		return;
	for (unsigned i = 0; i < c->npolled; i++)
		cmd_release(c->polled[i]);
	c->npolled = 0;
	advance_oldest(c);
}

/* A local get: answered now from the applied state (the weaker mode); a
 * value longer than the cell gets a buffer of its own. */
static int
read_local_cmd(struct trireme_client *c, struct rt_cmd *cmd)
{
	struct tr_kvstore *kv;
	const uint8_t *val;
	uint32_t len = 0;
	int rc = 0;

	urcu_qsbr_read_lock();
	kv = rcu_dereference(c->rep->kv); /* an install swaps it (§12 T1) */
	if (kv == NULL)
		rc = -TRIREME_ESTOPPED;
	else if (tr_kvstore_lookup(kv, cmd->data, cmd->key_len, &val, &len) != 0)
		len = 0, rc = 1;
	else if (len > c->cell && (cmd->big = malloc(len)) == NULL)
		rc = -TRIREME_ENOMEM;
	else if (len > 0)
		memcpy(cmd->big != NULL ? cmd->big : cmd->data, val, len);
	urcu_qsbr_read_unlock();
	if (rc < 0)
		return rc;
	cmd->status = 0;
	cmd->found = rc == 0;
	cmd->out_len = len;
	atomic_store_explicit(&cmd->state, RT_CMD_DONE, memory_order_relaxed);
	c->local_done[c->nlocal_done++] = cmd;
	if (c->fd_given)
		rt_client_wake(c);
	c->next_seq++;
	c->outstanding++;
	return 0;
}

/* Issue 16: a set or cmd larger than a packet travels as TR_OP_PART
 * commands in the client's window, each a slice of its staged whole (kv.h);
 * the replicas' state machines apply the whole where its last part applies.
 * The op takes the whole window until its completion is polled. */

/* Sends the next parts, as many as the window takes. */
static void
large_send(struct trireme_client *c)
{
	struct rt_large *L = &c->large;

	while (L->sent < L->total && L->err == 0 && c->next_seq - c->oldest < c->window) {
		struct rt_cmd *cmd = &c->cmds[c->next_seq % c->window];
		uint32_t len = RTE_MIN(L->chunk, L->total - L->sent);

		if (atomic_load_explicit(&cmd->state, memory_order_relaxed) != RT_CMD_FREE)
			return;
		cmd->tag = L->tag;
		cmd->held = false;
		cmd->seq = c->next_seq;
		cmd->origin_id = 0;
		cmd->kind = TR_OP_PART;
		cmd->read_mode = 0;
		cmd->key_len = 0;
		cmd->st = UINT8_MAX; /* no engine answer yet */
		cmd->val_len = (uint32_t)tr_part_fill(cmd->data, L->stage, L->op, L->buf, L->key_len,
						      L->buf + L->key_len, L->val_len, L->sent,
						      len);
		cmd->submit_ns = rt_now_ns(c->t);
		atomic_store_explicit(&cmd->state, RT_CMD_QUEUED, memory_order_relaxed);
		atomic_store_explicit(&cmd->in_ring, true, memory_order_relaxed);
		if (rte_ring_mp_enqueue(c->rep->submit, cmd) != 0) {
			atomic_store_explicit(&cmd->in_ring, false, memory_order_relaxed);
			atomic_store_explicit(&cmd->state, RT_CMD_FREE, memory_order_relaxed);
			return; /* the replica's queue is full: the next advance */
		}
		c->next_seq++;
		L->sent += len;
		L->inflight++;
	}
}

/* A part's answer. The completing part's (OK, NOT_FOUND) is the command's
 * and stays for the caller; STAGED and DUPLICATE parts are done; any other
 * (FULL, TOO_OLD, INVALID, STOPPED) ends the op: no more parts are sent. */
static void
large_answer(struct trireme_client *c, struct rt_cmd *cmd)
{
	struct rt_large *L = &c->large;

	L->inflight--;
	if (cmd->st == TR_ST_OK || cmd->st == TR_ST_NOT_FOUND) {
		L->final = cmd;
		return;
	}
	if (cmd->status < 0 && L->err == 0)
		L->err = cmd->status;
	else if (cmd->st == TR_ST_DUPLICATE)
		L->dup = true;
	cmd_release(cmd);
}

/* Every part sent has answered: the op's one completion, in the completing
 * part's command or, without one, in a free command (no seq of its own). */
static void
large_finish(struct trireme_client *c)
{
	struct rt_large *L = &c->large;
	struct rt_cmd *cmd = L->final;

	if (cmd == NULL) {
		cmd = &c->cmds[c->next_seq % c->window]; /* every part freed: free */
		cmd->tag = L->tag;
		cmd->kind = L->op;
		cmd->submit_ns = L->submit_ns;
		/* No part's answer carried the command's: an error ended it, or
		 * the part that completed it was answered before, to a replica
		 * that caught up since (a snapshot: -TRIREME_EAPPLIED), or its
		 * stage was reclaimed (kv.h: not applied). */
		cmd->status = L->err != 0 ? L->err : L->dup ? -TRIREME_EAPPLIED : -TRIREME_EFULL;
		cmd->found = false;
		cmd->out_len = 0;
		atomic_store_explicit(&cmd->state, RT_CMD_DONE, memory_order_relaxed);
	}
	L->final = cmd; /* now the completion the caller polls */
	c->local_done[c->nlocal_done++] = cmd;
	if (c->fd_given)
		rt_client_wake(c);
}

/* Takes the parts' answers and sends the next parts (trireme_poll and
 * trireme_wait, the client's thread). */
static void
large_advance(struct trireme_client *c)
{
	struct rt_large *L = &c->large;
	struct rt_cmd *cmds[RT_BURST];
	unsigned n;

	if (!L->on || L->done)
		return;
	while ((n = rte_ring_sc_dequeue_burst(c->done, (void **)cmds, RT_BURST, NULL)) > 0)
		for (unsigned i = 0; i < n; i++)
			large_answer(c, cmds[i]);
	advance_oldest(c);
	/* A crashed replica takes no more parts (those in flight come back
	 * ESTOPPED); after its restart, a new op takes a new stage. */
	if (atomic_load_explicit(&c->rep->down, memory_order_relaxed) && L->err == 0)
		L->err = -TRIREME_ESTOPPED;
	large_send(c);
	if (L->inflight == 0 && (L->err != 0 || L->final != NULL || L->sent == L->total)) {
		L->done = true;
		large_finish(c);
	}
}

static int
large_submit(struct trireme_client *c, const struct trireme_op *op, uint64_t tag)
{
	struct rt_large *L = &c->large;
	size_t need = (size_t)op->key_len + op->val_len;

	if (c->outstanding > 0 || c->oldest != c->next_seq)
		return -TRIREME_EBUSY; /* it needs the whole window */
	if (need > L->cap) {
		uint8_t *p = realloc(L->buf, need);

		if (p == NULL)
			return -TRIREME_ENOMEM;
		L->buf = p;
		L->cap = need;
	}
	if (op->key_len > 0)
		memcpy(L->buf, op->key, op->key_len);
	memcpy(L->buf + op->key_len, op->val, op->val_len);
	*L = (struct rt_large){.buf = L->buf, .cap = L->cap, .on = true,
			       .op = op->kind == TRIREME_SET ? TR_OP_SET : TR_OP_CMD,
			       .key_len = op->key_len, .val_len = op->val_len, .tag = tag,
			       .submit_ns = rt_now_ns(c->t), .stage = c->next_seq,
			       .total = (uint32_t)tr_large_bytes(op->key_len, op->val_len),
			       .chunk = RTE_MIN(c->rep->eng.cfg.batch_bytes_max -
							TR_WIRE_CMD_HDR_BYTES,
						c->cell) - TR_PART_HDR_BYTES};
	large_send(c);
	if (L->sent == 0) {
		L->on = false;
		return -TRIREME_EBUSY; /* the replica's queue is full */
	}
	c->outstanding++;
	return 0;
}

/* The KV's set, get, del; with trireme_start_sm, the embedder's cmd and query (no
 * key; a query reads through the barrier or the log, not locally). */
static bool
op_valid(const struct trireme_client *c, const struct trireme_op *op)
{
	bool user = c->t->sm != NULL;

	if (op == NULL || op->kind < TRIREME_SET || op->kind > TRIREME_QUERY ||
	    user != (op->kind >= TRIREME_CMD))
		return false;
	if (tr_op_is_read(op->kind) &&
	    op->read_mode >= (user ? TRIREME_READ_LOCAL : TRIREME_READ_MODES))
		return false;
	if (op->key_len > (user ? 0 : TRIREME_KEY_MAX) || (op->key_len > 0 && op->key == NULL))
		return false;
	return !tr_op_has_val(op->kind) ||
	       (op->val_len <= (tr_op_is_read(op->kind) ? TRIREME_VAL_MAX : TRIREME_LARGE_MAX) &&
		(op->val_len == 0 || op->val != NULL));
}

static int
client_submit(struct trireme_client *c, const struct trireme_op *op, uint64_t tag,
	      uint64_t origin_seq, uint8_t origin_window)
{
	struct rt_cmd *cmd;
	bool large;

	if (!op_valid(c, op))
		return -TRIREME_EINVAL;
	large = tr_op_has_val(op->kind) && !tr_op_is_read(op->kind) &&
		op->val_len > trireme_value_max(&c->t->conf, op->key_len);
	if (tr_op_has_val(op->kind) && !large &&
	    TR_WIRE_CMD_HDR_BYTES + op->key_len + op->val_len > c->rep->eng.cfg.batch_bytes_max)
		return -TRIREME_EINVAL; /* a query larger than a packet can carry */
	if (atomic_load_explicit(&c->rep->paused, memory_order_relaxed) || rt_stopped(c->rep) ||
	    atomic_load_explicit(&c->rep->down, memory_order_relaxed))
		return -TRIREME_ESTOPPED;
	/* §8 across process starts: beyond the directory's ceiling, a new lease
	 * first (once in 2^32 sequences). */
	if (c->next_seq + RT_SEQ_AHEAD >=
		    atomic_load_explicit(&c->rep->seq_ceiling, memory_order_relaxed) &&
	    rt_durable_seq_lease(c->rep, c->next_seq + RT_SEQ_AHEAD) != 0)
		return -TRIREME_EINTERNAL;
	release_polled(c);
	if (c->large.on)
		return -TRIREME_EBUSY; /* a large op holds the window */
	if (large)
		return large_submit(c, op, tag);
	/* §8: never more than W sequences ahead of the oldest outstanding one. */
	if (c->next_seq - c->oldest >= c->window)
		return -TRIREME_EBUSY;
	cmd = &c->cmds[c->next_seq % c->window];
	if (atomic_load_explicit(&cmd->state, memory_order_relaxed) != RT_CMD_FREE)
		return -TRIREME_EBUSY;
	cmd->tag = tag;
	cmd->held = false;
	cmd->seq = c->next_seq;
	cmd->origin_id = origin_seq == 0 ? 0 : atomic_load_explicit(&c->bound_id,
								   memory_order_relaxed);
	cmd->origin_seq = origin_seq;
	cmd->origin_window = origin_window;
	cmd->kind = op->kind;
	cmd->read_mode = tr_op_is_read(op->kind) ? op->read_mode : 0;
	cmd->key_len = op->key_len;
	cmd->val_len = tr_op_has_val(op->kind) ? op->val_len : 0;
	if (op->key_len > 0)
		memcpy(cmd->data, op->key, op->key_len);
	if (cmd->val_len > 0)
		memcpy(cmd->data + op->key_len, op->val, cmd->val_len);
	cmd->submit_ns = rt_now_ns(c->t);
	if (cmd->kind == TRIREME_GET && cmd->read_mode == TRIREME_READ_LOCAL)
		return read_local_cmd(c, cmd);
	atomic_store_explicit(&cmd->state, RT_CMD_QUEUED, memory_order_relaxed);
	atomic_store_explicit(&cmd->in_ring, true, memory_order_relaxed);
	if (rte_ring_mp_enqueue(c->rep->submit, cmd) != 0) {
		atomic_store_explicit(&cmd->in_ring, false, memory_order_relaxed);
		atomic_store_explicit(&cmd->state, RT_CMD_FREE, memory_order_relaxed);
		return -TRIREME_EBUSY;
	}
	c->next_seq++;
	c->outstanding++;
	return 0;
}

int
trireme_submit(struct trireme_client *c, const struct trireme_op *op, uint64_t tag)
{
	return client_submit(c, op, tag, 0, 0);
}

int
rt_client_submit_as(struct trireme_client *c, const struct trireme_op *op, uint64_t tag,
		    uint64_t seq, uint8_t window)
{
	return client_submit(c, op, tag, seq, window);
}

unsigned
trireme_poll(struct trireme_client *c, struct trireme_done *done, unsigned n)
{
	struct rt_cmd *cmds[RT_BURST];
	unsigned got;

	release_polled(c);
	if (c->fd_given) { /* reset before taking: a later completion sets it again */
		uint64_t v;
		ssize_t r = read(c->efd, &v, sizeof(v));

		(void)r;
	}
	large_advance(c);
	if (n > RT_BURST)
		n = RT_BURST;
	got = n < c->nlocal_done ? n : c->nlocal_done;
	memcpy(cmds, c->local_done, got * sizeof(cmds[0]));
	c->nlocal_done -= got;
	memmove(c->local_done, c->local_done + got, c->nlocal_done * sizeof(cmds[0]));
	if (!c->large.on) /* else the ring holds parts' answers only */
		got += rte_ring_sc_dequeue_burst(c->done, (void **)cmds + got, n - got, NULL);
	for (unsigned i = 0; i < got; i++) {
		struct rt_cmd *cmd = cmds[i];

		done[i] = (struct trireme_done){
			.tag = cmd->tag,
			.status = cmd->status,
			.found = cmd->found,
			.val_len = cmd->out_len,
			.val = cmd->big != NULL ? cmd->big : cmd->data,
		};
		c->polled[c->npolled++] = cmd;
		if (c->large.on && cmd == c->large.final)
			c->large.on = false; /* its completion: the window is free */
	}
	c->outstanding -= got;
	if (c->fd_given && client_ready(c) > 0)
		rt_client_wake(c); /* some left: the fd stays readable */
	return got;
}

unsigned
trireme_outstanding(const struct trireme_client *c)
{
	return c->outstanding;
}

/* Sleeps on the client's eventfd, offline for QSBR if the thread is online
 * (a sleeping reader must not hold up grace periods). */
static void
client_sleep(struct trireme_client *c, uint64_t ns)
{
	struct pollfd pfd = {.fd = c->efd, .events = POLLIN};
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
			      .tv_nsec = (long)(ns % 1000000000u)};
	bool online = urcu_qsbr_read_ongoing();
	uint64_t v;
	ssize_t n;

	if (online)
		urcu_qsbr_thread_offline();
	ppoll(&pfd, 1, &ts, NULL);
	if (online)
		urcu_qsbr_thread_online();
	n = read(c->efd, &v, sizeof(v)); /* reset: EFD_NONBLOCK */
	(void)n;
}

int
trireme_wait(struct trireme_client *c, uint64_t timeout_ns)
{
	uint64_t now = rt_now_ns(c->t);
	uint64_t deadline = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;

	for (;;) {
		unsigned n;

		large_advance(c);
		n = client_ready(c);
		if (n > 0) {
			if (c->fd_given) /* client_sleep may have reset it */
				rt_client_wake(c);
			return (int)n;
		}
		if (c->outstanding == 0)
			return 0;
		if (rt_stopped(c->rep))
			return -TRIREME_ESTOPPED;
		if (now >= deadline)
			return -TRIREME_ETIMEOUT;
		/* waiting before the look at the ring; on_complete does the
		 * opposite (seq_cst both), so no wakeup is lost. */
		atomic_store(&c->waiting, true);
		atomic_thread_fence(memory_order_seq_cst);
		if (c->nlocal_done + rte_ring_count(c->done) == 0 && !rt_stopped(c->rep)) {
			uint64_t ns = deadline - now;

			/* A large op whose next part the full queue refused: no
			 * answer will wake us, so look again soon. */
			if (c->large.on && c->large.inflight == 0 && !c->large.done)
				ns = RTE_MIN(ns, (uint64_t)50000);
			client_sleep(c, ns);
		}
		atomic_store(&c->waiting, c->fd_given);
		now = rt_now_ns(c->t);
	}
}

int
trireme_read_local(struct trireme *t, unsigned replica, const void *key, uint16_t key_len,
		   void *buf, uint32_t cap, uint32_t *val_len)
{
	struct rt_replica *r = rt_local_replica(t, replica);
	struct tr_kvstore *kv;
	int rc;

	if (r == NULL || (key_len > 0 && key == NULL) || t->sm != NULL)
		return -TRIREME_EINVAL; /* the embedder's machine: read it through a query */
	urcu_qsbr_read_lock();
	kv = rcu_dereference(r->kv); /* an install swaps it (§12 T1) */
	rc = kv == NULL ? -3 : tr_kvstore_read(kv, key, key_len, buf, cap, val_len);
	urcu_qsbr_read_unlock();
	if (rc == -3)
		return -TRIREME_ESTOPPED;
	if (rc == -2)
		return -TRIREME_EINVAL;
	return rc == -1 ? 1 : 0;
}

void
trireme_thread_online(void)
{
	urcu_qsbr_register_thread();
}

void
trireme_thread_quiescent(void)
{
	urcu_qsbr_quiescent_state();
}

void
trireme_thread_offline(void)
{
	urcu_qsbr_unregister_thread();
}
