"""Riak's quorum names in ``r``, ``w``, ``pr`` and ``pw`` (session 50's service probe;
case 08's kind: the HTTP API).

Riak's HTTP API takes ``one``, ``quorum`` (``n_val/2+1``), ``all`` and ``default``
(the bucket's own setting) wherever it takes a number (its docs' "Request Tuning";
riak_kv normalizes them per request), and a Riak user's ``GET /kv/k?r=all`` or
``PUT /kv/k?w=quorum`` was answered 400 "r: must be an integer in 1..3 (N)" here:
a client written against Riak's conventions could not ask for the quorums it meant.
Now each name stands for its number (:data:`impl.http_api.QUORUM_NAMES`), ``default``
for the cluster's own setting, and any other word is still 400 naming the names.

The client library and ``vdynamo get``/``put``/``delete`` pass them too.

Mutants (checked failing, session 50): the names left out of ``_quorum`` (the tree
before: both tests fail); ``quorum`` as ``n // 2`` (the unit test); ``all`` as
``n - 1`` (both: the process test's ``r=all`` is served with n3 down); the library
or the CLI refusing the names (the process test, and
tests/vdynamo/test_client_quorum_args.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import vdynamo
from impl.errors import BadRequestError
from impl.http_api import _quorum
from tests.runtime.procs import FAST_ROUNDS, ServedNodes, cli, http_call


@pytest.mark.parametrize(("n", "expected"), [
    (1, {"one": 1, "quorum": 1, "all": 1}), (3, {"one": 1, "quorum": 2, "all": 3}),
    (4, {"one": 1, "quorum": 3, "all": 4}), (5, {"one": 1, "quorum": 3, "all": 5})])
def test_each_name_stands_for_its_number_of_n(n: int, expected: dict[str, int]) -> None:
    for name in ("r", "w", "pr", "pw"):
        low = 0 if name.startswith("p") else 1
        for word, number in expected.items():
            assert _quorum({name: [word]}, name, n, low=low) == number, (name, word, n)
        assert _quorum({name: ["default"]}, name, n, low=low) is None  # the cluster's
        for word in ("ALL", "Quorum", "majority", " one", ""):
            with pytest.raises(BadRequestError, match=f"^{name}: .*one, quorum, all, default"):
                _quorum({name: [word]}, name, n, low=low)


def test_a_riak_client_asks_quorums_by_name_of_served_nodes(tmp_path: Path) -> None:
    names = ("n1", "n2", "n3")
    with ServedNodes(tmp_path, names, ["request_timeout = 2", *FAST_ROUNDS]) as nodes:
        nodes.start(*names)
        nodes.wait_ready(*names)
        assert http_call("PUT", nodes.url("n1", "?w=all"), b"v1")[0] == 200
        for query in ("?r=all", "?r=quorum", "?r=one", "?r=default", "?pr=all&r=all"):
            status, _, body = http_call("GET", nodes.url("n1", query))
            assert (status, body) == (200, b"v1"), (query, status, body)
        node = f"127.0.0.1:{nodes.http['n1']}"
        with vdynamo.connect([node], timeout_s=10.0) as db:  # the library passes them
            assert db.get("k", r="all", pr="quorum").values == [b"v1"]
        done = cli("get", "k", "--r", "all", "--pr", "one", "--node", node)  # the CLI too
        assert done.returncode == 0 and "v1" in done.stdout, done
        nodes.kill("n3")  # two of three replicas answer from now on
        for query in ("?r=quorum", "?r=one", "?r=default", "?pr=quorum"):
            status, _, body = http_call("GET", nodes.url("n1", query))
            assert (status, body) == (200, b"v1"), (query, status, body)
        for query, told in (("?r=all", "R=3"), ("?pr=all", "PR=3")):
            status, _, body = http_call("GET", nodes.url("n1", query))
            assert status == 503 and told in json.loads(body)["message"], (query, body)
        for query in ("?w=quorum", "?w=one", "?w=default&pw=quorum"):
            assert http_call("PUT", nodes.url("n1", query), b"v2")[0] == 200, query
        status, _, body = http_call("PUT", nodes.url("n2", "?w=all"), b"v3")
        assert status == 504 and "W=3" in json.loads(body)["message"], body
        status, _, body = http_call("GET", nodes.url("n1", "?r=most"))
        answer = json.loads(body)
        assert status == 400 and answer["error"] == "BadRequestError", answer
        assert "one, quorum, all, default" in answer["message"], answer
