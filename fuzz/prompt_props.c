/* SPDX-License-Identifier: MIT
 * Property test of the launcher's interactive prompt (tools/prompt.c,
 * issue 17 item 3) against a real in-process cluster with authentication:
 * a seeded stream of lines through a pipe on stdin (its output to a file on
 * stdout), in chunks of random size (partial lines): valid commands with
 * random and extreme arguments, bad ones, random bytes, control
 * characters, lines far beyond the line editor's buffer. Every bad command
 * gets an error line; a valid one on a serving replica answers as it
 * should; nothing crashes; afterwards the cluster commits and converges.
 * Seed: PROPS_SEED (default 17).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cmdline_parse_string.h>
#include <rte_common.h>

#include "cluster_check.h"
#include "eal_test.h"
#include "load.h"
#include "prompt.h"
#include "prop_rng.h"
#include "trireme.h"

#define LINES 2000
#define LINE_MAX_BYTES (70 * 1024)

enum expect {
	EXPECT_ANY,   /* no crash; nothing more */
	EXPECT_ERROR, /* an error line */
	EXPECT_OK,    /* the answer in want (a replica serving, a majority up) */
	EXPECT_SAID,  /* some answer: the success in want, or an error line */
};

/* What the prompt and DPDK's cmdline library say when they refuse. */
static const char *const error_lines[] = {
	"Bad arguments", "Command not found", "Ambiguous command", "error: ", "no replica ",
	"drop_tx and drop_rx are probabilities", "timed out after", "the load is ",
	"cannot create a client", "line too long", NULL,
};

struct gen {
	char line[LINE_MAX_BYTES + 16];
	size_t len;
	enum expect expect;
	char want[64];
};

static volatile sig_atomic_t never;
static char key_file[2][64], bad_key_file[64];

static bool
is_error_line(const char *l)
{
	for (unsigned i = 0; error_lines[i] != NULL; i++)
		if (strstr(l, error_lines[i]) != NULL)
			return true;
	/* "replica 1 is paused or crashed", "replica 1 refused", "... pending" */
	return strncmp(l, "replica ", 8) == 0 &&
	       (strstr(l, " is paused or crashed") != NULL || strstr(l, " refused ") != NULL ||
		strstr(l, "still pending") != NULL);
}

static void
gen_word(char *out, unsigned len)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyz0123456789_-.";

	for (unsigned i = 0; i < len; i++)
		out[i] = abc[below(sizeof(abc) - 1)];
	out[len] = 0;
}

/* A replica id: mostly valid, else out of range or not a number. */
static const char *
gen_replica(char *buf, bool *valid)
{
	static const char *const bad[] = {"3", "7", "255", "256", "-1", "4294967296",
					  "99999999999999999999", "x", "0x", "1.5", "+", ""};

	*valid = below(4) != 0;
	if (*valid) {
		sprintf(buf, "%u", below(TRIREME_REPLICAS));
		return buf;
	}
	return bad[below(RTE_DIM(bad) - 1)]; /* "" is for the tail of a line only */
}

/* Whether replica r serves with the other two (then a command on it answers
 * at once); *down: one that does not serve or has not rejoined (J2: it is
 * still the one failure), its state in *st, or 3. */
static bool
serving(struct trireme *t, unsigned r, unsigned *down, struct trireme_replica_stats *st)
{
	struct trireme_replica_stats s;
	unsigned i;

	*down = TRIREME_REPLICAS;
	for (i = 0; i < TRIREME_REPLICAS; i++) {
		cr_assert_eq(trireme_replica_stats(t, i, &s), 0);
		if (!s.serving || !s.rejoined || s.paused || s.down) {
			*down = i;
			*st = s;
		}
	}
	(void)r;
	return *down == TRIREME_REPLICAS;
}

