"""Clients that chain a put's answered context (session 60, ``workload.chain_puts``), in
lockstep with the implementation: the harness's client writes next with the
``PutResult.context`` its put was answered with (``model_check.refinement``), the spec's
with :func:`spec.coordination.answered`, and the implementation must agree.

The path is the shortest counterexample of ``sibling_bound`` under the dvv dot rule
before session 59 (a named client's put past an unread value of its own pair minted
under the server's actor): n2 crashes, v1 and v2 fail (W = 2) and stay in n1's copy
unread, n2 recovers, v3 passes both and is acknowledged, v4 is put with the context v3
was answered with. With session 59's rule v3 mints under the fresh pair ``n1/1 c1``, its
answer names it, and v4 supersedes it on both sides: sibling_bound holds. The old rule
lives in ``spec.dvv.dot_actor``, which the implementation shares
(``impl.versions.dot_actor``), so the lockstep agrees under it step for step; what
fails is the property, on the implementation's own state (the replay's last state is
the implementation's abstraction): ``broke_at`` 8. Mutants (each run by its test,
and seen to fail it with the fixed code's assertion swapped):

- the old rule in ``spec.dvv.dot_actor`` (shared): replayed, sibling_bound broken at
  step 8 on the implementation (4 values at n1 for 3 concurrent writes);
- the old rule in the implementation only (``impl.versions.dot_actor``): diverges at
  step 5 (v3: ``n1`` on the implementation, ``n1/1 c1`` in the spec);
- the harness keeping the last get's context after a put (no chaining): diverges at
  step 8 (v4 blind on the implementation, under ``n1`` beside v3);
- the implementation answering a dvv put's context alone
  (``written_context_pairs`` without the new dot): diverges at step 8 likewise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import pytest

import impl.put_coordinator
import impl.versions
from impl.messages import ReplicaPut, ReplicaPutAck
from model_check.check import check
from model_check.properties import sibling_bound
from model_check.refinement import Divergence, Lockstep
from model_check.suite import entry
from spec import dvv
from spec.clocks import values
from spec.vclock import VClock, client_entry

NAME = "dvv-chain-fresh-pair"


def old_dot_actor(clock: dvv.DVVSet[Any], vector: Any, actor: str, client: str) -> str:
    """``spec.dvv.dot_actor`` as before session 59 for a named client: past an unread
    value of its own pair too, the server's ``actor`` (no fresh pair)."""
    seen = dict(vector.entries) if isinstance(vector, VClock) else dict(vector)

    def unread(server_id: str) -> bool:
        return any(e.id == server_id and bool(e.values) and e.counter > seen.get(server_id, 0)
                   for e in clock.entries)

    if not client or not unread(actor):
        return actor
    pair = client_entry(client, actor)
    return actor if unread(pair) else pair


def _walk() -> tuple[Lockstep, list[bool]]:
    """The path (module docstring) on the lockstep, each step checked; the entry's
    sibling_bound after each step (on the spec state the implementation's abstraction
    matched)."""
    ls = Lockstep(entry(NAME).config)
    held = []

    def step(do: Callable[[], None]) -> None:
        do()
        held.append(sibling_bound(ls.state))

    def deliver(kind: type) -> None:
        ls.deliver(next(m.id for m in ls.deliverable() if isinstance(m.message, kind)))

    step(lambda: ls.crash("n2"))
    step(lambda: ls.put("c1", "n1", "k"))  # v1 fails: W = 2 out of reach
    step(lambda: ls.put("c1", "n1", "k"))  # v2 likewise
    step(lambda: ls.recover("n2"))
    step(lambda: ls.put("c1", "n1", "k"))  # v3
    step(lambda: deliver(ReplicaPut))
    step(lambda: deliver(ReplicaPutAck))  # v3 acknowledged, its context answered
    step(lambda: ls.put("c1", "n1", "k"))  # v4, with that context
    return ls, held


