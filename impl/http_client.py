"""A client of a real cluster over HTTP: sync and async, routed to a key's coordinator.

Theory of operation
-------------------
The paper (section 4.5) names two ways for a client to pick a node: through a
load balancer, or with a *partition-aware* client library that routes each
request to a coordinator of the key directly, saving a forwarding hop. This
client does the latter. It learns the ring from any node's ``GET /status``
(the tokens of every node, the partitioning strategy, N, and every node's HTTP
address) and computes a key's preference list with the same functions the
nodes use (:class:`spec.ring.Partitioning`), so the first node it tries is the
first of the key's top N. It refreshes the ring every ``refresh_s`` seconds and
after a node failed to answer.

Which node next (:meth:`Router.candidates`): the key's preference list in
order (top N first, then the rest, who forward), then the addresses the client
was given; a node that did not answer (its connection refused or timed out, or
no whole answer within ``timeout_s``) goes after every other for
:data:`SUSPECT_S` seconds (:meth:`Router.suspect`). A request moves to the next
node only when its outcome is known:

- the connection could not be opened (nothing was sent), or the node answered
  an error whose ``outcome`` is ``not-written`` with a status of 503 (the node
  was saturated, or a get missed its quorum): retrying elsewhere is safe;
- a get is always safe to retry (it writes nothing but read repairs);
- a put (or a delete: a tombstone is written like a put) that was sent and
  then got no answer (a timeout, a dropped connection), or an answer with
  ``outcome: unknown`` (504), is *not* retried: some replica
  may hold it. It raises :class:`OutcomeUnknownError`; read the key, then write
  with the fresh context so the retry supersedes what may have been written.

With ``deadline_s`` (session 53; ``vdynamo get/put/delete --timeout``; by default
since session 54: :data:`DEADLINE_S`, 10 s, or twice ``timeout_s`` when that is more,
grown since session 57 by twice :meth:`Router.call_record_s` for a large value or a
cluster of large records, and ``timeout_s`` :data:`TIMEOUT_S`, 2 s;
``deadline_s=None``: the behaviour before,
each node ``timeout_s`` and no probe) the call as a whole ends by it, and
``timeout_s`` bounds each node's part: a get, a ``/status``
and a write's probe move to the next node after ``timeout_s``; a write is sent to a
node only once that node answered within :data:`FRESH_S` seconds or answers
``GET /health`` within ``timeout_s`` (a probe: a node whose process hangs, SIGSTOP
or a stuck loop, still has its connections accepted by the kernel, so a write sent
to it would be received, unanswered, and applied when it resumes: an unknown
outcome); a probe unanswered moves the write to the next node with nothing of it
sent; a write sent waits for its answer until the deadline (it is not retried
elsewhere, so a shorter wait could only turn a known outcome into an unknown one).
A write not sent by the deadline raises NoNodeError (not written). As the DataStax
drivers send only to a host their heartbeats hold up and retry a request on the
next host only when it is idempotent or was not sent.

A node's 4xx answer raises :class:`RequestRefusedError` (a :class:`LocalError`: fix the
request); a 4xx that is not a node's error (HTML, a JSON object without ``error``
and ``message``: a proxy's or another service's) is no node's refusal: a put's or
delete's raises OutcomeUnknownError naming what answered (session 38).

Siblings: with a ``resolve`` hook (e.g. a shopping cart's union), a get that finds
several values merges them, writes the merge back with the get's context (which
collapses the siblings) and returns the one value; if the write-back fails (no node
wrote it, its outcome is unknown, or a node refused it with a 4xx, e.g. a merge over
``max_value_bytes``) the get still returns the merge, with the read's context, and
says why in ``Fetched.write_back_error`` (session 30).

An answer is read whole, within ``timeout_s`` (the sync client's every socket read
and write ends by its request's deadline: :class:`_DeadlineBackend`), up to
``max_answer_bytes`` (given, else the largest answer the cluster's ``/status``
states, at least :data:`MAX_ANSWER_BYTES`: :meth:`Router.answer_limit`, session 37;
since session 38 the largest a node of the ring states in its own ``/status``, and a
get over it reads that node's and asks again if it states more: :func:`_read_plan`) and
in no Content-Encoding (every request asks for ``identity``); any other is no
node's answer (:class:`AnswerRefusedError`: a get tries the next node, a put's
outcome is unknown; session 36).

An answer about a key names it (session 37: a JSON answer's ``key``); one that
names another key is no answer for this one (:func:`_check_key`: a broken cache,
proxy or load balancer that mixed up keys): a get tries the next node and names
both keys in its NoNodeError, a put or delete (sent) raises OutcomeUnknownError
naming both. An answer naming no key is refused so too when its node states
``names_keys`` in its ``/status`` (session 38; a node that does not, an older one,
is taken as before), once that ``/status`` is read again (session 38's review: the
node may have been restarted older, :func:`_asked`). The context is bound to its
key too, but by an HMAC under the cluster's secret (:mod:`impl.context`), which a
client does not hold: it cannot check that itself.

Both clients run the same plans (:func:`get_plan`, :func:`put_plan`,
:func:`delete_plan`: generators that yield the HTTP requests to make and are
sent the answers, the sans-IO shape of the node core); they differ only in how
they wait.
httpx gives both with one API (keep-alive pools, timeouts); see pyproject.toml.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import enum
import inspect
import ipaddress
import math
import os
import re
import secrets
import socket
import threading
import time
import urllib.parse
import weakref
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import httpcore
import httpx

from impl.config import DEFAULT_FRAME_BYTES, RECORD_BYTES_PER_SECOND, answer_bytes
from impl.errors import BadMessageError, DynamoError, InvalidValueError, LocalError, RemoteError
from impl.http_values import QUORUM_NAMES, key_location
from spec.ring import Partitioning, Ring, Strategy

__all__ = ["DEADLINE_S", "DEFAULT_DEADLINE", "FRESH_S", "IN_FLIGHT", "MAX_ANSWER_BYTES",
           "MAX_KEY_PATH", "MAX_SECONDS", "MAX_STATED_ANSWER_BYTES",
           "NODE_IN_FLIGHT", "NODE_TIMEOUT_S", "REASON_CHARS",
           "SUSPECT_S", "TIMEOUT_S", "UNKNOWN_OUTCOME",
           "AnswerRefusedError", "AsyncClient", "Client", "Default", "Fetched", "NoNodeError",
           "NotSentError", "OutcomeUnknownError",
           "RequestRefusedError", "Resolver", "Router",
           "call_deadline", "delete_plan", "fetched", "get_plan", "key_bytes", "put_plan",
           "read_get", "read_put",
           "status_plan", "value_bytes"]

#: what :func:`_made_from_environment` makes (an httpx client)
_Made = TypeVar("_Made")
#: the status of a request a node of another cluster refused (RFC 9110 15.5.20)
_MISDIRECTED = 421
#: seconds a node that did not answer is tried after every other (:meth:`Router.suspect`)
SUSPECT_S = 10.0
#: each node's part of a call (``timeout_s`` of :class:`Client`, :class:`AsyncClient`,
#: ``vdynamo.connect`` not given; session 54: 10 s before, and no deadline, so a node
#: that hung held each get 10 s and each write sent to it answered "outcome unknown"
#: after 10 s): a get, a ``/status`` or a write's probe (``GET /health``) with no whole
#: answer within it moves to the next node. A node answers within its
#: ``request_timeout`` (1 s by default) after waiting its turn at most ``retry_after_s``
#: (1 s); ``vdynamo get --node-timeout``'s default too. The DataStax Java driver's
#: request timeout is 2 s (``basic.request.timeout``)
TIMEOUT_S = 2.0
#: each call's whole time, every node tried (``deadline_s`` not given: this, or twice
#: ``timeout_s`` when that is more, :func:`call_deadline`; session 54): a write sent
#: waits for its answer until then, as long as it waited before (the old ``timeout_s``
#: of 10 s), and its outcome is unknown after
DEADLINE_S = 10.0
#: the longest ``timeout_s`` or ``deadline_s`` a client takes (a
#: day; the CLI's --timeout takes at most an hour): a larger one is refused
#: (LocalError) rather than raising OverflowError from the sockets (session 56)
MAX_SECONDS = 86400.0


class Default(enum.Enum):
    """A parameter not given (PEP 661's sentinel, as an enum so that mypy narrows it)."""

    DEADLINE = "DEADLINE_S, or twice timeout_s when that is more"


#: ``deadline_s`` not given (:func:`call_deadline`)
DEFAULT_DEADLINE = Default.DEADLINE


def call_deadline(timeout_s: float, deadline_s: float | Default | None) -> float | None:
    """The seconds each call of a client of ``timeout_s`` ends by: ``deadline_s`` as
    given (None: none, each node's part bounded by ``timeout_s`` alone and no probe
    before a write, the behaviour before session 54), or, not given
    (:data:`DEFAULT_DEADLINE`), :data:`DEADLINE_S` or twice ``timeout_s`` when that is
    more, so that a node that holds a call for its whole part leaves as much to the
    next (``connect(nodes, timeout_s=30)``, a client of large values: 60 s)."""
    if deadline_s is DEFAULT_DEADLINE:
        return max(DEADLINE_S, 2 * timeout_s)
    return deadline_s


#: a node's default ``request_timeout`` (:class:`impl.config.ClusterConfig`), which
#: :data:`TIMEOUT_S` was chosen for (:meth:`Router.record_s`)
NODE_TIMEOUT_S = 1.0


#: with a ``deadline_s``, a write is sent without a probe (``GET /health``) to a node
#: that answered within this many seconds (:meth:`Router.fresh`, session 53)
FRESH_S = 1.0
#: the methods of a write: once sent, not retried elsewhere (the module docstring)
_WRITES = frozenset({"PUT", "DELETE"})
#: the clock modes whose puts count the client in the key's clock, in which a client
#: names itself (:meth:`Router.client_header`)
NAMED_CLOCKS = frozenset({"dvv", "client-vclock"})
#: requests one client (an :class:`AsyncClient`, a :class:`Client` over all its threads)
#: has in flight at most (the others wait their turn in the client, before their
#: ``timeout_s`` starts). Session 32's operator probe: 600
#: puts gathered on one client (``timeout_s`` 2) all raised OutcomeUnknownError in
#: 14.9 s and none was sent (0 stored), every node was suspected, and 600 gets then
#: raised NoNodeError: the ``timeout_s`` of each ran while it waited in httpx's pool
#: (100 connections), whose bookkeeping grows with its waiters (a local server
#: answering in 10 ms served 0 of 600 so, 600 of 600 in 1.1 s with 100 in flight
#: and 2,000 of 2,000 in 9.0 s with 50). Below httpx's 100, so a request let through
#: always finds a connection at once.
IN_FLIGHT = 50
#: requests of one client in flight to one node (origin) at most: half of
#: :data:`IN_FLIGHT`, so that a node that takes connections and never answers (a hung
#: process, a stopped one whose socket still accepts) holds at most half of the
#: client's turns for ``timeout_s``, and the rest go on to the other nodes. Before
#: session 33 it could hold all of them: 50 requests to such a node (timeout_s 2)
#: held every turn, and a request to a healthy node waited 2 s for one (its own
#: ``timeout_s`` not started: a stall, not an error, repeated at every timeout_s
#: until the silent node was suspected). A request over its node's share waits for
#: a turn of that node before it takes one of the client's, so it holds none of the
#: others' (HAProxy's ``maxconn`` per server, a driver's requests per host). Only
#: while the client knows more than one node (:meth:`Router.several`): a client of
#: one node keeps all :data:`IN_FLIGHT`. Two silent nodes can still hold every turn
#: until their first requests time out (then each is suspected: tried last).
NODE_IN_FLIGHT = IN_FLIGHT // 2
#: merges siblings into one value (e.g. a shopping cart's union)
Resolver = Callable[[list[bytes]], bytes]
_JSON = {"Accept": "application/json"}
#: the most bytes of one answer (its body as sent) a client reads by default
#: (``max_answer_bytes`` of :class:`Client`, :class:`AsyncClient`, ``connect`` not
#: given) until a ``/status`` states more (:meth:`Router.answer_limit`; session 37: the
#: bound a node states, ``limits.max_answer_bytes``, follows its cluster's size and
#: limits; before, a client read at most this): the
#: largest get answer a cluster of the default ``max_frame_bytes``
#: (:data:`impl.config.DEFAULT_FRAME_BYTES`, 64 MiB) gives, a record that fills a
#: frame with its values in base64 (4/3 of it: 89,478,488 bytes), with 8 MiB of room
#: for the context (base64 of ``max_context_bytes``, 87,384 bytes by default), the
#: content types and the JSON: 97,867,096 bytes (93.3 MiB,
#: :func:`impl.config.answer_bytes`). That admits every record of
#: a cluster of the default limits of up to 17 nodes, a merge of the puts of 17 sides
#: of a partition that each filled a key to ``max_record_bytes`` included
#: (:func:`impl.config.merged_record_bytes`: 71,738,368 bytes, 95,651,160 in base64);
#: of 18 nodes such a merge is 75,958,272 bytes, 101,277,696 in base64, over it. There
#: an answer over it is not a node's but a broken or hostile server's, or another
#: service's. A larger cluster, or one of larger ``max_value_bytes``,
#: ``max_record_bytes`` or ``max_frame_bytes``, states a larger bound in its
#: ``/status``, which the client learns (before session 37 it had to be given a
#: larger ``max_answer_bytes`` by hand). Before session 36 a client read any answer whole, however
#: large (a server sending an endless body held it until its ``timeout_s`` and as
#: much memory as arrived by then; a 200 MB gzip bomb of 200 KB was inflated whole).
MAX_ANSWER_BYTES = answer_bytes(DEFAULT_FRAME_BYTES)
#: the most a ``/status`` may raise a client's bound to (:meth:`Router.learn`): 4 x
#: :data:`MAX_ANSWER_BYTES`, 391,468,384 bytes (373 MiB), the largest answer of a
#: cluster of the default limits of up to 68 nodes. A ``/status`` is not
#: authenticated: whoever answers at a seed's address states what it likes, and a
#: receive limit that the sender raises does not bound that sender. So a server
#: that is not a node can raise a client's bound at most 4-fold (a client's peak
#: memory is about 4 x its answer: 410 MiB for 97 MB, 1,527 MiB for 391 MB; at session
#: 37's first ceiling, 2,871,700,140 bytes, ``answer_bytes`` of a 2 GiB frame, about
#: 12 GB). A larger cluster, or one of larger limits, states more:
#: give such a client ``max_answer_bytes`` (kept as given, above this too), as
#: etcd's clientv3 (``MaxCallRecvMsgSize``) and the DataStax Java driver (its frame
#: limit) take their receive limits from their users, never from the server
#: (session 37's review).
MAX_STATED_ANSWER_BYTES = 4 * MAX_ANSWER_BYTES
#: what every request asks of the encoding of its answer: none (a node never encodes
#: its answers); an answer in a Content-Encoding is refused (:func:`_check_head`)
_IDENTITY = {"Accept-Encoding": "identity"}


class AnswerRefusedError(httpx.TransportError, RemoteError):
    """An answer the client will not read: its body over ``max_answer_bytes`` (said by
    its Content-Length, or counted as it arrives), or in a Content-Encoding, which the
    client did not accept (it asks for ``identity``). A RemoteError (the server's
    fault) handed to the plans as an httpx transport error (no usable answer): a get
    tries the next node and names it in its NoNodeError, a put raises
    OutcomeUnknownError naming it (it was sent). Never raised to a caller itself.
    ``limit``: the bound its body was over (None: refused for its encoding);
    ``size``: its Content-Length when that said so (None: counted, or an encoding).
    A get whose answer was over the cluster's bound asks that node's ``/status`` and
    tries it again if it states a larger one (:func:`_read_plan`, session 38)."""

    def __init__(self, message: str, *, request: httpx.Request, limit: int | None = None,
                 size: int | None = None) -> None:
        super().__init__(message, request=request)
        self.limit = limit
        self.size = size


def _check_head(response: httpx.Response, limit: int) -> None:
    """Raise :class:`AnswerRefusedError` when the head of ``response`` announces a
    body over ``limit`` bytes (Content-Length) or a Content-Encoding other than
    ``identity``. Before session 36 httpx decoded any coding the server chose (it
    asked for gzip and deflate): a body that was not valid gzip raised httpx's bare
    DecodingError out of ``get`` and ``put``, and a gzip bomb was inflated whole."""
    codings = [coding.strip().lower() for coding in
               response.headers.get("content-encoding", "").split(",")]
    unasked = [coding for coding in codings if coding not in ("", "identity")]
    if unasked:
        raise AnswerRefusedError(
            f"an answer in Content-Encoding {_kept(', '.join(unasked))[:80]!r}, which "
            "this client did not accept (it asks for identity; a node never encodes its "
            "answers): not a node's answer", request=response.request)
    length = response.headers.get("content-length", "").strip()
    if length.isascii() and length.isdigit() and int(length) > limit:
        raise AnswerRefusedError(_too_large(f"{int(length):,} bytes (its Content-Length)",
                                            limit), request=response.request,
                                 limit=limit, size=int(length))


def _too_large(size: str, limit: int) -> str:
    return (f"an answer of {size}, over the client's max_answer_bytes of {limit:,}, the "
            "rest of it not read: a broken or hostile server, another service, or a record "
            "larger than the bound admits (give a larger max_answer_bytes, "
            "--max-answer-bytes)")


def _take(raw: list[bytes], size: int, chunk: bytes, limit: int,
          request: httpx.Request) -> int:
    """Append ``chunk`` to the body read so far (``raw``, ``size`` bytes) and return
    its new size, unless that is over ``limit`` bytes: then raise
    :class:`AnswerRefusedError` naming both."""
    size += len(chunk)
    if size > limit:
        raise AnswerRefusedError(_too_large(f"over {limit:,} bytes ({size:,} read)", limit),
                                 request=request, limit=limit)
    raw.append(chunk)
    return size


#: the environment variables httpx reads when it makes a client (its ``trust_env``):
#: the proxies (either case) and the CA bundle (:func:`_made_from_environment`)
_CLIENT_ENVIRONMENT = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
                       "SSL_CERT_FILE", "SSL_CERT_DIR")
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


