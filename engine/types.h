/* SPDX-License-Identifier: MIT
 * Trireme engine: the types every part of the protocol shares (PROTOCOL.md §1, §3).
 * Pure C11: no I/O, no threads, no clocks.
 */
#ifndef TR_TYPES_H
#define TR_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TR_REPLICAS 3
#define TR_COLUMNS 3

/* Limits the wire format itself imposes; configurations may be smaller. */
#define TR_WINDOW_MAX 64         /* §8: a client's outstanding writes W */
#define TR_KEY_BYTES_MAX 1024
#define TR_VAL_BYTES_MAX (64u * 1024)
#define TR_BATCH_CMDS_MAX 4096
#define TR_BATCH_BYTES_MAX (1u << 20)
#define TR_FRAME_MSGS_MAX 255
#define TR_LSN_MAX (UINT64_C(1) << 48)
#define TR_BALLOT_N_MAX (UINT32_C(1) << 30)
#define TR_INC_MAX (UINT32_C(1) << 31) /* J0: incarnations stay below it */

/* §1, J0: ballot (n, inc, replica), compared lexicographically; n == 0 means
 * "none". inc is the proposer's incarnation: a replica that restarted without
 * memory never reuses a ballot of its earlier life. n comes first so that a
 * replica with a lower incarnation can still outbid one with a higher (the
 * page's (inc, n, replica) would let a restarted peer's promise block the
 * others' recoveries for good). */
struct tr_ballot {
	uint32_t n;
	uint8_t replica;
	uint32_t inc;
};

static inline int
tr_ballot_cmp(struct tr_ballot a, struct tr_ballot b)
{
	if (a.n != b.n)
		return a.n < b.n ? -1 : 1;
	if (a.inc != b.inc)
		return a.inc < b.inc ? -1 : 1;
	if (a.replica != b.replica)
		return a.replica < b.replica ? -1 : 1;
	return 0;
}

static inline bool
tr_ballot_none(struct tr_ballot b)
{
	return b.n == 0;
}

enum tr_op {
	TR_OP_SET = 1,
	TR_OP_GET = 2,
	TR_OP_DEL = 3,
	/* The embedder's state machine (trireme_sm.h): opaque bytes in val. */
	TR_OP_CMD = 4,   /* a write, exactly-once like set and del */
	TR_OP_QUERY = 5, /* a read (barrier or log), like get */
	/* One part of a large command (issue 16): a write, exactly-once like
	 * set. Its key is empty; its val is stage:u64 total:u32 offset:u32
	 * bytes[] (little-endian), bytes being [offset, offset + n) of the
	 * staged whole (kv.h: tr_part_fill). */
	TR_OP_PART = 6,
};

/* A part's val header: stage, total, offset. */
#define TR_PART_HDR_BYTES 16
/* The staged whole of a large command, op:u8 key_len:u16 key[] val[] with op
 * TR_OP_SET or TR_OP_CMD: its header, and its largest size (a 1 MiB val). */
#define TR_LARGE_HDR_BYTES 3
#define TR_LARGE_BYTES_MAX ((1u << 20) + TR_KEY_BYTES_MAX + 3)

/* Reads change nothing and carry no sequence (§8): get and query. */
static inline bool
tr_op_is_read(uint8_t op)
{
	return op == TR_OP_GET || op == TR_OP_QUERY;
}

/* Writes: exactly-once by (client_id, seq) (§8). */
static inline bool
tr_op_is_write(uint8_t op)
{
	return op == TR_OP_SET || op == TR_OP_DEL || op == TR_OP_CMD || op == TR_OP_PART;
}

/* Ops whose command carries val bytes. */
static inline bool
tr_op_has_val(uint8_t op)
{
	return op == TR_OP_SET || op == TR_OP_CMD || op == TR_OP_QUERY || op == TR_OP_PART;
}

/* One client command, decoded. key/val point into the buffer it was decoded
 * from. Writes (set, del) are exactly-once by (client_id, seq) within the
 * client's window W (§8); reads carry seq only to match their completion. */
struct tr_cmd {
	uint8_t op;
	uint8_t window; /* W, 1..TR_WINDOW_MAX */
	uint64_t client_id;
	uint64_t seq;
	const uint8_t *key;
	uint16_t key_len;
	const uint8_t *val; /* set only */
	uint32_t val_len;
};

