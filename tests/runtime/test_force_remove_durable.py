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
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from impl.config import DEFAULT_CLUSTER_NAME
from impl.errors import StorageError
from impl.http_api import admin_authorization
from impl.membership import Membership, MemberStatus
from impl.runtime import NodeServer
from impl.storage.sqlite import SqliteStorage
from tests.runtime.live import SECRET, cluster, parse_response, raw, run
from tests.runtime.test_http_admin_token import _admin_request

COMMIT_S = 0.3


def _durable_status(path: Path, node: str) -> MemberStatus | None:
    """``node``'s status in the membership view committed to the file ``path``."""
    with sqlite3.connect(path) as reader:
        row = reader.execute("SELECT value FROM meta WHERE name = 'membership'").fetchone()
    member = Membership.from_bytes(bytes(row[0])).get(node) if row else None
    return None if member is None else member.status


def _before_each_commit(monkeypatch: pytest.MonkeyPatch, hook: Callable[[], None]) -> None:
    """Run ``hook`` (on the writer thread) before each group commit of every store."""
    commit = SqliteStorage.commit_batch

    def hooked(self: SqliteStorage) -> None:
        hook()
        commit(self)

    monkeypatch.setattr(SqliteStorage, "commit_batch", hooked)


@contextlib.asynccontextmanager
async def _n3_down(tmp_path: Path) -> AsyncIterator[list[NodeServer]]:
    """Three nodes in this loop (N = 2, fast rounds), n3 stopped and past n1's
    window to remove it (max(4 x 0.1, 10 x 0.05) s): once n1 holds it down
    (:meth:`impl.node.Node.down`, exactly the members ``force_remove`` accepts; a
    fixed 1.5 s until session 37), at most 5 s."""
    async with cluster(tmp_path, n=2, r=1, w=1, gossip_interval=0.05,
                       suspicion_timeout=0.1) as servers:
        await servers[2].stop()
        n1 = servers[0]
        for _ in range(250):
            if n1.node.down("n3", n1.now()):
                break
            await asyncio.sleep(0.02)
        yield servers


def test_a_force_remove_returns_once_its_view_is_durable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    slow = {"on": False}
    _before_each_commit(monkeypatch, lambda: time.sleep(COMMIT_S) if slow["on"] else None)

    async def scenario() -> None:
        async with _n3_down(tmp_path) as servers:
            slow["on"] = True
            await servers[0].force_remove("n3")
            assert _durable_status(tmp_path / "n1.sqlite", "n3") is MemberStatus.REMOVING
            slow["on"] = False

    run(scenario(), 30)


def test_a_force_remove_whose_commit_fails_answers_an_unknown_outcome(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 32's review: the commit holding the removal's view fails once (a full
    disk). Before, ``POST /admin/force-remove`` answered 500 ``"outcome":
    "not-written"`` (``vdynamo remove``: "refused"), yet the removal, taken in memory,
    went on: 1 s later n2 and n1's file held n3 ``removing``, and asked again n1
    answered 409 "already removed". Right value: 500 with ``"outcome": "unknown"``,
    saying it may still be applied."""
    fail = {"on": False}

    def fail_once() -> None:
        if fail["on"]:
            fail["on"] = False
            raise StorageError("disk full (injected)")

    _before_each_commit(monkeypatch, fail_once)

    async def scenario() -> None:
        async with _n3_down(tmp_path) as servers:
            fail["on"] = True
            token = admin_authorization(SECRET, DEFAULT_CLUSTER_NAME, node="n3", member="n1",
                                        address="127.0.0.1:0", stamp=int(time.time()))
            status, _, body = parse_response(await raw(servers[0].http_address,
                                                       _admin_request(token)))
            assert (status, body["outcome"]) == (500, "unknown"), body  # before: not-written
            assert "may still be applied" in body["message"]
            for _ in range(50):  # gossiped to n2 (a fixed 1 s until session 37), at most 1 s
                if servers[1].node.view.get("n3").status is MemberStatus.REMOVING:  # type: ignore[union-attr]
                    break
                await asyncio.sleep(0.02)
            assert servers[1].node.view.get("n3").status is MemberStatus.REMOVING  # type: ignore[union-attr]

    run(scenario(), 30)


def test_a_node_its_peers_refuse_takes_no_force_remove(tmp_path: Path) -> None:
    """Session 32's review: a node misconfigured (refused by its peers for its
    settings, accepted by none: :meth:`impl.runtime.NodeServer.misconfigured`)
    serves nothing, yet took ``POST /admin/force-remove`` and answered 200 (the
    removal could reach the cluster only once that node was fixed and restarted).
    Right value: 503 naming its settings, nothing changed."""
    async def scenario() -> None:
        async with _n3_down(tmp_path) as servers:
            servers[0].settings_on_record = False  # a new store no peer accepted
            servers[0].settings_refused = {"n2": "'n2' runs other [cluster] settings ..."}
            token = admin_authorization(SECRET, DEFAULT_CLUSTER_NAME, node="n3", member="n1",
                                        address="127.0.0.1:0", stamp=int(time.time()))
            status, _, body = parse_response(await raw(servers[0].http_address,
                                                       _admin_request(token)))
            assert status == 503 and "runs other [cluster] settings" in body["message"], body
            assert servers[0].node.view.get("n3").status is MemberStatus.UP  # type: ignore[union-attr]

    run(scenario(), 30)
