/* SPDX-License-Identifier: MIT
 * LD_PRELOAD for the launcher test: trireme_replica_status reports replica 1
 * stopped on a safety violation from the tenth call on (the library's own
 * report is tested in test_lifecycle.c; this tests what the launcher does
 * with it). */
#define _GNU_SOURCE
#include <dlfcn.h>

#include "trireme.h"

int
trireme_replica_status(struct trireme *t, unsigned replica, struct trireme_replica_status *st)
{
	static unsigned calls;
	int (*real)(struct trireme *, unsigned, struct trireme_replica_status *) =
		(int (*)(struct trireme *, unsigned, struct trireme_replica_status *))dlsym(
			RTLD_NEXT, "trireme_replica_status");
	int rc = real(t, replica, st);

	if (rc == 0 && replica == 1 && ++calls >= 10) {
		st->violation = true;
		st->why = "A3: injected by the test";
	}
	return rc;
}
