/* SPDX-License-Identifier: MIT
 * Client histories: a strict line parser (HISTORY.md, versions 1 and 2), the
 * matching of version 2's pending lines, and a sound per-key checker (hcheck.h).
 */
#include "hcheck.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rd {
	const char *p;
	char *why;
	size_t why_len;
	int depth;
};

static int
fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(struct rd *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, r->why_len, fmt, ap);
	va_end(ap);
	return -1;
}

/* Prefixes the reason already in why with the field's name. */
static int
field_fail(struct rd *r, const char *field)
{
	char inner[128];

	snprintf(inner, sizeof(inner), "%s", r->why);
	return fail(r, "%s: %s", field, inner);
}

static void
ws(struct rd *r)
{
	while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
		r->p++;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
hex4(struct rd *r, unsigned *cp)
{
	*cp = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(r->p[i]);

		if (h < 0)
			return fail(r, "bad \\u escape");
		*cp = *cp << 4 | (unsigned)h;
	}
	r->p += 4;
	return 0;
}

/* Appends a code point as UTF-8; out may be NULL (skipping). */
static int
put_utf8(struct rd *r, char *out, size_t cap, size_t *len, unsigned cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (out != NULL) {
		if (*len + n >= cap)
			return fail(r, "string longer than %zu bytes", cap - 1);
		memcpy(out + *len, b, n);
	}
	*len += n;
	return 0;
}

/* One UTF-8 sequence from the input (raw, not escaped); its code point. */
static int
utf8_in(struct rd *r, unsigned *cp)
{
	const unsigned char *s = (const unsigned char *)r->p;
	unsigned n, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		n = 1;
		min = 0;
	} else if ((s[0] & 0xe0) == 0xc0) {
		*cp = s[0] & 0x1f;
		n = 2;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		*cp = s[0] & 0x0f;
		n = 3;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		*cp = s[0] & 0x07;
		n = 4;
		min = 0x10000;
	} else {
		return fail(r, "invalid UTF-8");
	}
	for (unsigned i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return fail(r, "invalid UTF-8");
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return fail(r, "invalid UTF-8");
	r->p += n;
	return 0;
}

/* A JSON string into out (NULL: validate only). */
static int
string(struct rd *r, char *out, size_t cap)
{
	size_t len = 0;

	if (*r->p != '"')
		return fail(r, "expected a string");
	r->p++;
	for (;;) {
		unsigned cp = 0;

		if (*r->p == 0)
			return fail(r, "unterminated string");
		if (*r->p == '"') {
			r->p++;
			break;
		}
		if ((unsigned char)*r->p < 0x20)
			return fail(r, "control character in a string");
		if (*r->p != '\\') {
			if (utf8_in(r, &cp) != 0)
				return -1;
		} else {
			char e = r->p[1];

			r->p += 2;
			switch (e) {
			case '"': cp = '"'; break;
			case '\\': cp = '\\'; break;
			case '/': cp = '/'; break;
			case 'b': cp = '\b'; break;
			case 'f': cp = '\f'; break;
			case 'n': cp = '\n'; break;
			case 'r': cp = '\r'; break;
			case 't': cp = '\t'; break;
			case 'u':
				if (hex4(r, &cp) != 0)
					return -1;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					unsigned lo;

					if (r->p[0] != '\\' || r->p[1] != 'u')
						return fail(r, "lone surrogate");
					r->p += 2;
					if (hex4(r, &lo) != 0)
						return -1;
					if (lo < 0xdc00 || lo > 0xdfff)
						return fail(r, "lone surrogate");
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				} else if (cp >= 0xdc00 && cp <= 0xdfff) {
					return fail(r, "lone surrogate");
				}
				break;
			default:
				return fail(r, "bad escape");
			}
		}
		if (put_utf8(r, out, cap, &len, cp) != 0)
			return -1;
	}
	if (out != NULL)
		out[len] = 0;
	return 0;
}

/* HISTORY.md: integers are JSON integers (no fraction, no exponent, no
 * quotes) and fit a signed 64-bit integer. */
