"""Conformance of the replaced disk's rebuild (session 56): the spec's rebuild
(``features.rebuild``, spec/rebuild.py, session 55) replayed edge by edge on the
implementation (``impl/rebuild.py``) through the lockstep.

Before session 56 the lockstep refused a disk loss with ``features.rebuild`` (its cluster
ran without the restore guard, so no replaced disk of it ever rebuilt). Now, for these
configurations (:func:`model_check.refinement_state.rebuilds`), it runs the
implementation with its restore guard and maps:

* the start: every node gossips until each has heard every other's store start
  (:meth:`~model_check.refinement_state.LockstepState.introduce`: a replaced disk is
  told it is one only by a peer that heard its store's start);
* ``Recover``: the restarted node's shadow round settled within the step
  (``Lockstep._shadow_round``); a replaced disk so told rebuilds, its grace kept until
  the spec's ``Rebuilt``;
* ``AntiEntropy``: enabled between equal copies while the spec's pair is to do, the
  replaced disk opening once more where the two ways left its pair to do; the pairs of
  ranges holding no key marked done once the spec's exchanges are (the spec's rebuild is
  per key);
* ``Rebuilt``: the implementation's rebuild must be over; the grace ends.

Figures, seed 0, 300 edges of each entry's shortest paths (replay mode; docs/refinement.md,
"The rebuild in the conformance replay (session 56)"): disk-loss-rebuild-sloppy and
disk-loss-read-rebuild 300 of 300 agreed, disk-loss-rebuild-crash 299 (the one divergence,
agreeing since session 57: :func:`test_a_restarted_empty_replaced_disk_keeps_its_lifetime`).
CI checks 60 edges of each.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from impl.node import Node
from model_check.refinement import Lockstep
from model_check.refinement_conformance import (
    check_edge,
    conformance,
    path_to,
    reachable_graph,
)
from model_check.suite import entry
from spec.actions import (
    AntiEntropy,
    ClientGet,
    ClientPut,
    Crash,
    Deliver,
    DiskLoss,
    Rebuilt,
    Recover,
    Timeout,
)
from spec.model import initial_state, successors
from spec.state import Kind

EDGES_IN_CI = 60
"""Edges sampled of each rebuild entry in CI (about 1-2 CPU-s each)."""

AGREEING = ("disk-loss-rebuild-sloppy", "disk-loss-read-rebuild", "disk-loss-rebuild-crash",
            "disk-loss-rebuild-drop",  # the last: s56-rebuildspec's entry (200 of 200 agreed)
            # session 60: the rebuild on by default (60 of 60 each, 0.9 and 1.2 CPU-s)
            "disk-loss-w1", "disk-loss-w2",
            # session 61: the rebuild with two keys (seed 0, 300 of 300 agreed, 17 of
            # them Rebuilt, 44 crashes; 3.3 CPU-s)
            "disk-loss-read-rebuild-two-keys")


@pytest.mark.parametrize("name", AGREEING)
def test_the_rebuild_entries_edges_agree(name: str) -> None:
    """A seeded sample of each rebuild entry's edges replays on the implementation, each
    reaching the spec's successor; ``Rebuilt`` among them (and the disk loss, the
    recovery, anti-entropy)."""
    report = conformance(entry(name).config, limit=EDGES_IN_CI, seed=0, mode="replay",
                         shortest_only=True)
    assert report.outcomes["diverged"] == 0, "\n".join(report.divergences)
    assert report.outcomes["agreed"] == report.checked == EDGES_IN_CI
    assert report.by_action["anti-entropy agreed"] > 0 and report.by_action["deliver agreed"] > 0


def _path(name: str, *wanted: Any) -> list[Any]:
    """The spec's actions ``wanted`` from the initial state of suite entry ``name`` (each
    must be enabled in turn)."""
    state = initial_state(entry(name).config)
    for action in wanted:
        state = dict(successors(state))[action]
    return list(wanted)


def _end_of_rebuild(name: str) -> tuple[list[Any], Any]:
    """A path on which n1 lost its disk, recovered and exchanged k with n2 and n3 (its
    rebuild done), then the spec's ``Rebuilt(n1)``."""
    path = _path(name, DiskLoss("n1"), Recover("n1"), AntiEntropy("n1", "n2", "k"),
                 AntiEntropy("n3", "n1", "k"))
    return path, Rebuilt("n1")


