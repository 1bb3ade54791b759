"""The third review of issue 11: the reviewer's hand mutants that survived every test
(/work/wt/rev-findings/mutants/surviving_diffs.md), each killed here by a test that
asserts the right value. Each mutant is seeded, exactly as the reviewer wrote it, in
tests/refinement/mutations.py ``REVIEW3_MUTANTS`` (the method recompiled from its
source with the one line changed), and each test runs once as is and once with its
mutant, which must fail it.

- R4 ``reap-clean-ignores-busy``, R6 ``reap-decide-skips-own-check``: with a grace
  shorter than a request's timeout (``tombstone_grace_s`` 0.1 < ``request_timeout``
  1.0, allowed), a put still retrying its cut-off replica when the delete of it is
  acknowledged by all N brings the value back if the reap does not wait for it
  (the reviewer's busy_guard_probe.py and own_state_probe.py);
- N2 ``busy-ignores-forwardings``: a node forwarding a put of the key is busy, so
  its reap answer is "not clean"; N3 (``busy-ignores-gets``: a node coordinating a
  get of the key was busy too) became ``reap-answer-ignores-gets`` in session 39: a
  reap answer waits for the gets of the key in progress at the query's arrival;
- R7 ``reap-local-drops-live-sibling``: ``delete_mode = "immediate"`` removes only a
  record that holds nothing but tombstones: a put concurrent with the delete stays
  (immediate_reap_live_sibling_probe.py);
- H4 ``hint-ack-from-anyone``: only the intended node's HintAck deletes a hint;
- Go11 ``settled-from-anyone``: only ``node`` itself announces that its change
  settled;
- Go6 ``late-write-not-handed-on``: with the naive handover an old owner hands a
  late write on to the key's new owners (trace validation, leave-immediate seed 15;
  the join-immediate seeds 0-29 do not reach such a write).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from impl import SimulatedCluster
from impl.effects import Effect, Send
from impl.messages import HintAck, ReapQuery, ReapQueryReply, Settled
from model_check.trace_validation import trace_config, validate_seed
from tests.refinement.mutations import REVIEW3_MUTANTS

KEY = b"k"


@contextlib.contextmanager
def _maybe(mutant: str | None) -> Iterator[None]:
    with REVIEW3_MUTANTS[mutant]() if mutant else contextlib.nullcontext():
        yield


def _short_grace(seed: int) -> tuple[SimulatedCluster, tuple[str, ...]]:
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed, tombstone_grace_s=0.1,
                               request_timeout=1.0, anti_entropy=False)
    return cluster, cluster.node("n1").preference_list(KEY)[:3]


def _after_quiet(cluster: SimulatedCluster, reader: str) -> list[bytes]:
    cluster.run_until_quiet()
    cluster.run_for(5.0)
    cluster.run_until_quiet()
    return cluster.client(coordinator=reader).get(KEY, r=3).values


@pytest.mark.parametrize("mutant", [None, "reap-clean-ignores-busy"])
@pytest.mark.parametrize("seed", [1, 2])
def test_a_reap_waits_for_a_put_of_the_key_still_in_progress(
        seed: int, mutant: str | None) -> None:
    """busy_guard_probe.py: ``a`` coordinates v1 with ``c`` cut off from it (the put
    is acknowledged by a and b and keeps retrying c until its deadline); ``b``
    deletes v1 (all N acknowledge), the grace passes while a's put is in progress,
    and the link heals. ``a`` is busy with the key: no reap, v1 stays deleted."""
    with _maybe(mutant):
        cluster, (a, b, c) = _short_grace(seed)
        cluster.partition_one_way({a}, {c})
        cluster.wait([cluster.client(coordinator=a).submit_put(KEY, b"v1")])
        client = cluster.client(coordinator=b)
        cluster.wait([client.submit_delete(KEY, context=client.get(KEY).context)])
        cluster.run_for(0.25)  # > the grace, < a's request_timeout
        assert any(coordination.key == KEY
                   for coordination in cluster.node(a).puts.coordinations.values())
        cluster.heal()
        got = _after_quiet(cluster, b)
    assert got == ([b"v1"] if mutant else [])


@pytest.mark.parametrize("mutant", [None, "reap-decide-skips-own-check",
                                    "reap-clean-ignores-busy"])
def test_the_deciding_node_checks_its_own_state(mutant: str | None) -> None:
    """own_state_probe.py: ``a`` coordinates v1 with ``c`` cut off, then the delete
    of it (all N acknowledge once healed); the reap is decided by ``a`` itself while
    its own put of the key is still in progress: it must not reap."""
    with _maybe(mutant):
        cluster, (a, b, c) = _short_grace(1)
        cluster.partition_one_way({a}, {c})
        client = cluster.client(coordinator=a)
        cluster.wait([client.submit_put(KEY, b"v1")])
        cluster.heal()
        cluster.wait([client.submit_delete(KEY, context=client.get(KEY).context)])
        got = _after_quiet(cluster, b)
    assert got == ([b"v1"] if mutant else [])


@pytest.mark.parametrize("mutant", [None, "reap-answer-ignores-gets"])
def test_a_reap_answer_waits_for_a_get_of_the_key_in_progress(mutant: str | None) -> None:
    """The key is deleted (a holds only the tombstone). A get that has its R answers
    but still waits for ``c`` (cut off) until its deadline (for read repair) is in
    progress at ``a`` when ``c``'s reap query reaches it: a's answer waits until that
    get ended (a late answer may yet bring something to read repair), then says
    clean. The reviewer's N3 (``busy-ignores-gets``) made a node coordinating a get
    not busy; since session 39 none is, and the answer waits instead of saying "not
    clean" at once (gets overlapping at every node refused every round:
    tests/impl/test_reap_polled_key.py). The mutant ``reap-answer-ignores-gets``
    answers at once."""
    with _maybe(mutant):
        cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, delete_mode="keep")
        a, _, c = cluster.node("n1").preference_list(KEY)[:3]
        client = cluster.client(coordinator=a)
        client.put(KEY, b"v1")
        client.delete(KEY, context=client.get(KEY).context)
        cluster.run_until_quiet()
        cluster.partition({c}, {a})
        cluster.wait([cluster.client(coordinator=a).submit_get(KEY)])
        node = cluster.node(a)
        assert any(coordination.key == KEY
                   for coordination in node.gets.coordinations.values())
        assert not node._busy(KEY)
        record = node.replica.storage.read(KEY)
        assert record is not None
        query = ReapQuery(7, KEY, record, node._members()[1])
        at_once = _answers(node.receive(cluster.now, c, query))
        held = KEY in node.reaper.held
        later: list[tuple[int, bool]] = []
        plain = node.reaper.get_ended

        def recorded(now: float, key: bytes, op_id: int, *,
                     live: bool = False) -> list[Effect]:
            effects = plain(now, key, op_id, live=live)
            later.extend(_answers(effects))
            return effects

        node.reaper.get_ended = recorded  # type: ignore[method-assign]
        cluster.run_for(cluster.config.request_timeout)  # the get ends at its deadline
    if mutant:
        assert (at_once, held, later) == ([(7, True)], False, [])
    else:
        assert (at_once, held, later) == ([], True, [(7, True)])
        assert not node.reaper.held and not node.gets.coordinations


def _answers(effects: list[Effect]) -> list[tuple[int, bool]]:
    """(query id, clean) of each reap answer ``effects`` send."""
    return [(e.message.query_id, e.message.clean) for e in effects
            if isinstance(e, Send) and isinstance(e.message, ReapQueryReply)]


@pytest.mark.parametrize("mutant", [None, "busy-ignores-forwardings"])
def test_a_node_forwarding_a_request_of_the_key_is_busy(mutant: str | None) -> None:
    """A node outside the key's top N forwards a put to a coordinator it cannot reach
    (the Forward is lost; the node waits, then tries the next): while it waits it is
    busy with the key, and its answer to a reap query is "not clean"."""
    with _maybe(mutant):
        cluster, targets = _short_grace(1)
        outsider = next(name for name in cluster.node_names if name not in targets)
        cluster.partition({outsider}, set(targets))
        cluster.client(coordinator=outsider).submit_put(KEY, b"v1")
        cluster.run_for(0.05)
        node = cluster.node(outsider)
        assert any(forwarding.request.key == KEY
                   for forwarding in node.forwarder.forwardings.values())
        assert not node.puts.coordinations and not node.gets.coordinations
        busy, clean = node._busy(KEY), node.reaper._clean(KEY, node._members()[1])
    assert (busy, clean) == ((False, True) if mutant else (True, False))


@pytest.mark.parametrize("mutant", [None, "reap-local-drops-live-sibling"])
def test_an_immediate_reap_keeps_a_put_concurrent_with_the_delete(mutant: str | None) -> None:
    """immediate_reap_live_sibling_probe.py: B writes v2 blindly after A read v1; A
    deletes with its context; the replicas hold [tombstone, v2] and the immediate
    reap must keep that record (docs/runtime.md: it reaps a record "that then holds
    only tombstones"). A get answers v2."""
    with _maybe(mutant):
        cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, delete_mode="immediate")
        alice, bob = cluster.client(), cluster.client()
        alice.put(KEY, b"v1")
        cluster.run_until_quiet()
        seen = alice.get(KEY)
        bob.put(KEY, b"v2")
        cluster.run_until_quiet()
        alice.delete(KEY, context=seen.context)
        cluster.run_until_quiet()
        got = cluster.client().get(KEY, r=3).values
    assert got == ([] if mutant else [b"v2"])


