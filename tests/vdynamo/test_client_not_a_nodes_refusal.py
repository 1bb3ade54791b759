"""A write's 4xx that is no node's (session 38).

A node's every error is a JSON object naming ``error`` and ``message``; a
DELETE's 404 of a key with no value is one too, with the read's ``context``. Until
session 38 a put's or delete's 4xx that was not (a proxy's or another service's
HTML 404, a node's 404 cut short by a proxy: session 37's review) raised
RequestRefusedError, a LocalError ("fix the request") saying nothing was written:
but the write had been sent to whatever answered, and a proxy may have passed it
on (the reviewer's truncating proxy had). Now such an answer raises
OutcomeUnknownError naming what answered and that it is no node's answer; a node's
own 4xx is still RequestRefusedError. A get's such 4xx is no node's answer either:
the get tries the next address, and its NoNodeError names the key, the address and
what it said (before: RequestRefusedError naming neither the key nor the address,
the other addresses not tried).

Loopback only: answers handed to the plans, and a scripted socket server (stopped
at the end) for ``vdynamo delete``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from impl.http_client import (
    NoNodeError,
    OutcomeUnknownError,
    RequestRefusedError,
    Router,
    delete_plan,
    get_plan,
    put_plan,
)
from tests.vdynamo.test_client_hostile_answers import _fake_node, _http, _sends
from vdynamo.kv_cli import main_delete, main_put

PAGE = "<html><body><h1>404 Not Found</h1></body></html>"
#: what answered, each no node's: HTML, a node's DELETE 404 cut short (not JSON),
#: a JSON object of another service (no ``error`` and ``message``)
NOT_A_NODES = {
    "an HTML page": httpx.Response(404, text=PAGE, headers={"Content-Type": "text/html"}),
    "a node's 404 cut short": httpx.Response(404, text='{"error": "NotFound", "mess'),
    "another service's JSON": httpx.Response(404, json={"detail": "Not Found"}),
}


def _drive(plan: Any, answer: httpx.Response) -> Any:
    """Run ``plan``; ``/status`` answers 503 (the plan goes to its seed), every other
    request ``answer``."""
    _, url, _ = next(plan)
    try:
        while True:
            _, url, _ = plan.send(httpx.Response(503, json={}) if url.endswith("/status")
                                  else answer)
    except StopIteration as done:
        return done.value


def _router() -> Router:
    return Router(["127.0.0.1:1"], now=lambda: 0.0)


@pytest.mark.parametrize("what", sorted(NOT_A_NODES))
@pytest.mark.parametrize("method", ["delete", "put"])
def test_a_writes_4xx_that_is_no_nodes_has_an_unknown_outcome(what: str, method: str) -> None:
    plan = (delete_plan(_router(), "k", None, None) if method == "delete" else
            put_plan(_router(), "k", b"v", None, "a/b", None))
    with pytest.raises(OutcomeUnknownError) as raised:
        _drive(plan, NOT_A_NODES[what])
    said = str(raised.value)
    assert said.startswith(f"{method} 'k' to http://127.0.0.1:1: HTTP 404 ")
    assert "not a vdynamo node's answer" in said and "a node's HTTP port" in said
    assert said.endswith("outcome unknown): read the key before writing again")
    assert raised.value.outcome == "unknown"


def test_a_nodes_own_4xx_is_still_a_refusal() -> None:
    """The control: a node's 404 (its error named) is a refusal, nothing written."""
    refusal = httpx.Response(404, json={"error": "NotFound", "message": "no resource",
                                        "outcome": "not-written"})
    for plan in (delete_plan(_router(), "k", None, None),
                 put_plan(_router(), "k", b"v", None, "a/b", None)):
        with pytest.raises(RequestRefusedError, match="HTTP 404 NotFound: no resource"):
            _drive(plan, refusal)


def test_a_delete_of_a_key_with_no_value_still_returns_the_reads_context() -> None:
    missing = httpx.Response(404, json={"error": "NotFound", "message": "no value",
                                        "context": "Y3R4"})
    assert _drive(delete_plan(_router(), "k", None, None), missing) == "Y3R4"


def test_vdynamo_delete_names_an_answer_that_is_no_nodes(
        capsys: pytest.CaptureFixture[str]) -> None:
    """``vdynamo delete`` of an address where a web server answers 404 (HTML): one
    line naming that it is no node's answer and that the outcome is unknown, exit 1;
    before: ``HTTP 404 NotJson: ...`` as a refusal (nothing said of the outcome)."""
    with _fake_node(_sends(_http(404, PAGE.encode(), content_type=b"text/html"))) as node:
        assert main_delete(["k", "--node", node]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith(f"vdynamo delete: delete b'k' to http://{node}: HTTP 404")
    assert "not a vdynamo node's answer" in captured.err
    assert "outcome unknown" in captured.err and "nothing deleted" not in captured.err


def test_a_gets_4xx_that_is_no_nodes_tries_the_next_address() -> None:
    """Two addresses, the first a web server's (its 404 page): the get reads the
    key from the second (before: RequestRefusedError at the first)."""
    router = Router(["127.0.0.1:1", "127.0.0.1:2"], now=lambda: 0.0)
    asked: list[str] = []
    plan = get_plan(router, "k", None, None)
    _, url, _ = next(plan)
    node = {"values": ["dg=="], "context": "Y3R4"}
    try:
        while True:
            asked.append(url)
            _, url, _ = plan.send(
                httpx.Response(503, json={}) if url.endswith("/status") else
                NOT_A_NODES["an HTML page"] if url.startswith("http://127.0.0.1:1/")
                else httpx.Response(200, json=node))
    except StopIteration as done:
        assert done.value.values == [b"v"]
    assert asked[-2:] == ["http://127.0.0.1:1/kv/k", "http://127.0.0.1:2/kv/k"]


@pytest.mark.parametrize("what", sorted(NOT_A_NODES))
def test_a_get_answered_only_by_what_is_no_node_names_key_address_and_answer(
        what: str) -> None:
    with pytest.raises(NoNodeError) as raised:
        _drive(get_plan(_router(), "k", None, None), NOT_A_NODES[what])
    said = str(raised.value)
    assert said.startswith("get 'k': no node could serve it (tried http://127.0.0.1:1): "
                           "http://127.0.0.1:1: HTTP 404 ")
    assert "not a vdynamo node's answer" in said and "a node's HTTP port" in said


@pytest.mark.parametrize("command", ["put", "delete"])
def test_the_cli_names_its_option_for_an_empty_context(
        command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Session 38's user probe: ``vdynamo put k v --context ""`` said "pass the context
    a get returned, or None for a blind put" (the library's words: no option is None).
    Now it names ``--context`` and what leaving it out does; nothing is sent (the
    address is closed: a request would say ConnectError)."""
    main = main_delete if command == "delete" else main_put
    args = ["k", "--node", "127.0.0.1:1", "--context", ""]
    assert main(args if command == "delete" else ["k", "v", *args[1:]]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"vdynamo {command}: --context: empty (an unset variable?): give "
                          "the context a get printed, or leave --context out for a ")
    assert "None" not in err and "ConnectError" not in err and err.count("\n") == 1
