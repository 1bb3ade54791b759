"""One formula for a state's hash (issue 13, session 60): :func:`spec.state.state_hash`.

Every :class:`~spec.state.State`'s ``_hash`` is it, whether the state was built by the
class (the validating constructor, ``@cached_hash``) or by the trusted
:func:`~spec.state.new_state`, and model_check/kernel.py's ``Kernel._state_hash``
(the hash :meth:`Kernel.canonicalize` compares tied candidates by, computed from the
packed state's ids without building it) is it too.
"""

from __future__ import annotations

import dataclasses
from collections import deque

import pytest

from model_check.kernel import Kernel
from model_check.suite import entry
from spec import model as spec
from spec.state import State, state_hash

#: entry -> (states walked breadth-first, the optional parts of the hash its states hold);
#: between them every optional part, and two entries walked to the end
WALKS: dict[str, tuple[int, frozenset[str]]] = {
    "sloppy-no-handoff": (10**6, frozenset()),
    "strict-no-anti-entropy": (10**6, frozenset()),
    "lww-two-clients": (600, frozenset()),
    "dvv-restore-new-actor": (600, frozenset({"backups"})),
    "delete-join-pending": (600, frozenset({"membership", "key_epochs"})),
    "dvv-prune-learnt": (600, frozenset({"known"})),
    "write-failure-same-coordinator": (600, frozenset({"unpersisted"})),
    "disk-loss-rebuild-drop": (600, frozenset({"rebuilding"})),
}


def _walk(name: str, size: int) -> list[State]:
    """The reachable states of suite entry ``name`` (symmetry-reduced as the checker
    does), breadth-first from the initial state, at most ``size`` of them."""
    config = entry(name).config
    first = spec.initial_state(config)
    canonical = spec.canonicalize if config.clients > 1 else (lambda s: s)
    order, seen, queue = [first], {first}, deque([first])
    while queue and len(order) < size:
        for _, successor in spec.successors(queue.popleft()):
            successor = canonical(successor)
            if successor not in seen:
                seen.add(successor)
                order.append(successor)
                queue.append(successor)
    return order[:size]


@pytest.mark.parametrize("name", sorted(WALKS))
def test_every_states_hash_is_the_one_formula(name: str) -> None:
    """On each state walked (:data:`WALKS`: two entries to the end, 504 and 79 states;
    six others' first 600, which hold every optional part of the hash between them): the
    state's ``_hash`` (built by :func:`~spec.state.new_state`, the successors' path) is
    :func:`state_hash` of its fields, the class's own constructor gives the same hash,
    and the kernel's hash of the state packed is it. Mutants, each run by hand and
    restored: ``new_state`` passing ``membership=None`` (delete-join-pending fails: the
    class's hash differs), the class's ``_state_hash`` passing ``known`` and
    ``unpersisted`` swapped (dvv-prune-learnt and write-failure-same-coordinator fail),
    the kernel's ``_state_hash`` passing the initial budget (five of the eight fail:
    those whose first 600 states spend a fault), the formula's ``rebuilding`` term left out of
    :func:`state_hash` alone (no failure: one formula; its own test is below)."""
    size, held = WALKS[name]
    states = _walk(name, size)
    kernel = Kernel(states[0].config)
    parts: set[str] = set()
    for s in states:
        assert s._hash == state_hash(s._parts, s.side, s.used, s.hints_acked,
                                     s.hints_deleted, s.epochs, s.membership, s.key_epochs,
                                     s.backups, s.known, s.unpersisted, s.rebuilding), s
        again = State(**{f.name: getattr(s, f.name) for f in dataclasses.fields(State)
                         if f.init})
        assert again._hash == s._hash and again._parts == s._parts, s
        assert kernel._state_hash(kernel.encode(s)) == s._hash, s
        parts |= {part for part in ("membership", "key_epochs", "backups", "known",
                                    "unpersisted", "rebuilding")
                  if getattr(s, part) not in (None, frozenset())}
    assert held <= parts, (name, parts)


def test_each_optional_part_moves_the_hash() -> None:
    """Each optional part of :func:`state_hash` changes the hash when present (and
    leaves it as it was when absent), so no part can drop out of the one formula
    unseen. Mutants, each run by hand and restored: the ``rebuilding`` term left out
    (its assertion fails), ``known`` and ``unpersisted`` hashed under the same tag (the
    two equal-valued parts hash alike: fails)."""
    s = spec.initial_state(entry("strict-dvv").config)
    base = (s._parts, s.side, s.used, s.hints_acked, s.hints_deleted, s.epochs)
    plain = state_hash(*base)
    assert plain == s._hash == state_hash(*base, None, frozenset(), None, frozenset(),
                                          frozenset(), frozenset())
    triple = frozenset({("n1", "k", "n2")})
    hashes = {
        "key_epochs": state_hash(*base, key_epochs=frozenset({("n1", "k", 1)})),
        "known": state_hash(*base, known=triple),
        "unpersisted": state_hash(*base, unpersisted=triple),  # type: ignore[arg-type]
        "rebuilding": state_hash(*base, rebuilding=triple),
    }
    assert plain not in hashes.values()
    assert len(set(hashes.values())) == len(hashes), hashes
