/* SPDX-License-Identifier: MIT
 * Trireme runtime: snapshots (snapshot.h), PROTOCOL §12 T1 and T3.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "le.h"
#include "snapshot.h"
#include "thread.h"
#include "wire.h"

/* Snapshot work yields to the polling lcores (T3: the survivors keep their
 * share of the CPU), without starving behind them. */
static void
thread_background(void)
{
	tr_thread_anywhere();
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
}

int
tr_snap_buf_put(struct tr_snap_buf *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap < 4096 ? 4096 : b->cap;
		uint8_t *p;

		while (cap < b->len + len)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	if (data == NULL)
		memset(b->p + b->len, 0, len);
	else if (len > 0)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

void
tr_snap_buf_free(struct tr_snap_buf *b)
{
	free(b->p);
	*b = (struct tr_snap_buf){0};
}

void
tr_snap_hdr_encode(uint8_t *buf, const struct tr_snap_hdr *h)
{
	memset(buf, 0, TR_SNAP_HDR_BYTES);
	put_le32(buf, TR_SNAP_MAGIC);
	put_le32(buf + 4, TR_SNAP_VERSION);
	put_le32(buf + 8, TR_SNAP_HDR_BYTES);
	put_le32(buf + 12, h->cluster_id);
	put_le32(buf + 16, h->source);
	put_le32(buf + 20, h->clients_bytes);
	for (unsigned c = 0; c < TR_COLUMNS; c++) {
		put_le64(buf + 24 + 8 * c, h->point.applied[c]);
		put_le64(buf + 48 + 8 * c, h->point.known[c]);
		put_le64(buf + 72 + 8 * c, h->start[c]);
	}
	put_le64(buf + 96, h->applied_cmds);
	put_le64(buf + 104, h->pairs);
	put_le64(buf + 112, h->pairs_bytes);
	put_le64(buf + 120, h->instances);
	put_le64(buf + 128, h->instances_bytes);
	put_le64(buf + 136, h->total_bytes);
	put_le32(buf + 144, h->machine);
}

const char *
tr_snap_check(const uint8_t *buf, size_t len, uint32_t cluster_id, struct tr_snap_hdr *h)
{
	uint64_t body;

	if (len < TR_SNAP_HDR_BYTES + 4 || ld_u32(buf) != TR_SNAP_MAGIC)
		return "not a snapshot (magic)";
	if (ld_u32(buf + 4) != TR_SNAP_VERSION || ld_u32(buf + 8) != TR_SNAP_HDR_BYTES)
		return "unknown snapshot version";
	h->cluster_id = ld_u32(buf + 12);
	h->source = ld_u32(buf + 16);
	h->clients_bytes = ld_u32(buf + 20);
	for (unsigned c = 0; c < TR_COLUMNS; c++) {
		h->point.applied[c] = ld_u64(buf + 24 + 8 * c);
		h->point.known[c] = ld_u64(buf + 48 + 8 * c);
		h->start[c] = ld_u64(buf + 72 + 8 * c);
	}
	h->applied_cmds = ld_u64(buf + 96);
	h->pairs = ld_u64(buf + 104);
	h->pairs_bytes = ld_u64(buf + 112);
	h->instances = ld_u64(buf + 120);
	h->instances_bytes = ld_u64(buf + 128);
	h->total_bytes = ld_u64(buf + 136);
	h->machine = ld_u32(buf + 144);
	if (h->machine > TR_SNAP_MACHINE_USER)
		return "snapshot of an unknown state machine";
	if (h->cluster_id != cluster_id)
		return "snapshot of another cluster";
	if (h->total_bytes != len)
		return "snapshot length differs from its header";
	body = (uint64_t)h->clients_bytes + h->pairs_bytes + h->instances_bytes;
	if (h->pairs_bytes > len || h->instances_bytes > len ||
	    TR_SNAP_HDR_BYTES + body + 4 != len)
		return "snapshot sections do not add up";
	if (tr_crc32c(0, buf, len - 4) != ld_u32(buf + len - 4))
		return "snapshot CRC mismatch";
	return NULL;
}

const char *
tr_snap_load_into(const uint8_t *buf, const struct tr_snap_hdr *h, struct tr_sm *sm)
{
	const uint8_t *p = buf + TR_SNAP_HDR_BYTES;
	const uint8_t *end;

	if ((h->machine == TR_SNAP_MACHINE_USER) != (sm->machine == &tr_usm_machine))
		return h->machine == TR_SNAP_MACHINE_USER ? "snapshot of an embedder's state machine"
							    : "snapshot of the built-in KV";
	if (tr_sm_clients_decode(sm, p, h->clients_bytes) != 0)
		return "bad client table";
	p += h->clients_bytes;
	end = p + h->pairs_bytes;
	if (h->machine == TR_SNAP_MACHINE_USER) {
		struct tr_usm *u = sm->machine_ctx;

		if (h->pairs != 0 || u->ops->restore(u->m, p, h->pairs_bytes) != 0)
			return "the state machine refused its snapshot";
		sm->digest = sm->machine->digest(sm);
		p = end;
	}
	for (uint64_t i = 0; i < h->pairs; i++) {
		uint16_t kl;
		uint32_t vl;
		uint64_t old, pair;

		if ((size_t)(end - p) < TR_SNAP_PAIR_HDR)
			return "pairs truncated";
		kl = ld_u16(p);
		vl = ld_u32(p + 2);
		p += TR_SNAP_PAIR_HDR;
		if ((size_t)(end - p) < (size_t)kl + vl)
			return "pair truncated";
		pair = tr_kv_pair_hash(p, kl, p + kl, vl);
		if (sm->ops->set(sm->store, p, kl, tr_kv_key_hash(p, kl), p + kl, vl, pair,
				 &old) != 0)
			return "the store is full";
		sm->digest += pair - old;
		p += kl + vl;
	}
	if (p != end)
		return "pair bytes left over";
	end = p + h->instances_bytes;
	for (uint64_t i = 0; i < h->instances; i++) {
		uint16_t count;
		uint32_t cmds_len;
		size_t off = 0;

		if ((size_t)(end - p) < TR_SNAP_INST_HDR)
			return "instances truncated";
		count = ld_u16(p + 9);
		cmds_len = ld_u32(p + 11);
		p += TR_SNAP_INST_HDR;
		if ((size_t)(end - p) < cmds_len)
			return "instance truncated";
		for (uint16_t k = 0; k < count; k++) {
			struct tr_cmd cmd;
			struct tr_sm_result res;

			if (tr_cmd_decode(p, cmds_len, &off, &cmd) != 0)
				return "bad command in an instance";
			tr_sm_apply(sm, &cmd, &res);
		}
		if (off != cmds_len)
			return "instance bytes left over";
		p += cmds_len;
	}
	if (p != end)
		return "instance bytes left over";
	sm->applied_cmds = h->applied_cmds;
	return NULL;
}

/* Production. */
enum { JOB_RUNNING = 0, JOB_READY = 1, JOB_FAILED = -1 };

struct tr_snap_job {
	_Atomic int refs;
	_Atomic int result;     /* JOB_* */
	_Atomic bool started;   /* the thread is online: the store is safe from here */
	_Atomic bool copied;    /* the pairs are in out */
	_Atomic bool closed;    /* the applier gave F_end and the log */
	_Atomic bool abandon;
	_Atomic int *threads;
	struct tr_kvstore *kvs;
	struct tr_snap_hdr hdr;
	struct tr_snap_buf out; /* header, clients, pairs (thread), then the rest */
	struct tr_snap_buf log; /* instances (applier) */
	bool log_failed;
	bool copy_failed;
	pthread_t th;
};

struct tr_snap_job *
tr_snap_job_new(uint32_t cluster_id, uint8_t source, _Atomic int *threads)
{
	struct tr_snap_job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	atomic_init(&j->refs, 2);
	j->threads = threads;
	j->hdr.cluster_id = cluster_id;
	j->hdr.source = source;
	return j;
}

static void
job_free(struct tr_snap_job *j)
{
	tr_snap_buf_free(&j->out);
	tr_snap_buf_free(&j->log);
	free(j);
}

void
tr_snap_put(struct tr_snap_job *j)
{
	if (j == NULL)
		return;
	atomic_store(&j->abandon, true);
	if (atomic_fetch_sub(&j->refs, 1) == 1)
		job_free(j);
}

static int
copy_pair(void *ctx, const uint8_t *key, uint16_t key_len, const uint8_t *val,
	  uint32_t val_len)
{
	struct tr_snap_job *j = ctx;
	uint8_t h[TR_SNAP_PAIR_HDR];

	h[0] = (uint8_t)key_len;
	h[1] = (uint8_t)(key_len >> 8);
	put_le32(h + 2, val_len);
	if (tr_snap_buf_put(&j->out, h, sizeof(h)) != 0 ||
	    tr_snap_buf_put(&j->out, key, key_len) != 0 ||
	    tr_snap_buf_put(&j->out, val, val_len) != 0)
		return -1;
	j->hdr.pairs++;
	j->hdr.pairs_bytes += TR_SNAP_PAIR_HDR + key_len + val_len;
	return atomic_load_explicit(&j->abandon, memory_order_relaxed) ? -1 : 0;
}

static void *
job_main(void *arg)
{
	struct tr_snap_job *j = arg;
	struct timespec nap = {0, 100000};
	uint8_t crc[4] = {0};

	thread_background();
	urcu_qsbr_register_thread();
	atomic_store(&j->started, true);
	/* T3: the fuzzy copy, while the applier goes on (the embedder's
	 * machine: its bytes are in out already). */
	if (j->kvs != NULL)
		j->copy_failed = tr_kvstore_foreach(j->kvs, copy_pair, j) != 0;
	urcu_qsbr_unregister_thread();
	atomic_store(&j->copied, true);
	while (!atomic_load(&j->closed) && !atomic_load(&j->abandon))
		nanosleep(&nap, NULL);
	if (atomic_load(&j->closed) && !j->copy_failed && !j->log_failed &&
	    tr_snap_buf_put(&j->out, j->log.p, j->log.len) == 0 &&
	    tr_snap_buf_put(&j->out, crc, sizeof(crc)) == 0) {
		tr_snap_buf_free(&j->log);
		j->hdr.total_bytes = j->out.len;
		tr_snap_hdr_encode(j->out.p, &j->hdr);
		put_le32(j->out.p + j->out.len - 4, tr_crc32c(0, j->out.p, j->out.len - 4));
		atomic_store(&j->result, JOB_READY);
	} else {
		atomic_store(&j->result, JOB_FAILED);
	}
	atomic_fetch_sub(j->threads, 1);
	if (atomic_fetch_sub(&j->refs, 1) == 1)
		job_free(j);
	return NULL;
}

static int
usm_write(void *ctx, const void *buf, size_t len)
{
	return tr_snap_buf_put(ctx, buf, len);
}

int
tr_snap_begin(struct tr_snap_job *j, const struct tr_sm *sm, const struct tr_snap_point *start)
{
	uint8_t hdr[TR_SNAP_HDR_BYTES] = {0};
	size_t cb = tr_sm_clients_bytes(sm);

	memcpy(j->hdr.start, start->applied, sizeof(j->hdr.start));
	j->kvs = sm->machine == &tr_usm_machine ? NULL : sm->store;
	if (tr_snap_buf_put(&j->out, hdr, sizeof(hdr)) != 0 ||
	    tr_snap_buf_put(&j->out, NULL, cb) != 0) {
		atomic_store(&j->result, JOB_FAILED);
		return -1;
	}
	/* The client table of F_start: small, copied now. */
	j->hdr.clients_bytes = (uint32_t)tr_sm_clients_encode(sm, j->out.p + TR_SNAP_HDR_BYTES, cb);
	if (j->kvs == NULL) { /* the embedder's machine: its bytes of F_start, now */
		const struct tr_usm *u = sm->machine_ctx;
		size_t before = j->out.len;

		j->hdr.machine = TR_SNAP_MACHINE_USER;
		if (u->ops->snapshot(u->m, usm_write, &j->out) != 0) {
			atomic_store(&j->result, JOB_FAILED);
			return -1;
		}
		j->hdr.pairs_bytes = j->out.len - before;
	}
	atomic_fetch_add(&j->refs, 1);
	atomic_fetch_add(j->threads, 1);
	if (pthread_create(&j->th, NULL, job_main, j) != 0) {
		atomic_fetch_sub(&j->refs, 1);
		atomic_fetch_sub(j->threads, 1);
		atomic_store(&j->result, JOB_FAILED);
		return -1;
	}
	pthread_detach(j->th);
	/* The store may be replaced once the applier goes on: the thread
	 * must be a reader before then. */
	while (!atomic_load(&j->started))
		;
	return 0;
}

void
tr_snap_log(struct tr_snap_job *j, unsigned column, uint64_t lsn, const struct tr_value *v)
{
	uint8_t h[TR_SNAP_INST_HDR];

	h[0] = (uint8_t)column;
	put_le64(h + 1, lsn);
	h[9] = (uint8_t)v->cmd_count;
	h[10] = (uint8_t)(v->cmd_count >> 8);
	put_le32(h + 11, v->cmds_len);
	if (tr_snap_buf_put(&j->log, h, sizeof(h)) != 0 ||
	    tr_snap_buf_put(&j->log, v->cmds, v->cmds_len) != 0) {
		j->log_failed = true;
		return;
	}
	j->hdr.instances++;
	j->hdr.instances_bytes += TR_SNAP_INST_HDR + v->cmds_len;
}

bool
tr_snap_copied(const struct tr_snap_job *j)
{
	return atomic_load(&((struct tr_snap_job *)j)->copied);
}

void
tr_snap_close(struct tr_snap_job *j, const struct tr_snap_point *end, uint64_t applied_cmds)
{
	j->hdr.point = *end;
	j->hdr.applied_cmds = applied_cmds;
	atomic_store(&j->closed, true);
	if (atomic_fetch_sub(&j->refs, 1) == 1)
		job_free(j);
}

const uint8_t *
tr_snap_ready(struct tr_snap_job *j, size_t *len, bool *failed)
{
	int r = atomic_load(&j->result);

	*failed = r == JOB_FAILED;
	if (r != JOB_READY)
		return NULL;
	*len = j->out.len;
	return j->out.p;
}

/* Loading. */
static void
load_put(struct tr_snap_load *l)
{
	if (atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	free(l->buf);
	tr_snap_store_retire(l->kv, l->threads); /* never published, but off this thread */
	tr_usm_free(l->usm);
	free(l->recs);
	tr_stages_free(l->stages, l->stages_max);
	free(l);
}

static void *
load_main(void *arg)
{
	struct tr_snap_load *l = arg;
	const char *why;

	thread_background();
	why = tr_snap_check(l->buf, l->len, l->cluster_id, &l->hdr);
	if (why == NULL) {
		l->recs = calloc(l->recs_max, sizeof(*l->recs));
		if (l->usm_spec.ops != NULL)
			l->usm = tr_usm_new(&l->usm_spec);
		else
			l->kv = tr_kvstore_new(1024, l->keys_max);
		if ((l->kv == NULL && l->usm == NULL) || l->recs == NULL)
			why = "out of memory";
	}
	if (why == NULL) {
		if (l->usm != NULL)
			tr_sm_init_machine(&l->sm, &tr_usm_machine, l->usm, l->recs, l->recs_max);
		else
			tr_sm_init(&l->sm, &tr_kvstore_ops, l->kv, l->recs, l->recs_max);
		l->stages = tr_stages_new(&l->sm, l->stages_max);
		if (l->stages == NULL && l->stages_max > 0)
			why = "out of memory";
	}
	if (why == NULL) {
		urcu_qsbr_register_thread();
		why = tr_snap_load_into(l->buf, &l->hdr, &l->sm);
		urcu_qsbr_unregister_thread();
	}
	free(l->buf);
	l->buf = NULL;
	l->why = why;
	atomic_store(&l->state, why == NULL ? 1 : -1);
	atomic_fetch_sub(l->threads, 1);
	load_put(l);
	return NULL;
}

struct tr_snap_load *
tr_snap_load_start(uint8_t *buf, size_t len, uint32_t cluster_id, uint64_t keys_max,
		   const struct tr_usm_spec *usm, uint32_t recs_max, uint32_t stages_max,
		   _Atomic int *threads)
{
	struct tr_snap_load *l = calloc(1, sizeof(*l));
	pthread_t th;

	if (l == NULL) {
		free(buf);
		return NULL;
	}
	l->buf = buf;
	l->len = len;
	l->cluster_id = cluster_id;
	l->keys_max = keys_max;
	if (usm != NULL)
		l->usm_spec = *usm;
	l->recs_max = recs_max;
	l->stages_max = stages_max;
	l->threads = threads;
	atomic_init(&l->refs, 2);
	atomic_fetch_add(threads, 1);
	if (pthread_create(&th, NULL, load_main, l) != 0) {
		atomic_fetch_sub(threads, 1);
		l->why = "no thread";
		atomic_store(&l->state, -1);
		atomic_store(&l->refs, 1);
		return l;
	}
	pthread_detach(th);
	return l;
}

void
tr_snap_load_put(struct tr_snap_load *l)
{
	if (l != NULL)
		load_put(l);
}

void *
tr_stages_new(struct tr_sm *sm, uint32_t stages_max)
{
	size_t bytes = tr_sm_stages_mem_bytes(stages_max, TR_LARGE_BYTES_MAX);
	void *mem;

	if (stages_max == 0)
		return NULL;
	mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (mem == MAP_FAILED)
		return NULL;
	/* init writes the slots' headers only: the rest stays unmapped until a
	 * large command is staged (and after a snapshot's decode alike) */
	tr_sm_stages_init(sm, mem, stages_max, TR_LARGE_BYTES_MAX);
	return mem;
}

void
tr_stages_free(void *mem, uint32_t stages_max)
{
	if (mem != NULL)
		munmap(mem, tr_sm_stages_mem_bytes(stages_max, TR_LARGE_BYTES_MAX));
}

struct retire {
	struct tr_kvstore *kvs;
	_Atomic int *threads;
};

static void *
retire_main(void *arg)
{
	struct retire *x = arg;

	thread_background();
	urcu_qsbr_synchronize_rcu(); /* no reader holds the old store now */
	tr_kvstore_free(x->kvs);
	atomic_fetch_sub(x->threads, 1);
	free(x);
	return NULL;
}

void
tr_snap_store_retire(struct tr_kvstore *kvs, _Atomic int *threads)
{
	struct retire *x;
	pthread_t th;

	if (kvs == NULL)
		return;
	x = malloc(sizeof(*x));
	if (x != NULL) {
		*x = (struct retire){.kvs = kvs, .threads = threads};
		atomic_fetch_add(threads, 1);
		if (pthread_create(&th, NULL, retire_main, x) == 0) {
			pthread_detach(th);
			return;
		}
		atomic_fetch_sub(threads, 1);
		free(x);
	}
	/* No thread: leak rather than free under a reader. */
}
