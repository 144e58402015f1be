/* SPDX-License-Identifier: MIT
 * trireme: the launcher, in the style of dpdk-testpmd.
 *
 *   trireme <EAL args> -- --cluster --duration 5 --json
 *   trireme <EAL args> --vdev=net_af_packet0,iface=veth0 -- --replica-id 0 \
 *       --peers MAC@IP,MAC@IP,MAC@IP
 *   trireme <EAL args> -- -i
 *
 * The main lcore runs the closed-loop load (load.c) and, with -i, the prompt
 * (prompt.c), both from one loop; the replicas' columns run on the EAL
 * worker lcores. At the end the load stops, outstanding commands complete,
 * the local replicas converge, and a summary (or one JSON object) is printed.
 *
 * Exit status: 0 done, 1 the replicas did not converge, 2 bad arguments,
 * 3 the replicas could not start or run. Every failure prints one line
 * "trireme: <what is wrong>; <what to do>" on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_pause.h>

#include "hist.h"
#include "load.h"
#include "options.h"
#include "prompt.h"
#include "replica_view.h"
#include "trireme.h"

enum {
	EXIT_DONE = 0,
	EXIT_DIVERGED = 1,
	EXIT_USAGE = 2,
	EXIT_RUNTIME = 3,
	EXIT_VIOLATION = 4,
};

#define DRAIN_TIMEOUT_S 5      /* outstanding commands after the load stops */
#define CONVERGE_TIMEOUT_S 10  /* local replicas reaching the same state */
#define CONVERGE_CHECK_MS 10
#define CONVERGE_HOLD_MS 500   /* --replica-id: agreement that lasts */
#define PROMPT_POLL_US 1000    /* stdin is polled this often */
#define LOAD_SPIN_US 50        /* the load thread's empty rounds before a yield */
#define LOAD_IDLE_SLEEP_NS 1000000 /* the main loop's nap with --writers 0 (1 ms) */
#define HEALTH_CHECK_MS 10     /* replicas' status (violations) this often */

struct app {
	struct opts o;
	struct trireme *t;
	struct load *load;
	struct prompt *prompt;
	FILE *history;
	uint64_t hz;
	unsigned conf_batch;  /* the engine's commands per instance */
	unsigned conf_mtu;
	int rc;
	bool peers_silent;
	/* The previous stats line. */
	uint64_t last_tsc;
	uint64_t last_ops;
	uint64_t last_retries;
	uint64_t last_recoveries;
	uint64_t last_drops;
};

/* The replicas' state at the end. */
struct outcome {
	bool local[TRIREME_REPLICAS];
	struct trireme_replica_stats st[TRIREME_REPLICAS];
	struct trireme_durable_stats ds[TRIREME_REPLICAS]; /* §12 S, --data-dir */
	bool converged;
	uint64_t unfinished;
};

static volatile sig_atomic_t signalled; /* 1: finish; 2: finish without waiting */

static void
on_signal(int sig)
{
	RTE_SET_USED(sig);
	if (signalled < 2)
		signalled = signalled + 1;
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A closed stdout must not kill us before the replicas stop. */
	signal(SIGPIPE, SIG_IGN);
}

static void
format_ip(char *buf, size_t len, uint32_t ip)
{
	snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
		 ip & 0xff);
}

/* Latency for the stats line: "3.1us", "21us", "-" with no sample. */
static const char *
format_us(char *buf, size_t len, const struct hist *h, double q)
{
	double us = (double)hist_quantile(h, q) / 1e3;

	if (h->count == 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, us < 10 ? "%.1fus" : "%.0fus", us);
	return buf;
}

/* Checks the DPDK port of --replica-id mode before the runtime uses it. */
static int
check_port(const struct opts *o)
{
	struct rte_ether_addr mac;
	const uint8_t *want = o->peers[o->replica_id].mac;
	uint16_t id;
	char ids[64] = "";
	size_t n = 0;

	if (!rte_eth_dev_is_valid_port(o->port_id)) {
		if (rte_eth_dev_count_avail() == 0) {
			fprintf(stderr, "trireme: no DPDK port %u: add "
				"--vdev=net_af_packet0,iface=<interface> (or a memif vdev, or a "
				"NIC) to the EAL arguments before --\n", o->port_id);
			return -1;
		}
		RTE_ETH_FOREACH_DEV(id)
			if (n < sizeof(ids) - 8)
				n += (size_t)snprintf(ids + n, sizeof(ids) - n, "%s%u",
						      n > 0 ? ", " : "", id);
		fprintf(stderr, "trireme: no DPDK port %u; the EAL arguments give port(s) %s: pick "
			"one with --port\n", o->port_id, ids);
		return -1;
	}
	if (rte_eth_macaddr_get(o->port_id, &mac) == 0 &&
	    memcmp(mac.addr_bytes, want, RTE_ETHER_ADDR_LEN) != 0)
		fprintf(stderr, "trireme: warning: port %u has MAC " RTE_ETHER_ADDR_PRT_FMT " but "
			"--peers gives replica %u %02x:%02x:%02x:%02x:%02x:%02x; if frames do not "
			"arrive, use the port's MAC in --peers\n", o->port_id,
			RTE_ETHER_ADDR_BYTES(&mac), o->replica_id, want[0], want[1], want[2],
			want[3], want[4], want[5]);
	return 0;
}

