/* Large values (issue 16): a set or cmd above one packet's value travels as
 * parts and completes once; gets and queries return up to TRIREME_LARGE_MAX
 * bytes; small writers stay live meanwhile; a replica that catches up by a
 * snapshot while a large command is half staged ends equal. Three replicas
 * in one process over net_ring; values from a seeded generator. */
#include <criterion/criterion.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>

#include "eal_test.h"
#include "trireme.h"
#include "trireme_sm.h"

static void
eal_up(void)
{
	eal_test_init(false);
}

TestSuite(large, .init = eal_up, .fini = eal_test_fini, .timeout = 120);

#define SEC 1000000000ull
#define MIB TRIREME_LARGE_MAX

/* Seeded bytes (xorshift64*). */
static void
fill(uint8_t *buf, size_t len, uint64_t seed)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < len; i++) {
		s ^= s >> 12;
		s ^= s << 25;
		s ^= s >> 27;
		buf[i] = (uint8_t)((s * 0x2545f4914f6cdd1dull) >> 56);
	}
}

static struct trireme *
start_dir(uint32_t log_slots, const char *dir)
{
	struct trireme_conf conf;
	struct trireme *t;
	char err[256];

	trireme_conf_default(&conf);
	conf.data_dir = dir;
	conf.sync = TRIREME_SYNC_NONE; /* a process crash is all the test makes */
	if (log_slots != 0) {
		conf.log_slots_max = log_slots;
		conf.inflight_max = 64;
	}
	cr_assert_eq(trireme_start(&conf, &t, err, sizeof(err)), 0, "%s", err);
	eal_test_running = t;
	return t;
}

static struct trireme *
start(uint32_t log_slots)
{
	return start_dir(log_slots, NULL);
}

/* The one completion of c's only command, through trireme_wait: every
 * "ready" it returns is a completion trireme_poll gives (never a part's
 * answer). The result's bytes are copied into out (cap). */
static struct trireme_done
finish(struct trireme_client *c, uint8_t *out, size_t cap)
{
	uint64_t deadline = eal_test_now_ns() + 60 * SEC;
	struct trireme_done d;

	for (;;) {
		int rc = trireme_wait(c, 100 * 1000000ull);
		unsigned n;

		cr_assert(rc > 0 || rc == -TRIREME_ETIMEOUT, "wait: %d", rc);
		cr_assert(eal_test_now_ns() < deadline, "no completion in 60 s");
		if (rc < 0)
			continue;
		n = trireme_poll(c, &d, 1);
		cr_assert_eq(n, 1, "wait said %d ready, poll gave %u", rc, n);
		cr_assert_eq(trireme_outstanding(c), 0);
		if (out != NULL && d.val_len > 0) {
			cr_assert_leq(d.val_len, cap);
			memcpy(out, d.val, d.val_len);
		}
		return d;
	}
}

static int
submit_wait(struct trireme_client *c, const struct trireme_op *op, uint8_t *out, size_t cap,
	    struct trireme_done *d)
{
	int rc = trireme_submit(c, op, 7);

	if (rc != 0)
		return rc;
	*d = finish(c, out, cap);
	cr_assert_eq(d->tag, 7);
	return 0;
}

/* key on replica r reads back as want (len) in every read mode. */
static void
read_back(struct trireme *t, unsigned r, const char *key, const uint8_t *want, uint32_t len)
{
	static uint8_t got[MIB];
	struct trireme_client *c = trireme_client_new(t, r, 4);
	struct trireme_done d;

	cr_assert_not_null(c);
	/* The barrier first: the local read after it sees at least as much. */
	for (unsigned mode = TRIREME_READ_BARRIER; mode <= TRIREME_READ_LOCAL; mode++) {
		struct trireme_op op = {.kind = TRIREME_GET, .read_mode = (uint8_t)mode, .key = key,
					.key_len = (uint16_t)strlen(key)};

		memset(got, 0, len);
		cr_assert_eq(submit_wait(c, &op, got, sizeof(got), &d), 0);
		cr_assert_eq(d.status, 0);
		cr_assert(d.found, "replica %u mode %u: not found", r, mode);
		cr_assert_eq(d.val_len, len, "replica %u mode %u: %u bytes", r, mode, d.val_len);
		cr_assert(memcmp(got, want, len) == 0, "replica %u mode %u: other bytes", r, mode);
	}
	trireme_client_free(c);
}

