/* PROTOCOL §12 in the simulator: replicas that pause for longer than the log
 * ring, crash and restart without memory, or fail a second time while one of
 * them joins; the survivors keep committing (checker (g)), everyone converges
 * (e), nothing is decided twice (a). And the bent rules of §12, caught. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <string.h>

#include "seeds.h"

/* Pauses longer than the ring, under loss: the survivors recycle past the
 * paused replica (T2), which comes back through a snapshot (T1). */
static void
long_pauses(struct sim_params *p)
{
	sim_params_default(p);
	p->ops = 2000;
	p->loss_send = p->loss_recv = 0.1;
	p->dup = 0.05;
	p->log_slots = 64;
	p->pauses = 3;
	p->down_min_ns = 200000000;
	p->down_max_ns = 900000000;
	p->stall_ns = 300000000;
}

/* Restarts without memory in the hot spot of §12's own check: short
 * downtimes, heavy loss, reordering and duplication. */
static void
hot_restarts(struct sim_params *p)
{
	sim_params_default(p);
	p->ops = 2000;
	p->loss_send = p->loss_recv = 0.25;
	p->slow = 0.3;
	p->dup = 0.1;
	p->log_slots = 64;
	p->restarts = 5;
	p->down_min_ns = 2000000;
	p->down_max_ns = 12000000;
}

/* Returns under a steady load, where half the ring goes by faster than a
 * snapshot travels (50 ms): the replica back from a pause or a restart
 * catches up (h) only because the owners pace their instances while it does
 * (T4); the survivors keep committing meanwhile (g). */
static void
busy_returns(struct sim_params *p)
{
	sim_params_default(p);
	p->ops = 30000;
	p->loss_send = p->loss_recv = 0.02;
	p->log_slots = 64;
	p->pauses = 2;
	p->restarts = 1;
	p->down_min_ns = 50000000;
	p->down_max_ns = 200000000;
	p->snap_ns = 50000000;
	p->rejoin_ns = 400000000;
	p->stall_ns = 300000000;
}

Test(heal, returns_under_load_catch_up_at_the_paced_owners, .timeout = 300)
{
	struct sim_params p;
	struct seeds_outcome o;

	busy_returns(&p);
	seeds_run(&p, 5001, 40, false, &o);
	cr_assert_eq(o.failed, 0, "seed %u: %s", o.first, o.why);
	cr_assert_eq(o.sum.pauses + o.sum.restarts, 120, "every episode happened (and ended)");
	cr_assert_gt(o.sum.paced, 40 * 20, "the owners paced while a replica caught up");
	/* One snapshot per return, give or take a late one: no chase. */
	cr_assert_leq(o.sum.snapshots, 2 * 120, "%" PRIu64 " snapshots for 120 returns",
		      o.sum.snapshots);
}

/* The same, with a first pace four times too fast for the snapshot cycle:
 * each snapshot that comes too late halves the pace, until one fits. */
Test(heal, a_pace_too_fast_at_first_slows_until_the_return_fits, .timeout = 300)
{
	struct sim_params p;
	struct seeds_outcome o;

	busy_returns(&p);
	p.catchup_ns = p.snap_ns / 4;
	p.rejoin_ns = 600000000;
	seeds_run(&p, 5101, 20, false, &o);
	cr_assert_eq(o.failed, 0, "seed %u: %s", o.first, o.why);
	cr_assert_eq(o.sum.pauses + o.sum.restarts, 60, "every episode happened (and ended)");
	cr_assert_gt(o.sum.pace_slowed, 20, "the pace was halved after late snapshots");
}

/* A replica that hears nothing for 50..200 ms while it goes on sending
 * (STATUS, its own ACCEPTs, FETCHes): it looks alive to the others, who must
 * still stop asking it (P6, Q1: the first attempt goes to the peer that
 * answered last, a retry skips a peer that leaves requests unanswered for
 * suspect_ns), not pace for it (T4: its STATUS echoes none of their
 * progress), keep committing (g), and see it catch up once it hears again
 * (h). */
