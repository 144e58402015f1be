/* The library's lifecycle and errors (issue 15): trireme_start's messages,
 * clients created and freed far beyond clients_max, trireme_wait's two
 * outcomes, and a safety violation that stops a replica loudly (status, log
 * line, telemetry, ESTOPPED). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_mempool.h>
#include <rte_ethdev.h>
#include <rte_log.h>

#include "eal_test.h"
#include "internal.h" /* violation(): the engine's own stop */
#include "runtime.h"  /* struct trireme: to reach a replica's engine */
#include "trireme.h"
#include "trireme_proto.h"

#define SEC 1000000000ull

static void
eal_up(void)
{
	eal_test_init(true);
}

/* A failed assertion leaves its instance running: eal_test_fini stops it. */
TestSuite(lifecycle, .init = eal_up, .fini = eal_test_fini, .timeout = 120);

static uint64_t
mono_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static struct trireme *
start(uint32_t clients_max)
{
	struct trireme_conf conf;
	struct trireme *t;
	char err[256];
	int rc;

	trireme_conf_default(&conf);
	conf.clients_max = clients_max;
	rc = trireme_start(&conf, &t, err, sizeof(err));
	cr_assert_eq(rc, 0, "%s", err);
	eal_test_running = t;
	return t;
}

/* One completion, waited for without spinning. */
static struct trireme_done
wait_one(struct trireme_client *c)
{
	struct trireme_done d;
	int n = trireme_wait(c, 20 * SEC);

	cr_assert_gt(n, 0, "trireme_wait: %s", trireme_strerror(n));
	cr_assert_eq(trireme_poll(c, &d, 1), 1);
	return d;
}

Test(noeal, start_before_rte_eal_init)
{
	struct trireme_conf conf;
	struct trireme *t = (struct trireme *)&conf;
	char err[256] = "";

	trireme_conf_default(&conf);
	cr_assert_eq(trireme_start(&conf, &t, err, sizeof(err)), -TRIREME_ENOEAL);
	cr_assert_null(t);
	cr_assert_not_null(strstr(err, "EAL not initialised: call rte_eal_init first"), "%s",
			   err);
}

Test(lifecycle, second_start_says_already_started)
{
	struct trireme_conf conf;
	struct trireme *t = start(64), *t2;
	char err[256] = "";

	trireme_conf_default(&conf);
	cr_assert_eq(trireme_start(&conf, &t2, err, sizeof(err)), -TRIREME_EALREADY);
	cr_assert_not_null(strstr(err, "already started"), "%s", err);
	eal_test_stop(t);
	t = start(64); /* the one instance is free again */
	eal_test_stop(t);
}

/* The voluntary context switches of the worker lcore's thread (EAL names it
 * rte-worker-1): a sleep is one, a sched_yield or a preemption is not. */
static unsigned long
worker_sleeps(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	unsigned long n = ULONG_MAX;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL && n == ULONG_MAX) {
		char path[300], comm[32] = "", line[128];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(comm, sizeof(comm), f) == NULL)
			comm[0] = 0;
		fclose(f);
		if (strcmp(comm, "rte-worker-1\n") != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
		cr_assert_not_null(f = fopen(path, "r"));
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "voluntary_ctxt_switches: %lu", &n) == 1)
				break;
		fclose(f);
	}
	closedir(d);
	cr_assert_neq(n, ULONG_MAX, "no rte-worker-1 thread with a switch count");
	return n;
}

/* conf.idle: a value outside enum trireme_idle is refused with its name;
 * under each policy, with the appliers on the worker lcore and on threads of
 * their own, the cluster commits and every client free (a QSBR grace
 * period) returns; only BACKOFF sleeps when idle (YIELD and POLL differ in
 * their yields, which no counter tells apart from a preemption). */
Test(lifecycle, idle_policies)
{
	static const uint8_t policies[] = {TRIREME_IDLE_BACKOFF, TRIREME_IDLE_YIELD,
					   TRIREME_IDLE_POLL};
	struct trireme_conf conf;
	struct trireme *t;
	char err[256] = "";
	int rc;

	trireme_conf_default(&conf);
	cr_assert_eq(conf.idle, TRIREME_IDLE_BACKOFF, "the default");
	conf.idle = TRIREME_IDLE_POLL + 1;
	if ((rc = trireme_start(&conf, &t, err, sizeof(err))) == 0)
		trireme_stop(t);
	cr_assert_eq(rc, -TRIREME_EINVAL);
	cr_assert_not_null(strstr(err, "conf.idle 3 is not a trireme_idle"), "%s", err);
	for (unsigned i = 0; i < 2 * sizeof(policies); i++) {
		struct trireme_client *c;
		unsigned long sleeps;
		char key[16], got[16];
		uint32_t len;

		trireme_conf_default(&conf);
		conf.idle = policies[i / 2];
		conf.applier_threads = i % 2 == 1;
		cr_assert_eq(trireme_start(&conf, &t, err, sizeof(err)), 0, "%s", err);
		eal_test_running = t;
		trireme_thread_online();
		for (unsigned n = 0; n < 40; n++) {
			unsigned r = n % TRIREME_REPLICAS;
			struct trireme_op op = {.kind = TRIREME_SET, .key = key, .val = "v",
						.val_len = 1};

			cr_assert_not_null(c = trireme_client_new(t, r, 4));
			op.key_len = (uint16_t)snprintf(key, sizeof(key), "k%u", n);
			cr_assert_eq(trireme_submit(c, &op, n), 0);
			cr_assert_eq(wait_one(c).status, 0, "idle %u, set %u", conf.idle, n);
			cr_assert_eq(trireme_read_local(t, r, key, op.key_len, got, sizeof(got),
							&len), 0, "idle %u: set %u not applied",
				     conf.idle, n);
			trireme_thread_quiescent();
			trireme_client_free(c);
		}
		/* Without load: BACKOFF gets past its pauses and yields to its sleeps
		 * (later on a busy CPU, where each yield lets others run; at most
		 * 5 s); the others never sleep. Checked after the stop. */
		usleep(50000);
		sleeps = worker_sleeps();
		for (unsigned ms = 0; ms < (conf.idle == TRIREME_IDLE_BACKOFF ? 5000 : 200);
		     ms += 50) {
			usleep(50000);
			if (conf.idle == TRIREME_IDLE_BACKOFF && worker_sleeps() - sleeps >= 20)
				break;
		}
		sleeps = worker_sleeps() - sleeps;
		trireme_thread_offline();
		eal_test_stop(t);
		if (conf.idle == TRIREME_IDLE_BACKOFF)
			cr_assert_geq(sleeps, 20, "backoff: %lu sleeps in 5 s idle", sleeps);
		else
			cr_assert_lt(sleeps, 5, "idle %u: %lu sleeps in 200 ms idle", conf.idle,
				     sleeps);
	}
}

/* clients_max 4, 600 clients one after another over the three replicas:
 * every write of a client on a reused slot is applied (its sequences go on
 * from the slot's previous client's, so §8 takes none for a duplicate), and
 * every 5th client is freed with its command still outstanding. */
Test(lifecycle, clients_forever)
{
	struct trireme *t = start(4);
	struct trireme_client *held[5];
	unsigned waited = 0;

	trireme_thread_online();
	for (unsigned i = 0; i < 600; i++) {
		unsigned r = i % TRIREME_REPLICAS;
		struct trireme_client *c = trireme_client_new(t, r, 1 + i % 8);
		char key[16], val[16], got[16];
		struct trireme_op op = {.kind = TRIREME_SET, .key = key, .val = val};
		uint32_t len;

		cr_assert_not_null(c, "client %u refused", i);
		op.key_len = (uint16_t)snprintf(key, sizeof(key), "k%u", i);
		op.val_len = (uint32_t)snprintf(val, sizeof(val), "v%u", i);
		cr_assert_eq(trireme_submit(c, &op, i), 0);
		if (i % 5 == 4) {
			trireme_client_free(c); /* abandoned: outcome unknown */
			continue;
		}
		cr_assert_eq(wait_one(c).status, 0);
		/* P5: applied on the replica it was submitted to. */
		cr_assert_eq(trireme_read_local(t, r, key, op.key_len, got, sizeof(got), &len), 0,
			     "client %u's write was not applied", i);
		cr_assert(len == op.val_len && memcmp(got, val, len) == 0);
		trireme_thread_quiescent();
		trireme_client_free(c);
		waited++;
	}
	cr_assert_eq(waited, 480);
	cr_assert_null(trireme_client_new(t, 0, TRIREME_WINDOW_MAX + 1));
	cr_assert_eq(errno, EINVAL);
	usleep(100000); /* the abandoned commands reach the engine */
	for (unsigned r = 0; r < TRIREME_REPLICAS; r++) {
		for (unsigned i = 0; i < 4; i++)
			cr_assert_not_null(held[i] = trireme_client_new(t, r, 4));
		cr_assert_null(held[4] = trireme_client_new(t, r, 4), "clients_max is 4");
		cr_assert_eq(errno, ENOSPC);
		for (unsigned i = 0; i < 4; i++)
			trireme_client_free(held[i]);
		/* Every abandoned client was destroyed once the workers let go. */
		cr_assert_null(t->reps[r].retired, "replica %u keeps freed clients", r);
	}
	trireme_thread_offline();
	eal_test_stop(t);
}

Test(lifecycle, wait_times_out_then_completes)
{
	struct trireme *t = start(64);
	struct trireme_client *c = trireme_client_new(t, 0, 4);
	struct trireme_op op = {.kind = TRIREME_SET, .key = "k", .key_len = 1, .val = "v",
				.val_len = 1};
	uint64_t wall, cpu;
	int rc;

	cr_assert_not_null(c);
	cr_assert_eq(trireme_wait(c, SEC), 0, "nothing outstanding: returns at once");
	/* No quorum: both peers paused, the set cannot commit. */
	cr_assert_eq(trireme_replica_pause(t, 1), 0);
	cr_assert_eq(trireme_replica_pause(t, 2), 0);
	cr_assert_eq(trireme_submit(c, &op, 7), 0);
	wall = mono_ns(CLOCK_MONOTONIC);
	cpu = mono_ns(CLOCK_THREAD_CPUTIME_ID);
	rc = trireme_wait(c, 200000000ull);
	wall = mono_ns(CLOCK_MONOTONIC) - wall;
	cpu = mono_ns(CLOCK_THREAD_CPUTIME_ID) - cpu;
	cr_assert_eq(rc, -TRIREME_ETIMEOUT, "%d", rc);
	cr_assert_geq(wall, 200000000ull, "returned after %lu ns", (unsigned long)wall);
	cr_assert_lt(cpu, 20000000ull, "slept, not spun: %lu ns of CPU", (unsigned long)cpu);
	/* A peer back: the set commits and wakes the waiter. */
	cr_assert_eq(trireme_replica_resume(t, 1), 0);
	wall = mono_ns(CLOCK_MONOTONIC);
	rc = trireme_wait(c, 20 * SEC);
	wall = mono_ns(CLOCK_MONOTONIC) - wall;
	cr_assert_eq(rc, 1, "%s", trireme_strerror(rc));
	cr_assert_lt(wall, 10 * SEC, "woken by the completion, not the timeout");
	cr_assert_eq(wait_one(c).tag, 7);
	eal_test_stop(t);
}

static bool
readable(int fd, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	return poll(&pfd, 1, timeout_ms) == 1 && (pfd.revents & POLLIN);
}

/* An event loop's way: the client's fd is readable while a completion is
 * ready, taken one at a time (trireme_poll rearms it), local gets included. */
