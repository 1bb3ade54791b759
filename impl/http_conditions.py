"""Conditional requests on ``/kv/{key}`` (RFC 9110 13): entity tags and preconditions.

Theory of operation
-------------------
A get's answer that holds a value (a 200, or a 300 of siblings) carries an
``ETag`` (:func:`entity_tags`): a strong entity tag naming the state a quorum
read found -- a SHA-256 over the read's context (the join of the versions'
clocks, which every write changes, so a value written again with the same bytes
gets a new tag) and the sibling values with their content types, sorted -- and
which representation was sent: the raw or multipart body ``"<digest>"``, the JSON
envelope ``"<digest>-json"`` (RFC 9110 8.8.3.3: two representations of one state
are different bytes, and a cache keeping both under ``Vary: Accept`` tells them
apart by their tags). Riak's ``riak_kv_wm_object`` sends a single value's vtag,
and for siblings a tag derived from the vector clock (``generate_etag``); one rule
covers both here, and the multipart body's boundary is derived from the values
(:func:`impl.http_values.multipart`), so a 300 is the same bytes on every read of
one state and its tag can be strong. A 404 (no value) has no tag.

:class:`Preconditions` holds a request's ``If-Match`` and ``If-None-Match``
(:meth:`Preconditions.of`; a malformed field is :class:`BadRequestError` naming
it, 400: a precondition the node cannot read is neither ignored nor guessed).
They are evaluated in RFC 9110 13.2.2's order: ``If-Match`` false (strong
comparison; ``*``: the key has no value) is 412; then ``If-None-Match`` false
(weak comparison; ``*``: the key has a value) is 304 for a GET or HEAD, 412 for a
write. A GET evaluates them on a 200 only: a 300's and a 404's are ignored (RFC
9110 13.2.1: a server MUST ignore them when the answer without them would not be
a 2xx; Riak's webmachine answers them there too, a 304 for siblings). The node
keeps no modification date that orders writes, so a GET's ``If-Modified-Since``
and ``If-Unmodified-Since`` are ignored, as is ``If-Range`` (13.1.5: no Range is
served). Since session 53 a get sends ``Last-Modified``
(:func:`impl.http_values.last_modified`): the wall clock of the node that took each
write, in whole seconds, informational. Those clocks are several nodes' and not
monotonic per key (a value written later through a node whose clock is behind
has an earlier date), so a 304 on a date could hide a newer value; a full answer
is always a correct answer to a GET, and the strong ETag is the validator to use; a PUT or a
DELETE carrying one of those three is refused 501 by :mod:`impl.http_api` (a
write's precondition the node cannot evaluate is not dropped: session 14's probe B).

A write's preconditions are evaluated against a quorum read of the key made
first, with the request's R (:meth:`Preconditions.write_failure` over
:func:`entity_tags` of both representations: a tag from a JSON get names the same
state as the raw one), as Riak evaluates them against the object it fetches. A
put whose ``If-Match`` names the state read by its tag (:meth:`Preconditions.named`),
or a put to a key with no value, that brings no context is then written with the
read's context: it replaces exactly the versions whose state the client named, and
a write concurrent with it, which the read did not see, stays a sibling (Dynamo
4.4) instead of being lost. One under ``If-Match: *`` or an ``If-None-Match`` alone
names no state: it is written as without them (a sibling of what it did not
read; in lww, which keeps no siblings, with the read's context, so that its stamp
exceeds the one read). As Riak's, the check is not atomic with the write across
nodes: two ``If-None-Match: *`` creates that race through two nodes may both be
acknowledged (docs.riak.com, HTTP Store Object); neither is lost, they are siblings
(in lww mode the later stamp wins). Through one node the conditional writes of a key
are taken in turn (``impl.http_api.HttpApi._in_key_turn``, session 53): with R + W > N
the later one reads the earlier one's acknowledged write.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from dataclasses import dataclass

from impl.effects import GetResult
from impl.errors import BadRequestError

__all__ = ["JSON_SUFFIX", "Preconditions", "entity_tags", "failure_body"]

#: what the opaque tag of a JSON answer ends with (:func:`entity_tags`)
JSON_SUFFIX = "-json"
#: one entity-tag (RFC 9110 8.8.3): an optional weakness indicator, then a quoted
#: opaque tag of etagc (``!``, ``#``-``~``, obs-text), and the whitespace after it
_ENTITY_TAG = re.compile(rb'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*')
#: what may come before a list element: whitespace and empty elements' commas
_SEPARATORS = re.compile(rb"[ \t,]*")
_LENGTH = struct.Struct(">Q")


def entity_tags(result: GetResult) -> tuple[str, str]:
    """(raw, JSON) strong entity tags, quoted, of a get's ``result`` that holds at
    least one value: the raw (200) or multipart (300) answer's and the JSON one's."""
    digest = hashlib.sha256(_LENGTH.pack(len(result.context)) + result.context)
    for value in sorted(result.values):
        digest.update(_LENGTH.pack(len(value)))
        digest.update(value)
    opaque = base64.urlsafe_b64encode(digest.digest()[:18]).decode()
    return f'"{opaque}"', f'"{opaque}{JSON_SUFFIX}"'


def _past_separators(raw: bytes, at: int) -> int:
    """Where the whitespace and commas of ``raw`` from ``at`` on end."""
    found = _SEPARATORS.match(raw, at)
    assert found is not None  # it matches the empty string
    return found.end()


@dataclass(frozen=True, slots=True)
class _Field:
    """One precondition field: ``*`` (any) or its entity tags as (weak, opaque)."""

    name: str
    any: bool
    tags: tuple[tuple[bool, bytes], ...]

    @classmethod
    def parse(cls, name: str, raw: bytes) -> _Field:
        """BadRequestError naming ``name`` for a value that is neither ``*`` nor a
        comma-separated list of entity tags (RFC 9110 13.1.1, 13.1.2)."""
        if raw.strip(b" \t") == b"*":
            return cls(name, True, ())
        tags: list[tuple[bool, bytes]] = []
        # each byte is read once, by one match that consumes it: a list padded
        # with whitespace or commas costs its length, not its square (session
        # 49's review: an If-Match of '"x",', 60,000 spaces and 'y' cost 55 CPU-s)
        at = _past_separators(raw, 0)
        while at < len(raw):
            found = _ENTITY_TAG.match(raw, at)
            if found is None:
                shown = raw[:80].decode("latin-1")
                raise BadRequestError(
                    f"{name} {shown!r}: not '*' nor a list of entity tags (a quoted "
                    f"tag, e.g. {name}: \"...\" as a get's ETag gave it; RFC 9110 "
                    "8.8.3); nothing was done")
            tags.append((found.group(1) is not None, found.group(2)))
            at = found.end()
            if at < len(raw) and raw[at:at + 1] != b",":
                raise BadRequestError(
                    f"{name} {raw[:80].decode('latin-1')!r}: entity tags are separated "
                    "by commas (RFC 9110 8.8.3); nothing was done")
            at = _past_separators(raw, at)
        if not tags:
            raise BadRequestError(f"{name}: empty (give '*' or entity tags)")
        return cls(name, False, tuple(tags))

    def matches(self, current: tuple[str, ...], *, strong: bool) -> bool:
        """Whether one of ``current`` (quoted strong tags; none: no value) matches:
        ``*`` any; else strong comparison (a weak tag never matches) or weak."""
        if self.any:
            return bool(current)
        opaque = {tag[1:-1].encode() for tag in current}
        return any(tag in opaque and not (strong and weak) for weak, tag in self.tags)


@dataclass(frozen=True, slots=True)
class Preconditions:
    """A request's ``If-Match`` and ``If-None-Match`` (either may be absent)."""

    if_match: _Field | None
    if_none_match: _Field | None

    @classmethod
    def of(cls, headers: dict[bytes, bytes]) -> Preconditions | None:
        """The preconditions of a request's ``headers`` (lower-cased names; a
        repeated field's lines joined by commas), or None without either.
        BadRequestError for a malformed one."""
        if_match = headers.get(b"if-match")
        if_none_match = headers.get(b"if-none-match")
        if if_match is None and if_none_match is None:
            return None
        return cls(None if if_match is None else _Field.parse("If-Match", if_match),
                   None if if_none_match is None else _Field.parse("If-None-Match",
                                                                   if_none_match))

    def read_status(self, tag: str) -> tuple[int, str] | None:
        """A GET's (or HEAD's) verdict on the ``tag`` of the 200 it would answer:
        (412, the field that failed), (304, "If-None-Match"), or None to answer as
        without the fields."""
        if self.if_match is not None and not self.if_match.matches((tag,), strong=True):
            return 412, self.if_match.name
        if self.if_none_match is not None and self.if_none_match.matches((tag,),
                                                                          strong=False):
            return 304, self.if_none_match.name
        return None

    def untagged_status(self) -> tuple[int, str] | None:
        """A GET's (or HEAD's) verdict on a 200 whose representation has no entity
        tag (``/status``, ``/health``, ``/metrics``: the node's state now): a listed
        tag cannot match it, ``*`` matches any representation (RFC 9110 13.1.1,
        13.1.2). (412, "If-Match") for an If-Match of tags, (304, "If-None-Match")
        for ``If-None-Match: *``, or None to answer as without the fields. Before
        session 51 both fields were ignored there (session 49 left it open)."""
        if self.if_match is not None and not self.if_match.any:
            return 412, self.if_match.name
        if self.if_none_match is not None and self.if_none_match.any:
            return 304, self.if_none_match.name
        return None

    def write_failure(self, result: GetResult) -> str | None:
        """The field a PUT or DELETE fails on the key's state ``result`` (its read
        first), or None when both hold (RFC 9110 13.2.2: 412 either way)."""
        current = entity_tags(result) if result.values else ()
        if self.if_match is not None and not self.if_match.matches(current, strong=True):
            return self.if_match.name
        if self.if_none_match is not None and self.if_none_match.matches(current,
                                                                          strong=False):
            return self.if_none_match.name
        return None

    def named(self, result: GetResult) -> bool:
        """Whether an If-Match of entity tags names the key's state ``result`` (one of
        them matches it, strong comparison). A put whose preconditions hold and that
        brings no context takes the read's context only then, or when the key has no
        value (its context covers tombstones alone): ``If-Match: *`` holds on any
        value, and an If-None-Match says which state the client does not hold, so a
        put under those replaces nothing its client did not read (a sibling, as the
        same put without them). Session 49's review: a PUT with ``If-Match: *`` or
        ``If-None-Match: "<other>"`` superseded two siblings its client never read,
        which the put without the field kept; Riak writes such a put with the
        X-Riak-Vclock it brings, none (riak_kv_wm_object:accept_doc_body)."""
        return (self.if_match is not None and not self.if_match.any and bool(result.values)
                and self.if_match.matches(entity_tags(result), strong=True))


def failure_body(field: str, method: str, tag: str | None) -> dict[str, str]:
    """The JSON body of a 412: which ``field`` of a ``method`` failed against the
    key's current ``tag`` (None: the key has no value); nothing was done."""
    state = f"the key's current entity tag is {tag}" if tag else "the key has no value"
    done = "nothing was written" if method in ("PUT", "DELETE") else "no value is sent"
    return {"error": "PreconditionFailed",
            "message": f"{field} on a {method}: the precondition is false ({state}); "
                       f"{done}", "outcome": "not-written"}
