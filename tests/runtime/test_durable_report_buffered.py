"""A buffered engine's write performed is not durable: a later failed write that
rolls back the open batch takes the coordinator's own copy with it, so the put
keeps no own ack (session 51, the second review of the reviewers' fixes;
docs/runtime.md "Review of the reviewers' fixes (session 51, review)").

s51-revspec's :meth:`impl.node.Node.writes_durable` is reported by the runtime
without a group committer after every persist with no error. With
``fsync = "buffered"`` (no committer: :class:`impl.runtime.NodeServer`) a write
performed is one change of SQLite's open batch, committed every ``batch`` changes;
a failed write may roll the whole batch back (SQLITE_FULL, SQLITE_IOERR: the
engine's ``_mutation`` recounts when ``not conn.in_transaction``). Reported durable,
the put whose own copy the rollback took kept its own ack, and W others were
short of it: 200 with one real copy at W = 2.

Scenario (one loop, three nodes, N = 3, W = 2, buffered): n1 coordinates ``kb``;
n3's write of ``kb`` fails (ReplicaPutFailed), n2's ack is held back 1 s; then
n1's write of ``kc`` fails and rolls back n1's batch (``kb`` with it). Right: n1's
and n3's copies failed, 503. On main: 200 once n2 acks, n1 holding no ``kb``
(seen). Fixed in :meth:`impl.node.Node.writes_durable` (ignored on a buffered
engine); the mutant is main's code, the guard removed."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from impl import errors
from impl.effects import Effect, Send
from impl.messages import ReplicaPutAck
from impl.runtime_config import StorageSettings
from impl.serve import serve
from impl.storage.sqlite import SqliteStorage
from tests.runtime.live import call, run, runtime_config, settled, url


def test_a_buffered_write_rolled_back_by_a_later_failure_leaves_no_own_ack(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    async def scenario() -> tuple[int, dict[str, Any], int, bool]:
        config = dataclasses.replace(runtime_config(tmp_path, request_timeout=3.0,
                                                    anti_entropy=False),
                                     storage=StorageSettings(fsync="buffered"))
        servers = await serve(config, tuple(config.nodes))
        try:
            await settled(servers)
            n1, n2, n3 = servers
            assert n1.committer is None  # buffered: written on the loop
            engine, third = n1.storage.inner, n3.storage.inner  # type: ignore[attr-defined]
            assert isinstance(engine, SqliteStorage) and isinstance(third, SqliteStorage)
            write, third_write, n2_perform = engine.write, third.write, n2._perform_one
            delayed: list[Effect] = []

            def rolling_back(key: bytes, record: bytes) -> None:
                if key == b"kc":  # a full disk: SQLite rolls the open batch back
                    engine._connection().rollback()
                    raise errors.StorageError("disk is full")
                write(key, record)

            def full(key: bytes, record: bytes) -> None:
                if key == b"kb":
                    raise errors.StorageError("disk is full")
                third_write(key, record)

            def holding(effect: Effect) -> None:
                if (isinstance(effect, Send) and isinstance(effect.message, ReplicaPutAck)
                        and effect.message.key == b"kb" and not delayed):
                    delayed.append(effect)  # n2's ack of kb, a second late
                    n2.loop.call_later(1.0, n2_perform, effect)
                    return
                n2_perform(effect)

            monkeypatch.setattr(engine, "write", rolling_back)
            # n1's batch stays open until kc's write fails: a Flush timer (or a
            # generation's flush) between kb and kc committed kb under load (session 56's
            # clean clone: ``at_n1`` true, kb kept by an earlier commit)
            monkeypatch.setattr(engine, "flush", lambda: None)
            monkeypatch.setattr(third, "write", full)
            monkeypatch.setattr(n2, "_perform_one", holding)
            put_b = asyncio.ensure_future(call("PUT", url(n1, "/kv/kb"), b"milk"))
            for _ in range(300):
                if delayed:
                    break
                await asyncio.sleep(0.01)
            held = bool(delayed) and not put_b.done() and engine.read(b"kb") is not None
            await call("PUT", url(n1, "/kv/kc"), b"tea")  # n1's batch rolled back
            status, _, body = await put_b
            monkeypatch.undo()
            return status, body, held, engine.read(b"kb") is not None
        finally:
            for server in servers:
                await server.stop()

    status, body, held, at_n1 = run(scenario(), 60)
    assert held  # n1 held kb (buffered) and waited for n2 when kc's write failed
    assert not at_n1  # the rollback took n1's copy
    assert status == 503 and body["error"] == "QuorumError", (status, body)
