"""``vdynamo serve``'s SIGHUP re-read (:func:`impl.serve.reload_report`), session 53's
review: what it says is what it did.

1. A file that loads but that ``vdynamo serve`` refuses to start these nodes with
   (:func:`impl.runtime_config.check_start`: a port 0 in a section, a data path that
   is a directory, the peer cap below the joined members) was "it loads; the peers'
   addresses in it are taken; ... take effect at the next start", WARNING, and that
   next start exited (real processes, session 53's machine: n3's ``http`` edited to
   ``127.0.0.1:0``, SIGHUP to n2, then ``cluster stop n2`` / ``cluster start n2``:
   exit 1, n2 down). Now an ERROR as for a file that does not load, and nothing of it
   taken (n2's changed ports in the same edit are not adopted: the node keeps what it
   had exactly).
2. Under ``--insecure-dev`` with a short secret, the re-read made by each node
   (:meth:`impl.runtime.NodeServer.reread_file`) loaded the file without
   ``--insecure-dev`` and failed ("cannot re-read ...: secret: must be bytes of length
   >= 16"), while the next line said "the peers' addresses in it are taken": n2's
   changed HTTP port was not advertised (real processes: ``vdynamo serve c.toml --node
   n1 --insecure-dev``). Now the nodes take the sections of the file just loaded and
   checked.

Both tests fail on 39071267 (1: WARNING, and n2's new ports adopted; 2: n2's old
ports kept). Mutants checked: the ``check_start`` call in ``reload_report`` removed (1
fails); ``reread_file`` called without the sections (``server.reread_file()``: 2
fails). No process, no socket: a NodeServer built and never started.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from impl.runtime import NodeServer
from impl.runtime_config import RuntimeConfig, load_runtime_config
from impl.serve import reload_report
from impl.storage.memory import MemoryStorage

PORTS = {"n1": (7201, 7202), "n2": (7203, 7204), "n3": (7205, 7206)}


def _write(path: Path, ports: dict[str, tuple[int, int]], secret: str) -> None:
    lines = ["[cluster]", 'nodes = ["n1", "n2", "n3"]', f'secret = "{secret}"', ""]
    for name, (peer, http) in ports.items():
        lines += [f"[nodes.{name}]", f'peer = "127.0.0.1:{peer}"',
                  f'http = "127.0.0.1:{http}"', ""]
    path.write_text("\n".join(lines))
    path.chmod(0o600)


def _server(path: Path, *, insecure_dev: bool) -> tuple[NodeServer, RuntimeConfig]:
    loaded = load_runtime_config(path, insecure_dev=insecure_dev)
    server = NodeServer("n1", loaded.cluster, MemoryStorage(),
                        {name: loaded.nodes[name].peer for name in PORTS})
    server.http_addresses = {name: loaded.nodes[name].http for name in PORTS}
    server.watch_file(path, dict(loaded.nodes))
    return server, loaded


def _at(server: NodeServer, name: str) -> tuple[int, int]:
    return server.peers[name].port, server.http_addresses[name].port


def _in_a_loop(scenario: Callable[[], None]) -> None:
    """``scenario`` run inside an event loop (a NodeServer is built in one)."""

    async def run() -> None:
        scenario()

    asyncio.run(run())


def test_a_file_that_would_not_start_this_node_is_an_error_and_nothing_taken(
        tmp_path: Path) -> None:
    def scenario() -> None:
        path = tmp_path / "cluster.toml"
        _write(path, PORTS, "ab" * 20)
        server, loaded = _server(path, insecure_dev=False)
        _write(path, {**PORTS, "n2": (7303, 7304), "n3": (7205, 0)}, "ab" * 20)
        level, line = reload_report(loaded, ["n1"], [server])
        assert level == logging.ERROR, line
        assert "loads but would not start n1 ([nodes.n3] http: port 0" in line, line
        assert "serving on with the file as loaded at the start" in line, line
        assert _at(server, "n2") == PORTS["n2"]  # not half taken
        _write(path, {**PORTS, "n2": (7303, 7304)}, "ab" * 20)  # fixed: taken
        level, line = reload_report(loaded, ["n1"], [server])
        assert level == logging.WARNING and "it loads; the peers' addresses" in line, line
        assert _at(server, "n2") == (7303, 7304)

    _in_a_loop(scenario)


def test_insecure_dev_short_secret_the_addresses_said_taken_are_taken(
        tmp_path: Path) -> None:
    def scenario() -> None:
        path = tmp_path / "cluster.toml"
        _write(path, PORTS, "short")
        server, loaded = _server(path, insecure_dev=True)
        _write(path, {**PORTS, "n2": (7303, 7304)}, "short")
        level, line = reload_report(loaded, ["n1"], [server],
                                    insecure_dev=True)
        assert level == logging.WARNING and "the peers' addresses in it are taken" in line, line
        assert _at(server, "n2") == (7303, 7304)

    _in_a_loop(scenario)
