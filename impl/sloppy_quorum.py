"""The sloppy quorum: which nodes a request goes to (Dynamo paper, sections 4.5-4.6).

Theory of operation
-------------------
A key's *preference list* is the ring's walk from the key's position (distinct
nodes); its first N nodes are the request's *targets*. With the sloppy quorum
on, the rest of the list is the request's *fallbacks*, in order: when a target is
believed unreachable (the failure detector suspects it) or stays silent, its
share of the work goes to the first fallback not used yet and believed
reachable, with a hint naming the target (its *intended* node). With the sloppy
quorum off (a strict quorum) there are no fallbacks: a silent target is asked
again.

:class:`SloppyQuorum` answers these questions for the coordinators; it owns the
table of preference lists (one per partition of the current ring: every key of
a partition has the same list, :meth:`spec.ring.Partitioning.ranges`; a key
finds its partition by a binary search on its position) and asks
the failure detector (:mod:`impl.failure_detector`, the only owner of suspicion)
whether a node is reachable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from impl.config import ClusterConfig
from impl.failure_detector import FailureDetector
from impl.positions import PreferenceLists
from spec.ring import Partitioning

__all__ = ["SloppyQuorum", "next_fallback", "shortfall"]


def next_fallback(fallbacks: tuple[str, ...], used: Iterable[str],
                  reachable: Callable[[str], bool]) -> str | None:
    """The first node down the preference list not used yet and believed reachable."""
    taken = set(used)
    for node in fallbacks:
        if node not in taken and reachable(node):
            return node
    return None


def shortfall(letter: str, got: int, quorum: int, primaries: Iterable[str],
              primary_quorum: int, noun: str) -> tuple[str, int, int]:
    """(what a request short of its quorum reached, the quorum it needed, what it
    got), for its failure's message: ``"1 of R=2 replicas"`` (``letter`` R or W, ``got``
    of ``quorum``), or, with a primary quorum (``primary_quorum``, PR or PW) the
    ``primaries`` do not make, ``"1 of PR=2 primaries (n1)"`` when ``quorum`` was
    reached (Riak's ``pr_val_unsatisfied``, ``pw_val_unsatisfied``), both when
    neither was; ``noun``: what ``got`` counts (``replicas``)."""
    named = sorted(primaries)
    short = len(named) < primary_quorum
    of_primaries = (f"{len(named)} of P{letter}={primary_quorum} primaries "
                    f"({', '.join(named) or 'none'})")
    if short and got >= quorum:
        return of_primaries, primary_quorum, len(named)
    return (f"{got} of {letter}={quorum} {noun}" + (f" and {of_primaries}" if short else ""),
            quorum, got)


class SloppyQuorum:
    """Targets and fallbacks of a key, as node ``name`` sees the ring.

    ``ring`` returns the current routing partitioning (membership owns it);
    ``detector`` is the node's failure detector.
    """

    def __init__(self, name: str, config: ClusterConfig, detector: FailureDetector,
                 ring: Callable[[], Partitioning],
                 previous: Callable[[], Partitioning | None] = lambda: None,
                 future: Callable[[], Partitioning | None] = lambda: None,
                 removed: Callable[[str], bool] = lambda node: False,
                 guessed: Callable[[], tuple[str, ...]] = tuple) -> None:
        self.name = name
        self.config = config
        self.detector = detector
        self._ring = ring
        #: the serving ring before its last change, while requests run on both
        #: (a joint quorum; None: not in a change)
        self._previous = previous
        #: the ring the ranges are moving to (pending ownership; None or the routing
        #: ring itself: no range is moving)
        self._future = future
        #: whether a node was force-removed (:meth:`impl.gossip.Gossiper.is_removed`)
        self._removed = removed
        #: the members a get asks while the serving ring is a guess, none otherwise
        #: (:meth:`impl.gossip.Gossiper.guessed_members`)
        self.guessed = guessed
        #: the current ring's preference lists, one per partition
        self._preferences = PreferenceLists()
        #: the same of the ring before the change and of the future ring, while a
        #: change is under way (:meth:`groups` asks them at every request then;
        #: session 43: a walk of the ring each time, 3% of a membership test's CPU)
        self._previous_lists = PreferenceLists()
        self._future_lists = PreferenceLists()

    def preference_list(self, key: bytes) -> tuple[str, ...]:
        """The key's preference list on the current ring (targets first)."""
        return self._preferences.of(self._ring(), key)

    def split(self, key: bytes, *, writing: bool = False
              ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``(targets, fallbacks)``: the key's top N, and (sloppy quorum) the rest of
        its preference list in order (strict quorum: none). During a membership change
        with pending ownership the targets are those of both :meth:`groups` (the
        current top N first)."""
        preference = self.preference_list(key)
        targets = preference[: self.config.n]
        for group in self.groups(key, writing=writing):
            targets += tuple(node for node in group if node not in targets)
        fallbacks = (tuple(node for node in preference[self.config.n:] if node not in targets)
                     if self.config.sloppy_quorum else ())
        return targets, fallbacks

    def groups(self, key: bytes, *, writing: bool = False) -> tuple[tuple[str, ...], ...]:
        """The quorum groups of a request for ``key`` (each must give R replies or W
        acks; empty: the plain count over the targets), the spec's
        ``Coordination.groups`` (spec/membership.py): after the handover, until the
        change settles (``previous`` set), the old and the current top N for reads and
        writes; before it (the ranges are still moving to the ``future`` ring), the
        current and the future top N for writes, reads from the current one alone; a
        write while a change settles and another moves ranges (two changes overlap)
        goes to all three, so the pending owners get it too (before, the future ring
        was ignored while ``previous`` was set). A force-removed node in the old top N
        is replaced only by a node that took its place on the current and the future
        ring alike (:meth:`_replacing_removed`). Each group is sorted by name, and
        distinct."""
        n = self.config.n
        previous = self._previous()
        future = self._future()
        if future is self._ring():
            future = None  # no range is moving
        if previous is None and future is None:
            return ()  # no change in progress: one group, the top N (session 31: asked
            #            twice per request, it sorted the top N twice each time)
        current = self.preference_list(key)[:n]
        coming = (current if future is None  # the future top N, if moving
                  else self._future_lists.of(future, key)[:n])
        tops = [] if previous is None else [self._replacing_removed(
            self._previous_lists.of(previous, key)[:n], current, coming)]
        tops.append(current)
        if writing:
            tops.append(coming)
        groups: list[tuple[str, ...]] = []
        for top in tops:
            if tuple(sorted(top)) not in groups:
                groups.append(tuple(sorted(top)))
        return tuple(groups) if len(groups) > 1 else ()

    def _replacing_removed(self, old: tuple[str, ...], current: tuple[str, ...],
                           coming: tuple[str, ...]) -> tuple[str, ...]:
        """The old top N ``old`` with each force-removed node in it replaced by a node
        that took its place both in the ``current`` top N and in the ``coming`` one
        (the future ring's while another change moves ranges, else ``current``): one
        not in ``old``, in order. A removed node never answers again: with it, the old
        group could give at most N - 1 replies, and a get at R = N or a put at W = N
        failed from the handover of the removal to its settlement (session 18's
        review: 4-5 of 10 keys at R = 3 each time, seeds 1-3, strategies 1 and 3). The
        node that took its place holds its ranges: the survivors handed them over
        before the handover, to the future ring's owners, and a write through a node
        that had not seen the handover went to the future top N too (:meth:`groups`:
        writes while ranges move), so R within the current top N alone still meets
        every acknowledged write. A removed node no such node took the place of stays
        (as before), so the old group needs R replies of the surviving old owners:
        a join crossing the removal (its node took its tokens before its seed heard of
        the removal) made the survivors hand the removed node's ranges to the future
        ring with the joiner, not to the serving ring's taker, and that taker, given
        the place before it heard the join handed over, answered a get at R = 1 from
        its empty store (session 22, strategy 2, seed 6, n0 joining 0.1 s after n1
        began removing n6: k12, k18 and k24 not found through n4; docs/runtime.md,
        "Stale reads when a join crosses a removal under strategy 2"). A get or put
        needing all N of the old group fails meanwhile (unavailable, not stale)."""
        if not any(self._removed(node) for node in old):
            return old
        takers = iter([node for node in current if node not in old and node in coming])
        return tuple(next(takers, node) if self._removed(node) else node for node in old)

    def reachable(self, node: str, now: float) -> bool:
        """Whether the failure detector believes ``node`` reachable at ``now``."""
        return node == self.name or self.detector.is_available(node, now)

    def suspect(self, node: str, now: float) -> None:
        """A request to ``node`` went unanswered: tell the failure detector."""
        if node != self.name:
            self.detector.timed_out(node, now)

    def give_up(self, sent_to: Mapping[str, str], target: str, now: float) -> None:
        """A coordinator gives up on the node ``target``'s share was sent to: suspect it."""
        node = sent_to.get(target)
        if node is not None:
            self.suspect(node, now)

    def fallback(self, fallbacks: tuple[str, ...], used: Iterable[str],
                 now: float) -> str | None:
        """The next fallback for a silent target (None: none left, or strict quorum)."""
        return next_fallback(fallbacks, used, lambda node: self.reachable(node, now))
