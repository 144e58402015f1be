/* SPDX-License-Identifier: MIT
 * Trireme engine internals shared by the handlers. Not installed.
 */
#ifndef TR_INTERNAL_H
#define TR_INTERNAL_H

#include <assert.h>
#include <string.h>

#include "mmp3.h"
#include "wire.h"

static inline uint64_t
u64_max(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static inline uint64_t
u64_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* splitmix64: the engine's only source of randomness, seeded by the config. */
static inline uint64_t
rng_next(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static inline uint64_t
rng_between(uint64_t *state, uint64_t lo, uint64_t hi)
{
	if (hi <= lo)
		return lo;
	return lo + rng_next(state) % (hi - lo + 1);
}

static inline bool
slot_committed(const struct tr_slot *s)
{
	return atomic_load_explicit(&s->committed, memory_order_relaxed) == s->lsn + 1;
}

static inline void
arm(struct tr_column *c, uint64_t at_ns)
{
	if (at_ns < c->next_ns)
		c->next_ns = at_ns;
}

static inline uint8_t
self_id(const struct tr_column *c)
{
	return c->rep->cfg.id;
}

/* lsn in [base, base + mask]: one compare, as lsn - base wraps below base. */
static inline bool
in_ring(const struct tr_column *c, uint64_t lsn)
{
	return lsn - c->base <= c->mask;
}

/* The slot of lsn if this replica holds it (tr_column_slot), else NULL. */
static inline struct tr_slot *
slot_find(const struct tr_column *c, uint64_t lsn)
{
	struct tr_slot *s = &c->slots[lsn & c->mask];

	return s->lsn == lsn && in_ring(c, lsn) ? s : NULL;
}

struct tr_slot *slot_fresh(struct tr_column *c, uint64_t lsn);

/* The ring cell for lsn, reset for it (slot_fresh, replica.c) if it held an
 * older lsn; NULL when lsn is below the recycled base or beyond the ring. */
static inline struct tr_slot *
slot_cell(struct tr_column *c, uint64_t lsn)
{
	struct tr_slot *s = &c->slots[lsn & c->mask];

	if (s->lsn == lsn && in_ring(c, lsn))
		return s;
	return slot_fresh(c, lsn);
}

/* Copies a value into the slot's own memory (its cmds cell). The slot's
 * own value (v == &s->value) is there already. */
static inline void
slot_set_value(struct tr_column *c, struct tr_slot *s, const struct tr_value *v)
{
	assert(v->cmds_len <= c->rep->cfg.batch_bytes_max);
	(void)c;
	if (v != &s->value) {
		if (v->cmds != s->cmds && v->cmds_len > 0)
			memmove(s->cmds, v->cmds, v->cmds_len);
		s->value = *v;
		s->value.cmds = s->cmds;
	}
	s->flags |= TR_SLOT_VALUE;
}

/* Every column, a bit each (shared.vouched: J5; shared.floors_met: J2). */
#define TR_COLUMNS_ALL ((1u << TR_COLUMNS) - 1)

static inline bool
vouched(const struct tr_replica *r)
{
	return atomic_load_explicit(&((struct tr_replica *)r)->shared.vouched,
				    memory_order_acquire) == TR_COLUMNS_ALL;
}

/* J0: this life's incarnation (tr_replica_inc). */
static inline uint32_t
replica_inc(const struct tr_replica *r)
{
	return atomic_load_explicit(&((struct tr_replica *)r)->shared.inc, memory_order_acquire);
}

/* Whether messages of this type use the tail of struct tr_msg. */
static inline bool
msg_has_tail(uint8_t type)
{
	switch (type) {
	case TR_MSG_ACCEPT:
	case TR_MSG_ACCEPT_REPLY:
	case TR_MSG_COMMIT:
	case TR_MSG_FETCH_REPLY:
	case TR_MSG_TOO_OLD:
		return false;
	default:
		return true;
	}
}

/* out_msg zeroes the head (the fields before lsn_end) one by one: a field
 * added there must be zeroed there too. */
_Static_assert(offsetof(struct tr_msg, lsn_end) == 96 &&
		       offsetof(struct tr_msg, value) + sizeof(struct tr_value) == 96,
	       "a new field in tr_msg's head: zero it in out_msg");

/* A message to fill, or NULL when the output is full (the caller retries on
 * the next tick: every send here is either repeated by a timer or optional).
 * Zeroed but for the tail its type does not use. Inline: every step sends. */
static inline struct tr_msg *
out_msg(struct tr_column *c, struct tr_out *out, uint8_t type, uint8_t to)
{
	const size_t tail = offsetof(struct tr_msg, lsn_end);
	struct tr_msg *m;

	if (out->msg_count == out->msg_cap) {
		arm(c, 0);
		return NULL;
	}
	m = &out->msgs[out->msg_count++];
	/* The head field by field: a few stores, where memset is a call. */
	m->type = type;
	m->from = self_id(c);
	m->to = to;
	m->column = c->id;
	m->inc = replica_inc(c->rep);
	m->lsn = 0;
	m->ballot = m->vbal = m->promised = (struct tr_ballot){0, 0, 0};
	m->reply = 0;
	m->ref = false;
	m->value = (struct tr_value){.proposer = 0};
	if (msg_has_tail(type))
		memset((uint8_t *)m + tail, 0, sizeof(*m) - tail);
	c->stats.tx[type]++;
	return m;
}

/* known[column], seq_cst (DESIGN.md, "known across threads"). */
static inline uint64_t
known_get(const struct tr_replica *r, unsigned column)
{
	return atomic_load(&((struct tr_replica *)r)->shared.known[column]);
}

static inline void
known_load(const struct tr_replica *r, uint64_t known[TR_COLUMNS])
{
#pragma GCC unroll 3
	for (unsigned i = 0; i < TR_COLUMNS; i++)
		known[i] = known_get(r, i);
}

/* D1: known[column] = max(known[column], want): an atomic max with seq_cst,
 * so that a handler's later capture (known_load) on another column's thread
 * cannot miss it. want 0 changes nothing (nothing to load). */
static inline void
known_max(struct tr_replica *r, unsigned column, uint64_t want)
{
	uint64_t cur;

	if (want == 0)
		return;
	cur = atomic_load(&r->shared.known[column]);
	if (r->cfg.variant & TR_VARIANT_NO_FENCE) {
		/* Known-bad: a relaxed store; a later load may pass it (and
		 * two columns' concurrent maxes may lose one). */
		if (cur < want)
			atomic_store_explicit(&r->shared.known[column], want, memory_order_relaxed);
		return;
	}
	while (cur < want && !atomic_compare_exchange_weak(&r->shared.known[column], &cur, want))
		;
}

/* D1: record the slot itself, then what its deps reveal (NULL: none). */
static inline void
known_note(struct tr_replica *r, unsigned column, uint64_t lsn, const uint64_t *deps)
{
	if (r->cfg.variant & TR_VARIANT_PLAIN_DEPS)
		deps = NULL; /* known-bad: known ignores the deps it sees */
#pragma GCC unroll 3
	for (unsigned i = 0; i < TR_COLUMNS; i++) {
		uint64_t want = i == column ? lsn + 1 : 0;

		if (deps != NULL && deps[i] > want)
			want = deps[i];
		known_max(r, i, want);
	}
}

/* §7: X depends on column d (d != X's column) iff X.deps[d] > applied[d];
 * the mask of those d, for order_pick. */
static inline unsigned
order_deps(const uint64_t deps[TR_COLUMNS], unsigned column, const uint64_t applied[TR_COLUMNS])
{
	unsigned m = 0;

#pragma GCC unroll 3
	for (unsigned d = 0; d < TR_COLUMNS; d++)
		m |= (unsigned)(deps[d] > applied[d]) << d;
	return m & ~(1u << column);
}

/* order.c: the walk of order_pick from start, where it meets a head that
 * is not committed. */
int order_walk(const unsigned dep[TR_COLUMNS], unsigned committed, unsigned start,
	       unsigned *need);

/* |deps| of a deps mask (3 bits). */
static const uint8_t order_deps_count[1u << TR_COLUMNS] = {0, 1, 1, 2, 1, 2, 2, 3};

_Static_assert(TR_COLUMNS == 3, "order_pick's closure takes two steps");

/* The heads v's committed heads depend on, and v (dep[x] is 0 for a head
 * that is not committed). */
static inline unsigned
order_reach(const unsigned dep[TR_COLUMNS], unsigned v)
{
	return v | (dep[0] & -(v & 1u)) | (dep[1] & -((v >> 1) & 1u)) |
	       (dep[2] & -((v >> 2) & 1u));
}

/* (|deps|, column) of head x as one number, or above any if not visited. */
static inline unsigned
order_key(const unsigned dep[TR_COLUMNS], unsigned visited, unsigned x)
{
	return (visited >> x) & 1u ? (unsigned)order_deps_count[dep[x]] << 2 | x : ~0u;
}

/* tr_order_next on the heads' deps masks (order_deps; committed heads
 * only), committed the mask of committed heads. need gets the blocking
 * columns (0 unless it returns -1). Inline: once per applied instance. */
static inline int
order_pick(const unsigned dep[TR_COLUMNS], unsigned committed, unsigned *need)
{
	unsigned blocked = 0;

	for (unsigned start = 0; start < TR_COLUMNS; start++) {
		unsigned v, k0, k1, k2, k;

		if (!(committed & (1u << start)))
			continue;
		if (dep[start] == 0) {
			*need = 0; /* depends on nothing: the walk visits it alone */
			return (int)start;
		}
		/* The walk's visited set: what start reaches, in at most two
		 * steps over three heads; blocked iff it holds a head that is
		 * not committed (the walk then names which, in its order). */
		v = order_reach(dep, order_reach(dep, 1u << start));
		if (v & ~committed) {
			order_walk(dep, committed, start, &blocked);
			continue;
		}
		/* The smallest (|deps|, column) among the visited heads. */
		k0 = order_key(dep, v, 0);
		k1 = order_key(dep, v, 1);
		k2 = order_key(dep, v, 2);
		k = k0 < k1 ? k0 : k1;
		k = k < k2 ? k : k2;
		*need = 0;
		return (int)(k & 3u);
	}
	*need = blocked;
	return -1;
}

/* replica.c */
void known_merge(struct tr_replica *r, const uint64_t known[TR_COLUMNS]);
bool value_equal(const struct tr_value *a, const struct tr_value *b);
void violation(struct tr_replica *r, const char *why);
void config_mismatch(struct tr_replica *r, uint8_t peer, uint64_t keys_max, uint32_t clients_max);
void memory_behind(struct tr_replica *r, uint8_t peer, unsigned column, uint64_t heard,
		   uint64_t committed, bool own);
bool peer_fresh(const struct tr_column *c, uint8_t peer, uint64_t now_ns);
bool peer_shunned(const struct tr_column *c, uint8_t peer, uint32_t attempts, uint64_t now_ns);
uint8_t peer_first(const struct tr_column *c);

/* A request (ACCEPT, READ_INDEX, FETCH, JOIN) goes to peer: peer_shunned
 * counts from the first one it leaves unanswered. */
static inline void
peer_asked(struct tr_column *c, uint8_t peer, uint64_t now_ns)
{
	if (c->peers[peer].asked_ns == 0)
		c->peers[peer].asked_ns = now_ns != 0 ? now_ns : 1;
}
uint64_t backoff_ns(struct tr_column *c, uint32_t attempts);

/* propose.c */
void attempt_start(struct tr_column *c, struct tr_slot *s, uint64_t now_ns, struct tr_out *out);
void propose_waiting(struct tr_column *c, uint64_t now_ns, struct tr_out *out);
/* C1 to both peers; W2: by reference to voter (TR_REPLICAS: none). */
void send_commit(struct tr_column *c, const struct tr_slot *s, uint8_t voter, struct tr_out *out);

/* read.c */
void read_pump_busy(struct tr_column *c, uint64_t now_ns, struct tr_out *out);
struct tr_barrier *read_barrier(struct tr_column *c, uint64_t id, uint8_t from);
void read_answered(struct tr_column *c, struct tr_barrier *b, const uint64_t k[TR_COLUMNS],
		   uint64_t now_ns);

/* commit.c */
void slot_commit(struct tr_column *c, struct tr_slot *s, const struct tr_value *v,
		 struct tr_out *out);

/* durable.c (§12 S1): full images, before the step returns its messages. */
void durable_slot_rec(struct tr_column *c, const struct tr_slot *s, bool lazy);
void durable_known(struct tr_column *c, const uint64_t known[TR_COLUMNS]);

/* heal.c (§12) */
bool may_vote(const struct tr_column *c, uint64_t lsn);
bool inc_admit(struct tr_column *c, const struct tr_msg *m);
void join_tick(struct tr_column *c, uint64_t now_ns, struct tr_out *out);
void recv_join(struct tr_column *c, const struct tr_msg *m, struct tr_out *out);
void recv_join_reply(struct tr_column *c, const struct tr_msg *m);
void send_too_old(struct tr_column *c, uint8_t to, struct tr_out *out);
/* T4: catch-up pacing of the owner's instances (pace_wait, pace_start). */
void catchup_note(struct tr_column *c, uint8_t q, uint64_t was, uint64_t now_ns);
bool catchup_wait(struct tr_column *c, uint64_t now_ns);
void catchup_started(struct tr_column *c, uint64_t now_ns);
void recv_too_old(struct tr_column *c, const struct tr_msg *m);

static inline bool
joining(const struct tr_replica *r)
{
	return atomic_load_explicit(&((struct tr_replica *)r)->shared.join_state,
				    memory_order_acquire) == TR_JOIN_WAITING;
}

/* J2: column c's committed prefix reached its floor: a bit any thread reads
 * (tr_replica_rejoined), set once by the column's own thread. */
static inline void
floor_check(struct tr_column *c)
{
	struct tr_shared *sh = &c->rep->shared;

	if (c->floor_open &&
	    atomic_load_explicit(&sh->join_state, memory_order_acquire) == TR_JOIN_JOINED &&
	    c->committed >= sh->floor[c->id]) {
		c->floor_open = false;
		atomic_fetch_or_explicit(&sh->floors_met, 1u << c->id, memory_order_release);
	}
}

/* plausible.c (issue 17) */
bool plausible_inc(struct tr_column *c, const struct tr_msg *m);
bool plausible(struct tr_column *c, const struct tr_msg *m);

/* Issue 17: the highest lsn (exclusive) a peer may name in column d. H1: the
 * own column is exactly what this replica allocated (known[own] covers
 * next_lsn, P1/D1); H2: another column, known[d] plus the window. */
static inline uint64_t
plausible_window(const struct tr_config *cfg)
{
	return (uint64_t)cfg->log_slots_max + 2 * (uint64_t)cfg->inflight_max;
}

static inline uint64_t
plausible_horizon(const struct tr_column *c, unsigned d)
{
	const struct tr_config *cfg = &c->rep->cfg;
	uint64_t k = known_get(c->rep, d);

	/* (Known-bad J2, J3 variants: a joiner that votes at once knows
	 * nothing of its column yet; one that reuses H lies below its peers' L.) */
	if (d == cfg->id && !joining(c->rep))
		return cfg->variant & TR_VARIANT_JOIN_FROM_H ? k + cfg->inflight_max : k;
	return u64_min(k + plausible_window(cfg), TR_LSN_MAX);
}

/* recv_*.c */
void recv_accept(struct tr_column *c, const struct tr_msg *m, uint64_t now_ns, struct tr_out *out);
void recv_accept_reply(struct tr_column *c, const struct tr_msg *m, uint64_t now_ns,
		       struct tr_out *out);
void recv_commit(struct tr_column *c, const struct tr_msg *m, struct tr_out *out);
void recv_fetch(struct tr_column *c, const struct tr_msg *m, struct tr_out *out);
void recv_status(struct tr_column *c, const struct tr_msg *m, uint64_t now_ns);
void recv_read_index(struct tr_column *c, const struct tr_msg *m, struct tr_out *out);
void recv_read_index_reply(struct tr_column *c, const struct tr_msg *m, uint64_t now_ns);

/* S1: the slot's full image, when the caller keeps records (cfg.durable). */
static inline void
durable_slot(struct tr_column *c, const struct tr_slot *s)
{
	if (c->rep->cfg.durable != NULL)
		durable_slot_rec(c, s, false);
}

/* The end of every flush, recv and tick: proposes what waits (P7, then the
 * queued client commands), then pumps the read barrier (Q1); each only
 * when it has something to do. */
static inline void
propose_pending(struct tr_column *c, uint64_t now_ns, struct tr_out *out)
{
	if (c->repropose_count > 0 || c->pending_count > 0)
		propose_waiting(c, now_ns, out);
}

/* T4: true while a peer catches up and the owner's next instance must
 * wait; pace_start when one starts. Both cost one load otherwise. */
static inline bool
pace_wait(struct tr_column *c, uint64_t now_ns)
{
	return c->catchup != 0 && catchup_wait(c, now_ns);
}

static inline void
pace_start(struct tr_column *c, uint64_t now_ns)
{
	if (c->catchup != 0)
		catchup_started(c, now_ns);
}

static inline void
read_pump(struct tr_column *c, uint64_t now_ns, struct tr_out *out)
{
	if (c->barrier_count > 0 || c->reads_count > 0)
		read_pump_busy(c, now_ns, out);
}

#endif