def _environment_named(variables: Sequence[str] = _CLIENT_ENVIRONMENT) -> str:
    """The ``variables`` (either case) set in this process, each with its value (a
    proxy's user and password left out), for an error's text; "" if none is."""
    named = []
    for upper in variables:
        for name in (upper, upper.lower()):
            if os.environ.get(name):
                value = re.sub(r"//[^/@]*@", "//", os.environ[name])
                named.append(f"{name}={value!r}")
    return ", ".join(named)


def _environment_proxies() -> list[tuple[Any, str | None]]:
    """The proxies a client made from this environment uses, as httpx reads them (its
    ``get_environment_proxies``: the lowercase variable before the uppercase, as
    ``urllib.request.getproxies``; a value without a scheme ``http://``; ``NO_PROXY``,
    ``*`` none at all): (URL pattern, proxy URL or None for direct), the most specific
    first, as httpx tries them. [] where httpx has no such helpers (another version)."""
    try:
        from httpx._utils import URLPattern, get_environment_proxies
    except ImportError:  # pragma: no cover (httpx 0.27-0.29 have both)
        return []
    return sorted((URLPattern(pattern), proxy)
                  for pattern, proxy in get_environment_proxies().items())


def _proxy_for(url: str) -> str | None:
    """The proxy (its URL) a client made from this environment sends a request for
    ``url`` (a node's base, ``http://host:port``) through; None: directly
    (:func:`_environment_proxies`)."""
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL:
        return None
    return next((proxy for pattern, proxy in _environment_proxies()
                 if pattern.matches(target)), None)


def _proxied(url: str) -> bool:
    """Whether a request for ``url`` goes through a proxy (:func:`_proxy_for`)."""
    return _proxy_for(url) is not None


def _proxy_said(tried: Sequence[str]) -> str:
    """What a NoNodeError adds when a node of ``tried`` (base URLs) was asked through
    a proxy the environment names (:func:`_proxied`): that it was, so a "Connection
    refused" may be the proxy's. Session 59's red team (probe 23h): with
    ``HTTP_PROXY`` naming a proxy that was down, every node read "ConnectError:
    Connection refused" while each ran. Its review (session 59): said of nodes no
    proxy was asked for too (``vdynamo get --dir`` asks its loopback nodes directly;
    ``HTTPS_PROXY`` alone is not used for a node's ``http://``), so a user chased a
    proxy that was not in the way; now only of those httpx sends through one."""
    proxied = [base for base in tried if _proxied(base)]
    proxies = _environment_named([name.upper() for name in _PROXY_VARIABLES])
    if not proxied or not proxies:
        return ""
    return (f" (the environment names a proxy: {proxies}; {', '.join(proxied)} "
            f"{'was' if len(proxied) == 1 else 'were'} asked through it, so an error "
            "above may be the proxy's)")


def _check_proxy_ports(origin: str | None) -> None:
    """Raise ValueError for the port, not in 0..65535, of a proxy httpx would use
    (:func:`_environment_proxies`): for requests to ``origin`` (``scheme://host:port``;
    a sync client's pool is one origin's), or with None for any (the async client's
    one pool): httpx's async client let the OverflowError of such a port out of a get
    as an ExceptionGroup (session 59's red team, probe 23h). Its review (session 59):
    every variable was read, either case, so ``vdynamo get --dir`` (its loopback nodes
    asked directly) was refused for an ``https_proxy`` no request used, or an
    ``HTTP_PROXY`` that ``http_proxy`` overrides: both worked before."""
    proxies = ([_proxy_for(origin)] if origin is not None
               else [proxy for _, proxy in _environment_proxies()])
    for proxy in proxies:
        if proxy is not None:
            _ = urllib.parse.urlsplit(proxy).port


def _made_from_environment(make: Callable[[], _Made], origin: str | None = None) -> _Made:
    """``make()`` (an httpx client, which reads the proxies and the CA bundle of the
    environment), or LocalError naming those variables and what httpx said, nothing
    sent. Session 59's red team (probe 23h): a proxy httpx cannot use (``ALL_PROXY=
    socks5://...`` without the socksio package, ``http_proxy=ftp://...``, a value that
    is no URL, a port over 65535) and a CA bundle that is not there
    (``SSL_CERT_FILE``: a conda environment's, moved) raised a bare ImportError,
    ValueError, httpx.InvalidURL, FileNotFoundError, ssl.SSLError or ExceptionGroup out
    of the first call, and ``vdynamo get`` / ``put`` / ``delete`` printed their
    traceback. ``origin``: the one origin the client will ask (None: any)."""
    try:
        _check_proxy_ports(origin)
        return make()
    except (ImportError, ValueError, OSError, httpx.InvalidURL) as error:
        raise LocalError(
            "no HTTP client can be made in this environment "
            f"({_environment_named() or 'none of ' + ', '.join(_CLIENT_ENVIRONMENT)}): "
            f"{type(error).__name__}: {error}; unset or mend the variable (NO_PROXY "
            "lists hosts reached directly); nothing was sent") from None


def _time_sockets(pool: httpx.Client, backend: httpcore.NetworkBackend) -> None:
    """Give ``backend`` (:class:`_DeadlineBackend`) the sockets of every transport
    of ``pool``: its own and those of the proxies httpx made for it from the
    environment (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``, read by
    httpx itself, as it does for the async client). httpx gives no public way to
    time a head whole: this sets httpcore 1.x's ``ConnectionPool._network_backend``
    of each transport. Raises LocalError naming the versions when a transport keeps
    none there (another httpx or httpcore), rather than a client whose heads are
    silently untimed (an assignment to an attribute nobody reads succeeds).

    Session 36's review: the sync client was given a transport of its own, which
    httpx takes as "no proxies from the environment", and read the environment
    with urllib instead, otherwise than httpx: a proxy named without a scheme was a
    bare ValueError out of ``get``, a ``NO_PROXY`` of ``localhost,*``, of a URL or
    of ``::1`` did not keep requests direct, and one of ``.example.com`` kept those
    to ``example.com`` direct."""
    transports: list[httpx.BaseTransport | None] = [pool._transport, *pool._mounts.values()]
    for transport in transports:
        if transport is None:  # a NO_PROXY pattern: served direct, by pool._transport
            continue
        connections = getattr(transport, "_pool", None)
        if not isinstance(getattr(connections, "_network_backend", None),
                          httpcore.NetworkBackend):
            raise LocalError(
                f"httpx {httpx.__version__} with httpcore {httpcore.__version__}: its "
                f"{type(transport).__name__} keeps no httpcore ConnectionPool "
                "._network_backend, through which this client ends each request's reads "
                "and writes by its timeout_s; install httpcore 1.x (pyproject.toml). "
                "Nothing was sent")
        connections._network_backend = backend  # type: ignore[union-attr]


#: the most bytes :class:`_DeadlineStream` hands httpcore in one write, so that each
#: piece of a body is given only what is left of its request's deadline
_WRITE_PIECE = 1 << 16


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the deadline of the request of
    its thread (:class:`_DeadlineBackend`): httpx bounds each read only, so a head
    sent a byte at a time was never given up on."""

    def __init__(self, stream: httpcore.NetworkStream, backend: _DeadlineBackend) -> None:
        self._stream = stream
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return self._stream.read(max_bytes,
                                     self._backend.left(timeout, httpcore.ReadTimeout))
        except httpcore.ReadTimeout:  # the socket's "timed out": say which timeout
            self._backend.left(None, httpcore.ReadTimeout)
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """``buffer`` sent in pieces of :data:`_WRITE_PIECE` bytes, each given what is
        left of the deadline: httpcore sends a body in one call, each send bounded
        by the timeout it was given, so a node reading just fast enough held a put
        for as long as it read (48 MiB at 2.5 MiB/s: about 20 s with ``timeout_s = 1``;
        session 36's review)."""
        for start in range(0, len(buffer), _WRITE_PIECE):
            self._stream.write(buffer[start:start + _WRITE_PIECE],
                               self._backend.left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(
            ssl_context, server_hostname, self._backend.left(timeout, httpcore.ConnectTimeout)),
            self._backend)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sockets, each read, write and connect bounded by the deadline of the
    calling thread's request (:attr:`deadline`, set by :meth:`Client._request`): a
    request to one node ends within its ``timeout_s`` whatever the node sends, its
    head too. Before session 36 only the body was timed as a whole: a server sending
    its head a byte every 50 ms held a ``get`` of ``timeout_s = 2`` for minutes."""

    def __init__(self, inner: httpcore.NetworkBackend, timeout_s: float) -> None:
        self._inner = inner
        self._timeout_s = timeout_s
        #: ``.at``: the monotonic deadline of the request of this thread (None: none)
        self.deadline = threading.local()

    def left(self, timeout: float | None, error: type[Exception]) -> float | None:
        """``timeout`` cut to what is left of this thread's request; ``error`` (an
        httpcore timeout, which httpx maps to its own) once nothing is."""
        at: float | None = getattr(self.deadline, "at", None)
        if at is None:
            return timeout
        left = at - time.monotonic()
        if left <= 0:
            bound = getattr(self.deadline, "bound", None) or self._timeout_s
            raise error(f"no whole answer within {bound} s")
        return left if timeout is None else min(timeout, left)

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_tcp(
            host, port, self.left(timeout, httpcore.ConnectTimeout), local_address,
            socket_options), self)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None
                            ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_unix_socket(
            path, self.left(timeout, httpcore.ConnectTimeout), socket_options), self)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class NotSentError(httpx.ConnectTimeout, DynamoError):
    """A request of a call with a ``deadline_s`` that was not sent: the deadline had
    passed (session 53). A ConnectTimeout to the plans (nothing sent: a write moves
    on, and so raises NoNodeError, not written), but its node is not suspected:
    it was not asked. Never raised to a caller itself; a DynamoError too, as every
    exception class of the packages (tests/test_error_hierarchy.py)."""


class RequestRefusedError(LocalError):
    """The node refused the request as malformed or too large (a 4xx answer)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"HTTP {status} {_kept_error(body)}{_not_a_node(body)}")
        self.status = status
        self.body = body


class NoNodeError(RemoteError):
    """No node could serve the request; ``outcome`` says whether a put may be stored."""

    def __init__(self, message: str, outcome: str = "not-written") -> None:
        super().__init__(message)
        self.outcome = outcome


#: what every OutcomeUnknownError's message ends with (once)
UNKNOWN_OUTCOME = ("the write may have been made (outcome unknown): read the key before "
                   "writing again")


class OutcomeUnknownError(NoNodeError):
    """A put was sent and its outcome is unknown (504, a timeout, a dropped
    connection): some replica may hold it. Not retried (see the module docstring).
    Its message ends with :data:`UNKNOWN_OUTCOME`: until session 16's probe only an
    answer that was not the API's said so, and ``vdynamo put`` to a node that died
    mid-request printed ``put b'k' to http://...: RemoteProtocolError('Server
    disconnected without sending a response.')``, a 504 ``HTTP 504
    RequestTimeoutError: ...``, neither saying the write may be stored."""

    def __init__(self, message: str) -> None:
        if UNKNOWN_OUTCOME not in message:
            message = f"{message}: {UNKNOWN_OUTCOME}"
        super().__init__(message, "unknown")


@dataclass(frozen=True, slots=True)
class Fetched:
    """A get's answer: the siblings' bodies and content types, and the opaque context
    (base64, as the node gave it) to send with the next put. ``write_back_error``:
    with a resolve hook, why the merge of the siblings read could not be written back
    (the error's class and message: NoNodeError, OutcomeUnknownError, or
    RequestRefusedError, a 4xx such as a merge over ``max_value_bytes``)
    (``None``: written, or nothing to merge); the answer is the merge all the same,
    with the read's context, which a put with it supersedes every sibling read by."""

    values: list[bytes]
    content_types: list[str]
    context: str
    write_back_error: str | None = None

    @property
    def value(self) -> bytes | None:
        """The one value (None: none); InvalidValueError (a ValueError) if there are siblings."""
        if len(self.values) > 1:
            # before session 22: "2 siblings: resolve them (a resolve hook)", naming
            # neither where the siblings are nor how to pass a hook
            raise InvalidValueError(
                f"value: the key has {len(self.values)} siblings (concurrent writes), "
                "not one value: read .values and put their merge with this .context, "
                "or connect(..., resolve=merge) to have gets merge them")
        return self.values[0] if self.values else None


