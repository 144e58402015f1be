/* SPDX-License-Identifier: MIT
 * What a replica shows: trireme_replica_stats and _status, and DPDK
 * telemetry (/trireme/replica,<id> and /trireme/lcores).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "runtime.h"

static struct trireme *telemetry_target; /* one runtime per process */

/* DPDK telemetry: /trireme/replica,<id> and /trireme/lcores. */
static int
tel_replica(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct trireme *t = telemetry_target;
	struct trireme_replica_stats s;
	struct trireme_durable_stats ds;
	struct rte_tel_data *hist;
	unsigned id = params != NULL ? (unsigned)atoi(params) : 0;

	(void)cmd;
	if (t == NULL || trireme_replica_stats(t, id, &s) != 0)
		return -EINVAL;
	rte_tel_data_start_dict(d);
#define TEL_U64(name) rte_tel_data_add_dict_u64(d, #name, s.name)
	TEL_U64(applied);
	TEL_U64(applied_cmds);
	TEL_U64(kv_digest);
	TEL_U64(keys);
	TEL_U64(committed);
	TEL_U64(proposed);
	TEL_U64(retries);
	TEL_U64(recoveries);
	TEL_U64(fetches);
	TEL_U64(rejects);
	TEL_U64(rx_pkts);
	TEL_U64(tx_pkts);
	TEL_U64(tx_bytes);
	TEL_U64(rx_msgs);
	TEL_U64(tx_msgs);
	TEL_U64(drops_fault);
	TEL_U64(drops_malformed);
	TEL_U64(drops_foreign);
	TEL_U64(drops_tx_full);
	TEL_U64(too_old);
	TEL_U64(paced);
	TEL_U64(drops_implausible);
	TEL_U64(drops_auth);
	TEL_U64(auth_key_errors);
	TEL_U64(snap_sent);
	TEL_U64(snap_received);
	TEL_U64(snap_bytes_tx);
	TEL_U64(snap_bytes_rx);
	TEL_U64(snap_installs);
	TEL_U64(snap_failed);
	TEL_U64(incarnation);
	TEL_U64(down);
	TEL_U64(serving);
	TEL_U64(rejoined);
	TEL_U64(log_failed);
	TEL_U64(remote_requests);
	TEL_U64(remote_replies);
	TEL_U64(remote_drops);
	if (trireme_durable_stats(t, id, &ds) == 0) {
#define TEL_DUR(name) rte_tel_data_add_dict_u64(d, #name, ds.name)
		TEL_DUR(wal_records);
		TEL_DUR(wal_syncs);
		TEL_DUR(wal_bytes);
		TEL_DUR(wal_sync_ns);
		TEL_DUR(disk_snapshots);
		TEL_DUR(wal_trimmed);
		TEL_DUR(wal_torn_bytes);
		TEL_DUR(wal_damage);
#undef TEL_DUR
	}
#undef TEL_U64
	for (unsigned i = 0; i < TR_IMPLAUSIBLE_COUNT; i++) {
		char name[48];

		snprintf(name, sizeof(name), "implausible_%s", trireme_implausible_name(i));
		rte_tel_data_add_dict_u64(d, name, s.implausible[i]);
	}
	rte_tel_data_add_dict_u64(d, "violation", rt_violated(&t->reps[id]));
	if (rt_violated(&t->reps[id]))
		rte_tel_data_add_dict_string(d, "violation_why",
					     atomic_load(&t->reps[id].eng.violation_why));
	hist = rte_tel_data_alloc();
	if (hist != NULL) {
		rte_tel_data_start_array(hist, RTE_TEL_U64_VAL);
		for (unsigned b = 0; b < RT_LAT_BUCKETS; b++)
			rte_tel_data_add_array_u64(hist,
				__atomic_load_n(&t->reps[id].lat_hist[b], __ATOMIC_RELAXED));
		rte_tel_data_add_dict_container(d, "latency_log2_ns", hist, 0);
	}
	return 0;
}

