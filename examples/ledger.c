/* SPDX-License-Identifier: MIT
 * A state machine that is not a KV: a bank ledger (trireme_sm.h), and a
 * check that replication neither loses nor creates money.
 *
 * The ledger holds ACCOUNTS balances. A command moves an amount from one
 * account to another, or is refused (insufficient funds); a query reads a
 * balance, the total and the number of transfers applied, or whether a
 * transfer moved (the ledger keeps one bit per transfer id). Trireme decides
 * exactly-once; the ledger just applies what it is given.
 *
 * The program starts three replicas in this process (TRIREME_CLUSTER, over
 * net_ring), puts a client on every replica and submits transfers from all
 * three. Replica 2 goes away several times with transfers in flight and
 * comes back through a peer's snapshot of the ledger (PROTOCOL §12 T1),
 * proposing its transfers again (P7): the exactly-once rule (§8) must keep
 * them from moving money twice. Then it crashes and restarts empty (a
 * snapshot into a new ledger). At the end, on every replica: the total is
 * unchanged, the balances are what the acknowledged transfers say, the
 * number applied is the number submitted (a transfer applied twice, or
 * lost, shows: with exactly-once disabled in the engine this fails), and
 * the digests agree. A transfer whose answer the client never saw (applied
 * before a snapshot reached its replica: -TRIREME_EAPPLIED) is settled by
 * asking the ledger whether it moved; a transfer that moved twice, or moved
 * when the ledger says it did not, still breaks the balances.
 *
 *   ledger [transfers]   (EAL arguments are built in; exit 0: all checks hold)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include <trireme.h>
#include <trireme_sm.h>

#define ACCOUNTS 32
#define OPENING 1000 /* every account's opening balance, but the reserve's */
#define RESERVE 0    /* an account only the transfers in flight draw on */
#define RESERVE_OPENING 1000000000
#define WINDOW 8
#define ROUNDS 10
#define TAGS_MAX (1u << 20) /* transfer ids the ledger can record */
#define TRANSFER_BYTES 14     /* from, to, amount (u32), id (u64) */
#define SLOTS 64 /* conf.log_slots_max: recycled quickly */

/* Statuses of a transfer (trireme_done.status). */
enum { LEDGER_OK = 0, LEDGER_NO_FUNDS = 1, LEDGER_BAD = 2 };

/* ----------------------------------------------------------------------
 * The state machine
 */

struct ledger {
	int64_t balance[ACCOUNTS];
	uint64_t applied; /* transfers applied (moved or refused) */
	uint64_t moved_sum; /* of mix(id) over the transfers that moved */
	uint8_t out[16];  /* the last result's bytes */
	uint8_t moved[TAGS_MAX / 8]; /* bit id: transfer id moved */
};