/* The runtime's configuration from the options; -1 after printing why not. */
static int
make_conf(const struct opts *o, struct trireme_conf *conf)
{
	unsigned clients;

	trireme_conf_default(conf);
	conf->mode = o->cluster ? TRIREME_CLUSTER : TRIREME_REPLICA;
	if (!o->cluster) {
		conf->replica_id = o->replica_id;
		conf->port_id = o->port_id;
		memcpy(conf->peers, o->peers, sizeof(conf->peers));
	}
	if (o->udp_port_base_set)
		conf->udp_port_base = o->udp_port_base;
	if (o->mtu_set)
		conf->mtu = o->mtu;
	conf->lcore_count = 0; /* every EAL worker lcore */
	conf->applier_threads = o->applier_threads;
	conf->idle = o->idle;
	if (o->batch_set)
		conf->batch_cmds_max = (uint16_t)o->batch;
	if (o->inflight_set)
		conf->inflight_max = o->inflight;
	if (o->log_slots != 0)
		conf->log_slots_max = o->log_slots;
	conf->join = o->join;
	conf->data_dir = o->data_dir; /* §12 S */
	conf->sync = (uint8_t)o->sync;
	conf->cluster_id = o->cluster_id;
	conf->seed = o->seed;
	if (o->auth_key != NULL) {
		char err[320];

		if (trireme_auth_key_read(o->auth_key, conf->auth_key, err, sizeof(err)) != 0) {
			fprintf(stderr, "trireme: --auth-key: %s\n", err);
			return -1;
		}
		conf->auth = true;
	}
	if (conf->keys_max != 0 && o->keys > conf->keys_max) {
		if (!o->cluster) {
			/* keys_max must be the same on every replica: not ours to raise. */
			fprintf(stderr, "trireme: --keys %" PRIu64 " is more than the store holds "
				"(%" PRIu64 " keys on every replica); use --keys %" PRIu64
				" or fewer\n", o->keys, conf->keys_max, conf->keys_max);
			return -1;
		}
		conf->keys_max = o->keys;
	}
	/* Remote clients take clients of their own. Room for the most on every
	 * replica, served or not: the client table (§8) must be the same size on
	 * every replica of the cluster, whatever its --serve-clients. */
	conf->serve_clients = (uint16_t)o->serve_clients;
	conf->clients_max += OPTS_SERVE_CLIENTS_MAX;
	clients = opts_clients_per_replica(o) + (o->interactive ? 1 : 0);
	if (conf->clients_max != 0 && clients > conf->clients_max) {
		fprintf(stderr, "trireme: --window %u needs %u clients per replica but the runtime "
			"allows %u; lower --window\n", o->window, clients, conf->clients_max);
		return -1;
	}
	return 0;
}

/* The local replicas' counters, summed; *waiting: the live ones that take
 * no commands (a joiner catching up, no peer vouched yet: J4, J5; or its
 * log could not be written); *rejoining: those that serve but still count
 * as the one failure (J2: slots below their floors undecided). */
static void
sum_counters(struct app *a, uint64_t *retries, uint64_t *recoveries, uint64_t *drops,
	     unsigned *waiting, unsigned *rejoining)
{
	unsigned r;

	*retries = *recoveries = *drops = 0;
	*waiting = *rejoining = 0;
	for (r = 0; r < TRIREME_REPLICAS; r++) {
		struct trireme_replica_stats s;

		if (!trireme_replica_local(a->t, r) || trireme_replica_stats(a->t, r, &s) != 0)
			continue;
		*retries += s.retries;
		*recoveries += s.recoveries;
		*drops += replica_drops(&s);
		if (!s.serving && !s.down)
			*waiting |= 1u << r;
		else if (!s.rejoined && !s.down)
			*rejoining |= 1u << r;
	}
}

