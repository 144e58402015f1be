/* SPDX-License-Identifier: MIT
 * The runtime's clock and the idle back-off of its polling threads (worker
 * lcores, applier threads).
 */
#include <sched.h>
#include <time.h>

#include <urcu-qsbr.h>

#include <rte_cycles.h>
#include <rte_pause.h>

#include "runtime.h"

uint64_t
rt_now_ns(const struct trireme *t)
{
	return (uint64_t)((double)rte_get_tsc_cycles() * t->ns_per_cycle);
}

/* Idle back-off: pause, then yield, then sleep, so that several replicas
 * and their appliers share two CPUs; a busy loop never gets here. */
#define RT_IDLE_PAUSES 64
#define RT_IDLE_YIELDS 256

void
rt_idle(unsigned *idle)
{
	unsigned n = ++*idle;

	if (n < RT_IDLE_PAUSES) {
		rte_pause();
	} else if (n < RT_IDLE_YIELDS) {
		sched_yield();
	} else {
		struct timespec ts = {0, n < 4096 ? 20000 : 200000};

		nanosleep(&ts, NULL);
	}
}

void
rt_idle_qsbr(unsigned *idle)
{
	bool sleeps = *idle + 1 >= RT_IDLE_YIELDS;

	if (sleeps)
		urcu_qsbr_thread_offline(); /* a sleeping reader holds nothing */
	rt_idle(idle);
	if (sleeps)
		urcu_qsbr_thread_online();
}
