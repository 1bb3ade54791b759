"""Group commit: small submits committed before a large one queued earlier (session 57).

Before, a commit took every submit queued: a 100-byte write queued behind a 100 KB
one waited for that write's statements, WAL pages and fsync, and the runtime held its
acknowledgement until every submit before it was durable (a prefix). Now a large
submit (``LARGE_SUBMIT_BYTES`` of records, nothing but key writes) is committed after
the small key writes queued behind it, at most once; a small write of a key a submit
left behind writes stays behind it (same-key order), and so do meta writes.

Commits are held at a gate (``Gated``) so that the order is causal, not timed.

Mutants checked to fail (docs/runtime.md, session 57): ``_batch`` taking the whole
queue (the old rule: the first test, ``reordered`` 0 and ``b"s"`` not durable while the
large one waits); the same-key rule dropped (``not behind.isdisjoint(keys)`` removed:
the second test, the later small value of ``b"L2"`` committed before the large one and
then overwritten by it, ``b"big"`` read back); the pass-once rule dropped (``at not in
self._passed`` removed: the third test, the large submit left behind a second time);
``skippable`` naming a large submit that writes the key (the first test).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from impl.effects import WriteMeta, WriteRecord
from impl.errors import StorageError
from impl.storage.group_commit import LARGE_SUBMIT_BYTES, GroupCommit
from impl.storage.sqlite import SqliteStorage

BIG = b"x" * LARGE_SUBMIT_BYTES


class Gated(SqliteStorage):
    """Each COMMIT waits for its turn: the n-th waits until ``gates[n]`` is set (a
    gate not made: at once), at most 10 s."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gates: dict[int, threading.Event] = {}
        self.started = 0

    def commit_batch(self) -> None:
        self.started += 1
        gate = self.gates.get(self.started)
        if gate is not None:
            assert gate.wait(10), "a gated commit was never let go"
        super().commit_batch()


class Loop:
    """The runtime's side: each report settled, in turn, on the test's thread."""

    def __init__(self) -> None:
        self.reports: list[tuple[int, StorageError | None]] = []
        self.lock = threading.Lock()
        self.settled: list[frozenset[int]] = []

    def __call__(self, sequence: int, error: StorageError | None) -> None:
        with self.lock:
            self.reports.append((sequence, error))

    def until(self, committer: GroupCommit, durable: int) -> None:
        """Settle reports until submit ``durable`` is settled (10 s at most)."""
        deadline = time.monotonic() + 10
        while any(durable in done for done in self.settled) is False:
            assert time.monotonic() < deadline, f"submit {durable} never settled"
            with self.lock:
                reports, self.reports = self.reports, []
            for sequence, _ in reports:
                self.settled.append(committer.settle(sequence))
            time.sleep(0.002)


@contextlib.contextmanager
def _committer(tmp_path: Path, *gated: int
               ) -> Iterator[tuple[GroupCommit, Gated, Loop, list[threading.Event]]]:
    """A committer whose commits numbered ``gated`` wait for their gates (returned
    in that order); every gate set and the committer closed at the end."""
    engine = Gated(tmp_path / "a.sqlite")
    gates = [threading.Event() for _ in gated]
    engine.gates = dict(zip(gated, gates, strict=True))
    loop = Loop()
    committer = GroupCommit(engine, loop)
    committer.start()
    try:
        yield committer, engine, loop, gates
    finally:
        for gate in gates:
            gate.set()
        committer.close()


def test_a_small_write_commits_before_a_large_one_queued_earlier(tmp_path: Path) -> None:
    with _committer(tmp_path, 1, 3) as (committer, _, loop, (first, third)):
        running = committer.submit([WriteRecord(b"L1", BIG)])  # commit 1, held
        large = committer.submit([WriteRecord(b"L2", BIG)])  # queued
        small = committer.submit([WriteRecord(b"s", b"v")])  # queued behind it
        assert committer.skippable((b"s",)) == frozenset({running, large})
        assert committer.skippable((b"L2",)) == frozenset({running})
        first.set()
        loop.until(committer, small)  # commit 2: the small write alone
        assert loop.settled == [frozenset({running}), frozenset({small})]
        assert committer.engine.read(b"s") == b"v"  # durable
        assert committer.engine.read(b"L2") is None  # still waiting (commit 3, held)
        assert committer.read(b"L2") == BIG  # from the overlay meanwhile
        assert committer.reordered == 1 and committer.pending == 1
        assert committer.durable == running  # the prefix: the large one is not
        assert not committer.waits_for(small, frozenset({large}))  # s's answer goes
        assert committer.waits_for(small, frozenset())  # an answer about anything waits
        third.set()
        loop.until(committer, large)
        assert committer.engine.read(b"L2") == BIG and committer.pending == 0


def test_writes_of_a_key_and_meta_writes_stay_behind_the_large_one(tmp_path: Path) -> None:
    with _committer(tmp_path, 1) as (committer, _, loop, (first,)):
        committer.submit([WriteRecord(b"L1", BIG)])
        large = committer.submit([WriteRecord(b"L2", b"big" + BIG)])
        same = committer.submit([WriteRecord(b"L2", b"small")])  # the same key: after
        meta = committer.submit([WriteMeta("m", b"1")])  # not a key write: after
        other = committer.submit([WriteRecord(b"s", b"v")])  # passes
        first.set()
        loop.until(committer, other)
        assert loop.settled[1] == frozenset({other})
        loop.until(committer, meta)
        assert loop.settled[2] == frozenset({large, same, meta})
        assert committer.engine.read(b"L2") == b"small"  # the later value kept
        assert committer.engine.get_meta("m") == b"1"


def test_a_large_write_is_passed_once(tmp_path: Path) -> None:
    with _committer(tmp_path, 1, 2) as (committer, engine, loop, (first, second)):
        committer.submit([WriteRecord(b"L1", BIG)])
        large = committer.submit([WriteRecord(b"L2", BIG)])
        small = committer.submit([WriteRecord(b"s1", b"v")])
        first.set()  # commit 2: s1 alone, held
        deadline = time.monotonic() + 10
        while engine.started < 2:
            assert time.monotonic() < deadline
            loop.until(committer, 1)
            time.sleep(0.002)
        later = committer.submit([WriteRecord(b"s2", b"v")])  # queued with L2 now
        second.set()
        loop.until(committer, later)
        assert loop.settled[1:] == [frozenset({small}), frozenset({large, later})]


def test_skippable_names_only_large_writes_of_other_keys(tmp_path: Path) -> None:
    with _committer(tmp_path, 1) as (committer, _, _, _):
        large = committer.submit([WriteRecord(b"a", BIG), WriteRecord(b"b", b"1")])
        small = committer.submit([WriteRecord(b"c", b"1")])
        meta = committer.submit([WriteRecord(b"d", BIG), WriteMeta("m", b"1")])
        assert committer.skippable((b"c",)) == frozenset({large})
        assert committer.skippable((b"b",)) == frozenset()  # a's submit writes b too
        assert committer.skippable((b"a", b"z")) == frozenset()
        assert small not in committer.skippable((b"z",))  # small: never skipped
        assert meta not in committer.skippable((b"z",))  # with a meta write: never
