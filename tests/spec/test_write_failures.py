"""A failing disk in the spec (session 51, issue 12): ``[faults] write_failures``.

A node's disk refuses one write: a replica's (or a fallback's) write of a
``replica-put`` (:class:`~spec.actions.FailedWrite`: nothing stored, the coordinator
answered ``replica-put-failed``), or a put's coordinator's own write
(:class:`~spec.actions.FailedPut` of a client's put, :class:`FailedWrite` of a put's
``forward``: its copy is one failed replica). Sources: riak_kv's vnode answers
``{error, ...}`` and its put FSM counts only ``{w, ...}`` replies towards W; the
implementation's ``ReplicaPutFailed`` and ``PutCoordinator.local_write_failed``
(docs/runtime.md, "A node whose disk is full (session 50)").

Each test names the mutant it was seen to fail on (docs/spec.md, "A failing disk in
the spec (session 51)").
"""

from __future__ import annotations

import json

import pytest

from spec.actions import Action, ClientPut, Deliver, FailedPut, FailedWrite, action_from_json
from spec.clocks import values
from spec.config import Config
from spec.model import initial_state, narrate, successors
from spec.state import Kind, Message, State

STRICT = Config(name="wf-strict", w=3, write_failures=2)
"""N = W = 3 of 3 nodes, strict: a refusal leaves W out of reach at once."""


def _do(state: State, action: Action) -> State:
    for candidate, after in successors(state):
        if candidate == action:
            return after
    raise AssertionError(f"{action} is not enabled: {[a.to_json() for a, _ in successors(state)]}")


def _message(state: State, kind: Kind, dst: str) -> Message:
    return next(m for m in state.messages if m.kind is kind and m.dst == dst)


def _k(state: State, node: str) -> frozenset[int]:
    return frozenset(values(state.node(node).store[0]))


def test_the_budget_is_a_sixth_count_only_with_write_failures() -> None:
    """No state of an earlier configuration changes: ``used`` keeps its five counts
    and the JSON and TOML forms their keys (mutant: the sixth count always there:
    fails)."""
    assert initial_state(Config()).used == (0, 0, 0, 0, 0)
    assert initial_state(STRICT).used == (0, 0, 0, 0, 0, 0)
    assert "write_failures" not in Config().to_json()["faults"]
    assert "failed_write_acks" not in Config().to_json()["features"]
    assert Config.from_toml(STRICT.replace(failed_write_acks=True).to_toml()) == STRICT.replace(
        failed_write_acks=True)
    assert not [a for a, _ in successors(initial_state(Config()))
                if isinstance(a, FailedPut | FailedWrite)]
    assert Config(failed_write_acks=True).inert_settings()


def test_a_replicas_refused_write_stores_nothing_and_fails_a_put_that_needs_it() -> None:
    """n2's disk refuses the replica put: n2 keeps nothing and answers
    replica-put-failed; at W = 3 the put fails at once, nothing acknowledged (mutants:
    the refusal answered replica-put-ack; the coordinator counting a replica-put-failed
    as an ack: both fail)."""
    state = _do(initial_state(STRICT), ClientPut("c1", "n1", "k"))
    refused = _do(state, FailedWrite(_message(state, Kind.REPLICA_PUT, "n2")))
    assert _k(refused, "n2") == frozenset() and refused.used[5] == 1
    answer = _message(refused, Kind.REPLICA_PUT_FAILED, "n1")
    assert answer.src == "n2" and answer.payload is None
    after = _do(refused, Deliver(answer))
    assert after.client("c1").outstanding == 0 and after.client("c1").acked == ()
    assert after.node("n1").coord == ()
    assert "n2's disk refuses the write" in narrate(state, FailedWrite(
        _message(state, Kind.REPLICA_PUT, "n2")), refused)


