/* SPDX-License-Identifier: MIT
 * Writes the fuzzers' seed corpus, reproducibly (scripts/fuzz.sh runs it):
 *   OUT/wire/    frames for fuzz_wire (wire v4): every message type and reply
 *                kind, a frame holding all of them, and one with a stale
 *                checksum;
 *   OUT/engine/  event streams for fuzz_engine (fuzz.h gives the format):
 *                a client write through ACCEPT -> reply -> COMMIT -> apply,
 *                the acceptor side, catch-up, recovery, a rejected ballot,
 *                batching, a P7 re-proposal, a raw frame, a Byzantine commit,
 *                §12 (a joiner, REFUSED, TOO_OLD, a peer's new life), barrier
 *                reads, and issue 17's hostile values.
 * Usage: gen_corpus OUT_DIR   (OUT_DIR/wire and OUT_DIR/engine must exist)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define BUF_BYTES 4096

static const char *out_dir;

static void
write_file(const char *sub, const char *name, const uint8_t *buf, size_t len)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, sub, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* Wire seeds. */

static uint8_t cmds_buf[3][512];

/* A value with n commands (0: a NOOP) drawn from set, get, del. */
static struct tr_value
sample_value(unsigned which, unsigned n, uint8_t proposer)
{
	static const char *const keys[] = {"k0", "k1", "k2"};
	struct tr_value v = {.deps = {1, 2, 0}, .proposer = proposer};

	for (unsigned i = 0; i < n; i++) {
		struct tr_cmd c = {
			.op = (uint8_t)(TR_OP_SET + i % 3),
			.window = 8,
			.client_id = 1 + i,
			.seq = 1 + i,
			.key = (const uint8_t *)keys[i % 3],
			.key_len = 2,
		};
		if (c.op == TR_OP_SET) {
			c.val = (const uint8_t *)"value";
			c.val_len = 5;
		}
		v.cmds_len += (uint32_t)tr_cmd_encode(cmds_buf[which] + v.cmds_len,
						      sizeof(cmds_buf[which]) - v.cmds_len, &c);
		v.cmd_count++;
	}
	v.cmds = n > 0 ? cmds_buf[which] : NULL;
	return v;
}

/* STATUS carries the state machine's limits: the engine target's (a
 * mismatch stops the replica). */
static void
sm_limits(struct tr_msg *m)
{
	struct tr_config cfg;

	fuzz_config(&cfg);
	m->sm_keys_max = cfg.sm_keys_max;
	m->sm_clients_max = cfg.sm_clients_max;
}

static size_t
frame(uint8_t *buf, uint8_t from, uint8_t column, const struct tr_msg *msgs, unsigned n)
{
	struct tr_frame_hdr hdr = {.cluster_id = FUZZ_CLUSTER, .from = from, .to = FUZZ_SELF,
				   .column = column, .inc = 1};
	struct tr_frame_writer w;
	struct tr_wire_limits lim = {
		.cluster_id = FUZZ_CLUSTER,
		.self = FUZZ_SELF,
		.cmd_count_max = FUZZ_BATCH_CMDS,
		.cmds_bytes_max = FUZZ_BATCH_BYTES,
		.fetch_span_max = FUZZ_FETCH_SPAN,
	};
	struct tr_msg dec[TR_FRAME_MSGS_MAX];
	unsigned count;
	size_t len;

	if (tr_frame_begin(&w, buf, BUF_BYTES, &hdr) != 0)
		abort();
	for (unsigned i = 0; i < n; i++)
		if (tr_frame_add(&w, &msgs[i]) != 0)
			abort();
	len = tr_frame_end(&w);
	/* Seeds must be valid for both targets' limits. */
	if (tr_frame_decode(buf, len, &lim, NULL, dec, TR_FRAME_MSGS_MAX, &count) != 0 ||
	    count != n) {
		fprintf(stderr, "gen_corpus: a seed frame does not decode\n");
		exit(1);
	}
	return len;
}

#define B(n_, r_) ((struct tr_ballot){.n = (n_), .replica = (r_), .inc = 1})
#define WIRE_MSGS 13

static struct tr_msg wire_msgs[WIRE_MSGS];