Test(large, set_1mib_reads_back_everywhere)
{
	static uint8_t val[MIB], val2[3 * 4096];
	struct trireme *t = start(0);
	struct trireme_client *c;
	struct trireme_done d;
	struct trireme_op op = {.kind = TRIREME_SET, .key = "big", .key_len = 3, .val = val,
				.val_len = MIB};

	trireme_thread_online();
	c = trireme_client_new(t, 0, 16);
	cr_assert_not_null(c);
	fill(val, sizeof(val), 1);
	cr_assert_eq(submit_wait(c, &op, NULL, 0, &d), 0);
	cr_assert_eq(d.status, 0, "%s", trireme_strerror(d.status));
	/* Just above a packet: a few parts; then overwritten by a small one. */
	fill(val2, sizeof(val2), 2);
	op = (struct trireme_op){.kind = TRIREME_SET, .key = "mid", .key_len = 3, .val = val2,
				 .val_len = sizeof(val2)};
	cr_assert_eq(submit_wait(c, &op, NULL, 0, &d), 0);
	cr_assert_eq(d.status, 0, "%s", trireme_strerror(d.status));
	for (unsigned r = 0; r < 3; r++) {
		read_back(t, r, "big", val, MIB);
		read_back(t, r, "mid", val2, sizeof(val2));
	}
	op = (struct trireme_op){.kind = TRIREME_SET, .key = "big", .key_len = 3, .val = "s",
				 .val_len = 1};
	cr_assert_eq(submit_wait(c, &op, NULL, 0, &d), 0);
	read_back(t, 1, "big", (const uint8_t *)"s", 1);
	eal_test_converge(t, 30 * SEC);
	trireme_client_free(c);
	trireme_thread_offline();
	eal_test_stop(t);
}

Test(large, busy_and_invalid)
{
	static uint8_t val[MIB + 1];
	struct trireme *t = start(0);
	struct trireme_client *c;
	struct trireme_done d;
	struct trireme_op big = {.kind = TRIREME_SET, .key = "b", .key_len = 1, .val = val,
				 .val_len = 256 * 1024};
	struct trireme_op small = {.kind = TRIREME_SET, .key = "s", .key_len = 1, .val = "v",
				   .val_len = 1};
	struct trireme_op local = {.kind = TRIREME_GET, .read_mode = TRIREME_READ_LOCAL,
				   .key = "s", .key_len = 1};
	int rc;

	trireme_thread_online();
	c = trireme_client_new(t, 0, 8);
	cr_assert_not_null(c);
	fill(val, sizeof(val), 3);
	/* One above the largest: refused; the largest is a large op. */
	big.val_len = MIB + 1;
	cr_assert_eq(trireme_submit(c, &big, 1), -TRIREME_EINVAL);
	big.val_len = 256 * 1024;
	/* Anything outstanding: a large submit waits. */
	cr_assert_eq(trireme_submit(c, &small, 1), 0);
	cr_assert_eq(trireme_submit(c, &big, 2), -TRIREME_EBUSY);
	d = finish(c, NULL, 0);
	cr_assert_eq(d.tag, 1);
	/* A large op in flight: every submit waits, to its completion's poll. */
	cr_assert_eq(trireme_submit(c, &big, 3), 0);
	cr_assert_eq(trireme_outstanding(c), 1);
	cr_assert_eq(trireme_submit(c, &small, 4), -TRIREME_EBUSY);
	cr_assert_eq(trireme_submit(c, &local, 5), -TRIREME_EBUSY);
	cr_assert_eq(trireme_submit(c, &big, 6), -TRIREME_EBUSY);
	{
		uint64_t deadline = eal_test_now_ns() + 60 * SEC;

		while ((rc = trireme_wait(c, 100 * 1000000ull)) == -TRIREME_ETIMEOUT)
			cr_assert(eal_test_now_ns() < deadline, "the large op never completed");
		cr_assert_eq(rc, 1);
	}
	/* Completed, not polled yet: still busy. */
	cr_assert_eq(trireme_submit(c, &small, 4), -TRIREME_EBUSY);
	cr_assert_eq(trireme_submit(c, &local, 5), -TRIREME_EBUSY);
	cr_assert_eq(trireme_poll(c, &d, 1), 1);
	cr_assert_eq(d.tag, 3);
	cr_assert_eq(d.status, 0, "%s", trireme_strerror(d.status));
	cr_assert_eq(trireme_submit(c, &small, 7), 0);
	d = finish(c, NULL, 0);
	cr_assert_eq(d.tag, 7);
	/* Through the event-loop fd: poll(2) on it, trireme_poll when readable
	 * (which sends the next parts); one completion in the end. */
	{
		int fd = trireme_client_fd(c);
		uint64_t deadline = eal_test_now_ns() + 60 * SEC;
		unsigned got = 0, wakes = 0;

		cr_assert_eq(trireme_submit(c, &big, 8), 0);
		while (got == 0) {
			struct pollfd p = {.fd = fd, .events = POLLIN};

			cr_assert(eal_test_now_ns() < deadline, "the large op stalled on its fd");
			rc = poll(&p, 1, 100);
			cr_assert_geq(rc, 0);
			wakes += rc > 0;
			got = trireme_poll(c, &d, 1);
		}
		cr_assert_eq(d.tag, 8);
		cr_assert_eq(d.status, 0, "%s", trireme_strerror(d.status));
		cr_assert_gt(wakes, 1, "the parts' answers never woke the fd");
	}
	trireme_client_free(c);
	trireme_thread_offline();
	eal_test_stop(t);
}

