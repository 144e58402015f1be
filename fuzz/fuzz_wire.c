/* SPDX-License-Identifier: MIT
 * libFuzzer target: the wire decoder (engine/wire.c).
 *
 * The input is one frame. It is decoded as is and, when that fails, once more
 * with its length field and crc32c rewritten, so that the fuzzer reaches the
 * message parsers behind the checksum. For every decode:
 *   - a rejected frame yields a known reason and no messages;
 *   - an accepted frame obeys every limit it was decoded with, re-encodes
 *     (tr_frame_begin/add/end) to exactly the same bytes, does not fit a
 *     buffer one byte short, and every value's commands decode (tr_cmd_decode)
 *     and re-encode (tr_cmd_encode) to the same bytes.
 * Any violation aborts (a finding), as does any sanitizer report.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define FRAME_BYTES_MAX (1u << 17)

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "fuzz_wire: invariant failed at %s:%d: %s\n",   \
				__FILE__, __LINE__, #cond);                              \
			abort();                                                         \
		}                                                                        \
	} while (0)

static const struct tr_wire_limits lim = {
	.cluster_id = FUZZ_CLUSTER,
	.self = FUZZ_SELF,
	.cmd_count_max = FUZZ_WIRE_CMD_COUNT_MAX,
	.cmds_bytes_max = FUZZ_WIRE_CMDS_BYTES_MAX,
	.fetch_span_max = FUZZ_WIRE_FETCH_SPAN_MAX,
};

static struct tr_msg msgs[TR_FRAME_MSGS_MAX];
static uint8_t reenc[FRAME_BYTES_MAX];

static bool
ballot_ok(struct tr_ballot b, bool none_ok)
{
	if (b.replica >= TR_REPLICAS || b.inc >= TR_INC_MAX || b.n > TR_BALLOT_N_MAX)
		return false;
	if (b.n == 0)
		return none_ok && b.replica == 0 && b.inc == 0;
	return true;
}

/* A value's commands: exactly cmd_count of them, each well formed, each
 * re-encoding to its own bytes. */
static void
check_value(const struct tr_value *v)
{
	size_t off = 0;

	CHECK(v->proposer < TR_REPLICAS);
	for (int i = 0; i < TR_COLUMNS; i++)
		CHECK(v->deps[i] <= TR_LSN_MAX);
	CHECK(v->cmd_count <= lim.cmd_count_max && v->cmds_len <= lim.cmds_bytes_max);
	CHECK((v->cmd_count == 0) == (v->cmds_len == 0));
	CHECK((v->cmds_len == 0) == (v->cmds == NULL));
	CHECK(tr_cmds_validate(v->cmds, v->cmds_len, v->cmd_count) == TR_WIRE_OK);
	for (unsigned i = 0; i < v->cmd_count; i++) {
		struct tr_cmd c;
		uint8_t one[TR_WIRE_CMD_HDR_BYTES + TR_KEY_BYTES_MAX + 64];
		size_t start = off, n;

		CHECK(tr_cmd_decode(v->cmds, v->cmds_len, &off, &c) == TR_WIRE_OK);
		CHECK(off > start && off <= v->cmds_len);
		CHECK(c.op >= TR_OP_SET && c.op <= TR_OP_PART);
		CHECK(c.window >= 1 && c.window <= TR_WINDOW_MAX);
		CHECK(c.key_len <= TR_KEY_BYTES_MAX && c.val_len <= TR_VAL_BYTES_MAX);
		CHECK(c.key == v->cmds + start + TR_WIRE_CMD_HDR_BYTES);
		CHECK(tr_op_has_val(c.op) ? c.val == c.key + c.key_len
					  : (c.val == NULL && c.val_len == 0));
		CHECK(tr_cmd_bytes(&c) == off - start);
		/* Re-encode (the value part is bounded by cmds_bytes_max). */
		if (tr_cmd_bytes(&c) <= sizeof(one)) {
			n = tr_cmd_encode(one, sizeof(one), &c);
			CHECK(n == off - start);
			CHECK(memcmp(one, v->cmds + start, n) == 0);
			CHECK(tr_cmd_encode(one, n - 1, &c) == 0);
		}
	}
	CHECK(off == v->cmds_len);
}

