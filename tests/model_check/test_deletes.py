"""Deletes with tombstones in the spec: the workload's write ids, the client-delete
action, tombstones carried like versions (a concurrent put survives as a sibling),
and reaping by ``delete_mode`` (keep, safe, immediate)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from unittest import mock

import pytest

from model_check.properties import (
    acked_writes_durable,
    no_resurrection,
    put_survives_delete,
    read_your_writes,
)
from spec import coordination, deletes
from spec.actions import (
    ClientDelete,
    ClientGet,
    ClientPut,
    Crash,
    Deliver,
    DiskLoss,
    Drop,
    Reap,
    Recover,
    action_from_json,
)
from spec.clocks import Payload, payload_equal, values
from spec.config import Config, ConfigError
from spec.model import initial_state, narrate, successors
from spec.state import Kind, NodeState, State, new_message
from spec.step import Edit, get_id_of, plan_of, put_id_of, tombstone_ids
from tests.spec.test_model import deliver, deliver_all, do

BASE = Config(name="deletes", n=3, r=2, w=2, clock="dvv", drops=1, clients=1,
              puts_per_client=1,
              deletes_per_client=1, gets_per_client=2, read_modify_write=True,
              anti_entropy=False)


def _reaps(state: State) -> list[Reap]:
    return [a for a, _ in successors(state) if isinstance(a, Reap)]


def _store(state: State, node: str) -> tuple[int, ...]:
    return values(state.node(node).store[0])


def _deliver(state: State, kind: Kind, src: str, dst: str, request: int) -> State:
    for m in state.messages:
        if (m.kind, m.src, m.dst, m.request) == (kind, src, dst, request):
            return do(state, Deliver(m))
    raise AssertionError(f"no {kind} {src}->{dst} #{request} in flight: {state.messages}")


def _put_read(config: Config) -> State:
    """v1 acked by n1 and n2 (its replica put to n3 stays in flight), then read
    through n1 and n2."""
    state = initial_state(config)
    state = do(state, ClientPut("c1", "n1", "k"))
    state = deliver(state, Kind.REPLICA_PUT, "n1", "n2")
    state = deliver(state, Kind.REPLICA_PUT_ACK)
    state = do(state, ClientGet("c1", "n1", "k"))
    state = deliver(state, Kind.REPLICA_GET, "n1", "n2")
    return deliver(state, Kind.REPLICA_GET_REPLY)


def _put_read_delete(config: Config) -> State:
    """:func:`_put_read`, then the delete v2 with that context through n1, acked by
    n3; then v1's late replica put reaches n3 (the tombstone covers it), and the
    delete's replica put to n2 is lost for good (the drop fault)."""
    state = do(_put_read(config), ClientDelete("c1", "n1", "k"))
    state = _deliver(state, Kind.REPLICA_PUT, "n1", "n3", 2)
    state = _deliver(state, Kind.REPLICA_PUT_ACK, "n3", "n1", 2)
    state = _deliver(state, Kind.REPLICA_PUT, "n1", "n3", 1)
    for m in state.messages:
        state = do(state, Drop(m))
    assert not state.messages and 2 in state.client("c1").acked
    return state


def test_configuration_defaults_and_validation() -> None:
    config = Config()
    assert (config.deletes_per_client, config.delete_mode) == (0, "safe")
    with pytest.raises(ConfigError, match="delete_mode"):
        Config(delete_mode="later")
    with pytest.raises(ConfigError, match="deletes_per_client"):
        Config(deletes_per_client=-1)
    assert Config.from_json(BASE.to_json()) == BASE


def test_write_ids_put_then_delete_and_unchanged_without_deletes() -> None:
    two = BASE.replace(clients=2)
    assert [put_id_of(two, c, k) for c in (0, 1) for k in (0, 1)] == [1, 2, 3, 4]
    assert tombstone_ids(two) == frozenset({2, 4}) == plan_of(two).tombstones
    assert get_id_of(two, 0, 0) == 5
    plain = two.replace(deletes_per_client=0)
    assert [put_id_of(plain, c, 0) for c in (0, 1)] == [1, 2]
    assert get_id_of(plain, 0, 0) == 3 and not tombstone_ids(plain)


def test_actions_round_trip_through_json() -> None:
    for action in (ClientDelete("c1", "n1", "k"), Reap("k", ("n1", "n3"))):
        assert action_from_json(action.to_json()) == action
    with pytest.raises(ValueError, match="nodes"):
        action_from_json({"action": "reap", "key": "k", "nodes": []})


