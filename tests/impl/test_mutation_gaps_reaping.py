"""Reaping tombstones: behaviours mutmut found no test pinned (issue 12, section 5;
docs/refinement.md, "Mutation score").

- a node that keeps tombstones (``delete_mode = "keep"``) keeps its tombstone even
  when a peer tells it to reap (no test sent it a Reap before), while a node of
  the safe mode reaps it;
- the safe rule schedules reaps of tombstones only: a get of a live value sends
  no Reap.
"""

from __future__ import annotations

import pytest

from impl import SimulatedCluster, reaping
from impl.effects import CancelTimer, Effect, Send, SetTimer
from impl.messages import (
    GetRequest,
    HintDelivery,
    PutRequest,
    Reap,
    ReapQuery,
    ReapQueryReply,
    delete_request,
)
from impl.timers import GetTimeout, HintScan, ReapCheck, ReapTombstone
from impl.versions import TOMBSTONE, Record, encode_record, values
from spec.dvv import DVVSet
from spec.ring import Partitioning, Ring, Strategy
from tests.impl.test_node_driver import Driver, make_config, ok_get, ok_put

KEY = b"k"


def _deleted_everywhere(delete_mode: str) -> Driver:
    """k put then deleted on n1, n2, n3 (N = 3 of 3), nothing reaped yet."""
    return _deleted_with_v1(delete_mode)[0]


def _deleted_with_v1(delete_mode: str) -> tuple[Driver, Record]:
    """As :func:`_deleted_everywhere`, with the record v1 that the delete superseded."""
    config = make_config(3, n=3, r=3, w=3, anti_entropy=False, delete_mode=delete_mode,
                         tombstone_grace_s=3600.0)
    driver = Driver.start(config)
    ok_put(driver.put("n1", KEY, b"v1"))
    v1 = driver.nodes["n1"].record(KEY)
    assert v1 is not None
    read = ok_get(driver.get("n1", KEY))
    driver.request("n1", delete_request(999, KEY, read.context, 3, "c1", 1))
    driver.deliver_all()
    assert driver.records(KEY) == {n: [TOMBSTONE] for n in ("n1", "n2", "n3")}
    return driver, v1


def _reap_sent(driver: Driver, to: str) -> None:
    tombstone = driver.storages[to].read(KEY)
    assert tombstone is not None
    driver.handle(to, driver.nodes[to].receive(driver.now, "n2", Reap(KEY, tombstone)))


def test_a_node_that_keeps_tombstones_ignores_a_reap() -> None:
    driver = _deleted_everywhere("keep")
    _reap_sent(driver, "n1")
    assert driver.records(KEY)["n1"] == [TOMBSTONE]


def test_a_safe_node_reaps_its_tombstone_when_told() -> None:
    driver = _deleted_everywhere("safe")
    _reap_sent(driver, "n1")
    assert "n1" not in driver.records(KEY)


def test_a_get_of_a_live_value_schedules_no_reap() -> None:
    """The safe rule reaps tombstones only: a get that saw every target hold the same
    live value sends no Reap (each replica would refuse it, but it is not sent)."""
    config = make_config(3, n=3, r=3, w=3, anti_entropy=False, delete_mode="safe",
                         tombstone_grace_s=1.0)
    driver = Driver.start(config)
    ok_put(driver.put("n1", KEY, b"v1"))
    assert ok_get(driver.get("n1", KEY, r=3)).values == [b"v1"]
    driver.advance(5.0)
    assert not [m for _, _, m in driver.delivered if isinstance(m, Reap | ReapQuery)]
    assert driver.nodes["n1"].reaper.due == {}
    assert driver.records(KEY) == {n: [b"v1"] for n in ("n1", "n2", "n3")}


# ---------------------------------------------------------------- session 9 (docs/
# refinement.md, "Session 9: membership, reaping, and the open mutants of session 8")


