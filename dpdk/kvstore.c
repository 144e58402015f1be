/* SPDX-License-Identifier: MIT
 * Trireme runtime: the concurrent key/value store. One writer (the
 * applier), any number of QSBR readers; see kvstore.h for the thread
 * contract.
 *
 * An open-addressing table, linear probing, a power of two of 16-byte
 * buckets {the key's 64-bit hash, node pointer}: four to a cache line, and
 * a probe compares the stored hash before it touches a node. A bucket's node
 * pointer is NULL (empty), KVS_TOMB (deleted) or an immutable node; readers
 * stop at an empty bucket. In a live table a bucket only goes empty ->
 * node, node -> node (overwrite), node -> tombstone, tombstone -> node: never
 * back to empty, and no entry ever moves. A reader thus walks the probe path
 * of a key present all along without ever stopping short of it.
 *
 * Orders. The writer stores a bucket's hash, then its node pointer with
 * release; a reader loads the node pointer with acquire, then the hash. A
 * reused bucket may show the reader a later hash than its node's: the hash
 * is only a filter, the key is always compared in the node. A rebuild (grow,
 * shrink, tombstone clean-up) fills a new table, publishes it with release
 * (rcu_assign_pointer) and hands the old one to call_rcu; a reader loads the
 * table pointer once per lookup with acquire (rcu_dereference) and walks that
 * table, frozen from then on and valid until its quiescent state. Nodes
 * that leave the table go to call_rcu in batches; the callback hands a batch
 * back to the writer, which frees it at its next retire: the frees stay in
 * the writer's allocator cache, warm for its next nodes, and the call_rcu
 * thread does one push per batch instead of 32 cross-thread frees.
 *
 * No _LGPL_SOURCE: the builtins stand for rcu_dereference and
 * rcu_assign_pointer; call_rcu is a library call.
 */
#include <assert.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/urcu-qsbr.h>
#include <urcu/compiler.h>

#include "kvstore.h"

/* Nodes come from jemalloc by name when it is built in, whatever allocator
 * the embedding program's link order makes malloc(); sized frees. */
#ifdef TR_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#define node_alloc(bytes) mallocx((bytes), 0)
#define node_dealloc(n) dallocx((n), 0)
#else
#define node_alloc(bytes) malloc(bytes)
#define node_dealloc(n) free(n)
#endif

/* Freed tables, and freed nodes of a store whose tests ask for it
 * (tr_kvstore_poison_nodes), are overwritten with this byte, so a reader
 * that looks at reclaimed memory sees garbage rather than a plausible old
 * value. Nodes are not by default: the free would then read and write
 * every node once more, a cache miss each, on the call_rcu thread. */
#ifndef TR_KVSTORE_POISON
#define TR_KVSTORE_POISON 1
#endif
#define KVS_POISON_BYTE 0xDE

#define KVS_CACHE_LINE 64
#define KVS_BUCKETS_MIN 8
#define KVS_BUCKETS_MAX (UINT64_C(1) << 30)

/* Load limits, in buckets. Grow or clean up when an insert would take the
 * used buckets (keys and tombstones) above 3/4; shrink when a del leaves the
 * keys below 1/8; a rebuild leaves the keys at most 1/2. */
#define KVS_USED_MAX(buckets) ((buckets) / 4 * 3)
#define KVS_SHRINK_BELOW(buckets) ((buckets) / 8)

