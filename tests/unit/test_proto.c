/* SPDX-License-Identifier: MIT
 * The remote client protocol's codec (include/trireme_proto.h): round trips,
 * every drop reason, and seeded random corruption (never a read outside the
 * datagram; whatever parses re-encodes to the same bytes).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prop_rng.h"
#include "trireme_proto.h"

#define BUF_BYTES (TRP_HDR_LEN + TRP_REQS_MAX * (TRP_REQ_HDR_LEN + 64))

static const uint8_t key_bytes[64] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!";

/* A valid datagram of n random requests; returns its length. */
static size_t
make_datagram(uint8_t *buf, unsigned n, struct trp_req *reqs)
{
	size_t len = TRP_HDR_LEN;

	trp_put_hdr(buf, TRP_MAGIC_REQ, (uint8_t)n, 0x1122334455667788ull);
	for (unsigned i = 0; i < n; i++) {
		struct trp_req *q = &reqs[i];

		q->seq = 1 + next() % 1000;
		q->op = (uint8_t)(1 + next() % 3);
		q->read_mode = q->op == TRP_GET ? (uint8_t)(next() % 3) : 0;
		q->window = (uint8_t)(1 + next() % TRP_WINDOW_MAX);
		q->key_len = (uint16_t)(next() % 17);
		q->val_len = q->op == TRP_SET ? (uint16_t)(next() % 33) : 0;
		q->key = key_bytes;
		q->val = key_bytes + 17;
		len += trp_put_request(buf + len, q);
	}
	return len;
}

/* The parse of a copy of exactly len bytes (a read past it is a heap overflow
 * that ASan reports). */
static int
parse_exact(const uint8_t *buf, size_t len, uint64_t *client, struct trp_req *reqs, unsigned *n)
{
	uint8_t *copy = malloc(len > 0 ? len : 1);
	int rc;

	cr_assert_not_null(copy);
	memcpy(copy, buf, len);
	rc = trp_parse_request(copy, len, client, reqs, n);
	/* OK: the requests point inside the copy; check them before it goes. */
	for (unsigned i = 0; rc == TRP_OK && i < *n; i++) {
		cr_assert(reqs[i].key >= copy && reqs[i].key + reqs[i].key_len <= copy + len);
		cr_assert(reqs[i].val >= copy && reqs[i].val + reqs[i].val_len <= copy + len);
	}
	free(copy);
	return rc;
}

Test(proto, round_trip)
{
	uint8_t buf[BUF_BYTES];
	struct trp_req in[TRP_REQS_MAX], out[TRP_REQS_MAX];
	uint64_t client;
	unsigned n;

	rng = 1;
	for (unsigned count = 1; count <= TRP_REQS_MAX; count++) {
		size_t len = make_datagram(buf, count, in);

		cr_assert_eq(trp_parse_request(buf, len, &client, out, &n), TRP_OK);
		cr_assert_eq(n, count);
		cr_assert_eq(client, 0x1122334455667788ull);
		for (unsigned i = 0; i < n; i++) {
			cr_assert_eq(out[i].seq, in[i].seq);
			cr_assert_eq(out[i].op, in[i].op);
			cr_assert_eq(out[i].read_mode, in[i].read_mode);
			cr_assert_eq(out[i].window, in[i].window);
			cr_assert_eq(out[i].key_len, in[i].key_len);
			cr_assert_eq(out[i].val_len, in[i].val_len);
			cr_assert_arr_eq(out[i].key, in[i].key, in[i].key_len);
			cr_assert_arr_eq(out[i].val, in[i].val, in[i].val_len);
		}
	}
}

/* One request: set "k" = "v" at seq 9, window 4; then one field broken. */
static size_t
one(uint8_t *buf)
{
	struct trp_req q = {.seq = 9, .op = TRP_SET, .window = 4, .key = (const uint8_t *)"k",
			    .key_len = 1, .val = (const uint8_t *)"v", .val_len = 1};

	trp_put_hdr(buf, TRP_MAGIC_REQ, 1, 5);
	return TRP_HDR_LEN + trp_put_request(buf + TRP_HDR_LEN, &q);
}

