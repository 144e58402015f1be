/* SPDX-License-Identifier: MIT
 * The benchmarks' integer options, read one way.
 */
#ifndef TRIREME_BENCH_ARGS_H
#define TRIREME_BENCH_ARGS_H

#include <stdint.h>
#include <stdlib.h>

/* s as a decimal integer in lo..hi; anything else prints usage() and exits
 * with status 2. */
static inline uint64_t
bench_arg(const char *s, uint64_t lo, uint64_t hi, void (*usage)(void))
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*s < '0' || *s > '9' || *end != '\0' || v < lo || v > hi) {
		usage();
		exit(2);
	}
	return v;
}

#endif
