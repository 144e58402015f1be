/* §12 S1-S3: the durable record codec (durable.h). */
#include <criterion/criterion.h>
#include <string.h>

#include "durable.h"
#include "wire.h"

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
