/*
 * mmp3.pml -- bounded model of the mmp3 replication protocol (PROTOCOL.md),
 * for the spin model checker.  model/README.md says what is modelled, which
 * abstractions were taken, the bounds and the results; model/check.sh runs it.
 *
 * Compile-time parameters (spin -DNAME=value):
 *   L0, L1, L2      slots (lsns) of columns 0, 1, 2; 0..3 each     (default 1)
 *   NB              highest ballot number n; ballots are (n, r)     (default 2)
 *   NATT            attempts allowed beyond each owner's first one, over
 *                   all slots and replicas together: owner retries (P6)
 *                   and recoveries (R1)                             (default 1)
 *   STOP            one replica may stop for good at any point
 *   JOIN            restart without memory (PROTOCOL §12, J0-J3): replica JR
 *                   may crash once, lose everything, and rejoin as a new
 *                   incarnation
 *   JR              the replica that restarts (default 0)
 *   JNB             its old incarnation's ballots use n = 1..JNB, the new
 *                   one's n = JNB+1..NB: J0's (inc, n, replica) order,
 *                   flattened as the simulator does (default 1)
 *   INFL            inflight_max, the owner's window: next_lsn - committed
 *                   prefix < INFL; applied to JR's old incarnation, which is
 *                   what J3's bound rests on (default 1)
 *   LAZY            §12 S4 (docs/protocol.md): replica LR (default 2) may
 *                   crash once and restart from its disk, losing the first
 *                   attempts it sent before their records were durable (a
 *                   promise at (1, LR) and its value, no vote); it keeps the
 *                   rest, assumes those promises (the floor) and starts its
 *                   new instances past the window; ballots in the engine's
 *                   (n, inc, replica) order, as JNFIRST (NB = 4: n = 1, 2)
 * Variants.  Each breaks one rule, and spin must find the violation it
 * causes (that is what shows the checks have teeth), except COMMIT_ON_SPOT,
 * which is the open question of PROTOCOL A5:
 *   COMMIT_ON_SPOT  the acceptor commits at once when the sender's snapshot
 *                   carries a vote >= its own (the Go reference; A5, §11)
 *   REUSE_BALLOT    a retry sends its current ballot to the other peer (P2/P3)
 *   NO_CLOSURE      known without the D1 closure: plain log lengths (§2)
 *   ACK_AT_COMMIT   the owner acknowledges at commit, not at apply (P5, §8)
 *   JVOTE           J2 broken: the joiner votes at once (no wait for the
 *                   JOIN answers, no horizon)
 *   JSELFREC        J3 broken: the joiner recovers its own old slots (below
 *                   L) itself
 *   JFROMH          open question (a), J3's gap: L = H[own], not
 *                   H[own] + INFL (new instances from H[own])
 *   JNODROP         open question (b): messages of the old incarnation are
 *                   not dropped (incarnations stay in the ballots)
 *   JNFIRST         the engine's ballot order (n, inc, replica) instead of
 *                   the page's (inc, n, replica); NB counts both
 *                   incarnations' ballots (NB = 4: n = 1, 2)
 *   JPEERL          the engine's J3: each peer raises known[JR] to its own
 *                   H_q[own] + INFL when it answers JOIN and recovers below
 *                   that without the joiner (no JOINED(L) message)
 *   LNOFLOOR        S4 broken: the restarted LR votes below the promises of
 *                   the first attempts it lost
 *   LAX             drop the two "stop loudly" checks (two different votes
 *                   at one ballot; A3's equal vbal with different values,
 *                   where the sender's value is then taken, as the Go
 *                   reference did), so that a REUSE_BALLOT run goes on to
 *                   show a slot committed with two values
 *
 * Structure.  One process; each alternative of its loop is one d_step, so
 * one protocol step (a handler run to completion, or one action of a
 * proposer) is one transition, and any enabled step may fire at any time.  That over-approximates every timer:
 * timeouts, retries and R1's recovery timer are "may fire now"; R2's
 * deference to a live owner is a liveness matter and is not modelled.
 *
 * The network is the set of every message ever sent.  A message stays in the
 * set and may be delivered any number of times, in any order, or never: loss,
 * duplication, delay and reordering at once (for safety properties, a lossy
 * reordering network is exactly this).
 *
 * Applying (§7) is not a process: the apply sequence is a function of the
 * committed values (see the comment above `path`), so it is recomputed and
 * checked every time a value is chosen, for every start column.
 */

#ifndef L0
#define L0 1
#endif
#ifndef L1
#define L1 1
#endif
#ifndef L2
#define L2 1
#endif
#ifndef NB
#define NB 2
#endif

#define NR 3                    /* replicas R0, R1, R2; column c is owned by Rc */
#define NS (L0 + L1 + L2)       /* slots, numbered column by column */
#define NBAL (3 * NB)           /* ballots per slot */
#ifndef NATT
#define NATT 1
#endif
#if L0 > 3 || L1 > 3 || L2 > 3
#error "at most 3 slots per column (deps are stored in 2 bits)"
#endif
#define NOSTOP 3
#define NIL 255
#ifdef JOIN
#ifndef JR
#define JR 0
#endif
#ifndef JNB
#define JNB 1
#endif
#ifndef INFL
#define INFL 1
#endif
#if JNB >= NB
#error "JOIN needs NB > JNB: the new incarnation's ballots lie above the old one's"
#endif
#ifdef STOP
#error "JOIN and STOP together are not modelled (one failure at a time)"
#endif
#endif
#ifdef LAZY
#ifndef LR
#define LR 2
#endif
#ifndef INFL
#define INFL 1
#endif
#if defined(JOIN) || defined(STOP)
#error "LAZY alone: one failure at a time"
#endif
#endif

/* ---- slots ---------------------------------------------------------- */
#define LEN(c)   ((c) == 0 -> L0 : ((c) == 1 -> L1 : L2))
#define BASE(c)  ((c) == 0 -> 0 : ((c) == 1 -> L0 : (L0 + L1)))
#define COL(s)   ((s) < L0 -> 0 : ((s) < (L0 + L1) -> 1 : 2))
#define LSN(s)   ((s) - BASE(COL(s)))

