"""Session 27's review of the heartbeat versions (docs/runtime.md, "Review of the
heartbeat versions (session 27)"): the mutants the earlier tests let survive.

A gossip frame whose beats were malformed raised the client floor it carried in
memory before the beats were parsed (and before its view was, the same with a
malformed view); the message was dropped and its staged write of the floor
discarded, so the node then gossiped a floor it had not persisted and never wrote
it (a later gossip with the same floor was no rise). Now the floor is raised once
the frame is handled (:meth:`impl.node.Node.receive`), and a malformed frame changes
nothing but the peer's ``dropped`` count.
"""

from __future__ import annotations

from impl.membership import beats_from_bytes, beats_to_bytes
from impl.messages import Gossip
from impl.node import HEARTBEAT_GENERATION_META, heartbeat_generation
from impl.records import ClockMode
from impl.storage.memory import MemoryStorage
from tests.conftest import InternalErrors
from tests.impl.test_internal_errors import _driver


def test_malformed_beats_drop_the_frame_whole_its_floor_too(
        internal_errors: InternalErrors) -> None:
    """Before: ``client_floor`` 40 in memory, nothing persisted (mutant-free bug)."""
    driver = _driver()
    node = driver.nodes["n1"]
    node.replica.mode = ClockMode.CLIENT_VCLOCK
    floor = node.replica.client_floor
    view = driver.nodes["n2"].gossiper.view.to_bytes()
    held = dict(node.heartbeats)
    bad = b'{"format":"vdynamo.beats.v2","beats":{"n3":[1,1,-1]}}'
    before = node.stats.get("dropped", 0)
    assert node.receive(driver.now, "n2", Gossip(view, floor=floor + 40, beats=bad)) == []
    assert node.stats["dropped"] == before + 1 and node.stats["internal-error"] == 0
    assert "the heartbeat of 'n3'" in node.log[-1] and node.log[-1].endswith(
        "(peer data: beats)")
    assert node.replica.client_floor == floor and node.heartbeats == held
    view_bad = Gossip(b'{"format":"x","members":1}', floor=floor + 40)  # (a view likewise)
    assert node.receive(driver.now, "n2", view_bad) == [] and node.log[-1].endswith(
        "(peer data: view)")
    assert node.replica.client_floor == floor
    node.receive(driver.now, "n2", Gossip(view, floor=floor + 40))  # (a good one raises it)
    assert node.replica.client_floor == floor + 40
    assert internal_errors.records == []


def test_a_gossip_held_back_does_not_re_date_the_beat_it_carries() -> None:
    """``Node._heard_directly`` is for messages other than gossip: a gossip's own
    beat (age 0) dates it, and one held in a queue, its beat no higher than the one
    held, dates nothing (mutant: stepped up and dated at its arrival)."""
    driver = _driver()
    node = driver.nodes["n1"]
    view = driver.nodes["n3"].gossiper.view.to_bytes()
    now = driver.now
    node.heartbeats["n3"], node.heartbeat_updated["n3"] = (5, 7), now - 4
    node.receive(now, "n3", Gossip(view, beats=beats_to_bytes({"n3": (5, 7, 0)})))
    assert node.heartbeats["n3"] == (5, 7) and node.heartbeat_updated["n3"] == now - 4


def test_relayed_ages_are_never_negative_when_the_clock_steps_back() -> None:
    """A beat dated after the ``now`` of the next gossip (a wall clock set back) is
    relayed at age 0: a negative age would make every receiver refuse the frame
    whole, its view with it (mutant: the clamp removed)."""
    driver = _driver()
    node = driver.nodes["n1"]
    node.heartbeats["n3"], node.heartbeat_updated["n3"] = (5, 7), driver.now + 3
    assert beats_from_bytes(node._beats_to_send(driver.now))["n3"] == (5, 7, 0)


def test_a_garbage_generation_meta_counts_as_none() -> None:
    """A meta entry not a decimal count (a damaged store) starts from the clock, not
    a crash at start (mutant: ``int(kept)`` unchecked)."""
    store = MemoryStorage()
    store.set_meta(HEARTBEAT_GENERATION_META, b"-7x")
    assert heartbeat_generation(store, 100.5) == 100