Test(lifecycle, fd_in_a_poll_loop)
{
	struct trireme *t = start(64);
	struct trireme_client *c = trireme_client_new(t, 2, 4);
	struct trireme_op op = {.kind = TRIREME_SET, .key = "k", .key_len = 1, .val = "v",
				.val_len = 1};
	struct trireme_op get = {.kind = TRIREME_GET, .read_mode = TRIREME_READ_LOCAL,
				 .key = "k", .key_len = 1};
	struct trireme_done d;
	uint64_t deadline = mono_ns(CLOCK_MONOTONIC) + 20 * SEC;
	int fd;

	cr_assert_not_null(c);
	fd = trireme_client_fd(c);
	cr_assert_geq(fd, 0);
	cr_assert(!readable(fd, 0), "nothing submitted yet");
	for (uint64_t i = 0; i < 3; i++)
		cr_assert_eq(trireme_submit(c, &op, i), 0);
	while (trireme_wait(c, SEC) < 3) /* all three ready before the first poll */
		cr_assert_lt(mono_ns(CLOCK_MONOTONIC), deadline);
	for (uint64_t i = 0; i < 3; i++) {
		cr_assert(readable(fd, 5000), "completion %u not signalled", (unsigned)i);
		cr_assert_eq(trireme_poll(c, &d, 1), 1);
		cr_assert_eq(d.tag, i);
	}
	trireme_thread_online();
	cr_assert_eq(trireme_submit(c, &get, 9), 0);
	cr_assert(readable(fd, 5000), "the local get not signalled");
	cr_assert_eq(trireme_poll(c, &d, 1), 1);
	cr_assert(d.tag == 9 && d.found);
	trireme_thread_offline();
	/* After trireme_wait too, the applier signals a completion. */
	cr_assert_eq(trireme_submit(c, &op, 10), 0);
	cr_assert(readable(fd, 5000), "a commit after trireme_wait not signalled");
	cr_assert_eq(trireme_poll(c, &d, 1), 1);
	cr_assert_eq(d.tag, 10);
	eal_test_stop(t);
}

/* One command to DPDK telemetry's socket; the reply in buf. */
static void
telemetry(const char *cmd, char *buf, size_t cap)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	ssize_t n;

	cr_assert_geq(fd, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/dpdk_telemetry.v2",
		 rte_eal_get_runtime_dir());
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0, "%s", sun.sun_path);
	cr_assert_gt(read(fd, buf, cap - 1), 0); /* the greeting */
	cr_assert_eq(write(fd, cmd, strlen(cmd)), (ssize_t)strlen(cmd));
	n = read(fd, buf, cap - 1);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	close(fd);
}

struct forced {
	struct trireme *t;
	unsigned replica;
};

static void *
force_violation(void *arg)
{
	struct forced *f = arg;

	usleep(100000); /* the client is asleep in trireme_wait by now */
	/* The engine's stop, as its A3 check calls it. */
	violation(&f->t->reps[f->replica].eng, "A3: forced by the test");
	return NULL;
}

Test(lifecycle, violation_stops_the_replica_loudly)
{
	static char logbuf[4096];
	FILE *log = fmemopen(logbuf, sizeof(logbuf), "w");
	struct trireme *t = start(64);
	struct trireme_client *c0 = trireme_client_new(t, 0, 4);
	struct trireme_client *c1 = trireme_client_new(t, 1, 4);
	struct trireme_op op = {.kind = TRIREME_SET, .key = "k", .key_len = 1, .val = "v",
				.val_len = 1};
	struct forced f = {.t = t, .replica = 1};
	struct trireme_replica_status st;
	char reply[4096];
	uint64_t deadline;
	pthread_t thread;
	int rc;

	cr_assert(log != NULL && c0 != NULL && c1 != NULL);
	setvbuf(log, NULL, _IONBF, 0);
	rte_openlog_stream(log);
	cr_assert_eq(trireme_replica_status(t, 1, &st), 0);
	cr_assert(!st.violation && st.why == NULL);
	telemetry("/trireme/replica,1", reply, sizeof(reply));
	cr_assert_not_null(strstr(reply, "\"violation\":0"), "%s", reply);
	cr_assert_not_null(strstr(reply, "\"serving\":1"), "%s", reply);
	cr_assert_not_null(strstr(reply, "\"log_failed\":0"), "%s", reply);

	/* c1's set cannot commit (its peers paused): c1 sleeps in
	 * trireme_wait until the violation wakes it. */
	cr_assert_eq(trireme_replica_pause(t, 0), 0);
	cr_assert_eq(trireme_replica_pause(t, 2), 0);
	cr_assert_eq(trireme_submit(c1, &op, 1), 0);
	cr_assert_eq(pthread_create(&thread, NULL, force_violation, &f), 0);
	deadline = mono_ns(CLOCK_MONOTONIC) + 10 * SEC;
	rc = trireme_wait(c1, 20 * SEC);
	cr_assert_eq(rc, -TRIREME_ESTOPPED, "%d", rc);
	cr_assert_lt(mono_ns(CLOCK_MONOTONIC), deadline, "woken late");
	pthread_join(thread, NULL);

	cr_assert_eq(trireme_replica_status(t, 1, &st), 0);
	cr_assert(st.violation);
	cr_assert_str_eq(st.why, "A3: forced by the test");
	cr_assert_eq(trireme_submit(c1, &op, 2), -TRIREME_ESTOPPED);
	while (strstr(logbuf, "stopped on a safety violation") == NULL) {
		cr_assert_lt(mono_ns(CLOCK_MONOTONIC), deadline, "no log line: %s", logbuf);
		usleep(1000);
	}
	cr_assert_not_null(strstr(logbuf, "replica 1 stopped on a safety violation: "
				  "A3: forced by the test"), "%s", logbuf);
	telemetry("/trireme/replica,1", reply, sizeof(reply));
	cr_assert_not_null(strstr(reply, "\"violation\":1"), "%s", reply);
	cr_assert_not_null(strstr(reply, "A3: forced by the test"), "%s", reply);

	/* The other two still make a quorum. */
	cr_assert_eq(trireme_replica_resume(t, 0), 0);
	cr_assert_eq(trireme_replica_resume(t, 2), 0);
	cr_assert_eq(trireme_replica_status(t, 0, &st), 0);
	cr_assert(!st.violation);
	cr_assert_eq(trireme_submit(c0, &op, 3), 0);
	cr_assert_eq(wait_one(c0).status, 0);
	rte_openlog_stream(NULL);
	fclose(log);
	eal_test_stop(t);
}


/* Removes a test's data directory and everything in it. */
static void
dir_remove(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}
/* A process started again on its data directory with the default conf keeps
 * its replicas' client ids (the table of clients must not grow with every
 * start), and their sequences go on above the ceiling the directory
 * recorded (§8). Sequences that started again at 1 would make the new
 * start's first writes duplicates of the last start's, answered and never
 * applied, and the replayed log's answers would complete its reads. Each
 * start writes the same keys with its own values; every one must be read
 * back (barrier) from every replica. */
static struct trireme *
start_dir(const char *dir, uint32_t clients_max, uint64_t client_id_base, uint64_t rtt_ns,
	  uint32_t log_slots)
{
	struct trireme_conf conf;
	struct trireme *t;
	char err[256];

	trireme_conf_default(&conf);
	conf.data_dir = dir;
	conf.sync = TRIREME_SYNC_NONE; /* trireme_stop writes it all; no power loss here */
	if (clients_max != 0)
		conf.clients_max = clients_max;
	conf.client_id_base = client_id_base;
	if (rtt_ns != 0)
		conf.rtt_ns = rtt_ns;
	if (log_slots != 0)
		conf.log_slots_max = log_slots;
	cr_assert_eq(trireme_start(&conf, &t, err, sizeof(err)), 0, "%s", err);
	eal_test_running = t;
	return t;
}

/* With the default conf on dir. */
static struct trireme *
start_on(const char *dir)
{
	return start_dir(dir, 0, 0, 0, 0);
}

/* Replica q reads key back (barrier), with the value val, in start life. */
static void
read_back(struct trireme *t, unsigned q, const char *key, const char *val, unsigned life)
{
	struct trireme_client *rd = trireme_client_new(t, q, 1);
	struct trireme_op get = {.kind = TRIREME_GET, .key = key,
				 .key_len = (uint16_t)strlen(key)};
	struct trireme_done d;

	cr_assert_not_null(rd);
	cr_assert_eq(trireme_submit(rd, &get, 0), 0);
	d = wait_one(rd);
	cr_assert(d.status == 0 && d.found, "start %u: replica %u does not find %s (status %d)",
		  life, q, key, d.status);
	cr_assert(d.val_len == strlen(val) && memcmp(d.val, val, d.val_len) == 0,
		  "start %u: replica %u reads %.*s for %s, want %s", life, q, (int)d.val_len,
		  (const char *)d.val, key, val);
	trireme_client_free(rd);
}

Test(lifecycle, restart_on_a_data_dir_keeps_new_writes)
{
	char dir[] = "/tmp/trireme-lifecycle-XXXXXX";
	uint64_t ids[3][TRIREME_REPLICAS];

	cr_assert_not_null(mkdtemp(dir));
	for (unsigned life = 0; life < 3; life++) {
		struct trireme *t = start_on(dir);

		trireme_thread_online();
		for (unsigned r = 0; r < TRIREME_REPLICAS; r++) {
			struct trireme_client *c = trireme_client_new(t, r, 4);
			char key[16], val[16];
			struct trireme_op op = {.kind = TRIREME_SET, .key = key, .val = val};
			struct trireme_done d;

			cr_assert_not_null(c);
			ids[life][r] = trireme_client_id(c);
			op.key_len = (uint16_t)snprintf(key, sizeof(key), "k%u", r);
			op.val_len = (uint32_t)snprintf(val, sizeof(val), "life%u", life);
			for (unsigned i = 0; i < 8; i++) { /* seqs 1..8: the last start's too */
				cr_assert_eq(trireme_submit(c, &op, i), 0);
				d = wait_one(c);
				cr_assert_eq(d.status, 0, "%s", trireme_strerror(d.status));
			}
			for (unsigned q = 0; q < TRIREME_REPLICAS; q++)
				read_back(t, q, key, val, life);
			trireme_client_free(c);
		}
		trireme_thread_offline();
		eal_test_stop(t);
	}
	for (unsigned life = 1; life < 3; life++)
		for (unsigned r = 0; r < TRIREME_REPLICAS; r++)
			cr_assert_eq(ids[life][r], ids[0][r], "start %u: replica %u's first client "
				     "took a new id", life, r);
	dir_remove(dir);
}

/* Blocks (or with block false, frees) the names of the next n disk
 * snapshots of every replica of t on dir: a directory where a snapshot's
 * file would go, so that its write fails (EISDIR). */
static void
snap_names_block(struct trireme *t, const char *dir, unsigned n, bool block)
{
	static uint64_t from[TR_REPLICAS];
	char path[PATH_MAX];

	for (unsigned q = 0; q < TR_REPLICAS; q++) {
		if (block)
			from[q] = __atomic_load_n(&t->reps[q].dur.snap_seq, __ATOMIC_RELAXED) + 1;
		for (uint64_t seq = from[q]; seq < from[q] + n; seq++) {
			snprintf(path, sizeof(path), "%s/r%u/snap-%012" PRIu64 ".tmp", dir, q, seq);
			cr_assert_eq(block ? mkdir(path, 0755) : rmdir(path), 0, "%s: %s", path,
				     strerror(errno));
		}
	}
}

/* The value of big_sets' set i in round: "<round>.<i>|" and 'x' up to
 * 1 KiB (val: 1,025 bytes, NUL-terminated). */
static void
big_val(char *val, unsigned round, unsigned i)
{
	int n = snprintf(val, 1025, "%u.%u|", round, i);

	memset(val + n, 'x', 1024 - (size_t)n);
	val[1024] = 0;
}

