/* PROTOCOL §12 J, driven by hand: a value chosen by a replica and its old
 * self, which then restarts without memory. The joiner must neither vote
 * where its old self may have voted (J2) nor recover its old own slots
 * itself (J3); each schedule commits a second value when the rule is bent. */
#include <string.h>

#include "manual.h"

static void
drop_all(struct sim *s)
{
	drop(s, -1, -1, -1, -1);
}

/* Replica 0 is cut off: what goes to it or comes from it is lost. */
static bool
r0_cut_off(const struct tr_msg *m)
{
	return m->from == 0 || m->to == 0;
}

/* The joiner's JOIN to both peers, and their answers. */
static void
join(struct sim *s, unsigned joiner)
{
	sim_tick_replica(s, joiner);
	for (unsigned q = 0; q < 3; q++)
		if (q != joiner)
			deliver(s, TR_MSG_JOIN, (int)joiner, (int)q, (int)joiner);
	for (unsigned q = 0; q < 3; q++)
		if (q != joiner)
			deliver(s, TR_MSG_JOIN_REPLY, (int)q, (int)joiner, (int)joiner);
	cr_assert_eq(atomic_load(&sim_replica(s, joiner)->shared.join_state), TR_JOIN_JOINED);
	cr_assert_eq(tr_replica_inc(sim_replica(s, joiner)), 2, "J0: the peers saw 1; +1");
}

/* J2. R0 writes a0 = v; R2 votes it, R0 votes on the reply: chosen by {R0,
 * R2}; the COMMITs are lost. R2 restarts without memory and joins. R0 is cut
 * off; R1 learns of a0 from a read barrier answered by R2 and recovers it
 * with a NOOP, shipped to R2. Returns the number of violations. */
static unsigned
votes_at_once_schedule(uint32_t variant, bool *a0_chosen_v)
{
	struct sim *s = manual_sim(variant);
	uint64_t now = 1000;
	unsigned bad;
	int w;

	sim_set_time(s, now);
	sim_tick_replica(s, 2); /* R0 hears R2 first: a0's ACCEPT goes to R2 (P6) */
	deliver(s, TR_MSG_STATUS, 2, 0, 0);
	drop_all(s);
	w = sim_submit(s, 0, TR_OP_SET, "x", "v");
	deliver(s, TR_MSG_ACCEPT, 0, 2, 0);
	deliver(s, TR_MSG_ACCEPT_REPLY, 2, 0, 0);
	cr_assert(sim_op_done(s, w), "a0 chosen and applied on R0");
	drop_all(s); /* its COMMITs are lost */
	sim_crash(s, 2);
	sim_restart(s, 2);
	join(s, 2);
	sim_read(s, 1, "x", SIM_READ_BARRIER);
	manual_run(s, &now, 200, r0_cut_off);
	bad = sim_check(s, false);
	if (variant == 0)
		cr_assert_gt(sim_replica(s, 2)->col[0].stats.join_refused, 0,
			     "R1's recovery of a0 reached the joiner, which refused it");
	if (bad == 0) {
		/* Healed: R1 learns a0 from R0, which holds it committed. */
		manual_run(s, &now, 200, NULL);
		bad = sim_check(s, true);
		*a0_chosen_v = bad == 0 && sim_op_done(s, w);
	}
	sim_free(s);
	return bad;
}

Test(join, j2_a_joiner_refuses_where_its_old_self_voted, .timeout = 60)
{
	bool ok = false;

	cr_assert_eq(votes_at_once_schedule(0, &ok), 0);
	cr_assert(ok, "a0 kept its value everywhere once R0 came back");
}

Test(join, j2_bent_the_joiner_votes_at_once_and_a0_gets_two_values, .timeout = 60)
{
	bool ok;

	cr_assert_gt(votes_at_once_schedule(TR_VARIANT_JOIN_VOTES_AT_ONCE, &ok), 0,
		     "known-bad JOIN_VOTES_AT_ONCE went unnoticed: the schedule lost its point");
}

/* J3. R2 writes c0 = v; R0 votes it, R2 votes on the reply: chosen by {R0,
 * R2}; the COMMITs are lost. R2 restarts without memory and joins, and R0 is
 * cut off. Its peers may recover c0 (J3), between themselves: with R0 away,
 * nothing is decided. A joiner that recovers c0 itself, with R1, decides a
 * NOOP: a second value for c0. */
static unsigned
recovers_own_schedule(uint32_t variant, bool *c0_kept_v)
{
	struct sim *s = manual_sim(variant);
	uint64_t now = 1000;
	unsigned bad;
	int w;

	sim_set_time(s, now);
	sim_tick_replica(s, 0);
	deliver(s, TR_MSG_STATUS, 0, 2, 2);
	drop_all(s);
	w = sim_submit(s, 2, TR_OP_SET, "x", "v");
	deliver(s, TR_MSG_ACCEPT, 2, 0, 2);
	deliver(s, TR_MSG_ACCEPT_REPLY, 0, 2, 2);
	cr_assert(sim_op_done(s, w), "c0 chosen and applied on R2");
	drop_all(s);
	sim_crash(s, 2);
	sim_restart(s, 2);
	join(s, 2);
	cr_assert_eq(sim_replica(s, 2)->col[2].next_lsn, 1 + sim_replica(s, 2)->cfg.inflight_max,
		     "J3: the new life starts at L = H[own] + inflight_max");
	manual_run(s, &now, 300, r0_cut_off);
	bad = sim_check(s, false);
	if (variant == 0)
		cr_assert_eq(sim_replica(s, 2)->col[2].stats.recoveries, 0,
			     "J3: an owner never recovers its own column");
	if (bad == 0) {
		manual_run(s, &now, 300, NULL);
		bad = sim_check(s, true);
		*c0_kept_v = bad == 0;
	}
	sim_free(s);
	return bad;
}

Test(join, j3_the_peers_recover_the_joiners_old_slots_between_themselves, .timeout = 60)
{
	bool ok = false;

	cr_assert_eq(recovers_own_schedule(0, &ok), 0);
	cr_assert(ok);
}

Test(join, j3_bent_the_joiner_recovers_its_own_old_slot_and_c0_gets_two_values, .timeout = 60)
{
	bool ok;

	cr_assert_gt(recovers_own_schedule(TR_VARIANT_JOIN_RECOVERS_OWN, &ok), 0,
		     "known-bad JOIN_RECOVERS_OWN went unnoticed: the schedule lost its point");
}