/* Always-on check of the single-writer contract (like RTE_VERIFY). */
#define KVS_VERIFY(cond)                                                                   \
	do {                                                                               \
		if (!(cond))                                                               \
			kvs_panic(#cond, __LINE__);                                        \
	} while (0)

/* One immutable key/value pair, one allocation. */
struct kv_node {
	uint64_t pair_hash;     /* tr_kv_pair_hash of the pair, given by set */
	uint32_t val_len;
	uint16_t key_len;
	uint8_t bytes[];        /* key_len key bytes, then val_len value bytes */
};

/* Nodes that left the table go to call_rcu KVS_RETIRE_BATCH at a time: one
 * call_rcu (and its wake-up fence) per batch, not per write. */
#define KVS_RETIRE_BATCH 32

struct kv_retired {
	struct rcu_head rcu;
	struct tr_kvstore *kvs;    /* for the callback's hand-back */
	struct kv_retired *next;   /* on kvs->reclaim */
	uint32_t n;
	struct kv_node *node[KVS_RETIRE_BATCH];
};

/* A deleted pair's bucket: not empty, so probes go on past it. */
#define KVS_TOMB ((struct kv_node *)(uintptr_t)1)

struct kv_bucket {
	uint64_t hash;          /* the key's tr_kv_key_hash; a filter only */
	struct kv_node *node;   /* NULL, KVS_TOMB or a node */
};

struct kv_table {
	uint64_t mask;          /* buckets - 1 */
	struct rcu_head rcu;
	alignas(KVS_CACHE_LINE) struct kv_bucket b[];
};

struct tr_kvstore {
	/* Read by every reader; written by a rebuild. */
	struct kv_table *tbl;
	uint64_t keys_max;
	uint64_t buckets_min;
	/* The writer's; atomic stores where other threads read them. */
	alignas(KVS_CACHE_LINE) uint64_t keys;
	uint64_t used;          /* keys + tombstones in tbl; the writer's only */
	uint64_t tombstones;
	uint64_t buckets;
	uint64_t rebuilds;
	uint64_t nodes_retired;
	uint64_t nodes_released; /* memory freed, by the writer */
	struct kv_retired *retiring; /* the batch being filled, or NULL */
	bool poison_nodes;      /* tr_kvstore_poison_nodes */
	/* Batches past their grace period, pushed by the call_rcu threads;
	 * the writer takes the whole stack at once (no ABA). */
	alignas(KVS_CACHE_LINE) struct kv_retired *reclaim;
	uint64_t nodes_freed;   /* atomic adds from the call_rcu threads */
};

static void
kvs_panic(const char *what, int line)
{
	fprintf(stderr, "kvstore.c:%d: check failed: %s\n", line, what);
	abort();
}

/* Overwrites memory about to be freed; the barrier keeps the compiler from
 * dropping the stores as dead before free(). */
static void
kvs_poison(void *p, size_t bytes)
{
	if (TR_KVSTORE_POISON) {
		memset(p, KVS_POISON_BYTE, bytes);
		__asm__ volatile("" : : "r"(p) : "memory");
	}
}

static size_t
node_bytes(uint16_t key_len, uint32_t val_len)
{
	return sizeof(struct kv_node) + (size_t)key_len + val_len;
}

static bool
node_is(const struct kv_node *n, const uint8_t *key, uint16_t key_len)
{
	return n->key_len == key_len && (key_len == 0 || memcmp(n->bytes, key, key_len) == 0);
}

static struct kv_node *
node_new(const uint8_t *key, uint16_t key_len, const uint8_t *val,
	 uint32_t val_len, uint64_t pair_hash)
{
	struct kv_node *n = node_alloc(node_bytes(key_len, val_len));

	/* Not "store full": other replicas applied this write, so going on
	 * would diverge. Fail-stop. */
	KVS_VERIFY(n != NULL);
	n->pair_hash = pair_hash;
	n->key_len = key_len;
	n->val_len = val_len;
	if (key_len > 0)
		memcpy(n->bytes, key, key_len);
	if (val_len > 0)
		memcpy(n->bytes + key_len, val, val_len);
	return n;
}

/* Without poison, the node's memory is not touched again: the allocator
 * knows its size. */
static void
node_free(struct kv_node *n, bool poison)
{
	if (poison)
		kvs_poison(n, node_bytes(n->key_len, n->val_len));
	node_dealloc(n);
}

void
tr_kvstore_poison_nodes(struct tr_kvstore *kvs, bool on)
{
	kvs->poison_nodes = on;
}

/* call_rcu callback: a grace period has passed since the batch was handed
 * over, so no reader can still hold its nodes. Hands it back to the writer. */
static void
retired_done_cb(struct rcu_head *head)
{
	struct kv_retired *r = caa_container_of(head, struct kv_retired, rcu);
	struct tr_kvstore *kvs = r->kvs;
	uint32_t n = r->n;

	r->next = __atomic_load_n(&kvs->reclaim, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&kvs->reclaim, &r->next, r, true, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED))
		;
	/* n read before the push: the writer may reuse r at once. */
	__atomic_fetch_add(&kvs->nodes_freed, n, __ATOMIC_RELAXED);
}

