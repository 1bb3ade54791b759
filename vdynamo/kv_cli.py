"""``vdynamo get KEY``, ``vdynamo put KEY VALUE [--context C]`` and ``vdynamo delete
KEY [--context C]``: one request to a real cluster through the client library
(:mod:`vdynamo.client`).

The nodes are ``--node host:port`` (repeatable), else those of the local
cluster in ``--dir`` (default ``./vdynamo-cluster``, see ``vdynamo cluster up``).
``get`` prints each sibling (one line each, escaped: :func:`shown`; ``--json``: one
JSON object with the values base64) and then ``context: C``; it exits 1 when the
key has no value. ``get KEY --value-file OUT`` (``-o``; session 61) writes the one
value's exact bytes to the file OUT instead (siblings: refused naming their count,
unless ``--sibling N``: :func:`_write_got`). ``--cluster-id ID`` names the cluster
meant: a node of another is refused, nothing sent to it (session 61).
``put`` and ``delete`` print the new context (a delete writes a tombstone: a
later ``get`` prints no value and this context; without ``--context`` the
node reads the key first and deletes what it read, as Riak does: a key with no
value is left as it is and the read's context is printed). Errors print one
line and exit 1. ``--max-answer-bytes`` bounds what is read of an answer
(by default the largest answer the cluster's ``/status`` states, at least
:data:`vdynamo.client.MAX_ANSWER_BYTES` and at most
:data:`impl.http_client.MAX_STATED_ANSWER_BYTES`; session 36, 37).

KEY and VALUE are taken as the bytes given on the command line
(:func:`os.fsencode` of the argument Python decoded with surrogateescape): a
value or key that is not UTF-8 (``$'\\xff'`` in a shell) is stored as those
bytes, and read back by ``get`` with the same argument. Before, such a value
ended ``put`` in a UnicodeEncodeError traceback, and such a key was refused
(session 12's second probe).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import errno
import getpass
import hashlib
import json
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, TypeVar

from impl.config import VALUE_BYTES_CEILING
from impl.errors import DynamoError, InvalidValueError
from impl.http_client import MAX_STATED_ANSWER_BYTES
from impl.http_values import QUORUM_NAMES
from impl.runtime_config import load_runtime_config
from vdynamo.client import MAX_ANSWER_BYTES, Client, RequestRefusedError, connect
from vdynamo.cluster_cli import DEFAULT_DIR, node_running, process_stopped, read_state

__all__ = ["cli_client_id", "main_delete", "main_get", "main_put", "shown"]

T = TypeVar("T")

#: the help of ``--pr`` and ``--pw`` (the primary quorums, session 39)
_R_HELP = "read quorum for this request: 1..N, or one, quorum, all, default (Riak's)"
_W_HELP = "write quorum for this request: 1..N, or one, quorum, all, default (Riak's)"
_PR_HELP = ("primary read quorum for this request, 0..N: how many of the answers must "
            "come from the key's top N themselves, not a fallback (Riak's pr)")
_PW_HELP = ("primary write quorum for this request, 0..N: how many of the "
            "acknowledgements must come from the key's top N themselves, not a fallback "
            "holding a hint (Riak's pw)")


#: each command's exit statuses and an example, under its ``--help`` (none before
#: session 48's new user's walk)
_EPILOGS = {
    "vdynamo get": "exit status: 0 a value read (siblings: one line each); 1 no value (the "
                   "key absent or deleted: its context is printed still), or an error (one "
                   "line), or with --value-file siblings and no --sibling (their count "
                   "named, nothing written); 2 bad arguments. Examples: vdynamo get cart "
                   "--dir mycluster; vdynamo get photo -o photo.jpg --dir mycluster",
    "vdynamo put": "exit status: 0 written (the new context printed); 1 an error (one line: "
                   "nothing sent, refused, or the outcome unknown); 2 bad arguments. "
                   "Example: vdynamo put cart milk --context CONTEXT --dir mycluster",
    "vdynamo delete": "exit status: 0 deleted (the new context printed), or no value to "
                      "delete (said on stderr; the read's context printed); 1 an error (one "
                      "line); 2 bad arguments. Example: vdynamo delete cart --dir mycluster",
}


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, epilog=_EPILOGS[prog])
    parser.add_argument("key", help="the key: the bytes given, UTF-8 or not")
    parser.add_argument("--node", action="append", default=[],
                        help="a node's HTTP address host:port (repeatable)")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR,
                        help=f"a local cluster's directory, when no --node is given "
                             f"(default ./{DEFAULT_DIR})")
    parser.add_argument("--timeout", type=_timeout, default=DEFAULT_TIMEOUT_S,
                        metavar="SECONDS",
                        help="the whole command's answer within it, every node tried "
                             f"(default {DEFAULT_TIMEOUT_S:g}); a put or delete sent "
                             "waits for its answer until then (its outcome unknown "
                             "after). With --dir a node whose process is stopped "
                             "(SIGSTOP) is asked last")
    parser.add_argument("--node-timeout", type=_timeout, default=None,
                        metavar="SECONDS",
                        help="a node that does not answer within it is named and the "
                             "next one asked: a get's, a /status's, and the GET /health "
                             "asked of a node before a put or delete is sent to it (a "
                             "write is never sent twice) "
                             f"(default {NODE_TIMEOUT_S:g}, or half of --timeout if less; at "
                             "most --timeout)")
    parser.add_argument("--cluster-id", type=_cluster_id, default=None, metavar="ID",
                        help="the cluster meant: the 32 hex digits of its nodes' /status "
                             "cluster_id; a node of another cluster is refused, nothing "
                             "sent to it (default: the first cluster that answers)")
    parser.add_argument("--max-answer-bytes", type=_positive, default=None,
                        help="the largest answer read, in bytes (default: the largest "
                             "the cluster's /status states, at least "
                             f"{MAX_ANSWER_BYTES}, that of a cluster of the default "
                             f"max_frame_bytes, at most {MAX_STATED_ANSWER_BYTES})")
    return parser


#: ``--timeout``'s default: a node answers within its ``request_timeout`` (1 s by
#: default) after waiting its turn at most ``retry_after_s`` (1 s); the library's 10 s
#: made each command wait 10 s on a node that hung (SIGSTOP) before the next
#: (session 51's service probe)
DEFAULT_TIMEOUT_S = 5.0
#: ``--node-timeout``'s default: a node's part of a command (session 53: before, each
#: node had the whole ``--timeout``, so a get of a key led by a hung node took 5 s
#: and more, and a put sent to it answered "outcome unknown" after 5 s; now 2 s on
#: it, then the next node, the put not sent to it). A node answers within its
#: ``request_timeout`` (1 s by default) after waiting its turn at most
#: ``retry_after_s`` (1 s)
NODE_TIMEOUT_S = 2.0


def _node_timeout(args: argparse.Namespace) -> float:
    """Each node's part of a command (``--node-timeout``, at most ``--timeout``; not
    given: :data:`NODE_TIMEOUT_S`, or half of ``--timeout`` when that is less, so that
    a hung first node leaves time for the next)."""
    given: float | None = args.node_timeout
    if given is None:
        return min(NODE_TIMEOUT_S, float(args.timeout) / 2)
    return min(given, float(args.timeout))


def _timeout(text: str) -> float:
    """``--timeout``: seconds, a finite number in (0, 3600] (argparse's one-line
    error otherwise)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 3600:  # (NaN fails too)
        raise argparse.ArgumentTypeError(f"must be seconds in (0, 3600], got {text!r}")
    return value


