/* The fence on known (DESIGN.md, "known across threads"; PROTOCOL §2): two
 * columns of one replica handled on two threads at once, through the
 * engine's own entry point. In round i, column 1 and column 2 each accept
 * slot i (A2: the slot enters known, then known is captured into its deps).
 * In every round at least one of the two captures must see the other's slot;
 * without the fence (TR_VARIANT_NO_FENCE, a store-load reordering) both may
 * miss, and then neither instance depends on the other. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "mmp3.h"
#include "wire.h"

#define RING 1024         /* slots per column: one epoch of rounds */
#define EPOCHS 100        /* 102,400 rounds per batch */

struct fence_run {
	struct tr_replica rep;
	void *mem;
	size_t bytes;
	struct tr_config cfg;
	_Atomic unsigned arrived;
	_Atomic unsigned gen;
	uint64_t seen[TR_COLUMNS][RING]; /* column c's capture of the other column */
	unsigned long misses;
	unsigned long both;
	unsigned long rounds;
	unsigned batches;    /* at most, EPOCHS each */
	unsigned long stop_misses; /* stop after the batch that reaches this (0: never) */
	unsigned long stop_both;   /* likewise for rounds in which both saw */
	struct timespec deadline;  /* and after the batch that passes this */
	_Atomic bool stop;
};

struct worker {
	struct fence_run *run;
	unsigned column; /* 1 or 2, handled for replica 0 */
};

/* Two-party spin barrier; yields while the other thread is off the CPU. */
static void
barrier_wait(struct fence_run *run)
{
	unsigned g = atomic_load(&run->gen);

	if (atomic_fetch_add(&run->arrived, 1) == 1) {
		atomic_store(&run->arrived, 0);
		atomic_store(&run->gen, g + 1);
		return;
	}
	for (unsigned spins = 0; atomic_load(&run->gen) == g; spins++)
		if (spins > 2000)
			sched_yield();
}

static bool
past(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec > t->tv_nsec);
}

#define SKEW 64

static unsigned
skew(uint64_t round, unsigned column)
{
	uint64_t z = round * 2 + column + UINT64_C(0x9E3779B97F4A7C15);

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return (unsigned)((z ^ (z >> 31)) % SKEW);
}

/* A new replica 0, vouched for by replica 1's STATUS in every column (J5),
 * so that it votes. */
static void
reinit(struct fence_run *run)
{
	struct tr_msg msgs[4];
	struct tr_out out = {.msgs = msgs, .msg_cap = 4};

	if (tr_replica_init(&run->rep, &run->cfg, run->mem, run->bytes, 0) != 0)
		abort(); /* not on Criterion's thread: no cr_assert here */
	for (uint8_t c = 0; c < TR_COLUMNS; c++) {
		struct tr_msg st = {.type = TR_MSG_STATUS, .from = 1, .to = 0, .column = c,
				    .sm_keys_max = run->cfg.sm_keys_max,
				    .sm_clients_max = run->cfg.sm_clients_max};

		tr_out_reset(&out);
		tr_column_recv(&run->rep.col[c], &st, 0, &out);
	}
	if (!tr_replica_vouched(&run->rep))
		abort();
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct fence_run *run = w->run;
	struct tr_column *c = &run->rep.col[w->column];
	unsigned other = w->column == 1 ? 2 : 1;
	struct tr_msg msgs[4];
	struct tr_out out = {.msgs = msgs, .msg_cap = 4};

	for (unsigned e = 0; e < run->batches * EPOCHS; e++) {
		barrier_wait(run);
		if (w->column == 1) {
			if (e % EPOCHS == 0 &&
			    ((run->stop_misses && run->misses >= run->stop_misses) ||
			     (run->stop_both && run->both >= run->stop_both) || past(&run->deadline)))
				atomic_store(&run->stop, true);
			reinit(run);
		}
		barrier_wait(run);
		if (atomic_load(&run->stop))
			break;
		c = &run->rep.col[w->column];
		for (uint64_t i = 0; i < RING; i++) {
			struct tr_msg m = {.type = TR_MSG_ACCEPT, .from = (uint8_t)w->column, .to = 0,
					   .column = (uint8_t)w->column, .lsn = i,
					   .ballot = {1, (uint8_t)w->column},
					   .value = {.proposer = (uint8_t)w->column}};
			const struct tr_slot *s;

			barrier_wait(run);
			/* The barrier releases one thread ~100 ns before the other:
			 * a deterministic delay of 0..SKEW spins lines them up in some
			 * rounds. */
			for (volatile unsigned d = skew(e * RING + i, w->column); d > 0; d--)
				;
			tr_out_reset(&out);
			tr_column_recv(c, &m, 1, &out);
			s = tr_column_slot(c, i);
			run->seen[w->column][i] = s != NULL ? s->value.deps[other] : 0;
		}
		if (w->column == 1)
			run->rounds += RING;
		barrier_wait(run);
		/* Both threads are done with the epoch: column 1 counts. */
		if (w->column == 1)
			for (uint64_t i = 0; i < RING; i++) {
				bool saw1 = run->seen[1][i] >= i + 1, saw2 = run->seen[2][i] >= i + 1;

				run->misses += !saw1 && !saw2;
				run->both += saw1 && saw2; /* the handlers overlapped */
			}
	}
	return NULL;
}