Test(proto, every_drop_reason)
{
	uint8_t buf[BUF_BYTES];
	struct trp_req reqs[TRP_REQS_MAX];
	uint64_t client = 77;
	unsigned n = 77;
	size_t len;
	const size_t r0 = TRP_HDR_LEN; /* the request */
	struct {
		size_t off;      /* byte to set */
		uint8_t val;
		int len_delta;   /* applied to the length after the byte */
		int want;
	} cases[] = {
		{0, 0x54, -(int)(TRP_HDR_LEN + TRP_REQ_HDR_LEN + 2) + TRP_HDR_LEN - 1,
		 TRP_DROP_TOO_SHORT},
		{0, 0x55, 0, TRP_DROP_BAD_MAGIC},
		{1, 0x52, 0, TRP_DROP_BAD_MAGIC},
		{2, 2, 0, TRP_DROP_BAD_VERSION},
		{3, 0, 0, TRP_DROP_BAD_COUNT},
		{3, TRP_REQS_MAX + 1, 0, TRP_DROP_BAD_COUNT},
		{3, 2, 0, TRP_DROP_TRUNCATED},
		{5, 1, 0, TRP_DROP_BAD_RESERVED},
		{r0 + 11, 1, 0, TRP_DROP_BAD_RESERVED},
		{r0, 9, -(int)(TRP_REQ_HDR_LEN + 2) + 3, TRP_DROP_TRUNCATED},
		{r0 + 8, 0, 0, TRP_DROP_BAD_OP},
		{r0 + 8, 4, 0, TRP_DROP_BAD_OP},
		{r0 + 9, 1, 0, TRP_DROP_BAD_READ_MODE},
		{r0 + 10, 0, 0, TRP_DROP_BAD_WINDOW},
		{r0 + 10, TRP_WINDOW_MAX + 1, 0, TRP_DROP_BAD_WINDOW},
		{r0 + 13, 0x04, 0, TRP_DROP_KEY_TOO_LONG},   /* 1025 */
		{r0 + 15, 0x10, 0, TRP_DROP_BAD_VAL_LEN},    /* 4097 */
		{r0 + 12, 3, 0, TRP_DROP_TRUNCATED},
		{r0 + 14, 2, 0, TRP_DROP_TRUNCATED},
		{r0 + 14, 0, 0, TRP_DROP_TRAILING},
		{r0 + 2, 0, 1, TRP_DROP_TRAILING},
	};

	memset(buf, 0, sizeof(buf));
	len = one(buf);
	cr_assert_eq(trp_parse_request(buf, len, &client, reqs, &n), TRP_OK);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t l;

		len = one(buf);
		buf[cases[i].off] = cases[i].val;
		if (cases[i].off == r0 + 13 || cases[i].off == r0 + 15)
			buf[cases[i].off - 1] = 1;
		l = (size_t)((int)len + cases[i].len_delta);
		client = 77;
		n = 77;
		cr_assert_eq(parse_exact(buf, l, &client, reqs, &n), cases[i].want,
			     "case %u: %s, want %s", i,
			     trp_drop_name(trp_parse_request(buf, l, &client, reqs, &n)),
			     trp_drop_name(cases[i].want));
		cr_assert_eq(client, 77, "a dropped datagram leaves the outputs alone");
		cr_assert_eq(n, 77);
	}
	/* Client id 0, seq 0; a value on a get; a read mode past local. */
	len = one(buf);
	memset(buf + 8, 0, 8);
	cr_assert_eq(trp_parse_request(buf, len, &client, reqs, &n), TRP_DROP_ZERO_CLIENT);
	len = one(buf);
	memset(buf + r0, 0, 8);
	cr_assert_eq(trp_parse_request(buf, len, &client, reqs, &n), TRP_DROP_ZERO_SEQ);
	len = one(buf);
	buf[r0 + 8] = TRP_GET;
	cr_assert_eq(trp_parse_request(buf, len, &client, reqs, &n), TRP_DROP_BAD_VAL_LEN);
	buf[r0 + 9] = 3;
	cr_assert_eq(trp_parse_request(buf, len, &client, reqs, &n), TRP_DROP_BAD_READ_MODE);
	for (size_t l = 0; l < len; l++) /* every prefix is refused */
		cr_assert_neq(parse_exact(buf, l, &client, reqs, &n), TRP_OK);
	for (int d = 1; d < TRP_DROP_COUNT; d++)
		cr_assert_str_neq(trp_drop_name(d), "unknown");
}

/* Random corruption: flips, truncation, extension. Never a crash or a read
 * outside the datagram; what parses is canonical (re-encodes to itself). */
