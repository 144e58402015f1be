/* SPDX-License-Identifier: MIT
 * Trireme's remote client protocol: UDP datagrams between a remote client
 * (trireme-load, or any program) and the replica it talks to.
 *
 * A replica started with serve_clients > 0 (the launcher's --serve-clients)
 * serves it on UDP port udp_port_base + 4 of its own address (replica mode;
 * --cluster mode: udp_port_base + 4 + replica on every local address, kernel
 * sockets). All integers are little-endian (as engine/wire.h). Header-only:
 * no DPDK, no library; the replica and trireme-load share this code.
 *
 * Request datagram: a header, then 1..TRP_REQS_MAX requests.
 *
 *   off  size  field
 *   0    2     magic 0x5154 ("TQ")
 *   2    1     version 1
 *   3    1     count: requests that follow, 1..TRP_REQS_MAX
 *   4    4     reserved, 0
 *   8    8     client id: chosen by the client (e.g. random), not 0; the
 *              replicas key their exactly-once tables by its low 63 bits
 *   16         count x request:
 *     0  8     seq: >= 1, new for every operation of the client; a retry of
 *              a timed-out operation sends the same seq (and the same op)
 *     8  1     op: 1 set, 2 get, 3 del
 *     9  1     read mode (get): 0 barrier, 1 log (linearizable); 2, local,
 *              is answered TRP_ST_INVAL (not served remotely); 0 otherwise
 *     10 1     window: 1..TRP_WINDOW_MAX, the client's outstanding seqs at most
 *     11 1     flags, 0
 *     12 2     key length, 0..TRP_KEY_MAX
 *     14 2     value length, 0..TRP_VAL_MAX (set; 0 for get and del)
 *     16       key, then value
 *
 * The datagram ends exactly after the last request. A datagram that breaks
 * any rule is dropped whole and counted by reason (TRP_DROPS), never
 * answered.
 *
 * Reply datagram, to the request's source IP and port: a header, then
 * 1..TRP_REQS_MAX replies (the replica puts the answers of one client that
 * complete together into one datagram, up to a packet):
 *
 *   0    2     magic 0x4154 ("TA")
 *   2    1     version 1
 *   3    1     count: replies that follow, 1..TRP_REQS_MAX
 *   4    4     reserved, 0
 *   8    8     client id (the requests')
 *   16         count x reply:
 *     0  8     seq (a request's)
 *     8  1     status (TRP_ST_*)
 *     9  1     found: get and del, the key was present
 *     10 2     value length (get, found)
 *     12 4     reserved, 0
 *     16       value
 *
 * Exactly once, across replicas: a write carries the client's id, seq and
 * window into the log, and every replica applies a (client id, seq) at most
 * once (PROTOCOL §8), so a retry may go to any replica, or to a restarted
 * one: if the write was applied, the retry is answered OK without being
 * applied again (a del's found then says 0: the first answer is the one that
 * knew), and a seq at or below the highest applied minus the window is
 * TRP_ST_TOO_OLD. The replicas forget a client that wrote nothing while
 * 2^24 other writes were applied, once their table needs its record for a
 * new client: retries must come sooner. A set larger than a packet's value
 * travels in parts under the serving replica's own client, so its retry is
 * decided by that replica process only. Besides, the replica remembers, per
 * client id, the outcome of its last TRP_WINDOW_MAX seqs: a request whose seq
 * is outstanding there is not submitted again (its reply comes when it
 * completes); one whose seq completed gets the same answer again (a get is
 * read again: still linearizable, inside the retry's interval). A client
 * idle there for longer than TRP_IDLE_S may lose that entry (then the log
 * decides, as above). TRP_ST_BUSY means "not submitted": retry the same seq
 * later.
 */
