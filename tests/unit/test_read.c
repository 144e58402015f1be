/* The read barrier, Q1-Q3 of PROTOCOL §8, on one replica driven by hand:
 * reads in, READ_INDEX out, replies and commits in, answers from the applier.
 * Also slot recycling (the "recycle" suite), which the same harness drives. */
#include <stdio.h>

#include "replica_fixture.h"

#define ME 0

/* What the applier reported. */
static struct {
	uint64_t seq;
	uint64_t lsn;
	uint8_t status;
	char val[32];
} done[64];
static unsigned ndone;

static void
on_complete(void *ctx, const struct tr_completion *d)
{
	(void)ctx;
	cr_assert_lt(ndone, 64);
	done[ndone].seq = d->seq;
	done[ndone].lsn = d->lsn;
	done[ndone].status = d->res.status;
	done[ndone].val[0] = 0;
	if (d->res.status == TR_ST_OK && d->op == TR_OP_GET)
		snprintf(done[ndone].val, sizeof(done[ndone].val), "%.*s", (int)d->res.val_len,
			 (const char *)d->res.val);
	ndone++;
}

/* barriers: read_barriers_max (1: one barrier in flight at a time). */
static void
setup_n(uint32_t variant, uint32_t batches, uint32_t barriers)
{
	struct tr_config cfg;

	fx_config(&cfg, ME);
	cfg.read_bytes_max = 256;
	cfg.read_batches_max = batches;
	cfg.read_barriers_max = barriers;
	cfg.variant = variant;
	fx_setup(&cfg);
	applier.complete = on_complete;
	ndone = 0;
}

static void
setup_variant(uint32_t variant, uint32_t batches)
{
	setup_n(variant, batches, 1);
}

static void
setup(void)
{
	setup_variant(0, 4);
}

static int
read_key(const char *key, uint64_t seq)
{
	struct tr_cmd c = fx_get(7, seq, 1, key);

	return tr_column_read(own(), &c);
}

/* The only READ_INDEX of the last step (NULL if none; two is a failure). */
static const struct tr_msg *
read_index_sent(void)
{
	const struct tr_msg *m = NULL;

	for (unsigned i = 0; i < out.msg_count; i++) {
		if (out.msgs[i].type != TR_MSG_READ_INDEX)
			continue;
		cr_assert_null(m, "two READ_INDEX in one step");
		m = &out.msgs[i];
		cr_assert_eq(m->from, ME);
		cr_assert_eq(m->column, ME, "the reader's own column");
		cr_assert_neq(m->to, ME);
	}
	return m;
}

static void
reply(uint8_t from, uint64_t id, uint64_t k0, uint64_t k1, uint64_t k2, uint64_t now)
{
	struct tr_msg m = {.type = TR_MSG_READ_INDEX_REPLY, .from = from, .to = ME, .column = ME,
			   .read_id = id, .known = {k0, k1, k2}};

	fx_deliver(&m, now);
}

/* A COMMIT from the column's owner of "set key val" with the given deps. */
static void
commit(uint8_t column, uint64_t lsn, const uint64_t deps[TR_COLUMNS], const char *key,
       const char *val, uint64_t now)
{
	struct tr_cmd c = fx_set(100 + column, lsn + 1, 8, key, val);
	struct tr_msg m = {.type = TR_MSG_COMMIT, .from = column, .to = ME, .column = column,
			   .lsn = lsn, .value = fx_value(&c, deps, column)};

	fx_deliver(&m, now);
}

static unsigned
apply(void)
{
	return tr_apply(&applier, 100);
}

TestSuite(read, .init = setup, .fini = fx_teardown);