/* Small writers on every replica keep committing while 1 MiB sets go. */
Test(large, small_writers_stay_live)
{
	static uint8_t val[MIB];
	struct trireme *t = start(0);
	struct trireme_client *big, *cl[3];
	struct trireme_op op = {.kind = TRIREME_SET, .key = "big", .key_len = 3, .val = val,
				.val_len = MIB};
	uint64_t small = 0, deadline = eal_test_now_ns() + 60 * SEC;
	unsigned larges = 0, issued = 0;

	trireme_thread_online();
	big = trireme_client_new(t, 0, 16);
	cr_assert_not_null(big);
	for (unsigned r = 0; r < 3; r++) {
		cl[r] = trireme_client_new(t, r, 4);
		cr_assert_not_null(cl[r]);
	}
	fill(val, sizeof(val), 4);
	cr_assert_eq(trireme_submit(big, &op, 0), 0);
	issued = 1;
	while (larges < 4) {
		struct trireme_done d[8];
		unsigned n;

		cr_assert(eal_test_now_ns() < deadline, "4 large sets took over 60 s (%u done)", larges);
		for (unsigned r = 0; r < 3; r++) {
			char key[16];
			struct trireme_op s = {.kind = TRIREME_SET, .key = key, .val = "v",
					       .val_len = 1};

			snprintf(key, sizeof(key), "s%u", r);
			s.key_len = (uint16_t)strlen(key);
			while (trireme_submit(cl[r], &s, 0) == 0)
				;
			n = trireme_poll(cl[r], d, 8);
			for (unsigned i = 0; i < n; i++)
				cr_assert_eq(d[i].status, 0);
			small += n;
		}
		n = trireme_poll(big, d, 8);
		for (unsigned i = 0; i < n; i++) {
			cr_assert_eq(d[i].status, 0, "%s", trireme_strerror(d[i].status));
			larges++;
		}
		if (n > 0 && issued < 4) {
			val[0] = (uint8_t)issued; /* each its own bytes */
			cr_assert_eq(trireme_submit(big, &op, issued), 0);
			issued++;
		}
		sched_yield();
	}
	fprintf(stderr, "4 large sets of 1 MiB; meanwhile %lu small sets committed\n",
		(unsigned long)small);
	cr_assert_gt(small, 200, "small writers starved: %lu", (unsigned long)small);
	for (unsigned r = 0; r < 3; r++)
		trireme_client_free(cl[r]);
	trireme_client_free(big);
	read_back(t, 2, "big", val, MIB);
	eal_test_converge(t, 30 * SEC);
	trireme_thread_offline();
	eal_test_stop(t);
}

/* A replica paused while a large set is half staged (its client does not
 * poll: no more parts go), its peers recycle their log, it resumes and
 * catches up by a snapshot that carries the open stage; then the set
 * completes, and every replica has its bytes. */
