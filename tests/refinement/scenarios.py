"""Lockstep programs that reach a state a random walk rarely does.

Theory of operation
-------------------
Each scenario is a fixed sequence of :class:`model_check.refinement.Lockstep`
steps (every step checked against the spec, as in the random lockstep) that
leads to a situation whose handling a do-less mutant gets wrong: the kill list
(``tests/refinement/test_mutations.py``) runs it under a mutant and expects a
:class:`~model_check.refinement.Divergence`; ``test_scenarios.py`` runs it on the
real implementation and expects none.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from model_check.refinement import Lockstep
from model_check.suite import entry
from tests.refinement.configs import DATA_LOSS_CONFIGS, LOCKSTEP_CONFIGS

__all__ = [
    "SCENARIOS",
    "TWO_CRASHES",
    "a_gossip_round",
    "ack_after_the_put_ended",
    "acked_put",
    "anti_entropy_after_a_removal",
    "deliver",
    "one_way_ask",
    "one_way_ask_both_retired",
    "one_way_ask_two_retirements",
    "overwrite_after_a_read",
    "read_then_write_elsewhere",
    "restart_after_a_buffered_crash",
    "stale_ack_after_wipe",
    "to_the_one_way_put",
    "truncated_write_after_a_read",
    "two_stale_replicas",
]


def deliver(ls: Lockstep, kind: str, src: str, dest: str) -> None:
    """Deliver the first in-flight message of type ``kind`` from ``src`` to ``dest``."""
    for m in ls.deliverable():
        if type(m.message).__name__ == kind and m.src == src and m.dest == dest:
            ls.deliver(m.id)
            return
    raise LookupError(f"no {kind} {src}->{dest} in flight: "
                      + ", ".join(f"{type(m.message).__name__} {m.src}->{m.dest}"
                                  for m in ls.deliverable()))


def acked_put(ls: Lockstep, client: str, coordinator: str, replica: str) -> None:
    """``client`` puts k through ``coordinator``, whose replica put to ``replica`` and
    its acknowledgement are delivered (W = 2: the put is acknowledged)."""
    ls.put(client, coordinator, "k")
    deliver(ls, "ReplicaPut", coordinator, replica)
    deliver(ls, "ReplicaPutAck", replica, coordinator)


def two_stale_replicas() -> Lockstep:
    """strict-dvv: ``c1``'s put reaches n1 and n2, not n3; ``c2``'s concurrent put is
    stored at n3 only; then ``c1`` reads at n1 and hears from n2 and n3. Every
    responder misses a version, so one read repairs two other nodes (and n1 in
    place): read repair must send to both."""
    ls = Lockstep(LOCKSTEP_CONFIGS["strict-dvv"])
    acked_put(ls, "c1", "n1", "n2")
    ls.put("c2", "n3", "k")
    ls.get("c1", "n1", "k")
    deliver(ls, "ReplicaGet", "n1", "n3")
    deliver(ls, "ReplicaGetReply", "n3", "n1")
    for m in list(ls.deliverable()):
        if type(m.message).__name__ == "ReadRepair":
            ls.deliver(m.id)
    assert ls.verify()
    return ls


def read_then_write_elsewhere() -> Lockstep:
    """lww-skew-hybrid (n1 two ticks ahead): ``c1`` writes v1 through n1, stored at
    n1 and n2 only; reads it at n2; writes v2 through n3, which never stored v1 and
    whose clock is behind: only the context orders v2 after v1 (stamp 3 ticks)."""
    ls = Lockstep(DATA_LOSS_CONFIGS["lww-skew-hybrid"])
    acked_put(ls, "c1", "n1", "n2")
    ls.get("c1", "n2", "k")
    deliver(ls, "ReplicaGet", "n2", "n1")
    deliver(ls, "ReplicaGetReply", "n1", "n2")
    ls.put("c1", "n3", "k")
    assert ls.verify()
    return ls


def stale_ack_after_wipe() -> Lockstep:
    """dvv-amnesia-actor-epochs (every request through n3): v1's replica put reaches
    n1, whose ack is still in flight when n3's disk is replaced; ``c1`` writes v2
    through n3; then the old ack arrives. It answers an operation of n3's earlier
    lifetime: it must not count for v2's."""
    ls = Lockstep(DATA_LOSS_CONFIGS["dvv-amnesia-actor-epochs"])
    ls.put("c1", "n3", "k")
    deliver(ls, "ReplicaPut", "n3", "n1")
    ls.wipe("n3")
    ls.put("c1", "n3", "k")
    deliver(ls, "ReplicaPutAck", "n1", "n3")
    assert ls.verify()
    return ls


