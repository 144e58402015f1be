/* §7: the (|deps|, column) apply order, on PROTOCOL's four worked examples. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "mmp3.h"

/* Instances per column (at most 4), all committed unless noted. */
struct inst {
	bool committed;
	uint64_t deps[TR_COLUMNS];
};

/* Applies in §7 order until blocked; writes "a0 b0 ..." into out. */
static void
order_of(struct inst cols[TR_COLUMNS][4], const unsigned len[TR_COLUMNS], char *out)
{
	uint64_t applied[TR_COLUMNS] = {0};

	out[0] = 0;
	for (;;) {
		struct tr_head heads[TR_COLUMNS];
		unsigned need = 0;
		int c;

		for (unsigned i = 0; i < TR_COLUMNS; i++) {
			heads[i].committed = applied[i] < len[i] && cols[i][applied[i]].committed;
			if (heads[i].committed)
				memcpy(heads[i].deps, cols[i][applied[i]].deps, sizeof(heads[i].deps));
		}
		c = tr_order_next(heads, applied, &need);
		if (c < 0) {
			if (need)
				sprintf(out + strlen(out), "%sblocked:%x", out[0] ? " " : "", need);
			return;
		}
		sprintf(out + strlen(out), "%s%c%u", out[0] ? " " : "", 'a' + c,
			(unsigned)applied[c]);
		applied[c]++;
	}
}

Test(order, example1_tie_goes_to_lower_column)
{
	struct inst cols[3][4] = {{{true, {1, 1, 0}}}, {{true, {1, 1, 0}}}, {{0}}};
	unsigned len[3] = {1, 1, 0};
	char out[128];

	order_of(cols, len, out);
	cr_assert_str_eq(out, "a0 b0");
}

Test(order, example2_chain)
{
	struct inst cols[3][4] = {{{true, {1, 1, 1}}}, {{true, {0, 1, 1}}}, {{true, {0, 0, 1}}}};
	unsigned len[3] = {1, 1, 1};
	char out[128];

	order_of(cols, len, out);
	cr_assert_str_eq(out, "c0 b0 a0");
}

Test(order, example3_cycle)
{
	struct inst cols[3][4] = {{{true, {1, 1, 0}}}, {{true, {0, 1, 1}}}, {{true, {1, 0, 1}}}};
	unsigned len[3] = {1, 1, 1};
	char out[128];

	order_of(cols, len, out);
	cr_assert_str_eq(out, "a0 c0 b0");
}

Test(order, example4_blocked_until_dependency_commits)
{
	struct inst cols[3][4] = {{{true, {1, 1, 0}}}, {{false, {0, 1, 0}}}, {{0}}};
	unsigned len[3] = {1, 1, 0};
	char out[128];

	order_of(cols, len, out);
	cr_assert_str_eq(out, "blocked:2");
	cols[1][0].committed = true; /* b0 saw nothing: |b0.deps| = 0 goes first */
	order_of(cols, len, out);
	cr_assert_str_eq(out, "b0 a0");
	cols[1][0].deps[0] = 1;      /* had b0 seen a0: the tie goes to column a */
	order_of(cols, len, out);
	cr_assert_str_eq(out, "a0 b0");
}

Test(order, independent_column_is_not_blocking)
{
	/* c0 is uncommitted but nothing visited depends on it: a0 goes. */
	struct inst cols[3][4] = {{{true, {1, 0, 0}}}, {{0}}, {{false, {0, 0, 1}}}};
	unsigned len[3] = {1, 0, 1};
	char out[128];

	order_of(cols, len, out);
	cr_assert_str_eq(out, "a0");
}

Test(order, deps_below_applied_do_not_count)
{
	struct tr_head heads[3] = {{true, {1, 1, 0}}, {true, {0, 2, 0}}, {false, {0}}};
	uint64_t applied[3] = {0, 1, 0};

	/* a0 needs b0, already applied: |a0.deps| = 0; b1 depends on nothing. */
	cr_assert_eq(tr_order_next(heads, applied, NULL), 0);
}
