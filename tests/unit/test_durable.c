/* §12 S1-S3: the durable record codec (durable.h). */
#include "durable.h"
#include "replica_fixture.h"

static uint8_t cmds[256];

/* A slot record voted at (3, inc 2, r1), promised (4, 1, r2), holding two
 * SET commands. */
static struct tr_durable_rec
slot_rec(void)
{
	struct tr_durable_rec rec;
	struct tr_cmd c = {.op = TR_OP_SET, .window = 4, .client_id = 77, .seq = 9,
			   .key = (const uint8_t *)"key", .key_len = 3,
			   .val = (const uint8_t *)"value", .val_len = 5};
	size_t n;

	memset(&rec, 0, sizeof(rec));
	n = tr_cmd_encode(cmds, sizeof(cmds), &c);
	c.seq = 10;
	n += tr_cmd_encode(cmds + n, sizeof(cmds) - n, &c);
	rec.kind = TR_DURABLE_SLOT;
	rec.column = 2;
	rec.lsn = 123456789;
	rec.promised = (struct tr_ballot){.n = 4, .replica = 2, .inc = 1};
	rec.vbal = (struct tr_ballot){.n = 3, .replica = 1, .inc = 2};
	rec.has_value = true;
	rec.committed = true;
	rec.value = (struct tr_value){.deps = {5, 6, 123456790}, .proposer = 2, .cmd_count = 2,
				      .cmds_len = (uint32_t)n, .cmds = cmds};
	return rec;
}

static void
assert_same(const struct tr_durable_rec *a, const struct tr_durable_rec *b)
{
	cr_assert_eq(a->kind, b->kind);
	cr_assert_eq(a->column, b->column);
	if (a->kind == TR_DURABLE_KNOWN) {
		cr_assert_arr_eq(a->known, b->known, sizeof(a->known));
		return;
	}
	cr_assert_eq(a->lsn, b->lsn);
	cr_assert_eq(tr_ballot_cmp(a->promised, b->promised), 0);
	cr_assert_eq(tr_ballot_cmp(a->vbal, b->vbal), 0);
	cr_assert_eq(a->has_value, b->has_value);
	cr_assert_eq(a->committed, b->committed);
	if (!a->has_value)
		return;
	cr_assert_arr_eq(a->value.deps, b->value.deps, sizeof(a->value.deps));
	cr_assert_eq(a->value.proposer, b->value.proposer);
	cr_assert_eq(a->value.cmd_count, b->value.cmd_count);
	cr_assert_eq(a->value.cmds_len, b->value.cmds_len);
	if (a->value.cmds_len != 0)
		cr_assert_arr_eq(a->value.cmds, b->value.cmds, a->value.cmds_len);
}

/* Encodes recs back to back into log (zeroed after), returns the bytes. */
static size_t
write_log(uint8_t *log, size_t cap, const struct tr_durable_rec *recs, unsigned n)
{
	size_t off = 0;

	memset(log, 0, cap);
	for (unsigned i = 0; i < n; i++) {
		size_t w = tr_durable_encode(log + off, cap - off, &recs[i]);

		cr_assert_eq(w, tr_durable_bytes(&recs[i]));
		off += w;
	}
	return off;
}

Test(durable, round_trip)
{
	struct tr_durable_rec recs[4], got;
	uint8_t log[1024];
	size_t len, off = 0, used;
	unsigned i = 0;

	recs[0] = slot_rec();
	recs[1] = slot_rec();
	recs[1].committed = false;
	recs[1].vbal = (struct tr_ballot){0};
	recs[1].value = (struct tr_value){.deps = {1, 2, 3}, .proposer = 0}; /* a NOOP */
	memset(&recs[2], 0, sizeof(recs[2]));
	recs[2].kind = TR_DURABLE_SLOT; /* a bare promise */
	recs[2].column = 0;
	recs[2].lsn = 0;
	recs[2].promised = (struct tr_ballot){.n = 1, .replica = 0, .inc = 1};
	memset(&recs[3], 0, sizeof(recs[3]));
	recs[3].kind = TR_DURABLE_KNOWN;
	recs[3].column = 1;
	recs[3].known[0] = 10;
	recs[3].known[1] = TR_LSN_MAX;
	recs[3].known[2] = 1;
	len = write_log(log, sizeof(log), recs, 4);
	for (;;) {
		int rc = tr_durable_decode(log + off, sizeof(log) - off, &got, &used);

		if (rc == TR_DURABLE_END)
			break;
		cr_assert_eq(rc, TR_DURABLE_OK, "record %u: rc %d", i, rc);
		cr_assert_lt(i, 4u);
		assert_same(&recs[i], &got);
		if (got.has_value && got.value.cmds_len != 0)
			cr_assert(got.value.cmds == log + off + used - got.value.cmds_len,
				  "cmds point into the log");
		off += used;
		i++;
	}
	cr_assert_eq(i, 4u);
	cr_assert_eq(off, len);
	/* A short buffer: nothing written. */
	cr_assert_eq(tr_durable_encode(log, tr_durable_bytes(&recs[0]) - 1, &recs[0]), 0);
}

Test(durable, end_on_zero_word_or_short_tail)
{
	uint8_t log[64] = {0};
	struct tr_durable_rec got;
	size_t used = 99;

	cr_assert_eq(tr_durable_decode(log, sizeof(log), &got, &used), TR_DURABLE_END);
	cr_assert_eq(used, 0);
	log[0] = 20; /* a length, but fewer than 8 bytes in all */
	cr_assert_eq(tr_durable_decode(log, 7, &got, &used), TR_DURABLE_END);
}

