"""A data file of another local cluster is refused even with ``--adopt-store`` (session
50's review; the kind of case 20: what another cluster holds must not enter this one).

The review's walk (real processes, before the fix): n1's ``data.sqlite`` copied from
local cluster ``c`` into cluster ``d``; ``cluster up --dir d`` refused it naming
"another [cluster] secret" with a hint to pass ``--adopt-store``; following it, n1
served c's keys and ring in d, d's n2 waited to rebuild from c's n4, and d's n3
stopped as "left" (c's membership, gossiped by n1). Every local cluster had the
cluster name ``"vdynamo"`` and the node names n1, n2, ..., so only the secret told
two apart, and a secret changed on purpose is what ``--adopt-store`` takes. Now
``cluster up`` names each new cluster (``vdynamo-<8 hex digits>``) and a store whose
recorded cluster name is not the configured one is refused whatever the flags
(:func:`impl.serve.check_store_identity`), as Cassandra refuses a saved
``cluster_name`` other than the configured one.

Real processes on loopback, bounded (``cluster up`` waits at most its 30 s), every
process stopped (:func:`tests.runtime.procs.cluster_up`). Mutants, each run and seen
failing, in docs/runtime.md "A store of another cluster (session 50)".
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import sqlite3
from pathlib import Path

from impl.http_api import cluster_hmac
from impl.runtime_config import load_runtime_config
from impl.serve import STORE_IDENTITY_META
from impl.storage.sqlite import SqliteStorage
from tests.runtime.procs import FAST_ROUNDS, FAST_UP, cli, cluster_up, http, request, state
from vdynamo.cluster_cli import _write_config, _write_state, read_state

#: ``cluster up``'s counts for the clusters of these tests: two nodes, N = R = W = 2
TWO = ("--nodes", "2", "--n", "2", "--r", "2", "--w", "2")


def _identity(data: Path) -> bytes:
    """The store-identity row of the (stopped) node's data file ``data``."""
    with contextlib.closing(sqlite3.connect(data)) as db:
        row = db.execute("SELECT value FROM meta WHERE name = ?",
                         (STORE_IDENTITY_META,)).fetchone()
    return bytes(row[0])


def _name(directory: Path) -> str:
    return load_runtime_config(directory / "cluster.toml").cluster.name


def _pids(directory: Path) -> list[int]:
    return [entry["pid"] for entry in state(directory)["nodes"].values() if entry["pid"]]


def test_a_file_copied_from_another_local_cluster_is_refused_even_with_adopt_store(
        tmp_path: Path) -> None:
    """c and d, two nodes each, N = 2 (the same shared settings, as every local cluster
    of three nodes made by default has: a file of another such cluster passes
    :func:`impl.serve.check_store_settings`): c holds ``k``, d ``d-key``; d stopped,
    c's n1 file copied over d's n1. ``cluster start n1`` exits 1 naming both clusters
    and no ``--adopt-store`` way out, and ``cluster start n1 --adopt-store`` and
    ``cluster up --adopt-store`` (the review's command) exit 1 alike, every node of d
    stopped again, n1's file left as c wrote it. The way out (a new, empty file for
    n1): ``cluster up`` exits 0, ``k`` is not found in d at R = 2 and ``d-key`` is,
    and each node's view is d's two members. On the tree before both clusters are
    named ``"vdynamo"``; with the review's fault (``adopt`` taking any owner) ``up
    --adopt-store`` exits 0, and (docs/runtime.md) d serves ``k``."""
    with cluster_up(tmp_path / "c", *TWO, *FAST_UP) as c:
        assert request("PUT", http(c, "n1") + "/kv/k", b"from-c")[0] == 200
        assert cli("cluster", "down", "--dir", str(c)).returncode == 0
    with cluster_up(tmp_path / "d", *TWO, *FAST_UP) as d:
        assert _name(c) != _name(d)
        assert re.fullmatch(r"vdynamo-[0-9a-f]{8}", _name(d)), _name(d)
        assert request("PUT", http(d, "n1") + "/kv/d-key", b"from-d")[0] == 200
        assert cli("cluster", "down", "--dir", str(d)).returncode == 0
        data = d / "n1" / "data.sqlite"
        for suffix in ("", "-wal", "-shm"):  # as a disk image is copied
            Path(f"{data}{suffix}").unlink(missing_ok=True)
            if Path(f"{c / 'n1' / 'data.sqlite'}{suffix}").exists():
                shutil.copy(f"{c / 'n1' / 'data.sqlite'}{suffix}", f"{data}{suffix}")
        copied = _identity(data)

        named = f"(cluster {_name(c)!r}, not {_name(d)!r}; another [cluster] secret)"
        plain = cli("cluster", "start", "n1", "--dir", str(d))
        assert plain.returncode == 1, plain
        assert named in plain.stderr, plain.stderr
        assert f'give its cluster file the name back: name = "{_name(c)}"' in plain.stderr
        assert "passes it on" not in plain.stderr, plain.stderr  # no --adopt-store hint
        one = cli("cluster", "start", "n1", "--dir", str(d), "--adopt-store")
        assert one.returncode == 1 and named in one.stderr, one

        adopted = cli("cluster", "up", "--dir", str(d), "--adopt-store")
        assert adopted.returncode == 1, adopted  # before: 0, c's keys served in d
        assert named in adopted.stderr, adopted.stderr
        assert "--adopt-store does not take it into another" in adopted.stderr
        assert "give n1 a new, empty file" in adopted.stderr
        assert _pids(d) == [], state(d)  # n2 stopped again: nothing of d runs
        assert _identity(data) == copied  # nothing written to the file

        for suffix in ("", "-wal", "-shm"):  # the way out: a new, empty file
            Path(f"{data}{suffix}").unlink(missing_ok=True)
        again = cli("cluster", "up", "--dir", str(d))
        assert again.returncode == 0, again
        for node in ("n1", "n2"):
            assert request("GET", http(d, node) + "/kv/k?r=2")[0] == 404
            assert request("GET", http(d, node) + "/kv/d-key?r=2")[2] == b"from-d"
            view = json.loads(request("GET", http(d, node) + "/status")[2])["membership"]
            assert sorted(view) == ["n1", "n2"], view


