"""The curated default suite: configurations with the verdicts they must produce.

Each :class:`SuiteEntry` pairs a configuration (``model_check/configs/*.toml``)
with the expected verdict of every always- and eventually-property and, for
each expected violation, the length (number of actions) of the shortest
counterexample. It also lists the sometimes-properties the configuration must
reach (``found``, with the length of the shortest trace to a witness), so that
no entry passes vacuously (a put is acknowledged, a hint is handed off, read
repair repairs, siblings appear, ...), and some it must not reach (``not
found``: lww never keeps siblings, a configuration without hinted handoff never
hands a hint off). Each entry also pins the distinct states, transitions and
depth of its search (:meth:`SuiteEntry.pinned_figures`), so that a spec change
that changes them but no verdict is noticed and they are updated on purpose.
``vdynamo check`` with no configuration runs :data:`DEFAULT_SUITE` and succeeds
when every verdict and every figure is as expected; the tests pin the same
numbers (from this table, never a copy).

A note on honesty: where the spec showed an expectation of the issue to be
wrong, the entry keeps the spec's verdict and says so in its ``note``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal, Protocol

from model_check.errors import UnknownNameError
from spec.config import Config, load_config

__all__ = ["CONFIG_DIR", "DEFAULT_SUITE", "FIGURES", "PROPERTY_NAMES", "SOAK_SUITE",
           "Figures", "SuiteEntry", "entry"]

CONFIG_DIR = Path(__file__).with_name("configs")

PROPERTY_NAMES = (
    "acked_writes_durable",
    "read_your_writes",
    "siblings_are_antichain",
    "hint_kept_until_acked",
    "context_collapses_siblings",
    "monotonic_reads",
    "no_false_concurrency",
    "sibling_bound",
    "no_resurrection",
    "convergence",
)
"""The always- and eventually-properties every entry has a verdict for."""

Expected = Literal["holds", "violated", "found", "not found"]

FIGURES = ("distinct_states", "transitions", "depth")
"""The exploration figures an entry pins (:meth:`SuiteEntry.pinned_figures`)."""


class Figures(Protocol):
    """What :meth:`SuiteEntry.figure_mismatches` reads of a search's result."""

    @property
    def distinct_states(self) -> int: ...
    @property
    def transitions(self) -> int: ...
    @property
    def depth(self) -> int: ...


@dataclass(frozen=True)
class SuiteEntry:
    """One configuration of the suite, its expected verdicts and why."""

    name: str
    config: Config
    expected: Mapping[str, Expected]
    """Property name -> its expected verdict (every name of :data:`PROPERTY_NAMES`,
    then the entry's sometimes-properties)."""
    note: str
    counterexample_length: Mapping[str, int] = field(default_factory=dict)
    """Each expected violation -> the length of its shortest counterexample."""
    distinct_states: int | None = None
    """The number of distinct states explored (every property of :attr:`expected`,
    symmetry on, no bound, no partial-order reduction)."""
    witness_length: Mapping[str, int] = field(default_factory=dict)
    """Each sometimes-property expected ``found`` -> the length of its shortest witness."""
    transitions: int | None = None
    """The number of transitions explored in the same search."""
    depth: int | None = None
    """The depth of that breadth-first search (the longest shortest path, in actions)."""

    def pinned_length(self, name: str) -> int | None:
        """The pinned counterexample or witness length of property ``name``, if any."""
        return self.counterexample_length.get(name, self.witness_length.get(name))

    def pinned_figures(self) -> dict[str, int]:
        """The exploration figures this entry pins: :data:`FIGURES` name -> value (only
        those recorded). They hold for a search of every property of :attr:`expected`
        with symmetry on, no bound and no partial-order reduction (``vdynamo check``
        with no option, ``make check``); a spec change that changes them must update
        them here on purpose."""
        figures = {"distinct_states": self.distinct_states, "transitions": self.transitions,
                   "depth": self.depth}
        return {name: value for name, value in figures.items() if value is not None}

    def figure_mismatches(self, explored: Figures,
                          names: Iterable[str] | None = None) -> list[str]:
        """One line per pinned figure among ``names`` (default: :data:`FIGURES`) that
        ``explored`` (a
        :class:`~model_check.check.CheckResult`, or anything with the three figures)
        differs from, naming the entry, the figure, the explored value and the pinned
        one: ``"strict-dvv: transitions 68,016, the suite pins 68,015"``. Empty when
        every one agrees."""
        wanted = FIGURES if names is None else tuple(names)
        return [f"{self.name}: {name} {getattr(explored, name):,}, the suite pins {value:,}"
                for name, value in self.pinned_figures().items()
                if name in wanted and getattr(explored, name) != value]


def _entry(
    name: str,
    note: str,
    violated: Mapping[str, int] | None = None,
    distinct_states: int | None = None,
    *,
    transitions: int | None = None,
    depth: int | None = None,
    found: Mapping[str, int],
    not_found: Iterable[str] = (),
) -> SuiteEntry:
    config = load_config(CONFIG_DIR / f"{name}.toml")
    violated = dict(violated or {})
    expected: dict[str, Expected] = {
        p: ("violated" if p in violated else "holds") for p in PROPERTY_NAMES
    }
    expected.update(dict.fromkeys(found, "found"))
    expected.update(dict.fromkeys(not_found, "not found"))
    return SuiteEntry(
        name=name,
        config=config,
        expected=MappingProxyType(expected),
        note=note,
        counterexample_length=MappingProxyType(violated),
        distinct_states=distinct_states,
        witness_length=MappingProxyType(dict(found)),
        transitions=transitions,
        depth=depth,
    )


# The witnesses most entries reach: a put is acknowledged (so acked_writes_durable
# is not vacuous) and the replicas converge on it (so convergence is not).
_WRITE = {"put_acknowledged": 3, "converged_after_a_write": 4}
# ... and a get begins after it (so read_your_writes is not vacuous).
_WRITE_READ = {**_WRITE, "read_after_acknowledged_write": 6}
# Two clients' puts under a drop, kept as siblings (the two-client entries that keep them).
_TWO_WRITERS_DROP = {**_WRITE, "siblings_stored": 2, "coordinator_times_out": 3,
                     "anti_entropy_repairs": 2}
# The kv679 entries (session 59: three puts and a get): a write, a read after it and a
# write with its context, siblings (the re-issued dot), and a disk lost holding data.
_KV679 = {**_WRITE_READ, "write_after_read": 7, "siblings_stored": 4,
          "disk_lost_holding_data": 2}
# The restore entries' (two nodes, R = 1): the same with a restore behind.
_RESTORE_READ = {"put_acknowledged": 3, "converged_after_a_write": 3, "siblings_stored": 4,
                 "read_after_acknowledged_write": 4, "write_after_read": 5,
                 "restored_behind": 3}
# A put at W = 1 (acknowledged at once) on two nodes (the forgetful-client entries).
_WRITE1 = {"put_acknowledged": 1, "converged_after_a_write": 2}
# The sloppy-crash entries' witnesses (sloppy-partition's and session 39's primary
# quorums' too): a fallback holds a hint and hands it off, read repair and
# anti-entropy repair.
_SLOPPY_CRASH = {**_WRITE_READ, "fallback_holds_hint": 3, "hint_handed_off": 7,
                 "coordinator_times_out": 3, "read_repair_repairs": 7,
                 "anti_entropy_repairs": 2}
# The delete-fallback entries' common witnesses (a get reads a fallback, then a delete).
_FALLBACK_READ = {**_WRITE_READ, "converged_after_a_write": 3, "read_after_read": 9,
                  "write_after_read": 7, "fallback_holds_hint": 3, "hint_handed_off": 7,
                  "coordinator_times_out": 3, "read_repair_repairs": 8,
                  "delete_acknowledged": 9, "read_after_delete": 12, "tombstone_reaped": 10}
# The delete-join entries' common witnesses (N=2, R=1: shorter than _WRITE_READ's).
_DELETE_JOIN = {"put_acknowledged": 3, "converged_after_a_write": 3,
                "read_after_acknowledged_write": 4, "read_after_read": 5,
                "write_after_read": 5, "delete_acknowledged": 7, "read_after_delete": 8,
                "tombstone_reaped": 8}

# The forwarder's entries' common witnesses (session 54's review: workload.coordinator
# = "any", N = 2 of three nodes, one partition).
_FORWARDS = {**_WRITE_READ, "converged_after_a_write": 3, "read_after_acknowledged_write": 4,
             "coordinator_times_out": 3, "anti_entropy_repairs": 2, "forward_retried": 3,
             "forwarder_coordinates": 3}

# The disk-loss-read entries' witnesses (session 55: a put, a disk loss, a get).
_DISK_READ = {**_WRITE_READ, "disk_lost_holding_data": 2, "new_actor_writes": 3,
              "coordinator_times_out": 3, "read_repair_repairs": 7, "anti_entropy_repairs": 2}

# The rebuild's rules reached (session 56: a rebuilding replica's ack and its own
# write as a coordinator not counted; model_check.rebuild_witnesses), in every entry
# with the rebuild: the only verdicts a spec mutant of those two rules changes.
_REBUILD_RULES = {"rebuilding_put_unacked": 4, "rebuilding_own_write_uncounted": 3}

# The rebuild's one-put entries' witnesses (session 55's review: a put, a disk loss).
_REBUILD_PUT = {"put_acknowledged": 3, "disk_lost_holding_data": 2, "new_actor_writes": 3,
                "coordinator_times_out": 3, "anti_entropy_repairs": 2,
                "converged_after_a_write": 4, **_REBUILD_RULES}

