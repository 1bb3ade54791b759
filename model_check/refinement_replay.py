"""``vdynamo replay TRACE --on impl``: a model-checker trace driven through the implementation.

Theory of operation
-------------------
Each action of the trace becomes one step of :class:`model_check.refinement.Lockstep`
(client put/get through the same node; deliver, drop or duplicate the impl message
whose abstraction is the trace's message; crash, recover, partition, heal; a
``disk-loss`` replaces the node's disk, leaving it down; a ``buffered-crash``
crashes a buffered engine that flushed nothing; a
``timeout`` fires the coordinator's timer for that target (a reachable target
it would ask again, no fallback left: its timer rounds to the deadline with every
retry lost where the spec's timeout fails the request, a stutter where the request
goes on; session 44); a ``handoff``
runs a hint scan at the fallback due for exactly that hint
(:meth:`~model_check.refinement.Lockstep.handoff`); an ``anti-entropy`` between
replicas ``a`` and ``b`` runs a whole Merkle exchange between them, both ways; a
``client-delete`` is the client's delete through the same node; a ``reap`` fires a reap timer of the
key whose grace period the harness lets pass, at a node whose copy is the timer's
tombstone record if there is one, once the messages the spec purged (dead:
acknowledgements after W, on which the implementation decides the reap) are
delivered, as stutters; a ``client-timeout`` is a stuttering step; a ``join``
adds the node, which takes its token from a seed's view; a ``gossip`` delivers
one push of the sender's view; a ``leave`` announces it; a ``transfer`` is a hint
scan at the old owner due for its transfer hint, and the delivery of an empty
range's transfer (the implementation sent nothing) a stutter; a ``handover``
delivers the transfers' acknowledgements and lets the old copies go (pending
ownership: at the ``settle``, the settlement). The
lockstep checks after each step that the implementation's abstract state is the
spec's, so the replay either reaches the trace's last state on the implementation,
where the trace's property is evaluated on the states reached (naming it), or
stops at the first step where the implementation diverges, with both states.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from impl.records import decode_record
from impl.simulator import SimulationError
from impl.timers import ReapTombstone
from model_check.properties import Expectation
from model_check.refinement import Divergence, Lockstep
from model_check.refinement_state import is_empty_transfer
from model_check.replay import check_fields, config_from_trace, where_it_broke
from model_check.reports import ReplayReport, ReplayStep, WitnessReport
from model_check.trace import Trace, TraceError
from spec import model as spec_model
from spec.actions import (
    Action,
    AntiEntropy,
    Backup,
    BufferedCrash,
    ClientDelete,
    ClientGet,
    ClientPut,
    ClientTimeout,
    Crash,
    Deliver,
    DiskLoss,
    Drop,
    Duplicate,
    FailedPut,
    FailedWrite,
    ForceRemove,
    Gossip,
    Handoff,
    Handover,
    Heal,
    Join,
    LearnRetirement,
    Leave,
    Partition,
    Reap,
    Rebuilt,
    Recover,
    Restore,
    Settle,
    Timeout,
    Transfer,
    Unheard,
)
from spec.config import Config
from spec.errors import InvalidValueError
from spec.state import Kind

__all__ = ["REAP_NOT_ITS_RECORD", "REAP_NOT_QUIET", "REAP_NOT_TARGETED", "REAP_UNDECIDED",
           "NotExpressible", "replay_trace", "step_action"]


class NotExpressible(Divergence):
    """The spec's step is one the lockstep cannot take on the implementation (the
    spec's timeout of a target the harness may not time out: a message of the
    exchange still in flight, or frontier states that disagree on whether it fails
    the request; since session 44 not a reachable replica the implementation
    retries, whose retries are lost; the spec's reap of a key for
    which no node has a reap timer due: the implementation decides a reap only when
    one operation saw all N targets hold the tombstone; the spec's drop or duplicate
    of an empty range transfer: the implementation sends nothing for it)."""


#: why the lockstep cannot take a spec ``Reap`` on the implementation (the text of its
#: :class:`NotExpressible`, after ``reap: ``), one kind each (session 46,
#: docs/refinement.md, "The delete entries' unmapped reaps, one by one"): no up node
#: has a reap timer of the key set (no operation saw all N targets hold the tombstone:
#: a failed delete, a delete acknowledged by fewer than N whose tombstone spread later)
REAP_UNDECIDED = ("no node has a reap timer of the key set (the implementation decides a "
                  "reap when one operation saw all N targets hold the tombstone)")
#: a reap timer of the key that would remove its node's copy is set, but the harness
#: does not let its grace pass: the key is not quiet on the implementation (a get of it
#: in progress, which the spec's guard 2 lets a reap pass and the implementation's
#: round waits for; a transfer hint kept until its handover)
REAP_NOT_QUIET = ("a reap timer of the key is set but the key is not quiet on the "
                  "implementation (its grace period not passed)")
#: a reap timer of the key is set, but its node's copy is not the timer's tombstone
#: record (the copy changed; or it was let go at a handover and no target it reaches
#: holds the record: since session 46 such a timer fires, :func:`_reaps_elsewhere`):
#: firing it removes nothing
REAP_NOT_ITS_RECORD = ("no node's reap timer of the key would remove its copy (the "
                       "deciding node's copy is not the timer's tombstone record)")
#: a timer is due, but none targets the spec's reaped replica (the implementation reaps
#: at the targets of the operation that decided the reap: the key's top N then)
REAP_NOT_TARGETED = ("no reap timer of the key due targets the node (the implementation "
                     "reaps at the targets of the operation that decided the reap)")


def _reaps_elsewhere(ls: Lockstep, name: str, timer: ReapTombstone) -> bool:
    """``safe``: ``name`` holds no copy of the timer's key (it let it go at a
    handover) and a target it reaches holds the timer's tombstone record (that
    target's own test, ``Reaper.holds_decided``): firing the timer reaps there, as the
    implementation does once its round comes back clean (session 46: before, such a
    timer counted as one that removes nothing, and the spec's reap of the target was
    unmapped, :data:`REAP_NOT_ITS_RECORD`)."""
    if ls.config.delete_mode != "safe" or ls.cluster.storages[name].read(timer.key) is not None:
        return False
    for target in timer.targets:
        raw = ls.cluster.storages[target].read(timer.key) if ls.up(target) else None
        if raw is not None and target != name and ls.reachable(name, target) and (
                ls.cluster.node(target).reaper.holds_decided(
                    decode_record(raw, ls.mode), timer.record)):
            return True
    return False


def _not_due(ls: Lockstep, key: bytes) -> str:
    """Why no reap timer of ``key`` is due that would remove a copy: one of
    :data:`REAP_UNDECIDED`, :data:`REAP_NOT_QUIET`, :data:`REAP_NOT_ITS_RECORD`."""
    set_ = [(name, timer) for name in ls.present if ls.up(name)
            for timer in ls.sim.named_timers(name)
            if isinstance(timer, ReapTombstone) and timer.key == key]
    if not set_:
        return REAP_UNDECIDED
    if any(ls.reap_would_remove(name, timer) or _reaps_elsewhere(ls, name, timer)
           for name, timer in set_):
        return REAP_NOT_QUIET
    return REAP_NOT_ITS_RECORD


_NODE_FIELDS = ("node", "intended", "a", "b", "src", "dst", "by", "target")


def check_names(config: Config, action: Action) -> None:
    """Raise InvalidValueError (a ValueError) naming the field when ``action`` names a
    client, a node or a key that ``config`` does not have (a tampered or foreign
    trace: the lockstep failed on it deep inside, with ``tuple.index(x): x not in
    tuple`` or a traceback; session 30)."""
    known = {"client": config.client_names, "key": config.keys}
    known.update(dict.fromkeys(_NODE_FIELDS, config.all_nodes))
    for name, allowed in known.items():
        value = getattr(action, name, None)
        if value is not None and value not in allowed:
            raise InvalidValueError(f"{action.kind} names {name} {value!r}, which the trace's "
                             f"configuration does not have (it has {', '.join(allowed)})")


def step_action(ls: Lockstep, action: Action) -> str | None:
    """Perform spec ``action`` on the implementation as one lockstep step (checked).
    For a ``Reap``, the node whose reap timer the step fired (None if the nodes were
    reaped already); None for other actions. Raises Divergence, or ValueError /
    KeyError / LookupError when the lockstep cannot express it on the implementation."""
    if isinstance(action, ClientPut):
        ls.put(action.client, action.node, action.key)
    elif isinstance(action, FailedPut):  # the coordinator's own write refused: session 52
        if ls.clients[action.client].puts_issued < ls.config.puts_per_client:
            ls.put(action.client, action.node, action.key, refused=True)
        else:  # its puts spent: a delete's tombstone refused
            ls.delete(action.client, action.node, action.key, refused=True)
    elif isinstance(action, FailedWrite):
        if action.message.kind is not Kind.REPLICA_PUT:
            raise NotExpressible("failed-write", "a refused forward is not mapped (the "
                                 "lockstep maps no forwarding)")
        match = next((m for m in ls.in_flight()
                      if ls.abstract_message(m) == action.message), None)
        if match is None:
            raise Divergence("failed-write", "the implementation has no message "
                             f"{json.dumps(action.to_json()['message'])} in flight")
        ls.failed_write(match.id)
    elif isinstance(action, ClientGet):
        ls.get(action.client, action.node, action.key)
    elif isinstance(action, ClientDelete):
        ls.delete(action.client, action.node, action.key)
    elif isinstance(action, Reap):
        key = action.key.encode()
        if all(ls.cluster.storages[n].read(key) is None for n in action.nodes):
            return None  # reaped already: one reap timer reaps every target (a spec Reap each)
        # The acknowledgements the spec purged (dead: they map to nothing) reach the
        # coordinator first, as stutters: the implementation decides the reap on them.
        while dead := [m for m in ls.deliverable() if m.id in ls.dead]:
            ls.deliver(dead[0].id)
        due = [(node, timer) for node, timer in ls.reap_candidates()
               if timer.key == key and ls.reap_would_remove(node, timer)]
        if not due:  # session 46: a decider that let its copy go reaps at its targets
            due = [(node, timer) for node, timer in ls.reap_candidates()
                   if timer.key == key and _reaps_elsewhere(ls, node, timer)]
        if not due:
            raise NotExpressible("reap", _not_due(ls, key))
        # a timer reaps its targets (and drops the dominated copies of non-replicas its
        # query reaches): the spec's reap of a replica no timer targets is not the
        # implementation's (its targets are the key's top N when the reap was decided:
        # a node that became a replica later, by a join, is not among them)
        aimed = [(node, timer) for node, timer in due
                 if set(action.nodes) <= set(timer.targets)]
        if not aimed and any(ls.cluster.node(n)._replicates(key) for n in action.nodes
                             if ls.up(n)):
            raise NotExpressible("reap", f"{REAP_NOT_TARGETED} ({', '.join(action.nodes)})")
        decider, timer = (aimed or due)[0]
        ls.reap(decider, timer)
        return decider
    elif isinstance(action, Deliver | Drop | Duplicate):
        match = next((m for m in ls.in_flight()
                      if ls.abstract_message(m) == action.message), None)
        if match is None and is_empty_transfer(action.message):
            if isinstance(action, Deliver):
                ls.deliver_empty(action.message)  # the implementation sent nothing
                return None
            # session 41 (delete-join-drop, the first membership entry with a drop)
            raise NotExpressible(action.kind, "the implementation sends nothing for the "
                                 "transfer of a range its sender holds nothing of (it "
                                 "counts the range handed over at once): no message to "
                                 f"{action.kind}")
        if match is None:
            raise Divergence(f"{action.kind}", "the implementation has no message "
                             f"{json.dumps(action.to_json()['message'])} in flight")
        {Deliver: ls.deliver, Drop: ls.drop, Duplicate: ls.duplicate}[type(action)](match.id)
    elif isinstance(action, Crash):
        ls.crash(action.node, action.again)  # (session 61's review: again mapped)
    elif isinstance(action, Recover):
        ls.recover(action.node)
    elif isinstance(action, DiskLoss):
        ls.disk_loss(action.node)
    elif isinstance(action, BufferedCrash):
        ls.buffered_crash(action.node)
    elif isinstance(action, Backup):
        ls.backup(action.node)
    elif isinstance(action, Restore):
        ls.restore(action.node)
    elif isinstance(action, Partition):
        ls.partition(action.side)
    elif isinstance(action, Heal):
        ls.heal()
    elif isinstance(action, Timeout):
        ops = [op for (node, op), request in ls.ops.items()
               if node == action.node and request == action.request]
        fired = next(((node, op, target) for node, op, target in ls.target_timeouts()
                      if node == action.node and op in ops
                      and ls.sent_to_of(node, op, target) == action.target), None)
        if fired is not None:
            ls.timeout_target(*fired)
            return None
        # the target's node unreachable with a message of the exchange on the way:
        # its answer, which the spec's timeout purges and the network loses here
        # (session 44, the ack in flight), or the coordinator's put to it, which the
        # spec keeps, as here, the node's later ack dead (session 45, the put in flight)
        steps: tuple[tuple[Callable[[str, int, str], object],
                           Callable[[str, int, str], None]], ...] = (
            (ls.ack_lost_timeout, ls.timeout_ack_lost),
            (ls.put_kept_timeout, ls.timeout_put_kept))
        for names, take in steps:
            found = next(((action.node, op, target) for op in ops
                          for target in ls.targets_of(action.node, op)
                          if ls.sent_to_of(action.node, op, target) == action.target
                          and names(action.node, op, target) is not None), None)
            if found is not None:
                take(*found)
                return None
        # session 44: the spec gives up on a reachable target the implementation asks
        # again (no fallback left): its retries lost, to its deadline where the
        # spec's request fails, a stutter where it goes on
        retried = ls.retried_timeout(action.node, action.request, action.target)
        if retried is None:
            raise NotExpressible("timeout", "the implementation's coordinator has no timer "
                             f"for request #{action.request} on {action.target} that the "
                             "spec allows")
        (ls.retries_lost if retried[1] else ls.retry_given_up)(
            action.node, action.request, action.target)
    elif isinstance(action, Handoff):
        ls.handoff(action)
    elif isinstance(action, ClientTimeout):
        return None
    elif isinstance(action, Unheard):  # (session 61)
        ls.unheard(action.client)
    elif isinstance(action, AntiEntropy):
        ls.anti_entropy_pair(action.a, action.b, action.key)
    elif isinstance(action, Join):
        ls.join(action.node)
    elif isinstance(action, Gossip):
        ls.gossip_to(action.src, action.dst)
    elif isinstance(action, Leave):
        ls.leave(action.node)
    elif isinstance(action, ForceRemove):
        ls.force_remove(action.node, action.by)
    elif isinstance(action, Transfer):
        ls.transfer(action.src, action.dst, action.key)
    elif isinstance(action, Handover):
        ls.handover(action.node)
    elif isinstance(action, Settle):
        ls.settle(action.node)
    elif isinstance(action, LearnRetirement):
        ls.learn_retirement(action)
    elif isinstance(action, Rebuilt):  # (session 56)
        ls.rebuilt(action.node)
    else:  # pragma: no cover - every spec action is listed above
        raise Divergence(str(action), "unknown action")
    return None


def replay_trace(trace: Trace) -> ReplayReport:
    """Drive the implementation through ``trace`` (see the module docstring); a trace
    to a sometimes-property's witness is told as reaching it (:class:`WitnessReport`)."""
    steps: list[ReplayStep] = []
    report = WitnessReport if trace.kind == Expectation.SOMETIMES else ReplayReport
    try:
        config = config_from_trace(trace)
        ls = Lockstep(config, traces=True, asks_at_once=False)
    except (TraceError, ValueError) as error:
        return report("impl", trace.property, (), False, None, str(error), 0)
    states = [ls.state]
    for number, recorded in enumerate(trace.actions, start=1):
        try:
            action = spec_model.action_from_json(dict(recorded))
            check_fields(recorded, action.to_json())
            check_names(config, action)
            before = ls.state
            step_action(ls, action)
        except NotExpressible as gap:  # not a divergence: told as one before session 30
            return report("impl", trace.property, tuple(steps), False, None,
                          f"the lockstep cannot take this spec step on the implementation "
                          f"(a known gap, not a divergence: docs/refinement.md, "
                          f"\"unmapped\"): {gap}", number)
        except Divergence as divergence:
            return report("impl", trace.property, tuple(steps), False, None,
                                f"the implementation diverges from the spec: {divergence}",
                                number)
        except (ValueError, KeyError, SimulationError) as error:
            # SimulationError: a step naming a node the cluster lacks (a tampered trace:
            # session 30's probe; it was a traceback)
            return report("impl", trace.property, tuple(steps), False, None,
                                f"step not possible on the implementation: {error}", number)
        steps.append(ReplayStep(number, recorded, spec_model.narrate(before, action, ls.state)))
        states.append(ls.state)
    ls.cluster.close()
    broke_at, reason = where_it_broke(trace, states)
    return report("impl", trace.property, tuple(steps), True, broke_at, reason)
