"""Seeded random lockstep walks that reach deletes and reaps.

Theory of operation
-------------------
The Hypothesis lockstep machine (:mod:`tests.refinement.machine`) draws a random
subset of its rules per example (swarm testing), and a delete needs a put, its
acknowledgement and a get first (the suite's delete entries have read-modify-write
clients): in its CI budget it reaches a delete in few examples and a reap in
fewer. A walk here picks, at each step, one of the implementation's enabled
lockstep steps with a seeded generator, favouring the steps that make progress
(client requests, deliveries, reaps) over faults, and ends as the machine does:
faults stopped, both sides driven to quiescence (every step checked), and the
implementation's convergence equal to the spec's. Every step is a
:class:`~model_check.refinement.Lockstep` step, so a divergence raises
:class:`~model_check.refinement.Divergence`.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from functools import partial

from model_check.refinement import Lockstep
from spec import model as spec_model
from spec.config import Config

__all__ = ["walk"]


def walk(config: Config, seed: int, steps: int = 40, counts: Counter[str] | None = None,
         *, asks_at_once: bool = True,
         prefix: Callable[[Lockstep], None] | None = None,
         halves: bool = False) -> Lockstep:
    """One seeded walk of up to ``steps`` lockstep steps on ``config``, then
    quiescence and the convergence check (AssertionError if they disagree).
    ``counts`` (if given) counts the steps taken by kind. ``asks_at_once`` False
    (session 37): a one-way ask stays in flight as any message (delivered, lost or
    copied among the other steps: ``Lockstep.deliverable`` offers it only where its
    round is a spec step), and time may pass by ``request_timeout`` where no
    request is under way and a node asked within it
    (``Lockstep.pass_request_timeout``: a held ask may be sent again); the default
    keeps every seed's walk as before. ``prefix`` (if given) takes the first steps
    (a scenario's); the walk goes on from there. ``halves`` (session 38, with
    ``asks_at_once`` False): an ask may also be delivered alone
    (``Lockstep.deliver_ask``, stale ones too where the asked node's copy stays), its
    answer then in flight as any message, delivered where it maps to spec steps
    (``Lockstep.deliverable``), lost or copied; False keeps session 37's walks."""
    rng = random.Random(seed)
    ls = Lockstep(config, seed=seed, asks_at_once=asks_at_once)
    tally = Counter[str]() if counts is None else counts
    try:
        if prefix is not None:
            prefix(ls)
        for _ in range(steps):
            choices = _choices(ls, rng, halves)
            if not choices:
                break
            weights = [weight for weight, _, _ in choices]
            _, kind, step = rng.choices(choices, weights=weights)[0]
            tally[kind] += 1
            step()
        tally["quiesce"] += ls.quiesce()
        spec_converged = spec_model.converged(ls.frontier[0])
        unmapped = [why for _, _, why in ls.hand_on_hints() if why]
        assert ls.converged() == spec_converged, (
            f"implementation converged: {ls.converged()}, spec: {spec_converged}; "
            + (f"hand-ons the spec has no step for: {unmapped}; " if unmapped else "")
            + f"steps: {ls.history}")
        return ls
    finally:
        ls.cluster.close()


def _choices(ls: Lockstep, rng: random.Random,
             halves: bool = False) -> list[tuple[int, str, Callable[[], None]]]:
    """(weight, kind, step) for every step enabled now."""
    config = ls.config
    out: list[tuple[int, str, Callable[[], None]]] = []
    for client in ls.idle_clients():
        for key in config.keys:
            nodes = ls.entry_nodes(key)
            if not nodes:
                continue
            node = rng.choice(nodes)
            if ls.can_put(client):
                out.append((4, "put", partial(ls.put, client, node, key)))
            if ls.can_delete(client):
                out.append((4, "delete", partial(ls.delete, client, node, key)))
            if ls.can_get(client):
                out.append((3, "get", partial(ls.get, client, node, key)))
    deliverable = ls.deliverable()
    if deliverable:
        message = rng.choice(deliverable)
        out.append((12, "deliver", lambda: ls.deliver(message.id)))
    in_flight = ls.in_flight()
    if in_flight and ls.budget_left(0):
        dropped = rng.choice(in_flight)
        out.append((1, "drop", lambda: ls.drop(dropped.id)))
    if in_flight and ls.budget_left(1):
        copied = rng.choice(in_flight)
        out.append((1, "duplicate", lambda: ls.duplicate(copied.id)))
    scans = [n for n in ls.present if ls.hint_scan_enabled(n)]
    if scans:
        scanned = rng.choice(scans)
        out.append((3, "hint scan", lambda: ls.hint_scan(scanned)))
    reaps = ls.reap_candidates()
    if reaps:
        name, timer = rng.choice(reaps)
        out.append((4, "reap", lambda: ls.reap(name, timer)))
    pairs = [(a, b, key) for key in config.keys if config.anti_entropy
             for a, b in ls.anti_entropy_pairs(key)]
    if pairs:
        a, b, key = rng.choice(pairs)
        out.append((2, "anti-entropy", lambda: ls.anti_entropy_pair(a, b, key)))
    rounds = ls.timeout_candidates()
    if rounds:
        chosen = rng.choice(rounds)
        out.append((1, "timeout", lambda: ls.timeout(*chosen)))
    up = [n for n in ls.present if ls.up(n)]
    if up and ls.budget_left(2):
        crashed = rng.choice(up)
        out.append((1, "crash", lambda: ls.crash(crashed)))
    down = [n for n in ls.present if not ls.up(n)]
    if down:
        recovered = rng.choice(down)
        out.append((2, "recover", lambda: ls.recover(recovered)))
    if ls.budget_left(3) and not ls.sim.cut_links and len(config.nodes) > 1:
        rest = config.nodes[1:]
        side = [config.nodes[0], *rng.sample(rest, rng.randrange(len(rest)))]
        out.append((1, "partition", lambda: ls.partition(side)))
    if ls.sim.cut_links:
        out.append((2, "heal", ls.heal))
    if config.membership:
        out.extend(_membership_choices(ls, rng))
    if not ls.asks_at_once:
        asks = ls.asks_in_flight()
        if asks:  # lost or copied (no spec message: a stutter, no fault budget spent)
            ask = rng.choice(asks)
            out.append((3, "lose ask", lambda: ls.drop(ask.id)))
            out.append((2, "copy ask", lambda: ls.duplicate(ask.id)))
        if ls.ask_window_open() and ls.time_may_pass():
            out.append((1, "time", ls.pass_request_timeout))
        if halves:
            out.extend(_half_choices(ls, rng))
    return out


def _half_choices(ls: Lockstep, rng: random.Random
                  ) -> list[tuple[int, str, Callable[[], None]]]:
    """Session 38: an ask delivered alone, an answer lost or copied (no spec message:
    stutters, no fault budget spent)."""
    out: list[tuple[int, str, Callable[[], None]]] = []
    alone = ls.asks_alone()
    if alone:
        ask = rng.choice(alone)
        out.append((6, "ask alone", lambda: ls.deliver_ask(ask.id)))
    answers = ls.answers_in_flight()
    if answers:
        answer = rng.choice(answers)
        out.append((2, "lose answer", lambda: ls.drop(answer.id)))
        out.append((2, "copy answer", lambda: ls.duplicate(answer.id)))
    return out


def _membership_choices(ls: Lockstep, rng: random.Random
                        ) -> list[tuple[int, str, Callable[[], None]]]:
    """The membership steps the spec enables: a join, a leave, a gossip, a range
    transfer, a handover, a settlement."""
    out: list[tuple[int, str, Callable[[], None]]] = []
    for node in ls.join_candidates():
        out.append((2, "join", partial(ls.join, node)))
    for node in ls.leave_candidates():
        out.append((1, "leave", partial(ls.leave, node)))
    gossip = ls.gossip_candidates()
    if gossip:
        src, dst = rng.choice(gossip)
        out.append((4, "gossip", partial(ls.gossip_to, src, dst)))
    for transfer in ls.transfer_candidates():
        out.append((3, "transfer", partial(ls.transfer, transfer.src, transfer.dst,
                                           transfer.key)))
    for node in ls.handover_candidates():
        out.append((3, "handover", partial(ls.handover, node)))
    for node in ls.settle_candidates():
        out.append((3, "settle", partial(ls.settle, node)))
    for message in ls.empty_transfers():
        out.append((3, "deliver empty transfer", partial(ls.deliver_empty, message)))
    return out
