/* SPDX-License-Identifier: MIT
 * Trireme engine: the durable record codec (durable.h, PROTOCOL §12 S1-S3).
 *
 * Body (little-endian, after the u32 length and u32 CRC32C of durable.h):
 *   kind:u8 column:u8
 *   SLOT   lsn:u64 promised:ballot vbal:ballot flags:u8 (1: value, 2: committed)
 *          [value, when flags & 1: deps:u64[3] proposer:u8 cmd_count:u16
 *           cmds_len:u32 cmds[cmds_len]]
 *   KNOWN  known:u64[3]
 *   ballot := n:u32 replica:u8 inc:u32 (as on the wire)
 * Decoding checks every field as the wire decoder does; nothing is trusted.
 *
 * Also here: the engine's S1 reports (durable_slot_rec, durable_known) and S2's
 * restore from those records.
 */
#include "internal.h"
#include "le.h"

#define DUR_BALLOT_BYTES 9u
#define DUR_VALUE_HDR_BYTES (8u * TR_COLUMNS + 1 + 2 + 4)
#define DUR_SLOT_BYTES (2u + 8 + 2 * DUR_BALLOT_BYTES + 1)
#define DUR_KNOWN_BYTES (2u + 8 * TR_COLUMNS)
#define DUR_F_VALUE 1u
#define DUR_F_COMMITTED 2u

static size_t
body_bytes(const struct tr_durable_rec *rec)
{
	if (rec->kind == TR_DURABLE_KNOWN)
		return DUR_KNOWN_BYTES;
	return DUR_SLOT_BYTES + (rec->has_value ? DUR_VALUE_HDR_BYTES + rec->value.cmds_len : 0);
}

size_t
tr_durable_bytes(const struct tr_durable_rec *rec)
{
	return TR_DURABLE_HDR_BYTES + body_bytes(rec);
}

static uint8_t *
put_ballot(uint8_t *p, struct tr_ballot b)
{
	put_le32(p, b.n);
	p[4] = b.replica;
	put_le32(p + 5, b.inc);
	return p + DUR_BALLOT_BYTES;
}

size_t
tr_durable_encode(uint8_t *buf, size_t cap, const struct tr_durable_rec *rec)
{
	size_t body = body_bytes(rec);
	uint8_t *p = buf + TR_DURABLE_HDR_BYTES;
	unsigned i;

	if (cap < TR_DURABLE_HDR_BYTES + body || body > UINT32_MAX)
		return 0;
	*p++ = rec->kind;
	*p++ = rec->column;
	if (rec->kind == TR_DURABLE_KNOWN) {
		for (i = 0; i < TR_COLUMNS; i++, p += 8)
			put_le64(p, rec->known[i]);
	} else {
		put_le64(p, rec->lsn);
		p = put_ballot(p + 8, rec->promised);
		p = put_ballot(p, rec->vbal);
		*p++ = (uint8_t)((rec->has_value ? DUR_F_VALUE : 0) |
				 (rec->committed ? DUR_F_COMMITTED : 0));
		if (rec->has_value) {
			for (i = 0; i < TR_COLUMNS; i++, p += 8)
				put_le64(p, rec->value.deps[i]);
			*p++ = rec->value.proposer;
			p[0] = (uint8_t)rec->value.cmd_count;
			p[1] = (uint8_t)(rec->value.cmd_count >> 8);
			put_le32(p + 2, rec->value.cmds_len);
			p += 6;
			if (rec->value.cmds_len != 0)
				memcpy(p, rec->value.cmds, rec->value.cmds_len);
		}
	}
	put_le32(buf, (uint32_t)body);
	put_le32(buf + 4, tr_crc32c(0, buf + TR_DURABLE_HDR_BYTES, body));
	return TR_DURABLE_HDR_BYTES + body;
}

/* A ballot as the wire allows it: none only as (0, 0, 0). */
static bool
get_ballot(const uint8_t *p, struct tr_ballot *b)
{
	b->n = ld_u32(p);
	b->replica = p[4];
	b->inc = ld_u32(p + 5);
	if (b->replica >= TR_REPLICAS || b->inc >= TR_INC_MAX || b->n > TR_BALLOT_N_MAX)
		return false;
	return b->n != 0 || (b->replica == 0 && b->inc == 0);
}

static bool
get_value(const uint8_t *p, size_t left, struct tr_value *v)
{
	unsigned i;

	if (left < DUR_VALUE_HDR_BYTES)
		return false;
	for (i = 0; i < TR_COLUMNS; i++, p += 8) {
		v->deps[i] = ld_u64(p);
		if (v->deps[i] > TR_LSN_MAX)
			return false;
	}
	v->proposer = *p++;
	v->cmd_count = ld_u16(p);
	v->cmds_len = ld_u32(p + 2);
	p += 6;
	if (v->proposer >= TR_REPLICAS || v->cmd_count > TR_BATCH_CMDS_MAX ||
	    v->cmds_len > TR_BATCH_BYTES_MAX || (v->cmd_count == 0) != (v->cmds_len == 0))
		return false;
	if (left - DUR_VALUE_HDR_BYTES != v->cmds_len)
		return false;
	v->cmds = v->cmds_len != 0 ? p : NULL;
	return tr_cmds_validate(v->cmds, v->cmds_len, v->cmd_count) == TR_WIRE_OK;
}

