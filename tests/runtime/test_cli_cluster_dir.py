"""``vdynamo cluster up --dir D`` where D cannot be the cluster's directory (a file,
a path through a file) is one line naming ``--dir`` and why, exit 1, nothing
started; bad counts are refused before the directory is made. Before session 19's
service probe: a ``FileExistsError`` (or ``NotADirectoryError``) traceback, and
``--nodes 0`` left an empty directory behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.runtime.procs import cli


@pytest.mark.parametrize("where", ["file", "file/sub"])
def test_a_dir_that_cannot_be_made_is_one_line_naming_it(tmp_path: Path, where: str) -> None:
    (tmp_path / "file").write_text("not a directory")
    target = tmp_path / where
    done = cli("cluster", "up", "--dir", str(target))
    assert done.returncode == 1, done
    assert done.stderr.startswith(f"vdynamo cluster up: --dir {target}: cannot make")
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert (tmp_path / "file").read_text() == "not a directory"


def test_bad_counts_are_refused_before_the_directory_is_made(tmp_path: Path) -> None:
    done = cli("cluster", "up", "--nodes", "0", "--dir", str(tmp_path / "c"))
    assert done.returncode == 2 and "--nodes must be at least 1" in done.stderr
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("command", [("cluster", "up"), ("cluster", "status"),
                                     ("cluster", "down"), ("join", "n4"), ("leave", "n1"),
                                     ("remove", "n1")])
def test_a_dir_that_cannot_be_looked_at_is_one_line_naming_it(
        tmp_path: Path, command: tuple[str, str]) -> None:
    """A ``--dir`` whose name is over the file system's NAME_MAX (255 bytes): the
    stat of its ``cluster.toml`` fails with ENAMETOOLONG, which ``Path.exists``
    does not swallow (only ENOENT, ENOTDIR, EBADF, ELOOP). Before session 19's
    review every command ended in an ``OSError: [Errno 36] File name too long``
    traceback (``cluster up`` too: its check of ``cluster.toml`` came before the
    ``mkdir`` the service probe's fix guards)."""
    target = tmp_path / ("d" * 300)
    done = cli(*command, "--dir", str(target))
    assert done.returncode == 1, done
    prog = " ".join(command[:1] if command[0] != "cluster" else command)
    assert done.stderr.startswith(f"vdynamo {prog}: --dir {target}: cannot use it"), done
    assert "File name too long" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == "" and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("setting", ["nosuch=1", "gossip_interval=nan", "max_value_bytes=-1"])
def test_a_setting_refused_leaves_no_directory_made(tmp_path: Path, setting: str) -> None:
    """``cluster up --set`` of a setting the cluster file refuses says "nothing was
    written", exit 2: the directories it made for the cluster are removed again
    (an empty ``D``, and ``a/b`` under it, were left behind before session 20's
    service probe); a directory that was there stays."""
    done = cli("cluster", "up", "--nodes", "3", "--dir", str(tmp_path / "a" / "b"),
               "--set", setting)
    assert done.returncode == 2 and "nothing was written" in done.stderr, done
    assert not (tmp_path / "a").exists()
    (tmp_path / "c").mkdir()
    done = cli("cluster", "up", "--nodes", "3", "--dir", str(tmp_path / "c"), "--set", setting)
    assert done.returncode == 2, done
    assert (tmp_path / "c").is_dir() and not list((tmp_path / "c").iterdir())


def test_a_dir_whose_cluster_file_cannot_be_written_is_one_line_naming_it(
        tmp_path: Path) -> None:
    """Session 49's operator walk: `cluster up` in a directory on a read-only file
    system ended in an OSError traceback (EROFS at the cluster file's write). The
    same write fails here through a dangling link (ENOENT: a read-only mount needs
    root), which a test can make anywhere; nothing started, no state written."""
    directory = tmp_path / "c"
    directory.mkdir()
    (directory / "cluster.toml").symlink_to(tmp_path / "missing" / "cluster.toml")
    done = cli("cluster", "up", "--nodes", "3", "--dir", str(directory))
    assert done.returncode == 1, done
    assert done.stderr == (f"vdynamo cluster up: --dir {directory}: cannot write "
                           f"{directory / 'cluster.toml'}: No such file or directory (the "
                           "cluster's files and its nodes' data go in --dir: give one this "
                           "user can write, with space); nothing was started\n")
    assert done.stdout == "" and not (directory / "cluster.json").exists()
