/* SPDX-License-Identifier: MIT
 * Unit tests for large commands (issue 16, engine/kv.c): parts staged by
 * tr_sm until complete, then applied whole at the completing part's place.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

#define KEY_MAX 16
#define VAL_MAX 8192
#define CELLS 64
#define STAGES 4
#define STAGE_BYTES (VAL_MAX + KEY_MAX + TR_LARGE_HDR_BYTES)
#define PART_MAX 1024

/* One replica's state machine over a tr_table, with stages. */
struct env {
	struct tr_table table;
	struct tr_sm sm;
	struct tr_client_rec clients[16];
	void *table_mem;
	void *stage_mem;
};

static void
env_init(struct env *e, uint32_t stages)
{
	e->table_mem = malloc(tr_table_mem_bytes(CELLS, KEY_MAX, VAL_MAX));
	cr_assert_not_null(e->table_mem);
	tr_table_init(&e->table, e->table_mem, CELLS, KEY_MAX, VAL_MAX);
	tr_sm_init(&e->sm, &tr_table_ops, &e->table, e->clients, 16);
	e->stage_mem = stages == 0 ? NULL : malloc(tr_sm_stages_mem_bytes(stages, STAGE_BYTES));
	tr_sm_stages_init(&e->sm, e->stage_mem, stages, STAGE_BYTES);
}

static void
env_fini(struct env *e)
{
	free(e->table_mem);
	free(e->stage_mem);
}

/* splitmix64: the tests' seeded generator. */
static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void
fill(uint8_t *v, uint32_t n, uint64_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		v[i] = (uint8_t)rnd(&seed);
}

/* A large command cut into parts of at most PART_MAX bytes of its whole. */
struct large {
	uint8_t op;
	const char *key;
	const uint8_t *val;
	uint32_t val_len;
	uint64_t client, stage; /* stage: the first part's seq */
	unsigned parts;
	uint8_t buf[VAL_MAX / PART_MAX + 2][TR_PART_HDR_BYTES + PART_MAX];
	struct tr_cmd cmd[VAL_MAX / PART_MAX + 2];
};

static void
large_make(struct large *l, uint8_t op, uint64_t client, uint64_t stage, const char *key,
	   const uint8_t *val, uint32_t val_len)
{
	uint16_t kl = (uint16_t)strlen(key);
	uint32_t total = (uint32_t)tr_large_bytes(kl, val_len);

	l->op = op;
	l->key = key;
	l->val = val;
	l->val_len = val_len;
	l->client = client;
	l->stage = stage;
	l->parts = 0;
	for (uint32_t off = 0; off < total; off += PART_MAX) {
		uint32_t n = total - off < PART_MAX ? total - off : PART_MAX;
		unsigned k = l->parts++;

		cr_assert_lt(k, sizeof(l->cmd) / sizeof(l->cmd[0]));
		l->cmd[k] = (struct tr_cmd){
			.op = TR_OP_PART,
			.window = TR_WINDOW_MAX,
			.client_id = client,
			.seq = stage + k,
			.val = l->buf[k],
			.val_len = (uint32_t)tr_part_fill(l->buf[k], stage, op, (const uint8_t *)key,
							  kl, val, val_len, off, n),
		};
	}
}

static uint8_t
apply(struct env *e, const struct tr_cmd *c, struct tr_sm_result *out)
{
	struct tr_sm_result r;

	tr_sm_apply(&e->sm, c, &r);
	if (out != NULL)
		*out = r;
	return r.status;
}

static uint8_t
set(struct env *e, uint64_t client, uint64_t seq, const char *key, const uint8_t *val,
    uint32_t val_len)
{
	struct tr_cmd c = {.op = TR_OP_SET, .window = 8, .client_id = client, .seq = seq,
			   .key = (const uint8_t *)key, .key_len = (uint16_t)strlen(key),
			   .val = val, .val_len = val_len};

	return apply(e, &c, NULL);
}

static void
expect_val(struct env *e, const char *key, const uint8_t *val, uint32_t val_len)
{
	struct tr_cmd c = {.op = TR_OP_GET, .window = 1, .client_id = 99,
			   .key = (const uint8_t *)key, .key_len = (uint16_t)strlen(key)};
	struct tr_sm_result r;

	tr_sm_apply(&e->sm, &c, &r);
	cr_assert_eq(r.status, TR_ST_OK, "key %s absent", key);
	cr_assert_eq(r.val_len, val_len, "key %s: %u bytes", key, r.val_len);
	cr_assert_eq(memcmp(r.val, val, val_len), 0, "key %s: other bytes", key);
}

static uint8_t big[VAL_MAX], big2[VAL_MAX];
static struct large la, lb;
static struct env ea, eb;

/* Parts in any order: staged until the last byte, then applied whole at
 * the completing part's place, with the whole's result; the state and the
 * digest are those of the same set applied whole. */