# The pruning entries' common witnesses (session 33: N=2, R=1, W=2, one crash).
_PRUNE = {"put_acknowledged": 3, "converged_after_a_write": 3,
          "read_after_acknowledged_write": 4, "siblings_stored": 3, "get_returns_siblings": 4,
          "write_after_read": 4, "new_actor_writes": 3, "coordinator_times_out": 3,
          "anti_entropy_repairs": 2,
          # pruning really happens in each (session 33's review: before, only the
          # violations it causes showed it)
          "retired_entry_pruned": 6}

# The two-key disk-loss entries' witnesses (session 61: N = 2, R = 1, a put and a get).
_DISK_READ_TWO_KEYS = {**_DISK_READ, "converged_after_a_write": 3,
                       "read_after_acknowledged_write": 4}
del _DISK_READ_TWO_KEYS["read_repair_repairs"]  # with the rebuild only


DEFAULT_SUITE: tuple[SuiteEntry, ...] = (
    _entry(
        "strict-dvv",
        "strict quorum, R + W > N, dvv, one drop and one crash: every property holds",
        distinct_states=16_132,
        transitions=68_015, depth=10,
        found={**_WRITE_READ, "coordinator_times_out": 3, "read_repair_repairs": 7,
               "anti_entropy_repairs": 2},
        not_found=("fallback_holds_hint",),
    ),
    _entry(
        "strict-client-vclock",
        "as strict-dvv with client-side vector clocks: every property holds",
        distinct_states=16_132,
        transitions=68_015, depth=10,
        found={**_WRITE_READ, "coordinator_times_out": 3, "read_repair_repairs": 7,
               "anti_entropy_repairs": 2},
        not_found=("fallback_holds_hint",),
    ),
    _entry(
        "strict-weak-quorum",
        "a strict quorum with R + W <= N (R=2, W=1) and no fault at all: the put is "
        "acknowledged by its coordinator alone and a get's two responses come from the "
        "replicas that have not seen it yet: read_your_writes is violated",
        {"read_your_writes": 4},
        distinct_states=881,
        transitions=3_378, depth=6,
        found={"put_acknowledged": 1, "converged_after_a_write": 3,
               "read_after_acknowledged_write": 4, "read_repair_repairs": 5,
               "anti_entropy_repairs": 2},
    ),
    _entry(
        "sloppy-crash",
        "sloppy quorum with one crash: the put is acknowledged by the coordinator and a "
        "fallback (hint), the get reads two nodes that have not seen it: read_your_writes "
        "is violated; hinted handoff keeps the write, so acked_writes_durable holds",
        {"read_your_writes": 7},
        distinct_states=22_082,
        transitions=92_597, depth=14,
        found=_SLOPPY_CRASH,
    ),
    _entry(
        "sloppy-crash-hinted-reads",
        "session 49: sloppy-crash with hinted_reads (the implementation's default: a node "
        "answers a replica-get with its copy merged with its hints of the key). Issue 12 "
        "section 6's read, which asks the fallback holding the write as a hint, now reads "
        "it: with reachability stable from the put on, read_your_writes holds (violated "
        "without hinted_reads: tests/model_check/test_hinted_reads.py). It is still "
        "violated, in 7 steps as in sloppy-crash: the put's coordinator crashes after a "
        "second replica acknowledged it and the get reads the third replica and a "
        "fallback that never held the write (the node sets changed)",
        {"read_your_writes": 7}, distinct_states=22_190, transitions=93_011, depth=14,
        found=_SLOPPY_CRASH),
    _entry(
        "sloppy-crash-pr-pw",
        "session 39: sloppy-crash with Riak's primary quorums PR = PW = 2 (PR + PW > N): "
        "a put is acknowledged only once two of the key's top N stored it themselves, a "
        "get answered only once two of its replies come from the top N, so the get meets "
        "a primary that holds the write: every property holds, read_your_writes included "
        "(a request short of its primaries fails instead; sloppy-crash-pw and "
        "sloppy-crash-pr, one of the two alone, violate it)",
        distinct_states=16_544,
        transitions=60_080, depth=16,
        found=_SLOPPY_CRASH,
    ),
    _entry(
        "sloppy-crash-pw",
        "session 39: sloppy-crash with PW = 2 alone (PR = 0): the put is acknowledged by "
        "two primaries, n1 and n2; n1 crashes, and a get through n4, whose replica-put "
        "is still in flight, reads its own copy and the fallback n3's: read_your_writes "
        "is violated (PR + PW <= N)",
        {"read_your_writes": 7},
        distinct_states=14_192,
        transitions=53_291, depth=14,
        found=_SLOPPY_CRASH,
    ),
    _entry(
        "sloppy-partition",
        "as sloppy-crash with one partition instead of a crash",
        {"read_your_writes": 7},
        distinct_states=30_013,
        transitions=115_024, depth=14,
        found=_SLOPPY_CRASH,
    ),
    _entry(
        "lww-two-clients",
        "last-writer-wins, two clients write one key concurrently: the write with the "
        "lower timestamp is discarded after it was acknowledged",
        {"acked_writes_durable": 7},
        distinct_states=1_402,
        transitions=5_982, depth=8,
        found={**_WRITE, "anti_entropy_repairs": 2},
        not_found=("siblings_stored",),
    ),
    _entry(
        "server-vclock-same-coordinator",
        "the paper's coordinator-generated clocks: two writes through one coordinator from "
        "the same (empty) context get {A: 1} and {A: 2}; the second silently supersedes "
        "the acknowledged first",
        {"acked_writes_durable": 7},
        distinct_states=138,
        transitions=586, depth=8,
        found=_WRITE,
        not_found=("siblings_stored",),
    ),
    _entry(
        "client-vclock-same-coordinator",
        "the same workload with client-side clocks: the writes are siblings, none is lost",
        distinct_states=119,
        transitions=544, depth=8,
        found={**_WRITE, "siblings_stored": 2},
    ),
    _entry(
        "dvv-same-coordinator",
        "the same workload with dotted version vectors: the writes are siblings, none is lost",
        distinct_states=138,
        transitions=586, depth=8,
        found={**_WRITE, "siblings_stored": 2},
    ),
    _entry(
        "lww-two-clients-drop",
        "last-writer-wins, two clients put the key once each through any of its top N, one "
        "message drop: both puts go through n1, v2's stamp supersedes v1 on n1 and n2 after "
        "v1 was acknowledged, and v1's last copy (its replica put to n3) is dropped",
        {"acked_writes_durable": 6},
        distinct_states=6_190,
        transitions=30_876, depth=9,
        found={**_WRITE, "coordinator_times_out": 3, "anti_entropy_repairs": 2},
        not_found=("siblings_stored",),
    ),
    _entry(
        "server-vclock-two-clients-drop",
        "the paper's coordinator clocks under the same workload and fault: through one "
        "coordinator {n1: 2} supersedes the acknowledged {n1: 1}, whose last copy is "
        "dropped in flight; through two coordinators the writes are siblings",
        {"acked_writes_durable": 6},
        distinct_states=4_633,
        transitions=24_624, depth=9,
        found={**_WRITE, "siblings_stored": 3, "coordinator_times_out": 3,
               "anti_entropy_repairs": 2},
    ),
    _entry(
        "client-vclock-two-clients-drop",
        "client-side clocks under the same workload and fault: {c1: 1} and {c2: 1} are "
        "siblings wherever they meet; a dropped replica put is repaired by anti-entropy: "
        "every property holds",
        distinct_states=4_366,
        transitions=23_796, depth=9,
        found=_TWO_WRITERS_DROP,
    ),
    _entry(
        "dvv-two-keys-drop",
        "session 31: two keys (k on n4, n1, n2; j on n2, n3, n4), two clients each "
        "putting one of them once, one message drop: every property holds per key, and "
        "a put to one key never changes the other's copies (22,756 states)",
        distinct_states=22_756,
        transitions=124_962, depth=9,
        found=_TWO_WRITERS_DROP,
    ),
    _entry(
        "dvv-two-clients-drop",
        "dotted version vectors under the same workload and fault: every property holds",
        distinct_states=7_099,
        transitions=36_984, depth=9,
        found=_TWO_WRITERS_DROP,
    ),
    _entry(
        "sloppy-no-handoff",
        "sloppy quorum without hinted handoff or anti-entropy, one crash: a hint on a "
        "fallback never reaches its intended node, so the replicas never converge",
        {"convergence": 2},
        distinct_states=504,
        transitions=1_211, depth=8,
        found={**_WRITE, "fallback_holds_hint": 3, "coordinator_times_out": 3},
        not_found=("hint_handed_off",),
    ),
    _entry(
        "dvv-context-collapses",
        "dvv, one client: two blind puts become siblings, a get returns both and a put with "
        "that context collapses them: every property holds, none vacuously",
        distinct_states=630,
        transitions=1_899, depth=15,
        found={**_WRITE_READ, "siblings_stored": 4, "siblings_collapsed": 10},
    ),
    _entry(
        "lww-blind-rewrite",
        "last-writer-wins, one client writing twice without reading: the second put's "
        "coordinator may not have seen the first and gives it a lower timestamp, so one "
        "acknowledged write is discarded even without concurrency",
        {"acked_writes_durable": 7},
        distinct_states=616,
        transitions=2_052, depth=8,
        found=_WRITE,
        not_found=("siblings_stored",),
    ),
    _entry(
        "client-vclock-blind-rewrite",
        "client-side clocks, one client writing twice without reading: before session 23 "
        "{c1: 2} dominated {c1: 1} and the first write was discarded (violated in 7). "
        "Since session 23 a put increments the entry of (coordinator actor, client) and a "
        "put whose context misses the pair's stored events takes a fresh entry: the second "
        "write is {'n1/1 c1': 1} or {'n2 c1': 1}, a sibling of the first, as dvv keeps them",
        distinct_states=607,
        transitions=2_274, depth=8,
        found={**_WRITE, "siblings_stored": 4},
    ),
    _entry(
        "client-vclock-forgetful-client-entry",
        "the rule before session 23 (client_vclock_entry = \"client\": the client's own "
        "entry, counted from the counter it sends and the coordinator's stored one) with a "
        "client that restarts after each acknowledged put (forgetful_clients): its second "
        "blind put through n1 is {c1: 2} and dominates the first, unread; through n2, which "
        "missed the first, {c1: 1} again, a reused dot (two writes, one clock)",
        {"acked_writes_durable": 4},
        distinct_states=25,
        transitions=30, depth=4,
        found={**_WRITE1, "siblings_stored": 3},
    ),
    _entry(
        "client-vclock-forgetful",
        "the same forgetful client under the session 23 rule (the default): the second "
        "blind put is {'n1/1 c1': 1} through n1 or {'n2 c1': 1} through n2, a sibling of "
        "the first either way: every property holds",
        distinct_states=21,
        transitions=28, depth=4,
        found={**_WRITE1, "siblings_stored": 2},
    ),
    _entry(
        "strict-no-anti-entropy",
        "without anti-entropy and read repair, a replica whose copy of the put was dropped "
        "never learns it: convergence is violated",
        {"convergence": 2},
        distinct_states=79,
        transitions=135, depth=5,
        found={**_WRITE, "coordinator_times_out": 3},
        not_found=("anti_entropy_repairs", "read_repair_repairs"),
    ),
    _entry(
        "disk-loss-w1",
        "W = 1 and one disk loss: the put is acknowledged on the coordinator's copy alone, "
        "its replica puts are dropped in flight and the coordinator loses its disk: the "
        "acknowledged write is gone (issue 10: durability that can fail; the rebuild, on "
        "by default since session 60, cannot bring back a write no other disk holds)",
        {"acked_writes_durable": 4},
        distinct_states=2_269,  # 607 without the rebuild (before session 60)
        transitions=8_418, depth=10,
        found={"put_acknowledged": 1, "converged_after_a_write": 3,
               "disk_lost_holding_data": 2, "rebuilding_own_write_uncounted": 3},
    ),
    _entry(
        "disk-loss-w2",
        "the same with W = 2: the put is on two disks before it is acknowledged, and one "
        "disk loss cannot lose it (with the rebuild, on by default since session 60)",
        distinct_states=5_224,  # 1,909 without the rebuild (before session 60)
        transitions=20_505, depth=11,
        found={**_WRITE, "disk_lost_holding_data": 2, "new_actor_writes": 3,
               **_REBUILD_RULES},
    ),
    _entry(
        "dvv-amnesia-naive-actor",
        "key amnesia (Riak's kv679): after a disk loss the key's coordinator mints under its "
        "bare name again and re-issues the dot (n3, 1) for v2, which n1 acknowledges "
        "holding v1 under it; the client's get through n3 reads n1's v1 for that dot, and "
        "v3, put with its context, is minted under (n3, 2) and overwrites v2, "
        "acknowledged, on n3, its only copy (v3's history holds v1, not v2). "
        "Three puts and a get since session 59 (four blind puts before: the fourth reached "
        "(n3, 2) past the pair (n3, c1); it takes a fresh pair now, spec.dvv.dot_actor). "
        "Session 60: with the rebuild (on by default) n3 answers no read until it "
        "exchanged with n1 and n2 and counts nothing until its Rebuilt step, and the "
        "amnesia survives it (the rebuilt n3 still re-issues (n3, 1)): acked_writes_durable "
        "in 17 steps (14 without the rebuild), read_your_writes in 14 (8 without: the get "
        "after the disk loss, disk-loss-read's kind, is gone; a get of a re-issued dot "
        "now), convergence in 8 (8)",
        {"acked_writes_durable": 17, "read_your_writes": 14, "convergence": 8},
        # 86,800 without the rebuild (before session 60); 39,636 with four blind puts
        # before session 59
        distinct_states=252_024,
        transitions=1_304_866, depth=24,
        found={**_KV679, **_REBUILD_RULES},
        not_found=("new_actor_writes",),
    ),
    _entry(
        "dvv-amnesia-actor-epochs",
        "the same with an actor per storage lifetime (the default): the node's new dots are "
        "(n3~1, k), which no replica has seen; nothing is lost. Session 60: with the "
        "rebuild (on by default) every property holds; without it read_your_writes was "
        "violated in 8 steps (the get after the disk loss, disk-loss-read's kind, not the "
        "actor's)",
        # 117,529 without the rebuild (before session 60); 54,929 with four blind puts
        # before session 59
        distinct_states=266_103,
        transitions=1_350_516, depth=24,
        found={**_KV679, "new_actor_writes": 3, **_REBUILD_RULES},
    ),
    _entry(
        "dvv-buffered-crash-naive-actor",
        "the same amnesia from a buffered storage engine: a crash loses the writes not yet "
        "flushed, and the naive actor re-issues a dot (three puts and a get since session "
        "59, four blind puts before)",
        {"acked_writes_durable": 14, "read_your_writes": 8, "convergence": 8},
        distinct_states=101_449,  # 45,973 with four blind puts before session 59
        transitions=543_004, depth=19,
        found=_KV679,
        not_found=("new_actor_writes",),
    ),
    _entry(
        "dvv-buffered-crash-actor-epochs",
        "the same with actor epochs: every restart of a buffered node mints under a new "
        "actor; nothing is lost (read_your_writes: the get after the crash's loss)",
        {"read_your_writes": 8},
        distinct_states=132_178,  # 61,266 with four blind puts before session 59
        transitions=700_521, depth=19,
        found={**_KV679, "new_actor_writes": 3},
    ),
    _entry(
        "dvv-restore-kept-actor",
        "restore from a backup with the actor kept (the implementation's actor_per_start = "
        "false): n1's disk is backed up empty, v1 is acknowledged under the dot (n1, 1) on "
        "n1 and n2, n1's disk is restored from the backup; with the counters of the "
        "backup's time n1 mints (n1, 1) again for v2 (n2 keeps v1 for it: v2's ack is "
        "empty), the client's get through n1 (R = 1) reads v2, and v3, put with that "
        "context, is minted under (n1, 2), which n2 takes as v1's successor: v1, "
        "acknowledged, is gone (docs/impl.md, 'Operation ids after a restored backup'). "
        "Three puts and a get since session 59 (four blind puts before)",
        {"acked_writes_durable": 12, "read_your_writes": 7, "convergence": 8},
        distinct_states=2_674,  # 1,373 with four blind puts before session 59
        transitions=4_759, depth=15,
        found=_RESTORE_READ,
        not_found=("new_actor_writes",),
    ),
    _entry(
        "dvv-restore-new-actor",
        "the same with a new actor for the restored disk (restore_actor = \"new\", the "
        "implementation's actor_per_start = true, its default): n1 mints under n1~1 after "
        "the restore, dots no replica has seen; nothing is lost (read_your_writes: the get "
        "of the restored disk, R = 1, reads it behind)",
        {"read_your_writes": 7},
        distinct_states=2_817,  # 1,430 with four blind puts before session 59
        transitions=4_914, depth=15,
        found={**_RESTORE_READ, "new_actor_writes": 4},
    ),
    _entry(
        "dvv-chain-fresh-pair",
        "clients that chain a put's answered context (session 60, workload.chain_puts): "
        "with n2 down the client's first two puts fail and stay in n1's copy unread, v1 "
        "under (n1, 1) and v2 under the pair (n1 c1, 1); v3 (n2 back) mints under the "
        "fresh pair (n1/1 c1, 1) and is answered {n1/1 c1: 1}; v4, put with that "
        "context, supersedes it: three siblings for three concurrent writes. The rule "
        "before session 59 (v3 under (n1, 2), beside v1, answered its context alone) "
        "breaks sibling_bound (8 steps) and no_false_concurrency (11): docs/spec.md, "
        "'Clients that chain a put's context (session 60)'",
        distinct_states=3_360, transitions=6_528, depth=18,  # 1,312 before session 61's
        # unheard acknowledgement (spec.actions.Unheard)
        found={"put_acknowledged": 3, "converged_after_a_write": 3,
               "read_after_acknowledged_write": 4, "siblings_stored": 3,
               "get_returns_siblings": 4, "coordinator_times_out": 3,
               "anti_entropy_repairs": 2, "write_after_own_write": 4,
               "fresh_pair_minted": 4},
    ),
    _entry(
        "dvv-chain-two-clients",
        "the same with two clients of three chained puts each (no get): a fresh pair "
        "after one client's failed put past the other's unread value, and the chained "
        "put after it supersedes it; client symmetry renames the pair ids of the "
        "answered contexts. The rule before session 59 breaks sibling_bound (8 steps)",
        distinct_states=67_497, transitions=200_244, depth=24,  # 14,223 before session
        # 61's unheard acknowledgement (spec.actions.Unheard)
        found={"put_acknowledged": 3, "converged_after_a_write": 3, "siblings_stored": 2,
               "coordinator_times_out": 3, "anti_entropy_repairs": 2,
               "write_after_own_write": 4, "fresh_pair_minted": 4},
        not_found=("read_after_acknowledged_write",),
    ),
    _entry(
        "lww-skew-wall-clock",
        "lww stamped with the coordinator's wall clock, n1 two ticks ahead: a client reads "
        "v1 (written through n1) and writes v2 with that context through n2; v2 is "
        "acknowledged and loses to v1 everywhere (Jepsen's Cassandra/Riak lww findings)",
        {"acked_writes_durable": 10},
        distinct_states=1_861,
        transitions=7_111, depth=11,
        found={**_WRITE_READ, "write_after_read": 7},
        not_found=("siblings_stored",),
    ),
    _entry(
        "lww-skew-hybrid",
        "the same with the hybrid logical clock (the default): v2's stamp exceeds its "
        "context's, so the read-then-write wins whatever the skew",
        distinct_states=1_955,
        transitions=7_587, depth=11,
        found={**_WRITE_READ, "write_after_read": 7},
        not_found=("siblings_stored",),
    ),
    _entry(
        "client-vclock-truncated",
        "client-side clocks truncated past one pair (paper 4.4): c2 reads v1 {c1: 1} and "
        "writes v2, whose clock {c1: 1, c2: 1} is truncated to {c2: 1}; v2 no longer "
        "dominates v1, and replicas keep both as (false) siblings that a get returns",
        {"no_false_concurrency": 10, "sibling_bound": 5},
        distinct_states=3_493,
        transitions=13_996, depth=14,
        found={**_WRITE_READ, "siblings_stored": 2, "get_returns_siblings": 7,
               "write_after_read": 5, "clock_truncated": 5},
    ),
    _entry(
        "client-vclock-untruncated",
        "the same without truncation (the default): v2's clock dominates v1's; the only "
        "siblings are truly concurrent writes",
        distinct_states=3_453,
        transitions=13_868, depth=14,
        found={**_WRITE_READ, "siblings_stored": 2, "get_returns_siblings": 7,
               "write_after_read": 5},
        not_found=("clock_truncated",),
    ),
    _entry(
        "server-vclock-truncated",
        "the paper's coordinator clocks truncated past one pair: a read-then-write through "
        "another coordinator gets {n1: 1, n3: 1}, truncated to {n1: 1}, which no longer "
        "dominates the version it read: a replica keeps both as siblings",
        {"sibling_bound": 7},
        distinct_states=2_261,
        transitions=9_249, depth=11,
        found={**_WRITE_READ, "siblings_stored": 7, "write_after_read": 7,
               "clock_truncated": 7},
    ),
    _entry(
        "server-vclock-untruncated",
        "the same without truncation (the default): the read-then-write supersedes what it "
        "read",
        distinct_states=1_955,
        transitions=7_587, depth=11,
        found={**_WRITE_READ, "write_after_read": 7},
        not_found=("siblings_stored", "clock_truncated"),
    ),
    _entry(
        "strict-dvv-reread",
        "R + W > N, one crash, one client putting then reading twice: the coordinator "
        "crashes after writing locally, a first get reads its copy, a second reads two "
        "nodes the write has not reached: a later read returns less than an earlier one "
        "(read repair is asynchronous)",
        {"monotonic_reads": 10},
        distinct_states=26_714,
        transitions=104_228, depth=13,
        found={**_WRITE_READ, "read_after_read": 9, "coordinator_times_out": 3,
               "read_repair_repairs": 7},
    ),
    _entry(
        "strict-read-all-reread",
        "the same with R = N = 3: every get reads every replica, whose stores only grow; "
        "reads are monotonic",
        distinct_states=33_336,
        transitions=130_916, depth=18,
        found={"put_acknowledged": 3, "converged_after_a_write": 4,
               "read_after_acknowledged_write": 8, "read_after_read": 13,
               "coordinator_times_out": 3, "read_repair_repairs": 9},
    ),
    _entry(
        "delete-immediate",
        "one read-modify-write client puts, reads, deletes with the get's context and "
        "reads again; tombstones are reaped as soon as the delete is acknowledged: the "
        "replica whose copy of the put was still in flight answers the next get with the "
        "deleted value (no_resurrection violated); the reaped replicas never converge "
        "with it again without anti-entropy",
        {"no_resurrection": 13, "convergence": 11},
        # 128,103 states and 521,805 transitions before session 39 (read repair writes
        # no tombstone into an empty copy)
        distinct_states=124_479,
        transitions=508_557, depth=17,
        found={**_WRITE_READ, "read_after_read": 9, "read_repair_repairs": 7,
               "delete_acknowledged": 9, "read_after_delete": 12, "tombstone_reaped": 10},
    ),
    _entry(
        "delete-safe",
        "the same with safe reaping: a node reaps its copy of only tombstones once no "
        "replica, up or down, holds a version an acknowledged delete covers and nothing "
        "about the key is in flight but a get that holds nothing a delete covers: "
        "nothing deleted comes back, and a reap passes a get in progress "
        "(reaped_during_get)",
        # 12,837 states and 41,424 transitions before session 39 (a get in progress
        # held every reap of its key off; read repair wrote tombstones into empty copies)
        distinct_states=14_130,
        transitions=47_217, depth=17,
        found={**_WRITE_READ, "read_after_read": 9, "read_repair_repairs": 7,
               "delete_acknowledged": 9, "read_after_delete": 12, "tombstone_reaped": 12,
               "reaped_during_get": 13},
    ),
    _entry(
        "delete-safe-drop",
        "safe reaping with one lost message: a replica that missed the delete for good "
        "keeps the key from being reaped (it holds a version the delete covers), so "
        "nothing deleted comes back; convergence fails on the lost message alone (no "
        "anti-entropy, no get left to repair it)",
        {"convergence": 8},
        distinct_states=57_239,  # 52,757 (200,622 transitions) before session 39
        transitions=222_798, depth=18,
        found={**_WRITE_READ, "read_after_read": 9, "read_repair_repairs": 7,
               "coordinator_times_out": 3, "delete_acknowledged": 9, "read_after_delete": 12,
               "tombstone_reaped": 12, "reaped_during_get": 13},
    ),
    _entry(
        "delete-concurrent-put",
        "two read-modify-write clients each put, read and delete with the get's context "
        "(N = 2, safe reaping): a put concurrent with a delete survives as a sibling of "
        "its tombstone, and no acknowledged write the delete did not cover is lost (a "
        "node that reaped its copy mints its next put under a new actor: kv679)",
        # 15,155 before session 26's tombstone collapse, 15,737 before session 29's
        # (coordinator, client) dots (spec.dvv.dot_actor), 15,803 before session 38's
        # ghost fix (a delete takes over the tombstones it drops: more states told
        # apart by the histories; the same verdicts), 15,865 (34,808 transitions)
        # before session 39's reaps past gets and read repair
        distinct_states=19_799,
        transitions=47_744, depth=26,
        found={"put_acknowledged": 3, "converged_after_a_write": 3,
               "read_after_acknowledged_write": 6, "siblings_stored": 2,
               "get_returns_siblings": 7, "delete_acknowledged": 9, "tombstone_reaped": 10,
               "put_survives_delete": 13, "new_actor_writes": 11, "reaped_during_get": 11},
    ),
    _entry(
        "delete-retry",
        "one read-modify-write client puts, reads, deletes twice with the one get's "
        "context (a retried delete, session 26) and reads again; safe reaping: the "
        "second delete drops the first's tombstone where it meets it "
        "(spec.dvv.drop_superseded) and nothing deleted comes back",
        # 41,217 with the tombstones kept; 41,223 before session 38's ghost fix (the
        # second delete takes over the first's history where it drops it); 41,235
        # (150,882 transitions, siblings_stored in 18) before session 39: a reap
        # passes the get that read n3 before the first delete reached it, the get
        # answers not found with no context and the retry's tombstone is a sibling
        distinct_states=38_484,
        transitions=140_301, depth=23,
        found={"put_acknowledged": 3, "read_after_acknowledged_write": 6,
               "siblings_stored": 18, "read_after_read": 9, "write_after_read": 7,
               "new_actor_writes": 16, "read_repair_repairs": 7,
               "converged_after_a_write": 4, "delete_acknowledged": 9,
               "read_after_delete": 12, "tombstone_reaped": 12, "reaped_during_get": 13},
    ),
    _entry(
        "delete-safe-strict-crash",
        "safe reaping, strict quorum, one crash: a delete whose coordinator crashes "
        "before acknowledging it is indeterminate, its replica puts may land and its "
        "tombstones be reaped, so the versions it covers may go (acked_writes_durable "
        "exempts them) and nothing acknowledged as deleted comes back; a put whose "
        "coordinator crashed is read by one quorum and not the next (monotonic_reads), "
        "and the crashed coordinator's copies are never repaired (convergence)",
        {"monotonic_reads": 10, "convergence": 7},
        distinct_states=190_283,  # 177,893 (665,108 transitions) before session 39
        transitions=725_006, depth=19,
        found={**_WRITE_READ, "read_after_read": 9, "write_after_read": 7,
               "coordinator_times_out": 3, "read_repair_repairs": 7,
               "delete_acknowledged": 9, "read_after_delete": 12, "tombstone_reaped": 11},
        # (reaped_during_get is found in 12 steps, past CI's bounded search of it)
    ),
    _entry(
        "delete-join-pending",
        "issue 11: n3 joins n1, n2 (N=2, R=1, W=2, no fault) while one read-modify-write "
        "client puts, reads, deletes and reads again; pending ownership and safe reaping, "
        "whose guards ask the members of the reaping node's view and wait until they all "
        "share its view: every property holds; a put coordinated by a node that had not "
        "heard of the settlement writes a late copy to the old owner n2, which the reap "
        "drops (outside_copy_dropped)",
        # 7,453 before the late re-transfer (session 35), 7,867 before its review let a
        # stale copy in flight (one the receiver holds) no longer hold the handover;
        # 8,251 (23,163 transitions, depth 29) before session 39, whose read repair
        # writes no tombstone into an empty copy: its one read repair that changed a
        # store (18 steps) wrote the tombstone back into n1 after n1 reaped it.
        # Without a fault no read repair can change a store here (session 41): every
        # write is acknowledged only by W = 2 in each of the old and the new top N
        # (all three nodes), the one client waits for it, and a get with a single
        # reply (R = 1, the coordinator's own in both groups) repairs nothing; the
        # only stale copies are reaped ones. delete-join-drop (below) is the witness
        distinct_states=8_201,
        transitions=23_676, depth=25,
        found={**_DELETE_JOIN, "outside_copy_dropped": 21,
               "range_transferred": 6, "change_completed": 9, "joined_node_coordinates": 7,
               "late_write_forwarded": 12, "reaped_during_get": 17},
        not_found=("read_repair_repairs",),
    ),
    _entry(
        "delete-join-drop",
        "session 41: delete-join-pending with one message drop, every request through "
        "the first of the key's serving top N (n1, then n3 once it knows the handover): "
        "a replica put to n1 is dropped, its put (or delete) fails, and n3's get by "
        "joint quorum reads n1's stale copy and read-repairs it: the failed put's v1 into "
        "n1's empty store (13 steps), or the failed delete's tombstone over n1's v1 (17); "
        "without anti-entropy the dropped write is never repaired otherwise "
        "(convergence), and a failed put read once by n1 is not read by n3's joint "
        "quorum of n3 and n2, which the empty range transfer left without it "
        "(monotonic_reads)",
        {"monotonic_reads": 13, "convergence": 4},
        distinct_states=15_643,
        transitions=49_368, depth=27,
        found={**_DELETE_JOIN, "coordinator_times_out": 3, "read_repair_repairs": 13,
               "outside_copy_dropped": 25, "range_transferred": 7, "change_completed": 9,
               "joined_node_coordinates": 7, "late_write_forwarded": 13,
               "reaped_during_get": 17},
    ),
    _entry(
        "delete-leave-pending",
        "issue 11, rev4 F2: one of n1..n3 leaves (N=2, R=1, W=2, no fault) while one "
        "read-modify-write client puts, reads, deletes and reads again; pending "
        "ownership and safe reaping, whose guard 3 asks the rings before and after the "
        "change (a leaving node included): every property holds; asking only the ring "
        "after it (mutant S1) keeps the verdicts but enables reaps this pins "
        "(22,788 states, 67,710 transitions, before session 35's late re-transfer)",
        # 21,532 before the late re-transfer (session 35), 22,360 before its review,
        # 23,256 (68,642 transitions) before session 39
        distinct_states=23_930,
        transitions=72_066, depth=28,
        found={**_DELETE_JOIN, "read_repair_repairs": 16, "range_transferred": 6,
               "change_completed": 5, "late_write_forwarded": 12, "reaped_during_get": 17},
        not_found=("outside_copy_dropped", "joined_node_coordinates"),
    ),
    _entry(
        "delete-join-immediate",
        "the same with the naive handover: n3 answers a get from its empty store before "
        "the range reached it (read_your_writes, monotonic_reads); a delete n3 coordinates "
        "by the new ring misses n2, which has not heard of the join and answers the next "
        "get with the deleted value (no_resurrection); a put n3 coordinates before the "
        "others heard of it is refused by them (convergence)",
        {"read_your_writes": 5, "monotonic_reads": 6, "no_resurrection": 10,
         "convergence": 3},
        distinct_states=9_161,  # 8,730 (depth 18) before the late re-transfer (session 35)
        transitions=22_704, depth=20,
        found={**_DELETE_JOIN, "put_survives_delete": 9, "outside_copy_dropped": 15,
               "range_transferred": 5, "change_completed": 5, "joined_node_coordinates": 2,
               "late_write_forwarded": 12},
    ),
    _entry(
        "delete-fallback-copy",
        "sloppy quorum on n1..n3 (N=2, k's top N n1, n3), one crash: a get while n1 is "
        "down reads the fallback n2 and read-repairs the put into n2's store, a copy no "
        "replica owns; safe reaping drops it as a step of its own once a replica's "
        "tombstones dominate it (before, it refused every reap of the key for ever): "
        "every property holds",
        distinct_states=13_210,  # 13,016 (32,860 transitions) before session 39
        transitions=33_768, depth=24,
        found={**_FALLBACK_READ, "outside_copy_dropped": 13, "reaped_during_get": 11},
    ),
    _entry(
        "delete-fallback-primary",
        "session 27: delete-fallback-copy with read repair of the key's replicas only "
        "(features.read_repair_fallbacks = false, riak_kv's read_repair_primaryonly, the "
        "implementation's default): the get while n1 is down reads the fallback n2 and "
        "leaves it as it is, so no copy outside the top N comes about and no reap has one "
        "to drop: every property holds",
        distinct_states=8_102,  # 7,638 (17,252 transitions) before session 39
        transitions=18_920, depth=22,
        found={**_FALLBACK_READ, "reaped_during_get": 11},
        not_found=("outside_copy_dropped",),
    ),
    _entry(
        "delete-restore-after-reap",
        "a node restored from a backup taken before a delete, after the tombstone was "
        "reaped (session 13; N = R = W = 2 on n1, n2, dvv, safe reaping, a new actor at "
        "every start): n2 is backed up holding v1 while the delete is in flight, the "
        "delete is acknowledged, n1 reaps (no store holds v1, only the backup), a get "
        "begins, n2 is restored and recovers, and the get returns v1 from n2 "
        "(no_resurrection violated); the implementation pins the same fault "
        "(tests/impl/test_restore_after_reap.py, a strict xfail)",
        {"no_resurrection": 16},
        distinct_states=3_218,  # 2,833 (5,352 transitions) before session 39
        transitions=6_976, depth=23,
        found={"put_acknowledged": 3, "converged_after_a_write": 3,
               "read_after_acknowledged_write": 6, "read_after_read": 9,
               "write_after_read": 7, "restored_behind": 3, "new_actor_writes": 4,
               "coordinator_times_out": 4, "read_repair_repairs": 8,
               "anti_entropy_repairs": 2, "delete_acknowledged": 9, "read_after_delete": 12,
               "tombstone_reaped": 10, "reaped_during_get": 11},
    ),
    _entry(
        "delete-restore-keep",
        "the same with delete_mode = \"keep\" (docs/runtime.md, 'Back up'): tombstones "
        "are never reaped, so the restored v1 meets a tombstone that dominates it in "
        "every get (R = N) and in anti-entropy: every property holds",
        distinct_states=1_545,  # 1,540 (2,612 transitions) before session 39
        transitions=2_617, depth=16,
        found={"put_acknowledged": 3, "converged_after_a_write": 3,
               "read_after_acknowledged_write": 6, "read_after_read": 9,
               "write_after_read": 7, "restored_behind": 3, "new_actor_writes": 4,
               "coordinator_times_out": 4, "read_repair_repairs": 8,
               "anti_entropy_repairs": 2, "delete_acknowledged": 9, "read_after_delete": 12},
        not_found=("tombstone_reaped",),
    ),
    _entry(
        "join-immediate",
        "issue 11's case 07: n4 joins n1..n3 (N=3, R=2, W=2, no fault) while one client "
        "puts and then reads; with the naive handover n4 serves its range at once: it "
        "coordinates the client's get before the range was transferred and answers from "
        "its empty store and a replica the put had not reached yet (read_your_writes "
        "violated); a put n4 coordinates before the others heard of it is refused by them "
        "and, without anti-entropy, its copy on n4 never converges with theirs "
        "(convergence violated)",
        {"read_your_writes": 8, "convergence": 4},
        distinct_states=31_479,  # 31,428 before the late re-transfer (session 35)
        transitions=167_555, depth=18,
        found={**_WRITE_READ, "read_repair_repairs": 7, "coordinator_times_out": 4,
               "range_transferred": 5, "change_completed": 5, "joined_node_coordinates": 2},
        # (one put: no write reaches the old owner after its transfer)
        not_found=("late_write_forwarded",),
    ),
    _entry(
        "join-pending",
        "the same join with pending ownership: writes go to the old and the new top N "
        "(W within each), reads are served by the old top N until the transfer "
        "completed, then by joint quorums until every member settled: every property "
        "holds",
        distinct_states=38_232,  # 38,007 before the late re-transfer (session 35)
        transitions=212_570, depth=26,
        found={**_WRITE_READ, "read_repair_repairs": 7, "range_transferred": 7,
               "change_completed": 11, "joined_node_coordinates": 8},
        not_found=("late_write_forwarded",),
    ),
    _entry(
        "leave-pending",
        "one of n1..n4 leaves with pending ownership while one client puts and then "
        "reads (N=3, R=2, W=2, no fault): the leaving node transfers its range to the "
        "node that takes its place and empties its copy once the change settled: every "
        "property holds",
        distinct_states=140_755,  # 140,080 before the late re-transfer (session 35)
        transitions=789_494, depth=26,
        found={**_WRITE_READ, "read_repair_repairs": 7, "range_transferred": 7,
               "change_completed": 6},
        not_found=("joined_node_coordinates", "late_write_forwarded"),
    ),
    _entry(
        "join-anti-entropy",
        "session 25: join-pending with anti-entropy on and no get (N=3, R=2, W=2, one "
        "put, no fault): anti-entropy pairs replicas by what they know, so n4, new in "
        "k's top N, exchanges once it and its peer know the handover, and repairs a "
        "replica the put has not reached before the change settles; n3, which leaves "
        "k's top N, still exchanges with n1 and n2 while both serve by the old ring: "
        "every property holds (read_your_writes vacuously: no get)",
        distinct_states=4_272,  # session 35: 4,219 before the late re-transfer, 3,611
        # (session 25) before the old owners' exchanges
        transitions=24_199, depth=20,
        found={**_WRITE, "anti_entropy_repairs": 2, "range_transferred": 7,
               "change_completed": 11, "anti_entropy_with_new_owner": 10},
        not_found=("joined_node_coordinates", "fallback_holds_hint", "late_write_forwarded"),
    ),
    _entry(
        "force-remove-w2",
        "session 23: one of n1..n4 crashes and a member force-removes it, down for good "
        "(N=3, R=2, W=2, one put, one crash, anti-entropy on): its copies are lost, its "
        "recover and its messages are refused, the survivors hand the key on to the node "
        "that takes its place and the claimant announces handover and settlement; W = 2 "
        "leaves a copy on a survivor: every property holds",
        distinct_states=7_012,  # session 35: the late re-transfer (6,736 before)
        transitions=24_951, depth=18,
        found={**_WRITE, "coordinator_times_out": 3, "anti_entropy_repairs": 2,
               "range_transferred": 7, "change_completed": 8, "removed_holding_data": 3,
               "anti_entropy_with_new_owner": 12},
        not_found=("joined_node_coordinates", "fallback_holds_hint", "late_write_forwarded"),
    ),
    _entry(
        "force-remove-w1",
        "the same with W = 1: the put is acknowledged by its coordinator alone, which "
        "crashes and is force-removed; its replica puts, still in flight, are refused by "
        "the members that know the removal (acked_writes_durable violated: one copy, and "
        "the removal lost it)",
        {"acked_writes_durable": 6},
        distinct_states=3_009,  # session 35: the late re-transfer (2,901 before)
        transitions=10_068, depth=17,
        found={"put_acknowledged": 1, "converged_after_a_write": 3,
               "anti_entropy_repairs": 2, "range_transferred": 7, "change_completed": 8,
               "removed_holding_data": 3, "anti_entropy_with_new_owner": 12},
        not_found=("joined_node_coordinates", "late_write_forwarded"),
    ),
    _entry(
        "dvv-prune-retired",
        "session 33 (spec/retired.py): dvv, a new actor at every start, and every write of "
        "a record drops the value-less entries of retired lifetimes (prune_retired = 0, "
        "every node knowing every retirement: prune_knowledge = \"all\"); a forgetful "
        "client writes three times through either node, one crash. Only a retired actor's "
        "entry goes, so no dot is minted twice: acked_writes_durable holds. The cost, "
        "honestly: n1's first lifetime, retired by the crash, wrote v1; n2 writes v2 over "
        "it and drops n1's entry, and v1's copy still in flight comes back as a false "
        "sibling (siblings_are_antichain and sibling_bound violated; both hold with "
        "prune_retired = -1 or 1 here, one crash retiring at most one lifetime per node)",
        {"siblings_are_antichain": 7, "sibling_bound": 7},
        distinct_states=7_488,  # session 39: the put replicated unpruned (7,142 before)
        transitions=13_650, depth=14,
        found={**_PRUNE, "siblings_collapsed": 5},
    ),
    _entry(
        "dvv-prune-retired-own",
        "dvv-prune-retired with the least knowledge (prune_knowledge = \"own\": a node "
        "knows only its own earlier lifetimes' retirements), so other nodes' value-less "
        "entries spread and a node meets its own without values, where the live-actor "
        "guard is what keeps a write (the mutant flipping or dropping it loses the "
        "acknowledged v3, 11 steps): acked_writes_durable holds. Convergence is "
        "violated: a node that pruned its own retired entry and one that keeps it differ "
        "for good, an artefact of knowledge that never grows (no gossip of retirements "
        "is modelled); false siblings as in dvv-prune-retired",
        {"siblings_are_antichain": 8, "sibling_bound": 8, "convergence": 6},
        distinct_states=6_720,  # session 39: the put replicated unpruned (6,762 before)
        transitions=13_026, depth=13,
        found={**_PRUNE, "siblings_collapsed": 5},
    ),
    _entry(
        "dvv-prune-learnt",
        "session 34 (spec/learning.py): dvv-prune-retired-own with knowledge that grows "
        "(prune_knowledge = \"learnt\": what each node knows of retirements is state, "
        "State.known; a node starts knowing its own earlier lifetimes, as in -own, learns "
        "another's retirement by the fault-free gossip step LearnRetirement or from an "
        "anti-entropy exchange, and every write prunes by what the writer knows then, as "
        "the implementation's RetiredActors do). acked_writes_durable holds, and so does "
        "convergence, violated in -own: there no knowledge moves, here the node that "
        "kept a retired entry learns the retirement and drops it at its next write "
        "(either way of learning alone suffices: gossip only 13,260 states, anti-entropy "
        "only 8,602, convergence holding in both); false siblings as in -own",
        {"siblings_are_antichain": 8, "sibling_bound": 8},
        distinct_states=12_296,  # session 39: the put replicated unpruned (12,090 before)
        transitions=26_898, depth=15,
        found={**_PRUNE, "siblings_collapsed": 5},
    ),
    _entry(
        "dvv-prune-naive",
        "the broken twin of dvv-prune-retired (prune_knowledge = \"naive\": a node counts "
        "its own live lifetime as retired): n1 mints v1 under (n1, 1), the client reads it "
        "and writes v2 through n2, n1 merges v2's record and drops its own value-less "
        "entry, then mints the blind v3 under (n1, 1) again; n2's clock covers that dot, "
        "drops v3 yet acknowledges it, and anti-entropy drops it from n1: the "
        "acknowledged v3 is lost (kv679 once more)",
        {"acked_writes_durable": 11, "siblings_are_antichain": 8, "sibling_bound": 8,
         "convergence": 5},
        distinct_states=6_770,  # session 39: the put replicated unpruned (6,830 before)
        transitions=13_602, depth=14,
        found={**_PRUNE, "siblings_collapsed": 5},
    ),
    _entry(
        "dvv-prune-retired-delete",
        "the cost of pruning with a delete (session 33): n1 writes v1 (its replica put to "
        "n2 left in flight), crashes (its first lifetime retired) and recovers; the "
        "client reads v1 and deletes it through n1; n2 merges the tombstone and drops "
        "n1's retired value-less entry; v1's replica put then reaches n2, where nothing "
        "covers it any more, and the client's next get returns v1 beside the tombstone: "
        "no_resurrection violated by a stale copy, 10 steps (with false siblings). Until "
        "session 39 the delete's coordinator replicated its record pruned, so a replica "
        "that acknowledged the delete kept v1 (9 steps); the put now goes whole and each "
        "replica prunes what it merged. monotonic_reads is violated without pruning too "
        "(r = 1 reads a copy the delete has not reached); with prune_retired = 1 here "
        "nothing is pruned and no_resurrection holds",
        {"siblings_are_antichain": 7, "monotonic_reads": 5, "no_false_concurrency": 8,
         "sibling_bound": 7, "no_resurrection": 10},
        # session 39: the put replicated unpruned (5,067 before; session 34's pruned
        # read repair: 5,043 before that)
        distinct_states=5_295,
        transitions=10_796, depth=14,
        found={**_PRUNE, "read_after_read": 4, "delete_acknowledged": 6,
               "read_after_delete": 7, "tombstone_reaped": 5, "put_survives_delete": 4},
    ),
    _entry(
        "write-failure-strict",
        "session 51: a failing disk (faults.write_failures = 2) under a strict quorum, "
        "R = W = 2 of N = 3, one drop: a replica whose disk refuses a replica-put answers "
        "replica-put-failed and a coordinator whose own write is refused counts its copy "
        "as one failed replica; neither counts towards W (riak_kv's put FSM; the "
        "implementation's ReplicaPutFailed), so an acknowledged put is stored on W "
        "nodes: every property holds, read_your_writes included; a put acknowledged "
        "after a refusal is reached in 4 steps",
        # session 55: a refusing target's later ack counts (Coordination.refused), so
        # a target given up at its refusal and one timed out are two states now
        # (9,216 states and 33,030 transitions before)
        distinct_states=9_294,
        transitions=33_246, depth=11,
        found={**_WRITE_READ, "coordinator_times_out": 3, "read_repair_repairs": 7,
               "anti_entropy_repairs": 2, "acked_after_refused_write": 4},
        not_found=("fallback_holds_hint",),
    ),
    _entry(
        "write-failure-acked",
        "session 51: write-failure-strict's broken twin (features.failed_write_acks: a "
        "refused write is acknowledged as if stored): n1's own write is refused, n2's "
        "replica put dropped, n3's write refused and acknowledged: the put is "
        "acknowledged with no copy anywhere (acked_writes_durable, 4 steps); n2 refuses "
        "and acknowledges, and a get through n2 reads n2 and n3, neither holding it "
        "(read_your_writes, 6 steps)",
        {"acked_writes_durable": 4, "read_your_writes": 6},
        distinct_states=11_493,
        transitions=46_341, depth=10,
        found={**_WRITE_READ, "coordinator_times_out": 3, "read_repair_repairs": 7,
               "anti_entropy_repairs": 2, "acked_after_refused_write": 3},
        not_found=("fallback_holds_hint",),
    ),
    _entry(
        "write-failure-same-coordinator",
        "session 51: dvv-same-coordinator with one write refused: c1's put through n3, "
        "whose own write is refused, is acknowledged by n1 and n2; n3 keeps the put's "
        "record in memory (State.unpersisted: the implementation's "
        "PutCoordinator.unpersisted) and merges it into its copy before c2's put, which "
        "so mints a new dot: the two are siblings and every property holds",
        distinct_states=968,
        transitions=4_308, depth=10,
        found={**_WRITE, "siblings_stored": 2, "anti_entropy_repairs": 2,
               "acked_after_refused_write": 4},
    ),
    _entry(
        "write-failure-forgotten",
        "session 51: write-failure-same-coordinator with the coordinator keeping no "
        "record of its refused write (failed_write_kept = false: the implementation "
        "before session 50's fix): c2's put v2 through n3 mints c1's refused v1's dot "
        "again (kv679 through a full disk). n1 and n2 store v2, then take v1's replica "
        "put for it (one dot) and acknowledge it: v1 is acknowledged with no copy "
        "anywhere (acked_writes_durable, 8 steps); n1 holding v1 and n3 v2 under one "
        "dot never converge (3 steps)",
        {"acked_writes_durable": 8, "convergence": 3},
        distinct_states=1_180,
        transitions=5_231, depth=9,
        found={**_WRITE, "siblings_stored": 2, "anti_entropy_repairs": 2,
               "acked_after_refused_write": 4},
    ),
    _entry(
        "forward-strict-partition",
        "session 54's review: clients send to any node (workload.coordinator = \"any\"), "
        "three nodes, N = 2, strict quorum R = 1, W = 2, one partition: a forward whose "
        "target is cut off goes on to the next top-N node (3 steps), a forwarder that "
        "reaches neither coordinates the put (3 steps; its own copy no replica), hands "
        "its copy to the top N as hints (5 steps; so fallback_holds_hint is found under a "
        "strict quorum) and lets it go once both acknowledged (13 steps): every property "
        "holds",
        distinct_states=2_115,
        transitions=8_177, depth=22,
        found={**_FORWARDS, "fallback_holds_hint": 5, "hint_handed_off": 9,
               "outsider_hands_off": 5, "outsider_lets_go": 13},
    ),
    _entry(
        "forward-pw-partition",
        "session 54's review: forward-strict-partition with a sloppy quorum and primary "
        "quorums PR = 1, PW = 2: the forwarder's fallback keeps the put as a hint for the "
        "last top-N node it cannot reach, one ack and no primary, so a put is "
        "acknowledged once both top-N nodes stored it: every property holds "
        "(read_your_writes included)",
        distinct_states=1_258,
        transitions=4_267, depth=20,
        found={**_FORWARDS, "fallback_holds_hint": 3, "hint_handed_off": 7,
               "outsider_hands_off": 4, "outsider_lets_go": 12},
    ),
    _entry(
        "forward-pw-disk-loss",
        "session 54's review: forward-strict-partition with a sloppy quorum, PR = 1, PW = 2 "
        "and a disk loss: the forwarder's fallback keeps the put as a hint for the last "
        "top-N node (one ack, no primary); it lets its copy go once both owners "
        "acknowledged its hints, even where one lost its disk since (the "
        "implementation's rule; such let-go steps are in the graph) and the other holds "
        "the write: acked_writes_durable holds. Session 60: with the rebuild (on by "
        "default) every property holds; without it read_your_writes was violated in 6 "
        "steps by no forward (an owner that acknowledged the put lost its disk and the "
        "get read it alone, R = 1); a rebuilding owner now answers no read of the key "
        "and a get through it fails once R is out of reach (rebuilding_read_fails)",
        distinct_states=41_389,  # 15,263 without the rebuild (before session 60)
        transitions=164_516, depth=26,
        found={**_FORWARDS, "disk_lost_holding_data": 2, "new_actor_writes": 3,
               "fallback_holds_hint": 3, "hint_handed_off": 7, "outsider_hands_off": 4,
               "outsider_lets_go": 12, "rebuilding_put_unacked": 4,
               "rebuilding_read_fails": 5},
    ),
    _entry(
        "disk-loss-read",
        "session 55: strict quorum R = W = 2 of N = 3, one put and one get, one disk loss, "
        "without the rebuild (features.rebuild = false: set in its TOML since session 60 "
        "made the rebuild the default; the broken twin of disk-loss-read-rebuild): c1's "
        "put through n1 "
        "is acknowledged by n1 and n2, c1's get through n3 (its copy of the put still in "
        "flight) asks n1, which lost its disk and recovered empty: n3's and n1's empty "
        "copies make R = 2 and the get reads nothing (read_your_writes, 8 steps)",
        {"read_your_writes": 8},
        distinct_states=10_097,
        transitions=36_945, depth=10,
        found=_DISK_READ,
    ),
    _entry(
        "disk-loss-read-rebuild",
        "session 55: disk-loss-read with the replaced disk's rebuild (features.rebuild, "
        "spec/rebuild.py: the implementation's impl/rebuild.py): n1 answers no read of the "
        "key until anti-entropy exchanged it with n2 and n3, acknowledges nothing and "
        "counts neither its own write nor its own read until its Rebuilt step: every "
        "property holds, read_your_writes included",
        distinct_states=33_260,
        transitions=125_859, depth=14,
        found={**_DISK_READ, **_REBUILD_RULES},
    ),
    _entry(
        "disk-loss-rebuild-crash",
        "session 55's review: the rebuild under a crash (one put, no get): a crash of the "
        "replaced disk with exchanges left begins them all again, one with none left drops "
        "its mark (spec.rebuild.restart); no other entry reaches those rules (a mutant of "
        "either changes these figures): every property holds. Session 61: a crash with "
        "the mark set and none left has a second outcome, the mark kept and every "
        "exchange begun again (Crash.again, spec.rebuild.restarts: a range holding no "
        "key left in the implementation)",
        distinct_states=14_309,
        # 54,093 before session 61: 306 crashes with none left, now two outcomes each
        # (the second reaches a state the crash with exchanges left reaches too)
        transitions=54_399, depth=11,
        found=_REBUILD_PUT,
    ),
    _entry(
        "disk-loss-rebuild-sloppy",
        "session 55's review: the rebuild with a sloppy quorum (N = 3 of 4, one put, no "
        "get): a hint delivered to a node rebuilding its key is stored and not "
        "acknowledged, a fallback's disk loss (its mark, no exchange) ends at its Rebuilt; "
        "no other entry reaches those rules (a mutant of either changes these figures): "
        "every property holds",
        distinct_states=4_969,
        transitions=19_974, depth=14,
        found={**_REBUILD_PUT, "fallback_holds_hint": 3, "hint_handed_off": 9},
    ),
    _entry(
        "disk-loss-rebuild-drop",
        "session 56: the rebuild with a drop, every request through the first node of the "
        "key's top N (workload.coordinator = \"first\"), one put and one get: a get "
        "through the rebuilding node does not count its own read until every replica "
        "answered, so with another replica's answer lost it fails once R is out of reach "
        "without that read rather than waiting for ever (rebuilding_read_fails, 5 steps: "
        "the only verdict a mutant of settle_get's reduction of the most it can count "
        "changes): every property holds",
        distinct_states=14_147,
        transitions=59_750, depth=14,
        found={**_DISK_READ, **_REBUILD_RULES, "rebuilding_read_fails": 5},
    ),
    _entry(
        "write-failure-duplicate",
        "session 56: write-failure-strict with one duplicated message and one refused "
        "write (no drop): a target that refused one copy of a put's replica-put stores "
        "the other and acknowledges it to the coordinator that keeps it eligible "
        "(Coordination.refused: the implementation retries a refusing target and counts "
        "its ack), in 5 steps (refused_target_acks_again: the only verdict a mutant that "
        "gives the refusing target up, or has the replica not answer it, changes): every "
        "property holds",
        distinct_states=6_114,
        transitions=22_590, depth=11,
        found={**_WRITE_READ, "read_repair_repairs": 7, "anti_entropy_repairs": 2,
               "acked_after_refused_write": 4, "refused_target_acks_again": 5},
        not_found=("fallback_holds_hint",),
    ),
    _entry(
        "dvv-chain-forward",
        "session 61: dvv-chain-fresh-pair's chaining client on three nodes, each put sent "
        "to any node (workload.coordinator = \"any\": a put sent to n2, outside k's top "
        "N, is forwarded to n3), one crash, four puts: a forwarded put's acknowledgement "
        "answers its client as a direct one does and the next put, forwarded or not, "
        "carries that context. The rule before session 59 breaks sibling_bound (8 steps; "
        "12 with every put through the forwarder n2, tests/spec/test_chain_forward.py): "
        "docs/spec.md, 'Chained forwarded puts and retried puts (session 61)'",
        distinct_states=17_471, transitions=35_920, depth=17,  # 5,747 before the
        # unheard acknowledgement (s61-unheard, spec.actions.Unheard)
        found={"put_acknowledged": 3, "converged_after_a_write": 3, "siblings_stored": 3,
               "write_after_read": 4, "coordinator_times_out": 3,
               "anti_entropy_repairs": 2, "forward_retried": 3,
               "write_after_own_write": 4, "fresh_pair_minted": 4},
        not_found=("read_after_acknowledged_write", "forwarder_coordinates"),
    ),
    _entry(
        "disk-loss-read-rebuild-two-keys",
        "session 61: the rebuild with two keys (tests/model_check/"
        "test_proof_rebuild_keys.py's TWO_KEYS_READ): three nodes, N = 2 (k on n3, n1; j "
        "on n2, n3: n3 replicates both), R = 1, W = 2, one put and one get, one crash and "
        "one disk loss: a replaced disk rebuilds every key it replicates, a crash with "
        "another key's exchange left begins them all again and Rebuilt asks of every key: "
        "every property holds, read_your_writes included (docs/proofs.md, 'The rebuild "
        "with two keys in the suite (session 61)')",
        distinct_states=15_684, transitions=49_486, depth=12,
        found={**_DISK_READ_TWO_KEYS, "read_repair_repairs": 7,
               "rebuilding_put_unacked": 4, "rebuilding_read_fails": 5},
        not_found=("fallback_holds_hint",),
    ),
    _entry(
        "disk-loss-read-two-keys",
        "session 61: disk-loss-read-rebuild-two-keys without the rebuild (features.rebuild "
        "= false; its broken twin, as disk-loss-read is disk-loss-read-rebuild's): c1's "
        "put of k through n1 is acknowledged by n1 and n3, n1 loses its disk, recovers "
        "empty and answers c1's get through it alone (R = 1): read_your_writes is "
        "violated in 6 steps",
        {"read_your_writes": 6},
        distinct_states=4_687, transitions=13_811, depth=9,
        found=_DISK_READ_TWO_KEYS,
    ),
)


