/* SPDX-License-Identifier: MIT
 * Trireme state machine: the KV semantics and exactly-once writes (§8), and
 * the fixed-size table store.
 */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kv.h"
#include "le.h"
#include "mmp3.h"

/* ---------------------------------------------------------------------
 * Hashing
 */

/* A word at a time (MurmurHash3's 64-bit mixing of each 8-byte word, then
 * its finaliser): bytes read little-endian, so every host hashes alike. */
#define HASH_SEED UINT64_C(0xcbf29ce484222325)
#define HASH_K1 UINT64_C(0x87c37b91114253d5)
#define HASH_K2 UINT64_C(0x4cf5ad432745937f)

static inline uint64_t
rotl64(uint64_t x, unsigned r)
{
	return x << r | x >> (64 - r);
}

/* hash_word in two halves: the word's own mixing, then the chain's step,
 * so that one word mixed once can step two chains (kv_hashes). */
static inline uint64_t
word_mix(uint64_t w)
{
	w *= HASH_K1;
	w = rotl64(w, 31);
	return w * HASH_K2;
}

static inline uint64_t
chain_step(uint64_t h, uint64_t mixed)
{
	h ^= mixed;
	return rotl64(h, 27) * 5 + 0x52dce729;
}

static inline uint64_t
hash_word(uint64_t h, uint64_t w)
{
	return chain_step(h, word_mix(w));
}

static inline uint64_t
hash_bytes(uint64_t h, const uint8_t *p, size_t len)
{
	uint64_t tail = 0;

	for (; len >= 8; p += 8, len -= 8)
		h = hash_word(h, ld_u64(p));
	if (len == 0)
		return h;
	for (size_t i = 0; i < len; i++)
		tail |= (uint64_t)p[i] << (8 * i);
	return hash_word(h, tail);
}

/* MurmurHash3's 64-bit finaliser: every input bit affects every output bit. */
static uint64_t
fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h;
}

/* inline: kv_write and the table's look-ups use these in every write. */
inline uint64_t
tr_kv_pair_hash(const uint8_t *key, uint16_t key_len, const uint8_t *val, uint32_t val_len)
{
	/* Length-prefixed, so ("ab", "c") and ("a", "bc") differ. */
	uint64_t h = hash_word(HASH_SEED, (uint64_t)key_len | (uint64_t)val_len << 16);

	h = hash_bytes(h, key, key_len);
	return fmix64(hash_bytes(h, val, val_len));
}

inline uint64_t
tr_kv_key_hash(const uint8_t *key, uint16_t key_len)
{
	return fmix64(hash_bytes(hash_word(HASH_SEED, key_len), key, key_len));
}

/* tr_kv_pair_hash, and the key's tr_kv_key_hash in *key_hash, in one walk
 * over the key: each of its words mixed once for both chains. */
static inline uint64_t
kv_hashes(const uint8_t *key, uint16_t key_len, const uint8_t *val, uint32_t val_len,
	  uint64_t *key_hash)
{
	uint64_t hk = hash_word(HASH_SEED, key_len);
	uint64_t hp = hash_word(HASH_SEED, (uint64_t)key_len | (uint64_t)val_len << 16);
	const uint8_t *p = key;
	size_t len = key_len;

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t m = word_mix(ld_u64(p));

		hk = chain_step(hk, m);
		hp = chain_step(hp, m);
	}
	if (len > 0) {
		uint64_t tail = 0, m;

		for (size_t i = 0; i < len; i++)
			tail |= (uint64_t)p[i] << (8 * i);
		m = word_mix(tail);
		hk = chain_step(hk, m);
		hp = chain_step(hp, m);
	}
	*key_hash = fmix64(hk);
	return fmix64(hash_bytes(hp, val, val_len));
}

const char *
tr_status_str(int st)
{
	switch (st) {
	case TR_ST_OK:
		return "ok";
	case TR_ST_NOT_FOUND:
		return "not found";
	case TR_ST_DUPLICATE:
		return "duplicate";
	case TR_ST_TOO_OLD:
		return "too old";
	case TR_ST_FULL:
		return "full";
	case TR_ST_STAGED:
		return "staged";
	case TR_ST_INVALID:
		return "invalid";
	default:
		return "unknown status";
	}
}

/* ---------------------------------------------------------------------
 * The state machine
 */