/* Frees the nodes of a list of batches (adding their count to *freed);
 * returns the first batch, emptied, for reuse (the others are freed), or
 * NULL. */
static struct kv_retired *
batches_free(struct kv_retired *r, bool poison, uint64_t *freed)
{
	struct kv_retired *keep = r;

	while (r != NULL) {
		struct kv_retired *next = r->next;
		uint32_t i;

		for (i = 0; i < r->n; i++)
			node_free(r->node[i], poison);
		*freed += r->n;
		r->n = 0;
		if (r != keep)
			free(r);
		r = next;
	}
	return keep;
}

/* The batches handed back so far, taken off the stack. */
static struct kv_retired *
batches_done(struct tr_kvstore *kvs)
{
	return __atomic_exchange_n(&kvs->reclaim, NULL, __ATOMIC_ACQUIRE);
}

/* The writer counts what it released (read by stats from any thread). */
static void
released_add(struct tr_kvstore *kvs, uint64_t n)
{
	if (n > 0)
		__atomic_store_n(&kvs->nodes_released, kvs->nodes_released + n,
				 __ATOMIC_RELAXED);
}

uint64_t
tr_kvstore_reclaim(struct tr_kvstore *kvs)
{
	uint64_t freed = 0;

	if (__atomic_load_n(&kvs->reclaim, __ATOMIC_RELAXED) != NULL)
		free(batches_free(batches_done(kvs), kvs->poison_nodes, &freed));
	released_add(kvs, freed);
	return freed;
}

/* The node left the table: free it once every reader has moved on. Until
 * its batch is full it waits with the writer, which only delays the free.
 * A new batch starts by freeing the batches whose grace period is over. */
static void
node_retire(struct tr_kvstore *kvs, struct kv_node *n)
{
	struct kv_retired *r = kvs->retiring;

	if (r == NULL) {
		uint64_t freed = 0;

		r = batches_free(batches_done(kvs), kvs->poison_nodes, &freed);
		released_add(kvs, freed);
		if (r == NULL)
			r = malloc(sizeof(*r));
		KVS_VERIFY(r != NULL); /* fail-stop, as for a node */
		r->kvs = kvs;
		r->n = 0;
		kvs->retiring = r;
	}
	r->node[r->n++] = n;
	if (r->n < KVS_RETIRE_BATCH)
		return;
	kvs->retiring = NULL;
	__atomic_store_n(&kvs->nodes_retired, kvs->nodes_retired + r->n, __ATOMIC_RELAXED);
	urcu_qsbr_call_rcu(&r->rcu, retired_done_cb);
}

/* The digest contribution of a node's pair. */
static uint64_t
node_pair_hash(const struct kv_node *n)
{
	return n->pair_hash;
}

static size_t
table_bytes(uint64_t buckets)
{
	return sizeof(struct kv_table) + (size_t)buckets * sizeof(struct kv_bucket);
}

