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
