"""``vdynamo join`` adds its node's section to cluster.toml by a whole replace (session
53, the lead: the review of the CLI found the append in place, a reader at that instant,
a node's SIGHUP or ``cluster status``, could read half a section)."""

from __future__ import annotations

import os
from pathlib import Path

from vdynamo.cluster_cli import _append_section, _node_section


def test_a_section_is_added_by_renaming_a_whole_file_kept_0600(tmp_path: Path) -> None:
    """The file after is the file before and the section, under a new inode (a file
    renamed over it, never written in place), mode 0600 (it holds the secret).
    Mutant: the append in place (``open(path, "a")``): the inode stays, caught."""
    path = tmp_path / "cluster.toml"
    before = '[cluster]\nnodes = ["n1"]\nsecret = "s"\n'
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(before)
    inode = path.stat().st_ino
    section = _node_section("n2", 7001, 8001)
    assert _append_section(tmp_path, section) is None
    assert path.read_text() == before + section
    assert path.stat().st_ino != inode
    assert path.stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "cluster.toml.tmp").exists()


def test_a_missing_file_is_named_not_raised(tmp_path: Path) -> None:
    assert _append_section(tmp_path, "[nodes.n2]\n") is not None
    assert not (tmp_path / "cluster.toml").exists()
