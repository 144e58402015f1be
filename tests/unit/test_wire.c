/* SPDX-License-Identifier: MIT
 * Unit tests for the wire codec (engine/wire.c).
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "types.h"
#include "wire.h"

#define CLUSTER 0x7a11c0deu
#define MSG_OFF TR_WIRE_HDR_BYTES /* first message of a frame */
#define BUF_BYTES 16384

static const struct tr_wire_limits test_lim = {
	.cluster_id = CLUSTER,
	.self = 1,
	.cmd_count_max = 16,
	.cmds_bytes_max = 8192,
	.fetch_span_max = 100,
};

static const struct tr_frame_hdr test_hdr = {
	.cluster_id = CLUSTER,
	.from = 0,
	.to = 1,
	.column = 2,
};

/* A set, a get and a del. */
static const struct tr_cmd sample_cmds[3] = {
	{
		.op = TR_OP_SET,
		.window = 8,
		.client_id = UINT64_C(0x0102030405060708),
		.seq = 42,
		.key = (const uint8_t *)"alpha",
		.key_len = 5,
		.val = (const uint8_t *)"value-1",
		.val_len = 7,
	},
	{
		.op = TR_OP_GET,
		.window = 1,
		.client_id = 9,
		.seq = 43,
		.key = (const uint8_t *)"beta",
		.key_len = 4,
	},
	{
		.op = TR_OP_DEL,
		.window = TR_WINDOW_MAX,
		.client_id = UINT64_MAX,
		.seq = UINT64_MAX - 1,
		.key = (const uint8_t *)"gamma-key",
		.key_len = 9,
	},
};

/* Little-endian helpers for crafting frames by hand. */
static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Rewrites the length field and the crc of a frame of len bytes. */
static void
fix_frame(uint8_t *buf, size_t len)
{
	put32(buf + 12, (uint32_t)len);
	put32(buf + len - 4, tr_crc32c(0, buf, len - 4));
}

static size_t
encode_cmds(uint8_t *buf, size_t cap, const struct tr_cmd *cmds, unsigned n)
{
	size_t off = 0;

	for (unsigned i = 0; i < n; i++) {
		size_t k = tr_cmd_encode(buf + off, cap - off, &cmds[i]);

		cr_assert_eq(k, tr_cmd_bytes(&cmds[i]));
		off += k;
	}
	return off;
}

static uint8_t sample_batch[1024];

static struct tr_value
batch_value(uint8_t proposer)
{
	struct tr_value v = {
		.deps = { 7, 0, TR_LSN_MAX },
		.proposer = proposer,
		.cmd_count = 3,
	};

	v.cmds_len = (uint32_t)encode_cmds(sample_batch, sizeof(sample_batch), sample_cmds, 3);
	v.cmds = sample_batch;
	return v;
}

enum {
	S_ACCEPT_NOOP,
	S_ACCEPT_BATCH,
	S_REPLY_OK,
	S_REPLY_OK_COMMITTED,
	S_REPLY_REJECT,
	S_COMMIT,
	S_FETCH,
	S_FETCH_REPLY,
	S_STATUS,
	S_READ_INDEX,
	S_READ_INDEX_REPLY,
	S_COUNT
};

/* One message of each kind; fields a type does not carry hold junk so the
 * tests see that they are neither encoded nor decoded. */
static void
make_samples(struct tr_msg s[S_COUNT])
{
	struct tr_value noop = { .deps = { 1, 2, 3 }, .proposer = 2 };
	struct tr_value junk_value = batch_value(1);
	struct tr_ballot junk_ballot = { .n = 77, .replica = 2 };

	memset(s, 0, sizeof(struct tr_msg) * S_COUNT);
	for (int i = 0; i < S_COUNT; i++) {
		s[i].lsn_end = 12345;
		s[i].committed = 11;
		s[i].applied = 10;
		s[i].known[0] = 99;
		s[i].read_id = 4242;
		s[i].promised = junk_ballot;
		s[i].vbal = junk_ballot;
		s[i].reply = TR_REPLY_REJECT;
		s[i].value = junk_value;
	}

	s[S_ACCEPT_NOOP].type = TR_MSG_ACCEPT;
	s[S_ACCEPT_NOOP].lsn = 5;
	s[S_ACCEPT_NOOP].ballot = (struct tr_ballot){ .n = 3, .replica = 0 };
	s[S_ACCEPT_NOOP].vbal = (struct tr_ballot){ 0 };
	s[S_ACCEPT_NOOP].value = noop;

	s[S_ACCEPT_BATCH].type = TR_MSG_ACCEPT;
	s[S_ACCEPT_BATCH].lsn = TR_LSN_MAX - 1;
	s[S_ACCEPT_BATCH].ballot = (struct tr_ballot){ .n = TR_BALLOT_N_MAX, .replica = 2 };
	s[S_ACCEPT_BATCH].vbal = (struct tr_ballot){ .n = 0x01020304, .replica = 1 };
	s[S_ACCEPT_BATCH].value = batch_value(0);

	s[S_REPLY_OK].type = TR_MSG_ACCEPT_REPLY;
	s[S_REPLY_OK].lsn = 1000;
	s[S_REPLY_OK].ballot = (struct tr_ballot){ .n = 4, .replica = 1 };
	s[S_REPLY_OK].reply = TR_REPLY_OK;
	s[S_REPLY_OK].value = batch_value(2);

	s[S_REPLY_OK_COMMITTED].type = TR_MSG_ACCEPT_REPLY;
	s[S_REPLY_OK_COMMITTED].lsn = 0;
	s[S_REPLY_OK_COMMITTED].ballot = (struct tr_ballot){ .n = 1, .replica = 2 };
	s[S_REPLY_OK_COMMITTED].reply = TR_REPLY_OK_COMMITTED;
	s[S_REPLY_OK_COMMITTED].value = noop;

	s[S_REPLY_REJECT].type = TR_MSG_ACCEPT_REPLY;
	s[S_REPLY_REJECT].lsn = 17;
	s[S_REPLY_REJECT].ballot = (struct tr_ballot){ .n = 4, .replica = 0 };
	s[S_REPLY_REJECT].reply = TR_REPLY_REJECT;
	s[S_REPLY_REJECT].promised = (struct tr_ballot){ .n = 9, .replica = 2 };

	s[S_COMMIT].type = TR_MSG_COMMIT;
	s[S_COMMIT].lsn = 0x0000123456789abc;
	s[S_COMMIT].value = batch_value(1);

	s[S_FETCH].type = TR_MSG_FETCH;
	s[S_FETCH].lsn = 200;
	s[S_FETCH].lsn_end = 300;

	s[S_FETCH_REPLY].type = TR_MSG_FETCH_REPLY;
	s[S_FETCH_REPLY].lsn = 201;
	s[S_FETCH_REPLY].value = batch_value(0);

	s[S_STATUS].type = TR_MSG_STATUS;
	s[S_STATUS].committed = 300;
	s[S_STATUS].applied = 250;
	s[S_STATUS].heard = 299;
	s[S_STATUS].known[0] = 301;
	s[S_STATUS].known[1] = 0;
	s[S_STATUS].known[2] = TR_LSN_MAX;

	s[S_READ_INDEX].type = TR_MSG_READ_INDEX;
	s[S_READ_INDEX].read_id = UINT64_C(0x0102030405060708);

	s[S_READ_INDEX_REPLY].type = TR_MSG_READ_INDEX_REPLY;
	s[S_READ_INDEX_REPLY].read_id = UINT64_MAX;
	s[S_READ_INDEX_REPLY].known[0] = 0;
	s[S_READ_INDEX_REPLY].known[1] = TR_LSN_MAX;
	s[S_READ_INDEX_REPLY].known[2] = 12;
}

/* What the decoder must return for m sent under hdr: the type's fields, the
 * header's from/to/column, zero elsewhere. */
static struct tr_msg
expected_of(const struct tr_msg *m, const struct tr_frame_hdr *hdr)
{
	struct tr_msg e;

	memset(&e, 0, sizeof(e));
	e.type = m->type;
	e.from = hdr->from;
	e.to = hdr->to;
	e.column = hdr->column;
	switch (m->type) {
	case TR_MSG_ACCEPT:
		e.lsn = m->lsn;
		e.ballot = m->ballot;
		e.vbal = m->vbal;
		e.value = m->value;
		break;
	case TR_MSG_ACCEPT_REPLY:
		e.lsn = m->lsn;
		e.ballot = m->ballot;
		e.reply = m->reply;
		if (m->reply == TR_REPLY_REJECT)
			e.promised = m->promised;
		else
			e.value = m->value;
		break;
	case TR_MSG_COMMIT:
	case TR_MSG_FETCH_REPLY:
		e.lsn = m->lsn;
		e.value = m->value;
		break;
	case TR_MSG_FETCH:
		e.lsn = m->lsn;
		e.lsn_end = m->lsn_end;
		break;
	case TR_MSG_STATUS:
		e.committed = m->committed;
		e.applied = m->applied;
		e.heard = m->heard;
		memcpy(e.known, m->known, sizeof(e.known));
		break;
	case TR_MSG_READ_INDEX:
		e.read_id = m->read_id;
		break;
	case TR_MSG_READ_INDEX_REPLY:
		e.read_id = m->read_id;
		memcpy(e.known, m->known, sizeof(e.known));
		break;
	}
	return e;
}