Test(read, q1_reads_taken_before_the_send_share_one_barrier)
{
	const struct tr_msg *m;
	uint64_t id1, id2;

	cr_assert_eq(read_key("a", 1), 0);
	cr_assert_eq(read_key("b", 2), 0);
	fx_flush(ME, 1000);
	m = read_index_sent();
	cr_assert_not_null(m);
	id1 = m->read_id;
	cr_assert_eq(own()->stats.read_barriers, 1, "two reads, one READ_INDEX");

	/* Taken after the send: waits for the next barrier. */
	cr_assert_eq(read_key("c", 3), 0);
	fx_flush(ME, 2000);
	cr_assert_null(read_index_sent(), "one barrier in flight at a time");

	reply(m->to, id1, 0, 0, 0, 3000);
	m = read_index_sent();
	cr_assert_not_null(m, "the waiting read starts the next barrier at once");
	id2 = m->read_id;
	cr_assert_neq(id2, id1);
	apply();
	cr_assert_eq(ndone, 2);
	cr_assert_eq(done[0].seq, 1);
	cr_assert_eq(done[1].seq, 2);
	cr_assert_eq(done[0].lsn, TR_LSN_BARRIER);
	cr_assert_eq(done[0].status, TR_ST_NOT_FOUND);

	reply(m->to, id2, 0, 0, 0, 4000);
	apply();
	cr_assert_eq(ndone, 3);
	cr_assert_eq(done[2].seq, 3);
	cr_assert_eq(own()->stats.read_barriers, 2);
}

Test(read, q1_timeout_goes_to_the_other_peer_with_a_new_id)
{
	const struct tr_msg *m;
	uint64_t id1, id2;
	uint8_t peer1;

	cr_assert_eq(read_key("a", 1), 0);
	fx_flush(ME, 1000);
	m = read_index_sent();
	cr_assert_not_null(m);
	id1 = m->read_id;
	peer1 = m->to;
	cr_assert_eq(read_key("b", 2), 0); /* arrives while the first is in flight */

	fx_tick(ME, 1000 + rep.cfg.retry_ns / 4);
	cr_assert_null(read_index_sent(), "no retry before the timeout");
	fx_tick(ME, 1000 + rep.cfg.retry_ns);
	m = read_index_sent();
	cr_assert_not_null(m, "retried after retry_ns");
	id2 = m->read_id;
	cr_assert_neq(id2, id1, "a new id");
	cr_assert_neq(m->to, peer1, "the other peer");
	cr_assert_eq(own()->stats.read_retries, 1);

	/* The first id's answer was captured before "b" was taken: ignored. */
	reply(peer1, id1, 0, 0, 0, 2000 + rep.cfg.retry_ns);
	cr_assert_null(read_index_sent());
	cr_assert_eq(own()->stats.ignored, 1);
	apply();
	cr_assert_eq(ndone, 0);

	/* The new id answers both: "b" was taken before it was sent. */
	reply(m->to, id2, 0, 0, 0, 3000 + rep.cfg.retry_ns);
	apply();
	cr_assert_eq(ndone, 2);
	/* A duplicate of the reply changes nothing. */
	reply(m->to, id2, 0, 0, 0, 4000 + rep.cfg.retry_ns);
	cr_assert_eq(own()->stats.ignored, 2);
	apply();
	cr_assert_eq(ndone, 2);
}

Test(read, q2_merges_known_q_and_q3_waits_until_applied_covers_k)
{
	const struct tr_msg *m;
	const uint64_t b0[] = {0, 1, 0}, b1[] = {0, 2, 1}, c0[] = {0, 1, 1};

	cr_assert_eq(read_key("x", 1), 0);
	fx_flush(ME, 1000);
	m = read_index_sent();
	cr_assert_not_null(m);
	cr_assert_eq(tr_known(&rep, 1), 0);
	reply(m->to, m->read_id, 0, 2, 1, 2000);
	cr_assert_eq(tr_known(&rep, 1), 2, "Q2: known_q merged");
	cr_assert_eq(tr_known(&rep, 2), 1);

	apply();
	cr_assert_eq(ndone, 0, "K = [0,2,1]: nothing applied yet");
	commit(1, 0, b0, "x", "b0", 3000);
	cr_assert_eq(apply(), 1);
	cr_assert_eq(ndone, 0, "b0 applied, b1 and c0 not");
	commit(1, 1, b1, "x", "b1", 4000);
	cr_assert_eq(apply(), 0, "b1 waits for c0 (§7)");
	cr_assert_eq(ndone, 0);
	commit(2, 0, c0, "x", "c0", 5000);
	cr_assert_eq(apply(), 2, "c0, then b1");
	cr_assert_eq(ndone, 1, "applied = [0,2,1] covers K");
	cr_assert_eq(done[0].status, TR_ST_OK);
	cr_assert_str_eq(done[0].val, "b1", "the state after every slot below K");
}

