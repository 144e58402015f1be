/* SPDX-License-Identifier: MIT
 * §7: the next instance to apply, by the (|deps|, column) minimum over the
 * heads reachable from a committed head.
 */
#include "internal.h"

/* The walk from start: 0 and the chosen column, or -1 (blocked) with the
 * blocking column added to *need. */
int
order_walk(const unsigned dep[TR_COLUMNS], unsigned committed, unsigned start, unsigned *need)
{
	unsigned visited = 1u << start, todo = 1u << start;
	int best = -1;
	unsigned best_n = 0;

	while (todo != 0) {
		unsigned x = (unsigned)__builtin_ctz(todo);
		unsigned fresh = dep[x] & ~visited;

		todo &= todo - 1;
		if (fresh & ~committed) {
			/* never skip it: fetch, recover, wait (the lowest such d) */
			*need |= fresh & ~committed & -(fresh & ~committed);
			return -1;
		}
		visited |= fresh;
		todo |= fresh;
	}
	/* The smallest (|deps|, column) among the visited heads. */
	for (unsigned x = 0; x < TR_COLUMNS; x++) {
		unsigned n;

		if (!(visited & (1u << x)))
			continue;
		n = order_deps_count[dep[x]];
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
	unsigned committed = 0, dep[TR_COLUMNS] = {0}, blocked;
	int col;

	for (unsigned x = 0; x < TR_COLUMNS; x++)
		if (heads[x].committed) {
			committed |= 1u << x;
			dep[x] = order_deps(heads[x].deps, x, applied);
		}
	col = order_pick(dep, committed, &blocked);
	if (need != NULL)
		*need = blocked;
	return col;
}
