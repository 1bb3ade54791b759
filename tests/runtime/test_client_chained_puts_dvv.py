"""A library client that chains its puts' contexts over siblings it never read
(session 47's data probe; cases 05 and 12's kind: the context a write answers, and a
key that became un-updatable).

Three real nodes, the default clock (dvv). Alice and Bob, two ``vdynamo.connect``
clients, each write ``cart`` blind: two siblings, both coordinated by the key's first
node (the library routes a key to it). Carol then writes ``c0`` blind and chains
``c1``, ``c2``, ... each with the context her previous put answered, as a Riak client
does with the object a put returns. Right value (paper 4.4, a context covers what it
saw): ``[a, b, c<last>]``, each of Carol's puts superseding her previous one.

The library named no client, and the HTTP API writes every unnamed put as the one
client ``http``: in dvv a put past a value it did not read takes its dot under the
pair ``<actor> http`` (docs/impl.md, "The context a put answers, in dvv"), whose
entry then held Bob's value, so no context could name Carol's dot without covering
Bob's, and each answer named nothing of it: every chained put was a new sibling, and
the 24th was refused ("key has more than 25 siblings"): 25 values, the key stuck for
a client that keeps chaining. Now a client of the library names itself (a random
``X-Vdynamo-Client`` per client, sent with its writes when the cluster's clock is dvv:
:class:`impl.http_client.Router`), as a client with the header always could.

Loopback only, bounded (a few seconds), every process stopped."""

from __future__ import annotations

from pathlib import Path

import vdynamo
from tests.runtime.procs import FAST_UP, cluster_up, http


def test_chained_puts_over_unread_siblings_supersede_each_other(tmp_path: Path) -> None:
    directory = tmp_path / "c"
    with cluster_up(directory, "--nodes", "3", *FAST_UP):
        urls = [http(directory, name) for name in ("n1", "n2", "n3")]
        with vdynamo.connect(urls) as alice, vdynamo.connect(urls) as bob, \
                vdynamo.connect(urls) as carol:
            alice.put("cart", b"a")
            bob.put("cart", b"b")
            context = None
            for i in range(30):  # before: refused at the 24th (25 siblings)
                context = carol.put("cart", b"c%d" % i, context=context)
            assert sorted(carol.get("cart", r=3).values) == [b"a", b"b", b"c29"]