/* An empty table (every node pointer NULL), or NULL. */
static struct kv_table *
table_new(uint64_t buckets)
{
	size_t bytes = table_bytes(buckets);
	struct kv_table *t;

	bytes = (bytes + KVS_CACHE_LINE - 1) & ~(size_t)(KVS_CACHE_LINE - 1);
	t = aligned_alloc(KVS_CACHE_LINE, bytes);
	if (t == NULL)
		return NULL;
	memset(t, 0, bytes);
	t->mask = buckets - 1;
	return t;
}

static void
table_free_cb(struct rcu_head *head)
{
	struct kv_table *t = caa_container_of(head, struct kv_table, rcu);

	kvs_poison(t->b, (size_t)(t->mask + 1) * sizeof(t->b[0]));
	free(t);
}

/* The reader's probe: the node of key in t, or NULL. Terminates because a
 * table always keeps a quarter of its buckets empty. */
static struct kv_node *
table_find(const struct kv_table *t, uint64_t hash, const uint8_t *key, uint16_t key_len)
{
	uint64_t i = hash & t->mask;

	for (;; i = (i + 1) & t->mask) {
		const struct kv_bucket *b = &t->b[i];
		struct kv_node *n = __atomic_load_n(&b->node, __ATOMIC_ACQUIRE);

		if (n == NULL)
			return NULL;
		if (n != KVS_TOMB && __atomic_load_n(&b->hash, __ATOMIC_RELAXED) == hash &&
		    node_is(n, key, key_len))
			return n;
	}
}

/* Smallest power of two >= buckets_min that holds keys at load 1/2. */
static uint64_t
buckets_for(const struct tr_kvstore *kvs, uint64_t keys)
{
	uint64_t buckets = kvs->buckets_min;

	while (buckets < KVS_BUCKETS_MAX && buckets / 2 < keys)
		buckets <<= 1;
	return buckets;
}

/* Writer: moves every pair into a fresh table sized for the keys, publishes
 * it, and frees the old one after a grace period (readers may be walking
 * it). No tombstones in the new table. */
static void
kvs_rebuild(struct tr_kvstore *kvs)
{
	struct kv_table *old = kvs->tbl, *t;
	uint64_t buckets = buckets_for(kvs, kvs->keys), i, moved = 0;

	t = table_new(buckets);
	KVS_VERIFY(t != NULL); /* fail-stop, as for a node */
	for (i = 0; i <= old->mask; i++) {
		struct kv_node *n = old->b[i].node;
		uint64_t j;

		if (n == NULL || n == KVS_TOMB)
			continue;
		for (j = old->b[i].hash & t->mask; t->b[j].node != NULL; j = (j + 1) & t->mask)
			;
		t->b[j] = old->b[i];
		moved++;
	}
	KVS_VERIFY(moved == kvs->keys);
	/* rcu_assign_pointer: the buckets before the pointer. */
	__atomic_store_n(&kvs->tbl, t, __ATOMIC_RELEASE);
	urcu_qsbr_call_rcu(&old->rcu, table_free_cb);
	kvs->used = moved;
	__atomic_store_n(&kvs->tombstones, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&kvs->buckets, buckets, __ATOMIC_RELAXED);
	__atomic_store_n(&kvs->rebuilds, kvs->rebuilds + 1, __ATOMIC_RELAXED);
}

struct tr_kvstore *
tr_kvstore_new(uint32_t buckets_hint, uint64_t keys_max)
{
	uint64_t buckets = KVS_BUCKETS_MIN;
	struct tr_kvstore *kvs;

	while (buckets < buckets_hint && buckets < KVS_BUCKETS_MAX)
		buckets <<= 1;
	kvs = aligned_alloc(KVS_CACHE_LINE, sizeof(*kvs));
	if (kvs == NULL)
		return NULL;
	memset(kvs, 0, sizeof(*kvs));
	kvs->tbl = table_new(buckets);
	if (kvs->tbl == NULL) {
		free(kvs);
		return NULL;
	}
	kvs->keys_max = keys_max;
	kvs->buckets_min = buckets;
	kvs->buckets = buckets;
	return kvs;
}

