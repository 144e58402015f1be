/* SPDX-License-Identifier: MIT
 * A strict reader of client histories (HISTORY.md, versions 1 and 2), and a checker
 * over them that needs nothing but the history: independent of the simulator
 * that wrote it, so it judges the writer too.
 */
#ifndef TR_HCHECK_H
#define TR_HCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HIST_STR_MAX 64

enum hist_kind { HIST_SET = 1, HIST_GET = 2, HIST_DEL = 3 };

struct hist_op {
	int64_t client;
	uint8_t kind;            /* enum hist_kind */
	char key[HIST_STR_MAX];
	char value[HIST_STR_MAX]; /* set */
	int64_t call;
	int64_t ret;
	bool ret_null;
	bool ok;
	bool has_out;            /* a get's "out" field was present */
	bool out_null;
	char out[HIST_STR_MAX];
	bool has_meta;
	char meta[HIST_STR_MAX]; /* meta when it is a string, else "" */
};

/* Parses one line strictly: every rule of HISTORY.md's table (allowed fields
 * only, each once, types, required fields, integers as JSON integers fitting
 * int64, ret >= call, ...). Returns 0, 1 for a blank line (nothing parsed),
 * or -1 with the reason in why. Strings longer than HIST_STR_MAX - 1 bytes
 * are refused (the simulator's are short). */
int hist_parse_line(const char *line, struct hist_op *op, char *why, size_t why_len);

/* Version 2 (HISTORY.md, "Writers that can be killed"): a pending line
 * ("ret": null) and a complete line with the same client, op, key, value and
 * call are one operation, the complete one, matched one to one; a pending
 * line left over is an unknown outcome, a complete line left over an
 * operation of its own. Removes the matched pending lines from ops, keeping
 * the order of the rest; returns how many are left. O(n log n). */
size_t hist_match_pending(struct hist_op *ops, size_t n);

/* Judges a history key by key, assuming unique set values (HISTORY.md,
 * "Writing histories"). Sound, not complete: it reports only what no
 * linearization can explain:
 *   - a completed get returns a value no set of that key wrote, or that
 *     was invoked after the get returned;
 *   - stale read: a completed get returns v although a write of the key
 *     invoked after v's set took effect (its return, or the end of an
 *     earlier get that read v) completed before the get was invoked;
 *   - a completed get returns absent although a set of the key completed
 *     before it was invoked and no del could fall in between.
 * Failed operations count as unknown outcomes. O(n log n): per key, writes
 * sorted by return with the latest call so far, dels by call with the
 * latest possible effect so far. 0, or -1 with why. */
int hist_check(const struct hist_op *ops, size_t n, char *why, size_t why_len);

#endif
