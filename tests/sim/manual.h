/* Helpers of the hand-driven schedules (the simulator's manual mode, sim.h),
 * for Criterion tests. */
#ifndef TR_SIM_MANUAL_H
#define TR_SIM_MANUAL_H

#include <criterion/criterion.h>

#include "sim.h"

/* A simulator in manual mode, no clients of its own, with this variant. */
static inline struct sim *
manual_sim(uint32_t variant)
{
	struct sim_params p;

	sim_params_default(&p);
	p.manual = true;
	p.clients = 1;
	p.ops = 0;
	p.variant = variant;
	return sim_new(&p);
}

/* Delivers the oldest held message matching (type, from, to, column), which
 * must exist; returns a copy of it. */
static inline const struct tr_msg *
deliver(struct sim *s, int type, int from, int to, int column)
{
	static struct tr_msg copy;
	int i = sim_find(s, type, from, to, column, -1);

	cr_assert(i >= 0, "no held message type %d %d->%d col %d", type, from, to, column);
	copy = *sim_held_msg(s, (unsigned)i);
	sim_deliver(s, (unsigned)i);
	return &copy;
}

/* Drops every held message matching (type, from, to, column); -1: any. */
static inline void
drop(struct sim *s, int type, int from, int to, int column)
{
	for (int i; (i = sim_find(s, type, from, to, column, -1)) >= 0;)
		sim_drop(s, (unsigned)i);
}

/* Delivers everything (except what lost() says is lost) and runs every
 * replica's timers, 1 ms at a time, for rounds milliseconds. */
static inline void
manual_run(struct sim *s, uint64_t *now, int rounds, bool (*lost)(const struct tr_msg *))
{
	for (int r = 0; r < rounds; r++) {
		for (int guard = 0; sim_held(s) > 0 && guard < 100000; guard++) {
			if (lost != NULL && lost(sim_held_msg(s, 0)))
				sim_drop(s, 0);
			else
				sim_deliver(s, 0);
		}
		*now += 1000000;
		sim_set_time(s, *now);
		sim_tick(s);
	}
}

#endif
