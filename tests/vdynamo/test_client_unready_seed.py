"""A client whose first seed is a node that is not ready learns its cluster from a
ready one (session 60's red team, probes/23n-library-seeds-led-by-a-node-of-another-secret.py).

The client pins the ``cluster_id`` of the first ``/status`` it learns and refuses every
other cluster's node after (session 29). Before, with the seeds ``[n3, n1, n2]`` and n3
restarted with another secret (a deployment that gave one member a stale cluster file:
its peers refuse it, its ``/status`` says ``ready: false`` and why), the client learned
n3's identity and refused n1 and n2 as "a node of another cluster": 10 of 10 puts
NoNodeError although two of three nodes served (seeds ``[n1, n2, n3]``: 10 of 10).
Now, until a cluster is learned, a node not ready is passed over for a later ready one
(:func:`impl.http_client._status_of`), and taken when none is (a cluster starting).
Mutant, the ``ready`` check removed: the first and third tests fail (n3's identity
learned; the real nodes' 421 "a node of another cluster").
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx
import pytest

from impl.http_client import Router, status_plan
from spec.ring import Ring, Strategy
from tests.runtime.procs import ROOT, ServedNodes
from vdynamo import connect


def _status(router: Router, *answers: dict[str, object]) -> dict[str, object]:
    plan = status_plan(router)
    next(plan)
    with pytest.raises(StopIteration) as done:
        for answer in answers:
            plan.send(httpx.Response(200, json=answer))
    result: dict[str, object] = done.value.value
    return result


def test_an_unready_first_seed_is_passed_over_for_a_ready_one() -> None:
    router = Router(["10.0.0.1:1", "10.0.0.2:2", "10.0.0.3:3"], now=lambda: 0.0)
    got = _status(router, {"cluster_id": "B", "ready": False}, {"cluster_id": "A", "ready": True})
    assert got == {"cluster_id": "A", "ready": True}


def test_when_no_seed_is_ready_the_first_answer_is_taken() -> None:
    router = Router(["10.0.0.1:1", "10.0.0.2:2"], now=lambda: 0.0)
    got = _status(router, {"cluster_id": "A", "ready": False},
                  {"cluster_id": "A", "ready": False, "second": True})
    assert got == {"cluster_id": "A", "ready": False}


def test_a_client_led_by_a_node_of_another_secret_serves_through_the_others(
        tmp_path: Path) -> None:
    with ServedNodes(tmp_path, ("n1", "n2", "n3"), ["n = 3", "r = 2", "w = 2"]) as nodes:
        nodes.start("n1", "n2")
        text = nodes.config.read_text()
        other = tmp_path / "other.toml"
        other.write_text(re.sub(r'secret = "[0-9a-f]+"', f'secret = "{secrets.token_hex(24)}"',
                                text).replace("[nodes.n3]\n", '[nodes.n3]\ndata = "o3.sqlite"\n'))
        other.chmod(0o600)
        with open(tmp_path / "n3.log", "ab") as log:
            nodes.procs["n3"] = subprocess.Popen(
                [sys.executable, "-m", "vdynamo", "serve", str(other), "--node", "n3"],
                cwd=tmp_path, stdout=log, stderr=log, env={**os.environ, "PYTHONPATH": str(ROOT)})
        nodes.wait_ready("n1", "n2")
        deadline = time.monotonic() + 30
        while True:  # until n3 knows its peers refuse it
            try:
                with urllib.request.urlopen(
                        f"http://127.0.0.1:{nodes.http['n3']}/status", timeout=2) as answer:
                    if "secret" in (json.loads(answer.read()).get("why_not_ready") or ""):
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "n3.log").read_text()[-2000:]
            time.sleep(0.2)
        seeds = [f"127.0.0.1:{nodes.http[name]}" for name in ("n3", "n1", "n2")]
        with connect(seeds) as db:
            for i in range(3):
                db.put(f"k{i}", b"v")
                assert db.get(f"k{i}").values == [b"v"]



def _ring_status(cluster_id: str, ready: bool, reached_by: list[str]) -> dict[str, object]:
    ring = Ring.evenly_spaced(["n1", "n2", "n3"])
    return {"cluster_id": cluster_id, "ready": ready, "reached_by": reached_by,
            "ring": {"strategy": Strategy.RANDOM_TOKENS.value, "tokens_per_node": 1,
                     "partitions": None,
                     "tokens": {n: [str(t) for t in ring.tokens_of(n)] for n in ring.nodes}},
            "http": {f"n{i}": f"10.0.0.{i}:{i}" for i in (1, 2, 3)}}


def test_a_cluster_starting_behind_a_stranger_is_learned_once_its_members_meet() -> None:
    """Session 60's review of the red team (probes/23o-library-seeds-led-by-a-stranger-
    while-the-cluster-starts.py): the seeds ``[n3, n1, n2]``, n3 on another secret
    (cluster ``B``), the three started together. n3, past its shadow round while n1
    and n2 were not yet listening, said ``ready: true`` for 4 s (a peer down leaves a
    node ready) and the client learned it and pinned ``B`` for good: once n1 and n2
    were ready every call was NoNodeError "a node of another cluster" (0 of 41-46
    calls in 20 s); its ``ready: false`` alone (the fall-back when no seed is ready) pinned
    it so too. Now an identity is pinned only from a node a majority of its members
    reached (``reached_by``; :func:`impl.http_client._vouched`): n3's ring is used
    meanwhile, and the next refresh pins n1's ``A``. Mutants: ``_vouched`` true
    whatever the peers (only ``ready`` read): fails (``B`` pinned at the first learn);
    ``learn`` pinning whatever the body: fails so too."""
    router = Router(["10.0.0.3:3", "10.0.0.1:1", "10.0.0.2:2"], now=lambda: 0.0)
    plan = status_plan(router)
    assert next(plan)[1] == "http://10.0.0.3:3/status"
    refused = httpx.ConnectError("refused")
    assert plan.send(httpx.Response(200, json=_ring_status("B", True, [])))[1].endswith(":1/status")
    assert plan.send(refused)[1].endswith(":2/status")
    with pytest.raises(StopIteration) as done:
        plan.send(refused)
    first = done.value.value
    assert first["cluster_id"] == "B"  # no other answer: n3's ring is taken
    router.learn(first, "http://10.0.0.3:3")
    assert router.cluster_id is None and router.cluster_header() == {}
    router.forget()  # a refresh, once n1 and n2 are up and met
    plan = status_plan(router)
    assert next(plan)[1] == "http://10.0.0.3:3/status"
    answer = httpx.Response(200, json=_ring_status("B", False, []))
    assert plan.send(answer)[1].endswith(":1/status")
    with pytest.raises(StopIteration) as done:
        plan.send(httpx.Response(200, json=_ring_status("A", True, ["n2"])))
    router.learn(done.value.value, "http://10.0.0.1:1")
    assert router.cluster_id == "A"


def test_an_unready_or_unvouched_node_is_not_pinned() -> None:
    """Each body :meth:`impl.http_client.Router.learn` pins an identity from, or not."""
    for ready, reached, pinned in ((False, ["n1", "n2"], False), (True, [], False),
                                   (True, ["n1"], True), (True, ["n3"], False)):
        router = Router(["10.0.0.3:3"], now=lambda: 0.0)
        status = _ring_status("B", ready, reached)
        status["node"] = "n3"
        router.learn(status)
        assert (router.cluster_id == "B") is pinned, (ready, reached)