static int
integer(struct rd *r, int64_t *v)
{
	const char *p = r->p;
	bool neg = *p == '-';
	uint64_t mag = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;

	if (neg)
		p++;
	if (*p < '0' || *p > '9')
		return fail(r, "expected an integer");
	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return fail(r, "leading zero");
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (mag > (lim - d) / 10)
			return fail(r, "integer out of the int64 range");
		mag = mag * 10 + d;
	}
	if (*p == '.' || *p == 'e' || *p == 'E')
		return fail(r, "not an integer (fraction or exponent)");
	*v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	r->p = p;
	return 0;
}

static bool
word(struct rd *r, const char *w)
{
	size_t n = strlen(w);

	if (strncmp(r->p, w, n) != 0)
		return false;
	r->p += n;
	return true;
}

/* Any JSON value (meta). */
static int
value_any(struct rd *r)
{
	ws(r);
	if (*r->p == '"')
		return string(r, NULL, 0);
	if (word(r, "true") || word(r, "false") || word(r, "null"))
		return 0;
	if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9')) {
		const char *p = r->p + (*r->p == '-');

		if (*p == '0')
			p++;
		else if (*p >= '1' && *p <= '9')
			while (*p >= '0' && *p <= '9')
				p++;
		else
			return fail(r, "bad number");
		if (*p == '.') {
			if (*++p < '0' || *p > '9')
				return fail(r, "bad number");
			while (*p >= '0' && *p <= '9')
				p++;
		}
		if (*p == 'e' || *p == 'E') {
			p++;
			if (*p == '+' || *p == '-')
				p++;
			if (*p < '0' || *p > '9')
				return fail(r, "bad number");
			while (*p >= '0' && *p <= '9')
				p++;
		}
		r->p = p;
		return 0;
	}
	if (*r->p == '[' || *r->p == '{') {
		char close = *r->p == '[' ? ']' : '}';
		bool obj = close == '}';

		if (++r->depth > 64)
			return fail(r, "nested too deep");
		r->p++;
		ws(r);
		if (*r->p == close) {
			r->p++;
			r->depth--;
			return 0;
		}
		for (;;) {
			ws(r);
			if (obj) {
				if (string(r, NULL, 0) != 0)
					return -1;
				ws(r);
				if (*r->p++ != ':')
					return fail(r, "expected ':'");
			}
			if (value_any(r) != 0)
				return -1;
			ws(r);
			if (*r->p == ',') {
				r->p++;
				continue;
			}
			if (*r->p++ != close)
				return fail(r, "expected ',' or '%c'", close);
			r->depth--;
			return 0;
		}
	}
	return fail(r, "expected a value");
}

enum field {
	F_CLIENT, F_OP, F_KEY, F_VALUE, F_CALL, F_RET, F_OK, F_OUT, F_META, F_COUNT
};

static const char *const field_names[F_COUNT] = {
	"client", "op", "key", "value", "call", "ret", "ok", "out", "meta",
};

