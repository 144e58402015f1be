/* SPDX-License-Identifier: MIT
 * Trireme runtime: a replica's data directory (datadir.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datadir.h"
#include "le.h"
#include "mono.h"
#include "wire.h"

#define SB_MAGIC 0x42535254u /* "TRSB" */

static int
dd_fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (err != NULL && len > 0)
		vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

void
tr_dd_super_encode(uint8_t buf[TR_DD_SUPER_BYTES], const struct tr_dd_super *s)
{
	memset(buf, 0, TR_DD_SUPER_BYTES);
	put_le32(buf, SB_MAGIC);
	put_le32(buf + 4, TR_DD_VERSION);
	put_le32(buf + 8, s->cluster_id);
	put_le32(buf + 12, s->replica);
	put_le32(buf + 16, s->inc);
	put_le32(buf + 20, s->flags);
	put_le64(buf + 24, s->seq);
	put_le64(buf + 32, s->client_base);
	put_le32(buf + 40, s->clients_max);
	put_le32(buf + 44, s->peer_inc[0]);
	put_le64(buf + 48, s->seq_ceiling);
	put_le32(buf + 56, s->peer_inc[1]);
	put_le32(buf + 60, tr_crc32c(0, buf, 60));
}

bool
tr_dd_super_decode(const uint8_t buf[TR_DD_SUPER_BYTES], struct tr_dd_super *s)
{
	if (ld_u32(buf) != SB_MAGIC || ld_u32(buf + 4) != TR_DD_VERSION ||
	    ld_u32(buf + 60) != tr_crc32c(0, buf, 60))
		return false;
	s->cluster_id = ld_u32(buf + 8);
	s->replica = ld_u32(buf + 12);
	s->inc = ld_u32(buf + 16);
	s->flags = ld_u32(buf + 20);
	s->seq = ld_u64(buf + 24);
	s->client_base = ld_u64(buf + 32);
	s->clients_max = ld_u32(buf + 40);
	s->peer_inc[0] = ld_u32(buf + 44);
	s->seq_ceiling = ld_u64(buf + 48);
	s->peer_inc[1] = ld_u32(buf + 56);
	return true;
}

int
tr_dd_sync_dir(int dirfd)
{
	return fsync(dirfd);
}

uint64_t
tr_dd_sync_probe(int dirfd)
{
	static const char name[] = "sync-probe";
	uint8_t buf[512] = {0};
	uint64_t ns[3], t;
	int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	bool ok = fd >= 0 && posix_fallocate(fd, 0, 4096) == 0 && fdatasync(fd) == 0;

	for (unsigned i = 0; ok && i < 3; i++) {
		t = tr_mono_ns();
		ok = pwrite(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf) && fdatasync(fd) == 0;
		ns[i] = tr_mono_ns() - t;
	}
	if (fd >= 0) {
		close(fd);
		unlinkat(dirfd, name, 0);
	}
	if (!ok)
		return 0;
	for (unsigned i = 0; i < 2; i++) /* sorted, for the median */
		for (unsigned j = 0; j + 1 < 3 - i; j++)
			if (ns[j] > ns[j + 1])
				t = ns[j], ns[j] = ns[j + 1], ns[j + 1] = t;
	return ns[1];
}

/* 1 valid, 0 absent, -1 present but not valid. */
static int
super_read(int dirfd, const char *name, struct tr_dd_super *s)
{
	uint8_t buf[TR_DD_SUPER_BYTES];
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	return n == (ssize_t)sizeof(buf) && tr_dd_super_decode(buf, s) ? 1 : -1;
}

static int
super_put(int dirfd, unsigned copy, const struct tr_dd_super *s)
{
	uint8_t buf[TR_DD_SUPER_BYTES];
	char name[16];
	int fd, rc = -1;

	snprintf(name, sizeof(name), "super.%u", copy);
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	tr_dd_super_encode(buf, s);
	if (pwrite(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf) && fdatasync(fd) == 0)
		rc = 0;
	close(fd);
	return rc;
}

int
tr_dd_super_write(struct tr_datadir *d, uint32_t inc, uint32_t flags)
{
	struct tr_dd_super s = d->sb;

	s.inc = inc;
	s.flags = flags;
	s.seq = d->sb.seq + 1;
	/* The copy that does not hold the newest: seq alternates between them. */
	if (super_put(d->dirfd, (unsigned)(s.seq & 1), &s) != 0)
		return -1;
	d->sb = s;
	return 0;
}

/* A stream over the directory's entries from the first (closedir ends it,
 * dirfd stays open), or NULL. */
static DIR *
dir_stream(int dirfd)
{
	int fd = dup(dirfd);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);

	if (dir == NULL) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	rewinddir(dir); /* a dup shares the offset of dirfd's stream */
	return dir;
}