def test_a_reap_begins_a_key_epoch_only_where_the_copy_carried_the_nodes_counter() -> None:
    """kv679 (module docstring, "Actors"): the coordinator n1, whose counter the reaped
    tombstone carries, mints the key under a new actor after the reap; n2, whose copy
    carried no counter of its own, keeps minting it under the one it had (the reaper
    asks the node's key actor, ``Node.__init__`` passes it)."""
    driver = _deleted_everywhere("safe")
    n1, n2 = driver.nodes["n1"], driver.nodes["n2"]
    before = {"n1": n1.key_actor(KEY), "n2": n2.key_actor(KEY)}
    for name in ("n1", "n2"):
        tombstone = driver.storages[name].read(KEY)
        assert tombstone is not None
        driver.handle(name, driver.nodes[name].receive(driver.now, "n3", Reap(KEY, tombstone)))
    assert "n1" not in driver.records(KEY) and "n2" not in driver.records(KEY)
    assert n1.key_actor(KEY) != before["n1"]
    assert n2.key_actor(KEY) == before["n2"]


def test_a_member_asked_delivers_the_hints_of_the_key_only() -> None:
    """A member asked by a reap holding hints of the key delivers exactly those at once
    (and answers not clean); its hints of other keys wait for their scan."""
    driver = _deleted_everywhere("safe")
    other = b"other"
    ok_put(driver.put("n1", other, b"w"))
    tombstone, other_record = driver.storages["n1"].read(KEY), driver.storages["n1"].read(other)
    stored = driver.nodes["n1"].record(KEY)
    assert tombstone is not None and other_record is not None and stored is not None
    live = Record(stored.mode, dvvset=DVVSet.of([("n9~w", 1, [b"w"])], []))
    n3 = driver.nodes["n3"]
    driver.storages["n3"].add_hint("n2", KEY, encode_record(live))
    driver.storages["n3"].add_hint("n2", other, other_record)
    query = ReapQuery(1, KEY, tombstone, n3.reaper.members()[1])
    effects = n3.receive(driver.now, "n1", query)
    sent = [(e.dest, e.message) for e in effects if isinstance(e, Send)]
    assert ("n1", ReapQueryReply(1, KEY, False)) in sent
    assert [(dest, m.key) for dest, m in sent if isinstance(m, HintDelivery)] == [("n2", KEY)]
    # delivered now: in flight, so the next scan within the request timeout sends
    # the other key's hint only
    later = n3.fire(driver.now + 0.1, HintScan())
    assert [(e.dest, e.message.key) for e in later if isinstance(e, Send)
            and isinstance(e.message, HintDelivery)] == [("n2", other)]


def _asked_in_a_join(handover: str, who: str, *, handed: bool = False) -> list[bytes] | None:
    """5 nodes (N = 3), a key put (v1) and deleted on its top N (the tombstone), then
    n6 joins; hint scans every 60 s, so no transfer is delivered yet unless
    ``handed`` (run until quiet: the old owners handed their ranges over). The node
    ``who`` -- ``"pending"``: n6, a pending owner of the key (in its future top N,
    not in its current one); ``"old"``: an old owner that left the key's top N;
    ``"outsider"``: a node in neither the key's old nor its new top N -- then holds
    v1 (a copy the tombstone dominates, written through its replica, as a late
    write is) and is asked by a reap of the key.
    Returns what it stores after answering (None: nothing)."""
    cluster = SimulatedCluster(nodes=5, n=3, r=3, w=3, seed=11, join_handover=handover,
                               hint_scan_interval=60.0, anti_entropy=False,
                               tombstone_grace_s=3600.0)
    after = Partitioning(Strategy.RANDOM_TOKENS, Ring.evenly_spaced(
        (*cluster.node_names, "n6")), 1)
    before = {key: cluster.node("n1").preference_list(key)[:3]
              for key in (b"key-%d" % i for i in range(100))}
    key = next(k for k, top in before.items() if "n6" in after.preference_list(k, 3))
    client = cluster.client("n1")
    client.put(key, b"v1", w=3)
    v1 = cluster.node(before[key][0]).record(key)
    client.delete(key, context=client.get(key, r=3).context, w=3)
    tombstone = cluster.storages[before[key][0]].read(key)
    assert v1 is not None and tombstone is not None
    cluster.join("n6")
    cluster.run_until(lambda: all(
        (member := cluster.node(name).view.get("n6")) is not None and member.tokens
        for name in cluster.sim.members), max_time=30)
    if handed:
        cluster.run_until_quiet()
    node = cluster.node("n6")
    future = node.gossiper.future.preference_list(key, 3)
    if who == "old":
        name = next(x for x in before[key] if x not in future)
        node = cluster.node(name)
    elif who == "outsider":
        node = cluster.node(next(x for x in cluster.node_names
                                 if x not in before[key] and x not in future))
    node.replica.write_local(key, v1)
    query = ReapQuery(1, key, tombstone, node.reaper.members()[1])
    node.reaper.on_query(cluster.sim.now, before[key][0], query)
    held = node.record(key)
    return None if held is None else values(held)


