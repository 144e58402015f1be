/* SPDX-License-Identifier: MIT
 * trireme-load: a closed-loop load generator for remote clients
 * (include/trireme_proto.h) over kernel UDP sockets, so that it runs on any
 * host, with no DPDK.
 *
 *   trireme-load --target 10.0.0.1:7004,10.0.0.2:7004,10.0.0.3:7004 \
 *                --clients 24 --window 8 --duration 10 --json
 *
 * Clients are spread round robin over the targets; each keeps its window of
 * operations outstanding (seqs within a span of the window, as the replica's
 * table requires) and resends an unanswered one with the same seq after
 * --timeout-ms (the replica answers it once: trireme_proto.h); with
 * --failover N, after N sends of an operation without an answer, or a
 * "stopped" answer, the client moves to the next target and resends its
 * operations there with the same seqs (every replica applies a write once).
 * Latency is
 * client-visible: from the first send to the answer, retries included.
 * Reports a line per second on stderr and a summary (or --json) on stdout.
 * --history FILE writes HISTORY.md version 2 (util/history_out.c: a pending
 * line flushed before the first send, the complete line at the answer).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hist.h"
#include "history_out.h"
#include "trireme_proto.h"

#define TARGETS_MAX 16
#define CLIENTS_MAX 4096
#define KEY_LEN 24
#define HISTORY_VALUE_MIN 32
#define DRAIN_S 3
#define THREADS_MAX 64
#define BURST 32                 /* datagrams per sendmmsg / recvmmsg */
#define REQ_MAX (TRP_HDR_LEN + TRP_REQ_HDR_LEN + KEY_LEN + TRP_VAL_MAX)
#define BATCH_BYTES 1472         /* a datagram of several: one 1500-byte packet */
#define REPLY_MAX (TRP_REPLY_LEN + TRP_VAL_MAX + 64)

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct target {
	struct sockaddr_in addr;
	char name[64];
};

struct op {
	uint64_t seq;          /* 0: free */
	uint64_t call_ns;      /* first send */
	uint64_t sent_ns;      /* last send */
	uint64_t key;
	uint8_t kind;
	uint8_t read_mode;
	unsigned sends;
};

struct client {
	uint64_t id;
	unsigned target;
	uint64_t moved_ns;     /* last --failover move */
	uint64_t next_seq;
	unsigned used;
	struct op *ops;        /* window of them, by seq % window */
};

struct conf {
	struct target targets[TARGETS_MAX];
	unsigned ntargets;
	unsigned clients, window, threads, batch;
	uint32_t value_size;
	uint64_t keys;
	double read_ratio, duration_s, interval_s;
	uint8_t read_mode;
	uint64_t timeout_ns;
	unsigned failover;     /* sends before moving to the next target; 0: never */
	uint64_t seed;
	const char *history;
	bool json, quiet, no_cksum;
};

struct counts {
	uint64_t ops, reads, writes, retries, busy, unknown, errors, bad_replies, failovers;
};

static volatile sig_atomic_t stop_now;

static void
on_signal(int sig)
{
	(void)sig;
	stop_now = 1;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* splitmix64 over a seeded state. */
static uint64_t
splitmix(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: trireme-load --target HOST:PORT[,HOST:PORT...] [options]\n"
		"  --target LIST        replicas serving remote clients (trireme --serve-clients:\n"
		"                       port udp-port-base + 4); repeatable\n"
		"  --clients N          remote clients, round robin over the targets (default 3)\n"
		"  --window W           outstanding operations per client, 1..64 (default 8)\n"
		"  --value-size B       bytes per value, 1..4096 (default 16; 32+ with --history)\n"
		"  --keys N             keys k0 .. k<N-1>, uniform (default 1000)\n"
		"  --read-ratio P       share of gets, 0..1 (default 0.25)\n"
		"  --read-mode M        barrier (default) or log\n"
		"  --duration S         seconds of load (default 10)\n"
		"  --timeout-ms T       resend an unanswered operation after T ms (default 50)\n"
		"  --failover N         after N sends of an operation without an answer, or a\n"
		"                       'stopped' answer, move the client to the next target and\n"
		"                       resend there, same seqs (default 0: never)\n"
		"  --interval S         a stats line every S seconds on stderr (default 1, 0: none)\n"
		"  --threads N          sending threads, each with its own socket and a share of\n"
		"                       the clients, 1..64 (default 1)\n"
		"  --batch N            a client's requests per datagram, 1..32, within 1472\n"
		"                       bytes (default 1: a datagram each)\n"
		"  --history FILE       HISTORY.md version 2 history of every operation\n"
		"  --seed N             key choice and client ids (default: from the clock)\n"
		"  --no-udp-checksum    send UDP checksum 0 (veth pairs: the kernel leaves a\n"
		"                       partial checksum that a replica on af_packet rejects)\n"
		"  --json               the summary as one JSON object\n"
		"  --quiet              no stats lines\n");
}

