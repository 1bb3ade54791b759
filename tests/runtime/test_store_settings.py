"""A node refuses to start on a data file that last ran with other shared ``[cluster]``
settings (session 32's operator probe; docs/runtime.md, "Operator probe (session 32)").

Before (three ``vdynamo serve`` processes, N = 3, strategy 1, 20 keys at W = 3): n1
stopped and started again with ``n = 2`` (or ``tokens_per_node = 16``) in its own
copy of the file: it started, ``/health`` said ``ready``, it answered R = 1 reads by
its own ring, and its peers refused it (183 refusal lines in 6 s; its puts 504, its
R = 2 reads 503). A whole cluster restarted with another ``partitions``,
``ring_seed`` or ``partitioning`` served by the ring its stores held, the change
ignored without a word. Now the file records the settings it ran with and a start
with others exits 2 naming each, with both values; ``--adopt-store`` takes them
(every node's file changed alike, on purpose). Cassandra refuses a node restarted
with another ``num_tokens`` ("Cannot change the number of tokens from 8 to 16")."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from impl import errors
from impl.config import ClusterConfig
from impl.serve import STORE_SETTINGS_META, check_store_settings, main
from impl.storage.sqlite import SqliteStorage
from tests.runtime.live import SECRET

NODES = ("n1", "n2", "n3")


def _config(**changes: object) -> ClusterConfig:
    return ClusterConfig(nodes=NODES, secret=SECRET, **changes)  # type: ignore[arg-type]


def test_a_file_records_its_settings_and_refuses_others_naming_each(tmp_path: Path) -> None:
    path = tmp_path / "n1.sqlite"
    storage = SqliteStorage(path)
    try:
        # returns whether the file recorded these settings before (session 32's review:
        # NodeServer.settings_on_record)
        assert not check_store_settings(storage, path, _config(n=3, partitioning="strategy1"))
        assert b'"n": "3"' in (storage.get_meta(STORE_SETTINGS_META) or b"")
        assert check_store_settings(storage, path, _config(n=3, partitioning="strategy1"))
        check_store_settings(storage, path, _config(n=3, partitioning="strategy1", r=1, w=1))
        cases = {(("n", 2),): ["n '3' then, '2' now"],
                 (("tokens_per_node", 16),): ["tokens_per_node '8' then, '16' now"],
                 (("ring_seed", 7), ("n", 2)): ["n '3' then, '2' now",
                                                "ring_seed '0' then, '7' now"],
                 (("partitioning", "strategy3"),): ["partitioning 'strategy1' then, "
                                                    "'strategy3' now"]}
        for changes, named in cases.items():
            with pytest.raises(errors.ConfigError) as refused:
                check_store_settings(storage, path,
                                     _config(**{"partitioning": "strategy1", **dict(changes)}))
            for text in named:
                assert text in str(refused.value), refused.value
            assert str(path) in str(refused.value) and "--adopt-store" in str(refused.value)
        # a setting the strategy does not read is not compared (strategy 1: partitions)
        check_store_settings(storage, path, _config(partitioning="strategy1", partitions=32))
        assert not check_store_settings(storage, path, _config(n=2, partitioning="strategy1"),
                                        adopt=True)
        assert check_store_settings(storage, path, _config(n=2, partitioning="strategy1"))
        with pytest.raises(errors.ConfigError, match="n '2' then, '3' now"):
            check_store_settings(storage, path, _config(n=3, partitioning="strategy1"))
    finally:
        storage.close()


def test_a_file_that_records_none_is_taken_and_recorded(tmp_path: Path) -> None:
    path = tmp_path / "n1.sqlite"
    storage = SqliteStorage(path)
    try:
        for row in (None, b"", b"garbage", b"[1]"):
            if row is not None:
                storage.set_meta(STORE_SETTINGS_META, row)
            check_store_settings(storage, path, _config(n=2))
            check_store_settings(storage, path, _config(n=2))
            with pytest.raises(errors.ConfigError):
                check_store_settings(storage, path, _config(n=3))
    finally:
        storage.close()


def test_vdynamo_serve_exits_2_on_a_file_that_ran_with_another_n(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    storage = SqliteStorage(tmp_path / "n1.sqlite")
    try:
        check_store_settings(storage, tmp_path / "n1.sqlite",
                             ClusterConfig(nodes=("n1", "n2"), n=2, secret=SECRET))
    finally:
        storage.close()
    config = tmp_path / "cluster.toml"
    config.write_text('[cluster]\nnodes = ["n1", "n2"]\nn = 1\nr = 1\nw = 1\n'
                      f'secret = "{SECRET.decode()}"\n'
                      '[nodes.n1]\npeer = "127.0.0.1:0"\nhttp = "127.0.0.1:0"\n'
                      '[nodes.n2]\npeer = "127.0.0.1:0"\nhttp = "127.0.0.1:0"\n')
    config.chmod(0o600)
    policy = asyncio.get_event_loop_policy()
    assert main([str(config), "--all"]) == 2  # before: served (its peers refused it)
    assert asyncio.get_event_loop_policy() is policy
    err = capsys.readouterr().err
    assert "n1.sqlite: this data file's node last ran with other [cluster] settings" in err
    assert "n '2' then, '1' now" in err, err


def test_adopt_store_takes_n_but_no_ring_setting(tmp_path: Path) -> None:
    """Session 32's review: five ``vdynamo serve`` nodes, N = 3, 40 keys written at
    W = 3, every node restarted with ``partitions`` 64 -> 32 and ``--adopt-store``:
    the ring was redrawn (13 tokens a node -> 6 or 7) with no handover, and once every
    node was ready 2 of the 40 keys read 404 at R = 1 through n1 (0 with the settings
    unchanged). A change of a ring setting is refused even with ``adopt``, naming it;
    ``n`` is still taken."""
    path = tmp_path / "n1.sqlite"
    storage = SqliteStorage(path)
    try:
        check_store_settings(storage, path, _config())
        for changes, named in (({"partitions": 32}, "partitions '64' then, '32' now"),
                               ({"ring_seed": 7}, "ring_seed '0' then, '7' now"),
                               ({"partitioning": "strategy1"}, "partitioning 'strategy3' then"),
                               ({"n": 2, "partitions": 32}, "partitions '64' then")):
            with pytest.raises(errors.ConfigError, match="--adopt-store does not take") as refused:
                check_store_settings(storage, path, _config(**changes), adopt=True)
            assert named in str(refused.value) and "n '3'" not in str(refused.value)
        assert not check_store_settings(storage, path, _config(n=2), adopt=True)
        assert check_store_settings(storage, path, _config(n=2))
    finally:
        storage.close()
