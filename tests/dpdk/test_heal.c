/* PROTOCOL §12 in the runtime: three replicas in one process over net_ring
 * with a log ring small enough that a replica away for seconds comes back
 * to a recycled log and needs a snapshot (T1):
 * - crash + restart without memory of one replica under load (J, T1);
 * - a pause of 15 s under load, then resume (T1, T2, T3).
 * Each ends with every replica at the same applied frontier and digest, no
 * command unfinished, and at least one snapshot installed.
 * And, white box, the transfer's chunks, ACKs, window, resends and fall-over
 * (heal.c), on a clock the test keeps. */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include <urcu-qsbr.h>

#include "eal_test.h"
#include "le.h"
#include "runtime.h" /* struct trireme: the transfer's state, white box */
#include "snapshot.h"
#include "wire.h"
#include "trireme.h"

static void
eal_up(void)
{
	char prefix[64];
	/* The runtime's warnings shown: a slow snapshot load or install says so. */
	char *argv[] = {"test", "-l", "0-1", "--no-huge", "--no-pci", "--no-shconf", prefix,
			"--no-telemetry", "--log-level=*:error", "--log-level=trireme:warning",
			"-m", "512", NULL};

	snprintf(prefix, sizeof(prefix), "--file-prefix=trh%d", getpid());
	cr_assert(rte_eal_init(12, argv) >= 0, "EAL: %s", rte_strerror(rte_errno));
}

TestSuite(heal, .init = eal_up, .fini = eal_test_fini, .timeout = 240);

#define SEC 1000000000ull
#define SECONDS_MAX 64

/* One client per replica, window 16: sets, a del every 16th command. */
struct load {
	struct trireme *t;
	struct trireme_client *cl[3];
	bool on[3];
	uint64_t issued[3], done[3], stopped[3];
	uint64_t per_sec[3][SECONDS_MAX];
	uint64_t t0;
	char phase;           /* the keys' prefix: new keys in each phase */
};

static void
load_start(struct load *l, struct trireme *t)
{
	memset(l, 0, sizeof(*l));
	l->t = t;
	l->t0 = eal_test_now_ns();
	l->phase = 'a';
	for (unsigned r = 0; r < 3; r++) {
		l->cl[r] = trireme_client_new(t, r, 16);
		cr_assert_not_null(l->cl[r]);
		l->on[r] = true;
	}
}

/* One pass: submit what the windows take, take the completions. */
static void
load_step(struct load *l)
{
	unsigned sec = (unsigned)((eal_test_now_ns() - l->t0) / SEC);

	for (unsigned r = 0; r < 3; r++) {
		struct trireme_done d[32];
		unsigned n;

		while (l->on[r]) {
			char key[32], val[32];
			uint64_t i = l->issued[r];
			struct trireme_op op = {.kind = i % 16 == 15 ? TRIREME_DEL : TRIREME_SET};

			/* 20,000 keys per replica and phase, 64 of them hot: a
			 * replica that comes back needs the earlier phases'. */
			snprintf(key, sizeof(key), "%c%u-%lu", l->phase, r,
				 (unsigned long)(i % 4 == 0 ? i % 64 : i % 20000));
			snprintf(val, sizeof(val), "v%u-%lu", r, (unsigned long)i);
			op.key = key;
			op.key_len = (uint16_t)strlen(key);
			op.val = val;
			op.val_len = op.kind == TRIREME_SET ? (uint32_t)strlen(val) : 0;
			if (trireme_submit(l->cl[r], &op, i) != 0)
				break;
			l->issued[r]++;
		}
		n = trireme_poll(l->cl[r], d, 32);
		for (unsigned i = 0; i < n; i++) {
			if (d[i].status == -TRIREME_ESTOPPED) {
				l->stopped[r]++;
				continue;
			}
			cr_assert_eq(d[i].status, 0, "replica %u: %s", r,
				     trireme_strerror(d[i].status));
			l->done[r]++;
			if (sec < SECONDS_MAX)
				l->per_sec[r][sec]++;
		}
	}
	sched_yield(); /* two CPUs: let the replicas run */
}

static void
load_for(struct load *l, uint64_t ns)
{
	uint64_t end = eal_test_now_ns() + ns;

	while (eal_test_now_ns() < end)
		load_step(l);
}

/* Stops submitting; every command completes within 30 s. */
static void
load_drain(struct load *l)
{
	uint64_t deadline = eal_test_now_ns() + 30 * SEC;

	for (unsigned r = 0; r < 3; r++)
		l->on[r] = false;
	for (;;) {
		unsigned left = 0;

		for (unsigned r = 0; r < 3; r++)
			left += trireme_outstanding(l->cl[r]);
		if (left == 0)
			return;
		cr_assert(eal_test_now_ns() < deadline, "%u commands never completed", left);
		load_step(l);
	}
}

