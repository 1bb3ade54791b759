"""The spec configurations the lockstep refinement tests run on (one set per clock mode).

Each is small (the spec is explored in lockstep, one successor at a time) and
enables every fault once: a strict quorum on three nodes, and a sloppy quorum on
four nodes (so that fallbacks, hints and hinted handoff happen). Anti-entropy is
on in the sloppy and handoff configurations (off in the strict ones, whose search
the mutation tests rely on): the lockstep runs a whole Merkle exchange between
two replicas, both ways, as one step and maps it to the spec's atomic two-sided
``AntiEntropy`` (docs/refinement.md). Clients send to
the key's top N (``coordinator = "top-n"``), the setting the lockstep maps.
"""

from __future__ import annotations

import dataclasses

from model_check.suite import entry
from spec.config import CLOCK_MODES, Config

__all__ = ["DATA_LOSS_CONFIGS", "DELETE_CONFIGS", "DELETE_WALK_CONFIGS", "HINTED_READS_CONFIGS",
           "LOCKSTEP_CONFIGS", "MEMBERSHIP_WALK_CONFIGS", "lockstep_configs"]


def lockstep_configs(clock: str) -> dict[str, Config]:
    """The lockstep configurations for one clock mode, by name."""
    common = dict(clock=clock, anti_entropy=False, drops=1, duplicates=1, crashes=1,
                  partitions=1, keys=("k",), clients=2, puts_per_client=2, gets_per_client=2,
                  coordinator="top-n")
    return {
        f"strict-{clock}": Config(name=f"strict-{clock}", nodes=("n1", "n2", "n3"), n=3, r=2,
                                  w=2, sloppy_quorum=False, **common),  # type: ignore[arg-type]
        # read repair of the key's replicas only, the implementation's default since
        # session 27 (the suite's entries, delete-fallback-copy among them, keep the
        # spec's default, fallbacks repaired too: both rules are mapped)
        f"sloppy-{clock}": Config(name=f"sloppy-{clock}", nodes=("n1", "n2", "n3", "n4"), n=3,
                                  r=2, w=2, sloppy_quorum=True, read_repair_fallbacks=False,
                                  **{**common, "anti_entropy": True}),  # type: ignore[arg-type]
        # puts only, no duplicates: sloppy quorum, hints and hinted handoff, without the
        # two known divergences (fallback reads, duplicated hints; docs/refinement.md)
        f"handoff-{clock}": Config(name=f"handoff-{clock}", nodes=("n1", "n2", "n3", "n4"),
                                   n=3, r=2, w=2, sloppy_quorum=True,
                                   **{**common, "gets_per_client": 0, "duplicates": 0,
                                      "anti_entropy": True}),  # type: ignore[arg-type]
    }


LOCKSTEP_CONFIGS: dict[str, Config] = {
    name: config for clock in CLOCK_MODES for name, config in lockstep_configs(clock).items()
}

#: session 49: sloppy-dvv with the implementation's default, a fallback answering a
#: replica get with its hints of the key too (``features.hinted_reads``; the
#: ``sloppy-<clock>`` ones keep the spec's default, off: both rules are mapped)
HINTED_READS_CONFIGS: dict[str, Config] = {
    "sloppy-hinted-reads-dvv": LOCKSTEP_CONFIGS["sloppy-dvv"].replace(
        name="sloppy-hinted-reads-dvv", hinted_reads=True),
}


#: The suite entries of issue 10 (disk loss, buffered crashes, clock skew under both
#: lww rules, truncated clocks), run as lockstep machines as they are: each one's
#: faults and features are mapped (docs/refinement.md, "Issue 10's faults").
DATA_LOSS_ENTRIES = (
    "disk-loss-w1", "disk-loss-w2", "dvv-amnesia-naive-actor", "dvv-amnesia-actor-epochs",
    "dvv-buffered-crash-naive-actor", "dvv-buffered-crash-actor-epochs",
    "lww-skew-wall-clock", "lww-skew-hybrid", "client-vclock-truncated",
    "server-vclock-truncated",
    # session 12: restore from a backup (backup, restore), the actor kept or new
    "dvv-restore-kept-actor", "dvv-restore-new-actor",
)
DATA_LOSS_CONFIGS: dict[str, Config] = {name: entry(name).config for name in DATA_LOSS_ENTRIES}

#: the suite's delete entries (issue 11): deletes, tombstones and reaping, each run
#: by the random lockstep as it is in the suite (dvv, a read-modify-write client)
DELETE_CONFIGS: dict[str, Config] = {
    name: entry(name).config
    for name in ("delete-immediate", "delete-safe", "delete-safe-drop", "delete-concurrent-put",
                 "delete-fallback-copy")
}

def _strict_deletes(clock: str) -> Config:
    """strict-<clock> with one put and one delete per client and no fault (a fault
    can make a safe reap partial, which the spec's one-step reap does not model:
    docs/spec.md)."""
    return dataclasses.replace(
        LOCKSTEP_CONFIGS[f"strict-{clock}"], name=f"strict-delete-{clock}",
        puts_per_client=1, deletes_per_client=1, drops=0, duplicates=0, crashes=0,
        partitions=0)


#: the delete entries; one with a sloppy quorum and hinted handoff (a node down
#: while a key is deleted: a fallback keeps the tombstone as a hint and hands it
#: off); and the other clock modes' tombstones (mapped by clock or stamp)
DELETE_WALK_CONFIGS: dict[str, Config] = {
    **DELETE_CONFIGS,
    **{f"strict-delete-{clock}": _strict_deletes(clock)
       for clock in ("lww", "server-vclock", "client-vclock")},
    "handoff-delete-dvv": Config(
        name="handoff-delete-dvv", nodes=("n1", "n2", "n3", "n4"), n=3, r=2, w=2,
        clock="dvv", sloppy_quorum=True, hinted_handoff=True, anti_entropy=False,
        crashes=1, keys=("k",), clients=1, puts_per_client=1, deletes_per_client=1,
        gets_per_client=1, coordinator="top-n"),
}


#: the suite's membership entries the lockstep maps: a join and a leave with pending
#: ownership (the default) and with the naive handover
MEMBERSHIP_WALK_CONFIGS: dict[str, Config] = {
    "join-pending": entry("join-pending").config,
    "leave-pending": entry("leave-pending").config,
    "join-immediate": entry("join-immediate").config,
    "leave-immediate": dataclasses.replace(entry("leave-pending").config,
                                           name="leave-immediate", join_handover="immediate"),
}
