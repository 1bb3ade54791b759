"""How ``vdynamo join`` rewrites a local cluster's ``[cluster] seeds`` (session 47's
review of the data probe's fix 1, :func:`vdynamo.cluster_cli._seeds_for_join`), on the
file alone: no process is started (which members run is given, ``_ours`` replaced).

A joining node asks only the seeds for the view it takes its tokens from. The fix
writes the members as the seeds when none of the file's seeds is one; the review
found: a seed that is a member but down was kept (``join`` then "not ready within
30 s: member_status not-joined" with a running member at hand: now the members that
run are the seeds when no seed runs); a directory that took no new file was a
traceback (IsADirectoryError / PermissionError; now a one-line problem, the file as
it was); a ``[cluster]  # comment`` header, valid TOML, was "no [cluster] section".
What must stay: seeds naming a running member untouched, byte for byte (an
operator's list, paper 4.8.2), and a file the rewrite cannot state exactly (a seeds
array over several lines, a malformed file) refused with the file unchanged.

Mutants checked (session 47's review): members counted whether they run or not
(the probe's rule) -> ``test_a_seed_that_is_a_member_but_down_is_replaced`` fails;
``any`` -> ``all`` over the seeds -> ``test_a_running_seed_keeps_the_file``
and ``..._removed_seed_beside_a_running_one...`` fail; the write's ``except OSError``
removed -> ``test_a_directory_that_takes_no_file_is_a_problem_not_a_traceback``
fails; the header matched as ``line.strip() == "[cluster]"`` -> the comment test
fails."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from vdynamo import cluster_cli
from vdynamo.cluster_cli import _seeds_for_join

HEAD = '# written by hand\n[cluster]\n'
REST = ('nodes = ["n1", "n2"]\nn = 1\nr = 1\nw = 1\nsecret = "x"\n\n'
        '[nodes.n1]\npeer = "127.0.0.1:1"\nhttp = "127.0.0.1:2"\ndata = "n1/d"\n')


def _state(running: list[str], gone: dict[str, str] | None = None) -> dict[str, Any]:
    nodes: dict[str, Any] = {name: {"pid": 1000 + i, "peer": 1, "http": 2}
                             for i, name in enumerate(running)}
    for name, how in (gone or {}).items():  # "left", "removed" or "down"
        nodes[name] = {"pid": None, "peer": 1, "http": 2,
                       **({"left": True} if how != "down" else {}),
                       **({"removed": True} if how == "removed" else {})}
    return {"nodes": nodes}


@pytest.fixture(autouse=True)
def _running_is_a_pid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster_cli, "_ours", lambda directory, pid: pid is not None)


def _file(tmp_path: Path, text: str) -> Path:
    (tmp_path / "cluster.toml").write_text(text)
    return tmp_path / "cluster.toml"


def test_a_running_seed_keeps_the_file(tmp_path: Path) -> None:
    path = _file(tmp_path, HEAD + 'seeds = ["n2", "n9"]\n' + REST)
    before = path.read_bytes()
    assert _seeds_for_join(tmp_path, _state(["n2", "n3"], {"n9": "down"}), "n4") is None
    assert path.read_bytes() == before


def test_a_removed_seed_beside_a_running_one_keeps_the_file(tmp_path: Path) -> None:
    path = _file(tmp_path, HEAD + REST)  # seeds: nodes, n1 removed, n2 running
    before = path.read_bytes()
    assert _seeds_for_join(tmp_path, _state(["n2"], {"n1": "removed"}), "n3") is None
    assert path.read_bytes() == before


def test_seeds_all_gone_are_replaced_and_the_rest_kept(tmp_path: Path) -> None:
    path = _file(tmp_path, HEAD + REST)
    state = _state(["n4", "n3"], {"n1": "left", "n2": "removed"})
    assert _seeds_for_join(tmp_path, state, "n5") is None
    text = path.read_text()
    assert text == HEAD + 'seeds = ["n3", "n4"]\n' + REST
    assert tomllib.loads(text)["cluster"]["seeds"] == ["n3", "n4"]


def test_a_seed_that_is_a_member_but_down_is_replaced(tmp_path: Path) -> None:
    path = _file(tmp_path, HEAD + 'seeds = ["n2"]\n' + REST)
    state = _state(["n3"], {"n1": "left", "n2": "down"})
    assert _seeds_for_join(tmp_path, state, "n4") is None
    assert tomllib.loads(path.read_text())["cluster"]["seeds"] == ["n3"]  # before: ["n2"]


def test_no_member_running_keeps_the_file(tmp_path: Path) -> None:
    path = _file(tmp_path, HEAD + 'seeds = ["n2"]\n' + REST)
    before = path.read_bytes()
    assert _seeds_for_join(tmp_path, _state([], {"n1": "left", "n2": "down"}), "n3") is None
    assert path.read_bytes() == before


def test_a_header_with_a_comment_is_the_cluster_table(tmp_path: Path) -> None:
    path = _file(tmp_path, '[ cluster ]  # the local cluster\n' + REST)
    assert _seeds_for_join(tmp_path, _state(["n3"], {"n1": "left", "n2": "left"}), "n4") \
        is None
    assert tomllib.loads(path.read_text())["cluster"]["seeds"] == ["n3"]


@pytest.mark.parametrize("text", [
    HEAD + 'seeds = [\n  "n1",\n  "n2",\n]\n' + REST,  # an array over several lines
    HEAD + 'seeds = ["n1"\n' + REST,  # not TOML
    REST.replace("nodes =", "[other]\nnodes ="),  # no [cluster] table
])
def test_a_file_the_rewrite_cannot_state_is_refused_unchanged(tmp_path: Path,
                                                              text: str) -> None:
    path = _file(tmp_path, text)
    problem = _seeds_for_join(tmp_path, _state(["n3"], {"n1": "left", "n2": "left"}), "n4")
    assert problem is not None and str(path) in problem
    assert path.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cluster.toml"]


def test_a_directory_that_takes_no_file_is_a_problem_not_a_traceback(
        tmp_path: Path) -> None:
    path = _file(tmp_path, HEAD + REST)
    (tmp_path / "cluster.toml.tmp").mkdir()  # (as root, a read-only mode is no refusal)
    problem = _seeds_for_join(tmp_path, _state(["n3"], {"n1": "left", "n2": "left"}), "n4")
    assert problem is not None and "n3" in problem and "nothing was written" in problem
    assert path.read_text() == HEAD + REST
