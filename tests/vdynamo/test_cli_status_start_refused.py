"""``vdynamo cluster status`` on a cluster file that loads but that ``vdynamo serve``
refuses to start a node with (session 53's review).

Session 53 made ``cluster status`` exit 78 (:data:`STATUS_FILE_BROKEN`) when
``cluster.toml`` does not load, so that a script's ``status && stop n2 && start n2``
does not stop a node it cannot start again. It checked the file with
``load_runtime_config`` only, and ``vdynamo serve --node NAME`` makes more checks at
its start, those that depend on the nodes a process serves
(:func:`impl.runtime_config.check_start`): a port 0 in any section (the others could
not learn the port), a node's data path that is a directory, a ``max_peer_connections``
below the members counting the joined nodes' sections. With such a file every node
ready, ``cluster status`` exited 0 and said nothing; on a real cluster (session 53's
machine, ``cluster up --nodes 3``, n2's ``http`` edited to ``127.0.0.1:0``): status 0,
``cluster stop n2`` 0, ``cluster start n2`` 1 ("vdynamo serve: [nodes.n2] http: port 0
..."), n2 down.

Each case below fails on 39071267 (exit 0). Mutant checked: the ``check_start`` call
in ``_file_problem`` removed (all three fail); ``_startable`` returning no node (all
three fail). No node process is started: two stand-in HTTP servers answer ``/health``
ready.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from tests.runtime.test_cli_cluster_ready import _stand_in
from vdynamo import cluster_cli
from vdynamo.cluster_cli import STATUS_FILE_BROKEN, main_cluster


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


_READY = {"/health": {"ready": True, "live": True, "member_status": "up"}}


def _cluster(directory: Path, http: dict[str, int]) -> str:
    """A two-node cluster's files in ``directory`` (``http``: each node's port), each
    node's pid this process's; the ``cluster.toml`` text."""
    nodes = {name: {"pid": os.getpid(), "http": port, "peer": _closed_port()}
             for name, port in http.items()}
    (directory / "cluster.json").write_text(json.dumps({"nodes": nodes}))
    text = ('[cluster]\nnodes = ["n1", "n2"]\nn = 2\nr = 1\nw = 1\nsecret = "'
            + "ab" * 24 + '"\n')
    for name, entry in nodes.items():
        text += (f'\n[nodes.{name}]\npeer = "127.0.0.1:{entry["peer"]}"\n'
                 f'http = "127.0.0.1:{entry["http"]}"\ndata = "{name}/data.sqlite"\n')
    (directory / "cluster.toml").write_text(text)
    return text


@pytest.mark.parametrize(("edit", "said"), [
    (lambda text, http: text.replace(f'127.0.0.1:{http["n2"]}', "127.0.0.1:0"),
     "line 15: [nodes.n2] http: port 0 (a port the kernel picks at the start)"),
    (lambda text, http: text.replace('data = "n2/data.sqlite"', 'data = "n2"'),
     "[nodes.n2] data: "),
    (lambda text, http: text.replace("w = 1\n", "w = 1\nmax_peer_connections = 2\n")
     + f'\n[nodes.n3]\npeer = "127.0.0.1:{_closed_port()}"\nhttp = "127.0.0.1:'
       f'{_closed_port()}"\ndata = "n3/data.sqlite"\n',
     "line 6: max_peer_connections: each node keeps a connection from every other node, "
     "so for 3 nodes (n1, n2, n3)")],
    ids=["port-0", "data-a-directory", "peer-cap-below-the-joined"])
def test_a_file_a_node_would_not_start_with_is_the_files_status(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], edit: object, said: str) -> None:
    (tmp_path / "n2").mkdir()
    monkeypatch.setattr(cluster_cli, "_ours", lambda directory, pid: True)
    with _stand_in(_READY) as port1, _stand_in(_READY) as port2:
        http = {"n1": port1, "n2": port2}
        text = _cluster(tmp_path, http)
        assert main_cluster(["status", "--dir", str(tmp_path)]) == 0
        assert capsys.readouterr().err == ""
        assert callable(edit)
        (tmp_path / "cluster.toml").write_text(edit(text, http))
        assert main_cluster(["status", "--dir", str(tmp_path)]) == STATUS_FILE_BROKEN
    err = capsys.readouterr().err
    assert err.startswith("vdynamo cluster status: the cluster file does not start n"), err
    assert said in err, err
    assert err.endswith("a node started now exits: fix the file first\n"), err
