/* SPDX-License-Identifier: MIT
 * The interactive prompt of the trireme launcher (-i), built with DPDK's
 * cmdline library.
 *
 * One thread does everything: the main loop calls prompt_poll(), which reads
 * whatever stdin has (never blocking) and feeds it to cmdline_in(); commands
 * run inside it. A command that waits for a completion (set, get, del) keeps
 * calling load_step() meanwhile, so the load never stops and every client
 * stays on the thread that created it. No cmdline_interact(), no second
 * thread, no locks.
 */
#ifndef TRIREME_TOOLS_PROMPT_H
#define TRIREME_TOOLS_PROMPT_H

#include <signal.h>
#include <stdbool.h>

#include "load.h"
#include "trireme.h"

struct prompt_env {
	struct trireme *t;
	struct load *load;
	const volatile sig_atomic_t *signalled; /* waits give up when set */
};

struct prompt;

/* Puts the terminal in raw mode and prints the prompt. One prompt at a time.
 * NULL when out of memory. */
struct prompt *prompt_new(const struct prompt_env *env);
/* Handles the input available now. Returns true once the user quit (quit,
 * exit, ctrl-d, end of input). */
bool prompt_poll(struct prompt *p);
/* Restores the terminal. */
void prompt_free(struct prompt *p);

#endif
