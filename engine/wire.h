/* SPDX-License-Identifier: MIT
 * Trireme wire codec: messages and client commands to and from byte spans.
 *
 * A frame is what one packet (or one simulated delivery) carries: a header
 * naming the cluster, sender, receiver and column, then 1..255 messages, then
 * a CRC32C of everything before it. All integers are little-endian.
 *
 *   frame  := magic:u16 'T','3' | version:u8 (4) | msg_count:u8
 *             | cluster_id:u32 | from:u8 | to:u8 | column:u8 | reserved:u8 (0)
 *             | length:u32 (whole frame, crc included) | inc:u32 (J0: the
 *             sender's incarnation, < 2^31) | msg* | crc32c:u32
 *   msg    := type:u8 | body (by type)
 *   ACCEPT        lsn:u64 ballot vbal value
 *   ACCEPT_REPLY  lsn:u64 ballot reply:u8 (OK, OK_COMMITTED: value
 *                 | REJECT: promised:ballot | REFUSED: nothing
 *                 | 5, OK by reference (W1): deps:u64[3])
 *   COMMIT        lsn:u64 value
 *   COMMIT_REF    lsn:u64 ballot            (type 0x83, W2: decoded as a COMMIT
 *                                            with ref set)
 *   FETCH         lsn:u64 lsn_end:u64
 *   FETCH_REPLY   lsn:u64 value
 *   STATUS        committed:u64 applied:u64 known:u64[3] sm_keys_max:u64
 *                 sm_clients_max:u32 heard:u64   (T4: the receiver's committed
 *                 prefix of the column, as the sender last heard it; v4)
 *   READ_INDEX    id:u64
 *   READ_INDEX_REPLY  id:u64 known:u64[3]
 *   TOO_OLD       base:u64                  (T1: the sender recycled below it)
 *   JOIN          id:u64                    (J1)
 *   JOIN_REPLY    id:u64 inc_seen:u32 known:u64[3] frontier:u64[3]
 *   ballot := n:u32 replica:u8 inc:u32
 *   value  := deps:u64[3] proposer:u8 cmd_count:u16 cmds_len:u32 cmds[cmds_len]
 *   cmd    := op:u8 window:u8 client_id:u64 seq:u64 key_len:u16 val_len:u32
 *             key[key_len] val[val_len]          (val_len is 0 unless op is set)
 *
 * READ_INDEX and its reply belong to the reader's column (column == the
 * reader's id); the engine drops them elsewhere.
 *
 * Decoding validates everything (lengths, counts, enums, replica ids, the
 * commands inside values, the checksum) and returns a reason on failure;
 * nothing in a rejected frame is used.
 */
#ifndef TR_WIRE_H
#define TR_WIRE_H

#include "le.h"
#include "types.h"

#define TR_WIRE_MAGIC0 'T'
#define TR_WIRE_MAGIC1 '3'
#define TR_WIRE_VERSION 4
#define TR_WIRE_HDR_BYTES 20
#define TR_WIRE_CRC_BYTES 4
#define TR_WIRE_CMD_HDR_BYTES 24

/* X-macro: every reason a frame or command is rejected. */
#define TR_WIRE_ERRORS(X)                                       \
	X(TRUNCATED, "truncated")                               \
	X(BAD_MAGIC, "bad magic")                               \
	X(BAD_VERSION, "unsupported version")                   \
	X(BAD_LENGTH, "length field disagrees with the buffer") \
	X(BAD_CHECKSUM, "checksum mismatch")                    \
	X(WRONG_CLUSTER, "foreign cluster id")                  \
	X(BAD_REPLICA, "replica id out of range")               \
	X(MISDIRECTED, "frame not addressed to this replica")   \
	X(BAD_COLUMN, "column out of range")                    \
	X(BAD_COUNT, "message count out of range")              \
	X(BAD_TYPE, "unknown message type")                     \
	X(BAD_REPLY, "unknown reply kind")                      \
	X(BAD_BALLOT, "ballot out of range")                    \
	X(BAD_LSN, "lsn out of range")                          \
	X(BAD_RANGE, "fetch range empty or too large")          \
	X(BAD_VALUE, "value fields out of range")               \
	X(BAD_CMD, "malformed command")                         \
	X(TOO_BIG, "over a configured limit")                   \
	X(TRAILING, "trailing bytes after the last message")    \
	X(NO_SPACE, "output buffer too small")

enum tr_wire_err {
	TR_WIRE_OK = 0,
#define TR_WIRE_ENUM(name, text) TR_WIRE_E_##name,
	TR_WIRE_ERRORS(TR_WIRE_ENUM)
#undef TR_WIRE_ENUM
	TR_WIRE_E_COUNT
};