def test_the_checker_finds_this_path_under_the_old_rule(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk is the checker's shortest counterexample of sibling_bound under the old
    rule (the same 8 steps; the entry's verdict, pinned in the suite, is "holds")."""
    monkeypatch.setattr(dvv, "dot_actor", old_dot_actor)
    trace = check(entry(NAME).config, properties=["sibling_bound"]).result(
        "sibling_bound").trace
    assert trace is not None
    assert [a["action"] for a in trace.actions] == [
        "crash", "client-put", "client-put", "recover", "client-put", "deliver", "deliver",
        "client-put"]


@contextmanager
def _harness_without_chaining() -> Iterator[None]:
    """The mutant harness: a put's reply leaves the client's last context as it was."""
    original = Lockstep._collect_replies

    def collect(self: Lockstep) -> None:
        kept = {name: client.last_get for name, client in self.clients.items()}
        puts = [r.client for r in self.requests.values()
                if r.is_put and not r.done and r.handle.done]
        original(self)
        for name in puts:
            self.clients[name].last_get = kept[name]

    Lockstep._collect_replies = collect  # type: ignore[method-assign]
    try:
        yield
    finally:
        Lockstep._collect_replies = original  # type: ignore[method-assign]


def test_the_chained_path_agrees_and_keeps_sibling_bound() -> None:
    """The path on the fixed spec and implementation: every step agrees, sibling_bound
    holds to the end, v3 is under the fresh pair, its answer names it and v4 supersedes
    it (3 values at n1 for 3 concurrent writes)."""
    ls, held = _walk()
    assert held == [True] * 8
    state = ls.state
    assert state.puts[2] is not None and state.puts[2].dot == ("n1/1 c1", 1)
    assert state.puts[3] is not None and state.puts[3].dot == ("n1/1 c1", 2)
    assert state.puts[3].clock.pairs == (("n1/1 c1", 1),)  # v3's answered context
    assert sorted(values(state.node("n1").store[0])) == [1, 2, 4]
    assert ls.clients["c1"].last_get is not None  # the harness chained too
    ls.cluster.close()


def test_the_old_rule_breaks_sibling_bound_on_the_implementation(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant: the old rule in ``spec.dvv.dot_actor``, which the implementation shares.
    The lockstep agrees step for step (both sides mint v3 under ``n1``), and the state
    the implementation's abstraction matched breaks sibling_bound at step 8: v4 beside
    v3, the write its client was told about (with the fixed rule: all True)."""
    monkeypatch.setattr(dvv, "dot_actor", old_dot_actor)
    ls, held = _walk()
    assert held == [True] * 7 + [False]
    assert sorted(values(ls.state.node("n1").store[0])) == [1, 2, 3, 4]
    ls.cluster.close()


@pytest.mark.parametrize("mutant", ["impl-dot-actor", "no-chaining", "context-alone"])
def test_the_implementations_mutants_diverge(mutant: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutants of the implementation and of the harness diverge on the path: the old
    rule in the implementation alone at v3 (step 5), a harness that does not chain and
    an implementation that answers a put's context alone at v4 (step 8)."""
    if mutant == "impl-dot-actor":
        def impl_old(record: Any, context: Any, actor: str, client_id: str) -> str:
            if record.mode is not impl.versions.ClockMode.DVV:
                return actor
            return old_dot_actor(record.dvvset, context, actor, client_id)

        monkeypatch.setattr(impl.versions, "dot_actor", impl_old)
        monkeypatch.setattr(impl.put_coordinator, "dot_actor", impl_old)
    elif mutant == "context-alone":
        written: Callable[..., Any] = impl.put_coordinator.written_context_pairs

        def alone(after: Any, context: Any, value: bytes, **kw: Any) -> Any:
            if after.mode is impl.versions.ClockMode.DVV:
                return tuple(sorted((n, c) for n, c in context.entries.items() if c))
            return written(after, context, value, **kw)

        monkeypatch.setattr(impl.put_coordinator, "written_context_pairs", alone)
    with _harness_without_chaining() if mutant == "no-chaining" else nullcontext(), \
            pytest.raises(Divergence, match="step 5: put c1 v3" if mutant == "impl-dot-actor"
                          else "step 8: put c1 v4"):
        _walk()
