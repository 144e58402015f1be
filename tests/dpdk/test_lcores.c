/* Three replicas in one process, each replica's three columns on three
 * different worker lcores (DESIGN.md, "known across threads": the fence on
 * known only matters then). The three clients write the same key at about
 * the same time (their i-th writes), so replicas that applied concurrent
 * instances of two columns in different orders would end with different
 * digests. */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "trireme.h"

/* Four EAL lcores (main + 3 workers) floating over the machine's CPUs. */
static void
eal_up(void)
{
	char prefix[64];
	char *argv[] = {"test", "--lcores", "0@(0-1),1@(0-1),2@(0-1),3@(0-1)", "--no-huge",
			"--no-pci", "--no-shconf", prefix, "--no-telemetry", "--log-level=*:error",
			"-m", "512", NULL};

	snprintf(prefix, sizeof(prefix), "--file-prefix=trl%d", getpid());
	cr_assert(rte_eal_init(11, argv) >= 0, "EAL: %s", rte_strerror(rte_errno));
}

static void
eal_down(void)
{
	rte_eal_cleanup();
}

TestSuite(lcores, .init = eal_up, .fini = eal_down, .timeout = 180);

#define OPS 1000
#define KEYS 8

static uint64_t
now_ns(void)
{
	return rte_get_tsc_cycles() * 1000000000ull / rte_get_tsc_hz();
}

Test(lcores, columns_on_three_lcores_converge)
{
	struct trireme_conf conf;
	struct trireme *t;
	struct trireme_client *cl[3];
	struct trireme_faults lossy = {.drop_tx = 0.05, .drop_rx = 0.05};
	struct trireme_faults clean = {0};
	struct trireme_replica_stats st[3];
	static char keys[KEYS][8], vals[3][OPS][24];
	unsigned issued[3] = {0}, done[3] = {0};
	char err[256];
	uint64_t deadline;
	int rc;

	cr_assert_eq(rte_lcore_count(), 4);
	trireme_conf_default(&conf);
	/* Round robin over three workers (lifecycle.c, place()): a replica's
	 * three columns land on three different lcores, its applier on the
	 * next one. */
	conf.batch_cmds_max = 1; /* one write per instance: many cross-column orders */
	conf.lcore_count = 3;
	for (unsigned i = 0; i < 3; i++)
		conf.lcores[i] = i + 1;
	rc = trireme_start(&conf, &t, err, sizeof(err));
	cr_assert_eq(rc, 0, "%s", err);
	for (unsigned k = 0; k < KEYS; k++)
		snprintf(keys[k], sizeof(keys[k]), "k%u", k);
	for (unsigned r = 0; r < 3; r++) {
		cl[r] = trireme_client_new(t, r, 16);
		cr_assert_not_null(cl[r]);
		cr_assert_eq(trireme_set_faults(t, r, &lossy), 0);
	}
	deadline = now_ns() + 120ull * 1000000000ull;
	while (done[0] < OPS || done[1] < OPS || done[2] < OPS) {
		for (unsigned r = 0; r < 3; r++) {
			struct trireme_done d[32];
			unsigned n;

			while (issued[r] < OPS) {
				const char *key = keys[issued[r] % KEYS];
				struct trireme_op op = {.kind = TRIREME_SET, .key = key,
							.key_len = (uint16_t)strlen(key)};

				snprintf(vals[r][issued[r]], sizeof(vals[r][0]), "r%u-%u", r, issued[r]);
				op.val = vals[r][issued[r]];
				op.val_len = (uint32_t)strlen(op.val);
				if (trireme_submit(cl[r], &op, issued[r]) != 0)
					break;
				issued[r]++;
			}
			n = trireme_poll(cl[r], d, 32);
			if (n == 0)
				sched_yield(); /* two CPUs: let the workers run */
			for (unsigned i = 0; i < n; i++) {
				cr_assert_eq(d[i].status, 0);
				done[r]++;
			}
		}
		cr_assert(now_ns() < deadline, "load did not finish: done %u %u %u", done[0],
			  done[1], done[2]);
	}

	/* Heal; all three converge: everything known applied, same prefixes,
	 * same digest. */
	for (unsigned r = 0; r < 3; r++)
		trireme_set_faults(t, r, &clean);
	deadline = now_ns() + 30ull * 1000000000ull;
	for (;;) {
		bool same = true;

		for (unsigned r = 0; r < 3; r++)
			trireme_replica_stats(t, r, &st[r]);
		for (unsigned r = 0; r < 3; r++)
			for (unsigned c = 0; c < 3; c++)
				same = same && st[r].applied_prefix[c] == st[r].known[c] &&
				       st[r].applied_prefix[c] == st[0].applied_prefix[c];
		if (same && st[1].kv_digest == st[0].kv_digest && st[2].kv_digest == st[0].kv_digest)
			break;
		cr_assert(now_ns() < deadline,
			  "no convergence: digests %016llx %016llx %016llx",
			  (unsigned long long)st[0].kv_digest, (unsigned long long)st[1].kv_digest,
			  (unsigned long long)st[2].kv_digest);
		usleep(1000);
	}
	for (unsigned r = 0; r < 3; r++) {
		cr_assert_geq(st[r].applied_cmds, 3 * OPS, "replica %u applied %llu commands", r,
			      (unsigned long long)st[r].applied_cmds);
		cr_assert_gt(st[r].committed, 0);
		cr_assert_eq(st[r].keys, KEYS);
	}
	cr_log_info("3 x %u writes; applied %llu instances; fetches %llu %llu %llu", OPS,
		    (unsigned long long)st[0].applied, (unsigned long long)st[0].fetches,
		    (unsigned long long)st[1].fetches, (unsigned long long)st[2].fetches);
	trireme_stop(t);
}
