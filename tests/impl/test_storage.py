"""The storage contract: one parametrized suite that every engine passes.

Each check is a plain function over an engine factory, so that the same check is
also run against deliberately broken engines (mutants) and shown to fail.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import pytest
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from impl.errors import StorageError
from impl.storage.base import Hint, Storage
from impl.storage.memory import MemoryStorage
from spec.ring import RING_SIZE, key_position
from tests.conftest import examples

Factory = Callable[..., "CrashableStorage"]

#: Hypothesis tests open many throw-away databases: on tmpfs an fsync is nearly free.
FAST_DIR = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


class CrashableStorage(Storage, Protocol):
    """What the tests use: a storage engine that can also model a crash."""

    def crash(self) -> None: ...
    def get_hint(self, hint_id: int) -> Hint | None: ...


# ---------------------------------------------------------------- engines


def _memory_factory(_dir: Path) -> Factory:
    def make(fsync: str = "always", batch: int = 1000) -> MemoryStorage:
        return MemoryStorage(fsync, batch=batch)  # type: ignore[arg-type]

    return make


def _sqlite_factory(directory: Path) -> Factory:
    from impl.storage.sqlite import SqliteStorage

    counter = iter(range(1_000_000))

    def make(fsync: str = "always", batch: int = 1000) -> SqliteStorage:
        path = directory / f"engine-{next(counter)}.db"
        # seeded: a crash's reopen draws its hint epoch (session 35), and Hypothesis
        # replays an example only if the engine does the same again
        return SqliteStorage(path, fsync, batch=batch,  # type: ignore[arg-type]
                             hint_epochs=random.Random(0))

    return make


def _engines() -> list[str]:
    engines = ["memory"]
    try:
        import impl.storage.sqlite  # noqa: F401
    except ImportError:  # pragma: no cover - while the SQLite engine is being written
        return engines
    return [*engines, "sqlite"]


ENGINES = _engines()
FACTORIES: dict[str, Callable[[Path], Factory]] = {
    "memory": _memory_factory,
    "sqlite": _sqlite_factory,
}


@pytest.fixture(params=ENGINES)
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    opened: list[CrashableStorage] = []
    factory = FACTORIES[request.param](tmp_path)

    def tracked(*args: object, **kwargs: object) -> CrashableStorage:
        engine = factory(*args, **kwargs)
        opened.append(engine)
        return engine

    yield tracked
    for engine in opened:
        engine.close()


def ordered(keys: list[bytes]) -> list[bytes]:
    """Keys in ring order: by position, then by key."""
    return sorted(set(keys), key=lambda k: (key_position(k), k))


# ---------------------------------------------------------------- checks (also run on mutants)


def check_read_write_delete(make: Factory) -> None:
    s = make()
    assert s.read(b"a") is None
    assert len(s) == 0
    s.write(b"a", b"1")
    s.write(b"b", b"2")
    s.write(b"", b"empty key")
    assert s.read(b"a") == b"1"
    assert s.read(b"") == b"empty key"
    assert len(s) == 3
    s.write(b"a", b"1bis")
    assert s.read(b"a") == b"1bis"
    assert len(s) == 3
    s.delete(b"b")
    s.delete(b"never written")
    assert s.read(b"b") is None
    assert len(s) == 2
    s.write(b"b", b"again")
    assert s.read(b"b") == b"again"
    assert len(s) == 3
    big = bytes(range(256)) * 4096  # 1 MiB, every byte value
    s.write(b"big", big)
    assert s.read(b"big") == big


def check_scan(make: Factory) -> None:
    s = make()
    keys = [f"key-{i}".encode() for i in range(60)]
    for k in keys:
        s.write(k, b"v" + k)
    ring = ordered(keys)
    positions = [key_position(k) for k in ring]
    assert [k for k, _ in s.scan()] == ring
    assert all(r == b"v" + k for k, r in s.scan())
    assert [k for k, _ in s.scan(0, RING_SIZE)] == ring
    # half-open: lo included, hi excluded
    lo, hi = positions[10], positions[20]
    assert [k for k, _ in s.scan(lo, hi)] == ring[10:20]
    assert [k for k, _ in s.scan(lo + 1, hi + 1)] == ring[11:21]
    assert [k for k, _ in s.scan(lo)] == ring[10:]
    assert list(s.scan(lo, lo)) == []
    # wrap-around: lo > hi is clockwise from lo past the top of the ring
    assert [k for k, _ in s.scan(hi, lo)] == ring[20:] + ring[:10]
    assert [k for k, _ in s.scan(RING_SIZE, None)] == []


def check_hints(make: Factory) -> None:
    s = make()
    assert s.hints() == []
    first = s.add_hint("n2", b"k", b"r1")
    second = s.add_hint("n3", b"k", b"r2")
    third = s.add_hint("n2", b"other", b"r3")
    assert len({first, second, third}) == 3
    assert first < second < third
    assert [(h.hint_id, h.intended, h.key, h.record) for h in s.hints()] == [
        (first, "n2", b"k", b"r1"),
        (second, "n3", b"k", b"r2"),
        (third, "n2", b"other", b"r3"),
    ]
    assert s.read(b"k") is None and len(s) == 0  # hints live apart from the versions
    assert s.get_hint(second) == Hint(second, "n3", b"k", b"r2")
    s.remove_hint(second)
    assert s.get_hint(second) is None
    assert s.get_hint(1 << 70) is None
    s.remove_hint(second)  # twice: harmless
    s.remove_hint(123456789)  # unknown: harmless
    assert [h.hint_id for h in s.hints()] == [first, third]


def check_meta(make: Factory) -> None:
    s = make()
    assert s.get_meta("membership") is None
    s.set_meta("membership", b"\x00history")
    s.set_meta("tokens", b"1,2,3")
    s.set_meta("membership", b"newer")
    assert s.get_meta("membership") == b"newer"
    assert s.get_meta("tokens") == b"1,2,3"
    assert len(s) == 0


def check_crash_always(make: Factory) -> None:
    s = make("always")
    s.write(b"a", b"1")
    s.write(b"b", b"2")
    s.delete(b"b")
    hint = s.add_hint("n2", b"h", b"r")
    s.set_meta("m", b"x")
    s.crash()
    assert s.read(b"a") == b"1"
    assert s.read(b"b") is None
    assert [h.hint_id for h in s.hints()] == [hint]
    assert s.get_meta("m") == b"x"
    assert len(s) == 1


def check_crash_buffered(make: Factory) -> None:
    s = make("buffered", batch=1000)
    s.write(b"a", b"1")
    s.write(b"b", b"2")
    kept = s.add_hint("n2", b"h", b"r")
    gone = s.add_hint("n3", b"h", b"r")
    s.set_meta("m", b"x")
    s.flush()
    s.write(b"a", b"1 (lost)")
    s.delete(b"b")
    s.write(b"c", b"3 (lost)")
    s.remove_hint(kept)
    s.set_meta("m", b"y (lost)")
    s.set_meta("n", b"lost")
    later = s.add_hint("n4", b"h", b"lost")
    s.remove_hint(gone)
    s.crash()
    assert s.read(b"a") == b"1"
    assert s.read(b"b") == b"2"
    assert s.read(b"c") is None
    assert len(s) == 2
    assert [k for k, _ in s.scan()] == ordered([b"a", b"b"])
    assert [h.hint_id for h in s.hints()] == [kept, gone]
    assert s.get_meta("m") == b"x"
    assert s.get_meta("n") is None
    # ids are never reused, even after a crash lost one
    assert s.add_hint("n5", b"h", b"r") not in {kept, gone, later}
    # and the engine works after the crash
    s.write(b"d", b"4")
    s.flush()
    s.crash()
    assert s.read(b"d") == b"4"


def check_buffered_batch(make: Factory) -> None:
    s = make("buffered", batch=3)
    s.write(b"a", b"1")
    s.write(b"b", b"2")
    s.write(b"c", b"3")  # third change: the batch is made durable
    s.write(b"d", b"4")  # buffered
    s.crash()
    assert [k for k, _ in s.scan()] == ordered([b"a", b"b", b"c"])


BAD_KEYS: list[object] = ["text", bytearray(b"k"), memoryview(b"k"), 7, None, [b"k"]]


def check_bad_arguments(make: Factory) -> None:
    s = make()
    s.write(b"a", b"1")
    hint = s.add_hint("n2", b"a", b"1")
    s.set_meta("m", b"x")
    for bad in BAD_KEYS:
        for call in (
            lambda b=bad: s.read(b),
            lambda b=bad: s.write(b, b"r"),
            lambda b=bad: s.delete(b),
            lambda b=bad: s.add_hint("n2", b, b"r"),
        ):
            with pytest.raises(ValueError, match="key must be bytes"):
                call()
    for bad in BAD_KEYS[1:]:
        with pytest.raises(ValueError, match="record must be bytes"):
            s.write(b"a", bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="record must be bytes"):
            s.add_hint("n2", b"a", bad)  # type: ignore[arg-type]
    for node in ("", None, 3, b"n2"):
        with pytest.raises(ValueError, match="intended node"):
            s.add_hint(node, b"a", b"r")  # type: ignore[arg-type]
    for name in ("", None, b"m"):
        with pytest.raises(ValueError, match="meta name"):
            s.set_meta(name, b"v")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="meta name"):
            s.get_meta(name)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="meta value must be bytes"):
        s.set_meta("m", "text")  # type: ignore[arg-type]
    for hint_id in ("1", 1.0, None, True):
        with pytest.raises(ValueError, match="hint_id"):
            s.remove_hint(hint_id)  # type: ignore[arg-type]
    for lo, hi in ((-1, None), (RING_SIZE + 1, None), (0, RING_SIZE + 1), (0.5, None),
                   (True, None), (0, "x")):
        with pytest.raises(ValueError, match=r"scan (lo|hi)"):
            s.scan(lo, hi)  # type: ignore[arg-type]
    # nothing changed
    assert s.read(b"a") == b"1" and len(s) == 1
    assert [h.hint_id for h in s.hints()] == [hint]
    assert s.get_meta("m") == b"x"


def check_closed(make: Factory) -> None:
    s = make("buffered")
    s.write(b"a", b"1")
    s.close()
    for call in (lambda: s.read(b"a"), lambda: s.write(b"a", b"2"), lambda: s.hints(),
                 lambda: s.get_meta("m"), lambda: s.flush()):
        with pytest.raises(StorageError, match="closed"):
            call()
    s.close()  # twice: harmless


CHECKS = [
    check_read_write_delete, check_scan, check_hints, check_meta, check_crash_always,
    check_crash_buffered, check_buffered_batch, check_bad_arguments, check_closed,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_contract(make: Factory, check: Callable[[Factory], None]) -> None:
    check(make)


def test_memory_close_makes_buffered_changes_durable() -> None:
    s = MemoryStorage("buffered")
    s.write(b"a", b"1")
    s.close()
    s.crash()  # the restarted process finds what the clean shutdown flushed
    assert s.read(b"a") == b"1"


def test_bad_engine_options(make: Factory) -> None:
    with pytest.raises(ValueError, match="fsync must be one of"):
        make("sometimes")
    with pytest.raises(ValueError, match="batch must be"):
        make("buffered", batch=0)


@given(
    keys=st.lists(st.binary(max_size=4), max_size=30),
    cuts=st.lists(st.integers(0, RING_SIZE), min_size=1, max_size=5),
)
@settings(max_examples=examples(30))
def test_scans_tile_the_ring(keys: list[bytes], cuts: list[int]) -> None:
    """Scanning consecutive ranges (any cut points, wrapping) yields every key once, in order."""
    for engine in ENGINES:
        with tempfile.TemporaryDirectory(dir=FAST_DIR) as directory:
            s = FACTORIES[engine](Path(directory))()
            for k in keys:
                s.write(k, k)
            bounds = sorted(set(cuts))
            pieces = [k for lo, hi in zip(bounds, [*bounds[1:], bounds[0]], strict=True)
                      for k, _ in s.scan(lo, hi)]
            if len(bounds) == 1:  # one cut: [c, c) is empty; the whole ring is [c, 2**128)+[0, c)
                pieces = [k for k, _ in s.scan(bounds[0], None)] + [
                    k for k, _ in s.scan(0, bounds[0])]
            start = bounds[0]
            expected = ordered(keys)
            after = [k for k in expected if key_position(k) >= start]
            before = [k for k in expected if key_position(k) < start]
            assert pieces == after + before
            s.close()


# ---------------------------------------------------------------- mutants


class ForgetfulCrash(MemoryStorage):
    """Mutant: a buffered crash keeps the unflushed changes."""

    def crash(self) -> None:
        self._forget_undo()


class OffByOneScan(MemoryStorage):
    """Mutant: scan includes the key sitting exactly at hi."""

    def scan(self, lo: int = 0, hi: int | None = None) -> Iterator[tuple[bytes, bytes]]:
        return super().scan(lo, None if hi is None or hi >= RING_SIZE else hi + 1)


class NoWrapScan(MemoryStorage):
    """Mutant: a wrapping range (lo > hi) is treated as empty."""

    def scan(self, lo: int = 0, hi: int | None = None) -> Iterator[tuple[bytes, bytes]]:
        if hi is not None and lo > hi:
            return iter(())
        return super().scan(lo, hi)


class LosesFlushedDeletes(MemoryStorage):
    """Mutant: crash also rolls back flushed changes of keys (it keeps the undo log)."""

    def flush(self) -> None:
        self._pending = 0


class ReusesHintIds(MemoryStorage):
    """Mutant: a crash resets the hint id counter."""

    def crash(self) -> None:
        super().crash()
        self._next_hint_id = max(self._hints, default=0) + 1


class TrustingWrite(MemoryStorage):
    """Mutant: write accepts any key type."""

    def write(self, key: bytes, record: bytes) -> None:
        raw: object = key
        if isinstance(raw, str):
            raw = raw.encode()
        super().write(raw, record)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mutant", "check"),
    [
        (ForgetfulCrash, check_crash_buffered),
        (OffByOneScan, check_scan),
        (NoWrapScan, check_scan),
        (LosesFlushedDeletes, check_crash_buffered),
        (ReusesHintIds, check_crash_buffered),
        (TrustingWrite, check_bad_arguments),
    ],
    ids=lambda x: getattr(x, "__name__", str(x)),
)
def test_checks_catch_mutants(
    mutant: type[MemoryStorage], check: Callable[[Factory], None]
) -> None:
    def make(fsync: str = "always", batch: int = 1000) -> MemoryStorage:
        return mutant(fsync, batch=batch)  # type: ignore[arg-type]

    with pytest.raises(AssertionError):
        try:
            check(make)
        except pytest.fail.Exception as failed:  # pytest.raises(...) not raised
            raise AssertionError(str(failed)) from failed


# ---------------------------------------------------------------- stateful: engine vs a dict model

KEYS = st.binary(min_size=0, max_size=3)
RECORDS = st.binary(max_size=6)
NODES = st.sampled_from(["n1", "n2", "n3"])
POSITIONS = st.integers(0, RING_SIZE)


class StorageMachine(RuleBasedStateMachine):
    """An engine in lockstep with a dict model of its live and its durable state."""

    engine = "memory"
    mutant: type[MemoryStorage] | None = None

    keys = Bundle("keys")
    hint_ids = Bundle("hint_ids")

    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.TemporaryDirectory(dir=FAST_DIR)
        self.s: CrashableStorage | None = None
        self.records: dict[bytes, bytes] = {}
        self.hint_table: dict[int, tuple[str, bytes, bytes]] = {}
        self.meta: dict[str, bytes] = {}
        self.durable: tuple[dict[bytes, bytes], dict[int, tuple[str, bytes, bytes]],
                            dict[str, bytes]] = ({}, {}, {})
        self.pending = 0
        self.fsync = "always"
        self.batch = 1000
        self.issued: set[int] = set()

    @initialize(fsync=st.sampled_from(["always", "buffered"]), batch=st.integers(1, 6))
    def open(self, fsync: str, batch: int) -> None:
        self.fsync, self.batch = fsync, batch
        if self.mutant is not None:
            self.s = self.mutant(fsync, batch=batch)  # type: ignore[arg-type]
        else:
            self.s = FACTORIES[self.engine](Path(self.directory.name))(fsync, batch=batch)

    @property
    def store(self) -> CrashableStorage:
        assert self.s is not None
        return self.s

    def _changed(self) -> None:
        if self.fsync == "always":
            self._durable_now()
        else:
            self.pending += 1
            if self.pending >= self.batch:
                self._durable_now()

    def _durable_now(self) -> None:
        self.durable = (dict(self.records), dict(self.hint_table), dict(self.meta))
        self.pending = 0

    @rule(target=keys, key=KEYS, record=RECORDS)
    def write(self, key: bytes, record: bytes) -> bytes:
        self.store.write(key, record)
        self.records[key] = record
        self._changed()
        return key

    @rule(key=keys, record=RECORDS)
    def overwrite(self, key: bytes, record: bytes) -> None:
        self.write(key, record)

    @rule(key=keys)
    def delete(self, key: bytes) -> None:
        self.store.delete(key)
        if self.records.pop(key, None) is not None:
            self._changed()

    @rule(key=st.one_of(keys, KEYS))
    def read(self, key: bytes) -> None:
        assert self.store.read(key) == self.records.get(key)

    @rule(lo=st.one_of(POSITIONS, keys.map(key_position)),
          hi=st.one_of(st.none(), POSITIONS, keys.map(key_position)))
    def scan(self, lo: int, hi: int | None) -> None:
        top = RING_SIZE if hi is None else hi
        if lo <= top:
            inside = [k for k in self.records if lo <= key_position(k) < top]
            expected = ordered(inside)
        else:
            expected = ordered([k for k in self.records if key_position(k) >= lo]) + ordered(
                [k for k in self.records if key_position(k) < top])
        assert list(self.store.scan(lo, hi)) == [(k, self.records[k]) for k in expected]

    @rule(target=hint_ids, node=NODES, key=KEYS, record=RECORDS)
    def add_hint(self, node: str, key: bytes, record: bytes) -> int:
        hint_id = self.store.add_hint(node, key, record)
        assert hint_id not in self.issued, "a hint id was reused"
        self.issued.add(hint_id)
        self.hint_table[hint_id] = (node, key, record)
        self._changed()
        return hint_id

    @rule(hint_id=hint_ids)
    def remove_hint(self, hint_id: int) -> None:
        self.store.remove_hint(hint_id)
        if self.hint_table.pop(hint_id, None) is not None:
            self._changed()

    @rule(name=st.sampled_from(["membership", "tokens"]), value=RECORDS)
    def set_meta(self, name: str, value: bytes) -> None:
        self.store.set_meta(name, value)
        self.meta[name] = value
        self._changed()

    @rule()
    def flush(self) -> None:
        self.store.flush()
        self._durable_now()

    @rule()
    def crash(self) -> None:
        self.store.crash()
        records, hint_table, meta = self.durable
        self.records, self.hint_table, self.meta = dict(records), dict(hint_table), dict(meta)
        self.pending = 0

    @precondition(lambda self: self.engine == "sqlite")
    @rule()
    def reopen(self) -> None:
        """Close cleanly and open the same file again (SQLite only)."""
        from impl.storage.sqlite import SqliteStorage

        assert isinstance(self.s, SqliteStorage)
        path = self.s.path
        self.s.close()
        self._durable_now()  # a clean close commits
        self.s = SqliteStorage(path, self.fsync, batch=self.batch,  # type: ignore[arg-type]
                               hint_epochs=random.Random(len(self.issued)))

    @invariant()
    def same_contents(self) -> None:
        if self.s is None:
            return
        assert len(self.store) == len(self.records)
        assert dict(self.store.scan()) == self.records
        assert {h.hint_id: (h.intended, h.key, h.record) for h in self.store.hints()} == (
            self.hint_table)
        for name in ("membership", "tokens"):
            assert self.store.get_meta(name) == self.meta.get(name)

    def teardown(self) -> None:
        if self.s is not None:
            self.s.close()
        self.directory.cleanup()


def _machine(engine: str, mutant: type[MemoryStorage] | None = None) -> type[StorageMachine]:
    class Machine(StorageMachine):
        pass

    Machine.engine = engine
    Machine.mutant = mutant
    return Machine


@pytest.mark.parametrize("engine", ENGINES)
def test_stateful_engine_matches_model(engine: str) -> None:
    machine = _machine(engine)
    machine.TestCase.settings = settings(
        max_examples=examples(40 if engine == "memory" else 20), stateful_step_count=30,
    )
    machine.TestCase().runTest()


@pytest.mark.parametrize("mutant", [ForgetfulCrash, ReusesHintIds, OffByOneScan])
def test_stateful_machine_catches_mutants(mutant: type[MemoryStorage]) -> None:
    machine = _machine("memory", mutant)
    machine.TestCase.settings = settings(
        max_examples=examples(200), stateful_step_count=30, database=None, print_blob=False,
        report_multiple_bugs=False, phases=[Phase.explicit, Phase.generate],
    )
    with pytest.raises(AssertionError):
        machine.TestCase().runTest()



# ---------------------------------------------------------------- SQLite only

needs_sqlite = pytest.mark.skipif("sqlite" not in ENGINES, reason="SQLite engine not built")


@needs_sqlite
@pytest.mark.parametrize("fsync", ["always", "buffered"])
def test_sqlite_reopen_keeps_everything_and_hint_ids(tmp_path: Path, fsync: str) -> None:
    from impl.storage.sqlite import SqliteStorage

    path = tmp_path / "node.db"
    s = SqliteStorage(path, fsync)  # type: ignore[arg-type]
    for i in range(20):
        s.write(f"k{i}".encode(), f"r{i}".encode())
    s.delete(b"k3")
    ids = [s.add_hint("n2", b"k1", b"r1"), s.add_hint("n3", b"k2", b"r2")]
    s.remove_hint(ids[0])
    s.set_meta("membership", b"history")
    before = (list(s.scan()), s.hints())
    s.close()
    # (a seeded source: the reopen's epoch is drawn, session 35)
    again = SqliteStorage(path, fsync, hint_epochs=random.Random(1))  # type: ignore[arg-type]
    assert (list(again.scan()), again.hints()) == before
    assert [h.hint_id for h in again.hints()] == [ids[1]]
    assert len(again) == 19
    assert again.get_meta("membership") == b"history"
    # a new epoch, never reused; not "later": since session 35 a reopen draws its
    # epoch, below the first one's with probability about 1/4, and this line, which
    # asked for a higher id, failed that often (session 35's review)
    new = again.add_hint("n2", b"k", b"r")
    assert new not in ids and new >> 32 != ids[0] >> 32
    again.close()


@needs_sqlite
def test_sqlite_scan_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scans read in pages; page boundaries lose and repeat nothing (also equal positions)."""
    from impl.storage import sqlite

    monkeypatch.setattr(sqlite, "_SCAN_PAGE", 7)
    s = sqlite.SqliteStorage(tmp_path / "node.db", "buffered")
    keys = [f"key-{i}".encode() for i in range(100)]
    for k in keys:
        s.write(k, k)
    ring = ordered(keys)
    assert [k for k, _ in s.scan()] == ring
    positions = [key_position(k) for k in ring]
    assert [k for k, _ in s.scan(positions[90], positions[15])] == ring[90:] + ring[:15]
    # a scan survives writes between pages: keys present throughout appear exactly once
    seen = []
    for i, (k, _) in enumerate(s.scan()):
        seen.append(k)
        if i % 10 == 0:
            s.write(b"extra-%d" % i, b"x")
    assert [k for k in seen if k in set(keys)] == ring
    s.close()


