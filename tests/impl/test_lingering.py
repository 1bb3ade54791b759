"""Answered coordinations linger outside admission, bounded (session 33).

Session 33's user probe: with one node of three down (N = 3, no fallback), one
client reading back to back at ``r=1`` had 6,801 of 21,932 gets refused 503
"saturated": every answered get waited its whole ``request_timeout`` for the down
node and counted in :attr:`impl.node.Node.pending`, which the runtime's admission
compares with ``max_pending_requests`` (:meth:`impl.runtime.NodeServer.overloaded`).
Here, in the core: an answered coordination is :attr:`impl.node.Node.lingering`,
not pending; the lingering ones are at most ``max_pending_requests``, one more
ending the oldest early (``stats["lingering-ended-early"]``); an unanswered one
still counts.
"""

from __future__ import annotations

import collections
import random

import pytest

from impl.effects import Effect, GetResult
from impl.lingering import Lingering
from impl.messages import GetRequest, PutRequest, ReadRepair, ReplicaPutAck, delete_request
from impl.node import Node
from impl.staging import persist
from impl.timers import ReapCheck
from tests.impl.test_client_counter_remint_review import KEY as KEY_K
from tests.impl.test_client_counter_remint_review import _alice_record as alice_record
from tests.impl.test_client_counter_remint_review import _answered_put as answered_put
from tests.impl.test_client_counter_remint_review import _node as remint_node
from tests.impl.test_client_counter_remint_review import _replica_puts as replica_puts
from tests.impl.test_node_driver import Driver, make_config, ok_get, ok_put

LIMIT = 8
KEY = b"cart"


def _admitted(node: Node) -> bool:
    """The runtime's admission of one more request (``NodeServer.overloaded``: its
    waiting clients are at most the node's pending requests here)."""
    return node.pending < node.config.max_pending_requests


def _three_nodes_one_down(**changes: object) -> tuple[Driver, str, str, str]:
    """Three nodes at N = 3 (no fallback), a limit of 8 requests, long timeouts (every
    request of a test is within one ``request_timeout``), a key written to all three,
    then its third replica down: (driver, coordinator, live replica, down replica)."""
    settings: dict[str, object] = {"max_pending_requests": LIMIT, "request_timeout": 30.0,
                                   "replica_timeout": 10.0}
    settings.update(changes)
    driver = Driver.start(make_config(3, **settings))
    top = list(driver.nodes["n1"].preference_list(KEY))[:3]
    ok_put(driver.put(top[0], KEY, b"v", w=3))
    driver.down.add(top[2])
    return driver, top[0], top[1], top[2]


def test_answered_gets_and_puts_with_a_replica_down_do_not_saturate_the_node() -> None:
    driver, coordinator, _, _ = _three_nodes_one_down()
    node = driver.nodes[coordinator]
    start = driver.now
    for i in range(5 * LIMIT):
        assert _admitted(node), (
            f"request {i} refused: {node.pending} pending (limit {LIMIT}), "
            f"{len(node.gets.coordinations)} gets and {len(node.puts.coordinations)} "
            "puts coordinated")
        if i % 2:
            ok_put(driver.put(coordinator, b"p%d" % i, b"x", w=1))
        else:
            assert ok_get(driver.get(coordinator, KEY, r=1)).values == [b"v"]
    assert driver.now - start < node.config.request_timeout  # none reached its deadline
    assert node.pending == 0
    assert len(node.lingering) == LIMIT  # answered, each waiting for the down replica


def test_the_lingering_coordinations_stay_bounded_the_oldest_ended_early() -> None:
    driver, coordinator, _, down = _three_nodes_one_down()
    node = driver.nodes[coordinator]
    for i in range(3 * LIMIT):
        if i % 2:
            ok_put(driver.put(coordinator, b"p%d" % i, b"x", w=2))
        else:
            ok_get(driver.get(coordinator, KEY, r=2))
        assert len(node.lingering) <= LIMIT
        assert len(node.gets.coordinations) + len(node.puts.coordinations) <= LIMIT
    assert node.stats["lingering-ended-early"] == 3 * LIMIT - LIMIT
    # the ones kept are the latest: each ended one is gone, its timer cancelled
    kept = sorted(node.snapshot().coordinations)
    assert len(kept) == LIMIT and all(c.replied for c in node.snapshot().coordinations.values())
    # the down replica comes back: the acks and replies of the ones ended early are
    # late (ignored), and no coordination is left once the kept ones end
    driver.down.discard(down)
    driver.advance(node.config.request_timeout + 1.0)
    assert len(node.lingering) == 0 and not node.snapshot().coordinations