/* A transfer id's share of the digest (splitmix64's finaliser). */
static uint64_t
mix(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void *
ledger_new(void *arg, unsigned replica)
{
	struct ledger *l = calloc(1, sizeof(*l));

	(void)arg;
	(void)replica;
	for (unsigned a = 0; l != NULL && a < ACCOUNTS; a++)
		l->balance[a] = a == RESERVE ? RESERVE_OPENING : OPENING;
	return l;
}

static void
ledger_free(void *sm)
{
	free(sm);
}

/* A transfer: from (1 byte), to (1 byte), amount (u32), id (u64, below
 * TAGS_MAX), little-endian. */
static void
ledger_apply(void *sm, const struct trireme_sm_cmd *cmds, unsigned n,
	     struct trireme_sm_result *res)
{
	struct ledger *l = sm;

	for (unsigned i = 0; i < n; i++) {
		const uint8_t *p = cmds[i].data;
		unsigned from, to;
		int64_t amount;
		uint64_t id;

		l->applied++;
		if (cmds[i].len != TRANSFER_BYTES || p[0] >= ACCOUNTS || p[1] >= ACCOUNTS ||
		    p[0] == p[1] || get_u64(p + 6) >= TAGS_MAX) {
			res[i].status = LEDGER_BAD;
			continue;
		}
		from = p[0];
		to = p[1];
		amount = (int64_t)((uint32_t)p[2] | (uint32_t)p[3] << 8 | (uint32_t)p[4] << 16 |
				   (uint32_t)p[5] << 24);
		if (l->balance[from] < amount) {
			res[i].status = LEDGER_NO_FUNDS;
			continue;
		}
		l->balance[from] -= amount;
		l->balance[to] += amount;
		id = get_u64(p + 6);
		l->moved[id / 8] |= (uint8_t)(1u << (id % 8));
		l->moved_sum += mix(id);
	}
}

/* A query: one byte, an account (its balance); 'm' and a transfer id (1:
 * it moved, 0: not, or not applied); or none (the total and the transfers
 * applied). */
static void
ledger_read(void *sm, const void *query, uint32_t len, struct trireme_sm_result *res)
{
	struct ledger *l = sm;
	const uint8_t *q = query;
	int64_t total = 0;

	if (len == 1 && q[0] < ACCOUNTS) {
		put_u64(l->out, (uint64_t)l->balance[q[0]]);
		res->val = l->out;
		res->val_len = 8;
		return;
	}
	if (len == 9 && q[0] == 'm' && get_u64(q + 1) < TAGS_MAX) {
		uint64_t id = get_u64(q + 1);

		l->out[0] = (uint8_t)((l->moved[id / 8] >> (id % 8)) & 1);
		res->val = l->out;
		res->val_len = 1;
		return;
	}
	if (len != 0) {
		res->status = LEDGER_BAD;
		return;
	}
	for (unsigned a = 0; a < ACCOUNTS; a++)
		total += l->balance[a];
	put_u64(l->out, (uint64_t)total);
	put_u64(l->out + 8, l->applied);
	res->val = l->out;
	res->val_len = 16;
}

#define LEDGER_BYTES (8 * (ACCOUNTS + 1) + TAGS_MAX / 8)

static int
ledger_snapshot(void *sm, trireme_sm_write_fn *write, void *ctx)
{
	struct ledger *l = sm;
	uint8_t buf[8 * (ACCOUNTS + 1)];

	for (unsigned a = 0; a < ACCOUNTS; a++)
		put_u64(buf + 8 * a, (uint64_t)l->balance[a]);
	put_u64(buf + 8 * ACCOUNTS, l->applied);
	if (write(ctx, buf, sizeof(buf)) != 0)
		return -1;
	return write(ctx, l->moved, sizeof(l->moved));
}

static int
ledger_restore(void *sm, const void *buf, size_t len)
{
	struct ledger *l = sm;
	const uint8_t *p = buf;

	if (len != LEDGER_BYTES)
		return -1;
	for (unsigned a = 0; a < ACCOUNTS; a++)
		l->balance[a] = (int64_t)get_u64(p + 8 * a);
	l->applied = get_u64(p + 8 * ACCOUNTS);
	memcpy(l->moved, p + 8 * (ACCOUNTS + 1), sizeof(l->moved));
	l->moved_sum = 0;
	for (uint64_t id = 0; id < TAGS_MAX; id++)
		if (l->moved[id / 8] >> (id % 8) & 1)
			l->moved_sum += mix(id);
	return 0;
}

static uint64_t
ledger_digest(void *sm)
{
	struct ledger *l = sm;
	uint64_t h = 0xcbf29ce484222325ull;

	for (unsigned a = 0; a < ACCOUNTS; a++)
		h = (h ^ (uint64_t)l->balance[a]) * 0x100000001b3ull;
	h = (h ^ l->applied) * 0x100000001b3ull;
	return (h ^ l->moved_sum) * 0x100000001b3ull;
}

static const struct trireme_sm_ops ledger_ops = {
	.create = ledger_new,
	.destroy = ledger_free,
	.apply = ledger_apply,
	.read = ledger_read,
	.snapshot = ledger_snapshot,
	.restore = ledger_restore,
	.digest = ledger_digest,
};

/* ----------------------------------------------------------------------
 * The check
 */

#define SEC 1000000000ull

static int failures;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "ledger: FAIL: " __VA_ARGS__);         \
			fputc('\n', stderr);                                   \
			failures++;                                            \
		}                                                              \
	} while (0)