/* §1: the value of a slot: a batch of commands (none: the NOOP), the deps
 * vector (§2) and the replica that created it. cmds is the commands' wire
 * encoding (wire.h), cmd_count of them back to back. */
struct tr_value {
	uint64_t deps[TR_COLUMNS];
	uint8_t proposer;
	uint16_t cmd_count;
	uint32_t cmds_len;
	const uint8_t *cmds;
};

static inline bool
tr_value_is_noop(const struct tr_value *v)
{
	return v->cmd_count == 0;
}

/* §3: the messages. Every message concerns one column, given by the frame
 * that carries it (wire.h); a flat struct, fields used per type. READ_INDEX
 * and its reply travel in the reader's own column (column == reader id). */
enum tr_msg_type {
	TR_MSG_ACCEPT = 1,
	TR_MSG_ACCEPT_REPLY = 2,
	TR_MSG_COMMIT = 3,
	TR_MSG_FETCH = 4,
	TR_MSG_FETCH_REPLY = 5,
	TR_MSG_STATUS = 6,
	TR_MSG_READ_INDEX = 7,       /* Q1: reader -> one peer */
	TR_MSG_READ_INDEX_REPLY = 8, /* Q1: the peer's known */
	TR_MSG_TOO_OLD = 9,          /* T1: below my base (lsn = the base) */
	TR_MSG_JOIN = 10,            /* J1: an amnesiac -> both peers */
	TR_MSG_JOIN_REPLY = 11,      /* J1: inc seen, known (H), applied frontier */
	TR_MSG_TYPE_COUNT
};

enum tr_reply {
	TR_REPLY_OK = 1,           /* voted value at ballot */
	TR_REPLY_OK_COMMITTED = 2, /* A0: the committed value */
	TR_REPLY_REJECT = 3,       /* A1: promised carries the higher promise */
	TR_REPLY_REFUSED = 4,      /* J2: a joiner cannot vote in this slot yet */
};

struct tr_msg {
	uint8_t type;
	uint8_t from;
	uint8_t to;
	uint8_t column;
	uint32_t inc;              /* J0: the sender's incarnation (frame header) */
	uint64_t lsn;              /* ACCEPT, ACCEPT_REPLY, COMMIT, FETCH (first), FETCH_REPLY */
	struct tr_ballot ballot;   /* ACCEPT: b; ACCEPT_REPLY: the b it answers */
	struct tr_ballot vbal;     /* ACCEPT: the snapshot's vote (none: a proposal) */
	struct tr_ballot promised; /* ACCEPT_REPLY REJECT */
	uint8_t reply;             /* ACCEPT_REPLY: enum tr_reply */
	/* W1-W2 (issue 16): the value travels by reference. ACCEPT_REPLY OK:
	 * the value voted is the one the ACCEPT carried, with value.deps (the
	 * wire carries the deps only). COMMIT: the value the receiver voted at
	 * ballot (the wire carries lsn and ballot only). value is then what the
	 * sender holds, for in-process readers; decoded from the wire, only its
	 * deps are set. */
	bool ref;
	struct tr_value value;     /* ACCEPT, ACCEPT_REPLY OK*, COMMIT, FETCH_REPLY */
	/* The tail, from lsn_end on: unset in the slot messages (ACCEPT,
	 * ACCEPT_REPLY, COMMIT, FETCH_REPLY, TOO_OLD), which use none of it. */
	uint64_t lsn_end;          /* FETCH: [lsn, lsn_end) */
	uint64_t committed;        /* STATUS: sender's committed prefix of column */
	uint64_t applied;          /* STATUS: sender's applied prefix of column */
	uint64_t sm_keys_max;      /* STATUS: the sender's state-machine limits */
	uint32_t sm_clients_max;
	uint64_t heard;            /* STATUS: the receiver's committed prefix of column,
				    * as the sender last heard it in a STATUS (T4) */
	uint64_t known[TR_COLUMNS]; /* STATUS: sender's known (feeds catch-up only);
				     * READ_INDEX_REPLY: the peer's known (Q1);
				     * JOIN_REPLY: the peer's known at the join (J1's H) */
	uint64_t read_id;          /* READ_INDEX, READ_INDEX_REPLY: the barrier id;
				    * JOIN, JOIN_REPLY: the join id */
	uint64_t frontier[TR_COLUMNS]; /* JOIN_REPLY: the peer's applied frontier */
	uint32_t inc_seen;         /* JOIN_REPLY: highest inc the peer saw from the joiner */
};

#endif
