/* Teeth (issue 13): schedules driven by hand in which the correct engine is
 * safe and one known-bad variant (mmp3.h) is caught, every time; catch-up
 * that only FETCH can do; and seeded runs that end with three live replicas.
 * Each schedule runs twice, correct and bent: the test asserts both. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "manual.h"
#include "seeds.h"

static int
find(const struct sim *s, int type, int from, int to, int column)
{
	return sim_find(s, type, from, to, column, -1);
}

/* Beacons and catch-up requests: lost, as far as these schedules go. */
static void
drop_noise(struct sim *s)
{
	drop(s, TR_MSG_STATUS, -1, -1, -1);
	drop(s, TR_MSG_FETCH, -1, -1, -1);
}

/* Runs one replica's timers 1 ms at a time (dropping the noise) until it
 * sends a message of this type on this column; returns that message. */
static struct tr_msg
tick_until(struct sim *s, uint64_t *now, unsigned replica, int type, int column)
{
	for (int ms = 0; ms < 200; ms++) {
		int i;

		*now += 1000000;
		sim_set_time(s, *now);
		sim_tick_replica(s, replica);
		drop_noise(s);
		i = find(s, type, (int)replica, -1, column);
		if (i >= 0)
			return *sim_held_msg(s, (unsigned)i);
	}
	cr_assert_fail("replica %u sent no message of type %d on column %d in 200 ms", replica,
		       type, column);
	return (struct tr_msg){0};
}


/* Ends a schedule: everything delivered for 300 ms, then the final checks.
 * Returns the violations; the first goes to why. */
static unsigned
finish(struct sim *s, uint64_t *now, char *why, size_t why_len)
{
	unsigned bad;

	manual_run(s, now, 300, NULL);
	bad = sim_check(s, true);
	snprintf(why, why_len, "%s", bad ? sim_violation(s) : "");
	sim_free(s);
	return bad;
}

static bool
holds_value(struct sim *s, unsigned replica, unsigned column, uint64_t lsn)
{
	const struct tr_slot *slot = tr_column_slot(&sim_replica(s, replica)->col[column], lsn);

	return slot != NULL && (slot->flags & TR_SLOT_VALUE);
}

/* a0 at R0 accepted by R1, which owns b0 by then: a0's deps cover b0
 * (D1), so R0 and whoever takes a0's COMMIT learn that b0 exists without
 * holding it. */
static void
a0_through_r1(struct sim *s)
{
	sim_submit(s, 0, TR_OP_SET, "a", "a0");
	deliver(s, TR_MSG_ACCEPT, 0, 1, 0);
	deliver(s, TR_MSG_ACCEPT_REPLY, 1, 0, 0);
	cr_assert_eq(tr_known(sim_replica(s, 0), 1), 1, "D1: R0 knows b0 through a0");
}

/* P2/A1 at a recoverer. b0's owner R1 ships b0 at (1,1) to R2, held back.
 * R2 learns b0 exists from a0's COMMIT, holds no entry, and recovers it: a
 * NOOP at (1,2) to R0, which votes it. Then b0's ACCEPT(1,1) reaches R2.
 * Correct: R2's promise (1,2) refuses it. Without the recoverer's promise
 * (NO_RECOVERER_PROMISE), or comparing only n (BALLOT_N_ONLY: 1 == 1), R2
 * votes b0 at (1,1) and R1 commits b0; R0 then recovers from its NOOP vote
 * at (2,0), R2 takes the higher-voted NOOP (A3), and b0 is committed twice. */
