/* SPDX-License-Identifier: MIT
 * How the launcher and its prompt show a replica's counters and state.
 */
#ifndef TRIREME_TOOLS_REPLICA_VIEW_H
#define TRIREME_TOOLS_REPLICA_VIEW_H

#include <stdint.h>

#include "trireme.h"

/* Packets dropped, for every reason. */
static inline uint64_t
replica_drops(const struct trireme_replica_stats *s)
{
	return s->drops_fault + s->drops_malformed + s->drops_foreign + s->drops_tx_full +
	       s->drops_auth;
}

/* ", paused", ", crashed", ... for a summary line; "" for a replica that
 * serves and has rejoined (§12 J2: it no longer counts as the one failure). */
static inline const char *
replica_state(const struct trireme_replica_stats *s)
{
	return s->paused ? ", paused"
	       : s->down ? ", crashed"
	       : s->log_failed ? ", its log could not be written"
	       : !s->serving ? ", not serving"
	       : !s->rejoined ? ", rejoining"
	       : "";
}

#endif