void
tr_kvstore_free(struct tr_kvstore *kvs)
{
	struct kv_table *t;
	uint64_t i, keys = 0;

	if (kvs == NULL)
		return;
	/* The frees already handed to call_rcu (they use kvs). Takes an
	 * online QSBR caller offline while it waits. */
	urcu_qsbr_barrier();
	KVS_VERIFY(__atomic_load_n(&kvs->nodes_freed, __ATOMIC_RELAXED) == kvs->nodes_retired);
	tr_kvstore_reclaim(kvs);
	/* Nobody else uses the store now: no grace period to wait for. */
	if (kvs->retiring != NULL) {
		uint64_t freed = 0;

		kvs->retiring->next = NULL;
		free(batches_free(kvs->retiring, kvs->poison_nodes, &freed));
	}
	t = kvs->tbl;
	for (i = 0; i <= t->mask; i++) {
		struct kv_node *n = t->b[i].node;

		if (n == NULL || n == KVS_TOMB)
			continue;
		node_free(n, kvs->poison_nodes);
		keys++;
	}
	KVS_VERIFY(keys == kvs->keys);
	free(t);
	free(kvs);
}

/* The writer's get: no read-side section, since only the writer retires
 * nodes and tables, and their frees wait for its own quiescent state. */
static int
kvs_get(void *store, const uint8_t *key, uint16_t key_len, const uint8_t **val,
	uint32_t *val_len)
{
	struct tr_kvstore *kvs = store;
	struct kv_node *n;

	assert(kvs != NULL && (key != NULL || key_len == 0) && val != NULL && val_len != NULL);
	n = table_find(kvs->tbl, tr_kv_key_hash(key, key_len), key, key_len);
	if (n == NULL)
		return -1;
	*val = n->bytes + n->key_len;
	*val_len = n->val_len;
	return 0;
}

/* Writer: the bucket of key in kvs->tbl (plain loads: only this thread
 * stores), or NULL; *free_b gets the first tombstone on the path, else the
 * empty bucket that ended it. */
static struct kv_bucket *
kvs_probe(struct tr_kvstore *kvs, uint64_t hash, const uint8_t *key, uint16_t key_len,
	  struct kv_bucket **free_b)
{
	struct kv_table *t = kvs->tbl;
	struct kv_bucket *tomb = NULL;
	uint64_t i = hash & t->mask;

	for (;; i = (i + 1) & t->mask) {
		struct kv_bucket *b = &t->b[i];

		if (b->node == NULL) {
			*free_b = tomb != NULL ? tomb : b;
			return NULL;
		}
		if (b->node == KVS_TOMB) {
			if (tomb == NULL)
				tomb = b;
		} else if (b->hash == hash && node_is(b->node, key, key_len)) {
			return b;
		}
	}
}

