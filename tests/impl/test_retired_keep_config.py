"""``ClusterConfig.retired_keep`` (session 34): -1 (the byte budget) or a count >= 0;
anything else is refused with a ConfigError naming the key and the value (session
34's review)."""

from __future__ import annotations

import pytest

from impl.config import ClusterConfig
from impl.errors import ConfigError

NODES = ("n1", "n2", "n3")


@pytest.mark.parametrize("keep", [-1, 0, 3])
def test_a_valid_count_is_taken(keep: int) -> None:
    assert ClusterConfig(nodes=NODES, retired_keep=keep).retired_keep == keep


@pytest.mark.parametrize(("keep", "says"), [
    (-2, "retired_keep: must be in [-1, 1048576], got -2"),
    (1.5, "retired_keep: must be an integer, got 1.5"),
    (True, "retired_keep: must be an integer, got True"),
    ("2", "retired_keep: must be an integer, got '2'"),
    (None, "retired_keep: must be an integer, got None"),
])
def test_an_invalid_count_is_refused(keep: object, says: str) -> None:
    """(mutant: the check removed from ClusterConfig.validate: every one accepted)"""
    with pytest.raises(ConfigError) as caught:
        ClusterConfig(nodes=NODES, retired_keep=keep)  # type: ignore[arg-type]
    assert says in str(caught.value)
