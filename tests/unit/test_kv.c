/* SPDX-License-Identifier: MIT
 * Unit tests for engine/kv.c: KV semantics, exactly-once writes (§8), the
 * digest, the fixed-size table, and the seam to another state machine.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kv.h"

#define KEY_MAX 32
#define VAL_MAX 32
#define CELLS_BIG 256
#define MEM_WORDS (1u << 14)

/* One replica's state machine over a tr_table, in static memory. */
struct env {
	struct tr_table table;
	struct tr_sm sm;
	struct tr_client_rec clients[64];
	uint64_t mem[MEM_WORDS];
};

static struct env env_a, env_b;

/* A set straight on the table, with the pair's hash as the engine gives it. */
static int
tset(struct tr_table *t, const uint8_t *key, uint16_t key_len, const uint8_t *val,
     uint32_t val_len, uint64_t *old)
{
	return tr_table_ops.set(t, key, key_len, tr_kv_key_hash(key, key_len), val,
				val_len, tr_kv_pair_hash(key, key_len, val, val_len), old);
}

static void
env_init(struct env *e, uint32_t cells_max, uint32_t clients_max)
{
	size_t bytes = tr_table_mem_bytes(cells_max, KEY_MAX, VAL_MAX);

	cr_assert_leq(bytes, sizeof(e->mem));
	cr_assert_leq(clients_max, sizeof(e->clients) / sizeof(e->clients[0]));
	tr_table_init(&e->table, e->mem, cells_max, KEY_MAX, VAL_MAX);
	tr_sm_init(&e->sm, &tr_table_ops, &e->table, e->clients, clients_max);
}

static struct tr_cmd
mk(uint8_t op, uint64_t client, uint64_t seq, uint8_t window, const char *key, const char *val)
{
	struct tr_cmd c;

	memset(&c, 0, sizeof(c));
	c.op = op;
	c.window = window;
	c.client_id = client;
	c.seq = seq;
	c.key = (const uint8_t *)key;
	c.key_len = (uint16_t)strlen(key);
	if (val != NULL) {
		c.val = (const uint8_t *)val;
		c.val_len = (uint32_t)strlen(val);
	}
	return c;
}

static uint8_t
apply(struct env *e, struct tr_cmd c)
{
	struct tr_sm_result r;

	tr_sm_apply(&e->sm, &c, &r);
	return r.status;
}

static uint8_t
set(struct env *e, uint64_t client, uint64_t seq, uint8_t w, const char *key, const char *val)
{
	return apply(e, mk(TR_OP_SET, client, seq, w, key, val));
}

static uint8_t
del(struct env *e, uint64_t client, uint64_t seq, uint8_t w, const char *key)
{
	return apply(e, mk(TR_OP_DEL, client, seq, w, key, NULL));
}

/* A get through the state machine; *out gets the value (NUL-terminated). */
static uint8_t
get(struct env *e, const char *key, char *out, size_t out_size)
{
	struct tr_cmd c = mk(TR_OP_GET, 999, 0, 1, key, NULL);
	struct tr_sm_result r;

	tr_sm_apply(&e->sm, &c, &r);
	if (r.status == TR_ST_OK && out != NULL) {
		cr_assert_not_null(r.val);
		cr_assert_lt(r.val_len, out_size);
		memcpy(out, r.val, r.val_len);
		out[r.val_len] = '\0';
	}
	return r.status;
}

static void
expect_val(struct env *e, const char *key, const char *want)
{
	char buf[VAL_MAX + 1];

	if (want == NULL) {
		cr_expect_eq(get(e, key, buf, sizeof(buf)), TR_ST_NOT_FOUND, "key %s present", key);
		return;
	}
	cr_assert_eq(get(e, key, buf, sizeof(buf)), TR_ST_OK, "key %s absent", key);
	cr_expect_str_eq(buf, want, "key %s", key);
}

/* The digest from scratch: the pair hash of every present key. */
static uint64_t
digest_of(struct env *e, const char *const *keys, size_t n)
{
	uint64_t d = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		const uint8_t *v;
		uint32_t vl;
		uint16_t kl = (uint16_t)strlen(keys[i]);

		if (tr_table_ops.get(&e->table, (const uint8_t *)keys[i], kl, &v, &vl) == 0)
			d += tr_kv_pair_hash((const uint8_t *)keys[i], kl, v, vl);
	}
	return d;
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

static uint32_t
rnd_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(rnd(s) % n);
}

Test(kv, set_get_del_basics)
{
	env_init(&env_a, 16, 8);
	expect_val(&env_a, "a", NULL);
	cr_expect_eq(set(&env_a, 1, 1, 8, "a", "one"), TR_ST_OK);
	expect_val(&env_a, "a", "one");
	cr_expect_eq(set(&env_a, 1, 2, 8, "a", "two"), TR_ST_OK);
	expect_val(&env_a, "a", "two");
	/* An empty value is a value, distinct from absent. */
	cr_expect_eq(set(&env_a, 1, 3, 8, "e", ""), TR_ST_OK);
	expect_val(&env_a, "e", "");
	cr_expect_eq(del(&env_a, 1, 4, 8, "a"), TR_ST_OK);
	expect_val(&env_a, "a", NULL);
	expect_val(&env_a, "e", "");
	/* The empty key is a key too. */
	cr_expect_eq(set(&env_a, 1, 5, 8, "", "k"), TR_ST_OK);
	expect_val(&env_a, "", "k");
	/* 5 writes and 7 gets. */
	cr_expect_eq(env_a.sm.applied_cmds, 12);
}

Test(kv, get_has_no_dedup)
{
	char buf[8];

	env_init(&env_a, 16, 8);
	cr_assert_eq(set(&env_a, 1, 1, 8, "k", "v"), TR_ST_OK);
	/* The same get twice: answered both times, no client record made. */
	cr_expect_eq(apply(&env_a, mk(TR_OP_GET, 7, 1, 8, "k", NULL)), TR_ST_OK);
	cr_expect_eq(apply(&env_a, mk(TR_OP_GET, 7, 1, 8, "k", NULL)), TR_ST_OK);
	cr_expect_eq(apply(&env_a, mk(TR_OP_GET, 7, 1, 8, "x", NULL)), TR_ST_NOT_FOUND);
	cr_expect_eq(env_a.sm.clients_used, 1);
	cr_expect_eq(env_a.sm.applied_cmds, 4);
	/* A get does not advance the client's sequence either. */
	cr_expect_eq(set(&env_a, 7, 1, 8, "k", "w"), TR_ST_OK);
	cr_expect_eq(get(&env_a, "k", buf, sizeof(buf)), TR_ST_OK);
	cr_expect_str_eq(buf, "w");
}

