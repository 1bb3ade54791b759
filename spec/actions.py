"""The spec's actions: small frozen values, each naming one step, with JSON forms.

Every transition of :func:`spec.model.successors` is labelled with one of these.
``to_json()`` gives ``{"action": <kind>, ...fields}``; :func:`action_from_json`
reads it back. Messages travel inside ``deliver``, ``drop`` and ``duplicate`` as
``{"kind": "replica-put", "src": "n1", "dst": "n2", "request": 1, "key": "k",
"payload": {...}, "intended": "n3"}`` (:func:`message_json`; ``payload`` and
``intended`` only when present).

The actions by paper section: ``client-put``/``client-get`` (4.1, 4.5),
``client-delete`` and ``reap`` (deletes with tombstones: Riak's delete_mode),
``deliver`` (4.5, 4.6), ``timeout`` (4.5, 4.6: the sloppy quorum),
``client-timeout``, ``unheard`` (session 61: a chaining client that did not hear its
put's acknowledgement), ``handoff`` (4.6), ``anti-entropy`` (4.7), and the faults
``drop``, ``duplicate``, ``crash``, ``partition`` with their repairs
``recover``, ``heal`` (4.6, 4.8); ``disk-loss`` and ``buffered-crash`` (a node
that loses its durable state, or its unflushed writes: Riak's kv679); and
membership change (4.8, 4.9): ``join``, ``leave``, ``force-remove``, ``gossip``,
``transfer``, ``handover``, ``settle`` (:mod:`spec.membership`); the failing
disk (session 51, ``faults.write_failures``): ``failed-write`` (a ``replica-put``,
or a put's ``forward``, arrives and the receiver's disk refuses the write) and
``failed-put`` (a client's put to a node that coordinates it, whose own write is
refused); the forwarder's retries (session 54, 4.5-4.6: ``workload.coordinator =
"any"``, :func:`spec.requests.forward_retries`): ``forward-again`` (a ``forward``
whose target cannot answer sent on to a later node of the key's top N) and
``forward-fallback`` (no node of the top N reachable: the forwarder coordinates the
put itself), then ``outsider-handoff`` (its copy kept as hints for the top N) and
``outsider-let-go`` (the copy deleted once the top N's copies cover it); and
``learn-retirement`` (session 34: a node learns another's retirement by gossip,
``prune_knowledge = "learnt"``: :mod:`spec.learning`).

Errors: :func:`action_from_json` and :func:`message_from_json` refuse anything
malformed (not an object, an unknown kind, a missing or mistyped field) with a
ValueError naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from spec.clocks import Payload, payload_from_json, payload_json
from spec.errors import InvalidValueError
from spec.state import Kind, Message

__all__ = [
    "Action",
    "AntiEntropy",
    "Backup",
    "BufferedCrash",
    "ClientDelete",
    "ClientGet",
    "ClientPut",
    "ClientTimeout",
    "Crash",
    "Deliver",
    "DiskLoss",
    "Drop",
    "Duplicate",
    "FailedPut",
    "FailedWrite",
    "ForceRemove",
    "ForwardAgain",
    "ForwardFallback",
    "Gossip",
    "Handoff",
    "Handover",
    "Heal",
    "Join",
    "LearnRetirement",
    "Leave",
    "OutsiderHandoff",
    "OutsiderLetGo",
    "Partition",
    "Reap",
    "Rebuilt",
    "Recover",
    "Restore",
    "Settle",
    "Timeout",
    "Transfer",
    "Unheard",
    "action_from_json",
    "message_from_json",
    "message_json",
    "new_deliver",
    "new_drop",
    "new_duplicate",
]


def message_json(message: Message) -> dict[str, Any]:
    """A message as JSON."""
    out: dict[str, Any] = {
        "kind": message.kind.value,
        "src": message.src,
        "dst": message.dst,
        "request": message.request,
        "key": message.key,
    }
    if message.payload is not None:
        out["payload"] = payload_json(message.payload)
    if message.intended:
        out["intended"] = message.intended
    return out


def _str(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidValueError(f"field {name!r} must be a non-empty string, got {value!r}")
    return value


def _int(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidValueError(f"field {name!r} must be a non-negative integer, got {value!r}")
    return value


def message_from_json(data: object) -> Message:
    """The inverse of :func:`message_json`."""
    if not isinstance(data, dict):
        raise InvalidValueError(f"a message is a JSON object, got {data!r}")
    try:
        kind = Kind(str(data.get("kind")))
    except ValueError:
        raise InvalidValueError(f"unknown message kind {data.get('kind')!r}") from None
    payload = payload_from_json(data["payload"]) if "payload" in data else None
    intended = data.get("intended", "")
    if not isinstance(intended, str):
        raise InvalidValueError(f"field 'intended' must be a string, got {intended!r}")
    return Message(kind, _str(data, "src"), _str(data, "dst"), _int(data, "request"),
                   _str(data, "key"), payload, intended)


@dataclass(frozen=True, slots=True)
class Action:
    """Base of every action."""

    kind: ClassVar[str] = ""
    fault_free: ClassVar[bool] = True
    """False on the faults (drop, duplicate, crash, disk loss, buffered crash, restore,
    partition: :data:`spec.model.FAULTS`, which the liveness check's fault-free steps
    leave out); a class attribute, so the checker reads it with ``attrgetter`` (no
    Python call a transition; issue 13, session 39). The one source of which actions
    are faults: ``FAULTS`` and ``is_fault`` are derived from it (session 41)."""

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class ClientPut(Action):
    """``client`` sends put(key, its own value, the context of its last get) to ``node``."""

    client: str
    node: str
    key: str
    kind: ClassVar[str] = "client-put"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "client": self.client, "node": self.node, "key": self.key}


@dataclass(frozen=True, slots=True)
class ClientGet(Action):
    """``client`` sends get(key) to ``node``."""

    client: str
    node: str
    key: str
    kind: ClassVar[str] = "client-get"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "client": self.client, "node": self.node, "key": self.key}


@dataclass(frozen=True, slots=True)
class ClientDelete(Action):
    """``client`` sends delete(key, the context of its last get) to ``node``: a put
    whose value is a tombstone (Riak's delete; see :mod:`spec.deletes`)."""

    client: str
    node: str
    key: str
    kind: ClassVar[str] = "client-delete"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "client": self.client, "node": self.node, "key": self.key}