@needs_sqlite
def test_sqlite_refuses_foreign_files(tmp_path: Path) -> None:
    import sqlite3

    from impl.storage.sqlite import SCHEMA_VERSION, SqliteStorage

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database, just some bytes" * 100)
    with pytest.raises(StorageError, match=r"junk\.db"):
        SqliteStorage(junk)
    future = tmp_path / "future.db"
    conn = sqlite3.connect(future)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StorageError, match="schema version"):
        SqliteStorage(future)
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE customers (name TEXT)")
    conn.close()
    with pytest.raises(StorageError, match="not a vdynamo database"):
        SqliteStorage(foreign)
    with pytest.raises(StorageError, match="cannot open"):
        SqliteStorage(tmp_path / "no" / "such" / "dir" / "x.db")
    with pytest.raises(ValueError, match="path must be"):
        SqliteStorage(42)  # type: ignore[arg-type]


_CHILD = r"""
import sys
from impl.storage.sqlite import SqliteStorage

path, mode = sys.argv[1], sys.argv[2]
# "lying" is a mutant: a buffered engine that acknowledges before anything is durable
s = SqliteStorage(path, "always" if mode == "always" else "buffered", batch=1_000_000)
for i in range(1, 100_000):
    s.write(b"key-%d" % i, b"record-%d" % i)
    hint_id = s.add_hint("n2", b"key-%d" % i, b"hinted-%d" % i)
    if mode == "buffered" and i % 7 == 0:
        s.flush()
    if mode != "buffered" or i % 7 == 0:
        print(i, hint_id, flush=True)  # acknowledged: only once the engine returned
"""


