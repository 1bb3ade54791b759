"""Every path on which the client hears of a node's silence or answer marks it
(session 30's review of the user probe's ``Router.suspect``).

The probe's tests went through a get's timeout and a get's answer only; mutants
dropping the mark on the ring's ``/status``, on a write whose connection failed, on
a write whose answer was lost, or the clearing on a get's answer all passed them."""

from __future__ import annotations

import httpx
import pytest

from impl.http_client import (
    REASON_CHARS,
    SUSPECT_S,
    NoNodeError,
    OutcomeUnknownError,
    get_plan,
    put_plan,
    status_plan,
)
from tests.vdynamo.test_client_suspects import _asked, _Clock, _router, _status

_SERVED = httpx.Response(200, json={"values": ["eA=="], "content_types": ["a/b"],
                                    "context": "C"})
_NOT_SERVED = httpx.Response(503, json={"error": "OverloadedError", "message": "busy",
                                        "outcome": "not-written"})


def test_a_status_that_timed_out_marks_its_node() -> None:
    router = _router(_Clock())
    first = router.candidates(None)[0]
    asked = _asked(status_plan(router), [httpx.ConnectTimeout("down"), _status()])
    assert asked[0].startswith(first) and len(asked) == 2
    assert router.candidates(None)[-1] == first


def test_a_write_not_sent_marks_its_node_and_goes_on() -> None:
    router = _router(_Clock())
    first = router.candidates("k")[0]
    asked = _asked(put_plan(router, "k", b"v", "C", "a/b", None),
                   [httpx.ConnectError("refused"), httpx.Response(200, json={"context": "D"})])
    assert asked[0].startswith(first) and not asked[1].startswith(first)
    assert router.candidates("k")[-1] == first


def test_a_write_whose_answer_was_lost_marks_its_node() -> None:
    router = _router(_Clock())
    first = router.candidates("k")[0]
    plan = put_plan(router, "k", b"v", "C", "a/b", None)
    _, url, _ = next(plan)
    assert url.startswith(first)
    with pytest.raises(OutcomeUnknownError):
        plan.send(httpx.ReadTimeout("hung"))
    assert router.candidates("k")[-1] == first


def test_a_marked_node_that_answers_a_get_is_first_again() -> None:
    router = _router(_Clock())
    first = router.candidates("k")[0]
    router.suspect(first)
    # the two others cannot serve it (503, not written): the marked node is asked last
    asked = _asked(get_plan(router, "k", None, None), [_NOT_SERVED, _NOT_SERVED, _SERVED])
    assert asked[-1].startswith(first) and len(asked) == 3
    assert router.candidates("k")[0] == first


def test_every_node_marked_keeps_the_ring_order() -> None:
    """All nodes slow: each is still tried, in the key's order."""
    router = _router(_Clock())
    order = router.candidates("k")
    for base in reversed(order):
        router.suspect(base)
    assert router.candidates("k") == order
    with pytest.raises(NoNodeError):
        _asked(get_plan(router, "k", None, None),
               [httpx.ReadTimeout("slow")] * len(order) + [httpx.ReadTimeout("slow")] * 3)


def test_a_marked_node_that_answers_a_status_is_first_again() -> None:
    router = _router(_Clock())
    first = router.candidates(None)[0]
    router.suspect(first)
    assert router.candidates(None)[-1] == first
    assert _asked(status_plan(router, first.removeprefix("http://")), [_status()]) == [
        first + "/status"]
    assert router.candidates(None)[0] == first


def test_a_mark_ends_after_exactly_suspect_s() -> None:
    clock = _Clock()
    router = _router(clock)
    first = router.candidates("k")[0]
    router.suspect(first)
    clock.now += SUSPECT_S - 0.001
    assert router.candidates("k")[-1] == first
    clock.now += 0.001
    assert router.candidates("k")[0] == first


def test_a_marked_node_that_answers_a_write_is_first_again() -> None:
    router = _router(_Clock())
    first = router.candidates("k")[0]
    router.suspect(first)
    asked = _asked(put_plan(router, "k", b"v", "C", "a/b", None),
                   [_NOT_SERVED, _NOT_SERVED, httpx.Response(200, json={"context": "D"})])
    assert asked[-1].startswith(first) and len(asked) == 3
    assert router.candidates("k")[0] == first


@pytest.mark.parametrize("length", [REASON_CHARS - 1, REASON_CHARS, REASON_CHARS + 1])
def test_a_reason_is_cut_past_reason_chars(length: int) -> None:
    """What a node said is kept whole up to :data:`REASON_CHARS` characters
    (``_said``), its middle cut beyond and the characters cut counted (200, its tail
    cut to 197 and ``...``, before session 35)."""
    said = "QuorumError: " + "x" * (length - len("QuorumError: ") - 1) + "y"
    answer = httpx.Response(503, json={"error": "QuorumError", "outcome": "not-written",
                                       "message": said.removeprefix("QuorumError: ")})
    router = _router(_Clock())
    with pytest.raises(NoNodeError) as failed:
        _asked(get_plan(router, "k", 3, None), [answer] * 3)
    half = REASON_CHARS // 2
    shown = said if length <= REASON_CHARS else (
        f"{said[:half]} [... {length - 2 * half:,} characters cut ...] {said[-half:]}")
    text = str(failed.value)
    assert f"HTTP 503 {shown}; " in text or text.endswith(f"HTTP 503 {shown}")
    assert (said in text) == (length <= REASON_CHARS)
