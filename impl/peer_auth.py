"""Peer authentication: a mutual challenge-response hello and a MAC on every frame.

Theory of operation
-------------------
Every node of a cluster knows the cluster secret (``ClusterConfig.secret``); a
process that does not know it must not be able to change anything, so every
connection between nodes proves it (the issue "Security first"; the same scheme
as SSH's and TLS-PSK's, built from HMAC-SHA256, RFC 2104, in the standard
library). The side that opens the connection is the *dialer*, the other the
*acceptor*::

    dialer   -> acceptor   hello:     b"VDYNHELO" version(u8) len(name)(u16) len(info)(u16)
                                      name info nonce_d(32)
    acceptor -> dialer     challenge: b"VDYNHELO" version(u8) len(name)(u16) len(info)(u16)
                                      name info nonce_a(32) proof_a(32)
    dialer   -> acceptor   proof_d(32)

``info`` is a JSON object (UTF-8, sorted keys): ``"cluster"``, the sender's
cluster name (``ClusterConfig.name``), and ``"limits"``, its record limits
(name -> int, see :mod:`impl.runtime`), and since session 26 ``"settings"``,
the settings every node must share (name -> text: the clock mode, N, the ring's;
compared once the hello is authenticated, a difference refused naming each).
Since session 28 ``"start"``, a token the sender's process drew at its start: a
node refuses the hello of a peer whose start differs from the one its own
connection to that peer's address was told (another process claiming the name).
Both nonces are fresh random bytes
(``secrets.token_bytes``). The *transcript* is both names, both infos and both
nonces, each length-prefixed. ``proof_a`` is ``HMAC(K, "acceptor" ||
transcript)``: the acceptor's proof over the dialer's fresh nonce, so it cannot
be replayed from another connection; ``proof_d`` is ``HMAC(K, "dialer" ||
transcript)`` over the acceptor's fresh nonce. ``K`` is ``HMAC(secret,
"vdynamo peer authentication v3" || cluster name)``, a key of its own, so no
peer message can be turned into a context MAC or back, and a key per cluster:
two clusters given one secret (the same file copied, the documentation's
example) do not authenticate each other's nodes (session 14's probe B; Cassandra
refuses a peer whose ``cluster_name`` differs). Each side first compares the
cluster the other's hello names with its own and refuses a different one with
:class:`PeerAuthError` naming both (never the secret); then it checks the
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
import json
import secrets
import struct
from dataclasses import dataclass, field

from impl.config import DEFAULT_CLUSTER_NAME
from impl.errors import BadMessageError

__all__ = [
    "HELLO",
    "HELLO_HEAD_BYTES",
    "HELLO_LIMIT_CEILING",
    "NONCE_BYTES",
    "PROTOCOL_VERSION",
    "SETTINGS_DIFFER",
    "TAG_BYTES",
    "Acceptor",
    "Dialer",
    "FrameOpener",
    "FrameSealer",
    "HelloInfo",
    "PeerAuthError",
    "parse_hello_head",
]

HELLO = b"VDYNHELO"
#: The hello's version: 4 since session 50, whose frames a node of before cannot
#: read (a Gossip relaying store generations, ``Gossip.generations``; a replica's
#: refusal of a write it could not store, ``ReplicaPutFailed``): a node of version 3
#: took the connection and then dropped every such gossip as trailing bytes, so a
#: mixed cluster lost gossip one way without a word; now the hello is refused,
#: naming both versions (upgrade every node together, as docs/runtime.md says). 3
#: carried the cluster name and limits, 2 was the authenticated hello without them,
#: 1 a bare name.
PROTOCOL_VERSION = 4
NONCE_BYTES = 32
TAG_BYTES = 32
#: magic, version, the name's and the info's lengths: what a reader takes first
HELLO_HEAD_BYTES = len(HELLO) + 1 + 2 + 2
_HEAD = struct.Struct(">8sBHH")
_U16 = struct.Struct(">H")
_U64 = struct.Struct(">Q")
_LABEL = b"vdynamo peer authentication v3"


class PeerAuthError(BadMessageError):
    """A peer failed the hello or a frame's tag (it does not know the cluster secret,
    or someone changed the stream); the connection is refused. ``reply``: bytes to
    send the peer before closing (an acceptor's hello to a dialer of another
    cluster, a dialer's proof of zeros to an acceptor whose proof failed, so that
    the other side too can name the mismatch), else empty. ``secret_differs``: True
    when the dialer checked the acceptor's proof and it did not verify with this
    node's secret (:meth:`Dialer.on_challenge`): the peer at the address dialed
    answered a hello with another key, which the runtime counts against this node's
    readiness (session 49); never set by the acceptor, whose dialer's name is a
    claim no proof backs."""

    reply: bytes = b""
    secret_differs: bool = False


def _mac(key: bytes, *parts: bytes) -> bytes:
    return hmac.new(key, b"".join(parts), hashlib.sha256).digest()


def _name_bytes(name: str) -> bytes:
    data = name.encode("utf-8")
    if not data or len(data) > 0xFFFF:
        raise PeerAuthError(f"node name of {len(data)} bytes cannot be sent in a hello")
    return data


#: the largest limit a hello may carry (2^63 - 1): every limit of a configuration is
#: at most 2^31 (``impl.config``), a kept record bound at most that times the nodes
HELLO_LIMIT_CEILING = (1 << 63) - 1


@dataclass(frozen=True, slots=True)
class HelloInfo:
    """What a hello says of its sender besides its name: its cluster name and its
    record limits (name -> value), authenticated with the rest of the hello."""

    cluster: str
    limits: tuple[tuple[str, int], ...] = ()
    #: the sender's settings every node must share (name -> its value as text,
    #: :data:`impl.runtime.SHARED_SETTINGS`); empty from a node of before session 26
    settings: tuple[tuple[str, str], ...] = ()
    #: the sender process's start, a token drawn when it started (empty from a node of
    #: before session 28): two processes claiming one name tell apart by it
    start: str = ""

    def encoded(self) -> bytes:
        fields: dict[str, object] = {"cluster": self.cluster, "limits": dict(self.limits)}
        if self.settings:
            fields["settings"] = dict(self.settings)
        if self.start:
            fields["start"] = self.start
        data = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("utf-8")
        if len(data) > 0xFFFF:
            raise PeerAuthError(f"hello info of {len(data)} bytes cannot be sent")
        return data

    @staticmethod
    def decode(raw: bytes) -> HelloInfo:
        """The info of a received hello; PeerAuthError if it is not one.

        The info arrives before the sender proved anything, so any bytes are
        refused as PeerAuthError, RecursionError too: ``json.loads`` raises it for
        an array or object nested deeper than the interpreter's recursion limit
        (``[`` x 60,000 fits the hello's 65,535 bytes). Before session 17's
        service probe it escaped the peer handler: no refusal counted, and each
        such hello logged a 1.5 KB ERROR traceback ("Unhandled exception in
        client_connected_cb"), unbounded by the refusal log's rate limit
        (docs/runtime.md, "Faults found by session 17's service probe").

        A bad field is named, with what it held (cut to 40 characters): a limit
        that is not an integer of 0 or more, ``limits`` not an object, no
        ``cluster`` string. Until session 22's review every such hello was refused
        as "no cluster name or bad limits", naming nothing; a negative limit (a
        kept record bound of -1) was taken. A limit over
        :data:`HELLO_LIMIT_CEILING` is refused too: until session 23's review a
        4,000-digit kept bound was taken, shown in ``/status`` and sent on in this
        node's own hellos."""
        try:
            value = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise PeerAuthError("hello's info is not a JSON object") from None
        except ValueError:  # an integer of over 4,300 digits (sys.int_info), not a limit
            raise PeerAuthError("hello's info holds a number of over 4,300 digits") from None
        if not isinstance(value, dict):
            raise PeerAuthError("hello's info is not a JSON object")
        cluster, limits = value.get("cluster"), value.get("limits", {})
        if not isinstance(cluster, str):
            raise PeerAuthError("hello's info has no cluster name (\"cluster\", a string)")
        if not isinstance(limits, dict):
            raise PeerAuthError(f"hello's info: \"limits\" is {_shown(limits)}, not an object")
        for name, number in limits.items():  # named: session 22's review of the kept bounds
            if (not isinstance(number, int) or isinstance(number, bool)
                    or not 0 <= number <= HELLO_LIMIT_CEILING):
                raise PeerAuthError(f"hello's info: limit {_shown(name)} is {_shown(number)}, "
                                    f"not an integer of 0..{HELLO_LIMIT_CEILING}")
        settings = value.get("settings", {})
        if not isinstance(settings, dict):
            raise PeerAuthError(f"hello's info: \"settings\" is {_shown(settings)}, "
                                "not an object")
        for name, text in settings.items():
            if not isinstance(text, str) or len(text) > _SETTING_CHARS:
                raise PeerAuthError(f"hello's info: setting {_shown(name)} is {_shown(text)}, "
                                    f"not a string of at most {_SETTING_CHARS} characters")
        start = value.get("start", "")
        if not isinstance(start, str) or len(start) > _SETTING_CHARS:
            raise PeerAuthError(f"hello's info: \"start\" is {_shown(start)}, not a string "
                                f"of at most {_SETTING_CHARS} characters")
        return HelloInfo(cluster, tuple(sorted(limits.items())),
                         tuple(sorted(settings.items())), start)


def _shown(value: object) -> str:
    """``value``'s repr, cut to 40 characters (a hello's info is the peer's text)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _hello(name: str, info: bytes, nonce: bytes) -> bytes:
    data = _name_bytes(name)
    return _HEAD.pack(HELLO, PROTOCOL_VERSION, len(data), len(info)) + data + info + nonce


def parse_hello_head(head: bytes) -> tuple[int, int]:
    """(the name's length, the info's length) announced by the first
    :data:`HELLO_HEAD_BYTES` of a hello or a challenge; :class:`PeerAuthError` if
    they are not a vdynamo hello of this version."""
    if len(head) != HELLO_HEAD_BYTES or not head.startswith(HELLO):
        raise PeerAuthError("connection did not open with a vdynamo hello")
    version = head[len(HELLO)]
    if version != PROTOCOL_VERSION:
        raise PeerAuthError(f"hello of version {version}; this node speaks the "
                            f"authenticated hello, version {PROTOCOL_VERSION}")
    _, _, length, info_length = _HEAD.unpack(head)
    if length == 0:
        raise PeerAuthError("hello names no node")
    return int(length), int(info_length)


def _same_cluster(mine: str, peer: str, info: HelloInfo) -> None:
    if info.cluster != mine:
        raise PeerAuthError(f"{peer!r} is a node of cluster {info.cluster!r}, this node of "
                            f"cluster {mine!r} ([cluster] name differs; a cluster file "
                            "of another cluster?)")


#: the longest value of a setting a hello may carry (a name or a number, as text)
_SETTING_CHARS = 255


#: what the refusal of a hello for other shared settings says (:func:`_same_settings`;
#: the runtime tells such a refusal by it: ``NodeServer.misconfigured``)
SETTINGS_DIFFER = "runs other [cluster] settings that every node must share"


def _same_settings(mine: HelloInfo, peer: str, info: HelloInfo) -> None:
    """PeerAuthError naming each setting ``peer``'s (authenticated) hello gives another
    value than this node's, with both values; a setting one side does not send (a
    node of before session 26) is taken as shared.

    These settings decide what a record is (the clock mode) and which nodes hold a
    key (N and the ring), so two nodes that differ in one cannot serve one cluster:
    before session 26's user probe they connected and said nothing. A node started
    with ``clock = "lww"`` beside two ``dvv`` ones dropped 623 of its peers'
    messages in 5 s (630 in a second run), its puts answered 504 (20 of 20) and
    its reads 503; one with another ``ring_seed`` (5 nodes, N=3) read 3 of 40
    acknowledged keys as missing at R=2. Cassandra likewise refuses a peer of
    another ``cluster_name`` or partitioner, Riak a node of another
    ``ring_creation_size``."""
    theirs = dict(info.settings)
    differ = [f"{name} {here!r} here, {theirs[name]!r} at {peer}"
              for name, here in mine.settings if name in theirs and theirs[name] != here]
    if differ:
        raise PeerAuthError(
            f"{peer!r} {SETTINGS_DIFFER}: "
            f"{'; '.join(differ)} (its records or the nodes it takes to hold a key "
            "would differ from this node's; not connected: give every node the same "
            "[cluster] section)")


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
    dialer_info: bytes
    acceptor_info: bytes

    def encoded(self) -> bytes:
        d, a = _name_bytes(self.dialer), _name_bytes(self.acceptor)
        return (_U16.pack(len(d)) + d + _U16.pack(len(a)) + a
                + _U16.pack(len(self.dialer_info)) + self.dialer_info
                + _U16.pack(len(self.acceptor_info)) + self.acceptor_info
                + self.dialer_nonce + self.acceptor_nonce)

    def proof(self, role: bytes) -> bytes:
        return _mac(self.key, role, self.encoded())

    def keys(self) -> tuple[bytes, bytes]:
        """(dialer->acceptor key, acceptor->dialer key)."""
        text = self.encoded()
        return _mac(self.key, b"dialer->acceptor", text), _mac(self.key, b"acceptor->dialer", text)


def peer_key(secret: bytes, cluster: str) -> bytes:
    """K: the key of peer authentication, derived from the cluster secret and the
    cluster's name (so one secret gives two clusters two keys)."""
    return _mac(secret, _LABEL, cluster.encode("utf-8"))


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
    the acceptor sent, which returns the proof to send and the session; the
    acceptor's info is then ``peer_info``."""

    secret: bytes
    name: str
    expected: str  # the node this side meant to reach
    info: HelloInfo = field(default_factory=lambda: HelloInfo(DEFAULT_CLUSTER_NAME))
    nonce: bytes = field(default_factory=lambda: secrets.token_bytes(NONCE_BYTES))
    peer_info: HelloInfo | None = None

    def hello(self) -> bytes:
        return _hello(self.name, self.info.encoded(), self.nonce)

    def on_challenge(self, name_raw: bytes, info_raw: bytes, nonce: bytes,
                     proof: bytes) -> tuple[bytes, FrameSealer, FrameOpener]:
        """(proof_d to send, this side's sealer, this side's opener); PeerAuthError
        when the acceptor is not the node dialed, is of another cluster, does not
        know the secret, or runs other shared settings (``HelloInfo.settings``)."""
        name = _decode_name(name_raw)
        if name != self.expected:
            raise PeerAuthError(f"dialed {self.expected!r} but {name!r} answered")
        if len(nonce) != NONCE_BYTES or len(proof) != TAG_BYTES:
            raise PeerAuthError("challenge is truncated")
        info = HelloInfo.decode(info_raw)
        _same_cluster(self.info.cluster, name, info)
        transcript = _Transcript(peer_key(self.secret, self.info.cluster), self.name, name,
                                 self.nonce, nonce, self.info.encoded(), info_raw)
        if not hmac.compare_digest(transcript.proof(b"acceptor"), proof):
            # Which side's secret is wrong cannot be told from here: say both differ
            # (before session 19's peer-port probe a node given a wrong secret logged
            # that each good peer "does not know the cluster secret"), and answer a
            # proof of zeros so that the acceptor logs the refusal too (it logged
            # nothing: a node joining with a wrong secret left its seeds' logs empty)
            error = PeerAuthError(
                f"{name!r} failed the challenge: its proof does not verify with this "
                "node's cluster secret (the two nodes' [cluster] secret differ, or "
                "another process answers at its address; compare the cluster files)")
            error.reply = bytes(TAG_BYTES)
            error.secret_differs = True
            raise error
        _same_settings(self.info, name, info)  # authenticated: its proof verified
        self.peer_info = info
        out_key, in_key = transcript.keys()
        return transcript.proof(b"dialer"), FrameSealer(out_key), FrameOpener(in_key)


@dataclass(slots=True)
class Acceptor:
    """The listening side's hello. ``on_hello`` with the dialer's name, info and
    nonce returns the challenge to send; ``on_proof`` with the dialer's proof
    returns the session (PeerAuthError if the proof is wrong); the dialer's info
    is ``peer_info`` once the proof passed."""

    secret: bytes
    name: str
    info: HelloInfo = field(default_factory=lambda: HelloInfo(DEFAULT_CLUSTER_NAME))
    nonce: bytes = field(default_factory=lambda: secrets.token_bytes(NONCE_BYTES))
    peer_info: HelloInfo | None = None
    _transcript: _Transcript | None = None
    _claimed: HelloInfo | None = None

    def on_hello(self, name_raw: bytes, info_raw: bytes, nonce: bytes) -> tuple[str, bytes]:
        """(the dialer's claimed name, the challenge to send it); PeerAuthError when
        the hello is truncated or names another cluster (then with ``reply``, this
        side's hello and a proof of zeros, for the dialer to read the mismatch)."""
        name = _decode_name(name_raw)
        if len(nonce) != NONCE_BYTES:
            raise PeerAuthError("hello is truncated")
        info = HelloInfo.decode(info_raw)
        mine = self.info.encoded()
        try:
            _same_cluster(self.info.cluster, name, info)
        except PeerAuthError as error:  # our hello, with no proof: the dialer names it too
            error.reply = _hello(self.name, mine, self.nonce) + bytes(TAG_BYTES)
            raise
        self._claimed = info
        self._transcript = _Transcript(peer_key(self.secret, self.info.cluster), name,
                                       self.name, nonce, self.nonce, info_raw, mine)
        return name, _hello(self.name, mine, self.nonce) + self._transcript.proof(b"acceptor")

    def on_proof(self, proof: bytes) -> tuple[FrameSealer, FrameOpener]:
        """(this side's sealer, this side's opener) once the dialer proved it knows
        the secret and its hello's shared settings are this node's
        (``HelloInfo.settings``); PeerAuthError otherwise."""
        transcript = self._transcript
        if transcript is None:
            raise PeerAuthError("proof before hello")
        if not hmac.compare_digest(transcript.proof(b"dialer"), proof):
            if proof == bytes(TAG_BYTES):  # a dialer's answer to a proof it could not verify
                raise PeerAuthError(
                    f"{transcript.dialer!r} failed the challenge: it could not verify this "
                    "node's proof, so its [cluster] secret differs from this node's "
                    "(compare the cluster files)")
            raise PeerAuthError(f"{transcript.dialer!r} failed the challenge (it does not "
                                "know the cluster secret)")
        if self._claimed is not None:  # authenticated now: its proof verified
            _same_settings(self.info, transcript.dialer, self._claimed)
        self.peer_info = self._claimed
        in_key, out_key = transcript.keys()
        return FrameSealer(out_key), FrameOpener(in_key)
