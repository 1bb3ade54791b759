"""A put whose coordinator's commit failed (a full disk) answers outcome ``unknown``,
never ``not-written`` (session 13's probe B); since session 50 it is acknowledged
when W other replicas stored it (the coordinator's copy is one failed replica),
and the node says it is not ready (``/health``) until a write succeeds again.

Scenario (disk full): n1's data file on a 3 MB tmpfs, 100 KB puts at n1: once the
disk was full, 34 puts got 500 StorageError ``"outcome": "not-written"`` (retry
safe, nothing stored), yet every one of them was read back from n2: the
coordinator's ReplicaPuts leave while its own commit runs. The client library
retries elsewhere on ``not-written``, so each such put was written twice. Here the
full disk is n1's engine failing its commits."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest

from impl import errors
from tests.runtime.live import call, cluster, run, url


def test_a_put_whose_coordinator_could_not_commit_is_acknowledged_by_the_others(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            n1, n2 = servers[0], servers[1]
            assert n1.committer is not None
            engine = n1.committer.engine

            def full() -> None:
                engine.abort_batch()
                raise errors.StorageError("database or disk is full")

            monkeypatch.setattr(engine, "commit_batch", full)
            status, _, body = await call("PUT", url(n1, "/kv/k"), b"milk")
            # since session 50 n1's copy is one failed replica and n2's and n3's acks
            # meet W = 2: 200 (500 StorageError, outcome unknown, before)
            assert status == 200, body
            health = (await call("GET", url(n1, "/health")))[2]
            assert health["ready"] is False and "writes fail (database or disk is full" in (
                health["why_not_ready"]), health
            monkeypatch.undo()
            for _ in range(50):  # the ReplicaPuts may land after the 500
                status, _, got = await call("GET", url(n2, "/kv/k?r=2"))
                if status == 200:
                    break
                await asyncio.sleep(0.1)
            # the replicas hold it: "not-written" was false (before the fix)
            assert (status, [base64.b64decode(v) for v in got["values"]]) == (200, [b"milk"])
            status, _, _ = await call("PUT", url(n1, "/kv/k2"), b"tea")  # space again
            health = (await call("GET", url(n1, "/health")))[2]
            assert (status, health["ready"]) == (200, True), health
    run(scenario())
