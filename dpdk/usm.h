/* SPDX-License-Identifier: MIT
 * Trireme runtime: the embedder's state machine (trireme_sm.h) behind the
 * engine's seam (struct tr_machine, engine/kv.h): tr_sm decides
 * exactly-once, this adapter hands the fresh commands to the embedder's
 * apply in batches and its reads to read.
 */
#ifndef TR_USM_H
#define TR_USM_H

#include "kv.h"
#include "trireme_sm.h"

struct tr_usm {
	const struct trireme_sm_ops *ops;
	void *m;                                  /* the embedder's instance */
	struct trireme_sm_cmd cmds[TR_SM_BATCH_MAX];
	struct trireme_sm_result res[TR_SM_BATCH_MAX];
};

/* What to create: trireme_start_sm's sm and sm_arg, and the replica. */
struct tr_usm_spec {
	const struct trireme_sm_ops *ops;
	void *arg;
	unsigned replica;
};

/* The machine for tr_sm_init_machine; ctx: the struct tr_usm. */
extern const struct tr_machine tr_usm_machine;

/* NULL when the ops lack a callback (only digest is optional). */
const char *tr_usm_ops_check(const struct trireme_sm_ops *ops);
/* A new instance (create), or NULL. */
struct tr_usm *tr_usm_new(const struct tr_usm_spec *spec);
/* destroy, then the adapter; NULL is a no-op. */
void tr_usm_free(struct tr_usm *u);

#endif
