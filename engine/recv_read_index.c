/* SPDX-License-Identifier: MIT
 * READ_INDEX at the peer (Q1) and READ_INDEX_REPLY at the reader (Q2). Both
 * travel in the reader's own column.
 */
#include "internal.h"

/* Q1 at the peer q: READ_INDEX_REPLY(id, known_q), q's current known. */
void
recv_read_index(struct tr_column *c, const struct tr_msg *m, struct tr_out *out)
{
	struct tr_msg *r;

	if (m->column != m->from) {
		c->stats.ignored++; /* not the reader's column */
		return;
	}
	r = out_msg(c, out, TR_MSG_READ_INDEX_REPLY, m->from);
	if (r == NULL)
		return; /* the reader times out and asks again */
	r->read_id = m->read_id;
	known_load(c->rep, r->known);
	durable_known(c, r->known); /* S1: the known it reveals */
}

/* Q2 at the reader r: merge known_q into known_r (D1; this is what starts R1's
 * timers for slots only q knew of), then K = known_r. Replies to an earlier
 * READ_INDEX of a barrier (retried since) are ignored: reads taken after it
 * was sent may not use it. */
void
recv_read_index_reply(struct tr_column *c, const struct tr_msg *m, uint64_t now_ns)
{
	const struct tr_config *cfg = &c->rep->cfg;
	struct tr_barrier *b = c->owned ? read_barrier(c, m->read_id, m->from) : NULL;
	uint64_t k[TR_COLUMNS];

	if (b == NULL) {
		c->stats.ignored++;
		return;
	}
	for (unsigned i = 0; i < TR_COLUMNS; i++) {
		if (m->known[i] > TR_LSN_MAX) {
			c->stats.ignored++;
			return;
		}
	}
	if (cfg->variant & TR_VARIANT_READ_PEER_KNOWN_ONLY) {
		memcpy(k, m->known, sizeof(k)); /* known-bad */
	} else if (cfg->variant & TR_VARIANT_READ_OWN_KNOWN_ONLY) {
		memcpy(k, b->own_known, sizeof(k)); /* known-bad */
	} else if (cfg->variant & TR_VARIANT_READ_NO_MERGE) {
		known_load(c->rep, k); /* known-bad: no R1 timers for q's slots */
		for (unsigned i = 0; i < TR_COLUMNS; i++)
			k[i] = u64_max(k[i], m->known[i]);
	} else {
		known_merge(c->rep, m->known);
		known_load(c->rep, k);
	}
	read_answered(c, b, k, now_ns);
}
