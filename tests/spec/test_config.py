"""spec.config: every refusal names its section and key; TOML, kwargs and JSON agree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from spec.config import DEFAULT_TOML, Config, ConfigError, default_config, load_config

CONFIG_DIR = Path(__file__).resolve().parents[2] / "model_check" / "configs"


def _toml(sections: str) -> Config:
    return Config.from_toml(sections)


BAD_KWARGS: list[tuple[dict[str, Any], str]] = [
    ({"r": 4}, r"\[cluster\] r = 4 exceeds n = 3"),
    ({"w": 4}, r"\[cluster\] w = 4 exceeds n = 3"),
    ({"pr": 4}, r"\[cluster\] pr = 4 exceeds n = 3"),  # session 39: Riak's pr <= n
    ({"pw": -1}, r"\[cluster\] pw must be >= 0"),
    ({"pr": True}, r"\[cluster\] pr must be an integer"),
    ({"n": 4}, r"\[cluster\] n = 4 exceeds the number of nodes \(3\)"),
    ({"n": 0}, r"\[cluster\] n must be >= 1"),
    ({"r": 0}, r"\[cluster\] r must be >= 1"),
    ({"w": 0}, r"\[cluster\] w must be >= 1"),
    ({"r": True}, r"\[cluster\] r must be an integer"),
    ({"n": "3"}, r"\[cluster\] n must be an integer"),
    ({"drops": -1}, r"\[faults\] drops must be >= 0"),
    ({"duplicates": -2}, r"\[faults\] duplicates must be >= 0"),
    ({"crashes": -1}, r"\[faults\] crashes must be >= 0"),
    ({"partitions": -1}, r"\[faults\] partitions must be >= 0"),
    ({"clock": "hlc"}, r"\[cluster\] clock must be one of lww, server-vclock"),
    ({"coordinator": "random"}, r"\[workload\] coordinator must be one of any, top-n, first"),
    ({"nodes": ("n1", "n1", "n2")}, r"\[cluster\] nodes names 'n1' twice"),
    ({"nodes": ()}, r"\[cluster\] nodes must not be empty"),
    ({"nodes": "n1"}, r"\[cluster\] nodes must be a list of names"),
    ({"nodes": ("n1", "")}, r"\[cluster\] nodes entries must be non-empty names"),
    ({"nodes": ("n1", "c1", "n3")}, r"\[cluster\] nodes: 'c1' is also a client's name"),
    ({"keys": ()}, r"\[workload\] keys must not be empty"),
    ({"keys": ("k", "k")}, r"\[workload\] keys names 'k' twice"),
    ({"clients": 0}, r"\[workload\] clients must be >= 1"),
    ({"puts_per_client": -1}, r"\[workload\] puts_per_client must be >= 0"),
    ({"gets_per_client": 1.5}, r"\[workload\] gets_per_client must be an integer"),
    ({"sloppy_quorum": 1}, r"\[cluster\] sloppy_quorum must be true or false"),
    ({"hinted_handoff": "yes"}, r"\[features\] hinted_handoff must be true or false"),
    ({"read_repair": None}, r"\[features\] read_repair must be true or false"),
    ({"anti_entropy": 0}, r"\[features\] anti_entropy must be true or false"),
    ({"name": ""}, r"name must be a non-empty string"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_KWARGS)
def test_bad_keyword_arguments_are_refused_naming_the_key(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Config(**kwargs)


BAD_TOML = [
    ("[bogus]\nx = 1\n", r"unknown section \[bogus\]"),
    # a key outside its section was told as "unknown section [n]" (session 30's probe)
    ("n = 3\n", r"unknown top-level key 'n' \(it belongs in \[cluster\]\)"),
    ("foo = 1\n", r"unknown top-level key 'foo' \(a key belongs in its section\)"),
    ("[cluster]\nreplicas = 3\n", r"unknown key 'replicas' in \[cluster\]"),
    ("[faults]\nlosses = 1\n", r"unknown key 'losses' in \[faults\]"),
    ("cluster = 3\n", r"\[cluster\] must be a table"),
    ("[cluster]\nn = 5\n", r"\[cluster\] n = 5 exceeds the number of nodes"),
    ("[cluster]\nr = 4\n", r"\[cluster\] r = 4 exceeds n = 3"),
    ("[cluster]\nclock = 'wallclock'\n", r"\[cluster\] clock must be one of"),
    ("[faults]\ncrashes = -1\n", r"\[faults\] crashes must be >= 0"),
    ("[workload]\nkeys = []\n", r"\[workload\] keys must not be empty"),
    ("[cluster]\nsloppy_quorum = 'true'\n", r"\[cluster\] sloppy_quorum must be true or false"),
    ("[cluster\nn = 3\n", r"not valid TOML"),
]


@pytest.mark.parametrize(("text", "message"), BAD_TOML)
def test_bad_toml_is_refused_naming_section_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _toml(text)


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


def test_toml_and_keyword_arguments_agree() -> None:
    text = """
