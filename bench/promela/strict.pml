/* The reference questions of issue 13, reduced (bench/model_check.py runs them with SPIN):
   the key replicated on n0 n1 n2 (N=3), W=2 R=2, n0 coordinates one put, then any up
   replica coordinates one get of the same client. Asserts read-your-writes: a get that
   starts after the put was acknowledged returns it.
   Each question's nodes and fault budgets are macros (spin -D...; bench/model_check.py's
   QUESTIONS), so that the model asks the suite entry's question:
     strict-dvv (default):  NODES 3, CRASHES 1, DROPS 1                       (holds)
     sloppy-crash:          -DSLOPPY -DNODES=4 -DCRASHES=1 -DDROPS=0           (violated)
     sloppy-partition:      -DSLOPPY -DNODES=4 -DCRASHES=0 -DDROPS=0 -DPARTITIONS=1
                                                                              (violated)
   A crash is recovered from; a partition (the nodes cut off from n0: any non-empty
   subset of n1..n3, as the spec's sides) heals; a message across it waits, as in the
   spec (spec/delivery.py).
   Reduced against the spec: no clocks (one version), no anti-entropy, no read repair,
   the coordinator's own write and read are local (as in the spec), messages are
   per-node flags (not a bag), the put's coordinator is n0 (the spec's client may use
   any up node of the top N), its replicas and fallback are chosen at its start and the
   get's at its start (no retry to a fallback on a timeout, as the spec has). Session
   57: the put is a step, so a fault may come before it (it was made in init, before
   any fault, and the hint and handoff lines were never reached); the loops' index i is
   reset at the end of each step that uses it (its stale value was part of the state
   vector: strict's space was 39,155 states with it, 21,771 without).
   One atomic step per action, as the spec's explorer. SLOPPY lets the put go to the
   fallback n3 with a hint when a replica is not reachable, and the get ask n3 instead
   of a replica it cannot reach (the sloppy questions: violated). */
#ifndef NODES
#define NODES 3
#endif
#ifndef CRASHES
#define CRASHES 1
#endif
#ifndef DROPS
#define DROPS 1
#endif
#ifndef PARTITIONS
#define PARTITIONS 0
#endif
#define W 2
#define R 2
#if PARTITIONS > 0
#define SAME(a, b) (cut[a] == cut[b])
#else
#define SAME(a, b) 1
#endif
#define REACH(a, b) (up[b] && SAME(a, b))
#if NODES > 3
#define ANYDOWN (!up[0] || !up[1] || !up[2] || !up[3])
#else
#define ANYDOWN (!up[0] || !up[1] || !up[2])
#endif
byte store[NODES];      /* 1: holds the put */
bool up[NODES];
bool rput[NODES]; bool rack[NODES]; bool rget[NODES]; bool rrep[NODES]; byte repval[NODES];
byte hint;              /* the node a hint on n3 is for (0: none) */
bool putstarted; byte acks; bool acked; bool putdone;
byte gc; byte replies; byte result; bool getstarted; bool getdone;
byte crashes = CRASHES; byte drops = DROPS;
#if PARTITIONS > 0
bool cut[NODES];        /* 1: on the side without n0 */
byte partitions = PARTITIONS; bool parted;
#endif

