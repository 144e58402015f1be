/* The acceptor rule, A0–A6, as a decision table: one replica, messages in,
 * replies out. */
#include "replica_fixture.h"

static void
setup_replica(uint8_t id)
{
	struct tr_config cfg;

	fx_config(&cfg, id);
	fx_setup(&cfg);
}

static void
setup(void)
{
	setup_replica(1);
}

/* A one-command value ("set k v" by client 9), or the NOOP. */
static struct tr_value
value(uint64_t d0, uint64_t d1, uint64_t d2, uint8_t proposer, bool noop)
{
	struct tr_cmd c = fx_set(9, 1, 1, "k", "v");

	return fx_value(noop ? NULL : &c, (const uint64_t[]){d0, d1, d2}, proposer);
}

static struct tr_msg
accept_msg(uint8_t from, uint8_t column, uint64_t lsn, struct tr_ballot b, struct tr_ballot vbal,
	   struct tr_value v)
{
	struct tr_msg m = {.type = TR_MSG_ACCEPT, .from = from, .to = rep.cfg.id, .column = column,
			   .lsn = lsn, .ballot = b, .vbal = vbal, .value = v};

	return m;
}

static const struct tr_msg *
deliver(const struct tr_msg *m)
{
	fx_deliver(m, 1000);
	return fx_sent(TR_MSG_ACCEPT_REPLY);
}

#define B(n, r) ((struct tr_ballot){(n), (r)})
#define NONE B(0, 0)

TestSuite(accept, .init = setup, .fini = fx_teardown);

Test(accept, a0_committed_slot_answers_with_the_committed_value)
{
	struct tr_msg c = {.type = TR_MSG_COMMIT, .from = 0, .to = 1, .column = 0, .lsn = 0,
			   .value = value(1, 0, 0, 0, false)};
	struct tr_msg a = accept_msg(2, 0, 0, B(5, 2), NONE, value(1, 0, 3, 2, true));
	const struct tr_msg *r;

	deliver(&c);
	r = deliver(&a);
	cr_assert_not_null(r);
	cr_assert_eq(r->reply, TR_REPLY_OK_COMMITTED);
	cr_assert_eq(r->value.cmd_count, 1);
	cr_assert_eq(r->value.deps[2], 0, "the committed value, unchanged");
	cr_assert(tr_ballot_none(tr_column_slot(&rep.col[0], 0)->promised), "A0 changes nothing");
}

Test(accept, a1_lower_ballot_is_rejected_with_the_promise)
{
	struct tr_msg hi = accept_msg(2, 0, 0, B(3, 2), NONE, value(1, 0, 0, 2, true));
	struct tr_msg lo = accept_msg(0, 0, 0, B(2, 0), NONE, value(1, 0, 0, 0, false));
	const struct tr_msg *r;

	cr_assert_eq(deliver(&hi)->reply, TR_REPLY_OK);
	r = deliver(&lo);
	cr_assert_eq(r->reply, TR_REPLY_REJECT);
	cr_assert_eq(tr_ballot_cmp(r->promised, B(3, 2)), 0);
	cr_assert_eq(rep.col[0].stats.rejects_sent, 1);
}

Test(accept, a1_equal_ballot_is_accepted_and_a6_duplicate_revotes)
{
	struct tr_msg a = accept_msg(0, 0, 0, B(1, 0), NONE, value(1, 0, 0, 0, false));
	const struct tr_msg *r1, *r2;
	struct tr_value v1;

	r1 = deliver(&a);
	cr_assert_eq(r1->reply, TR_REPLY_OK);
	v1 = r1->value;
	r2 = deliver(&a);
	cr_assert_eq(r2->reply, TR_REPLY_OK);
	cr_assert_eq(memcmp(v1.deps, r2->value.deps, sizeof(v1.deps)), 0);
	cr_assert_eq(tr_ballot_cmp(tr_column_slot(&rep.col[0], 0)->vbal, B(1, 0)), 0);
}

