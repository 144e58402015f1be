/* SPDX-License-Identifier: MIT
 * Tests for dpdk/kvstore.c: the same answers and digest as the engine's
 * tr_table under tr_sm, keys_max, the read API, the stored hash as a filter
 * only (a collision), the RCU contract (the writer's own gets, and readers
 * under stress, never see reclaimed memory), and the table's rebuilds (grow,
 * shrink, tombstone clean-up) under readers and their amortized cost.
 *
 * SEED=n replays the random sequences (thread interleavings still vary).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/urcu-qsbr.h>

#include "kv.h"
#include "kvstore.h"

#define SEED_DEFAULT UINT64_C(0x7269726d65) /* "trireme"-ish */

static uint64_t
seed_get(void)
{
	const char *s = getenv("SEED");

	return s != NULL ? strtoull(s, NULL, 0) : SEED_DEFAULT;
}


/* Every store of these tests poisons the nodes it frees. */
static struct tr_kvstore *
store_new(uint32_t buckets_hint, uint64_t keys_max)
{
	struct tr_kvstore *kvs = tr_kvstore_new(buckets_hint, keys_max);

	if (kvs != NULL)
		tr_kvstore_poison_nodes(kvs, true);
	return kvs;
}

/* A set straight on the store, with the pair's hash as the engine gives it. */
static int
kset(struct tr_kvstore *kvs, const uint8_t *key, uint16_t key_len, const uint8_t *val,
     uint32_t val_len, uint64_t *old)
{
	return tr_kvstore_ops.set(kvs, key, key_len, tr_kv_key_hash(key, key_len), val,
				  val_len, tr_kv_pair_hash(key, key_len, val, val_len), old);
}