static unsigned
recoverer_promise_schedule(uint32_t variant, char *why, size_t why_len)
{
	struct sim *s = manual_sim(variant);
	uint64_t now = 1000;
	struct tr_msg m;

	sim_set_time(s, now);
	sim_submit(s, 1, TR_OP_SET, "b", "b0");
	cr_assert(find(s, TR_MSG_ACCEPT, 1, 2, 1) >= 0, "b0 goes to R2 first");
	a0_through_r1(s);
	deliver(s, TR_MSG_COMMIT, 0, 2, 0);
	cr_assert_eq(tr_known(sim_replica(s, 2), 1), 1);
	cr_assert(!holds_value(s, 2, 1, 0));

	m = tick_until(s, &now, 2, TR_MSG_ACCEPT, 1);
	cr_assert(m.to == 0 && m.ballot.n == 1 && m.ballot.replica == 2, "R2 recovers b0 at (1,2)");
	deliver(s, TR_MSG_ACCEPT, 2, 0, 1);             /* R0 votes the NOOP at (1,2) */
	deliver(s, TR_MSG_ACCEPT, 1, 2, 1);             /* b0 at (1,1) reaches R2 */
	m = *deliver(s, TR_MSG_ACCEPT_REPLY, 2, 1, 1);
	cr_assert_eq(m.reply == TR_REPLY_REJECT, variant == 0, "A1 at R2: reply %u", m.reply);
	drop(s, TR_MSG_COMMIT, 1, -1, 1);              /* R1's COMMITs of b0 are lost */
	deliver(s, TR_MSG_ACCEPT_REPLY, 0, 2, 1);       /* P4 at R2 */

	m = tick_until(s, &now, 0, TR_MSG_ACCEPT, 1);
	cr_assert(m.to == 2 && m.ballot.n == 2 && m.ballot.replica == 0, "R0 recovers b0 at (2,0)");
	deliver(s, TR_MSG_ACCEPT, 0, 2, 1);
	deliver(s, TR_MSG_ACCEPT_REPLY, 2, 0, 1);
	return finish(s, &now, why, why_len);
}

typedef unsigned schedule_fn(uint32_t variant, char *why, size_t why_len);

/* The schedule is safe with the correct engine, and the variant commits b0
 * twice in it. */
static void
variant_caught(schedule_fn *schedule, uint32_t variant, const char *name)
{
	char why[512];

	cr_assert_eq(schedule(0, why, sizeof(why)), 0, "correct engine: %s", why);
	cr_assert_gt(schedule(variant, why, sizeof(why)), 0, "%s not caught", name);
	cr_assert_not_null(strstr(why, "(a) slot b0 committed with two different values"), "%s",
			   why);
	cr_log_info("%s: %s", name, why);
}

Test(teeth, recoverer_promise_without_an_entry, .timeout = 30)
{
	variant_caught(recoverer_promise_schedule, TR_VARIANT_NO_RECOVERER_PROMISE,
		       "NO_RECOVERER_PROMISE");
}

Test(teeth, promise_compared_on_n_only, .timeout = 30)
{
	variant_caught(recoverer_promise_schedule, TR_VARIANT_BALLOT_N_ONLY, "BALLOT_N_ONLY");
}

/* P4 at the proposer. b0's first ACCEPT (to R2) is lost. R0 knows b0 only
 * through a0's deps and recovers it: a NOOP at (1,0) to R2 (the peer it
 * heard last on column b), which votes it; the reply is held. The owner's
 * retry (2,1) goes to R0, which votes b0 and promises (2,1): R1 commits b0.
 * Then R2's reply for (1,0) reaches R0. Correct: R0's promise is no longer
 * (1,0), so it retries. Without the re-check (NO_RECHECK) R0 commits the
 * NOOP: two values for b0. */
static unsigned
reply_recheck_schedule(uint32_t variant, char *why, size_t why_len)
{
	struct sim *s = manual_sim(variant);
	uint64_t now = 1000;
	struct tr_msg m;

	sim_set_time(s, now);
	sim_submit(s, 1, TR_OP_SET, "b", "b0");
	drop(s, TR_MSG_ACCEPT, 1, 2, 1);
	a0_through_r1(s);
	cr_assert(!holds_value(s, 0, 1, 0));
	sim_tick_replica(s, 2);
	deliver(s, TR_MSG_STATUS, 2, 0, 1);             /* R0 hears R2 on column b */
	drop_noise(s);

	m = tick_until(s, &now, 0, TR_MSG_ACCEPT, 1);
	cr_assert(m.to == 2 && m.ballot.n == 1 && m.ballot.replica == 0, "R0 recovers b0 at (1,0)");
	deliver(s, TR_MSG_ACCEPT, 0, 2, 1);             /* R2 votes the NOOP; reply held */

	m = tick_until(s, &now, 1, TR_MSG_ACCEPT, 1);
	cr_assert(m.to == 0 && m.ballot.n == 2 && m.ballot.replica == 1, "R1 retries b0 at (2,1)");
	deliver(s, TR_MSG_ACCEPT, 1, 0, 1);
	deliver(s, TR_MSG_ACCEPT_REPLY, 0, 1, 1);       /* R1 commits b0 */
	cr_assert(holds_value(s, 1, 1, 0));
	drop(s, TR_MSG_COMMIT, 1, -1, 1);
	deliver(s, TR_MSG_ACCEPT_REPLY, 2, 0, 1);       /* P4 at R0 */
	return finish(s, &now, why, why_len);
}