static inline bool
is_pow2(uint32_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

static void
sm_init(struct tr_sm *sm, struct tr_client_rec *clients, uint32_t clients_max)
{
	assert(sm != NULL && clients != NULL);
	assert(is_pow2(clients_max));

	memset(clients, 0, (size_t)clients_max * sizeof(*clients));
	sm->clients = clients;
	sm->clients_max = clients_max;
	sm->clients_used = 0;
	sm->clients_evicted = 0;
	sm->clients_idle_at = 0;
	sm->digest = 0;
	sm->applied_cmds = 0;
	sm->variant = TR_MUTANT_VARIANT;
	sm->window = 0;
	sm->stages = NULL;
	sm->stages_max = 0;
	sm->stage_bytes = 0;
	sm->stages_used = 0;
	sm->stage_ttl_cmds = TR_SM_STAGE_TTL_CMDS;
	sm->client_ttl_cmds = TR_SM_CLIENT_TTL_CMDS;
	sm->stage_clock = 0;
}

void
tr_sm_init(struct tr_sm *sm, const struct tr_store_ops *ops, void *store,
	   struct tr_client_rec *clients, uint32_t clients_max)
{
	assert(ops != NULL);
	sm_init(sm, clients, clients_max);
	sm->machine = &tr_kv_machine;
	sm->machine_ctx = NULL;
	sm->ops = ops;
	sm->store = store;
}

void
tr_sm_init_machine(struct tr_sm *sm, const struct tr_machine *machine, void *ctx,
		   struct tr_client_rec *clients, uint32_t clients_max)
{
	assert(machine != NULL && machine->apply != NULL && machine->read != NULL);
	sm_init(sm, clients, clients_max);
	sm->machine = machine;
	sm->machine_ctx = ctx;
	sm->ops = NULL;
	sm->store = NULL;
}

/* A new client is refused past 3/4 of the table, so probe chains stay short. */
static uint32_t
clients_limit(const struct tr_sm *sm)
{
	return sm->clients_max - sm->clients_max / 4;
}

/* Returns the client's record, or NULL with *free_slot set to the first
 * unused record on its probe path (clients_max when there is none). */
static inline struct tr_client_rec *
client_find(struct tr_sm *sm, uint64_t client_id, uint32_t *free_slot)
{
	uint32_t mask = sm->clients_max - 1;
	uint32_t i = (uint32_t)fmix64(client_id) & mask;
	uint32_t n;

	*free_slot = sm->clients_max;
	for (n = 0; n < sm->clients_max; n++, i = (i + 1) & mask) {
		struct tr_client_rec *rec = &sm->clients[i];

		if (!rec->used) {
			*free_slot = i;
			return NULL;
		}
		if (rec->client_id == client_id)
			return rec;
	}
	return NULL;
}

static void client_stages_free(struct tr_sm *sm, uint64_t client_id);

/* Removes the record at i, moving the records after it on their probe
 * paths back (linear probing: no tombstones, so client_find stays right). */
static void
client_remove(struct tr_sm *sm, uint32_t i)
{
	uint32_t mask = sm->clients_max - 1;

	for (uint32_t j = (i + 1) & mask; sm->clients[j].used; j = (j + 1) & mask) {
		uint32_t home = (uint32_t)fmix64(sm->clients[j].client_id) & mask;

		/* j's record may fill the hole at i unless its home lies in
		 * (i, j], cyclically. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			sm->clients[i] = sm->clients[j];
			i = j;
		}
	}
	sm->clients[i] = (struct tr_client_rec){0};
	sm->clients_used--;
}

/* A table at its limit: the record of the client idle longest goes, if it
 * wrote nothing for client_ttl_cmds writes (ties by client id: the same
 * choice on every replica, wherever the records sit), with its open
 * stages. False when every client wrote more recently. */
static bool
client_evict(struct tr_sm *sm)
{
	uint32_t pick = sm->clients_max;
	uint64_t oldest = UINT64_MAX;

	/* A scan that found nobody idle bounds when somebody can be: the
	 * records' lasts only grow, so FULL writes meanwhile skip the scan. */
	if (sm->stage_clock < sm->clients_idle_at)
		return false;
	for (uint32_t i = 0; i < sm->clients_max; i++) {
		const struct tr_client_rec *rec = &sm->clients[i];

		if (!rec->used)
			continue;
		if (rec->last < oldest)
			oldest = rec->last;
		if (sm->stage_clock - rec->last < sm->client_ttl_cmds)
			continue;
		if (pick == sm->clients_max || rec->last < sm->clients[pick].last ||
		    (rec->last == sm->clients[pick].last &&
		     rec->client_id < sm->clients[pick].client_id))
			pick = i;
	}
	if (pick == sm->clients_max) {
		sm->clients_idle_at = oldest > UINT64_MAX - sm->client_ttl_cmds
					      ? UINT64_MAX : oldest + sm->client_ttl_cmds;
		return false;
	}
	client_stages_free(sm, sm->clients[pick].client_id);
	client_remove(sm, pick);
	sm->clients_evicted++;
	return true;
}

enum dedup {
	DEDUP_APPLY_NEW,  /* s > hi */
	DEDUP_APPLY_OLD,  /* s < hi, inside the window, not applied yet */
	DEDUP_DUPLICATE,
	DEDUP_TOO_OLD,
};

/* §8: "the state machine keeps, per client, the highest sequence applied and
 * which of the W sequences below it were applied. [...] the decision depends
 * only on the applied sequence and on what the command itself carries". */
static enum dedup
dedup_decide(uint64_t hi, uint64_t below, uint64_t seq, uint8_t window)
{
	uint64_t w = window > TR_WINDOW_MAX ? TR_WINDOW_MAX : window;
	uint64_t d;

	if (seq > hi)
		return DEDUP_APPLY_NEW;
	if (seq == hi)
		return DEDUP_DUPLICATE;
	d = hi - seq;
	/* §8: "a write older than the window is not applied and is answered
	 * 'too old, outcome unknown'". Checked before the bitmap, so the
	 * answer depends on hi and W only. W == 0 (malformed) makes every
	 * write below hi too old; W > TR_WINDOW_MAX counts as TR_WINDOW_MAX. */
	if (d >= w)
		return DEDUP_TOO_OLD;
	/* d <= 63 here; bit d - 1 means seq hi - d was applied. */
	if ((below >> (d - 1)) & 1)
		return DEDUP_DUPLICATE;
	return DEDUP_APPLY_OLD;
}

/* Records seq as applied (after the store accepted the write). */
static void
dedup_record(struct tr_client_rec *rec, uint64_t seq)
{
	uint64_t d;

	if (seq > rec->hi) {
		d = seq - rec->hi;
		/* Shifting a uint64_t by >= 64 is undefined: those bits are dropped. */
		rec->below = d >= 64 ? 0 : rec->below << d;
		/* The old hi becomes applied-below, unless it was "none". */
		if (rec->hi != 0 && d <= 64)
			rec->below |= UINT64_C(1) << (d - 1);
		rec->hi = seq;
	} else {
		d = rec->hi - seq;
		assert(d >= 1 && d <= 64);
		rec->below |= UINT64_C(1) << (d - 1);
	}
}

/* The KV machine. */
static void
kv_read(struct tr_sm *sm, const struct tr_cmd *cmd, struct tr_sm_result *res)
{
	const uint8_t *val;
	uint32_t val_len;

	if (cmd->op != TR_OP_GET) {
		res->status = TR_ST_NOT_FOUND; /* a query: not the KV's */
		return;
	}
	if (sm->ops->get(sm->store, cmd->key, cmd->key_len, &val, &val_len) == 0) {
		res->status = TR_ST_OK;
		res->val = val;
		res->val_len = val_len;
	} else {
		res->status = TR_ST_NOT_FOUND;
	}
}

/* Performs a write on the store and keeps the digest. Returns the status;
 * TR_ST_FULL means nothing changed. */
static inline uint8_t
kv_write(struct tr_sm *sm, const struct tr_cmd *cmd, const uint64_t *key_hash)
{
	uint64_t old = 0;

	if (cmd->op == TR_OP_SET) {
		uint64_t kh, pair;

		/* The key hashed once: with the pair, or before (a prefetch). */
		if (key_hash != NULL) {
			kh = *key_hash;
			pair = tr_kv_pair_hash(cmd->key, cmd->key_len, cmd->val, cmd->val_len);
		} else {
			pair = kv_hashes(cmd->key, cmd->key_len, cmd->val, cmd->val_len, &kh);
		}
		if (sm->ops->set(sm->store, cmd->key, cmd->key_len, kh, cmd->val, cmd->val_len,
				 pair, &old) != 0)
			return TR_ST_FULL;
		sm->digest -= old;
		sm->digest += pair;
		return TR_ST_OK;
	}
	if (cmd->op != TR_OP_DEL)
		return TR_ST_FULL; /* a command for another machine: refused */

	/* Del of an absent key is still success: applied, answered NOT_FOUND. */
	if (sm->ops->del(sm->store, cmd->key, cmd->key_len, &old) != 0)
		return TR_ST_NOT_FOUND;
	sm->digest -= old;
	return TR_ST_OK;
}

/* How many commands ahead a batch asks the store for the two stages of
 * its prefetch: the bucket, then the pair it holds. */
#define KV_PREFETCH_BUCKET 8
#define KV_PREFETCH_PAIR 4

static void
kv_prefetch(const struct tr_sm *sm, const uint64_t *hash, unsigned n, unsigned i, unsigned stage)
{
	if (i < n)
		sm->ops->prefetch(sm->store, hash[i], stage);
}

/* The keys of cmds[idx[0..n)] (idx NULL: cmds[0..n)) hashed into hash[],
 * and the first ones asked for; kv_prefetch_ahead(i) then asks, before
 * command i, for those a few commands further. */
static inline void
kv_prefetch_start(const struct tr_sm *sm, const struct tr_cmd *cmds, const unsigned *idx,
		  unsigned n, uint64_t *hash)
{
	for (unsigned i = 0; i < n; i++) {
		const struct tr_cmd *c = &cmds[idx != NULL ? idx[i] : i];

		hash[i] = tr_kv_key_hash(c->key, c->key_len);
	}
	for (unsigned i = 0; i < KV_PREFETCH_BUCKET; i++)
		kv_prefetch(sm, hash, n, i, 0);
	for (unsigned i = 0; i < KV_PREFETCH_PAIR; i++)
		kv_prefetch(sm, hash, n, i, 1);
}

static inline void
kv_prefetch_ahead(const struct tr_sm *sm, const uint64_t *hash, unsigned n, unsigned i)
{
	kv_prefetch(sm, hash, n, i + KV_PREFETCH_BUCKET, 0);
	kv_prefetch(sm, hash, n, i + KV_PREFETCH_PAIR, 1);
}

/* The KV's apply for cmds[idx[0..n)] (tr_machine.apply: idx the identity). */
static void
kv_apply(struct tr_sm *sm, const struct tr_cmd *cmds, struct tr_sm_result *res,
	 const unsigned *idx, unsigned n)
{
	if (sm->ops->prefetch == NULL || n == 1) {
		for (unsigned i = 0; i < n; i++)
			res[idx[i]].status = kv_write(sm, &cmds[idx[i]], NULL);
		return;
	}
	uint64_t hash[TR_SM_BATCH_MAX]; /* each key hashed once for both stages */

	kv_prefetch_start(sm, cmds, idx, n, hash);
	for (unsigned i = 0; i < n; i++) {
		kv_prefetch_ahead(sm, hash, n, i);
		res[idx[i]].status = kv_write(sm, &cmds[idx[i]], &hash[i]);
	}
}

static void
kv_machine_apply(struct tr_sm *sm, const struct tr_cmd *cmds, unsigned n,
		 struct tr_sm_result *res)
{
	unsigned idx[TR_SM_BATCH_MAX];

	assert(n <= TR_SM_BATCH_MAX);
	for (unsigned i = 0; i < n; i++)
		idx[i] = i;
	kv_apply(sm, cmds, res, idx, n);
}

/* Q3: a batch of reads, prefetched like the writes (a read-heavy load
 * spends most of its lookups in cache misses). */
static void
kv_read_batch(struct tr_sm *sm, const struct tr_cmd *cmds, unsigned n, struct tr_sm_result *res)
{
	uint64_t hash[TR_SM_BATCH_MAX];

	kv_prefetch_start(sm, cmds, NULL, n, hash);
	for (unsigned i = 0; i < n; i++) {
		kv_prefetch_ahead(sm, hash, n, i);
		kv_read(sm, &cmds[i], &res[i]);
	}
}

const struct tr_machine tr_kv_machine = {
	.apply = kv_machine_apply,
	.read = kv_read,
	.digest = NULL,
};

/* §8 for one write: true when the machine must apply it (recorded now, so a
 * later write of the batch is decided after it; a write the machine then
 * refuses stays recorded), else res->status says why not. */
static bool
sm_decide(struct tr_sm *sm, const struct tr_cmd *cmd, struct tr_sm_result *res,
	  struct tr_client_rec **last)
{
	struct tr_client_rec *rec;
	uint32_t free_slot = 0; /* set by client_find when rec is NULL */
	uint64_t hi = 0, below = 0;
	uint8_t w = cmd->window;
	enum dedup dec;
	bool again;

	/* Sequences start at 1, so a write with seq 0 (or an unknown op, which
	 * the decoder should have refused) is malformed: it is not applied
	 * and answered TOO_OLD ("not applied"), and nothing is recorded.
	 * Harmless, and the same on every replica. */
	if (cmd->op < TR_OP_SET || cmd->op > TR_OP_PART || cmd->seq == 0) {
		res->status = TR_ST_TOO_OLD;
		return false;
	}

	/* Exactly-once is decided before the machine is touched. *last: the
	 * record of the batch's previous write (often the same client's). */
	if (*last != NULL && (*last)->client_id == cmd->client_id)
		rec = *last;
	else
		rec = client_find(sm, cmd->client_id, &free_slot);
	if (rec != NULL) {
		hi = rec->hi;
		below = rec->below;
		rec->last = sm->stage_clock;
	} else if (sm->clients_used >= clients_limit(sm) &&
		   !((sm->variant & TR_VARIANT_CLIENTS_KEPT) == 0 && client_evict(sm) &&
		     client_find(sm, cmd->client_id, &free_slot) == NULL)) {
		res->status = TR_ST_FULL;
		return false;
	}

	if (sm->variant & TR_VARIANT_W_PER_REPLICA)
		w = sm->window; /* known-bad (§8): W as a replica setting */
	dec = dedup_decide(hi, below, cmd->seq, w);
	again = dec == DEDUP_DUPLICATE && (sm->variant & TR_VARIANT_NO_DEDUP);
	switch (again ? DEDUP_APPLY_OLD : dec) { /* known-bad (§8): applied again */
	case DEDUP_DUPLICATE:
		res->status = TR_ST_DUPLICATE;
		return false;
	case DEDUP_TOO_OLD:
		res->status = TR_ST_TOO_OLD;
		return false;
	case DEDUP_APPLY_NEW:
	case DEDUP_APPLY_OLD:
		break;
	}

	if (rec == NULL) {
		rec = &sm->clients[free_slot];
		rec->used = 1;
		rec->client_id = cmd->client_id;
		rec->hi = 0;
		rec->below = 0;
		rec->last = sm->stage_clock;
		sm->clients_used++;
	}
	if (!again)
		dedup_record(rec, cmd->seq);
	*last = rec;
	return true;
}

/* ---------------------------------------------------------------------
 * Large commands: the stages (issue 16). A slot is its header, the bitmap
 * of the bytes received (a bit per byte) and the bytes, in caller memory.
 */

struct stage {
	uint64_t client_id;
	uint64_t stage;  /* the seq of the command's first part */
	uint64_t last;   /* stage_clock at its latest part */
	uint32_t total;  /* the whole's bytes */
	uint32_t have;   /* bytes received */
	uint8_t used;
};

#define STAGE_REC_BYTES 32 /* client_id stage last total have, encoded */

static size_t
round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static size_t
stage_words(uint32_t bytes)
{
	return ((size_t)bytes + 63) / 64;
}

static size_t
stage_slot_bytes(uint32_t stage_bytes)
{
	return round8(sizeof(struct stage)) + stage_words(stage_bytes) * 8 + round8(stage_bytes);
}

size_t
tr_sm_stages_mem_bytes(uint32_t stages_max, uint32_t stage_bytes)
{
	return (size_t)stages_max * stage_slot_bytes(stage_bytes);
}

static struct stage *stage_at(const struct tr_sm *sm, uint32_t i);

/* Headers only: stage_open clears a slot's bitmap and bytes, and nothing
 * reads those of a slot not in use (so 9 MiB of slots stay untouched until
 * a large command comes). */
static void
stages_clear(struct tr_sm *sm)
{
	for (uint32_t i = 0; sm->stages != NULL && i < sm->stages_max; i++)
		memset(stage_at(sm, i), 0, sizeof(struct stage));
	sm->stages_used = 0;
}

void
tr_sm_stages_init(struct tr_sm *sm, void *mem, uint32_t stages_max, uint32_t stage_bytes)
{
	assert(sm != NULL && (mem != NULL || stages_max == 0));
	assert(((uintptr_t)mem & 7) == 0);
	sm->stages = mem;
	sm->stages_max = stages_max;
	sm->stage_bytes = stages_max == 0 ? 0 : stage_bytes;
	stages_clear(sm);
}

static struct stage *
stage_at(const struct tr_sm *sm, uint32_t i)
{
	return (struct stage *)(void *)(sm->stages + (size_t)i * stage_slot_bytes(sm->stage_bytes));
}

static uint64_t *
stage_bits(struct stage *st)
{
	return (uint64_t *)(void *)((uint8_t *)st + round8(sizeof(*st)));
}

static uint8_t *
stage_data(const struct tr_sm *sm, struct stage *st)
{
	return (uint8_t *)(stage_bits(st) + stage_words(sm->stage_bytes));
}

/* Bits [b, b + k) of a word, 0 < k <= 64 - b. */
static uint64_t
word_mask(unsigned b, unsigned k)
{
	return (k == 64 ? ~UINT64_C(0) : (UINT64_C(1) << k) - 1) << b;
}

/* Any of bits [off, off + n) set; set them too when set. */
static bool
bits_range(uint64_t *bm, uint32_t off, uint32_t n, bool set)
{
	bool any = false;

	while (n > 0) {
		unsigned b = off % 64, k = n < 64 - b ? n : 64 - b;
		uint64_t m = word_mask(b, k);

		any |= (bm[off / 64] & m) != 0;
		if (set)
			bm[off / 64] |= m;
		off += k;
		n -= k;
	}
	return any;
}

static struct stage *
stage_find(const struct tr_sm *sm, uint64_t client_id, uint64_t stage)
{
	for (uint32_t i = 0; i < sm->stages_max; i++) {
		struct stage *st = stage_at(sm, i);

		if (st->used && st->client_id == client_id && st->stage == stage)
			return st;
	}
	return NULL;
}

static void
stage_free(struct tr_sm *sm, struct stage *st)
{
	st->used = 0;
	sm->stages_used--;
}

static void
client_stages_free(struct tr_sm *sm, uint64_t client_id)
{
	for (uint32_t i = 0; i < sm->stages_max; i++)
		if (stage_at(sm, i)->used && stage_at(sm, i)->client_id == client_id)
			stage_free(sm, stage_at(sm, i));
}

/* (a, b) before (c, d), lexicographically. */
static bool
pair_before(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	return a != c ? a < c : b < d;
}

/* A slot for a new stage: a free one, else the least recently used stage
 * idle for stage_ttl_cmds writes (ties by client and stage: chosen by the
 * state alone, never by where it sits), else NULL. */
static struct stage *
stage_open(struct tr_sm *sm, uint64_t client_id, uint64_t stage, uint32_t total)
{
	struct stage *pick = NULL;
	bool free_slot = false;

	for (uint32_t i = 0; i < sm->stages_max && !free_slot; i++)
		if (!stage_at(sm, i)->used)
			pick = stage_at(sm, i), free_slot = true;
	for (uint32_t i = 0; i < sm->stages_max && !free_slot; i++) {
		struct stage *st = stage_at(sm, i);

		if (sm->stage_clock - st->last < sm->stage_ttl_cmds)
			continue;
		if (pick == NULL || st->last < pick->last ||
		    (st->last == pick->last &&
		     pair_before(st->client_id, st->stage, pick->client_id, pick->stage)))
			pick = st;
	}
	if (pick == NULL)
		return NULL;
	if (pick->used)
		stage_free(sm, pick); /* reclaimed */
	*pick = (struct stage){.client_id = client_id, .stage = stage, .total = total, .used = 1};
	memset(stage_bits(pick), 0, stage_words(total) * 8);
	memset(stage_data(sm, pick), 0, total); /* the digest and snapshots read it whole */
	sm->stages_used++;
	return pick;
}

/* A part whose seq was decided fresh: its bytes staged. TR_ST_OK when it
 * completed a well-formed whole: *whole is the command, its bytes in *done,
 * which the caller frees once the machine has applied it. */
static uint8_t
part_stage(struct tr_sm *sm, const struct tr_cmd *cmd, struct tr_cmd *whole, struct stage **done)
{
	const uint8_t *v = cmd->val;
	struct stage *st;
	uint64_t stage;
	uint32_t total, off, n;
	uint16_t key_len;
	uint8_t *data;

	if (cmd->key_len != 0 || cmd->val_len < TR_PART_HDR_BYTES || v == NULL)
		return TR_ST_INVALID;
	stage = ld_u64(v);
	total = ld_u32(v + 8);
	off = ld_u32(v + 12);
	n = cmd->val_len - TR_PART_HDR_BYTES;
	if (stage == 0 || stage > cmd->seq || total < TR_LARGE_HDR_BYTES ||
	    total > TR_LARGE_BYTES_MAX || n == 0 || off > total || n > total - off)
		return TR_ST_INVALID;
	st = stage_find(sm, cmd->client_id, stage);
	if (st == NULL) {
		if (total > sm->stage_bytes)
			return TR_ST_FULL;
		st = stage_open(sm, cmd->client_id, stage, total);
		if (st == NULL)
			return TR_ST_FULL;
	} else if (st->total != total || bits_range(stage_bits(st), off, n, false)) {
		return TR_ST_INVALID; /* disagrees with its stage, or overlaps */
	}
	data = stage_data(sm, st);
	memcpy(data + off, v + TR_PART_HDR_BYTES, n);
	bits_range(stage_bits(st), off, n, true);
	st->have += n;
	st->last = sm->stage_clock;
	if (st->have < st->total)
		return TR_ST_STAGED;
	key_len = ld_u16(data + 1);
	if ((data[0] != TR_OP_SET && data[0] != TR_OP_CMD) || key_len > TR_KEY_BYTES_MAX ||
	    (size_t)TR_LARGE_HDR_BYTES + key_len > total) {
		stage_free(sm, st); /* complete and malformed: refused, dropped */
		return TR_ST_INVALID;
	}
	*whole = (struct tr_cmd){
		.op = data[0],
		.window = cmd->window,
		.client_id = cmd->client_id,
		.seq = cmd->seq,
		.key = data + TR_LARGE_HDR_BYTES,
		.key_len = key_len,
		.val = data + TR_LARGE_HDR_BYTES + key_len,
		.val_len = total - TR_LARGE_HDR_BYTES - key_len,
	};
	*done = st;
	return TR_ST_OK;
}

size_t
tr_large_bytes(uint16_t key_len, uint32_t val_len)
{
	return TR_LARGE_HDR_BYTES + (size_t)key_len + val_len;
}

/* dst holds the whole's bytes [offset, offset + len); src is its bytes
 * [at, at + n): the overlap copied. */
static void
seg_copy(uint8_t *dst, size_t offset, size_t len, const uint8_t *src, size_t at, size_t n)
{
	size_t lo = at > offset ? at : offset;
	size_t hi = at + n < offset + len ? at + n : offset + len;

	if (lo < hi)
		memcpy(dst + (lo - offset), src + (lo - at), hi - lo);
}

size_t
tr_part_fill(uint8_t *out, uint64_t stage, uint8_t op, const uint8_t *key, uint16_t key_len,
	     const uint8_t *val, uint32_t val_len, uint32_t offset, uint32_t len)
{
	size_t total = tr_large_bytes(key_len, val_len);
	uint8_t hdr[TR_LARGE_HDR_BYTES] = {op, (uint8_t)key_len, (uint8_t)(key_len >> 8)};
	uint8_t *p = out + TR_PART_HDR_BYTES;

	assert(total <= UINT32_MAX && offset <= total && len <= total - offset);
	put_le64(out, stage);
	put_le32(out + 8, (uint32_t)total);
	put_le32(out + 12, offset);
	seg_copy(p, offset, len, hdr, 0, TR_LARGE_HDR_BYTES);
	seg_copy(p, offset, len, key, TR_LARGE_HDR_BYTES, key_len);
	seg_copy(p, offset, len, val, TR_LARGE_HDR_BYTES + (size_t)key_len, val_len);
	return TR_PART_HDR_BYTES + (size_t)len;
}

static uint64_t
stage_hash(const struct tr_sm *sm, struct stage *st)
{
	const uint64_t *bits = stage_bits(st);
	uint64_t h = hash_word(HASH_SEED, st->client_id);

	h = hash_word(h, st->stage);
	h = hash_word(h, st->last);
	h = hash_word(h, (uint64_t)st->total | (uint64_t)st->have << 32);
	for (size_t w = 0; w < stage_words(st->total); w++)
		h = hash_word(h, bits[w]);
	return fmix64(hash_bytes(h, stage_data(sm, st), st->total));
}

uint64_t
tr_sm_clients_digest(const struct tr_sm *sm)
{
	uint64_t d = sm->stage_clock;

	for (uint32_t i = 0; i < sm->clients_max; i++) {
		const struct tr_client_rec *rec = &sm->clients[i];

		if (rec->used)
			d += fmix64(hash_word(hash_word(hash_word(hash_word(HASH_SEED,
				rec->client_id), rec->hi), rec->below), rec->last));
	}
	return d;
}

uint64_t
tr_sm_digest(const struct tr_sm *sm)
{
	uint64_t d = sm->digest;

	for (uint32_t i = 0; i < sm->stages_max; i++)
		if (stage_at(sm, i)->used)
			d += stage_hash(sm, stage_at(sm, i));
	return d;
}

/* sm_flush for writes that are not contiguous: through a copy. */
static void
sm_apply_copy(struct tr_sm *sm, const struct tr_cmd *cmds, struct tr_sm_result *res,
	      const unsigned *idx, unsigned n)
{
	struct tr_cmd fresh[TR_SM_BATCH_MAX] = {0};
	struct tr_sm_result out[TR_SM_BATCH_MAX] = {0};

	for (unsigned i = 0; i < n; i++)
		fresh[i] = cmds[idx[i]];
	sm->machine->apply(sm, fresh, n, out);
	for (unsigned i = 0; i < n; i++)
		res[idx[i]] = out[i];
}

/* The machine applies the fresh writes gathered (their indexes in idx), in
 * one call (a result's val lasts until the next): in place when they are
 * contiguous (the usual case: no duplicate among them), else through a
 * copy; the KV, the built-in machine, by a direct call. Inline: once per
 * batch. */
static inline void
sm_flush(struct tr_sm *sm, const struct tr_cmd *cmds, struct tr_sm_result *res,
	 const unsigned *idx, unsigned n)
{
	if (n == 0)
		return;
	if (sm->machine == &tr_kv_machine)
		kv_apply(sm, cmds, res, idx, n);
	else if (idx[n - 1] - idx[0] == n - 1)
		sm->machine->apply(sm, cmds + idx[0], n, res + idx[0]);
	else
		sm_apply_copy(sm, cmds, res, idx, n);
	for (unsigned i = 0; i < n; i++)
		sm->applied_cmds += res[idx[i]].status != TR_ST_FULL;
	if (sm->machine->digest != NULL)
		sm->digest = sm->machine->digest(sm);
}

void
tr_sm_apply_batch(struct tr_sm *sm, const struct tr_cmd *cmds, unsigned n,
		  struct tr_sm_result *res)
{
	unsigned idx[TR_SM_BATCH_MAX];
	unsigned nfresh = 0;
	struct tr_client_rec *last = NULL;

	assert(sm != NULL && cmds != NULL && res != NULL && n <= TR_SM_BATCH_MAX);
	for (unsigned i = 0; i < n; i++) {
		const struct tr_cmd *cmd = &cmds[i];

		res[i] = (struct tr_sm_result){.status = TR_ST_OK};
		/* §8: "reads change nothing and carry no sequence": no dedup;
		 * a read sees the writes before it. */
		if (tr_op_is_read(cmd->op)) {
			sm_flush(sm, cmds, res, idx, nfresh);
			nfresh = 0;
			sm->machine->read(sm, cmd, &res[i]);
			sm->applied_cmds++;
			continue;
		}
		sm->stage_clock++;
		/* §8: a part's seq is decided like any write's, before its
		 * bytes are staged: a duplicate part stages nothing. */
		if (!sm_decide(sm, cmd, &res[i], &last))
			continue;
		if (cmd->op != TR_OP_PART) {
			idx[nfresh++] = i;
			continue;
		}
		struct tr_cmd whole;
		struct stage *done = NULL;
		uint8_t st = part_stage(sm, cmd, &whole, &done);

		if (st != TR_ST_OK) {
			res[i].status = st;
			sm->applied_cmds += st != TR_ST_FULL;
			continue;
		}
		/* The whole applies here, after the writes before it (§7). */
		sm_flush(sm, cmds, res, idx, nfresh);
		nfresh = 0;
		sm_flush(sm, &whole, &res[i], (const unsigned[]){0}, 1);
		stage_free(sm, done);
	}
	sm_flush(sm, cmds, res, idx, nfresh);
}

void
tr_sm_apply(struct tr_sm *sm, const struct tr_cmd *cmd, struct tr_sm_result *res)
{
	tr_sm_apply_batch(sm, cmd, 1, res);
}

void
tr_sm_read_batch(struct tr_sm *sm, const struct tr_cmd *cmds, unsigned n,
		 struct tr_sm_result *res)
{
	assert(sm != NULL && cmds != NULL && res != NULL && n <= TR_SM_BATCH_MAX);
	for (unsigned i = 0; i < n; i++)
		res[i] = (struct tr_sm_result){.status = TR_ST_OK};
	if (sm->machine == &tr_kv_machine && sm->ops->prefetch != NULL && n > 1)
		kv_read_batch(sm, cmds, n, res);
	else
		for (unsigned i = 0; i < n; i++)
			sm->machine->read(sm, &cmds[i], &res[i]);
	sm->applied_cmds += n;
}


static size_t
stage_enc_bytes(uint32_t total)
{
	return STAGE_REC_BYTES + ((size_t)total + 7) / 8 + total;
}

size_t
tr_sm_clients_bytes(const struct tr_sm *sm)
{
	size_t n = 4 + (size_t)sm->clients_used * TR_SM_CLIENT_REC_BYTES + 12;

	for (uint32_t i = 0; i < sm->stages_max; i++)
		if (stage_at(sm, i)->used)
			n += stage_enc_bytes(stage_at(sm, i)->total);
	return n;
}

size_t
tr_sm_clients_encode(const struct tr_sm *sm, uint8_t *buf, size_t cap)
{
	size_t off = 4;

	if (cap < tr_sm_clients_bytes(sm))
		return 0;
	put_le32(buf, sm->clients_used);
	for (uint32_t i = 0; i < sm->clients_max; i++) {
		const struct tr_client_rec *rec = &sm->clients[i];

		if (!rec->used)
			continue;
		put_le64(buf + off, rec->client_id);
		put_le64(buf + off + 8, rec->hi);
		put_le64(buf + off + 16, rec->below);
		put_le64(buf + off + 24, rec->last);
		off += TR_SM_CLIENT_REC_BYTES;
	}
	put_le64(buf + off, sm->stage_clock);
	put_le32(buf + off + 8, sm->stages_used);
	off += 12;
	for (uint32_t i = 0; i < sm->stages_max; i++) {
		struct stage *st = stage_at(sm, i);
		const uint64_t *bits = stage_bits(st);

		if (!st->used)
			continue;
		put_le64(buf + off, st->client_id);
		put_le64(buf + off + 8, st->stage);
		put_le64(buf + off + 16, st->last);
		put_le32(buf + off + 24, st->total);
		put_le32(buf + off + 28, st->have);
		off += STAGE_REC_BYTES;
		for (uint32_t j = 0; j < (st->total + 7) / 8; j++)
			buf[off++] = (uint8_t)(bits[j / 8] >> (8 * (j % 8)));
		memcpy(buf + off, stage_data(sm, st), st->total);
		off += st->total;
	}
	return off;
}

/* One stage from a snapshot at p (left bytes); its encoded bytes, or 0. */
static size_t
stage_decode(struct tr_sm *sm, const uint8_t *p, size_t left)
{
	uint64_t client_id, stage, last;
	uint32_t total, have, count = 0;
	struct stage *st;
	uint32_t free_slot;
	const uint8_t *bm, *data;

	if (left < STAGE_REC_BYTES)
		return 0;
	client_id = ld_u64(p);
	stage = ld_u64(p + 8);
	last = ld_u64(p + 16);
	total = ld_u32(p + 24);
	have = ld_u32(p + 28);
	if (total < TR_LARGE_HDR_BYTES || total > sm->stage_bytes || total > TR_LARGE_BYTES_MAX ||
	    have == 0 || have >= total || stage == 0 || last > sm->stage_clock ||
	    left < stage_enc_bytes(total) || client_find(sm, client_id, &free_slot) == NULL ||
	    stage_find(sm, client_id, stage) != NULL || sm->stages_used == sm->stages_max)
		return 0;
	bm = p + STAGE_REC_BYTES;
	data = bm + (total + 7) / 8;
	/* Bits only below total, as many as have; zero bytes where none came. */
	for (uint32_t j = 0; j < total; j++) {
		bool got = (bm[j / 8] >> (j % 8)) & 1;

		count += got;
		if (!got && data[j] != 0)
			return 0;
	}
	if (count != have || (total % 8 != 0 && bm[total / 8] >> (total % 8) != 0))
		return 0;
	st = stage_open(sm, client_id, stage, total);
	assert(st != NULL); /* a free slot: stages_used < stages_max */
	st->last = last;
	st->have = have;
	for (uint32_t j = 0; j < (total + 7) / 8; j++)
		stage_bits(st)[j / 8] |= (uint64_t)bm[j] << (8 * (j % 8));
	memcpy(stage_data(sm, st), data, total);
	return stage_enc_bytes(total);
}

int
tr_sm_clients_decode(struct tr_sm *sm, const uint8_t *buf, size_t len)
{
	size_t off;
	uint32_t n, stages;

	memset(sm->clients, 0, (size_t)sm->clients_max * sizeof(*sm->clients));
	sm->clients_used = 0;
	sm->clients_idle_at = 0;
	stages_clear(sm);
	sm->stage_clock = 0;
	if (len < 4)
		return -1;
	n = ld_u32(buf);
	off = 4 + (size_t)n * TR_SM_CLIENT_REC_BYTES;
	if (n > clients_limit(sm) || len < off + 12)
		return -1;
	sm->stage_clock = ld_u64(buf + off);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p = buf + 4 + (size_t)i * TR_SM_CLIENT_REC_BYTES;
		uint32_t free_slot;

		if (client_find(sm, ld_u64(p), &free_slot) != NULL ||
		    free_slot == sm->clients_max || ld_u64(p + 24) > sm->stage_clock)
			goto bad;
		sm->clients[free_slot] = (struct tr_client_rec){
			.client_id = ld_u64(p), .hi = ld_u64(p + 8), .below = ld_u64(p + 16),
			.last = ld_u64(p + 24), .used = 1};
		sm->clients_used++;
	}
	stages = ld_u32(buf + off + 8);
	off += 12;
	if (stages > sm->stages_max)
		goto bad;
	for (uint32_t i = 0; i < stages; i++) {
		size_t k = stage_decode(sm, buf + off, len - off);

		if (k == 0)
			goto bad;
		off += k;
	}
	if (off == len)
		return 0;
bad:
	memset(sm->clients, 0, (size_t)sm->clients_max * sizeof(*sm->clients));
	sm->clients_used = 0;
	stages_clear(sm);
	sm->stage_clock = 0;
	return -1;
}

/* ---------------------------------------------------------------------
 * tr_table: open addressing, linear probing, fixed-size cells.
 *
 * Cell layout (cell_bytes, a multiple of 8):
 *   0: uint32_t val_len, 4: uint16_t key_len, 6: uint8_t state, 7: pad,
 *   8: key bytes (key_max), 8 + key_max: value bytes (val_max).
 * Header fields are accessed with memcpy: the caller's memory need not be
 * aligned.
 *
 * t->used counts the non-empty cells (live and tombstones). A new key that
 * needs an empty cell is refused past 3/4 of cells_max, after purging the
 * tombstones if there are any; overwrites are always allowed. A purge
 * rehashes in place and moves values, so a pointer from get is valid until
 * the next set or del of any key.
 */

enum cell_state {
	CELL_EMPTY = 0,
	CELL_USED = 1,
	CELL_TOMB = 2,
	CELL_MOVING = 3, /* during a purge only: live, not yet placed */
};

#define CELL_HDR_BYTES 16
#define CELL_OFF_VAL_LEN 0
#define CELL_OFF_KEY_LEN 4
#define CELL_OFF_STATE 6
#define CELL_OFF_PAIR 8 /* the pair's tr_kv_pair_hash, given by set */

static uint32_t
cell_bytes_for(uint16_t key_max, uint32_t val_max)
{
	uint64_t b = (uint64_t)CELL_HDR_BYTES + key_max + val_max;

	b = (b + 7) & ~(uint64_t)7;
	assert(b <= UINT32_MAX);
	return (uint32_t)b;
}

static uint8_t *
cell_at(const struct tr_table *t, uint32_t i)
{
	return t->cells + (size_t)i * t->cell_bytes;
}

static uint8_t
cell_state(const struct tr_table *t, uint32_t i)
{
	return cell_at(t, i)[CELL_OFF_STATE];
}

static void
cell_set_state(struct tr_table *t, uint32_t i, uint8_t st)
{
	cell_at(t, i)[CELL_OFF_STATE] = st;
}

static uint16_t
cell_key_len(const uint8_t *c)
{
	uint16_t v;

	memcpy(&v, c + CELL_OFF_KEY_LEN, sizeof(v));
	return v;
}

static uint32_t
cell_val_len(const uint8_t *c)
{
	uint32_t v;

	memcpy(&v, c + CELL_OFF_VAL_LEN, sizeof(v));
	return v;
}

static uint8_t *
cell_key(uint8_t *c)
{
	return c + CELL_HDR_BYTES;
}

static uint8_t *
cell_val(const struct tr_table *t, uint8_t *c)
{
	return c + CELL_HDR_BYTES + t->key_max;
}

static uint32_t
table_limit(const struct tr_table *t)
{
	return t->cells_max - t->cells_max / 4;
}

static uint32_t
table_home(const struct tr_table *t, const uint8_t *key, uint16_t key_len)
{
	return (uint32_t)tr_kv_key_hash(key, key_len) & (t->cells_max - 1);
}

size_t
tr_table_mem_bytes(uint32_t cells_max, uint16_t key_max, uint32_t val_max)
{
	return (size_t)cells_max * cell_bytes_for(key_max, val_max);
}

void
tr_table_init(struct tr_table *t, void *mem, uint32_t cells_max, uint16_t key_max,
	      uint32_t val_max)
{
	assert(t != NULL && mem != NULL);
	assert(is_pow2(cells_max));

	t->cells = mem;
	t->cells_max = cells_max;
	t->used = 0;
	t->key_max = key_max;
	t->val_max = val_max;
	t->cell_bytes = cell_bytes_for(key_max, val_max);
	memset(mem, 0, tr_table_mem_bytes(cells_max, key_max, val_max));
}

struct probe {
	uint32_t found; /* the key's cell, or cells_max */
	uint32_t tomb;  /* the first tombstone on the path, or cells_max */
	uint32_t empty; /* the empty cell that ended the search, or cells_max */
};

/* Walks the path of the key whose tr_kv_key_hash is hash; stops at the
 * key, at an empty cell, or after cells_max cells, so it always terminates. */
static inline void
table_probe(const struct tr_table *t, const uint8_t *key, uint16_t key_len, uint64_t hash,
	    struct probe *p)
{
	uint32_t mask = t->cells_max - 1;
	uint32_t i = (uint32_t)hash & mask;
	uint32_t n;

	p->found = p->tomb = p->empty = t->cells_max;
	if (key_len > t->key_max)
		return;
	for (n = 0; n < t->cells_max; n++, i = (i + 1) & mask) {
		uint8_t *c = cell_at(t, i);

		switch (c[CELL_OFF_STATE]) {
		case CELL_EMPTY:
			p->empty = i;
			return;
		case CELL_TOMB:
			if (p->tomb == t->cells_max)
				p->tomb = i;
			break;
		default:
			if (cell_key_len(c) == key_len && bytes_equal(cell_key(c), key, key_len)) {
				p->found = i;
				return;
			}
			break;
		}
	}
}

static void
swap_bytes(uint8_t *a, uint8_t *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		uint8_t x = a[i];

		a[i] = b[i];
		b[i] = x;
	}
}

/* Rehashes in place, dropping every tombstone (abseil's
 * drop_deletes_without_resize, for linear probing). Invariant: a placed
 * (USED) cell has only USED cells between its home and itself; placed
 * cells are never moved again, so the invariant holds at the end. */
static void
table_purge(struct tr_table *t)
{
	uint32_t mask = t->cells_max - 1;
	uint32_t i, j, used = 0;

	for (i = 0; i < t->cells_max; i++) {
		uint8_t st = cell_state(t, i);

		if (st == CELL_TOMB)
			cell_set_state(t, i, CELL_EMPTY);
		else if (st == CELL_USED)
			cell_set_state(t, i, CELL_MOVING);
	}
	for (i = 0; i < t->cells_max; i++) {
		while (cell_state(t, i) == CELL_MOVING) {
			uint8_t *ci = cell_at(t, i);
			uint16_t klen = cell_key_len(ci);
			uint8_t *cj;

			/* The first free cell on its path: found at the
			 * latest at i, which is not USED. */
			j = table_home(t, cell_key(ci), klen);
			while (cell_state(t, j) == CELL_USED)
				j = (j + 1) & mask;
			if (j == i) {
				cell_set_state(t, i, CELL_USED);
				break;
			}
			cj = cell_at(t, j);
			if (cell_state(t, j) == CELL_EMPTY) {
				memcpy(cj, ci, t->cell_bytes);
				cell_set_state(t, j, CELL_USED);
				cell_set_state(t, i, CELL_EMPTY);
				break;
			}
			/* j holds another unplaced entry: swap, place ours
			 * at j, and go on with the one now in i. */
			swap_bytes(ci, cj, t->cell_bytes);
			cell_set_state(t, j, CELL_USED);
		}
	}
	for (i = 0; i < t->cells_max; i++)
		used += cell_state(t, i) == CELL_USED;
	t->used = used;
}

static bool
table_has_tomb(const struct tr_table *t)
{
	uint32_t i;

	for (i = 0; i < t->cells_max; i++)
		if (cell_state(t, i) == CELL_TOMB)
			return true;
	return false;
}

static inline void
cell_write(struct tr_table *t, uint32_t i, const uint8_t *key, uint16_t key_len,
	   const uint8_t *val, uint32_t val_len, uint64_t pair)
{
	uint8_t *c = cell_at(t, i);

	memcpy(c + CELL_OFF_PAIR, &pair, sizeof(pair));
	memcpy(c + CELL_OFF_VAL_LEN, &val_len, sizeof(val_len));
	memcpy(c + CELL_OFF_KEY_LEN, &key_len, sizeof(key_len));
	c[CELL_OFF_STATE] = CELL_USED;
	bytes_copy(cell_key(c), key, key_len);
	bytes_copy(cell_val(t, c), val, val_len);
}

static int
table_get(void *store, const uint8_t *key, uint16_t key_len, const uint8_t **val,
	  uint32_t *val_len)
{
	struct tr_table *t = store;
	struct probe p;
	uint8_t *c;

	table_probe(t, key, key_len, tr_kv_key_hash(key, key_len), &p);
	if (p.found == t->cells_max)
		return -1;
	c = cell_at(t, p.found);
	*val = cell_val(t, c);
	*val_len = cell_val_len(c);
	return 0;
}

/* The digest contribution of the pair in a used cell, kept by set. */
static uint64_t
cell_pair_hash(const struct tr_table *t, uint32_t i)
{
	uint64_t v;

	memcpy(&v, cell_at(t, i) + CELL_OFF_PAIR, sizeof(v));
	return v;
}

static int
table_set(void *store, const uint8_t *key, uint16_t key_len, uint64_t hash, const uint8_t *val,
	  uint32_t val_len, uint64_t pair, uint64_t *old)
{
	struct tr_table *t = store;
	struct probe p;

	*old = 0;
	if (key_len > t->key_max || val_len > t->val_max)
		return -1;
	table_probe(t, key, key_len, hash, &p);
	if (p.found != t->cells_max) {
		/* Overwriting an existing key is always allowed. */
		*old = cell_pair_hash(t, p.found);
		cell_write(t, p.found, key, key_len, val, val_len, pair);
		return 0;
	}
	if (p.tomb != t->cells_max) {
		/* Reuse the first tombstone on the path: used is unchanged. */
		cell_write(t, p.tomb, key, key_len, val, val_len, pair);
		return 0;
	}
	if (t->used >= table_limit(t) || p.empty == t->cells_max) {
		/* Past 3/4: tombstones may be what fills the table. */
		if (!table_has_tomb(t))
			return -1;
		table_purge(t);
		if (t->used >= table_limit(t))
			return -1;
		table_probe(t, key, key_len, hash, &p);
		assert(p.found == t->cells_max && p.tomb == t->cells_max);
		if (p.empty == t->cells_max)
			return -1;
	}
	cell_write(t, p.empty, key, key_len, val, val_len, pair);
	t->used++;
	return 0;
}

static int
table_del(void *store, const uint8_t *key, uint16_t key_len, uint64_t *old)
{
	struct tr_table *t = store;
	uint32_t mask = t->cells_max - 1;
	struct probe p;
	uint32_t i;

	*old = 0;
	table_probe(t, key, key_len, tr_kv_key_hash(key, key_len), &p);
	if (p.found == t->cells_max)
		return 1;
	*old = cell_pair_hash(t, p.found);
	cell_set_state(t, p.found, CELL_TOMB);
	/* A tombstone followed by an empty cell ends no probe path: empty it,
	 * and the tombstones before it in turn. */
	i = p.found;
	while (cell_state(t, i) == CELL_TOMB && cell_state(t, (i + 1) & mask) == CELL_EMPTY) {
		cell_set_state(t, i, CELL_EMPTY);
		t->used--;
		i = (i - 1) & mask;
	}
	return 0;
}

const struct tr_store_ops tr_table_ops = {
	.get = table_get,
	.set = table_set,
	.del = table_del,
};
