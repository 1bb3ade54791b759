"""The sometimes-witnesses of a replaced disk's rebuild and of a refusing target kept
eligible (session 56; :mod:`spec.rebuild`, ``spec.coordination.Coordination.refused``).

Not a mechanism of the paper: four step predicates of :mod:`model_check.properties`
(``SOMETIMES``), each saying that a rule of session 55's spec is *reached*, so that a
spec mutant that removes the rule changes a verdict of the suite (``found`` becomes
``not found``) and not only its figures (docs/refinement.md, "The rebuild's rules
pinned by verdicts (session 56)"). Two of those rules (a rebuilding replica's
acknowledgement and its own write as a coordinator, not counted) cannot change any
always- or eventually-property of the spec: the node stores what it would acknowledge
and answers no read of the key before it has exchanged it with every other replica,
so an acknowledged put has W stored copies with or without them and a read meets them
as before (R + W > N); their witnesses are the only verdict that sees them.

Each predicate reads one step ``(before, action, after)`` of the spec and is asked
only of the actions and message kinds its property names (``Property.sometimes``'s
``actions`` and ``messages``), and only in the configurations its ``possible`` test
allows (:func:`rebuilds`, :func:`refuses_copies`). Raises nothing.
"""

from __future__ import annotations

from spec.actions import Action, ClientPut, Deliver
from spec.config import Config
from spec.rebuild import uncounted
from spec.state import Coordination, Kind, State
from spec.step import find_coordination, plan_of

__all__ = ["rebuilding_own_write_uncounted", "rebuilding_put_unacked",
           "rebuilding_read_fails", "rebuilds", "refused_target_acks_again",
           "refuses_copies"]


def rebuilds(config: Config) -> bool:
    """Whether ``config`` rebuilds a lost disk at all (``features.rebuild``, a disk-loss
    budget, anti-entropy on, no membership budget: :func:`spec.rebuild.rebuilds`)."""
    return bool(config.rebuild and config.disk_losses and config.anti_entropy
                and not config.membership)


def refuses_copies(config: Config) -> bool:
    """Whether a target of ``config`` can refuse one copy of a put and take another (a
    ``write_failures`` and a ``duplicates`` budget)."""
    return bool(config.write_failures and config.duplicates)


def _coordination(state: State, node: str, request: int) -> Coordination | None:
    """``node``'s coordination of ``request`` in ``state`` (None if it is down or has
    none)."""
    held = state.nodes[plan_of(state.config).index[node]]
    return find_coordination(held, request) if held.up else None


def _acks_sent(state: State, src: str, dst: str, request: int) -> int:
    """How many ``replica-put-ack`` of ``request`` from ``src`` to ``dst`` are in flight."""
    return sum(1 for m in state.messages if m.kind is Kind.REPLICA_PUT_ACK and m.src == src
               and m.dst == dst and m.request == request)


def rebuilding_put_unacked(before: State, action: Action, after: State) -> bool:
    """A ``replica-put`` of a put's own copy (not a hint for another node) reaches a
    replica whose disk was lost and which is not rebuilt (its mark set), its
    coordinator awaits it, and it sends no acknowledgement (:func:`spec.replica.
    on_replica_put`; the implementation's ``Node._unacked_if_rebuilding``)."""
    if not before.rebuilding or not isinstance(action, Deliver):
        return False
    m = action.message
    if m.intended not in ("", m.dst) or not uncounted(before.rebuilding, m.dst):
        return False
    if not before.nodes[plan_of(before.config).index[m.dst]].up:
        return False  # lost at a down node: no acknowledgement either way
    coord = _coordination(before, m.src, m.request)
    if coord is None or not any(t == m.dst for t, _ in coord.awaiting):
        return False
    return _acks_sent(after, m.dst, m.src, m.request) <= _acks_sent(
        before, m.dst, m.src, m.request)


def rebuilding_own_write_uncounted(before: State, action: Action, after: State) -> bool:
    """A client's put reaches a coordinator whose disk was lost and which is not rebuilt:
    it stores its own write and does not count it (the put waits for W others:
    :func:`spec.coordination.start`; the implementation's
    ``PutCoordinator.uncounted_own``)."""
    if not before.rebuilding or not isinstance(action, ClientPut):
        return False
    node = action.node
    if not uncounted(before.rebuilding, node):
        return False
    index = plan_of(before.config).index[node]
    old = {c.request for c in before.nodes[index].coord}
    new = [c for c in after.nodes[index].coord if c.is_put and c.request not in old]
    return bool(new) and node not in new[0].acks


def rebuilding_read_fails(before: State, action: Action, after: State) -> bool:
    """A get whose coordinator's own read does not count (it lost its disk and is not
    rebuilt: ``Coordination.uncounted``) fails once R is out of reach without that
    read, rather than waiting for ever (:func:`spec.coordination.settle_get`)."""
    for index, node in enumerate(before.nodes):
        if not node.up or not after.nodes[index].up:
            continue
        for coord in node.coord:
            if coord.is_put or not coord.uncounted:
                continue
            if find_coordination(after.nodes[index], coord.request) is not None:
                continue
            client = plan_of(before.config).client_index[coord.client]
            if len(after.clients[client].gets) == len(before.clients[client].gets):
                return True  # ended with no get record: failed
    return False


def refused_target_acks_again(before: State, action: Action, after: State) -> bool:
    """A target whose ``replica-put-failed`` its coordinator took (``Coordination.
    refused``) stores another copy of the put (a duplicate) and acknowledges it: the
    acknowledgement then counts (:func:`spec.coordination.on_replica_put_ack`; the
    implementation's retry of a refusing target, whose ack ``ack_counts`` counts)."""
    if not isinstance(action, Deliver):
        return False
    m = action.message
    coord = _coordination(before, m.src, m.request)
    if coord is None or m.dst not in coord.refused:
        return False
    return _acks_sent(after, m.dst, m.src, m.request) > _acks_sent(
        before, m.dst, m.src, m.request)
