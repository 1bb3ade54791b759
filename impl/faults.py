"""The simulator's fault model: what the network and the nemesis may do, and how often.

Theory of operation
-------------------
A :class:`Faults` value is the whole fault configuration of a simulated run:
per message copy, the probabilities (and optional bounds on the counts) of loss,
duplication and reordering, and the :class:`Delay` distribution; the nemesis'
crash and partition rates, durations and bounds (:mod:`impl.nemesis`); the
bound on clock skew. Every value is validated when it is built (a bad one raises
:class:`~impl.errors.ConfigError` naming the field). :func:`derive_seed` derives
the per-node and per-purpose seeds from a run's seed, stably across processes.
Durations are in virtual seconds.
"""

from __future__ import annotations

import enum
import hashlib
import random
from dataclasses import dataclass, field

from impl.errors import ConfigError

__all__ = ["Delay", "Distribution", "Faults", "derive_seed"]


class Distribution(enum.Enum):
    """Shape of the network delay."""

    CONSTANT = "constant"
    UNIFORM = "uniform"
    EXPONENTIAL = "exponential"


#: (module constants: under Python 3.11 an enum member read off its class costs about
#: 0.5 us, two per message copy's :meth:`Delay.draw`; session 44)
_CONSTANT = Distribution.CONSTANT
_UNIFORM = Distribution.UNIFORM


@dataclass(frozen=True, slots=True)
class Delay:
    """Network delay of one message copy, in virtual seconds.

    ``constant``: always ``base``. ``uniform``: ``base + U(0, spread)``.
    ``exponential``: ``base + Exp(mean=spread)``, capped at ``base + 20 * spread``.
    """

    distribution: Distribution = Distribution.UNIFORM
    base: float = 0.001
    spread: float = 0.004

    def __post_init__(self) -> None:
        if not isinstance(self.distribution, Distribution):
            raise ConfigError("Delay.distribution must be a Distribution, "
                              f"got {self.distribution!r}")
        if not (self.base >= 0 and self.spread >= 0):
            raise ConfigError(f"Delay.base and Delay.spread must be >= 0, got {self.base}, "
                              f"{self.spread}")

    @classmethod
    def constant(cls, seconds: float) -> Delay:
        return cls(Distribution.CONSTANT, seconds, 0.0)

    @classmethod
    def uniform(cls, low: float, high: float) -> Delay:
        if high < low:
            raise ConfigError(f"Delay.uniform: high {high} < low {low}")
        return cls(Distribution.UNIFORM, low, high - low)

    @classmethod
    def exponential(cls, base: float, mean: float) -> Delay:
        return cls(Distribution.EXPONENTIAL, base, mean)

    def draw(self, rng: random.Random) -> float:
        if self.distribution is _CONSTANT or self.spread == 0.0:
            return self.base
        if self.distribution is _UNIFORM:
            return self.base + rng.random() * self.spread
        return self.base + min(rng.expovariate(1.0 / self.spread), 20.0 * self.spread)


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"Faults.{name} must be a probability in [0, 1], got {value!r}")


def _check_bound(name: str, value: int | None) -> None:
    if value is not None and value < 0:
        raise ConfigError(f"Faults.{name} must be None (unbounded) or >= 0, got {value!r}")


def _check_range(name: str, value: tuple[float, float]) -> None:
    if len(value) != 2 or not 0.0 <= value[0] <= value[1]:
        raise ConfigError(f"Faults.{name} must be (low, high) with 0 <= low <= high, "
                          f"got {value!r}")


@dataclass(frozen=True, slots=True)
class Faults:
    """Every fault the simulator can inject; all off by default.

    Every duration (``reorder_delay``, ``max_clock_skew``, ``crash_interval``,
    ``downtime``, ``partition_interval``, ``partition_duration``) is in virtual
    seconds, the simulator's clock; a bad value raises ConfigError.

    Network (drawn per message when it is sent): ``loss``, ``duplication`` and
    ``reorder`` are probabilities, each bounded by ``max_*`` (None: unbounded);
    a reordered message waits ``reorder_delay`` more, so later ones overtake it.
    ``delay`` is every copy's delay. ``max_clock_skew``: each node's clock is off
    by a uniform draw in ``[-max_clock_skew, +max_clock_skew]``.

    The *nemesis* (scheduled faults): with ``crash_interval`` set, a random up
    node crashes after an exponential wait of that mean, stays down for a
    duration drawn from ``downtime`` and restarts; at most ``max_down`` nodes are
    down at once and ``max_crashes`` in all. With ``partition_interval`` set, the
    nodes are split in two random groups for a duration drawn from
    ``partition_duration`` (one-way with probability ``one_way_partitions``), at
    most ``max_partitions`` times. ``disk_loss`` (a probability, session 34): a
    crash of the nemesis replaces the victim's disk (it restarts on an empty
    storage engine: :meth:`impl.simulator.Simulator.lose_disk`), at most
    ``max_disk_losses`` times (None: unbounded).
    """

    loss: float = 0.0
    max_losses: int | None = None
    duplication: float = 0.0
    max_duplicates: int | None = None
    reorder: float = 0.0
    max_reorders: int | None = None
    reorder_delay: float = 0.05
    delay: Delay = field(default_factory=Delay)
    max_clock_skew: float = 0.0
    crash_interval: float | None = None
    max_crashes: int | None = None
    downtime: tuple[float, float] = (1.0, 5.0)
    max_down: int = 1
    partition_interval: float | None = None
    max_partitions: int | None = None
    partition_duration: tuple[float, float] = (1.0, 5.0)
    one_way_partitions: float = 0.0
    disk_loss: float = 0.0
    max_disk_losses: int | None = None

    def __post_init__(self) -> None:
        for name in ("loss", "duplication", "reorder", "one_way_partitions", "disk_loss"):
            _check_probability(name, getattr(self, name))
        for name in ("max_losses", "max_duplicates", "max_reorders", "max_crashes",
                     "max_partitions", "max_disk_losses"):
            _check_bound(name, getattr(self, name))
        _check_range("downtime", self.downtime)
        _check_range("partition_duration", self.partition_duration)
        for name in ("reorder_delay", "max_clock_skew"):
            if getattr(self, name) < 0:
                raise ConfigError(f"Faults.{name} must be >= 0, got {getattr(self, name)!r}")
        for name in ("crash_interval", "partition_interval"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"Faults.{name} must be None (off) or > 0, got {value!r}")
        if self.max_down < 0:
            raise ConfigError(f"Faults.max_down must be >= 0, got {self.max_down!r}")
        if not isinstance(self.delay, Delay):
            raise ConfigError(f"Faults.delay must be a Delay, got {self.delay!r}")

    @classmethod
    def none(cls) -> Faults:
        """No faults at all (the default)."""
        return cls()


def derive_seed(seed: int, *parts: object) -> int:
    """A 64-bit seed derived from ``seed`` and ``parts``, stable across processes."""
    text = ":".join([str(seed), *map(str, parts)]).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big")
