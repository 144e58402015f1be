/* SPDX-License-Identifier: MIT
 * §7: the next instance to apply, by the (|deps|, column) minimum over the
 * heads reachable from a committed head.
 */
#include "internal.h"

/* X depends on column d (d != X's column) iff X.deps[d] > applied[d]. */
static bool
depends(const struct tr_head *h, unsigned column, unsigned d, const uint64_t applied[TR_COLUMNS])
{
	return d != column && h->deps[d] > applied[d];
}

static unsigned
deps_count(const struct tr_head *h, unsigned column, const uint64_t applied[TR_COLUMNS])
{
	unsigned n = 0;

	for (unsigned d = 0; d < TR_COLUMNS; d++)
		n += depends(h, column, d, applied);
	return n;
}

/* The walk from start: 0 and the chosen column, or -1 (blocked) with the
 * blocking columns added to *need. */
static int
walk(const struct tr_head heads[TR_COLUMNS], const uint64_t applied[TR_COLUMNS], unsigned start,
     unsigned *need)
{
	unsigned visited = 1u << start, todo = 1u << start;
	int best = -1;
	unsigned best_n = 0;

	while (todo != 0) {
		unsigned x = (unsigned)__builtin_ctz(todo);

		todo &= todo - 1;
		for (unsigned d = 0; d < TR_COLUMNS; d++) {
			if (!depends(&heads[x], x, d, applied) || (visited & (1u << d)))
				continue;
			if (!heads[d].committed) {
				*need |= 1u << d; /* never skip it: fetch, recover, wait */
				return -1;
			}
			visited |= 1u << d;
			todo |= 1u << d;
		}
	}
	for (unsigned x = 0; x < TR_COLUMNS; x++) {
		unsigned n;

		if (!(visited & (1u << x)))
			continue;
		n = deps_count(&heads[x], x, applied);
		if (best < 0 || n < best_n) {
			best = (int)x;
			best_n = n;
		}
	}
	return best;
}

int
tr_order_next(const struct tr_head heads[TR_COLUMNS], const uint64_t applied[TR_COLUMNS],
	      unsigned *need)
{
	unsigned blocked = 0;

	for (unsigned start = 0; start < TR_COLUMNS; start++) {
		int col;

		if (!heads[start].committed)
			continue;
		col = walk(heads, applied, start, &blocked);
		if (col >= 0) {
			if (need != NULL)
				*need = 0;
			return col;
		}
	}
	if (need != NULL)
		*need = blocked;
	return -1;
}