static int
parse_target(struct conf *c, const char *arg)
{
	char buf[128], *save = NULL, *tok;

	if (strlen(arg) >= sizeof(buf))
		return -1;
	strcpy(buf, arg);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM}, *res;
		char *colon = strrchr(tok, ':');
		struct target *t;

		if (colon == NULL || c->ntargets == TARGETS_MAX) {
			fprintf(stderr, "trireme-load: --target wants HOST:PORT, at most %u: %.64s\n",
				TARGETS_MAX, tok);
			return -1;
		}
		*colon = 0;
		if (getaddrinfo(tok, colon + 1, &hints, &res) != 0) {
			fprintf(stderr, "trireme-load: cannot resolve %.64s:%.16s\n", tok, colon + 1);
			return -1;
		}
		t = &c->targets[c->ntargets++];
		memcpy(&t->addr, res->ai_addr, sizeof(t->addr));
		freeaddrinfo(res);
		snprintf(t->name, sizeof(t->name), "%s:%s", tok, colon + 1);
	}
	return 0;
}

static int
parse_num(const char *name, const char *arg, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end != 0 || !(v >= lo && v <= hi)) {
		fprintf(stderr, "trireme-load: --%s must be a number in %g..%g, not '%.32s'\n", name,
			lo, hi, arg);
		return -1;
	}
	*out = v;
	return 0;
}

