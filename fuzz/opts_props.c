/* SPDX-License-Identifier: MIT
 * Property tests of the launcher's option parser (tools/options.c), which
 * needs no EAL: seeded random command lines, valid ones (every value lands
 * in its field), values just outside their ranges or malformed (refused
 * with -1), and argument vectors of random bytes and random options (never
 * a crash, and an accepted one always satisfies the parser's own rules).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "prop_rng.h"


#define ARGS_MAX 48
#define ARG_BYTES 96

struct cmdline {
	int argc;
	char *argv[ARGS_MAX + 1];
	char buf[ARGS_MAX][ARG_BYTES];
};

static void
cl_reset(struct cmdline *c)
{
	memset(c, 0, sizeof(*c));
	c->argv[0] = "trireme";
	c->argc = 1;
}

static void
cl_add(struct cmdline *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
cl_add(struct cmdline *c, const char *fmt, ...)
{
	va_list ap;

	cr_assert_lt(c->argc, ARGS_MAX);
	va_start(ap, fmt);
	vsnprintf(c->buf[c->argc], ARG_BYTES, fmt, ap);
	va_end(ap);
	c->argv[c->argc] = c->buf[c->argc];
	c->argc++;
	c->argv[c->argc] = NULL;
}

/* opts_parse resets optind to 1, which leaves GNU getopt's position inside
 * an argument of the previous vector when that parse stopped early: a fresh
 * scan (optind 0) on a harmless vector clears it between cases. */
static void
getopt_clear(void)
{
	static char *none[] = {"x", NULL};

	optind = 0;
	opterr = 0;
	while (getopt(1, none, "") != -1)
		;
}

static int
parse(struct cmdline *c, struct opts *o)
{
	char *copy[ARGS_MAX + 1];
	int rc;

	/* getopt_long may permute argv: parse a copy of the pointers. */
	memcpy(copy, c->argv, sizeof(copy));
	getopt_clear();
	rc = opts_parse(c->argc, copy, o);
	getopt_clear();
	return rc;
}

/* The parser's own rules, for any command line it accepted. */
static void
accepted_is_consistent(const struct opts *o)
{
	cr_assert(!(o->cluster_set && (o->replica_id_set || o->peers_set || o->port_set)));
	cr_assert(o->replica_id_set == o->peers_set);
	cr_assert(!o->port_set || o->replica_id_set);
	cr_assert(o->replica_id < TRIREME_REPLICAS);
	cr_assert(o->window >= 1 && o->window <= OPTS_WINDOW_MAX);
	cr_assert(o->keys >= 1 && o->value_size >= 1 && o->value_size <= TRIREME_LARGE_MAX);
	cr_assert(o->read_ratio >= 0 && o->read_ratio <= 1);
	cr_assert(o->loss >= 0 && o->loss <= 0.9);
	cr_assert(o->writers <= TRIREME_REPLICAS);
	cr_assert(!o->mtu_set || (o->mtu >= TRIREME_MTU_MIN && o->mtu <= TRIREME_MTU_MAX));
	cr_assert(!o->batch_set || (o->batch >= 1 && o->batch <= OPTS_BATCH_MAX));
	cr_assert(o->read_mode < TRIREME_READ_MODES);
	cr_assert(o->history == NULL || o->value_size >= OPTS_HISTORY_VALUE_MIN);
	cr_assert(opts_clients_per_replica(o) >= 1);
	if (o->peers_set)
		for (unsigned i = 0; i < TRIREME_REPLICAS; i++) {
			cr_assert((o->peers[i].mac[0] & 1) == 0 && o->peers[i].ip != 0);
			for (unsigned j = 0; j < i; j++)
				cr_assert(o->peers[i].ip != o->peers[j].ip &&
					  memcmp(o->peers[i].mac, o->peers[j].mac, 6) != 0);
		}
}

static void
valid_peers(struct cmdline *c, uint8_t mac_hi, unsigned ip_base)
{
	cl_add(c, "--peers");
	cl_add(c, "%02x:00:00:00:00:01@10.%u.0.1,%02x:00:00:00:00:02@10.%u.0.2,"
		  "%02X:00:00:00:00:03@10.%u.0.3",
	       mac_hi, ip_base, mac_hi, ip_base, mac_hi, ip_base);
}