static void
gen_line(struct gen *g, struct trireme *t)
{
	char r_buf[16], k[200], v[400], w[64];
	const char *rs;
	bool rv;
	struct trireme_replica_stats st;
	unsigned live, pick = below(100), r;

	g->expect = EXPECT_ANY;
	g->want[0] = 0;
	rs = gen_replica(r_buf, &rv);
	r = (unsigned)atoi(r_buf);
	if (pick < 15) { /* set */
		unsigned kl = below(8) == 0 ? 127 + below(3) : 1 + below(16);

		gen_word(k, kl);
		gen_word(v, below(8) == 0 ? 300 + below(100) : 1 + below(40));
		snprintf(g->line, sizeof(g->line), "set %s %s %s\n", rs, k, v);
		if (!rv || kl >= STR_TOKEN_SIZE - 1) /* cmdline: 126 bytes at most */
			g->expect = EXPECT_ERROR;
		else if (serving(t, r, &live, &st))
			g->expect = EXPECT_OK, strcpy(g->want, "ok");
		else
			g->expect = EXPECT_SAID, strcpy(g->want, "ok");
	} else if (pick < 30) { /* get, getlocal, del */
		static const char *const cmd[] = {"get", "getlocal", "del"};
		unsigned kl = below(8) == 0 ? 128 : 1 + below(16), c = below(3);

		gen_word(k, kl);
		snprintf(g->line, sizeof(g->line), "%s %s %s\n", cmd[c], rs, k);
		g->expect = !rv || kl >= STR_TOKEN_SIZE - 1 ? EXPECT_ERROR : EXPECT_SAID;
		/* getlocal works on a paused replica too; answers vary with the key */
		if (g->expect == EXPECT_SAID && c == 2 && serving(t, r, &live, &st))
			g->expect = EXPECT_OK, strcpy(g->want, "");
	} else if (pick < 36) { /* read-mode */
		static const char *const mode[] = {"barrier", "log", "local", "LOG", "bar", "",
						   "locale", "log log"};
		unsigned m = below(RTE_DIM(mode));

		snprintf(g->line, sizeof(g->line), "read-mode %s\n", mode[m]);
		g->expect = m < 3 ? EXPECT_OK : EXPECT_ERROR;
		strcpy(g->want, "gets now read in ");
	} else if (pick < 42) { /* show */
		if (below(3) == 0) {
			snprintf(g->line, sizeof(g->line), "show stats\n");
			g->expect = EXPECT_OK, strcpy(g->want, "load: ");
		} else {
			snprintf(g->line, sizeof(g->line), "show replica %s\n", rs);
			g->expect = rv ? EXPECT_OK : EXPECT_ERROR;
			snprintf(g->want, sizeof(g->want), "replica %u", r);
		}
	} else if (pick < 46) { /* start, stop load */
		snprintf(g->line, sizeof(g->line), "%s load\n", below(2) ? "start" : "stop");
		g->expect = EXPECT_SAID, strcpy(g->want, "load ");
	} else if (pick < 54) { /* fault */
		static const char *const p[] = {"0", "0.05", "1e-3", "0", "-0.1", "1.5", "nan",
						"inf", "1e999", "0.1x", "x", "-0", "0x0.1"};
		unsigned a = below(RTE_DIM(p)), b = below(RTE_DIM(p));
		bool pv = (a < 4 || a == 11 || a == 12) && (b < 4 || b == 11 || b == 12);

		snprintf(g->line, sizeof(g->line), "fault %s %s %s\n", rs, p[a], p[b]);
		g->expect = rv && pv ? EXPECT_OK : EXPECT_ERROR;
		snprintf(g->want, sizeof(g->want), "replica %u drops ", r);
	} else if (pick < 62) { /* pause, resume, crash, restart */
		static const char *const act[] = {"pause", "resume", "crash", "restart"};
		static const char *const said[] = {"paused", "resumed", "crashed", "restarted"};
		unsigned a = below(4);

		if (rv && !serving(t, r, &live, &st)) {
			/* at most one replica down at a time: bring it back */
			r = live;
			sprintf(r_buf, "%u", r);
			a = st.down ? 3 : 1;
		}
		snprintf(g->line, sizeof(g->line), "%s %s\n", act[a], rs);
		g->expect = rv ? EXPECT_SAID : EXPECT_ERROR;
		snprintf(g->want, sizeof(g->want), "replica %u %s", r, said[a]);
	} else if (pick < 68) { /* auth-key */
		switch (below(5)) {
		case 0:
			snprintf(g->line, sizeof(g->line), "auth-key %s\n", key_file[below(2)]);
			g->expect = EXPECT_OK, strcpy(g->want, "auth: key signs");
			break;
		case 1:
			snprintf(g->line, sizeof(g->line), "auth-key accept %s\n",
				 key_file[below(2)]);
			g->expect = EXPECT_OK, strcpy(g->want, "auth: key accepted");
			break;
		case 2:
			snprintf(g->line, sizeof(g->line), "auth-key retire\n");
			g->expect = EXPECT_OK, strcpy(g->want, "auth: only the signing");
			break;
		case 3:
			gen_word(w, 1 + below(20));
			snprintf(g->line, sizeof(g->line), "auth-key %s/%s\n",
				 below(2) ? "/nonexistent" : "/tmp", w);
			g->expect = EXPECT_ERROR;
			break;
		default:
			snprintf(g->line, sizeof(g->line), "auth-key %s%s\n",
				 below(2) ? "accept " : "", bad_key_file);
			g->expect = EXPECT_ERROR;
		}
	} else if (pick < 72) { /* unknown words, missing arguments */
		static const char *const bad[] = {"sett 0 k v", "set", "set 0", "set 0 k", "get 0",
						  "show", "show replica", "fault 0 0", "pause",
						  "load", "start", "auth-key accept", "helpme",
						  "getlocal", "del 1"};

		snprintf(g->line, sizeof(g->line), "%s\n", bad[below(RTE_DIM(bad))]);
		g->expect = EXPECT_ERROR;
	} else if (pick < 74) {
		snprintf(g->line, sizeof(g->line), "help\n");
		g->expect = EXPECT_OK, strcpy(g->want, "set <replica> <key> <value>");
	} else if (pick < 75) {
		snprintf(g->line, sizeof(g->line), below(2) ? "quit\n" : "exit\n");
	} else if (pick < 82) { /* lines longer than the line editor holds */
		size_t n = below(4) == 0 ? LINE_MAX_BYTES - 64 : 500 + below(2000);
		int h = snprintf(g->line, sizeof(g->line), "set 0 longkey%u ", below(4));

		memset(g->line + h, 'a' + (int)below(26), n);
		g->line[h + n] = '\n';
		g->line[h + n + 1] = 0;
		g->expect = EXPECT_ERROR;
		strcpy(g->want, "ok"); /* must not run, cut */
	} else if (pick < 92) { /* random bytes, control characters among them */
		size_t n = 1 + below(below(8) == 0 ? 4096 : 80);

		for (size_t i = 0; i < n; i++)
			g->line[i] = (char)(below(4) == 0 ? below(32) : below(256));
		g->line[n] = '\n';
		g->line[n + 1] = 0;
		g->len = n + 1;
		return;
	} else { /* random printable words */
		int o = 0;

		for (unsigned i = 0, n = below(8); i < n; i++) {
			gen_word(w, 1 + below(12));
			o += snprintf(g->line + o, sizeof(g->line) - (size_t)o, "%s ", w);
		}
		snprintf(g->line + o, sizeof(g->line) - (size_t)o, "\n");
	}
	g->len = strlen(g->line);
}