/* ---- per-replica arrays ---------------------------------------------- */
#define IX(r, s) ((r) * NS + (s))
#define KX(r, c) ((r) * 3 + (c))

/* ---- values (cmds, deps).  Bit 0: 1 = the owner's client command for the
 * slot, 0 = NOOP; bits 1-2, 3-4, 5-6: deps[0], deps[1], deps[2].  0 means
 * "no value": no real value has deps == 0, as deps[own column] >= lsn + 1.
 * The value's proposer field is left out: for a client value it is always
 * the owner (only the owner creates one, and A3 keeps the proposer of the
 * side whose commands it takes), and for a NOOP no rule reads it (P7
 * re-proposes on every NOOP). */
#define CMD(v)          ((v) & 1)
#define DEP(v, c)       (((v) >> (1 + 2 * (c))) & 3)
#define MKV(x, a, b, c) ((x) | ((a) << 1) | ((b) << 3) | ((c) << 5))
#define MAX(a, b)       ((a) > (b) -> (a) : (b))

/* ---- ballots: (n, r) is encoded 3n + r, n = 1..NB; 0 = none.  The code
 * keeps the lexicographic order of (n, r). */
#define BAL(n, r)  (3 * (n) + (r))
#define BOWN(b)    ((b) % 3)

/* ---- messages ------------------------------------------------------- */
#define MI(s, b)     ((s) * NBAL + (b) - 3)       /* ACCEPT(slot, b): one per ballot */
#define RI(s, b, k)  (2 * MI(s, b) + (k))         /* the reply to it from peer k */
#define PEER(p, k)   (((p) + 1 + (k)) % 3)        /* k = 0, 1: the two peers of p */

/* J0: ballot n of replica R is one of its current incarnation's (INC_OK);
 * NLO(R): the current incarnation's ballots lie above n = NLO(R) */
#if defined(JOIN) && defined(JNFIRST)
/* the engine's order (n, inc, replica) (docs/protocol.md §12): model
 * ballot number m = 2n - 1 + inc, so incarnation 0 (the peers, JR's old
 * self) uses odd m and JR's new incarnation even m */
#define OLDN(N)      (((N) & 1) == 1)
#define INC_OK(R, N) ((R) == JR && jphase != 0 -> !OLDN(N) : OLDN(N))
#define FIRSTN(R, S) (INC_OK(R, promised[IX(R, S)] / 3 + 1) -> \
                      promised[IX(R, S)] / 3 + 1 : promised[IX(R, S)] / 3 + 2)
#elif defined(LAZY)
/* S4: the engine's order (n, inc, replica), m = 2n - 1 + inc as JNFIRST: the
 * peers and LR's first life use odd m, LR's life after the restart even m */
#define OLDN(N)      (((N) & 1) == 1)
#define INC_OK(R, N) ((R) == LR && lphase != 0 -> !OLDN(N) : OLDN(N))
#define FIRSTN(R, S) (INC_OK(R, promised[IX(R, S)] / 3 + 1) -> \
                      promised[IX(R, S)] / 3 + 1 : promised[IX(R, S)] / 3 + 2)
#elif defined(JOIN)
#define OLDN(N)      ((N) <= JNB)
#define INC_OK(R, N) ((R) != JR || (jphase == 0 -> (N) <= JNB : (N) > JNB))
#define NLO(R)       ((R) == JR && jphase != 0 -> JNB : 0)
#else
#define INC_OK(R, N) 1
#define NLO(R)       0
#endif

/* TRIED(R, S): R (its current incarnation) has sent an ACCEPT for slot S
 * at a ballot of its own */
#define SENT(R, S, N) (INC_OK(R, N) && acc_to[MI(S, BAL(N, R))] != 0)
#if NB == 1
#define TRIED(R, S) (SENT(R, S, 1))
#elif NB == 2
#define TRIED(R, S) (SENT(R, S, 1) || SENT(R, S, 2))
#elif NB == 3
#define TRIED(R, S) (SENT(R, S, 1) || SENT(R, S, 2) || SENT(R, S, 3))
#elif NB == 4
#define TRIED(R, S) (SENT(R, S, 1) || SENT(R, S, 2) || SENT(R, S, 3) || SENT(R, S, 4))
#endif

/* ---- replica state -------------------------------------------------- */
byte promised[NR * NS];   /* per replica, per slot: highest ballot promised */
byte vbal[NR * NS];       /* ballot of the vote it holds; 0 = none */
byte val[NR * NS];        /* the value of its entry; 0 = no entry */
bool committed[NR * NS];
byte known[NR * 3];       /* D1 */
#ifdef NO_CLOSURE
byte heard[NR * 3];       /* slots heard of, closure included (R1's trigger) */
#define HEARD(r, c) heard[KX(r, c)]
#else
#define HEARD(r, c) known[KX(r, c)]
#endif
byte nextl[3];            /* P1: next lsn of the owner's column */
byte stopped = NOSTOP;    /* the replica that stopped, if any */
byte budget = NATT;       /* attempts left beyond each owner's first one */
#ifdef JOIN
/* §12 J: replica JR crashes once and rejoins without memory */
byte jphase;              /* 0: its old incarnation runs; 1: it restarted and
                           * sent JOIN (J1), answers pending; 2: joined */
bool ansd[NR];            /* peer q answered JOIN: it has seen the new
                           * incarnation, and drops the old one's messages (J0) */
byte ansH[NR * 3];        /*   its answer: H_q[c], one past the highest lsn it
                           *   has seen (known_q); cleared once used */
byte jH[3];               /* J2: H = max of the two answers */
byte jL;                  /* J3: L; the joiner's new instances start there */
#ifdef JPEERL
byte jfl[NR];             /* the engine's J3: peer q's own floor H_q[own] +
                           * INFL, set when it answers JOIN */
#endif
bool jdn[NR];             /* peer q got JOINED(L): it recovers JR's column
                           * below L with the other peer only (J3) */
#endif
#ifdef LAZY
byte lphase;              /* 0: LR's first life; 1: restarted from its disk */
#endif