@dataclass(frozen=True, slots=True)
class Reap(Action):
    """The tombstones of ``key`` are reaped from ``nodes`` (their copies become
    empty): Riak's delete_mode (:mod:`spec.deletes`)."""

    key: str
    nodes: tuple[str, ...]
    kind: ClassVar[str] = "reap"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "key": self.key, "nodes": list(self.nodes)}


@dataclass(frozen=True, slots=True)
class Deliver(Action):
    """One copy of ``message`` arrives (at a down node it is lost)."""

    message: Message
    kind: ClassVar[str] = "deliver"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "message": message_json(self.message)}


@dataclass(frozen=True, slots=True)
class Drop(Action):
    """Fault: one copy of ``message`` is lost."""

    message: Message
    kind: ClassVar[str] = "drop"
    fault_free: ClassVar[bool] = False

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "message": message_json(self.message)}


@dataclass(frozen=True, slots=True)
class Duplicate(Action):
    """Fault: ``message`` is duplicated."""

    message: Message
    kind: ClassVar[str] = "duplicate"
    fault_free: ClassVar[bool] = False

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "message": message_json(self.message)}


@dataclass(frozen=True, slots=True)
class FailedWrite(Action):
    """Fault (``faults.write_failures``): one copy of ``message`` arrives, a
    ``replica-put`` or a put's ``forward``, and its receiver's disk refuses the write
    it makes (ENOSPC, EIO): a replica (or a fallback) keeps nothing and answers the
    coordinator ``replica-put-failed``; a forward's coordinator coordinates the put
    with its own copy failed (:func:`spec.coordination.start`)."""

    message: Message
    kind: ClassVar[str] = "failed-write"
    fault_free: ClassVar[bool] = False

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "message": message_json(self.message)}


