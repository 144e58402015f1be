/* T4 (docs/protocol.md §12) on one owner driven by hand: while a peer that
 * fell below the base catches up, the owner starts one instance per pace;
 * and the echo (heard) of each life of a peer, which says whether it hears. */
#include "replica_fixture.h"

#define ME 0
#define MS 1000000ull
#define CATCHUP_NS (32 * MS) /* a 64-slot ring: one instance per ms */

static uint64_t seq;

static void
setup(void)
{
	struct tr_config cfg;

	fx_config(&cfg, ME);
	cfg.batch_cmds_max = 1; /* one command, one instance */
	cfg.pending_bytes_max = 4096;
	cfg.catchup_ns = CATCHUP_NS;
	fx_setup(&cfg);
	seq = 0;
}

static void
submit(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct tr_cmd c = fx_set(7, ++seq, 8, "k", "v");

		fx_submit(&c);
	}
}

/* The peer of every ACCEPT of the last step answers it: committed (A0). */
static void
commit_sent(uint64_t now)
{
	struct tr_msg acc[64];
	unsigned n = 0;

	for (unsigned i = 0; i < out.msg_count; i++)
		if (out.msgs[i].type == TR_MSG_ACCEPT)
			acc[n++] = out.msgs[i];
	for (unsigned i = 0; i < n; i++) {
		struct tr_msg r = fx_accept_reply(&acc[i], TR_REPLY_OK_COMMITTED);

		r.inc = own()->peers[acc[i].to].inc;
		r.value = acc[i].value;
		fx_deliver(&r, now);
	}
	tr_apply(&applier, 1000);
}

/* A flush or a tick of the own column; returns the instances it started
 * (an ACCEPT each, W2). */
static unsigned
step(void (*fn)(uint8_t, uint64_t), uint64_t now)
{
	unsigned n;

	fn(ME, now);
	n = fx_count(TR_MSG_ACCEPT);
	commit_sent(now);
	return n;
}

static unsigned
flush(uint64_t now)
{
	return step(fx_flush, now);
}

static unsigned
tick(uint64_t now)
{
	return step(fx_tick, now);
}

/* STATUS from a life of replica from (J0: 0 until it restarts). */
static void
status_inc(uint8_t from, uint32_t inc, uint64_t applied, uint64_t now)
{
	struct tr_msg m = fx_status(from, ME, inc, applied, applied,
				    (const uint64_t[]){own()->next_lsn, 0, 0});

	fx_deliver(&m, now);
}

static void
status_from(uint8_t from, uint64_t applied, uint64_t now)
{
	status_inc(from, own()->peers[from].inc, applied, now);
}

/* 56 instances committed and applied here and at replica 1; the base goes
 * to 24 (the newer half kept, T1); replica 2 reports 5: it fell below. It
 * echoes our committed prefix as heard (UINT64_MAX: the current one). */
static uint64_t
fall_behind_hearing(uint64_t heard)
{
	uint64_t now = MS;

	for (unsigned i = 0; i < 56; i++, now += 10000) {
		submit(1);
		cr_assert_eq(flush(now), 1);
	}
	cr_assert_eq(own()->committed, 56);
	status_from(1, 56, now);
	tick(now);
	cr_assert_eq(own()->base, 24);
	{
		struct tr_msg m = fx_status(2, ME, own()->peers[2].inc, 5, 5,
					    (const uint64_t[]){own()->next_lsn, 0, 0});

		if (heard != UINT64_MAX)
			m.heard = heard;
		fx_deliver(&m, now);
	}
	cr_assert_eq(own()->catchup, 1u << 2, "replica 2 catches up");
	return now;
}

static uint64_t
fill_and_fall_behind(void)
{
	return fall_behind_hearing(UINT64_MAX);
}

TestSuite(catchup, .init = setup, .fini = fx_teardown);

Test(catchup, t4_one_instance_per_pace_while_a_peer_catches_up)
{
	uint64_t now = fill_and_fall_behind();

	submit(3);
	cr_assert_eq(flush(now), 1, "the first at once");
	cr_assert_leq(own()->next_ns, now + MS, "a timer for the next one");
	cr_assert_eq(tick(now + MS / 2), 0);
	cr_assert_eq(tick(now + MS), 1, "the tick at the pace starts it");
	cr_assert_eq(own()->stats.paced, 2);
}

