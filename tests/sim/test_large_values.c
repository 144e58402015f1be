/* Issue 16 in the simulator: a share of the sets carry values of a few KiB,
 * cut by the client into TR_OP_PART writes (the sim's 512-byte batches hold
 * a part, never a whole) that it drips alone in its window; one history op
 * each. Through loss, duplication, client retries, restarts without memory
 * (joins, snapshots: T1), pauses past the ring and crashes from disk, the
 * checkers hold: one order, every acknowledged write applied, reads that
 * see whole values, equal digests (stages included). And their teeth: the
 * completing part's answer lost, or stages left out of snapshots. */
#include <criterion/criterion.h>

#include <inttypes.h>

#include "seeds.h"

static void
large_params(struct sim_params *p)
{
	sim_params_default(p);
	p->ops = 600;
	p->large_ratio = 0.3;
	p->loss_send = p->loss_recv = 0.1;
	p->dup = 0.05;
	p->slow = 0.2;
	p->log_slots = 64;
	p->read_mix[SIM_READ_BARRIER] = 0.5;
	p->read_mix[SIM_READ_LOG] = 0.3;
	p->read_mix[SIM_READ_LOCAL] = 0.2;
}

static void
assert_runs(struct sim_params *p, const char *what, uint64_t first, unsigned count)
{
	struct seeds_outcome o;
	uint64_t large = 0, reads = 0;

	memset(&o, 0, sizeof(o));
	for (uint64_t seed = first; seed < first + count; seed++) {
		struct sim_stats st;
		struct sim *s;

		p->seed = seed;
		s = sim_new(p);
		cr_assert_eq(sim_run(s), 0, "%s, seed %" PRIu64 ": %s", what, seed, sim_violation(s));
		sim_stats(s, &st);
		large += st.large_sets;
		reads += st.large_reads;
		o.sum.snapshots += st.snapshots;
		o.sum.restarts += st.restarts;
		o.sum.disk_restarts += st.disk_restarts;
		sim_free(s);
	}
	cr_assert_gt(large, 20 * count, "%s: large sets acknowledged", what);
	cr_assert_gt(reads, 5 * count, "%s: large values read", what);
	cr_log_info("%s: %u seeds, %" PRIu64 " large sets, %" PRIu64 " large reads, %" PRIu64
		    " snapshots, %" PRIu64 " restarts, %" PRIu64 " from disk", what, count, large,
		    reads, o.sum.snapshots, o.sum.restarts, o.sum.disk_restarts);
}

Test(large_values, restarts_joins_and_snapshots, .timeout = 120)
{
	struct sim_params p;

	large_params(&p);
	p.restarts = 3;
	p.down_min_ns = 2000000;
	p.down_max_ns = 30000000;
	assert_runs(&p, "restarts", 160001, 60);
}

Test(large_values, pauses_past_the_ring, .timeout = 120)
{
	struct sim_params p;

	large_params(&p);
	p.pauses = 2;
	p.down_min_ns = 100000000;
	p.down_max_ns = 400000000;
	assert_runs(&p, "pauses", 170001, 100);
}

Test(large_values, crashes_from_disk, .timeout = 120)
{
	struct sim_params p;

	large_params(&p);
	p.disk = true;
	p.crash_disks = 3;
	p.power_losses = 1;
	p.corrupt = 0.3;
	assert_runs(&p, "disk", 180001, 40);
}

/* The checkers' teeth: each bug fails some of the seeds above. */
static unsigned
failing(struct sim_params *p, uint64_t first, unsigned count, char *why, size_t why_len)
{
	struct seeds_outcome o;

	seeds_run(p, first, count, true, &o);
	snprintf(why, why_len, "%s", o.why);
	return o.failed;
}

Test(large_values, a_lost_completing_answer_is_caught, .timeout = 120)
{
	struct sim_params p;
	char why[512];

	large_params(&p);
	p.large_drop_result = true;
	cr_assert_gt(failing(&p, 190001, 5, why, sizeof(why)), 0, "not caught");
	cr_assert(strstr(why, "(e)") != NULL || strstr(why, "livelock") != NULL, "%s", why);
	cr_log_info("caught: %s", why);
}

Test(large_values, stages_left_out_of_snapshots_are_caught, .timeout = 120)
{
	struct sim_params p;
	char why[512];

	large_params(&p);
	p.pauses = 2;
	p.down_min_ns = 100000000;
	p.down_max_ns = 400000000;
	p.large_snap_no_stages = true;
	cr_assert_gt(failing(&p, 170001, 40, why, sizeof(why)), 0, "not caught in 40 seeds");
	cr_assert(strstr(why, "(e)") != NULL || strstr(why, "(f)") != NULL, "%s", why);
	cr_log_info("caught: %s", why);
}