Test(accept, a2_fresh_entry_merges_known_and_never_copies_a_vote)
{
	/* known[2] = 5 through a commit on column c. */
	struct tr_msg c = {.type = TR_MSG_COMMIT, .from = 2, .to = 1, .column = 2, .lsn = 4,
			   .value = value(0, 0, 5, 2, true)};
	struct tr_msg a = accept_msg(0, 0, 0, B(1, 0), NONE, value(1, 0, 0, 0, false));
	const struct tr_msg *r;
	const struct tr_slot *s;

	deliver(&c);
	r = deliver(&a);
	cr_assert_eq(r->reply, TR_REPLY_OK);
	cr_assert_eq(r->value.deps[0], 1);
	cr_assert_eq(r->value.deps[1], 0);
	cr_assert_eq(r->value.deps[2], 5, "A2: deps = max(s.deps, known_q)");
	s = tr_column_slot(&rep.col[0], 0);
	cr_assert(atomic_load(&s->committed) == 0, "A2: never a committed flag from a message");
	cr_assert_eq(tr_known(&rep, 0), 1, "D1: the slot itself is known");
}

Test(accept, a3_sender_vote_wins_unchanged_over_no_vote)
{
	struct tr_msg c = {.type = TR_MSG_COMMIT, .from = 2, .to = 1, .column = 2, .lsn = 4,
			   .value = value(0, 0, 5, 2, true)};
	struct tr_msg a = accept_msg(2, 0, 0, B(4, 2), B(3, 0), value(1, 0, 1, 0, false));
	const struct tr_msg *r;

	deliver(&c);
	r = deliver(&a);
	cr_assert_eq(r->reply, TR_REPLY_OK);
	cr_assert_eq(r->value.deps[2], 1, "a voted value is never re-merged");
	cr_assert_eq(r->value.proposer, 0);
	cr_assert(r->ref, "W1: the sender's own value returns by reference");
}

Test(accept, a3_higher_local_vote_wins_over_lower_sender_vote)
{
	struct tr_msg first = accept_msg(0, 0, 0, B(3, 0), NONE, value(1, 0, 0, 0, false));
	struct tr_msg later = accept_msg(2, 0, 0, B(5, 2), B(2, 2), value(1, 0, 0, 2, true));
	const struct tr_msg *r;

	deliver(&first); /* votes the commands at (3,0) */
	r = deliver(&later);
	cr_assert_eq(r->reply, TR_REPLY_OK);
	cr_assert_eq(r->value.cmd_count, 1, "the local vote (3,0) beats the sender's (2,2)");
	cr_assert(!r->ref, "W1: a value the sender does not hold travels whole");
	cr_assert_eq(tr_ballot_cmp(tr_column_slot(&rep.col[0], 0)->vbal, B(5, 2)), 0);
}

Test(accept, a3_higher_sender_vote_replaces_the_local_vote)
{
	struct tr_msg first = accept_msg(0, 0, 0, B(1, 0), NONE, value(1, 0, 0, 0, false));
	struct tr_msg later = accept_msg(2, 0, 0, B(5, 2), B(4, 2), value(1, 0, 7, 2, true));
	const struct tr_msg *r;

	deliver(&first);
	r = deliver(&later);
	cr_assert_eq(r->value.cmd_count, 0, "the sender's NOOP voted at (4,2) wins");
	cr_assert_eq(r->value.deps[2], 7);
}

Test(accept, a3_equal_votes_with_different_values_stop_the_replica)
{
	struct tr_msg first = accept_msg(0, 0, 0, B(2, 0), NONE, value(1, 0, 0, 0, false));
	struct tr_msg bad = accept_msg(2, 0, 0, B(3, 2), B(2, 0), value(1, 0, 9, 0, false));

	deliver(&first);
	cr_assert_null(deliver(&bad), "no reply after a safety violation");
	cr_assert(atomic_load(&rep.shared.violation));
	cr_assert_not_null(strstr(rep.violation_why, "A3"));
}

Test(accept, a5_no_commit_on_the_spot)
{
	struct tr_msg a = accept_msg(2, 0, 0, B(4, 2), B(3, 0), value(1, 0, 0, 0, false));

	cr_assert_eq(deliver(&a)->reply, TR_REPLY_OK);
	cr_assert(atomic_load(&tr_column_slot(&rep.col[0], 0)->committed) == 0);
}