def overwrite_after_a_read() -> Lockstep:
    """strict-dvv: ``c1`` writes v1 through n1 (stored at n1 and n2), reads it back
    through n1 (n2 answers), and writes v2 through n1 with that context; n2 then
    receives v2's replica put: v2 supersedes v1, so n2 must keep v2 alone (session
    19: the random strict-dvv lockstep took about 5 CPU-s, 34 steps, to reach it)."""
    ls = Lockstep(LOCKSTEP_CONFIGS["strict-dvv"])
    acked_put(ls, "c1", "n1", "n2")
    ls.get("c1", "n1", "k")
    deliver(ls, "ReplicaGet", "n1", "n2")
    deliver(ls, "ReplicaGetReply", "n2", "n1")
    ls.put("c1", "n1", "k")
    deliver(ls, "ReplicaPut", "n1", "n2")
    assert ls.verify()
    return ls


def restart_after_a_buffered_crash() -> Lockstep:
    """dvv-buffered-crash-actor-epochs: ``c1`` writes v1 through n3, whose buffered
    engine then crashes (losing the unflushed write) and recovers; ``c1`` writes v2
    through n3, which must mint under its new lifetime's actor (``n3~1``)."""
    ls = Lockstep(DATA_LOSS_CONFIGS["dvv-buffered-crash-actor-epochs"])
    ls.put("c1", "n3", "k")
    ls.buffered_crash("n3")
    ls.recover("n3")
    ls.put("c1", "n3", "k")
    assert ls.verify()
    return ls


def truncated_write_after_a_read() -> Lockstep:
    """client-vclock-truncated (a clock keeps one pair): ``c2`` writes v2 through n3
    (stored at n3 and n2); ``c1`` reads it through n3 (n2 answers) and writes v1 with
    that context: the clock ``{c2: 1, c1: 1}`` is cut to one pair, the oldest dropped,
    so v1's clock is ``{c1: 1}``."""
    ls = Lockstep(DATA_LOSS_CONFIGS["client-vclock-truncated"])
    acked_put(ls, "c2", "n3", "n2")
    ls.get("c1", "n3", "k")
    deliver(ls, "ReplicaGet", "n3", "n2")
    deliver(ls, "ReplicaGetReply", "n2", "n3")
    ls.put("c1", "n3", "k")
    assert ls.verify()
    return ls


def ack_after_the_put_ended() -> Lockstep:
    """strict-dvv (W=2): ``c1``'s put through n1 is acknowledged by n2, so it ends;
    then n3's replica put and its acknowledgement arrive. The late ack answers a put
    that no longer exists: the coordinator must ignore it (a stutter in the spec;
    session 20: this replaced 30 random strict-dvv examples run twice)."""
    ls = Lockstep(LOCKSTEP_CONFIGS["strict-dvv"])
    acked_put(ls, "c1", "n1", "n2")
    deliver(ls, "ReplicaPut", "n1", "n3")
    deliver(ls, "ReplicaPutAck", "n3", "n1")
    assert ls.verify()
    return ls


#: the gossip messages :func:`a_gossip_round` delivers at most
GOSSIP_DELIVERIES = 6


def a_gossip_round() -> Lockstep:
    """strict-dvv (no membership change): a gossip round at n1, then up to
    :data:`GOSSIP_DELIVERIES` gossip messages delivered (the push and its answer on
    the implementation: every step a stutter). Not driven to quiescence here: a node
    that answers every answer gossips for ever, which only :meth:`Lockstep.quiesce`
    tells (session 20)."""
    ls = Lockstep(LOCKSTEP_CONFIGS["strict-dvv"])
    ls.gossip("n1")
    for _ in range(GOSSIP_DELIVERIES):
        if not ls.deliverable():
            break
        ls.deliver(ls.deliverable()[0].id)
    assert ls.verify()
    return ls


def anti_entropy_after_a_removal() -> Lockstep:
    """force-remove-w2 (anti-entropy on; session 24): n1 crashes and n2 force-removes
    it; n3 and n4 learn it; the survivors' transfers of k to n3, the key's new owner,
    are empty (nothing was written); n2 (the claimant) announces the handover and n3
    and n4 learn it. Then c1's put through n2 is stored at n2 and n4 (acknowledged:
    W = 2), not at n3, and n2 and n3 run an anti-entropy exchange on k: n3 holds a
    Merkle tree of k's range only since its ring changed at the handover."""
    ls = Lockstep(entry("force-remove-w2").config)
    ls.crash("n1")
    ls.force_remove("n1", "n2")
    ls.gossip_to("n2", "n3")
    ls.gossip_to("n2", "n4")
    ls.transfer("n2", "n3", "k")
    ls.transfer("n4", "n3", "k")
    while ls.empty_transfers():
        ls.deliver_empty(ls.empty_transfers()[0])
    ls.handover("n1")
    ls.gossip_to("n2", "n3")
    ls.gossip_to("n2", "n4")
    acked_put(ls, "c1", "n2", "n4")
    ls.anti_entropy_pair("n2", "n3", "k")
    assert ls.verify()
    return ls