/* ---- the network: every message ever sent -------------------------- */
byte acc_to[NS * NBAL];   /* ACCEPT(slot, b): bit k = sent to PEER(owner of b, k) */
byte acc_v[NS * NBAL];    /*   the proposer's snapshot: its value */
byte acc_vb[NS * NBAL];   /*   and its vbal */
byte rep[2 * NS * NBAL];  /* ACCEPT_REPLY OK(slot, b) from peer k: the value */
#ifdef JOIN
byte repo[NS * NBAL];     /* the OKs JR's old incarnation sent (for ballots of
                           * others), still in the network after its crash */
byte ocm;                 /* bit s: JR's old incarnation held slot s committed:
                           * its COMMITs (and FETCH_REPLYs) are still in flight */
#endif
/* COMMIT, A0's "OK, committed" and C2's FETCH_REPLY all carry a committed
 * value from a replica that holds it; they are modelled together as "a
 * replica may learn a slot committed at any other replica, at any time"
 * (see G_LEARN), which needs no message state. */

/* ---- ghost state, for the checks only ------------------------------ */
byte cv[NS];              /* the value chosen or committed first; 0 = none yet */
byte rt[NS];              /* §8: bit x = slot x was acknowledged when this slot
                           * was allocated */
#ifdef JOIN
byte oack;                /* bit x: JR's old incarnation acknowledged slot x */
byte jold;                /* nextl of JR's old incarnation, for J3's premise */
#endif

/* ---- scratch of the single process: hidden (not part of the state), and
 * only used inside one d_step, which starts by setting what it reads */
hidden byte r, s, n, k, b, p, q, c, d, e, h, i, t, x, v;
hidden byte sval, sbal, qval, qbal, nv, vis, blk, best, ndep, pick;
hidden byte ap[3];
hidden byte chk;          /* a value was chosen in this step: check §7/§8 */

inline reset() {
	r = 0; s = 0; n = 0; k = 0; b = 0; p = 0; q = 0; c = 0; d = 0; e = 0;
	h = 0; i = 0; t = 0; x = 0; v = 0; sval = 0; sbal = 0; qval = 0;
	qbal = 0; nv = 0; vis = 0; blk = 0; best = 0; ndep = 0; pick = 0;
	ap[0] = 0; ap[1] = 0; ap[2] = 0
}

/* trail narration (printf is silent during verification) */
/* slot as a0, b1, ...; value as C[deps] (client command) or N[deps]
 * (NOOP); ballot as (n,r) */
#define SLOTA(y) 'a' + COL(y), LSN(y)
#define VALA(y) (CMD(y) -> 'C' : 'N'), DEP(y, 0), DEP(y, 1), DEP(y, 2)
#define BALA(y) (y) / 3, (y) % 3

#define CHECK(cond, msg) \
	if \
	:: !(cond) -> printf(msg); assert(cond) \
	:: else -> skip \
	fi

/* ==================================================================== */
/* §7: the apply order.                                                  */
/*                                                                       */
/* One apply step at a replica depends only on its applied counts, the   */
/* start column and the values of the heads the walk visits, all of which */
/* must be committed (or the start is blocked).  So a replica's apply     */
/* sequence does not depend on when it learnt what: a step it takes with  */
/* some committed set, it takes the same way with any larger set.  And    */
/* committed values are the chosen values (agreement).  Hence "every     */
/* replica applies the same sequence, whatever it has committed, whenever */
/* its applier runs and whatever start it tries" holds iff, over the set  */
/* of all chosen values, from every applied state the greedy rule         */
/* reaches, every unblocked start picks the same instance.  `path` checks */
/* exactly that, each time a value is chosen.                             */
/* ==================================================================== */

/* committed / value of slot y, from the chosen values (global) or from
 * replica w's own committed entries */
#define ISC(y) (global -> cv[y] != 0 : committed[IX(w, y)])
#define VAL(y) (global -> cv[y] : val[IX(w, y)])

/* walk from start column c with applied counts ap[]: x = the visited head
 * with the smallest (|deps|, column), or NIL when a visited head is not
 * committed (blocked start) */
inline walk(global, w) {
	vis = 1 << c;
	blk = 0;
	for (i : 1 .. 3) {
		for (d : 0 .. 2) {
			if
			:: ((vis >> d) & 1) && !blk ->
				assert(ap[d] < LEN(d));      /* deps name existing slots only */
				h = BASE(d) + ap[d];
				if
				:: !ISC(h) -> blk = 1
				:: else ->
					for (e : 0 .. 2) {
						if
						:: e != d && DEP(VAL(h), e) > ap[e] -> vis = vis | (1 << e)
						:: else -> skip
						fi
					}
				fi
			:: else -> skip
			fi
		}
	}
	if
	:: blk -> x = NIL
	:: else ->
		best = NIL;
		for (d : 0 .. 2) {
			if
			:: (vis >> d) & 1 ->
				h = BASE(d) + ap[d];
				ndep = 0;
				for (e : 0 .. 2) {
					if
					:: e != d && DEP(VAL(h), e) > ap[e] -> ndep++
					:: else -> skip
					fi
				}
				if
				:: ndep * 4 + d < best -> best = ndep * 4 + d
				:: else -> skip
				fi
			:: else -> skip
			fi
		}
		x = BASE(best % 4) + ap[best % 4]
	fi
}

/* Apply greedily from nothing until every start is blocked; ap[] ends as
 * the applied counts.  global: over the chosen values, checking that the
 * pick never depends on the start (§7) and that everything acknowledged
 * before a slot was allocated is applied before it (§8). */
