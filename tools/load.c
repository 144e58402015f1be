/* SPDX-License-Identifier: MIT
 * The closed-loop load generator of the trireme launcher (see load.h).
 *
 * Each loaded replica gets ceil(window / client_window_max) clients whose
 * windows add up to the window. A command's tag holds the index of the slot
 * that records its submit time and kind; a client's free slots are a stack.
 *
 * A step prepares a command for every free slot (its history's pending
 * line), flushes the history, then submits the prepared commands: a pending
 * line reaches the file before its command can take effect, so a SIGKILL
 * never leaves a write that other processes read out of the history. A
 * command the runtime refuses for now (busy, paused) stays prepared, and is
 * submitted by a later step under the same pending line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "history_out.h"
#include "load.h"
#include "options.h"

#define LOAD_SLOTS_MAX 64  /* the largest client window */
#define LOAD_POLL_BURST 32
#define LOAD_KEY_LEN 24
#define LOAD_PREFIX_MAX 48 /* "client.seq:" */

struct load_client {
	struct trireme_client *c;
	uint64_t id;               /* the history's client: run_id(), then n */
	unsigned replica;
	unsigned window;
	unsigned used;             /* submitted, not completed */
	unsigned free_count;
	unsigned prep_head;        /* prepared, not submitted yet: a FIFO */
	unsigned prep_count;
	uint8_t free_slot[LOAD_SLOTS_MAX];
	uint8_t prep[LOAD_SLOTS_MAX];
	uint8_t kind[LOAD_SLOTS_MAX];
	uint8_t read_mode[LOAD_SLOTS_MAX];
	uint64_t call_ns[LOAD_SLOTS_MAX]; /* the history's call: when prepared */
	uint64_t sent_ns[LOAD_SLOTS_MAX]; /* the latency's start: when submitted */
	uint64_t key[LOAD_SLOTS_MAX];  /* key number */
	uint64_t vseq[LOAD_SLOTS_MAX]; /* set: the seq in its value */
	uint64_t seq;
	uint64_t rng;
};

struct load {
	struct trireme *t;
	struct load_conf conf;
	struct load_client *clients;
	unsigned client_count;
	bool running;
	uint64_t started_ns;
	uint64_t active_ns;        /* over the finished start .. stop periods */
	uint64_t unflushed;        /* history lines since the last fflush */
	struct load_counts counts;
	struct hist total;
	struct hist interval;
	struct hist reads;  /* gets, in whichever read mode */
	struct hist writes; /* sets and dels */
	uint8_t value[TRIREME_LARGE_MAX];
	uint8_t pattern[TRIREME_LARGE_MAX];
};

static void history_record(struct load *l, const struct load_client *lcl, unsigned slot,
			   const struct trireme_done *d, uint64_t now);

/* HISTORY.md's one clock of the host: CLOCK_MONOTONIC, shared by every
 * process of one boot, so that their histories check as one. */
static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

/* HISTORY.md: client ids unique across every run whose histories are
 * checked together. The runtime's ids are not (a process restarted on its
 * data directory keeps them), so the history numbers its clients from a
 * random run id: (36 random bits) << 16, below 2^53 for any JSON reader. */
static uint64_t
run_id(void)
{
	uint64_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = mono_ns() ^ ((uint64_t)getpid() << 20);
	r &= (UINT64_C(1) << 36) - 1;
	return (r != 0 ? r : 1) << 16;
}

/* splitmix64: seeds */
static uint64_t
mix64(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* xorshift64*: the load's random numbers */
static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(0x2545f4914f6cdd1d);
}