def test_a_get_ended_early_repairs_the_stale_replica_it_heard() -> None:
    """Ending a lingering get early does what its deadline would: read repair with
    the replies it has (here the live replica's stale copy), at once."""
    driver, coordinator, live, _ = _three_nodes_one_down(max_pending_requests=1)
    driver.down.add(live)
    ok_put(driver.put(coordinator, KEY, b"new", w=1))  # blind (a sibling); live misses it
    driver.down.discard(live)
    node = driver.nodes[coordinator]
    first = driver.get(coordinator, KEY, r=1)  # hears the stale live replica, lingers
    assert sorted(ok_get(first).values) == [b"new", b"v"] and len(node.lingering) == 1
    assert driver.records(KEY)[live] == [b"v"]
    ended = node.stats["lingering-ended-early"]  # the put's (its targets never acked)
    repairs = [m for _, dest, m in driver.delivered
               if dest == live and isinstance(m, ReadRepair)]
    assert not repairs, "no repair before the get ends (it waits for the down node)"
    ok_get(driver.get(coordinator, b"other", r=1))  # a second lingering get: the first ends
    assert node.stats["lingering-ended-early"] == ended + 1
    assert any(dest == live and isinstance(m, ReadRepair) for _, dest, m in driver.delivered)
    assert driver.records(KEY)[live] == [b"new", b"v"]


def test_gets_still_waiting_for_their_quorum_count_and_are_refused_past_the_limit() -> None:
    """A coordination that has not answered holds its client: counted, so requests
    that wait on a down replica (``r=3``) fill the node and the next is refused."""
    driver, coordinator, _, _ = _three_nodes_one_down()
    node = driver.nodes[coordinator]
    for i in range(LIMIT):
        assert _admitted(node), f"get {i} refused at {node.pending} pending"
        driver.request(coordinator, GetRequest(1000 + i, KEY, 3, "c1"))
        driver.deliver_all()
    assert node.pending == LIMIT and len(node.lingering) == 0
    assert not _admitted(node)
    assert not any(1000 + i in driver.replies for i in range(LIMIT))


def test_the_lingering_puts_hold_at_most_max_pending_bytes() -> None:
    """The bytes of the lingering coordinations are bounded too (``max_pending_bytes``:
    a put's record), the oldest ended early past it, whatever their count."""
    driver, coordinator, _, _ = _three_nodes_one_down(max_value_bytes=1024,
                                                      max_pending_bytes=4096)
    node = driver.nodes[coordinator]
    for i in range(LIMIT):
        ok_put(driver.put(coordinator, b"big%d" % i, b"x" * 1000, w=2))
        assert 0 < node.lingering.bytes <= 4096
        assert node.lingering.bytes == sum(
            len(c.record) for c in node.puts.coordinations.values() if c.replied)
    assert 3 <= len(node.lingering) < LIMIT  # ended by bytes, not by count
    assert node.stats["lingering-ended-early"] == LIMIT - len(node.lingering)


def _agrees(node: Node) -> None:
    """Every answered coordination of ``node`` is lingering, and only those."""
    replied = {op_id for op_id, c in node.snapshot().coordinations.items() if c.replied}
    assert {op_id for op_id in replied if op_id in node.lingering} == replied
    assert len(node.lingering) == len(replied), (len(node.lingering), replied)
    # a put's record as sent; a get's largest record gathered, late replies
    # included (Lingering.resize, session 33's review)
    puts = sum(len(c.record) for c in node.puts.coordinations.values() if c.replied)
    gets = sum(c.record_bytes for c in node.gets.coordinations.values() if c.replied)
    assert node.lingering.bytes == puts + gets


@pytest.mark.parametrize("clock", ["dvv", "client-vclock", "lww"])
def test_the_lingering_set_is_exactly_the_answered_coordinations_under_faults(
        clock: str) -> None:
    """Lost messages, a crash and a restart, re-mints (client-vclock), deadlines and
    early ends: after every step the lingering set is the answered coordinations."""
    rng = random.Random(33)
    driver = Driver.start(make_config(4, n=3, clock=clock, max_pending_requests=3,
                                      request_timeout=2.0, replica_timeout=0.5))
    driver.drop_filter = lambda src, dest, message: rng.random() < 0.3
    names = sorted(driver.nodes)
    for step in range(120):
        at = rng.choice([n for n in names if n not in driver.down])
        key = b"k%d" % rng.randrange(4)
        if rng.random() < 0.5:
            driver.request(at, PutRequest(10_000 + step, key, b"v%d" % step, b"",
                                          rng.choice([1, 2]), f"c{step % 3}"))
        else:
            driver.request(at, GetRequest(10_000 + step, key, rng.choice([1, 2]), "c1"))
        if step == 40:
            driver.crash(names[1])
        if step == 70:
            driver.restart(names[1])
        driver.advance(rng.choice([0.0, 0.1, 0.6]))
        for name in names:
            if name not in driver.down:
                _agrees(driver.nodes[name])
    assert sum(node.stats["lingering-ended-early"] for node in driver.nodes.values()) > 0