#ifndef TRIREME_PROTO_H
#define TRIREME_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TRP_PORT_OFFSET 4        /* udp_port_base + 4 */
#define TRP_MAGIC_REQ 0x5154     /* "TQ" */
#define TRP_MAGIC_REPLY 0x4154   /* "TA" */
#define TRP_VERSION 1
#define TRP_HDR_LEN 16
#define TRP_REQ_HDR_LEN 16
#define TRP_REPLY_HDR_LEN 16     /* a reply, before its value */
#define TRP_REPLY_LEN (TRP_HDR_LEN + TRP_REPLY_HDR_LEN) /* a datagram of one */
#define TRP_REQS_MAX 32
#define TRP_WINDOW_MAX 64        /* = TRIREME_WINDOW_MAX */
#define TRP_KEY_MAX 1024         /* = TRIREME_KEY_MAX */
/* One datagram per request and per reply, whatever the value: a remote set
 * carries at most TRP_VAL_MAX bytes (above one packet's value the serving
 * replica sends it as parts, trireme.h's large values), and a get of a
 * longer value (TRIREME_LARGE_MAX, set by an embedder) is TRP_ST_INVAL. */
#define TRP_VAL_MAX 4096         /* = TRIREME_VAL_MAX */
#define TRP_IDLE_S 10

enum trp_op { TRP_SET = 1, TRP_GET = 2, TRP_DEL = 3 };

/* Reply status. */
#define TRP_STATUSES(X) \
	X(OK, "ok") \
	X(BUSY, "busy: not submitted, retry the same seq later") \
	X(TOO_OLD, "seq older than the window: outcome unknown") \
	X(FULL, "the store is full") \
	X(STOPPED, "replica stopped: outcome unknown") \
	X(INVAL, "refused: not served (local read, too large for a packet)")

enum trp_status {
#define TRP_ST_ENUM(id, text) TRP_ST_##id,
	TRP_STATUSES(TRP_ST_ENUM)
#undef TRP_ST_ENUM
	TRP_ST_COUNT
};

/* Every reason a request datagram is dropped, in check order. */
#define TRP_DROPS(X) \
	X(TOO_SHORT, "too_short", "shorter than the header") \
	X(BAD_MAGIC, "bad_magic", "magic not 0x5154") \
	X(BAD_VERSION, "bad_version", "version not 1") \
	X(BAD_COUNT, "bad_count", "count not 1..32") \
	X(BAD_RESERVED, "bad_reserved", "reserved bytes or flags not 0") \
	X(ZERO_CLIENT, "zero_client", "client id 0") \
	X(TRUNCATED, "truncated", "a request runs past the datagram") \
	X(ZERO_SEQ, "zero_seq", "seq 0") \
	X(BAD_OP, "bad_op", "op not set, get or del") \
	X(BAD_READ_MODE, "bad_read_mode", "read mode not 0..2, or set on a write") \
	X(BAD_WINDOW, "bad_window", "window not 1..64") \
	X(KEY_TOO_LONG, "key_too_long", "key longer than 1024 bytes") \
	X(BAD_VAL_LEN, "bad_val_len", "value over 4096 bytes, or on a get or del") \
	X(TRAILING, "trailing", "bytes after the last request")

enum trp_drop {
	TRP_OK = 0,
#define TRP_DROP_ENUM(id, name, desc) TRP_DROP_##id,
	TRP_DROPS(TRP_DROP_ENUM)
#undef TRP_DROP_ENUM
	TRP_DROP_COUNT
};

static inline const char *
trp_drop_name(int reason)
{
	static const char *const names[TRP_DROP_COUNT] = {
		[TRP_OK] = "ok",
#define TRP_DROP_NAME(id, name, desc) [TRP_DROP_##id] = name,
		TRP_DROPS(TRP_DROP_NAME)
#undef TRP_DROP_NAME
	};

	return (unsigned int)reason < TRP_DROP_COUNT ? names[reason] : "unknown";
}

static inline const char *
trp_status_text(unsigned int status)
{
	static const char *const texts[TRP_ST_COUNT] = {
#define TRP_ST_TEXT(id, text) [TRP_ST_##id] = text,
		TRP_STATUSES(TRP_ST_TEXT)
#undef TRP_ST_TEXT
	};

	return status < TRP_ST_COUNT ? texts[status] : "unknown status";
}