static struct trireme *
start_ring(uint32_t slots)
{
	struct trireme_conf conf;
	struct trireme *t;
	char err[256];
	int rc;

	trireme_conf_default(&conf);
	conf.log_slots_max = slots;
	conf.inflight_max = 64;
	conf.keys_max = 1u << 23; /* the load writes new keys */
	rc = trireme_start(&conf, &t, err, sizeof(err));
	cr_assert_eq(rc, 0, "%s", err);
	eal_test_running = t;
	return t;
}

/* Replica r's applied prefix per column. */
static void
applied_now(struct trireme *t, unsigned r, uint64_t applied[TRIREME_REPLICAS])
{
	struct trireme_replica_stats s;

	trireme_replica_stats(t, r, &s);
	memcpy(applied, s.applied_prefix, sizeof(s.applied_prefix));
}

/* How far a column went between two applied_now (the most of the three):
 * past the ring, what a replica had then is recycled and it needs a
 * snapshot. (On a slower machine the load may not get that far, and a
 * catch-up by FETCH alone is right.) */
static uint64_t
went(const uint64_t a[TRIREME_REPLICAS], const uint64_t b[TRIREME_REPLICAS])
{
	uint64_t most = 0;

	for (unsigned c = 0; c < TRIREME_REPLICAS; c++)
		most = b[c] - a[c] > most ? b[c] - a[c] : most;
	return most;
}

/* The log ring of the healing tests, the default: 15 s of load (7 s after
 * a crash) pass it many times on this machine, and half of it passes in
 * about 75 ms, faster than a snapshot cycle (about half a second). Without
 * the owners' catch-up pace (T4) the replica that comes back installs one
 * stale snapshot after another (12 in 6 s) and never catches up. */
#define RING_HEAL 8192

/* T4: replica r came back: while the load goes on, it gets within a
 * quarter ring of replica 0's applied prefix in every column (a moment is
 * enough: all replicas share one lcore here, and an applier may lag for a
 * while), after at most two snapshots (one, and one that crossed a late
 * FETCH). */
static void
assert_caught_up(struct load *l, unsigned r, uint32_t ring)
{
	uint64_t deadline = eal_test_now_ns() + 2 * SEC;
	struct trireme_replica_stats s, s0;
	unsigned c;

	for (;;) {
		trireme_replica_stats(l->t, 0, &s0);
		trireme_replica_stats(l->t, r, &s);
		for (c = 0; c < TRIREME_REPLICAS; c++)
			if (s.applied_prefix[c] + ring / 4 < s0.applied_prefix[c])
				break;
		if (c == TRIREME_REPLICAS)
			break;
		cr_assert(eal_test_now_ns() < deadline,
			  "replica %u is behind in column %u: applied %lu, replica 0 %lu "
			  "(%lu snapshots installed, %lu TOO_OLD)", r, c, s.applied_prefix[c],
			  s0.applied_prefix[c], s.snap_installs, s.too_old);
		load_for(l, SEC / 100);
	}
	cr_assert_leq(s.snap_installs, 2, "replica %u chased snapshots: %lu installed", r,
		      s.snap_installs);
}

Test(heal, crash_and_restart_under_load)
{
	struct trireme *t = start_ring(RING_HEAL);
	struct trireme_replica_stats s;
	static struct load l;
	uint64_t deadline, before, at_restart[TRIREME_REPLICAS];

	load_start(&l, t);
	load_for(&l, 2 * SEC);
	cr_assert_gt(l.done[2], 100, "no load before the crash");

	/* Crash: its outstanding commands complete (unknown outcome). */
	cr_assert_eq(trireme_replica_crash(t, 2), 0);
	l.on[2] = false;
	deadline = eal_test_now_ns() + 2 * SEC;
	while (trireme_outstanding(l.cl[2]) > 0) {
		cr_assert(eal_test_now_ns() < deadline, "a crashed replica's command hangs");
		load_step(&l);
	}
	{
		struct trireme_op op = {.kind = TRIREME_SET, .key = "x", .key_len = 1};

		cr_assert_eq(trireme_submit(l.cl[2], &op, 0), -TRIREME_ESTOPPED);
	}
	trireme_replica_stats(t, 2, &s);
	cr_assert(s.down && s.keys == 0 && !s.rejoined);
	trireme_replica_stats(t, 0, &s);
	cr_assert(s.rejoined, "a replica that kept its memory has nothing to rejoin");

	/* The survivors go on, past the ring. */
	l.phase = 'b';
	before = l.done[0] + l.done[1];
	load_for(&l, 7 * SEC);
	cr_assert_gt(l.done[0] + l.done[1] - before, 2000, "the survivors stalled");

	/* Restart without memory: it joins, installs a snapshot, serves. */
	applied_now(t, 0, at_restart);
	cr_assert_eq(trireme_replica_restart(t, 2), 0);
	l.phase = 'c';
	l.on[2] = true;
	before = l.done[2];
	load_for(&l, 4 * SEC);
	trireme_replica_stats(t, 2, &s);
	cr_assert_gt(l.done[2], before, "the restarted replica never served: serving %d inc %u "
		     "too_old %lu snapshots received %lu installed %lu failed %lu, applied "
		     "%lu/%lu/%lu known %lu/%lu/%lu", s.serving, s.incarnation, s.too_old,
		     s.snap_received, s.snap_installs, s.snap_failed, s.applied_prefix[0],
		     s.applied_prefix[1], s.applied_prefix[2], s.known[0], s.known[1], s.known[2]);
	assert_caught_up(&l, 2, RING_HEAL);
	load_drain(&l);
	eal_test_converge(t, 30 * SEC);
	trireme_replica_stats(t, 2, &s);
	cr_assert(s.serving && s.rejoined && !s.down && s.incarnation > 1);
	if (at_restart[0] >= RING_HEAL || at_restart[1] >= RING_HEAL) /* slot 0 recycled */
		cr_assert_gt(s.snap_installs, 0, "no snapshot was installed (the survivors "
			     "applied %lu/%lu, past the ring)", at_restart[0], at_restart[1]);
	{
		char buf[32], ref[32];
		uint32_t len, ref_len;

		/* Keys written before the crash, never after: from the snapshot. */
		trireme_thread_online();
		cr_assert_eq(trireme_read_local(t, 0, "a0-1", 4, ref, sizeof(ref), &ref_len), 0);
		cr_assert_eq(trireme_read_local(t, 2, "a0-1", 4, buf, sizeof(buf), &len), 0);
		cr_assert(len == ref_len && memcmp(buf, ref, len) == 0);
		trireme_thread_offline();
	}
	fprintf(stderr, "crash+restart: %lu ended by the crash; %lu/%lu/%lu commands, replica 2: %lu keys, "
		"%lu snapshot(s) installed, %lu bytes received\n", l.stopped[2], l.done[0], l.done[1],
		l.done[2], s.keys, s.snap_installs, s.snap_bytes_rx);
	eal_test_stop(t);
}