static void
check_msg(const struct tr_msg *m, const struct tr_frame_hdr *hdr)
{
	CHECK(m->from == hdr->from && m->to == hdr->to && m->column == hdr->column);
	CHECK(m->inc == hdr->inc && hdr->inc < TR_INC_MAX);
	switch (m->type) {
	case TR_MSG_ACCEPT:
		CHECK(m->lsn < TR_LSN_MAX);
		CHECK(ballot_ok(m->ballot, false) && ballot_ok(m->vbal, true));
		check_value(&m->value);
		break;
	case TR_MSG_ACCEPT_REPLY:
		CHECK(m->lsn < TR_LSN_MAX);
		CHECK(ballot_ok(m->ballot, false));
		if (m->reply == TR_REPLY_REJECT) {
			CHECK(ballot_ok(m->promised, false));
		} else if (m->reply == TR_REPLY_REFUSED) {
			CHECK(m->value.cmds == NULL && m->value.cmds_len == 0);
		} else {
			CHECK(m->reply == TR_REPLY_OK || m->reply == TR_REPLY_OK_COMMITTED);
			check_value(&m->value);
		}
		break;
	case TR_MSG_COMMIT:
	case TR_MSG_FETCH_REPLY:
		CHECK(m->lsn < TR_LSN_MAX);
		check_value(&m->value);
		break;
	case TR_MSG_FETCH:
		CHECK(m->lsn < TR_LSN_MAX && m->lsn < m->lsn_end && m->lsn_end <= TR_LSN_MAX);
		CHECK(m->lsn_end - m->lsn <= lim.fetch_span_max);
		break;
	case TR_MSG_STATUS:
		CHECK(m->committed <= TR_LSN_MAX && m->applied <= TR_LSN_MAX);
		for (int i = 0; i < TR_COLUMNS; i++)
			CHECK(m->known[i] <= TR_LSN_MAX);
		break;
	case TR_MSG_READ_INDEX:
	case TR_MSG_JOIN:
		break;
	case TR_MSG_READ_INDEX_REPLY:
		for (int i = 0; i < TR_COLUMNS; i++)
			CHECK(m->known[i] <= TR_LSN_MAX);
		break;
	case TR_MSG_TOO_OLD:
		CHECK(m->lsn < TR_LSN_MAX);
		break;
	case TR_MSG_JOIN_REPLY:
		CHECK(m->inc_seen < TR_INC_MAX);
		for (int i = 0; i < TR_COLUMNS; i++)
			CHECK(m->known[i] <= TR_LSN_MAX && m->frontier[i] <= TR_LSN_MAX);
		break;
	default:
		/* A type this harness has no field rules for (added since): the
		 * round trip below still checks it, and tr_wire_msg_bytes asserts
		 * on a type the codec itself does not know. */
		CHECK(m->type > 0 && m->type < TR_MSG_TYPE_COUNT);
		break;
	}
}

