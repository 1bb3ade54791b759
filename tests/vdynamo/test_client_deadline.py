"""A call's ``deadline_s`` and each node's ``timeout_s`` (session 53), driven by hand
through the plans (no network) and the drivers' bound.

Before: each node had the whole ``timeout_s``; ``vdynamo put`` (5 s) of a key led by
a hung node (SIGSTOP: the kernel still accepts its connections) was sent to it and
answered "outcome unknown" after 5 s, and a get waited 5 s on it before the next
node. Now, with ``deadline_s``: a write goes to a node only once it answered within
``FRESH_S`` or answers ``GET /health`` (a probe; unanswered: the next node, nothing
of the write sent); once sent it waits until the deadline; a get or a probe waits
``timeout_s`` at most; a request not sent by the deadline is :class:`NotSentError`
(its node not suspected). Without ``deadline_s`` nothing changes (no probe).

Mutants checked to fail (``/tmp/s53c/mut.sh``): the probe skipped (``probe_writes``
ignored), a fresh node probed again (``fresh`` always False), a probe's timeout
taken as a sent write's (``raise OutcomeUnknownError``), ``_bound`` giving a write
``timeout_s`` too, a NotSentError suspecting its node.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from impl.http_client import (
    FRESH_S,
    NoNodeError,
    NotSentError,
    OutcomeUnknownError,
    Router,
    _bound,
    get_plan,
    put_plan,
)
from tests.vdynamo.test_client_plans import _answer, _drive, _router


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _probing(clock: _Clock | None = None) -> Router:
    router = _router()
    router.probe_writes = True
    if clock is not None:
        router._now = clock  # (the router's injectable time, as _router's)
    return router


def _put(router: Router) -> Any:
    return put_plan(router, "k", b"v", None, "text/plain", None)


def test_a_write_is_sent_only_to_a_node_that_answers_its_probe() -> None:
    router = _probing()
    first, second, _ = router.candidates("k")
    context, asked = _drive(_put(router), [
        httpx.ReadTimeout("no whole answer within 2 s"),  # the first's probe: hung
        _answer(200, {"ready": True}),                   # the second's probe
        _answer(200, {"context": "C"})])                  # the put, to the second
    assert context == "C"
    assert asked == [f"{first}/health", f"{second}/health", f"{second}/kv/k"], asked
    assert router.suspected() == [first]


def test_a_node_that_answered_lately_is_not_probed_and_a_sent_write_is_not_retried(
        ) -> None:
    clock = _Clock()
    router = _probing(clock)
    first = router.candidates("k")[0]
    router.answered(first)
    clock.now += FRESH_S / 2
    plan = _put(router)
    method, url, _ = next(plan)
    assert (method, url) == ("PUT", f"{first}/kv/k")
    with pytest.raises(OutcomeUnknownError):  # sent: never to another node
        plan.send(httpx.ReadTimeout("no whole answer within 4.9 s"))
    clock = _Clock()  # an answer older than FRESH_S: probed again
    router = _probing(clock)
    router.answered(first)
    clock.now += FRESH_S * 2
    assert next(_put(router))[:2] == ("GET", f"{first}/health")


def test_without_a_deadline_nothing_is_probed() -> None:
    router = _router()
    assert next(_put(router))[:2] == ("PUT", f"{router.candidates('k')[0]}/kv/k")


def test_every_probe_unanswered_is_not_written() -> None:
    plan = _put(_probing())
    next(plan)
    with pytest.raises(NoNodeError) as raised:
        for _ in range(3):
            plan.send(httpx.ConnectTimeout("no answer"))
    assert not isinstance(raised.value, OutcomeUnknownError)
    assert raised.value.outcome == "not-written"
    assert "GET /health (asked before the PUT, which was not sent)" in str(raised.value)


def test_a_request_past_the_deadline_is_not_sent_and_suspects_no_node() -> None:
    router = _probing()
    plan = get_plan(router, "k", None, None)
    next(plan)
    with pytest.raises(NoNodeError, match="not sent: the call's deadline_s"):
        for _ in range(3):
            plan.send(NotSentError("not sent: the call's deadline_s of 5.0 s passed"))
    assert router.suspected() == []


def test_the_bound_of_each_request() -> None:
    assert _bound("GET", 2.0, None, None) == 2.0  # no deadline: timeout_s
    until = time.monotonic() + 5.0
    assert _bound("GET", 2.0, 5.0, until) == 2.0
    assert 4.0 < _bound("PUT", 2.0, 5.0, until) <= 5.0  # a write: what is left
    assert 4.0 < _bound("DELETE", 2.0, 5.0, until) <= 5.0
    assert _bound("GET", 9.0, 5.0, until) <= 5.0
    with pytest.raises(NotSentError):
        _bound("PUT", 2.0, 5.0, time.monotonic() - 0.1)


def test_a_remainder_under_half_a_millisecond_is_no_bound(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 53's review: 0.3 ms left of the call's deadline was rounded to a bound of
    0 s and the request made with it (a write's first byte then refused by the
    deadline backend, a WriteTimeout: "outcome unknown" for a write never sent). Now
    not sent (NotSentError, a write then NoNodeError: not written). Fails on
    39071267 (``_bound`` returns 0.0); mutant checked: the rounding moved back after
    the check (fails)."""
    until = 100.0
    monkeypatch.setattr(time, "monotonic", lambda: until - 0.0003)
    for method in ("PUT", "DELETE", "GET"):
        with pytest.raises(NotSentError):
            _bound(method, 2.0, 5.0, until)
    monkeypatch.setattr(time, "monotonic", lambda: until - 0.0006)
    assert _bound("PUT", 2.0, 5.0, until) == 0.001