Test(opts_props, random_valid_command_lines_land_in_their_fields, .init = cr_redirect_stderr)
{
	rng = 1;
	for (unsigned i = 0; i < 5000; i++) {
		struct cmdline c;
		struct opts o;
		unsigned window = 1 + below(OPTS_WINDOW_MAX), writers = 1 + below(3);
		unsigned mtu = TRIREME_MTU_MIN + below(TRIREME_MTU_MAX - TRIREME_MTU_MIN + 1);
		unsigned vs = 1 + below(TRIREME_LARGE_MAX), id = below(3), batch = 1 + below(4096);
		unsigned ratio_pct = below(101), mode = below(3);
		bool single = below(2), hist = below(4) == 0;
		uint64_t seed = next();

		cl_reset(&c);
		if (single) {
			cl_add(&c, "--replica-id=%u", id);
			valid_peers(&c, (uint8_t)(2 * below(128)), below(256));
			if (below(2))
				cl_add(&c, "--port=%u", below(65535));
		} else if (below(2)) {
			cl_add(&c, "--cluster");
		}
		cl_add(&c, "--window");
		cl_add(&c, "%u", window);
		cl_add(&c, "--writers=%u", writers);
		cl_add(&c, "--mtu=%u", mtu);
		cl_add(&c, "--value-size=%u", hist && vs < OPTS_HISTORY_VALUE_MIN ? 64 : vs);
		cl_add(&c, "--read-ratio=%u.%02u", ratio_pct / 100, ratio_pct % 100);
		cl_add(&c, "--read-mode=%s", opts_read_mode_name(mode));
		cl_add(&c, "--batch=%u", batch);
		cl_add(&c, "--seed=%llu", (unsigned long long)seed);
		if (hist)
			cl_add(&c, "--history=h.jsonl");
		if (below(2))
			cl_add(&c, "-i");
		cr_assert_eq(parse(&c, &o), 0, "case %u rejected", i);
		accepted_is_consistent(&o);
		cr_assert_eq(o.window, window);
		cr_assert_eq(o.writers, writers);
		cr_assert_eq(o.mtu, mtu);
		cr_assert_eq(o.batch, batch);
		cr_assert_eq(o.seed, seed);
		cr_assert_eq(o.read_mode, mode);
		cr_assert_float_eq(o.read_ratio, ratio_pct / 100.0, 1e-9);
		cr_assert_eq(o.cluster, !single);
		if (single) {
			cr_assert_eq(o.replica_id, id);
			cr_assert_eq(o.peers[2].mac[5], 3);
		}
	}
}

/* Every numeric option, at each bound and one past it, and malformed. */
Test(opts_props, values_outside_their_range_or_malformed_are_refused, .init = cr_redirect_stderr)
{
	static const struct {
		const char *name;
		uint64_t lo, hi;
	} ints[] = {
		{"replica-id", 0, 2},
		{"port", 0, 65534},
		{"udp-port-base", 1, 65533},
		{"mtu", TRIREME_MTU_MIN, TRIREME_MTU_MAX},
		{"window", 1, OPTS_WINDOW_MAX},
		{"keys", 1, 1000000000},
		{"value-size", 1, TRIREME_LARGE_MAX},
		{"writers", 0, 3},
		{"batch", 1, OPTS_BATCH_MAX},
		{"inflight", 1, 1u << 20},
	};
	static const char *const junk[] = {"", "-1", "+1", " 1", "1 ", "0x10", "1e3", "1.0",
					   "18446744073709551616", "99999999999999999999", "abc"};

	for (size_t k = 0; k < sizeof(ints) / sizeof(ints[0]); k++) {
		uint64_t at[4] = {ints[k].lo, ints[k].hi, ints[k].lo - 1, ints[k].hi + 1};

		for (unsigned j = 0; j < 4; j++) {
			struct cmdline c;
			struct opts o;
			bool ok = j < 2;
			int rc;

			if (j == 2 && ints[k].lo == 0)
				continue; /* no integer below 0 to write */
			cl_reset(&c);
			cl_add(&c, "--%s=%llu", ints[k].name, (unsigned long long)at[j]);
			if (strcmp(ints[k].name, "replica-id") == 0 ||
			    strcmp(ints[k].name, "port") == 0) {
				if (strcmp(ints[k].name, "port") == 0)
					cl_add(&c, "--replica-id=0");
				valid_peers(&c, 2, 0);
			}
			rc = parse(&c, &o);
			cr_assert_eq(rc, ok ? 0 : -1, "--%s=%llu: %d", ints[k].name,
				     (unsigned long long)at[j], rc);
			if (ok)
				accepted_is_consistent(&o);
		}
		for (size_t j = 0; j < sizeof(junk) / sizeof(junk[0]); j++) {
			struct cmdline c;
			struct opts o;

			cl_reset(&c);
			cl_add(&c, "--%s=%s", ints[k].name, junk[j]);
			cr_assert_eq(parse(&c, &o), -1, "--%s='%s' accepted", ints[k].name, junk[j]);
		}
	}
	{
		static const char *const reals[][2] = {
			{"read-ratio", "1.01"}, {"read-ratio", "nan"}, {"read-ratio", "inf"},
			{"loss", "0.91"},       {"loss", "-0"},        {"duration", "1e9"},
			{"stats-interval", "0.09"}, {"peer-timeout", "3601"}, {"read-ratio", ".5x"},
		};

		for (size_t j = 0; j < sizeof(reals) / sizeof(reals[0]); j++) {
			struct cmdline c;
			struct opts o;

			cl_reset(&c);
			cl_add(&c, "--%s=%s", reals[j][0], reals[j][1]);
			cr_assert_eq(parse(&c, &o), -1, "--%s=%s accepted", reals[j][0],
				     reals[j][1]);
		}
	}
}