/* splitmix64: small, seedable, good enough for workloads. */
static uint64_t
rnd_next(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* ---------------------------------------------------------------------
 * The same commands on a tr_sm over tr_table and over tr_kvstore
 */

#define KEY_MAX 32
#define VAL_MAX 64
#define CELLS 256
#define CLIENTS 16

struct table_env {
	struct tr_table table;
	struct tr_sm sm;
	struct tr_client_rec clients[CLIENTS];
	uint64_t mem[(CELLS * (16 + KEY_MAX + VAL_MAX)) / 8 + 1];
};

struct kvs_env {
	struct tr_kvstore *kvs;
	struct tr_sm sm;
	struct tr_client_rec clients[CLIENTS];
};

static struct table_env tenv;
static struct kvs_env kenv;

static void
envs_init(uint64_t keys_max)
{
	cr_assert_leq(tr_table_mem_bytes(CELLS, KEY_MAX, VAL_MAX), sizeof(tenv.mem));
	tr_table_init(&tenv.table, tenv.mem, CELLS, KEY_MAX, VAL_MAX);
	tr_sm_init(&tenv.sm, &tr_table_ops, &tenv.table, tenv.clients, CLIENTS);
	kenv.kvs = store_new(4, keys_max);
	cr_assert_not_null(kenv.kvs);
	tr_sm_init(&kenv.sm, &tr_kvstore_ops, kenv.kvs, kenv.clients, CLIENTS);
}

static struct tr_cmd
mk(uint8_t op, uint64_t client, uint64_t seq, const char *key, const char *val)
{
	struct tr_cmd c;

	memset(&c, 0, sizeof(c));
	c.op = op;
	c.window = 8;
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

/* Applies c to both state machines and checks they answer the same;
 * returns the status. */
static uint8_t
apply_both(const struct tr_cmd *c, uint64_t step)
{
	struct tr_sm_result rt, rk;

	tr_sm_apply(&tenv.sm, c, &rt);
	tr_sm_apply(&kenv.sm, c, &rk);
	cr_assert_eq(rk.status, rt.status, "step %llu op %u: status %s, table says %s",
		     (unsigned long long)step, c->op, tr_status_str(rk.status),
		     tr_status_str(rt.status));
	cr_assert_eq(rk.val_len, rt.val_len, "step %llu: val_len", (unsigned long long)step);
	if (rt.status == TR_ST_OK && c->op == TR_OP_GET) {
		cr_assert_not_null(rk.val);
		cr_assert(rt.val_len == 0 || memcmp(rk.val, rt.val, rt.val_len) == 0,
			  "step %llu: value differs", (unsigned long long)step);
	}
	cr_assert_eq(kenv.sm.digest, tenv.sm.digest, "step %llu: digest",
		     (unsigned long long)step);
	cr_assert_eq(kenv.sm.applied_cmds, tenv.sm.applied_cmds, "step %llu: applied",
		     (unsigned long long)step);
	return rt.status;
}

/* Keys present in the table store (tr_table.used also counts tombstones). */
static uint64_t
table_live_keys(const char (*keys)[KEY_MAX], unsigned int n)
{
	uint64_t live = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		const uint8_t *v;
		uint32_t vl;

		live += tr_table_ops.get(&tenv.table, (const uint8_t *)keys[i],
					 (uint16_t)strlen(keys[i]), &v, &vl) == 0;
	}
	return live;
}

Test(kvstore, basic_same_as_table)
{
	struct tr_cmd c;
	uint64_t step = 0;

	urcu_qsbr_register_thread();
	envs_init(1000);

	c = mk(TR_OP_GET, 9, 0, "a", NULL);
	cr_expect_eq(apply_both(&c, step++), TR_ST_NOT_FOUND);
	c = mk(TR_OP_SET, 1, 1, "a", "one");
	cr_expect_eq(apply_both(&c, step++), TR_ST_OK);
	c = mk(TR_OP_GET, 9, 0, "a", NULL);
	cr_expect_eq(apply_both(&c, step++), TR_ST_OK);
	c = mk(TR_OP_SET, 1, 2, "a", "a longer second value");
	cr_expect_eq(apply_both(&c, step++), TR_ST_OK);
	c = mk(TR_OP_GET, 9, 0, "a", NULL);
	cr_expect_eq(apply_both(&c, step++), TR_ST_OK);
	c = mk(TR_OP_SET, 1, 2, "a", "dup");
	cr_expect_eq(apply_both(&c, step++), TR_ST_DUPLICATE);
	c = mk(TR_OP_SET, 2, 1, "", ""); /* empty key, empty value */
	cr_expect_eq(apply_both(&c, step++), TR_ST_OK);
	c = mk(TR_OP_GET, 9, 0, "", NULL);
	cr_expect_eq(apply_both(&c, step++), TR_ST_OK);
	c = mk(TR_OP_SET, 2, 2, "b", "bee");
	cr_expect_eq(apply_both(&c, step++), TR_ST_OK);
	cr_expect_eq(tr_kvstore_count(kenv.kvs), 3);
	c = mk(TR_OP_DEL, 1, 3, "a", NULL);
	cr_expect_eq(apply_both(&c, step++), TR_ST_OK);
	c = mk(TR_OP_DEL, 1, 4, "a", NULL);
	cr_expect_eq(apply_both(&c, step++), TR_ST_NOT_FOUND);
	c = mk(TR_OP_GET, 9, 0, "a", NULL);
	cr_expect_eq(apply_both(&c, step++), TR_ST_NOT_FOUND);
	cr_expect_eq(tr_kvstore_count(kenv.kvs), 2);
	cr_expect_neq(kenv.sm.digest, 0);
	cr_expect_eq(tr_kvstore_digest_scan(kenv.kvs), kenv.sm.digest);

	tr_kvstore_free(kenv.kvs);
	urcu_qsbr_unregister_thread();
}

#define RAND_KEYS 24
#define RAND_CLIENTS 4
#define RAND_STEPS 20000

Test(kvstore, random_same_as_table)
{
	char keys[RAND_KEYS][KEY_MAX];
	uint64_t seqs[RAND_CLIENTS + 1] = { 0 };
	char val[VAL_MAX + 1];
	uint64_t seed = seed_get(), rng = seed;
	uint64_t step;
	unsigned int i;

	urcu_qsbr_register_thread();
	envs_init(1000);
	keys[0][0] = '\0'; /* the empty key */
	for (i = 1; i < RAND_KEYS; i++)
		snprintf(keys[i], sizeof(keys[i]), "key-%u", i * 7919u);

	for (step = 0; step < RAND_STEPS; step++) {
		uint64_t r = rnd_next(&rng);
		unsigned int client = 1 + (unsigned int)(r % RAND_CLIENTS);
		const char *key = keys[(r >> 8) % RAND_KEYS];
		unsigned int kind = (unsigned int)((r >> 16) % 100);
		uint64_t seq;
		struct tr_cmd c;

		/* Mostly fresh sequences, some duplicates and too-old ones. */
		if ((r >> 24) % 10 == 0 && seqs[client] > 0)
			seq = seqs[client] - (r >> 28) % (seqs[client] < 12 ? seqs[client] : 12);
		else
			seq = ++seqs[client];
		if (kind < 50) {
			uint32_t len = (uint32_t)((r >> 32) % (VAL_MAX + 1));
			uint32_t j;

			for (j = 0; j < len; j++)
				val[j] = (char)('a' + (rnd_next(&rng) % 26));
			val[len] = '\0';
			c = mk(TR_OP_SET, client, seq, key, val);
		} else if (kind < 70) {
			c = mk(TR_OP_DEL, client, seq, key, NULL);
		} else {
			c = mk(TR_OP_GET, 100 + client, 0, key, NULL);
		}
		(void)apply_both(&c, step);
		if (step % 1000 == 0) {
			cr_assert_eq(tr_kvstore_count(kenv.kvs), table_live_keys(keys, RAND_KEYS),
				     "seed %llu step %llu: count", (unsigned long long)seed,
				     (unsigned long long)step);
			cr_assert_eq(tr_kvstore_digest_scan(kenv.kvs), kenv.sm.digest,
				     "seed %llu step %llu: scan", (unsigned long long)seed,
				     (unsigned long long)step);
		}
		/* The applier's loop reports a quiescent state per command. */
		urcu_qsbr_quiescent_state();
	}
	cr_assert_eq(tr_kvstore_count(kenv.kvs), table_live_keys(keys, RAND_KEYS));
	cr_assert_eq(tr_kvstore_digest_scan(kenv.kvs), kenv.sm.digest);
	cr_assert_eq(tenv.sm.digest, kenv.sm.digest);

	tr_kvstore_free(kenv.kvs);
	urcu_qsbr_unregister_thread();
}

/* The applier's batches (tr_sm_apply_batch, where the store's prefetch
 * runs ahead of the writes; tr_sm_read_batch, Q3's gets) against the same
 * commands one at a time, on a key space that makes the table grow, shrink
 * and reuse tombstones: every answer, the digest, the count and the scan
 * agree. */
#define BATCH_KEYS 3000
#define BATCH_STEPS 60000

Test(kvstore, batches_same_as_one_by_one)
{
	static char keys[BATCH_KEYS][16];
	static char vals[TR_SM_BATCH_MAX][VAL_MAX + 1];
	struct tr_client_rec recs_a[CLIENTS], recs_b[CLIENTS];
	struct tr_cmd cmds[TR_SM_BATCH_MAX];
	struct tr_sm_result ra[TR_SM_BATCH_MAX], rb;
	struct tr_sm a, b;
	uint64_t seed = seed_get(), rng = seed, seqs[CLIENTS] = {0};
	struct tr_kvstore *ka, *kb;
	uint64_t step = 0;

	urcu_qsbr_register_thread();
	ka = store_new(8, UINT64_MAX);
	kb = store_new(8, UINT64_MAX);
	cr_assert(ka != NULL && kb != NULL);
	memset(recs_a, 0, sizeof(recs_a));
	memset(recs_b, 0, sizeof(recs_b));
	tr_sm_init(&a, &tr_kvstore_ops, ka, recs_a, CLIENTS);
	tr_sm_init(&b, &tr_kvstore_ops, kb, recs_b, CLIENTS);
	for (unsigned i = 0; i < BATCH_KEYS; i++)
		snprintf(keys[i], sizeof(keys[i]), "b-%u", i * 104729u);
	while (step < BATCH_STEPS) {
		unsigned n = 1 + (unsigned)(rnd_next(&rng) % TR_SM_BATCH_MAX);
		/* Phases: the live key range swells and shrinks. */
		unsigned range = 1 + (unsigned)((step / 5000) % 2 == 0 ? BATCH_KEYS : 40);

		for (unsigned i = 0; i < n; i++) {
			uint64_t r = rnd_next(&rng);
			unsigned client = (unsigned)(r % CLIENTS);
			const char *key = keys[(r >> 8) % range % BATCH_KEYS];

			if ((r >> 32) % 100 < 60) {
				unsigned len = (unsigned)((r >> 40) % (VAL_MAX + 1));

				memset(vals[i], 'a' + (int)((r >> 48) % 26), len);
				vals[i][len] = '\0';
				cmds[i] = mk(TR_OP_SET, client + 1, ++seqs[client], key, vals[i]);
			} else {
				cmds[i] = mk(TR_OP_DEL, client + 1, ++seqs[client], key, NULL);
			}
		}
		tr_sm_apply_batch(&a, cmds, n, ra);
		for (unsigned i = 0; i < n; i++) {
			tr_sm_apply(&b, &cmds[i], &rb);
			cr_assert_eq(ra[i].status, rb.status,
				     "seed %llu step %llu: status %s, one by one %s",
				     (unsigned long long)seed, (unsigned long long)(step + i),
				     tr_status_str(ra[i].status), tr_status_str(rb.status));
		}
		step += n;
		cr_assert_eq(a.digest, b.digest, "seed %llu step %llu: digest",
			     (unsigned long long)seed, (unsigned long long)step);
		/* Gets, present and absent, as a batch against one by one. */
		n = 1 + (unsigned)(rnd_next(&rng) % TR_SM_BATCH_MAX);
		for (unsigned i = 0; i < n; i++)
			cmds[i] = mk(TR_OP_GET, 0, 0, keys[rnd_next(&rng) % range % BATCH_KEYS],
				     NULL);
		tr_sm_read_batch(&a, cmds, n, ra);
		for (unsigned i = 0; i < n; i++) {
			tr_sm_apply(&b, &cmds[i], &rb);
			cr_assert(ra[i].status == rb.status && ra[i].val_len == rb.val_len &&
				  (rb.val_len == 0 || memcmp(ra[i].val, rb.val, rb.val_len) == 0),
				  "seed %llu step %llu: get %u of %u: %s %u bytes, one by one %s %u",
				  (unsigned long long)seed, (unsigned long long)step, i, n,
				  tr_status_str(ra[i].status), ra[i].val_len,
				  tr_status_str(rb.status), rb.val_len);
		}
		cr_assert_eq(a.applied_cmds, b.applied_cmds, "seed %llu step %llu: applied_cmds",
			     (unsigned long long)seed, (unsigned long long)step);
		urcu_qsbr_quiescent_state();
	}
	cr_assert_eq(tr_kvstore_count(ka), tr_kvstore_count(kb));
	cr_assert_eq(tr_kvstore_digest_scan(ka), a.digest);
	cr_assert_eq(tr_kvstore_digest_scan(kb), b.digest);
	tr_kvstore_free(ka);
	tr_kvstore_free(kb);
	urcu_qsbr_unregister_thread();
}

Test(kvstore, keys_max_refuses_new_keys_only)
{
	static const uint8_t big[TR_KVS_VAL_MAX + 1];
	struct tr_kvstore *kvs;
	struct tr_sm_result r;
	struct tr_cmd c;
	uint64_t digest, old;

	urcu_qsbr_register_thread();
	envs_init(3);
	kvs = kenv.kvs;

	/* Direct ops: three keys fit, the fourth is refused. */
	cr_assert_eq(kset(kvs, (const uint8_t *)"k1", 2, (const uint8_t *)"v", 1, &old),
		     0);
	cr_assert_eq(kset(kvs, (const uint8_t *)"k2", 2, (const uint8_t *)"v", 1, &old),
		     0);
	cr_assert_eq(kset(kvs, (const uint8_t *)"k3", 2, (const uint8_t *)"v", 1, &old),
		     0);
	cr_assert_eq(kset(kvs, (const uint8_t *)"k4", 2, (const uint8_t *)"v", 1, &old),
		     -1);
	cr_assert_eq(tr_kvstore_count(kvs), 3);
	/* Overwrites are allowed at the limit; each write reports the pair it
	 * replaced (for the digest), 0 for none. */
	cr_assert_eq(kset(kvs, (const uint8_t *)"k2", 2, (const uint8_t *)"vv", 2,
					&old), 0);
	cr_assert_eq(old, tr_kv_pair_hash((const uint8_t *)"k2", 2, (const uint8_t *)"v", 1));
	cr_assert_eq(tr_kvstore_count(kvs), 3);
	/* A del makes room; a del of an absent key says so. */
	cr_assert_eq(tr_kvstore_ops.del(kvs, (const uint8_t *)"k1", 2, &old), 0);
	cr_assert_eq(old, tr_kv_pair_hash((const uint8_t *)"k1", 2, (const uint8_t *)"v", 1));
	cr_assert_eq(tr_kvstore_ops.del(kvs, (const uint8_t *)"k1", 2, &old), 1);
	cr_assert_eq(old, 0);
	cr_assert_eq(kset(kvs, (const uint8_t *)"k4", 2, (const uint8_t *)"v", 1, &old),
		     0);
	cr_assert_eq(tr_kvstore_count(kvs), 3);
	/* Oversize keys and values are refused, whatever the count. */
	cr_assert_eq(kset(kvs, (const uint8_t *)"k2", 2, big, TR_KVS_VAL_MAX + 1,
					&old), -1);
	cr_assert_eq(kset(kvs, (const uint8_t *)"k2", 2, big, TR_KVS_VAL_MAX, &old),
		     0);
	cr_assert_eq(kset(kvs, big, TR_KEY_BYTES_MAX + 1, (const uint8_t *)"v", 1,
					&old), -1);
	tr_kvstore_free(kvs);

	/* Through tr_sm: the refused write answers FULL and changes nothing;
	 * it stays decided (the same sequence again is a duplicate), and a
	 * new sequence applies it once there is room. */
	envs_init(2);
	kvs = kenv.kvs;
	c = mk(TR_OP_SET, 1, 1, "x", "1");
	tr_sm_apply(&kenv.sm, &c, &r);
	cr_assert_eq(r.status, TR_ST_OK);
	c = mk(TR_OP_SET, 1, 2, "y", "2");
	tr_sm_apply(&kenv.sm, &c, &r);
	cr_assert_eq(r.status, TR_ST_OK);
	digest = kenv.sm.digest;
	c = mk(TR_OP_SET, 1, 3, "z", "3");
	tr_sm_apply(&kenv.sm, &c, &r);
	cr_assert_eq(r.status, TR_ST_FULL);
	cr_assert_eq(kenv.sm.digest, digest);
	cr_assert_eq(tr_kvstore_count(kvs), 2);
	c = mk(TR_OP_SET, 1, 4, "x", "one");
	tr_sm_apply(&kenv.sm, &c, &r);
	cr_assert_eq(r.status, TR_ST_OK);
	c = mk(TR_OP_DEL, 1, 5, "y", NULL);
	tr_sm_apply(&kenv.sm, &c, &r);
	cr_assert_eq(r.status, TR_ST_OK);
	c = mk(TR_OP_SET, 1, 3, "z", "3");
	tr_sm_apply(&kenv.sm, &c, &r);
	cr_assert_eq(r.status, TR_ST_DUPLICATE);
	c = mk(TR_OP_SET, 1, 6, "z", "3");
	tr_sm_apply(&kenv.sm, &c, &r);
	cr_assert_eq(r.status, TR_ST_OK);
	cr_assert_eq(tr_kvstore_count(kvs), 2);
	cr_assert_eq(tr_kvstore_digest_scan(kvs), kenv.sm.digest);
	tr_kvstore_free(kvs);
	urcu_qsbr_unregister_thread();
}

Test(kvstore, read_api)
{
	struct tr_kvstore *kvs;
	const uint8_t *v;
	uint64_t old;
	uint8_t buf[8];
	uint32_t len = 0;

	urcu_qsbr_register_thread();
	kvs = store_new(0, 10);
	cr_assert_not_null(kvs);
	cr_assert_eq(tr_kvstore_read(kvs, (const uint8_t *)"k", 1, buf, sizeof(buf), &len), -1);
	cr_assert_eq(kset(kvs, (const uint8_t *)"k", 1,
					(const uint8_t *)"0123456789", 10, &old), 0);
	cr_assert_eq(tr_kvstore_read(kvs, (const uint8_t *)"k", 1, buf, sizeof(buf), &len), -2);
	cr_assert_eq(len, 10);
	cr_assert_eq(kset(kvs, (const uint8_t *)"k", 1, (const uint8_t *)"abc", 3, &old),
		     0);
	cr_assert_eq(tr_kvstore_read(kvs, (const uint8_t *)"k", 1, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, 3);
	cr_assert_arr_eq(buf, "abc", 3);
	/* A buffer of exactly the value's length is enough; one byte less is
	 * not, and nothing is copied then. */
	memset(buf, 'x', sizeof(buf));
	cr_assert_eq(tr_kvstore_read(kvs, (const uint8_t *)"k", 1, buf, 3, &len), 0);
	cr_assert_eq(len, 3);
	cr_assert_arr_eq(buf, "abcx", 4);
	memset(buf, 'x', sizeof(buf));
	cr_assert_eq(tr_kvstore_read(kvs, (const uint8_t *)"k", 1, buf, 2, &len), -2);
	cr_assert_eq(len, 3);
	cr_assert_arr_eq(buf, "xx", 2);
	/* A prefix or an extension of the key is another key. */
	cr_assert_eq(tr_kvstore_read(kvs, (const uint8_t *)"kk", 2, buf, sizeof(buf), &len), -1);
	cr_assert_eq(tr_kvstore_read(kvs, (const uint8_t *)"", 0, buf, sizeof(buf), &len), -1);

	urcu_qsbr_read_lock();
	cr_assert_eq(tr_kvstore_lookup(kvs, (const uint8_t *)"k", 1, &v, &len), 0);
	cr_assert_eq(len, 3);
	cr_assert_arr_eq(v, "abc", 3);
	urcu_qsbr_read_unlock();

	cr_assert_eq(tr_kvstore_ops.del(kvs, (const uint8_t *)"k", 1, &old), 0);
	cr_assert_eq(tr_kvstore_read(kvs, (const uint8_t *)"k", 1, buf, sizeof(buf), &len), -1);
	cr_assert_eq(tr_kvstore_count(kvs), 0);
	cr_assert_eq(tr_kvstore_digest_scan(kvs), 0);
	tr_kvstore_free(kvs);
	urcu_qsbr_unregister_thread();
}

/* The runtime frees its stores from a control thread that may not be
 * registered. */
Test(kvstore, free_from_unregistered_thread)
{
	struct tr_kvstore *kvs = store_new(2, 100);
	uint64_t old;
	uint8_t key[4];
	unsigned int i;

	cr_assert_not_null(kvs);
	urcu_qsbr_register_thread();
	for (i = 0; i < 100; i++) {
		memcpy(key, &i, sizeof(key));
		cr_assert_eq(kset(kvs, key, sizeof(key), key, sizeof(key), &old), 0);
		if (i % 3 == 0)
			cr_assert_eq(kset(kvs, key, sizeof(key), key, 1, &old), 0);
		if (i % 5 == 0)
			cr_assert_eq(tr_kvstore_ops.del(kvs, key, sizeof(key), &old), 0);
	}
	cr_assert_eq(tr_kvstore_count(kvs), 80);
	urcu_qsbr_unregister_thread();
	tr_kvstore_free(kvs); /* leaks, double frees: ASan */
}

/* A writer that stops writing keeps no freed memory: the nodes its
 * overwrites retired come back after their grace period, and
 * tr_kvstore_reclaim (the applier's idle step) releases all of them at
 * once, without another write; a second call finds none. */
Test(kvstore, an_idle_writer_releases_what_readers_no_longer_hold)
{
	struct tr_kvstore *kvs = store_new(8, 100);
	struct tr_kvstore_stats st;
	uint64_t old, released;
	uint8_t key[4];
	unsigned int i;

	cr_assert_not_null(kvs);
	urcu_qsbr_register_thread();
	for (i = 0; i < 1000; i++) { /* 10 keys, 990 overwrites */
		uint32_t k = i % 10;

		memcpy(key, &k, sizeof(key));
		cr_assert_eq(kset(kvs, key, sizeof(key), (const uint8_t *)&i, sizeof(i), &old), 0);
	}
	urcu_qsbr_barrier(); /* every grace period over: the batches handed back */
	tr_kvstore_stats_get(kvs, &st);
	cr_assert_geq(st.nodes_retired, 960, "%lu retired", (unsigned long)st.nodes_retired);
	cr_assert_eq(st.nodes_freed, st.nodes_retired);
	released = tr_kvstore_reclaim(kvs);
	cr_assert_eq(released, st.nodes_retired, "released %lu of the %lu nodes past their "
		     "grace period", (unsigned long)released, (unsigned long)st.nodes_retired);
	cr_assert_eq(tr_kvstore_reclaim(kvs), 0, "released twice");
	tr_kvstore_stats_get(kvs, &st);
	cr_assert_eq(st.nodes_released, released, "released %lu, counted %lu",
		     (unsigned long)released, (unsigned long)st.nodes_released);
	urcu_qsbr_unregister_thread();
	tr_kvstore_free(kvs); /* a double free or a leak: ASan */
}

/* foreach callback for the tests below: counts the pairs and sums their
 * digest contributions. */
struct pair_sum {
	uint64_t pairs;
	uint64_t digest;
};

static int
pair_sum_add(void *ctx, const uint8_t *key, uint16_t key_len, const uint8_t *val,
	     uint32_t val_len)
{
	struct pair_sum *ps = ctx;

	ps->pairs++;
	ps->digest += tr_kv_pair_hash(key, key_len, val, val_len);
	return 0;
}

/* The bucket's stored hash is a filter only: two keys whose hashes are equal
 * (a 64-bit collision, made here by giving set the other key's hash, as
 * the engine gives set the hash it computed) are still two keys, for the
 * readers (get, read, lookup) and for the writer (set, del). */
Test(kvstore, a_stored_hash_is_only_a_filter)
{
	const uint8_t *a = (const uint8_t *)"a", *b = (const uint8_t *)"b";
	uint64_t hb = tr_kv_key_hash(b, 1), old;
	uint64_t pa = tr_kv_pair_hash(a, 1, (const uint8_t *)"A", 1);
	uint64_t pb = tr_kv_pair_hash(b, 1, (const uint8_t *)"B", 1);
	struct tr_kvstore *kvs;
	struct pair_sum ps;
	const uint8_t *v;
	uint8_t buf[8];
	uint32_t len;

	urcu_qsbr_register_thread();
	kvs = store_new(8, 100);
	cr_assert_not_null(kvs);
	/* "a" in the bucket where a look-up of "b" starts, with b's hash. */
	cr_assert_eq(tr_kvstore_ops.set(kvs, a, 1, hb, (const uint8_t *)"A", 1, pa, &old), 0);
	cr_assert_eq(old, 0);
	cr_assert_eq(tr_kvstore_read(kvs, b, 1, buf, sizeof(buf), &len), -1,
		     "read: \"b\" found in a's bucket");
	cr_assert_eq(tr_kvstore_ops.get(kvs, b, 1, &v, &len), -1, "get: \"b\" found");
	urcu_qsbr_read_lock();
	cr_assert_eq(tr_kvstore_lookup(kvs, b, 1, &v, &len), -1, "lookup: \"b\" found");
	urcu_qsbr_read_unlock();
	cr_assert_eq(tr_kvstore_ops.del(kvs, b, 1, &old), 1, "del of \"b\" removed \"a\"");
	cr_assert_eq(old, 0);
	cr_assert_eq(tr_kvstore_count(kvs), 1);

	/* "b" itself: a new key, after "a" on the same probe path. */
	cr_assert_eq(kset(kvs, b, 1, (const uint8_t *)"B", 1, &old), 0);
	cr_assert_eq(old, 0, "set of \"b\" replaced \"a\"");
	cr_assert_eq(tr_kvstore_count(kvs), 2);
	cr_assert_eq(tr_kvstore_read(kvs, b, 1, buf, sizeof(buf), &len), 0);
	cr_assert(len == 1 && buf[0] == 'B', "read \"b\": %u bytes, '%c'", len, buf[0]);
	cr_assert_eq(tr_kvstore_ops.get(kvs, b, 1, &v, &len), 0);
	cr_assert(len == 1 && v[0] == 'B', "get \"b\": %u bytes, '%c'", len, v[0]);
	memset(&ps, 0, sizeof(ps));
	cr_assert_eq(tr_kvstore_foreach(kvs, pair_sum_add, &ps), 0);
	cr_assert_eq(ps.pairs, 2);
	cr_assert_eq(ps.digest, pa + pb);

	/* Its del removes it, not "a". */
	cr_assert_eq(tr_kvstore_ops.del(kvs, b, 1, &old), 0);
	cr_assert_eq(old, pb, "del of \"b\" reported another pair");
	cr_assert_eq(tr_kvstore_read(kvs, b, 1, buf, sizeof(buf), &len), -1);
	cr_assert_eq(tr_kvstore_count(kvs), 1);
	cr_assert_eq(tr_kvstore_digest_scan(kvs), pa);
	tr_kvstore_free(kvs);
	urcu_qsbr_unregister_thread();
}

#define HV_LEN 64
#define HV_FILLER 200

/* What the writer's get returned stays intact until the writer's next
 * quiescent state (kvstore.h), whatever it writes meanwhile: a del of the
 * key, an overwrite of it, and enough other writes to hand whole batches to
 * call_rcu and rebuild the table. The store poisons the nodes it frees, so a
 * node freed before its grace period shows here. */
Test(kvstore, what_the_writer_got_stays_until_its_quiescent_state)
{
	uint8_t va[HV_LEN], vb[HV_LEN], vc[HV_LEN];
	const uint8_t *ka = (const uint8_t *)"held-del", *kb = (const uint8_t *)"held-set";
	const uint8_t *pa, *pb;
	struct tr_kvstore_stats st;
	struct tr_kvstore *kvs;
	uint32_t la, lb, i;
	uint64_t old, rng = seed_get();
	char key[24];

	for (i = 0; i < HV_LEN; i++) {
		va[i] = (uint8_t)rnd_next(&rng);
		vb[i] = (uint8_t)rnd_next(&rng);
		vc[i] = (uint8_t)~vb[i];
	}
	urcu_qsbr_register_thread();
	kvs = store_new(8, UINT64_MAX);
	cr_assert_not_null(kvs);
	cr_assert_eq(kset(kvs, ka, 8, va, HV_LEN, &old), 0);
	cr_assert_eq(kset(kvs, kb, 8, vb, HV_LEN, &old), 0);
	urcu_qsbr_quiescent_state();
	cr_assert_eq(tr_kvstore_ops.get(kvs, ka, 8, &pa, &la), 0);
	cr_assert_eq(tr_kvstore_ops.get(kvs, kb, 8, &pb, &lb), 0);
	cr_assert(la == HV_LEN && lb == HV_LEN);

	cr_assert_eq(tr_kvstore_ops.del(kvs, ka, 8, &old), 0);
	cr_assert_eq(kset(kvs, kb, 8, vc, HV_LEN, &old), 0);
	/* HV_FILLER keys set (the table grows), overwritten, deleted (it
	 * shrinks): 2 * HV_FILLER nodes retired. */
	for (i = 0; i < 3 * HV_FILLER; i++) {
		uint16_t kl = (uint16_t)snprintf(key, sizeof(key), "filler-%u", i % HV_FILLER);

		if (i < 2 * HV_FILLER)
			cr_assert_eq(kset(kvs, (const uint8_t *)key, kl, (const uint8_t *)&i,
					  sizeof(i), &old), 0);
		else
			cr_assert_eq(tr_kvstore_ops.del(kvs, (const uint8_t *)key, kl, &old), 0);
	}
	tr_kvstore_reclaim(kvs);
	tr_kvstore_stats_get(kvs, &st);
	cr_assert_geq(st.nodes_retired, 2 * HV_FILLER - 32, "not vacuous: batches retired");
	cr_assert_geq(st.rebuilds, 6, "not vacuous: the table grew and shrank");
	cr_assert(memcmp(pa, va, HV_LEN) == 0, "the deleted key's value changed before the "
		  "writer's quiescent state");
	cr_assert(memcmp(pb, vb, HV_LEN) == 0, "the overwritten value changed before the "
		  "writer's quiescent state");
	urcu_qsbr_quiescent_state();
	urcu_qsbr_barrier();
	tr_kvstore_reclaim(kvs);
	tr_kvstore_stats_get(kvs, &st);
	cr_assert_eq(st.nodes_freed, st.nodes_retired);
	cr_assert_eq(st.nodes_released, st.nodes_freed);
	urcu_qsbr_unregister_thread();
	tr_kvstore_free(kvs);
}

/* ---------------------------------------------------------------------
 * The RCU contract under stress: one writer (tr_sm_apply through the ops)
 * and readers that check every value they see, with yields and spins on
 * both sides. Freed nodes are poisoned (kvstore.c), so a reader that looks
 * at reclaimed memory fails a check (or ASan reports the use after free).
 */

#define ST_KEYS 16
#ifndef ST_WRITES /* -DST_WRITES=n for slow (sanitizer) builds */
#define ST_WRITES 200000
#endif
#define ST_READERS 3
/* Every ST_GATE_WRITES writes the writer waits until each reader has done
 * ST_GATE_ITERS more iterations, so reads overlap the whole write phase
 * however the threads are scheduled. */
#define ST_GATE_WRITES 1000
#define ST_GATE_ITERS 10
#define ST_GATE_TOTAL (ST_WRITES / ST_GATE_WRITES * ST_GATE_ITERS)
#define ST_VAL_MAGIC UINT32_C(0x7a11c0de)
#define ST_HDR_BYTES 24 /* magic, key index, generation, length, pad */
#define ST_SUM_BYTES 8
#define ST_VAL_MIN (ST_HDR_BYTES + ST_SUM_BYTES)
#define ST_VAL_MAX 256
#define ST_KEY_BYTES 16

enum st_fault {
	ST_OK = 0,
	ST_BAD_LEN,
	ST_BAD_MAGIC,
	ST_BAD_KEY,
	ST_BAD_LEN_FIELD,
	ST_BAD_PAYLOAD,
	ST_BAD_SUM,
	ST_BAD_READ,   /* tr_kvstore_read returned something impossible */
	ST_BAD_STATUS, /* writer: an unexpected tr_sm status */
	ST_BAD_GET,    /* writer: GET answered a value other than the last one set */
};

static const char *
st_fault_str(int f)
{
	static const char *const names[] = {
		[ST_OK] = "ok",
		[ST_BAD_LEN] = "impossible length",
		[ST_BAD_MAGIC] = "bad magic",
		[ST_BAD_KEY] = "value of another key",
		[ST_BAD_LEN_FIELD] = "length field differs",
		[ST_BAD_PAYLOAD] = "payload changed",
		[ST_BAD_SUM] = "bad checksum",
		[ST_BAD_READ] = "impossible read result",
		[ST_BAD_STATUS] = "unexpected status",
		[ST_BAD_GET] = "get disagrees with the model",
	};

	return f >= 0 && f <= ST_BAD_GET ? names[f] : "?";
}

struct st_reader;

struct st_shared {
	struct tr_kvstore *kvs;
	uint8_t keys[ST_KEYS][ST_KEY_BYTES];
	uint64_t seed;
	struct st_reader *readers;
	int stop;
};

struct st_reader {
	struct st_shared *sh;
	pthread_t tid;
	unsigned int idx;
	uint64_t iters;    /* loop iterations, read by the writer's gate */
	uint64_t iters_at_start; /* when the writer started (set by it) */
	uint64_t found;    /* values checked under the read lock */
	uint64_t copied;   /* values checked after tr_kvstore_read */
	uint64_t absent;
	uint64_t faults;
	int first_fault;
	uint64_t first_gen;
};

struct st_writer {
	struct st_shared *sh;
	pthread_t tid;
	struct tr_sm sm;
	struct tr_client_rec clients[4];
	uint64_t gen_of[ST_KEYS]; /* the model: 0 absent, else the last generation set */
	uint64_t gets_checked;
	uint64_t faults;
	int first_fault;
	uint64_t freed_while_running;
	uint64_t scan_digest;
};

static uint64_t
st_sum(const uint8_t *p, uint32_t len)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	uint32_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h ^ (h >> 29);
}

static uint8_t
st_payload_byte(uint32_t key_idx, uint64_t gen, uint32_t i)
{
	return (uint8_t)(gen * 31 + key_idx * 131 + i * 7);
}

/* magic | key_idx | gen | len | pad | payload ... | sum of all before */
static uint32_t
st_val_make(uint8_t *v, uint32_t key_idx, uint64_t gen, uint32_t len)
{
	uint32_t magic = ST_VAL_MAGIC, pad = 0, i;
	uint64_t sum;

	memcpy(v, &magic, 4);
	memcpy(v + 4, &key_idx, 4);
	memcpy(v + 8, &gen, 8);
	memcpy(v + 16, &len, 4);
	memcpy(v + 20, &pad, 4);
	for (i = ST_HDR_BYTES; i < len - ST_SUM_BYTES; i++)
		v[i] = st_payload_byte(key_idx, gen, i);
	sum = st_sum(v, len - ST_SUM_BYTES);
	memcpy(v + len - ST_SUM_BYTES, &sum, 8);
	return len;
}

/* Values may be unaligned (they follow the key in the node): memcpy. */
static int
st_val_check(const uint8_t *v, uint32_t len, uint32_t key_idx, uint64_t *gen)
{
	uint32_t magic, k, l, i;
	uint64_t sum;

	if (len < ST_VAL_MIN || len > ST_VAL_MAX)
		return ST_BAD_LEN;
	memcpy(&magic, v, 4);
	memcpy(&k, v + 4, 4);
	memcpy(gen, v + 8, 8);
	memcpy(&l, v + 16, 4);
	if (magic != ST_VAL_MAGIC)
		return ST_BAD_MAGIC;
	if (k != key_idx)
		return ST_BAD_KEY;
	if (l != len)
		return ST_BAD_LEN_FIELD;
	for (i = ST_HDR_BYTES; i < len - ST_SUM_BYTES; i++)
		if (v[i] != st_payload_byte(k, *gen, i))
			return ST_BAD_PAYLOAD;
	memcpy(&sum, v + len - ST_SUM_BYTES, 8);
	if (sum != st_sum(v, len - ST_SUM_BYTES))
		return ST_BAD_SUM;
	return ST_OK;
}

/* Random delays: a yield now and then, short spins more often. */
static void
st_jitter(uint64_t *rng, unsigned int yield_one_in, unsigned int spin_one_in)
{
	uint64_t r = rnd_next(rng);
	unsigned int n;

	if (r % yield_one_in == 0) {
		sched_yield();
	} else if ((r >> 16) % spin_one_in == 0) {
		for (n = (unsigned int)((r >> 32) % 512); n > 0; n--)
			caa_cpu_relax();
	}
}

static void
st_reader_fault(struct st_reader *rd, int fault, uint64_t gen)
{
	if (rd->faults++ == 0) {
		rd->first_fault = fault;
		rd->first_gen = gen;
	}
}

static void *
st_reader_main(void *arg)
{
	struct st_reader *rd = arg;
	struct st_shared *sh = rd->sh;
	uint64_t rng = sh->seed ^ (UINT64_C(0x1000) * (rd->idx + 1));
	uint8_t buf[ST_VAL_MAX];

	urcu_qsbr_register_thread();
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		uint32_t k = (uint32_t)(rnd_next(&rng) % ST_KEYS);
		const uint8_t *v;
		uint32_t len;
		uint64_t gen = 0, gen2 = 0;
		int f, ret;

		/* Zero-copy: the node must stay intact for the whole section,
		 * however long the reader lingers in it. */
		urcu_qsbr_read_lock();
		if (tr_kvstore_lookup(sh->kvs, sh->keys[k], ST_KEY_BYTES, &v, &len) == 0) {
			f = st_val_check(v, len, k, &gen);
			if (f != ST_OK)
				st_reader_fault(rd, f, gen);
			st_jitter(&rng, 16, 4);
			f = st_val_check(v, len, k, &gen2);
			if (f == ST_OK && gen2 != gen)
				f = ST_BAD_PAYLOAD; /* an immutable node changed */
			if (f != ST_OK)
				st_reader_fault(rd, f, gen2);
			rd->found++;
		} else {
			rd->absent++;
		}
		urcu_qsbr_read_unlock();

		/* Copying read. */
		ret = tr_kvstore_read(sh->kvs, sh->keys[k], ST_KEY_BYTES, buf, sizeof(buf), &len);
		if (ret == 0) {
			f = st_val_check(buf, len, k, &gen);
			if (f != ST_OK)
				st_reader_fault(rd, f, gen);
			rd->copied++;
		} else if (ret != -1) {
			st_reader_fault(rd, ST_BAD_READ, 0);
		}

		/* Poll loop end: quiescent; sometimes offline for a while. */
		__atomic_store_n(&rd->iters, rd->iters + 1, __ATOMIC_RELEASE);
		urcu_qsbr_quiescent_state();
		if (rnd_next(&rng) % 4096 == 0) {
			urcu_qsbr_thread_offline();
			sched_yield();
			urcu_qsbr_thread_online();
		}
	}
	urcu_qsbr_unregister_thread();
	return NULL;
}

