"""Mutation gaps of :meth:`impl.replica.Replica.__init__` (session 34 added its
``prunes_copy`` hook): the mutants of the function's older lines that neither the
tests of session 34's selection nor the replica's own let live (docs/refinement.md,
"Session 34: the changed functions of antientropy, read_repair, retired,
versions"). A Replica built alone, as the lww floor tests build one: its defaults
must work without a node to set them.
"""

from __future__ import annotations

import collections

from impl.hints import HintStore
from impl.records import ClockMode, Record
from impl.replica import Replica
from impl.storage.memory import MemoryStorage
from impl.versions import CLIENT_FLOOR_META
from spec import dvv
from tests.impl.test_node_driver import make_config

KEY = b"cart"


def _replica(clock: str, storage: MemoryStorage | None = None, **changes: object) -> Replica:
    storage = MemoryStorage("always") if storage is None else storage
    return Replica("n1", make_config(3, clock=clock, **changes), storage,
                   HintStore(storage, collections.Counter()), lambda node: True)


def test_a_replica_built_alone_merges_with_its_own_counter_and_no_hooks() -> None:
    """No node set its hooks: a merge prunes nothing, calls no listener, and counts a
    record over ``max_siblings`` in the replica's own counter
    (``__init____mutmut_4``: no counter; ``_18``: the listener ``""``, called;
    ``_19``: ``prune`` None)."""
    replica = _replica("dvv", max_siblings=1)
    record = Record(ClockMode.DVV, dvvset=dvv.DVVSet.of(
        [("n8~000000000002", 1, [b"x"]), ("n9~000000000003", 1, [b"y"])]))
    assert replica.merge_into_local(KEY, record) == record
    assert replica.local_record(KEY) == record
    assert replica.stats["merged-over-limit"] == 1


def test_the_client_floor_is_read_back_in_client_vclock_alone() -> None:
    """``CLIENT_FLOOR_META`` is client-vclock's: read back at start there, 0 in the
    other modes (``__init____mutmut_24``: the test inverted; ``_23``: 1 where
    nothing was removed)."""
    for clock, floor in (("client-vclock", 7), ("lww", 0), ("dvv", 0)):
        storage = MemoryStorage("always")
        storage.set_meta(CLIENT_FLOOR_META, b"7")
        assert _replica(clock, storage).client_floor == floor


def test_without_a_clock_set_every_floor_is_kept() -> None:
    """lww, no node to set :attr:`Replica.clock`: it reads minus infinity, so a
    replica's floor is always ahead of it and kept (``__init____mutmut_31`` to
    ``_34``: no clock, or one answering None or failing)."""
    replica = _replica("lww")
    replica.adopt_lww_floor(KEY, 5.0)
    assert replica.lww_floors == {KEY: 5.0}
