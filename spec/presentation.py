"""Readable forms of the spec's states and steps: ``describe``, ``narrate``.

Theory of operation
-------------------
Nothing here is part of the transition system (no paper section; raises
nothing on states the spec reached): :func:`describe` turns a state
into a JSON-able picture (trace files, ``vdynamo show``, ``vdynamo replay``),
:func:`narrate` writes one line a person can follow for a step, and
:func:`payload_text` / :func:`message_text` are their small pieces. Messages are
named by the shared vocabulary (:data:`MESSAGE_NAMES`: ``ReplicaPut``,
``ReplicaGetReply``, ``HintDelivery``, ...), versions by their put ids (``v1``).
"""

from __future__ import annotations

import json
from typing import Any

from spec import clocks
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
    ForwardAgain,
    ForwardFallback,
    Gossip,
    Handoff,
    Handover,
    Heal,
    Join,
    LearnRetirement,
    Leave,
    OutsiderHandoff,
    OutsiderLetGo,
    Partition,
    Reap,
    Rebuilt,
    Recover,
    Restore,
    Settle,
    Timeout,
    Transfer,
    Unheard,
    message_json,
)
from spec.clocks import Payload
from spec.config import Config
from spec.dvv import DVVSet
from spec.membership import announcer, knows
from spec.state import ClientState, Kind, Message, State, actor_id
from spec.step import plan_of, put_id_of

#: a log entry as a gossip step tells it ("remove n1" read as an order: session 23's review)
_ENTRY = {"remove": "force-remove of"}

__all__ = ["MESSAGE_NAMES", "describe", "message_text", "narrate", "payload_text"]


def _payload_text(payload: Payload) -> str:
    vals = clocks.values(payload)
    return "{" + ", ".join(f"v{v}" for v in vals) + "}" if vals else "{}"


def describe(state: State) -> dict[str, Any]:
    """A readable, JSON-able picture of ``state``."""
    config = state.config
    nodes: dict[str, Any] = {}
    for name, node in zip(config.all_nodes, state.nodes, strict=True):
        nodes[name] = {
            "up": node.up,
            "store": {
                key: [f"v{v}" for v in clocks.values(p)]
                for key, p in zip(config.keys, node.store, strict=True)
            },
            "hints": [
                {"for": h.intended, "key": h.key, "versions": [f"v{v}" for v in
                                                              clocks.values(h.payload)]}
                for h in node.hints
            ],
            "coordinating": [
                {
                    "request": c.request,
                    "client": c.client,
                    "op": "put" if c.is_put else "get",
                    "key": c.key,
                    "awaiting": [t if not h else f"{t} (hint for {h})" for t, h in c.awaiting],
                    "sent_to": list(c.sent_to),
                    "acks": list(c.acks),
                    "replies": {n: _payload_text(p) for n, p in c.replies},
                }
                for c in node.coord
            ],
        }
    clients: dict[str, Any] = {}
    for name, cl in zip(config.client_names, state.clients, strict=True):
        clients[name] = {
            "puts_issued": cl.puts_issued,
            "gets_issued": cl.gets_issued,
            "outstanding": cl.outstanding or None,
            "acked_puts": [f"v{v}" for v in cl.acked],
            "gets": [
                {"request": g.request, "key": g.key,
                 "acked_before": [f"v{v}" for v in g.acked_before],
                 "returned": [f"v{v}" for v in g.returned]}
                for g in cl.gets
            ],
            "context": clocks.context_json(cl.last_get.context) if cl.last_get else None,
        }
    puts: dict[str, Any] = {}
    for record in state.puts:
        if record is None:
            continue
        puts[f"v{record.put_id}"] = {
            "client": record.client,
            "key": record.key,
            "coordinator": record.coordinator,
            "clock": record.clock.to_json(),
            **({"dot": list(record.dot)} if record.dot[1] else {}),
            **({"stamp": list(record.stamp)} if config.clock == "lww" else {}),
            "history": [f"v{v}" for v in sorted(record.history)],
        }
    return {
        "nodes": nodes,
        "messages": [message_json(m) for m in state.messages],
        "clients": clients,
        "puts": puts,
        "partition": (
            [sorted(state.side), sorted(set(config.nodes) - state.side)] if state.side else None
        ),
        "faults_used": dict(zip(("drops", "duplicates", "crashes", "partitions"),
                                state.used[:4], strict=True))
        | ({"disk_losses": state.used[4]} if config.disk_losses else {})
        | ({"write_failures": state.used[5]} if config.write_failures else {})
        | ({"restores": state.backups.restored} if state.backups is not None else {}),
        **({"actors": {name: state.actor(name) for name in config.all_nodes}}
           if any(state.epochs) else {}),
        **({"key_actors": {f"{name} {key}": state.actor(name, key)
                           for name, key, _ in sorted(state.key_epochs)}}
           if state.key_epochs else {}),
        **({"membership": {
            "log": [f"{event} {node}" for event, node in state.membership.log],
            "views": dict(zip(config.all_nodes, state.membership.views, strict=True)),
            "handed": [f"{key}: {src} -> {dst}" for key, src, dst in
                       sorted(state.membership.handed)],
            **({"carried": [f"{key}: {src} -> {dst}" for key, src, dst in
                            sorted(state.membership.carried)]}
               if state.membership.carried else {}),
        }} if state.membership is not None else {}),
        **({"unpersisted": sorted(f"{node} {key}={_payload_text(p)}"
                                  for node, key, p in state.unpersisted)}
           if state.unpersisted else {}),
        **({"backups": {name: [_payload_text(p) for p in slot.store]
                        for name, slot in zip(config.all_nodes, state.backups.slots,
                                              strict=True) if slot is not None}}
           if state.backups is not None and state.backups.taken else {}),
        **({"retirements_learnt": {
            knower: [actor_id(owner, e) for k, owner, e in sorted(state.known) if k == knower]
            for knower in sorted({k for k, _, _ in state.known})}}
           if state.known else {}),
    }


