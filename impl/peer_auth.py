"""Peer authentication: a mutual challenge-response hello and a MAC on every frame.

Theory of operation
-------------------
Every node of a cluster knows the cluster secret (``ClusterConfig.secret``); a
process that does not know it must not be able to change anything, so every
connection between nodes proves it (the issue "Security first"; the same scheme
as SSH's and TLS-PSK's, built from HMAC-SHA256, RFC 2104, in the standard
library). The side that opens the connection is the *dialer*, the other the
*acceptor*::

    dialer   -> acceptor   hello:     b"VDYNHELO" version(u8) name(u16 + UTF-8) nonce_d(32)
    acceptor -> dialer     challenge: b"VDYNHELO" version(u8) name(u16 + UTF-8) nonce_a(32)
                                      proof_a(32)
    dialer   -> acceptor   proof_d(32)

Both nonces are fresh random bytes (``secrets.token_bytes``). The *transcript* is
both names and both nonces, each length-prefixed. ``proof_a`` is
``HMAC(K, "acceptor" || transcript)``: the acceptor's proof over the dialer's
fresh nonce, so it cannot be replayed from another connection; ``proof_d`` is
``HMAC(K, "dialer" || transcript)`` over the acceptor's fresh nonce. ``K`` is
``HMAC(secret, "vdynamo peer authentication v2")``, a key of its own, so no
peer message can be turned into a context MAC or back. Each side checks the
other's proof with :func:`hmac.compare_digest` before it sends or accepts any
message; the dialer also checks that the acceptor names the node it meant to dial.

After the hello each direction has its own key (``HMAC(K, "dialer->acceptor" ||
transcript)`` and the reverse) and a sequence number that starts at 0; every
:mod:`impl.wire` frame is followed by the 32-byte tag ``HMAC(key, seq(u64) ||
frame)`` (:class:`FrameSealer`, :class:`FrameOpener`). A frame that was
forged, changed, replayed, dropped or reordered by someone on the path fails its
tag, and the receiver closes the connection (its stream can no longer be trusted).

This module is sans-IO: bytes in, bytes out, :class:`PeerAuthError` naming what
failed. The runtime (:mod:`impl.runtime`) reads and writes the sockets, bounds
the hello in time, and logs and counts refusals.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass, field

from impl.errors import BadMessageError

__all__ = [
    "HELLO",
    "HELLO_HEAD_BYTES",
    "NONCE_BYTES",
    "PROTOCOL_VERSION",
    "TAG_BYTES",
    "Acceptor",
    "Dialer",
    "FrameOpener",
    "FrameSealer",
    "PeerAuthError",
    "parse_hello_head",
]

HELLO = b"VDYNHELO"
#: The hello's version: 2 is the authenticated hello (1 was a bare name).
PROTOCOL_VERSION = 2
NONCE_BYTES = 32
TAG_BYTES = 32
#: magic, version, the name's length: what a reader takes first
HELLO_HEAD_BYTES = len(HELLO) + 1 + 2
_HEAD = struct.Struct(">8sBH")
_U16 = struct.Struct(">H")
_U64 = struct.Struct(">Q")
_LABEL = b"vdynamo peer authentication v2"


class PeerAuthError(BadMessageError):
    """A peer failed the hello or a frame's tag (it does not know the cluster secret,
    or someone changed the stream); the connection is refused."""


def _mac(key: bytes, *parts: bytes) -> bytes:
    return hmac.new(key, b"".join(parts), hashlib.sha256).digest()


def _name_bytes(name: str) -> bytes:
    data = name.encode("utf-8")
    if not data or len(data) > 0xFFFF:
        raise PeerAuthError(f"node name of {len(data)} bytes cannot be sent in a hello")
    return data


def _hello(name: str, nonce: bytes) -> bytes:
    data = _name_bytes(name)
    return _HEAD.pack(HELLO, PROTOCOL_VERSION, len(data)) + data + nonce


def parse_hello_head(head: bytes) -> int:
    """The name length announced by the first :data:`HELLO_HEAD_BYTES` of a hello or
    a challenge; :class:`PeerAuthError` if they are not a vdynamo hello of this
    version."""
    if len(head) != HELLO_HEAD_BYTES or not head.startswith(HELLO):
        raise PeerAuthError("connection did not open with a vdynamo hello")
    _, version, length = _HEAD.unpack(head)
    if version != PROTOCOL_VERSION:
        raise PeerAuthError(f"hello of version {version}; this node speaks the "
                            f"authenticated hello, version {PROTOCOL_VERSION}")
    if length == 0:
        raise PeerAuthError("hello names no node")
    return int(length)


def _decode_name(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PeerAuthError("hello's node name is not UTF-8") from None


@dataclass(slots=True)
class _Transcript:
    key: bytes  # K, derived from the cluster secret
    dialer: str
    acceptor: str
    dialer_nonce: bytes
    acceptor_nonce: bytes

    def encoded(self) -> bytes:
        d, a = _name_bytes(self.dialer), _name_bytes(self.acceptor)
        return (_U16.pack(len(d)) + d + _U16.pack(len(a)) + a
                + self.dialer_nonce + self.acceptor_nonce)

    def proof(self, role: bytes) -> bytes:
        return _mac(self.key, role, self.encoded())

    def keys(self) -> tuple[bytes, bytes]:
        """(dialer->acceptor key, acceptor->dialer key)."""
        text = self.encoded()
        return _mac(self.key, b"dialer->acceptor", text), _mac(self.key, b"acceptor->dialer", text)


def peer_key(secret: bytes) -> bytes:
    """K: the key of peer authentication, derived from the cluster secret."""
    return _mac(secret, _LABEL)


@dataclass(slots=True)
class _FrameMac:
    """``HMAC(key, seq || frame)`` per frame, from an HMAC keyed once: copying its
    state skips the key's two SHA-256 blocks (a third of a frame's MAC)."""

    key: bytes
    seq: int = 0
    _keyed: hmac.HMAC = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._keyed = hmac.new(self.key, digestmod=hashlib.sha256)

    def _tag(self, frame: bytes) -> bytes:
        mac = self._keyed.copy()
        mac.update(_U64.pack(self.seq))
        mac.update(frame)
        return mac.digest()


@dataclass(slots=True)
class FrameSealer(_FrameMac):
    """Appends each outgoing frame's tag: ``HMAC(key, seq || frame)``, seq from 0."""

    def seal(self, frame: bytes) -> bytes:
        """``frame`` followed by its :data:`TAG_BYTES`-byte tag."""
        return frame + self.tag(frame)

    def tag(self, frame: bytes) -> bytes:
        """The tag of ``frame`` at the next sequence number (which it uses up): what
        :meth:`seal` appends, for a writer that joins frames and tags in one copy."""
        tag = self._tag(frame)
        self.seq += 1
        return tag