def test_a_late_round_of_an_answered_put_lingers_in_place_of_the_first() -> None:
    """client-vclock: a replica's ack after the answer says the version cannot stand,
    and the answered put is minted again under a new op id (``PutCoordinator._remint``):
    the first round no longer lingers, the new one does from its start (no client
    waits on it)."""
    node, storage = remint_node()
    put, _ = answered_put(node, storage)
    assert put.op_id in node.lingering and node.pending == 0
    out = persist(storage, node.receive(1.02, "n3", ReplicaPutAck(
        put.op_id, KEY_K, record=alice_record(node, 2, b"v2"))))
    assert node.stats["put-remints"] == 1
    (again, *_) = replica_puts(out)
    assert put.op_id not in node.lingering and again.op_id in node.lingering
    assert len(node.lingering) == 1 and node.pending == 0
    _agrees(node)


def _hinted(driver: Driver, key: bytes, intended: str) -> list[str]:
    """The nodes holding a hint of ``key`` for ``intended``."""
    return sorted(name for name, node in driver.nodes.items()
                  if any(h.intended == intended and h.key == key for h in node.hints.all()))


@pytest.mark.parametrize("ended_early", [False, True])
def test_a_put_ended_early_leaves_the_hint_its_deadline_would_have(ended_early: bool) -> None:
    """Session 33's review: four nodes at N = 3 (a fallback), a target down that
    the failure detector does not suspect yet, so the put's first send goes to it.
    Lingering to its timeout, the answered put sends that target's write to the
    fallback with a hint (``on_timeout``); ended early, it must too, or the write
    is on two nodes only until anti-entropy, and hinted handoff never brings it
    (before the fix: no node held a hint)."""
    driver = Driver.start(make_config(4, n=3, max_pending_requests=1,
                                      request_timeout=30.0, replica_timeout=10.0))
    top = list(driver.nodes["n1"].preference_list(KEY))
    coordinator, down, fallback = top[0], top[2], top[3]
    driver.down.add(down)
    node = driver.nodes[coordinator]
    ok_put(driver.put(coordinator, KEY, b"v", w=2))
    assert node.puts.coordinations and _hinted(driver, KEY, down) == []
    if ended_early:
        ok_put(driver.put(coordinator, b"other", b"x", w=1))  # lingers: the first ends
        assert node.stats["lingering-ended-early"] >= 1
        driver.deliver_all()
    else:
        driver.advance(node.config.replica_timeout + 0.1)
    assert _hinted(driver, KEY, down) == [fallback]
    driver.down.discard(down)  # back: hinted handoff brings it the write
    driver.advance(2 * node.config.request_timeout)
    assert driver.records(KEY)[down] == [b"v"]


@pytest.mark.parametrize(("seed", "clock"), [(1, "dvv"), (2, "client-vclock"), (3, "lww")])
def test_nothing_lingers_once_every_node_is_back_after_a_long_random_run(
        seed: int, clock: str) -> None:
    """Session 33's review: 600 random steps on five nodes at N = 3 (fallbacks, so
    hints), a limit of 2: puts, gets (r up to 3), deletes with a read's context
    (reap checks, internal gets), lost messages, cuts, crashes and restarts, a
    request at any node (forwards). After every step the lingering set is the
    answered coordinations; once every node is back and the deadlines passed,
    nothing lingers and no byte is held (a leak would re-create the saturation)."""
    rng = random.Random(seed)
    driver = Driver.start(make_config(5, n=3, clock=clock, max_pending_requests=2,
                                      request_timeout=2.0, replica_timeout=0.5))
    loss = [0.2]
    driver.drop_filter = lambda src, dest, message: rng.random() < loss[0]
    names = sorted(driver.nodes)
    contexts: dict[bytes, bytes] = {}
    for step in range(600):
        at = rng.choice([n for n in names if n not in driver.down])
        key = b"k%d" % rng.randrange(6)
        roll = rng.random()
        rid = 100_000 + step
        if roll < 0.4:
            driver.request(at, PutRequest(rid, key, b"v%d" % step, contexts.get(key, b""),
                                          rng.choice([1, 2, 3]), f"c{step % 3}"))
        elif roll < 0.55:
            driver.request(at, delete_request(rid, key, contexts.get(key, b""),
                                              rng.choice([1, 2]), "c1"))
        else:
            driver.request(at, GetRequest(rid, key, rng.choice([1, 2, 3]), "c1"))
        event = rng.random()
        live = [n for n in names if n not in driver.down]
        if event < 0.02 and len(live) > 3:
            driver.crash(rng.choice(live))
        elif event < 0.05 and driver.down:
            driver.restart(rng.choice(sorted(driver.down)), seed=step)
        elif event < 0.07:
            driver.cut = {frozenset(rng.sample(names, 2))}
        elif event < 0.09:
            driver.cut = set()
        driver.advance(rng.choice([0.0, 0.0, 0.1, 0.6]))
        reply = driver.replies.get(rid)
        if reply is not None and isinstance(reply.result, GetResult):
            contexts[key] = reply.result.context
        for name in names:
            if name not in driver.down:
                _agrees(driver.nodes[name])
    for name in sorted(driver.down):
        driver.restart(name, seed=1000)
    driver.cut = set()
    loss[0] = 0.0
    driver.advance(20.0)
    for name in names:
        node = driver.nodes[name]
        assert len(node.lingering) == 0 and node.lingering.bytes == 0, name
        assert node.pending == 0 and not node.snapshot().coordinations, name
    ended = sum(node.stats["lingering-ended-early"] for node in driver.nodes.values())
    assert ended > 0


