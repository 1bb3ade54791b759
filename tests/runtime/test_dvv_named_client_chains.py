"""In dvv, one *named* client (every ``vdynamo.connect`` client names itself, and so
may a raw HTTP writer with X-Vdynamo-Client) chaining its puts' contexts after
its own blind puts, or running several chains on one key (one client shared by a
web server's threads, as :class:`impl.http_client.Client` invites), supersedes its
own writes and never gets the key stuck (session 58's red team 8; probe
``probes/05i-one-named-client-blind-puts-then-chained-contexts.py``; cases 05 and
12's kind: a context the cluster gave that no longer updates the key).

Before: a named put past an unread value of the server's entry took the pair
``"<actor> <client>"``, and past an unread value of that pair too the server's
actor (``spec.dvv.dot_actor`` with ``shared`` False), whose dot no context names
without the unread values below it, so the put answered its context alone
(empty, for a blind put). A library client's three blind puts then 30 puts each
with the previous put's context: each chained put a new sibling, the 23rd
refused (413, "more than 25 siblings"), 25 values where ``[b0, b1, c<last>]`` is
right; three interleaved chains of one client refused at round 12. Unnamed HTTP
writers (the shared id ``http``) had taken fresh pairs since session 48; session
58 made the HTTP API take every dvv write as that shared id, and session 59 gave
every client fresh pairs (``spec.dvv.dot_actor``, the spec and the
implementation alike) and removed that override: the name reaches the
coordinator again. Mutants: ``HttpApi._request_of`` passing the header's name in
dvv with session 58's ``dot_actor`` (session 58); ``dot_actor`` returning the
actor past the pair's unread value unless the client is ``http`` (session 59):
both tests fail, 413 at the library's chained put 22 (its interleaved chains, run
alone: round 12) and at the raw writer's put ``c23``.
(``vdynamo put`` names every run of it alike, so the CLI's third blind put of a
key began the same: the probe's CLI chain read 15 values before, 3 after.)

One node on loopback (N = 1: every put coordinated by it, as the library routes a
key to its first node), bounded (about 5 s), every process stopped."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import vdynamo
from tests.runtime.procs import FAST_UP, cluster_up, http
from tests.runtime.procs import http_call as _call

ONE = ("--nodes", "1", "--n", "1", "--r", "1", "--w", "1", *FAST_UP)


def test_a_named_clients_chain_after_its_own_blind_puts(tmp_path: Path) -> None:
    directory = tmp_path / "c"
    with cluster_up(directory, *ONE):
        url = http(directory, "n1")
        with vdynamo.connect([url]) as db:
            for value in (b"b0", b"b1", b"b2"):
                context = db.put("k", value)  # blind: concurrent with the others
            for i in range(30):
                context = db.put("k", b"c%d" % i, context=context)
            assert sorted(db.get("k").values) == [b"b0", b"b1", b"c29"]

            contexts: list[str | None] = [None, None, None]
            for i in range(20):  # three chains of one client, interleaved
                for chain in range(3):
                    contexts[chain] = db.put("j", b"%d-%d" % (chain, i),
                                             context=contexts[chain])
            assert sorted(db.get("j").values) == [b"0-19", b"1-19", b"2-19"]


def test_a_raw_named_writers_chain_after_its_own_blind_puts(tmp_path: Path) -> None:
    directory = tmp_path / "c"
    with cluster_up(directory, *ONE):
        url = http(directory, "n1") + "/kv/cart"
        named = {"X-Vdynamo-Client": "shop-7"}
        for value in (b"a", b"b", b"c0"):
            status, _, body = _call("PUT", url, value, named)
            assert status == 200
        for i in range(1, 30):
            headers = {**named, "X-Vdynamo-Context": json.loads(body)["context"]}
            status, _, body = _call("PUT", url, b"c%d" % i, headers)
            assert status == 200, (i, status, body)
        status, _, body = _call("GET", url, headers={"Accept": "application/json"})
        values = sorted(base64.b64decode(v) for v in json.loads(body)["values"])
        assert status == 300 and values == [b"a", b"b", b"c29"], values
