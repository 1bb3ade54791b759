"""The abstraction function of the edge agreement (:mod:`model_check.proofs.agreement`):
spec configurations, states and actions onto the Z3 encoding
(:mod:`model_check.proofs.abstraction`, :mod:`model_check.proofs.transition`).

Theory of operation
-------------------
:func:`abstract_state` is the abstraction function: a spec state onto the
variables of the encoding (one key; hint payloads numbered per edge, in the spec's
canonical payload order, by :func:`hint_payloads`); for a configuration of several
keys, the projection onto one of them (session 32), with
:func:`projected_families` for the steps that may stand for another key's action.
:func:`shape_of` gives a configuration's bounds, :func:`faithful` whether its
clocks allow the causal store rule, and :func:`families` which steps of the
encoding may stand for a spec action.

Moved from :mod:`model_check.proofs.agreement` (which walks the graph), with
:mod:`model_check.proofs.edges` (the per-edge checks that use this mapping).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from model_check.errors import ProofInputError
from model_check.proofs.abstraction import Shape
from model_check.proofs.membership import abstract_ring, change_of

__all__ = [
    "PAYLOADS",
    "AbstractParts",
    "abstract_parts",
    "abstract_state",
    "action_key",
    "covered_puts",
    "faithful",
    "families",
    "hint_payloads",
    "kept_records",
    "key_epoch_of",
    "lossy_configurations",
    "payload_coverage",
    "projected_families",
    "put_dots",
    "put_histories",
    "rebuilds",
    "shape_of",
    "with_hints",
]

#: Distinct hint payloads the encoding numbers per edge (edges with more are
#: counted as outside the bounds).
PAYLOADS = 2


def faithful(config: Any) -> bool:
    """Are the configuration's clocks faithful to true histories (a dominating clock's
    version has the dominated one's history: the hypothesis of
    ``merge_keeps_every_history``)? Not for lww and server-vclock (the coordinator's
    clock or timestamp ignores what the client read), dvv's naive actor after a
    disk loss or a buffered crash, or the actor a restored disk kept (re-issued
    dots), or client clocks when a client may write twice without reading (a blind
    rewrite), or a coordinator that forgets its refused write (``failed_write_kept =
    false``, session 52: it mints the dot again), or dvv with the ``"naive"`` pruning
    twin (``prune_knowledge``, session 33: its node prunes its own live entry and
    re-issues its dots; session 34: with ``"all"`` or ``"own"`` a pruned clock no
    longer covers every version its history
    holds, so a merge keeps a superseded one -- a false sibling, a deleted value back
    -- but never drops one: the coverage of a merge is the union, checked on every
    edge of the pruning entries; docs/proofs.md, "Retired pruning in the Z3
    encoding")."""
    if config.clock in ("lww", "server-vclock"):
        return False
    if getattr(config, "write_failures", 0) and not getattr(config, "failed_write_kept",
                                                             True):
        return False  # session 52: the twin's coordinator mints a refused put's dot again
    if config.clock == "dvv":
        if getattr(config, "prune_retired", -1) >= 0:
            return str(getattr(config, "prune_knowledge", "all")) != "naive"
        amnesia = config.disk_losses > 0 or config.storage == "buffered"
        if getattr(config, "restores", 0) and getattr(config, "restore_actor", "new") == "kept":
            return False  # a restored disk's kept actor re-issues dots
        return bool(config.actor_epochs) or not amnesia
    blind = config.puts_per_client > 1 and config.gets_per_client == 0
    return not blind


def lossy_configurations() -> frozenset[str]:
    """The suite entries whose clocks are not :func:`faithful`."""
    from model_check.suite import DEFAULT_SUITE

    return frozenset(e.name for e in DEFAULT_SUITE if not faithful(e.config))


def shape_of(config: Any, payloads: int = PAYLOADS, key: str | None = None) -> Shape:
    """The encoding's bounds for a spec configuration, or for its projection onto
    ``key`` (session 32: a configuration of several keys is abstracted one key at a
    time, :func:`abstract_state`). Raises ProofInputError for several keys without
    ``key``, a key the configuration does not have, or several keys with a
    membership change (the ring's abstraction is of one key)."""
    from spec.step import plan_of

    several = len(config.keys) > 1
    if key is None:
        if several:
            raise ProofInputError("the encoding covers one key: name the key to project onto")
        key = config.keys[0]
    elif key not in config.keys:
        raise ProofInputError(f"the configuration has no key {key!r}")
    if several and config.membership:
        raise ProofInputError("the projection onto one key covers a fixed ring")
    plan = plan_of(config)
    nodes = tuple(config.all_nodes)  # with joining nodes (spec.config)
    return Shape(
        nodes=nodes,
        puts=plan.total_puts,
        payloads=payloads,
        top=tuple(plan.index[n] for n in plan.top[key]),
        change=change_of(config, nodes),
        anti_entropy=bool(config.anti_entropy),
        handoff=bool(config.hinted_handoff),
        buffered=config.storage == "buffered",
        reaping=bool(plan.tombstones) and config.delete_mode != "keep",
        partitions=config.partitions > 0,
        deletes=bool(plan.tombstones),
        reap_mode=config.delete_mode,
        restores=bool(getattr(config, "restores", 0)),
        other_keys=several,
        prune=_prune_of(config),
        keep=max(0, getattr(config, "prune_retired", -1)),
        per_start=bool(getattr(config, "actor_per_start", False)),
        hinted_reads=bool(getattr(config, "hinted_reads", False)),
        write_failures=bool(getattr(config, "write_failures", 0)),
        rebuild=rebuilds(config),
        other_pairs=_other_pairs(plan, key) if several and rebuilds(config) else (),
    )


def _other_pairs(plan: Any, key: str) -> tuple[tuple[int, int], ...]:
    """``Shape.other_pairs`` (session 61): the index pairs ``(a, b)``, ``a < b``, of
    distinct nodes of the top N of a key other than ``key``."""
    pairs = {tuple(sorted((plan.index[a], plan.index[b])))
             for other in plan.keys if other != key
             for a in plan.top[other] for b in plan.top[other] if a != b}
    return tuple(sorted((a, b) for a, b in pairs))


def rebuilds(config: Any) -> bool:
    """Does the configuration rebuild a lost disk (session 57; spec.rebuild.rebuilds:
    ``features.rebuild`` and anti-entropy on a fixed ring), with a disk to lose?"""
    return bool(getattr(config, "rebuild", False) and config.anti_entropy
                and config.disk_losses and not config.membership)


def _prune_of(config: Any) -> str:
    """``Shape.prune`` of a configuration: its ``prune_knowledge`` with pruning on
    (``prune_retired`` >= 0; any keep since session 35, ``Shape.keep``), "" without.
    Raises ProofInputError for what the encoding of pruning does not state: with
    several keys, a membership change or restores."""
    keep = getattr(config, "prune_retired", -1)
    if keep < 0:
        return ""
    if len(config.keys) > 1 or config.membership or getattr(config, "restores", 0):
        raise ProofInputError("the encoding states pruning for one key on a fixed ring, "
                              "without restores")
    return str(config.prune_knowledge)


# -- the abstraction function: spec state -> abstract state ----------------------------------


def covered_puts(state: Any, payload: Any) -> set[int]:
    """The put ids ``payload`` (a stored copy, a reply) has seen, as the encoding's
    ``store`` row reads them (below); used by the get's answer
    (:mod:`model_check.proofs.get_answer`) for a reply's payload."""
    return _coverage(state, payload)


def _coverer(state: Any, key: str | None) -> Callable[[Any], frozenset[int]]:
    """:func:`_coverage` of ``state``'s payloads under ``key``, kept per payload object
    for one abstraction (session 45: a state holds the same payload object in several
    stores, records and messages, each read again; the objects live as long as the
    state, so their ids stay theirs). The sets are shared: not to be changed."""
    kept: dict[int, frozenset[int]] = {}

    def cover(payload: Any) -> frozenset[int]:
        found = kept.get(id(payload))
        if found is None:
            found = kept[id(payload)] = frozenset(_coverage(state, payload, key))
        return found

    return cover


def _coverage(state: Any, payload: Any, key: str | None = None) -> set[int]:
    """The put ids ``payload`` has seen: the true histories of its values, and in
    dvv those of the performed deletes whose dot its clock covers though it holds
    no longer their tombstone (a later delete concurrent with them dropped it:
    spec.dvv.drop_superseded, session 26; the clock keeps the dot seen, so a merge
    discards the tombstone wherever it meets it, as it does a value some held
    version's history covers). ``key``: the payload is of that key, and so are the
    deletes it may have seen (None: the configuration's one key)."""
    from spec import clocks, dvv

    out: set[int] = set()
    held = clocks.values(payload)
    for value in held:
        record = state.puts[value - 1]
        if record is not None:
            out |= record.history
    if isinstance(payload, dvv.DVVSet) and state.config.deletes_per_client:
        from spec.step import tombstone_ids

        seen = dict(dvv.join(payload))
        for t in tombstone_ids(state.config):
            record = state.puts[t - 1]
            if (record is not None and t not in held and record.dot[1] > 0
                    and (key is None or record.key == key)
                    and seen.get(record.dot[0], 0) >= record.dot[1]):
                out |= record.history
    return out


def _names(shape: Shape) -> tuple[Any, ...]:
    """:func:`_names_of` of ``shape``, kept by the shape object (a shape's hash walks
    every field: looked up by identity, the shape kept alive with its entry so the
    id is not reused)."""
    found = _NAMES.get(id(shape))
    if found is None or found[0] is not shape:
        if len(_NAMES) >= 256:
            _NAMES.clear()
        found = _NAMES[id(shape)] = (shape, _names_of(shape))
    return found[1]


_NAMES: dict[int, tuple[Shape, tuple[Any, ...]]] = {}


@lru_cache(maxsize=64)
def _names_of(shape: Shape) -> tuple[Any, ...]:
    """The variable names :func:`abstract_state` fills, per node and put, in its order,
    and the hint variables' defaults (pure speed, session 20: the names were formatted
    again for every state, a third of :func:`abstract_state`)."""
    nodes = shape.nodes
    puts = range(1, shape.puts + 1)
    per_node = tuple((f"up[{n}]", f"side[{n}]", tuple(f"store[{n}][{p}]" for p in puts))
                     for n in nodes)
    rows = tuple(tuple((p, f"wmsg[{n}][{p}]", f"rmsg[{n}][{p}]", f"held[{n}][{p}]",
                        f"live[{n}][{p}]") for p in puts) for n in nodes)
    per_put = tuple((p, f"performed[{p}]", f"acked[{p}]", f"alive[{p}]", f"elsewhere[{p}]")
                    for p in puts)
    hints: dict[str, Any] = {}
    for h in nodes:
        for i in nodes:
            if h == i:
                continue
            for u in range(shape.payloads):
                key = _label(h, i, u)
                hints[f"hint[{key}]"] = False
                hints[f"hmsg[{key}]"] = 0
                hints[f"hack[{key}]"] = 0
                hints[f"rec_acked[{key}]"] = False
                hints[f"rec_deleted[{key}]"] = False
    return per_node, rows, per_put, hints


def _label(h: str, i: str, u: int) -> str:
    return f"{h}->{i}#{u}"


AbstractParts = tuple[dict[str, Any], tuple[tuple[str, str, str, Any], ...]]
"""A spec state's abstraction before its hint payloads are numbered
(:func:`abstract_parts`): the variables, the hint variables at their defaults, and
the hint variables to set, ``(variable, fallback, intended node, payload)`` each."""


def abstract_state(state: Any, shape: Shape, payload_ids: dict[Any, int],
                   key: str | None = None) -> dict[str, Any]:
    """:func:`abstract_parts` of ``state`` with its hint payloads numbered by
    ``payload_ids`` (:func:`with_hints`)."""
    return with_hints(abstract_parts(state, shape, key), payload_ids)


def abstract_parts(state: Any, shape: Shape, key: str | None = None) -> AbstractParts:
    """The abstract state of a spec state, as ``{variable name: value}``; with
    ``key`` (a shape with ``other_keys``), the *projection* of the state onto that
    key (session 32): its copies in the stores, its messages, coordination records,
    hints and ghost hint records, its puts (``performed``, ``acked``; a put
    performed on another key is ``elsewhere``), and what the keys share (which
    nodes are up, the partition, the fault budgets spent).

    The hint variables are named after the numbers of their payloads (shared by a
    pre- and a post-state; :func:`hint_payloads`): they are left at their defaults
    here, with the list of those to set (:func:`with_hints`; session 43: a state
    is abstracted once per walk, not once per numbering of an edge). Raises ProofInputError (a
    ValueError) for a state of another shape, or without the key a projection
    needs.
    """
    from spec.state import Kind

    nodes = shape.nodes
    if tuple(state.config.all_nodes) != nodes:
        raise ProofInputError("the abstraction covers the shape's nodes")
    keys = state.config.keys
    if shape.other_keys != (len(keys) > 1) or (shape.other_keys and key not in keys):
        raise ProofInputError("the abstraction covers one key: the projection onto a key "
                              "of the configuration, with a shape of other keys")
    only = key if shape.other_keys else None  # None: one key, nothing to filter
    slot = 0 if only is None else keys.index(only)
    index = {n: j for j, n in enumerate(nodes)}
    per_node, rows, per_put, hint_defaults = _names(shape)
    out: dict[str, Any] = {}
    from spec import clocks

    coverage = _coverer(state, only)
    deletes = shape.deletes  # ``alive`` kept (``live`` with pruning too: tracks_live)
    live: list[set[int]] = [set() for _ in nodes]
    alive: set[int] = set()
    wmsg: list[set[int]] = [set() for _ in nodes]
    rmsg: list[set[int]] = [set() for _ in nodes]
    held: list[set[int]] = [set() for _ in nodes]
    for n, node, (up_name, side_name, store_names) in zip(nodes, state.nodes, per_node,
                                                          strict=True):
        out[up_name] = node.up
        out[side_name] = n in state.side
        covered = coverage(node.store[slot])
        for p, name in enumerate(store_names, start=1):
            out[name] = p in covered
        for coord in node.coord:
            if only is not None and not _belongs(coord.key, only):
                continue
            if coord.payload is not None:
                held[index[n]] |= coverage(coord.payload)
                if deletes:
                    alive.update(clocks.values(coord.payload))
            for _, payload in coord.replies:
                held[index[n]] |= coverage(payload)
                if deletes:
                    alive.update(clocks.values(payload))
        if shape.tracks_live:
            live[index[n]].update(clocks.values(node.store[slot]))
        if deletes:  # (session 57: back in the node's loop, where session 52 took it from)
            for hint in node.hints:
                if only is None or _belongs(hint.key, only):
                    alive.update(clocks.values(hint.payload))
    for n, of_key, payload in kept_records(state):  # session 52: in memory, as a record
        if only is None or _belongs(of_key, only):
            held[index[n]] |= coverage(payload)
    messages = (state.messages if only is None
                else tuple(m for m in state.messages if _belongs(m.key, only)))
    for m in messages:
        if m.payload is None:
            continue
        if deletes:
            alive.update(clocks.values(m.payload))
        if m.kind is Kind.REPLICA_PUT or m.kind is Kind.READ_REPAIR:
            wmsg[index[m.dst]] |= coverage(m.payload)
        elif m.kind is Kind.REPLICA_GET_REPLY:
            rmsg[index[m.dst]] |= coverage(m.payload)
    for j, row in enumerate(rows):
        wj, rj, hj, lj = wmsg[j], rmsg[j], held[j], live[j]
        for p, w_name, r_name, h_name, l_name in row:
            out[w_name] = p in wj
            out[r_name] = p in rj
            out[h_name] = p in hj
            out[l_name] = p in lj
    acked = {p for client in state.clients for p in client.acked}
    for p, performed_name, acked_name, alive_name, elsewhere_name in per_put:
        record = state.puts[p - 1]
        if only is None:
            out[performed_name] = record is not None
            out[acked_name] = p in acked
        else:
            mine = record is not None and _belongs(record.key, only)
            out[performed_name] = mine
            out[acked_name] = mine and p in acked
            out[elsewhere_name] = record is not None and not mine
        out[alive_name] = p in alive
    out.update(hint_defaults)
    hints: list[tuple[str, str, str, Any]] = []
    for fallback, node in zip(nodes, state.nodes, strict=True):
        hints.extend(("hint", fallback, hint.intended, hint.payload) for hint in node.hints
                     if only is None or _belongs(hint.key, only))
    for m in messages:
        if m.kind is Kind.HINT_DELIVERY:
            hints.append(("hmsg", m.src, m.dst, m.payload))
        elif m.kind is Kind.HINT_ACK:
            hints.append(("hack", m.dst, m.src, m.payload))
    for fallback, intended, of_key, payload in state.hints_acked:
        if only is None or _belongs(of_key, only):
            hints.append(("rec_acked", fallback, intended, payload))
    for fallback, intended, of_key, payload in state.hints_deleted:
        if only is None or _belongs(of_key, only):
            hints.append(("rec_deleted", fallback, intended, payload))
    out["drops"], out["duplicates"], out["crashes"] = state.used[:3]
    out["losses"] = state.used[4]
    if shape.restores:
        out["restores"] = state.backups.restored if state.backups is not None else 0
    if shape.change is not None:
        out.update(abstract_ring(state, nodes, shape.puts, lambda p: _coverage(state, p)))
    if shape.prune:
        _abstract_pruning(state, shape, slot, out)
    if shape.rebuild:
        _abstract_rebuild(state, shape, keys[slot], out)
    return out, tuple(hints)


def _abstract_rebuild(state: Any, shape: Shape, key: str, out: dict[str, Any]) -> None:
    """``mark[n]`` and ``todo[n][m]`` (session 57) from ``State.rebuilding``: node
    ``n``'s mark ``(n, "", "")`` and its exchange of ``key`` with ``m`` still to do
    ``(n, key, m)`` (spec/rebuild.py)."""
    rebuilding = state.rebuilding
    nodes = shape.nodes
    for name in nodes:
        out[f"mark[{name}]"] = (name, "", "") in rebuilding
    for n, m in shape.exchanges:
        out[f"todo[{nodes[n]}][{nodes[m]}]"] = (nodes[n], key, nodes[m]) in rebuilding
    for n in shape.other_rebuilds:  # session 61: another key's exchange left
        out[f"others[{nodes[n]}]"] = any(e[0] == nodes[n] and e[1] not in ("", key)
                                         for e in rebuilding)



def kept_records(state: Any) -> Any:
    """The records ``(node, key, payload)`` the coordinators of ``state`` keep of their
    refused writes (``State.unpersisted``, session 52): abstracted into ``held``, as
    a coordination record's payload is (volatile: a crash loses both)."""
    return state.unpersisted


#: the hint variables counted (a message each), not set
_COUNTED = frozenset({"hmsg", "hack"})


def with_hints(parts: AbstractParts, payload_ids: dict[Any, int]) -> dict[str, Any]:
    """The abstract state of :func:`abstract_parts`'s ``parts`` under the payload
    numbering ``payload_ids``: a new dict (the parts are not changed). Raises
    KeyError for a hint payload ``payload_ids`` does not number."""
    base, hints = parts
    out = dict(base)
    for prefix, fallback, intended, payload in hints:
        name = f"{prefix}[{_label(fallback, intended, payload_ids[payload])}]"
        if prefix in _COUNTED:
            out[name] += 1
        else:
            out[name] = True
    return out


def _abstract_pruning(state: Any, shape: Shape, slot: int, out: dict[str, Any]) -> None:
    """``epoch[n]`` (``State.epochs``) and ``seen[n][p]`` (node ``n``'s stored clock
    covers put ``p``'s dot: the counter of its entry of the dot's actor is at least
    the dot's) of a configuration with pruning (session 34); with reaping (session
    37) ``kepoch[n]``, node ``n``'s key epoch of the key (``State.key_epochs``); with
    the learnt knowledge (session 36), ``knows[n][p]``: ``State.known`` holds ``(n,
    owner, lifetime)`` for the lifetime that minted put ``p``'s dot
    (:func:`spec.retired.lifetime_of`)."""
    from spec import dvv
    from spec.retired import lifetime_of

    dots = [(p, record.dot) for p, record in enumerate(state.puts, start=1)
            if record is not None and record.dot[1] > 0]
    for n, node, epoch in zip(shape.nodes, state.nodes, state.epochs, strict=True):
        out[f"epoch[{n}]"] = epoch
        copy = node.store[slot]
        counters = dict(dvv.join(copy)) if isinstance(copy, dvv.DVVSet) else {}
        for p in range(1, shape.puts + 1):
            out[f"seen[{n}][{p}]"] = False
        for p, (actor, counter) in dots:
            out[f"seen[{n}][{p}]"] = counters.get(actor, 0) >= counter
    if shape.key_epochs:  # session 37: the key epochs a reap begins
        from spec.state import key_epoch

        key = state.config.keys[slot]
        for n in shape.nodes:
            out[f"kepoch[{n}]"] = key_epoch(state.key_epochs, n, key)
    if shape.prune == "learnt":
        learnt = state.known
        lifetimes = [(p, lifetime_of(actor)) for p, (actor, _) in dots]
        for n in shape.nodes:
            for p in range(1, shape.puts + 1):
                out[f"knows[{n}][{p}]"] = False
            for p, (owner, epoch) in lifetimes:
                out[f"knows[{n}][{p}]"] = (n, owner, epoch) in learnt


def put_dots(states: Sequence[Any], shape: Shape) -> dict[str, Any]:
    """With pruning (session 34): ``minter[p]`` and ``mepoch[p]``, the lifetime that
    minted put ``p``'s dot (:func:`spec.retired.lifetime_of`; -1 for a put none of
    ``states`` performed), and ``same[p][q]``: the two puts' dots are equal (the
    ``"naive"`` twin re-issues dots) and ``entry[p][q]``: they are of one actor (one dvv
entry), from the last state that performed each; with reaping (session 37) ``mkey[p]``,
the key epoch of the actor that minted it (:func:`key_epoch_of`; -1 unperformed)."""
    from spec.retired import lifetime_of

    if not shape.prune:
        return {}
    index = {n: j for j, n in enumerate(shape.nodes)}
    dots: dict[int, tuple[str, int]] = {}
    for state in states:
        for p, record in enumerate(state.puts, start=1):
            if record is not None and record.dot[1] > 0:
                dots[p] = record.dot
    out: dict[str, Any] = {}
    for p in range(1, shape.puts + 1):
        dot = dots.get(p)
        node, epoch = lifetime_of(dot[0]) if dot is not None else ("", -1)
        out[f"minter[{p}]"] = index.get(node, -1)
        out[f"mepoch[{p}]"] = epoch
        if shape.key_epochs:  # session 37
            out[f"mkey[{p}]"] = key_epoch_of(dot[0]) if dot is not None else -1
        for q in range(1, shape.puts + 1):
            other = dots.get(q)
            out[f"same[{p}][{q}]"] = q != p and dot is not None and other == dot
            if q != p:
                out[f"entry[{p}][{q}]"] = (dot is not None and other is not None
                                           and other[0] == dot[0])
    return out


def key_epoch_of(entry: str) -> int:
    """The key epoch of the actor a spec DVVSet entry id was minted under (session 37):
    ``e`` of ``name~<lifetime>.<e>`` (spec.state.actor_id), through the actor of a pair
    ``"<actor> <client>"`` (:func:`spec.vclock.entry_actor`); 0 without one."""
    from spec.vclock import entry_actor

    actor = entry_actor(entry) or entry
    _, tilde, rest = actor.rpartition("~")
    epoch = rest.partition(".")[2] if tilde else ""
    return int(epoch) if epoch else 0


def _belongs(part_key: str, key: str) -> bool:
    """Is a part of the state about ``part_key`` (a coordination record, a message,
    a hint, a put) part of the projection onto ``key``? (One function, so that a
    test can break the projection: tests/model_check/test_proof_agreement.py.)"""
    return part_key == key


def hint_payloads(*states: Any, key: str | None = None) -> list[Any]:
    """Every payload a hint, handoff, acknowledgement or ghost hint record holds (of
    ``key`` only, for a projection onto it; None: of any key)."""
    from spec.clocks import payload_key
    from spec.state import Kind

    found: set[Any] = set()
    for state in states:
        for node in state.nodes:
            found.update(h.payload for h in node.hints if key is None or h.key == key)
        found.update(m.payload for m in state.messages
                     if m.kind in (Kind.HINT_DELIVERY, Kind.HINT_ACK)
                     and (key is None or m.key == key))
        found.update(r[3] for r in state.hints_acked | state.hints_deleted
                     if key is None or r[2] == key)
    return sorted(found, key=payload_key)


def payload_coverage(state: Any, payloads: Sequence[Any], shape: Shape,
                     key: str | None = None) -> dict[str, bool]:
    """``cov[#u][p]`` for the numbered payloads (unused numbers cover nothing);
    ``key``: the payloads are of that key (a projection onto it)."""
    out = {f"cov[#{u}][{p + 1}]": False for u in range(shape.payloads)
           for p in range(shape.puts)}
    for u, payload in enumerate(payloads):
        covered = _coverage(state, payload, key)
        for p in range(shape.puts):
            out[f"cov[#{u}][{p + 1}]"] = (p + 1) in covered
    return out


def put_histories(states: Sequence[Any], shape: Shape,
                  key: str | None = None) -> dict[str, bool]:
    """``hist[p][q]`` from the put table of the last state that performed put ``p``
    (an unperformed put's history is itself; so is, in a projection onto ``key``, the
    history of a put performed on another key)."""
    out: dict[str, bool] = {}
    for p in range(1, shape.puts + 1):
        history: frozenset[int] = frozenset({p})
        for state in states:
            record = state.puts[p - 1]
            if record is not None and (key is None or record.key == key):
                history = record.history | {p}
        for q in range(1, shape.puts + 1):
            out[f"hist[{p}][{q}]"] = q in history
    return out


# -- which steps of the encoding stand for a spec action -------------------------------------


_DELIVER_FAMILIES = {
    "forward": ("put", "get"),
    # session 52: a refusal reaches its coordinator (or a down node, lost)
    "replica-put-failed": ("replica-put-failed", "lost"),
    "replica-put": ("replica-put", "lost"),
    "read-repair": ("read-repair", "lost"),
    "replica-get": ("replica-get", "lost"),
    "replica-get-reply": ("replica-get-reply", "lost"),
    "replica-put-ack": ("replica-put-ack", "lost"),
    "hint-delivery": ("hint-deliver", "hint lost"),
    "hint-ack": ("hint-ack", "hint-ack lost"),
    "range-transfer": ("range-transfer", "range-transfer lost"),
}
#: messages the encoding counts (their drops and duplicates are exact steps)
_COUNTED_MESSAGES = {"hint-delivery": "hint", "hint-ack": "hint-ack",
                     "range-transfer": "transfer"}
_OWN_FAMILY = frozenset({
    "crash", "buffered-crash", "disk-loss", "recover", "anti-entropy", "handoff", "timeout",
    "client-timeout", "reap", "partition", "heal",
    "gossip", "join", "leave", "transfer", "handover", "settle",  # model_check.proofs.membership
    "force-remove",  # session 24
    "learn-retirement",  # session 36: model_check.proofs.learning
    "rebuilt",  # session 57: spec.rebuild.rebuilt_steps
})


def families(action: Any) -> tuple[str, ...] | None:
    """The families of encoding steps that may explain ``action`` (None: an action
    kind the encoding does not cover)."""
    kind = getattr(action, "kind", "")
    if kind in ("client-put", "client-delete"):
        return ("put",)
    if kind == "client-get":
        return ("get",)
    if kind == "deliver":
        return _DELIVER_FAMILIES.get(str(action.message.kind.value))
    if kind in ("drop", "duplicate"):
        hint = _COUNTED_MESSAGES.get(str(action.message.kind.value))
        return (f"{kind} {hint}",) if hint else (kind,)
    if kind in _OWN_FAMILY:
        return (kind,)
    if kind == "unheard":
        # session 61: a chaining client keeps its older context; the encoding keeps no
        # client context (a put's clock is any the encoding allows), so a stutter
        # (unmapped, dvv-chain-fresh-pair's 66 unheard edges and 3,907 after one were
        # not encoded: tests/model_check/test_proof_agreement.py)
        return ()
    if kind == "backup":
        # a copy of a disk into a slot the encoding does not keep: a stutter, and
        # no family explains an edge whose abstraction changes
        return ()
    if kind == "restore":
        return ("restore",)  # inexact: the encoding keeps no backup (transition.py)
    if kind == "failed-put":  # session 52: the coordinator's own write refused
        return ("failed-put",)
    if kind == "failed-write":  # a replica's (fallback's) write, or a forward's coordinator's
        return ("failed-put",) if action.message.kind.value == "forward" else ("failed-write",)
    return None



#: Actions whose key is a field of theirs (the others: their message's, their
#: request's, or none: :func:`action_key`).
_KEYED = frozenset({"client-put", "client-get", "client-delete", "reap", "handoff",
                    "anti-entropy", "transfer", "failed-put"})
#: The families of another key's actions in a projection (:func:`projected_families`);
#: any other action of another key must leave the projection as it was.
_OTHER_KEY_FAMILIES = {
    "client-put": ("put elsewhere",),
    "client-delete": ("put elsewhere",),
    "drop": ("drop elsewhere",),
    "duplicate": ("duplicate elsewhere",),
    # session 61: with the rebuild, another key's exchange a rebuild waits for
    # (model_check.proofs.rebuild.exchanged_elsewhere); without, a stutter
    "anti-entropy": ("exchange elsewhere",),
}


def action_key(action: Any, pre: Any) -> str | None:
    """The key a spec action is about, from the action or its pre-state ``pre``
    (a message's key; a coordinator timeout's: its request's record); None for the
    actions of no one key (crash, recover, partition, heal, disk loss, backup,
    restore, a client's timeout, membership)."""
    from spec.step import find_coordination

    kind = getattr(action, "kind", "")
    if kind in _KEYED:
        return str(action.key)
    if kind in ("deliver", "drop", "duplicate", "failed-write"):
        return str(action.message.key)
    if kind == "timeout":
        record = find_coordination(pre.node(action.node), action.request)
        return None if record is None else str(record.key)
    return None


def projected_families(action: Any, pre: Any, key: str | None) -> tuple[str, ...] | None:
    """:func:`families` in the projection onto ``key`` (None: a configuration of one
    key, :func:`families` itself): an action of that key or of no key keeps its
    families; another key's is ``put elsewhere`` (a client's put or delete of it, and
    the delivered forward that starts one: its put id is spent), ``drop elsewhere``,
    ``duplicate elsewhere`` (the shared budgets), ``exchange elsewhere`` (its
    anti-entropy, which may end a rebuild's wait for it: session 61), and nothing
    else (it must leave the projection as it was: a stutter)."""
    if key is None:
        return families(action)
    of = action_key(action, pre)
    if of is None or of == key:
        return families(action)
    kind = str(getattr(action, "kind", ""))
    if kind == "deliver" and action.message.kind.value == "forward":
        from spec.step import plan_of

        is_put = action.message.request <= plan_of(pre.config).total_puts
        return ("put elsewhere",) if is_put else ()
    return _OTHER_KEY_FAMILIES.get(kind, ())
