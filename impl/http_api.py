"""The client API of a node: HTTP/1.1 (parsed by httptools), JSON answers, bounded and timed.

Theory of operation
-------------------
:class:`HttpApi` serves the connections of one node's HTTP port. Each connection
is admitted by a :class:`impl.connections.ConnectionSlots` (at most
``max_http_connections``; at the cap the oldest idle connection is closed, and
when every connection is busy the new one gets a 503 at once). A connection's
first request's headers must arrive within ``http_header_timeout_s`` of the
connect; a kept-alive connection waits ``http_idle_timeout_s`` for the next
request, whose headers then have ``http_header_timeout_s``; a body may pause at
most ``http_idle_timeout_s`` (and must then average ``http_min_body_rate``,
default :data:`MIN_BODY_BYTES_PER_S`), and so may a client's reading of an answer
(:meth:`HttpApi._drain`). A connection past a timeout is closed without an
answer, at once, its body's too (as nginx; :func:`_body_timeout`: a 408 from
session 24 to 27 left bytes case 21's detector counts as an open connection);
one whose client closes its sending side mid-request gets a 400 naming what was
missing (:meth:`_Parse.truncated`: a half-closed client still reads).

Parsing is httptools' (PyPI; llhttp, Node.js's parser, in C): it calls
:class:`_Parse`'s ``on_*`` methods as it reads, and they queue each complete
request (pipelined requests are answered in order) or, at the first problem, the
answer to give instead -- after which the connection closes with a lingering
close (:func:`_linger`). The limits are checked as the bytes arrive: 431 once a
request line and headers pass ``MAX_HEADER_BYTES``, 413 for a PUT from the
Content-Length before any of the body is read (or as a chunked body grows past
the limit); another method's body is read and dropped, up to
``max(max_value_bytes, DISCARDED_BODY_BYTES)`` (over it 413,
:attr:`_Parse.discard_limit`). An HTTP/1.1 request with ``Expect: 100-continue``
and a body gets ``100 Continue`` once its head is read and the earlier requests
are answered (or that 413 instead, and the client never sends the body); another
expectation, 417 (RFC 9110 10.1.1). A PUT of a value is admitted by the node's bytes in flight
(:mod:`impl.admission`) before its body is read, once its head is read and the
earlier requests are answered (:meth:`HttpApi._admit_body`, session 24): it
waits its turn with its connection not read, its bytes then reserved until it
starts (an ``Expect`` put is decided at once, a 503 instead of its 100); refused,
its 503 closes the connection (its body unread). A body that came whole in the
read of its head is admitted after it, as before. HTTP/1.1 and 1.0 are served;
a 1.0 request, or one saying ``Connection: close``, gets its answer with
``connection: close`` and the connection closes (as h11, which parsed here
before, did: h11 in pure Python was
10-14% of a coordinator's CPU, docs/benchmarks.md). llhttp refuses what h11
refused (a bad request line, header token or Content-Length) and also what h11
let through: an unknown method (a 405 under h11), bare LF line endings (an HTTP
version other than 1.x is 505, a higher 1.x minor version read as 1.1); a
Transfer-Encoding other than chunked alone is 400 (h11: 501), a coding before
chunked too (``gzip, chunked``, which llhttp de-chunks and passes on still
coded: :func:`_check_codings`). A request asking to switch protocols (CONNECT,
Upgrade) gets its answer and the connection closes (h11 kept it open), unless it
has a body: then the Upgrade is ignored and the request parsed again without it
(:func:`_head_without_upgrade`; httptools would take the body for the new
protocol). httptools has wheels for every platform CPython does; h11 is no
longer used (httpx, the client, still depends on it).

Requests (Riak KV's HTTP conventions; :mod:`impl.http_values`; the OpenAPI
document of :mod:`impl.openapi` describes them, served at ``/openapi.json``)::

    GET  /kv/<key>[?r=R][&pr=PR] -> 200 the raw value, its Content-Type; 300 multipart/mixed
                              siblings; 404 none; the context in X-Vdynamo-Context,
                              the key in Content-Location (/kv/<key>); an ETag
                              on a 200 or 300 (If-None-Match: 304; If-Match: 412)
                              (Accept: application/json: {"values": [base64...],
                              "content_types": [...], "context": base64,
                              "key": base64})
    PUT  /kv/<key>[?w=W][&pw=PW] -> 200 {"context": base64, "key": base64}
         body: the value, stored with its Content-Type; X-Vdynamo-Context: a get's
         context (no header: a new concurrent write; an empty one: 400); X-Vdynamo-Client and
         X-Vdynamo-Client-Counter (the client-vclock mode; in dvv the client's name
         places the pair a put's dot may take, spec.dvv.dot_actor)
    GET  /status, /health, /health/ready, /metrics (Prometheus), /openapi.json

    DELETE /kv/<key>[?w=W][&r=R][&pw=PW][&pr=PR]
         -> 200 {"context": base64, "key": base64}: a tombstone written
         like a put (X-Vdynamo-Context: a get's context, covering what it deletes;
         none: the node reads the key first, with R, and deletes what it read, as
         Riak does; nothing there: 404 with the read's context, nothing written);
         a later GET answers 404 with a context, and a PUT with that context
         supersedes it. A body is read and dropped (over the discard bound: 413)

    pr, pw: the primary quorums (0..N; default the cluster's, 0): how many of the
    R answers (W acknowledgements) must come from the key's top N themselves, not
    from a fallback (Riak's pr and pw; docs/runtime.md, "Primary quorums pr and pw
    (session 39)"); short of them: 503 naming the primaries reached (a put: 504,
    its outcome unknown; 503 not-written when refused before writing)

    r, w, pr, pw: a number, or one of Riak's names (:data:`QUORUM_NAMES`: one,
    quorum = N/2+1, all = N, default = the cluster's own setting; session 50)

Keys are the percent-decoded path bytes. Every error is mapped here, once
(:func:`http_status`), to a status and the body ``{"error": type, "message":
text, "outcome": "not-written" | "unknown"}``: ``not-written`` when the request
was refused before any replica wrote anything (a retry cannot duplicate the
write), ``unknown`` when a put did not reach its quorum in time but some replica
(the coordinator at least) may hold it (status 504: read before retrying, or
retry with the context of a fresh get so that the retry supersedes it). The
statuses: 400 a malformed request (a request line or header llhttp refuses, an
HTTP/1.1 request without Host, one of :data:`_SINGLE_HEADERS` (Host too) given twice, a
bad context, R/W out of range, a request cut by the client's half-close, a PUT
whose Content-MD5, Content-Digest, Repr-Digest or Digest is malformed or not its
body's: :func:`check_body_digests`), 404 no
such resource, 421 a request whose X-Vdynamo-Cluster names another cluster
(:meth:`HttpApi._misdirected`), 405 a method not served (no 408: a body that did not come in
time is closed without an answer, :func:`_body_timeout`), 411 a PUT with neither
Content-Length nor chunked (its body would be empty), 413 a value over
``max_value_bytes`` or a put that would grow its key's record over
``max_record_bytes``, 414 a key over ``max_key_bytes``, 415 a PUT's
Content-Encoding other than identity, 417 an ``Expect`` other than
``100-continue``, 431 headers over 64 KiB, 500 an exception of our own, 501 a
method llhttp does not know (named; :meth:`_Parse._unknown_method`) or a PUT or DELETE with a
conditional header that needs a modification date (If-Modified-Since,
If-Unmodified-Since, If-Range: RFC 9110 13; not evaluated, nothing written),
304 a GET whose If-None-Match names the state read, 412 a request whose If-Match
or If-None-Match is false (:mod:`impl.http_conditions`; a write's evaluated on a
read of the key first, nothing written),
503 (with Retry-After) the node is saturated (``max_pending_requests``, or
``max_pending_bytes`` after the request waited its turn, :mod:`impl.admission`), is
shutting down or has not joined the ring yet, or a get's quorum was not
reached, 504 the outcome is unknown.
docs/runtime.md lists them for operators.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import email.utils
import hashlib
import hmac
import http
import ipaddress
import json
import logging
import re
import secrets
import time
import urllib.parse
import weakref
from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, NamedTuple

import httptools

from impl import errors, openapi
from impl.config import DEFAULT_MIN_BODY_RATE, KEY_BYTES_CEILING
from impl.connections import ConnectionSlots, acked_bytes, reset, unsent_bytes
from impl.context import context_bytes_bound, decode_context
from impl.effects import GetResult, PutResult
from impl.errors import InvalidValueError
from impl.http_conditions import Preconditions, entity_tags, failure_body
from impl.http_values import (
    QUORUM_NAMES,
    accept_ranges,
    body_digests,
    check_body_digests,
    json_values,
    last_modified,
    location_header,
    multipart,
    open_value,
    seal_value,
    wants_json,
)
from impl.internal_errors import out_of_memory, report_internal_error
from impl.messages import MAX_ID, MAX_NAME, GetRequest, PutRequest, delete_request
from impl.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from impl.node import STORE_RENEWED_META
from impl.records import ClockMode
from impl.versions import SHARED_CLIENT_ID

if TYPE_CHECKING:
    from impl.runtime import NodeServer

__all__ = [
    "ADMIN_FORCE_REMOVE",
    "ADMIN_RENEWAL_PASSED_META",
    "ADMIN_TOKEN_WINDOW_S",
    "MAX_HEADER_BYTES",
    "MIN_BODY_BYTES_PER_S",
    "QUORUM_NAMES",
    "HttpApi",
    "admin_authorization",
    "admin_token",
    "anonymous_prefix",
    "cluster_hmac",
    "cluster_id",
    "context_allowance",
    "error_body",
    "http_status",
]

log = logging.getLogger("vdynamo.http")

#: the request line and headers of one request, at most (431 above)
MAX_HEADER_BYTES = 64 * 1024
#: the most bytes of a chunked body read without the parser moving on: a chunk-size
#: line with its extensions, or a trailer field (those also count against
#: MAX_HEADER_BYTES); over it 400 (RFC 9112 7.1.1)
MAX_CHUNK_LINE_BYTES = 64 * 1024
#: bytes read are parsed in slices of this many (:meth:`_Parse.feed`): a chunk-size
#: line passes MAX_CHUNK_LINE_BYTES by at most this much before its 400
_BODY_SLICE = 8192
#: a chunked body's framing (chunk-size lines with their extensions, the CRLFs after
#: the data, trailer fields: the bytes that are not data) may be this many bytes in
#: all, plus :data:`CHUNK_FRAMING_PER_CHUNK` a chunk and twice the data it carries;
#: over it 400 (RFC 9112 7.1.1: "A server ought to limit the total length of chunk
#: extensions received in a request"; Go's net/http allows 16 KiB, 16 bytes a chunk
#: and twice the data, ``chunkedReader``'s "too much non-data", CVE-2023-39326). The
#: slack is larger here: extensions of up to MAX_CHUNK_LINE_BYTES a line are read and
#: ignored (session 18). Session 39's user probe: chunks of one byte each behind a
#: 60,000-byte extension (every line under MAX_CHUNK_LINE_BYTES, the parser moving
#: on at each) were read for good: 1.8 GB in 20 s for 29,970 bytes of value, 7.8 s
#: of the node's CPU, never refused (a GET's discarded body alike)
CHUNK_FRAMING_SLACK = 1 << 20
CHUNK_FRAMING_PER_CHUNK = 16
#: a method (RFC 9110 9.1: a token, 5.6.2) of at most _METHOD_BYTES bytes, and the
#: methods served (:meth:`_Parse._unknown_method`)
_METHOD = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_METHOD_BYTES = 64
_KNOWN_METHODS = frozenset({b"GET", b"HEAD", b"PUT", b"DELETE", b"OPTIONS", b"POST"})
_SERVED_METHODS = "GET, HEAD, PUT and DELETE on /kv/{key}, OPTIONS *"
#: the size of a chunk, the hex digits that begin its size line (RFC 9112 7.1)
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]+")
#: the last bytes of a head kept to tell an HTTP/0.9 request line (:meth:`_Parse._http09_line`)
_TAIL_BYTES = 512
#: the slowest a request body may arrive on average, after its first
#: ``http_idle_timeout_s``, unless the cluster file sets ``http_min_body_rate``
#: (this is its default, :data:`impl.config.DEFAULT_MIN_BODY_RATE`; 0 turns the
#: bound off) (Apache's mod_reqtimeout, ``RequestReadTimeout
#: body=20,MinRate=500``): a body's deadline is ``http_idle_timeout_s`` after it
#: begins, moved on by one second per this many bytes received. Before session 14's
#: probe B only the pause between two reads was bounded, so a body trickled a byte
#: every few seconds (the "slow POST" attack) held its connection and buffer for
#: days: a PUT of Content-Length 1000 sent at 0.5 B/s was still open after 40 s
#: with ``http_idle_timeout_s = 3``. A constant before session 14's review: a
#: client whose link gave 250 B/s had every body closed 60 s in (at 15 KB) with
#: the default 30 s timeout, and no setting let it through
MIN_BODY_BYTES_PER_S = DEFAULT_MIN_BODY_RATE
#: connections refused at the cap logged per window of _REFUSAL_WINDOW_S seconds
#: (the rest summed up in one line; each counted in ``http_refused``)
_REFUSALS_LOGGED = 10
_REFUSAL_WINDOW_S = 10.0
#: seconds a refused request's unread body is drained before the connection
#: closes, so that the client reads the answer instead of a reset
_LINGER_S = 1.0
#: a connection refused at the cap lingers this long (:meth:`HttpApi._refuse`), while
#: fewer than _REFUSED_LINGERING do (the rest are closed at once: a flood of
#: connects holds at most that many descriptors over max_http_connections)
_REFUSED_LINGER_S = 0.25
_REFUSED_LINGERING = 64
#: seconds a connection kept alive after an answer is not evicted at the cap
#: (:meth:`impl.connections.ConnectionSlots.kept`; at most ``http_idle_timeout_s``):
#: its client's pool may be sending the next request on it. A connection that never
#: sent a whole request (a flood's) stays evictable at once. Session 61's red team
#: (probe 08r): evicted at once, 496 of 1,100 requests of one httpx pool over a cap
#: of 32 were closed unanswered; 1 s covers a loaded client's turn between requests
KEPT_ALIVE_S = 1.0
#: an answer longer than this is written in pieces of this size (copies), so that
#: what the node holds of an answer its client does not read is the rest the kernel
#: did not take: uvloop keeps a reference to the whole object it was given while
#: any of it is unsent (asyncio copies the unsent tail), and until session 27's user
#: probe a GET of a 3 MB record answered to a client that read nothing held 3.2 MB
#: of the node (:meth:`HttpApi._send`)
_ANSWER_PIECE = 256 * 1024
#: a connection holding more than this of answers unsent (its transport's buffer
#: and its socket's send queue) is checked for its client's progress at each drain
#: (:meth:`HttpApi._stalled`; session 57): a few answers a client has not taken yet
STALL_CHECK_BYTES = 64 * 1024
#: the largest body a request that is not a PUT of a value (a GET, a DELETE, a
#: POST to /admin/force-remove, a PUT to /status, ...) may carry when
#: ``max_value_bytes`` is below it: such a body has no meaning here (RFC 9110
#: 9.3.1, 9.3.5) and is read and dropped, up to the larger of this and
#: ``max_value_bytes``; over it 413, as nginx's ``client_max_body_size`` (1 MiB by
#: default) bounds every request's body (:meth:`_Parse.discard_limit`)
DISCARDED_BODY_BYTES = 1 << 20

_STATUS: dict[type[errors.DynamoError], int] = {
    errors.TooLargeError: 413,
    errors.BadRequestError: 400,
    errors.OverloadedError: 503,
    errors.QuorumError: 503,
    errors.NodeDownError: 503,
    errors.RequestTimeoutError: 504,
}

#: every status line we send, by status
_STATUS_LINE = {status.value: f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode()
                for status in http.HTTPStatus}


def http_status(error: errors.DynamoError) -> int:
    """The HTTP status of an error (the one place errors meet HTTP)."""
    for kind, status in _STATUS.items():
        if isinstance(error, kind):
            return status
    return 500


#: the limits a TooLargeError (413) may name: its body's ``limit`` is the one its
#: message names first (session 53; by place in the message since its review: a
#: message naming two, as a put that fewer than W homes could store, names the one
#: passed first)
LIMIT_NAMES = ("max_siblings", "max_record_bytes", "max_value_bytes", "max_key_bytes")


def error_body(error: errors.DynamoError, *, unknown: bool = False) -> dict[str, str]:
    """The JSON body of an error; ``unknown``: a replica may hold the write. A 413
    (:class:`errors.TooLargeError`) adds ``limit``, the setting its message names
    (:data:`LIMIT_NAMES`; read from the message, which crosses a forward whole
    where an attribute would not: ``impl.errors.error_of``), when it names one."""
    body = {"error": type(error).__name__, "message": str(error),
            "outcome": "unknown" if unknown else "not-written"}
    if isinstance(error, errors.TooLargeError):
        named = [(at, name) for name in LIMIT_NAMES
                 if (at := body["message"].find(name)) >= 0]
        if named:
            body["limit"] = min(named)[1]
    return body


#: (status, a JSON payload or raw bytes (then a content-type among the headers), headers)
_Answer = tuple[int, dict[str, Any] | bytes, list[tuple[str, str]]]


class _Closed(Exception):
    """The client went away or a timeout expired: close without an answer."""


class _Request:
    """One request as parsed: method and target as sent, the headers by lowercased
    name (a repeated header: its last value), the body; ``close``: the connection
    closes after the answer; ``problem``: the answer to give instead (then the
    connection closes, lingering); ``reserved``: the bytes its put was admitted by
    before its body was read, counted in flight until it starts or is answered
    (:meth:`HttpApi._admit_body`); ``lapsed``: its body came after the hold of
    that reservation (:meth:`HttpApi._held_long`), so it is admitted again, whole;
    ``routed``: ``problem`` is the route's refusal of its head (:meth:`HttpApi._head_refusal`),
    not a malformed request."""

    __slots__ = ("body", "close", "headers", "lapsed", "method", "problem", "reserved",
                 "routed", "target")

    def __init__(self, method: bytes, target: bytes, headers: dict[bytes, bytes],
                 body: bytes = b"", *, close: bool = True,
                 problem: _Answer | None = None, reserved: int = 0,
                 lapsed: bool = False, routed: bool = False) -> None:
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.close = close
        self.problem = problem
        self.reserved = reserved
        self.lapsed = lapsed
        self.routed = routed


class _Removal(NamedTuple):
    """An authorized ``POST /admin/force-remove`` of ``node``, which the route performs
    and answers once durable (:meth:`HttpApi._remove`)."""

    node: str
    stamp: int  # its admin token's (HttpApi._remove)


def _again_in(wait: float) -> str:
    """When a refused request can be made again: ``wait`` seconds from now (none or
    less: now), as its refusal says it."""
    return f"again in {wait:.0f} s" if wait >= 0.5 else "now"


class _Prepared(NamedTuple):
    """A request checked and ready to run (:meth:`HttpApi._prepare`): its key, query
    parameters, a GET's Accept ranges, the message, and its If-Match and
    If-None-Match (:mod:`impl.http_conditions`; None without either)."""

    key: bytes
    query: dict[str, list[str]]
    accept: list[tuple[bytes, bytes, float]] | None
    message: GetRequest | PutRequest
    conditions: Preconditions | None


#: what a problem found before the request line was read is counted as
_NO_REQUEST = (b"GET", b"/")


class _Refusal(Exception):
    """Raised by a :class:`_Parse` callback: stop parsing, answer ``problem``."""

    def __init__(self, problem: _Answer, request: tuple[bytes, bytes] = _NO_REQUEST) -> None:
        super().__init__(problem[0])
        self.problem = problem
        self.request = request


def _malformed(text: str, status: int = 400) -> _Answer:
    return status, error_body(errors.BadRequestError(f"malformed HTTP request: {text}")), []


def _unserved_version(version: str, *, preface: bool = False) -> _Answer:
    """The answer to a request of HTTP ``version`` (``major.minor`` as llhttp read
    it; ``0.0`` or ``0.9``: a request line without a version), which is not 1.1 or
    1.0: 505 for another major version (RFC 9110 15.6.6), the HTTP/2 connection
    preface (``preface``: ``PRI * HTTP/2.0``, RFC 9113 3.4) and HTTP/0.9 among
    them (an HTTP/1 minor version above 1 is read as 1.1: :meth:`_Parse.version`,
    RFC 9110 2.5; a 400 until session 23). Each names what was sent; before
    session 21's service probe the preface got llhttp's "Pause on PRI/Upgrade",
    3.0 and 1.2 "Invalid HTTP version"."""
    served = "HTTP/1.1 and 1.0 are served"
    if preface:
        return _malformed("request line: an HTTP/2 connection preface (PRI * HTTP/2.0, "
                          f"prior knowledge): HTTP/2 is not served on this port; {served}",
                          505)
    if version in ("0.0", "0.9"):
        return _malformed("request line: no HTTP version after the request target "
                          f"(HTTP/0.9): {served}", 505)
    if version.startswith("1."):
        return _malformed(f"request line: HTTP/{version} is not read here; {served}")
    return _malformed(f"request line: HTTP/{version} is not served; {served}", 505)


#: headers a request may carry once: a second one used to replace the first
#: silently (two X-Vdynamo-Context headers: the put covered only the last
#: context, and the sibling the client meant to resolve stayed; session 12's
#: probe), as a repeated query parameter would (:func:`_check_parameters`); and
#: Host, which RFC 9112 3.2 says a server MUST refuse with 400 when repeated (two
#: were served: session 12's second probe)
#: a Host field value: uri-host [":" port] (RFC 9110 7.2, RFC 3986 3.2.2: an
#: IP-literal in brackets, or a reg-name / IPv4 address of unreserved,
#: percent-encoded and sub-delims characters; empty is allowed; an RFC 6874 zone id
#: in an IPv6 literal, [fe80::1%25eth0], too)
_HOST = re.compile(rb"(\[[0-9A-Za-z:._~!$&'()*+,;=%-]+\]|(?:[0-9A-Za-z._~!$&'()*+,;=-]"
                   rb"|%[0-9A-Fa-f]{2})*)(?::([0-9]*))?")
#: an RFC 3986 IPvFuture literal (inside the brackets)
_IP_FUTURE = re.compile(rb"[vV][0-9A-Fa-f]+\.[0-9A-Za-z._~!$&'()*+,;=:-]+")


def _valid_host(value: bytes) -> bool:
    """Whether ``value`` is ``uri-host [":" port]`` (RFC 9110 7.2, RFC 3986 3.2.2,
    3.2.3): a reg-name whose ``%`` escapes are two hex digits, an IPv4 address, or
    an IP-literal in brackets that is an IPv6 address (an RFC 6874 zone id
    ``%25...`` allowed) or an IPvFuture; a port of at most 5 digits, at most 65535.
    Before session 18's service probe only the characters were checked: ``Host:
    %zz``, a bracketed ``[zz]``, and a port of 20 digits or of 99999 were served,
    and so was an absolute-form target with such an authority (RFC 9112 3.2.2:
    its authority stands in for Host)."""
    found = _HOST.fullmatch(value)
    if found is None:
        return False
    host, port = found.group(1), found.group(2)
    if port and (len(port) > 5 or int(port) > 65535):
        return False
    if not host.startswith(b"["):
        return True
    inner = host[1:-1]
    if _IP_FUTURE.fullmatch(inner):
        return True
    address, zone = inner, b""
    if b"%" in inner:
        address, _, zone = inner.partition(b"%")
        if not zone.startswith(b"25") or len(zone) == 2 or not re.fullmatch(
                rb"25(?:[0-9A-Za-z._~-]|%[0-9A-Fa-f]{2})+", zone):
            return False
    try:
        ipaddress.IPv6Address(address.decode("ascii"))
    except ValueError:
        return False
    return True

_SINGLE_HEADERS = frozenset({b"x-vdynamo-context", b"x-vdynamo-client",
                             b"x-vdynamo-client-counter", b"content-type", b"host"})


class _Parse:
    """httptools' callbacks for one connection: they fill ``ready`` with the requests
    parsed, in order, and at the first problem with a request carrying the answer to
    give instead (``dead``: nothing after it is parsed)."""

    __slots__ = ("_previous", "_repeated", "_tail", "admission_due", "admits", "body",
                 "chunk_begun", "chunk_data", "chunks", "context_b64", "continue_due",
                 "counted", "dead", "framing", "gone", "head_bytes", "head_read", "headers",
                 "hold", "in_body", "in_chunk", "in_head", "keeps", "limit", "moved", "parser",
                 "ready", "received", "reserved", "size", "stalled", "url", "url_allowance")

    def __init__(self, limit: int, context_bytes: int = 1 << 16, key_bytes: int = 1024,
                 *, admits: bool = False) -> None:
        self.limit = limit  # max_value_bytes
        #: a put's value is admitted by the node before it is read (the HTTP API's
        #: connections; :meth:`HttpApi._admit_body`): ``admission_due`` is set
        self.admits = admits
        #: the bytes a put whose head is in must be admitted by before its body is
        #: read, or before its ``100 Continue`` (None: nothing to admit), and the
        #: bytes reserved for the request under way once admitted (handed to its
        #: :class:`_Request` when complete)
        self.admission_due: int | None = None
        self.reserved = 0
        #: the timer that ends the reservation's hold, and whether it ended: the
        #: reservation then counts the body's bytes received (HttpApi._settle)
        self.hold: asyncio.TimerHandle | None = None
        self.counted = False
        #: set once a reservation past its hold is made to give way
        #: (HttpApi._give_way): wakes the read its connection waits on
        self.gone: asyncio.Future[None] | None = None
        #: the bytes of a request target not counted against MAX_HEADER_BYTES: a key
        #: of ``key_bytes`` (max_key_bytes), every byte percent-encoded, and room for
        #: the path and the query. Before session 13's probe B the whole target
        #: counted, so with max_key_bytes = 100000 a 60,000-byte key was stored but a
        #: 70,000-byte one (or a 25,000-byte UTF-8 one) got 431, and a key over the
        #: limit 431 rather than its 414
        self.url_allowance = 3 * key_bytes + 1024
        #: the base64 length of the largest context (``context_bytes``): an
        #: X-Vdynamo-Context header's value counts only beyond it, so that every
        #: context the cluster issues can be sent back (:func:`context_allowance`)
        self.context_b64 = context_allowance(context_bytes)
        self.ready: deque[_Request] = deque()
        self.parser = _parser(self)
        self.in_head = self.in_body = self.dead = False
        #: a request's head asked ``Expect: 100-continue`` and its body has not begun:
        #: the connection owes it a ``100 Continue`` (:meth:`HttpApi._read_request`)
        self.continue_due = False
        self.url = b""
        #: the last bytes fed of the head under way (:meth:`_http09_line`)
        self._tail = b""
        self.headers: dict[bytes, bytes] = {}
        #: the lines of each field repeated in the head under way, the first one
        #: included, joined into ``headers`` when the head is in
        self._repeated: dict[bytes, list[bytes]] = {}
        #: the value's bytes so far, one buffer: a list of the pieces httptools
        #: gives held a bytes object per chunk (a 1 MiB value sent in 2-byte chunks
        #: took 28 MB of the node's memory until session 19's service probe)
        self.body = bytearray()
        #: the head's bytes as parsed (exact, up to MAX_HEADER_BYTES), and the bytes
        #: read while a head was incomplete (coarse: a header still being sent is
        #: buffered by httptools before any callback sees it)
        self.size = self.head_bytes = self.head_read = 0
        #: body bytes of the current request received, whatever its method
        self.received = 0
        #: the current request's chunks begun, and the bytes of its body's slices that
        #: were no body bytes (its chunked framing; :data:`CHUNK_FRAMING_SLACK`)
        self.chunks = self.framing = 0
        #: the current request's body is a value (:meth:`_keeps_body`)
        self.keeps = False
        #: bytes of a body read since the parser last moved on (a chunk begun or
        #: ended, body bytes, a trailer field), and whether it moved in this feed:
        #: bounds a chunk-size line's extensions (:data:`MAX_CHUNK_LINE_BYTES`)
        self.stalled = 0
        self.moved = False
        #: a chunk began in the slice being fed and is not complete, and the bytes
        #: of its data in that slice: the chunk-size line ends that many bytes
        #: before the slice's end (:meth:`_chunk_over`)
        self.chunk_begun = False
        self.chunk_data = 0
        #: between a chunk's size line and its end: in its data, or, for the last
        #: chunk (size 0), in the trailer section (llhttp ends that chunk after it)
        self.in_chunk = False
        #: the slice fed before (a chunk-size line may begin in it)
        self._previous = b""

    def feed(self, data: bytes) -> None:
        """Parse ``data``, the next bytes read (never b"": the caller stops at the
        close, and a request body is never read until the close), in slices of
        :data:`_BODY_SLICE` bytes: the chunk-extension bound counts the
        bytes of the slices in which the parser did not move on (httptools gives
        no offset), so a slice's worth of a chunk-size line may go uncounted. Fed
        whole until session 18's review, the bytes of a read (up to 64 KiB) in
        which a chunk began went uncounted: a 100 KiB extension was served."""
        at = 0
        while at < len(data) and not self.dead:
            end = min(len(data), at + _BODY_SLICE)
            again = self._feed(data, at, end)
            if again is not None:  # an Upgrade ignored: its request is parsed again,
                # then the rest of the read. In a loop: a recursive call per Upgrade
                # (before session 22's service probe) made 700 pipelined such
                # requests in one 56 KB read a RecursionError that dropped the
                # connection without an answer to any of them
                data, at = again, 0
                continue
            at = end

    def _feed(self, whole: bytes, start: int, end: int) -> bytes | None:
        """Parse ``whole[start:end]`` (the rest of ``whole`` not yet fed); the bytes
        to parse instead of the rest of ``whole`` (an Upgrade ignored: the request's
        head again without it, then the rest), else None."""
        data = whole[start:end] if start or end < len(whole) else whole
        parsed = len(self.ready)  # the requests queued before this slice
        self.moved = self.chunk_begun = False
        self.chunk_data = 0
        previous, self._previous = self._previous, data
        in_body, received = self.in_body, self.received
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as error:
            refusal = error.__context__
            if not isinstance(refusal, _Refusal):
                raise
            self._stop(_Request(*refusal.request, {}, problem=refusal.problem))
        except httptools.HttpParserUpgrade as upgrade:
            request = self.ready[-1] if self.ready else None
            if request is not None and request.method != b"CONNECT" and (
                    _announces_body(request.headers)):
                # An Upgrade (curl --http2: "Upgrade: h2c") on a request with a body:
                # httptools skips the body as the new protocol's bytes, so the PUT was
                # queued with an empty value, stored b"" and answered 200 (session
                # 14's probe B). We ignore the Upgrade (RFC 9110 7.8: a server MAY),
                # as RFC 9113 3.2 and RFC 7540 3.2 say the body is the HTTP/1.1
                # request's: parse the request again without it, then what follows
                self.ready.pop()
                head = _head_without_upgrade(request, self.version())
                self.parser = _parser(self)
                return head + whole[start + upgrade.args[0]:]
            # CONNECT, or an Upgrade without a body: its request is queued; we switch
            # to nothing, and what follows is not HTTP: answer it, then close
            self.dead = True
            if request is not None:
                request.close = True
        except httptools.HttpParserError as error:
            text = str(error)
            if text.startswith(("Invalid HTTP version", "Pause on PRI/Upgrade")):
                self._stop(_Request(*_NO_REQUEST, {}, problem=_unserved_version(
                    self.parser.get_http_version(), preface=text.startswith("Pause"))))
                return None
            if text == "Invalid method encountered" and (
                    unknown := self._unknown_method(data, parsed)) is not None:
                self._stop(_Request(*_NO_REQUEST, {}, problem=unknown))
                return None
            lowered = text.lower()
            part = "header" if any(  # llhttp checks these headers once they are all in
                word in lowered for word in ("header", "content-length", "transfer-encoding")
            ) else "body" if self.in_body else "request line"
            self._stop(_Request(*_NO_REQUEST, {}, problem=_malformed(f"{part}: {text}")))
        else:
            if self.chunk_begun and (refusal := self._chunk_over(previous, data)):
                self._stop(_Request(*refusal.request, {}, problem=refusal.problem))
                return None
            if in_body and self.in_body and len(self.ready) == parsed and (
                    self._over_framing(len(data) - (self.received - received))):
                self._stop(_Request(*_NO_REQUEST, {}, problem=_malformed(
                    f"body: its chunked framing (chunk-size lines with their chunk "
                    f"extensions, trailer fields) is {self.framing} bytes for "
                    f"{self.received} bytes of data in {self.chunks} chunks, over "
                    f"{CHUNK_FRAMING_SLACK} bytes, {CHUNK_FRAMING_PER_CHUNK} a chunk and "
                    "twice the data (RFC 9112 7.1.1; chunk extensions and trailer fields "
                    "are discarded here: send the body without them)")))
                return None
            if self.in_body:
                self.stalled = 0 if self.moved else self.stalled + len(data)
                if self.stalled > MAX_CHUNK_LINE_BYTES:
                    # RFC 9112 7.1.1: a server ought to limit the chunk extensions it
                    # receives and answer a 4xx. Before session 18's service probe
                    # a chunk-size line whose extension never ended was read for
                    # good: 758 MB in 8 s on one connection, no answer, the parser
                    # busy and the connection held (its bytes met the body rate);
                    # Node.js CVE-2024-22019, Go's CVE-2023-39326
                    self._stop(_Request(*_NO_REQUEST, {}, problem=_malformed(
                        self._stalled_line())))
                    return None
            if self.in_head and self._http09_line(data):
                self._stop(_Request(*_NO_REQUEST, {}, problem=_unserved_version("0.9")))
                return None
            if self.in_head:  # a header still incomplete (counted when complete)
                self.head_read += len(data)
                if self.head_read > (2 * MAX_HEADER_BYTES + self.context_b64
                                     + self.url_allowance):
                    self._stop(_Request(*_NO_REQUEST, {}, problem=_headers_too_large()))
        return None

    def _over_framing(self, framing: int) -> bool:
        """Count ``framing`` more bytes of the body under way that were not its data
        (a slice of it, fed whole inside the body: one that begins or ends the body
        is not counted, at most two slices a request; nor one in which a request
        ended and the next one's body began, pipelined: session 39's review, its
        bytes were the whole earlier body's, ``received`` having restarted at 0, so
        a PUT of 2 MiB and a 100-byte one behind it got 400 "chunked framing" though
        neither was chunked); whether the framing is now over what its data allows
        (:data:`CHUNK_FRAMING_SLACK`)."""
        self.framing += framing
        return self.framing > (CHUNK_FRAMING_SLACK + CHUNK_FRAMING_PER_CHUNK * self.chunks
                               + 2 * self.received)

    def _stalled_line(self) -> str:
        """What a body's line over :data:`MAX_CHUNK_LINE_BYTES` is: a chunk-size line
        (its extensions), or, once the last chunk's size line is in (a chunk under
        way that no data moves), a field of the trailer section. Before session 35's
        service probe a trailer field of 64 KiB was named a chunk-size line too."""
        if self.in_chunk:
            return (f"body: a trailer field (after the last chunk) over "
                    f"{MAX_CHUNK_LINE_BYTES} bytes (RFC 9112 7.1.2; trailer fields "
                    "are discarded here)")
        return (f"body: a chunk-size line (its chunk extensions) over "
                f"{MAX_CHUNK_LINE_BYTES} bytes (RFC 9112 7.1.1)")

    def _unknown_method(self, data: bytes, parsed: int) -> _Answer | None:
        """The answer to a request line whose method llhttp does not know, naming
        the method, when the request began in ``data`` (the slice fed; ``parsed``:
        the requests queued before it, none since) and its method is in it: 501
        for a method token (RFC 9110 15.6.2: a method the server does not
        recognize; a lower-case ``get`` is such a method, methods being
        case-sensitive, 9.1), 400 for bytes that are no method. None when the
        method cannot be told from ``data`` (llhttp's own message then). Before
        session 23 every one was 400 "request line: Invalid method encountered",
        naming neither the method nor the way out."""
        if len(self.ready) != parsed or self._tail:
            return None  # the request began after another, or in an earlier slice
        line = data.lstrip(b"\r\n")
        method, space, _ = line[:_METHOD_BYTES + 1].partition(b" ")
        shown = "'" + method[:40].decode("latin-1").encode("unicode_escape").decode() + (
            "...'" if len(method) > 40 else "'")
        if not space or not _METHOD.fullmatch(method):
            if space or len(line) > _METHOD_BYTES:
                return _malformed(f"request line: {shown} is not a method (RFC 9110 9.1: "
                                  f"a token, then a space); served: {_SERVED_METHODS}")
            return None
        upper = method.upper()
        hint = (f" (methods are case-sensitive, RFC 9110 9.1: {upper.decode()}?)"
                if upper in _KNOWN_METHODS else "")
        return 501, error_body(errors.BadRequestError(
            f"method {shown} is not served here{hint}; served: {_SERVED_METHODS}")), []

    def _http09_line(self, data: bytes) -> bool:
        """Whether the head under way is an HTTP/0.9 request line (``GET /path`` and
        CRLF, no version, RFC 9112 Appendix C.1) that ended with ``data``: llhttp
        reads such a line and waits for header fields, which a 0.9 client never
        sends; the node waited for them until ``http_header_timeout_s`` and closed
        without an answer until session 21's service probe. ``_tail``: the last
        bytes fed (up to :data:`_TAIL_BYTES`), the line's end when it was split over
        reads: a line held whole in it is a 0.9 request line when it is exactly the
        method, a space and the target (a field line has a colon; llhttp keeps the
        previous request's version until it reads one, so a 0.9 line pipelined
        behind a 1.1 request is told by its text); a longer one when no version was
        read and it ends with the target."""
        self._tail = (self._tail + data)[-_TAIL_BYTES:]
        if self.headers or not self.url or not self._tail.endswith(b"\n"):
            return False
        line = self._tail[:-1].rstrip(b"\r")
        begun = line.rfind(b"\n")
        if begun >= 0 or len(self._tail) < _TAIL_BYTES:  # the whole line is here
            return line[begun + 1:] == self.parser.get_method() + b" " + self.url
        if self.parser.get_http_version() not in ("0.0", "0.9"):
            return False  # a version was read: an HTTP/1 head waiting for its fields
        return line.endswith(self.url[-64:])

    def truncated(self) -> None:
        """The client closed its side (EOF) in the middle of a request: queue a 400
        naming what was missing. A client that half-closes after sending part of a
        request (a Content-Length over the body it sent, headers without their
        blank line) still reads, and used to get no answer at all: the
        connection closed as if between requests (session 12's probe)."""
        if self.in_body:
            length = self.headers.get(b"content-length")
            if length is not None:
                what = (f"body: the client closed the connection after {self.received} of "
                        f"the {int(length.lstrip(b'0') or b'0')} bytes its Content-Length "
                        "announced")
            else:
                what = "body: the client closed the connection before the last chunk"
        else:
            what = ("headers: the client closed the connection before the blank line "
                    "that ends them")
        self._stop(_Request(*_NO_REQUEST, {}, problem=_malformed(what)))

    def _stop(self, request: _Request) -> None:
        self.dead = True
        self.in_head = self.in_body = False
        self.ready.append(request)

    def _count(self, size: int) -> None:
        self.head_bytes += size
        if self.head_bytes > MAX_HEADER_BYTES:
            raise _Refusal(_headers_too_large())

    # ------------------------------------------------------------- httptools' callbacks

    def on_message_begin(self) -> None:
        self.in_head = True
        self.url = b""
        self._tail = b""
        self.headers = {}
        self._repeated = {}
        self.body = bytearray()
        self.size = self.head_bytes = self.head_read = self.received = 0
        self.chunks = self.framing = 0
        self.keeps = False
        self.admission_due = None

    def on_url(self, url: bytes) -> None:
        before = len(self.url)
        self.url += url
        allowance = self.url_allowance  # only what is beyond it counts
        excess = max(0, len(self.url) - allowance) - max(0, before - allowance)
        if self.head_bytes + excess > MAX_HEADER_BYTES:
            # RFC 9112 3: a server that receives a request-target longer than any
            # URI it wishes to parse MUST answer 414; it was 431 "headers over
            # 65536 bytes" (a 200 KB target) until session 18's service probe
            raise _Refusal(_malformed(
                f"request target over {allowance + MAX_HEADER_BYTES} bytes", 414))
        self._count(excess)

    def version(self) -> str:
        """The HTTP version of the request under way, ``major.minor`` as llhttp read
        it, but ``1.1`` for an HTTP/1 minor version above 1 (RFC 9110 2.5: a
        recipient reads a message of a higher minor version as the highest it
        serves: ``HTTP/1.2`` is an HTTP/1.1 request; 400 "HTTP/1.2 is not read
        here" until session 23, llhttp refusing it, :func:`_parser`)."""
        version = self.parser.get_http_version()
        return "1.1" if version.startswith("1.") and version != "1.0" else version

    def on_header(self, name: bytes, value: bytes) -> None:
        self.moved = True
        if not self.in_body and not self.headers and self.version() not in ("1.1", "1.0"):
            # another major version (lenient llhttp reads any digit): answered at
            # its first field line, as llhttp's refusal came at the request line
            raise _Refusal(_unserved_version(self.version()))
        if self.in_body:  # a trailer field of a chunked body: discarded (RFC 9110
            # 6.5.1: not merged into the header section). Before session 13's probe B
            # a trailer X-Vdynamo-Context became the put's context, and a trailer
            # Content-Type the value's, or a 400 "given twice"; counted all the same
            self._count(len(name) + len(value) + 4)
            return
        lowered = name.lower()
        size = len(value)
        if lowered == b"x-vdynamo-context":  # its own allowance (context_allowance)
            size = max(0, size - self.context_b64)
        self._count(len(name) + size + 4)
        value = value.strip(b" \t")
        if lowered in _SINGLE_HEADERS and lowered in self.headers:
            raise _Refusal(_malformed(
                f"header: {name.decode('latin-1')} given twice: give it once"))
        if lowered in self.headers:
            # a repeated field is one list (RFC 9110 5.3: a sender repeats only a
            # list-based field, and its lines combine comma-separated in order).
            # Transfer-Encoding: llhttp takes the last as the codings, and
            # _check_codings checks them all. Any other field took its last line
            # until session 18's service probe: Content-Encoding gzip then identity
            # stored the gzip bytes as the value, Expect foo then 100-continue was
            # served, Accept application/json then text/plain;q=0.1 answered raw.
            # The lines are kept and joined once the head is in (:meth:`_joined`):
            # joined at each line until session 23, 10,000 lines `a: b` (60 KB)
            # copied the growing value each time, 14 ms of the node's CPU
            repeated = self._repeated.get(lowered)
            if repeated is None:  # a list per field, not per line (nor a collection)
                self._repeated[lowered] = [self.headers[lowered], value]
            else:
                repeated.append(value)
            return
        self.headers[lowered] = value

    def _join_repeated(self) -> None:
        """Join each repeated field's lines (:meth:`on_header`) into its value, in
        order, comma-separated (RFC 9110 5.3): once per head, linear in its size."""
        for name, values in self._repeated.items():
            self.headers[name] = b", ".join(values)
        self._repeated = {}

    def on_headers_complete(self) -> None:
        self._join_repeated()
        self.in_head = False
        self.in_body = self.moved = True
        version = self.version()
        if version not in ("1.1", "1.0"):
            raise _Refusal(_unserved_version(version))
        if version == "1.1" and b"host" not in self.headers:
            raise _Refusal(_malformed("header: no Host (HTTP/1.1 requires one)"))
        if version == "1.0" and b"transfer-encoding" in self.headers:
            # RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty
            # framing (6.3: 400, then close). Before session 16's probe its body was
            # decoded as chunked and stored, bytes an HTTP/1.0 intermediary takes for
            # the next request (request smuggling, RFC 9112 11.2)
            raise _Refusal(_malformed(
                "header: Transfer-Encoding in an HTTP/1.0 request (RFC 9112 6.1: its "
                "framing is faulty; HTTP/1.0 has no chunked coding): send Content-Length, "
                "or the request as HTTP/1.1"))
        host = self.headers.get(b"host")
        if host is not None and not _valid_host(host):
            # RFC 9112 3.2: a server MUST answer 400 to a Host field with an invalid
            # value; `Host: a b` or `Host: x/y` was served (session 14's probe B)
            raise _Refusal(_malformed(
                f"header: Host {host[:80].decode('latin-1')!r} is not host[:port] "
                "(RFC 9112 3.2, RFC 3986 3.2.2)"))
        _check_codings(self.headers.get(b"transfer-encoding"))
        self.keeps = self.parser.get_method() == b"PUT" and _names_a_key(self.url)
        # digits (llhttp checked them, and that the value fits 64 bits) but maybe
        # thousands of leading zeros, over int()'s 4300 digits: a ValueError that
        # dropped the connection without an answer (session 12's probe)
        raw_length = self.headers.get(b"content-length")
        length = None if raw_length is None else int(raw_length.lstrip(b"0") or b"0")
        if raw_length is None and b"transfer-encoding" not in self.headers and (
                self._keeps_body()):  # elsewhere: its 405
            # RFC 9112 6.3: such a request's body is empty, so a client that sent its
            # value anyway (HTTP/1.0 style, until it closes) got it stored as b""
            # and acknowledged, its bytes then read as a garbage next request
            # (session 12's probe): 411, as RFC 9110 15.5.12 allows
            raise _Refusal((411, error_body(errors.BadRequestError(
                "PUT without Content-Length or Transfer-Encoding: chunked: send "
                "Content-Length (0 for an empty value)")), []),
                (self.parser.get_method(), self.url))
        if length is not None and length > self.limit and self._keeps_body():
            raise _Refusal((413, error_body(errors.TooLargeError(
                f"value is {length} bytes, over the limit of {self.limit} (max_value_bytes)")), []),
                (self.parser.get_method(), self.url))
        if length is not None and length > self.discard_limit and not self._keeps_body():
            raise self._discarded_too_large(f"{length} bytes")
        expect = self.headers.get(b"expect")
        if expect is not None and version == "1.1":
            # RFC 9110 10.1.1: a 1.1 client that sent "Expect: 100-continue" waits (curl:
            # 1 s) for a 100 before its body; a value over the limit was refused above
            # (413) instead, before the body. Any other expectation: 417.
            if _list_of(expect) != {b"100-continue"}:
                raise _Refusal((417, error_body(errors.BadRequestError(
                    f"Expect: {expect.decode('latin-1')!r} (only 100-continue is served)")),
                    []), (self.parser.get_method(), self.url))
            chunked = b"chunked" in self.headers.get(b"transfer-encoding", b"").lower()
            self.continue_due = chunked or (length is not None and length > 0)
        if self.keeps and self.admits and (
                b"transfer-encoding" in self.headers or (length is not None and length > 0)):
            # a value to read: admitted first (before its 100 Continue if it asked
            # for one), by its length; a chunked value's by the most it may be,
            # max_value_bytes (admitted as 0 bytes before session 24, it got its 100
            # from a node over the limit, then a 503 after its upload). Its body is
            # left unread while it waits its turn (session 24: read first, puts
            # waiting their turn held their values outside max_pending_bytes,
            # 24.1 MB for a limit of 1.4 MB)
            self.admission_due = self.limit if length is None else length

    def _keeps_body(self) -> bool:
        """Whether this request's body is kept (a PUT's value, to a ``/kv/`` path); any
        other request's body is read and dropped, up to :attr:`discard_limit`, so the
        connection stays in step, and the request gets its own answer: a PUT to
        ``/status`` with a body over ``max_value_bytes`` got 413 rather than its 405
        (session 12's second probe)."""
        return self.keeps

    @property
    def discard_limit(self) -> int:
        """The most body bytes a request whose body is not kept (:meth:`_keeps_body`)
        may send: the larger of ``max_value_bytes`` and :data:`DISCARDED_BODY_BYTES`.
        Before session 19's service probe such a body was read and dropped whatever
        its size: a GET with ``Content-Length: 10**15`` (or a chunked one without
        end) sent at 6 MB/s was read for as long as the client sent (95 MB in 15 s,
        no answer), the connection held for good and its parser busy (7% of a
        core), as it met the body rate bound."""
        return max(self.limit, DISCARDED_BODY_BYTES)

    def _discarded_too_large(self, size: str) -> _Refusal:
        """The 413 of a body over :attr:`discard_limit` (the connection then closes)."""
        method = self.parser.get_method().decode("latin-1")
        return _Refusal((413, error_body(errors.TooLargeError(
            f"{method} with a body of {size}: only a PUT to /kv/{{key}} keeps its body "
            f"(the value); any other request's body is ignored, up to "
            f"{self.discard_limit} bytes: send it without one")), []),
            (self.parser.get_method(), self.url))

    def _chunk_over(self, previous: bytes, data: bytes) -> _Refusal | None:
        """The 413 of a chunk whose size line (the last one fed, ended in ``data``,
        maybe begun in ``previous``, the slice fed before) announces more than the
        body may still take (``max_value_bytes`` for a value,
        :attr:`discard_limit` for another body), else None. httptools gives no
        chunk size: the line ends where the chunk's data in ``data`` begins
        (:attr:`chunk_data` bytes before its end, the chunk not complete). Before
        session 23 such a chunk was read until the value passed the limit: a
        1 MiB + 1 chunk announced, then nothing, was held unanswered until a
        timeout, and a client that sent it got its 413 only after a mebibyte."""
        end = len(data) - self.chunk_data
        line = data[:end]
        begun = line.rfind(b"\n", 0, len(line) - 1)
        if begun < 0:
            line = previous + line
            begun = line.rfind(b"\n", 0, len(line) - 1)
            if begun < 0:  # a line of over a slice (extensions): on_body bounds it
                return None
        digits = _CHUNK_SIZE.match(line, begun + 1)
        if digits is None:
            return None
        size = int(digits.group(), 16)
        if not self.keeps:
            if self.received - self.chunk_data + size <= self.discard_limit:
                return None
            return self._discarded_too_large(f"a chunk of {size} bytes")
        if self.size - self.chunk_data + size <= self.limit:
            return None
        return _Refusal((413, error_body(errors.TooLargeError(
            f"value is over the limit of {self.limit} bytes (max_value_bytes): a chunk "
            f"of {size} bytes "
            f"announced after {self.size - self.chunk_data} (refused at its size line)")),
            []), (self.parser.get_method(), self.url))

    def on_chunk_header(self) -> None:
        self.moved = self.chunk_begun = self.in_chunk = True
        self.chunk_data = 0
        self.chunks += 1

    def on_chunk_complete(self) -> None:
        self.moved = True
        self.chunk_begun = self.in_chunk = False

    def on_body(self, body: bytes) -> None:
        self.moved = True
        if self.chunk_begun:
            self.chunk_data += len(body)
        self.continue_due = False  # the client sent its body without waiting
        self.received += len(body)
        if not self._keeps_body():
            if self.received > self.discard_limit:  # chunked: no length to check first
                raise self._discarded_too_large(f"over {self.discard_limit} bytes")
            return
        self.size += len(body)
        if self.size > self.limit:
            raise _Refusal((413, error_body(errors.TooLargeError(
                f"value is over the limit of {self.limit} bytes (max_value_bytes)")), []),
                (self.parser.get_method(), self.url))
        self.body += body

    def on_message_complete(self) -> None:
        self.moved = True
        self.stalled = 0
        self.in_body = self.continue_due = False
        self.admission_due = None  # the body came whole in this read: admitted as read
        parser = self.parser
        close = not parser.should_keep_alive() or self.version() != "1.1"
        self.ready.append(_Request(parser.get_method(), self.url, self.headers,
                                   bytes(self.body), close=close, reserved=self.reserved,
                                   lapsed=self.counted))
        self.body = bytearray()  # not held while the request is served
        self.reserved = 0
        self.end_hold()

    def end_hold(self) -> None:
        """The request under way no longer holds a reservation: its hold's timer
        goes (its bytes, if any, were handed over or let go)."""
        if self.hold is not None:
            self.hold.cancel()
            self.hold = None
        self.counted = False
        self.gone = None


def _parser(callbacks: _Parse) -> httptools.HttpRequestParser:
    """An llhttp request parser calling ``callbacks``, lenient only about the HTTP
    version (any single digit major and minor: :meth:`_Parse.version` reads a
    higher HTTP/1 minor version as 1.1, RFC 9110 2.5, and refuses another major
    version naming it, 505). Every other leniency stays off."""
    parser = httptools.HttpRequestParser(callbacks)
    parser.set_dangerous_leniencies(lenient_version=True)
    return parser


def _announces_body(headers: dict[bytes, bytes]) -> bool:
    """Whether a request's headers announce a body (a Content-Length above 0, or a
    Transfer-Encoding)."""
    length = headers.get(b"content-length")
    return b"transfer-encoding" in headers or (
        length is not None and length.lstrip(b"0") != b"")


def _head_without_upgrade(request: _Request, version: str) -> bytes:
    """The head of ``request`` as parsed (its method, target, HTTP version and
    headers, one line each) without Upgrade and without the ``upgrade`` token of
    Connection (nor HTTP2-Settings, which names it): the same request for a
    server that ignores the Upgrade (RFC 9110 7.8)."""
    lines = [request.method + b" " + request.target + b" HTTP/" + version.encode()]
    for name, value in request.headers.items():
        if name in (b"upgrade", b"http2-settings"):
            continue
        if name == b"connection":
            tokens = [t.strip() for t in value.split(b",")]
            value = b", ".join(t for t in tokens
                               if t and t.lower() not in (b"upgrade", b"http2-settings"))
            if not value:
                continue
        lines.append(name + b": " + value)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _note_unsent(into: list[int], transport: asyncio.BaseTransport) -> None:
    """Append the bytes ``transport``'s kernel still holds to send (0 if unknown) to
    ``into`` (:meth:`HttpApi._read_request`'s halfway sample)."""
    into.append(unsent_bytes(transport) or 0)


def _took_nothing(halfway: int, now: int | None, least: float) -> bool:
    """Whether a client whose connection's kernel held ``halfway`` unsent bytes
    halfway through an idle wait, and ``now`` at its end (None: not known), took
    fewer than ``least`` of them (at least one byte, when ``least`` is 0) meanwhile:
    it reads nothing of its answers (:meth:`HttpApi._read_request`)."""
    if not halfway or now is None or now <= 0:
        return False
    return halfway - now < max(least, 1.0)


def _names_a_key(target: bytes) -> bool:
    """Whether a request target's path is under ``/kv/`` (a PUT there stores its body
    as a value). A target that does not split counts as one: its body stays
    bounded by ``max_value_bytes`` until the route answers its 400."""
    try:
        return _split_target(target)[0].startswith("/kv/")
    except errors.DynamoError:
        return True


def _check_codings(codings: bytes | None) -> None:
    """Refuse (a :class:`_Refusal` with a 400 naming the header) a request whose
    Transfer-Encoding (``codings``: its value, repeated headers joined by ``, ``;
    None: no such header) is anything but ``chunked`` alone. llhttp refuses a
    coding other than chunked only when it comes last (``gzip``); with one before
    chunked (``gzip, chunked``, or ``Transfer-Encoding: gzip`` then
    ``Transfer-Encoding: chunked``) it de-chunks the body and hands on the bytes
    still gzip-coded, which were stored as the value and read back coded (found
    by probing, session 12). RFC 9112 6.1: a server that receives a transfer
    coding it does not understand responds 501; we answer 400 as for every other
    coding (docs/runtime.md)."""
    if codings is None:
        return
    if [coding.strip(b" \t").lower() for coding in codings.split(b",")] != [b"chunked"]:
        raise _Refusal(_malformed(
            f"header: Transfer-Encoding {codings.decode('latin-1')!r}: only chunked is "
            "served (another transfer coding would be stored still coded)"))


def _list_of(value: bytes) -> set[bytes]:
    """The elements of a list-based field's value (RFC 9110 5.6.1: comma-separated,
    optional whitespace around each), lowercased; an empty element is b""."""
    return {element.strip(b" \t").lower() for element in value.split(b",")}


#: the interim answer to ``Expect: 100-continue`` (RFC 9110 15.2.1)
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def context_allowance(max_context_bytes: int) -> int:
    """The bytes of an X-Vdynamo-Context header value not counted against
    :data:`MAX_HEADER_BYTES`: the base64 length of a ``max_context_bytes`` context
    (so, any context the cluster issues). Before, the whole value counted, and a
    configuration the node accepts (``vclock_max_pairs = 300`` with
    ``max_context_bytes`` to match) issued, after 187 clients of 250-character
    ids, a 65,104-byte context its own HTTP API refused with 431: the key could
    no longer be updated by read-modify-write (case 05's kind; session 12's
    probe). The caller passes :func:`impl.context.context_bytes_bound` of
    ``vclock_max_pairs`` (every context is cut to that many pairs; at most
    ``max_context_bytes`` by impl.config's check), not ``max_context_bytes``: set
    far above what the cluster issues (16 MiB is accepted), that let a client
    make the node buffer a 22 MB header (session 12's review)."""
    return 4 * -(-max_context_bytes // 3)


def anonymous_prefix(name: str, token: str) -> str:
    """``http.<name>.<token>``: the client id of an anonymous client-vclock write
    without its request number (``.<rid>``, at most 19 digits), so at most
    ``MAX_NAME - 20`` characters: a node name too long for that is given as the
    first 16 hex digits of its SHA-256 (``http.#<digest>.<token>``). Before session
    60's red team the whole name was used, and on a node whose name (at most 255
    characters, :func:`impl.config.check_node_name`) had 218 or more, every write
    without X-Vdynamo-Client (curl) was refused 400 naming the internal field
    ``PutRequest.client_id``."""
    prefix = f"http.{name}.{token}"
    if len(prefix) <= MAX_NAME - 20:
        return prefix
    return f"http.#{hashlib.sha256(name.encode()).hexdigest()[:16]}.{token}"


def _headers_too_large() -> _Answer:
    return _malformed(f"headers over {MAX_HEADER_BYTES} bytes", 431)


class HttpApi:
    """The HTTP port of one :class:`impl.runtime.NodeServer`."""

    def __init__(self, server: NodeServer) -> None:
        self.server = server
        self.config = server.config
        #: a token drawn at each start: the anonymous writers' client ids of this
        #: start (:meth:`_request_of`) differ from every earlier start's
        self._anonymous = anonymous_prefix(server.name, secrets.token_hex(6))
        self.slots = ConnectionSlots(self.config.max_http_connections,
                                     keep_s=min(KEPT_ALIVE_S, self.config.http_idle_timeout_s))
        #: the reservations past their hold, oldest first: they give way to a
        #: request waiting its turn (:meth:`_give_way`)
        self.lapsed: dict[_Parse, None] = {}
        server.admission.give_way = self._give_way
        self.timeouts = 0
        #: per connection holding answers unsent: the bytes its client's TCP had
        #: acknowledged and when that count last grew (:meth:`_stalled`)
        self._acked: weakref.WeakKeyDictionary[asyncio.StreamWriter, tuple[int, float]] = (
            weakref.WeakKeyDictionary())
        self.malformed = 0
        self._document: bytes | None = None
        #: this cluster's public identity (:func:`cluster_id`), in /status and checked
        #: against a request's X-Vdynamo-Cluster
        self.cluster_id = cluster_id(self.config.secret, self.config.name)
        #: (second, header line) of the latest Date sent (:meth:`_date`)
        self._date_line: tuple[int, bytes] = (-1, b"")
        #: refusal logging: (start of the window, lines logged in it, lines not logged)
        self._refusal_window = (-_REFUSAL_WINDOW_S, 0, 0)
        #: connections refused at the cap lingering now (:meth:`_refuse`)
        self._refused_lingering = 0
        #: set when the node stops: no summary timer is armed after
        self.stopped = False
        #: the conditional writes (If-Match, If-None-Match) of each key in progress
        #: at this node, one at a time (:meth:`_in_key_turn`, session 53): the lock
        #: and how many hold or wait for it
        self._key_turns: dict[bytes, tuple[asyncio.Lock, list[int]]] = {}
        #: the timer that sums up the window's refusals not logged when it ends
        self._refusal_summary: asyncio.TimerHandle | None = None
        #: the nonces of the admin tokens taken in the last ADMIN_TOKEN_WINDOW_S,
        #: with their stamps (:meth:`_admin_refusal`: each token is taken once);
        #: None until the first admin request reads them from the store
        self._admin_nonces: dict[str, float] | None = None
        #: the latest stamp of an admin token's nonce forgotten (0: none; kept in the
        #: ``admin-nonces`` entry as its ``forgot STAMP`` line)
        self._admin_horizon = 0.0
        #: this start's time, by this node's clock: a store renewed before it, whose
        #: window had not passed while a start ran (:data:`ADMIN_RENEWAL_PASSED_META`),
        #: takes no token stamped up to it plus the window (:meth:`_renewal_bound`)
        self.started_at = server.now()

    async def serve_connection(self, reader: asyncio.StreamReader,
                               writer: asyncio.StreamWriter) -> None:
        """Serve one client connection until it closes, errs or times out."""
        peer = writer.get_extra_info("peername")  # its address: a host cannot hold
        # the port by keeping its connections answered (ConnectionSlots._claims)
        if not self.slots.admit(writer, peer[0] if isinstance(peer, tuple) else None):
            await self._refuse(reader, writer)
            return
        config = self.config  # the largest context the cluster issues (at most
        # max_context_bytes: impl.config checks it), not max_context_bytes: set far
        # above it (16 MiB is accepted) that let any client make the node buffer a
        # 22 MB header (session 12's review)
        parse = _Parse(config.max_value_bytes, context_bytes_bound(config.vclock_max_pairs),
                       config.max_key_bytes, admits=True)
        request: _Request | None = None
        try:
            first = True
            while True:
                if first:
                    self.slots.waiting(writer)
                else:  # answered, kept alive: not evicted at once (session 61)
                    self.slots.kept(writer)
                if not parse.ready:
                    try:
                        await self._read_request(parse, reader, writer, first)
                    except (_Closed, ConnectionError, OSError):
                        raise
                    except Exception as error:  # a bug of ours while parsing: the
                        # requests parsed before it are answered, then a 500 (an
                        # exception out of the parser dropped the connection without
                        # an answer or a log line until session 22's service probe)
                        parse.dead = True
                        parse.ready.append(self._parse_failed(error))
                request = parse.ready.popleft()
                first = False
                self.slots.busy(writer)
                start = time.perf_counter()
                problem = request.problem
                if problem is not None and problem[0] not in (413, 500, 503) and (
                        not request.routed):
                    self.malformed += 1
                close = problem is not None or request.close
                try:
                    status, payload, extra = problem or await self._route(
                        request, _local_host(writer))
                except Exception as error:  # a bug of ours: answer 500, never a drop
                    status, payload, extra = self._internal_error(request, error)
                    close = True
                self._release(request)  # answered (its bytes in flight no more)
                if close:  # nothing more is read: the reservation of a body cut short
                    self._release(parse)
                self._observe(request, status, payload, time.perf_counter() - start)
                # the answer alone is held while its client reads it (_send), not the
                # payload it was made of (a GET's values, or their base64 in a dict)
                answer = [self._answer(request.method, status, payload, extra, close=close)]
                payload = b""
                await self._send(writer, answer)
                if close:  # the client may still be sending: a refused request's
                    # rest, or requests pipelined behind a `Connection: close` (closed
                    # at once until session 20's service probe: the bytes unread, the
                    # kernel reset the connection after the answer). Lingering is no
                    # work: evictable at the cap (it held a busy slot for its second
                    # until session 19's service probe: 600 clients sending garbage
                    # without pause got 142 connections refused 503, 3 of 54 GETs)
                    self.slots.waiting(writer)
                    await _linger(reader, writer)
                    break
        except _Closed:
            pass
        except (ConnectionError, OSError) as error:
            log.info("%s: HTTP connection closed: %s", self.server.name, error)
        except MemoryError as error:  # making or sending an answer: closed unanswered,
            # one line (asyncio's "Unhandled exception in client_connected_cb" traceback
            # per connection until session 32's service probe: 14 to 30 in a burst)
            server = self.server
            report_internal_error(server.name, server.now(), server.node.stats,
                                  server.node.log, "http",
                                  request or _Request(*_NO_REQUEST, {}), error)
        finally:
            if request is not None:
                self._release(request)
            self._release(parse)
            for unanswered in parse.ready:
                self._release(unanswered)
            self.slots.release(writer)
            writer.close()

    async def _admit_body(self, parse: _Parse, writer: asyncio.StreamWriter) -> bool:
        """Admit the put whose head ``parse`` has read (by ``parse.admission_due``
        bytes) before its body is read: it waits its turn
        (:meth:`impl.runtime.NodeServer.admit`) with its connection busy and not read
        (the client's bytes stay in the socket's buffers, as Cassandra's native
        transport stops reading a connection whose request waits for permits), then
        its bytes are reserved (:meth:`impl.admission.ByteAdmission.reserve`) until
        it starts or is answered. A put that asked ``Expect: 100-continue`` is
        decided at once (:meth:`impl.runtime.NodeServer.overloaded`; its client
        waits a second at most for the 100, curl's default, then sends its body).
        Refused, its 503 (Retry-After) is queued and the connection closes after
        it: its body was not read, so nothing after it can be parsed (the
        lingering close reads and drops what the client still sends, for at most
        :data:`_LINGER_S`); an ``Expect`` put is then never sent (RFC 9110
        10.1.1). True if admitted."""
        size, parse.admission_due = parse.admission_due or 0, None
        refused = self._head_refusal(parse)
        if refused is not None and not parse.continue_due:
            # no Expect: its body is on its way, so it is read and dropped (never held
            # nor admitted: no wait for its turn) and the same refusal answered after
            # it, the connection kept. Answered before its body (session 26's probe), a
            # client whose upload outlived the lingering close (_LINGER_S) got a reset
            # in place of its answer: http.client sending 1 MB over 3 s with a context
            # `!!!!` got BrokenPipeError at 1.1 s, the 400 before (session 26's review)
            parse.keeps = False
            return True
        if refused is not None:  # its answer now, its body unread (the connection closes)
            parse.continue_due = False
            parse._stop(_Request(parse.parser.get_method(), parse.url, parse.headers,
                                 problem=refused, routed=True))
            return False
        server = self.server
        self.slots.busy(writer)
        # a write with If-Match or If-None-Match reads its key first: a get, not a
        # small write the lane may admit (session 52's review, _route)
        write = not any(name in parse.headers for name in (b"if-match", b"if-none-match"))
        refusal: errors.DynamoError | None
        if parse.continue_due:
            refusal = server.overloaded(size, write) or server.unavailable()
            # a precondition's read only once the node would admit the put
            if refusal is None and (failed := await self._precondition_refusal(parse)):
                self.slots.waiting(writer)
                self.slots.active(writer)
                parse.continue_due = False  # its 412 (or its read's 503) now, body unread
                parse._stop(_Request(parse.parser.get_method(), parse.url, parse.headers,
                                     problem=failed, routed=True))
                return False
            refusal = refusal or server.overloaded(size, write) or server.unavailable()
        else:
            refusal = await server.admit(size, write) or server.unavailable()
        if refusal is None:
            server.admission.reserve(size)  # no await since its admission
            parse.reserved += size
            parse.hold = asyncio.get_running_loop().call_later(
                server.admission.hold, self._held_long, parse)
        self.slots.waiting(writer)
        self.slots.active(writer)
        if refusal is None:
            return True
        parse.continue_due = False
        parse._stop(_Request(parse.parser.get_method(), parse.url, {}, problem=(
            503, error_body(refusal), [("retry-after", str(self.config.retry_after_s))])))
        return False

    async def _precondition_refusal(self, parse: _Parse) -> _Answer | None:
        """The 412 a write whose head ``parse`` has read and that asked ``Expect:
        100-continue`` gets before its body is sent, when its If-Match or
        If-None-Match is false on a read of the key (or that read's failure); None
        if it has neither or they hold (its route reads and evaluates them again,
        on the key as it is then). RFC 9110 10.1.1 lets a server answer the final
        status instead of the 100; Riak's webmachine evaluates them before it reads
        a body. Session 49's probe: a create-only-if-absent of a key that exists
        got its 100, so curl uploaded the whole value for the 412."""
        prepared = self._prepare(_Request(parse.parser.get_method(), parse.url,
                                          parse.headers))
        if not isinstance(prepared, _Prepared) or prepared.conditions is None:
            return None
        message = prepared.message
        if not isinstance(message, PutRequest):  # a /kv/ PUT or DELETE: a write
            return None
        read = await self._read_key(message, prepared.query)
        if not isinstance(read, GetResult):
            return read
        return _precondition_failed(prepared.conditions, message, read)

    def _held_long(self, parse: _Parse) -> None:
        """The reservation of ``parse``'s body outlived its hold
        (:attr:`impl.admission.ByteAdmission.hold`): from now on it counts the bytes
        the body received (:meth:`_settle`), not its whole length. Before (session
        25's user probe) it counted the whole length until the body was in, so a
        client trickling a body kept the node's bytes budget for as long as it
        trickled."""
        parse.hold = None
        parse.counted = True
        parse.gone = asyncio.get_running_loop().create_future()
        self.lapsed[parse] = None
        self._settle(parse)  # and, whole, the put is admitted again (_route)

    def _settle(self, parse: _Parse) -> None:
        """A reservation past its hold follows the bytes its body received; one whose
        bytes would take the node over ``max_pending_bytes`` is refused (503, its
        bytes let go). Before session 25's review nothing bounded their sum: 30
        connections admitted one after another, idle past their holds, then sending
        their bodies held 30.5 MB for a limit of 1.4 MB (RSS 38 -> 72 MB; at most
        ``max_http_connections`` x ``max_value_bytes``)."""
        if parse.counted and parse.reserved != parse.size:
            admission = self.server.admission
            admission.adjust(parse.size - parse.reserved)
            parse.reserved = parse.size
            if admission.held() + admission.reserved > admission.limit:
                self._refuse_lapsed(parse, "its bytes received would pass")

    def _give_way(self, size: int) -> bool:
        """Refuse the reservations past their hold, the largest first, until a
        request of ``size`` bytes waiting its turn fits
        (:attr:`impl.admission.ByteAdmission.give_way`); True if any let its bytes
        go. Their guarantee lapsed with their hold, so they yield to a request that
        waits: before session 25's review a client that waited out the hold, sent
        all but the last 100 bytes of a 1 MiB and a 349,425 B body, then a byte every
        2 s, made every put at the node 503 (14 of 14 in 40 s; up to 35 minutes at
        ``http_min_body_rate``), the fault the hold was meant to end."""
        admission = self.server.admission
        gave = False
        for parse in sorted(self.lapsed, key=lambda each: -each.reserved):
            if admission.fits(size):
                break
            if parse.counted and parse.reserved:
                self._refuse_lapsed(parse, "a request waiting its turn needs")
                gave = True
        return gave

    def _refuse_lapsed(self, parse: _Parse, why: str) -> None:
        """Refuse ``parse``'s put, whose reservation is past its hold, before its body
        is in: 503 with Retry-After (the connection then closes), its bytes let go
        now and the read its connection waits on woken (:meth:`_read_request`)."""
        admission = self.server.admission
        admission.gave_way += 1
        size, gone = parse.size, parse.gone
        self._release(parse)
        parse.body = bytearray()
        refusal = errors.OverloadedError(
            f"node {self.server.name} is saturated: this put's value came slower than "
            f"its reservation's hold ({admission.hold:g} s) and {why} "
            f"max_pending_bytes ({admission.limit}); {size} bytes of it received, "
            f"nothing was written: retry after {self.config.retry_after_s} s")
        parse._stop(_Request(parse.parser.get_method(), parse.url, {}, problem=(
            503, error_body(refusal), [("retry-after", str(self.config.retry_after_s))])))
        if gone is not None and not gone.done():
            gone.set_result(None)

    def _release(self, holder: _Request | _Parse) -> None:
        """Let go of the bytes ``holder`` reserved at its admission, if any."""
        if isinstance(holder, _Parse):
            holder.end_hold()
            self.lapsed.pop(holder, None)
        if holder.reserved:
            self.server.admission.release(holder.reserved)
            holder.reserved = 0

    def _internal_error(self, request: _Request, error: Exception) -> _Answer:
        """The answer to a request whose handling raised ``error``, an exception of
        our own code (every input error is a DynamoError mapped by
        :func:`http_status`): counted and logged as an internal error
        (:func:`impl.internal_errors.report_internal_error`), answered 500 with
        outcome ``unknown`` (a put may have been written), and the connection
        closes. Before, any such exception (a ValueError of urllib or int() on a
        crafted request, session 12's probe) dropped the connection unanswered."""
        server = self.server
        report_internal_error(server.name, server.now(), server.node.stats,
                              server.node.log, "http", request, error)
        what = f"{request.method.decode('latin-1')} {request.target[:200].decode('latin-1')!r}"
        if out_of_memory(error):  # no bug: "internal error ... MemoryError" until session 32
            return 500, {"error": "OutOfMemoryError", "message": (
                f"node {server.name} ran out of memory handling {what} (MemoryError): a "
                "write may have been made; retry later or through another node"),
                "outcome": "unknown"}, []
        return 500, {"error": "InternalError",
                     "message": f"internal error handling {what}: {type(error).__name__}",
                     "outcome": "unknown"}, []

    def _parse_failed(self, error: Exception) -> _Request:
        """The request standing for one whose parsing raised ``error``, an exception
        of our own code (the parser's input errors are answers, :class:`_Refusal`):
        counted and logged as an internal error, answered 500 with outcome
        ``unknown`` (the connection then closes)."""
        server = self.server
        report_internal_error(server.name, server.now(), server.node.stats,
                              server.node.log, "http", _Request(*_NO_REQUEST, {}), error)
        return _Request(*_NO_REQUEST, {}, problem=(500, {
            "error": "InternalError",
            "message": f"internal error parsing a request: {type(error).__name__}",
            "outcome": "unknown"}, []))

    async def _refuse(self, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        """Answer a connection over the cap 503 (``Retry-After``) and close it, with a
        short lingering close (:data:`_REFUSED_LINGER_S`) while fewer than
        :data:`_REFUSED_LINGERING` refused connections linger (over the cap: its
        descriptors are bounded): closed at once with the client's request unread
        until session 20's service probe, the kernel reset the connection after
        the 503 (20 of 20 refused clients read a reset after it), and a client still
        sending its body could see the reset instead of the answer."""
        self._log_refusal()
        payload = json.dumps(error_body(errors.OverloadedError(
            f"the node has {self.slots.limit} connections, every one busy"))).encode()
        head = (f"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
                f"retry-after: {self.config.retry_after_s}\r\nconnection: close\r\n"
                f"content-length: {len(payload)}\r\n\r\n").encode()
        with contextlib.suppress(ConnectionError, OSError):
            if not writer.is_closing():  # see _respond
                writer.write(head[:-2] + self._date() + b"\r\n" + payload)
            if self._refused_lingering < _REFUSED_LINGERING:
                self._refused_lingering += 1
                try:
                    await _linger(reader, writer, _REFUSED_LINGER_S)
                finally:
                    self._refused_lingering -= 1
            writer.close()

    def _log_refusal(self) -> None:
        """Log a connection refused at the cap: at most :data:`_REFUSALS_LOGGED` lines
        per :data:`_REFUSAL_WINDOW_S` seconds, then one line summing up those not
        logged when the window ends (:meth:`summarize_refusals`, on a timer; every
        one is counted: ``http_refused`` in /status), as refused peers are
        (``NodeServer._refuse_peer``). Before session 14's probe B each refusal
        was a WARNING line: a client holding the connections busy wrote one line
        per connect it made (300 for 300). Until session 20's service probe the
        summary was written only when a refusal came after the window: a flood
        that stopped left its refusals over the first ten out of the log."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        start, logged, quiet = self._refusal_window
        if now - start >= _REFUSAL_WINDOW_S:
            self.summarize_refusals()
            start, logged, quiet = now, 0, 0
        if logged < _REFUSALS_LOGGED:
            logged += 1
            log.warning("%s: refused an HTTP connection: %d connections, every one busy",
                        self.server.name, self.slots.limit)
        else:
            quiet += 1
            if self._refusal_summary is None and not self.stopped:
                self._refusal_summary = loop.call_at(start + _REFUSAL_WINDOW_S,
                                                     self.summarize_refusals)
        self._refusal_window = (start, logged, quiet)

    def summarize_refusals(self) -> None:
        """Log the line summing up the window's refusals not logged, if any (at the
        window's end, and when the node stops: ``NodeServer.stop``)."""
        if self._refusal_summary is not None:
            self._refusal_summary.cancel()
            self._refusal_summary = None
        start, logged, quiet = self._refusal_window
        if quiet:
            log.warning("%s: %d more refused HTTP connections were not logged in "
                        "%g s (http_refused in /status counts every one)",
                        self.server.name, quiet, _REFUSAL_WINDOW_S)
        self._refusal_window = (start, logged, 0)

    def _observe(self, request: _Request, status: int, payload: dict[str, Any] | bytes,
                 seconds: float) -> None:
        self.server.metrics.observe_request(
            operation_of(request.method, request.target), status, seconds,
            quorum_failed=status in (503, 504) and isinstance(payload, dict)
            and payload.get("error") in ("QuorumError", "RequestTimeoutError"))

    async def _respond(self, writer: asyncio.StreamWriter, method: bytes, status: int,
                       payload: dict[str, Any] | bytes, extra: list[tuple[str, str]], *,
                       close: bool) -> None:
        """Write one answer (:meth:`_answer`, :meth:`_send`)."""
        await self._send(writer, [self._answer(method, status, payload, extra, close=close)])

    def _answer(self, method: bytes, status: int, payload: dict[str, Any] | bytes,
                extra: list[tuple[str, str]], *, close: bool) -> bytes:
        """The bytes of one answer: status line, headers, and ``payload`` (raw bytes,
        or a dict sent as JSON) unless ``method`` is HEAD."""
        if status == 304:  # no content, and no Content-Length unless the 200's (RFC
            data = b""  # 9110 8.6, 15.4.5: a 0 would say the value is empty)
            parts = [_STATUS_LINE[status]]
        elif isinstance(payload, bytes):
            data = payload
            parts = [_STATUS_LINE[status], b"content-length: %d\r\n" % len(data)]
        else:
            data = json.dumps(payload).encode()
            parts = [_STATUS_LINE[status], b"content-type: application/json\r\n"
                     b"content-length: %d\r\n" % len(data)]
        # RFC 9110 6.6.1: an origin server with a clock MUST send Date in its 2xx,
        # 3xx and 4xx answers (none was sent before session 18's service probe)
        parts.append(self._date())
        # the values are ours (numbers, base64, constants) or a stored content type
        # (printable ASCII: impl.http_values)
        parts.extend(f"{name}: {value}\r\n".encode("ascii", "replace")
                     for name, value in extra)
        parts.append(b"connection: close\r\n\r\n" if close else b"\r\n")
        if method != b"HEAD":
            parts.append(data)
        return b"".join(parts)

    async def _send(self, writer: asyncio.StreamWriter, answer: list[bytes]) -> None:
        """Write the answer ``answer`` holds (taken out of it: the caller keeps no
        reference) and wait until its client reads it (:meth:`_drain`). An answer
        over :data:`_ANSWER_PIECE` bytes goes in pieces of that size, and when the
        kernel takes no more (the transport buffers) only the rest not written yet
        is kept: the node holds at most a piece and that rest of an answer its client
        does not read, where it held the whole answer and what it was made of (a GET
        of three 1,000,000 B siblings read by nobody: 3.2 MB per connection, 200
        connections 45 -> 236 MB of RSS; session 27's user probe). A small answer is
        one write, one send on the socket. _Closed if the client went away."""
        data = answer.pop()
        if writer.is_closing():  # the client went away: uvloop's write would raise
            raise _Closed        # RuntimeError, asyncio's would drop the answer
        if len(data) <= _ANSWER_PIECE:
            writer.write(data)
            del data
            await self._drain(writer)
            return
        transport = writer.transport
        at = 0
        while at < len(data):
            writer.write(data[at:at + _ANSWER_PIECE])  # a copy: uvloop keeps what it
            at += _ANSWER_PIECE                        # is given while any is unsent
            if writer.is_closing():  # the send failed (the client reset): asyncio's
                raise _Closed        # loop logs each further write as a warning
            if at < len(data) and transport.get_write_buffer_size():
                data = data[at:]  # the kernel is full: keep the rest alone
                at = 0
                await self._drain(writer)
                if writer.is_closing():
                    raise _Closed
        del data
        await self._drain(writer)

    def _date(self) -> bytes:
        """The Date header line of an answer: the node's clock (``NodeServer.now``)
        in the IMF-fixdate form (RFC 9110 5.6.7), made once per second."""
        second = int(self.server.now())
        if self._date_line[0] != second:
            self._date_line = (second, b"date: %s\r\n" % email.utils.formatdate(
                second, usegmt=True).encode())
        return self._date_line[1]

    async def _drain(self, writer: asyncio.StreamWriter) -> None:
        """Wait until ``writer``'s buffer is below its high-water mark again; if the
        client reads nothing of it for ``http_idle_timeout_s``, abort the connection
        (its buffer dropped, counted in ``timeouts``) and raise :class:`_Closed`. A
        client that reads, however slowly, is waited on for as long as each
        ``http_idle_timeout_s`` sees the buffer shrink (nginx's ``send_timeout``: a
        timeout between two successive writes, not for the whole answer).

        Before, the drain had no timeout: a client that pipelined GETs of a large
        value and never read the answers held its connection busy forever (never
        idle-evicted), with the answer buffered; ``max_http_connections`` such
        clients (8 in the probe, 512 by default) made the node answer every other
        client 503 for good (session 12's second probe)."""
        transport = writer.transport
        timeout = self.config.http_idle_timeout_s
        while True:
            left = transport.get_write_buffer_size()
            if self._stalled(writer):
                break
            try:
                async with asyncio.timeout(timeout):
                    await writer.drain()
                return
            except TimeoutError:
                if acked_bytes(transport) is None:  # no TCP_INFO: the buffer's shrink
                    if transport.get_write_buffer_size() < left:  # read, slowly
                        continue
                elif not self._stalled(writer):  # acknowledged since: wait on
                    continue
            break
        self.timeouts += 1
        log.info("%s: closed an HTTP connection: its client read nothing of the "
                 "answers for %.1f s", self.server.name, timeout)
        reset(transport)  # close() would keep the fd until the buffer is sent,
        # abort() alone the kernel's orphan (FIN-WAIT-1) until it is
        raise _Closed

    def _stalled(self, writer: asyncio.StreamWriter) -> bool:
        """Whether ``writer``'s client acknowledged nothing of the answers sent to it
        for ``http_idle_timeout_s`` while more than :data:`STALL_CHECK_BYTES` of them
        wait unsent (the transport's buffer and the kernel's send queue,
        :func:`impl.connections.unsent_bytes`): progress is the peer's TCP
        acknowledging bytes (:func:`impl.connections.acked_bytes`), not the node's
        kernel taking them. Each call samples it (:attr:`_acked`: the count and when
        it last grew); False where it cannot be told (no ``TCP_INFO``).

        Session 55's user probe: 20 connections pipelining 3,000 GETs each and
        reading nothing were served for minutes (all still ESTABLISHED at 75 s, n1
        at 0.19 of a core): each drain saw its buffer shrink as the kernel's send
        buffer grew (autotuning, about 12 KB/s), taken for a client reading slowly.
        Now such a connection is reset ``http_idle_timeout_s`` after its client's
        last acknowledgement (session 57)."""
        transport = writer.transport
        acked = acked_bytes(transport)
        if acked is None:
            return False
        unsent = transport.get_write_buffer_size() + (unsent_bytes(transport) or 0)
        if unsent <= STALL_CHECK_BYTES:
            self._acked.pop(writer, None)
            return False
        now = self.server.loop.time()
        last = self._acked.get(writer)
        if last is None or acked > last[0]:
            self._acked[writer] = (acked, now)
            return False
        return now - last[1] >= self.config.http_idle_timeout_s

    async def _read(self, reader: asyncio.StreamReader, timeout: float,
                    why: str = "", gone: asyncio.Future[None] | None = None) -> bytes:
        """The next bytes (b"" at the close, or once ``gone`` is done first); _Closed,
        counted and logged with ``why`` (default: nothing for ``timeout`` s), when
        none come in ``timeout``."""
        read: asyncio.Future[bytes] | None = None
        try:
            async with asyncio.timeout(timeout):
                if gone is None:
                    return await reader.read(65536)
                read = asyncio.ensure_future(reader.read(65536))
                return await _read_unless(read, gone)
        except TimeoutError:
            # The bytes may have come as the timer fired: the timeout's cancel won over
            # their wakeup, and they wait in the reader's buffer. Session 39's user
            # probe: a keep-alive connection's next request arriving then was closed on
            # unanswered (2 of 60 puts sent every http_idle_timeout_s, 1 s: a PUT of
            # 257 bytes buffered at the close), each OutcomeUnknownError at its client
            # though the node had written nothing. Beside `gone` (a body past its hold)
            # the read is a task of its own, which may have taken them: until session
            # 49 they were dropped, and the connection closed unanswered (a steady
            # upload's b'' under load; test_http_slow_body.py)
            late = (read.result() if read is not None and read.done() and not read.cancelled()
                    else await _buffered(reader))
            if late:
                return late
            self.timeouts += 1
            log.info("%s: closed an HTTP connection: %s", self.server.name,
                     why or f"nothing for {timeout:.1f} s")
            raise _Closed from None

    async def _read_request(self, parse: _Parse, reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter, first: bool) -> None:
        """Read until ``parse`` has a request ready (or the answer to give instead: a
        malformed request, a value over the limit); _Closed when the client closed or
        a timeout expired. A request whose head asked ``Expect: 100-continue`` gets its
        ``100 Continue`` before its body is read (once every earlier request on the
        connection was answered: an interim answer never overtakes a final one)."""
        loop = asyncio.get_running_loop()
        config = self.config
        # headers: from the connect (first request) or from the next request's first byte
        header_deadline = loop.time() + config.http_header_timeout_s if first else None
        #: when this call first saw the body under way, and the bytes it had then
        #: (http_min_body_rate: a body's deadline moves on with what it receives)
        body_since: float | None = None
        body_from = 0
        while not parse.ready:
            if parse.dead:
                raise _Closed
            # a put's head is in: its turn first. The wait is not the client's: the
            # body's clock (body_since below, http_min_body_rate, the pauses) starts
            # at its first read after it
            if parse.admission_due is not None and not await self._admit_body(
                    parse, writer):
                return  # refused: its 503 is queued
            if parse.continue_due:
                parse.continue_due = False
                if writer.is_closing():
                    raise _Closed
                writer.write(_CONTINUE)
                await self._drain(writer)
                if parse.ready:  # made to give way meanwhile (_give_way): its 503
                    return
            why = ""
            if parse.in_body and not config.http_min_body_rate:  # no rate: pauses only
                timeout = config.http_idle_timeout_s
            elif parse.in_body:
                now = loop.time()
                if body_since is None:
                    body_since, body_from = now, parse.received
                received = parse.received - body_from
                deadline = (body_since + config.http_idle_timeout_s
                            + received / config.http_min_body_rate)
                timeout = min(config.http_idle_timeout_s, deadline - now)
                if timeout < config.http_idle_timeout_s:
                    why = (f"its body came slower than {config.http_min_body_rate} bytes/s "
                           f"({received} bytes in {now - body_since:.1f} s; the cluster "
                           f"file's http_min_body_rate)")
            elif header_deadline is not None:
                timeout = header_deadline - loop.time()
            elif parse.in_head:  # pipelined: the next request's head had begun
                header_deadline = loop.time() + config.http_header_timeout_s
                timeout = config.http_header_timeout_s
            else:  # kept alive: nothing of the next request yet
                timeout = config.http_idle_timeout_s
            if parse.in_body:  # closed without an answer, as a head (_body_timeout)
                why = _body_timeout(why or f"nothing of it for {max(timeout, 0.0):.1f} s")
            # the answers the kernel still holds for the client, halfway through the
            # wait (what its own receive buffer takes in has moved by then)
            halfway: list[int] = []
            probe = None
            if not parse.in_body and unsent_bytes(writer.transport):
                probe = loop.call_later(max(timeout, 0.0) / 2, _note_unsent, halfway,
                                        writer.transport)
            try:
                data = await self._read(reader, max(timeout, 0.0), why, parse.gone)
            except _Closed:  # a timeout: nothing more is read, its reservation goes
                self._release(parse)
                if halfway and _took_nothing(halfway[0], unsent_bytes(writer.transport),
                                             config.http_min_body_rate * timeout / 2):
                    # its client took its answers slower than http_min_body_rate in the
                    # wait's second half: reset, as _drain does. Closed with a FIN, the
                    # socket stayed an orphan in FIN-WAIT-1 holding them (1.3 MB each
                    # of 20 clients that pipelined small GETs and read nothing, 442
                    # bytes taken in 15 s), and a client that read again got them all
                    # and a clean end (session 55's third new-user probe, probes/21f).
                    # One that reads, however slowly, gets its answers, then the FIN.
                    reset(writer.transport)
                raise
            finally:
                if probe is not None:
                    probe.cancel()
            if parse.ready:  # made to give way while it waited (_give_way): its 503
                return
            if not data:  # closed: between requests, or in the middle of one (a 400:
                if writer.is_closing():  # it may have closed its side only); or closed
                    # by us: evicted at the cap (ConnectionSlots), or the node stops.
                    # Not the client's malformed request: before session 14's probe B
                    # every eviction counted in `malformed` and as a 400 answered
                    raise _Closed
                if parse.in_head or parse.in_body:
                    parse.truncated()
                    return
                raise _Closed
            if header_deadline is None and not parse.in_body:
                header_deadline = loop.time() + config.http_header_timeout_s
            parse.feed(data)
            self._settle(parse)
            # at the cap the connection idle the longest is evicted, not the
            # oldest (impl.connections; session 19's service probe)
            self.slots.active(writer)

    def _prepare(self, request: _Request, arrived: str = "") -> _Answer | _Prepared | _Removal:
        """What ``request`` asks, checked: the answer to give at once (a refusal, or a
        read-only resource's), or the message to run. Reads nothing of the body but
        the value it wraps, so a PUT's head is checked with an empty one before its
        body is read (:meth:`_head_refusal`)."""
        if request.target == b"*":
            # the asterisk form (RFC 9112 3.2.4) names the server itself, and only
            # for OPTIONS (RFC 9110 9.3.7: what the server supports, here the methods
            # of its resources); before session 15's probe B, `OPTIONS *` was 404 "no
            # resource '*'", and so was `GET *`, a target no method may have
            if request.method == b"OPTIONS":
                return 200, b"", [("allow", "GET, HEAD, PUT, DELETE")]
            return 400, error_body(errors.BadRequestError(
                f"request target '*' with {request.method.decode('latin-1')[:20]}: the "
                "asterisk form is only for OPTIONS (RFC 9112 3.2.4)")), []
        try:
            path, query = _split_target(request.target)
        except errors.DynamoError as error:
            return http_status(error), error_body(error), []
        method = request.method.decode("ascii", "replace")
        if method == "HEAD":  # a GET whose body is not sent (RFC 9110 9.3.2; _respond)
            method = "GET"
        if method == "GET" and path in _READ_ONLY:
            return self._read_only(path, request.headers)
        if path == ADMIN_FORCE_REMOVE:
            return self._force_remove(method, query, request.headers, arrived)
        if not path.startswith("/kv/"):
            if path in _READ_ONLY:
                return _not_allowed(method, path, "GET, HEAD")
            return 404, {"error": "NotFound", "message": f"no resource {path!r}",
                         "outcome": "not-written"}, []
        if method not in _PARAMETERS:  # before its fields are read: a TRACE with a
            # malformed If-Match was 400 naming the field, not 405 (schemathesis's
            # "undeclared method" check; session 50's service probe)
            return _not_allowed(method, path, "GET, HEAD, PUT, DELETE")
        raw_key = path[len("/kv/"):]
        if (misdirected := self._misdirected(request.headers)) is not None:
            return misdirected
        try:
            key = _key_of(raw_key)
        except errors.DynamoError as error:
            return http_status(error), error_body(error), []
        if not key:  # before, the message named an internal
            # field: "GetRequest.key: must not be empty" (session 14's probe B)
            return 400, error_body(errors.BadRequestError(
                f"key: empty ({method} /kv/ names no key): a key is at least one byte "
                "after /kv/")), []
        headers = request.headers
        if len(key) > self.config.max_key_bytes and not self._stored_key(method, key, headers):
            return 414, error_body(errors.TooLargeError(
                f"key is {len(key)} bytes, over the limit of {self.config.max_key_bytes} "
                "(max_key_bytes)"
                + ("" if len(key) > KEY_BYTES_CEILING or method != "PUT" else
                   " (a key stored before max_key_bytes was lowered is read, deleted, "
                   "and written with the context of a read that found a value)"))), []
        coding = headers.get(b"content-encoding", b"").strip(b" \t").lower()
        if method == "PUT" and not _list_of(coding) <= {b"", b"identity"}:
            # RFC 9110 15.5.16: 415 for a content coding not supported, with
            # Accept-Encoding naming those that are. The value would be stored coded
            # and served without its coding (a gzip body under "Content-Type:
            # application/json", session 14's probe B); Riak stores the coding as
            # the object's metadata, we keep none, so it is refused, nothing written
            return 415, error_body(errors.BadRequestError(
                f"Content-Encoding {coding.decode('latin-1')[:80]!r}: values are stored "
                "and served as sent, without a content coding; send the value decoded "
                "(or coded by the application, with a Content-Type that says so)")), [
                ("accept-encoding", "identity")]
        if method == "PUT" and b"content-range" in headers:
            # RFC 9110 14.4: a server that allows PUT MUST answer 400 to a PUT with
            # Content-Range (partial content PUT as if whole); it was stored as the
            # key's whole value (session 14's probe B)
            return 400, error_body(errors.BadRequestError(
                "Content-Range on a PUT: a value is written whole (RFC 9110 14.4); send "
                "the whole value without Content-Range")), []
        if method == "PUT":
            try:  # a malformed digest: refused with its head; the body's, in _route
                body_digests(headers)
            except errors.DynamoError as error:
                return http_status(error), error_body(error), []
        unevaluated = [name for name in _UNEVALUATED if name in headers]
        if method in ("PUT", "DELETE") and unevaluated:
            # RFC 9110 13.1/13.2.1: a server MUST evaluate such a precondition before
            # the method; they were ignored, so `If-None-Match: *` (create only
            # if absent) on an existing key was a blind put (session 14's probe B).
            # If-Match and If-None-Match are evaluated since session 49
            # (impl.http_conditions); these need a modification date that orders
            # writes, which the node keeps not (a value's Last-Modified since session
            # 53 is the wall clock of the node that took it, never used to order)
            return 501, error_body(errors.BadRequestError(
                f"{_conditional_names(unevaluated)} on a {method}: the node keeps no "
                "modification date that orders writes (Last-Modified is the wall clock "
                "of the node that took the write, informational), so this precondition "
                "is not evaluated "
                "(docs/runtime.md, 'Conditional requests'); nothing was written. Use "
                "If-Match or If-None-Match with the ETag a get answered, or write with "
                "its X-Vdynamo-Context")), []
        if method in ("PUT", "DELETE") and b"x-riak-vclock" in headers:
            # Riak's context header, which this node does not read: the write was a
            # blind one, a sibling of (in lww, a replacement for) the version the
            # client read and meant to supersede (session 48's review)
            return 400, error_body(errors.BadRequestError(
                f"X-Riak-Vclock on a {method}: this node reads a get's context from "
                "X-Vdynamo-Context, not Riak's header (the write would be a blind one, "
                "a sibling of what it meant to replace); send the context a get "
                "answered in X-Vdynamo-Context; nothing was written")), []
        riak = _riak_metadata(headers) if method == "PUT" else None
        if riak:
            # Riak's user metadata and secondary-index fields (riak_kv_wm_object
            # stores them with the object, a get answers them): this node keeps a
            # value and its Content-Type only, so they were dropped silently and the
            # value stored without them (session 50's service probe)
            return 400, error_body(errors.BadRequestError(
                f"{riak} on a PUT: this node stores a value and its Content-Type only, "
                "not Riak's user metadata (X-Riak-Meta-*), secondary indexes "
                "(X-Riak-Index-*) or links (Link: ...; riaktag=...): they would be "
                "lost, and a get would not answer "
                "them; keep them in the value; nothing was written")), []
        try:
            conditions = Preconditions.of(headers)  # a malformed one: 400
            _check_parameters(method, query, conditional=conditions is not None)
            # a GET's Accept, read before the request runs: a malformed one is 400
            accept = accept_ranges(headers.get(b"accept")) if method == "GET" else None
            message = self._request_of(method, key, query, headers, request.body)
        except errors.DynamoError as error:
            return http_status(error), error_body(error), []
        if message is None:
            return _not_allowed(method, path, "GET, HEAD, PUT, DELETE")
        return _Prepared(key, query, accept, message, conditions)

    def _head_refusal(self, parse: _Parse) -> _Answer | None:
        """The refusal a PUT whose head ``parse`` has read will get whatever its body
        (a bad context, query or key, a content coding, a conditional header), given
        before its admission and its ``100 Continue``: before session 26's user
        probe such a put got its 100 (7 of 7: a context ``!!!!``, ``gzip``,
        ``If-Match``, ``w=9``, a 2,000-byte key, an unknown parameter) and sent its
        whole value for the refusal, and without ``Expect`` it waited its turn first
        (under load a 503, then the 400 at its retry: session 24's note). None if
        the head is served."""
        answer = self._prepare(_Request(parse.parser.get_method(), parse.url, parse.headers))
        if isinstance(answer, _Removal):  # no PUT: never here (not a /kv/ path)
            return None
        if isinstance(answer, _Prepared):
            # a put with Expect fewer than W of its homes could store, by its
            # Content-Length: its 413 now, not after its whole value (session 30's
            # review of NodeServer.unreplicable: a 1.5 MiB put got its 100 first).
            # Not without Expect: that body is read and dropped (not kept) and the
            # route would judge an empty value, and store it
            message, length = answer.message, parse.headers.get(b"content-length")
            if (parse.continue_due and isinstance(message, PutRequest) and not message.delete
                    and length is not None and length.isdigit()
                    and (too_large := self.server.unreplicable(message, int(length)))):
                return 413, error_body(too_large), []
            return None
        if answer[0] < 400:
            return None
        return answer

    async def _route(self, request: _Request, arrived: str = "") -> _Answer:
        """Answer ``request``, which came in at this node's local address ``arrived``
        (the host of the connection's ``sockname``; "": not known)."""
        server = self.server
        prepared = self._prepare(request, arrived)
        if isinstance(prepared, _Removal):
            return await self._remove(prepared.node, prepared.stamp)
        if not isinstance(prepared, _Prepared):
            return prepared
        key, query, accept, message, conditions = prepared
        if isinstance(message, PutRequest) and not message.delete:
            try:  # the value as received against the client's digest of it
                check_body_digests(request.headers, request.body)
            except errors.DynamoError as error:
                return http_status(error), error_body(error), []
            if (too_large := server.unreplicable(message)) is not None:
                return 413, error_body(too_large), []  # fewer than W homes could take it
        refusal: errors.DynamoError | None
        if request.reserved and not request.lapsed:  # admitted before its body was read
            refusal = server.overloaded() or server.unavailable()  # (_admit_body)
        else:  # read whole, or its reservation's hold lapsed: admitted now, whole
            self._release(request)
            refusal = await server.admit(
                len(message.value) if isinstance(message, PutRequest) else 0,
                _written_at_once(message, conditions)) or server.unavailable()
        if refusal is not None:  # refused before anything is written anywhere
            return 503, error_body(refusal), [("retry-after", str(self.config.retry_after_s))]
        if isinstance(message, PutRequest) and conditions is not None:
            return await self._in_key_turn(message.key, self._serve(
                request, key, query, accept, message, conditions))
        return await self._serve(request, key, query, accept, message, conditions)

    async def _in_key_turn(self, key: bytes,
                           write: Coroutine[Any, Any, _Answer]) -> _Answer:
        """Serve the conditional ``write`` of ``key`` (its read, its precondition,
        its write) once no other conditional write of ``key`` is in progress at
        this node, waiting at most :meth:`NodeServer.client_wait` for its turn (then
        503 with Retry-After, nothing written).

        Session 53: the read and the write of a conditional put were not atomic even
        at one node: two ``If-None-Match: *`` creates of one key through one node
        both read no value, both were written, both answered 200 (siblings). Taken in
        turn, the second reads after the first was acknowledged by W replicas, so
        with R + W > N (and no fallback in the write's quorum) it sees the first and
        is 412. Across nodes nothing is serialized: Dynamo has no compare-and-set,
        and two nodes' conditional writes may both be acknowledged (siblings,
        neither lost), as Riak's. A write without a precondition does not wait."""
        lock, holders = self._key_turns.setdefault(key, (asyncio.Lock(), [0]))
        holders[0] += 1
        started = False
        try:
            try:
                async with asyncio.timeout(self.server.client_wait()):
                    await lock.acquire()
            except TimeoutError:
                refusal = errors.OverloadedError(
                    "another conditional write of this key is in progress at this node "
                    "and did not end in time: nothing was written")
                return 503, error_body(refusal), [
                    ("retry-after", str(self.config.retry_after_s))]
            try:
                started = True
                return await write
            finally:
                lock.release()
        finally:
            if not started:  # refused, or its connection closed while it waited
                write.close()
            holders[0] -= 1
            if not holders[0]:
                del self._key_turns[key]

    async def _serve(self, request: _Request, key: bytes, query: dict[str, list[str]],
                     accept: list[tuple[bytes, bytes, float]] | None,
                     message: GetRequest | PutRequest,
                     conditions: Preconditions | None) -> _Answer:
        """Serve the admitted request ``message`` (:meth:`_route`'s second half)."""
        server = self.server
        if isinstance(message, PutRequest) and (
                conditions is not None or (message.delete and not message.context)):
            # a delete with no context reads the key first (with the request's R) and
            # deletes what it read, as Riak does when no vclock is given
            # (riak_kv_delete:delete/8); nothing found: 404, nothing written. A write
            # with If-Match or If-None-Match reads it first too, and is refused 412
            # when a precondition is false on what it read; when both hold and it
            # brings no context, it writes with the read's if its If-Match named the
            # state read or the key has no value (Preconditions.named), and in lww
            # (no sibling to keep there: the read's context stamps it above the
            # version read, impl.versions.apply_put's hybrid rule)
            read = await self._read_key(message, query)
            if not isinstance(read, GetResult):
                return read
            if conditions is not None and (
                    failed := _precondition_failed(conditions, message, read)):
                return failed
            if message.delete and not message.context and not read.values:
                return (self._absent_long_key(message.key)
                        or _get_answer(message.key, read, None))
            if not message.context and (
                    message.delete or not read.values or self.config.clock == "lww"
                    or (conditions is not None and conditions.named(read))):
                message = dataclasses.replace(
                    message, request_id=server.next_request_id(), context=read.context)
        self._release(request)  # it starts now: its bytes count in flight from here
        reply = await server.request(message)
        if (type(reply.error) in (errors.BadRequestError, errors.TooLargeError)
                and isinstance(message, PutRequest) and message.delete):
            # A delete refused before anything was written (the tombstones of its
            # retries past max_siblings): if nothing is left to delete, it is
            # answered as a delete of a key with no value, 404, nothing written
            read = await self._read_before_delete(message, query)
            if not isinstance(read, GetResult) and read[0] != 503:  # its 404 (or 414)
                return read
        if reply.error is not None:
            failed = self._failed(reply.error, unknown=isinstance(message, PutRequest)
                                  and _outcome_unknown(reply.error))
            if failed[0] == 504 and isinstance(message, PutRequest):
                # its replicas did not answer in time: the small writes' lane shuts
                server.admission.shut_lane()  # (impl.admission, session 53)
            return failed
        if isinstance(reply.result, GetResult):
            server.metrics.siblings.observe(len(reply.result.values))
            if not reply.result.values and (refused := self._absent_long_key(key)):
                return refused
            return _get_answer(key, reply.result, accept, conditions,
                               now_ms=int(server.now() * 1000))
        assert isinstance(reply.result, PutResult)
        context = base64.b64encode(reply.result.context).decode()
        return 200, {"context": context, "key": base64.b64encode(key).decode()}, [
            ("x-vdynamo-context", context)]

    async def _read_before_delete(self, message: PutRequest,
                                  query: dict[str, list[str]]) -> GetResult | _Answer:
        """Read the key of the delete ``message`` (with the request's R): the read's
        result if it found a value, else the answer to give (the read's 404 with its
        context, or its error: 503 when R was not reached; nothing written either way).

        Read first by a delete without a context (it deletes what it read), and
        after a delete refused 400 (:class:`errors.BadRequestError`): before session
        26's user probe a DELETE retried with one context (a client whose answers
        were lost, one loop) wrote a tombstone sibling at each try, and the 26th and
        later were answered 400 "key has more than 25 siblings: read and reconcile
        them first" of a key with no value left (40 retries: 25 x 200, 15 x 400),
        where RFC 9110 9.2.2 makes a DELETE safe to retry; Riak answers a delete of
        a key with no value 404. A refusal of a key that still holds a value, or
        whose read fails, keeps its 400."""
        read = await self._read_key(message, query)
        if isinstance(read, GetResult) and not read.values:
            return (self._absent_long_key(message.key)
                    or _get_answer(message.key, read, None))
        return read

    async def _read_key(self, message: PutRequest,
                        query: dict[str, list[str]]) -> GetResult | _Answer:
        """Read the key of the write ``message`` (with the request's R and PR): the
        read's result, found or not, or the answer to give when it failed (503 when
        R was not reached), which says that nothing was written."""
        server = self.server
        read = await server.request(GetRequest(
            server.next_request_id(), message.key, r=_quorum(query, "r", self.config.n),
            client_id=message.client_id, pr=_quorum(query, "pr", self.config.n, low=0)))
        if read.error is not None:  # the read failed: nothing was written. Said so:
            # until session 35's service probe a DELETE at r=3 with a replica down got
            # 503 "get reached 2 of R=3 replicas before the timeout", naming a get
            status, body, extra = self._failed(read.error, unknown=False)
            assert isinstance(body, dict)
            what, done = ("delete", "deleted") if message.delete else ("put", "written")
            return status, {**body, "message": f"{what}: its read of the key first (with "
                            f"R) failed, nothing was {done}: {body['message']}"}, extra
        assert isinstance(read.result, GetResult)
        return read.result

    def _failed(self, error: errors.DynamoError, *, unknown: bool) -> _Answer:
        """A failed request's answer; ``unknown``: a write that may be stored (504;
        a StorageError stays 500: the node's disk failed, its outcome unknown; a
        QuorumError answered at once because replicas failed, 503: Riak's
        ``too_many_fails``, session 50)."""
        status = (504 if unknown and not isinstance(error, errors.StorageError) and not (
            isinstance(error, errors.QuorumError) and error.replicas_failed)
                  else http_status(error))
        extra = [("retry-after", str(self.config.retry_after_s))] if status == 503 else []
        return status, error_body(error, unknown=unknown), extra

    def _force_remove(self, method: str, query: dict[str, list[str]],
                      headers: dict[bytes, bytes], arrived: str = "") -> _Answer | _Removal:
        """``POST /admin/force-remove?node=NAME`` with ``Authorization: Bearer TOKEN``
        (:func:`admin_token` of the cluster secret): this node force-removes ``NAME``,
        a member down for good (:meth:`impl.runtime.NodeServer.force_remove`; riak_core's
        ``riak-admin cluster force-remove``). 200 ``{"removed": NAME}``; 401 naming
        what is wrong with the token (:meth:`_admin_refusal`); 409 naming why it is
        refused (nothing changed). An authorized request is a :class:`_Removal`, which
        :meth:`_route` performs (:meth:`_remove`)."""
        if method != "POST":
            return _not_allowed(method, ADMIN_FORCE_REMOVE, "POST")
        unknown = sorted(set(query) - {"node"})
        if unknown:  # served as if absent until session 20's service probe (a
            # mistyped ?nodes=n3&node=n2 removed n2); /kv/ refuses them alike
            return 400, {"error": "BadRequest", "message": f"unknown query parameter "
                         f"{unknown[0][:80]!r}: POST {ADMIN_FORCE_REMOVE} takes node",
                         "outcome": "not-written"}, []
        names = query.get("node", [])
        refusal = self._admin_refusal(headers.get(b"authorization", b""),
                                      names[0] if len(names) == 1 else "", arrived)
        if refusal is not None:
            return 401, {"error": "Unauthorized", "message": refusal,
                         "outcome": "not-written"}, [("www-authenticate", "Bearer")]
        if len(names) != 1 or not names[0]:
            return 400, {"error": "BadRequest", "message": "force-remove: give the node "
                         "to remove once: ?node=NAME", "outcome": "not-written"}, []
        token = headers[b"authorization"].partition(b" ")[2].lstrip(b" ")
        return _Removal(names[0], int(token.partition(b".")[0]))  # (verified above)

    async def _remove(self, node: str, stamp: int) -> _Answer:
        """Force-remove ``node`` (an authorized :class:`_Removal`): 200 ``{"removed":
        NODE}`` once the removal is durable (since session 32: before, the 200 came
        before its commit, and a node killed at once came back without it,
        :meth:`impl.runtime.NodeServer.force_remove`); 409 naming why it is refused
        (nothing changed); a failed commit or none in time: its status (500, 504) with
        ``"outcome": "unknown"``, saying so. Session 32's review: a commit that failed
        answered 500 ``"outcome": "not-written"`` (``vdynamo remove``: "refused"), yet
        the removal, taken in memory, was gossiped on: 1 s later the peer and the
        file held it, and asked again it answered 409 "already removed". 503, nothing
        changed, when this node serves nothing (:meth:`NodeServer.unavailable`: its
        peers refuse its settings, it is stopping, it has not joined): session 32's
        review: a removal asked of a node its peers refused was taken and answered 200
        (it could reach the cluster only once that node was fixed and restarted).
        409 too for a token (its ``stamp``) that is not stamped after this start plus
        :data:`ADMIN_TOKEN_WINDOW_S` while this node has heard from no other member
        since its start (red team 11 and its review, session 60)."""
        if (down := self.server.unavailable()) is not None:
            return 503, error_body(down), [("retry-after", str(self.config.retry_after_s))]
        if not any(peer != self.server.name for peer in self.server.node.last_heard) and (
                stamp <= (safe := int(self.started_at) + ADMIN_TOKEN_WINDOW_S)):
            # a store put back from a backup forgot the nonces it took since, and only
            # a peer can tell it its store is behind (it then refuses the window's
            # tokens: STORE_RENEWED_META). Red team 11 (session 60), probes/20o: a
            # member restored from a backup with every peer down took a token it had
            # taken after the backup again and removed n4: 200. Any token the store
            # took before it was put back is stamped before this start plus the
            # window (the skew a token's stamp is allowed), as for a renewal
            # (_renewal_bound). Refusing every force-remove while alone (red team
            # 11's rule) left a lone survivor of a disaster, restarted, unable to
            # remove its dead peers for ever (review, probes/20p: 409 after 300 s)
            return 409, {"error": "Refused", "message": (
                f"force-remove: node {self.server.name} has heard from no other member "
                f"since it started at {int(self.started_at)}, so it cannot know whether "
                "its store is current (one put back from a backup forgot the admin "
                "tokens it took since: a replay could be one), and it takes no token "
                f"stamped {stamp}, not after {safe:.0f} (its start plus the "
                f"{ADMIN_TOKEN_WINDOW_S:.0f} s window); nothing was changed: make a new "
                f"token {_again_in(safe + 1 - self.server.now())}, or once a peer is up, "
                "or ask another member"), "outcome": "not-written"}, []
        try:
            await self.server.force_remove(node)
        except InvalidValueError as error:
            return 409, {"error": "Refused", "message": str(error),
                         "outcome": "not-written"}, []
        except errors.DynamoError as error:  # its commit failed, or took too long
            body = error_body(error, unknown=True)
            body["message"] = (
                f"force-remove of {node!r} was taken by this node but is not known durable "
                f"({error}); it may still be applied (this node gossips it on): see GET "
                "/status (membership), or ask again (409 'already removed' once it was)")
            return http_status(error), body, []
        return 200, {"removed": node}, []

    def _admin_refusal(self, authorization: bytes, node: str,
                       arrived: str = "") -> str | None:
        """Why an admin request's ``Authorization`` does not let it remove ``node``
        through this member (None: it does): not ``Bearer STAMP.NONCE.TAG``; a tag
        that is not :func:`admin_authorization`'s for this cluster, ``node`` and this
        member; a stamp over :data:`ADMIN_TOKEN_WINDOW_S` from this node's clock; a
        nonce already taken (a replay). The nonces taken are kept for the window,
        in the node's store (:data:`ADMIN_NONCES_META`), so a restart forgets none.

        Until session 19's service probe the token was one constant of the secret
        and the cluster's name (sent as is, in clear, on every removal): anyone who
        saw one ``vdynamo remove`` on the wire could replay it at any time, to any
        member, for any node (a captured ``?node=n3`` request removed n2, down
        since, a day later)."""
        # RFC 9110 11.1/11.4: the scheme is case-insensitive, and one or more
        # spaces part it from the credentials (``bearer T`` and ``Bearer  T`` were
        # 401 until session 18's review)
        scheme, _, sent = authorization.partition(b" ")
        if scheme.lower() != b"bearer":
            return ("admin requests need Authorization: Bearer <token made with the "
                    "cluster secret for the node to remove and this member> (vdynamo "
                    "remove sends it)")
        parts = sent.lstrip(b" ").split(b".")
        if (len(parts) != 3 or not parts[0].isdigit() or len(parts[0]) > 20
                or not _HEX_NONCE.fullmatch(parts[1]) or not _HEX_TAG.fullmatch(parts[2])):
            return ("admin token: not STAMP.NONCE.TAG (decimal seconds, 32 and 64 hex digits): "
                    "made by vdynamo remove, impl.http_api.admin_authorization")
        stamp, nonce, tag = int(parts[0]), parts[1].decode(), parts[2]
        config = self.config
        # any spelling of this member's own peer socket (the review of red team 13:
        # an operator's copy of the file may spell it otherwise than the member's)
        addresses = self.server.own_peer_addresses(arrived)
        address = addresses[0] if addresses else ""
        if not any(hmac.compare_digest(admin_authorization(
                config.secret, config.name, node=node, member=self.server.name,
                address=spelled, stamp=stamp, nonce=nonce).rpartition(".")[2].encode(), tag)
                for spelled in addresses or [""]):
            return (f"admin token does not verify: made with another secret or cluster "
                    f"name, or for another node than {node[:80]!r} or another member "
                    f"than {self.server.name} at peer address {address[:80]} (a member "
                    "of another cluster made from a copy of this cluster file?)")
        now = self.server.now()
        if abs(now - stamp) > ADMIN_TOKEN_WINDOW_S:
            return (f"admin token made {now - stamp:+.0f} s from this node's clock: a "
                    f"token is good for {ADMIN_TOKEN_WINDOW_S:.0f} s either side (make a "
                    "new one; check the clocks if this persists)")
        renewed = self.server.storage.get_meta(STORE_RENEWED_META)
        if renewed is not None and renewed.isdigit() and (
                stamp <= (safe := self._renewal_bound(renewed, now))):
            # RFC 4120 3.2.3: a server that lost track of the authenticators it
            # took refuses those that may be among them until the skew window
            # has passed. A replaced disk (or a store set aside) lost the nonces
            # taken before it (ADMIN_NONCES_META): a token the member took before
            # its disk was replaced was taken again after, within the window (409
            # past the check until session 20's service probe). The bound is
            # inclusive: renewed at T, the old store took stamps up to T + window,
            # int(T) + window among them (taken again until session 21's review)
            restarted = (f" (and it restarted at {int(self.started_at)}, before "
                         f"{ADMIN_TOKEN_WINDOW_S:.0f} s had run since: its clock may have "
                         f"been set between)" if safe > int(renewed) + ADMIN_TOKEN_WINDOW_S
                         else "")
            return (f"admin token stamped {stamp}, not after {safe:.0f}: this node's store "
                    f"was replaced (or set aside) at {int(renewed)}{restarted} and lost the "
                    f"record of the tokens taken before, so it takes none stamped within "
                    f"{ADMIN_TOKEN_WINDOW_S:.0f} s after (a replay could be one); make one "
                    f"for another member, or again in {safe + 1 - now:.0f} s")
        known = self._taken_nonces()
        taken = {seen: at for seen, at in known.items() if now - at <= ADMIN_TOKEN_WINDOW_S}
        # the latest stamp of a nonce forgotten: one stamped at or before it may be a
        # replay, however the clock moved since (red team 9, session 59: forgotten
        # while this node's clock was ahead, a captured token's stamp was inside the
        # window again once the clock was set right, and it removed a node: 200)
        forgot = max([self._admin_horizon, *(at for seen, at in known.items()
                                             if seen not in taken)])
        if nonce in taken:
            return "admin token already used (a replay): make a new one for each request"
        if stamp <= forgot:
            # a horizon ahead of this clock (tokens of a host as far ahead, forgotten
            # before the clocks were set right): a new token is refused too until the
            # clock passes it, so the line says when (review of red team 9, session
            # 59: "make a new one", refused again for up to the window)
            when = (f"make one for another member, or again in {forgot + 1 - now:.0f} s"
                    if forgot >= now else "make a new one")
            return (f"admin token stamped {stamp}, not after {forgot:.0f}: this node forgot "
                    f"the tokens it took stamped up to {forgot:.0f} (its clock was ahead "
                    f"of this token's stamp by over the window then), so a replay could be "
                    f"one; {when}")
        taken[nonce] = float(stamp)
        self._admin_nonces, self._admin_horizon = taken, forgot
        # kept in the store before the request is acted on, as Kerberos keeps its
        # replay cache on disk (RFC 4120 3.2.3): kept in memory until session 19's
        # review, a token the member had taken was taken again once it restarted
        # within the window (a captured request refused 409 while its node was up
        # removed it, down since, after the member's restart: 200)
        self.server.storage.set_meta(ADMIN_NONCES_META, "\n".join(
            [*(f"{seen} {at:.0f}" for seen, at in taken.items()),
             *([f"{_FORGOT} {forgot:.0f}"] if forgot else [])]).encode())
        return None

    def _renewal_bound(self, renewed: bytes, now: float) -> float:
        """The latest stamp a member whose store was renewed at ``renewed``
        (:data:`impl.node.STORE_RENEWED_META`, its clock's decimal seconds then)
        refuses at ``now`` (its clock): the renewal plus :data:`ADMIN_TOKEN_WINDOW_S`,
        and, until a start of this node has run the window after the renewal
        (:data:`ADMIN_RENEWAL_PASSED_META`, written here and at a stop:
        :meth:`note_renewal_passed`), this start's time plus the window.

        The renewal's time is read from the clock of the host the new disk started
        on. One behind (a spare not yet synced) and set right before a restart made
        the window end before the real time of the replacement, so a token the old
        disk took shortly before it failed was taken again (red team 9, session 59,
        probes/20l: 200 ``{"removed": "n4"}``). A node's clock moves with the
        monotonic clock within a start, so only the time one start ran can be
        trusted to have passed: a clock set between two starts reads like time the
        node was down. A start that ran the window after the renewal (the old
        disk's tokens then past the window of any clock that did not move within
        it) records so, and later starts keep the renewal's bound alone (RFC 4120
        3.2.3, as for the renewal itself)."""
        bound = int(renewed)
        if self.server.storage.get_meta(ADMIN_RENEWAL_PASSED_META) != renewed:
            bound = max(bound, int(self.started_at))
            if now > bound + ADMIN_TOKEN_WINDOW_S:  # this start ran the window
                self.server.storage.set_meta(ADMIN_RENEWAL_PASSED_META, renewed)
        return bound + ADMIN_TOKEN_WINDOW_S

    def note_renewal_passed(self) -> None:
        """At a stop: record that this start ran :data:`ADMIN_TOKEN_WINDOW_S` past
        the store's renewal, if it did (:meth:`_renewal_bound`), so the next start
        takes tokens at once; a start killed first records nothing (its next start
        waits the window again: it refuses more, never less)."""
        renewed = self.server.storage.get_meta(STORE_RENEWED_META)
        if renewed is not None and renewed.isdigit():
            self._renewal_bound(renewed, self.server.now())

    def _taken_nonces(self) -> dict[str, float]:
        """The nonces of the admin tokens this node took (with their stamps), as
        kept in its store under :data:`ADMIN_NONCES_META` (read once per start);
        a line that does not parse is skipped."""
        if self._admin_nonces is None:
            kept = self.server.storage.get_meta(ADMIN_NONCES_META) or b""
            self._admin_nonces = {}
            for line in kept.decode("ascii", "replace").splitlines():
                seen, _, at = line.partition(" ")
                if _HEX_NONCE.fullmatch(seen.encode()) and at.isdigit():
                    self._admin_nonces[seen] = float(at)
                elif seen == _FORGOT and at.isdigit():  # (:meth:`_admin_refusal`)
                    self._admin_horizon = float(at)
        return self._admin_nonces

    def _absent_long_key(self, key: bytes) -> _Answer | None:
        """The 414 of a key over ``max_key_bytes`` a read found no value of (as
        before session 18's service probe: such a key is only served while a value
        stored before the limit was lowered remains); None for a key within it."""
        if len(key) <= self.config.max_key_bytes:
            return None
        return 414, error_body(errors.TooLargeError(
            f"key is {len(key)} bytes, over the limit of {self.config.max_key_bytes} "
            "(max_key_bytes; no value is stored under it)")), []

    def _stored_key(self, method: str, key: bytes, headers: dict[bytes, bytes]) -> bool:
        """Whether a request for a key over ``max_key_bytes`` goes on, as one for a
        key stored before the limit was lowered (``impl.forwarding.check_request``
        decides again at the coordinator): a GET (or HEAD), a DELETE (without a
        context it reads first, and deletes only what it found), a PUT whose
        context holds a version of this key (contexts are bound to their key); a
        key over ``KEY_BYTES_CEILING`` never. Before session 18's service probe all
        were 414: lowering ``max_key_bytes`` stranded every longer key. A context
        that does not decode goes on, to be refused with its own 400."""
        if len(key) > KEY_BYTES_CEILING or method not in ("GET", "PUT", "DELETE"):
            return False
        raw = headers.get(b"x-vdynamo-context")
        if method == "GET" or (method == "DELETE" and raw is None):
            return True
        if raw is None:
            return False
        try:
            return bool(decode_context(
                _context_of(raw), key=key, mode=ClockMode(self.config.clock),
                secret=self.config.context_secret, max_bytes=self.config.max_context_bytes))
        except errors.DynamoError:
            return True

    def _read_only(self, path: str, headers: dict[bytes, bytes]) -> _Answer:
        """A GET of a read-only resource (:data:`_READ_ONLY`), its ``If-Match`` and
        ``If-None-Match`` evaluated when its answer is a 2xx (RFC 9110 13.2.1; a
        ``/health/ready`` 503 ignores them): these resources have no entity tag, so
        an If-Match of tags is false (412, nothing sent) and ``If-None-Match: *``
        false (304, no content); ``If-Match: *`` and an If-None-Match of tags hold; a
        malformed one is 400 naming it, as on a key (:mod:`impl.http_conditions`).
        Before session 51 they were ignored here (a 200 for ``If-Match: "x"``)."""
        status, payload, extra = _READ_ONLY[path](self)
        if not 200 <= status < 300:
            return status, payload, extra
        try:
            conditions = Preconditions.of(headers)
        except errors.DynamoError as error:
            return http_status(error), error_body(error), []
        verdict = None if conditions is None else conditions.untagged_status()
        if verdict is None:
            return status, payload, extra
        kept = [(name, value) for name, value in extra if name != "content-type"]
        if verdict[0] == 304:
            return 304, b"", kept
        return 412, {"error": "PreconditionFailed", "message": (
            f"{verdict[1]} on a GET of {path}: the precondition is false (this resource "
            "is the node's state now and has no entity tag: no listed tag matches it, "
            "only If-Match: * holds); nothing is sent"), "outcome": "not-written"}, kept

    def _status(self) -> _Answer:
        """``/status``: the node's (:meth:`impl.runtime.NodeServer.status`), its
        ``cluster_id``, and ``names_keys``: true, this node names the key of every
        answer about one (:func:`_get_answer`, a PUT's and a DELETE's JSON ``key``;
        session 37), so a client refuses its answer naming none as no answer of it
        (session 38: a node of before states none, and its answers are taken)."""
        return 200, {**self.server.status(), "cluster_id": self.cluster_id,
                     "names_keys": True}, [*_STATE_CACHING]

    def _misdirected(self, headers: dict[bytes, bytes]) -> _Answer | None:
        """421 Misdirected Request (RFC 9110 15.5.20), nothing done, for a request whose
        ``X-Vdynamo-Cluster`` (the :func:`cluster_id` its client learned from
        ``/status``) is not this cluster's; None if it is, or none was sent. A client
        given the addresses of two clusters by mistake sent its requests to the other
        cluster when the first did not answer: before session 29's user probe a put
        meant for cluster A was stored in B and a get answered B's value as A's. The
        DataStax drivers likewise ignore a host whose cluster name is not theirs
        (``ClusterNameMismatchException``: "This host will be ignored")."""
        sent = headers.get(b"x-vdynamo-cluster")
        if sent is None or sent.strip(b" \t").lower() == self.cluster_id.encode():
            return None
        shown = sent[:40].decode("latin-1")
        if not _CLUSTER_ID.fullmatch(sent.strip(b" \t")):
            # a name, or anything but an id: "another cluster ('vdynamo', ...)" for a
            # header naming 'vdynamo' itself until session 32's service probe
            return 421, {"error": "MisdirectedRequest", "message": (
                f"X-Vdynamo-Cluster {shown!r} is not a cluster_id: it takes the 32 hex "
                f"digits of /status's cluster_id (this node's: {self.cluster_id}, of "
                f"cluster {self.config.name!r}), not a cluster's name; nothing was done"),
                "outcome": "not-written"}, []
        return 421, {"error": "MisdirectedRequest", "message": (
            f"X-Vdynamo-Cluster {shown!r}: this node belongs to "
            f"another cluster ({self.config.name!r}, cluster_id {self.cluster_id}); the "
            "client learned its ring from a node of that one (are the addresses given to "
            "it of one cluster?); nothing was done"), "outcome": "not-written"}, []

    def _health(self) -> _Answer:
        return 200, self.server.health(), [*_STATE_CACHING]

    def _ready(self) -> _Answer:
        health = self.server.health()
        return (200 if health["ready"] else 503), health, [*_STATE_CACHING]

    def _metrics(self) -> _Answer:
        return 200, self.server.metrics.render(), [("content-type", METRICS_CONTENT_TYPE),
                                                   *_STATE_CACHING]

    def _openapi(self) -> _Answer:
        if self._document is None:
            self._document = json.dumps(openapi.document(self.config)).encode()
        return 200, self._document, [("content-type", "application/json")]

    def _request_of(self, method: str, key: bytes, query: dict[str, list[str]],
                    headers: dict[bytes, bytes], body: bytes) -> GetRequest | PutRequest | None:
        server = self.server
        named = headers.get(b"x-vdynamo-client")
        # In dvv a client's name places a put's dot alone (spec.dvv.dot_actor): past an
        # unread value of its pair a fresh pair, whatever the name (session 59; from
        # session 58's red team 8 to then every dvv write here was the shared id)
        client = _client_of(named) if named is not None else SHARED_CLIENT_ID
        n = self.config.n
        if method == "GET":
            return GetRequest(server.next_request_id(), key, r=_quorum(query, "r", n),
                              client_id=client, pr=_quorum(query, "pr", n, low=0))
        if method not in ("PUT", "DELETE"):
            return None
        context = _context_of(headers.get(b"x-vdynamo-context"))
        sent = headers.get(b"x-vdynamo-client-counter")
        rid = server.next_request_id()
        if sent is not None:
            counter = _number(sent, "X-Vdynamo-Client-Counter")
            if named is None:
                # A counter counts one named client's puts. Before session 16's probe
                # it made an unnamed writer the one shared client "http": in
                # client-vclock program A's blind put (counter 1) and program B's
                # (counter 2), both acknowledged, read back [B] alone ({http: 2}
                # superseded {http: 1}), the loss session 13's review fixed for
                # unnamed writes without a counter. Refused, nothing written
                raise errors.BadRequestError(
                    "X-Vdynamo-Client-Counter without X-Vdynamo-Client: a counter counts "
                    "the puts of the client that X-Vdynamo-Client names; name the client, "
                    "or send neither header (each write is then a client of its own)")
        elif named is None and self.config.clock == "client-vclock":
            # A write that names no client is a client of its own (Riak's HTTP
            # interface: riak_kv_wm_object gives a request without X-Riak-ClientId
            # riak_kv_util:mkclientid(node())): its put gets a fresh actor, so a
            # blind write is a sibling of what is stored, never superseded by (or
            # superseding) another anonymous writer's; before, every such write was
            # the one client "http", and two concurrent blind puts of two programs
            # kept only the later by the nodes' clocks (session 13's review)
            client, counter = f"{self._anonymous}.{rid}", 0
        else:
            # A named client that sends no counter: the node's clock in microseconds
            # stands for it, so that in client-vclock it still mints a counter above
            # its earlier puts' through any coordinator (one whose disk was replaced,
            # or that missed the last put); with the bare 0 such a blind put was
            # minted under the stored counter and dropped by every replica although
            # acknowledged (session 13's probe)
            counter = min(int(server.now() * 1_000_000), MAX_ID)
        if method == "PUT":  # its R and PR: its precondition's read (:meth:`_route`)
            _quorum(query, "r", n)
            _quorum(query, "pr", n, low=0)
            # its write time in the envelope, for a get's Last-Modified (session 53)
            value = seal_value(body, headers.get(b"content-type"),
                               int(server.now() * 1000))
            return PutRequest(rid, key, value, context=context,
                              w=_quorum(query, "w", n), client_id=client,
                              client_counter=counter, pw=_quorum(query, "pw", n, low=0))
        # DELETE: a put of a tombstone (impl.reaping, docs/impl.md); its R and PR
        # (checked here) are the read of a delete without a context (:meth:`_route`)
        _quorum(query, "r", n)
        _quorum(query, "pr", n, low=0)
        return delete_request(rid, key, context,
                              w=_quorum(query, "w", n), client_id=client,
                              client_counter=counter, pw=_quorum(query, "pw", n, low=0))


_READ_ONLY: dict[str, Callable[[HttpApi], _Answer]] = {
    "/status": HttpApi._status, "/health": HttpApi._health, "/health/ready": HttpApi._ready,
    "/metrics": HttpApi._metrics, "/openapi.json": HttpApi._openapi,
}


#: the conditional request headers (RFC 9110 13.1) the node does not evaluate,
#: lowercased as parsed: they need a modification date that orders writes, which
#: the node keeps not (a get's Last-Modified, since session 53, is the wall clock of
#: the node that took each write: informational; If-Range also a Range, which it
#: serves not). A GET ignores them (RFC 9110
#: 13.1.3-13.1.5); a PUT or DELETE is refused 501 (docs/runtime.md, "Conditional
#: requests"). If-Match and If-None-Match are evaluated (impl.http_conditions)
_UNEVALUATED = (b"if-modified-since", b"if-unmodified-since", b"if-range")


#: The admin resource of a force-remove (:meth:`HttpApi._force_remove`).
ADMIN_FORCE_REMOVE = "/admin/force-remove"


#: the label of :func:`cluster_id` (a NUL ends it: no cluster name extends it)
_CLUSTER_ID_LABEL = b"vdynamo-cluster-id\x00"


#: what :func:`cluster_id` gives: 32 hex digits (taken in either case)
_CLUSTER_ID = re.compile(rb"[0-9A-Fa-f]{32}")


def cluster_id(secret: bytes, cluster: str) -> str:
    """The public identity of the cluster named ``cluster`` whose secret is ``secret``:
    32 hex digits of HMAC-SHA256 of ``vdynamo-cluster-id\0`` and the name (it tells
    clusters apart, by secret or name, and reveals neither the secret nor any key made
    from it: no other HMAC of the secret has this label). Answered in ``/status``
    (``cluster_id``); a client sends it back in ``X-Vdynamo-Cluster`` and a node of
    another cluster refuses the request 421 (:meth:`HttpApi._misdirected`)."""
    return cluster_hmac(secret, _CLUSTER_ID_LABEL, cluster)[:32]


def cluster_hmac(secret: bytes, label: bytes, cluster: str) -> str:
    """HMAC-SHA256 of ``label`` (ending with a NUL, so that no cluster name extends
    it) and the UTF-8 ``cluster`` name under the cluster ``secret``, 64 hex digits: a
    value bound to the cluster that reveals not the secret (:func:`cluster_id`,
    :func:`admin_token`, ``impl.serve``'s store identity; each its own label)."""
    return hmac.new(secret, label + cluster.encode("utf-8"), hashlib.sha256).hexdigest()


#: the label of :func:`admin_token` (a NUL ends it: no cluster name extends it)
_ADMIN_LABEL = b"vdynamo-admin\x00"


def admin_token(secret: bytes, cluster: str) -> str:
    """The admin key of the cluster named ``cluster`` (its ``[cluster] name``), under
    which :func:`admin_authorization` signs each admin request (the bearer token
    itself until session 19's service probe): HMAC-SHA256 of ``vdynamo-admin\\0``
    and the name under the cluster ``secret``, 64 hex digits (never sent since
    session 19: only the tags it makes; the secret cannot be recovered from
    either; no other HMAC of the secret has this label:
    ``impl.context``, ``impl.peer_auth``). Bound to the name as contexts and peer
    hellos are since session 15's probe B: until session 18's review the token was
    that of the secret alone, so two clusters given one secret and distinct names
    (which refuse each other's peers and contexts) took each other's admin
    requests: green's operator force-removed a node of blue."""
    return cluster_hmac(secret, _ADMIN_LABEL, cluster)


#: seconds either side of the receiving node's clock an admin token is good for
#: (Kerberos' default clock skew); its nonce is remembered that long
ADMIN_TOKEN_WINDOW_S = 300.0

#: the store's meta entry of the admin tokens' nonces taken within the window
#: (one ``NONCE STAMP`` line each; :meth:`HttpApi._admin_refusal`), and since red team
#: 9 (session 59) a line ``forgot STAMP``: the latest stamp of a nonce forgotten
ADMIN_NONCES_META = "admin-nonces"
_FORGOT = "forgot"
#: the store's meta entry naming the renewal (``store-renewed-at``'s value) that a
#: start of this node ran :data:`ADMIN_TOKEN_WINDOW_S` past, by its clock within that
#: start (:meth:`HttpApi._renewal_bound`; red team 11, session 60)
ADMIN_RENEWAL_PASSED_META = "admin-renewal-passed"

_HEX_NONCE = re.compile(rb"[0-9a-f]{32}")
_HEX_TAG = re.compile(rb"[0-9a-f]{64}")


def _local_host(writer: asyncio.StreamWriter) -> str:
    """The host of this end of ``writer``'s connection (its ``sockname``: the local
    address a client reached this node at), "" when unknown (not a socket)."""
    name = writer.get_extra_info("sockname")
    return str(name[0]) if isinstance(name, tuple) and name else ""


def admin_authorization(secret: bytes, cluster: str, *, node: str, member: str,
                        address: str, stamp: int, nonce: str | None = None) -> str:
    """The bearer token of one ``POST /admin/force-remove?node=NODE`` sent to the
    member named ``member``, whose peer address is ``address`` (``host:port`` as
    the cluster file's ``[nodes.MEMBER] peer`` gives it, ``str`` of
    :class:`impl.runtime_config.Address`), of the cluster named ``cluster``, made
    at ``stamp`` (Unix seconds, the sender's clock): ``STAMP.NONCE.TAG``, NONCE 32
    hex digits (fresh, ``secrets.token_hex(16)``, unless given), TAG HMAC-SHA256
    under the key :func:`admin_token` of ``force-remove``, NODE, MEMBER, ADDRESS,
    STAMP and NONCE (NUL-separated), 64 hex digits. The member takes it once,
    within :data:`ADMIN_TOKEN_WINDOW_S` of its clock (:meth:`HttpApi._admin_refusal`),
    so a token seen on the wire cannot be replayed, sent to another member, or
    used for another node (as HTTP Digest's nonces and AWS Signature V4's signed
    dates bound a request; session 19's service probe), nor sent to the member of
    that name of another cluster made from a copy of the same cluster file (the
    secret and name kept, the addresses changed: a member's peer address is its
    own in the cluster; AWS Signature V4 signs the Host for the same reason; red
    team 13, session 61, probe 20q: such a replay removed staging's n4)."""
    nonce = secrets.token_hex(16) if nonce is None else nonce
    signed = b"\x00".join((b"force-remove", node.encode("utf-8", "replace"),
                           member.encode("utf-8"), address.encode("utf-8"),
                           str(stamp).encode(), nonce.encode()))
    tag = hmac.new(bytes.fromhex(admin_token(secret, cluster)), signed,
                   hashlib.sha256).hexdigest()
    return f"{stamp}.{nonce}.{tag}"


def _conditional_names(names: list[bytes]) -> str:
    """``[b"if-none-match"]`` -> ``"If-None-Match"`` (joined by ``, ``)."""
    return ", ".join("-".join(part.capitalize() for part in name.decode().split("-"))
                     for name in names)


def _split_target(target: bytes) -> tuple[str, dict[str, list[str]]]:
    """(path, query parameters) of a request target: the origin form (``/kv/k?w=2``)
    split by hand, the absolute form (``http://host/kv/k``) by urllib, any other
    (CONNECT's ``host:port``, OPTIONS' ``*``) whole, as a path no resource has.
    BadRequestError for an absolute form urllib cannot split (a ``[`` that opens
    no IPv6 address: its ValueError dropped the connection without an answer).

    A raw ``#`` is BadRequestError naming it: a request target has no fragment
    (RFC 9112 3.2; RFC 3986 3.5, a client strips it before sending), so it is a
    key's ``#`` unescaped. Before session 14's probe B the target was cut there:
    ``PUT /kv/a#b`` stored under the key ``a`` (200), and ``/kv/x#y?w=3`` lost
    its ``w=3`` too (acknowledged at the default W)."""
    text = target.decode("ascii", "replace")
    if "#" in text:
        raise errors.BadRequestError(
            f"request target {text[:80]!r}: a raw '#' at offset {text.find('#')} (a "
            "request target has no fragment, RFC 9112 3.2); send '#' in a key as %23")
    if not text.startswith("/") and "://" not in text:
        return text, {}
    if text.startswith("/"):
        path, _, query = text.partition("?")
    else:
        try:
            parts = urllib.parse.urlsplit(text)
        except ValueError as error:  # "Invalid IPv6 URL": http://[/kv/k (session 12)
            raise errors.BadRequestError(
                f"request target {text[:80]!r}: {error}") from None
        if (parts.scheme.lower() not in ("http", "https") or "@" in parts.netloc
                or not parts.hostname or not _valid_host(parts.netloc.encode())):
            # an origin server's absolute form is an http(s) URI (RFC 9112 3.2.2); a
            # userinfo in it is an error (RFC 9110 4.2.4). Both were served, the path
            # taken whatever came before it (session 15's probe B: `PUT
            # ftp://x/kv/k` and `PUT http://u:p@x/kv/k` stored under k). Its host may
            # not be empty (RFC 9110 4.2.1: a recipient MUST reject it) and its port is
            # digits (RFC 3986 3.2.3, as the Host header's): `PUT http:///kv/k` and `PUT
            # http://x:abc/kv/k` were stored under k too (session 15's review)
            raise errors.BadRequestError(
                f"request target {text[:80]!r}: an absolute-form target is "
                "http://host[:port]/path or https://..., with a host, without user "
                "information (RFC 9112 3.2.2, RFC 9110 4.2)")
        path, query = parts.path, parts.query
    parameters: dict[str, list[str]] = {}
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        parameters.setdefault(name, []).append(value)
    return path, parameters


#: the query parameters each method of ``/kv/{key}`` takes (docs/runtime.md; pr and
#: pw: the primary quorums, session 39)
_PARAMETERS = {"GET": ("r", "pr"), "PUT": ("w", "pw"), "DELETE": ("r", "w", "pr", "pw")}

_HEX = frozenset("0123456789abcdefABCDEF")


def _key_of(raw: str) -> bytes:
    """The key of a ``/kv/{key}`` path: percent-decoded to bytes (any byte may be
    escaped). A ``%`` not followed by two hex digits raises BadRequestError naming it
    and its offset (before, ``a%zz`` was taken literally, a key other than the one
    the client meant)."""
    if "%" not in raw:
        return raw.encode()
    at = raw.find("%")
    while at != -1:
        escape = raw[at + 1:at + 3]
        if len(escape) != 2 or not set(escape) <= _HEX:
            raise errors.BadRequestError(
                f"key: invalid percent-escape {raw[at:at + 3]!r} at offset {at} "
                "(a % must be followed by two hex digits; send a literal % as %25)")
        at = raw.find("%", at + 3)
    return urllib.parse.unquote_to_bytes(raw)


def _check_parameters(method: str, query: dict[str, list[str]], *,
                      conditional: bool = False) -> None:
    """Refuse (BadRequestError, naming it) a query parameter the method does not take,
    and one given twice: a mistyped ``?W=3`` or a repeated ``?w=1&w=3`` would
    otherwise be served with a quorum the client did not ask for. A method the API
    does not serve is left to its 405. A ``conditional`` PUT (If-Match or
    If-None-Match) also takes r and pr, the quorums of the read its precondition
    is evaluated on, as Riak's PUT takes r for its read (session 49)."""
    allowed = _PARAMETERS.get(method)
    if allowed is None:
        return
    if method == "PUT" and conditional:
        allowed = (*allowed, "r", "pr")
    for name, values in query.items():
        if name not in allowed:
            raise errors.BadRequestError(
                f"unknown query parameter {name!r}: {method} /kv/{{key}} takes "
                + " and ".join((", ".join(allowed[:-1]), allowed[-1]))
                + (" (and r, pr with If-Match or If-None-Match)"
                   if method == "PUT" and not conditional and name in ("r", "pr") else ""))
        if len(values) > 1:
            raise errors.BadRequestError(
                f"query parameter {name!r} given {len(values)} times: give it once")


#: the prefixes of Riak's per-object metadata fields, lowercased as parsed
_RIAK_METADATA = (b"x-riak-meta-", b"x-riak-index-")


def _riak_metadata(headers: dict[bytes, bytes]) -> str:
    """The Riak metadata fields among ``headers`` (lowercased names; ``link`` for a
    Link field naming a ``riaktag``), named for a refusal (at most three, then how
    many more); "" for none."""
    found = sorted(name.decode("latin-1") for name in headers
                   if name.startswith(_RIAK_METADATA))
    if b"riaktag" in headers.get(b"link", b"").lower():  # Riak's links, stored with
        # the object as its metadata too: dropped silently, 200, until session 50's
        # review (a Link without riaktag, e.g. rel="up", is no object's: served)
        found.append("link")
    shown = ", ".join(name[:60] for name in found[:3])
    return shown + (f" and {len(found) - 3} more" if len(found) > 3 else "")


def _not_allowed(method: str, path: str, allow: str) -> _Answer:
    return 405, {"error": "MethodNotAllowed", "message": f"{method} on {path}; allowed: {allow}",
                 "outcome": "not-written"}, [("allow", allow)]


#: the caching field of the node's state answers (``/status``, ``/health``,
#: ``/health/ready``, ``/metrics``): each is the node's state now (RFC 9111 5.2.2.5).
#: Before session 48's review none said so: a cache in front of a node (Varnish
#: keeps a 200 without Cache-Control for its default_ttl, 120 s) would answer a
#: health check or a scrape with a node's state of up to two minutes before, a
#: node down since reported alive
_STATE_CACHING = (("cache-control", "no-store"),)
#: the caching fields of every get answer (RFC 9110 12.5.5, RFC 9111 5.2.2.5): its
#: representation is chosen by the request's Accept (raw, multipart or JSON: a
#: cache that stored one would hand it to a client that asked for another), and it
#: is a quorum read of a value that any write changes (a stored answer served again
#: is a read that reached no replica). Before session 48's service probe a get
#: answer carried neither field: a shared cache in front of a node (Varnish caches a
#: 200 for 120 s by default) could give a raw client another's JSON envelope as its
#: value, or any client a value overwritten since
_GET_CACHING = (("vary", "accept"), *_STATE_CACHING)


def _written_at_once(message: GetRequest | PutRequest,
                     conditions: Preconditions | None) -> bool:
    """Whether ``message`` is a write that writes without reading its key first,
    which the small writes' lane of :class:`impl.admission.ByteAdmission` may admit
    beside the gets' records: not a get, not a delete with no context (it reads
    what it deletes, as Riak's ``riak_kv_delete:delete/8``), not a write with
    ``If-Match`` or ``If-None-Match`` (:meth:`HttpApi._route`). Those read a whole
    record first, a get's bytes; admitted as small writes, six context-less
    deletes and three conditional puts of a 180 KB key beside one get of it held
    1,801,170 B of gathered records at a node limited to 100 KB (session 52's
    review, tests/runtime/test_small_lane_reads_first.py)."""
    return isinstance(message, PutRequest) and conditions is None and not (
        message.delete and not message.context)


def _precondition_failed(conditions: Preconditions, message: PutRequest,
                         read: GetResult) -> _Answer | None:
    """The 412 of the write ``message`` whose ``conditions`` are false on ``read``
    (the key as a read of it found), with the key's current ETag; None if they hold."""
    field = conditions.write_failure(read)
    if field is None:
        return None
    tag = entity_tags(read)[0] if read.values else None
    return 412, failure_body(field, "DELETE" if message.delete else "PUT", tag), (
        [("etag", tag)] if tag else [])


def _get_answer(key: bytes, result: GetResult,
                accept: list[tuple[bytes, bytes, float]] | None,
                conditions: Preconditions | None = None, *,
                now_ms: int | None = None) -> _Answer:
    """A get's answer for ``key`` in Riak's convention (impl.http_values): 404 / 200
    raw / 300, or JSON when the request's Accept ranges prefer it (``wants_json``; a
    404 is always JSON). It names its key (session 37): the JSON answer in ``key``
    (base64), a raw or multipart one in Content-Location (``location_header``: up
    to ``LOCATION_CHARS``, a longer key's names none). Before,
    no answer did, and a client given another key's answer (a broken cache, proxy or
    load balancer) took its values as its own key's: the context is bound to its key,
    but by an HMAC under the cluster's secret, which a client cannot check.

    A 200 or 300 carries its representation's ETag (:func:`entity_tags`), and a
    200's request ``conditions`` are evaluated on it (RFC 9110 13.2.2): a 304 without
    a body (its ETag, Content-Location, context and caching fields, RFC 9110 15.4.5)
    or a 412; a 300's or a 404's are ignored (RFC 9110 13.2.1: the answer without
    them is no 2xx). Before session 49 no answer had a tag and both fields were
    ignored. ``now_ms``: the node's clock (ms since 1970), which bounds the
    ``Last-Modified`` (:func:`impl.http_values.last_modified`)."""
    context = base64.b64encode(result.context).decode()
    extra = [("x-vdynamo-context", context), *_GET_CACHING]
    count = len(result.values)
    status = 404 if count == 0 else 200 if count == 1 else 300
    raw_type = (open_value(result.values[0])[0] if count == 1 else "multipart/mixed")
    as_json = count == 0 or wants_json(accept, raw_type)
    tag = None if count == 0 else entity_tags(result)[as_json]
    if tag is not None:
        extra.insert(0, ("etag", tag))
        # session 53; never later than the answer's Date, ``now_ms`` (its review)
        if (modified := last_modified(result.values, now_ms)) is not None:
            extra.insert(1, ("last-modified", modified))
    # RFC 9110 13.2.1: preconditions are ignored when the answer without them would
    # not be a 2xx: a 300 of siblings, a 404 (session 48's review read it so)
    verdict = (conditions.read_status(tag)
               if conditions is not None and count == 1 and tag is not None else None)
    if verdict is not None and verdict[0] == 412:
        return 412, failure_body(verdict[1], "GET", tag), extra
    if verdict is not None:  # 304 Not Modified: the client's copy is this one
        located = [] if as_json else location_header(key)
        return 304, b"", [*located, *extra]
    if as_json:
        payload: dict[str, Any] = {**json_values(result.values), "context": context,
                                   "key": base64.b64encode(key).decode()}
        if count == 0:
            payload.update(error="NotFound", message="no value for this key",
                           outcome="not-written")
        return status, payload, extra
    named = location_header(key)  # none for a key over LOCATION_CHARS (review)
    if count == 1:
        kind, body = open_value(result.values[0])
        return 200, body, [("content-type", kind), *named, *extra]
    kind, body = multipart(result.values)
    return 300, body, [("content-type", kind), *named, *extra]


def operation_of(method: bytes, target: bytes) -> str:
    """The operation label of a request in the metrics: get, put, status, ..."""
    path = target.split(b"?", 1)[0]
    if path.startswith(b"/kv/"):
        return method.decode("ascii", "replace").lower() \
            if method in (b"GET", b"HEAD", b"PUT", b"DELETE") else "other"
    names = {b"/status": "status", b"/health": "health", b"/health/ready": "health",
             b"/metrics": "metrics", b"/openapi.json": "openapi"}
    return names.get(path, "other")


def _outcome_unknown(error: errors.DynamoError) -> bool:
    """Whether a failed put may have been written: its coordinator writes before it
    waits for the quorum, so a put that failed for want of answers may be stored;
    one refused for its input or for overload was not. A put whose coordinator's own
    commit failed (StorageError: a full disk) may be stored too: its ReplicaPuts
    left while that commit ran (the runtime's early replica puts, docs/runtime.md
    "Durability and group commit"). Before session 13's probe B it was answered
    ``not-written``: with n1's disk full, 34 puts at n1 got 500 "not-written" and
    all 34 were then read back from n2 (a client retrying elsewhere on
    "not-written", as the library does, wrote each twice)."""
    if isinstance(error, errors.StorageError):
        return True
    if isinstance(error, errors.QuorumError) and not error.written:
        return False  # refused before writing: fewer than PW primaries reachable
    return isinstance(error, errors.RemoteError) and not isinstance(error, errors.OverloadedError)


async def _buffered(reader: asyncio.StreamReader) -> bytes:
    """What ``reader`` holds already (b"" if nothing, or at its end): read without
    waiting for more (a zero timeout ends a read that would wait)."""
    try:
        async with asyncio.timeout(0):
            return await reader.read(65536)
    except TimeoutError:
        return b""


async def _read_unless(read: asyncio.Future[bytes], gone: asyncio.Future[None]) -> bytes:
    """The bytes of ``read`` (a reader's read under way), or b"" if ``gone`` is done
    first (the read is then cancelled, and ended before this returns: the reader
    takes one read at a time; so it is if this is cancelled, and a read that ended
    meanwhile keeps its bytes for the caller)."""
    try:
        await asyncio.wait((read, gone), return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not read.done():
            read.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await read
    return b"" if read.cancelled() else read.result()


def _body_timeout(why: str) -> str:
    """The log line's reason for closing a connection whose request body did not come
    in time (``why``: a pause, or the body rate), closed without an answer as a head
    that did not come in time is: nginx's ``ngx_http_finalize_request`` terminates a
    request finalized with ``NGX_HTTP_REQUEST_TIME_OUT`` without sending (the 408 is
    only logged), and so does the node since session 27. From session 24 it answered
    408 with ``connection: close`` and a 0.25 s lingering close: case 21's detector
    (one ``recv(1)``) read the 408's first byte and counted the connection as open,
    200 of 200 half bodies (docs/runtime.md, "4. 408 on a body timeout"). The close
    is at once: with nothing sent there is no answer for a reset to lose, and a
    client still sending gets that reset, which is its timeout's end."""
    return (f"request timeout: its body came too slowly ({why}); closed without an "
            "answer, nothing was written")


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                  seconds: float = _LINGER_S) -> None:
    """Close our side, then drain what the client still sends for at most ``seconds``
    (:data:`_LINGER_S`): closing with unread bytes would reset the connection, and
    the client could lose the answer (a lingering close, as web servers do)."""
    with contextlib.suppress(TimeoutError, ConnectionError, OSError):
        if writer.can_write_eof():
            writer.write_eof()
        async with asyncio.timeout(seconds):
            while await reader.read(65536):
                pass


def _quorum(query: dict[str, list[str]], name: str, n: int, *, low: int = 1) -> int | None:
    """A per-request R or W: an integer in 1..N, or PR or PW (``low`` 0): one in 0..N;
    or one of :data:`QUORUM_NAMES` (Riak's ``one``, ``quorum``, ``all``, ``default``).
    BadRequestError naming the parameter and what it takes otherwise."""
    if name not in query:
        return None
    text = query[name][-1]
    named = QUORUM_NAMES.get(text)
    if named is not None:
        return named(n)
    # ASCII digits only: str.isdigit() is true of '²' (int() then raises) and of
    # other scripts' digits ('٣' would be served as 3)
    # at most 20 digits before int(): int() of more than 4300 digits raises
    # ValueError, which dropped the connection without an answer (session 12)
    if not (text.isascii() and text.isdigit()) or len(text) > 20 or not low <= int(text) <= n:
        raise errors.BadRequestError(
            f"{name}: must be an integer in {low}..{n} (N), got {text[:40]!r}; or one of "
            f"{', '.join(QUORUM_NAMES)} (Riak's names)")
    return int(text)


def _client_of(raw: bytes) -> str:
    """The client id of an X-Vdynamo-Client header: its bytes, which must be at most
    :data:`impl.messages.MAX_NAME` printable ASCII characters (BadRequestError
    naming the header otherwise: before, a long one was refused naming the
    internal field ``PutRequest.client_id``). Non-ASCII bytes
    used to be replaced by U+FFFD, so that distinct ids of the same length (``é``
    and ``ü``) became one client: in the client-vclock mode the id is the clock
    entry, and a put of one then superseded the other's concurrent, acknowledged
    write (found by probing, session 12)."""
    text = raw.decode("ascii", "replace")
    if not raw.isascii() or len(raw) > MAX_NAME or not text.isprintable():
        raise errors.BadRequestError(
            f"X-Vdynamo-Client: must be at most {MAX_NAME} printable ASCII characters "
            f"(percent-encode other bytes), got {len(raw)} bytes {raw[:40]!r}")
    return text


def _number(raw: bytes, what: str) -> int:
    """A non-negative integer header below 2**63 (:data:`impl.messages.MAX_ID`);
    BadRequestError naming ``what`` otherwise. The digits are counted before
    int(): int() of more than 4300 digits raises ValueError, and a 5000-digit
    X-Vdynamo-Client-Counter dropped the connection without an answer (found by
    probing, session 12); a counter of 2**63 was refused naming the internal
    field ``PutRequest.client_counter`` rather than the header."""
    if not raw.isdigit() or len(raw) > 20 or int(raw) > MAX_ID:
        raise errors.BadRequestError(
            f"{what}: must be an integer in 0..2**63-1, got {raw[:40]!r}"
            + (f" ({len(raw)} bytes)" if len(raw) > 40 else ""))
    return int(raw)


def _context_of(raw: bytes | None) -> bytes:
    """The context of an X-Vdynamo-Context header (None: no header, a write that
    supersedes nothing). A header that is empty or only whitespace (llhttp strips
    it to b"") is BadContextError naming it: the cluster never issues an empty
    context, so it is a client's mistake (an empty variable), which used to be
    served as a blind write, a new sibling where a replacement was meant
    (session 12's second probe)."""
    if raw is None:
        return b""
    if not raw:
        raise errors.BadContextError(
            "X-Vdynamo-Context: empty or only whitespace: send the context a get "
            "returned, or no X-Vdynamo-Context header for a write that supersedes nothing")
    return _b64(raw, "X-Vdynamo-Context")


def _b64(raw: bytes, what: str) -> bytes:
    if not raw:
        return b""
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError:
        raise errors.BadContextError(f"{what}: not valid base64") from None
