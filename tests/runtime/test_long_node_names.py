"""Node names near their 255-character limit (session 60's red team,
probes/08l-long-and-unicode-node-names.py).

A node name may have 255 printable characters (:func:`impl.config.check_node_name`).
Before, (1) a name of 249 or more made the default data file ``<name>.sqlite`` a
file name over the file system's 255 bytes, and ``vdynamo serve`` died with an
``OSError: [Errno 36] File name too long`` traceback (``Path.is_dir`` in
:func:`impl.runtime_config.check_distinct_data`), exit 1; (2) in client-vclock a node
named with 218 or more characters refused every write that names no client (curl)
with 400 "PutRequest.client_id: must be at most 255 printable characters": the
anonymous writer's id ``http.<name>.<token>.<rid>`` passed the id's bound.
Now (1) exits 2 with one line naming the key and what to give, and (2) the id
takes a digest of a long name (:func:`impl.http_api.anonymous_prefix`). Mutants, each
run and reverted: the ``try`` around ``is_dir`` removed: the first test fails (exit 1,
a traceback); ``anonymous_prefix`` returning the whole-name prefix always: the second
(400) and the third fail.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from impl.http_api import anonymous_prefix
from impl.messages import MAX_NAME
from tests.runtime.procs import ServedNodes, http_call, vdynamo


def _serve_one(directory: Path, name: str) -> subprocess.CompletedProcess[str]:
    """``vdynamo serve --all`` of a one-node cluster file naming ``name``."""
    path = directory / "cluster.toml"
    path.write_text("\n".join([
        "[cluster]", f'nodes = ["{name}"]', "n = 1", "r = 1", "w = 1",
        'secret = "0123456789abcdef0123456789abcdef"', "",
        f"[nodes.{name}]", 'peer = "127.0.0.1:0"', 'http = "127.0.0.1:0"', ""]))
    path.chmod(0o600)
    return vdynamo("serve", str(path), "--all", timeout=30)


def test_serve_refuses_a_default_data_file_name_too_long_in_one_line(tmp_path: Path) -> None:
    name = "a" * 250
    done = _serve_one(tmp_path, name)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"vdynamo serve: [nodes.{name}] data: cannot use ")
    assert "File name too long" in done.stderr and done.stderr.count("\n") == 1


def test_an_anonymous_client_vclock_write_through_a_long_named_node_is_taken(
        tmp_path: Path) -> None:
    name = "a" * 239  # its files (name.sqlite, .lock, -wal) within 255 bytes
    with ServedNodes(tmp_path, (name,), ['clock = "client-vclock"', "n = 1", "r = 1",
                                         "w = 1"]) as nodes:
        nodes.start(name)
        nodes.wait_ready(name)
        status, _, body = http_call("PUT", nodes.url(name), b"v1")
        assert status == 200, body
        status, _, body = http_call("PUT", nodes.url(name), b"v2")
        assert status == 200, body
        status, _, body = http_call("GET", nodes.url(name), headers={"Accept": "*/*"})
        assert status == 300, body  # two anonymous writers: two siblings
        status, _, body = http_call("DELETE", nodes.url(name))
        assert status == 200, body
        assert http_call("GET", nodes.url(name))[0] == 404


def test_the_anonymous_prefix_leaves_room_for_a_request_number() -> None:
    short = anonymous_prefix("n1", "0123456789ab")
    assert short == "http.n1.0123456789ab"
    longest = [anonymous_prefix(c * 255, "0123456789ab") for c in "ab"]
    assert all(len(p) + 1 + 19 <= MAX_NAME for p in longest)
    assert longest[0] != longest[1]


def test_serve_refuses_a_data_file_name_without_room_for_sqlites_files(
        tmp_path: Path) -> None:
    """Session 60's review of the red team: a name of 244 to 248 characters makes
    ``<name>.sqlite`` fit in 255 bytes, so the red team's check passed it, but not the
    files beside it (``.sqlite.lock``, ``-wal``, ``-shm``, ``-journal``: up to 8 bytes
    more): ``vdynamo serve`` exited 1 with "File name too long: <name>.sqlite.lock",
    no key named, no way out said. Now the longest sibling's name is checked
    (:func:`impl.runtime_config.check_distinct_data`): exit 2, the red team's line.
    Mutant, that check removed: this test fails (exit 1)."""
    name = "a" * 245
    done = _serve_one(tmp_path, name)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"vdynamo serve: [nodes.{name}] data: cannot use ")
    assert "-journal" in done.stderr and done.stderr.count("\n") == 1
    assert not list(tmp_path.glob("*.sqlite*"))