static int
kvs_set(void *store, const uint8_t *key, uint16_t key_len, uint64_t hash, const uint8_t *val,
	uint32_t val_len, uint64_t pair_hash, uint64_t *old_hash)
{
	struct tr_kvstore *kvs = store;
	struct kv_bucket *b, *free_b;
	struct kv_node *old, *n;

	assert(kvs != NULL && (key != NULL || key_len == 0) && (val != NULL || val_len == 0));
	*old_hash = 0;
	if (key_len > TR_KEY_BYTES_MAX || val_len > TR_KVS_VAL_MAX)
		return -1;
	b = kvs_probe(kvs, hash, key, key_len, &free_b);
	if (b != NULL) {
		old = b->node;
		*old_hash = node_pair_hash(old);
		n = node_new(key, key_len, val, val_len, pair_hash);
		/* Readers find the old node or the new one, never neither. */
		__atomic_store_n(&b->node, n, __ATOMIC_RELEASE);
		node_retire(kvs, old);
		return 0;
	}
	if (kvs->keys >= kvs->keys_max)
		return -1;
	n = node_new(key, key_len, val, val_len, pair_hash);
	if (free_b->node == KVS_TOMB) {
		__atomic_store_n(&kvs->tombstones, kvs->tombstones - 1, __ATOMIC_RELAXED);
	} else {
		if (kvs->used + 1 > KVS_USED_MAX(kvs->tbl->mask + 1)) {
			kvs_rebuild(kvs);
			/* Short only at KVS_BUCKETS_MAX (805 M keys): fail-stop. */
			KVS_VERIFY(kvs->used + 1 <= KVS_USED_MAX(kvs->tbl->mask + 1));
			KVS_VERIFY(kvs_probe(kvs, hash, key, key_len, &free_b) == NULL);
		}
		kvs->used++;
	}
	/* The hash before the node: a reader that sees the node sees it. */
	__atomic_store_n(&free_b->hash, hash, __ATOMIC_RELAXED);
	__atomic_store_n(&free_b->node, n, __ATOMIC_RELEASE);
	__atomic_store_n(&kvs->keys, kvs->keys + 1, __ATOMIC_RELAXED);
	return 0;
}

static int
kvs_del(void *store, const uint8_t *key, uint16_t key_len, uint64_t *old_hash)
{
	struct tr_kvstore *kvs = store;
	struct kv_bucket *b, *free_b;
	struct kv_node *old;

	assert(kvs != NULL && (key != NULL || key_len == 0));
	*old_hash = 0;
	b = kvs_probe(kvs, tr_kv_key_hash(key, key_len), key, key_len, &free_b);
	if (b == NULL)
		return 1;
	old = b->node;
	*old_hash = node_pair_hash(old);
	/* A tombstone, never empty: probes for later keys go on past it. */
	__atomic_store_n(&b->node, KVS_TOMB, __ATOMIC_RELAXED);
	__atomic_store_n(&kvs->tombstones, kvs->tombstones + 1, __ATOMIC_RELAXED);
	KVS_VERIFY(kvs->keys > 0);
	__atomic_store_n(&kvs->keys, kvs->keys - 1, __ATOMIC_RELAXED);
	node_retire(kvs, old);
	if (kvs->keys < KVS_SHRINK_BELOW(kvs->tbl->mask + 1) &&
	    kvs->tbl->mask + 1 > kvs->buckets_min)
		kvs_rebuild(kvs);
	return 0;
}

/* Buckets from a key's home that the prefetch looks along: at the table's
 * loads most pairs lie within them (linear probing displaces a pair past
 * its home in about a third of the cases at load 0.6). */
#define KVS_PREFETCH_SPAN 4

/* The writer's hint (tr_store_ops.prefetch): stage 0 brings in the buckets
 * from the key's home (one cache line, or two when the span crosses one);
 * stage 1, a few commands later, the node the first matching bucket holds
 * (the probe's second miss: its key compare and the old pair's hash). */
static void
kvs_prefetch(void *store, uint64_t hash, unsigned stage)
{
	const struct tr_kvstore *kvs = store;
	const struct kv_table *t = kvs->tbl;
	uint64_t home = hash & t->mask;

	if (stage == 0) {
		__builtin_prefetch(&t->b[home], 1);
		__builtin_prefetch(&t->b[(home + KVS_PREFETCH_SPAN - 1) & t->mask], 1);
		return;
	}
	for (unsigned i = 0; i < KVS_PREFETCH_SPAN; i++) {
		const struct kv_bucket *b = &t->b[(home + i) & t->mask];

		if (b->node == NULL)
			return;
		if (b->hash == hash && b->node != KVS_TOMB) {
			__builtin_prefetch(b->node, 0);
			return;
		}
	}
}

const struct tr_store_ops tr_kvstore_ops = {
	.get = kvs_get,
	.set = kvs_set,
	.del = kvs_del,
	.prefetch = kvs_prefetch,
};

