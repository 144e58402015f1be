/* SPDX-License-Identifier: MIT
 * What the property tests of the prompt and of the client API (prompt_props.c,
 * client_props.c) check of an in-process cluster after their random
 * sequences: healed, it still commits writes through the client API, and
 * its three replicas converge to one digest.
 */
#ifndef TR_FUZZ_CLUSTER_CHECK_H
#define TR_FUZZ_CLUSTER_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "trireme.h"

#define CHECK_SEC 1000000000ull

static inline uint64_t
check_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * CHECK_SEC + (uint64_t)ts.tv_nsec;
}

/* Each replica's state, on stderr: what a failed liveness check goes on. */
static inline void
check_dump(struct trireme *t)
{
	for (unsigned r = 0; r < TRIREME_REPLICAS; r++) {
		struct trireme_replica_stats s;

		if (trireme_replica_stats(t, r, &s) != 0)
			continue;
		fprintf(stderr, "replica %u: inc %u serving %d rejoined %d paused %d down %d live %d%d%d "
			"committed %" PRIu64 " proposed %" PRIu64 " applied %" PRIu64
			" retries %" PRIu64 " recoveries %" PRIu64 " fetches %" PRIu64
			" too_old %" PRIu64 " snaps %" PRIu64 "/%" PRIu64 "\n", r, s.incarnation,
			s.serving, s.rejoined, s.paused, s.down, s.peer_live[0], s.peer_live[1], s.peer_live[2],
			s.committed, s.proposed, s.applied, s.retries, s.recoveries, s.fetches,
			s.too_old, s.snap_received, s.snap_installs);
		for (unsigned c = 0; c < TRIREME_REPLICAS; c++)
			fprintf(stderr, "  column %u: known %" PRIu64 " applied %" PRIu64
				" peers applied %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", c, s.known[c],
				s.applied_prefix[c], s.peer_applied[0][c], s.peer_applied[1][c],
				s.peer_applied[2][c]);
	}
}

/* No faults, nothing paused or down; waits until every replica serves and
 * has rejoined (J2). */
static inline void
check_heal(struct trireme *t)
{
	struct trireme_faults clean;
	uint64_t deadline = check_now_ns() + 30 * CHECK_SEC;
	unsigned r;

	memset(&clean, 0, sizeof(clean));
	for (r = 0; r < TRIREME_REPLICAS; r++) {
		struct trireme_replica_stats s;

		cr_assert_eq(trireme_set_faults(t, r, &clean), 0);
		cr_assert_eq(trireme_replica_stats(t, r, &s), 0);
		if (s.down)
			cr_assert_eq(trireme_replica_restart(t, r), 0);
		else if (s.paused)
			cr_assert_eq(trireme_replica_resume(t, r), 0);
	}
	for (r = 0; r < TRIREME_REPLICAS; r++) {
		struct trireme_replica_stats s;

		for (;;) {
			cr_assert_eq(trireme_replica_stats(t, r, &s), 0);
			if (s.serving && s.rejoined && !s.paused && !s.down)
				break;
			if (check_now_ns() >= deadline)
				check_dump(t);
			cr_assert(check_now_ns() < deadline, "replica %u does not serve again (serving %d, "
				  "rejoined %d, paused %d, down %d, incarnation %u)", r, s.serving,
				  s.rejoined, s.paused, s.down, s.incarnation);
			usleep(1000);
		}
	}
}

/* n writes on every replica's own new client (window 4): each completes
 * with status 0, once, within 20 s. The thread is online. */
static inline void
check_commits(struct trireme *t, unsigned n, const char *prefix)
{
	for (unsigned r = 0; r < TRIREME_REPLICAS; r++) {
		struct trireme_client *c = trireme_client_new(t, r, 4);
		uint64_t deadline = check_now_ns() + 20 * CHECK_SEC;
		unsigned sent = 0, done = 0;
		uint64_t seen = 0;

		cr_assert_not_null(c, "client on replica %u", r);
		cr_assert_leq(n, 64);
		while (done < n) {
			struct trireme_done d[4];
			unsigned k, got;

			while (sent < n && trireme_outstanding(c) < 4) {
				char key[32], val[32];
				struct trireme_op op = {.kind = TRIREME_SET, .key = key, .val = val};

				op.key_len = (uint16_t)snprintf(key, sizeof(key), "%s%u", prefix, sent);
				op.val_len = (uint32_t)snprintf(val, sizeof(val), "v%u.%u", r, sent);
				cr_assert_eq(trireme_submit(c, &op, sent), 0);
				sent++;
			}
			(void)trireme_wait(c, 100000000ull);
			got = trireme_poll(c, d, 4);
			for (k = 0; k < got; k++) {
				cr_assert_lt(d[k].tag, n);
				cr_assert_eq(d[k].status, 0, "write %" PRIu64 " on replica %u: %s",
					     d[k].tag, r, trireme_strerror(d[k].status));
				cr_assert_eq(seen & (1ull << d[k].tag), 0, "completed twice");
				seen |= 1ull << d[k].tag;
				done++;
			}
			cr_assert(check_now_ns() < deadline, "replica %u: %u of %u writes done", r,
				  done, n);
		}
		trireme_client_free(c);
	}
}

/* Every replica applied everything known, and the digests match (20 s). */
static inline void
check_converged(struct trireme *t)
{
	uint64_t deadline = check_now_ns() + 20 * CHECK_SEC;

	for (;;) {
		struct trireme_replica_stats s[TRIREME_REPLICAS];
		bool same = true;
		unsigned r, c;

		for (r = 0; r < TRIREME_REPLICAS; r++)
			cr_assert_eq(trireme_replica_stats(t, r, &s[r]), 0);
		for (r = 0; r < TRIREME_REPLICAS; r++)
			for (c = 0; c < TRIREME_REPLICAS; c++)
				same = same && s[r].applied_prefix[c] == s[r].known[c] &&
				       s[r].applied_prefix[c] == s[0].applied_prefix[c];
		if (same && s[1].kv_digest == s[0].kv_digest && s[2].kv_digest == s[0].kv_digest)
			return;
		if (check_now_ns() >= deadline)
			check_dump(t);
		cr_assert(check_now_ns() < deadline, "no convergence: digests %016" PRIx64
			  " %016" PRIx64 " %016" PRIx64, s[0].kv_digest, s[1].kv_digest,
			  s[2].kv_digest);
		usleep(1000);
	}
}

#endif
