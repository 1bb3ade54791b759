"""An ``X-Vdynamo-Client-Counter`` sent without ``X-Vdynamo-Client`` (session 16's
probe), on real ``vdynamo serve`` processes in ``client-vclock``.

A counter counts one named client's puts; a request that names no client is a
client of its own (a fresh id per write, Riak's ``mkclientid``). Before, a counter
without a name made the writer the one shared client ``http`` with that counter:
program A's blind ``PUT k a`` (counter 1) and program B's blind ``PUT k b``
(counter 2), both acknowledged, left ``GET ?r=3`` answering ``[b]``: B's clock
``{http: 2}`` superseded A's ``{http: 1}`` and A's acknowledged write was lost
(the fault session 13's review fixed for writes without a counter). Now such a
request is refused with 400 naming both headers, nothing written.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.runtime.procs import ServedNodes, assert_no_internal_errors
from tests.runtime.procs import http_call as _call

NAMES = ("n1", "n2", "n3")


def test_a_counter_without_a_client_is_refused_and_never_merges_two_writers(
        tmp_path: Path) -> None:
    with ServedNodes(tmp_path, NAMES, ['clock = "client-vclock"']) as nodes:
        for name in NAMES:
            nodes.start(name)
        nodes.wait_ready(*NAMES)
        for counter, value in (("1", b"a"), ("2", b"b")):
            status, _, body = _call("PUT", nodes.url("n1", "?w=3"), value,
                                    {"X-Vdynamo-Client-Counter": counter})
            assert status == 400, (status, body)
            answer = json.loads(body)
            assert answer["outcome"] == "not-written"
            assert answer["message"].startswith(
                "X-Vdynamo-Client-Counter without X-Vdynamo-Client"), answer
        status, _, _ = _call("GET", nodes.url("n2", "?r=3"))
        assert status == 404  # nothing was written
        for value in (b"a", b"b"):  # without the counter: two anonymous writers
            assert _call("PUT", nodes.url("n1", "?w=3"), value)[0] == 200
        status, _, body = _call("GET", nodes.url("n2", "?r=3"),
                                headers={"Accept": "application/json"})
        assert status == 300 and len(json.loads(body)["values"]) == 2, body
        # a named client's counter is taken as before
        assert _call("PUT", nodes.url("n1", "?w=3"), b"c",
                     {"X-Vdynamo-Client": "carol", "X-Vdynamo-Client-Counter": "7"})[0] == 200
    assert_no_internal_errors(sorted(tmp_path.glob("*.log")))
