/* SPDX-License-Identifier: MIT
 * Trireme runtime: the embedder's state machine behind tr_sm (usm.h).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "usm.h"

/* The machine's status (>= 0) and bytes into the engine's result. */
static void
result_in(struct tr_sm_result *res, const struct trireme_sm_result *r)
{
	res->status = TR_ST_OK;
	res->code = r->status < 0 ? (uint32_t)INT_MAX : (uint32_t)r->status;
	res->val = r->val;
	res->val_len = r->val == NULL ? 0 : r->val_len > TRIREME_LARGE_MAX ? TRIREME_LARGE_MAX
									 : r->val_len;
}

static void
usm_apply(struct tr_sm *sm, const struct tr_cmd *cmds, unsigned n, struct tr_sm_result *res)
{
	struct tr_usm *u = sm->machine_ctx;

	for (unsigned i = 0; i < n; i++) {
		u->cmds[i] = (struct trireme_sm_cmd){.client_id = cmds[i].client_id,
						     .seq = cmds[i].seq,
						     .data = cmds[i].val,
						     .len = cmds[i].val_len};
		u->res[i] = (struct trireme_sm_result){0};
	}
	u->ops->apply(u->m, u->cmds, n, u->res);
	for (unsigned i = 0; i < n; i++) {
		if (cmds[i].op != TR_OP_CMD) /* a KV write: the runtime lets none by */
			res[i].status = TR_ST_FULL;
		else
			result_in(&res[i], &u->res[i]);
	}
}

static void
usm_read(struct tr_sm *sm, const struct tr_cmd *cmd, struct tr_sm_result *res)
{
	struct tr_usm *u = sm->machine_ctx;

	if (cmd->op != TR_OP_QUERY) {
		res->status = TR_ST_NOT_FOUND;
		return;
	}
	u->res[0] = (struct trireme_sm_result){0};
	u->ops->read(u->m, cmd->val, cmd->val_len, &u->res[0]);
	result_in(res, &u->res[0]);
}

static uint64_t
usm_digest(const struct tr_sm *sm)
{
	const struct tr_usm *u = sm->machine_ctx;

	return u->ops->digest != NULL ? u->ops->digest(u->m) : 0;
}

const struct tr_machine tr_usm_machine = {
	.apply = usm_apply,
	.read = usm_read,
	.digest = usm_digest,
};

const char *
tr_usm_ops_check(const struct trireme_sm_ops *ops)
{
	if (ops->create == NULL || ops->destroy == NULL || ops->apply == NULL ||
	    ops->read == NULL || ops->snapshot == NULL || ops->restore == NULL)
		return "the state machine needs create, destroy, apply, read, snapshot and restore";
	return NULL;
}

struct tr_usm *
tr_usm_new(const struct tr_usm_spec *spec)
{
	struct tr_usm *u = calloc(1, sizeof(*u));

	if (u == NULL)
		return NULL;
	u->ops = spec->ops;
	u->m = spec->ops->create(spec->arg, spec->replica);
	if (u->m == NULL) {
		free(u);
		return NULL;
	}
	return u;
}

void
tr_usm_free(struct tr_usm *u)
{
	if (u == NULL)
		return;
	u->ops->destroy(u->m);
	free(u);
}