/* Survivors' completions per second (replicas 0 and 1). */
static uint64_t
survivors(const struct load *l, unsigned sec)
{
	return l->per_sec[0][sec] + l->per_sec[1][sec];
}

/* The median of survivors() over seconds [from, to), at most 8 of them. */
static uint64_t
survivors_median(const struct load *l, unsigned from, unsigned to)
{
	uint64_t v[8];
	unsigned n = 0;

	for (unsigned sec = from; sec < to && n < 8; sec++) {
		unsigned i = n++;

		for (v[i] = survivors(l, sec); i > 0 && v[i - 1] > v[i]; i--) {
			uint64_t x = v[i - 1];

			v[i - 1] = v[i];
			v[i] = x;
		}
	}
	return n ? v[n / 2] : 0;
}

Test(heal, pause_15s_under_load)
{
	struct trireme *t = start_ring(RING_HEAL);
	struct trireme_replica_stats s;
	static struct load l;
	unsigned resumed, end, slow = 0;
	uint64_t base, pause_base, ref, at_pause[TRIREME_REPLICAS], at_resume[TRIREME_REPLICAS];

	load_start(&l, t);
	load_for(&l, 3 * SEC);
	applied_now(t, 0, at_pause);
	cr_assert_eq(trireme_replica_pause(t, 2), 0);
	l.on[2] = false;
	load_for(&l, 15 * SEC);
	applied_now(t, 0, at_resume);
	cr_assert_eq(trireme_replica_resume(t, 2), 0);
	resumed = (unsigned)((eal_test_now_ns() - l.t0) / SEC);
	/* The same load as during the pause (on the survivors), so that their
	 * throughput compares: what changes is the transfer and catch-up. */
	for (unsigned i = 0; i < 6; i++) {
		load_for(&l, SEC);
		for (unsigned r = 0; getenv("HEAL_DEBUG") != NULL && r < 3; r++) {
			trireme_replica_stats(t, r, &s);
			fprintf(stderr, "r%u: committed %lu retries %lu fetches %lu too_old %lu "
				"applied %lu/%lu/%lu known %lu/%lu/%lu snapshots %lu\n", r, s.committed,
				s.retries, s.fetches, s.too_old, s.applied_prefix[0],
				s.applied_prefix[1], s.applied_prefix[2], s.known[0], s.known[1],
				s.known[2], s.snap_installs);
		}
	}
	assert_caught_up(&l, 2, RING_HEAL);
	end = (unsigned)((eal_test_now_ns() - l.t0) / SEC);
	l.on[2] = true; /* and it serves its own clients again */
	load_for(&l, SEC);
	cr_assert_gt(l.per_sec[2][end] + l.per_sec[2][end + 1], 0, "replica 2 does not serve");
	load_drain(&l);
	eal_test_converge(t, 30 * SEC);
	trireme_replica_stats(t, 2, &s);
	if (went(at_pause, at_resume) >= RING_HEAL)
		cr_assert_gt(s.snap_installs, 0, "no snapshot was installed (a column went %lu "
			     "slots, past the ring)", went(at_pause, at_resume));

	/* The reference: the survivors' throughput with 2 away (the 5 s
	 * before the resume) or once it has caught up (the last 3 s),
	 * whichever is lower, each the median of its seconds: all three
	 * replicas share this process's one worker lcore and other processes
	 * share the machine, so a single second is noise (a mean over 3 s
	 * with one fast second put the bar above the survivors' own rate
	 * while 2 was away). During the transfer and catch-up: at most one
	 * second below half of it, never below a tenth. */
	base = survivors_median(&l, end - 3, end);
	pause_base = survivors_median(&l, resumed - 6, resumed - 1);
	ref = base < pause_base ? base : pause_base;
	for (unsigned sec = resumed; sec < end; sec++) {
		slow += survivors(&l, sec) < ref / 2;
		cr_assert_geq(survivors(&l, sec), ref / 10,
			      "the survivors stalled %u s after the resume: %lu commands/s (reference: %lu)",
			      sec - resumed, survivors(&l, sec), ref);
	}
	fprintf(stderr, "pause 15 s: survivors %lu commands/s while 2 was away, %lu once it "
		"caught up; after the resume:", pause_base, base);
	for (unsigned sec = resumed; sec < end; sec++)
		fprintf(stderr, " %lu", survivors(&l, sec));
	fprintf(stderr, "; replica 2: %lu snapshot(s), %lu bytes\n", s.snap_installs,
		s.snap_bytes_rx);
	cr_assert_leq(slow, 1, "the survivors fell below half of %lu commands/s for %u s", ref, slow);
	eal_test_stop(t);
}