@dataclass(slots=True)
class FrameOpener(_FrameMac):
    """Checks each incoming frame's tag against the next sequence number."""

    def open(self, frame: bytes, tag: bytes) -> bytes:
        """``frame`` if ``tag`` is its tag at the next sequence number; else
        :class:`PeerAuthError` (forged, changed, replayed or reordered)."""
        expected = self._tag(frame)
        if not hmac.compare_digest(expected, tag):
            raise PeerAuthError(f"frame {self.seq} failed its MAC (forged, changed, "
                                "replayed or reordered)")
        self.seq += 1
        return frame


@dataclass(slots=True)
class Dialer:
    """The opening side's hello. ``hello()`` first; then ``on_challenge`` with what
    the acceptor sent, which returns the proof to send and the session."""

    secret: bytes
    name: str
    expected: str  # the node this side meant to reach
    nonce: bytes = field(default_factory=lambda: secrets.token_bytes(NONCE_BYTES))

    def hello(self) -> bytes:
        return _hello(self.name, self.nonce)

    def on_challenge(self, name_raw: bytes, nonce: bytes,
                     proof: bytes) -> tuple[bytes, FrameSealer, FrameOpener]:
        """(proof_d to send, this side's sealer, this side's opener); PeerAuthError
        when the acceptor is not the node dialed or does not know the secret."""
        name = _decode_name(name_raw)
        if name != self.expected:
            raise PeerAuthError(f"dialed {self.expected!r} but {name!r} answered")
        if len(nonce) != NONCE_BYTES or len(proof) != TAG_BYTES:
            raise PeerAuthError("challenge is truncated")
        transcript = _Transcript(peer_key(self.secret), self.name, name, self.nonce, nonce)
        if not hmac.compare_digest(transcript.proof(b"acceptor"), proof):
            raise PeerAuthError(f"{name!r} failed the challenge (it does not know the "
                                "cluster secret)")
        out_key, in_key = transcript.keys()
        return transcript.proof(b"dialer"), FrameSealer(out_key), FrameOpener(in_key)


@dataclass(slots=True)
class Acceptor:
    """The listening side's hello. ``on_hello`` with the dialer's name and nonce
    returns the challenge to send; ``on_proof`` with the dialer's proof returns the
    session (PeerAuthError if the proof is wrong)."""

    secret: bytes
    name: str
    nonce: bytes = field(default_factory=lambda: secrets.token_bytes(NONCE_BYTES))
    _transcript: _Transcript | None = None

    def on_hello(self, name_raw: bytes, nonce: bytes) -> tuple[str, bytes]:
        """(the dialer's claimed name, the challenge to send it)."""
        name = _decode_name(name_raw)
        if len(nonce) != NONCE_BYTES:
            raise PeerAuthError("hello is truncated")
        self._transcript = _Transcript(peer_key(self.secret), name, self.name, nonce,
                                       self.nonce)
        return name, _hello(self.name, self.nonce) + self._transcript.proof(b"acceptor")

    def on_proof(self, proof: bytes) -> tuple[FrameSealer, FrameOpener]:
        """(this side's sealer, this side's opener) once the dialer proved it knows
        the secret; PeerAuthError otherwise."""
        transcript = self._transcript
        if transcript is None:
            raise PeerAuthError("proof before hello")
        if not hmac.compare_digest(transcript.proof(b"dialer"), proof):
            raise PeerAuthError(f"{transcript.dialer!r} failed the challenge (it does not "
                                "know the cluster secret)")
        in_key, out_key = transcript.keys()
        return FrameSealer(out_key), FrameOpener(in_key)
