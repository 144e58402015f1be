/* SPDX-License-Identifier: MIT
 * Property test of the client API (include/trireme.h, issue 17 item 3) at
 * an in-process cluster: seeded random sequences of calls, valid and not
 * (bad replicas and windows, ops with bad kinds, read modes, lengths and
 * NULL pointers, values one byte over trireme_value_max, more submits than
 * the window, polls of 0, waits of 0 and short timeouts, clients freed with
 * commands outstanding, faults with probabilities out of range or NaN,
 * replicas paused, crashed and restarted in between). Every call returns
 * what the header says; every accepted submit completes exactly once (by
 * tag) unless its client was freed first; the cluster commits and
 * converges afterwards. Seed: PROPS_SEED (default 23).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_check.h"
#include "eal_test.h"
#include "prop_rng.h"
#include "trireme.h"

#define STEPS 6000
#define CLIENTS 6        /* held at once by the test */
#define CLIENTS_MAX 4    /* per replica: ENOSPC beyond */
#define TAGS (1u << 16)  /* tags are 1.. in submit order */

struct held {
	struct trireme_client *c;
	unsigned replica, window;
};

static struct held held[CLIENTS];
static uint8_t state[TAGS]; /* 0 never submitted, 1 outstanding, 2 done, 3 abandoned */
static uint16_t owner[TAGS];
static unsigned per_replica[TRIREME_REPLICAS];
static uint8_t val[TRIREME_VAL_MAX + 2], key[TRIREME_KEY_MAX + 2];

static void
take(struct held *h, unsigned n, unsigned slot, unsigned *done)
{
	struct trireme_done d[8];
	unsigned got = trireme_poll(h->c, d, n), i;

	cr_assert_leq(got, n);
	for (i = 0; i < got; i++) {
		cr_assert(d[i].tag > 0 && d[i].tag < TAGS, "tag %" PRIu64, d[i].tag);
		cr_assert_eq(state[d[i].tag], 1, "tag %" PRIu64 " completed again or never "
			     "submitted (state %u)", d[i].tag, state[d[i].tag]);
		cr_assert_eq(owner[d[i].tag], slot, "tag %" PRIu64 " on another client",
			     d[i].tag);
		cr_assert(d[i].status == 0 || d[i].status == -TRIREME_ESTOPPED ||
			  d[i].status == -TRIREME_ETOO_OLD, "status %d", d[i].status);
		state[d[i].tag] = 2;
		(*done)++;
	}
}

static unsigned
outstanding_of(unsigned slot, uint32_t next_tag)
{
	unsigned n = 0;

	for (uint32_t t = 1; t < next_tag; t++)
		n += state[t] == 1 && owner[t] == slot;
	return n;
}

/* Paused or crashed: submits refused. With joining: not serving, or not
 * rejoined (an amnesiac restarted needs two peers with their state until
 * every slot below its floors is decided: one failure at a time, J2). */
static bool
replica_stopped(struct trireme *t, unsigned r, bool joining)
{
	struct trireme_replica_stats s;

	cr_assert_eq(trireme_replica_stats(t, r, &s), 0);
	return s.paused || s.down || (joining && (!s.serving || !s.rejoined));
}

static void
eal_up(void)
{
	eal_test_init(false);
}

