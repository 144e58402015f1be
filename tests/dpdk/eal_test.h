/* SPDX-License-Identifier: MIT
 * EAL for one test process: lcores 0-1, no hugepages, no PCI, a file prefix
 * of its own; DPDK telemetry only when a test reads it. */
#ifndef TR_EAL_TEST_H
#define TR_EAL_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include "trireme.h"

static inline void
eal_test_init(bool telemetry)
{
	char prefix[64];
	char *argv[] = {"test", "-l", "0-1", "--no-huge", "--no-pci", "--no-shconf", prefix,
			"--log-level=*:error", "-m", "512", "--no-telemetry", NULL};
	int argc = telemetry ? 10 : 11;

	snprintf(prefix, sizeof(prefix), "--file-prefix=trt%d", getpid());
	cr_assert(rte_eal_init(argc, argv) >= 0, "EAL: %s", rte_strerror(rte_errno));
}

/* The instance a test runs (set it at start): an assertion that fails
 * leaves it running, and the suite's fini (eal_test_fini) stops it before
 * EAL goes. A test that ends well stops it with eal_test_stop. */
static struct trireme *eal_test_running __attribute__((unused));

static inline void
eal_test_fini(void)
{
	trireme_stop(eal_test_running);
	rte_eal_cleanup();
}

static inline void
eal_test_stop(struct trireme *t)
{
	eal_test_running = NULL;
	trireme_stop(t);
}

/* Nanoseconds from the TSC. */
static inline uint64_t
eal_test_now_ns(void)
{
	return (uint64_t)((double)rte_get_tsc_cycles() * 1e9 / (double)rte_get_tsc_hz());
}

/* Waits (at most ns) until every replica is at the same applied frontier,
 * equal to its known, with the same digest; fails naming both. */
static inline void
eal_test_converge(struct trireme *t, uint64_t ns)
{
	uint64_t deadline = eal_test_now_ns() + ns;

	for (;;) {
		struct trireme_replica_stats s[3];
		bool same = true;

		for (unsigned r = 0; r < 3; r++)
			trireme_replica_stats(t, r, &s[r]);
		for (unsigned r = 0; r < 3; r++)
			for (unsigned c = 0; c < 3; c++)
				same = same && s[r].applied_prefix[c] == s[r].known[c] &&
				       s[r].applied_prefix[c] == s[0].applied_prefix[c];
		same = same && s[1].kv_digest == s[0].kv_digest &&
		       s[2].kv_digest == s[0].kv_digest;
		if (same)
			return;
		if (eal_test_now_ns() >= deadline)
			cr_assert_fail("no convergence: applied %lu/%lu/%lu, %lu/%lu/%lu, "
				       "%lu/%lu/%lu; digests %lx %lx %lx",
				       s[0].applied_prefix[0], s[0].applied_prefix[1],
				       s[0].applied_prefix[2], s[1].applied_prefix[0],
				       s[1].applied_prefix[1], s[1].applied_prefix[2],
				       s[2].applied_prefix[0], s[2].applied_prefix[1],
				       s[2].applied_prefix[2], s[0].kv_digest, s[1].kv_digest,
				       s[2].kv_digest);
		usleep(2000);
	}
}

#endif
