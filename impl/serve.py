"""``vdynamo serve``: the named nodes of a cluster file started on real sockets
(:func:`serve`, also what local clusters and tests start), and the command around
it (:func:`main`).

Run a node with ``vdynamo serve CLUSTER.toml --node n1``, or every node of a
configuration in one process (a local cluster to try) with ``--all``. SIGTERM or
SIGINT stops the nodes gracefully, SIGUSR1 makes them leave the ring, SIGHUP
re-reads the cluster file and logs what it found (:func:`reload_report`: the
peers' addresses taken, the settings that need a restart named, a file that does not
load said; the nodes serve on, since session 53); a startup
failure prints one line and exits non-zero (2: the configuration, 1: a port or a
data file). ``--loop`` chooses the event loop (:func:`event_loop_policy`:
uvloop when installed). The file's format and the operator's guide:
docs/runtime.md.

Moved from :mod:`impl.runtime`, which keeps the node on sockets
(:class:`~impl.runtime.NodeServer`); the configuration file and its loading:
:mod:`impl.runtime_config`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import fcntl
import functools
import ipaddress
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from impl import errors
from impl.config import ClusterConfig
from impl.connections import fit_descriptors
from impl.http_api import cluster_hmac
from impl.logs import setup_logging
from impl.metrics import ObservedStorage
from impl.runtime import NodeServer, shared_settings
from impl.runtime_config import (
    EXAMPLE_SECRETS,
    NodeAddresses,
    RuntimeConfig,
    check_distinct_data,
    check_start,
    exposed_secret,
    load_runtime_config,
)
from impl.storage.base import FsyncPolicy, Storage
from impl.storage.sqlite import SqliteStorage

__all__ = ["RING_SETTINGS", "STOP_SIGNALS", "STORE_IDENTITY_META", "STORE_SETTINGS_META",
           "SignalActions", "check_store_identity", "check_store_settings", "event_loop_policy",
           "leave_state", "lock_data_file", "main", "serve", "until_stopped"]

#: the runtime's logger (these lines log as they did in impl.runtime)
log = logging.getLogger("vdynamo.runtime")


#: the meta entry naming the node and cluster a data file belongs to (session 28)
STORE_IDENTITY_META = "store-identity"
#: the meta entry of the shared [cluster] settings a data file's node last ran with
#: (JSON {name: value as text}, :func:`impl.runtime.shared_settings`; session 32)
STORE_SETTINGS_META = "store-settings"
#: the shared settings that draw the ring (which nodes hold a key): a data file that
#: ran with others is refused even with ``--adopt-store`` (:func:`check_store_settings`).
#: Session 32's review: five nodes, N = 3, 40 keys written at W = 3, every node
#: restarted with ``partitions`` 64 -> 32 and ``--adopt-store``: the ring was redrawn
#: (13 tokens a node -> 6 or 7) with no handover, and once all were ready 2 keys read
#: 404 at R = 1 through n1 (0 of 40 with the settings unchanged)
RING_SETTINGS = ("partitioning", "tokens_per_node", "partitions", "ring_seed", "nodes")
#: the signals that stop ``vdynamo serve`` gracefully (requests in flight answered,
#: storage closed, exit 0): SIGTERM (``cluster down``), SIGINT (Ctrl-C). SIGHUP did
#: from session 50 to 52 (before, its default action killed the process mid-request);
#: since session 53 it re-reads the cluster file and the nodes serve on
#: (:func:`reload_report`): what an operator who sends a daemon SIGHUP expects
#: (nginx, PostgreSQL's ``pg_ctl reload``, Consul, HAProxy reload their files on it;
#: Riak's Erlang VM ignores it, erts' default since OTP 20), never a lost node
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _store_identity(node: str, cluster: str, secret: bytes) -> dict[str, str]:
    """What a data file records of its owner: the node's name, the cluster's name and
    a fingerprint of the cluster's secret (16 bytes of an HMAC of a label, hex: it
    tells secrets apart and reveals none)."""
    key = cluster_hmac(secret, b"vdynamo store identity v1\x00", cluster)[:32]
    return {"node": node, "cluster": cluster, "secret": key}


def check_store_identity(storage: Storage, path: object, node: str, cluster: str,
                         secret: bytes, *, adopt: bool = False) -> None:
    """Refuse to run node ``node`` of cluster ``cluster`` (its secret ``secret``) on a
    data file another node or cluster wrote; record the owner in a file that names
    none (a new file, or one written before session 28). ``path``: the file, named in
    the error. ``adopt``: record this node whatever name and secret the file records
    (the node's name or the cluster's secret changed on purpose: ``vdynamo serve
    --adopt-store``), but never a file that records another cluster's name
    (:func:`_another_cluster`; since session 50). A recorded row that is no owner
    (empty, not a JSON object) is refused like another's, and taken with ``adopt``.

    Raises :class:`errors.ConfigError` naming what differs (the node, the cluster's
    name, the secret: never the secret itself) and the way out; StorageError as the
    engine does. Before session 28's probe a node of cluster B given cluster A's
    ``n1.sqlite`` (a copied disk image, a reused path) served A's keys in B and
    spread them to B's replicas by read repair. Cassandra refuses to start on a
    data directory whose saved ``cluster_name`` differs ("Saved cluster name X !=
    configured name Y", ``SystemKeyspace.checkHealth``), whatever else it is told;
    etcd refuses a member directory of another member or cluster (its member and
    cluster IDs)."""
    mine = _store_identity(node, cluster, secret)
    raw = storage.get_meta(STORE_IDENTITY_META)
    kept = _recorded_identity(raw)
    recorded = kept.get("cluster")
    another = isinstance(recorded, str) and recorded != cluster
    if raw is not None and (not adopt or another):
        differ = [f"node {kept.get('node')!r}, not {node!r}" if kept.get("node") != node
                  else "",
                  f"cluster {recorded!r}, not {cluster!r}" if recorded != cluster else "",
                  "another [cluster] secret" if not _same_secret(kept, secret) else ""]
        if any(differ):
            said = (f"{path}: this data file belongs to another node or cluster "
                    f"({'; '.join(d for d in differ if d)}): ")
            if isinstance(recorded, str) and another:
                raise errors.ConfigError(said + _another_cluster(node, recorded))
            raise errors.ConfigError(
                said + f"give {node} its own file "
                "(`data` in its [nodes] section; a new, empty one is rebuilt from the "
                "other replicas), or, if "
                + ("the cluster's secret" if differ[2] else "the node's name")
                + " was changed on purpose, start once with --adopt-store")
    _record(storage, STORE_IDENTITY_META, mine, kept)


def _another_cluster(node: str, recorded: str) -> str:
    """The way out of a data file that records cluster ``recorded``, not the
    configured one, for node ``node`` (the file's path and what differs said before
    it).

    ``--adopt-store`` does not take it (since session 50's review: every cluster
    ``vdynamo cluster up`` made had the same name and node names, so only the secret
    told two apart, and a secret changed on purpose is what ``--adopt-store`` takes;
    following the hint, n1 of cluster d served cluster c's keys and ring, a node of d
    waited to rebuild from c's n4, and d's n3 stopped as "left": c's membership,
    gossiped by n1). ``cluster up`` now names each new cluster
    (``vdynamo-<8 hex digits>``), and a cluster keeps its name: a renamed one gets
    its old name back. Cassandra: "Saved cluster name X != configured name Y"."""
    return (f"a data file of cluster {recorded!r} holds that cluster's keys, ring and "
            "members, and --adopt-store does not take it into another; give "
            f"{node} a new, empty file (`data` in its [nodes] section, or this one moved "
            f"away: it is rebuilt from the other replicas), or, if this is cluster "
            f"{recorded!r} renamed (or its cluster file written anew), give its cluster "
            f"file the name back: name = {json.dumps(recorded)} in [cluster] (a secret "
            "changed on purpose is then taken with --adopt-store)")


def _recorded_identity(raw: bytes | None) -> dict[str, object]:
    """The owner a data file records (:func:`_store_identity`'s fields; the settings
    too, :func:`check_store_settings`), or {} for a row that is none (not JSON, not
    UTF-8, not an object, empty: written by something else): such a file names no
    owner this node could be, so it is refused like another's. Until session 29's
    review an empty row raised JSONDecodeError out of ``vdynamo serve`` (a
    traceback, exit 1)."""
    try:
        kept = json.loads(raw) if raw else {}
    except ValueError:  # not JSON, or not UTF-8 (UnicodeDecodeError)
        return {}
    return kept if isinstance(kept, dict) else {}


def _same_secret(kept: dict[str, object], secret: bytes) -> bool:
    """Whether ``kept`` (a recorded owner) was written under ``secret``: its fingerprint
    is taken under the cluster name it records, so a cluster renamed under the same
    secret is named as renamed alone. Until session 29's review the fingerprint was
    taken under the configured name, and a rename was also reported as "another
    [cluster] secret", which it was not."""
    recorded = kept.get("cluster")
    return (isinstance(recorded, str)
            and _store_identity("", recorded, secret)["secret"] == kept.get("secret"))


def check_store_settings(storage: Storage, path: object, config: ClusterConfig, *,
                         adopt: bool = False) -> bool:
    """Refuse to run a node whose data file last ran with other shared ``[cluster]``
    settings (:data:`impl.runtime.SHARED_SETTINGS` as :func:`impl.runtime.shared_settings`
    gives them, but ``clock``, which the store refuses on its own: ``impl.versions``'
    ``clock-mode``), naming each setting and both values; record ``config``'s in a file
    that records none (a new file, or one written before session 32) or with ``adopt``
    (``vdynamo serve --adopt-store``: every node's file changed the same way on
    purpose, every node stopped), which takes no change of :data:`RING_SETTINGS`
    (since session 32's review). A setting one side's strategy does not read (left
    out by ``shared_settings``) is not compared. ``path``: the file, named in the error.
    Returns True when the file recorded exactly these settings before (its node ran
    with them: :attr:`impl.runtime.NodeServer.settings_on_record`), False when it
    recorded none or ``adopt`` took others.

    Raises :class:`errors.ConfigError`; StorageError as the engine does. Session 32's
    operator probe: one node of three restarted with ``n = 2`` (or ``tokens_per_node =
    16`` under strategy 1) in its file started, said ``ready`` on ``/health``, answered
    R = 1 reads from its store by its own ring and refused every peer (its puts 504,
    its R = 2 reads 503); a whole cluster restarted with another ``partitions``,
    ``ring_seed`` or ``partitioning`` ran on the ring its stores kept, the change
    ignored without a word. Cassandra refuses a node restarted with another
    ``num_tokens`` ("Cannot change the number of tokens from 8 to 16")."""
    mine = {name: value for name, value in shared_settings(config) if name != "clock"}
    kept = _recorded_identity(storage.get_meta(STORE_SETTINGS_META))  # {}: records none
    differ = {name: f"{name} {kept[name]!r:.80} then, {value!r:.80} now"
              for name, value in mine.items() if name in kept and kept[name] != value}
    ring = [text for name, text in differ.items() if name in RING_SETTINGS]
    if ring and adopt:
        raise errors.ConfigError(
            f"{path}: this data file's node last ran with other ring settings "
            f"({'; '.join(ring)}), which --adopt-store does not take: the ring they draw "
            "would move keys to new owners without handing them over first, and a read "
            "could miss acknowledged writes (at R = 1, 2 of 40 keys written at W = 3 read "
            "404); give every node the ring settings its file ran with (a cluster with "
            "other ones is a new cluster, its keys copied in)")
    if differ and not adopt:
        raise errors.ConfigError(
            f"{path}: this data file's node last ran with other [cluster] settings "
            f"that every node must share ({'; '.join(differ.values())}): its peers would "
            "refuse it, and its keys were placed by them; give this node the file it "
            "ran with, or, to change them on purpose (n, vclock_truncation, "
            "retired_keep; not the ring's), stop every node, change every node's file "
            "alike and start each "
            "once with --adopt-store")
    _record(storage, STORE_SETTINGS_META, mine, kept)
    return kept == mine


def _record(storage: Storage, entry: str, mine: dict[str, str],
            kept: dict[str, object]) -> None:
    """Write ``mine`` (JSON, sorted keys) to the meta entry ``entry`` and flush it,
    unless it holds that already (``kept``)."""
    if kept != mine:
        storage.set_meta(entry, json.dumps(mine, sort_keys=True).encode())
        storage.flush()


def lock_data_file(path: Path) -> tuple[int, int]:
    """Hold the data file ``path`` for this process: an exclusive ``flock`` on
    ``<path>.lock`` (created, mode 0600), then one on the data file itself (created
    empty, mode 0600, where it does not exist: SQLite takes an empty file as a new
    database); their open descriptors are returned (lock file, data file); closing
    them, or the process's end (SIGKILL too), releases both. ``flock`` locks are apart
    from SQLite's own POSIX locks, which are dropped when any descriptor of the file
    closes: the data file's is closed only after the engine (:class:`_HeldStorage`).

    Raises :class:`errors.StorageError` naming the file when another process (or
    another open of it in this one) holds either, OSError when one cannot be created.
    Until session 29's review nothing kept two processes off one file: a second
    ``vdynamo serve --node n2`` of the same cluster file rewrote the running n2's
    actor, incarnation and heartbeat generation before its ports (in use) stopped it,
    and a twin n2 beside it (a copy of the cluster file in the same directory with
    other ports: the same default file) stored its puts in the running n2's file,
    which served them and spread them by read repair, though the peers refused the
    twin itself. Until session 57's red team (probes/01h) the lock file alone held
    it: once ``n2.sqlite.lock`` was removed while n2 ran (a clean-up of "stale lock
    files"), a second process locked a new lock file, and the twin served (a w=1 put
    through it 200) on the running n2's data file; a twin whose data path was a
    symlink to it locked a lock file of its own, nothing removed. PostgreSQL refuses a data
    directory whose ``postmaster.pid`` names a live process; Kafka locks each log
    directory's ``.lock``, etcd its WAL files."""
    held: list[int] = []
    try:
        for target in (Path(f"{path}.lock"), path):
            fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            held.append(fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise errors.StorageError(
                    f"{path}: this data file is in use by another process ({target} is "
                    "locked): is this node already running (a second `vdynamo serve` of "
                    "it, or a copy of the cluster file naming the same data file)?") from None
    except BaseException:
        for fd in held:
            os.close(fd)
        raise
    return held[0], held[1]


class _HeldStorage(SqliteStorage):
    """A :class:`SqliteStorage` on a data file this process holds (:func:`lock_data_file`'s
    descriptors ``locks``), released when the engine is closed (by the node's stop,
    through its group commit): after it, so SQLite's POSIX locks outlive its use."""

    def __init__(self, path: Path, fsync: FsyncPolicy, *, batch: int,
                 locks: tuple[int, ...]) -> None:
        self._locks = locks
        super().__init__(path, fsync, batch=batch)

    def close(self) -> None:
        try:
            super().close()
        finally:
            locks, self._locks = self._locks, ()
            for fd in locks:
                os.close(fd)


async def serve(
    config: RuntimeConfig, names: Sequence[str], *, stop: asyncio.Event | None = None,
    rejoin: bool = False, announce: bool = True, adopt_store: bool = False,
) -> list[NodeServer]:
    """Start the named nodes of ``config`` in this loop; with ``stop``, run until it is
    set and then stop them. ``rejoin``: a node that left the ring joins it again
    (:class:`impl.node.Node`'s ``rejoin``); ``announce``: :class:`NodeServer`'s;
    ``adopt_store``: see :func:`check_store_identity` and :func:`check_store_settings`
    (ConfigError from them: a data file of another node or cluster, or one that last
    ran with other shared settings)."""
    check_distinct_data(config.nodes, names)  # one process: one machine
    peers = {name: addresses.peer for name, addresses in config.nodes.items()}
    http = {name: addresses.http for name, addresses in config.nodes.items()}
    servers: list[NodeServer] = []
    for index, name in enumerate(names):
        addresses = config.nodes[name]
        assert addresses.data is not None
        addresses.data.parent.mkdir(parents=True, exist_ok=True)
        engine: _HeldStorage | None = None
        try:
            locks = lock_data_file(addresses.data)
            try:
                engine = _HeldStorage(addresses.data, config.storage.fsync,
                                      batch=config.storage.batch, locks=locks)
            except BaseException:
                for fd in locks:
                    os.close(fd)
                raise
            storage = ObservedStorage(engine)
            check_store_identity(storage, addresses.data, name, config.cluster.name,
                                 config.cluster.secret, adopt=adopt_store)
            on_record = check_store_settings(storage, addresses.data, config.cluster,
                                             adopt=adopt_store)
            server = NodeServer(name, config.cluster, storage, peers, seed=index,
                                rejoin=rejoin, announce=announce)
            server.settings_on_record = on_record
            server.http_addresses = http
            server.watch_file(config.path, dict(config.nodes))
            await server.start(addresses.peer, addresses.http)
        except BaseException:
            if engine is not None:
                engine.close()
            for started in servers:
                await started.stop()
            raise
        assert server.peer_address is not None and server.http_address is not None
        peers[name] = server.peer_address  # port 0 in the file: the port bound
        http[name] = server.http_address
        servers.append(server)
    if stop is not None:
        await stop.wait()
        for server in servers:
            await server.stop()
    return servers


#: hosts that are loopback by name (an IP address is asked :mod:`ipaddress`)
_LOOPBACK_NAMES = ("localhost", "localhost.", "ip6-localhost")


def _loopback(host: str) -> bool:
    """Whether binding ``host`` listens on loopback only."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:  # a name: it may resolve to any interface
        return False


def exposed_insecure(weak: bool, nodes: Mapping[str, NodeAddresses]) -> str | None:
    """Why ``vdynamo serve --insecure-dev`` must not serve ``nodes`` (name to
    addresses, the nodes of this process), or None: a ``weak`` secret (one the flag
    let through: none given, an example one, :data:`EXAMPLE_SECRETS`, or under 16
    bytes, :func:`impl.runtime_config.check_secret`) with a peer or HTTP port bound
    beyond loopback. Anyone who reaches the peer port would know (or guess) the
    secret, so could authenticate as a node and change stored data, and make admin
    tokens for ``/admin/force-remove``. Redis' protected mode refuses outside
    clients while no password is set; Elasticsearch enforces its bootstrap checks
    once bound beyond loopback. Until session 21's service probe the flag logged
    "do not expose these ports" and bound what the file said."""
    if not weak:
        return None
    for name, addresses in nodes.items():
        for key, address in (("peer", addresses.peer), ("http", addresses.http)):
            if not _loopback(address.host):
                return (f"--insecure-dev with a public or short secret (none set, the "
                        f"example's, or under 16 bytes): "
                        f"[nodes.{name}] {key} = {str(address)!r} is not loopback, and "
                        "anyone who reaches it could change stored data; bind 127.0.0.1 "
                        "(or ::1), or set a [cluster] secret of your own (openssl rand "
                        "-hex 24) and drop --insecure-dev")
    return None


def main(argv: list[str]) -> int:
    """``vdynamo serve``: run nodes until SIGTERM or SIGINT (then stop gracefully);
    SIGUSR1 makes them leave the ring. A startup failure prints one line and exits
    non-zero (2: the configuration, 1: a port or a data file)."""
    parser = argparse.ArgumentParser(prog="vdynamo serve", description=(
        "Run Dynamo nodes on real sockets: TCP between nodes, HTTP for clients."), epilog=(
        "exit status: 0 stopped by SIGTERM or SIGINT (a graceful stop); 1 a node could not "
        "start (a port in use, a data file that cannot be opened); 2 a bad cluster file or "
        "argument (one line naming it), nothing started"))
    parser.add_argument("config", help="the cluster file (TOML; see docs/runtime.md)")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--node", action="append", default=[], help="a node to run (repeatable)")
    group.add_argument("--all", action="store_true", help="run every node in this process")
    parser.add_argument("--insecure-dev", action="store_true", help=(
        "accept a missing, example or short secret (a local experiment only: anyone "
        "who knows the secret can change stored data)"))
    parser.add_argument("--loop", choices=("auto", "uvloop", "asyncio"), default="auto",
                        help="the event loop: uvloop if installed (auto, the default), or "
                             "the standard asyncio loop")
    parser.add_argument("--rejoin", action="store_true", help=(
        "a node that left the ring joins it again: its data file is cleared of what it "
        "held, and it joins as a new node (without it, a node that left stops)"))
    parser.add_argument("--adopt-store", action="store_true", help=(
        "take each data file as this node's even if another node name or cluster secret "
        "wrote it, or it last ran with another n or vclock_truncation (never another "
        "cluster's file, by its [cluster] name, nor other ring settings): after changing "
        "them on purpose, every node stopped"))
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log at INFO (default: WARNING)")
    parser.add_argument("--log-format", choices=("json", "text"), default="json",
                        help="log lines on stderr: JSON objects (default) or plain text")
    args = parser.parse_args(argv)
    setup_logging(logging.INFO if args.verbose else logging.WARNING, args.log_format)
    try:
        config = load_runtime_config(args.config, insecure_dev=args.insecure_dev)
    except errors.ConfigError as error:
        print(f"vdynamo serve: {error}", file=sys.stderr)
        return 2
    exposed = exposed_secret(args.config)
    if exposed is not None and config.cluster.secret not in EXAMPLE_SECRETS:
        log.warning("%s", exposed)  # (session 13's probe B: said nothing before)
    names = list(config.cluster.nodes) if args.all else args.node
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:  # named as a data file shared with itself before session 30's user probe
        print(f"vdynamo serve: --node {twice[0]} given twice: a node runs once (name "
              "each node of this process once)", file=sys.stderr)
        return 2
    try:  # a node the file does not name, a data file shared, a port 0, the peer cap
        check_start(config, names)
    except errors.ConfigError as error:
        print(f"vdynamo serve: {error}", file=sys.stderr)
        return 2
    left = [n for n, held in config.nodes.items() if held.left and n not in names]
    if args.insecure_dev:
        try:  # the flag's only effect on loading: a secret check skipped
            load_runtime_config(args.config, insecure_dev=False)
            weak = False
        except errors.ConfigError:
            weak = True
        exposed_ports = exposed_insecure(weak, {name: config.nodes[name] for name in names})
        if exposed_ports is not None:
            print(f"vdynamo serve: {exposed_ports}", file=sys.stderr)
            return 2
        log.warning("--insecure-dev: the secret is not checked; do not expose these ports")
    try:
        fitted = fit_descriptors(config.cluster, len(names), config.nodes, left)
    except errors.ConfigError as error:  # too few descriptors for the nodes
        print(f"vdynamo serve: {error}", file=sys.stderr)
        return 2
    loaded = config  # (as the file gives it: what SIGHUP's re-read is compared with)
    config = RuntimeConfig(fitted, config.nodes, config.path, config.storage)
    try:
        policy = event_loop_policy(args.loop)
    except errors.ConfigError as error:
        print(f"vdynamo serve: {error}", file=sys.stderr)
        return 2
    # the policy is this call's: restored at its end (a caller in the same process,
    # e.g. a test calling main, kept uvloop's policy for good, and its later
    # asyncio.run got uvloop transports, not asyncio.Transport: session 29's clean clone)
    previous = asyncio.get_event_loop_policy()
    if policy is not None:
        asyncio.set_event_loop_policy(policy)
    try:
        return _serve_under(config, names, args, loaded)
    finally:
        asyncio.set_event_loop_policy(previous)


def _serve_under(config: RuntimeConfig, names: list[str], args: argparse.Namespace,
                 loaded: RuntimeConfig | None = None) -> int:
    """``main``'s run of the nodes ``names`` under the current event-loop policy: its
    exit status (2 a data file of another node or cluster, 1 another refusal).
    ``loaded``: the file as loaded (SIGHUP compares with it: :func:`reload_report`)."""
    try:
        asyncio.run(_run(config, names, rejoin=args.rejoin, adopt_store=args.adopt_store,
                         loaded=loaded, insecure_dev=args.insecure_dev))
    except errors.ConfigError as error:  # a data file of another node or cluster
        print(f"vdynamo serve: {error}", file=sys.stderr)
        return 2
    except errors.DynamoError as error:  # a data file that is not a database, ...
        print(f"vdynamo serve: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a port in use, a directory not writable
        print(f"vdynamo serve: {error.strerror or error}"
              f"{f': {error.filename}' if error.filename else ''}", file=sys.stderr)
        return 1
    return 0


def reload_report(loaded: RuntimeConfig, names: Sequence[str],
                  servers: Sequence[NodeServer], *, insecure_dev: bool = False,
                  ) -> tuple[int, str]:
    """What ``vdynamo serve`` does and logs at SIGHUP (session 53): re-read the cluster
    file ``loaded.path`` (``loaded``: as it was loaded at the start of the nodes
    ``names``), each of ``servers`` adopting the peers' addresses it gives now
    (:meth:`impl.runtime.NodeServer.reread_file`, as a peer's hello or a failed dial
    makes it), and name what else differs from the start: ``[cluster]`` settings (by
    name, never a value: the secret is one), a served node's own section, ``[storage]``,
    each taking effect only at that node's next start. A file that does not load is an
    ERROR naming it and why (a node started now would exit; the running ones keep what
    they loaded). Returns (the logging level, the line). Nothing is applied but the
    addresses: the ring, the quorums and the limits are shared settings every node must
    agree on, changed by a restart of each (docs/runtime.md)."""
    path = loaded.path
    if path is None:
        return logging.WARNING, "SIGHUP: no cluster file to re-read; serving on"
    what = "does not load"
    try:
        fresh = load_runtime_config(path, insecure_dev=insecure_dev)
        # session 53's review: a file that loads but that `vdynamo serve` refuses for
        # these nodes (a port 0, a data file shared) was "it loads ... take effect at
        # the next start", and that start exited
        what = f"loads but would not start {', '.join(names)}"
        check_start(fresh, names)
    except (OSError, errors.ConfigError) as error:
        return logging.ERROR, (
            f"SIGHUP: {path} {what} ({error}); serving on with the file as loaded "
            "at the start, and a node started now would exit: fix the file")
    for server in servers:  # the addresses of the file just read and checked (session
        # 53's review: each server read it again, without --insecure-dev, and a short
        # secret's file failed there while this line said the addresses were taken)
        server.reread_file(fresh.nodes)
    changed = [f"[cluster] {field.name}" for field in dataclasses.fields(loaded.cluster)
               if getattr(fresh.cluster, field.name) != getattr(loaded.cluster, field.name)]
    changed += [f"[nodes.{name}]" for name in names
                if fresh.nodes.get(name) != loaded.nodes.get(name)]
    if fresh.storage != loaded.storage:
        changed.append("[storage]")
    said = (f"{', '.join(changed)} differ from this start's: they take effect at the "
            "next start of these nodes (`vdynamo cluster stop NODE`, then `cluster start "
            "NODE`; a shared setting on every node)" if changed else
            "no setting of these nodes differs from this start's")
    return logging.WARNING, (f"SIGHUP: re-read {path}: it loads; the peers' addresses "
                             f"in it are taken; {said}; serving on (SIGTERM stops)")


async def _run(config: RuntimeConfig, names: list[str], *, rejoin: bool = False,
               adopt_store: bool = False, loaded: RuntimeConfig | None = None,
               insecure_dev: bool = False) -> None:
    """Serve until one of :data:`STOP_SIGNALS`, then stop gracefully; SIGUSR1: leave
    the ring; SIGHUP: :func:`reload_report` (``loaded``: the file as loaded, before
    :func:`impl.connections.fit_descriptors`; None: ``config``)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    servers = await serve(config, names, rejoin=rejoin, adopt_store=adopt_store)
    for server in servers:
        print(f"{server.name}: peers on {server.peer_address}, "
              f"HTTP on http://{server.http_address}", flush=True)
        log.info("%s: started", server.name, extra={"node": server.name,
                                                     "http": str(server.http_address)})

    def leave() -> None:
        for server in servers:
            log.warning("%s: leaving the ring (SIGUSR1)", server.name)
            server.leave()

    def stopping(signum: signal.Signals) -> None:
        # (session 50's operator walk: a node's log said `stopped` and never why)
        if not stop.is_set():
            log.warning("%s: stopping (%s): no new connection; the requests in flight "
                        "have %g s to finish", ", ".join(names), signum.name,
                        config.cluster.request_timeout * 2)
        stop.set()

    def reload() -> None:
        level, line = reload_report(loaded or config, names, servers,
                                    insecure_dev=insecure_dev)
        log.log(level, "%s: %s", ", ".join(names), line)

    # SIGHUP (session 50's service probe): its default action killed the process at
    # once, the requests in flight dropped unanswered (a put's outcome unknown to its
    # client) and no line in the log; sessions 50-52 stopped gracefully on it. Since
    # session 53 a reload: an operator sends it to a daemon to have its file re-read
    # (nginx, PostgreSQL, Consul), and a terminal's hang-up no longer stops a node run
    # by hand (its log lines to the lost terminal fail quietly, as nohup's would)
    actions: dict[signal.Signals, Callable[[], None]] = {
        **{signum: functools.partial(stopping, signum) for signum in STOP_SIGNALS},
        signal.SIGUSR1: leave, signal.SIGHUP: reload}
    with SignalActions(loop, actions):  # then ignored until the process exits
        await until_stopped(servers, stop, linger_s=4 * config.cluster.gossip_interval)
        for server in servers:
            await server.stop(grace_s=config.cluster.request_timeout * 2)
            log.info("%s: stopped", server.name)


class SignalActions:
    """In a ``with``: each signal of ``actions`` (a signal -> a callable of no
    argument) runs its callable on ``loop`` (uvloop's or asyncio's), called soon
    (:meth:`~asyncio.loop.call_soon_threadsafe`) by a Python signal handler; at the
    ``with``'s end (a return or an exception) each signal is ignored (``SIG_IGN``)
    until the process exits: a second SIGTERM, Ctrl-C pressed twice, a hangup's
    second SIGHUP while ``vdynamo serve`` exits do nothing, never their default
    action (session 50's review: exit -1 after a graceful stop). Enter it in the
    main thread (Python sets signal handlers there only: ValueError elsewhere).

    Not ``loop.add_signal_handler``: its ``remove_signal_handler``, which the loop's
    close calls if nothing did before, gives the signal its default action, and the
    exit had a moment where SIGHUP or SIGTERM killed the process (exit -1 or -15).
    Session 53 blocked the signals in the main thread across that moment
    (``pthread_sigmask``), but a mask is one thread's: uvloop's libuv keeps its
    thread pool (four ``libuv-worker`` threads, every signal unblocked) for the
    process's life, and the kernel gave a signal sent to the process to one of them,
    which took the default action (session 58's CI run: exit -1 in
    tests/runtime/test_serve_sighup.py; with 50 ms between the removal and
    ``SIG_IGN``, 3 exits -15 of 3 under uvloop, 0 of 3 under asyncio's loop, which
    has no such thread: session 59). Here the handler is replaced by ``SIG_IGN``
    directly: no moment of the default action at all.

    A signal's arrival wakes the loop through Python's wakeup fd
    (:func:`signal.set_wakeup_fd`): uvloop sets its own while it runs; for a loop
    that set none (asyncio's, whose ``add_signal_handler`` set it) one is made here,
    or a signal arriving just before the loop's ``epoll_wait`` would be seen at the
    loop's next timer only."""

    def __init__(self, loop: asyncio.AbstractEventLoop,
                 actions: Mapping[signal.Signals, Callable[[], None]]) -> None:
        self.loop = loop
        self.actions = dict(actions)
        self._wakeup: tuple[socket.socket, socket.socket] | None = None

    def _caught(self, signum: int, frame: object) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: nothing to run
            self.loop.call_soon_threadsafe(self.actions[signal.Signals(signum)])

    def _drain(self) -> None:
        assert self._wakeup is not None
        with contextlib.suppress(OSError):  # (BlockingIOError: drained)
            while self._wakeup[0].recv(4096):
                pass

    def __enter__(self) -> SignalActions:
        for signum in self.actions:
            signal.signal(signum, self._caught)
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        if previous != -1:  # the loop's own (uvloop's): kept, as uvloop set it
            signal.set_wakeup_fd(previous, warn_on_full_buffer=False)
            reader.close()
            writer.close()
        else:
            self._wakeup = (reader, writer)
            self.loop.add_reader(reader.fileno(), self._drain)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum in self.actions:
            signal.signal(signum, signal.SIG_IGN)
        if self._wakeup is not None:
            signal.set_wakeup_fd(-1)
            self.loop.remove_reader(self._wakeup[0].fileno())
            for end in self._wakeup:
                end.close()
            self._wakeup = None


async def until_stopped(servers: Sequence[NodeServer], stop: asyncio.Event, *,
                        linger_s: float, tick_s: float = 0.5) -> None:
    """Return once ``stop`` is set, or once every node of ``servers`` left the ring
    and announced its change's settlement (:func:`leave_state`), ``linger_s``
    seconds later (a few more gossip rounds, so the others learn that it left, not
    only that it leaves). Also once every node was removed; ``linger_s`` later if
    one removed itself (:attr:`impl.node.Node.removed_itself`: it answers its
    peers' gossip meanwhile, in case its removal's push was lost). Looks every
    ``tick_s`` seconds. (The caller stops the servers.)"""
    waiting = False
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), tick_s)
        if servers and all(server.node.removed for server in servers):
            for server in servers:
                log.error("%s", server.node.removed_message())
            if any(server.node.removed_itself for server in servers):
                # its removal's push may have been lost (session 52's review): it
                # answers its peers' gossip ``linger_s`` more, so they learn it
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), linger_s)
            return
        state = leave_state(servers)
        if state == "settling":
            if not waiting:
                log.warning("left the ring: waiting for every member to see the "
                            "handover before announcing the settlement")
            waiting = True
        elif state == "left":
            log.warning("every node here left the ring: stopping in %.1f s (to join it "
                        "again: `vdynamo join NODE`, or `vdynamo serve --rejoin`)", linger_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), linger_s)
            return