@dataclass(frozen=True, slots=True)
class ForwardAgain(Action):
    """``message``, a ``forward`` in flight whose client still waits and whose target
    cannot answer (down, or cut off from the forwarder: the spec's accurate failure
    detection, as :class:`Timeout`'s), is sent instead to ``to``, a later node of the
    key's top N (session 54; paper 4.5: the forwarder sends the request to "the first
    among the top N nodes", 4.6: operations go to "the first N healthy nodes";
    impl/forwarding.py ``Forwarder.route`` (a suspected first skipped),
    ``on_timeout``, ``on_decline``, ``_next_target``)."""

    message: Message
    to: str
    kind: ClassVar[str] = "forward-again"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "message": message_json(self.message), "to": self.to}


@dataclass(frozen=True, slots=True)
class ForwardFallback(Action):
    """``message``, a put's ``forward`` in flight whose client still waits, none of
    whose key's top N is reachable from its forwarder: the forwarder coordinates the
    put itself, as a sloppy-quorum fallback (session 54; paper 4.6; impl/forwarding.py
    ``Forwarder._next_target``: "No node of the top N answers: coordinate here"):
    :func:`spec.coordination.start` with ``fallback``."""

    message: Message
    kind: ClassVar[str] = "forward-fallback"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "message": message_json(self.message)}


@dataclass(frozen=True, slots=True)
class OutsiderHandoff(Action):
    """``node``, outside ``key``'s top N, whose store holds a copy of the key (a put it
    coordinated as a fallback, :class:`ForwardFallback`) and which coordinates no put
    of the key, keeps its copy as a hint for each node of the top N (replacing the
    hints for that node its copy covers): hinted handoff then takes it to them
    (session 54; paper 4.6: a node outside the preference list holds a write as a
    hint; ``impl.gossip.Gossiper.hand_outsider_copy`` at the put's end)."""

    node: str
    key: str
    kind: ClassVar[str] = "outsider-handoff"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "node": self.node, "key": self.key}


@dataclass(frozen=True, slots=True)
class OutsiderLetGo(Action):
    """``node``, outside ``key``'s top N and coordinating no put of it, deletes its copy
    of the key once every node of the top N acknowledged a hint of that copy (session
    54; ``impl.gossip.Gossiper.let_go``: the copy goes once every owner acknowledged
    the hint of it, ``_stray_acknowledged``; session 54's review: the acknowledgements,
    not the owners' copies now, as the implementation)."""

    node: str
    key: str
    kind: ClassVar[str] = "outsider-let-go"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "node": self.node, "key": self.key}


@dataclass(frozen=True, slots=True)
class FailedPut(Action):
    """Fault (``faults.write_failures``): ``client`` sends its next write (a put, or
    once its puts are spent a delete) of ``key`` to ``node``, which coordinates it
    and whose disk refuses its own write of it: its copy is one failed replica."""

    client: str
    node: str
    key: str
    kind: ClassVar[str] = "failed-put"
    fault_free: ClassVar[bool] = False

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "client": self.client, "node": self.node, "key": self.key}


@dataclass(frozen=True, slots=True)
class Timeout(Action):
    """Coordinator ``node`` gives up waiting on ``target`` for ``request``."""

    node: str
    request: int
    target: str
    kind: ClassVar[str] = "timeout"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "node": self.node, "request": self.request,
                "target": self.target}


@dataclass(frozen=True, slots=True)
class ClientTimeout(Action):
    """``client`` gives up on its outstanding request (nobody works on it any more)."""

    client: str
    kind: ClassVar[str] = "client-timeout"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "client": self.client}


@dataclass(frozen=True, slots=True)
class Unheard(Action):
    """``client`` (``workload.chain_puts``), idle after its put was acknowledged, did
    not hear the acknowledgement (its answer lost, or its own timeout first): it keeps
    the context it held before the put (session 61; :func:`spec.requests.unheard`)."""

    client: str
    kind: ClassVar[str] = "unheard"
    fault_free: ClassVar[bool] = False

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "client": self.client}