static void
deaf_returns(struct sim_params *p)
{
	busy_returns(p);
	p->ops = 20000;
	p->pauses = 0;
	p->restarts = 0;
	p->deafs = 3;
}

Test(heal, a_deaf_replica_is_not_asked_and_the_survivors_go_on, .timeout = 300)
{
	struct sim_params p;
	struct seeds_outcome o;

	deaf_returns(&p);
	seeds_run(&p, 5201, 30, false, &o);
	cr_assert_eq(o.failed, 0, "seed %u: %s", o.first, o.why);
	cr_assert_eq(o.sum.deafs, 90, "every episode happened");
	/* Once found out (suspect_ns per column and survivor), hardly asked:
	 * a request stray now and then, not every other one. */
	cr_assert_leq(o.sum.deaf_asks, 90 * 25, "%" PRIu64 " requests to deaf replicas in 90 "
		      "episodes", o.sum.deaf_asks);
	cr_assert_leq(o.sum.deaf_paced, 90, "%" PRIu64 " instances paced for deaf replicas",
		      o.sum.deaf_paced);
	cr_assert_gt(o.sum.paced, 90, "once it hears again, it is paced for");
}

/* The one crash-stop (sim_params.crash) among every kind of episode: it
 * comes while all three are up, counts as down for (g), and after it only
 * pauses follow (a restart needs both peers, J1; a power loss would bring
 * the stopped replica back); the two left converge (e). */
Test(heal, a_crash_stop_among_the_episodes, .timeout = 300)
{
	struct sim_params p;
	struct seeds_outcome o;

	long_pauses(&p);
	p.crash = true;
	p.disk = true;
	p.pauses = 2;
	p.restarts = 1;
	p.crash_disks = 1;
	p.power_losses = 1;
	seeds_run(&p, 1, 40, false, &o);
	cr_assert_eq(o.failed, 0, "seed %u: %s", o.first, o.why);
	cr_assert_gt(o.sum.pauses + o.sum.restarts + o.sum.crash_disks + o.sum.power_losses, 80,
		     "episodes happened");
}

Test(heal, pauses_longer_than_the_ring_the_survivors_go_on_and_all_converge, .timeout = 300)
{
	struct sim_params p;
	struct seeds_outcome o;

	long_pauses(&p);
	seeds_run(&p, 1, 40, false, &o);
	cr_assert_eq(o.failed, 0, "seed %u: %s", o.first, o.why);
	cr_assert_geq(o.sum.pauses, 40, "the episodes happened");
	cr_assert_gt(o.sum.snapshots, 40, "paused replicas came back through snapshots (T1)");
}

Test(heal, restarts_without_memory_join_and_converge, .timeout = 300)
{
	struct sim_params p;
	struct seeds_outcome o;

	hot_restarts(&p);
	seeds_run(&p, 1, 150, false, &o);
	cr_assert_eq(o.failed, 0, "seed %u: %s", o.first, o.why);
	cr_assert_gt(o.sum.restarts, 3 * 150, "restarts happened");
	cr_assert_gt(o.sum.snapshots, 150, "joiners took snapshots where the ring had moved on");
}

Test(heal, restarts_and_pauses_with_the_survivors_checked, .timeout = 300)
{
	struct sim_params p;
	struct seeds_outcome o;

	long_pauses(&p);
	p.pauses = 2;
	p.restarts = 2;
	p.down_min_ns = 20000000;
	p.down_max_ns = 400000000;
	seeds_run(&p, 1001, 60, false, &o);
	cr_assert_eq(o.failed, 0, "seed %u: %s", o.first, o.why);
	cr_assert_geq(o.sum.pauses, 60, "pauses happened");
	cr_assert_geq(o.sum.restarts, 60, "restarts happened");
}