Test(large, snapshot_catch_up_with_a_stage_open)
{
	static uint8_t val[MIB];
	struct trireme *t = start(512);
	struct trireme_client *big, *cl[2];
	struct trireme_op op = {.kind = TRIREME_SET, .key = "big", .key_len = 3, .val = val,
				.val_len = MIB};
	struct trireme_replica_stats s0, s;
	uint64_t deadline, small = 0, start_applied;
	struct trireme_done d;

	trireme_thread_online();
	big = trireme_client_new(t, 0, 16);
	cl[0] = trireme_client_new(t, 0, 8);
	cl[1] = trireme_client_new(t, 1, 8);
	cr_assert(big != NULL && cl[0] != NULL && cl[1] != NULL);
	fill(val, sizeof(val), 5);
	cr_assert_eq(trireme_replica_pause(t, 2), 0);
	cr_assert_eq(trireme_submit(big, &op, 9), 0); /* its first window of parts */
	trireme_replica_stats(t, 0, &s0);
	start_applied = s0.applied;
	/* Small writes until the survivors' logs went round several times. */
	deadline = eal_test_now_ns() + 60 * SEC;
	for (;;) {
		for (unsigned i = 0; i < 2; i++) {
			struct trireme_done dd[8];
			char key[24];
			struct trireme_op w = {.kind = TRIREME_SET, .key = key, .val = "w",
					       .val_len = 1};

			snprintf(key, sizeof(key), "k%u-%lu", i, (unsigned long)(small % 1000));
			w.key_len = (uint16_t)strlen(key);
			while (trireme_submit(cl[i], &w, 0) == 0)
				;
			small += trireme_poll(cl[i], dd, 8);
		}
		trireme_replica_stats(t, 0, &s0);
		if (s0.applied - start_applied > 8 * 512)
			break;
		cr_assert(eal_test_now_ns() < deadline, "the survivors stalled");
		sched_yield();
	}
	cr_assert_eq(trireme_replica_resume(t, 2), 0);
	deadline = eal_test_now_ns() + 60 * SEC;
	do {
		cr_assert(eal_test_now_ns() < deadline, "replica 2 installed no snapshot");
		usleep(1000);
		trireme_replica_stats(t, 2, &s);
	} while (s.snap_installs == 0);
	cr_assert_gt(s.snap_bytes_rx, MIB, "the snapshot did not carry the open stage");
	/* Now the rest of the parts. */
	d = finish(big, NULL, 0);
	cr_assert_eq(d.tag, 9);
	cr_assert_eq(d.status, 0, "%s", trireme_strerror(d.status));
	deadline = eal_test_now_ns() + 30 * SEC;
	for (unsigned i = 0; i < 2; i++) {
		while (trireme_outstanding(cl[i]) > 0) {
			struct trireme_done dd[8];

			cr_assert(eal_test_now_ns() < deadline, "small sets never completed");
			trireme_poll(cl[i], dd, 8);
		}
	}
	eal_test_converge(t, 30 * SEC);
	read_back(t, 2, "big", val, MIB);
	fprintf(stderr, "catch-up: %lu small sets, replica 2: %lu snapshot(s), %lu bytes\n",
		(unsigned long)small, (unsigned long)s.snap_installs,
		(unsigned long)s.snap_bytes_rx);
	trireme_client_free(big);
	trireme_client_free(cl[0]);
	trireme_client_free(cl[1]);
	trireme_thread_offline();
	eal_test_stop(t);
}

/* A crash of the client's replica mid-op ends the op with ESTOPPED (no
 * hang); after the restart the client sends large values again. */
Test(large, crash_mid_op_ends_it)
{
	static uint8_t val[MIB];
	struct trireme *t = start(0);
	struct trireme_client *c;
	struct trireme_op op = {.kind = TRIREME_SET, .key = "big", .key_len = 3, .val = val,
				.val_len = MIB};
	struct trireme_done d;

	trireme_thread_online();
	c = trireme_client_new(t, 2, 16);
	cr_assert_not_null(c);
	fill(val, sizeof(val), 8);
	cr_assert_eq(trireme_submit(c, &op, 1), 0);
	cr_assert_eq(trireme_replica_crash(t, 2), 0);
	d = finish(c, NULL, 0);
	cr_assert_eq(d.tag, 1);
	cr_assert_eq(d.status, -TRIREME_ESTOPPED, "%s", trireme_strerror(d.status));
	cr_assert_eq(trireme_replica_restart(t, 2), 0);
	cr_assert_eq(submit_wait(c, &op, NULL, 0, &d), 0);
	cr_assert_eq(d.status, 0, "%s", trireme_strerror(d.status));
	read_back(t, 0, "big", val, MIB);
	eal_test_converge(t, 30 * SEC);
	trireme_client_free(c);
	trireme_thread_offline();
	eal_test_stop(t);
}

