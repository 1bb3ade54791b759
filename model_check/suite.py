"""The curated default suite: configurations with the verdicts they must produce.

Each :class:`SuiteEntry` pairs a configuration (``model_check/configs/*.toml``)
with the expected verdict of every property and, for each expected violation,
the length (number of actions) of the shortest counterexample. ``vdynamo check``
with no configuration runs :data:`DEFAULT_SUITE` and succeeds when every verdict
is as expected; the tests pin the same numbers.

A note on honesty: where the spec showed an expectation of the issue to be
wrong, the entry keeps the spec's verdict and says so in its ``note``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from spec.config import Config, load_config

__all__ = ["CONFIG_DIR", "DEFAULT_SUITE", "PROPERTY_NAMES", "SuiteEntry", "entry"]

CONFIG_DIR = Path(__file__).with_name("configs")

PROPERTY_NAMES = (
    "acked_writes_durable",
    "read_your_writes",
    "siblings_are_antichain",
    "hint_kept_until_acked",
    "context_collapses_siblings",
    "convergence",
)

Expected = Literal["holds", "violated"]


@dataclass(frozen=True)
class SuiteEntry:
    """One configuration of the suite, its expected verdicts and why."""

    name: str
    config: Config
    expected: Mapping[str, Expected]
    note: str
    counterexample_length: Mapping[str, int] = field(default_factory=dict)
    distinct_states: int | None = None
    """The number of distinct states explored with symmetry on (pinned by tests)."""


def _entry(
    name: str,
    note: str,
    violated: Mapping[str, int] | None = None,
    distinct_states: int | None = None,
) -> SuiteEntry:
    config = load_config(CONFIG_DIR / f"{name}.toml")
    violated = dict(violated or {})
    expected: dict[str, Expected] = {
        p: ("violated" if p in violated else "holds") for p in PROPERTY_NAMES
    }
    return SuiteEntry(
        name=name,
        config=config,
        expected=MappingProxyType(expected),
        note=note,
        counterexample_length=MappingProxyType(violated),
        distinct_states=distinct_states,
    )


DEFAULT_SUITE: tuple[SuiteEntry, ...] = (
    _entry(
        "strict-dvv",
        "strict quorum, R + W > N, dvv, one drop and one crash: every property holds",
        distinct_states=16_132,
    ),
    _entry(
        "strict-client-vclock",
        "as strict-dvv with client-side vector clocks: every property holds",
        distinct_states=16_132,
    ),
    _entry(
        "strict-weak-quorum",
        "a strict quorum with R + W <= N (R=2, W=1) and no fault at all: the put is "
        "acknowledged by its coordinator alone and a get's two responses come from the "
        "replicas that have not seen it yet: read_your_writes is violated",
        {"read_your_writes": 4},
        distinct_states=881,
    ),
    _entry(
        "sloppy-crash",
        "sloppy quorum with one crash: the put is acknowledged by the coordinator and a "
        "fallback (hint), the get reads two nodes that have not seen it: read_your_writes "
        "is violated; hinted handoff keeps the write, so acked_writes_durable holds",
        {"read_your_writes": 7},
        distinct_states=22_082,
    ),
    _entry(
        "sloppy-partition",
        "as sloppy-crash with one partition instead of a crash",
        {"read_your_writes": 7},
        distinct_states=30_016,
    ),
    _entry(
        "lww-two-clients",
        "last-writer-wins, two clients write one key concurrently: the write with the "
        "lower timestamp is discarded after it was acknowledged",
        {"acked_writes_durable": 7},
        distinct_states=1_402,
    ),
    _entry(
        "server-vclock-same-coordinator",
        "the paper's coordinator-generated clocks: two writes through one coordinator from "
        "the same (empty) context get {A: 1} and {A: 2}; the second silently supersedes "
        "the acknowledged first",
        {"acked_writes_durable": 7},
        distinct_states=138,
    ),
    _entry(
        "client-vclock-same-coordinator",
        "the same workload with client-side clocks: the writes are siblings, none is lost",
        distinct_states=119,
    ),
    _entry(
        "dvv-same-coordinator",
        "the same workload with dotted version vectors: the writes are siblings, none is lost",
        distinct_states=138,
    ),
    _entry(
        "sloppy-no-handoff",
        "sloppy quorum without hinted handoff or anti-entropy, one crash: a hint on a "
        "fallback never reaches its intended node, so the replicas never converge",
        {"convergence": 2},
        distinct_states=504,
    ),
    _entry(
        "dvv-context-collapses",
        "dvv, one client: two blind puts become siblings, a get returns both and a put with "
        "that context collapses them: every property holds, none vacuously",
        distinct_states=630,
    ),
    _entry(
        "lww-blind-rewrite",
        "last-writer-wins, one client writing twice without reading: the second put's "
        "coordinator may not have seen the first and gives it a lower timestamp, so one "
        "acknowledged write is discarded even without concurrency",
        {"acked_writes_durable": 7},
        distinct_states=616,
    ),
    _entry(
        "client-vclock-blind-rewrite",
        "client-side clocks, one client writing twice without reading: {c1: 2} dominates "
        "{c1: 1} and the first write is discarded. A violation under the ghost history's "
        "definition (what the client read, plus itself: session order does not count); "
        "dvv keeps both as siblings. Not one of the issue's expectations: a finding",
        {"acked_writes_durable": 7},
        distinct_states=469,
    ),
    _entry(
        "strict-no-anti-entropy",
        "without anti-entropy and read repair, a replica whose copy of the put was dropped "
        "never learns it: convergence is violated",
        {"convergence": 2},
        distinct_states=79,
    ),
)


def entry(name: str) -> SuiteEntry:
    """The suite entry called ``name``."""
    for item in DEFAULT_SUITE:
        if item.name == name:
            return item
    raise KeyError(f"no suite entry {name!r} (known: {', '.join(e.name for e in DEFAULT_SUITE)})")