Test(read, q2_merge_starts_recovery_of_a_slot_only_the_peer_knew)
{
	const struct tr_msg *m;
	const struct tr_slot *s;
	bool recovered = false;

	cr_assert_eq(read_key("x", 1), 0);
	fx_flush(ME, 1000);
	m = read_index_sent();
	reply(m->to, m->read_id, 0, 0, 1, 2000); /* c0: known only to the peer */
	/* R1: column 2's timer starts from known; FETCH, then recovery (its
	 * owner is silent). */
	for (uint64_t now = 3000; now < 100 * FX_RTT_NS && !recovered; now += FX_RTT_NS) {
		fx_tick(2, now);
		for (unsigned i = 0; i < out.msg_count; i++)
			if (out.msgs[i].type == TR_MSG_ACCEPT && out.msgs[i].column == 2 &&
			    out.msgs[i].lsn == 0)
				recovered = true;
	}
	s = tr_column_slot(&rep.col[2], 0);
	cr_assert_not_null(s);
	cr_assert_neq(s->seen_ns, 0, "R1: the timer started");
	cr_assert(recovered, "R1: this replica recovers c0 itself");
}

Test(read, a_full_applier_queue_holds_the_batch_back)
{
	const struct tr_msg *m;

	fx_teardown();
	setup_variant(0, 1);
	cr_assert_eq(read_key("a", 1), 0);
	fx_flush(ME, 1000);
	m = read_index_sent();
	reply(m->to, m->read_id, 0, 1, 0, 2000); /* waits for b0 */
	cr_assert_eq(read_key("b", 2), 0);
	fx_flush(ME, 2500);
	m = read_index_sent();
	cr_assert_not_null(m);
	reply(m->to, m->read_id, 0, 0, 0, 3000);
	cr_assert_eq(own()->stats.read_queue_full, 1, "one batch queued, one held");
	cr_assert_eq(own()->barrier_count, 1);
	cr_assert_eq(own()->barriers[own()->barrier_head].state, TR_BARRIER_ANSWERED);
	apply();
	cr_assert_eq(ndone, 0, "FIFO: the held batch is behind the first");
	commit(1, 0, (const uint64_t[]){0, 1, 0}, "a", "b0", 4000);
	apply();
	cr_assert_eq(ndone, 1);
	fx_tick(ME, 4000 + rep.cfg.retry_ns);
	cr_assert_eq(own()->barrier_count, 0, "handed over on a later step");
	apply();
	cr_assert_eq(ndone, 2);
	cr_assert_eq(done[1].seq, 2);
}

Test(read, refusals)
{
	struct tr_cmd set = fx_set(7, 1, 1, "k", "v");
	struct tr_cmd bad = fx_get(7, 1, 0, "k"); /* window 0 */
	struct tr_cmd get = bad;
	unsigned n = 0;

	get.window = 1;
	cr_assert_eq(tr_column_read(&rep.col[1], &get), -1, "owner column only");
	cr_assert_eq(tr_column_read(own(), &set), -1, "reads only");
	cr_assert_eq(tr_column_read(own(), &bad), -1, "a command the applier could not decode");
	while (tr_column_read(own(), &get) == 0)
		n++;
	cr_assert_eq(n, rep.cfg.read_bytes_max / tr_cmd_bytes(&get), "full: back-pressure");
	cr_assert_eq(own()->stats.backpressure, 3);
	cr_assert_eq(rep.col[1].stats.backpressure, 1);
}

