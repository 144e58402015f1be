/* SPDX-License-Identifier: MIT
 * Latency histogram of the trireme launcher (see hist.h).
 */
#include <string.h>

#include "hist.h"

static unsigned
hist_index(uint64_t ns)
{
	unsigned e;

	if (ns < HIST_SUB)
		return (unsigned)ns;
	if (ns > HIST_MAX_NS)
		ns = HIST_MAX_NS;
	e = 63u - (unsigned)__builtin_clzll(ns); /* HIST_SUB_BITS .. HIST_EXP_MAX */
	return HIST_SUB + (e - HIST_SUB_BITS) * HIST_SUB +
	       (unsigned)((ns >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* The middle of bucket i. */
static uint64_t
hist_value(unsigned i)
{
	unsigned e, sub;
	uint64_t lo, width;

	if (i < HIST_SUB)
		return i;
	e = (i - HIST_SUB) / HIST_SUB + HIST_SUB_BITS;
	sub = (i - HIST_SUB) % HIST_SUB;
	width = UINT64_C(1) << (e - HIST_SUB_BITS);
	lo = ((uint64_t)HIST_SUB + sub) * width;
	return lo + width / 2;
}

void
hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min_ns = UINT64_MAX;
}

void
hist_add(struct hist *h, uint64_t ns)
{
	h->bucket[hist_index(ns)]++;
	h->count++;
	h->sum_ns += ns;
	if (ns < h->min_ns)
		h->min_ns = ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

void
hist_merge(struct hist *dst, const struct hist *src)
{
	unsigned i;

	if (src->count == 0)
		return;
	for (i = 0; i < HIST_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	dst->count += src->count;
	dst->sum_ns += src->sum_ns;
	if (src->min_ns < dst->min_ns)
		dst->min_ns = src->min_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
}

uint64_t
hist_quantile(const struct hist *h, double q)
{
	uint64_t rank, seen = 0, v;
	unsigned i;

	if (h->count == 0)
		return 0;
	if (q <= 0)
		return h->min_ns;
	if (q >= 1)
		return h->max_ns;
	rank = (uint64_t)(q * (double)h->count); /* ceil, without libm */
	if ((double)rank < q * (double)h->count || rank == 0)
		rank++;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank)
			break;
	}
	if (i == HIST_BUCKETS)
		return h->max_ns;
	/* The middle of a bucket can lie outside the values seen. */
	v = hist_value(i);
	if (v < h->min_ns)
		v = h->min_ns;
	if (v > h->max_ns)
		v = h->max_ns;
	return v;
}
