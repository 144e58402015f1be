#!/usr/bin/env bash
# The mutation audit (issue 13), run before each release: every known-bad
# mutation below is built into a scratch copy of the tree, one at a time, and
# the tests that must catch it are run. Prints mutation -> catching tests,
# or NOT CAUGHT; exits 1 if any mutation is not caught or no longer applies
# to the source (then update its pattern here).
#
# Two kinds: a variant switch (enum tr_variant, forced on everywhere with
# TR_MUTANT_VARIANT, whatever a test asks for), and a source mutation (a
# textual edit, the bug as someone would write it, independent of the
# switches).
#
# usage: scripts/mutants.sh [NAME-SUBSTRING]   (only the matching mutations)
# env:   MUTANTS_DIR  scratch directory (default: a new one under /tmp, removed)
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
only=${1:-}
if [[ -n ${MUTANTS_DIR:-} ]]; then
	scratch=$MUTANTS_DIR
	mkdir -p "$scratch"
else
	scratch=$(mktemp -d /tmp/trireme-mutants.XXXXXX)
	trap 'rm -rf "$scratch"' EXIT
fi
tree=$scratch/tree
build=$tree/build-mutants

# Test binaries (relative to the build dir) and Criterion filters.
FENCE="tests/test_known_fence:known_fence/one_of_two_concurrent_handlers_sees_the_other"
TEETH=tests/sim/test_teeth
SCHED=tests/sim/test_schedules
KV=tests/test_kv
LARGE=tests/test_large
SIM=tests/sim/test_sim
READS=tests/sim/test_reads
DURABLE=tests/sim/test_durable
DURUNIT=tests/test_durable
ACCEPT=tests/test_accept
HEAL=tests/sim/test_heal
CATCHUP=tests/test_catchup
WAL=tests/test_wal
LIFE=tests/dpdk/test_lifecycle # DPDK (EAL in-process): one test at a time
REJOIN=tests/dpdk/test_rejoin  # DPDK: tests/dpdk/test_heal.c (suite heal)
KVS=tests/dpdk/test_kvstore
NET=tests/dpdk/test_net # DPDK (EAL in-process)
targets=(tests/test_known_fence tests/test_kv tests/test_large tests/sim/test_teeth tests/sim/test_schedules
	tests/sim/test_sim tests/sim/test_reads tests/sim/test_durable tests/test_accept
	tests/sim/test_heal tests/test_catchup tests/test_wal tests/dpdk/test_lifecycle
	tests/test_durable tests/test_wire tests/dpdk/test_rejoin tests/dpdk/test_kvstore
	tests/dpdk/test_net)

