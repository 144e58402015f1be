/* SPDX-License-Identifier: MIT
 * Latency histogram of the trireme launcher: log-linear buckets (HDR-like)
 * over 1 ns .. 10 s. Values below 64 ns have a bucket each; above, every
 * power of two is split into 64 sub-buckets, so a bucket is at most 1/64
 * (1.6 %) of its value wide. Larger values are counted as 10 s.
 */
#ifndef TRIREME_TOOLS_HIST_H
#define TRIREME_TOOLS_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_MAX_NS UINT64_C(10000000000) /* 10 s: below 2^34 */
#define HIST_EXP_MAX 33                   /* floor(log2(HIST_MAX_NS)) */
#define HIST_BUCKETS (HIST_SUB + (HIST_EXP_MAX - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t min_ns;
	uint64_t max_ns;
	uint64_t bucket[HIST_BUCKETS];
};

void hist_reset(struct hist *h);
void hist_add(struct hist *h, uint64_t ns);
void hist_merge(struct hist *dst, const struct hist *src);
/* The value at quantile q (0..1) in ns, within the bucket precision; 0 when
 * the histogram is empty. */
uint64_t hist_quantile(const struct hist *h, double q);

#endif
