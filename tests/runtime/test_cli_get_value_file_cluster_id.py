"""Session 61's service gaps, over real ``vdynamo cluster up`` processes on loopback
(two clusters of one node each, both stopped at the end; the commands run in this
process by :func:`tests.runtime.procs.cli`).

``vdynamo get KEY --value-file OUT`` (``-o``): the twin of ``put --value-file``;
before, a binary value round-tripped only through ``--json`` (base64). Siblings are
refused naming their count unless ``--sibling N`` (the Nth by bytes), as Riak's
HTTP API answers ``300 Multiple Choices`` and serves one sibling only when asked
(``?vtag=``).

``--cluster-id ID`` (the library's ``cluster_id=``): the client given the seeds of
two healthy clusters kept to the first that answered (it holds no secret to tell
them apart); named, a node of another cluster is refused naming both ids and never
written to."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from impl.http_client import NoNodeError
from tests.runtime import procs
from tests.runtime.procs import cli, cluster_up, http_call
from vdynamo.client import connect

#: one node, one replica: each cluster starts in about a second
_ONE = ("--nodes", "1", "--n", "1", "--r", "1", "--w", "1", *procs.FAST_UP)


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """Two local clusters (A, B), each of one node, stopped at the end."""
    root = tmp_path_factory.mktemp("s61-service")
    with cluster_up(root / "a", *_ONE) as a, cluster_up(root / "b", *_ONE) as b:
        yield a, b


def _address(directory: Path) -> str:
    return procs.http(directory, "n1").removeprefix("http://")


def _cluster_id(directory: Path) -> str:
    _, _, body = http_call("GET", f"http://{_address(directory)}/status")
    found: str = json.loads(body)["cluster_id"]
    return found


def test_get_value_file_writes_the_exact_bytes_and_refuses_siblings_by_count(
        clusters: tuple[Path, Path], tmp_path: Path) -> None:
    """Mutants (session 61): ``_write_got`` without the siblings' refusal (the
    first written whatever the count): failed at "has 2 siblings" (exit 0, OUT
    overwritten); ``--sibling`` taken in the node's order, not by bytes
    (``values[N-1]``): failed at ``b"\\x00first"`` (``b"zlast"``, put first);
    ``_out_problem`` returning None (no check before the get): failed at "no
    directory" (the get made, then "cannot write it (No such file or directory);
    the value was read, not written")."""
    a, _ = clusters
    where = ("--dir", str(a))
    value = bytes(range(256)) * 4  # every byte, none of it a line of text
    (tmp_path / "in.bin").write_bytes(value)
    assert cli("put", "photo", "--value-file", str(tmp_path / "in.bin"), *where).returncode == 0
    got = cli("get", "photo", "-o", str(tmp_path / "out.bin"), *where)
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "out.bin").read_bytes() == value
    assert got.stdout.startswith("context: ")  # the context, as ever

    # siblings: refused, their count named, the file untouched
    for blind in ("zlast", "\x00first"):  # two blind puts: two siblings, the node
        # answering them in the order they were put
        assert cli("put", "pair", blind, *where).returncode == 0
    out = tmp_path / "pair.bin"
    out.write_bytes(b"old")
    refused = cli("get", "pair", "-o", str(out), *where)
    assert refused.returncode == 1 and "has 2 siblings" in refused.stderr
    assert "--sibling 1..2" in refused.stderr and refused.stdout.startswith("context: ")
    assert out.read_bytes() == b"old"
    assert cli("get", "pair", "-o", str(out), "--sibling", "1", *where).returncode == 0
    assert out.read_bytes() == b"\x00first"
    assert cli("get", "pair", "-o", str(out), "--sibling", "2", *where).returncode == 0
    assert out.read_bytes() == b"zlast"
    over = cli("get", "pair", "-o", str(out), "--sibling", "3", *where)
    assert over.returncode == 1 and "--sibling 3: 'pair' has 2 values" in over.stderr

    # no value: exit 1, nothing written
    absent = cli("get", "never", "-o", str(tmp_path / "never.bin"), *where)
    assert absent.returncode == 1 and not (tmp_path / "never.bin").exists()
    assert "(no value)" in absent.stderr

    # bad input: named before anything is read
    missing = cli("get", "photo", "-o", str(tmp_path / "nodir" / "x.bin"), *where)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert f"--value-file {tmp_path / 'nodir' / 'x.bin'}: no directory" in missing.stderr
    assert "nothing was read" in missing.stderr
    into_dir = cli("get", "photo", "-o", str(tmp_path), *where)
    assert into_dir.returncode == 1 and "is a directory" in into_dir.stderr
    both = cli("get", "photo", "-o", str(out), "--json", *where)
    assert both.returncode == 2 and "--json and --value-file" in both.stderr
    alone = cli("get", "photo", "--sibling", "1", *where)
    assert alone.returncode == 2 and "only with --value-file" in alone.stderr


def test_a_named_cluster_refuses_a_node_of_another_and_never_writes_to_it(
        clusters: tuple[Path, Path]) -> None:
    """Seeds ``[B, A]`` of two healthy clusters: by default the client keeps to B,
    the first that answers (unchanged); with ``--cluster-id`` of A the put goes to
    A, and with B alone it is refused naming both ids, B's store untouched.
    Mutants (session 61): the id given not pinned at the start (``Router.cluster_id``
    None until learned, so no X-Vdynamo-Cluster sent): failed at the put of
    "stray" to B alone, exit 0, written in B; ``misdirected`` naming neither id ("a
    node of another cluster" alone, before): failed at the message naming both.
    ``other_cluster`` ignoring ``given_cluster_id`` passes here (B states its id,
    and the pinned id refuses it): tests/vdynamo/test_client_other_cluster.py's
    node stating none catches it."""
    a, b = clusters
    ids = _cluster_id(a), _cluster_id(b)
    assert ids[0] != ids[1]
    seeds = ("--node", _address(b), "--node", _address(a))
    assert cli("put", "seeded", "B's", *seeds).returncode == 0  # the default: B
    assert cli("get", "seeded", "--node", _address(b)).stdout.startswith("B's\n")
    assert cli("put", "named", "A's", *seeds, "--cluster-id", ids[0].upper()).returncode == 0
    assert cli("get", "named", "--node", _address(a)).stdout.startswith("A's\n")
    assert cli("get", "named", "--node", _address(b)).returncode == 1  # not in B

    only_b = ("--node", _address(b), "--cluster-id", ids[0])
    for command in (("put", "stray", "meant for A"), ("get", "seeded"), ("delete", "seeded")):
        refused = cli(*command, *only_b)
        assert refused.returncode == 1, refused
        assert f"its cluster_id {ids[1]}, not the cluster_id given, {ids[0]}" in refused.stderr
    assert cli("get", "stray", "--node", _address(b)).returncode == 1  # never written
    assert cli("get", "seeded", "--node", _address(b)).stdout.startswith("B's\n")

    wrong = cli("get", "seeded", "--node", _address(a), "--cluster-id", "vdynamo")
    assert wrong.returncode == 2 and "not a cluster_id: 'vdynamo'" in wrong.stderr
    with pytest.raises(Exception, match="is not a cluster_id"):
        connect([_address(a)], cluster_id=ids[0][:31])
    with connect([_address(b)], cluster_id=ids[0]) as db, pytest.raises(
            NoNodeError, match=f"its cluster_id {ids[1]}, not the cluster_id given"):
        db.put("stray2", b"x")