@pytest.mark.parametrize("ended_early", [False, True])
def test_a_delete_ended_early_schedules_the_reap_check_its_deadline_would(
        ended_early: bool) -> None:
    """Session 33's review: a delete answered short of a target (down) lingers; ended
    early it must set its reap check as its deadline does (``PutCoordinator._expire``:
    the key read from all N again once the tombstone may have reached the silent
    target), or nothing of the coordinator's reaps the tombstone."""
    driver, coordinator, _, _ = _three_nodes_one_down(max_pending_requests=1)
    node = driver.nodes[coordinator]
    context = ok_get(driver.get(coordinator, KEY, r=2)).context
    rid = 90_000
    driver.request(coordinator, delete_request(rid, KEY, context, 2, "c1"))
    driver.deliver_all()
    assert driver.replies[rid].error is None and len(node.lingering) == 1

    def checks() -> list[ReapCheck]:
        return [t for t in driver.timers[coordinator]
                if isinstance(t, ReapCheck) and t.key == KEY]

    assert checks() == []
    if ended_early:
        ok_get(driver.get(coordinator, b"other", r=1))  # lingers: the delete ends
        assert not node.puts.coordinations
    else:
        driver.advance(node.config.request_timeout + 0.1)
    assert len(checks()) == 1


def test_a_get_ended_early_schedules_no_reap_on_partial_replies() -> None:
    """Session 33's review: a key deleted while one of its three replicas was down,
    read at ``r=2`` (two tombstones), lingers for the down replica; ended early, its
    reap's test sees two of three targets only: no reap is scheduled (the safe rule
    needs every target's tombstone), and the down replica's copy is not lost."""
    driver, coordinator, _, _ = _three_nodes_one_down(max_pending_requests=1)
    node = driver.nodes[coordinator]
    context = ok_get(driver.get(coordinator, KEY, r=2)).context
    driver.request(coordinator, delete_request(90_000, KEY, context, 2, "c1"))
    driver.deliver_all()
    assert ok_get(driver.get(coordinator, KEY, r=2)).values == []  # lingers
    assert KEY not in node.reaper.due
    ok_get(driver.get(coordinator, b"other", r=1))  # the get of KEY ends early
    assert not any(c.key == KEY for c in node.gets.coordinations.values())
    assert node.stats["lingering-ended-early"] >= 2
    assert all(KEY not in n.reaper.due for n in driver.nodes.values())


def test_a_lingering_gets_late_replies_count_towards_its_bytes() -> None:
    """Session 33's review: a get at ``r=1`` answers from its coordinator's own copy
    (here none: the coordinator was cut off from the puts) and lingers for the down
    replica; the live replica's late 3,000-byte record is held by it too, so it
    counts (``Lingering.resize``), and the lingering gets stay within
    ``max_pending_bytes`` (4,096). Before: counted when they answered, 0 bytes of
    the 12,000 held."""
    driver, coordinator, live, _ = _three_nodes_one_down(max_value_bytes=4096,
                                                         max_pending_bytes=4096)
    node = driver.nodes[coordinator]
    driver.cut = {frozenset((coordinator, live))}
    keys = [b"big%d" % i for i in range(4)]
    for key in keys:
        ok_put(driver.put(live, key, b"x" * 3000, w=1))
    driver.cut = set()
    for key in keys:
        assert ok_get(driver.get(coordinator, key, r=1)).values == []  # its own: none
        held = sum(c.record_bytes for c in node.gets.coordinations.values() if c.replied)
        assert held <= node.lingering.bytes <= 4096, (held, node.lingering.bytes)
    assert node.stats["lingering-ended-early"] >= 3
    _agrees(node)