Test(client_props, random_calls_keep_the_contract, .init = eal_up, .timeout = 150)
{
	static const unsigned bad_replicas[] = {3, 4, 255, 65536, UINT_MAX};
	static const unsigned bad_windows[] = {0, TRIREME_WINDOW_MAX + 1, 1000, UINT_MAX};
	struct trireme_conf conf;
	struct trireme *t;
	char err[256];
	uint32_t next_tag = 1;
	unsigned steps, done = 0, accepted = 0, refused = 0, busy = 0, i;
	uint64_t deadline;

	rng = getenv("PROPS_SEED") ? strtoull(getenv("PROPS_SEED"), NULL, 0) : 23;
	trireme_conf_default(&conf);
	conf.clients_max = CLIENTS_MAX;
	cr_assert_eq(trireme_start(&conf, &t, err, sizeof(err)), 0, "%s", err);
	trireme_thread_online();
	memset(val, 'v', sizeof(val));
	memset(key, 'k', sizeof(key));

	for (steps = 0; steps < STEPS && next_tag < TAGS - 64; steps++) {
		unsigned slot = below(CLIENTS), pick = below(100);
		struct held *h = &held[slot];

		trireme_thread_quiescent(); /* between local reads */
		if (pick < 8) { /* a client: bad arguments, or one more */
			unsigned r = below(TRIREME_REPLICAS), w = 1 + below(TRIREME_WINDOW_MAX);
			struct trireme_client *c;

			if (below(3) == 0) {
				bool bad_r = below(2);

				errno = 0;
				c = trireme_client_new(t, bad_r ? bad_replicas[below(5)] : r,
						       bad_r ? w : bad_windows[below(4)]);
				cr_assert_null(c);
				cr_assert_eq(errno, EINVAL);
				continue;
			}
			if (h->c != NULL)
				continue;
			errno = 0;
			c = trireme_client_new(t, r, w);
			if (per_replica[r] >= CLIENTS_MAX) {
				cr_assert_null(c);
				cr_assert_eq(errno, ENOSPC);
				continue;
			}
			cr_assert_not_null(c, "client_new(%u, %u): errno %d", r, w, errno);
			*h = (struct held){.c = c, .replica = r, .window = w};
			per_replica[r]++;
			continue;
		}
		if (pick < 12) { /* replicas: bad ids, pause, crash, resume, restart */
			struct trireme_replica_stats s;
			struct trireme_replica_status st;
			struct trireme_faults f;
			unsigned r = below(TRIREME_REPLICAS), stopped = 0;
			unsigned bad = bad_replicas[below(5)];

			memset(&f, 0, sizeof(f));
			cr_assert_eq(trireme_replica_stats(t, bad, &s), -TRIREME_EINVAL);
			cr_assert_eq(trireme_replica_status(t, bad, &st), -TRIREME_EINVAL);
			cr_assert_eq(trireme_replica_status(t, r, NULL), -TRIREME_EINVAL);
			cr_assert_eq(trireme_replica_pause(t, bad), -TRIREME_EINVAL);
			cr_assert_eq(trireme_replica_crash(t, bad), -TRIREME_EINVAL);
			cr_assert_eq(trireme_set_faults(t, bad, &f), -TRIREME_EINVAL);
			cr_assert(!trireme_replica_local(t, bad));
			cr_assert_eq(trireme_replica_status(t, r, &st), 0);
			cr_assert(!st.violation, "%s", st.why);
			f.drop_tx = below(2) ? NAN : below(2) ? -0.5 : 1.5;
			if (below(2))
				f = (struct trireme_faults){.drop_rx = f.drop_tx};
			if (below(3) == 0) /* a delay that wrapped in 32 bits of ns */
				f = (struct trireme_faults){.delay_tx = 0.5,
							    .delay_us = UINT32_MAX / 1000 + 1 +
									below(1u << 20)};
			cr_assert_eq(trireme_set_faults(t, r, &f), -TRIREME_EINVAL,
				     "drop %g %g delay %u us accepted", f.drop_tx, f.drop_rx, f.delay_us);
			for (i = 0; i < TRIREME_REPLICAS; i++)
				stopped += replica_stopped(t, i, true);
			if (replica_stopped(t, r, true)) {
				cr_assert_eq(below(2) ? trireme_replica_restart(t, r)
						      : trireme_replica_resume(t, r), 0);
			} else if (stopped == 0) { /* one down at a time */
				cr_assert_eq(below(2) ? trireme_replica_pause(t, r)
						      : trireme_replica_crash(t, r), 0);
			}
			continue;
		}
		if (h->c == NULL)
			continue;
		cr_assert_eq(trireme_outstanding(h->c), outstanding_of(slot, next_tag));
		if (pick < 15) { /* free it, outstanding commands abandoned */
			for (uint32_t tg = 1; tg < next_tag; tg++)
				if (state[tg] == 1 && owner[tg] == slot)
					state[tg] = 3;
			trireme_client_free(h->c);
			per_replica[h->replica]--;
			h->c = NULL;
			continue;
		}
		if (pick < 30) { /* poll: 0, or some */
			unsigned n = below(4) == 0 ? 0 : 1 + below(8);

			take(h, n, slot, &done);
			continue;
		}
		if (pick < 38) { /* wait: 0 and short timeouts */
			unsigned out = trireme_outstanding(h->c);
			int rc = trireme_wait(h->c, below(2) ? 0 : 1000u * below(2000));

			if (out == 0)
				cr_assert_eq(rc, 0);
			else
				cr_assert(rc > 0 || rc == -TRIREME_ETIMEOUT, "wait: %d", rc);
			continue;
		}
		/* submit: valid or not */
		{
			struct trireme_op op = {.kind = (uint8_t)(1 + below(3)), .key = key,
						.key_len = (uint16_t)below(64), .val = val};
			bool valid = true, stopped = replica_stopped(t, h->replica, false);
			unsigned out = trireme_outstanding(h->c), bad = below(4) == 0 ? below(9) : 99;
			uint32_t vmax;
			int rc;

			op.read_mode = op.kind == TRIREME_GET ? (uint8_t)below(TRIREME_READ_MODES) : 0;
			vmax = trireme_value_max(&conf, op.key_len);
			op.val_len = op.kind == TRIREME_SET ? below(8) == 0 ? vmax : below(64) : 0;
			switch (bad) {
			case 0:
				op.kind = (uint8_t)(below(2) ? 0 : 6 + below(250));
				break;
			case 1:
				op.kind = (uint8_t)(TRIREME_CMD + below(2)); /* no state machine */
				break;
			case 2:
				op.kind = TRIREME_GET;
				op.read_mode = (uint8_t)(TRIREME_READ_MODES + below(250));
				break;
			case 3:
				op.key_len = (uint16_t)(TRIREME_KEY_MAX + 1 + below(60000));
				break;
			case 4:
				op.key_len = (uint16_t)(1 + below(64));
				op.key = NULL;
				break;
			case 5: /* above a packet is a large op; above 1 MiB, nothing */
				op.kind = TRIREME_SET;
				op.val_len = TRIREME_LARGE_MAX + 1 + below(2);
				break;
			case 6:
				op.kind = TRIREME_SET;
				op.val_len = 1 + below(64);
				op.val = NULL;
				break;
			case 7:
				op.kind = TRIREME_SET;
				op.val_len = TRIREME_LARGE_MAX + 1 + below(1u << 20);
				break;
			case 8:
				cr_assert_eq(trireme_submit(h->c, NULL, next_tag), -TRIREME_EINVAL);
				refused++;
				continue;
			}
			valid = bad == 99;
			rc = trireme_submit(h->c, &op, next_tag);
			if (!valid) {
				cr_assert_eq(rc, -TRIREME_EINVAL, "bad op %u (kind %u mode %u key %u "
					     "val %u) not refused: %d", bad, op.kind, op.read_mode,
					     op.key_len, op.val_len, rc);
				refused++;
				continue;
			}
			if (rc == -TRIREME_ESTOPPED) {
				cr_assert(stopped || replica_stopped(t, h->replica, false));
				continue;
			}
			if (rc == -TRIREME_EBUSY) {
				busy++;
				continue;
			}
			cr_assert_eq(rc, 0, "valid op (kind %u mode %u key %u val %u of %u): %s",
				     op.kind, op.read_mode, op.key_len, op.val_len, vmax,
				     trireme_strerror(rc));
			cr_assert_lt(out, h->window, "more than the window accepted");
			cr_assert(!stopped, "a submit to a stopped replica accepted");
			state[next_tag] = 1;
			owner[next_tag] = (uint16_t)slot;
			next_tag++;
			accepted++;
		}
	}

	/* Heal; every outstanding command completes, once. */
	check_heal(t);
	deadline = check_now_ns() + 30 * CHECK_SEC;
	for (;;) {
		unsigned left = 0;

		for (i = 0; i < CLIENTS; i++)
			if (held[i].c != NULL) {
				(void)trireme_wait(held[i].c, 1000000);
				take(&held[i], 8, i, &done);
				left += trireme_outstanding(held[i].c);
			}
		if (left == 0)
			break;
		if (check_now_ns() >= deadline) {
			for (uint32_t tg = 1; tg < next_tag; tg++)
				if (state[tg] == 1)
					fprintf(stderr, "tag %u outstanding on client %u (replica %u)\n",
						tg, owner[tg], held[owner[tg]].replica);
			check_dump(t);
			cr_assert_fail("%u commands never completed", left);
		}
	}
	for (uint32_t tg = 1; tg < next_tag; tg++)
		cr_assert_neq(state[tg], 1, "tag %u lost", tg);
	for (i = 0; i < CLIENTS; i++)
		if (held[i].c != NULL)
			trireme_client_free(held[i].c);
	cr_log_info("%u steps: %u accepted, %u done, %u refused, %u busy", steps, accepted, done,
		    refused, busy);
	cr_assert_gt(accepted, 500);
	cr_assert_gt(refused, 200);
	cr_assert_gt(busy, 10);
	check_commits(t, 32, "after-api-");
	check_converged(t);
	trireme_thread_offline();
	trireme_stop(t);
}
