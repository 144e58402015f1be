/* One replica driven by hand, for the engine's unit tests: its memory, an
 * out-buffer, a table with client records, the KV state machine on it and an
 * applier; steps that put a message or a command in, and lookups of what came
 * out. One test file includes it (all static); one replica at a time. */
#ifndef TR_REPLICA_FIXTURE_H
#define TR_REPLICA_FIXTURE_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "mmp3.h"
#include "wire.h"

#define FX_RTT_NS 100000 /* fx_config's round trip */
/* fx_find: any receiver, any lsn. */
#define FX_ANY UINT64_MAX

static struct tr_replica rep;
static void *mem;
static struct tr_msg msgs[64];
static struct tr_out out = {.msgs = msgs, .msg_cap = 64};
static struct tr_table table;
static void *table_mem;
static struct tr_client_rec clients[16];
static struct tr_sm sm;
static struct tr_applier applier; /* no completion callback: a test sets one */
static uint8_t fx_cmds[256];      /* fx_value's bytes */

/* The tests' config: a round trip of 100 us, a 64-slot ring, 8 instances in
 * flight, 256-byte batches, 1 KiB pending. A test changes what it needs. */
static inline void
fx_config(struct tr_config *cfg, uint8_t id)
{
	tr_config_default(cfg, id, FX_RTT_NS);
	cfg->log_slots_max = 64;
	cfg->inflight_max = 8;
	cfg->batch_bytes_max = 256;
	cfg->pending_bytes_max = 1024;
}

static inline void fx_deliver(const struct tr_msg *m, uint64_t now);

/* rep on cfg, at time 0, with a 64-cell table (keys up to 16 bytes, values
 * 32), 16 client records, the state machine and the applier; no peer has
 * vouched for its memory yet (J5: it neither votes nor proposes). */
static inline void
fx_init(const struct tr_config *cfg)
{
	size_t bytes = tr_replica_mem_bytes(cfg);

	mem = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
	cr_assert(tr_replica_init(&rep, cfg, mem, bytes, 0) == 0);
	table_mem = calloc(1, tr_table_mem_bytes(64, 16, 32));
	tr_table_init(&table, table_mem, 64, 16, 32);
	tr_sm_init(&sm, &tr_table_ops, &table, clients, 16);
	applier = (struct tr_applier){.rep = &rep, .sm = &sm};
}

/* J5: a STATUS of peer `from` in every column, in its life 0 (the tests'
 * default), with nothing committed and an echo of 0: it vouches. */
static inline void
fx_vouch(uint8_t from, uint64_t now)
{
	for (uint8_t c = 0; c < TR_COLUMNS; c++) {
		struct tr_msg m = {.type = TR_MSG_STATUS, .from = from, .to = rep.cfg.id,
				   .column = c, .sm_keys_max = rep.cfg.sm_keys_max,
				   .sm_clients_max = rep.cfg.sm_clients_max};

		fx_deliver(&m, now);
	}
}

/* fx_init, then vouched for by the next replica (J5), as at the start of a
 * cluster: the replica votes. */
static inline void
fx_setup(const struct tr_config *cfg)
{
	fx_init(cfg);
	if (!cfg->join)
		fx_vouch((uint8_t)((cfg->id + 1) % TR_REPLICAS), 0);
	cr_assert(tr_replica_vouched(&rep));
}

static inline void
fx_teardown(void)
{
	free(mem);
	free(table_mem);
}

/* The replica's own column. */
static inline struct tr_column *
own(void)
{
	return &rep.col[rep.cfg.id];
}

/* A step of m's column on m at now; out holds what it sent. */
static inline void
fx_deliver(const struct tr_msg *m, uint64_t now)
{
	tr_out_reset(&out);
	tr_column_recv(&rep.col[m->column], m, now, &out);
}

static inline void
fx_flush(uint8_t column, uint64_t now)
{
	tr_out_reset(&out);
	tr_column_flush(&rep.col[column], now, &out);
}

