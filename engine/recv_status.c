/* SPDX-License-Identifier: MIT
 * STATUS: the liveness beacon; it feeds catch-up (C2) and truncation, never
 * this replica's own known.
 */
#include "internal.h"

void
recv_status(struct tr_column *c, const struct tr_msg *m, uint64_t now_ns)
{
	struct tr_peer *p = &c->peers[m->from];
	const struct tr_config *cfg = &c->rep->cfg;
	/* H2 (plausible.c): a claim beyond the window is clamped to it, never
	 * dropped: it still starts the catch-up that moves the window. */
	uint64_t h = plausible_horizon(c, c->id);
	uint64_t committed = u64_min(m->committed, h);
	uint64_t was;

	/* Every replica must decide every command alike: limits that can refuse
	 * one are the cluster's, not a replica's. */
	if (m->sm_keys_max != cfg->sm_keys_max || m->sm_clients_max != cfg->sm_clients_max) {
		config_mismatch(c->rep, m->from, m->sm_keys_max, m->sm_clients_max);
		return;
	}

	/* J5 (this project's): in a life that did not join, a peer's echo of
	 * this column's committed prefix never exceeds it: the prefix only
	 * grows, and S1 made it durable before a STATUS said it. */
	if (m->heard > c->committed && !cfg->join && !(cfg->variant & TR_VARIANT_NO_MEMORY_CHECK)) {
		memory_behind(c->rep, m->from, c->id, m->heard, c->committed, false);
		return;
	}
	if (!(atomic_load_explicit(&c->rep->shared.vouched, memory_order_relaxed) &
	      (1u << c->id)))
		atomic_fetch_or_explicit(&c->rep->shared.vouched, 1u << c->id,
					 memory_order_release);
	if (committed < m->committed)
		c->stats.status_clamped++;
	p->committed = u64_max(p->committed, committed);
	p->said = u64_max(p->said, m->committed);
	/* T4: it hears us as far as it echoes; never beyond what we said. */
	p->heard_us = u64_max(p->heard_us, u64_min(m->heard, c->committed));
	was = p->applied;
	p->applied = u64_max(p->applied, u64_min(m->applied, committed));
	catchup_note(c, m->from, was, now_ns); /* T4 */
	if (p->committed > c->committed) {
		c->fetch_at_ns = u64_min(c->fetch_at_ns, now_ns + c->rep->cfg.fetch_ns);
		arm(c, c->fetch_at_ns);
	}
}
