"""The coordinator of a get or a put, and the sloppy quorum (paper sections 4.5-4.6).

Theory of operation
-------------------
A node of the key's top N that receives a client request (directly, or as a
forward, :mod:`spec.requests`) *coordinates* it (:func:`start`). It picks the
nodes to send to (:func:`choose_targets`): the first N *reachable* nodes of the
preference list. With a strict quorum those are the reachable members of the top
N; with a *sloppy quorum* an unreachable top-N member is replaced by the next
healthy node down the list, a *fallback*, whose copy carries a hint naming the
*intended* node (section 4.6).

* put: the coordinator writes the new version locally (its clock per the clock
  mode, :func:`spec.clocks.put`), sends it as a ``replica-put`` to each other
  chosen node, and acknowledges to the client once W nodes (itself included)
  acknowledged (:func:`settle_put`).
* get: the coordinator reads its own copy, sends ``replica-get`` to the others,
  and answers the client once R replies (its own included) arrived, with the
  reconciled versions and one context (:func:`settle_get`); read repair follows
  (:mod:`spec.read_repair`).

A request fails (the client's outstanding request ends without an answer) once
its quorum is out of reach: fewer acks (replies) plus awaited answers than W (R).

The primary quorums PW and PR (``[cluster] pw``, ``pr``; Riak KV's, session 39):
a put is acknowledged only once PW of its acks come from the key's top N
themselves, a get answered only once PR of its replies do (:func:`primaries`: a
fallback never counts; with a strict quorum every node asked is one). A request
whose coordinator reaches fewer of the top N than that is refused at once, before
the put writes anything (riak_kv_put_fsm's and riak_kv_get_fsm's ``validate``:
``pw_val_unsatisfied``, ``pr_val_unsatisfied``), and one whose primaries answered
plus awaited fall below it fails. Within a membership change's groups the quorum is
max(W, PW) (max(R, PR)): every member of a group is a primary.

A *timeout* (:func:`timeouts`: :func:`enabled_timeouts`, each performed by
:func:`time_out`; then :func:`client_timeouts`) gives up waiting on one awaited node. It is
enabled only when that node's answer cannot come: it is down or cut off, or no
message of the exchange is in flight (the spec's accurate failure detection, a
reduction: see docs/spec.md). With a sloppy quorum the coordinator then sends to
the next fallback not tried yet (with a hint naming the intended node); without
one, or with a strict quorum, the node is just given up. A *client timeout*
ends a request nobody works on any more (its coordinator crashed, or its
forward was lost).

Deliveries of ``replica-put-ack`` and ``replica-get-reply`` at the coordinator
are :func:`on_replica_put_ack` and :func:`on_replica_get_reply` (entries of the
table in :mod:`spec.delivery`).
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from spec import clocks
from spec.actions import Action, ClientTimeout, Timeout
from spec.clocks import Payload, PutRecord
from spec.membership import request_targets
from spec.read_repair import repair, repaired_nodes
from spec.rebuild import uncounted
from spec.replica import served
from spec.state import (
    Coordination,
    GetRecord,
    Kind,
    LastGet,
    Message,
    NodeState,
    State,
    new_client,
    new_coordination,
    new_hint,
    new_message,
    new_node,
)
from spec.step import Edit, Plan, find_coordination, with_client

__all__ = [
    "absorbed",
    "answered",
    "choose_targets",
    "client_timeouts",
    "enabled_timeouts",
    "exchanges",
    "fallback_targets",
    "on_replica_get_reply",
    "on_replica_put_ack",
    "on_replica_put_failed",
    "primaries",
    "settle_get",
    "settle_put",
    "start",
    "time_out",
    "timeouts",
    "timeouts_enabled",
]

# Actions are values: the successor path shares one object per distinct action
# rather than building a new one per transition.
_timeout_action = lru_cache(maxsize=4096)(Timeout)
_client_timeout = lru_cache(maxsize=4096)(ClientTimeout)


def choose_targets(edit: Edit, coordinator: str, key: str) -> tuple[tuple[str, str], ...]:
    """Whom ``coordinator`` sends a request for ``key`` to: ``(node, intended)``
    pairs, ``intended`` "" for a top-N node, else the top-N node a fallback stands
    in for (sloppy quorum, section 4.6). The coordinator itself is not listed."""
    plan = edit.plan
    top = plan.top[key]
    if not plan.config.sloppy_quorum:
        return tuple((n, "") for n in top if n != coordinator and edit.reachable(coordinator, n))
    healthy = [n for n in plan.pref[key] if n == coordinator or edit.reachable(coordinator, n)]
    chosen = healthy[: plan.config.n]
    skipped = [n for n in top if n not in chosen]
    out: list[tuple[str, str]] = []
    for n in chosen:
        if n == coordinator:
            continue
        out.append((n, "" if n in top else skipped.pop(0)))
    return tuple(out)


def start(edit: Edit, node: str, request: int, client: str, key: str,
          failed: bool = False, fallback: bool = False) -> None:
    """``node`` (in the key's top N) starts coordinating ``request`` of ``client``;
    ``failed`` (a put: ``faults.write_failures``): its disk refuses its own write of
    the new version, minted as ever: its copy stays as it was and is one failed
    replica (:func:`_own_write_failed`). ``fallback`` (a put, session 54:
    :class:`~spec.actions.ForwardFallback`): ``node`` is a forwarder outside the top N
    that coordinates the put itself (:func:`fallback_targets`)."""
    plan = edit.plan
    config = plan.config
    is_put = request <= plan.total_puts
    groups: tuple[tuple[str, ...], ...] = ()
    stand_in = ""
    if fallback:
        targets, stand_in = fallback_targets(edit, node, key)
    elif edit.membership is None:
        targets = choose_targets(edit, node, key)
    else:  # by the coordinator's view of the ring (spec.membership)
        chosen, groups = request_targets(edit, node, key, is_put)
        targets = tuple((n, "") for n in chosen)
    sent_to = tuple(sorted({node, *(t for t, _ in targets), *((stand_in,) if stand_in else ())}))
    needed = config.pw if is_put else config.pr
    if needed and primaries(plan, key, sent_to) < needed:
        # fewer of the top N reachable than PW (PR): refused, nothing written
        edit.set_client(client, with_client(edit.client(client), outstanding=0))
        return
    k = plan.key_index[key]
    local = edit.node(node).store[k]
    if is_put:
        if edit.unpersisted:  # its refused writes of the key, kept in memory (session 51)
            local = _with_unpersisted(edit, node, key, local)
        cl = edit.client(client)
        last = cl.last_get if cl.last_get is not None and cl.last_get.key == key else None
        context = last.context if last is not None else None
        wall = 0
        if config.clock == "lww":  # true time: the puts performed so far; plus the skew
            wall = len(edit.puts) - edit.puts.count(None) + config.wall_offset(node)
        new_local, payload, clock, stamp, counter, dot = clocks.put(
            config.clock, local, context, request, node, client, cl.counter, edit.puts,
            actor=edit.actor(node, key), wall=wall, hybrid=config.lww_timestamps == "hybrid",
            threshold=config.vclock_threshold, client_entries=config.client_vclock_entry,
            tombstones=plan.tombstones,
        )
        if config.prune_retired >= 0:  # session 33: the record written (pruned)
            # and, since session 39, the put replicated whole: the entries this
            # write emptied (the values it superseded) must reach the replicas that
            # hold those values, each of which prunes them when it merges
            # (:func:`spec.step.Edit.store`); the pruned record replicated left them
            # uncovered there, and a delete acknowledged by every replica left the
            # value it deleted on all but its coordinator
            new_local = edit.pruned(node, new_local)
        history = frozenset({request} | (last.history if last is not None else frozenset()))
        if request in plan.tombstones and config.clock == "dvv":  # session 38
            history |= absorbed(edit.puts, local, new_local, plan.tombstones)
        siblings = last.siblings if last is not None and len(last.siblings) > 1 else ()
        record = PutRecord(request, client, key, node, clock, stamp, history, siblings, dot)
        puts = list(edit.puts)
        puts[request - 1] = record
        edit.puts = tuple(puts)
        if counter != cl.counter:
            edit.set_client(client, with_client(cl, counter=counter))
        if not failed:
            n = edit.node(node)
            store = (*n.store[:k], new_local, *n.store[k + 1 :])
            edit.set_node(node, new_node(n.up, store, n.hints, n.coord))
        elif config.failed_write_kept:  # the record it could not write, kept in memory
            edit.unpersisted = edit.unpersisted | {(node, key, new_local)}
        for target, intended in targets:
            edit.send(new_message(Kind.REPLICA_PUT, node, target, request, key, payload,
                                  intended))
        if fallback:
            _fallback_copy(edit, node, key, payload, stand_in)
            coord = new_coordination(request, client, key, True, payload, tuple(sorted(targets)),
                                     sent_to, (node,) if stand_in else (), (), groups)
            settle_put(edit, node, coord)
            return
        if (failed and not config.failed_write_acks) or (
                edit.rebuilding and uncounted(edit.rebuilding, node)):
            # a refused own write, or a rebuilding node's (stored, not counted: session 55)
            _own_write_failed(edit, node, new_coordination(
                request, client, key, True, payload, tuple(sorted((*targets, (node, "")))),
                sent_to, (), (), groups))
            return
        coord = new_coordination(request, client, key, True, payload, tuple(sorted(targets)),
                                 sent_to, (node,), (), groups)
        settle_put(edit, node, coord)
    else:
        for target, _ in targets:
            edit.send(new_message(Kind.REPLICA_GET, node, target, request, key))
        # its own reply is what it answers a peer's read with (:func:`spec.replica.
        # served`: its hints of the key too, with ``hinted_reads``), as
        # ``impl.replica.Replica.served_record`` since session 49's review. Never
        # more than its copy in the spec's configurations (its review: a hint goes
        # to a fallback outside the key's top N, coordinators are in it, and the
        # membership configurations refuse a sloppy quorum); the implementation's
        # fallback coordinates a get whose forward no top-N node answered
        own = served(edit, node, edit.node(node), key)
        # a rebuilding coordinator's own read counts once every top-N node answered
        # (session 55: spec.rebuild; the implementation's GetCoordination.uncounted)
        mine = (node,) if edit.rebuilding and uncounted(edit.rebuilding, node) else ()
        coord = new_coordination(request, client, key, False, None, tuple(sorted(targets)),
                                 sent_to, (), ((node, own),), groups, mine)
        settle_get(edit, node, coord)


def fallback_targets(edit: Edit, node: str, key: str
                     ) -> tuple[tuple[tuple[str, str], ...], str]:
    """Whom ``node``, a forwarder outside ``key``'s top N that coordinates a put itself
    (:class:`~spec.actions.ForwardFallback`), sends it to, and the top-N node it
    stands in for ("" for none): with a sloppy quorum it keeps the put as a hint for
    the last top-N node it cannot reach (its own copy one hinted replica, counted
    towards W, never a primary), and sends it to each other top-N node, reachable or
    not (it has no better choice: every one of them failed to answer its forward);
    with a strict quorum to every top-N node. The implementation's
    ``impl.put_coordinator.PutCoordinator._coordinate`` ("this node stands in, hinted,
    for the last target its failure detector suspects"; its targets are the key's
    top N) at a forwarder's ``impl.forwarding.Forwarder._next_target``."""
    top = edit.plan.top[key]
    stand_in = ""
    if edit.plan.config.sloppy_quorum:
        cut = [n for n in top if not edit.reachable(node, n)]
        stand_in = cut[-1] if cut else ""
    return tuple((n, "") for n in top if n != stand_in), stand_in


def _fallback_copy(edit: Edit, node: str, key: str, payload: Payload, stand_in: str) -> None:
    """A fallback coordinator's hinted copy of its put (:func:`fallback_targets`):
    ``payload`` kept as a hint for ``stand_in`` (nothing without one); its store
    holds the put already (:func:`start` writes it: the implementation writes its
    own record even where it is no replica, so that it never mints a dot twice)."""
    if not stand_in:
        return
    n = edit.node(node)
    hint = new_hint(stand_in, key, payload)
    if hint not in n.hints:
        hints = tuple(sorted((*n.hints, hint), key=operator.attrgetter("order")))
        edit.set_node(node, new_node(n.up, n.store, hints, n.coord))


def _with_unpersisted(edit: Edit, node: str, key: str, local: Payload) -> Payload:
    """``node``'s copy ``local`` of ``key`` merged with the records it keeps of its
    refused writes of the key (``State.unpersisted``), which it then forgets: a put
    mints from the merge, so never a refused put's dot again (the implementation's
    ``PutCoordinator.unpersisted``, merged "into its copy before the key's next
    mint": docs/runtime.md, "A node whose disk is full (session 50)"). The merge is a
    store's (:meth:`spec.step.Edit.store`: :func:`spec.clocks.merge`, then a prune
    with ``prune_retired``)."""
    clock = edit.plan.config.clock
    kept = [e for e in edit.unpersisted if e[0] == node and e[1] == key]
    for _, _, payload in kept:
        local = clocks.merge(clock, local, payload, edit.puts)
    if kept and edit.plan.config.prune_retired >= 0:
        local = edit.pruned(node, local)
    if kept:
        edit.unpersisted = edit.unpersisted - frozenset(kept)
    return local


def _own_write_failed(edit: Edit, node: str, coord: Coordination) -> None:
    """``node``'s own write of ``coord``'s put was refused (``coord`` awaits ``node``
    itself, with no ack): its copy is one failed replica, as a target whose
    ``replica-put-failed`` arrived (:func:`on_replica_put_failed`): with a sloppy
    quorum its part goes to the next fallback, hinted for ``node``; then the put is
    acknowledged, fails, or waits (:func:`settle_put`). The implementation's
    ``PutCoordinator.local_write_failed`` (session 50): "its own copy is one failed
    replica ... With a fallback left (sloppy quorum) its part is sent to the
    fallback with a hint at once"."""
    time_out(edit, node, coord, node)


def absorbed(puts: tuple[PutRecord | None, ...], before: Payload, after: Payload,
             tombstones: frozenset[int]) -> frozenset[int]:
    """The ghost histories a delete's write at its coordinator takes over (session 38):
    those of the tombstones ``before`` (the coordinator's copy) holds and ``after``
    (the copy it wrote) no longer does. A delete drops the tombstones it is concurrent
    with (:func:`spec.dvv.drop_superseded`; impl/versions.py ``apply_put``: "two
    tombstones carry the same meaning"), and the written clock keeps their dots: the
    new tombstone *is* the dropped ones, so it deletes what they deleted. Without
    this a prune of a dropped tombstone's retired value-less entry lost the copy's
    coverage of what that tombstone deleted with no tombstone superseding it
    (docs/proofs.md, "Concurrent deletes under pruning (session 38)"); the record
    is then the one a delete written with a context covering the dropped tombstone
    leaves. A tombstone the delete's context covered is in its history already.
    ``puts``: the state's put records (by put id - 1); ``tombstones``: the put ids
    that are deletes. Empty when the write dropped no tombstone."""
    gone = [t for t in clocks.values(before) if t in tombstones and t not in
            clocks.values(after)]
    out: frozenset[int] = frozenset()
    for t in gone:
        record = puts[t - 1]
        if record is not None:
            out |= record.history
    return out


def primaries(plan: Plan, key: str, nodes: tuple[str, ...]) -> int:
    """How many of ``nodes`` (acks, replies, awaited or reachable nodes of a request
    for ``key``) are *primaries*: of the key's top N (with a strict quorum, every
    node a request is sent to is; a fallback of a sloppy quorum never is, its copy
    a hint its store does not serve)."""
    if not plan.config.sloppy_quorum:
        return len(nodes)
    top = plan.top[key]
    return sum(n in top for n in nodes)


def _primaries_settle(plan: Plan, coord: Coordination, answered: tuple[str, ...],
                      needed: int) -> bool | None:
    """The primary quorum's verdict on ``coord`` (``answered``: its acks or repliers;
    ``needed``: PW or PR): True when met, False once out of reach (the primaries
    answered plus those awaited), None while it may still be met."""
    got = primaries(plan, coord.key, answered)
    if got >= needed:
        return True
    waiting = primaries(plan, coord.key, tuple(t for t, _ in coord.awaiting))
    return None if got + waiting >= needed else False


def settle_put(edit: Edit, node: str, coord: Coordination) -> None:
    """Acknowledge after W acks (PW of them primaries'), fail once W (PW) is out of
    reach, else keep waiting."""
    config = edit.plan.config
    w, pw = config.w, config.pw
    if coord.groups:
        _settle_joint(edit, node, coord, max(w, pw), coord.acks)
        return
    primary = _primaries_settle(edit.plan, coord, coord.acks, pw) if pw else True
    if len(coord.acks) >= w and primary:
        _acknowledge(edit, node, coord)
    elif len(coord.acks) + len(coord.awaiting) < w or primary is False:
        _fail(edit, node, coord)
    else:
        edit.set_coord(node, coord, coord.request)


def _acknowledge(edit: Edit, node: str, coord: Coordination) -> None:
    """The put has its quorum: acknowledge it to the client (a forgetful client then
    restarts: it forgets its counter and its last get; with ``workload.chain_puts``
    the acknowledgement answers a context, :func:`answered`, which the client's next
    write of the key carries; with a write left the client may not hear it, session
    61: the answer keeps what the client held before, :class:`spec.actions.Unheard`)."""
    cl = edit.client(coord.client)
    acked = tuple(sorted((*cl.acked, coord.request)))
    config = edit.plan.config
    if config.forgetful_clients:
        edit.set_client(coord.client, new_client(cl.puts_issued, cl.gets_issued, 0, 0, None,
                                                 acked, cl.gets))
    elif config.chain_puts:
        answer = answered(edit, coord)
        if cl.puts_issued < config.writes_per_client:  # (session 61) it may not hear it
            answer = dataclasses.replace(answer, before=(_heard(cl.last_get),))
        edit.set_client(coord.client, with_client(cl, outstanding=0, acked=acked,
                                                  last_get=answer))
    else:
        edit.set_client(coord.client, with_client(cl, outstanding=0, acked=acked))
    edit.set_coord(node, None, coord.request)


def _heard(last: LastGet | None) -> LastGet | None:
    """``last`` without its ``before`` (:attr:`spec.state.LastGet.before`): an answer
    the client's next request carried is heard for good."""
    if last is None or not last.before:
        return last
    return dataclasses.replace(last, before=())


def answered(edit: Edit, coord: Coordination) -> LastGet:
    """What the acknowledgement of ``coord``'s put gives its client (session 60,
    ``workload.chain_puts``): the context it answers (:func:`spec.clocks.
    answered_context`), and (ghost) the put's true history: the client's next write
    of the key descends from the write it was told about, as from a version a get
    returned. No siblings: a put answers one version. The implementation's harness
    keeps ``PutResult.context`` as the context of its client's next write
    (``model_check.refinement``)."""
    record = edit.puts[coord.request - 1]
    assert record is not None and coord.payload is not None
    context = clocks.answered_context(edit.plan.config.clock, record, coord.payload)
    return LastGet(coord.key, context, record.history, ())


def _fail(edit: Edit, node: str, coord: Coordination) -> None:
    """The request's quorum is out of reach: it fails."""
    edit.set_client(coord.client, with_client(edit.client(coord.client), outstanding=0))
    edit.set_coord(node, None, coord.request)


def settle_get(edit: Edit, node: str, coord: Coordination) -> None:
    """Answer after R replies (PR of them primaries'; then read repair), fail once R
    (PR) is out of reach, else keep waiting."""
    plan = edit.plan
    config = plan.config
    r, pr = config.r, config.pr
    if coord.groups:
        _settle_joint(edit, node, coord, max(r, pr), tuple(n for n, _ in coord.replies))
        return
    counted = tuple(n for n, _ in coord.replies)
    most = len(counted) + len(coord.awaiting)
    if coord.uncounted:  # (session 55) counted once every top-N node of the key answered
        top = plan.top[coord.key]
        if not all(n in counted for n in top):
            waiting = {t for t, _ in coord.awaiting}
            if not all(n in counted or n in waiting for n in top):
                most -= len(coord.uncounted)
            counted = tuple(n for n in counted if n not in coord.uncounted)
    primary = _primaries_settle(plan, coord, counted, pr) if pr else True
    if len(counted) >= r and primary:
        _answer_get(edit, node, coord)
    elif most < r or primary is False:
        _fail(edit, node, coord)
    else:
        edit.set_coord(node, coord, coord.request)


def _answer_get(edit: Edit, node: str, coord: Coordination) -> None:
    """The get has its quorum: answer the client, then read repair. Its own
    reply is read again first (:func:`_read_own_again`)."""
    config = edit.plan.config
    replies = _read_own_again(edit, node, coord)
    result, returned, last_get = _get_result(config.clock, coord.key, replies, edit.puts)
    cl = edit.client(coord.client)
    record_get = GetRecord(coord.request, coord.key, cl.acked, returned)
    edit.set_client(
        coord.client,
        with_client(cl, outstanding=0, last_get=last_get, gets=(*cl.gets, record_get)),
    )
    edit.set_coord(node, None, coord.request)
    if config.read_repair:
        repair(edit, node, coord.key, replies, result,
               repaired_nodes(edit, node, coord.key, coord.groups))


def _read_own_again(edit: Edit, node: str, coord: Coordination
                    ) -> tuple[tuple[str, Payload], ...]:
    """``coord``'s replies with the coordinator ``node``'s own reply (taken when the get began,
    :func:`start`) merged with what ``node`` serves now (:func:`spec.replica.served`:
    its copy, and its hints of the key with ``hinted_reads``), then pruned as ``node``
    writes (``prune_retired``); the replies themselves when that changes nothing or
    ``node`` gave no reply of its own.

    Session 56's hole 4 (``docs/runtime.md``; ``tests/spec/
    test_hint_moved_during_a_get.py``): read once, at the start, the coordinator
    missed a write handed to it while it waited for its peers -- a fallback that
    held the write as a hint delivered it to the coordinator (acknowledged, deleted)
    and then answered the read empty, so R met W at the fallback and the get still
    returned nothing (``read_your_writes`` failed in 14 steps). The paper's get path
    (section 4.5: the coordinator "requests all existing versions of data for that
    key from the N highest-ranked reachable nodes" and returns what it gathered;
    section 5: a read is served by the coordinator's local copy too) does not say
    *when* the coordinator's own copy is read; reading it as it answers closes the
    gap. The merge with the first read (not the fresh read alone) keeps what a
    reap removed meanwhile: a reply is never taken back. As the implementation's
    ``impl.get_coordinator.GetCoordinator._read_own_again``."""
    replies = coord.replies
    for i, (src, first) in enumerate(replies):
        if src != node:
            continue
        fresh = served(edit, node, edit.node(node), coord.key)
        if fresh is first or clocks.payload_equal(fresh, first):
            return replies
        config = edit.plan.config
        again = clocks.merge(config.clock, first, fresh, edit.puts)
        if config.prune_retired >= 0:
            again = edit.pruned(node, again)
        if clocks.payload_equal(again, first):
            return replies
        return (*replies[:i], (node, again), *replies[i + 1:])
    return replies


def _settle_joint(edit: Edit, node: str, coord: Coordination, quorum: int,
                  answered: tuple[str, ...]) -> None:
    """A joint quorum (membership change, :mod:`spec.membership`): ``quorum`` answers
    within each of ``coord.groups``; fail once one group cannot reach it."""
    waiting = [t for t, _ in coord.awaiting]
    if all(sum(n in group for n in answered) >= quorum for group in coord.groups):
        (_acknowledge if coord.is_put else _answer_get)(edit, node, coord)
    elif any(sum(n in group for n in (*answered, *waiting)) < quorum for group in coord.groups):
        _fail(edit, node, coord)
    else:
        edit.set_coord(node, coord, coord.request)


def _get_result(
    mode: str, key: str, replies: tuple[tuple[str, Payload], ...],
    puts: tuple[PutRecord | None, ...],
) -> tuple[Payload, tuple[int, ...], LastGet]:
    """What a get that received ``replies`` returns: the reconciled payload, its
    put ids (sorted) and the client's new last get. Pure in its arguments, so it is
    cached by the identity of the (shared) payload and put-table objects."""
    payloads = tuple([p for _, p in replies])
    ident = (id(puts), key, *map(id, payloads))
    cached = _GET_RESULTS.get(ident)
    if cached is not None and cached[0] is puts and all(map(operator.is_, cached[1], payloads)):
        return cached[2], cached[3], cached[4]
    result = clocks.empty(mode)
    for payload in payloads:
        result = clocks.merge(mode, result, payload, puts)
    returned = clocks.values(result)
    context = clocks.context_of(mode, result, puts)
    history: frozenset[int] = frozenset()
    for v in returned:
        record = puts[v - 1]
        assert record is not None
        history |= record.history
    ordered = tuple(sorted(returned))
    last_get = LastGet(key, context, history, ordered)
    if len(_GET_RESULTS) > 100_000:
        _GET_RESULTS.clear()
    _GET_RESULTS[ident] = (puts, payloads, result, ordered, last_get)
    return result, ordered, last_get


# Each entry holds the objects whose ids make its key (so they cannot be reused).
_GET_RESULTS: dict[tuple[Any, ...], tuple[Any, ...]] = {}


def _answered(m: Message, dst: NodeState) -> _Answered:
    """The coordination ``m`` answers at ``dst`` and what it awaits once answered, or
    ``(None, ())`` if ``dst`` no longer coordinates the request or does not await
    ``m.src``."""
    coord = find_coordination(dst, m.request)
    if coord is None:
        return _NOT_AWAITED
    awaiting = tuple(p for p in coord.awaiting if p[0] != m.src)
    if len(awaiting) == len(coord.awaiting):
        return _NOT_AWAITED
    return coord, awaiting


def on_replica_put_ack(edit: Edit, m: Message, dst: NodeState) -> None:
    """A ``replica-put-ack`` reaches coordinator ``dst``: count it if awaited."""
    coord, awaiting = _answered(m, dst)
    refused: tuple[str, ...] = ()
    if coord is None:
        coord = find_coordination(dst, m.request)
        if coord is None or m.src not in coord.refused or m.src in coord.acks:
            return
        # a target that refused a copy and stored another: counted (session 55; the
        # implementation's ack_counts counts a target's ack whatever came before)
        awaiting = coord.awaiting
        refused = tuple(n for n in coord.refused if n != m.src)
    else:
        refused = coord.refused
    acks = tuple(sorted((*coord.acks, m.src)))
    settle_put(edit, m.dst, new_coordination(coord.request, coord.client, coord.key, True,
                                             coord.payload, awaiting, coord.sent_to, acks, (),
                                             coord.groups, (), refused))


def on_replica_get_reply(edit: Edit, m: Message, dst: NodeState) -> None:
    """A ``replica-get-reply`` reaches coordinator ``dst``: keep it if awaited."""
    coord, awaiting = _answered(m, dst)
    if coord is None:
        return
    assert m.payload is not None
    replies = tuple(sorted((*coord.replies, (m.src, m.payload)), key=_by_node))
    settle_get(edit, m.dst, new_coordination(coord.request, coord.client, coord.key, False, None,
                                             awaiting, coord.sent_to, (), replies, coord.groups,
                                             coord.uncounted))


def on_replica_put_failed(edit: Edit, m: Message, dst: NodeState) -> None:
    """A ``replica-put-failed`` reaches coordinator ``dst`` (session 51): if it awaits
    ``m.src``, that target is one failed replica: it is given up as on a timeout
    (:func:`time_out`: with a sloppy quorum the next fallback gets its part, hinted),
    and the put is settled: it fails at once once W (PW) is out of reach. riak_kv's
    put FSM counts a vnode's ``{error, ...}`` reply as a failure, never towards W
    (``riak_kv_put_fsm``: ``too_many_fails``); the implementation's
    ``PutCoordinator.on_failed`` (``ReplicaPutFailed``, wire 45), which also tries
    the failed target again at its next timeout and counts its later
    acknowledgement: since session 55 the spec keeps the target eligible too
    (``Coordination.refused``: its acknowledgement of another copy, a duplicate,
    counts, :func:`on_replica_put_ack`; the retry itself is one more put of the same
    version, which delivery already covers)."""
    coord = find_coordination(dst, m.request)
    if coord is None or not any(t == m.src for t, _ in coord.awaiting):
        return
    time_out(edit, m.dst, coord, m.src, refused=True)


_Answered = tuple[Coordination | None, tuple[tuple[str, str], ...]]
_NOT_AWAITED: _Answered = (None, ())


def _by_node(reply: tuple[str, Payload]) -> str:
    return reply[0]


def time_out(edit: Edit, node: str, coord: Coordination, target: str,
             refused: bool = False) -> None:
    """``node`` gives up waiting on ``target`` for ``coord``'s request; with a sloppy
    quorum it sends to the next fallback not tried yet, hinted for the intended node.
    ``refused`` (a put's ``replica-put-failed``, session 55): ``target``'s later
    acknowledgement still counts (``Coordination.refused``)."""
    plan = edit.plan
    config = plan.config
    intended = next(h for t, h in coord.awaiting if t == target)
    awaiting = [p for p in coord.awaiting if p[0] != target]
    sent_to = coord.sent_to
    if not refused:  # (a refusing target's acknowledgement in flight still counts)
        edit.purge(node, coord.request, target)
    if config.sloppy_quorum:
        for candidate in plan.pref[coord.key][config.n :]:
            if candidate in sent_to or not edit.reachable(node, candidate):
                continue
            if coord.is_put:
                intended = intended or target
                edit.send(new_message(Kind.REPLICA_PUT, node, candidate, coord.request,
                                      coord.key, coord.payload, intended))
                awaiting.append((candidate, intended))
            else:
                edit.send(new_message(Kind.REPLICA_GET, node, candidate, coord.request,
                                      coord.key))
                awaiting.append((candidate, ""))
            sent_to = tuple(sorted((*sent_to, candidate)))
            break
    kept = (tuple(sorted({*coord.refused, target})) if refused and target != node
            else coord.refused)
    new = new_coordination(coord.request, coord.client, coord.key, coord.is_put, coord.payload,
                           tuple(sorted(awaiting)), sent_to, coord.acks, coord.replies,
                           coord.groups, coord.uncounted, kept)
    if coord.is_put:
        settle_put(edit, node, new)
    else:
        settle_get(edit, node, new)


def timeouts(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
    """Coordinator timeouts, then client timeouts (see the module docstring)."""
    for node_name, coord, target in enabled_timeouts(state, plan):
        edit = Edit(state, plan)
        time_out(edit, node_name, coord, target)
        yield _timeout_action(node_name, coord.request, target), edit.build()
    yield from client_timeouts(state, plan)


def enabled_timeouts(state: State, plan: Plan) -> Iterator[tuple[str, Coordination, str]]:
    """``(coordinator, coordination, target)`` of every enabled coordinator timeout:
    the target is down or cut off, or no message of the exchange is in flight."""
    if any(node.up and node.coord for node in state.nodes):
        yield from timeouts_enabled(state.nodes, state.side, exchanges(state.messages), plan)


def exchanges(messages: tuple[Message, ...]) -> frozenset[tuple[str, str, int]]:
    """``(a, b, request)`` for every request's message in flight between ``a`` and
    ``b``, either way."""
    out: set[tuple[str, str, int]] = set()
    for m in messages:
        if m.request:
            out.add((m.src, m.dst, m.request))
            out.add((m.dst, m.src, m.request))
    return frozenset(out)


def timeouts_enabled(nodes: tuple[NodeState, ...], side: frozenset[str],
                     in_flight: frozenset[tuple[str, str, int]],
                     plan: Plan) -> Iterator[tuple[str, Coordination, str]]:
    """:func:`enabled_timeouts` of the nodes, the partition and the :func:`exchanges`
    in flight (all it depends on)."""
    index = plan.index
    for node_name, node in zip(plan.nodes, nodes, strict=True):
        if not node.up or not node.coord:
            continue
        for coord in node.coord:
            for target, _ in coord.awaiting:
                t = nodes[index[target]]
                cut = not t.up or ((target in side) != (node_name in side))
                if cut or (node_name, target, coord.request) not in in_flight:
                    yield node_name, coord, target


def client_timeouts(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
    """A client gives up on an outstanding request nobody works on any more."""
    for index_of_client, cl in enumerate(state.clients):
        if cl.outstanding and not _in_progress(state, cl.outstanding):
            edit = Edit(state, plan)
            edit.set_client_at(index_of_client, with_client(cl, outstanding=0))
            yield _client_timeout(plan.clients[index_of_client]), edit.build()


def _in_progress(state: State, request: int) -> bool:
    """Somebody still works on ``request``: an up coordinator, or a forward in flight."""
    for node in state.nodes:
        if node.up and find_coordination(node, request) is not None:
            return True
    return any(m.kind is Kind.FORWARD and m.request == request for m in state.messages)
