"""The client keeps what a node said whole, up to a bound, its middle cut beyond it
(session 35; docs/runtime.md, "The client keeps the reasons whole (session 35)").

Since session 35 a get that misses R names its silent replicas and those that
answered in its 503 (``_named`` in :mod:`impl.get_coordinator`). The client cut each
node's reason at its 200th character: a DELETE's 503 (its 72-character prefix)
naming five nodes of long names lost its tail, the replicas that answered. Now a
reason is kept whole up to :data:`~impl.http_client.REASON_CHARS` characters, and a
longer one (a broken or hostile server's 1 MB body) keeps its two ends and says how
many characters were cut; what is not printable is escaped, so ``vdynamo delete``
still prints one line."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

import httpx
import pytest

from impl.http_client import (
    REASON_CHARS,
    Client,
    NoNodeError,
    OutcomeUnknownError,
    RequestRefusedError,
    delete_plan,
    get_plan,
    put_plan,
)
from tests.vdynamo.test_client_plans import _drive, _router
from vdynamo import kv_cli

#: five nodes of a cluster named as operators name hosts (55 characters each)
NAMES = [f"dynamo-eu-west-1{zone}-node-0{i}.storage.prod.example.internal"
         for i, zone in enumerate("abcab", start=1)]
A, B, C, D, E = NAMES
#: the 503 of a DELETE without a context at r=3, as the node words it: B silent and
#: its two fallbacks too, C silent, A answered (``_named``'s clauses)
SILENT = f"no answer from {B}, {D} for {B}, {E} for {B}, {C}"
ANSWERED = f"answered: {A}"
MESSAGE = ("delete: its read of the key first (with R) failed, nothing was deleted: "
           f"get reached 1 of R=3 replicas before the timeout ({SILENT}; {ANSWERED})")
QUORUM = {"error": "QuorumError", "outcome": "not-written", "message": MESSAGE}


def test_the_message_is_realistic() -> None:
    assert len(NAMES[0]) == 55 and len(set(NAMES)) == 5
    assert 200 < len(MESSAGE) < REASON_CHARS  # cut before; whole now
    assert len(MESSAGE) == 551


@pytest.mark.parametrize("plan", [
    lambda router: get_plan(router, "k", 3, None),
    lambda router: delete_plan(router, "k", None, None, 3),
], ids=["get", "delete"])
def test_every_nodes_whole_reason_survives(plan: Any) -> None:
    answers: list[httpx.Response | httpx.TransportError] = [
        httpx.Response(503, json=QUORUM), httpx.ConnectError("refused"),
        httpx.Response(503, json=QUORUM)]
    with pytest.raises(NoNodeError) as failed:
        _drive(plan(_router()), answers)
    said = str(failed.value)
    # before: each reason ended "... for dynamo-eu-west-1b-node-02.storage.prod.ex..."
    assert said.count(f"HTTP 503 QuorumError: {MESSAGE}") == 2
    assert said.count(ANSWERED) == 2 and "characters cut" not in said


#: a broken or hostile server's error: 1 MB of message between two ends
HUGE = f"HEAD {'x' * 1_000_000} TAIL"


def _cut_note(said: str) -> int:
    """The characters the note in ``said`` says were cut (one note)."""
    notes = re.findall(r"\[\.\.\. ([\d,]+) characters cut \.\.\.\]", said)
    assert len(notes) == 1, said[:300]
    return int(notes[0].replace(",", ""))


def test_a_huge_reason_is_cut_in_the_middle_and_says_so() -> None:
    answers: list[httpx.Response | httpx.TransportError] = [
        httpx.Response(503, json={**QUORUM, "message": HUGE}),
        httpx.ConnectError("refused"), httpx.ConnectError("refused")]
    with pytest.raises(NoNodeError) as failed:
        _drive(get_plan(_router(), "k", None, None), answers)
    said = str(failed.value)
    reason = "QuorumError: " + HUGE
    assert _cut_note(said) == len(reason) - REASON_CHARS
    assert "QuorumError: HEAD x" in said and "x TAIL; " in said  # both ends kept
    assert len(said) < REASON_CHARS + 500  # bounded: not 1 MB


def test_a_huge_504_or_4xx_is_cut_too() -> None:
    huge = {"error": "RequestTimeoutError", "outcome": "unknown", "message": HUGE}
    with pytest.raises(OutcomeUnknownError) as unknown:
        _drive(put_plan(_router(), "k", b"v", None, "a/b", None),
               [httpx.Response(504, json=huge)])
    assert _cut_note(str(unknown.value)) > 990_000 and "TAIL" in str(unknown.value)
    assert len(str(unknown.value)) < REASON_CHARS + 500
    with pytest.raises(RequestRefusedError) as refused:
        _drive(get_plan(_router(), "k", None, None),
               [httpx.Response(400, json={"error": "BadRequest", "message": HUGE})])
    assert _cut_note(str(refused.value)) > 990_000
    assert len(str(refused.value)) < REASON_CHARS + 500


def test_what_is_not_printable_is_escaped() -> None:
    sneaky = {**QUORUM, "message": "get reached 0 of R=1\n\x1b[2Jall good\u2028"}
    with pytest.raises(NoNodeError) as failed:
        _drive(get_plan(_router(), "k", None, None),
               [httpx.Response(503, json=sneaky)] * 3)
    said = str(failed.value)
    assert said.isprintable()  # one line, no escape sequence
    assert r"get reached 0 of R=1\n\x1b[2Jall good\u2028" in said
    huge = {**QUORUM, "message": f"\x1b[2J{HUGE}\n\x1b[2J"}  # both ends of a cut one
    with pytest.raises(NoNodeError) as failed:
        _drive(get_plan(_router(), "k", None, None),
               [httpx.Response(503, json=huge)] * 3)
    said = str(failed.value)
    assert said.isprintable() and r"QuorumError: \x1b[2JHEAD" in said
    assert r"TAIL\n\x1b[2J; " in said


class _Cluster:
    """An httpx transport answering like a cluster whose key's read missed R:
    ``/status`` 404 (the client keeps the address it was given), every DELETE the
    503 of :data:`QUORUM`."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/status":
            body = {"error": "NotFound", "message": "no"}
            return httpx.Response(404, stream=httpx.ByteStream(json.dumps(body).encode()))
        return httpx.Response(503, stream=httpx.ByteStream(json.dumps(QUORUM).encode()))


def test_vdynamo_delete_prints_every_reason_whole_on_one_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    pool = httpx.Client(transport=httpx.MockTransport(_Cluster()))

    def connect(nodes: list[str], **options: int) -> Client:
        client = Client(nodes, **options)  # max_answer_bytes (session 36)
        monkeypatch.setattr(client, "_pool", lambda url: (pool, threading.BoundedSemaphore(1)))
        return client

    monkeypatch.setattr(kv_cli, "connect", connect)
    with pool:
        assert kv_cli.main_delete(["k", "--r", "3", "--node", "127.0.0.1:1"]) == 1
    printed = capsys.readouterr().err
    assert printed.count("\n") == 1  # one line
    assert printed.startswith("vdynamo delete: delete b'k': no node could serve it")
    assert printed.rstrip("\n").endswith(f"HTTP 503 QuorumError: {MESSAGE} (not written)")
