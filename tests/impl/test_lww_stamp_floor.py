"""The lww stamp floor a reap leaves (session 24; docs/runtime.md, "Session 24's
data probe"): a tombstone reaped while stamped ahead of the node's clock leaves
its stamp, which a put of the key coordinated there is stamped above, persisted
with the removal, and dropped once the clock passed it. The end-to-end fault it
closes: tests/impl/test_lww_stale_reap_round.py (a late copy of the delete)."""

from __future__ import annotations

import collections

from impl import versions
from impl.hints import HintStore
from impl.replica import Replica
from impl.storage.memory import MemoryStorage
from impl.versions import TOMBSTONE, ClockMode, Record, lww_after
from spec.vclock import VClock
from tests.impl.test_node_driver import make_config

KEY = b"cart"


def _replica(storage: MemoryStorage, clock: float, margin: float = 0.0) -> Replica:
    """A replica of n1 (lww) whose clock reads ``clock``. ``margin``:
    ``lww_floor_margin_s``, 0 here (a floor only while ahead of the clock, the rule
    these tests were written for in sessions 24-25; session 26's default keeps it
    60 s more: ``test_lww_floor_review.py``)."""
    replica = Replica("n1", make_config(3, clock="lww", lww_floor_margin_s=margin), storage,
                      HintStore(storage, collections.Counter()), lambda node: True)
    replica.clock = lambda: clock
    return replica


def _reap(replica: Replica, value: bytes, stamp: float) -> None:
    record = versions.apply_put(Record.empty(ClockMode.LWW), VClock(), value, coordinator="n2",
                                client_id="", now=stamp)
    replica.store(KEY, versions.encode_record(record))
    replica.reap(KEY)


def test_a_tombstone_reaped_ahead_of_the_clock_floors_the_keys_next_stamp() -> None:
    storage = MemoryStorage("always")  # type: ignore[arg-type]
    replica = _replica(storage, 100.0)
    _reap(replica, TOMBSTONE, 130.0)
    assert replica.lww_now(KEY, 100.0) == lww_after(130.0)
    assert replica.lww_now(b"other", 100.0) == 100.0  # per key
    assert replica.lww_now(KEY, 140.0) == 140.0  # a later clock stamps above anyway


def test_the_floor_survives_a_restart_and_goes_once_the_clock_passed_it() -> None:
    storage = MemoryStorage("always")  # type: ignore[arg-type]
    _reap(_replica(storage, 100.0), TOMBSTONE, 130.0)
    again = _replica(storage, 100.0)
    assert again.lww_now(KEY, 120.0) == lww_after(130.0)
    assert again.lww_now(KEY, 131.0) == 131.0
    assert again.lww_floors == {}
    assert _replica(storage, 100.0).lww_now(KEY, 120.0) == 120.0  # dropped for good


def test_no_floor_for_a_tombstone_behind_the_clock_nor_for_a_live_copy() -> None:
    storage = MemoryStorage("always")  # type: ignore[arg-type]
    replica = _replica(storage, 100.0)
    _reap(replica, TOMBSTONE, 90.0)
    _reap(replica, b"milk", 130.0)  # a let-go: the new owners hold the copy
    assert replica.lww_floors == {}
    assert storage.get_meta(versions.LWW_FLOORS_META) is None
