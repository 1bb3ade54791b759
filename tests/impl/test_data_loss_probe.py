"""Session 32's data-loss probe, on the simulator: seeded histories of
read-modify-writes, blind puts, deletes and reads by eight clients (their counters
forgotten between operations) on two keys of five nodes (N = 3, R = W = 2), in
every clock mode, with the faults of cases 01, 03 and 12 crossed: a node's disk
replaced (one, or two 0.2-3 s apart), the disk of a put's coordinator replaced
while the put is in flight, the disk of a node holding hints replaced, a node
restored from an earlier in-memory backup, a node down for 60-3000 s (past the
tombstone grace period), a node's clock set ahead or behind and later stepped back
or forward (injected time), crashes, partitions.

The oracle (:func:`verdict`): a put acknowledged (or of unknown outcome)
supersedes what its client read, an acknowledged delete what it covered. A write is
excused when a replaced or restored disk was its only holder (no other node's store
or hints held it then: :func:`holders`), a deleted value when no other node held a
tombstone of the key. At the end (healed, restarted, quiet) a get at r = 3 must hold,
in the vector-clock modes, every acknowledged write nothing superseded and no value
an acknowledged delete covered; in lww, no value an acknowledged write superseded;
in server-vclock, a lost write is the paper's same-coordinator loss (a later write
through the same node counted its entry above it: docs/impl.md, "Clock modes") or a
fault (the node the put was sent to: a put it forwarded is not recognized, and such a
loss is to be checked by the clocks, as history 127 of server-vclock was).
docs/runtime.md, "Data-loss probe (session 32)".
"""

from __future__ import annotations

import copy
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest

from impl import versions
from impl.cluster import SimulatedCluster
from impl.errors import BadRequestError, DynamoError, TooLargeError
from impl.records import decode_record
from impl.simulator import SimulationError
from tests.conftest import PROFILE
from tests.impl.test_dvv_retired_pruning import _restart_and_write
from tests.impl.test_truncation_dataprobe import end_faults

NODES = ["n1", "n2", "n3", "n4", "n5"]
KEYS = [b"a", b"b"]


def holders(cluster: SimulatedCluster, key: bytes, value: bytes) -> set[str]:
    """The nodes whose disk (store or hints; up or down) holds ``value`` of ``key``."""
    found: set[str] = set()
    for name, watched in cluster.storages.items():
        engine = watched.inner
        raw = engine.read(key)
        if raw is not None and value in versions.values(decode_record(raw)):
            found.add(name)
        if any(hint.key == key and value in versions.values(decode_record(hint.record))
               for hint in engine.hints()):
            found.add(name)
    return found


def _stored(engine: Any, key: bytes) -> set[bytes]:
    held: set[bytes] = set()
    raw = engine.read(key)
    if raw is not None:
        held |= set(versions.values(decode_record(raw)))
    for hint in engine.hints():
        if hint.key == key:
            held |= set(versions.values(decode_record(hint.record)))
    return held


@dataclass
class History:
    """What one history wrote and what it left (per key)."""

    acked: dict[bytes, list[bytes]] = field(default_factory=lambda: defaultdict(list))
    #: value -> the acknowledged writes (b"DEL<step>" for a delete) that read it
    superseded_by: dict[bytes, dict[bytes, set[bytes]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set)))
    #: values a write of unknown outcome read (it may have superseded them)
    maybe_superseded: dict[bytes, set[bytes]] = field(default_factory=lambda: defaultdict(set))
    deleted: dict[bytes, set[bytes]] = field(default_factory=lambda: defaultdict(set))
    excused: dict[bytes, set[bytes]] = field(default_factory=lambda: defaultdict(set))
    back_excused: dict[bytes, set[bytes]] = field(default_factory=lambda: defaultdict(set))
    #: value -> the node its put was sent through
    via: dict[bytes, str] = field(default_factory=dict)
    #: per node, the values written through it in order
    through: dict[str, list[bytes]] = field(default_factory=lambda: defaultdict(list))
    final: dict[bytes, list[bytes]] = field(default_factory=dict)
    #: key -> why its final get at r = 3 failed (once healed, restarted and quiet,
    #: every key must be readable at r = 3: a failure is a finding, session 38)
    unread: dict[bytes, str] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)