/* With data directories: a replica crashed while a large set is half
 * staged restarts from its disk (the parts replayed like any command), the
 * set completes; the whole cluster restarted from disk has the value. */
Test(large, durable_restart_replays_parts)
{
	static uint8_t val[MIB];
	char dir[] = "/tmp/trireme-large-XXXXXX", cmd[64];
	struct trireme *t;
	struct trireme_client *big;
	struct trireme_op op = {.kind = TRIREME_SET, .key = "big", .key_len = 3, .val = val,
				.val_len = MIB};
	struct trireme_replica_stats s;
	struct trireme_done d;

	cr_assert_not_null(mkdtemp(dir));
	t = start_dir(0, dir);
	trireme_thread_online();
	big = trireme_client_new(t, 0, 16);
	cr_assert_not_null(big);
	fill(val, sizeof(val), 7);
	cr_assert_eq(trireme_submit(big, &op, 3), 0); /* its first window of parts */
	usleep(200 * 1000);
	cr_assert_eq(trireme_replica_crash(t, 1), 0);
	cr_assert_eq(trireme_replica_restart(t, 1), 0);
	d = finish(big, NULL, 0);
	cr_assert_eq(d.status, 0, "%s", trireme_strerror(d.status));
	eal_test_converge(t, 30 * SEC);
	read_back(t, 1, "big", val, MIB);
	trireme_replica_stats(t, 1, &s);
	cr_assert_gt(s.incarnation, 1, "replica 1 did not restart from its directory");
	trireme_client_free(big);
	trireme_thread_offline();
	eal_test_stop(t);
	t = start_dir(0, dir);
	trireme_thread_online();
	/* Read at once: the set is in every replica's log (barrier reads wait
	 * for its replay). */
	for (unsigned r = 0; r < 3; r++)
		read_back(t, r, "big", val, MIB);
	eal_test_converge(t, 30 * SEC);
	trireme_thread_offline();
	eal_test_stop(t);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

/* The embedder's machine: it keeps the last command's bytes and a digest;
 * its answer to a cmd and to any query is those bytes (up to 1 MiB). */
struct echo {
	uint8_t *last;
	uint32_t len;
	uint64_t digest, cmds;
};

static void *
echo_create(void *arg, unsigned replica)
{
	(void)arg;
	(void)replica;
	return calloc(1, sizeof(struct echo));
}

static void
echo_destroy(void *sm)
{
	struct echo *e = sm;

	free(e->last);
	free(e);
}

static void
echo_apply(void *sm, const struct trireme_sm_cmd *cmds, unsigned n, struct trireme_sm_result *res)
{
	struct echo *e = sm;

	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = malloc(cmds[i].len + 1u);

		cr_assert_not_null(p);
		memcpy(p, cmds[i].data, cmds[i].len);
		if (e->last != NULL) /* an answer read after the next call shows */
			memset(e->last, 0xa5, e->len);
		free(e->last);
		e->last = p;
		e->len = cmds[i].len;
		e->cmds++;
		for (uint32_t k = 0; k < e->len; k++)
			e->digest = (e->digest ^ p[k]) * 0x100000001b3ull;
		res[i] = (struct trireme_sm_result){.status = 0, .val = e->last, .val_len = e->len};
	}
}

static void
echo_read(void *sm, const void *query, uint32_t len, struct trireme_sm_result *res)
{
	struct echo *e = sm;

	(void)query;
	(void)len;
	*res = (struct trireme_sm_result){.status = 0, .val = e->last, .val_len = e->len};
}

static int
echo_snapshot(void *sm, trireme_sm_write_fn *write, void *ctx)
{
	struct echo *e = sm;

	return write(ctx, &e->digest, 8) || write(ctx, &e->len, 4) ||
	       (e->len > 0 && write(ctx, e->last, e->len));
}

static int
echo_restore(void *sm, const void *buf, size_t len)
{
	struct echo *e = sm;
	const uint8_t *p = buf;

	if (len < 12)
		return -1;
	memcpy(&e->digest, p, 8);
	memcpy(&e->len, p + 8, 4);
	if (len != 12u + e->len)
		return -1;
	e->last = malloc(e->len + 1u);
	if (e->last == NULL)
		return -1;
	memcpy(e->last, p + 12, e->len);
	return 0;
}

static uint64_t
echo_digest(void *sm)
{
	return ((struct echo *)sm)->digest;
}

