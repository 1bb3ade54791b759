"""Tests for behaviours of :mod:`impl.node` that the third part of session 51's
mutmut run of the file (docs/refinement.md, "Mutation score of impl/node.py, third
part (session 51)") found no test for: each one kills the mutants its docstring
names (checked by hand in mutmut's copy: ``MUTANT_UNDER_TEST=NAME pytest`` exits 1,
and 0 with no mutant named). Deterministic: seeded nodes, injected time.
"""

from __future__ import annotations

import pytest

from impl.config import ClusterConfig
from impl.node import Node
from impl.storage.memory import MemoryStorage


@pytest.mark.parametrize(("guard", "epochs", "flushes"), [
    (False, False, 0), (False, True, 1), (True, False, 1), (True, True, 1)])
def test_a_start_flushes_its_store_once_at_most(guard: bool, epochs: bool,
                                                flushes: int) -> None:
    """A start on a buffered store (``MemoryStorage("buffered")``, which counts the
    flushes that made changes durable) flushes once where a crash could otherwise
    repeat what a peer hears: the lifetime actor before a dot is minted under it
    (:func:`impl.versions.lifetime_actor`, with ``actor_epochs``; the start count,
    written before it, is durable with it), else the start count before a peer hears
    the restore guard's generation (commit 18cd6d84); with neither, not at all: the
    start's direct writes wait for the node's first flush (``__init____mutmut_125``:
    ``restore_guard or not actor_epochs``, a second flush with both on and one with
    neither)."""
    storage = MemoryStorage("buffered")
    config = ClusterConfig(nodes=("n1", "n2", "n3"), n=3, r=2, w=2,
                           restore_guard=guard, actor_epochs=epochs)
    Node("n1", config, storage, seed=1, now=0.0)
    assert storage.flushes == flushes
    assert storage.get_meta("incarnation") == b"1"
    storage.crash()  # what a disk holds after the start: the count, once flushed
    assert storage.get_meta("incarnation") == (b"1" if flushes else None)