def test_a_refusal_leaves_a_put_that_can_still_reach_w_waiting() -> None:
    """W = 2: n3's refusal is one failed replica; n2's ack then acknowledges the put,
    held by n1 and n2."""
    config = STRICT.replace(w=2)
    state = _do(initial_state(config), ClientPut("c1", "n1", "k"))
    state = _do(state, FailedWrite(_message(state, Kind.REPLICA_PUT, "n3")))
    state = _do(state, Deliver(_message(state, Kind.REPLICA_PUT_FAILED, "n1")))
    assert state.client("c1").outstanding == 1
    assert [t for t, _ in state.node("n1").coord[0].awaiting] == ["n2"]
    state = _do(state, Deliver(_message(state, Kind.REPLICA_PUT, "n2")))
    state = _do(state, Deliver(_message(state, Kind.REPLICA_PUT_ACK, "n1")))
    assert state.client("c1").acked == (1,)
    assert _k(state, "n1") == _k(state, "n2") == {1} and _k(state, "n3") == frozenset()


def test_the_coordinators_refused_write_is_one_failed_replica() -> None:
    """n1 coordinates c1's put and its own write is refused: the version is minted and
    sent to n2 and n3, n1's copy stays empty and n1 does not count itself: at W = 3
    the put fails at once, at W = 2 it needs n2's and n3's acks (mutant: the
    coordinator's refused copy counted as an ack: both fail)."""
    state = _do(initial_state(STRICT), FailedPut("c1", "n1", "k"))
    assert _k(state, "n1") == frozenset() and state.put_record(1) is not None
    assert {m.dst for m in state.messages if m.kind is Kind.REPLICA_PUT} == {"n2", "n3"}
    assert state.client("c1").outstanding == 0 and state.node("n1").coord == ()
    two = _do(initial_state(STRICT.replace(w=2)), FailedPut("c1", "n1", "k"))
    (coord,) = two.node("n1").coord
    assert coord.acks == () and sorted(t for t, _ in coord.awaiting) == ["n2", "n3"]
    for dst in ("n2", "n3"):
        two = _do(two, Deliver(_message(two, Kind.REPLICA_PUT, dst)))
    two = _do(two, Deliver(_message(two, Kind.REPLICA_PUT_ACK, "n1")))
    assert two.client("c1").acked == ()  # one ack of the two W needs
    two = _do(two, Deliver(_message(two, Kind.REPLICA_PUT_ACK, "n1")))
    assert two.client("c1").acked == (1,)
    assert _k(two, "n1") == frozenset() and _k(two, "n2") == _k(two, "n3") == {1}


def test_a_forwarded_puts_coordinator_can_refuse_its_own_write() -> None:
    """With ``coordinator = "any"`` a put sent to n4 is forwarded to n1: the forward's
    FailedWrite starts the put there with n1's own copy refused."""
    config = Config(name="wf-any", nodes=("n1", "n2", "n3", "n4"), coordinator="any",
                    write_failures=1)
    key_top = config.top_n("k")
    outside = next(n for n in config.nodes if n not in key_top)
    state = _do(initial_state(config), ClientPut("c1", outside, "k"))
    forward = _message(state, Kind.FORWARD, key_top[0])
    assert FailedPut("c1", outside, "k") not in [a for a, _ in successors(initial_state(config))]
    after = _do(state, FailedWrite(forward))
    (coord,) = after.node(key_top[0]).coord
    assert coord.acks == () and _k(after, key_top[0]) == frozenset()
    assert after.used[5] == 1
    assert not [a for a, _ in successors(after) if isinstance(a, FailedPut | FailedWrite)]


