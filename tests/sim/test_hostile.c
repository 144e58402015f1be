/* Issue 17's three attacks, replayed by hand in the simulator: well-formed
 * frames with hostile values, injected as if from a peer. After each, the
 * honest replicas keep committing, their digests match, nothing is decided
 * twice, and the plausibility counters (docs/protocol.md) show the drops. */
#include <criterion/criterion.h>
#include <string.h>

#include "manual.h"

static uint64_t now;

/* Delivers everything held, ticks, advances the clock: rounds times. */
static void
run(struct sim *s, unsigned rounds)
{
	for (unsigned i = 0; i < rounds; i++) {
		for (int guard = 0; sim_held(s) > 0 && guard < 100000; guard++)
			sim_deliver(s, 0);
		now += 1000000;
		sim_set_time(s, now);
		sim_tick(s);
	}
}

/* Writes at every live replica; all must complete within the rounds. */
static void
writes_commit(struct sim *s, const bool live[3], const char *tag, unsigned rounds)
{
	int ops[3][4];
	char key[32];

	for (unsigned r = 0; r < 3; r++)
		for (unsigned i = 0; i < 4 && live[r]; i++) {
			snprintf(key, sizeof(key), "%s-%u-%u", tag, r, i);
			ops[r][i] = sim_submit(s, r, TR_OP_SET, key, tag);
		}
	run(s, rounds);
	for (unsigned r = 0; r < 3; r++)
		for (unsigned i = 0; i < 4 && live[r]; i++)
			cr_assert(sim_op_done(s, ops[r][i]), "%s: write %u at replica %u not done", tag,
				  i, r);
}

static uint64_t
implausible(struct sim *s, unsigned r, unsigned column, unsigned reason)
{
	return sim_replica(s, r)->col[column].stats.implausible[reason];
}

static void
converged(struct sim *s, const bool live[3])
{
	int first = -1;

	cr_assert_eq(sim_check(s, true), 0, "%s", sim_violation(s));
	for (unsigned r = 0; r < 3; r++) {
		struct tr_replica *rep = sim_replica(s, r);

		if (!live[r])
			continue;
		for (unsigned c = 0; c < TR_COLUMNS; c++) {
			cr_assert_lt(tr_known(rep, c), 10000, "replica %u column %u known %llu", r,
				     c, (unsigned long long)tr_known(rep, c));
			cr_assert_eq(atomic_load(&rep->shared.applied[c]), tr_known(rep, c),
				     "replica %u column %u: applied %llu of %llu", r, c,
				     (unsigned long long)atomic_load(&rep->shared.applied[c]),
				     (unsigned long long)tr_known(rep, c));
		}
		if (first < 0)
			first = (int)r;
		else
			cr_assert_eq(sim_digest(s, r), sim_digest(s, (unsigned)first),
				     "digests of replicas %d and %u differ", first, r);
	}
}

static const bool all_live[3] = {true, true, true};

/* A hostile value carrying one client command (proposer as given). */
static uint8_t cmd_buf[256];

static struct tr_value
command_value(uint8_t proposer, const char *val)
{
	struct tr_cmd c = {.op = TR_OP_SET, .window = 8, .client_id = 99, .seq = 1,
			   .key = (const uint8_t *)"evil", .key_len = 4,
			   .val = (const uint8_t *)val, .val_len = (uint32_t)strlen(val)};
	struct tr_value v = {.proposer = proposer, .cmd_count = 1, .cmds = cmd_buf};

	v.cmds_len = (uint32_t)tr_cmd_encode(cmd_buf, sizeof(cmd_buf), &c);
	cr_assert(v.cmds_len > 0);
	return v;
}

static struct tr_msg
hostile(uint8_t type, uint8_t from, uint8_t to, uint8_t column, uint64_t lsn)
{
	return (struct tr_msg){.type = type, .from = from, .to = to, .column = column,
			       .lsn = lsn, .inc = 1};
}

/* Attack 1: one COMMIT with deps = 2^48 in every column, to each replica, in
 * each column (its own included). Without the bound, known spreads through
 * D1 and every replica waits forever for slots that do not exist. */
