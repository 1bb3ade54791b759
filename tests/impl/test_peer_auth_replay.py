"""A frame captured on one authenticated connection is refused on any other: a
later connection between the same two nodes, or a connection to another node
(session 14's probe B: "can a frame for node A be accepted by node B?"). Each
connection's frame keys hash both names and both fresh nonces
(impl.peer_auth), so the first frame of a new connection, sequence 0 like the
captured one, still fails its MAC."""

from __future__ import annotations

import pytest

from impl.peer_auth import TAG_BYTES, Acceptor, Dialer, FrameOpener, FrameSealer, PeerAuthError
from tests.impl.test_peer_auth import SECRET, _split


def _connect(dialer_name: str, acceptor_name: str) -> tuple[FrameSealer, FrameOpener]:
    """(the dialer's sealer, the acceptor's opener) of one new connection."""
    dialer = Dialer(SECRET, dialer_name, acceptor_name)
    acceptor = Acceptor(SECRET, acceptor_name)
    name, info, nonce, _ = _split(dialer.hello())
    _, challenge = acceptor.on_hello(name, info, nonce)
    reply, sealer, _ = dialer.on_challenge(*_split(challenge))
    _, opener = acceptor.on_proof(reply)
    return sealer, opener


@pytest.mark.parametrize("target", ["n2", "n3"])
def test_a_captured_frame_fails_on_another_connection(target: str) -> None:
    sealer, opener = _connect("n1", "n2")
    captured = sealer.seal(b"ReadRepair: the value of a week ago")
    assert opener.open(captured[:-TAG_BYTES], captured[-TAG_BYTES:])  # delivered once
    _, later = _connect("n1", target)  # a new connection: the captured frame re-sent
    with pytest.raises(PeerAuthError, match="frame 0 failed its MAC"):
        later.open(captured[:-TAG_BYTES], captured[-TAG_BYTES:])