static inline void
fx_tick(uint8_t column, uint64_t now)
{
	tr_out_reset(&out);
	tr_column_tick(&rep.col[column], now, &out);
}

/* The first message of the last step of type, to replica to, at lsn
 * (FX_ANY: any), or NULL. */
static inline const struct tr_msg *
fx_find(int type, uint64_t to, uint64_t lsn)
{
	for (unsigned i = 0; i < out.msg_count; i++) {
		const struct tr_msg *m = &out.msgs[i];

		if (m->type == type && (to == FX_ANY || m->to == to) &&
		    (lsn == FX_ANY || m->lsn == lsn))
			return m;
	}
	return NULL;
}

static inline const struct tr_msg *
fx_sent(int type)
{
	return fx_find(type, FX_ANY, FX_ANY);
}

/* How many messages of type the last step sent. */
static inline unsigned
fx_count(int type)
{
	unsigned n = 0;

	for (unsigned i = 0; i < out.msg_count; i++)
		n += out.msgs[i].type == type;
	return n;
}

/* "set key val" by client, number seq, with window W. */
static inline struct tr_cmd
fx_set(uint64_t client, uint64_t seq, uint8_t window, const char *key, const char *val)
{
	return (struct tr_cmd){.op = TR_OP_SET, .window = window, .client_id = client,
			       .seq = seq, .key = (const uint8_t *)key,
			       .key_len = (uint16_t)strlen(key), .val = (const uint8_t *)val,
			       .val_len = (uint32_t)strlen(val)};
}

/* "get key" by client, number seq, with window W. */
static inline struct tr_cmd
fx_get(uint64_t client, uint64_t seq, uint8_t window, const char *key)
{
	return (struct tr_cmd){.op = TR_OP_GET, .window = window, .client_id = client,
			       .seq = seq, .key = (const uint8_t *)key,
			       .key_len = (uint16_t)strlen(key)};
}

/* A command into the own column's pending batch (P1), which takes it. */
static inline void
fx_submit(const struct tr_cmd *c)
{
	cr_assert_eq(tr_column_submit(own(), c), 0);
}

/* A value of one command c (NULL: the NOOP) with deps, by proposer; its
 * bytes live in fx_cmds until the next fx_value. */
static inline struct tr_value
fx_value(const struct tr_cmd *c, const uint64_t deps[TR_COLUMNS], uint8_t proposer)
{
	struct tr_value v = {.proposer = proposer};

	memcpy(v.deps, deps, sizeof(v.deps));
	if (c != NULL) {
		v.cmds_len = (uint32_t)tr_cmd_encode(fx_cmds, sizeof(fx_cmds), c);
		v.cmd_count = 1;
		v.cmds = fx_cmds;
	}
	return v;
}

/* STATUS from replica from in column, in its life inc, with its prefixes and
 * known, and this replica's state machine limits (issue 13: equal); it
 * echoes this replica's committed prefix of column (it hears it, T4). */
static inline struct tr_msg
fx_status(uint8_t from, uint8_t column, uint32_t inc, uint64_t committed, uint64_t applied,
	  const uint64_t known[TR_COLUMNS])
{
	struct tr_msg m = {.type = TR_MSG_STATUS, .from = from, .to = rep.cfg.id,
			   .column = column, .inc = inc, .committed = committed,
			   .applied = applied, .sm_keys_max = rep.cfg.sm_keys_max,
			   .sm_clients_max = rep.cfg.sm_clients_max,
			   .heard = rep.col[column].committed};

	memcpy(m.known, known, sizeof(m.known));
	return m;
}

/* The answer of acc's receiver to it (the caller adds inc, value, ref). */
static inline struct tr_msg
fx_accept_reply(const struct tr_msg *acc, uint8_t reply)
{
	return (struct tr_msg){.type = TR_MSG_ACCEPT_REPLY, .from = acc->to, .to = acc->from,
			       .column = acc->column, .lsn = acc->lsn, .ballot = acc->ballot,
			       .reply = reply};
}

#endif