def _names_a_host(address: str) -> bool:
    """Whether a node's advertised HTTP ``address`` (``host:port`` from ``/status``) can
    be connected to from another machine: False for an unspecified host (``0.0.0.0``,
    ``::``), which a node bound to every interface advertises (its cluster file's
    ``http = "0.0.0.0:8001"``, as a container needs). Such a host is no destination
    (RFC 1122 3.2.1.3, RFC 4291 2.5.2): Linux connects it to the client's own machine,
    so until session 28's probe a client elsewhere sent each key's request first to
    whatever listened on that port of its own host (a refused connection: the ring
    forgotten and ``/status`` asked again before the next request; a local service:
    the request went there). Cassandra refuses a wildcard ``rpc_address`` without a
    ``broadcast_rpc_address`` for the same reason. The other spellings of 0.0.0.0 a
    node binds and advertises as written (``http = "0:8001"``; ``0.0``, ``0x0``:
    inet_aton's forms, which ``getaddrinfo`` takes) and ``::ffff:0.0.0.0`` are
    unspecified too (session 29's review: ``"0:8001"`` was learned)."""
    host = urllib.parse.urlsplit(_url(address)).hostname or ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:  # a host name, or IPv4 in inet_aton's forms ("0", "0.0", "0x0")
        try:
            return socket.inet_aton(host) != bytes(4)
        except OSError:  # a host name
            return True
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return not (ip.is_unspecified or (mapped is not None and mapped.is_unspecified))


def _mapped(value: object) -> dict[Any, Any]:
    """``value`` if it is a JSON object (a dict), else BadMessageError naming its type."""
    if not isinstance(value, dict):
        raise BadMessageError(f"an object expected, got {type(value).__name__}")
    return value


def _listed(value: object, kind: type = list) -> Any:
    """``value`` if it is a ``kind`` (a JSON array by default), else BadMessageError."""
    if not isinstance(value, kind):
        raise BadMessageError(f"{'an array' if kind is list else 'a string'} expected, "
                              f"got {type(value).__name__}")
    return value


def _url(base: str) -> str:
    return base if base.startswith(("http://", "https://")) else f"http://{base}"


def _seed_url(seed: str) -> str:
    """The base URL of the node address ``seed`` (``host:port`` or an http(s) URL).
    Raises LocalError naming it when it is not one: httpx cannot parse it (``[::1``,
    a port out of range), or it has a path, query or fragment (``host:port/kv``
    sent every request to ``/kv/kv/KEY``, answered 404 as if the key had no value).
    Before, the first request raised httpx's bare InvalidURL (a traceback of
    ``vdynamo get --node '[::1' k``; session 12's second probe). One that is not a
    str (``connect([5])``, bytes, a ``(host, port)`` tuple) raised a bare
    AttributeError or TypeError until session 15's review."""
    if not isinstance(seed, str):
        raise LocalError(f"node address {seed!r:.60}: give host:port as a str, got "
                         f"{type(seed).__name__}")
    # Session 51's service probe: an address read from a file or an environment
    # variable keeps its line end (``"127.0.0.1:8098\n"`` was refused "port 8098\n
    # must be 1..65535"), a scheme in capitals (``HTTP://h:p``, RFC 3986 3.1: case-
    # insensitive) was told "no path, query or fragment", and a bare port "no port"
    text = seed.strip(" \t\r\n")
    scheme, sep, rest = text.partition("://")
    if sep and scheme.lower() in ("http", "https"):
        text = f"{scheme.lower()}://{rest}"
    if any(char.isspace() for char in text):  # session 51's review: "127.0.0.1 :8098",
        # "http:// h:p" were taken, their puts "no node could serve it ... Name or
        # service not known"; a vertical tab, a no-break space: "port 8098\xa0 must be"
        raise LocalError(f"node address {seed!r}: a blank inside it; give host:port")
    if text.isascii() and text.isdigit():
        raise LocalError(f"node address {seed!r}: a port alone; give host:port (e.g. "
                         f"127.0.0.1:{text})")
    url = _url(text)
    try:
        authority = urllib.parse.urlsplit(url).netloc
    except ValueError:  # ``[::1``: "Invalid IPv6 URL"; httpx names it below
        authority = url.partition("://")[2].partition("/")[0]
    if "@" in authority:
        # Session 61's probe 23q: ``http://alice:s3cret@h:p`` was taken, its
        # password sent to the seed alone (the nodes' addresses from /status carry
        # none, and the HTTP API has no login) and printed in every NoNodeError
        # ("tried http://alice:s3cret@h:p"), so into the application's logs
        shown = url.replace(authority, "***@" + authority.rpartition("@")[2], 1)
        raise LocalError(f"node address {shown!r}: a user name or password (user@) is "
                         "not taken: the HTTP API has no login and requests go to the "
                         "addresses the nodes state; give host:port")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise LocalError(f"node address {seed!r}: {error}; give host:port") from None
    if not parsed.host or parsed.path not in ("", "/") or parsed.query or parsed.fragment:
        raise LocalError(f"node address {seed!r}: give host:port (no path, query or "
                         "fragment)")
    _check_port(text, url)
    return url.rstrip("/")


def _check_port(seed: str, url: str) -> None:
    """Raise LocalError naming ``seed`` when its port is not a number in 1..65535, or
    when it has none and no scheme (a bare ``host``: the port was forgotten; a URL
    ``http://host`` keeps its scheme's default). httpx 0.28 parses ``h:99999``,
    ``h:0`` and ``h:-1`` (``httpx.URL("http://h:99999").port == 99999``), and a
    bare ``localhost`` dialed port 80: until session 16's probe each was tried and
    reported as ``no node could serve it (tried http://127.0.0.1:99999):
    ConnectError``, naming an unreachable node instead of the typo."""
    authority = urllib.parse.urlsplit(url).netloc.rpartition("@")[2]
    host_end = authority.rfind("]") + 1  # past an IPv6 literal (0: none)
    port = authority[host_end:].partition(":")[2]
    if not port:
        if "://" not in seed:
            raise LocalError(f"node address {seed!r}: no port; give host:port")
        return
    if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
        raise LocalError(f"node address {seed!r}: port {port[:20]} must be 1..65535; "
                         "give host:port")


def key_bytes(key: object) -> bytes:
    """The bytes of ``key``: a str as UTF-8. Raises InvalidValueError (a
    ValueError) naming the key when a str cannot be UTF-8 (a lone surrogate, e.g.
    from ``os.fsdecode`` of undecodable bytes): a key is bytes on the wire and
    on the ring; before, the client raised a bare UnicodeEncodeError (session 12's
    probe)."""
    if isinstance(key, bytes | bytearray | memoryview):
        return bytes(key)
    if not isinstance(key, str):  # None, an int: a bare TypeError of urllib before
        raise InvalidValueError(f"key: must be bytes or str, got {type(key).__name__} "
                                f"{key!r:.60}; nothing was sent")
    try:
        return key.encode()
    except UnicodeEncodeError as error:
        raise InvalidValueError(
            f"key {key!r}: not valid UTF-8 text ({error.reason} at index {error.start}); "
            "pass the key as bytes") from None