inline path(global, w) {
	ap[0] = 0; ap[1] = 0; ap[2] = 0;
	do
	:: true ->
		pick = NIL;
		for (c : 0 .. 2) {
			if
			:: ap[c] < LEN(c) && ISC(BASE(c) + ap[c]) ->
				walk(global, w);
				if
				:: x == NIL -> skip
				:: x != NIL && pick == NIL -> pick = x
				:: x != NIL && pick != NIL ->
					if
					:: global ->
						if
						:: x != pick ->
							printf("from applied [%d,%d,%d]: one start picks %c%d, start column %d picks %c%d\n",
							       ap[0], ap[1], ap[2], SLOTA(pick), c, SLOTA(x))
						:: else -> skip
						fi;
						CHECK(x == pick,
						      "VIOLATION §7: the apply step depends on the start: replicas can apply different sequences\n")
					:: else -> skip
					fi
				fi
			:: else -> skip
			fi
		}
		if
		:: pick == NIL -> break
		:: else ->
			if
			:: global ->
				for (t : 0 .. NS - 1) {
					if
					:: (rt[pick] >> t) & 1 ->
						if
						:: ap[COL(t)] <= LSN(t) ->
							printf("%c%d, allocated after %c%d was acknowledged, is applied before it\n",
							       SLOTA(pick), SLOTA(t))
						:: else -> skip
						fi;
						CHECK(ap[COL(t)] > LSN(t),
						      "VIOLATION §8: a write acknowledged before another was created is applied after it\n")
					:: else -> skip
					fi
				}
			:: else -> skip
			fi;
			ap[COL(pick)]++
		fi
	od
}

/* ==================================================================== */
/* Protocol steps.                                                       */
/* ==================================================================== */

/* D1: record the instance's own slot first, then its deps.  NO_CLOSURE:
 * deps come from plain log lengths (known records only the slots themselves)
 * while R1 still learns of slots through deps (heard, the closure). */
inline learn(lr, lv, ls) {
#ifndef NO_CLOSURE
	known[KX(lr, COL(ls))] = MAX(known[KX(lr, COL(ls))], LSN(ls) + 1);
	known[KX(lr, 0)] = MAX(known[KX(lr, 0)], DEP(lv, 0));
	known[KX(lr, 1)] = MAX(known[KX(lr, 1)], DEP(lv, 1));
	known[KX(lr, 2)] = MAX(known[KX(lr, 2)], DEP(lv, 2))
#else
	known[KX(lr, COL(ls))] = MAX(known[KX(lr, COL(ls))], LSN(ls) + 1);
	heard[KX(lr, COL(ls))] = MAX(heard[KX(lr, COL(ls))], LSN(ls) + 1);
	heard[KX(lr, 0)] = MAX(heard[KX(lr, 0)], DEP(lv, 0));
	heard[KX(lr, 1)] = MAX(heard[KX(lr, 1)], DEP(lv, 1));
	heard[KX(lr, 2)] = MAX(heard[KX(lr, 2)], DEP(lv, 2))
#endif
}

/* A value is chosen (two votes at one ballot) or committed somewhere.
 * Agreement: it is the only value ever chosen or committed for the slot.
 * §7's premise: it is related to every chosen value of another column (one
 * depends on the other).  Then the apply order is checked over all chosen
 * values. */
inline chosen(cs, cval) {
	if
	:: cv[cs] == 0 ->
		cv[cs] = cval;
		for (t : 0 .. NS - 1) {
			if
			:: cv[t] != 0 && COL(t) != COL(cs) ->
				CHECK(DEP(cval, COL(t)) > LSN(t) || DEP(cv[t], COL(cs)) > LSN(cs),
				      "VIOLATION §7 premise: two committed instances of different columns are unrelated\n")
			:: else -> skip
			fi
		}
		chk = 1                              /* path(1, 0) after the step */
	:: else ->
		CHECK(cv[cs] == cval,
		      "VIOLATION agreement: a slot is chosen or committed with two different values\n")
	fi
}

/* C1 (and the commit of P4): record, mark committed, update known */
inline commit(cr, cs, cval) {
	if
	:: committed[IX(cr, cs)] ->
		CHECK(val[IX(cr, cs)] == cval,
		      "VIOLATION C1: a committed slot receives a different value\n")
	:: else ->
		val[IX(cr, cs)] = cval;
		committed[IX(cr, cs)] = 1;
		learn(cr, cval, cs);
		printf("R%d commits %c%d = %c[%d,%d,%d]\n", cr, SLOTA(cs), VALA(cval))
	fi;
	chosen(cs, cval)
}

/* §8 ghost: is slot y acknowledged now?  P5: it is applied at its owner
 * (ap[] holds the owner's applied counts) and holds the owner's client
 * command (a NOOP acknowledges nothing; P7 re-proposes the command).  The
 * owner's applier may run at any time, so "applied" is taken as far as it
 * can go: the most acknowledgements, the strongest check. */
#ifdef ACK_AT_COMMIT
#define ACKED0(y) (committed[IX(COL(y), y)] && CMD(val[IX(COL(y), y)]))
#else
#define ACKED0(y) (ap[COL(y)] > LSN(y) && CMD(val[IX(COL(y), y)]))
#endif
#ifdef JOIN
/* J4: the joiner's old clients' commands have an unknown outcome: it does
 * not acknowledge the slots of its old column (below L); its old
 * incarnation's acknowledgements are kept in oack */
#define ACKED(y) (ACKED0(y) && (COL(y) != JR || jphase == 0 || \
                                (jphase == 2 && LSN(y) >= jL)))
#define OACK(s) rt[s] = rt[s] | oack
#else
#define ACKED(y) ACKED0(y)
#define OACK(s) skip
#endif

/* P1: owner P allocates its next slot; deps = known (D2); and the ghost
 * records what was acknowledged before this slot existed. */
#if defined(JOIN) || defined(LAZY)
/* the committed prefix of column c at replica R (columns of <= 3 slots) */
#define CM(R, c, l) ((l) < LEN(c) && committed[IX(R, BASE(c) + (l))])
#define CPRE(R, c)  (CM(R, c, 0) -> (CM(R, c, 1) -> (CM(R, c, 2) -> 3 : 2) : 1) : 0)
#endif
#ifdef JOIN
/* the old incarnation's window (inflight_max, engine/propose.c); the new
 * one allocates from L once joined (J1, J3) */
