"""An admin token is bound to the member's peer address, so a captured ``vdynamo
remove`` request is refused by the member of that name of *another* cluster made
from a copy of the same cluster file (red team 13, session 61, probe
``probes/20q-admin-token-replayed-to-a-twin-cluster.py``).

An operator who builds staging by copying production's cluster file and changing only
the addresses keeps the secret and the ``[cluster] name`` (the default one when the
file names none), so every key the product derives from them is the same in both
clusters: before the fix a token production's n1 took (``POST
/admin/force-remove?node=n4``, 200) was taken again by staging's n1 within the
token's window (200 ``{"removed": "n4"}``: staging's n4 removed by a request it was
never sent). :func:`impl.http_api.admin_authorization` now signs the member's peer
address as the cluster file gives it (a member's peer address is its own within a
cluster: its peers dial it there), as AWS Signature V4 signs the Host.

Mutant (run, then reverted): ``address`` left out of the signed fields in
``admin_authorization``: the replay to the twin is ``(409, False) == (401, True)``
(past the token check: "removing 'n3' would leave 2 members").
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from impl.http_api import admin_authorization
from impl.runtime import NodeAddresses, NodeServer, RuntimeConfig
from impl.runtime_config import Address
from impl.serve import serve
from tests.runtime.live import NAMES, SECRET, parse_response, raw, run, runtime_config, settled
from tests.runtime.procs import free_ports
from tests.runtime.test_http_admin_token import _admin_request


def _at_free_ports(config: RuntimeConfig, ports: list[int]) -> RuntimeConfig:
    """``config`` with each node's peer and HTTP address on the given loopback ports
    (a real cluster file's: no port 0)."""
    nodes = {name: NodeAddresses(Address("127.0.0.1", ports[2 * i]),
                                 Address("127.0.0.1", ports[2 * i + 1]), held.data)
             for i, (name, held) in enumerate(config.nodes.items())}
    return dataclasses.replace(config, nodes=nodes)


def test_a_token_taken_by_one_cluster_is_refused_by_its_twin(tmp_path: Path) -> None:
    async def scenario() -> None:
        ports = free_ports(4 * len(NAMES))
        (tmp_path / "prod").mkdir()
        (tmp_path / "staging").mkdir()
        prod = _at_free_ports(runtime_config(tmp_path / "prod"), ports[:2 * len(NAMES)])
        staging = _at_free_ports(runtime_config(tmp_path / "staging"), ports[2 * len(NAMES):])
        assert (prod.cluster.secret, prod.cluster.name) == (SECRET, staging.cluster.name)
        started: list[NodeServer] = []
        try:
            started += await serve(prod, NAMES)
            started += await serve(staging, NAMES)
            await settled(started[:3])
            await settled(started[3:])
            token = admin_authorization(SECRET, prod.cluster.name, node="n3", member="n1",
                                        address=str(prod.nodes["n1"].peer),
                                        stamp=int(time.time()))
            answer = parse_response(await raw(started[0].http_address, _admin_request(token)))
            assert answer[0] == 409, answer  # prod's n1 took it (n3 is up)
            replay = parse_response(await raw(started[3].http_address, _admin_request(token)))
            message = replay[2].get("message", "")
            assert (replay[0], "does not verify" in message) == (401, True), replay
            assert "peer address" in message, message
            assert all(s.status()["membership"]["n3"]["status"] == "up" for s in started)
        finally:
            for server in started:
                await server.stop()
    run(scenario())