@dataclass(frozen=True, slots=True)
class Handoff(Action):
    """Hinted handoff: ``node`` sends its hint for ``intended`` to it."""

    node: str
    intended: str
    key: str
    payload: Payload
    kind: ClassVar[str] = "handoff"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "node": self.node, "intended": self.intended,
                "key": self.key, "payload": payload_json(self.payload)}


@dataclass(frozen=True, slots=True)
class AntiEntropy(Action):
    """Replicas ``a`` and ``b`` of ``key`` exchange and reconcile its versions."""

    a: str
    b: str
    key: str
    kind: ClassVar[str] = "anti-entropy"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "a": self.a, "b": self.b, "key": self.key}


@dataclass(frozen=True, slots=True)
class Crash(Action):
    """Fault: ``node`` crashes (stores survive; its coordinator state is lost).

    ``again`` (session 61, ``features.rebuild``): the crash of a node whose rebuild
    mark is set and has no exchange left, in the outcome that keeps the mark and
    begins every exchange again (the implementation's rebuild is per range: a range
    holding no key may be left at the crash, and its restart begins the rebuild
    again; :func:`spec.rebuild.restart`). ``again = False`` is the other outcome (the
    rebuild over, its grace in memory: the mark dropped), and every other crash."""

    node: str
    again: bool = False
    kind: ClassVar[str] = "crash"
    fault_free: ClassVar[bool] = False

    def to_json(self) -> dict[str, Any]:
        if self.again:
            return {"action": self.kind, "node": self.node, "again": True}
        return {"action": self.kind, "node": self.node}


@dataclass(frozen=True, slots=True)
class DiskLoss(Action):
    """Fault: ``node`` crashes and its disk is replaced: its store, hints and
    counters are lost (it recovers empty; with actor epochs, under a new actor)."""

    node: str
    kind: ClassVar[str] = "disk-loss"
    fault_free: ClassVar[bool] = False

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "node": self.node}


@dataclass(frozen=True, slots=True)
class BufferedCrash(Action):
    """Fault (``storage = "buffered"``): ``node`` crashes before flushing and loses
    the writes not yet flushed (in the spec: all it wrote, see docs/spec.md)."""

    node: str
    kind: ClassVar[str] = "buffered-crash"
    fault_free: ClassVar[bool] = False

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "node": self.node}


@dataclass(frozen=True, slots=True)
class Backup(Action):
    """``faults.restores``: an operator copies ``node``'s disk (its store, hints and
    the actor and counters it mints from) into its backup slot; not a fault."""

    node: str
    kind: ClassVar[str] = "backup"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "node": self.node}


@dataclass(frozen=True, slots=True)
class Restore(Action):
    """Fault (``faults.restores``): ``node`` crashes and its disk is replaced by its
    backup, older than what it held: the store, hints and counters of the backup's
    time (it recovers from them; with ``restore_actor = "new"``, under a new actor,
    with ``"kept"`` under the backup's: docs/impl.md, "Operation ids after a
    restored backup")."""

    node: str
    kind: ClassVar[str] = "restore"
    fault_free: ClassVar[bool] = False

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "node": self.node}


@dataclass(frozen=True, slots=True)
class Recover(Action):
    """``node`` comes back up."""

    node: str
    kind: ClassVar[str] = "recover"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "node": self.node}


@dataclass(frozen=True, slots=True)
class Rebuilt(Action):
    """``node``, whose disk was lost, ends its rebuild (``features.rebuild``,
    :mod:`spec.rebuild`, session 55): its acknowledgements, own writes and own reads
    count again (not a fault: the implementation's ``Node._acks_uncounted`` turning
    false, the grace after its last silent read over)."""

    node: str
    kind: ClassVar[str] = "rebuilt"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "node": self.node}


@dataclass(frozen=True, slots=True)
class Partition(Action):
    """Fault: the network splits into ``side`` and the other nodes."""

    side: tuple[str, ...]
    kind: ClassVar[str] = "partition"
    fault_free: ClassVar[bool] = False

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "side": list(self.side)}


