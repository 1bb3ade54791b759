"""The local cluster's state file (``DIR/cluster.json``) missing or damaged: one line
naming it, never a traceback (session 16's probe).

Before: ``vdynamo cluster down --dir /tmp/typo`` (no such directory) ended in a
FileNotFoundError traceback (``cluster.json.tmp``), and in an existing directory
with no cluster it printed "stopped 0 nodes" and wrote a ``cluster.json`` there; a
``cluster.json`` that is not JSON (``{``, a file cut short) or not the state's
shape (``{}``, ``[]``) made ``cluster status``, ``cluster down``, ``cluster up``,
``get``, ``put``, ``delete``, ``join`` and ``leave`` end in a JSONDecodeError,
KeyError or AttributeError traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.runtime.procs import cli
from vdynamo.cluster_cli import STATUS_FILE_BROKEN

_COMMANDS = [["cluster", "status"], ["cluster", "down"], ["cluster", "up", "--nodes", "1"],
             ["get", "k"], ["put", "k", "v"], ["delete", "k"], ["join", "n9"],
             ["leave", "n1"]]


def test_down_of_a_directory_with_no_cluster_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "typo"
    done = cli("cluster", "down", "--dir", str(missing))
    assert done.returncode == 1, done
    assert done.stderr == f"vdynamo cluster down: no cluster in {missing}: nothing stopped\n"
    assert not missing.exists()
    done = cli("cluster", "down", "--dir", str(tmp_path))
    assert done.returncode == 1 and "no cluster in" in done.stderr, done
    assert list(tmp_path.iterdir()) == []  # no cluster.json written into it


@pytest.mark.parametrize("text", ["{", "", "[]", "{}", '{"nodes": 5}',
                                  '{"nodes": {"n1": {"pid": 1}}}',
                                  '{"nodes": {"n1": {"pid": 1, "http": "x", "peer": 2}}}'],
                         ids=["cut", "empty", "list", "no nodes", "nodes not a map",
                              "entry without ports", "port not a number"])
@pytest.mark.parametrize("command", _COMMANDS, ids=[" ".join(c) for c in _COMMANDS])
def test_a_damaged_state_file_is_named_in_one_line(tmp_path: Path, text: str,
                                                   command: list[str]) -> None:
    (tmp_path / "cluster.json").write_text(text)
    (tmp_path / "cluster.toml").write_text("[cluster]\n")
    done = cli(*command, "--dir", str(tmp_path))
    # `cluster status`: a malformed file of the cluster has its own status (session 53)
    assert done.returncode == (STATUS_FILE_BROKEN if command == ["cluster", "status"]
                               else 1), done
    path = tmp_path / "cluster.json"
    assert f"{path}: not a cluster state file" in done.stderr, done
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1, done
    assert (tmp_path / "cluster.json").read_text() == text  # left as it was