def play(seed: int, mode: str, *, steps: int = 40, **options: Any) -> History:
    """The history of ``seed`` in clock ``mode`` (about 2-4 s of CPU); ``options``
    go to the cluster (e.g. ``actor_epochs=False`` to see the oracle bite)."""
    rnd = random.Random(seed)
    history = History()
    delete_mode = rnd.choice(["safe", "safe", "safe", "keep"])
    with SimulatedCluster(nodes=NODES, n=3, r=2, w=2, seed=seed, clock=mode,
                          delete_mode=options.pop("delete_mode", delete_mode),
                          **options) as cluster:
        down: set[str] = set()
        cut = False
        backups: dict[str, Any] = {}

        def lose(name: str, kept: set[bytes] | frozenset[bytes] = frozenset()) -> None:
            for key in KEYS:
                for value in history.acked[key]:
                    if value not in kept and not holders(cluster, key, value) - {name}:
                        history.excused[key].add(value)
                if not holders(cluster, key, versions.TOMBSTONE) - {name}:
                    history.back_excused[key] |= history.deleted[key]

        def wipe(name: str) -> None:
            lose(name)
            cluster.wipe(name)
            history.log.append(f"wipe {name} at {cluster.now:.2f}")

        if rnd.random() < 0.5:
            cluster.set_skew(rnd.choice(NODES), rnd.choice([120.0, -120.0, 3600.0, -3600.0]))
        for i in range(steps):
            key, roll = rnd.choice(KEYS), rnd.random()
            node = rnd.choice([n for n in NODES if n not in down])
            client = cluster.client(node, client_id=f"c{rnd.randrange(8)}")
            try:
                if roll < 0.45:
                    blind = rnd.random() < 0.2
                    read = None if blind else client.get(key, r=rnd.choice([1, 2]))
                    seen = set(read.values) if read else set()
                    value = b"%s-%d" % (key, i)
                    history.via[value] = node
                    history.through[node].append(value)
                    try:
                        client.put(key, value, read.context if read else b"",
                                   w=rnd.choice([1, 2]))
                    except BadRequestError:
                        continue  # a blind put past max_siblings: refused, nothing written
                    except DynamoError:
                        history.maybe_superseded[key] |= seen
                        history.log.append(f"{i} put {value!r} unknown via {node}")
                        continue
                    history.acked[key].append(value)
                    for old in seen:
                        history.superseded_by[key][old].add(value)
                    history.log.append(f"{i} put {value!r} seen={sorted(seen)} via {node}")
                elif roll < 0.58:
                    read = client.get(key, r=2)
                    if read.values:
                        history.log.append(f"{i} delete {sorted(read.values)} via {node}")
                        history.maybe_superseded[key] |= set(read.values)
                        client.delete(key, read.context, w=2)
                        history.deleted[key] |= set(read.values)
                        for old in read.values:
                            history.superseded_by[key][old].add(b"DEL%d" % i)
                elif roll < 0.63:
                    client.get(key, r=rnd.choice([2, 3]))
                elif roll < 0.68 and not down and not cut:
                    down.add(crashed := rnd.choice(NODES))
                    cluster.crash(crashed)
                    history.log.append(f"{i} crash {crashed}")
                elif roll < 0.72 and down:
                    cluster.restart(back := down.pop())
                    history.log.append(f"{i} restart {back}")
                elif roll < 0.75 and not cut and not down:
                    side = set(rnd.sample(NODES, 2))
                    cluster.partition(side, set(NODES) - side)
                    cut = True
                    history.log.append(f"{i} partition {sorted(side)}")
                elif roll < 0.78 and cut:
                    cluster.heal()
                    cut = False
                    history.log.append(f"{i} heal")
                elif roll < 0.81 and not down:
                    wipe(rnd.choice(NODES))
                elif roll < 0.84 and not down:  # two disks, one after the other
                    first, second = rnd.sample(NODES, 2)
                    wipe(first)
                    cluster.run_for(rnd.choice([0.2, 0.5, 1.0, 3.0]))
                    wipe(second)
                elif roll < 0.87:  # a clock set, or stepped back or forward
                    skewed = rnd.choice(NODES)
                    seconds = rnd.choice([-3600.0, -120.0, -5.0, 0.0, 5.0, 3600.0])
                    cluster.set_skew(skewed, seconds)
                    history.log.append(f"{i} skew {skewed} {seconds}")
                elif roll < 0.90 and not down:  # the coordinator's disk lost mid-put
                    read = client.get(key, r=2)
                    value = b"%s-%d" % (key, i)
                    history.via[value] = node
                    history.through[node].append(value)
                    handle = client.submit_put(key, value, read.context, coordinator=node)
                    cluster.run_for(rnd.choice([0.001, 0.005, 0.02, 0.05]))
                    history.maybe_superseded[key] |= set(read.values)
                    if handle.done and handle.error is None:
                        history.acked[key].append(value)
                        for old in read.values:
                            history.superseded_by[key][old].add(value)
                    history.log.append(f"{i} put {value!r} through {node}, its disk lost "
                                       f"({'acked' if handle.done else 'in flight'})")
                    wipe(node)
                elif roll < 0.92 and not down and not cut:  # down past the grace period
                    cluster.crash(long := rnd.choice(NODES))
                    cluster.run_for(rnd.choice([60.0, 600.0, 3000.0]))
                    cluster.restart(long)
                    history.log.append(f"{i} {long} down a while")
                elif roll < 0.955 and not down:  # back up, or restore an earlier backup
                    name = rnd.choice(NODES)
                    if name in backups and rnd.random() < 0.6:
                        snapshot = backups.pop(name)
                        kept: set[bytes] = set()
                        for k in KEYS:
                            kept |= _stored(snapshot, k)
                        lose(name, kept)
                        cluster.crash(name)
                        cluster.storages[name].inner = snapshot
                        cluster.storages[name].changes += 1
                        cluster.restart(name)
                        history.log.append(f"{i} restore {name}")
                    else:
                        backups[name] = copy.deepcopy(cluster.storages[name].inner)
                        history.log.append(f"{i} back up {name}")
                elif roll < 0.97 and not down:  # a node holding hints loses its disk
                    holding = [n for n in NODES if cluster.storages[n].inner.hints()]
                    if holding:
                        wipe(rnd.choice(holding))
                else:
                    cluster.run_for(rnd.choice([1.0, 5.0, 130.0]))
            except DynamoError:
                pass
        end_faults(cluster, down)
        for key in KEYS:
            try:
                history.final[key] = cluster.client("n1", client_id="final").get(
                    key, r=3).values
            except DynamoError as error:
                history.final[key] = []
                history.unread[key] = f"{type(error).__name__}: {error}"
    return history


