"""One data file, one process: ``vdynamo serve`` holds each node's file (an exclusive
``flock`` on ``<data>.lock``) and a second process on it exits 1 naming the file
(session 29's review of session 28's twin-process fix).

Before, with real processes: a second ``vdynamo serve --node n2`` of the same cluster
file rewrote the running n2's meta (``actor``, ``actor-lifetimes``,
``heartbeat-generation``, ``incarnation``) before its ports, in use, stopped it; a twin
n2 with other ports and n2's file (a copy of the cluster file in the same directory:
the same default file) stored its 5 puts in the running n2's file although n1 and n3
refused the twin: the real n2 served them at ``r=1``, and n1 at ``r=3`` read ``from the
twin``. PostgreSQL refuses a data directory whose ``postmaster.pid`` names a live
process; Kafka locks its log directories' ``.lock``, etcd its WAL files."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import sqlite3
from pathlib import Path

import pytest

from impl import errors
from impl.runtime_config import Address
from impl.serve import lock_data_file, main, serve
from tests.runtime.live import runtime_config


def _meta(path: Path) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return sorted(db.execute("SELECT name, value FROM meta").fetchall())


def test_a_second_serve_of_a_running_nodes_file_is_refused_and_writes_nothing(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        config = runtime_config(tmp_path)
        running = await serve(config, ["n1"])
        try:
            before = _meta(tmp_path / "n1.sqlite")
            # the twin: other ports (0: free ones), the same data file
            twin = dataclasses.replace(config, nodes={**config.nodes, "n1": dataclasses.replace(
                config.nodes["n1"], peer=Address("127.0.0.1", 0), http=Address("127.0.0.1", 0))})
            with pytest.raises(errors.StorageError, match="in use by another process"):
                await serve(twin, ["n1"])  # before: served beside n1 on its file
            assert _meta(tmp_path / "n1.sqlite") == before  # before: actor, incarnation...
        finally:
            for server in running:
                await server.stop()
        for server in await serve(config, ["n1"]):  # released by the stop
            await server.stop()

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_vdynamo_serve_exits_1_naming_the_held_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "cluster.toml"
    config.write_text('[cluster]\nnodes = ["n1"]\nn = 1\nr = 1\nw = 1\n'
                      'secret = "0123456789abcdef0123456789abcdef"\n'
                      '[nodes.n1]\npeer = "127.0.0.1:0"\nhttp = "127.0.0.1:0"\n')
    config.chmod(0o600)
    held = lock_data_file(tmp_path / "n1.sqlite")  # as a running n1 holds it
    try:
        assert main([str(config), "--all"]) == 1
    finally:
        for fd in held:
            os.close(fd)
    err = capsys.readouterr().err
    assert "n1.sqlite: this data file is in use by another process" in err, err
    # not even opened: the file the holder's lock created (session 57) is still empty
    assert (tmp_path / "n1.sqlite").stat().st_size == 0


@pytest.mark.parametrize("alias", ["lock file removed", "symlink"])
def test_a_twin_is_refused_though_the_lock_file_misses_it(tmp_path: Path, alias: str) -> None:
    """Session 57's red team (probes/01h): a twin n1 (other ports) on a running n1's
    data file must be refused, writing nothing, also when the lock file does not see
    it: ``n1.sqlite.lock`` removed while n1 runs (a clean-up of "stale lock files"),
    or the twin's data path a symlink to the file (its lock file another,
    ``alias.sqlite.lock``). Before: the twin locked a lock file of its own and served
    on n1's file (the probe's w=1 put through it 200). Mutant: the flock of the data
    file itself left out of ``lock_data_file`` (the lock file alone): both cases
    fail, ``DID NOT RAISE``."""
    async def scenario() -> None:
        config = runtime_config(tmp_path)
        running = await serve(config, ["n1"])
        try:
            before = _meta(tmp_path / "n1.sqlite")
            data = tmp_path / "n1.sqlite"
            if alias == "symlink":
                data = tmp_path / "alias.sqlite"
                data.symlink_to(tmp_path / "n1.sqlite")
            else:
                (tmp_path / "n1.sqlite.lock").unlink()
            twin = dataclasses.replace(config, nodes={**config.nodes, "n1": dataclasses.replace(
                config.nodes["n1"], peer=Address("127.0.0.1", 0), http=Address("127.0.0.1", 0),
                data=data)})
            with pytest.raises(errors.StorageError, match="in use by another process"):
                await serve(twin, ["n1"])
            assert _meta(tmp_path / "n1.sqlite") == before
        finally:
            for server in running:
                await server.stop()
        for server in await serve(config, ["n1"]):  # both released by the stop
            await server.stop()

    asyncio.run(asyncio.wait_for(scenario(), 30))