def value_bytes(value: object) -> bytes:
    """The bytes a put sends for ``value``: bytes, a bytearray or memoryview as their
    bytes, a str as UTF-8 (as a key). Anything else raises InvalidValueError (a
    ValueError) naming its type, before any request: httpx sends ``content=None``
    as an empty body and an iterable of bytes as a chunked stream, so until session
    15's probe B ``put("k", None)`` stored ``b""`` and answered a context, a list
    of bytes was stored joined, and a resolve hook returning None (``list.sort()``)
    replaced every sibling it read with ``b""``; a bytearray raised httpx's bare
    TypeError."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        try:
            return value.encode()
        except UnicodeEncodeError as error:
            raise InvalidValueError(
                f"value: not valid UTF-8 text ({error.reason} at index {error.start}); "
                "pass the value as bytes; nothing was sent") from None
    raise InvalidValueError(f"value: must be bytes (or bytearray, memoryview, str), got "
                            f"{type(value).__name__} {value!r:.60}; nothing was sent")


def _check_header_value(name: str, text: object) -> None:
    """Raise InvalidValueError (a ValueError) naming header ``name`` when ``text``
    is not a str of printable ASCII without a space at either end (what the node
    accepts in X-Vdynamo-Context and Content-Type, and httpx sends). Before, a
    non-ASCII context or content type (``vdynamo put k v --content-type
    tëxt/plain``) ended in httpx's bare UnicodeEncodeError, and one with a CR or LF
    in httpx's LocalProtocolError, reported as OutcomeUnknownError although nothing
    was sent (session 12's second probe); until session 15's review so did one with
    a space before or after it (``--context " $CTX"``, a context of one space), and
    a content type of None raised a bare AttributeError."""
    if not isinstance(text, str):
        raise InvalidValueError(f"{name}: must be a str, got {type(text).__name__} "
                                f"{text!r:.60}; nothing was sent")
    if not (text.isascii() and text.isprintable()) or text != text.strip(" "):
        shown = text if len(text) <= 60 else f"{text[:28]}...{text[-28:]}"  # both ends
        raise InvalidValueError(
            f"{name} {shown!r}: must be printable ASCII without a space at either "
            "end (an HTTP header value); nothing was sent")


#: the longest ``/kv/<key>`` path (characters, percent-encoded) this client sends:
#: httpx refuses a URL of over 65,536 characters (``httpx._urlparse.MAX_URL_LENGTH``,
#: 0.28), and 1,024 are left for the node's address (``http://host:port``). Every key
#: of up to 21,500 bytes fits (3 characters per byte at most); a node may take keys up
#: to ``max_key_bytes`` (at most 1 MiB), sent by another HTTP client.
MAX_KEY_PATH = 65_536 - 1_024


def key_path(key: bytes | str) -> str:
    """``/kv/<key>``, every byte but unreserved ones percent-encoded, and the keys
    ``.`` and ``..`` as ``%2E`` and ``%2E%2E``: httpx (as browsers and curl do,
    RFC 3986 5.2.4) removes those dot segments from a path, so ``/kv/..`` went
    out as ``/`` and the key could be neither written nor read (404 "no resource
    '/'"; found by probing, session 12). The node decodes ``%2E`` to ``.``.

    Raises InvalidValueError (a LocalError) naming the key's length when the path
    is over :data:`MAX_KEY_PATH` characters: until session 35's service probe such a
    key raised httpx's bare ``InvalidURL: URL too long`` (a traceback of ``vdynamo
    put``), a 24,000-byte UTF-8 key within a node's ``max_key_bytes = 100000`` too."""
    data = key_bytes(key)
    path = key_location(data)  # the node's Content-Location of the key (session 37)
    if len(path) > MAX_KEY_PATH:
        raise InvalidValueError(
            f"key of {len(data)} bytes: {len(path) - 4} characters percent-encoded, over "
            f"the {MAX_KEY_PATH} of a key's path this client sends (httpx takes URLs of "
            "at most 65,536 characters; a byte outside A-Z a-z 0-9 - . _ ~ takes 3, so "
            "every key of up to 21,500 bytes fits); nothing was sent")
    return path


@dataclass(frozen=True, slots=True)
class _Stated:
    """What one node's own ``/status`` states of its answers (session 38):
    ``answer_bytes``, its ``limits.max_answer_bytes`` (None: none, a node of before
    session 37), and ``names_keys``, whether it names the key of every answer about
    one (``names_keys``; False: not stated, a node of before session 38)."""

    answer_bytes: int | None
    names_keys: bool
    #: its ``limits.max_record_bytes`` (None: not stated), :meth:`Router.record_s`
    record_bytes: int | None = None


class Router:
    """Where a key's request goes: the key's preference list from the ring learned
    from ``/status``, then the seed addresses. ``now`` is injectable (seconds);
    ``max_answer_bytes``: the client's bound given (None: the cluster's,
    :meth:`answer_limit`)."""

    def __init__(self, seeds: Sequence[str], refresh_s: float = 30.0,
                 now: Callable[[], float] = time.monotonic, *,
                 max_answer_bytes: int | None = None, cluster_id: str | None = None) -> None:
        given_id = _checked_cluster_id(cluster_id)
        if isinstance(seeds, str | bytes):  # each character was taken for a node
            raise LocalError(f"connect: give a list of node addresses, e.g. "
                             f"[{seeds!r:.60}], not one str")
        if not seeds:
            raise LocalError("connect: give at least one node address (host:port)")
        _check_seconds("refresh_s", refresh_s, capped=False)
        self.seeds = [_seed_url(s) for s in seeds]
        self.refresh_s = refresh_s
        self._now = now
        self.partitioning: Partitioning | None = None
        self.http: dict[str, str] = {}
        #: the ``cluster_id`` of the first ``/status`` learned whose node a majority
        #: of its members vouch for (:func:`_vouched`; None: none yet, or a node of
        #: before session 29): sent in
        #: X-Vdynamo-Cluster with every request, so a node of another cluster refuses
        #: it (421); ``/status`` of such a node is not learned (:func:`status_plan`).
        #: The ``cluster_id`` given (:attr:`given_cluster_id`) from the start
        self.cluster_id: str | None = given_id
        #: the ``cluster_id`` the client was given (``Client(seeds, cluster_id=...)``,
        #: ``vdynamo get --cluster-id``; session 61), lower case; None: the first
        #: vouched one learned is pinned (the default). Given, a node whose ``/status``
        #: states another, or none, is refused (:meth:`other_cluster`) and every
        #: request names it in X-Vdynamo-Cluster (a node of another cluster: 421)
        self.given_cluster_id = given_id
        #: the bound the client was given (None: the cluster's, :meth:`answer_limit`)
        self.given_answer_bytes = max_answer_bytes
        #: node name -> what its own ``/status`` states (:class:`_Stated`), for every
        #: node of the ring learned whose ``/status`` the client read (session 38: before,
        #: only the last ``/status`` learned counted)
        self._stated: dict[str, _Stated] = {}
        #: base URL whose ``/status`` was read -> the node's name it gave
        self._names: dict[str, str] = {}
        self._learned_at: float | None = None
        #: base URL -> until when it is tried last (:meth:`suspect`)
        self._suspects: dict[str, float] = {}
        #: base URL -> when it last answered (:meth:`answered`, :meth:`fresh`)
        self._answered_at: dict[str, float] = {}
        #: whether a write is sent only to a node :meth:`fresh` or that answers a probe
        #: first (:func:`_write_plan`; a client with ``deadline_s``, session 53)
        self.probe_writes = False
        #: this client's name in X-Vdynamo-Client (:meth:`client_header`): an identity
        #: drawn once, as Riak's clients sent X-Riak-ClientId, not a simulated choice
        self.client_id = f"py-{secrets.token_hex(8)}"
        #: the cluster's clock mode, as the last ``/status`` learned states it (None:
        #: not yet, or a node whose ``/status`` states no ``config.clock``)
        self.clock: str | None = None

    @property
    def stated_answer_bytes(self) -> int | None:
        """The largest answer a node the client knows states in its own ``/status``
        (``limits.max_answer_bytes``, each at most :data:`MAX_STATED_ANSWER_BYTES`),
        which a client not given ``max_answer_bytes`` reads answers up to
        (:meth:`answer_limit`); None: none stated (none read, nodes of before session
        37). Since session 38 the largest over the nodes of the ring whose ``/status``
        was read, not the last one's: during a rolling change of limits a node of
        smaller limits learned last no longer lowers the bound below a larger node's
        answers."""
        return max((stated.answer_bytes for stated in self._stated.values()
                    if stated.answer_bytes is not None), default=None)

    def record_s(self, url: str) -> float:
        """The seconds a node may take to answer a get of a key (``url`` a key's:
        ``/kv/``) beyond a node of the default ``request_timeout`` (1 s), which
        :data:`TIMEOUT_S` was chosen for: a cluster's config check requires a
        ``request_timeout`` of at least ``max_record_bytes`` at
        :data:`impl.config.RECORD_BYTES_PER_SECOND` (4 MiB/s; session 12), so a cluster
        that states a ``max_record_bytes`` of 20 MiB (values of 16 MiB) has nodes that
        take up to 5 s to gather a record: 4 s. The largest over the nodes whose
        ``/status`` was read; 0 for any other request (``/status``, ``/health``, a
        write's) and when none states it. Session 54's review: three such nodes
        loaded (each run 10% of the time) answered each get of a 16 MiB value in
        3.3-4.7 s, and the default client left each after 2 s: NoNodeError."""
        if "/kv/" not in url:
            return 0.0
        stated = max((said.record_bytes for said in self._stated.values()
                      if said.record_bytes is not None), default=None)
        if stated is None:
            return 0.0
        return max(0.0, stated / RECORD_BYTES_PER_SECOND - NODE_TIMEOUT_S)

    def call_record_s(self, value_bytes: int = 0) -> float:
        """The seconds one node's part of a call about a key may take beyond a node of
        the default ``request_timeout`` (:data:`NODE_TIMEOUT_S`), as a node's patience
        grows with the record (:func:`impl.config.record_patience`: ``request_timeout``
        x ``record_bytes / max_record_bytes``, at least ``max_record_bytes`` at
        :data:`impl.config.RECORD_BYTES_PER_SECOND`): the larger of the cluster's
        stated ``max_record_bytes`` (:meth:`record_s`) and the call's own
        ``value_bytes`` (a put's value, 0 for any other call) at that rate, beyond
        :data:`NODE_TIMEOUT_S`, plus the value's own sending at that rate. A client's
        default deadline (:func:`call_deadline`) adds it twice (:meth:`Client._until`;
        session 57: before, a put of a 16 MiB value to a cluster of 20 MiB records
        had the 10 s of a 100-byte one, while its coordinator may wait 5 s for its
        replicas after the value's 4 s upload). 0.0 for no value on a cluster that
        states no bound over a default node's."""
        if value_bytes < 0:
            raise LocalError(f"call_record_s: value_bytes must be >= 0, got {value_bytes}")
        stated = max((said.record_bytes for said in self._stated.values()
                      if said.record_bytes is not None), default=0)
        record = max(stated, value_bytes)
        return (max(0.0, record / RECORD_BYTES_PER_SECOND - NODE_TIMEOUT_S)
                + value_bytes / RECORD_BYTES_PER_SECOND)

    def names_keys(self, base: str) -> bool | None:
        """Whether the node at ``base`` states in its ``/status`` that it names the key
        of every answer about one (``names_keys``, session 38): True; False (it does
        not state it: a node of before session 38); None: its ``/status`` not read
        while another node the client knows states it (a cluster being upgraded: the
        plan asks that node's, :func:`_statement_plan`, at its first answer naming no
        key). Not read and no node stating it (a cluster of older nodes): False, so
        that such a cluster's answers cost no request more."""
        stated = self._stated_by(base)
        if stated is not None:
            return stated.names_keys
        return None if any(said.names_keys for said in self._stated.values()) else False

    def _stated_by(self, base: str) -> _Stated | None:
        """What the node at ``base`` states (None: its ``/status`` not read)."""
        name = self._names.get(base)
        if name is None:
            name = next((node for node, url in self.http.items() if url == base), None)
        return self._stated.get(name) if name is not None else None

    def stale(self) -> bool:
        return self._learned_at is None or self._now() - self._learned_at > self.refresh_s

    def learn(self, status: dict[str, Any], base: str | None = None) -> None:
        """Adopt the ring and the addresses of a ``/status`` body, but for an address
        whose host is unspecified (see :func:`_names_a_host`): requests for that node's
        keys go to the seeds, which forward them. Raises BadMessageError (a ValueError)
        naming what is wrong when the body is not a node's ring (nothing adopted): a
        ring or an address list of the wrong shape raised a bare AttributeError out
        of ``get`` and ``put`` before session 36's probe (``{"ring": {"tokens": 5}}``,
        an address 5), which the plans' fall-back to the seeds did not catch, and a
        node's tokens given as a string (``"123"``) were taken as the tokens 1, 2, 3.
        Its ``limits.max_answer_bytes`` (session 37, bounded by
        :data:`MAX_STATED_ANSWER_BYTES`) and ``names_keys`` (session 38) are kept as
        what its node (``node``; ``base``, the URL it was read from, if it names none)
        states (:attr:`stated_answer_bytes`, :meth:`names_keys`), with what the other
        nodes of the ring stated in theirs; a node's no longer in the ring is dropped.
        A bound that is not a positive int, or a ``names_keys`` that is not a bool, is
        refused so."""
        try:
            ring = status["ring"]
            tokens = {node: [int(t) for t in _listed(ts)]
                      for node, ts in _mapped(ring["tokens"]).items()}
            partitioning = Partitioning(Strategy(ring["strategy"]), Ring.from_tokens(tokens),
                                        ring["tokens_per_node"], ring["partitions"])
            http = {node: _url(address) for node, address in _mapped(status["http"]).items()
                    if _names_a_host(_listed(address, str))}
            stated = _Stated(_stated_answer_bytes(status), _stated_names_keys(status),
                             _stated_record_bytes(status))
        except (KeyError, TypeError, ValueError) as error:
            raise BadMessageError(f"/status: not a node's ring, addresses and limits "
                                  f"({type(error).__name__}: {_kept(str(error))})") from None
        self.partitioning, self.http = partitioning, http
        name = status.get("node")
        name = name if isinstance(name, str) and name else base or ""
        kept = {*partitioning.ring.nodes, *_mapped(status["http"]), name}
        # new dicts, each made whole before it is bound: threads sharing a Client read
        # them meanwhile (stated_answer_bytes, names_keys), never while they change
        self._stated = {**{node: said for node, said in self._stated.items()
                           if node in kept}, name: stated}
        # a URL the ring now gives another node names that node (session 38's review: a
        # node gone to another address left its statement at its old one, taken as
        # the statement of the node that came there)
        self._names = {**{url: node for url, node in self._names.items() if node in kept
                          and all(other == node for other, there in http.items()
                                  if there == url)},
                       **({base: name} if base is not None else {})}
        if (self.cluster_id is None and isinstance(status.get("cluster_id"), str)
                and _vouched(status)):
            self.cluster_id = status["cluster_id"]
        config = status.get("config")
        if isinstance(config, dict) and isinstance(config.get("clock"), str):
            self.clock = config["clock"]
        self._learned_at = self._now()

    def unstated(self, base: str) -> None:
        """The ``/status`` of the node at ``base`` could not be read or learned
        (:func:`_statement_plan`): it states nothing (as a node of before session 37)
        until the ring is learned again. A node that stated something keeps it (session
        38's review: a failed read made a node stating ``names_keys`` state nothing
        until the next refresh, and its answers naming no key were taken meanwhile)."""
        if self._stated_by(base) is not None:
            return
        self._names = {**self._names, base: base}
        self._stated = {**self._stated, base: _Stated(None, False)}

    def answer_limit(self, given: int | None = None) -> int:
        """The most bytes of an answer a client reads: ``given`` (its
        ``max_answer_bytes``) if not None, else the largest answer the cluster's
        ``/status`` states (:attr:`stated_answer_bytes`), never less than
        :data:`MAX_ANSWER_BYTES` (what a client read before it learned any, or of a
        node that states none). Before session 37 it was :data:`MAX_ANSWER_BYTES`
        unless given: a node of a cluster of 18 nodes of the default limits, whose
        sides' merged puts make a get answer of up to 101,277,696 bytes, had each
        such answer refused by a client not given a larger bound by hand. ``given``
        None: :attr:`given_answer_bytes`."""
        given = self.given_answer_bytes if given is None else given
        if given is not None:
            return given
        return max(MAX_ANSWER_BYTES, self.stated_answer_bytes or 0)

    def cluster_header(self) -> dict[str, str]:
        """``X-Vdynamo-Cluster`` once the cluster's identity is learned (else none)."""
        return {"X-Vdynamo-Cluster": self.cluster_id} if self.cluster_id else {}

    def client_header(self) -> dict[str, str]:
        """``X-Vdynamo-Client`` naming this client (:attr:`client_id`), for its writes
        to a cluster whose clock is dvv or client-vclock (:data:`NAMED_CLOCKS`; else
        none, also before a ``/status`` stated the clock). The HTTP API writes every unnamed
        put as the one client ``http``, and in dvv a put past a value it did not read
        takes its dot under the pair ``<actor> <client>`` (docs/impl.md, "The context a
        put answers, in dvv"): with two unnamed writers' siblings stored through one
        node (the library routes a key to its first node), that pair's entry held
        another writer's value, no answer could name the put's dot, and a client
        chaining its puts' contexts made one sibling per put until the key refused
        puts past ``max_siblings`` (session 47's data probe,
        tests/runtime/test_client_chained_puts_dvv.py). Sent in client-vclock too
        (session 48's data probe): there a write that names no client is a client of
        its own, a fresh pair per put, so a client's read-modify-writes grew the key's
        clock by one pair each until truncation (``vclock_max_pairs``) dropped the
        pairs of its older values, and a replica that had missed 80 of them brought
        them back as false siblings, a deleted value too; named, its puts share one
        pair per coordinator (tests/runtime/test_client_vclock_sequential_client.py).
        One client's blind puts stay siblings (tests/runtime/test_client_name_by_mode.py).
        server-vclock and lww put no client in a clock: not sent. In dvv the name's
        pair past its own unread value takes a fresh pair (``spec.dvv.dot_actor``,
        session 59): before, it sent one client's chain past its own three blind
        puts, or three chains of one client, to the server's actor, a sibling per put
        until 413 (tests/runtime/test_dvv_named_client_chains.py), and from session
        58 to 59 a node took every dvv write over HTTP as the shared id instead."""
        return ({"X-Vdynamo-Client": self.client_id}
                if self.clock in NAMED_CLOCKS else {})

    def other_cluster(self, status: dict[str, Any]) -> bool:
        """Whether ``status`` (a ``/status`` body) is of a node of another cluster than
        the one learned (a node of before session 29, without ``cluster_id``: no), or
        than the one given (:attr:`given_cluster_id`; one stating none: yes, it
        cannot show it is of the cluster named)."""
        theirs = status.get("cluster_id")
        if self.given_cluster_id is not None:
            return not (isinstance(theirs, str) and theirs.lower() == self.given_cluster_id)
        return self.cluster_id is not None and theirs is not None and theirs != self.cluster_id

    def ours(self) -> str:
        """The cluster the client keeps to, as a refusal names it: ``the cluster_id
        given, X`` or ``the cluster_id learned, X`` (none yet: ``none learned``)."""
        if self.given_cluster_id is not None:
            return f"the cluster_id given, {self.given_cluster_id}"
        return (f"the cluster_id learned, {self.cluster_id}" if self.cluster_id
                else "none learned")

    def misdirected(self, base: str, theirs: object) -> str:
        """Why the node at ``base`` was passed over: a node of another cluster, naming
        its ``cluster_id`` (``theirs``: its ``/status``'s, or the one its 421 names;
        None: it states none) and :meth:`ours` (session 61: "a node of another
        cluster" alone before, neither id named), and what to do when the cluster's
        id changed on purpose (red team 15: after the secret's rotation, every call
        of a long-lived client failed for good naming the ids alone)."""
        its = (f"its cluster_id {theirs}" if isinstance(theirs, str) and theirs
               else "it states no cluster_id")
        todo = ("give the new cluster_id (connect's cluster_id=, the CLI's --cluster-id)"
                if self.given_cluster_id
                else "connect again: a client keeps to the cluster it learned first")
        return (f"{base}: a node of another cluster ({its}, not {self.ours()}; if this "
                f"cluster's [cluster] secret or name was changed on purpose, {todo})")

    def forget(self) -> None:
        """Relearn the ring before the next request (a node did not answer)."""
        self._learned_at = None

    def suspect(self, base: str) -> None:
        """Try the node at ``base`` after every other for :data:`SUSPECT_S` seconds: it
        did not answer (a TransportError: refused, timed out, no whole answer within
        ``timeout_s``). Before session 30's user probe a node that hung (SIGSTOP: the
        kernel still accepts its connections) stayed first for the keys it leads:
        with ``timeout_s = 1`` each get of such a key took 1-2 s (the ``/status``
        relearned from it first, then the get) and each put raised
        OutcomeUnknownError, 3 of 5 read-modify-writes on three nodes, though two
        nodes answered at once. The DataStax drivers and Riak's clients likewise
        mark a host down and route around it."""
        self._suspects[base] = self._now() + SUSPECT_S

    def suspected(self) -> list[str]:
        """The base URLs tried last now (:meth:`suspect`: each did not answer within
        ``SUSPECT_S`` seconds), in the order they were suspected: what ``vdynamo
        get``, ``put`` and ``delete`` name after a request (session 52)."""
        now = self._now()
        return [base for base, until in self._suspects.items() if until > now]

    def several(self) -> bool:
        """Whether more than one node address is known (the seeds and the ring's):
        only then does a node's share of a client's turns apply
        (:data:`NODE_IN_FLIGHT`), as a client of one node has no other to starve.
        A ring learned of one node is one node, whatever names reach it: session 33's
        review, a one-node cluster seeded as ``localhost:8001`` whose ``/status``
        gave ``127.0.0.1:8001`` counted two, and the node held half the turns."""
        if self.partitioning is not None and len(self.partitioning.ring.nodes) < 2:
            return False
        return len({*self.seeds, *self.http.values()}) > 1

    def answered(self, base: str) -> None:
        """The node at ``base`` answered: no longer tried last."""
        self._suspects.pop(base, None)
        self._answered_at[base] = self._now()

    def fresh(self, base: str) -> bool:
        """Whether the node at ``base`` answered within :data:`FRESH_S` seconds: a write
        goes to it without a probe (:attr:`probe_writes`)."""
        at = self._answered_at.get(base)
        return at is not None and self._now() - at <= FRESH_S

    def unanswered(self, base: str, answer: httpx.TransportError) -> None:
        """The node at ``base`` gave no answer (``answer``): relearn the ring and try it
        last (:meth:`forget`, :meth:`suspect`), unless the request was not sent
        (:class:`NotSentError`: its call's deadline passed; the node was not asked)."""
        if isinstance(answer, NotSentError):
            return
        self.forget()
        self.suspect(base)

    def candidates(self, key: bytes | str | None) -> list[str]:
        """Base URLs to try in order, each once."""
        order: list[str] = []
        if key is not None and self.partitioning is not None:
            order = [self.http[node] for node in self.partitioning.preference_list(key_bytes(key))
                     if node in self.http]
        ranked = list(dict.fromkeys([*order, *self.seeds, *self.http.values()]))
        now = self._now()
        for base, until in list(self._suspects.items()):
            if until <= now:
                del self._suspects[base]
        return ([base for base in ranked if base not in self._suspects]
                + [base for base in ranked if base in self._suspects])


def _stated_answer_bytes(status: dict[str, Any]) -> int | None:
    """``limits.max_answer_bytes`` of a ``/status`` body (None: not stated, a node of
    before session 37), at most :data:`MAX_STATED_ANSWER_BYTES`; BadMessageError when
    it is not a positive int."""
    limits = status.get("limits")
    stated = None if limits is None else _mapped(limits).get("max_answer_bytes")
    if stated is None:
        return None
    if isinstance(stated, bool) or not isinstance(stated, int) or stated < 1:
        raise BadMessageError(f"limits.max_answer_bytes: a positive int expected, got "
                              f"{stated!r:.40}")
    return min(stated, MAX_STATED_ANSWER_BYTES)


def _stated_record_bytes(status: dict[str, Any]) -> int | None:
    """``limits.max_record_bytes`` of a ``/status`` body (None: not stated, or not a
    positive int: it only lengthens a get's wait, :meth:`Router.record_s`), at most
    :data:`MAX_STATED_ANSWER_BYTES`."""
    limits = status.get("limits")
    stated = limits.get("max_record_bytes") if isinstance(limits, dict) else None
    if isinstance(stated, bool) or not isinstance(stated, int) or stated < 1:
        return None
    return min(stated, MAX_STATED_ANSWER_BYTES)


def _stated_names_keys(status: dict[str, Any]) -> bool:
    """``names_keys`` of a ``/status`` body (False: not stated, a node of before
    session 38); BadMessageError when it is not a bool."""
    stated = status.get("names_keys", False)
    if not isinstance(stated, bool):
        raise BadMessageError(f"names_keys: a bool expected, got {stated!r:.40}")
    return stated


class _KeyUnstated(Exception):
    """An answer names no key and whether its node names keys is not known (its
    ``/status`` not read): the plan asks it (:func:`_statement_plan`) and reads the
    answer again. Never raised out of a plan."""


def _check_key(body: dict[str, Any], key: bytes | str | None,
               named: bool | None = False) -> None:
    """Raise BadMessageError naming both keys when ``body`` (a node's JSON answer
    about ``key``) names another key in its ``key`` (base64; session 37), or names
    none that is base64. An answer naming none (a node of before session 37) is
    taken, as is any when ``key`` is None. Before session 37 no answer named its
    key: a get given another key's answer by a broken cache, proxy or load
    balancer returned that key's values as this key's (a put with its context was
    refused, as the context is bound to its key, but the get had returned them).
    The context cannot be checked here instead: it is bound to its key by an HMAC
    under the cluster's secret (:mod:`impl.context`), which a client does not hold.

    ``named``: whether the answering node states in its ``/status`` that it names
    keys (session 38). True: an answer naming none is refused too (BadMessageError:
    not that node's answer: a cache, proxy or another server stripped or made it);
    False: taken (a node of before session 38, which may name none); None: not known,
    or to be read again (:class:`_KeyUnstated`, for the plan to ask the node:
    :func:`_asked`)."""
    if key is None:
        return
    if "key" not in body:
        if named is None:
            raise _KeyUnstated
        if named:
            raise BadMessageError(
                f"an answer naming no key, from a node that states in its /status that it "
                f"names the key of every answer (names_keys): not its answer for the key "
                f"{_kept(repr(key_bytes(key)))} (is a cache, proxy or load balancer in the "
                "way?)")
        return
    asked = key_bytes(key)
    named = body["key"]
    try:
        answered = base64.b64decode(_listed(named, str), validate=True)
    except ValueError:  # BadMessageError, binascii.Error: not a key in base64
        raise BadMessageError(
            f"an answer naming the key {_kept(repr(named))}, not base64: no node's answer "
            f"for the key {_kept(repr(asked))}") from None
    if answered != asked:
        raise BadMessageError(
            f"an answer for the key {_kept(repr(answered))}, not {_kept(repr(asked))}: "
            "not this key's (is a cache, proxy or load balancer in the way that mixes up "
            "keys?)")


def read_get(response: httpx.Response, key: bytes | str | None = None,
             named: bool | None = False) -> Fetched | None:
    """A get's answer (asked as JSON); None if this node could not serve it (503 or
    504, or an answer that is not a node's: try another); RequestRefusedError for a
    node's 4xx other than 404 (a 4xx that is no node's error, :func:`_a_nodes_error`,
    is no node's answer: until session 38 ``vdynamo get --node`` of a web server
    raised its HTML 404 as RequestRefusedError, naming neither the key nor the
    address, and a get given several addresses did not try the others).

    An answer is a node's only if its body is what the API gives (a JSON object
    with ``values``, a list of base64 strings, ``context``, a string, and
    ``content_types``, a list of strings, if present): :func:`fetched`. Before
    session 13's probe B, a 200 that was not (a proxy's HTML page, a truncated
    body) raised RequestRefusedError, a LocalError ("fix the request") for a
    request the client got right, or a bare KeyError or TypeError; and a value
    that was not base64 was decoded to b"" (``b64decode`` drops what is not in its
    alphabet): a wrong value returned as the key's. An answer for another key than
    ``key`` (its body's ``key``) raises BadMessageError naming both (:func:`_check_key`,
    session 37; ``key`` None: not checked), as does one naming none from a node that
    states it names keys (``named`` True, session 38)."""
    body = _json(response)
    status = response.status_code
    if (status in (200, 300, 404) and "values" in body) or status in (200, 300):
        _check_key(body, key, named)
        return fetched(body)
    if status == _MISDIRECTED:  # a node of another cluster: try another
        return None
    if 400 <= status < 500 and _a_nodes_error(body):
        raise RequestRefusedError(status, body)
    return None  # 5xx, a 4xx that is no node's (session 38), or a status the API never
    # gives a get (3xx, 1xx, 2xx)


def fetched(body: dict[str, Any]) -> Fetched | None:
    """The :class:`Fetched` a get's JSON ``body`` describes; None if it is not the
    API's shape (the caller tries another node)."""
    values, context = body.get("values"), body.get("context")
    types = body.get("content_types", [])
    if not (isinstance(values, list) and isinstance(context, str) and isinstance(types, list)
            and all(isinstance(v, str) for v in values)
            and all(isinstance(t, str) for t in types)):
        return None
    try:
        decoded = [base64.b64decode(value, validate=True) for value in values]
    except ValueError:  # binascii.Error: not base64
        return None
    return Fetched(decoded, list(types), context)


def read_put(response: httpx.Response, key: bytes | str | None = None,
             named: bool | None = False) -> str | None:
    """A put's new context; None if it was not written (503, outcome not-written: try
    another node); OutcomeUnknownError (504 or outcome unknown, or an answer that is
    not a node's: a 200 without a context string, a status the API never gives a
    put, a 4xx that is not a node's error); RequestRefusedError (a node's 4xx: a JSON
    object naming ``error`` and ``message``, :func:`_a_nodes_error`). Until session
    38 a 4xx that was no node's (a proxy's or another service's HTML 404, a DELETE's
    404 cut short by a proxy) raised RequestRefusedError, a LocalError ("fix the
    request") saying nothing was written, though the write had been sent to whatever
    answered, which may have passed it on. Before session 13's probe B, a 200 whose body
    was not JSON raised a bare KeyError, ``{"context": null}`` returned the string
    'None' as the context, and a 201 or a 3xx raised RequestRefusedError (a
    LocalError) though the write may have been made. A 200 for another key than
    ``key`` raises OutcomeUnknownError naming both (:func:`_check_key`, session 37),
    as does one naming none from a node that states it names keys (``named``)."""
    body = _json(response)
    status = response.status_code
    if status == 200 and isinstance(body.get("context"), str) and body["context"]:
        try:
            _check_key(body, key, named)
        except BadMessageError as wrong:  # sent: what became of it is not known
            raise OutcomeUnknownError(str(wrong)) from None
        return str(body["context"])
    if (status >= 500 or status == _MISDIRECTED) and body.get("outcome") == "not-written":
        return None
    if 400 <= status < 500 and _a_nodes_error(body):
        raise RequestRefusedError(status, body)
    if 400 <= status < 500:  # no node's refusal: sent, and what became of it not known
        raise OutcomeUnknownError(f"HTTP {status} {_not_a_nodes_error(body, response)}")
    if status >= 500:
        raise OutcomeUnknownError(f"HTTP {status} {_kept_error(body)}{_not_a_node(body)}")
    raise OutcomeUnknownError(f"HTTP {status}, not an answer of the API (body "
                              f"{_kept(response.text)!r})")


def _json(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of ``response``'s body, else ``{"error": "NotJson", "message":
    its text}``: whole, cut only where an error is made of it, by :func:`_kept` as a
    JSON reason is (session 36: its first 200 characters before, a proxy's page
    showing its head only, its terminal escapes unescaped)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    return body if isinstance(body, dict) else {"error": "NotJson", "message": response.text}


#: characters of what one node said (its API error's ``error: message``) that the
#: client keeps in an error it raises (:func:`_kept`), cut in the middle beyond it.
#: A node's message is bounded by the node (a get's 503 names each node of the get,
#: a label ``n4 for n2`` of at most 515 characters: node names have at most 255,
#: :data:`impl.config.MAX_NODE_NAME`; session 35), but not by a constant (by the
#: nodes named), and what answers may be a broken or hostile server: a reason is
#: kept in the NoNodeError, one per node tried, printed by ``vdynamo get`` on one
#: line and held by whoever catches it, so a 1 MB body must not be. Realistic
#: messages fit whole: a DELETE's 503 naming five nodes of 55-character names, one
#: silent with its two fallbacks, is 551 characters
#: (``tests/vdynamo/test_client_reasons_whole.py``), 1,951 with names of 255; one
#: naming more than about seven labels of 515 characters has its middle cut, its
#: ends (the silent replicas, those that answered) kept.
REASON_CHARS = 4_096


def _kept(said: str) -> str:
    """What a node said (``said``), as the client keeps it in an error's message: at
    most :data:`REASON_CHARS` characters of it, its middle cut beyond that and
    replaced by ``[... 1,043,712 characters cut ...]`` (the head names a failed
    get's silent replicas, the tail those that answered: ``_named`` in
    :mod:`impl.get_coordinator`), and every character that is not printable
    escaped (a newline as ``\\n``, ESC as ``\\x1b``) so that the error stays one
    line (``vdynamo get`` prints it so) and a server cannot send terminal escapes
    (ten characters at most each: still bounded). Bounded so that a broken or
    hostile server's 1 MB message is not kept whole (:data:`REASON_CHARS`).
    Before session 35 a reason was cut at its 200th character: a DELETE's 503
    naming five nodes of long names lost its tail, the replicas that answered."""
    if len(said) <= REASON_CHARS:
        return _escaped(said)
    half = REASON_CHARS // 2
    cut = len(said) - 2 * half
    return f"{_escaped(said[:half])} [... {cut:,} characters cut ...] {_escaped(said[-half:])}"


def _not_a_node(body: dict[str, Any]) -> str:
    """What an error's message adds when the answer's ``body`` was not JSON
    (:func:`_json`'s ``NotJson``): a node's errors are JSON objects, so the address
    may be another service's (session 36's probe: ``vdynamo get --node`` of a
    ``python -m http.server`` printed its HTML 404 page as a refusal, nothing more)."""
    if body.get("error") != "NotJson":
        return ""
    return ("; not a vdynamo node's answer (a node's errors are JSON objects): is that "
            "address a node's HTTP port, or is a proxy in the way?")


def _a_nodes_error(body: dict[str, Any]) -> bool:
    """Whether ``body`` (:func:`_json` of an answer) has the shape of a node's every
    error: a JSON object naming ``error`` and ``message`` (strings; the OpenAPI
    document's ``Error``). A proxy's or another service's page (HTML, text, a JSON
    object of another shape) has not: a node never answers so."""
    return (body.get("error") != "NotJson" and isinstance(body.get("error"), str)
            and isinstance(body.get("message"), str))


def _not_a_nodes_error(body: dict[str, Any], response: httpx.Response) -> str:
    """What an answer that is not a node's error (:func:`_a_nodes_error`) said, and
    that it is no node's, for an error's message."""
    if body.get("error") == "NotJson":
        return f"{_kept_error(body)}{_not_a_node(body)}"
    return (f"{_kept(response.text)}; not a vdynamo node's answer (a node's errors are "
            "JSON objects naming error and message): is that address a node's HTTP port, "
            "or is a proxy in the way?")


def _kept_error(body: dict[str, Any]) -> str:
    """``error: message`` of a node's error ``body``, as :func:`_kept` keeps it."""
    return _kept(f"{body.get('error')}: {body.get('message')}")


def _escaped(text: str) -> str:
    """``text`` with each character that is not printable as its escape in a Python
    literal (``\\n``, ``\\x1b``, ``\\u2028``)."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def _said(response: httpx.Response) -> str:
    """``HTTP STATUS`` and, when the body is the API's error (``error``,
    ``message``), what it said, as :func:`_kept` keeps it (whole up to
    :data:`REASON_CHARS` characters; 200, its tail cut, before session 35): a node
    that could not serve a request says why (``QuorumError: get reached 2 of R=3
    replicas ... (no answer from n3; answered: n1, n2)``, ``OverloadedError: ...``).
    Before session 30's user probe a get at ``r=3`` with a node down raised ``no
    node could serve it (...): ...: HTTP 503; ...: HTTP 503``, the quorum it missed
    not named."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if (isinstance(body, dict) and isinstance(body.get("error"), str)
            and isinstance(body.get("message"), str)):
        return f"HTTP {response.status_code} {_kept_error(body)}"
    return f"HTTP {response.status_code}"