Test(read, q1_the_peer_answers_with_its_known)
{
	struct tr_msg m = {.type = TR_MSG_READ_INDEX, .from = 1, .to = ME, .column = 1,
			   .read_id = 99};
	const uint64_t b0[] = {0, 1, 0};

	commit(1, 0, b0, "x", "b0", 500);
	fx_deliver(&m, 1000);
	cr_assert_eq(out.msg_count, 1);
	cr_assert_eq(out.msgs[0].type, TR_MSG_READ_INDEX_REPLY);
	cr_assert_eq(out.msgs[0].to, 1);
	cr_assert_eq(out.msgs[0].column, 1, "in the reader's column");
	cr_assert_eq(out.msgs[0].read_id, 99);
	cr_assert_eq(out.msgs[0].known[0], 0);
	cr_assert_eq(out.msgs[0].known[1], 1);
	cr_assert_eq(out.msgs[0].known[2], 0);

	/* Not in the reader's column: dropped. */
	m.column = 2;
	fx_deliver(&m, 1000);
	cr_assert_eq(out.msg_count, 0);
	cr_assert_eq(rep.col[2].stats.ignored, 1);
	/* A reply for a replica that is not the reader. */
	m.type = TR_MSG_READ_INDEX_REPLY;
	m.column = 1;
	fx_deliver(&m, 1000);
	cr_assert_eq(rep.col[1].stats.ignored, 1);
}

/* Known-bad variants at the unit level: what K each one takes. */
Test(read_variants, no_merge_leaves_known_alone)
{
	const struct tr_msg *m;

	setup_variant(TR_VARIANT_READ_NO_MERGE, 4);
	cr_assert_eq(read_key("x", 1), 0);
	fx_flush(ME, 1000);
	m = read_index_sent();
	reply(m->to, m->read_id, 0, 0, 1, 2000);
	cr_assert_eq(tr_known(&rep, 2), 0, "not merged: no R1 timer for c0");
	cr_assert_eq(rep.shared.read_batches[0].k[2], 1);
	fx_teardown();
}

Test(read_variants, no_barrier_answers_at_once)
{
	setup_variant(TR_VARIANT_READ_NO_BARRIER, 4);
	cr_assert_eq(read_key("x", 1), 0);
	fx_flush(ME, 1000);
	cr_assert_null(read_index_sent());
	apply();
	cr_assert_eq(ndone, 1);
	fx_teardown();
}

Test(read_variants, share_early_takes_reads_sent_after)
{
	const struct tr_msg *m;

	setup_variant(TR_VARIANT_READ_SHARE_EARLY, 4);
	cr_assert_eq(read_key("x", 1), 0);
	fx_flush(ME, 1000);
	m = read_index_sent();
	cr_assert_eq(read_key("y", 2), 0);
	reply(m->to, m->read_id, 0, 0, 0, 2000);
	apply();
	cr_assert_eq(ndone, 2, "known-bad: the later read shares the earlier answer");
	fx_teardown();
}

/* Q1 with several barriers in flight (read_barriers_max 4): each covers the
 * reads taken since the previous send. */
static void
setup_pipeline(void)
{
	setup_n(0, 4, 4);
}

TestSuite(pipeline, .init = setup_pipeline, .fini = fx_teardown);

/* A read, then a flush: the READ_INDEX it sent (one, or a failure). */
static const struct tr_msg *
read_and_send(const char *key, uint64_t seq, uint64_t now)
{
	const struct tr_msg *m;

	cr_assert_eq(read_key(key, seq), 0);
	fx_flush(ME, now);
	m = read_index_sent();
	cr_assert_not_null(m, "a barrier for read %llu", (unsigned long long)seq);
	return m;
}

