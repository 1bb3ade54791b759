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

import threading
from pathlib import Path

from impl.effects import DeleteRecord, WriteMeta, WriteRecord
from impl.errors import StorageError
from impl.storage.group_commit import GroupCommit
from tests.impl.test_group_commit_small_first import BIG, Gated, Loop, _committer


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


class _Noting(Loop):
    """The loop, every report's error kept in order (``seen``)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[StorageError | None] = []

    def __call__(self, sequence: int, error: StorageError | None) -> None:
        with self.lock:
            self.seen.append(error)
        super().__call__(sequence, error)


class _Failing(Gated):
    """Commit ``fail`` (1-based) fails as a full disk's COMMIT does: rolled back."""

    fail = 0

    def commit_batch(self) -> None:
        if self.started + 1 == self.fail:
            self.started += 1
            self.abort_batch()
            raise StorageError("database or disk is full (test)")
        super().commit_batch()


def test_a_failed_reordered_batch_fails_its_submits_alone(tmp_path: Path) -> None:
    """Commit 2, the small write that passed the large one, fails: exactly its
    submit is reported failed, its value is gone from the overlay and the disk,
    the large one queued before it still commits (commit 3), and an answer about
    the small key held behind it is failed while one about another key is not.
    Mutant: ``waits_for`` ignoring ``among`` (the runtime's ``_durable`` then fails
    every answer still waiting): fails, the ack of ``b"y"`` failed with ``x``'s
    commit."""
    engine = _Failing(tmp_path / "a.sqlite")
    engine.fail = 2
    gate = threading.Event()
    engine.gates = {1: gate}
    loop = _Noting()
    committer = GroupCommit(engine, loop)
    committer.start()
    try:
        committer.submit([WriteRecord(b"L1", BIG)])  # commit 1, held
        large = committer.submit([WriteRecord(b"y", BIG)])
        about_y = (large, committer.skippable((b"y",)))  # an ack of y, held now
        small = committer.submit([WriteRecord(b"x", b"v")])
        about_x = (small, committer.skippable((b"x",)))  # an ack of x, held now
        gate.set()
        loop.until(committer, small)
        failed = [done for done, error in zip(loop.settled, loop.seen, strict=False)
                  if error is not None]
        assert failed == [frozenset({small})]
        assert committer.read(b"x") is None and committer.engine.read(b"x") is None
        assert committer.waits_for(*about_x, frozenset({small}))  # fails with it
        assert not committer.waits_for(*about_y, frozenset({small}))  # not
        assert committer.waits_for(*about_y)  # but still waits for y's commit
        loop.until(committer, large)
        assert committer.engine.read(b"y") == BIG and committer.pending == 0
    finally:
        gate.set()
        committer.close()