#define JALLOC(P) (P != JR || (jphase == 0 && nextl[P] < CPRE(P, P) + INFL) || jphase == 2)
#elif defined(LAZY)
/* LR's window in both lives: what bounds the first attempts it can lose */
#define JALLOC(P) (P != LR || nextl[P] < CPRE(P, P) + INFL)
#else
#define JALLOC(P) 1
#endif
#define G_ALLOC(P) (P != stopped && nextl[P] < LEN(P) && JALLOC(P))
inline allocate(P) {
	s = BASE(P) + nextl[P];
	CHECK(val[IX(P, s)] == 0 && promised[IX(P, s)] == 0 && !committed[IX(P, s)],
	      "VIOLATION P1: the owner allocates a slot it already holds (an entry, a promise or a commit)\n");
	nextl[P]++;
	known[KX(P, P)] = MAX(known[KX(P, P)], nextl[P]);
	val[IX(P, s)] = MKV(1, known[KX(P, 0)], known[KX(P, 1)], known[KX(P, 2)]);
	printf("R%d allocates %c%d = %c[%d,%d,%d]\n", P, SLOTA(s), VALA(val[IX(P, s)]));
	for (q : 0 .. 2) {
		path(0, q);                      /* q's applier, run as far as it goes */
		for (t : 0 .. NS - 1) {
			if
			:: COL(t) == q && ACKED(t) -> rt[s] = rt[s] | (1 << t)
			:: else -> skip
			fi
		}
	};
	OACK(s)
}

/* P2/P3/P6 (owner R) and R1 (non-owner R): a new attempt on slot S with
 * a fresh ballot (N, R) above R's promise, shipped to one peer K.  P2 picks
 * n = max(promised.n, highest n seen) + 1; here any fresh n above the
 * promise may be picked (a superset: REJECTs need not be modelled). */
#define FIRST(R, S) (R == COL(S) && !TRIED(R, S))
#ifndef FIRSTN
#define FIRSTN(R, S) (MAX(promised[IX(R, S)] / 3, NLO(R)) + 1)
#endif
#ifdef JOIN
/* J2: below the joiner's horizon (its own column: below L, J3), unless it
 * holds the slot committed */
#define BELOW(S) (!committed[IX(JR, S)] && \
                  (COL(S) == JR -> LSN(S) < jL : LSN(S) < jH[COL(S)]))
#ifdef JVOTE
#define JNOVOTE(S) 0
#else
#define JNOVOTE(S) (jphase == 1 || (jphase == 2 && BELOW(S)))
#endif
#ifdef JSELFREC
#define JNOATT(S) (jphase == 1 || (jphase == 2 && BELOW(S) && COL(S) != JR))
#else
#define JNOATT(S) (jphase == 1 || (jphase == 2 && BELOW(S)))
#endif
/* R may attempt S (J2), and ship it to its peer K: J3's recoveries of the
 * abandoned column go to the other peer, never to the joiner */
#define JATT(R, S, K) \
	((R != JR || !JNOATT(S)) && \
	 (R == JR || COL(S) != JR || LSN(S) >= JFLOOR(R) || PEER(R, K) != JR))
#ifdef JPEERL
#define JFLOOR(R) jfl[R]
#else
#define JFLOOR(R) (jdn[R] -> jL : 0)
#endif
#else
#define JATT(R, S, K) 1
#endif
#define G_ATT(R, S, N, K) \
	(R != stopped && !committed[IX(R, S)] && BAL(N, R) > promised[IX(R, S)] && \
	 INC_OK(R, N) && JATT(R, S, K) && \
	 ((R == COL(S) && LSN(S) < nextl[R]) || \
	  (R != COL(S) && LSN(S) < HEARD(R, COL(S)))) && \
	 ((FIRST(R, S) && N == FIRSTN(R, S)) || budget > 0))
inline attempt(R, S, N, K) {
	if
	:: FIRST(R, S) && N == FIRSTN(R, S) -> skip
	:: else -> budget--
	fi;
	b = BAL(N, R);
	promised[IX(R, S)] = b;
	assert(acc_to[MI(S, b)] == 0);           /* P2: never used before */
	acc_to[MI(S, b)] = 1 << K;
	if
	:: val[IX(R, S)] != 0 ->                 /* its entry, with its vote if any */
		acc_v[MI(S, b)] = val[IX(R, S)];
		acc_vb[MI(S, b)] = vbal[IX(R, S)]
	:: else ->                               /* R1: a NOOP, deps = known_r, not stored */
		acc_v[MI(S, b)] = MKV(0, known[KX(R, 0)], known[KX(R, 1)], known[KX(R, 2)]);
		acc_vb[MI(S, b)] = 0
	fi;
	printf("R%d sends ACCEPT %c%d ballot (%d,%d) to R%d, snapshot %c[%d,%d,%d] vbal (%d,%d)\n",
	       R, SLOTA(S), BALA(b), PEER(R, K), VALA(acc_v[MI(S, b)]), BALA(acc_vb[MI(S, b)]))
}

/* REUSE_BALLOT: the bug P2/P3 forbid, a retry with the current ballot to
 * the other peer */
#define G_REUSE(R, S) \
	(R != stopped && !committed[IX(R, S)] && promised[IX(R, S)] != 0 && \
	 BOWN(promised[IX(R, S)]) == R && acc_to[MI(S, promised[IX(R, S)])] != 0 && \
	 acc_to[MI(S, promised[IX(R, S)])] != 3)
inline reuse(R, S) {
	acc_to[MI(S, promised[IX(R, S)])] = 3;
	printf("R%d re-sends ACCEPT %c%d ballot (%d,%d) to its other peer too\n",
	       R, SLOTA(S), BALA(promised[IX(R, S)]))
}

/* A0-A6: peer q = PEER(owner of B, K) handles ACCEPT(B, S, snapshot) */
#ifdef JOIN
/* J0: ACCEPTs of JR's old incarnation, once JR restarted */
#define OLDB(B) (BOWN(B) == JR && jphase != 0 && OLDN((B) / 3))
#ifdef JNODROP
#define DROP(q) 0
#else
#define DROP(q) ansd[q]           /* q has seen the new incarnation */
#endif
#define JACC(S, B, K) \
	((PEER(BOWN(B), K) != JR || !JNOVOTE(S)) && \
	 !(OLDB(B) && DROP(PEER(BOWN(B), K))))
#else
#define JACC(S, B, K) 1
#endif
#define G_ACC(S, B, K) (((acc_to[MI(S, B)] >> K) & 1) && PEER(BOWN(B), K) != stopped && \
                        JACC(S, B, K))
