/* SPDX-License-Identifier: MIT
 * A closed-loop load on etcd for the side-by-side benchmark (bench/peers.sh):
 * --window keep-alive HTTP/1.1 connections to one member's v3 JSON gateway,
 * each with one PUT /v3/kv/put outstanding at a time (HTTP/1.1 answers a
 * connection's requests in order, so W connections are W outstanding
 * writes). Keys k0 .. k<keys-1> uniform, values of --value-size bytes, as
 * Trireme's launcher writes them. The latency of a put is from its first
 * byte written to its whole answer read. After --warmup s, --duration s
 * are measured; then one JSON line on stdout.
 *
 * Debian packages neither etcd's Go benchmark tool nor a gRPC client for C;
 * the gateway translates JSON to gRPC inside etcd, a cost on the server's
 * CPU that the gRPC benchmark does not pay (bench/peers.sh says so).
 *
 *   etcd-load --endpoint HOST:PORT [--window W] [--duration S] [--warmup S]
 *             [--value-size B] [--keys N] [--seed N]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hist.h"

#define WINDOW_MAX 4096
#define VALUE_MAX 1024
#define BUF_SIZE 16384

struct conn {
	int fd;
	uint64_t t0;
	size_t req_len, req_off;
	size_t in_len;
	char req[4096];
	char in[BUF_SIZE];
};

static struct {
	const char *endpoint;
	unsigned window;
	unsigned value_size;
	unsigned keys;
	double duration_s;
	double warmup_s;
	uint64_t seed;
} cfg = {NULL, 1, 16, 10000, 5.0, 1.0, 1};

static struct sockaddr_in addr;
static char host_header[64];
static uint64_t rng;
static uint64_t seq;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
next_rand(void)
{
	/* splitmix64 */
	uint64_t z = (rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static size_t
base64(char *out, const unsigned char *in, size_t n)
{
	static const char t[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = t[v >> 18];
		out[o++] = t[(v >> 12) & 63];
		out[o++] = t[(v >> 6) & 63];
		out[o++] = t[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);

		out[o++] = t[v >> 18];
		out[o++] = t[(v >> 12) & 63];
		out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* The next PUT: a uniform key, a value that starts with a sequence number. */
static void
make_request(struct conn *c)
{
	unsigned char key[32], value[VALUE_MAX];
	char key64[64], value64[2 * VALUE_MAX], body[3 * VALUE_MAX];
	uint64_t s = ++seq;
	int kn, bn;

	kn = snprintf((char *)key, sizeof(key), "k%u", (unsigned)(next_rand() % cfg.keys));
	memset(value, 'v', cfg.value_size);
	memcpy(value, &s, cfg.value_size < sizeof(s) ? cfg.value_size : sizeof(s));
	base64(key64, key, (size_t)kn);
	base64(value64, value, cfg.value_size);
	bn = snprintf(body, sizeof(body), "{\"key\":\"%s\",\"value\":\"%s\"}", key64, value64);
	c->req_len = (size_t)snprintf(c->req, sizeof(c->req),
				      "POST /v3/kv/put HTTP/1.1\r\nHost: %s\r\n"
				      "Content-Type: application/json\r\n"
				      "Content-Length: %d\r\n\r\n%s",
				      host_header, bn, body);
	c->req_off = 0;
	c->in_len = 0;
}

/* Writes the whole request; -1 on an error. */
static int
send_some(struct conn *c)
{
	while (c->req_off < c->req_len) {
		ssize_t n = write(c->fd, c->req + c->req_off, c->req_len - c->req_off);

		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0)
			c->req_off += (size_t)n;
	}
	return 0;
}

/* 1: a whole answer is in c->in (*ok: status 200 without an error in the
 * body); 0: not yet; -1: malformed. Go's server answers small bodies with a
 * Content-Length; chunked answers are read to their last chunk. */
static int
answer_done(struct conn *c, bool *ok)
{
	char *hdr_end, *p;
	size_t hlen;

	c->in[c->in_len] = '\0';
	hdr_end = strstr(c->in, "\r\n\r\n");
	if (hdr_end == NULL)
		return 0;
	hlen = (size_t)(hdr_end - c->in) + 4;
	p = strcasestr(c->in, "\r\nContent-Length:");
	if (p != NULL && p < hdr_end) {
		size_t blen = strtoul(p + 17, NULL, 10);

		if (c->in_len < hlen + blen)
			return 0;
		if (c->in_len > hlen + blen)
			return -1; /* one request at a time: nothing may follow */
	} else if (strcasestr(c->in, "chunked") != NULL) {
		if (c->in_len < 5 || memcmp(c->in + c->in_len - 5, "0\r\n\r\n", 5) != 0)
			return 0;
	} else {
		return -1;
	}
	*ok = strncmp(c->in, "HTTP/1.1 200", 12) == 0 && strstr(hdr_end, "\"error\"") == NULL;
	return 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: etcd-load --endpoint HOST:PORT [--window W] [--duration S] "
			"[--warmup S] [--value-size B] [--keys N] [--seed N]\n");
	exit(2);
}

/* Blocking writes (a request is far below the socket buffer), reads that
 * do not wait: epoll says which connection has an answer. */
static int
connect_one(int ep, unsigned idx)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		perror("etcd-load: connect");
		exit(3);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ev.data.u32 = idx;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		perror("etcd-load: epoll_ctl");
		exit(3);
	}
	return fd;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"endpoint", required_argument, NULL, 'e'},
		{"window", required_argument, NULL, 'w'},
		{"duration", required_argument, NULL, 't'},
		{"warmup", required_argument, NULL, 'u'},
		{"value-size", required_argument, NULL, 'v'},
		{"keys", required_argument, NULL, 'k'},
		{"seed", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	static struct conn conns[WINDOW_MAX];
	static struct epoll_event evs[256];
	static struct hist hist;
	uint64_t commits = 0, errors = 0, t_start, t_stop, t;
	unsigned i, port, active;
	char host[32];
	int c, ep;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'e': cfg.endpoint = optarg; break;
		case 'w': cfg.window = (unsigned)strtoul(optarg, NULL, 0); break;
		case 't': cfg.duration_s = strtod(optarg, NULL); break;
		case 'u': cfg.warmup_s = strtod(optarg, NULL); break;
		case 'v': cfg.value_size = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'k': cfg.keys = (unsigned)strtoul(optarg, NULL, 0); break;
		case 's': cfg.seed = strtoull(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (cfg.endpoint == NULL || optind != argc || cfg.window < 1 ||
	    cfg.window > WINDOW_MAX || cfg.value_size < 1 || cfg.value_size > VALUE_MAX ||
	    cfg.keys < 1 || !(cfg.duration_s > 0) || cfg.warmup_s < 0 ||
	    sscanf(cfg.endpoint, "%31[^:]:%u", host, &port) != 2 || port > 65535)
		usage();
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
		usage();
	snprintf(host_header, sizeof(host_header), "%s", cfg.endpoint);
	rng = cfg.seed;
	ep = epoll_create1(0);
	if (ep < 0) {
		perror("etcd-load: epoll_create1");
		return 3;
	}
	for (i = 0; i < cfg.window; i++)
		conns[i].fd = connect_one(ep, i);
	t = now_ns();
	t_start = t + (uint64_t)(cfg.warmup_s * 1e9);
	t_stop = t_start + (uint64_t)(cfg.duration_s * 1e9);
	hist_reset(&hist);
		for (i = 0; i < cfg.window; i++) {
		make_request(&conns[i]);
		conns[i].t0 = now_ns();
		if (send_some(&conns[i]) != 0) {
			perror("etcd-load: write");
			return 3;
		}
	}
	active = cfg.window;
	while (active > 0) {
		int n = epoll_wait(ep, evs, 256, 1000);

		if (n < 0 && errno != EINTR) {
			perror("etcd-load: epoll_wait");
			return 3;
		}
		for (int k = 0; k < n; k++) {
			struct conn *cn = &conns[evs[k].data.u32];
			bool ok = false;
			ssize_t r;
			int done;

			r = recv(cn->fd, cn->in + cn->in_len, sizeof(cn->in) - 1 - cn->in_len,
				 MSG_DONTWAIT);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0) {
				fprintf(stderr, "etcd-load: the server closed a connection\n");
				return 3;
			}
			cn->in_len += (size_t)r;
			done = answer_done(cn, &ok);
			if (done < 0 || (done == 0 && cn->in_len >= sizeof(cn->in) - 1)) {
				fprintf(stderr, "etcd-load: an answer not understood: %.200s\n",
					cn->in);
				return 3;
			}
			if (done == 0)
				continue;
			t = now_ns();
			if (!ok) {
				if (errors++ == 0)
					fprintf(stderr, "etcd-load: first error: %.300s\n", cn->in);
			} else if (t >= t_start && t < t_stop) {
				commits++;
				hist_add(&hist, t - cn->t0);
			}
			if (t >= t_stop) {
				active--;
				continue;
			}
			make_request(cn);
			cn->t0 = t;
			if (send_some(cn) != 0) {
				perror("etcd-load: write");
				return 3;
			}
		}
	}
	printf("{\"system\":\"etcd\",\"endpoint\":\"%s\",\"window\":%u,\"value_size\":%u,"
	       "\"keys\":%u,\"duration_s\":%.3f,\"warmup_s\":%.3f,\"commits\":%" PRIu64 ","
	       "\"commits_per_s\":%.1f,\"p50_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,"
	       "\"max_us\":%.2f,\"errors\":%" PRIu64 "}\n",
	       cfg.endpoint, cfg.window, cfg.value_size, cfg.keys, cfg.duration_s, cfg.warmup_s,
	       commits, (double)commits / cfg.duration_s, hist_quantile(&hist, 0.5) / 1e3,
	       hist_quantile(&hist, 0.99) / 1e3, hist_quantile(&hist, 0.999) / 1e3,
	       hist.max_ns / 1e3, errors);
	return errors && commits == 0 ? 1 : 0;
}
