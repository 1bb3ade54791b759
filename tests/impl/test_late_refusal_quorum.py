"""A refusal from a target the coordinator gave up on changes nothing (session 52's
review of the failing disk's paths of ``impl/put_coordinator.py``).

A target's own refusal counts for it without a hint
(:func:`impl.put_coordinator.ack_counts`), even after a timeout handed its part to
a fallback. ``on_failed`` took such a late refusal as the failure of the part where
it is now: ``_part_failed`` recorded the fallback in ``failed_at`` (session 52), so
with no fallback left and W out of reach without that target the put failed at once
(QuorumError, 503) while the fallback was still to answer (the first test); with a
fallback left it suspected the fallback holding the part (a healthy node) and sent
the part on again (the second). The spec ignores a refusal from a node its
coordinator does not await (``spec.coordination.on_replica_put_failed``): the put
goes on, and the fallback's ack makes W. Fix: ``on_failed`` ignores a refusal from a
node that does not hold the target's part now (``late-acks``).

Mutant (the code of 3de69ac1, checked by running these tests on it): both tests
fail. A Node alone, deterministic, a few ms.
"""

from __future__ import annotations

from impl.effects import Effect, Reply, Send, SetTimer
from impl.errors import QuorumError
from impl.messages import PutRequest, ReplicaPut, ReplicaPutAck, ReplicaPutFailed
from impl.node import Node
from impl.staging import persist
from impl.storage.memory import MemoryStorage
from impl.timers import PutTimeout
from tests.impl.test_node_driver import make_config


def _key(node: Node) -> bytes:
    """A key whose preference list starts with ``node``."""
    return next(key for key in (b"k%d" % i for i in range(1000))
                if node.preference_list(key)[0] == node.name)


def _sends(effects: list[Effect]) -> list[Send]:
    return [effect for effect in effects
            if isinstance(effect, Send) and isinstance(effect.message, ReplicaPut)]


def test_a_late_refusal_of_a_given_up_target_leaves_its_fallback_pending() -> None:
    config = make_config(4, n=3, r=2, w=3, sloppy_quorum=True)
    storage = MemoryStorage("always")
    node = Node("n1", config, storage, seed=1)
    node.start(0.0)
    key = _key(node)
    _, second, third, fallback = node.preference_list(key)
    effects = persist(storage, node.client_request(0.0, PutRequest(7, key, b"v", b"", None,
                                                                    "c")))
    assert sorted(send.dest for send in _sends(effects)) == sorted([second, third])
    op_id = _sends(effects)[0].message.op_id  # type: ignore[union-attr]
    assert node.receive(0.01, second, ReplicaPutAck(op_id, key)) == []  # 2 of W = 3
    timer = next(effect.timer for effect in effects if isinstance(effect, SetTimer)
                 and isinstance(effect.timer, PutTimeout))
    # the third is silent: at the timeout its part goes to the one fallback, hinted
    resent = _sends(node.fire(config.replica_timeout, timer))
    assert [(send.dest, send.message.hint) for send in resent] == [  # type: ignore[union-attr]
        (fallback, third)]
    # the third's refusal arrives late: the spec no longer awaits it; the fallback holds
    # the part, and W is still in reach
    late = node.receive(config.replica_timeout + 0.01, third,
                        ReplicaPutFailed(op_id, key, error="database or disk is full"))
    assert not [effect for effect in late if isinstance(effect, Reply)], late
    answered = node.receive(config.replica_timeout + 0.02, fallback,
                            ReplicaPutAck(op_id, key, hint=third))
    replies = [effect for effect in answered if isinstance(effect, Reply)]
    assert len(replies) == 1 and replies[0].error is None, answered
    assert not isinstance(replies[0].error, QuorumError)


def test_a_late_refusal_neither_suspects_nor_replaces_the_fallback_holding_the_part() -> None:
    """Five nodes, N = 3, W = 3: the third replica is silent, its part goes to the
    first fallback at the timeout, then its refusal arrives. The spec ignores it (its
    coordinator no longer awaits that node). Before this review the implementation
    took it as the part's failure where it is now: it suspected the first fallback (a
    healthy node, still to answer: ``give_up`` suspects the node the part was sent
    to) and sent the part on to the second fallback, a hint the spec never sends.
    Fix: ``on_failed`` ignores a refusal from a node that does not hold the target's
    part now (``late-acks``). Mutant (the code before): this test fails."""
    config = make_config(5, n=3, r=2, w=3, sloppy_quorum=True)
    storage = MemoryStorage("always")
    node = Node("n1", config, storage, seed=1)
    node.start(0.0)
    key = _key(node)
    _, second, third, first, _ = node.preference_list(key)
    effects = persist(storage, node.client_request(0.0, PutRequest(7, key, b"v", b"", None,
                                                                    "c")))
    op_id = _sends(effects)[0].message.op_id  # type: ignore[union-attr]
    node.receive(0.01, second, ReplicaPutAck(op_id, key))
    timer = next(effect.timer for effect in effects if isinstance(effect, SetTimer)
                 and isinstance(effect.timer, PutTimeout))
    assert [send.dest for send in _sends(node.fire(config.replica_timeout, timer))] == [first]
    late = node.receive(config.replica_timeout + 0.01, third,
                        ReplicaPutFailed(op_id, key, error="database or disk is full"))
    assert late == [] and not node.suspects(first)
    answered = node.receive(config.replica_timeout + 0.02, first,
                            ReplicaPutAck(op_id, key, hint=third))
    assert [effect.error for effect in answered if isinstance(effect, Reply)] == [None]