#: one HTTP request of a plan: (method, URL, httpx keyword arguments)
Step = tuple[str, str, dict[str, Any]]
#: a request's plan: yields steps, is sent each step's response (or the transport
#: error it raised), returns the result (the sans-IO shape: both clients drive it)
Plan = Generator[Step, "httpx.Response | httpx.TransportError", Any]


def status_plan(router: Router, node: str | None = None) -> Plan:
    """``/status`` of ``node`` (default: the first node that answers)."""
    _, body = yield from _status_of(router, node)
    return body


#: a cluster_id as a node's 421 names its own (:meth:`impl.http_api.HttpApi._misdirected`)
_NAMED_ID = re.compile(r"cluster_id ([0-9a-f]{32})")
#: what a ``cluster_id`` is: 32 hex digits (:func:`impl.http_api.cluster_id`)
_ID_FORM = re.compile(r"[0-9A-Fa-f]{32}")


def _refusing_id(answer: httpx.Response) -> str | None:
    """The ``cluster_id`` a node's 421 (``answer``) names as its own in its message
    (None: none named, not the API's error)."""
    message = _json(answer).get("message")
    found = _NAMED_ID.search(message) if isinstance(message, str) else None
    return found.group(1) if found else None


def _checked_cluster_id(given: object) -> str | None:
    """``cluster_id`` as given to a client (None: none), lower case; LocalError naming
    it unless it is 32 hex digits, a node's ``/status`` ``cluster_id``
    (:func:`impl.http_api.cluster_id`), not a cluster's name (session 61)."""
    if given is None:
        return None
    if not isinstance(given, str) or not _ID_FORM.fullmatch(given):
        raise LocalError(f"connect: cluster_id {given!r:.60} is not a cluster_id: it takes "
                         "the 32 hex digits of a node's /status cluster_id (`curl "
                         "HOST:PORT/status`), not a cluster's name; nothing was sent")
    return given.lower()