def test_a_client_deletes_only_after_its_puts_with_its_last_context() -> None:
    state = initial_state(BASE)
    assert not any(isinstance(a, ClientDelete) for a, _ in successors(state))
    before = _put_read(BASE)
    state = do(before, ClientDelete("c1", "n1", "k"))
    record = state.put_record(2)
    assert record is not None and record.history == frozenset({1, 2})
    assert _store(state, "n1") == (2,)  # the tombstone supersedes what the client read
    assert "c1 delete (tombstone) v2 of k to n1" in narrate(
        before, ClientDelete("c1", "n1", "k"), state)


def test_safe_reaps_node_by_node_once_no_replica_holds_a_deleted_version() -> None:
    state = _put_read_delete(BASE)
    assert [_store(state, n) for n in ("n1", "n2", "n3")] == [(2,), (1,), (2,)]
    assert not _reaps(state)  # n2 missed the delete: it holds v1, which the delete covers
    state = do(state, ClientGet("c1", "n1", "k"))
    assert not _reaps(state)  # a get of the key is in flight
    state = deliver(state, Kind.REPLICA_GET, "n1", "n2")
    state = deliver_all(deliver(state, Kind.REPLICA_GET_REPLY))  # read repair to n2
    assert {_store(state, n) for n in ("n1", "n2", "n3")} == {(2,)}
    assert _reaps(state) == [Reap("k", ("n1",)), Reap("k", ("n2",)), Reap("k", ("n3",))]
    partial = do(state, Reap("k", ("n3",)))  # one replica's reap; the others may never come
    assert [_store(partial, n) for n in ("n1", "n2", "n3")] == [(2,), (2,), ()]
    assert _reaps(partial) == [Reap("k", ("n1",)), Reap("k", ("n2",))]
    after = do(do(partial, Reap("k", ("n1",))), Reap("k", ("n2",)))
    assert {_store(after, n) for n in ("n1", "n2", "n3")} == {()}
    assert acked_writes_durable(after) and read_your_writes(after)


def _missed_and_down(config: Config) -> State:
    """v1 on all three replicas and read; the delete v2 acknowledged by n1 and n2, its
    replica put to n3 lost (n3 still holds v1); then n3 crashes."""
    state = deliver_all(do(initial_state(config), ClientPut("c1", "n1", "k")))
    state = deliver_all(do(state, ClientGet("c1", "n1", "k")))
    state = do(state, ClientDelete("c1", "n1", "k"))
    state = _deliver(state, Kind.REPLICA_PUT, "n1", "n2", 2)
    state = _deliver(state, Kind.REPLICA_PUT_ACK, "n2", "n1", 2)
    lost = next(m for m in state.messages if m.kind is Kind.REPLICA_PUT and m.dst == "n3")
    state = deliver_all(do(state, Drop(lost)))
    state = do(state, Crash("n3"))
    assert [_store(state, n) for n in ("n1", "n2", "n3")] == [(2,), (2,), (1,)]
    assert 2 in state.client("c1").acked and not state.node("n3").up
    return state


def _assert_resurrected_through_n3(state: State) -> None:
    """c1's next get, through n3 and reading n1, returns the deleted v1 again."""
    state = do(state, ClientGet("c1", "n3", "k"))
    state = deliver(state, Kind.REPLICA_GET, "n3", "n1")
    state = deliver(state, Kind.REPLICA_GET_REPLY)
    assert state.client("c1").gets[-1].returned == (1,)
    assert not no_resurrection(state)


@pytest.mark.parametrize("mutant", [None, "down-replica"])
def test_a_down_replica_holding_a_deleted_version_blocks_the_reap(mutant: str | None) -> None:
    """Guard 3 counts a down node's store (its disk persists). The seeded mutant
    ``down-replica`` (guard 3 reads only the up nodes' stores) lets n1 and n2 reap;
    n3 recovers and the client's next get, through n3, returns v1 again."""
    config = BASE.replace(crashes=1)
    state = _missed_and_down(config)
    with _down_replica_mutant() if mutant else contextlib.nullcontext():
        reaps = _reaps(state)
        if not mutant:
            assert reaps == []
            return
        assert reaps == [Reap("k", ("n1",)), Reap("k", ("n2",))]
        state = do(do(state, Reap("k", ("n1",))), Reap("k", ("n2",)))
    state = do(state, Recover("n3"))
    _assert_resurrected_through_n3(state)


