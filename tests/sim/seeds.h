/* Runs the simulator over a range of seeds, for Criterion tests: the first
 * violation and the §12 counters summed over the seeds. */
#ifndef TR_SIM_SEEDS_H
#define TR_SIM_SEEDS_H

#include <stdio.h>
#include <string.h>

#include "sim.h"

struct seeds_outcome {
	unsigned failed;       /* seeds with a violation */
	unsigned first;        /* the first failing seed (0: none) */
	char why[512];
	struct sim_stats sum;  /* §12 counters over all seeds */
};

/* Runs seeds first..first+count-1 with p (p->seed is overwritten); stops at
 * the first failure when stop_at_first. */
static inline void
seeds_run(struct sim_params *p, uint64_t first, unsigned count, bool stop_at_first,
	  struct seeds_outcome *o)
{
	memset(o, 0, sizeof(*o));
	for (uint64_t seed = first; seed < first + count; seed++) {
		struct sim_stats st;
		struct sim *s;

		p->seed = seed;
		s = sim_new(p);
		if (sim_run(s) > 0 && o->failed++ == 0) {
			o->first = (unsigned)seed;
			snprintf(o->why, sizeof(o->why), "%s", sim_violation(s));
		}
		sim_stats(s, &st);
		o->sum.pauses += st.pauses;
		o->sum.restarts += st.restarts;
		o->sum.snapshots += st.snapshots;
		o->sum.ops_done += st.ops_done;
		o->sum.transfers_cut += st.transfers_cut;
		sim_free(s);
		if (stop_at_first && o->failed > 0)
			return;
	}
}

#endif
