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
import contextlib
import json
import socket
import sqlite3
from pathlib import Path

import pytest

from impl import errors
from impl.config import DEFAULT_CLUSTER_NAME
from impl.http_api import cluster_hmac
from impl.serve import STORE_IDENTITY_META, check_store_identity, main, serve
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
    policy = asyncio.get_event_loop_policy()
    assert main([str(config), "--all"]) == 2  # before: served the file
    # main's event-loop policy (uvloop's by default) is its own: a caller's later
    # asyncio.run had uvloop transports (session 29: test_connections failed after it)
    assert asyncio.get_event_loop_policy() is policy
    err = capsys.readouterr().err
    assert "n1.sqlite: this data file belongs to another node or cluster" in err, err
    assert "another [cluster] secret" in err and "--adopt-store" in err, err


def test_a_renamed_cluster_is_named_as_renamed_and_a_row_that_is_no_owner_refused(
        tmp_path: Path) -> None:
    """Session 29's review: a cluster renamed under the same secret was also reported as
    "another [cluster] secret" (the fingerprint was taken under the configured name);
    an empty identity row raised JSONDecodeError out of ``vdynamo serve`` (a traceback,
    exit 1); --adopt-store on a row that is not JSON crashed the same way."""
    path = tmp_path / "n1.sqlite"
    storage = SqliteStorage(path)
    try:
        check_store_identity(storage, path, "n1", "a", SECRET)
        with pytest.raises(errors.ConfigError) as refused:
            check_store_identity(storage, path, "n1", "b", SECRET)  # renamed, same secret
        assert "cluster 'a', not 'b')" in str(refused.value), refused.value
        assert "another [cluster] secret" not in str(refused.value), refused.value
        for row in (b"", b"garbage", b"null", b"[1]", b"{}", b"\xff\xfe"):
            storage.set_meta(STORE_IDENTITY_META, row)
            with pytest.raises(errors.ConfigError, match="belongs to another node"):
                check_store_identity(storage, path, "n1", "a", SECRET)
            assert storage.get_meta(STORE_IDENTITY_META) == row  # left as it was
            check_store_identity(storage, path, "n1", "a", SECRET, adopt=True)
            check_store_identity(storage, path, "n1", "a", SECRET)  # adopted
    finally:
        storage.close()


def test_vdynamo_serve_adopt_store_takes_a_changed_secret(tmp_path: Path) -> None:
    """``vdynamo serve --adopt-store`` (the flag through ``main`` and ``serve``): n1 adopts
    its file written under another secret of its cluster (``"vdynamo"``); n2's HTTP
    port is taken, so the serve exits 1 once n1 started, without a signal (before,
    with the flag dropped: exit 2, nothing adopted). Until session 50 this test
    adopted a file of another cluster's name, which is refused since
    (:func:`test_adopt_store_refuses_a_file_of_another_cluster`)."""
    path = tmp_path / "n1.sqlite"
    storage = SqliteStorage(path)
    try:
        check_store_identity(storage, path, "n1", "vdynamo", SECRET)
    finally:
        storage.close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config = tmp_path / "cluster.toml"
        config.write_text('[cluster]\nnodes = ["n1", "n2"]\nn = 1\nr = 1\nw = 1\n'
                          f'secret = "{OTHER.decode()}"\n'
                          '[nodes.n1]\npeer = "127.0.0.1:0"\nhttp = "127.0.0.1:0"\n'
                          '[nodes.n2]\npeer = "127.0.0.1:0"\n'
                          f'http = "127.0.0.1:{taken.getsockname()[1]}"\n')
        config.chmod(0o600)
        assert main([str(config), "--all", "--adopt-store"]) == 1  # n2's port
    storage = SqliteStorage(path)
    try:
        check_store_identity(storage, path, "n1", "vdynamo", OTHER)  # n1's own now
        with pytest.raises(errors.ConfigError, match="another \\[cluster\\] secret"):
            check_store_identity(storage, path, "n1", "vdynamo", SECRET)
    finally:
        storage.close()