static void
check_ballot(struct tr_ballot got, struct tr_ballot want)
{
	cr_assert_eq(got.n, want.n);
	cr_assert_eq(got.replica, want.replica);
}

static void
check_value(const struct tr_value *got, const struct tr_value *want)
{
	for (int i = 0; i < TR_COLUMNS; i++)
		cr_assert_eq(got->deps[i], want->deps[i], "deps[%d]", i);
	cr_assert_eq(got->proposer, want->proposer);
	cr_assert_eq(got->cmd_count, want->cmd_count);
	cr_assert_eq(got->cmds_len, want->cmds_len);
	if (want->cmds_len != 0)
		cr_assert_eq(memcmp(got->cmds, want->cmds, want->cmds_len), 0);
}

/* Every field of got against expected_of(want, hdr). */
static void
check_msg(const struct tr_msg *got, const struct tr_msg *want, const struct tr_frame_hdr *hdr)
{
	struct tr_msg e = expected_of(want, hdr);

	cr_assert_eq(got->type, e.type);
	cr_assert_eq(got->from, e.from);
	cr_assert_eq(got->to, e.to);
	cr_assert_eq(got->column, e.column);
	cr_assert_eq(got->lsn, e.lsn);
	check_ballot(got->ballot, e.ballot);
	check_ballot(got->vbal, e.vbal);
	check_ballot(got->promised, e.promised);
	cr_assert_eq(got->reply, e.reply);
	check_value(&got->value, &e.value);
	cr_assert_eq(got->lsn_end, e.lsn_end);
	cr_assert_eq(got->committed, e.committed);
	cr_assert_eq(got->applied, e.applied);
	for (int i = 0; i < TR_COLUMNS; i++)
		cr_assert_eq(got->known[i], e.known[i]);
	cr_assert_eq(got->read_id, e.read_id);
}

static void
check_cmd(const struct tr_cmd *got, const struct tr_cmd *want)
{
	cr_assert_eq(got->op, want->op);
	cr_assert_eq(got->window, want->window);
	cr_assert_eq(got->client_id, want->client_id);
	cr_assert_eq(got->seq, want->seq);
	cr_assert_eq(got->key_len, want->key_len);
	cr_assert_eq(memcmp(got->key, want->key, want->key_len), 0);
	cr_assert_eq(got->val_len, want->val_len);
	if (want->val_len != 0)
		cr_assert_eq(memcmp(got->val, want->val, want->val_len), 0);
}

/* The value's commands decode back to want[0..n). */
static void
check_cmds(const struct tr_value *v, const struct tr_cmd *want, unsigned n)
{
	size_t off = 0;
	struct tr_cmd c;

	cr_assert_eq(v->cmd_count, n);
	for (unsigned i = 0; i < n; i++) {
		cr_assert_eq(tr_cmd_decode(v->cmds, v->cmds_len, &off, &c), TR_WIRE_OK);
		check_cmd(&c, &want[i]);
	}
	cr_assert_eq(off, v->cmds_len);
}

static size_t
frame_of(uint8_t *buf, size_t cap, const struct tr_frame_hdr *hdr, const struct tr_msg *m,
	 unsigned n)
{
	struct tr_frame_writer w;

	cr_assert_eq(tr_frame_begin(&w, buf, cap, hdr), TR_WIRE_OK);
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(tr_frame_add(&w, &m[i]), TR_WIRE_OK);
	return tr_frame_end(&w);
}

/* Decodes a heap copy of exactly len bytes (so ASan sees any over-read) and
 * returns the reason; a failure must leave *count at 0. */
static int
decode_copy(const uint8_t *buf, size_t len, unsigned msgs_cap)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct tr_msg msgs[TR_FRAME_MSGS_MAX];
	struct tr_frame_hdr h;
	unsigned count = 12345;
	int err;

	cr_assert_not_null(copy);
	if (len != 0)
		memcpy(copy, buf, len);
	err = tr_frame_decode(copy, len, &test_lim, &h, msgs, msgs_cap, &count);
	if (err != TR_WIRE_OK)
		cr_assert_eq(count, 0, "count %u on failure %d", count, err);
	free(copy);
	return err;
}

static int
decode_err(const uint8_t *buf, size_t len)
{
	return decode_copy(buf, len, TR_FRAME_MSGS_MAX);
}

/* Encodes samples[idx] alone, decodes and compares. */
static void
roundtrip_one(int idx, unsigned batch_cmds)
{
	struct tr_msg s[S_COUNT], got[4];
	uint8_t buf[BUF_BYTES];
	struct tr_frame_hdr h;
	unsigned count = 0;
	size_t len;

	make_samples(s);
	len = frame_of(buf, sizeof(buf), &test_hdr, &s[idx], 1);
	cr_assert_eq(len, TR_WIRE_HDR_BYTES + tr_wire_msg_bytes(&s[idx]) + TR_WIRE_CRC_BYTES);
	cr_assert_eq(tr_frame_decode(buf, len, &test_lim, &h, got, 4, &count), TR_WIRE_OK);
	cr_assert_eq(count, 1);
	cr_assert_eq(h.cluster_id, CLUSTER);
	cr_assert_eq(h.from, test_hdr.from);
	cr_assert_eq(h.to, test_hdr.to);
	cr_assert_eq(h.column, test_hdr.column);
	cr_assert_eq(h.msg_count, 1);
	check_msg(&got[0], &s[idx], &test_hdr);
	if (got[0].value.cmds_len != 0) {
		cr_assert(got[0].value.cmds >= buf && got[0].value.cmds < buf + len,
			  "cmds must point into the input");
		check_cmds(&got[0].value, sample_cmds, batch_cmds);
	}
	cr_assert_eq(decode_err(buf, len), TR_WIRE_OK);
}

/* Builds a valid single-message frame of samples[idx] into buf. */
static size_t
sample_frame(uint8_t *buf, size_t cap, int idx)
{
	struct tr_msg s[S_COUNT];

	make_samples(s);
	return frame_of(buf, cap, &test_hdr, &s[idx], 1);
}

/* Encodes m alone and returns the decoder's verdict. */
static int
decode_one(const struct tr_msg *m)
{
	uint8_t buf[BUF_BYTES];
	size_t len = frame_of(buf, sizeof(buf), &test_hdr, m, 1);

	return decode_err(buf, len);
}

/* CRC32C */

/* bytes_equal (the engine's table compares keys with it): every length up
 * to 40, at every alignment, tells a change of any one byte. */
Test(le, bytes_equal_sees_every_byte)
{
	uint8_t a[48 + 8], b[48 + 8];

	for (unsigned off = 0; off < 8; off++)
		for (size_t len = 0; len <= 40; len++) {
			for (size_t i = 0; i < len; i++)
				a[off + i] = b[3 + i] = (uint8_t)(i * 7 + len);
			cr_assert(bytes_equal(a + off, b + 3, len), "len %zu off %u", len, off);
			for (size_t i = 0; i < len; i++) {
				b[3 + i] ^= 0x20;
				cr_assert_not(bytes_equal(a + off, b + 3, len),
					      "len %zu: byte %zu not compared", len, i);
				b[3 + i] ^= 0x20;
			}
		}
}

Test(crc32c, known_vectors)
{
	uint8_t zeros[32], ones[32], inc[32];

	memset(zeros, 0, sizeof(zeros));
	memset(ones, 0xff, sizeof(ones));
	for (int i = 0; i < 32; i++)
		inc[i] = (uint8_t)i;
	cr_assert_eq(tr_crc32c(0, "123456789", 9), 0xE3069283u);
	cr_assert_eq(tr_crc32c(0, "", 0), 0);
	/* RFC 3720 B.4 */
	cr_assert_eq(tr_crc32c(0, zeros, 32), 0x8A9136AAu);
	cr_assert_eq(tr_crc32c(0, ones, 32), 0x62A8AB43u);
	cr_assert_eq(tr_crc32c(0, inc, 32), 0x46DD794Eu);
}

/* Bitwise reference: the table must agree on every byte value. */
static uint32_t
crc32c_ref(uint32_t crc, const uint8_t *p, size_t len)
{
	crc = ~crc;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
	}
	return ~crc;
}

Test(crc32c, matches_reference)
{
	uint8_t buf[512];
	uint32_t x = 12345;

	for (unsigned v = 0; v < 256; v++) {
		uint8_t b = (uint8_t)v;

		cr_assert_eq(tr_crc32c(0, &b, 1), crc32c_ref(0, &b, 1), "byte %u", v);
		cr_assert_eq(tr_crc32c(0xdeadbeef, &b, 1), crc32c_ref(0xdeadbeef, &b, 1));
	}
	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	for (size_t n = 0; n <= sizeof(buf); n += 37)
		cr_assert_eq(tr_crc32c(0, buf, n), crc32c_ref(0, buf, n), "len %zu", n);
}

