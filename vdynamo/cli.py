"""The ``vdynamo`` command line.

Each subcommand lives with the layer that owns it and is imported lazily, so
``vdynamo ring`` does not pay for Z3 and ``vdynamo prove`` does not pay for the
simulator. A subcommand module exposes ``main(argv: list[str]) -> int`` (or the function
named after a colon: ``module:function``).
"""

from __future__ import annotations

import codecs
import errno
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from spec.errors import LocalError

#: the exit status of a command interrupted (Ctrl-C): 128 + SIGINT, as a shell reports a
#: command the signal ended (``cluster up`` and ``status`` while they wait, too)
INTERRUPTED = 130

# subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "check": ("model_check.cli", "model-check configurations (default: the embedded suite)"),
    "compile": ("vdynamo.compile_cli",
                "build the opt-in compiled spec with mypyc (VDYNAMO_COMPILED=1 uses it)"),
    "replay": ("vdynamo.replay_cli", "replay a counterexample trace on the spec or the impl"),
    "prove": ("model_check.proofs.cli", "run the Z3 proofs and their broken twins"),
    "validate": ("vdynamo.validate_cli",
                 "trace validation: the impl's own timing checked against the spec"),
    "ring": ("vdynamo.ring_cli", "compare the paper's three partitioning strategies"),
    "serve": ("impl.serve", "run nodes on real sockets (TCP between nodes, HTTP for clients)"),
    "show": ("vdynamo.show_cli", "print a configuration's initial state and enabled actions"),
    "cluster": ("vdynamo.cluster_cli:main_cluster",
                ("a local multi-process cluster: up --nodes 5 [--dir D], status, down, "
                 "stop NODE, start NODE")),
    "join": ("vdynamo.cluster_cli:main_join", "add a node to a running local cluster"),
    "leave": ("vdynamo.cluster_cli:main_leave", "a node hands its ranges over and stops"),
    "remove": ("vdynamo.cluster_cli:main_remove",
               "force-remove a node down for good (its ranges go to new owners)"),
    "get": ("vdynamo.kv_cli:main_get", "read a key from a running cluster"),
    "put": ("vdynamo.kv_cli:main_put", "write a key: put KEY VALUE [--context C]"),
    "delete": ("vdynamo.kv_cli:main_delete", "delete a key: delete KEY [--context C]"),
}


def _escape_unencodable(error: UnicodeError) -> tuple[str, int]:
    """The codec error handler ``vdynamo-escape``: each character the standard
    output's encoding cannot hold written as ``\\uNNNN`` (``\\UNNNNNNNN`` above
    U+FFFF), :func:`vdynamo.kv_cli.shown`'s spelling of a character, which escapes
    every backslash, so a line still reads back to its bytes."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start:error.end]
    return "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}"
                   for c in text), error.end


codecs.register_error("vdynamo-escape", _escape_unencodable)


class OutputError(LocalError):
    """Writing the standard output failed for another reason than its reader going
    away (a full disk, an I/O error, a closed descriptor): ``error`` is the OSError."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _CheckedOutput:
    """The standard output ``stream`` (None: its descriptor was closed, ``>&-``) whose
    write and flush errors are raised as :class:`OutputError`, a closed pipe's
    BrokenPipeError as itself. Session 58's red team 8: ``vdynamo get k >
    /dev/full`` (a full disk) printed an ``OSError: [Errno 28]`` traceback, and
    ``vdynamo get k >&-`` exited 0 with the value written nowhere."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def _checked(self, method: str, *args: Any) -> Any:
        if self._stream is None:
            raise OutputError(OSError(errno.EBADF, "the standard output is closed"))
        try:
            return getattr(self._stream, method)(*args)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise OutputError(error) from None

    def write(self, text: str) -> int:
        """Write ``text``: the count written; OutputError if it cannot be. A
        character the stream's encoding cannot hold is written escaped
        (:func:`_escape_unencodable`): before session 60's red team ``vdynamo get`` of a
        value ``naïve`` under ``PYTHONIOENCODING=ascii``, or a C locale Python does not
        coerce to UTF-8, died with a ``UnicodeEncodeError`` traceback, exit 1."""
        try:
            written: int = self._checked("write", text)
        except UnicodeEncodeError:  # (raised before anything of ``text`` is written)
            encoding = getattr(self._stream, "encoding", None) or "ascii"
            written = self._checked("write", text.encode(encoding, "vdynamo-escape")
                                    .decode(encoding))
        return written

    def flush(self) -> None:
        """Flush the stream; OutputError if it cannot be."""
        self._checked("flush")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _usage() -> str:
    lines = ["usage: vdynamo COMMAND [ARGS...]", "", "commands:"]
    for name, (_, help_text) in SUBCOMMANDS.items():
        lines.append(f"  {name:<8} {help_text}")
    lines.append("")
    lines.append("Run `vdynamo COMMAND --help` for a command's options. Ctrl-C ends any "
                 f"command with status {INTERRUPTED}.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if args else 2
    if args[0] == "--version":
        from importlib import metadata  # (here only: it imports zipfile and more)

        print(f"vdynamo {metadata.version('vdynamo')}")
        return 0
    name, rest = args[0], args[1:]
    if name not in SUBCOMMANDS:
        print(f"vdynamo: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name, _, function = SUBCOMMANDS[name][0].partition(":")
    stdout = sys.stdout
    if name != "serve":  # a node's lines are notes: a server with no output still serves
        sys.stdout = _CheckedOutput(stdout)
    try:
        entry = getattr(importlib.import_module(module_name), function or "main")
        result = entry(rest)
        if sys.stdout is not None:  # (None: serve's closed standard output)
            sys.stdout.flush()  # here, not at the interpreter's exit: its error is caught
    except BrokenPipeError:  # the reader went away (`vdynamo show | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
        return 0
    except OutputError as failed:
        # one line, as every error of a command (a traceback before session 58)
        answered = (f": the {name} was made before its answer was printed"
                    if name in ("put", "delete") else "")
        print(f"vdynamo {name}: cannot write to the standard output "
              f"({failed.error.strerror or failed.error}){answered}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Ctrl-C: one line and the shell's status for SIGINT; before session 48 a
        # KeyboardInterrupt traceback from wherever it struck (an import, the explorer,
        # `vdynamo ring`), unless the command caught it itself (`cluster up`'s wait)
        print(f"vdynamo {name}: interrupted", file=sys.stderr)
        return INTERRUPTED
    finally:
        sys.stdout = stdout
    return int(result)


if __name__ == "__main__":
    raise SystemExit(main())