/* The survivors' instances started at the catch-up pace (T4), so far. */
static uint64_t
survivors_paced(struct trireme *t)
{
	struct trireme_replica_stats s;
	uint64_t n = 0;

	for (unsigned r = 0; r < 2; r++) {
		trireme_replica_stats(t, r, &s);
		n += s.paced;
	}
	return n;
}

/* Replica 2 deaf for 4 s under load (every frame it receives dropped, while
 * it goes on sending STATUS and FETCH): it falls far below the others'
 * base, says so, and cannot catch up until it hears again. The others must
 * not pace for it (T4's echo: its STATUS shows it does not hear them);
 * before the echo they held 0.26 M ops/s instead of 1.45 M. Once it hears,
 * it catches up (paced for, now that it can). */
Test(heal, deaf_under_load_nobody_paced)
{
	struct trireme *t = start_ring(RING_HEAL);
	struct trireme_faults deaf = {.drop_rx = 1}, hear = {0};
	static struct load l;
	uint64_t before, at_deaf[TRIREME_REPLICAS], at_hear[TRIREME_REPLICAS];
	struct trireme_replica_stats s;

	load_start(&l, t);
	load_for(&l, 2 * SEC);
	applied_now(t, 0, at_deaf);
	before = survivors_paced(t);
	l.on[2] = false;
	cr_assert_eq(trireme_set_faults(t, 2, &deaf), 0);
	load_for(&l, 4 * SEC);
	applied_now(t, 0, at_hear);
	cr_assert_leq(survivors_paced(t) - before, 16, "the survivors paced %lu instances for "
		      "a deaf replica (its columns went %lu slots)", survivors_paced(t) - before,
		      went(at_deaf, at_hear));
	cr_assert_eq(trireme_set_faults(t, 2, &hear), 0);
	load_for(&l, 2 * SEC);
	assert_caught_up(&l, 2, RING_HEAL);
	l.on[2] = true;
	load_drain(&l);
	eal_test_converge(t, 30 * SEC);
	trireme_replica_stats(t, 2, &s);
	fprintf(stderr, "deaf 4 s: columns went %lu slots; survivors paced %lu; replica 2: "
		"%lu snapshot(s)\n", went(at_deaf, at_hear), survivors_paced(t) - before,
		s.snap_installs);
	eal_test_stop(t);
}

/* The snapshot format: a state machine copied while an instance is applied
 * after F_start, loaded elsewhere, reaches the same digest and client table;
 * a flipped byte is refused. */
static void
apply_set(struct tr_sm *sm, uint64_t client, uint64_t seq, const char *k, const char *v)
{
	struct tr_cmd cmd = {.op = TR_OP_SET, .window = 4, .client_id = client, .seq = seq,
			     .key = (const uint8_t *)k, .key_len = (uint16_t)strlen(k),
			     .val = (const uint8_t *)v, .val_len = (uint32_t)strlen(v)};
	struct tr_sm_result res;

	tr_sm_apply(sm, &cmd, &res);
	cr_assert_eq(res.status, TR_ST_OK);
}

