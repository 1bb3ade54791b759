"""A ``[nodes.*] data`` key that names no file is refused naming the key (session
20's service probe). Before, ``data = ""`` (or only spaces) was served as the
default ``NAME.sqlite`` beside the cluster file without a word (an operator who
emptied the key meaning "no disk", or a template left unfilled, got a data file
they did not name), and ``data = "a\\u0000b"`` was a ``ValueError: embedded
null byte`` traceback at ``vdynamo serve``, exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from impl import errors
from impl.runtime_config import load_runtime_config
from tests.runtime.procs import vdynamo


def _write(tmp_path: Path, data: str) -> Path:
    path = tmp_path / "cluster.toml"
    path.write_text("\n".join([
        "[cluster]", 'nodes = ["n1"]', "n = 1", "r = 1", "w = 1",
        'secret = "0123456789abcdef0123456789abcdef"', "",
        "[nodes.n1]", 'peer = "127.0.0.1:0"', 'http = "127.0.0.1:0"', f"data = {data}", ""]))
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(("data", "problem"), [
    ('""', "empty"), ('"  "', "empty"), ('"a\\u0000b"', "NUL"),
])
def test_a_data_key_naming_no_file_is_refused_naming_it(tmp_path: Path, data: str,
                                                         problem: str) -> None:
    with pytest.raises(errors.ConfigError, match=rf"\[nodes.n1\] data: .*{problem}"):
        load_runtime_config(_write(tmp_path, data))


def test_serve_refuses_an_empty_data_key_and_makes_no_file(tmp_path: Path) -> None:
    done = vdynamo("serve", str(_write(tmp_path, '""')), "--all", timeout=30)
    assert done.returncode == 2, done.stderr
    assert "[nodes.n1] data: empty" in done.stderr
    assert not list(tmp_path.glob("*.sqlite*"))


def test_serve_refuses_a_data_key_naming_a_directory(tmp_path: Path) -> None:
    """Session 51's service probe: ``data = "/var/lib/vdynamo"`` (a directory, where
    a file is meant) was told "cannot open SQLite database '/var/lib/vdynamo':
    unable to open database file", exit 1. Now refused before anything is opened,
    naming a file to give, exit 2. Mutant: the directory check removed (the tree
    before): exit 1, fails."""
    store = tmp_path / "store"
    store.mkdir()
    done = vdynamo("serve", str(_write(tmp_path, f'"{store}"')), "--all", timeout=30)
    assert done.returncode == 2, done.stderr
    assert (f"[nodes.n1] data: {store} is a directory; give the path of the node's "
            f"data file (e.g. {store / 'n1.sqlite'})") in done.stderr, done.stderr
    assert list(store.iterdir()) == []