/* n sets of 1 KiB through c (window 64) over 256 keys: set i writes key
 * k<i % 256> the value big_val(round, i); every one answered. */
static void
big_sets(struct trireme_client *c, unsigned round, unsigned n)
{
	static char val[1025];
	char key[16];
	struct trireme_op op = {.kind = TRIREME_SET, .key = key, .val = val, .val_len = 1024};
	struct trireme_done d;
	unsigned sent = 0, got = 0;

	while (got < n) {
		while (sent < n) {
			op.key_len = (uint16_t)snprintf(key, sizeof(key), "k%u", sent % 256);
			big_val(val, round, sent);
			if (trireme_submit(c, &op, sent) != 0)
				break;
			sent++;
		}
		cr_assert_gt(trireme_wait(c, 20 * SEC), 0, "sets stalled at %u of %u", got, n);
		while (trireme_poll(c, &d, 1) == 1) {
			cr_assert_eq(d.status, 0, "%s", trireme_strerror(d.status));
			got++;
		}
	}
}

/* §12 S: a disk snapshot that cannot be written keeps the log whole. The
 * next 64 snapshots' files of every replica are blocked (EISDIR) while
 * 24,000 sets of 1 KiB through replica 0 fill more than one log segment
 * (16 MiB) of column 0 and take about ten snapshots: the replicas go on
 * committing, none is written, and no segment is trimmed. Once the names
 * are free, the next snapshot is written and the log trimmed behind it (so
 * the failures were what held the trim), and a new start on the directory
 * reads every key's last value back from the snapshot and the log. */
Test(lifecycle, a_snapshot_that_cannot_be_written_keeps_the_log, .timeout = 120)
{
	char dir[] = "/tmp/trireme-lifecycle-XXXXXX", want[1025], key[16];
	struct trireme_client *c;
	struct trireme *t;
	uint64_t snaps[TR_REPLICAS], seq0[TR_REPLICAS], deadline;
	unsigned round = 1, trimmed = 0;

	cr_assert_not_null(mkdtemp(dir));
	t = start_on(dir);
	cr_assert_not_null(c = trireme_client_new(t, 0, 64));
	for (unsigned q = 0; q < TR_REPLICAS; q++) {
		snaps[q] = atomic_load(&t->reps[q].dur.snapshots);
		seq0[q] = __atomic_load_n(&t->reps[q].dur.snap_seq, __ATOMIC_RELAXED);
	}
	snap_names_block(t, dir, 64, true);
	big_sets(c, round, 24000);
	for (unsigned q = 0; q < TR_REPLICAS; q++) {
		struct tr_wal *w = &t->reps[q].dur.wal[0];

		cr_assert_eq(__atomic_load_n(&w->stats.trimmed, __ATOMIC_RELAXED), 0,
			     "replica %u trimmed its log behind a snapshot not written", q);
		cr_assert_geq(__atomic_load_n(&w->nclosed, __ATOMIC_RELAXED), 1,
			      "replica %u: its log of column 0 filled no segment", q);
		cr_assert_gt(__atomic_load_n(&t->reps[q].dur.snap_seq, __ATOMIC_RELAXED),
			     seq0[q] + 4, "replica %u tried too few snapshots", q);
		cr_assert_eq(atomic_load(&t->reps[q].dur.snapshots), snaps[q],
			     "replica %u wrote a snapshot to a blocked name", q);
	}
	snap_names_block(t, dir, 64, false);
	deadline = eal_test_now_ns() + 60 * SEC;
	while (trimmed < TR_REPLICAS) {
		cr_assert_lt(eal_test_now_ns(), deadline, "the log is not trimmed once "
			     "snapshots can be written (%u replicas of 3)", trimmed);
		big_sets(c, ++round, 2500);
		trimmed = 0;
		for (unsigned q = 0; q < TR_REPLICAS; q++)
			trimmed += __atomic_load_n(&t->reps[q].dur.wal[0].stats.trimmed,
						   __ATOMIC_RELAXED) > 0;
	}
	trireme_client_free(c);
	eal_test_stop(t);

	t = start_on(dir);
	trireme_thread_online();
	for (unsigned k = 0; k < 256; k += 15) {
		/* The last round's 2,500 sets: key k last set at i = 2304 + k
		 * (k < 196), else 2048 + k. */
		snprintf(key, sizeof(key), "k%u", k);
		big_val(want, round, k + (k < 196 ? 2304 : 2048));
		for (unsigned q = 0; q < TR_REPLICAS; q++)
			read_back(t, q, key, want, round);
	}
	trireme_thread_offline();
	eal_test_stop(t);
	dir_remove(dir);
}

/* Waits (up to 60 s) until *v, read relaxed, is at least want. */
static void
wait_at_least(const uint64_t *v, uint64_t want, const char *what)
{
	uint64_t deadline = eal_test_now_ns() + 60 * SEC;

	while (__atomic_load_n(v, __ATOMIC_RELAXED) < want) {
		cr_assert_lt(eal_test_now_ns(), deadline, "%s: %lu, want %lu", what,
			     (unsigned long)__atomic_load_n(v, __ATOMIC_RELAXED),
			     (unsigned long)want);
		usleep(1000);
	}
}

/* §12 S with T1: a disk snapshot of a replica's own, begun before it
 * received a newer one from a peer, is not written after it. Replica 2
 * (a ring of 1,024 slots) makes a snapshot after 256 instances and the test
 * holds it before its write; 20,000 sets of 1 KiB fill more than a segment
 * of its log. Paused while 4,000 more go by, it comes back to TOO_OLD,
 * receives a snapshot, writes it, trims its log behind it and installs it.
 * Then its own snapshot is let go: written now, it would be the newest on
 * disk, and a restart would load its older point with the log after it
 * trimmed. Replica 2 is crashed and restarted from its directory: it must
 * restore without damage or a join, and serve its last values. */
Test(lifecycle, an_own_snapshot_older_than_a_received_one_is_not_written, .timeout = 120)
{
	char dir[] = "/tmp/trireme-lifecycle-XXXXXX", want[1025];
	struct rt_replica *r2;
	struct trireme_client *c;
	struct trireme *t;
	unsigned round = 1;

	cr_assert_not_null(mkdtemp(dir));
	t = start_dir(dir, 0, 0, 0, 1024);
	r2 = &t->reps[2];
	atomic_store(&r2->dur.snap_hold, 1);
	cr_assert_not_null(c = trireme_client_new(t, 0, 64));
	big_sets(c, round, 20000);
	cr_assert_not_null(__atomic_load_n(&r2->dur.job, __ATOMIC_ACQUIRE),
			   "replica 2 made no snapshot of its own");
	cr_assert_geq(__atomic_load_n(&r2->dur.wal[0].nclosed, __ATOMIC_RELAXED), 1,
		      "replica 2's log of column 0 filled no segment");
	cr_assert_eq(trireme_replica_pause(t, 2), 0);
	big_sets(c, ++round, 4000);
	cr_assert_eq(trireme_replica_resume(t, 2), 0);
	wait_at_least(&r2->snap.installs, 1, "replica 2's snapshots installed");
	wait_at_least(&r2->dur.wal[0].stats.trimmed, 1, "replica 2's segments trimmed");
	atomic_store(&r2->dur.snap_hold, 2); /* that one, and no other */
	for (uint64_t deadline = eal_test_now_ns() + 10 * SEC;
	     __atomic_load_n(&r2->dur.job, __ATOMIC_ACQUIRE) != NULL ||
	     atomic_load(&r2->dur.writing);)
		cr_assert_lt(eal_test_now_ns(), deadline, "replica 2's own snapshot never done");

	cr_assert_eq(trireme_replica_crash(t, 2), 0);
	cr_assert_eq(trireme_replica_restart(t, 2), 0);
	cr_assert_eq(atomic_load(&r2->dur.damage), 0, "replica 2 found its directory damaged");
	cr_assert_not(atomic_load(&r2->dur.amnesiac), "replica 2 joined instead of restoring");
	trireme_thread_online();
	for (unsigned k = 0; k < 256; k += 15) {
		char key[16];

		/* The last round's 4,000 sets: key k last set at i = 3840 + k
		 * (k < 160), else 3584 + k. */
		snprintf(key, sizeof(key), "k%u", k);
		big_val(want, round, k + (k < 160 ? 3840 : 3584));
		read_back(t, 2, key, want, round);
	}
	trireme_thread_offline();
	trireme_client_free(c);
	eal_test_stop(t);
	dir_remove(dir);
}

/* §12 S1 on a full disk: replica 2's directory is a 50 MB tmpfs, room for
 * its three first log segments and not their successors. Its client writes
 * 1 KiB values until the log cannot grow: from then on the replica sends
 * nothing, reports log_failed and not serving, and its client gets
 * -TRIREME_ESTOPPED from submit and wait (no command left to hang); a
 * client of replica 0 goes on committing. Needs root (mount); skipped
 * otherwise. */
Test(lifecycle, a_full_disk_stops_its_replica_and_says_so_to_its_clients, .timeout = 90)
{
	char dir[] = "/tmp/trireme-full-XXXXXX", sub[PATH_MAX];
	char key[16], val[1024];
	struct trireme_op op = {.kind = TRIREME_SET, .key = key, .val = val, .val_len = sizeof(val)};
	struct trireme_replica_stats s;
	struct trireme_client *c2, *c0;
	struct trireme *t;
	uint64_t deadline;
	int rc = 0;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/r2", dir);
	cr_assert_eq(mkdir(sub, 0755), 0);
	/* In a mount namespace of this test's process: the tmpfs goes with it,
	 * whatever assertion ends the test. */
	if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("tmpfs", sub, "tmpfs", 0, "size=50m") != 0) {
		dir_remove(dir);
		cr_skip_test("cannot mount a tmpfs (not root?): %s", strerror(errno));
	}
	memset(val, 'v', sizeof(val));
	t = start_on(dir);
	trireme_thread_online();
	cr_assert_not_null(c2 = trireme_client_new(t, 2, 8));
	cr_assert_not_null(c0 = trireme_client_new(t, 0, 1));
	deadline = eal_test_now_ns() + 40 * SEC;
	for (uint64_t i = 0; rc == 0; i++) {
		struct trireme_done d;

		cr_assert_lt(eal_test_now_ns(), deadline, "replica 2's log never failed (%lu writes)",
			     (unsigned long)i);
		op.key_len = (uint16_t)snprintf(key, sizeof(key), "k%lu", (unsigned long)(i % 64));
		while ((rc = trireme_submit(c2, &op, i)) == -TRIREME_EBUSY) {
			/* Asleep when the log fails: the applier wakes it. */
			uint64_t asleep = eal_test_now_ns();
			int n = trireme_wait(c2, 20 * SEC);

			if (n < 0) {
				cr_assert_lt(eal_test_now_ns() - asleep, 10 * SEC, "woken late: %s",
					     trireme_strerror(n));
				rc = n;
				break;
			}
			while (trireme_poll(c2, &d, 1) == 1)
				cr_assert_eq(d.status, 0, "%s", trireme_strerror(d.status));
		}
	}
	cr_assert_eq(rc, -TRIREME_ESTOPPED, "replica 2's client: %s, want ESTOPPED",
		     trireme_strerror(rc));
	cr_assert_eq(trireme_replica_stats(t, 2, &s), 0);
	cr_assert(s.log_failed && !s.serving && !s.down, "log_failed %d serving %d down %d",
		  s.log_failed, s.serving, s.down);
	cr_assert_eq(trireme_submit(c2, &op, 0), -TRIREME_ESTOPPED);
	if (trireme_outstanding(c2) > 0)
		cr_assert_eq(trireme_wait(c2, 5 * SEC), -TRIREME_ESTOPPED,
			     "a command of the stopped replica waits out the timeout");
	/* The two others go on. */
	for (unsigned i = 0; i < 100; i++) {
		struct trireme_done d;

		op.key_len = (uint16_t)snprintf(key, sizeof(key), "after%u", i);
		cr_assert_eq(trireme_submit(c0, &op, i), 0);
		d = wait_one(c0);
		cr_assert_eq(d.status, 0, "replica 0 after replica 2 stopped: %s",
			     trireme_strerror(d.status));
	}
	cr_assert_eq(trireme_replica_stats(t, 0, &s), 0);
	cr_assert(s.serving && !s.log_failed);
	trireme_client_free(c0);
	trireme_client_free(c2);
	trireme_thread_offline();
	eal_test_stop(t);
	cr_assert_eq(umount(sub), 0, "umount %s: %s", sub, strerror(errno));
	dir_remove(dir);
}