static void
nap(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / SEC), .tv_nsec = (long)(ns % SEC)};

	nanosleep(&ts, NULL);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

struct transfer {
	uint8_t bytes[TRANSFER_BYTES];
};

/* What the clients know: every transfer sent (by tag) and what became of
 * it; the balances the acknowledged transfers add up to. */
struct driver {
	struct trireme *t;
	struct trireme_client *cl[TRIREME_REPLICAS];
	struct transfer *sent;
	uint64_t nsent, ndone, moved, refused;
	uint64_t *unknown; /* -TRIREME_EAPPLIED: moved or refused, once */
	uint64_t nunknown;
	unsigned napplied;
	int64_t expect[ACCOUNTS];
	uint64_t rng;
};

static uint32_t
rnd(struct driver *d)
{
	d->rng ^= d->rng << 13;
	d->rng ^= d->rng >> 7;
	d->rng ^= d->rng << 17;
	return (uint32_t)(d->rng >> 16);
}

static void
completed(struct driver *d, const struct trireme_done *done)
{
	const uint8_t *p = d->sent[done->tag].bytes;
	uint32_t amount = (uint32_t)p[2] | (uint32_t)p[3] << 8 | (uint32_t)p[4] << 16 |
			  (uint32_t)p[5] << 24;

	d->ndone++;
	if (done->status == -TRIREME_EAPPLIED) {
		/* Applied once, before: a transfer from the reserve, which
		 * always holds enough, moved; another one, we cannot tell. */
		d->napplied++;
		if (p[0] != RESERVE) {
			d->unknown[d->nunknown++] = done->tag; /* one answer per tag */
			return;
		}
	}
	if (done->status == LEDGER_OK || done->status == -TRIREME_EAPPLIED) {
		d->expect[p[0]] -= amount;
		d->expect[p[1]] += amount;
		d->moved++;
	} else {
		CHECK(done->status == LEDGER_NO_FUNDS, "transfer %" PRIu64 ": status %d (%s)",
		      done->tag, done->status,
		      done->status < 0 ? trireme_strerror(done->status) : "the ledger's");
		d->refused++;
	}
}

static void
reap(struct driver *d, unsigned replica)
{
	struct trireme_done done[32];
	unsigned n = trireme_poll(d->cl[replica], done, 32);

	for (unsigned i = 0; i < n; i++)
		completed(d, &done[i]);
}

/* Sends count transfers from the replicas in mask, round robin; from the
 * reserve, or between the other accounts. */
static void
send_transfers(struct driver *d, uint64_t count, unsigned mask, bool reserve)
{
	uint64_t end = d->nsent + count, deadline = now_ns() + 60 * SEC;

	while (d->nsent < end) {
		for (unsigned r = 0; r < TRIREME_REPLICAS && d->nsent < end; r++) {
			struct transfer *x = &d->sent[d->nsent];
			struct trireme_op op = {.kind = TRIREME_CMD, .val = x->bytes,
						.val_len = TRANSFER_BYTES};
			uint32_t amount = 1 + rnd(d) % 400, from, to;
			int rc;

			if (!(mask & (1u << r)))
				continue;
			reap(d, r);
			/* The others: 1..ACCOUNTS - 1 (RESERVE is 0). */
			from = reserve ? RESERVE : 1 + rnd(d) % (ACCOUNTS - 1);
			to = 1 + (from + rnd(d) % (ACCOUNTS - 2)) % (ACCOUNTS - 1);
			x->bytes[0] = (uint8_t)from;
			x->bytes[1] = (uint8_t)to;
			for (unsigned b = 0; b < 4; b++)
				x->bytes[2 + b] = (uint8_t)(amount >> (8 * b));
			put_u64(x->bytes + 6, d->nsent); /* the id: the tag */
			rc = trireme_submit(d->cl[r], &op, d->nsent);
			if (rc == 0)
				d->nsent++;
			else if (rc != -TRIREME_EBUSY)
				CHECK(0, "submit on replica %u: %s", r, trireme_strerror(rc));
			if (rc != 0 && rc != -TRIREME_EBUSY)
				return;
		}
		if (now_ns() > deadline) {
			CHECK(0, "sending stalled at %" PRIu64 " of %" PRIu64, d->nsent, end);
			return;
		}
	}
}

