"""The opt-in compiled node core: the modules a simulated operation passes through, built
by mypyc, used only when asked (session 60, issue 13).

Not a mechanism of the paper: how the readable implementation can run as C extensions
without ever shadowing it. Raises nothing; standard library only.

Theory of operation
-------------------
``vdynamo compile --impl`` (``make compiled-impl``; :mod:`vdynamo.compile_cli`) compiles
the modules of :data:`MODULES` with mypyc into a separate folder, :func:`build_dir`
(``build/compiled-impl/`` of the source tree, git-ignored; ``VDYNAMO_COMPILED_IMPL_DIR``
overrides it), never into ``impl/``: ``impl/<module>.*.so`` there (``impl/storage/`` for
the storage engine's), mypyc's shared runtime library in ``lib/``, and ``stamp.json``,
the SHA-256 of every ``impl/**/*.py`` and ``spec/*.py`` the build was type-checked
against (a compiled module trusts the types of what it calls: a changed callee could
make it raise ``TypeError`` where the pure module would not) and the Python it was made
for.

The compiled modules are used only when the environment says
``VDYNAMO_COMPILED_IMPL=1``: then ``impl/__init__.py`` calls :func:`activate` before any
other module of the package is imported, and it puts the build's folders *first* on the
``__path__`` of ``impl`` and ``impl.storage`` if, and only if, the stamp matches the
sources as they are now. A module of :data:`MODULES` is then found there, every other
module as usual. When the stamp does not match (a developer, or mutmut, edited a file
since the build), the build is missing, or it was made for another Python,
:func:`activate` says why on stderr and leaves the package alone: the pure-Python
implementation runs, never a stale build. The pure modules stay the reference: the
compiled path is for long simulations (``bench/sim.py --compiled``), and a test that
monkeypatches a method of a compiled class (a native class's namespace is immutable)
needs the pure path.

Whether the compiled path is in use: :data:`ACTIVE` (and :data:`NOTE`, why not).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

__all__ = ["ACTIVE", "ENV", "MODULES", "NOTE", "activate", "build_dir", "source_digests",
           "status"]

ENV = "VDYNAMO_COMPILED_IMPL"
"""The environment variable that asks for the compiled node core (``1``)."""

MODULES: tuple[str, ...] = (
    "antientropy", "context", "get_coordinator", "gossip", "lingering", "merkle", "node",
    "positions", "put_coordinator", "read_repair", "replica", "simulator",
    "sloppy_quorum", "staging", "storage/_common", "storage/memory", "storage/watched",
    "versions",
)
"""The modules compiled (paths under ``impl/`` without ``.py``): those a simulated put
or get spends its time in (``bench/sim.py --profile``), each of which mypyc compiles as it
is. Not compiled: the value and message classes (``records``, ``messages``, ``effects``,
``timers``, ``forwarding``): their frozen dataclasses get their ``__init__`` from
:func:`impl.quick_init.quick_init` after the class is made, which a native class's
namespace refuses; ``failure_detector``, whose ``heartbeat = heard_from`` alias in the
class body a native class cannot hold (its import fails with ``KeyError``)."""

IMPL_DIR = Path(__file__).resolve().parent
SPEC_DIR = IMPL_DIR.parent / "spec"

ACTIVE = False
"""True once :func:`activate` put a matching build first on the packages' paths."""

NOTE = "not requested"
"""Why the compiled path is not in use (empty when it is)."""


def build_dir() -> Path:
    """The folder of the build: ``$VDYNAMO_COMPILED_IMPL_DIR``, else
    ``build/compiled-impl`` next to ``impl/``."""
    override = os.environ.get("VDYNAMO_COMPILED_IMPL_DIR")
    return Path(override) if override else IMPL_DIR.parent / "build" / "compiled-impl"


def source_digests() -> dict[str, str]:
    """SHA-256 (hex) of each ``impl/**/*.py`` and ``spec/*.py`` as it is now, by path
    relative to the source tree (``impl/node.py``)."""
    paths = sorted([*IMPL_DIR.rglob("*.py"), *SPEC_DIR.glob("*.py")])
    return {path.relative_to(IMPL_DIR.parent).as_posix():
            hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}


def status() -> tuple[bool, str]:
    """Whether the build in :func:`build_dir` may be used, and if not why (a sentence
    naming the remedy)."""
    folder = build_dir()
    try:
        stamp = json.loads((folder / "stamp.json").read_text())
    except (OSError, ValueError):
        return False, f"no compiled build in {folder} (build it with `make compiled-impl`)"
    if stamp.get("python") != sys.implementation.cache_tag:
        return False, (f"the build in {folder} is for {stamp.get('python')}, this is "
                       f"{sys.implementation.cache_tag} (rebuild: `make compiled-impl`)")
    built: dict[str, str] = stamp.get("sources", {})
    now = source_digests()
    changed = sorted(name for name in built.keys() | now.keys()
                     if built.get(name) != now.get(name))
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more"
                                          if len(changed) > 5 else "")
        return False, (f"{shown} changed since the build in {folder} "
                       "(rebuild: `make compiled-impl`)")
    missing = [m for m in stamp.get("modules", []) if not any(
        (folder / "impl").glob(f"{m}.*.so"))]
    if missing or stamp.get("modules") != list(MODULES):
        return False, f"the build in {folder} is incomplete (rebuild: `make compiled-impl`)"
    return True, ""


def activate() -> bool:
    """Put the build first on the ``impl`` and ``impl.storage`` packages' ``__path__`` if
    :func:`status` allows it; otherwise say why on stderr. Called by ``impl/__init__.py``
    when ``VDYNAMO_COMPILED_IMPL=1``, before any other impl module is imported."""
    global ACTIVE, NOTE
    usable, why = status()
    if not usable:
        NOTE = why
        print(f"vdynamo: {ENV}=1 but {why}; using the pure-Python implementation",
              file=sys.stderr)
        return False
    folder = build_dir()
    sys.modules["impl"].__path__.insert(0, str(folder / "impl"))
    import impl.storage  # a docstring only; its path must name the build first too

    impl.storage.__path__.insert(0, str(folder / "impl" / "storage"))
    sys.path.append(str(folder / "lib"))  # mypyc's shared runtime library of the build
    ACTIVE, NOTE = True, ""
    return True
