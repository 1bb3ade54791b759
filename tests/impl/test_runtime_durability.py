"""Persist, then send, in the asyncio runtime (``NodeServer._perform``).

``tests/impl/test_node_durability.py`` checks the node core and
:func:`impl.staging.persist` under a test driver; this checks the runtime's own
effect loop: at the moment it hands a peer message to its sender or answers a
client, the engine (``fsync = "always"``) already holds the write that message
acknowledges. A runtime that sends first and writes on a later turn of the event
loop (a group commit done wrong) fails here.
"""

from __future__ import annotations

import asyncio

from impl.config import ClusterConfig
from impl.effects import PutResult, Reply
from impl.messages import PutRequest, ReplicaPut, ReplicaPutAck
from impl.runtime import Address, NodeServer
from impl.storage.memory import MemoryStorage
from impl.versions import ClockMode, Record, apply_put, encode_record
from spec.vclock import VClock

KEY = b"cart"
NAMES = ("n1", "n2", "n3")


class _Answer:
    """Stands in for the future a client request waits on; notes what the engine
    held when the answer was given."""

    def __init__(self, storage: MemoryStorage) -> None:
        self.storage = storage
        self.stored_when_answered: bytes | None = None
        self.reply: Reply | None = None

    def done(self) -> bool:
        return self.reply is not None

    def set_result(self, reply: Reply) -> None:
        self.stored_when_answered = self.storage.read(KEY)
        self.reply = reply


def _server(storage: MemoryStorage, **changes: object) -> NodeServer:
    config = ClusterConfig(nodes=NAMES, n=3, r=1, w=1, **changes)  # type: ignore[arg-type]
    peers = {name: Address("127.0.0.1", 0) for name in NAMES}
    return NodeServer("n1", config, storage, peers, seed=1)


def test_the_runtime_acknowledges_a_replica_put_only_after_the_write() -> None:
    async def main() -> list[tuple[str, object, bytes | None]]:
        storage = MemoryStorage("always")
        server = _server(storage)
        sent: list[tuple[str, object, bytes | None]] = []

        def send(dest: str, message: object) -> None:
            sent.append((dest, message, storage.read(KEY)))

        server._send = send  # type: ignore[method-assign]
        record = encode_record(apply_put(Record.empty(ClockMode.DVV), VClock(), b"milk",
                                         coordinator="n2", client_id="c", now=0.0))
        server._perform(server.node.receive(server.now(), "n2",
                                            ReplicaPut(7, KEY, record)))
        await asyncio.sleep(0)  # a write put off to a later turn of the loop lands now
        return sent

    sent = asyncio.run(main())
    acks = [(dest, stored) for dest, message, stored in sent
            if isinstance(message, ReplicaPutAck)]
    assert acks, "the replica sent no ReplicaPutAck"
    for dest, stored in acks:
        assert dest == "n2"
        assert stored is not None, "ReplicaPutAck left before the write it acknowledges"


def test_the_runtime_answers_a_put_only_after_the_coordinators_write() -> None:
    async def main() -> _Answer:
        storage = MemoryStorage("always")
        server = _server(storage)
        server._send = lambda dest, message: None  # type: ignore[method-assign]
        answer = _Answer(storage)
        server._waiting[1] = answer  # type: ignore[assignment]
        request = PutRequest(1, KEY, b"milk", b"", None, "c", 0)
        server._perform(server.node.client_request(server.now(), request))
        await asyncio.sleep(0)
        return answer

    answer = asyncio.run(main())
    assert answer.reply is not None and isinstance(answer.reply.result, PutResult), (
        answer.reply)
    assert answer.stored_when_answered is not None, "put answered before its write"