/* §8's client table across restarts without memory, where every restart
 * brings its replica's clients new ids (--client-lives: a process without
 * a data directory), through a table of 12 clients for 9 at a time, with
 * pauses and snapshots: the table gives the records of the clients gone
 * to the new ones, the same way on every replica (the checker replays a
 * model of it, and (f) compares the replicas' tables at the end), and the
 * new clients' writes go through. Bent (the table never forgets, as before
 * 2026-12-07), the clients of every restarted replica are refused FULL for
 * good. */
static void
client_lives(struct sim_params *p)
{
	sim_params_default(p);
	p->ops = 20000;
	p->clients = 3;
	p->client_lives = true;
	p->client_recs = 16;
	p->client_ttl = 1000;
	p->client_retry = 0; /* a retry after its client was forgotten applies again */
	p->loss_send = p->loss_recv = 0.03;
	p->log_slots = 64;
	p->restarts = 3;
	p->pauses = 1;
}

Test(heal, the_clients_of_restarted_replicas_get_room, .timeout = 300)
{
	struct sim_params p;
	struct seeds_outcome o;

	client_lives(&p);
	seeds_run(&p, 2001, 40, false, &o);
	cr_assert_eq(o.failed, 0, "seed %u: %s", o.first, o.why);
	cr_assert_gt(o.sum.clients_evicted, 40, "records given to new clients (%" PRIu64 ")",
		     o.sum.clients_evicted);
	cr_assert_lt(o.sum.full_writes, o.sum.ops_done / 100, "writes refused FULL (%" PRIu64 ")",
		     o.sum.full_writes);
}

Test(heal_teeth, a_table_that_never_forgets_refuses_the_new_clients, .timeout = 300)
{
	struct sim_params p;
	struct seeds_outcome o;

	client_lives(&p);
	p.variant = TR_VARIANT_CLIENTS_KEPT;
	seeds_run(&p, 2001, 10, false, &o);
	cr_assert_eq(o.failed, 0, "the model knows the bent table: seed %u: %s", o.first, o.why);
	cr_assert_gt(o.sum.full_writes, o.sum.ops_done / 10, "writes refused FULL (%" PRIu64 ")",
		     o.sum.full_writes);
}

/* The replica receiving a snapshot restarts without memory halfway through:
 * the transfer to its earlier life is dropped, it joins again and takes
 * another one. */
Test(heal, a_restart_during_a_transfer, .timeout = 300)
{
	struct sim_params p;
	struct seeds_outcome o;

	long_pauses(&p);
	p.pauses = 2;
	p.restarts = 2;
	p.down_min_ns = 20000000;
	p.down_max_ns = 300000000;
	p.snap_ns = 5000000;
	p.cut_transfers = true;
	seeds_run(&p, 3001, 60, false, &o);
	cr_assert_eq(o.failed, 0, "seed %u: %s", o.first, o.why);
	cr_assert_gt(o.sum.transfers_cut, 10, "transfers were cut");
	cr_assert_gt(o.sum.snapshots, 60);
}

/* A second replica pauses while one joins: J1 waits for both peers, so
 * progress stops for a while; nothing is decided wrongly, and once both are
 * back everyone converges. */
Test(heal, a_second_failure_while_joining_stops_progress_without_a_wrong_answer,
     .timeout = 300)
{
	struct sim_params p;
	struct seeds_outcome o;

	hot_restarts(&p);
	p.loss_send = p.loss_recv = 0.1;
	p.second_fault = true;
	p.restarts = 3;
	p.down_min_ns = 5000000;
	p.down_max_ns = 60000000;
	seeds_run(&p, 2001, 100, false, &o);
	cr_assert_eq(o.failed, 0, "seed %u: %s", o.first, o.why);
}

/* T2 bent: recycling waits for every peer heard from lately (the rule the
 * code had). A long pause fills the ring: the survivors stop. */