Test(large, parts_out_of_order_complete_once)
{
	static const unsigned order[] = {3, 0, 5, 1, 4, 2};
	struct tr_sm_result r;

	fill(big, 5000, 1);
	env_init(&ea, STAGES);
	env_init(&eb, STAGES);
	large_make(&la, TR_OP_SET, 7, 1, "big", big, 5000);
	cr_assert_eq(la.parts, 5);
	for (unsigned i = 0; i < 6; i++) {
		if (order[i] >= la.parts)
			continue;
		cr_assert_eq(apply(&ea, &la.cmd[order[i]], &r), i == 5 ? TR_ST_OK : TR_ST_STAGED,
			     "part %u", order[i]);
		cr_assert_eq(ea.sm.stages_used, i == 5 ? 0u : 1u);
	}
	expect_val(&ea, "big", big, 5000);
	/* A last part of one byte (2048 + 1). */
	large_make(&lb, TR_OP_SET, 8, 1, "k", big, 2045);
	cr_assert_eq(lb.parts, 3);
	cr_assert_eq(apply(&ea, &lb.cmd[0], NULL), TR_ST_STAGED);
	cr_assert_eq(apply(&ea, &lb.cmd[1], NULL), TR_ST_STAGED, "one byte short");
	cr_assert_eq(apply(&ea, &lb.cmd[2], NULL), TR_ST_OK);
	expect_val(&ea, "k", big, 2045);
	cr_assert_eq(set(&eb, 8, 3, "k", big, 2045), TR_ST_OK);
	cr_assert_eq(set(&eb, 7, 5, "big", big, 5000), TR_ST_OK);
	cr_assert_eq(ea.sm.digest, eb.sm.digest);
	cr_assert_eq(tr_sm_digest(&ea.sm), tr_sm_digest(&eb.sm));
	cr_assert_eq(tr_sm_digest(&ea.sm), ea.sm.digest, "no stage left");
	env_fini(&ea);
	env_fini(&eb);
}

/* A part's seq is decided like any write before staging: a duplicate part
 * is DUPLICATE and stages nothing (its bytes, even if different, are never
 * looked at); the command completes once. */
Test(large, duplicate_parts_stage_nothing)
{
	struct tr_sm_result r;

	fill(big, 3000, 2);
	fill(big2, 3000, 3);
	env_init(&ea, STAGES);
	large_make(&la, TR_OP_SET, 7, 1, "k", big, 3000);
	large_make(&lb, TR_OP_SET, 7, 1, "k", big2, 3000); /* same seqs, other bytes */
	cr_assert_eq(la.parts, 3);
	cr_assert_eq(apply(&ea, &la.cmd[0], NULL), TR_ST_STAGED);
	cr_assert_eq(apply(&ea, &lb.cmd[0], NULL), TR_ST_DUPLICATE);
	cr_assert_eq(apply(&ea, &la.cmd[2], NULL), TR_ST_STAGED);
	cr_assert_eq(apply(&ea, &lb.cmd[2], NULL), TR_ST_DUPLICATE);
	cr_assert_eq(apply(&ea, &la.cmd[1], &r), TR_ST_OK, "completes with part 1");
	expect_val(&ea, "k", big, 3000);
	/* Every part again: duplicates, nothing staged, nothing changed. */
	for (unsigned k = 0; k < 3; k++) {
		cr_assert_eq(apply(&ea, &lb.cmd[k], NULL), TR_ST_DUPLICATE, "part %u", k);
		cr_assert_eq(ea.sm.stages_used, 0);
	}
	expect_val(&ea, "k", big, 3000);
	env_fini(&ea);
}

/* A new stage takes a free slot, else FULL (nothing staged, the seq
 * decided); a completed stage frees its slot; a whole larger than a slot,
 * or a tr_sm without stages, is FULL too. */
Test(large, full_pool)
{
	struct large *l = malloc(sizeof(*l) * (STAGES + 1));

	fill(big, VAL_MAX, 4);
	env_init(&ea, STAGES);
	for (unsigned s = 0; s <= STAGES; s++) {
		large_make(&l[s], TR_OP_SET, 7, 1 + 10 * s, "k", big, 2000);
		cr_assert_eq(apply(&ea, &l[s].cmd[0], NULL), s < STAGES ? TR_ST_STAGED : TR_ST_FULL,
			     "stage %u", s);
	}
	cr_assert_eq(ea.sm.stages_used, STAGES);
	cr_assert_eq(apply(&ea, &l[STAGES].cmd[0], NULL), TR_ST_DUPLICATE, "FULL is decided");
	cr_assert_eq(apply(&ea, &l[STAGES].cmd[1], NULL), TR_ST_FULL);
	/* The first completes: its slot is free for the next stage. */
	cr_assert_eq(apply(&ea, &l[0].cmd[1], NULL), TR_ST_OK);
	cr_assert_eq(ea.sm.stages_used, STAGES - 1);
	large_make(&l[STAGES], TR_OP_SET, 7, 100, "k2", big, 2000);
	cr_assert_eq(apply(&ea, &l[STAGES].cmd[0], NULL), TR_ST_STAGED);
	cr_assert_eq(apply(&ea, &l[STAGES].cmd[1], NULL), TR_ST_OK);
	expect_val(&ea, "k2", big, 2000);
	/* Larger than a slot. */
	large_make(&l[0], TR_OP_SET, 7, 200, "k3", big, VAL_MAX);
	l[0].buf[0][8] = 0xff; /* total: STAGE_BYTES + 255 */
	l[0].buf[0][9] = (uint8_t)((STAGE_BYTES >> 8) + 1);
	cr_assert_eq(apply(&ea, &l[0].cmd[0], NULL), TR_ST_FULL);
	env_fini(&ea);

	env_init(&ea, 0);
	large_make(&l[0], TR_OP_SET, 7, 1, "k", big, 2000);
	cr_assert_eq(apply(&ea, &l[0].cmd[0], NULL), TR_ST_FULL, "no stages");
	env_fini(&ea);
	free(l);
}

