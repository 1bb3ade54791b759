"""Two clusters that share a secret do not authenticate each other's nodes.

Session 14's probe B: the hello carried no cluster identity, so a node of
cluster B given A's secret (a copied cluster file, the documentation's example)
and a name of A's passed A's hello, and its frames were applied. Now each hello
names its cluster (``[cluster] name``, :class:`impl.config.ClusterConfig`), the
peer key is derived from the secret *and* the name, and a node refuses a peer of
another cluster with a line naming both clusters, never the secret (Cassandra
refuses a peer whose ``cluster_name`` differs)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from pathlib import Path

import pytest

from impl.config import DEFAULT_CLUSTER_NAME, ClusterConfig
from impl.errors import ConfigError
from impl.peer_auth import Acceptor, Dialer, HelloInfo, PeerAuthError, peer_key
from tests.impl.test_peer_auth import SECRET, _split
from tests.runtime.live import SECRET as LIVE_SECRET
from tests.runtime.live import cluster, dial, run


def test_an_acceptor_refuses_a_dialer_of_another_cluster_naming_both() -> None:
    dialer = Dialer(SECRET, "n1", "n2", HelloInfo("blue"))
    acceptor = Acceptor(SECRET, "n2", HelloInfo("green"))
    with pytest.raises(PeerAuthError) as refused:
        acceptor.on_hello(*_split(dialer.hello())[:3])
    message = str(refused.value)
    assert "'n1' is a node of cluster 'blue'" in message
    assert "cluster 'green'" in message and "[cluster] name" in message
    assert SECRET.decode() not in message
    # the acceptor's hello goes back (with no proof), so the dialer names it too
    with pytest.raises(PeerAuthError, match="'n2' is a node of cluster 'green', this "
                                            "node of cluster 'blue'"):
        dialer.on_challenge(*_split(refused.value.reply))


def test_a_dialer_refuses_an_acceptor_of_another_cluster() -> None:
    dialer = Dialer(SECRET, "n1", "n2", HelloInfo("blue"))
    acceptor = Acceptor(SECRET, "n2", HelloInfo("blue"))
    _, challenge = acceptor.on_hello(*_split(dialer.hello())[:3])
    other = Dialer(SECRET, "n1", "n2", HelloInfo("green"), nonce=dialer.nonce)
    with pytest.raises(PeerAuthError, match="'n2' is a node of cluster 'blue'"):
        other.on_challenge(*_split(challenge))


def test_the_same_cluster_passes_and_learns_the_peers_info() -> None:
    dialer = Dialer(SECRET, "n1", "n2", HelloInfo("blue", (("max_value_bytes", 5),)))
    acceptor = Acceptor(SECRET, "n2", HelloInfo("blue"))
    _, challenge = acceptor.on_hello(*_split(dialer.hello())[:3])
    reply, _, _ = dialer.on_challenge(*_split(challenge))
    acceptor.on_proof(reply)
    assert dialer.peer_info == HelloInfo("blue")
    assert acceptor.peer_info == HelloInfo("blue", (("max_value_bytes", 5),))


def test_the_key_is_bound_to_the_cluster_name() -> None:
    """A node of cluster green that claims blue in its hello (to pass the name
    check) still keys its proof with green's key, and fails: the name check is
    not the only guard."""
    assert peer_key(SECRET, "blue") != peer_key(SECRET, "green")
    dialer = Dialer(SECRET, "n1", "n2", HelloInfo("blue"))
    acceptor = Acceptor(SECRET, "n2", HelloInfo("blue"))
    acceptor.on_hello(*_split(dialer.hello())[:3])
    transcript = acceptor._transcript
    assert transcript is not None
    forged = hmac.new(peer_key(SECRET, "green"), b"dialer" + transcript.encoded(),
                      hashlib.sha256).digest()
    with pytest.raises(PeerAuthError, match="secret"):
        acceptor.on_proof(forged)
    assert hmac.compare_digest(transcript.proof(b"dialer"), hmac.new(
        peer_key(SECRET, "blue"), b"dialer" + transcript.encoded(), hashlib.sha256).digest())


def test_the_cluster_name_is_a_setting_with_a_default() -> None:
    one = {"nodes": ("n1",), "n": 1, "r": 1, "w": 1}
    assert ClusterConfig(**one).name == DEFAULT_CLUSTER_NAME == "vdynamo"  # type: ignore[arg-type]
    assert ClusterConfig(**one, name="prod eu").name == "prod eu"  # type: ignore[arg-type]
    for bad in ("", "x" * 256, "a\nb", 7):
        with pytest.raises(ConfigError, match="name"):
            ClusterConfig(**one, name=bad)  # type: ignore[arg-type]


def test_a_live_node_refuses_a_node_of_another_cluster_with_the_same_secret(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, name="blue") as servers:
            target = servers[0]
            with pytest.raises(PeerAuthError, match="'n1' is a node of cluster 'blue', "
                                                    "this node of cluster 'green'"):
                await dial(target, "n2", info=HelloInfo("green"))
            await asyncio.sleep(0.2)
            assert target.refused_peers == 1
            _, writer, _ = await dial(target, "n2", info=HelloInfo("blue"))  # its own: passes
            writer.close()
            await asyncio.sleep(0.1)
            assert target.refused_peers == 1
    with caplog.at_level(logging.WARNING, logger="vdynamo.runtime"):
        run(scenario())
    refusals = [r.getMessage() for r in caplog.records if "refused peer" in r.getMessage()]
    assert len(refusals) == 1, refusals
    assert "'n2' is a node of cluster 'green', this node of cluster 'blue'" in refusals[0]
    assert LIVE_SECRET.decode() not in refusals[0]
