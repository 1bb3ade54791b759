"""Local failure detection (Dynamo paper, section 4.8.3), fed with times passed in.

Theory of operation
-------------------
Dynamo's failure detection is local: node A considers B failed when B does not
answer A's messages, routes around it (sloppy quorum: the next node of the
preference list) and retries B later. A :class:`FailureDetector` keeps, per
peer, what A observed -- never a clock: every method takes ``now``.

- :meth:`~FailureDetector.heard_from` records that a message or a reply from the
  peer arrived at ``now`` (a gossip reply, a replica's acknowledgement...). It
  clears any suspicion, and the interval since the previous arrival is a
  sample for the accrual detector.
- :meth:`~FailureDetector.timed_out` records that a request to the peer got no
  answer in time: the peer is *suspected* until ``now + retry_after``; after
  that it is tried again (one request is the probe). Each further timeout
  without news in between doubles the wait, up to ``max_retry_after``.
- Phi accrual (Hayashibara et al., 2004): from the last ``window`` arrival
  intervals (mean mu, standard deviation sigma, at least ``min_std``),
  ``phi(t) = -log10(P(interval > t - last))`` under a normal distribution.
  phi 1 means a 10% chance that the peer is fine and merely slow, phi 8 one in
  10**8. With ``phi_threshold`` set, a peer whose phi reaches it is also
  unavailable, until it is heard from again. Phi needs ``min_samples``
  intervals first; before that only timeouts count.

:meth:`~FailureDetector.is_available` answers the coordinator's question. A
peer never heard of is available (the first request is its probe).

This object is the node's only record of suspicion: the coordinators ask it,
timeouts and arrivals feed it, :meth:`~FailureDetector.suspicions` shows it, and
:meth:`~FailureDetector.set_suspected` replaces it (an oracle detector for a
driver that knows who is reachable, as the spec's coordinator does).

Which detector the node runs is configuration (``ClusterConfig.failure_detector``):
``"timeouts"`` (the default) is the paper's -- a peer is avoided only after a
request to it timed out -- because Dynamo sends no heartbeats: arrivals follow
the client traffic, which is bursty, so phi accrual would suspect a healthy peer
that merely had nothing to say. ``"phi-accrual"`` adds phi for clusters whose
gossip rate is regular enough to be a heartbeat (``phi_threshold``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from impl.config import ClusterConfig

import math
from collections import deque
from dataclasses import dataclass, field

from impl.errors import InvalidValueError

__all__ = ["FailureDetector", "PeerRecord"]


def _number(name: str, value: object, minimum: float, *, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidValueError(f"{name} must be a finite number, got {value!r:.80}")
    if value < minimum or (strict and value == minimum):
        relation = ">" if strict else ">="
        raise InvalidValueError(f"{name} must be {relation} {minimum}, got {value!r}")
    return float(value)


@dataclass(slots=True)
class PeerRecord:
    """What this node observed of one peer."""

    last_heard: float | None = None
    intervals: deque[float] = field(default_factory=deque)
    suspected_until: float | None = None
    timeouts: int = 0


class FailureDetector:
    """Per-peer availability from observed arrivals and timeouts (no clock inside).

    ``retry_after``: how long a timed-out peer is avoided before it is tried again
    (doubling per consecutive timeout up to ``max_retry_after``).
    ``phi_threshold``: None disables phi accrual; otherwise a peer whose phi
    reaches it is unavailable. ``window``, ``min_samples``, ``min_std``: the
    accrual detector's sample window, warm-up and variance floor.
    """

    @classmethod
    def for_node(cls, config: ClusterConfig) -> FailureDetector:
        """A node's detector: suspicion for ``suspicion_timeout`` seconds (doubling,
        at most eight gossip intervals), phi accrual when ``failure_detector`` is
        ``"phi-accrual"`` (with ``phi_threshold``), else timeouts only."""
        return cls(retry_after=config.suspicion_timeout,
                   max_retry_after=max(config.suspicion_timeout, 8 * config.gossip_interval),
                   phi_threshold=(config.phi_threshold
                                  if config.failure_detector == "phi-accrual" else None))

    def __init__(self, *, retry_after: float = 1.0, max_retry_after: float = 30.0,
                 phi_threshold: float | None = 8.0, window: int = 100,
                 min_samples: int = 3, min_std: float = 0.1) -> None:
        self.retry_after = _number("retry_after", retry_after, 0.0, strict=True)
        self.max_retry_after = _number("max_retry_after", max_retry_after, self.retry_after)
        self.phi_threshold = (None if phi_threshold is None
                              else _number("phi_threshold", phi_threshold, 0.0, strict=True))
        if isinstance(window, bool) or not isinstance(window, int) or window < 2:
            raise InvalidValueError(f"window must be an int >= 2, got {window!r}")
        if isinstance(min_samples, bool) or not isinstance(min_samples, int) or not (
                1 <= min_samples <= window):
            raise InvalidValueError(
                f"min_samples must be an int in [1, window], got {min_samples!r}")
        self.window = window
        self.min_samples = min_samples
        self.min_std = _number("min_std", min_std, 0.0, strict=True)
        self._peers: dict[str, PeerRecord] = {}
        #: the latest time an input (:meth:`heard_from`, :meth:`timed_out`) came at
        self._latest = -math.inf

    # ------------------------------------------------------------------ inputs

    def heard_from(self, node: str, now: float) -> None:
        """A message or reply from ``node`` arrived at ``now``: it is alive. (Without
        phi accrual the arrival times are not kept: only a suspicion is cleared.)"""
        # (:meth:`_stepped`'s hot path inline: a finite float not before the latest,
        # once per message; session 44)
        if type(now) is float and now >= self._latest and -math.inf < now < math.inf:
            self._latest = now
        else:
            self._stepped(now)
        if self.phi_threshold is None:
            held = self._peers.get(node)
            if held is None or (held.suspected_until is None and not held.timeouts):
                return  # the hot path: nothing to clear, no samples needed
        peer = self._peer(node)
        now = _number("now", now, -math.inf)
        if peer.last_heard is not None and now > peer.last_heard:
            peer.intervals.append(now - peer.last_heard)
            if len(peer.intervals) > self.window:
                peer.intervals.popleft()
        if peer.last_heard is None or now > peer.last_heard:
            peer.last_heard = now
        peer.suspected_until = None
        peer.timeouts = 0

    heartbeat = heard_from

    def timed_out(self, node: str, now: float) -> None:
        """A request to ``node`` got no answer by ``now``: avoid it for a while."""
        self._stepped(now)
        peer = self._peer(node)
        now = _number("now", now, -math.inf)
        wait = min(self.retry_after * 2.0 ** min(peer.timeouts, 62), self.max_retry_after)
        peer.timeouts += 1
        until = now + wait
        if peer.suspected_until is None or until > peer.suspected_until:
            peer.suspected_until = until

    def _stepped(self, now: float) -> None:
        """An input at ``now``, before the latest one: the node's clock stepped back
        (the simulator's ``set_skew``; the runtime's clock is monotonic), and every
        arrival and suspicion kept is moved back by the step, so that they are
        counted on the new clock. Before (session 23's review), the last arrival
        stayed "later" than now for the step's length and phi stayed 0: with
        phi accrual a peer that crashed after a -3,600 s step was never suspected
        (phi 0.0 60 s later; 28.6 at 5 s without the step;
        tests/impl/test_data_fix_review.py), the kind of the hint resend's stepped
        clock (session 22's data probe)."""
        if type(now) is float and now >= self._latest and math.isfinite(now):
            self._latest = now  # the hot path: a finite float not before the latest
            return  # (the checks below, for every message: session 31)
        now = _number("now", now, -math.inf)
        if now >= self._latest:
            self._latest = now
            return
        step = now - self._latest
        self._latest = now
        for peer in self._peers.values():
            if peer.last_heard is not None:
                peer.last_heard += step
            if peer.suspected_until is not None:
                peer.suspected_until += step

    def set_suspected(self, suspected: dict[str, float]) -> None:
        """Replace every suspicion: exactly ``{node: until}`` are suspected, each until
        its time (seconds; ``math.inf``: for ever). An oracle for drivers and tests."""
        for peer in self._peers.values():
            peer.suspected_until = None
        for node, until in suspected.items():
            self._peer(node).suspected_until = float(until)

    def suspicions(self, now: float) -> dict[str, float]:
        """``{node: until}`` for every peer a timeout keeps out at ``now``."""
        return {node: peer.suspected_until for node, peer in sorted(self._peers.items())
                if peer.suspected_until is not None and now < peer.suspected_until}

    def forget(self, node: str) -> None:
        """Drop what is known of ``node`` (it left the ring)."""
        self._peers.pop(node, None)

    # ------------------------------------------------------------------ questions

    def phi(self, node: str, now: float) -> float:
        """The suspicion level of ``node`` at ``now`` (0 without enough samples)."""
        peer = self._peers.get(node)
        if peer is None or peer.last_heard is None or len(peer.intervals) < self.min_samples:
            return 0.0
        elapsed = _number("now", now, -math.inf) - peer.last_heard
        if elapsed <= 0:
            return 0.0
        count = len(peer.intervals)
        mean = sum(peer.intervals) / count
        variance = sum((x - mean) ** 2 for x in peer.intervals) / count
        std = max(math.sqrt(variance), self.min_std)
        later = 0.5 * math.erfc((elapsed - mean) / (std * math.sqrt(2.0)))
        if later <= 0.0:
            return math.inf
        return max(0.0, -math.log10(later))

    def is_suspected(self, node: str, now: float) -> bool:
        """Whether a recent timeout keeps ``node`` out until its retry time."""
        peer = self._peers.get(node)
        return (peer is not None and peer.suspected_until is not None
                and now < peer.suspected_until)

    def is_available(self, node: str, now: float) -> bool:
        """Should the coordinator send to ``node`` at ``now``?"""
        if self.is_suspected(node, now):
            return False
        return self.phi_threshold is None or self.phi(node, now) < self.phi_threshold

    def available(self, nodes: tuple[str, ...] | list[str], now: float) -> list[str]:
        """The available nodes among ``nodes``, in the given order."""
        return [n for n in nodes if self.is_available(n, now)]

    def record(self, node: str) -> PeerRecord | None:
        """What is known of ``node`` (for tests and introspection)."""
        return self._peers.get(node)

    # ------------------------------------------------------------------ internals

    def _peer(self, node: str) -> PeerRecord:
        if not isinstance(node, str) or not node:
            raise InvalidValueError(f"node must be a non-empty str, got {node!r:.80}")
        peer = self._peers.get(node)
        if peer is None:
            peer = self._peers[node] = PeerRecord()
        return peer