static void
drain(struct driver *d, unsigned replica)
{
	uint64_t deadline = now_ns() + 30 * SEC;

	while (trireme_outstanding(d->cl[replica]) > 0) {
		int rc = trireme_wait(d->cl[replica], SEC / 10);

		if (rc < 0 && rc != -TRIREME_ETIMEOUT) {
			CHECK(0, "wait on replica %u: %s", replica, trireme_strerror(rc));
			return;
		}
		reap(d, replica);
		if (now_ns() > deadline) {
			CHECK(0, "replica %u: %u transfers never completed", replica,
			      trireme_outstanding(d->cl[replica]));
			return;
		}
	}
}

/* Replica 2 away with WINDOW transfers in flight: deaf, so that its peers
 * accept them and it never learns they did; then paused while the others
 * go on until their log has moved on (SLOTS, several times over). On
 * resume it catches up by a snapshot that holds its own transfers, and
 * proposes them again (PROTOCOL P7, T1): only exactly-once keeps them from
 * moving money twice. */
static void
away(struct driver *d, uint64_t budget)
{
	const struct trireme_faults deaf = {.drop_rx = 1.0}, healthy = {0};
	struct trireme_replica_stats s0, s2;
	uint64_t end = d->nsent + budget;

	drain(d, 2);
	CHECK(trireme_set_faults(d->t, 2, &deaf) == 0, "faults");
	send_transfers(d, WINDOW, 4, true);
	nap(SEC / 2);
	CHECK(trireme_replica_pause(d->t, 2) == 0, "pause");
	CHECK(trireme_set_faults(d->t, 2, &healthy) == 0, "faults");
	do {
		send_transfers(d, 100, 3, false);
		trireme_replica_stats(d->t, 0, &s0);
		trireme_replica_stats(d->t, 2, &s2);
	} while ((s0.applied_prefix[0] < s2.applied_prefix[0] + 4 * SLOTS ||
		  s0.applied_prefix[1] < s2.applied_prefix[1] + 4 * SLOTS) && d->nsent < end);
	CHECK(trireme_replica_resume(d->t, 2) == 0, "resume");
}

/* A query through the read barrier on replica's client: its answer. */
static int
query(struct driver *d, unsigned replica, const uint8_t *q, uint32_t len, uint8_t *out,
      uint32_t cap)
{
	struct trireme_op op = {.kind = TRIREME_QUERY, .read_mode = TRIREME_READ_BARRIER,
				.val = q, .val_len = len};
	struct trireme_done done;
	uint64_t deadline = now_ns() + 10 * SEC;
	int rc = trireme_submit(d->cl[replica], &op, UINT64_MAX);

	if (rc != 0)
		return rc;
	while (now_ns() < deadline) {
		trireme_wait(d->cl[replica], SEC / 10);
		if (trireme_poll(d->cl[replica], &done, 1) == 1) {
			if (done.status != 0 || done.val_len > cap)
				return done.status != 0 ? done.status : -TRIREME_EINVAL;
			memcpy(out, done.val, done.val_len);
			return (int)done.val_len;
		}
	}
	return -TRIREME_ETIMEOUT;
}