static int
tel_lcores(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct trireme *t = telemetry_target;

	(void)cmd;
	(void)params;
	if (t == NULL)
		return -EINVAL;
	rte_tel_data_start_dict(d);
	for (unsigned i = 0; i < t->nlcores; i++) {
		const struct rt_lcore *l = &t->lcores[i];
		uint64_t rx = 0, tx = 0;
		char name[32];

		for (unsigned k = 0; k < l->ntasks; k++) {
			rx += __atomic_load_n(&l->tasks[k]->rx_pkts, __ATOMIC_RELAXED);
			tx += __atomic_load_n(&l->tasks[k]->tx_pkts, __ATOMIC_RELAXED);
		}
		snprintf(name, sizeof(name), "lcore%u_rx_pkts", l->lcore);
		rte_tel_data_add_dict_u64(d, name, rx);
		snprintf(name, sizeof(name), "lcore%u_tx_pkts", l->lcore);
		rte_tel_data_add_dict_u64(d, name, tx);
		snprintf(name, sizeof(name), "lcore%u_tasks", l->lcore);
		rte_tel_data_add_dict_u64(d, name, l->ntasks);
	}
	return 0;
}
void
rt_telemetry_start(struct trireme *t)
{
	telemetry_target = t;
	rte_telemetry_register_cmd("/trireme/replica", tel_replica,
				   "Stats of a local replica. Parameters: int replica id");
	rte_telemetry_register_cmd("/trireme/lcores", tel_lcores,
				   "Packets per worker lcore. Takes no parameters");
}

void
rt_telemetry_stop(struct trireme *t)
{
	if (telemetry_target == t)
		telemetry_target = NULL;
}

_Static_assert(TR_IMPLAUSIBLE_COUNT <= TRIREME_IMPLAUSIBLE_MAX, "room for every reason");

const char *
trireme_implausible_name(unsigned reason)
{
	static const char *const names[] = {
#define TR_IMPLAUSIBLE_SHORT(name, text) #name,
		TR_IMPLAUSIBLE(TR_IMPLAUSIBLE_SHORT)
#undef TR_IMPLAUSIBLE_SHORT
	};

	return reason < TR_IMPLAUSIBLE_COUNT ? names[reason] : NULL;
}

int
trireme_replica_stats(struct trireme *t, unsigned replica, struct trireme_replica_stats *s)
{
	struct rt_replica *r = rt_local_replica(t, replica);
	uint64_t now = rt_now_ns(t);

	if (r == NULL)
		return -TRIREME_EINVAL;
	memset(s, 0, sizeof(*s));
	s->applied = atomic_load(&r->applied);
	s->applied_cmds = __atomic_load_n(&r->sm.applied_cmds, __ATOMIC_RELAXED);
	s->kv_digest = __atomic_load_n(&r->sm.digest, __ATOMIC_RELAXED);
	s->keys = atomic_load(&r->keys);
	s->paused = atomic_load(&r->paused);
	s->down = atomic_load(&r->down);
	s->log_failed = !s->down && atomic_load(&r->dur.failed);
	s->serving = !s->down && !s->log_failed && tr_replica_serving(&r->eng) &&
		     tr_replica_vouched(&r->eng);
	s->rejoined = !s->down && tr_replica_rejoined(&r->eng);
	s->incarnation = tr_replica_inc(&r->eng);
	s->snap_sent = __atomic_load_n(&r->snap.sent, __ATOMIC_RELAXED);
	s->snap_received = __atomic_load_n(&r->snap.received, __ATOMIC_RELAXED);
	s->snap_bytes_tx = __atomic_load_n(&r->snap.bytes_tx, __ATOMIC_RELAXED);
	s->snap_bytes_rx = __atomic_load_n(&r->snap.bytes_rx, __ATOMIC_RELAXED);
	s->snap_installs = __atomic_load_n(&r->snap.installs, __ATOMIC_RELAXED);
	s->auth_key_errors = atomic_load(&t->auth.key_errors);
	s->snap_failed = __atomic_load_n(&r->snap.failed, __ATOMIC_RELAXED) +
			 __atomic_load_n(&r->snap.discarded, __ATOMIC_RELAXED);
	{
		struct rt_remote_stats rs;

		rt_remote_stats(r->remote, &rs);
		s->remote_requests = rs.requests;
		s->remote_replies = rs.replies;
		for (unsigned d = 1; d < TRP_DROP_COUNT; d++)
			s->remote_drops += rs.drops[d];
	}
	for (unsigned c = 0; c < TR_COLUMNS; c++) {
		const struct rt_task *k = &r->tasks[c];
		const struct tr_column_stats *cs = &k->col->stats;

		s->known[c] = tr_known(&r->eng, c);
		for (unsigned q = 0; q < TR_REPLICAS; q++) {
			uint64_t heard = __atomic_load_n(&k->col->peers[q].heard_ns, __ATOMIC_RELAXED);

			s->peer_applied[q][c] = q == r->id ? atomic_load(&r->eng.shared.applied[c])
				: __atomic_load_n(&k->col->peers[q].applied, __ATOMIC_RELAXED);
			s->peer_live[q] |= q == r->id || (heard != 0 && now - heard < 1000000000ull);
		}
		s->too_old += __atomic_load_n(&cs->too_old_rx, __ATOMIC_RELAXED);
		s->paced += __atomic_load_n(&cs->paced, __ATOMIC_RELAXED);
		for (unsigned i = 0; i < TR_IMPLAUSIBLE_COUNT; i++) {
			uint64_t n = __atomic_load_n(&cs->implausible[i], __ATOMIC_RELAXED);

			s->drops_implausible += n;
			s->implausible[i] += n;
		}
		s->applied_prefix[c] = atomic_load(&r->eng.shared.applied[c]);
		s->committed += __atomic_load_n(&cs->committed, __ATOMIC_RELAXED);
		s->proposed += __atomic_load_n(&cs->proposed, __ATOMIC_RELAXED);
		s->retries += __atomic_load_n(&cs->retries, __ATOMIC_RELAXED);
		s->recoveries += __atomic_load_n(&cs->recoveries, __ATOMIC_RELAXED);
		s->fetches += __atomic_load_n(&cs->fetches, __ATOMIC_RELAXED);
		s->rejects += __atomic_load_n(&cs->rejects_sent, __ATOMIC_RELAXED);
		s->barrier_reads += __atomic_load_n(&cs->reads, __ATOMIC_RELAXED);
		s->read_barriers += __atomic_load_n(&cs->read_barriers, __ATOMIC_RELAXED);
		s->rx_pkts += __atomic_load_n(&k->rx_pkts, __ATOMIC_RELAXED);
		s->tx_pkts += __atomic_load_n(&k->tx_pkts, __ATOMIC_RELAXED);
		s->tx_bytes += __atomic_load_n(&k->tx_bytes, __ATOMIC_RELAXED);
		s->rx_msgs += __atomic_load_n(&k->rx_msgs_n, __ATOMIC_RELAXED);
		s->tx_msgs += __atomic_load_n(&k->tx_msgs_n, __ATOMIC_RELAXED);
		s->drops_fault += __atomic_load_n(&k->drops_fault, __ATOMIC_RELAXED);
		s->drops_malformed += __atomic_load_n(&k->drops_malformed, __ATOMIC_RELAXED);
		s->drops_auth += __atomic_load_n(&k->drops_auth, __ATOMIC_RELAXED);
		s->drops_tx_full += __atomic_load_n(&k->drops_tx_full, __ATOMIC_RELAXED) +
				    __atomic_load_n(&k->drops_nombuf, __ATOMIC_RELAXED);
		for (unsigned d = 1; d < TR_NET_DROP_COUNT; d++)
			s->drops_foreign += __atomic_load_n(&k->net.drops[d], __ATOMIC_RELAXED);
	}
	return 0;
}