int
hist_parse_line(const char *line, struct hist_op *op, char *why, size_t why_len)
{
	struct rd r = {.p = line, .why = why, .why_len = why_len};
	bool seen[F_COUNT] = {false}, value_null = false, out_null_given = false;
	char name[32], opname[8];

	memset(op, 0, sizeof(*op));
	ws(&r);
	if (*r.p == 0)
		return 1; /* a blank line */
	if (*r.p++ != '{')
		return fail(&r, "a line must be one JSON object");
	ws(&r);
	if (*r.p == '}')
		return fail(&r, "empty object");
	for (;;) {
		int f;

		ws(&r);
		if (string(&r, name, sizeof(name)) != 0)
			return fail(&r, "bad field name");
		for (f = 0; f < F_COUNT && strcmp(name, field_names[f]) != 0; f++)
			;
		if (f == F_COUNT)
			return fail(&r, "unknown field \"%s\"", name);
		if (seen[f])
			return fail(&r, "field \"%s\" twice", name);
		seen[f] = true;
		ws(&r);
		if (*r.p++ != ':')
			return fail(&r, "expected ':' after \"%s\"", name);
		ws(&r);
		switch (f) {
		case F_CLIENT:
			if (integer(&r, &op->client) != 0)
				return field_fail(&r, "client");
			if (op->client < 0)
				return fail(&r, "client must be >= 0");
			break;
		case F_OP:
			if (string(&r, opname, sizeof(opname)) != 0)
				return fail(&r, "op must be \"set\", \"get\" or \"del\"");
			op->kind = strcmp(opname, "set") == 0 ? HIST_SET
				 : strcmp(opname, "get") == 0 ? HIST_GET
				 : strcmp(opname, "del") == 0 ? HIST_DEL : 0;
			if (op->kind == 0)
				return fail(&r, "op must be \"set\", \"get\" or \"del\"");
			break;
		case F_KEY:
			if (string(&r, op->key, sizeof(op->key)) != 0)
				return field_fail(&r, "key");
			break;
		case F_VALUE:
			if (word(&r, "null"))
				value_null = true;
			else if (string(&r, op->value, sizeof(op->value)) != 0)
				return field_fail(&r, "value");
			break;
		case F_CALL:
			if (integer(&r, &op->call) != 0)
				return field_fail(&r, "call");
			break;
		case F_RET:
			if (word(&r, "null"))
				op->ret_null = true;
			else if (integer(&r, &op->ret) != 0)
				return field_fail(&r, "ret");
			break;
		case F_OK:
			if (word(&r, "true"))
				op->ok = true;
			else if (!word(&r, "false"))
				return fail(&r, "ok must be true or false");
			break;
		case F_OUT:
			op->has_out = true;
			if (word(&r, "null"))
				out_null_given = true;
			else if (string(&r, op->out, sizeof(op->out)) != 0)
				return field_fail(&r, "out");
			break;
		case F_META: {
			const char *start = r.p;

			op->has_meta = true;
			if (*r.p == '"' && string(&r, op->meta, sizeof(op->meta)) == 0)
				break;
			r.p = start;
			op->meta[0] = 0;
			if (value_any(&r) != 0)
				return field_fail(&r, "meta");
			break;
		}
		}
		ws(&r);
		if (*r.p == ',') {
			r.p++;
			continue;
		}
		if (*r.p++ != '}')
			return fail(&r, "expected ',' or '}' after \"%s\"", name);
		break;
	}
	ws(&r);
	if (*r.p != 0)
		return fail(&r, "text after the object");

	for (int f = 0; f <= F_OK; f++) {
		if (f == F_VALUE)
			continue;
		if (!seen[f])
			return fail(&r, "missing field \"%s\"", field_names[f]);
	}
	if (op->kind == HIST_SET && (!seen[F_VALUE] || value_null))
		return fail(&r, "a set needs a string value");
	if (op->kind != HIST_SET && seen[F_VALUE] && !value_null)
		return fail(&r, "only a set has a value");
	if (!op->ret_null && op->ret < op->call)
		return fail(&r, "ret before call");
	if (op->kind == HIST_GET && !op->ret_null && op->ok && !op->has_out)
		return fail(&r, "a completed get needs out");
	if (op->kind != HIST_GET && op->has_out && !out_null_given)
		return fail(&r, "only a get has out");
	op->out_null = op->has_out && out_null_given;
	if (op->kind != HIST_GET)
		op->has_out = false;
	return 0;
}

/* The identity of an operation's lines (client, op, key, value, call), then
 * pending lines after complete ones; equal lines by position. */
static int
by_identity(const void *a, const void *b)
{
	const struct hist_op *x = *(const struct hist_op *const *)a;
	const struct hist_op *y = *(const struct hist_op *const *)b;
	int c;

	if (x->client != y->client)
		return x->client < y->client ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if ((c = strcmp(x->key, y->key)) != 0 || (c = strcmp(x->value, y->value)) != 0)
		return c;
	if (x->call != y->call)
		return x->call < y->call ? -1 : 1;
	if (x->ret_null != y->ret_null)
		return x->ret_null ? 1 : -1;
	return x < y ? -1 : x > y;
}

static bool
same_identity(const struct hist_op *x, const struct hist_op *y)
{
	return x->client == y->client && x->kind == y->kind && x->call == y->call &&
	       strcmp(x->key, y->key) == 0 && strcmp(x->value, y->value) == 0;
}