inline accept(S, B, K) {
	p = BOWN(B);
	q = PEER(p, K);
	sval = acc_v[MI(S, B)];
	sbal = acc_vb[MI(S, B)];
	learn(q, sval, S);                       /* D1: it receives an instance */
#if defined(LAZY) && !defined(LNOFLOOR)
	if                                       /* S4: the lost first attempts' promises */
	:: q == LR && lphase != 0 && COL(S) == LR && promised[IX(q, S)] < BAL(1, LR) ->
		promised[IX(q, S)] = BAL(1, LR)
	:: else -> skip
	fi;
#endif
	if
	:: committed[IX(q, S)] ->                /* A0: reply OK, committed */
		printf("R%d gets ACCEPT %c%d (%d,%d): committed already, tells R%d\n",
		       q, SLOTA(S), BALA(B), p)
	:: !committed[IX(q, S)] && B < promised[IX(q, S)] ->
		printf("R%d gets ACCEPT %c%d (%d,%d): REJECT, promised (%d,%d)\n",
		       q, SLOTA(S), BALA(B), BALA(promised[IX(q, S)]))
		                                     /* A1: REJECT; P6 may retry any time */
	:: !committed[IX(q, S)] && B >= promised[IX(q, S)] ->
		promised[IX(q, S)] = B;              /* A1 */
		if
		:: val[IX(q, S)] == 0 ->             /* A2: fresh entry, no vote */
			val[IX(q, S)] = MKV(CMD(sval),
				MAX(DEP(sval, 0), known[KX(q, 0)]),
				MAX(DEP(sval, 1), known[KX(q, 1)]),
				MAX(DEP(sval, 2), known[KX(q, 2)]));
			vbal[IX(q, S)] = 0
		:: else -> skip
		fi;
		qval = val[IX(q, S)];
		qbal = vbal[IX(q, S)];
		if                                   /* A3: highest vote wins */
		:: sbal == 0 && qbal == 0 ->         /* no vote: merge, commands win */
			nv = MKV(CMD(sval) | CMD(qval),
				MAX(DEP(sval, 0), DEP(qval, 0)),
				MAX(DEP(sval, 1), DEP(qval, 1)),
				MAX(DEP(sval, 2), DEP(qval, 2)))
		:: sbal > qbal -> nv = sval          /* a voted value, unchanged */
		:: qbal > sbal -> nv = qval
		:: sbal == qbal && sbal != 0 ->
#ifndef LAX
			CHECK(sval == qval, "VIOLATION A3: equal vbal with different values\n");
#endif
			nv = sval                        /* (equal, unless LAX) */
		fi;
		vbal[IX(q, S)] = B;                  /* A4: vote */
		val[IX(q, S)] = nv;
		learn(q, nv, S);
		printf("R%d gets ACCEPT %c%d (%d,%d) from R%d: its entry %c[%d,%d,%d] vbal (%d,%d); votes %c[%d,%d,%d]\n",
		       q, SLOTA(S), BALA(B), p, VALA(qval), BALA(qbal), VALA(nv));
		CHECK(rep[RI(S, B, K)] == 0 || rep[RI(S, B, K)] == nv,
		      "VIOLATION A6: a duplicated ACCEPT votes a different value\n");
#if defined(JOIN) && !defined(LAX)
		if                                   /* J2's hazard, caught at the vote */
		:: q == JR ->
			CHECK(repo[MI(S, B)] == 0 || repo[MI(S, B)] == nv,
			      "VIOLATION: two different votes at one ballot (the joiner's and its old incarnation's)\n")
		:: else -> skip
		fi;
#endif
		rep[RI(S, B, K)] = nv;               /* reply OK with the value */
		if
		:: rep[RI(S, B, 1 - K)] != 0 ->      /* the other peer voted at B too */
#ifndef LAX
			CHECK(rep[RI(S, B, 1 - K)] == nv,
			      "VIOLATION: two different votes at one ballot\n");
#endif
			if
			:: rep[RI(S, B, 1 - K)] == nv -> chosen(S, nv)
			:: else -> skip
			fi
		:: else -> skip
		fi
#ifdef COMMIT_ON_SPOT
		;
		if                                   /* the Go reference's shortcut */
		:: sbal != 0 && sbal >= qbal ->
			printf("R%d commits %c%d on the spot (sender's vbal (%d,%d) >= its own (%d,%d))\n",
			       q, SLOTA(S), BALA(sbal), BALA(qbal));
			commit(q, S, nv)
		:: else -> skip
		fi
#endif
	fi
}

/* P4: the proposer, owner of B, handles ACCEPT_REPLY OK(S, B, value) */
#define G_REP(S, B, K) (rep[RI(S, B, K)] != 0 && BOWN(B) != stopped)
inline reply(S, B, V) {
	p = BOWN(B);
	v = V;
	learn(p, v, S);
	if
	:: !committed[IX(p, S)] && promised[IX(p, S)] == B ->
		vbal[IX(p, S)] = B;                  /* it votes the value at B: chosen */
		val[IX(p, S)] = v;
		printf("R%d gets OK %c%d (%d,%d) %c[%d,%d,%d]: votes it, chosen\n",
		       p, SLOTA(S), BALA(B), VALA(v));
		commit(p, S, v)                      /* and COMMIT to both peers */
	:: else -> skip                          /* stale ballot, or committed already */
	fi
}

/* C1/C2: replica R learns slot S committed elsewhere (a COMMIT, an A0
 * reply or a FETCH_REPLY), with the value held there: cv[S], as any
 * committed value that differs from cv has already failed a check */
#ifdef JOIN
/* ... or from a COMMIT of JR's old incarnation still in flight (J0) */
#define JLEARN(S, R) (R != JR && ((ocm >> S) & 1) && !DROP(R))
#else
#define JLEARN(S, R) 0
#endif
#define G_LEARN(S, R) \
	(R != stopped && !committed[IX(R, S)] && \
	 (committed[IX(0, S)] || committed[IX(1, S)] || committed[IX(2, S)] || \
	  JLEARN(S, R)))

#ifdef JOIN
/* J0: an OK of JR's old incarnation reaches the proposer (unless dropped) */
#define G_REPO(S, B) (repo[MI(S, B)] != 0 && BOWN(B) != stopped && !DROP(BOWN(B)))

