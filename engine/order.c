/* SPDX-License-Identifier: MIT
 * §7: the next instance to apply, by the (|deps|, column) minimum over the
 * heads reachable from a committed head.
 */
#include "internal.h"

/* |deps| of a deps mask (3 bits). */
static const uint8_t deps_count[1u << TR_COLUMNS] = {0, 1, 1, 2, 1, 2, 2, 3};

/* The walk from start: 0 and the chosen column, or -1 (blocked) with the
 * blocking column added to *need. */
static int
walk(const unsigned dep[TR_COLUMNS], unsigned committed, unsigned start, unsigned *need)
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
		n = deps_count[dep[x]];
		if (best < 0 || n < best_n) {
			best = (int)x;
			best_n = n;
		}
	}
	return best;
}

_Static_assert(TR_COLUMNS == 3, "order_pick's closure takes two steps");

/* The heads v's committed heads depend on, and v (dep[x] is 0 for a head
 * that is not committed). */
static inline unsigned
reach(const unsigned dep[TR_COLUMNS], unsigned v)
{
	return v | (dep[0] & -(v & 1u)) | (dep[1] & -((v >> 1) & 1u)) |
	       (dep[2] & -((v >> 2) & 1u));
}

/* (|deps|, column) of head x as one number, or above any if not visited. */
static inline unsigned
order_key(const unsigned dep[TR_COLUMNS], unsigned visited, unsigned x)
{
	return (visited >> x) & 1u ? (unsigned)deps_count[dep[x]] << 2 | x : ~0u;
}

int
order_pick(const unsigned dep[TR_COLUMNS], unsigned committed, unsigned *need)
{
	unsigned blocked = 0;

	for (unsigned start = 0; start < TR_COLUMNS; start++) {
		unsigned v, k0, k1, k2, k;

		if (!(committed & (1u << start)))
			continue;
		if (dep[start] == 0) {
			*need = 0; /* depends on nothing: the walk visits it alone */
			return (int)start;
		}
		/* The walk's visited set: what start reaches, in at most two
		 * steps over three heads; blocked iff it holds a head that is
		 * not committed (the walk then names which, in its order). */
		v = reach(dep, reach(dep, 1u << start));
		if (v & ~committed) {
			walk(dep, committed, start, &blocked);
			continue;
		}
		/* The smallest (|deps|, column) among the visited heads. */
		k0 = order_key(dep, v, 0);
		k1 = order_key(dep, v, 1);
		k2 = order_key(dep, v, 2);
		k = k0 < k1 ? k0 : k1;
		k = k < k2 ? k : k2;
		*need = 0;
		return (int)(k & 3u);
	}
	*need = blocked;
	return -1;
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
