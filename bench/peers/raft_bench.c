/* SPDX-License-Identifier: MIT
 * canonical/raft (Debian's libraft) under the load Trireme's launcher puts
 * on its replicas, for the side-by-side benchmark (bench/peers.sh): three
 * raft servers in this process, one thread and one libuv loop each, talking
 * over TCP on loopback (raft_uv_tcp) and keeping their logs with libraft's
 * own disk I/O (raft_uv: segments, O_DIRECT + kernel AIO where the file
 * system has them, fdatasync otherwise) in DIR/1, DIR/2, DIR/3.
 *
 * A trivial FSM (counts and hashes the commands). Once a leader is elected,
 * a closed-loop client on the leader's loop keeps --window raft_apply()s of
 * --value-size-byte commands outstanding; the latency of one is from
 * raft_apply() to its callback (committed by a majority and applied on the
 * leader). After --warmup s, --duration s are measured; then one JSON line
 * on stdout and the process exits (the directories are left to the caller).
 *
 * Snapshots are off: the threshold is 2^31 entries, never reached in a run
 * (raft_set_snapshot_threshold), so no snapshot ever interrupts the log.
 *
 *   raft-bench --dir DIR [--window W] [--duration S] [--warmup S]
 *              [--value-size B] [--port-base P]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "hist.h"

#define SERVERS 3
#define WINDOW_MAX 4096
#define VALUE_MAX 4096
#define SNAPSHOT_OFF (1u << 31)

struct server;

struct op {
	struct raft_apply req;
	uint64_t t0;
	struct server *s;
};

struct server {
	raft_id id;
	char address[32];
	char dir[4096];
	uv_loop_t loop;
	uv_timer_t poll;
	uv_timer_t end;
	struct raft_uv_transport transport;
	struct raft_io io;
	struct raft_fsm fsm;
	struct raft raft;
	pthread_t thread;
	_Atomic uint64_t applied; /* read by the leader's thread at the end */
	uint64_t digest;
};

static struct {
	const char *dir;
	unsigned window;
	unsigned value_size;
	double duration_s;
	double warmup_s;
	unsigned port_base;
} cfg = {NULL, 1, 16, 5.0, 1.0, 9101};

static struct server servers[SERVERS];
static atomic_bool client_started;

/* The client's state: only the leader's loop thread touches it. */
static struct {
	struct op ops[WINDOW_MAX];
	uint64_t seq;
	uint64_t t_start;   /* end of the warm-up */
	uint64_t t_stop;    /* end of the measurement */
	uint64_t commits;   /* completed inside [t_start, t_stop) */
	uint64_t errors;
	int first_error;
	struct hist hist;
} cl;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
die(const char *what, int rv)
{
	fprintf(stderr, "raft-bench: %s: %s\n", what, raft_strerror(rv));
	exit(3);
}

static int
fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
	struct server *s = fsm->data;
	const unsigned char *p = buf->base;
	size_t i;

	for (i = 0; i < buf->len; i++)
		s->digest = (s->digest ^ p[i]) * UINT64_C(0x100000001b3);
	atomic_fetch_add_explicit(&s->applied, 1, memory_order_relaxed);
	*result = NULL;
	return 0;
}

/* Never called with snapshots off; a valid empty snapshot all the same. */
static int
fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n)
{
	struct server *s = fsm->data;

	*bufs = raft_malloc(sizeof(**bufs));
	if (*bufs == NULL)
		return RAFT_NOMEM;
	(*bufs)[0].len = sizeof(s->digest);
	(*bufs)[0].base = raft_malloc(sizeof(s->digest));
	if ((*bufs)[0].base == NULL)
		return RAFT_NOMEM;
	memcpy((*bufs)[0].base, &s->digest, sizeof(s->digest));
	*n = 1;
	return 0;
}

static int
fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
	struct server *s = fsm->data;

	if (buf->len == sizeof(s->digest))
		memcpy(&s->digest, buf->base, sizeof(s->digest));
	raft_free(buf->base);
	return 0;
}

static void apply_cb(struct raft_apply *req, int status, void *result);

