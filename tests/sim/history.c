/* SPDX-License-Identifier: MIT
 * Client histories in the format of HISTORY.md (version 1): one JSON object
 * per client operation, simulated nanoseconds, for checkers outside the
 * project (Porcupine, Jepsen-style analysers).
 */
#include "sim_internal.h"

#include <inttypes.h>
#include <string.h>

static void
json_str(FILE *f, const char *str)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)str; *p != 0; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static const char *
op_name(uint8_t op)
{
	return op == TR_OP_SET ? "set" : op == TR_OP_DEL ? "del" : "get";
}

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
		fprintf(out, "{\"client\": %u, \"op\": \"%s\", \"key\": ", o->client, op_name(o->op));
		json_str(out, o->key);
		if (o->op == TR_OP_SET) {
			fputs(", \"value\": ", out);
			json_str(out, o->val);
		}
		/* Resubmissions are the same operation: call is the first. */
		fprintf(out, ", \"call\": %" PRIu64, o->call);
		if (o->done)
			fprintf(out, ", \"ret\": %" PRIu64, o->ret);
		else
			fputs(", \"ret\": null", out);
		fprintf(out, ", \"ok\": %s", ok ? "true" : "false");
		if (o->op == TR_OP_GET && ok) {
			fputs(", \"out\": ", out);
			if (o->out_null)
				fputs("null", out);
			else
				json_str(out, o->out);
		}
		if (o->op == TR_OP_GET)
			fprintf(out, ", \"meta\": \"%s\"", read_mode_name[o->mode]);
		else if (o->submits > 1)
			fputs(", \"meta\": \"resubmitted\"", out);
		fputs("}\n", out);
		lines += !local;
	}
	if ((f != NULL && ferror(f)) || (local_f != NULL && ferror(local_f)))
		return -1;
	return lines;
}
