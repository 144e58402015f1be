/* SPDX-License-Identifier: MIT
 * A closed-loop load on etcd for the side-by-side benchmark (bench/peers.sh):
 * --window puts outstanding at all times on one member, keys k0 .. k<keys-1>
 * uniform, values of --value-size bytes, as Trireme's launcher writes them.
 * The latency of a put is from its request written to its whole answer
 * read. After --warmup s, --duration s are measured; then one JSON line.
 *
 * Debian packages neither etcd's Go benchmark tool nor a gRPC library for
 * C, so this speaks the wire itself, two ways (--api):
 * - grpc (the default; what etcd's clients and its benchmark tool use):
 *   etcdserverpb.KV/Put over HTTP/2 without TLS (h2c, prior knowledge),
 *   --window concurrent streams on one connection. Only what a unary call
 *   needs: HPACK literals on the way out (no Huffman, no dynamic table),
 *   answers told apart by their frames: a DATA frame and then the end of
 *   the stream is a PutResponse, a stream that ends without DATA (gRPC's
 *   trailers-only error) or is reset is an error. Receive windows are opened
 *   wide at the start; the send window is honoured.
 * - http: the v3 JSON gateway, POST /v3/kv/put on --window keep-alive
 *   HTTP/1.1 connections, one request outstanding on each. The gateway
 *   turns JSON into a gRPC call inside etcd: a cost on the servers' CPU.
 *
 *   etcd-load --endpoint HOST:PORT [--api grpc|http] [--window W]
 *             [--duration S] [--warmup S] [--value-size B] [--keys N] [--seed N]
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
#define BUF_SIZE 65536

static struct {
	const char *endpoint;
	bool http;
	unsigned window;
	unsigned value_size;
	unsigned keys;
	double duration_s;
	double warmup_s;
	uint64_t seed;
} cfg = {NULL, false, 1, 16, 10000, 5.0, 1.0, 1};

static struct sockaddr_in addr;
static uint64_t rng;
static uint64_t seq;

/* The measurement, shared by both transports. */
static struct {
	uint64_t t_start, t_stop;
	uint64_t commits, errors;
	unsigned active; /* slots still sending */
	struct hist hist;
} m;

/* One outstanding put: a connection (http) or a stream (grpc). */
struct slot {
	int fd;          /* http */
	uint32_t stream; /* grpc: 0 when idle */
	bool got_data;   /* grpc */
	uint64_t t0;
	size_t in_len;   /* http */
	char in[4096];   /* http */
};

static struct slot slots[WINDOW_MAX];

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

/* The next key and value: a uniform key, a value that starts with a
 * sequence number. Returns the key's length. */
static size_t
next_kv(char key[32], unsigned char value[VALUE_MAX])
{
	uint64_t s = ++seq;
	int kn = snprintf(key, 32, "k%u", (unsigned)(next_rand() % cfg.keys));

	memset(value, 'v', cfg.value_size);
	memcpy(value, &s, cfg.value_size < sizeof(s) ? cfg.value_size : sizeof(s));
	return (size_t)kn;
}

static void
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("etcd-load: write");
			exit(3);
		}
		p += n;
		len -= (size_t)n;
	}
}

/* Blocking writes (a request is far below the socket buffer), reads that
 * do not wait: epoll says which socket has an answer. */
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

/* A put has answered at time t; true when its slot should send again. */
static bool
completed(struct slot *s, bool ok, uint64_t t, const char *what)
{
	if (!ok) {
		if (m.errors++ == 0)
			fprintf(stderr, "etcd-load: first error: %.300s\n", what);
	} else if (t >= m.t_start && t < m.t_stop) {
		m.commits++;
		hist_add(&m.hist, t - s->t0);
	}
	if (t >= m.t_stop) {
		m.active--;
		return false;
	}
	return true;
}

/* ---- HTTP/1.1 and the JSON gateway ---------------------------------- */

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

