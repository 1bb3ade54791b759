"""Real nodes in this process, on loopback, for embedding and tests.

::

    async with impl.LocalCluster(nodes=3, n=3, r=2, w=2) as cluster:
        client = cluster.client()          # an impl.http_client.AsyncClient
        await client.put("cart", b"milk")
        print((await client.get("cart")).values)

Each node is an :class:`impl.runtime.NodeServer` on ``127.0.0.1`` (ports chosen
by the kernel), with SQLite in a temporary directory (removed at the end; give
``directory`` to keep the files). The secret is drawn at random for each
cluster. Every node is stopped when the block ends.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

from impl.config import ClusterConfig
from impl.http_client import AsyncClient, Resolver
from impl.runtime import Address, NodeAddresses, NodeServer, RuntimeConfig
from impl.serve import serve

__all__ = ["LocalCluster"]


class LocalCluster:
    """``nodes`` real nodes named n1.. in this event loop; ``changes``: any other
    :class:`impl.config.ClusterConfig` field (``n``, ``r``, ``w``, timeouts, ...)."""

    def __init__(self, nodes: int = 3, *, directory: str | Path | None = None,
                 **changes: Any) -> None:
        self.names = tuple(f"n{i}" for i in range(1, nodes + 1))
        changes.setdefault("secret", secrets.token_bytes(32))
        self.config = ClusterConfig(nodes=self.names, **changes)
        self._directory = Path(directory) if directory is not None else None
        self._temporary: str | None = None
        self.servers: list[NodeServer] = []
        self._clients: list[AsyncClient] = []

    @property
    def urls(self) -> list[str]:
        """Every node's HTTP base URL."""
        return [f"http://{server.http_address}" for server in self.servers]

    async def __aenter__(self) -> LocalCluster:
        directory = self._directory
        if directory is None:
            self._temporary = tempfile.mkdtemp(prefix="vdynamo-")
            directory = Path(self._temporary)
        any_port = Address("127.0.0.1", 0)
        nodes = {name: NodeAddresses(any_port, any_port, directory / name / "data.sqlite")
                 for name in self.names}
        try:
            # a temporary directory: a brand-new cluster, no store to ask about
            # (a fresh store's announce, impl.node.Node._announce_fresh)
            self.servers = await serve(RuntimeConfig(self.config, nodes), self.names,
                                       announce=self._directory is not None)
        except BaseException:
            self._remove()
            raise
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        for client in self._clients:
            await client.aclose()
        for server in self.servers:
            await server.stop()
        self._remove()

    def _remove(self) -> None:
        if self._temporary is not None:
            shutil.rmtree(self._temporary, ignore_errors=True)

    def client(self, *, resolve: Resolver | None = None, timeout_s: float = 10.0,
               ) -> AsyncClient:
        """An async HTTP client of this cluster (closed when the block ends)."""
        client = AsyncClient([str(server.http_address) for server in self.servers],
                             resolve=resolve, timeout_s=timeout_s)
        self._clients.append(client)
        return client
