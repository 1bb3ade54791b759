"""``vdynamo cluster up|status|down|stop NODE|start NODE``, ``vdynamo join NODE``,
``vdynamo leave NODE``: a local cluster of real processes on 127.0.0.1.

Theory of operation
-------------------
``cluster up --nodes 5 --dir D`` writes ``D/cluster.toml`` (mode 0600: it holds
the cluster secret, 24 random bytes hex-encoded, drawn once, and since session 50
a name of the cluster's own, ``vdynamo-<8 hex digits>``, which each node's data file
records: no flag takes another cluster's file) with a free peer
port and HTTP port per node and each node's SQLite file at
``D/<node>/data.sqlite``; starts one ``vdynamo serve D/cluster.toml --node
<node>`` process per node in its own session (none if a port of one is held by
another process), its log (JSON lines) in
``D/<node>/node.log``; records the PIDs in ``D/cluster.json``; waits until
every node answers ``/health``, then (``--wait-ready``, 30 s by default) until each
is ready (a member, up, past its startup shadow round, not rebuilding); and prints
each node's URL (exit 3, naming the nodes not ready and why, if the bound passed;
130 if interrupted, the nodes left running). Run again on the
same directory, it restarts the nodes that are not running with the same data
(the data, hints and membership are in each node's SQLite file).

``cluster down`` sends SIGTERM to every PID it recorded (a graceful stop:
requests in flight finish or fail, storage is flushed and closed), waits up to
10 s, then SIGKILL. A PID is only signalled if its command line is a ``vdynamo
serve`` of this directory's file, so a recycled PID is never hit. ``cluster stop
NODE`` does the same to one node, ``cluster start NODE`` starts one stopped node as
``up`` does (session 50); ``up`` and ``start`` pass ``--adopt-store`` on to ``serve``.

``join NODE`` adds ``[nodes.NODE]`` to the file (not to ``[cluster] nodes``: the
initial members) and starts it; the new node gossips with the seeds, takes
tokens by the configured partitioning strategy, and the current owners hand it
the key ranges it now owns (:class:`impl.node.Node`). Running nodes learn its
addresses by re-reading the file when it says hello. ``leave NODE`` sends the
node SIGUSR1: it hands its ranges over and its process exits once it has left.
``remove NODE`` force-removes a node that is down for good (riak_core's
``riak-admin cluster force-remove``): it asks a running member
(``POST /admin/force-remove``, authenticated by a token derived from the cluster
secret); the survivors hand its ranges to their new owners, and ``cluster up``
no longer starts it (a start of it would be refused by its peers).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import itertools
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from impl.config import check_peer_cap
from impl.errors import ConfigError, LocalError
from impl.runtime_config import check_start, load_runtime_config
from spec.ring import Partitioning, Ring, Strategy
from vdynamo.cli import INTERRUPTED

__all__ = ["ClusterStateError", "main_cluster", "main_join", "main_leave", "main_remove",
           "node_running", "process_stopped", "read_state"]

DEFAULT_DIR = Path("vdynamo-cluster")
#: the longest node name ``join`` gives a local cluster, and the names it takes: a
#: TOML bare key (``[nodes.NAME]``) and a directory name (``NAME/data.sqlite``)
_LOCAL_NAME_CHARS = 64
_LOCAL_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_-]{{0,{_LOCAL_NAME_CHARS - 1}}}")
#: the ``[cluster]`` table's header line as TOML allows it (spaces inside the brackets,
#: a comment after: ``[cluster]  # main`` was "no [cluster] section" to ``vdynamo join``
#: until session 47's review)
_CLUSTER_HEADER = re.compile(r"\[\s*cluster\s*\]\s*(#.*)?")
_START_TIMEOUT_S = 30.0
#: the most nodes ``cluster up --nodes`` starts: each is a process of its own (about
#: 57 MB resident at start) with two ports. Unbounded before session 15's probe B:
#: ``--nodes 99999`` (a typo, or a count meant for ``vdynamo ring``) picked ports
#: until none was left, then looped for good, and had it got past that it would
#: have started that many processes
MAX_LOCAL_NODES = 64
_STOP_TIMEOUT_S = 10.0
#: how long ``vdynamo leave`` waits for the node to hand its ranges over and exit
_LEAVE_TIMEOUT_S = 120.0
#: ``vdynamo leave`` looks for reasons the leave waits only this many seconds after
#: its signal (a crossing removal reaches the deciding member by gossip)
_LEAVE_GRACE_S = 2.0
#: a member the leaving node holds down but heard from under this many seconds ago is
#: not taken as down by ``leave``'s early exit: ``down`` includes the failure
#: detector's suspicion, which one timed-out request sets, and a member merely slow
#: stays suspected until its next message (session 25's review: n1, heard 0.8 s ago,
#: one request timed out: "down", and ``leave`` would have said to start it again;
#: n3 left 3 s later)
_DOWN_QUIET_S = 5.0
#: ``leave``'s early exit also wants every member it waits for down on every look for
#: this many seconds: a live member can be silent to the leaving node past the down
#: window in a larger cluster (session 25's review, simulator, 16 nodes, strategy 3,
#: seed 6: n3's handover waited 5 s after the leave for n9 alone, up, not heard from
#: directly for 12.1 s, so "down"; n3 left 1 s later), while one down stays waited for
_DOWN_HOLD_S = 3.0
#: how long ``cluster up`` waits, by default, for the nodes it started to be ready
#: after they answer (``--wait-ready``); a fresh node's shadow round lasts at most
#: ``shadow_round_s`` (2 s by default, 60 at most)
WAIT_READY_S = 30.0
#: ``cluster up``'s exit status when a node it started answers but is not ready
#: within ``--wait-ready`` (the nodes are left running)
UP_NOT_READY = 3
#: ``cluster status``'s exit status when a file of the cluster is malformed: its
#: ``cluster.toml`` does not load (a node started now would exit), or its
#: ``cluster.json`` is not a state file; sysexits.h's ``EX_CONFIG`` ("something was
#: found in an unconfigured or misconfigured state"). It wins over 1 (a node down),
#: whose nodes are named on stderr all the same. Before session 53 a cluster file that
#: does not load was a warning and the status 0 (session 52 left it open: a script's
#: ``status && stop n1 && start n1`` learned of the file when ``start`` exited 1,
#: its node stopped)
STATUS_FILE_BROKEN = 78

def _ephemeral_floor() -> int:
    """The lowest port of the kernel's ephemeral range (Linux's
    ``net.ipv4.ip_local_port_range``, 32768 by default), or 0 if unknown."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


#: the environment variable that narrows :func:`_free_ports`'s range: ``LOW-HIGH``
#: (ports LOW up to HIGH, HIGH excluded), e.g. one slice for each of several test
#: processes that start clusters side by side on one host
PORT_RANGE_VARIABLE = "VDYNAMO_PORT_RANGE"


def _port_range() -> tuple[int, int]:
    """The range ``(low, high)`` :func:`_free_ports` picks from: 10000 up to the
    kernel's ephemeral range (:func:`_ephemeral_floor`), or the slice
    ``VDYNAMO_PORT_RANGE`` names. Two processes picking from one range could pick
    the port of the other's stopped node: session 57's CI run, xdist worker gw2's
    n3 of tests/runtime/test_lowered_value_limit.py, killed and restarted, failed
    "address already in use" on 127.0.0.1:22174 (another worker's cluster had
    picked it in the second n3 was down). The test session gives each xdist
    worker a slice of its own (tests/conftest.py). ConfigError naming the variable
    (a ValueError) if it is not two ports ``LOW-HIGH`` with LOW < HIGH <= 65536."""
    text = os.environ.get(PORT_RANGE_VARIABLE)
    if not text:
        return 10_000, _ephemeral_floor()
    try:
        low, high = (int(part) for part in text.split("-"))
    except ValueError:
        raise ConfigError(f"{PORT_RANGE_VARIABLE}={text!r}: not LOW-HIGH "
                         f"(two port numbers, e.g. 10000-20000)") from None
    if not 1 <= low < high <= 65_536:
        raise ConfigError(f"{PORT_RANGE_VARIABLE}={text!r}: needs 1 <= LOW < HIGH <= 65536")
    return low, high


def _free_ports(count: int, taken: Collection[int]) -> list[int]:
    """``count`` distinct free loopback ports, none in ``taken`` (the ports the
    cluster's file already gives, a stopped or left node's included), all held
    open until every one is picked. Picked one at a time and released at once
    (before session 14's review), the kernel could hand one port out twice: a
    node's ``http`` equal to its ``peer`` made ``cluster up`` fail (seen:
    "[nodes.n4] http: 127.0.0.1:47919 is also [nodes.n4] peer"), and ``join``
    could hand a new node the port of a member that left, refused the same way.
    Picked at random from 10000 up to the kernel's ephemeral range, not from it
    (the kernel's own pick, the fallback when the range is unknown or 200 tries
    found nothing): a port from the ephemeral range could be taken, while its node
    was down, as the source port of any outgoing connection, and the node's restart
    then failed "address already in use" (session 24's clean clone:
    tests/runtime/test_client_counter_reap.py, n1 restarted on 127.0.0.1:34005).
    ``VDYNAMO_PORT_RANGE`` narrows the range (:func:`_port_range`; its ConfigError)."""
    low, floor = _port_range()
    pick = random.SystemRandom()
    held: list[socket.socket] = []
    ports: list[int] = []
    tries = 0
    try:
        while len(ports) < count:
            sock = socket.socket()
            held.append(sock)
            if floor > low + 1_000 and tries < 200:
                tries += 1
                try:
                    sock.bind(("127.0.0.1", pick.randrange(low, floor)))
                except OSError:
                    continue
            else:
                sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
            if port not in taken and port not in ports:
                ports.append(port)
    finally:
        for sock in held:
            sock.close()
    return ports


def _state_ports(state: dict[str, Any]) -> set[int]:
    return {int(entry[key]) for entry in state["nodes"].values() for key in ("peer", "http")}


class ClusterStateError(LocalError):
    """``D/cluster.json`` exists but is not a state file :func:`read_state` can use."""


def _dir_problem(directory: Path) -> str | None:
    """Why ``directory`` (a ``--dir``) cannot be looked at, in a phrase naming it
    (None: it can, or it or its ``cluster.toml`` does not exist yet): the stat of
    its ``cluster.toml`` fails otherwise than ENOENT or ENOTDIR (a name over
    NAME_MAX, a directory one may not search). ``Path.exists`` raises those: until
    session 19's review a ``--dir`` of a 300-byte name ended every command of this
    module in an ``OSError: [Errno 36] File name too long`` traceback."""
    try:
        os.stat(directory / "cluster.toml")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        return f"--dir {directory}: cannot use it: {error.strerror or error}"
    return None


def read_state(directory: Path) -> dict[str, Any]:
    """``D/cluster.json``: {"nodes": {name: {"pid", "http", "peer"}}} (empty if none).
    Raises :class:`ClusterStateError` naming the file when it is not JSON (cut short,
    empty) or not that shape (each entry a map with integer ``http`` and ``peer``);
    the commands print it in one line. Before session 16's probe every command
    ended in a JSONDecodeError, KeyError or AttributeError traceback."""
    path = directory / "cluster.json"
    if not path.exists():
        return {"nodes": {}}
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError) as error:  # UnicodeDecodeError is a ValueError
        raise ClusterStateError(f"{path}: not a cluster state file ({error}); it is "
                                "written by `vdynamo cluster up`: repair or remove it") from None
    nodes = state.get("nodes") if isinstance(state, dict) else None
    if not isinstance(nodes, dict) or not all(
            isinstance(entry, dict) and all(
                isinstance(entry.get(port), int) and not isinstance(entry.get(port), bool)
                for port in ("http", "peer")) for entry in nodes.values()):
        raise ClusterStateError(f"{path}: not a cluster state file (not a map of nodes, "
                                "each with integer http and peer ports); it is written "
                                "by `vdynamo cluster up`: repair or remove it")
    for name, entry in nodes.items():  # session 52: a pid "abc" showed the node `-`,
        # a port 99999 `starting` for good, nothing said
        wrong = _entry_problem(entry)
        if wrong:
            raise ClusterStateError(f"{path}: not a cluster state file (node {name}: "
                                    f"{wrong}); it is written by `vdynamo cluster up`: "
                                    "repair or remove it")
    result: dict[str, Any] = state
    return result


def _entry_problem(entry: dict[str, Any]) -> str | None:
    """What is wrong with a node's entry of ``cluster.json`` whose ports are
    integers (:func:`read_state`): a port outside 1..65535, a ``pid`` neither null
    nor an integer of 0 (none, as tests' stand-ins write) or more; None if nothing."""
    for port in ("http", "peer"):
        if not 1 <= entry[port] <= 65535:
            return f"{port} port {entry[port]} is not in 1..65535"
    pid = entry.get("pid")
    if pid is not None and (not isinstance(pid, int) or isinstance(pid, bool) or pid < 0):
        return f"pid {pid!r} is neither null nor a process id"  # (0: none, as null)
    return None


def _write_state(directory: Path, state: dict[str, Any]) -> None:
    tmp = directory / "cluster.json.tmp"
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(directory / "cluster.json")


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the cluster's directory ``directory`` (waits
    while another ``vdynamo join``, ``leave`` or ``remove`` of it holds one, or a
    ``cluster up`` or ``down`` writing its nodes' entries: :func:`_write_entries`). These
    commands read ``cluster.json`` at their start and wrote it whole at their end, so
    of two at once only the last one's view stayed (session 47's review: two ``vdynamo
    join`` at once, n4's entry lost from ``cluster.json`` and its process left running
    by ``cluster down``; a ``leave``, which waits up to 120 s, dropped a join's entry
    the same way). OSError if the directory cannot be opened."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # (releases the lock)