/* trireme_replica_restart keeps the restarted replica's clients: their ids
 * and their next sequences. With clients_max 4 the table holds 48 ids; the
 * 12 clients write, then replica 2 restarts (an amnesiac, no data
 * directory) ten times and its clients write again after each: were each
 * restart to take new ids, the tenth would find the table full; were the
 * sequences to start over, the writes would be answered as duplicates and
 * never applied. Every value is read back from replica 0 (barrier). */
Test(lifecycle, in_process_restarts_keep_client_ids)
{
	struct trireme_client *cl[TRIREME_REPLICAS][4], *rd;
	uint64_t ids[4];
	struct trireme_conf conf;
	struct trireme *t;
	char err[256];

	trireme_conf_default(&conf);
	conf.clients_max = 4;
	cr_assert_eq(trireme_start(&conf, &t, err, sizeof(err)), 0, "%s", err);
	eal_test_running = t;
	trireme_thread_online();
	rd = trireme_client_new(t, 0, 1); /* the reader: replica 0's fourth */
	for (unsigned r = 0; r < TRIREME_REPLICAS; r++)
		for (unsigned i = 0; i < (r == 0 ? 3 : 4); i++)
			cr_assert_not_null(cl[r][i] = trireme_client_new(t, r, 1));
	cl[0][3] = rd;
	for (unsigned i = 0; i < 4; i++)
		ids[i] = trireme_client_id(cl[2][i]);
	for (unsigned round = 0; round <= 10; round++) {
		if (round > 0)
			cr_assert_eq(trireme_replica_restart(t, 2), 0);
		for (unsigned r = 0; r < TRIREME_REPLICAS; r++) {
			if (round > 0 && r != 2)
				continue;
			for (unsigned i = 0; i < 4; i++) {
				char key[16], val[16], got[16];
				struct trireme_op op = {.kind = TRIREME_SET, .key = key, .val = val};
				struct trireme_op get = {.kind = TRIREME_GET, .key = key};
				struct trireme_done d;

				op.key_len = get.key_len = (uint16_t)snprintf(key, sizeof(key), "k%u-%u",
									       r, i);
				op.val_len = (uint32_t)snprintf(val, sizeof(val), "v%u", round);
				cr_assert_eq(trireme_submit(cl[r][i], &op, round), 0);
				d = wait_one(cl[r][i]);
				cr_assert_eq(d.status, 0, "restart %u, replica %u, client %u: %s", round,
					     r, i, trireme_strerror(d.status));
				cr_assert_eq(trireme_submit(rd, &get, 0), 0);
				d = wait_one(rd);
				cr_assert(d.status == 0 && d.found && d.val_len == op.val_len,
					  "restart %u: %s not read back (status %d)", round, key,
					  d.status);
				memcpy(got, d.val, d.val_len);
				cr_assert(memcmp(got, val, d.val_len) == 0, "restart %u: %s reads "
					  "%.*s, want %s", round, key, (int)d.val_len, got, val);
			}
		}
		for (unsigned i = 0; i < 4; i++)
			cr_assert_eq(trireme_client_id(cl[2][i]), ids[i], "restart %u: client %u of "
				     "replica 2 took a new id", round, i);
	}
	for (unsigned r = 0; r < TRIREME_REPLICAS; r++)
		for (unsigned i = 0; i < 4; i++)
			trireme_client_free(cl[r][i]);
	trireme_thread_offline();
	eal_test_stop(t);
}

/* J0: a replica keeps in its superblock the highest incarnation it heard
 * from each peer. Replica 2 restarted twice from its directory lives at
 * incarnation 3: its peers' superblocks say so, and a new start seeds
 * their engines with it (a JOIN of replica 2 on a new disk is answered
 * above it: durable_engine/a_join_is_answered_with_what_the_disk_heard). */
Test(lifecycle, peers_keep_the_incarnations_they_heard_on_disk)
{
	char dir[] = "/tmp/trireme-lifecycle-XXXXXX";
	struct trireme_client *c;
	struct trireme *t;
	uint64_t deadline;

	cr_assert_not_null(mkdtemp(dir));
	t = start_on(dir);
	trireme_thread_online();
	c = trireme_client_new(t, 2, 1);
	cr_assert_not_null(c);
	for (unsigned life = 0; life < 3; life++) {
		struct trireme_op op = {.kind = TRIREME_SET, .key = "k", .key_len = 1,
					.val = "v", .val_len = 1};
		struct trireme_done d;

		if (life > 0)
			cr_assert_eq(trireme_replica_restart(t, 2), 0);
		cr_assert_eq(trireme_submit(c, &op, life), 0);
		d = wait_one(c);
		cr_assert_eq(d.status, 0, "life %u: %s", life, trireme_strerror(d.status));
	}
	cr_assert_eq(tr_replica_inc(&t->reps[2].eng), 3);
	deadline = eal_test_now_ns() + 10 * SEC;
	for (unsigned q = 0; q < 2; q++)
		while (__atomic_load_n(&t->reps[q].dur.peer_inc_durable[tr_dd_peer_slot(q, 2)],
				       __ATOMIC_RELAXED) != 3) {
			cr_assert(eal_test_now_ns() < deadline, "replica %u never wrote 3 (%u)", q,
				  t->reps[q].dur.peer_inc_durable[tr_dd_peer_slot(q, 2)]);
			usleep(1000);
		}
	trireme_client_free(c);
	trireme_thread_offline();
	eal_test_stop(t);
	for (unsigned q = 0; q < TRIREME_REPLICAS; q++) {
		struct tr_datadir d;
		char path[256], err[256];

		snprintf(path, sizeof(path), "%s/r%u", dir, q);
		cr_assert_eq(tr_dd_open(&d, path, 0x7472, q, err, sizeof(err)), 0, "%s",
			     err);
		if (q < 2)
			cr_assert_eq(d.sb.peer_inc[tr_dd_peer_slot(q, 2)], 3, "replica %u's disk", q);
		else
			cr_assert(d.sb.peer_inc[0] == 1 && d.sb.peer_inc[1] == 1,
				  "replica 2 heard 1 and 1: %u %u", d.sb.peer_inc[0], d.sb.peer_inc[1]);
		tr_dd_close(&d);
	}
	t = start_on(dir);
	for (unsigned q = 0; q < 2; q++)
		cr_assert_eq(t->reps[q].eng.cfg.peer_inc_seen[2], 3,
			     "replica %u's engine starts without what its disk heard", q);
	eal_test_stop(t);
	dir_remove(dir);
}

/* A crash drops the commands still in the replica's submit ring (their
 * clients get ESTOPPED): nothing holds them after it, so a client freed
 * then goes at once, not at trireme_stop (it waited in the retired list).
 * The 64 commands are queued just before the crash, while the replica's
 * idle worker backs off: most of them are still in the ring. */
Test(lifecycle, a_crash_lets_go_of_the_commands_in_its_ring)
{
	struct trireme_conf conf;
	struct trireme *t;
	struct trireme_client *c;
	struct trireme_done d[64];
	unsigned stopped = 0;
	char err[256];

	trireme_conf_default(&conf);
	cr_assert_eq(trireme_start(&conf, &t, err, sizeof(err)), 0, "%s", err);
	eal_test_running = t;
	trireme_thread_online();
	c = trireme_client_new(t, 2, 64);
	cr_assert_not_null(c);
	usleep(20000); /* its worker idle, backing off */
	for (unsigned i = 0; i < 64; i++) {
		char key[16];
		struct trireme_op op = {.kind = TRIREME_SET, .key = key, .val = "v", .val_len = 1};

		op.key_len = (uint16_t)snprintf(key, sizeof(key), "r%u", i);
		cr_assert_eq(trireme_submit(c, &op, i), 0);
	}
	cr_assert_eq(trireme_replica_crash(t, 2), 0);
	for (int n; (n = trireme_poll(c, d, 64)) > 0;)
		for (int i = 0; i < n; i++)
			stopped += d[i].status == -TRIREME_ESTOPPED;
	trireme_client_free(c);
	cr_assert_null(t->reps[2].retired, "the freed client waits in the retired list for "
		       "dropped commands (%u of 64 ended ESTOPPED)", stopped);
	cr_assert_eq(trireme_replica_restart(t, 2), 0);
	trireme_thread_offline();
	eal_test_stop(t);
}

/* The superblock's ceiling, as a restart would read it: the newer copy. */
static uint64_t
ceiling_on_disk(const char *dir, unsigned replica)
{
	struct tr_dd_super best = {0}, sb;
	uint8_t buf[TR_DD_SUPER_BYTES];
	char path[128];

	for (unsigned i = 0; i < 2; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/r%u/super.%u", dir, replica, i);
		f = fopen(path, "rb");
		cr_assert_not_null(f, "%s", path);
		if (fread(buf, 1, sizeof(buf), f) == sizeof(buf) && tr_dd_super_decode(buf, &sb) &&
		    sb.seq >= best.seq)
			best = sb;
		fclose(f);
	}
	return best.seq_ceiling;
}

/* No client sequence passes the ceiling on disk: a submit near it raises it
 * first (one superblock sync), and the next start begins above the highest
 * sequence used. A client whose sequences ran past a ceiling that stayed on
 * disk would, after a restart, reuse them: its new writes answered as the
 * old ones' duplicates. The client is moved near the end of its lease (2^32
 * sequences) by hand. */
Test(lifecycle, client_sequences_stay_below_the_ceiling_on_disk)
{
	char dir[] = "/tmp/trireme-lifecycle-XXXXXX";
	uint64_t first, last = 0;

	cr_assert_not_null(mkdtemp(dir));
	for (unsigned life = 0; life < 2; life++) {
		struct trireme *t = start_on(dir);
		struct rt_replica *r = &t->reps[1];
		struct trireme_client *c;
		struct trireme_op op = {.kind = TRIREME_SET, .key = "k", .key_len = 1, .val_len = 2};
		char val[4];

		trireme_thread_online();
		c = trireme_client_new(t, 1, 1);
		cr_assert_not_null(c);
		first = atomic_load(&r->seq_ceiling);
		cr_assert_eq(ceiling_on_disk(dir, 1), first);
		cr_assert(c->next_seq > last, "start %u: the first sequence %" PRIu64 " is not "
			  "above the last start's %" PRIu64, life, c->next_seq, last);
		if (life == 0) {
			cr_assert_eq(first, RT_SEQ_LEASE, "a new directory's first lease");
			c->next_seq = c->oldest = first - 10; /* the 20 writes pass it */
		}
		for (unsigned i = 0; i < 20; i++) {
			struct trireme_done d;

			op.val = val;
			snprintf(val, sizeof(val), "%c%c", 'a' + life, 'a' + i);
			last = c->next_seq;
			cr_assert_eq(trireme_submit(c, &op, i), 0);
			d = wait_one(c);
			cr_assert_eq(d.status, 0, "start %u, write %u: %s", life, i,
				     trireme_strerror(d.status));
			cr_assert_lt(last, ceiling_on_disk(dir, 1), "sequence %" PRIu64 " used, "
				     "the ceiling on disk is %" PRIu64, last, ceiling_on_disk(dir, 1));
		}
		if (life == 0)
			cr_assert_gt(ceiling_on_disk(dir, 1), first, "the ceiling was never raised");
		trireme_client_free(c);
		trireme_thread_offline();
		eal_test_stop(t);
	}
	dir_remove(dir);
}

