/* The read barrier (PROTOCOL §8, Q1-Q3) through the simulator's network,
 * driven by hand: schedules that only the barrier's rules get right. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "manual.h"

static void
settle(struct sim *s)
{
	for (int guard = 0; sim_held(s) > 0 && guard < 100000; guard++)
		sim_deliver(s, 0);
}

/* Runs time forward in steps of 1 ms, delivering everything, until op is
 * done or rounds run out; returns whether it is done. */
static bool
run_until_done(struct sim *s, uint64_t *now, int op, int rounds)
{
	for (int i = 0; i < rounds && !sim_op_done(s, op); i++) {
		settle(s);
		*now += 1000000;
		sim_set_time(s, *now);
		sim_tick(s);
	}
	settle(s);
	return sim_op_done(s, op);
}

/* Q2: R1 asks R2, which answers with a slot of its own nobody else knows
 * (its ACCEPT was lost), then crashes. The read's K covers that slot: R1 must
 * learn of it from the merge, recover it (R1: a NOOP, nobody voted), apply it,
 * and answer. Without the merge nothing ever starts R1's timer for it. */
static bool
crashed_owner_schedule(uint32_t variant)
{
	struct sim *s = manual_sim(variant);
	uint64_t now = 1000;
	int w, r;
	bool done;

	sim_set_time(s, now);
	w = sim_submit(s, 2, TR_OP_SET, "x", "c0");
	drop(s, TR_MSG_ACCEPT, -1, -1, -1); /* c0 exists only at R2 */
	r = sim_read(s, 1, "x", SIM_READ_BARRIER);
	deliver(s, TR_MSG_READ_INDEX, 1, 2, 1);
	sim_crash(s, 2);
	cr_assert_eq(tr_known(sim_replica(s, 1), 2), 0);
	deliver(s, TR_MSG_READ_INDEX_REPLY, 2, 1, 1);
	done = run_until_done(s, &now, r, 300);
	if (done) {
		cr_assert_eq(tr_known(sim_replica(s, 1), 2), 1, "Q2: R2's slot merged");
		cr_assert_null(sim_op_out(s, r), "c0 was recovered as a NOOP");
		cr_assert(!sim_op_done(s, w), "R2 crashed before acknowledging");
		cr_assert_eq(sim_check(s, true), 0, "%s", sim_violation(s));
	}
	sim_free(s);
	return done;
}

Test(reads, q2_merge_recovers_a_slot_only_the_crashed_peer_knew, .timeout = 30)
{
	cr_assert(crashed_owner_schedule(0), "the read was never answered");
}

Test(reads, without_the_merge_the_read_waits_forever, .timeout = 30)
{
	cr_assert_not(crashed_owner_schedule(TR_VARIANT_READ_NO_MERGE),
		      "known-bad READ_NO_MERGE answered: the schedule lost its point");
}

/* Q1: R0's first read sends READ_INDEX to R1, which answers before it has
 * seen a write W that R2 then commits with R1 and acknowledges. A second read
 * at R0, invoked after W was acknowledged (and before the first barrier timed
 * out), must not use that answer: it waits for the next barrier, whose K
 * covers W. Returns the second read's value. */
static const char *
early_answer_schedule(uint32_t variant, char *buf, size_t len)
{
	struct sim *s = manual_sim(variant);
	uint64_t now = 1000;
	const char *out;
	int r1, r2, w;

	sim_set_time(s, now);
	/* R2 hears R1 on column 2, so that W's ACCEPT goes to R1 (P6). */
	sim_tick_replica(s, 1);
	deliver(s, TR_MSG_STATUS, 1, 2, 2);
	drop(s, -1, -1, -1, -1);
	r1 = sim_read(s, 0, "x", SIM_READ_BARRIER);
	deliver(s, TR_MSG_READ_INDEX, 0, 1, 0); /* R1's known, captured now */
	w = sim_submit(s, 2, TR_OP_SET, "x", "w");
	deliver(s, TR_MSG_ACCEPT, 2, 1, 2);
	deliver(s, TR_MSG_ACCEPT_REPLY, 1, 2, 2);
	cr_assert(sim_op_done(s, w), "W acknowledged (applied on R2)");
	/* R0 hears nothing of W before R1's old answer. */
	cr_assert_eq(sim_find(s, -1, -1, 0, -1, -1),
		     sim_find(s, TR_MSG_READ_INDEX_REPLY, 1, 0, 0, -1));
	now += 1000;
	sim_set_time(s, now);
	r2 = sim_read(s, 0, "x", SIM_READ_BARRIER);
	deliver(s, TR_MSG_READ_INDEX_REPLY, 1, 0, 0);
	cr_assert(sim_op_done(s, r1));
	cr_assert_null(sim_op_out(s, r1), "r1 was invoked before W");
	cr_assert(run_until_done(s, &now, r2, 300));
	out = sim_op_out(s, r2);
	snprintf(buf, len, "%s", out != NULL ? out : "(absent)");
	if (variant == 0)
		cr_assert_eq(sim_check(s, true), 0, "%s", sim_violation(s));
	else
		cr_assert_gt(sim_check(s, true), 0, "the checker must flag r2");
	sim_free(s);
	return buf;
}

Test(reads, a_read_taken_after_the_send_waits_for_the_next_barrier, .timeout = 30)
{
	char buf[32];

	cr_assert_str_eq(early_answer_schedule(0, buf, sizeof(buf)), "w");
}

Test(reads, sharing_an_earlier_barrier_misses_the_write, .timeout = 30)
{
	char buf[32];

	cr_assert_str_eq(early_answer_schedule(TR_VARIANT_READ_SHARE_EARLY, buf, sizeof(buf)),
			 "(absent)", "known-bad READ_SHARE_EARLY must answer from the old K");
}
