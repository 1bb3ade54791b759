"""The node's named timers (Stateright's ``SetTimer(Timer)`` / ``CancelTimer(Timer)``).

Theory of operation
-------------------
Every timer the node core sets is a small frozen value that says what it is
for: a put coordination's timeout, a get coordination's, a forward's, the hint
scan, the gossip round, the anti-entropy round, the flush of a buffered engine,
the end of a restarted node's shadow round.
The core asks for one with ``SetTimer(timer, at)`` (setting a timer that is
already set moves it), withdraws one with ``CancelTimer(timer)``, and is handed
a fired one with :meth:`impl.node.Node.fire`. A driver keeps one schedule entry
per timer value; a driver that decides itself which timeout happens (the
refinement harness, the model checker's replay) fires exactly the timer the spec
allows, by value.

Some timers take an optional argument the core never sets itself, so that a
driver can fire one part of the work (the spec's steps are finer than the
implementation's rounds): a coordination timeout for one target only, a hint
scan of chosen hints, an anti-entropy round with one chosen peer.
"""

from __future__ import annotations

from dataclasses import dataclass

from impl.quick_init import quick_init

__all__ = [
    "AntiEntropyRound",
    "Flush",
    "ForwardTimeout",
    "GetTimeout",
    "GossipRound",
    "HintScan",
    "PutTimeout",
    "ReapCheck",
    "ReapTombstone",
    "ShadowRound",
    "Timer",
]


@quick_init
@dataclass(frozen=True, slots=True)
class PutTimeout:
    """A put coordination's timer (paper 4.6): resend the silent targets' write to
    fallbacks, or fail the put at its deadline. ``target`` (set by a driver only):
    give up on that one target's current node, not on every silent one."""

    op_id: int
    target: str | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class GetTimeout:
    """A get coordination's timer: ask fallbacks for the silent targets, or end the
    get at its deadline (a failure, or the late read repair). ``target``: as for
    :class:`PutTimeout`."""

    op_id: int
    target: str | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class ForwardTimeout:
    """A forwarded request's timer: try the next node of the key's top N, or
    coordinate the request here."""

    op_id: int


@quick_init
@dataclass(frozen=True, slots=True)
class HintScan:
    """The periodic hint scan (hinted handoff, paper 4.6). ``hints`` (set by a
    driver only): send exactly these hints now, as if their retry time had come,
    and no other."""

    hints: frozenset[int] | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class GossipRound:
    """The periodic membership gossip round (paper 4.8)."""


@quick_init
@dataclass(frozen=True, slots=True)
class AntiEntropyRound:
    """The periodic Merkle anti-entropy round (paper 4.7). ``peer`` (set by a driver
    only): start an exchange with that replica on every key range both hold,
    instead of one random replica per range; with ``key`` too (a driver only: the
    lockstep maps one exchange to the spec's anti-entropy of one key), on the range
    holding that key alone."""

    peer: str | None = None
    key: bytes | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class Flush:
    """The periodic flush of a buffered storage engine (``fsync = "buffered"``)."""


@quick_init
@dataclass(frozen=True, slots=True)
class ReapTombstone:
    """Reap ``key``'s tombstone ``record`` (encoded) at the key's ``targets`` once the
    grace period (``tombstone_grace_s``) has passed (``delete_mode = "safe"``; Riak's
    delayed ``delete_mode``), or at once once the delete is acknowledged
    (``delete_mode = "immediate"``, the naive rule)."""

    key: bytes
    record: bytes
    targets: tuple[str, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class ReapCheck:
    """Read ``key`` from all N of its targets, so that the get's end schedules the
    reap of its tombstone if each holds it (``delete_mode = "safe"`` with
    ``reap_checks``; :meth:`impl.node.Node._reap_check`): set at once when a hint, a
    read repair or anti-entropy left this replica's copy holding tombstones only,
    and by a delete's coordinator whose delete ended without every target's
    acknowledgement, for the writes still on their way. ``attempt``: the checks of
    the key that could not read every target before this one (0: the first)."""

    key: bytes
    attempt: int = 0


@quick_init
@dataclass(frozen=True, slots=True)
class ShadowRound:
    """The end of a restarted node's startup shadow round (the restore guard,
    :meth:`impl.node.Node.start`): set ``shadow_round_s`` ahead at the start (the
    timeout), moved to now once every peer asked has gossiped back; when it fires
    the node replays the inputs it deferred meanwhile."""


Timer = (PutTimeout | GetTimeout | ForwardTimeout | HintScan | GossipRound
         | AntiEntropyRound | Flush | ReapTombstone | ReapCheck | ShadowRound)
"""Every timer value the node core sets or accepts."""