struct fence_result {
	unsigned long misses; /* rounds in which neither capture saw the other slot */
	unsigned long both;   /* rounds in which both saw it: the handlers overlapped */
	unsigned long rounds;
};

/* Runs batches of EPOCHS * RING rounds, at most batches, until a stop
 * count is reached or (after the first batch) seconds have passed. */
static struct fence_result
fence_run(uint32_t variant, unsigned batches, unsigned long stop_misses, unsigned long stop_both,
	  unsigned seconds)
{
	struct fence_run *run = calloc(1, sizeof(*run));
	struct worker w1 = {.run = run, .column = 1}, w2 = {.run = run, .column = 2};
	pthread_t t1, t2;
	struct fence_result res;

	cr_assert_not_null(run);
	tr_config_default(&run->cfg, 0, 100000);
	run->cfg.log_slots_max = RING;
	run->cfg.inflight_max = 8;
	run->cfg.batch_bytes_max = 256;
	run->cfg.pending_bytes_max = 1024;
	run->cfg.read_bytes_max = 256;
	run->cfg.variant = variant;
	run->batches = batches;
	run->stop_misses = stop_misses;
	run->stop_both = stop_both;
	atomic_init(&run->stop, false);
	clock_gettime(CLOCK_MONOTONIC, &run->deadline);
	run->deadline.tv_sec += seconds;
	run->bytes = tr_replica_mem_bytes(&run->cfg);
	cr_assert_gt(run->bytes, 0);
	run->mem = aligned_alloc(64, (run->bytes + 63) & ~(size_t)63);
	cr_assert_not_null(run->mem);
	cr_assert_eq(pthread_create(&t1, NULL, worker_main, &w1), 0);
	cr_assert_eq(pthread_create(&t2, NULL, worker_main, &w2), 0);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	res = (struct fence_result){run->misses, run->both, run->rounds};
	free(run->mem);
	free(run);
	return res;
}

/* 409,600 rounds (2 to 7 s). With the fence no round may miss; without it,
 * most rounds in which the handlers overlap miss (0.01% to 10% of rounds,
 * depending on how often the two threads really run at once). */
Test(known_fence, one_of_two_concurrent_handlers_sees_the_other, .timeout = 60)
{
	struct fence_result r = fence_run(TR_VARIANT_NONE, 4, 0, 0, 600);

	cr_log_info("fence: %lu of %lu rounds missed, both saw in %lu", r.misses, r.rounds, r.both);
	cr_assert_eq(r.misses, 0, "%lu of %lu rounds: both captures missed the other slot",
		     r.misses, r.rounds);
	/* On stderr, not cr_log_warn: Criterion 2.4 exits 1 after a warning
	 * although every test passed (seen with a test that only warns). */
	if (r.both == 0)
		fprintf(stderr, "known_fence: the two handlers never overlapped: this run "
			"proved nothing\n");
}

/* More runnable threads than CPUs (the load average of the last minute). */
static bool
busy(void)
{
	double load;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	return getloadavg(&load, 1) == 1 && cpus > 0 && load > (double)cpus;
}

/* The known-bad variant shows the test has teeth: on x86 the relaxed store
 * waits in the store buffer (the cache line of known is shared by both
 * threads' stores) while the capture loads. Batches run until one misses,
 * at most 40 or 20 s. Passed with a warning when the machine was too busy
 * for the two threads to overlap in 100 rounds. */
Test(known_fence, without_the_fence_captures_miss, .timeout = 120)
{
	struct fence_result r = fence_run(TR_VARIANT_NO_FENCE, 40, 1, 0, 20);

	cr_log_info("no fence: %lu of %lu rounds missed, both saw in %lu", r.misses, r.rounds,
		    r.both);
	if (r.misses == 0 && (r.both < 100 || busy())) {
		/* Not a skip, nor a warning: Criterion 2.4 exits non-zero on
		 * either. scripts/mutants.sh retries this test for the no-fence mutation. On a machine with
		 * more runnable threads than CPUs the two handlers rarely run in
		 * the same few nanoseconds, however often both see each other. */
		fprintf(stderr, "known_fence: no miss: the handlers overlapped in %lu of %lu "
			"rounds, on a machine %s: nothing shown\n", r.both, r.rounds,
			busy() ? "too busy" : "idle");
		return;
	}
	cr_assert_gt(r.misses, 0, "no miss in %lu rounds without the fence, though both saw in %lu",
		     r.rounds, r.both);
}
