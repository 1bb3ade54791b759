"""The named properties of Dynamo that the model checker verifies on the spec.

Theory of operation
-------------------
Each :class:`Property` is a pure function of one spec state (``always``
properties: a safety invariant that must hold in every reachable state) or, for
``convergence``, the marker of the liveness check (the explorer computes
AG EF converged over fault-free steps: from every reachable state, once faults
stop, a converged state stays reachable).

The properties read the spec's *ghost* state, not its clocks: every put id has a
true causal history (the put ids its writing client had read, plus itself), so a
write that a later write causally overwrote is told apart from a write that a
clock mode silently lost.

* ``acked_writes_durable``: every put acknowledged to its client is in the true
  history of some version held by a node's store, a hint, or an in-flight message.
* ``read_your_writes``: every completed get returns, for each of its client's puts
  of that key acknowledged before the get began, a version whose true history
  contains that put.
* ``siblings_are_antichain``: no node stores, and no get returned, two versions of
  a key one of whose clocks dominates the other's (dvv: one's dot is in the
  other's context; lww: timestamps, so any two versions of a key are ordered and
  lww must never keep siblings).
* ``hint_kept_until_acked``: every hint deletion is of a hint whose intended node
  acknowledged it (ghost: deletions are a subset of acknowledged handoffs).
* ``context_collapses_siblings``: a put whose context came from a get that
  returned siblings has a clock that dominates every one of them.
* ``convergence`` (liveness): see :func:`spec.model.converged`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from spec.clocks import Payload, PutRecord, dominates, values
from spec.model import converged, stored_values
from spec.state import State

__all__ = [
    "PROPERTIES",
    "Property",
    "acked_writes_durable",
    "context_collapses_siblings",
    "hint_kept_until_acked",
    "read_your_writes",
    "siblings_are_antichain",
]


@dataclass(frozen=True, slots=True)
class Property:
    """A named property: ``always`` (``holds`` is checked on every reachable state)
    or ``liveness`` (``converged`` marks the states that must stay reachable)."""

    name: str
    kind: Literal["always", "liveness"]
    description: str
    holds: Callable[[State], bool] | None = None
    converged: Callable[[State], bool] | None = None


def acked_writes_durable(state: State) -> bool:
    """Every acknowledged put is in the true history of a version still held somewhere."""
    acked = [p for client in state.clients for p in client.acked]
    if not acked:
        return True
    covered: set[int] = set()
    for v in stored_values(state):
        record = state.puts[v - 1]
        if record is not None:
            covered |= record.history
    return all(p in covered for p in acked)


def read_your_writes(state: State) -> bool:
    """A get returns the client's own puts of the key acknowledged before it began."""
    for client in state.clients:
        for get in client.gets:
            for p in get.acked_before:
                record = state.puts[p - 1]
                if record is None or record.key != get.key:
                    continue
                if not any(p in _history(state, v) for v in get.returned):
                    return False
    return True


def _history(state: State, put_id: int) -> frozenset[int]:
    record = state.puts[put_id - 1]
    return record.history if record is not None else frozenset()


def _antichain(state: State, put_ids: tuple[int, ...]) -> bool:
    if len(put_ids) < 2:
        return True
    records = []
    for v in put_ids:
        record = state.puts[v - 1]
        if record is None:
            return False
        records.append(record)
    return not any(dominates(a, b) for a in records for b in records)


def siblings_are_antichain(state: State) -> bool:
    """No store and no get result holds two versions, one dominating the other."""
    puts = state.puts
    for node in state.nodes:
        for payload in node.store:
            # memoised per (payload object, put table object): both are shared widely
            ident = (id(payload), id(puts))
            cached = _STORE_ANTICHAIN.get(ident)
            if cached is None or cached[0] is not payload or cached[1] is not puts:
                if len(_STORE_ANTICHAIN) > 100_000:
                    _STORE_ANTICHAIN.clear()
                cached = (payload, puts, _antichain(state, values(payload)))
                _STORE_ANTICHAIN[ident] = cached
            if not cached[2]:
                return False
    return all(
        _antichain(state, get.returned) for client in state.clients for get in client.gets
    )


# Each entry holds the payload and put table whose ids make its key.
_STORE_ANTICHAIN: dict[tuple[int, int], tuple[Payload, tuple[PutRecord | None, ...], bool]] = {}


def hint_kept_until_acked(state: State) -> bool:
    """A hint is deleted only after its intended node acknowledged it."""
    return state.hints_deleted <= state.hints_acked


def context_collapses_siblings(state: State) -> bool:
    """A put with the context of a get that returned siblings dominates them all."""
    for record in state.puts:
        if record is None or not record.read_siblings:
            continue
        for sibling in record.read_siblings:
            other = state.puts[sibling - 1]
            if other is None or not dominates(record, other):
                return False
    return True


PROPERTIES: dict[str, Property] = {
    p.name: p
    for p in (
        Property(
            "acked_writes_durable", "always",
            "a put acknowledged to its client is never lost: some store, hint or in-flight "
            "message holds a version whose true causal history contains it",
            holds=acked_writes_durable,
        ),
        Property(
            "read_your_writes", "always",
            "a get started after the client's own put was acknowledged returns a version "
            "whose true causal history contains that put",
            holds=read_your_writes,
        ),
        Property(
            "siblings_are_antichain", "always",
            "no node stores, and no get returns, two versions of a key where one's clock "
            "dominates the other's",
            holds=siblings_are_antichain,
        ),
        Property(
            "hint_kept_until_acked", "always",
            "a hint is deleted only after its intended node acknowledged it",
            holds=hint_kept_until_acked,
        ),
        Property(
            "context_collapses_siblings", "always",
            "a put whose context came from a get that returned siblings produces a version "
            "that dominates all of them",
            holds=context_collapses_siblings,
        ),
        Property(
            "convergence", "liveness",
            "once faults stop, a state stays reachable where every replica of each key holds "
            "the same versions, no hint is left and no message is in flight",
            converged=converged,
        ),
    )
}
