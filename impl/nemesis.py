"""The nemesis: random crashes, disk losses and partitions of a simulated run (Jepsen's term).

Theory of operation
-------------------
When started, the :class:`Nemesis` of a :class:`~impl.simulator.Simulator`
schedules, as ordinary events of the simulator's queue, a crash every
``Faults.crash_interval`` virtual seconds on average (exponential gaps; the
victim is a random up node, while fewer than ``max_down`` are down and fewer
than ``max_crashes`` crashed so far) with its restart ``downtime`` later, and a
partition every ``partition_interval`` seconds on average (a random split of
the members, one-way with probability ``one_way_partitions``; only when no link
is cut and fewer than ``max_partitions`` happened) healed ``partition_duration``
later. With ``Faults.disk_loss`` (session 34) a crash is, with that
probability and while fewer than ``max_disk_losses`` happened, a disk loss: the
victim's disk is replaced (:meth:`~impl.simulator.Simulator.lose_disk`) and it
restarts on an empty storage engine. Every choice is drawn from the simulator's
seeded generator, in the order the events happen, so a seed gives one run; the
disk-loss coin from a generator of its own (derived from the seed), so that
a run with ``disk_loss`` differs from the same seed's run without it only
from its first disk loss on. Stopping it stops new crashes and partitions;
scheduled restarts and heals still happen.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from impl.faults import derive_seed

if TYPE_CHECKING:
    from impl.simulator import Simulator

__all__ = ["Nemesis"]


class Nemesis:
    """The random crashes, disk losses and partitions of ``sim`` (see the module
    docstring)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.started = False
        #: the disk-loss coin's own generator (the module docstring)
        self.disk_rng = random.Random(derive_seed(sim.seed, "nemesis", "disk-loss"))

    def start(self) -> None:
        """Schedule the first crash and the first partition ``sim.faults`` asks for."""
        if self.started:
            return
        self.started = True
        sim, faults = self.sim, self.sim.faults
        if faults.crash_interval is not None:
            sim.schedule(sim.now + sim.rng.expovariate(1.0 / faults.crash_interval),
                         self._crash)
        if faults.partition_interval is not None:
            sim.schedule(sim.now + sim.rng.expovariate(1.0 / faults.partition_interval),
                         self._partition)

    def stop(self) -> None:
        """No more crashes or partitions start."""
        self.started = False

    def _allow(self, stat: str, bound: int | None) -> bool:
        return bound is None or self.sim.stats[stat] < bound

    def _crash(self) -> None:
        if not self.started:
            return
        sim, faults = self.sim, self.sim.faults
        up = [name for name in sim.members if name in sim.nodes]
        down = sum(1 for name in sim.members if name not in sim.nodes)
        if down < faults.max_down and up and self._allow("crashes", faults.max_crashes):
            victim = sim.rng.choice(up)
            if (faults.disk_loss and self._allow("disk_losses", faults.max_disk_losses)
                    and self.disk_rng.random() < faults.disk_loss):
                sim.lose_disk(victim)
            else:
                sim.crash(victim)
            sim.schedule(sim.now + sim.rng.uniform(*faults.downtime),
                         lambda: self._restart(victim))
        assert faults.crash_interval is not None
        sim.schedule(sim.now + sim.rng.expovariate(1.0 / faults.crash_interval), self._crash)

    def _restart(self, victim: str) -> None:
        if victim in self.sim.members and self.sim.is_down(victim):
            self.sim.restart(victim)

    def _partition(self) -> None:
        if not self.started:
            return
        sim, faults = self.sim, self.sim.faults
        if (not sim.cut_links and self._allow("partitions", faults.max_partitions)
                and len(sim.members) > 1):
            shuffled = list(sim.members)
            sim.rng.shuffle(shuffled)
            cut = sim.rng.randint(1, len(shuffled) - 1)
            left, right = shuffled[:cut], shuffled[cut:]
            if faults.one_way_partitions and sim.rng.random() < faults.one_way_partitions:
                sim.partition_one_way(left, right)
            else:
                sim.partition(left, right)
            sim.schedule(sim.now + sim.rng.uniform(*faults.partition_duration), sim.heal)
        assert faults.partition_interval is not None
        sim.schedule(sim.now + sim.rng.expovariate(1.0 / faults.partition_interval),
                     self._partition)
