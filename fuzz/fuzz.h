/* SPDX-License-Identifier: MIT
 * Trireme fuzzing: what the targets (fuzz_wire.c, fuzz_engine.c) and the seed
 * corpus generator (gen_corpus.c) must agree on.
 *
 * fuzz_wire input: one frame, as it would arrive from the network. The target
 * decodes it as is; when that fails, it also decodes a copy whose length field
 * and crc32c are rewritten (so the fuzzer gets past the checksum).
 *
 * fuzz_engine input: a header byte, then events until the input ends.
 *
 *   input  := setup:u8 event*        out_cap: FUZZ_OUT_CAPS[setup & 7];
 *                                    setup & 8: the replica starts as an
 *                                    amnesiac (cfg.join, J1): it JOINs first
 *   event  := op:u8 body             kind = op & 7, arg = op >> 3 (0..31)
 *
 *   FRAME  len:u16 bytes[len]   a raw frame (truncated to what is left); with
 *                               arg & 1 its cluster id, receiver, length and
 *                               crc are fixed up first. Decoded with the
 *                               replica's limits; a rejected frame is dropped.
 *   MSG    inc:u8 type:u8 body  a message built from the bytes (fuzz_engine.c,
 *                               ev_msg), column arg % 3, sender arg / 3 % 3
 *                               (self: the next peer), encoded into a frame
 *                               carrying the sender's incarnation (inc: below
 *                               0xf0 its current one, 0xf0..0xf7 a new life,
 *                               else inc & 7, perhaps an older one), decoded
 *                               and delivered like FRAME.
 *   REPLY  idx:u8 mode:u8       the natural answer of a peer to the idx-th most
 *                               recent message the replica sent (ACCEPT ->
 *                               ACCEPT_REPLY or COMMIT, ACCEPT_REPLY -> COMMIT
 *                               or a retry, FETCH -> FETCH_REPLY, ...).
 *   TICK   adv:u8               time advances by (adv + 1) * (arg + 1) * 10 us,
 *                               then every column ticks.
 *   SUBMIT cmd                  a client command to the owner column; flushed
 *                               unless arg & 1; a get with arg & 2 is a
 *                               barrier read (tr_column_read, Q1-Q3).
 *   APPLY                       tr_apply(applier, arg + 1).
 *
 *   cmd    := op:u8 client:u8 seq:u8 key:u8 vlen:u8 val[vlen % 17]
 *
 * Every event runs the invariant checks (fuzz_engine.c, check_step).
 */
#ifndef TR_FUZZ_H
#define TR_FUZZ_H

#include <stdint.h>

#include "mmp3.h"
#include "wire.h"

#define FUZZ_CLUSTER 0x7472u /* tr_config_default's */
#define FUZZ_SELF 1

/* fuzz_wire's decoder limits. */
#define FUZZ_WIRE_CMD_COUNT_MAX 64
#define FUZZ_WIRE_CMDS_BYTES_MAX 4096
#define FUZZ_WIRE_FETCH_SPAN_MAX 64

/* fuzz_engine's replica. */
#define FUZZ_RTT_NS 100000u
#define FUZZ_LOG_SLOTS 256
#define FUZZ_INFLIGHT 16
#define FUZZ_BATCH_BYTES 512
#define FUZZ_BATCH_CMDS 8
#define FUZZ_PENDING_BYTES 4096
#define FUZZ_FETCH_SPAN 32
#define FUZZ_START_NS UINT64_C(1000000000)
#define FUZZ_TICK_UNIT_NS 10000u
#define FUZZ_SETUP_JOIN 8

enum fuzz_event {
	FUZZ_EV_FRAME = 0,
	FUZZ_EV_MSG = 1,
	FUZZ_EV_REPLY = 2,
	FUZZ_EV_TICK = 3,
	FUZZ_EV_SUBMIT = 4,
	FUZZ_EV_APPLY = 5,
	FUZZ_EV_REPLY2 = 6, /* = REPLY (weights the mix) */
	FUZZ_EV_MSG2 = 7,   /* = MSG */
};

#define FUZZ_OP(kind, arg) ((uint8_t)((kind) | ((arg) << 3)))

static const unsigned FUZZ_OUT_CAPS[8] = {64, 1, 2, 3, 8, 16, 32, 255};

static inline void
fuzz_config(struct tr_config *cfg)
{
	tr_config_default(cfg, FUZZ_SELF, FUZZ_RTT_NS);
	cfg->cluster_id = FUZZ_CLUSTER;
	cfg->log_slots_max = FUZZ_LOG_SLOTS;
	cfg->inflight_max = FUZZ_INFLIGHT;
	cfg->batch_bytes_max = FUZZ_BATCH_BYTES;
	cfg->batch_cmds_max = FUZZ_BATCH_CMDS;
	cfg->pending_bytes_max = FUZZ_PENDING_BYTES;
	cfg->fetch_span_max = FUZZ_FETCH_SPAN;
}

/* The limits a replica with cfg decodes with, as receiver `self`. */
static inline struct tr_wire_limits
fuzz_limits(const struct tr_config *cfg, uint8_t self)
{
	struct tr_wire_limits lim = {
		.cluster_id = cfg->cluster_id,
		.self = self,
		.cmd_count_max = cfg->batch_cmds_max,
		.cmds_bytes_max = cfg->batch_bytes_max,
		.fetch_span_max = cfg->fetch_span_max,
	};
	return lim;
}

static inline void
fuzz_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Rewrites a frame's length field and crc32c (len >= header + crc). */
static inline void
fuzz_fix_frame(uint8_t *buf, size_t len)
{
	fuzz_put32(buf + 12, (uint32_t)len);
	fuzz_put32(buf + len - TR_WIRE_CRC_BYTES, tr_crc32c(0, buf, len - TR_WIRE_CRC_BYTES));
}

#endif
