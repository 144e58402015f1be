/* SPDX-License-Identifier: MIT
 * bench-large: large values (issue 16) on the in-process cluster. One
 * client on replica 0 sets values of --value-size bytes (carried as parts
 * above one packet's value) back to back for --secs; reports MB/s of value
 * bytes committed, the sets' latency, and the bytes on the wire (frames the
 * three replicas sent, trireme_replica_stats.tx_bytes) per value byte.
 *
 *   bench-large --no-huge --no-pci -l 0-1 -m 512 --log-level='*:error' -- \
 *       [--value-size B] [--window W] [--secs S] [--mtu M]
 *
 * Output: one JSON object on stdout.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include "args.h"
#include "trireme.h"

static void
usage(void)
{
	fprintf(stderr, "usage: bench-large EAL-ARGS -- [--value-size B] [--window W] "
		"[--secs S] [--mtu M]\n");
}

static double
now_s(void)
{
	return (double)rte_get_tsc_cycles() / (double)rte_get_tsc_hz();
}

/* Bytes and packets the replicas sent to each other (net_ring devices
 * count no bytes in their port stats: the runtime's own count). */
static void
wire(struct trireme *t, uint64_t *bytes, uint64_t *pkts)
{
	*bytes = *pkts = 0;
	for (unsigned r = 0; r < TRIREME_REPLICAS; r++) {
		struct trireme_replica_stats st;

		if (trireme_replica_stats(t, r, &st) == 0) {
			*bytes += st.tx_bytes;
			*pkts += st.tx_pkts;
		}
	}
}

/* The process's resident memory, KiB (0 when unknown). */
static uint64_t
rss_kb(void)
{
	char line[256];
	uint64_t kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %" SCNu64, &kb) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return kb;
}

int
main(int argc, char **argv)
{
	uint32_t value_size = TRIREME_LARGE_MAX, window = 64, mtu = 1500;
	double secs = 5, t0, t1, lat_sum = 0, lat_max = 0;
	uint64_t sets = 0, b0, p0, b1, p1, rss0, rss1;
	struct trireme_conf conf;
	struct trireme *t;
	struct trireme_client *c;
	char err[256];
	uint8_t *val;
	int n = rte_eal_init(argc, argv);

	if (n < 0) {
		fprintf(stderr, "bench-large: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= n;
	argv += n;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--value-size") == 0 && i + 1 < argc)
			value_size = (uint32_t)bench_arg(argv[++i], 1, TRIREME_LARGE_MAX, usage);
		else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc)
			window = (uint32_t)bench_arg(argv[++i], 1, TRIREME_WINDOW_MAX, usage);
		else if (strcmp(argv[i], "--secs") == 0 && i + 1 < argc)
			secs = (double)bench_arg(argv[++i], 1, 600, usage);
		else if (strcmp(argv[i], "--mtu") == 0 && i + 1 < argc)
			mtu = (uint32_t)bench_arg(argv[++i], TRIREME_MTU_MIN, TRIREME_MTU_MAX, usage);
		else {
			usage();
			return 2;
		}
	}
	trireme_conf_default(&conf);
	conf.mtu = (uint16_t)mtu;
	if (trireme_start(&conf, &t, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench-large: %s\n", err);
		return 1;
	}
	c = trireme_client_new(t, 0, window);
	val = malloc(value_size);
	if (c == NULL || val == NULL) {
		fprintf(stderr, "bench-large: out of memory\n");
		return 1;
	}
	wire(t, &b0, &p0);
	rss0 = rss_kb(); /* the value's buffer is not touched yet */
	for (uint32_t i = 0; i < value_size; i++)
		val[i] = (uint8_t)(i * 131 + 7);
	t0 = now_s();
	for (;;) {
		char key[16];
		struct trireme_op op = {.kind = TRIREME_SET, .key = key, .val = val,
					.val_len = value_size};
		struct trireme_done d;
		double s = now_s();
		int rc;

		if (s - t0 >= secs)
			break;
		op.key_len = (uint16_t)snprintf(key, sizeof(key), "k%" PRIu64, sets % 16);
		val[0] = (uint8_t)sets;
		/* A large set takes the whole window: one at a time. */
		if (trireme_submit(c, &op, sets) != 0) {
			fprintf(stderr, "bench-large: submit refused\n");
			return 1;
		}
		do {
			rc = trireme_wait(c, 1000000000ull);
		} while (rc == -TRIREME_ETIMEOUT);
		if (rc <= 0 || trireme_poll(c, &d, 1) != 1 || d.status != 0) {
			fprintf(stderr, "bench-large: set failed: %d %s\n", rc,
				trireme_strerror(rc < 0 ? rc : d.status));
			return 1;
		}
		s = now_s() - s;
		lat_sum += s;
		lat_max = s > lat_max ? s : lat_max;
		sets++;
	}
	t1 = now_s();
	wire(t, &b1, &p1);
	rss1 = rss_kb();
	printf("{\"bench\":\"large\",\"value_size\":%" PRIu32 ",\"window\":%" PRIu32
	       ",\"mtu\":%" PRIu32 ",\"sets\":%" PRIu64 ",\"secs\":%.3f,\"mb_per_s\":%.1f,"
	       "\"sets_per_s\":%.1f,\"lat_mean_ms\":%.3f,\"lat_max_ms\":%.3f,"
	       "\"wire_bytes\":%" PRIu64 ",\"wire_pkts\":%" PRIu64
	       ",\"wire_bytes_per_value_byte\":%.3f,\"rss_start_kb\":%" PRIu64
	       ",\"rss_end_kb\":%" PRIu64 "}\n",
	       value_size, window, mtu, sets, t1 - t0,
	       (double)sets * value_size / (t1 - t0) / 1e6, (double)sets / (t1 - t0),
	       sets > 0 ? lat_sum / (double)sets * 1e3 : 0, lat_max * 1e3, b1 - b0, p1 - p0,
	       sets > 0 ? (double)(b1 - b0) / ((double)sets * value_size) : 0, rss0, rss1);
	trireme_client_free(c);
	free(val);
	trireme_stop(t);
	rte_eal_cleanup();
	return 0;
}