def to_the_one_way_put(ls: Lockstep, n1_restarts: int = 1, n2_restarts: int = 0) -> None:
    """:func:`one_way_ask`'s steps up to c1's put of v3 through n1, its replica put
    to n2 in flight; ``n1_restarts``: n1's crashes and recoveries after v1's put,
    ``n2_restarts``: n2's after v2's (session 36's review: the scenarios below)."""
    acked_put(ls, "c1", "n1", "n2")
    for _ in range(n1_restarts):
        ls.crash("n1")
        ls.recover("n1")
    ls.get("c1", "n2", "k")
    deliver(ls, "ReplicaGet", "n2", "n1")
    deliver(ls, "ReplicaGetReply", "n1", "n2")
    acked_put(ls, "c1", "n2", "n1")
    for _ in range(n2_restarts):
        ls.crash("n2")
        ls.recover("n2")
    ls.put("c1", "n1", "k")


def _asked(ls: Lockstep) -> Lockstep:
    """v3's replica put delivered at n2, which asks n1 (the round in the same step),
    and its acknowledgement."""
    deliver(ls, "ReplicaPut", "n1", "n2")  # n2 asks n1 (the round is in this step)
    assert ls.history[-1] == "one-way ask n2->n1 on k", ls.history
    deliver(ls, "ReplicaPutAck", "n2", "n1")
    assert ls.verify()
    return ls


def one_way_ask() -> Lockstep:
    """dvv-prune-learnt (session 36): c1 puts v1 through n1, n1 crashes and recovers
    (its first lifetime retired: n1 knows it, n2 does not); c1 reads at n2 and puts
    v2 through n2 (n2 keeps n1's value-less entry, n1's merge drops it); c1, which
    forgot its context, puts v3 through n1, whose record lacks the entry. n2's
    merge keeps it: the trace of a pruning upstream (``ask_owed``), so n2 asks n1
    and n1's answer teaches n2 the retirement: the ask's round is the spec's
    anti-entropy of n1 and n2 on k, and both copies end as n1's."""
    ls = Lockstep(entry("dvv-prune-learnt").config)
    to_the_one_way_put(ls)
    return _asked(ls)


#: dvv-prune-learnt with two crashes (session 36's review): the entry's one crash
#: retires one lifetime, which is always the one the ask is about, so what the
#: ask's round teaches beyond it (``Lockstep.ask_round``'s knowledge check) could
#: not differ there; the lockstep needs no model-checked graph
TWO_CRASHES = dataclasses.replace(entry("dvv-prune-learnt").config, crashes=2)


def one_way_ask_two_retirements() -> Lockstep:
    """:func:`one_way_ask` with n1 restarted twice (session 36's review): n1 knows
    n1~0 and n1~1 retired, only n1~0 minted an entry of k. The spec's exchange
    teaches n2 n1~0 alone (the lifetimes of the two copies' entries): an answer that
    names n1~1 too diverges at the round's knowledge check, the stores the same."""
    ls = Lockstep(TWO_CRASHES)
    to_the_one_way_put(ls, n1_restarts=2)
    return _asked(ls)


def one_way_ask_both_retired() -> Lockstep:
    """:func:`one_way_ask` with n2 restarted before v3's put (session 36's review):
    the asker n2 knows its n2~0 retired, whose entry holds v2 in both copies (an
    entry with a value is never pruned), and n1 does not. The spec's exchange
    teaches n1 n2~0 (and n2 n1~0): an ask that names nothing diverges at the
    round's knowledge check, the stores the same."""
    ls = Lockstep(TWO_CRASHES)
    to_the_one_way_put(ls, n2_restarts=1)
    return _asked(ls)


#: name -> scenario (runs its steps, returns the lockstep at the end)
SCENARIOS: dict[str, Callable[[], Lockstep]] = {
    "two-stale-replicas": two_stale_replicas,
    "read-then-write-elsewhere": read_then_write_elsewhere,
    "stale-ack-after-wipe": stale_ack_after_wipe,
    "overwrite-after-a-read": overwrite_after_a_read,
    "restart-after-a-buffered-crash": restart_after_a_buffered_crash,
    "truncated-write-after-a-read": truncated_write_after_a_read,
    "ack-after-the-put-ended": ack_after_the_put_ended,
    "a-gossip-round": a_gossip_round,
    "anti-entropy-after-a-removal": anti_entropy_after_a_removal,
    "one-way-ask": one_way_ask,
    "one-way-ask-two-retirements": one_way_ask_two_retirements,
    "one-way-ask-both-retired": one_way_ask_both_retired,
}
