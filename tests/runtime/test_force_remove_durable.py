"""A force-remove is answered once it is durable (session 32's operator probe;
docs/runtime.md, "Operator probe (session 32)").

Before, ``POST /admin/force-remove`` (``vdynamo remove``) answered 200 as soon as the
core had taken the removal, while its view was still in the group commit under way;
its gossip waited for that commit. On real processes (``vdynamo cluster up``, 5
nodes, n5 killed, ``vdynamo remove n5`` exit 0, n1 SIGKILLed at once and started
again, then n2, n3, n4 in turn): n1 came back with n5 ``up``, no peer had heard of
the removal, and 70 s later every node still listed n5 ``up``: the removal lost
without a word. Here three nodes in this loop (N = 2), n3 stopped, every group
commit made 0.3 s slower (a slow fsync); right value: when
:meth:`impl.runtime.NodeServer.force_remove` returns, n1's data file, read by
another connection, already holds n3 ``removing``."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from impl.membership import Membership, MemberStatus
from impl.storage.sqlite import SqliteStorage
from tests.runtime.live import cluster, run

COMMIT_S = 0.3


def _durable_status(path: Path, node: str) -> MemberStatus | None:
    """``node``'s status in the membership view committed to the file ``path``."""
    with sqlite3.connect(path) as reader:
        row = reader.execute("SELECT value FROM meta WHERE name = 'membership'").fetchone()
    member = Membership.from_bytes(bytes(row[0])).get(node) if row else None
    return None if member is None else member.status


def test_a_force_remove_returns_once_its_view_is_durable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    slow = {"on": False}
    commit = SqliteStorage.commit_batch

    def slow_commit(self: SqliteStorage) -> None:
        if slow["on"]:
            time.sleep(COMMIT_S)
        commit(self)

    monkeypatch.setattr(SqliteStorage, "commit_batch", slow_commit)

    async def scenario() -> None:
        async with cluster(tmp_path, n=2, r=1, w=1, gossip_interval=0.05,
                           suspicion_timeout=0.1) as servers:
            await servers[2].stop()
            await asyncio.sleep(1.5)  # past the window (max(4 x 0.1, 10 x 0.05) s)
            slow["on"] = True
            await servers[0].force_remove("n3")
            assert _durable_status(tmp_path / "n1.sqlite", "n3") is MemberStatus.REMOVING
            slow["on"] = False

    run(scenario(), 30)