def test_a_secret_changed_on_purpose_is_still_adopted(tmp_path: Path) -> None:
    """Two nodes of a new (named) cluster, ``k`` written at W = 2; every node stopped,
    the secret edited: ``cluster up --adopt-store`` exits 0 and ``k`` is read at
    R = 2 through each node. Mutant: the flag refused for any other owner (not only
    another cluster's name): exit 1, fails."""
    with cluster_up(tmp_path / "e", *TWO, *FAST_UP) as directory:
        assert request("PUT", http(directory, "n1") + "/kv/k", b"kept")[0] == 200
        assert cli("cluster", "down", "--dir", str(directory)).returncode == 0
        config = directory / "cluster.toml"
        text = config.read_text()
        secret = re.search(r'\nsecret = "([0-9a-f]+)"\n', text)
        assert secret is not None, text
        config.write_text(text.replace(secret[1], "ab" * 24))
        adopted = cli("cluster", "up", "--dir", str(directory), "--adopt-store")
        assert adopted.returncode == 0, adopted
        for node in ("n1", "n2"):
            assert request("GET", http(directory, node) + "/kv/k?r=2")[2] == b"kept"


def test_a_store_of_an_old_directory_still_starts(tmp_path: Path) -> None:
    """A directory as ``cluster up`` wrote it before session 50 (its ``cluster.toml``
    names no cluster: ``"vdynamo"``), n1's file holding the identity row those
    versions recorded (the node, ``"vdynamo"``, the secret's fingerprint under the
    label ``vdynamo store identity v1``): ``cluster up`` starts it (exit 0), serves,
    and leaves the row as it was. Mutants: ``cluster up`` naming an existing
    directory's cluster on a restart; the fingerprint's label changed: exit 1, fails."""
    directory = tmp_path / "old"
    directory.mkdir()
    made = read_state(directory)
    _write_config(directory, ["n1"], 1, 1, 1, made, FAST_ROUNDS)
    config = directory / "cluster.toml"
    config.write_text(re.sub(r'\nname = "vdynamo-[0-9a-f]{8}"', "", config.read_text()))
    _write_state(directory, made)
    secret = load_runtime_config(config).cluster.secret
    assert load_runtime_config(config).cluster.name == "vdynamo"
    old = json.dumps({"cluster": "vdynamo", "node": "n1", "secret": cluster_hmac(
        secret, b"vdynamo store identity v1\x00", "vdynamo")[:32]}, sort_keys=True).encode()
    (directory / "n1").mkdir()
    storage = SqliteStorage(directory / "n1" / "data.sqlite")
    try:
        storage.set_meta(STORE_IDENTITY_META, old)
        storage.flush()
    finally:
        storage.close()
    with cluster_up(directory) as started:
        assert request("PUT", http(started, "n1") + "/kv/k", b"old")[0] == 200
        assert request("GET", http(started, "n1") + "/kv/k")[2] == b"old"
        assert cli("cluster", "down", "--dir", str(started)).returncode == 0
    assert _identity(directory / "n1" / "data.sqlite") == old


def test_cluster_up_names_each_new_cluster_unless_told_a_name(tmp_path: Path) -> None:
    """``cluster up``'s new ``cluster.toml`` (``_write_config``, nothing started): each
    its own ``vdynamo-<8 hex digits>``; ``--set name="shop"`` kept as the only name.
    Mutants: the name not written (every cluster ``"vdynamo"`` again); written over
    ``--set name`` (a duplicate key: the file does not load): each fails."""
    names = []
    for made, settings in (("a", []), ("b", []), ("shop", ['name = "shop"'])):
        directory = tmp_path / made
        directory.mkdir()
        _write_config(directory, ["n1", "n2"], 2, 1, 1, read_state(directory), settings)
        names.append(_name(directory))
    assert re.fullmatch(r"vdynamo-[0-9a-f]{8}", names[0]), names
    assert names[1] != names[0] and re.fullmatch(r"vdynamo-[0-9a-f]{8}", names[1]), names
    assert names[2] == "shop", names
