"""Behaviours session 57's mutation runs of ``impl/context.py``,
``impl/get_coordinator.py``, ``impl/versions.py`` and ``impl/put_coordinator.py``
found no test pinned (issue 12, section 5; docs/refinement.md, "Mutation rows:
context, get/put coordinators, versions (session 57)"). Each test names the mutmut
mutants it kills (mutmut 3.8.1's numbering on the source of this session)."""

from __future__ import annotations

from impl import context


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
