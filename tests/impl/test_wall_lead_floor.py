"""Review of the wall-clock stamps (session 50, review; docs/runtime.md): since
dc9d8b58 a put stamps ``now + PutCoordinator.wall_lead`` (the host's wall clock) and
the timers keep the node's clock ``now``. The lww stamp floor a reap keeps
(:meth:`impl.replica.Replica._keep_lww_floor`, session 24) and the floor a replica's
ack carries (:meth:`impl.replica.Replica.adopt_lww_floor`) compare a tombstone's
stamp with ``Replica.clock``: that clock must be the stamps' clock (the wall), not
the timers'. Before the fix it was the node's clock: after the host's clock stepped
back an hour (``wall_lead = -3600``) a tombstone stamped a few seconds ahead of this
node's stamps looked an hour old, no floor was kept at its reap, and the next put of
the key coordinated here was stamped below the tombstone (a late copy of it then
deletes the acknowledged put: tests/impl/test_lww_stale_reap_round.py's fault).

Mutants checked: ``Node``'s ``replica.clock`` left as ``lambda: self._now`` (the
tree before): both floor tests fail; ``lww_version`` ignoring the context's stamp:
the third fails; ``PutCoordinator._coordinate`` stamping ``now`` not ``now +
wall_lead``: tests/runtime/test_ntp_step_stamps.py fails (3600 s behind)."""

from __future__ import annotations

from impl import versions
from impl.node import Node
from impl.storage.memory import MemoryStorage
from impl.versions import TOMBSTONE, ClockMode, Record, lww_after
from spec.vclock import VClock
from tests.impl.test_node_driver import Driver, make_config, ok_get, ok_put

KEY = b"cart"
NOW = 10_000.0  # the node's clock (seconds)
LEAD = -3600.0  # the host's clock stepped back an hour after the node's start


def _node() -> Node:
    config = make_config(3, clock="lww", lww_floor_margin_s=0.0)
    node = Node("n1", config, MemoryStorage("always"), seed=1,  # type: ignore[arg-type]
                now=NOW)
    node.puts.wall_lead = LEAD
    return node


def _reap_tombstone(node: Node, stamp: float) -> None:
    record = versions.apply_put(Record.empty(ClockMode.LWW), VClock(), TOMBSTONE,
                                coordinator="n2", client_id="", now=stamp)
    node.replica.store(KEY, versions.encode_record(record))
    node.replica.reap(KEY)


def test_a_reap_after_a_back_step_keeps_the_floor_of_a_tombstone_ahead_of_the_stamps() -> None:
    node = _node()
    wall = NOW + LEAD
    _reap_tombstone(node, wall + 5.0)  # another node's clock 5 s ahead of this one's wall
    assert node.replica.lww_floors == {KEY: wall + 5.0}
    assert node.replica.lww_now(KEY, wall) == lww_after(wall + 5.0)


def test_a_reap_after_a_forward_step_keeps_no_floor_an_hour_behind_the_stamps() -> None:
    config = make_config(3, clock="lww", lww_floor_margin_s=0.0)
    node = Node("n1", config, MemoryStorage("always"), seed=1,  # type: ignore[arg-type]
                now=NOW)
    node.puts.wall_lead = 3600.0  # the node started an hour behind, NTP corrected it
    _reap_tombstone(node, NOW + 1800.0)  # stamped half an hour before this wall clock
    assert node.replica.lww_floors == {}  # behind the stamps: no floor to keep


def test_a_write_with_a_context_wins_after_the_coordinators_wall_clock_stepped_back() -> None:
    """The hybrid rule: n2's wall clock stepped back an hour (its stamps an hour
    behind the stored one); a blind write there loses (lww, expected), a write with
    the read's context wins. Mutant checked: ``lww_version`` ignoring the context's
    stamp (``seen = None``): fails."""
    driver = Driver.start(make_config(3, clock="lww", w=1))
    driver.down.add("n2")  # n2 misses the first put: it holds no stored stamp
    first = ok_put(driver.put("n1", KEY, b"a", settle=0.5))
    driver.down.discard("n2")
    driver.nodes["n2"].puts.wall_lead = LEAD
    ok_put(driver.put("n2", KEY, b"blind"))
    assert driver.records(KEY)["n1"] == [b"a"]  # lost (no read here: its repair
    # would give n2 the stored stamp, which the hybrid rule stamps above anyway)
    ok_put(driver.put("n2", KEY, b"b", first.context, settle=0.5))
    assert ok_get(driver.get("n3", KEY, settle=0.5)).values == [b"b"]