def check_acknowledged_survive_sigkill(directory: Path, mode: str) -> None:
    """Run a writer process, SIGKILL it mid-stream, reopen: every acknowledged write is there."""
    import signal
    import subprocess
    import sys

    from impl.storage.sqlite import SqliteStorage

    path = directory / f"{mode}.db"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), mode],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )
    acked: list[tuple[int, int]] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            i, hint_id = map(int, line.split())
            acked.append((i, hint_id))
            if len(acked) >= 150:
                break
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert len(acked) >= 150
    s = SqliteStorage(path)
    try:
        hints = {h.hint_id: h for h in s.hints()}
        for i, hint_id in acked:
            assert s.read(b"key-%d" % i) == b"record-%d" % i, f"acknowledged write {i} lost"
            assert hints[hint_id].record == b"hinted-%d" % i, f"acknowledged hint {i} lost"
        assert len(s) >= acked[-1][0]
    finally:
        s.close()


@needs_sqlite
@pytest.mark.parametrize("mode", ["always", "buffered"])
def test_sqlite_acknowledged_writes_survive_sigkill(tmp_path: Path, mode: str) -> None:
    """A real process killed with SIGKILL mid-stream loses no acknowledged write."""
    check_acknowledged_survive_sigkill(tmp_path, mode)