static void
stats_line(struct app *a, uint64_t now, uint64_t start)
{
	struct load_counts c;
	struct hist h;
	uint64_t retries, recoveries, drops;
	double dt = (double)(now - a->last_tsc) / (double)a->hz;
	char p50[16], p99[16], p999[16], wait[96] = "";
	unsigned waiting, rejoining, n = 0;

	load_hist_interval(a->load, &h);
	load_counts(a->load, &c);
	sum_counters(a, &retries, &recoveries, &drops, &waiting, &rejoining);
	for (unsigned r = 0, k = 0; r < TRIREME_REPLICAS; r++)
		if (waiting & 1u << r)
			n += (unsigned)snprintf(wait + n, sizeof(wait) - n, "%s%u",
						k++ == 0 ? "  not serving: replica " : ",", r);
	for (unsigned r = 0, k = 0; r < TRIREME_REPLICAS; r++)
		if (rejoining & 1u << r)
			n += (unsigned)snprintf(wait + n, sizeof(wait) - n, "%s%u",
						k++ == 0 ? "  rejoining: replica " : ",", r);
	fprintf(stderr, "[%5.1fs] %.0f ops/s  p50 %s p99 %s p999 %s  retries %" PRIu64
		" recoveries %" PRIu64 " drops %" PRIu64 "%s\n",
		(double)(now - start) / (double)a->hz,
		dt > 0 ? (double)(c.ops - a->last_ops) / dt : 0.0,
		format_us(p50, sizeof(p50), &h, 0.5), format_us(p99, sizeof(p99), &h, 0.99),
		format_us(p999, sizeof(p999), &h, 0.999), retries - a->last_retries,
		recoveries - a->last_recoveries, drops - a->last_drops, wait);
	a->last_tsc = now;
	a->last_ops = c.ops;
	a->last_retries = retries;
	a->last_recoveries = recoveries;
	a->last_drops = drops;
}

/* --replica-id mode: false when the local replica sent messages but never
 * received one; true otherwise (with nothing sent, nothing can be told). */
static bool
peers_heard(struct app *a)
{
	struct trireme_replica_stats s;

	if (trireme_replica_stats(a->t, a->o.replica_id, &s) != 0)
		return true;
	return s.rx_msgs > 0 || s.tx_msgs == 0;
}

static void
report_silent_peers(const struct app *a)
{
	char ip[2][16];
	unsigned r, n = 0;

	for (r = 0; r < TRIREME_REPLICAS; r++)
		if (r != a->o.replica_id)
			format_ip(ip[n++], sizeof(ip[0]), a->o.peers[r].ip);
	fprintf(stderr, "trireme: replica %u heard nothing from its peers (%s, %s) in %g s; "
		"start the other replicas, check --peers, --udp-port-base and the port's link, "
		"or raise --peer-timeout\n", a->o.replica_id, ip[0], ip[1], a->o.peer_timeout_s);
}

/* A3, C1, P2: a local replica stopped on a safety violation ends the run
 * with EXIT_VIOLATION (said once). */
static bool
violation_seen(struct app *a)
{
	struct trireme_replica_status st;
	unsigned r;

	for (r = 0; r < TRIREME_REPLICAS; r++) {
		if (!trireme_replica_local(a->t, r) || trireme_replica_status(a->t, r, &st) != 0 ||
		    !st.violation)
			continue;
		if (a->rc != EXIT_VIOLATION && strncmp(st.why, "J5:", 3) == 0)
			fprintf(stderr, "trireme: replica %u stopped before it voted: %s; restart it "
				"with an empty --data-dir and --cluster-state existing; exit status "
				"%d\n", r, st.why, EXIT_VIOLATION);
		else if (a->rc != EXIT_VIOLATION)
			fprintf(stderr, "trireme: replica %u stopped on a safety violation: %s; "
				"exit status %d\n", r, st.why, EXIT_VIOLATION);
		a->rc = EXIT_VIOLATION;
		return true;
	}
	return false;
}

/* §12 S1: a local replica that could not write its data directory sends
 * nothing from then on (its columns logged why): EXIT_RUNTIME, said once. */
static bool
log_failure_seen(struct app *a)
{
	struct trireme_replica_stats s;
	bool seen = false;

	for (unsigned r = 0; r < TRIREME_REPLICAS; r++) {
		if (!trireme_replica_local(a->t, r) || trireme_replica_stats(a->t, r, &s) != 0 ||
		    !s.log_failed)
			continue;
		seen = true;
		if (a->rc == EXIT_DONE || a->rc == EXIT_DIVERGED) {
			fprintf(stderr, "trireme: replica %u could not write its data directory "
				"(see above) and stopped%s; exit status %d\n", r,
				a->o.cluster ? "; the others went on" : "", EXIT_RUNTIME);
			a->rc = EXIT_RUNTIME;
		}
	}
	return seen;
}

/* The faults --loss asks for on every local replica. */
static struct trireme_faults
loss_faults(const struct app *a)
{
	return (struct trireme_faults){.drop_tx = a->o.loss, .drop_rx = a->o.loss};
}

/* A failure scheduled while another replica is paused, crashed or has not
 * rejoined (§12 J2: it still counts as the one failure): two failures at
 * once stop progress, and for good if both lost their memory. Said. */
