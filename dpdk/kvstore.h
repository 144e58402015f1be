/* SPDX-License-Identifier: MIT
 * Trireme runtime: the concurrent key/value store behind tr_sm (engine/kv.h).
 *
 * Built for one writer, the applier, which changes the store through
 * tr_kvstore_ops, driven by tr_sm_apply; any number of reader threads read
 * it at the same time (QSBR RCU). An open-addressing table of buckets {key
 * hash, node pointer}; the writer rebuilds it (grow, shrink, tombstone
 * clean-up) into a new table that it publishes, the old one freed after a
 * grace period.
 *
 * Each key/value pair is one immutable node (one malloc: lengths, key bytes,
 * value bytes). A set publishes a new node in place of the old one, a del
 * replaces it with a tombstone; the old node is handed to call_rcu (32 at a
 * time) and freed after a grace period (by the writer, at its next batch),
 * so a reader never sees freed memory. malloc is
 * jemalloc's when the program links jemalloc, libc's otherwise (sanitizer
 * builds).
 *
 * Threads (QSBR). The store never registers threads itself:
 * - every thread that calls the ops, tr_kvstore_read, tr_kvstore_lookup or
 *   tr_kvstore_digest_scan must be registered (urcu_qsbr_register_thread())
 *   and online;
 * - every registered thread reports a quiescent state regularly
 *   (urcu_qsbr_quiescent_state(), once per loop iteration) when it holds no
 *   pointer into the store, and goes offline (urcu_qsbr_thread_offline())
 *   around anything that blocks. A thread that stays online without
 *   reporting holds back every free: memory grows, nothing deadlocks.
 *
 * Link: pkg-config liburcu-qsbr (and jemalloc, except under sanitizers).
 */
#ifndef TR_KVSTORE_H
#define TR_KVSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "kv.h"

struct tr_kvstore; /* opaque */

/* Creates an empty store, or returns NULL (out of memory). buckets_hint:
 * initial buckets (rounded up to a power of two, at least 8; the table
 * grows and shrinks by itself, never below that). keys_max: set refuses a
 * new key when keys_max keys are stored (deterministic: the same sequence
 * is refused on every replica); overwrites and dels are always allowed.
 * Any thread, registered or not. */
struct tr_kvstore *tr_kvstore_new(uint32_t buckets_hint, uint64_t keys_max);

/* Frees the store and every node, after waiting for the pending frees
 * (urcu_qsbr_barrier()). Call once no other thread uses the store, from any
 * thread, registered or not (an online caller goes offline while it waits),
 * but not inside a read-side section nor from a call_rcu callback. NULL is a
 * no-op. */
void tr_kvstore_free(struct tr_kvstore *kvs);

/* Tests: overwrite every node freed from now on with a poison byte, so a
 * reader that looks at reclaimed memory sees garbage. Off by default (it
 * costs the free a cache miss per node). Before any write; any thread. */
void tr_kvstore_poison_nodes(struct tr_kvstore *kvs, bool on);

/* The writer: releases now the nodes handed back after their grace period
 * (a set or del that starts a batch does it too), so that a writer gone idle
 * holds no freed memory. Returns how many. Cheap when there are none. */
uint64_t tr_kvstore_reclaim(struct tr_kvstore *kvs);

/* The longest value: a large command's (issue 16, TRIREME_LARGE_MAX). */
#define TR_KVS_VAL_MAX (1u << 20)

/* The ops for tr_sm_init, store pointer = the struct tr_kvstore *. Only the
 * single writer thread calls them (registered, online). set returns -1 for a
 * new key beyond keys_max, a key longer than TR_KEY_BYTES_MAX or a value
 * longer than TR_KVS_VAL_MAX, and aborts the process when malloc fails:
 * a replica that cannot apply a write must stop, not diverge. Now and then
 * a set or del rebuilds the table: O(buckets), after a number of writes of
 * the same order since the last rebuild.
 * get needs no read-side section; the pointer stays valid at least until
 * the writer's next quiescent state or offline period (nodes are
 * immutable; a set/del of the key only schedules the old node's free). So
 * a tr_sm_result.val from a GET is valid until the applier reports its
 * next quiescent state. */
extern const struct tr_store_ops tr_kvstore_ops;

/* Local read from any registered, online thread: copies the value into buf
 * inside a read-side section. Returns 0 (found, *val_len set), -1 (absent)
 * or -2 (cap < value length; *val_len set, nothing copied). */
int tr_kvstore_read(struct tr_kvstore *kvs, const uint8_t *key, uint16_t key_len, uint8_t *buf,
		    uint32_t cap, uint32_t *val_len);

/* Zero-copy read: call between urcu_qsbr_read_lock() and
 * urcu_qsbr_read_unlock(); *val stays valid until the read_unlock (with QSBR,
 * in fact until the thread's next quiescent state; do not rely on it).
 * Returns 0 (found) or -1 (absent). */
int tr_kvstore_lookup(struct tr_kvstore *kvs, const uint8_t *key, uint16_t key_len,
		      const uint8_t **val, uint32_t *val_len);

/* Keys stored now; any thread (the writer's value, published atomically). */
uint64_t tr_kvstore_count(const struct tr_kvstore *kvs);

/* Recomputes tr_sm's digest from the table: the wrapping sum of
 * tr_kv_pair_hash over every pair. Registered, online thread; exact only
 * when the writer is not writing at the same time (e.g. the writer itself
 * between applies). */
uint64_t tr_kvstore_digest_scan(struct tr_kvstore *kvs);

/* Calls fn(ctx, key, key_len, val, val_len) for every pair, inside one
 * read-side section: a registered, online thread that reports no quiescent
 * state until it returns (the writer's frees wait for it). Concurrent with
 * the writer it is a fuzzy copy: a pair written meanwhile may be seen in
 * either state, twice, or not at all; a pair untouched meanwhile is seen
 * once (the walk keeps the table it started on when the writer rebuilds).
 * Stops when fn returns non-zero and returns that value, else 0. */
typedef int tr_kvstore_pair_fn(void *ctx, const uint8_t *key, uint16_t key_len,
			       const uint8_t *val, uint32_t val_len);
int tr_kvstore_foreach(struct tr_kvstore *kvs, tr_kvstore_pair_fn *fn, void *ctx);

/* Node accounting: retired (replaced or deleted by set/del and handed to
 * call_rcu; up to 31 more wait with the writer for a full batch), freed
 * (callbacks run: past their grace period, handed back to the writer) and
 * released (the writer freed their memory: when it next starts a batch or
 * at tr_kvstore_reclaim; tr_kvstore_free releases the rest uncounted).
 * retired - freed is the backlog waiting for a grace period, freed -
 * released the memory the writer still keeps. The table: its buckets, the tombstones in it (keys + tombstones
 * stay at most 3/4 of the buckets) and the rebuilds so far. Any thread. */
struct tr_kvstore_stats {
	uint64_t keys;
	uint64_t nodes_retired;
	uint64_t nodes_freed;
	uint64_t nodes_released;
	uint64_t buckets;
	uint64_t tombstones;
	uint64_t rebuilds;
};

void tr_kvstore_stats_get(const struct tr_kvstore *kvs, struct tr_kvstore_stats *st);

#endif
