"""``vdynamo join NAME`` with a name the local cluster cannot hold is refused in one
line, nothing written (session 16's probe).

Before, ``vdynamo join 'bad name'`` appended ``[nodes.bad name]`` to the cluster
file (not valid TOML), started a process that exited on it, and recorded the node
in ``cluster.json``: every later ``vdynamo cluster up`` failed ("not valid TOML:
Expected ']' at the end of a table declaration"), so one typo made the whole
local cluster impossible to restart. ``join ''`` wrote ``[nodes.]`` with ``data =
"/data.sqlite"`` (the filesystem's root), ``join n1.x`` a nested table, ``join
../evil`` a data file outside the cluster's directory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.runtime.procs import cli

_CONFIG = """[cluster]
nodes = ["n1"]
n = 1
r = 1
w = 1
secret = "0123456789abcdef0123456789abcdef"

[nodes.n1]
peer = "127.0.0.1:1"
http = "127.0.0.1:2"
data = "n1/data.sqlite"
"""
_STATE = '{"nodes": {"n1": {"pid": null, "peer": 1, "http": 2}}}'


@pytest.mark.parametrize("name", ["bad name", "", "n1.x", "n1~x", "../evil", "a/b", "[x]",
                                  "x" * 65, "-n"])
def test_a_name_the_local_cluster_cannot_hold_is_refused_nothing_written(
        tmp_path: Path, name: str) -> None:
    (tmp_path / "cluster.toml").write_text(_CONFIG)
    (tmp_path / "cluster.json").write_text(_STATE)
    done = cli("join", "--dir", str(tmp_path), "--", name)
    assert done.returncode == 1, done
    assert done.stderr.startswith(f"vdynamo join: node name {name!r}: "), done
    assert "letters, digits" in done.stderr and len(done.stderr.splitlines()) == 1, done
    assert (tmp_path / "cluster.toml").read_text() == _CONFIG
    assert (tmp_path / "cluster.json").read_text() == _STATE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cluster.json", "cluster.toml"]