struct trp_req {
	uint64_t seq;
	uint8_t op;
	uint8_t read_mode;
	uint8_t window;
	uint16_t key_len;
	uint16_t val_len;
	const uint8_t *key;  /* into the datagram */
	const uint8_t *val;
};

struct trp_reply {
	uint64_t client;
	uint64_t seq;
	uint8_t status;
	bool found;
	uint16_t val_len;
	const uint8_t *val;  /* into the datagram */
};

static inline uint16_t
trp_ld16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t
trp_ld32(const uint8_t *p)
{
	return (uint32_t)trp_ld16(p) | (uint32_t)trp_ld16(p + 2) << 16;
}

static inline uint64_t
trp_ld64(const uint8_t *p)
{
	return (uint64_t)trp_ld32(p) | (uint64_t)trp_ld32(p + 4) << 32;
}

static inline void
trp_st16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void
trp_st32(uint8_t *p, uint32_t v)
{
	trp_st16(p, (uint16_t)v);
	trp_st16(p + 2, (uint16_t)(v >> 16));
}

static inline void
trp_st64(uint8_t *p, uint64_t v)
{
	trp_st32(p, (uint32_t)v);
	trp_st32(p + 4, (uint32_t)(v >> 32));
}

static inline void
trp_put_hdr(uint8_t *p, uint16_t magic, uint8_t count, uint64_t client)
{
	trp_st16(p, magic);
	p[2] = TRP_VERSION;
	p[3] = count;
	trp_st32(p + 4, 0);
	trp_st64(p + 8, client);
}

/* Checks a whole request datagram: TRP_OK with *client and reqs[0..*n) set
 * (pointing into buf), or the first TRP_DROP_* reason (nothing is taken from
 * a datagram that fails). Reads only buf[0..len). */
static inline int
trp_parse_request(const uint8_t *buf, size_t len, uint64_t *client,
		  struct trp_req reqs[TRP_REQS_MAX], unsigned int *n)
{
	const uint8_t *p;
	size_t left;
	unsigned int count, i;

	if (len < TRP_HDR_LEN)
		return TRP_DROP_TOO_SHORT;
	if (trp_ld16(buf) != TRP_MAGIC_REQ)
		return TRP_DROP_BAD_MAGIC;
	if (buf[2] != TRP_VERSION)
		return TRP_DROP_BAD_VERSION;
	count = buf[3];
	if (count == 0 || count > TRP_REQS_MAX)
		return TRP_DROP_BAD_COUNT;
	if (trp_ld32(buf + 4) != 0)
		return TRP_DROP_BAD_RESERVED;
	if (trp_ld64(buf + 8) == 0)
		return TRP_DROP_ZERO_CLIENT;
	p = buf + TRP_HDR_LEN;
	left = len - TRP_HDR_LEN;
	for (i = 0; i < count; i++) {
		struct trp_req *r = &reqs[i];

		if (left < TRP_REQ_HDR_LEN)
			return TRP_DROP_TRUNCATED;
		r->seq = trp_ld64(p);
		r->op = p[8];
		r->read_mode = p[9];
		r->window = p[10];
		r->key_len = trp_ld16(p + 12);
		r->val_len = trp_ld16(p + 14);
		if (r->seq == 0)
			return TRP_DROP_ZERO_SEQ;
		if (r->op < TRP_SET || r->op > TRP_DEL)
			return TRP_DROP_BAD_OP;
		if (r->read_mode > 2 || (r->op != TRP_GET && r->read_mode != 0))
			return TRP_DROP_BAD_READ_MODE;
		if (r->window == 0 || r->window > TRP_WINDOW_MAX)
			return TRP_DROP_BAD_WINDOW;
		if (p[11] != 0)
			return TRP_DROP_BAD_RESERVED;
		if (r->key_len > TRP_KEY_MAX)
			return TRP_DROP_KEY_TOO_LONG;
		if (r->val_len > TRP_VAL_MAX || (r->op != TRP_SET && r->val_len != 0))
			return TRP_DROP_BAD_VAL_LEN;
		if (left - TRP_REQ_HDR_LEN < (size_t)r->key_len + r->val_len)
			return TRP_DROP_TRUNCATED;
		r->key = p + TRP_REQ_HDR_LEN;
		r->val = r->key + r->key_len;
		p += TRP_REQ_HDR_LEN + r->key_len + r->val_len;
		left -= TRP_REQ_HDR_LEN + (size_t)r->key_len + r->val_len;
	}
	if (left != 0)
		return TRP_DROP_TRAILING;
	*client = trp_ld64(buf + 8);
	*n = count;
	return TRP_OK;
}