struct rig {
	struct trireme *t;
	struct load *load;
	struct prompt *p;
	struct prompt_env env;
	int in_w, out_fd, saved_in, saved_out;
	off_t out_off;
	unsigned quits;
};

static unsigned
pending_input(void)
{
	int n = 0;

	cr_assert_eq(ioctl(STDIN_FILENO, FIONREAD, &n), 0);
	return (unsigned)n;
}

/* Polls the prompt until it has read everything written; a prompt that quit
 * (quit, ctrl-d, random bytes) is replaced by a new one, as the launcher
 * would be restarted. */
static void
drain(struct rig *g)
{
	do {
		load_step(g->load);
		if (prompt_poll(g->p)) {
			prompt_free(g->p);
			g->p = prompt_new(&g->env);
			cr_assert_not_null(g->p);
			g->quits++;
		}
	} while (pending_input() > 0);
}

/* Writes the line in chunks of random size, polling in between. */
static void
feed(struct rig *g, const char *b, size_t len)
{
	size_t off = 0;

	while (off < len) {
		size_t chunk = RTE_MIN(len - off, (size_t)1 + below(below(2) ? 16 : 2048));
		ssize_t n = write(g->in_w, b + off, chunk);

		if (n < 0) {
			cr_assert_eq(errno, EAGAIN);
			n = 0;
		}
		off += (size_t)n;
		drain(g);
	}
}