static void
http_send(struct slot *s)
{
	char key[32], key64[64], value64[2 * VALUE_MAX], body[3 * VALUE_MAX];
	char req[4 * VALUE_MAX];
	unsigned char value[VALUE_MAX];
	size_t kn = next_kv(key, value);
	int bn, rn;

	base64(key64, (unsigned char *)key, kn);
	base64(value64, value, cfg.value_size);
	bn = snprintf(body, sizeof(body), "{\"key\":\"%s\",\"value\":\"%s\"}", key64, value64);
	rn = snprintf(req, sizeof(req),
		      "POST /v3/kv/put HTTP/1.1\r\nHost: %s\r\n"
		      "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		      cfg.endpoint, bn, body);
	s->in_len = 0;
	s->t0 = now_ns();
	write_all(s->fd, req, (size_t)rn);
}

/* 1: a whole answer is in s->in (*ok: status 200 without an error in the
 * body); 0: not yet; -1: malformed. Go's server answers small bodies with a
 * Content-Length; chunked answers (errors) are read to their last chunk. */
static int
http_answer(struct slot *s, bool *ok)
{
	char *hdr_end, *p;
	size_t hlen;

	s->in[s->in_len] = '\0';
	hdr_end = strstr(s->in, "\r\n\r\n");
	if (hdr_end == NULL)
		return 0;
	hlen = (size_t)(hdr_end - s->in) + 4;
	p = strcasestr(s->in, "\r\nContent-Length:");
	if (p != NULL && p < hdr_end) {
		size_t blen = strtoul(p + 17, NULL, 10);

		if (s->in_len < hlen + blen)
			return 0;
		if (s->in_len > hlen + blen)
			return -1; /* one request at a time: nothing may follow */
	} else if (strcasestr(s->in, "chunked") != NULL) {
		/* The last chunk, trailers (gRPC's, on an error) and a blank line. */
		p = strstr(hdr_end + 2, "\r\n0\r\n");
		if (p == NULL || (p = strstr(p + 3, "\r\n\r\n")) == NULL)
			return 0;
		if (p + 4 != s->in + s->in_len)
			return -1;
	} else {
		return -1;
	}
	*ok = strncmp(s->in, "HTTP/1.1 200", 12) == 0 && strstr(hdr_end, "\"error\"") == NULL;
	return 1;
}

static void
http_run(int ep)
{
	static struct epoll_event evs[256];
	unsigned i;

	for (i = 0; i < cfg.window; i++)
		slots[i].fd = connect_one(ep, i);
	for (i = 0; i < cfg.window; i++)
		http_send(&slots[i]);
	while (m.active > 0) {
		int n = epoll_wait(ep, evs, 256, 1000);

		for (int k = 0; k < n; k++) {
			struct slot *s = &slots[evs[k].data.u32];
			bool ok = false;
			ssize_t r;
			int done;

			r = recv(s->fd, s->in + s->in_len, sizeof(s->in) - 1 - s->in_len,
				 MSG_DONTWAIT);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0) {
				fprintf(stderr, "etcd-load: the server closed a connection\n");
				exit(3);
			}
			s->in_len += (size_t)r;
			done = http_answer(s, &ok);
			if (done < 0 || (done == 0 && s->in_len >= sizeof(s->in) - 1)) {
				fprintf(stderr, "etcd-load: an answer not understood: %.200s\n",
					s->in);
				exit(3);
			}
			if (done == 1 && completed(s, ok, now_ns(), s->in))
				http_send(s);
		}
	}
}

/* ---- gRPC over HTTP/2 (h2c) ----------------------------------------- */

enum { H2_DATA = 0, H2_HEADERS = 1, H2_RST_STREAM = 3, H2_SETTINGS = 4, H2_PING = 6,
       H2_GOAWAY = 7, H2_WINDOW_UPDATE = 8 };
enum { H2_END_STREAM = 0x1, H2_ACK = 0x1, H2_END_HEADERS = 0x4 };