size_t
hist_match_pending(struct hist_op *ops, size_t n)
{
	struct hist_op **by = malloc((n + 1) * sizeof(*by));
	bool *drop = calloc(n + 1, sizeof(*drop));
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		by[i] = &ops[i];
	qsort(by, n, sizeof(*by), by_identity);
	for (size_t i = 0, j; i < n; i = j) {
		size_t complete = 0;

		for (j = i; j < n && same_identity(by[i], by[j]); j++)
			complete += !by[j]->ret_null;
		/* by[i .. i+complete) complete, then the pending lines: the
		 * first `complete` of those are matched. */
		for (size_t k = i + complete; k < j && k < i + 2 * complete; k++)
			drop[by[k] - ops] = true;
	}
	for (size_t i = 0; i < n; i++)
		if (!drop[i])
			ops[m++] = ops[i];
	free(drop);
	free(by);
	return m;
}

/* A write definitely took effect, at a time within [call, ret]. */
static bool
completed(const struct hist_op *o)
{
	return !o->ret_null && o->ok;
}

/* Operations sorted by a time, each with the one whose other time is the
 * largest so far: "the latest call among the writes that returned before t"
 * in O(log n). */
struct prefix {
	const struct hist_op **op;
	const struct hist_op **best; /* best[i]: the max of op[0..i] */
	size_t n;
};

static int
by_ret(const void *a, const void *b)
{
	const struct hist_op *x = *(const struct hist_op *const *)a;
	const struct hist_op *y = *(const struct hist_op *const *)b;

	return x->ret != y->ret ? (x->ret < y->ret ? -1 : 1) : x < y ? -1 : x > y;
}

static int
by_call(const void *a, const void *b)
{
	const struct hist_op *x = *(const struct hist_op *const *)a;
	const struct hist_op *y = *(const struct hist_op *const *)b;

	return x->call != y->call ? (x->call < y->call ? -1 : 1) : x < y ? -1 : x > y;
}

/* When a write may have taken effect at the latest: its ret if it
 * completed, else any time (unknown outcome, or failed). */
static int64_t
effect_by(const struct hist_op *o)
{
	return completed(o) ? o->ret : INT64_MAX;
}

/* Sorted by ret, the largest call so far (by_ret); or sorted by call, the
 * largest effect_by so far. */
static void
prefix_build(struct prefix *p, bool ret_order)
{
	qsort(p->op, p->n, sizeof(*p->op), ret_order ? by_ret : by_call);
	for (size_t i = 0; i < p->n; i++) {
		const struct hist_op *o = p->op[i], *b = i > 0 ? p->best[i - 1] : o;

		p->best[i] = (ret_order ? o->call > b->call : effect_by(o) > effect_by(b)) ? o : b;
	}
}

/* The best of the operations whose ret (ret_order) or call is below t, or
 * at most t when inclusive; NULL when there is none. */
static const struct hist_op *
prefix_best(const struct prefix *p, bool ret_order, int64_t t, bool inclusive)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int64_t v = ret_order ? p->op[mid]->ret : p->op[mid]->call;

		if (v < t || (inclusive && v == t))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 ? p->best[lo - 1] : NULL;
}

static int
by_value_addr(const void *a, const void *b)
{
	const struct hist_op *x = *(const struct hist_op *const *)a;
	const struct hist_op *y = *(const struct hist_op *const *)b;
	int c = strcmp(x->value, y->value);

	return c != 0 ? c : x < y ? -1 : x > y;
}

/* The index of the first set (in the history's order) that wrote value,
 * or n. */
static size_t
set_of(const struct hist_op *const *sets, size_t n, const char *value)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(sets[mid]->value, value) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strcmp(sets[lo]->value, value) == 0 ? lo : n;
}

/* The checks of hcheck.h over one key's operations, in O(n log n). mem
 * holds 7 n pointers, by n times. */