struct load *
load_new(struct trireme *t, const struct load_conf *lc, char *err, size_t err_len)
{
	struct load *l;
	unsigned r, i, per_replica, n = 0;
	uint64_t run = run_id();

	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		snprintf(err, err_len, "out of memory for the load generator");
		return NULL;
	}
	l->t = t;
	l->conf = *lc;
	if (l->conf.client_window_max == 0 || l->conf.client_window_max > LOAD_SLOTS_MAX)
		l->conf.client_window_max = LOAD_SLOTS_MAX;
	hist_reset(&l->total);
	hist_reset(&l->interval);
	hist_reset(&l->reads);
	hist_reset(&l->writes);
	for (i = 0; i < sizeof(l->pattern); i++)
		l->pattern[i] = (uint8_t)('a' + i % 26);

	per_replica = (lc->window + l->conf.client_window_max - 1) / l->conf.client_window_max;
	l->clients = calloc((size_t)per_replica * TRIREME_REPLICAS, sizeof(*l->clients));
	if (l->clients == NULL) {
		snprintf(err, err_len, "out of memory for the load generator's clients");
		free(l);
		return NULL;
	}
	for (r = 0; r < TRIREME_REPLICAS; r++) {
		if (!lc->loaded[r])
			continue;
		for (i = 0; i < per_replica; i++) {
			struct load_client *lcl = &l->clients[n];
			unsigned s;

			/* Windows as even as possible, adding up to lc->window. */
			lcl->window = lc->window / per_replica + (i < lc->window % per_replica);
			lcl->replica = r;
			lcl->rng = mix64(lc->seed ^ mix64(n + 1)) | 1;
			lcl->c = trireme_client_new(t, r, lcl->window);
			if (lcl->c == NULL) {
				snprintf(err, err_len, "cannot create client %u of replica %u "
					 "(window %u); lower --window", i, r, lcl->window);
				l->client_count = n;
				load_free(l);
				return NULL;
			}
			lcl->id = run + n;
			lcl->free_count = lcl->window;
			for (s = 0; s < lcl->window; s++)
				lcl->free_slot[s] = (uint8_t)(lcl->window - 1 - s);
			n++;
		}
	}
	l->client_count = n;
	return l;
}

void
load_free(struct load *l)
{
	unsigned i;

	if (l == NULL)
		return;
	/* What is outstanding has its pending line: an unknown outcome. */
	if (l->conf.history != NULL)
		fflush(l->conf.history);
	for (i = 0; i < l->client_count; i++)
		trireme_client_free(l->clients[i].c);
	free(l->clients);
	free(l);
}

void
load_start(struct load *l)
{
	if (l->running)
		return;
	l->running = true;
	l->started_ns = mono_ns();
}

void
load_stop(struct load *l)
{
	if (!l->running)
		return;
	l->running = false;
	l->active_ns += mono_ns() - l->started_ns;
}

bool
load_running(const struct load *l)
{
	return l->running;
}

void
load_set_read_mode(struct load *l, uint8_t mode)
{
	l->conf.read_mode = mode;
}

uint8_t
load_read_mode(const struct load *l)
{
	return l->conf.read_mode;
}

double
load_active_s(const struct load *l)
{
	uint64_t ns = l->active_ns;

	if (l->running)
		ns += mono_ns() - l->started_ns;
	return (double)ns / 1e9;
}

