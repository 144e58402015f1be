/*
 * mmp3.pml -- bounded model of the mmp3 replication protocol (PROTOCOL.md),
 * for the spin model checker.  See model/README.md for what is modelled, the
 * abstractions, the bounds and the results; model/check.sh runs it.
 *
 * Compile-time parameters (spin -DNAME=value):
 *   L0, L1, L2      slots (lsns) per column, 1..3 each            (default 1)
 *   NB              highest ballot number n, ballots are (n, r)   (default 2)
 *   STOP            one replica may stop at any point
 *   NOAPPLY         leave out the appliers (agreement-only runs)
 * Variants (each must make spin find a violation, or is the question asked):
 *   COMMIT_ON_SPOT  the acceptor commits at once when the sender's snapshot
 *                   carries a vote >= its own (Go reference; PROTOCOL A5, §11)
 *   REUSE_BALLOT    a retry reuses its ballot on the other peer (breaks P2/P3)
 *   NO_CLOSURE      known without the D1 closure: plain log lengths (only
 *                   the slots a replica handled itself, not their deps; §2)
 *   ACK_AT_COMMIT   the owner acknowledges at commit instead of at apply (P5)
 *
 * One process, whose every step is one atomic action: "any enabled action may
 * fire at any time".  That covers every timer (timeouts, retries, recovery
 * timers of R1/R2 are all over-approximated by "may happen now").
 *
 * The network is the set of every message ever sent; a message stays in the
 * set forever and may be delivered any number of times, in any order, or
 * never.  That is loss, duplication, delay and reordering at once.
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
#define NOSTOP 3

/* ---- slots ---------------------------------------------------------- */
#define LEN(c)   ((c) == 0 -> L0 : ((c) == 1 -> L1 : L2))
#define BASE(c)  ((c) == 0 -> 0 : ((c) == 1 -> L0 : (L0 + L1)))
#define COL(s)   ((s) < L0 -> 0 : ((s) < (L0 + L1) -> 1 : 2))
#define LSN(s)   ((s) - BASE(COL(s)))

/* ---- per-replica arrays ---------------------------------------------- */
#define IX(r, s) ((r) * NS + (s))
#define KX(r, c) ((r) * 3 + (c))

/* ---- values: (cmds, deps).  bit 0: 1 = the owner's client command,
 * 0 = NOOP; bits 1-2, 3-4, 5-6: deps[0], deps[1], deps[2].  0 = no value
 * (no real value has deps == 0: deps[own column] >= lsn + 1, D2).  The
 * value's proposer field is left out: for a client value it is always the
 * owner, and for a NOOP no rule reads it (P7 re-proposes on any NOOP). */
#define CMD(v)        ((v) & 1)
#define DEP(v, c)     (((v) >> (1 + 2 * (c))) & 3)
#define MKV(x, a, b, c) ((x) | ((a) << 1) | ((b) << 3) | ((c) << 5))
#define MAX(a, b)     ((a) > (b) -> (a) : (b))

/* ---- ballots: (n, r) encoded 3n + r, n = 1..NB; 0 = none.  The encoding
 * preserves the lexicographic order of (n, r). */
#define BAL(n, r)  (3 * (n) + (r))
#define BOWN(b)    ((b) % 3)

/* ---- messages ------------------------------------------------------- */
#define MI(s, b)     ((s) * NBAL + (b) - 3)       /* one ACCEPT per (slot, ballot) */
#define RI(s, b, k)  (2 * MI(s, b) + (k))         /* reply of peer k to it */
#define PEER(p, k)   (((p) + 1 + (k)) % 3)        /* k = 0, 1: the two peers of p */

/* ---- state ---------------------------------------------------------- */
byte promised[NR * NS];   /* per replica, per slot: highest ballot promised */
byte vbal[NR * NS];       /* ballot of the vote it holds; 0 = none */
byte val[NR * NS];        /* the value of its entry; 0 = no entry */
bool committed[NR * NS];
byte known[NR * 3];       /* D1 */
byte nextl[3];            /* P1: next lsn of the owner's column */
byte applied[NR * 3];     /* §7: applied prefix per column */
byte stopped = NOSTOP;    /* the replica that stopped, if any */

byte acc_to[NS * NBAL];   /* ACCEPT(slot, b): bit k = sent to PEER(owner(b), k) */
byte acc_v[NS * NBAL];    /*   the proposer's snapshot: value */
byte acc_vb[NS * NBAL];   /*   and its vbal */
byte rep[2 * NS * NBAL];  /* ACCEPT_REPLY OK(slot, b) from peer k: the value voted */
byte com[NS];             /* COMMIT(slot) sent to replica r: bit r (value: cv) */