/* The fast path and the portable table agree at every length and alignment
 * (the 8-byte steps and the byte tail of the fast path both covered). */
Test(crc32c, fast_and_portable_agree)
{
	uint8_t buf[96];
	uint32_t x = 777;

	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	for (size_t off = 0; off < 8; off++) {
		for (size_t n = 0; off + n <= sizeof(buf); n++) {
			uint32_t want = crc32c_ref(0x1234u, buf + off, n);

			cr_assert_eq(tr_crc32c(0x1234u, buf + off, n), want, "off %zu len %zu", off, n);
			cr_assert_eq(tr_crc32c_sw(0x1234u, buf + off, n), want, "off %zu len %zu", off,
				     n);
		}
	}
}

Test(crc32c, chains)
{
	const char *s = "123456789";

	for (size_t k = 0; k <= 9; k++)
		cr_assert_eq(tr_crc32c(tr_crc32c(0, s, k), s + k, 9 - k), 0xE3069283u, "split %zu", k);
}

Test(wire, strerror)
{
	cr_assert_str_eq(tr_wire_strerror(TR_WIRE_OK), "ok");
	cr_assert_str_eq(tr_wire_strerror(TR_WIRE_E_TRUNCATED), "truncated");
	cr_assert_str_eq(tr_wire_strerror(TR_WIRE_E_BAD_CHECKSUM), "checksum mismatch");
	cr_assert_str_eq(tr_wire_strerror(TR_WIRE_E_NO_SPACE), "output buffer too small");
	for (int e = 1; e < TR_WIRE_E_COUNT; e++) {
		cr_assert_not_null(tr_wire_strerror(e));
		cr_assert_str_neq(tr_wire_strerror(e), "unknown error");
		cr_assert_str_neq(tr_wire_strerror(e), "ok");
	}
	cr_assert_str_eq(tr_wire_strerror(-1), "unknown error");
	cr_assert_str_eq(tr_wire_strerror(TR_WIRE_E_COUNT), "unknown error");
}

/* Commands */

Test(cmd, layout)
{
	uint8_t buf[64];
	const uint8_t want[] = {
		TR_OP_SET, 8,
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* client_id */
		42, 0, 0, 0, 0, 0, 0, 0,                        /* seq */
		5, 0,                                           /* key_len */
		7, 0, 0, 0,                                     /* val_len */
		'a', 'l', 'p', 'h', 'a',
		'v', 'a', 'l', 'u', 'e', '-', '1',
	};

	cr_assert_eq(tr_cmd_bytes(&sample_cmds[0]), sizeof(want));
	cr_assert_eq(tr_cmd_encode(buf, sizeof(buf), &sample_cmds[0]), sizeof(want));
	cr_assert_eq(memcmp(buf, want, sizeof(want)), 0);
}

Test(cmd, roundtrip)
{
	uint8_t buf[256];
	struct tr_value v;

	v.cmds_len = (uint32_t)encode_cmds(buf, sizeof(buf), sample_cmds, 3);
	v.cmds = buf;
	v.cmd_count = 3;
	check_cmds(&v, sample_cmds, 3);
	cr_assert_eq(tr_cmds_validate(buf, v.cmds_len, 3), TR_WIRE_OK);
}

Test(cmd, encode_no_room)
{
	uint8_t buf[64];
	size_t n = tr_cmd_bytes(&sample_cmds[0]);

	memset(buf, 0xaa, sizeof(buf));
	cr_assert_eq(tr_cmd_encode(buf, n - 1, &sample_cmds[0]), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0xaa);
	cr_assert_eq(tr_cmd_encode(buf, n, &sample_cmds[0]), n);
}

Test(cmd, validate_count_and_length)
{
	uint8_t buf[256];
	size_t len = encode_cmds(buf, sizeof(buf), sample_cmds, 3);

	cr_assert_eq(tr_cmds_validate(buf, len, 2), TR_WIRE_E_BAD_CMD);
	cr_assert_eq(tr_cmds_validate(buf, len, 4), TR_WIRE_E_BAD_CMD);
	cr_assert_eq(tr_cmds_validate(buf, len - 1, 3), TR_WIRE_E_BAD_CMD);
	cr_assert_eq(tr_cmds_validate(buf, len + 1, 3), TR_WIRE_E_BAD_CMD);
	cr_assert_eq(tr_cmds_validate(NULL, 0, 0), TR_WIRE_OK);
	for (size_t k = 0; k < len; k++)
		cr_assert_eq(tr_cmds_validate(buf, k, 3), TR_WIRE_E_BAD_CMD, "prefix %zu", k);
}

Test(cmd, decode_rejects)
{
	uint8_t buf[64];
	struct tr_cmd c;
	size_t n, off;

	n = tr_cmd_encode(buf, sizeof(buf), &sample_cmds[1]); /* a get */
	off = 0;
	cr_assert_eq(tr_cmd_decode(buf, n, &off, &c), TR_WIRE_OK);
	cr_assert_eq(off, n);
	cr_assert_null(c.val);
	/* Each failure leaves off where it was. */
	off = 0;
	cr_assert_eq(tr_cmd_decode(buf, n - 1, &off, &c), TR_WIRE_E_TRUNCATED);
	cr_assert_eq(off, 0);
	off = n + 1;
	cr_assert_eq(tr_cmd_decode(buf, n, &off, &c), TR_WIRE_E_TRUNCATED);
	buf[0] = 0;
	off = 0;
	cr_assert_eq(tr_cmd_decode(buf, n, &off, &c), TR_WIRE_E_BAD_CMD);
	cr_assert_eq(off, 0);
	buf[0] = TR_OP_PART + 1;
	cr_assert_eq(tr_cmd_decode(buf, n, &off, &c), TR_WIRE_E_BAD_CMD);
	buf[0] = TR_OP_GET;
	buf[1] = 0;
	cr_assert_eq(tr_cmd_decode(buf, n, &off, &c), TR_WIRE_E_BAD_CMD);
	buf[1] = TR_WINDOW_MAX + 1;
	cr_assert_eq(tr_cmd_decode(buf, n, &off, &c), TR_WIRE_E_BAD_CMD);
	buf[1] = TR_WINDOW_MAX;
	cr_assert_eq(tr_cmd_decode(buf, n, &off, &c), TR_WIRE_OK);
}

Test(cmd, size_limits)
{
	static uint8_t key[TR_KEY_BYTES_MAX + 1], val[TR_VAL_BYTES_MAX + 1];
	static uint8_t buf[TR_WIRE_CMD_HDR_BYTES + TR_KEY_BYTES_MAX + TR_VAL_BYTES_MAX + 2];
	struct tr_cmd c = sample_cmds[0], got;
	size_t n, off = 0;

	c.key = key;
	c.key_len = TR_KEY_BYTES_MAX;
	c.val = val;
	c.val_len = TR_VAL_BYTES_MAX;
	n = tr_cmd_encode(buf, sizeof(buf), &c);
	cr_assert_eq(tr_cmd_decode(buf, n, &off, &got), TR_WIRE_OK);
	check_cmd(&got, &c);
	c.key_len = TR_KEY_BYTES_MAX + 1;
	n = tr_cmd_encode(buf, sizeof(buf), &c);
	cr_assert_eq(tr_cmds_validate(buf, n, 1), TR_WIRE_E_BAD_CMD);
	c.key_len = 1;
	c.val_len = TR_VAL_BYTES_MAX + 1;
	n = tr_cmd_encode(buf, sizeof(buf), &c);
	cr_assert_eq(tr_cmds_validate(buf, n, 1), TR_WIRE_E_BAD_CMD);
}

/* Frame layout against the documented byte order. */

Test(frame, layout)
{
	struct tr_msg m = { .type = TR_MSG_FETCH, .lsn = 0x0102030405, .lsn_end = 0x0102030406 };
	struct tr_frame_hdr h = { .cluster_id = 0xa1b2c3d4, .from = 2, .to = 1, .column = 1,
				  .inc = 0x01020304 };
	uint8_t buf[64];
	const uint8_t want[] = {
		'T', '3', 4, 1, 0xd4, 0xc3, 0xb2, 0xa1, 2, 1, 1, 0, 41, 0, 0, 0,
		0x04, 0x03, 0x02, 0x01,
		TR_MSG_FETCH,
		0x05, 0x04, 0x03, 0x02, 0x01, 0, 0, 0,
		0x06, 0x04, 0x03, 0x02, 0x01, 0, 0, 0,
	};
	size_t len = frame_of(buf, sizeof(buf), &h, &m, 1);

	cr_assert_eq(len, sizeof(want) + 4);
	cr_assert_eq(memcmp(buf, want, sizeof(want)), 0);
	cr_assert_eq(buf[37] | buf[38] << 8 | buf[39] << 16 | (uint32_t)buf[40] << 24,
		     tr_crc32c(0, want, sizeof(want)));
	cr_assert_eq(tr_wire_msg_bytes(&m), 17);
}