static void
setup_owner(void)
{
	setup_replica(0);
}

TestSuite(accept_owner, .init = setup_owner, .fini = fx_teardown);

Test(accept_owner, a3_owner_keeps_its_commands_against_a_recoverer_noop)
{
	struct tr_cmd cmd = fx_set(1, 1, 1, "x", "y");
	struct tr_msg a;
	const struct tr_msg *r;

	fx_submit(&cmd);
	fx_flush(0, 10); /* P1: a0 allocated, unvoted */
	cr_assert_eq(out.msg_count, 1);
	a = accept_msg(2, 0, 0, B(5, 2), NONE, value(1, 0, 4, 2, true));
	a.to = 0;
	r = deliver(&a);
	cr_assert_eq(r->reply, TR_REPLY_OK);
	cr_assert_eq(r->value.cmd_count, 1, "client commands win over a NOOP");
	cr_assert_eq(r->value.proposer, 0);
	cr_assert_eq(r->value.deps[2], 4, "deps = max(q.deps, s.deps)");
	cr_assert(!r->ref, "W1: the recoverer sent a NOOP, it gets the commands whole");
}

/* W2: a COMMIT by reference commits what this replica voted at that ballot,
 * and nothing when it voted elsewhere. */
Test(accept, w2_commit_by_reference_needs_the_vote_at_its_ballot)
{
	struct tr_msg a = accept_msg(0, 0, 0, B(3, 0), NONE, value(1, 0, 0, 0, false));
	struct tr_msg other = {.type = TR_MSG_COMMIT, .from = 0, .to = 1, .column = 0, .lsn = 0,
			       .ref = true, .ballot = B(2, 0)};
	struct tr_msg ref = other;
	const struct tr_slot *s;

	cr_assert_eq(deliver(&a)->reply, TR_REPLY_OK);
	deliver(&other);
	s = tr_column_slot(&rep.col[0], 0);
	cr_assert(atomic_load(&s->committed) == 0, "voted at (3,0), not at (2,0)");
	ref.ballot = B(3, 0);
	deliver(&ref);
	cr_assert(atomic_load(&s->committed) == 1);
	cr_assert_eq(s->value.cmd_count, 1);
	cr_assert_eq(s->value.deps[0], 1);
}

/* W1 at the proposer: an OK by reference chooses the owner's own commands
 * with the acceptor's deps; W2: the voter gets the COMMIT by reference, the
 * other peer the whole value. */
Test(accept_owner, w1_ok_by_reference_chooses_own_commands_with_the_acceptors_deps)
{
	struct tr_cmd cmd = fx_set(1, 1, 1, "x", "y");
	struct tr_msg acc, rep_ok;
	const struct tr_slot *s;
	bool saw[TR_REPLICAS] = {false};

	fx_submit(&cmd);
	fx_flush(0, 10);
	cr_assert_eq(out.msg_count, 1);
	acc = out.msgs[0];
	cr_assert_eq(acc.type, TR_MSG_ACCEPT);
	rep_ok = fx_accept_reply(&acc, TR_REPLY_OK);
	rep_ok.ref = true;
	rep_ok.value = (struct tr_value){.deps = {1, 0, 6}};
	fx_deliver(&rep_ok, 20);
	s = tr_column_slot(&rep.col[0], acc.lsn);
	cr_assert(atomic_load(&s->committed) == acc.lsn + 1);
	cr_assert_eq(s->value.cmd_count, 1, "the owner's own commands");
	cr_assert_eq(s->value.proposer, 0);
	cr_assert_eq(s->value.deps[2], 6, "the acceptor's deps");
	for (unsigned i = 0; i < out.msg_count; i++) {
		const struct tr_msg *m = &out.msgs[i];

		if (m->type != TR_MSG_COMMIT)
			continue;
		saw[m->to] = true;
		cr_assert_eq(m->ref, m->to == acc.to, "by reference to the voter only");
		if (m->ref)
			cr_assert_eq(tr_ballot_cmp(m->ballot, acc.ballot), 0);
	}
	cr_assert(saw[1] && saw[2], "COMMIT to both peers");
}