init {
  byte i;
  for (i : 0 .. NODES-1) { up[i] = 1 }
  do
  :: atomic { !putstarted && up[0] ->   /* the client's put at n0: local write, ReplicaPut to n1 n2 */
       putstarted = 1; store[0] = 1; acks = 1;
#ifdef SLOPPY
       if :: REACH(0, 1) -> rput[1] = 1 :: else -> rput[3] = 1; hint = 1 fi;
       if :: REACH(0, 2) -> rput[2] = 1 :: else -> rput[3] = 1; hint = 2 fi
#else
       rput[1] = 1; rput[2] = 1
#endif
     }
  :: atomic { rput[1] && REACH(0, 1) -> rput[1] = 0; store[1] = 1; rack[1] = 1 }
  :: atomic { rput[2] && REACH(0, 2) -> rput[2] = 0; store[2] = 1; rack[2] = 1 }
#if NODES > 3
  :: atomic { rput[3] && REACH(0, 3) -> rput[3] = 0; store[3] = 1; rack[3] = 1 }
#endif
  :: atomic { rack[1] && REACH(1, 0) && !putdone -> rack[1] = 0; acks++; if :: acks >= W -> acked = 1; putdone = 1 :: else -> skip fi }
  :: atomic { rack[2] && REACH(2, 0) && !putdone -> rack[2] = 0; acks++; if :: acks >= W -> acked = 1; putdone = 1 :: else -> skip fi }
#if NODES > 3
  :: atomic { rack[3] && REACH(3, 0) && !putdone -> rack[3] = 0; acks++; if :: acks >= W -> acked = 1; putdone = 1 :: else -> skip fi }
#endif
  :: atomic { putstarted && !putdone -> putdone = 1 }   /* the coordinator times the put out */
  :: atomic { putdone && !getstarted ->   /* the get at an up top-N node gc: local read, ReplicaGet to the two others */
       if :: up[0] -> gc = 0 :: up[1] -> gc = 1 :: up[2] -> gc = 2 fi;
       getstarted = 1; replies = 1; result = store[gc];
       i = 0;
       do
       :: i < 3 -> if
                   :: i != gc ->
#ifdef SLOPPY
                      if :: REACH(gc, i) -> rget[i] = 1 :: else -> rget[3] = 1 fi
#else
                      rget[i] = 1
#endif
                   :: else -> skip
                   fi; i++
       :: else -> break
       od; i = 0   /* the loop's index is no part of the question */
     }
  :: atomic { rget[0] && REACH(gc, 0) -> rget[0] = 0; rrep[0] = 1; repval[0] = store[0] }
  :: atomic { rget[1] && REACH(gc, 1) -> rget[1] = 0; rrep[1] = 1; repval[1] = store[1] }
  :: atomic { rget[2] && REACH(gc, 2) -> rget[2] = 0; rrep[2] = 1; repval[2] = store[2] }
#if NODES > 3
  :: atomic { rget[3] && REACH(gc, 3) -> rget[3] = 0; rrep[3] = 1; repval[3] = 0 }  /* a hint is not a replica's copy */
#endif
  :: atomic { rrep[0] && REACH(0, gc) && !getdone -> rrep[0] = 0; replies++; result = result | repval[0]; if :: replies >= R -> getdone = 1 :: else -> skip fi }
  :: atomic { rrep[1] && REACH(1, gc) && !getdone -> rrep[1] = 0; replies++; result = result | repval[1]; if :: replies >= R -> getdone = 1 :: else -> skip fi }
  :: atomic { rrep[2] && REACH(2, gc) && !getdone -> rrep[2] = 0; replies++; result = result | repval[2]; if :: replies >= R -> getdone = 1 :: else -> skip fi }
#if NODES > 3
  :: atomic { rrep[3] && REACH(3, gc) && !getdone -> rrep[3] = 0; replies++; result = result | repval[3]; if :: replies >= R -> getdone = 1 :: else -> skip fi }
#endif
  :: atomic { getstarted && !getdone -> getdone = 1; result = 2 }  /* the get times out: no answer */
#if NODES > 3
  :: atomic { hint && up[3] && REACH(3, hint) -> store[hint] = 1; hint = 0 }   /* hinted handoff */
#endif
  :: atomic { crashes > 0 -> crashes--; i = 0; do :: i < NODES -> if :: up[i] -> up[i] = 0; break :: up[i] -> i++ :: else -> i++ fi :: else -> break od; i = 0 }
  :: atomic { ANYDOWN -> i = 0; do :: i < NODES -> if :: !up[i] -> up[i] = 1; break :: else -> i++ fi :: else -> break od; i = 0 }
  :: atomic { drops > 0 -> drops--; i = 0; do :: i < NODES -> if :: rput[i] -> rput[i] = 0; break :: rack[i] -> rack[i] = 0; break :: rget[i] -> rget[i] = 0; break :: rrep[i] -> rrep[i] = 0; break :: i++ fi :: else -> break od; i = 0 }
#if PARTITIONS > 0
  :: atomic { partitions > 0 -> partitions--; parted = 1;   /* the network splits: n0's side and the rest */
       if
       :: cut[1] = 1
       :: cut[2] = 1
       :: cut[3] = 1
       :: cut[1] = 1; cut[2] = 1
       :: cut[1] = 1; cut[3] = 1
       :: cut[2] = 1; cut[3] = 1
       :: cut[1] = 1; cut[2] = 1; cut[3] = 1
       fi }
  :: atomic { parted -> parted = 0; cut[1] = 0; cut[2] = 0; cut[3] = 0 }   /* it heals */
#endif
  :: atomic { getdone -> assert(!acked || result != 0); break }
  od
}