/* Decodes buf and checks the outcome; returns the decoder's answer. */
static int
check_frame(const uint8_t *buf, size_t len)
{
	struct tr_frame_hdr hdr;
	struct tr_frame_writer w;
	unsigned count = 12345;
	size_t body = 0;
	int err = tr_frame_decode(buf, len, &lim, &hdr, msgs, TR_FRAME_MSGS_MAX, &count);

	if (err != TR_WIRE_OK) {
		CHECK(err > 0 && err < TR_WIRE_E_COUNT && err != TR_WIRE_E_NO_SPACE);
		CHECK(count == 0);
		CHECK(strcmp(tr_wire_strerror(err), "unknown error") != 0);
		return err;
	}
	CHECK(count >= 1 && count <= TR_FRAME_MSGS_MAX && count == hdr.msg_count);
	CHECK(hdr.cluster_id == lim.cluster_id && hdr.to == lim.self);
	CHECK(hdr.from < TR_REPLICAS && hdr.from != hdr.to && hdr.column < TR_COLUMNS);
	for (unsigned i = 0; i < count; i++) {
		check_msg(&msgs[i], &hdr);
		body += tr_wire_msg_bytes(&msgs[i]);
	}
	CHECK(body + TR_WIRE_HDR_BYTES + TR_WIRE_CRC_BYTES == len);

	/* Round trip: the same messages encode to the same bytes. */
	CHECK(tr_frame_begin(&w, reenc, sizeof(reenc), &hdr) == TR_WIRE_OK);
	for (unsigned i = 0; i < count; i++)
		CHECK(tr_frame_add(&w, &msgs[i]) == TR_WIRE_OK);
	CHECK(tr_frame_end(&w) == len);
	CHECK(memcmp(reenc, buf, len) == 0);

	/* One byte short: the last message does not fit and changes nothing. */
	CHECK(tr_frame_begin(&w, reenc, len - 1, &hdr) == TR_WIRE_OK);
	for (unsigned i = 0; i + 1 < count; i++)
		CHECK(tr_frame_add(&w, &msgs[i]) == TR_WIRE_OK);
	{
		size_t before = w.len;

		CHECK(tr_frame_add(&w, &msgs[count - 1]) == TR_WIRE_E_NO_SPACE);
		CHECK(w.len == before && w.msg_count == count - 1);
	}

	/* The decoder must not accept the frame for another receiver or cluster. */
	{
		struct tr_wire_limits other = lim;
		unsigned n;

		other.self = (uint8_t)((lim.self + 1) % TR_REPLICAS);
		CHECK(tr_frame_decode(buf, len, &other, NULL, msgs, TR_FRAME_MSGS_MAX, &n) ==
		      TR_WIRE_E_MISDIRECTED);
		other = lim;
		other.cluster_id = lim.cluster_id + 1;
		CHECK(tr_frame_decode(buf, len, &other, NULL, msgs, TR_FRAME_MSGS_MAX, &n) ==
		      TR_WIRE_E_WRONG_CLUSTER);
		/* Too few message slots: refused, never overrun. */
		if (count > 1)
			CHECK(tr_frame_decode(buf, len, &lim, NULL, msgs, count - 1, &n) ==
				      TR_WIRE_E_BAD_COUNT &&
			      n == 0);
	}
	return TR_WIRE_OK;
}

/* Replay statistics (replay_main.c, --corpus). */
static unsigned decoded;

const char *fuzz_replay_check(unsigned inputs);

/* A seed corpus of wire v4 frames: nearly all decode (as is or fixed up). */
const char *
fuzz_replay_check(unsigned inputs)
{
	static char why[128];

	printf("fuzz_wire: %u of %u inputs decoded\n", decoded, inputs);
	if (inputs == 0 || decoded * 10 < inputs * 8) {
		snprintf(why, sizeof(why), "only %u of %u frames decode (stale wire version?)",
			 decoded, inputs);
		return why;
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	int err;

	if (size > FRAME_BYTES_MAX) /* past any -max_len worth running */
		return 0;
	err = check_frame(data, size);
	if (err == TR_WIRE_OK)
		decoded++;
	if (err != TR_WIRE_E_BAD_LENGTH && err != TR_WIRE_E_BAD_CHECKSUM)
		return 0;
	/* Past the checksum: the same bytes with a consistent length and crc, in
	 * an exact-size heap buffer so ASan sees any read past the end. */
	copy = malloc(size);
	CHECK(copy != NULL);
	memcpy(copy, data, size);
	fuzz_fix_frame(copy, size);
	if (check_frame(copy, size) == TR_WIRE_OK)
		decoded++;
	free(copy);
	return 0;
}
