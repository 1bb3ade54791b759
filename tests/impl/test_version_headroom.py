"""Version headroom and the timer boundary (session 10 review: one gossip message
removed a node for good and killed its hint scan).

- a peer's view with an entry at or over ``PEER_VERSION_LIMIT`` (2**62) is the
  peer's bad data (``PEER_DATA["view"]``): dropped, no internal error, the node
  stays up and its hint scan keeps running; a version just below the bound is
  taken and the node can still announce a change over it;
- ``Membership.announce`` at 2**63 - 1 raises InvalidValueError (ours), never a
  corrupt entry;
- an exception out of a timer handler is an internal error and a periodic timer
  is set again (``Node.fire``, :data:`impl.node.PERIODIC`): the next round runs.
"""

from __future__ import annotations

from typing import Any

import pytest

from impl.errors import BadMessageError, InvalidValueError
from impl.handoff import HintedHandoff as Handoff
from impl.membership import (
    PEER_VERSION_LIMIT,
    Member,
    Membership,
    MemberStatus,
    check_peer_versions,
)
from impl.messages import Gossip
from impl.timers import HintScan
from tests.conftest import InternalErrors
from tests.impl.test_node_driver import Driver, make_config


def _with(view: Membership, node: str, version: int, status: MemberStatus) -> Membership:
    """``view`` with ``node``'s entry replaced (built with Membership.of: no merge)."""
    held = view.get(node)
    assert held is not None
    tokens = () if status is MemberStatus.LEFT else held.tokens
    return Membership.of((*(m for m in view.members if m.node != node),
                          Member(node, version, status, tokens)))


def test_the_bound_is_checked_on_a_peers_view_only() -> None:
    view = Membership.of((Member("n1", PEER_VERSION_LIMIT - 1, MemberStatus.UP, (1,)),))
    check_peer_versions(view)  # just below: taken
    for version in (PEER_VERSION_LIMIT, 2**63 - 1):
        over = Membership.of((Member("n1", version, MemberStatus.UP, (1,)),))
        with pytest.raises(BadMessageError, match=r"not below 2\*\*62"):
            check_peer_versions(over)
    # our own entries may go over it (a node announces over a view it took) ...
    assert view.announce("n1").get("n1") == Member("n1", PEER_VERSION_LIMIT, MemberStatus.UP,
                                                   (1,))


def test_announcing_at_the_top_version_is_our_error_not_a_corrupt_entry() -> None:
    view = Membership.of((Member("n1", 2**63 - 2, MemberStatus.UP, (1,)),))
    top = view.announce("n1")
    assert top.get("n1") == Member("n1", 2**63 - 1, MemberStatus.UP, (1,))
    with pytest.raises(InvalidValueError, match="cannot announce a change"):
        top.announce("n1", status=MemberStatus.LEAVING)


@pytest.mark.parametrize(("who", "status"), [("n1", MemberStatus.LEFT),
                                             ("n2", MemberStatus.LEFT),
                                             ("n1", MemberStatus.UP)])
@pytest.mark.parametrize("version", [PEER_VERSION_LIMIT, 2**63 - 1])
def test_a_view_with_no_headroom_is_the_peers_bad_data(
        who: str, status: MemberStatus, version: int, internal_errors: InternalErrors) -> None:
    """The reviewer's scenario: an authenticated peer gossips n1 a view marking a
    member (n1 itself) ``left`` at version 2**63 - 1. n1 drops it as the peer's
    view, stays up, and keeps gossiping and scanning hints."""
    driver = Driver.start(make_config())
    n1 = driver.nodes["n1"]
    before = n1.view
    forged = _with(before, who, version, status)
    assert n1.receive(driver.now, "n3", Gossip(forged.to_bytes(), reply=True)) == []
    assert (n1.stats["dropped"], n1.stats["internal-error"]) == (1, 0)
    assert n1.log[-1].endswith("(peer data: view)"), n1.log[-1]
    assert "not below 2**62" in n1.log[-1]
    assert n1.view == before
    scans: list[float] = []
    scan = n1.handoff.on_timer

    def counted(now: float, timer: HintScan) -> list[Any]:
        scans.append(now)
        return scan(now, timer)

    n1._timers[HintScan] = counted
    driver.advance(5.0)
    assert n1.status is MemberStatus.UP
    assert HintScan() in driver.timers["n1"]  # the hint scan is still set
    assert all(node.stats["internal-error"] == 0 for node in driver.nodes.values())
    assert len(scans) >= 4  # the hint scan ran on, once a second
    assert internal_errors.records == []


def test_a_version_just_below_the_bound_is_taken_and_announced_over(
        internal_errors: InternalErrors) -> None:
    """A view with n1's entry at 2**62 - 1 is valid: n1 merges it and can still
    announce a change of its own (it leaves: version 2**62, over the peers' bound;
    honest versions, one per announcement, never come near it)."""
    driver = Driver.start(make_config())
    n1 = driver.nodes["n1"]
    near = _with(n1.view, "n1", PEER_VERSION_LIMIT - 1, MemberStatus.UP)
    driver.handle("n1", n1.receive(driver.now, "n3", Gossip(near.to_bytes(), reply=False)))
    assert n1.stats["dropped"] == 0
    held = n1.view.get("n1")
    assert held is not None and held.version == PEER_VERSION_LIMIT - 1
    driver.handle("n1", n1.leave(driver.now))
    driver.advance(5.0)
    mine = n1.view.get("n1")
    assert mine is not None and mine.version >= PEER_VERSION_LIMIT
    assert mine.status in (MemberStatus.LEAVING, MemberStatus.LEFT)
    assert all(node.stats["internal-error"] == 0 for node in driver.nodes.values())
    assert internal_errors.records == []


def test_an_exception_in_a_timer_handler_is_internal_and_the_timer_fires_again(
        monkeypatch: pytest.MonkeyPatch, internal_errors: InternalErrors) -> None:
    """The hint scan's handler raises once (a hand bug): n1 reports one internal
    error (counted, logged with the traceback), writes nothing of it, and its
    next hint scan is set one period later and runs."""
    calls: list[float] = []
    original = Handoff.on_timer
    bug = KeyError("a bug of ours in the hint scan")

    def on_timer(self: Handoff, now: float, timer: HintScan) -> list[Any]:
        if self.name == "n1":
            calls.append(now)
            if len(calls) == 1:
                raise bug
        return original(self, now, timer)

    monkeypatch.setattr(Handoff, "on_timer", on_timer)
    config = make_config()
    driver = Driver.start(config)
    n1 = driver.nodes["n1"]
    driver.advance(config.hint_scan_interval)  # the first scan: the bug
    assert len(calls) == 1
    assert n1.stats["internal-error"] == 1
    assert "INTERNAL ERROR handling HintScan from 'timer'" in n1.log[-1], n1.log[-1]
    (record,) = internal_errors.take()
    assert record.exc_info is not None and record.exc_info[1] is bug
    assert driver.timers["n1"][HintScan()] == pytest.approx(
        calls[0] + config.hint_scan_interval)
    driver.advance(3 * config.hint_scan_interval)
    assert len(calls) >= 3  # the scan runs again, every period
    assert n1.stats["internal-error"] == 1
    assert HintScan() in driver.timers["n1"]
