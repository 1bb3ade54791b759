"""The client's delete without a context (issue 11, the third review): the node reads
first; its 404 (no value: nothing written) returns the read's context instead of
trying another node or raising; ``r`` is sent as the read's R; a 404 of a delete
with a context, or of a put, is still a refusal."""

from __future__ import annotations

import httpx
import pytest

from impl.http_client import RequestRefusedError, delete_plan, put_plan
from tests.vdynamo.test_client_plans import _answer, _drive, _router

_MISSING = {"error": "NotFound", "message": "no value for this key",
            "outcome": "not-written", "context": "READ-CTX", "values": []}


def test_a_delete_of_a_key_with_no_value_returns_the_reads_context() -> None:
    plan = delete_plan(_router(), "k", None, None, 2)
    first = next(plan)
    assert first[0] == "DELETE" and first[2]["params"] == {"r": 2}
    assert "X-Vdynamo-Context" not in first[2]["headers"]
    try:
        plan.send(_answer(404, _MISSING))
    except StopIteration as done:
        assert done.value == "READ-CTX"
    else:
        raise AssertionError("a 404 of a context-less delete was retried elsewhere")


def test_a_delete_answered_200_returns_the_tombstones_context() -> None:
    result, asked = _drive(delete_plan(_router(), "k", None, 3),
                           [_answer(200, {"context": "TOMB"})])
    assert result == "TOMB" and len(asked) == 1


def test_other_404s_are_still_refusals() -> None:
    with pytest.raises(RequestRefusedError):
        _drive(put_plan(_router(), "k", b"v", None, "text/plain", None),
               [httpx.Response(404, json=_MISSING)])
    with pytest.raises(RequestRefusedError):  # no context in the body: not a delete's read
        _drive(delete_plan(_router(), "k", None, None),
               [_answer(404, {"error": "NotFound", "message": "no resource"})])