/* P6: replica 2 lost one ACCEPT by chance and has answered nothing since,
 * although its STATUS keeps coming: after suspect_ns it is shunned while
 * replica 1 answers (and, from 4 ms on, lives a new life: J0). Returns the
 * time; slot 0 is committed, b waits in slot 1. */
static uint64_t
shunned_setup(void)
{
	struct tr_cmd a = fx_set(1, 1, 1, "a", "1"), b = fx_set(1, 2, 1, "b", "2");
	const uint64_t ms = 1000000;
	uint64_t now = ms;
	struct tr_msg st, r;

	st = fx_status(1, 0, 0, 0, 0, (const uint64_t[]){0, 0, 0});
	fx_deliver(&st, now);
	st = fx_status(2, 0, 0, 0, 0, (const uint64_t[]){0, 0, 0});
	fx_deliver(&st, now + 1);
	fx_submit(&a);
	fx_flush(0, now + 2);
	cr_assert_not_null(fx_find(TR_MSG_ACCEPT, 2, 0), "the first attempt: the peer heard last");
	now = own()->slots[0].timer_ns;
	fx_tick(0, now); /* lost: the retry goes to replica 1, which votes */
	r = fx_accept_reply(fx_find(TR_MSG_ACCEPT, 1, 0), TR_REPLY_OK);
	r.value = fx_find(TR_MSG_ACCEPT, 1, 0)->value;
	fx_deliver(&r, now);
	cr_assert_eq(own()->committed, 1);

	/* Both stay fresh past suspect_ns. */
	for (now = 2 * ms; now < 2 * ms + 2 * rep.cfg.suspect_ns; now += ms) {
		st = fx_status(1, 0, now > 4 * ms ? 1 : 0, 1, 1, (const uint64_t[]){1, 0, 0});
		fx_deliver(&st, now);
		st = fx_status(2, 0, 0, 1, 1, (const uint64_t[]){1, 0, 0});
		fx_deliver(&st, now);
	}
	fx_submit(&b);
	fx_flush(0, now);
	return now;
}

/* Slot 1's attempts until it commits, replica 1 answering `one` (REJECT:
 * with a promise just above the ballot), replica 2 voting; counts them. */
static void
attempts_until_committed(uint64_t now, uint8_t one, unsigned to[TR_REPLICAS])
{
	for (unsigned i = 0; i < 40 && own()->committed < 2; i++) {
		const struct tr_msg *acc = fx_find(TR_MSG_ACCEPT, FX_ANY, 1);
		struct tr_msg r;

		if (acc == NULL) {
			if (own()->slots[1].timer_ns > now)
				now = own()->slots[1].timer_ns;
			fx_tick(0, now); /* the retry, when its timer says */
			continue;
		}
		to[acc->to]++;
		r = fx_accept_reply(acc, acc->to == 1 ? one : TR_REPLY_OK);
		r.inc = own()->peers[acc->to].inc;
		if (acc->to == 2)
			r.value = acc->value;
		if (r.reply == TR_REPLY_REJECT)
			r.promised = (struct tr_ballot){acc->ballot.n + 1, 1, r.inc};
		fx_deliver(&r, now);
	}
	cr_assert_eq(own()->committed, 2, "slot 1 not committed after %u attempts: %u to "
		     "replica 1, %u to replica 2", to[1] + to[2], to[1], to[2]);
}

/* P6: replica 1 keeps rejecting slot 1 (a proposer above it). Every fourth
 * retry probes the shunned replica 2, which votes: slot 1 commits. Without
 * the probe, every retry goes to replica 1 and the slot never commits (nor
 * does anything after it in this column). */
Test(accept_owner, p6_a_shunned_peer_is_probed_every_fourth_retry)
{
	unsigned to[TR_REPLICAS] = {0};

	attempts_until_committed(shunned_setup(), TR_REPLY_REJECT, to);
	cr_assert_eq(to[1], 3, "the fourth attempt probes replica 2 (%u, %u)", to[1], to[2]);
	cr_assert_eq(to[2], 1);
}