@dataclass(frozen=True, slots=True)
class Heal(Action):
    """The partition heals."""

    kind: ClassVar[str] = "heal"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind}


@dataclass(frozen=True, slots=True)
class Join(Action):
    """``node`` (of ``[membership] joining``) announces that it joins the ring
    (:mod:`spec.membership`)."""

    node: str
    kind: ClassVar[str] = "join"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "node": self.node}


@dataclass(frozen=True, slots=True)
class Leave(Action):
    """``node`` announces that it leaves the ring (:mod:`spec.membership`)."""

    node: str
    kind: ClassVar[str] = "leave"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "node": self.node}


@dataclass(frozen=True, slots=True)
class ForceRemove(Action):
    """Member ``by`` announces that ``node``, which is down, is gone for good and out
    of the ring (riak_core's ``cluster force-remove``, Cassandra's ``removenode``;
    :mod:`spec.membership`): its copies and hints are lost, it never recovers, and
    the survivors hand its ranges on to their new owners."""

    node: str
    by: str
    kind: ClassVar[str] = "force-remove"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "node": self.node, "by": self.by}


@dataclass(frozen=True, slots=True)
class Gossip(Action):
    """``src`` tells ``dst`` the membership changes it knows and ``dst`` does not
    (paper 4.8: gossip-based membership; :mod:`spec.membership`)."""

    src: str
    dst: str
    kind: ClassVar[str] = "gossip"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "src": self.src, "dst": self.dst}


@dataclass(frozen=True, slots=True)
class Transfer(Action):
    """``src``, which loses ``key``'s range in the current membership change, sends
    its versions of the key to ``dst``, which gains it (a ``range-transfer``)."""

    src: str
    dst: str
    key: str
    kind: ClassVar[str] = "transfer"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "src": self.src, "dst": self.dst, "key": self.key}


@dataclass(frozen=True, slots=True)
class Handover(Action):
    """``node``, whose join (leave) is the current change, announces that every key
    range of the change was transferred: a joining node now serves, a leaving one
    is out. For a force-remove of ``node`` the claimant announces it."""

    node: str
    kind: ClassVar[str] = "handover"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "node": self.node}


@dataclass(frozen=True, slots=True)
class Settle(Action):
    """``node`` announces that its change is settled: every member knows the
    handover, so requests use the new ring alone (no more joint quorums). For a
    force-remove of ``node`` the claimant announces it."""

    node: str
    kind: ClassVar[str] = "settle"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "node": self.node}


@dataclass(frozen=True, slots=True)
class LearnRetirement(Action):
    """``node`` learns from ``src``, by gossip, that ``owner``'s storage lifetime
    ``lifetime`` is retired (``prune_knowledge = "learnt"``, session 34:
    :mod:`spec.learning`; the implementation's ``Gossip.retired``)."""

    node: str
    src: str
    owner: str
    lifetime: int
    kind: ClassVar[str] = "learn-retirement"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.kind, "node": self.node, "src": self.src,
                "owner": self.owner, "lifetime": self.lifetime}


_NODE_ACTIONS: dict[str, type[Join | Leave | Handover | Settle]] = {
    "join": Join, "leave": Leave, "handover": Handover, "settle": Settle}