Test(heal_teeth, recycling_held_for_a_paused_peer_stalls_the_survivors, .timeout = 300)
{
	struct sim_params p;
	struct seeds_outcome o;

	long_pauses(&p);
	p.variant = TR_VARIANT_RECYCLE_HOLD;
	seeds_run(&p, 1, 40, true, &o);
	cr_assert_gt(o.failed, 0, "the old recycling rule went unnoticed");
	cr_assert(strstr(o.why, "(g)") != NULL, "seed %u: %s", o.first, o.why);
}

/* T4 off: each snapshot arrives a ring old, the FETCH after it is answered
 * TOO_OLD, and the replica that came back chases snapshots until the load
 * ends. */
Test(heal_teeth, without_catchup_pacing_a_returning_replica_never_catches_up, .timeout = 300)
{
	struct sim_params p;
	struct seeds_outcome o;

	busy_returns(&p);
	p.variant = TR_VARIANT_NO_CATCHUP_PACE;
	seeds_run(&p, 5001, 10, true, &o);
	cr_assert_gt(o.failed, 0, "snapshot chasing went unnoticed");
	cr_assert(strstr(o.why, "(h)") != NULL, "seed %u: %s", o.first, o.why);
}

/* P6/Q1 by hearing only (the rule the code had): a deaf replica, heard
 * from all the time, gets half the first attempts and every other retry. */
Test(heal_teeth, a_deaf_replica_asked_as_if_it_heard, .timeout = 300)
{
	struct sim_params p;
	struct seeds_outcome o;

	deaf_returns(&p);
	p.variant = TR_VARIANT_FIRST_BY_HEARD;
	seeds_run(&p, 5201, 30, false, &o);
	cr_assert_gt(o.sum.deaf_asks, 90 * 50, "only %" PRIu64 " requests to deaf replicas: "
		     "the old rule went unnoticed", o.sum.deaf_asks);
}

/* T4 without the echo (the rule the code had): a deaf replica falls below
 * the base and reports it, and the others pace for it while it cannot
 * catch up (in the runtime: 1.45 M ops/s down to 0.26 M, p50 30 us to
 * 243 us, for the three seconds replica 2 was deaf). */
Test(heal_teeth, a_deaf_replica_paced_for, .timeout = 300)
{
	struct sim_params p;
	struct seeds_outcome o;

	deaf_returns(&p);
	p.variant = TR_VARIANT_PACE_FOR_DEAF;
	seeds_run(&p, 5201, 30, false, &o);
	cr_assert_gt(o.sum.deaf_paced, 1000, "only %" PRIu64 " instances paced for deaf "
		     "replicas: the old rule went unnoticed", o.sum.deaf_paced);
}

/* Runs hot restart seeds with a bent J rule until one fails; the failure
 * must be agreement's (a). */
static void
hot_restarts_catch(uint32_t variant, const char *what)
{
	struct sim_params p;
	struct seeds_outcome o;

	hot_restarts(&p);
	p.variant = variant;
	/* Rare (2 to 4 seeds in 2,000 hit it): it stops at the first. */
	seeds_run(&p, 1, 1500, true, &o);
	cr_assert_gt(o.failed, 0, "%s went unnoticed in 1,500 seeds", what);
	cr_assert(strstr(o.why, "(a)") != NULL, "seed %u: %s", o.first, o.why);
}

/* J2 bent: the amnesiac votes at once (§12's check: 4.7% of hot seeds). */
Test(heal_teeth, a_joiner_that_votes_at_once_commits_two_values, .timeout = 300)
{
	hot_restarts_catch(TR_VARIANT_JOIN_VOTES_AT_ONCE, "a joiner voting at once");
}

/* J3 bent: the joiner recovers its old own slots itself, counting its empty
 * memory as one of the two votes (§12's check: 0.5% of hot seeds). */
Test(heal_teeth, a_joiner_recovering_its_own_old_slots_commits_two_values, .timeout = 300)
{
	hot_restarts_catch(TR_VARIANT_JOIN_RECOVERS_OWN, "a joiner recovering its own slots");
}