Test(hostile, a_commit_with_deps_2_48_is_dropped_and_the_cluster_goes_on, .timeout = 60)
{
	struct sim *s = manual_sim(0);

	now = 0;
	writes_commit(s, all_live, "before", 20);
	for (uint8_t to = 0; to < 3; to++)
		for (uint8_t col = 0; col < 3; col++) {
			uint8_t from = (uint8_t)((to + 1) % 3);
			struct tr_msg m = hostile(TR_MSG_COMMIT, from, to, col,
						  tr_known(sim_replica(s, to), col));

			m.value.proposer = col;
			for (unsigned d = 0; d < TR_COLUMNS; d++)
				m.value.deps[d] = TR_LSN_MAX;
			sim_inject(s, &m);
		}
	writes_commit(s, all_live, "after", 50);
	converged(s, all_live);
	/* H1 (own column) or H2 (another), whichever column comes first. */
	for (unsigned r = 0; r < 3; r++)
		for (unsigned c = 0; c < 3; c++)
			cr_assert_eq(implausible(s, r, c, TR_IMPLAUSIBLE_OWN) +
					     implausible(s, r, c, TR_IMPLAUSIBLE_AHEAD),
				     1, "replica %u column %u", r, c);
	sim_free(s);
}

/* Attack 2: ACCEPTs at n = 2^30 (the codec's ceiling) to the two non-owners of
 * column 0, for the slot in flight and the next ones; a REJECT promising
 * 2^30 to the owner; then the owner crashes and the two must recover its
 * column. Without the step, they promise 2^30 and cannot outbid it. */
Test(hostile, accepts_at_ballot_2_30_are_dropped_and_recovery_still_works, .timeout = 60)
{
	struct sim *s = manual_sim(0);
	const bool survivors[3] = {false, true, true};
	uint64_t base;
	int w;

	now = 0;
	writes_commit(s, all_live, "before", 20);
	base = tr_known(sim_replica(s, 1), 0);
	w = sim_submit(s, 0, TR_OP_SET, "inflight", "x"); /* its ACCEPT held */
	for (uint8_t to = 1; to < 3; to++)
		for (uint64_t lsn = base; lsn < base + 4; lsn++) {
			struct tr_msg m = hostile(TR_MSG_ACCEPT, 0, to, 0, lsn);

			m.ballot = (struct tr_ballot){.n = TR_BALLOT_N_MAX, .replica = 0, .inc = 1};
			m.value.proposer = 0;
			m.value.deps[0] = lsn + 1;
			sim_inject(s, &m);
		}
	{
		struct tr_msg m = hostile(TR_MSG_ACCEPT_REPLY, 1, 0, 0, base);

		m.ballot = (struct tr_ballot){.n = 1, .replica = 0, .inc = 1};
		m.reply = TR_REPLY_REJECT;
		m.promised = (struct tr_ballot){.n = TR_BALLOT_N_MAX, .replica = 1, .inc = 1};
		sim_inject(s, &m);
	}
	for (unsigned r = 1; r < 3; r++)
		cr_assert_eq(implausible(s, r, 0, TR_IMPLAUSIBLE_BALLOT), 4, "B2 at replica %u", r);
	cr_assert_eq(implausible(s, 0, 0, TR_IMPLAUSIBLE_BALLOT), 1, "B2 for a REJECT");
	run(s, 5);
	cr_assert(sim_op_done(s, w), "the owner's write goes on at its own ballots");
	/* The owner dies with a slot in flight: the survivors recover it. */
	sim_submit(s, 0, TR_OP_SET, "orphan", "y");
	sim_drop(s, (unsigned)sim_find(s, TR_MSG_ACCEPT, 0, -1, 0, -1));
	run(s, 0);
	sim_crash(s, 0);
	writes_commit(s, survivors, "after", 400);
	converged(s, survivors);
	for (unsigned r = 1; r < 3; r++)
		cr_assert_gt(sim_replica(s, r)->col[0].stats.recoveries +
				     sim_replica(s, r)->col[0].stats.committed,
			     0);
	sim_free(s);
}

/* Attack 3: COMMITs carrying a client command: in the name of a non-owner
 * (V1), and in the owner's name to the owner for a slot it allocated with
 * other commands (V2). Without the checks the replicas apply different
 * values for one slot: different digests, then a stop. */