def test_a_pending_owner_asked_merges_the_tombstone() -> None:
    """Pending ownership: before the handover n6 is already one of the key's replicas
    (it is in the key's future top N, where every write goes: ``split(key,
    writing=True)``), so it merges the tombstone into a dominated copy rather than
    letting the copy go."""
    assert _asked_in_a_join("pending", "pending") == [TOMBSTONE]


@pytest.mark.parametrize(("handover", "handed", "expected"), [
    ("immediate", False, [TOMBSTONE]),  # its hint scan has not run: still a replica
    ("immediate", True, [TOMBSTONE]),  # a late write: handed on again, a replica again
    ("pending", True, None),  # the change settled: no replica; a late write is let go
    ("immediate", False, None),  # (``who="outsider"``) never a replica of the key
])
def test_an_old_owner_is_a_replica_until_it_handed_the_key_over(
        handover: str, handed: bool, expected: list[bytes] | None) -> None:
    """An old owner that left the key's top N is one of its replicas (it merges the
    tombstone into a dominated copy) until it handed the key to every new owner; after
    that it is not (it lets such a copy go). With the naive handover a late write is
    handed on again (:meth:`impl.gossip.Gossiper.on_write`), so the old owner is a
    replica again until that transfer is acknowledged; with pending ownership the
    writer wrote to the new owners itself and the late copy is the old owner's alone.
    A node that was never in the key's top N, on either ring, is no replica of it
    while the change is in progress either (it lets such a copy go)."""
    who = "old" if expected is not None or handed else "outsider"
    assert _asked_in_a_join(handover, who, handed=handed) == expected


def _sent(effects: list[Effect]) -> list[tuple[str, object]]:
    return [(e.dest, e.message) for e in effects if isinstance(e, Send)]


def _round(driver: Driver, at: float) -> ReapQuery:
    """The reap timer of k (set by the delete, all N acknowledged) fires at n1, the
    decider: the query round it starts."""
    effects = driver.nodes["n1"].fire(at, driver.nodes["n1"].reaper.due[KEY])
    queries = {m for _, m in _sent(effects) if isinstance(m, ReapQuery)}
    assert len(queries) == 1
    return queries.pop()


def _answer_clean(driver: Driver, query: ReapQuery, at: float) -> list[tuple[str, object]]:
    n1 = driver.nodes["n1"]
    return [sent for src in ("n2", "n3") for sent in _sent(
        n1.receive(at, src, ReapQueryReply(query.query_id, KEY, True)))]


def test_a_clean_answer_to_an_earlier_round_does_not_count() -> None:
    """Only answers to the round in progress count: clean answers to the round before
    it (late, after the timer asked again) reap nothing; the same answers to the
    round in progress reap, and the decider then keeps nothing of the key's reap."""
    driver = _deleted_everywhere("safe")
    first = _round(driver, 1.0)
    second = _round(driver, 2.0)
    assert first.query_id != second.query_id
    assert not [m for _, m in _answer_clean(driver, first, 2.5) if isinstance(m, Reap)]
    assert driver.records(KEY)["n1"] == [TOMBSTONE]
    reaps = [(dest, m) for dest, m in _answer_clean(driver, second, 2.5) if isinstance(m, Reap)]
    assert sorted(dest for dest, _ in reaps) == ["n2", "n3"]
    reaper = driver.nodes["n1"].reaper
    assert (reaper.rounds, reaper.attempts, reaper.due) == ({}, {}, {})


