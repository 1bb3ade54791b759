"""``vdynamo remove NAME`` sends NAME percent-encoded in the admin request's query,
so the member is asked about exactly NAME, whatever its characters (a node name is
any printable text without spaces: ``impl.config``). Before session 20's service
probe the name went into the URL raw: ``remove 'db+1'`` asked the member for the
node ``'db 1'`` (401: the token, made for ``db+1``, did not verify), ``remove
'n3&x=1'`` sent a parameter of its own, ``remove 'n3#'`` asked for ``n3``, and a
name with a space or a non-ASCII letter was an ``InvalidURL`` or
``UnicodeEncodeError`` traceback. Now each is the member's one-line refusal
naming the node as typed (none of these is a member), exit 1.

A ``vdynamo cluster up`` of three nodes on loopback, stopped at the end."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.procs import cli, cluster_up


def test_remove_asks_about_the_node_named_whatever_its_characters(tmp_path: Path) -> None:
    with cluster_up(tmp_path / "c", "--nodes", "3") as directory:
        for name in ("db+1", "n3&x=1", "n3#", "a b", "é", "a%41"):
            done = cli("remove", name, "--dir", str(directory))
            assert done.returncode == 1, (name, done)
            assert done.stderr.count("\n") == 1, (name, done.stderr)
            assert f"unknown node {name!r}" in done.stderr, (name, done.stderr)
