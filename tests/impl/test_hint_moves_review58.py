"""Session 58's review of ``HintDelivery.moves`` (docs/runtime.md, "Review of
session 58's merges").

The flag lets a rebuilding node whose serving ring is a guess acknowledge a hint
whose key its sender's rings move to it (:meth:`impl.gossip.Gossiper.moves_to`,
:meth:`impl.node.Node._unrebuilt_mine`). Two of the review's mutants survived every
test near the change, because ``tests/impl/test_wiped_during_removal.py`` computes
the flag itself and delivers to a guessed node only:

- the hint scan sending ``moves=True`` for every hint (a put's fallback's hint of a
  key the receiver owns on both rings then acknowledged while unrebuilt, the
  fallback's copy dropped: the window session 54 closed);
- a receiver with exact rings taking the sender's word too (a sender whose rings
  lag could then make it acknowledge such a hint).

These two tests catch them.
"""

from __future__ import annotations

import contextlib
from typing import Any

from impl.cluster import SimulatedCluster
from impl.effects import Send
from impl.errors import DynamoError
from impl.messages import HintAck, HintDelivery
from tests.impl.test_wiped_leaver_reads import KEYS
from tests.impl.test_wiped_mid_change_reads import wiped_leaver_then_n2, write_then_leave


def test_the_hint_scan_flags_no_fallback_hint_of_a_key_owned_on_both_rings() -> None:
    """Seed 2, strategy 3 (``test_wiped_during_removal.py``'s start: n4 asked to
    leave and wiped 1 s later, n2 wiped 0.5 s after), then 8 puts at W = 2 through
    n1 while n2 rebuilds on its guessed ring: n2 withholds their acks, so fallbacks
    keep hints for it and the handoff delivers them. Of the deliveries to n2 while
    it is guessed and the key's range unrebuilt, a key n1's serving and future rings
    both give n2 (a put's fallback's hint: 3 keys) is sent with ``moves`` False and
    never acknowledged; the moving ones are flagged (the scenario holds both).

    Mutant (run, seen failing): ``HintedHandoff._scan_page`` sending ``moves=True``
    for every hint: the keys of both rings flagged and acknowledged (``p1``, ``p5``,
    ``p7``); it passed every test of ``tests/impl/test_wiped*``, ``test_rebuilding*``
    and ``test_wire.py``."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=2, partitioning="strategy3"
                          ) as cluster:
        client = wiped_leaver_then_n2(cluster, KEYS)
        delivered: dict[tuple[str, int], bytes] = {}  # (fallback, hint id) -> key
        both: set[bytes] = set()
        moving: set[bytes] = set()
        flagged_both: list[bytes] = []
        acked_both: list[bytes] = []
        send = cluster.sim._send

        def guessed_unrebuilt(key: bytes) -> bool:
            n2 = cluster.node("n2")
            return n2.gossiper.serving_guessed and n2._unrebuilt_range(key)

        def spy(src: str, dest: str, message: Any) -> None:
            if cluster.is_down("n2"):
                send(src, dest, message)
                return
            if dest == "n2" and isinstance(message, HintDelivery):
                if guessed_unrebuilt(message.key):
                    ref = cluster.node("n1").gossiper
                    if all("n2" in ring.preference_list(message.key, 3)
                           for ring in (ref.partitioning, ref.future)):
                        both.add(message.key)
                        delivered[(src, message.hint_id)] = message.key
                        if message.moves:
                            flagged_both.append(message.key)
                    elif message.moves:
                        moving.add(message.key)
            elif src == "n2" and isinstance(message, HintAck):
                key = delivered.get((dest, message.hint_id))
                if key is not None and guessed_unrebuilt(key):
                    acked_both.append(key)
            send(src, dest, message)

        cluster.sim._send = spy  # type: ignore[method-assign]
        for number in range(8):
            with contextlib.suppress(DynamoError):  # (not acknowledged: nothing kept)
                client.put(b"p%d" % number, b"w", w=2, coordinator="n1")
        cluster.run_for(2.0)
    assert len(both) >= 3 and moving  # the scenario holds both kinds
    assert flagged_both == []
    assert acked_both == []


def test_a_rebuilding_node_with_exact_rings_decides_on_its_own_rings() -> None:
    """Seed 1, strategy 1: n4 asked to leave and n2 wiped at once (its new store took
    a view with no change yet: its rings are exact, not guessed), 1 s run: n2
    rebuilds while n4's leave moves ranges. A delivery flagged ``moves`` of a key n2
    owns on both of its own rings and has not rebuilt (a sender whose rings lag
    could send one) is stored and not acknowledged: 21 keys, none acknowledged.

    Mutant (run, seen failing): ``_unrebuilt_mine`` trusting ``moves`` whatever its
    rings (``if moves:`` for ``if gossiper.serving_guessed and moves:``): the 21
    acknowledged; it passed every test near the change."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, partitioning="strategy1"
                          ) as cluster:
        write_then_leave(cluster, KEYS, "n4", gap=0.0)
        cluster.wipe("n2")
        cluster.run_for(1.0)
        n2 = cluster.node("n2")
        gossiper = n2.gossiper
        assert n2.rebuild.active and gossiper.changing() and not gossiper.serving_guessed
        withheld, acked = [], []
        for number, key in enumerate(KEYS):
            if not (all("n2" in ring.preference_list(key, 3)
                        for ring in (gossiper.partitioning, gossiper.future))
                    and n2._unrebuilt_range(key)):
                continue
            record = next(record for record in (
                cluster.node(name).storage.read(key) for name in ("n1", "n3", "n5")) if record)
            effects = n2.receive(cluster.now, "n1",
                                 HintDelivery(10**6 + number, key, record, moves=True))
            (acked if any(isinstance(effect, Send) and isinstance(effect.message, HintAck)
                          for effect in effects) else withheld).append(key)
        assert (len(withheld), acked) == (21, [])