name = "four"
[cluster]
nodes = ["a", "b", "c", "d"]
n = 3
r = 1
w = 3
sloppy_quorum = true
clock = "server-vclock"
[features]
hinted_handoff = false
read_repair = false
anti_entropy = true
[faults]
drops = 2
duplicates = 1
crashes = 1
partitions = 1
[workload]
keys = ["x", "y"]
clients = 2
puts_per_client = 3
gets_per_client = 0
coordinator = "any"
"""
    expected = Config(
        name="four", nodes=("a", "b", "c", "d"), n=3, r=1, w=3, sloppy_quorum=True,
        clock="server-vclock", hinted_handoff=False, read_repair=False, anti_entropy=True,
        drops=2, duplicates=1, crashes=1, partitions=1, keys=("x", "y"), clients=2,
        puts_per_client=3, gets_per_client=0, coordinator="any",
    )
    assert Config.from_toml(text) == expected
    assert hash(Config.from_toml(text)) == hash(expected)


def test_round_trips_through_json_and_toml() -> None:
    config = Config(name="rt", nodes=("x", "y"), n=2, r=1, w=2, clock="lww", drops=1,
                    keys=("a", "b"), coordinator="first")
    through_json = Config.from_json(json.loads(json.dumps(config.to_json())))
    assert through_json == config
    assert Config.from_toml(config.to_toml()) == config
    # session 39's primary quorums: written when set, left out at 0 (an older
    # configuration's JSON and TOML, traces' included, stay as they were)
    assert "pr" not in config.to_json()["cluster"]
    primary = config.replace(pr=1, pw=2)
    assert Config.from_toml(primary.to_toml()) == primary
    assert (primary.to_json()["cluster"]["pr"], primary.to_json()["cluster"]["pw"]) == (1, 2)


def test_default_toml_is_the_documented_default() -> None:
    config = default_config()
    assert config == load_config(DEFAULT_TOML)
    assert config.name == "default"
    assert (config.n, config.r, config.w, config.clock) == (3, 2, 2, "dvv")
    assert config.nodes == ("n1", "n2", "n3")


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_every_suite_configuration_loads(path: Path) -> None:
    config = load_config(path)
    assert config.name == path.stem


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read configuration"):
        load_config(tmp_path / "absent.toml")


def test_preference_lists_follow_the_ring() -> None:
    config = Config(nodes=("n1", "n2", "n3", "n4"))
    pref = config.preference_list("k")
    assert sorted(pref) == ["n1", "n2", "n3", "n4"]
    assert config.top_n("k") == pref[:3]
    # a rotation of the ring order: every preference list of an evenly spaced ring is
    start = config.nodes.index(pref[0])
    assert pref == tuple(config.nodes[(start + i) % 4] for i in range(4))


def test_replace_validates_again() -> None:
    config = Config()
    assert config.replace(clock="lww").clock == "lww"
    with pytest.raises(ConfigError, match="exceeds"):
        config.replace(r=9)
    with pytest.raises(ConfigError, match="unknown configuration key"):
        config.replace(bogus=1)


def test_chain_puts_is_checked_written_when_set_and_refused_with_forgetful_clients() -> None:
    """Session 60's ``[workload] chain_puts``: a boolean, left out of the JSON and TOML
    when false (a trace's configuration stays as it was), round-tripped when true, and
    refused beside ``forgetful_clients`` (a client that forgets at each acknowledgement
    cannot chain what it answered). Mutants: the refusal removed (``Config`` accepts
    both: the second ``raises`` fails); the key left out of ``to_sections`` when true
    (the round trip loses it)."""
    with pytest.raises(ConfigError, match=r"\[workload\] chain_puts must be true or false"):
        Config(chain_puts=1)
    with pytest.raises(ConfigError, match=r"chain_puts = true contradicts \[workload\] "
                                          r"forgetful_clients"):
        Config(chain_puts=True, forgetful_clients=True)
    plain = Config()
    assert "chain_puts" not in plain.to_json()["workload"]
    chained = plain.replace(chain_puts=True)
    assert chained.to_json()["workload"]["chain_puts"] is True
    assert Config.from_toml(chained.to_toml()) == chained
    assert _toml("[workload]\nchain_puts = true\n").chain_puts