/* Round trips, one per message kind. */

Test(roundtrip, accept_noop_no_vbal)
{
	roundtrip_one(S_ACCEPT_NOOP, 0);
}

Test(roundtrip, accept_batch_with_vbal)
{
	roundtrip_one(S_ACCEPT_BATCH, 3);
}

Test(roundtrip, accept_reply_ok)
{
	roundtrip_one(S_REPLY_OK, 3);
}

Test(roundtrip, accept_reply_ok_committed)
{
	roundtrip_one(S_REPLY_OK_COMMITTED, 0);
}

Test(roundtrip, accept_reply_reject)
{
	roundtrip_one(S_REPLY_REJECT, 0);
}

Test(roundtrip, commit)
{
	roundtrip_one(S_COMMIT, 3);
}

/* W1: an OK by reference carries the deps only; the rest of the value stays
 * home. Decoded: reply OK, ref set, the deps, no commands. */
Test(roundtrip, accept_reply_ok_by_reference)
{
	struct tr_msg s[S_COUNT], got[2];
	uint8_t buf[BUF_BYTES];
	struct tr_frame_hdr h;
	unsigned count = 0;
	size_t len;

	make_samples(s);
	s[S_REPLY_OK].ref = true;
	len = frame_of(buf, sizeof(buf), &test_hdr, &s[S_REPLY_OK], 1);
	cr_assert_eq(tr_wire_msg_bytes(&s[S_REPLY_OK]), 1 + 8 + 9 + 1 + 24);
	cr_assert_eq(len, TR_WIRE_HDR_BYTES + 43 + TR_WIRE_CRC_BYTES);
	cr_assert_eq(tr_frame_decode(buf, len, &test_lim, &h, got, 2, &count), TR_WIRE_OK);
	cr_assert_eq(count, 1);
	cr_assert_eq(got[0].type, TR_MSG_ACCEPT_REPLY);
	cr_assert_eq(got[0].reply, TR_REPLY_OK);
	cr_assert(got[0].ref);
	cr_assert_eq(got[0].lsn, s[S_REPLY_OK].lsn);
	check_ballot(got[0].ballot, s[S_REPLY_OK].ballot);
	cr_assert_eq(memcmp(got[0].value.deps, s[S_REPLY_OK].value.deps, sizeof(got[0].value.deps)),
		     0);
	cr_assert_eq(got[0].value.cmd_count, 0);
	cr_assert_eq(got[0].value.cmds_len, 0);
	cr_assert_null(got[0].value.cmds);
}

/* W2: a COMMIT by reference carries lsn and ballot only. */
Test(roundtrip, commit_by_reference)
{
	struct tr_msg s[S_COUNT], got[2];
	uint8_t buf[BUF_BYTES];
	struct tr_frame_hdr h;
	unsigned count = 0;
	size_t len;

	make_samples(s);
	s[S_COMMIT].ref = true;
	s[S_COMMIT].ballot = (struct tr_ballot){.n = 7, .replica = 2, .inc = 3};
	len = frame_of(buf, sizeof(buf), &test_hdr, &s[S_COMMIT], 1);
	cr_assert_eq(tr_wire_msg_bytes(&s[S_COMMIT]), 1 + 8 + 9);
	cr_assert_eq(len, TR_WIRE_HDR_BYTES + 18 + TR_WIRE_CRC_BYTES);
	cr_assert_eq(buf[TR_WIRE_HDR_BYTES], 0x80 | TR_MSG_COMMIT);
	cr_assert_eq(tr_frame_decode(buf, len, &test_lim, &h, got, 2, &count), TR_WIRE_OK);
	cr_assert_eq(count, 1);
	cr_assert_eq(got[0].type, TR_MSG_COMMIT);
	cr_assert(got[0].ref);
	cr_assert_eq(got[0].lsn, s[S_COMMIT].lsn);
	check_ballot(got[0].ballot, s[S_COMMIT].ballot);
	cr_assert_eq(got[0].value.cmds_len, 0);
	/* A COMMIT by value still decodes without ref. */
	s[S_COMMIT].ref = false;
	len = frame_of(buf, sizeof(buf), &test_hdr, &s[S_COMMIT], 1);
	cr_assert_eq(tr_frame_decode(buf, len, &test_lim, &h, got, 2, &count), TR_WIRE_OK);
	cr_assert(!got[0].ref);
	cr_assert_eq(got[0].value.cmd_count, s[S_COMMIT].value.cmd_count);
}

Test(roundtrip, fetch)
{
	roundtrip_one(S_FETCH, 0);
}

Test(roundtrip, fetch_reply)
{
	roundtrip_one(S_FETCH_REPLY, 3);
}

Test(roundtrip, status)
{
	roundtrip_one(S_STATUS, 0);
}

Test(roundtrip, read_index)
{
	roundtrip_one(S_READ_INDEX, 0);
}

Test(roundtrip, read_index_reply)
{
	roundtrip_one(S_READ_INDEX_REPLY, 0);
}

/* Both bodies against the documented byte order. */
Test(roundtrip, read_index_layout)
{
	struct tr_msg s[S_COUNT];
	uint8_t buf[BUF_BYTES];
	const uint8_t want_ri[] = { TR_MSG_READ_INDEX, 8, 7, 6, 5, 4, 3, 2, 1 };
	const uint8_t want_rr[] = {
		TR_MSG_READ_INDEX_REPLY,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 1, 0, /* TR_LSN_MAX = 2^48 */
		12, 0, 0, 0, 0, 0, 0, 0,
	};
	size_t len;

	make_samples(s);
	len = frame_of(buf, sizeof(buf), &test_hdr, &s[S_READ_INDEX], 1);
	cr_assert_eq(len, TR_WIRE_HDR_BYTES + sizeof(want_ri) + TR_WIRE_CRC_BYTES);
	cr_assert_eq(memcmp(buf + MSG_OFF, want_ri, sizeof(want_ri)), 0);
	len = frame_of(buf, sizeof(buf), &test_hdr, &s[S_READ_INDEX_REPLY], 1);
	cr_assert_eq(len, TR_WIRE_HDR_BYTES + sizeof(want_rr) + TR_WIRE_CRC_BYTES);
	cr_assert_eq(memcmp(buf + MSG_OFF, want_rr, sizeof(want_rr)), 0);
}

Test(roundtrip, msg_bytes)
{
	struct tr_msg s[S_COUNT];
	size_t batch = 31 + tr_cmd_bytes(&sample_cmds[0]) + tr_cmd_bytes(&sample_cmds[1]) +
		       tr_cmd_bytes(&sample_cmds[2]);

	make_samples(s);
	/* A ballot is n:u32 replica:u8 inc:u32, 9 bytes. */
	cr_assert_eq(tr_wire_msg_bytes(&s[S_ACCEPT_NOOP]), 1 + 8 + 9 + 9 + 31);
	cr_assert_eq(tr_wire_msg_bytes(&s[S_ACCEPT_BATCH]), 1 + 8 + 9 + 9 + batch);
	cr_assert_eq(tr_wire_msg_bytes(&s[S_REPLY_OK]), 1 + 8 + 9 + 1 + batch);
	cr_assert_eq(tr_wire_msg_bytes(&s[S_REPLY_REJECT]), 1 + 8 + 9 + 1 + 9);
	cr_assert_eq(tr_wire_msg_bytes(&s[S_COMMIT]), 1 + 8 + batch);
	cr_assert_eq(tr_wire_msg_bytes(&s[S_FETCH]), 1 + 16);
	cr_assert_eq(tr_wire_msg_bytes(&s[S_STATUS]), 1 + 40 + 12 + 8);
	cr_assert_eq(tr_wire_msg_bytes(&s[S_READ_INDEX]), 1 + 8);
	cr_assert_eq(tr_wire_msg_bytes(&s[S_READ_INDEX_REPLY]), 1 + 32);
}

Test(roundtrip, all_in_one_frame)
{
	struct tr_msg s[S_COUNT], got[S_COUNT];
	struct tr_frame_hdr h = { .cluster_id = CLUSTER, .from = 2, .to = 1, .column = 0 }, gh;
	uint8_t buf[BUF_BYTES];
	unsigned count = 0;
	size_t len, want_len = TR_WIRE_HDR_BYTES + TR_WIRE_CRC_BYTES;

	make_samples(s);
	for (int i = 0; i < S_COUNT; i++)
		want_len += tr_wire_msg_bytes(&s[i]);
	len = frame_of(buf, sizeof(buf), &h, s, S_COUNT);
	cr_assert_eq(len, want_len);
	cr_assert_eq(tr_frame_decode(buf, len, &test_lim, &gh, got, S_COUNT, &count), TR_WIRE_OK);
	cr_assert_eq(count, S_COUNT);
	cr_assert_eq(gh.msg_count, S_COUNT);
	cr_assert_eq(gh.from, 2);
	cr_assert_eq(gh.column, 0);
	for (int i = 0; i < S_COUNT; i++)
		check_msg(&got[i], &s[i], &h);
	check_cmds(&got[S_COMMIT].value, sample_cmds, 3);
}