SOAK_SUITE: tuple[SuiteEntry, ...] = (
    _entry(
        "sloppy-crash-pr",
        "session 39: sloppy-crash with PR = 2 alone (PW = 0; 26,090 states, about 5 "
        "CPU-s, kept out of make check for its time): with n1 crashed the put is "
        "acknowledged by n2 and the fallback n3 holding a hint for n1; n1 recovers "
        "before the handoff, and a get through it reads its own empty copy and n4's, "
        "whose replica-put is still in flight: two primaries, neither holding the write: "
        "read_your_writes is violated (PR + PW <= N)",
        {"read_your_writes": 8},
        distinct_states=26_090,
        transitions=106_286, depth=16,
        found=_SLOPPY_CRASH,
    ),
    _entry(
        "dvv-two-keys-drop-crash",
        "session 31: dvv-two-keys-drop with one crash as well (two clients, two keys, two "
        "faults; 527,110 states, 41 CPU-s of check() with the packed-state kernel, peak "
        "402 MiB: session 56): every property holds per key; the crash of n2 or n4, a "
        "replica of both keys, is what ties the keys together",
        distinct_states=527_110,
        transitions=3_142_820, depth=12,
        found=_TWO_WRITERS_DROP,
    ),
    _entry(
        "sloppy-two-clients-drop-crash",
        "sloppy quorum on four nodes, two clients put the key once each, one message drop "
        "and one crash at once (2.2 million states, 302 CPU-s of check() with the "
        "packed-state kernel, peak 1.1 GB: session 56): an acknowledged write whose copies "
        "sit on a fallback as a hint survives the crash and the lost message, hinted "
        "handoff and anti-entropy bring the replicas together: every property holds",
        distinct_states=2_214_573,
        transitions=14_353_481, depth=21,
        found={**_WRITE, "siblings_stored": 2, "fallback_holds_hint": 3,
               "hint_handed_off": 7, "coordinator_times_out": 3, "anti_entropy_repairs": 2},
    ),
    _entry(
        "sloppy-two-keys-drop-partition",
        "session 56, issue 13's configuration of 10^7 states: sloppy quorum on four nodes, "
        "two clients, two keys, one put each, one message "
        "drop and one partition (12,599,073 states, 1,639 CPU-s of check() with the "
        "packed-state kernel, peak 4,968 MiB: not in 10 minutes; bench/model_check.py "
        "--section big): every property holds",
        distinct_states=12_599_073,
        transitions=78_304_915, depth=22,
        found={**_WRITE, "siblings_stored": 2, "fallback_holds_hint": 3,
               "hint_handed_off": 7, "coordinator_times_out": 3, "anti_entropy_repairs": 2},
    ),
    _entry(
        "delete-safe-sloppy-crash",
        "safe reaping, sloppy quorum on four nodes, one crash (2.1 million states, "
        "about 330 s; session 8's outside-copy drop added 180 states and 876 "
        "transitions, a read-repaired fallback's copy dropped at a reap): a sloppy "
        "get's quorum of the coordinator's stale copy and an "
        "empty fallback returns the value an acknowledged delete covered, with no reap "
        "(no_resurrection, read_your_writes and monotonic_reads violated: a sloppy "
        "quorum promises no read-your-writes, and a delete is a write)",
        {"read_your_writes": 7, "monotonic_reads": 10, "no_resurrection": 13,
         "convergence": 9},
        # 2,097,134 states, 9,204,641 transitions, depth 26 before session 39 (reaps
        # past gets that hold nothing a delete covers; no tombstone read-repaired into
        # an empty copy): 4,774 s on a loaded machine
        distinct_states=2_059_514,
        transitions=9_083_072, depth=27,
        found={**_WRITE_READ, "siblings_stored": 8, "read_after_read": 9,
               "get_returns_siblings": 13, "write_after_read": 7, "fallback_holds_hint": 3,
               "hint_handed_off": 7, "coordinator_times_out": 3, "read_repair_repairs": 7,
               "delete_acknowledged": 9, "read_after_delete": 12, "tombstone_reaped": 12,
               "outside_copy_dropped": 15, "put_survives_delete": 13, "reaped_during_get": 13},
    ),
    _entry(
        "force-remove-read",
        "force-remove-w2 with a get after the put (session 23; 66,434 states, about 12 "
        "CPU-s): every property holds, read_your_writes through and after the removal "
        "included; a transfer that skips a survivor (12 steps), a settlement that "
        "empties the survivors' copies (18) or a removed node that recovers (9) "
        "violates read_your_writes here, where force-remove-w2 (no get) keeps every "
        "verdict",
        distinct_states=66_434,  # session 35 (65,030 before the late re-transfer)
        transitions=271_707, depth=22,
        found={**_WRITE_READ, "coordinator_times_out": 3, "read_repair_repairs": 7,
               "anti_entropy_repairs": 2, "range_transferred": 7, "change_completed": 8,
               "removed_holding_data": 3},
        not_found=("joined_node_coordinates", "fallback_holds_hint"),
    ),
    _entry(
        "leave-anti-entropy",
        "session 25: leave-pending with anti-entropy on and no get (N=3, R=2, W=2, one "
        "put, no fault; 15,144 states, about 2-3 CPU-s): the node that takes the leaving "
        "node's place exchanges once it and its peer know the handover: every property "
        "holds (read_your_writes vacuously: no get)",
        distinct_states=15_144,  # 14,985 before the late re-transfer (session 35),
        # 13,468 before the old owners' exchanges
        transitions=87_264, depth=20,
        found={**_WRITE, "anti_entropy_repairs": 2, "range_transferred": 7,
               "change_completed": 6, "anti_entropy_with_new_owner": 10},
        not_found=("joined_node_coordinates", "fallback_holds_hint"),
    ),
)
"""The soak-only entries: too large for ``make check`` to stay under two minutes
(over 10^6 states; minutes of CPU and hundreds of MiB each; force-remove-read,
66,434 states and 12 CPU-s, leave-anti-entropy, 15,144 states and about 2-3 CPU-s,
and sloppy-crash-pr, 26,090 states and about 5 CPU-s, are kept out of ``make check``
for its time). ``vdynamo check
--soak`` checks them with their expected verdicts, and so does
``tests/model_check/test_suite_soak.py`` under ``HYPOTHESIS_PROFILE=soak``; in CI
that test checks their witnesses and invariants to a bounded depth. The per-entry
sweeps over :data:`DEFAULT_SUITE` (POR, conformance, the Z3 agreement, the compiled
spec's digests) do not include them."""


def entry(name: str) -> SuiteEntry:
    """The suite entry called ``name`` (a name of :data:`DEFAULT_SUITE` or
    :data:`SOAK_SUITE`).

    Raises :class:`~model_check.errors.UnknownNameError` (a CheckError) naming
    the known entries when there is none."""
    for item in DEFAULT_SUITE + SOAK_SUITE:
        if item.name == name:
            return item
    raise UnknownNameError(
        f"no suite entry {name!r} "
        f"(known: {', '.join(e.name for e in DEFAULT_SUITE + SOAK_SUITE)})")