static const struct trireme_sm_ops echo_ops = {
	.create = echo_create,
	.destroy = echo_destroy,
	.apply = echo_apply,
	.read = echo_read,
	.snapshot = echo_snapshot,
	.restore = echo_restore,
	.digest = echo_digest,
};

Test(large, embedder_cmd_and_query_of_1mib)
{
	static uint8_t val[MIB], got[MIB];
	struct trireme_conf conf;
	struct trireme *t;
	struct trireme_client *c;
	struct trireme_done d;
	char err[256];
	struct trireme_op cmd = {.kind = TRIREME_CMD, .val = val, .val_len = MIB};
	struct trireme_op query = {.kind = TRIREME_QUERY, .val = "q", .val_len = 1};

	trireme_conf_default(&conf);
	cr_assert_eq(trireme_start_sm(&conf, &echo_ops, NULL, &t, err, sizeof(err)), 0, "%s", err);
	eal_test_running = t;
	c = trireme_client_new(t, 1, 16);
	cr_assert_not_null(c);
	fill(val, sizeof(val), 6);
	cr_assert_eq(submit_wait(c, &cmd, got, sizeof(got), &d), 0);
	cr_assert_eq(d.status, 0, "%s", trireme_strerror(d.status));
	cr_assert_eq(d.val_len, MIB, "the cmd's answer: %u bytes", d.val_len);
	cr_assert(memcmp(got, val, MIB) == 0, "the cmd's answer differs");
	for (uint8_t mode = TRIREME_READ_BARRIER; mode <= TRIREME_READ_LOG; mode++) {
		struct trireme_client *q = trireme_client_new(t, mode == 0 ? 0 : 2, 4);

		query.read_mode = mode;
		memset(got, 0, sizeof(got));
		cr_assert_eq(submit_wait(q, &query, got, sizeof(got), &d), 0);
		cr_assert_eq(d.val_len, MIB, "query mode %u: %u bytes", mode, d.val_len);
		cr_assert(memcmp(got, val, MIB) == 0, "query mode %u: other bytes", mode);
		trireme_client_free(q);
	}
	/* A query stays one packet. */
	query.val = val;
	query.val_len = 4096;
	cr_assert_eq(trireme_submit(c, &query, 1), -TRIREME_EINVAL);
	eal_test_converge(t, 30 * SEC);
	trireme_client_free(c);
	eal_test_stop(t);
}

/* A large cmd's answer is the machine's bytes for it even when its last
 * part shares an instance with other clients' cmds applied after it (the
 * echo machine frees its previous answer at its next apply). */
Test(large, embedder_answer_survives_a_shared_batch)
{
	static uint8_t val[64 * 1024], got[64 * 1024];
	struct trireme_conf conf;
	struct trireme *t;
	struct trireme_client *c, *busy;
	char err[256];
	struct trireme_op cmd = {.kind = TRIREME_CMD, .val = val, .val_len = sizeof(val)};
	struct trireme_op small = {.kind = TRIREME_CMD, .val = "x", .val_len = 1};
	uint64_t deadline = eal_test_now_ns() + 60 * SEC;

	trireme_conf_default(&conf);
	cr_assert_eq(trireme_start_sm(&conf, &echo_ops, NULL, &t, err, sizeof(err)), 0, "%s", err);
	eal_test_running = t;
	c = trireme_client_new(t, 0, 16);
	busy = trireme_client_new(t, 0, 16);
	cr_assert(c != NULL && busy != NULL);
	for (unsigned k = 0; k < 20; k++) {
		struct trireme_done d;
		unsigned n = 0;

		fill(val, sizeof(val), 100 + k);
		cr_assert_eq(trireme_submit(c, &cmd, k), 0);
		while (n == 0) {
			struct trireme_done bd[16];

			cr_assert(eal_test_now_ns() < deadline, "the cmds took over 60 s");
			while (trireme_submit(busy, &small, 0) == 0)
				;
			trireme_poll(busy, bd, 16);
			n = trireme_poll(c, &d, 1);
		}
		cr_assert_eq(d.status, 0, "%s", trireme_strerror(d.status));
		cr_assert_eq(d.val_len, sizeof(val), "cmd %u: %u bytes", k, d.val_len);
		memcpy(got, d.val, d.val_len);
		cr_assert(memcmp(got, val, sizeof(val)) == 0, "cmd %u: its answer's bytes differ", k);
	}
	trireme_client_free(busy);
	trireme_client_free(c);
	eal_test_stop(t);
}