static int
check_key(struct rd *r, const struct hist_op *const *ops, size_t n, const struct hist_op **mem,
	  int64_t *by)
{
	/* Every set by value; completed sets and completed writes by ret; dels
	 * by call. */
	const struct hist_op **sets = mem;
	struct prefix done_sets = {.op = mem + n, .best = mem + 2 * n};
	struct prefix done_writes = {.op = mem + 3 * n, .best = mem + 4 * n};
	struct prefix dels = {.op = mem + 5 * n, .best = mem + 6 * n};
	size_t nsets = 0;

	for (size_t i = 0; i < n; i++) {
		const struct hist_op *o = ops[i];

		if (o->kind == HIST_SET)
			sets[nsets++] = o;
		if (o->kind == HIST_SET && completed(o))
			done_sets.op[done_sets.n++] = o;
		if (o->kind != HIST_GET && completed(o))
			done_writes.op[done_writes.n++] = o;
		if (o->kind == HIST_DEL)
			dels.op[dels.n++] = o;
	}
	qsort(sets, nsets, sizeof(*sets), by_value_addr);
	prefix_build(&done_sets, true);
	prefix_build(&done_writes, true);
	prefix_build(&dels, false);

	/* by[i]: sets[i] took effect by then at the latest: its ret if it
	 * completed, and no later than the end of any get that read its value
	 * (values are unique per key). */
	for (size_t i = 0; i < nsets; i++)
		by[i] = effect_by(sets[i]);
	for (size_t gi = 0; gi < n; gi++) {
		const struct hist_op *g = ops[gi];
		size_t si;

		if (g->kind != HIST_GET || !completed(g) || g->out_null)
			continue;
		si = set_of(sets, nsets, g->out);
		if (si < nsets && g->ret < by[si])
			by[si] = g->ret;
	}

	for (size_t gi = 0; gi < n; gi++) {
		const struct hist_op *g = ops[gi], *s, *w, *d;
		size_t si;

		if (g->kind != HIST_GET || !completed(g))
			continue;
		if (g->out_null) {
			/* Absent after a completed set w needs a del invoked by the
			 * get's end that may take effect after w began: of the sets
			 * that completed before the get, the latest-invoked one
			 * against the latest effect of the dels. */
			w = prefix_best(&done_sets, true, g->call, false);
			d = prefix_best(&dels, false, g->ret, true);
			if (w != NULL && (d == NULL || effect_by(d) < w->call))
				return fail(r, "get of %s by client %" PRId64 " at %" PRId64
					    " returned absent after client %" PRId64
					    "'s set %s completed at %" PRId64, g->key, g->client,
					    g->call, w->client, w->value, w->ret);
			continue;
		}
		si = set_of(sets, nsets, g->out);
		if (si == nsets)
			return fail(r, "get of %s by client %" PRId64 " returned %s, which no set of "
				    "the key wrote", g->key, g->client, g->out);
		s = sets[si];
		if (s->call > g->ret)
			return fail(r, "get of %s returned %s before it was written", g->key, g->out);
		/* Stale: a write invoked after s took effect (by[si]: s returned,
		 * or a get had read it) completed before the get was invoked. */
		w = prefix_best(&done_writes, true, g->call, false);
		if (w != NULL && w->call > by[si])
			return fail(r, "stale read: get of %s by client %" PRId64 " at %" PRId64
				    " returned %s, overwritten by client %" PRId64 "'s %s "
				    "(%" PRId64 "..%" PRId64 ")", g->key, g->client, g->call,
				    g->out, w->client, w->kind == HIST_SET ? "set" : "del",
				    w->call, w->ret);
	}
	return 0;
}

static int
by_key(const void *a, const void *b)
{
	const struct hist_op *x = *(const struct hist_op *const *)a;
	const struct hist_op *y = *(const struct hist_op *const *)b;
	int c = strcmp(x->key, y->key);

	return c != 0 ? c : x < y ? -1 : x > y;
}

int
hist_check(const struct hist_op *ops, size_t n, char *why, size_t why_len)
{
	struct rd r = {.why = why, .why_len = why_len};
	const struct hist_op **by = malloc((n + 1) * sizeof(*by));
	const struct hist_op **mem = malloc((7 * n + 1) * sizeof(*mem));
	int64_t *times = malloc((n + 1) * sizeof(*times));
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		by[i] = &ops[i];
	qsort(by, n, sizeof(*by), by_key);
	for (size_t i = 0, j; i < n && rc == 0; i = j) {
		for (j = i + 1; j < n && strcmp(by[j]->key, by[i]->key) == 0; j++)
			;
		rc = check_key(&r, by + i, j - i, mem, times);
	}
	free(times);
	free(mem);
	free(by);
	return rc;
}