Test(heal, snapshot_format)
{
	static struct tr_client_rec recs[64], recs2[64];
	static _Atomic int threads;
	struct tr_kvstore *kv = tr_kvstore_new(16, 1000), *kv2 = tr_kvstore_new(16, 1000);
	struct tr_sm sm, sm2;
	struct tr_snap_point start = {.applied = {3, 0, 0}}, end = {.applied = {4, 0, 0}};
	struct tr_snap_job *j;
	struct tr_snap_hdr h;
	struct tr_cmd cmd = {.op = TR_OP_SET, .window = 4, .client_id = 7, .seq = 3,
			     .key = (const uint8_t *)"a", .key_len = 1,
			     .val = (const uint8_t *)"A2", .val_len = 2};
	uint8_t enc[64];
	struct tr_value v = {.cmd_count = 1, .cmds = enc};
	const uint8_t *bytes;
	uint8_t *copy;
	size_t len = 0;
	bool failed;

	urcu_qsbr_register_thread();
	tr_sm_init(&sm, &tr_kvstore_ops, kv, recs, 64);
	tr_sm_init(&sm2, &tr_kvstore_ops, kv2, recs2, 64);
	apply_set(&sm, 7, 1, "a", "A1");
	apply_set(&sm, 7, 2, "b", "B1");
	apply_set(&sm, 9, 1, "c", "C1");
	j = tr_snap_job_new(0x7472, 0, &threads);
	cr_assert_not_null(j);
	cr_assert_eq(tr_snap_begin(j, &sm, &start), 0);
	/* After F_start: client 7's seq 3 overwrites a (the copy may or may not
	 * see it); the replay applies it again over the copy. */
	v.cmds_len = (uint32_t)tr_cmd_encode(enc, sizeof(enc), &cmd);
	{
		struct tr_sm_result res;

		tr_sm_apply(&sm, &cmd, &res);
	}
	tr_snap_log(j, 0, 3, &v);
	urcu_qsbr_thread_offline();
	while (!tr_snap_copied(j))
		usleep(100);
	tr_snap_close(j, &end, sm.applied_cmds);
	while ((bytes = tr_snap_ready(j, &len, &failed)) == NULL && !failed)
		usleep(100);
	urcu_qsbr_thread_online();
	cr_assert_not_null(bytes);
	cr_assert_null(tr_snap_check(bytes, len, 0x7472, &h));
	cr_assert_eq(h.pairs, 3);
	cr_assert_eq(h.instances, 1);
	cr_assert_eq(h.point.applied[0], 4);
	cr_assert_not_null(tr_snap_check(bytes, len, 0x7473, &h), "another cluster's");
	cr_assert_null(tr_snap_load_into(bytes, &h, &sm2));
	cr_assert_eq(sm2.digest, sm.digest);
	cr_assert_eq(sm2.clients_used, 2);
	{
		/* exactly-once carried over: client 7's seq 3 is a duplicate there */
		struct tr_sm_result res;

		tr_sm_apply(&sm2, &cmd, &res);
		cr_assert_eq(res.status, TR_ST_DUPLICATE);
	}
	copy = malloc(len);
	memcpy(copy, bytes, len);
	copy[len - 8] ^= 1; /* in the instances */
	cr_assert_str_eq(tr_snap_check(copy, len, 0x7472, &h), "snapshot CRC mismatch");
	free(copy);
	tr_snap_put(j);
	urcu_qsbr_unregister_thread();
	tr_kvstore_free(kv);
	tr_kvstore_free(kv2);
}

/* White box (heal.c): the transfer itself. Replica 2 held (its tasks and
 * applier parked), the test plays its column 0 task: it hands rt_snap_rx
 * frames as from a peer, runs rt_snap_poll at times of its own choosing and
 * reads (and frees) what the task queued for its peers. The frame's layout
 * and the constants are heal.c's (runtime.h). */
#define MS 1000000ull

/* A frame queued by replica 2's column 0 task: at, a DATA's offset or an
 * ACK's acknowledged prefix. */
struct sent {
	uint8_t type;
	uint64_t xfer, at;
	uint32_t n;
};

/* What replica r's column 0 task queued for peer since the last call (at
 * most max of them kept), freed. */
static unsigned
sent_to(struct rt_replica *r, unsigned peer, struct sent *out, unsigned max)
{
	struct rt_task *k = &r->tasks[0];
	unsigned n = k->ntx[peer];

	for (unsigned i = 0; i < n; i++) {
		const uint8_t *p = rte_pktmbuf_mtod_offset(k->tx[peer][i], const uint8_t *,
							   TR_NET_HDR_LEN);

		cr_assert_eq(ld_u32(p), SNAPX_MAGIC);
		if (i < max)
			out[i] = (struct sent){.type = p[4], .xfer = ld_u64(p + 16),
					       .at = ld_u64(p + SNAPX_HDR),
					       .n = p[4] == SNAPX_DATA ? ld_u32(p + SNAPX_HDR + 20) : 0};
		rte_pktmbuf_free(k->tx[peer][i]);
	}
	k->ntx[peer] = 0;
	return n;
}

