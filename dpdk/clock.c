/* SPDX-License-Identifier: MIT
 * The runtime's clock and the idle back-off of its polling threads (worker
 * lcores, applier threads).
 */
#include <sched.h>
#include <sys/prctl.h>
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

/* After a pass with no work (conf.idle): pause, then yield, then sleep, so
 * that several replicas, their appliers and other processes share the CPUs
 * (TRIREME_IDLE_BACKOFF); YIELD stops at the yields, POLL at the pauses. A
 * busy loop never gets here. */
#define RT_IDLE_PAUSES 64
#define RT_IDLE_YIELDS 256
#define RT_IDLE_SLACK_NS 1000UL

static bool
rt_idle_sleeps(const struct trireme *t, unsigned idle)
{
	return t->conf.idle == TRIREME_IDLE_BACKOFF && idle >= RT_IDLE_YIELDS;
}

void
rt_idle(const struct trireme *t, unsigned *idle)
{
	unsigned n = ++*idle;

	if (n < RT_IDLE_PAUSES || t->conf.idle == TRIREME_IDLE_POLL) {
		rte_pause();
	} else if (!rt_idle_sleeps(t, n)) {
		sched_yield();
	} else {
		static __thread bool slack_set;
		struct timespec ts = {0, n < 4096 ? 20000 : 200000};

		/* Linux sleeps up to 50 us past the time asked (the default timer
		 * slack): here nanosleep(20 us) took 109 us at the median, 55 us
		 * with 1 us of slack. */
		if (!slack_set) {
			prctl(PR_SET_TIMERSLACK, RT_IDLE_SLACK_NS, 0, 0, 0);
			slack_set = true;
		}
		nanosleep(&ts, NULL);
	}
}

void
rt_idle_qsbr(const struct trireme *t, unsigned *idle)
{
	bool sleeps = rt_idle_sleeps(t, *idle + 1);

	if (sleeps)
		urcu_qsbr_thread_offline(); /* a sleeping reader holds nothing */
	rt_idle(t, idle);
	if (sleeps)
		urcu_qsbr_thread_online();
}