def _vouched(status: dict[str, Any]) -> bool:
    """Whether the ``cluster_id`` of a ``/status`` body may be pinned
    (:attr:`Router.cluster_id`): its node does not say ``ready: false`` and, with
    itself, the peers that connected to it with the cluster's secret (``reached_by``)
    are a majority of its ring's members (a body without them, a node of before
    session 33: yes). Session 60's review of red team 12: the seeds ``[n3, n1, n2]``
    with n3 on another secret, the three started together: n3, past its shadow
    round, said ``ready: true`` for 4 s while n1 and n2 were not yet up (a peer down
    leaves a node ready), the client pinned n3's identity and every call after n1 and
    n2 were ready was NoNodeError "a node of another cluster", for good
    (probes/23o-library-seeds-led-by-a-stranger-while-the-cluster-starts.py: 0 of 41-46
    calls in 20 s). No peer with another secret passes a node's hello."""
    if status.get("ready") is False:
        return False
    reached, ring = status.get("reached_by"), status.get("ring")
    tokens = ring.get("tokens") if isinstance(ring, dict) else None
    if not isinstance(reached, list) or not isinstance(tokens, dict):
        return True
    peers = {name for name in reached if isinstance(name, str)} & set(tokens)
    peers.discard(status.get("node"))
    return 2 * (len(peers) + 1) > len(tokens)


def _status_of(router: Router, node: str | None = None) -> Plan:
    """(the base URL that answered, its ``/status``): see :func:`status_plan`. Before
    the client has learned its cluster (:attr:`Router.cluster_id`), a node whose
    ``/status`` says it is not ``ready``, or that a majority of its members does not
    vouch for (:func:`_vouched`, session 60's review), is passed over for a later one
    that is (and taken if none is, its ring used but its identity not pinned:
    :meth:`Router.learn`): its identity would be pinned for good. Session 60's red team:
    with the seeds ``[n3, n1, n2]`` and n3 restarted with another secret (its peers
    refuse it; its ``/status`` says ``ready: false`` and why), the client learned
    n3's cluster and then refused n1 and n2 as "a node of another cluster": 10 of 10
    puts NoNodeError while a quorum served (``[n1, n2, n3]``: 10 of 10 right)."""
    tried = [_seed_url(node)] if node else router.candidates(None)
    why: list[str] = []
    unready: tuple[str, dict[str, Any]] | None = None
    for base in tried:
        answer = yield "GET", base + "/status", {}
        if not isinstance(answer, httpx.Response):
            if not isinstance(answer, NotSentError):
                router.suspect(base)
            why.append(f"{base}: {_unanswered(answer)}")
            continue
        router.answered(base)
        try:  # a body that is not a JSON object is not a node's (session 13's probe B:
            body = answer.json()  # a bare JSONDecodeError before, and a list was returned)
        except ValueError:
            body = None
        if answer.status_code == 200 and isinstance(body, dict):
            if node is None and router.other_cluster(body):  # the ring of another
                # cluster: not learned
                why.append(router.misdirected(base, body.get("cluster_id")))
                continue
            if node is None and router.cluster_id is None and not _vouched(body):
                unready = unready or (base, body)
                why.append(f"{base}: not ready, or not reached by a majority of its "
                           "members")
                continue
            return base, body
        why.append(f"{base}: HTTP {answer.status_code}"
                   f"{'' if isinstance(body, dict) else ', not a JSON object'}")
    if unready is not None:
        return unready
    raise _unserved("status", tried, why)


def _route_plan(router: Router) -> Plan:
    if router.stale():
        # no ring (no node answered, an old node): route to the seeds meanwhile
        with contextlib.suppress(NoNodeError, KeyError, ValueError, TypeError):
            base, status = yield from _status_of(router)
            router.learn(status, base)


def _statement_plan(router: Router, base: str) -> Plan:
    """Read the ``/status`` of the node at ``base`` and learn it (its ring, and what
    it states of its answers: :meth:`Router.learn`), as a refresh would, when the
    client must know what that node states (session 38): a get's answer over the
    cluster's bound (:func:`_read_plan`), or an answer naming no key from a node
    whose ``/status`` was not read (:class:`_KeyUnstated`). One that does not answer
    it, answers it as no node (or a node of another cluster) states nothing: its
    statement is taken as none (an old node's) until the ring is learned again."""
    answer = yield "GET", base + "/status", {}
    body = _json(answer) if isinstance(answer, httpx.Response) else {}
    if (isinstance(answer, httpx.Response) and answer.status_code == 200
            and not router.other_cluster(body)):
        with contextlib.suppress(BadMessageError):
            router.learn(body, base)
            return
    router.unstated(base)


def _asked(named: bool | None) -> bool | None:
    """``named`` (:meth:`Router.names_keys`) as the first reading of an answer takes
    it (:func:`_check_key`): a node stating ``names_keys`` is asked again (None)
    before its answer naming no key is refused, as a node not read is. Session 38's
    review: a node that stated it and was restarted older (an upgrade rolled back)
    kept it in the client while it stayed in the ring (a refresh reads the first
    seed's ``/status``), so that every get it led cost a request more and every
    put and delete it took raised OutcomeUnknownError although it had written.
    One ``/status`` more per answer naming no key from such a node, which a node
    of session 38 never gives."""
    return False if named is False else None


def _read_plan(router: Router, base: str, step: Step) -> Plan:
    """Make ``step`` (a get to the node at ``base``) and return its answer. One over
    the cluster's bound (:class:`AnswerRefusedError`, no ``max_answer_bytes`` given)
    makes the client read that node's ``/status`` (:func:`_statement_plan`) and, if
    the bound is larger now, make ``step`` once more (session 38). Before, the bound
    came from the last ``/status`` learned (every ``refresh_s``, 30 s): during a
    rolling change of limits a node of smaller limits learned last made every
    larger answer of the larger nodes refused until the client happened to learn
    from one of them. The DataStax Java driver likewise reacts to a node's
    protocol refusal by negotiating with that node again, rather than waiting for
    its next metadata refresh."""
    answer = yield step
    if (isinstance(answer, AnswerRefusedError) and answer.limit is not None
            and router.given_answer_bytes is None):
        yield from _statement_plan(router, base)
        limit = router.answer_limit()
        if limit > answer.limit and (answer.size is None or answer.size <= limit):
            answer = yield step
    return answer


def _check_quorum(name: str, value: object, low: int = 1) -> None:
    """Raise InvalidValueError naming ``name`` (``r`` or ``w``; ``pr`` or ``pw``
    with ``low`` 0) unless ``value`` is None, an int of at least ``low`` (not a
    bool), or one of Riak's names (:data:`impl.http_values.QUORUM_NAMES`: ``one``,
    ``quorum``, ``all``, ``default``; since session 50), before any request: the
    node checks the upper bound, N. Until session
    16's probe it was sent as given (``r="2"`` served as 2, ``r=True`` as
    ``?r=true``), and a node that did not answer hid it (``vdynamo put k v --w 0``
    to a node down: "no node could serve it ... ConnectError")."""
    if value is None or (isinstance(value, str) and value in QUORUM_NAMES):
        return  # (a name: Riak's, the node reads it; session 50)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        what = "a positive int" if low == 1 else f"an int of at least {low}"
        raise InvalidValueError(f"{name}: must be {what} (at most the cluster's "
                                f"N) or one of {', '.join(QUORUM_NAMES)}, got "
                                f"{type(value).__name__} {value!r:.40}; nothing was sent")


def get_plan(router: Router, key: bytes | str, r: int | str | None,
             resolve: Resolver | None, pr: int | str | None = None) -> Plan:
    """A get (see the module docstring): a :class:`Fetched`. ``pr``: the primary
    read quorum (None: the cluster's)."""
    _check_quorum("r", r)
    _check_quorum("pr", pr, 0)
    path = key_path(key)  # InvalidValueError before anything is sent (session 35)
    yield from _route_plan(router)
    why: list[str] = []
    for base in router.candidates(key):
        answer = yield from _read_plan(router, base, ("GET", base + path, {
            "headers": {**_JSON, **router.cluster_header()},
            "params": {name: value for name, value in (("r", r), ("pr", pr))
                       if value is not None} or None}))
        if isinstance(answer, httpx.TransportError):
            router.unanswered(base, answer)
            why.append(f"{base}: {_unanswered(answer)}")
            continue
        router.answered(base)
        try:
            try:
                got = read_get(answer, key, _asked(router.names_keys(base)))
            except _KeyUnstated:  # no key named, its node's statement not read (or
                # stating names_keys, perhaps no longer): ask it
                yield from _statement_plan(router, base)
                got = read_get(answer, key, router.names_keys(base) is True)
        except BadMessageError as wrong:  # another key's answer (session 37), or none
            why.append(f"{base}: {wrong}")
            continue
        if got is None:
            status = answer.status_code
            why.append(router.misdirected(base, _refusing_id(answer))
                       if status == _MISDIRECTED
                       else f"{base}: HTTP {status} {_not_a_nodes_error(_json(answer), answer)}"
                       if 400 <= status < 500 else f"{base}: {_said(answer)}"
                       f"{' (not an answer of the API)' if status < 500 else ''}")
            continue
        if resolve is not None and len(got.values) > 1:
            merged: object = resolve(got.values)  # (what a hook returns, unchecked)
            if inspect.iscoroutine(merged):  # a def returning a coroutine: not awaited
                merged.close()  # (no "never awaited" warning beside the error below)
            if not isinstance(merged, bytes | bytearray | memoryview | str):
                raise InvalidValueError(  # before: None written as b"" over every sibling
                    f"get {key!r}: the resolve hook returned {type(merged).__name__} "
                    f"{merged!r:.60}, not the merged value (bytes); nothing was written")
            value = value_bytes(merged)  # returned as written: bytes (a str was returned
            # itself, a memoryview too, until session 15's review)
            kind = got.content_types[0] if got.content_types else "application/octet-stream"
            try:
                context = yield from put_plan(router, key, value, got.context, kind, None)
            except (NoNodeError, RequestRefusedError) as error:  # OutcomeUnknownError too
                # The read succeeded: the merge is the answer, with the read's context
                # (before session 30's probe the get raised the write-back's error,
                # e.g. OutcomeUnknownError with W nodes of the key down, although
                # it had read every sibling). The next put with this context
                # supersedes the siblings merged, as the write-back would have.
                # A 4xx too (session 30's review: a merge over max_value_bytes, 413,
                # raised RequestRefusedError, "fix the request", at a valid get):
                # the caller did not ask for that write; its own put of the merge
                # gets the refusal, raised there.
                return Fetched([value], got.content_types[:1], got.context,
                               write_back_error=f"{type(error).__name__}: {error}")
            return Fetched([value], got.content_types[:1], context)
        return got
    raise _unserved(f"get {key!r}", router.candidates(key), why)


def put_plan(router: Router, key: bytes | str, value: bytes, context: str | None,
             content_type: str, w: int | str | None, pw: int | str | None = None) -> Plan:
    """A put (see the module docstring): the new context. ``pw``: the primary write
    quorum (None: the cluster's)."""
    return _write_plan(router, "PUT", key, value, context, {"Content-Type": content_type}, w,
                       pw=pw)


def delete_plan(router: Router, key: bytes | str, context: str | None, w: int | str | None,
                r: int | str | None = None, *, missing_ok: bool = True, pw: int | str | None = None,
                pr: int | str | None = None) -> Plan:
    """A delete (a tombstone written like a put; the same retry rules): the new
    context, which a later get of the key also answers (with no value). Without a
    context the node reads the key first and deletes what it read; if it found no
    value, nothing is written and the read's context is returned, or with
    ``missing_ok`` False the node's 404 raises RequestRefusedError (``vdynamo
    delete``: it printed a context and exited 0 as if it had deleted, session 15's
    probe B). ``pw``, ``pr``: the primary quorums of the tombstone's write and of
    that read (None: the cluster's)."""
    return _write_plan(router, "DELETE", key, None, context, {}, w, r,
                       missing_ok=missing_ok, pw=pw, pr=pr)


def _write_plan(router: Router, method: str, key: bytes | str, value: bytes | None,
                context: str | None, headers: dict[str, str], w: int | str | None,
                r: int | str | None = None, *, missing_ok: bool = True, pw: int | str | None = None,
                pr: int | str | None = None) -> Plan:
    path = key_path(key)  # InvalidValueError before anything is sent (session 15's
    # probe B: a key of no UTF-8 form; session 35: one whose path is over MAX_KEY_PATH)
    _check_quorum("w", w)
    _check_quorum("r", r)
    _check_quorum("pw", pw, 0)
    _check_quorum("pr", pr, 0)
    if value is not None:
        value = value_bytes(value)
    elif method == "PUT":  # a put of None: stored as b"" before session 15's probe B
        value_bytes(value)
    if context is not None and not isinstance(context, str):
        raise InvalidValueError(f"context: must be a str (a get's context), got "
                                f"{type(context).__name__}; nothing was sent")
    if context == "":
        # the cluster never issues an empty context (a get of a key with no value
        # answers one too), so "" is a client's mistake, an empty variable or
        # `vdynamo delete k --context "$CTX"` with CTX unset. Until session 15's probe
        # B it was sent as no context: a put became a blind write (a sibling where a
        # replacement was meant) and a delete read the key first and deleted every
        # value there, those the client never read too; the node refuses an empty
        # X-Vdynamo-Context header the same way (session 12's second probe)
        raise InvalidValueError(
            f"context: empty: pass the context a get returned, or None for a "
            f"{'delete that reads the key first' if method == 'DELETE' else 'blind put'}"
            "; nothing was sent")
    if context is not None:
        headers["X-Vdynamo-Context"] = context
    for name, text in headers.items():
        _check_header_value(name, text)
    yield from _route_plan(router)
    headers = {**headers, **router.cluster_header(), **router.client_header()}
    what = f"{method.lower()} {key!r}"
    why: list[str] = []
    for base in router.candidates(key):
        if router.probe_writes and not router.fresh(base):
            # session 53: a node that hangs accepts the connection (its kernel does)
            # and would take the write unanswered: asked whether it answers first
            probe = yield "GET", base + "/health", {}
            if isinstance(probe, httpx.TransportError):  # nothing of the write sent
                router.unanswered(base, probe)
                why.append(f"{base}: GET /health (asked before the {method}, which "
                           f"was not sent): {_unanswered(probe)}")
                continue
            router.answered(base)
        answer = yield method, base + path, {
            "content": value, "headers": headers,
            "params": {name: value for name, value in (("w", w), ("r", r), ("pw", pw),
                                                       ("pr", pr))
                       if value is not None} or None}
        if isinstance(answer, httpx.ConnectError | httpx.ConnectTimeout):  # nothing sent
            router.unanswered(base, answer)
            why.append(f"{base}: {_unanswered(answer)}")
            continue
        if isinstance(answer, httpx.TransportError):  # sent; the answer was lost
            router.forget()
            router.suspect(base)
            raise OutcomeUnknownError(f"{what} to {base}: {answer!r}")
        router.answered(base)
        try:
            try:
                written = _write_answer(answer, method, key,
                                        _asked(router.names_keys(base)), missing_ok)
            except _KeyUnstated:  # no key named, its node's statement not read (or
                # stating names_keys, perhaps no longer): ask it
                yield from _statement_plan(router, base)
                written = _write_answer(answer, method, key,
                                        router.names_keys(base) is True, missing_ok)
        except OutcomeUnknownError as unknown:  # named: the write and the node (a 504
            # said neither before session 16's probe)
            raise OutcomeUnknownError(f"{what} to {base}: {unknown}") from None
        if written is not None:
            return written
        why.append(router.misdirected(base, _refusing_id(answer)) if answer.status_code
                   == _MISDIRECTED else f"{base}: {_said(answer)} (not written)")
    raise _unserved(what, router.candidates(key), why)