static void
gen_wire(void)
{
	uint8_t buf[BUF_BYTES];
	struct tr_msg *m = wire_msgs;
	size_t len;

	memset(wire_msgs, 0, sizeof(wire_msgs));
	m[0] = (struct tr_msg){.type = TR_MSG_ACCEPT, .lsn = 0, .ballot = B(1, 0),
			       .value = sample_value(0, 3, 0)};
	m[1] = (struct tr_msg){.type = TR_MSG_ACCEPT_REPLY, .lsn = 3, .ballot = B(2, 1),
			       .reply = TR_REPLY_OK, .value = sample_value(1, 1, 1)};
	m[2] = (struct tr_msg){.type = TR_MSG_ACCEPT_REPLY, .lsn = 4, .ballot = B(2, 1),
			       .reply = TR_REPLY_REJECT, .promised = B(7, 2)};
	m[3] = (struct tr_msg){.type = TR_MSG_COMMIT, .lsn = 5, .value = sample_value(2, 2, 0)};
	m[4] = (struct tr_msg){.type = TR_MSG_FETCH, .lsn = 2, .lsn_end = 10};
	m[5] = (struct tr_msg){.type = TR_MSG_FETCH_REPLY, .lsn = 6, .value = sample_value(2, 0, 2)};
	m[6] = (struct tr_msg){.type = TR_MSG_STATUS, .committed = 6, .applied = 4,
			       .known = {7, 3, 9}};
	sm_limits(&m[6]);
	m[7] = (struct tr_msg){.type = TR_MSG_READ_INDEX, .read_id = 5};
	m[8] = (struct tr_msg){.type = TR_MSG_READ_INDEX_REPLY, .read_id = 5, .known = {4, 6, 2}};
	m[9] = (struct tr_msg){.type = TR_MSG_TOO_OLD, .lsn = 64};
	m[10] = (struct tr_msg){.type = TR_MSG_JOIN, .read_id = 77};
	m[11] = (struct tr_msg){.type = TR_MSG_JOIN_REPLY, .read_id = 77, .inc_seen = 3,
				.known = {9, 8, 7}, .frontier = {5, 4, 3}};
	m[12] = (struct tr_msg){.type = TR_MSG_ACCEPT_REPLY, .lsn = 5, .ballot = B(3, 1),
				.reply = TR_REPLY_REFUSED};

	write_file("wire", "accept", buf, frame(buf, 0, 0, &m[0], 1));
	{
		struct tr_msg vote = m[0];

		vote.ballot = B(3, 2);
		vote.vbal = B(2, 0);
		vote.vbal.inc = 2;
		write_file("wire", "accept-vote", buf, frame(buf, 2, 0, &vote, 1));
	}
	write_file("wire", "accept-reply-ok", buf, frame(buf, 2, 1, &m[1], 1));
	{
		struct tr_msg oc = m[1];

		oc.reply = TR_REPLY_OK_COMMITTED;
		write_file("wire", "accept-reply-committed", buf, frame(buf, 0, 1, &oc, 1));
	}
	write_file("wire", "accept-reply-reject", buf, frame(buf, 0, 1, &m[2], 1));
	write_file("wire", "commit", buf, frame(buf, 0, 0, &m[3], 1));
	{
		struct tr_msg ref = m[1], cref = m[3];

		ref.ref = true; /* W1 */
		write_file("wire", "accept-reply-ok-ref", buf, frame(buf, 2, 1, &ref, 1));
		cref.ref = true; /* W2 */
		cref.ballot = B(3, 0);
		write_file("wire", "commit-ref", buf, frame(buf, 0, 0, &cref, 1));
	}
	write_file("wire", "fetch", buf, frame(buf, 2, 1, &m[4], 1));
	write_file("wire", "fetch-reply-noop", buf, frame(buf, 0, 2, &m[5], 1));
	write_file("wire", "status", buf, frame(buf, 2, 2, &m[6], 1));
	write_file("wire", "read-index", buf, frame(buf, 0, 0, &m[7], 1));
	write_file("wire", "read-index-reply", buf, frame(buf, 0, 1, &m[8], 1));
	write_file("wire", "too-old", buf, frame(buf, 2, 2, &m[9], 1));
	write_file("wire", "join", buf, frame(buf, 0, 0, &m[10], 1));
	write_file("wire", "join-reply", buf, frame(buf, 2, 1, &m[11], 1));
	write_file("wire", "accept-reply-refused", buf, frame(buf, 2, 1, &m[12], 1));
	{
		struct tr_msg big = m[0];

		/* Values at the codec's limits: the engine's plausibility judges. */
		big.ballot.n = TR_BALLOT_N_MAX;
		big.ballot.inc = TR_INC_MAX - 1;
		for (int i = 0; i < TR_COLUMNS; i++)
			big.value.deps[i] = TR_LSN_MAX;
		write_file("wire", "accept-extremes", buf, frame(buf, 0, 0, &big, 1));
	}
	write_file("wire", "all-types", buf, frame(buf, 0, 0, m, WIRE_MSGS));
	/* A stale checksum: rejected as is, decoded once fixed up. */
	len = frame(buf, 2, 2, &m[3], 1);
	buf[len - 1] ^= 0x5a;
	write_file("wire", "commit-bad-crc", buf, len);
}