/* Instances submitted one at a time, each at the earliest the pace allows,
 * until until_ns, while replica 2 applies a slot a time below the base (it
 * fetches from replica 1, or its snapshots come too late); returns the time
 * of the last one. */
static uint64_t
paced_run(uint64_t now, uint64_t until_ns)
{
	uint64_t last = now, behind = 5;

	while (now < until_ns) {
		submit(1);
		if (flush(now) == 0) {
			now = own()->pace_at_ns;
			cr_assert_eq(tick(now), 1);
		}
		last = now;
		status_from(1, own()->committed, now);
		cr_assert_lt(++behind, own()->base);
		status_from(2, behind, now);
		tick(now);
		now += 100000;
	}
	return last;
}

/* The pace after an episode that went on (slowed to a sixteenth), then
 * replica 2 was silent (paused) and came back still below the base: a new
 * episode, at the first pace again. */
Test(catchup, t4_an_episode_after_the_peer_was_away_starts_at_the_first_pace)
{
	uint64_t now = fill_and_fall_behind();
	uint64_t back, a, b;

	now = paced_run(now, now + 2 * CATCHUP_NS);
	cr_assert_eq(own()->pace_ns, 16 * MS, "slowed to a sixteenth");
	/* Replica 2 falls silent: no pace while it cannot catch up anyway. */
	back = now + rep.cfg.suspect_ns + 10 * CATCHUP_NS;
	for (now += rep.cfg.suspect_ns; now < back; now += MS) {
		submit(1);
		cr_assert_eq(flush(now), 1, "no pace while replica 2 is silent");
		status_from(1, own()->committed, now);
		tick(now);
	}
	tick(now);
	status_from(2, 5, now); /* back, still below the base */
	submit(2);
	cr_assert_eq(flush(now), 1);
	a = now;
	b = own()->pace_at_ns;
	cr_assert_eq(b - a, MS, "a new episode starts at the first pace, not at %llu ns",
		     (unsigned long long)(b - a));
}

/* Replica 2 had applied everything, then restarted without memory: its
 * old report must not hide that it starts from nothing (J0 wipes it). */
Test(catchup, t4_a_peer_back_without_memory_catches_up_at_the_pace)
{
	uint64_t now = fill_and_fall_behind();

	status_from(2, own()->committed, now);
	cr_assert_eq(own()->catchup, 0, "replica 2 caught up");
	status_inc(2, 1, 0, now + MS);
	cr_assert_eq(own()->catchup, 1u << 2, "its new life starts below the base");
	submit(2);
	cr_assert_eq(flush(now + MS), 1, "one instance, the next a pace later");
}

/* A deaf replica 2 (it hears nothing, it goes on sending): its STATUS says
 * it is below the base, but echoes our committed prefix as it was when it
 * went deaf (5), far more than a quarter ring behind. It cannot catch up,
 * so it slows nobody; once its echo shows it hears us again, the pace holds
 * while it catches up. */
Test(catchup, t4_a_deaf_peer_slows_nobody)
{
	uint64_t now = fall_behind_hearing(5); /* what it heard before it went deaf */

	for (unsigned i = 0; i < 10; i++, now += MS / 10) {
		submit(1);
		cr_assert_eq(flush(now), 1, "instance %u waited for a peer that cannot hear", i);
	}
	status_from(2, 5, now); /* it hears again: the echo is our committed prefix */
	submit(2);
	cr_assert_eq(flush(now), 1, "the first at once");
	cr_assert_eq(tick(now + MS / 2), 0, "the next one waits for the pace");
}

/* Replica 2, in an episode and hearing us (its echo is our committed
 * prefix), restarts from its disk and is deaf in its new life: its STATUS
 * echoes nothing of us (0). Its old life's echo is not the new life's (J0
 * wipes it): it cannot catch up, so it slows nobody. */
