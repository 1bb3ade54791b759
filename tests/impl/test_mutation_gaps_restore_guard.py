"""impl.restore_guard: the behaviours mutmut found no test for (docs/refinement.md,
"Session 29: put coordinator, node, restore guard")."""

from __future__ import annotations

import re

from impl.restore_guard import RestoreGuard, ShadowState, start_generation
from impl.storage.memory import MemoryStorage


def _guard() -> RestoreGuard:
    return RestoreGuard(MemoryStorage("always"), "1.0123456789abcdef")


def test_a_write_is_tracked_only_while_a_silent_peer_is_left() -> None:
    """No peer unconfirmed: a write is neither touched nor taken (mutant: ``and`` for
    ``or``); with one: the key is touched, taken if new, and the write is tracked
    (True) again at its second write (mutant: None touched; False returned)."""
    guard = _guard()
    assert guard.on_write(b"k", b"v", False) is True
    assert guard.touched == set() and guard.taken == set()
    guard.track(["n2"])
    assert guard.on_write(b"k", b"v", False) is True
    assert guard.touched == {b"k"} and guard.taken == {b"k"}
    assert guard.on_write(b"held", b"v", True) is True
    assert guard.touched == {b"k", b"held"} and guard.taken == {b"k"}
    # a key touched first as held stays untaken at a later write
    assert guard.on_write(b"held", b"v", False) is True
    assert guard.taken == {b"k"}


def test_a_shadow_round_asking_more_keeps_waiting_for_the_first_asked() -> None:
    """:meth:`ShadowState.ask` adds the new peers to those waited for, keeping the
    ones not answered yet (mutants: ``=`` and ``&=`` for ``|=``), and not the asked
    ones that answered. A new round is not over."""
    shadow = ShadowState(["n3", "n2"], 1.0)
    # not over, as False: GET /status shows it (session 29's mutant: None, JSON null)
    assert shadow.over is False
    shadow.waiting.discard("n2")  # n2 answered
    shadow.ask(["n4", "n2"])
    assert shadow.asked == ("n2", "n3", "n4")
    assert shadow.waiting == {"n3", "n4"}


def test_the_tracking_ends_once_the_last_silent_peer_gossiped() -> None:
    """The keys written stay tracked while any silent peer is left, and are
    forgotten once the last one gossiped (session 29's mutant: forgotten while some
    were left, kept once none was)."""
    guard = _guard()
    guard.track(["n2", "n3"])
    guard.on_write(b"k", b"v", False)
    guard.confirmed_by("n2")
    assert guard.touched == {b"k"} and guard.taken == {b"k"} and not guard.confirmed
    guard.confirmed_by("n3")
    assert guard.touched == set() and guard.taken == set() and guard.confirmed


def test_a_start_generation_names_the_store_it_started_on() -> None:
    """Two stores of other storage ids started by the same name, seed, time and
    incarnation (a replaced disk) get two tokens (session 29's mutants: the storage
    id's meta entry misnamed, read as absent); the token is 16 hex digits (mutant:
    17)."""
    one, other = MemoryStorage("always"), MemoryStorage("always")
    one.set_meta("storage-id", b"a")
    other.set_meta("storage-id", b"b")
    assert (start_generation(one, "n1", 1, 0.0, 1)
            != start_generation(other, "n1", 1, 0.0, 1))
    assert re.fullmatch(r"1\.[0-9a-f]{16}", start_generation(one, "n1", 1, 0.0, 1))