Test(durable, torn_when_length_runs_past)
{
	struct tr_durable_rec rec = slot_rec(), got;
	uint8_t log[512];
	size_t len = write_log(log, sizeof(log), &rec, 1), used;

	for (size_t cut = TR_DURABLE_HDR_BYTES; cut < len; cut++)
		cr_assert_eq(tr_durable_decode(log, cut, &got, &used), TR_DURABLE_TORN,
			     "cut at %zu", cut);
	cr_assert_eq(tr_durable_decode(log, len, &got, &used), TR_DURABLE_OK);
	cr_assert_eq(used, len);
}

Test(durable, bad_on_any_flipped_byte)
{
	struct tr_durable_rec recs[2], got;
	uint8_t log[512];
	size_t len, used;

	recs[0] = slot_rec();
	memset(&recs[1], 0, sizeof(recs[1]));
	recs[1].kind = TR_DURABLE_KNOWN;
	recs[1].known[2] = 7;
	len = write_log(log, sizeof(log), recs, 2);
	/* Every byte after the length word: CRC or body. (A flipped length
	 * word gives TORN, BAD or a record boundary elsewhere; the CRC of the
	 * shifted body catches the last.) */
	for (size_t at = 4; at < len; at++) {
		size_t rec0 = tr_durable_bytes(&recs[0]);
		size_t start = at < rec0 ? 0 : rec0;

		if (at >= rec0 && at < rec0 + 4)
			continue;
		log[at] ^= 0x10;
		cr_assert_eq(tr_durable_decode(log + start, sizeof(log) - start, &got, &used),
			     TR_DURABLE_BAD, "byte %zu", at);
		log[at] ^= 0x10;
	}
	cr_assert_eq(tr_durable_decode(log, sizeof(log), &got, &used), TR_DURABLE_OK);
}

/* A body whose CRC is right but whose fields are impossible is BAD too. */
Test(durable, bad_on_impossible_fields)
{
	struct tr_durable_rec rec = slot_rec(), got;
	uint8_t log[512];
	size_t used;

	rec.column = 3;
	write_log(log, sizeof(log), &rec, 1);
	cr_assert_eq(tr_durable_decode(log, sizeof(log), &got, &used), TR_DURABLE_BAD);
	rec = slot_rec();
	rec.vbal.replica = 3;
	write_log(log, sizeof(log), &rec, 1);
	cr_assert_eq(tr_durable_decode(log, sizeof(log), &got, &used), TR_DURABLE_BAD);
	rec = slot_rec();
	rec.value.cmd_count = 3; /* two commands in the bytes */
	write_log(log, sizeof(log), &rec, 1);
	cr_assert_eq(tr_durable_decode(log, sizeof(log), &got, &used), TR_DURABLE_BAD);
	rec = slot_rec();
	rec.kind = 7;
	write_log(log, sizeof(log), &rec, 1);
	cr_assert_eq(tr_durable_decode(log, sizeof(log), &got, &used), TR_DURABLE_BAD);
}

/* S1 and S2 in the engine: records reported through cfg.durable, written
 * to a byte log, restored into a new life of the replica. */

struct disk {
	uint8_t buf[1 << 16];
	size_t len;
	unsigned records;
	unsigned lazy; /* S4: records whose sync may come after the send */
};

static struct disk disk;

static void
disk_append(void *arg, const struct tr_durable_rec *rec)
{
	struct disk *d = arg;
	size_t n = tr_durable_encode(d->buf + d->len, sizeof(d->buf) - d->len, rec);

	cr_assert_gt(n, 0, "the test's log is full");
	d->len += n;
	d->records++;
	d->lazy += rec->lazy;
}

/* The fixture's replica on cfg with the test's disk, at incarnation inc;
 * vouched for (J5) by a peer's first STATUS when vouch. */
static struct tr_replica *
replica_vouched(struct tr_config *cfg, uint32_t inc, bool vouch)
{
	cfg->incarnation = inc;
	cfg->durable = disk_append;
	cfg->durable_arg = &disk;
	if (vouch)
		fx_setup(cfg);
	else
		fx_init(cfg);
	return &rep;
}

static struct tr_replica *
replica_on(struct tr_config *cfg, uint32_t inc)
{
	return replica_vouched(cfg, inc, true);
}

/* The fixture's replica (fx_config) with the test's disk. */
static struct tr_replica *
replica_new(uint8_t id, uint32_t inc)
{
	struct tr_config cfg;

	fx_config(&cfg, id);
	return replica_on(&cfg, inc);
}

/* S2: the next life (inc + 1) from every record on the disk; vouched for
 * by a peer (J5) before anything else when vouch. */
static struct tr_replica *
restart_from_disk(struct tr_replica *old, uint64_t now, bool vouch)
{
	struct tr_config cfg;
	uint32_t inc = tr_replica_inc(old) + 1;
	struct tr_replica *r;
	struct tr_durable_rec rec;
	size_t off = 0, used;

	fx_config(&cfg, old->cfg.id);
	fx_teardown();
	r = replica_vouched(&cfg, inc, vouch);
	while (tr_durable_decode(disk.buf + off, disk.len - off, &rec, &used) == TR_DURABLE_OK) {
		cr_assert_eq(tr_replica_restore(r, &rec, now), 0);
		off += used;
	}
	cr_assert_eq(off, disk.len, "every record decodes");
	tr_replica_restored(r, now);
	return r;
}