static struct {
	int fd;
	uint32_t next_stream;
	int64_t send_window;         /* the connection's, from the server */
	unsigned pending[WINDOW_MAX]; /* slots waiting for send window */
	unsigned n_pending;
	size_t in_len;
	unsigned char in[BUF_SIZE];
} h2;

static size_t
h2_frame(unsigned char *p, size_t len, unsigned type, unsigned flags, uint32_t stream)
{
	p[0] = (unsigned char)(len >> 16);
	p[1] = (unsigned char)(len >> 8);
	p[2] = (unsigned char)len;
	p[3] = (unsigned char)type;
	p[4] = (unsigned char)flags;
	p[5] = (unsigned char)(stream >> 24);
	p[6] = (unsigned char)(stream >> 16);
	p[7] = (unsigned char)(stream >> 8);
	p[8] = (unsigned char)stream;
	return 9;
}

/* An HPACK string literal, no Huffman; lengths below 127. */
static size_t
hpack_str(unsigned char *p, const char *s)
{
	size_t n = strlen(s);

	p[0] = (unsigned char)n;
	memcpy(p + 1, s, n);
	return n + 1;
}

static size_t
varint(unsigned char *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	return n;
}

/* The DATA payload of a call: gRPC's 5-byte prefix and a PutRequest
 * {1: key, 2: value}. */
static size_t
grpc_put_message(unsigned char *p)
{
	char key[32];
	unsigned char value[VALUE_MAX], *q = p + 5;
	size_t kn = next_kv(key, value), len;

	*q++ = 0x0a;
	q += varint(q, kn);
	memcpy(q, key, kn);
	q += kn;
	*q++ = 0x12;
	q += varint(q, cfg.value_size);
	memcpy(q, value, cfg.value_size);
	q += cfg.value_size;
	len = (size_t)(q - p) - 5;
	p[0] = 0;
	p[1] = (unsigned char)(len >> 24);
	p[2] = (unsigned char)(len >> 16);
	p[3] = (unsigned char)(len >> 8);
	p[4] = (unsigned char)len;
	return len + 5;
}

/* One Put on a new stream: HEADERS, then DATA with END_STREAM, in one
 * write. Waits in h2.pending while the send window is short. */
static void
grpc_send(unsigned idx)
{
	unsigned char buf[2 * VALUE_MAX + 512], msg[VALUE_MAX + 64];
	struct slot *s = &slots[idx];
	size_t n = 9, hl, ml = grpc_put_message(msg);

	if (h2.send_window < (int64_t)ml) {
		h2.pending[h2.n_pending++] = idx;
		return;
	}
	h2.send_window -= (int64_t)ml;
	s->stream = h2.next_stream;
	h2.next_stream += 2;
	s->got_data = false;
	buf[n++] = 0x83; /* :method POST (static 3) */
	buf[n++] = 0x86; /* :scheme http (static 6) */
	buf[n++] = 0x04; /* :path (static 4), literal without indexing */
	n += hpack_str(buf + n, "/etcdserverpb.KV/Put");
	buf[n++] = 0x01; /* :authority (static 1) */
	n += hpack_str(buf + n, cfg.endpoint);
	buf[n++] = 0x0f; /* content-type (static 31 = 15 + 16) */
	buf[n++] = 0x10;
	n += hpack_str(buf + n, "application/grpc");
	buf[n++] = 0x00; /* a new name */
	n += hpack_str(buf + n, "te");
	n += hpack_str(buf + n, "trailers");
	hl = n - 9;
	h2_frame(buf, hl, H2_HEADERS, H2_END_HEADERS, s->stream);
	n += h2_frame(buf + n, ml, H2_DATA, H2_END_STREAM, s->stream);
	memcpy(buf + n, msg, ml);
	n += ml;
	s->t0 = now_ns();
	write_all(h2.fd, buf, n);
}