/* Engine seeds: event streams. */

static void gen_engine_more(void);

struct stream {
	uint8_t b[BUF_BYTES];
	size_t n;
};

static void
put(struct stream *s, unsigned v)
{
	if (s->n >= sizeof(s->b))
		abort();
	s->b[s->n++] = (uint8_t)v;
}

static void
put16(struct stream *s, unsigned v)
{
	put(s, v & 0xff);
	put(s, (v >> 8) & 0xff);
}

/* cmd := op client seq key vlen val  (op byte: 0 set, 1 get, 2 del) */
static void
put_cmd(struct stream *s, uint8_t op, unsigned client, unsigned seq, unsigned key,
	const char *val)
{
	size_t vlen = val != NULL ? strlen(val) : 0;

	put(s, (unsigned)(op - TR_OP_SET));
	put(s, client);
	put(s, seq);
	put(s, key);
	put(s, (unsigned)vlen);
	for (size_t i = 0; i < vlen; i++)
		put(s, (uint8_t)val[i]);
}

static void
submit(struct stream *s, bool flush, uint8_t op, unsigned client, unsigned key,
       const char *val)
{
	put(s, FUZZ_OP(FUZZ_EV_SUBMIT, flush ? 0 : 1));
	put_cmd(s, op, client, 0, key, val);
}

static void
tick(struct stream *s, unsigned us_x10, unsigned mult)
{
	put(s, FUZZ_OP(FUZZ_EV_TICK, mult - 1));
	put(s, us_x10 - 1);
}

static void
apply(struct stream *s, unsigned max)
{
	put(s, FUZZ_OP(FUZZ_EV_APPLY, max - 1));
}

static void
reply(struct stream *s, unsigned idx, unsigned mode)
{
	put(s, FUZZ_OP(FUZZ_EV_REPLY, 0));
	put(s, idx);
	put(s, mode);
}

/* value spec: kind (0 NOOP, 1 one command), proposer, deps; then the command. */
static void
put_value(struct stream *s, unsigned kind, unsigned proposer, unsigned d0, unsigned d1,
	  unsigned d2)
{
	put(s, kind | proposer << 2);
	put(s, d0);
	put(s, d1);
	put(s, d2);
	if (kind == 1)
		put_cmd(s, TR_OP_SET, 2, 1, 3, "peer");
}

static unsigned
msg_arg(unsigned column, unsigned from)
{
	return column + TR_COLUMNS * from;
}

/* A MSG event's head: op, the sender's incarnation (0: its current one), type. */
static void
msg_head(struct stream *s, unsigned column, unsigned from, unsigned type)
{
	put(s, FUZZ_OP(FUZZ_EV_MSG, msg_arg(column, from)));
	put(s, 0);
	put(s, type - 1);
}

static void
msg_accept(struct stream *s, unsigned column, unsigned from, unsigned lsn, unsigned bn,
	   unsigned vbn, unsigned kind)
{
	msg_head(s, column, from, TR_MSG_ACCEPT);
	put(s, lsn);
	put(s, bn);
	put(s, from);
	put(s, vbn);
	put(s, from);
	put_value(s, kind, column, 0, 0, 0);
}

static void
msg_commit(struct stream *s, unsigned column, unsigned from, unsigned lsn, unsigned kind,
	   unsigned proposer, unsigned dep)
{
	msg_head(s, column, from, TR_MSG_COMMIT);
	put(s, lsn);
	put_value(s, kind, proposer, dep, 0, 0);
}

static void
msg_status(struct stream *s, unsigned column, unsigned from, unsigned committed)
{
	msg_head(s, column, from, TR_MSG_STATUS);
	put(s, committed);
	put(s, committed);
	put(s, column == 0 ? committed : 0);
	put(s, column == 1 ? committed : 0);
	put(s, column == 2 ? committed : 0);
}