def _target(name: str, path: list[Any], action: Any) -> Any:
    state = initial_state(entry(name).config)
    for step in [*path, action]:
        state = dict(successors(state))[step]
    return state


def test_a_put_through_a_rebuilding_node_is_mapped() -> None:
    """n1, its disk replaced, coordinates a put: its own write is stored and not counted
    (the implementation's ``rebuild-uncounted-own-write``), its part hinted to the next
    fallback, as the spec's. Before session 56's ``introduce`` no peer had heard n1's
    store start, so n1 was never told it was a replaced disk and counted its own write
    (diverged: the spec's three replica-puts against the implementation's two)."""
    name = "disk-loss-rebuild-sloppy"
    path = _path(name, DiskLoss("n1"), Recover("n1"))
    action = ClientPut("c1", "n1", "k")
    assert check_edge(entry(name).config, path, action, _target(name, path, action)) == "agreed"


def test_the_end_of_the_rebuild_is_mapped() -> None:
    """``Rebuilt(n1)`` after its two exchanges agrees: the implementation's rebuild is
    over (its keyless ranges marked done with the spec's last exchange) and its grace
    ends."""
    name = "disk-loss-read-rebuild"
    path, action = _end_of_rebuild(name)
    assert check_edge(entry(name).config, path, action, _target(name, path, action)) == "agreed"


#: the amnesia pair, rebuilding since session 60: their graphs (252,024 and 266,103
#: states) are too large for CI, so their edges are sampled from seeded random walks
AMNESIA = ("dvv-amnesia-naive-actor", "dvv-amnesia-actor-epochs")
#: edges sampled of each, from the part WALKS seeded random walks reach
AMNESIA_EDGES, WALKS = 40, 20


@pytest.mark.parametrize("name", AMNESIA)
def test_the_amnesia_pair_s_walked_edges_agree(name: str) -> None:
    """Session 60's review: the amnesia pair's 40-edge conformance samples left CI with
    the rebuild on by default (their whole graphs are needed to sample them). 40 edges
    of the part 20 seeded random walks reach (``conformance(..., walks=20)``) replay
    on the implementation with the rebuild, ``Rebuilt`` among them: 40 of 40 agree
    each (0.6 CPU-s each). Mutants, each seen diverging on both entries (of 40):
    ``Node._unacked_if_rebuilding`` a no-op (8 and 4), ``Node._silent_if_rebuilding``
    a no-op (1 and 8), ``Lockstep._keyless_rebuilt`` a no-op (18 and 17)."""
    report = conformance(entry(name).config, limit=AMNESIA_EDGES, seed=0, mode="replay",
                         shortest_only=True, walks=WALKS)
    assert report.outcomes["diverged"] == 0, "\n".join(report.divergences)
    assert report.outcomes["agreed"] == report.checked == AMNESIA_EDGES
    assert report.by_action["rebuilt agreed"] > 0


def _answers_while_rebuilding(self: Node, handler: Any) -> Any:
    """An implementation mutant: a rebuilding node answers every read (no silence)."""
    return handler


def _silent_read() -> tuple[str, list[Any], Any]:
    """A path on which n1 lost its disk and recovered (rebuilding, k not rebuilt), and
    a get through n3 asked it: the spec's n1 stays silent (``spec.replica``)."""
    name = "disk-loss-read-rebuild"
    path = _path(name, DiskLoss("n1"), Recover("n1"), ClientGet("c1", "n3", "k"))
    state = _target(name, path[:-1], path[-1])
    ask = next(a for a, _ in successors(state) if isinstance(a, Deliver)
               and a.message.kind == Kind.REPLICA_GET and a.message.dst == "n1")
    return name, path, ask


