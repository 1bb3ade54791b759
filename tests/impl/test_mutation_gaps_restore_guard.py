"""impl.restore_guard: the behaviours mutmut found no test for (docs/refinement.md,
"Session 29: put coordinator, node, restore guard")."""

from __future__ import annotations

from impl.restore_guard import RestoreGuard, ShadowState
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
    ones that answered."""
    shadow = ShadowState(["n3", "n2"], 1.0)
    shadow.waiting.discard("n2")  # n2 answered
    shadow.ask(["n4", "n2"])
    assert shadow.asked == ("n2", "n3", "n4")
    assert shadow.waiting == {"n3", "n4"}