const char *tr_wire_strerror(int err);

/* Limits a decoder enforces on top of the format's own. */
struct tr_wire_limits {
	uint32_t cluster_id;
	uint8_t self;            /* frames must be addressed to this replica */
	uint16_t cmd_count_max;  /* per value */
	uint32_t cmds_bytes_max; /* per value */
	uint32_t fetch_span_max; /* lsn_end - lsn */
};

struct tr_frame_hdr {
	uint32_t cluster_id;
	uint8_t from;
	uint8_t to;
	uint8_t column;
	uint8_t msg_count;
	uint32_t inc;       /* J0: the sender's incarnation */
};

/* Encoding: begin, add messages while they fit, end (writes length and crc). */
struct tr_frame_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	uint8_t msg_count;
};

size_t tr_wire_msg_bytes(const struct tr_msg *m);
/* 0, or TR_WIRE_E_NO_SPACE (buffer too small for even an empty frame). */
int tr_frame_begin(struct tr_frame_writer *w, uint8_t *buf, size_t cap,
		   const struct tr_frame_hdr *hdr);
/* 0, or TR_WIRE_E_NO_SPACE when the message (plus the crc) does not fit or the
 * frame already holds TR_FRAME_MSGS_MAX messages; the frame is unchanged. */
int tr_frame_add(struct tr_frame_writer *w, const struct tr_msg *m);
/* Returns the frame's length in bytes. */
size_t tr_frame_end(struct tr_frame_writer *w);

/* Decodes a whole frame into msgs[0..*count). Values' cmds point into buf.
 * from/to/column of every message are set from the header. Returns 0 or a
 * TR_WIRE_E_* reason; on failure *count is 0. */
int tr_frame_decode(const uint8_t *buf, size_t len, const struct tr_wire_limits *lim,
		    struct tr_frame_hdr *hdr, struct tr_msg *msgs, unsigned msgs_cap,
		    unsigned *count);

/* Commands. */
size_t tr_cmd_bytes(const struct tr_cmd *c);
/* Appends one command at buf; returns bytes written, 0 if it does not fit. */
size_t tr_cmd_encode(uint8_t *buf, size_t cap, const struct tr_cmd *c);
/* Decodes the command at buf[*off]; advances *off. 0 or TR_WIRE_E_*. */
int tr_cmd_decode(const uint8_t *buf, size_t len, size_t *off, struct tr_cmd *c);
/* The fields tr_cmd_decode accepts: an op, a window W (1..TR_WINDOW_MAX),
 * lengths within the limits, val bytes only for ops that carry them; a part
 * has no key and at least its header (kv.h judges the rest). */
static inline bool
tr_cmd_fields_ok(uint8_t op, uint8_t window, uint16_t key_len, uint32_t val_len)
{
	return op >= TR_OP_SET && op <= TR_OP_PART && window >= 1 && window <= TR_WINDOW_MAX &&
	       key_len <= TR_KEY_BYTES_MAX && val_len <= TR_VAL_BYTES_MAX &&
	       (val_len == 0 || tr_op_has_val(op)) &&
	       (op != TR_OP_PART || (key_len == 0 && val_len >= TR_PART_HDR_BYTES));
}

/* The length of the command at p, bytes accepted already (as tr_cmd_read). */
static inline size_t
tr_cmd_len(const uint8_t *p)
{
	return TR_WIRE_CMD_HDR_BYTES + (size_t)ld_u16(p + 18) + ld_u32(p + 20);
}

/* The command at p, bytes tr_cmd_decode or tr_cmds_validate accepted
 * already (no checks): fills c as tr_cmd_decode does; returns its length. */
static inline size_t
tr_cmd_read(const uint8_t *p, struct tr_cmd *c)
{
	c->op = p[0];
	c->window = p[1];
	c->client_id = ld_u64(p + 2);
	c->seq = ld_u64(p + 10);
	c->key_len = ld_u16(p + 18);
	c->val_len = ld_u32(p + 20);
	c->key = p + TR_WIRE_CMD_HDR_BYTES;
	c->val = tr_op_has_val(c->op) ? c->key + c->key_len : NULL;
	return TR_WIRE_CMD_HDR_BYTES + (size_t)c->key_len + c->val_len;
}
/* Checks that cmds holds exactly count well-formed commands. */
int tr_cmds_validate(const uint8_t *cmds, size_t len, unsigned count);

/* CRC32C of data, continuing crc (0 to start); the CPU's crc32 instruction
 * where it has one, else tr_crc32c_sw, the portable table (same result). */
uint32_t tr_crc32c(uint32_t crc, const void *data, size_t len);
uint32_t tr_crc32c_sw(uint32_t crc, const void *data, size_t len);

#endif