/* The output since the last call, in out (NUL-terminated, truncated). */
static void
take_output(struct rig *g, char *out, size_t cap)
{
	ssize_t n = pread(g->out_fd, out, cap - 1, g->out_off);
	off_t end = lseek(g->out_fd, 0, SEEK_END);

	cr_assert_geq(n, 0);
	out[n] = 0;
	g->out_off = end;
	/* NULs (echoed random bytes) would end the string early */
	for (ssize_t i = 0; i < n; i++)
		if (out[i] == 0)
			out[i] = '?';
}

/* The answer lines: output lines that are not the prompt with its echo. */
static bool
answered(char *out, const struct gen *gl, bool *error, bool *wanted)
{
	char *save = NULL, *l;
	bool any = false;

	*error = *wanted = false;
	for (l = strtok_r(out, "\r\n", &save); l != NULL; l = strtok_r(NULL, "\r\n", &save)) {
		if (strncmp(l, "trireme> ", 9) == 0)
			continue;
		any = true;
		*error = *error || is_error_line(l);
		*wanted = *wanted || (gl->want[0] != 0 && strncmp(l, gl->want,
								  strlen(gl->want)) == 0);
	}
	return any;
}

static void
write_key(const char *path, unsigned char fill, size_t n)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", (unsigned)(fill + i) & 0xff);
	fprintf(f, "\n");
	fclose(f);
}

static void
eal_up(void)
{
	eal_test_init(false);
}