static void
st_writer_fault(struct st_writer *wr, int fault)
{
	if (wr->faults++ == 0)
		wr->first_fault = fault;
}

/* Waits (online, quiescent between polls) until every reader has done
 * at least iters iterations since the writer started. */
static void
st_writer_gate(struct st_shared *sh, uint64_t iters)
{
	unsigned int i;

	for (i = 0; i < ST_READERS; i++) {
		struct st_reader *rd = &sh->readers[i];

		while (__atomic_load_n(&rd->iters, __ATOMIC_ACQUIRE) < rd->iters_at_start + iters) {
			urcu_qsbr_quiescent_state();
			sched_yield();
		}
	}
}

static void *
st_writer_main(void *arg)
{
	struct st_writer *wr = arg;
	struct st_shared *sh = wr->sh;
	uint64_t rng = sh->seed;
	uint8_t val[ST_VAL_MAX];
	struct tr_kvstore_stats st;
	uint64_t i;

	urcu_qsbr_register_thread();
	tr_sm_init(&wr->sm, &tr_kvstore_ops, sh->kvs, wr->clients, 4);
	for (i = 0; i < ST_READERS; i++)
		sh->readers[i].iters_at_start =
			__atomic_load_n(&sh->readers[i].iters, __ATOMIC_ACQUIRE);
	for (i = 1; i <= ST_WRITES; i++) {
		uint64_t r = rnd_next(&rng);
		uint32_t k = (uint32_t)(r % ST_KEYS);
		struct tr_sm_result res;
		struct tr_cmd c;

		memset(&c, 0, sizeof(c));
		c.window = 64;
		c.client_id = 1;
		c.seq = i;
		c.key = sh->keys[k];
		c.key_len = ST_KEY_BYTES;
		if ((r >> 8) % 4 == 0) {
			c.op = TR_OP_DEL;
			tr_sm_apply(&wr->sm, &c, &res);
			if (res.status != (wr->gen_of[k] != 0 ? TR_ST_OK : TR_ST_NOT_FOUND))
				st_writer_fault(wr, ST_BAD_STATUS);
			wr->gen_of[k] = 0;
		} else {
			c.op = TR_OP_SET;
			c.val = val;
			c.val_len = st_val_make(val, k, i,
						ST_VAL_MIN + (uint32_t)((r >> 16) %
									(ST_VAL_MAX - ST_VAL_MIN + 1)));
			tr_sm_apply(&wr->sm, &c, &res);
			if (res.status != TR_ST_OK)
				st_writer_fault(wr, ST_BAD_STATUS);
			wr->gen_of[k] = i;
		}

		/* Sometimes a GET: its value must stay valid until this
		 * thread's next quiescent state, across yields. */
		if ((r >> 40) % 8 == 0) {
			uint32_t g = (uint32_t)((r >> 44) % ST_KEYS);
			uint64_t gen;

			memset(&c, 0, sizeof(c));
			c.op = TR_OP_GET;
			c.client_id = 2;
			c.key = sh->keys[g];
			c.key_len = ST_KEY_BYTES;
			tr_sm_apply(&wr->sm, &c, &res);
			if (res.status == TR_ST_OK) {
				st_jitter(&rng, 16, 4);
				if (st_val_check(res.val, res.val_len, g, &gen) != ST_OK)
					st_writer_fault(wr, ST_BAD_PAYLOAD);
				else if (gen != wr->gen_of[g])
					st_writer_fault(wr, ST_BAD_GET);
				wr->gets_checked++;
			} else if (wr->gen_of[g] != 0) {
				st_writer_fault(wr, ST_BAD_GET);
			}
		}
		st_jitter(&rng, 256, 32);
		urcu_qsbr_quiescent_state();
		if (i % ST_GATE_WRITES == 0)
			st_writer_gate(sh, i / ST_GATE_WRITES * ST_GATE_ITERS);
	}
	/* Exact here: the only writer is this thread. */
	wr->scan_digest = tr_kvstore_digest_scan(sh->kvs);
	tr_kvstore_stats_get(sh->kvs, &st);
	wr->freed_while_running = st.nodes_freed;
	urcu_qsbr_unregister_thread();
	return NULL;
}

