"""Behaviours session 57's mutation runs of ``impl/context.py``,
``impl/get_coordinator.py``, ``impl/versions.py`` and ``impl/put_coordinator.py``
found no test pinned (issue 12, section 5; docs/refinement.md, "Mutation rows:
context, get/put coordinators, versions (session 57)"). Each test names the mutmut
mutants it kills (mutmut 3.8.1's numbering on the source of this session)."""

from __future__ import annotations

import pytest

from impl import context, versions
from impl.storage.memory import MemoryStorage


def test_the_keyed_hmac_is_kept_while_the_secret_stays() -> None:
    """``_tag__mutmut_1``, ``_2`` (``keyed = None``, ``if _keyed and False``: the kept
    HMAC never read, each tag keyed anew; the same tags, so
    ``test_the_context_tag_is_hmac_sha256`` passes, but the session-55 saving, 1.3
    against 1.9 us a tag, is gone): two tags under one secret copy the same kept
    HMAC; another secret replaces it. ``_3`` (``if _keyed or True``: ``_keyed[0]``
    of the empty list, an IndexError at a process's first tag; mutmut's forked child
    inherits a filled cache, so no test saw it): the first tag with nothing kept."""
    context._keyed.clear()
    context._tag(b"s57 secret", b"k", b"body")
    kept = context._keyed[0]
    assert context._tag(b"s57 secret", b"k2", b"other") == context._tag(b"s57 secret", b"k2",
                                                                       b"other")
    assert context._keyed[0] is kept
    context._tag(b"another secret", b"k", b"body")
    assert context._keyed[0] is not kept and context._keyed[0][0] == b"another secret"


@pytest.mark.parametrize(("stored", "rank"), [
    (None, 0), (b"12a", 0), (b"7001", 7001),
    (b"1" + b"0" * 18, 10 ** 18), (b"%d" % (2 ** 62 - 1), 2 ** 62 - 1),
    (b"%d" % 2 ** 62, 0), (b"9" * 19, 0)])
def test_the_stored_rank_is_trusted_below_two_to_the_62(stored: bytes | None,
                                                        rank: int) -> None:
    """``_stored_rank__mutmut_11`` (``len(raw) < 19``: a 19-digit rank, 10**18 and up,
    read as none though below the bound), ``_16`` (``rank <= 2**62``: the bound itself
    trusted), ``_17`` (an untrusted rank read as 1, not none): ``RANK_META`` read
    alone (the lifetime tests start from small ranks, and a count of 1 or more hides
    the 1)."""
    storage = MemoryStorage("always")
    if stored is not None:
        storage.set_meta(versions.RANK_META, stored)
    assert versions._stored_rank(storage) == rank