static struct trireme *
held_2(void)
{
	struct trireme_conf conf;
	struct trireme *t;
	struct rt_replica *r;
	struct sent f;
	char err[256];

	trireme_conf_default(&conf);
	cr_assert_eq(trireme_start(&conf, &t, err, sizeof(err)), 0, "%s", err);
	eal_test_running = t;
	r = &t->reps[2];
	atomic_store(&r->parked, 0);
	atomic_store(&r->hold, true);
	while ((atomic_load(&r->parked) & RT_PARK_ALL) != RT_PARK_ALL)
		sched_yield();
	for (unsigned peer = 0; peer < TR_REPLICAS; peer++)
		(void)sent_to(r, peer, &f, 0);
	r->srx.idle_until_ns = UINT64_MAX; /* it asks for no snapshot of its own */
	return t;
}

static void
held_2_end(struct trireme *t)
{
	struct rt_replica *r = &t->reps[2];
	struct sent f;

	free(r->srx.buf);
	free(r->srx.have);
	tr_snap_load_put(r->srx.load);
	r->srx = (struct rt_snap_rx){0};
	r->stx = (struct rt_snap_tx){0};
	for (unsigned peer = 0; peer < TR_REPLICAS; peer++)
		(void)sent_to(r, peer, &f, 0);
	atomic_store(&r->hold, false);
	eal_test_stop(t);
}

/* A frame of len bytes at p (header written here) to replica r, from peer,
 * its CRC appended (a wrong one when bad_crc). */
static void
frame_in(struct rt_replica *r, uint8_t *p, uint8_t type, uint8_t from, uint64_t xfer,
	 uint32_t len, bool bad_crc, uint64_t now)
{
	struct tr_net_rx rx = {.payload = p, .len = (uint16_t)(len + 4), .from = from,
			       .column = TR_NET_SNAP};

	memset(p, 0, SNAPX_HDR);
	put_le32(p, SNAPX_MAGIC);
	p[4] = type;
	p[5] = from;
	put_le32(p + 8, r->limits.cluster_id);
	put_le64(p + 16, xfer);
	put_le32(p + len, tr_crc32c(0, p, len) ^ bad_crc);
	rt_snap_rx(&r->tasks[0], &rx, now);
}

static uint8_t
byte_at(uint64_t off)
{
	return (uint8_t)(off * 7 + 3);
}

/* The n bytes at off of a snapshot of total bytes in chunks of chunk. */
/* Replica 2 held (held_2), receiving transfer XFER from replica 1 as of
 * *now: the receiver's tests. */
#define XFER 0x5eedu
static struct rt_replica *
receiving_from_1(struct trireme **t, uint64_t *now)
{
	*t = held_2();
	*now = rt_now_ns(*t);
	(*t)->reps[2].srx = (struct rt_snap_rx){.state = RT_SNAP_RECEIVING, .peer = 1,
						.xfer = XFER, .progress_ns = *now,
						.req_ns = *now};
	return &(*t)->reps[2];
}

static void
data_in(struct rt_replica *r, uint8_t from, uint64_t xfer, uint64_t off, uint64_t total,
	uint32_t chunk, uint32_t n, bool bad_crc, uint64_t now)
{
	static uint8_t p[SNAPX_DATA_HDR + 2048 + 4];

	cr_assert_leq(n, 2048);
	put_le64(p + SNAPX_HDR, off);
	put_le64(p + SNAPX_HDR + 8, total);
	put_le32(p + SNAPX_HDR + 16, chunk);
	put_le32(p + SNAPX_HDR + 20, n);
	for (uint32_t i = 0; i < n; i++)
		p[SNAPX_DATA_HDR + i] = byte_at(off + i);
	frame_in(r, p, SNAPX_DATA, from, xfer, SNAPX_DATA_HDR + n, bad_crc, now);
}

static void
ack_in(struct rt_replica *r, uint8_t from, uint64_t xfer, uint64_t acked, uint64_t now)
{
	uint8_t p[SNAPX_HDR + 8 + 4];

	put_le64(p + SNAPX_HDR, acked);
	frame_in(r, p, SNAPX_ACK, from, xfer, SNAPX_HDR + 8, false, now);
}

/* T1, the receiver: a chunk is taken once and where it belongs, and the ACK
 * covers the prefix received without a gap, no more. Replica 2 receives from
 * 1 a snapshot of 4,500 bytes in chunks of 1,000: chunk 1 first (an ACK of 0
 * at once: a gap), chunk 1 again, a chunk at offset 500, chunk 0 with a bad
 * frame CRC, of another transfer and from replica 0: only then chunk 0. */
