/* SPDX-License-Identifier: MIT
 * Replica set-up, memory layout and the helpers every handler uses.
 */
#include "internal.h"

#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~(size_t)((a) - 1))

void
tr_config_default(struct tr_config *cfg, uint8_t id, uint64_t rtt_ns)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->id = id;
	cfg->cluster_id = 0x7472;
	cfg->log_slots_max = 1u << 14;
	cfg->inflight_max = 256;
	cfg->batch_cmds_max = 64;
	cfg->batch_bytes_max = 16384;
	cfg->pending_bytes_max = 1u << 18;
	cfg->fetch_span_max = 64;
	tr_config_timers(cfg, rtt_ns);
	cfg->catchup_ns = 5000 * rtt_ns;
	cfg->sm_keys_max = UINT64_C(1) << 20;
	cfg->sm_clients_max = 256;
	cfg->incarnation = 1;
	cfg->seed = id + 1;
	cfg->read_bytes_max = 1u << 16;
	cfg->read_batches_max = 16;
	cfg->read_barriers_max = 4;
}

void
tr_config_timers(struct tr_config *cfg, uint64_t rtt_ns)
{
	cfg->retry_ns = 4 * rtt_ns;
	cfg->retry_max_ns = 64 * rtt_ns;
	cfg->fetch_ns = 4 * rtt_ns;
	cfg->recover_ns = 40 * rtt_ns;
	cfg->status_ns = 10 * rtt_ns;
	cfg->suspect_ns = 50 * rtt_ns;
	cfg->join_ns = 20 * rtt_ns;
}

const char *
tr_config_check(const struct tr_config *cfg)
{
	if (cfg->id >= TR_REPLICAS)
		return "replica id must be 0, 1 or 2";
	if (cfg->log_slots_max < 16 || (cfg->log_slots_max & (cfg->log_slots_max - 1)))
		return "log_slots_max must be a power of two >= 16";
	if (cfg->inflight_max == 0 || cfg->inflight_max > cfg->log_slots_max / 2)
		return "inflight_max must be in 1..log_slots_max/2";
	if (cfg->batch_cmds_max == 0 || cfg->batch_cmds_max > TR_BATCH_CMDS_MAX)
		return "batch_cmds_max out of range";
	if (cfg->batch_bytes_max < TR_WIRE_CMD_HDR_BYTES || cfg->batch_bytes_max > TR_BATCH_BYTES_MAX)
		return "batch_bytes_max out of range";
	if (cfg->pending_bytes_max < cfg->batch_bytes_max)
		return "pending_bytes_max must be >= batch_bytes_max";
	if (cfg->fetch_span_max == 0)
		return "fetch_span_max must be > 0";
	if (cfg->retry_ns == 0 || cfg->retry_max_ns < cfg->retry_ns)
		return "retry_ns must be > 0 and <= retry_max_ns";
	if (cfg->fetch_ns == 0 || cfg->status_ns == 0 || cfg->recover_ns < cfg->fetch_ns)
		return "fetch_ns, status_ns must be > 0 and recover_ns >= fetch_ns";
	if (cfg->suspect_ns <= cfg->status_ns)
		return "suspect_ns must exceed status_ns";
	if (cfg->join_ns == 0)
		return "join_ns must be > 0";
	if (!cfg->join && (cfg->incarnation == 0 || cfg->incarnation >= TR_INC_MAX))
		return "incarnation must be in 1..2^31-1";
	if (cfg->join_inc_floor >= TR_INC_MAX - 1)
		return "join_inc_floor must be below 2^31-1";
	for (unsigned i = 0; i < TR_REPLICAS; i++)
		if (cfg->peer_inc_seen[i] >= TR_INC_MAX - 1)
			return "peer_inc_seen must be below 2^31-1";
	if (cfg->read_bytes_max < TR_WIRE_CMD_HDR_BYTES || cfg->read_bytes_max > TR_BATCH_BYTES_MAX)
		return "read_bytes_max out of range";
	if (cfg->read_batches_max == 0 || cfg->read_batches_max > 4096)
		return "read_batches_max must be in 1..4096";
	if (cfg->read_barriers_max == 0 || cfg->read_barriers_max > TR_READ_BARRIERS_MAX)
		return "read_barriers_max must be in 1..16";
	return NULL;
}

static size_t
slots_bytes(const struct tr_config *cfg)
{
	return ALIGN_UP((size_t)cfg->log_slots_max * sizeof(struct tr_slot), 64);
}

static size_t
cmds_bytes(const struct tr_config *cfg)
{
	return ALIGN_UP((size_t)cfg->log_slots_max * cfg->batch_bytes_max, 64);
}