def action_from_json(data: object) -> Action:
    """Read an action back from :meth:`Action.to_json`'s form."""
    if not isinstance(data, dict):
        raise InvalidValueError(f"an action is a JSON object, got {data!r}")
    kind = data.get("action")
    if kind in ("client-put", "client-get", "client-delete", "failed-put"):
        cls = {"client-put": ClientPut, "client-get": ClientGet,
               "client-delete": ClientDelete, "failed-put": FailedPut}[kind]
        return cls(_str(data, "client"), _str(data, "node"), _str(data, "key"))
    if kind == "reap":
        nodes = data.get("nodes")
        if not isinstance(nodes, list) or not nodes or not all(
                isinstance(n, str) and n for n in nodes):
            raise InvalidValueError(f"field 'nodes' must be a list of node names, got {nodes!r}")
        return Reap(_str(data, "key"), tuple(nodes))
    if kind in ("deliver", "drop", "duplicate", "failed-write"):
        message = message_from_json(data.get("message"))
        return {"deliver": Deliver, "drop": Drop, "duplicate": Duplicate,
                "failed-write": FailedWrite}[kind](message)
    if kind == "forward-again":
        return ForwardAgain(message_from_json(data.get("message")), _str(data, "to"))
    if kind == "forward-fallback":
        return ForwardFallback(message_from_json(data.get("message")))
    if kind in ("outsider-handoff", "outsider-let-go"):
        outsider = OutsiderHandoff if kind == "outsider-handoff" else OutsiderLetGo
        return outsider(_str(data, "node"), _str(data, "key"))
    if kind == "timeout":
        return Timeout(_str(data, "node"), _int(data, "request"), _str(data, "target"))
    if kind == "client-timeout":
        return ClientTimeout(_str(data, "client"))
    if kind == "unheard":
        return Unheard(_str(data, "client"))
    if kind == "handoff":
        return Handoff(_str(data, "node"), _str(data, "intended"), _str(data, "key"),
                       payload_from_json(data.get("payload")))
    if kind == "anti-entropy":
        return AntiEntropy(_str(data, "a"), _str(data, "b"), _str(data, "key"))
    if kind == "crash":
        again = data.get("again", False)
        if not isinstance(again, bool):
            raise InvalidValueError(f"field 'again' must be true or false, got {again!r}")
        return Crash(_str(data, "node"), again)
    if kind == "disk-loss":
        return DiskLoss(_str(data, "node"))
    if kind == "buffered-crash":
        return BufferedCrash(_str(data, "node"))
    if kind == "recover":
        return Recover(_str(data, "node"))
    if kind == "rebuilt":
        return Rebuilt(_str(data, "node"))
    if kind == "backup":
        return Backup(_str(data, "node"))
    if kind == "restore":
        return Restore(_str(data, "node"))
    if kind == "partition":
        side = data.get("side")
        if not isinstance(side, list) or not side or not all(isinstance(s, str) for s in side):
            raise InvalidValueError(f"field 'side' must be a list of node names, got {side!r}")
        return Partition(tuple(side))
    if kind == "heal":
        return Heal()
    if kind in _NODE_ACTIONS:
        return _NODE_ACTIONS[kind](_str(data, "node"))
    if kind == "gossip":
        return Gossip(_str(data, "src"), _str(data, "dst"))
    if kind == "force-remove":
        return ForceRemove(_str(data, "node"), _str(data, "by"))
    if kind == "transfer":
        return Transfer(_str(data, "src"), _str(data, "dst"), _str(data, "key"))
    if kind == "learn-retirement":
        return LearnRetirement(_str(data, "node"), _str(data, "src"), _str(data, "owner"),
                               _int(data, "lifetime"))
    raise InvalidValueError(f"unknown action {kind!r}")


# -- trusted constructors for the successor path (no dataclass ``__init__``) ------------
# (A slot's own setter, its member descriptor's ``__set__``, is about 4x cheaper than
# ``object.__setattr__``: spec/state.py's ``_setters``.)
_new = object.__new__
_set_deliver = Deliver.__dict__["message"].__set__
_set_drop = Drop.__dict__["message"].__set__
_set_duplicate = Duplicate.__dict__["message"].__set__


def new_deliver(message: Message) -> Deliver:
    """``Deliver(message)``, trusted."""
    action = _new(Deliver)
    _set_deliver(action, message)
    return action


def new_drop(message: Message) -> Drop:
    """``Drop(message)``, trusted."""
    action = _new(Drop)
    _set_drop(action, message)
    return action


def new_duplicate(message: Message) -> Duplicate:
    """``Duplicate(message)``, trusted."""
    action = _new(Duplicate)
    _set_duplicate(action, message)
    return action