def _write_answer(answer: httpx.Response, method: str, key: bytes | str,
                  named: bool | None, missing_ok: bool) -> str | None:
    """The context a put's or delete's ``answer`` gives (None: not written, try the
    next node), as :func:`read_put` reads it; a DELETE's 404 with a context string
    is a delete that found no value (nothing written): its context, or with
    ``missing_ok`` False RequestRefusedError. ``named``: see :func:`_check_key`."""
    missing = _json(answer) if method == "DELETE" and answer.status_code == 404 else {}
    if isinstance(missing.get("context"), str) and missing["context"]:
        # a delete without a context found nothing: none written. Only a context
        # string is one (session 36's probe: a 404 of {"context": null}, 5 or ""
        # returned 'None', '5' or '' as the delete's context, str() of anything)
        try:
            _check_key(missing, key, named)
        except BadMessageError as wrong:  # another key's 404: this delete was sent
            raise OutcomeUnknownError(str(wrong)) from None
        if not missing_ok:  # the read's context stays in the error's body
            raise RequestRefusedError(404, {
                **missing, "message": "no value for this key: nothing was deleted "
                "(nothing written)"})
        return str(missing["context"])
    return read_put(answer, key, named)


def _check_seconds(name: str, value: object, capped: bool = True) -> None:
    """Raise LocalError naming ``name`` unless ``value`` is a positive finite number
    of seconds, at most :data:`MAX_SECONDS` (a day) when ``capped`` (a socket's timeout
    or a deadline; ``refresh_s`` is only compared with elapsed time, so a huge one, such
    as the tests' ``1e9``, means "never relearn" and is taken: session 56's clean
    clone). Before session 15's probe B,
    ``connect(nodes, timeout_s=-1)`` (or NaN, or infinity) was taken and each
    request then raised httpx's bare ValueError or an OverflowError, and
    ``timeout_s=0`` made every put fail as NoNodeError "ConnectError" although every
    node was up. Before session 56's probe 56b a finite but huge one (``timeout_s=
    1e308``) was taken and each get raised a bare OverflowError ("timestamp out of
    range for platform time_t") from the socket's timeout."""
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value) or value <= 0
            or (capped and value > MAX_SECONDS)):
        most = f", at most {MAX_SECONDS:g} (a day)" if capped else ""
        raise LocalError(f"connect: {name} must be a positive finite number of "
                         f"seconds{most}, got {value!r:.60}")


def _check_client(resolve: object, timeout_s: object, max_answer_bytes: object,
                  deadline_s: object = None) -> None:
    _check_seconds("timeout_s", timeout_s)
    if deadline_s is not None and deadline_s is not DEFAULT_DEADLINE:
        _check_seconds("deadline_s", deadline_s)
    if max_answer_bytes is not None and (
            isinstance(max_answer_bytes, bool) or not isinstance(max_answer_bytes, int)
            or max_answer_bytes < 1):
        raise LocalError(f"connect: max_answer_bytes must be a positive int (bytes) or "
                         f"None (the cluster's), got {max_answer_bytes!r:.60}")
    if resolve is not None and not callable(resolve):
        raise LocalError(f"connect: resolve must be a function of the siblings (a list "
                         f"of bytes) to the merged value, got {type(resolve).__name__}")
    if resolve is not None and (inspect.iscoroutinefunction(resolve)  # an object's
                                or inspect.iscoroutinefunction(type(resolve).__call__)):
        # session 61's probe 23p: an ``async def`` merge (natural beside
        # connect_async) was taken, and every get that found siblings raised
        # InvalidValueError "returned coroutine", its coroutine never awaited
        raise LocalError(f"connect: resolve must be a plain function of the siblings "
                         f"returning the merged value (bytes), not a coroutine function "
                         f"({getattr(resolve, '__name__', type(resolve).__name__)}): the "
                         f"hook runs inside the get, not awaited; merge in a def")


def _check_open(closed: bool) -> None:
    """Raise LocalError, before anything is sent, for a request of a closed client
    (after ``close``, ``aclose`` or its ``with`` block): httpx's bare RuntimeError
    before session 29's user probe."""
    if closed:
        raise LocalError("the client is closed (close(), or its with block ended): "
                         "connect again; nothing was sent")


def _unanswered(error: httpx.TransportError) -> str:
    """Why a node gave no answer: the class of ``error`` and what it says (as
    :func:`_kept` keeps it), e.g. ``AnswerRefusedError: an answer of 50,000,000 bytes
    ...``. Before session 36 a get named the class only (``RemoteProtocolError``)."""
    said = str(error)
    return f"{type(error).__name__}: {_kept(said)}" if said else type(error).__name__


def _unserved(what: str, tried: Iterable[str], why: list[str]) -> NoNodeError:
    bases = list(tried)
    return NoNodeError(f"{what}: no node could serve it (tried {', '.join(bases)}): "
                       f"{'; '.join(why) or 'no node answered'}{_proxy_said(bases)}")


def _until(deadline_s: float | None, ends_at: float | None,
           started: float | None = None) -> float | None:
    """The monotonic time a call begun at ``started`` (None: now) ends by:
    ``deadline_s`` seconds from then, or ``ends_at`` (a client's
    :attr:`Client.ends_at`) if that is sooner; None: neither."""
    begun = time.monotonic() if started is None else started
    ends = [] if deadline_s is None else [begun + deadline_s]
    return min([*ends, *([] if ends_at is None else [ends_at])], default=None)


def _bound(method: str, timeout_s: float, deadline_s: float | None,
           until: float | None, record_s: float = 0.0) -> float:
    """The seconds one request (``method``) of a call may take: ``timeout_s``; with a
    call's deadline (``deadline_s``, due at the monotonic ``until``) what is left of
    it for a write (PUT, DELETE: once sent it is not retried elsewhere, so it waits
    as long as the call may), the lesser of the two for any other request (a get, a
    ``/status``, a write's probe: the next node is asked after it; session 53).
    ``record_s``: seconds added to ``timeout_s`` for a get of a key on a cluster of
    large records (:meth:`Router.record_s`; with a deadline only: without one, the
    behaviour before session 54). Raises :class:`NotSentError` when nothing is left."""
    if until is None:
        return timeout_s
    left = round(until - time.monotonic(), 3)
    if left <= 0:  # (rounded first, session 53's review: under 0.5 ms left was a bound
        # of 0 s, and a write on the connection its probe left open was refused at its
        # first byte, a WriteTimeout: "outcome unknown" for a write not sent)
        raise NotSentError("not sent: the call's deadline" + (
            "" if deadline_s is None else f"_s of {deadline_s} s") + " passed")
    return left if method in _WRITES else min(timeout_s + record_s, left)


def _timeouts(bound: float, timeout_s: float) -> httpx.Timeout:
    """httpx's timeouts of a request of ``bound`` seconds (:func:`_bound`): its
    connection made within ``timeout_s`` too, a write's as a get's (nothing of it is
    sent before: the next node may be asked). Session 54's probe: a write to a node
    that had answered within :data:`FRESH_S` (so not probed) and then dropped every
    SYN (a firewall) waited for its connection the whole deadline (10 s), and no time
    was left for the next node: NoNodeError, not written, where 2 s on it and the
    next node would have written it."""
    return httpx.Timeout(bound, connect=min(bound, timeout_s))


def _value_size(value: object) -> int:
    """A put's value's bytes for its deadline (:meth:`Router.call_record_s`); 0 for
    what :func:`value_bytes` refuses (``put_plan`` raises, naming the type)."""
    if isinstance(value, memoryview):
        return value.nbytes
    if isinstance(value, bytes | bytearray):
        return len(value)
    return len(value.encode(errors="replace")) if isinstance(value, str) else 0


#: every client made in this process (blocking and asyncio), each made anew in a
#: child that ``fork`` makes (:func:`_forked_clients`)
_CLIENTS: weakref.WeakSet[Client | AsyncClient] = weakref.WeakSet()


def _forked_clients() -> None:
    """In the child of a ``fork``: each client forgets its parent's connections
    (:meth:`Client.forked`). Registered with :func:`os.register_at_fork`."""
    for client in list(_CLIENTS):
        client.forked()


if hasattr(os, "register_at_fork"):  # not on Windows (no fork there): session 60's
    # review, there `import vdynamo` raised AttributeError
    os.register_at_fork(after_in_child=_forked_clients)


class Client:
    """A blocking client; see the module docstring. ``timeout_s``: per request to one
    node (:data:`TIMEOUT_S` by default); ``deadline_s``: each call's whole
    (:func:`call_deadline`: by default :data:`DEADLINE_S` or twice ``timeout_s``; None:
    none, and no probe before a write); ``resolve``: the sibling-resolution hook;
    ``refresh_s``: how often the ring is relearned; ``max_answer_bytes``: the largest
    answer read (None: the cluster's, :meth:`Router.answer_limit`); ``cluster_id``: the
    cluster meant (:attr:`Router.given_cluster_id`; None: the first vouched one
    learned). One client may be
    shared by any number of threads: at most :attr:`IN_FLIGHT` of their requests are
    in flight at once, the others wait their turn in the client (nothing sent yet,
    their ``timeout_s`` not started)."""

    #: requests in flight at most over every thread sharing the client. Session 32's
    #: client probe: one client shared by 300 threads, 3 puts each on three nodes,
    #: raised OutcomeUnknownError for 2-12 of 900 puts a run, ``ReadError: [Errno 9]
    #: Bad file descriptor`` (and a ReadTimeout after the whole ``timeout_s``), every
    #: node up: httpcore's pool (1.0.9, one pool of 100 connections, 20 kept alive) can
    #: close an idle connection it has just given to a waiting request, the other
    #: thread then sending on it (encode/httpcore#1110, open), and a request's
    #: ``timeout_s`` ran while it queued in that pool (a PoolTimeout: an unknown outcome
    #: though nothing was sent, the node suspected). Now one pool per node, each of
    #: ``IN_FLIGHT`` connections all kept alive, and ``IN_FLIGHT`` turns: a request
    #: let through always finds an idle connection of its node or opens one, so the
    #: pool never queues it and never closes an idle connection to make room or for
    #: surplus (:meth:`_pool`).
    IN_FLIGHT: ClassVar[int] = IN_FLIGHT  # the module's, shared with AsyncClient

    def __init__(self, seeds: Sequence[str], *, resolve: Resolver | None = None,
                 timeout_s: float = TIMEOUT_S, refresh_s: float = 30.0,
                 max_answer_bytes: int | None = None,
                 deadline_s: float | Default | None = DEFAULT_DEADLINE,
                 cluster_id: str | None = None) -> None:
        _check_client(resolve, timeout_s, max_answer_bytes, deadline_s)
        self.router = Router(seeds, refresh_s, max_answer_bytes=max_answer_bytes,
                             cluster_id=cluster_id)
        self._deadline_s = call_deadline(timeout_s, deadline_s)
        #: the deadline is the default one: it grows with a call's record
        #: (:meth:`Router.call_record_s`, session 57)
        self._default_deadline = deadline_s is DEFAULT_DEADLINE
        self.router.probe_writes = self._deadline_s is not None
        self.resolve = resolve
        self._timeout_s = timeout_s
        #: a monotonic time every call ends by besides its own deadline (None: none):
        #: a command of several calls that shares one bound (``vdynamo put
        #: --value-file``: the ``/status`` read for the value's limit, then the put;
        #: session 54, each had the whole ``--timeout`` before)
        self.ends_at: float | None = None
        self._max_answer_bytes = max_answer_bytes
        #: the sockets of every pool, each read and write bounded by its request's
        #: deadline (session 36)
        self._deadlines = _DeadlineBackend(httpcore.SyncBackend(), timeout_s)
        #: origin (scheme://host:port) -> the pool of that node's connections
        self._pools: dict[str, httpx.Client] = {}
        self._pools_lock = threading.Lock()
        self._closed = False
        #: the turns of :attr:`IN_FLIGHT` requests (:meth:`_request`)
        self._turns = threading.BoundedSemaphore(self.IN_FLIGHT)
        #: origin -> the turns of :data:`NODE_IN_FLIGHT` requests to that node
        self._node_turns: dict[str, threading.BoundedSemaphore] = {}
        _CLIENTS.add(self)

    def forked(self) -> None:
        """Called in the child of a ``fork`` (:func:`_forked_clients`): the pools of the
        parent's kept-alive connections are dropped unused (their sockets stay the
        parent's: closing a copy sends nothing) and the locks and turns made anew (a
        parent's thread may have held one at the fork), so the child opens its own
        connections; its client name is drawn anew (another process, another client).
        Before session 60's red team a client made before a fork (gunicorn
        ``--preload``, a prefork worker, ``multiprocessing`` with the ``fork`` start
        method) sent the parent's and the children's requests on the same TCP
        connections: answers crossed (OutcomeUnknownError, "an answer for the key
        ..."), and a put's body was another process's request, stored and
        acknowledged (probes/23k-library-client-shared-across-fork.py: ``c1-0`` held
        ``GET /kv/k4 HTTP/1.1 ...``). redis-py's pools check ``os.getpid()`` so."""
        self._pools = {}
        self._pools_lock = threading.Lock()
        self._turns = threading.BoundedSemaphore(self.IN_FLIGHT)
        self._node_turns = {}
        self.router.client_id = f"py-{secrets.token_hex(8)}"

    def _pool(self, url: str) -> tuple[httpx.Client, threading.BoundedSemaphore]:
        """The connection pool of ``url``'s node and the turns of its share
        (:data:`NODE_IN_FLIGHT`), made at its first request. The pool's limits keep
        httpcore from closing a connection another thread was given: with every
        connection kept alive it closes none as surplus, and with no more requests
        of the client in flight than it has connections it never queues one, nor
        closes an idle one to make room. LocalError if the client is closed."""
        parsed = httpx.URL(url)
        origin = f"{parsed.scheme}://{parsed.host}:{parsed.port}"
        with self._pools_lock:
            _check_open(self._closed)
            pool = self._pools.get(origin)
            if pool is None:
                pool = _made_from_environment(lambda: httpx.Client(
                    timeout=self._timeout_s, headers=_IDENTITY,
                    limits=httpx.Limits(max_connections=self.IN_FLIGHT,
                                        max_keepalive_connections=self.IN_FLIGHT)), origin)
                try:  # every socket of the pool, a proxy's too, bounded by its
                    # request's deadline (_DeadlineBackend)
                    _time_sockets(pool, self._deadlines)
                except LocalError:
                    pool.close()
                    raise
                self._pools[origin] = pool
            turns = self._node_turns.setdefault(
                origin, threading.BoundedSemaphore(NODE_IN_FLIGHT))
            return pool, turns

    def _until(self, started: float, value_bytes: int) -> float | None:
        """The monotonic time a call begun at ``started`` ends by: its deadline
        (:func:`_until`), the default one grown by twice the call's record seconds
        (:meth:`Router.call_record_s`: each of the two nodes' parts it leaves room
        for, as a get's node part grows by :meth:`Router.record_s`), taken again
        before each request (a ``/status`` learned during the call states the
        cluster's record bound)."""
        deadline = self._deadline_s
        if deadline is not None and self._default_deadline:
            deadline += 2 * self.router.call_record_s(value_bytes)
        return _until(deadline, self.ends_at, started)

    def _drive(self, plan: Plan, value_bytes: int = 0) -> Any:
        _check_open(self._closed)
        started = time.monotonic()
        try:
            method, url, options = next(plan)
            while True:
                try:
                    answer: httpx.Response | httpx.TransportError = self._request(
                        method, url, options, self._until(started, value_bytes))
                except httpx.TransportError as error:
                    answer = error
                method, url, options = plan.send(answer)
        except StopIteration as done:
            return done.value

    def _request(self, method: str, url: str, options: dict[str, Any],
                 until: float | None = None) -> httpx.Response:
        """One request to one node, its answer read whole within about ``timeout_s``
        (with a call's deadline ``until``, monotonic: :func:`_bound`)
        (httpx's timeouts bound each read, not the answer): an answer still arriving
        at the deadline raises httpx.ReadTimeout, a TransportError (no answer). Before
        session 14's probe B a node, or a proxy, sending its answer a byte every half
        second held ``get`` for as long as it trickled (20 s for 40 bytes with
        ``timeout_s = 2``: forever for an endless one). Made in one of
        :attr:`IN_FLIGHT` turns, ``timeout_s`` timed from the turn (session 32),
        after a turn of its node's share (:data:`NODE_IN_FLIGHT`; session 33)."""
        pool, share = self._pool(url)
        with share if self.router.several() else contextlib.nullcontext(), self._turns:
            # closed while this request waited for its turn: httpx's bare RuntimeError
            # before session 32's review; its check in httpx.Client.send is the one
            # that counts (a close between the two), nothing sent either way
            _check_open(self._closed)
            bound = _bound(method, self._timeout_s, self._deadline_s, until,
                           self.router.record_s(url))
            deadline = time.monotonic() + bound
            self._deadlines.deadline.at = deadline  # every read and write: its head too
            self._deadlines.deadline.bound = bound
            limit = self.router.answer_limit(self._max_answer_bytes)
            try:
                with pool.stream(method, url, **options,
                                 timeout=_timeouts(bound, self._timeout_s)) as response:
                    _check_head(response, limit)
                    raw: list[bytes] = []
                    if response.is_stream_consumed:  # read already by its transport (a
                        # test's httpx.MockTransport): whole, still bounded
                        _take(raw, 0, response.content, limit, response.request)
                    size = 0
                    for chunk in () if response.is_stream_consumed else response.iter_raw():
                        size = _take(raw, size, chunk, limit, response.request)
                        if time.monotonic() > deadline:
                            raise httpx.ReadTimeout(
                                f"no whole answer within {bound} s",
                                request=response.request)
            except RuntimeError:
                _check_open(self._closed)
                raise
            finally:
                self._deadlines.deadline.at = None
        return httpx.Response(response.status_code, headers=response.headers,
                              content=b"".join(raw), request=response.request,
                              extensions=response.extensions)

    def close(self) -> None:
        """Close every pooled connection; a later request raises LocalError."""
        with self._pools_lock:
            self._closed = True
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def status(self, node: str | None = None) -> dict[str, Any]:
        """``/status`` of ``node`` (a base URL or host:port; default: the first that
        answers); NoNodeError if none does."""
        result: dict[str, Any] = self._drive(status_plan(self.router, node))
        return result

    def get(self, key: bytes | str, *, r: int | str | None = None,
            pr: int | str | None = None) -> Fetched:
        """The key's siblings and context (resolved to one with the resolve hook);
        NoNodeError if no node could serve it, RequestRefusedError for a bad request.
        ``r``: the read quorum (1..N); ``pr``: how many of the answers must be
        primaries' (0..N; Riak's pr: a node that reached fewer answers 503 and the
        next is tried); None: the cluster's."""
        result: Fetched = self._drive(get_plan(self.router, key, r, self.resolve, pr))
        return result

    def put(self, key: bytes | str, value: bytes, *, context: str | None = None,
            content_type: str = "application/octet-stream", w: int | str | None = None,
            pw: int | str | None = None) -> str:
        """Write ``value``; ``context`` from a get (None: a new concurrent write). The
        new context; OutcomeUnknownError if it may or may not be stored, NoNodeError
        if no node wrote it, RequestRefusedError for a bad request. ``w``: the write
        quorum (1..N); ``pw``: how many of the acknowledgements must be primaries'
        (0..N; Riak's pw: short of it the put is OutcomeUnknownError, or refused
        before writing when its coordinator believes fewer up); None: the cluster's."""
        result: str = self._drive(put_plan(self.router, key, value, context, content_type, w,
                                           pw), _value_size(value))
        return result

    def delete(self, key: bytes | str, *, context: str | None = None,
               w: int | str | None = None, r: int | str | None = None, missing_ok: bool = True,
               pw: int | str | None = None, pr: int | str | None = None) -> str:
        """Delete the versions ``context`` (from a get) covers by writing a tombstone
        (None: the node reads the key first, with its R, and deletes what it read, as
        Riak does; a put concurrent with that is kept as a sibling; no value found:
        nothing is written and the read's context is returned, or with ``missing_ok``
        False RequestRefusedError is raised (HTTP 404); ``r``: that read's R).
        The new context (a later get answers no value and this context; a put with
        it supersedes the tombstone). Retried exactly as a put:
        OutcomeUnknownError, NoNodeError, RequestRefusedError as :meth:`put`.
        ``pw``, ``pr``: the primary quorums of the tombstone and of the read
        (:meth:`put`, :meth:`get`)."""
        result: str = self._drive(delete_plan(self.router, key, context, w, r,
                                              missing_ok=missing_ok, pw=pw, pr=pr))
        return result


