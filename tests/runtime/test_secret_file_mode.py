"""``vdynamo serve`` warns when the cluster file, which holds the secret, is readable
by other users (session 13's probe B: a cluster file of mode 0644 was served without
a word; OpenSSH refuses such a private key file, PostgreSQL such a key file).

The serve is stopped at once by naming a node the file does not have (exit 2, after
the file was read): nothing binds a port."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from impl.runtime_config import exposed_secret
from tests.runtime.procs import vdynamo

_FILE = """[cluster]
nodes = ["n1"]
n = 1
r = 1
w = 1
secret = "{secret}"
[nodes.n1]
peer = "127.0.0.1:0"
http = "127.0.0.1:0"
"""


@pytest.mark.parametrize(("mode", "warned"), [(0o644, True), (0o640, True), (0o604, True),
                                              (0o600, False), (0o400, False)])
def test_serve_warns_of_a_cluster_file_others_can_read(tmp_path: Path, mode: int,
                                                       warned: bool) -> None:
    path = tmp_path / "cluster.toml"
    path.write_text(_FILE.format(secret="0f" * 24))
    os.chmod(path, mode)
    done = vdynamo("serve", str(path), "--node", "n9", timeout=60.0)
    assert done.returncode == 2
    assert ("readable by other users" in done.stderr) == warned, done.stderr
    assert "0f0f0f0f" not in done.stderr  # the warning names the file, not the secret
    if warned:
        assert f"mode {mode:04o}" in done.stderr and "chmod 600" in done.stderr


def test_a_file_with_no_secret_of_its_own_is_not_warned_of(tmp_path: Path) -> None:
    """--insecure-dev without a secret runs with the public example: nothing to keep."""
    path = tmp_path / "cluster.toml"
    path.write_text(_FILE.replace('secret = "{secret}"\n', ""))
    os.chmod(path, 0o644)
    assert exposed_secret(path) is not None  # the mode alone would be warned of
    done = vdynamo("serve", str(path), "--node", "n9", "--insecure-dev", timeout=60.0)
    assert done.returncode == 2 and "readable by other users" not in done.stderr