Test(pipeline, q1_a_read_after_a_send_is_not_covered_by_its_answer)
{
	const struct tr_msg *m;
	uint64_t id1, id2;
	uint8_t to2;

	m = read_and_send("x", 1, 1000);
	id1 = m->read_id;
	m = read_and_send("y", 2, 2000); /* taken after READ_INDEX(id1) left */
	id2 = m->read_id;
	to2 = m->to;
	cr_assert_gt(id2, id1, "ids only grow");
	cr_assert_eq(own()->stats.read_barriers, 2, "no wait for the first answer");

	reply(m->to, id1, 0, 0, 0, 3000);
	cr_assert_eq(rep.shared.read_tail, 1);
	cr_assert_eq(rep.shared.read_batches[0].count, 1, "only the read taken before it");
	apply();
	cr_assert_eq(ndone, 1);
	cr_assert_eq(done[0].seq, 1);

	/* y's own barrier: K covers b0, and y waits for it. */
	reply(to2, id2, 0, 1, 0, 4000);
	apply();
	cr_assert_eq(ndone, 1, "K = [0,1,0]: y waits for b0");
	commit(1, 0, (const uint64_t[]){0, 1, 0}, "y", "b0", 5000);
	apply();
	cr_assert_eq(ndone, 2);
	cr_assert_eq(done[1].seq, 2);
	cr_assert_str_eq(done[1].val, "b0");
}

Test(pipeline, answers_out_of_order_are_handed_over_in_order)
{
	const struct tr_msg *m[3];
	uint8_t to[3];
	uint64_t id[3];

	for (unsigned i = 0; i < 3; i++) {
		m[i] = read_and_send((const char *[]){"a", "b", "c"}[i], i + 1, 1000 * (i + 1));
		id[i] = m[i]->read_id;
		to[i] = m[i]->to;
	}
	cr_assert_eq(own()->barrier_count, 3);

	/* The second answers first: its K serves the first barrier's reads too
	 * (taken before the second send), as one batch, in FIFO order. */
	reply(to[1], id[1], 0, 1, 0, 5000);
	cr_assert_eq(rep.shared.read_tail, 1, "one batch for both");
	cr_assert_eq(rep.shared.read_batches[0].count, 2);
	cr_assert_eq(rep.shared.read_batches[0].k[1], 1);
	cr_assert_eq(own()->barrier_count, 1, "the third still in flight");
	/* The first's answer, late: its barrier is answered already. */
	reply(to[0], id[0], 0, 0, 0, 5500);
	cr_assert_eq(own()->stats.ignored, 1);
	cr_assert_eq(rep.shared.read_tail, 1);

	/* The third, with its own K. */
	reply(to[2], id[2], 0, 0, 0, 6000);
	cr_assert_eq(rep.shared.read_tail, 2);
	cr_assert_eq(rep.shared.read_batches[1].count, 1);
	cr_assert_eq(rep.shared.read_batches[1].k[1], 1, "Q2: known_r, which merged [0,1,0]");
	cr_assert_eq(own()->barrier_count, 0);

	apply();
	cr_assert_eq(ndone, 0, "FIFO: c waits behind a and b (K = [0,1,0])");
	commit(1, 0, (const uint64_t[]){0, 1, 0}, "a", "b0", 7000);
	apply();
	cr_assert_eq(ndone, 3);
	for (unsigned i = 0; i < 3; i++)
		cr_assert_eq(done[i].seq, i + 1, "answered in the order taken");
	cr_assert_str_eq(done[0].val, "b0");
}

Test(pipeline, answers_in_order_keep_their_own_k)
{
	const struct tr_msg *m1, *m2;
	uint64_t id1;
	uint8_t to1;

	m1 = read_and_send("a", 1, 1000);
	id1 = m1->read_id;
	to1 = m1->to;
	m2 = read_and_send("a", 2, 2000);
	reply(to1, id1, 0, 0, 0, 3000);
	reply(m2->to, m2->read_id, 0, 1, 0, 4000);
	cr_assert_eq(rep.shared.read_tail, 2, "two Ks, two batches");
	cr_assert_eq(rep.shared.read_batches[0].k[1], 0);
	cr_assert_eq(rep.shared.read_batches[1].k[1], 1);
	apply();
	cr_assert_eq(ndone, 1, "the first needs nothing applied");
	cr_assert_eq(done[0].status, TR_ST_NOT_FOUND);
}