static void
save(const char *name, const struct stream *s)
{
	write_file("engine", name, s->b, s->n);
}

/* u64 as the fuzzer's lsn encoding: 0xfe then 8 bytes (masked to 2^49). */
static void
put_lsn64(struct stream *s, uint64_t v)
{
	put(s, 0xfe);
	for (int i = 0; i < 8; i++)
		put(s, (unsigned)(v >> (8 * i)) & 0xff);
}

/* A ballot as build_ballot reads it: n (0xff: a u64 follows who), who. */
static void
put_ballot(struct stream *s, uint64_t n, unsigned who)
{
	put(s, n < 0xff ? (unsigned)n : 0xff);
	put(s, who);
	if (n >= 0xff)
		for (int i = 0; i < 8; i++)
			put(s, (unsigned)(n >> (8 * i)) & 0xff);
}

/* §12, reads and issue 17's hostile values. */
static void
gen_engine_more(void)
{
	struct stream s;

	/* J1: an amnesiac JOINs both peers, they answer, then a client write. */
	memset(&s, 0, sizeof(s));
	put(&s, FUZZ_SETUP_JOIN);
	tick(&s, 100, 1);
	reply(&s, 0, 0x0c);  /* JOIN_REPLY: known 3, frontier 0 */
	reply(&s, 1, 0x0d);
	tick(&s, 100, 1);
	submit(&s, true, TR_OP_SET, 0, 1, "joined");
	reply(&s, 0, 0);
	apply(&s, 8);
	tick(&s, 250, 4);
	save("join", &s);

	/* J2: the peer is joining and refuses; the other one votes. */
	memset(&s, 0, sizeof(s));
	put(&s, 0);
	submit(&s, true, TR_OP_SET, 1, 2, "refused");
	reply(&s, 0, 15);    /* REFUSED */
	tick(&s, 10, 1);
	reply(&s, 0, 0);
	apply(&s, 4);
	save("refused", &s);

	/* T1: a FETCH answered TOO_OLD, an ACCEPT answered TOO_OLD. */
	memset(&s, 0, sizeof(s));
	put(&s, 0);
	msg_commit(&s, 2, 2, 5, 1, 2, 0);
	tick(&s, 100, 1);
	tick(&s, 100, 1);
	reply(&s, 0, 0xf3);
	msg_head(&s, 0, 0, TR_MSG_TOO_OLD);
	put(&s, 40);
	tick(&s, 200, 2);
	save("too-old", &s);

	/* J0: a peer's new life, then a message of its older one (dropped). */
	memset(&s, 0, sizeof(s));
	put(&s, 0);
	put(&s, FUZZ_OP(FUZZ_EV_MSG, msg_arg(0, 0)));
	put(&s, 0xf0);       /* new life */
	put(&s, TR_MSG_STATUS - 1);
	for (int i = 0; i < 5; i++)
		put(&s, 1);
	put(&s, FUZZ_OP(FUZZ_EV_MSG, msg_arg(0, 0)));
	put(&s, 0xf9);       /* inc 1: the old life */
	put(&s, TR_MSG_COMMIT - 1);
	put(&s, 0);
	put_value(&s, 1, 0, 1, 0, 0);
	tick(&s, 100, 1);
	save("new-life", &s);

	/* Q1-Q3: barrier reads, READ_INDEX answered, applied. */
	memset(&s, 0, sizeof(s));
	put(&s, 0);
	submit(&s, true, TR_OP_SET, 0, 1, "r");
	reply(&s, 0, 0);
	put(&s, FUZZ_OP(FUZZ_EV_SUBMIT, 2));
	put_cmd(&s, TR_OP_GET, 1, 0, 1, NULL);
	reply(&s, 0, 0);
	apply(&s, 8);
	tick(&s, 100, 1);
	save("read-barrier", &s);

	/* A peer's requests: FETCH, READ_INDEX and JOIN (we answer), and an
	 * ACCEPT answered OK_COMMITTED. */
	memset(&s, 0, sizeof(s));
	put(&s, 0);
	msg_commit(&s, 0, 0, 0, 1, 0, 1);
	msg_head(&s, 0, 2, TR_MSG_FETCH);
	put(&s, 0);
	put(&s, 3);
	msg_head(&s, 0, 0, TR_MSG_READ_INDEX);
	put(&s, 9);
	msg_head(&s, 0, 0, TR_MSG_JOIN);
	put(&s, 4);
	submit(&s, true, TR_OP_SET, 2, 2, "c");
	reply(&s, 0, 1);
	apply(&s, 8);
	tick(&s, 250, 8);
	save("peer-requests", &s);

	/* Issue 17, attack 1: one COMMIT with deps 2^48 in every column. */
	memset(&s, 0, sizeof(s));
	put(&s, 0);
	msg_head(&s, 0, 0, TR_MSG_COMMIT);
	put(&s, 0);
	put(&s, 1 | 0 << 2);
	for (int i = 0; i < TR_COLUMNS; i++) {
		put(&s, 0xff);
		put16(&s, 0xffff);
	}
	put_cmd(&s, TR_OP_SET, 2, 1, 3, "deps");
	put(&s, FUZZ_OP(FUZZ_EV_FRAME, 1));
	{
		uint8_t buf[BUF_BYTES];
		struct tr_msg m;
		size_t len;

		memset(&m, 0, sizeof(m));
		m = (struct tr_msg){.type = TR_MSG_COMMIT, .lsn = 1, .value = sample_value(0, 1, 2)};
		for (int i = 0; i < TR_COLUMNS; i++)
			m.value.deps[i] = TR_LSN_MAX;
		len = frame(buf, 2, 2, &m, 1);
		put16(&s, (unsigned)len);
		for (size_t i = 0; i < len; i++)
			put(&s, buf[i]);
	}
	submit(&s, true, TR_OP_SET, 0, 1, "after");
	reply(&s, 0, 0);
	tick(&s, 250, 8);
	apply(&s, 8);
	save("attack-deps", &s);

	/* Attack 2: ACCEPTs at n = 2^30 for slots of the other columns. */
	memset(&s, 0, sizeof(s));
	put(&s, 0);
	for (unsigned col = 0; col < TR_COLUMNS; col += 2) {
		msg_head(&s, col, col, TR_MSG_ACCEPT);
		put(&s, 0);
		put_ballot(&s, TR_BALLOT_N_MAX, col);
		put_ballot(&s, 0, 0);
		put_value(&s, 0, col, 1, 0, 0);
	}
	tick(&s, 250, 32);
	tick(&s, 250, 32);
	reply(&s, 0, 2);     /* our recovery REJECTed at the absurd promise */
	tick(&s, 250, 32);
	save("attack-ballot", &s);

	/* Attack 3: COMMITs carrying a client command, from non-owners, in our
	 * own column and in theirs. */
	memset(&s, 0, sizeof(s));
	put(&s, 0);
	submit(&s, true, TR_OP_SET, 0, 1, "mine");
	msg_commit(&s, FUZZ_SELF, 0, 0, 1, FUZZ_SELF, 1);
	msg_commit(&s, 0, 2, 0, 1, 2, 1);
	msg_commit(&s, 2, 0, 3, 1, 2, 0);
	reply(&s, 0, 0);
	apply(&s, 8);
	tick(&s, 250, 8);
	save("attack-commands", &s);

	/* A barrage: extreme lsns in STATUS, READ_INDEX_REPLY and JOIN_REPLY. */
	memset(&s, 0, sizeof(s));
	put(&s, 0);
	msg_head(&s, 2, 2, TR_MSG_STATUS);
	for (int i = 0; i < 5; i++)
		put_lsn64(&s, TR_LSN_MAX);
	msg_head(&s, FUZZ_SELF, 0, TR_MSG_READ_INDEX_REPLY);
	for (int i = 0; i < TR_COLUMNS; i++)
		put_lsn64(&s, TR_LSN_MAX);
	tick(&s, 250, 8);
	save("attack-known", &s);
}

