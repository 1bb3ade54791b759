"""A request no node could serve names what each node said (session 30's user probe).

Before, the client's NoNodeError listed each node's status alone: a get at ``r=3``
with one of three ``vdynamo serve`` processes down raised ``no node could serve it
(...): ...: ConnectError; ...: HTTP 503; ...: HTTP 503``, so ``vdynamo get k --r 3``
did not say that the read quorum was missed; each node's answer said so (``get
reached 2 of R=3 replicas before the timeout``)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from impl.http_client import (
    REASON_CHARS,
    Client,
    NoNodeError,
    delete_plan,
    get_plan,
    put_plan,
)
from tests.runtime.procs import ServedNodes
from tests.vdynamo.test_client_plans import _drive, _router

_QUORUM = {"error": "QuorumError", "outcome": "not-written",
           "message": "get reached 2 of R=3 replicas before the timeout "
                      "(no answer from n3; answered: n1, n2)"}


@pytest.mark.parametrize("plan", [
    lambda router: get_plan(router, "k", 3, None),
    lambda router: put_plan(router, "k", b"v", None, "a/b", None),
    lambda router: delete_plan(router, "k", None, None, 3),
], ids=["get", "put", "delete"])
def test_each_nodes_reason_is_named(plan: object) -> None:
    answers: list[httpx.Response | httpx.TransportError] = [
        httpx.Response(503, json=_QUORUM),
        httpx.Response(503, json={**_QUORUM, "message": "x" * (REASON_CHARS + 500)}),
        httpx.ConnectError("refused")]
    with pytest.raises(NoNodeError) as failed:
        _drive(plan(_router()), answers)  # type: ignore[operator]
    said = str(failed.value)
    # before: ": HTTP 503 (not written); " (a get: ": HTTP 503; "), no reason
    assert (": HTTP 503 QuorumError: get reached 2 of R=3 replicas before the timeout "
            "(no answer from n3; answered: n1, n2)") in said
    # whole up to REASON_CHARS (200, its tail cut, before session 35), its middle cut
    assert "QuorumError: " + "x" * 2_000 in said and "x" * REASON_CHARS not in said
    assert f"[... {len('QuorumError: ') + 500:,} characters cut ...]" in said
    assert ": ConnectError" in said


def test_an_answer_that_is_not_the_apis_is_named_by_its_status_alone() -> None:
    with pytest.raises(NoNodeError) as failed:
        _drive(get_plan(_router(), "k", None, None),
               [httpx.Response(503, text="<html>busy</html>")] * 3)
    assert "HTTP 503" in str(failed.value) and "busy" not in str(failed.value)


def test_a_read_quorum_missed_on_live_nodes_is_named(tmp_path: Path) -> None:
    with ServedNodes(tmp_path, ("n1", "n2", "n3"), ["gossip_interval = 0.25"]) as nodes:
        nodes.start("n1", "n2", "n3")
        nodes.wait_ready("n1", "n2", "n3")
        with Client([f"127.0.0.1:{nodes.http['n1']}"], timeout_s=5) as db:
            db.put("k", b"v")
            os.kill(nodes.procs["n3"].pid, signal.SIGKILL)
            # the silent replica named since session 35
            with pytest.raises(NoNodeError, match=r"HTTP 503 QuorumError: get reached 2 of R=3 "
                               r"replicas before the timeout \(no answer from n3; answered: "):
                db.get("k", r=3)
            assert db.get("k", r=2).values == [b"v"]
