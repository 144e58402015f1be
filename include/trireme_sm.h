/* SPDX-License-Identifier: MIT
 * Trireme: the embedder's own state machine, replicated in place of the
 * built-in key/value store.
 *
 * Trireme orders commands (PROTOCOL §7) and decides exactly-once (§8: by
 * client id, sequence and window, from its own client table); the state
 * machine only sees the fresh commands, in the same order on every replica,
 * and answers each. Start with trireme_start_sm(&conf, &ops, arg, ...) in
 * place of trireme_start; every local replica then gets an instance of its own
 * (create), clients submit TRIREME_CMD (a write: opaque bytes in op.val)
 * and TRIREME_QUERY (a read, barrier or log mode: opaque bytes in op.val),
 * and the KV kinds (set, get, del) and trireme_read_local are refused.
 *
 *   static const struct trireme_sm_ops ledger_ops = {
 *           .create = ledger_new, .destroy = ledger_free,
 *           .apply = ledger_apply, .read = ledger_read,
 *           .snapshot = ledger_snapshot, .restore = ledger_restore,
 *           .digest = ledger_digest,
 *   };
 *
 * Threads. apply and read run on the replica's applier (one thread at a
 * time per instance, never concurrently with each other). snapshot runs on
 * the applier too, synchronously, between two applies: the replica's
 * applier waits for it (the built-in KV copies itself concurrently instead,
 * PROTOCOL §12 T3; a machine that needs that must keep its snapshot cheap,
 * e.g. copy-on-write). create and restore build a new instance, on a
 * thread of Trireme's (a snapshot being loaded) while the old instance
 * keeps applying; destroy frees one nobody uses any more.
 *
 * Determinism. apply must depend only on the instance's state and the
 * commands: no clock, no randomness, no thread-local state. Every replica
 * applies the same commands in the same order and must reach the same
 * state; digest, if given, lets Trireme (stats) and tests compare them.
 */
#ifndef TRIREME_SM_H
#define TRIREME_SM_H

#include <stddef.h>
#include <stdint.h>

#include "trireme.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One fresh command: its client, its sequence (1, 2, ... per client; the
 * pair never repeats), and the bytes given to trireme_submit (up to
 * TRIREME_LARGE_MAX; a large cmd's seq is that of the part that
 * completed it: sequences go up by more than 1 across a large cmd). */
struct trireme_sm_cmd {
	uint64_t client_id;
	uint64_t seq;
	const void *data;
	uint32_t len;
};

/* A command's or a read's answer: status (>= 0, the machine's own) comes
 * back as trireme_done.status, found is status == 0, and val_len bytes at
 * val (at most TRIREME_LARGE_MAX; valid until the next call into the
 * instance) as trireme_done.val. Zeroed before each call. */
struct trireme_sm_result {
	int status;
	const void *val;
	uint32_t val_len;
};

/* snapshot's sink: appends len bytes; 0, or non-zero when out of memory
 * (return it: the snapshot is abandoned and tried again later). */
typedef int trireme_sm_write_fn(void *ctx, const void *buf, size_t len);

struct trireme_sm_ops {
	/* A new, empty instance for replica (0..2) of this process; arg is
	 * trireme_start_sm's sm_arg. NULL: out of memory (trireme_start_sm
	 * fails, a snapshot load is retried). */
	void *(*create)(void *arg, unsigned replica);
	void (*destroy)(void *sm);
	/* n commands in order (n >= 1), each answered in res[i]. A command
	 * the machine rejects (e.g. insufficient funds) is still applied:
	 * answer it with a status; it is never offered again. */
	void (*apply)(void *sm, const struct trireme_sm_cmd *cmds, unsigned n,
		      struct trireme_sm_result *res);
	/* A read: TRIREME_QUERY's bytes; changes nothing. */
	void (*read)(void *sm, const void *query, uint32_t len, struct trireme_sm_result *res);
	/* The whole state as bytes through write (state transfer to a peer
	 * that fell behind, PROTOCOL §12 T1, and durability): non-zero on
	 * failure (or write's non-zero). */
	int (*snapshot)(void *sm, trireme_sm_write_fn *write, void *ctx);
	/* Replaces a new instance's state by snapshot's bytes: 0, or non-zero
	 * when they are not valid (the snapshot is refused). */
	int (*restore)(void *sm, const void *buf, size_t len);
	/* Optional (NULL: none): a digest of the state, equal on replicas
	 * that applied the same commands (trireme_replica_stats.kv_digest). */
	uint64_t (*digest)(void *sm);
};

#ifdef __cplusplus
}
#endif

#endif
