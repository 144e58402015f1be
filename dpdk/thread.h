/* SPDX-License-Identifier: MIT
 * Trireme runtime: helper threads (the applier, snapshot work, a log's
 * syncer). Plain POSIX, no DPDK.
 */
#ifndef TR_THREAD_H
#define TR_THREAD_H

#include <pthread.h>
#include <sched.h>

/* A thread started from a pinned lcore would queue behind its polling:
 * the calling thread may run on any CPU instead. */
static inline void
tr_thread_anywhere(void)
{
	cpu_set_t all;

	CPU_ZERO(&all);
	for (int cpu = 0; cpu < CPU_SETSIZE && cpu < 1024; cpu++)
		CPU_SET(cpu, &all);
	pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
}

#endif