/* Q1-Q3: the owner's read FIFO, and the applier's queue of batches. */
static size_t
reads_bytes(const struct tr_config *cfg)
{
	return ALIGN_UP(cfg->read_bytes_max, 64) +
	       ALIGN_UP((size_t)cfg->read_batches_max * sizeof(struct tr_read_batch), 64) +
	       (size_t)cfg->read_batches_max * ALIGN_UP(cfg->read_bytes_max, 64);
}

/* P7 and T1: lsns whose commands go again; after an install, every own slot
 * the snapshot covered may be there, so a whole ring's worth. */
static size_t
repropose_bytes(const struct tr_config *cfg)
{
	return ALIGN_UP((size_t)cfg->log_slots_max * sizeof(uint64_t), 64);
}

static size_t
owner_bytes(const struct tr_config *cfg)
{
	return cmds_bytes(cfg) + ALIGN_UP(cfg->pending_bytes_max, 64) + repropose_bytes(cfg) +
	       reads_bytes(cfg);
}

size_t
tr_replica_mem_bytes(const struct tr_config *cfg)
{
	if (tr_config_check(cfg) != NULL)
		return 0;
	return TR_COLUMNS * (slots_bytes(cfg) + cmds_bytes(cfg)) + owner_bytes(cfg);
}

int
tr_replica_init(struct tr_replica *r, const struct tr_config *cfg, void *mem, size_t len,
		uint64_t now_ns)
{
	uint8_t *p = mem;

	if (tr_config_check(cfg) != NULL || len < tr_replica_mem_bytes(cfg))
		return -1;
	memset(r, 0, sizeof(*r));
	r->cfg = *cfg;
	r->cfg.variant |= TR_MUTANT_VARIANT;
	r->started_ns = now_ns;
	for (unsigned i = 0; i < TR_COLUMNS; i++) {
		atomic_init(&r->shared.known[i], 0);
		atomic_init(&r->shared.applied[i], 0);
	}
	atomic_init(&r->shared.violation, 0);
	atomic_init(&r->violation_why, NULL);
	atomic_init(&r->why_claimed, false);
	atomic_init(&r->shared.read_head, 0);
	atomic_init(&r->shared.read_tail, 0);
	/* J0, J1: a replica that remembers starts with its incarnation and
	 * serves; an amnesiac waits for both peers' JOIN answers. */
	atomic_init(&r->shared.inc, cfg->join ? 0 : cfg->incarnation);
	for (unsigned i = 0; i < TR_REPLICAS; i++) /* J0: what earlier lives heard */
		atomic_init(&r->shared.peer_inc[i], i == cfg->id ? 0 : cfg->peer_inc_seen[i]);
	atomic_init(&r->shared.join_state, cfg->join ? TR_JOIN_WAITING : TR_JOIN_NONE);
	atomic_init(&r->shared.serving, !cfg->join);
	atomic_init(&r->shared.floors_met, cfg->join ? 0 : TR_COLUMNS_ALL);
	atomic_init(&r->shared.vouched, cfg->join || (cfg->variant & TR_VARIANT_NO_MEMORY_CHECK)
						? TR_COLUMNS_ALL : 0);
	atomic_init(&r->shared.snap_want, 0);
	r->join_id = cfg->seed * UINT64_C(0x9E3779B97F4A7C15) ^ now_ns;
	r->join_inc_max = cfg->join ? cfg->join_inc_floor : 0; /* J0 */
	r->join_at_ns = now_ns;

	for (unsigned ci = 0; ci < TR_COLUMNS; ci++) {
		struct tr_column *c = &r->col[ci];

		c->rep = r;
		c->id = (uint8_t)ci;
		c->owned = ci == cfg->id;
		c->mask = cfg->log_slots_max - 1;
		c->slots = (struct tr_slot *)p;
		p += slots_bytes(cfg);
		for (uint32_t i = 0; i < cfg->log_slots_max; i++) {
			struct tr_slot *s = &c->slots[i];

			memset(s, 0, sizeof(*s));
			s->lsn = UINT64_MAX;
			atomic_init(&s->committed, 0);
			s->cmds = p + (size_t)i * cfg->batch_bytes_max;
		}
		p += cmds_bytes(cfg);
		if (c->owned) {
			for (uint32_t i = 0; i < cfg->log_slots_max; i++)
				c->slots[i].own_cmds = p + (size_t)i * cfg->batch_bytes_max;
			p += cmds_bytes(cfg);
			c->pending = p;
			p += ALIGN_UP(cfg->pending_bytes_max, 64);
			c->repropose = (uint64_t *)p;
			p += repropose_bytes(cfg);
			c->reads = p;
			p += ALIGN_UP(cfg->read_bytes_max, 64);
			/* J0: a life's barrier ids are its own, so a reply delayed
			 * past a restart never answers a later life's barrier. */
			c->read_id_next = (uint64_t)(cfg->join ? 0 : cfg->incarnation) << 32 | 1;
			r->shared.read_batches = (struct tr_read_batch *)p;
			p += ALIGN_UP((size_t)cfg->read_batches_max * sizeof(struct tr_read_batch),
				      64);
			for (uint32_t i = 0; i < cfg->read_batches_max; i++) {
				memset(&r->shared.read_batches[i], 0, sizeof(struct tr_read_batch));
				r->shared.read_batches[i].cmds = p;
				p += ALIGN_UP(cfg->read_bytes_max, 64);
			}
		}
		c->rng = cfg->seed * 3 + ci + 1;
		c->floor_open = cfg->join;
		c->status_at_ns = now_ns;
		c->fetch_at_ns = UINT64_MAX;
		c->next_ns = now_ns;
	}
	assert((size_t)(p - (uint8_t *)mem) <= len);
	return 0;
}