@needs_sqlite
def test_sigkill_check_catches_early_acknowledgement(tmp_path: Path) -> None:
    with pytest.raises((AssertionError, KeyError)):
        check_acknowledged_survive_sigkill(tmp_path, "lying")


@given(
    ops=st.lists(st.tuples(st.binary(max_size=2), st.booleans()), max_size=80),
    bounds=st.lists(st.tuples(POSITIONS, st.one_of(st.none(), POSITIONS)), max_size=4),
)
@settings(max_examples=examples(60))
def test_memory_ring_index_with_tiny_chunks(
    ops: list[tuple[bytes, bool]], bounds: list[tuple[int, int | None]]
) -> None:
    """The chunked ring index splits, empties and drops chunks correctly (2-entry chunks)."""
    from impl.storage import memory

    saved = memory._LOAD
    memory._LOAD = 1
    try:
        s = MemoryStorage("buffered", batch=7)
        model: dict[bytes, bytes] = {}
        for key, keep in ops:
            if keep:
                s.write(key, key)
                model[key] = key
            else:
                s.delete(key)
                model.pop(key, None)
        assert [k for k, _ in s.scan()] == ordered(list(model))
        assert all(1 <= len(chunk) <= 2 for chunk in s._chunks)
        assert s._maxes == [chunk[-1] for chunk in s._chunks]
        for lo, hi in bounds:
            top = RING_SIZE if hi is None else hi
            if lo <= top:
                expected = [k for k in ordered(list(model)) if lo <= key_position(k) < top]
            else:
                expected = [k for k in ordered(list(model)) if key_position(k) >= lo] + [
                    k for k in ordered(list(model)) if key_position(k) < top]
            assert [k for k, _ in s.scan(lo, hi)] == expected
        s.crash()
        assert s._maxes == [chunk[-1] for chunk in s._chunks]
    finally:
        memory._LOAD = saved


