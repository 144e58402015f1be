/* SPDX-License-Identifier: MIT
 * Trireme runtime: the concurrent key/value store (cds_lfht, QSBR flavour).
 *
 * One writer (the applier) and any number of readers; see kvstore.h for the
 * thread contract. No _LGPL_SOURCE: with QSBR the read-side lock/unlock are
 * inline no-ops anyway, and the rest are library calls.
 */
#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/urcu-qsbr.h> /* the flavour, before the hash table */
#include <urcu/rculfhash.h>

#include "kvstore.h"

/* Nodes come from jemalloc by name when it is built in, whatever allocator
 * the embedding program's link order makes malloc(); sized frees. */
#ifdef TR_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#define node_alloc(bytes) mallocx((bytes), 0)
#define node_dealloc(n, bytes) sdallocx((n), (bytes), 0)
#else
#define node_alloc(bytes) malloc(bytes)
#define node_dealloc(n, bytes) ((void)(bytes), free(n))
#endif

/* Freed nodes are overwritten with this byte, so a reader that looks at
 * reclaimed memory sees garbage rather than a plausible old value. The
 * memset runs on the call_rcu thread, off the applier's path. */
#ifndef TR_KVSTORE_POISON
#define TR_KVSTORE_POISON 1
#endif
#define KVS_POISON_BYTE 0xDE

#define KVS_BUCKETS_MAX (UINT32_C(1) << 30)

