"""``vdynamo get/put/delete --dir D`` where D holds a cluster file but no cluster that
``vdynamo cluster up`` started (nodes run by ``vdynamo serve D/cluster.toml``, as
README's first steps do): the line names the file and its nodes' HTTP addresses
for ``--node``, or what is wrong with the file (session 26's user probe). Before:
"no cluster in D (start one with `vdynamo cluster up --dir D` ...)" whatever D
held, a malformed cluster.toml too."""

from __future__ import annotations

from pathlib import Path

import pytest

from vdynamo.kv_cli import main_delete, main_get

_FILE = """[cluster]
nodes = ["n1", "n2"]
n = 2
secret = "0123456789abcdef0123456789"
[nodes.n1]
peer = "127.0.0.1:7001"
http = "127.0.0.1:8001"
[nodes.n2]
peer = "127.0.0.1:7002"
http = "127.0.0.1:8002"
"""


def test_a_cluster_file_names_its_nodes_http_addresses(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cluster.toml").write_text(_FILE)
    assert main_get(["k", "--dir", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert error == (f"vdynamo get: no cluster that `vdynamo cluster up` started in {tmp_path}: "
                     "--dir reads its state (cluster.json); for the nodes of "
                     f"{tmp_path / 'cluster.toml'} give their HTTP addresses: "
                     "--node 127.0.0.1:8001 --node 127.0.0.1:8002\n")


def test_a_malformed_cluster_file_is_named_with_its_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cluster.toml").write_text("[cluster\n")
    assert main_delete(["k", "--dir", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"vdynamo delete: no cluster in {tmp_path} (start one with")
    assert "its cluster.toml cannot be used: " in error and "not valid TOML" in error
    assert len(error.splitlines()) == 1