Test(heal, snapshot_chunks_are_taken_once_where_they_belong)
{
	struct trireme *t;
	uint64_t now, xfer = XFER;
	struct rt_replica *r = receiving_from_1(&t, &now);
	struct rt_snap_rx *x = &r->srx;
	uint64_t malformed = r->tasks[0].drops_malformed, rx0 = r->snap.bytes_rx;
	enum { C = 1000, T = 4500 };
	struct sent f[8];

	data_in(r, 1, xfer, C, T, C, C, false, now += MS);
	cr_assert_eq(x->got_chunks, 1);
	cr_assert_eq(x->acked, 0, "chunk 1 alone acknowledged %zu bytes", x->acked);
	cr_assert_eq(sent_to(r, 1, f, 8), 1, "no ACK on a gap");
	cr_assert(f[0].type == SNAPX_ACK && f[0].xfer == xfer && f[0].at == 0,
		  "the ACK of chunk 1 alone says %lu", f[0].at);

	data_in(r, 1, xfer, C, T, C, C, false, now += MS);
	cr_assert_eq(x->got_chunks, 1, "chunk 1 taken twice");
	cr_assert_eq(r->snap.bytes_rx - rx0, C, "chunk 1 counted twice");
	data_in(r, 1, xfer, C / 2, T, C, C, false, now += MS);
	cr_assert_eq(r->tasks[0].drops_malformed, malformed + 1, "a chunk at offset 500 not counted");
	data_in(r, 1, xfer, 0, T, C, C, true, now += MS);
	cr_assert_eq(r->tasks[0].drops_malformed, malformed + 2, "a bad frame CRC not counted");
	data_in(r, 1, xfer + 1, 0, T, C, C, false, now += MS);
	data_in(r, 0, xfer, 0, T, C, C, false, now += MS);
	cr_assert(x->got_chunks == 1 && !x->have[0] && x->acked == 0 &&
		  r->snap.bytes_rx - rx0 == C, "a chunk at offset 500, with a bad CRC, of another "
		  "transfer or from another peer was taken: %zu chunks, %zu acknowledged",
		  x->got_chunks, x->acked);
	cr_assert_leq(sent_to(r, 1, f, 8), 8);

	data_in(r, 1, xfer, 0, T, C, C, false, now += MS);
	cr_assert_eq(x->acked, 2 * C);
	cr_assert_eq(r->snap.bytes_rx - rx0, 2 * C);
	for (unsigned i = 0; i < 2 * C; i++)
		cr_assert_eq(x->buf[i], byte_at(i), "byte %u", i);
	held_2_end(t);
}

/* T1, the receiver: a DATA frame that does not fit in the snapshot is
 * dropped, whatever its numbers say: an empty one at the very end (its chunk
 * one past the last), or one whose offset is so large that offset plus
 * length wraps around. Replica 2 receives from 1 a snapshot of 4,000 bytes in
 * chunks of 1,000; chunk 0 came. */
Test(heal, a_chunk_outside_the_snapshot_is_dropped)
{
	struct trireme *t;
	uint64_t now, xfer = XFER;
	struct rt_replica *r = receiving_from_1(&t, &now);
	struct rt_snap_rx *x = &r->srx;
	uint64_t bad = r->tasks[0].drops_malformed;
	enum { C = 1000, T = 4000 };

	data_in(r, 1, xfer, 0, T, C, C, false, now += MS);
	cr_assert(x->got_chunks == 1 && x->acked == C);
	data_in(r, 1, xfer, T, T, C, 0, false, now += MS);
	cr_assert_eq(x->got_chunks, 1, "an empty chunk at offset %u of %u taken", T, T);
	data_in(r, 1, xfer, UINT64_MAX / C * C, T, C, C, false, now += MS);
	cr_assert_eq(x->got_chunks, 1, "a chunk at offset %lu taken", UINT64_MAX / C * C);
	cr_assert_eq(x->acked, C);
	cr_assert_eq(r->tasks[0].drops_malformed, bad + 2, "the two frames not counted as "
		     "malformed");
	held_2_end(t);
}

/* T1, the receiver: a transfer received whole whose two final ACKs were
 * both lost is acknowledged again when its sender resends a chunk (after
 * its time-out), also once the receiver has moved on to loading it; before,
 * the sender counted a failure 3 s later for a snapshot that had arrived.
 * Replica 2 receives 2,000 bytes in chunks of 1,000 from replica 1. */
Test(heal, a_whole_snapshot_is_acknowledged_again)
{
	struct trireme *t;
	uint64_t now, xfer = XFER;
	struct rt_replica *r = receiving_from_1(&t, &now);
	struct rt_snap_rx *x = &r->srx;
	enum { C = 1000, T = 2000 };
	struct sent f[4];
	unsigned n;

	data_in(r, 1, xfer, 0, T, C, C, false, now += MS);
	data_in(r, 1, xfer, C, T, C, C, false, now += MS);
	cr_assert_neq(x->state, RT_SNAP_RECEIVING, "the whole snapshot not taken");
	n = sent_to(r, 1, f, 4); /* the final ACKs, lost */
	cr_assert(n >= 1 && f[n - 1].type == SNAPX_ACK && f[n - 1].at == T);
	data_in(r, 1, xfer, C, T, C, C, false, now += 30 * MS); /* the sender's go-back */
	n = sent_to(r, 1, f, 4);
	cr_assert(n == 1 && f[0].type == SNAPX_ACK && f[0].xfer == xfer && f[0].at == T,
		  "a resend of the whole snapshot got %u frames, no ACK of %u", n, T);
	data_in(r, 1, xfer + 1, C, T, C, C, false, now += MS);
	data_in(r, 0, xfer, C, T, C, C, false, now += MS);
	cr_assert_eq(sent_to(r, 1, f, 4) + sent_to(r, 0, f, 4), 0,
		     "another transfer's or another peer's chunk acknowledged");
	held_2_end(t);
}

