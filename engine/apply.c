/* SPDX-License-Identifier: MIT
 * The applier: committed instances to the state machine in §7 order, the
 * completions P5 acknowledges, and the barrier reads Q3 answers.
 */
#include "internal.h"

/* P5: commands to complete, cmds[first..end), of one instance from its
 * command index on. */
struct gather_seg {
	uint64_t lsn;
	uint16_t index;
	uint8_t column;
	uint8_t first, end;
};

/* The commands of consecutive instances, in §7 order, gathered for one
 * tr_sm_apply_batch: the state machine sees the same sequence in fewer
 * calls. Until the flush, the instances' applied[] stay unpublished (their
 * slots are not recycled under cmds) and nothing else reads the state
 * machine: the reads (Q3) and an applied callback come after a flush. */
struct gather {
	unsigned n;
	unsigned nseg;
	unsigned moved;                /* columns whose applied[] waits */
	uint64_t applied[TR_COLUMNS];  /* ... and its value */
	struct tr_cmd cmds[TR_SM_BATCH_MAX];
	struct tr_sm_result res[TR_SM_BATCH_MAX];
	struct gather_seg seg[TR_SM_BATCH_MAX];
};

/* Applies what is gathered, publishes applied[], then completes it (P5).
 * A completion may read applied[] as what its answer reveals (the
 * runtime's S1 frontier): it covers the whole batch, never less. */
static void
gather_flush(struct tr_applier *a, struct gather *g)
{
	struct tr_replica *r = a->rep;

	if (g->n > 0)
		tr_sm_apply_batch(a->sm, g->cmds, g->n, g->res);
	/* The slots' commands are spent: their cells may be recycled now. */
	for (unsigned c = 0; g->moved != 0; c++)
		if (g->moved & (1u << c)) {
			atomic_store_explicit(&r->shared.applied[c], g->applied[c],
					      memory_order_release);
			g->moved &= ~(1u << c);
		}
	for (unsigned j = 0; j < g->nseg; j++)
		for (unsigned k = g->seg[j].first; k < g->seg[j].end; k++) {
			struct tr_completion done = {
				.client_id = g->cmds[k].client_id,
				.seq = g->cmds[k].seq,
				.op = g->cmds[k].op,
				.res = g->res[k],
				.column = g->seg[j].column,
				.lsn = g->seg[j].lsn,
				.index = (uint16_t)(g->seg[j].index + k - g->seg[j].first),
			};

			a->complete(a->ctx, &done);
		}
	g->n = 0;
	g->nseg = 0;
}

/* Gathers an instance's commands; a read ends its batch, so that its value
 * is still valid when it is completed, and a part has one of its own (the
 * large command's whole it may complete is then the state machine's only
 * call: a result's val lasts until the next). */
static void
apply_instance(struct tr_applier *a, struct gather *g, unsigned column, uint64_t lsn,
	       const struct tr_value *v)
{
	uint8_t me = a->rep->cfg.id;
	/* P5: this replica's own commands are acknowledged when applied. */
	bool report = column == me && v->proposer == me && a->complete != NULL;
	const uint8_t *p = v->cmds;
	uint16_t i = 0, count = v->cmd_count;

	while (i < count) {
		unsigned n = g->n;
		bool ends;

		do {
			if (p[0] == TR_OP_PART && n > 0) {
				ends = true; /* its batch first */
				break;
			}
			/* validated when it entered the replica (wire, disk, submit) */
			p += tr_cmd_read(p, &g->cmds[n]);
			ends = tr_op_is_read(g->cmds[n].op) || g->cmds[n].op == TR_OP_PART ||
			       n + 1 == TR_SM_BATCH_MAX;
			n++;
			i++;
		} while (!ends && i < count);
		if (report && n > g->n)
			g->seg[g->nseg++] = (struct gather_seg){.lsn = lsn,
							     .index = (uint16_t)(i - (n - g->n)),
							     .column = (uint8_t)column,
							     .first = (uint8_t)g->n, .end = (uint8_t)n};
		g->n = n;
		if (ends)
			gather_flush(a, g);
	}
	assert(p <= v->cmds + v->cmds_len);
	if (a->applied != NULL) {
		/* Applied, its slot still held (its applied[] not moved yet). */
		gather_flush(a, g);
		a->applied(a->ctx, column, lsn, v);
	}
	g->applied[column] = lsn + 1;
	g->moved |= 1u << column;
}

