/* SPDX-License-Identifier: MIT
 * Simulator clients' operations, and the held messages of manual mode.
 */
#include "sim_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct op *
sim_op_new(struct sim *s, struct client *c, uint8_t op, const char *key, const char *val)
{
	struct op *o;
	uint64_t seq = c->next_seq++;

	if (s->nops == s->ops_cap) {
		s->ops_cap = s->ops_cap ? 2 * s->ops_cap : 1024;
		s->ops = realloc(s->ops, s->ops_cap * sizeof(*s->ops));
	}
	if (seq > c->op_cap) {
		c->op_cap = c->op_cap ? 2 * c->op_cap : 256;
		c->op_idx = realloc(c->op_idx, c->op_cap * sizeof(*c->op_idx));
	}
	c->op_idx[seq - 1] = s->nops;
	o = &s->ops[s->nops++];
	memset(o, 0, sizeof(*o));
	o->client = c->id;
	o->cid = c->id + (uint64_t)c->life * s->nclients;
	o->seq = seq;
	o->op = op;
	snprintf(o->key, sizeof(o->key), "%s", key);
	snprintf(o->val, sizeof(o->val), "%s", val != NULL ? val : "");
	return o;
}

struct op *
sim_op_new_large(struct sim *s, struct client *c, const char *key, uint32_t len)
{
	char tag[32];
	size_t total = tr_large_bytes((uint16_t)strlen(key), len);
	struct op *o;

	snprintf(tag, sizeof(tag), "L%u:c%u-%" PRIu64, len, c->id, c->next_seq);
	o = sim_op_new(s, c, TR_OP_SET, key, tag);
	o->parts = (uint8_t)((total + SIM_PART_BYTES - 1) / SIM_PART_BYTES);
	for (unsigned k = 1; k < o->parts; k++) {
		uint64_t seq = c->next_seq++;

		if (seq > c->op_cap) {
			c->op_cap *= 2;
			c->op_idx = realloc(c->op_idx, c->op_cap * sizeof(*c->op_idx));
		}
		c->op_idx[seq - 1] = (uint32_t)(o - s->ops);
	}
	return o;
}

static uint64_t
tag_hash(const char *tag)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; *tag != 0; tag++)
		h = (h ^ (uint8_t)*tag) * UINT64_C(0x100000001b3);
	return h;
}

uint32_t
sim_large_bytes(const char *tag, uint8_t *buf)
{
	size_t tl = strlen(tag);
	uint64_t h = tag_hash(tag);
	uint32_t len;

	if (tag[0] != 'L' || sscanf(tag + 1, "%u", &len) != 1 || len < SIM_LARGE_MIN ||
	    len > SIM_LARGE_MAX)
		return 0;
	memcpy(buf, tag, tl);
	buf[tl] = '#';
	for (uint32_t i = (uint32_t)tl + 1; i < len; i++) {
		h = h * UINT64_C(6364136223846793005) + 1442695040888963407u;
		buf[i] = (uint8_t)(h >> 56);
	}
	return len;
}

const char *
sim_large_tag(const uint8_t *val, uint32_t len, char *tag, size_t cap)
{
	static uint8_t want[SIM_LARGE_MAX];
	const uint8_t *end;

	if (len < SIM_VAL_MAX && (len == 0 || val[0] != 'L'))
		return NULL;
	end = memchr(val, '#', len < cap ? len : cap - 1);
	if (end == NULL)
		return "CORRUPT";
	memcpy(tag, val, (size_t)(end - val));
	tag[end - val] = 0;
	if (sim_large_bytes(tag, want) != len || memcmp(want, val, len) != 0)
		return "CORRUPT";
	return tag;
}

/* Takes back the op sim_op_new() or sim_op_new_large() just made (the
 * submit was refused). */
void
sim_op_unissue(struct sim *s, struct client *c)
{
	struct op *o = &s->ops[s->nops - 1];

	c->next_seq -= o->parts > 0 ? o->parts : 1;
	s->nops--;
}

struct op *
sim_op_lookup(struct sim *s, uint64_t client, uint64_t seq)
{
	struct client *c;

	struct op *o;

	c = &s->clients[client % s->nclients];
	if (seq == 0 || seq >= c->next_seq)
		return NULL;
	o = &s->ops[c->op_idx[seq - 1]];
	return o->cid == client ? o : NULL;
}