int
trireme_durable_stats(struct trireme *t, unsigned replica, struct trireme_durable_stats *s)
{
	struct rt_replica *r = rt_local_replica(t, replica);

	if (r == NULL || s == NULL)
		return -TRIREME_EINVAL;
	memset(s, 0, sizeof(*s));
	for (unsigned c = 0; r->dur.on && c < TR_COLUMNS; c++) {
		const struct tr_wal_stats *w = &r->dur.wal[c].stats;

		s->wal_records += __atomic_load_n(&w->records, __ATOMIC_RELAXED);
		s->wal_syncs += __atomic_load_n(&w->syncs, __ATOMIC_RELAXED);
		s->wal_bytes += __atomic_load_n(&w->bytes, __ATOMIC_RELAXED);
		s->wal_sync_ns += __atomic_load_n(&w->sync_ns, __ATOMIC_RELAXED);
		s->wal_trimmed += __atomic_load_n(&w->trimmed, __ATOMIC_RELAXED);
	}
	s->disk_snapshots = atomic_load(&r->dur.snapshots);
	s->wal_torn_bytes = atomic_load(&r->dur.torn_bytes);
	s->wal_damage = atomic_load(&r->dur.damage);
	return 0;
}

int
trireme_replica_status(struct trireme *t, unsigned replica, struct trireme_replica_status *st)
{
	struct rt_replica *r = rt_local_replica(t, replica);

	if (r == NULL || st == NULL)
		return -TRIREME_EINVAL;
	memset(st, 0, sizeof(*st));
	st->violation = rt_violated(r);
	st->why = st->violation ? atomic_load(&r->eng.violation_why) : NULL;
	st->paused = atomic_load(&r->paused);
	return 0;
}
