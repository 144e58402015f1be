/* SPDX-License-Identifier: MIT
 * The cluster simulator (see sim.h). Virtual time jumps from event to event;
 * events at the same time run in the order they were scheduled.
 */
#include "sim_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void
sim_params_default(struct sim_params *p)
{
	memset(p, 0, sizeof(*p));
	p->seed = 1;
	p->ops = 2000;
	p->clients = 2;
	p->client_window = 3;
	p->think_ns = 20000;
	p->read_ratio = 0.25;
	p->read_mix[SIM_READ_BARRIER] = 1;
	p->client_retry = 0.05;
	p->del_ratio = 0.1 / 0.75; /* 10% of all operations at the default read ratio */
	p->keys = 16;
	p->delay_min_ns = 20000;
	p->delay_max_ns = 200000;
	p->slow_ns = 1000000;
	p->converge_ns = 2000000000ull;
	p->down_min_ns = 5000000;
	p->down_max_ns = 100000000;
	p->snap_ns = 1000000;
	p->sync_min_ns = 100000;
	p->sync_max_ns = 400000;
}

static uint64_t
srand64(struct sim *s)
{
	uint64_t z = (s->rng += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

double
sim_unit(struct sim *s)
{
	return (double)(srand64(s) >> 11) / (double)(UINT64_C(1) << 53);
}

uint64_t
sim_between(struct sim *s, uint64_t lo, uint64_t hi)
{
	return hi <= lo ? lo : lo + srand64(s) % (hi - lo + 1);
}

void
sim_trace(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	if (s->p.trace == NULL)
		return;
	fprintf(s->p.trace, "%12" PRIu64 " ", s->now);
	va_start(ap, fmt);
	vfprintf(s->p.trace, fmt, ap);
	va_end(ap);
	fputc('\n', s->p.trace);
}

static const char *const msg_names[] = {
	"?", "ACCEPT", "ACCEPT_REPLY", "COMMIT", "FETCH", "FETCH_REPLY", "STATUS",
	"READ_INDEX", "READ_INDEX_REPLY",
};

void
sim_trace_msg(struct sim *s, const char *what, const struct tr_msg *m)
{
	if (s->p.trace == NULL)
		return;
	switch (m->type) {
	case TR_MSG_ACCEPT:
		sim_trace(s, "%s %u->%u %c%" PRIu64 " ACCEPT b=(%u,%u) vbal=(%u,%u) deps=[%" PRIu64
			  ",%" PRIu64 ",%" PRIu64 "] cmds=%u",
			  what, m->from, m->to, 'a' + m->column, m->lsn, m->ballot.n, m->ballot.replica,
			  m->vbal.n, m->vbal.replica, m->value.deps[0], m->value.deps[1],
			  m->value.deps[2], m->value.cmd_count);
		break;
	case TR_MSG_ACCEPT_REPLY:
		sim_trace(s, "%s %u->%u %c%" PRIu64 " ACCEPT_REPLY b=(%u,%u) %s deps=[%" PRIu64
			  ",%" PRIu64 ",%" PRIu64 "]",
			  what, m->from, m->to, 'a' + m->column, m->lsn, m->ballot.n, m->ballot.replica,
			  m->reply == TR_REPLY_OK		? "OK"
			  : m->reply == TR_REPLY_REJECT	? "REJECT"
			  : m->reply == TR_REPLY_REFUSED ? "REFUSED"
							 : "COMMITTED",
			  m->value.deps[0], m->value.deps[1], m->value.deps[2]);
		break;
	case TR_MSG_FETCH:
		sim_trace(s, "%s %u->%u %c FETCH [%" PRIu64 ",%" PRIu64 ")", what, m->from, m->to,
			  'a' + m->column, m->lsn, m->lsn_end);
		break;
	case TR_MSG_STATUS:
		sim_trace(s, "%s %u->%u %c STATUS committed=%" PRIu64 " applied=%" PRIu64, what,
			  m->from, m->to, 'a' + m->column, m->committed, m->applied);
		break;
	case TR_MSG_READ_INDEX:
		sim_trace(s, "%s %u->%u %c READ_INDEX id=%" PRIu64, what, m->from, m->to,
			  'a' + m->column, m->read_id);
		break;
	case TR_MSG_READ_INDEX_REPLY:
		sim_trace(s, "%s %u->%u %c READ_INDEX_REPLY id=%" PRIu64 " known=[%" PRIu64 ",%" PRIu64
			  ",%" PRIu64 "]", what, m->from, m->to, 'a' + m->column, m->read_id,
			  m->known[0], m->known[1], m->known[2]);
		break;
	default:
		sim_trace(s, "%s %u->%u %c%" PRIu64 " %s deps=[%" PRIu64 ",%" PRIu64 ",%" PRIu64
			  "] cmds=%u",
			  what, m->from, m->to, 'a' + m->column, m->lsn, msg_names[m->type],
			  m->value.deps[0], m->value.deps[1], m->value.deps[2], m->value.cmd_count);
		break;
	}
}

/* Event queue: a binary heap on (time, sequence). */
static bool
ev_before(const struct event *a, const struct event *b)
{
	return a->t != b->t ? a->t < b->t : a->seq < b->seq;
}

static void
ev_push(struct sim *s, struct event e)
{
	size_t i;

	if (s->ev_len == s->ev_cap) {
		s->ev_cap = s->ev_cap ? 2 * s->ev_cap : 1024;
		s->ev = realloc(s->ev, s->ev_cap * sizeof(*s->ev));
	}
	e.seq = s->ev_seq++;
	i = s->ev_len++;
	while (i > 0 && ev_before(&e, &s->ev[(i - 1) / 2])) {
		s->ev[i] = s->ev[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->ev[i] = e;
}

static struct event
ev_pop(struct sim *s)
{
	struct event top = s->ev[0], last = s->ev[--s->ev_len];
	size_t i = 0;

	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < s->ev_len && ev_before(&s->ev[l], &last))
			m = l;
		if (l + 1 < s->ev_len && ev_before(&s->ev[l + 1], m == i ? &last : &s->ev[m]))
			m = l + 1;
		if (m == i)
			break;
		s->ev[i] = s->ev[m];
		i = m;
	}
	if (s->ev_len > 0)
		s->ev[i] = last;
	return top;
}

void
schedule(struct sim *s, uint64_t t, uint8_t kind, uint8_t replica, uint8_t column, uint32_t data,
	 uint8_t *buf, uint32_t len)
{
	struct event e = {.t = t, .kind = kind, .replica = replica, .column = column,
			  .data = data, .buf = buf, .len = len};

	ev_push(s, e);
}

/* Network. */
static bool
partitioned(const struct sim *s, unsigned a, unsigned b)
{
	return s->isolated_until[a] > s->now || s->isolated_until[b] > s->now;
}

void
sim_net_frame(struct sim *s, unsigned from, unsigned to, unsigned column, const uint8_t *buf,
	      size_t len)
{
	unsigned copies = 1;

	s->st.frames++;
	if (partitioned(s, from, to) || s->deaf_until[to] > s->now || sim_unit(s) < s->loss_send) {
		s->st.dropped++;
		return;
	}
	if (sim_unit(s) < s->dup) {
		copies = 2;
		s->st.duplicated++;
	}
	for (unsigned i = 0; i < copies; i++) {
		uint8_t *copy = malloc(len);
		uint64_t delay = sim_between(s, s->p.delay_min_ns, s->p.delay_max_ns);

		if (s->p.slow > 0 && sim_unit(s) < s->p.slow)
			delay += sim_between(s, 0, s->p.slow_ns);
		memcpy(copy, buf, len);
		schedule(s, s->now + delay, EV_DELIVER, (uint8_t)to, (uint8_t)column, from, copy,
			 (uint32_t)len);
	}
}

/* S1: with a disk, a frame leaves once the records before it are synced
 * (the known-bad REPLY_BEFORE_PERSIST: at once). */
static bool
early(const struct sim *s)
{
	return ((s->p.variant | TR_MUTANT_VARIANT) & TR_VARIANT_REPLY_BEFORE_PERSIST) != 0;
}

static void
net_send_frame(struct sim *s, unsigned from, unsigned to, unsigned column, const uint8_t *buf,
	       size_t len)
{
	struct dfr *e;

	if (!s->p.disk || early(s)) {
		sim_net_frame(s, from, to, column, buf, len);
		return;
	}
	e = disk_hold(s, from, DFR_FRAME);
	e->to = (uint8_t)to;
	e->column = (uint8_t)column;
	e->buf = malloc(len);
	memcpy(e->buf, buf, len);
	e->len = (uint32_t)len;
}

/* Hands a step's messages to the network: grouped per receiver into frames,
 * or held one by one in manual mode. */
static void
net_send(struct sim *s, unsigned from, unsigned column, const struct tr_out *out)
{
	static uint8_t buf[1 << 16];

	for (unsigned to = 0; to < TR_REPLICAS; to++) {
		struct tr_frame_writer w;
		struct tr_frame_hdr hdr = {.cluster_id = s->cfg_cluster, .from = (uint8_t)from,
					   .to = (uint8_t)to, .column = (uint8_t)column};
		bool open = false;

		if (to == from)
			continue;
		for (unsigned i = 0; i < out->msg_count; i++) {
			const struct tr_msg *m = &out->msgs[i];

			if (m->to != to)
				continue;
			s->st.msgs++;
			if (s->deaf_until[to] > s->now &&
			    s->now - s->deaf_from[to] > 2 * s->nodes[from].rep.cfg.suspect_ns &&
			    (m->type == TR_MSG_ACCEPT || m->type == TR_MSG_READ_INDEX ||
			     m->type == TR_MSG_FETCH))
				s->st.deaf_asks++;
			sim_trace_msg(s, "send", m);
			if (s->p.manual) {
				sim_hold(s, m);
				continue;
			}
			if (open && tr_frame_add(&w, m) == 0)
				continue;
			if (open)
				net_send_frame(s, from, to, column, buf, tr_frame_end(&w));
			hdr.inc = m->inc; /* J0 */
			tr_frame_begin(&w, buf, sizeof(buf), &hdr);
			open = true;
			if (tr_frame_add(&w, m) != 0)
				sim_violation_add(s, "codec: a message the engine produced does not fit a frame");
		}
		if (open)
			net_send_frame(s, from, to, column, buf, tr_frame_end(&w));
	}
}

/* J5 stopped the replica that --wipe started as a new one where one ran: it
 * is the seed's crash-stop from now on (the two others go on). */
static void
memory_stop(struct sim *s, unsigned r)
{
	struct node *n = &s->nodes[r];

	s->st.memory_stops++;
	n->crashed = true;
	n->down_since = UINT64_MAX; /* its down record stays open: for good */
	node_mark_lost(s, r);
	if (s->crashed < 0)
		s->crashed = (int)r;
	if (s->fault_victim == (int)r)
		s->fault_victim = -1;
	sim_trace(s, "replica %u stopped by J5: %s", r, n->rep.violation_why);
}

/* J0: replica q heard an incarnation of a peer above the peer's current one:
 * q drops that life's messages as old, for good (a liveness failure; a
 * new replica where one ran, --wipe, is the operator's mistake that J5
 * stops). */
static void
inc_heard_check(struct sim *s, unsigned q)
{
	struct node *n = &s->nodes[q];

	for (unsigned p = 0; p < TR_REPLICAS; p++) {
		struct node *o = &s->nodes[p];
		uint32_t heard = atomic_load(&n->rep.shared.peer_inc[p]), inc;

		if (p == q || o->crashed || o->wiped)
			continue;
		inc = tr_replica_inc(&o->rep);
		if (inc != 0 && heard > inc)
			sim_violation_add(s, "J0: replica %u heard incarnation %u of replica %u, "
					  "above its life's %u", q, heard, p, inc);
	}
}

/* After every engine step on (replica, column): observe, send, re-arm, apply. */
void
sim_after_step(struct sim *s, unsigned r, unsigned column, const struct tr_out *out)
{
	struct node *n = &s->nodes[r];

	for (unsigned i = 0; i < out->committed_count; i++) {
		const struct tr_slot *slot = tr_column_slot(&n->rep.col[column],
							    out->committed_lsn[i]);
		struct dfr *e;

		if (!s->p.disk || slot == NULL) {
			check_commit(s, r, column, out->committed_lsn[i]);
			continue;
		}
		e = disk_hold(s, r, DFR_COMMIT); /* (a) sees it once durable */
		e->column = (uint8_t)column;
		e->lsn = out->committed_lsn[i];
		e->hash = value_hash(&slot->value);
	}
	for (unsigned i = 0; i < out->msg_count; i++) {
		const struct tr_msg *m = &out->msgs[i];
		struct dfr *e;

		if (m->type != TR_MSG_ACCEPT_REPLY || m->reply != TR_REPLY_OK)
			continue;
		if (!s->p.disk || early(s)) {
			check_vote(s, m);
			continue;
		}
		e = disk_hold(s, r, DFR_VOTE); /* (a) sees it as it leaves */
		e->m = *m;
		e->m.value.cmds = NULL;
		e->hash = value_hash(&m->value);
	}
	net_send(s, r, column, out);
	{
		uint64_t paced = n->rep.col[column].stats.paced;
		bool deaf = false;

		for (unsigned q = 0; q < TR_REPLICAS; q++)
			deaf |= q != r && s->deaf_until[q] > s->now;
		if (deaf)
			s->st.deaf_paced += paced - n->paced_seen[column];
		n->paced_seen[column] = paced;
	}
	if (atomic_load(&n->rep.shared.violation) && !n->violation_seen) {
		n->violation_seen = true;
		if (n->wiped && strncmp(n->rep.violation_why, "J5:", 3) == 0)
			memory_stop(s, r);
		else
			sim_violation_add(s, "engine stopped on replica %u: %s", r,
					  n->rep.violation_why);
	}
	/* The runtime keeps each step's deadline as the column's only timer
	 * (worker.c): a step must report the column's own, dropped messages
	 * included, or a timer is lost for good. */
	if (!atomic_load(&n->rep.shared.violation) &&
	    out->deadline_ns != n->rep.col[column].next_ns)
		sim_violation_add(s, "replica %u column %u: a step reported deadline %" PRIu64
				  " but the column's timer is %" PRIu64, r, column, out->deadline_ns,
				  n->rep.col[column].next_ns);
	if (!s->p.manual && out->deadline_ns < n->tick_at[column]) {
		n->tick_at[column] = out->deadline_ns < s->now ? s->now : out->deadline_ns;
		schedule(s, n->tick_at[column], EV_TICK, (uint8_t)r, (uint8_t)column, 0, NULL, 0);
	}
	s->st.applied += tr_apply(&n->applier, UINT32_MAX);
	if (s->p.disk && !n->crashed)
		disk_step_end(s, r);
	inc_heard_check(s, r);
	fault_after_step(s, r);
}

void
sim_recv_frame(struct sim *s, unsigned r, const uint8_t *buf, size_t len)
{
	struct node *n = &s->nodes[r];
	struct tr_wire_limits lim = {
		.cluster_id = s->cfg_cluster,
		.self = (uint8_t)r,
		.cmd_count_max = n->rep.cfg.batch_cmds_max,
		.cmds_bytes_max = n->rep.cfg.batch_bytes_max,
		.fetch_span_max = n->rep.cfg.fetch_span_max,
	};
	struct tr_frame_hdr hdr;
	unsigned count;
	int rc = tr_frame_decode(buf, len, &lim, &hdr, s->rx_msgs, TR_FRAME_MSGS_MAX, &count);

	if (rc != 0) {
		sim_violation_add(s, "codec rejected a frame the engine produced: %s",
				  tr_wire_strerror(rc));
		return;
	}
	for (unsigned i = 0; i < count; i++) {
		struct tr_out *out = &s->out;

		sim_trace_msg(s, "recv", &s->rx_msgs[i]);
		tr_out_reset(out);
		tr_column_recv(&n->rep.col[hdr.column], &s->rx_msgs[i], s->now, out);
		sim_after_step(s, r, hdr.column, out);
	}
}

void
sim_tick_column(struct sim *s, unsigned r, unsigned column)
{
	struct node *n = &s->nodes[r];

	tr_out_reset(&s->out);
	tr_column_tick(&n->rep.col[column], s->now, &s->out);
	sim_after_step(s, r, column, &s->out);
}

/* Clients. */
void
client_wake(struct sim *s, struct client *c, uint64_t at)
{
	if (!c->wake_pending) {
		c->wake_pending = true;
		schedule(s, at, EV_CLIENT, (uint8_t)c->home, 0, c->id, NULL, 0);
	}
}

static void
op_complete(struct sim *s, struct op *o, uint8_t status, const uint8_t *val, uint32_t val_len,
	    unsigned column, uint64_t lsn, uint16_t index)
{
	struct client *c = &s->clients[o->client];

	if (o->done)
		return;
	o->done = true;
	o->ret = s->now;
	o->status = status;
	o->column = (uint8_t)column;
	o->lsn = lsn;
	o->index = index;
	o->out_null = val == NULL;
	if (val != NULL) {
		uint32_t l = val_len < sizeof(o->out) - 1 ? val_len : (uint32_t)sizeof(o->out) - 1;
		char tag[sizeof(o->out)];
		const char *large = sim_large_tag(val, val_len, tag, sizeof(tag));

		memcpy(o->out, val, l);
		o->out[l] = 0;
		if (large != NULL) { /* a large set's value: its tag, if whole */
			snprintf(o->out, sizeof(o->out), "%s", large);
			s->st.large_reads += large == tag;
		}
	}
	s->st.large_sets += o->parts > 0 && status == TR_ST_OK;
	s->st.full_writes += status == TR_ST_FULL;
	if (!o->lost)
		c->outstanding--;
	s->st.ops_done++;
	if (s->power_ns != 0 && o->call > s->power_ns && o->op != TR_OP_GET)
		s->st.ops_after_power++; /* the cluster commits again */
	fault_check_op(s, o);
	sim_trace(s, "done client %u seq %" PRIu64 " %s", o->client, o->seq, tr_status_str(status));
	if (!s->p.manual)
		client_wake(s, c, s->now + sim_between(s, 0, s->p.think_ns));
}

/* P5 with a disk: the answer reveals the commit; it waits for the sync. */
static void
on_complete(void *ctx, const struct tr_completion *d)
{
	struct node *n = ctx;
	struct dfr *e;

	if (!n->sim->p.disk || (d->op != TR_OP_GET &&
				(n->rep.cfg.variant & TR_VARIANT_ACK_BEFORE_PERSIST))) {
		sim_complete(n, d); /* the known-bad variant: writes only (a read's
				     * point is where the applies released are) */
		return;
	}
	e = disk_hold(n->sim, n->id, DFR_COMPLETE);
	e->done = *d;
	if (d->res.val != NULL && d->res.val_len > 0) {
		e->buf = malloc(d->res.val_len);
		memcpy(e->buf, d->res.val, d->res.val_len);
	}
}

void
sim_complete(struct node *n, const struct tr_completion *d)
{
	struct sim *s = n->sim;
	struct op *o = sim_op_lookup(s, d->client_id, d->seq);

	if (o == NULL || s->clients[o->client].home != n->id) {
		sim_violation_add(s, "replica %u completed client %" PRIu64 " seq %" PRIu64
				  ", not one of its clients' operations", n->id, d->client_id, d->seq);
		return;
	}
	if (o->done && o->column == d->column && o->lsn == d->lsn && o->index == d->index)
		return; /* the same instance, applied again by a later life of the home (J) */
	if (o->parts > 0 && d->lsn != TR_LSN_BARRIER) {
		/* A large set's part: staged (or a copy of one applied before)
		 * lets the client send the next; the part that completes it
		 * answers the op, as does a refusal. */
		uint64_t bit = UINT64_C(1) << (d->seq - o->seq);
		bool seen = o->answered & bit;

		uint64_t all = o->parts == 64 ? ~UINT64_C(0) : (UINT64_C(1) << o->parts) - 1;

		if (s->p.large_drop_result &&
		    (d->res.status == TR_ST_OK || d->res.status == TR_ST_NOT_FOUND))
			return; /* known-bad: the whole's result lost */
		o->answered |= bit;
		if (d->res.status == TR_ST_STAGED)
			o->staged |= bit;
		sim_trace(s, "part client %u seq %" PRIu64 " %s", o->client, d->seq,
			  tr_status_str(d->res.status));
		if (o->staged == all) {
			sim_violation_add(s, "(f) client %u seq %" PRIu64 ": every part of a large set "
					  "staged, none completed it", o->client, o->seq);
			return;
		}
		if (d->res.status == TR_ST_STAGED || d->res.status == TR_ST_DUPLICATE ||
		    (seen && d->res.status == TR_ST_TOO_OLD)) {
			if (o->answered == all && !o->done) {
				/* Every part applied, and the answer of the one
				 * that completed it (one not staged) was never seen
				 * (it applied here through a snapshot): acknowledged
				 * again, as a duplicate is. */
				op_complete(s, o, TR_ST_DUPLICATE, NULL, 0, d->column, d->lsn,
					    d->index);
				return;
			}
			if (!o->done && !o->lost)
				client_wake(s, &s->clients[o->client], s->now);
			return;
		}
	}
	if (d->lsn == TR_LSN_BARRIER) {
		/* Q3: answered from the state after this replica's applied prefix. */
		if (o->op != TR_OP_GET || o->mode != SIM_READ_BARRIER || d->op != TR_OP_GET) {
			sim_violation_add(s, "client %u seq %" PRIu64 " completed as a barrier read "
					  "but was not one", o->client, o->seq);
			return;
		}
		if (!o->done)
			o->point = n->seq_len;
	} else if (o->op != TR_OP_GET &&
		   (d->res.status == TR_ST_OK || d->res.status == TR_ST_NOT_FOUND) &&
		   ++o->applied > 1) {
		/* §8: every copy of a write is in its home's column, so the home
		 * replica sees how the state machine decided each one. */
		sim_violation_add(s, "(f) client %u seq %" PRIu64 " applied twice (again at %c%" PRIu64
				  ")", o->client, o->seq, 'a' + d->column, d->lsn);
		return;
	}
	if (s->p.ack_at_commit && o->op != TR_OP_GET)
		return; /* already acknowledged at commit */
	op_complete(s, o, d->res.status, d->res.status == TR_ST_OK && d->op == TR_OP_GET ? d->res.val : NULL,
		    d->res.val_len, d->column, d->lsn, d->index);
}

static void
on_applied(void *ctx, unsigned column, uint64_t lsn, const struct tr_value *v)
{
	struct node *n = ctx;
	struct dfr *e;

	if (!n->sim->p.disk) {
		check_apply(n->sim, n->id, column, lsn, v);
		return;
	}
	e = disk_hold(n->sim, n->id, DFR_APPLY); /* (b) sees it once durable */
	e->column = (uint8_t)column;
	e->lsn = lsn;
	e->v = *v;
	e->buf = malloc(v->cmds_len + 1);
	memcpy(e->buf, v->cmds, v->cmds_len);
}

/* Known-bad P5 variant: writes acknowledged when the owner sees the commit. */
void
sim_ack_at_commit(struct sim *s, unsigned r, unsigned column, const struct tr_value *v)
{
	size_t off = 0;

	if (!s->p.ack_at_commit || column != r || v->proposer != r)
		return;
	for (uint16_t i = 0; i < v->cmd_count; i++) {
		struct tr_cmd cmd;
		struct op *o;

		if (tr_cmd_decode(v->cmds, v->cmds_len, &off, &cmd) != 0)
			return;
		o = sim_op_lookup(s, cmd.client_id, cmd.seq);
		if (o != NULL && cmd.op != TR_OP_GET && !o->done)
			op_complete(s, o, TR_ST_OK, NULL, 0, column, UINT64_MAX, i);
	}
}

/* The command an op stands for; a resubmission is the same command. */
static struct tr_cmd
op_cmd(const struct op *o)
{
	return (struct tr_cmd){
		.op = o->op,
		.window = SIM_W,
		.client_id = o->cid,
		.seq = o->seq,
		.key = (const uint8_t *)o->key,
		.key_len = (uint16_t)strlen(o->key),
		.val = o->op == TR_OP_SET ? (const uint8_t *)o->val : NULL,
		.val_len = o->op == TR_OP_SET ? (uint32_t)strlen(o->val) : 0,
	};
}

/* Part k of a large set (issue 16): the whole's bytes [k, k + 1) *
 * SIM_PART_BYTES, its val written into buf. */
static struct tr_cmd
part_cmd(const struct op *o, unsigned k, uint8_t *buf)
{
	static uint8_t val[SIM_LARGE_MAX];
	uint32_t len = sim_large_bytes(o->val, val);
	uint16_t kl = (uint16_t)strlen(o->key);
	uint32_t total = (uint32_t)tr_large_bytes(kl, len);
	uint32_t off = k * SIM_PART_BYTES;
	uint32_t n = total - off < SIM_PART_BYTES ? total - off : SIM_PART_BYTES;

	return (struct tr_cmd){
		.op = TR_OP_PART,
		.window = SIM_W,
		.client_id = o->cid,
		.seq = o->seq + k,
		.val = buf,
		.val_len = (uint32_t)tr_part_fill(buf, o->seq, TR_OP_SET, (const uint8_t *)o->key, kl,
						  val, len, off, n),
	};
}

/* Hands an op to its home replica: 0, or -1 when the engine refuses it
 * (back-pressure). A local read is answered here and now. */
static int
op_issue(struct sim *s, struct op *o)
{
	unsigned home = s->clients[o->client].home;
	struct node *n = &s->nodes[home];
	struct tr_column *col = &n->rep.col[home];
	struct tr_cmd cmd = op_cmd(o);

	if (o->op == TR_OP_GET && o->mode == SIM_READ_LOCAL) {
		const uint8_t *val = NULL;
		uint32_t len = 0;
		bool found;

		/* With a disk, what it applied is synced first: a local read
		 * sees only what a crash cannot take back (the checker places
		 * it at the applies released). */
		disk_sync_now(s, home);
		found = tr_table_ops.get(&n->table, cmd.key, cmd.key_len, &val, &len) == 0;

		o->call = s->now;
		o->point = n->seq_len;
		s->clients[o->client].outstanding++;
		op_complete(s, o, found ? TR_ST_OK : TR_ST_NOT_FOUND, found ? val : NULL, len, home,
			    UINT64_MAX, 0);
		s->st.reads[SIM_READ_LOCAL]++;
		return 0;
	}
	if (o->op == TR_OP_GET && o->mode == SIM_READ_BARRIER) {
		if (tr_column_read(col, &cmd) != 0)
			return -1;
	} else if (tr_column_submit(col, &cmd) != 0) {
		return -1;
	}
	if (o->op == TR_OP_GET)
		s->st.reads[o->mode]++;
	o->call = s->now;
	o->submits = 1;
	s->clients[o->client].outstanding++;
	return 0;
}

static void
flush(struct sim *s, unsigned r)
{
	tr_out_reset(&s->out);
	tr_column_flush(&s->nodes[r].rep.col[r], s->now, &s->out);
	sim_after_step(s, r, r, &s->out);
}

int
sim_submit(struct sim *s, unsigned replica, uint8_t op, const char *key, const char *val)
{
	struct client *c = &s->clients[replica * s->p.clients];
	struct op *o = sim_op_new(s, c, op, key, val);

	o->mode = SIM_READ_LOG;
	if (op_issue(s, o) != 0)
		sim_violation_add(s, "submit refused in a test");
	flush(s, replica);
	return (int)(o - s->ops);
}

int
sim_read(struct sim *s, unsigned replica, const char *key, enum sim_read_mode mode)
{
	struct client *c = &s->clients[replica * s->p.clients];
	struct op *o = sim_op_new(s, c, TR_OP_GET, key, NULL);

	o->mode = (uint8_t)mode;
	if (op_issue(s, o) != 0)
		sim_violation_add(s, "read refused in a test");
	flush(s, replica);
	return (int)(o - s->ops);
}

/* A client retry: the same command (client, seq, W) once more; part is a
 * large set's part. */
static void
resubmit(struct sim *s, struct op *o, unsigned part)
{
	unsigned home = s->clients[o->client].home;
	uint8_t buf[TR_PART_HDR_BYTES + SIM_PART_BYTES];
	struct tr_cmd cmd = o->parts > 0 ? part_cmd(o, part, buf) : op_cmd(o);

	if (o->done || s->nodes[home].crashed)
		return;
	if (tr_column_submit(&s->nodes[home].rep.col[home], &cmd) != 0) {
		schedule(s, s->now + 1000000, EV_RESUBMIT, (uint8_t)home, (uint8_t)part,
			 (uint32_t)(o - s->ops), NULL, 0);
		return;
	}
	o->submits++;
	s->st.resubmits++;
	sim_trace(s, "resubmit client %u seq %" PRIu64, o->client, cmd.seq);
}

/* §8: a client retry of a write, at once (a duplicate) or after a timeout. */
static void
maybe_retry(struct sim *s, struct op *o, unsigned part)
{
	if (sim_unit(s) >= s->p.client_retry)
		return;
	if (sim_unit(s) < 0.5)
		resubmit(s, o, part);
	else
		schedule(s, s->now + sim_between(s, 1000000, 5000000), EV_RESUBMIT,
			 (uint8_t)s->clients[o->client].home, (uint8_t)part, (uint32_t)(o - s->ops),
			 NULL, 0);
}

/* A large set's parts, alone in the client's window: the next ones while
 * fewer than client_window are unanswered and all within W of the oldest
 * unanswered (§8: none is ever too old). */
static void
large_drip(struct sim *s, struct client *c)
{
	struct op *o = &s->ops[c->large];
	struct tr_column *col = &s->nodes[c->home].rep.col[c->home];

	if (o->done || o->lost) {
		c->large = -1;
		return;
	}
	while (o->sent < o->parts) {
		uint8_t buf[TR_PART_HDR_BYTES + SIM_PART_BYTES];
		unsigned oldest = 0, unanswered = 0;
		struct tr_cmd cmd;

		while (oldest < o->sent && ((o->answered >> oldest) & 1))
			oldest++;
		for (unsigned k = 0; k < o->sent; k++)
			unanswered += !((o->answered >> k) & 1);
		if (o->sent - oldest >= SIM_W || unanswered >= s->p.client_window)
			return;
		cmd = part_cmd(o, o->sent, buf);
		if (tr_column_submit(col, &cmd) != 0) {
			client_wake(s, c, s->now + 100000);
			return;
		}
		if (o->sent++ == 0) {
			o->call = s->now;
			o->submits = 1;
		}
		maybe_retry(s, o, o->sent - 1u);
	}
}

static uint8_t
pick_read_mode(struct sim *s)
{
	double total = 0, x;

	for (unsigned m = 0; m < SIM_READ_MODES; m++)
		total += s->p.read_mix[m];
	if (total <= 0)
		return SIM_READ_BARRIER;
	x = sim_unit(s) * total;
	for (unsigned m = 0; m + 1 < SIM_READ_MODES; m++) {
		if (x < s->p.read_mix[m])
			return (uint8_t)m;
		x -= s->p.read_mix[m];
	}
	return SIM_READ_MODES - 1;
}

/* What the issued count brings: the crash, the next fault episode, the heal. */
static void
issued_events(struct sim *s)
{
	if (s->p.crash && s->issued == s->crash_at_op) {
		unsigned victim = (unsigned)sim_between(s, 0, TR_REPLICAS - 1);

		schedule(s, s->now, EV_CRASH, (uint8_t)victim, 0, 0, NULL, 0);
	}
	if (s->issued == s->fault_next_op)
		schedule(s, s->now, EV_FAULT, 0, 0, 0, NULL, 0);
	if (s->issued == s->p.ops)
		schedule(s, s->now, EV_HEAL, 0, 0, 0, NULL, 0);
}

static void
client_step(struct sim *s, struct client *c)
{
	struct node *n = &s->nodes[c->home];

	c->wake_pending = false;
	if (n->crashed || n->paused)
		return;
	if (c->large >= 0)
		large_drip(s, c);
	while (c->large < 0 && s->issued < s->p.ops && c->outstanding < s->p.client_window &&
	       c->next_seq - sim_client_oldest(s, c) < SIM_W) {
		double x;
		uint8_t op;
		char key[16], val[32];
		struct op *o;

		if (c->want_large) {
			/* A large set waits for the window to empty. */
			if (c->outstanding > 0)
				break;
			c->want_large = false;
			snprintf(key, sizeof(key), "k%u", (unsigned)sim_between(s, 0, s->p.keys - 1));
			o = sim_op_new_large(s, c, key, (uint32_t)sim_between(s, SIM_LARGE_MIN,
									     SIM_LARGE_MAX));
			o->mode = SIM_READ_LOG;
			sim_trace(s, "call client %u seq %" PRIu64 " set %s large %s (%u parts)", c->id,
				  o->seq, key, o->val, o->parts);
			c->large = (int)(o - s->ops);
			c->outstanding++;
			large_drip(s, c);
			s->issued++;
			issued_events(s);
			break;
		}
		x = sim_unit(s);
		op = x < s->p.read_ratio ? TR_OP_GET
		   : x < s->p.read_ratio + s->p.del_ratio * (1 - s->p.read_ratio) ? TR_OP_DEL
		   : TR_OP_SET;
		if (op == TR_OP_SET && s->p.large_ratio > 0 && sim_unit(s) < s->p.large_ratio) {
			c->want_large = true;
			continue;
		}
		snprintf(key, sizeof(key), "k%u", (unsigned)sim_between(s, 0, s->p.keys - 1));
		snprintf(val, sizeof(val), "c%u-%" PRIu64, c->id, c->next_seq);
		o = sim_op_new(s, c, op, key, val);
		o->mode = op == TR_OP_GET ? pick_read_mode(s) : SIM_READ_LOG;
		sim_trace(s, "call client %u seq %" PRIu64 " %s %s%s", c->id, o->seq,
			  op == TR_OP_GET ? "get" : op == TR_OP_DEL ? "del" : "set", key,
			  op != TR_OP_GET ? "" : o->mode == SIM_READ_BARRIER ? " (barrier)"
					       : o->mode == SIM_READ_LOCAL ? " (local)" : " (log)");
		if (op_issue(s, o) != 0) {
			sim_op_unissue(s, c);
			client_wake(s, c, s->now + 100000);
			break;
		}
		s->issued++;
		if (op != TR_OP_GET)
			maybe_retry(s, o, 0);
		issued_events(s);
	}
	flush(s, c->home);
}

/* Set-up. A restart without memory (join) is a fresh replica that JOINs. */
void
node_init(struct sim *s, unsigned id, bool join)
{
	struct node *n = &s->nodes[id];
	struct tr_config cfg;
	uint32_t slots = 1024, val_max;
	size_t bytes;

	while (slots < 2 * s->p.ops + 64)
		slots *= 2;
	if (s->p.log_slots != 0)
		slots = s->p.log_slots;
	n->sim = s;
	memset(n->paced_seen, 0, sizeof(n->paced_seen)); /* a new engine's stats */
	n->id = id;
	/* A round trip; with a disk, two syncs more (S1: each side persists first). */
	tr_config_default(&cfg, (uint8_t)id,
			  2 * s->p.delay_max_ns + (s->p.disk ? 2 * s->p.sync_max_ns : 0));
	cfg.cluster_id = s->cfg_cluster;
	/* T4: half a ring lasts two snapshot transfers and a few round trips. */
	cfg.catchup_ns = s->p.catchup_ns != 0 ? s->p.catchup_ns
					      : 2 * s->p.snap_ns + 10 * cfg.retry_ns;
	cfg.log_slots_max = slots;
	cfg.inflight_max = 32;
	cfg.batch_cmds_max = 8;
	cfg.batch_bytes_max = 512;
	cfg.pending_bytes_max = 16384;
	cfg.fetch_span_max = 32;
	cfg.seed = s->p.seed * 7 + id + 1000 * n->life;
	cfg.sm_keys_max = 1024; /* the table's cells */
	cfg.sm_clients_max = s->p.client_recs != 0 ? s->p.client_recs : 256;
	cfg.variant = s->p.variant;
	if (s->p.read_barriers != 0)
		cfg.read_barriers_max = s->p.read_barriers;
	cfg.join = join;
	cfg.join_inc_floor = join ? n->join_floor : 0;
	cfg.incarnation = n->start_inc != 0 ? n->start_inc : 1;
	if (s->p.disk) {
		cfg.durable = disk_append; /* S1 */
		cfg.durable_arg = n;
		if (!join && n->disk.inc < cfg.incarnation)
			n->disk.inc = cfg.incarnation;
		memcpy(cfg.peer_inc_seen, n->disk.peer_inc, sizeof(cfg.peer_inc_seen));
	}
	bytes = tr_replica_mem_bytes(&cfg);
	n->mem = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
	if (tr_replica_init(&n->rep, &cfg, n->mem, bytes, s->now) != 0)
		abort();
	val_max = s->p.large_ratio > 0 ? SIM_LARGE_MAX : SIM_VAL_MAX;
	n->table_mem = calloc(1, tr_table_mem_bytes(1024, 16, val_max));
	tr_table_init(&n->table, n->table_mem, 1024, 16, val_max);
	n->client_recs = calloc(cfg.sm_clients_max, sizeof(*n->client_recs));
	tr_sm_init(&n->sm, &tr_table_ops, &n->table, n->client_recs, cfg.sm_clients_max);
	if (s->p.client_ttl != 0)
		n->sm.client_ttl_cmds = s->p.client_ttl;
	if (s->p.large_ratio > 0) {
		uint32_t sb = (uint32_t)tr_large_bytes(16, SIM_LARGE_MAX);

		n->stage_mem = calloc(1, tr_sm_stages_mem_bytes(SIM_STAGES, sb));
		tr_sm_stages_init(&n->sm, n->stage_mem, SIM_STAGES, sb);
	}
	n->sm.variant |= s->p.variant;
	n->sm.window = (uint8_t)(2 + 3 * id); /* W_PER_REPLICA only: 2, 5, 8 */
	n->applier = (struct tr_applier){.rep = &n->rep, .sm = &n->sm, .complete = on_complete,
					 .applied = on_applied, .ctx = n};
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		n->tick_at[c] = UINT64_MAX;
	n->down_since = UINT64_MAX;
	n->seq_len = 0;
}

void
node_free(struct node *n)
{
	free(n->mem);
	free(n->table_mem);
	free(n->client_recs);
	free(n->stage_mem);
	n->mem = n->table_mem = n->stage_mem = NULL;
	n->client_recs = NULL;
}

/* J5 in a schedule driven by hand: the cluster starts as if the STATUS of
 * its first period had gone round (each replica vouched for by the next),
 * so that the hand-made schedule is the first thing that happens. */
static void
vouch_at_start(struct sim *s)
{
	struct tr_msg msgs[8];
	struct tr_out out = {.msgs = msgs, .msg_cap = 8};

	for (unsigned r = 0; r < TR_REPLICAS; r++)
		for (uint8_t c = 0; c < TR_COLUMNS; c++) {
			struct tr_replica *rep = &s->nodes[r].rep;
			uint8_t from = (uint8_t)((r + 1) % TR_REPLICAS);
			struct tr_msg st = {.type = TR_MSG_STATUS, .from = from, .to = (uint8_t)r,
					    .column = c,
					    .inc = tr_replica_inc(&s->nodes[from].rep),
					    .sm_keys_max = rep->cfg.sm_keys_max,
					    .sm_clients_max = rep->cfg.sm_clients_max};

			tr_out_reset(&out);
			tr_column_recv(&rep->col[c], &st, s->now, &out);
		}
}

struct sim *
sim_new(const struct sim_params *p)
{
	struct sim *s = calloc(1, sizeof(*s));

	s->p = *p;
	s->rng = p->seed * UINT64_C(0x2545F4914F6CDD1D) + 1;
	s->cfg_cluster = 0x7472;
	s->loss_send = p->loss_send;
	s->loss_recv = p->loss_recv;
	s->dup = p->dup;
	s->out.msgs = s->out_msgs;
	s->out.msg_cap = SIM_OUT_MSGS;
	s->nclients = TR_REPLICAS * (p->clients ? p->clients : 1);
	s->clients = calloc(s->nclients, sizeof(*s->clients));
	for (unsigned i = 0; i < s->nclients; i++) {
		s->clients[i].id = i;
		s->clients[i].home = i / (p->clients ? p->clients : 1);
		s->clients[i].next_seq = 1;
		s->clients[i].large = -1;
	}
	for (unsigned r = 0; r < TR_REPLICAS; r++)
		node_init(s, r, false);
	if (p->manual)
		vouch_at_start(s);
	s->crashed = -1;
	s->fault_victim = -1;
	s->fault_episodes =
		p->pauses + p->restarts + p->deafs + p->crash_disks + p->power_losses + p->wipes;
	s->fault_next_op = s->fault_episodes ? p->ops / (s->fault_episodes + 2) : UINT32_MAX;
	s->crash_at_op = (unsigned)sim_between(s, p->ops / 5, 4 * p->ops / 5);
	if (s->crash_at_op == 0)
		s->crash_at_op = 1;
	check_init(s);
	return s;
}

void
sim_free(struct sim *s)
{
	for (size_t i = 0; i < s->ev_len; i++)
		free(s->ev[i].buf);
	free(s->ev);
	for (unsigned r = 0; r < TR_REPLICAS; r++) {
		node_free(&s->nodes[r]);
		disk_free(&s->nodes[r]);
		free(s->nodes[r].seq);
	}
	fault_free(s);
	for (unsigned i = 0; i < s->nclients; i++)
		free(s->clients[i].op_idx);
	free(s->clients);
	free(s->ops);
	sim_held_free(s);
	check_free(s);
	free(s);
}

static bool
converged(struct sim *s)
{
	int first = -1;

	for (unsigned i = 0; i < s->nops; i++) {
		const struct op *o = &s->ops[i];

		if (!o->done && !o->lost && !s->nodes[s->clients[o->client].home].crashed)
			return false;
	}
	for (unsigned r = 0; r < TR_REPLICAS; r++) {
		struct node *n = &s->nodes[r];

		if (n->down_since != UINT64_MAX)
			return false; /* paused, restarting or joining: it comes back */
		if (n->crashed)
			continue; /* the crash-stop: for good */
		if (s->p.disk && !disk_idle(n))
			return false; /* what it applied is not on disk yet */
		for (unsigned c = 0; c < TR_COLUMNS; c++)
			if (atomic_load(&n->rep.shared.applied[c]) != tr_known(&n->rep, c))
				return false;
		if (first < 0) {
			first = (int)r;
			continue;
		}
		for (unsigned c = 0; c < TR_COLUMNS; c++)
			if (atomic_load(&n->rep.shared.applied[c]) !=
			    atomic_load(&s->nodes[first].rep.shared.applied[c]))
				return false;
		if (tr_sm_digest(&n->sm) != tr_sm_digest(&s->nodes[first].sm))
			return false;
	}
	return true;
}

static void
handle(struct sim *s, struct event *e)
{
	struct node *n = &s->nodes[e->replica];
	bool all_up = true;

	switch (e->kind) {
	case EV_DELIVER:
		if (n->crashed && s->p.stale_deliver && n->disk.restart_at != UINT64_MAX &&
		    n->disk.restart_at >= s->now) {
			/* Delayed past the restart (the bad variant's hazard, J0). */
			uint8_t *copy = malloc(e->len);

			memcpy(copy, e->buf, e->len);
			schedule(s, n->disk.restart_at + sim_between(s, 1, 2 * s->p.delay_max_ns),
				 EV_DELIVER, e->replica, e->column, e->data, copy, e->len);
			break;
		}
		if (n->crashed || n->paused || partitioned(s, e->data, e->replica) ||
		    s->deaf_until[e->replica] > s->now || sim_unit(s) < s->loss_recv) {
			s->st.dropped++;
			break;
		}
		sim_recv_frame(s, e->replica, e->buf, e->len);
		break;
	case EV_TICK:
		if (e->t == n->tick_at[e->column])
			n->tick_at[e->column] = UINT64_MAX;
		if (!n->crashed && !n->paused)
			sim_tick_column(s, e->replica, e->column);
		break;
	case EV_CLIENT:
		client_step(s, &s->clients[e->data]);
		break;
	case EV_RESUBMIT:
		resubmit(s, &s->ops[e->data], e->column);
		if (!n->crashed && !n->paused)
			flush(s, e->replica); /* a crashed replica sends nothing */
		break;
	case EV_CRASH:
		/* The one crash-stop hits while every replica is up: one down in
		 * an episode (paused, restarting, catching up) would stay down for
		 * good, and (e) would wait for it. */
		for (unsigned r = 0; r < TR_REPLICAS; r++)
			all_up &= node_up(s, r);
		if (s->crashed < 0 && !all_up) {
			schedule(s, s->now + 1000000, EV_CRASH, e->replica, 0, 0, NULL, 0);
		} else if (s->crashed < 0) {
			s->crashed = e->replica;
			n->crashed = true;
			down_record(s, e->replica); /* (g): down for good; with another, no progress */
			node_mark_lost(s, e->replica);
			sim_trace(s, "crash replica %u", e->replica);
		}
		break;
	case EV_FAULT:
	case EV_RESUME:
	case EV_HEAR:
	case EV_RESTART:
	case EV_SNAPSHOT:
	case EV_REBOOT:
	case EV_SYNC:
	case EV_DISK_RESTART:
		fault_event(s, e);
		break;
	case EV_PARTITION:
		if (s->healed)
			break;
		if (sim_unit(s) < s->p.partition) {
			unsigned victim = (unsigned)sim_between(s, 0, TR_REPLICAS - 1);

			s->isolated_until[victim] = s->now + sim_between(s, 1000000, 20000000);
			sim_trace(s, "isolate replica %u until %" PRIu64, victim,
				  s->isolated_until[victim]);
		}
		schedule(s, s->now + 10000000, EV_PARTITION, 0, 0, 0, NULL, 0);
		break;
	case EV_HEAL:
		s->healed = true;
		s->heal_ns = s->now;
		s->loss_send = s->loss_recv = s->dup = 0;
		for (unsigned r = 0; r < TR_REPLICAS; r++)
			s->isolated_until[r] = 0;
		sim_trace(s, "heal");
		schedule(s, s->now + 1000000, EV_CHECK, 0, 0, 0, NULL, 0);
		break;
	case EV_CHECK:
		if (converged(s)) {
			s->converged = true;
			break;
		}
		if (s->now - s->heal_ns > s->p.converge_ns) {
			sim_violation_add(s, "(e) no convergence within %" PRIu64 " ms after healing",
					  s->p.converge_ns / 1000000);
			s->converged = true; /* stop */
			break;
		}
		schedule(s, s->now + 1000000, EV_CHECK, 0, 0, 0, NULL, 0);
		break;
	}
}

unsigned
sim_run(struct sim *s)
{
	const uint64_t events_max = 400ull * s->p.ops + 1000000;

	for (unsigned r = 0; r < TR_REPLICAS; r++)
		for (unsigned c = 0; c < TR_COLUMNS; c++) {
			s->nodes[r].tick_at[c] = 0;
			schedule(s, 0, EV_TICK, (uint8_t)r, (uint8_t)c, 0, NULL, 0);
		}
	for (unsigned i = 0; i < s->nclients; i++)
		client_wake(s, &s->clients[i], sim_between(s, 0, 100000));
	if (s->p.partition > 0)
		schedule(s, 10000000, EV_PARTITION, 0, 0, 0, NULL, 0);
	if (s->p.ops == 0)
		schedule(s, 0, EV_HEAL, 0, 0, 0, NULL, 0);

	while (s->ev_len > 0 && !s->converged && s->nviolations == 0) {
		struct event e = ev_pop(s);

		s->now = e.t;
		s->st.events++;
		handle(s, &e);
		free(e.buf);
		if (s->st.events > events_max) {
			sim_violation_add(s, "event budget exhausted (livelock?)");
			break;
		}
	}
	if (s->nviolations == 0 && !s->converged)
		sim_violation_add(s, "(e) the run stopped before converging");
	sim_check(s, true);
	return s->nviolations;
}

void
sim_stats(const struct sim *s, struct sim_stats *out)
{
	*out = s->st;
	out->sim_ns = s->now;
	out->crashed = s->crashed;
	out->ops_unknown = 0;
	for (unsigned i = 0; i < s->nops; i++)
		out->ops_unknown += !s->ops[i].done;
	out->retries = out->recoveries = out->fetches = out->read_barriers = out->paced = 0;
	out->pace_slowed = 0;
	for (unsigned r = 0; r < TR_REPLICAS; r++)
		if (s->nodes[r].sm.clients_evicted > out->clients_evicted)
			out->clients_evicted = s->nodes[r].sm.clients_evicted;
	for (unsigned r = 0; r < TR_REPLICAS; r++)
		for (unsigned c = 0; c < TR_COLUMNS; c++) {
			const struct tr_column_stats *cs = &s->nodes[r].rep.col[c].stats;

			out->retries += cs->retries;
			out->recoveries += cs->recoveries;
			out->fetches += cs->fetches;
			out->read_barriers += cs->read_barriers;
			out->paced += cs->paced;
			out->pace_slowed += cs->pace_slowed;
		}
}

struct tr_replica *
sim_replica(struct sim *s, unsigned id)
{
	return &s->nodes[id].rep;
}

void
sim_set_time(struct sim *s, uint64_t now_ns)
{
	s->now = now_ns;
}

void
sim_tick_replica(struct sim *s, unsigned replica)
{
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		if (!s->nodes[replica].crashed)
			sim_tick_column(s, replica, c);
}

void
sim_tick(struct sim *s)
{
	for (unsigned r = 0; r < TR_REPLICAS; r++)
		sim_tick_replica(s, r);
}

bool
sim_op_done(const struct sim *s, int op)
{
	return s->ops[op].done;
}

uint8_t
sim_op_status(const struct sim *s, int op)
{
	return s->ops[op].status;
}

const char *
sim_op_out(const struct sim *s, int op)
{
	return s->ops[op].done && !s->ops[op].out_null ? s->ops[op].out : NULL;
}

void
sim_crash(struct sim *s, unsigned replica)
{
	s->nodes[replica].crashed = true;
	node_mark_lost(s, replica);
	if (s->crashed < 0)
		s->crashed = (int)replica;
	sim_trace(s, "crash replica %u", replica);
}