Test(kv, del_absent_is_not_found_but_applied)
{
	env_init(&env_a, 16, 8);
	cr_expect_eq(del(&env_a, 1, 1, 8, "nope"), TR_ST_NOT_FOUND);
	cr_expect_eq(env_a.sm.applied_cmds, 1);
	cr_expect_eq(env_a.sm.clients_used, 1);
	cr_expect_eq(env_a.sm.digest, 0);
	/* It counted for exactly-once: its retry is a duplicate... */
	cr_expect_eq(del(&env_a, 1, 1, 8, "nope"), TR_ST_DUPLICATE);
	/* ...even after the key came to exist. */
	cr_expect_eq(set(&env_a, 2, 1, 8, "nope", "x"), TR_ST_OK);
	cr_expect_eq(del(&env_a, 1, 1, 8, "nope"), TR_ST_DUPLICATE);
	expect_val(&env_a, "nope", "x");
}

Test(kv, duplicate_changes_nothing)
{
	uint64_t digest, applied;

	env_init(&env_a, 16, 8);
	cr_assert_eq(set(&env_a, 1, 1, 8, "k", "v1"), TR_ST_OK);
	digest = env_a.sm.digest;
	applied = env_a.sm.applied_cmds;
	/* A retry carries the same command; a different value shows it is
	 * not applied. */
	cr_expect_eq(set(&env_a, 1, 1, 8, "k", "v2"), TR_ST_DUPLICATE);
	cr_expect_eq(del(&env_a, 1, 1, 8, "k"), TR_ST_DUPLICATE);
	cr_expect_eq(env_a.sm.digest, digest);
	cr_expect_eq(env_a.sm.applied_cmds, applied);
	expect_val(&env_a, "k", "v1");
	/* Another client's seq 1 is its own. */
	cr_expect_eq(set(&env_a, 2, 1, 8, "k", "v3"), TR_ST_OK);
	expect_val(&env_a, "k", "v3");
}

Test(kv, out_of_order_within_window)
{
	env_init(&env_a, 16, 8);
	cr_expect_eq(set(&env_a, 1, 5, 8, "k5", "5"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, 3, 8, "k3", "3"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, 3, 8, "k3", "x"), TR_ST_DUPLICATE);
	cr_expect_eq(set(&env_a, 1, 5, 8, "k5", "x"), TR_ST_DUPLICATE);
	cr_expect_eq(set(&env_a, 1, 4, 8, "k4", "4"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, 4, 8, "k4", "x"), TR_ST_DUPLICATE);
	cr_expect_eq(set(&env_a, 1, 1, 8, "k1", "1"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, 2, 8, "k2", "2"), TR_ST_OK);
	/* A newer write shifts the bitmap; the old ones stay duplicates. */
	cr_expect_eq(set(&env_a, 1, 7, 8, "k7", "7"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, 6, 8, "k6", "6"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, 3, 8, "k3", "x"), TR_ST_DUPLICATE);
	cr_expect_eq(set(&env_a, 1, 5, 8, "k5", "x"), TR_ST_DUPLICATE);
	cr_expect_eq(set(&env_a, 1, 6, 8, "k6", "x"), TR_ST_DUPLICATE);
	expect_val(&env_a, "k3", "3");
	expect_val(&env_a, "k5", "5");
	expect_val(&env_a, "k6", "6");
}

Test(kv, too_old_is_not_applied)
{
	uint64_t digest, applied;

	env_init(&env_a, 16, 8);
	cr_assert_eq(set(&env_a, 1, 10, 8, "k", "ten"), TR_ST_OK);
	digest = env_a.sm.digest;
	applied = env_a.sm.applied_cmds;
	/* §8: hi - s >= W: too old, whether applied long ago or never. */
	cr_expect_eq(set(&env_a, 1, 2, 8, "k", "two"), TR_ST_TOO_OLD);
	cr_expect_eq(del(&env_a, 1, 1, 8, "k"), TR_ST_TOO_OLD);
	cr_expect_eq(set(&env_a, 1, 2, 8, "old", "x"), TR_ST_TOO_OLD);
	cr_expect_eq(env_a.sm.digest, digest);
	cr_expect_eq(env_a.sm.applied_cmds, applied);
	expect_val(&env_a, "k", "ten");
	expect_val(&env_a, "old", NULL);
	/* Just inside the window (hi - s == W - 1) is applied. */
	cr_expect_eq(set(&env_a, 1, 3, 8, "k3", "x"), TR_ST_OK);
}

/* PROTOCOL §8, as written: "A write already applied is acknowledged again
 * without being applied; a write older than the window is not applied and
 * is answered 'too old' [...] Every replica decides the same way because the
 * decision depends only on the applied sequence and on what the command
 * itself carries." One client (W = 4) whose write 2 is re-proposed (P7) after
 * newer ones were applied, with retries of applied writes, on two replicas
 * whose tables differ in size. */
Test(kv, section8_retries_decided_alike_on_every_replica)
{
	static const struct {
		uint8_t op;
		uint64_t seq;
		const char *key, *val;
		uint8_t want;
	} seq[] = {
		{ TR_OP_SET, 1, "a", "1", TR_ST_OK },
		{ TR_OP_SET, 3, "b", "3", TR_ST_OK },        /* 2 still in flight */
		{ TR_OP_SET, 2, "a", "2", TR_ST_OK },        /* P7: older, not applied yet */
		{ TR_OP_SET, 3, "b", "3", TR_ST_DUPLICATE }, /* a retry of an applied write */
		{ TR_OP_SET, 1, "a", "1", TR_ST_DUPLICATE }, /* hi - 1 = 2 < W: in the window */
		{ TR_OP_SET, 5, "c", "5", TR_ST_OK },
		{ TR_OP_DEL, 6, "a", NULL, TR_ST_OK },
		{ TR_OP_SET, 7, "b", "7", TR_ST_OK },        /* hi = 7 */
		{ TR_OP_SET, 4, "a", "4", TR_ST_OK },        /* 7 - 4 = 3 < W, never applied */
		{ TR_OP_SET, 4, "a", "4", TR_ST_DUPLICATE },
		{ TR_OP_SET, 2, "a", "2", TR_ST_TOO_OLD },   /* 7 - 2 = 5 >= W: applied long ago */
		{ TR_OP_SET, 3, "d", "3", TR_ST_TOO_OLD },   /* 7 - 3 = 4 >= W */
		{ TR_OP_DEL, 7, "b", NULL, TR_ST_DUPLICATE },
		{ TR_OP_DEL, 6, "a", NULL, TR_ST_DUPLICATE }, /* not re-applied: "a" keeps 4 */
	};

	env_init(&env_a, 16, 4);
	env_init(&env_b, CELLS_BIG, 64);
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		struct tr_cmd c = mk(seq[i].op, 42, seq[i].seq, 4, seq[i].key, seq[i].val);

		cr_assert_eq(apply(&env_a, c), seq[i].want, "step %zu (seq %llu)", i,
			     (unsigned long long)seq[i].seq);
		cr_assert_eq(apply(&env_b, c), seq[i].want, "step %zu on the other replica", i);
	}
	cr_assert_eq(env_a.sm.digest, env_b.sm.digest);
	cr_assert_eq(env_a.sm.applied_cmds, env_b.sm.applied_cmds);
	expect_val(&env_a, "a", "4");
	expect_val(&env_a, "b", "7");
	expect_val(&env_a, "c", "5");
	expect_val(&env_a, "d", NULL);
	expect_val(&env_b, "a", "4");
}