def test_with_a_sloppy_quorum_a_refused_part_goes_to_the_next_fallback() -> None:
    """Sloppy quorum on four nodes: n1's own refused write, then n2's refusal, each
    hands its part to the next fallback with a hint naming the refusing node (the
    implementation's ``local_write_failed`` and ``on_failed``)."""
    config = Config(name="wf-sloppy", nodes=("n1", "n2", "n3", "n4"), sloppy_quorum=True,
                    write_failures=2)
    top = config.top_n("k")
    fallback = config.preference_list("k")[3]
    state = _do(initial_state(config), FailedPut("c1", top[0], "k"))
    hinted = [m for m in state.messages if m.kind is Kind.REPLICA_PUT and m.dst == fallback]
    assert [m.intended for m in hinted] == [top[0]]
    state = _do(state, FailedWrite(_message(state, Kind.REPLICA_PUT, top[1])))
    state = _do(state, Deliver(_message(state, Kind.REPLICA_PUT_FAILED, top[0])))
    # no fallback left for n2's part (n4 took the coordinator's): W = 2 rests on the
    # two awaited, the third replica and the fallback
    (coord,) = state.node(top[0]).coord
    assert state.client("c1").outstanding == 1 and coord.acks == ()
    assert sorted(t for t, _ in coord.awaiting) == sorted((top[2], fallback))


def test_the_broken_twin_acknowledges_a_refused_write() -> None:
    """``failed_write_acks``: the refusing replica answers replica-put-ack and the
    coordinator counts its own refused copy: a W = 2 put is acknowledged with one copy."""
    config = STRICT.replace(w=2, failed_write_acks=True)
    state = _do(initial_state(config), FailedPut("c1", "n1", "k"))
    state = _do(state, Deliver(_message(state, Kind.REPLICA_PUT, "n2")))
    state = _do(state, Deliver(_message(state, Kind.REPLICA_PUT_ACK, "n1")))
    assert state.client("c1").acked == (1,) and _k(state, "n1") == frozenset()
    state = _do(initial_state(config), ClientPut("c1", "n1", "k"))
    state = _do(state, FailedWrite(_message(state, Kind.REPLICA_PUT, "n2")))
    assert _message(state, Kind.REPLICA_PUT_ACK, "n1").src == "n2"


@pytest.mark.parametrize("action", [
    FailedPut("c1", "n1", "k"),
    FailedWrite(Message(Kind.REPLICA_PUT, "n1", "n2", 1, "k", None, "n3")),
])
def test_the_actions_read_back_from_json(action: Action) -> None:
    assert action_from_json(json.loads(json.dumps(action.to_json()))) == action
    assert not action.fault_free


SAME = Config(name="wf-same", clients=2, gets_per_client=0, coordinator="first",
              write_failures=1)
"""Two clients' blind puts through the key's first node (write-failure-same-coordinator)."""


def _dots(state: State) -> list[tuple[str, int]]:
    return [r.dot for r in state.puts if r is not None]


def test_a_coordinator_keeps_its_refused_write_and_mints_past_it() -> None:
    """c1's put through n1 is refused there: n1 keeps its record (``unpersisted``) and
    c2's put through n1 merges it first: a new dot, both versions in n1's copy, the
    record let go (mutants: no record kept, or kept and not merged: the second put
    mints the first's dot, fails)."""
    first = SAME.top_n("k")[0]
    state = _do(initial_state(SAME), FailedPut("c1", first, "k"))
    (kept,) = state.unpersisted
    assert kept[:2] == (first, "k") and set(values(kept[2])) == {1}
    after = _do(state, ClientPut("c2", first, "k"))
    assert after.unpersisted == frozenset()
    dots = _dots(after)
    assert len(set(dots)) == 2, dots
    assert set(values(after.node(first).store[0])) == {1, 2}
    forgotten = SAME.replace(failed_write_kept=False)
    state = _do(initial_state(forgotten), FailedPut("c1", first, "k"))
    assert state.unpersisted == frozenset()
    assert len(set(_dots(_do(state, ClientPut("c2", first, "k"))))) == 1  # kv679


