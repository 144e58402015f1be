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
		for (size_t i = 0; i < n && op.kind == HIST_SET; i++) {
			if (ops[i].kind == HIST_SET && strcmp(ops[i].value, op.value) == 0) {
				fprintf(stderr, "%s:%zu: value %s written twice\n", path, lineno, op.value);
				return 1;
			}
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			ops = realloc(ops, cap * sizeof(*ops));
		}
		ops[n++] = op;
	}
	fclose(f);
	free(line);
	if (!local && hist_check(ops, n, why, sizeof(why)) != 0) {
		fprintf(stderr, "%s: %s\n", path, why);
		return 1;
	}
	printf("%s: %zu operations, ok\n", path, n);
	free(ops);
	return 0;
}