static struct tr_replica *
replica_restart(struct tr_replica *old, uint64_t now)
{
	return restart_from_disk(old, now, true);
}

static const struct tr_msg *
step_recv(const struct tr_msg *m, uint64_t now, int want_type)
{
	fx_deliver(m, now);
	return fx_sent(want_type);
}

/* slot_rec's two commands, deps [1, 0, 0]. */
static struct tr_value
two_sets(uint8_t proposer)
{
	struct tr_value v = slot_rec().value;

	v.proposer = proposer;
	memset(v.deps, 0, sizeof(v.deps));
	v.deps[0] = 1;
	return v;
}

static void
disk_reset(void)
{
	memset(&disk, 0, sizeof(disk));
}

/* A vote (with its value) and its promise survive: a lower ballot is
 * refused, and a higher one without a vote gets the voted value back (A3),
 * not the proposer's NOOP. */
Test(durable_engine, vote_and_promise_survive_a_restart, .init = disk_reset)
{
	struct tr_replica *r = replica_new(1, 1);
	struct tr_msg m = {.type = TR_MSG_ACCEPT, .from = 0, .to = 1, .column = 0, .lsn = 0,
			   .ballot = {.n = 2, .replica = 0, .inc = 1}, .value = two_sets(0)};
	const struct tr_msg *ans;

	ans = step_recv(&m, 1000, TR_MSG_ACCEPT_REPLY);
	cr_assert(ans != NULL && ans->reply == TR_REPLY_OK);
	cr_assert_eq(disk.records, 1, "S1: one record for the vote");
	r = replica_restart(r, 2000);
	cr_assert_eq(tr_replica_inc(r), 2);
	cr_assert(tr_replica_serving(r) && tr_replica_rejoined(r), "S2: votes at once");

	m.ballot = (struct tr_ballot){.n = 1, .replica = 2, .inc = 1};
	m.from = 2;
	m.value = (struct tr_value){.deps = {1, 0, 0}, .proposer = 2}; /* a NOOP */
	ans = step_recv(&m, 3000, TR_MSG_ACCEPT_REPLY);
	cr_assert(ans != NULL && ans->reply == TR_REPLY_REJECT, "A1: the promise (2,0) is kept");
	cr_assert_eq(ans->promised.n, 2);
	m.ballot.n = 3;
	ans = step_recv(&m, 4000, TR_MSG_ACCEPT_REPLY);
	cr_assert(ans != NULL && ans->reply == TR_REPLY_OK);
	cr_assert_eq(ans->value.cmd_count, 2, "A3: the vote at (2,0) wins over the NOOP");
	fx_teardown();
}

/* The owner's allocation survives: the restarted owner retries lsn 0 with
 * the same commands at a higher ballot; S4: it allocates new commands past
 * the lazy span (committed prefix 0 + TR_LAZY_SPAN) and attempts the slots
 * between (a NOOP, where nothing is left). */
Test(durable_engine, allocation_survives_a_restart, .init = disk_reset)
{
	struct tr_replica *r = replica_new(0, 1);
	struct tr_cmd cmd = fx_set(5, 1, 1, "k", "v");
	const struct tr_msg *a;
	unsigned lazy, records;

	fx_submit(&cmd);
	fx_flush(0, 1000);
	a = fx_find(TR_MSG_ACCEPT, FX_ANY, 0);
	cr_assert(a != NULL && a->value.cmd_count == 1);
	cr_assert_eq(disk.records, 1, "S1: the allocation and its promise, one record");
	cr_assert_eq(disk.lazy, 1, "S4: a first attempt's record is lazy");

	r = replica_restart(r, 2000);
	cr_assert_eq(r->col[0].next_lsn, TR_LAZY_SPAN, "S4: past the lazy span");
	lazy = disk.lazy;
	records = disk.records;
	fx_tick(0, 2000);
	cr_assert_eq(disk.records - records, TR_LAZY_SPAN);
	cr_assert_eq(disk.lazy - lazy, TR_LAZY_SPAN - 1, "S4: the first attempts are "
		     "lazy, not the retry of lsn 0 at (2, 0, 2)");
	a = fx_find(TR_MSG_ACCEPT, FX_ANY, 0);
	cr_assert(a != NULL, "P6: the restored own slot is retried");
	cr_assert_eq(a->value.cmd_count, 1);
	cr_assert_gt(a->ballot.n, 1);
	cr_assert_eq(a->ballot.inc, 2);
	for (uint64_t lsn = 1; lsn < TR_LAZY_SPAN; lsn++) {
		a = fx_find(TR_MSG_ACCEPT, FX_ANY, lsn);
		cr_assert(a != NULL && a->value.cmd_count == 0, "S4: lsn %lu attempted (a NOOP)",
			  (unsigned long)lsn);
	}
	cmd.seq = 2;
	fx_submit(&cmd);
	fx_flush(0, 3000);
	cr_assert_eq(fx_count(TR_MSG_ACCEPT), 0, "P1: the window is full until the gap commits");
	for (uint64_t lsn = 0; lsn < TR_LAZY_SPAN; lsn++) {
		struct tr_msg m = {.type = TR_MSG_COMMIT, .from = 1, .to = 0, .column = 0,
				   .lsn = lsn, .value = {.deps = {lsn + 1, 0, 0}, .proposer = 1}};

		fx_deliver(&m, 4000);
	}
	/* The last COMMIT's step allocated them: lsn 0's command again (P7:
	 * a NOOP took its slot) and the new one. */
	cr_assert_eq(r->col[0].committed, TR_LAZY_SPAN);
	cr_assert_eq(r->col[0].next_lsn, TR_LAZY_SPAN + 2,
		     "P1: new instances from TR_LAZY_SPAN on");
	fx_teardown();
}

