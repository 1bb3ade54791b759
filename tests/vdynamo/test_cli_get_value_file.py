"""``vdynamo get --value-file`` after the get (:func:`vdynamo.kv_cli._write_got`), no
cluster: the standard output's bytes for ``-``, the file's mode, a write that fails
(session 61; the command over real processes:
tests/runtime/test_cli_get_value_file_cluster_id.py)."""

from __future__ import annotations

import asyncio
import os
import stat
import tempfile
from pathlib import Path

import pytest

from impl.http_client import AsyncClient
from vdynamo.kv_cli import _write_got


def test_dash_writes_the_bytes_to_stdout_and_the_context_to_stderr(
        capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    """Mutant: the context printed on stdout for ``-`` too: failed, the output is not
    the value's bytes alone."""
    assert _write_got("k", [b"\xff\x00v\n"], "CTX", "-", None) == 0
    out, err = capsysbinary.readouterr()
    assert out == b"\xff\x00v\n" and err == b"context: CTX\n"


def test_a_new_file_takes_the_umask_and_an_old_one_keeps_its_mode(tmp_path: Path) -> None:
    """The file is written whole (a temporary file renamed over it). Mutant: without
    the ``fchmod`` the new file kept mkstemp's 0600 (``0o600 != 0o644``)."""
    kept = os.umask(0o022)
    try:
        assert _write_got("k", [b"new"], "C", str(tmp_path / "new.bin"), None) == 0
        old = tmp_path / "old.bin"
        old.write_bytes(b"old")
        old.chmod(0o640)
        assert _write_got("k", [b"b", b"a"], "C", str(old), 2) == 0
    finally:
        os.umask(kept)
    assert stat.S_IMODE((tmp_path / "new.bin").stat().st_mode) == 0o644
    assert stat.S_IMODE(old.stat().st_mode) == 0o640 and old.read_bytes() == b"b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.bin", "old.bin"]  # no
    # temporary file left


def test_a_write_that_fails_is_one_line(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A path under a regular file (its directory gone between the check and the
    write, say): one line, exit 1. Mutant: no OSError caught: NotADirectoryError
    raised out of the command."""
    (tmp_path / "file").write_bytes(b"")
    assert _write_got("k", [b"v"], "C", str(tmp_path / "file" / "out"), None) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"vdynamo get: --value-file {tmp_path / 'file' / 'out'}: cannot "
                          "write it (Not a directory); the value was read, not written")


def test_the_async_client_takes_the_cluster_id_too() -> None:
    """Mutant: AsyncClient not passing ``cluster_id`` to its Router: None."""
    db = AsyncClient(["10.0.0.1:1"], cluster_id="AB" * 16)
    assert db.router.given_cluster_id == db.router.cluster_id == "ab" * 16
    asyncio.run(db.aclose())


def test_a_symbolic_link_is_written_through_and_a_read_only_file_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Review of session 61's service gaps: ``-o LINK`` writes the link's target, as
    the shell's ``>`` and ``curl -o`` do, the link kept; an existing file this user may
    not write is refused (exit 1, one line, the file as it was), as ``>`` refuses it.
    Mutants, each failing here: the path not resolved (``Path(path)``, the code before:
    the link replaced by a regular file, its target still ``old``); the ``os.access``
    check dropped (the read-only file replaced by the rename, exit 0)."""
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "t.jpg"
    target.write_bytes(b"old")
    link = tmp_path / "link.jpg"
    link.symlink_to(target)
    assert _write_got("k", [b"new"], "C", str(link), None) == 0
    assert (link.is_symlink(), target.read_bytes()) == (True, b"new")
    frozen = tmp_path / "ro.txt"
    frozen.write_bytes(b"keep")
    frozen.chmod(0o444)  # (this suite may run as root, whom access() lets write: asked)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: (
        False if Path(p) == frozen and mode & os.W_OK else real_access(p, mode)))
    capsys.readouterr()
    assert _write_got("k", [b"new"], "C", str(frozen), None) == 1
    err = capsys.readouterr().err
    assert "read-only" in err and err.count("\n") == 1, err
    assert frozen.read_bytes() == b"keep"


def test_sibling_zero_is_refused_naming_a_sibling(
        capsys: pytest.CaptureFixture[str]) -> None:
    """``--sibling 0`` is argparse's exit 2 naming the sibling (it said "a positive
    number of bytes" before the review of session 61's service gaps; mutant: the
    ``_positive`` type back)."""
    from vdynamo.kv_cli import main_get
    with pytest.raises(SystemExit) as stopped:
        main_get(["k", "-o", "x", "--sibling", "0", "--node", "127.0.0.1:1"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "the Nth sibling" in err and "number of bytes" not in err, err


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc")
def test_a_pipe_named_through_proc_is_written_in_place(tmp_path: Path) -> None:
    """``-o /dev/stdout`` with the output a pipe: written in place. Mutant: the path
    resolved before that test (``os.path.realpath`` first, as the symbolic link's fix
    was at first): ``/proc/PID/fd/pipe:[N]``, no such file, exit 1."""
    read, write = os.pipe()
    try:
        assert _write_got("k", [b"v\n"], "C", f"/proc/self/fd/{write}", None) == 0
        assert os.read(read, 10) == b"v\n"
    finally:
        os.close(read)
        os.close(write)


def test_a_writable_file_in_a_directory_this_user_may_not_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``_out_problem`` lets a writable file in an unwritable directory through (as
    ``>`` writes it); it is written in place, truncated to the value. Simulated (the
    suite may run as root): ``os.access`` denies the directory and ``mkstemp`` there
    fails as the kernel would. Mutant: the in-place branch dropped: exit 1 "cannot
    write it (Permission denied)" after the get, the file as it was."""
    locked = tmp_path / "locked"
    locked.mkdir()
    out = locked / "v.bin"
    out.write_bytes(b"a longer old value")
    real_access, real_mkstemp = os.access, tempfile.mkstemp
    monkeypatch.setattr(os, "access", lambda p, mode: (
        False if Path(p) == locked and mode & os.W_OK else real_access(p, mode)))

    def mkstemp(*args: object, dir: str | Path | None = None, **kw: object) -> object:
        if dir is not None and Path(dir) == locked:
            raise PermissionError(13, "Permission denied")
        return real_mkstemp(*args, dir=dir, **kw)  # type: ignore[call-overload]
    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    assert _write_got("k", [b"new"], "C", str(out), None) == 0
    assert out.read_bytes() == b"new"
