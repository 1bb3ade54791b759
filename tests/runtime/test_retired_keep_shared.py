"""``retired_keep`` in a cluster file (session 34's user probe; docs/runtime.md, "User
probe of retired pruning (session 34)"): a setting every dvv node must share, and
never 0 under dvv.

Before: three ``vdynamo serve`` processes, n3's file with ``retired_keep = 1`` and
n1's and n2's with the default byte budget (-1), two keys read-modify-written 30
times through n1 and n2 restarted in turn. n3 pruned each record to 4 entries, n1
and n2 kept 24; their merges are unions, so no exchange ever made the copies
equal: in 20 s of an idle cluster anti-entropy moved the two keys at every round
(n3: 77 follow-ups and 77 keys repaired, n1 48, n2 32), and each of 20 gets at
R = 3 through n1 sent a read repair. Now a peer whose hello gives another
``retired_keep`` is refused naming both values, as for ``n`` or the ring, and a
data file that ran with another one is refused at the start (``--adopt-store``
takes a change made on every node alike). Clocks other than dvv prune nothing
and do not compare it.

``retired_keep = 0`` was served: each put through a restarted node left the value
it replaced beside it (three processes, 30 rounds of four keys: 13 to 15 siblings a
key; tests/impl/test_retired_keep_config.py shows why). A dvv file now refuses it,
naming the key and what to give instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from impl import errors
from impl.config import ClusterConfig
from impl.peer_auth import NONCE_BYTES, Acceptor, Dialer, HelloInfo, PeerAuthError
from impl.runtime import shared_settings
from impl.runtime_config import load_runtime_config
from impl.serve import check_store_settings
from impl.storage.sqlite import SqliteStorage
from tests.runtime.live import SECRET
from tests.runtime.procs import cli
from tests.runtime.test_peer_settings_differ import _parts

NODES = ("n1", "n2", "n3")


def _connects(mine: ClusterConfig, theirs: ClusterConfig) -> str | None:
    """None when ``theirs`` (dialing) and ``mine`` (accepting) finish a hello, else
    the dialer's refusal."""
    dialer = Dialer(SECRET, "n2", "n1", HelloInfo("default", (), shared_settings(theirs)))
    acceptor = Acceptor(SECRET, "n1", HelloInfo("default", (), shared_settings(mine)))
    _, challenge = acceptor.on_hello(*_parts(dialer.hello()))
    name, info, rest = _parts(challenge)
    try:
        proof, _, _ = dialer.on_challenge(name, info, rest[:NONCE_BYTES], rest[NONCE_BYTES:])
        acceptor.on_proof(proof)
    except PeerAuthError as refused:
        return str(refused)
    return None


def test_a_dvv_peer_with_another_retired_keep_is_refused_naming_both_values() -> None:
    base = ClusterConfig(nodes=NODES, secret=SECRET)
    assert base.clock == "dvv" and base.retired_keep == -1
    refused = _connects(base, base.replace(retired_keep=1))
    assert refused is not None and "retired_keep '1' here, '-1' at n1" in refused, refused
    assert _connects(base.replace(retired_keep=3), base.replace(retired_keep=3)) is None
    for clock in ("lww", "server-vclock", "client-vclock"):  # they prune nothing
        other = base.replace(clock=clock)
        assert _connects(other, other.replace(retired_keep=1)) is None, clock


def test_a_data_file_that_ran_with_another_retired_keep_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "n1.sqlite"
    storage = SqliteStorage(path)
    try:
        base = ClusterConfig(nodes=NODES, secret=SECRET)
        check_store_settings(storage, path, base)
        with pytest.raises(errors.ConfigError) as refused:
            check_store_settings(storage, path, base.replace(retired_keep=5))
        assert "retired_keep '-1' then, '5' now" in str(refused.value)
        assert not check_store_settings(storage, path, base.replace(retired_keep=5), adopt=True)
        assert check_store_settings(storage, path, base.replace(retired_keep=5))
    finally:
        storage.close()


def _file(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "cluster.toml"
    path.write_text("\n".join(["[cluster]", 'nodes = ["n1"]', "n = 1", "r = 1", "w = 1",
                               f'secret = "{SECRET.decode()}"', *lines, "", "[nodes.n1]",
                               'peer = "127.0.0.1:7101"', 'http = "127.0.0.1:8101"', ""]))
    path.chmod(0o600)
    return path


def test_a_dvv_cluster_file_refuses_a_retired_keep_of_zero(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigError) as refused:
        load_runtime_config(_file(tmp_path, "retired_keep = 0"))
    assert "[cluster] retired_keep: 0 keeps no retired lifetime" in str(refused.value)
    assert "give -1" in str(refused.value)
    for taken in ("retired_keep = 1", "retired_keep = -1", 'clock = "lww"\nretired_keep = 0'):
        assert load_runtime_config(_file(tmp_path, taken)).cluster is not None, taken
    run = cli("cluster", "up", "--nodes", "3", "--dir", str(tmp_path / "c"),
              "--set", "retired_keep=0")
    assert run.returncode == 2 and "retired_keep: 0 keeps no" in run.stderr, run
    assert not (tmp_path / "c" / "cluster.toml").exists()