#: The shared name of each message kind (the implementation's message classes).
MESSAGE_NAMES: dict[Kind, str] = {
    Kind.FORWARD: "Forward",
    Kind.REPLICA_PUT: "ReplicaPut",
    Kind.REPLICA_PUT_ACK: "ReplicaPutAck",
    Kind.REPLICA_PUT_FAILED: "ReplicaPutFailed",
    Kind.REPLICA_GET: "ReplicaGet",
    Kind.REPLICA_GET_REPLY: "ReplicaGetReply",
    Kind.READ_REPAIR: "ReadRepair",
    Kind.HINT_DELIVERY: "HintDelivery",
    Kind.HINT_ACK: "HintAck",
    Kind.RANGE_TRANSFER: "RangeTransfer",
}


def message_text(m: Message) -> str:
    """``src -> dst Name(key, #request, {versions}, hint for intended)``."""
    name = MESSAGE_NAMES[m.kind]
    parts = [m.key]
    if m.request:
        parts.append(f"#{m.request}")
    if m.payload is not None:
        parts.append(_payload_text(m.payload))
    if m.intended and m.kind is Kind.REPLICA_PUT:
        parts.append(f"hint for {m.intended}")
    return f"{m.src} -> {m.dst} {name}({', '.join(parts)})"


def narrate(before: State, action: Action, after: State) -> str:
    """One line a person can follow for the step ``before --action--> after``."""
    config = before.config
    if isinstance(action, ClientPut | ClientGet | ClientDelete):
        ci = config.client_names.index(action.client)
        cl = after.clients[ci]
        top = config.top_n(action.key)
        via = ("" if action.node in top or before.membership is not None
               else f", forwarded to {top[0]}")
        if isinstance(action, ClientPut | ClientDelete):
            put_id = put_id_of(config, ci, before.clients[ci].puts_issued)
            record = after.puts[put_id - 1]
            clock = f" clock {record.clock.to_json()}" if record and record.clock else ""
            acked = (f" (acknowledged at once{_answered_text(config, cl)})"
                     if put_id in cl.acked else "")
            stored = ""
            if record is not None:
                k = config.keys.index(action.key)
                coordinator = after.node(record.coordinator).store[k]
                stored = f"; {record.coordinator} stores {action.key}={_payload_text(coordinator)}"
                if config.prune_retired >= 0:  # pruning: the dot, and the entries dropped
                    before_store = before.node(record.coordinator).store[k]
                    stored = (f" (dot {record.dot[0]}:{record.dot[1]}){stored}"
                              f"{_pruned_text(before, before_store, coordinator)}")
            verb = "put" if isinstance(action, ClientPut) else "delete (tombstone)"
            return (f"{action.client} {verb} v{put_id} of {action.key} to {action.node}"
                    f"{via}{clock}{acked}{stored}")
        now = ""
        if len(cl.gets) > len(before.clients[ci].gets):  # R = 1 at a replica: at once
            # (untold before session 22: a replay of an R = 1 counterexample ended on
            # "c1 get k from n2" and never said what the get returned)
            now = f" (returns {{{', '.join(f'v{v}' for v in cl.gets[-1].returned)}}} at once)"
        return f"{action.client} get {action.key} from {action.node}{via}{now}"
    if isinstance(action, Deliver):
        m = action.message
        dst = before.node(m.dst)
        if not dst.up:
            return f"{message_text(m)} lost: {m.dst} is down"
        if before.membership is not None and not knows(
                plan_of(before.config), before.membership, m.dst, m.src):
            ms, index = before.membership, plan_of(before.config).index
            if ("remove", m.src) in ms.log[: ms.views[index[m.dst]]]:  # session 23's review
                return f"{message_text(m)} refused: {m.dst} knows {m.src} was force-removed"
            return f"{message_text(m)} refused: {m.dst} knows no member {m.src}"
        effects = _effects(before, after, m.payload)
        if (config.prune_retired >= 0 and m.kind is Kind.REPLICA_PUT
                and m.payload is not None and clocks.values(m.payload)):
            k = config.keys.index(m.key)
            if before.node(m.dst).store[k] == after.node(m.dst).store[k]:
                effects = (f"{m.dst}'s record unchanged (its clock covers every version "
                           f"the put carries)" + (f"; {effects}" if effects else ""))
        return f"{message_text(m)} delivered" + (f"; {effects}" if effects else "")
    if isinstance(action, Drop):
        return f"{message_text(action.message)} dropped (fault)"
    if isinstance(action, FailedWrite | FailedPut):
        return _narrate_refused(before, action, after)
    if isinstance(action, Duplicate):
        return f"{message_text(action.message)} duplicated (fault)"
    if isinstance(action, ForwardAgain):
        m = action.message
        return (f"{m.src} cannot reach {m.dst}: it forwards request #{m.request} of {m.key} "
                f"to {action.to} instead")
    if isinstance(action, OutsiderHandoff):
        k = config.keys.index(action.key)
        return (f"{action.node}, outside {action.key}'s top N, keeps its copy "
                f"{_payload_text(before.node(action.node).store[k])} as hints for "
                f"{', '.join(config.top_n(action.key))}")
    if isinstance(action, OutsiderLetGo):
        return (f"{action.node} lets its copy of {action.key} go (every node of the top N "
                f"acknowledged it)")
    if isinstance(action, ForwardFallback):
        m = action.message
        effects = _effects(before, after)
        return (f"{m.src} reaches no node of {m.key}'s top N: it coordinates request "
                f"#{m.request} itself, as a fallback" + (f"; {effects}" if effects else ""))
    if isinstance(action, Timeout):
        effects = _effects(before, after)
        return (f"{action.node} times out on {action.target} for request #{action.request}"
                + (f"; {effects}" if effects else ""))
    if isinstance(action, ClientTimeout):
        return f"{action.client} gives up on its request"
    if isinstance(action, Unheard):  # (session 61)
        last = after.client(action.client).last_get
        held = ("no context" if last is None
                else f"the context of {last.key} it held before ({last.context})")
        return (f"{action.client} does not hear its put's acknowledgement (answer lost, "
                f"or its own timeout first): it keeps {held}")
    if isinstance(action, Handoff):
        return (f"{action.node} hands off its hint {_payload_text(action.payload)} "
                f"of {action.key} to {action.intended}")
    if isinstance(action, AntiEntropy):
        k = config.keys.index(action.key)
        merged = after.node(action.a).store[k]
        pruned = "".join(
            _pruned_text(before, before.node(n).store[k], after.node(n).store[k],
                         before.node(other).store[k], who=n)
            for n, other in ((action.a, action.b), (action.b, action.a)))
        return (f"anti-entropy {action.a} <-> {action.b} on {action.key}: both hold "
                f"{_payload_text(merged)}{pruned}")
    if isinstance(action, Crash):
        if action.again:  # (session 61: a range holding no key left at the crash)
            return (f"{action.node} crashes (fault); its rebuild, every key's exchange "
                    "done, begins again at its restart")
        return f"{action.node} crashes (fault)"
    if isinstance(action, DiskLoss):
        return (f"{action.node} crashes and loses its disk: store, hints and counters "
                f"(fault); its actor is now {after.actor(action.node)}")
    if isinstance(action, BufferedCrash):
        return (f"{action.node} crashes before flushing and loses its unflushed writes "
                f"(fault); its actor is now {after.actor(action.node)}")
    if isinstance(action, Recover):
        return f"{action.node} recovers"
    if isinstance(action, Rebuilt):
        return (f"{action.node} ends its rebuild: its acknowledgements and its own reads "
                f"count again")
    if isinstance(action, Backup):
        return f"{action.node}'s disk is backed up (store, hints, actor and counters)"
    if isinstance(action, Restore):
        return (f"{action.node} crashes and its disk is restored from its backup (fault): "
                f"it holds {', '.join(map(_payload_text, after.node(action.node).store))}; "
                f"its actor is now "
                f"{after.actor(action.node)}")
    if isinstance(action, Partition):
        other = [n for n in config.nodes if n not in action.side]
        return f"network partition: {', '.join(action.side)} | {', '.join(other)} (fault)"
    if isinstance(action, Heal):
        return "the partition heals"
    if isinstance(action, Reap):
        return f"the tombstones of {action.key} are reaped on {', '.join(action.nodes)}"
    if isinstance(action, LearnRetirement):
        return (f"gossip {action.src} -> {action.node}: {action.node} learns that "
                f"{actor_id(action.owner, action.lifetime)} is retired")
    return _narrate_membership(before, action, after)