Test(kvstore, rcu_stress_readers_never_see_reclaimed_memory, .timeout = 120)
{
	static struct st_shared sh;
	static struct st_writer wr;
	static struct st_reader rd[ST_READERS];
	struct tr_kvstore_stats st;
	uint64_t live = 0;
	unsigned int i, k;

	memset(&sh, 0, sizeof(sh));
	memset(&wr, 0, sizeof(wr));
	memset(rd, 0, sizeof(rd));
	sh.seed = seed_get();
	/* A small table that has to grow (and shrink) under the readers. */
	sh.kvs = store_new(1, ST_KEYS);
	cr_assert_not_null(sh.kvs);
	for (k = 0; k < ST_KEYS; k++)
		snprintf((char *)sh.keys[k], ST_KEY_BYTES, "stress-key-%02u", k);

	/* This thread only waits: registered but offline, so it never holds
	 * back a grace period. */
	urcu_qsbr_register_thread();
	urcu_qsbr_thread_offline();
	wr.sh = &sh;
	sh.readers = rd;
	for (i = 0; i < ST_READERS; i++) {
		rd[i].sh = &sh;
		rd[i].idx = i;
		cr_assert_eq(pthread_create(&rd[i].tid, NULL, st_reader_main, &rd[i]), 0);
	}
	cr_assert_eq(pthread_create(&wr.tid, NULL, st_writer_main, &wr), 0);
	pthread_join(wr.tid, NULL);
	__atomic_store_n(&sh.stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < ST_READERS; i++)
		pthread_join(rd[i].tid, NULL);
	urcu_qsbr_thread_online();

	cr_expect_eq(wr.faults, 0, "seed %llu: writer: %llu faults, first: %s",
		     (unsigned long long)sh.seed, (unsigned long long)wr.faults,
		     st_fault_str(wr.first_fault));
	for (i = 0; i < ST_READERS; i++) {
		cr_expect_eq(rd[i].faults, 0,
			     "seed %llu: reader %u: %llu faults, first: %s (gen %llu), %llu checked",
			     (unsigned long long)sh.seed, i, (unsigned long long)rd[i].faults,
			     st_fault_str(rd[i].first_fault), (unsigned long long)rd[i].first_gen,
			     (unsigned long long)rd[i].found);
		/* Not vacuous: the gate guarantees ST_GATE_TOTAL iterations
		 * during the writes, about 3/4 of them on a present key. */
		cr_expect_geq(rd[i].iters - rd[i].iters_at_start, ST_GATE_TOTAL);
		cr_expect_gt(rd[i].found, ST_GATE_TOTAL / 4, "reader %u checked only %llu values",
			     i, (unsigned long long)rd[i].found);
		cr_expect_gt(rd[i].copied, ST_GATE_TOTAL / 4, "reader %u copied only %llu values",
			     i, (unsigned long long)rd[i].copied);
	}
	cr_expect_gt(wr.gets_checked, 1000);
	/* Reclamation ran while the readers read. */
	cr_expect_gt(wr.freed_while_running, 0);

	cr_log_info("stress seed %llu: reader 0 checked %llu in-section, %llu copied, %llu absent; "
		    "writer %llu gets; %llu nodes freed while running",
		    (unsigned long long)sh.seed, (unsigned long long)rd[0].found,
		    (unsigned long long)rd[0].copied, (unsigned long long)rd[0].absent,
		    (unsigned long long)wr.gets_checked,
		    (unsigned long long)wr.freed_while_running);

	/* The final state: the writer's digest, the model, the stats. */
	cr_expect_eq(wr.scan_digest, wr.sm.digest, "seed %llu: digest",
		     (unsigned long long)sh.seed);
	for (k = 0; k < ST_KEYS; k++) {
		uint8_t buf[ST_VAL_MAX];
		uint32_t len;
		uint64_t gen = 0;
		int ret = tr_kvstore_read(sh.kvs, sh.keys[k], ST_KEY_BYTES, buf, sizeof(buf), &len);

		if (wr.gen_of[k] == 0) {
			cr_expect_eq(ret, -1, "key %u should be absent", k);
			continue;
		}
		live++;
		cr_expect_eq(ret, 0, "key %u should be present", k);
		cr_expect_eq(st_val_check(buf, len, k, &gen), ST_OK, "key %u", k);
		cr_expect_eq(gen, wr.gen_of[k], "key %u generation", k);
	}
	urcu_qsbr_barrier();
	tr_kvstore_stats_get(sh.kvs, &st);
	cr_expect_eq(st.keys, live);
	cr_expect_eq(st.nodes_freed, st.nodes_retired, "all retired nodes freed after barrier");
	cr_expect_geq(st.nodes_retired, ST_WRITES / 2);
	tr_kvstore_free(sh.kvs);
	urcu_qsbr_unregister_thread();
}