@pytest.mark.parametrize("mutant", [None, "hint-ack-from-anyone"])
def test_only_the_intended_nodes_ack_deletes_a_hint(mutant: str | None) -> None:
    """A fallback ``d`` holds a hint of v for ``a`` (down at the put). A HintAck of it
    from another node (``b``) leaves it; the intended node's deletes it."""
    with _maybe(mutant):
        cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=3)
        a, b, _, d = cluster.node("n1").preference_list(KEY)[:4]
        cluster.crash(a)
        cluster.client().put(KEY, b"v", coordinator=b)
        cluster.run_for(2.0)
        fallback = cluster.node(d)
        (hint,) = fallback.hints.all()
        assert hint.intended == a
        assert fallback.handoff.on_ack(b, HintAck(hint.hint_id)) == []
        after_stranger = [h.hint_id for h in fallback.hints.all()]
        fallback.handoff.on_ack(a, HintAck(hint.hint_id))
        after_intended = [h.hint_id for h in fallback.hints.all()]
    assert after_stranger == ([] if mutant else [hint.hint_id])
    assert after_intended == []


@pytest.mark.parametrize("mutant", [None, "settled-from-anyone"])
def test_only_the_node_itself_announces_its_settlement(mutant: str | None) -> None:
    """``Settled(node)`` lets an old owner release the copies it handed over only when
    ``node`` itself sent it: a relayed or forged one (another sender), or one from
    this node, is ignored."""
    with _maybe(mutant):
        gossiper = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1).node("n1").gossiper
        seen = []
        for src, node in (("n2", "n3"), ("n1", "n1"), ("n3", "n3")):
            gossiper.releasable = False
            assert gossiper.on_settled(src, Settled(node)) == []
            seen.append(gossiper.releasable)
    assert seen == ([True, True, True] if mutant else [False, False, True])


@pytest.mark.parametrize("mutant", [None, "late-write-not-handed-on"])
def test_an_old_owner_hands_a_late_write_on(mutant: str | None) -> None:
    """Trace validation of the naive leave (join_handover = "immediate"), seed 10 (15
    until session 16: the restore guard on changes the run's schedule): an
    old owner that let its copy go is read-repaired by a node that had not heard of
    the leave; it must hand that write on to the key's new owner before it lets it go
    again. Without (the mutant) its next hint scan drops a version the new owner n3
    does not hold: a divergence from the spec."""
    config = trace_config(membership="leave", handover="immediate")
    with _maybe(mutant):
        report = validate_seed(10, config=config)
    if mutant:
        assert report.verdict == "divergence", report.line()
        assert "HintScan" in report.reason.split("\n")[0]
    else:
        assert report.verdict == "ok", report.line()