Test(hostile, commits_carrying_client_commands_are_dropped, .timeout = 60)
{
	struct sim *s = manual_sim(0);
	uint64_t lsn;
	int w;

	now = 0;
	writes_commit(s, all_live, "before", 20);
	/* V1: commands in column 0, proposed by replica 2, to replicas 0 and 1. */
	for (uint8_t to = 0; to < 2; to++) {
		struct tr_msg m = hostile(TR_MSG_COMMIT, 2, to, 0, tr_known(sim_replica(s, to), 0));

		m.value = command_value(2, "v1");
		m.value.deps[0] = m.lsn + 1;
		sim_inject(s, &m);
		cr_assert_eq(implausible(s, to, 0, TR_IMPLAUSIBLE_CMDS), 1, "V1 at replica %u", to);
	}
	/* V2: the owner's slot in flight, committed "in its name" with other
	 * commands, to the owner. */
	lsn = tr_known(sim_replica(s, 0), 0);
	w = sim_submit(s, 0, TR_OP_SET, "mine", "honest");
	{
		struct tr_msg m = hostile(TR_MSG_COMMIT, 1, 0, 0, lsn);

		m.value = command_value(0, "forged");
		m.value.deps[0] = lsn + 1;
		sim_inject(s, &m);
	}
	cr_assert_eq(implausible(s, 0, 0, TR_IMPLAUSIBLE_CMDS), 2, "V2 at the owner");
	writes_commit(s, all_live, "after", 50);
	cr_assert(sim_op_done(s, w));
	converged(s, all_live);
	sim_free(s);
}

/* Runs p (a full simulated run) and checks it converged with no message
 * dropped as implausible, except for the reason allowed (-1: none), whose
 * count it returns. */
static uint64_t
run_honest(struct sim_params *p, int allowed)
{
	struct sim *s = sim_new(p);
	uint64_t n = 0;

	cr_assert_eq(sim_run(s), 0, "seed %llu: %s", (unsigned long long)p->seed,
		     sim_violation(s));
	for (unsigned r = 0; r < 3; r++)
		for (unsigned c = 0; c < 3; c++)
			for (unsigned k = 0; k < TR_IMPLAUSIBLE_COUNT; k++) {
				if ((int)k == allowed) {
					n += implausible(s, r, c, k);
					continue;
				}
				cr_assert_eq(implausible(s, r, c, k), 0,
					     "seed %llu: replica %u column %u dropped an honest "
					     "message: %s",
					     (unsigned long long)p->seed, r, c,
					     tr_implausible_name(k));
			}
	sim_free(s);
	return n;
}

/* The bounds never drop an honest message: runs under loss, duplication,
 * reordering, short pauses and restarts without memory count no implausible
 * message anywhere. */
Test(hostile, honest_runs_count_nothing_implausible, .timeout = 120)
{
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct sim_params p;

		sim_params_default(&p);
		p.seed = seed;
		p.ops = 400;
		p.loss_send = p.loss_recv = 0.1;
		p.dup = 0.05;
		p.slow = 0.2;
		p.log_slots = seed % 2 ? 64 : 0;
		p.pauses = seed % 3 == 0 ? 2 : 0;
		p.restarts = seed % 3 == 1 ? 2 : 0;
		p.down_min_ns = 2000000;
		p.down_max_ns = 300000000;
		run_honest(&p, -1);
	}
}

/* A replica paused for longer than the ring comes back more than the window
 * behind: values beyond its window are dropped (H2) until catch-up moves the
 * window, and that costs it nothing: every seed converges, and no other
 * bound ever fires. */
Test(hostile, a_replica_far_behind_drops_only_beyond_its_window_and_catches_up, .timeout = 300)
{
	uint64_t ahead = 0;

	for (uint64_t seed = 1; seed <= 12; seed++) {
		struct sim_params p;

		sim_params_default(&p);
		p.seed = seed;
		p.ops = 2000;
		p.loss_send = p.loss_recv = 0.1;
		p.dup = 0.05;
		p.log_slots = 64;
		p.pauses = 3;
		p.down_min_ns = 200000000;
		p.down_max_ns = 900000000;
		p.stall_ns = 150000000;
		ahead += run_honest(&p, TR_IMPLAUSIBLE_AHEAD);
	}
	cr_assert_gt(ahead, 0, "no replica fell behind its window: the test tests nothing");
}