Test(proto, corruption_property)
{
	uint8_t buf[BUF_BYTES + 64], again[BUF_BYTES + 64];
	struct trp_req in[TRP_REQS_MAX], out[TRP_REQS_MAX];
	unsigned long ok = 0, dropped[TRP_DROP_COUNT] = {0};

	rng = 20261206;
	memset(buf, 0, sizeof(buf));
	for (unsigned iter = 0; iter < 200000; iter++) {
		size_t len = make_datagram(buf, 1 + (unsigned)(next() % 4), in), l2;
		unsigned flips = (unsigned)(next() % 4), n;
		uint64_t client;
		int rc;

		for (unsigned f = 0; f < flips; f++)
			buf[next() % len] ^= (uint8_t)(1u << (next() % 8));
		switch (next() % 4) {
		case 0: len = next() % (len + 1); break;
		case 1: buf[len] = (uint8_t)next(); len += 1 + next() % 2; break;
		default: break;
		}
		rc = parse_exact(buf, len, &client, out, &n);
		cr_assert(rc >= TRP_OK && rc < TRP_DROP_COUNT);
		if (rc != TRP_OK) {
			dropped[rc]++;
			continue;
		}
		ok++;
		trp_put_hdr(again, TRP_MAGIC_REQ, (uint8_t)n, client);
		l2 = TRP_HDR_LEN;
		/* out[] points into buf (parse_exact's copy is gone; buf is the same). */
		cr_assert_eq(trp_parse_request(buf, len, &client, out, &n), TRP_OK);
		for (unsigned i = 0; i < n; i++)
			l2 += trp_put_request(again + l2, &out[i]);
		cr_assert_eq(l2, len);
		cr_assert_arr_eq(again, buf, len);
	}
	cr_assert_gt(ok, 1000);
	cr_assert_gt(dropped[TRP_DROP_TRUNCATED] + dropped[TRP_DROP_TRAILING], 1000);
}

Test(proto, replies_round_trip_and_malformed)
{
	uint8_t buf[TRP_HDR_LEN + 3 * (TRP_REPLY_HDR_LEN + 8)];
	const struct trp_reply in[3] = {
		{.seq = 99, .status = TRP_ST_OK, .found = true, .val_len = 5,
		 .val = (const uint8_t *)"hello"},
		{.seq = 100, .status = TRP_ST_BUSY},
		{.seq = 7, .status = TRP_ST_OK, .found = false},
	};
	struct trp_reply out[TRP_REQS_MAX];
	unsigned n = 0;
	size_t len = TRP_HDR_LEN;

	trp_put_hdr(buf, TRP_MAGIC_REPLY, 3, 42);
	for (unsigned i = 0; i < 3; i++)
		len += trp_put_reply(buf + len, &in[i]);
	cr_assert_eq(len, TRP_HDR_LEN + 3 * TRP_REPLY_HDR_LEN + 5);
	cr_assert_eq(trp_parse_replies(buf, len, out, &n), 0);
	cr_assert_eq(n, 3);
	for (unsigned i = 0; i < 3; i++) {
		cr_assert_eq(out[i].client, 42);
		cr_assert_eq(out[i].seq, in[i].seq);
		cr_assert_eq(out[i].status, in[i].status);
		cr_assert_eq(out[i].found, in[i].found);
		cr_assert_eq(out[i].val_len, in[i].val_len);
	}
	cr_assert_arr_eq(out[0].val, "hello", 5);
	/* One datagram of one is TRP_REPLY_LEN + value. */
	trp_put_hdr(buf, TRP_MAGIC_REPLY, 1, 42);
	cr_assert_eq(TRP_HDR_LEN + trp_put_reply(buf + TRP_HDR_LEN, &in[0]), TRP_REPLY_LEN + 5);
	trp_put_hdr(buf, TRP_MAGIC_REPLY, 3, 42);
	for (size_t l = 0; l < len; l++) /* every prefix, and one byte more */
		cr_assert_eq(trp_parse_replies(buf, l, out, &n), -1, "%zu bytes", l);
	cr_assert_eq(trp_parse_replies(buf, len + 1, out, &n), -1);
	buf[3] = 4; /* count past the replies */
	cr_assert_eq(trp_parse_replies(buf, len, out, &n), -1);
	buf[3] = 0;
	cr_assert_eq(trp_parse_replies(buf, len, out, &n), -1);
	buf[3] = 3;
	buf[TRP_HDR_LEN + 8] = TRP_ST_COUNT; /* status */
	cr_assert_eq(trp_parse_replies(buf, len, out, &n), -1);
	buf[TRP_HDR_LEN + 8] = 0;
	buf[TRP_HDR_LEN + 12] = 1; /* reserved */
	cr_assert_eq(trp_parse_replies(buf, len, out, &n), -1);
	buf[TRP_HDR_LEN + 12] = 0;
	buf[0] ^= 1;
	cr_assert_eq(trp_parse_replies(buf, len, out, &n), -1);
	buf[0] ^= 1;
	cr_assert_eq(trp_parse_replies(buf, len, out, &n), 0);
}