/* Encoder limits */

Test(frame, begin_too_small)
{
	struct tr_frame_writer w;
	uint8_t buf[32];

	cr_assert_eq(tr_frame_begin(&w, buf, 23, &test_hdr), TR_WIRE_E_NO_SPACE);
	cr_assert_eq(tr_frame_begin(&w, buf, 24, &test_hdr), TR_WIRE_OK);
	cr_assert_eq(tr_frame_end(&w), 24);
	cr_assert_eq(decode_err(buf, 24), TR_WIRE_E_BAD_COUNT);
}

Test(frame, full_no_space_unchanged)
{
	struct tr_msg s[S_COUNT], got[8];
	struct tr_frame_writer w, before;
	uint8_t buf[256], snap[256];
	unsigned added = 0, count = 0;
	size_t len;

	make_samples(s);
	memset(buf, 0x5c, sizeof(buf));
	cr_assert_eq(tr_frame_begin(&w, buf, sizeof(buf), &test_hdr), TR_WIRE_OK);
	for (;;) {
		int err;

		before = w;
		memcpy(snap, buf, sizeof(buf));
		err = tr_frame_add(&w, &s[S_COMMIT]);
		if (err != TR_WIRE_OK) {
			cr_assert_eq(err, TR_WIRE_E_NO_SPACE);
			break;
		}
		added++;
	}
	/* Room for one COMMIT with the batch, not two. */
	cr_assert_eq(added, 1);
	cr_assert_eq(memcmp(buf, snap, sizeof(buf)), 0, "frame changed by a failed add");
	cr_assert_eq(w.len, before.len);
	cr_assert_eq(w.msg_count, before.msg_count);
	cr_assert_eq(w.cap, before.cap);
	/* A smaller message still fits exactly up to the crc. */
	cr_assert_eq(w.len + tr_wire_msg_bytes(&s[S_STATUS]) + 4 <= sizeof(buf), true);
	cr_assert_eq(tr_frame_add(&w, &s[S_STATUS]), TR_WIRE_OK);
	len = tr_frame_end(&w);
	cr_assert_eq(tr_frame_decode(buf, len, &test_lim, NULL, got, 8, &count), TR_WIRE_OK);
	cr_assert_eq(count, 2);
	check_msg(&got[0], &s[S_COMMIT], &test_hdr);
	check_msg(&got[1], &s[S_STATUS], &test_hdr);
}

Test(frame, exact_fit)
{
	struct tr_msg s[S_COUNT];
	struct tr_frame_writer w;
	uint8_t buf[BUF_BYTES];
	size_t need;

	make_samples(s);
	need = TR_WIRE_HDR_BYTES + tr_wire_msg_bytes(&s[S_FETCH]) + TR_WIRE_CRC_BYTES;
	cr_assert_eq(tr_frame_begin(&w, buf, need - 1, &test_hdr), TR_WIRE_OK);
	cr_assert_eq(tr_frame_add(&w, &s[S_FETCH]), TR_WIRE_E_NO_SPACE);
	cr_assert_eq(tr_frame_begin(&w, buf, need, &test_hdr), TR_WIRE_OK);
	cr_assert_eq(tr_frame_add(&w, &s[S_FETCH]), TR_WIRE_OK);
	cr_assert_eq(tr_frame_end(&w), need);
}

Test(frame, max_messages)
{
	static uint8_t buf[BUF_BYTES];
	static struct tr_msg got[TR_FRAME_MSGS_MAX];
	struct tr_msg s[S_COUNT];
	struct tr_frame_writer w;
	unsigned count = 0;
	size_t len, before;

	make_samples(s);
	cr_assert_eq(tr_frame_begin(&w, buf, sizeof(buf), &test_hdr), TR_WIRE_OK);
	for (unsigned i = 0; i < TR_FRAME_MSGS_MAX; i++) {
		s[S_FETCH].lsn = i;
		s[S_FETCH].lsn_end = i + 1;
		cr_assert_eq(tr_frame_add(&w, &s[S_FETCH]), TR_WIRE_OK, "message %u", i);
	}
	before = w.len;
	cr_assert_eq(tr_frame_add(&w, &s[S_FETCH]), TR_WIRE_E_NO_SPACE);
	cr_assert_eq(w.len, before);
	cr_assert_eq(w.msg_count, TR_FRAME_MSGS_MAX);
	len = tr_frame_end(&w);
	cr_assert_eq(tr_frame_decode(buf, len, &test_lim, NULL, got, TR_FRAME_MSGS_MAX, &count),
		     TR_WIRE_OK);
	cr_assert_eq(count, TR_FRAME_MSGS_MAX);
	for (unsigned i = 0; i < count; i++) {
		cr_assert_eq(got[i].lsn, i);
		cr_assert_eq(got[i].lsn_end, i + 1);
	}
}

/* Rejections: corruption */

Test(reject, every_truncation)
{
	struct tr_msg s[S_COUNT];
	uint8_t buf[BUF_BYTES];
	size_t len;

	make_samples(s);
	len = frame_of(buf, sizeof(buf), &test_hdr, s, S_COUNT);
	cr_assert_eq(decode_err(buf, len), TR_WIRE_OK);
	for (size_t k = 0; k < len; k++) {
		int err = decode_err(buf, k);

		cr_assert_neq(err, TR_WIRE_OK, "prefix %zu accepted", k);
		if (k < TR_WIRE_HDR_BYTES + TR_WIRE_CRC_BYTES)
			cr_assert_eq(err, TR_WIRE_E_TRUNCATED, "prefix %zu", k);
	}
}

/* Truncations inside the message area with length and crc made consistent:
 * the decoder itself has to notice the missing bytes. */
Test(reject, every_truncation_resealed)
{
	struct tr_msg s[S_COUNT];
	uint8_t buf[BUF_BYTES], cut[BUF_BYTES];
	size_t len, body;

	make_samples(s);
	len = frame_of(buf, sizeof(buf), &test_hdr, s, S_COUNT);
	body = len - TR_WIRE_HDR_BYTES - TR_WIRE_CRC_BYTES;
	for (size_t k = 0; k < body; k++) {
		size_t clen = TR_WIRE_HDR_BYTES + k + TR_WIRE_CRC_BYTES;

		memcpy(cut, buf, TR_WIRE_HDR_BYTES + k);
		fix_frame(cut, clen);
		cr_assert_eq(decode_err(cut, clen), TR_WIRE_E_TRUNCATED, "body prefix %zu", k);
	}
}

Test(reject, every_bit_flip)
{
	struct tr_msg s[S_COUNT];
	uint8_t buf[BUF_BYTES];
	size_t len;
	unsigned checksum = 0;

	make_samples(s);
	len = frame_of(buf, sizeof(buf), &test_hdr, s, S_COUNT);
	for (size_t i = 0; i < len; i++) {
		for (int b = 0; b < 8; b++) {
			int err;

			buf[i] ^= (uint8_t)(1u << b);
			err = decode_err(buf, len);
			buf[i] ^= (uint8_t)(1u << b);
			cr_assert_neq(err, TR_WIRE_OK, "flip byte %zu bit %d accepted", i, b);
			checksum += err == TR_WIRE_E_BAD_CHECKSUM;
		}
	}
	cr_assert_gt(checksum, (len - 20) * 8, "most flips must fail the checksum");
	cr_assert_eq(decode_err(buf, len), TR_WIRE_OK);
}

/* Mutates one header byte of a valid frame, reseals it and checks the reason. */
static void
header_case(size_t off, uint8_t v, int want)
{
	uint8_t buf[BUF_BYTES];
	size_t len = sample_frame(buf, sizeof(buf), S_ACCEPT_BATCH);

	buf[off] = v;
	fix_frame(buf, len);
	cr_assert_eq(decode_err(buf, len), want, "offset %zu value %u: got %s want %s", off, v,
		     tr_wire_strerror(decode_err(buf, len)), tr_wire_strerror(want));
}

