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
		o->sum.deafs += st.deafs;
		o->sum.deaf_asks += st.deaf_asks;
		o->sum.deaf_paced += st.deaf_paced;
		o->sum.snapshots += st.snapshots;
		o->sum.ops_done += st.ops_done;
		o->sum.transfers_cut += st.transfers_cut;
		o->sum.paced += st.paced;
		o->sum.pace_slowed += st.pace_slowed;
		o->sum.crash_disks += st.crash_disks;
		o->sum.power_losses += st.power_losses;
		o->sum.wipes += st.wipes;
		o->sum.memory_stops += st.memory_stops;
		o->sum.disk_restarts += st.disk_restarts;
		o->sum.torn_tails += st.torn_tails;
		o->sum.damaged += st.damaged;
		o->sum.lost_disks += st.lost_disks;
		o->sum.full_writes += st.full_writes;
		o->sum.clients_evicted += st.clients_evicted;
		o->sum.restore_refused += st.restore_refused;
		o->sum.ops_after_power += st.ops_after_power;
		sim_free(s);
		if (stop_at_first && o->failed > 0)
			return;
	}
}

#endif