/* Every superblock copy of dir as a version without client ids wrote it:
 * no base, no sequence ceiling (bytes 32..59 zero). */
static void
forget_client_ids(const char *dir)
{
	for (unsigned r = 0; r < TRIREME_REPLICAS; r++)
		for (unsigned i = 0; i < 2; i++) {
			uint8_t buf[TR_DD_SUPER_BYTES];
			struct tr_dd_super sb;
			char path[128];
			FILE *f;

			snprintf(path, sizeof(path), "%s/r%u/super.%u", dir, r, i);
			f = fopen(path, "r+b");
			cr_assert_not_null(f, "%s", path);
			cr_assert_eq(fread(buf, 1, sizeof(buf), f), sizeof(buf));
			cr_assert(tr_dd_super_decode(buf, &sb), "%s", path);
			sb.client_base = 0;
			sb.clients_max = 0;
			sb.seq_ceiling = 0;
			tr_dd_super_encode(buf, &sb);
			rewind(f);
			cr_assert_eq(fwrite(buf, 1, sizeof(buf), f), sizeof(buf));
			fclose(f);
		}
}

/* conf.client_id_base of the embedder's, the same at every start, on a
 * directory that records no sequence ceiling (new, or written before the
 * field existed; a replaced disk is new): the ids may be those of an earlier
 * start whose sequences nothing recorded. Sequences that began at 1 again
 * would make the new start's writes the old ones' duplicates, answered and
 * never applied (§8). Each start writes its own value; every replica must
 * read it back (barrier). */
Test(lifecycle, an_own_base_on_a_directory_without_a_ceiling_keeps_new_writes)
{
	char dir[] = "/tmp/trireme-lifecycle-XXXXXX";

	cr_assert_not_null(mkdtemp(dir));
	for (unsigned life = 0; life < 2; life++) {
		struct trireme *t = start_dir(dir, 0, UINT64_C(1) << 40, 0, 0);
		struct trireme_client *c;
		char val[16];
		struct trireme_op op = {.kind = TRIREME_SET, .key = "k", .key_len = 1, .val = val};
		struct trireme_done d;

		trireme_thread_online();
		c = trireme_client_new(t, 1, 4); /* W 4: the old writes are in its window */
		cr_assert_not_null(c);
		op.val_len = (uint32_t)snprintf(val, sizeof(val), "life%u", life);
		for (unsigned i = 0; i < 4; i++) {
			cr_assert_eq(trireme_submit(c, &op, i), 0);
			d = wait_one(c);
			cr_assert_eq(d.status, 0, "%s", trireme_strerror(d.status));
		}
		trireme_client_free(c);
		for (unsigned q = 0; q < TRIREME_REPLICAS; q++)
			read_back(t, q, "k", val, life);
		trireme_thread_offline();
		eal_test_stop(t);
		if (life == 0)
			forget_client_ids(dir);
	}
	dir_remove(dir);
}

/* A base of the embedder's, the same at both starts, with clients_max 4
 * then 8: replica 1's new ids (base + 8..15) are replica 2's old ones
 * (base + 8..11), whose sequences went as far as replica 2's directory
 * said, not replica 1's. Replica 2's client is moved to the end of its
 * lease by hand, so that it passes replica 1's ceiling (as 2^32 writes
 * would, which take far longer than the 1.05 s a lease is worth on the
 * wall clock: the test waits that long). Every one of replica 1's new
 * writes must apply: from its own ceiling, the first ones were taken for
 * replica 2's duplicates (acknowledged, never applied). */
Test(lifecycle, an_own_base_with_another_clients_max_keeps_new_writes)
{
	char dir[] = "/tmp/trireme-lifecycle-XXXXXX";

	cr_assert_not_null(mkdtemp(dir));
	for (unsigned life = 0; life < 2; life++) {
		const uint64_t base = UINT64_C(1) << 40;
		unsigned r = life == 0 ? 2 : 1;
		struct trireme *t = start_dir(dir, life == 0 ? 4 : 8, base, 0, 0);
		struct trireme_client *c;
		char key[16], val[16];
		struct trireme_op op = {.kind = TRIREME_SET, .key = key, .val = val};
		struct trireme_done d;

		trireme_thread_online();
		c = trireme_client_new(t, r, 16);
		cr_assert_not_null(c);
		cr_assert_eq(trireme_client_id(c), base + 8);
		if (life == 0)
			c->next_seq = c->oldest = atomic_load(&t->reps[r].seq_ceiling) - 8;
		op.val_len = (uint32_t)snprintf(val, sizeof(val), "life%u", life);
		for (unsigned i = 0; i < 16; i++) { /* a key each: a duplicate shows */
			op.key_len = (uint16_t)snprintf(key, sizeof(key), "k%u", i);
			cr_assert_eq(trireme_submit(c, &op, i), 0);
			d = wait_one(c);
			cr_assert_eq(d.status, 0, "start %u, write %u: %s", life, i,
				     trireme_strerror(d.status));
		}
		trireme_client_free(c);
		for (unsigned i = 0; i < 16; i++) {
			snprintf(key, sizeof(key), "k%u", i);
			for (unsigned q = 0; q < TRIREME_REPLICAS; q++)
				read_back(t, q, key, val, life);
		}
		trireme_thread_offline();
		eal_test_stop(t);
		usleep(1200000);
	}
	dir_remove(dir);
}

/* The exactly-once table remembers every client id that wrote (one idle
 * for 2^24 writes would give way: none is here); with clients_max 4 it
 * holds 48 (three quarters of 64). Starts on one data
 * directory keep their ids: five of them (one more than the table would
 * take if each start took new ids) use 12. Starts with a base of their own
 * (conf.client_id_base) take new ids: three more fill the table, and the
 * next start's new clients are refused cleanly (-TRIREME_EFULL, nothing
 * applied) while reads and the data written before still work (README,
 * "Exactly once"). */
Test(lifecycle, a_full_client_table_refuses_new_clients_cleanly)
{
	char dir[] = "/tmp/trireme-lifecycle-XXXXXX";

	cr_assert_not_null(mkdtemp(dir));
	for (unsigned life = 0; life < 9; life++) {
		bool full = life == 8;
		struct trireme *t = start_dir(dir, 4, life < 5 ? 0 : (uint64_t)life << 40, 0, 0);

		trireme_thread_online();
		for (unsigned r = 0; r < TRIREME_REPLICAS; r++) {
			struct trireme_client *cl[4];

			for (unsigned i = 0; i < 4; i++) /* all at once: 4 ids */
				cr_assert_not_null(cl[i] = trireme_client_new(t, r, 1));
			for (unsigned i = 0; i < 4; i++) {
				struct trireme_client *c = cl[i];
				char key[16];
				struct trireme_op op = {.kind = TRIREME_SET, .key = key, .val = "v",
							.val_len = 1};
				struct trireme_done d;

				op.key_len = (uint16_t)snprintf(key, sizeof(key), "s%u-%u-%u", life, r,
								i);
				cr_assert_eq(trireme_submit(c, &op, 0), 0);
				d = wait_one(c);
				cr_assert_eq(d.status, full ? -TRIREME_EFULL : 0,
					     "start %u, replica %u, client %u: %s", life, r, i,
					     trireme_strerror(d.status));
				if (full) {
					struct trireme_op get = {.kind = TRIREME_GET, .key = "s0-0-0",
								 .key_len = 6};

					cr_assert_eq(trireme_submit(c, &get, 1), 0);
					d = wait_one(c);
					cr_assert(d.status == 0 && d.found, "an old key is gone");
					get.key = key;
					get.key_len = op.key_len;
					cr_assert_eq(trireme_submit(c, &get, 2), 0);
					d = wait_one(c);
					cr_assert(d.status == 0 && !d.found, "a refused set was applied");
				}
			}
			for (unsigned i = 0; i < 4; i++)
				trireme_client_free(cl[i]);
		}
		trireme_thread_offline();
		eal_test_stop(t);
	}
	dir_remove(dir);
}

/* One request datagram of remote client rid to port (127.0.0.1). */
static void
remote_send(int fd, uint16_t port, uint64_t rid, uint64_t seq, uint8_t op, const char *val)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct trp_req q = {.seq = seq, .op = op, .window = 4, .key = (const uint8_t *)"rk",
			    .key_len = 2, .val = (const uint8_t *)val,
			    .val_len = (uint16_t)(val != NULL ? strlen(val) : 0)};
	uint8_t buf[128];
	size_t len;

	trp_put_hdr(buf, TRP_MAGIC_REQ, 1, rid);
	len = TRP_HDR_LEN + trp_put_request(buf + TRP_HDR_LEN, &q);
	cr_assert_eq(sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
}

/* The next reply datagram's one reply, within timeout_ms; false if none. */
static bool
remote_recv(int fd, int timeout_ms, struct trp_reply *out)
{
	static uint8_t buf[2048];
	struct trp_reply reps[TRP_REQS_MAX];
	unsigned n;
	ssize_t len;

	if (!readable(fd, timeout_ms))
		return false;
	len = recv(fd, buf, sizeof(buf), 0);
	cr_assert_gt(len, 0);
	cr_assert_eq(trp_parse_replies(buf, (size_t)len, reps, &n), 0, "a malformed reply");
	cr_assert_eq(n, 1);
	*out = reps[0];
	return true;
}

/* An in-process cluster serving serve remote clients per replica on
 * kernel sockets (replica r: the returned port base + r), and a socket on
 * the loopback for the test's client in *fd. */
static uint16_t
remote_cluster(unsigned serve, struct trireme **t, int *fd)
{
	struct sockaddr_in me = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct trireme_conf conf;
	char err[256];

	trireme_conf_default(&conf);
	conf.serve_clients = serve;
	conf.udp_port_base = (uint16_t)(20000 + (getpid() % 4000) * 8); /* ours alone */
	cr_assert_eq(trireme_start(&conf, t, err, sizeof(err)), 0, "%s", err);
	eal_test_running = *t;
	*fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert(*fd >= 0 && bind(*fd, (struct sockaddr *)&me, sizeof(me)) == 0);
	return (uint16_t)(conf.udp_port_base + TRP_PORT_OFFSET);
}

/* Remote clients' exactly once (remote.c, trireme_proto.h), one table entry:
 * a retry of a seq still outstanding is neither answered nor submitted again
 * (one answer, when it commits); while it is outstanding, its entry is not
 * given to another client, however long it waits (TRP_ST_BUSY); the retry of
 * a completed seq gets the same answer again (a del that found its key says
 * so again, and deletes nothing twice), until TRP_WINDOW_MAX later seqs took
 * its slot: then it is too old. */