def test_adopt_store_refuses_a_file_of_another_cluster(tmp_path: Path) -> None:
    """Session 50's review: a file of another local cluster (every one had the name
    ``"vdynamo"``: only the secret told them apart) was adopted with ``--adopt-store``,
    and its node served that cluster's keys, ring and members. Now a file recording
    another cluster's name is refused with ``adopt`` too, naming both names and the
    ways out, never ``--adopt-store`` as one; it is left as it was. The node's name
    and the secret are still adopted under the recorded name. Mutants: ``adopt``
    taking any owner again (the review's fault); the refusal's hint of
    ``--adopt-store`` kept for another cluster: each fails."""
    path = tmp_path / "n1.sqlite"
    storage = SqliteStorage(path)
    try:
        check_store_identity(storage, path, "n1", "vdynamo-c", SECRET)
        row = storage.get_meta(STORE_IDENTITY_META)
        for cluster, secret, differ in (
                ("vdynamo-d", OTHER, "cluster 'vdynamo-c', not 'vdynamo-d'; another [cluster] "
                 "secret)"),
                ("vdynamo-d", SECRET, "cluster 'vdynamo-c', not 'vdynamo-d')")):
            for adopt in (True, False):
                with pytest.raises(errors.ConfigError) as refused:
                    check_store_identity(storage, path, "n1", cluster, secret, adopt=adopt)
                said = str(refused.value)
                assert differ in said, said
                assert "--adopt-store does not take it into another" in said, said
                assert "give n1 a new, empty file" in said, said
                assert 'give its cluster file the name back: name = "vdynamo-c"' in said
                assert "start once with --adopt-store" not in said, said
                assert storage.get_meta(STORE_IDENTITY_META) == row
        check_store_identity(storage, path, "n1", "vdynamo-c", OTHER, adopt=True)
        check_store_identity(storage, path, "n2", "vdynamo-c", OTHER, adopt=True)
        check_store_identity(storage, path, "n2", "vdynamo-c", OTHER)  # adopted
    finally:
        storage.close()


def test_a_file_of_the_default_name_is_its_clusters_as_before(tmp_path: Path) -> None:
    """A file recorded before session 50 (its row as sessions 28-49 wrote it: the
    node, ``"vdynamo"``, the secret's fingerprint under ``vdynamo store identity
    v1``) is taken by a node of a cluster file that names no cluster; a secret changed
    on purpose is still adopted; a new, named cluster refuses it even with ``adopt``.
    Mutant: the fingerprint's label changed: fails."""
    path = tmp_path / "n1.sqlite"
    storage = SqliteStorage(path)
    try:
        old = json.dumps({"cluster": "vdynamo", "node": "n1", "secret": cluster_hmac(
            SECRET, b"vdynamo store identity v1\x00", "vdynamo")[:32]}, sort_keys=True)
        storage.set_meta(STORE_IDENTITY_META, old.encode())
        check_store_identity(storage, path, "n1", DEFAULT_CLUSTER_NAME, SECRET)
        assert storage.get_meta(STORE_IDENTITY_META) == old.encode()
        with pytest.raises(errors.ConfigError, match="not 'vdynamo-0123abcd'"):
            check_store_identity(storage, path, "n1", "vdynamo-0123abcd", SECRET, adopt=True)
        check_store_identity(storage, path, "n1", DEFAULT_CLUSTER_NAME, OTHER, adopt=True)
    finally:
        storage.close()


def test_a_refused_file_is_left_as_it_was(tmp_path: Path) -> None:
    """The check comes before the node starts (session 29's review: a mutant checking
    after the start survived): a refused file gets no write, where a node started
    first records its actor epoch and membership in it, dials its peers and may take
    their writes before the refusal stops it."""
    def meta() -> list[tuple[object, ...]]:
        with contextlib.closing(sqlite3.connect(tmp_path / "n1.sqlite")) as db:
            return sorted(db.execute("SELECT name, value FROM meta").fetchall())

    async def scenario() -> None:
        for server in await serve(runtime_config(tmp_path, name="a"), ["n1"]):
            await server.stop()
        before = meta()
        with pytest.raises(errors.ConfigError, match="cluster 'a', not 'b'"):
            await serve(runtime_config(tmp_path, name="b"), ["n1"])
        assert meta() == before

    asyncio.run(asyncio.wait_for(scenario(), 30))