/* Every replica has applied the same commands: same applied prefix, same
 * digest. */
static bool
converged(struct trireme *t, uint64_t *digest)
{
	struct trireme_replica_stats s[TRIREME_REPLICAS];

	for (unsigned r = 0; r < TRIREME_REPLICAS; r++)
		if (trireme_replica_stats(t, r, &s[r]) != 0)
			return false;
	for (unsigned r = 1; r < TRIREME_REPLICAS; r++)
		if (memcmp(s[r].applied_prefix, s[0].applied_prefix, sizeof(s[0].applied_prefix)) ||
		    s[r].kv_digest != s[0].kv_digest)
			return false;
	*digest = s[0].kv_digest;
	return true;
}

/* The balances the acknowledged transfers add up to, plus each transfer
 * whose answer was not seen that the ledger on replica says moved. */
static bool
balances_expected(struct driver *d, unsigned replica, int64_t *want)
{
	memcpy(want, d->expect, sizeof(d->expect));
	for (uint64_t u = 0; u < d->nunknown; u++) {
		const uint8_t *p = d->sent[d->unknown[u]].bytes;
		int64_t amount = (int64_t)((uint32_t)p[2] | (uint32_t)p[3] << 8 |
					   (uint32_t)p[4] << 16 | (uint32_t)p[5] << 24);
		uint8_t q[9] = {'m'}, out[1];
		int n;

		put_u64(q + 1, d->unknown[u]);
		n = query(d, replica, q, sizeof(q), out, sizeof(out));
		CHECK(n == 1, "replica %u: transfer %" PRIu64 ": query %d", replica,
		      d->unknown[u], n);
		if (n != 1)
			return false;
		if (out[0] == 1) {
			want[p[0]] -= amount;
			want[p[1]] += amount;
		}
	}
	return true;
}

static void
verify(struct driver *d)
{
	uint64_t digest = 0, deadline = now_ns() + 30 * SEC;
	int64_t want_total = (int64_t)(ACCOUNTS - 1) * OPENING + RESERVE_OPENING;
	int64_t have[ACCOUNTS], want[ACCOUNTS];

	while (!converged(d->t, &digest) && now_ns() < deadline)
		trireme_wait(d->cl[0], SEC / 100);
	CHECK(converged(d->t, &digest), "the replicas' digests differ");
	for (unsigned r = 0; r < TRIREME_REPLICAS; r++) {
		uint8_t out[16];
		int n = query(d, r, NULL, 0, out, sizeof(out));

		CHECK(n == 16, "replica %u: total query: %d", r, n);
		if (n != 16)
			continue;
		CHECK((int64_t)get_u64(out) == want_total,
		      "replica %u: total %" PRId64 ", not %" PRId64 ": money %s", r,
		      (int64_t)get_u64(out), want_total,
		      (int64_t)get_u64(out) > want_total ? "created" : "lost");
		CHECK(get_u64(out + 8) == d->nsent,
		      "replica %u: %" PRIu64 " transfers applied, %" PRIu64 " submitted", r,
		      get_u64(out + 8), d->nsent);
		for (uint8_t a = 0; a < ACCOUNTS; a++) {
			n = query(d, r, &a, 1, out, sizeof(out));
			CHECK(n == 8, "replica %u: account %u: query %d", r, a, n);
			have[a] = (int64_t)get_u64(out);
		}
		if (!balances_expected(d, r, want))
			continue;
		CHECK(memcmp(have, want, sizeof(want)) == 0,
		      "replica %u: the balances are not what the transfers add up to (a "
		      "transfer moved twice, or one that was refused moved)", r);
	}
	printf("ledger: %" PRIu64 " transfers (%" PRIu64 " moved, %" PRIu64 " refused, %u "
	       "applied before a snapshot reached their replica, %" PRIu64 " of them settled "
	       "by asking the ledger), total %" PRId64 " on every replica, digest %016" PRIx64
	       "\n", d->nsent, d->moved, d->refused, d->napplied, d->nunknown, want_total,
	       digest);
}