def _narrate_refused(before: State, action: FailedWrite | FailedPut, after: State) -> str:
    """:func:`narrate` of a write a disk refused (``faults.write_failures``)."""
    effects = _effects(before, after)
    if isinstance(action, FailedPut):
        config = before.config
        ci = config.client_names.index(action.client)
        put_id = put_id_of(config, ci, before.clients[ci].puts_issued)
        head = (f"{action.client} put v{put_id} of {action.key} to {action.node}, whose "
                f"disk refuses its own write (fault)")
    else:
        head = f"{message_text(action.message)} delivered; {action.message.dst}'s disk " \
               f"refuses the write (fault)"
    return head + (f"; {effects}" if effects else "")


def _narrate_membership(before: State, action: Action, after: State) -> str:
    """:func:`narrate` of the membership actions (:mod:`spec.membership`)."""
    if isinstance(action, Join):
        return f"{action.node} joins the ring (announced; others learn it by gossip)"
    if isinstance(action, Leave):
        return f"{action.node} leaves the ring (announced; others learn it by gossip)"
    if isinstance(action, ForceRemove):
        return (f"{action.by} force-removes {action.node}, down for good: its copies are "
                f"lost, it never recovers (announced; others learn it by gossip)")
    if isinstance(action, Gossip):
        assert after.membership is not None
        log = after.membership.log[: after.membership.views[
            before.config.all_nodes.index(action.dst)]]
        return (f"gossip {action.src} -> {action.dst}: {action.dst} now knows "
                f"{', '.join(f'{_ENTRY.get(e, e)} {n}' for e, n in log)}")
    if isinstance(action, Transfer):
        k = before.config.keys.index(action.key)
        payload = before.node(action.src).store[k]
        again = (before.membership is not None and
                 (action.key, action.src, action.dst) in before.membership.handed)
        return (f"{action.src} transfers {action.key}={_payload_text(payload)} to "
                f"{action.dst} " + ("again (late re-transfer: a write that reached it "
                                    "after its range transfer)" if again
                                    else "(range transfer)"))
    if isinstance(action, Handover | Settle) and before.membership is not None and (
            "remove", action.node) in before.membership.log:
        claimant = announcer(before.config, before.membership.log)
        what = ("every range of its removal was transferred (handed over)"
                if isinstance(action, Handover) else
                "its removal is settled (the new ring alone from now on)")
        return f"{claimant}, the claimant, for {action.node}: {what}"
    if isinstance(action, Handover):
        return f"{action.node}: every range of its change was transferred (handed over)"
    if isinstance(action, Settle):
        return f"{action.node}: its change is settled (the new ring alone from now on)"
    return repr(action)


