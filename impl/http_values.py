"""Values over HTTP in Riak's convention: the content-type envelope and sibling bodies.

Theory of operation
-------------------
The node core stores opaque bytes per sibling; it has no content type. The HTTP
layer keeps a value's content type *inside* the stored bytes, in a small
envelope, so that the core is unchanged::

    b"\\x00vdy1" || len(content_type) (1 byte) || content_type (ASCII) || body
    b"\\x00vdy2" || len(content_type) (1 byte) || content_type (ASCII)
                 || written (8 bytes, big-endian: ms since 1970, UTC) || body

The second form (session 53) also keeps when the value was written: the wall
clock of the node whose HTTP port took the PUT (``NodeServer.now``), in
milliseconds. It is metadata for the client (a get's ``Last-Modified``,
:func:`last_modified`), never used for ordering: the core compares versions by
their clocks (or lww stamps) and treats these bytes as opaque; only lww's last
tie-break (equal stamps and coordinators: by value) sees them, as it sees any
bytes of a value. Every PUT is sealed so since session 53; ``vdy1`` values (older
writes) read as before, without a date.

Every value written by ``PUT /kv/{key}`` is stored so (a missing Content-Type
header: ``application/octet-stream``, stored as the empty string); a stored
value without the envelope (one written through :class:`impl.cluster.Client`
in the simulator, or before the envelope existed) reads back as
``application/octet-stream`` with every byte its body. ``max_value_bytes``
limits the body (:func:`body_bytes`), not the envelope: before, a body of
exactly ``max_value_bytes`` was refused with 413 "value is 1048582 bytes", a
size the client never sent (found by probing, session 12). The envelope (at
most 261 bytes) fits in ``config.SIBLING_OVERHEAD_BYTES`` of the frame budget.

A get's answer (Riak KV's HTTP API, "Fetch Object"): one value is ``200`` with
the raw body and its content type; several siblings are ``300 Multiple
Choices``, a ``multipart/mixed`` body with one part per sibling, each with its
own ``Content-Type`` (RFC 2046 section 5.1), except a composite one (``multipart/*``,
``message/*``), which a MIME parser would parse again: that part is
``application/octet-stream`` with the sibling's type in ``X-Vdynamo-Content-Type``
(:func:`part_fields`, session 48); with ``Accept: application/json``
every answer is JSON instead, the values base64 (:func:`json_values`).

Every answer about a key names it (session 37): a JSON answer (a get's, a put's,
a delete's) in its body's ``key`` (base64), a raw or ``multipart/mixed`` get
answer in ``Content-Location`` (RFC 9110 8.7: the resource the content is a
representation of, :func:`key_location`), so that a client can tell an answer
for another key (a broken cache, proxy or load balancer) from its own; but only
up to :data:`LOCATION_CHARS` (a longer header fails common HTTP clients: a raw
answer of a longer key names none, as before session 37).
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import re
import struct
import urllib.parse
from collections.abc import Callable

from impl.errors import BadRequestError

__all__ = ["COMPOSITE_TYPES", "DEFAULT_CONTENT_TYPE", "ENVELOPE_BYTES", "LOCATION_CHARS", "MAGIC",
           "QUORUM_NAMES", "SIBLING_TYPE_FIELD", "TIMED_MAGIC", "accept_ranges", "body_bytes",
           "body_digests", "check_body_digests", "key_location", "last_modified",
           "location_header", "multipart", "open_value", "part_fields", "seal_value",
           "wants_json", "written_ms"]

MAGIC = b"\x00vdy1"
#: the envelope that also holds the value's write time (session 53)
TIMED_MAGIC = b"\x00vdy2"
_WRITTEN = struct.Struct(">Q")
DEFAULT_CONTENT_TYPE = "application/octet-stream"
#: the longest content type a value may carry (bytes)
MAX_CONTENT_TYPE = 255


def seal_value(body: bytes, content_type: bytes | None, written_ms: int | None = None) -> bytes:
    """The bytes stored for ``body`` of ``content_type`` (a request's header, raw),
    with its write time ``written_ms`` (ms since 1970, UTC; None: the ``vdy1``
    envelope, no time); BadRequestError if the content type is not printable ASCII
    of at most 255 bytes."""
    kind = (content_type or b"").strip()
    if kind == DEFAULT_CONTENT_TYPE.encode():
        kind = b""
    if len(kind) > MAX_CONTENT_TYPE or any(not 0x20 <= c < 0x7F for c in kind):
        raise BadRequestError(f"Content-Type: must be printable ASCII of at most "
                              f"{MAX_CONTENT_TYPE} bytes, got {kind[:40]!r}")
    if written_ms is None:
        return MAGIC + bytes([len(kind)]) + kind + body
    return (TIMED_MAGIC + bytes([len(kind)]) + kind
            + _WRITTEN.pack(min(max(written_ms, 0), (1 << 64) - 1)) + body)


#: the digest algorithms a PUT's integrity fields may name that are checked (RFC 9530
#: 5's registry names, lowercased; legacy ``Digest`` and ``Content-MD5`` too): others
#: are ignored, as RFC 9530 2 lets a recipient ignore an algorithm it does not support
_DIGESTS = {"md5": "md5", "sha-256": "sha256", "sha-512": "sha512"}
#: the fields a PUT's body digests come in, lowercased as parsed: RFC 1864's
#: Content-MD5, RFC 9530's Content-Digest and Repr-Digest (one value: the node
#: refuses content codings and ranges, so the representation is the content), and
#: RFC 3230's Digest (obsoleted by RFC 9530, still sent by clients)
DIGEST_FIELDS = {b"content-md5": "Content-MD5", b"content-digest": "Content-Digest",
                 b"repr-digest": "Repr-Digest", b"digest": "Digest"}
_SF_KEY = re.compile(r"[a-z*][a-z0-9_.*-]*")


#: the quorum names Riak's HTTP API takes for r, w, pr and pw (its docs' "Request
#: Tuning": ``quorum`` is ``n_val/2+1``; riak_kv normalizes them per request), as
#: the function of N each stands for; ``default`` is the cluster's own setting
#: (None: the request names none). The node reads them (impl.http_api), the client
#: library and the CLI pass them (impl.http_client). Before session 50's service
#: probe each was 400.
QUORUM_NAMES: dict[str, Callable[[int], int | None]] = {
    "one": lambda n: 1, "quorum": lambda n: n // 2 + 1, "all": lambda n: n,
    "default": lambda n: None}


def body_digests(headers: dict[bytes, bytes]) -> list[tuple[str, str, bytes]]:
    """The digests of a PUT's body its ``headers`` (lowercased names, raw values)
    give, as (field, algorithm, digest) for the algorithms of :data:`_DIGESTS`.
    Raises BadRequestError naming the field when one is malformed: a Content-MD5
    that is not the base64 of 16 bytes (RFC 1864: a hex digest, two lines joined),
    a Content-Digest or Repr-Digest that is not a dictionary of byte sequences
    (``sha-256=:BASE64:``, RFC 9530 2, RFC 8941 3.2; its ``=`` padding may be left
    out, RFC 8941 4.2.7), a Digest member that is not
    ``algorithm=base64`` (RFC 3230 4.3.2), or a checked algorithm's digest of the
    wrong length; so the put is refused with its head, before its body is read
    (:meth:`impl.http_api.HttpApi._head_refusal`)."""
    found: list[tuple[str, str, bytes]] = []
    for name, field in DIGEST_FIELDS.items():
        raw = headers.get(name)
        if raw is None:
            continue
        text = raw.decode("latin-1").strip(" \t")
        if name == b"content-md5":
            members = [("md5", text)]
        else:
            members = [member.strip(" \t").partition("=")[::2]
                       for member in text.split(",")]
        for algorithm, value in members:
            if name != b"content-md5":  # RFC 8941 parameters; RFC 1864's field has
                # none (`<md5>;x` was taken, its documented pattern refuses it:
                # session 50's review)
                value = value.partition(";")[0].strip(" \t")
            if name in (b"content-digest", b"repr-digest"):
                if not (_SF_KEY.fullmatch(algorithm) and len(value) >= 2
                        and value[0] == value[-1] == ":"):
                    raise BadRequestError(
                        f"{field} {text[:60]!r}: not a dictionary of digests "
                        "(algorithm=:base64:, RFC 9530 2, e.g. sha-256=:...:); nothing "
                        "was written")
                # RFC 8941 4.2.7: a parser SHOULD NOT fail when the byte sequence's
                # "=" padding is absent (a 400 "not the base64" until session 29's
                # review of the user probe: `sha-256=:...:` without its one "=")
                value = value[1:-1] + "=" * (-len(value[1:-1]) % 4)
            elif name != b"content-md5" and (not algorithm or not value):
                # (an empty Content-MD5 was told "not algorithm=base64 (RFC 3230
                # 4.3.2)", Digest's form, until session 50's service probe: it is
                # told the length check's "not the base64 of a 16-byte md5 digest")
                raise BadRequestError(f"{field} {text[:60]!r}: not algorithm=base64 "
                                      "(RFC 3230 4.3.2); nothing was written")
            algorithm = algorithm.lower()
            if algorithm not in _DIGESTS:
                continue  # an algorithm not checked: ignored (RFC 9530 2)
            size = hashlib.new(_DIGESTS[algorithm], usedforsecurity=False).digest_size
            try:
                digest = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                digest = b""
            if len(digest) != size:
                raise BadRequestError(
                    f"{field} {text[:60]!r}: not the base64 of a {size}-byte "
                    f"{algorithm} digest of the body (RFC 1864, RFC 9530), e.g. "
                    "`openssl md5 -binary FILE | base64`; nothing was written")
            found.append((field, algorithm, digest))
    return found


def check_body_digests(headers: dict[bytes, bytes], body: bytes) -> None:
    """Raise BadRequestError naming the field when a digest a PUT's ``headers`` give
    (:func:`body_digests`) is not that of ``body``, the value as received (before the
    envelope). Riak's HTTP API refuses a Content-MD5 that does not match 400
    ("Content-MD5 header does not match request body.": webmachine's decision B9,
    ``validate_content_checksum``), S3 ``BadDigest``: the field is the client's own
    check that the value arrived as it was sent. Before session 29's user probe
    every such field was ignored, and a put whose body did not match it was stored
    and answered 200.

    Each algorithm's digest of ``body`` is computed once, however many members name
    it: at most three hashes of a body a request. Session 39's user probe: a
    Repr-Digest of 600 members ``sha-512=:<the body's digest>:`` (60 KB, within
    the head's bound) made the node hash a 1 MiB body 600 times on its event loop:
    about 1.6 s of CPU a put, another client's GET of a small key waiting up to 8.5 s
    meanwhile."""
    computed: dict[str, bytes] = {}
    for field, algorithm, wanted in body_digests(headers):
        got = computed.get(algorithm)
        if got is None:
            got = computed[algorithm] = hashlib.new(
                _DIGESTS[algorithm], body, usedforsecurity=False).digest()
        if got != wanted:
            raise BadRequestError(
                f"{field}: the {algorithm} digest {base64.b64encode(wanted).decode()} "
                f"does not match the body received ({len(body)} bytes, "
                f"{base64.b64encode(got).decode()}): the value was changed on its way, "
                "or the digest is of another value; nothing was written")


#: the most bytes the envelope adds to a body (magic, length, content type, time)
ENVELOPE_BYTES = len(MAGIC) + 1 + MAX_CONTENT_TYPE + _WRITTEN.size


def _envelope(stored: bytes) -> tuple[int, int, int | None] | None:
    """(where the content type starts, where the body starts, the write time in ms
    or None) of a sealed ``stored`` value; None if it has no whole envelope."""
    timed = stored.startswith(TIMED_MAGIC)
    if not (timed or stored.startswith(MAGIC)) or len(stored) <= len(MAGIC):
        return None
    start = len(MAGIC) + 1
    end = start + stored[len(MAGIC)]
    if not timed:
        return (start, end, None) if len(stored) >= end else None
    if len(stored) < end + _WRITTEN.size:
        return None
    return start, end + _WRITTEN.size, _WRITTEN.unpack_from(stored, end)[0]


def body_bytes(stored: bytes) -> int:
    """The length of the body :func:`open_value` reads from ``stored`` (without
    copying it): what ``max_value_bytes`` limits (:func:`impl.forwarding.check_request`,
    :meth:`impl.replica.Replica.decode`), so that an HTTP body of exactly
    the limit is stored as the library's value of that length is."""
    envelope = _envelope(stored)
    return len(stored) - (0 if envelope is None else envelope[1])


def open_value(stored: bytes) -> tuple[str, bytes]:
    """(content type, body) of a stored value (see the module docstring)."""
    envelope = _envelope(stored)
    if envelope is None:
        return DEFAULT_CONTENT_TYPE, stored
    start, body = envelope[0], envelope[1]
    kind = stored[start:start + stored[len(MAGIC)]].decode("ascii", "replace")
    return kind or DEFAULT_CONTENT_TYPE, stored[body:]


def written_ms(stored: bytes) -> int | None:
    """When a stored value was written (ms since 1970, UTC: the ``vdy2``
    envelope), or None (an older envelope, or none)."""
    envelope = _envelope(stored)
    return None if envelope is None else envelope[2]


def last_modified(values: list[bytes], now_ms: int | None) -> str | None:
    """The ``Last-Modified`` of a get's answer holding ``values`` (RFC 9110 8.8.2,
    an IMF-fixdate): the latest write time among them, or None when any lacks one
    (written before session 53, or not over HTTP: a date older than a value's
    would be false). Riak sends one per object (``riak_kv_wm_object``, its
    ``X-Riak-Last-Modified`` metadata); informational, never used to order writes.

    ``now_ms`` (ms since 1970, UTC): the answering node's clock, the answer's
    ``Date``; a later time (a value written through a node whose clock is ahead)
    reads as ``now_ms``: RFC 9110 8.8.2.1, an origin server MUST NOT send a
    Last-Modified later than its Date, and MUST replace a date in the future with
    it (session 53's review: an hour ahead of the Date before)."""
    times = [written_ms(value) for value in values]
    if not times or any(time is None for time in times):
        return None
    latest = max(time for time in times if time is not None)
    if now_ms is not None:
        latest = min(latest, now_ms)
    return email.utils.formatdate(latest // 1000, usegmt=True)


#: a media type a MIME parser reads as discrete: ``type/subtype`` from its first byte
#: (RFC 2045 5.1's tokens: no comment, no blank before it); its top-level type is
#: checked against :data:`COMPOSITE_TYPES` (lowercased)
_DISCRETE = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+)/[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: RFC 2046's composite top-level types: a part of one is parsed again (5.1, 5.2)
COMPOSITE_TYPES = ("multipart", "message")
#: the part field that carries a sibling's own content type when its Content-Type
#: cannot (:func:`multipart`)
SIBLING_TYPE_FIELD = "X-Vdynamo-Content-Type"


def part_fields(kind: str) -> str:
    """The content-type fields of a 300 answer's part for a sibling stored with
    content type ``kind``: ``Content-Type: kind`` when a MIME parser reads ``kind``
    as a discrete type (:data:`_DISCRETE`, top-level type not in
    :data:`COMPOSITE_TYPES`); otherwise ``Content-Type: application/octet-stream``
    and ``kind`` in :data:`SIBLING_TYPE_FIELD` (CRLF-ended lines).

    A MIME parser parses a ``multipart/*`` or ``message/*`` part again (RFC 2046
    5.1.1, 5.2; Python's ``email`` does, whatever its Content-Transfer-Encoding), so
    a sibling stored as ``multipart/mixed; boundary=x`` sent under its own type
    read back as parts of its own (session 47's probe: siblings ``one`` and a body
    holding ``--x`` read back as ``[b'one\\r\\n', b'']``; ``message/rfc822``,
    ``message/global``: ``b''``): its bytes, which the node stores opaque, were no
    longer one part's payload. Riak's multipart answer (``riak_kv_wm_utils:
    multipart_encode_body``) writes each sibling's stored type as its part's
    Content-Type and has that fault; its own clients split the body on the
    boundary without a MIME parser."""
    found = _DISCRETE.match(kind)
    if found is not None and found.group(1).lower() not in COMPOSITE_TYPES:
        return f"Content-Type: {kind}\r\n"
    return (f"Content-Type: {DEFAULT_CONTENT_TYPE}\r\n"
            f"{SIBLING_TYPE_FIELD}: {kind}\r\n")


def multipart(values: list[bytes]) -> tuple[str, bytes]:
    """(Content-Type header, body) of a 300 answer: one part per sibling, its
    content-type fields (:func:`part_fields`), its Content-Length, its body; each
    part's payload, read by a MIME parser (Python's ``email``), is the sibling's
    bytes. The boundary is a digest of the values (none of them can hold it but by a
    SHA-256 fixed point), so one set of siblings is the same bytes at every read and
    its answer's strong ETag holds (:mod:`impl.http_conditions`); it was random
    before session 49."""
    digest = hashlib.sha256()
    for stored in values:
        digest.update(len(stored).to_bytes(8, "big"))
        digest.update(stored)
    boundary = digest.hexdigest()[:32]
    out = bytearray()
    for stored in values:
        kind, body = open_value(stored)
        out += (f"--{boundary}\r\n{part_fields(kind)}"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        out += body + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return f"multipart/mixed; boundary={boundary}", bytes(out)


#: the longest Content-Location a raw or multipart get answer carries (characters:
#: every key of up to 2,729 bytes, any key of the default ``max_key_bytes``, 1024);
#: a longer key's raw answer names none (:func:`location_header`). Session 37's
#: review: with ``max_key_bytes`` raised, a 30,000-byte key's raw answer (a
#: Content-Location of 90,004 characters) failed Python's http.client (and so
#: requests; ``LineTooLong``: header lines over 65,536 bytes) and a 40,000-byte
#: one's curl (exit 27: its 100 KiB header limit), both of which read these
#: answers before session 37; Node.js reads heads of at most 16 KiB in all
LOCATION_CHARS = 8192


def location_header(key: bytes) -> list[tuple[str, str]]:
    """The Content-Location header of a raw or multipart get answer for ``key``
    (:func:`key_location`), or none when it is over :data:`LOCATION_CHARS`."""
    location = key_location(key)
    return [("content-location", location)] if len(location) <= LOCATION_CHARS else []


def key_location(key: bytes) -> str:
    """``/kv/<key>``: the path of ``key`` (bytes), every byte but the unreserved ones
    (``A-Z a-z 0-9 - . _ ~``) percent-encoded, and the keys ``.`` and ``..`` as
    ``%2E`` and ``%2E%2E`` (RFC 3986 5.2.4 removes those dot segments from a path:
    httpx sent ``/kv/..`` as ``/``, session 12). The path a client sends
    (:func:`impl.http_client.key_path`) and the Content-Location of a get's raw
    answer (session 37)."""
    quoted = urllib.parse.quote(key, safe="")
    if quoted in (".", ".."):
        quoted = quoted.replace(".", "%2E")
    return "/kv/" + quoted


def json_values(values: list[bytes]) -> dict[str, list[str]]:
    """The JSON form of siblings: ``values`` (base64 bodies), ``content_types``."""
    opened = [open_value(v) for v in values]
    return {"values": [base64.b64encode(body).decode() for _, body in opened],
            "content_types": [kind for kind, _ in opened]}


#: one media range of an Accept field with its parameters (RFC 9110 12.5.1):
#: type "/" subtype, then ";" name "=" value pairs (a value a token or quoted)
_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PARAMETER = re.compile(rb"[ \t]*;[ \t]*(" + _TOKEN + rb")=(" + _TOKEN
                        + rb'|"(?:[^"\\]|\\.)*")')
_RANGE = re.compile(rb"[ \t]*(" + _TOKEN + rb")/(" + _TOKEN + rb")"
                    rb"|[ \t]*(\*)(?![/!#$%&'*+.^_`|~0-9A-Za-z-])")
#: a qvalue, leniently: RFC 9110 12.4.2's 0[.ddd] or 1[.000], and also ".2" and
#: more decimals (Java's HttpURLConnection sends ``*; q=.2``), at most 1
_QVALUE = re.compile(rb"0*(\.[0-9]*)?|0*1(\.0*)?|0*\.[0-9]+")


def accept_ranges(accept: bytes | None) -> list[tuple[bytes, bytes, float]] | None:
    """The media ranges of an Accept field (RFC 9110 12.5.1) as (type, subtype,
    q), lowercased; None for no field (anything is acceptable). BadRequestError
    naming the field for a range that is not ``type/subtype`` (or ``*``, as Java
    sends) with parameters, or a q that is not a number from 0 to 1 (RFC 9110
    12.4.2, read leniently: ``.2`` and more than three decimals are taken).
    An empty field (or one of empty elements) is no range: RFC 9110 5.6.1 lets a
    list be empty."""
    if accept is None:
        return None
    ranges = []
    for element in accept.split(b","):
        if not element.strip(b" \t"):
            continue
        found = _RANGE.match(element)
        if found is None:
            raise BadRequestError(f"Accept: {element.strip()[:60]!r} is not a media range "
                                  "(type/subtype, RFC 9110 12.5.1)")
        # the end without trailing whitespace, once: an rstrip per parameter copied
        # the element each time (16,000 parameters and a trailing tab, 64 KB: 100 ms
        # of the node's CPU per request, 30 ms without the tab; session 18's review
        # left it, session 22's service probe fixed it)
        at, q, end = found.end(), 1.0, len(element.rstrip(b" \t"))
        while at < end:
            parameter = _PARAMETER.match(element, at)
            if parameter is None:
                raise BadRequestError(f"Accept: {element.strip()[:60]!r}: bad parameters "
                                      "(name=value after ';', RFC 9110 5.6.6)")
            if parameter.group(1).lower() == b"q":
                text = parameter.group(2)
                q = float(text) if _QVALUE.fullmatch(text) and text != b"." else -1.0
                if not 0.0 <= q <= 1.0:
                    raise BadRequestError(
                        f"Accept: q={text[:20].decode('latin-1')!r} is not a qvalue (a "
                        "number from 0 to 1, RFC 9110 12.4.2)")
            at = parameter.end()
        if found.group(3):  # a bare "*", as Java's HttpURLConnection sends: "*/*"
            ranges.append((b"*", b"*", q))
        else:
            ranges.append((found.group(1).lower(), found.group(2).lower(), q))
    return ranges


def _quality(ranges: list[tuple[bytes, bytes, float]], media_type: str) -> float:
    """The q a media type gets from ``ranges``: that of the most specific range
    matching it (``type/subtype`` over ``type/*`` over ``*/*``, RFC 9110 12.5.1);
    0 if none matches."""
    kind, _, sub = media_type.split(";", 1)[0].strip().lower().encode().partition(b"/")
    best, specificity = 0.0, -1
    for rtype, rsub, q in ranges:
        if rtype == kind and rsub == sub:
            rank = 2
        elif rtype == kind and rsub == b"*":
            rank = 1
        elif rtype == b"*" and rsub == b"*":
            rank = 0
        else:
            continue
        if rank > specificity:
            best, specificity = q, rank
    return best


def wants_json(ranges: list[tuple[bytes, bytes, float]] | None, raw_type: str) -> bool:
    """Whether a get's answer is JSON rather than the raw value of ``raw_type`` (its
    content type, or ``multipart/mixed`` for siblings), by the Accept field's
    ``ranges`` (:func:`accept_ranges`): JSON when the field makes it acceptable (q
    above 0) and preferred (a higher q than the raw type's), or names
    ``application/json`` itself at the raw type's q (``application/json, */*``,
    as before). When neither is acceptable the field is disregarded (RFC 9110
    12.5.1 allows it instead of 406): the raw value, the answer without the field.
    Before session 18's service probe any field holding the bytes
    ``application/json`` got JSON: ``application/json;q=0`` (JSON refused by the
    client) and ``application/json-seq`` too."""
    if ranges is None:
        return False
    json_q = _quality(ranges, "application/json")
    raw_q = _quality(ranges, raw_type)
    named = any(rtype == b"application" and rsub == b"json" for rtype, rsub, _ in ranges)
    return json_q > 0 and (json_q > raw_q or (json_q == raw_q and named))