class _Ends:
    """The ``end`` callbacks of a bare :class:`impl.lingering.Lingering` (session 33's
    mutation run): each call recorded as ``(now, op id, still lingering)``; unlike a
    coordinator's ``end_early``, it does not discard the op itself, and a second call
    for one op raises (an op ended early is ended once)."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, int, bool]] = []
        self.lingering: Lingering | None = None

    def __call__(self, now: float, op_id: int) -> list[Effect]:
        assert op_id not in {op for _, op, _ in self.calls}, f"op {op_id} ended twice"
        assert self.lingering is not None
        self.calls.append((now, op_id, op_id in self.lingering))
        return []


def _bare(limit: int, byte_limit: int) -> tuple[Lingering, _Ends, collections.Counter[str]]:
    stats: collections.Counter[str] = collections.Counter()
    lingering = Lingering(limit, byte_limit, stats)
    ends = _Ends()
    ends.lingering = lingering
    return lingering, ends, stats


def test_lingering_at_exactly_its_byte_limit_ends_none() -> None:
    """``byte_limit`` bytes held is within the bound; one byte more ends the oldest.
    Kills ``_trim__mutmut_4`` (``bytes >= byte_limit``: ended at the limit)."""
    lingering, ends, stats = _bare(limit=8, byte_limit=100)
    assert lingering.add(1.0, 1, 60, ends) == []
    assert lingering.add(2.0, 2, 40, ends) == []
    assert (len(lingering), lingering.bytes, ends.calls) == (2, 100, [])
    lingering.add(3.0, 3, 1, ends)
    assert ends.calls == [(3.0, 1, False)]
    assert (sorted(op for op in (1, 2, 3) if op in lingering), lingering.bytes) == ([2, 3], 41)
    assert stats["lingering-ended-early"] == 1


def test_the_oldest_is_forgotten_before_its_end_runs_even_if_end_keeps_it() -> None:
    """``_trim`` discards the oldest itself before calling its ``end`` (which need not
    discard it): ended once, not lingering when it ends, its bytes no longer counted.
    Kills ``_trim__mutmut_9`` (``discard(None)``: the oldest stays, ended again and
    again; a coordinator's ``end_early`` discards it too, so the node's tests miss it)."""
    lingering, ends, stats = _bare(limit=1, byte_limit=1000)
    lingering.add(1.0, 7, 10, ends)
    lingering.add(2.0, 8, 20, ends)
    assert ends.calls == [(2.0, 7, False)]
    assert (7 in lingering, 8 in lingering, len(lingering), lingering.bytes) == (
        False, True, 1, 20)
    assert stats["lingering-ended-early"] == 1


def test_adding_a_lingering_op_again_counts_its_bytes_once() -> None:
    """An op added again (a put's late round) replaces its entry: its bytes counted
    once, at its new size, and it is the newest now. Kills ``add__mutmut_1``
    (``discard(None)``: 30 + 50 bytes counted for 50 held)."""
    lingering, ends, _ = _bare(limit=8, byte_limit=1000)
    lingering.add(1.0, 1, 30, ends)
    lingering.add(2.0, 2, 10, ends)
    lingering.add(3.0, 1, 50, ends)
    assert (len(lingering), lingering.bytes) == (2, 60)
    lingering.discard(1)
    lingering.discard(2)
    assert (len(lingering), lingering.bytes, ends.calls) == (0, 0, [])


def test_a_resize_past_the_byte_limit_ends_the_oldest_at_that_time() -> None:
    """A late reply that grows a lingering op past ``byte_limit`` ends the oldest with
    the resize's ``now``; a resize of an op that does not linger does nothing. Kills
    ``resize__mutmut_6`` (``_trim(None)``: ended at time None)."""
    lingering, ends, stats = _bare(limit=8, byte_limit=100)
    lingering.add(1.0, 1, 40, ends)
    lingering.add(2.0, 2, 40, ends)
    assert lingering.resize(4.5, 3, 500) == []
    assert lingering.resize(5.0, 2, 70) == []
    assert ends.calls == [(5.0, 1, False)]
    assert (1 in lingering, 2 in lingering, lingering.bytes) == (False, True, 70)
    assert stats["lingering-ended-early"] == 1