/* ---------------------------------------------------------------------
 * The table under rebuilds: grow, shrink, tombstone clean-up.
 */

/* A reference model: key i is "model-<i>", its value bytes and presence. */
#define MD_KEYS 2000
#define MD_VAL_MAX 48
#define MD_STEPS 100000
#define MD_CHECK_EVERY 5000

struct md_model {
	uint8_t val[MD_KEYS][MD_VAL_MAX];
	uint32_t val_len[MD_KEYS];
	bool present[MD_KEYS];
	uint32_t seen[MD_KEYS];
	uint64_t keys;
	uint64_t digest;
	uint64_t faults;
};

/* The key "<prefix>-<i>" in buf; its length. */
static uint16_t
key_fmt(char *buf, size_t cap, const char *prefix, unsigned int i)
{
	return (uint16_t)snprintf(buf, cap, "%s-%u", prefix, i);
}

static uint64_t
md_pair_hash(const struct md_model *m, unsigned int i)
{
	char key[24];
	uint16_t len = key_fmt(key, sizeof(key), "model", i);

	return tr_kv_pair_hash((const uint8_t *)key, len, m->val[i], m->val_len[i]);
}

/* foreach callback: every pair is a model key, present, with its value. */
static int
md_visit(void *ctx, const uint8_t *key, uint16_t key_len, const uint8_t *val, uint32_t val_len)
{
	struct md_model *m = ctx;
	char buf[24];
	unsigned int i;

	if (key_len >= sizeof(buf) || key_len < 7 || memcmp(key, "model-", 6) != 0) {
		m->faults++;
		return 0;
	}
	memcpy(buf, key, key_len);
	buf[key_len] = '\0';
	i = (unsigned int)strtoul(buf + 6, NULL, 10);
	if (i >= MD_KEYS || !m->present[i] || val_len != m->val_len[i] ||
	    (val_len > 0 && memcmp(val, m->val[i], val_len) != 0))
		m->faults++;
	else
		m->seen[i]++;
	return 0;
}