void
tr_out_reset(struct tr_out *out)
{
	out->msg_count = 0;
	out->committed_count = 0;
	out->deadline_ns = UINT64_MAX;
}

/* slot_cell for a cell that does not hold lsn yet: NULL when lsn is below
 * the recycled base or beyond the ring, else the cell reset for it (it held
 * an older lsn). */
struct tr_slot *
slot_fresh(struct tr_column *c, uint64_t lsn)
{
	struct tr_slot *s;

	if (!in_ring(c, lsn))
		return NULL;
	s = &c->slots[lsn & c->mask];
	assert(s->lsn != lsn); /* slot_cell returned it */
	assert(s->lsn == UINT64_MAX || s->lsn < c->base);
	atomic_store_explicit(&s->committed, 0, memory_order_relaxed);
	s->lsn = lsn;
	s->flags = 0;
	s->refused = 0;
	s->promised = (struct tr_ballot){0, 0};
	s->vbal = (struct tr_ballot){0, 0};
	s->attempt = (struct tr_ballot){0, 0};
	s->n_seen = 0;
	s->attempts = 0;
	s->seen_ns = 0;
	s->timer_ns = UINT64_MAX;
	memset(&s->value, 0, sizeof(s->value));
	s->value.cmds = s->cmds;
	s->own_len = 0;
	s->own_count = 0;
	return s;
}

const struct tr_slot *
tr_column_slot(const struct tr_column *c, uint64_t lsn)
{
	return slot_find(c, lsn);
}

/* Q2: merge another replica's known (element-wise max, as D1 does). */
void
known_merge(struct tr_replica *r, const uint64_t known[TR_COLUMNS])
{
	for (unsigned i = 0; i < TR_COLUMNS; i++)
		known_max(r, i, known[i]);
}

uint64_t
tr_known(const struct tr_replica *r, unsigned column)
{
	return known_get(r, column);
}

bool
value_equal(const struct tr_value *a, const struct tr_value *b)
{
	return memcmp(a->deps, b->deps, sizeof(a->deps)) == 0 && a->proposer == b->proposer &&
	       a->cmd_count == b->cmd_count && a->cmds_len == b->cmds_len &&
	       (a->cmds_len == 0 || memcmp(a->cmds, b->cmds, a->cmds_len) == 0);
}

/* Appends text, then a number, to a NUL-terminated buffer (no stdio here). */
static void
why_append(char *buf, size_t cap, const char *text, uint64_t num)
{
	size_t len = strlen(buf);
	char digits[24];
	unsigned n = 0;

	for (; *text != 0 && len + 1 < cap; text++)
		buf[len++] = *text;
	do {
		digits[n++] = (char)('0' + num % 10);
		num /= 10;
	} while (num != 0 && n < sizeof(digits));
	while (n > 0 && len + 1 < cap)
		buf[len++] = digits[--n];
	buf[len] = 0;
}

/* The buffer for a named stop, to the first column that asks (NULL after). */
static char *
why_claim(struct tr_replica *r)
{
	bool was = false;

	if (atomic_load(&r->shared.violation) ||
	    !atomic_compare_exchange_strong(&r->why_claimed, &was, true))
		return NULL;
	r->why_named[0] = 0;
	return r->why_named;
}

/* A STATUS with other state-machine limits: this replica stops, naming both
 * (a configuration error, reported like a violation: nothing is applied that
 * the replicas could decide differently). */