# name | kind (variant: enum bit name; sed: file) | perl substitution (sed) | tests
mutations=(
	"no fence on known|variant:TR_VARIANT_NO_FENCE||$FENCE"
	"no fence on known (relaxed store)|sed:engine/internal.h|s/!atomic_compare_exchange_weak\(&r->shared.known\[column\], &cur, want\)/(atomic_store_explicit(&r->shared.known[column], want, memory_order_relaxed), 0)/|$FENCE"
	"deps as plain log lengths (no D1 closure)|variant:TR_VARIANT_PLAIN_DEPS||$SCHED:schedules/deps_without_the_closure"
	"deps as plain log lengths (no D1 closure)|sed:engine/internal.h|s/if \(deps != NULL && deps\[i\] > want/if (0 \&\& deps != NULL \&\& deps[i] > want/|$SCHED:schedules/deps_without_the_closure"
	"dedup off (§8)|variant:TR_VARIANT_NO_DEDUP||$KV:kv/duplicate_changes_nothing $TEETH:teeth/three_live_replicas_converge"
	"W per replica (§8)|variant:TR_VARIANT_W_PER_REPLICA||$KV:kv/window_travels_in_the_command $TEETH:teeth/three_live_replicas_converge"
	"W a replica-wide constant (§8)|sed:engine/kv.c|s/uint8_t w = cmd->window;/uint8_t w = TR_WINDOW_MAX;/|$KV:kv/window_travels_in_the_command $KV:kv/too_old_is_not_applied"
	"recoverer promise ignored without an entry (P2/A1)|variant:TR_VARIANT_NO_RECOVERER_PROMISE||$TEETH:teeth/recoverer_promise_without_an_entry"
	"recoverer promise ignored without an entry (P2/A1)|sed:engine/propose.c|s/\ts->promised = b;/\tif (s->flags \& TR_SLOT_VALUE)\n\t\ts->promised = b;/|$TEETH:teeth/recoverer_promise_without_an_entry"
	"promise compares n only (A1)|variant:TR_VARIANT_BALLOT_N_ONLY||$TEETH:teeth/promise_compared_on_n_only"
	"promise compares n only (A1)|sed:engine/recv_accept.c|s/tr_ballot_cmp\(m->ballot, s->promised\) < 0/m->ballot.n < s->promised.n/|$TEETH:teeth/promise_compared_on_n_only"
	"no promise re-check on reply (P4)|variant:TR_VARIANT_NO_RECHECK||$TEETH:teeth/proposer_rechecks_its_promise_on_reply"
	"no promise re-check on reply (P4)|sed:engine/recv_accept_reply.c|s/tr_ballot_cmp\(s->promised, m->ballot\) != 0/0/|$TEETH:teeth/proposer_rechecks_its_promise_on_reply"
	"FETCH never answered (C2)|variant:TR_VARIANT_NO_FETCH_ANSWER||$TEETH:teeth/only_fetch_catches_up"
	"FETCH never answered (C2)|sed:engine/recv_fetch.c|s/r = out_msg\(c, out, TR_MSG_FETCH_REPLY, m->from\);/r = NULL;/|$TEETH:teeth/only_fetch_catches_up"
	# §12 S (issue 14) and the values by reference (W1, W2).
	"S1: frames before their sync|variant:TR_VARIANT_REPLY_BEFORE_PERSIST||$DURABLE:durable/reply_before_persist_is_caught"
	"S1: answers before the sync|variant:TR_VARIANT_ACK_BEFORE_PERSIST||$DURABLE:durable/nothing_acknowledged_is_lost"
	"S4: a restart forgets its lost first attempts' promises|variant:TR_VARIANT_NO_PROMISE_FLOOR||$DURUNIT:durable_engine/a_lost_first_attempt_keeps_its_promise"
	"S4: a restart uses the lsns of its lost first attempts again|variant:TR_VARIANT_NO_RESTART_GAP||$DURUNIT:durable_engine/allocation_survives_a_restart $DURABLE:durable/nothing_acknowledged_is_lost"
	"S4: a first attempt lazy past the span|sed:engine/propose.c|s/ \&\&\n\t+ +s->lsn < c->committed \+ TR_LAZY_SPAN\)/)/|$DURUNIT:durable_engine/a_first_attempt_past_the_span_is_not_lazy"
	"S2/S4: a restart allocates below what it revealed|sed:engine/durable.c|s/\t\t\tc->next_lsn = u64_max\(c->next_lsn, tr_known\(r, c->id\)\);\n//|$DURUNIT:durable_engine/a_restart_allocates_past_what_it_revealed"
	"S4: every first attempt lazy, retries too|sed:engine/propose.c|s/c->owned && b.n == 1 && tr_ballot_none\(s->vbal\)/c->owned/|$DURUNIT:durable_engine/allocation_survives_a_restart"
	"W1: the acceptor's deps ignored|sed:engine/recv_accept_reply.c|s/\t\tmemcpy\(v.deps, m->value.deps, sizeof\(v.deps\)\);//|$ACCEPT:accept_owner/w1_ok_by_reference_chooses_own_commands_with_the_acceptors_deps $TEETH:teeth/three_live_replicas_converge"
	"W2: commit by reference at any ballot|sed:engine/commit.c|s/tr_ballot_cmp\(s->vbal, m->ballot\) == 0/1/|$ACCEPT:accept/w2_commit_by_reference_needs_the_vote_at_its_ballot"
	# §12 T4: the owners' catch-up pace.
	"T4: no catch-up pace|variant:TR_VARIANT_NO_CATCHUP_PACE||$HEAL:heal/returns_under_load_catch_up_at_the_paced_owners"
	"T4: the pace never waits|sed:engine/internal.h|s/return c->catchup != 0 && catchup_wait\(c, now_ns\);/return false;/|$HEAL:heal/returns_under_load_catch_up_at_the_paced_owners"
	# P6/Q1: first attempts and retries by answers, not by hearing alone.
	"P6: peers chosen by hearing alone|variant:TR_VARIANT_FIRST_BY_HEARD||$HEAL:heal/a_deaf_replica_is_not_asked_and_the_survivors_go_on"
	"P6: first attempt to the peer heard last|sed:engine/replica.c|s/return pb->answered_ns > pa->answered_ns \? b : a;/return pb->heard_ns > pa->heard_ns ? b : a;/|$HEAL:heal/a_deaf_replica_is_not_asked_and_the_survivors_go_on"
	"T4: paced for a deaf peer|variant:TR_VARIANT_PACE_FOR_DEAF||$HEAL:heal/a_deaf_replica_is_not_asked_and_the_survivors_go_on"
	"P6: a shunned peer never probed|sed:engine/replica.c|s/return attempts % 4 != 0 && /return /|$ACCEPT:accept_owner/p6_a_shunned_peer_is_probed_every_fourth_retry"
	# J5 (heal.c, recv.c, recv_status.c, propose.c) and J2's refusals.
	"J5: a life that did not join is never checked|variant:TR_VARIANT_NO_MEMORY_CHECK||$DURUNIT:durable_engine/an_echo_above_the_prefix_stops_the_replica $DURABLE:durable/a_new_replica_where_one_ran_is_stopped"
	"J5: votes before a peer vouched|sed:engine/heal.c|s/\tif \(!vouched\(r\)\)\n\t\treturn false; \/\* J5 \*\/\n//|$DURUNIT:durable_engine/a_restart_votes_once_a_peer_vouched"
	"J5: proposes before a peer vouched|sed:engine/propose.c|s/\tif \(!vouched\(c->rep\)\) \{\n\t\tarm\(c, now_ns \+ cfg->retry_ns\);[^\n]*\n\t\treturn;\n\t\}\n//|$DURUNIT:durable_engine/a_first_life_proposes_once_vouched"
	"J5: a restored attempt before a peer vouched|sed:engine/propose.c|s/\tif \(!vouched\(c->rep\)\) \{\n(\t\t\/\* J5: no ballot)/\tif (0) {\n\$1/|$DURUNIT:durable_engine/a_restart_votes_once_a_peer_vouched"
	"J5: READ_INDEX and JOIN answered before a peer vouched|sed:engine/recv.c|s/#define UNVOUCHED_TYPES \(TYPE_BIT\(TR_MSG_READ_INDEX\) . TYPE_BIT\(TR_MSG_JOIN\)\)/#define UNVOUCHED_TYPES 0u/|$DURUNIT:durable_engine/a_restart_votes_once_a_peer_vouched"
	"J5: a joiner judged by an old echo|sed:engine/recv_status.c|s/ && !cfg->join && / && /|$DURUNIT:durable_engine/a_joiner_is_not_judged_by_an_old_echo"
	"J5: no STATUS at once for a new life|sed:engine/heal.c|s/\tc->status_at_ns = 0;\n\tarm\(c, 0\);\n//|$DURUNIT:durable_engine/a_new_life_gets_a_status_at_once"
	"J2: a refusal steps the back-off|sed:engine/recv_accept_reply.c|s/\t\tif \(!\(\(s->refused >> m->from\) & 1\)\)\n\t\t\ts->attempts--;\n//|$ACCEPT:accept_owner/j2_a_refusal_turns_to_the_other_peer_at_once"
	"J2: a duplicated refusal undoes its attempt twice|sed:engine/recv_accept_reply.c|s/\t\tif \(!\(\(s->refused >> m->from\) & 1\)\)\n\t\t\ts->attempts--;/\t\ts->attempts--;/|$ACCEPT:accept_owner/j2_a_duplicated_refusal_counts_once"
	"J2: a refusal with no other peer retried at once|sed:engine/recv_accept_reply.c|s/other_ok \? now_ns : now_ns \+ backoff_ns\(c, s->attempts \+ 1\)/now_ns/|$ACCEPT:accept_owner/j5_a_refusal_does_not_pin_the_slot_to_a_silent_peer"
	"J5: a refusal pins the slot to a silent peer|sed:engine/propose.c|s/ &&\n\t    peer_fresh\(c, s->attempt_peer, now_ns\)\)/)/|$ACCEPT:accept_owner/j5_a_refusal_does_not_pin_the_slot_to_a_silent_peer"
	"J5: a restart from disk echoed from 0|sed:engine/heal.c|s/\tif \(p->joining\)\n\t\tp->said = 0;/\tp->said = 0;/|$CATCHUP:catchup/j5_the_echo_survives_a_restart_from_disk $DURABLE:durable/a_new_replica_where_one_ran_is_stopped"
	"J5: own commits past the allocations only dropped|sed:engine/plausible.c|s/if \(!r->cfg.join && !\(r->cfg.variant & TR_VARIANT_NO_MEMORY_CHECK\)\)/if (0)/|$DURUNIT:durable_engine/own_commits_past_the_allocations_stop_the_replica"
	"J5: a restart from disk is never vouched for|sed:engine/recv_status.c|s/\tif \(!\(atomic_load_explicit\(&c->rep->shared.vouched/\tif (m->heard == 0 \&\& !(atomic_load_explicit(\&c->rep->shared.vouched/|$DURUNIT:durable_engine/a_restart_votes_once_a_peer_vouched $LIFE:lifecycle/restart_on_a_data_dir_keeps_new_writes"
	"J2: the retry after a refusal to the refuser first|sed:engine/propose.c|s/\t\tif \(\(s->refused >> pick\) & 1 && /\t\tif (0 && /|$ACCEPT:accept_owner/j2_a_refusal_turns_to_the_other_peer_at_once"
	"J1: a step that drops its message reports no timer|sed:engine/recv.c|s/\trecv_step\(c, m, now_ns, out\);\n/\trecv_step(c, m, now_ns, out);\n\tif (out->msg_count == 0)\n\t\treturn;\n/|$DURUNIT:durable_engine/an_ignored_message_keeps_the_joiners_timer $HEAL:heal/restarts_without_memory_join_and_converge"
	"S4: a gap slot beyond the ring never attempted|sed:engine/tick.c|s/if \(lsn < c->gap_end && /if (0 \&\& /|$DURUNIT:durable_engine/a_gap_slot_beyond_the_ring_is_attempted_once_in_it"
	# T4's echo per life (heal.c). The joiner's heard_us reset in recv_join has
	# no entry: recv_join runs only in a column this replica does not own, and
	# heard_us counts only at the owner (catchup_active): no test can see it.
	"T4: heard_us kept across a new life (J0)|sed:engine/heal.c|s/\tp->heard_us = 0;\n//|$CATCHUP:catchup/t4_a_peer_deaf_in_its_new_life_slows_nobody"
	"T4: echo kept across a joiner's new life (J0)|sed:engine/heal.c|s/\tp->said = 0;\n//|$CATCHUP:catchup/t4_the_echo_to_a_new_life_is_what_it_said"
	"T4: echo kept across a join (J1)|sed:engine/heal.c|s/\t\tc->peers\[m->from\].said = 0;\n//|$CATCHUP:catchup/t4_the_echo_to_a_joiner_forgets_its_old_life"
	# The earlier known-bad variants of PROTOCOL §11, caught by the correct-mode tests.
	"§11: a retry reuses its ballot (P2/P3)|variant:TR_VARIANT_REUSE_BALLOT||$TEETH:teeth/three_live_replicas_converge $SIM:sim/a_seed_replays_event_for_event"
	"§11: commit on the spot (A5)|variant:TR_VARIANT_COMMIT_ON_SPOT||$TEETH:teeth/three_live_replicas_converge $SIM:sim/a_seed_replays_event_for_event"
	"§11: reads without a barrier (Q1-Q2)|variant:TR_VARIANT_READ_NO_BARRIER||$SIM:sim/barrier_reads_under_faults"
	"§11: K from the peer's known only (Q2)|variant:TR_VARIANT_READ_PEER_KNOWN_ONLY||$SIM:sim/barrier_reads_under_faults $READS:reads/q2_merge_recovers_a_slot_only_the_crashed_peer_knew"
	"§11: K from the own known only (Q2)|variant:TR_VARIANT_READ_OWN_KNOWN_ONLY||$SIM:sim/barrier_reads_under_faults $READS:reads/a_read_taken_after_the_send_waits_for_the_next_barrier"
	"§11: a read shares an earlier barrier (Q1)|variant:TR_VARIANT_READ_SHARE_EARLY||$READS:reads/a_read_taken_after_the_send_waits_for_the_next_barrier"
	"§11: known_q not merged (Q2)|variant:TR_VARIANT_READ_NO_MERGE||$READS:reads/q2_merge_recovers_a_slot_only_the_crashed_peer_knew"
	# The runtime (dpdk/): names start "rt: " (scripts/mutants.sh "rt: " runs
	# them alone). A '|' in a pattern is written \x7c (the field separator).
	"J0: a joiner's floor ignored (its disk's incarnation)|sed:engine/replica.c|s/r->join_inc_max = cfg->join \? cfg->join_inc_floor : 0;/r->join_inc_max = 0;/|$DURUNIT:durable_engine/a_joiner_starts_above_its_floor $DURABLE:durable/nothing_acknowledged_is_lost"
	"bytes_equal compares one word of a 9..16-byte key|sed:engine/le.h|s/ && ld_u64\(a \+ len - 8\) == ld_u64\(b \+ len - 8\);/;/|tests/test_wire:le/bytes_equal_sees_every_byte"
	"rt: S1: held answers go before their frontier is synced|sed:dpdk/durable.c|s/\t\tif \(c < TR_COLUMNS\)\n\t\t\treturn;/\t\tif (0 \&\& c < TR_COLUMNS)\n\t\t\treturn;/|$LIFE:lifecycle/an_answer_waits_for_the_sync_of_its_commit"
	"rt: S1: an answer's frontier without its own slot|sed:dpdk/durable.c|s/\t\te->frontier\[d->column\] = d->lsn \+ 1;\n//|$LIFE:lifecycle/an_answer_waits_for_the_sync_of_its_commit"
	"rt: S1: synced published before the sync|sed:dpdk/durable.c|s/\t\tsynced = \*durable == \*wait \? k->col->committed : tag;/\t\tsynced = k->col->committed;/|$LIFE:lifecycle/a_slow_disk_holds_what_it_has_not_synced"
	"rt: S1: frames leave before their sync|sed:dpdk/durable.c|s/return \*durable == \*wait \? RT_GATE_OPEN : RT_GATE_WAIT;/return RT_GATE_OPEN;/|$LIFE:lifecycle/a_slow_disk_holds_what_it_has_not_synced"
	"rt: S1: a failed log still sends and publishes|sed:dpdk/durable.c|s/\tif \(!atomic_load_explicit\(&d->failed, memory_order_relaxed\)\) \{/\tif (1) {/|$LIFE:lifecycle/a_failed_sync_publishes_nothing"
	"rt: S1: a slow disk's sync on the worker|sed:dpdk/wal.c|s/\tif \(!slow && !s->busy && s->req == s->started\)/\tif (1)/|$WAL:wal/a_slow_sync_runs_on_the_syncer $LIFE:lifecycle/a_slow_disk_holds_what_it_has_not_synced"
	"rt: S1: a failed fdatasync on the syncer ignored|sed:dpdk/wal.c|s/\t\tif \(err != 0 && s->err == 0\)\n\t\t\ts->err = err;\n//|$WAL:wal/a_failed_sync_on_the_syncer_fails_the_log"
	"rt: S1: new frames held behind an open gate (held[] overflows)|sed:dpdk/worker.c|s/\tif \(gate == RT_GATE_WAIT\) \{\n\t\ttx_hold/\tif (gate == RT_GATE_WAIT \x7c\x7c k->held_len > 0) {\n\t\ttx_hold/|$LIFE:lifecycle/a_long_stall_holds_frames_without_losing_any"
	"rt: a STATUS repeated while one waits for a sync|sed:dpdk/worker.c|s/if \(m->type == TR_MSG_STATUS && k->status_held\[m->to\] > 0\)/if (0)/|$LIFE:lifecycle/a_slow_disk_holds_what_it_has_not_synced"
	"rt: P6: the back-off shorter than a stalled disk|sed:dpdk/durable.c|s/\t\tcfg->retry_max_ns = 2 \* RT_SYNC_STALL_NS;/\t\t;/|$LIFE:lifecycle/a_slow_disk_holds_what_it_has_not_synced"
	"rt: a completion taken for another seq of the slot (§8)|sed:dpdk/applier.c|s/if \(cmd->seq != seq \x7c\x7c/if (/|$LIFE:lifecycle/an_answer_waits_for_the_sync_of_its_commit"
	"rt: an answer never wakes its client|sed:dpdk/applier.c|s/\tr->wake\[r->nwake\+\+\] = c;\n//|$LIFE:lifecycle/wait_times_out_then_completes"
	"rt: FULL answered as done|sed:dpdk/applier.c|s/d->res.status == TR_ST_FULL \? -TRIREME_EFULL/d->res.status == TR_ST_FULL ? 0/|$LIFE:lifecycle/a_full_client_table_refuses_new_clients_cleanly"
	"rt: a local get from another replica|sed:dpdk/client.c|s/kv = rcu_dereference\(c->rep->kv\);/kv = rcu_dereference(c->t->reps[0].kv);/|$LIFE:lifecycle/a_local_read_reads_its_own_replica"
	"rt: trireme_read_local from another replica|sed:dpdk/client.c|s/kv = rcu_dereference\(r->kv\);/kv = rcu_dereference(t->reps[0].kv);/|$LIFE:lifecycle/a_local_read_reads_its_own_replica"
	"rt: remote: an outstanding retry answered|sed:dpdk/remote.c|s/\t\tif \(s->state == RM_PENDING\) \{/\t\tif (0) {/|$LIFE:lifecycle/remote_retries_are_answered_once"
	"rt: remote: a completed retry submitted again|sed:dpdk/remote.c|s/if \(s->op != TRP_GET\) \{/if (0) {/|$LIFE:lifecycle/remote_retries_are_answered_once"
	"rt: remote: an entry with commands outstanding given away|sed:dpdk/remote.c|s/if \(e->pending == 0 && now_ns/if (now_ns/|$LIFE:lifecycle/remote_retries_are_answered_once"
	"rt: remote: writes under the serving replica's own client id|sed:dpdk/worker.c|s/\.client_id = c->origin_id != 0 \? c->origin_id : c->client->id,/.client_id = c->client->id,/|$LIFE:lifecycle/remote_retries_elsewhere_are_applied_once"
	"rt: remote: the origin search stops at the first client bound to the id|sed:dpdk/applier.c|s/\t\t\t\}\n\t\t\}\n\t\}\n\treturn NULL;\n\}/\t\t\t}\n\t\t}\n\t\treturn NULL;\n\t}\n\treturn NULL;\n}/|$LIFE:lifecycle/remote_ids_that_differ_in_the_top_bit_are_both_answered"
	"rt: remote: a remote command's completion never found|sed:dpdk/applier.c|s/memory_order_relaxed\) != origin_id\)/memory_order_relaxed) != origin_id + 1)/|$LIFE:lifecycle/remote_retries_elsewhere_are_applied_once"
	"client table: a full table never evicts|variant:TR_VARIANT_CLIENTS_KEPT||$KV:kv/an_idle_client_gives_its_record_to_a_new_one $HEAL:heal/the_clients_of_restarted_replicas_get_room"
	"client table: a full table never evicts|sed:engine/kv.c|s/!\(\(sm->variant & TR_VARIANT_CLIENTS_KEPT\) == 0 && client_evict\(sm\) &&/!(0 \&\& client_evict(sm) \&\&/|$KV:kv/an_idle_client_gives_its_record_to_a_new_one $HEAL:heal/the_clients_of_restarted_replicas_get_room"
	"client table: an eviction leaves a hole in a probe chain|sed:engine/kv.c|s/if \(\(\(j - home\) & mask\) >= \(\(j - i\) & mask\)\) \{/if (((j - home) \& mask) > mask) {/|$KV:kv/client_table_churn_matches_model"
	"client table: the most recently used idle client evicted|sed:engine/kv.c|s/rec->last < sm->clients\[pick\]\.last/rec->last > sm->clients[pick].last/|$KV:kv/client_table_churn_matches_model"
	"client table: a snapshot drops the clients' last writes|sed:engine/kv.c|s/\.last = ld_u64\(p \+ 24\), \.used = 1\}/.last = 0, .used = 1}/|$KV:kv/client_table_churn_matches_model $HEAL:heal/the_clients_of_restarted_replicas_get_room"
	"client table: the bound of a scan that found nobody idle too late|sed:engine/kv.c|s/\? UINT64_MAX : oldest \+ sm->client_ttl_cmds;/? UINT64_MAX : oldest + 2 * sm->client_ttl_cmds;/|$KV:kv/client_table_churn_matches_model"
	"client table: a loaded snapshot keeps the old table's bound|sed:engine/kv.c|s/\tsm->clients_used = 0;\n\tsm->clients_idle_at = 0;\n\tstages_clear\(sm\);/\tsm->clients_used = 0;\n\tstages_clear(sm);/|$KV:kv/client_table_churn_matches_model"
	"client table: an evicted client's stages stay|sed:engine/kv.c|s/stage_at\(sm, i\)->client_id == client_id\)/stage_at(sm, i)->client_id == client_id + 1)/|$LARGE:large/an_evicted_client_takes_its_stages"
	"rt: a freed client's sequences forgotten (§8)|sed:dpdk/client.c|s/\tr->slot_seq\[slot\] = c->next_seq - 1;\n//|$LIFE:lifecycle/clients_forever"
	"rt: S1: a column syncs only when it sends|sed:dpdk/worker.c|s/\treturn k->delayed_len > 0 \x7c\x7c k->rep->dur.on;/\treturn k->delayed_len > 0;/|$LIFE:lifecycle/a_column_publishes_its_sync_without_sending"
	"rt: a packet tr_net_parse refuses not counted|sed:dpdk/worker.c|s/\ttr_net_stats_count\(&k->net, rc\);\n//|$LIFE:lifecycle/a_frame_naming_another_column_or_sender_is_dropped"
	"rt: a frame naming another column taken|sed:dpdk/worker.c|s/hdr.column != rx.column \x7c\x7c //|$LIFE:lifecycle/a_frame_naming_another_column_or_sender_is_dropped"
	"rt: a frame naming another sender taken|sed:dpdk/worker.c|s/ \x7c\x7c hdr.from != rx.from\) \{/) {/|$LIFE:lifecycle/a_frame_naming_another_column_or_sender_is_dropped"
	"rt: S3: an older segment's bad end taken as torn|sed:dpdk/wal.c|s/if \(!newest \x7c\x7c valid_after/if (valid_after/|$WAL:wal/segments_rotation_and_older_damage"
	"rt: S3: damage before valid records taken as torn|sed:dpdk/wal.c|s/valid_after\(p, tail \+ 1, end\)\)/(0 \&\& valid_after(p, tail + 1, end)))/|$WAL:wal/mid_log_damage_detected"
	"rt: the segment of the frontier's slot trimmed|sed:dpdk/wal.c|s/max_lsn < frontier/max_lsn <= frontier/|$WAL:wal/trim_behind_snapshot"
	"rt: superblock: the older copy chosen|sed:dpdk/datadir.c|s/s\[0\].seq > s\[1\].seq/s[0].seq < s[1].seq/|$WAL:datadir/superblock_newest_valid_copy_wins"
	"rt: superblock: one copy always overwritten|sed:dpdk/datadir.c|s/\(unsigned\)\(s.seq & 1\)/0u/|$WAL:datadir/superblock_newest_valid_copy_wins"
	"rt: a snapshot write cut short is left behind|sed:dpdk/datadir.c|s/\t\tif \(snap_name\(e->d_name, \".tmp\", &seq\)\)/\t\tif (0 \&\& snap_name(e->d_name, \".tmp\", \&seq))/|$WAL:datadir/an_unfinished_snapshot_write_is_removed_at_open"
	"rt: S1: a replica whose log failed takes commands|sed:dpdk/client.c|s/memory_order_relaxed\) [\x7c]{2} rt_stopped\(c->rep\)/memory_order_relaxed) \x7c\x7c rt_violated(c->rep)/|$LIFE:lifecycle/a_full_disk_stops_its_replica_and_says_so_to_its_clients"
	"rt: S1: a failed log leaves its clients asleep|sed:dpdk/applier.c|s/(failed_woken = true;[^\n]*\n)\t\twake_sleepers\(r\);\n/\$1/|$LIFE:lifecycle/a_full_disk_stops_its_replica_and_says_so_to_its_clients"
	"rt: S4: a vote's record taken as lazy|sed:dpdk/wal.c|s/w->must \+= !rec->lazy;/w->must += 0;/|$LIFE:lifecycle/a_write_costs_its_owner_one_sync"
	"rt: S4: the allocation synced before its ACCEPT|sed:dpdk/wal.c|s/w->must \+= !rec->lazy;/w->must++;/|$LIFE:lifecycle/a_write_costs_its_owner_one_sync"
	"rt: J: the join's mark does not wait for its syncs|sed:dpdk/wal.h|s/\t\tif \(done\[c\] < m->asked\[c\]\)\n\t\t\treturn false;\n/\t\t;\n/|$WAL:wal/the_join_mark_waits_for_the_syncs_asked_before_it"
	"rt: J: the join's mark takes the syncs asked before the gates|sed:dpdk/wal.h|s/\t\tm->stage = 1;\n/\t\tm->stage = 2;\n\t\tmemcpy(m->asked, asked, sizeof(m->asked));\n/|$WAL:wal/the_join_mark_waits_for_the_syncs_asked_before_it"
	"rt: a snapshot not written trims the log|sed:dpdk/durable.c|s/\tif \(tr_dd_snap_write\(d->dd.dirfd, seq, buf, len\) != 0\) \{/\tif (tr_dd_snap_write(d->dd.dirfd, seq, buf, len) != 0 \&\& 0) {/|$LIFE:lifecycle/a_snapshot_that_cannot_be_written_keeps_the_log"
	"rt: a snapshot file that cannot be opened taken as written|sed:dpdk/datadir.c|s/\tif \(fd < 0\)\n\t\treturn -1;\n\twhile \(off < len/\tif (fd < 0)\n\t\treturn 0;\n\twhile (off < len/|$LIFE:lifecycle/a_snapshot_that_cannot_be_written_keeps_the_log"
	"rt: an own snapshot older than a received one written after it|sed:dpdk/durable.c|s/\t\tif \(failed \x7c\x7c job_covered\(r, buf, len\)\) \{/\t\tif (failed \x7c\x7c (job_covered(r, buf, len) \&\& 0)) {/|$LIFE:lifecycle/an_own_snapshot_older_than_a_received_one_is_not_written"
	"rt: an idle applier keeps the store's freed nodes|sed:dpdk/applier.c|s/\t\ttr_kvstore_reclaim\(r->kv\);/\t\t;/|$LIFE:lifecycle/an_idle_applier_releases_the_stores_freed_nodes"
	# §12 T1/T3, the snapshot transfer (heal.c) and its format (snapshot.c).
	# The healing tests under load (crash, pause, deaf) catch none of the
	# transfer's mutations: no snapshot frame is lost, reordered, repeated or
	# damaged there, and no sender dies mid-transfer. The white-box tests
	# below play replica 2's column 0 task on a clock of their own.
	"rt: T1: a chunk at an unaligned offset taken|sed:dpdk/heal.c|s/chunk == 0 \x7c\x7c off % chunk != 0 \x7c\x7c/chunk == 0 \x7c\x7c/|$REJOIN:heal/snapshot_chunks_are_taken_once_where_they_belong"
	"rt: T1: a snapshot frame with a bad CRC taken|sed:dpdk/heal.c|s/ \x7c\x7c\n\t    tr_crc32c\(0, p, rx->len - 4u\) != ld_u32\(p \+ rx->len - 4\)\) \{/) {/|$REJOIN:heal/snapshot_chunks_are_taken_once_where_they_belong"
	"rt: T1: the ACK covers the highest chunk, past a gap|sed:dpdk/heal.c|s/while \(x->acked < x->total && x->have\[x->acked \/ chunk\]\)\n\t\tx->acked = RTE_MIN\(x->total, x->acked \+ chunk\);/if (off + n > x->acked)\n\t\tx->acked = off + n;/|$REJOIN:heal/snapshot_chunks_are_taken_once_where_they_belong"
	"rt: T1: a duplicate chunk copied and counted again|sed:dpdk/heal.c|s/\tif \(!x->have\[off \/ chunk\]\) \{/\t{/|$REJOIN:heal/snapshot_chunks_are_taken_once_where_they_belong"
	"rt: T3: the in-flight limit ignored|sed:dpdk/heal.c|s/ && s->next - s->acked < RT_SNAP_WINDOW//|$REJOIN:heal/snapshot_sender_keeps_its_window_and_resends_from_the_prefix"
	"rt: T1: after a timeout the sender resumes a chunk past the prefix|sed:dpdk/heal.c|s/s->next = s->acked; \/\* go back \*\//s->next = s->acked + s->chunk; \/* go back *\//|$REJOIN:heal/snapshot_sender_keeps_its_window_and_resends_from_the_prefix"
	"rt: T1: a stalled transfer asks the same peer again|sed:dpdk/heal.c|s/rx_ask\(k, \(uint8_t\)\(TR_REPLICAS - r->id - x->peer\), now_ns\);/rx_ask(k, x->peer, now_ns);/|$REJOIN:heal/a_stalled_snapshot_transfer_asks_the_other_peer"
	"rt: T1: a chunk's end checked as offset + length (wraps; an empty one past the map)|sed:dpdk/heal.c|s/ \x7c\x7c\n\t    n == 0 \x7c\x7c n > chunk \x7c\x7c off >= total \x7c\x7c n > total - off \x7c\x7c\n\t    / \x7c\x7c\n\t    off + n > total \x7c\x7c /|$REJOIN:heal/a_chunk_outside_the_snapshot_is_dropped"
	"rt: T1: a whole snapshot's resend not acknowledged again|sed:dpdk/heal.c|s/\t\t\tack_to\(k, from, xfer, x->done_total\);/\t\t\t;/|$REJOIN:heal/a_whole_snapshot_is_acknowledged_again"
	"rt: T1: the snapshot's CRC not checked|sed:dpdk/snapshot.c|s/\tif \(tr_crc32c\(0, buf, len - 4\) != ld_u32\(buf \+ len - 4\)\)\n\t\treturn \"snapshot CRC mismatch\";\n//|$REJOIN:heal/snapshot_format"
	# The runtime's store (dpdk/kvstore.c) and packet parsing (dpdk/net.c).
	"rt: store: a reader's probe stops at a tombstone|sed:dpdk/kvstore.c|s/\t\tif \(n == NULL\)\n\t\t\treturn NULL;/\t\tif (n == NULL \x7c\x7c n == KVS_TOMB)\n\t\t\treturn NULL;/|$KVS:kvstore/digest_and_scan_match_a_model_through_rebuilds $KVS:kvstore/random_same_as_table"
	"rt: store: a reader trusts the stored hash without the key|sed:dpdk/kvstore.c|s/ &&\n\t\t    node_is\(n, key, key_len\)\)/)/|$KVS:kvstore/a_stored_hash_is_only_a_filter"
	"rt: store: the writer trusts the stored hash without the key|sed:dpdk/kvstore.c|s/\} else if \(b->hash == hash && node_is\(b->node, key, key_len\)\) \{/} else if (b->hash == hash) {/|$KVS:kvstore/a_stored_hash_is_only_a_filter"
	"rt: store: a set takes the first tombstone without looking further|sed:dpdk/kvstore.c|s/\t\t\tif \(tomb == NULL\)\n\t\t\t\ttomb = b;/\t\t\t*free_b = b;\n\t\t\treturn NULL;/|$KVS:kvstore/digest_and_scan_match_a_model_through_rebuilds $KVS:kvstore/churn_keeps_tombstones_and_size_bounded"
	"rt: store: the table grows only when full|sed:dpdk/kvstore.c|s/#define KVS_USED_MAX\(buckets\) \(\(buckets\) \/ 4 \* 3\)/#define KVS_USED_MAX(buckets) ((buckets) - 1)/|$KVS:kvstore/churn_keeps_tombstones_and_size_bounded"
	"rt: store: a del counts its bucket free (tombstones pile up)|sed:dpdk/kvstore.c|s/(\t__atomic_store_n\(&kvs->tombstones, kvs->tombstones \+ 1, __ATOMIC_RELAXED\);\n)/\$1\tkvs->used--;\n/|$KVS:kvstore/churn_keeps_tombstones_and_size_bounded"
	"rt: store: a rebuild moves the node without its hash|sed:dpdk/kvstore.c|s/\t\tt->b\[j\] = old->b\[i\];/\t\tt->b[j].node = old->b[i].node;/|$KVS:kvstore/digest_and_scan_match_a_model_through_rebuilds $KVS:kvstore/readers_find_fixed_keys_through_rebuilds"
	"rt: store: a del empties its bucket (no tombstone)|sed:dpdk/kvstore.c|s/__atomic_store_n\(&b->node, KVS_TOMB, __ATOMIC_RELAXED\);/__atomic_store_n(\&b->node, NULL, __ATOMIC_RELAXED);/|$KVS:kvstore/digest_and_scan_match_a_model_through_rebuilds $KVS:kvstore/random_same_as_table"
	"rt: store: a deleted node freed at once|sed:dpdk/kvstore.c|s/\tnode_retire\(kvs, old\);\n\tif \(kvs->keys </\tnode_free(old, kvs->poison_nodes);\n\tif (kvs->keys </|$KVS:kvstore/what_the_writer_got_stays_until_its_quiescent_state $KVS:kvstore/rcu_stress_readers_never_see_reclaimed_memory"
	"rt: store: an old table freed at once|sed:dpdk/kvstore.c|s/urcu_qsbr_call_rcu\(&old->rcu, table_free_cb\);/table_free_cb(\&old->rcu);/|$KVS:kvstore/readers_find_fixed_keys_through_rebuilds"
	"rt: store: the shrink rule inverted|sed:dpdk/kvstore.c|s/if \(kvs->keys < KVS_SHRINK_BELOW\(/if (kvs->keys > KVS_SHRINK_BELOW(/|$KVS:kvstore/rebuilds_are_amortized"
	"rt: store: an overwrite leaks the old node|sed:dpdk/kvstore.c|s/\t\tnode_retire\(kvs, old\);\n\t\treturn 0;/\t\treturn 0;/|$KVS:kvstore/an_idle_writer_releases_what_readers_no_longer_hold $KVS:kvstore/what_the_writer_got_stays_until_its_quiescent_state"
	"rt: store: an overwrite retires the new node|sed:dpdk/kvstore.c|s/\t\tnode_retire\(kvs, old\);\n\t\treturn 0;/\t\tnode_retire(kvs, n);\n\t\treturn 0;/|$KVS:kvstore/what_the_writer_got_stays_until_its_quiescent_state $KVS:kvstore/digest_and_scan_match_a_model_through_rebuilds"
	"rt: store: a value as long as the buffer refused|sed:dpdk/kvstore.c|s/\t\tif \(len > cap\)/\t\tif (len >= cap)/|$KVS:kvstore/read_api"
	"rt: net: the IPv4 header read before the frame holds it|sed:dpdk/net.c|s/\tif \(unlikely\(len < sizeof\(\*eth\) \+ sizeof\(\*ip\)\)\)\n\t\treturn TR_NET_DROP_TOO_SHORT;\n//|$NET:net/a_cut_frame_is_judged_on_its_own_bytes"
	"rt: net: an IP total length past the frame accepted|sed:dpdk/net.c|s/tot < hlen \x7c\x7c tot > len - sizeof\(\*eth\)/tot < hlen/|$NET:net/drop_reasons"
	"rt: net: a UDP length larger than the datagram accepted|sed:dpdk/net.c|s/if \(unlikely\(udp_len != tot - hlen\)\)/if (unlikely(udp_len < sizeof(*udp)))/|$NET:net/drop_reasons $NET:net/every_header_byte_corrupted"
	"rt: net: any multicast dst MAC accepted|sed:dpdk/net.c|s/!rte_is_broadcast_ether_addr\(&eth->dst_addr\)/!rte_is_multicast_ether_addr(\&eth->dst_addr)/|$NET:net/drop_reasons $NET:net/every_header_byte_corrupted"
	"rt: net: the IP checksum over the fixed header only (options unchecked)|sed:dpdk/net.c|s/rte_raw_cksum\(ip, hlen\) != 0xffff/rte_raw_cksum(ip, sizeof(*ip)) != 0xffff/|$NET:net/drop_reasons"
	"rt: net: a packet from the receiver's own IP taken from a peer|sed:dpdk/net.c|s/if \(from != self && ip->src_addr/if (ip->src_addr/|$NET:net/drop_reasons"
	"rt: net: the last drop reason not summed|sed:dpdk/net.c|s/\tfor \(i = 0; i < TR_NET_DROP_COUNT; i\+\+\)\n\t\tsum->drops/\tfor (i = 0; i < TR_NET_DROP_COUNT - 1; i++)\n\t\tsum->drops/|$NET:net/drop_names_and_stats"
	"J2: rejoined once joined, its floors open|sed:engine/heal.c|s/== TR_COLUMNS_ALL\);/!= UINT32_MAX);/|$DURUNIT:durable_engine/a_joiner_rejoins_once_its_floors_are_committed"
	"J2: a commit does not note its floor|sed:engine/commit.c|s/\tfloor_check\(c\);\n//|$DURUNIT:durable_engine/a_joiner_rejoins_once_its_floors_are_committed"
	"J2: a tick does not note its floor|sed:engine/tick.c|s/\tfloor_check\(c\); [^\n]*\n//|$DURUNIT:durable_engine/a_joiner_rejoins_once_its_floors_are_committed"
	"J0: a disk's peer incarnations not given to the engine|sed:engine/replica.c|s/i == cfg->id \? 0 : cfg->peer_inc_seen\[i\]/0/|$DURUNIT:durable_engine/a_join_is_answered_with_what_the_disk_heard"
	"rt: J0: the peers' incarnations not written to the superblock|sed:dpdk/durable.c|s/\t\tpeer_inc_poll\(r\);\n//|$LIFE:lifecycle/peers_keep_the_incarnations_they_heard_on_disk"
	"rt: J0: the superblock's peer incarnations not read at a start|sed:dpdk/durable.c|s/\t\t\tec.peer_inc_seen\[q\] = [^;]*;/\t\t\t(void)0;/|$LIFE:lifecycle/peers_keep_the_incarnations_they_heard_on_disk"
)