/* Seeded random sets, dels and gets straight on the ops, in phases that
 * grow the table and phases that empty it: every answer, the count, the
 * digest scan and a foreach (each pair once, with its value) against the
 * model. */
Test(kvstore, digest_and_scan_match_a_model_through_rebuilds)
{
	static struct md_model m;
	uint64_t seed = seed_get(), rng = seed ^ UINT64_C(0x6d6f64656c);
	struct tr_kvstore_stats st;
	struct tr_kvstore *kvs;
	uint64_t step, shrank = 0, buckets_max = 0;
	unsigned int i;

	memset(&m, 0, sizeof(m));
	urcu_qsbr_register_thread();
	kvs = store_new(8, MD_KEYS);
	cr_assert_not_null(kvs);
	for (step = 0; step < MD_STEPS; step++) {
		uint64_t r = rnd_next(&rng);
		unsigned int k = (unsigned int)(r % MD_KEYS);
		/* Phases of 10000 steps: mostly sets, then mostly dels. */
		unsigned int set_pct = (step / 10000) % 2 == 0 ? 75 : 20, del_pct = 95 - set_pct;
		unsigned int kind = (unsigned int)((r >> 16) % 100);
		char key[24];
		uint16_t key_len = key_fmt(key, sizeof(key), "model", k);
		uint64_t old = 1;
		const uint8_t *v;
		uint32_t vl;

		if (kind < set_pct) {
			uint8_t val[MD_VAL_MAX];
			uint32_t len = (uint32_t)((r >> 32) % (MD_VAL_MAX + 1)), j;

			for (j = 0; j < len; j++)
				val[j] = (uint8_t)rnd_next(&rng);
			cr_assert_eq(kset(kvs, (const uint8_t *)key, key_len, val, len,
							&old), 0, "seed %llu step %llu",
				     (unsigned long long)seed, (unsigned long long)step);
			cr_assert_eq(old, m.present[k] ? md_pair_hash(&m, k) : 0,
				     "seed %llu step %llu: old pair", (unsigned long long)seed,
				     (unsigned long long)step);
			if (m.present[k])
				m.digest -= md_pair_hash(&m, k);
			else
				m.keys++;
			memcpy(m.val[k], val, len);
			m.val_len[k] = len;
			m.present[k] = true;
			m.digest += md_pair_hash(&m, k);
		} else if (kind < set_pct + del_pct) {
			cr_assert_eq(tr_kvstore_ops.del(kvs, (const uint8_t *)key, key_len, &old),
				     m.present[k] ? 0 : 1, "seed %llu step %llu: del",
				     (unsigned long long)seed, (unsigned long long)step);
			cr_assert_eq(old, m.present[k] ? md_pair_hash(&m, k) : 0);
			if (m.present[k]) {
				m.digest -= md_pair_hash(&m, k);
				m.keys--;
				m.present[k] = false;
			}
		} else {
			int ret = tr_kvstore_ops.get(kvs, (const uint8_t *)key, key_len, &v, &vl);

			cr_assert_eq(ret, m.present[k] ? 0 : -1, "seed %llu step %llu: get",
				     (unsigned long long)seed, (unsigned long long)step);
			cr_assert(ret != 0 || (vl == m.val_len[k] &&
					       (vl == 0 || memcmp(v, m.val[k], vl) == 0)),
				  "seed %llu step %llu: get value", (unsigned long long)seed,
				  (unsigned long long)step);
		}
		urcu_qsbr_quiescent_state();
		tr_kvstore_stats_get(kvs, &st);
		if (st.buckets > buckets_max)
			buckets_max = st.buckets;
		else if (st.buckets < buckets_max)
			shrank = 1;
		if (step % MD_CHECK_EVERY != MD_CHECK_EVERY - 1)
			continue;
		cr_assert_eq(tr_kvstore_count(kvs), m.keys);
		cr_assert_eq(tr_kvstore_digest_scan(kvs), m.digest, "seed %llu step %llu: digest",
			     (unsigned long long)seed, (unsigned long long)step);
		memset(m.seen, 0, sizeof(m.seen));
		cr_assert_eq(tr_kvstore_foreach(kvs, md_visit, &m), 0);
		cr_assert_eq(m.faults, 0, "seed %llu step %llu: foreach saw a stray pair",
			     (unsigned long long)seed, (unsigned long long)step);
		for (i = 0; i < MD_KEYS; i++)
			cr_assert_eq(m.seen[i], m.present[i] ? 1 : 0,
				     "seed %llu step %llu: key %u seen %u times",
				     (unsigned long long)seed, (unsigned long long)step, i, m.seen[i]);
	}
	/* Not vacuous: the table grew and shrank. */
	tr_kvstore_stats_get(kvs, &st);
	cr_log_info("model seed %llu: %llu rebuilds, up to %llu buckets", (unsigned long long)seed,
		    (unsigned long long)st.rebuilds, (unsigned long long)buckets_max);
	cr_assert_gt(st.rebuilds, 10);
	cr_assert_geq(buckets_max, 2048);
	cr_assert(shrank);
	tr_kvstore_free(kvs);
	urcu_qsbr_unregister_thread();
}