def test_the_decider_holding_a_live_hint_of_the_key_reaps_nothing() -> None:
    """Every member answered clean, but the decider itself keeps a hint of the key
    holding a live version: not clean, no reap (the timer asks again later)."""
    driver, v1 = _deleted_with_v1("safe")
    driver.storages["n1"].add_hint("n2", KEY, encode_record(v1))
    query = _round(driver, 1.0)
    assert not [m for _, m in _answer_clean(driver, query, 1.5) if isinstance(m, Reap)]
    assert driver.records(KEY)["n1"] == [TOMBSTONE]


@pytest.mark.parametrize("case", ["busy", "other-view", "live-record"])
def test_a_member_settles_a_dominated_copy_only_when_idle_in_the_same_view(case: str) -> None:
    """A member asked holds v1, which the tombstone dominates: it settles it (merges
    the tombstone) only if it coordinates no put of the key, sees the asker's view,
    and the asker's record is tombstones only; otherwise it keeps v1 and answers not
    clean (here: a put of k in progress at it; a view digest other than its own; a
    live record v2 that dominates v1, which no reap sends). (A get of k in progress
    kept it until session 39: :func:`test_a_member_reading_the_key_settles_and_holds
    _its_answer`.)"""
    driver, v1 = _deleted_with_v1("safe")
    n2 = driver.nodes["n2"]
    tombstone = driver.storages["n1"].read(KEY)
    assert tombstone is not None
    view = n2.reaper.members()[1]
    if case == "busy":  # (its ReplicaPuts queued, never delivered)
        driver.handle("n2", n2.client_request(driver.now, PutRequest(77, KEY, b"v3")))
    elif case == "other-view":
        view = bytes(16)
    else:
        ((actor, _counter, _values),) = [(e.id, e.counter, e.values)
                                         for e in v1.dvvset.entries]
        tombstone = encode_record(Record(v1.mode, dvvset=DVVSet.of([(actor, 2, [b"v2"])], [])))
    n2.replica.write_local(KEY, v1)
    effects = n2.receive(driver.now, "n1", ReapQuery(5, KEY, tombstone, view))
    assert ("n1", ReapQueryReply(5, KEY, False)) in _sent(effects)
    driver.handle("n2", effects)  # (v1, staged by write_local, is written with them)
    assert driver.records(KEY)["n2"] == [b"v1"]


def test_a_member_reading_the_key_settles_and_holds_its_answer() -> None:
    """Session 39: a member asked holds v1, which the tombstone dominates, while a get
    of k it coordinates is in progress (its ReplicaGets queued): it settles v1 (merges
    the tombstone, as read repair would) and answers nothing yet; once the get ended
    (its deadline) it answers clean. Before, the get made it busy: no settlement, and
    "not clean" at once."""
    driver, v1 = _deleted_with_v1("safe")
    n2 = driver.nodes["n2"]
    tombstone = driver.storages["n1"].read(KEY)
    assert tombstone is not None
    driver.handle("n2", n2.client_request(driver.now, GetRequest(77, KEY, None, "c9")))
    n2.replica.write_local(KEY, v1)
    effects = n2.receive(driver.now, "n1", ReapQuery(5, KEY, tombstone,
                                                     n2.reaper.members()[1]))
    assert _sent(effects) == []
    driver.handle("n2", effects)
    assert driver.records(KEY)["n2"] == [TOMBSTONE]
    [op_id] = n2.gets.coordinations
    deadline = n2.gets.coordinations[op_id].deadline
    answered = [(dest, m.query_id, m.clean) for dest, m in _sent(n2.fire(
        deadline, GetTimeout(op_id))) if isinstance(m, ReapQueryReply)]
    assert answered == [("n1", 5, True)]
    assert not n2.reaper.held and not n2.gets.coordinations


