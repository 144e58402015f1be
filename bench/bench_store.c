/* SPDX-License-Identifier: MIT
 * bench-store: what the applier pays per command in the runtime's store
 * (dpdk/kvstore.c: open addressing, values freed with call_rcu), through the state
 * machine exactly as the applier calls it (tr_sm_apply), in one thread.
 *
 *   bench-store [--keys N] [--ops N] [--value-size B]
 *
 * One JSON line per operation kind on stdout: ns per set, per get.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu/urcu-qsbr.h>

#include "args.h"
#include "kv.h"
#include "kvstore.h"

#define CLIENTS 64

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench-store [--keys N] [--ops N] [--value-size B]\n");
}

/* ns per command of op over ops commands on keys k0 .. k<keys-1>. */
static double
run(struct tr_sm *sm, uint8_t op, unsigned long keys, unsigned long ops, const uint8_t *val,
    uint32_t val_len, uint64_t *seq)
{
	uint64_t x = 1;
	char key[24];
	double t0 = now_ns();

	for (unsigned long i = 0; i < ops; i++) {
		struct tr_sm_result r;
		struct tr_cmd c = {.op = op, .client_id = 1, .seq = ++*seq, .window = 64,
				   .key = (const uint8_t *)key, .val = val, .val_len = val_len};

		x = x * 6364136223846793005ull + 1442695040888963407ull;
		c.key_len = (uint16_t)snprintf(key, sizeof(key), "k%lu", (unsigned long)(x >> 33) % keys);
		tr_sm_apply(sm, &c, &r);
		if (r.status != TR_ST_OK) {
			fprintf(stderr, "bench-store: %s answered %s\n", op == TR_OP_SET ? "set" : "get",
				tr_status_str(r.status));
			exit(1);
		}
		if (i % 64 == 63)
			urcu_qsbr_quiescent_state(); /* as the applier does after a pass */
	}
	return (now_ns() - t0) / (double)ops;
}

int
main(int argc, char **argv)
{
	static struct tr_client_rec recs[CLIENTS];
	static uint8_t val[4096];
	unsigned long keys = 10000, ops = 2000000, vsize = 16;
	struct tr_kvstore *kvs;
	struct tr_sm sm;
	uint64_t seq = 0;
	double set_ns, get_ns;

	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--keys") == 0) {
			keys = bench_arg(argv[++i], 1, 10000000, usage);
		} else if (i + 1 < argc && strcmp(argv[i], "--ops") == 0) {
			ops = bench_arg(argv[++i], 1, 1000000000, usage);
		} else if (i + 1 < argc && strcmp(argv[i], "--value-size") == 0) {
			vsize = bench_arg(argv[++i], 0, sizeof(val), usage);
		} else {
			usage();
			return 2;
		}
	}
	memset(val, 'v', sizeof(val));
	urcu_qsbr_register_thread();
	kvs = tr_kvstore_new(1024, keys);
	if (kvs == NULL) {
		fprintf(stderr, "bench-store: cannot create the store\n");
		return 1;
	}
	tr_sm_init(&sm, &tr_kvstore_ops, kvs, recs, CLIENTS);
	run(&sm, TR_OP_SET, keys, keys * 4, val, (uint32_t)vsize, &seq); /* fill, warm */
	set_ns = run(&sm, TR_OP_SET, keys, ops, val, (uint32_t)vsize, &seq);
	get_ns = run(&sm, TR_OP_GET, keys, ops, NULL, 0, &seq);
	printf("{\"bench\":\"store\",\"op\":\"set\",\"keys\":%lu,\"value_size\":%lu,\"ops\":%lu,"
	       "\"ns_per_op\":%.1f}\n", keys, vsize, ops, set_ns);
	printf("{\"bench\":\"store\",\"op\":\"get\",\"keys\":%lu,\"value_size\":%lu,\"ops\":%lu,"
	       "\"ns_per_op\":%.1f}\n", keys, vsize, ops, get_ns);
	tr_kvstore_free(kvs);
	urcu_qsbr_unregister_thread();
	return 0;
}
