/* SPDX-License-Identifier: MIT
 * history-check: validates a client history (HISTORY.md) line by line and
 * judges it with the checks of hcheck.h.
 *
 *   history-check FILE           the checked history: no local reads in it
 *   history-check --local FILE   a local reads' history: every line "meta": "local"
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcheck.h"

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

int
main(int argc, char **argv)
{
	bool local = argc == 3 && strcmp(argv[1], "--local") == 0;
	const char *path = argv[argc - 1];
	struct hist_op *ops = NULL;
	size_t n = 0, cap = 0, lineno = 0, linecap = 0;
	char *line = NULL, why[256];
	FILE *f;

	if (argc != 2 && !local) {
		fprintf(stderr, "usage: history-check [--local] FILE\n");
		return 2;
	}
	f = fopen(path, "r");
	if (f == NULL) {
		perror(path);
		return 2;
	}
	while (getline(&line, &linecap, f) >= 0) {
		struct hist_op op;
		int rc;

		lineno++;
		rc = hist_parse_line(line, &op, why, sizeof(why));
		if (rc > 0)
			continue;
		if (rc < 0) {
			fprintf(stderr, "%s:%zu: %s\n", path, lineno, why);
			return 1;
		}
		if (local != (strcmp(op.meta, "local") == 0) ||
		    (local && (op.kind != HIST_GET || op.ret_null))) {
			fprintf(stderr, "%s:%zu: %s\n", path, lineno,
				local ? "not a completed local read" : "a local read in the checked history");
			return 1;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			ops = realloc(ops, cap * sizeof(*ops));
		}
		ops[n++] = op;
	}
	fclose(f);
	free(line);
	if (duplicate_value(ops, n, why, sizeof(why))) {
		fprintf(stderr, "%s: %s\n", path, why);
		return 1;
	}
	if (!local && hist_check(ops, n, why, sizeof(why)) != 0) {
		fprintf(stderr, "%s: %s\n", path, why);
		return 1;
	}
	printf("%s: %zu operations, ok\n", path, n);
	free(ops);
	return 0;
}