/* J2, J5: replica 1 refuses slot 1 (it restarted without memory, below its
 * floor). A refusal is no contention: the next attempt goes to the other
 * peer at once, shunned or not, and the backoff does not step. */
Test(accept_owner, j2_a_refusal_turns_to_the_other_peer_at_once)
{
	unsigned to[TR_REPLICAS] = {0};
	uint64_t now = shunned_setup();

	attempts_until_committed(now, TR_REPLY_REFUSED, to);
	cr_assert_eq(to[1], 1, "one refusal (%u, %u)", to[1], to[2]);
	cr_assert_eq(to[2], 1);
	cr_assert_eq(own()->slots[1].attempts, 1, "the refused attempt does not count");
}

/* J2, J5: a refusal that comes twice (the network duplicates it) undoes its
 * attempt once: the attempt count never wraps, and the retry goes to the
 * other peer at once. */
Test(accept_owner, j2_a_duplicated_refusal_counts_once)
{
	uint64_t now = shunned_setup();
	const struct tr_msg *acc = fx_find(TR_MSG_ACCEPT, FX_ANY, 1);
	struct tr_msg r;

	cr_assert_not_null(acc);
	cr_assert_eq(acc->to, 1, "the first attempt: the peer that answered last");
	r = fx_accept_reply(acc, TR_REPLY_REFUSED);
	r.inc = own()->peers[1].inc;
	fx_deliver(&r, now);
	fx_deliver(&r, now);
	cr_assert_eq(own()->slots[1].attempts, 0, "undone once: %u", own()->slots[1].attempts);
	fx_tick(0, now);
	acc = fx_find(TR_MSG_ACCEPT, FX_ANY, 1);
	cr_assert(acc != NULL && acc->to == 2, "the other peer, at once");
	cr_assert_eq(own()->slots[1].attempts, 1);
}

/* J2, J5: replica 1 refused slot 1, so the retry went to replica 2, which
 * then falls silent. The refusal does not pin the slot to it: once replica 2
 * is no longer fresh, the retry goes back to replica 1 (a J5 refusal lasts a
 * round trip). Replica 1 refuses once more: with no other peer, the next
 * attempt waits (no retry at once); then it votes. */
Test(accept_owner, j5_a_refusal_does_not_pin_the_slot_to_a_silent_peer)
{
	uint64_t now = shunned_setup();
	const struct tr_msg *acc = fx_find(TR_MSG_ACCEPT, FX_ANY, 1);
	struct tr_msg r, st;
	unsigned to1 = 0;

	cr_assert(acc != NULL && acc->to == 1);
	r = fx_accept_reply(acc, TR_REPLY_REFUSED);
	r.inc = own()->peers[1].inc;
	fx_deliver(&r, now);
	fx_tick(0, now);
	cr_assert_eq(fx_find(TR_MSG_ACCEPT, FX_ANY, 1)->to, 2, "the other peer, at once");
	/* Replica 2 says nothing from now on; replica 1 goes on. */
	for (unsigned i = 0; i < 40 && own()->committed < 2; i++) {
		now += rep.cfg.suspect_ns / 4;
		st = fx_status(1, 0, own()->peers[1].inc, 1, 1, (const uint64_t[]){2, 0, 0});
		fx_deliver(&st, now);
		fx_tick(0, now);
		acc = fx_find(TR_MSG_ACCEPT, FX_ANY, 1);
		if (acc == NULL || acc->to != 1)
			continue;
		to1++;
		r = fx_accept_reply(acc, to1 == 1 ? TR_REPLY_REFUSED : TR_REPLY_OK);
		r.inc = own()->peers[1].inc;
		r.value = acc->value;
		fx_deliver(&r, now);
		if (to1 == 1)
			cr_assert_gt(own()->slots[1].timer_ns, now, "no other peer: it waits");
	}
	cr_assert_eq(own()->committed, 2, "slot 1 committed through replica 1 (%u attempts)", to1);
	cr_assert_eq(to1, 2);
}