Test(kv, window_travels_in_the_command)
{
	static const struct {
		uint8_t w;
		uint8_t want;
	} cases[] = {
		{ 8, TR_ST_OK },      /* hi - s = 7 < 8 */
		{ 7, TR_ST_TOO_OLD }, /* hi - s = 7 >= 7 */
		{ 1, TR_ST_TOO_OLD },
		{ 64, TR_ST_OK },
		{ 0, TR_ST_TOO_OLD },  /* malformed W: everything below hi too old */
		{ 200, TR_ST_OK },     /* counts as TR_WINDOW_MAX */
	};
	size_t i;

	/* The same commands, differing only in W: each decides by its own W. */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		env_init(&env_a, 16, 8);
		cr_assert_eq(set(&env_a, 1, 10, cases[i].w, "k", "ten"), TR_ST_OK);
		cr_expect_eq(set(&env_a, 1, 3, cases[i].w, "k3", "x"), cases[i].want, "W=%u",
			     cases[i].w);
		expect_val(&env_a, "k3", cases[i].want == TR_ST_OK ? "x" : NULL);
	}

	/* TOO_OLD is decided before the bitmap: an applied seq retried with a
	 * smaller W is too old, not a duplicate. */
	env_init(&env_a, 16, 8);
	cr_assert_eq(set(&env_a, 1, 10, 8, "k", "ten"), TR_ST_OK);
	cr_assert_eq(set(&env_a, 1, 3, 8, "k3", "x"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, 3, 4, "k3", "x"), TR_ST_TOO_OLD);
	cr_expect_eq(set(&env_a, 1, 3, 8, "k3", "x"), TR_ST_DUPLICATE);
	/* hi itself is a duplicate whatever W. */
	cr_expect_eq(set(&env_a, 1, 10, 1, "k", "ten"), TR_ST_DUPLICATE);
	cr_expect_eq(set(&env_a, 1, 10, 0, "k", "ten"), TR_ST_DUPLICATE);

	/* W above TR_WINDOW_MAX counts as TR_WINDOW_MAX: the bitmap reaches
	 * no further. */
	env_init(&env_a, 16, 8);
	cr_assert_eq(set(&env_a, 1, 100, 200, "k", "100"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, 37, 200, "k", "37"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, 37, 200, "k", "x"), TR_ST_DUPLICATE);
	cr_expect_eq(set(&env_a, 1, 36, 200, "k", "36"), TR_ST_TOO_OLD);
	cr_expect_eq(set(&env_a, 1, 30, 255, "k", "30"), TR_ST_TOO_OLD);
	expect_val(&env_a, "k", "37");
}

Test(kv, bitmap_edges_and_big_jumps)
{
	env_init(&env_a, 16, 8);
	/* Old hi 1 lands on bit 62 after a jump of 63: still known. */
	cr_assert_eq(set(&env_a, 1, 1, 64, "a", "1"), TR_ST_OK);
	cr_assert_eq(set(&env_a, 1, 64, 64, "a", "64"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, 1, 64, "a", "x"), TR_ST_DUPLICATE);
	cr_expect_eq(set(&env_a, 1, 2, 64, "a", "2"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, 63, 64, "a", "63"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, 63, 64, "a", "x"), TR_ST_DUPLICATE);
	/* One more: seq 1 is now 64 below hi, outside any window. */
	cr_expect_eq(set(&env_a, 1, 65, 64, "a", "65"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, 1, 64, "a", "x"), TR_ST_TOO_OLD);
	cr_expect_eq(set(&env_a, 1, 2, 64, "a", "x"), TR_ST_DUPLICATE);
	expect_val(&env_a, "a", "65");

	/* Jumps of 64 and more drop the bitmap (no shift by >= 64). */
	env_init(&env_a, 16, 8);
	cr_assert_eq(set(&env_a, 1, 5, 64, "a", "5"), TR_ST_OK);
	cr_assert_eq(set(&env_a, 1, 69, 64, "a", "69"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, 68, 64, "a", "68"), TR_ST_OK);
	cr_assert_eq(set(&env_a, 1, 1000, 64, "a", "1000"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, 999, 64, "a", "999"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, 999, 64, "a", "x"), TR_ST_DUPLICATE);
	cr_assert_eq(set(&env_a, 1, UINT64_MAX, 64, "a", "max"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, UINT64_MAX - 1, 64, "a", "max-1"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, UINT64_MAX, 64, "a", "x"), TR_ST_DUPLICATE);
	cr_expect_eq(set(&env_a, 1, 1000, 64, "a", "x"), TR_ST_TOO_OLD);
	expect_val(&env_a, "a", "max-1");
}

Test(kv, seq_zero_write_is_refused)
{
	env_init(&env_a, 16, 8);
	/* Sequences start at 1: a write with seq 0 is not applied, TOO_OLD,
	 * and creates no client record. */
	cr_expect_eq(set(&env_a, 1, 0, 8, "k", "v"), TR_ST_TOO_OLD);
	cr_expect_eq(del(&env_a, 1, 0, 8, "k"), TR_ST_TOO_OLD);
	cr_expect_eq(env_a.sm.clients_used, 0);
	cr_expect_eq(env_a.sm.applied_cmds, 0);
	expect_val(&env_a, "k", NULL);
	cr_expect_eq(set(&env_a, 1, 1, 8, "k", "v"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, 0, 8, "k", "w"), TR_ST_TOO_OLD);
	expect_val(&env_a, "k", "v");
	/* A get with seq 0 is an ordinary get. */
	cr_expect_eq(apply(&env_a, mk(TR_OP_GET, 1, 0, 8, "k", NULL)), TR_ST_OK);
}

Test(kv, unknown_op_is_not_applied)
{
	struct tr_cmd c = mk(TR_OP_SET, 1, 1, 8, "k", "v");

	env_init(&env_a, 16, 8);
	c.op = 0x7f;
	cr_expect_eq(apply(&env_a, c), TR_ST_TOO_OLD);
	cr_expect_eq(env_a.sm.applied_cmds, 0);
	cr_expect_eq(env_a.sm.clients_used, 0);
	cr_expect_eq(set(&env_a, 1, 1, 8, "k", "v"), TR_ST_OK);
}

Test(kv, status_strings)
{
	int st, other;

	for (st = TR_ST_OK; st <= TR_ST_FULL; st++) {
		cr_assert_not_null(tr_status_str(st));
		for (other = TR_ST_OK; other < st; other++)
			cr_expect_str_neq(tr_status_str(st), tr_status_str(other));
	}
	cr_expect_str_eq(tr_status_str(TR_ST_DUPLICATE), "duplicate");
	cr_expect_str_eq(tr_status_str(99), "unknown status");
}