/* JR crashes and restarts without memory: promises, votes, values, commits,
 * known and its next lsn are gone.  It takes a new incarnation (J0) and
 * sends JOIN to both peers (J1).  Its old messages stay in the network. */
inline crash() {
	path(0, JR);                             /* its applier, as far as it went */
	for (h : 0 .. NS - 1) {
		if
		:: COL(h) == JR && ACKED(h) -> oack = oack | (1 << h)
		:: else -> skip
		fi;
		if
		:: committed[IX(JR, h)] -> ocm = ocm | (1 << h)
		:: else -> skip
		fi;
		promised[IX(JR, h)] = 0;
		vbal[IX(JR, h)] = 0;
		val[IX(JR, h)] = 0;
		committed[IX(JR, h)] = 0;
		for (b : 3 .. 3 * NB + 2) {           /* its OKs become old ones */
			if
			:: BOWN(b) != JR ->
				k = (JR + 2 - BOWN(b)) % 3;  /* PEER(BOWN(b), k) == JR */
				repo[MI(h, b)] = rep[RI(h, b, k)];
				rep[RI(h, b, k)] = 0
			:: else -> skip
			fi
		}
	};
	known[KX(JR, 0)] = 0; known[KX(JR, 1)] = 0; known[KX(JR, 2)] = 0;
	jold = nextl[JR];
	nextl[JR] = 0;
	jphase = 1;
	printf("R%d crashes and restarts without memory; sends JOIN\n", JR)
}

/* J1: peer Q answers JOIN with H_Q = known_Q; from now on it drops the old
 * incarnation's messages (J0) */
#define G_ANS(Q) (Q != JR && jphase != 0 && !ansd[Q] && Q != stopped)
inline answer(Q) {
	ansd[Q] = 1;
	ansH[KX(Q, 0)] = known[KX(Q, 0)];
	ansH[KX(Q, 1)] = known[KX(Q, 1)];
	ansH[KX(Q, 2)] = known[KX(Q, 2)];
#ifdef JPEERL
#ifdef JFROMH
	jfl[Q] = known[KX(Q, JR)];               /* no gap on either side */
#else
	jfl[Q] = known[KX(Q, JR)] + INFL;
#endif
	if
	:: jfl[Q] > LEN(JR) -> jfl[Q] = LEN(JR)
	:: else -> skip
	fi;
	known[KX(Q, JR)] = jfl[Q];
#endif
	printf("R%d answers JOIN: H = [%d,%d,%d]\n", Q, known[KX(Q, 0)], known[KX(Q, 1)], known[KX(Q, 2)])
}

/* J1-J3: both answers are in: H, L; the joiner's new instances start at L;
 * JOINED(L) goes to both peers */
#define JP1 ((JR + 1) % 3)
#define JP2 ((JR + 2) % 3)
#define G_JOINED (jphase == 1 && ansd[JP1] && ansd[JP2])
inline joined() {
	for (c : 0 .. 2) {
		jH[c] = MAX(ansH[KX(JP1, c)], ansH[KX(JP2, c)]);
		known[KX(JR, c)] = MAX(known[KX(JR, c)], jH[c]);
		ansH[KX(JP1, c)] = 0;
		ansH[KX(JP2, c)] = 0
	};
	CHECK(jold <= jH[JR] + INFL,
	      "VIOLATION J3 premise: the old incarnation allocated beyond H[own] + inflight_max\n");
	jold = 0;
#ifdef JFROMH
	jL = jH[JR];
#else
	jL = jH[JR] + INFL;
#endif
	if
	:: jL > LEN(JR) -> jL = LEN(JR)          /* no slots beyond the column */
	:: else -> skip
	fi;
	known[KX(JR, JR)] = MAX(known[KX(JR, JR)], jL);
	nextl[JR] = jL;
	jphase = 2;
#ifdef JPEERL
	printf("R%d joined: H = [%d,%d,%d], L = %d\n", JR, jH[0], jH[1], jH[2], jL)
#else
	printf("R%d joined: H = [%d,%d,%d], L = %d; sends JOINED(L)\n", JR, jH[0], jH[1], jH[2], jL)
#endif
}

/* J3 at peer Q: JOINED(L) raises known[JR] to L; Q recovers the slots below
 * L with the other peer (JATT) */
#ifdef JPEERL
#define G_JD(Q) 0                 /* no JOINED: each peer set its floor at JOIN */
#else
#define G_JD(Q) (Q != JR && jphase == 2 && !jdn[Q] && Q != stopped)
#endif
inline jdone(Q) {
	jdn[Q] = 1;
	known[KX(Q, JR)] = MAX(known[KX(Q, JR)], jL);
	printf("R%d gets JOINED(%d)\n", Q, jL)
}
#define REPO_B(S, B)      STEP(G_REPO(S, B), reply(S, B, repo[MI(S, B)]))
#else
#define REPO_B(S, B)
#endif

#ifdef LAZY
/* §12 S4: LR crashes and restarts from its disk.  Every record is there but
 * those of the first attempts whose sync had not come (an own slot with its
 * promise at (1, LR) and no vote: lost, the ACCEPT still in the network).
 * known and the next lsn are rebuilt from what is left (S2); the next lsn is
 * at least the committed prefix plus INFL (S4's gap); later ballots are the
 * new life's.  Its messages stay in the network. */
inline lcrash() {
	for (h : 0 .. NS - 1) {
		if
		:: COL(h) == LR && vbal[IX(LR, h)] == 0 && !committed[IX(LR, h)] &&
		   promised[IX(LR, h)] == BAL(1, LR) ->
			printf("R%d loses its unsynced first attempt on %c%d\n", LR, SLOTA(h));
			promised[IX(LR, h)] = 0;
			val[IX(LR, h)] = 0
		:: else -> skip
		fi
	};
	known[KX(LR, 0)] = 0; known[KX(LR, 1)] = 0; known[KX(LR, 2)] = 0;
	nextl[LR] = 0;
	for (h : 0 .. NS - 1) {
		if
		:: val[IX(LR, h)] != 0 -> learn(LR, val[IX(LR, h)], h)
		:: else -> skip
		fi;
		if
		:: promised[IX(LR, h)] != 0 || val[IX(LR, h)] != 0 ->
			known[KX(LR, COL(h))] = MAX(known[KX(LR, COL(h))], LSN(h) + 1);
			if
			:: COL(h) == LR -> nextl[LR] = MAX(nextl[LR], LSN(h) + 1)
			:: else -> skip
			fi
		:: else -> skip
		fi
	};
	nextl[LR] = MAX(nextl[LR], CPRE(LR, LR) + INFL);
	if
	:: nextl[LR] > LEN(LR) -> nextl[LR] = LEN(LR)
	:: else -> skip
	fi;
	known[KX(LR, LR)] = MAX(known[KX(LR, LR)], nextl[LR]);
	lphase = 1;
	printf("R%d restarts from its disk; next lsn %d\n", LR, nextl[LR])
}
#endif

