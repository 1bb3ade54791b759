"""impl.hints: the behaviours mutmut found no test for (docs/refinement.md,
"Session 28: forwarding and hints").

Session 27 gave :class:`~impl.hints.HintStore` a count of the hints kept per key
(:meth:`~impl.hints.HintStore.holds`, read by the gossiper: an outsider's handed
copy stays while a hint of its key is kept). Only cluster tests reached it; these
drive the store alone, over a :class:`~impl.storage.memory.MemoryStorage`."""

from __future__ import annotations

import collections

from impl.hints import HintStore
from impl.storage.memory import MemoryStorage


def _store() -> tuple[HintStore, MemoryStorage]:
    storage = MemoryStorage("always")
    return HintStore(storage, collections.Counter()), storage


def _id_of(storage: MemoryStorage, intended: str, key: bytes) -> int:
    (hint_id,) = [h.hint_id for h in storage.hints() if (h.intended, h.key) == (intended, key)]
    return hint_id


def test_a_key_is_held_while_any_of_its_hints_is_kept_and_no_longer() -> None:
    """``add__mutmut_24`` to ``_26`` (the per-key count set to 1, decremented, or
    raised by 2 on an add), ``remove__mutmut_17`` to ``_19`` (set to 1, raised, or
    lowered by 2 on a remove), ``holds__mutmut_1``, ``_2`` (``>= 0``, ``> 1``)."""
    hints, storage = _store()
    assert not hints.holds(b"cart")  # nothing kept: not held
    hints.add("n2", b"cart", b"r1")
    assert hints.holds(b"cart") and not hints.holds(b"milk")
    hints.add("n3", b"cart", b"r1")  # the same key for another node
    hints.add("n2", b"cart", b"r2")  # and another record for the same node
    hints.add("n2", b"milk", b"r1")
    for intended, record in (("n3", b"r1"), ("n2", b"r2")):
        (hint_id,) = [h.hint_id for h in storage.hints()
                      if (h.intended, h.key, h.record) == (intended, b"cart", record)]
        hints.remove(hint_id)
        assert hints.holds(b"cart")  # one of its hints still kept
    hints.remove(_id_of(storage, "n2", b"cart"))
    assert not hints.holds(b"cart")  # the last one gone
    assert hints.holds(b"milk")
    hints.remove(_id_of(storage, "n2", b"milk"))
    assert not hints.holds(b"milk")
    hints.add("n2", b"cart", b"r1")  # kept again: held again
    assert hints.holds(b"cart")


def test_a_store_built_over_kept_hints_counts_each_keys_hints() -> None:
    """``_per_key__mutmut_2``, ``_3`` (a key's count set to, or lowered by, one
    target's): a store built over an engine that keeps two hints of a key (a
    restart) let the key go at the first removal, or never held it."""
    storage = MemoryStorage("always")
    for intended, record in (("n2", b"r1"), ("n3", b"r1"), ("n2", b"r2")):
        storage.add_hint(intended, b"cart", record)
    hints = HintStore(storage, collections.Counter())
    assert hints.holds(b"cart")
    for hint in storage.hints()[:2]:
        hints.remove(hint.hint_id)
        assert hints.holds(b"cart")
    hints.remove(storage.hints()[0].hint_id)
    assert not hints.holds(b"cart")
    storage.add_hint("n2", b"cart", b"r1")  # behind the store's back, then reloaded
    storage.add_hint("n4", b"cart", b"r1")
    hints.reload()
    hints.remove(storage.hints()[0].hint_id)
    assert hints.holds(b"cart")


def test_an_unknown_hint_has_no_intended_node() -> None:
    """``intended__mutmut_3``: an id no hint has (a duplicated HintAck) raised."""
    hints, storage = _store()
    hints.add("n2", b"cart", b"r1")
    (hint_id,) = [h.hint_id for h in storage.hints()]
    assert hints.intended(hint_id) == "n2"
    assert hints.intended(hint_id + 1) is None and hints.get(hint_id + 1) is None


def test_a_page_of_hint_heads_starts_after_the_id_given() -> None:
    """``heads__mutmut_1`` (every page from the first hint): the gossiper's paging
    loop never ended (a timeout of the run)."""
    hints, storage = _store()
    for key in (b"a", b"b", b"c"):
        hints.add("n2", key, b"r1")
    ids = [h.hint_id for h in storage.hints()]
    assert [hint_id for hint_id, _, _ in hints.heads(None, 2)] == ids[:2]
    assert hints.heads(ids[1], 2) == [(ids[2], "n2", b"c")]  # (id, intended, key)
    assert hints.heads(ids[2], 2) == []


def test_the_index_forgets_every_removed_hint_and_key() -> None:
    """``remove__mutmut_15`` and ``_20`` (session 46; ``< 0`` for ``<= 0``: a target's or
    a key's last hint removed left a 0 entry in the in-memory index, read as not kept,
    so no answer changed, but the index grew by an entry per hint ever kept until the
    next ``reload``). The index is bounded by the hints kept: empty once none is."""
    hints, storage = _store()
    for n in range(3):
        hints.add("n2", b"key%d" % n, b"r1")
        hints.add("n3", b"key%d" % n, b"r2")
    for hint in storage.hints():
        hints.remove(hint.hint_id)
    assert not any(hints.holds(b"key%d" % n) for n in range(3))
    assert list(hints._kept) == [] and list(hints._keys) == []