Test(kv, digest_tracks_contents)
{
	static const char *const keys[] = { "a", "b", "c" };

	env_init(&env_a, 16, 8);
	cr_expect_eq(env_a.sm.digest, 0);
	cr_assert_eq(set(&env_a, 1, 1, 8, "a", "1"), TR_ST_OK);
	cr_expect_eq(env_a.sm.digest, tr_kv_pair_hash((const uint8_t *)"a", 1,
						       (const uint8_t *)"1", 1));
	cr_assert_eq(set(&env_a, 1, 2, 8, "b", ""), TR_ST_OK);
	cr_assert_eq(set(&env_a, 1, 3, 8, "a", "2"), TR_ST_OK);
	cr_expect_eq(env_a.sm.digest, digest_of(&env_a, keys, 3));
	cr_assert_eq(del(&env_a, 1, 4, 8, "c"), TR_ST_NOT_FOUND);
	cr_assert_eq(del(&env_a, 1, 5, 8, "a"), TR_ST_OK);
	cr_expect_eq(env_a.sm.digest, digest_of(&env_a, keys, 3));
	cr_assert_eq(del(&env_a, 1, 6, 8, "b"), TR_ST_OK);
	cr_expect_eq(env_a.sm.digest, 0);
	/* An empty value hashes unlike an absent key. */
	cr_assert_eq(set(&env_a, 1, 7, 8, "b", ""), TR_ST_OK);
	cr_expect_neq(env_a.sm.digest, 0);
}

Test(kv, digest_separates_key_and_value)
{
	const uint8_t *ab = (const uint8_t *)"ab", *c = (const uint8_t *)"c";
	const uint8_t *a = (const uint8_t *)"a", *bc = (const uint8_t *)"bc";

	cr_expect_neq(tr_kv_pair_hash(ab, 2, c, 1), tr_kv_pair_hash(a, 1, bc, 2));
	cr_expect_neq(tr_kv_pair_hash(ab, 2, NULL, 0), tr_kv_pair_hash(NULL, 0, ab, 2));
	cr_expect_neq(tr_kv_pair_hash(a, 1, c, 1), tr_kv_pair_hash(c, 1, a, 1));
	env_init(&env_a, 16, 8);
	env_init(&env_b, 16, 8);
	cr_assert_eq(set(&env_a, 1, 1, 8, "ab", "c"), TR_ST_OK);
	cr_assert_eq(set(&env_b, 1, 1, 8, "a", "bc"), TR_ST_OK);
	cr_expect_neq(env_a.sm.digest, env_b.sm.digest);
	/* The same contents reached in another order: the same digest. */
	env_init(&env_a, 16, 8);
	env_init(&env_b, 32, 8);
	cr_assert_eq(set(&env_a, 1, 1, 8, "x", "1"), TR_ST_OK);
	cr_assert_eq(set(&env_a, 1, 2, 8, "y", "2"), TR_ST_OK);
	cr_assert_eq(set(&env_b, 1, 1, 8, "y", "2"), TR_ST_OK);
	cr_assert_eq(set(&env_b, 1, 2, 8, "x", "1"), TR_ST_OK);
	cr_expect_eq(env_a.sm.digest, env_b.sm.digest);
}

Test(kv, store_full_records_nothing)
{
	static const char *const keys[] = { "k1", "k2", "k3", "k4", "k5", "k6", "k7" };
	char big[VAL_MAX + 2];
	uint64_t digest, applied;
	uint64_t s;

	/* 8 cells: new keys refused past 3/4, i.e. 6 keys. */
	env_init(&env_a, 8, 8);
	for (s = 1; s <= 6; s++)
		cr_assert_eq(set(&env_a, 1, s, 8, keys[s - 1], "v"), TR_ST_OK, "seq %lu",
			     (unsigned long)s);
	digest = env_a.sm.digest;
	applied = env_a.sm.applied_cmds;
	cr_expect_eq(set(&env_a, 1, 7, 8, "k7", "v"), TR_ST_FULL);
	cr_expect_eq(env_a.sm.digest, digest);
	cr_expect_eq(env_a.sm.applied_cmds, applied);
	expect_val(&env_a, "k7", NULL);
	/* Overwriting an existing key is always possible. */
	cr_expect_eq(set(&env_a, 1, 8, 8, "k1", "w"), TR_ST_OK);
	cr_expect_eq(del(&env_a, 1, 9, 8, "k2"), TR_ST_OK);
	/* seq 7 was decided (refused for good): again it is a duplicate, and
	 * a new seq applies it now that there is room. */
	cr_expect_eq(set(&env_a, 1, 7, 8, "k7", "v"), TR_ST_DUPLICATE);
	expect_val(&env_a, "k7", NULL);
	cr_expect_eq(set(&env_a, 1, 12, 8, "k7", "v"), TR_ST_OK);
	expect_val(&env_a, "k7", "v");
	expect_val(&env_a, "k1", "w");
	expect_val(&env_a, "k2", NULL);
	cr_expect_eq(env_a.sm.digest, digest_of(&env_a, keys, 7));

	/* Too long for a cell: refused the same way. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	digest = env_a.sm.digest;
	cr_expect_eq(set(&env_a, 1, 10, 8, "k1", big), TR_ST_FULL);
	cr_expect_eq(set(&env_a, 1, 11, 8, big, "v"), TR_ST_FULL);
	cr_expect_eq(env_a.sm.digest, digest);
	expect_val(&env_a, "k1", "w");
	/* A value of exactly val_max fits. */
	big[VAL_MAX] = '\0';
	cr_expect_eq(set(&env_a, 1, 13, 8, "k1", big), TR_ST_OK);
	expect_val(&env_a, "k1", big);
}

Test(kv, client_table_full)
{
	uint64_t c;

	/* 8 records: new clients refused past 3/4, i.e. 6 clients. */
	env_init(&env_a, 64, 8);
	for (c = 1; c <= 6; c++)
		cr_assert_eq(set(&env_a, c * 1000, 1, 8, "k", "v"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 7000, 1, 8, "new", "v"), TR_ST_FULL);
	cr_expect_eq(del(&env_a, 7000, 1, 8, "k"), TR_ST_FULL);
	cr_expect_eq(env_a.sm.clients_used, 6);
	expect_val(&env_a, "new", NULL);
	expect_val(&env_a, "k", "v");
	/* Known clients go on; the refused one can still read. */
	cr_expect_eq(set(&env_a, 3000, 2, 8, "k", "w"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 3000, 1, 8, "k", "v"), TR_ST_DUPLICATE);
	cr_expect_eq(apply(&env_a, mk(TR_OP_GET, 7000, 1, 8, "k", NULL)), TR_ST_OK);
}

/* A full table takes a new client in the record of the client idle
 * longest, once it is idle client_ttl_cmds writes, and not before. */
