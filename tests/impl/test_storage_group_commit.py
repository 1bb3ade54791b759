"""Group commit below the runtime: SqliteStorage's batch transaction and reader
connection, and GroupCommit's overlay, batching and reports (no sockets)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from impl.effects import AddHint, RemoveHint, WriteMeta, WriteRecord
from impl.errors import StorageError
from impl.storage.group_commit import GroupCommit
from impl.storage.sqlite import SqliteStorage
from impl.versions import ACTOR_META


def test_transaction_commits_all_or_nothing(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "a.sqlite")
    with storage.transaction():
        storage.write(b"a", b"1")
        storage.write(b"b", b"2")
    with pytest.raises(ValueError), storage.transaction():
        storage.write(b"c", b"3")
        storage.write("d", b"4")  # type: ignore[arg-type]  # refused: the batch goes
    storage.crash()
    assert dict(storage.scan()) == {b"a": b"1", b"b": b"2"}
    assert len(storage) == 2
    storage.close()


def test_reader_sees_only_commits(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "a.sqlite")
    storage.open_reader()
    storage.begin_batch()
    storage.write(b"k", b"v")
    assert storage.read(b"k") is None  # the batch is not committed
    storage.commit_batch()
    assert storage.read(b"k") == b"v"
    storage.begin_batch()
    storage.write(b"k", b"w")
    storage.abort_batch()
    assert storage.read(b"k") == b"v"
    storage.close()


class SlowCommit(SqliteStorage):
    """Each COMMIT takes ``delay`` seconds more (a slow fsync)."""

    delay = 0.05

    def commit_batch(self) -> None:
        time.sleep(self.delay)
        super().commit_batch()


class Reports:
    def __init__(self) -> None:
        self.got: list[tuple[int, StorageError | None]] = []
        self.event = threading.Event()

    def __call__(self, sequence: int, error: StorageError | None) -> None:
        self.got.append((sequence, error))
        self.event.set()

    def wait(self, committer: GroupCommit, sequence: int) -> None:
        """Settle every report (as the runtime's loop does) until ``sequence`` is."""
        deadline = time.monotonic() + 10
        while committer.durable < sequence:
            assert self.event.wait(max(0.0, deadline - time.monotonic())), "no report"
            self.event.clear()
            for done, _ in list(self.got):
                committer.settle(done)


def test_overlay_batches_and_reports(tmp_path: Path) -> None:
    reports = Reports()
    committer = GroupCommit(SlowCommit(tmp_path / "a.sqlite"), reports)
    committer.start()
    try:
        first = committer.submit([WriteRecord(b"k0", b"v0")])
        # while the first COMMIT sleeps, the next ten queue and share one commit
        sequences = [committer.submit([WriteRecord(f"k{i}".encode(), f"v{i}".encode()),
                                       WriteMeta("m", str(i).encode())]) for i in range(1, 11)]
        assert sequences == list(range(2, 12)) and first == 1
        assert committer.read(b"k5") == b"v5"  # read back from the overlay at once
        assert committer.engine.read(b"k5") is None  # not committed yet
        assert committer.get_meta("m") == b"10"
        assert committer.pending == 11
        reports.wait(committer, 11)
        assert [error for _, error in reports.got] == [None] * len(reports.got)
        assert committer.commits == 2  # 11 submits, 2 fsyncs
        assert committer.pending == 0
        assert committer.engine.read(b"k5") == b"v5"  # now from SQLite
        assert committer.get_meta("m") == b"10"
        assert [key for key, _ in committer.scan()] == [
            key for key, _ in committer.engine.scan()]
    finally:
        committer.close()


def test_hints_through_the_committer(tmp_path: Path) -> None:
    reports = Reports()
    committer = GroupCommit(SqliteStorage(tmp_path / "a.sqlite"), reports)
    committer.start()
    try:
        reports.wait(committer, committer.submit([AddHint("n2", b"k", b"r")]))
        (hint,) = committer.hints()
        sequence = committer.submit([RemoveHint(hint.hint_id)])
        assert committer.hints() == [] and committer.get_hint(hint.hint_id) is None
        reports.wait(committer, sequence)
        assert committer.engine.hints() == []
    finally:
        committer.close()


def test_a_failed_commit_is_reported_and_leaves_the_overlay(tmp_path: Path) -> None:
    class Failing(SqliteStorage):
        def commit_batch(self) -> None:
            self.abort_batch()
            raise StorageError("disk full")

    reports = Reports()
    committer = GroupCommit(Failing(tmp_path / "a.sqlite"), reports)
    committer.start()
    try:
        sequence = committer.submit([WriteRecord(b"k", b"v")])
        assert committer.read(b"k") == b"v"
        reports.wait(committer, sequence)
        assert isinstance(reports.got[-1][1], StorageError)
        assert committer.read(b"k") is None
    finally:
        committer.close()


def test_close_commits_what_is_queued(tmp_path: Path) -> None:
    committer = GroupCommit(SlowCommit(tmp_path / "a.sqlite"), Reports())
    committer.start()
    committer.submit([WriteRecord(b"a", b"1")])
    committer.submit([WriteRecord(b"b", b"2")])  # queued behind the running commit
    committer.close()
    with pytest.raises(StorageError):
        committer.submit([WriteRecord(b"c", b"3")])
    storage = SqliteStorage(tmp_path / "a.sqlite")
    assert dict(storage.scan()) == {b"a": b"1", b"b": b"2"}
    storage.close()


def test_fresh_lifetime_hides_the_kept_actor(tmp_path: Path) -> None:
    engine = SqliteStorage(tmp_path / "a.sqlite")
    engine.set_meta(ACTOR_META, b"n1~old")
    kept = GroupCommit(engine, Reports())
    assert kept.get_meta(ACTOR_META) == b"n1~old"
    fresh = GroupCommit(engine, Reports(), fresh_lifetime=True)
    assert fresh.get_meta(ACTOR_META) is None
    fresh.set_meta(ACTOR_META, b"n1~new")
    assert fresh.get_meta(ACTOR_META) == b"n1~new"
    fresh.close()
