"""A group commit that succeeds while another input's writes are queued behind it
reports nothing durable: the queued put keeps no own ack through its own commit's
failure (session 51, the second review of the reviewers' fixes; docs/runtime.md
"Review of the reviewers' fixes (session 51, review)").

s51-revspec's :meth:`impl.node.Node.writes_durable` lets a put whose own write
the driver reported durable keep its own ack when a later write fails
(:attr:`impl.put_coordinator.PutCoordination.own_durable`). With group commit the
runtime reports it in ``NodeServer._durable`` only when no submit is pending
(``committer.pending == 0``, read after :meth:`impl.storage.group_commit.
GroupCommit.settle` started the next batch). Reported at every successful commit
instead, a put whose own write is still queued would be marked durable, keep
its own ack when its commit fails, and be acknowledged 200 with the
coordinator's copy rolled back: an acknowledged write lost.

Scenario (one loop, three nodes, N = 3, W = 2, anti-entropy off): n1's commit of
``ka`` is held open on its writer thread; a put of ``kb`` at n1 queues its own
copy behind it, its ReplicaPuts leave at once (``early_replica_puts``); n2's
commit of ``kb`` (so its ack) waits; n3's disk is full (every commit fails).
``ka``'s commit is released and succeeds, ``kb``'s then fails; only then n2
acknowledges ``kb``. Right: n1's and n3's copies failed, W = 2 cannot be met:
503 naming n1's own write. Mutant (checked by hand, session 51 second review:
``and self.committer.pending == 0`` removed from ``NodeServer._durable``): 200
with n2's copy alone (n1 holds no ``kb``)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from impl import errors
from impl.effects import WriteRecord
from tests.runtime.live import call, cluster, run, url


def _holds(writes: list[Any], key: bytes) -> bool:
    return any(isinstance(write, WriteRecord) and write.key == key for write in writes)


def test_a_put_queued_behind_a_successful_commit_loses_its_own_ack_when_its_commit_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    release_a, n2_go = threading.Event(), threading.Event()

    async def scenario() -> tuple[int, dict[str, Any], bool, bool]:
        async with cluster(tmp_path, request_timeout=3.0, anti_entropy=False) as servers:
            n1, n2, n3 = servers
            committer, replica, third = n1.committer, n2.committer, n3.committer
            assert committer is not None and replica is not None and third is not None
            sequences: dict[bytes, int] = {}
            failed: list[int] = []
            n2_sequences: list[int] = []
            submit, commit = committer.submit, committer._commit
            n2_submit, n2_commit = replica.submit, replica._commit

            def noting(writes: list[Any]) -> int:
                for key in (b"ka", b"kb"):  # noted before submit: its commit may run first
                    if _holds(writes, key) and key not in sequences:
                        sequences[key] = committer.submitted + 1
                return submit(writes)

            def n1_commits(sequence: int, error: errors.StorageError | None) -> None:
                if b"ka" in sequences and sequence >= sequences[b"ka"] and not release_a.is_set():
                    release_a.wait(20)  # ka's commit held open, then it succeeds
                elif b"kb" in sequences and sequence >= sequences[b"kb"] and not failed:
                    failed.append(sequence)  # the batch holding n1's copy of kb fails
                    committer.engine.abort_batch()
                    committer._on_durable(sequence, errors.StorageError("disk is full"))
                    return
                commit(sequence, error)

            def n2_noting(writes: list[Any]) -> int:
                if _holds(writes, b"kb") and not n2_sequences:
                    n2_sequences.append(replica.submitted + 1)
                return n2_submit(writes)

            def n2_commits(sequence: int, error: errors.StorageError | None) -> None:
                if n2_sequences and sequence >= n2_sequences[0]:
                    n2_go.wait(20)  # n2's ack of kb waits for n1's failure
                n2_commit(sequence, error)

            def full() -> None:
                third.engine.abort_batch()
                raise errors.StorageError("disk is full")

            monkeypatch.setattr(committer, "submit", noting)
            monkeypatch.setattr(committer, "_commit", n1_commits)
            monkeypatch.setattr(replica, "submit", n2_noting)
            monkeypatch.setattr(replica, "_commit", n2_commits)
            monkeypatch.setattr(third.engine, "commit_batch", full)
            put_a = asyncio.ensure_future(call("PUT", url(n1, "/kv/ka"), b"tea"))
            for _ in range(300):  # ka's commit open at n1
                if b"ka" in sequences and committer.pending:
                    break
                await asyncio.sleep(0.01)
            put_b = asyncio.ensure_future(call("PUT", url(n1, "/kv/kb"), b"milk"))
            for _ in range(300):  # kb's own copy queued behind it
                if b"kb" in sequences and committer.submitted >= sequences[b"kb"]:
                    break
                await asyncio.sleep(0.01)
            queued = b"kb" in sequences and committer.durable < sequences[b"kb"]
            release_a.set()  # ka commits; kb's batch starts, and fails
            for _ in range(300):
                if failed and committer.pending == 0:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)  # n1's loop took the failure
            n2_go.set()  # n2 commits kb and acknowledges it
            status, _, body = await put_b
            await put_a
            monkeypatch.undo()
            return status, body, queued, n1.storage.read(b"kb") is not None

    try:
        status, body, queued, at_n1 = run(scenario(), 60)
    finally:
        release_a.set()
        n2_go.set()
    assert queued  # kb's own copy was queued behind ka's open commit
    assert not at_n1  # its commit failed: n1 holds no kb
    assert status == 503 and body["error"] == "QuorumError", (status, body)
    assert "n1 (this node's own write): disk is full" in body["message"], body
