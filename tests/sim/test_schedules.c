/* PROTOCOL §10: the two schedules that broke real-time order in the
 * reference, driven by hand through the simulator's network. Every replica
 * must apply the earlier-acknowledged write first. */
#include <criterion/criterion.h>
#include <string.h>

#include "sim.h"

static struct sim *
manual_sim(void)
{
	struct sim_params p;

	sim_params_default(&p);
	p.manual = true;
	p.clients = 1;
	p.ops = 0;
	return sim_new(&p);
}

static void
deliver(struct sim *s, int type, int from, int to, int column, int64_t lsn)
{
	int i = sim_find(s, type, from, to, column, lsn);

	cr_assert(i >= 0, "no held message type %d %d->%d col %d lsn %lld", type, from, to, column,
		  (long long)lsn);
	sim_deliver(s, (unsigned)i);
}

/* Delivers everything held, dropping what matches (column, lsn) when drop. */
static void
settle(struct sim *s, bool drop, int column, int64_t lsn)
{
	for (int guard = 0; sim_held(s) > 0 && guard < 10000; guard++) {
		const struct tr_msg *m = sim_held_msg(s, 0);

		if (drop && m->column == column && (int64_t)m->lsn == lsn &&
		    m->type != TR_MSG_STATUS && m->type != TR_MSG_FETCH)
			sim_drop(s, 0);
		else
			sim_deliver(s, 0);
	}
}

/* Position of "x<n>" in an apply order string, or -1. */
static int
position(const char *order, const char *inst)
{
	const char *p = order;
	int pos = 0;
	size_t n = strlen(inst);

	while (*p) {
		if (strncmp(p, inst, n) == 0 && (p[n] == ' ' || p[n] == 0))
			return pos;
		while (*p && *p != ' ')
			p++;
		while (*p == ' ')
			p++;
		pos++;
	}
	return -1;
}

Test(schedules, acknowledged_too_early, .timeout = 30)
{
	struct sim *s = manual_sim();
	uint64_t now = 0;
	int w0, w1, wa;

	/* R1 proposes b0 and b1 concurrently; b0's messages are lost. */
	w0 = sim_submit(s, 1, TR_OP_SET, "x", "first");
	w1 = sim_submit(s, 1, TR_OP_SET, "y", "second");
	for (int round = 0; round < 20; round++) {
		settle(s, true, 1, 0);
		cr_assert(!sim_op_done(s, w1), "P5: b1 must not be acknowledged before b0 is applied");
		now += 100000; /* below any recovery timeout */
		sim_set_time(s, now);
		sim_tick(s);
	}
	cr_assert(!sim_op_done(s, w0));
	/* b0 gets through; b1 is acknowledged only now. */
	for (int round = 0; round < 200 && !sim_op_done(s, w1); round++) {
		settle(s, false, 0, 0);
		now += 1000000;
		sim_set_time(s, now);
		sim_tick(s);
	}
	cr_assert(sim_op_done(s, w0) && sim_op_done(s, w1));
	/* A client then writes a0 at R0: it must come after b1 everywhere. */
	wa = sim_submit(s, 0, TR_OP_SET, "z", "third");
	for (int round = 0; round < 200; round++) {
		settle(s, false, 0, 0);
		now += 1000000;
		sim_set_time(s, now);
		sim_tick(s);
	}
	cr_assert(sim_op_done(s, wa));
	for (unsigned r = 0; r < 3; r++) {
		const char *order = sim_apply_order(s, r);

		cr_assert(position(order, "b1") >= 0 && position(order, "a0") > position(order, "b1"),
			  "replica %u applied: %s", r, order);
	}
	cr_assert_eq(sim_check(s, true), 0, "%s", sim_violation(s));
	sim_free(s);
}

Test(schedules, deps_without_the_closure, .timeout = 30)
{
	struct sim *s = manual_sim();
	uint64_t now = 0;
	struct tr_replica *r1 = sim_replica(s, 1);

	/* c0 proposed at R2 (its ACCEPT to R0 held back for now). */
	sim_submit(s, 2, TR_OP_SET, "c", "c0");
	/* b0 at R1, accepted by R2 which holds c0: b0 = [0,1,1]. */
	sim_submit(s, 1, TR_OP_SET, "b", "b0");
	deliver(s, TR_MSG_ACCEPT, 1, 2, 1, 0);
	deliver(s, TR_MSG_ACCEPT_REPLY, 2, 1, 1, 0);
	cr_assert_eq(tr_known(r1, 2), 1, "D1: R1 knows c0 through b0's deps");
	/* a0 at R0 with acceptor R1: the closure gives a0 = [1,1,1]. */
	sim_submit(s, 0, TR_OP_SET, "a", "a0");
	deliver(s, TR_MSG_ACCEPT, 0, 1, 0, 0);
	deliver(s, TR_MSG_ACCEPT_REPLY, 1, 0, 0, 0);
	{
		const struct tr_slot *a0 = tr_column_slot(&sim_replica(s, 0)->col[0], 0);

		cr_assert(a0 != NULL && atomic_load(&a0->committed) == 1);
		cr_assert_eq(a0->value.deps[1], 1);
		cr_assert_eq(a0->value.deps[2], 1, "with D1, a0 sees c0 through b0");
	}
	/* c0's acceptor capture at R0 now sees a0. */
	deliver(s, TR_MSG_ACCEPT, 2, 0, 2, 0);
	for (int round = 0; round < 200; round++) {
		settle(s, false, 0, 0);
		now += 1000000;
		sim_set_time(s, now);
		sim_tick(s);
	}
	for (unsigned r = 0; r < 3; r++) {
		const char *order = sim_apply_order(s, r);

		cr_assert(position(order, "b0") >= 0 && position(order, "a0") > position(order, "b0"),
			  "replica %u applied: %s (b0 was committed before a0 existed)", r, order);
	}
	cr_assert_eq(sim_check(s, true), 0, "%s", sim_violation(s));
	sim_free(s);
}