/* A client evicted from a full client table (kv.h) takes its open stages
 * with it: a stage of no client would make every later snapshot of the
 * table refused (tr_sm_clients_decode), and the slot would be lost. */
Test(large, an_evicted_client_takes_its_stages)
{
	struct large *l = malloc(sizeof(*l));
	uint8_t v[1] = {1};

	fill(big, VAL_MAX, 6);
	env_init(&ea, STAGES);
	env_init(&eb, STAGES);
	ea.sm.client_ttl_cmds = 20;
	large_make(l, TR_OP_SET, 100, 1, "k", big, 3000);
	cr_assert_eq(apply(&ea, &l->cmd[0], NULL), TR_ST_STAGED);
	cr_assert_eq(ea.sm.stages_used, 1);
	/* 12 clients fill the 16 records; client 100 is the idlest. */
	for (uint64_t c = 1; c <= 11; c++)
		cr_assert_eq(set(&ea, c, 1, "x", v, 1), TR_ST_OK);
	for (uint64_t s = 2; s <= 20; s++)
		cr_assert_eq(set(&ea, 1, s, "x", v, 1), TR_ST_OK);
	cr_assert_eq(set(&ea, 200, 1, "x", v, 1), TR_ST_OK, "client 100 evicted");
	cr_assert_eq(ea.sm.clients_used, 12);
	cr_assert_eq(ea.sm.stages_used, 0, "its stage went with it");

	size_t n = tr_sm_clients_bytes(&ea.sm);
	uint8_t *buf = malloc(n);

	cr_assert_eq(tr_sm_clients_encode(&ea.sm, buf, n), n);
	cr_assert_eq(tr_sm_clients_decode(&eb.sm, buf, n), 0);
	cr_assert_eq(tr_sm_clients_digest(&eb.sm), tr_sm_clients_digest(&ea.sm));
	free(buf);
	env_fini(&ea);
	env_fini(&eb);
	free(l);
}

/* With every slot busy, a stage no part touched for stage_ttl_cmds writes
 * is reclaimed, the least recently used first (not the first in the
 * slots); one touched since is kept. */
Test(large, ttl_reclaims_idle_stages)
{
	struct large *l = malloc(sizeof(*l) * (STAGES + 2));
	uint8_t v[1] = {1};

	fill(big, VAL_MAX, 5);
	env_init(&ea, STAGES);
	ea.sm.stage_ttl_cmds = 10;
	for (unsigned s = 0; s < STAGES + 2; s++)
		large_make(&l[s], TR_OP_SET, 7, 1 + 10 * s, s == 0 ? "k" : "j", big, 3000);
	for (unsigned s = 0; s < STAGES; s++) /* writes 1-4 */
		cr_assert_eq(apply(&ea, &l[s].cmd[0], NULL), TR_ST_STAGED);
	/* Stage 0 is touched again (write 5): stage 1 is now the least
	 * recently used (write 2). */
	cr_assert_eq(apply(&ea, &l[0].cmd[1], NULL), TR_ST_STAGED);
	for (unsigned i = 0; i < 5; i++) /* writes 6-10 */
		cr_assert_eq(set(&ea, 8, 1 + i, "x", v, 1), TR_ST_OK);
	/* Write 11: stage 1 idle 9 writes, the rest fewer; write 12: stage 1
	 * idle 10, reclaimed. */
	cr_assert_eq(apply(&ea, &l[STAGES].cmd[0], NULL), TR_ST_FULL, "not idle long enough");
	cr_assert_eq(apply(&ea, &l[STAGES].cmd[1], NULL), TR_ST_STAGED);
	for (unsigned i = 0; i < 10; i++) /* writes 13-22: all idle */
		cr_assert_eq(set(&ea, 8, 6 + i, "x", v, 1), TR_ST_OK);
	/* Write 23: stage 2 reclaimed, the least recently used (not stage 0,
	 * in slot 0, nor stage 1's, in the first free slot). */
	cr_assert_eq(apply(&ea, &l[STAGES + 1].cmd[1], NULL), TR_ST_STAGED);
	cr_assert_eq(ea.sm.stages_used, STAGES);
	/* Stages 0 and 3 were kept: they complete. */
	uint8_t st0 = apply(&ea, &l[0].cmd[2], NULL);
	cr_assert_eq(st0, TR_ST_OK, "%s", tr_status_str(st0));
	expect_val(&ea, "k", big, 3000);
	cr_assert_eq(apply(&ea, &l[3].cmd[1], NULL), TR_ST_STAGED);
	cr_assert_eq(apply(&ea, &l[3].cmd[2], NULL), TR_ST_OK);
	expect_val(&ea, "j", big, 3000);
	env_fini(&ea);
	free(l);
}