Test(kv, an_idle_client_gives_its_record_to_a_new_one)
{
	uint64_t c;

	env_init(&env_a, 64, 8); /* 6 clients at most */
	env_a.sm.client_ttl_cmds = 10;
	for (c = 1; c <= 6; c++) /* writes 1-6 */
		cr_assert_eq(set(&env_a, c * 1000, 1, 8, "k", "v"), TR_ST_OK);
	/* Write 7: client 1000 idle 6 writes: kept, the new one refused. */
	cr_expect_eq(set(&env_a, 7000, 1, 8, "new", "v"), TR_ST_FULL);
	for (c = 2; c <= 4; c++) /* writes 8-10 */
		cr_assert_eq(set(&env_a, c * 1000, 2, 8, "k", "w"), TR_ST_OK);
	/* Write 11: client 1000 idle 10 writes: its record goes. */
	cr_expect_eq(set(&env_a, 7000, 1, 8, "new", "v"), TR_ST_OK);
	cr_expect_eq(env_a.sm.clients_used, 6);
	expect_val(&env_a, "new", "v");
	/* The others kept theirs: a retry is still a duplicate. */
	for (c = 2; c <= 6; c++)
		cr_expect_eq(set(&env_a, c * 1000, 1, 8, "k", "x"), TR_ST_DUPLICATE, "%" PRIu64, c);
	cr_expect_eq(set(&env_a, 7000, 1, 8, "new", "x"), TR_ST_DUPLICATE);
	/* Every one wrote within 10 writes: nobody gives way. */
	cr_expect_eq(set(&env_a, 8000, 1, 8, "new", "v"), TR_ST_FULL);
}

/* The client table under churn against a model of what it must decide:
 * clients come and go, the hot ones write often, the cold ones seldom, and
 * some writes are retries. A record lost by a removal (its retry applied
 * as new), the wrong client evicted, or one evicted too early shows here;
 * and a replica loaded from a snapshot halfway decides alike from then on
 * (it needs every record's last write). */
#define CH_CLIENTS 40
#define CH_WRITES 20000
#define CH_TTL 30

struct ch_model {
	uint64_t id, next, hi, last;
	bool present;
};

static uint8_t
ch_decide(struct ch_model *m, unsigned k, uint64_t seq, uint64_t clock, unsigned *used,
	  unsigned *evicted)
{
	struct ch_model *c = &m[k];

	if (!c->present) {
		if (*used == 12) { /* 16 records: 3/4 */
			int pick = -1;

			for (unsigned i = 0; i < CH_CLIENTS; i++)
				if (m[i].present && clock - m[i].last >= CH_TTL &&
				    (pick < 0 || m[i].last < m[pick].last ||
				     (m[i].last == m[pick].last && m[i].id < m[pick].id)))
					pick = (int)i;
			if (pick < 0)
				return TR_ST_FULL;
			m[pick].present = false;
			(*used)--;
			(*evicted)++;
		}
		c->present = true;
		c->hi = 0;
		(*used)++;
	}
	c->last = clock;
	if (seq <= c->hi)
		return TR_ST_DUPLICATE; /* retries only of hi */
	c->hi = seq;
	return TR_ST_OK;
}

Test(kv, client_table_churn_matches_model, .timeout = 10)
{
	struct ch_model m[CH_CLIENTS] = {0};
	unsigned count[TR_ST_INVALID + 1] = {0}, used = 0, evicted = 0;
	uint64_t rng = 20261207;

	env_init(&env_a, 64, 16);
	env_init(&env_b, 64, 16);
	env_a.sm.client_ttl_cmds = env_b.sm.client_ttl_cmds = CH_TTL;
	for (unsigned i = 0; i < CH_CLIENTS; i++)
		m[i].id = rnd(&rng) | 1;
	/* env_b's own past, until a scan finds nobody idle late on its clock:
	 * what it learnt of its old table must not outlive the snapshot. */
	for (uint64_t w = 1; w <= 15000; w++)
		cr_assert_eq(set(&env_b, 1000 + w % 12, 1 + w / 12, 8, "k", "v"), TR_ST_OK);
	cr_assert_eq(set(&env_b, 5000, 1, 8, "k", "v"), TR_ST_FULL);
	for (uint64_t w = 1; w <= CH_WRITES; w++) {
		unsigned k = rnd_below(&rng, 10) < 7 ? rnd_below(&rng, 8)
						     : 8 + rnd_below(&rng, CH_CLIENTS - 8);
		bool retry = m[k].present && m[k].hi > 0 && rnd_below(&rng, 5) == 0;
		uint64_t seq = retry ? m[k].hi : ++m[k].next;
		char key[8];
		uint8_t want, got;

		snprintf(key, sizeof(key), "k%u", k % 8);
		want = ch_decide(m, k, seq, w, &used, &evicted);
		got = set(&env_a, m[k].id, seq, 8, key, "v");
		cr_assert_eq(got, want, "write %" PRIu64 ": got %s, want %s", w,
			     tr_status_str(got), tr_status_str(want));
		count[got]++;
		if (w == CH_WRITES / 2) { /* env_b: env_a's table, as a snapshot carries it */
			static uint8_t buf[4096];
			size_t n = tr_sm_clients_bytes(&env_a.sm);

			cr_assert_leq(n, sizeof(buf));
			cr_assert_eq(tr_sm_clients_encode(&env_a.sm, buf, n), n);
			cr_assert_eq(tr_sm_clients_decode(&env_b.sm, buf, n), 0);
		} else if (w > CH_WRITES / 2) {
			cr_assert_eq(set(&env_b, m[k].id, seq, 8, key, "v"), got, "write %" PRIu64, w);
		}
	}
	cr_expect_eq(env_a.sm.clients_used, used);
	cr_expect_eq(tr_sm_clients_digest(&env_a.sm), tr_sm_clients_digest(&env_b.sm));
	/* The history exercised every case. */
	cr_expect_gt(count[TR_ST_OK], 5000);
	cr_expect_gt(count[TR_ST_DUPLICATE], 1000);
	cr_expect_gt(count[TR_ST_FULL], 100);
	cr_expect_gt(evicted, 500);
}

Test(kv, table_direct)
{
	struct tr_table *t = &env_a.table;
	const uint8_t *v;
	uint32_t vl;
	uint64_t old;
	uint8_t key[KEY_MAX + 1];

	env_init(&env_a, 16, 8);
	cr_expect_eq(tr_table_mem_bytes(16, KEY_MAX, VAL_MAX) % 8, 0);
	cr_expect_eq(tr_table_mem_bytes(4, 3, 2) % 8, 0);
	cr_expect_geq(tr_table_mem_bytes(4, 3, 2), 4 * (3 + 2));
	cr_expect_eq(tr_table_ops.get(t, (const uint8_t *)"a", 1, &v, &vl), -1);
	cr_expect_eq(tset(t, (const uint8_t *)"a", 1, (const uint8_t *)"xy", 2, &old), 0);
	cr_expect_eq(old, 0);
	cr_assert_eq(tr_table_ops.get(t, (const uint8_t *)"a", 1, &v, &vl), 0);
	cr_expect_eq(vl, 2);
	cr_expect_eq(memcmp(v, "xy", 2), 0);
	cr_expect_eq(t->used, 1);
	cr_expect_eq(tr_table_ops.del(t, (const uint8_t *)"a", 1, &old), 0);
	cr_expect_eq(old, tr_kv_pair_hash((const uint8_t *)"a", 1, (const uint8_t *)"xy", 2));
	/* A lone deleted key leaves no tombstone behind. */
	cr_expect_eq(t->used, 0);
	cr_expect_eq(tr_table_ops.del(t, (const uint8_t *)"a", 1, &old), 1);
	cr_expect_eq(old, 0);
	cr_expect_eq(tr_table_ops.get(t, (const uint8_t *)"a", 1, &v, &vl), -1);
	memset(key, 'k', sizeof(key));
	cr_expect_eq(tset(t, key, KEY_MAX + 1, NULL, 0, &old), -1);
	cr_expect_eq(tr_table_ops.get(t, key, KEY_MAX + 1, &v, &vl), -1);
	cr_expect_eq(tset(t, key, KEY_MAX, NULL, 0, &old), 0);
	cr_expect_eq(tr_table_ops.get(t, key, KEY_MAX, &v, &vl), 0);
	cr_expect_eq(vl, 0);
}