Test(pipeline, q1_a_timeout_retries_only_that_barrier)
{
	const struct tr_msg *m;
	uint64_t retry = rep.cfg.retry_ns, id1, id2, id3;
	uint8_t to1, to2;

	m = read_and_send("a", 1, 1000);
	id1 = m->read_id;
	to1 = m->to;
	m = read_and_send("b", 2, 1000 + retry / 2);
	id2 = m->read_id;
	to2 = m->to;

	fx_tick(ME, 1000 + retry);
	m = read_index_sent();
	cr_assert_not_null(m, "the first timed out");
	id3 = m->read_id;
	cr_assert_gt(id3, id2, "a new id, above every earlier one");
	cr_assert_neq(m->to, to1, "the other peer");
	cr_assert_eq(own()->stats.read_retries, 1, "the second not retried");
	cr_assert_eq(own()->stats.read_barriers, 3);

	/* The first's earlier id is stale; its new one answers only its read. */
	reply(to1, id1, 0, 0, 0, 1100 + retry);
	cr_assert_eq(rep.shared.read_tail, 0);
	reply(m->to, id3, 0, 0, 0, 1200 + retry);
	cr_assert_eq(rep.shared.read_tail, 1);
	cr_assert_eq(rep.shared.read_batches[0].count, 1);
	cr_assert_eq(own()->barrier_count, 1, "the second still in flight");

	/* The second times out in its turn, on its own clock. */
	fx_tick(ME, 1000 + retry / 2 + retry);
	m = read_index_sent();
	cr_assert_not_null(m);
	cr_assert_neq(m->to, to2);
	cr_assert_eq(own()->stats.read_retries, 2);
	reply(m->to, m->read_id, 0, 0, 0, 2000 + 2 * retry);
	apply();
	cr_assert_eq(ndone, 2);
	cr_assert_eq(done[1].seq, 2);
}

Test(pipeline, at_most_n_in_flight)
{
	const struct tr_msg *m;
	uint64_t id1;
	uint8_t to1;

	m = read_and_send("a", 1, 1000);
	id1 = m->read_id;
	to1 = m->to;
	for (unsigned i = 2; i <= 4; i++)
		read_and_send("a", i, 1000 * i);
	cr_assert_eq(read_key("a", 5), 0);
	fx_flush(ME, 5000);
	cr_assert_null(read_index_sent(), "read_barriers_max in flight");
	reply(to1, id1, 0, 0, 0, 6000);
	m = read_index_sent();
	cr_assert_not_null(m, "an answer makes room: the waiting read goes at once");
	cr_assert_eq(own()->barrier_count, 4);
}

Test(pipeline, sends_are_paced_over_the_round_trip)
{
	const struct tr_msg *m;

	/* A round trip of 8 us measured: with 4 in flight, one send per 2 us. */
	m = read_and_send("a", 1, 1000);
	reply(m->to, m->read_id, 0, 0, 0, 9000);
	cr_assert_eq(own()->read_rtt_ns, 8000);
	read_and_send("a", 2, 10000);
	cr_assert_eq(read_key("a", 3), 0);
	fx_flush(ME, 11000);
	cr_assert_null(read_index_sent(), "too soon after the last send");
	cr_assert_eq(read_key("a", 4), 0);
	fx_tick(ME, 11999);
	cr_assert_null(read_index_sent(), "still too soon");
	cr_assert_eq(out.deadline_ns, 12000, "a tick when it is due");
	fx_tick(ME, 12000);
	m = read_index_sent();
	cr_assert_not_null(m, "one barrier for both reads");
	cr_assert_eq(own()->stats.read_barriers, 3);
	cr_assert_eq(own()->barrier_count, 2);
	cr_assert_eq(own()->barriers[(own()->barrier_head + 1) % 4].count, 3, "reads 3 and 4");
}

/* The FIFO hands over from its front and compacts when its end is reached:
 * a full FIFO takes as many reads again as were handed over. */