@contextlib.contextmanager
def _down_replica_mutant() -> Iterator[None]:
    original = deletes._holds_covered

    def up_only(nodes: tuple[NodeState, ...], members: list[int], k: int,
                covered: frozenset[int]) -> bool:
        return original(nodes, [i for i in members if nodes[i].up], k, covered)

    deletes._holds_covered = up_only  # type: ignore[assignment]
    try:
        yield
    finally:
        deletes._holds_covered = original  # type: ignore[assignment]


def _guard_replaced(mutant: str | None, name: str,
                    replacement: object) -> contextlib.AbstractContextManager[object]:
    """``spec.deletes.<name>`` replaced by ``replacement`` while the block runs when
    ``mutant`` is set (a seeded mutant of a reap guard); else nothing changes."""
    if not mutant:
        return contextlib.nullcontext()
    return mock.patch.object(deletes, name, replacement)


def _late_replica_put() -> State:
    """:func:`_put_read`, then the delete v2 through n1 delivered everywhere: every
    store holds only the tombstone, and v1's replica put to n3 is still in flight."""
    state = do(_put_read(BASE), ClientDelete("c1", "n1", "k"))
    for dst in ("n2", "n3"):
        state = _deliver(state, Kind.REPLICA_PUT, "n1", dst, 2)
    while late := [m for m in state.messages if m.request == 2]:
        state = do(state, Deliver(late[0]))  # the acknowledgements
    assert {_store(state, n) for n in ("n1", "n2", "n3")} == {(2,)}
    assert [(m.kind, m.dst, m.request) for m in state.messages] == [
        (Kind.REPLICA_PUT, "n3", 1)]
    return state


@pytest.mark.parametrize("mutant", [None, "not-quiet"])
def test_a_replica_put_of_a_deleted_version_in_flight_blocks_the_reap(
        mutant: str | None) -> None:
    """Guard 2: no store holds v1 (guard 3 passes), but v1's replica put to n3 is in
    flight. The seeded mutant ``not-quiet`` (guard 2 dropped) lets n1 and n3 reap;
    v1 then reaches n3's empty store and the client's next get, through n3, returns
    it again."""
    state = _late_replica_put()
    with _guard_replaced(mutant, "_quiet", lambda state, key, plan: True):
        reaps = _reaps(state)
        if not mutant:
            assert reaps == []
            return
        assert reaps == [Reap("k", ("n1",)), Reap("k", ("n2",)), Reap("k", ("n3",))]
        state = do(do(state, Reap("k", ("n1",))), Reap("k", ("n3",)))
    state = _deliver(state, Kind.REPLICA_PUT, "n1", "n3", 1)
    assert _store(state, "n3") == (1,)
    _assert_resurrected_through_n3(state)


def _get_through_n3(read_first: bool) -> State:
    """:func:`_put_read` with v1's replica put to n3 delivered; the delete v2 through
    n1, acknowledged by n2; c1's next get through n3 -- before the delete's replica
    put reaches n3 (``read_first``: the get's own read holds v1) or after (it holds
    the tombstone); then that put delivered: every store
    holds only the tombstone, and the get's requests to n1 and n2 are in flight."""
    state = _deliver(_put_read(BASE), Kind.REPLICA_PUT, "n1", "n3", 1)
    state = do(state, ClientDelete("c1", "n1", "k"))
    state = _deliver(state, Kind.REPLICA_PUT, "n1", "n2", 2)
    state = _deliver(state, Kind.REPLICA_PUT_ACK, "n2", "n1", 2)
    if read_first:
        state = do(state, ClientGet("c1", "n3", "k"))
    state = _deliver(state, Kind.REPLICA_PUT, "n1", "n3", 2)  # (W reached: no ack)
    if not read_first:
        state = do(state, ClientGet("c1", "n3", "k"))
    assert {_store(state, n) for n in ("n1", "n2", "n3")} == {(2,)}
    assert 2 in state.client("c1").acked
    assert sorted((m.kind, m.dst) for m in state.messages) == [
        (Kind.REPLICA_GET, "n1"), (Kind.REPLICA_GET, "n2")]
    return state