/* S4: a first attempt is lazy only below the committed prefix plus
 * TR_LAZY_SPAN, the span a restart skips whatever inflight_max it has then:
 * with 40 single-command instances in flight from lsn 0, the first 32
 * records are lazy and the last 8 are not. */
Test(durable_engine, a_first_attempt_past_the_span_is_not_lazy, .init = disk_reset)
{
	struct tr_config cfg;

	fx_config(&cfg, 0);
	cfg.log_slots_max = 128;
	cfg.inflight_max = 64;
	cfg.batch_cmds_max = 1;
	cfg.pending_bytes_max = 4096;
	replica_on(&cfg, 1);
	for (unsigned i = 0; i < 40; i++) {
		struct tr_cmd cmd = fx_set(5, i + 1, 64, "k", "v");

		fx_submit(&cmd);
	}
	fx_flush(0, 1000);
	cr_assert_eq(fx_count(TR_MSG_ACCEPT), 40);
	cr_assert_eq(disk.records, 40);
	cr_assert_eq(disk.lazy, TR_LAZY_SPAN, "%u of the 40 first attempts lazy", disk.lazy);
	fx_teardown();
}

/* S2/S4: a restart allocates past what its last life revealed of its own
 * column (known[own] in a READ_INDEX_REPLY, or in the deps of a vote
 * another column synced first): a slot below that may be voted by a peer. */
Test(durable_engine, a_restart_allocates_past_what_it_revealed, .init = disk_reset)
{
	struct tr_replica *r = replica_new(0, 1);
	struct tr_durable_rec rec = {.kind = TR_DURABLE_KNOWN, .column = 1, .known = {50, 0, 0}};

	disk_append(&disk, &rec);
	r = replica_restart(r, 2000);
	cr_assert_eq(r->col[0].next_lsn, 50, "next lsn %lu, known[0] 50",
		     (unsigned long)r->col[0].next_lsn);
	fx_teardown();
}

/* A new directory's first life (incarnation 1) has lost nothing: no S4 gap,
 * no assumed promise; its first command goes to lsn 0. */
Test(durable_engine, a_new_directory_starts_at_lsn_0, .init = disk_reset)
{
	struct tr_replica *r = replica_new(0, 1);
	struct tr_cmd cmd = fx_set(5, 1, 1, "k", "v");

	tr_replica_restored(r, 1000);
	cr_assert_eq(r->col[0].next_lsn, 0);
	cr_assert_eq(r->col[0].promise_floor.n, 0);
	fx_submit(&cmd);
	fx_flush(0, 2000);
	cr_assert(fx_find(TR_MSG_ACCEPT, FX_ANY, 0) != NULL);
	cr_assert_eq(fx_count(TR_MSG_ACCEPT), 1, "no NOOPs for a gap");
	fx_teardown();
}

/* S4: the owner's first attempt leaves before its record is durable, and a
 * crash can lose it; the peer that voted it keeps the vote at (1, owner,
 * inc). The restarted owner (inc 2) assumes that promise in every own slot:
 * an ACCEPT at a lower ballot, (1, 1, 1) from replica 1, is refused. Voting
 * it would let replica 1's NOOP be chosen with this replica while replica
 * 0's vote at the higher (1, 2, 1) can still be chosen later: two values. */
Test(durable_engine, a_lost_first_attempt_keeps_its_promise, .init = disk_reset)
{
	struct tr_replica *r = replica_new(2, 1);
	struct tr_cmd cmd = fx_set(5, 1, 1, "k", "v");
	struct tr_msg m = {.type = TR_MSG_ACCEPT, .from = 1, .to = 2, .column = 2, .lsn = 0,
			   .ballot = {.n = 1, .replica = 1, .inc = 1}};
	const struct tr_msg *a;

	fx_submit(&cmd);
	fx_flush(2, 1000);
	a = fx_find(TR_MSG_ACCEPT, FX_ANY, 0);
	cr_assert(a != NULL && a->ballot.n == 1 && a->ballot.replica == 2 && a->ballot.inc == 1);
	cr_assert_eq(disk.lazy, 1, "S4: the first attempt's record is lazy");
	disk_reset(); /* the crash came before its sync */

	r = replica_restart(r, 2000);
	cr_assert_eq(tr_replica_inc(r), 2);
	m.value = (struct tr_value){.deps = {0, 0, 1}, .proposer = 1}; /* a NOOP */
	a = step_recv(&m, 3000, TR_MSG_ACCEPT_REPLY);
	cr_assert(a != NULL && a->reply == TR_REPLY_REJECT, "S4: (1, 1, 1) is below the "
		  "promise the lost first attempt made, (1, 2, 1)");
	cr_assert_eq(a->promised.n, 1);
	cr_assert_eq(a->promised.replica, 2);
	m.ballot.n = 2;
	a = step_recv(&m, 4000, TR_MSG_ACCEPT_REPLY);
	cr_assert(a != NULL && a->reply == TR_REPLY_OK, "a higher ballot is voted");
	fx_teardown();
}

