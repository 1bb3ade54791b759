"""The configuration of one run of the spec: cluster, features, faults, workload.

The paper's parameters (N, R, W: section 4.5; the sloppy quorum and hinted
handoff: 4.6; anti-entropy: 4.7; the ring of 4.2-4.3) plus the checker's bounds
(fault budgets, the workload).

Theory of operation
-------------------
A :class:`Config` is a frozen, hashable value: everything the transition system
in :mod:`spec.model` needs to know besides its state. It is built from keyword
arguments (``Config(n=3, clock="dvv", ...)``), from a TOML document
(:meth:`Config.from_toml`, :func:`load_config`) or from its own JSON form
(:meth:`Config.to_json` / :meth:`Config.from_json`, used by traces). Every
construction path runs the same validation, so a bad value is refused with a
:class:`ConfigError` that names the TOML section and key, whichever way it came
in.

The TOML layout (every key optional; the defaults are those of
``spec/default.toml``)::

    name = "default"
    [cluster]   nodes = ["n1", "n2", "n3"]  # ring order: one token each, evenly spaced
                n = 3  r = 2  w = 2  sloppy_quorum = false
                pr = 0  pw = 0           # primary quorums (Riak's pr, pw; session 39)
                clock = "dvv"            # "lww" | "server-vclock" | "client-vclock" | "dvv"
                skew = {}                # per-node wall-clock offsets in ticks: {n1 = 2}
    [features]  hinted_handoff = true  read_repair = true  anti_entropy = true
                read_repair_fallbacks = true  # false: repair only the key's replicas
                hinted_reads = false     # true: a node answers a replica-get with its
                                         # copy merged with its hints of the key (s49)
                actor_epochs = true      # false: a node re-uses its name after a disk loss
                storage = "durable"      # "buffered": a crash may lose unflushed writes
                lww_timestamps = "hybrid"  # "wall-clock": the coordinator's clock alone
                vclock_threshold = 0     # > 0: truncate vector clocks past that many pairs
                delete_mode = "safe"     # "keep" | "immediate": when tombstones are reaped
                join_handover = "pending"  # "immediate": a joining node serves at once
                restore_actor = "new"    # "kept": a node restored from a backup keeps its actor
                actor_per_start = false  # true: every crash begins a new lifetime (actor)
                client_vclock_entry = "pair"  # "client": the client's own entry (before s23)
                prune_retired = -1       # dvv, >= 0: drop value-less entries of retired
                                         # lifetimes past the newest K per node (s33)
                prune_knowledge = "all"  # "own" | "naive": which retirements a node knows;
                                         # "learnt": knowledge is state, grows (s34)
                failed_write_acks = false  # true: a refused write is acknowledged as
                                         # if stored (the broken twin; session 51)
                failed_write_kept = true   # false: a coordinator forgets its refused
                                         # write and mints its dot again (s51)
    [faults]    drops = 0  duplicates = 0  crashes = 0  partitions = 0   # budgets per run
                disk_losses = 0
                restores = 0             # backups taken and restores made from them
                write_failures = 0       # a node's disk refuses one write (session 51)
    [workload]  keys = ["k"]  clients = 1  puts_per_client = 1  gets_per_client = 1
                coordinator = "top-n"    # "any" | "top-n" | "first": where a client sends
                read_modify_write = false  # true: no blind rewrites (a get before each put)
                deletes_per_client = 0   # deletes, each after the client's puts
                forgetful_clients = false  # true: a client restarts after each acked put
                chain_puts = false       # true: a put's next put carries the context
                                         # its acknowledgement answered (session 60)
    [membership] joining = []           # nodes outside the initial ring that may join
                joins = 0  leaves = 0    # budgets: membership changes per run
                removes = 0              # force-removes of a node down for good

The keys of issue 10 (``skew``, ``actor_epochs``, ``storage``, ``lww_timestamps``,
``vclock_threshold``, ``disk_losses``, ``read_modify_write``) default to the fixed
behaviour and no new fault; sources: Riak's kv679 (basho/riak_kv#679, #1040,
#1070), Jepsen's lww analyses, the paper's truncation (4.4) and riak_core's
``vclock:prune/3``.

``workload.coordinator`` says which nodes a client may send a request to:
``"any"`` node (a node outside the key's top N forwards it to the first of
them, as the paper's load balancer does), one of the key's ``"top-n"`` (the
paper's partition-aware client library; nothing is forwarded), or only the
``"first"`` of the top N (every request of a key goes through one coordinator:
the setting in which coordinator-generated clocks lose concurrent writes).

``[membership]`` (issue 11, part 2; :mod:`spec.membership`): ``joining`` names
nodes outside the initial ring (``nodes``) that may join it, ``joins`` and
``leaves`` bound the membership changes of a run (default 0: no change, and no
state of an earlier configuration changes). ``features.join_handover`` is the
rule while a key range moves: ``"pending"`` (writes go to the old and the new
owners, reads are served by the old ones until the transfer completed) or
``"immediate"`` (the naive rule: a joining node serves its ranges at once).
Membership change is modelled with a strict quorum and with clients that send
to a node of the key's top N (``coordinator`` ``"top-n"`` or ``"first"``); other
combinations are refused. Deletes and reaping may go with it (a safe reap asks
the members of the reaping node's view, and waits until they share its view:
:mod:`spec.deletes`). ``removes`` (session 23) bounds the force-removes of a run:
a member announces that a node that is down is gone for good, its copies lost
(riak_core's ``cluster force-remove``, Cassandra's ``removenode``;
:class:`~spec.actions.ForceRemove`); a node is down only after a crash or a disk
loss, so ``removes`` needs ``crashes + disk_losses >= removes``.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from spec.errors import ConfigError
from spec.ring import Ring
from spec.validation import (
    CLOCK_MODES,
    check_bool,
    check_choice,
    check_int,
    replace_fields,
)

__all__ = [
    "CLOCK_MODES",
    "COORDINATOR_CHOICES",
    "DELETE_MODES",
    "JOIN_HANDOVERS",
    "LWW_TIMESTAMPS",
    "SECTIONS",
    "STORAGE_MODES",
    "Config",
    "ConfigError",
    "default_config",
    "load_config",
]

COORDINATOR_CHOICES = ("any", "top-n", "first")
STORAGE_MODES = ("durable", "buffered")
LWW_TIMESTAMPS = ("hybrid", "wall-clock")
DELETE_MODES = ("keep", "safe", "immediate")
JOIN_HANDOVERS = ("pending", "immediate")
RESTORE_ACTORS = ("new", "kept")
CLIENT_VCLOCK_ENTRIES = ("pair", "client")
PRUNE_KNOWLEDGE = ("all", "own", "naive", "learnt")  # spec.retired.KNOWLEDGE

#: TOML section -> the keys it may hold (each key is also a Config field).
SECTIONS: dict[str, tuple[str, ...]] = {
    "cluster": ("nodes", "n", "r", "w", "sloppy_quorum", "clock", "skew", "pr", "pw"),
    "features": ("hinted_handoff", "read_repair", "read_repair_fallbacks", "anti_entropy",
                 "actor_epochs", "storage",
                 "lww_timestamps", "vclock_threshold", "delete_mode", "join_handover",
                 "restore_actor", "actor_per_start", "client_vclock_entry",
                 "prune_retired", "prune_knowledge", "hinted_reads", "failed_write_acks",
                 "failed_write_kept", "rebuild"),
    "faults": ("drops", "duplicates", "crashes", "partitions", "disk_losses", "restores",
               "write_failures"),
    "workload": ("keys", "clients", "puts_per_client", "gets_per_client", "coordinator",
                 "read_modify_write", "deletes_per_client", "forgetful_clients",
                 "chain_puts"),
    "membership": ("joining", "joins", "leaves", "removes"),
}
_SECTION_OF = {key: section for section, keys in SECTIONS.items() for key in keys}

DEFAULT_TOML = Path(__file__).with_name("default.toml")


# The package's one ConfigError (spec.errors); re-exported here for old imports.


def _where(key: str) -> str:
    section = _SECTION_OF.get(key)
    return f"[{section}] {key}" if section else key


def _bool(key: str, value: object) -> bool:
    return check_bool(_where(key), value)


def _int(key: str, value: object, minimum: int) -> int:
    return check_int(_where(key), value, minimum)


def _names(key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(f"{_where(key)} must be a list of names, got {value!r}")
    if not value:
        raise ConfigError(f"{_where(key)} must not be empty")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item or item != item.strip():
            raise ConfigError(
                f"{_where(key)} entries must be non-empty names without spaces around, "
                f"got {item!r}"
            )
        if item in out:
            raise ConfigError(f"{_where(key)} names {item!r} twice")
        out.append(item)
    return tuple(out)


def _skew(value: object, nodes: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """``{node: offset}`` (a TOML inline table) or ``((node, offset), ...)`` -> sorted
    pairs without zero offsets."""
    items: Any
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, list | tuple):
        items = [tuple(item) if isinstance(item, list | tuple) else item for item in value]
    else:
        raise ConfigError(f"[cluster] skew must be a table of node = ticks, got {value!r}")
    out: dict[str, int] = {}
    for item in items:
        if not isinstance(item, tuple) or len(item) != 2:
            raise ConfigError(f"[cluster] skew must be a table of node = ticks, got {value!r}")
        node, offset = item
        if node not in nodes:
            raise ConfigError(f"[cluster] skew names {node!r}, which is not a node")
        if isinstance(offset, bool) or not isinstance(offset, int):
            raise ConfigError(f"[cluster] skew of {node!r} must be an integer number of "
                              f"ticks, got {offset!r}")
        if node in out:
            raise ConfigError(f"[cluster] skew names {node!r} twice")
        out[node] = offset
    return tuple(sorted((n, o) for n, o in out.items() if o))


def _choice(key: str, value: object, choices: tuple[str, ...]) -> str:
    return check_choice(_where(key), value, choices)


def _joining(value: object, nodes: tuple[str, ...]) -> tuple[str, ...]:
    """``[membership] joining``: distinct names, none of them an initial node."""
    if isinstance(value, list | tuple) and not value:
        return ()
    names = _names("joining", value)
    for name in names:
        if name in nodes:
            raise ConfigError(f"[membership] joining names {name!r}, which is already in "
                              f"[cluster] nodes")
    return names


def _check_membership(config: Config) -> None:
    """The membership keys against each other and the rest (module docstring)."""
    if config.joins > len(config.joining):
        raise ConfigError(f"[membership] joins = {config.joins} exceeds the number of "
                          f"joining nodes ({len(config.joining)})")
    if config.leaves and len(config.nodes) + config.joins - config.leaves < config.n:
        raise ConfigError(f"[membership] leaves = {config.leaves} would leave fewer than "
                          f"n = {config.n} nodes in the ring")
    gone = config.leaves + config.removes
    if config.removes and len(config.nodes) + config.joins - gone < config.n:
        raise ConfigError(f"[membership] removes = {config.removes} (with leaves = "
                          f"{config.leaves}) would leave fewer than n = {config.n} nodes "
                          f"in the ring")
    if config.removes > config.crashes + config.disk_losses:
        raise ConfigError(f"[membership] removes = {config.removes} exceeds [faults] crashes "
                          f"+ disk_losses ({config.crashes + config.disk_losses}): only a "
                          f"node that is down is force-removed")
    if not config.membership:
        return
    if config.sloppy_quorum:
        raise ConfigError("[membership] joins and leaves are modelled with a strict quorum "
                          "only ([cluster] sloppy_quorum must be false)")
    if config.coordinator == "any":
        raise ConfigError("[membership] joins and leaves need clients that send to a node "
                          "of the key's top N ([workload] coordinator \"top-n\" or \"first\")")


def _check_pruning(config: Config) -> None:
    """``prune_retired`` and ``prune_knowledge`` against the rest (session 33)."""
    if config.prune_retired < 0:
        if config.prune_knowledge != "all":
            raise ConfigError(f"[features] prune_knowledge = {config.prune_knowledge!r} "
                              f"needs [features] prune_retired >= 0 (pruning on)")
        return
    if config.clock != "dvv":
        raise ConfigError(f"[features] prune_retired = {config.prune_retired} needs [cluster] "
                          f"clock = \"dvv\" (it prunes DVVSet entries), got {config.clock!r}")
    if not config.actor_epochs:
        raise ConfigError("[features] prune_retired needs [features] actor_epochs = true "
                          "(without epochs no lifetime is ever retired)")
    if config.restores and config.restore_actor == "kept":
        raise ConfigError('[features] prune_retired contradicts [features] restore_actor = '
                          '"kept" with restores: a restore with the actor kept takes a node '
                          'back to a lifetime it had retired (the implementation retires an '
                          'actor only when a start takes a new one)')
    for name in config.all_nodes:
        if "~" in name or " " in name:
            raise ConfigError(f"[cluster] nodes: {name!r} holds '~' or a space, which "
                              f"[features] prune_retired cannot tell from an actor's epoch "
                              f"or a pair's client")


@dataclass(frozen=True, slots=True)
class Config:
    """One configuration of the spec (see the module docstring for each key)."""

    name: str = "default"
    # [cluster]
    nodes: tuple[str, ...] = ("n1", "n2", "n3")
    n: int = 3
    r: int = 2
    w: int = 2
    sloppy_quorum: bool = False
    clock: str = "dvv"
    #: per-node wall-clock offsets in ticks, sorted ``(node, offset)`` pairs (TOML:
    #: ``skew = {n1 = 2}``); a node not named runs on true time
    skew: tuple[tuple[str, int], ...] = ()
    # [features]
    hinted_handoff: bool = True
    read_repair: bool = True
    #: read repair also writes a replier outside the key's replicas (a fallback of a
    #: sloppy quorum): riak_kv's default; False: only the key's top N (riak_kv's
    #: ``read_repair_primaryonly``, the implementation's default since session 27;
    #: :func:`spec.read_repair.repaired_nodes`)
    read_repair_fallbacks: bool = True
    anti_entropy: bool = True
    #: a fresh actor (``name~epoch``) per storage lifetime (Riak's kv679 fix); False:
    #: the bare name, which a node that lost its disk re-uses
    actor_epochs: bool = True
    #: "durable": a crash keeps the disk; "buffered": a crash may lose unflushed writes
    storage: str = "durable"
    #: lww: "hybrid" (max(wall, context + 1, stored + 1)) or "wall-clock" (wall only)
    lww_timestamps: str = "hybrid"
    #: vector-clock modes: truncate a put's clock to this many pairs (0: never)
    vclock_threshold: int = 0
    #: when a tombstone is reaped: "keep" never, "safe" once every replica holds it
    #: and nothing about the key is in flight, "immediate" once the delete is
    #: acknowledged (Riak's delete_mode)
    delete_mode: str = "safe"
    # [faults]: budgets, how many of each may happen in one run
    drops: int = 0
    duplicates: int = 0
    crashes: int = 0
    partitions: int = 0
    disk_losses: int = 0
    # [workload]
    keys: tuple[str, ...] = ("k",)
    clients: int = 1
    puts_per_client: int = 1
    gets_per_client: int = 1
    coordinator: str = "top-n"
    #: a client's next put waits for a get begun after its previous put was
    #: acknowledged (read-modify-write clients: no blind rewrites)
    read_modify_write: bool = False
    #: deletes per client, each after the client's puts (a delete is a write of a
    #: tombstone, with the context of the client's last get)
    deletes_per_client: int = 0
    # [features], continued
    #: while a key range moves to a joining node (or away from a leaving one):
    #: "pending" (old and new owners take writes, the old serve reads until the
    #: transfer completed) or "immediate" (the new ring serves at once: naive)
    join_handover: str = "pending"
    # [membership]
    #: nodes outside the initial ring (``nodes``) that may join it, in ring order
    joining: tuple[str, ...] = ()
    #: budget: how many joins may happen in one run
    joins: int = 0
    #: budget: how many leaves may happen in one run
    leaves: int = 0
    #: budget: how many force-removes (a member announces that a node down for good
    #: is out of the ring, its copies lost) may happen in one run (session 23)
    removes: int = 0
    # [faults], continued
    #: budget: how many backups (``Backup(n)``: a copy of a node's disk) may be
    #: taken and how many restores (``Restore(n)``: the disk replaced by it) made
    #: in one run (0: neither, and no state of an earlier configuration changes)
    restores: int = 0
    # [features], continued
    #: the actor of a node restored from a backup: "new" (a new storage lifetime,
    #: as the implementation's ``ClusterConfig.actor_per_start``) or "kept" (the
    #: backup's actor, with the counters of the backup's time: naive)
    restore_actor: str = "new"
    #: with ``actor_epochs``: every crash of a node begins a new storage lifetime,
    #: so its next start mints under a new actor, whatever its engine (the
    #: implementation's ``ClusterConfig.actor_per_start``, its default; the spec's
    #: default is false: a durable Recover keeps the actor)
    actor_per_start: bool = False
    #: client-vclock: the entry a put increments (session 23): "pair" (the entry
    #: of the client and the coordinator's actor, counted by the coordinator) or
    #: "client" (the client's own, counted from the counter the client sends)
    client_vclock_entry: str = "pair"
    # [workload], continued
    #: a client restarts once each of its puts is acknowledged: it forgets its
    #: client-vclock counter (its next put sends 0) and its last get (its next put
    #: carries the context of a get made since, or none): a process restarted
    #: under the same client id (session 23)
    forgetful_clients: bool = False
    # [features], continued (session 33; spec.retired)
    #: dvv: after each write of a record at a node (a put, a merge), drop the
    #: value-less entries of retired storage lifetimes (a lifetime is retired once
    #: its node began a later one) past the newest ``prune_retired`` of each node
    #: (0: every one); -1: never (the implementation before session 33)
    prune_retired: int = -1
    #: which retirements a pruning node knows: "all" (every one at once: the most
    #: pruning), "own" (its own earlier lifetimes'), "naive" (the broken twin:
    #: every lifetime counts as retired, the current ones too), "learnt" (session
    #: 34: its own and those it learnt, by gossip and anti-entropy: ``State.known``)
    prune_knowledge: str = "all"
    # [cluster], continued (session 39; spec.coordination)
    #: the primary quorums (Riak KV's ``pr`` and ``pw``): how many of a get's R
    #: replies (a put's W acks) must come from the key's top N themselves, never a
    #: fallback (with a strict quorum every node asked is one); a request whose
    #: coordinator reaches fewer than that many of them fails at once, nothing
    #: written; 0: none needed (the paper's). The effective quorum is max(R, PR)
    #: (max(W, PW)), Riak's rule: PR above R is allowed
    pr: int = 0
    pw: int = 0
    # [features], continued (session 49; spec.replica.served)
    #: a node answers a ``replica-get`` with its copy of the key merged with the
    #: hints it keeps of the key (for any intended node), so a fallback whose
    #: acknowledgement counted towards a put's W serves that put to a get's R (Riak's
    #: fallback vnodes serve what they took; the implementation's
    #: ``ClusterConfig.hinted_reads``, its default); False: its copy only, the
    #: hints kept apart (paper 4.6's "separate local database"), the spec's rule
    #: before session 49 and its default
    hinted_reads: bool = False
    # [faults], continued (session 51; spec.faults, spec.requests)
    #: budget: how many writes a node's disk refuses in one run (ENOSPC, EIO): a
    #: replica's or a fallback's write of a ``replica-put`` (it answers the coordinator
    #: ``replica-put-failed``: riak_kv's vnode ``{error, ...}`` reply) or a put's
    #: coordinator's own write (its copy is one failed replica); 0: none, and no
    #: state of an earlier configuration changes
    write_failures: int = 0
    # [features], continued (session 51)
    #: the broken twin of ``write_failures``: a refused write is acknowledged as if it
    #: was stored (the replica answers ``replica-put-ack``, the coordinator counts its
    #: own copy); False: a refusal is one failed replica (riak_kv's put FSM counts only
    #: ``{w, ...}`` replies towards W; the implementation's ``ReplicaPutFailed``)
    failed_write_acks: bool = False
    #: a coordinator whose own write was refused keeps the put's record in memory and
    #: merges it into its copy before its next mint of the key (the implementation's
    #: ``PutCoordinator.unpersisted``, session 50); False: it keeps none and mints the
    #: refused put's dot again (the implementation before that fix: kv679 through a
    #: full disk)
    failed_write_kept: bool = True
    # [features], continued (session 55; spec.rebuild)
    #: a node whose disk was lost (``faults.disk_losses``) is *rebuilding* once it
    #: recovers, with anti-entropy on: until an exchange with every other replica of a
    #: key it replicates it is silent to reads of that key and acknowledges no write or
    #: hint of it, and until its ``Rebuilt`` step its acknowledgements, its own writes
    #: and its own reads do not count towards W and R (the implementation's
    #: ``impl.rebuild``, ``Node._acks_uncounted``: sessions 16-54; the default since
    #: session 60, as the implementation always rebuilds); False (the spec's rule before
    #: session 55, the suite's broken twin disk-loss-read): its empty copies count at once
    rebuild: bool = True
    # [workload], continued (session 60; spec.coordination._acknowledge)
    #: a put's acknowledgement answers the context of the version it wrote (the
    #: implementation's ``PutResult.context``, the HTTP PUT's answered context,
    #: Riak's ``return_body``), and the client's next write of the key carries it, as
    #: a later get's context would; False: a write carries its last get's context
    #: alone (the spec's clients before session 60)
    chain_puts: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError(f"name must be a non-empty string, got {self.name!r}")
        object.__setattr__(self, "nodes", _names("nodes", self.nodes))
        object.__setattr__(self, "keys", _names("keys", self.keys))
        object.__setattr__(self, "joining", _joining(self.joining, self.nodes))
        for key in ("n", "r", "w"):
            _int(key, getattr(self, key), 1)
        for key in ("sloppy_quorum", "hinted_handoff", "read_repair", "read_repair_fallbacks",
                    "anti_entropy", "actor_epochs", "read_modify_write", "actor_per_start",
                    "forgetful_clients", "hinted_reads", "failed_write_acks",
                    "failed_write_kept", "rebuild", "chain_puts"):
            _bool(key, getattr(self, key))
        for key in ("drops", "duplicates", "crashes", "partitions", "disk_losses",
                    "puts_per_client", "gets_per_client", "vclock_threshold",
                    "deletes_per_client", "joins", "leaves", "restores", "removes",
                    "write_failures"):
            _int(key, getattr(self, key), 0)
        _int("clients", self.clients, 1)
        _int("prune_retired", self.prune_retired, -1)
        _choice("prune_knowledge", self.prune_knowledge, PRUNE_KNOWLEDGE)
        _choice("clock", self.clock, CLOCK_MODES)
        _choice("coordinator", self.coordinator, COORDINATOR_CHOICES)
        _choice("storage", self.storage, STORAGE_MODES)
        _choice("lww_timestamps", self.lww_timestamps, LWW_TIMESTAMPS)
        _choice("delete_mode", self.delete_mode, DELETE_MODES)
        _choice("join_handover", self.join_handover, JOIN_HANDOVERS)
        _choice("restore_actor", self.restore_actor, RESTORE_ACTORS)
        _choice("client_vclock_entry", self.client_vclock_entry, CLIENT_VCLOCK_ENTRIES)
        if self.actor_per_start and not self.actor_epochs:
            raise ConfigError(
                "[features] actor_per_start = true needs [features] actor_epochs = true "
                "(without epochs every actor is the bare name)"
            )
        if self.actor_per_start and self.restore_actor == "kept":
            raise ConfigError(
                '[features] restore_actor = "kept" contradicts [features] actor_per_start '
                '= true (a restored node starts again, and every start takes a new actor)'
            )
        if self.restore_actor == "kept" and self.storage == "buffered" and self.actor_epochs:
            raise ConfigError(
                '[features] restore_actor = "kept" contradicts [features] storage = '
                '"buffered" with actor_epochs (every crash of a buffered node begins a new '
                'lifetime, and a restore crashes it: the implementation gives every start '
                'of a buffered engine a new actor)'
            )
        if self.restores and self.restore_actor == "new" and not self.actor_epochs:
            raise ConfigError(
                '[features] restore_actor = "new" needs [features] actor_epochs = true '
                '(without epochs every actor is the bare name): set actor_epochs = true '
                'or restore_actor = "kept"'
            )
        if self.chain_puts and self.forgetful_clients:
            raise ConfigError(
                "[workload] chain_puts = true contradicts [workload] forgetful_clients = "
                "true (a forgetful client restarts as its put is acknowledged and forgets "
                "the context the acknowledgement answered)"
            )
        _check_pruning(self)
        object.__setattr__(self, "skew", _skew(self.skew, self.nodes))
        if self.n > len(self.nodes):
            raise ConfigError(
                f"[cluster] n = {self.n} exceeds the number of nodes ({len(self.nodes)})"
            )
        if self.r > self.n:
            raise ConfigError(f"[cluster] r = {self.r} exceeds n = {self.n}")
        if self.w > self.n:
            raise ConfigError(f"[cluster] w = {self.w} exceeds n = {self.n}")
        for key in ("pr", "pw"):
            _int(key, getattr(self, key), 0)
            if getattr(self, key) > self.n:  # riak_kv: {n_val_violation, N}
                raise ConfigError(f"[cluster] {key} = {getattr(self, key)} exceeds "
                                  f"n = {self.n}")
        _check_membership(self)
        clients = {f"c{i + 1}" for i in range(self.clients)}
        clash = sorted(clients & set(self.all_nodes))
        if clash:
            raise ConfigError(
                f"[cluster] nodes: {clash[0]!r} is also a client's name (clients are c1, c2, ...)"
            )

    # -- derived -------------------------------------------------------------------

    @property
    def client_names(self) -> tuple[str, ...]:
        """The clients: ``c1 .. c<clients>``."""
        return _client_names(self.clients)

    @property
    def all_nodes(self) -> tuple[str, ...]:
        """Every node of a run: the initial ring's ``nodes``, then the ``joining`` ones
        (the spec's state holds one :class:`~spec.state.NodeState` per node here)."""
        return self.nodes + self.joining if self.joining else self.nodes

    @property
    def membership(self) -> bool:
        """Whether a run may change the ring (a join, a leave or a force-remove budget)."""
        return bool(self.joins or self.leaves or self.removes)

    @property
    def writes_per_client(self) -> int:
        """A client's puts and deletes: the size of its block of put ids."""
        return self.puts_per_client + self.deletes_per_client

    @property
    def ring(self) -> Ring:
        """The spec's small ring: one token per node, evenly spaced, in ring order
        (with ``joining`` nodes: every node of :attr:`all_nodes` has its token, and
        the ring of a set of members is this one restricted to them)."""
        return _ring(self.all_nodes)

    def wall_offset(self, node: str) -> int:
        """``node``'s wall-clock offset from true time, in ticks (``[cluster] skew``)."""
        for name, offset in self.skew:
            if name == node:
                return offset
        return 0

    def preference_list(self, key: str) -> tuple[str, ...]:
        """Every node of the initial ring, clockwise from the key's position (the top
        N first)."""
        if self.joining:
            return tuple(n for n in _preference_list(self.all_nodes, key) if n in self.nodes)
        return _preference_list(self.nodes, key)

    def top_n(self, key: str) -> tuple[str, ...]:
        """The key's N highest-ranked nodes: its replicas."""
        return self.preference_list(key)[: self.n]

    # -- serialization ---------------------------------------------------------------

    def to_sections(self) -> dict[str, Any]:
        """The TOML layout as a dict: ``name`` plus one dict per section."""
        out: dict[str, Any] = {"name": self.name}
        for section, keys in SECTIONS.items():
            out[section] = {
                key: list(v) if isinstance(v := getattr(self, key), tuple) else v for key in keys
            }
        out["cluster"]["skew"] = dict(self.skew)
        for key in ("pr", "pw"):  # session 39's keys: an old configuration's JSON and
            if not getattr(self, key):  # TOML stay as they were
                del out["cluster"][key]
        if not (self.joining or self.joins or self.leaves or self.removes):
            del out["membership"]  # an old configuration's JSON and TOML stay as they were
        elif not self.removes:
            del out["membership"]["removes"]  # likewise
        if not self.restores and self.restore_actor == "new":
            del out["faults"]["restores"]  # likewise
            del out["features"]["restore_actor"]
        if not self.actor_per_start:
            del out["features"]["actor_per_start"]
        if self.client_vclock_entry == "pair":  # session 23's keys: likewise
            del out["features"]["client_vclock_entry"]
        if not self.forgetful_clients:
            del out["workload"]["forgetful_clients"]
        if not self.chain_puts:  # session 60's key: likewise
            del out["workload"]["chain_puts"]
        if self.prune_retired < 0 and self.prune_knowledge == "all":  # session 33's keys
            del out["features"]["prune_retired"]
            del out["features"]["prune_knowledge"]
        if not self.hinted_reads:  # session 49's key: likewise
            del out["features"]["hinted_reads"]
        if not self.write_failures:  # session 51's keys: likewise
            del out["faults"]["write_failures"]
        if not self.failed_write_acks:
            del out["features"]["failed_write_acks"]
        if self.rebuild:  # session 55's key (true by default since session 60): likewise
            del out["features"]["rebuild"]
        if self.failed_write_kept:
            del out["features"]["failed_write_kept"]
        return out

    def to_json(self) -> dict[str, Any]:
        """JSON-able form (the TOML layout), read back by :meth:`from_json`."""
        return self.to_sections()

    @classmethod
    def from_json(cls, data: object) -> Config:
        """The inverse of :meth:`to_json` (same checks as TOML)."""
        return cls.from_mapping(data)

    @classmethod
    def from_mapping(cls, data: object) -> Config:
        """From the TOML layout as nested mappings (unknown sections/keys refused)."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"a configuration is a table of sections, got {data!r}")
        kwargs: dict[str, Any] = {}
        for section, body in data.items():
            if section == "name":
                kwargs["name"] = body
                continue
            if section not in SECTIONS:
                # `foo = 1` at the top level is a key, not a section (session 30)
                home = [f"[{name}]" for name, keys in SECTIONS.items() if section in keys]
                what = f"section [{section}]" if isinstance(body, Mapping) else (
                    f"top-level key {section!r} ("
                    + (f"it belongs in {' or '.join(home)}" if home else
                       "a key belongs in its section") + ")")
                raise ConfigError(
                    f"unknown {what} (known: name, "
                    f"{', '.join(f'[{s}]' for s in SECTIONS)})"
                )
            if not isinstance(body, Mapping):
                raise ConfigError(f"[{section}] must be a table, got {body!r}")
            for key, value in body.items():
                if key not in SECTIONS[section]:
                    raise ConfigError(
                        f"unknown key {key!r} in [{section}] "
                        f"(known: {', '.join(SECTIONS[section])})"
                    )
                kwargs[key] = tuple(value) if isinstance(value, list) and key != "skew" else value
        return cls(**kwargs)

    @classmethod
    def from_toml(cls, text: str) -> Config:
        """Parse and validate a TOML document."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"not valid TOML: {error}") from None
        return cls.from_mapping(data)

    def to_toml(self) -> str:
        """The configuration as a TOML document (read back by :meth:`from_toml`)."""
        lines = [f"name = {json.dumps(self.name)}"]
        for section, body in self.to_sections().items():
            if section == "name":
                continue
            lines.append(f"\n[{section}]")
            for key, value in body.items():
                if isinstance(value, bool):
                    text = "true" if value else "false"
                elif isinstance(value, dict):
                    text = "{" + ", ".join(f"{json.dumps(k)} = {v}" for k, v in value.items()) + "}"
                else:
                    text = json.dumps(value)
                lines.append(f"{key} = {text}")
        return "\n".join(lines) + "\n"

    def inert_settings(self) -> tuple[str, ...]:
        """A sentence for each key set to a value that changes nothing under this
        configuration's clock (valid, so not refused: the spec's tests set them; a user
        who set one expected an effect; session 30). ``vclock_threshold`` truncates only
        the two vector-clock modes (paper 4.4), ``lww_timestamps`` and ``skew`` time
        only lww's stamps, ``client_vclock_entry`` is client-vclock's rule
        (``spec/coordination.py``, ``spec/clocks.py``); and ``hinted_reads`` serves
        hints, which only a sloppy quorum's fallbacks keep (``spec/replica.py``)."""
        notes = []
        if self.vclock_threshold and self.clock not in ("server-vclock", "client-vclock"):
            notes.append(f"[features] vclock_threshold = {self.vclock_threshold} has no "
                         f"effect with clock = {self.clock!r} (it truncates server-vclock "
                         f"and client-vclock clocks)")
        if self.lww_timestamps != "hybrid" and self.clock != "lww":
            notes.append(f"[features] lww_timestamps = {self.lww_timestamps!r} has no effect "
                         f"with clock = {self.clock!r} (it stamps lww's versions)")
        if self.skew and self.clock != "lww":
            notes.append(f"[cluster] skew has no effect with clock = {self.clock!r} (only "
                         f"lww's stamps read the wall clock)")
        if self.client_vclock_entry != "pair" and self.clock != "client-vclock":
            notes.append(f"[features] client_vclock_entry = {self.client_vclock_entry!r} "
                         f"has no effect with clock = {self.clock!r} (it is client-vclock's "
                         f"rule)")
        if self.hinted_reads and not self.sloppy_quorum:
            notes.append("[features] hinted_reads = true has no effect with sloppy_quorum = "
                         "false (no node keeps a hint to serve)")
        if not self.rebuild and not (self.disk_losses and self.anti_entropy and not (
                self.joins or self.leaves or self.removes)):
            notes.append("[features] rebuild = false has no effect without disk losses, with "
                         "anti_entropy = false (the implementation rebuilds nothing then) or "
                         "with [membership] budgets (spec/rebuild.py)")
        for key in ("failed_write_acks", "failed_write_kept"):
            if getattr(self, key) != (key == "failed_write_kept") and not self.write_failures:
                notes.append(f"[features] {key} = {str(getattr(self, key)).lower()} has no "
                             f"effect with [faults] write_failures = 0 (no write is refused)")
        return tuple(notes)

    def replace(self, **changes: Any) -> Config:
        """A copy with some fields changed (validated again)."""
        return Config(**replace_fields(self, changes, "Config"))


@lru_cache(maxsize=64)
def _client_names(count: int) -> tuple[str, ...]:
    return tuple(f"c{i + 1}" for i in range(count))


@lru_cache(maxsize=64)
def _ring(nodes: tuple[str, ...]) -> Ring:
    return Ring.evenly_spaced(nodes)


@lru_cache(maxsize=256)
def _preference_list(nodes: tuple[str, ...], key: str) -> tuple[str, ...]:
    return tuple(_ring(nodes).preference_list(key))


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML configuration file.

    Raises :class:`ConfigError` naming the file when it cannot be read (missing, a
    directory), is not UTF-8 text, is not TOML, or is not a valid configuration.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read configuration {str(path)!r}: {error}") from None
    except UnicodeDecodeError as error:  # a binary or Latin-1 file (session 30's probe)
        raise ConfigError(f"configuration {str(path)!r} is not UTF-8 text (TOML is UTF-8): "
                          f"byte {error.object[error.start]:#04x} at offset {error.start}"
                          ) from None
    return Config.from_toml(text)


def default_config() -> Config:
    """The default configuration (``spec/default.toml``)."""
    return load_config(DEFAULT_TOML)