/* --peers: a valid list with one character changed is refused, or accepted
 * only if still unicast, distinct and in range. */
Test(opts_props, peers_with_one_character_changed, .init = cr_redirect_stderr)
{
	static const char alphabet[] = "0123456789abcdefABCDEF:.@,xg -";

	rng = 3;
	for (unsigned i = 0; i < 20000; i++) {
		struct cmdline c;
		struct opts o;
		size_t len;
		int rc;

		cl_reset(&c);
		cl_add(&c, "--replica-id=1");
		valid_peers(&c, (uint8_t)(2 * below(128)), below(256));
		len = strlen(c.buf[2]);
		switch (below(3)) {
		case 0:
			c.buf[2][below((unsigned)len)] = alphabet[below(sizeof(alphabet) - 1)];
			break;
		case 1:
			c.buf[2][below((unsigned)len)] = 0; /* cut */
			break;
		default: /* a character inserted */
			if (len + 1 < ARG_BYTES) {
				size_t at = below((unsigned)len + 1);

				memmove(c.buf[2] + at + 1, c.buf[2] + at, len - at + 1);
				c.buf[2][at] = alphabet[below(sizeof(alphabet) - 1)];
			}
			break;
		}
		rc = parse(&c, &o);
		cr_assert(rc == 0 || rc == -1);
		if (rc == 0)
			accepted_is_consistent(&o);
	}
}

/* Anything at all: random known options with random values, and random
 * bytes. Never a crash; an accepted line obeys the rules. */
/* --help prints the usage on stdout. */
static void
quiet(void)
{
	cr_redirect_stdout();
	cr_redirect_stderr();
}