static int
parse_args(int argc, char **argv, struct conf *c)
{
	static const struct option longs[] = {
		{"target", required_argument, NULL, 't'},
		{"clients", required_argument, NULL, 'c'},
		{"window", required_argument, NULL, 'w'},
		{"value-size", required_argument, NULL, 'v'},
		{"keys", required_argument, NULL, 'k'},
		{"read-ratio", required_argument, NULL, 'r'},
		{"read-mode", required_argument, NULL, 'm'},
		{"duration", required_argument, NULL, 'd'},
		{"timeout-ms", required_argument, NULL, 'T'},
		{"failover", required_argument, NULL, 'F'},
		{"interval", required_argument, NULL, 'i'},
		{"threads", required_argument, NULL, 'P'},
		{"batch", required_argument, NULL, 'B'},
		{"history", required_argument, NULL, 'H'},
		{"seed", required_argument, NULL, 's'},
		{"no-udp-checksum", no_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool seed_set = false, value_set = false;
	double v;
	int opt, rc = 0;

	*c = (struct conf){.clients = 3, .window = 8, .threads = 1, .batch = 1, .value_size = 16, .keys = 1000,
			   .read_ratio = 0.25, .duration_s = 10, .interval_s = 1,
			   .timeout_ns = 50000000};
	while (rc == 0 && (opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (opt) {
		case 't': rc = parse_target(c, optarg); break;
		case 'c': rc = parse_num("clients", optarg, 1, CLIENTS_MAX, &v); c->clients = (unsigned)v; break;
		case 'w': rc = parse_num("window", optarg, 1, TRP_WINDOW_MAX, &v); c->window = (unsigned)v; break;
		case 'v':
			rc = parse_num("value-size", optarg, 1, TRP_VAL_MAX, &v);
			c->value_size = (uint32_t)v;
			value_set = true;
			break;
		case 'k': rc = parse_num("keys", optarg, 1, 1e12, &v); c->keys = (uint64_t)v; break;
		case 'r': rc = parse_num("read-ratio", optarg, 0, 1, &c->read_ratio); break;
		case 'm':
			if (strcmp(optarg, "barrier") == 0)
				c->read_mode = 0;
			else if (strcmp(optarg, "log") == 0)
				c->read_mode = 1;
			else {
				fprintf(stderr, "trireme-load: --read-mode is barrier or log (local "
					"reads are not served remotely)\n");
				rc = -1;
			}
			break;
		case 'd': rc = parse_num("duration", optarg, 0.1, 86400, &c->duration_s); break;
		case 'T':
			rc = parse_num("timeout-ms", optarg, 1, 60000, &v);
			c->timeout_ns = (uint64_t)(v * 1e6);
			break;
		case 'F': rc = parse_num("failover", optarg, 0, 1000, &v); c->failover = (unsigned)v; break;
		case 'i': rc = parse_num("interval", optarg, 0, 3600, &c->interval_s); break;
		case 'P': rc = parse_num("threads", optarg, 1, THREADS_MAX, &v); c->threads = (unsigned)v; break;
		case 'B': rc = parse_num("batch", optarg, 1, TRP_REQS_MAX, &v); c->batch = (unsigned)v; break;
		case 'H': c->history = optarg; break;
		case 's':
			rc = parse_num("seed", optarg, 0, 1e18, &v);
			c->seed = (uint64_t)v;
			seed_set = true;
			break;
		case 'n': c->no_cksum = true; break;
		case 'j': c->json = true; break;
		case 'q': c->quiet = true; break;
		case 'h': usage(stdout); exit(EXIT_OK);
		default: usage(stderr); return -1;
		}
	}
	if (rc != 0)
		return -1;
	if (optind < argc || c->ntargets == 0) {
		fprintf(stderr, "trireme-load: %s\n", c->ntargets == 0 ? "give --target HOST:PORT"
			: "unexpected argument");
		usage(stderr);
		return -1;
	}
	if (c->history != NULL && c->value_size < HISTORY_VALUE_MIN) {
		if (value_set) {
			fprintf(stderr, "trireme-load: --history needs --value-size %u or more "
				"(unique values)\n", HISTORY_VALUE_MIN);
			return -1;
		}
		c->value_size = HISTORY_VALUE_MIN;
	}
	if (!seed_set)
		c->seed = now_ns() ^ ((uint64_t)getpid() << 32);
	if (c->threads > c->clients)
		c->threads = c->clients;
	return 0;
}

struct run;

/* A thread: its socket and clients first, first + nthreads, ... Its counts
 * and histograms are read by the main thread under lock. */
struct worker {
	struct run *run;
	pthread_t tid;
	unsigned first;
	int fd;
	uint64_t rng;
	pthread_mutex_t lock;
	struct hist total, reads, writes, interval;
	struct counts n;
	uint64_t outstanding;
	uint64_t target_ops[TARGETS_MAX], target_retries[TARGETS_MAX];
	/* Requests waiting for one sendmmsg; replies of one recvmmsg. */
	struct mmsghdr out[BURST], in[BURST];
	struct iovec out_iov[BURST], in_iov[BURST];
	uint8_t (*out_buf)[REQ_MAX], (*in_buf)[REPLY_MAX];
	unsigned nout;
};

struct run {
	struct conf c;
	struct client *cl;
	struct worker *w;
	FILE *hist;
	pthread_mutex_t hist_lock;
	uint64_t id_base;
	uint8_t *pattern;
	uint64_t start, stop_at;
	struct hist total, reads, writes, interval; /* merged */
	struct counts n;
	uint64_t outstanding;
	uint64_t target_ops[TARGETS_MAX], target_retries[TARGETS_MAX];
};

static size_t
make_key(char *buf, uint64_t k)
{
	return (size_t)snprintf(buf, KEY_LEN, "k%" PRIu64, k);
}

/* A set's value, unique per (client, seq): "<client>.<seq>:" then the pattern. */
static const uint8_t *
make_value(struct run *r, const struct client *cl, uint64_t seq, uint8_t *buf)
{
	int n = snprintf((char *)buf, r->c.value_size + 1, "%" PRIu64 ".%" PRIu64 ":", cl->id, seq);

	if (n < 0 || (uint32_t)n > r->c.value_size)
		n = (int)r->c.value_size;
	memcpy(buf + n, r->pattern + n, r->c.value_size - (uint32_t)n);
	return buf;
}

static void
history_line(struct run *r, const struct client *cl, const struct op *o, const struct trp_reply *rep,
	     uint64_t now)
{
	char key[KEY_LEN];
	uint8_t val[TRP_VAL_MAX + 1];
	struct history_op h = {.client = cl->id, .op = o->kind, .key = key, .call = o->call_ns};

	h.key_len = make_key(key, o->key);
	if (o->kind == TRP_SET) {
		h.value = (const char *)make_value(r, cl, o->seq, val);
		h.value_len = r->c.value_size;
	}
	if (o->kind == TRP_GET)
		h.meta = o->read_mode == 0 ? "barrier" : "log";
	if (rep == NULL) {
		history_op_write_call(r->hist, &h); /* errors: ferror at the end */
		return;
	}
	h.done = true;
	h.ret = now;
	h.ok = rep->status == TRP_ST_OK;
	if (h.ok && o->kind == TRP_GET && rep->found) {
		h.out = (const char *)rep->val;
		h.out_len = rep->val_len;
	}
	pthread_mutex_lock(&r->hist_lock);
	history_op_write(r->hist, &h);
	pthread_mutex_unlock(&r->hist_lock);
}

/* Sends the requests waiting in the outbox. A datagram the kernel does not
 * take is lost: the timeout resends it. */
static void
flush_out(struct worker *w)
{
	unsigned done = 0;

	while (done < w->nout) {
		int n = sendmmsg(w->fd, w->out + done, w->nout - done, MSG_DONTWAIT);

		if (n <= 0)
			break;
		done += (unsigned)n;
	}
	w->nout = 0;
}

/* Sends ops[0..n) of cl: up to --batch requests a datagram, within a
 * packet (BATCH_BYTES; a larger request goes alone). */
static void
send_ops(struct worker *w, struct client *cl, struct op **ops, unsigned n, uint64_t now)
{
	struct run *r = w->run;
	unsigned i = 0, retries = 0;

	while (i < n) {
		uint8_t *buf = w->out_buf[w->nout];
		size_t len = TRP_HDR_LEN;
		unsigned count = 0;

		for (; i < n && count < r->c.batch; i++, count++) {
			struct op *o = ops[i];
			uint8_t val[TRP_VAL_MAX + 1];
			char key[KEY_LEN];
			struct trp_req q = {.seq = o->seq, .op = o->kind, .read_mode = o->read_mode,
					    .window = (uint8_t)r->c.window,
					    .key = (const uint8_t *)key};

			q.key_len = (uint16_t)make_key(key, o->key);
			if (o->kind == TRP_SET) {
				q.val = make_value(r, cl, o->seq, val);
				q.val_len = (uint16_t)r->c.value_size;
			}
			if (count > 0 &&
			    len + TRP_REQ_HDR_LEN + q.key_len + q.val_len > BATCH_BYTES)
				break;
			len += trp_put_request(buf + len, &q);
			retries += o->sends > 0;
			o->sends++;
			o->sent_ns = now;
		}
		trp_put_hdr(buf, TRP_MAGIC_REQ, (uint8_t)count, cl->id);
		w->out_iov[w->nout] = (struct iovec){.iov_base = buf, .iov_len = len};
		w->out[w->nout] = (struct mmsghdr){.msg_hdr = {
			.msg_name = &r->c.targets[cl->target].addr,
			.msg_namelen = sizeof(struct sockaddr_in),
			.msg_iov = &w->out_iov[w->nout], .msg_iovlen = 1}};
		if (++w->nout == BURST)
			flush_out(w);
	}
	if (retries > 0) {
		pthread_mutex_lock(&w->lock);
		w->n.retries += retries;
		w->target_retries[cl->target] += retries;
		pthread_mutex_unlock(&w->lock);
	}
}

/* New operations into every free slot: pending lines, one flush, then the
 * sends (a pending line reaches the file before its command leaves). */
static unsigned
fill(struct worker *w, uint64_t now)
{
	struct run *r = w->run;
	struct op *fresh[256];
	struct client *owner[256];
	unsigned n = 0;

	for (unsigned i = w->first; i < r->c.clients && n < 256; i += r->c.threads) {
		struct client *cl = &r->cl[i];

		while (cl->used < r->c.window && n < 256) {
			struct op *o = &cl->ops[cl->next_seq % r->c.window];
			bool read = (double)(splitmix(&w->rng) >> 11) * 0x1p-53 < r->c.read_ratio;

			if (o->seq != 0)
				break; /* the oldest is still out: seqs stay within the window */
			*o = (struct op){.seq = cl->next_seq++, .call_ns = now,
					 .key = splitmix(&w->rng) % r->c.keys,
					 .kind = read ? TRP_GET
						      : (splitmix(&w->rng) % 8 == 0 ? TRP_DEL : TRP_SET),
					 .read_mode = read ? r->c.read_mode : 0};
			cl->used++;
			fresh[n] = o;
			owner[n++] = cl;
		}
	}
	if (n == 0)
		return 0;
	pthread_mutex_lock(&w->lock);
	w->outstanding += n;
	pthread_mutex_unlock(&w->lock);
	if (r->hist != NULL) {
		pthread_mutex_lock(&r->hist_lock);
		for (unsigned i = 0; i < n; i++)
			history_line(r, owner[i], fresh[i], NULL, 0);
		fflush(r->hist);
		pthread_mutex_unlock(&r->hist_lock);
	}
	for (unsigned i = 0, j; i < n; i = j) { /* a client's ops are contiguous */
		for (j = i + 1; j < n && owner[j] == owner[i]; j++)
			;
		send_ops(w, owner[i], fresh + i, j - i, now);
	}
	return n;
}

/* --failover: cl to the next target, at most once per timeout (the answers
 * and timeouts of one outage move it once). */
static void
failover(struct worker *w, struct client *cl, uint64_t now)
{
	struct run *r = w->run;

	if (r->c.ntargets < 2 || now - cl->moved_ns < r->c.timeout_ns)
		return;
	cl->target = (cl->target + 1) % r->c.ntargets;
	cl->moved_ns = now;
	pthread_mutex_lock(&w->lock);
	w->n.failovers++;
	pthread_mutex_unlock(&w->lock);
}

/* One answer of client cl. */
static void
on_answer(struct worker *w, struct client *cl, const struct trp_reply *rp, uint64_t now)
{
	struct run *r = w->run;
	const struct trp_reply rep = *rp;
	struct op *o = &cl->ops[rep.seq % r->c.window];
	uint64_t ns;

	if (o->seq != rep.seq)
		return; /* a late duplicate answer */
	if (rep.status == TRP_ST_STOPPED && r->c.failover > 0 && r->c.ntargets > 1) {
		failover(w, cl, now); /* outcome unknown here: ask another replica */
		o->sent_ns = 0;       /* resent at once (resend_late) */
		return;
	}
	if (rep.status == TRP_ST_BUSY) { /* not submitted: again after the timeout */
		pthread_mutex_lock(&w->lock);
		w->n.busy++;
		pthread_mutex_unlock(&w->lock);
		return;
	}
	ns = now - o->call_ns;
	if (r->hist != NULL)
		history_line(r, cl, o, &rep, now);
	pthread_mutex_lock(&w->lock);
	if (rep.status == TRP_ST_OK) {
		w->n.ops++;
		w->target_ops[cl->target]++;
		hist_add(&w->total, ns);
		hist_add(&w->interval, ns);
		if (o->kind == TRP_GET) {
			w->n.reads++;
			hist_add(&w->reads, ns);
		} else {
			w->n.writes++;
			hist_add(&w->writes, ns);
		}
	} else if (rep.status == TRP_ST_TOO_OLD || rep.status == TRP_ST_STOPPED) {
		w->n.unknown++;
	} else {
		w->n.errors++;
	}
	w->outstanding--;
	pthread_mutex_unlock(&w->lock);
	o->seq = 0;
	cl->used--;
}

static void
on_reply(struct worker *w, const uint8_t *buf, size_t len, uint64_t now)
{
	struct run *r = w->run;
	struct trp_reply reps[TRP_REQS_MAX];
	unsigned n;
	uint64_t idx;

	idx = trp_parse_replies(buf, len, reps, &n) != 0 ? UINT64_MAX : reps[0].client - r->id_base;
	if (idx >= r->c.clients || idx % r->c.threads != w->first) {
		pthread_mutex_lock(&w->lock);
		w->n.bad_replies++;
		pthread_mutex_unlock(&w->lock);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		on_answer(w, &r->cl[idx], &reps[i], now);
}

static unsigned
receive(struct worker *w)
{
	unsigned got = 0;

	for (;;) {
		int n;

		for (unsigned i = 0; i < BURST; i++) {
			w->in_iov[i] = (struct iovec){.iov_base = w->in_buf[i], .iov_len = REPLY_MAX};
			w->in[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &w->in_iov[i],
								.msg_iovlen = 1}};
		}
		n = recvmmsg(w->fd, w->in, BURST, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++)
			on_reply(w, w->in_buf[i], w->in[i].msg_len, now_ns());
		got += (unsigned)n;
		if (n < BURST)
			break;
	}
	return got;
}

static void
resend_late(struct worker *w, uint64_t now)
{
	struct run *r = w->run;

	for (unsigned i = w->first; i < r->c.clients; i += r->c.threads) {
		struct client *cl = &r->cl[i];

		struct op *late[TRP_WINDOW_MAX];
		unsigned n = 0;

		for (unsigned j = 0; cl->used > 0 && j < r->c.window; j++) {
			struct op *o = &cl->ops[j];

			if (o->seq != 0 && now - o->sent_ns >= r->c.timeout_ns)
				late[n++] = o;
		}
		for (unsigned j = 0; j < n && r->c.failover > 0; j++)
			if (late[j]->sends >= r->c.failover) {
				failover(w, cl, now);
				break;
			}
		if (n > 0)
			send_ops(w, cl, late, n, now);
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;

	for (;;) {
		struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
		uint64_t now = now_ns();
		bool running = now < r->stop_at && !stop_now;
		unsigned work;

		if (!running && (w->outstanding == 0 ||
				 now >= r->stop_at + DRAIN_S * 1000000000ull))
			break;
		work = receive(w);
		now = now_ns();
		if (running)
			work += fill(w, now);
		resend_late(w, now);
		flush_out(w);
		if (work == 0)
			(void)poll(&pfd, 1, 1); /* nothing to do: wait for a reply, 1 ms */
	}
	return NULL;
}

/* The workers' counts and histograms into r (interval: since the last call,
 * then reset). */
static void
merge(struct run *r, bool interval_only)
{
	hist_reset(&r->interval);
	if (!interval_only) {
		hist_reset(&r->total);
		hist_reset(&r->reads);
		hist_reset(&r->writes);
		memset(&r->n, 0, sizeof(r->n));
		memset(r->target_ops, 0, sizeof(r->target_ops));
		memset(r->target_retries, 0, sizeof(r->target_retries));
	}
	r->outstanding = 0;
	for (unsigned i = 0; i < r->c.threads; i++) {
		struct worker *w = &r->w[i];

		pthread_mutex_lock(&w->lock);
		hist_merge(&r->interval, &w->interval);
		hist_reset(&w->interval);
		r->outstanding += w->outstanding;
		if (!interval_only) {
			hist_merge(&r->total, &w->total);
			hist_merge(&r->reads, &w->reads);
			hist_merge(&r->writes, &w->writes);
			r->n.ops += w->n.ops;
			r->n.reads += w->n.reads;
			r->n.writes += w->n.writes;
			r->n.retries += w->n.retries;
			r->n.busy += w->n.busy;
			r->n.unknown += w->n.unknown;
			r->n.errors += w->n.errors;
			r->n.bad_replies += w->n.bad_replies;
			r->n.failovers += w->n.failovers;
			for (unsigned t = 0; t < TARGETS_MAX; t++) {
				r->target_ops[t] += w->target_ops[t];
				r->target_retries[t] += w->target_retries[t];
			}
		}
		pthread_mutex_unlock(&w->lock);
	}
}

static uint64_t
ops_so_far(struct run *r)
{
	uint64_t ops = 0;

	for (unsigned i = 0; i < r->c.threads; i++) {
		pthread_mutex_lock(&r->w[i].lock);
		ops += r->w[i].n.ops;
		pthread_mutex_unlock(&r->w[i].lock);
	}
	return ops;
}

static void
print_line(struct run *r, double t, double span, uint64_t ops)
{
	merge(r, true);
	fprintf(stderr, "[%5.1fs] %8.0f ops/s  p50 %7.1f us  p99 %7.1f us  p999 %7.1f us  "
		"out %" PRIu64 "\n", t, span > 0 ? (double)ops / span : 0,
		(double)hist_quantile(&r->interval, 0.5) / 1e3,
		(double)hist_quantile(&r->interval, 0.99) / 1e3,
		(double)hist_quantile(&r->interval, 0.999) / 1e3, r->outstanding);
}

static void
print_summary(struct run *r, double s)
{
	const struct hist *hs[3] = {&r->total, &r->reads, &r->writes};
	const char *pre[3] = {"", "read_", "write_"};

	if (!r->c.json) {
		printf("%" PRIu64 " ops in %.2f s: %.0f ops/s (reads %" PRIu64 ", writes %" PRIu64
		       ", retries %" PRIu64 ", busy %" PRIu64 ", unknown %" PRIu64 ", errors %" PRIu64
		       ", unanswered %" PRIu64 ", failovers %" PRIu64 ")\n", r->n.ops, s,
		       s > 0 ? (double)r->n.ops / s : 0, r->n.reads, r->n.writes, r->n.retries,
		       r->n.busy, r->n.unknown, r->n.errors, r->outstanding, r->n.failovers);
		printf("latency: p50 %.1f us, p99 %.1f us, p999 %.1f us\n",
		       (double)hist_quantile(&r->total, 0.5) / 1e3,
		       (double)hist_quantile(&r->total, 0.99) / 1e3,
		       (double)hist_quantile(&r->total, 0.999) / 1e3);
		for (unsigned i = 0; i < r->c.ntargets; i++)
			printf("target %s: %" PRIu64 " ops, %" PRIu64 " retries\n",
			       r->c.targets[i].name, r->target_ops[i], r->target_retries[i]);
		return;
	}
	printf("{\"ops\":%" PRIu64 ",\"ops_per_s\":%.2f,", r->n.ops,
	       s > 0 ? (double)r->n.ops / s : 0);
	for (unsigned i = 0; i < 3; i++)
		printf("\"%sp50_us\":%.2f,\"%sp99_us\":%.2f,\"%sp999_us\":%.2f,", pre[i],
		       (double)hist_quantile(hs[i], 0.5) / 1e3, pre[i],
		       (double)hist_quantile(hs[i], 0.99) / 1e3, pre[i],
		       (double)hist_quantile(hs[i], 0.999) / 1e3);
	printf("\"reads\":%" PRIu64 ",\"writes\":%" PRIu64 ",\"retries\":%" PRIu64
	       ",\"busy\":%" PRIu64 ",\"unknown\":%" PRIu64 ",\"errors\":%" PRIu64
	       ",\"bad_replies\":%" PRIu64 ",\"unanswered\":%" PRIu64 ",\"failovers\":%" PRIu64
	       ",\"duration_s\":%.3f,"
	       "\"clients\":%u,\"window\":%u,\"threads\":%u,\"batch\":%u,\"value_size\":%u,\"read_ratio\":%g,"
	       "\"targets\":[",
	       r->n.reads, r->n.writes, r->n.retries, r->n.busy, r->n.unknown, r->n.errors,
	       r->n.bad_replies, r->outstanding, r->n.failovers, s, r->c.clients, r->c.window, r->c.threads,
	       r->c.batch,
	       r->c.value_size, r->c.read_ratio);
	for (unsigned i = 0; i < r->c.ntargets; i++)
		printf("%s{\"target\":\"%s\",\"ops\":%" PRIu64 ",\"retries\":%" PRIu64 "}",
		       i > 0 ? "," : "", r->c.targets[i].name, r->target_ops[i],
		       r->target_retries[i]);
	printf("]}\n");
}

static int
setup(struct run *r)
{
	int one = 1, buf = 4 << 20;

	uint64_t seed = r->c.seed;

	/* Ids below 2^62 (a JSON int64 in the history), never 0. */
	r->id_base = (splitmix(&seed) >> 2) % ((UINT64_C(1) << 62) - CLIENTS_MAX) + 1;
	r->cl = calloc(r->c.clients, sizeof(*r->cl));
	r->w = calloc(r->c.threads, sizeof(*r->w));
	r->pattern = malloc(r->c.value_size + 1);
	if (r->cl == NULL || r->w == NULL || r->pattern == NULL)
		return -1;
	for (uint32_t i = 0; i < r->c.value_size; i++)
		r->pattern[i] = (uint8_t)('a' + i % 26);
	for (unsigned i = 0; i < r->c.clients; i++) {
		r->cl[i] = (struct client){.id = r->id_base + i, .target = i % r->c.ntargets,
					   .next_seq = 1};
		r->cl[i].ops = calloc(r->c.window, sizeof(struct op));
		if (r->cl[i].ops == NULL)
			return -1;
	}
	for (unsigned i = 0; i < r->c.threads; i++) {
		struct worker *w = &r->w[i];

		w->run = r;
		w->first = i;
		w->out_buf = malloc(BURST * sizeof(*w->out_buf));
		w->in_buf = malloc(BURST * sizeof(*w->in_buf));
		if (w->out_buf == NULL || w->in_buf == NULL)
			return -1;
		w->rng = splitmix(&seed);
		pthread_mutex_init(&w->lock, NULL);
		hist_reset(&w->total);
		hist_reset(&w->reads);
		hist_reset(&w->writes);
		hist_reset(&w->interval);
		w->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (w->fd < 0) {
			perror("trireme-load: socket");
			return -1;
		}
		setsockopt(w->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		setsockopt(w->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
		if (r->c.no_cksum &&
		    setsockopt(w->fd, SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one)) != 0) {
			perror("trireme-load: SO_NO_CHECK");
			return -1;
		}
	}
	pthread_mutex_init(&r->hist_lock, NULL);
	if (r->c.history != NULL && (r->hist = fopen(r->c.history, "w")) == NULL) {
		fprintf(stderr, "trireme-load: cannot write %s: %s\n", r->c.history, strerror(errno));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct run r;
	uint64_t end, next_line, line_start, line_ops = 0, now;
	int rc = EXIT_OK;

	memset(&r, 0, sizeof(r));
	if (parse_args(argc, argv, &r.c) != 0)
		return EXIT_USAGE;
	if (setup(&r) != 0)
		return EXIT_FAIL;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	r.start = now_ns();
	r.stop_at = r.start + (uint64_t)(r.c.duration_s * 1e9);
	for (unsigned i = 0; i < r.c.threads; i++) {
		if (pthread_create(&r.w[i].tid, NULL, worker_main, &r.w[i]) != 0) {
			fprintf(stderr, "trireme-load: cannot start thread %u\n", i);
			stop_now = 1;
			r.c.threads = i;
			break;
		}
	}
	line_start = r.start;
	next_line = r.start + (uint64_t)(r.c.interval_s * 1e9);
	while ((now = now_ns()) < r.stop_at && !stop_now) {
		if (r.c.interval_s > 0 && !r.c.quiet && now >= next_line) {
			uint64_t ops = ops_so_far(&r);

			print_line(&r, (double)(now - r.start) / 1e9,
				   (double)(now - line_start) / 1e9, ops - line_ops);
			line_ops = ops;
			line_start = now;
			next_line += (uint64_t)(r.c.interval_s * 1e9);
		}
		usleep(10000);
	}
	for (unsigned i = 0; i < r.c.threads; i++)
		pthread_join(r.w[i].tid, NULL);
	end = now_ns();
	if (end > r.stop_at)
		end = r.stop_at; /* ops/s over the load's duration, not the drain */
	merge(&r, false);
	print_summary(&r, (double)(end - r.start) / 1e9);
	if (r.hist != NULL && (fflush(r.hist) != 0 || ferror(r.hist) || fclose(r.hist) != 0)) {
		fprintf(stderr, "trireme-load: writing %s failed\n", r.c.history);
		rc = EXIT_FAIL;
	}
	if (r.n.ops == 0)
		rc = EXIT_FAIL;
	for (unsigned i = 0; i < r.c.clients; i++)
		free(r.cl[i].ops);
	for (unsigned i = 0; i < r.c.threads; i++) {
		close(r.w[i].fd);
		free(r.w[i].out_buf);
		free(r.w[i].in_buf);
	}
	free(r.cl);
	free(r.w);
	free(r.pattern);
	return rc;
}