class _Sending:
    """Whether a request of the async client began to be sent (httpcore's ``trace``
    extension: its head's sending started). Session 54's review: the async client's
    whole-request bound (``asyncio.timeout``) that ended a write still connecting (a
    node behind a firewall that drops SYNs, the call's deadline nearer than
    ``timeout_s``, so httpx's connect timeout no sooner) was taken for a lost answer:
    OutcomeUnknownError for a write never sent, where the sync client raised
    NoNodeError (not written) and tried the next node."""

    def __init__(self) -> None:
        self.began = False

    async def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: ``event`` names a step (``info`` its details)."""
        if ".send_request_headers." in event:
            self.began = True


class AsyncClient:
    """The asyncio twin of :class:`Client` (the same methods, awaited)."""

    def __init__(self, seeds: Sequence[str], *, resolve: Resolver | None = None,
                 timeout_s: float = TIMEOUT_S, refresh_s: float = 30.0,
                 max_answer_bytes: int | None = None,
                 deadline_s: float | Default | None = DEFAULT_DEADLINE,
                 cluster_id: str | None = None) -> None:
        _check_client(resolve, timeout_s, max_answer_bytes, deadline_s)
        self.router = Router(seeds, refresh_s, max_answer_bytes=max_answer_bytes,
                             cluster_id=cluster_id)
        self._deadline_s = call_deadline(timeout_s, deadline_s)
        #: the deadline is the default one: it grows with a call's record
        #: (:meth:`Router.call_record_s`, session 57)
        self._default_deadline = deadline_s is DEFAULT_DEADLINE
        self.router.probe_writes = self._deadline_s is not None
        self.resolve = resolve
        self._timeout_s = timeout_s
        #: a monotonic time every call ends by besides its own deadline (None: none):
        #: a command of several calls that shares one bound (``vdynamo put
        #: --value-file``: the ``/status`` read for the value's limit, then the put;
        #: session 54, each had the whole ``--timeout`` before)
        self.ends_at: float | None = None
        self._max_answer_bytes = max_answer_bytes
        self._http = _made_from_environment(
            lambda: httpx.AsyncClient(timeout=timeout_s, headers=_IDENTITY))
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop of its first request
        #: the turns of :data:`IN_FLIGHT` requests: a request waiting for one is sent
        #: nothing yet, and its ``timeout_s`` has not started
        self._turns = asyncio.Semaphore(IN_FLIGHT)
        #: origin -> the turns of :data:`NODE_IN_FLIGHT` requests to that node, taken
        #: before one of :attr:`_turns` (session 33)
        self._node_turns: dict[str, asyncio.Semaphore] = {}
        #: made in a forked child: its connection pool is made anew at its first call
        #: (:meth:`forked`; not in the fork's handler, which also runs before a
        #: ``subprocess`` with ``preexec_fn`` execs)
        self._renew = False
        _CLIENTS.add(self)

    def forked(self) -> None:
        """Called in the child of a ``fork`` (:func:`_forked_clients`): as
        :meth:`Client.forked`, and the child's first request's event loop is the
        client's (the parent's loop does not run there): before session 60's red team
        a client the parent had used (``asyncio.run`` at import, then gunicorn's
        ``--preload`` fork) refused every call in the child ("used in another event
        loop"), and a child forked inside the running loop sent on the parent's
        connections."""
        self._renew = not self._http.is_closed  # (a closed client stays closed)
        self._loop = None
        self._turns = asyncio.Semaphore(IN_FLIGHT)
        self._node_turns = {}
        self.router.client_id = f"py-{secrets.token_hex(8)}"

    def _node_share(self, url: str) -> contextlib.AbstractAsyncContextManager[Any]:
        """The turns of ``url``'s node (:data:`NODE_IN_FLIGHT`, made at its first
        request), or none while one node is known (:meth:`Router.several`)."""
        if not self.router.several():
            return contextlib.nullcontext()
        parsed = httpx.URL(url)
        origin = f"{parsed.scheme}://{parsed.host}:{parsed.port}"
        return self._node_turns.setdefault(origin, asyncio.Semaphore(NODE_IN_FLIGHT))

    def _check_loop(self) -> None:
        """Raise LocalError, before anything is sent, when this client is used in
        another event loop than its first request's: its pooled connections belong to
        that loop. Before session 29's user probe a client made once and used from two
        ``asyncio.run`` calls in turn sent a put on a connection of the first, closed
        loop and raised httpx's bare ``RuntimeError: Event loop is closed`` though the
        value was stored (neither the library's OutcomeUnknownError nor a refusal);
        aiohttp and httpx likewise bind a client to one loop."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise LocalError(
                "AsyncClient: used in another event loop than its first request's (a "
                "second asyncio.run?): its connections belong to that loop; make one "
                "client per loop (async with vdynamo.connect_async(...) inside the "
                "coroutine asyncio.run runs); nothing was sent")

    def _until(self, started: float, value_bytes: int) -> float | None:
        """See :meth:`Client._until`."""
        deadline = self._deadline_s
        if deadline is not None and self._default_deadline:
            deadline += 2 * self.router.call_record_s(value_bytes)
        return _until(deadline, self.ends_at, started)

    async def _drive(self, plan: Plan, value_bytes: int = 0) -> Any:
        self._renewed()
        _check_open(self._http.is_closed)
        self._check_loop()
        started = time.monotonic()
        try:
            method, url, options = next(plan)
            while True:
                until = self._until(started, value_bytes)
                bound = self._timeout_s
                sending = _Sending()
                try:  # the whole answer within timeout_s (see Client._request), timed
                    # from its turn (IN_FLIGHT, after its node's: NODE_IN_FLIGHT): a
                    # wait in the client is no node's fault
                    async with self._node_share(url), self._turns:
                        bound = _bound(method, self._timeout_s, self._deadline_s, until,
                                       self.router.record_s(url))
                        async with asyncio.timeout(bound):
                            answer: httpx.Response | httpx.TransportError = (
                                await self._request(method, url, {
                                    **options, "extensions": {"trace": sending.trace},
                                    "timeout": _timeouts(bound, self._timeout_s)}))
                except TimeoutError:
                    answer = (httpx.ReadTimeout(f"no whole answer within {bound} s")
                              if sending.began else
                              httpx.ConnectTimeout(f"no connection within {bound} s: "
                                                   "nothing sent"))
                except httpx.TransportError as error:
                    answer = error
                method, url, options = plan.send(answer)
        except StopIteration as done:
            return done.value

    async def _request(self, method: str, url: str, options: dict[str, Any]) -> httpx.Response:
        """One request to one node, its answer read whole up to ``max_answer_bytes``
        (:class:`AnswerRefusedError` beyond, or for a Content-Encoding): before
        session 36 it was read whole whatever its size (httpx's ``request``)."""
        limit = self.router.answer_limit(self._max_answer_bytes)
        async with self._http.stream(method, url, **options) as response:
            _check_head(response, limit)
            raw: list[bytes] = []
            if response.is_stream_consumed:  # read already by its transport (a test's
                # httpx.MockTransport): whole, still bounded
                _take(raw, 0, response.content, limit, response.request)
            else:
                size = 0
                async for chunk in response.aiter_raw():
                    size = _take(raw, size, chunk, limit, response.request)
        return httpx.Response(response.status_code, headers=response.headers,
                              content=b"".join(raw), request=response.request,
                              extensions=response.extensions)

    def _renewed(self) -> None:
        """In a forked child (:meth:`forked`), before the first use: a pool of its own
        (the parent's is dropped unused)."""
        if self._renew:
            self._renew = False
            self._http = _made_from_environment(
                lambda: httpx.AsyncClient(timeout=self._timeout_s, headers=_IDENTITY))

    async def aclose(self) -> None:
        """Close the pooled connections. In another loop than its first request's
        (see :meth:`_check_loop`) they cannot be closed from here (httpx raised
        ``RuntimeError: Event loop is closed``): they are dropped, their sockets
        closed with that loop's transports."""
        self._renewed()
        if self._loop is not None and self._loop is not asyncio.get_running_loop():
            return
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def status(self, node: str | None = None) -> dict[str, Any]:
        """See :meth:`Client.status`."""
        result: dict[str, Any] = await self._drive(status_plan(self.router, node))
        return result

    async def get(self, key: bytes | str, *, r: int | str | None = None,
                  pr: int | str | None = None) -> Fetched:
        """See :meth:`Client.get`."""
        result: Fetched = await self._drive(get_plan(self.router, key, r, self.resolve, pr))
        return result

    async def put(self, key: bytes | str, value: bytes, *, context: str | None = None,
                  content_type: str = "application/octet-stream", w: int | str | None = None,
                  pw: int | str | None = None) -> str:
        """See :meth:`Client.put`."""
        result: str = await self._drive(
            put_plan(self.router, key, value, context, content_type, w, pw),
            _value_size(value))
        return result

    async def delete(self, key: bytes | str, *, context: str | None = None,
                     w: int | str | None = None, r: int | str | None = None,
                     missing_ok: bool = True, pw: int | str | None = None,
                     pr: int | str | None = None) -> str:
        """See :meth:`Client.delete`."""
        result: str = await self._drive(delete_plan(self.router, key, context, w, r,
                                                    missing_ok=missing_ok, pw=pw, pr=pr))
        return result