static bool
get_body(const uint8_t *p, size_t n, struct tr_durable_rec *rec)
{
	unsigned i;
	uint8_t flags;

	if (n < 2)
		return false;
	rec->kind = p[0];
	rec->column = p[1];
	if (rec->column >= TR_COLUMNS)
		return false;
	if (rec->kind == TR_DURABLE_KNOWN) {
		if (n != DUR_KNOWN_BYTES)
			return false;
		for (i = 0; i < TR_COLUMNS; i++) {
			rec->known[i] = ld_u64(p + 2 + 8 * i);
			if (rec->known[i] > TR_LSN_MAX)
				return false;
		}
		return true;
	}
	if (rec->kind != TR_DURABLE_SLOT || n < DUR_SLOT_BYTES)
		return false;
	rec->lsn = ld_u64(p + 2);
	if (rec->lsn >= TR_LSN_MAX || !get_ballot(p + 10, &rec->promised) ||
	    !get_ballot(p + 10 + DUR_BALLOT_BYTES, &rec->vbal))
		return false;
	flags = p[DUR_SLOT_BYTES - 1];
	if ((flags & ~(DUR_F_VALUE | DUR_F_COMMITTED)) != 0)
		return false;
	rec->has_value = (flags & DUR_F_VALUE) != 0;
	rec->committed = (flags & DUR_F_COMMITTED) != 0;
	if (rec->committed && !rec->has_value)
		return false;
	if (!tr_ballot_none(rec->vbal) && !rec->has_value)
		return false; /* a vote holds a value */
	if (!rec->has_value)
		return n == DUR_SLOT_BYTES;
	return get_value(p + DUR_SLOT_BYTES, n - DUR_SLOT_BYTES, &rec->value);
}

int
tr_durable_decode(const uint8_t *buf, size_t len, struct tr_durable_rec *rec, size_t *used)
{
	uint32_t body;

	*used = 0;
	if (len < TR_DURABLE_HDR_BYTES)
		return TR_DURABLE_END;
	body = ld_u32(buf);
	if (body == 0)
		return TR_DURABLE_END;
	if (body > len - TR_DURABLE_HDR_BYTES)
		return TR_DURABLE_TORN;
	memset(rec, 0, sizeof(*rec));
	if (tr_crc32c(0, buf + TR_DURABLE_HDR_BYTES, body) != ld_u32(buf + 4) ||
	    !get_body(buf + TR_DURABLE_HDR_BYTES, body, rec))
		return TR_DURABLE_BAD;
	*used = TR_DURABLE_HDR_BYTES + body;
	return TR_DURABLE_OK;
}

/* S1: the slot's full image (promise, vote with its value, commit), for
 * durable_slot when the caller keeps records; lazy: S4's first attempt. */
void
durable_slot_rec(struct tr_column *c, const struct tr_slot *s, bool lazy)
{
	const struct tr_config *cfg = &c->rep->cfg;
	struct tr_durable_rec rec;

	memset(&rec, 0, sizeof(rec));
	rec.kind = TR_DURABLE_SLOT;
	rec.column = c->id;
	rec.lsn = s->lsn;
	rec.promised = s->promised;
	rec.vbal = s->vbal;
	rec.has_value = (s->flags & TR_SLOT_VALUE) != 0;
	rec.committed = slot_committed(s);
	rec.lazy = lazy;
	if (rec.has_value)
		rec.value = s->value;
	cfg->durable(cfg->durable_arg, &rec);
}

/* S1: known, before a READ_INDEX_REPLY reveals it; only when it grew past
 * what this column last made durable (a reply that reveals nothing new
 * needs no record). */
void
durable_known(struct tr_column *c, const uint64_t known[TR_COLUMNS])
{
	const struct tr_config *cfg = &c->rep->cfg;
	struct tr_durable_rec rec;
	bool grew = false;

	if (cfg->durable == NULL)
		return;
	for (unsigned i = 0; i < TR_COLUMNS; i++)
		grew |= known[i] > c->known_durable[i];
	if (!grew)
		return;
	memset(&rec, 0, sizeof(rec));
	rec.kind = TR_DURABLE_KNOWN;
	rec.column = c->id;
	for (unsigned i = 0; i < TR_COLUMNS; i++) {
		c->known_durable[i] = u64_max(c->known_durable[i], known[i]);
		rec.known[i] = c->known_durable[i];
	}
	cfg->durable(cfg->durable_arg, &rec);
}

/* A ballot this replica made must come from an earlier life (J0: the
 * restart took a new incarnation); one from this life or later is damage. */
static bool
ballot_possible(const struct tr_replica *r, struct tr_ballot b)
{
	if (tr_ballot_none(b) || b.replica != r->cfg.id)
		return true;
	return b.inc < replica_inc(r) || (r->cfg.variant & TR_VARIANT_RESTART_SAME_INC);
}