static int
submit(struct op *o)
{
	struct raft_buffer buf;
	uint64_t seq = ++cl.seq;

	buf.len = cfg.value_size;
	buf.base = raft_malloc(buf.len);
	if (buf.base == NULL)
		return RAFT_NOMEM;
	memset(buf.base, 'v', buf.len);
	memcpy(buf.base, &seq, buf.len < sizeof(seq) ? buf.len : sizeof(seq));
	o->req.data = o;
	o->t0 = now_ns();
	return raft_apply(&o->s->raft, &o->req, &buf, 1, apply_cb);
}

static void
count_error(int rv)
{
	if (cl.errors++ == 0)
		cl.first_error = rv;
}

static void
apply_cb(struct raft_apply *req, int status, void *result)
{
	struct op *o = req->data;
	uint64_t t = now_ns();
	int rv;

	(void)result;
	if (status != 0) {
		count_error(status);
	} else if (t >= cl.t_start && t < cl.t_stop) {
		cl.commits++;
		hist_add(&cl.hist, t - o->t0);
	}
	if (t >= cl.t_stop)
		return;
	rv = submit(o);
	if (rv != 0)
		count_error(rv);
}

static void
end_cb(uv_timer_t *t)
{
	struct server *s = t->data;
	double secs = (double)(cl.t_stop - cl.t_start) / 1e9;

	printf("{\"system\":\"canonical/raft\",\"version\":\"%s\",\"window\":%u,"
	       "\"value_size\":%u,\"duration_s\":%.3f,\"warmup_s\":%.3f,"
	       "\"commits\":%" PRIu64 ",\"commits_per_s\":%.1f,"
	       "\"p50_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,\"max_us\":%.2f,"
	       "\"errors\":%" PRIu64 ",\"first_error\":\"%s\",\"leader\":%llu,"
	       "\"applied\":[%" PRIu64 ",%" PRIu64 ",%" PRIu64 "],"
	       "\"snapshot_threshold\":%u,\"dir\":\"%s\"}\n",
	       "0.15", cfg.window, cfg.value_size, secs, cfg.warmup_s, cl.commits,
	       (double)cl.commits / secs, hist_quantile(&cl.hist, 0.5) / 1e3,
	       hist_quantile(&cl.hist, 0.99) / 1e3, hist_quantile(&cl.hist, 0.999) / 1e3,
	       cl.hist.max_ns / 1e3, cl.errors,
	       cl.errors ? raft_strerror(cl.first_error) : "", (unsigned long long)s->id,
	       atomic_load(&servers[0].applied),
	       atomic_load(&servers[1].applied), atomic_load(&servers[2].applied), SNAPSHOT_OFF, cfg.dir);
	fflush(stdout);
	/* No orderly raft_close of three servers on three loops: the numbers
	 * are out and the caller removes the directories. */
	_exit(cl.errors && cl.commits == 0 ? 1 : 0);
}

/* On the leader's loop: start the closed-loop client once. */
static void
start_client(struct server *s)
{
	uint64_t t = now_ns();
	unsigned i;
	int rv;

	cl.t_start = t + (uint64_t)(cfg.warmup_s * 1e9);
	cl.t_stop = cl.t_start + (uint64_t)(cfg.duration_s * 1e9);
	hist_reset(&cl.hist);
	for (i = 0; i < cfg.window; i++) {
		cl.ops[i].s = s;
		rv = submit(&cl.ops[i]);
		if (rv != 0)
			die("raft_apply", rv);
	}
	uv_timer_init(&s->loop, &s->end);
	s->end.data = s;
	/* A little past t_stop, so that the last window drains. */
	uv_timer_start(&s->end, end_cb,
		       (uint64_t)((cfg.warmup_s + cfg.duration_s) * 1e3) + 50, 0);
}

static void
poll_cb(uv_timer_t *t)
{
	struct server *s = t->data;
	bool no = false;

	if (raft_state(&s->raft) != RAFT_LEADER)
		return;
	if (!atomic_compare_exchange_strong(&client_started, &no, true))
		return;
	uv_timer_stop(t);
	start_client(s);
}

