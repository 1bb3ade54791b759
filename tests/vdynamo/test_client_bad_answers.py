"""The client library and answers that are not a node's (session 13's probe B).

A proxy's HTML page, a truncated or hand-made body, a status the API never gives:
before, the client raised RequestRefusedError (a LocalError: "fix the request") for a
200 whose body was not the API's, a bare KeyError or TypeError, JSONDecodeError out
of ``status()``; it returned a list from ``status()``, the string 'None' as a put's
context for ``{"context": null}``, and b"" for a value that was not base64
(``b64decode`` drops what is outside its alphabet): a wrong value. Now a get tries the
next node and, when none answers as the API does, raises NoNodeError naming the
answers; a put that got such an answer raises OutcomeUnknownError (the write may have
been made: read first); ``status()`` raises NoNodeError. Driven by hand, no network
(the plans are sans-IO)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from impl.http_client import (
    Fetched,
    NoNodeError,
    OutcomeUnknownError,
    Plan,
    RequestRefusedError,
    Router,
    get_plan,
    put_plan,
    status_plan,
)

SEEDS = ["127.0.0.1:1", "127.0.0.1:2"]
GOOD = {"values": [base64.b64encode(b"milk").decode()], "content_types": ["text/plain"],
        "context": "Y3R4"}


def _router() -> Router:
    router = Router(SEEDS, refresh_s=60.0, now=lambda: 0.0)
    router.forget()
    return router


def _drive(plan: Plan, answers: list[httpx.Response]) -> tuple[Any, list[str]]:
    """Run ``plan`` on scripted answers (its /status asks get a 503 first): (its
    result, the URLs it asked for the key)."""
    asked: list[str] = []
    _, url, _ = next(plan)
    script = iter(answers)
    try:
        while True:
            if url.endswith("/status"):
                _, url, _ = plan.send(httpx.Response(503, json={}))
                continue
            asked.append(url)
            _, url, _ = plan.send(next(script))
    except StopIteration as done:
        return done.value, asked


def _html(status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=b"<html>a proxy</html>",
                          headers={"Content-Type": "text/html"})


BAD_GET_ANSWERS = {
    "html": _html(),
    "values not base64": httpx.Response(200, json={**GOOD, "values": ["%%%"]}),
    "no context": httpx.Response(200, json={"values": []}),
    "values not a list": httpx.Response(200, json={**GOOD, "values": 5}),
    "a redirect": httpx.Response(302, content=b""),
    "a 201": httpx.Response(201, json=GOOD | {"values": 1}),
    "content types not strings": httpx.Response(200, json={**GOOD, "content_types": [1]}),
}


@pytest.mark.parametrize("bad", sorted(BAD_GET_ANSWERS))
def test_a_get_answer_that_is_not_the_apis_moves_on_to_the_next_node(bad: str) -> None:
    """The first node's answer is not the API's: the get asks the second node and
    returns its value (before: RequestRefusedError, KeyError, TypeError or, for a
    value not in base64, b"" returned as the value)."""
    got, asked = _drive(get_plan(_router(), "k", None, None),
                        [BAD_GET_ANSWERS[bad], httpx.Response(200, json=GOOD)])
    assert got == Fetched([b"milk"], ["text/plain"], "Y3R4")
    assert asked == ["http://127.0.0.1:1/kv/k", "http://127.0.0.1:2/kv/k"]


def test_a_get_with_no_answer_of_the_api_raises_no_node_error() -> None:
    with pytest.raises(NoNodeError, match="not an answer of the API"):
        _drive(get_plan(_router(), "k", None, None), [_html(), _html()])


def test_a_refusal_is_still_a_refusal() -> None:
    with pytest.raises(RequestRefusedError):
        _drive(get_plan(_router(), "k", None, None),
               [httpx.Response(400, json={"error": "BadRequestError", "message": "r"})])


@pytest.mark.parametrize("answer", [_html(), httpx.Response(200, json={"context": None}),
                                    httpx.Response(200, json={}),
                                    httpx.Response(200, json={"context": ""}),
                                    httpx.Response(201, json={"context": "Y3R4"}),
                                    _html(302)],
                         ids=["html", "null", "empty", "empty context", "201", "302"])
def test_a_put_answer_that_is_not_the_apis_is_an_unknown_outcome(answer: httpx.Response
                                                                ) -> None:
    """The write may have been made: OutcomeUnknownError, not retried elsewhere
    (before: a bare KeyError, the context 'None', or RequestRefusedError)."""
    with pytest.raises(OutcomeUnknownError, match="not an answer of the API"):
        _drive(put_plan(_router(), "k", b"v", None, "text/plain", None), [answer])


@pytest.mark.parametrize("answer", [_html(), httpx.Response(200, json=[1])],
                         ids=["html", "a list"])
def test_status_that_is_not_a_json_object_is_no_node(answer: httpx.Response) -> None:
    plan = status_plan(Router(["127.0.0.1:1"]))
    next(plan)
    with pytest.raises(NoNodeError, match="not a JSON object"):
        plan.send(answer)


def test_a_good_put_answer_is_its_context() -> None:
    context, _ = _drive(put_plan(_router(), "k", b"v", None, "text/plain", None),
                        [httpx.Response(200, json={"context": "Y3R4"})])
    assert context == "Y3R4"
