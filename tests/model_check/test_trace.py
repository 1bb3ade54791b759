"""Traces: the native versioned schema and the Informal Trace Format, both ways."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from model_check.trace import SCHEMA, Trace, TraceError, itf_decode, itf_encode


def _trace() -> Trace:
    return Trace(
        config={"name": "toy", "nodes": ["A", "B"], "n": 2},
        property="mutual_exclusion",
        kind="always",
        actions=(
            {"kind": "step", "process": 0, "from": "idle", "to": "wait"},
            {"kind": "step", "process": 1, "from": "idle", "to": "wait"},
        ),
        states=(
            {"pc": ["idle", "idle"], "stores": {"A": [], "put-1": None}, "big": 2**70},
            {"pc": ["wait", "idle"], "stores": {"A": [1], "put-1": None}, "big": 1},
            {"pc": ["wait", "wait"], "stores": {"A": [1, 2], "put-1": "x"}, "big": -(2**60)},
        ),
        description="both processes passed the check",
        violated_at=2,
        extra={"distinct_states": 12},
    )


def test_native_json_round_trip(tmp_path: Path) -> None:
    trace = _trace()
    path = trace.save(tmp_path / "sub" / "t.json")
    data = json.loads(path.read_text())
    assert data["schema"] == SCHEMA and data["property"] == "mutual_exclusion"
    assert len(data["states"]) == len(data["actions"]) + 1
    assert Trace.load(path) == trace
    assert len(trace) == 2


def test_itf_round_trip_and_shape(tmp_path: Path) -> None:
    trace = _trace()
    itf = trace.to_itf()
    assert itf["#meta"]["format"] == "ITF"
    assert itf["vars"] == ["pc", "stores", "big", "mbt::actionTaken", "mbt::nondetPicks"]
    assert [s["#meta"]["index"] for s in itf["states"]] == [0, 1, 2]
    assert itf["states"][0]["mbt::actionTaken"] == "init"
    assert itf["states"][1]["mbt::actionTaken"] == "step"
    assert itf["states"][0]["big"] == {"#bigint": str(2**70)}
    # "put-1" is no identifier: the mapping becomes a #map; None is unserializable "null".
    assert itf["states"][0]["stores"] == {
        "#map": [["A", []], ["put-1", {"#unserializable": "null"}]]
    }
    # "from" is a Python keyword: the picks record falls back to a #map as well.
    assert "#map" in itf["states"][1]["mbt::nondetPicks"]
    path = trace.save(tmp_path / "t.itf.json", itf=True)
    assert Trace.load(path) == trace


def test_itf_written_by_quint_is_read() -> None:
    quint = {
        "#meta": {"format": "ITF", "source": "bank.qnt"},
        "vars": ["balances", "mbt::actionTaken", "mbt::nondetPicks"],
        "states": [
            {"#meta": {"index": 0}, "balances": {"#map": [["alice", {"#bigint": "0"}]]},
             "mbt::actionTaken": "init",
             "mbt::nondetPicks": {"amount": {"tag": "None", "value": {"#tup": []}}}},
            {"#meta": {"index": 1}, "balances": {"#map": [["alice", {"#bigint": "5"}]]},
             "mbt::actionTaken": "deposit",
             "mbt::nondetPicks": {"amount": {"tag": "Some", "value": {"#bigint": "5"}},
                                  "who": {"tag": "None", "value": {"#tup": []}}}},
        ],
    }
    trace = Trace.from_itf(quint)
    assert trace.actions == ({"kind": "deposit", "amount": 5},)
    assert trace.states[1] == {"balances": {"alice": 5}}


def test_itf_is_readable_by_itf_py() -> None:
    itf_py = pytest.importorskip("itf_py")
    trace = _trace()
    parsed = itf_py.trace_from_json(trace.to_itf())
    assert len(parsed.states) == 3
    assert parsed.states[0].values["big"] == 2**70
    assert parsed.states[2].values["stores"]["put-1"] is not None
    assert parsed.states[1].values["mbt::actionTaken"] == "step"


def test_non_record_states_are_wrapped() -> None:
    trace = Trace({}, "p", "always", ({"kind": "inc"},), ((0, 0), (1, 0)))
    itf = trace.to_itf()
    assert itf["states"][1]["state"] == {"#tup": [1, 0]}
    assert Trace.from_itf(itf).states == ([0, 0], [1, 0])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "JSON object"),
        ({"schema": "other/9"}, "schema"),
        ({"schema": SCHEMA, "property": "p", "kind": "always", "config": {}, "actions": [],
          "states": []}, "one more state"),
        ({"schema": SCHEMA, "property": "p", "kind": "perhaps", "config": {}, "actions": [],
          "states": [{}]}, "kind"),
        ({"schema": SCHEMA, "property": "p", "kind": "always", "config": {}, "actions": [1],
          "states": [{}, {}]}, "step 1"),
        ({"schema": SCHEMA, "property": "p", "kind": "always", "config": {},
          "states": [{}]}, "'actions'"),
        ({"schema": SCHEMA, "property": "p", "kind": "always", "config": {}, "actions": [],
          "states": [{}], "violated_at": 4}, "violated_at"),
    ],
)
def test_malformed_traces_are_refused_with_the_reason(data: Any, message: str) -> None:
    with pytest.raises(TraceError, match=message):
        Trace.from_json(data)


def test_unreadable_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cannot read"):
        Trace.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(TraceError, match="not JSON"):
        Trace.load(bad)


scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3)
    | st.lists(inner, max_size=3).map(tuple)
    | st.frozensets(st.integers() | st.text(max_size=3), max_size=3)
    | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    | st.dictionaries(st.integers(), inner, max_size=3),
    max_leaves=12,
)


@given(values)
def test_itf_values_round_trip(value: Any) -> None:
    encoded = itf_encode(value)
    json.dumps(encoded)  # plain JSON
    assert itf_decode(json.loads(json.dumps(encoded))) == value


def test_the_older_liveness_kind_is_read_as_eventually() -> None:
    data = {"schema": SCHEMA, "property": "p", "kind": "liveness", "config": {}, "actions": [],
            "states": [{}]}
    assert Trace.from_json(data).kind == "eventually"
    assert Trace.from_json({**data, "kind": "sometimes"}).kind == "sometimes"