Test(kv, tombstones_never_fill_the_table)
{
	char key[16];
	uint64_t seq = 1;
	int i;

	/* 8 cells, limit 6: three keys stay, a stream of new keys comes and goes. */
	env_init(&env_a, 8, 8);
	cr_assert_eq(set(&env_a, 1, seq++, 8, "p1", "1"), TR_ST_OK);
	cr_assert_eq(set(&env_a, 1, seq++, 8, "p2", "2"), TR_ST_OK);
	cr_assert_eq(set(&env_a, 1, seq++, 8, "p3", "3"), TR_ST_OK);
	for (i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "t%d", i);
		cr_assert_eq(set(&env_a, 1, seq++, 8, key, "v"), TR_ST_OK, "insert %d", i);
		if (i % 3 == 0) {
			/* Sometimes two live at once. */
			snprintf(key, sizeof(key), "u%d", i);
			cr_assert_eq(set(&env_a, 1, seq++, 8, key, "u"), TR_ST_OK);
			cr_assert_eq(del(&env_a, 1, seq++, 8, key), TR_ST_OK);
			snprintf(key, sizeof(key), "t%d", i);
		}
		cr_assert_eq(del(&env_a, 1, seq++, 8, key), TR_ST_OK, "delete %d", i);
		cr_assert_leq(env_a.table.used, 6);
	}
	expect_val(&env_a, "p1", "1");
	expect_val(&env_a, "p2", "2");
	expect_val(&env_a, "p3", "3");
	/* Exactly the three keys are there: room for three more, no fourth. */
	cr_expect_eq(set(&env_a, 1, seq++, 8, "n1", "v"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, seq++, 8, "n2", "v"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, seq++, 8, "n3", "v"), TR_ST_OK);
	cr_expect_eq(set(&env_a, 1, seq++, 8, "n4", "v"), TR_ST_FULL);
}

Test(kv, table_reuses_tombstones)
{
	static const char *const keys[] = { "r0", "r1", "r2", "r3", "r4" };
	struct tr_table *t = &env_a.table;
	unsigned int i, tombs = 0;
	uint64_t old;

	/* 5 keys in 8 cells: at least two are followed by a used cell, so
	 * deleting them leaves a tombstone (used stays), which a reinsert of
	 * the key takes again rather than a fresh empty cell. */
	env_init(&env_a, 8, 8);
	for (i = 0; i < 5; i++)
		cr_assert_eq(tset(t, (const uint8_t *)keys[i], 2,
					      (const uint8_t *)"v", 1, &old), 0);
	cr_assert_eq(t->used, 5);
	for (i = 0; i < 5; i++) {
		cr_assert_eq(tr_table_ops.del(t, (const uint8_t *)keys[i], 2, &old), 0);
		if (t->used == 5)
			tombs++;
		cr_assert_eq(tset(t, (const uint8_t *)keys[i], 2,
					      (const uint8_t *)"w", 1, &old), 0);
		cr_expect_eq(t->used, 5, "key %u", i);
	}
	cr_expect_geq(tombs, 2);
}

/* Random set/del on a small table against a model: a set of a new key is
 * refused exactly when the table holds its limit of live keys, and every get
 * sees the model's contents. */
Test(kv, table_churn_matches_model)
{
	enum { NKEYS = 40, CELLS = 16, LIMIT = 12 };
	struct tr_table *t = &env_a.table;
	uint8_t present[NKEYS] = { 0 };
	uint8_t model[NKEYS];
	uint64_t s = 42;
	unsigned int live = 0;
	int n, k;

	env_init(&env_a, CELLS, 8);
	for (n = 0; n < 30000; n++) {
		uint8_t key[2] = { 'K', 0 }, val;
		const uint8_t *v;
		uint32_t vl;
		uint64_t old, was;
		int rc;

		k = (int)rnd_below(&s, NKEYS);
		key[1] = (uint8_t)k;
		/* What a write must report it replaced. */
		was = present[k] ? tr_kv_pair_hash(key, 2, &model[k], 1) : 0;
		if (rnd_below(&s, 2) == 0) {
			val = (uint8_t)rnd(&s);
			rc = tset(t, key, 2, &val, 1, &old);
			if (present[k] || live < LIMIT) {
				cr_assert_eq(rc, 0, "op %d: set refused with %u live", n, live);
				cr_assert_eq(old, was, "op %d: set reported another old pair", n);
				live += !present[k];
				present[k] = 1;
				model[k] = val;
			} else {
				cr_assert_eq(rc, -1, "op %d: set accepted past the limit", n);
			}
		} else {
			cr_assert_eq(tr_table_ops.del(t, key, 2, &old), present[k] ? 0 : 1);
			cr_assert_eq(old, was, "op %d: del reported another old pair", n);
			live -= present[k];
			present[k] = 0;
		}
		cr_assert_leq(t->used, LIMIT);
		cr_assert_geq(t->used, live);
		if (n % 97 == 0 || n > 29900) {
			for (k = 0; k < NKEYS; k++) {
				key[1] = (uint8_t)k;
				rc = tr_table_ops.get(t, key, 2, &v, &vl);
				cr_assert_eq(rc, present[k] ? 0 : -1, "op %d key %d", n, k);
				if (rc == 0)
					cr_assert(vl == 1 && v[0] == model[k], "op %d key %d", n, k);
			}
		}
	}
}

/* The model of §8 for the random test: every applied seq remembered. */
#define R_CLIENTS 6
#define R_KEYS 24
#define R_CMDS 4000
#define R_SEQ_MAX (R_CMDS + 1)

struct r_cmd {
	struct tr_cmd cmd;
	char key[8];
	char val[16];
};

static struct r_cmd r_cmds[R_CMDS];
static uint8_t r_applied[R_CLIENTS][R_SEQ_MAX];