/* Each malformed part is INVALID: nothing staged or changed (the digest
 * with its stages is the same), and its seq decided (again: DUPLICATE). */
Test(large, malformed_parts_are_invalid)
{
	enum { KEY, SHORT, EMPTY, TOTAL_SMALL, TOTAL_BIG, PAST_END, OFF_PAST, STAGE0,
	       STAGE_AFTER, TOTAL_DIFFERS, OVERLAP, CASES };
	uint64_t seq = 10;

	fill(big, VAL_MAX, 6);
	env_init(&ea, STAGES);
	large_make(&la, TR_OP_SET, 7, 1, "k", big, 3000);
	cr_assert_eq(apply(&ea, &la.cmd[1], NULL), TR_ST_STAGED);
	for (unsigned c = 0; c < CASES; c++) {
		struct tr_cmd p = la.cmd[0];
		uint8_t buf[TR_PART_HDR_BYTES + PART_MAX];
		uint64_t d = tr_sm_digest(&ea.sm);

		memcpy(buf, la.buf[0], p.val_len);
		p.val = buf;
		p.seq = seq++;
		switch (c) {
		case KEY: p.key = buf; p.key_len = 1; break;
		case SHORT: p.val_len = TR_PART_HDR_BYTES - 1; break;
		case EMPTY: p.val_len = TR_PART_HDR_BYTES; break;
		case TOTAL_SMALL: buf[8] = 2; buf[9] = 0; break;
		case TOTAL_BIG: buf[8] = 0xff; buf[9] = 0xff; buf[10] = 0xff; break;
		case PAST_END: buf[8] = 0x10; buf[9] = 0x00; break; /* total 16 < 1024 bytes */
		case OFF_PAST: buf[12] = 0x00; buf[13] = 0x10; break; /* offset 4096 */
		case STAGE0: memset(buf, 0, 8); break;
		case STAGE_AFTER: buf[0] = 0xff; break; /* stage 255 > seq */
		case TOTAL_DIFFERS: buf[8] ^= 1; break; /* the open stage 1, another total */
		case OVERLAP: buf[12] = 0x00; buf[13] = 0x02; break; /* offset 512: into part 1 */
		}
		cr_assert_eq(apply(&ea, &p, NULL), TR_ST_INVALID, "case %u", c);
		cr_assert_eq(tr_sm_digest(&ea.sm), d, "case %u changed the state", c);
		cr_assert_eq(ea.sm.stages_used, 1, "case %u", c);
		cr_assert_eq(apply(&ea, &p, NULL), TR_ST_DUPLICATE, "case %u: decided", c);
	}
	/* The stage is intact: the right parts complete it. */
	cr_assert_eq(apply(&ea, &la.cmd[0], NULL), TR_ST_STAGED);
	cr_assert_eq(apply(&ea, &la.cmd[2], NULL), TR_ST_OK);
	expect_val(&ea, "k", big, 3000);
	env_fini(&ea);
}

/* A complete whole that is not op key_len key val with op SET or CMD is
 * INVALID and its stage dropped. */
Test(large, malformed_whole_is_invalid)
{
	static const uint8_t ops[] = {TR_OP_DEL, TR_OP_GET, TR_OP_PART, 0};

	fill(big, VAL_MAX, 7);
	env_init(&ea, STAGES);
	for (unsigned i = 0; i < 6; i++) {
		uint64_t d = tr_sm_digest(&ea.sm);

		large_make(&la, i < 4 ? ops[i] : TR_OP_SET, 7, 1 + 10 * i, "k", big,
			   i < 5 ? 1500 : 900);
		if (i == 4) /* key_len over TR_KEY_BYTES_MAX */
			la.buf[0][TR_PART_HDR_BYTES + 2] = 0x10;
		if (i == 5) /* key_len 1024: past the whole's 903 bytes */
			la.buf[0][TR_PART_HDR_BYTES + 1] = 0, la.buf[0][TR_PART_HDR_BYTES + 2] = 4;
		for (unsigned k = 0; k + 1 < la.parts; k++)
			cr_assert_eq(apply(&ea, &la.cmd[k], NULL), TR_ST_STAGED);
		cr_assert_eq(apply(&ea, &la.cmd[la.parts - 1], NULL), TR_ST_INVALID, "case %u", i);
		cr_assert_eq(ea.sm.stages_used, 0, "case %u: the stage is dropped", i);
		cr_assert_eq(ea.table.used, 0);
		cr_assert_eq(tr_sm_digest(&ea.sm), d);
	}
	env_fini(&ea);
}