@pytest.mark.parametrize(("owner", "attribute", "mutant", "edge"), [
    (Node, "_silent_if_rebuilding", _answers_while_rebuilding, _silent_read),
    (Lockstep, "_keyless_rebuilt", lambda self, node: None,
     lambda: ("disk-loss-read-rebuild", *_end_of_rebuild("disk-loss-read-rebuild")))],
    ids=["answers-while-rebuilding", "keyless-ranges-left"])
def test_a_rebuild_mutant_diverges(owner: Any, attribute: str, mutant: Any, edge: Any,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Each edge agrees as is and diverges under its mutant: the implementation's
    rebuilding node answering a read of a key it has not rebuilt
    (``Node._silent_if_rebuilding`` a no-op: the spec's n1 is silent), and the harness
    leaving the ranges that hold no key to rebuild (the implementation's rebuild never
    ends: ``Rebuilt`` diverges, "n1 still rebuilds"). Both also fail
    :func:`test_the_rebuild_entries_edges_agree`'s sample of disk-loss-read-rebuild."""
    name, path, action = edge()
    target = _target(name, path, action)
    assert check_edge(entry(name).config, path, action, target) == "agreed"
    monkeypatch.setattr(owner, attribute, mutant)
    assert check_edge(entry(name).config, path, action, target).startswith("diverged")


def test_a_restarted_empty_replaced_disk_keeps_its_lifetime() -> None:
    """disk-loss-rebuild-crash's edge that diverged in session 56 (1 of 300, seed 0)
    agrees: n2's disk replaced, rebuilt by its two exchanges (its store still empty),
    crashed and restarted, then a put through it. The spec's crash of a rebuilt node
    drops its mark and keeps its lifetime (``n2~1``); the implementation's renewal
    (``store-renewed-at``, durable with the renewal's count) makes the restart no fresh
    store (``Node._fresh``): it counts above its renewal, keeps its actor and is told
    nothing again.

    The mutant (session 56's implementation: ``renewed`` left out of ``Node._fresh``,
    by hand): the marked, empty store is fresh again at the restart, counts 1, is told
    again, rebuilds a second time and takes a new actor (``n2~2``), and this edge
    diverges at step 7, ``put c1 v1 k @n2`` (the put minted under another actor)."""
    name = "disk-loss-rebuild-crash"
    path = _path(name, DiskLoss("n2"), Recover("n2"), AntiEntropy("n3", "n2", "k"),
                 AntiEntropy("n1", "n2", "k"), Crash("n2"), Recover("n2"))
    action = ClientPut("c1", "n2", "k")
    assert check_edge(entry(name).config, path, action,
                      _target(name, path, action)) == "agreed"


#: Timeout edges to a rebuilding target sampled in CI (session 60's review; all 2,106
#: Timeout edges of disk-loss-w2's rebuilding graph agree: 20.2 CPU-s, replay mode)
TIMEOUTS_IN_CI = 30


def _acks_a_put_while_rebuilding(self: Node, handler: Any) -> Any:
    """An implementation mutant: a rebuilding node acknowledges every replica put."""
    return handler


@pytest.mark.parametrize("mutant", [None, _acks_a_put_while_rebuilding],
                         ids=["as-is", "acks-while-rebuilding"])
def test_a_put_given_up_on_a_rebuilding_replica_agrees(
        mutant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 60's review: test_put_in_flight's scripts (a put given up on a replica
    that lost its disk mid-put) step disk-loss-w2 without the rebuild, a rule we do not
    ship. The shipped rule's twin: a seeded sample of disk-loss-w2's ``Timeout`` edges
    whose target is rebuilding (the spec's ``rebuilding_put_unacked``: it stores the
    put and acknowledges nothing), each replayed on the implementation; all agree.
    Mutant ``acks-while-rebuilding`` (``Node._unacked_if_rebuilding`` a no-op): the
    sample diverges (the implementation's replica acknowledges)."""
    config = entry("disk-loss-w2").config
    parent, edges = reachable_graph(config)
    chosen = random.Random(0).sample(
        [e for e in edges if isinstance(e[1], Timeout)
         and any(node == e[1].target for node, _, _ in e[0].rebuilding)], TIMEOUTS_IN_CI)
    if mutant is not None:
        monkeypatch.setattr(Node, "_unacked_if_rebuilding", mutant)
    outcomes = Counter(check_edge(config, path_to(parent, source), action, target)
                       .split(":")[0] for source, action, target in chosen)
    if mutant is None:
        assert outcomes == {"agreed": TIMEOUTS_IN_CI}
    else:
        assert outcomes["diverged"] > 0, outcomes


def test_a_crash_that_begins_the_rebuild_again_is_compared(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 61's review: the spec's second crash outcome (``Crash(n2, again=True)``:
    mark kept, every exchange to do again) is mapped and compared, no longer refused
    as unmapped (``REBUILD_OVER``). The lockstep marks a rebuild's keyless ranges done
    with the keys' last exchange (``_keys_rebuilt``); for this outcome it leaves one
    (``Lockstep._keyless_left``: the rebuild begun again, every keyed range done), so
    n2's store holds its rebuild durably and its restart begins it again. After a crash
    the lockstep keeps the frontier states whose mark of the node is its store's
    durable rebuild flag, after a recovery those whose mark is whether it rebuilds
    (``Lockstep._rebuild_compared``; the compared projection has no
    ``State.rebuilding``). Mutants, each failing this test: the ``again`` crash mapped
    as a plain one (``_keyless_left`` doing nothing) diverges at the crash (``n2's
    rebuild is over on the implementation``); with ``_rebuild_compared`` gone as well
    the same wrong mapping reports ``agreed``; the implementation whose finished
    rebuild stays durable (``Node._rebuilt`` not clearing ``REBUILDING_META``)
    diverges at the plain crash (``is kept``); the one whose restart never begins its
    rebuild again (``Node._begin_rebuild(again=True)`` skipped at a restart) diverges at
    the recovery after the ``again`` crash."""
    name = "disk-loss-rebuild-crash"
    config = entry(name).config
    path = _path(name, DiskLoss("n2"), Recover("n2"), AntiEntropy("n3", "n2", "k"),
                 AntiEntropy("n1", "n2", "k"))
    again, plain, recover = Crash("n2", True), Crash("n2"), Recover("n2")
    assert check_edge(config, path, again, _target(name, path, again)) == "agreed"
    assert check_edge(config, path, plain, _target(name, path, plain)) == "agreed"
    for crash in (again, plain):  # and the recovery after each: rebuilding, or not
        after = [*path, crash]
        assert check_edge(config, after, recover, _target(name, after, recover)) == "agreed"
    with monkeypatch.context() as m:
        m.setattr(Lockstep, "_keyless_left", lambda self, node: None)
        outcome = check_edge(config, path, again, _target(name, path, again))
        assert outcome.startswith("diverged") and "n2's rebuild is over" in outcome, outcome
    with monkeypatch.context() as m:
        m.setattr(Node, "_rebuilt", lambda self: None)
        outcome = check_edge(config, path, plain, _target(name, path, plain))
        assert outcome.startswith("diverged") and "n2's rebuild is kept" in outcome, outcome
    begin = Node._begin_rebuild

    def not_at_restart(self: Node, now: float, *, again: bool = False,
                       quiet: bool = False) -> None:
        if not again or quiet:
            begin(self, now, again=again, quiet=quiet)
    monkeypatch.setattr(Node, "_begin_rebuild", not_at_restart)
    after = [*path, again]
    outcome = check_edge(config, after, recover, _target(name, after, recover))
    assert outcome.startswith("diverged: step 6: recover n2"), outcome