static uint8_t
model_decide(const struct tr_cmd *c, uint64_t *hi)
{
	unsigned int cl = (unsigned int)(c->client_id % 100);
	uint64_t w = c->window > TR_WINDOW_MAX ? TR_WINDOW_MAX : c->window;

	if (c->op == TR_OP_GET)
		return TR_ST_OK; /* not decided here */
	if (c->seq > hi[cl]) {
		hi[cl] = c->seq;
		r_applied[cl][c->seq] = 1;
		return TR_ST_OK;
	}
	if (c->seq == hi[cl])
		return TR_ST_DUPLICATE;
	if (hi[cl] - c->seq >= w)
		return TR_ST_TOO_OLD;
	if (r_applied[cl][c->seq])
		return TR_ST_DUPLICATE;
	r_applied[cl][c->seq] = 1;
	return TR_ST_OK;
}

/* Generates the command stream: writes released out of order within each
 * client's window, retries of recent commands (some beyond the window) and
 * gets. */
static size_t
gen_cmds(uint64_t seed)
{
	static const uint8_t windows[R_CLIENTS] = { 1, 4, 8, 16, 64, 64 };
	uint64_t next_seq[R_CLIENTS] = { 0 };
	size_t pend[R_CLIENTS][64];
	size_t npend[R_CLIENTS] = { 0 };
	size_t n = 0;
	uint64_t s = seed;
	uint8_t op;

	while (n < R_CMDS) {
		unsigned int cl = rnd_below(&s, R_CLIENTS);
		struct r_cmd *rc = &r_cmds[n];
		uint32_t dice = rnd_below(&s, 100);

		if (dice < 15 && n > 0) {
			/* A retry: an earlier command, resent identically. */
			size_t back = 1 + rnd_below(&s, n < 300 ? (uint32_t)n : 300);

			*rc = r_cmds[n - back];
		} else if (dice < 25) {
			memset(rc, 0, sizeof(*rc));
			snprintf(rc->key, sizeof(rc->key), "key%02u", rnd_below(&s, R_KEYS));
			rc->cmd = mk(TR_OP_GET, 100 + cl, 0, windows[cl], rc->key, NULL);
		} else {
			/* A new write joins the client's outstanding ones;
			 * a random outstanding one is sent. */
			if (npend[cl] < windows[cl]) {
				memset(rc, 0, sizeof(*rc));
				snprintf(rc->key, sizeof(rc->key), "key%02u",
					 rnd_below(&s, R_KEYS));
				snprintf(rc->val, sizeof(rc->val), "v%lu",
					 (unsigned long)rnd_below(&s, 1000000));
				op = rnd_below(&s, 4) == 0 ? TR_OP_DEL : TR_OP_SET;
				rc->cmd = mk(op, 100 + cl, ++next_seq[cl], windows[cl], rc->key,
					     op == TR_OP_SET ? rc->val : NULL);
				pend[cl][npend[cl]++] = n++;
				continue;
			}
			{
				uint32_t j = rnd_below(&s, (uint32_t)npend[cl]);

				*rc = r_cmds[pend[cl][j]];
				pend[cl][j] = pend[cl][--npend[cl]];
			}
		}
		n++;
	}
	/* Pointers into r_cmds[] copies: re-aim them at their own buffers. */
	for (n = 0; n < R_CMDS; n++) {
		r_cmds[n].cmd.key = (const uint8_t *)r_cmds[n].key;
		if (r_cmds[n].cmd.op == TR_OP_SET)
			r_cmds[n].cmd.val = (const uint8_t *)r_cmds[n].val;
	}
	return R_CMDS;
}

Test(kv, replicas_agree_on_random_history, .timeout = 10)
{
	static const char *const keys[R_KEYS] = {
		"key00", "key01", "key02", "key03", "key04", "key05", "key06", "key07",
		"key08", "key09", "key10", "key11", "key12", "key13", "key14", "key15",
		"key16", "key17", "key18", "key19", "key20", "key21", "key22", "key23",
	};
	uint64_t hi[R_CLIENTS] = { 0 };
	unsigned int count[5] = { 0 };
	char model_val[R_KEYS][16];
	uint8_t model_present[R_KEYS] = { 0 };
	size_t n, ncmds;

	memset(r_applied, 0, sizeof(r_applied));
	ncmds = gen_cmds(20240607);
	/* Different table and client-table sizes: decisions must not depend
	 * on the layout. */
	env_init(&env_a, 64, 8);
	env_init(&env_b, CELLS_BIG, 64);
	for (n = 0; n < ncmds; n++) {
		const struct tr_cmd *c = &r_cmds[n].cmd;
		unsigned int k = (unsigned int)(r_cmds[n].key[3] - '0') * 10 +
				 (unsigned int)(r_cmds[n].key[4] - '0');
		struct tr_sm_result ra, rb;
		uint8_t want;

		tr_sm_apply(&env_a.sm, c, &ra);
		tr_sm_apply(&env_b.sm, c, &rb);
		want = model_decide(c, hi);
		if (c->op == TR_OP_GET)
			want = model_present[k] ? TR_ST_OK : TR_ST_NOT_FOUND;
		else if (want == TR_ST_OK && c->op == TR_OP_DEL && !model_present[k])
			want = TR_ST_NOT_FOUND;
		cr_assert_eq(ra.status, want, "cmd %zu: got %s, want %s", n,
			     tr_status_str(ra.status), tr_status_str(want));
		cr_assert_eq(rb.status, ra.status, "cmd %zu", n);
		cr_assert_eq(rb.val_len, ra.val_len, "cmd %zu", n);
		if (ra.status == TR_ST_OK && c->op == TR_OP_GET) {
			cr_assert_eq(ra.val_len, strlen(model_val[k]));
			cr_assert_eq(memcmp(ra.val, model_val[k], ra.val_len), 0, "cmd %zu", n);
			cr_assert_eq(memcmp(rb.val, model_val[k], rb.val_len), 0, "cmd %zu", n);
		}
		if (c->op != TR_OP_GET && (want == TR_ST_OK || want == TR_ST_NOT_FOUND)) {
			model_present[k] = c->op == TR_OP_SET;
			if (c->op == TR_OP_SET)
				memcpy(model_val[k], r_cmds[n].val, sizeof(model_val[k]));
		}
		count[ra.status]++;
		cr_assert_eq(env_a.sm.digest, env_b.sm.digest, "cmd %zu", n);
	}
	cr_expect_eq(env_a.sm.applied_cmds, env_b.sm.applied_cmds);
	cr_expect_eq(env_a.sm.applied_cmds, count[TR_ST_OK] + count[TR_ST_NOT_FOUND]);
	cr_expect_eq(env_a.sm.digest, digest_of(&env_a, keys, R_KEYS));
	cr_expect_eq(env_b.sm.digest, digest_of(&env_b, keys, R_KEYS));
	/* The history exercised every exactly-once outcome. */
	cr_expect_gt(count[TR_ST_OK], 1000);
	cr_expect_gt(count[TR_ST_NOT_FOUND], 50);
	cr_expect_gt(count[TR_ST_DUPLICATE], 100);
	cr_expect_gt(count[TR_ST_TOO_OLD], 50);
	cr_expect_eq(count[TR_ST_FULL], 0);
}

