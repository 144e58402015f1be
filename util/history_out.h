/* SPDX-License-Identifier: MIT
 * One line of a client history (../shared/HISTORY.md, version 1): the writer
 * the simulator and the launcher share.
 */
#ifndef TR_HISTORY_OUT_H
#define TR_HISTORY_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum history_op_kind { HISTORY_SET = 1, HISTORY_GET = 2, HISTORY_DEL = 3 }; /* = TR_OP_* */

struct history_op {
	unsigned client;
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

#endif
