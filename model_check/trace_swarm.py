"""The runs trace validation checks (:mod:`model_check.trace_validation`): the spec
configuration, the fault mix drawn per seed (swarm testing) and the per-seed report.

Swarm testing (Groce et al., 2012): rather than one fixed mix of faults, each
seed turns each fault kind on or off with probability 1/2 and draws its rate,
so some runs see only crashes, some only loss and reordering, some everything.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from dataclasses import dataclass, field

from impl.faults import Delay, Faults
from spec.config import Config
from spec.errors import ConfigError

__all__ = ["MAX_DISK_LOSSES", "REBUILD_STATS", "TWO_KEYS", "SeedReport", "Swarm", "trace_config"]

#: an unbounded fault budget (the impl's faults are drawn by the simulator)
_UNBOUNDED = 10**6
#: the two-key runs' keys (``vdynamo validate --keys 2``, session 31): on the four
#: nodes k is replicated on n4, n1, n2 and j on n2, n3, n4, so the keys' replica
#: sets differ (n1 holds k alone, n3 j alone), as in the suite's dvv-two-keys-drop
TWO_KEYS = ("k", "j")
#: the most disk losses of one run (:attr:`Swarm.disk_loss`, session 34)
MAX_DISK_LOSSES = 2
#: the implementation's counts of its rebuild rules acting (``impl.node.Node.stats``,
#: session 56): its own read and its own write uncounted, a replica get unanswered, a
#: replica put and a hint delivery stored and not acknowledged
REBUILD_STATS = ("rebuild-uncounted-read", "rebuild-uncounted-own-write",
                 "rebuild-silent-get", "rebuild-unacked-put", "rebuild-unacked-hint")


def trace_config(*, clients: int = 3, rounds: int = 3, clock: str = "dvv",
                 membership: str | None = None, handover: str = "pending",
                 keys: tuple[str, ...] = ("k",), hinted_reads: bool = True,
                 write_failures: bool = False, actor_epochs: bool = False) -> Config:
    """The spec configuration the trace-validation runs are checked against: four
    nodes, N=3 R=2 W=2, sloppy quorum, hinted handoff, anti-entropy, the ``keys``
    (one key, ``k``, unless given: :data:`TWO_KEYS` for the two-key runs, whose
    clients pick a key per operation), ``clients`` clients each doing ``rounds``
    read-then-write rounds, unbounded fault budgets. ``read_repair`` is off in the
    spec because the trace spec does read repair itself when the impl's get ends
    (``late-read-repair``, module docstring); the impl runs with read repair on.

    ``membership`` ``"join"`` or ``"leave"``: a run with one membership change
    (:mod:`model_check.trace_membership`), as the suite's join and leave entries
    (the spec models them with a strict quorum and without anti-entropy): n4 joins
    n1..n3, or one of n1..n4 leaves, with ``join_handover = handover``. Raises
    ConfigError for another value.

    The spec allows disk losses (``[faults] disk_losses`` unbounded, session 34):
    the nemesis' disk losses (:attr:`Swarm.disk_loss`) are its ``DiskLoss``; with
    ``actor_epochs = false`` (the implementation's too) a replaced disk mints under
    the node's bare name again, in both. ``actor_epochs=True`` (session 58): every
    storage lifetime mints under an actor of its own, in both (the implementation's
    default; ``actor_per_start = false`` in both, the spec's ``Recover`` keeping the
    lifetime, as the lockstep's), so no dot repeats.

    ``hinted_reads`` (session 49): a fallback answers a replica get with its copy
    merged with its hints of the key, in both (``features.hinted_reads``,
    ``impl.config.ClusterConfig.hinted_reads``). On by default since session 50:
    the implementation's default is the behaviour validated (session 49 ran it off,
    the spec's default rule, on which the pinned seeds had been chosen; with it on
    the schedules of most seeds are the same, docs/refinement.md "Trace validation
    with hinted reads by default (session 50)"). ``hinted_reads=False`` validates
    the rule of hints kept apart.

    ``write_failures`` (session 52): the spec's failing disk, unbounded
    (``[faults] write_failures``): the runs whose swarm draws refused writes
    (:attr:`Swarm.write_failure`) validate each as the spec's ``FailedWrite``."""
    name = f"trace-{clock}" if keys == ("k",) else f"trace-{len(keys)}-keys-{clock}"
    base = Config(name=name, nodes=("n1", "n2", "n3", "n4"), n=3, r=2, w=2,
                  sloppy_quorum=True, clock=clock, hinted_handoff=True, read_repair=False,
                  anti_entropy=True, actor_epochs=actor_epochs, drops=_UNBOUNDED,
                  duplicates=_UNBOUNDED, crashes=_UNBOUNDED, partitions=_UNBOUNDED,
                  disk_losses=_UNBOUNDED, keys=keys, clients=clients, puts_per_client=rounds,
                  gets_per_client=rounds, coordinator="top-n", hinted_reads=hinted_reads,
                  write_failures=_UNBOUNDED if write_failures else 0,
                  rebuild=True)  # (session 55: the implementation's rebuild, spec.rebuild)
    if write_failures:  # (session 53) clients send some puts outside the top N: forwards
        base = dataclasses.replace(base, coordinator="any")
    if write_failures:
        base = dataclasses.replace(base, name=f"{name}-write-failures")
    if membership is None:
        return base
    if membership not in ("join", "leave"):
        raise ConfigError(f"membership: 'join' or 'leave', got {membership!r}")
    join = membership == "join"
    return dataclasses.replace(
        base, name=f"trace-{membership}-{handover}-{clock}", sloppy_quorum=False,
        anti_entropy=False, join_handover=handover, rebuild=False,
        nodes=("n1", "n2", "n3") if join else base.nodes,
        joining=("n4",) if join else (), joins=1 if join else 0, leaves=0 if join else 1)


@dataclass(frozen=True, slots=True)
class Swarm:
    """The fault mix of one seed (swarm testing: each seed turns each fault kind on
    or off and draws its rate). Probabilities per message; intervals and clock
    skew in seconds; None: that nemesis fault is off. ``disk_loss``: the
    probability that a crash of the nemesis is a disk loss (session 34; drawn only
    by ``draw(seed, disk_losses=True)``). ``write_failure``: the probability that a
    delivered ``ReplicaPut``'s writes are refused by its receiver's disk (session 52;
    drawn only by ``draw(seed, write_failures=True)``: a failing disk that refuses a
    replica's or a fallback's write; the validator arms it per event,
    :class:`model_check.trace_validation.TraceValidator`)."""

    loss: float = 0.0
    duplication: float = 0.0
    reorder: float = 0.0
    max_clock_skew: float = 0.0
    crash_interval: float | None = None
    partition_interval: float | None = None
    disk_loss: float = 0.0
    write_failure: float = 0.0
    #: the rebuild mix (session 56; ``draw(seed, rebuilds=True)``): the virtual second
    #: of the run's scripted disk loss of a node of the key's top N (None: none), its
    #: downtime in seconds, and the probability that a client's request goes to a node
    #: that rebuilds (``Node._acks_uncounted``) when one is among its entry nodes
    rebuild_at: float | None = None
    rebuild_down: float = 0.0
    to_rebuilding: float = 0.0

    @classmethod
    def draw(cls, seed: int, *, disk_losses: bool = False,
             write_failures: bool = False, rebuilds: bool = False) -> Swarm:
        """The mix of seed ``seed`` (its own generator, apart from the run's). With
        ``disk_losses`` the disk-loss fault is drawn too (on or off, and its rate),
        after the others: every other fault of the seed's mix is the same; so is
        ``write_failures`` (session 52), after the disk loss: on in every such seed
        (its rate drawn), the seeds' other faults as without it. ``rebuilds``
        (session 56), drawn last: one scripted disk loss early in the run (at 0.3-1.5
        s, down 0.2-0.8 s) and the clients' requests sent to the rebuilding node with
        a drawn probability (0.4-0.9), so that it coordinates gets and puts and its
        peers send it theirs while it rebuilds (:attr:`rebuild_at`)."""
        rng = random.Random(f"swarm-{seed}")

        def on() -> bool:
            return rng.random() < 0.5

        mix = cls(
            loss=round(rng.uniform(0.01, 0.08), 3) if on() else 0.0,
            duplication=round(rng.uniform(0.01, 0.05), 3) if on() else 0.0,
            reorder=round(rng.uniform(0.02, 0.1), 3) if on() else 0.0,
            max_clock_skew=round(rng.uniform(0.001, 0.05), 3) if on() else 0.0,
            crash_interval=round(rng.uniform(1.5, 6.0), 2) if on() else None,
            partition_interval=round(rng.uniform(2.0, 8.0), 2) if on() else None,
            disk_loss=(round(rng.uniform(0.25, 1.0), 2) if on() else 0.0) if disk_losses
            else 0.0,
            write_failure=round(rng.uniform(0.05, 0.4), 2) if write_failures else 0.0,
        )
        if not rebuilds:
            return mix
        return dataclasses.replace(
            mix, rebuild_at=round(rng.uniform(0.3, 1.5), 2),
            rebuild_down=round(rng.uniform(0.2, 0.8), 2),
            to_rebuilding=round(rng.uniform(0.4, 0.9), 2))

    def faults(self) -> Faults:
        """The simulator's fault settings for this mix (one node down at a time,
        symmetric partitions only: the spec has no one-way partition; at most
        :data:`MAX_DISK_LOSSES` disk losses a run)."""
        return Faults(loss=self.loss, duplication=self.duplication, reorder=self.reorder,
                      delay=Delay.uniform(0.001, 0.01), max_clock_skew=self.max_clock_skew,
                      crash_interval=self.crash_interval, downtime=(0.5, 3.0), max_down=1,
                      partition_interval=self.partition_interval,
                      partition_duration=(0.5, 3.0), one_way_partitions=0.0,
                      disk_loss=self.disk_loss, max_disk_losses=MAX_DISK_LOSSES)

    def text(self) -> str:
        parts = [f"{name}={value}" for name, value in (
            ("loss", self.loss), ("dup", self.duplication), ("reorder", self.reorder),
            ("skew", self.max_clock_skew), ("crash", self.crash_interval),
            ("partition", self.partition_interval), ("disk", self.disk_loss),
            ("refused", self.write_failure), ("rebuild-at", self.rebuild_at),
            ("down", self.rebuild_down), ("to-rebuilding", self.to_rebuilding)) if value]
        return " ".join(parts) or "no faults"


@dataclass(slots=True)
class SeedReport:
    """What one seed's validation saw: events validated, how (spec steps,
    stutters, hidden spec steps, trace-spec steps by name), the verdict
    (``ok``, ``spec-gap``, ``divergence`` or ``no-convergence``) and the reason."""

    seed: int
    swarm: Swarm
    events: int = 0
    spec_steps: int = 0
    stutters: int = 0
    hidden: int = 0
    trace_steps: Counter[str] = field(default_factory=Counter)
    #: the spec's membership steps taken, by kind (``join``, ``gossip``, ...)
    membership: Counter[str] = field(default_factory=Counter)
    #: the spec's forwarder retries taken (session 54), by kind (``forward-again``,
    #: ``forward-fallback``: :func:`spec.requests.forward_retries`)
    forwards: Counter[str] = field(default_factory=Counter)
    verdict: str = "ok"
    reason: str = ""
    impl_converged: bool | None = None
    spec_converged: bool | None = None
    wall_s: float = 0.0
    virtual_s: float = 0.0
    #: the run's :func:`trace_config` arguments when not the default ("" for it)
    setting: str = ""
    #: inputs a restarted node's startup shadow round held (stutters), and replayed
    #: (:meth:`model_check.trace_validation.TraceValidator._map`)
    held: int = 0
    replayed: int = 0
    #: the run's keys (:data:`TWO_KEYS` with ``vdynamo validate --keys 2``)
    keys: tuple[str, ...] = ("k",)
    #: what each key saw (two-key runs, session 31): ``"get k"``, ``"put k"`` (the
    #: client requests), ``"anti-entropy k"`` (the records of ``k`` an anti-entropy
    #: half delivered), ``"anti-entropy several keys"`` (a half that delivered the
    #: records of several keys at once: keys of one range)
    by_key: Counter[str] = field(default_factory=Counter)
    #: the swarm drew the disk-loss fault (``validate_seed(disk_losses=True)``,
    #: ``vdynamo validate --disk-loss``; session 34), and the disk losses the run had
    disk_losses: bool = False
    disks_lost: int = 0
    #: replica writes the swarm's failing disk refused (session 52), each validated as
    #: the spec's ``FailedWrite``
    writes_refused: int = 0
    #: client puts whose coordinator's own write it refused (the spec's ``FailedPut``)
    puts_refused: int = 0
    #: the other writes it refused (session 53), by kind: ``hint`` (a hint's delivery:
    #: the spec's ``Drop``), ``read-repair`` (``Drop``), ``anti-entropy`` (a half of a
    #: Merkle exchange: the trace-spec stutter ``anti-entropy-refused``), ``forward``
    #: (a forwarded put's coordinator's own write: the spec's ``FailedWrite`` of the
    #: forward); and (session 54) ``replayed``: the inputs among those (or the client
    #: puts) refused as a shadow round replayed them
    refusals: Counter[str] = field(default_factory=Counter)
    #: the implementation's rebuild rules that acted (session 56), by its nodes' stats
    #: (:data:`REBUILD_STATS`), summed over every node object of the run
    rebuild_rules: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        extra = ", ".join(f"{k} {v}" for k, v in sorted(self.trace_steps.items()))
        if self.held or self.replayed:
            extra += f"{', ' if extra else ''}held {self.held}, replayed {self.replayed}"
        if self.disks_lost:
            extra += f"{', ' if extra else ''}disks lost {self.disks_lost}"
        if self.writes_refused or self.puts_refused or self.refusals:
            extra += (f"{', ' if extra else ''}writes refused {self.writes_refused}, "
                      f"puts refused {self.puts_refused}")
            extra += "".join(f", {kind} refused {count}"
                             for kind, count in sorted(self.refusals.items()))
        if self.rebuild_rules:
            extra += f"{', ' if extra else ''}rules [" + ", ".join(
                f"{k} {v}" for k, v in sorted(self.rebuild_rules.items())) + "]"
        if self.forwards:
            extra += "".join(f"{', ' if extra or i else ''}spec {kind} {count}"
                             for i, (kind, count) in enumerate(sorted(self.forwards.items())))
        if len(self.keys) > 1:
            extra += f"{', ' if extra else ''}keys [" + ", ".join(
                f"{k} {v}" for k, v in sorted(self.by_key.items())) + "]"
        changes = ("  membership [" + ", ".join(
            f"{k} {v}" for k, v in sorted(self.membership.items())) + "]"
            if self.membership else "")
        return (f"seed {self.seed:>5}  events {self.events:>5}  spec steps "
                f"{self.spec_steps:>4}  stutters {self.stutters:>5}  hidden "
                f"{self.hidden:>3}  trace-spec [{extra or '-'}]{changes}  converged "
                f"impl={self.impl_converged} spec={self.spec_converged}  "
                f"{self.wall_s:.1f}s  {self.verdict}  [{self.swarm.text()}]")

    def rerun(self) -> str:
        if self.swarm.rebuild_at is not None:  # session 56: not a setting of the command
            return ("python -c 'from model_check.trace_validation import validate_seed; "
                    f"r = validate_seed({self.seed}, rebuilds=True); "
                    "print(r.line(), r.reason)'")
        if self.swarm.write_failure:  # session 52: not a setting of the command
            return ("python -c 'from model_check.trace_validation import validate_seed; "
                    f"r = validate_seed({self.seed}, write_failures=True); "
                    "print(r.line(), r.reason)'")
        if self.setting:  # a membership run: not a setting of the command
            return ("python -c 'from model_check.trace_validation import validate_seed, "
                    f"trace_config; r = validate_seed({self.seed}, config=trace_config("
                    f"{self.setting}){', disk_losses=True' if self.disk_losses else ''}); "
                    "print(r.line(), r.reason)'")
        keys = f" --keys {len(self.keys)}" if len(self.keys) > 1 else ""
        disk = " --disk-loss" if self.disk_losses else ""
        return f"vdynamo validate --seed {self.seed}{keys}{disk} -v"