def verdict(history: History, mode: str) -> list[str]:
    """What the oracle finds wrong in ``history`` (empty: nothing)."""
    wrong: list[str] = []
    for key in KEYS:
        if key in history.unread:
            wrong.append(f"{key!r}: not read at r = 3 once quiet ({history.unread[key]})")
            continue
        held = set(history.final[key])
        excused = history.excused[key]
        covered = set(history.superseded_by[key]) | history.maybe_superseded[key]
        if mode == "lww":
            for value in sorted(held):
                live = history.superseded_by[key][value] - excused
                if value in history.back_excused[key]:
                    live = {w for w in live if not w.startswith(b"DEL")}
                if live:
                    wrong.append(f"{key!r}: {value!r} read back, superseded by {sorted(live)}")
            continue
        for value in history.acked[key]:
            if value in covered or value in held or value in excused:
                continue
            if mode == "server-vclock":
                later = history.through[history.via[value]]
                if later.index(value) + 1 < len(later):
                    continue  # the paper's same-coordinator loss
            wrong.append(f"{key!r}: acknowledged {value!r} lost")
        for value in sorted(held & history.deleted[key] - history.back_excused[key]):
            wrong.append(f"{key!r}: deleted {value!r} back")
    return wrong


#: (mode, seed): histories the probe ran clean, kept as regressions (each about 1-2 s,
#: lww's 103 about 8: its n3 is down 3,000 s)
CLEAN = [("dvv", 101), ("client-vclock", 102), ("lww", 103), ("server-vclock", 104)]
#: the clean histories CI leaves to the soak profile (session 37): lww's 103, 8 CPU-s of
#: the file's 18 (a five-node cluster quiet for 3,000 simulated seconds). No seeded fault
#: of the probe's fails it (``actor_epochs=False`` on 101, 102 and 104 and
#: ``lww_timestamps="wall-clock"`` on 103 all run clean: the oracle's faults are caught
#: by histories 112 and 106, below, since session 54; 142's naive actor as a cluster
#: never quiet, 112's as a key not read before it); CI keeps a
#: clean lww history of crossed faults in 106 with the hybrid stamps (disks replaced
#: one after another, a coordinator's disk lost mid-put, a clock stepped), and lww
#: nodes down past the grace period in tests/impl/test_reap_missed_tombstone.py.
#: Session 41: dvv's 101 too (11.5 CPU-s, the file's costliest clean history; its
#: naive actor runs clean as well): CI's clean dvv histories of crossed faults are
#: 112's and 142's with the default actors (121's and 112's until session 54), the
#: controls of the two naive-actor tests
#: below (docs/model-checking.md, "Where CI's test time goes (session 41)")
CLEAN_SOAK_ONLY = {("lww", 103), ("dvv", 101)}