static void *
server_main(void *arg)
{
	struct server *s = arg;
	struct raft_configuration conf;
	unsigned i;
	int rv;

	if (uv_loop_init(&s->loop) != 0)
		die("uv_loop_init", RAFT_IOERR);
	rv = raft_uv_tcp_init(&s->transport, &s->loop);
	if (rv != 0)
		die("raft_uv_tcp_init", rv);
	rv = raft_uv_init(&s->io, &s->loop, s->dir, &s->transport);
	if (rv != 0)
		die("raft_uv_init", rv);
	raft_uv_set_connect_retry_delay(&s->io, 50);
	s->fsm = (struct raft_fsm){.version = 1, .data = s, .apply = fsm_apply,
				   .snapshot = fsm_snapshot, .restore = fsm_restore};
	rv = raft_init(&s->raft, &s->io, &s->fsm, s->id, s->address);
	if (rv != 0)
		die("raft_init", rv);
	raft_configuration_init(&conf);
	for (i = 0; i < SERVERS; i++) {
		rv = raft_configuration_add(&conf, servers[i].id, servers[i].address,
					    RAFT_VOTER);
		if (rv != 0)
			die("raft_configuration_add", rv);
	}
	rv = raft_bootstrap(&s->raft, &conf);
	if (rv != 0)
		die("raft_bootstrap (is the directory empty?)", rv);
	raft_configuration_close(&conf);
	raft_set_snapshot_threshold(&s->raft, SNAPSHOT_OFF);
	rv = raft_start(&s->raft);
	if (rv != 0)
		die("raft_start", rv);
	uv_timer_init(&s->loop, &s->poll);
	s->poll.data = s;
	uv_timer_start(&s->poll, poll_cb, 10, 10);
	uv_run(&s->loop, UV_RUN_DEFAULT);
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr, "usage: raft-bench --dir DIR [--window W] [--duration S] "
			"[--warmup S] [--value-size B] [--port-base P]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"window", required_argument, NULL, 'w'},
		{"duration", required_argument, NULL, 't'},
		{"warmup", required_argument, NULL, 'u'},
		{"value-size", required_argument, NULL, 'v'},
		{"port-base", required_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	unsigned i;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': cfg.dir = optarg; break;
		case 'w': cfg.window = (unsigned)strtoul(optarg, NULL, 0); break;
		case 't': cfg.duration_s = strtod(optarg, NULL); break;
		case 'u': cfg.warmup_s = strtod(optarg, NULL); break;
		case 'v': cfg.value_size = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'p': cfg.port_base = (unsigned)strtoul(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (cfg.dir == NULL || optind != argc || cfg.window < 1 || cfg.window > WINDOW_MAX ||
	    cfg.value_size < 1 || cfg.value_size > VALUE_MAX || !(cfg.duration_s > 0) ||
	    cfg.warmup_s < 0 || cfg.port_base < 1024 || cfg.port_base > 65000)
		usage();
	if (mkdir(cfg.dir, 0755) != 0 && errno != EEXIST) {
		perror(cfg.dir);
		return 3;
	}
	for (i = 0; i < SERVERS; i++) {
		struct server *s = &servers[i];

		s->id = i + 1;
		snprintf(s->address, sizeof(s->address), "127.0.0.1:%u", cfg.port_base + i);
		snprintf(s->dir, sizeof(s->dir), "%s/%u", cfg.dir, i + 1);
		if (mkdir(s->dir, 0755) != 0 && errno != EEXIST) {
			perror(s->dir);
			return 3;
		}
	}
	for (i = 0; i < SERVERS; i++)
		if (pthread_create(&servers[i].thread, NULL, server_main, &servers[i]) != 0)
			die("pthread_create", RAFT_IOERR);
	/* end_cb exits; a cluster that never elects a leader is stopped here. */
	sleep((unsigned)(cfg.warmup_s + cfg.duration_s) + 30);
	fprintf(stderr, "raft-bench: no result after %u s (no leader?)\n",
		(unsigned)(cfg.warmup_s + cfg.duration_s) + 30);
	return 3;
}