def _write_entries(directory: Path, state: dict[str, Any], names: Collection[str]) -> None:
    """Write ``state``'s entries of the nodes ``names`` into ``cluster.json`` over
    what it holds now (read again under :func:`_locked`), every other node's entry
    kept as another command wrote it meanwhile. ClusterStateError as
    :func:`read_state`."""
    with _locked(directory):
        current = read_state(directory)
        for name in names:
            current["nodes"][name] = state["nodes"][name]
        _write_state(directory, current)


def _write_fields(directory: Path, state: dict[str, Any], names: Collection[str],
                  fields: Collection[str]) -> None:
    """As :func:`_write_entries`, but of an entry ``cluster.json`` holds already only
    ``fields`` are written, every other field kept as another command wrote it
    meanwhile (a ``vdynamo leave``'s ``left`` mark); an entry it does not hold is
    written whole. ClusterStateError as :func:`read_state`."""
    with _locked(directory):
        _merge_fields(directory, state, names, fields)


def _merge_fields(directory: Path, state: dict[str, Any], names: Collection[str],
                  fields: Collection[str]) -> None:
    """:func:`_write_fields` by a caller that holds :func:`_locked` already."""
    current = read_state(directory)
    for name in names:
        entry = current["nodes"].get(name)
        if entry is None:
            current["nodes"][name] = state["nodes"][name]
        else:
            entry.update({key: state["nodes"][name][key] for key in fields
                          if key in state["nodes"][name]})
    _write_state(directory, current)


def _node_section(name: str, peer: int, http: int) -> str:
    return (f'\n[nodes.{name}]\npeer = "127.0.0.1:{peer}"\nhttp = "127.0.0.1:{http}"\n'
            f'data = "{name}/data.sqlite"\n')


#: the ``[cluster]`` keys ``cluster up`` writes itself: not for ``--set``
_UP_KEYS = ("nodes", "n", "r", "w", "secret")


def _settings(pairs: list[str]) -> list[str] | str:
    """The ``[cluster]`` lines of ``cluster up --set KEY=VALUE`` (VALUE a TOML value:
    ``gossip_interval=0.25``, ``partitioning="strategy3"``), or the problem: not
    ``KEY=VALUE``, a VALUE TOML does not parse, a key ``up`` writes itself
    (:data:`_UP_KEYS`). Whether the key is a cluster setting and the value admitted is
    checked by loading the file (:func:`impl.runtime_config.load_runtime_config`)."""
    lines = []
    for pair in pairs:
        key, equals, value = pair.partition("=")
        key = key.strip()
        if not equals or not key:
            return f"--set {pair!r}: expected KEY=VALUE (e.g. gossip_interval=0.25)"
        if key in _UP_KEYS:
            return f"--set {key}: written by `cluster up` itself (use --nodes, --n, --r, --w)"
        try:
            tomllib.loads(f"{key} = {value.strip()}")
        except tomllib.TOMLDecodeError as error:
            return (f"--set {pair!r}: not a TOML key = value ({error}); a string needs "
                    "quotes: partitioning=\"strategy3\"")
        lines.append(f"{key} = {value.strip()}")
    return lines


def _new_cluster_name() -> str:
    """A name for a new local cluster: ``vdynamo-`` and 8 random hex digits (32 bits),
    what ``cluster up`` writes as ``[cluster] name`` unless ``--set name=...`` gives
    one. Before session 50 every local cluster kept the default name (``"vdynamo"``)
    and the same node names, so only the secret told two apart, and
    ``--adopt-store`` (which takes a secret changed on purpose) took a data file
    copied from another cluster: its keys, ring and members (session 50's review).
    A store records its cluster's name (:func:`impl.serve.check_store_identity`) and
    no flag takes another's, as Cassandra refuses a saved ``cluster_name`` other
    than the configured one; riak_core's ring carries its cluster's name."""
    return f"vdynamo-{secrets.token_hex(4)}"


def _names_cluster(settings: list[str]) -> bool:
    """Whether ``cluster up``'s ``--set`` lines (:func:`_settings`) give ``name``."""
    return any("name" in tomllib.loads(line) for line in settings)


def _write_config(directory: Path, names: list[str], n: int, r: int, w: int,
                  state: dict[str, Any], settings: list[str]) -> None:
    """Write ``directory/cluster.toml`` of a new cluster (mode 0600): ``[cluster]``
    with ``nodes``, the counts, a new secret, a new name (:func:`_new_cluster_name`,
    unless ``settings`` give one) and ``settings``; a ``[nodes.*]`` section per node
    with free ports, recorded in ``state``. OSError as writing does."""
    secret = secrets.token_hex(24)
    named = [] if _names_cluster(settings) else [f'name = "{_new_cluster_name()}"']
    lines = ["# written by `vdynamo cluster up`; holds the cluster secret (mode 0600)",
             "[cluster]", f"nodes = {json.dumps(names)}", f"n = {n}", f"r = {r}", f"w = {w}",
             f'secret = "{secret}"', *named, *settings]
    text = "\n".join(lines) + "\n"
    for name in names:
        peer, http = _free_ports(2, _state_ports(state))
        state["nodes"][name] = {"pid": None, "peer": peer, "http": http}
        text += _node_section(name, peer, http)
    path = directory / "cluster.toml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(path, 0o600)


#: where :func:`_ours` reads a process's command line (absent: no ``/proc``, a BSD,
#: macOS: :func:`_start` does not wait for it, nor :func:`node_running` tell)
_PROC_SELF = Path("/proc/self")


def _cmdline(pid: int | None) -> list[bytes] | None:
    """The arguments process ``pid`` runs with (``/proc/PID/cmdline``); None for no
    pid, a process gone, or no ``/proc``."""
    if not pid:
        return None
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None


def _ours(directory: Path, pid: int | None) -> bool:
    """Whether ``pid`` runs ``vdynamo serve`` on this directory's file."""
    cmdline = _cmdline(pid)
    config = str((directory / "cluster.toml").resolve()).encode()
    return cmdline is not None and b"serve" in cmdline and config in cmdline


def _serves_elsewhere(directory: Path, pid: int | None) -> bool:
    """Whether ``pid`` runs ``vdynamo serve`` on another file than this directory's
    ``cluster.toml`` (a copy of a running cluster's directory records the other's
    pids: ``cluster status``, session 59); False where ``/proc`` cannot tell."""
    cmdline = _cmdline(pid)
    return cmdline is not None and b"serve" in cmdline and not _ours(directory, pid)


def _elsewhere(directory: Path, pid: int | None) -> str:
    """Which file the ``vdynamo serve`` process ``pid`` serves (:func:`_serves_elsewhere`)
    and what that says of ``directory``: a copy of that cluster's directory if the file
    is there, moved (or deleted) while its nodes ran if it is gone. The review of red
    team 10 (session 59): every such directory was called "a copy", also one moved
    with ``mv``, whose nodes `cluster down` could only stop once it was moved back."""
    cmdline = _cmdline(pid) or []
    served = next((cmdline[at + 1] for at, part in enumerate(cmdline[:-1])
                   if part == b"serve"), b"?").decode(errors="replace")
    if Path(served).exists():
        return f"{served} ({directory} a copy of that cluster's directory?)"
    return (f"{served}, which is gone ({directory} moved while its nodes ran? move it "
            f"back to stop them with `vdynamo cluster down`)")


def _runs(directory: Path, pid: int | None, node: str) -> bool:
    """Whether ``pid`` runs ``vdynamo serve`` of node ``node`` on this directory's file
    (:func:`_ours`, its command line naming ``--node NODE``). Session 50's review:
    ``cluster stop n2`` whose recorded PID was stale and reused by n3's process (a
    ``vdynamo serve`` of the same file) sent n3 SIGTERM, and ``cluster start n2``
    said n2 was running."""
    cmdline = _cmdline(pid)
    if cmdline is None or not _ours(directory, pid):
        return False
    name = node.encode()
    return f"--node={node}".encode() in cmdline or any(
        flag == b"--node" and value == name for flag, value in itertools.pairwise(cmdline))


def node_running(directory: Path, pid: int | None) -> bool:
    """Whether ``pid`` (a node's, as ``cluster.json`` records it) runs ``vdynamo
    serve`` on ``directory``'s cluster file; True wherever ``/proc`` cannot tell."""
    return _ours(directory, pid) or (bool(pid) and not _PROC_SELF.exists())


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] not in ("Z", "X")


def _silent(pid: int) -> str:
    """What ``cluster status`` says of a running node ``pid`` that does not answer
    ``/health``: ``stopped`` (its process stopped, state T: SIGSTOP, Ctrl-Z, a
    debugger), ``no answer`` (running longer than a start takes), or ``""`` (it may
    still be starting). Before session 30's user probe every such node was
    ``starting``: a node stopped by SIGSTOP an hour before too."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        age = uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return ""
    if fields[0] in ("T", "t"):
        return "stopped"
    return "no answer" if age > _START_TIMEOUT_S else ""


def process_stopped(pid: int) -> bool:
    """Whether process ``pid`` is stopped (state T: SIGSTOP, Ctrl-Z, a debugger), as
    ``cluster status`` says ``stopped`` (:func:`_silent`); False where ``/proc``
    cannot tell. ``vdynamo get``, ``put`` and ``delete`` ask such a node last
    (session 52)."""
    return _silent(pid) == "stopped"


#: the opener of every request the local cluster's commands make of their own nodes
#: (loopback): direct, never through a proxy the environment names (``http_proxy``,
#: ``ALL_PROXY``...), as Go's net/http never proxies loopback (etcdctl). Session 59's
#: red team (probe 23h): ``urllib.request.urlopen`` took them from the environment, so
#: with ``http_proxy`` set to a proxy that cannot reach this host's loopback
#: ``cluster up`` stopped its nodes after 30 s ("n1 not ready"), ``cluster status``
#: called every node hung, and ``remove`` sent its admin token to the proxy
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _answer(port: int, path: str, timeout: float = 1.0) -> dict[str, Any] | None:
    """The JSON object a node on loopback ``port`` answers to ``GET path`` (``/health``,
    ``/status``) within ``timeout`` seconds, asked directly (:data:`_DIRECT`: no proxy
    of the environment); None if it does not answer, or not with a JSON object."""
    try:
        with _DIRECT.open(f"http://127.0.0.1:{port}{path}", timeout=timeout) as answer:
            body = json.loads(answer.read())
    except (OSError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def _health(port: int, timeout: float = 1.0) -> dict[str, Any] | None:
    return _answer(port, "/health", timeout)


#: seconds :func:`_start` waits at most for its child's command line to show
_EXEC_WAIT_S = 5.0


@contextlib.contextmanager
def _hangup_ignored() -> Iterator[None]:
    """SIGHUP ignored in this process while a node is started, so that the node's
    process ignores it from its exec on (an ignored signal stays ignored across exec)
    until ``vdynamo serve`` installs its handler, the re-read (session 53). Session
    53's review: a SIGHUP in the node's first second or so (Python's start, the
    imports, the store opened), as a tool that reloads every daemon after editing
    their files sends it, took the default action: the node killed, nothing logged
    (``kill -HUP`` 0.8 s after ``cluster start n4``: a zombie, ``n4 exited``). Outside
    the main thread, where Python cannot set a handler, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, signal.SIG_DFL if previous is None else previous)


