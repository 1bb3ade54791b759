"""Version headroom and the timer boundary (session 10 review: one gossip message
removed a node for good and killed its hint scan).

- one bound on both sides, ``PEER_VERSION_LIMIT`` (2**62): a peer's view with an
  entry at or over it is the peer's bad data (``PEER_DATA["view"]``): dropped, no
  internal error, the node stays up and its hint scan keeps running; and no node
  announces a version at or over it (``Membership.announce`` raises
  VersionHeadroomError, an InvalidValueError naming the node and the bound), so no
  node sends a view its peers refuse. Before (session 11, issue 12), a node that
  took an entry at 2**62 - 1 (valid) announced 2**62 at its next change (a leave,
  a settlement announced again, a claimant's move), and every honest peer
  dropped its views from then on: cut off from gossip. A node's refused change
  (:meth:`impl.gossip.Gossiper.announced`) is counted (``version-headroom``) and
  logged once, never an internal error, and the node keeps serving; every test
  below checks every Gossip any node sends against a peer's check;
- an exception out of a timer handler is an internal error and a periodic timer
  is set again (``Node.fire``, :data:`impl.node.PERIODIC`): the next round runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from impl.effects import Effect, Send
from impl.errors import BadMessageError, InvalidValueError, VersionHeadroomError
from impl.gossip import HEADROOM_LOG
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
from tests.impl.test_node_driver import Driver, make_config, ok_get, ok_put
from tests.impl.test_node_membership import join, quiesce


def _with(view: Membership, node: str, version: int, status: MemberStatus) -> Membership:
    """``view`` with ``node``'s entry replaced (built with Membership.of: no merge)."""
    held = view.get(node)
    assert held is not None
    tokens = () if status is MemberStatus.LEFT else held.tokens
    return Membership.of((*(m for m in view.members if m.node != node),
                          Member(node, version, status, tokens)))


_REFUSED = r"'n1' cannot announce a change: version \d+ would not be below 2\*\*62"


def test_one_bound_on_both_sides() -> None:
    """A peer's view is taken just below the bound and refused at it; this node
    announces up to 2**62 - 1 and refuses to announce 2**62 (VersionHeadroomError,
    an InvalidValueError naming the node and the bound), so every view it can
    build passes a peer's check. (The old rule announced 2**62 and refused only
    2**63 - 1.)"""
    view = Membership.of((Member("n1", PEER_VERSION_LIMIT - 1, MemberStatus.UP, (1,)),))
    check_peer_versions(view)  # just below: taken
    for version in (PEER_VERSION_LIMIT, 2**63 - 1):
        over = Membership.of((Member("n1", version, MemberStatus.UP, (1,)),))
        with pytest.raises(BadMessageError, match=r"not below 2\*\*62"):
            check_peer_versions(over)
    below = _with(view, "n1", PEER_VERSION_LIMIT - 2, MemberStatus.UP).announce("n1")
    assert below.get("n1") == replace(view.get("n1"),  # type: ignore[arg-type]
                                      tokens_version=PEER_VERSION_LIMIT - 2)  # 2**62 - 1 ...
    check_peer_versions(below)
    for top in (view, _with(view, "n1", 2**63 - 2, MemberStatus.UP)):  # ... 2**62 never
        with pytest.raises(VersionHeadroomError, match=_REFUSED) as refused:
            top.announce("n1", status=MemberStatus.LEAVING)
        assert isinstance(refused.value, InvalidValueError)


_VERSIONS = st.sampled_from([0, 1, PEER_VERSION_LIMIT - 3, PEER_VERSION_LIMIT - 2,
                             PEER_VERSION_LIMIT - 1]) | st.integers(0, PEER_VERSION_LIMIT - 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["n1", "n2", "n3"]), _VERSIONS,
                          st.sampled_from(list(MemberStatus))), max_size=3),
       st.lists(st.tuples(st.sampled_from(["n1", "n2", "n3", "n4"]),
                          st.sampled_from([None, *MemberStatus]), st.booleans()),
                min_size=1, max_size=4))
def test_every_view_a_node_announces_over_a_peers_view_passes_a_peers_check(
        entries: list[tuple[str, int, MemberStatus]],
        changes: list[tuple[str, MemberStatus | None, bool]]) -> None:
    """From any view a peer's check takes, any run of announcements either builds a
    view the check takes or raises VersionHeadroomError: never one it refuses."""
    view = Membership.of(Member(node, version, status) for node, version, status in entries)
    check_peer_versions(view)
    for node, status, settled in changes:
        try:
            view = view.announce(node, status=status, settled=settled)
        except VersionHeadroomError:
            held = view.get(node)
            assert held is not None and held.version == PEER_VERSION_LIMIT - 1
            continue
        check_peer_versions(view)


