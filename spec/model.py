"""Dynamo as a transition system: ``initial_state(config)`` and ``successors(state)``.

Theory of operation
-------------------
The state (:mod:`spec.state`) holds the nodes (durable store and hint store per
node, volatile coordinator state), the in-flight messages (a multiset), the
clients and the ghost records. :func:`successors` yields every enabled step as an
``(action, next state)`` pair: it chains one generator per mechanism of the
paper, each in its own module, in this (deterministic) order:

1. :func:`spec.requests.client_requests` (4.1, 4.5): a client with no request
   outstanding and budget left sends ``put`` or ``get`` of a key to a node it
   may use; a node outside the key's top N forwards it to the first of them.
   The coordinator (:mod:`spec.coordination`) writes a put locally and sends
   ``replica-put`` to the other chosen nodes, acknowledging after W acks; a get
   reads locally, sends ``replica-get``, and answers after R replies with the
   reconciled versions and one context; read repair (:mod:`spec.read_repair`)
   then writes them back to every node that replied with something else.
2. :func:`spec.delivery.deliveries`: delivery of any in-flight message (in any
   order), through a table from message kind to the handler of its mechanism;
   at a down node it is lost; across the partition it waits for the heal.
3. :func:`spec.coordination.timeouts` (4.5, 4.6): coordinator timeouts (sloppy
   quorum: the next fallback down the preference list gets the request, with a
   hint naming the intended node; without a fallback, or with a strict quorum,
   the node is given up and the request fails once its quorum is out of
   reach); client timeouts.
   Then :func:`spec.requests.forward_retries` (4.5, 4.6; session 54, only with
   ``workload.coordinator = "any"``): a forward whose target cannot answer goes
   to a later node of the top N, and a put's forward none of whose top N is
   reachable is coordinated by its forwarder, as a sloppy-quorum fallback.
4. :func:`spec.handoff.hinted_handoffs` (4.6): a fallback sends a hint to its
   intended node once reachable; the hint is deleted when the acknowledgement
   comes back. Then :func:`spec.handoff.outsider_copies` (session 54, only with
   ``workload.coordinator = "any"``): a forwarder that coordinated a put keeps its
   copy as hints for the top N, and lets it go once their copies cover it.
5. :func:`spec.anti_entropy.anti_entropy` (4.7): two reachable replicas of a key
   reconcile it in one step.
6. :func:`spec.deletes.reaps` (Riak's delete_mode): tombstones are reaped when
   ``features.delete_mode`` allows it.
7. :func:`spec.membership.membership_changes` (4.8, 4.9): joins, leaves, gossip
   of the ring's changes, key-range transfers (with ``[membership]`` budgets).
8. :func:`spec.learning.retirement_gossip` (session 34; ``prune_knowledge =
   "learnt"`` only): a node learns a retirement another reachable node knows.
9. :func:`spec.faults.faults`: drop, duplicate, crash, partition, each within
   its budget; and the non-faults recover and heal.

The replica's side of a put or a get is :mod:`spec.replica`; building a step is
:mod:`spec.step`; readable forms (:func:`describe`, :func:`narrate`) are
:mod:`spec.presentation`, re-exported here.

Reductions (each keeps the properties' verdicts; see docs/spec.md):

* Failure detection is accurate: a coordinator picks the first N *reachable*
  nodes of the preference list, and a timeout on a node is enabled only when
  its answer cannot come (the node is down or cut off, or no message of the
  exchange is in flight). A client times out only when nobody works on its
  request any more.
* A hint is (re)sent only when no copy of its delivery or acknowledgement is in
  flight; anti-entropy is enabled only between replicas that differ.
* Client replies are direct (not messages): a request ends when its coordinator
  decides; a crashed coordinator leaves its client to time out.

Errors: the transition system raises nothing on states it reached;
:func:`history_of` raises :class:`~spec.errors.LocalError` for a put not performed
yet. Configurations are validated where they are built (:mod:`spec.config`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from spec import actions as _actions
from spec import clocks
from spec.actions import Action, action_from_json
from spec.anti_entropy import anti_entropy
from spec.config import Config
from spec.coordination import timeouts
from spec.deletes import reaps
from spec.delivery import deliveries
from spec.errors import LocalError
from spec.faults import faults
from spec.handoff import hinted_handoffs, outsider_copies
from spec.learning import retirement_gossip
from spec.membership import current_top, initial_membership, membership_changes
from spec.presentation import describe, narrate, payload_text
from spec.requests import client_requests, forward_retries
from spec.state import Backups, ClientState, Message, NodeState, State
from spec.step import Plan, get_id_of, plan_of, put_id_of
from spec.symmetry import canonicalize as _canonicalize_clients

__all__ = [
    "MECHANISMS",
    "Action",
    "State",
    "action_from_json",
    "canonicalize",
    "converged",
    "describe",
    "get_id_of",
    "held_values",
    "history_of",
    "in_flight_values",
    "initial_state",
    "is_fault",
    "is_quiescent",
    "narrate",
    "payload_text",
    "put_id_of",
    "stored_values",
    "successors",
]

#: The fault actions, in spec/actions.py's order: the classes whose ``fault_free`` is
#: False (drop, duplicate, crash, disk loss, buffered crash, restore, partition; the
#: failing disk's; since session 61 ``unheard``, an answer lost to its client). Derived
#: from that class attribute, its one source (session 41; before, this tuple was written
#: out beside the attributes and a test kept the two in step).
FAULTS: tuple[type[Action], ...] = tuple(
    cls for cls in vars(_actions).values()
    if isinstance(cls, type) and issubclass(cls, Action) and not cls.fault_free)

#: The chain of :func:`successors`: one generator of steps per mechanism, in order.
MECHANISMS: tuple[Callable[[State, Plan], Iterator[tuple[Action, State]]], ...] = (
    client_requests,
    deliveries,
    timeouts,
    forward_retries,
    hinted_handoffs,
    outsider_copies,
    anti_entropy,
    reaps,
    membership_changes,
    retirement_gossip,
    faults,
)


def initial_state(config: Config) -> State:
    """Every node up with empty stores, no message, clients idle, no fault spent."""
    empty = clocks.empty(config.clock)
    node = NodeState(True, tuple(empty for _ in config.keys))
    return State(
        nodes=tuple(node for _ in config.all_nodes),
        messages=(),
        clients=tuple(ClientState() for _ in range(config.clients)),
        puts=tuple(None for _ in range(config.clients * config.writes_per_client)),
        side=frozenset(),
        used=(0, 0, 0, 0, 0, 0) if config.write_failures else (0, 0, 0, 0, 0),
        hints_acked=frozenset(),
        hints_deleted=frozenset(),
        epochs=tuple(0 for _ in config.all_nodes),
        config=config,
        membership=initial_membership(config),
        backups=Backups(tuple(None for _ in config.all_nodes)) if config.restores else None,
    )


def successors(state: State) -> Iterator[tuple[Action, State]]:
    """Every enabled step from ``state``, in a deterministic order: the steps of
    each mechanism of :data:`MECHANISMS` in turn (see the module docstring)."""
    plan = plan_of(state.config)
    for mechanism in MECHANISMS:
        yield from mechanism(state, plan)


# -- classification and summaries -----------------------------------------------------------


def is_fault(action: Action) -> bool:
    """Drop, duplicate, crash, partition, disk loss, buffered crash, restore and (session
    61) an unheard acknowledgement are faults; recover, heal and backup are not (the
    action class's ``fault_free``, :data:`FAULTS`)."""
    return not action.fault_free


def is_quiescent(state: State) -> bool:
    """Nothing in progress: no message in flight, no request being coordinated."""
    return not state.messages and all(not n.coord for n in state.nodes)


def converged(state: State) -> bool:
    """Every replica (top-N node) of each key holds the same versions, no hint is
    left anywhere and no message is in flight."""
    if state.messages:
        return False
    if any(n.hints for n in state.nodes):
        return False
    plan = plan_of(state.config)
    for k, key in enumerate(plan.keys):
        top = plan.top[key] if state.membership is None else current_top(state, key)
        stores = {state.nodes[plan.index[n]].store[k] for n in top}
        if len(stores) > 1:
            return False
    return True


def history_of(state: State, put_id: int) -> frozenset[int]:
    """The true causal history (ghost) of the version written by ``put_id``.

    Raises LocalError if that put has not been performed in ``state``."""
    record = state.puts[put_id - 1]
    if record is None:
        raise LocalError(f"put {put_id} has not been performed")
    return record.history


def stored_values(state: State) -> set[int]:
    """Every put id held anywhere: a node's store, a hint, an in-flight message."""
    return held_values(state.nodes) | in_flight_values(state.messages)


def held_values(nodes: tuple[NodeState, ...]) -> set[int]:
    """Every put id the nodes hold: in a store or in a hint (:func:`stored_values`
    less the messages in flight)."""
    out: set[int] = set()
    for node in nodes:
        for payload in node.store:
            out.update(clocks.values(payload))
        for hint in node.hints:
            out.update(clocks.values(hint.payload))
    return out


def in_flight_values(messages: tuple[Message, ...]) -> set[int]:
    """Every put id an in-flight message carries (:func:`stored_values` less the
    nodes)."""
    out: set[int] = set()
    for m in messages:
        if m.payload is not None:
            out.update(clocks.values(m.payload))
    return out


def canonicalize(state: State) -> State:
    """The symmetry representative of ``state`` (see :mod:`spec.symmetry`): clients
    with identical workloads are interchangeable; nodes are not permuted."""
    if state.config.clients < 2:
        return state
    return _canonicalize_clients(state)
