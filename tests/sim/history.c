/* SPDX-License-Identifier: MIT
 * Client histories in the format of HISTORY.md (version 1): one JSON object
 * per client operation, simulated nanoseconds, for checkers outside the
 * project (Porcupine, Jepsen-style analysers).
 */
#include "sim_internal.h"

#include "history_out.h"

#include <string.h>

static const char *const read_mode_name[SIM_READ_MODES] = {
	[SIM_READ_BARRIER] = "barrier",
	[SIM_READ_LOG] = "log",
	[SIM_READ_LOCAL] = "local",
};

long
sim_history_write(const struct sim *s, FILE *f, FILE *local_f)
{
	long lines = 0;

	for (unsigned i = 0; i < s->nops; i++) {
		const struct op *o = &s->ops[i];
		bool local = o->op == TR_OP_GET && o->mode == SIM_READ_LOCAL;
		/* "ok": the store reported success; TOO_OLD and FULL are failures
		 * (outcome unknown); a del of an absent key succeeded. */
		bool ok = o->done && o->status != TR_ST_TOO_OLD && o->status != TR_ST_FULL;
		FILE *out = local ? local_f : f;

		if (out == NULL)
			continue;
		/* Resubmissions are the same operation: call is the first. */
		struct history_op h = {
			.client = o->client, .op = o->op,
			.key = o->key, .key_len = strlen(o->key),
			.value = o->val, .value_len = o->op == TR_OP_SET ? strlen(o->val) : 0,
			.call = o->call, .done = o->done, .ret = o->ret, .ok = ok,
			.out = o->out_null ? NULL : o->out,
			.out_len = o->out_null ? 0 : strlen(o->out),
			.meta = o->op == TR_OP_GET ? read_mode_name[o->mode]
			      : o->submits > 1 ? "resubmitted" : NULL,
		};

		if (history_op_write(out, &h) != 0)
			return -1;
		lines += !local;
	}
	if ((f != NULL && ferror(f)) || (local_f != NULL && ferror(local_f)))
		return -1;
	return lines;
}
