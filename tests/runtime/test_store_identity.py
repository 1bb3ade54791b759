"""A node refuses a data file that another node or cluster wrote (session 28's user
probe; the kind of case 20: what another cluster holds must not enter this one).

Scenario (real processes before the fix): cluster A wrote 20 keys; cluster B, another
name and secret, was started with A's ``n1.sqlite`` for its n1 (a copied disk image, a
reused path): B served A's keys (``GET a0`` through B's n1 and, by read repair, at
``r=3`` through n2: ``[b'from-A']``). Now the file records its owner (the node, the
cluster's name, a fingerprint of the secret) and a start on another's file is refused
naming what differs (Cassandra: "Saved cluster name A != configured name B"; etcd:
a member directory of another cluster)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from impl import errors
from impl.serve import STORE_IDENTITY_META, check_store_identity, serve
from impl.storage.sqlite import SqliteStorage
from tests.runtime.live import SECRET, runtime_config

OTHER = b"another secret of 24 bytes"


def test_a_file_records_its_owner_and_refuses_another(tmp_path: Path) -> None:
    path = tmp_path / "n1.sqlite"
    storage = SqliteStorage(path)
    try:
        check_store_identity(storage, path, "n1", "a", SECRET)
        recorded = storage.get_meta(STORE_IDENTITY_META) or b""
        assert b'"node": "n1"' in recorded and SECRET not in recorded
        check_store_identity(storage, path, "n1", "a", SECRET)  # its own: served
        cases = {("n1", "b", OTHER): ["cluster 'a', not 'b'", "another [cluster] secret"],
                 ("n1", "a", OTHER): ["another [cluster] secret"],
                 ("n2", "a", SECRET): ["node 'n1', not 'n2'"]}
        for (node, cluster, secret), named in cases.items():
            with pytest.raises(errors.ConfigError) as refused:
                check_store_identity(storage, path, node, cluster, secret)
            for text in named:
                assert text in str(refused.value), refused.value
            assert str(path) in str(refused.value)
            assert secret.decode() not in str(refused.value)
        check_store_identity(storage, path, "n1", "a", OTHER, adopt=True)  # on purpose
        check_store_identity(storage, path, "n1", "a", OTHER)
        with pytest.raises(errors.ConfigError):
            check_store_identity(storage, path, "n1", "a", SECRET)
    finally:
        storage.close()


def test_a_cluster_started_on_another_clusters_files_is_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        first = await serve(runtime_config(tmp_path), ["n1", "n2", "n3"])
        for server in first:
            await server.stop()
        other = runtime_config(tmp_path, secret=OTHER, name="other")
        with pytest.raises(errors.ConfigError, match="belongs to another node or cluster"):
            await serve(other, ["n1", "n2", "n3"])  # before: served A's keys
        again = await serve(runtime_config(tmp_path), ["n1", "n2", "n3"])  # its own
        for server in again:
            await server.stop()

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_vdynamo_serve_exits_2_naming_the_file(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from impl.serve import main

    storage = SqliteStorage(tmp_path / "n1.sqlite")
    try:
        check_store_identity(storage, tmp_path / "n1.sqlite", "n1", "vdynamo", SECRET)
    finally:
        storage.close()
    config = tmp_path / "cluster.toml"
    config.write_text('[cluster]\nnodes = ["n1"]\nn = 1\nr = 1\nw = 1\n'
                      f'secret = "{OTHER.decode()}"\n'
                      '[nodes.n1]\npeer = "127.0.0.1:0"\nhttp = "127.0.0.1:0"\n')
    config.chmod(0o600)
    assert main([str(config), "--all"]) == 2  # before: served the file
    err = capsys.readouterr().err
    assert "n1.sqlite: this data file belongs to another node or cluster" in err, err
    assert "another [cluster] secret" in err and "--adopt-store" in err, err
