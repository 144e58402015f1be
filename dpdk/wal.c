/* SPDX-License-Identifier: MIT
 * Trireme runtime: one column's write-ahead log (wal.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "datadir.h"
#include "le.h"
#include "mono.h"
#include "thread.h"
#include "wal.h"
#include "wire.h"

#define SEG_MAGIC 0x4c575254u /* "TRWL" */
#define SEG_VERSION 1u
#define WAL_BUF_BYTES (256u << 10)

static void
seg_name(char *name, size_t len, unsigned column, uint64_t seq)
{
	snprintf(name, len, "wal-%u-%012" PRIu64, column, seq);
}

static void
seg_hdr_encode(uint8_t *p, const struct tr_wal *w)
{
	memset(p, 0, TR_WAL_SEG_HDR);
	put_le32(p, SEG_MAGIC);
	put_le32(p + 4, SEG_VERSION);
	put_le32(p + 8, w->cluster_id);
	put_le32(p + 12, w->replica);
	put_le32(p + 16, w->column);
	put_le64(p + 24, w->seq);
	put_le32(p + 60, tr_crc32c(0, p, 60));
}

/* Replay. */

/* The segment numbers of column, ascending (malloc'd), or -1. */
static int
list_segments(int dirfd, unsigned column, uint64_t **out, unsigned *count)
{
	int fd = dup(dirfd);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;
	uint64_t *seqs = NULL;
	unsigned n = 0, cap = 0;
	char prefix[16];
	size_t plen;

	if (dir == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(dir); /* a dup shares the offset of dirfd's stream */
	plen = (size_t)snprintf(prefix, sizeof(prefix), "wal-%u-", column);
	while ((e = readdir(dir)) != NULL) {
		char *end;
		uint64_t seq;
		unsigned i;

		if (strncmp(e->d_name, prefix, plen) != 0 || e->d_name[plen] < '0' ||
		    e->d_name[plen] > '9')
			continue;
		seq = strtoull(e->d_name + plen, &end, 10);
		if (*end != 0)
			continue;
		if (n == cap) {
			uint64_t *p = realloc(seqs, (cap = cap ? 2 * cap : 16) * sizeof(*seqs));

			if (p == NULL) {
				free(seqs);
				closedir(dir);
				return -1;
			}
			seqs = p;
		}
		for (i = n++; i > 0 && seqs[i - 1] > seq; i--)
			seqs[i] = seqs[i - 1];
		seqs[i] = seq;
	}
	closedir(dir);
	*out = seqs;
	*count = n;
	return 0;
}

/* S3: true when a valid record starts anywhere in p[from, end). */
static bool
valid_after(const uint8_t *p, size_t from, size_t end)
{
	struct tr_durable_rec rec;
	size_t used;

	for (size_t o = from; o + TR_DURABLE_HDR_BYTES <= end; o++)
		if (tr_durable_decode(p + o, end - o, &rec, &used) == TR_DURABLE_OK)
			return true;
	return false;
}

/* One past the last nonzero byte of p[from, len). */
static size_t
nonzero_end(const uint8_t *p, size_t from, size_t len)
{
	while (len > from && p[len - 1] == 0)
		len--;
	return len;
}

static int
damage(struct tr_wal_replay *out, const char *fmt, unsigned column, uint64_t seq, uint64_t off)
{
	out->damaged = true;
	snprintf(out->why, sizeof(out->why), fmt, column, seq, off);
	return 0;
}

/* One segment; *stop when the replay ends here (damage). */
static int
replay_segment(int dirfd, unsigned column, uint32_t cluster_id, uint32_t replica, uint64_t seq,
	       bool newest, tr_wal_rec_fn *fn, void *ctx, struct tr_wal_replay *out,
	       struct tr_wal_seg *seg)
{
	char name[48];
	struct stat st;
	uint8_t *p;
	size_t len, off = TR_WAL_SEG_HDR, tail, end;
	int fd, rc = 0;

	seg_name(name, sizeof(name), column, seq);
	fd = openat(dirfd, name, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	len = (size_t)st.st_size;
	*seg = (struct tr_wal_seg){.seq = seq};
	if (len < TR_WAL_SEG_HDR) {
		close(fd);
		if (newest && len == 0)
			return 0; /* created, never written: nothing was synced in it */
		return damage(out, "column %u segment %" PRIu64 ": %" PRIu64
			      " bytes, shorter than its header", column, seq, len);
	}
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return -1;
	}
	if (ld_u32(p) != SEG_MAGIC || ld_u32(p + 4) != SEG_VERSION ||
	    ld_u32(p + 60) != tr_crc32c(0, p, 60)) {
		/* A header never synced (newest, all zero) is a torn tail. */
		if (!(newest && nonzero_end(p, 0, len) == 0))
			damage(out, "column %u segment %" PRIu64 ": bad header (offset %" PRIu64 ")",
			       column, seq, 0);
		goto out;
	}
	if (ld_u32(p + 8) != cluster_id || ld_u32(p + 12) != replica ||
	    ld_u32(p + 16) != column || ld_u64(p + 24) != seq) {
		damage(out, "column %u segment %" PRIu64 ": header of another log (offset %"
		       PRIu64 ")", column, seq, 0);
		goto out;
	}
	for (;;) {
		struct tr_durable_rec rec;
		size_t used;
		int d = tr_durable_decode(p + off, len - off, &rec, &used);

		if (d == TR_DURABLE_OK) {
			if (rec.column != column) {
				damage(out, "column %u segment %" PRIu64 ": a record of another "
				       "column at offset %" PRIu64, column, seq, off);
				goto out;
			}
			if (fn != NULL && fn(ctx, &rec) != 0) {
				damage(out, "column %u segment %" PRIu64 ": the engine refused the "
				       "record at offset %" PRIu64, column, seq, off);
				goto out;
			}
			if (rec.kind == TR_DURABLE_SLOT) {
				seg->has_slot = true;
				if (rec.lsn > seg->max_lsn)
					seg->max_lsn = rec.lsn;
			}
			out->records++;
			off += used;
			continue;
		}
		end = nonzero_end(p, off, len);
		if (d == TR_DURABLE_END && end <= off)
			break; /* the clean end: zeros to the end of the segment */
		/* Something fails at off. */
		tail = off;
		if (!newest || valid_after(p, tail + 1, end)) {
			damage(out, "column %u segment %" PRIu64 ": a record fails its checksum "
			       "at offset %" PRIu64 " with valid records after it", column, seq,
			       tail);
			goto out;
		}
		/* S3: the torn tail of the last write, never synced: zeroed. */
		out->torn_bytes += end - tail;
		{
			static const uint8_t zeros[4096];

			for (size_t o = tail; o < end;) {
				size_t n = end - o < sizeof(zeros) ? end - o : sizeof(zeros);

				if (pwrite(fd, zeros, n, (off_t)o) != (ssize_t)n) {
					rc = -1;
					goto out;
				}
				o += n;
			}
			if (fdatasync(fd) != 0)
				rc = -1;
		}
		break;
	}
out:
	munmap(p, len);
	close(fd);
	return rc;
}

int
tr_wal_replay(int dirfd, unsigned column, uint32_t cluster_id, uint32_t replica,
	      tr_wal_rec_fn *fn, void *ctx, struct tr_wal_replay *out)
{
	uint64_t *seqs;
	unsigned n;

	memset(out, 0, sizeof(*out));
	out->next_seq = 1;
	if (list_segments(dirfd, column, &seqs, &n) != 0)
		return -1;
	out->segs = calloc(n > 0 ? n : 1, sizeof(*out->segs));
	if (out->segs == NULL) {
		free(seqs);
		return -1;
	}
	for (unsigned i = 0; i < n && !out->damaged; i++) {
		if (i > 0 && seqs[i] != seqs[i - 1] + 1) {
			damage(out, "column %u: segment %" PRIu64 " missing (offset %" PRIu64 ")",
			       column, seqs[i - 1] + 1, 0);
			break;
		}
		if (replay_segment(dirfd, column, cluster_id, replica, seqs[i], i + 1 == n, fn,
				   ctx, out, &out->segs[out->nsegs]) != 0) {
			free(seqs);
			return -1;
		}
		out->nsegs++;
	}
	if (n > 0)
		out->next_seq = seqs[n - 1] + 1;
	free(seqs);
	return 0;
}

void
tr_wal_replay_free(struct tr_wal_replay *r)
{
	free(r->segs);
	r->segs = NULL;
	r->nsegs = 0;
}

/* The writer. */

/* The syncer: a thread per log, started once fdatasyncs are slow, that
 * runs the fdatasyncs tr_wal_sync_post asks for while the worker goes on.
 * Generations: req (asked), started (being synced), done (durable), all
 * under mu; done is also atomic for the worker's look without the lock. */
struct tr_wal_syncer {
	pthread_mutex_t mu;
	pthread_cond_t work, idle;
	pthread_t th;
	bool running, busy, stop;
	int fd;                  /* the segment asked for */
	int err;                 /* an fdatasync's errno: the log failed */
	uint64_t req, req_tag, req_records;
	uint64_t started, done_tag;
	bool tagged;             /* req_tag was given (else done_tag stays) */
	_Atomic uint64_t done;
	/* The fastest fdatasync of the last full window of 8, and the window
	 * being filled: a disk is slow when even its fastest sync is, not for
	 * one sync preempted on a busy CPU. */
	uint64_t floor_ns, win_min;
	unsigned win_n;
};

static int
wal_fail(struct tr_wal *w)
{
	if (!w->failed)
		w->err = errno;
	w->failed = true;
	return -1;
}

/* A new segment: preallocated (posix_fallocate, measured: bench-wal), its
 * header durable, the directory entry durable. */
static int
seg_open(struct tr_wal *w)
{
	uint8_t hdr[TR_WAL_SEG_HDR];
	char name[48];
	int fd, err;

	seg_name(name, sizeof(name), w->column, w->seq);
	fd = openat(w->dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC |
		    (w->mode == TR_WAL_ODSYNC ? O_DSYNC : 0), 0644);
	if (fd < 0)
		return -1;
	seg_hdr_encode(hdr, w);
	/* posix_fallocate returns its error (ENOSPC on a full disk) and leaves
	 * errno alone; the caller's message reads errno. */
	err = posix_fallocate(fd, 0, (off_t)w->seg_bytes);
	if (err == 0) {
		ssize_t n = pwrite(fd, hdr, sizeof(hdr), 0);

		if (n != (ssize_t)sizeof(hdr))
			err = n < 0 ? errno : EIO;
		else if (w->mode != TR_WAL_NONE &&
			 (fdatasync(fd) != 0 || tr_dd_sync_dir(w->dirfd) != 0))
			err = errno;
	}
	if (err != 0) {
		close(fd);
		unlinkat(w->dirfd, name, 0); /* no empty segment left behind */
		errno = err;
		return -1;
	}
	w->fd = fd;
	w->off = TR_WAL_SEG_HDR;
	w->seg_max_lsn = 0;
	w->seg_has_slot = false;
	w->stats.segments++;
	return 0;
}

static int
closed_push(struct tr_wal *w, const struct tr_wal_seg *s)
{
	if (w->nclosed == w->closed_cap) {
		unsigned cap = w->closed_cap ? 2 * w->closed_cap : 64;
		struct tr_wal_seg *p = realloc(w->closed, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		w->closed = p;
		w->closed_cap = cap;
	}
	w->closed[w->nclosed++] = *s;
	return 0;
}

int
tr_wal_open(struct tr_wal *w, int dirfd, unsigned column, uint32_t cluster_id, uint32_t replica,
	    int mode, uint64_t seg_bytes, const struct tr_wal_replay *from)
{
	memset(w, 0, sizeof(*w));
	w->dirfd = dirfd;
	w->column = column;
	w->cluster_id = cluster_id;
	w->replica = replica;
	w->mode = mode;
	w->seg_bytes = seg_bytes;
	w->fd = -1;
	w->seq = from != NULL ? from->next_seq : 1;
	w->cap = WAL_BUF_BYTES;
	w->buf = malloc(w->cap);
	w->syncer = calloc(1, sizeof(*w->syncer));
	if (w->syncer != NULL) {
		pthread_mutex_init(&w->syncer->mu, NULL);
		pthread_cond_init(&w->syncer->work, NULL);
		pthread_cond_init(&w->syncer->idle, NULL);
	}
	if (w->buf == NULL || w->syncer == NULL)
		return -1;
	for (unsigned i = 0; from != NULL && i < from->nsegs; i++)
		if (closed_push(w, &from->segs[i]) != 0)
			return -1;
	return seg_open(w);
}

/* The buffer into the segment (no sync). */
static int
wal_write(struct tr_wal *w)
{
	size_t done = 0;

	while (done < w->len) {
		ssize_t n = pwrite(w->fd, w->buf + done, w->len - done, (off_t)(w->off + done));

		if (n <= 0)
			return wal_fail(w);
		done += (size_t)n;
	}
	w->off += w->len;
	w->len = 0;
	return 0;
}

/* The sync's stats, under mu (other threads read them relaxed): ns in
 * all, of which sync_ns in the fdatasync (what decides inline or not). */
static void
sync_count(struct tr_wal *w, uint64_t records, uint64_t ns, uint64_t sync_ns)
{
	struct tr_wal_syncer *s = w->syncer;

	__atomic_store_n(&w->stats.syncs, w->stats.syncs + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&w->stats.synced_records, w->stats.synced_records + records,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&w->stats.sync_ns, w->stats.sync_ns + ns, __ATOMIC_RELAXED);
	if (s->win_n == 0 || sync_ns < s->win_min)
		s->win_min = sync_ns;
	if (++s->win_n == 8) {
		s->floor_ns = s->win_min;
		s->win_n = 0;
	}
}

/* fdatasync, after the test's delay (a slow disk). 0, or an errno. */
static int
sync_fd(struct tr_wal *w, int fd)
{
	uint64_t delay = atomic_load_explicit(&w->delay_ns, memory_order_relaxed);

	if (delay > 0) {
		struct timespec ts = {(time_t)(delay / 1000000000u), (long)(delay % 1000000000u)};

		nanosleep(&ts, NULL);
	}
	return fdatasync(fd) == 0 ? 0 : errno;
}

static void *
syncer_main(void *arg)
{
	struct tr_wal *w = arg;
	struct tr_wal_syncer *s = w->syncer;

	tr_thread_anywhere(); /* not on the worker's lcore, which it would wait for */
	pthread_mutex_lock(&s->mu);
	for (;;) {
		uint64_t gen, tag, records, t0;
		bool tagged;
		int fd, err;

		while (!s->stop && s->req == s->started)
			pthread_cond_wait(&s->work, &s->mu);
		if (s->req == s->started)
			break; /* stopped, nothing asked */
		gen = s->started = s->req;
		tag = s->req_tag;
		tagged = s->tagged;
		records = s->req_records;
		s->req_records = 0;
		s->tagged = false;
		fd = s->fd;
		s->busy = true;
		pthread_mutex_unlock(&s->mu);
		t0 = tr_mono_ns();
		err = sync_fd(w, fd);
		pthread_mutex_lock(&s->mu);
		s->busy = false;
		if (err != 0 && s->err == 0)
			s->err = err;
		if (s->err == 0) {
			uint64_t ns = tr_mono_ns() - t0;

			sync_count(w, records, ns, ns);
			if (tagged)
				s->done_tag = tag;
			atomic_store_explicit(&s->done, gen, memory_order_release);
		}
		pthread_cond_broadcast(&s->idle);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Waits until the syncer has nothing asked and nothing running; returns
 * with mu held. */
static void
syncer_quiet(struct tr_wal_syncer *s)
{
	pthread_mutex_lock(&s->mu);
	while (s->busy || s->req != s->started)
		pthread_cond_wait(&s->idle, &s->mu);
}

/* The syncer's error, if it had one, is the log's. */
static int
syncer_failed(struct tr_wal *w)
{
	struct tr_wal_syncer *s = w->syncer;
	int err;

	pthread_mutex_lock(&s->mu);
	err = s->err;
	pthread_mutex_unlock(&s->mu);
	if (err == 0)
		return 0;
	errno = err;
	return wal_fail(w);
}

/* A sync done here, the syncer idle (mu held), its write begun at t0: one
 * generation more. */
static uint64_t
sync_inline(struct tr_wal *w, uint64_t t0, uint64_t tag, bool tagged)
{
	struct tr_wal_syncer *s = w->syncer;
	uint64_t t1 = tr_mono_ns(), t2;
	int err = w->mode == TR_WAL_FDATASYNC ? sync_fd(w, w->fd) : 0;

	if (err != 0) {
		s->err = err;
		pthread_mutex_unlock(&s->mu);
		errno = err;
		wal_fail(w);
		return 0;
	}
	t2 = tr_mono_ns();
	sync_count(w, w->unsynced, t2 - t0, t2 - t1);
	s->req = s->started = ++w->posted;
	if (tagged)
		s->done_tag = tag;
	atomic_store_explicit(&s->done, w->posted, memory_order_release);
	pthread_mutex_unlock(&s->mu);
	w->unsynced = 0;
	w->must = 0;
	return w->posted;
}

int
tr_wal_sync(struct tr_wal *w)
{
	uint64_t t0;

	if (w->failed)
		return -1;
	syncer_quiet(w->syncer);
	if (w->syncer->err != 0) {
		pthread_mutex_unlock(&w->syncer->mu);
		return syncer_failed(w);
	}
	if (w->unsynced == 0) {
		pthread_mutex_unlock(&w->syncer->mu);
		return 0;
	}
	t0 = tr_mono_ns();
	if (wal_write(w) != 0) {
		pthread_mutex_unlock(&w->syncer->mu);
		return -1;
	}
	return sync_inline(w, t0, 0, false) != 0 ? 0 : -1;
}

uint64_t
tr_wal_sync_post(struct tr_wal *w, uint64_t tag)
{
	struct tr_wal_syncer *s = w->syncer;
	uint64_t t0 = tr_mono_ns();
	bool slow;

	if (w->failed)
		return 0;
	if (w->unsynced == 0)
		return w->posted;
	if (wal_write(w) != 0)
		return 0;
	pthread_mutex_lock(&s->mu);
	if (s->err != 0) {
		pthread_mutex_unlock(&s->mu);
		syncer_failed(w);
		return 0;
	}
	slow = w->mode == TR_WAL_FDATASYNC && s->floor_ns > TR_WAL_INLINE_NS;
	if (!slow && !s->busy && s->req == s->started)
		return sync_inline(w, t0, tag, true);
	if (!s->running) { /* idle, then: a thread that never ran */
		if (pthread_create(&s->th, NULL, syncer_main, w) != 0)
			return sync_inline(w, t0, tag, true);
		s->running = true;
	}
	if (s->req == s->started) /* else the one not begun takes these too */
		s->req = ++w->posted;
	s->req_tag = tag;
	s->tagged = true;
	s->req_records += w->unsynced;
	s->fd = w->fd;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->mu);
	w->unsynced = 0;
	w->must = 0;
	return w->posted;
}

uint64_t
tr_wal_durable(struct tr_wal *w, uint64_t *tag)
{
	struct tr_wal_syncer *s = w->syncer;
	uint64_t done = atomic_load_explicit(&s->done, memory_order_acquire);

	if (done == w->posted && !w->failed) {
		*tag = s->done_tag; /* the last writer of done_tag is done */
		return done;
	}
	pthread_mutex_lock(&s->mu);
	done = atomic_load_explicit(&s->done, memory_order_relaxed);
	*tag = s->done_tag;
	pthread_mutex_unlock(&s->mu);
	syncer_failed(w);
	return done;
}

/* The segment is full: durable, closed; the next one opens. */
static int
rotate(struct tr_wal *w)
{
	struct tr_wal_seg s = {.seq = w->seq, .max_lsn = w->seg_max_lsn,
			       .has_slot = w->seg_has_slot};

	if (tr_wal_sync(w) != 0)
		return -1;
	if (w->mode == TR_WAL_NONE && fdatasync(w->fd) != 0)
		return wal_fail(w); /* a closed segment is always whole */
	close(w->fd);
	w->fd = -1;
	if (closed_push(w, &s) != 0)
		return wal_fail(w);
	w->seq++;
	return seg_open(w) != 0 ? wal_fail(w) : 0;
}

int
tr_wal_append(struct tr_wal *w, const struct tr_durable_rec *rec)
{
	size_t need = tr_durable_bytes(rec);

	if (w->failed)
		return -1;
	if (w->off + w->len + need > w->seg_bytes && rotate(w) != 0)
		return -1;
	if (w->len + need > w->cap && wal_write(w) != 0)
		return -1;
	if (need > w->cap || tr_durable_encode(w->buf + w->len, w->cap - w->len, rec) != need)
		return wal_fail(w); /* larger than the buffer: cannot happen in a packet */
	w->len += need;
	w->unsynced++;
	w->must += !rec->lazy;
	w->stats.records++;
	w->stats.bytes += need;
	if (rec->kind == TR_DURABLE_SLOT) {
		w->seg_has_slot = true;
		if (rec->lsn > w->seg_max_lsn)
			w->seg_max_lsn = rec->lsn;
	}
	return 0;
}

unsigned
tr_wal_trim(struct tr_wal *w, uint64_t below_seq, uint64_t frontier)
{
	unsigned n = 0;
	char name[48];

	while (n < w->nclosed && w->closed[n].seq < below_seq &&
	       (!w->closed[n].has_slot || w->closed[n].max_lsn < frontier)) {
		seg_name(name, sizeof(name), w->column, w->closed[n].seq);
		if (unlinkat(w->dirfd, name, 0) != 0 && errno != ENOENT)
			break;
		n++;
	}
	if (n == 0)
		return 0;
	memmove(w->closed, w->closed + n, (w->nclosed - n) * sizeof(*w->closed));
	w->nclosed -= n;
	w->stats.trimmed += n;
	tr_dd_sync_dir(w->dirfd);
	return n;
}

void
tr_wal_close(struct tr_wal *w)
{
	struct tr_wal_syncer *s = w->syncer;

	if (s != NULL && s->running) {
		syncer_quiet(s);
		s->stop = true;
		pthread_cond_signal(&s->work);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->th, NULL);
		s->running = false;
	}
	if (w->fd >= 0) {
		if (s != NULL)
			tr_wal_sync(w);
		close(w->fd);
	}
	if (s != NULL) {
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->work);
		pthread_cond_destroy(&s->idle);
	}
	free(s);
	free(w->buf);
	free(w->closed);
	w->syncer = NULL;
	w->fd = -1;
	w->buf = NULL;
	w->closed = NULL;
}