/* ---- ghost state (checks only) ------------------------------------- */
byte cv[NS];              /* the value chosen (quorum) or committed first */
byte rt[NS];              /* §8: slots acknowledged when this slot was allocated */
byte ref[NS];             /* §7: the apply sequence (slot + 1), first come */

#define CHECK(cond, msg) \
	if \
	:: !(cond) -> printf(msg); assert(cond) \
	:: else -> skip \
	fi

/* ---- locals of the single process, zeroed after every action so that
 * they never distinguish two states */
byte r, s, n, k, b, p, q, c, d, e, h, i, t;
byte v, sval, sbal, qval, qbal, nv, vis, blk, best, cnt, pos;

inline reset() {
	r = 0; s = 0; n = 0; k = 0; b = 0; p = 0; q = 0; c = 0; d = 0; e = 0;
	h = 0; i = 0; t = 0; v = 0; sval = 0; sbal = 0; qval = 0; qbal = 0; nv = 0;
	vis = 0; blk = 0; best = 0; cnt = 0; pos = 0
}

/* D1: record the instance's own slot first, then its deps.  NO_CLOSURE:
 * plain log lengths, only the slots themselves are recorded. */
inline learn(lr, lv, ls) {
	known[KX(lr, COL(ls))] = MAX(known[KX(lr, COL(ls))], LSN(ls) + 1)
#ifndef NO_CLOSURE
	;
	known[KX(lr, 0)] = MAX(known[KX(lr, 0)], DEP(lv, 0));
	known[KX(lr, 1)] = MAX(known[KX(lr, 1)], DEP(lv, 1));
	known[KX(lr, 2)] = MAX(known[KX(lr, 2)], DEP(lv, 2))
#endif
}

/* A value is chosen (two votes at one ballot) or committed somewhere.
 * Agreement: it is the only value ever chosen or committed for the slot.
 * §7's premise: it is related to every other chosen value of another
 * column (one depends on the other). */
inline chosen(cs, cval) {
	if
	:: cv[cs] == 0 ->
		cv[cs] = cval;
		t = 0;
		do
		:: t < NS ->
			if
			:: cv[t] != 0 && COL(t) != COL(cs) ->
				CHECK(DEP(cval, COL(t)) > LSN(t) || DEP(cv[t], COL(cs)) > LSN(cs),
				      "VIOLATION: two committed instances of different columns are unrelated\n")
			:: else -> skip
			fi;
			t++
		:: else -> break
		od;
		t = 0
	:: else ->
		CHECK(cv[cs] == cval, "VIOLATION agreement: a slot chosen/committed with two values\n")
	fi
}

/* C1 (and P4's commit): record, mark committed, update known */
inline commit(cr, cs, cval) {
	if
	:: committed[IX(cr, cs)] ->
		CHECK(val[IX(cr, cs)] == cval, "VIOLATION C1: committed slot gets a different value\n")
	:: else ->
		val[IX(cr, cs)] = cval;
		committed[IX(cr, cs)] = 1;
		learn(cr, cval, cs)
	fi;
	chosen(cs, cval)
}

/* §7 apply step at replica r from start column c (locals r, c) */
inline apply_step() {
	vis = 1 << c;
	blk = 0;
	i = 0;
	do                              /* the walk: three rounds close it */
	:: i < 3 ->
		d = 0;
		do
		:: d < 3 ->
			if
			:: ((vis >> d) & 1) && !blk ->
				assert(applied[KX(r, d)] < LEN(d));
				h = BASE(d) + applied[KX(r, d)];
				if
				:: !committed[IX(r, h)] -> blk = 1   /* blocked start */
				:: else ->
					e = 0;
					do
					:: e < 3 ->
						if
						:: e != d && DEP(val[IX(r, h)], e) > applied[KX(r, e)] ->
							vis = vis | (1 << e)
						:: else -> skip
						fi;
						e++
					:: else -> break
					od
				fi
			:: else -> skip
			fi;
			d++
		:: else -> break
		od;
		i++
	:: else -> break
	od;
	if
	:: !blk ->
		best = 255;                 /* the (|deps|, column) minimum */
		d = 0;
		do
		:: d < 3 ->
			if
			:: (vis >> d) & 1 ->
				h = BASE(d) + applied[KX(r, d)];
				cnt = 0;
				e = 0;
				do
				:: e < 3 ->
					if
					:: e != d && DEP(val[IX(r, h)], e) > applied[KX(r, e)] -> cnt++
					:: else -> skip
					fi;
					e++
				:: else -> break
				od;
				if
				:: cnt * 4 + d < best -> best = cnt * 4 + d
				:: else -> skip
				fi
			:: else -> skip
			fi;
			d++
		:: else -> break
		od;
		d = best % 4;
		h = BASE(d) + applied[KX(r, d)];
		/* §7: every replica produces the same sequence */
		pos = applied[KX(r, 0)] + applied[KX(r, 1)] + applied[KX(r, 2)];
		CHECK(ref[pos] == 0 || ref[pos] == h + 1,
		      "VIOLATION §7: two replicas apply different sequences\n");
		ref[pos] = h + 1;
		/* §8: everything acknowledged before h was allocated comes first */
		t = 0;
		do
		:: t < NS ->
			if
			:: (rt[h] >> t) & 1 ->
				CHECK(applied[KX(r, COL(t))] > LSN(t),
				      "VIOLATION §8: a write acknowledged before another was created is applied after it\n")
			:: else -> skip
			fi;
			t++
		:: else -> break
		od;
		applied[KX(r, d)]++
	:: else -> skip
	fi
}