@pytest.mark.parametrize(("mode", "seed"), [
    pytest.param(mode, seed, marks=pytest.mark.skipif(
        PROFILE != "soak" and (mode, seed) in CLEAN_SOAK_ONLY,
        reason="soak only (HYPOTHESIS_PROFILE=soak): CLEAN_SOAK_ONLY"))
    for mode, seed in CLEAN])
def test_a_history_of_crossed_faults_loses_no_write_and_brings_back_no_deleted_value(
        mode: str, seed: int) -> None:
    """Disks replaced one after another, a put's coordinator losing its disk, a
    restored backup, clocks stepped, deletes with siblings: the oracle finds
    nothing wrong."""
    history = play(seed, mode)
    assert verdict(history, mode) == [], "\n".join(history.log)


def test_the_oracle_sees_the_naive_actor_lose_a_write() -> None:
    """The oracle can fail: with ``actor_epochs=False`` (a node mints under its bare
    name, so a replaced disk re-issues dots: case 01's fault) history 112 (dvv, with
    fallbacks answering reads from their own stores) loses the acknowledged
    ``b-21`` (n2 and n3 wiped one after the other, then ``b-39`` put through n2);
    with the default, the same history loses nothing. (History 112 was the one
    pinned until session 38; history 121, pinned from then to session 54, loses
    nothing since session 54's rebuilding-ack rule, naive or not; the rule's
    effect on it was not traced.)"""
    wrong = verdict(play(112, "dvv", actor_epochs=False, hinted_reads=False), "dvv")
    assert wrong == ["b'b': acknowledged b'b-21' lost"], wrong
    assert verdict(play(112, "dvv", hinted_reads=False), "dvv") == []


def test_the_naive_actors_diverged_copy_keeps_its_replica_rebuilding() -> None:
    """History 142 with ``actor_epochs=False``: n3, wiped and minting under its bare
    name, issues the dot ``n3:5`` twice: at the end n2 holds ``b-37`` under it and
    n3 and n5 hold ``b-39`` (state read when the run stopped, session 54), so n2's
    copy of ``b`` and n3's and n5's never converge (one dot, two values: every
    merge keeps its own). Since a rebuilding
    node completes a pair only in an exchange it opened (:mod:`impl.antientropy`,
    session 38) it completes one only by finding the trees in sync: n3 stays
    rebuilding, keeps withholding the hints' acks for its ranges (session 54's
    rule), and the cluster never gets quiet; with the default, the same history is
    clean. Fallbacks answer reads from their own stores (``hinted_reads=False``).
    History 112 was pinned here until session 54: with the rule n3 withholds the
    ``HintAck`` of ``b-21`` while it rebuilds and every replica ends with ``b-39``
    (the naive actor's loss of ``b-21``: the previous test). Mutant checked
    (session 54): ``AntiEntropy._synced`` without its live-session check (any
    exchange's step completes a pair, as the peer-live rule before session 38
    let a peer's answer do): the run gets quiet and the test fails."""
    with pytest.raises(SimulationError, match=r"not quiet .* 1 rebuilding"):
        play(142, "dvv", actor_epochs=False, hinted_reads=False)
    assert verdict(play(142, "dvv", hinted_reads=False), "dvv") == []


def test_the_oracle_sees_wall_clock_stamps_lose_a_read_then_write() -> None:
    """The oracle can fail in lww too: with ``lww_timestamps="wall-clock"`` (a put
    stamped by its coordinator's clock alone: case 03's fault) history 105 reads
    ``a-33`` back at r = 3 although the acknowledged ``a-38`` read it first (4 of
    histories 100-114 read a superseded value back: 104, 105, 108, 109); with the
    hybrid stamps, the same history is clean. Re-set in session 56: the hint
    back-off (:meth:`impl.handoff.HintedHandoff._unanswered`) moved the schedules;
    before it history 106 read ``a-35`` back (5 of 100-114), now clean."""
    assert verdict(play(105, "lww", lww_timestamps="wall-clock"), "lww") == [
        "b'a': b'a-33' read back, superseded by [b'a-38']"]
    assert verdict(play(105, "lww"), "lww") == []


