"""A 300 answer's parts read back through a MIME parser as the siblings stored, for
every content type (session 48's service probe; case 08's kind: the HTTP API).

A 300 answer is ``multipart/mixed`` with one part per sibling, each under its own
Content-Type (Riak's convention). A sibling stored as ``multipart/mixed;
boundary=x`` or ``message/rfc822`` was a nested part that a MIME parser (Python's
``email``, which the public cases' reader uses; most languages' multipart readers
likewise) parsed again: siblings ``one`` and a body holding ``--x`` read back as
``[b'one\\r\\n', b'']``, a ``message/*`` sibling as ``b''`` (session 47's note; 68
of 126 type-body pairs of session 48's probe wrong). Now such a part is
``application/octet-stream`` with the sibling's own type in
``X-Vdynamo-Content-Type`` (:func:`impl.http_values.part_fields`), and every part's
payload is the sibling's bytes.

Scenario: one ``vdynamo serve`` process (N = 1), a key per content type holding two
siblings (blind puts): ``text/plain`` ``plain`` and a body of that type; the raw GET
answers 300, parsed by ``email`` under its ``HTTP`` and ``compat32`` policies: the
payloads are the two bodies and each part's type (X-Vdynamo-Content-Type, else
Content-Type) is the one stored; the JSON answer says the same.

Mutants (checked failing, session 48): ``part_fields`` returning ``Content-Type:
kind`` for every type (the tree before: every composite type fails); the top-level
type compared without lowering it (``MESSAGE/global`` fails); ``message`` left out
of the composite types (``message/rfc822`` fails)."""

from __future__ import annotations

import base64
import email.message
import email.parser
import email.policy
import json
from pathlib import Path

from impl.http_values import multipart, seal_value
from tests.runtime.procs import ServedNodes, http_call

#: composite types (multipart/*, message/*, any case, with or without a boundary),
#: types a parser does not read as discrete, and discrete ones kept as they were
TYPES = ["multipart/mixed; boundary=x", "Multipart/Related; boundary=\"q\"",
         "multipart/mixed", "multipart/alternative;boundary=--", "message/rfc822",
         "MESSAGE/global", "message/delivery-status", "message/partial; id=1; number=1",
         "(c) multipart/mixed; boundary=x", "foo", "text/plain; charset=utf-16",
         "application/json", "application/octet-stream"]
#: bodies that look like parts, messages and boundaries, or end in a bare CR or LF
BODIES = [b"--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n",
          b"From: a\r\n\r\nbody", b"", b"ends in CR\r", b"\n\n\r\r--\r\n--x--",
          bytes(range(256))]


def _parts(content_type: str, body: bytes,
           policy: email.policy.Policy) -> list[tuple[str, bytes]]:
    """(the sibling's type, the payload) of each part of a 300 answer's body, as a
    client reads them with Python's ``email`` under ``policy`` (a type as the policy
    gives a field's value: ``HTTP`` quotes parameters, :func:`_as_read`)."""
    message = email.parser.BytesParser(policy=policy).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    assert isinstance(message, email.message.Message) and message.is_multipart()
    found = []
    for part in message.get_payload():
        assert isinstance(part, email.message.Message)
        payload = part.get_payload(decode=True)
        kind = part.get("X-Vdynamo-Content-Type") or part.get("Content-Type")
        found.append((_as_read(str(kind), policy),
                      payload if isinstance(payload, bytes) else b"<parsed again>"))
    return found


def _as_read(kind: str, policy: email.policy.Policy) -> str:
    """A Content-Type field's value ``kind`` as ``policy`` reads it back."""
    return str(policy.header_fetch_parse("Content-Type", kind))


def test_every_part_of_a_multipart_answer_is_its_sibling_for_every_type() -> None:
    """The answer's body as built (no process): every type against every body."""
    for kind in TYPES:
        for body in BODIES:
            values = [seal_value(b"plain", b"text/plain"), seal_value(body, kind.encode())]
            header, answer = multipart(values)
            for policy in (email.policy.HTTP, email.policy.compat32):
                got = _parts(header, answer, policy)
                assert got == [("text/plain", b"plain"), (_as_read(kind, policy), body)], (
                    kind, body, policy)


def test_a_served_300_answer_parses_as_the_siblings_stored(tmp_path: Path) -> None:
    lines = ["n = 1", "r = 1", "w = 1"]
    with ServedNodes(tmp_path, ("n1",), lines) as nodes:
        nodes.start("n1")
        nodes.wait_ready("n1")
        base = f"http://127.0.0.1:{nodes.http['n1']}/kv/"
        body = BODIES[0]
        for number, kind in enumerate(TYPES):
            key = base + f"k{number}"
            assert http_call("PUT", key, b"plain", {"Content-Type": "text/plain"})[0] == 200
            assert http_call("PUT", key, body, {"Content-Type": kind})[0] == 200
            status, headers, answer = http_call("GET", key, headers={"Accept": "*/*"})
            assert status == 300, (kind, status, answer[:200])
            for policy in (email.policy.HTTP, email.policy.compat32):
                got = sorted(_parts(headers["content-type"], answer, policy))
                want = [("text/plain", b"plain"), (_as_read(kind, policy), body)]
                assert got == sorted(want), (kind, got)
            status, _, answer = http_call("GET", key, headers={"Accept": "application/json"})
            siblings = json.loads(answer)
            assert status == 300
            assert sorted(zip(siblings["content_types"],
                              [base64.b64decode(v) for v in siblings["values"]],
                              strict=True)) == sorted([("text/plain", b"plain"), (kind, body)])


def test_a_sibling_holding_an_earlier_answer_is_one_part() -> None:
    """A 300 answer's boundary is drawn for that answer (128 random bits), so a sibling
    whose bytes are an earlier 300 answer, its boundary lines and all (a client that
    stored what it read, a proxy's log), is one part, under a composite type and a
    discrete one (session 48's review). Mutant (checked failing): a constant boundary
    (``"vdynamo"``) for ``secrets.token_hex(16)``, which the two tests above let pass:
    their bodies hold no boundary of an answer."""
    earlier_type, earlier = multipart([seal_value(b"one", b"text/plain"),
                                       seal_value(b"", None)])
    for kind in (earlier_type, "text/plain"):
        values = [seal_value(b"plain", b"text/plain"), seal_value(earlier, kind.encode())]
        header, answer = multipart(values)
        for policy in (email.policy.HTTP, email.policy.compat32):
            assert _parts(header, answer, policy) == [
                ("text/plain", b"plain"), (_as_read(kind, policy), earlier)], (kind, policy)
