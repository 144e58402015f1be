/* SPDX-License-Identifier: MIT
 * An embedder's first program, in the subset of C and C++ both compile: it
 * includes the installed <trireme.h> and <trireme_sm.h>, links -ltrireme from pkg-config, and
 * checks the versions and the error before rte_eal_init. tests/abi/
 * test_consumer.sh builds it as C11 and as C++11. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <trireme.h>
#include <trireme_sm.h>

/* struct trireme_conf is part of libtrireme.so.0's ABI: an option taken from
 * reserved bytes (conf.idle from reserved_pad) moves no field (LP64). */
#if UINTPTR_MAX == UINT64_MAX
static_assert(sizeof(struct trireme_conf) == 424, "trireme_conf: size changed");
static_assert(offsetof(struct trireme_conf, seed) == 352, "trireme_conf: seed moved");
static_assert(offsetof(struct trireme_conf, serve_clients) == 402, "trireme_conf: moved");
static_assert(offsetof(struct trireme_conf, sync) == 404, "trireme_conf: sync moved");
static_assert(offsetof(struct trireme_conf, idle) == 405, "trireme_conf: idle moved");
static_assert(offsetof(struct trireme_conf, data_dir) == 408, "trireme_conf: data_dir moved");
static_assert(offsetof(struct trireme_conf, cluster_id) == 416, "trireme_conf: moved");
static_assert(offsetof(struct trireme_conf, reserved) == 420, "trireme_conf: reserved moved");
/* The stats too: rejoined took the first of the last reserved bytes. */
static_assert(sizeof(struct trireme_replica_stats) == 488, "replica_stats: size changed");
static_assert(offsetof(struct trireme_replica_stats, paced) == 472, "replica_stats: moved");
static_assert(offsetof(struct trireme_replica_stats, rejoined) == 480, "replica_stats: moved");
#endif

int
main(int argc, char **argv)
{
	struct trireme_conf conf;
	struct trireme *t;
	char want[32], err[256] = "";
	int rc;

	snprintf(want, sizeof(want), "%d.%d.%d", TRIREME_VERSION_MAJOR, TRIREME_VERSION_MINOR,
		 TRIREME_VERSION_PATCH);
	if (strcmp(want, TRIREME_VERSION) != 0 || strcmp(trireme_version(), TRIREME_VERSION) != 0 ||
	    (argc > 1 && strcmp(argv[1], TRIREME_VERSION) != 0)) {
		fprintf(stderr, "embed: versions differ: header %s (%s), library %s, project %s\n",
			TRIREME_VERSION, want, trireme_version(), argc > 1 ? argv[1] : "?");
		return 1;
	}
	trireme_conf_default(&conf);
	rc = trireme_start(&conf, &t, err, sizeof(err));
	if (rc != -TRIREME_ENOEAL || strstr(err, "rte_eal_init") == NULL) {
		fprintf(stderr, "embed: trireme_start before rte_eal_init returned %d (%s): %s\n",
			rc, trireme_strerror(rc), err);
		return 1;
	}
	printf("embed: libtrireme %s; before rte_eal_init: %s\n", trireme_version(), err);
	return 0;
}
