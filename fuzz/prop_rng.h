/* SPDX-License-Identifier: MIT
 * The seeded generator of the property tests (net_mutate.c, opts_props.c):
 * splitmix64, as the engine's jitter (engine/internal.h), over a state the
 * test seeds.
 */
#ifndef TR_FUZZ_PROP_RNG_H
#define TR_FUZZ_PROP_RNG_H

#include <stdint.h>

static uint64_t rng;

static inline uint64_t
next(void)
{
	uint64_t z = (rng += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Uniform enough in [0, n). */
static inline unsigned
below(unsigned n)
{
	return (unsigned)(next() % n);
}

#endif