/* Polls replica 2's column 0 task every 10 us until `until`: the end of the
 * furthest DATA it sent replica 1, the offset of the first (UINT64_MAX: none). */
static uint64_t
poll_sender(struct rt_replica *r, uint64_t *now, uint64_t until, uint64_t *first)
{
	struct sent f[RT_BURST];
	uint64_t end = 0;

	*first = UINT64_MAX;
	for (; *now < until; *now += 10000) {
		unsigned n;

		rt_snap_poll(&r->tasks[0], *now);
		n = sent_to(r, 1, f, RT_BURST);
		for (unsigned i = 0; i < n; i++) {
			if (f[i].type != SNAPX_DATA)
				continue;
			if (*first == UINT64_MAX)
				*first = f[i].at;
			if (f[i].at + f[i].n > end)
				end = f[i].at + f[i].n;
		}
	}
	return end;
}

/* T1, T3, the sender: at most RT_SNAP_WINDOW bytes beyond the acknowledged
 * prefix, whatever the pace would allow; the window moves with the ACKs; two
 * repeated ACKs resend the first missing chunk; after RT_SNAP_RTO_NS without
 * progress it sends from the prefix again. Replica 2 sends 3 MiB to replica 1
 * (15 ms of its pace), polled every 10 us. */
Test(heal, snapshot_sender_keeps_its_window_and_resends_from_the_prefix)
{
	struct trireme *t = held_2();
	struct rt_replica *r = &t->reps[2];
	struct rt_snap_tx *s = &r->stx;
	size_t len = 3u << 20;
	uint8_t *buf = calloc(1, len);
	uint64_t now = rt_now_ns(t), xfer = 0x5eed, end, first, chunk, acked;

	cr_assert_not_null(buf);
	*s = (struct rt_snap_tx){.state = RT_SNAP_SENDING, .to = 1, .xfer = xfer, .buf = buf,
				 .len = len, .progress_ns = now, .pace_ns = now};
	end = poll_sender(r, &now, now + 15 * MS, &first);
	chunk = s->chunk;
	cr_assert(chunk > 0 && first == 0);
	cr_assert(end >= RT_SNAP_WINDOW && end < RT_SNAP_WINDOW + chunk,
		  "%lu bytes sent with none acknowledged (window %u)", end, RT_SNAP_WINDOW);

	acked = 10 * chunk;
	ack_in(r, 1, xfer, acked, now);
	end = poll_sender(r, &now, now + MS, &first);
	cr_assert(end >= acked + RT_SNAP_WINDOW && end < acked + RT_SNAP_WINDOW + chunk,
		  "%lu bytes sent with %lu acknowledged", end, acked);

	ack_in(r, 1, xfer, acked, now);
	ack_in(r, 1, xfer, acked, now);
	(void)poll_sender(r, &now, now + 10000, &first);
	cr_assert_eq(first, acked, "two repeated ACKs of %lu resent %lu", acked, first);

	(void)poll_sender(r, &now, now + RT_SNAP_RTO_NS + 2 * MS, &first);
	cr_assert_eq(first, acked, "%llu ms without progress: resent from %lu, not from the "
		     "prefix %lu", RT_SNAP_RTO_NS / MS, first, acked);
	held_2_end(t);
	free(buf);
}

/* T1: a transfer that makes no progress turns to the other peer, under a new
 * transfer id; before that, while no chunk came, the REQ goes again to the
 * same peer. Replica 2 asked replica 1, which never answers. */
Test(heal, a_stalled_snapshot_transfer_asks_the_other_peer)
{
	struct trireme *t;
	uint64_t now, xfer = XFER;
	struct rt_replica *r = receiving_from_1(&t, &now);
	struct rt_snap_rx *x = &r->srx;
	uint64_t failed = r->snap.failed;
	struct sent f[4];

	rt_snap_poll(&r->tasks[0], now + 150 * MS);
	cr_assert_eq(sent_to(r, 1, f, 4), 1);
	cr_assert(f[0].type == SNAPX_REQ && f[0].xfer == xfer);
	cr_assert_eq(sent_to(r, 0, f, 4), 0);

	rt_snap_poll(&r->tasks[0], now + RT_SNAP_STALL_NS + MS);
	cr_assert_eq(x->state, RT_SNAP_RECEIVING);
	cr_assert_eq(x->peer, 0, "a stalled transfer from 1 asks %u", x->peer);
	cr_assert_neq(x->xfer, xfer);
	cr_assert_eq(sent_to(r, 0, f, 4), 1);
	cr_assert(f[0].type == SNAPX_REQ && f[0].xfer == x->xfer);
	cr_assert_eq(sent_to(r, 1, f, 4), 0);
	cr_assert_eq(r->snap.failed, failed + 1);
	held_2_end(t);
}
