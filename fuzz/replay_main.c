/* SPDX-License-Identifier: MIT
 * A main() for the fuzz targets without libFuzzer: runs the target once on
 * every file given, or on every file in every directory given. Built with any
 * compiler (gcc, under the ASan build too), it replays the seed corpus and the
 * reproducers of fixed findings as ordinary regression tests:
 *   fuzz_wire_replay [--corpus] fuzz/corpus/wire
 * A finding aborts (the target's checks) or is reported by a sanitizer. With
 * --corpus, the target's fuzz_replay_check() also judges the inputs as a
 * whole (a seed corpus must reach what it was written for: fuzz_wire wants
 * most frames to decode, fuzz_engine every message type delivered).
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
/* NULL when the inputs replayed so far did what a seed corpus must, else why
 * not; optional. */
const char *fuzz_replay_check(unsigned inputs) __attribute__((weak));

static unsigned runs;

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	do {
		if (len == cap) {
			uint8_t *nb;

			cap = cap ? 2 * cap : 4096;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	/* An exact-size copy, so that ASan sees a read past the end. */
	{
		uint8_t *exact = malloc(len ? len : 1);

		if (exact == NULL) {
			free(buf);
			return -1;
		}
		if (len)
			memcpy(exact, buf, len);
		free(buf);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	runs++;
	return 0;
}

static int
run_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (stat(path, &st) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	d = opendir(path);
	if (d == NULL) {
		perror(path);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char sub[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (stat(sub, &st) == 0 && S_ISREG(st.st_mode) && run_file(sub) != 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int
main(int argc, char **argv)
{
	int rc = 0, first = 1;
	bool corpus = argc > 1 && strcmp(argv[1], "--corpus") == 0;

	if (corpus)
		first = 2;
	if (argc <= first) {
		fprintf(stderr, "usage: %s [--corpus] FILE_OR_DIR...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = first; i < argc; i++)
		if (run_path(argv[i]) != 0)
			rc = 1;
	printf("%s: %u inputs replayed%s\n", argv[0], runs, rc ? ", some unreadable" : "");
	if (corpus && fuzz_replay_check != NULL) {
		const char *why = fuzz_replay_check(runs);

		if (why != NULL) {
			fprintf(stderr, "%s: corpus: %s\n", argv[0], why);
			rc = 1;
		}
	}
	return rc;
}