Test(opts_props, random_argument_vectors_never_break_the_parser, .init = quiet)
{
	static const char *const names[] = {
		"--cluster", "--replica-id", "--peers", "--port", "--udp-port-base", "--mtu",
		"--peer-timeout", "--duration", "--window", "--keys", "--value-size",
		"--read-ratio", "--read-mode", "--history", "--applier-threads", "--loss",
		"--writers", "--batch", "--inflight", "--seed", "--json", "--stats-interval",
		"--quiet", "-i", "-h", "--help", "-", "--", "--win", "--w", "-ih", "-x", "--clu",
	};
	static const char *const values[] = {"0", "1", "2", "3", "64", "576", "9000", "0.5",
					     "barrier", "log", "local", "", "=", "-1", "1e308",
					     "02:00:00:00:00:01@10.0.0.1"};
	unsigned outcomes[3] = {0};

	rng = 4;
	for (unsigned i = 0; i < 30000; i++) {
		struct cmdline c;
		struct opts o;
		unsigned n = below(8);
		int rc;

		cl_reset(&c);
		for (unsigned k = 0; k < n; k++) {
			switch (below(4)) {
			case 0:
				cl_add(&c, "%s", names[below(sizeof(names) / sizeof(names[0]))]);
				break;
			case 1:
				cl_add(&c, "%s", values[below(sizeof(values) / sizeof(values[0]))]);
				break;
			case 2:
				cl_add(&c, "%s=%s", names[below(sizeof(names) / sizeof(names[0]))],
				       values[below(sizeof(values) / sizeof(values[0]))]);
				break;
			default: { /* random bytes, NUL-terminated */
				unsigned len = below(ARG_BYTES - 1);

				for (unsigned b = 0; b < len; b++)
					c.buf[c.argc][b] = (char)(1 + below(255));
				c.buf[c.argc][len] = 0;
				c.argv[c.argc] = c.buf[c.argc];
				c.argc++;
				c.argv[c.argc] = NULL;
				break;
			}
			}
		}
		rc = parse(&c, &o);
		cr_assert(rc == 0 || rc == 1 || rc == -1, "rc %d", rc);
		outcomes[rc + 1]++;
		if (rc == 0)
			accepted_is_consistent(&o);
		/* The EAL-side helpers on the same vector. */
		(void)opts_help_wanted(c.argc, c.argv);
		(void)opts_misplaced(c.argc, c.argv);
	}
	cr_assert(outcomes[0] > 0 && outcomes[1] > 0 && outcomes[2] > 0,
		  "refused %u, accepted %u, help %u", outcomes[0], outcomes[1], outcomes[2]);
}

/* --peers lists that look right and must still be refused. */
Test(opts_props, peers_that_must_be_refused, .init = cr_redirect_stderr)
{
	static const char *const bad[] = {
		"02:00:00:00:00:01@10.0.0.1,02:00:00:00:00:02@10.0.0.1,02:00:00:00:00:03@10.0.0.3",
		"02:00:00:00:00:01@10.0.0.1,02:00:00:00:00:01@10.0.0.2,02:00:00:00:00:03@10.0.0.3",
		"03:00:00:00:00:01@10.0.0.1,02:00:00:00:00:02@10.0.0.2,02:00:00:00:00:03@10.0.0.3",
		"00:00:00:00:00:00@10.0.0.1,02:00:00:00:00:02@10.0.0.2,02:00:00:00:00:03@10.0.0.3",
		"02:00:00:00:00:01@0.0.0.0,02:00:00:00:00:02@10.0.0.2,02:00:00:00:00:03@10.0.0.3",
		"02:00:00:00:00:01@255.255.255.255,02:00:00:00:00:02@10.0.0.2,02:00:00:00:00:03@10.0.0.3",
		"02:00:00:00:00:01@224.0.0.1,02:00:00:00:00:02@10.0.0.2,02:00:00:00:00:03@10.0.0.3",
		"02:00:00:00:00:01@10.0.0.01,02:00:00:00:00:02@10.0.0.2,02:00:00:00:00:03@10.0.0.3",
		"02:00:00:00:00:01@10.0.0.256,02:00:00:00:00:02@10.0.0.2,02:00:00:00:00:03@10.0.0.3",
		"02:00:00:00:00:01@10.0.0.1,02:00:00:00:00:02@10.0.0.2",
		"02:00:00:00:00:01@10.0.0.1,02:00:00:00:00:02@10.0.0.2,02:00:00:00:00:03@10.0.0.3,",
		"02:00:00:00:00:1@10.0.0.1,02:00:00:00:00:02@10.0.0.2,02:00:00:00:00:03@10.0.0.3",
		"02-00-00-00-00-01@10.0.0.1,02:00:00:00:00:02@10.0.0.2,02:00:00:00:00:03@10.0.0.3",
		"02:00:00:00:00:01@10.0.0,02:00:00:00:00:02@10.0.0.2,02:00:00:00:00:03@10.0.0.3",
	};

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct cmdline c;
		struct opts o;

		cl_reset(&c);
		cl_add(&c, "--replica-id=0");
		cl_add(&c, "--peers=%s", bad[k]);
		cr_assert_eq(parse(&c, &o), -1, "accepted: %s", bad[k]);
	}
}