Test(teeth, proposer_rechecks_its_promise_on_reply, .timeout = 30)
{
	variant_caught(reply_recheck_schedule, TR_VARIANT_NO_RECHECK, "NO_RECHECK");
}

/* C2: R2 never receives a COMMIT, and every ACCEPT it sends is lost, so it
 * can neither recover a slot (R1) nor propose. R0 and R1 write; R2 votes
 * R1's slots as their acceptor but only FETCH can tell it they committed. */
static bool
catchup_lost(const struct tr_msg *m)
{
	return (m->type == TR_MSG_COMMIT && m->to == 2) || (m->type == TR_MSG_ACCEPT && m->from == 2);
}

/* Returns whether R2 applied what R0 applied (10 writes), in the same
 * order. */
static bool
catchup_schedule(uint32_t variant, char *why, size_t why_len)
{
	struct sim *s = manual_sim(variant);
	uint64_t now = 1000;
	char order0[4096];
	bool same;

	sim_set_time(s, now);
	for (int i = 0; i < 5; i++) {
		char key[8];

		snprintf(key, sizeof(key), "k%d", i);
		sim_submit(s, 0, TR_OP_SET, key, "r0");
		sim_submit(s, 1, TR_OP_SET, key, "r1");
		manual_run(s, &now, 2, catchup_lost);
	}
	manual_run(s, &now, 300, catchup_lost);
	snprintf(order0, sizeof(order0), "%s", sim_apply_order(s, 0));
	same = strcmp(order0, sim_apply_order(s, 2)) == 0;
	snprintf(why, why_len, "R0 applied \"%s\", R2 \"%s\"", order0, sim_apply_order(s, 2));
	cr_assert_eq(strcmp(order0, sim_apply_order(s, 1)), 0, "R1: %s", sim_apply_order(s, 1));
	cr_assert(strstr(order0, "a4") != NULL && strstr(order0, "b4") != NULL, "%s", why);
	if (same)
		cr_assert_eq(sim_check(s, true), 0, "%s", sim_violation(s));
	sim_free(s);
	return same;
}

Test(teeth, only_fetch_catches_up, .timeout = 30)
{
	char why[8192];

	cr_assert(catchup_schedule(0, why, sizeof(why)), "correct engine: %s", why);
	cr_log_info("%s", why);
	cr_assert_not(catchup_schedule(TR_VARIANT_NO_FETCH_ANSWER, why, sizeof(why)),
		      "FETCH unanswered, yet R2 caught up: %s", why);
	cr_log_info("%s", why);
}

/* Faulty seeds without a crash, from first, until one is flagged; returns
 * the number of seeds it took (0: none in max). */
static unsigned
seeds_to_violation(uint32_t variant, uint64_t first, unsigned max, char *why, size_t why_len)
{
	struct sim_params p;
	struct seeds_outcome o;

	sim_params_default(&p);
	p.ops = 1000;
	p.loss_send = 0.2;
	p.loss_recv = 0.2;
	p.dup = 0.05;
	p.client_retry = 0.2;
	p.client_window = 8;
	p.variant = variant;
	seeds_run(&p, first, max, true, &o);
	snprintf(why, why_len, "%s", o.why);
	return o.failed ? (unsigned)(o.first - first + 1) : 0;
}

/* Faulty runs (loss, duplication, client retries), but no crash: every run
 * ends with three live replicas, which must converge (e) with equal digests
 * (f), so catch-up by FETCH is not hidden behind a dead replica. The seeds
 * the variant tests below start from are among them. */
Test(teeth, three_live_replicas_converge, .timeout = 300)
{
	char why[512] = "";
	unsigned n = seeds_to_violation(0, 12000, 200, why, sizeof(why));

	cr_assert_eq(n, 0, "seed %u: %s", 12000 + n - 1, why);
}

Test(teeth, duplicates_not_suppressed_are_caught, .timeout = 120)
{
	char why[512] = "";
	unsigned n = seeds_to_violation(TR_VARIANT_NO_DEDUP, 12000, 50, why, sizeof(why));

	cr_assert(n > 0, "no violation in 50 seeds");
	cr_log_info("no-dedup caught after %u seeds: %s", n, why);
}

Test(teeth, w_as_a_replica_setting_is_caught, .timeout = 120)
{
	char why[512] = "";
	unsigned n = seeds_to_violation(TR_VARIANT_W_PER_REPLICA, 12000, 400, why, sizeof(why));

	cr_assert(n > 0, "no violation in 400 seeds");
	cr_log_info("W-per-replica caught after %u seeds: %s", n, why);
}