static void
fault_warn(struct app *a, const struct opts_fault *f, double at_s)
{
	if (f->action != OPTS_PAUSE && f->action != OPTS_CRASH && f->action != OPTS_DEAF)
		return;
	for (unsigned q = 0; q < TRIREME_REPLICAS; q++) {
		struct trireme_replica_stats s;

		if (q == f->replica || trireme_replica_stats(a->t, q, &s) != 0 ||
		    (!s.paused && s.serving && s.rejoined))
			continue;
		fprintf(stderr, "trireme: %.1f s: warning: %s replica %u while replica %u is %s: "
			"two failures at once may stop the cluster (docs/operating.md, Output)\n",
			at_s, opts_fault_name(f->action), f->replica, q,
			s.paused ? "paused" : s.down ? "crashed" : !s.serving ? "not serving"
			: "still rejoining");
		return;
	}
}

/* --fault: one event of the schedule. */
static void
fault_fire(struct app *a, const struct opts_fault *f, double at_s)
{
	int rc;

	fault_warn(a, f, at_s);
	switch (f->action) {
	case OPTS_PAUSE:
		rc = trireme_replica_pause(a->t, f->replica);
		break;
	case OPTS_RESUME:
		rc = trireme_replica_resume(a->t, f->replica);
		break;
	case OPTS_CRASH:
		rc = trireme_replica_crash(a->t, f->replica);
		break;
	case OPTS_DEAF:
	case OPTS_HEAR: {
		struct trireme_faults lossy = loss_faults(a);

		if (f->action == OPTS_DEAF)
			lossy.drop_rx = 1;
		rc = trireme_set_faults(a->t, f->replica, &lossy);
		break;
	}
	default:
		rc = trireme_replica_restart(a->t, f->replica);
		break;
	}
	if (rc != 0)
		fprintf(stderr, "trireme: --fault %s %u at %g: %s (is replica %u in this "
			"process?)\n", opts_fault_name(f->action), f->replica, f->at_s,
			trireme_strerror(rc), f->replica);
	else if (!a->o.quiet)
		fprintf(stderr, "trireme: %.1f s: %s replica %u\n", at_s,
			opts_fault_name(f->action), f->replica);
}

/* After a resume or restart: once the replica serves, has rejoined (J2) and
 * has applied what the others did, says how long it took (the rejoin time). */
static bool
caught_up(struct app *a, unsigned r, uint64_t now, uint64_t since, uint64_t start)
{
	struct trireme_replica_stats s, o;

	if (trireme_replica_stats(a->t, r, &s) != 0 || !s.serving || !s.rejoined)
		return false;
	for (unsigned q = 0; q < TRIREME_REPLICAS; q++) {
		if (q == r || trireme_replica_stats(a->t, q, &o) != 0 || o.paused || o.down ||
		    o.log_failed)
			continue;
		for (unsigned c = 0; c < TRIREME_REPLICAS; c++)
			if (s.applied_prefix[c] + 64 < o.applied_prefix[c])
				return false; /* within a few batches: caught up */
	}
	if (!a->o.quiet)
		fprintf(stderr, "trireme: %.1f s: replica %u caught up %.3f s after it came back "
			"(%" PRIu64 " keys, %" PRIu64 " snapshot(s) installed, %" PRIu64
			" bytes)\n", (double)(now - start) / (double)a->hz, r,
			(double)(now - since) / (double)a->hz, s.keys, s.snap_installs,
			s.snap_bytes_rx);
	return true;
}

/* The load thread after an empty round (idle_since: the first of them, 0
 * after work), by --idle like the replicas' threads, but never asleep (a
 * sleep would add its wake-up to every latency it measures): poll spins;
 * yield and backoff let other threads run (appliers on threads of their own
 * may share our CPU) once the rounds have been empty for LOAD_SPIN_US, not
 * sooner: a completion is microseconds away, and a yield on a CPU that
 * another process wants waits out that process's time slice (milliseconds;
 * docs/architecture.md, "Idle back-off"). */
static void
load_idle(const struct app *a, uint64_t *idle_since)
{
	uint64_t now = rte_rdtsc();

	if (a->o.writers == 0) { /* no load to measure: give the CPU back */
		struct timespec ts = {0, LOAD_IDLE_SLEEP_NS};

		nanosleep(&ts, NULL);
		return;
	}

	if (*idle_since == 0)
		*idle_since = now;
	if (a->o.idle == TRIREME_IDLE_POLL || now - *idle_since < a->hz / 1000000 * LOAD_SPIN_US)
		rte_pause();
	else
		sched_yield();
}

/* The main loop: load, stats lines, the prompt, until the duration ends,
 * quit, a signal, or a safety violation. */