def _pruned_text(before: State, old: Payload, new: Payload,
                 incoming: Payload | None = None, who: str = "") -> str:
    """With ``[features] prune_retired`` on: `` (pruned: n1, n1~1 c1)`` (``who``
    given: `` (n2 pruned: ...)``), the entry ids
    that ``old`` (a node's record before a step) or ``incoming`` (what the step
    merged into it) held and ``new`` (its record after) does not, ``new`` holding
    entries (a reap empties a record); else "" (session 33's review: a replay of
    dvv-prune-naive never said that n1 dropped its own entry)."""
    if (before.config.prune_retired < 0 or not isinstance(old, DVVSet)
            or not isinstance(new, DVVSet) or not new.entries):
        return ""
    held = {entry.id for entry in new.entries}
    seen = [*old.entries, *(incoming.entries if isinstance(incoming, DVVSet) else ())]
    gone = sorted({entry.id for entry in seen} - held)
    return f" ({who + ' ' if who else ''}pruned: {', '.join(gone)})" if gone else ""


def _effects(before: State, after: State, incoming: Payload | None = None) -> str:
    config = before.config
    out: list[str] = []
    for name, b, a in zip(config.all_nodes, before.nodes, after.nodes, strict=True):
        for key, pb, pa in zip(config.keys, b.store, a.store, strict=True):
            if pb != pa:
                out.append(f"{name} stores {key}={_payload_text(pa)}"
                           f"{_pruned_text(before, pb, pa, incoming)}")
        if b.hints != a.hints:
            gone = [h for h in b.hints if h not in a.hints]
            new = [h for h in a.hints if h not in b.hints]
            out.extend(f"{name} keeps hint {_payload_text(h.payload)} for {h.intended}"
                       for h in new)
            out.extend(f"{name} deletes hint {_payload_text(h.payload)} for {h.intended}"
                       for h in gone)
    for name, cb, ca in zip(config.client_names, before.clients, after.clients, strict=True):
        if len(ca.acked) > len(cb.acked):
            out.append(f"{name}'s put v{cb.outstanding} acknowledged{_answered_text(config, ca)}")
        elif len(ca.gets) > len(cb.gets):
            returned = ", ".join(f"v{v}" for v in ca.gets[-1].returned)
            out.append(f"{name}'s get returns {{{returned}}}")
        elif cb.outstanding and not ca.outstanding:
            out.append(f"{name}'s request #{cb.outstanding} fails")
    sent = [m for m in after.messages if m not in before.messages]
    out.extend(f"sends {message_text(m)}" for m in sent)
    return "; ".join(out)


def _answered_text(config: Config, client: ClientState) -> str:
    """``", answering context [...]"``: the context an acknowledged put answers its
    client with ``workload.chain_puts`` (session 60; the client's next write carries
    it); "" without."""
    if not config.chain_puts or client.last_get is None:
        return ""
    return f", answering context {json.dumps(clocks.context_json(client.last_get.context))}"


def payload_text(payload: Payload) -> str:
    """``{v1, v2}``: the put ids a payload holds."""
    return _payload_text(payload)