@given(
    ops=st.lists(st.tuples(st.sampled_from(["write", "delete", "scan", "flush"]),
                           st.binary(min_size=1, max_size=2)), max_size=120),
    one_by_one=st.sampled_from([1, 4, 16]),
    bounds=st.tuples(POSITIONS, st.one_of(st.none(), POSITIONS)),
)
@example(ops=[("write", b"a"), ("write", b"b"), ("write", b"c"), ("scan", b""),
              ("write", b"d"), ("scan", b"")], one_by_one=1, bounds=(0, None))
@settings(max_examples=examples(80))
def test_memory_ring_index_waiting_entries_read_in_order(
    ops: list[tuple[str, bytes]], one_by_one: int, bounds: tuple[int, int | None]
) -> None:
    """A new key's index entry waits until the index is read (session 32): every scan,
    delete and crash sees it in ring order, whether the waiting entries go in one
    by one or the index is sorted again (tiny chunks; the model: sorted keys)."""
    from impl.storage import memory

    saved = memory._LOAD, memory._ONE_BY_ONE
    memory._LOAD, memory._ONE_BY_ONE = 1, one_by_one
    try:
        s = MemoryStorage("buffered", batch=1000)
        model: dict[bytes, bytes] = {}
        durable: dict[bytes, bytes] = {}
        for kind, key in ops:
            if kind == "write":
                s.write(key, key)
                model[key] = key
            elif kind == "delete":
                s.delete(key)
                model.pop(key, None)
            elif kind == "flush":
                s.flush()
                durable = dict(model)
            else:
                assert [k for k, _ in s.scan()] == ordered(list(model))
                assert all(1 <= len(chunk) <= 2 for chunk in s._chunks)
                assert s._maxes == [chunk[-1] for chunk in s._chunks]
                lo, hi = bounds
                assert [k for k, _ in s.scan(lo, hi)] == [
                    k for k in ordered(list(model)) if scan_holds(lo, hi, key_position(k))]
        s.crash()
        assert [k for k, _ in s.scan()] == ordered(list(durable))
        assert s._maxes == [chunk[-1] for chunk in s._chunks]
    finally:
        memory._LOAD, memory._ONE_BY_ONE = saved


def scan_holds(lo: int, hi: int | None, position: int) -> bool:
    """Whether ``scan(lo, hi)`` covers ``position`` (``lo > hi`` wraps past the top)."""
    top = RING_SIZE if hi is None else hi
    return lo <= position < top if lo <= top else position >= lo or position < top
