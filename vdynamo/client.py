"""The client library of a real vdynamo cluster (HTTP).

::

    import vdynamo

    def union(values: list[bytes]) -> bytes:          # a shopping cart's merge
        return b",".join(sorted({i for v in values for i in v.split(b",") if i}))

    with vdynamo.connect(["127.0.0.1:8001", "127.0.0.1:8002"], resolve=union) as db:
        got = db.get("cart")                           # one value: siblings merged
        db.put("cart", (got.value or b"") + b",milk", context=got.context)

    async with vdynamo.connect_async(["127.0.0.1:8001"]) as db:
        await db.put("cart", b"milk")
        got = await db.get("cart")
        await db.delete("cart", context=got.context)  # a tombstone; a get: no value

Requests go to a coordinator of the key, computed from the ring learned from
``/status`` (the paper's client-driven coordination, section 4.5), fall back to
any node, and are retried only when the outcome is known. The implementation
and its rules: :mod:`impl.http_client`. A delete writes a tombstone and is
retried exactly as a put is.
"""

from __future__ import annotations

from collections.abc import Sequence

from impl.http_client import DEADLINE_S as DEADLINE_S
from impl.http_client import DEFAULT_DEADLINE, Default
from impl.http_client import MAX_ANSWER_BYTES as MAX_ANSWER_BYTES
from impl.http_client import TIMEOUT_S as TIMEOUT_S
from impl.http_client import AsyncClient as AsyncClient
from impl.http_client import Client as Client
from impl.http_client import Fetched as Fetched
from impl.http_client import NoNodeError as NoNodeError
from impl.http_client import OutcomeUnknownError as OutcomeUnknownError
from impl.http_client import RequestRefusedError as RequestRefusedError
from impl.http_client import Resolver as Resolver

__all__ = ["DEADLINE_S", "MAX_ANSWER_BYTES", "TIMEOUT_S", "AsyncClient", "Client", "Fetched",
           "NoNodeError",
           "OutcomeUnknownError",
           "RequestRefusedError", "Resolver", "connect", "connect_async"]


def connect(nodes: Sequence[str], *, resolve: Resolver | None = None,
            timeout_s: float = TIMEOUT_S, max_answer_bytes: int | None = None,
            deadline_s: float | Default | None = DEFAULT_DEADLINE,
            cluster_id: str | None = None) -> Client:
    """A blocking client of the cluster that ``nodes`` (``host:port`` or URLs of HTTP
    ports; one is enough) belong to; ``resolve`` merges siblings (None: a get
    returns them all); ``timeout_s``: each node's part of a call, its answer whole
    (:data:`TIMEOUT_S`, 2 s; 10 s before session 54);
    ``max_answer_bytes``: the largest answer read (None: the largest a node of the
    cluster states in its ``/status``, at least :data:`MAX_ANSWER_BYTES`, 93.3 MiB, that of a
    cluster of the default ``max_frame_bytes``, and at most 4 times that,
    ``impl.http_client.MAX_STATED_ANSWER_BYTES``, since a ``/status`` is not
    authenticated: give more for a larger cluster; over it the node's answer is
    refused: a get tries another node, a put raises OutcomeUnknownError). A get
    answer naming another key than the one asked (a cache or proxy that mixed up
    keys) is refused too: a get tries another node, and its NoNodeError names both
    keys. ``deadline_s`` (session 53; not given, since session 54: :data:`DEADLINE_S`,
    10 s, or twice ``timeout_s`` when that is more): each call ends by it, every node
    tried; a get or a write's probe moves to the next node after ``timeout_s`` (a
    connection refused: at once), a write is sent only to a node that answered within
    the last second or answers ``GET /health`` first (so a write is never sent to a
    node that hangs, unless it hung within that second), and a write sent waits for
    its answer until the deadline, then raises OutcomeUnknownError; a write not sent
    by then raises NoNodeError, not written (:mod:`impl.http_client`). ``None``: no
    deadline, each node's part bounded by ``timeout_s`` alone and no probe (the
    behaviour before session 54). ``cluster_id`` (session 61): the cluster meant, the
    32 hex digits of its nodes' ``/status`` ``cluster_id``; a node of another cluster
    (or one stating none) is then never learned from nor written to, and a call that
    finds no node of it raises NoNodeError naming both ids. None (the default): the
    first ``cluster_id`` a majority of its node's members vouch for is kept, so seeds
    of two healthy clusters keep to whichever answers first. Not 32 hex digits:
    LocalError naming it. Close it (or use ``with``)."""
    return Client(nodes, resolve=resolve, timeout_s=timeout_s,
                  max_answer_bytes=max_answer_bytes, deadline_s=deadline_s,
                  cluster_id=cluster_id)


def connect_async(nodes: Sequence[str], *, resolve: Resolver | None = None,
                  timeout_s: float = TIMEOUT_S, max_answer_bytes: int | None = None,
                  deadline_s: float | Default | None = DEFAULT_DEADLINE,
                  cluster_id: str | None = None) -> AsyncClient:
    """The asyncio client (see :func:`connect`); ``async with`` closes it. It serves
    one event loop, that of its first request: used in another (a second
    ``asyncio.run``) it raises LocalError, nothing sent."""
    return AsyncClient(nodes, resolve=resolve, timeout_s=timeout_s,
                       max_answer_bytes=max_answer_bytes, deadline_s=deadline_s,
                       cluster_id=cluster_id)