@pytest.mark.parametrize("mutant", [None, "gets-ignored"])
def test_a_get_holding_a_deleted_version_holds_the_reap_off(mutant: str | None) -> None:
    """Guard 2's get part (session 39): c1's get through n3 read v1 from n3's own
    copy before the delete reached it; every store holds the tombstone now, but the
    get's record holds v1, so no node may reap. The seeded mutant ``gets-ignored``
    (the get part dropped, no wait for gets at all) lets n1 and n2 reap; the get then
    reads n1's empty copy and returns v1 (R = 2). Since session 56 the get reads
    n3's own copy again as it answers (``spec.coordination._read_own_again``), so n3
    is reaped too (with its tombstone there the answer was the tombstone, ``(2,)``)."""
    state = _get_through_n3(read_first=True)
    with _guard_replaced(mutant, "_gets_hold", lambda state, key, covered: False):
        reaps = _reaps(state)
        if not mutant:
            assert reaps == []
            return
        assert reaps == [Reap("k", ("n1",)), Reap("k", ("n2",)), Reap("k", ("n3",))]
        state = do(do(do(state, Reap("k", ("n1",))), Reap("k", ("n2",))),
                   Reap("k", ("n3",)))
    state = deliver(deliver(state, Kind.REPLICA_GET, "n3", "n1"), Kind.REPLICA_GET_REPLY)
    assert state.client("c1").gets[-1].returned == (1,)
    assert not no_resurrection(state)