Test(pipeline, the_fifo_reuses_what_was_handed_over)
{
	const struct tr_msg *m1, *m2;
	uint64_t seq = 1, id1;
	uint8_t to1;

	m1 = read_and_send("a", seq++, 1000);
	id1 = m1->read_id;
	to1 = m1->to;
	cr_assert_eq(read_key("a", seq++), 0);
	while (read_key("a", seq) == 0)
		seq++;
	fx_flush(ME, 2000);
	m2 = read_index_sent();
	cr_assert_not_null(m2);
	reply(to1, id1, 0, 0, 0, 3000); /* the first read goes; the FIFO is full behind it */
	cr_assert_eq(read_key("a", seq++), 0, "the first read's bytes are free again");
	cr_assert_neq(read_key("a", seq), 0, "and no more");
	reply(m2->to, m2->read_id, 0, 0, 0, 4000);
	m2 = read_index_sent();
	cr_assert_not_null(m2, "the last read's barrier");
	reply(m2->to, m2->read_id, 0, 0, 0, 6000);
	apply();
	cr_assert_eq(ndone, seq - 1);
	for (unsigned i = 0; i < ndone; i++) {
		cr_assert_eq(done[i].seq, i + 1, "in the order taken, decoded whole");
		cr_assert_eq(done[i].status, TR_ST_NOT_FOUND);
	}
}

/* Known-bad at N = 4: an answer serves the reads of the newer barriers. */
Test(read_variants, share_early_with_barriers_in_flight)
{
	const struct tr_msg *m;
	uint64_t id1;
	uint8_t to1;

	setup_n(TR_VARIANT_READ_SHARE_EARLY, 4, 4);
	m = read_and_send("x", 1, 1000);
	id1 = m->read_id;
	to1 = m->to;
	read_and_send("y", 2, 2000);
	reply(to1, id1, 0, 0, 0, 3000);
	apply();
	cr_assert_eq(ndone, 2, "known-bad: the later read shares the earlier answer");
	fx_teardown();
}

/* Recycling (T2): column 1 (replica 1's) fills the 64-slot ring; this
 * replica has applied it all. A cell goes once it is applied here and by one
 * live peer, whatever the other peer says (that one gets TOO_OLD, T1), and
 * the newer half of the ring stays: with 56 slots, the base goes to 24 at
 * most. */
static void
fill_column1(unsigned n, uint64_t now)
{
	for (unsigned lsn = 0; lsn < n; lsn++)
		commit(1, lsn, (const uint64_t[]){0, lsn + 1, 0}, "k", "v", now);
	cr_assert_eq(apply(), n);
	cr_assert_eq(rep.col[1].committed, n);
}

static void
status_from(uint8_t from, uint64_t committed, uint64_t applied, uint64_t now)
{
	struct tr_msg m = fx_status(from, 1, 0, committed, applied,
				    (const uint64_t[]){0, committed, 0}); /* S1: committed <= known */

	fx_deliver(&m, now);
}

TestSuite(recycle, .init = setup, .fini = fx_teardown);

Test(recycle, t2_a_peer_behind_does_not_hold_cells)
{
	fill_column1(56, 1000);
	status_from(1, 56, 56, 2000);
	status_from(2, 56, 5, 3000); /* replica 2 came back far behind */
	fx_tick(1, 4000);
	cr_assert_eq(rep.col[1].base, 56 - 32, "T2: applied here and by replica 1; half kept");
}

Test(recycle, t2_a_silent_peers_last_report_does_not_vouch)
{
	uint64_t suspect = rep.cfg.suspect_ns;

	fill_column1(56, 1000);
	status_from(1, 56, 56, 2000); /* then replica 1 dies */
	status_from(2, 56, 5, 2000 + suspect);
	fx_tick(1, 2000 + suspect + 1000);
	cr_assert_eq(rep.col[1].base, 5, "only the live peer vouches: it is not pushed below");
}

Test(recycle, t2_a_never_heard_peer_does_not_hold_cells)
{
	fill_column1(56, 1000);
	status_from(1, 56, 56, 2000);
	fx_tick(1, 3000);
	cr_assert_eq(rep.col[1].base, 56 - 32);
}

Test(recycle, t2_nothing_goes_that_no_peer_applied)
{
	fill_column1(60, 1000);
	status_from(1, 60, 20, 2000);
	status_from(2, 60, 26, 2000);
	fx_tick(1, 3000);
	cr_assert_eq(rep.col[1].base, 26, "the best peer's applied prefix (below 60 - 32)");
}