static void
gen_engine(void)
{
	struct stream s;

	/* A client write: ACCEPT to a peer, its OK, our COMMITs, apply. */
	memset(&s, 0, sizeof(s));
	put(&s, 0);
	submit(&s, true, TR_OP_SET, 0, 1, "hello");
	reply(&s, 0, 0);
	apply(&s, 4);
	submit(&s, true, TR_OP_GET, 0, 1, NULL);
	reply(&s, 0, 0);
	apply(&s, 4);
	tick(&s, 200, 1);
	save("owner-write", &s);

	/* The same with room for one message per step. */
	s.b[0] = 1;
	save("owner-write-cap1", &s);

	/* Acceptor: a peer's ACCEPT, our vote, its COMMIT, apply. */
	memset(&s, 0, sizeof(s));
	put(&s, 0);
	msg_accept(&s, 0, 0, 0, 1, 0, 1);
	reply(&s, 0, 0);
	msg_accept(&s, 2, 2, 0, 1, 0, 0);
	reply(&s, 0, 1); /* a duplicate ACCEPT (A6) */
	reply(&s, 0, 0);
	apply(&s, 8);
	tick(&s, 150, 1);
	save("acceptor", &s);

	/* Catch-up: a commit past a gap, a STATUS ahead, ticks, FETCH, replies. */
	memset(&s, 0, sizeof(s));
	put(&s, 0);
	msg_commit(&s, 0, 0, 1, 1, 0, 0);
	msg_status(&s, 0, 0, 3);
	tick(&s, 100, 1);
	tick(&s, 100, 1);
	reply(&s, 4, 1); /* the FETCH (5th newest): a FETCH_REPLY for slot 0 */
	apply(&s, 8);
	tick(&s, 250, 4);
	save("catch-up", &s);

	/* Recovery: a peer's slot left uncommitted; we fetch, then recover it. */
	memset(&s, 0, sizeof(s));
	put(&s, 0);
	msg_accept(&s, 2, 2, 0, 1, 0, 1);
	tick(&s, 250, 4);
	tick(&s, 250, 4);
	tick(&s, 250, 8);
	reply(&s, 0, 0);
	apply(&s, 4);
	save("recovery", &s);

	/* A rejected ballot, a retry after the back-off, then OK. */
	memset(&s, 0, sizeof(s));
	put(&s, 0);
	submit(&s, true, TR_OP_DEL, 1, 2, NULL);
	reply(&s, 0, 8);  /* REJECT, promised (2, 0) */
	tick(&s, 100, 1); /* STATUS x4, FETCH, the retry, STATUS x2 */
	reply(&s, 2, 0);  /* OK for the retry */
	apply(&s, 2);
	save("reject-retry", &s);

	/* Batching: commands queue unflushed, then go out as one instance. */
	memset(&s, 0, sizeof(s));
	put(&s, 0);
	for (unsigned i = 0; i < 5; i++)
		submit(&s, false, TR_OP_SET, i % 3, i, "v");
	submit(&s, true, TR_OP_GET, 3, 0, NULL);
	reply(&s, 0, 0);
	apply(&s, 8);
	save("batch", &s);

	/* P7: a recoverer's NOOP takes our slot; the commands go again. */
	memset(&s, 0, sizeof(s));
	put(&s, 0);
	submit(&s, true, TR_OP_SET, 0, 1, "again");
	msg_commit(&s, 1, 0, 0, 0, 0, 0);
	reply(&s, 0, 0);
	apply(&s, 4);
	save("repropose", &s);

	/* A raw frame (fixed up) holding several messages for column 0. */
	memset(&s, 0, sizeof(s));
	put(&s, 0);
	{
		uint8_t buf[BUF_BYTES];
		struct tr_msg m[3];
		size_t len;

		memset(m, 0, sizeof(m));
		m[0] = (struct tr_msg){.type = TR_MSG_ACCEPT, .lsn = 0, .ballot = B(1, 0),
				       .value = sample_value(0, 2, 0)};
		m[1] = (struct tr_msg){.type = TR_MSG_COMMIT, .lsn = 1,
				       .value = sample_value(1, 1, 0)};
		m[2] = (struct tr_msg){.type = TR_MSG_STATUS, .committed = 2, .applied = 0,
				       .known = {2, 0, 0}};
		sm_limits(&m[2]);
		len = frame(buf, 0, 0, m, 3);
		put(&s, FUZZ_OP(FUZZ_EV_FRAME, 1));
		put16(&s, (unsigned)len);
		for (size_t i = 0; i < len; i++)
			put(&s, buf[i]);
	}
	reply(&s, 0, 0);
	apply(&s, 4);
	tick(&s, 100, 2);
	save("frame", &s);

	/* A Byzantine peer: two different COMMITs for one slot stop the replica. */
	memset(&s, 0, sizeof(s));
	put(&s, 0);
	msg_commit(&s, 0, 0, 0, 1, 0, 0);
	msg_commit(&s, 0, 2, 0, 0, 0, 0);
	tick(&s, 10, 1);
	save("byzantine-commit", &s);

	gen_engine_more();
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus OUT_DIR\n");
		return 2;
	}
	out_dir = argv[1];
	gen_wire();
	gen_engine();
	return 0;
}