/* Q3: answers the reads of each batch, in order, once applied[c] >= K[c]
 * for every column (acquire on read_tail: the batch the owner column wrote;
 * release on read_head: its memory back to the owner column). */
static void
answer_batches(struct tr_applier *a, uint64_t head)
{
	struct tr_replica *r = a->rep;

	while (head != atomic_load_explicit(&r->shared.read_tail, memory_order_acquire)) {
		const struct tr_read_batch *b = &r->shared.read_batches[head % r->cfg.read_batches_max];
		size_t off = 0;

		for (unsigned c = 0; c < TR_COLUMNS; c++)
			if (atomic_load_explicit(&r->shared.applied[c], memory_order_relaxed) < b->k[c])
				return;
		for (uint32_t i = 0; i < b->count;) {
			struct tr_cmd cmds[TR_SM_BATCH_MAX];
			struct tr_sm_result res[TR_SM_BATCH_MAX];
			unsigned n = 0;

			while (n < TR_SM_BATCH_MAX && i + n < b->count) {
				int rc = tr_cmd_decode(b->cmds, b->len, &off, &cmds[n]);

				assert(rc == 0 && tr_op_is_read(cmds[n].op)); /* by tr_column_read */
				(void)rc;
				n++;
			}
			tr_sm_read_batch(a->sm, cmds, n, res); /* nothing written meanwhile */
			for (unsigned k = 0; a->complete != NULL && k < n; k++) {
				struct tr_completion done = {
					.client_id = cmds[k].client_id,
					.seq = cmds[k].seq,
					.op = cmds[k].op,
					.res = res[k],
					.column = r->cfg.id,
					.lsn = TR_LSN_BARRIER,
					.index = (uint16_t)(i + k),
				};

				a->complete(a->ctx, &done);
			}
			i += n;
		}
		head++;
		atomic_store_explicit(&r->shared.read_head, head, memory_order_release);
	}
}

/* Q3, with the common case (no batch handed over) inline; what is
 * gathered applied first. */
static inline void
answer_reads(struct tr_applier *a, struct gather *g)
{
	struct tr_replica *r = a->rep;
	uint64_t head = atomic_load_explicit(&r->shared.read_head, memory_order_relaxed);

	if (head != atomic_load_explicit(&r->shared.read_tail, memory_order_acquire)) {
		gather_flush(a, g);
		answer_batches(a, head);
	}
}

unsigned
tr_apply(struct tr_applier *a, unsigned max)
{
	struct tr_replica *r = a->rep;
	const struct tr_slot *slot[TR_COLUMNS] = {NULL};
	uint64_t applied[TR_COLUMNS];
	unsigned done = 0, committed = 0;
	struct gather g;

	if (atomic_load_explicit(&r->shared.violation, memory_order_relaxed))
		return 0;
	g.n = 0;
	g.nseg = 0;
	g.moved = 0;
	/* Only the applier moves applied[]: read once, kept here. */
#pragma GCC unroll 3
	for (unsigned c = 0; c < TR_COLUMNS; c++)
		applied[c] = atomic_load_explicit(&r->shared.applied[c], memory_order_relaxed);
	while (done < max) {
		unsigned dep[TR_COLUMNS];
		int col;

		answer_reads(a, &g); /* Q3 */
		/* §7: the heads, and what each committed one depends on. A
		 * committed head stays as found (C1) until it is applied; one
		 * that was not is looked at again (another thread commits). */
#pragma GCC unroll 3
		for (unsigned c = 0; c < TR_COLUMNS; c++) {
			if (!(committed & (1u << c))) {
				const struct tr_slot *s = slot_find(&r->col[c], applied[c]);

				if (s != NULL && atomic_load_explicit(&s->committed,
								      memory_order_acquire) ==
							 applied[c] + 1) {
					slot[c] = s;
					committed |= 1u << c;
				}
			}
			dep[c] = committed & (1u << c) ? order_deps(slot[c]->value.deps, c, applied)
						       : 0;
		}
		col = order_pick(dep, committed, &a->blocked);
		if (col < 0)
			break;
		apply_instance(a, &g, (unsigned)col, applied[col]++, &slot[col]->value);
		committed &= ~(1u << col); /* its next head */
		done++;
	}
	gather_flush(a, &g);
	answer_reads(a, &g); /* Q3, also when nothing was left to apply */
	return done;
}