/* ==================================================================== */
/* Enumerating the steps: one d_step alternative per parameter tuple.    */
/* ==================================================================== */

#if NS >= 1
#define ES1(M) M(0)
#else
#define ES1(M)
#endif
#if NS >= 2
#define ES2(M) ES1(M) M(1)
#else
#define ES2(M) ES1(M)
#endif
#if NS >= 3
#define ES3(M) ES2(M) M(2)
#else
#define ES3(M) ES2(M)
#endif
#if NS >= 4
#define ES4(M) ES3(M) M(3)
#else
#define ES4(M) ES3(M)
#endif
#if NS >= 5
#define ES5(M) ES4(M) M(4)
#else
#define ES5(M) ES4(M)
#endif
#if NS >= 6
#define ES6(M) ES5(M) M(5)
#else
#define ES6(M) ES5(M)
#endif
#if NS >= 7
#define ES7(M) ES6(M) M(6)
#else
#define ES7(M) ES6(M)
#endif
#if NS >= 8
#define EACH_S(M) ES7(M) M(7)
#else
#define EACH_S(M) ES7(M)
#endif
#if NS > 8
#error "at most 8 slots"
#endif

#if NB == 1
#define EACH_N(M, A, B2) M(A, B2, 1)
#define EACH_B(M, A) M(A, 3) M(A, 4) M(A, 5)
#elif NB == 2
#define EACH_N(M, A, B2) M(A, B2, 1) M(A, B2, 2)
#define EACH_B(M, A) M(A, 3) M(A, 4) M(A, 5) M(A, 6) M(A, 7) M(A, 8)
#elif NB == 3
#define EACH_N(M, A, B2) M(A, B2, 1) M(A, B2, 2) M(A, B2, 3)
#define EACH_B(M, A) M(A, 3) M(A, 4) M(A, 5) M(A, 6) M(A, 7) M(A, 8) \
	M(A, 9) M(A, 10) M(A, 11)
#elif NB == 4
#define EACH_N(M, A, B2) M(A, B2, 1) M(A, B2, 2) M(A, B2, 3) M(A, B2, 4)
#define EACH_B(M, A) M(A, 3) M(A, 4) M(A, 5) M(A, 6) M(A, 7) M(A, 8) \
	M(A, 9) M(A, 10) M(A, 11) M(A, 12) M(A, 13) M(A, 14)
#else
#error "NB must be 1..4"
#endif

#define STEP(G, BODY) :: d_step { G -> BODY; reset() }

#define ALLOC(P)          STEP(G_ALLOC(P), allocate(P))
#define ATT(R, S, N, K)   STEP(G_ATT(R, S, N, K), attempt(R, S, N, K))
#define ATT_K(S, R, N)    ATT(R, S, N, 0) ATT(R, S, N, 1)
#define ATT_S(S)          EACH_N(ATT_K, S, 0) EACH_N(ATT_K, S, 1) EACH_N(ATT_K, S, 2)
#define REUSE_S(S)        STEP(G_REUSE(0, S), reuse(0, S)) \
                          STEP(G_REUSE(1, S), reuse(1, S)) \
                          STEP(G_REUSE(2, S), reuse(2, S))
#define ACC_B(S, B)       STEP(G_ACC(S, B, 0), accept(S, B, 0)) \
                          STEP(G_ACC(S, B, 1), accept(S, B, 1))
#define ACC_S(S)          EACH_B(ACC_B, S)
#define REP_B(S, B)       STEP(G_REP(S, B, 0), reply(S, B, rep[RI(S, B, 0)])) \
                          STEP(G_REP(S, B, 1), reply(S, B, rep[RI(S, B, 1)])) \
                          REPO_B(S, B)
#define REP_S(S)          EACH_B(REP_B, S)
#define LEARN_S(S)        STEP(G_LEARN(S, 0), commit(0, S, cv[S])) \
                          STEP(G_LEARN(S, 1), commit(1, S, cv[S])) \
                          STEP(G_LEARN(S, 2), commit(2, S, cv[S]))

active proctype world()
{
	/* one transition = one protocol step, then, if it chose a value, the
	 * apply-order checks (one copy of that code instead of one per step) */
	do
	:: atomic {
		if
		ALLOC(0) ALLOC(1) ALLOC(2)
		EACH_S(ATT_S)
#ifdef REUSE_BALLOT
		EACH_S(REUSE_S)
#endif
		EACH_S(ACC_S)
		EACH_S(REP_S)
		EACH_S(LEARN_S)
#ifdef JOIN
		STEP(jphase == 0, crash())
		STEP(G_ANS(0), answer(0))
		STEP(G_ANS(1), answer(1))
		STEP(G_ANS(2), answer(2))
		STEP(G_JOINED, joined())
		STEP(G_JD(0), jdone(0))
		STEP(G_JD(1), jdone(1))
		STEP(G_JD(2), jdone(2))
#endif
#ifdef LAZY
		STEP(lphase == 0, lcrash())
#endif
#ifdef STOP
		:: d_step { stopped == NOSTOP -> stopped = 0; printf("R0 stops\n") }
		:: d_step { stopped == NOSTOP -> stopped = 1; printf("R1 stops\n") }
		:: d_step { stopped == NOSTOP -> stopped = 2; printf("R2 stops\n") }
#endif
		fi;
		d_step {
			if
			:: chk -> path(1, 0); chk = 0; reset()
			:: else -> skip
			fi
		}
	   }
	od
}