Test(catchup, t4_a_peer_deaf_in_its_new_life_slows_nobody)
{
	uint64_t now = fill_and_fall_behind();
	struct tr_msg m = fx_status(2, ME, 1, 5, 5, (const uint64_t[]){own()->next_lsn, 0, 0});

	m.heard = 0; /* the new life heard nothing of us */
	fx_deliver(&m, now);
	cr_assert_eq(own()->catchup, 1u << 2, "replica 2 is in the episode");
	for (unsigned i = 0; i < 10; i++, now += MS / 10) {
		submit(1);
		cr_assert_eq(flush(now), 1, "instance %u waited for a peer that cannot hear", i);
	}
}

/* The STATUS this replica sends in column 1 to its owner, replica 1: the
 * echo (heard) of replica 1's committed prefix, as this replica heard it. */
static uint64_t
echo_to_owner_of_1(uint64_t now)
{
	const struct tr_msg *m;

	fx_tick(1, now);
	m = fx_find(TR_MSG_STATUS, 1, FX_ANY);
	cr_assert_not_null(m, "a STATUS to replica 1");
	return m->heard;
}

/* Replica 1 said 50 of its column in its old life, then restarted without
 * memory. Until its new life says something, the echo it gets is 0, not the
 * old life's 50: replica 1 clamps an echo to its own committed prefix only,
 * which it refetches; an echo of 50 would vouch that we hear its new life up
 * to 50 (T4 would pace for us if we were deaf). */
Test(catchup, t4_the_echo_to_a_joiner_forgets_its_old_life)
{
	struct tr_msg old = fx_status(1, 1, 0, 50, 50, (const uint64_t[]){0, 50, 0});
	struct tr_msg join = {.type = TR_MSG_JOIN, .from = 1, .to = ME, .column = 1,
			      .read_id = 77};
	uint64_t e;

	fx_deliver(&old, MS);
	cr_assert_eq(echo_to_owner_of_1(MS), 50);
	fx_deliver(&join, 2 * MS);
	cr_assert_not_null(fx_sent(TR_MSG_JOIN_REPLY));
	e = echo_to_owner_of_1(3 * MS);
	cr_assert_eq(e, 0, "echoed %llu, the old life's prefix", (unsigned long long)e);
}

/* J5: replica 1 said 50 of its column, then restarted from its disk (a new
 * incarnation, no JOIN). Its next life is echoed 50 still: S1 put at least
 * that on its disk, and a restart that found less (a log restored from a
 * backup, a --sync none power loss) is caught by the echo. */
Test(catchup, j5_the_echo_survives_a_restart_from_disk)
{
	struct tr_msg old = fx_status(1, 1, 0, 50, 50, (const uint64_t[]){0, 50, 0});
	struct tr_msg back = fx_status(1, 1, 1, 3, 3, (const uint64_t[]){0, 58, 0});
	uint64_t e;

	fx_deliver(&old, MS);
	fx_deliver(&back, 2 * MS);
	cr_assert_eq(rep.col[1].peers[1].inc, 1, "J0: its new life");
	e = echo_to_owner_of_1(3 * MS);
	cr_assert_eq(e, 50, "echoed %llu, not what its old life said", (unsigned long long)e);
}

/* The same across a new incarnation (J0): after the JOIN, a STATUS of the
 * old life, delayed, says 50 again; then the new life says 3. The echo is 3. */
Test(catchup, t4_the_echo_to_a_new_life_is_what_it_said)
{
	struct tr_msg old = fx_status(1, 1, 0, 50, 50, (const uint64_t[]){0, 50, 0});
	struct tr_msg join = {.type = TR_MSG_JOIN, .from = 1, .to = ME, .column = 1,
			      .read_id = 77};
	struct tr_msg young = fx_status(1, 1, 1, 3, 3, (const uint64_t[]){0, 58, 0});
	uint64_t e;

	fx_deliver(&old, MS);
	fx_deliver(&join, 2 * MS);
	fx_deliver(&old, 3 * MS); /* delayed */
	fx_deliver(&young, 4 * MS);
	e = echo_to_owner_of_1(5 * MS);
	cr_assert_eq(e, 3, "echoed %llu, the old life's prefix", (unsigned long long)e);
}
