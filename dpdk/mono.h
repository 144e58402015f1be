/* SPDX-License-Identifier: MIT
 * Trireme runtime: the monotonic clock in nanoseconds, for code without an
 * EAL (the log, the data directory, their tests). Plain POSIX.
 */
#ifndef TR_MONO_H
#define TR_MONO_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
tr_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