/* A commit survives, and A0 answers from it. */
Test(durable_engine, commit_survives_a_restart, .init = disk_reset)
{
	struct tr_replica *r = replica_new(1, 1);
	struct tr_msg m = {.type = TR_MSG_COMMIT, .from = 0, .to = 1, .column = 0, .lsn = 0,
			   .value = two_sets(0)};
	const struct tr_msg *ans;

	step_recv(&m, 1000, 0);
	cr_assert_eq(r->col[0].committed, 1);
	cr_assert_eq(disk.records, 1);
	r = replica_restart(r, 2000);
	cr_assert_eq(r->col[0].committed, 1);
	m.type = TR_MSG_ACCEPT;
	m.ballot = (struct tr_ballot){.n = 5, .replica = 2, .inc = 1};
	m.from = 2;
	m.value = (struct tr_value){.deps = {1, 0, 0}, .proposer = 2};
	ans = step_recv(&m, 3000, TR_MSG_ACCEPT_REPLY);
	cr_assert(ans != NULL && ans->reply == TR_REPLY_OK_COMMITTED);
	cr_assert_eq(ans->value.cmd_count, 2);
	fx_teardown();
}

/* The known a READ_INDEX_REPLY reveals is durable before it leaves, once:
 * a second reply that reveals nothing new writes nothing. */
Test(durable_engine, known_revealed_survives_a_restart, .init = disk_reset)
{
	struct tr_replica *r = replica_new(1, 1);
	struct tr_msg join = {.type = TR_MSG_JOIN, .from = 0, .to = 1, .column = 0, .read_id = 7};
	struct tr_msg ri = {.type = TR_MSG_READ_INDEX, .from = 2, .to = 1, .column = 2,
			    .read_id = 1};
	const struct tr_msg *ans;

	step_recv(&join, 1000, 0); /* J3: known[0] rises to inflight_max */
	cr_assert_eq(tr_known(r, 0), 8);
	cr_assert_eq(disk.records, 0);
	ans = step_recv(&ri, 2000, TR_MSG_READ_INDEX_REPLY);
	cr_assert(ans != NULL && ans->known[0] == 8);
	cr_assert_eq(disk.records, 1, "S1: known before the reply");
	ri.read_id = 2;
	step_recv(&ri, 3000, TR_MSG_READ_INDEX_REPLY);
	cr_assert_eq(disk.records, 1, "nothing new revealed, nothing written");
	r = replica_restart(r, 4000);
	cr_assert_eq(tr_known(r, 0), 8);
	fx_teardown();
}

/* S3 at restore: a record that cannot be this replica's is damage. */
Test(durable_engine, restore_refuses_impossible_records, .init = disk_reset)
{
	struct tr_replica *r = replica_new(1, 2);
	struct tr_durable_rec rec = slot_rec();

	rec.column = 0;
	rec.lsn = 3;
	rec.committed = false;
	rec.vbal = (struct tr_ballot){0};
	rec.promised = (struct tr_ballot){.n = 1, .replica = 1, .inc = 2};
	cr_assert_eq(tr_replica_restore(r, &rec, 0), -1, "J0: its own ballot of this life");
	rec.promised.inc = 1;
	cr_assert_eq(tr_replica_restore(r, &rec, 0), 0, "its own ballot of an earlier life");
	rec.lsn = 64; /* beyond the ring from base 0 */
	cr_assert_eq(tr_replica_restore(r, &rec, 0), -1, "beyond the ring");
	rec.lsn = 3;
	rec.column = 3;
	cr_assert_eq(tr_replica_restore(r, &rec, 0), -1, "no such column");
	fx_teardown();
}

/* Replica 0 on cfg as a joiner, through J1: its JOIN, both peers' answers
 * (each saw it last at incarnation inc_seen, and had seen known, or none). */
static void
join_through(struct tr_config *cfg, uint32_t inc_seen, const uint64_t *known)
{
	const struct tr_msg *join;
	uint64_t join_id;

	cfg->join = true;
	fx_setup(cfg);
	cr_assert(tr_replica_vouched(&rep), "J1 stands for J5");
	fx_tick(0, 1);
	join = fx_sent(TR_MSG_JOIN);
	cr_assert_not_null(join, "J1: JOIN sent");
	join_id = join->read_id; /* out is the next step's */
	for (uint8_t q = 1; q < TR_REPLICAS; q++) {
		struct tr_msg a = {.type = TR_MSG_JOIN_REPLY, .from = q, .to = 0, .column = 0,
				   .inc = 1, .read_id = join_id, .inc_seen = inc_seen};

		for (unsigned c = 0; known != NULL && c < TR_COLUMNS; c++)
			a.known[c] = known[c];
		step_recv(&a, 10, 0);
	}
}

/* J0 with a disk: a joiner takes an incarnation above its floor (the disk's
 * last one) even when both peers report an older one (they restarted and
 * forgot it). */
Test(durable_engine, a_joiner_starts_above_its_floor, .init = disk_reset)
{
	struct tr_config cfg;

	fx_config(&cfg, 0);
	cfg.join_inc_floor = 7;
	join_through(&cfg, 2, NULL);
	cr_assert_eq(tr_replica_inc(&rep), 8, "J0: above the floor 7, not the peers' 2");
	fx_teardown();
}

