/* SPDX-License-Identifier: MIT
 * One line of a client history (../shared/HISTORY.md): the writer the
 * simulator and the launcher share.
 *
 * Version 1 writes each operation once, when its outcome is known
 * (history_op_write). Version 2, for a writer that can be killed, writes it
 * twice: history_op_write_call at the call, and history_op_write with done set
 * at the return, with the same client, op, key, value and call. Its pending
 * line must reach the file (fflush: write(2), which survives the process's
 * death) before the command is sent; a completion may wait for the next flush
 * (lost, the operation is only an unknown outcome).
 */
#ifndef TR_HISTORY_OUT_H
#define TR_HISTORY_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum history_op_kind { HISTORY_SET = 1, HISTORY_GET = 2, HISTORY_DEL = 3 }; /* = TR_OP_* */

struct history_op {
	uint64_t client;         /* below 2^63: a JSON int64 */
	uint8_t op;              /* enum history_op_kind */
	const char *key;         /* bytes, JSON-escaped on output */
	size_t key_len;
	const char *value;       /* set */
	size_t value_len;
	uint64_t call;
	bool done;               /* false: "ret": null (outcome unknown) */
	uint64_t ret;
	bool ok;                 /* the store reported success */
	const char *out;         /* get, done and ok: NULL means absent */
	size_t out_len;
	const char *meta;        /* NULL: no meta field */
};

/* Writes op as one JSON line. Returns 0, or -1 on a write error. */
int history_op_write(FILE *f, const struct history_op *op);
/* Version 2: op's pending line, "ret": null and "ok": false whatever op's
 * done, ret, ok and out. 0, or -1 on a write error. */
int history_op_write_call(FILE *f, const struct history_op *op);

#endif