def test_a_crash_loses_the_kept_records_and_a_reap_forgets_them() -> None:
    """The records are in memory: a crash of the node loses them (the spec finds what
    session 50's review left: with ``actor_per_start = false`` the next put after the
    restart mints the refused dot again); a reap of the key at the node forgets them
    (the review's fault 2). Mutants: ``_down`` or ``forget_copy`` keeping them: fail."""
    from spec.actions import Crash
    from spec.deletes import forget_copy
    from spec.step import Edit, plan_of

    first = SAME.top_n("k")[0]
    config = SAME.replace(crashes=1)
    state = _do(initial_state(config), FailedPut("c1", first, "k"))
    assert _do(state, Crash(first)).unpersisted == frozenset()
    assert _do(state, Crash(SAME.top_n("k")[1])).unpersisted == state.unpersisted
    edit = Edit(state, plan_of(config))
    forget_copy(edit, state, first, "k")
    assert edit.build().unpersisted == frozenset()


def test_a_replica_put_that_writes_nothing_cannot_be_refused() -> None:
    """After anti-entropy gave n2 the version, its replica put changes nothing: no
    write to refuse (the implementation asks its engine nothing and acknowledges;
    found by the conformance run). Mutant: every replica put refusable: fails."""
    from spec.actions import AntiEntropy

    state = _do(initial_state(STRICT), ClientPut("c1", "n1", "k"))
    refusable = {a.message.dst for a, _ in successors(state) if isinstance(a, FailedWrite)}
    assert refusable == {"n2", "n3"}
    state = _do(state, AntiEntropy("n1", "n2", "k"))
    refusable = {a.message.dst for a, _ in successors(state) if isinstance(a, FailedWrite)}
    assert refusable == {"n3"}


# Session 51's review (docs/spec.md, "Review of the failing disk in the spec (session
# 51, review)"): mutants of the new spec code that the tests above and the suite's
# four entries (none with a crash, a restore, a forward or pruning) let survive.


def test_a_restore_loses_the_kept_records() -> None:
    """A restore from a backup is a crash with an older disk: the records kept in
    memory go with it, as with a crash (mutant: ``_restored`` keeping them: the
    restored node merges a refused record its disk never had, fails)."""
    from spec.actions import Backup, Restore

    first = SAME.top_n("k")[0]
    config = SAME.replace(restores=1)
    state = _do(initial_state(config), Backup(first))
    state = _do(state, FailedPut("c1", first, "k"))
    assert state.unpersisted
    assert _do(state, Restore(first)).unpersisted == frozenset()


def test_no_write_is_refused_at_a_down_receiver() -> None:
    """A replica put to a down node is lost there (``spec.delivery.deliver``): there is
    no write to refuse, so no ``FailedWrite`` of it (mutant: the ``dst.up`` check of
    ``_refused_writes`` dropped: a down node answers replica-put-failed, fails)."""
    from spec.actions import Crash

    config = STRICT.replace(crashes=1)
    state = _do(_do(initial_state(config), ClientPut("c1", "n1", "k")), Crash("n2"))
    refusable = {a.message.dst for a, _ in successors(state) if isinstance(a, FailedWrite)}
    assert refusable == {"n3"}


def test_a_gets_forward_is_no_write_to_refuse() -> None:
    """A get's ``forward`` writes nothing at its coordinator: no ``FailedWrite`` of it
    (mutant: every forward refusable: a get's forward spends the budget as a plain
    delivery, fails); a put's forward is refusable."""
    from spec.actions import ClientGet

    config = Config(name="wf-any", nodes=("n1", "n2", "n3", "n4"), coordinator="any",
                    write_failures=1, puts_per_client=0, gets_per_client=1)
    outside = next(n for n in config.nodes if n not in config.top_n("k"))
    state = _do(initial_state(config), ClientGet("c1", outside, "k"))
    assert _message(state, Kind.FORWARD, config.top_n("k")[0])
    assert not [a for a, _ in successors(state) if isinstance(a, FailedWrite)]

