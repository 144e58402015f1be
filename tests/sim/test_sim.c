/* The simulator itself: determinism, and checkers with teeth (PROTOCOL §11). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seeds.h"

static void
faulty(struct sim_params *p, uint64_t seed)
{
	sim_params_default(p);
	p->seed = seed;
	p->ops = 1000;
	p->loss_send = 0.2;
	p->loss_recv = 0.2;
	p->dup = 0.05;
	p->crash = true;
}

static char *
trace_of(uint64_t seed, size_t *len)
{
	struct sim_params p;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	struct sim *s;

	faulty(&p, seed);
	p.ops = 300;
	p.trace = f;
	s = sim_new(&p);
	cr_assert_eq(sim_run(s), 0, "seed %llu: %s", (unsigned long long)seed, sim_violation(s));
	sim_free(s);
	fclose(f);
	return buf;
}

Test(sim, a_seed_replays_event_for_event)
{
	size_t l1, l2, l3;
	char *a = trace_of(42, &l1), *b = trace_of(42, &l2), *c = trace_of(43, &l3);

	cr_assert_gt(l1, 10000, "a real run, not an empty one");
	cr_assert_eq(l1, l2);
	cr_assert_eq(memcmp(a, b, l1), 0, "same seed, same trace");
	cr_assert(l1 != l3 || memcmp(a, c, l1) != 0, "another seed, another run");
	free(a);
	free(b);
	free(c);
}

/* Runs seeds until one fails; returns the seed count it took (0: none). */
static unsigned
seeds_to_violation(uint32_t variant, bool ack_at_commit, unsigned max, char *why, size_t why_len)
{
	struct sim_params p;
	struct seeds_outcome o;

	faulty(&p, 0);
	p.variant = variant;
	p.ack_at_commit = ack_at_commit;
	seeds_run(&p, 5001, max, true, &o);
	snprintf(why, why_len, "%s", o.why);
	return o.failed ? o.first - 5000 : 0;
}

Test(teeth, retry_reusing_its_ballot_is_caught, .timeout = 120)
{
	char why[512] = "";
	unsigned n = seeds_to_violation(TR_VARIANT_REUSE_BALLOT, false, 300, why, sizeof(why));

	cr_assert(n > 0, "no violation in 300 seeds");
	cr_assert_not_null(strstr(why, "(a)"), "%s", why);
	cr_log_info("reuse-ballot caught after %u seeds: %s", n, why);
}

Test(teeth, commit_on_the_spot_is_caught, .timeout = 120)
{
	char why[512] = "";
	unsigned n = seeds_to_violation(TR_VARIANT_COMMIT_ON_SPOT, false, 300, why, sizeof(why));

	cr_assert(n > 0, "no violation in 300 seeds");
	cr_assert_not_null(strstr(why, "(a)"), "%s", why);
	cr_log_info("commit-on-spot caught after %u seeds: %s", n, why);
}

Test(teeth, ack_at_commit_is_caught, .timeout = 120)
{
	char why[512] = "";
	unsigned n = seeds_to_violation(0, true, 300, why, sizeof(why));

	cr_assert(n > 0, "no violation in 300 seeds");
	cr_assert_not_null(strstr(why, "(d)"), "%s", why);
	cr_log_info("ack-at-commit caught after %u seeds: %s", n, why);
}

Test(teeth, recoverer_without_a_promise_is_caught, .timeout = 120)
{
	char why[512] = "";
	unsigned n = seeds_to_violation(TR_VARIANT_NO_RECOVERER_PROMISE, false, 300, why,
					sizeof(why));

	cr_assert(n > 0, "no violation in 300 seeds");
	cr_assert_not_null(strstr(why, "(a)"), "%s", why);
	cr_log_info("no-recoverer-promise caught after %u seeds: %s", n, why);
}

/* Read barrier variants (PROTOCOL §11, second table): runs seeds with reads
 * until the read checker (d) flags one; returns the seed count (0: none).
 * Seeds that fail another way first (a read never answered, (e), when K
 * holds slots nothing recovers) are counted but do not stop the search. */
static unsigned
reads_to_violation(uint32_t variant, double read_ratio, unsigned max, char *why, size_t why_len)
{
	for (unsigned i = 1; i <= max; i++) {
		struct sim_params p;
		struct sim *s;
		bool hit;

		faulty(&p, 7000 + i);
		p.read_ratio = read_ratio;
		p.variant = variant;
		s = sim_new(&p);
		hit = sim_run(s) > 0 && strstr(sim_violation(s), "(d)") != NULL;
		if (hit)
			snprintf(why, why_len, "%s", sim_violation(s));
		sim_free(s);
		if (hit)
			return i;
	}
	return 0;
}

Test(teeth, reads_without_a_barrier_are_caught, .timeout = 120)
{
	char why[512] = "";
	unsigned n = reads_to_violation(TR_VARIANT_READ_NO_BARRIER, 0.5, 10, why, sizeof(why));

	cr_assert(n > 0, "no (d) violation in 10 seeds");
	cr_assert_not_null(strstr(why, "barrier read"), "%s", why);
	cr_log_info("read-no-barrier caught after %u seeds: %s", n, why);
}

Test(teeth, k_from_the_own_known_only_is_caught, .timeout = 120)
{
	char why[512] = "";
	unsigned n = reads_to_violation(TR_VARIANT_READ_OWN_KNOWN_ONLY, 0.9, 100, why, sizeof(why));

	cr_assert(n > 0, "no (d) violation in 100 seeds");
	cr_log_info("read-own-known-only caught after %u seeds: %s", n, why);
}

Test(teeth, k_from_the_peer_known_only_is_caught, .timeout = 300)
{
	char why[512] = "";
	unsigned n = reads_to_violation(TR_VARIANT_READ_PEER_KNOWN_ONLY, 0.9, 300, why,
					sizeof(why));

	cr_assert(n > 0, "no (d) violation in 300 seeds");
	cr_log_info("read-peer-known-only caught after %u seeds: %s", n, why);
}

/* The fourth variant, a read sharing a barrier sent before it was invoked,
 * is too rare for seeds (about 1 in 3,000 seeds with the most favourable
 * workload found): test_reads.c drives its schedule by hand. */

/* The correct barrier under the same faults, read-heavy: no violation. */
Test(sim, barrier_reads_under_faults, .timeout = 300)
{
	for (unsigned i = 1; i <= 60; i++) {
		struct sim_params p;
		struct sim *s;

		faulty(&p, 9000 + i);
		p.read_ratio = 0.9;
		p.read_mix[SIM_READ_BARRIER] = 1;
		s = sim_new(&p);
		cr_assert_eq(sim_run(s), 0, "seed %u: %s", 9000 + i, sim_violation(s));
		sim_free(s);
	}
}
