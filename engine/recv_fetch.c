/* SPDX-License-Identifier: MIT
 * C2: answer a FETCH with the committed values among the slots asked for;
 * T1: "too old" for what was recycled.
 */
#include "internal.h"

void
recv_fetch(struct tr_column *c, const struct tr_msg *m, struct tr_out *out)
{
	uint64_t end = u64_min(m->lsn_end, m->lsn + c->rep->cfg.fetch_span_max);

	if (c->rep->cfg.variant & TR_VARIANT_NO_FETCH_ANSWER)
		return; /* known-bad (C2) */
	if (m->lsn < c->base)
		send_too_old(c, m->from, out); /* T1: recycled: the asker needs a snapshot */

	for (uint64_t lsn = m->lsn; lsn < end; lsn++) {
		const struct tr_slot *s = slot_find(c, lsn);
		struct tr_msg *r;

		if (s == NULL || !slot_committed(s))
			continue;
		r = out_msg(c, out, TR_MSG_FETCH_REPLY, m->from);
		if (r == NULL)
			return;
		r->lsn = lsn;
		r->value = s->value;
	}
}