static void
run(struct app *a)
{
	const struct opts *o = &a->o;
	uint64_t now = rte_rdtsc(), start = now;
	uint64_t stats_every = (uint64_t)(o->stats_interval_s * (double)a->hz);
	uint64_t next_stats = now + stats_every, next_prompt = now;
	uint64_t prompt_every = a->hz / (1000000 / PROMPT_POLL_US);
	uint64_t end = UINT64_MAX, peer_check = UINT64_MAX, next_health = now;
	bool stats_on = !o->quiet && !o->interactive;
	bool fired[OPTS_FAULTS_MAX] = {false};
	uint64_t back_since[TRIREME_REPLICAS] = {0}, next_back = 0;
	uint64_t idle = 0;

	if (o->duration_s > 0 && (!o->interactive || o->duration_set))
		end = now + (uint64_t)(o->duration_s * (double)a->hz);
	if (!o->cluster && o->peer_timeout_s > 0)
		peer_check = now + (uint64_t)(o->peer_timeout_s * (double)a->hz);
	a->last_tsc = now;
	if (!o->interactive)
		load_start(a->load);

	while (!signalled) {
		if (load_step(a->load) > 0)
			idle = 0;
		else
			load_idle(a, &idle);
		now = rte_rdtsc();
		if (now >= end)
			break;
		if (now >= next_health) {
			next_health = now + a->hz / 1000 * HEALTH_CHECK_MS;
			if (violation_seen(a) || (!o->cluster && log_failure_seen(a)))
				break;
		}
		for (unsigned i = 0; i < o->fault_count; i++) {
			double at_s = (double)(now - start) / (double)a->hz;

			if (!fired[i] && at_s >= o->faults[i].at_s) {
				fired[i] = true;
				fault_fire(a, &o->faults[i], at_s);
				if (o->faults[i].action == OPTS_RESUME ||
				    o->faults[i].action == OPTS_RESTART ||
				    o->faults[i].action == OPTS_HEAR)
					back_since[o->faults[i].replica] = now;
			}
		}
		if (now >= next_back) {
			next_back = now + a->hz / 100;
			for (unsigned r = 0; r < TRIREME_REPLICAS; r++)
				if (back_since[r] != 0 && caught_up(a, r, now, back_since[r], start))
					back_since[r] = 0;
		}
		if (stats_on && now >= next_stats) {
			stats_line(a, now, start);
			next_stats += stats_every;
			if (next_stats <= now)
				next_stats = now + stats_every;
		}
		if (now >= peer_check) {
			peer_check = UINT64_MAX;
			if (!peers_heard(a)) {
				report_silent_peers(a);
				if (!o->interactive) {
					a->peers_silent = true;
					a->rc = EXIT_RUNTIME;
					break;
				}
			}
		}
		if (a->prompt != NULL && now >= next_prompt) {
			next_prompt = now + prompt_every;
			if (prompt_poll(a->prompt))
				break;
		}
	}
	load_stop(a->load);
}

/* Lets the outstanding commands of live replicas complete. */
static void
drain(struct app *a)
{
	uint64_t now = rte_rdtsc(), next_check = now;
	uint64_t deadline = now + DRAIN_TIMEOUT_S * a->hz;
	uint64_t idle = 0;

	while (signalled < 2 && now < deadline) {
		if (now >= next_check) {
			if (load_outstanding_live(a->load) == 0)
				return;
			next_check = now + a->hz / 1000;
		}
		if (load_step(a->load) > 0)
			idle = 0;
		else
			load_idle(a, &idle);
		now = rte_rdtsc();
	}
}

/* One look at the local replicas: true when every live one applied all it
 * knows is committed, and all have the same applied prefix and digest. */
static bool
replicas_agree(struct app *a, struct outcome *out)
{
	const struct trireme_replica_stats *ref = NULL;
	unsigned r, c;
	bool agree = true;

	for (r = 0; r < TRIREME_REPLICAS; r++) {
		struct trireme_replica_stats *s = &out->st[r];

		out->local[r] = trireme_replica_local(a->t, r) &&
				trireme_replica_stats(a->t, r, s) == 0 &&
				trireme_durable_stats(a->t, r, &out->ds[r]) == 0;
		if (!out->local[r] || s->paused || s->down || s->log_failed)
			continue;
		for (c = 0; c < TRIREME_REPLICAS; c++) {
			if (s->applied_prefix[c] != s->known[c])
				agree = false;
			/* One replica per process: its live peers applied the same
			 * (STATUS); a dead one does not hold the end back. */
			for (unsigned q = 0; !a->o.cluster && q < TRIREME_REPLICAS; q++)
				if (s->peer_live[q] && s->peer_applied[q][c] != s->applied_prefix[c])
					agree = false;
		}
		if (ref == NULL) {
			ref = s;
			continue;
		}
		if (memcmp(s->applied_prefix, ref->applied_prefix,
			   sizeof(s->applied_prefix)) != 0 || s->kv_digest != ref->kv_digest)
			agree = false;
	}
	return agree && ref != NULL;
}

/* Waits until the local replicas agree twice in a row with nothing applied
 * in between, or CONVERGE_TIMEOUT_S. With one replica per process the
 * agreement must also last CONVERGE_HOLD_MS: a peer may still be finishing
 * instances this replica has not heard of (its last commits wait for its
 * disk), and its STATUS shows only what it applied. */
