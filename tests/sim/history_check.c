/* SPDX-License-Identifier: MIT
 * history-check: validates client histories (HISTORY.md, versions 1 and 2)
 * line by line and judges them as one history with the checks of hcheck.h.
 *
 *   history-check FILE...           the checked history: no local reads in it
 *   history-check --local FILE...   local reads' histories: every line "meta": "local"
 *
 * Exit status: 0 valid and consistent, 1 not, 2 usage or an unreadable file.
 * Several files (the histories of several processes and runs, or pieces of
 * one) are one history, as if concatenated. A file's last line without its
 * newline that does not parse was torn by a writer killed mid-line: it is
 * ignored with a warning. Any other malformed line is an error.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcheck.h"

struct lines {
	struct hist_op *ops;
	size_t n;
	size_t cap;
	size_t torn;
};

static int
by_value(const void *a, const void *b)
{
	return strcmp((*(const struct hist_op *const *)a)->value,
		      (*(const struct hist_op *const *)b)->value);
}

/* Every set writes a value of its own (HISTORY.md): sorted, no two equal. */
static bool
duplicate_value(const struct hist_op *ops, size_t n, char *why, size_t why_len)
{
	const struct hist_op **sets = malloc((n + 1) * sizeof(*sets));
	size_t m = 0;
	bool dup = false;

	for (size_t i = 0; i < n; i++)
		if (ops[i].kind == HIST_SET)
			sets[m++] = &ops[i];
	qsort(sets, m, sizeof(*sets), by_value);
	for (size_t i = 1; i < m && !dup; i++) {
		if (strcmp(sets[i - 1]->value, sets[i]->value) == 0) {
			snprintf(why, why_len, "value %s written twice", sets[i]->value);
			dup = true;
		}
	}
	free(sets);
	return dup;
}

/* Appends the lines of one file. 0, or after printing why -1 (a bad line)
 * or -2 (unreadable). */
static int
read_file(const char *path, bool local, struct lines *l)
{
	size_t lineno = 0, linecap = 0;
	char *line = NULL, why[256];
	ssize_t len;
	FILE *f;
	int rc = 0;

	f = fopen(path, "r");
	if (f == NULL) {
		perror(path);
		return -2;
	}
	while (rc == 0 && (len = getline(&line, &linecap, f)) >= 0) {
		struct hist_op op;
		int prc;

		lineno++;
		prc = hist_parse_line(line, &op, why, sizeof(why));
		if (prc > 0)
			continue;
		if (prc < 0 && len > 0 && line[len - 1] != '\n') {
			fprintf(stderr, "%s:%zu: warning: torn last line ignored (%s)\n", path,
				lineno, why);
			l->torn++;
			continue;
		}
		if (prc < 0) {
			fprintf(stderr, "%s:%zu: %s\n", path, lineno, why);
			rc = -1;
		} else if (local != (strcmp(op.meta, "local") == 0) ||
			   (local && (op.kind != HIST_GET || op.ret_null))) {
			fprintf(stderr, "%s:%zu: %s\n", path, lineno,
				local ? "not a completed local read" : "a local read in the checked history");
			rc = -1;
		} else {
			if (l->n == l->cap) {
				l->cap = l->cap ? 2 * l->cap : 1024;
				l->ops = realloc(l->ops, l->cap * sizeof(*l->ops));
			}
			l->ops[l->n++] = op;
		}
	}
	fclose(f);
	free(line);
	return rc;
}

int
main(int argc, char **argv)
{
	bool local = argc > 1 && strcmp(argv[1], "--local") == 0;
	int first = local ? 2 : 1;
	const char *name = argc == first + 1 ? argv[first] : "history";
	struct lines l = {0};
	size_t lines, unknown = 0;
	char why[256];

	if (argc <= first) {
		fprintf(stderr, "usage: history-check [--local] FILE...\n");
		return 2;
	}
	for (int i = first; i < argc; i++) {
		int rc = read_file(argv[i], local, &l);

		if (rc != 0) {
			free(l.ops); /* LeakSanitizer would turn 2 into 1 */
			return rc == -2 ? 2 : 1;
		}
	}
	lines = l.n;
	l.n = hist_match_pending(l.ops, l.n);
	for (size_t i = 0; i < l.n; i++)
		unknown += l.ops[i].ret_null;
	if (duplicate_value(l.ops, l.n, why, sizeof(why))) {
		fprintf(stderr, "%s: %s\n", name, why);
		return 1;
	}
	if (!local && hist_check(l.ops, l.n, why, sizeof(why)) != 0) {
		fprintf(stderr, "%s: %s\n", name, why);
		return 1;
	}
	printf("%s: %d file%s, %zu lines, %zu operations (%zu of unknown outcome), %zu torn "
	       "last line%s ignored, ok\n", name, argc - first, argc - first > 1 ? "s" : "", lines,
	       l.n, unknown, l.torn, l.torn == 1 ? "" : "s");
	free(l.ops);
	return 0;
}