int
tr_replica_restore(struct tr_replica *r, const struct tr_durable_rec *rec, uint64_t now_ns)
{
	struct tr_column *c;
	struct tr_slot *s;

	if (rec->column >= TR_COLUMNS || joining(r))
		return -1;
	c = &r->col[rec->column];
	if (rec->kind == TR_DURABLE_KNOWN) {
		for (unsigned i = 0; i < TR_COLUMNS; i++)
			if (rec->known[i] > TR_LSN_MAX)
				return -1;
		known_merge(r, rec->known); /* S2: known covers what was revealed */
		return 0;
	}
	if (rec->kind != TR_DURABLE_SLOT || rec->lsn >= TR_LSN_MAX ||
	    !ballot_possible(r, rec->promised) || !ballot_possible(r, rec->vbal) ||
	    (rec->has_value && rec->value.cmds_len > r->cfg.batch_bytes_max))
		return -1;
	if (rec->lsn < c->base)
		return 0; /* the snapshot covers it */
	/* The ring held every slot this replica voted in when it wrote the
	 * record: the log after the snapshot spans more than the ring only if
	 * the caller recycled past its snapshot. Damage: rejoin (J). */
	s = slot_cell(c, rec->lsn);
	if (s == NULL)
		return -1;
	if (slot_committed(s))
		return 0; /* C1: final; a later record cannot undo it */
	s->promised = rec->promised;
	s->vbal = rec->vbal;
	if (rec->has_value) {
		slot_set_value(c, s, &rec->value);
		/* P7: the owner's own commands, kept apart again. */
		if (c->owned && rec->value.proposer == r->cfg.id && rec->value.cmd_count > 0) {
			memcpy(s->own_cmds, s->cmds, rec->value.cmds_len);
			s->own_len = rec->value.cmds_len;
			s->own_count = rec->value.cmd_count;
		}
	} else {
		s->flags &= (uint8_t)~TR_SLOT_VALUE;
		memset(&s->value, 0, sizeof(s->value));
		s->value.cmds = s->cmds;
	}
	known_note(r, c->id, rec->lsn, rec->has_value ? rec->value.deps : NULL); /* D1 */
	s->seen_ns = now_ns;
	if (rec->committed)
		atomic_store_explicit(&s->committed, s->lsn + 1, memory_order_release);
	if (c->owned)
		c->next_lsn = u64_max(c->next_lsn, rec->lsn + 1); /* P1: past every allocation */
	return 0;
}

/* S2: every column continues where its records left it. The owner's own
 * slots that are not committed are retried at once (P6: never abandoned);
 * the others' are fetched or recovered by the usual timers (C2, R1).
 * S4: first attempts sent before their records were durable may be lost.
 * They lie below the restored committed prefix plus TR_LAZY_SPAN (a first
 * attempt is lazy only there, and the commits below it were durable before
 * it left), so the next own lsn starts there at the earliest, and past
 * known[own] too (what the last life revealed of its column), and every
 * own slot below it that is not committed is attempted again: a NOOP where
 * no record is left, unless a peer's vote wins (A3). Their promises are
 * assumed (promise_floor): the lost first attempts' ballots are all
 * (1, self, inc - 1) or lower. */
void
tr_replica_restored(struct tr_replica *r, uint64_t now_ns)
{
	for (unsigned i = 0; i < TR_COLUMNS; i++) {
		struct tr_column *c = &r->col[i];

		c->committed = u64_max(c->committed, c->base);
		for (;;) {
			const struct tr_slot *h = slot_find(c, c->committed);

			if (h == NULL || !slot_committed(h))
				break;
			c->committed++;
		}
		/* S4, after a life (incarnation 1 is a new directory's first) */
		if (c->owned && replica_inc(r) > 1 &&
		    !(r->cfg.variant & TR_VARIANT_NO_PROMISE_FLOOR))
			c->promise_floor = (struct tr_ballot){1, c->id, replica_inc(r) - 1};
		if (c->owned && replica_inc(r) > 1 &&
		    !(r->cfg.variant & TR_VARIANT_NO_RESTART_GAP)) {
			c->next_lsn = u64_max(c->next_lsn, c->committed + TR_LAZY_SPAN);
			c->next_lsn = u64_max(c->next_lsn, tr_known(r, c->id));
			known_note(r, c->id, c->next_lsn - 1, NULL);
		}
		if (c->owned) {
			c->gap_end = c->next_lsn;
			for (uint64_t lsn = c->committed; lsn < c->next_lsn; lsn++) {
				struct tr_slot *s = slot_cell(c, lsn);

				if (s == NULL || slot_committed(s))
					continue;
				s->flags |= TR_SLOT_ATTEMPT;
				s->timer_ns = now_ns;
				if (s->seen_ns == 0)
					s->seen_ns = now_ns;
			}
		}
		known_load(r, c->known_durable);
		c->status_at_ns = now_ns;
		c->fetch_at_ns = UINT64_MAX;
		c->next_ns = now_ns;
	}
}