static struct slot *
grpc_slot(uint32_t stream, unsigned *idx)
{
	unsigned i;

	for (i = 0; i < cfg.window; i++)
		if (slots[i].stream == stream) {
			*idx = i;
			return &slots[i];
		}
	return NULL;
}

static void
grpc_frame(unsigned type, unsigned flags, uint32_t stream, const unsigned char *p,
	   size_t len)
{
	unsigned char out[32];
	struct slot *s;
	unsigned idx;

	switch (type) {
	case H2_SETTINGS:
		if (!(flags & H2_ACK)) {
			h2_frame(out, 0, H2_SETTINGS, H2_ACK, 0);
			write_all(h2.fd, out, 9);
		}
		return;
	case H2_PING:
		if (!(flags & H2_ACK) && len == 8) {
			h2_frame(out, 8, H2_PING, H2_ACK, 0);
			memcpy(out + 9, p, 8);
			write_all(h2.fd, out, 17);
		}
		return;
	case H2_WINDOW_UPDATE:
		if (stream == 0 && len == 4) {
			h2.send_window += (int64_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
						    (uint32_t)p[2] << 8 | p[3]) & 0x7fffffff;
			unsigned n = h2.n_pending, i;

			h2.n_pending = 0; /* those still short of window queue again */
			for (i = 0; i < n; i++)
				grpc_send(h2.pending[i]);
		}
		return;
	case H2_GOAWAY:
		fprintf(stderr, "etcd-load: the server sent GOAWAY\n");
		exit(3);
	case H2_DATA:
	case H2_HEADERS:
	case H2_RST_STREAM:
		break;
	default:
		return;
	}
	s = grpc_slot(stream, &idx);
	if (s == NULL)
		return;
	if (type == H2_DATA && len > 5)
		s->got_data = true;
	if (type == H2_RST_STREAM || (flags & H2_END_STREAM)) {
		bool ok = type != H2_RST_STREAM && s->got_data;

		s->stream = 0;
		if (completed(s, ok, now_ns(),
			      type == H2_RST_STREAM ? "stream reset" : "a call without answer"))
			grpc_send(idx);
	}
}

