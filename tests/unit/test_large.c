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
			.window = 8,
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
