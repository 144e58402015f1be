/* SPDX-License-Identifier: MIT
 * Options of the trireme launcher: `trireme <EAL args> -- <options>`.
 * One enum of option names, one long_options table, one switch (options.c).
 */
#ifndef TRIREME_TOOLS_OPTIONS_H
#define TRIREME_TOOLS_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "trireme.h"

#define OPTS_WINDOW_MAX 256        /* outstanding commands per replica */
#define OPTS_CLIENT_WINDOW_MAX 64  /* trireme_client_new: window 1..64 */
#define OPTS_BATCH_MAX 4096        /* the engine's TR_BATCH_CMDS_MAX */
#define OPTS_SERVE_CLIENTS_MAX 1024 /* --serve-clients */
#define OPTS_HISTORY_VALUE_MIN 32  /* --history: room for "<client>.<seq>:" */

/* "barrier", "log", "local": the mode, or -1. */
#define OPTS_FAULTS_MAX 16

/* --fault: a replica paused, resumed, crashed, restarted, made deaf (every
 * frame it receives dropped, while it goes on sending) or hearing again at a
 * time of the run; "for D" adds the resume (pause), the restart (crash) or
 * the hear (deaf) D s later. */
enum opts_fault_action { OPTS_PAUSE = 1, OPTS_RESUME, OPTS_CRASH, OPTS_RESTART, OPTS_DEAF,
			 OPTS_HEAR };

struct opts_fault {
	uint8_t action;
	unsigned replica;
	double at_s;
};

const char *opts_fault_name(unsigned action);

int opts_read_mode(const char *name);
const char *opts_idle_name(unsigned idle); /* enum trireme_idle: "backoff", ... */
const char *opts_read_mode_name(unsigned mode);

struct opts {
	/* Mode: --cluster (the default) or --replica-id N --peers ... */
	bool cluster;
	bool cluster_set;
	unsigned replica_id;
	bool replica_id_set;
	struct trireme_peer peers[TRIREME_REPLICAS];
	bool peers_set;
	uint16_t port_id;
	bool port_set;
	uint16_t udp_port_base;
	bool udp_port_base_set;
	uint16_t mtu;
	bool mtu_set;
	double peer_timeout_s;
	/* Load. */
	double duration_s;
	bool duration_set;
	unsigned window;           /* outstanding per loaded replica */
	uint64_t keys;
	uint32_t value_size;
	bool value_size_set;
	double read_ratio;
	uint8_t read_mode;         /* enum trireme_read_mode */
	const char *history;       /* --history FILE, or NULL */
	double loss;
	unsigned writers;          /* replicas 0 .. writers - 1 get load */
	struct opts_fault faults[OPTS_FAULTS_MAX]; /* --fault, in the given order */
	unsigned fault_count;
	bool join;                 /* --cluster-state existing */
	const char *data_dir;      /* --data-dir, or NULL: memory only */
	unsigned sync;             /* --sync: enum trireme_sync */
	bool sync_set;
	uint32_t cluster_id;       /* --cluster-id, 0: the runtime's */
	double linger_s;           /* --linger: wait for the peers' frontier */
	const char *auth_key;      /* --auth-key FILE, or NULL */
	unsigned serve_clients;    /* --serve-clients: remote clients served */
	/* Engine. */
	unsigned batch;
	bool batch_set;
	unsigned inflight;
	bool inflight_set;
	bool applier_threads;
	uint8_t idle;              /* --idle: enum trireme_idle */
	uint32_t log_slots;        /* 0: the runtime's */
	uint64_t seed;
	bool seed_set;
	/* Output. */
	bool json;
	double stats_interval_s;
	bool interactive;
	bool quiet;
};

/* True when an argument after "--" is --help or -h (the usage needs no EAL). */
bool opts_help_wanted(int argc, char **argv);

/* Before EAL init: the first trireme option given before "--" (or with no
 * "--" at all), or NULL. EAL would reject it with its whole usage text. */
const char *opts_misplaced(int argc, char **argv);

/* Parses the application arguments (argv[0] is the program name). Returns 0,
 * 1 when it printed the usage (--help), or -1 after printing one line saying
 * what is wrong. */
int opts_parse(int argc, char **argv, struct opts *o);

void opts_usage(FILE *f);

/* Clients a loaded replica needs for o->window outstanding commands. */
unsigned opts_clients_per_replica(const struct opts *o);

#endif
