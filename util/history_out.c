/* SPDX-License-Identifier: MIT
 * One line of a client history (HISTORY.md, versions 1 and 2). A line is
 * built in a buffer and handed to stdio in a few fwrite calls: a writer of
 * two lines per operation stays cheap (fprintf and fputc per byte cost
 * about 2 us a line).
 */
#include "history_out.h"

#include <string.h>

struct line {
	FILE *f;
	size_t n;
	char buf[512];
};

static void
put(struct line *l, const char *s, size_t len)
{
	if (l->n + len > sizeof(l->buf)) {
		fwrite(l->buf, 1, l->n, l->f);
		l->n = 0;
		if (len > sizeof(l->buf)) {
			fwrite(s, 1, len, l->f);
			return;
		}
	}
	memcpy(l->buf + l->n, s, len);
	l->n += len;
}

static void
put_cstr(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static void
put_u64(struct line *l, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	put(l, tmp + i, sizeof(tmp) - i);
}

/* s as a JSON string: '"' and '\\' escaped, control bytes as \u00XX. */
static void
put_json_str(struct line *l, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	put(l, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};

		if (ch != '"' && ch != '\\' && ch >= 0x20)
			continue;
		put(l, s + run, i - run);
		run = i + 1;
		if (ch >= 0x20) {
			esc[1] = (char)ch;
			put(l, esc, 2);
		} else {
			put(l, esc, sizeof(esc));
		}
	}
	put(l, s + run, len - run);
	put(l, "\"", 1);
}

int
history_op_write(FILE *f, const struct history_op *op)
{
	static const char *const name[] = {[HISTORY_SET] = "set", [HISTORY_GET] = "get",
					   [HISTORY_DEL] = "del"};
	struct line l = {.f = f};

	put_cstr(&l, "{\"client\": ");
	put_u64(&l, op->client);
	put_cstr(&l, ", \"op\": \"");
	put_cstr(&l, name[op->op]);
	put_cstr(&l, "\", \"key\": ");
	put_json_str(&l, op->key, op->key_len);
	if (op->op == HISTORY_SET) {
		put_cstr(&l, ", \"value\": ");
		put_json_str(&l, op->value, op->value_len);
	}
	put_cstr(&l, ", \"call\": ");
	put_u64(&l, op->call);
	put_cstr(&l, ", \"ret\": ");
	if (op->done)
		put_u64(&l, op->ret);
	else
		put_cstr(&l, "null");
	put_cstr(&l, op->ok ? ", \"ok\": true" : ", \"ok\": false");
	if (op->op == HISTORY_GET && op->done && op->ok) {
		put_cstr(&l, ", \"out\": ");
		if (op->out == NULL)
			put_cstr(&l, "null");
		else
			put_json_str(&l, op->out, op->out_len);
	}
	if (op->meta != NULL) {
		put_cstr(&l, ", \"meta\": ");
		put_json_str(&l, op->meta, strlen(op->meta));
	}
	put(&l, "}\n", 2);
	fwrite(l.buf, 1, l.n, f);
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
