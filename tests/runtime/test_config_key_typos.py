"""A mistyped key of a cluster file is refused naming the key meant (session 48's new
user's walk: `[cluster] gosip_interval: not a cluster setting` and `[nodes.n2] htp:
unknown key` said neither what was meant nor what a node section takes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from impl.errors import ConfigError
from impl.runtime_config import load_runtime_config

#: one node, N = R = W = 1, a secret of 20 bytes; {cluster}: a line of [cluster],
#: {node}: the name of the key the HTTP address is given under
FILE = ('[cluster]\nnodes = ["n1"]\nn = 1\nr = 1\nw = 1\nsecret = "0123456789abcdef0123"\n'
        '{cluster}\n[nodes.n1]\npeer = "127.0.0.1:7001"\n{node} = "127.0.0.1:8001"\n')


@pytest.mark.parametrize(("cluster", "node", "said"), [
    ("gosip_interval = 0.25", "http",
     "[cluster] gosip_interval: not a cluster setting (did you mean gossip_interval?)"),
    ("quorum = 2", "http", "[cluster] quorum: not a cluster setting"),
    ("", "htp", "[nodes.n1] htp: unknown key (expected data, http, left, peer)"),
])
def test_a_mistyped_key_is_refused_naming_the_one_meant(
        tmp_path: Path, cluster: str, node: str, said: str) -> None:
    path = tmp_path / "cluster.toml"
    path.write_text(FILE.format(cluster=cluster, node=node))
    with pytest.raises(ConfigError) as refused:
        load_runtime_config(path)
    assert str(refused.value) == said