start=$(date +%s)
echo "scratch copy in $scratch" >&2
mkdir -p "$tree"
(cd "$src" && git ls-files -co --exclude-standard -z | grep -zv '^build' |
	xargs -0 tar cf - 2>/dev/null) | tar xf - -C "$tree"
meson setup -Dwerror=false "$build" "$tree" >/dev/null # a mutant may warn

pristine() {
	local f
	for f in engine/*.c engine/*.h dpdk/*.c dpdk/*.h; do
		cp "$src/$f" "$tree/$f"
	done
}

# Runs one test spec "binary:filter"; 0 when it fails (caught). A mutant
# that makes a test hang (a probe that never ends) is caught at 300 s.
caught_by() {
	local bin=${1%%:*} filter=${1#*:} tries=1 i
	[[ $1 == "$FENCE" ]] && tries=3 # racy by nature: up to 3 runs
	for ((i = 0; i < tries; i++)); do
		if ! timeout 300 "$build/$bin" --jobs 1 --filter "$filter" >/dev/null 2>&1; then
			return 0
		fi
	done
	return 1
}

rows=()
bad=0
for entry in "${mutations[@]}"; do
	IFS='|' read -r name kind subst tests <<<"$entry"
	[[ -n $only && $name != *"$only"* ]] && continue
	pristine
	case $kind in
	variant:*)
		bit=${kind#variant:}
		label="$name [switch $bit]"
		perl -0pi -e "s/#define TR_MUTANT_VARIANT 0/#define TR_MUTANT_VARIANT $bit/" \
			"$tree/engine/mmp3.h"
		file=engine/mmp3.h
		;;
	sed:*)
		file=${kind#sed:}
		label="$name [source]"
		perl -0pi -e "$subst" "$tree/$file"
		;;
	esac
	if cmp -s "$src/$file" "$tree/$file"; then
		rows+=("$label|DID NOT APPLY (update scripts/mutants.sh)")
		bad=1
		continue
	fi
	if ! ninja -C "$build" "${targets[@]}" >"$scratch/ninja.log" 2>&1; then
		rows+=("$label|BUILD FAILED (see $scratch/ninja.log)")
		bad=1
		continue
	fi
	hits=()
	for t in $tests; do
		if caught_by "$t"; then
			hits+=("${t#*:}")
		fi
	done
	if ((${#hits[@]} == 0)); then
		rows+=("$label|NOT CAUGHT")
		bad=1
	else
		rows+=("$label|${hits[*]}")
	fi
	echo "done: $label" >&2
done

# The unmutated tree must pass the same tests.
pristine
ninja -C "$build" "${targets[@]}" >"$scratch/ninja.log" 2>&1
declare -A seen=()
for entry in "${mutations[@]}"; do
	IFS='|' read -r name kind subst tests <<<"$entry"
	[[ -n $only && $name != *"$only"* ]] && continue
	for t in $tests; do
		[[ -n ${seen[$t]:-} ]] && continue
		seen[$t]=1
		if ! "$build/${t%%:*}" --jobs 1 --filter "${t#*:}" >/dev/null 2>&1; then
			rows+=("(none: the correct tree)|FAILS ${t#*:}")
			bad=1
		fi
	done
done

printf '| %s | %s |\n|---|---|\n' "mutation" "caught by"
for r in "${rows[@]}"; do
	printf '| %s | %s |\n' "${r%%|*}" "${r#*|}"
done
echo "$(($(date +%s) - start)) s" >&2
exit $bad