def test_a_member_answers_once_its_reap_check_failed_at_its_deadline() -> None:
    """Session 40's review: a member asked while its own reap check of k (an internal
    get of every target) is in progress holds its answer; the check hears no target
    (its ReplicaGets never delivered) and fails at its deadline, and that failure
    ends the get too: the member answers clean then. A scratch mutant that dropped
    the ``ended`` hook from the failed check's path (``GetCoordinator.on_timeout``,
    the internal branch) passed every reap test: the answer never went (the asker's
    round timed out, the answer stayed in ``Reaper.held``)."""
    driver, _ = _deleted_with_v1("safe")
    n2 = driver.nodes["n2"]
    tombstone = driver.storages["n1"].read(KEY)
    assert tombstone is not None
    checking = n2.fire(driver.now, ReapCheck(KEY))
    assert sorted(e.dest for e in checking if isinstance(e, Send)) == ["n1", "n3"]
    effects = n2.receive(driver.now, "n1", ReapQuery(5, KEY, tombstone,
                                                     n2.reaper.members()[1]))
    assert _sent(effects) == [] and KEY in n2.reaper.held
    [(op_id, check)] = n2.gets.coordinations.items()
    assert check.reply_to.internal
    answered = [(dest, m.query_id, m.clean) for dest, m in _sent(n2.fire(
        check.deadline, GetTimeout(op_id))) if isinstance(m, ReapQueryReply)]
    assert answered == [("n1", 5, True)]
    assert not n2.reaper.held and not n2.gets.coordinations


def test_a_reap_gives_up_after_exactly_reap_attempts_rounds_and_a_new_one_starts_afresh() -> None:
    """Members that never answer: the timer asks again ``max(tombstone_grace_s,
    request_timeout)`` later, ``REAP_ATTEMPTS`` rounds in all; the next firing gives
    the reap up (no query, no timer; the tombstone kept, the reap kept in ``due`` for
    the next change), and a late clean answer to the last round reaps nothing. A reap
    scheduled again later (a get saw every target hold the tombstone) has its rounds
    counted afresh."""
    driver = _deleted_everywhere("safe")
    n1 = driver.nodes["n1"]
    timer = n1.reaper.due[KEY]
    wait = max(n1.config.tombstone_grace_s, n1.config.request_timeout)
    last = None
    for i in range(reaping.REAP_ATTEMPTS):
        effects = n1.fire(10.0 * i, timer)
        assert SetTimer(timer, 10.0 * i + wait) in effects
        last = next(m for _, m in _sent(effects) if isinstance(m, ReapQuery))
    assert n1.fire(100.0, timer) == []
    assert last is not None and not [
        m for _, m in _answer_clean(driver, last, 100.5) if isinstance(m, Reap)]
    assert driver.records(KEY)["n1"] == [TOMBSTONE]
    assert n1.reaper.due == {KEY: timer}
    stored = n1.record(KEY)
    assert stored is not None
    n1.reaper.schedule(200.0, KEY, stored, timer.targets)
    assert [m for _, m in _sent(n1.fire(300.0, n1.reaper.due[KEY]))
            if isinstance(m, ReapQuery)]


def test_a_reap_timer_this_node_did_not_schedule_reaps_and_leaves_nothing_behind() -> None:
    """A reap timer fired for a key this node has no reap of in ``due`` (a driver's,
    or one set before a restart) is taken as the key's reap: once every member
    answered clean it reaps, and no entry of it is left."""
    driver = _deleted_everywhere("safe")
    n1 = driver.nodes["n1"]
    timer = n1.reaper.due.pop(KEY)
    effects = n1.fire(1.0, timer)
    query = next(m for _, m in _sent(effects) if isinstance(m, ReapQuery))
    assert n1.reaper.due == {KEY: timer}
    assert [d for d, m in _answer_clean(driver, query, 1.5) if isinstance(m, Reap)]
    assert (n1.reaper.rounds, n1.reaper.attempts, n1.reaper.due) == ({}, {}, {})