static void
converge(struct app *a, struct outcome *out)
{
	double wait_s = a->o.cluster ? CONVERGE_TIMEOUT_S : a->o.linger_s;
	uint64_t now = rte_rdtsc(), deadline = now + (uint64_t)(wait_s * (double)a->hz);
	uint64_t next_check = now, prev_applied = UINT64_MAX, since = 0;
	uint64_t hold = a->o.cluster ? 0 : a->hz / 1000 * CONVERGE_HOLD_MS;

	out->converged = false;
	for (;;) {
		if (now >= next_check) {
			bool agree = replicas_agree(a, out);
			uint64_t applied = 0;
			unsigned r;

			for (r = 0; r < TRIREME_REPLICAS; r++)
				if (out->local[r])
					applied += out->st[r].applied;
			if (!agree || applied != prev_applied)
				since = now;
			if (agree && applied == prev_applied && now - since >= hold) {
				out->converged = true;
				return;
			}
			prev_applied = agree ? applied : UINT64_MAX;
			next_check = now + a->hz / 1000 * CONVERGE_CHECK_MS;
		}
		if (signalled >= 2 || now >= deadline)
			return;
		load_step(a->load); /* late completions */
		sched_yield();
		now = rte_rdtsc();
	}
}

/* "<prefix>p50_us":..,"<prefix>p99_us":..,"<prefix>p999_us":.., */
static void
json_latency(const char *prefix, const struct hist *h)
{
	printf("\"%sp50_us\":%.2f,\"%sp99_us\":%.2f,\"%sp999_us\":%.2f,", prefix,
	       (double)hist_quantile(h, 0.5) / 1e3, prefix, (double)hist_quantile(h, 0.99) / 1e3,
	       prefix, (double)hist_quantile(h, 0.999) / 1e3);
}

static void
print_json(const struct app *a, const struct outcome *out)
{
	struct load_counts c;
	double s = load_active_s(a->load);
	unsigned r;
	bool first = true;

	load_counts(a->load, &c);
	printf("{\"mode\":\"%s\",\"ops\":%" PRIu64 ",\"ops_per_s\":%.2f,",
	       a->o.cluster ? "cluster" : "replica", c.ops, s > 0 ? (double)c.ops / s : 0.0);
	json_latency("", load_hist_total(a->load));
	json_latency("read_", load_hist_reads(a->load));
	json_latency("write_", load_hist_writes(a->load));
	printf("\"reads\":%" PRIu64 ",\"writes\":%" PRIu64
	       ",\"errors\":%" PRIu64 ",\"unfinished\":%" PRIu64 ",\"duration_s\":%.3f,"
	       "\"loss\":%g,\"window\":%u,\"read_ratio\":%g,\"read_mode\":\"%s\","
	       "\"value_size\":%u,\"batch\":%u,\"mtu\":%u,\"writers\":%u,\"history_ops\":%" PRIu64
	       ",\"idle\":\"%s\",\"replicas\":[",
	       c.reads, c.writes, c.errors, out->unfinished, s, a->o.loss, a->o.window,
	       a->o.read_ratio, opts_read_mode_name(load_read_mode(a->load)), a->o.value_size,
	       a->conf_batch, a->conf_mtu, a->o.writers, c.history_ops,
	       opts_idle_name(a->o.idle));
	for (r = 0; r < TRIREME_REPLICAS; r++) {
		const struct trireme_replica_stats *st = &out->st[r];
		const struct trireme_durable_stats *ds = &out->ds[r];

		if (!out->local[r])
			continue;
		printf("%s{\"id\":%u,\"applied\":%" PRIu64 ",\"applied_cmds\":%" PRIu64
		       ",\"kv_digest\":\"0x%016" PRIx64 "\",\"keys\":%" PRIu64 ",\"committed\":%"
		       PRIu64 ",\"retries\":%" PRIu64 ",\"recoveries\":%" PRIu64 ",\"drops\":%"
		       PRIu64 ",\"drops_auth\":%" PRIu64 ",\"drops_implausible\":%" PRIu64
		       ",\"paused\":%s,\"down\":%s,\"serving\":%s,\"rejoined\":%s,\"log_failed\":%s,\"incarnation\":%u,\"too_old\":%"
		       PRIu64 ",\"paced\":%" PRIu64 ",\"snap_sent\":%" PRIu64 ",\"snap_installs\":%" PRIu64
		       ",\"snap_bytes_rx\":%" PRIu64 ",\"remote_requests\":%" PRIu64
		       ",\"remote_replies\":%" PRIu64 ",\"remote_drops\":%" PRIu64
		       ",\"tx_pkts\":%" PRIu64 ",\"tx_bytes\":%" PRIu64
		       ",\"wal_records\":%" PRIu64 ",\"wal_syncs\":%" PRIu64
		       ",\"wal_records_per_sync\":%.2f,\"wal_sync_us\":%.1f"
		       ",\"disk_snapshots\":%" PRIu64 ",\"wal_trimmed\":%" PRIu64
		       ",\"wal_torn_bytes\":%" PRIu64 ",\"wal_damage\":%" PRIu64
		       ",\"implausible\":{",
		       first ? "" : ",", r, st->applied, st->applied_cmds, st->kv_digest, st->keys,
		       st->committed, st->retries, st->recoveries, replica_drops(st),
		       st->drops_auth, st->drops_implausible, st->paused ? "true" : "false", st->down ? "true" : "false",
		       st->serving ? "true" : "false", st->rejoined ? "true" : "false",
		       st->log_failed ? "true" : "false",
		       st->incarnation, st->too_old, st->paced, st->snap_sent, st->snap_installs,
		       st->snap_bytes_rx, st->remote_requests, st->remote_replies,
		       st->remote_drops, st->tx_pkts, st->tx_bytes, ds->wal_records, ds->wal_syncs,
		       ds->wal_syncs > 0 ? (double)ds->wal_records / (double)ds->wal_syncs : 0.0,
		       ds->wal_syncs > 0 ? (double)ds->wal_sync_ns / 1e3 / (double)ds->wal_syncs
					 : 0.0,
		       ds->disk_snapshots, ds->wal_trimmed, ds->wal_torn_bytes, ds->wal_damage);
		for (unsigned i = 0; trireme_implausible_name(i) != NULL; i++)
			printf("%s\"%s\":%" PRIu64, i > 0 ? "," : "", trireme_implausible_name(i),
			       st->implausible[i]);
		printf("}}");
		first = false;
	}
	printf("],\"digests_match\":%s}\n", out->converged ? "true" : "false");
	fflush(stdout);
}

