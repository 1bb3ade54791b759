"""Client requests and forwarding (paper sections 4.1 and 4.5).

Theory of operation
-------------------
The paper's interface is ``get(key)`` and ``put(key, context, object)`` (4.1). A
client with no request outstanding and budget left sends a put (its own value,
with the context of its last get of the key, or with ``workload.chain_puts`` of its
last get or acknowledged put of it, whichever came later: session 60,
:func:`spec.coordination.answered`) or a get of a key to a node it may
use (``workload.coordinator``: any node, one of the key's top N, or the first of
them) (:func:`client_requests`); once its puts are spent, its writes are deletes
(``workload.deletes_per_client``): a put of a tombstone (:mod:`spec.deletes`).
A read-modify-write client
(``workload.read_modify_write``) puts again only after a get that began once its
previous put was acknowledged, so its puts never overwrite blind. A node in the
key's top N coordinates the request itself (:func:`spec.coordination.start`);
any other node *forwards* it to the first of the top N (4.5: "the coordinator
... forwards the request"), as a ``forward`` message (:func:`on_forward`, an
entry of the delivery table of :mod:`spec.delivery`), which starts the
coordination there if the client still waits and the request was not started
elsewhere.

The forwarder's retries (session 54, :func:`forward_retries`): a forward whose
target cannot answer (down, or cut off from the forwarder: the spec's accurate
failure detection, as a coordinator's :class:`~spec.actions.Timeout`) is sent on to
a later node of the top N (:class:`~spec.actions.ForwardAgain`; 4.6: requests go to
"the first N healthy nodes"), and a put's forward none of whose top N the forwarder
can reach is coordinated by the forwarder itself, as a sloppy-quorum fallback
(:class:`~spec.actions.ForwardFallback`, :func:`spec.coordination.start` with
``fallback``). The implementation's ``impl.forwarding.Forwarder`` does both (its
``route`` skips a suspected first node, its ``on_timeout`` and ``on_decline`` try
the next, its ``_next_target`` coordinates when none is left); until session 54
trace validation named them a trace-spec step (``forward-again``) and a spec gap
(``forward-elsewhere``). A forwarded get is not coordinated by its forwarder in the
spec (the client's request ends by :class:`~spec.actions.ClientTimeout`).

A disk may refuse a write (``faults.write_failures``, session 51): a client's
put to a node that coordinates it has a twin step, :class:`~spec.actions.FailedPut`,
in which the coordinator's own write is refused (its copy one failed replica,
:func:`spec.coordination.start`); a forwarded put's is
:class:`~spec.actions.FailedWrite` of the forward (:mod:`spec.faults`).

Client replies are direct (not messages): a request ends when its coordinator
decides; a client whose coordinator crashed times out
(:func:`spec.coordination.timeouts`). A chaining client (``workload.chain_puts``)
with a write left may not hear its put's acknowledgement (session 61,
:func:`unheard`): it keeps the context it held before the put.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from functools import lru_cache

from spec.actions import (
    Action,
    ClientDelete,
    ClientGet,
    ClientPut,
    FailedPut,
    ForwardAgain,
    ForwardFallback,
    Unheard,
)
from spec.config import Config
from spec.coordination import start
from spec.membership import serving_top
from spec.state import Kind, Message, NodeState, State, new_client, new_message
from spec.step import Edit, Plan, client_of, find_coordination, get_id_of, put_id_of, with_client

__all__ = ["client_requests", "forward_retries", "forward_starts", "on_forward",
           "spent_refusal", "unheard"]

# Actions are values: one shared object per distinct action.
_client_put = lru_cache(maxsize=4096)(ClientPut)
_client_get = lru_cache(maxsize=4096)(ClientGet)
_client_delete = lru_cache(maxsize=4096)(ClientDelete)
_failed_put = lru_cache(maxsize=4096)(FailedPut)
_forward_again = lru_cache(maxsize=4096)(ForwardAgain)
_forward_fallback = lru_cache(maxsize=4096)(ForwardFallback)
_unheard = lru_cache(maxsize=4096)(Unheard)


def client_requests(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
    """Every put and get an idle client may send, to every node it may use."""
    config = plan.config
    nodes = state.nodes
    index = plan.index
    for ci, cl in enumerate(state.clients):
        if cl.outstanding:
            continue
        if cl.last_get is not None and cl.last_get.before:  # (session 61)
            yield _unheard(plan.clients[ci]), unheard(state, plan, ci)
        # puts_issued counts every write: the puts, then the deletes (a tombstone put)
        can_put = cl.puts_issued < config.writes_per_client
        write = _client_put if cl.puts_issued < config.puts_per_client else _client_delete
        if can_put and config.read_modify_write and cl.puts_issued:
            # the next put waits for a get begun after the previous put was acknowledged
            previous = put_id_of(config, ci, cl.puts_issued - 1)
            can_put = bool(cl.gets) and previous in cl.gets[-1].acked_before
        can_get = cl.gets_issued < config.gets_per_client
        if not (can_put or can_get):
            continue
        name = plan.clients[ci]
        failing = can_put and _refusals_left(state, config)
        for key in plan.keys:
            for entry in plan.entry[key] if state.membership is None else _entry(state, plan,
                                                                                 key):
                if not nodes[index[entry]].up:
                    continue
                if can_put:
                    yield write(name, entry, key), _request(state, plan, ci, entry, key, True)
                    if failing and (entry in plan.top[key] or state.membership is not None):
                        yield (_failed_put(name, entry, key),
                               _request(state, plan, ci, entry, key, True, failed=True))
                if can_get:
                    yield (_client_get(name, entry, key),
                           _request(state, plan, ci, entry, key, False))


def _entry(state: State, plan: Plan, key: str) -> tuple[str, ...]:
    """With membership change: the nodes that, by their own view, are of the key's
    serving top N (``"top-n"``) or its first (``"first"``) (:mod:`spec.membership`)."""
    assert state.membership is not None
    first = plan.config.coordinator == "first"
    out = []
    for node in plan.nodes:
        top = serving_top(plan, state.membership, node, key)
        if node in (top[:1] if first else top):
            out.append(node)
    return tuple(out)


def _refusals_left(state: State, config: Config) -> bool:
    """Whether a disk may still refuse a write (``faults.write_failures``: the sixth
    budget of ``State.used``, there only with that budget)."""
    return len(state.used) > 5 and state.used[5] < config.write_failures


def unheard(state: State, plan: Plan, ci: int) -> State:
    """The ``ci``-th client, idle with an acknowledged put's answer it may not have
    heard (``workload.chain_puts``: :attr:`spec.state.LastGet.before`), does not
    hear it (:class:`~spec.actions.Unheard`, session 61): it keeps what it held
    before the put (its last get or answer, or nothing), so its next write carries
    that older context and is a sibling of its own acknowledged write. The put stays
    acknowledged (the ghost ``acked``: its coordinator acknowledged it). The
    implementation's paths: a forwarded put whose ``ForwardReply`` is lost, or whose
    forwarder's timeout answers the client before it arrives
    (``impl.forwarding.Forwarder``: ``RequestTimeoutError``), and the library's
    client whose HTTP answer is lost (``OutcomeUnknownError``, the caller keeps its
    context: docs/spec.md, "The unheard acknowledgement (session 61)")."""
    cl = state.clients[ci]
    assert cl.last_get is not None and cl.last_get.before
    edit = Edit(state, plan)
    edit.set_client_at(ci, new_client(cl.puts_issued, cl.gets_issued, cl.outstanding,
                                      cl.counter, cl.last_get.before[0], cl.acked, cl.gets))
    return edit.build()


def _request(state: State, plan: Plan, ci: int, node: str, key: str, is_put: bool,
             failed: bool = False) -> State:
    """The ``ci``-th client sends its next put (get) of ``key`` to ``node``; ``failed``
    (a put to a node that coordinates it): the node's disk refuses its own write
    (:func:`spec.coordination.start`), a write failure spent."""
    config = plan.config
    cl = state.clients[ci]
    name = plan.clients[ci]
    if cl.last_get is not None and cl.last_get.before:  # heard for good (session 61)
        cl = new_client(cl.puts_issued, cl.gets_issued, cl.outstanding, cl.counter,
                        dataclasses.replace(cl.last_get, before=()), cl.acked, cl.gets)
    if is_put:
        request = put_id_of(config, ci, cl.puts_issued)
        issued = with_client(cl, puts_issued=cl.puts_issued + 1, outstanding=request)
    else:
        request = get_id_of(config, ci, cl.gets_issued)
        issued = with_client(cl, gets_issued=cl.gets_issued + 1, outstanding=request)
    edit = Edit(state, plan)
    edit.set_client_at(ci, issued)
    if failed:
        edit.used = spent_refusal(state.used)
    top = plan.top[key]
    if node in top or state.membership is not None:  # membership: node is in its top N
        start(edit, node, request, name, key, failed)
    else:
        edit.send(new_message(Kind.FORWARD, node, top[0], request, key))
    return edit.build()


def spent_refusal(used: tuple[int, ...]) -> tuple[int, ...]:
    """``used`` with one more write refused (its sixth budget)."""
    return (*used[:5], used[5] + 1)


def on_forward(edit: Edit, m: Message, dst: NodeState, failed: bool = False) -> None:
    """A ``forward`` reaches the first of the key's top N: it starts coordinating
    the request, unless the client gave up or the request was already started
    (:func:`forward_starts`); ``failed``: a put whose coordinator's own write its
    disk refuses (:class:`~spec.actions.FailedWrite`)."""
    if forward_starts(edit, m, dst):
        start(edit, m.dst, m.request, client_of(edit.plan, m.request), m.key, failed)


def forward_starts(edit: Edit, m: Message, dst: NodeState) -> bool:
    """Whether the ``forward`` ``m`` reaching ``dst`` starts its request there: its
    client still waits for it, and it was not started before."""
    plan = edit.plan
    cl = edit.client(client_of(plan, m.request))
    fresh = m.request > plan.total_puts or edit.puts[m.request - 1] is None
    return cl.outstanding == m.request and find_coordination(dst, m.request) is None and fresh


def forward_retries(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
    """The forwarder's retries (session 54; see the module docstring): for each
    distinct ``forward`` in flight whose forwarder is up, whose client still waits and
    whose request no node coordinates yet, and whose target cannot answer (down, or
    cut off from the forwarder), a :class:`~spec.actions.ForwardAgain` to each later
    node of the key's top N; for a put's forward none of whose top N the forwarder
    can reach, a :class:`~spec.actions.ForwardFallback` (the forwarder coordinates
    it, :func:`spec.coordination.start` with ``fallback``). Nothing unless
    ``workload.coordinator = "any"`` (no forward is sent otherwise)."""
    if plan.config.coordinator != "any":
        return
    seen: set[Message] = set()
    for position, m in enumerate(state.messages):
        if m.kind is not Kind.FORWARD or m in seen:
            continue
        seen.add(m)
        probe = Edit(state, plan)
        if (not probe.node(m.src).up or probe.reachable(m.src, m.dst)
                or not _forward_waits(probe, m)):
            continue
        top = plan.top[m.key]
        for to in top[top.index(m.dst) + 1:]:
            edit = Edit(state, plan)
            edit.remove_at(position)
            edit.send(new_message(Kind.FORWARD, m.src, to, m.request, m.key))
            yield _forward_again(m, to), edit.build()
        if m.request <= plan.total_puts and not any(probe.reachable(m.src, n) for n in top):
            edit = Edit(state, plan)
            edit.remove_at(position)
            start(edit, m.src, m.request, client_of(plan, m.request), m.key, fallback=True)
            yield _forward_fallback(m), edit.build()


def _forward_waits(edit: Edit, m: Message) -> bool:
    """Whether the forward ``m``'s client still waits for it and no node coordinates
    its request (nor did: a put's record is minted once)."""
    plan = edit.plan
    if edit.client(client_of(plan, m.request)).outstanding != m.request:
        return False
    if m.request <= plan.total_puts and edit.puts[m.request - 1] is not None:
        return False
    return all(find_coordination(n, m.request) is None for n in edit.nodes)