/* Replicas on hosts of either byte order must agree on the digest: the hash
 * is pinned to values computed once (bytes read little-endian). */
Test(kv, hash_is_pinned)
{
	const uint8_t *v = (const uint8_t *)"0123456789abcdef";
	const uint8_t *k = (const uint8_t *)"k42";

	cr_expect_eq(tr_kv_pair_hash(k, 3, v, 17), UINT64_C(0xe197f6be71d24ebe));
	cr_expect_eq(tr_kv_pair_hash(NULL, 0, NULL, 0), UINT64_C(0x3706559361f3e0fb));
	cr_expect_eq(tr_kv_key_hash(k, 3), UINT64_C(0x3bdc8a1470338c5d));
}

/* The word loop and its byte tail: every length and every last byte count. */
Test(kv, hash_sees_every_byte)
{
	uint8_t buf[40] = {0};

	for (uint32_t n = 1; n <= sizeof(buf); n++) {
		uint64_t h = tr_kv_pair_hash(NULL, 0, buf, n);

		cr_expect_neq(h, tr_kv_pair_hash(NULL, 0, buf, n - 1), "len %u", n);
		buf[n - 1] = 1;
		cr_expect_neq(h, tr_kv_pair_hash(NULL, 0, buf, n), "last byte of %u", n);
		buf[n - 1] = 0;
	}
}

/* The seam (struct tr_machine): a machine that records what it is given. */
struct rec_machine {
	unsigned calls, reads;
	uint64_t seqs[64];   /* the fresh writes, in the order applied */
	unsigned nseqs;
	unsigned batch[8];   /* sizes of the apply calls */
	uint64_t sum;        /* sum of the applied seqs: the digest */
	uint64_t refuse;     /* this seq is answered FULL */
};

static void
rec_apply(struct tr_sm *sm, const struct tr_cmd *cmds, unsigned n, struct tr_sm_result *res)
{
	struct rec_machine *m = sm->machine_ctx;

	cr_assert_lt(m->calls, 8);
	m->batch[m->calls++] = n;
	for (unsigned i = 0; i < n; i++) {
		cr_assert_eq(cmds[i].op, TR_OP_CMD);
		cr_assert_eq(res[i].status, TR_ST_OK, "results are zeroed before apply");
		if (cmds[i].seq == m->refuse) {
			res[i].status = TR_ST_FULL;
			continue;
		}
		m->seqs[m->nseqs++] = cmds[i].seq;
		m->sum += cmds[i].seq;
		res[i].code = (uint32_t)cmds[i].seq * 10;
	}
}

static void
rec_read(struct tr_sm *sm, const struct tr_cmd *cmd, struct tr_sm_result *res)
{
	struct rec_machine *m = sm->machine_ctx;

	cr_assert_eq(cmd->op, TR_OP_QUERY);
	m->reads++;
	res->code = m->nseqs; /* what the read saw: the writes before it */
}

static uint64_t
rec_digest(const struct tr_sm *sm)
{
	const struct rec_machine *m = sm->machine_ctx;

	return m->sum;
}

static const struct tr_machine rec_ops = {.apply = rec_apply, .read = rec_read,
					  .digest = rec_digest};

Test(kv, machine_sees_fresh_writes_in_batches)
{
	static struct rec_machine m;
	static struct tr_client_rec recs[16];
	struct tr_sm sm;
	struct tr_cmd c[7];
	struct tr_sm_result r[7];

	memset(&m, 0, sizeof(m));
	m.refuse = 4;
	tr_sm_init_machine(&sm, &rec_ops, &m, recs, 16);
	/* seq 1, 2; 1 again (a duplicate); a query; 3; 4 (refused); 2 again. */
	c[0] = mk(TR_OP_CMD, 7, 1, 8, "", "a");
	c[1] = mk(TR_OP_CMD, 7, 2, 8, "", "b");
	c[2] = mk(TR_OP_CMD, 7, 1, 8, "", "a");
	c[3] = mk(TR_OP_QUERY, 7, 0, 8, "", "q");
	c[4] = mk(TR_OP_CMD, 7, 3, 8, "", "c");
	c[5] = mk(TR_OP_CMD, 7, 4, 8, "", "d");
	c[6] = mk(TR_OP_CMD, 7, 2, 8, "", "b");
	tr_sm_apply_batch(&sm, c, 7, r);

	/* The duplicates never reach the machine; the query splits the batch
	 * and sees the two writes before it. */
	cr_expect_eq(m.calls, 2);
	cr_expect_eq(m.batch[0], 2);
	cr_expect_eq(m.batch[1], 2);
	cr_expect_eq(m.nseqs, 3);
	cr_expect_eq(m.seqs[0], 1);
	cr_expect_eq(m.seqs[1], 2);
	cr_expect_eq(m.seqs[2], 3);
	cr_expect_eq(r[0].status, TR_ST_OK);
	cr_expect_eq(r[0].code, 10);
	cr_expect_eq(r[1].code, 20);
	cr_expect_eq(r[2].status, TR_ST_DUPLICATE);
	cr_expect_eq(m.reads, 1);
	cr_expect_eq(r[3].code, 2);
	cr_expect_eq(r[4].code, 30);
	cr_expect_eq(r[5].status, TR_ST_FULL);
	cr_expect_eq(r[6].status, TR_ST_DUPLICATE);
	cr_expect_eq(sm.digest, 6);
	cr_expect_eq(sm.applied_cmds, 4, "3 writes and the query; the refused one is not");

	/* The refused write stays decided: again, it is a duplicate. */
	c[0] = mk(TR_OP_CMD, 7, 4, 8, "", "d");
	tr_sm_apply_batch(&sm, c, 1, r);
	cr_expect_eq(r[0].status, TR_ST_DUPLICATE);
	cr_expect_eq(m.calls, 2);
}

/* A duplicate between fresh writes does not split the machine's call: the
 * writes around it go in one (a result's val lasts until the next call, and
 * the applier completes them after the batch). */
Test(kv, a_duplicate_between_fresh_writes_keeps_one_call)
{
	static struct rec_machine m;
	static struct tr_client_rec recs[16];
	struct tr_sm sm;
	struct tr_cmd c[4];
	struct tr_sm_result r[4];

	memset(&m, 0, sizeof(m));
	tr_sm_init_machine(&sm, &rec_ops, &m, recs, 16);
	c[0] = mk(TR_OP_CMD, 7, 1, 8, "", "a");
	c[1] = mk(TR_OP_CMD, 7, 1, 8, "", "a");
	c[2] = mk(TR_OP_CMD, 7, 2, 8, "", "b");
	c[3] = mk(TR_OP_CMD, 7, 3, 8, "", "c");
	tr_sm_apply_batch(&sm, c, 4, r);
	cr_expect_eq(m.calls, 1);
	cr_expect_eq(m.batch[0], 3);
	cr_expect_eq(r[1].status, TR_ST_DUPLICATE);
	cr_expect_eq(r[0].code, 10);
	cr_expect_eq(r[2].code, 20);
	cr_expect_eq(r[3].code, 30);
}