def test_a_value_within_its_limit_stays_writable_through_restarted_coordinators() -> None:
    """dvv, ``max_record_bytes`` 4096 and ``max_value_bytes`` 3008, the most the
    configuration admits for it (``ClusterConfig._check_record_limit``: a record of
    one such value "may take" 4096 B, its metadata bounded by
    ``SIBLING_OVERHEAD_BYTES``). One key read-modify-written with 3008-byte values,
    each time through a node just restarted (every start a new lifetime actor, so
    a new DVVSet entry that holds no value once superseded). Until session 33 the
    38th put (round 37) was refused with TooLargeError (a 4124-byte record, 37
    entries) though the key held one value: case 05's kind (a key the cluster's own
    context can no longer update) for dvv. Now a start retires the actor before it
    and every write prunes the value-less entries of retired lifetimes, the oldest
    first, past 512 bytes of them (:func:`impl.versions.prune_retired`): all 60
    rounds are written and every replica ends at 3747 B, 25 entries
    (tests/impl/test_dvv_retired_pruning.py bounds it at every round). About 0.2 s
    of CPU."""
    done: list[int] = []
    with SimulatedCluster(**_LIFETIMES) as cluster:
        assert cluster.config._one_value_record() == 4096
        _write_through_restarted_nodes(cluster, done)
        sizes = [len(versions.encode_record(r)) for r in cluster.replicas(b"k").values()
                 if r is not None]
    assert len(done) == 60 and len(sizes) == 3 and max(sizes) <= 3800, sizes


def _write_through_restarted_nodes(cluster: SimulatedCluster, done: list[int]) -> None:
    """60 rounds: restart a node (in turn), read ``k`` through it and write a
    3008-byte value with the read's context; each round that wrote is added to
    ``done``. Raises what the put raises."""
    _restart_and_write(cluster, 60, cluster.node_names, done=done)


#: the lifetime-entry tests' cluster: dvv, the largest value the record limit admits
_LIFETIMES: dict[str, Any] = {"nodes": 3, "n": 3, "r": 2, "w": 2, "seed": 1, "clock": "dvv",
                              "max_record_bytes": 4096, "max_value_bytes": 3008}


def test_without_the_restore_guard_or_a_gossip_round_the_records_carry_the_retirements(
        ) -> None:
    """Without the restore guard a start sends no shadow-round gossip, and with no
    gossip round between the restarts (about 10 ms of virtual time each) each node
    learns the others' retirements only from the records it is sent: each
    ReplicaPut, read repair, hint and anti-entropy KeyRecords carries the retired
    actors its sender knows among the record's entries and those it pruned
    (session 33, later). Before, each node knew only its own retired actors, the
    others' entries came back through every merge, and the 38th put (round 37) was
    refused at 4124 B as before the pruning. Now all 60 rounds are written and
    every replica stays within the limit."""
    done: list[int] = []
    with SimulatedCluster(**_LIFETIMES, restore_guard=False) as cluster:
        _write_through_restarted_nodes(cluster, done)
        sizes = [len(versions.encode_record(r)) for r in cluster.replicas(b"k").values()
                 if r is not None]
    assert len(done) == 60 and len(sizes) == 3 and max(sizes) <= 3800, sizes


def test_the_refusal_of_a_one_value_record_names_the_clock_not_siblings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A record of one value can still outgrow ``max_record_bytes`` by its clock
    where its entries are not pruned; here pruning is turned off
    (``RetiredActors.prune`` returns the record: the path of a cluster whose
    retirements never reach a node, or of lifetimes not retired), restarts
    rotating without the restore guard as above: the 38th put (round 37) is refused
    at 4124 B. The refusal says what fills the record: the one value and the bytes
    of clock and metadata, with the dvv lifetime entries as their cause; before
    session 32, "read the key and reconcile its siblings" of a key holding one
    value. A record of siblings keeps that advice
    (tests/impl/test_record_limit_review.py)."""
    from impl.retired import RetiredActors
    monkeypatch.setattr(RetiredActors, "prune", lambda self, record: record)
    done: list[int] = []
    with (SimulatedCluster(**_LIFETIMES, restore_guard=False) as cluster,
          pytest.raises(TooLargeError) as refused):
        _write_through_restarted_nodes(cluster, done)
    assert len(done) == 37
    message = str(refused.value)
    assert "it would hold this one value (3008 bytes) and " in message, message
    assert "bytes of clock and metadata" in message and "siblings" not in message, message