def _start(directory: Path, name: str, *, rejoin: bool = False, adopt: bool = False,
           entry: dict[str, Any] | None = None) -> int:
    """Start ``vdynamo serve`` of node ``name`` (``--rejoin``, ``--adopt-store`` when
    asked) in a session of its own, its output appended to its log; its PID, once
    :func:`_runs` knows the process (or it ended). The PID is set in ``entry`` (the
    node's ``cluster.json`` entry) as soon as the process exists: red team 15, an
    error or Ctrl-C in the wait below left the node running, recorded nowhere, and
    `cluster down` did not stop it."""
    log = open(directory / name / "node.log", "ab")  # noqa: SIM115 (the child keeps it)
    config = str((directory / "cluster.toml").resolve())
    with _hangup_ignored():  # (the child from its exec on: see there)
        process = subprocess.Popen(
            [sys.executable, "-m", "vdynamo", "serve", config, "--node", name, "-v",
             *(["--rejoin"] if rejoin else []), *(["--adopt-store"] if adopt else [])],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    log.close()
    if entry is not None:
        entry["pid"] = process.pid
    # Until its command line shows (a few ms after Popen returns: 132 of 200 children
    # read an empty /proc/PID/cmdline at once, session 51's machine), the process is
    # not :func:`_ours`: a second `cluster up` at once took the node for stopped and
    # started another, whose pid was recorded over this one's (it exited, its data
    # file locked), and `cluster down` left this one running (session 51's probe)
    deadline = time.monotonic() + _EXEC_WAIT_S
    while (_PROC_SELF.exists() and not _runs(directory, process.pid, name)
           and process.poll() is None and time.monotonic() < deadline):
        # (without /proc _runs is never true: each start waited the 5 s, session
        # 51's review)
        time.sleep(0.002)
    return process.pid


def _wait_started(directory: Path, state: dict[str, Any], names: list[str],
                  ready: bool = True) -> str | None:
    """None once every node answers /health (and is ready); else the problem."""
    deadline = time.monotonic() + _START_TIMEOUT_S
    waiting = list(names)
    while waiting and time.monotonic() < deadline:
        for name in list(waiting):
            entry = state["nodes"][name]
            health = _health(entry["http"])
            if health is not None and (health.get("ready") or not ready):
                waiting.remove(name)
            elif not _alive(entry["pid"]):  # (just after the fork it is not "ours" yet)
                return f"{name} exited: {_last_line(directory, name)}"
        time.sleep(0.1)
    return f"{', '.join(waiting)} not ready within {_START_TIMEOUT_S:.0f} s" if waiting else None


#: how much of the end of a node's log :func:`_last_line` reads (bytes)
_LOG_TAIL_BYTES = 64 << 10


def _last_line(directory: Path, name: str) -> str:
    """The last non-blank line of ``name``'s log (``"no output"``: none), from its
    last :data:`_LOG_TAIL_BYTES`; a line longer than that is its end, after
    ``"[...] "``. The log grows across restarts; read whole before session 47's
    user probe, a node that failed to start after a long run made ``cluster up`` or
    ``join`` read all of it (a 4 GiB log: a MemoryError under a 1 GiB
    address-space limit). Session 47's review: a last line over the tail was shown
    as if whole (its head, "vdynamo serve: ...", gone, nothing said), and a tail of
    blanks after the last line said "no output"."""
    with contextlib.suppress(OSError), (directory / name / "node.log").open("rb") as log:
        size = log.seek(0, 2)
        start = max(0, size - _LOG_TAIL_BYTES)
        log.seek(max(0, start - 1))  # the byte before the tail: a line's end or not
        tail = log.read()
        cut = start > 0 and not tail.startswith(b"\n")
        tail = tail[1:] if start else tail
        lines = [line for line in tail.decode(errors="replace").splitlines() if line.strip()]
        if lines:
            _, newline, rest = tail.partition(b"\n")
            if cut and (not newline or not rest.strip()):  # the last line began before
                return f"[...] {lines[-1]}"
            return lines[-1]
        if start:
            return f"no output in its log's last {_LOG_TAIL_BYTES} bytes"
    return "no output"


def _why_not_ready(directory: Path, name: str, entry: dict[str, Any]) -> str:
    """Why started node ``name`` is not ready, in a phrase: its process exited (its
    log's last line), it does not answer, or what its ``GET /status`` says
    (``member_status`` not ``up``; its startup shadow round waiting for peers;
    rebuilding a replaced disk; stopping), then ``/health``'s ``why_not_ready`` where it
    names a cause those fields do not (other ``[cluster]`` settings than its peers', no
    majority of the members reached, a secret its peers' proofs do not verify with:
    session 49's operator walk): the fields of :meth:`impl.runtime.NodeServer.health`
    and ``status``."""
    if entry["pid"] is not None and not _alive(entry["pid"]):
        return "exited: " + _last_line(directory, name)
    status = _answer(entry["http"], "/status")
    if status is None:
        return "does not answer GET /status"
    reasons = [f"member_status {status.get('member_status', '?')}"]
    shadow = status.get("shadow_round")
    if isinstance(shadow, dict) and not shadow.get("over"):
        waiting = ", ".join(shadow.get("waiting") or []) or "its replay"
        reasons.append(f"in its startup shadow round, waiting for {waiting} (holding "
                       f"{shadow.get('deferred', 0)} inputs, at most shadow_round_s)")
    rebuild = status.get("rebuild")
    if isinstance(rebuild, dict):
        sources = ", ".join(rebuild.get("waiting_for") or []) or "-"
        reasons.append(f"rebuilding a replaced disk ({rebuild.get('pending', '?')} "
                       f"ranges pending, from {sources})")
    if status.get("stopping"):
        reasons.append("stopping")
    why = (_answer(entry["http"], "/health") or {}).get("why_not_ready")
    if isinstance(why, str) and not why.startswith(_SAID_BY_STATUS):
        reasons.append(why)
    return "; ".join(reasons)


_SAID_BY_STATUS = ("member_status", "in its startup shadow round", "rebuilding",
                   "shutting down")
"""How :meth:`impl.runtime.NodeServer.not_ready`'s phrases begin for the causes
:func:`_why_not_ready` already names from ``/status``."""


def _wait_ready(directory: Path, state: dict[str, Any], names: list[str],
                limit: float) -> list[str]:
    """Wait up to ``limit`` seconds (and no longer once one of them exited) until
    ``GET /health`` of each of ``names`` says ``ready`` (a member, up, past its
    startup shadow round, not rebuilding: :meth:`impl.runtime.NodeServer.health`).
    Returns the nodes not ready then, each as ``"NODE: why"``
    (:func:`_why_not_ready`); empty when all are. What a Kubernetes readiness probe
    and Riak's ``riak-admin wait-for-service riak_kv`` wait for: an open HTTP port
    is not a ready node (session 24: a put sent as soon as ``cluster up`` returned
    got 504 in 4 of 11 starts where a peer died in its first second; the nodes'
    shadow rounds held it up to ``shadow_round_s``, 2 s)."""
    deadline = time.monotonic() + limit
    waiting = list(names)
    while True:
        waiting = [name for name in waiting
                   if not (_health(state["nodes"][name]["http"]) or {}).get("ready")]
        exited = any(not _alive(state["nodes"][name]["pid"]) for name in waiting)
        if not waiting or exited or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    return [f"{name}: {_why_not_ready(directory, name, state['nodes'][name])}"
            for name in waiting]


def _port_taken(port: int) -> bool:
    """Whether another socket listens on loopback ``port``: a bind as the node's
    (asyncio's ``start_server``: ``SO_REUSEADDR``, so a closed connection's
    TIME_WAIT does not count) fails."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _ports_taken(state: dict[str, Any], names: list[str]) -> list[str]:
    """The ports of ``names`` (nodes about to start) another process listens on, each
    as ``"NODE http|peer 127.0.0.1:PORT"``. Session 24's review: a copy of a running
    cluster's directory (or a port of a stopped node since taken by another
    cluster's node) has its ports answered, ``ready``, by the other nodes; `up` then
    returned 0 at once while each node it started exited, "address already in use"."""
    return [f"{name} {key} 127.0.0.1:{state['nodes'][name][key]}" for name in names
            for key in ("http", "peer") if _port_taken(state["nodes"][name][key])]


def _stop(directory: Path, state: dict[str, Any], names: list[str]) -> int:
    """Stop the processes of ``names`` that are running; how many there were."""
    pids = {name: state["nodes"][name]["pid"] for name in names
            if _ours(directory, state["nodes"][name]["pid"])}
    _terminate(directory, pids)
    for name in names:
        state["nodes"][name]["pid"] = None
    return len(pids)


def _terminate(directory: Path, pids: dict[str, int]) -> list[str]:
    """SIGTERM to each process of ``pids`` (node -> PID, each running ``vdynamo serve``
    of ``directory``'s file), SIGKILL to those still running :data:`_STOP_TIMEOUT_S`
    later; returns once all are gone (or another such wait passed): the nodes
    killed so (their stop was not clean)."""
    for pid in pids.values():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    # Wait for the processes to be gone, not only to stop looking like ours: an
    # exiting process has an empty command line while it still runs (its sockets
    # and files still open) before it becomes a zombie.
    deadline = time.monotonic() + _STOP_TIMEOUT_S
    while time.monotonic() < deadline and any(_alive(p) for p in pids.values()):
        time.sleep(0.05)
    killed = {name: pid for name, pid in pids.items() if _ours(directory, pid)}
    for pid in killed.values():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + _STOP_TIMEOUT_S
    while time.monotonic() < deadline and any(_alive(p) for p in killed.values()):
        time.sleep(0.05)
    return list(killed)


def _bad_counts(args: argparse.Namespace) -> str | None:
    """Why ``cluster up``'s counts cannot make a new cluster (None: they can)."""
    if args.nodes < 1:
        return "--nodes must be at least 1"
    if args.nodes > MAX_LOCAL_NODES:
        return (f"--nodes {args.nodes}: a local cluster has at most {MAX_LOCAL_NODES} "
                "nodes (one process each); for a larger cluster write a cluster file and "
                "run `vdynamo serve` on several machines")
    if not 1 <= args.r <= args.n or not 1 <= args.w <= args.n or args.n > args.nodes:
        return (f"need 1 <= r, w <= n <= nodes; got n={args.n} r={args.r} w={args.w} "
                f"nodes={args.nodes}")
    return None


#: ``cluster up``'s counts when not given (they apply when the cluster is made)
_UP_COUNTS = {"nodes": 3, "n": 3, "r": 2, "w": 2}


def _changed_counts(args: argparse.Namespace, directory: Path, names: list[str]) -> str | None:
    """Why ``cluster up``'s ``--nodes``, ``--n``, ``--r``, ``--w`` cannot restart the
    cluster in ``directory`` (its nodes not left: ``names``): one given that is not
    what the cluster has (None: none). They apply when the cluster is made, as
    ``--set`` does; until session 29's user probe they were ignored on a restart,
    so ``cluster up --nodes 5`` (to scale out) or ``--r 3 --w 1`` exited 0 with
    the three nodes and the quorums of before."""
    try:
        with open(directory / "cluster.toml", "rb") as config:
            cluster = tomllib.load(config).get("cluster", {})
    except (OSError, tomllib.TOMLDecodeError):
        cluster = {}
    has = {"nodes": len(names) or len(cluster.get("nodes", ())),
           **{key: cluster.get(key, _UP_COUNTS[key]) for key in ("n", "r", "w")}}
    changed = [f"--{key} {getattr(args, key)} (the cluster has {has[key]})"
               for key in _UP_COUNTS if getattr(args, key) not in (None, has[key])]
    if not changed:
        return None
    return (f"{', '.join(changed)}: --nodes, --n, --r and --w apply when the cluster is "
            f"made; {directory / 'cluster.toml'} exists already (add a node with `vdynamo "
            f"join NODE --dir {directory}`, take one out with `vdynamo leave NODE --dir "
            f"{directory}`; for r "
            "and w edit [cluster] and restart the nodes; for n stop every node, edit it "
            f"and run `vdynamo cluster up --dir {directory} --adopt-store`); nothing was "
            "started")


def _ports_of_the_file(directory: Path, state: dict[str, Any]) -> None:
    """Record in ``state`` (``cluster.json``) the ports ``directory/cluster.toml`` now
    gives each node, the file its ``vdynamo serve`` reads, saying which changed: an
    operator may edit a port there (one taken on this machine; the documented way to
    change a setting on a restart is to edit the file). Before session 30's user
    probe ``cluster up`` waited at the ports recorded when the cluster was made: n1's
    ``http`` port edited, `cluster up` said ``n1 not ready within 30 s`` and stopped
    every node (exit 1), and ``get``, ``status`` and the client's seeds used the old
    port. A file that does not load is left to ``serve``, which names its error."""
    try:
        nodes = load_runtime_config(directory / "cluster.toml").nodes
    except (OSError, ConfigError):
        return
    for name, entry in state["nodes"].items():
        addresses = nodes.get(name)
        if addresses is None:
            continue
        for key, port in (("peer", addresses.peer.port), ("http", addresses.http.port)):
            if port and entry.get(key) != port:
                print(f"{name}: {key} port {port} (from {directory / 'cluster.toml'}; "
                      f"was {entry.get(key)})", file=sys.stderr)
                entry[key] = port


def _up(args: argparse.Namespace) -> int:
    directory: Path = args.dir
    fresh = not (directory / "cluster.toml").exists()
    settings: list[str] = []
    given = {key: getattr(args, key) for key in _UP_COUNTS}
    if fresh:
        for key, default in _UP_COUNTS.items():
            if getattr(args, key) is None:
                setattr(args, key, default)
        if (problem := _bad_counts(args)) is not None:
            print(f"vdynamo cluster up: {problem}", file=sys.stderr)
            return 2
        try:
            _port_range()
        except ConfigError as error:
            print(f"vdynamo cluster up: {error}; nothing was written", file=sys.stderr)
            return 2
        checked = _settings(args.set)
        if isinstance(checked, str):
            print(f"vdynamo cluster up: {checked}; nothing was written", file=sys.stderr)
            return 2
        settings = checked
    # the directories this call makes (the deepest first), removed again when the
    # cluster file it writes is refused: an empty directory was left behind
    # "nothing was written" until session 20's service probe
    made = [path for path in (directory, *directory.parents) if not path.exists()]
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # a file, a path through a file, no permission: a
        # FileExistsError or NotADirectoryError traceback until session 19's
        # service probe (and the directory was made before --nodes was checked)
        raise ClusterStateError(f"--dir {directory}: cannot make the cluster's "
                                f"directory there: {error.strerror or error}") from None
    # made under the directory's lock, its nodes' entries recorded before the lock is
    # released: two `cluster up` of a new directory at once (two terminals, a
    # parallel make) both took it for new (the second could write another secret
    # and other ports over the file the first's nodes read), or the second found the
    # file but no entries yet and exited 0 having said and started nothing (session
    # 51's service probe)
    with _locked(directory):
        if fresh and (directory / "cluster.toml").exists():
            fresh = False  # made meanwhile by another command: a restart of it
            for key, value in given.items():
                setattr(args, key, value)  # (the defaults were for a new cluster)
        state = read_state(directory)
        if fresh:
            refused = _make_cluster(args, directory, state, settings, made)
            if refused is not None:
                print(f"vdynamo cluster up: {refused}; nothing was written", file=sys.stderr)
                return 2
    if not fresh and args.set:
        print(f"vdynamo cluster up: --set applies when the cluster is made; "
              f"{directory / 'cluster.toml'} exists already (edit it instead); nothing "
              "was started", file=sys.stderr)
        return 2
    names = [name for name, entry in state["nodes"].items() if not entry.get("left")]
    if not fresh and (problem := _changed_counts(args, directory, names)) is not None:
        print(f"vdynamo cluster up: {problem}", file=sys.stderr)
        return 2
    if not fresh:
        _ports_of_the_file(directory, state)
    started = [name for name in names if not _ours(directory, state["nodes"][name]["pid"])]
    if not fresh and len(started) < len(names):
        if args.adopt_store and started:
            # session 50: --adopt-store takes a change made to every node at once (n, the
            # secret); started beside nodes running the old file, each side refuses the
            # other. One node's store is adopted by `cluster start NODE --adopt-store`
            print(f"vdynamo cluster up: --adopt-store is for a change made to every node "
                  f"at once, every node stopped (`vdynamo cluster down --dir {directory}`; "
                  f"{', '.join(n for n in names if n not in started)} running); to adopt "
                  f"one node's store: `vdynamo cluster start NODE --dir {directory} "
                  "--adopt-store`; nothing was started", file=sys.stderr)
            return 2
        # (session 48's new user's walk: a second `up` printed its URLs as a start does)
        said = (f"starting {', '.join(started)}; the others of {directory} were running"
                if started else f"every node of {directory} was running; nothing was started")
        print(f"vdynamo cluster up: {said}", file=sys.stderr)
    return _launch(args, state, names, started)


def _make_cluster(args: argparse.Namespace, directory: Path, state: dict[str, Any],
                  settings: list[str], made: list[Path]) -> str | None:
    """Write a new cluster's file in ``directory`` (``args``' counts, ``settings``) and
    its nodes' entries in ``cluster.json`` (no process yet), by a caller holding
    :func:`_locked`; the refusal of a file that does not load (the file removed, and
    the directories ``made``), or None. ClusterStateError when the file cannot be
    written."""
    names = [f"n{i}" for i in range(1, args.nodes + 1)]
    try:
        _write_config(directory, names, args.n, args.r, args.w, state, settings)
    except OSError as error:  # an OSError traceback until session 49's operator
        # walk (a read-only file system; a full disk alike)
        raise ClusterStateError(
            f"--dir {directory}: cannot write {directory / 'cluster.toml'}: "
            f"{error.strerror or error} (the cluster's files and its nodes' data go "
            "in --dir: give one this user can write, with space); nothing was "
            "started") from None
    try:
        load_runtime_config(directory / "cluster.toml")
    except ConfigError as error:
        (directory / "cluster.toml").unlink()
        state["nodes"].clear()
        for path in made:
            with contextlib.suppress(OSError):  # not empty: someone else's now
                path.rmdir()
        return str(error)
    _write_state(directory, state)
    return None


def _launch(args: argparse.Namespace, state: dict[str, Any], names: list[str],
            started: list[str]) -> int:
    """Start the nodes ``started`` of the cluster in ``args.dir`` (``state`` its
    ``cluster.json``; ``--adopt-store`` passed on with ``args.adopt_store``), wait
    until they answer and are ready (``args.wait_ready``), print the URLs of
    ``names``: ``cluster up``'s and ``cluster start``'s end, its exit status
    (``up``'s epilog)."""
    directory: Path = args.dir
    said = f"vdynamo cluster {args.command}"
    with _locked(directory):
        # read again under the lock, and each start recorded before it is released
        # (session 50's review: two `cluster start n2` at once each saw n2 stopped and
        # started one; the second process exited (its data file locked) and, recorded
        # over the first, had its pid cleared: n2 ran unrecorded, `cluster down` and
        # `cluster stop n2` left it running, and both commands exited 0)
        held = read_state(directory)["nodes"]
        if meanwhile := [name for name in started if name in held
                         and _runs(directory, held[name]["pid"], name)]:
            print(f"{said}: {', '.join(meanwhile)}: started meanwhile by another command "
                  f"(pid {', '.join(str(held[name]['pid']) for name in meanwhile)}); "
                  "nothing was started", file=sys.stderr)
            return 1
        # session 53: a `vdynamo leave` that marked the node left since this command
        # read cluster.json (its process had exited): a start now would only stop again
        # ("every node here left the ring"), its pid lost to the leave's mark before.
        # Not started; `up`'s other nodes are
        if gone := [name for name in started if held.get(name, {}).get("left")]:
            what = ("nothing was started" if len(gone) == len(started) else "not started")
            print(f"{said}: {', '.join(gone)}: left the cluster meanwhile (`vdynamo "
                  f"leave`); {what} (`vdynamo join NODE --dir {directory}` joins a node "
                  "again)", file=sys.stderr)
            if len(gone) == len(started):
                return 1
            started = [name for name in started if name not in gone]
            names = [name for name in names if name not in gone]
        # (after that check: the nodes another `up` started meanwhile hold their
        # ports, and were named another process's, session 51's service probe)
        if taken := _ports_taken(state, started):
            print(f"{said}: {', '.join(taken)}: in use by another process (another "
                  "cluster's node? a copy of this directory?); nothing was started",
                  file=sys.stderr)
            return 1
        try:
            for name in started:
                (directory / name).mkdir(exist_ok=True)
                state["nodes"][name]["pid"] = _start(directory, name, adopt=args.adopt_store,
                                                     entry=state["nodes"][name])
        finally:  # (interrupted meanwhile: the nodes started so far are recorded, for
            # `down`) only its own nodes' entries (session 48: written whole, a `vdynamo
            # join` meanwhile lost its node's entry, as two joins did before session
            # 47's review), and of those only what `up` sets (a `leave` finishing
            # meanwhile keeps its `left` mark: session 48's review)
            _merge_fields(directory, state, names, ("pid", "http", "peer"))
    try:
        problem = _wait_started(directory, state, started, ready=False)
        if problem is not None:
            # (a file of another cluster names --adopt-store as what does not take it)
            if "once with --adopt-store" in problem and not args.adopt_store:
                # session 50: `serve`'s way out was a `vdynamo serve` by hand, outside
                # the directory's record (`cluster up` had no --adopt-store); a shared
                # setting changes on every node at once (one node adopting it is
                # refused by its peers: not ready), a secret may roll node by node
                shared = "settings that every node must share" in problem
                problem += (
                    f" (under `vdynamo cluster`: every node stopped (`vdynamo cluster "
                    f"down --dir {directory}`), `vdynamo cluster up --dir {directory} "
                    "--adopt-store` passes it on to each)" if shared else
                    f" (under `vdynamo cluster`: `vdynamo cluster {args.command}"
                    f"{'' if args.command == 'up' else ' ' + started[0]} --dir "
                    f"{directory} --adopt-store` passes it on; only for a node name or "
                    "secret changed on purpose: a data file copied from another cluster "
                    "brings that cluster's keys and members with it, and its nodes' "
                    "departures: give the node a new, empty file instead)")
            print(f"{said}: {problem}", file=sys.stderr)
            _stop(directory, state, started)
            _write_fields(directory, state, started, ("pid",))
            return 1
        # a node restarted to resume an interrupted leave stays `leaving`: never ready
        expected = [name for name in started if not state["nodes"][name].get("leaving")]
        unready = _wait_ready(directory, state, expected, args.wait_ready) if (
            args.wait_ready > 0) else []
    except KeyboardInterrupt:  # a traceback, no URL and no word of the nodes before
        unready = None         # session 24's review
    for name in names:
        print(f"{name} http://127.0.0.1:{state['nodes'][name]['http']}")
    if args.adopt_store and started:
        print(f"{said}: --adopt-store: the data files of {', '.join(started)} are recorded "
              "as these nodes' under the cluster file's name, secret and settings",
              file=sys.stderr)
    if unready is None:
        count = f"{len(started)} node{'' if len(started) == 1 else 's'} started " + (
            "is" if len(started) == 1 else "are")
        stops = (f"`vdynamo cluster down --dir {directory}`" if args.command == "up" else
                 f"`vdynamo cluster stop {started[0]} --dir {directory}`")
        print(f"{said}: interrupted while waiting for the nodes to be ready; "
              f"the {count} left running ({stops} stops "
              f"{'it' if len(started) == 1 else 'them'})", file=sys.stderr)
        return INTERRUPTED
    if unready:
        print(f"{said}: {len(unready)} of {len(expected)} nodes started not "
              f"ready after {args.wait_ready:g} s (left running; `vdynamo cluster status "
              f"--dir {directory}` shows them):", file=sys.stderr)
        for line in unready:
            print(f"  {line}", file=sys.stderr)
        return UP_NOT_READY
    return 0


def _status(args: argparse.Namespace) -> int:
    """``cluster status``: the table of the nodes on stdout; on stderr the nodes not
    ready (why), those down (why: :func:`_why_down`) and a file of the cluster that is
    malformed (:func:`_file_problem`); the exit status as its ``--help`` says (0 every
    node answers and the file loads, 1 a node down or not ready, or no cluster,
    :data:`STATUS_FILE_BROKEN` a malformed file)."""
    directory: Path = args.dir
    try:
        state = read_state(directory)
    except ClusterStateError as error:  # (1 before session 53, as "no cluster")
        print(f"vdynamo cluster status: {error}", file=sys.stderr)
        return STATUS_FILE_BROKEN
    if not state["nodes"]:
        print(f"vdynamo cluster status: no cluster in {directory}", file=sys.stderr)
        return 1
    running_now = [name for name, entry in state["nodes"].items()
                   if _ours(directory, entry["pid"])]
    try:
        unready = _wait_ready(directory, state, running_now, args.wait_ready) if (
            args.wait_ready > 0) else []
    except KeyboardInterrupt:
        print("vdynamo cluster status: interrupted while waiting for the nodes to be "
              "ready; nothing was changed", file=sys.stderr)
        return INTERRUPTED
    print(f"{'node':<6} {'pid':>8} {'state':<10} {'member':<9} url")
    waited = len(unready)
    down: list[str] = []
    graces: list[str] = []
    named = {line.split(":", 1)[0] for line in unready}
    for name, entry in state["nodes"].items():
        health = _health(entry["http"])
        running = _ours(directory, entry["pid"])
        gone = bool(entry.get("left")) and not running
        # its recorded process serves another directory's cluster file: this
        # directory is a copy of a running cluster's (its ports and pids are the
        # other's). Counted down (session 59's red team, probe 23j: it read `ready`,
        # exit 0, while `vdynamo get --dir` said no node of the cluster ran and
        # `cluster down` stopped nothing); a `vdynamo serve` by hand (the recorded
        # process gone) stays as it was (session 50)
        foreign = bool(health) and not running and not gone and _serves_elsewhere(
            directory, entry["pid"])
        if foreign:
            down.append(f"{name}: its port {entry['http']} answers, but its recorded "
                        f"process {entry['pid']} serves another directory's cluster file: "
                        f"{_elsewhere(directory, entry['pid'])}; `vdynamo get/put/delete "
                        "--dir` do not use it")
        if health is None and not gone:
            # a node that left or was removed is not down: before session 22 it
            # counted as one, so `cluster status` exited 1 after every clean leave.
            # Each named with why (session 53: only a node whose last start exited
            # was, the others left to the table's `down`)
            down.append(f"{name}: {_why_down(directory, name, entry, running)}")
        if gone:
            what = "removed" if entry.get("removed") else "left"
        elif foreign:
            what = "foreign"
        elif health and health.get("ready"):
            what = "ready"
            if (grace := _rebuild_grace(entry["http"])) is not None:
                graces.append(f"{name}: {grace}")
        elif health:
            # session 50's operator walk: a node up for minutes, refused by its peers
            # for other [cluster] settings, showed `starting`, with no word why
            what = "unready"
            if name not in named:
                unready.append(f"{name}: " + (
                    _why_not_ready(directory, name, entry) if running else
                    _why_not_ready(directory, name, {**entry, "pid": None})
                    + f"; its process is none `vdynamo cluster` started in {directory} "
                    "(a `vdynamo serve` by hand?)"))
        else:
            what = (_silent(entry["pid"]) or "starting") if running else "down"
        if health:
            member = str(health.get("member_status", "?"))
        else:  # what the members say of it: a removal shows `removing`, then `removed`
            member = (_members_say(state, name) if gone else None) or "-"
        pid = entry["pid"] if running else "-"
        print(f"{name:<6} {pid!s:>8} {what:<10} {member:<9} http://127.0.0.1:{entry['http']}")
    if unready:
        after = f" after {args.wait_ready:g} s" if args.wait_ready > 0 else ""
        print(f"vdynamo cluster status: not ready{after}:", file=sys.stderr)
        for line in unready:
            print(f"  {line}", file=sys.stderr)
    if graces:  # (the exit status unchanged: such a node is ready)
        print("vdynamo cluster status: just rebuilt, their own reads and acks not "
              "counted yet (rebuild_grace in /status):", file=sys.stderr)
        for line in graces:
            print(f"  {line}", file=sys.stderr)
    if down:
        print("vdynamo cluster status: down:", file=sys.stderr)
        for line in down:
            print(f"  {line}", file=sys.stderr)
    problem = _file_problem(directory)
    if problem:  # session 52: a warning, exit status unchanged; session 53: its own
        print(f"vdynamo cluster status: {problem}", file=sys.stderr)
        return STATUS_FILE_BROKEN
    return 0 if waited == 0 and not down else 1


def _rebuild_grace(port: int) -> str | None:
    """What ``cluster status`` says of a ready node (HTTP on loopback ``port``) whose
    ``/status`` ``rebuild_grace`` is set (:meth:`impl.runtime.NodeServer.rebuild_grace`:
    its rebuild ended, its own reads and acks not counted yet), or None (null, no
    answer, or an older node without the field). Session 57: red team 6's get at
    R = 1 through such a node alone answered 503 while everything said it was
    rebuilt and ready."""
    grace = (_answer(port, "/status") or {}).get("rebuild_grace")
    if not isinstance(grace, dict) or not isinstance(grace.get("counted_in_s"), int | float):
        return None
    return (f"counted again in {grace['counted_in_s']:g} s; until then a get it "
            "coordinates does not count its own copy towards R, nor a put its own "
            "write towards W")


def _why_down(directory: Path, name: str, entry: dict[str, Any], running: bool) -> str:
    """Why node ``name`` (its ``cluster.json`` ``entry``), which does not answer
    ``/health``, is down, in a phrase for ``cluster status``'s stderr: its process
    stopped (SIGSTOP), running but silent, perhaps still starting, its last start's
    refusal (a broken data file: its log's last ``vdynamo serve:`` line, session 52),
    or not running, with the command that starts it."""
    if running:
        silent = _silent(entry["pid"])
        if silent == "stopped":
            return (f"its process (pid {entry['pid']}) is stopped (SIGSTOP?): `kill -CONT "
                    f"{entry['pid']}` resumes it")
        if silent:
            return (f"its process (pid {entry['pid']}) runs but does not answer GET /health "
                    f"on 127.0.0.1:{entry['http']} (hung?)")
        return f"its process (pid {entry['pid']}) is starting: it does not answer yet"
    if (last := _last_line(directory, name)).startswith("vdynamo serve:"):
        return f"its last start exited: {last}"
    return f"not running (`vdynamo cluster start {name} --dir {directory}` starts it)"


#: a ``ConfigError`` of a setting, as :func:`impl.runtime_config.load_runtime_config`
#: begins it: ``[cluster] KEY:``, ``[nodes.N] KEY:`` or ``KEY:`` (a key of [cluster])
_FIELD_ERROR = re.compile(r"(?:\[(?P<section>[^\]\s]+)\] )?(?P<key>[A-Za-z0-9_-]+):")


def _field_line(path: Path, message: str) -> int | None:
    """The line of ``path`` that sets the key a settings error ``message`` names
    (:data:`_FIELD_ERROR`), in its section (``[cluster]`` when none is named); None
    when the message names no key or the file does not set it (a key missing)."""
    match = _FIELD_ERROR.match(message)
    if match is None:
        return None
    section, key = match.group("section") or "cluster", match.group("key")
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    inside = False
    for number, line in enumerate(lines, 1):
        header = re.fullmatch(r"\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?", line)
        if header:
            inside = header.group(1).replace(" ", "") == section
        elif inside and re.match(rf"\s*{re.escape(key)}\s*=", line):
            return number
    return None


def _file_problem(directory: Path) -> str | None:
    """Why ``directory``'s cluster file would refuse a node's start now (an edit that
    does not load: TOML, a setting out of range), said so that an operator fixes it
    before stopping a node, not after: the running nodes keep the file they loaded
    and say nothing, and a node stopped then (``cluster stop``, a rolling restart)
    exits at its start (session 51's service probe); None when it loads."""
    path = directory / "cluster.toml"
    what = "does not load"
    try:
        config = load_runtime_config(path)
        # session 53's review: a file that loads but that `vdynamo serve --node NAME`
        # refuses (a port 0, a data file shared, the peer cap) was no problem here: its
        # `cluster status` exited 0, and a node stopped then did not start again
        for name in _startable(directory):
            what = f"does not start {name}"
            check_start(config, [name])
    except ConfigError as error:
        # the file named (session 52: a check of the settings, "[cluster]: section
        # missing", named none)
        said = str(error)
        if str(path) not in said:  # a setting's error: the file, and the key's line
            # (session 53; a TOML error names its line and column already)
            line = _field_line(path, said)
            said = f"{path}{'' if line is None else f' line {line}'}: {said}"
        return (f"the cluster file {what}: {said}; the running nodes keep "
                "the file they loaded, and a node started now exits: fix the file first")
    return None


def _startable(directory: Path) -> list[str]:
    """The nodes of ``directory``'s ``cluster.json`` that ``cluster start`` would start
    (those not marked left or removed); none when it is not a state file (said apart)."""
    try:
        nodes = read_state(directory)["nodes"]
    except ClusterStateError:
        return []
    return [name for name, entry in nodes.items() if not entry.get("left")]


def _down(args: argparse.Namespace) -> int:
    directory: Path = args.dir
    state = read_state(directory)
    if not state["nodes"]:  # before session 16's probe: a traceback for a directory
        # that does not exist, and "stopped 0 nodes" with a cluster.json written
        # into one that holds no cluster
        print(f"vdynamo cluster down: no cluster in {directory}: nothing stopped",
              file=sys.stderr)
        return 1
    # the pid of a node whose recorded process serves another directory's file is
    # kept (the review of red team 10, session 59: cleared, a directory moved with
    # `mv` while its nodes ran lost the only record of them: moved back, `cluster
    # down` stopped 0 nodes and they ran on, unknown)
    foreign = {name: entry["pid"] for name, entry in state["nodes"].items()
               if _serves_elsewhere(directory, entry["pid"])}
    pids = {name: entry["pid"] for name, entry in state["nodes"].items()
            if name not in foreign}
    stopped = _stop(directory, state, list(state["nodes"]))
    for name, pid in foreign.items():
        print(f"vdynamo cluster down: {name}: not stopped: its recorded process {pid} "
              f"serves another directory's cluster file: {_elsewhere(directory, pid)}",
              file=sys.stderr)
    # only the pids of the nodes it stopped, over what the file holds now (session 48:
    # written whole, a node that `vdynamo join` added while the others were stopped
    # lost its entry, its process left running and unknown to the next `down`; its
    # review: written entry by entry, a `leave` meanwhile lost its `left` mark, and a
    # node started again meanwhile its new pid)
    _clear_pids(directory, pids)
    print(f"stopped {stopped} nodes of {directory}")
    return 0


def _clear_pids(directory: Path, pids: dict[str, int | None]) -> None:
    """Under :func:`_locked`, set to None the pid of each node of ``pids`` whose entry
    in ``cluster.json`` still holds the pid of ``pids`` (the process ``cluster down``
    stopped), every other field and entry kept as other commands wrote them
    meanwhile. ClusterStateError as :func:`read_state`."""
    with _locked(directory):
        current = read_state(directory)
        for name, pid in pids.items():
            entry = current["nodes"].get(name)
            if entry is not None and entry.get("pid") == pid:
                entry["pid"] = None
        _write_state(directory, current)


def _node_problem(directory: Path, state: dict[str, Any], name: str, verb: str) -> str | None:
    """Why ``cluster stop|start`` (``verb``) cannot act on node ``name`` of the cluster
    in ``directory`` (``state``: its ``cluster.json``) whatever its process does: no
    cluster there, no such node, the node left or was removed. None: it can."""
    if not (directory / "cluster.toml").exists() or not state["nodes"]:
        return f"no cluster in {directory} (run `vdynamo cluster up --dir {directory}` first)"
    entry = state["nodes"].get(name)
    if entry is None:
        return (f"no node {name} in the cluster in {directory} (its nodes: "
                f"{', '.join(state['nodes'])})"
                + (f"; a new node joins: `vdynamo join {name} --dir {directory}`"
                   if verb == "start" else ""))
    if _runs(directory, entry["pid"], name):
        return None  # (a node that left and lingers still stops)
    if entry.get("removed"):
        return f"{name} was removed from the cluster in {directory}: it is no member"
    if entry.get("left"):
        return (f"{name} left the cluster in {directory}: it is no member (`vdynamo join "
                f"{name} --dir {directory}` joins it again)")
    return None


def _the_node(args: argparse.Namespace) -> tuple[Path, dict[str, Any], str, int] | int:
    """(directory, ``cluster.json``, node, its PID) of ``cluster stop|start NODE``
    (``args.command``), or its exit status, 1, after one line why it cannot act: as
    :func:`_node_problem`, or the node not running (``stop``) or running (``start``)."""
    directory: Path = args.dir
    name: str = args.node
    state = read_state(directory)
    problem = _node_problem(directory, state, name, args.command)
    if problem is None:
        pid = state["nodes"][name]["pid"]
        if args.command == "stop" and not _runs(directory, pid, name):
            problem = (f"{name} is not running in {directory} (stopped already: `vdynamo "
                       f"cluster start {name} --dir {directory}` starts it)")
        elif args.command == "start" and _runs(directory, pid, name):
            problem = (f"{name} is already running in {directory} (pid {pid}; `vdynamo "
                       f"cluster stop {name} --dir {directory}` stops it)")
        else:
            return directory, state, name, pid
    print(f"vdynamo cluster {args.command}: {problem}", file=sys.stderr)
    return 1


def _stop_node(args: argparse.Namespace) -> int:
    """``cluster stop NODE``: SIGTERM to the node's process (a graceful stop: it takes
    no new connection, answers its requests in flight within twice
    ``request_timeout``, flushes and closes its store, hints included), SIGKILL if it
    still runs 10 s later (said); the other nodes run on, and hold hints for it
    while it is down. Riak's ``riak stop`` on one node, Cassandra's ``nodetool
    drain`` then a stop: until session 50 the documented way was SIGTERM to the PID
    that ``cluster status`` shows (session 49's operator walk)."""
    found = _the_node(args)
    if isinstance(found, int):
        return found
    directory, state, name, pid = found
    running = [other for other, held in state["nodes"].items()
               if other != name and _runs(directory, held["pid"], other)]
    # a process stopped (state T: SIGSTOP, Ctrl-Z, a debugger; `cluster status` says
    # "stopped") serves nothing: not counted for the quorums (session 51's review: n2
    # SIGSTOPped, `cluster stop n1` of N = 3, R = W = 2 counted it and said nothing)
    serving = [other for other in running
               if _silent(state["nodes"][other]["pid"]) != "stopped"]
    status = next((answer for node in (name, *serving)  # (the node itself first; a
                   # hung one answers nothing: another member's ring and quorums)
                   if (answer := _answer(state["nodes"][node]["http"], "/status"))), None)
    warning = _quorum_warning(status, serving, name, directory)
    began = time.monotonic()
    killed = _terminate(directory, {name: pid})
    _clear_pids(directory, {name: pid})
    took = time.monotonic() - began
    how = (f"killed (SIGKILL): it still ran {_STOP_TIMEOUT_S:.0f} s after SIGTERM; its "
           "store is recovered at its next start" if killed else
           f"a graceful stop in {took:.1f} s: its requests in flight answered, its store "
           "flushed")
    shown = [other if other in serving else f"{other} (its process stopped: SIGSTOP?)"
             for other in running]
    print(f"{name} stopped ({how}); running: {', '.join(shown) or 'none'} "
          f"(`vdynamo cluster start {name} --dir {directory}` starts it again)")
    for said in (warning, _file_problem(directory)):
        if said is not None:
            print(f"vdynamo cluster stop: warning: {said}", file=sys.stderr)
    return 0


def _quorum_warning(status: dict[str, Any] | None, running: list[str], name: str,
                    directory: Path) -> str | None:
    """Why stopping ``name`` leaves some keys short of their quorums, from its own
    ``GET /status`` (``status``: its ring, N, R, W, PR, PW) and the nodes still
    ``running`` after it; None when every partition keeps at least max(R, W) of its
    N replicas running (or ``status`` cannot tell). etcd refuses a member change that
    would lose its quorum (``--strict-reconfig-check``), Cassandra's ``nodetool
    status`` shows each range's owners down; until session 51 ``cluster stop`` said
    nothing when it left a key's reads and writes to fallbacks alone, or to none."""
    try:
        config, ring = status["config"], status["ring"]  # type: ignore[index]
        partitioning = Partitioning(
            Strategy(int(ring["strategy"])),
            Ring.from_tokens({node: [int(t) for t in tokens]
                              for node, tokens in ring["tokens"].items()}),
            int(ring["tokens_per_node"]),
            None if ring["partitions"] is None else int(ring["partitions"]))
        n, r, w = int(config["n"]), int(config["r"]), int(config["w"])
        pr, pw = int(config.get("pr", 0)), int(config.get("pw", 0))
        placements = partitioning.placements(min(n, len(partitioning.nodes)))
    except (TypeError, KeyError, ValueError, AttributeError):
        return None
    up = set(running)
    short = [(owners, len([o for o in owners if o in up])) for _, owners in placements]
    fewest = min((count for _, count in short), default=n)
    needed = max(r, w, pr, pw)
    if fewest >= needed:
        return None
    worst = next(owners for owners, count in short if count == fewest)
    below = [f"{label}={value}" for label, value in
             (("R", r), ("W", w), ("PR", pr), ("PW", pw)) if value > fewest]
    count = sum(1 for _, held in short if held < needed)
    fallbacks = len(up & set(partitioning.nodes)) >= needed
    what = ("their keys' reads and writes reach those quorums only through fallback "
            "nodes (sloppy quorum: a read may miss a value written before) and fail "
            "where PR or PW asks for primaries" if fallbacks else
            "reads and writes of their keys at those quorums fail (503, 504)")
    return (f"with {name} stopped, {count} of the ring's {len(short)} partitions have "
            f"fewer of their N={n} replicas running than {', '.join(below)} (the fewest "
            f"{fewest}, of {', '.join(worst)}): {what}, until a replica is started "
            f"again (`vdynamo cluster start {name} --dir {directory}`)")


def _start_node(args: argparse.Namespace) -> int:
    """``cluster start NODE``: start one stopped node of the cluster on its data, as
    ``cluster up`` starts those not running (its ports from the cluster file, refused
    if another process holds one; waits until it answers and is ready, at most
    ``--wait-ready``); ``--adopt-store`` passed on to its ``vdynamo serve``."""
    found = _the_node(args)
    if isinstance(found, int):
        return found
    directory, state, name, _ = found
    _ports_of_the_file(directory, state)
    return _launch(args, state, [name], [name])


def _seconds(text: str) -> float:
    """``--wait-ready``'s value: a finite number of seconds, 0 to 3600."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:  # (NaN fails both)
        raise argparse.ArgumentTypeError(f"{text!r}: expected seconds from 0 to 3600")
    return value


def main_cluster(argv: list[str]) -> int:
    """``vdynamo cluster up|status|down|stop NODE|start NODE``."""
    parser = argparse.ArgumentParser(prog="vdynamo cluster", description=(
        "A local cluster of real processes on 127.0.0.1 (one per node)."))
    sub = parser.add_subparsers(dest="command", required=True, help=(
        "`vdynamo cluster COMMAND --help` for each one's options"))
    up = sub.add_parser(
        "up", help="start the cluster in the background (or restart it)",
        epilog="exit status: 0 every node started answers and is ready; 1 a node did "
        "not start (those started are stopped again), a port of a node to start is "
        "held by another process (none started), or DIR cannot be used; 2 bad "
        "arguments, nothing written or started; "
        f"{UP_NOT_READY} a node started answers but is not ready within "
        f"--wait-ready (each named with why; all left running); {INTERRUPTED} "
        "interrupted (Ctrl-C) while waiting (the nodes started left running)")
    up.add_argument("--nodes", type=int, help=(
        f"number of nodes (default 3, at most {MAX_LOCAL_NODES}); this and --n, --r, "
        "--w apply when the cluster is made (on a restart: refused unless the same)"))
    up.add_argument("--n", type=int, help="replicas per key (default 3)")
    up.add_argument("--r", type=int, help="read quorum (default 2)")
    up.add_argument("--w", type=int, help="write quorum (default 2)")
    up.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=(
        "a [cluster] setting of the new cluster file, VALUE in TOML (repeatable; e.g. "
        "--set gossip_interval=0.25 for the faster rounds of a test; docs/runtime.md "
        "lists the settings; name: by default a new one, vdynamo-<8 hex digits>)"))
    up.add_argument("--wait-ready", type=_seconds, default=WAIT_READY_S, metavar="SECONDS",
                    help=(f"once they answer, wait up to SECONDS (default {WAIT_READY_S:g}) "
                          "for the nodes started to be ready (GET /health: a member, up, "
                          "past its startup shadow round, not rebuilding); 0: do not wait"))
    status = sub.add_parser(
        "status", help="each node's process and health",
        epilog="exit status: 0 every node that has not left (or been removed) answers "
        "(with --wait-ready: and each running is ready) and cluster.toml loads; 1 one "
        "does not (each down or not ready named with why on stderr), or no cluster in "
        f"DIR; 2 bad arguments; {STATUS_FILE_BROKEN} cluster.toml does not load (a node "
        "started now would exit; the file, the line or setting and the fault named) or "
        "cluster.json is not a state file, whatever the nodes do (those down named "
        f"too); {INTERRUPTED} interrupted (Ctrl-C) while waiting")
    status.add_argument("--wait-ready", type=_seconds, default=0.0, metavar="SECONDS",
                        help="first wait up to SECONDS (default 0: do not wait) for "
                        "every running node to be ready, as `up` does")
    down = sub.add_parser(
        "down", help="stop every process `up` started",
        epilog="exit status: 0 the nodes running stopped (SIGTERM, after 10 s SIGKILL), or "
        "none was running; 1 no cluster in DIR")
    stop = sub.add_parser(
        "stop", help="stop one node, the others left running",
        description="Stop one node: SIGTERM (a graceful stop: requests in flight "
        "answered, its store flushed; SIGKILL if it still runs 10 s later). The other "
        "nodes hold hints for it until it is back (`cluster start NODE`, or `cluster up`). "
        "A warning on stderr names the keys' partitions the stop leaves with fewer "
        "replicas running than R or W (or PR, PW) ask.",
        epilog="exit status: 0 it stopped; 1 no cluster in DIR, no such node, the node "
        "not running (stopped already, left or removed)")
    start = sub.add_parser(
        "start", help="start one stopped node on its data",
        description="Start one stopped node on its data, as `cluster up` starts the nodes "
        "that are not running, and wait until it is ready.",
        epilog="exit status: as `cluster up`'s; also 1 no such node, the node running "
        "already, left (`vdynamo join` it) or removed")
    for command in (stop, start):
        command.add_argument("node", help="the node's name (as `cluster status` shows it)")
    start.add_argument("--wait-ready", type=_seconds, default=WAIT_READY_S,
                       metavar="SECONDS", help=(f"as `up`'s (default {WAIT_READY_S:g})"))
    for command in (up, start):
        command.add_argument("--adopt-store", action="store_true", help=(
            "pass --adopt-store to the `vdynamo serve` of each node started: its data "
            "file is taken as the node's though another node name or cluster secret "
            "wrote it, or it last ran with another n or vclock_truncation (a change made "
            "on purpose; `up`: to every node, every node stopped; never a file of "
            "another cluster, by its [cluster] name, nor the ring's settings)"))
    for command in (up, status, down, stop, start):
        command.add_argument("--dir", type=Path, default=DEFAULT_DIR, help=(
            f"the cluster's directory (default ./{DEFAULT_DIR})"))
    args = parser.parse_args(argv)
    if (problem := _dir_problem(args.dir)) is not None:
        print(f"vdynamo cluster {args.command}: {problem}", file=sys.stderr)
        return 1
    try:
        return {"up": _up, "status": _status, "down": _down, "stop": _stop_node,
                "start": _start_node}[args.command](args)
    except ClusterStateError as error:
        print(f"vdynamo cluster {args.command}: {error}", file=sys.stderr)
        return 1


#: ``join``'s, ``leave``'s and ``remove``'s exit statuses, under their ``--help``
_ONE_NODE_EPILOGS = {
    "vdynamo join": "exit status: 0 the node joined and is ready (its URL printed); 1 it "
                    "did not (one line why: running already, no cluster, not ready in time)",
    "vdynamo leave": "exit status: 0 the node handed its ranges over and its process exited; "
                     "1 it did not (one line why and what to do: no such node, not "
                     "running, a member it waits for down, its process gone mid-handover)",
    "vdynamo remove": "exit status: 0 a member took the removal (the node's ranges then move "
                      "to new owners); 1 refused (one line why: the node running or heard "
                      "from lately, unknown, fewer than N members left, a change in progress)",
}


def _one_node(prog: str, argv: list[str], *, running: bool | None,
              ) -> tuple[Path, dict[str, Any], str, dict[str, Any] | None] | int:
    """(directory, state, node, its entry) of ``join``/``leave``; or the exit status
    after a one-line error (no cluster; the node running or not, against ``running``
    unless None)."""
    parser = argparse.ArgumentParser(prog=prog, epilog=_ONE_NODE_EPILOGS[prog])
    parser.add_argument("node", help="the node's name")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help=(
        f"the cluster's directory (default ./{DEFAULT_DIR})"))
    args = parser.parse_args(argv)
    if (problem := _dir_problem(args.dir)) is not None:
        print(f"{prog}: {problem}", file=sys.stderr)
        return 1
    try:
        state = read_state(args.dir)
    except ClusterStateError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 1
    entry = state["nodes"].get(args.node)
    problem = None
    if not (args.dir / "cluster.toml").exists():
        problem = f"no cluster in {args.dir} (run `vdynamo cluster up --dir {args.dir}` first)"
    elif running is not None and _ours(args.dir, entry and entry["pid"]) != running:
        problem = f"{args.node} is {'not ' if running else 'already '}running in {args.dir}"
    if problem is not None:
        print(f"{prog}: {problem}", file=sys.stderr)
        return 1
    return args.dir, state, args.node, entry


def main_join(argv: list[str]) -> int:
    """``vdynamo join NODE [--dir D]``: add a node to a running local cluster."""
    found = _one_node("vdynamo join", argv, running=False)
    if isinstance(found, int):
        return found
    directory, state, name, entry = found
    if entry is None and not _LOCAL_NAME.fullmatch(name):
        # before session 16's probe `join 'bad name'` appended `[nodes.bad name]` (not
        # TOML: every later `cluster up` failed), `join ''` a data file at the
        # filesystem's root, `join ../evil` one outside the directory
        print(f"vdynamo join: node name {name!r}: a local cluster's node names are 1 to "
              f"{_LOCAL_NAME_CHARS} letters, digits, '_' or '-', beginning with a letter or "
              "digit (each is a TOML key and a directory name); nothing was written",
              file=sys.stderr)
        return 1
    if entry is None:
        try:
            _port_range()
        except ConfigError as error:
            print(f"vdynamo join: {error}; nothing was written", file=sys.stderr)
            return 2
    with _locked(directory):  # (session 47's review: two joins at once kept one entry)
        try:  # read again: another join or leave may have written it since
            state = read_state(directory)
        except ClusterStateError as error:
            print(f"vdynamo join: {error}", file=sys.stderr)
            return 1
        entry = state["nodes"].get(name)
        if entry is not None and _ours(directory, entry["pid"]):
            print(f"vdynamo join: {name} is already running in {directory}", file=sys.stderr)
            return 1
        if (entry is None or entry.get("left")) and (
                refused := _past_peer_cap(directory, name)) is not None:
            print(f"vdynamo join: {name}: {refused}; nothing was written", file=sys.stderr)
            return 1
        if (problem := _seeds_for_join(directory, state, name)) is not None:
            print(f"vdynamo join: {problem}", file=sys.stderr)
            return 1
        # the nodes gone marked in the file (the joining node's start counts the rest),
        # the node itself no longer (a rejoin counts it again)
        marks = {other: True for other in _gone(state, name)}
        if (problem := _mark_left(directory, {**marks, name: False})) is not None:
            print(f"vdynamo join: {problem}", file=sys.stderr)
            return 1
        if entry is None:
            peer, http = _free_ports(2, _state_ports(state))
            if (problem := _append_section(directory, _node_section(name, peer, http))):
                print(f"vdynamo join: {name}: cluster.toml: {problem}; its section not added",
                      file=sys.stderr)
                return 1
            entry = state["nodes"][name] = {"pid": None, "peer": peer, "http": http}
        left = bool(entry.pop("left", None))  # it left: it joins again (serve --rejoin)
        (directory / name).mkdir(exist_ok=True)
        try:
            entry["pid"] = _start(directory, name, rejoin=left, entry=entry)
        finally:  # (interrupted in the wait: the node started is recorded, for `down`)
            _write_state(directory, state)
    problem = _wait_started(directory, state, [name], ready=True)
    if problem is not None:
        print(f"vdynamo join: {problem}{_join_waits(directory, state, name, entry)}",
              file=sys.stderr)
        return 1
    print(f"{name} http://127.0.0.1:{entry['http']} joined")
    return 0


def _seeds_for_join(directory: Path, state: dict[str, Any], name: str) -> str | None:
    """Make the cluster file's seeds name a member before node ``name`` joins: a
    joining node asks only the seeds (``[cluster] seeds``, by default the initial
    members ``nodes``) for the view it takes its tokens from, so once every one of them
    has left or was removed it asks nodes that no longer run and never joins (session
    47's data probe: a rolling replacement, n4-n6 joined and n1-n3 left one by one,
    then ``join n7`` answered "not-joined" after 30 s and n7 stayed so), as when every
    seed is a member but down (session 47's review). The members still in the
    cluster (``cluster.json``: neither left nor removed) and running are then written
    as ``seeds`` (a setting no peer compares, read by nodes at their start: the seeds
    of paper 4.8.2 that the operator keeps known to all nodes). None, or the problem
    when the file cannot be read or rewritten."""
    path = directory / "cluster.toml"
    read = _read_file(path)
    if isinstance(read, str):
        return read
    text, cluster = read[0], read[1].get("cluster", {})
    # the members running now: a seed that is a member but down answers no joiner
    # either (session 47's review: seeds ["n2"], n2 killed, n3 running: `join n4`
    # "not ready within 30 s: member_status not-joined")
    members = sorted(other for other, held in state["nodes"].items()
                     if other != name and not held.get("left") and not held.get("removed")
                     and _ours(directory, held["pid"]))
    seeds = cluster.get("seeds") or cluster.get("nodes") or []
    if not members or any(seed in members for seed in seeds):
        return None
    lines = text.splitlines(keepends=True)
    if not _set_key(lines, _CLUSTER_HEADER, "seeds", f"seeds = {json.dumps(members)}\n"):
        return f"{path}: no [cluster] section"
    try:  # (a seeds array written over several lines by hand leaves its rest behind)
        written = tomllib.loads("".join(lines))["cluster"].get("seeds")
    except ValueError:
        written = None
    if written != members:
        return (f"{path}: its [cluster] seeds name no member of the cluster; set them by "
                f"hand to members ({', '.join(members)}); nothing was written")
    if (failed := _replace_file(directory, "".join(lines))) is not None:
        return (f"cannot rewrite {path}'s [cluster] seeds (they name no member of the "
                f"cluster; set them by hand to members: {', '.join(members)}): "
                f"{failed}; nothing was written")
    return None


def _read_file(path: Path) -> tuple[str, dict[str, Any]] | str:
    """The cluster file ``path``'s text and its TOML, or why it cannot be read."""
    try:
        text = path.read_text()
        return text, tomllib.loads(text)
    except (OSError, ValueError) as error:  # tomllib.TOMLDecodeError is a ValueError
        return f"cannot read {path}: {error}"


def _set_key(lines: list[str], header: re.Pattern[str], key: str, line: str | None) -> bool:
    """In ``lines`` (a TOML file's, ends kept), the table whose header line matches
    ``header``: its ``key`` lines dropped and ``line`` (if any) put first. False if no
    such table."""
    start = next((i for i, held in enumerate(lines) if header.fullmatch(held.strip())), None)
    if start is None:
        return False
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")),
               len(lines))
    kept = [held for held in lines[start + 1:end] if held.split("=", 1)[0].strip() != key]
    lines[start + 1:end] = [*([] if line is None else [line]), *kept]
    return True


def _replace_file(directory: Path, text: str) -> str | None:
    """``directory``'s ``cluster.toml`` replaced by ``text`` at once (a file beside
    it, renamed), mode 0600; None, or why not."""
    tmp = directory / "cluster.toml.tmp"
    try:  # (session 47's review: a traceback when the directory took no new file)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        tmp.replace(directory / "cluster.toml")
    except OSError as error:
        return str(error.strerror or error)
    return None


def _append_section(directory: Path, section: str) -> str | None:
    """``section`` added at the end of ``directory``'s ``cluster.toml`` by a whole
    replace (:func:`_replace_file`: a file beside it, renamed, mode 0600), so that a
    reader at that instant (a node's SIGHUP, ``cluster status``, a starting node)
    reads the file before or after, never a part of the new section: ``vdynamo join``
    appended in place until session 53's review of the CLI found it. None, or why not."""
    try:
        text = (directory / "cluster.toml").read_text()
    except OSError as error:
        return str(error.strerror or error)
    return _replace_file(directory, text + section)


def _mark_left(directory: Path, marks: dict[str, bool]) -> str | None:
    """Write ``left = true`` into the ``[nodes.NAME]`` section of each node that
    ``marks`` maps to True and drop it from those mapped to False, in the cluster file
    of ``directory``: a node that left or was removed does not count against
    ``max_peer_connections`` at ``vdynamo serve`` and ``vdynamo join``, and counts
    again once it rejoins (:func:`impl.config.check_peer_cap`; until session 47's
    review it counted for good: cap 4, n4 joined, n1 left, `join n5` was refused
    "for 5 nodes"). The section stays (the node's addresses and data file, for a
    rejoin), as Riak keeps a node that left in its ring as ``invalid``. None, or the
    problem when the file cannot be read or rewritten (then nothing was written)."""
    path = directory / "cluster.toml"
    read = _read_file(path)
    if isinstance(read, str):
        return read
    text, held = read[0], read[1].get("nodes", {})
    changed = {name: left for name, left in marks.items()
               if isinstance(held.get(name), dict) and held[name].get("left", False) != left}
    if not changed:
        return None
    lines = text.splitlines(keepends=True)
    for name, left in changed.items():
        header = re.compile(rf"\[\s*nodes\s*\.\s*(\"{name}\"|{name})\s*\]\s*(#.*)?")
        _set_key(lines, header, "left", "left = true\n" if left else None)
    try:
        written = tomllib.loads("".join(lines)).get("nodes", {})
    except ValueError:
        written = {}
    wrong = sorted(name for name, left in changed.items()
                   if not isinstance(written.get(name), dict)
                   or written[name].get("left", False) != left)
    if wrong:
        return (f"{path}: cannot {'write' if changed[wrong[0]] else 'drop'} [nodes.{wrong[0]}] "
                f"left = true; edit the section by hand")
    if (failed := _replace_file(directory, "".join(lines))) is not None:
        return f"cannot rewrite {path}: {failed}"
    return None


def _gone(state: dict[str, Any], name: str) -> set[str]:
    """The nodes but ``name`` that ``state`` (``cluster.json``) says left or were
    removed."""
    return {other for other, held in state["nodes"].items()
            if other != name and (held.get("left") or held.get("removed"))}


def _past_peer_cap(directory: Path, name: str) -> str | None:
    """Why the cluster file of ``directory`` cannot take the node ``name`` (joining,
    or rejoining after it left): its ``max_peer_connections`` below the nodes with it
    (:func:`impl.config.check_peer_cap`), but for the nodes that left or were removed
    (their sections' ``left = true``, and those ``cluster.json`` says left, whose
    sections a leave before session 47's review did not mark), else None (a
    file that does not load is left to the node's start to name). Said before the
    join writes anything: the node's start refused it, and the section it left in
    the file refused every node's restart (session 47's user probe)."""
    try:
        loaded = load_runtime_config(directory / "cluster.toml")
        gone = _gone(read_state(directory), name)
    except (ConfigError, ClusterStateError):
        return None
    left = {other for other, held in loaded.nodes.items() if held.left} | gone
    try:
        check_peer_cap(loaded.cluster, [*loaded.nodes, name], left - {name})
    except ConfigError as error:
        return str(error)
    return None


def _join_waits(directory: Path, state: dict[str, Any], name: str,
                entry: dict[str, Any]) -> str:
    """Why the joining node ``name`` is not ready, for ``vdynamo join``'s failure: if
    it exited, :func:`_join_ended`; else ``": "`` and :func:`_why_not_ready`, the
    members its ``GET /status`` ``handover_waiting`` names
    (:meth:`impl.node.Node.handover_waiting`: ``claim``, ``handoff``; ``down`` in its
    view), and for members down the ways out. Session 31's operator probe: 4 nodes,
    n4 killed, ``vdynamo join n5`` said only "n5 not ready within 30 s" (the join
    waits for every member to acknowledge it, n4 too), and the node was left running,
    ``joining``."""
    if not _alive(entry["pid"]):
        return _join_ended(directory, state, name, entry["pid"])
    said = f": {_why_not_ready(directory, name, entry)}"
    waits = _handover_waits(entry)
    if not waits:
        return said
    steps = {"claim": "to give it partitions", "handoff": "to hand its ranges over"}
    named = ", ".join(
        f"{node} ({'down, ' if held.get('down') else ''}"
        f"{steps.get(str(held.get('step')), str(held.get('step')))})"
        for node, held in sorted(waits.items()) if isinstance(held, dict))
    down = sorted(node for node, held in waits.items()
                  if isinstance(held, dict) and held.get("down"))
    said += f"; its join waits for {named}"
    if down:
        said += (f". It keeps joining and completes once {', '.join(down)} "
                 f"{'is' if len(down) == 1 else 'are'} back (`vdynamo cluster up --dir "
                 f"{directory}`); a member down for good can be removed instead "
                 f"(`vdynamo remove NODE --dir {directory}`)")
    return said


def _join_ended(directory: Path, state: dict[str, Any], name: str, pid: int) -> str:
    """How the joining node ``name``'s process ``pid`` (a child of this ``vdynamo
    join``) ended, after its log's last line: ``""`` if this process cannot tell (not
    its child, reaped already); `` (exit status N)``; or, killed by a signal, that and
    the ways on: ``join`` again resumes it, and one the members see joining that is
    gone for good is removed. Session 49's operator walk: n8 SIGKILLed mid-join (n1
    held it ``joining``), ``vdynamo join`` said only "n8 exited:" and the log's last
    line, ``n8: started``."""
    try:
        ended, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return ""
    if ended != pid:
        return ""
    if not os.WIFSIGNALED(status):
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            return f" (exit status {code})"
        # 0: stopped gracefully (SIGTERM, SIGINT; SIGHUP sessions 50-52): the ways
        # on as for a kill (session 50's review: a SIGHUP mid-join was "killed by
        # SIGHUP" and the ways on; once graceful, "exit status 0" alone)
        said = " (exit status 0, stopped"
    else:
        number = os.WTERMSIG(status)
        try:
            said = f" (killed by {signal.Signals(number).name}"
        except ValueError:  # (a real-time signal between SIGRTMIN and SIGRTMAX)
            said = f" (killed by signal {number}"
    seen = _members_say(state, name)
    if seen == "joining":
        return (f"{said}; the members see it joining): `vdynamo join {name} --dir {directory}` "
                f"starts it again and it resumes its join; if it is gone for good, remove it "
                f"(`vdynamo remove {name} --dir {directory}`)")
    return f"{said}): `vdynamo join {name} --dir {directory}` starts it again"


def _members_say(state: dict[str, Any], name: str) -> str | None:
    """``name``'s status (``"left"``, ``"leaving"``, ...) in the view of the first
    other node of ``state`` whose ``GET /status`` answers; None if none answers."""
    for other, entry in state["nodes"].items():
        if other == name or entry.get("left"):
            continue
        members = (_answer(entry["http"], "/status") or {}).get("membership")
        if not isinstance(members, dict):
            continue
        member = members.get(name)
        return str(member["status"]) if isinstance(member, dict) else "absent"
    return None


def _departure_waits(directory: Path, state: dict[str, Any], name: str) -> str | None:
    """Why ``name``'s departure waits, as a running member's ``GET /status`` says
    (``departures_waiting``: the deciding node, the leaving node itself or the
    claimant), ``"NODE: reason"``; None if no member says it waits (or none answers).

    A reason counts only from a member whose view (its ``membership``, in the same
    answer) is current about every other node running in ``directory``: holds it on
    the ring, or holds it ``left`` as the node itself does (its own ``/status``).
    One that has not yet heard of a node just joined (``vdynamo join`` returns once
    the new node is ready, before every member saw it) computed its reason without
    it (session 25). A node that left but still runs (it stays up until its
    settlement is announced, then ``4 * gossip_interval``) is ``left`` everywhere,
    its own view too: session 25's review, before, every reason was refused while
    it ran (two leaves at once, 4 nodes, N = 3, gossip 3 s: the waiting one's
    ``leave`` heard of it only once the other exited)."""
    from impl.membership import ON_RING

    on_ring = {status.value for status in ON_RING}
    running = {other for other, entry in state["nodes"].items()
               if other != name and not entry.get("left") and not entry.get("removed")
               and _ours(directory, entry["pid"])}
    answers: dict[str, dict[str, Any]] = {}
    for other, entry in state["nodes"].items():
        if entry.get("left") or entry.get("removed"):
            continue
        if (status := _answer(entry["http"], "/status")) is not None:
            answers[other] = status

    def says(at: str, node: str) -> Any:
        """``node``'s status in ``at``'s answered view (None: not there, or no view)."""
        try:
            return answers.get(at, {}).get("membership", {}).get(node, {}).get("status")
        except AttributeError:
            return None

    for other, status in answers.items():
        try:
            why = status.get("departures_waiting", {}).get(name)
        except AttributeError:
            continue
        current = all(says(other, node) in on_ring
                      or says(other, node) == says(node, node) == "left" for node in running)
        if isinstance(why, str) and current:
            return f"{other}: {why}"
    return None


def _handover_waits(entry: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    """The leaving node's own ``GET /status`` ``handover_waiting`` (the members its
    handover waits for: name -> ``{"step", "down", "heard_s_ago"}``,
    :meth:`impl.node.Node.handover_waiting`); None if it does not answer."""
    waits = (_answer(entry["http"], "/status") or {}).get("handover_waiting")
    return waits if isinstance(waits, dict) else None


def _quiet_down(held: object) -> bool:
    """Whether ``held`` (one member of :func:`_handover_waits`) is down and silent:
    ``down`` and not heard from for :data:`_DOWN_QUIET_S` (or never)."""
    if not isinstance(held, dict) or held.get("down") is not True:
        return False
    ago = held.get("heard_s_ago")
    return ago is None or (isinstance(ago, int | float) and ago >= _DOWN_QUIET_S)


def _waits_for_down(waits: dict[str, dict[str, Any]] | None) -> str | None:
    """A sentence naming the members of ``waits`` (:func:`_handover_waits`) if it
    waits for some member and every one is down in the leaving node's view and
    silent for :data:`_DOWN_QUIET_S` or more, as ``n4 (not heard from for 18.5 s)``;
    None otherwise."""
    if not waits or not all(_quiet_down(held) for held in waits.values()):
        return None
    said = []
    for node, held in sorted(waits.items()):
        ago = held.get("heard_s_ago")
        said.append(f"{node} (not heard from "
                    f"{'since it started' if ago is None else f'for {ago} s'})")
    return ", ".join(said)


def _replicas(directory: Path) -> int | None:
    """The ``[cluster] n`` of ``directory``'s ``cluster.toml`` (None: not there or not
    an int, the file unreadable: the node decides alone then)."""
    try:
        with open(directory / "cluster.toml", "rb") as config:
            n = tomllib.load(config).get("cluster", {}).get("n")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return n if isinstance(n, int) and not isinstance(n, bool) else None


def main_leave(argv: list[str]) -> int:
    """``vdynamo leave NODE [--dir D]``: the node hands its ranges over and stops.

    Reports "left" (exit 0, and ``cluster up`` no longer starts it) only once the
    process is gone and another member's ``GET /status`` shows the node ``left``
    (it announced its change's settlement). A node that exits before that (killed
    or crashed mid-transfer) is still ``leaving`` for the others (hints for it are
    kept, quorums stay joint): exit 1 with what happened and how to finish (``cluster
    up`` restarts it, it resumes its handover; then ``leave`` again)."""
    found = _one_node("vdynamo leave", argv, running=None)
    if isinstance(found, int):
        return found
    directory, state, name, entry = found
    running = entry is not None and _ours(directory, entry["pid"])
    if entry is None or not (running or entry.get("leaving")):
        print(f"vdynamo leave: {_not_leaving(directory, state, name, entry)}",
              file=sys.stderr)
        return 1
    others = [other for other, held in state["nodes"].items()
              if other != name and not held.get("left") and not held.get("removed")]
    n = _replicas(directory)
    if others and n is not None and len(others) < n and not entry.get("leaving") and (
            _members_say(state, name) != "leaving"):
        # (a node already leaving is not refused: signalled by hand, or its `leave`
        # interrupted before it was recorded; it waits, and the wait below says why)
        # session 24: the node would wait at its last step for ever (a departure that
        # leaves fewer than N members waits until a node joins,
        # impl.membership.departure_shortfall), and this command fail after 120 s
        print(f"vdynamo leave: {name} leaving would leave {len(others)} "
              f"member{'' if len(others) == 1 else 's'} "
              f"({', '.join(sorted(others))}), fewer than N = {n} replicas per key: join "
              f"a node first (`vdynamo join NAME --dir {directory}`)", file=sys.stderr)
        return 1
    if not others and not entry.get("leaving"):
        # before session 16's probe the signal went anyway: the node announced
        # `leaving` with nobody to take its ranges, this command waited 120 s and
        # failed, and the node stayed `leaving` (not ready) for good
        print(f"vdynamo leave: {name} is the only member of the cluster in {directory}: "
              "no node could take its key ranges; stop it with `vdynamo cluster down --dir "
              f"{directory}`",
              file=sys.stderr)
        return 1
    if running:  # (else: restarted to finish an interrupted leave, and exited since)
        os.kill(entry["pid"], signal.SIGUSR1)
    deadline = time.monotonic() + _LEAVE_TIMEOUT_S
    asked = time.monotonic() + _LEAVE_GRACE_S
    down_since: float | None = None  # (every member waited for down on each look since)
    while _ours(directory, entry["pid"]) and time.monotonic() < deadline:
        time.sleep(0.2)
        looked = time.monotonic() > asked
        waits = _departure_waits(directory, state, name) if looked else None
        down = _waits_for_down(_handover_waits(entry)) if looked and waits is None else None
        down_since = None if down is None else (down_since or time.monotonic())
        if waits is not None:
            # session 24's review: before, 120 s then "still handing its ranges over",
            # with nothing saying that the leave waits for a node to join
            why = (f"its last step waits ({waits}). Join a node (`vdynamo join NAME --dir "
                   f"{directory}`)")
        elif down is not None and time.monotonic() - (down_since or 0.0) >= _DOWN_HOLD_S:
            # session 25's review: 4 nodes, n4 killed, `leave n3` waited its 120 s, then
            # "still handing its ranges over", never naming n4 (the transfer waits for
            # every member to acknowledge the change, up or down); since session 26 a
            # member down for good can be force-removed during the leave
            why = (f"its handover waits for {down}, down in {name}'s view. Start it again "
                   f"(`vdynamo cluster up --dir {directory}`)")
        else:
            continue
        _mark_leave(directory, name, None, {"leaving": True})
        print(f"vdynamo leave: {name} is leaving and keeps serving, but {why}; {name} then "
              f"completes its leave and exits: run `vdynamo leave {name} --dir "
              f"{directory}` again to confirm it"
              + ("" if down is None else ". If it is down for good, remove it instead "
                 f"(`vdynamo remove NODE --dir {directory}`): the leave then goes on "
                 "without it"), file=sys.stderr)
        return 1
    if _ours(directory, entry["pid"]):
        waiting = _handover_waits(entry)
        named = "" if not waiting else " (it waits for " + ", ".join(
            f"{node}{' (down)' if isinstance(held, dict) and held.get('down') else ''}"
            for node, held in sorted(waiting.items())) + ")"
        print(f"vdynamo leave: {name} is still handing its ranges over after "
              f"{_LEAVE_TIMEOUT_S:.0f} s{named}",
              file=sys.stderr)
        return 1
    watched, entry["pid"] = entry["pid"], None
    seen = _members_say(state, name)
    deadline = time.monotonic() + _STOP_TIMEOUT_S
    while seen not in ("left", "absent", None) and time.monotonic() < deadline:
        time.sleep(0.2)  # the last gossip rounds of its settlement may be in flight
        seen = _members_say(state, name)
    if seen in ("removing", "removed"):
        # session 52: its store lost mid-leave (a disk replaced, the node restarted on
        # the new one), the node removed itself (impl.gossip.Gossiper._remove_lost_leaver)
        # and stopped: restarting it, as said below, would only stop it again
        _mark_leave(directory, name, watched, {"leaving": None, "left": True, "removed": True})
        _tell_unmarked(directory, name)
        print(f"vdynamo leave: {name} was removed (the others see it {seen}): its store "
              "lost what it was to hand over (a replaced disk?), so it removed itself, and "
              "the other replicas hand its ranges to their new owners; it is no member "
              "now", file=sys.stderr)
        return 1
    if seen not in ("left", "absent"):
        _mark_leave(directory, name, watched, {"leaving": True})
        view = "no other node answers" if seen is None else f"the others see it {seen}"
        print(f"vdynamo leave: {name} exited before it finished leaving ({view}); "
              f"its handover is not complete. Run `vdynamo cluster up --dir {directory}` "
              f"(it restarts {name}, which resumes its handover), then `vdynamo leave "
              f"{name} --dir {directory}` again", file=sys.stderr)
        return 1
    _mark_leave(directory, name, watched, {"leaving": None, "left": True})
    print(f"{name} left")
    _tell_unmarked(directory, name)
    return 0


def _mark_leave(directory: Path, name: str, watched: int | None,
                marks: dict[str, bool | None]) -> None:
    """Write ``vdynamo leave``'s ``marks`` of node ``name`` (``leaving``, ``left``,
    ``removed``; None: the mark dropped) into ``cluster.json`` under :func:`_locked`,
    over its entry as it is now, every other field kept; its pid cleared only while the
    entry still holds ``watched``, the process whose exit the leave saw (None: the node
    runs on). Session 53: the leave wrote its entry whole as it had read it at its
    start, so a node that ``cluster start`` (or ``up``) started again between its
    process's exit and the leave's mark lost its pid: that process ran unknown to
    ``cluster stop`` and ``down`` (a node restarted to resume an unfinished handover
    runs until it has left). ``vdynamo remove`` marks its node so too.
    ClusterStateError as :func:`read_state`."""
    with _locked(directory):
        current = read_state(directory)
        entry = current["nodes"].get(name)
        if entry is None:  # (removed from the file meanwhile by hand: nothing to mark)
            return
        if watched is not None and entry.get("pid") == watched:
            entry["pid"] = None
        for key, value in marks.items():
            if value is None:
                entry.pop(key, None)
            else:
                entry[key] = value
        _write_state(directory, current)


def _not_leaving(directory: Path, state: dict[str, Any], name: str,
                 entry: dict[str, Any] | None) -> str:
    """Why node ``name`` (its ``cluster.json`` entry, None: none) cannot leave, not
    running: it is no node of the cluster, it left or was removed already, or it is
    stopped, with what to do. "NAME is not running in D" for each before session 48's
    new user's walk (a typo'd name, a second `leave`, a node killed)."""
    if entry is None:
        return (f"no node {name} in the cluster in {directory} (its nodes: "
                f"{', '.join(state['nodes'])})")
    if entry.get("removed"):  # (a removed node started again serves nothing)
        return f"{name} was removed from the cluster in {directory} already"
    if entry.get("left"):
        return (f"{name} left the cluster in {directory} already (`vdynamo join {name} "
                f"--dir {directory}` joins it again)")
    return (f"{name} is not running in {directory}: a stopped node cannot hand its ranges "
            f"over; start it (`vdynamo cluster up --dir {directory}`), then leave, or, if it "
            f"is down for good, remove it (`vdynamo remove {name} --dir {directory}`)")


def _tell_unmarked(directory: Path, name: str) -> None:
    """Mark ``name`` left in the cluster file (:func:`_mark_left`); if it cannot
    be, say so: it left, but still counts against ``max_peer_connections`` until
    the next ``vdynamo join`` marks it."""
    with _locked(directory):  # (a join appends to the file under it)
        problem = _mark_left(directory, {name: True})
    if problem is not None:
        print(f"vdynamo: {name} is not marked left in the cluster file ({problem}): it "
              f"counts against max_peer_connections until the next `vdynamo join` marks "
              "it", file=sys.stderr)


#: the hint of a member's refusal to force-remove a node it takes for up
#: (:meth:`impl.node.Node.force_remove`), for a client of the HTTP API
_MEMBER_LEAVE_HINT = "a node that is up leaves (`vdynamo leave`); "
#: the end of a member's refusal of a removal that would leave fewer than N members
#: (:func:`impl.membership.force_remove`)
_TOO_FEW = "replicas per key"


def _here(message: str, name: str, directory: Path) -> str:
    """A member's refusal to force-remove ``name`` (``message``) as said to ``vdynamo
    remove NAME --dir DIRECTORY``, which asks only once ``name`` is not running in
    DIRECTORY: its hint `vdynamo leave` (no node, no --dir, and refused there: "not
    running") replaced by the ways on from here; a removal that would leave fewer than
    N members told the way on (a node joining counts). Session 49's operator walk: a
    node killed, `vdynamo remove n5 --dir D` at once was told "a node that is up
    leaves (`vdynamo leave`)", a command that does not run as shown; and of three
    nodes, N = 3, one killed, its removal was refused with no way on named (`vdynamo
    join n4` then waits for the killed node, and the removal is then taken)."""
    if message.endswith(_TOO_FEW):
        return (f"{message}: join a node first (`vdynamo join NAME --dir {directory}`; it "
                f"stays joining while {name} is down, and counts), then remove {name}")
    if _MEMBER_LEAVE_HINT not in message:
        return message
    return (message.replace(_MEMBER_LEAVE_HINT, "") + f". {name} is not running in "
            f"{directory}: if it has just stopped, run `vdynamo remove {name} --dir "
            f"{directory}` again then; if it runs outside {directory} (a `vdynamo serve` "
            "started by hand), it is up: stop it for good first, or make it leave (SIGUSR1 "
            "to its process)")


def main_remove(argv: list[str]) -> int:
    """``vdynamo remove NODE [--dir D]``: force-remove NODE, down for good, through a
    running member (:meth:`impl.http_api.HttpApi._force_remove`). Exit 0 once a
    member took the removal (its ranges then move to new owners by gossip); exit 1
    naming why otherwise (NODE running here, no member running, or the member's
    refusal: NODE up, unknown, fewer than N members left, a change in progress)."""
    from impl.errors import ConfigError
    from impl.http_api import ADMIN_FORCE_REMOVE, admin_authorization
    from impl.runtime_config import load_runtime_config

    found = _one_node("vdynamo remove", argv, running=None)
    if isinstance(found, int):
        return found
    directory, state, name, entry = found
    if entry is not None and _ours(directory, entry["pid"]):
        print(f"vdynamo remove: {name} is running in {directory}: a node that is up "
              f"leaves (`vdynamo leave {name} --dir {directory}`); remove is for a node "
              "down for good",
              file=sys.stderr)
        return 1
    try:
        runtime = load_runtime_config(directory / "cluster.toml")
    except ConfigError as error:
        print(f"vdynamo remove: {error}", file=sys.stderr)
        return 1
    members = [(other, held) for other, held in state["nodes"].items()
               if other != name and not held.get("left") and _ours(directory, held["pid"])]
    if not members:
        print(f"vdynamo remove: no other member is running in {directory}", file=sys.stderr)
        return 1
    other, held = members[0]
    cluster, listed = runtime.cluster, runtime.nodes.get(other)
    # the member's peer address signed (red team 13, session 61: a token bound to it
    # is refused by the member of that name of a cluster copied from this file)
    token = admin_authorization(cluster.secret, cluster.name, node=name, member=other,
                                address=str(listed.peer) if listed else "",
                                stamp=int(time.time()))
    request = urllib.request.Request(
        # the name percent-encoded whole: sent raw until session 20's service probe,
        # `remove 'db+1'` (a valid node name) asked for 'db 1' (401: the token did
        # not verify), `remove 'n3&x=1'` sent a parameter, and a name with a space
        # or a non-ASCII letter was an InvalidURL or UnicodeEncodeError traceback
        f"http://127.0.0.1:{held['http']}{ADMIN_FORCE_REMOVE}?node="
        f"{urllib.parse.quote(name, safe='')}", data=b"",
        method="POST", headers={"Authorization": f"Bearer {token}"})
    try:
        with _DIRECT.open(request, timeout=10.0) as answer:  # no proxy: the token
            answer.read()
    except urllib.error.HTTPError as error:
        try:
            body = json.loads(error.read())
            message, unknown = body.get("message", error.reason), body.get("outcome") == "unknown"
        except (ValueError, AttributeError):
            message, unknown = error.reason, False
        # an unknown outcome is no refusal: the removal may go on (session 32's review)
        said = "could not confirm the removal" if unknown else "refused"
        print(f"vdynamo remove: {other} {said}: {_here(message, name, directory)}",
              file=sys.stderr)
        return 1
    except OSError as error:
        print(f"vdynamo remove: {other} did not answer: {error}", file=sys.stderr)
        return 1
    if entry is not None:  # (its fields only, a start meanwhile keeping its pid)
        _mark_leave(directory, name, entry["pid"], {"left": True, "removed": True})
        _tell_unmarked(directory, name)
    print(f"{name} removed (by {other}): its ranges move to new owners from the "
          f"surviving replicas; `vdynamo cluster status --dir {directory}` shows it "
          "`removing`, then "
          "`removed` once they did (a member's GET /status: membership)")
    return 0