Test(prompt_props, random_lines_at_a_live_cluster, .init = eal_up, .timeout = 120)
{
	static struct gen gl;
	static char out[LINE_MAX_BYTES * 2], tail[400];
	struct trireme_conf conf;
	struct load_conf lc;
	struct rig g;
	char err[256], tmpl[] = "/tmp/prompt-props-out-XXXXXX";
	unsigned counts[4] = {0}, i;
	int fds[2];

	rng = getenv("PROPS_SEED") ? strtoull(getenv("PROPS_SEED"), NULL, 0) : 17;
	snprintf(key_file[0], sizeof(key_file[0]), "/tmp/prompt-props-%d.k0", getpid());
	snprintf(key_file[1], sizeof(key_file[1]), "/tmp/prompt-props-%d.k1", getpid());
	snprintf(bad_key_file, sizeof(bad_key_file), "/tmp/prompt-props-%d.kbad", getpid());
	write_key(key_file[0], 0x10, 32);
	write_key(key_file[1], 0x50, 32);
	write_key(bad_key_file, 0x90, 7); /* too short */

	memset(&g, 0, sizeof(g));
	trireme_conf_default(&conf);
	conf.auth = true;
	cr_assert_eq(trireme_auth_key_read(key_file[0], conf.auth_key, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(trireme_start(&conf, &g.t, err, sizeof(err)), 0, "%s", err);
	trireme_thread_online();
	memset(&lc, 0, sizeof(lc));
	for (i = 0; i < TRIREME_REPLICAS; i++)
		lc.loaded[i] = true;
	lc.window = 4;
	lc.client_window_max = 4;
	lc.keys = 64;
	lc.value_size = 16;
	lc.read_ratio = 0.5;
	lc.seed = 1;
	g.load = load_new(g.t, &lc, err, sizeof(err));
	cr_assert_not_null(g.load, "%s", err);

	/* stdin: a pipe we write; stdout: a file we read */
	g.saved_in = dup(STDIN_FILENO);
	g.saved_out = dup(STDOUT_FILENO);
	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
	cr_assert_geq(dup2(fds[0], STDIN_FILENO), 0);
	close(fds[0]);
	g.in_w = fds[1];
	g.out_fd = mkstemp(tmpl);
	cr_assert_geq(g.out_fd, 0);
	unlink(tmpl);
	fflush(stdout);
	cr_assert_geq(dup2(g.out_fd, STDOUT_FILENO), 0);

	g.env.t = g.t;
	g.env.load = g.load;
	g.env.signalled = &never;
	g.p = prompt_new(&g.env);
	cr_assert_not_null(g.p);
	cr_assert_null(prompt_new(&g.env), "one prompt at a time");

	for (i = 0; i < LINES; i++) {
		bool error, wanted, said;

		gen_line(&gl, g.t);
		take_output(&g, out, sizeof(out)); /* what came before: not this line's */
		feed(&g, gl.line, gl.len);
		take_output(&g, out, sizeof(out));
		memcpy(tail, out + (strlen(out) > 300 ? strlen(out) - 300 : 0), 300);
		tail[300] = 0;
		said = answered(out, &gl, &error, &wanted);
		counts[gl.expect]++;
		switch (gl.expect) {
		case EXPECT_ERROR:
			cr_assert(error && !wanted, "line %u: no error line (or a success) for '%.120s' (%zu bytes); said "
				  "'...%s'", i, gl.line, gl.len, tail);
			break;
		case EXPECT_OK:
			cr_assert(said && !error && (gl.want[0] == 0 || wanted),
				  "line %u: '%.120s' did not answer '%s': '...%s'", i, gl.line,
				  gl.want, tail);
			break;
		case EXPECT_SAID:
			cr_assert(error || wanted || (gl.want[0] == 0 && said),
				  "line %u: '%.120s' said nothing: '...%s'", i, gl.line, tail);
			break;
		case EXPECT_ANY:
			/* The line editor carries what garbage left (a cursor
			 * moved, a yanked kill buffer, an escape sequence begun)
			 * into the next line, as on a terminal: a new session. */
			prompt_free(g.p);
			g.p = prompt_new(&g.env);
			cr_assert_not_null(g.p);
			break;
		}
	}
	prompt_free(g.p);
	dup2(g.saved_in, STDIN_FILENO);
	dup2(g.saved_out, STDOUT_FILENO);
	close(g.in_w);
	close(g.out_fd);
	cr_log_info("lines: %u any, %u errors, %u ok, %u said; %u quits", counts[EXPECT_ANY],
		    counts[EXPECT_ERROR], counts[EXPECT_OK], counts[EXPECT_SAID], g.quits);
	cr_assert_gt(counts[EXPECT_ERROR], 200);
	cr_assert_gt(counts[EXPECT_OK], 100);

	/* The cluster still commits, and converges. */
	check_heal(g.t);
	if (load_running(g.load))
		load_stop(g.load);
	while (load_outstanding_live(g.load) > 0)
		load_step(g.load);
	check_commits(g.t, 32, "after-prompt-");
	check_converged(g.t);
	load_free(g.load);
	trireme_thread_offline();
	trireme_stop(g.t);
	unlink(key_file[0]);
	unlink(key_file[1]);
	unlink(bad_key_file);
}