int
tr_kvstore_lookup(struct tr_kvstore *kvs, const uint8_t *key, uint16_t key_len,
		  const uint8_t **val, uint32_t *val_len)
{
	struct kv_table *t;
	struct kv_node *n;

	assert(kvs != NULL && (key != NULL || key_len == 0) && val != NULL && val_len != NULL);
	t = __atomic_load_n(&kvs->tbl, __ATOMIC_ACQUIRE); /* rcu_dereference */
	n = table_find(t, tr_kv_key_hash(key, key_len), key, key_len);
	if (n == NULL)
		return -1;
	*val = n->bytes + n->key_len;
	*val_len = n->val_len;
	return 0;
}

int
tr_kvstore_read(struct tr_kvstore *kvs, const uint8_t *key, uint16_t key_len, uint8_t *buf,
		uint32_t cap, uint32_t *val_len)
{
	const uint8_t *val;
	uint32_t len;
	int ret;

	assert(val_len != NULL && (buf != NULL || cap == 0));
	urcu_qsbr_read_lock();
	ret = tr_kvstore_lookup(kvs, key, key_len, &val, &len);
	if (ret == 0) {
		*val_len = len;
		if (len > cap)
			ret = -2;
		else if (len > 0)
			memcpy(buf, val, len);
	}
	urcu_qsbr_read_unlock();
	return ret;
}

uint64_t
tr_kvstore_count(const struct tr_kvstore *kvs)
{
	return __atomic_load_n(&kvs->keys, __ATOMIC_RELAXED);
}

/* One table for the whole walk: a rebuild meanwhile publishes another, but
 * this one stays valid (and unchanged) until the read_unlock, so a pair
 * untouched meanwhile is seen exactly once. */
int
tr_kvstore_foreach(struct tr_kvstore *kvs, tr_kvstore_pair_fn *fn, void *ctx)
{
	struct kv_table *t;
	uint64_t i;
	int rc = 0;

	urcu_qsbr_read_lock();
	t = __atomic_load_n(&kvs->tbl, __ATOMIC_ACQUIRE); /* rcu_dereference */
	for (i = 0; i <= t->mask && rc == 0; i++) {
		struct kv_node *n = __atomic_load_n(&t->b[i].node, __ATOMIC_ACQUIRE);

		if (n != NULL && n != KVS_TOMB)
			rc = fn(ctx, n->bytes, n->key_len, n->bytes + n->key_len, n->val_len);
	}
	urcu_qsbr_read_unlock();
	return rc;
}

static int
digest_add(void *ctx, const uint8_t *key, uint16_t key_len, const uint8_t *val,
	   uint32_t val_len)
{
	*(uint64_t *)ctx += tr_kv_pair_hash(key, key_len, val, val_len);
	return 0;
}

uint64_t
tr_kvstore_digest_scan(struct tr_kvstore *kvs)
{
	uint64_t digest = 0;

	tr_kvstore_foreach(kvs, digest_add, &digest);
	return digest;
}

void
tr_kvstore_stats_get(const struct tr_kvstore *kvs, struct tr_kvstore_stats *st)
{
	st->keys = __atomic_load_n(&kvs->keys, __ATOMIC_RELAXED);
	st->nodes_retired = __atomic_load_n(&kvs->nodes_retired, __ATOMIC_RELAXED);
	st->nodes_freed = __atomic_load_n(&kvs->nodes_freed, __ATOMIC_RELAXED);
	st->nodes_released = __atomic_load_n(&kvs->nodes_released, __ATOMIC_RELAXED);
	st->buckets = __atomic_load_n(&kvs->buckets, __ATOMIC_RELAXED);
	st->tombstones = __atomic_load_n(&kvs->tombstones, __ATOMIC_RELAXED);
	st->rebuilds = __atomic_load_n(&kvs->rebuilds, __ATOMIC_RELAXED);
}