#define CH_LIVE 100
#define CH_STEPS 200000
#define CH_BUCKETS_MAX 256 /* 100 keys at load 1/2, rounded up */

/* Delete-heavy churn: a sliding window of CH_LIVE keys, each step a new key
 * in and the oldest out. Tombstones must not pile up: keys + tombstones stay
 * within 3/4 of the buckets, the table within its size for CH_LIVE keys,
 * and a look-up of an absent key ends. Then a mass delete shrinks it. */
Test(kvstore, churn_keeps_tombstones_and_size_bounded, .timeout = 60)
{
	struct tr_kvstore_stats st;
	struct tr_kvstore *kvs;
	uint64_t step, old;
	char key[32];
	uint8_t buf[8];
	uint32_t len;

	urcu_qsbr_register_thread();
	kvs = store_new(8, UINT64_MAX);
	cr_assert_not_null(kvs);
	for (step = 0; step < CH_STEPS; step++) {
		uint16_t kl = (uint16_t)snprintf(key, sizeof(key), "churn-%llu",
						 (unsigned long long)step);

		cr_assert_eq(kset(kvs, (const uint8_t *)key, kl,
						(const uint8_t *)"v", 1, &old), 0);
		if (step >= CH_LIVE) {
			kl = (uint16_t)snprintf(key, sizeof(key), "churn-%llu",
						(unsigned long long)(step - CH_LIVE));
			cr_assert_eq(tr_kvstore_ops.del(kvs, (const uint8_t *)key, kl, &old), 0);
		}
		urcu_qsbr_quiescent_state();
		tr_kvstore_stats_get(kvs, &st);
		cr_assert_leq(st.keys + st.tombstones, st.buckets / 4 * 3,
			      "step %llu: %llu keys + %llu tombstones in %llu buckets",
			      (unsigned long long)step, (unsigned long long)st.keys,
			      (unsigned long long)st.tombstones, (unsigned long long)st.buckets);
		cr_assert_leq(st.buckets, CH_BUCKETS_MAX, "step %llu: %llu buckets",
			      (unsigned long long)step, (unsigned long long)st.buckets);
		if (step % 1000 == 0) {
			kl = (uint16_t)snprintf(key, sizeof(key), "absent-%llu",
						(unsigned long long)step);
			cr_assert_eq(tr_kvstore_read(kvs, (const uint8_t *)key, kl, buf,
						     sizeof(buf), &len), -1);
		}
	}
	cr_assert_eq(st.keys, CH_LIVE);
	cr_log_info("churn: %llu rebuilds in %llu steps", (unsigned long long)st.rebuilds,
		    (unsigned long long)CH_STEPS);
	cr_assert_gt(st.rebuilds, 100); /* the clean-ups that kept the bound */

	/* Grow to 5000 keys, delete all but 10: the table shrinks back. */
	for (step = 0; step < 5000; step++) {
		uint16_t kl = (uint16_t)snprintf(key, sizeof(key), "mass-%llu",
						 (unsigned long long)step);

		cr_assert_eq(kset(kvs, (const uint8_t *)key, kl,
						(const uint8_t *)"v", 1, &old), 0);
	}
	tr_kvstore_stats_get(kvs, &st);
	cr_assert_geq(st.buckets, 8192);
	for (step = 0; step < 5000; step++) {
		uint16_t kl = (uint16_t)snprintf(key, sizeof(key), "mass-%llu",
						 (unsigned long long)step);

		cr_assert_eq(tr_kvstore_ops.del(kvs, (const uint8_t *)key, kl, &old), 0);
		urcu_qsbr_quiescent_state();
	}
	tr_kvstore_stats_get(kvs, &st);
	cr_assert_eq(st.keys, CH_LIVE);
	cr_assert_leq(st.buckets, CH_BUCKETS_MAX * 2, "%llu buckets for %llu keys",
		      (unsigned long long)st.buckets, (unsigned long long)st.keys);
	tr_kvstore_free(kvs);
	urcu_qsbr_unregister_thread();
}

#define AM_KEYS 2000
#define AM_STEPS 200000
#define AM_PHASE 20000

/* A rebuild costs O(buckets), so it comes only after a number of writes of
 * the same order since the last one (kvstore.h): a rebuild leaves the keys
 * within (1/4, 1/2] of the new table (or a table at its minimum size), the
 * next grow or clean-up needs the used buckets past 3/4 and the next shrink
 * the keys below 1/8. So between two rebuilds there are at least buckets/8
 * writes that add or remove a key, buckets counted after the first. Seeded
 * random sets and dels in phases that fill the table and empty it. */
Test(kvstore, rebuilds_are_amortized)
{
	static bool present[AM_KEYS];
	uint64_t seed = seed_get(), rng = seed ^ UINT64_C(0x616d6f72);
	uint64_t step, since = 0, last_buckets, rebuilds, shrinks = 0, old;
	struct tr_kvstore_stats st;
	struct tr_kvstore *kvs;
	char key[24];

	memset(present, 0, sizeof(present));
	urcu_qsbr_register_thread();
	kvs = store_new(8, UINT64_MAX);
	cr_assert_not_null(kvs);
	tr_kvstore_stats_get(kvs, &st);
	last_buckets = st.buckets;
	rebuilds = st.rebuilds;
	for (step = 0; step < AM_STEPS; step++) {
		uint64_t r = rnd_next(&rng);
		unsigned int k = (unsigned int)(r % AM_KEYS);
		/* Phases: 80% sets, then 95% dels. */
		bool set = (r >> 32) % 100 < ((step / AM_PHASE) % 2 == 0 ? 80u : 5u);
		uint16_t kl = (uint16_t)snprintf(key, sizeof(key), "am-%u", k);

		if (set) {
			cr_assert_eq(kset(kvs, (const uint8_t *)key, kl, (const uint8_t *)&r,
					  sizeof(r), &old), 0);
			since += !present[k];
			present[k] = true;
		} else {
			cr_assert_eq(tr_kvstore_ops.del(kvs, (const uint8_t *)key, kl, &old),
				     present[k] ? 0 : 1);
			since += present[k];
			present[k] = false;
		}
		urcu_qsbr_quiescent_state();
		tr_kvstore_stats_get(kvs, &st);
		if (st.rebuilds == rebuilds)
			continue;
		cr_assert_eq(st.rebuilds, rebuilds + 1, "seed %llu step %llu: %llu rebuilds at once",
			     (unsigned long long)seed, (unsigned long long)step,
			     (unsigned long long)(st.rebuilds - rebuilds));
		cr_assert_geq(since, last_buckets / 8,
			      "seed %llu step %llu: a rebuild (%llu -> %llu buckets, %llu keys) "
			      "%llu writes after the last one", (unsigned long long)seed,
			      (unsigned long long)step, (unsigned long long)last_buckets,
			      (unsigned long long)st.buckets, (unsigned long long)st.keys,
			      (unsigned long long)since);
		shrinks += st.buckets < last_buckets;
		rebuilds = st.rebuilds;
		last_buckets = st.buckets;
		since = 0;
	}
	/* Not vacuous: the table grew, was cleaned up and shrank. */
	cr_log_info("amortized seed %llu: %llu rebuilds, %llu shrinks", (unsigned long long)seed,
		    (unsigned long long)rebuilds, (unsigned long long)shrinks);
	cr_assert_geq(rebuilds, 30);
	cr_assert_geq(shrinks, 8);
	tr_kvstore_free(kvs);
	urcu_qsbr_unregister_thread();
}

