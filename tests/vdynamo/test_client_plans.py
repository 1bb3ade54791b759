"""The client's request plans, driven by hand (no network): which node is tried next,
and when a put is retried (its outcome known) or not."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from impl.errors import InvalidValueError, LocalError
from impl.http_client import (
    NoNodeError,
    OutcomeUnknownError,
    Plan,
    RequestRefusedError,
    Router,
    delete_plan,
    get_plan,
    key_bytes,
    key_path,
    put_plan,
)
from spec.ring import Ring, Strategy

SEEDS = ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]


def _router() -> Router:
    router = Router(SEEDS, refresh_s=60.0, now=lambda: 0.0)
    ring = Ring.evenly_spaced(["n1", "n2", "n3"])
    router.learn({"ring": {"strategy": Strategy.RANDOM_TOKENS.value, "tokens_per_node": 1,
                           "partitions": None,
                           "tokens": {n: [str(t) for t in ring.tokens_of(n)]
                                      for n in ring.nodes}},
                  "http": {f"n{i}": f"127.0.0.1:{i}" for i in (1, 2, 3)}})
    return router


def _answer(status: int, body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(status, json=body)


def _drive(plan: Plan, answers: list[httpx.Response | httpx.TransportError],
           ) -> tuple[Any, list[str]]:
    """Run ``plan`` on scripted answers: (its result, the URLs it asked)."""
    asked = []
    try:
        _, url, _ = next(plan)
        for answer in answers:
            asked.append(url)
            _, url, _ = plan.send(answer)
    except StopIteration as done:
        return done.value, asked
    raise AssertionError(f"the plan wanted more than {len(answers)} answers: {asked}")


def test_a_key_goes_to_the_first_node_of_its_preference_list() -> None:
    router = _router()
    assert router.partitioning is not None
    for key in ("a", "cart", "user:7"):
        first = router.partitioning.preference_list(key.encode())[0]
        assert router.candidates(key)[0] == f"http://127.0.0.1:{first[1]}"
        assert sorted(router.candidates(key)) == sorted(f"http://{s}" for s in SEEDS)


def _write(kind: str, router: Router) -> Plan:
    """A put, or a delete (a tombstone written like a put: the same retry rules)."""
    if kind == "put":
        return put_plan(router, "k", b"v", "CTX", "text/plain", None)
    return delete_plan(router, "k", "CTX", None)


@pytest.mark.parametrize("kind", ["put", "delete"])
def test_a_put_moves_on_only_when_nothing_was_written(kind: str) -> None:
    router = _router()
    refused = httpx.ConnectError("refused")
    saturated = _answer(503, {"error": "OverloadedError", "message": "",
                              "outcome": "not-written"})
    plan = _write(kind, router)
    method, _, options = next(plan)
    assert method == kind.upper() and options["headers"]["X-Vdynamo-Context"] == "CTX"
    assert (options["content"] is None) == (kind == "delete")
    context, asked = _drive(_write(kind, router),
                            [refused, saturated, _answer(200, {"context": "C"})])
    assert context == "C" and len(set(asked)) == 3


@pytest.mark.parametrize("kind", ["put", "delete"])
@pytest.mark.parametrize("answer", [
    httpx.ReadTimeout("sent, no answer"),
    httpx.RemoteProtocolError("the connection dropped"),
    _answer(504, {"error": "QuorumError", "message": "", "outcome": "unknown"}),
])
def test_a_put_whose_outcome_is_unknown_is_not_retried(kind: str, answer: Any) -> None:
    plan = _write(kind, _router())
    next(plan)
    with pytest.raises(OutcomeUnknownError):
        plan.send(answer)


def test_a_get_is_retried_after_any_failure_and_a_bad_request_is_not() -> None:
    router = _router()
    got, asked = _drive(get_plan(router, "k", None, None), [
        httpx.ReadTimeout("slow"),
        _answer(504, {"error": "RequestTimeoutError", "message": "", "outcome": "unknown"}),
        _answer(300, {"values": ["YQ==", "Yg=="], "content_types": ["a/b", "c/d"],
                      "context": "C"})])
    assert got.values == [b"a", b"b"] and len(asked) == 3
    assert router.stale()  # a node failed to answer: the ring is relearned first
    plan = get_plan(_router(), "k", 9, None)
    next(plan)
    with pytest.raises(RequestRefusedError):
        plan.send(_answer(400, {"error": "BadRequestError", "message": "r: 1..3",
                                "outcome": "not-written"}))


def test_the_resolve_hook_writes_the_merge_with_the_gets_context() -> None:
    router = _router()
    plan = get_plan(router, "cart", None, lambda values: b"+".join(sorted(values)))
    next(plan)
    method, _, options = plan.send(_answer(300, {
        "values": ["YQ==", "Yg=="], "content_types": ["text/plain", "text/plain"],
        "context": "SIBLINGS"}))
    assert method == "PUT" and options["content"] == b"a+b"
    assert options["headers"]["X-Vdynamo-Context"] == "SIBLINGS"
    with pytest.raises(StopIteration) as done:
        plan.send(_answer(200, {"context": "MERGED"}))
    assert done.value.value.values == [b"a+b"] and done.value.value.context == "MERGED"


def test_no_node_left_is_an_error_naming_what_was_tried() -> None:
    plan = get_plan(_router(), "k", None, None)
    next(plan)
    with pytest.raises(NoNodeError, match=re.escape("127.0.0.1:3")):
        for _ in range(3):
            plan.send(httpx.ConnectError("refused"))


@pytest.mark.parametrize("make_plan", [
    lambda router, key: get_plan(router, key, None, None),
    lambda router, key: put_plan(router, key, b"v", None, "application/octet-stream", None),
    lambda router, key: delete_plan(router, key, None, None),
])
def test_a_str_key_that_is_not_utf8_is_refused_naming_the_key(make_plan: Any) -> None:
    """A str key with a lone surrogate (``os.fsdecode`` of undecodable bytes) has no
    UTF-8 form: the client raises InvalidValueError naming the key and saying to
    pass bytes, before any request; before, a bare UnicodeEncodeError from the
    ring lookup (session 12's probe). The same bytes as a bytes key are served."""
    key = "cart\udcff"
    with pytest.raises(InvalidValueError, match=r"key 'cart\\udcff': not valid UTF-8 .*"
                                                r"pass the key as bytes"):
        next(make_plan(_router(), key))
    with pytest.raises(InvalidValueError, match="not valid UTF-8"):
        key_path(key)
    assert key_bytes(b"cart\xff") == b"cart\xff" and key_bytes("caf\u00e9") == "café".encode()
    assert key_path(b"cart\xff") == "/kv/cart%FF"


@pytest.mark.parametrize(("make_plan", "named"), [
    (lambda router: put_plan(router, b"k", b"v", "\u00e9", "text/plain", None),
     "X-Vdynamo-Context '\u00e9'"),
    (lambda router: put_plan(router, b"k", b"v", "\udcff", "text/plain", None),
     "X-Vdynamo-Context '\\\\udcff'"),
    (lambda router: delete_plan(router, b"k", "AAAA\r\nX-Evil: 1", None),
     "X-Vdynamo-Context 'AAAA\\\\r\\\\nX-Evil: 1'"),
    (lambda router: put_plan(router, b"k", b"v", None, "t\u00ebxt/plain", None),
     "Content-Type 't\u00ebxt/plain'"),
    (lambda router: put_plan(router, b"k", b"v", None, "a\r\nX-Evil: 1", None),
     "Content-Type 'a\\\\r\\\\nX-Evil: 1'"),
])
def test_a_context_or_content_type_not_printable_ascii_is_refused_naming_it(
        make_plan: Any, named: str) -> None:
    """A context or content type that is not printable ASCII is refused with
    InvalidValueError naming the header, before any request (so nothing is
    written). Before: httpx's bare UnicodeEncodeError for non-ASCII, and for a CR
    or LF its LocalProtocolError reported as OutcomeUnknownError although nothing
    was sent (``vdynamo put k v --content-type tëxt/plain``: a traceback; session
    12's second probe). Printable ones go out as given."""
    with pytest.raises(InvalidValueError, match=f"{named}: must be printable ASCII"):
        next(make_plan(_router()))
    _, _, request = next(put_plan(_router(), b"k", b"v", "AAAA", "text/plain; q=1", None))
    assert request["headers"] == {"Content-Type": "text/plain; q=1",
                                  "X-Vdynamo-Context": "AAAA"}


@pytest.mark.parametrize(("seed", "named"), [
    ("[::1", r"node address '\[::1': Invalid port"),
    ("127.0.0.1:1/kv", "node address '127.0.0.1:1/kv': give host:port"),
    ("127.0.0.1:1?r=1", r"node address '127.0.0.1:1\?r=1': give host:port"),
    (":1", "node address ':1': give host:port"),
])
def test_a_node_address_that_is_not_host_port_is_refused_naming_it(
        seed: str, named: str) -> None:
    """A node address httpx cannot parse, or with a path, query or fragment, is
    refused with LocalError naming it when the client is made. Before: httpx's
    bare InvalidURL at the first request (a traceback of ``vdynamo get --node
    '[::1' k``), and ``host:port/kv`` asked ``/kv/kv/KEY``, whose 404 read as a
    key with no value (session 12's second probe). A URL's trailing slash is
    dropped (it made ``//kv/KEY``)."""
    with pytest.raises(LocalError, match=named):
        Router([seed])
    assert Router(["http://127.0.0.1:1/", "127.0.0.1:2"]).seeds == [
        "http://127.0.0.1:1", "http://127.0.0.1:2"]
