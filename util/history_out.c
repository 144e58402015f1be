/* SPDX-License-Identifier: MIT
 * One line of a client history (HISTORY.md, versions 1 and 2).
 */
#include "history_out.h"

#include <inttypes.h>

static void
json_str(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

int
history_op_write(FILE *f, const struct history_op *op)
{
	static const char *const name[] = {[HISTORY_SET] = "set", [HISTORY_GET] = "get",
					   [HISTORY_DEL] = "del"};

	fprintf(f, "{\"client\": %" PRIu64 ", \"op\": \"%s\", \"key\": ", op->client,
		name[op->op]);
	json_str(f, op->key, op->key_len);
	if (op->op == HISTORY_SET) {
		fputs(", \"value\": ", f);
		json_str(f, op->value, op->value_len);
	}
	fprintf(f, ", \"call\": %" PRIu64, op->call);
	if (op->done)
		fprintf(f, ", \"ret\": %" PRIu64, op->ret);
	else
		fputs(", \"ret\": null", f);
	fprintf(f, ", \"ok\": %s", op->ok ? "true" : "false");
	if (op->op == HISTORY_GET && op->done && op->ok) {
		fputs(", \"out\": ", f);
		if (op->out == NULL)
			fputs("null", f);
		else
			json_str(f, op->out, op->out_len);
	}
	if (op->meta != NULL)
		fprintf(f, ", \"meta\": \"%s\"", op->meta);
	fputs("}\n", f);
	return ferror(f) ? -1 : 0;
}

int
history_op_write_call(FILE *f, const struct history_op *op)
{
	struct history_op pending = *op;

	pending.done = false;
	pending.ret = 0;
	pending.ok = false;
	pending.out = NULL;
	pending.out_len = 0;
	return history_op_write(f, &pending);
}