class _Sent:
    """Every message each node of ``driver`` sends from now on (the test's own inputs
    to a node included: they go through ``driver.handle``)."""

    def __init__(self, driver: Driver, monkeypatch: pytest.MonkeyPatch) -> None:
        self.messages: list[tuple[str, object]] = []
        handle = driver.handle

        def recording(name: str, effects: Iterable[Effect]) -> None:
            effects = list(effects)
            self.messages.extend((name, e.message) for e in effects if isinstance(e, Send))
            handle(name, effects)

        monkeypatch.setattr(driver, "handle", recording)

    def check_views(self, driver: Driver) -> int:
        """Every Gossip sent decodes and passes a peer's check, and no node dropped
        a view: returns how many views were sent."""
        views = [message for _, message in self.messages if isinstance(message, Gossip)]
        for message in views:
            check_peer_versions(Membership.from_bytes(message.view))
        for name, node in driver.nodes.items():
            dropped = [line for line in node.log if "(peer data: view)" in line]
            assert not dropped, (name, dropped)
            assert node.stats["internal-error"] == 0, (name, node.log[-1])
        return len(views)


def _serves(driver: Driver, at: str, key: bytes) -> None:
    """``at`` coordinates a put and a get of ``key``."""
    ok_put(driver.put(at, key, b"still here"))
    assert b"still here" in ok_get(driver.get(at, key)).values


def _refused_once(caplog: pytest.LogCaptureFixture, node: str) -> logging.LogRecord:
    """The one ERROR on HEADROOM_LOG (logged once, however often it is counted)."""
    records = [r for r in caplog.records if r.name == HEADROOM_LOG.name]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].levelno == logging.ERROR
    assert records[0].getMessage().startswith(f"{node}: membership change not announced")
    return records[0]


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


def test_a_node_whose_own_entry_took_the_last_version_keeps_serving_and_refuses_its_leave(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        internal_errors: InternalErrors) -> None:
    """A view with n1's entry at 2**62 - 1 is valid: n1 merges it. Asked to leave,
    n1 cannot announce it (2**62 is over the peers' bound): the leave is refused,
    counted and logged (not an internal error, nothing escapes ``Node.leave`` or
    ``Node.fire``), tried again every gossip round, and n1 stays up, gossips a view
    every peer takes, and coordinates a put and a get. (Old rule: n1 announced
    ``leaving`` at 2**62 and every peer dropped its views.)"""
    caplog.set_level(logging.ERROR, logger=HEADROOM_LOG.name)
    driver = Driver.start(make_config())
    sent = _Sent(driver, monkeypatch)
    n1 = driver.nodes["n1"]
    near = _with(n1.view, "n1", PEER_VERSION_LIMIT - 1, MemberStatus.UP)
    driver.handle("n1", n1.receive(driver.now, "n3", Gossip(near.to_bytes(), reply=False)))
    assert n1.stats["dropped"] == 0
    assert n1.view == near
    driver.handle("n1", n1.leave(driver.now))
    refusals = n1.stats["version-headroom"]
    driver.advance(5.0)
    assert sent.check_views(driver) > 10
    assert refusals == 1 and n1.gossiper.leave_requested  # kept: tried again ...
    assert n1.stats["version-headroom"] >= 3  # ... every round ...
    record = _refused_once(caplog, "n1")  # ... logged once
    assert record.getMessage().endswith(
        "membership change not announced (leave): membership: 'n1' cannot announce a "
        f"change: version {PEER_VERSION_LIMIT} would not be below 2**62 "
        "(PEER_VERSION_LIMIT), and every peer refuses a view with it")
    assert record.getMessage().partition(": ")[2] in n1.log
    assert n1.status is MemberStatus.UP and n1.view.get("n1") == near.get("n1")
    for name, node in driver.nodes.items():  # every peer took n1's view
        assert node.view.get("n1") == near.get("n1"), name
    _serves(driver, "n1", b"cart")
    assert internal_errors.records == []


def test_a_settled_node_refuses_to_announce_its_settlement_again_at_the_bound(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        internal_errors: InternalErrors) -> None:
    """Strategy 3: n6 joined and announced its change settled. A peer gossips it a
    valid view with its own entry at 2**62 - 1, not settled: the automatic path
    that announces its settlement again (``Gossiper.on_gossip``, inside
    ``Node.receive``) would reach 2**62. n6 merges the view without that
    announcement, counts and logs the refusal (every later gossip tries again),
    and every peer keeps taking its views. (Old rule: n6 announced 2**62, and
    every peer dropped its views from then on.)"""
    caplog.set_level(logging.ERROR, logger=HEADROOM_LOG.name)
    driver = Driver.start(make_config(4, partitioning="strategy3", partitions=16))
    join(driver, "n6")
    quiesce(driver)
    n6 = driver.nodes["n6"]
    assert n6.status is MemberStatus.UP and n6.gossiper.announced_settled
    sent = _Sent(driver, monkeypatch)
    held = n6.view.get("n6")
    assert held is not None and held.settled
    forged = Membership.of((*(m for m in n6.view.members if m.node != "n6"),
                            Member("n6", PEER_VERSION_LIMIT - 1, MemberStatus.UP,
                                   held.tokens)))
    driver.handle("n6", n6.receive(driver.now, "n1", Gossip(forged.to_bytes(), reply=True)))
    refusals, merged = n6.stats["version-headroom"], n6.view.get("n6")
    driver.advance(5.0)
    assert sent.check_views(driver) > 10
    assert refusals == 1 and merged == forged.get("n6")  # merged, not announced over
    assert n6.stats["version-headroom"] > 1
    assert "(settlement again)" in _refused_once(caplog, "n6").getMessage()
    for name, node in driver.nodes.items():
        assert node.view.get("n6") == forged.get("n6"), name
    _serves(driver, "n6", b"cart")
    assert internal_errors.records == []