Test(lifecycle, remote_retries_are_answered_once, .timeout = 60)
{
	struct trireme *t;
	struct trp_reply rep;
	int fd;
	uint16_t port = remote_cluster(1, &t, &fd); /* replica 0 */

	/* No quorum: the set stays outstanding; its retry is not answered. */
	cr_assert_eq(trireme_replica_pause(t, 1), 0);
	cr_assert_eq(trireme_replica_pause(t, 2), 0);
	remote_send(fd, port, 11, 1, TRP_SET, "v");
	cr_assert_not(remote_recv(fd, 300, &rep), "answered without a quorum: status %u",
		      rep.status);
	remote_send(fd, port, 11, 1, TRP_SET, "v");
	cr_assert_not(remote_recv(fd, 300, &rep), "a retry of an outstanding set answered "
		      "before it committed: status %u", rep.status);
	/* Past TRP_IDLE_S, another client: the one entry still has the set. */
	usleep((TRP_IDLE_S * 1000 + 300) * 1000);
	remote_send(fd, port, 22, 1, TRP_SET, "w");
	cr_assert(remote_recv(fd, 2000, &rep), "no answer to a client the full table refuses");
	cr_assert(rep.client == 22 && rep.seq == 1 && rep.status == TRP_ST_BUSY,
		  "client %lu seq %lu status %u: an entry with a command outstanding was "
		  "given to another client", (unsigned long)rep.client, (unsigned long)rep.seq,
		  rep.status);
	/* A peer back: one answer, the set's. */
	cr_assert_eq(trireme_replica_resume(t, 1), 0);
	cr_assert(remote_recv(fd, 10000, &rep), "the set never answered");
	cr_assert(rep.client == 11 && rep.seq == 1 && rep.status == TRP_ST_OK, "status %u",
		  rep.status);
	cr_assert_not(remote_recv(fd, 300, &rep), "a second answer to seq %lu: the retry was "
		      "submitted again", (unsigned long)rep.seq);
	/* A del found the key; its retry says so again. */
	remote_send(fd, port, 11, 2, TRP_DEL, NULL);
	cr_assert(remote_recv(fd, 10000, &rep));
	cr_assert(rep.seq == 2 && rep.status == TRP_ST_OK && rep.found, "status %u found %d",
		  rep.status, rep.found);
	remote_send(fd, port, 11, 2, TRP_DEL, NULL);
	cr_assert(remote_recv(fd, 10000, &rep));
	cr_assert(rep.seq == 2 && rep.status == TRP_ST_OK && rep.found,
		  "the retry of a completed del: status %u found %d (executed again)",
		  rep.status, rep.found);
	/* TRP_WINDOW_MAX seqs later, the del's slot holds another outcome: its
	 * retry is too old (outcome unknown), never executed again. */
	for (uint64_t seq = 3; seq <= 2 + TRP_WINDOW_MAX; seq++) {
		remote_send(fd, port, 11, seq, TRP_SET, "v");
		cr_assert(remote_recv(fd, 10000, &rep) && rep.seq == seq &&
			  rep.status == TRP_ST_OK, "seq %lu", (unsigned long)seq);
	}
	remote_send(fd, port, 11, 2, TRP_DEL, NULL);
	cr_assert(remote_recv(fd, 10000, &rep));
	cr_assert(rep.seq == 2 && rep.status == TRP_ST_TOO_OLD, "the retry of seq 2 after seq "
		  "%u: status %u found %d", 2 + TRP_WINDOW_MAX, rep.status, rep.found);
	close(fd);
	eal_test_stop(t);
}

/* The value of "rk" by a remote barrier get (seq) through port: into val
 * (NUL-terminated), "" when absent. */
static void
remote_get(int fd, uint16_t port, uint64_t rid, uint64_t seq, char *val, size_t cap)
{
	struct trp_reply rep;

	remote_send(fd, port, rid, seq, TRP_GET, NULL);
	cr_assert(remote_recv(fd, 10000, &rep) && rep.seq == seq && rep.status == TRP_ST_OK,
		  "get seq %lu", (unsigned long)seq);
	cr_assert_lt(rep.val_len, cap);
	memcpy(val, rep.val, rep.val_len);
	val[rep.found ? rep.val_len : 0] = 0;
}

/* Remote clients' exactly once across replicas (trireme_proto.h): a write
 * carries the remote client's id, seq and window into the log, so a retry
 * sent to another replica (as a client does when its replica is gone) is
 * answered without being applied again: an old set retried after a newer
 * one does not bring its value back, an old del retried after a set does
 * not delete it, and a seq older than the window is too old. With the
 * replica's own client's id instead (before 2026-12-07), each retry was a
 * new write there. */
Test(lifecycle, remote_retries_elsewhere_are_applied_once, .timeout = 60)
{
	struct trireme *t;
	struct trp_reply rep;
	char val[64];
	uint16_t port[TRIREME_REPLICAS];
	const uint64_t rid = 33;
	int fd;

	port[0] = remote_cluster(1, &t, &fd);
	for (unsigned r = 1; r < TRIREME_REPLICAS; r++)
		port[r] = (uint16_t)(port[0] + r);

	remote_send(fd, port[0], rid, 1, TRP_SET, "v1");
	cr_assert(remote_recv(fd, 10000, &rep) && rep.seq == 1 && rep.status == TRP_ST_OK);
	remote_send(fd, port[0], rid, 2, TRP_SET, "v2");
	cr_assert(remote_recv(fd, 10000, &rep) && rep.seq == 2 && rep.status == TRP_ST_OK);
	/* Seq 1's answer lost, say: the client retries it at replica 1. */
	remote_send(fd, port[1], rid, 1, TRP_SET, "v1");
	cr_assert(remote_recv(fd, 10000, &rep));
	cr_assert(rep.seq == 1 && rep.status == TRP_ST_OK, "status %u", rep.status);
	remote_get(fd, port[2], rid, 3, val, sizeof(val));
	cr_assert_str_eq(val, "v2", "the retry of seq 1 at another replica was applied again");
	/* A del, a set after it, and the del again elsewhere. */
	remote_send(fd, port[0], rid, 4, TRP_DEL, NULL);
	cr_assert(remote_recv(fd, 10000, &rep) && rep.seq == 4 && rep.found);
	remote_send(fd, port[0], rid, 5, TRP_SET, "v5");
	cr_assert(remote_recv(fd, 10000, &rep) && rep.seq == 5 && rep.status == TRP_ST_OK);
	remote_send(fd, port[1], rid, 4, TRP_DEL, NULL);
	cr_assert(remote_recv(fd, 10000, &rep));
	cr_assert(rep.seq == 4 && rep.status == TRP_ST_OK, "status %u", rep.status);
	remote_get(fd, port[2], rid, 6, val, sizeof(val));
	cr_assert_str_eq(val, "v5", "the retry of del seq 4 at another replica deleted again");
	/* W = 4 (remote_send): seq 1 is 4 below the highest write, 5. */
	remote_send(fd, port[2], rid, 1, TRP_SET, "v1");
	cr_assert(remote_recv(fd, 10000, &rep));
	cr_assert(rep.seq == 1 && rep.status == TRP_ST_TOO_OLD, "status %u", rep.status);
	remote_get(fd, port[1], rid, 7, val, sizeof(val));
	cr_assert_str_eq(val, "v5");
	close(fd);
	eal_test_stop(t);
}

/* Two remote ids that differ in the top bit alone share one §8 identity
 * (trireme_proto.h: the low 63 bits) but not the replica's entries: each
 * is answered, wherever its command is found. */
Test(lifecycle, remote_ids_that_differ_in_the_top_bit_are_both_answered, .timeout = 60)
{
	struct trireme *t;
	struct trp_reply rep;
	const uint64_t a = 44, b = 44 | (UINT64_C(1) << 63);
	int fd;
	uint16_t port = remote_cluster(2, &t, &fd);
	remote_send(fd, port, a, 1, TRP_SET, "a");
	cr_assert(remote_recv(fd, 10000, &rep) && rep.client == a && rep.status == TRP_ST_OK);
	remote_send(fd, port, b, 2, TRP_SET, "b");
	cr_assert(remote_recv(fd, 10000, &rep), "the second id's set never answered");
	cr_assert(rep.client == b && rep.seq == 2 && rep.status == TRP_ST_OK, "status %u",
		  rep.status);
	close(fd);
	eal_test_stop(t);
}

/* Parks replica r's column tasks and applier at the top of their passes (as
 * an install does): the test thread may then play the applier's part. */
static void
hold_replica(struct rt_replica *r)
{
	atomic_store(&r->parked, 0);
	atomic_store(&r->hold, true);
	while ((atomic_load(&r->parked) & RT_PARK_ALL) != RT_PARK_ALL)
		sched_yield();
}

/* On a new data directory dir: a client of replica 0 whose first set was
 * answered, then replica 0 held. */
static struct trireme *
held_after_a_set(char *dir, struct trireme_client **c)
{
	struct trireme_op op = {.kind = TRIREME_SET, .key = "k", .key_len = 1, .val = "v",
				.val_len = 1};
	struct trireme *t;

	cr_assert_not_null(mkdtemp(dir));
	t = start_on(dir);
	cr_assert_not_null(*c = trireme_client_new(t, 0, 4));
	cr_assert_eq(trireme_submit(*c, &op, 1), 0);
	cr_assert_eq(wait_one(*c).status, 0);
	hold_replica(&t->reps[0]);
	return t;
}

/* Replica 0 on again, the client freed, the instance stopped, dir removed. */
static void
held_end(struct trireme *t, struct trireme_client *c, const char *dir)
{
	atomic_store(&t->reps[0].hold, false);
	trireme_client_free(c);
	eal_test_stop(t);
	dir_remove(dir);
}

/* §12 S1 with a disk (applier.c, durable.c): an answer reveals its commit,
 * so it is held until the commits applied up to it are synced. Replica 0
 * parked, the test plays its applier: the completion of a set at lsn L of
 * column 0, with the commits below L synced and not L's, is not answered;
 * a completion of another seq on the same command slot (a late duplicate,
 * §8) does not answer it either; once L is synced, it is answered. */
Test(lifecycle, an_answer_waits_for_the_sync_of_its_commit)
{
	char dir[] = "/tmp/trireme-lifecycle-XXXXXX";
	struct trireme_op op = {.kind = TRIREME_SET, .key = "k", .key_len = 1, .val = "w",
				.val_len = 1};
	struct trireme_client *c;
	struct trireme *t = held_after_a_set(dir, &c);
	struct rt_replica *r = &t->reps[0];
	struct tr_completion d = {.op = TR_OP_SET, .res = {.status = TR_ST_OK}, .column = 0};
	struct trireme_done done;
	uint64_t lsn;

	cr_assert_eq(trireme_submit(c, &op, 2), 0); /* queued: its task is parked */
	lsn = atomic_load(&r->eng.shared.applied[0]);
	for (unsigned col = 0; col < TRIREME_REPLICAS; col++)
		atomic_store(&r->dur.synced[col], atomic_load(&r->eng.shared.applied[col]));
	d.client_id = trireme_client_id(c);
	d.seq = c->next_seq - 1;
	d.lsn = lsn;
	r->applier.complete(r->applier.ctx, &d);
	rt_durable_release(r);
	cr_assert_eq(trireme_poll(c, &done, 1), 0, "answered before its commit (column 0, "
		     "lsn %lu) was synced", (unsigned long)lsn);
	rt_applier_release(r, d.client_id, d.seq + c->window);
	cr_assert_eq(trireme_poll(c, &done, 1), 0, "answered by the release of seq %lu",
		     (unsigned long)(d.seq + c->window));
	atomic_store(&r->dur.synced[0], lsn + 1);
	rt_durable_release(r);
	cr_assert_eq(trireme_poll(c, &done, 1), 1, "not answered once its commit was synced");
	cr_assert(done.tag == 2 && done.status == 0, "tag %lu status %d",
		  (unsigned long)done.tag, done.status);
	held_end(t, c, dir);
}

/* §12 S1 and S4 (wal.c, durable.c): one write at window 1 costs its owner
 * one sync, not two. The first attempt's record (the allocation, lazy) goes
 * with the ACCEPT unsynced; the sync before the owner's COMMIT (its vote and
 * the commit) covers it. Each peer syncs what it learnt about the slot
 * before it sends again (the vote before its reply). */
