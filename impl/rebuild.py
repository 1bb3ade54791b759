"""A replaced disk's rebuild: a node whose store peers knew at an earlier
generation does not count its empty copies towards R until anti-entropy has
rebuilt it (session 16's data probe, ``tests/impl/test_wiped_node_reads.py``).

The quorum intersection R + W > N assumes a replica's answer holds what it
acknowledged; a replaced disk holds nothing it acknowledged. Such a store is
found by the restore guard: a fresh store (nothing in it at its start) told by a
peer's gossip of an earlier start of its own store (``restore-fresh-renewed``,
:meth:`impl.node.Node._set_aside`) is a replaced disk of a known member. From
then the node is *rebuilding*. So is a restored store set aside (told of a
later start of its own: ``restore-set-aside``), which holds no more of what it
acknowledged than a replaced disk does:

- a ``ReplicaGet`` of a key it holds no record of, or of a key in a range it
  has not rebuilt yet (:meth:`Rebuild.unrebuilt`), gets no answer (the
  coordinator's replica timeout and its fallbacks handle the silence, and R
  counts only replicas that hold their data: Riak's ``notfound_ok = false``);
- as a coordinator, its own read of such a key does not count towards R
  (:attr:`impl.get_coordinator.GetCoordination.uncounted`);
- a silent replica never lets a reap through (the safe rule,
  :func:`impl.reaping.all_targets_hold`, needs every target's own answer).

It is *rebuilt* once anti-entropy has completed an exchange with every other
replica of every key range it replicates (:attr:`Rebuild.pending`, the pairs
``(range, peer)`` still to do; a ring change recomputes it), since it became
rebuilding (Cassandra streams a replaced node's ranges before it serves reads:
``replace_address``). An exchange is complete at this node when it compares a
step and finds the trees in sync, or merges the peer's answer to its whole batch
of out-of-sync records (:meth:`impl.antientropy.AntiEntropy.on_key_records`; a
peer's batch, which the per-message bounds may have cut short unseen, does not
complete it), and only in an exchange live at this node since it became
rebuilding: one it opened (a peer's exchange does not count, session 36's review)
(:meth:`impl.antientropy.AntiEntropy.forget_sessions`; session 36). A peer's
root found in sync, or a peer's answer to a root of the store before, may be a
message sent before the disk was replaced, delivered after the restart, that
compares the peer's tree of then (before a write the two acknowledged) with the
rebuilt one (with 3 nodes, such held steps ended the rebuild without a write n1
and n2 acknowledged, and a get at R = 2 read it not found:
``tests/impl/test_stale_exchange_after_wipe.py``).

A record it holds of a range not rebuilt is no better than none: it may be a
stale replica's copy, taken from that replica's anti-entropy batch or a hint,
without the acknowledged versions the replicas not exchanged with yet hold
(session 17: with the rule "silent only when it holds nothing", a get through the
replica that missed 20 deletes read 2 to 4 deleted values back with seeds 19, 21
and 38 of 1-40, the wiped node answering the stale copies n3's anti-entropy had
just sent it). A key written through the node since is no exception: the write
made the node's copy hold it, not what was acknowledged before. Until the
whole store is rebuilt its acknowledgements do not count towards W either (its
own write as a coordinator, its ``ReplicaPutAck``, its ``HintAck`` of a range
not rebuilt: :meth:`impl.node.Node._unacked_if_rebuilding`, session 54; before,
a W = 1 write it acknowledged alone was not read at R = 3 through another
owner), so R + W > N holds among the other replicas: W acknowledgements of the
others, and at least R - 1 answers of the others. Its silences make peers suspect
it for a while after the rebuild ends, so its acks and its own reads stay uncounted
until no peer can (:meth:`impl.node.Node._acks_uncounted`, session 54's review).

Stats: ``rebuilding``, ``rebuild-silent-get``, ``rebuild-uncounted-read``,
``rebuild-unacked-put``, ``rebuild-unacked-hint``, ``rebuild-uncounted-own-write``,
``rebuilt``. Off with the restore guard (``restore_guard = false``): no store is
ever told it was replaced, so none is ever rebuilding.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Pair", "Rebuild"]

#: (a key range ``(lo, hi)`` this node replicates, another replica of it)
Pair = tuple[tuple[int, int], str]


class Rebuild:
    """One node's rebuild state (module docstring). ``required`` returns the pairs
    the node must complete an exchange with on its current ring."""

    def __init__(self, required: Callable[[], set[Pair]]) -> None:
        self._required = required
        #: whether the node is rebuilding
        self.active = False
        #: the pairs completed since it became rebuilding
        self.done: set[Pair] = set()
        #: the pairs still to do (empty when not rebuilding)
        self.pending: set[Pair] = set()
        #: the ranges of those pairs: not rebuilt yet
        self._ranges: set[tuple[int, int]] = set()
        #: whether a rebuild with no range yet waits for one (:meth:`begin`)
        self._hold = False

    def unrebuilt(self, key_range: tuple[int, int] | None) -> bool:
        """Whether the node, rebuilding, has not rebuilt ``key_range`` (a range it
        replicates; None, a key of none: not rebuilt either) yet."""
        return self.active and (key_range is None or key_range in self._ranges)

    def _pending(self, pending: set[Pair]) -> None:
        self.pending = pending
        self._ranges = {key_range for key_range, _ in pending}

    def begin(self, *, hold: bool = False) -> bool:
        """The store was found to be a replaced disk: rebuilding from now on, until
        every pair is done. False: it has no range to rebuild (rebuilt at once),
        unless ``hold``: then it waits for the ranges a ring change gives it (a
        node that joined, its disk replaced, rejoins and holds no range when it is
        told: session 17's review) and rebuilds those."""
        self.active, self.done, self._hold = True, set(), hold
        self._pending(set(self._required()))
        if not self.pending and not hold:
            self.active = False
        return self.active

    def synced(self, pair: Pair) -> bool:
        """An exchange of ``pair`` completed: whether that ended the rebuild."""
        if not self.active:
            return False
        if pair not in self.pending:  # a range not (or no longer) to rebuild
            self.done.add(pair)
            return False
        self.done.add(pair)
        self._pending(self.pending - {pair})
        if self.pending:
            return False
        self.active = False
        return True

    def keep(self, pairs: set[Pair]) -> bool:
        """A rebuild just begun again (:meth:`begin`) counts ``pairs`` done: their
        exchanges completed and their merges are known durable (a failed write
        lost only those after: :meth:`impl.node.Node.persist_failed`). Whether that
        ended it. Review of red team 11 (session 60): every exchange was done again
        at each failure, so a disk failing more often than a whole rebuild takes
        kept the node rebuilding for ever."""
        left = self.pending - pairs
        if not self.active or left == self.pending:
            return False
        self.done |= pairs
        self._pending(left)
        if left:
            return False
        self.active = False
        return True

    def on_ring_change(self) -> bool:
        """The ring changed: the pairs still to do are the new ring's less those
        done. Whether that ended the rebuild."""
        if not self.active:
            return False
        required = set(self._required())
        self._pending(required - self.done)
        if self.pending or (self._hold and not required):
            return False
        self.active = False
        return True