@pytest.mark.parametrize("mutant", [None, "tombstone-written-back"])
def test_a_get_of_tombstones_lets_the_reap_pass_and_writes_nothing_back(
        mutant: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A get through n3 that began after the tombstone reached every store holds only
    the tombstone: n1 and n2 reap while it is in progress (before session 39 guard 2
    refused every reap while a get of the key was in flight); it reads n1's empty
    copy and answers not found, and its read repair writes no tombstone into that
    empty copy. The mutant ``tombstone-written-back`` (read repair before session
    39) writes the tombstone back into n1 after n1 reaped it."""
    if mutant:
        monkeypatch.setattr(coordination, "repair", _repair_into_empty_copies)
    state = _get_through_n3(read_first=False)
    assert _reaps(state) == [Reap("k", ("n1",)), Reap("k", ("n2",)), Reap("k", ("n3",))]
    state = do(do(state, Reap("k", ("n1",))), Reap("k", ("n2",)))
    state = deliver(deliver(state, Kind.REPLICA_GET, "n3", "n1"), Kind.REPLICA_GET_REPLY)
    assert state.client("c1").gets[-1].returned == (2,)  # the tombstone: not found
    assert no_resurrection(state)
    state = deliver_all(state)
    written_back = [n for n in ("n1", "n2") if _store(state, n)]
    assert written_back == (["n1"] if mutant else [])


def _repair_into_empty_copies(edit: Edit, coordinator: str, key: str,
                              replies: tuple[tuple[str, Payload], ...], result: Payload,
                              replicas: frozenset[str] | None = None) -> None:
    """Read repair as before session 39: every replier whose payload differs is sent
    the result, an empty copy too (the prune clause left out: pruning is off here)."""
    for node, payload in replies:
        if (replicas is None or node in replicas) and not payload_equal(payload, result):
            if node == coordinator:
                edit.store(coordinator, key, result)
            else:
                edit.send(new_message(Kind.READ_REPAIR, coordinator, node, 0, key, result))


def test_a_reap_of_a_copy_holding_the_nodes_counters_begins_a_new_actor() -> None:
    """kv679: n1 coordinated the delete (its dot is n1's), reaps its copy while n2 and
    n3 keep the tombstone; a blind put it coordinates next mints under ``n1~1``, so
    the replicas that hold the tombstone keep the put as its sibling, not drop it as
    seen."""
    config = BASE.replace(clients=2, puts_per_client=1, gets_per_client=1, drops=0,
                          read_modify_write=False)
    state = deliver_all(do(initial_state(config), ClientPut("c1", "n1", "k")))
    state = deliver_all(do(state, ClientGet("c1", "n1", "k")))
    state = deliver_all(do(state, ClientDelete("c1", "n1", "k")))
    assert Reap("k", ("n1",)) in _reaps(state)
    state = do(state, Reap("k", ("n1",)))
    assert state.actor("n1", "k") == "n1~0.1" and state.actor("n2", "k") == "n2"
    assert state.actor("n1") == "n1"  # a key epoch: its other keys keep their actor
    put_id = put_id_of(config, 1, 0)
    state = deliver_all(do(state, ClientPut("c2", "n1", "k")))
    assert put_id in state.client("c2").acked
    assert all(put_id in _store(state, n) for n in ("n1", "n2", "n3"))
    assert acked_writes_durable(state)


def test_a_reap_renews_the_actor_of_the_reaped_key_only() -> None:
    """Per-key epochs (the review's bug 3): n1 coordinated a put and a delete of
    ``k``; its reap of ``k`` begins a key epoch of ``k`` alone: ``j`` keeps n1's
    actor (renewing the node's actor for every key, the old rule, gives each key
    n1 coordinates one more clock entry per reaped key). A disk loss forgets the
    key epoch with the rest of the disk."""
    config = BASE.replace(keys=("k", "j"), drops=0, read_modify_write=False,
                          disk_losses=1)
    state = deliver_all(do(initial_state(config), ClientPut("c1", "n1", "k")))
    state = deliver_all(do(state, ClientGet("c1", "n1", "k")))
    state = deliver_all(do(state, ClientDelete("c1", "n1", "k")))
    state = do(state, Reap("k", ("n1",)))
    assert state.key_epochs == frozenset({("n1", "k", 1)})
    assert state.actor("n1", "k") == "n1~0.1"
    assert state.actor("n1", "j") == state.actor("n1") == "n1"
    state = do(state, DiskLoss("n1"))
    assert state.key_epochs == frozenset() and state.actor("n1", "k") == "n1~1"


def test_keep_never_reaps() -> None:
    state = deliver_all(_put_read_delete(BASE.replace(delete_mode="keep")))
    assert not _reaps(state)


def test_immediate_reaping_lets_a_replica_that_missed_the_delete_resurrect_it() -> None:
    state = _put_read_delete(BASE.replace(delete_mode="immediate"))
    assert _reaps(state) == [Reap("k", ("n1",)), Reap("k", ("n3",))]
    state = do(state, Reap("k", ("n1",)))  # n1 alone: n2 still holds v1
    assert no_resurrection(state)
    state = do(state, ClientGet("c1", "n2", "k"))
    state = deliver(state, Kind.REPLICA_GET, "n2", "n1")
    state = deliver(state, Kind.REPLICA_GET_REPLY)
    assert state.client("c1").gets[-1].returned == (1,)
    assert not no_resurrection(state)


def test_immediate_reaping_waits_for_the_deletes_acknowledgement() -> None:
    """``immediate`` reaps only a copy holding an acknowledged tombstone: c1's delete
    d1 is acknowledged everywhere; c2 puts v2 (a sibling of d1), reads, and deletes
    through n1, whose copy is then c2's tombstone d2 alone, not yet acknowledged: no
    node may reap (the hand mutant that drops ``acked.intersection(held)`` from
    guard 1 lets n1 reap: d1's acknowledgement stands in for d2's); once d2 is
    acknowledged, n1 may."""
    config = BASE.replace(clients=2, gets_per_client=1, drops=0, read_modify_write=False,
                          delete_mode="immediate")
    state = deliver_all(do(initial_state(config), ClientPut("c1", "n1", "k")))
    state = deliver_all(do(state, ClientGet("c1", "n1", "k")))
    state = do(state, ClientDelete("c1", "n1", "k"))
    state = deliver_all(state)
    for n in ("n1", "n2", "n3"):
        state = do(state, Reap("k", (n,)))
    state = deliver_all(do(state, ClientPut("c2", "n2", "k")))
    state = deliver_all(do(state, ClientGet("c2", "n2", "k")))
    state = do(state, ClientDelete("c2", "n1", "k"))
    d2 = put_id_of(config, 1, 1)
    assert _store(state, "n1") == (d2,) and d2 not in state.client("c2").acked
    assert _reaps(state) == []
    state = deliver_all(state)
    assert d2 in state.client("c2").acked and Reap("k", ("n1",)) in _reaps(state)


def test_a_put_concurrent_with_a_delete_survives_as_a_sibling_of_the_tombstone() -> None:
    config = BASE.replace(clients=2, deletes_per_client=1, gets_per_client=1,
                          read_modify_write=False, delete_mode="keep")
    state = initial_state(config)
    state = deliver_all(do(state, ClientPut("c1", "n1", "k")))  # v1
    state = deliver_all(do(state, ClientGet("c1", "n1", "k")))
    state = deliver_all(do(state, ClientPut("c2", "n2", "k")))  # v3, blind: concurrent
    state = deliver_all(do(state, ClientDelete("c1", "n1", "k")))  # v2 covers v1 only
    assert _store(state, "n1") == (2, 3)
    state = deliver_all(do(state, ClientGet("c2", "n3", "k")))
    assert state.client("c2").gets[-1].returned == (2, 3)
    assert put_survives_delete(state) and acked_writes_durable(state)
    assert no_resurrection(state)
