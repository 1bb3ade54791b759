"""The client does not route to a node's unspecified address (session 28's user probe).

A node whose cluster file binds its HTTP port to every interface (``http =
"0.0.0.0:8001"``, as a container needs to publish its port) advertises that address
in ``/status`` (checked live: ``vdynamo serve`` of such a file answers ``"http":
{"n1": "0.0.0.0:..."}``). ``0.0.0.0`` and ``::`` are no destination (RFC 1122
3.2.1.3, RFC 4291 2.5.2); Linux connects them to the client's own machine. Before, the
client put them first in every key's candidates: from another machine each request
went first to whatever listened on that port there (a refused connection, after
which the ring was forgotten and ``/status`` asked again before the next request).
Now such an address is not learned: a key of that node goes to the seeds (the
addresses the user gave), which forward it. Sans-IO: the plans driven by hand."""

from __future__ import annotations

import contextlib

import httpx

from impl.http_client import Router, get_plan
from spec.ring import Ring, Strategy

SEEDS = ["10.0.0.1:8001"]


def _status(http: dict[str, str]) -> dict[str, object]:
    ring = Ring.evenly_spaced(sorted(http))
    return {"ring": {"strategy": Strategy.RANDOM_TOKENS.value, "tokens_per_node": 1,
                     "partitions": None,
                     "tokens": {n: [str(t) for t in ring.tokens_of(n)] for n in ring.nodes}},
            "http": http}


def test_an_unspecified_address_is_not_learned_and_its_keys_go_to_the_seeds() -> None:
    router = Router(SEEDS, refresh_s=60.0, now=lambda: 0.0)
    router.learn(_status({"n1": "0.0.0.0:8001", "n2": "[::]:8002", "n3": "10.0.0.3:8003"}))
    assert router.http == {"n3": "http://10.0.0.3:8003"}
    for key in ("cart", "user:7", "k", "a", "b", "c"):
        candidates = router.candidates(key)
        # before: http://0.0.0.0:8001 (or http://[::]:8002) was among them, often first
        assert candidates and all("0.0.0.0" not in c and "[::]" not in c for c in candidates)
        assert set(candidates) == {"http://10.0.0.1:8001", "http://10.0.0.3:8003"}


def test_a_get_of_such_a_node_asks_a_seed_first_and_keeps_the_ring() -> None:
    router = Router(SEEDS, refresh_s=60.0, now=lambda: 0.0)
    router.learn(_status({"n1": "0.0.0.0:8001", "n2": "0.0.0.0:8001", "n3": "0.0.0.0:8001"}))
    plan = get_plan(router, "cart", None, None)
    _, url, _ = next(plan)
    assert url.startswith("http://10.0.0.1:8001/kv/"), url  # before: http://0.0.0.0:8001
    with contextlib.suppress(StopIteration):
        plan.send(httpx.Response(200, json={"values": [], "content_types": [],
                                            "context": "Y3R4"}))
    assert not router.stale()  # the ring is kept: no /status before the next request


def test_host_names_and_addresses_are_learned() -> None:
    router = Router(SEEDS, refresh_s=60.0, now=lambda: 0.0)
    router.learn(_status({"n1": "db1.example:8001", "n2": "127.0.0.1:8002",
                          "n3": "[::1]:8003"}))
    assert sorted(router.http) == ["n1", "n2", "n3"]


def test_the_other_spellings_of_an_unspecified_host_are_not_learned() -> None:
    """Session 29's review: ``http = "0:8001"`` binds every interface (getaddrinfo takes
    inet_aton's forms of 0.0.0.0) and the node advertises it as written (checked live:
    ``/status`` said ``"n3": "0:55083"``, and ``vdynamo.connect`` learned
    ``http://0:55083``); ``0.0``, ``0x0`` and ``::ffff:0.0.0.0`` connect to the client's
    own host the same way."""
    router = Router(SEEDS, refresh_s=60.0, now=lambda: 0.0)
    router.learn(_status({"n1": "0:8001", "n2": "0.0:8002", "n3": "0x0:8003",
                          "n4": "[::ffff:0.0.0.0]:8004", "n5": "1:8005",
                          "n6": "0.example:8006"}))
    assert sorted(router.http) == ["n5", "n6"]  # before: n1-n4 too
