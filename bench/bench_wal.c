/* SPDX-License-Identifier: MIT
 * The WAL's I/O path, measured (issue 14): appends of one group (records of
 * one burst) followed by one sync, on a preallocated segment, by
 *   pwrite + fdatasync | O_DSYNC pwrite | io_uring write + fdatasync (linked)
 * and, for the preallocation, a zero-filled file against fallocate(2).
 *
 *   bench-wal [-d DIR] [-n SYNCS] [-b BYTES_PER_GROUP] [-r ROUNDS]
 *
 * The paths take turns, ROUNDS times (n / ROUNDS syncs each turn), so that a
 * shared disk's drift hits them alike. Prints one line per path: syncs per
 * second, p50 and p99 of one group's write + sync in microseconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

#define SEG_BYTES (64u << 20)

enum path { P_FDATASYNC, P_ODSYNC, P_URING, P_FALLOC_FDATASYNC, P_COUNT };
static const char *const path_name[P_COUNT] = {
	"pwrite+fdatasync (zero-filled)", "O_DSYNC pwrite (zero-filled)",
	"io_uring write+fdatasync (zero-filled)", "pwrite+fdatasync (fallocate)",
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A segment as the WAL makes it: zeros written and synced, or fallocate. */
static int
segment(const char *file, bool zero_fill, int extra_flags)
{
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	static uint8_t zeros[1 << 20];

	if (fd < 0)
		return -1;
	if (zero_fill) {
		for (uint32_t off = 0; off < SEG_BYTES; off += sizeof(zeros))
			if (pwrite(fd, zeros, sizeof(zeros), off) != (ssize_t)sizeof(zeros))
				return -1;
	} else if (posix_fallocate(fd, 0, SEG_BYTES) != 0) {
		return -1;
	}
	if (fsync(fd) != 0)
		return -1;
	if (extra_flags != 0) {
		close(fd);
		fd = open(file, O_RDWR | O_CLOEXEC | extra_flags);
	}
	return fd;
}

int
main(int argc, char **argv)
{
	const char *dir = ".";
	unsigned n = 2000, group = 512, rounds = 5;
	int opt;
	char file[4096];
	uint8_t *buf;
	uint64_t *lat[P_COUNT], total[P_COUNT] = {0};

	while ((opt = getopt(argc, argv, "d:n:b:r:")) != -1) {
		if (opt == 'd')
			dir = optarg;
		else if (opt == 'n')
			n = (unsigned)atoi(optarg);
		else if (opt == 'b')
			group = (unsigned)atoi(optarg);
		else if (opt == 'r')
			rounds = (unsigned)atoi(optarg);
		else {
			fprintf(stderr, "usage: bench-wal [-d DIR] [-n SYNCS] [-b BYTES] [-r ROUNDS]\n");
			return 2;
		}
	}
	if (rounds == 0 || n < rounds || group == 0 || (uint64_t)n * group > SEG_BYTES) {
		fprintf(stderr, "bench-wal: -n times -b must fit a %u MiB segment\n",
			SEG_BYTES >> 20);
		return 2;
	}
	snprintf(file, sizeof(file), "%s/bench-wal.seg", dir);
	buf = aligned_alloc(4096, (group + 4095) & ~4095u);
	if (buf == NULL)
		return 3;
	for (int p = 0; p < P_COUNT; p++)
		if ((lat[p] = calloc(n, sizeof(*lat[p]))) == NULL)
			return 3;
	memset(buf, 0xa5, group);
	printf("bench-wal: %s, %u syncs of %u bytes each per path, in %u rounds\n", dir, n,
	       group, rounds);
	n -= n % rounds;
	for (unsigned round = 0; round < rounds; round++) {
		for (int p = 0; p < P_COUNT; p++) {
			unsigned per = n / rounds, base = round * per;
			int fd = segment(file, p != P_FALLOC_FDATASYNC, p == P_ODSYNC ? O_DSYNC : 0);
			struct io_uring ring;
			uint64_t t0;

			if (fd < 0) {
				fprintf(stderr, "bench-wal: %s: %s\n", file, strerror(errno));
				return 3;
			}
			if (p == P_URING && io_uring_queue_init(8, &ring, 0) != 0) {
				fprintf(stderr, "bench-wal: io_uring_queue_init failed\n");
				return 3;
			}
			t0 = now_ns();
			for (unsigned i = 0; i < per; i++) {
				uint64_t a = now_ns();
				off_t off = (off_t)i * group;

				if (p == P_URING) {
					struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
					struct io_uring_cqe *cqe;

					io_uring_prep_write(sqe, fd, buf, group, (uint64_t)off);
					sqe->flags |= IOSQE_IO_LINK;
					sqe = io_uring_get_sqe(&ring);
					io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
					io_uring_submit_and_wait(&ring, 2);
					for (int k = 0; k < 2; k++) {
						if (io_uring_wait_cqe(&ring, &cqe) != 0 || cqe->res < 0)
							return 3;
						io_uring_cqe_seen(&ring, cqe);
					}
				} else {
					if (pwrite(fd, buf, group, off) != (ssize_t)group)
						return 3;
					if (p != P_ODSYNC && fdatasync(fd) != 0)
						return 3;
				}
				lat[p][base + i] = now_ns() - a;
			}
			total[p] += now_ns() - t0;
			if (p == P_URING)
				io_uring_queue_exit(&ring);
			close(fd);
		}
	}
	for (int p = 0; p < P_COUNT; p++) {
		qsort(lat[p], n, sizeof(*lat[p]), cmp_u64);
		printf("%-40s %8.0f syncs/s  p50 %7.1f us  p99 %7.1f us\n", path_name[p],
		       n * 1e9 / (double)total[p], lat[p][n / 2] / 1e3, lat[p][n * 99 / 100] / 1e3);
	}
	unlink(file);
	free(buf);
	for (int p = 0; p < P_COUNT; p++)
		free(lat[p]);
	return 0;
}
