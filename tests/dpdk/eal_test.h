/* SPDX-License-Identifier: MIT
 * EAL for one test process: lcores 0-1, no hugepages, no PCI, a file prefix
 * of its own; DPDK telemetry only when a test reads it. */
#ifndef TR_EAL_TEST_H
#define TR_EAL_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include <criterion/criterion.h>
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

#endif
