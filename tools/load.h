/* SPDX-License-Identifier: MIT
 * The closed-loop load generator of the trireme launcher. It runs on the
 * calling thread (the main lcore): load_step() polls every client's
 * completions and refills its window, never blocking. Latencies are measured
 * with CLOCK_MONOTONIC from submit to completion.
 *
 * With a history file, every operation is recorded in the format of
 * HISTORY.md, version 2: a pending line ("ret": null) written and flushed
 * before the command is sent, the complete line when it returns, so that the
 * file of a process killed by SIGKILL still checks. call and ret are
 * CLOCK_MONOTONIC nanoseconds, the one clock of every process on the host;
 * the client is a number unique to this run (a random run id plus the
 * client's index: the runtime's client ids repeat across restarts on a data
 * directory), and every set writes a value "<client>.<seq>:..." of its own. Local reads are not linearizable by
 * design and are left out of it (counted in local_reads).
 */
#ifndef TRIREME_TOOLS_LOAD_H
#define TRIREME_TOOLS_LOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hist.h"
#include "trireme.h"

struct load_conf {
	bool loaded[TRIREME_REPLICAS]; /* replicas that get load (local ones) */
	unsigned window;               /* outstanding commands per loaded replica */
	unsigned client_window_max;    /* a client's window is at most this */
	uint64_t keys;                 /* keys k0 .. k<keys-1>, uniform */
	uint32_t value_size;
	double read_ratio;             /* share of gets */
	uint8_t read_mode;             /* enum trireme_read_mode of the gets */
	uint64_t seed;
	FILE *history;                 /* NULL: none; HISTORY.md version 2 */
};

struct load_counts {
	uint64_t ops;           /* completed with status 0 */
	uint64_t reads;
	uint64_t writes;
	uint64_t errors;        /* completed with an error, or refused by submit */
	uint64_t too_old;       /* -TRIREME_ETOO_OLD */
	uint64_t full;          /* -TRIREME_EFULL */
	uint64_t submit_errors; /* submit refused, other than busy or stopped */
	uint64_t outstanding;
	uint64_t history_ops;   /* operations in the history (pending lines) */
	uint64_t local_reads;   /* left out of the history */
};

struct load;

/* Creates the clients. NULL after writing one line of what failed into err. */
struct load *load_new(struct trireme *t, const struct load_conf *lc, char *err, size_t err_len);
/* Flushes the history (what is outstanding stays pending: unknown), frees. */
void load_free(struct load *l);

void load_start(struct load *l);
void load_stop(struct load *l);
bool load_running(const struct load *l);
/* The read mode of the gets submitted from now on. */
void load_set_read_mode(struct load *l, uint8_t mode);
uint8_t load_read_mode(const struct load *l);

/* One round over the clients: completions, then new commands while the load
 * runs; then a quiescent state (load_quiescent). The calling thread created
 * the load and is online (trireme_thread_online). Returns the number of
 * completions and submissions (0: idle). */
unsigned load_step(struct load *l);

/* Reports a quiescent state of the calling (online) thread: it holds no
 * pointer returned by the runtime. */
void load_quiescent(void);

/* Commands outstanding on replicas that are not paused. */
uint64_t load_outstanding_live(const struct load *l);

void load_counts(const struct load *l, struct load_counts *c);
/* The length of the longest key of a key space of keys keys ("k<n>"). */
uint16_t load_key_len_max(uint64_t keys);
/* Seconds the load has been running, over every start .. stop. */
double load_active_s(const struct load *l);
/* Latencies of the whole run. */
const struct hist *load_hist_total(const struct load *l);
/* Latencies of the gets alone, and of the sets and dels alone. */
const struct hist *load_hist_reads(const struct load *l);
const struct hist *load_hist_writes(const struct load *l);
/* Latencies since the previous call, then starts a new interval. */
void load_hist_interval(struct load *l, struct hist *out);

#endif