/* The oldest sequence still outstanding (a client never runs more than W
 * sequences ahead of it, so no write of its is ever "too old", §8). */
uint64_t
sim_client_oldest(const struct sim *s, const struct client *c)
{
	for (uint64_t seq = c->next_seq > SIM_W ? c->next_seq - SIM_W : 1; seq < c->next_seq; seq++) {
		const struct op *o = &s->ops[c->op_idx[seq - 1]];

		/* A large set's part: outstanding until answered. */
		if (!o->done && !o->lost &&
		    (o->parts == 0 || !((o->answered >> (seq - o->seq)) & 1)))
			return seq;
	}
	return c->next_seq;
}

void
sim_hold(struct sim *s, const struct tr_msg *m)
{
	struct held *h;

	if (s->nheld == s->held_cap) {
		s->held_cap = s->held_cap ? 2 * s->held_cap : 64;
		s->held = realloc(s->held, s->held_cap * sizeof(*s->held));
	}
	h = &s->held[s->nheld++];
	h->m = *m;
	h->cmds = NULL;
	if (m->value.cmds_len > 0) {
		h->cmds = malloc(m->value.cmds_len);
		memcpy(h->cmds, m->value.cmds, m->value.cmds_len);
	}
	h->m.value.cmds = h->cmds;
}

void
sim_held_free(struct sim *s)
{
	for (unsigned i = 0; i < s->nheld; i++)
		free(s->held[i].cmds);
	free(s->held);
}

unsigned
sim_held(const struct sim *s)
{
	return s->nheld;
}

const struct tr_msg *
sim_held_msg(const struct sim *s, unsigned i)
{
	return i < s->nheld ? &s->held[i].m : NULL;
}

static void
held_remove(struct sim *s, unsigned i)
{
	free(s->held[i].cmds);
	memmove(&s->held[i], &s->held[i + 1], (s->nheld - i - 1) * sizeof(*s->held));
	s->nheld--;
}

/* Delivery goes through the codec as in the automatic network. */
void
sim_deliver(struct sim *s, unsigned i)
{
	static uint8_t buf[1 << 16];
	struct held h = s->held[i];
	struct tr_frame_writer w;
	struct tr_frame_hdr hdr = {.cluster_id = s->cfg_cluster, .from = h.m.from, .to = h.m.to,
				   .column = h.m.column, .inc = h.m.inc};
	size_t len;

	tr_frame_begin(&w, buf, sizeof(buf), &hdr);
	if (tr_frame_add(&w, &h.m) != 0)
		sim_violation_add(s, "codec: held message does not fit a frame");
	len = tr_frame_end(&w);
	h.cmds = NULL; /* the frame has its own copy now */
	held_remove(s, i);
	if (!s->nodes[hdr.to].crashed)
		sim_recv_frame(s, hdr.to, buf, len);
}

void
sim_drop(struct sim *s, unsigned i)
{
	held_remove(s, i);
}

int
sim_find(const struct sim *s, int type, int from, int to, int column, int64_t lsn)
{
	for (unsigned i = 0; i < s->nheld; i++) {
		const struct tr_msg *m = &s->held[i].m;

		if ((type < 0 || m->type == type) && (from < 0 || m->from == from) &&
		    (to < 0 || m->to == to) && (column < 0 || m->column == column) &&
		    (lsn < 0 || (int64_t)m->lsn == lsn))
			return (int)i;
	}
	return -1;
}

const char *
sim_apply_order(struct sim *s, unsigned replica)
{
	struct node *n = &s->nodes[replica];
	size_t off = 0;

	n->order_text[0] = 0;
	for (size_t i = 0; i < n->seq_len && off + 24 < sizeof(n->order_text); i++)
		off += (size_t)snprintf(n->order_text + off, sizeof(n->order_text) - off, "%s%c%llu",
					i ? " " : "", 'a' + n->seq[i].column,
					(unsigned long long)n->seq[i].lsn);
	return n->order_text;
}

/* A message from no replica's engine (a hostile peer on the network), through
 * the codec, delivered at once. */
void
sim_inject(struct sim *s, const struct tr_msg *m)
{
	sim_hold(s, m);
	sim_deliver(s, s->nheld - 1);
}

uint64_t
sim_digest(const struct sim *s, unsigned replica)
{
	return tr_sm_digest(&s->nodes[replica].sm);
}