/* Readers that look up keys present all along, and walk the table with
 * foreach, while the writer grows and shrinks it around them: every look-up
 * finds its key, every walk sees each such key exactly once. Reader 0 stops
 * at the start of each walk, inside its read-side section, until the writer
 * has rebuilt the table: the rest of the walk reads a retired table. A
 * rebuild that readers can see half done, or an old table freed before they
 * leave it (tables are poisoned on free), fails here. */
#define GR_FIXED 8
#define GR_OTHERS 1500
#define GR_ROUNDS 100
#define GR_GATE_OPS 256
#define GR_READERS 2

struct gr_shared {
	struct tr_kvstore *kvs;
	uint64_t seed;
	int stop;
	int paused; /* reader 0 waits in a walk until the writer clears it */
};

struct gr_reader {
	struct gr_shared *sh;
	pthread_t tid;
	unsigned int idx;
	uint64_t iters;  /* read by the writer's gate */
	uint64_t reads;
	uint64_t walks;
	uint64_t faults; /* a fixed key missing, seen twice or with a wrong value */
};

struct gr_walk {
	struct gr_shared *sh;
	bool pause;
	uint32_t seen[GR_FIXED];
	uint64_t pairs;
	uint64_t bad;
	uint64_t rng;
};

static int
gr_visit(void *ctx, const uint8_t *key, uint16_t key_len, const uint8_t *val, uint32_t val_len)
{
	struct gr_walk *w = ctx;
	unsigned int i;

	if (++w->pairs == 1 && w->pause) {
		__atomic_store_n(&w->sh->paused, 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&w->sh->paused, __ATOMIC_ACQUIRE) &&
		       !__atomic_load_n(&w->sh->stop, __ATOMIC_ACQUIRE))
			sched_yield();
	} else if (w->pairs % 64 == 0) {
		st_jitter(&w->rng, 4, 2);
	}
	if (key_len != 7 || memcmp(key, "fixed-", 6) != 0)
		return 0;
	i = (unsigned int)(key[6] - '0');
	if (i >= GR_FIXED || val_len != 4 || memcmp(val, &i, 4) != 0)
		w->bad++;
	else
		w->seen[i]++;
	return 0;
}

static void *
gr_reader_main(void *arg)
{
	struct gr_reader *rd = arg;
	struct gr_shared *sh = rd->sh;
	struct gr_walk w = { .sh = sh, .pause = rd->idx == 0,
			     .rng = sh->seed ^ (UINT64_C(0x2000) * (rd->idx + 1)) };
	uint64_t rng = w.rng + 1;

	urcu_qsbr_register_thread();
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		unsigned int i, k;
		char key[16];
		uint16_t kl;
		uint8_t buf[8];
		uint32_t len;

		/* Look-ups, copying and zero-copy. */
		for (i = 0; i < 64; i++) {
			const uint8_t *v;

			k = (unsigned int)(rnd_next(&rng) % GR_FIXED);
			kl = key_fmt(key, sizeof(key), "fixed", k);
			if (tr_kvstore_read(sh->kvs, (const uint8_t *)key, kl, buf, sizeof(buf),
					    &len) != 0 || len != 4 || memcmp(buf, &k, 4) != 0)
				rd->faults++;
			urcu_qsbr_read_lock();
			if (tr_kvstore_lookup(sh->kvs, (const uint8_t *)key, kl, &v, &len) != 0 ||
			    len != 4 || memcmp(v, &k, 4) != 0)
				rd->faults++;
			urcu_qsbr_read_unlock();
			rd->reads += 2;
		}
		/* A walk: each fixed key once. */
		memset(w.seen, 0, sizeof(w.seen));
		w.bad = 0;
		w.pairs = 0;
		tr_kvstore_foreach(sh->kvs, gr_visit, &w);
		if (__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE))
			break; /* cut short by the end of the test */
		for (k = 0; k < GR_FIXED; k++)
			rd->faults += w.seen[k] != 1;
		rd->faults += w.bad;
		rd->walks++;

		__atomic_store_n(&rd->iters, rd->iters + 1, __ATOMIC_RELEASE);
		urcu_qsbr_quiescent_state();
	}
	urcu_qsbr_unregister_thread();
	return NULL;
}

static uint64_t
gr_rebuilds(struct tr_kvstore *kvs)
{
	struct tr_kvstore_stats st;

	tr_kvstore_stats_get(kvs, &st);
	return st.rebuilds;
}

/* Waits (online, quiescent between polls) until every reader has finished
 * another iteration since *mark, and updates *mark; lets reader 0 go on
 * whenever it stops. */
static void
gr_gate(struct gr_shared *sh, struct gr_reader *rd, uint64_t *mark)
{
	unsigned int i;

	for (i = 0; i < GR_READERS; i++) {
		while (__atomic_load_n(&rd[i].iters, __ATOMIC_ACQUIRE) <= mark[i] + 1) {
			__atomic_store_n(&sh->paused, 0, __ATOMIC_RELEASE);
			urcu_qsbr_quiescent_state();
			sched_yield();
		}
		mark[i] = __atomic_load_n(&rd[i].iters, __ATOMIC_ACQUIRE);
	}
}

Test(kvstore, readers_find_fixed_keys_through_rebuilds, .timeout = 120)
{
	static struct gr_shared sh;
	static struct gr_reader rd[GR_READERS];
	uint64_t mark[GR_READERS] = { 0 }, ops = 0, old, rebuilds_before;
	uint64_t pause_rebuilds = UINT64_MAX, spanned = 0;
	unsigned int i, round;
	char key[24];
	uint16_t kl;

	memset(&sh, 0, sizeof(sh));
	memset(rd, 0, sizeof(rd));
	sh.seed = seed_get();
	urcu_qsbr_register_thread();
	sh.kvs = store_new(8, UINT64_MAX);
	cr_assert_not_null(sh.kvs);
	for (i = 0; i < GR_FIXED; i++) {
		kl = key_fmt(key, sizeof(key), "fixed", i);
		cr_assert_eq(kset(sh.kvs, (const uint8_t *)key, kl,
						(const uint8_t *)&i, 4, &old), 0);
	}
	rebuilds_before = gr_rebuilds(sh.kvs);
	for (i = 0; i < GR_READERS; i++) {
		rd[i].sh = &sh;
		rd[i].idx = i;
		cr_assert_eq(pthread_create(&rd[i].tid, NULL, gr_reader_main, &rd[i]), 0);
	}
	/* Each round grows the table from 32 buckets to 2048 (6 rebuilds) and
	 * shrinks it back (3). */
	for (round = 0; round < GR_ROUNDS; round++) {
		for (i = 0; i < 2 * GR_OTHERS; i++) {
			unsigned int o = i < GR_OTHERS ? i : 2 * GR_OTHERS - 1 - i;

			kl = (uint16_t)snprintf(key, sizeof(key), "other-%u-%u", round, o);
			if (i < GR_OTHERS)
				cr_assert_eq(kset(sh.kvs, (const uint8_t *)key, kl,
								(const uint8_t *)key, kl, &old), 0);
			else
				cr_assert_eq(tr_kvstore_ops.del(sh.kvs, (const uint8_t *)key, kl,
								&old), 0);
			urcu_qsbr_quiescent_state();
			/* Reader 0 stopped in a walk: let it go on once the
			 * table it walks is retired. */
			if (!__atomic_load_n(&sh.paused, __ATOMIC_ACQUIRE)) {
				pause_rebuilds = UINT64_MAX;
			} else if (pause_rebuilds == UINT64_MAX) {
				pause_rebuilds = gr_rebuilds(sh.kvs);
			} else if (gr_rebuilds(sh.kvs) > pause_rebuilds) {
				spanned++;
				pause_rebuilds = UINT64_MAX;
				__atomic_store_n(&sh.paused, 0, __ATOMIC_RELEASE);
			}
			if (++ops % GR_GATE_OPS == 0)
				gr_gate(&sh, rd, mark);
		}
	}
	__atomic_store_n(&sh.stop, 1, __ATOMIC_RELEASE);
	urcu_qsbr_thread_offline();
	for (i = 0; i < GR_READERS; i++)
		pthread_join(rd[i].tid, NULL);
	urcu_qsbr_thread_online();

	cr_log_info("rebuilds seed %llu: %llu rebuilds, %llu walks across one; "
		    "reader 1: %llu reads, %llu walks", (unsigned long long)sh.seed,
		    (unsigned long long)(gr_rebuilds(sh.kvs) - rebuilds_before),
		    (unsigned long long)spanned, (unsigned long long)rd[1].reads,
		    (unsigned long long)rd[1].walks);
	for (i = 0; i < GR_READERS; i++) {
		cr_expect_eq(rd[i].faults, 0, "seed %llu: reader %u: %llu faults in %llu reads, "
			     "%llu walks", (unsigned long long)sh.seed, i,
			     (unsigned long long)rd[i].faults, (unsigned long long)rd[i].reads,
			     (unsigned long long)rd[i].walks);
		/* Not vacuous: the gate makes each reader finish a walk every
		 * GR_GATE_OPS writes. */
		cr_expect_geq(rd[i].walks, ops / GR_GATE_OPS);
	}
	cr_expect_geq(gr_rebuilds(sh.kvs) - rebuilds_before, GR_ROUNDS * 9);
	cr_expect_geq(spanned, GR_ROUNDS);
	cr_expect_eq(tr_kvstore_count(sh.kvs), GR_FIXED);
	tr_kvstore_free(sh.kvs);
	urcu_qsbr_unregister_thread();
}