def test_the_claimant_refuses_a_move_that_would_take_a_member_to_the_bound(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        internal_errors: InternalErrors) -> None:
    """Strategy 3: the members n2, n3, n4 hold entries at 2**62 - 2 (a valid view a
    peer gossiped). n6 asks to join; the claimant n1 would move partitions from
    them to n6, announcing each donor's entry two versions up: 2**62. It refuses
    the claim (counted, logged once, every round tries again), n6 stays joining
    with no tokens, and every node keeps serving and gossiping views every peer
    takes. (Old rule: n1 announced the donors at 2**62 and every peer dropped its
    views.)"""
    caplog.set_level(logging.ERROR, logger=HEADROOM_LOG.name)
    driver = Driver.start(make_config(4, partitioning="strategy3", partitions=16))
    sent = _Sent(driver, monkeypatch)
    n1 = driver.nodes["n1"]
    forged = n1.view
    for donor in ("n2", "n3", "n4"):
        forged = _with(forged, donor, PEER_VERSION_LIMIT - 2, MemberStatus.UP)
    driver.handle("n1", n1.receive(driver.now, "n3", Gossip(forged.to_bytes(), reply=True)))
    driver.advance(3.0)
    join(driver, "n6")
    driver.advance(10.0)
    assert sent.check_views(driver) > 10
    assert n1.stats["version-headroom"] > 1 and n1.stats["claims"] == 0
    assert "(claim)" in _refused_once(caplog, "n1").getMessage()
    for name, node in driver.nodes.items():
        member = node.view.get("n6")
        assert member is not None and member.tokens == (), name
        assert member.status is MemberStatus.JOINING, name
        for donor in ("n2", "n3", "n4"):
            assert node.view.get(donor) == forged.get(donor), (name, donor)
    _serves(driver, "n1", b"cart")
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


def test_two_refused_changes_in_turn_are_each_logged_once(
        caplog: pytest.LogCaptureFixture, internal_errors: InternalErrors) -> None:
    """Review (session 11): "logged once per distinct refusal" must hold when two
    refused changes take turns. n6 (strategy 3, its change settled) took a view
    with its own entry at 2**62 - 1, not settled: every gossip it receives tries
    the settlement again, and, asked to leave, every round tries the leave. Each
    refusal is logged once (two ERROR lines), however often both are counted. (The
    first rule compared a refusal with the last one logged only, so the two in
    turn logged an ERROR line every round.)"""
    caplog.set_level(logging.ERROR, logger=HEADROOM_LOG.name)
    driver = Driver.start(make_config(4, partitioning="strategy3", partitions=16))
    join(driver, "n6")
    quiesce(driver)
    n6 = driver.nodes["n6"]
    held = n6.view.get("n6")
    assert held is not None and held.settled and n6.gossiper.announced_settled
    forged = Membership.of((*(m for m in n6.view.members if m.node != "n6"),
                            Member("n6", PEER_VERSION_LIMIT - 1, MemberStatus.UP,
                                   held.tokens)))
    driver.handle("n6", n6.receive(driver.now, "n1", Gossip(forged.to_bytes(), reply=True)))
    driver.handle("n6", n6.leave(driver.now))
    driver.advance(10.0)
    records = [r.getMessage() for r in caplog.records if r.name == HEADROOM_LOG.name]
    assert n6.stats["version-headroom"] > 4
    assert sorted(line.split("(")[1].split(")")[0] for line in records) == [
        "leave", "settlement again"], records
    assert n6.status is MemberStatus.UP
    assert internal_errors.records == []


def test_only_a_refusal_at_the_bound_is_caught(
        caplog: pytest.LogCaptureFixture) -> None:
    """``Gossiper.announced`` catches VersionHeadroomError only: another
    InvalidValueError out of an announcement (a bug of ours, e.g. a join of a node
    already a member) propagates, to be reported as an internal error, and is not
    counted as ``version-headroom`` (review, session 11: a catch of every
    InvalidValueError passed every other test)."""
    caplog.set_level(logging.ERROR, logger=HEADROOM_LOG.name)
    gossiper = Driver.start(make_config()).nodes["n1"].gossiper

    def refused() -> Membership:
        raise VersionHeadroomError("at the bound")

    def bug() -> Membership:
        raise InvalidValueError("node 'n1' is already a member (up)")

    assert gossiper.announced("leave", refused) is None
    with pytest.raises(InvalidValueError, match="already a member") as raised:
        gossiper.announced("join", bug)
    assert not isinstance(raised.value, VersionHeadroomError)
    assert gossiper.stats["version-headroom"] == 1
    assert len([r for r in caplog.records if r.name == HEADROOM_LOG.name]) == 1