def test_a_reap_scheduled_again_while_a_round_runs_stays_due() -> None:
    """A get rescheduled the key's reap (a new timer) while a round of the old one
    ran: the round's reap does not forget the new one."""
    driver = _deleted_everywhere("safe")
    n1 = driver.nodes["n1"]
    query = _round(driver, 1.0)
    stored = n1.record(KEY)
    assert stored is not None
    n1.reaper.schedule(1.2, KEY, stored, ("n1", "n2", "n3"))
    again = n1.reaper.due[KEY]
    assert [d for d, m in _answer_clean(driver, query, 1.5) if isinstance(m, Reap)]
    assert n1.reaper.due == {KEY: again}


def test_a_change_settling_sets_each_reap_again_at_the_keys_new_top_n() -> None:
    """:meth:`impl.reaping.Reaper.after_change` directly: a reap with a round in
    progress is set again (the old timer cancelled, the new one due a grace period
    from now, at the key's top N now), its rounds counted afresh."""
    driver = _deleted_everywhere("safe")
    n1 = driver.nodes["n1"]
    old = n1.reaper.due[KEY]
    _round(driver, 1.0)
    assert KEY in n1.reaper.rounds and n1.reaper.attempts == {KEY: 1}
    effects = n1.reaper.after_change(5.0, lambda key: ("n2", "n3", "n1"))
    fresh = ReapTombstone(KEY, old.record, ("n2", "n3", "n1"))
    assert effects == [CancelTimer(old), SetTimer(fresh, 5.0 + n1.config.tombstone_grace_s)]
    assert (n1.reaper.due, n1.reaper.attempts, n1.reaper.rounds) == ({KEY: fresh}, {}, {})


def test_all_targets_hold_needs_each_target_itself_with_exactly_the_tombstone() -> None:
    """The safe rule's test, case by case: each target must have been asked itself
    (not through a fallback) *and* have answered exactly the merged tombstone."""
    driver, v1 = _deleted_with_v1("safe")
    tombstone = driver.nodes["n1"].record(KEY)
    assert tombstone is not None
    targets = ("n1", "n2")
    both = {"n1": tombstone, "n2": tombstone}
    assert reaping.all_targets_hold(targets, {"n1": "n1", "n2": "n2"}, both, tombstone)
    assert not reaping.all_targets_hold(targets, {"n1": "n1", "n2": "n3"}, both, tombstone)
    assert not reaping.all_targets_hold(targets, {"n1": "n1", "n2": "n2"},
                                        {"n1": tombstone, "n2": v1}, tombstone)


def test_an_old_owner_that_handed_the_key_to_its_new_owners_is_no_replica() -> None:
    """The naive handover: once the key's new owner (n6) acknowledged the old owner's
    transfer, the old owner is no replica of the key, even while it still holds a
    hint for another node (n5, down) that is in none of the key's top N lists."""
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=11, join_handover="immediate",
                               hint_scan_interval=5.0, anti_entropy=False)
    keys = [b"key-%d" % i for i in range(40)]
    before = {key: cluster.node("n1").preference_list(key)[:3] for key in keys}
    client = cluster.client("n1")
    for key in keys:
        client.put(key, b"v", w=2)
    cluster.run_until_quiet()
    record = cluster.storages[before[keys[0]][0]].read(keys[0])
    assert record is not None
    cluster.crash("n5")
    for name in ("n1", "n2", "n3", "n4"):
        cluster.storages[name].add_hint("n5", b"other", record)
    cluster.join("n6")
    cluster.run_until(lambda: all("n6" in cluster.node(name).partitioning.nodes
                                  for name in ("n1", "n2", "n3", "n4", "n6")), max_time=60)
    new = {key: cluster.node("n1").gossiper.future.preference_list(key, 3) for key in keys}
    key = next(k for k in keys if "n6" in new[k] and "n5" not in before[k] + new[k])
    node = cluster.node(next(x for x in before[key] if x not in new[key]))
    cluster.run_until(lambda: "n6" in node.gossiper.transferred and not [
        h for h in node.hints.all() if h.intended == "n6"], max_time=120)
    assert "n5" not in node.gossiper.transferred
    assert not node.reaper.replicates(key)