def _cluster_id(text: str) -> str:
    """``--cluster-id``: 32 hex digits, lower case (argparse's one-line error
    otherwise, naming what a cluster_id is; session 61)."""
    if len(text) != 32 or any(char not in "0123456789abcdefABCDEF" for char in text):
        raise argparse.ArgumentTypeError(
            f"not a cluster_id: {text[:60]!r}: give the 32 hex digits of a node's /status "
            "cluster_id (`curl HOST:PORT/status`), not the cluster's name")
    return text.lower()


def _positive(text: str) -> int:
    """``--max-answer-bytes``: a positive int (argparse's one-line error otherwise)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number of bytes, got {text!r}")
    return value


def _sibling(text: str) -> int:
    """``--sibling``: 1 or more (argparse's one-line error otherwise; before the review
    of session 61's service gaps ``--sibling 0`` was told "must be a positive number
    of bytes", the text of ``--max-answer-bytes``)."""
    if not (text.isascii() and text.isdigit() and int(text) >= 1):
        raise argparse.ArgumentTypeError(
            f"must be 1 or more (the Nth sibling, ordered by their bytes), got {text!r}")
    return int(text)


def cli_client_id() -> str:
    """The ``X-Vdynamo-Client`` name every ``vdynamo get``, ``put`` and ``delete`` call
    of this user on this host sends (:meth:`impl.http_client.Router.client_header`,
    dvv and client-vclock): ``cli-`` and 16 hex digits of the SHA-256 of
    ``user@host`` (neither sent as such). One name across calls, as one library
    client shared by threads: before session 48's review each call was a
    ``vdynamo.connect`` client of its own, a name per call, and in client-vclock a
    shell's read-modify-write loop added a pair to the key's clock per put;
    truncation (``vclock_max_pairs``) then dropped the pairs of its older values,
    and a replica that missed them brought a superseded value and a deleted one
    back (tests/runtime/test_cli_client_vclock_chain.py). Sharing a name is safe:
    a coordinator holding a value of the pair that a put's context does not cover
    takes a fresh entry of the pair (:func:`impl.versions.apply_put`), so the
    calls' blind puts stay siblings. In dvv the same (``spec.dvv.dot_actor``'s fresh
    pairs, for every client since session 59). Without a user name (no ``USER``,
    ``LOGNAME`` and no password entry) the numeric uid stands for it."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no name for the uid (a container's bare uid)
        user = str(os.getuid())
    who = f"{user}@{socket.gethostname()}".encode("utf-8", "surrogateescape")
    return "cli-" + hashlib.sha256(who).hexdigest()[:16]


#: what ``get``, ``put`` and ``delete`` print before a context (one line)
_CONTEXT_LINE = "context: "


def _request(prog: str, args: argparse.Namespace,
             call: Callable[[Client], T]) -> T | None:
    """``call`` on a client of the nodes of ``args``; None after a one-line error. Every
    call ``call`` makes of the client ends by ``--timeout`` from here, together
    (:attr:`impl.http_client.Client.ends_at`; session 54: ``put --value-file`` makes two,
    ``/status`` for the value's limit and the put, and each had the whole ``--timeout``,
    so the command could take twice it)."""
    began = time.monotonic()
    if getattr(args, "context", None) == "":
        # the library's "pass the context a get returned, or None for a blind put"
        # before session 38's user probe: no option of the command is None
        without = ("a blind put (a sibling of what is there)" if prog == "vdynamo put" else
                   "a delete that reads the key first and deletes what it read")
        print(f"{prog}: --context: empty (an unset variable?): give the context a get "
              f"printed, or leave --context out for {without}; nothing was sent",
              file=sys.stderr)
        return None
    given = getattr(args, "context", None)
    if isinstance(given, str) and given.startswith(_CONTEXT_LINE):
        # the whole line `get` prints copied (session 59's red team, probe 23j: sent,
        # and refused "X-Vdynamo-Context: not valid base64", the prefix not named)
        print(f"{prog}: --context: {given[:40]!r}... starts with the {_CONTEXT_LINE!r} "
              f"that `vdynamo get` prints before the context: give what follows it "
              f"(--context {given[len(_CONTEXT_LINE):][:20]}...); nothing was sent",
              file=sys.stderr)
        return None
    try:  # a damaged cluster.json: one line (ClusterStateError), not a traceback
        known = {} if args.node else read_state(args.dir)["nodes"]
        nodes = list(args.node) or [
            f"127.0.0.1:{entry['http']}" for entry in known.values() if not entry.get("left")]
        if not nodes:
            # "no node given (--node, or a cluster in --dir)" before session 22: a typo
            # in --dir (or the default ./vdynamo-cluster from another directory) was
            # not named
            why = (f"every node of the cluster in {args.dir} left" if known else
                   _no_cluster(Path(args.dir)))
            print(f"{prog}: {why}", file=sys.stderr)
            return None
        running = {name for name, entry in known.items()
                   if not entry.get("left") and node_running(Path(args.dir), entry.get("pid"))}
        if known and not running:
            # each node's ConnectError listed before session 23's review
            print(f"{prog}: no node of the cluster in {args.dir} is running (`vdynamo "
                  f"cluster up --dir {args.dir}` starts it again)", file=sys.stderr)
            return None
        stopped = {f"127.0.0.1:{entry['http']}": name for name, entry in known.items()
                   if name in running and process_stopped(entry["pid"])}
        if stopped and len(stopped) == len(running):
            # the others down (session 52's review: compared with every node, it waited
            # --timeout on each stopped one after the down ones refused)
            print(f"{prog}: every node of the cluster in {args.dir} that runs is stopped "
                  f"(SIGSTOP?): {', '.join(sorted(stopped.values()))}; nothing was sent "
                  f"(`kill -CONT PID` resumes one)", file=sys.stderr)
            return None
        for address, name in stopped.items():  # session 52: 10 s on it, nothing said
            print(f"{prog}: {name} ({address}) is stopped (SIGSTOP?): asked last",
                  file=sys.stderr)
        nodes = [node for node in nodes if node not in stopped] + list(stopped)
        client = connect(nodes, timeout_s=_node_timeout(args), deadline_s=args.timeout,
                         max_answer_bytes=args.max_answer_bytes,
                         cluster_id=args.cluster_id)
    except DynamoError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return None
    with client, _asked_directly(not args.node):
        client.router.client_id = cli_client_id()  # one name across calls
        client.ends_at = began + float(args.timeout)
        for base in client.router.seeds[len(nodes) - len(stopped):]:
            client.router.suspect(base)  # the stopped ones: after every other
        try:
            done = call(client)
        except DynamoError as error:  # it names the nodes tried, and what each did
            print(f"{prog}: {error}", file=sys.stderr)
            return None
        _name_silent(prog, client, set(stopped), _node_timeout(args))
        return done


#: the names of the variable that lists the hosts asked without a proxy
_NO_PROXY = ("no_proxy", "NO_PROXY")


@contextlib.contextmanager
def _asked_directly(local: bool) -> Iterator[None]:
    """While it is entered, with ``local`` (the nodes of ``--dir``: this host's own
    processes on 127.0.0.1), ``NO_PROXY`` and ``no_proxy`` of this process also name
    127.0.0.1, so that httpx asks them directly whatever proxy the environment names
    (as :data:`vdynamo.cluster_cli._DIRECT` does; Go's net/http never proxies
    loopback); both put back after. Session 59's red team (probe 23h): with
    ``http_proxy`` naming a proxy that cannot reach this host's loopback, ``vdynamo put
    cart milk --dir D`` failed naming each node "ConnectError: Connection refused" (the
    proxy's refusal) while every node ran. ``--node`` addresses keep the environment's
    proxy (the library's rule, session 36)."""
    if not local:
        yield
        return
    kept = {name: os.environ.get(name) for name in _NO_PROXY}
    hosts = [host for value in kept.values() if value for host in value.split(",")]
    for name in _NO_PROXY:
        os.environ[name] = ",".join(dict.fromkeys([*hosts, "127.0.0.1"]))
    try:
        yield
    finally:
        for name, value in kept.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _name_silent(prog: str, client: Client, stopped: set[str], timeout: float) -> None:
    """Name on stderr the nodes ``client`` found silent (refused, timed out, no whole
    answer within ``timeout`` s: :meth:`impl.http_client.Router.suspected`) on the way
    to a request's answer, but the ``stopped`` ones (``host:port``) already named
    (session 52: before, a command waited 10 s on a hung node and said nothing of
    it). A request that failed names them in its error already."""
    names = {base: name for name, base in client.router.http.items()}
    silent = [(f"{names[base]} ({address})" if base in names else address)
              for base in client.router.suspected()
              if (address := base.removeprefix("http://")) not in stopped]
    if silent:
        print(f"{prog}: no answer within {timeout:g} s from {', '.join(silent)} "
              "(its connection refused, or no whole answer: a hung node?)", file=sys.stderr)


def _no_cluster(directory: Path) -> str:
    """Why ``directory`` names no node: no ``vdynamo cluster up`` state in it. A
    cluster file there (nodes started by ``vdynamo serve``, README's first steps) is
    named, with its nodes' HTTP addresses for ``--node``, or with what is wrong with
    it. Before session 26's user probe such a directory got "no cluster in D (start
    one with `vdynamo cluster up ...`)" whatever it held, a malformed cluster.toml
    too."""
    advice = (f"no cluster in {directory} (start one with `vdynamo cluster up --dir "
              f"{directory}`, or give a node's address: --node HOST:PORT)")
    path = directory / "cluster.toml"
    if not path.is_file():
        return advice
    try:
        nodes = load_runtime_config(path).nodes
    except (OSError, DynamoError) as error:
        return f"{advice}; its cluster.toml cannot be used: {error}"
    addresses = " ".join(f"--node {entry.http}" for entry in nodes.values())
    return (f"no cluster that `vdynamo cluster up` started in {directory}: --dir reads "
            f"its state (cluster.json); for the nodes of {path} give their HTTP "
            f"addresses: {addresses}")


#: how :func:`shown` writes the characters it escapes that have a short form
_SHORT_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def shown(value: bytes) -> str:
    r"""``value`` as one line of ``vdynamo get``'s output: UTF-8 text as it is, but a
    backslash, a newline, CR and tab as ``\\``, ``\n``, ``\r``, ``\t``, a byte that is
    not UTF-8 as ``\xNN`` and any other character that is not printable as
    ``\xNN`` (ASCII: its byte) or ``\uNNNN``, ``\UNNNNNNNN`` (from U+0080 on), so
    that each line is one sibling and reads back to its bytes
    (``tests/vdynamo/test_kv_shown.py`` inverts it; session 30's review: U+0080 and
    the byte 0x80 both printed ``\x80``). Before session 30's user probe a value was
    printed decoded with ``backslashreplace``: the value ``line1\nline2`` printed as two
    lines, exactly as two siblings ``line1`` and ``line2`` do, and the four
    characters ``\xff`` as the byte 0xFF (``--json`` gives the exact bytes)."""
    out = []
    for char in value.decode("utf-8", "surrogateescape"):
        code = ord(char)
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8 (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif char.isprintable():
            out.append(char)
        else:
            # from U+0080 on \uNNNN, never \xNN: that is a byte 0x80-0xFF that is not
            # UTF-8 (above); until session 30's review U+0080 (b"\xc2\x80") and the
            # byte 0x80 (b"\x80") both printed \x80
            out.append(f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"
                       if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


def _quorum(text: str) -> int | str:
    """An ``--r``, ``--w``, ``--pr`` or ``--pw`` argument: an integer (the client
    refuses one under its floor, naming it), or one of Riak's names
    (:data:`impl.http_values.QUORUM_NAMES`, the node reads them; since session 50);
    argparse's error otherwise."""
    if text in QUORUM_NAMES:
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an integer nor one of {', '.join(QUORUM_NAMES)}: {text!r}") from None


def main_get(argv: list[str]) -> int:
    """``vdynamo get KEY [--r R] [--pr PR] [--json | -o OUT [--sibling N]]``.
    ``--value-file OUT`` (``-o``; session 61, the twin of ``put --value-file``):
    :func:`_write_got`."""
    parser = _parser("vdynamo get")
    parser.add_argument("--r", type=_quorum, help=_R_HELP)
    parser.add_argument("--pr", type=_quorum, help=_PR_HELP)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("-o", "--value-file", metavar="OUT", default=None,
                        help="write the value's exact bytes to the file OUT ('-': the "
                             "standard output, the context then on stderr) instead of "
                             "printing it escaped; written only when the key has one "
                             "value (siblings: refused, their count named, unless "
                             "--sibling N)")
    parser.add_argument("--sibling", type=_sibling, metavar="N", default=None,
                        help="with --value-file: write the Nth of the siblings, 1.., "
                             "ordered by their bytes (the same N whichever node answers)")
    args = parser.parse_args(argv)
    if args.value_file is not None and args.json:
        parser.error("--json and --value-file: give one (--json has every sibling's "
                     "bytes in base64)")
    if args.sibling is not None and args.value_file is None:
        parser.error("--sibling N: only with --value-file OUT (it picks the value written)")
    if args.value_file is not None and (wrong := _out_problem(args.value_file)):
        print(f"vdynamo get: --value-file {args.value_file}: {wrong}; nothing was read",
              file=sys.stderr)
        return 1
    got = _request("vdynamo get", args, lambda client: client.get(
        os.fsencode(args.key), r=args.r, pr=args.pr))
    if got is None:
        return 1
    if args.value_file is not None:
        return _write_got(args.key, got.values, got.context, args.value_file, args.sibling)
    if args.json:
        print(json.dumps({"values": [base64.b64encode(v).decode() for v in got.values],
                          "content_types": got.content_types, "context": got.context}))
    else:
        for value in got.values:
            print(shown(value))
        if not got.values:
            print("(no value)", file=sys.stderr)
        print(f"{_CONTEXT_LINE}{got.context}")
    return 0 if got.values else 1


def _out_problem(path: str) -> str | None:
    """Why ``get --value-file`` cannot write the file ``path`` (checked before the get
    is sent): its directory missing, not a directory or not writable, or ``path`` a
    directory; None when it can (``-``: the standard output)."""
    if path == "-":
        return None
    out = Path(path)
    if out.is_file():  # (a symbolic link to a file: its target's, :func:`_write_file`)
        out = Path(os.path.realpath(path))
    parent = out.parent
    if out.is_dir():
        return "is a directory (give a file's path)"
    if not parent.is_dir():
        return (f"no directory {str(parent)!r}" if not parent.exists() else
                f"{str(parent)!r} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK) and not (
            out.exists() and os.access(out, os.W_OK)):
        return f"cannot write in the directory {str(parent)!r} (permission denied)"
    return None


def _write_got(key: str, values: list[bytes], context: str, path: str,
               sibling: int | None) -> int:
    """``vdynamo get KEY --value-file PATH [--sibling N]`` after the get: the one
    value's exact bytes written to the file ``path`` (``-``: the standard output),
    then ``context: C`` printed (on stderr for ``-``, the output being the value's);
    exit status 0. With no value: ``(no value)``, the context, 1, the file untouched.
    With siblings and no ``sibling``: one line naming their count and the ways out
    (``--sibling N``, or ``--json`` to read them all and a put of their merge with the
    context printed), the context, 1, nothing written; as Riak's HTTP API answers
    ``300 Multiple Choices`` listing the siblings' vtags and serves one only when
    asked for one (``?vtag=``). ``sibling`` N: the Nth of the siblings ordered by
    their bytes (the order the answering node gives may differ between reads),
    over their count: refused so. The file is written whole (a temporary file in its
    directory renamed over it, so a failed write leaves the old file), but a path
    that is not a regular file (``/dev/stdout``, a pipe) is written in place; an
    OSError is one line, exit 1."""
    context_out = sys.stderr if path == "-" else sys.stdout
    if not values:
        print("(no value): nothing written", file=sys.stderr)
        print(f"{_CONTEXT_LINE}{context}", file=context_out)
        return 1
    if sibling is None and len(values) > 1:
        print(f"vdynamo get: {key!r} has {len(values)} siblings and --value-file writes "
              f"one value: give --sibling 1..{len(values)} (ordered by their bytes), or "
              "read them all with --json and put their merge with --context (below); "
              "nothing was written", file=sys.stderr)
        print(f"{_CONTEXT_LINE}{context}", file=context_out)
        return 1
    if sibling is not None and sibling > len(values):
        print(f"vdynamo get: --sibling {sibling}: {key!r} has {len(values)} "
              f"value{'s' if len(values) > 1 else ''}; nothing was written", file=sys.stderr)
        print(f"{_CONTEXT_LINE}{context}", file=context_out)
        return 1
    value = sorted(values)[(sibling or 1) - 1]
    try:
        _write_file(path, value)
    except OSError as error:
        print(f"vdynamo get: --value-file {path}: cannot write it "
              f"({error.strerror or error}); the value was read, not written",
              file=sys.stderr)
        return 1
    print(f"{_CONTEXT_LINE}{context}", file=context_out)
    return 0


def _write_file(path: str, value: bytes) -> None:
    """``value`` into the file ``path`` (``-``: the standard output's bytes): whole,
    through a temporary file renamed over it, unless ``path`` names something other
    than a regular file (a device, a pipe: written in place). OSError as writing."""
    if path == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(value)
        sys.stdout.buffer.flush()
        return
    # a symbolic link written through to its target, as the shell's `>` and `curl -o`
    # do (the review of session 61's service gaps: the link itself was replaced by a
    # regular file, its target left as it was); a file this user may not write refused
    # as `>` refuses it (it was replaced by the rename: the directory was writable)
    out = Path(path)
    if out.exists() and not out.is_file():  # (by the path given: /dev/stdout's target
        with open(out, "wb") as stream:     # is a /proc link naming "pipe:[N]")
            stream.write(value)
        return
    if out.is_file():
        out = Path(os.path.realpath(path))
    if out.exists() and not os.access(out, os.W_OK):
        raise PermissionError(errno.EACCES, "the file is read-only for this user")
    if out.exists() and not os.access(out.parent, os.W_OK | os.X_OK):
        # a file this user may write in a directory it may not: written in place, as
        # `>` does (:func:`_out_problem` lets it through; the temporary file's
        # mkstemp failed, after the get, until the review of session 61's service gaps)
        with open(out, "r+b") as stream:
            stream.write(value)
            stream.truncate()
        return
    if out.exists():
        mode = out.stat().st_mode & 0o7777  # an existing file keeps its mode
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask  # as open() would create it (mkstemp's is 0600)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as stream:
            stream.write(value)
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def main_put(argv: list[str], stdin: BinaryIO | None = None) -> int:
    """``vdynamo put KEY [VALUE | --value-file PATH] [--context C] [--content-type T]
    [--w W] [--pw PW]``. The value is VALUE's bytes; or the bytes of the file PATH (``-``: the
    standard input); or, VALUE and PATH both left out, the standard input's bytes
    when it is not a terminal (as ``etcdctl put KEY`` reads its value). Session 38's
    user probe: a value over Linux's limit of one argument (128 KiB) could not be
    given at all (``Argument list too long``), below the cluster's ``max_value_bytes``
    (1 MiB). Exits 1 with one line naming what was wrong (both given, none given on a
    terminal, a file that cannot be read, a file or input longer than the cluster's
    ``max_value_bytes``: :func:`_read_value`). ``stdin``: the standard input's bytes
    (None: ``sys.stdin.buffer``; injectable for tests)."""
    parser = _parser("vdynamo put")
    parser.add_argument("value", nargs="?", default=None,
                        help="the value (left out: --value-file, or the standard input)")
    parser.add_argument("--value-file", metavar="PATH", default=None,
                        help="read the value from the file PATH ('-': the standard input)")
    parser.add_argument("--context", help="the context of a get (none: a new concurrent write)")
    parser.add_argument("--content-type", default="text/plain; charset=utf-8",
                        help="the value's Content-Type (default: text/plain; charset=utf-8)")
    parser.add_argument("--w", type=_quorum, help=_W_HELP)
    parser.add_argument("--pw", type=_quorum, help=_PW_HELP)
    args = parser.parse_args(argv)
    stdin = stdin if stdin is not None else sys.stdin.buffer
    source = _put_value(args.value, args.value_file, stdin)
    if source is None:
        return 1

    def put(client: Client) -> str:
        value = source if isinstance(source, bytes) else _read_value(client, *source)
        return client.put(os.fsencode(args.key), value, context=args.context,
                          content_type=args.content_type, w=args.w, pw=args.pw)

    try:
        context = _request("vdynamo put", args, put)
    finally:
        if isinstance(source, tuple) and source[0] is not stdin:
            source[0].close()
    if context is None:
        return 1
    print(f"{_CONTEXT_LINE}{context}")
    return 0


def _put_value(given: str | None, path: str | None,
               stdin: BinaryIO) -> bytes | tuple[BinaryIO, str] | None:
    """What ``vdynamo put`` writes (:func:`main_put`): VALUE's bytes, or the stream to
    read the value from (the file PATH opened, or the standard input) and how to name
    it (:func:`_read_value` reads it, once a node was asked the cluster's limit);
    None after a one-line error."""
    if given is not None and path is not None:
        print("vdynamo put: give the value either as VALUE or as --value-file, not both; "
              "nothing was sent", file=sys.stderr)
        return None
    if given is not None:
        return os.fsencode(given)
    if path is None and stdin.isatty():
        print("vdynamo put: no value: give VALUE, --value-file PATH, or the value on the "
              "standard input (a pipe or a file, not a terminal); nothing was sent",
              file=sys.stderr)
        return None
    if path is None or path == "-":
        return stdin, "the standard input"
    try:
        stream = open(path, "rb")  # noqa: SIM115 (closed by main_put)
    except OSError as error:
        print(f"vdynamo put: --value-file {path}: cannot read it ({error.strerror or error}); "
              "nothing was sent", file=sys.stderr)
        return None
    return stream, f"--value-file {path}"


def _read_value(client: Client, stream: BinaryIO, what: str) -> bytes:
    """The value ``stream`` holds (``what`` names it), read up to the
    ``max_value_bytes`` the cluster's ``/status`` states (``limits``; when it states
    none, or more than any configuration may give:
    :data:`impl.config.VALUE_BYTES_CEILING`, 1 GiB) and one byte more. Raises
    InvalidValueError naming the limit for a longer input, and naming the error for
    one that cannot be read; nothing is sent then.

    Session 39's user probe: the value was read whole before anything else, so
    ``vdynamo put k --value-file /dev/zero`` (or ``yes | vdynamo put k``) grew the
    process until it ran out of memory (under a 1 GiB address-space limit a
    MemoryError traceback after 1.3 s; without one, the machine's memory), and a file
    over the limit was read whole only to be refused 413."""
    limits = client.status().get("limits")
    stated = limits.get("max_value_bytes") if isinstance(limits, dict) else None
    limit = (stated if isinstance(stated, int) and not isinstance(stated, bool)
             and 0 <= stated <= VALUE_BYTES_CEILING else VALUE_BYTES_CEILING)
    try:
        value = _read_upto(stream, limit + 1)
    except OSError as error:
        raise InvalidValueError(f"{what}: cannot read it ({error.strerror or error}); "
                                "nothing was sent") from error
    if len(value) > limit:
        raise InvalidValueError(
            f"{what}: the value is over {limit} bytes, the cluster's max_value_bytes "
            f"(its nodes refuse it: 413); read {limit + 1} bytes and stopped; nothing "
            "was sent")
    return value


#: the most :func:`_read_upto` asks of a stream at once (bytes)
_READ_PIECE = 1 << 20


def _read_upto(stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes of ``stream`` (fewer at its end), asked for in pieces of
    at most :data:`_READ_PIECE`: a read of ``size`` at once allocates ``size`` bytes
    before anything is read (CPython's buffered and raw reads), so a value of a few
    bytes put to a cluster of a large ``max_value_bytes`` (or from a node whose
    ``/status`` states none: 1 GiB) took that much memory, a MemoryError traceback
    under a 1 GiB address-space limit (session 39's review of the service probe);
    and a raw stream's read may return less than asked before its end."""
    value = bytearray()
    while len(value) < size:
        piece = stream.read(min(size - len(value), _READ_PIECE))
        if not piece:
            break
        value += piece
    return bytes(value)


def main_delete(argv: list[str]) -> int:
    """``vdynamo delete KEY [--context C] [--w W] [--r R] [--pw PW] [--pr PR]``."""
    parser = _parser("vdynamo delete")
    parser.add_argument("--context", help="the context of a get: what the delete covers "
                                          "(none: read the key first and delete what is there)")
    parser.add_argument("--w", type=_quorum, help=_W_HELP)
    parser.add_argument("--r", type=_quorum, help="read quorum of the read made when no "
                                              "--context is given")
    parser.add_argument("--pw", type=_quorum, help=_PW_HELP)
    parser.add_argument("--pr", type=_quorum, help="primary read quorum of that read")
    args = parser.parse_args(argv)

    def delete(client: Client) -> tuple[str, bool]:
        """(the context, whether a tombstone was written)."""
        try:
            return client.delete(os.fsencode(args.key), context=args.context, w=args.w,
                                 r=args.r, missing_ok=False, pw=args.pw, pr=args.pr), True
        except RequestRefusedError as refused:
            if refused.status == 404 and isinstance(refused.body.get("context"), str):
                return refused.body["context"], False
            raise

    done = _request("vdynamo delete", args, delete)
    if done is None:
        return 1
    context, deleted = done
    if not deleted:  # said so, as `get` says "(no value)"; before session 15's probe B
        # the output was that of a delete that wrote its tombstone
        print("(no value: nothing deleted)", file=sys.stderr)
    print(f"{_CONTEXT_LINE}{context}")
    return 0
