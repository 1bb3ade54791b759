"""``vdynamo serve`` keeps a node that left the ring up until it announced its
change's settlement (impl/serve.py, :func:`impl.serve.until_stopped`;
:attr:`impl.node.Node.settling`): the other members use joint quorums until they
hear the settlement, and only the node that left can announce it.

The reviewer's hand mutant M19 (session 6: the loop does not wait for the
settlement) survived every test; here it is the seeded mutant
``serve-does-not-wait-for-settlement`` (tests/refinement/mutations.py
``TEST_KILLED``). The loop is driven with injected durations and stand-in
servers (no socket, no process), under a time limit; the live test runs real
nodes on loopback in the test's loop and stops every one.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from impl import serve as serve_module
from impl.config import ClusterConfig
from impl.runtime import Address, NodeAddresses, RuntimeConfig
from tests.refinement.mutations import TEST_KILLED
from tests.runtime.live import SECRET, run


@dataclass
class _Node:
    """A node that left the ring and announces its settlement after ``rounds`` more
    looks at it (the loop looks once per tick)."""

    rounds: int
    has_left: bool = True
    looks: int = 0
    rejoining: bool = False  # (impl.node.Node.rejoining: a node left in an earlier start)
    removed: bool = False  # (impl.node.Node.removed: force-removed by another member)
    removed_itself: bool = False  # (impl.node.Node.removed_itself)

    def removed_message(self) -> str:
        return "removed"

    @property
    def settling(self) -> bool:
        self.looks += 1
        return not self.announced

    @property
    def announced(self) -> bool:
        """Whether it announced its settlement by now."""
        return self.looks > self.rounds


@dataclass
class _Server:
    node: _Node


async def _until_stopped(servers: list[_Server], stop: asyncio.Event) -> None:
    servers_: Any = servers  # stand-ins for NodeServer: only ``node`` is read
    await serve_module.until_stopped(servers_, stop, linger_s=0.001, tick_s=0.001)


@pytest.mark.parametrize("mutant", [None, "serve-does-not-wait-for-settlement"])
def test_a_node_that_left_stays_up_until_it_announced_the_settlement(
        mutant: str | None) -> None:
    """Two nodes here left; one announces its settlement after 5 looks, the other
    after 20: the loop returns only once both announced it (the mutant returns
    before either did)."""
    servers = [_Server(_Node(5)), _Server(_Node(20))]
    with TEST_KILLED[mutant][0]() if mutant else contextlib.nullcontext():
        run(_until_stopped(servers, asyncio.Event()), limit=10.0)
    announced = [server.node.announced for server in servers]
    assert announced == ([False, False] if mutant else [True, True])


def test_the_loop_serves_until_stopped_while_a_node_has_not_left() -> None:
    """A node that has not left keeps the loop running until ``stop`` is set."""
    servers = [_Server(_Node(0)), _Server(_Node(0, has_left=False))]

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(_until_stopped(servers, stop))
        await asyncio.sleep(0.05)
        assert not task.done()
        assert serve_module.leave_state(servers) == "serving"  # type: ignore[arg-type]
        stop.set()
        await task

    run(scenario(), limit=10.0)


@pytest.mark.parametrize("itself", [False, True])
def test_a_node_that_removed_itself_lingers(itself: bool) -> None:
    """Session 52's review: a node that removed itself (its store lost mid-leave)
    answers its peers' gossip ``linger_s`` more before the loop returns, in case its
    removal's push was lost; one force-removed by another member returns at once.
    (Mutant, run and seen failing: the linger dropped, the loop returned at once.)"""
    servers = [_Server(_Node(0, has_left=False, removed=True, removed_itself=itself))]

    async def scenario() -> bool:
        stop = asyncio.Event()
        servers_: Any = servers
        task = asyncio.ensure_future(serve_module.until_stopped(
            servers_, stop, linger_s=30.0, tick_s=0.001))
        await asyncio.sleep(0.2)
        running = not task.done()
        stop.set()
        await task
        return running

    assert run(scenario(), limit=10.0) is itself


def test_live_a_node_that_left_stops_only_after_every_member_heard_the_settlement(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four real nodes on loopback (N = 3) in the test's loop; n4 leaves and its
    serve loop (:func:`impl.serve.until_stopped`, lingering 4 gossip rounds as
    ``vdynamo serve`` does) runs until it returns. When the loop first judges that
    n4 is done, n4 has announced its settlement; when it returns, every other node
    heard it (none counts n4's change as settling, so none uses joint quorums for it
    any more). Every node is stopped at the end."""
    names = ("n1", "n2", "n3", "n4")
    cluster = ClusterConfig(nodes=names, n=3, r=2, w=2, replica_timeout=0.2,
                            request_timeout=1.0, gossip_interval=0.1,
                            hint_scan_interval=0.1, secret=SECRET)
    config = RuntimeConfig(cluster, {
        name: NodeAddresses(Address("127.0.0.1", 0), Address("127.0.0.1", 0),
                            tmp_path / f"{name}.sqlite") for name in names})
    judged: list[tuple[str, bool]] = []  # the loop's verdicts, and n4's settling then
    inner = serve_module.leave_state

    async def scenario() -> tuple[bool, list[frozenset[str]]]:
        servers = await serve_module.serve(config, names)
        leaver = servers[-1]

        def recording(servers_: Any) -> str:
            state = inner(servers_)
            judged.append((state, leaver.node.settling))
            return state

        monkeypatch.setattr(serve_module, "leave_state", recording)
        try:
            leaver.leave()
            await serve_module.until_stopped([leaver], asyncio.Event(),
                                             linger_s=4 * cluster.gossip_interval,
                                             tick_s=0.05)
            return (leaver.node.has_left,
                    [server.node.gossiper.settling for server in servers[:-1]])
        finally:
            for server in servers:
                await server.stop()

    has_left, others = run(scenario(), limit=60.0)
    assert has_left
    assert ("left", False) in judged and ("left", True) not in judged, judged
    assert all("n4" not in held for held in others), others
