"""A hint handed to its intended node while a read is under way is missed by the read
(session 55; docs/runtime.md, "The rebuilding node's holes (session 55)", hole 4:
session 54's review's "seed 7's one key with n6 up stays stale with every hint ack
withheld too (not looked into further)").

``_two_rebuilding_w2_reads(7, "dvv")`` with n6 joining (up): ``k2``, owners n5, n1,
n2 (n1 and n2 rebuilding, silent), n1 -> n5 cut. The put at W = 2 through n1 is
acknowledged by n3 (a hint for n1: n1's own write uncounted) and n4 (a hint for
n5, whose replica put was cut). Healed, the get at R = 2 through n5 counts n5's own
copy at once (empty: 151.911 s), asks n1 and n2 (silent), and their fallback n4 at
152.212 s; n4 had handed its hint to n5 at 152.110 s (n5 is not rebuilding: it
acknowledged, n4 deleted it) and answers empty. R = 2 met {n5, n4}, and n4 was in
the write's W = 2: the quorums intersect, and the read still misses the value, which
moved from n4 to n5 between the two answers. Not the rebuilding rule (no rebuilding
node's ack is involved: the hint is for n5; session 54 saw it with every hint ack
withheld too): the coordinator's own copy was read once, at the start. Fixed in session 56:
``GetCoordinator._read_own_again`` merges the coordinator's own copy, read again
as it answers, into its first read. The spec allows the same miss
(``tests/spec/test_hint_moved_during_a_get.py``). Seeds 0-9 of
``_two_rebuilding_w2_reads``, each of 4 clocks, with n6 joining or not: 1 of 120
(108 with n6) stale in each before (seed 7), 0 after (docs/runtime.md, session 56).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from impl.cluster import SimulatedCluster
from impl.messages import GetRequest, HintDelivery, ReplicaGet, ReplicaPut
from impl.records import Record
from impl.timers import HintScan
from impl.versions import live_values
from tests.impl.test_node_driver import Driver, make_config, ok_get, ok_put
from tests.impl.test_rebuilding_acks_agree import _two_rebuilding_w2_reads

KEY = b"k"


def _n6_joining(cluster: SimulatedCluster) -> None:
    cluster.join("n6")
    cluster.run_for(1.0)


def test_a_hint_handed_over_during_a_read_is_not_missed() -> None:
    """On ``baec5eed`` and until session 56: 1 of 12 keys stale (``k2``; seeds 0-9,
    dvv: only 7); 0 since (was a strict xfail)."""
    assert _two_rebuilding_w2_reads(7, "dvv", before=_n6_joining) == (0, 12)



def _read_with_f_late(driver: Driver, nodes: tuple[str, str, str, str, str],
                      between: Callable[[], None]) -> list[bytes]:
    """A get of ``k`` at R = 2 through b (``nodes``: a, b, c, f, g): its own copy
    counted at once; its replica gets to a and c lost, so its timer asks f (for a)
    and g (for c); g's held for good, f's held while ``between()`` runs, then
    delivered: the values the get returns."""
    _, b, _, f, _ = nodes
    held: list[tuple[str, str, object]] = []
    lost = driver.drop_filter

    def late(src: str, dest: str, message: object) -> bool:
        if isinstance(message, ReplicaGet) and src == b:
            if dest == f:
                held.append((src, dest, message))
            return True  # (lost, or held)
        return lost is not None and lost(src, dest, message)

    driver.drop_filter = late
    driver.request(b, GetRequest(99, KEY, 2, "c1"))
    while not held and 99 not in driver.replies:
        driver.advance(0.05)
    assert held and 99 not in driver.replies  # waiting: its own read and no other
    between()
    driver.drop_filter = lost
    driver.inflight.append(held.pop())
    driver.deliver_all()
    return ok_get(driver.replies[99]).values


def _handed_during_a_read(clock: str, *, hand_over: bool = True, hinted_reads: bool = True,
                          then: Callable[[Driver, str], None] | None = None,
                          ) -> tuple[list[bytes], bool]:
    """The spec's schedule of the same miss (docs/runtime.md, session 56), on the
    implementation with the node driver: 5 nodes, N = 3, R = W = 2, ``k``'s top N
    a, b, c, fallbacks f, g. A put through a whose replica puts to b and c are lost:
    f keeps b's share as a hint, g c's, W = 2 met by a and a fallback; every hint
    delivery held back (g's for good). A get through b (:func:`_read_with_f_late`)
    during which (``hand_over``) f hands its hint to b (the driver's scan of that
    hint: delivered, acknowledged, deleted) before f answers (empty). (The get's
    values, whether f still held a hint for b as it answered.) ``hinted_reads``: the
    nodes' ``ClusterConfig.hinted_reads``; ``then(driver, b)`` runs after the hand-over."""
    driver = Driver.start(make_config(5, clock=clock, hinted_reads=hinted_reads))
    nodes = a, b, c, f, g = driver.nodes["n1"].preference_list(KEY)[:5]
    driver.drop_filter = lambda src, dest, message: (
        (isinstance(message, ReplicaPut) and src == a and dest in (b, c))
        or isinstance(message, HintDelivery))
    ok_put(driver.put(a, KEY, b"v1", w=2))
    hint_ids = frozenset(hint.hint_id for hint in driver.storages[f].hints()
                         if hint.key == KEY and hint.intended == b)
    assert len(hint_ids) == 1  # the scenario is reached: f keeps b's share
    driver.drop_filter = lambda src, dest, message: (
        isinstance(message, HintDelivery) and src == g)
    kept: list[bool] = []

    def hand_it_over() -> None:
        if hand_over:
            driver.handle(f, driver.nodes[f].fire(driver.now, HintScan(hint_ids)))
            driver.deliver_all()
        kept.append(any(hint.intended == b for hint in driver.storages[f].hints()))
        if then is not None:
            then(driver, b)

    return _read_with_f_late(driver, nodes, hand_it_over), kept[0]


def _reaped_during_a_read(clock: str) -> list[bytes]:
    """``v1`` put at W = 3 through a (a, b and c hold it; f and g nothing); a get
    through b (:func:`_read_with_f_late`) during which b's copy goes (as an old
    owner lets a handed-over copy go: ``Replica.reap``); f answers empty."""
    driver = Driver.start(make_config(5, clock=clock))
    nodes = a, b, *_ = driver.nodes["n1"].preference_list(KEY)[:5]
    ok_put(driver.put(a, KEY, b"v1", w=3, settle=0.5))
    return _read_with_f_late(driver, nodes, lambda: driver.nodes[b].replica.reap(KEY))


@pytest.mark.parametrize("clock", ["dvv", "client-vclock", "server-vclock", "lww"])
def test_a_hint_handed_to_the_coordinator_while_it_waits_is_read(clock: str) -> None:
    """W = {a, f}, R = {b, f}: they meet at f, which handed the write on to b (the
    get's coordinator) between b's own read and f's answer. The get returns ``v1``;
    on the tree before session 56 ``[]`` in each clock (b counted the empty copy it
    read at the start). Without the hand-over (f answers with its hint) ``v1``
    either way: the scenario, not the merge of replies, is what the fix reads. A
    copy that goes during the read (b's own, reaped) is not taken back: ``v1``.
    Mutants (run, seen failing): ``GetCoordinator._read_own_again`` not called
    (``[] == [b'v1']``, 4 clocks; and the seed-7 test above, ``(1, 12)``); called
    only when the clock is not dvv (dvv fails, and the seed-7 test); the fresh
    read replacing the first one instead of merged with it (the reap: ``[]``, 4
    clocks)."""
    assert _handed_during_a_read(clock) == ([b"v1"], False)
    assert _handed_during_a_read(clock, hand_over=False) == ([b"v1"], True)
    assert _reaped_during_a_read(clock) == [b"v1"]


def _hinted_to_the_coordinator_during_a_read(clock: str) -> list[bytes]:
    """``v1`` put at W = 1 through a, every replica put of it lost (only a holds
    it; retries lost too); a get through b (:func:`_read_with_f_late`: a's and c's answers lost, f's
    late) during which a hinted replica put of a's record (for c) reaches b, as a
    sloppy put reaches a fallback that coordinates a forwarded get; f answers empty:
    the values the get returns."""
    driver = Driver.start(make_config(5, clock=clock))
    nodes = a, b, c, *_ = driver.nodes["n1"].preference_list(KEY)[:5]
    driver.drop_filter = lambda src, dest, message: (
        isinstance(message, ReplicaPut) and message.op_id != 77)
    ok_put(driver.put(a, KEY, b"v1", w=1))
    raw = driver.storages[a].read(KEY)
    assert raw is not None

    def hint_reaches_b() -> None:
        driver.inflight.append((a, b, ReplicaPut(77, KEY, raw, hint=c)))
        driver.deliver_all()
        assert driver.storages[b].read(KEY) is None  # kept as a hint, not in its store

    return _read_with_f_late(driver, nodes, hint_reaches_b)


@pytest.mark.parametrize("clock", ["dvv", "lww"])
def test_the_coordinator_s_read_again_includes_its_hints(clock: str) -> None:
    """The re-read is of what the coordinator serves (``Replica.served_record``: its
    record and its hints of the key), as the spec's ``_read_own_again`` reads
    ``spec.replica.served``: a hint of ``k`` that reaches b while its get waits is
    in the answer (``[b'v1']``). Review of session 56 (s56-revhole4): the mutant
    re-reading ``Replica.local_record`` only (the hints left out) passed every test of
    this file, tests/spec/test_hint_moved_during_a_get.py and
    tests/model_check/test_get_answer.py; here it fails (``[] == [b'v1']``, both
    clocks)."""
    assert _hinted_to_the_coordinator_during_a_read(clock) == [b"v1"]


def test_without_hinted_reads_the_coordinator_reads_its_copy_again_too() -> None:
    """With ``hinted_reads`` off (f answers its own record only, never its hints) the
    hand-over of f's hint to b during b's get is read all the same: b's copy, read
    again as it answers, holds ``v1``. Review of session 56 (s56-revhole4): the mutant
    reading its own copy again only when ``config.hinted_reads`` is on passed every
    test of this file, tests/spec/test_hint_moved_during_a_get.py and
    tests/model_check/test_get_answer.py (they all read hints); here it fails
    (``([], False) == ([b'v1'], False)``)."""
    assert _handed_during_a_read("dvv", hinted_reads=False) == ([b"v1"], False)


def test_the_coordinator_s_read_again_is_pruned_as_it_writes() -> None:
    """The merge of the first read and the read again goes through the coordinator's
    ``Replica.prune`` (the retired lifetimes' entries it drops on every write; the
    spec's ``edit.pruned`` with ``prune_retired``): in the hand-over schedule a spy
    around b's prune, set once f's hint is in b's store, sees the record holding
    ``v1`` pruned before b answers. Review of session 56 (s56-revhole4): the mutant
    merging without the prune passed this file, tests/impl/test_dvv_retired_*.py,
    test_mutation_gaps_get_coordinator_s47 and trace validation (the prune only
    bites past a byte budget of retired entries); here it fails (``pruned`` empty: no
    prune between the hand-over and the answer)."""
    pruned: list[list[bytes]] = []

    def spy_on_prune(driver: Driver, b: str) -> None:
        replica = driver.nodes[b].replica
        prune = replica.prune

        def spy(record: Record) -> Record:
            pruned.append(live_values(record))
            return prune(record)

        replica.prune = spy

    assert _handed_during_a_read("dvv", then=spy_on_prune) == ([b"v1"], False)
    assert pruned and pruned[0] == [b"v1"]