static void
print_summary(const struct app *a, const struct outcome *out)
{
	const struct hist *h = load_hist_total(a->load);
	struct load_counts c;
	double s = load_active_s(a->load);
	unsigned r;

	load_counts(a->load, &c);
	printf("%" PRIu64 " ops in %.2f s: %.0f ops/s (reads %" PRIu64 ", writes %" PRIu64
	       ", errors %" PRIu64 ")\n", c.ops, s, s > 0 ? (double)c.ops / s : 0.0, c.reads,
	       c.writes, c.errors);
	printf("latency: p50 %.1f us, p99 %.1f us, p999 %.1f us\n",
	       (double)hist_quantile(h, 0.5) / 1e3, (double)hist_quantile(h, 0.99) / 1e3,
	       (double)hist_quantile(h, 0.999) / 1e3);
	if (out->unfinished > 0)
		printf("%" PRIu64 " commands did not complete within %d s\n", out->unfinished,
		       DRAIN_TIMEOUT_S);
	for (r = 0; r < TRIREME_REPLICAS; r++) {
		const struct trireme_replica_stats *st = &out->st[r];

		if (!out->local[r])
			continue;
		printf("replica %u: applied %" PRIu64 " (%" PRIu64 " cmds), committed %" PRIu64
		       ", digest 0x%016" PRIx64 ", keys %" PRIu64 ", retries %" PRIu64
		       ", recoveries %" PRIu64 ", drops %" PRIu64 ", snapshots %" PRIu64 " sent %"
		       PRIu64 " installed%s\n",
		       r, st->applied, st->applied_cmds, st->committed, st->kv_digest, st->keys,
		       st->retries, st->recoveries, replica_drops(st), st->snap_sent,
		       st->snap_installs, replica_state(st));
	}
	if (out->converged && !a->o.cluster)
		printf("replica converged: compare its digest with the other processes'\n");
	else if (out->converged)
		printf("replicas converged: digests match\n");
	else
		printf("replica%s did not converge within %g s\n", a->o.cluster ? "s" : "",
		       a->o.cluster ? (double)CONVERGE_TIMEOUT_S : a->o.linger_s);
	fflush(stdout);
}

/* Stops the load, lets it finish, waits for convergence, prints the result. */
static void
finish(struct app *a)
{
	struct outcome out;

	memset(&out, 0, sizeof(out));
	load_stop(a->load);
	/* Nothing to wait for: a violation, no peer, or (one replica per
	 * process) a replica that could not write its directory. */
	if (a->peers_silent || a->rc == EXIT_VIOLATION || (!a->o.cluster && log_failure_seen(a))) {
		replicas_agree(a, &out);
	} else {
		drain(a);
		converge(a, &out);
	}
	out.unfinished = load_outstanding_live(a->load);
	if (a->o.json)
		print_json(a, &out);
	else
		print_summary(a, &out);
	if (a->rc == EXIT_DONE && !out.converged)
		a->rc = EXIT_DIVERGED;
	log_failure_seen(a); /* outranks divergence */
	violation_seen(a); /* also during the drain: it outranks both */
}

