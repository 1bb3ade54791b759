/* The strict-dvv reference question, reduced (bench/model_check.py runs it with SPIN):
   4 nodes, key replicated on n0 n1 n2 (N=3), W=2 R=2, n0 coordinates one put, then any
   up replica coordinates one get of the same client; one crash (with recovery) and one dropped message.
   Asserts read-your-writes: a get that starts after the put was acknowledged returns it.
   Reduced against the spec: no clocks (one version), no anti-entropy, no read repair,
   no hints, the coordinator's own write and read are local (as in the spec).
   One atomic step per action, as the spec's explorer. SLOPPY (-DSLOPPY) lets the put
   go to the fallback n3 with a hint when a replica is down, and the get read the
   first R nodes that answer among the up ones (the sloppy question: violated). */
#define NODES 4
#define W 2
#define R 2
byte store[NODES];      /* 1: holds the put */
bool up[NODES];
bool rput[NODES]; bool rack[NODES]; bool rget[NODES]; bool rrep[NODES]; byte repval[NODES];
byte hint;              /* the node a hint on n3 is for (0: none) */
byte acks; bool acked; bool putdone;
byte gc; byte replies; byte result; bool getstarted; bool getdone;
byte crashes = 1; byte drops = 1;

init {
  byte i;
  for (i : 0 .. NODES-1) { up[i] = 1 }
  atomic {  /* the client's put at n0: local write, ReplicaPut to n1 n2 */
    store[0] = 1; acks = 1;
#ifdef SLOPPY
    if :: up[1] -> rput[1] = 1 :: else -> rput[3] = 1; hint = 1 fi;
    if :: up[2] -> rput[2] = 1 :: else -> rput[3] = 1; hint = 2 fi;
#else
    rput[1] = 1; rput[2] = 1;
#endif
  }
  do
  :: atomic { rput[1] && up[1] -> rput[1] = 0; store[1] = 1; rack[1] = 1 }
  :: atomic { rput[2] && up[2] -> rput[2] = 0; store[2] = 1; rack[2] = 1 }
  :: atomic { rput[3] && up[3] -> rput[3] = 0; store[3] = 1; rack[3] = 1 }
  :: atomic { rack[1] && up[0] && !putdone -> rack[1] = 0; acks++; if :: acks >= W -> acked = 1; putdone = 1 :: else -> skip fi }
  :: atomic { rack[2] && up[0] && !putdone -> rack[2] = 0; acks++; if :: acks >= W -> acked = 1; putdone = 1 :: else -> skip fi }
  :: atomic { rack[3] && up[0] && !putdone -> rack[3] = 0; acks++; if :: acks >= W -> acked = 1; putdone = 1 :: else -> skip fi }
  :: atomic { !putdone -> putdone = 1 }   /* the coordinator times the put out */
  :: atomic { putdone && !getstarted ->   /* the get at an up top-N node gc: local read, ReplicaGet to the two others */
       if :: up[0] -> gc = 0 :: up[1] -> gc = 1 :: up[2] -> gc = 2 fi;
       getstarted = 1; replies = 1; result = store[gc];
       i = 0;
       do
       :: i < 3 -> if
                   :: i != gc ->
#ifdef SLOPPY
                      if :: up[i] -> rget[i] = 1 :: else -> rget[3] = 1 fi
#else
                      rget[i] = 1
#endif
                   :: else -> skip
                   fi; i++
       :: else -> break
       od
     }
  :: atomic { rget[0] && up[0] -> rget[0] = 0; rrep[0] = 1; repval[0] = store[0] }
  :: atomic { rget[1] && up[1] -> rget[1] = 0; rrep[1] = 1; repval[1] = store[1] }
  :: atomic { rget[2] && up[2] -> rget[2] = 0; rrep[2] = 1; repval[2] = store[2] }
  :: atomic { rget[3] && up[3] -> rget[3] = 0; rrep[3] = 1; repval[3] = 0 }  /* a hint is not a replica's copy */
  :: atomic { rrep[0] && up[gc] && !getdone -> rrep[0] = 0; replies++; result = result | repval[0]; if :: replies >= R -> getdone = 1 :: else -> skip fi }
  :: atomic { rrep[1] && up[gc] && !getdone -> rrep[1] = 0; replies++; result = result | repval[1]; if :: replies >= R -> getdone = 1 :: else -> skip fi }
  :: atomic { rrep[2] && up[gc] && !getdone -> rrep[2] = 0; replies++; result = result | repval[2]; if :: replies >= R -> getdone = 1 :: else -> skip fi }
  :: atomic { rrep[3] && up[gc] && !getdone -> rrep[3] = 0; replies++; result = result | repval[3]; if :: replies >= R -> getdone = 1 :: else -> skip fi }
  :: atomic { getstarted && !getdone -> getdone = 1; result = 2 }  /* the get times out: no answer */
  :: atomic { hint && up[hint] && up[3] -> store[hint] = 1; hint = 0 }   /* hinted handoff */
  :: atomic { crashes > 0 -> crashes--; i = 0; do :: i < NODES -> if :: up[i] -> up[i] = 0; break :: up[i] -> i++ :: else -> i++ fi :: else -> break od }
  :: atomic { !up[0] || !up[1] || !up[2] || !up[3] -> i = 0; do :: i < NODES -> if :: !up[i] -> up[i] = 1; break :: else -> i++ fi :: else -> break od }
  :: atomic { drops > 0 -> drops--; i = 0; do :: i < NODES -> if :: rput[i] -> rput[i] = 0; break :: rack[i] -> rack[i] = 0; break :: rget[i] -> rget[i] = 0; break :: rrep[i] -> rrep[i] = 0; break :: i++ fi :: else -> break od }
  :: atomic { getdone -> assert(!acked || result != 0); break }
  od
}