/* §8 ghost: is slot t acknowledged now?  P5: applied at its owner, and a
 * client value (a NOOP acknowledges nothing; P7 re-proposes). */
#ifdef ACK_AT_COMMIT
#define ACKED(t) (committed[IX(COL(t), t)] && CMD(val[IX(COL(t), t)]))
#else
#define ACKED(t) (applied[KX(COL(t), COL(t))] > LSN(t) && CMD(val[IX(COL(t), t)]))
#endif

active proctype world()
{
	do
	/* P1: the owner p allocates its next slot; deps = known (D2) */
	:: atomic {
		select(p : 0 .. 2);
		if
		:: p != stopped && nextl[p] < LEN(p) ->
			s = BASE(p) + nextl[p];
			nextl[p]++;
			known[KX(p, p)] = MAX(known[KX(p, p)], nextl[p]);
			val[IX(p, s)] = MKV(1, known[KX(p, 0)], known[KX(p, 1)], known[KX(p, 2)]);
			t = 0;
			do
			:: t < NS ->
				if
				:: ACKED(t) -> rt[s] = rt[s] | (1 << t)
				:: else -> skip
				fi;
				t++
			:: else -> break
			od
		:: else -> skip
		fi;
		reset()
	   }

	/* P2/P3/P6 (owner) and R1 (non-owner recovery): a new attempt on
	 * slot s by replica r with a fresh ballot (n, r) above its promise,
	 * shipped to one peer.  P2 picks max(promised.n, seen.n) + 1; any
	 * fresh n above the promise is allowed here (a superset). */
	:: atomic {
		select(r : 0 .. 2);
		select(s : 0 .. NS - 1);
		select(n : 1 .. NB);
		select(k : 0 .. 1);
		if
		:: r != stopped && !committed[IX(r, s)] && BAL(n, r) > promised[IX(r, s)] &&
		   ((r == COL(s) && LSN(s) < nextl[r]) ||
		    (r != COL(s) && LSN(s) < known[KX(r, COL(s))])) ->
			b = BAL(n, r);
			promised[IX(r, s)] = b;
			assert(acc_to[MI(s, b)] == 0);       /* P2: never used before */
			acc_to[MI(s, b)] = 1 << k;
			if
			:: val[IX(r, s)] != 0 ->             /* its entry, with its vote */
				acc_v[MI(s, b)] = val[IX(r, s)];
				acc_vb[MI(s, b)] = vbal[IX(r, s)]
			:: else ->                           /* R1: NOOP, deps = known_r, not stored */
				acc_v[MI(s, b)] = MKV(0, known[KX(r, 0)], known[KX(r, 1)], known[KX(r, 2)]);
				acc_vb[MI(s, b)] = 0
			fi
		:: else -> skip
		fi;
		reset()
	   }

#ifdef REUSE_BALLOT
	/* the bug P2/P3 forbid: a retry sends the current ballot to the other peer */
	:: atomic {
		select(r : 0 .. 2);
		select(s : 0 .. NS - 1);
		b = promised[IX(r, s)];
		if
		:: r != stopped && b != 0 && BOWN(b) == r && !committed[IX(r, s)] &&
		   acc_to[MI(s, b)] != 0 && acc_to[MI(s, b)] != 3 ->
			acc_to[MI(s, b)] = 3
		:: else -> skip
		fi;
		reset()
	   }
#endif

	/* A0-A6: peer q handles ACCEPT(b, s, snapshot) */
	:: atomic {
		select(s : 0 .. NS - 1);
		select(b : 3 .. 3 * NB + 2);
		select(k : 0 .. 1);
		if
		:: ((acc_to[MI(s, b)] >> k) & 1) && PEER(BOWN(b), k) != stopped ->
			p = BOWN(b);
			q = PEER(p, k);
			sval = acc_v[MI(s, b)];
			sbal = acc_vb[MI(s, b)];
			learn(q, sval, s);                     /* D1 */
			if
			:: committed[IX(q, s)] ->            /* A0: reply OK, committed */
				com[s] = com[s] | (1 << p)
			:: !committed[IX(q, s)] && b < promised[IX(q, s)] ->
				skip                             /* A1: REJECT; retries may fire anyway */
			:: !committed[IX(q, s)] && b >= promised[IX(q, s)] ->
				promised[IX(q, s)] = b;          /* A1 */
				if
				:: val[IX(q, s)] == 0 ->         /* A2 */
					val[IX(q, s)] = MKV(CMD(sval),
						MAX(DEP(sval, 0), known[KX(q, 0)]),
						MAX(DEP(sval, 1), known[KX(q, 1)]),
						MAX(DEP(sval, 2), known[KX(q, 2)]));
					vbal[IX(q, s)] = 0
				:: else -> skip
				fi;
				qval = val[IX(q, s)];
				qbal = vbal[IX(q, s)];
				if                               /* A3: highest vote wins */
				:: sbal == 0 && qbal == 0 ->
					nv = MKV(CMD(sval) | CMD(qval),
						MAX(DEP(sval, 0), DEP(qval, 0)),
						MAX(DEP(sval, 1), DEP(qval, 1)),
						MAX(DEP(sval, 2), DEP(qval, 2)))
				:: sbal > qbal -> nv = sval
				:: qbal > sbal -> nv = qval
				:: sbal == qbal && sbal != 0 ->
					CHECK(sval == qval, "VIOLATION A3: equal vbal with different values\n");
					nv = qval
				fi;
				vbal[IX(q, s)] = b;              /* A4: vote */
				val[IX(q, s)] = nv;
				learn(q, nv, s);
				CHECK(rep[RI(s, b, k)] == 0 || rep[RI(s, b, k)] == nv,
				      "VIOLATION A6: a duplicate ACCEPT voted a different value\n");
				rep[RI(s, b, k)] = nv;           /* reply OK with the value */
				if
				:: rep[RI(s, b, 1 - k)] != 0 ->  /* the other peer voted at b too */
					CHECK(rep[RI(s, b, 1 - k)] == nv,
					      "VIOLATION: two different votes at one ballot\n");
					chosen(s, nv)
				:: else -> skip
				fi
#ifdef COMMIT_ON_SPOT
				;
				if                               /* the Go reference's shortcut */
				:: sbal != 0 && sbal >= qbal -> commit(q, s, nv)
				:: else -> skip
				fi
#endif
			fi
		:: else -> skip
		fi;
		reset()
	   }

	/* P4: the proposer handles ACCEPT_REPLY OK(s, b, value) */
	:: atomic {
		select(s : 0 .. NS - 1);
		select(b : 3 .. 3 * NB + 2);
		select(k : 0 .. 1);
		if
		:: rep[RI(s, b, k)] != 0 && BOWN(b) != stopped ->
			p = BOWN(b);
			v = rep[RI(s, b, k)];
			learn(p, v, s);
			if
			:: !committed[IX(p, s)] && promised[IX(p, s)] == b ->
				vbal[IX(p, s)] = b;              /* vote it at b: chosen */
				val[IX(p, s)] = v;
				commit(p, s, v);
				com[s] = com[s] | (7 & ~(1 << p))   /* COMMIT to both peers */
			:: else -> skip                      /* stale ballot or already committed */
			fi
		:: else -> skip
		fi;
		reset()
	   }

	/* C1: replica r handles COMMIT(s, value) */
	:: atomic {
		select(s : 0 .. NS - 1);
		select(r : 0 .. 2);
		if
		:: ((com[s] >> r) & 1) && r != stopped && !committed[IX(r, s)] ->
			commit(r, s, cv[s])
		:: else -> skip
		fi;
		reset()
	   }

#ifndef NOAPPLY
	/* §7: replica r takes one apply step, starting from column c */
	:: atomic {
		select(r : 0 .. 2);
		select(c : 0 .. 2);
		if
		:: r != stopped && applied[KX(r, c)] < LEN(c) &&
		   committed[IX(r, BASE(c) + applied[KX(r, c)])] ->
			apply_step()
		:: else -> skip
		fi;
		reset()
	   }
#endif

#ifdef STOP
	/* one replica stops for good (f = 1) */
	:: atomic {
		stopped == NOSTOP ->
		select(r : 0 .. 2);
		stopped = r;
		r = 0
	   }
#endif
	od
}