/* Writes v in decimal at buf (20 bytes at most), returns the length. */
static unsigned
put_dec(char *buf, uint64_t v)
{
	char tmp[20];
	unsigned n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

static uint16_t
make_key(char key[LOAD_KEY_LEN], uint64_t n)
{
	key[0] = 'k';
	return (uint16_t)(1 + put_dec(key + 1, n));
}

uint16_t
load_key_len_max(uint64_t keys)
{
	char key[LOAD_KEY_LEN];

	return make_key(key, keys > 0 ? keys - 1 : 0);
}

/* The value of a client's seq-th set in l->value: a prefix unique per
 * command ("client.seq:"), then a fixed pattern, value_size bytes. */
static const uint8_t *
make_value(struct load *l, const struct load_client *lcl, uint64_t seq)
{
	char prefix[LOAD_PREFIX_MAX];
	unsigned plen;

	plen = put_dec(prefix, lcl->id);
	prefix[plen++] = '.';
	plen += put_dec(prefix + plen, seq);
	prefix[plen++] = ':';
	if (plen > l->conf.value_size)
		plen = l->conf.value_size;
	memcpy(l->value, prefix, plen);
	memcpy(l->value + plen, l->pattern + plen, l->conf.value_size - plen);
	return l->value;
}

/* One line of the history (HISTORY.md, version 2): the pending line at the
 * call when d is NULL, else the complete line at now. */
static void
history_record(struct load *l, const struct load_client *lcl, unsigned slot,
	       const struct trireme_done *d, uint64_t now)
{
	char key[LOAD_KEY_LEN];
	struct history_op h = {.client = lcl->id, .op = lcl->kind[slot], .key = key};

	if (l->conf.history == NULL)
		return;
	if (h.op == TRIREME_GET && lcl->read_mode[slot] == TRIREME_READ_LOCAL) {
		if (d != NULL) /* not linearizable: not in the checked history */
			l->counts.local_reads++;
		return;
	}
	h.key_len = make_key(key, lcl->key[slot]);
	if (h.op == TRIREME_SET) {
		h.value = (const char *)make_value(l, lcl, lcl->vseq[slot]);
		h.value_len = l->conf.value_size;
	}
	h.call = lcl->call_ns[slot];
	if (h.op == TRIREME_GET)
		h.meta = opts_read_mode_name(lcl->read_mode[slot]);
	l->unflushed++;
	if (d == NULL) {
		history_op_write_call(l->conf.history, &h); /* errors: ferror at the end */
		l->counts.history_ops++;
		return;
	}
	h.done = true;
	h.ret = now;
	h.ok = d->status == 0;
	if (d->found) {
		h.out = (const char *)d->val;
		h.out_len = d->val_len;
	}
	history_op_write(l->conf.history, &h);
}

static void
load_complete(struct load *l, struct load_client *lcl, const struct trireme_done *d,
	      uint64_t now)
{
	unsigned slot = (unsigned)(d->tag & 0xff);
	uint8_t kind;
	uint64_t ns;

	if (slot >= lcl->window || lcl->used == 0 || lcl->kind[slot] == 0) {
		l->counts.errors++; /* a tag we did not give: count it, keep going */
		return;
	}
	history_record(l, lcl, slot, d, now);
	kind = lcl->kind[slot];
	lcl->kind[slot] = 0;
	lcl->used--;
	lcl->free_slot[lcl->free_count++] = (uint8_t)slot;
	l->counts.outstanding--;
	if (d->status != 0) {
		l->counts.errors++;
		if (d->status == -TRIREME_ETOO_OLD)
			l->counts.too_old++;
		else if (d->status == -TRIREME_EFULL)
			l->counts.full++;
		return;
	}
	l->counts.ops++;
	if (kind == TRIREME_GET)
		l->counts.reads++;
	else
		l->counts.writes++;
	ns = now - lcl->sent_ns[slot];
	hist_add(&l->total, ns);
	hist_add(&l->interval, ns);
	hist_add(kind == TRIREME_GET ? &l->reads : &l->writes, ns);
}

/* A new command in a free slot, its pending line written: prepared. */
static void
load_prepare_one(struct load *l, struct load_client *lcl, uint64_t now)
{
	uint64_t rnd = next_rand(&lcl->rng);
	unsigned slot = lcl->free_slot[--lcl->free_count];

	lcl->key[slot] = next_rand(&lcl->rng) % l->conf.keys;
	if ((double)(rnd >> 11) * 0x1p-53 < l->conf.read_ratio) {
		lcl->kind[slot] = TRIREME_GET;
		lcl->read_mode[slot] = l->conf.read_mode;
	} else {
		lcl->kind[slot] = TRIREME_SET;
		lcl->read_mode[slot] = 0;
		lcl->vseq[slot] = lcl->seq++; /* a value of its own, even if never sent */
	}
	lcl->call_ns[slot] = now;
	lcl->prep[(lcl->prep_head + lcl->prep_count++) % LOAD_SLOTS_MAX] = (uint8_t)slot;
	history_record(l, lcl, slot, NULL, 0);
}

/* Submits the oldest prepared command. Returns 0 when queued, else the
 * submit's error. */
static int
load_submit_one(struct load *l, struct load_client *lcl)
{
	char key[LOAD_KEY_LEN];
	struct trireme_op op;
	unsigned slot = lcl->prep[lcl->prep_head];
	int rc;

	memset(&op, 0, sizeof(op));
	op.kind = lcl->kind[slot];
	op.key = key;
	op.key_len = make_key(key, lcl->key[slot]);
	if (op.kind == TRIREME_GET) {
		op.read_mode = lcl->read_mode[slot];
	} else {
		op.val = make_value(l, lcl, lcl->vseq[slot]);
		op.val_len = l->conf.value_size;
	}
	lcl->sent_ns[slot] = mono_ns(); /* just before the request */
	rc = trireme_submit(lcl->c, &op, slot);
	if (rc == -TRIREME_EBUSY || rc == -TRIREME_ESTOPPED)
		return rc; /* stays prepared */
	lcl->prep_head = (lcl->prep_head + 1) % LOAD_SLOTS_MAX;
	lcl->prep_count--;
	if (rc != 0) {
		/* Never sent: its pending line is an unknown outcome. */
		lcl->kind[slot] = 0;
		lcl->free_slot[lcl->free_count++] = (uint8_t)slot;
		return rc;
	}
	lcl->used++;
	l->counts.outstanding++;
	return 0;
}

void
load_quiescent(void)
{
	/* QSBR: going offline is a quiescent state. trireme.h has no call that
	 * reports one while staying online. */
	trireme_thread_quiescent();
}

unsigned
load_step(struct load *l)
{
	struct trireme_done done[LOAD_POLL_BURST];
	unsigned i, j, n, work = 0;
	bool prepared = false;

	for (i = 0; i < l->client_count; i++) {
		struct load_client *lcl = &l->clients[i];

		if (lcl->used > 0) {
			n = trireme_poll(lcl->c, done, LOAD_POLL_BURST);
			if (n > 0) {
				uint64_t now = mono_ns();

				for (j = 0; j < n; j++)
					load_complete(l, lcl, &done[j], now);
				work += n;
			}
		}
		if (l->running && lcl->free_count > 0) {
			uint64_t now = mono_ns(); /* call: before the pending line */

			while (lcl->free_count > 0)
				load_prepare_one(l, lcl, now);
			prepared = true;
		}
	}
	/* The pending lines reach the file before their commands are sent; the
	 * completions go with them, or at once when nothing is prepared. */
	if (l->unflushed > 0 && (prepared || !l->running)) {
		fflush(l->conf.history);
		l->unflushed = 0;
	}
	for (i = 0; i < l->client_count; i++) {
		struct load_client *lcl = &l->clients[i];

		while (lcl->prep_count > 0) {
			int rc = load_submit_one(l, lcl);

			if (rc == -TRIREME_EBUSY || rc == -TRIREME_ESTOPPED)
				break;
			if (rc != 0) {
				l->counts.errors++;
				l->counts.submit_errors++;
				break;
			}
			work++;
		}
	}
	load_quiescent();
	return work;
}

uint64_t
load_outstanding_live(const struct load *l)
{
	bool paused[TRIREME_REPLICAS] = {false};
	uint64_t n = 0;
	unsigned i, r;

	for (r = 0; r < TRIREME_REPLICAS; r++) {
		struct trireme_replica_stats s;

		if (trireme_replica_local(l->t, r) && trireme_replica_stats(l->t, r, &s) == 0)
			paused[r] = s.paused || s.down || s.log_failed;
	}
	for (i = 0; i < l->client_count; i++)
		if (!paused[l->clients[i].replica])
			n += l->clients[i].used + l->clients[i].prep_count;
	return n;
}

void
load_counts(const struct load *l, struct load_counts *c)
{
	*c = l->counts;
}

const struct hist *
load_hist_total(const struct load *l)
{
	return &l->total;
}

const struct hist *
load_hist_reads(const struct load *l)
{
	return &l->reads;
}

const struct hist *
load_hist_writes(const struct load *l)
{
	return &l->writes;
}

void
load_hist_interval(struct load *l, struct hist *out)
{
	*out = l->interval;
	hist_reset(&l->interval);
}