/* True when the directory holds log segments or snapshots. */
static bool
has_state(int dirfd)
{
	DIR *dir = dir_stream(dirfd);
	struct dirent *e;
	bool found = false;

	if (dir == NULL)
		return true; /* cannot tell: not fresh */
	while (!found && (e = readdir(dir)) != NULL)
		found = strncmp(e->d_name, "wal-", 4) == 0 || strncmp(e->d_name, "snap-", 5) == 0;
	closedir(dir);
	return found;
}

static void drop_snap_tmp(int dirfd);

int
tr_dd_open(struct tr_datadir *d, const char *path, uint32_t cluster_id, uint32_t replica,
	   char *err, size_t len)
{
	struct tr_dd_super s[2];
	int got[2];
	char pid[32];
	ssize_t n;

	memset(d, 0, sizeof(*d));
	d->dirfd = d->lockfd = -1;
	snprintf(d->path, sizeof(d->path), "%s", path);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return dd_fail(err, len, "data directory %s: cannot create it: %s", path,
			       strerror(errno));
	d->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dirfd < 0)
		return dd_fail(err, len, "data directory %s: %s", path, strerror(errno));
	d->lockfd = openat(d->dirfd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (d->lockfd < 0)
		goto io_fail;
	if (flock(d->lockfd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		n = pread(d->lockfd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		tr_dd_close(d);
		if (e == EWOULDBLOCK)
			return dd_fail(err, len, "data directory %s is in use by another process "
				       "(pid %s): one process per directory", path,
				       pid[0] != 0 ? pid : "unknown");
		return dd_fail(err, len, "data directory %s: cannot lock it: %s", path,
			       strerror(e));
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(d->lockfd, 0) != 0 || pwrite(d->lockfd, pid, (size_t)n, 0) != n)
		goto io_fail;
	drop_snap_tmp(d->dirfd); /* ours now: no writer of another process */
	got[0] = super_read(d->dirfd, "super.0", &s[0]);
	got[1] = super_read(d->dirfd, "super.1", &s[1]);
	if (got[0] <= 0 && got[1] <= 0) {
		if (got[0] < 0 || got[1] < 0 || has_state(d->dirfd)) {
			tr_dd_close(d);
			return dd_fail(err, len, "data directory %s: both superblock copies are "
				       "damaged or missing, but it holds a log: refusing it (move "
				       "it away to start this replica as a new one)", path);
		}
		d->fresh = true;
		d->sb = (struct tr_dd_super){.cluster_id = cluster_id, .replica = replica};
		/* Both copies, so that either one always exists. */
		if (tr_dd_super_write(d, 0, 0) != 0 || tr_dd_super_write(d, 0, 0) != 0 ||
		    tr_dd_sync_dir(d->dirfd) != 0)
			goto io_fail;
		return 0;
	}
	d->sb = got[0] > 0 && (got[1] <= 0 || s[0].seq > s[1].seq) ? s[0] : s[1];
	if (d->sb.cluster_id != cluster_id || d->sb.replica != replica) {
		struct tr_dd_super sb = d->sb;

		tr_dd_close(d);
		if (sb.cluster_id != cluster_id)
			return dd_fail(err, len, "data directory %s belongs to cluster %" PRIu32
				       " (0x%" PRIx32 "), this replica is of cluster %" PRIu32
				       " (0x%" PRIx32 "): refusing it", path, sb.cluster_id,
				       sb.cluster_id, cluster_id, cluster_id);
		return dd_fail(err, len, "data directory %s belongs to replica %" PRIu32
			       ", this is replica %" PRIu32 ": refusing it", path, sb.replica,
			       replica);
	}
	return 0;

io_fail:
	{
		int e = errno;

		tr_dd_close(d);
		return dd_fail(err, len, "data directory %s: %s", path, strerror(e));
	}
}

void
tr_dd_close(struct tr_datadir *d)
{
	if (d->lockfd >= 0)
		close(d->lockfd); /* the lock goes with it */
	if (d->dirfd >= 0)
		close(d->dirfd);
	d->lockfd = d->dirfd = -1;
}

/* Snapshots. */
/* "snap-<seq>" followed by suffix ("" for a snapshot, ".tmp" for one being
 * written). */
static bool
snap_name(const char *name, const char *suffix, uint64_t *seq)
{
	char *end;

	if (strncmp(name, "snap-", 5) != 0 || name[5] < '0' || name[5] > '9')
		return false;
	*seq = strtoull(name + 5, &end, 10);
	return strcmp(end, suffix) == 0;
}

/* The temporary files of snapshot writes that never reached their rename
 * (a crash, a full disk): nothing reads them, and they hold disk space. */
static void
drop_snap_tmp(int dirfd)
{
	DIR *dir = dir_stream(dirfd);
	struct dirent *e;
	uint64_t seq;

	if (dir == NULL)
		return;
	while ((e = readdir(dir)) != NULL)
		if (snap_name(e->d_name, ".tmp", &seq))
			unlinkat(dirfd, e->d_name, 0);
	closedir(dir);
}

unsigned
tr_dd_snap_list(int dirfd, uint64_t *seqs, unsigned max)
{
	DIR *dir = dir_stream(dirfd);
	struct dirent *e;
	unsigned n = 0;

	if (dir == NULL)
		return 0;
	while ((e = readdir(dir)) != NULL) {
		uint64_t seq;
		unsigned i;

		if (!snap_name(e->d_name, "", &seq))
			continue;
		/* Insertion, newest first; the max newest are kept. */
		for (i = n < max ? n : max; i > 0 && seqs[i - 1] < seq; i--)
			if (i < max)
				seqs[i] = seqs[i - 1];
		if (i < max)
			seqs[i] = seq;
		n++;
	}
	closedir(dir);
	return n;
}

int
tr_dd_snap_write(int dirfd, uint64_t seq, const uint8_t *buf, size_t len)
{
	char name[40], tmp[48];
	uint64_t seqs[16];
	unsigned n;
	size_t off = 0;
	int fd, e = 0;

	/* A name of its own: two writers (a disk snapshot, one received) may
	 * overlap. */
	snprintf(tmp, sizeof(tmp), "snap-%012" PRIu64 ".tmp", seq);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	while (off < len && e == 0) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w <= 0)
			e = w < 0 ? errno : EIO;
		else
			off += (size_t)w;
	}
	if (e == 0 && fdatasync(fd) != 0)
		e = errno;
	close(fd);
	snprintf(name, sizeof(name), "snap-%012" PRIu64, seq);
	if (e == 0 && renameat(dirfd, tmp, dirfd, name) != 0)
		e = errno;
	if (e != 0) {
		unlinkat(dirfd, tmp, 0); /* a partial file only holds space */
		errno = e;
		return -1;
	}
	if (tr_dd_sync_dir(dirfd) != 0)
		return -1;
	n = tr_dd_snap_list(dirfd, seqs, 16);
	for (unsigned i = 0; i < n && i < 16; i++) {
		if (seqs[i] >= seq)
			continue;
		snprintf(name, sizeof(name), "snap-%012" PRIu64, seqs[i]);
		unlinkat(dirfd, name, 0);
	}
	return 0;
}