static void
close_history(struct app *a)
{
	bool bad;

	if (a->history == NULL)
		return;
	bad = ferror(a->history) != 0;
	if (fclose(a->history) != 0 || bad) {
		fprintf(stderr, "trireme: writing --history %.200s failed: %s\n", a->o.history,
			strerror(errno));
		a->rc = EXIT_RUNTIME;
	}
	a->history = NULL;
}

/* Starts the replicas and the load, runs, finishes; returns the exit status. */
static int
launch(struct app *a)
{
	struct trireme_conf conf;
	struct load_conf lc;
	char err[256] = "";
	unsigned r;
	int rc;

	if (!a->o.cluster && check_port(&a->o) != 0)
		return EXIT_USAGE;
	if (make_conf(&a->o, &conf) != 0)
		return EXIT_USAGE;
	a->conf_batch = conf.batch_cmds_max;
	a->conf_mtu = conf.mtu;
	if (a->o.history != NULL && (a->history = fopen(a->o.history, "w")) == NULL) {
		fprintf(stderr, "trireme: cannot write --history %.200s: %s\n", a->o.history,
			strerror(errno));
		return EXIT_USAGE;
	}
	rc = trireme_start(&conf, &a->t, err, sizeof(err));
	if (rc < 0) {
		if (err[0] != 0)
			fprintf(stderr, "trireme: %s\n", err);
		else
			fprintf(stderr, "trireme: the replicas did not start: %s; check the EAL "
				"arguments and the options\n", trireme_strerror(rc));
		return EXIT_RUNTIME;
	}
	trireme_thread_online();

	memset(&lc, 0, sizeof(lc));
	for (r = 0; r < TRIREME_REPLICAS; r++) {
		struct trireme_faults f = loss_faults(a);

		if (!trireme_replica_local(a->t, r))
			continue;
		lc.loaded[r] = r < a->o.writers;
		if (a->o.loss > 0) {
			rc = trireme_set_faults(a->t, r, &f);
			if (rc != 0) {
				fprintf(stderr, "trireme: cannot set --loss on replica %u: %s; run "
					"without --loss\n", r, trireme_strerror(rc));
				a->rc = EXIT_RUNTIME;
				goto stop;
			}
		}
	}
	if (!a->o.cluster && !lc.loaded[a->o.replica_id] && !a->o.quiet && a->o.writers > 0)
		fprintf(stderr, "trireme: replica %u gets no load (--writers %u loads replicas "
			"0..%u)\n", a->o.replica_id, a->o.writers, a->o.writers - 1);
	lc.window = a->o.window;
	lc.client_window_max = OPTS_CLIENT_WINDOW_MAX;
	lc.keys = a->o.keys;
	lc.value_size = a->o.value_size;
	lc.read_ratio = a->o.read_ratio;
	lc.read_mode = a->o.read_mode;
	lc.history = a->history;
	lc.seed = a->o.seed;
	a->load = load_new(a->t, &lc, err, sizeof(err));
	if (a->load == NULL) {
		fprintf(stderr, "trireme: %s\n", err);
		a->rc = EXIT_RUNTIME;
		goto stop;
	}
	if (a->o.interactive) {
		struct prompt_env env = { .t = a->t, .load = a->load, .signalled = &signalled };

		a->prompt = prompt_new(&env);
		if (a->prompt == NULL) {
			fprintf(stderr, "trireme: cannot start the prompt (out of memory); run "
				"without -i\n");
			a->rc = EXIT_RUNTIME;
			goto stop;
		}
	}

	run(a);
	prompt_free(a->prompt); /* the terminal back to normal before the summary */
	a->prompt = NULL;
	finish(a);

stop:
	load_free(a->load); /* flushes the history: what is outstanding stays pending */
	trireme_thread_offline();
	trireme_stop(a->t);
	close_history(a);
	return a->rc;
}

int
main(int argc, char **argv)
{
	struct app a;
	const char *misplaced;
	int ret;

	memset(&a, 0, sizeof(a));
	if (opts_help_wanted(argc, argv)) {
		opts_usage(stdout);
		return EXIT_DONE;
	}
	misplaced = opts_misplaced(argc, argv);
	if (misplaced != NULL) {
		fprintf(stderr, "trireme: %.64s is a trireme option: put it after -- "
			"(trireme <EAL args> -- <options>)\n", misplaced);
		return EXIT_USAGE;
	}

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "trireme: EAL init failed: %s; check the EAL arguments before --\n",
			rte_strerror(rte_errno));
		return EXIT_USAGE;
	}
	argc -= ret;
	argv += ret;
	install_signals(); /* from here on, SIGINT and SIGTERM finish cleanly */

	ret = opts_parse(argc, argv, &a.o);
	if (ret != 0) {
		rte_eal_cleanup();
		return ret > 0 ? EXIT_DONE : EXIT_USAGE;
	}
	a.hz = rte_get_tsc_hz();
	a.rc = launch(&a);
	rte_eal_cleanup();
	return a.rc;
}