/* A peer's NOOP commit of slot lsn of column c. */
static void
commit_noop(uint8_t c, uint64_t lsn, uint64_t now)
{
	struct tr_msg m = {.type = TR_MSG_COMMIT, .from = 1, .to = 0, .column = c, .lsn = lsn,
			   .inc = 1, .ballot = {.n = 1, .replica = 1, .inc = 1},
			   .value = {.proposer = 1}};

	fx_deliver(&m, now);
}

/* J2: a joiner serves once it has applied its peers' frontier (here
 * nothing), but counts as rejoined only once every slot below its floors is
 * committed here: the peers' known in columns 1 (3) and 2 (0), and its own
 * column's known plus inflight_max (J3: 0 + 8). Until then a second failure
 * could leave those slots to one replica for good (docs/protocol.md). */
Test(durable_engine, a_joiner_rejoins_once_its_floors_are_committed, .init = disk_reset)
{
	struct tr_config cfg;
	uint64_t now = 20;

	fx_config(&cfg, 0);
	join_through(&cfg, 1, (const uint64_t[]){0, 3, 0});
	for (uint8_t c = 0; c < TR_COLUMNS; c++)
		fx_tick(c, now);
	cr_assert(tr_replica_serving(&rep), "J4: nothing to apply");
	cr_assert_not(tr_replica_rejoined(&rep), "J2: slots below the floors undecided");
	for (uint64_t l = 0; l < 3; l++)
		commit_noop(1, l, now);
	for (uint64_t l = 0; l + 1 < cfg.inflight_max; l++)
		commit_noop(0, l, now);
	cr_assert_eq(rep.col[0].committed, cfg.inflight_max - 1);
	cr_assert_not(tr_replica_rejoined(&rep), "its own column's last abandoned slot is open");
	commit_noop(0, cfg.inflight_max - 1, now);
	cr_assert(tr_replica_rejoined(&rep), "every floor committed: rejoined, without a tick");
	fx_teardown();
}

/* J5: a peer's STATUS in column c, in the life the replica knows it by, with
 * its committed prefix there and its echo of this replica's (heard). */
static struct tr_msg
status_echo(uint8_t from, uint8_t column, uint64_t committed, uint64_t heard)
{
	return (struct tr_msg){.type = TR_MSG_STATUS, .from = from, .to = rep.cfg.id,
			       .column = column, .inc = rep.col[column].peers[from].inc,
			       .committed = committed,
			       .applied = committed, .known = {committed, committed, committed},
			       .sm_keys_max = rep.cfg.sm_keys_max,
			       .sm_clients_max = rep.cfg.sm_clients_max, .heard = heard};
}

/* J5: a restart from disk votes, proposes and answers READ_INDEX only once
 * a peer's STATUS has vouched for its memory in every column: before, an
 * ACCEPT gets REFUSED (the proposer turns to the other peer), a READ_INDEX
 * no answer, and its own attempt (its allocation, restored) waits. */
Test(durable_engine, a_restart_votes_once_a_peer_vouched, .init = disk_reset)
{
	struct tr_replica *r = replica_new(1, 1);
	struct tr_cmd cmd = fx_set(5, 1, 1, "k", "v");
	struct tr_msg m = {.type = TR_MSG_ACCEPT, .from = 0, .to = 1, .column = 0, .lsn = 0,
			   .ballot = {.n = 1, .replica = 0, .inc = 1}, .value = two_sets(0)};
	struct tr_msg ri = {.type = TR_MSG_READ_INDEX, .from = 2, .to = 1, .column = 2,
			    .inc = 1, .read_id = 9};
	struct tr_msg join = {.type = TR_MSG_JOIN, .from = 2, .to = 1, .column = 2,
			      .read_id = 77};
	const struct tr_msg *ans;

	fx_submit(&cmd);
	fx_flush(1, 1000);
	cr_assert_not_null(fx_find(TR_MSG_ACCEPT, FX_ANY, 0), "P1: lsn 0 of column 1");
	r = restart_from_disk(r, 2000, false);
	cr_assert_not(tr_replica_vouched(r));
	ans = step_recv(&m, 3000, TR_MSG_ACCEPT_REPLY);
	cr_assert(ans != NULL && ans->reply == TR_REPLY_REFUSED, "J5: no vote yet");
	cr_assert_null(step_recv(&ri, 3000, TR_MSG_READ_INDEX_REPLY), "J5: known not revealed");
	cr_assert_null(step_recv(&join, 3000, TR_MSG_JOIN_REPLY), "J5: nor to a joiner");
	fx_tick(1, 4000);
	cr_assert_null(fx_sent(TR_MSG_ACCEPT), "J5: the restored attempt waits");
	for (uint8_t c = 0; c < 2; c++) {
		struct tr_msg st = status_echo(c == 0 ? 0 : 2, c, 0, 0);

		fx_deliver(&st, 5000);
	}
	cr_assert_not(tr_replica_vouched(r), "column 2 has not been vouched for");
	cr_assert_eq(step_recv(&m, 5000, TR_MSG_ACCEPT_REPLY)->reply, TR_REPLY_REFUSED);
	{
		struct tr_msg st = status_echo(0, 2, 0, 0);

		fx_deliver(&st, 6000);
	}
	cr_assert(tr_replica_vouched(r));
	m.ballot.n = 2;
	ans = step_recv(&m, 7000, TR_MSG_ACCEPT_REPLY);
	cr_assert(ans != NULL && ans->reply == TR_REPLY_OK, "J5: vouched, it votes");
	ri.read_id = 10;
	cr_assert_not_null(step_recv(&ri, 7000, TR_MSG_READ_INDEX_REPLY));
	cr_assert_not_null(step_recv(&join, 7000, TR_MSG_JOIN_REPLY));
	fx_tick(1, 1000000000);
	ans = fx_find(TR_MSG_ACCEPT, FX_ANY, 0);
	cr_assert(ans != NULL && ans->value.cmd_count == 1, "P6: its own lsn 0 again");
	cr_assert_eq(atomic_load(&r->shared.violation), 0);
	fx_teardown();
}