Test(reject, header_reasons)
{
	header_case(0, 'X', TR_WIRE_E_BAD_MAGIC);
	header_case(1, '2', TR_WIRE_E_BAD_MAGIC);
	header_case(2, 0, TR_WIRE_E_BAD_VERSION);
	header_case(2, 1, TR_WIRE_E_BAD_VERSION);
	header_case(2, 2, TR_WIRE_E_BAD_VERSION);
	header_case(2, 3, TR_WIRE_E_BAD_VERSION); /* the version before the STATUS echo */
	header_case(2, 5, TR_WIRE_E_BAD_VERSION);
	header_case(19, 0x80, TR_WIRE_E_BAD_VALUE);     /* inc >= 2^31 (J0) */
	header_case(19, 0x7f, TR_WIRE_OK);
	header_case(4, (uint8_t)(CLUSTER + 1), TR_WIRE_E_WRONG_CLUSTER);
	header_case(7, 0, TR_WIRE_E_WRONG_CLUSTER);
	header_case(8, 1, TR_WIRE_E_BAD_REPLICA);       /* from == to */
	header_case(8, 3, TR_WIRE_E_BAD_REPLICA);       /* from out of range */
	header_case(9, 3, TR_WIRE_E_BAD_REPLICA);       /* to out of range */
	header_case(9, 2, TR_WIRE_E_MISDIRECTED);       /* to another replica */
	header_case(10, 3, TR_WIRE_E_BAD_COLUMN);
	header_case(10, 0xff, TR_WIRE_E_BAD_COLUMN);
	header_case(11, 1, TR_WIRE_E_BAD_VALUE);        /* reserved */
	header_case(8, 2, TR_WIRE_OK);                  /* from 2 is fine */
	header_case(10, 0, TR_WIRE_OK);
}

Test(reject, length_and_checksum)
{
	uint8_t buf[BUF_BYTES];
	size_t len = sample_frame(buf, sizeof(buf), S_FETCH);

	put32(buf + 12, (uint32_t)len + 1);
	cr_assert_eq(decode_err(buf, len), TR_WIRE_E_BAD_LENGTH);
	put32(buf + 12, (uint32_t)len - 1);
	cr_assert_eq(decode_err(buf, len), TR_WIRE_E_BAD_LENGTH);
	put32(buf + 12, (uint32_t)len);
	cr_assert_eq(decode_err(buf, len), TR_WIRE_OK);
	buf[len - 1] ^= 0x80;
	cr_assert_eq(decode_err(buf, len), TR_WIRE_E_BAD_CHECKSUM);
	buf[len - 1] ^= 0x80;
	buf[20] ^= 1; /* lsn byte */
	cr_assert_eq(decode_err(buf, len), TR_WIRE_E_BAD_CHECKSUM);
}

Test(reject, message_count)
{
	struct tr_msg s[S_COUNT];
	uint8_t buf[BUF_BYTES];
	size_t len;

	make_samples(s);
	len = frame_of(buf, sizeof(buf), &test_hdr, s, 3);
	cr_assert_eq(decode_copy(buf, len, 3), TR_WIRE_OK);
	cr_assert_eq(decode_copy(buf, len, 2), TR_WIRE_E_BAD_COUNT);
	cr_assert_eq(decode_copy(buf, len, 0), TR_WIRE_E_BAD_COUNT);
	/* The count field disagreeing with the messages present. */
	buf[3] = 0;
	fix_frame(buf, len);
	cr_assert_eq(decode_err(buf, len), TR_WIRE_E_BAD_COUNT);
	buf[3] = 4;
	fix_frame(buf, len);
	cr_assert_eq(decode_err(buf, len), TR_WIRE_E_TRUNCATED);
	buf[3] = 2;
	fix_frame(buf, len);
	cr_assert_eq(decode_err(buf, len), TR_WIRE_E_TRAILING);
}

Test(reject, trailing_bytes)
{
	uint8_t buf[BUF_BYTES];
	size_t len = sample_frame(buf, sizeof(buf), S_STATUS);

	for (size_t extra = 1; extra <= 3; extra++) {
		size_t n = len + extra;

		memset(buf + len - 4, 0, extra);
		fix_frame(buf, n);
		cr_assert_eq(decode_err(buf, n), TR_WIRE_E_TRAILING, "extra %zu", extra);
		len = n;
	}
}

Test(reject, bad_type)
{
	const uint8_t types[] = { 0, TR_MSG_TYPE_COUNT, 0x80, 0xff };
	uint8_t buf[BUF_BYTES];

	for (size_t i = 0; i < sizeof(types); i++) {
		size_t len = sample_frame(buf, sizeof(buf), S_FETCH);

		buf[MSG_OFF] = types[i];
		fix_frame(buf, len);
		cr_assert_eq(decode_err(buf, len), TR_WIRE_E_BAD_TYPE, "type %u", types[i]);
	}
}

Test(reject, bad_reply)
{
	const uint8_t replies[] = { 0, 6, 0xff };
	uint8_t buf[BUF_BYTES];
	size_t reply_off = MSG_OFF + 1 + 8 + 9;

	for (size_t i = 0; i < sizeof(replies); i++) {
		size_t len = sample_frame(buf, sizeof(buf), S_REPLY_REJECT);

		cr_assert_eq(buf[reply_off], TR_REPLY_REJECT);
		buf[reply_off] = replies[i];
		fix_frame(buf, len);
		cr_assert_eq(decode_err(buf, len), TR_WIRE_E_BAD_REPLY, "reply %u", replies[i]);
	}
}

Test(reject, ballots)
{
	struct tr_msg s[S_COUNT], m;

	make_samples(s);
	m = s[S_ACCEPT_BATCH];
	m.ballot.replica = 3;
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_BALLOT);
	m = s[S_ACCEPT_BATCH];
	m.ballot = (struct tr_ballot){ 0 };
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_BALLOT, "accept at ballot none");
	m = s[S_ACCEPT_BATCH];
	m.vbal.replica = 3;
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_BALLOT);
	m = s[S_ACCEPT_BATCH];
	m.vbal = (struct tr_ballot){ .n = 0, .replica = 1 };
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_BALLOT, "none must be (0, 0)");
	m = s[S_REPLY_OK];
	m.ballot.replica = 3;
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_BALLOT);
	m = s[S_REPLY_REJECT];
	m.promised.replica = 3;
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_BALLOT);
	m = s[S_REPLY_REJECT];
	m.promised.replica = 0xff;
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_BALLOT);
	/* A reply answers a real ballot; a rejection names a real promise. */
	m = s[S_REPLY_REJECT];
	m.promised = (struct tr_ballot){ 0 };
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_BALLOT, "promised none");
	m = s[S_REPLY_OK];
	m.ballot = (struct tr_ballot){ 0 };
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_BALLOT, "reply to ballot none");
}

Test(reject, lsn_range)
{
	struct tr_msg s[S_COUNT], m;
	const int idx[] = { S_ACCEPT_BATCH, S_REPLY_OK, S_REPLY_REJECT, S_COMMIT, S_FETCH,
			    S_FETCH_REPLY };

	make_samples(s);
	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
		m = s[idx[i]];
		m.lsn = TR_LSN_MAX - 1;
		m.lsn_end = TR_LSN_MAX;
		cr_assert_eq(decode_one(&m), TR_WIRE_OK, "sample %d", idx[i]);
		m.lsn = TR_LSN_MAX;
		cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_LSN, "sample %d", idx[i]);
		m.lsn = UINT64_MAX;
		cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_LSN, "sample %d", idx[i]);
	}
	m = s[S_STATUS];
	m.committed = TR_LSN_MAX + 1;
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_LSN);
	m = s[S_STATUS];
	m.applied = UINT64_MAX;
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_LSN);
	for (int c = 0; c < TR_COLUMNS; c++) {
		m = s[S_STATUS];
		m.known[c] = TR_LSN_MAX + 1;
		cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_LSN, "known[%d]", c);
	}
}

/* Q1: the reply's known is a vector of counts like STATUS's; the id is
 * opaque (any value); truncation anywhere in either body is caught. */
Test(reject, read_index_fields)
{
	struct tr_msg s[S_COUNT], m;
	const uint64_t ids[] = { 0, 1, UINT64_MAX };

	make_samples(s);
	for (int c = 0; c < TR_COLUMNS; c++) {
		m = s[S_READ_INDEX_REPLY];
		m.known[c] = TR_LSN_MAX;
		cr_assert_eq(decode_one(&m), TR_WIRE_OK, "known[%d] at the limit", c);
		m.known[c] = TR_LSN_MAX + 1;
		cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_LSN, "known[%d]", c);
		m.known[c] = UINT64_MAX;
		cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_LSN, "known[%d]", c);
	}
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		m = s[S_READ_INDEX];
		m.read_id = ids[i];
		cr_assert_eq(decode_one(&m), TR_WIRE_OK);
		m = s[S_READ_INDEX_REPLY];
		m.read_id = ids[i];
		cr_assert_eq(decode_one(&m), TR_WIRE_OK);
	}
	for (int idx = S_READ_INDEX; idx <= S_READ_INDEX_REPLY; idx++) {
		uint8_t buf[BUF_BYTES], cut[BUF_BYTES];
		size_t len = sample_frame(buf, sizeof(buf), idx);
		size_t body = len - TR_WIRE_HDR_BYTES - TR_WIRE_CRC_BYTES;

		for (size_t k = 1; k < body; k++) {
			size_t clen = TR_WIRE_HDR_BYTES + k + TR_WIRE_CRC_BYTES;

			memcpy(cut, buf, TR_WIRE_HDR_BYTES + k);
			fix_frame(cut, clen);
			cr_assert_eq(decode_err(cut, clen), TR_WIRE_E_TRUNCATED, "sample %d prefix %zu",
				     idx, k);
		}
		/* One byte more than the body: trailing. */
		memcpy(cut, buf, len - TR_WIRE_CRC_BYTES);
		cut[len - TR_WIRE_CRC_BYTES] = 0;
		fix_frame(cut, len + 1);
		cr_assert_eq(decode_err(cut, len + 1), TR_WIRE_E_TRAILING, "sample %d", idx);
	}
}