uint8_t *
tr_dd_snap_read(int dirfd, uint64_t seq, size_t *len)
{
	char name[40];
	struct stat st;
	uint8_t *buf;
	size_t off = 0;
	int fd;

	snprintf(name, sizeof(name), "snap-%012" PRIu64, seq);
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || st.st_size <= 0 || (buf = malloc((size_t)st.st_size)) == NULL) {
		close(fd);
		return NULL;
	}
	while (off < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + off, (size_t)st.st_size - off);

		if (r <= 0) {
			free(buf);
			close(fd);
			return NULL;
		}
		off += (size_t)r;
	}
	close(fd);
	*len = off;
	return buf;
}

int
tr_dd_set_aside(struct tr_datadir *d, char *name, size_t name_len)
{
	int fd, aside;
	DIR *dir;
	struct dirent *e;
	int rc = 0;

	for (unsigned i = 1;; i++) {
		snprintf(name, name_len, "damaged-%u", i);
		if (mkdirat(d->dirfd, name, 0755) == 0)
			break;
		if (errno != EEXIST || i > 100000)
			return -1;
	}
	aside = openat(d->dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = dup(d->dirfd);
	dir = fd < 0 ? NULL : fdopendir(fd);
	if (aside < 0 || dir == NULL) {
		if (aside >= 0)
			close(aside);
		if (dir == NULL && fd >= 0)
			close(fd);
		return -1;
	}
	/* Renaming while reading may skip entries: again until none is left. */
	for (unsigned moved = 1; moved > 0 && rc == 0;) {
		moved = 0;
		rewinddir(dir); /* a dup shares the offset of dirfd's stream */
		while ((e = readdir(dir)) != NULL) {
			if (strncmp(e->d_name, "wal-", 4) != 0 && strncmp(e->d_name, "snap-", 5) != 0)
				continue;
			if (renameat(d->dirfd, e->d_name, aside, e->d_name) != 0)
				rc = -1;
			moved++;
		}
	}
	closedir(dir);
	if (fsync(aside) != 0 || tr_dd_sync_dir(d->dirfd) != 0)
		rc = -1;
	close(aside);
	return rc;
}