/* J5: a peer echoing a committed prefix above this replica's heard it from
 * an earlier life with the same incarnation (here: a new directory where a
 * replica ran): the replica stops before it votes, naming both prefixes, and
 * sends nothing more. An echo equal to the prefix vouches. */
Test(durable_engine, an_echo_above_the_prefix_stops_the_replica, .init = disk_reset)
{
	struct tr_config cfg;
	struct tr_msg ok, above;
	struct tr_msg m = {.type = TR_MSG_ACCEPT, .from = 2, .to = 1, .column = 2, .lsn = 0,
			   .ballot = {.n = 1, .replica = 2, .inc = 1}, .value = two_sets(2)};
	const char *why;

	fx_config(&cfg, 1);
	replica_vouched(&cfg, 1, false);
	ok = status_echo(2, 2, 0, 0);
	above = status_echo(2, 0, 5, 3); /* column 0: in its own, H1 drops it */
	fx_deliver(&ok, 1000);
	cr_assert_eq(atomic_load(&rep.shared.violation), 0, "an echo of 0 is no contradiction");
	fx_deliver(&above, 2000);
	cr_assert_eq(atomic_load(&rep.shared.violation), 1, "J5: the replica stops");
	why = atomic_load(&rep.violation_why);
	cr_assert(why != NULL && strncmp(why, "J5:", 3) == 0 &&
		  strstr(why, "replica 2 heard its committed prefix of column 0 at 3, above its "
			      "own 0") != NULL, "%s", why);
	cr_assert_null(step_recv(&m, 3000, TR_MSG_ACCEPT_REPLY), "a stopped replica says nothing");
	cr_assert_not(tr_replica_vouched(&rep));
	fx_teardown();
}

/* J5 does not judge a joiner (J1 stands instead): after its join, an echo
 * of the old life's prefix (a STATUS sent before the peer heard the JOIN)
 * is no contradiction. */
Test(durable_engine, a_joiner_is_not_judged_by_an_old_echo, .init = disk_reset)
{
	struct tr_config cfg;

	fx_config(&cfg, 0);
	join_through(&cfg, 0, NULL);
	cr_assert_eq(tr_replica_inc(&rep), 1, "J0: joined");
	{
		struct tr_msg old = status_echo(1, 1, 2, 40);

		fx_deliver(&old, 20);
	}
	cr_assert_eq(rep.col[1].peers[1].said, 2, "the STATUS was taken");
	cr_assert_eq(atomic_load(&rep.shared.violation), 0);
	fx_teardown();
}

/* J5: a peer's new life needs a STATUS to vouch for it: each column that
 * hears the new incarnation sends one at its next step, not a STATUS
 * period later. */
Test(durable_engine, a_new_life_gets_a_status_at_once, .init = disk_reset)
{
	struct tr_msg st;

	replica_new(0, 1);
	fx_tick(1, 1000);
	cr_assert_eq(fx_count(TR_MSG_STATUS), 2, "the first period's STATUS, to both peers");
	fx_tick(1, 2000);
	cr_assert_eq(fx_count(TR_MSG_STATUS), 0, "the next is a period away");
	st = status_echo(1, 1, 0, 0);
	st.inc = rep.col[1].peers[1].inc + 1; /* replica 1 restarted */
	fx_deliver(&st, 3000);
	fx_tick(1, 3000);
	cr_assert_eq(fx_count(TR_MSG_STATUS), 2, "J5: at once, for the new life");
	fx_teardown();
}

/* J5: a first life (a new directory) allocates nothing before a peer's
 * STATUS vouched for it in every column; then its queued command goes. */
Test(durable_engine, a_first_life_proposes_once_vouched, .init = disk_reset)
{
	struct tr_config cfg;
	struct tr_cmd cmd = fx_set(5, 1, 1, "k", "v");

	fx_config(&cfg, 0);
	replica_vouched(&cfg, 1, false);
	fx_submit(&cmd);
	fx_flush(0, 1000);
	cr_assert_null(fx_sent(TR_MSG_ACCEPT), "J5: not before a peer vouched");
	cr_assert_eq(own()->next_lsn, 0);
	fx_vouch(1, 2000);
	fx_tick(0, 2000 + rep.cfg.retry_ns);
	cr_assert_not_null(fx_find(TR_MSG_ACCEPT, FX_ANY, 0), "vouched: lsn 0 goes");
	fx_teardown();
}

/* J1: a joiner ignores all but JOIN_REPLY; an ignored message's step still
 * reports the column's timer (the next JOIN), which the caller keeps as its
 * only one. Reporting none lost it: a joiner one peer had not answered yet
 * sent no JOIN again, for good (durable-multiprocess saw it now and then). */
