"""The spec's ``features.read_repair_fallbacks`` (session 27): read repair of a get
answered by a fallback of a sloppy quorum (spec/read_repair.py). ``true`` (the
default, riak_kv's): every stale replier is repaired, the fallback included;
``false`` (riak_kv's ``read_repair_primaryonly``, the implementation's default):
only the key's top N. The suite's ``delete-fallback-primary`` explores the second
(every property holds, no copy outside the top N to drop)."""

from __future__ import annotations

import pytest

from spec import clocks
from spec.config import Config, ConfigError
from spec.model import initial_state
from spec.read_repair import repair, repaired_nodes
from spec.state import Kind
from spec.step import Edit, plan_of

_SLOPPY = Config(name="rr-fallbacks", nodes=("n1", "n2", "n3", "n4"), n=3, r=2, w=2,
                 sloppy_quorum=True, clock="dvv", clients=1, puts_per_client=1,
                 gets_per_client=1)


def _repairs(fallbacks: bool) -> list[tuple[str, str]]:
    """The read repairs a get of ``k`` by n1 sends when n1 holds a version and n2
    (a replica) and n3 (a fallback: k's top N is n4, n1, n2) answered with nothing."""
    config = _SLOPPY.replace(read_repair_fallbacks=fallbacks)
    state = initial_state(config)
    plan = plan_of(config)
    assert plan.top["k"] == ("n4", "n1", "n2")
    held = clocks.put("dvv", clocks.empty("dvv"), None, 1, "n1", "c1", 0, (None,),
                      actor="n1")[0]
    empty = clocks.empty("dvv")
    edit = Edit(state, plan)
    repair(edit, "n1", "k", (("n1", held), ("n2", empty), ("n3", empty)), held,
           repaired_nodes(edit, "n1", "k", ()))
    return [(m.dst, m.key) for m in edit.build().messages if m.kind is Kind.READ_REPAIR]


def test_fallbacks_are_repaired_by_default() -> None:
    assert _repairs(True) == [("n2", "k"), ("n3", "k")]


def test_only_the_top_n_is_repaired_without_read_repair_fallbacks() -> None:
    assert _repairs(False) == [("n2", "k")]


def test_the_feature_must_be_a_boolean() -> None:
    with pytest.raises(ConfigError, match="read_repair_fallbacks"):
        _SLOPPY.replace(read_repair_fallbacks="no")