Test(reject, fetch_range)
{
	struct tr_msg s[S_COUNT], m;

	make_samples(s);
	m = s[S_FETCH];
	m.lsn_end = m.lsn;
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_RANGE, "empty");
	m.lsn_end = m.lsn - 1;
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_RANGE, "reversed");
	m.lsn_end = m.lsn + test_lim.fetch_span_max + 1;
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_RANGE, "oversized");
	m.lsn_end = UINT64_MAX;
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_RANGE, "huge");
	m.lsn_end = m.lsn + test_lim.fetch_span_max;
	cr_assert_eq(decode_one(&m), TR_WIRE_OK, "span at the limit");
	m.lsn_end = m.lsn + 1;
	cr_assert_eq(decode_one(&m), TR_WIRE_OK, "one slot");
	m.lsn = TR_LSN_MAX - 1;
	m.lsn_end = TR_LSN_MAX + 1;
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_RANGE, "past the lsn space");
}

Test(reject, value_fields)
{
	static uint8_t big[9000];
	struct tr_msg s[S_COUNT], m;

	make_samples(s);
	m = s[S_COMMIT];
	m.value.proposer = 3;
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_VALUE);
	for (int c = 0; c < TR_COLUMNS; c++) {
		m = s[S_COMMIT];
		m.value.deps[c] = TR_LSN_MAX + 1;
		cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_VALUE, "deps[%d]", c);
		m.value.deps[c] = TR_LSN_MAX;
		cr_assert_eq(decode_one(&m), TR_WIRE_OK, "deps[%d]", c);
	}
	/* count 0 with bytes, bytes 0 with a count */
	m = s[S_COMMIT];
	m.value.cmd_count = 0;
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_VALUE);
	m = s[S_COMMIT];
	m.value.cmds_len = 0;
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_VALUE);
	/* count disagreeing with the commands present */
	m = s[S_COMMIT];
	m.value.cmd_count = 2;
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_CMD);
	m.value.cmd_count = 4;
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_CMD);
	/* over the configured limits */
	m = s[S_COMMIT];
	m.value.cmd_count = (uint16_t)(test_lim.cmd_count_max + 1);
	cr_assert_eq(decode_one(&m), TR_WIRE_E_TOO_BIG);
	m = s[S_COMMIT];
	m.value.cmds = big;
	m.value.cmds_len = test_lim.cmds_bytes_max + 1;
	cr_assert_geq(sizeof(big), (size_t)m.value.cmds_len);
	cr_assert_eq(decode_one(&m), TR_WIRE_E_TOO_BIG);
}

Test(reject, too_many_commands)
{
	struct tr_cmd many[17];
	uint8_t cmds[2048];
	struct tr_msg m = { .type = TR_MSG_COMMIT, .lsn = 1 };

	for (int i = 0; i < 17; i++) {
		many[i] = sample_cmds[1];
		many[i].seq = (uint64_t)i;
	}
	m.value.cmds = cmds;
	m.value.cmd_count = 16;
	m.value.cmds_len = (uint32_t)encode_cmds(cmds, sizeof(cmds), many, 16);
	cr_assert_eq(decode_one(&m), TR_WIRE_OK, "at the limit");
	m.value.cmd_count = 17;
	m.value.cmds_len = (uint32_t)encode_cmds(cmds, sizeof(cmds), many, 17);
	cr_assert_eq(decode_one(&m), TR_WIRE_E_TOO_BIG, "over the limit");
}

/* Encodes a COMMIT whose single command is c and returns the verdict. */
static int
one_cmd_verdict(const struct tr_cmd *c)
{
	uint8_t cmds[256];
	struct tr_msg m = { .type = TR_MSG_COMMIT, .lsn = 1, .value.cmd_count = 1 };

	m.value.cmds = cmds;
	m.value.cmds_len = (uint32_t)tr_cmd_encode(cmds, sizeof(cmds), c);
	cr_assert_gt(m.value.cmds_len, 0);
	return decode_one(&m);
}

Test(reject, malformed_commands)
{
	struct tr_cmd c;
	struct tr_msg s[S_COUNT], m;
	uint8_t cmds[1024];
	size_t len;

	c = sample_cmds[0];
	cr_assert_eq(one_cmd_verdict(&c), TR_WIRE_OK);
	c.op = 0;
	cr_assert_eq(one_cmd_verdict(&c), TR_WIRE_E_BAD_CMD, "op 0");
	c.op = TR_OP_PART + 1;
	cr_assert_eq(one_cmd_verdict(&c), TR_WIRE_E_BAD_CMD, "op 7");
	c.op = TR_OP_CMD; /* the embedder's: opaque bytes in val */
	cr_assert_eq(one_cmd_verdict(&c), TR_WIRE_OK, "op 4");
	c.op = TR_OP_DEL; /* a del carries no value */
	cr_assert_eq(one_cmd_verdict(&c), TR_WIRE_E_BAD_CMD, "del with a value");
	c = sample_cmds[0];
	c.window = 0;
	cr_assert_eq(one_cmd_verdict(&c), TR_WIRE_E_BAD_CMD, "window 0");
	c.window = 65;
	cr_assert_eq(one_cmd_verdict(&c), TR_WIRE_E_BAD_CMD, "window 65");
	c.window = 64;
	cr_assert_eq(one_cmd_verdict(&c), TR_WIRE_OK, "window 64");
	c = sample_cmds[0];
	c.op = TR_OP_GET; /* a get carrying a value */
	cr_assert_eq(one_cmd_verdict(&c), TR_WIRE_E_BAD_CMD, "val on a get");
	c.op = TR_OP_DEL;
	cr_assert_eq(one_cmd_verdict(&c), TR_WIRE_E_BAD_CMD, "val on a del");
	{
		/* A part (issue 16): no key, a val of at least its header. */
		uint8_t pv[TR_PART_HDR_BYTES + 4] = {0};

		c.op = TR_OP_PART;
		c.key_len = 0;
		c.val = pv;
		c.val_len = sizeof(pv);
		cr_assert_eq(one_cmd_verdict(&c), TR_WIRE_OK, "a part");
		c.val_len = TR_PART_HDR_BYTES;
		cr_assert_eq(one_cmd_verdict(&c), TR_WIRE_OK, "a part of no bytes");
		c.val_len = TR_PART_HDR_BYTES - 1;
		cr_assert_eq(one_cmd_verdict(&c), TR_WIRE_E_BAD_CMD, "a part short of its header");
		c.val_len = sizeof(pv);
		c.key_len = 1;
		cr_assert_eq(one_cmd_verdict(&c), TR_WIRE_E_BAD_CMD, "a part with a key");
	}

	/* key_len running past the end of the value's commands, inside the
	 * message area (a following message supplies the bytes). */
	make_samples(s);
	m = s[S_COMMIT];
	len = encode_cmds(cmds, sizeof(cmds), sample_cmds, 3);
	cmds[24 + 5 + 7 + 18] = 200; /* second command's key_len */
	m.value.cmds = cmds;
	m.value.cmds_len = (uint32_t)len;
	{
		struct tr_msg two[2] = { m, s[S_STATUS] };
		uint8_t buf[BUF_BYTES];
		size_t n = frame_of(buf, sizeof(buf), &test_hdr, two, 2);

		cr_assert_eq(decode_err(buf, n), TR_WIRE_E_BAD_CMD, "key_len past the end");
	}
	/* val_len running past the end */
	len = encode_cmds(cmds, sizeof(cmds), sample_cmds, 1);
	cmds[20] = 8;
	m.value.cmd_count = 1;
	m.value.cmds_len = (uint32_t)len;
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_CMD, "val_len past the end");
	/* commands shorter than their declared length */
	len = encode_cmds(cmds, sizeof(cmds), sample_cmds, 1);
	cmds[20] = 6;
	cr_assert_eq(decode_one(&m), TR_WIRE_E_BAD_CMD, "bytes left over");
}

/* Seeded random frames: round trip, then mutations resealed with a fresh
 * length and crc so the decoder's structural checks are exercised. */

static uint64_t
xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static unsigned
rnd(uint64_t *s, unsigned n)
{
	return (unsigned)(xorshift(s) % n);
}

static uint8_t pool[256];

static struct tr_ballot
rand_ballot(uint64_t *s, bool none_ok)
{
	struct tr_ballot b = { 0 };

	if (none_ok && rnd(s, 3) == 0)
		return b;
	b.n = 1 + (uint32_t)rnd(s, rnd(s, 2) ? 10 : TR_BALLOT_N_MAX - 1);
	b.replica = (uint8_t)rnd(s, TR_REPLICAS);
	return b;
}

