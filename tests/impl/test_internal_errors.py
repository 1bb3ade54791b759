"""The exact boundary between a peer's bad input and a bug of ours (issue 12,
section 1, third bullet; :mod:`impl.internal_errors`).

- every case the implementation names as the peer's fault by design
  (``PEER_DATA``) is reached by a message and dropped as ``dropped``, naming the
  case, and is not an internal error;
- any other exception a handler raises for a valid message, whatever its class
  (a DynamoError too: the old rule took those for the peer's), is an internal
  error: counted, logged at ERROR with the traceback, nothing written;
- no valid message a hostile authenticated peer can build (garbage nested in
  it, the ids of live operations, unknown names) reaches an internal error: the
  decoders are total and the named cases are all there is (hypothesis);
- the autouse fixture of tests/conftest.py fails a test that logs an internal
  error without taking it (a pytest run of a tiny test file in a subprocess).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from impl.errors import BadMessageError, InvalidValueError, PeerDataError
from impl.internal_errors import PEER_DATA, peer_data_error
from impl.messages import (
    Forward,
    ForwardReply,
    GetRequest,
    Gossip,
    HandoffDone,
    HintAck,
    HintDelivery,
    KeyRecords,
    MerkleExchange,
    PutRequest,
    ReadRepair,
    Reap,
    ReapQuery,
    ReapQueryReply,
    ReplicaGet,
    ReplicaGetReply,
    ReplicaPut,
    ReplicaPutAck,
    SeenDigest,
    Settled,
)
from impl.replica import Replica
from impl.versions import ClockMode, Record, apply_put, encode_record
from spec.vclock import VClock
from tests.conftest import InternalErrors
from tests.impl.test_node_driver import Driver, make_config

ROOT = Path(__file__).resolve().parents[2]
KEY = b"cart"


def _record(value: bytes) -> bytes:
    return encode_record(apply_put(Record.empty(ClockMode.DVV), VClock(), value,
                                   coordinator="n1", client_id="c", now=0.0))


def _driver() -> Driver:
    return Driver.start(make_config(max_key_bytes=50))


def _ack_for_no_target(driver: Driver) -> tuple[str, object]:
    """An ack of a put n1 coordinates, from a node it never sent the write to."""
    node = driver.nodes["n1"]
    key = next(key for key in (b"k%d" % i for i in range(100))
               if node.preference_list(key)[0] == "n1")
    node.client_request(driver.now, PutRequest(7, key, b"milk", b"", None, "c1"))
    (op_id,) = node.puts.coordinations
    return node.preference_list(key)[-1], ReplicaPutAck(op_id, key)


def _merkle_of_another_shape(driver: Driver) -> tuple[str, object]:
    lo, hi = driver.nodes["n1"].anti_entropy.trees.ranges[0]
    return "n2", MerkleExchange(1, lo, hi, 2, 1, "level", 0, (), (0,), (b"h" * 16,))


#: what PEER_DATA names -> the sender and the message that reach that case at n1
CASES: dict[str, Callable[[Driver], tuple[str, object]]] = {
    "record": lambda d: ("n2", ReplicaPut(1, KEY, b"garbage")),
    "key": lambda d: ("n2", ReplicaGet(1, b"k" * 60)),
    "hint": lambda d: ("n2", ReplicaPut(1, KEY, _record(b"x"), "mallory")),
    "view": lambda d: ("n2", Gossip(b"not json")),
    "seen": lambda d: ("n2", SeenDigest(b"not json")),
    "merkle": _merkle_of_another_shape,
    "ack": _ack_for_no_target,
}


def test_every_named_case_of_the_peers_fault_has_a_message_that_reaches_it() -> None:
    assert sorted(CASES) == sorted(PEER_DATA)


@pytest.mark.parametrize("what", sorted(CASES))
def test_a_named_case_of_the_peers_fault_is_dropped_not_internal(
        what: str, internal_errors: InternalErrors) -> None:
    driver = _driver()
    src, message = CASES[what](driver)
    node = driver.nodes["n1"]
    before = dict(node.stats)
    assert node.receive(driver.now, src, message) == []
    assert node.stats["dropped"] == before.get("dropped", 0) + 1
    assert node.stats["internal-error"] == 0
    assert node.log[-1].endswith(f"(peer data: {what})"), node.log[-1]
    assert internal_errors.records == []


def _failing(error: Exception) -> Callable[..., Any]:
    def merge_into_local(self: Replica, key: bytes, record: Record,
                         raw: bytes | None = None) -> None:
        self.write_local(key, record)  # half done: the node must discard it
        raise error
    return merge_into_local


ERRORS: dict[str, Exception] = {
    # a DynamoError of our own code, not at a named place (the old rule dropped it
    # as the peer's bad data: a merge of records of two modes, a view check)
    "BadMessageError": BadMessageError("cannot merge a lww record into a dvv one"),
    "InvalidValueError": InvalidValueError("a value our own code refused"),
    "ValueError": ValueError("a plain ValueError"),
    "KeyError": KeyError("n9"),
    "TypeError": TypeError("a bug"),
    "AssertionError": AssertionError("an invariant of ours"),
}


@pytest.mark.parametrize("kind", sorted(ERRORS))
def test_any_other_error_raised_handling_a_valid_message_is_internal(
        kind: str, monkeypatch: pytest.MonkeyPatch, internal_errors: InternalErrors) -> None:
    monkeypatch.setattr(Replica, "merge_into_local", _failing(ERRORS[kind]))
    driver = _driver()
    node = driver.nodes["n1"]
    assert node.receive(driver.now, "n2", ReadRepair(KEY, _record(b"repaired"))) == []
    assert (node.stats["internal-error"], node.stats["dropped"]) == (1, 0)
    assert node.storage.read(KEY) is None  # the half-handled message wrote nothing
    assert node.log[-1].startswith(f"{driver.now:.3f} INTERNAL ERROR handling ReadRepair "
                                   "from 'n2': ")
    records = internal_errors.take()
    assert len(records) == 1 and records[0].exc_info is not None
    assert records[0].exc_info[1] is ERRORS[kind]


def test_an_unnamed_case_cannot_be_declared_the_peers_fault() -> None:
    with pytest.raises(InvalidValueError, match="'clock' is not a case of PEER_DATA"):
        peer_data_error("clock", BadMessageError("x"))
    error = peer_data_error("record", BadMessageError("record is truncated"))
    assert isinstance(error, PeerDataError) and (str(error), error.what) == (
        "record is truncated", "record")


# ---------------------------------------------------------------- the fixture itself

_TINY = '''
import logging

from tests.conftest import InternalErrors


def test_logs_one_and_leaves_it():
    logging.getLogger("vdynamo.internal").error("n1: internal error handling X from n2")


def test_logs_one_and_takes_it(internal_errors: InternalErrors):
    logging.getLogger("vdynamo.internal").error("n1: internal error handling X from n2")
    assert len(internal_errors.take()) == 1


def test_logs_elsewhere():
    logging.getLogger("vdynamo.runtime").error("not an internal error")
'''


def test_the_fixture_fails_a_test_that_leaves_an_internal_error(tmp_path: Path) -> None:
    """A pytest run (its own process) of three tiny tests with this suite's conftest:
    only the one that logs an internal error and does not take it fails."""
    (tmp_path / "conftest.py").write_text("from tests.conftest import *  # noqa: F403\n")
    (tmp_path / "test_tiny.py").write_text(_TINY)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-p", "no:randomly", "--rootdir", str(tmp_path), str(tmp_path / "test_tiny.py")],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}, check=False)
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert "3 passed, 1 error" in out, out  # the test itself passed; its teardown fails
    assert "ERROR at teardown of test_logs_one_and_leaves_it" in out, out
    assert "internal error while handling a peer message: n1: internal error handling X" in out


# ---------------------------------------------------------------- a hostile peer

_NAMES = st.sampled_from(["n1", "n2", "n3", "n4", "n5", "mallory"])
_KEYS = st.sampled_from([KEY, b"k1", b"k" * 60])
_BYTES = st.binary(max_size=12)


def _records() -> st.SearchStrategy[bytes]:
    return st.sampled_from([_record(b"x"), _record(b"y"), b"garbage"]) | _BYTES.filter(bool)


def _messages(driver: Driver, data: st.DataObject) -> st.SearchStrategy[object]:
    """The valid messages a hostile (authenticated) peer could send n1: the op ids of
    n1's live operations, its view and digest among the values drawn."""
    node = driver.nodes["n1"]
    ids = st.sampled_from([*node.puts.coordinations, *node.gets.coordinations, 0, 1]) | (
        st.integers(0, 2**63 - 1))
    views = st.sampled_from([node.view.to_bytes(), b"{}", b"not json"]) | _BYTES.filter(bool)
    requests = st.builds(GetRequest, ids, _KEYS) | st.builds(
        PutRequest, ids, _KEYS, _BYTES, st.just(b""), st.none(), st.just("c1"))
    return st.one_of(
        st.builds(ReplicaPut, ids, _KEYS, _records(), _NAMES | st.just("")),
        st.builds(ReplicaPutAck, ids, _KEYS, _NAMES | st.just("")),
        st.builds(ReplicaGet, ids, _KEYS),
        st.builds(ReplicaGetReply, ids, _KEYS, _records() | st.just(b"")),
        st.builds(ReadRepair, _KEYS, _records()),
        st.builds(HintDelivery, ids, _KEYS, _records()),
        st.builds(HintAck, ids),
        st.builds(Gossip, views, st.booleans()),
        st.builds(SeenDigest, views, st.booleans()),
        st.builds(Settled, _NAMES), st.builds(HandoffDone, _NAMES),
        st.builds(Reap, _KEYS, _records()),
        st.builds(ReapQuery, ids, _KEYS, _records(), views),
        st.builds(ReapQueryReply, ids, _KEYS, st.booleans()),
        st.builds(Forward, ids, requests),
        st.builds(ForwardReply, ids, st.sampled_from(["get", "put"]),
                  st.lists(_BYTES, max_size=2).map(tuple), _BYTES,
                  st.sampled_from(["", "quorum", "bogus"]), st.just("")),
        st.lists(_KEYS, max_size=2).flatmap(
            lambda keys: st.builds(KeyRecords, st.just(tuple(keys)),
                                   st.tuples(*[_records() | st.just(b"") for _ in keys]),
                                   ids, st.booleans())),
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_no_message_a_hostile_peer_can_build_raises_an_internal_error(
        data: st.DataObject) -> None:
    """Whatever valid message an authenticated peer sends (garbage nested in it, ids
    of n1's live operations, unknown names), n1 handles it or drops it as the peer's
    fault: the peer's input never reaches an internal error (that would be a
    decoder that is not total, or a named case missing from PEER_DATA)."""
    driver = _driver()
    node = driver.nodes["n1"]
    node.client_request(driver.now, PutRequest(7, KEY, b"milk", b"", None, "c1"))
    for _ in range(data.draw(st.integers(1, 4), label="messages")):
        src = data.draw(st.sampled_from(["n2", "n3", "n4", "n5"]), label="src")
        message = data.draw(_messages(driver, data), label="message")
        node.receive(driver.now, src, message)
        assert node.stats["internal-error"] == 0, node.log[-1]
