"""A put of a key right after that key's reap, both behind a large commit, in the
in-process runtime (session 57's review of the group-commit reorder).

n1's commit holding ``big1`` (100 KB) waits at a gate; queued behind it: ``big2``
(100 KB), then a reap's writes as the client-vclock and lww modes submit them (the
key's removal with a meta write: ``Replica.reap``), then a put of the same key
through n1. The put's answer waits for the reap's commit (a submit with a meta write
is never skipped) and is 200; n1's disk must then hold the put's value.

Before the review's fix (``GroupCommit._batch`` took a left-behind submit's keys
from its key-only set, None for a submit with a meta write): the put's write passed
the reap, was committed first, and the reap then deleted it: answered 200, gone from
n1's disk (``x`` read back None). The fix reverted is the mutant; it fails so.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from impl import errors
from impl.effects import DeleteRecord, WriteMeta, WriteRecord
from tests.runtime.live import call, cluster, run, url

BIG = b"b" * 100_000


def test_a_put_after_its_keys_reap_is_not_deleted_by_it_on_disk(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = threading.Event()

    async def scenario() -> tuple[int, int, bytes | None]:
        async with cluster(tmp_path, request_timeout=5.0) as servers:
            n1 = servers[0]
            committer = n1.committer
            assert committer is not None
            commit = committer._commit
            status, _, _ = await call("PUT", url(n1, "/kv/x"), b"old")
            assert status == 200
            held: list[int] = []
            big1_at: list[int] = []
            put_seen: list[int] = []

            def gating(sequence: int, error: errors.StorageError | None) -> None:
                if big1_at and big1_at[0] in committer._batches.get(sequence, frozenset()):
                    held.append(sequence)
                    first.wait(20)
                commit(sequence, error)

            monkeypatch.setattr(committer, "_commit", gating)
            submit = committer.submit

            def noting(writes: list[Any]) -> int:
                if any(isinstance(w, WriteRecord) and w.key == b"big1" for w in writes):
                    big1_at.append(committer.submitted + 1)
                if any(isinstance(w, WriteRecord) and w.key == b"x" for w in writes):
                    put_seen.append(committer.submitted + 1)
                return submit(writes)

            monkeypatch.setattr(committer, "submit", noting)
            big1 = asyncio.ensure_future(call("PUT", url(n1, "/kv/big1"), BIG))
            for _ in range(500):
                if held:
                    break
                await asyncio.sleep(0.01)
            assert held, "big1's commit was not held"
            committer.submit([WriteRecord(b"big2", BIG)])
            committer.submit([DeleteRecord(b"x"), WriteMeta("review57-floor", b"1")])
            put = asyncio.ensure_future(call("PUT", url(n1, "/kv/x"), b"new"))
            for _ in range(500):  # the put's write queued behind the reap's
                if put_seen:
                    break
                await asyncio.sleep(0.01)
            assert put_seen, "the put's write was not submitted within 5 s"
            first.set()
            (big1_status, _, _), (put_status, _, _) = await asyncio.wait_for(
                asyncio.gather(big1, put), 15)
            for _ in range(500):
                if committer.pending == 0:
                    break
                await asyncio.sleep(0.01)
            monkeypatch.undo()
            return big1_status, put_status, committer.engine.read(b"x")

    try:
        big1, put, on_disk = run(scenario(), 60)
    finally:
        first.set()
    assert (big1, put) == (200, 200)
    assert on_disk is not None, "the put was answered, then deleted on disk by the reap"