/* Always-on check of the single-writer contract (like RTE_VERIFY). */
#define KVS_VERIFY(cond)                                                                   \
	do {                                                                               \
		if (!(cond))                                                               \
			kvs_panic(#cond, __LINE__);                                        \
	} while (0)

/* One immutable key/value pair, one allocation. */
struct kv_node {
	struct cds_lfht_node lfht;
	struct rcu_head rcu;
	union {
		struct tr_kvstore *kvs;      /* for the free callback's accounting */
		struct kv_node *free_next;   /* tr_kvstore_free's list */
	};
	uint32_t val_len;
	uint16_t key_len;
	uint8_t bytes[];        /* key_len key bytes, then val_len value bytes */
};

struct tr_kvstore {
	struct cds_lfht *ht;
	uint64_t keys_max;
	uint64_t keys;          /* written by the writer only; atomic loads elsewhere */
	uint64_t nodes_retired; /* written by the writer only */
	uint64_t nodes_freed;   /* atomic adds from the call_rcu threads */
};

/* What node_match compares a node with. */
struct kv_key {
	const uint8_t *bytes;
	uint16_t len;
};

static void
kvs_panic(const char *what, int line)
{
	fprintf(stderr, "kvstore.c:%d: check failed: %s\n", line, what);
	abort();
}

static int
node_match(struct cds_lfht_node *ht_node, const void *arg)
{
	const struct kv_node *n = caa_container_of(ht_node, struct kv_node, lfht);
	const struct kv_key *k = arg;

	return n->key_len == k->len && (k->len == 0 || memcmp(n->bytes, k->bytes, k->len) == 0);
}

static struct kv_node *
node_of(struct cds_lfht_node *ht_node)
{
	return ht_node == NULL ? NULL : caa_container_of(ht_node, struct kv_node, lfht);
}

static size_t
node_bytes(uint16_t key_len, uint32_t val_len)
{
	return sizeof(struct kv_node) + (size_t)key_len + val_len;
}

static struct kv_node *
node_new(struct tr_kvstore *kvs, const uint8_t *key, uint16_t key_len, const uint8_t *val,
	 uint32_t val_len)
{
	struct kv_node *n = node_alloc(node_bytes(key_len, val_len));

	/* Not "store full": other replicas applied this write, so going on
	 * would diverge. Fail-stop. */
	KVS_VERIFY(n != NULL);
	cds_lfht_node_init(&n->lfht);
	n->kvs = kvs;
	n->key_len = key_len;
	n->val_len = val_len;
	if (key_len > 0)
		memcpy(n->bytes, key, key_len);
	if (val_len > 0)
		memcpy(n->bytes + key_len, val, val_len);
	return n;
}

/* call_rcu callback: a grace period has passed since the node was unlinked,
 * so no reader can still hold it. */
static void
node_free_cb(struct rcu_head *head)
{
	struct kv_node *n = caa_container_of(head, struct kv_node, rcu);
	struct tr_kvstore *kvs = n->kvs;
	size_t bytes = node_bytes(n->key_len, n->val_len);

	if (TR_KVSTORE_POISON)
		memset(n, KVS_POISON_BYTE, bytes);
	node_dealloc(n, bytes);
	__atomic_fetch_add(&kvs->nodes_freed, 1, __ATOMIC_RELAXED);
}

/* The node is unlinked: free it once every reader has moved on. */
static void
node_retire(struct tr_kvstore *kvs, struct kv_node *n)
{
	__atomic_store_n(&kvs->nodes_retired, kvs->nodes_retired + 1, __ATOMIC_RELAXED);
	urcu_qsbr_call_rcu(&n->rcu, node_free_cb);
}

static void
keys_publish(struct tr_kvstore *kvs, uint64_t keys)
{
	__atomic_store_n(&kvs->keys, keys, __ATOMIC_RELAXED);
}

struct tr_kvstore *
tr_kvstore_new(uint32_t buckets_hint, uint64_t keys_max)
{
	unsigned long buckets = 1;
	struct tr_kvstore *kvs;

	while (buckets < buckets_hint && buckets < KVS_BUCKETS_MAX)
		buckets <<= 1;
	kvs = calloc(1, sizeof(*kvs));
	if (kvs == NULL)
		return NULL;
	kvs->ht = cds_lfht_new_flavor(buckets, buckets, 0,
				      CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING,
				      &urcu_qsbr_flavor, NULL);
	if (kvs->ht == NULL) {
		free(kvs);
		return NULL;
	}
	kvs->keys_max = keys_max;
	return kvs;
}

/* Unlinks every node on a registered thread of its own: the deletions may
 * start a shrink in liburcu's resize worker, which frees bucket nodes after
 * a grace period, so the iteration must be a reader. The nodes are freed
 * after (nobody else holds them), the table last: cds_lfht_destroy waits
 * for a resize in progress. */
static void *
kvs_unlink_all(void *arg)
{
	struct tr_kvstore *kvs = arg;
	struct cds_lfht_iter iter;
	struct kv_node *n, *list = NULL;
	uint64_t keys = 0;

	urcu_qsbr_register_thread();
	urcu_qsbr_read_lock();
	/* The iteration still reads the nodes it unlinks: free them after. */
	cds_lfht_for_each_entry(kvs->ht, &iter, n, lfht) {
		KVS_VERIFY(cds_lfht_del(kvs->ht, &n->lfht) == 0);
		n->free_next = list;
		list = n;
		keys++;
	}
	urcu_qsbr_read_unlock();
	urcu_qsbr_unregister_thread();
	KVS_VERIFY(keys == kvs->keys);
	while (list != NULL) {
		n = list;
		list = n->free_next;
		node_dealloc(n, node_bytes(n->key_len, n->val_len));
	}
	return NULL;
}

void
tr_kvstore_free(struct tr_kvstore *kvs)
{
	pthread_t th;
	bool online;

	if (kvs == NULL)
		return;
	/* The frees already handed to call_rcu (they use kvs). Takes an
	 * online QSBR caller offline while it waits. */
	urcu_qsbr_barrier();
	KVS_VERIFY(__atomic_load_n(&kvs->nodes_freed, __ATOMIC_RELAXED) == kvs->nodes_retired);
	/* An online caller would hold back the grace periods the helper and
	 * the resize worker wait for. */
	online = urcu_qsbr_read_ongoing();
	if (online)
		urcu_qsbr_thread_offline();
	if (pthread_create(&th, NULL, kvs_unlink_all, kvs) == 0)
		pthread_join(th, NULL);
	else
		kvs_panic("no thread to free the store", __LINE__);
	KVS_VERIFY(cds_lfht_destroy(kvs->ht, NULL) == 0);
	if (online)
		urcu_qsbr_thread_online();
	free(kvs);
}

static int
kvs_get(void *store, const uint8_t *key, uint16_t key_len, const uint8_t **val,
	uint32_t *val_len)
{
	return tr_kvstore_lookup(store, key, key_len, val, val_len);
}

/* The digest contribution of a node's pair. */
static uint64_t
node_pair_hash(const struct kv_node *n)
{
	return tr_kv_pair_hash(n->bytes, n->key_len, n->bytes + n->key_len, n->val_len);
}

static int
kvs_set(void *store, const uint8_t *key, uint16_t key_len, const uint8_t *val,
	uint32_t val_len, uint64_t *old_hash)
{
	struct tr_kvstore *kvs = store;
	struct kv_key k = { .bytes = key, .len = key_len };
	unsigned long hash;
	struct cds_lfht_iter iter;
	struct kv_node *old, *n;

	assert(kvs != NULL && (key != NULL || key_len == 0) && (val != NULL || val_len == 0));
	*old_hash = 0;
	if (key_len > TR_KEY_BYTES_MAX || val_len > TR_VAL_BYTES_MAX)
		return -1;
	hash = tr_kv_key_hash(key, key_len);
	urcu_qsbr_read_lock();
	cds_lfht_lookup(kvs->ht, hash, node_match, &k, &iter);
	old = node_of(cds_lfht_iter_get_node(&iter));
	if (old == NULL && kvs->keys >= kvs->keys_max) {
		urcu_qsbr_read_unlock();
		return -1;
	}
	n = node_new(kvs, key, key_len, val, val_len);
	if (old != NULL) {
		*old_hash = node_pair_hash(old);
		/* Readers find the old node or the new one, never neither. */
		KVS_VERIFY(cds_lfht_replace(kvs->ht, &iter, hash, node_match, &k, &n->lfht) == 0);
		node_retire(kvs, old);
	} else {
		KVS_VERIFY(cds_lfht_add_unique(kvs->ht, hash, node_match, &k, &n->lfht) ==
			   &n->lfht);
		keys_publish(kvs, kvs->keys + 1);
	}
	urcu_qsbr_read_unlock();
	return 0;
}

static int
kvs_del(void *store, const uint8_t *key, uint16_t key_len, uint64_t *old_hash)
{
	struct tr_kvstore *kvs = store;
	struct kv_key k = { .bytes = key, .len = key_len };
	struct cds_lfht_iter iter;
	struct kv_node *old;

	assert(kvs != NULL && (key != NULL || key_len == 0));
	urcu_qsbr_read_lock();
	cds_lfht_lookup(kvs->ht, tr_kv_key_hash(key, key_len), node_match, &k, &iter);
	old = node_of(cds_lfht_iter_get_node(&iter));
	*old_hash = 0;
	if (old != NULL) {
		*old_hash = node_pair_hash(old);
		KVS_VERIFY(cds_lfht_del(kvs->ht, &old->lfht) == 0);
		KVS_VERIFY(kvs->keys > 0);
		keys_publish(kvs, kvs->keys - 1);
		node_retire(kvs, old);
	}
	urcu_qsbr_read_unlock();
	return old != NULL ? 0 : 1;
}

const struct tr_store_ops tr_kvstore_ops = {
	.get = kvs_get,
	.set = kvs_set,
	.del = kvs_del,
};

int
tr_kvstore_lookup(struct tr_kvstore *kvs, const uint8_t *key, uint16_t key_len,
		  const uint8_t **val, uint32_t *val_len)
{
	struct kv_key k = { .bytes = key, .len = key_len };
	struct cds_lfht_iter iter;
	struct kv_node *n;

	assert(kvs != NULL && (key != NULL || key_len == 0) && val != NULL && val_len != NULL);
	urcu_qsbr_read_lock();
	cds_lfht_lookup(kvs->ht, tr_kv_key_hash(key, key_len), node_match, &k, &iter);
	n = node_of(cds_lfht_iter_get_node(&iter));
	urcu_qsbr_read_unlock();
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


int
tr_kvstore_foreach(struct tr_kvstore *kvs, tr_kvstore_pair_fn *fn, void *ctx)
{
	struct cds_lfht_iter iter;
	struct kv_node *n;
	int rc = 0;

	urcu_qsbr_read_lock();
	cds_lfht_for_each_entry(kvs->ht, &iter, n, lfht) {
		rc = fn(ctx, n->bytes, n->key_len, n->bytes + n->key_len, n->val_len);
		if (rc != 0)
			break;
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
}