Test(durable_engine, an_ignored_message_keeps_the_joiners_timer, .init = disk_reset)
{
	struct tr_config cfg;
	struct tr_msg acc = {.type = TR_MSG_ACCEPT, .from = 1, .to = 0, .column = 0, .lsn = 0,
			     .ballot = {.n = 1, .replica = 1, .inc = 1}};
	uint64_t next;

	fx_config(&cfg, 0);
	cfg.join = true;
	fx_setup(&cfg);
	fx_tick(0, 1);
	cr_assert_eq(fx_count(TR_MSG_JOIN), 2, "J1: JOIN to both peers");
	next = out.deadline_ns;
	cr_assert_lt(next, UINT64_MAX);
	fx_deliver(&acc, 2);
	cr_assert_eq(rep.col[0].stats.ignored, 1, "J1: ignored while joining");
	cr_assert_eq(out.deadline_ns, next, "the step reports the next JOIN");
	fx_tick(0, out.deadline_ns);
	cr_assert_eq(fx_count(TR_MSG_JOIN), 2, "J1: JOIN again");
	fx_teardown();
}

/* S4: a restart from disk whose last life revealed lsns of its column past
 * the ring's end (known[own] 80, ring 64) attempts the slots of its gap it
 * could not hold as soon as recycling brings them into the ring. Before,
 * only its peers' R1 recovered them, and slowly: the survivors stalled. */
Test(durable_engine, a_gap_slot_beyond_the_ring_is_attempted_once_in_it, .init = disk_reset)
{
	struct tr_replica *r = replica_new(0, 1);
	struct tr_durable_rec k = {.kind = TR_DURABLE_KNOWN, .column = 0, .known = {80, 0, 0}};
	unsigned beyond = 0;

	disk_append(&disk, &k);
	r = replica_restart(r, 1000);
	cr_assert_eq(own()->next_lsn, 80, "S4: past what the last life revealed");
	cr_assert_null(tr_column_slot(own(), 64), "lsn 64 lies beyond the ring");
	for (uint64_t lsn = 0; lsn < 64; lsn++) {
		struct tr_msg m = {.type = TR_MSG_COMMIT, .from = 1, .to = 0, .column = 0,
				   .lsn = lsn, .value = {.deps = {lsn + 1, 0, 0}, .proposer = 1}};

		fx_deliver(&m, 2000);
	}
	cr_assert_eq(own()->committed, 64);
	tr_apply(&applier, UINT32_MAX);
	{
		struct tr_msg st = fx_status(1, 0, rep.col[0].peers[1].inc, 64, 64,
					     (const uint64_t[]){80, 0, 0});

		fx_deliver(&st, 3000);
	}
	fx_tick(0, 4000);
	cr_assert_geq(own()->base, 17, "T2: recycled");
	for (uint64_t lsn = 64; lsn < 80; lsn++)
		beyond += fx_find(TR_MSG_ACCEPT, FX_ANY, lsn) != NULL;
	cr_assert_eq(beyond, 16, "S4: the 16 slots past the old ring's end are attempted");
	cr_assert_eq(atomic_load(&r->shared.violation), 0);
	fx_teardown();
}

/* J5 in the own column: a peer holds replica 1's column committed past what
 * this life allocated (an empty directory where replica 1 ran, its old life
 * busy in its own column only). H1 would drop that STATUS as no honest
 * peer's, and the column would never be vouched for: in a life that did not
 * join it is the same proof as an echo, and the replica stops, named. */
Test(durable_engine, own_commits_past_the_allocations_stop_the_replica, .init = disk_reset)
{
	struct tr_config cfg;
	struct tr_msg st;
	const char *why;

	fx_config(&cfg, 1);
	replica_vouched(&cfg, 1, false);
	st = status_echo(2, 1, 5, 0);
	fx_deliver(&st, 1000);
	cr_assert_eq(atomic_load(&rep.shared.violation), 1, "J5: the replica stops");
	why = atomic_load(&rep.violation_why);
	cr_assert(why != NULL && strstr(why, "replica 2 holds its own column 1 committed up to 5, "
					    "above the lsns it allocated, 0") != NULL, "%s", why);
	fx_teardown();
}

/* J0: a replica restarted from its disk answers a peer's JOIN with at least
 * the incarnation its disk says it heard from that peer (6), though this
 * life heard less (1): the peer may join on a new disk, and a frame of its
 * life 6 may still come. */
Test(durable_engine, a_join_is_answered_with_what_the_disk_heard, .init = disk_reset)
{
	struct tr_config cfg;
	struct tr_msg st, join = {.type = TR_MSG_JOIN, .from = 2, .to = 1, .column = 2,
				  .read_id = 77};
	const struct tr_msg *ans;

	fx_config(&cfg, 1);
	cfg.peer_inc_seen[2] = 6;
	replica_on(&cfg, 3);
	st = status_echo(2, 2, 0, 0);
	st.inc = 1;
	fx_deliver(&st, 1000);
	cr_assert_eq(rep.col[2].peers[2].inc, 1, "its messages of life 1 still pass");
	ans = step_recv(&join, 2000, TR_MSG_JOIN_REPLY);
	cr_assert_not_null(ans);
	cr_assert_eq(ans->inc_seen, 6, "J0: answered %u, not the 6 its disk heard", ans->inc_seen);
	cfg.peer_inc_seen[0] = TR_INC_MAX - 1;
	cr_assert_neq(tr_replica_init(&rep, &cfg, mem, tr_replica_mem_bytes(&cfg), 0), 0,
		      "an incarnation out of range refused");
	fx_teardown();
}