static void
grpc_run(int ep)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	static struct epoll_event evs[4];
	unsigned char start[64];
	size_t n = 0;
	unsigned i;

	h2.fd = connect_one(ep, 0);
	h2.next_stream = 1;
	h2.send_window = 65535;
	memcpy(start, preface, sizeof(preface) - 1);
	n = sizeof(preface) - 1;
	/* SETTINGS: INITIAL_WINDOW_SIZE 2^31 - 1 for our streams... */
	n += h2_frame(start + n, 6, H2_SETTINGS, 0, 0);
	memcpy(start + n, "\x00\x04\x7f\xff\xff\xff", 6);
	n += 6;
	/* ... and the connection's window opened as wide. */
	n += h2_frame(start + n, 4, H2_WINDOW_UPDATE, 0, 0);
	memcpy(start + n, "\x7f\xff\x00\x00", 4);
	n += 4;
	write_all(h2.fd, start, n);
	for (i = 0; i < cfg.window; i++)
		grpc_send(i);
	while (m.active > 0) {
		int k = epoll_wait(ep, evs, 4, 1000);
		ssize_t r;
		size_t off = 0;

		if (k <= 0)
			continue;
		r = recv(h2.fd, h2.in + h2.in_len, sizeof(h2.in) - h2.in_len, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0) {
			fprintf(stderr, "etcd-load: the server closed the connection\n");
			exit(3);
		}
		h2.in_len += (size_t)r;
		while (h2.in_len - off >= 9) {
			const unsigned char *f = h2.in + off;
			size_t len = (size_t)f[0] << 16 | (size_t)f[1] << 8 | f[2];
			uint32_t stream = ((uint32_t)f[5] << 24 | (uint32_t)f[6] << 16 |
					   (uint32_t)f[7] << 8 | f[8]) & 0x7fffffff;

			if (len + 9 > sizeof(h2.in)) {
				fprintf(stderr, "etcd-load: a frame of %zu bytes\n", len);
				exit(3);
			}
			if (h2.in_len - off < len + 9)
				break;
			grpc_frame(f[3], f[4], stream, f + 9, len);
			off += len + 9;
		}
		memmove(h2.in, h2.in + off, h2.in_len - off);
		h2.in_len -= off;
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: etcd-load --endpoint HOST:PORT [--api grpc|http] [--window W] "
			"[--duration S] [--warmup S] [--value-size B] [--keys N] [--seed N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"endpoint", required_argument, NULL, 'e'},
		{"api", required_argument, NULL, 'a'},
		{"window", required_argument, NULL, 'w'},
		{"duration", required_argument, NULL, 't'},
		{"warmup", required_argument, NULL, 'u'},
		{"value-size", required_argument, NULL, 'v'},
		{"keys", required_argument, NULL, 'k'},
		{"seed", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	unsigned port = 0;
	char host[32];
	uint64_t t;
	int c, ep;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'e': cfg.endpoint = optarg; break;
		case 'a':
			if (strcmp(optarg, "http") != 0 && strcmp(optarg, "grpc") != 0)
				usage();
			cfg.http = strcmp(optarg, "http") == 0;
			break;
		case 'w': cfg.window = (unsigned)strtoul(optarg, NULL, 0); break;
		case 't': cfg.duration_s = strtod(optarg, NULL); break;
		case 'u': cfg.warmup_s = strtod(optarg, NULL); break;
		case 'v': cfg.value_size = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'k': cfg.keys = (unsigned)strtoul(optarg, NULL, 0); break;
		case 's': cfg.seed = strtoull(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (cfg.endpoint == NULL || optind != argc || strlen(cfg.endpoint) > 100 ||
	    cfg.window < 1 || cfg.window > WINDOW_MAX || cfg.value_size < 1 ||
	    cfg.value_size > VALUE_MAX || cfg.keys < 1 || !(cfg.duration_s > 0) ||
	    cfg.warmup_s < 0 || sscanf(cfg.endpoint, "%31[^:]:%u", host, &port) != 2 ||
	    port > 65535)
		usage();
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
		usage();
	rng = cfg.seed;
	ep = epoll_create1(0);
	if (ep < 0) {
		perror("etcd-load: epoll_create1");
		return 3;
	}
	t = now_ns();
	m.t_start = t + (uint64_t)(cfg.warmup_s * 1e9);
	m.t_stop = m.t_start + (uint64_t)(cfg.duration_s * 1e9);
	m.active = cfg.window;
	hist_reset(&m.hist);
	if (cfg.http)
		http_run(ep);
	else
		grpc_run(ep);
	printf("{\"system\":\"etcd\",\"api\":\"%s\",\"endpoint\":\"%s\",\"window\":%u,"
	       "\"value_size\":%u,\"keys\":%u,\"duration_s\":%.3f,\"warmup_s\":%.3f,"
	       "\"commits\":%" PRIu64 ",\"commits_per_s\":%.1f,\"p50_us\":%.2f,"
	       "\"p99_us\":%.2f,\"p999_us\":%.2f,\"max_us\":%.2f,\"errors\":%" PRIu64 "}\n",
	       cfg.http ? "http" : "grpc", cfg.endpoint, cfg.window, cfg.value_size, cfg.keys,
	       cfg.duration_s, cfg.warmup_s, m.commits, (double)m.commits / cfg.duration_s,
	       hist_quantile(&m.hist, 0.5) / 1e3, hist_quantile(&m.hist, 0.99) / 1e3,
	       hist_quantile(&m.hist, 0.999) / 1e3, m.hist.max_ns / 1e3, m.errors);
	return m.errors && m.commits == 0 ? 1 : 0;
}
