"""The ceiling of HTTP on this machine: a trivial asyncio server with a static answer.

Run: ``python bench/ceiling.py PORT`` (127.0.0.1; stops on SIGTERM or Ctrl-C).

It answers every request, whatever its method and path, with ``200`` and the
two bytes ``ok``, over keep-alive HTTP/1.1 connections. It parses only as much
as wrk's requests need: the end of the head (``\\r\\n\\r\\n``) and a
``Content-Length`` body. ``bench/cluster.py`` drives it with the same wrk Lua
script as vdynamo's gets, so its requests/s bound what any Python asyncio HTTP
server (the standard event loop, one core) can answer here: the event loop and
the kernel's loopback, with no parsing library, no storage, no peers.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class Static(asyncio.Protocol):
    """One connection: answer each complete request with :data:`RESPONSE`."""

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        answers = 0
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = self.buffer[:end].lower()
            length = 0
            at = head.find(b"content-length:")
            if at >= 0:
                length = int(head[at + 15:].split(b"\r\n", 1)[0])
            if len(self.buffer) < end + 4 + length:
                break
            self.buffer = self.buffer[end + 4 + length:]
            answers += 1
        if answers and self.transport is not None:
            self.transport.write(RESPONSE * answers)


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Static, "127.0.0.1", port)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print(f"ceiling: HTTP on http://127.0.0.1:{port}", flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].isdigit():
        print("usage: python bench/ceiling.py PORT", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(int(argv[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