/* Appends one request at p (room: TRP_REQ_HDR_LEN + key_len + val_len);
 * returns the bytes written. */
static inline size_t
trp_put_request(uint8_t *p, const struct trp_req *r)
{
	trp_st64(p, r->seq);
	p[8] = r->op;
	p[9] = r->read_mode;
	p[10] = r->window;
	p[11] = 0;
	trp_st16(p + 12, r->key_len);
	trp_st16(p + 14, r->val_len);
	if (r->key_len > 0)
		memcpy(p + TRP_REQ_HDR_LEN, r->key, r->key_len);
	if (r->val_len > 0)
		memcpy(p + TRP_REQ_HDR_LEN + r->key_len, r->val, r->val_len);
	return TRP_REQ_HDR_LEN + (size_t)r->key_len + r->val_len;
}

/* Appends one reply at p (room: TRP_REPLY_HDR_LEN + val_len); returns the
 * bytes written. A datagram is trp_put_hdr(TRP_MAGIC_REPLY, count) and count
 * of them. */
static inline size_t
trp_put_reply(uint8_t *p, const struct trp_reply *r)
{
	trp_st64(p, r->seq);
	p[8] = r->status;
	p[9] = r->found ? 1 : 0;
	trp_st16(p + 10, r->val_len);
	trp_st32(p + 12, 0);
	if (r->val_len > 0)
		memcpy(p + TRP_REPLY_HDR_LEN, r->val, r->val_len);
	return TRP_REPLY_HDR_LEN + (size_t)r->val_len;
}

/* A reply datagram: 0 with *n replies in out (client set, val into buf), or
 * -1 if malformed (out then undefined). */
static inline int
trp_parse_replies(const uint8_t *buf, size_t len, struct trp_reply out[TRP_REQS_MAX],
		  unsigned int *n)
{
	size_t off = TRP_HDR_LEN;
	unsigned int count, i;

	if (len < TRP_HDR_LEN || trp_ld16(buf) != TRP_MAGIC_REPLY || buf[2] != TRP_VERSION ||
	    buf[3] == 0 || buf[3] > TRP_REQS_MAX || trp_ld32(buf + 4) != 0)
		return -1;
	count = buf[3];
	for (i = 0; i < count; i++) {
		const uint8_t *p = buf + off;
		struct trp_reply *r = &out[i];

		if (len - off < TRP_REPLY_HDR_LEN || p[8] >= TRP_ST_COUNT || p[9] > 1 ||
		    trp_ld32(p + 12) != 0)
			return -1;
		r->client = trp_ld64(buf + 8);
		r->seq = trp_ld64(p);
		r->status = p[8];
		r->found = p[9] != 0;
		r->val_len = trp_ld16(p + 10);
		if (len - off - TRP_REPLY_HDR_LEN < r->val_len)
			return -1;
		r->val = p + TRP_REPLY_HDR_LEN;
		off += TRP_REPLY_HDR_LEN + (size_t)r->val_len;
	}
	if (off != len)
		return -1;
	*n = count;
	return 0;
}

#endif