int
main(int argc, char **argv)
{
	char prefix[64], err[256];
	char *eal[] = {"ledger", "-l", "0-1", "--no-huge", "--no-pci", "--no-shconf", prefix,
		       "--log-level=*:error", "-m", "512", "--no-telemetry", NULL};
	uint64_t transfers = argc > 1 ? strtoull(argv[1], NULL, 10) : 6000;
	struct trireme_replica_stats s;
	struct trireme_conf conf;
	struct driver d = {.rng = 0x9E3779B97F4A7C15ull};
	int rc;

	snprintf(prefix, sizeof(prefix), "--file-prefix=ledger%d", (int)getpid());
	if (rte_eal_init(11, eal) < 0) {
		fprintf(stderr, "ledger: EAL: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	trireme_conf_default(&conf);
	conf.log_slots_max = SLOTS;
	conf.inflight_max = 32;
	rc = trireme_start_sm(&conf, &ledger_ops, NULL, &d.t, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "ledger: trireme_start_sm: %s\n", err);
		return 2;
	}
	if ((ROUNDS + 1) * transfers + WINDOW * ROUNDS > TAGS_MAX) {
		fprintf(stderr, "ledger: at most %u transfers in all\n", TAGS_MAX);
		return 2;
	}
	d.sent = calloc((ROUNDS + 1) * transfers + WINDOW * ROUNDS, sizeof(*d.sent));
	d.unknown = calloc((ROUNDS + 1) * transfers + WINDOW * ROUNDS, sizeof(*d.unknown));
	for (unsigned a = 0; a < ACCOUNTS; a++)
		d.expect[a] = a == RESERVE ? RESERVE_OPENING : OPENING;
	for (unsigned r = 0; r < TRIREME_REPLICAS; r++)
		d.cl[r] = trireme_client_new(d.t, r, WINDOW);
	if (d.sent == NULL || d.unknown == NULL || d.cl[0] == NULL || d.cl[1] == NULL || d.cl[2] == NULL) {
		fprintf(stderr, "ledger: out of memory\n");
		return 2;
	}

	/* All three; replica 2 away ROUNDS times with transfers in flight
	 * (away); then 2 crashes (its transfers drained first, so none has an
	 * unknown outcome) and restarts empty: a snapshot into a new ledger. */
	send_transfers(&d, transfers / 4, 7, false);
	for (unsigned round = 0; round < ROUNDS; round++)
		away(&d, transfers);
	drain(&d, 2);
	CHECK(trireme_replica_crash(d.t, 2) == 0, "crash");
	send_transfers(&d, transfers / 4, 3, false);
	CHECK(trireme_replica_restart(d.t, 2) == 0, "restart");
	send_transfers(&d, transfers / 4, 7, false);
	for (unsigned r = 0; r < TRIREME_REPLICAS; r++)
		drain(&d, r);
	CHECK(d.ndone == d.nsent, "%" PRIu64 " of %" PRIu64 " transfers completed", d.ndone,
	      d.nsent);
	verify(&d);
	trireme_replica_stats(d.t, 2, &s);
	CHECK(s.snap_installs > 0, "replica 2 never installed a snapshot (restored %" PRIu64
	      " bytes)", s.snap_bytes_rx);

	for (unsigned r = 0; r < TRIREME_REPLICAS; r++)
		trireme_client_free(d.cl[r]);
	trireme_stop(d.t);
	free(d.sent);
	free(d.unknown);
	rte_eal_cleanup();
	if (failures > 0)
		fprintf(stderr, "ledger: %d check(s) failed\n", failures);
	return failures > 0 ? 1 : 0;
}
