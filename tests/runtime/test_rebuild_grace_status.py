"""``GET /status`` ``rebuild_grace``: a rebuilt node whose own reads and acks do not
count yet (session 57; docs/runtime.md, "The rebuild's grace in /status (session
57)"). Red team 6 saw ``rebuild`` null while a get at R = 1 through the node alone
answered 503, its own read not counted: the grace after a rebuild
(:meth:`impl.node.Node._acks_uncounted`) showed nowhere."""

from __future__ import annotations

from pathlib import Path

from impl.effects import Send
from impl.messages import ReplicaGet
from impl.node import Node
from impl.runtime import NodeServer
from tests.runtime.live import call, cluster, run, url
from tests.runtime.test_shadow_round_status import crashed_n1_store


def _rebuilt_after_a_silent_read(node: Node, now: float) -> None:
    """``node`` rebuilds (as a replaced disk), leaves a peer's read of a range it
    has not rebuilt unanswered at ``now``, then completes every exchange."""
    node._begin_rebuild(now)
    assert node.rebuild.active
    effects = node.receive(now, "n2", ReplicaGet(1, b"k"))
    assert not [effect for effect in effects if isinstance(effect, Send)]  # silent
    assert node.stats["rebuild-silent-get"] == 1
    for pair in sorted(node.rebuild.pending):
        node._rebuild_synced(*pair)
    assert not node.rebuild.active


def test_status_shows_the_grace_after_a_rebuild() -> None:
    """A NodeServer (no sockets): ``rebuild_grace`` null before; null while it
    rebuilds (``rebuild`` says so); once rebuilt after a silent read,
    ``{"counted_in_s": at most 9.0, "grace_s": 9.0}`` with ``rebuild`` null and
    ``ready`` true; :meth:`impl.node.Node.rebuild_grace` None 9 s on. Mutants
    (each run, seen failing, reverted): ``Node.rebuild_grace`` always None
    (``isinstance(None, dict)`` false); the field left out of ``status()``
    (KeyError); ``counted_in_s`` the seconds since the silent read
    (``8.0 <= 0.1`` false)."""
    config, storage = crashed_n1_store()

    async def scenario() -> None:
        server = NodeServer("n1", config, storage, {})
        assert server.status()["rebuild_grace"] is None
        now = server.now()
        _rebuilt_after_a_silent_read(server.node, now)
        status = server.status()
        assert status["rebuild"] is None and status["ready"] is True
        grace = status["rebuild_grace"]
        assert isinstance(grace, dict) and grace["grace_s"] == 9.0
        assert 8.0 <= grace["counted_in_s"] <= 9.0, grace
        assert server.node.rebuild_grace(now + 9.0) is None

    run(scenario())


def test_status_over_loopback_and_the_503_name_the_grace(tmp_path: Path) -> None:
    """Three nodes on loopback; n1 rebuilt after a silent read (as above), n2 and
    n3 stopped: ``GET /status`` of n1 gives ``rebuild_grace``, and a get at r=1
    through n1 answers 503 naming the seconds until its own reads count again.
    About 3 s of wall time, 1.5 CPU-s. Mutants (each run, seen failing,
    reverted): the field left out of ``status()`` (KeyError); ``Node.rebuild_grace``
    always None (None subscripted); ``counted_in_s`` the seconds since the silent
    read (``5.0 <= 0.1`` false); ``own_read_uncounted_why`` without its grace
    clause ("uncounted at the get's start: its own reads count now" in the 503)."""

    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            n1 = servers[0]
            _rebuilt_after_a_silent_read(n1.node, n1.now())
            for other in servers[1:]:
                await other.stop()
            status, _, body = await call("GET", url(n1, "/status"))
            assert status == 200 and body["rebuild"] is None
            assert body["rebuild_grace"]["grace_s"] == 9.0
            assert 5.0 <= body["rebuild_grace"]["counted_in_s"] <= 9.0
            status, _, body = await call("GET", url(n1, "/kv/k?r=1"))
            assert status == 503 and body["error"] == "QuorumError", body
            assert ("not counted: n1 (the coordinator's own read, just rebuilt: its own "
                    "reads count again in ") in body["message"], body
            assert "s, see rebuild_grace in /status)" in body["message"], body

    run(scenario())