def leave_state(servers: Sequence[NodeServer]) -> str:
    """``"serving"``: some node of ``servers`` has not left the ring (or there is
    none); ``"settling"``: every one left, and one has not announced its change's
    settlement yet (:attr:`impl.node.Node.settling`: the other members use joint
    quorums until they hear it, and only the node that left can announce it, so it
    stays up until then); ``"left"``: every one left and announced it. A node that
    left in an earlier start and joins again (:attr:`impl.node.Node.rejoining`) is
    serving."""
    if not servers or not all(server.node.has_left and not server.node.rejoining
                              for server in servers):
        return "serving"
    return "settling" if any(server.node.settling for server in servers) else "left"


def event_loop_policy(choice: str) -> asyncio.AbstractEventLoopPolicy | None:
    """The event-loop policy ``vdynamo serve --loop`` runs under: uvloop's (PyPI
    ``uvloop``: the loop and its transports in C) for ``uvloop``, and for ``auto``
    when it is installed; None (the standard asyncio loop) for ``asyncio`` or when
    ``auto`` finds no uvloop. ConfigError if ``uvloop`` is asked for and missing."""
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise errors.ConfigError("--loop uvloop: uvloop is not installed "
                                     "(pip install uvloop)") from None
        return None
    policy: asyncio.AbstractEventLoopPolicy = uvloop.EventLoopPolicy()
    return policy