Test(recycle_variant, the_old_rule_holds_cells_at_a_returning_peer)
{
	setup_variant(TR_VARIANT_RECYCLE_HOLD, 4);
	fill_column1(56, 1000);
	status_from(1, 56, 56, 2000);
	status_from(2, 56, 5, 3000);
	fx_tick(1, 4000);
	cr_assert_eq(rep.col[1].base, 5, "known-bad: held at the returning peer's prefix");
	fx_teardown();
}

Test(recycle, t1_fetch_and_accept_below_the_base_are_answered_too_old)
{
	struct tr_msg f = {.type = TR_MSG_FETCH, .from = 2, .to = ME, .column = 1,
			   .lsn = 3, .lsn_end = 10};
	struct tr_msg a = {.type = TR_MSG_ACCEPT, .from = 1, .to = ME, .column = 1, .lsn = 7,
			   .ballot = {5, 1, 1}, .value = {.deps = {0, 8, 0}, .proposer = 1}};
	const struct tr_msg *m;

	fill_column1(56, 1000);
	status_from(1, 56, 56, 2000);
	fx_tick(1, 3000);
	cr_assert_eq(rep.col[1].base, 24);
	fx_deliver(&f, 4000);
	m = fx_find(TR_MSG_TOO_OLD, 2, FX_ANY);
	cr_assert_not_null(m, "a FETCH below the base is answered");
	cr_assert_eq(m->lsn, 24, "with the base");
	fx_deliver(&a, 5000);
	m = fx_find(TR_MSG_TOO_OLD, 1, FX_ANY);
	cr_assert_not_null(m, "T1: a retried ACCEPT below the base is answered, never ignored");
	cr_assert_eq(rep.col[1].stats.fetch_too_old, 2);
}

Test(recycle_variant, too_old_ignored_leaves_the_accept_unanswered)
{
	struct tr_msg a = {.type = TR_MSG_ACCEPT, .from = 1, .to = ME, .column = 1, .lsn = 7,
			   .ballot = {5, 1, 1}, .value = {.deps = {0, 8, 0}, .proposer = 1}};

	setup_variant(TR_VARIANT_TOO_OLD_IGNORED, 4);
	fill_column1(56, 1000);
	status_from(1, 56, 56, 2000);
	fx_tick(1, 3000);
	fx_deliver(&a, 5000);
	cr_assert_null(fx_find(TR_MSG_TOO_OLD, 1, FX_ANY));
	fx_teardown();
}

Test(recycle, no_recycling_below_three_quarters_of_the_ring)
{
	fill_column1(40, 1000);
	status_from(1, 40, 40, 2000);
	status_from(2, 40, 40, 2000);
	fx_tick(1, 3000);
	cr_assert_eq(rep.col[1].base, 0, "40 of 64 cells: recycling is lazy");
}

/* Issue 13: limits that can refuse a command belong to the cluster. A peer
 * with other ones stops this replica, and the reason names both values. */
Test(recycle, a_peer_with_other_state_machine_limits_stops_the_replica)
{
	struct tr_msg m = fx_status(2, 1, 0, 0, 0, (const uint64_t[]){0, 0, 0});
	char want[64];

	m.sm_keys_max++;
	status_from(1, 0, 0, 1000);
	cr_assert_eq(atomic_load(&rep.shared.violation), 0, "equal limits: no stop");
	fx_deliver(&m, 2000);
	cr_assert_eq(atomic_load(&rep.shared.violation), 1);
	snprintf(want, sizeof(want), "keys_max %llu here, %llu at replica 2",
		 (unsigned long long)rep.cfg.sm_keys_max,
		 (unsigned long long)rep.cfg.sm_keys_max + 1);
	cr_assert(strstr(rep.violation_why, want) != NULL, "%s", rep.violation_why);
	fx_tick(1, 1000000000);
	cr_assert_eq(out.msg_count, 0, "a stopped replica stays silent");
}