/* T1: the state machine of e copied into f the way a snapshot does: the
 * table's memory, and the client table with the stages through
 * tr_sm_clients_encode/decode. */
static void
snapshot(struct env *e, struct env *f)
{
	size_t n = tr_sm_clients_bytes(&e->sm);
	uint8_t *buf = malloc(n);

	cr_assert_eq(tr_sm_clients_encode(&e->sm, buf, n), n);
	cr_assert_eq(tr_sm_clients_encode(&e->sm, buf, n - 1), 0);
	cr_assert_eq(tr_sm_clients_decode(&f->sm, buf, n), 0);
	memcpy(f->table_mem, e->table_mem, tr_table_mem_bytes(CELLS, KEY_MAX, VAL_MAX));
	f->table.used = e->table.used;
	f->sm.digest = e->sm.digest;
	free(buf);
}

/* Two stages, one with a hole, through encode and decode: the same stages
 * (the digest, the bytes encoded again), and the decoder is strict. */
Test(large, encode_decode_round_trip)
{
	uint8_t *buf, *again;
	size_t n;

	fill(big, VAL_MAX, 8);
	env_init(&ea, STAGES);
	env_init(&eb, STAGES);
	large_make(&la, TR_OP_SET, 7, 1, "k", big, 3000);
	large_make(&lb, TR_OP_CMD, 8, 1, "", big, 2999);
	cr_assert_eq(apply(&ea, &la.cmd[0], NULL), TR_ST_STAGED);
	cr_assert_eq(apply(&ea, &la.cmd[2], NULL), TR_ST_STAGED);
	cr_assert_eq(apply(&ea, &lb.cmd[1], NULL), TR_ST_STAGED);
	cr_assert_neq(tr_sm_digest(&ea.sm), ea.sm.digest, "the stages are in the digest");
	n = tr_sm_clients_bytes(&ea.sm);
	buf = malloc(n);
	again = malloc(n);
	cr_assert_eq(tr_sm_clients_encode(&ea.sm, buf, n), n);
	cr_assert_eq(tr_sm_clients_decode(&eb.sm, buf, n), 0);
	cr_assert_eq(eb.sm.stages_used, 2);
	cr_assert_eq(eb.sm.stage_clock, 3);
	cr_assert_eq(tr_sm_digest(&eb.sm), tr_sm_digest(&ea.sm));
	cr_assert_eq(tr_sm_clients_encode(&eb.sm, again, n), n);
	cr_assert_eq(memcmp(buf, again, n), 0);
	/* A replica that staged one other byte has another digest. */
	lb.buf[1][TR_PART_HDR_BYTES + 100] ^= 1;
	env_fini(&eb);
	env_init(&eb, STAGES);
	cr_assert_eq(apply(&eb, &la.cmd[0], NULL), TR_ST_STAGED);
	cr_assert_eq(apply(&eb, &la.cmd[2], NULL), TR_ST_STAGED);
	cr_assert_eq(apply(&eb, &lb.cmd[1], NULL), TR_ST_STAGED);
	cr_assert_neq(tr_sm_digest(&eb.sm), tr_sm_digest(&ea.sm), "one byte differs");
	lb.buf[1][TR_PART_HDR_BYTES + 100] ^= 1;

	/* Every truncation, and a byte too many, is refused, leaving nothing. */
	for (size_t k = 0; k < n; k++) {
		uint8_t *cut = malloc(k > 0 ? k : 1); /* exactly k bytes: a read past them is seen by
					       * valgrind or ASan */

		memcpy(cut, buf, k);
		cr_assert_eq(tr_sm_clients_decode(&eb.sm, cut, k), -1, "%zu bytes", k);
		cr_assert_eq(eb.sm.stages_used + eb.sm.clients_used, 0);
		free(cut);
	}
	{
		uint8_t *more = calloc(1, n + 1);

		memcpy(more, buf, n);
		cr_assert_eq(tr_sm_clients_decode(&eb.sm, more, n + 1), -1);
		free(more);
	}
	/* Fields: the first stage's record starts after 2 clients, clock, count. */
	size_t s0 = 4 + 2 * TR_SM_CLIENT_REC_BYTES + 12;
	size_t bm = s0 + 32, data = bm + (3004 + 7) / 8;
	struct { size_t at; uint8_t x; const char *what; } bad[] = {
		{s0 - 4, 1, "a stage more than encoded"},
		{s0 - 4, 4, "more stages than slots"},
		{s0 + 0, 0x55, "a stage of no client"},
		{s0 + 8, 1, "stage 0"},
		{s0 + 16, 9, "last after the clock"},
		{s0 + 24, 1, "another total"},
		{s0 + 28, 1, "have disagrees with the bitmap"},
		{bm + 130, 1, "a bit more"},
		{data + 1500, 1, "a byte where none came"},
		{4 + TR_SM_CLIENT_REC_BYTES, 0, "the stage's client is the other one (a repeated stage)"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(again, buf, n);
		again[bad[i].at] ^= bad[i].x;
		if (bad[i].x == 0) /* client 8's record says 7: two stages (7, 1) */
			memcpy(again + s0 + 32 + (3004 + 7) / 8 + 3004, buf + s0, 16);
		cr_assert_eq(tr_sm_clients_decode(&eb.sm, again, n), -1, "%s", bad[i].what);
		cr_assert_eq(eb.sm.stages_used + eb.sm.clients_used, 0, "%s", bad[i].what);
	}
	/* The stages' last byte: past the total of 3004 bits, padding bits. */
	memcpy(again, buf, n);
	again[bm + 3004 / 8] |= 0x80;
	cr_assert_eq(tr_sm_clients_decode(&eb.sm, again, n), -1, "a bit past the total");

	/* A tr_sm with fewer slots, or none, refuses them. */
	env_fini(&eb);
	env_init(&eb, 1);
	cr_assert_eq(tr_sm_clients_decode(&eb.sm, buf, n), -1);
	env_fini(&eb);
	env_init(&eb, 0);
	cr_assert_eq(tr_sm_clients_decode(&eb.sm, buf, n), -1);
	free(buf);
	free(again);
	env_fini(&ea);
	env_fini(&eb);
}

/* A snapshot taken mid-stage, loaded elsewhere: the rest of the parts
 * complete it there as on the replica it came from. */
Test(large, snapshot_mid_stage_completes_alike)
{
	uint8_t v[3] = {1, 2, 3};
	struct tr_sm_result ra, rb;

	fill(big, VAL_MAX, 9);
	env_init(&ea, STAGES);
	env_init(&eb, STAGES);
	large_make(&la, TR_OP_SET, 7, 1, "big", big, VAL_MAX - 100);
	cr_assert_eq(la.parts, 8);
	cr_assert_eq(set(&ea, 8, 1, "x", v, 3), TR_ST_OK);
	cr_assert_eq(apply(&ea, &la.cmd[5], NULL), TR_ST_STAGED);
	cr_assert_eq(apply(&ea, &la.cmd[0], NULL), TR_ST_STAGED);
	snapshot(&ea, &eb);
	cr_assert_eq(tr_sm_digest(&eb.sm), tr_sm_digest(&ea.sm));
	for (unsigned k = 0; k < la.parts; k++) {
		uint8_t want = k == 0 || k == 5 ? TR_ST_DUPLICATE
			     : k == la.parts - 1 ? TR_ST_OK : TR_ST_STAGED;

		cr_assert_eq(apply(&ea, &la.cmd[k], &ra), want, "part %u", k);
		cr_assert_eq(apply(&eb, &la.cmd[k], &rb), want, "part %u elsewhere", k);
		cr_assert_eq(tr_sm_digest(&eb.sm), tr_sm_digest(&ea.sm), "part %u", k);
	}
	expect_val(&eb, "big", big, VAL_MAX - 100);
	expect_val(&eb, "x", v, 3);
	cr_assert_eq(eb.sm.digest, ea.sm.digest);
	cr_assert_eq(eb.sm.stages_used, 0);
	env_fini(&ea);
	env_fini(&eb);
}

/* An embedder's machine: it folds every command it is given, in order, into
 * its digest, and answers with a code and a val of its own. */
struct fold_machine {
	uint64_t h;
	uint64_t seqs[16];
	unsigned nseqs, calls;
	uint8_t out[8];
};

static void
fold_apply(struct tr_sm *sm, const struct tr_cmd *cmds, unsigned n, struct tr_sm_result *res)
{
	struct fold_machine *m = sm->machine_ctx;

	m->calls++;
	for (unsigned i = 0; i < n; i++) {
		const struct tr_cmd *c = &cmds[i];

		cr_assert_eq(c->op, TR_OP_CMD);
		m->h = m->h * 31 + tr_kv_pair_hash(c->key, c->key_len, c->val, c->val_len);
		m->h = m->h * 31 + c->client_id * 7 + c->seq * 3 + c->window;
		cr_assert_lt(m->nseqs, 16);
		m->seqs[m->nseqs++] = c->seq;
		memcpy(m->out, &m->h, 8);
		res[i].code = (uint32_t)m->h;
		res[i].val = m->out;
		res[i].val_len = 8;
	}
}

static void
fold_read(struct tr_sm *sm, const struct tr_cmd *cmd, struct tr_sm_result *res)
{
	(void)sm;
	(void)cmd;
	res->status = TR_ST_NOT_FOUND;
}

static uint64_t
fold_digest(const struct tr_sm *sm)
{
	return ((const struct fold_machine *)sm->machine_ctx)->h;
}

static const struct tr_machine fold_ops = {.apply = fold_apply, .read = fold_read,
					   .digest = fold_digest};

/* A large CMD reaches the embedder's machine as the same command applied
 * whole (key, val, client, window, the completing part's seq), with the
 * same result; and a large SET leaves the KV as the set applied whole. */
Test(large, large_cmd_and_set_equal_the_whole)
{
	static struct fold_machine mx, my;
	static struct tr_client_rec rx[16], ry[16];
	static uint64_t smem[1 << 13];
	struct tr_sm x, y;
	struct tr_sm_result r, w;
	struct tr_cmd whole;

	fill(big, VAL_MAX, 10);
	memset(&mx, 0, sizeof(mx));
	memset(&my, 0, sizeof(my));
	cr_assert_leq(tr_sm_stages_mem_bytes(2, 4096), sizeof(smem));
	tr_sm_init_machine(&x, &fold_ops, &mx, rx, 16);
	tr_sm_stages_init(&x, smem, 2, 4096);
	tr_sm_init_machine(&y, &fold_ops, &my, ry, 16);
	large_make(&la, TR_OP_CMD, 7, 1, "key", big, 4000);
	cr_assert_eq(la.parts, 4);
	for (unsigned k = 0; k < 4; k++) {
		tr_sm_apply(&x, &la.cmd[3 - k], &r);
		cr_assert_eq(r.status, k == 3 ? TR_ST_OK : TR_ST_STAGED);
	}
	whole = (struct tr_cmd){.op = TR_OP_CMD, .window = TR_WINDOW_MAX, .client_id = 7,
				.seq = 1, .key = (const uint8_t *)"key", .key_len = 3,
				.val = big, .val_len = 4000};
	tr_sm_apply(&y, &whole, &w);
	cr_assert_eq(mx.nseqs, 1);
	cr_assert_eq(mx.seqs[0], 1, "the completing part's seq");
	cr_assert_eq(x.digest, y.digest);
	cr_assert_eq(tr_sm_digest(&x), tr_sm_digest(&y));
	cr_assert_eq(r.code, w.code);
	cr_assert_eq(r.val_len, 8);
	cr_assert_eq(memcmp(r.val, w.val, 8), 0);

	/* The KV: a large set, its parts in order, against the set whole. */
	env_init(&ea, STAGES);
	env_init(&eb, STAGES);
	large_make(&la, TR_OP_SET, 7, 1, "k", big, VAL_MAX);
	for (unsigned k = 0; k < la.parts; k++)
		cr_assert_eq(apply(&ea, &la.cmd[k], NULL),
			     k + 1 == la.parts ? TR_ST_OK : TR_ST_STAGED);
	cr_assert_eq(set(&eb, 7, la.parts, "k", big, VAL_MAX), TR_ST_OK);
	cr_assert_eq(tr_sm_digest(&ea.sm), tr_sm_digest(&eb.sm));
	expect_val(&ea, "k", big, VAL_MAX);
	env_fini(&ea);
	env_fini(&eb);
}

/* In a batch, the whole applies at its completing part's place: after the
 * writes before it, before those after it. */
Test(large, whole_applies_in_batch_order)
{
	static struct fold_machine m;
	static struct tr_client_rec recs[16];
	static uint64_t smem[1 << 13];
	struct tr_sm sm;
	struct tr_cmd c[6];
	struct tr_sm_result r[6];

	fill(big, VAL_MAX, 11);
	memset(&m, 0, sizeof(m));
	tr_sm_init_machine(&sm, &fold_ops, &m, recs, 16);
	tr_sm_stages_init(&sm, smem, 2, 4096);
	large_make(&la, TR_OP_CMD, 7, 2, "", big, 1500); /* parts: seqs 2 and 3 */
	c[0] = (struct tr_cmd){.op = TR_OP_CMD, .window = 8, .client_id = 8, .seq = 1,
			       .val = big, .val_len = 1};
	c[1] = la.cmd[0];
	c[2] = c[0];
	c[2].seq = 2;
	c[3] = la.cmd[1];
	c[4] = c[0];
	c[4].seq = 3;
	c[5] = la.cmd[1]; /* a duplicate of the completing part */
	tr_sm_apply_batch(&sm, c, 6, r);
	cr_assert_eq(r[1].status, TR_ST_STAGED);
	cr_assert_eq(r[3].status, TR_ST_OK);
	cr_assert_eq(r[5].status, TR_ST_DUPLICATE);
	cr_assert_eq(m.nseqs, 4);
	cr_assert_eq(m.seqs[0], 1);
	cr_assert_eq(m.seqs[1], 2);
	cr_assert_eq(m.seqs[2], 3, "the whole, with its completing part's seq");
	cr_assert_eq(m.seqs[3], 3, "client 8's seq 3, after it");
	cr_assert_eq(r[3].val_len, 8, "the whole's result");
	cr_assert_neq(r[3].code, r[2].code);
	cr_assert_eq(sm.stages_used, 0);
	cr_assert_eq(sm.applied_cmds, 5, "4 to the machine and 1 part staged");
}

/* tr_part_fill: any slice of the whole op key_len key val, never built in
 * one piece, is the same bytes as the slice of the whole built by hand;
 * and parts of a few bytes, cutting the header and the key, complete it. */
Test(large, part_fill_slices_the_whole)
{
	static const char key[] = "0123456789abcdef";
	uint8_t whole[3 + 16 + 40], part[TR_PART_HDR_BYTES + sizeof(whole)];
	uint8_t val[40];
	struct tr_sm_result r;

	fill(val, sizeof(val), 12);
	whole[0] = TR_OP_SET;
	whole[1] = 16;
	whole[2] = 0;
	memcpy(whole + 3, key, 16);
	memcpy(whole + 19, val, sizeof(val));
	cr_assert_eq(tr_large_bytes(16, sizeof(val)), sizeof(whole));
	for (uint32_t off = 0; off <= sizeof(whole); off++)
		for (uint32_t len = 0; off + len <= sizeof(whole); len++) {
			size_t n;

			memset(part, 0xaa, sizeof(part));
			n = tr_part_fill(part, 77, TR_OP_SET, (const uint8_t *)key, 16, val,
					 sizeof(val), off, len);
			for (size_t i = n; i < sizeof(part); i++)
				cr_assert_eq(part[i], 0xaa, "[%u, +%u): byte %zu written", off, len, i);

			cr_assert_eq(n, TR_PART_HDR_BYTES + len);
			cr_assert_eq(part[0], 77);
			cr_assert_eq(part[8], sizeof(whole));
			cr_assert_eq(part[12], off);
			cr_assert_eq(memcmp(part + TR_PART_HDR_BYTES, whole + off, len), 0,
				     "[%u, +%u)", off, len);
		}
	/* Parts of 5 bytes, last first. */
	env_init(&ea, STAGES);
	for (uint32_t k = 12; k-- > 0;) {
		uint32_t off = 5 * k, len = sizeof(whole) - off < 5 ? sizeof(whole) - off : 5;
		struct tr_cmd c = {.op = TR_OP_PART, .window = TR_WINDOW_MAX, .client_id = 3,
				   .seq = 20 - k, .val = part};

		c.val_len = (uint32_t)tr_part_fill(part, 8, TR_OP_SET, (const uint8_t *)key, 16, val,
						   sizeof(val), off, len);
		cr_assert_eq(apply(&ea, &c, &r), k == 0 ? TR_ST_OK : TR_ST_STAGED, "part %u", k);
	}
	expect_val(&ea, key, val, sizeof(val));
	env_fini(&ea);
}

/* Seeded mutations of a snapshot's client table and stages: the decoder
 * takes each or refuses it (-1, leaving nothing), and what it takes encodes
 * again to as many bytes. */
Test(large, decode_survives_mutations, .timeout = 30)
{
	uint64_t seed = 13;
	uint8_t *buf, *m;
	size_t n;

	fill(big, VAL_MAX, 13);
	env_init(&ea, STAGES);
	env_init(&eb, STAGES);
	large_make(&la, TR_OP_SET, 7, 1, "k", big, 1500);
	large_make(&lb, TR_OP_CMD, 8, 1, "", big, 1100);
	cr_assert_eq(apply(&ea, &la.cmd[1], NULL), TR_ST_STAGED);
	cr_assert_eq(apply(&ea, &lb.cmd[0], NULL), TR_ST_STAGED);
	n = tr_sm_clients_bytes(&ea.sm);
	buf = malloc(n);
	m = malloc(n);
	cr_assert_eq(tr_sm_clients_encode(&ea.sm, buf, n), n);
	for (unsigned i = 0; i < 3000; i++) {
		unsigned flips = 1 + (unsigned)(rnd(&seed) % 3);
		size_t len = rnd(&seed) % 8 == 0 ? (size_t)(rnd(&seed) % (n + 1)) : n;

		memcpy(m, buf, n);
		for (unsigned f = 0; f < flips; f++) /* mostly the headers, now and then data */
			m[rnd(&seed) % 2 ? rnd(&seed) % 160 : rnd(&seed) % n] ^=
				(uint8_t)(1 + rnd(&seed) % 255);
		if (tr_sm_clients_decode(&eb.sm, m, len) != 0) {
			cr_assert_eq(eb.sm.clients_used + eb.sm.stages_used, 0, "mutation %u", i);
			continue;
		}
		cr_assert_eq(tr_sm_clients_bytes(&eb.sm), len, "mutation %u", i);
	}
	free(buf);
	free(m);
	env_fini(&ea);
	env_fini(&eb);
}