Test(lifecycle, a_write_costs_its_owner_one_sync)
{
	char dir[] = "/tmp/trireme-lifecycle-XXXXXX";
	struct trireme_op op = {.kind = TRIREME_SET, .key = "k", .key_len = 1, .val = "v",
				.val_len = 1};
	struct tr_wal_stats before[TRIREME_REPLICAS], *w;
	struct trireme_client *c;
	struct trireme *t;
	uint64_t retries;

	cr_assert_not_null(mkdtemp(dir));
	t = start_on(dir);
	cr_assert_not_null(c = trireme_client_new(t, 1, 1));
	usleep(100000); /* the start's own records and syncs, if any, are over */
	for (unsigned r = 0; r < TRIREME_REPLICAS; r++)
		before[r] = t->reps[r].dur.wal[1].stats;
	retries = t->reps[1].eng.col[1].stats.retries;
	cr_assert_eq(trireme_submit(c, &op, 1), 0);
	cr_assert_eq(wait_one(c).status, 0);
	usleep(100000); /* the COMMITs land, the peers sync them */
	/* A retry (P6, a reply late on a loaded machine) is not lazy: a sync. */
	retries = t->reps[1].eng.col[1].stats.retries - retries;
	w = &t->reps[1].dur.wal[1].stats;
	cr_assert_geq(w->records - before[1].records, 2, "the allocation, the vote, the commit");
	cr_assert(w->syncs - before[1].syncs >= 1 && w->syncs - before[1].syncs <= 1 + retries,
		  "the owner synced %lu times for one write (%lu records, %lu retries)",
		  (unsigned long)(w->syncs - before[1].syncs),
		  (unsigned long)(w->records - before[1].records), (unsigned long)retries);
	for (unsigned r = 0; r < TRIREME_REPLICAS; r += 2) {
		w = &t->reps[r].dur.wal[1].stats;
		cr_assert_gt(w->records - before[r].records, 0, "replica %u: no record", r);
		cr_assert_gt(w->syncs - before[r].syncs, 0, "replica %u: %lu records, no sync", r,
			     (unsigned long)(w->records - before[r].records));
	}
	trireme_client_free(c);
	eal_test_stop(t);
	dir_remove(dir);
}

/* §12 S1: a column whose log write fails does not publish what it would have
 * synced (durable.c rt_durable_gate): its held answers never go, and the
 * task sends nothing. Replica 0 parked, its column 0 log broken under it (a
 * read-only descriptor in place of the segment's), a record appended: the
 * gate refuses and synced stays where it was. */
Test(lifecycle, a_failed_sync_publishes_nothing)
{
	char dir[] = "/tmp/trireme-lifecycle-XXXXXX";
	struct tr_durable_rec rec = {.kind = TR_DURABLE_KNOWN, .column = 0};
	struct trireme_client *c;
	struct trireme *t = held_after_a_set(dir, &c);
	struct rt_replica *r = &t->reps[0];
	uint64_t committed, wait, durable;
	int bad;

	committed = r->tasks[0].col->committed;
	cr_assert_gt(committed, 0);
	atomic_store(&r->dur.synced[0], 0);
	cr_assert_eq(tr_wal_append(&r->dur.wal[0], &rec), 0);
	bad = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cr_assert(bad >= 0 && dup2(bad, r->dur.wal[0].fd) == r->dur.wal[0].fd);
	close(bad);
	cr_assert_eq(rt_durable_gate(&r->tasks[0], &wait, &durable), RT_GATE_SHUT,
		     "a failed sync let the task send");
	cr_assert_eq(atomic_load(&r->dur.synced[0]), 0, "synced published (%lu) although its "
		     "sync failed", (unsigned long)atomic_load(&r->dur.synced[0]));
	held_end(t, c, dir);
}

/* §12 S1 with a disk: a column publishes what it has synced at every pass,
 * not only when it sends (worker.c tx_pending). A peer that learns a commit
 * from a COMMIT has nothing to send afterwards; were its sync to wait for
 * its next send (a STATUS, 2 s away with this round trip), every answer
 * that reveals the commit would wait as long, and the join's "every column
 * has synced since" (durable.c) would count passes that synced nothing.
 * Replica 1 commits a set in its column; replica 0 applies it, and 100
 * passes of its column 1 task later has published the commit as synced. */
Test(lifecycle, a_column_publishes_its_sync_without_sending)
{
	char dir[] = "/tmp/trireme-lifecycle-XXXXXX";
	struct trireme_op op = {.kind = TRIREME_SET, .key = "k", .key_len = 1, .val = "v",
				.val_len = 1};
	struct trireme_client *c;
	struct trireme *t;
	struct rt_durable *d;
	uint64_t target, polls, deadline;

	cr_assert_not_null(mkdtemp(dir));
	t = start_dir(dir, 0, 0, 200 * 1000 * 1000, 0); /* STATUS every 2 s */
	d = &t->reps[0].dur;
	cr_assert_not_null(c = trireme_client_new(t, 1, 1));
	cr_assert_eq(trireme_submit(c, &op, 1), 0);
	cr_assert_eq(wait_one(c).status, 0);
	target = atomic_load(&t->reps[1].eng.shared.applied[1]);
	cr_assert_gt(target, 0);
	deadline = eal_test_now_ns() + 10 * SEC;
	while (atomic_load(&t->reps[0].eng.shared.applied[1]) < target) {
		cr_assert_lt(eal_test_now_ns(), deadline, "replica 0 did not apply the set");
		usleep(100);
	}
	polls = atomic_load(&d->polls[1]);
	while (atomic_load(&d->polls[1]) < polls + 100) {
		cr_assert_lt(eal_test_now_ns(), deadline, "replica 0's column 1 stopped polling");
		usleep(100);
	}
	cr_assert_geq(atomic_load(&d->synced[1]), target, "replica 0's column 1 synced %lu "
		      "after 100 passes, its commits %lu: what it learnt from a COMMIT waits "
		      "for its next send", (unsigned long)atomic_load(&d->synced[1]),
		      (unsigned long)target);
	trireme_client_free(c);
	eal_test_stop(t);
	dir_remove(dir);
}

/* A slow disk (dpdk/wal.c's syncer): every fdatasync of the replicas in
 * mask waits ms more, from the next one on. */
static void
slow_disk(struct trireme *t, unsigned mask, uint64_t ms)
{
	for (unsigned q = 0; q < TR_REPLICAS; q++)
		for (unsigned c = 0; c < TR_COLUMNS && (mask >> q & 1); c++)
			atomic_store(&t->reps[q].dur.wal[c].delay_ns, ms * 1000000u);
}

static uint64_t timed_set(struct trireme_client *c, unsigned n);

/* slow_disk, once the column 0 logs of mask have seen eight syncs of a
 * disk 30 ms slow (sets through c, tags from *n on): they sync on their
 * syncers from then on, whatever the disk under the test. */
static void
slow_disk_seen(struct trireme *t, struct trireme_client *c, unsigned *n, unsigned mask,
	       uint64_t ms)
{
	uint64_t before[TR_REPLICAS];
	bool seen = false;

	for (unsigned q = 0; q < TR_REPLICAS; q++)
		before[q] = __atomic_load_n(&t->reps[q].dur.wal[0].stats.syncs, __ATOMIC_RELAXED);
	slow_disk(t, mask, 30);
	while (!seen) {
		timed_set(c, ++*n);
		seen = true;
		for (unsigned q = 0; q < TR_REPLICAS; q++)
			seen &= !(mask >> q & 1) ||
				__atomic_load_n(&t->reps[q].dur.wal[0].stats.syncs,
						__ATOMIC_RELAXED) >= before[q] + 8;
	}
	slow_disk(t, mask, ms);
}

/* One set through c (tag n), answered: how long it took, in ms. */
static uint64_t
timed_set(struct trireme_client *c, unsigned n)
{
	char key[16];
	struct trireme_op op = {.kind = TRIREME_SET, .val = "v", .val_len = 1};
	uint64_t t0 = eal_test_now_ns();
	struct trireme_done d;

	op.key_len = (uint16_t)snprintf(key, sizeof(key), "k%u", n);
	op.key = key;
	cr_assert_eq(trireme_submit(c, &op, n), 0);
	d = wait_one(c);
	cr_assert(d.tag == n && d.status == 0, "tag %lu status %d", (unsigned long)d.tag,
		  d.status);
	return (eal_test_now_ns() - t0) / 1000000u;
}

/* A cluster on a new directory dir (a mkdtemp template) whose logs
 * fdatasync: the syncer's cases. */
static struct trireme *
start_fdatasync(char *dir)
{
	struct trireme_conf conf;
	struct trireme *t;
	char err[256];

	cr_assert_not_null(mkdtemp(dir));
	trireme_conf_default(&conf);
	conf.data_dir = dir;
	conf.sync = TRIREME_SYNC_FDATASYNC;
	cr_assert_eq(trireme_start(&conf, &t, err, sizeof(err)), 0, "%s", err);
	eal_test_running = t;
	return t;
}

/* A set through c, a client of replica 0 (tag n): how long after replica
 * 0 committed it (its column 0) the answer came, in ms. */
static uint64_t
answer_after_commit(struct trireme *t, struct trireme_client *c, unsigned n)
{
	struct trireme_op op = {.kind = TRIREME_SET, .key = "a", .key_len = 1, .val = "v",
				.val_len = 1};
	const uint64_t *committed = &t->reps[0].tasks[0].col->committed;
	uint64_t target = __atomic_load_n(committed, __ATOMIC_ACQUIRE) + 1, at;
	uint64_t deadline = eal_test_now_ns() + 20 * SEC;
	struct trireme_done d;

	cr_assert_eq(trireme_submit(c, &op, n), 0);
	while (__atomic_load_n(committed, __ATOMIC_ACQUIRE) < target) {
		cr_assert_lt(eal_test_now_ns(), deadline, "set %u never committed", n);
		usleep(50);
	}
	at = eal_test_now_ns();
	d = wait_one(c);
	cr_assert(d.tag == n && d.status == 0, "tag %lu status %d", (unsigned long)d.tag,
		  d.status);
	return (eal_test_now_ns() - at) / 1000000u;
}

/* §12 S1 with a slow disk, whose fdatasyncs run on the log's syncer while
 * the worker goes on: what a replica has not synced stays in, and the
 * replicas sharing its lcore keep committing. All three replicas share
 * this test's one worker lcore. Each phase starts with sets that let the
 * slow logs see their disk slow (their first slow syncs run inline).
 * - Replicas 1 and 2 slow (300 ms): a set through replica 0 needs a peer's
 *   vote, which waits in its frame until synced: at least 300 ms.
 * - Replica 0 slow: its answer waits for the sync of its commit, 300 ms
 *   after the commit.
 * - Replica 2 slow, as long as 128 STATUS periods and 3.5 s more; after
 *   the periods (at least 2.5 s), 20 sets through replica 0 take well under
 *   its one sync (replica 1 votes); a sync on the worker would stall them
 *   all, and so would replica 2's queue of frames filled with its STATUS,
 *   had it kept sending one per period while one waits. */