void
config_mismatch(struct tr_replica *r, uint8_t peer, uint64_t keys_max, uint32_t clients_max)
{
	char *w = why_claim(r);
	size_t cap = sizeof(r->why_named);

	if (w == NULL)
		return;
	why_append(w, cap, "cluster configuration differs: keys_max ", r->cfg.sm_keys_max);
	why_append(w, cap, " here, ", keys_max);
	why_append(w, cap, " at replica ", peer);
	why_append(w, cap, "; clients_max ", r->cfg.sm_clients_max);
	why_append(w, cap, " here, ", clients_max);
	why_append(w, cap, " at replica ", peer);
	violation(r, w);
}

/* J5: a peer knows more of this replica than it remembers: it heard a
 * longer committed prefix of column (heard, against the own committed), or
 * (own) holds more of the own column committed than this life allocated.
 * The replica stops before it votes with a memory its peers know to be
 * older (a replica that lost its memory must rejoin without it, J1). */
void
memory_behind(struct tr_replica *r, uint8_t peer, unsigned column, uint64_t heard,
	      uint64_t committed, bool own)
{
	char *w = why_claim(r);
	size_t cap = sizeof(r->why_named);

	if (w == NULL)
		return;
	why_append(w, cap, "J5: this replica's memory is older than what it told its peers (a "
			   "new or restored state where a replica ran): it must rejoin without "
			   "memory (J1); replica ", peer);
	why_append(w, cap, own ? " holds its own column " : " heard its committed prefix of column ",
		   column);
	why_append(w, cap, own ? " committed up to " : " at ", heard);
	why_append(w, cap, own ? ", above the lsns it allocated, " : ", above its own ", committed);
	violation(r, w);
}

/* A3, C1: "stop loudly". The replica refuses every later step. */
void
violation(struct tr_replica *r, const char *why)
{
	const char *none = NULL;

	atomic_compare_exchange_strong(&r->violation_why, &none, why); /* the first one */
	atomic_store(&r->shared.violation, 1);
}

bool
peer_fresh(const struct tr_column *c, uint8_t peer, uint64_t now_ns)
{
	uint64_t heard = c->peers[peer].heard_ns;

	return heard != 0 && now_ns - heard < c->rep->cfg.suspect_ns;
}

/* P6, Q1: fresh, and not deaf: no request to it has waited suspect_ns for a
 * reply since its last one (a peer that sends but does not hear looks
 * fresh, and would take every other retry). */
static bool
peer_hears(const struct tr_column *c, uint8_t peer, uint64_t now_ns)
{
	uint64_t asked = c->peers[peer].asked_ns;

	if (!peer_fresh(c, peer, now_ns))
		return false;
	return (c->rep->cfg.variant & TR_VARIANT_FIRST_BY_HEARD) || asked == 0 ||
	       now_ns - asked < c->rep->cfg.suspect_ns;
}

/* P6, Q1: a retry skips a peer that leaves requests unanswered while the
 * other (the third replica) answers, but tries it every fourth time: one
 * answer clears it (a request lost by chance must not shun a peer for good). */
bool
peer_shunned(const struct tr_column *c, uint8_t peer, uint32_t attempts, uint64_t now_ns)
{
	uint8_t other = (uint8_t)(TR_REPLICAS * (TR_REPLICAS - 1) / 2 - self_id(c) - peer);

	return attempts % 4 != 0 && !peer_hears(c, peer, now_ns) && peer_hears(c, other, now_ns);
}

/* P6, Q1: the peer for a first attempt: the one that answered this column
 * most recently, so that a peer that sends but does not hear (it never
 * answers) costs one retry, not one on every other attempt; before any
 * answer, the one heard from most recently. */
uint8_t
peer_first(const struct tr_column *c)
{
	uint8_t a = (uint8_t)((self_id(c) + 1) % TR_REPLICAS);
	uint8_t b = (uint8_t)((self_id(c) + 2) % TR_REPLICAS);
	const struct tr_peer *pa = &c->peers[a], *pb = &c->peers[b];

	if ((c->rep->cfg.variant & TR_VARIANT_FIRST_BY_HEARD) ||
	    pa->answered_ns == pb->answered_ns)
		return pb->heard_ns > pa->heard_ns ? b : a;
	return pb->answered_ns > pa->answered_ns ? b : a;
}

/* P6: exponential, capped, with full jitter in [d/2, d]. */
uint64_t
backoff_ns(struct tr_column *c, uint32_t attempts)
{
	const struct tr_config *cfg = &c->rep->cfg;
	unsigned shift = attempts > 1 ? attempts - 1 : 0;
	uint64_t d = shift >= 16 ? cfg->retry_max_ns : cfg->retry_ns << shift;

	d = u64_min(d, cfg->retry_max_ns);
	return rng_between(&c->rng, d / 2, d);
}
