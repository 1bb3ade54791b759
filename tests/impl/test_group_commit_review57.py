"""Group commit's small-first reorder: the session 57 review's faults.

A submit that is not of key writes alone (a meta write with a record: a reap's
``DeleteRecord`` with ``CLIENT_FLOOR_META``, a ReplicaPut raising
``RECORD_BOUNDS_META``) left behind a large submit did not put its keys among the
keys left behind (``behind |= keys or set()``, ``keys`` None for it), so a later
small write of the same key passed it: committed first, then overwritten on disk by
the older write (a put's value acknowledged, then gone: a reap landing after the put
that followed it).

Mutant: the fix in ``GroupCommit._batch`` reverted (``behind |= keys or set()``):
``test_a_key_written_by_a_mixed_submit_left_behind_stays_behind`` fails, the later
``b"new"`` committed alone in commit 2 and ``None`` read back at the end.
"""

from __future__ import annotations

from pathlib import Path

from impl.effects import DeleteRecord, WriteMeta, WriteRecord
from tests.impl.test_group_commit_small_first import BIG, _committer


def test_a_key_written_by_a_mixed_submit_left_behind_stays_behind(tmp_path: Path) -> None:
    with _committer(tmp_path, 1) as (committer, _, loop, (first,)):
        committer.submit([WriteRecord(b"L1", BIG)])  # commit 1, held
        committer.submit([WriteRecord(b"x", b"old")])
        large = committer.submit([WriteRecord(b"L2", BIG)])  # queued
        reap = committer.submit([DeleteRecord(b"x"), WriteMeta("floor", b"7")])  # mixed
        put = committer.submit([WriteRecord(b"x", b"new")])  # the put after the reap
        assert committer.read(b"x") == b"new"
        first.set()
        loop.until(committer, put)
        loop.until(committer, large)
        assert committer.pending == 0
        assert committer.engine.read(b"x") == b"new"  # the later write is what is kept
        assert not any(put in done and reap not in done
                       for done in loop.settled), loop.settled  # never before the reap