static uint64_t
rand_lsn(uint64_t *s)
{
	return rnd(s, 2) ? rnd(s, 1000) : xorshift(s) % TR_LSN_MAX;
}

/* A random valid value; its commands go to arena + *used. */
static struct tr_value
rand_value(uint64_t *s, uint8_t *arena, size_t cap, size_t *used)
{
	struct tr_value v = { 0 };
	unsigned n = rnd(s, 3) == 0 ? 0 : 1 + rnd(s, 4);

	for (int i = 0; i < TR_COLUMNS; i++)
		v.deps[i] = rnd(s, 8) == 0 ? TR_LSN_MAX : rand_lsn(s);
	v.proposer = (uint8_t)rnd(s, TR_REPLICAS);
	v.cmds = n ? arena + *used : NULL;
	for (unsigned i = 0; i < n; i++) {
		struct tr_cmd c = { 0 };
		size_t k;

		c.op = (uint8_t)(1 + rnd(s, 3));
		c.window = (uint8_t)(1 + rnd(s, TR_WINDOW_MAX));
		c.client_id = xorshift(s);
		c.seq = rnd(s, 2) ? rnd(s, 100) : xorshift(s);
		c.key_len = (uint16_t)rnd(s, 13);
		c.key = pool + rnd(s, 64);
		if (c.op == TR_OP_SET) {
			c.val_len = rnd(s, 21);
			c.val = pool + rnd(s, 64);
		}
		k = tr_cmd_encode(arena + *used, cap - *used, &c);
		cr_assert_gt(k, 0);
		*used += k;
		v.cmds_len += (uint32_t)k;
	}
	v.cmd_count = (uint16_t)n;
	return v;
}

static void
rand_msg(uint64_t *s, struct tr_msg *m, uint8_t *arena, size_t cap, size_t *used)
{
	memset(m, 0, sizeof(*m));
	m->type = (uint8_t)(1 + rnd(s, TR_MSG_TYPE_COUNT - 1));
	switch (m->type) {
	case TR_MSG_ACCEPT:
		m->lsn = rand_lsn(s);
		m->ballot = rand_ballot(s, false);
		m->vbal = rand_ballot(s, true);
		m->value = rand_value(s, arena, cap, used);
		break;
	case TR_MSG_ACCEPT_REPLY:
		m->lsn = rand_lsn(s);
		m->ballot = rand_ballot(s, false);
		m->reply = (uint8_t)(1 + rnd(s, 3));
		if (m->reply == TR_REPLY_REJECT)
			m->promised = rand_ballot(s, false);
		else
			m->value = rand_value(s, arena, cap, used);
		break;
	case TR_MSG_COMMIT:
	case TR_MSG_FETCH_REPLY:
		m->lsn = rand_lsn(s);
		m->value = rand_value(s, arena, cap, used);
		break;
	case TR_MSG_FETCH:
		m->lsn = rand_lsn(s) % (TR_LSN_MAX - 200);
		m->lsn_end = m->lsn + 1 + rnd(s, test_lim.fetch_span_max);
		break;
	case TR_MSG_STATUS:
		m->committed = rand_lsn(s);
		m->applied = rand_lsn(s);
		m->heard = rand_lsn(s);
		for (int i = 0; i < TR_COLUMNS; i++)
			m->known[i] = rnd(s, 4) == 0 ? TR_LSN_MAX : rand_lsn(s);
		break;
	case TR_MSG_READ_INDEX:
		m->read_id = xorshift(s);
		break;
	case TR_MSG_READ_INDEX_REPLY:
		m->read_id = rnd(s, 2) ? rnd(s, 100) : xorshift(s);
		for (int i = 0; i < TR_COLUMNS; i++)
			m->known[i] = rnd(s, 4) == 0 ? TR_LSN_MAX : rand_lsn(s);
		break;
	}
}

/* Decodes an exact-size copy of buf; if accepted, the messages must encode
 * back to the same bytes. Returns the reason. */
static int
decode_reencode(const uint8_t *buf, size_t len)
{
	static struct tr_msg msgs[TR_FRAME_MSGS_MAX];
	uint8_t *copy = malloc(len ? len : 1), out[BUF_BYTES];
	struct tr_frame_hdr h;
	unsigned count = 777;
	int err;

	cr_assert_not_null(copy);
	memcpy(copy, buf, len);
	err = tr_frame_decode(copy, len, &test_lim, &h, msgs, TR_FRAME_MSGS_MAX, &count);
	if (err == TR_WIRE_OK) {
		size_t n;

		cr_assert_eq(count, h.msg_count);
		n = frame_of(out, sizeof(out), &h, msgs, count);
		cr_assert_eq(n, len);
		cr_assert_eq(memcmp(out, copy, len), 0, "accepted frame re-encodes differently");
	} else {
		cr_assert_eq(count, 0);
		cr_assert(err > 0 && err < TR_WIRE_E_COUNT);
	}
	free(copy);
	return err;
}

Test(random, roundtrip_and_mutations)
{
	uint64_t seed = UINT64_C(0x9e3779b97f4a7c15);
	unsigned seen[TR_WIRE_E_COUNT] = { 0 }, distinct = 0;
	static uint8_t arena[8192], buf[BUF_BYTES], mut[BUF_BYTES + 64];
	struct tr_msg msgs[8], got[8];

	for (size_t i = 0; i < sizeof(pool); i++)
		pool[i] = (uint8_t)xorshift(&seed);
	for (int f = 0; f < 400; f++) {
		struct tr_frame_hdr h = { .cluster_id = CLUSTER, .to = 1 };
		unsigned n = 1 + rnd(&seed, 8), count = 0;
		size_t used = 0, len;

		h.from = rnd(&seed, 2) ? 0 : 2;
		h.column = (uint8_t)rnd(&seed, TR_COLUMNS);
		for (unsigned i = 0; i < n; i++)
			rand_msg(&seed, &msgs[i], arena, sizeof(arena), &used);
		len = frame_of(buf, sizeof(buf), &h, msgs, n);
		cr_assert_eq(tr_frame_decode(buf, len, &test_lim, NULL, got, 8, &count),
			     TR_WIRE_OK, "frame %d", f);
		cr_assert_eq(count, n);
		for (unsigned i = 0; i < n; i++)
			check_msg(&got[i], &msgs[i], &h);
		cr_assert_eq(decode_reencode(buf, len), TR_WIRE_OK);

		for (int k = 0; k < 24; k++) {
			size_t mlen = len, body = len - TR_WIRE_HDR_BYTES - TR_WIRE_CRC_BYTES;
			size_t pos = TR_WIRE_HDR_BYTES + rnd(&seed, (unsigned)body);
			unsigned kind = rnd(&seed, 8), nb = 1 + rnd(&seed, 3);
			int err;

			memcpy(mut, buf, len);
			if (kind == 0) {
				/* any byte, header included */
				mut[rnd(&seed, (unsigned)(len - 4))] = (uint8_t)xorshift(&seed);
			} else if (kind == 1) {
				/* delete nb bytes of the message area */
				nb = nb < body - (pos - TR_WIRE_HDR_BYTES) ?
					     nb : (unsigned)(body - (pos - TR_WIRE_HDR_BYTES));
				memmove(mut + pos, buf + pos + nb, len - pos - nb);
				mlen = len - nb;
			} else if (kind == 2) {
				/* insert nb random bytes */
				memcpy(mut + pos + nb, buf + pos, len - pos);
				for (unsigned j = 0; j < nb; j++)
					mut[pos + j] = (uint8_t)xorshift(&seed);
				mlen = len + nb;
			} else {
				/* overwrite 1..3 message bytes, often with small values */
				for (unsigned j = 0; j < nb; j++) {
					size_t p = TR_WIRE_HDR_BYTES + rnd(&seed, (unsigned)body);

					mut[p] = rnd(&seed, 2) ? (uint8_t)rnd(&seed, 8) :
								 (uint8_t)xorshift(&seed);
				}
			}
			fix_frame(mut, mlen);
			err = decode_reencode(mut, mlen);
			cr_assert_neq(err, TR_WIRE_E_BAD_CHECKSUM);
			cr_assert_neq(err, TR_WIRE_E_BAD_LENGTH);
			seen[err]++;
		}
	}
	for (int e = 0; e < TR_WIRE_E_COUNT; e++)
		distinct += seen[e] != 0;
	/* Both outcomes occur, and many distinct reasons are reached. */
	cr_assert_gt(seen[TR_WIRE_OK], 100);
	cr_assert_gt(seen[TR_WIRE_E_TRUNCATED], 0);
	cr_assert_gt(seen[TR_WIRE_E_BAD_CMD], 0);
	cr_assert_gt(seen[TR_WIRE_E_BAD_TYPE], 0);
	cr_assert_geq(distinct, 10, "only %u distinct outcomes", distinct);
}