Test(lifecycle, a_slow_disk_holds_what_it_has_not_synced, .timeout = 120)
{
	char dir[] = "/tmp/trireme-lifecycle-XXXXXX";
	struct trireme_client *c;
	struct trireme *t;
	uint64_t ms, t0, fill_ms;
	unsigned n = 0;

	t = start_fdatasync(dir);
	cr_assert_not_null(c = trireme_client_new(t, 0, 1));
	timed_set(c, ++n);

	slow_disk_seen(t, c, &n, 1u << 1 | 1u << 2, 300);
	ms = timed_set(c, ++n);
	cr_assert_geq(ms, 300, "answered in %lu ms: a peer's vote left before its sync",
		      (unsigned long)ms);

	slow_disk(t, 1u << 1 | 1u << 2, 0);
	slow_disk_seen(t, c, &n, 1u << 0, 300);
	ms = answer_after_commit(t, c, ++n);
	cr_assert_geq(ms, 250, "answered %lu ms after its commit, before the commit's sync",
		      (unsigned long)ms);

	/* Two STATUS a period to each column's queue of 256 would fill it in
	 * 128 periods (the period follows the disk probed at the start). */
	fill_ms = 130 * t->reps[2].cfg.status_ns / 1000000u;
	fill_ms = fill_ms < 2500 ? 2500 : fill_ms;
	cr_assert_lt(fill_ms, 20000, "STATUS every %lu ms", (unsigned long)(fill_ms / 130));
	slow_disk(t, 1u << 0, 0);
	slow_disk_seen(t, c, &n, 1u << 2, fill_ms + 3500);
	usleep((useconds_t)fill_ms * 1000);
	t0 = eal_test_now_ns();
	for (unsigned i = 0; i < 20; i++)
		timed_set(c, ++n);
	ms = (eal_test_now_ns() - t0) / 1000000u;
	cr_assert_lt(ms, 1500, "20 sets took %lu ms with replica 2's disk slow: its syncs "
		     "(or its full queue of frames) stalled the lcore", (unsigned long)ms);
	slow_disk(t, 1u << 2, 0);
	trireme_client_free(c);
	eal_test_stop(t);
	dir_remove(dir);
}

/* A long stall under load (dpdk/worker.c's held queue): replica 2 paused, so
 * every slot of replica 0 needs replica 1's vote, and replica 1's disk 1 s
 * slow while four clients of replica 0 keep 64 sets each outstanding for
 * 2 s. Replica 1's frames pile up behind its syncs (its queue fills, and
 * it syncs in place then), and its STATUS to a peer is not repeated while
 * one waits. Afterwards every set is answered, and every mbuf is back in
 * the pool: none sent twice (a frame overwritten in a full queue), none
 * kept. */
Test(lifecycle, a_long_stall_holds_frames_without_losing_any, .timeout = 120)
{
	char dir[] = "/tmp/trireme-lifecycle-XXXXXX";
	struct trireme_op op = {.kind = TRIREME_SET, .key = "k", .key_len = 1, .val = "v",
				.val_len = 1};
	struct trireme_client *c[4];
	struct rte_mempool *pool;
	struct trireme *t;
	unsigned n = 0, before, after;
	uint64_t end, deadline;

	t = start_fdatasync(dir);
	pool = t->reps[0].pool;
	for (unsigned i = 0; i < 4; i++)
		cr_assert_not_null(c[i] = trireme_client_new(t, 0, 64));
	slow_disk_seen(t, c[0], &n, 1u << 1, 1000);
	usleep(300000);
	before = rte_mempool_avail_count(pool);
	cr_assert_eq(trireme_replica_pause(t, 2), 0);
	end = eal_test_now_ns() + 2 * SEC;
	while (eal_test_now_ns() < end) {
		for (unsigned i = 0; i < 4; i++) {
			struct trireme_done d;

			while (trireme_submit(c[i], &op, ++n) == 0)
				;
			while (trireme_poll(c[i], &d, 1) == 1)
				cr_assert_eq(d.status, 0, "%s", trireme_strerror(d.status));
		}
		usleep(1000);
	}
	slow_disk(t, 1u << 1, 0);
	cr_assert_eq(trireme_replica_resume(t, 2), 0);
	deadline = eal_test_now_ns() + 30 * SEC;
	for (unsigned i = 0; i < 4; i++)
		while (trireme_outstanding(c[i]) > 0) {
			struct trireme_done d;

			cr_assert_lt(eal_test_now_ns(), deadline, "client %u: %u sets never answered",
				     i, trireme_outstanding(c[i]));
			if (trireme_wait(c[i], SEC) > 0)
				while (trireme_poll(c[i], &d, 1) == 1)
					cr_assert_eq(d.status, 0, "%s", trireme_strerror(d.status));
		}
	/* The last frames leave once the sync they wait for (up to 1 s, begun
	 * before the disk was made fast again) is done. */
	deadline = eal_test_now_ns() + 10 * SEC;
	do {
		usleep(10000);
		after = rte_mempool_avail_count(pool);
	} while (!(after + 64 >= before && after <= before + 64) && eal_test_now_ns() < deadline);
	cr_assert(after + 64 >= before && after <= before + 64,
		  "mbufs free: %u before the stall, %u 10 s after: frames %s", before, after,
		  after < before ? "kept" : "freed twice");
	for (unsigned i = 0; i < 4; i++)
		trireme_client_free(c[i]);
	eal_test_stop(t);
	dir_remove(dir);
}

/* The store's writer keeps the nodes handed back after their grace period
 * until it starts its next batch of retired nodes (kvstore.c); an applier
 * that goes idle releases them, so a replica left idle keeps no freed
 * memory. 193 sets of one key retire 192 nodes on each replica, six full
 * batches, and start no seventh: only the idle applier can release the
 * sixth. */
Test(lifecycle, an_idle_applier_releases_the_stores_freed_nodes)
{
	struct trireme *t = start(4);
	struct trireme_client *c = trireme_client_new(t, 0, 1);
	uint64_t deadline;

	cr_assert_not_null(c);
	for (unsigned i = 0; i < 193; i++) {
		char val[16];
		struct trireme_op op = {.kind = TRIREME_SET, .key = "k", .key_len = 1, .val = val};

		op.val_len = (uint32_t)snprintf(val, sizeof(val), "v%u", i);
		cr_assert_eq(trireme_submit(c, &op, i), 0);
		cr_assert_eq(wait_one(c).status, 0);
	}
	deadline = eal_test_now_ns() + 3 * SEC;
	for (unsigned r = 0; r < TRIREME_REPLICAS; r++) {
		struct tr_kvstore_stats st;

		for (;;) {
			tr_kvstore_stats_get(t->reps[r].kv, &st);
			if (st.nodes_retired == 192 && st.nodes_released == st.nodes_retired)
				break;
			cr_assert_lt(eal_test_now_ns(), deadline, "replica %u, idle: released %lu of "
				     "the %lu nodes retired (%lu past their grace period)", r,
				     (unsigned long)st.nodes_released, (unsigned long)st.nodes_retired,
				     (unsigned long)st.nodes_freed);
			usleep(1000);
		}
	}
	trireme_client_free(c);
	eal_test_stop(t);
}

/* Replica 0's drops so far: malformed frames, and packets refused before
 * (tr_net_parse: counted by reason, drops_foreign sums them). */
static uint64_t
dropped(struct trireme *t, bool foreign)
{
	struct trireme_replica_stats s;

	cr_assert_eq(trireme_replica_stats(t, 0, &s), 0);
	return foreign ? s.drops_foreign : s.drops_malformed;
}

/* A frame whose header does not match the port and queue it came by (worker.c:
 * another column's, or another sender's) is malformed: counted, never given
 * to a column's engine; a packet tr_net_parse refuses is counted too. Replica
 * 1 held, the test sends on its port to replica 0's column 0 frames of one
 * READ_INDEX: one naming column 1, one naming replica 2 as its sender, and
 * one true to its port but with a bad IP checksum. */
Test(lifecycle, a_frame_naming_another_column_or_sender_is_dropped)
{
	static const uint8_t lie[3][2] = {{1, 1}, {0, 2}, {0, 1}}; /* header column, from */
	struct trireme *t = start(64);
	struct rt_replica *r1 = &t->reps[1];

	hold_replica(r1); /* its tasks leave its port's queues to the test */
	for (unsigned i = 0; i < 3; i++) {
		struct tr_frame_hdr hdr = {.cluster_id = r1->limits.cluster_id, .from = lie[i][1],
					   .to = 0, .column = lie[i][0],
					   .inc = tr_replica_inc(&r1->eng)};
		struct rte_mbuf *m = rte_pktmbuf_alloc(r1->pool);
		struct tr_msg q = {.type = TR_MSG_READ_INDEX};
		struct tr_frame_writer fw;
		bool bad_ip = i == 2;
		uint64_t was = dropped(t, bad_ip), other = dropped(t, !bad_ip);
		uint64_t deadline = mono_ns(CLOCK_MONOTONIC) + 5 * SEC;
		size_t len;

		cr_assert_not_null(m);
		cr_assert_eq(tr_frame_begin(&fw, tr_net_payload(m), tr_net_payload_cap(m, &r1->net),
					    &hdr), 0);
		cr_assert_eq(tr_frame_add(&fw, &q), 0);
		len = tr_frame_end(&fw);
		cr_assert_eq(tr_net_build(m, &r1->net, 1, 0, 0, (uint16_t)len), 0);
		if (bad_ip) /* the IPv4 header checksum, after the Ethernet header */
			rte_pktmbuf_mtod(m, uint8_t *)[14 + 10] ^= 0xff;
		/* The ring mesh: replica 1's queue to (replica 0, column 0). */
		cr_assert_eq(rte_eth_tx_burst(r1->port, 0, &m, 1), 1);
		while (dropped(t, bad_ip) == was && mono_ns(CLOCK_MONOTONIC) < deadline)
			usleep(1000);
		cr_assert_eq(dropped(t, bad_ip), was + 1, "frame %u (column %u from replica %u, "
			     "on column 0's port from replica 1%s) was taken", i, lie[i][0],
			     lie[i][1], bad_ip ? ", bad IP checksum" : "");
		cr_assert_eq(dropped(t, !bad_ip), other);
	}
	atomic_store(&r1->hold, false);
	eal_test_stop(t);
}

/* A local read answers from its own replica's applied state (the weaker
 * mode), however far behind: replica 2 held, a set committed by replicas 0
 * and 1 is found at replica 0 and not at replica 2, through
 * trireme_read_local and through a client's TRIREME_READ_LOCAL get; once
 * replica 2 goes on, it finds it too. */
Test(lifecycle, a_local_read_reads_its_own_replica)
{
	struct trireme *t = start(64);
	struct trireme_client *c0 = trireme_client_new(t, 0, 4), *c2 = trireme_client_new(t, 2, 4);
	struct trireme_op set = {.kind = TRIREME_SET, .key = "lk", .key_len = 2, .val = "v",
				 .val_len = 1};
	struct trireme_op get = {.kind = TRIREME_GET, .read_mode = TRIREME_READ_LOCAL,
				 .key = "lk", .key_len = 2};
	struct trireme_done d;
	char got[8];
	uint32_t len;

	cr_assert(c0 != NULL && c2 != NULL);
	trireme_thread_online();
	hold_replica(&t->reps[2]);
	cr_assert_eq(trireme_submit(c0, &set, 1), 0);
	cr_assert_eq(wait_one(c0).status, 0);
	cr_assert_eq(trireme_read_local(t, 0, "lk", 2, got, sizeof(got), &len), 0);
	cr_assert_eq(trireme_read_local(t, 2, "lk", 2, got, sizeof(got), &len), 1,
		     "replica 2, held, finds a set it never applied");
	cr_assert_eq(trireme_submit(c2, &get, 2), 0);
	cr_assert_eq(trireme_poll(c2, &d, 1), 1);
	cr_assert(d.status == 0 && !d.found, "a local get at replica 2, held, finds a set it "
		  "never applied (status %d)", d.status);
	atomic_store(&t->reps[2].hold, false);
	eal_test_converge(t, 10 * SEC);
	cr_assert_eq(trireme_submit(c2, &get, 3), 0);
	cr_assert_eq(trireme_poll(c2, &d, 1), 1);
	cr_assert(d.status == 0 && d.found && d.val_len == 1);
	trireme_thread_offline();
	eal_test_stop(t);
}
