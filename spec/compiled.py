"""The opt-in compiled path: the spec's modules built by mypyc, used only when asked.

Not a mechanism of the paper: how the readable spec can run as C extensions
without ever shadowing it. Raises nothing; standard library only.

Theory of operation
-------------------
``vdynamo compile`` (``make compiled``; :mod:`vdynamo.compile_cli`) compiles the
modules of :data:`MODULES` with mypyc into a separate folder, :func:`build_dir`
(``build/compiled/`` of the source tree, git-ignored; ``VDYNAMO_COMPILED_DIR``
overrides it), never into ``spec/``: ``spec/<module>.*.so`` there, mypyc's shared
runtime library in ``lib/``, and ``stamp.json``, the SHA-256 of every
``spec/*.py`` the build was made from and the Python it was made for.

The compiled modules are used only when the environment says
``VDYNAMO_COMPILED=1`` (``vdynamo check --compiled`` sets it for a child
process): then ``spec/__init__.py`` calls :func:`activate` before any other
module of the package is imported, and it puts the build's folder *first* on the
package's ``__path__`` if, and only if, the stamp matches the sources as they
are now. A module of :data:`MODULES` is then found there, every other module in
``spec/`` as usual. When the stamp does not match (a developer, or mutmut,
edited a spec file since the build), the build is missing, or it was made for
another Python, :func:`activate` says why on stderr and leaves the package
alone: the pure-Python spec runs, never a stale build.

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

ENV = "VDYNAMO_COMPILED"
"""The environment variable that asks for the compiled path (``1``)."""

MODULES: tuple[str, ...] = (
    "anti_entropy", "coordination", "deletes", "delivery", "faults", "handoff",
    "membership", "model", "read_repair", "replica", "requests", "step", "symmetry",
)
"""The modules compiled: the successor generation and the symmetry reduction, those
mypyc compiles as they are. Not compiled: the value classes (``state``, ``clocks``,
``actions``, ``dvv``, ``vclock``, ``config``, ``ring``): mypyc compiles them only
after rewriting what makes them fast in CPython (``object.__new__``, generic
frozen dataclasses), and that bought no more (docs/model-checking.md, "The compiled
path")."""

SPEC_DIR = Path(__file__).resolve().parent

ACTIVE = False
"""True once :func:`activate` put a matching build first on ``spec.__path__``."""

NOTE = "not requested"
"""Why the compiled path is not in use (empty when it is)."""


def build_dir() -> Path:
    """The folder of the build: ``$VDYNAMO_COMPILED_DIR``, else ``build/compiled`` next
    to ``spec/``."""
    override = os.environ.get("VDYNAMO_COMPILED_DIR")
    return Path(override) if override else SPEC_DIR.parent / "build" / "compiled"


def source_digests() -> dict[str, str]:
    """SHA-256 (hex) of each ``spec/*.py`` as it is now, by file name."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(SPEC_DIR.glob("*.py"))}


def status() -> tuple[bool, str]:
    """Whether the build in :func:`build_dir` may be used, and if not why (a sentence
    naming the remedy)."""
    folder = build_dir()
    try:
        stamp = json.loads((folder / "stamp.json").read_text())
    except (OSError, ValueError):
        return False, f"no compiled build in {folder} (build it with `make compiled`)"
    if stamp.get("python") != sys.implementation.cache_tag:
        return False, (f"the build in {folder} is for {stamp.get('python')}, this is "
                       f"{sys.implementation.cache_tag} (rebuild: `make compiled`)")
    built: dict[str, str] = stamp.get("sources", {})
    now = source_digests()
    changed = sorted(name for name in built.keys() | now.keys()
                     if built.get(name) != now.get(name))
    if changed:
        return False, (f"spec/{', spec/'.join(changed)} changed since the build in {folder} "
                       "(rebuild: `make compiled`)")
    missing = [m for m in stamp.get("modules", []) if not any(
        (folder / "spec").glob(f"{m}.*.so"))]
    if missing or stamp.get("modules") != list(MODULES):
        return False, f"the build in {folder} is incomplete (rebuild: `make compiled`)"
    return True, ""


def activate() -> bool:
    """Put the build first on the ``spec`` package's ``__path__`` if :func:`status`
    allows it; otherwise say why on stderr. Called by ``spec/__init__.py`` when
    ``VDYNAMO_COMPILED=1``, before any other spec module is imported."""
    global ACTIVE, NOTE
    usable, why = status()
    if not usable:
        NOTE = why
        print(f"vdynamo: {ENV}=1 but {why}; using the pure-Python spec", file=sys.stderr)
        return False
    folder = build_dir()
    package = sys.modules["spec"]
    package.__path__.insert(0, str(folder / "spec"))
    sys.path.append(str(folder / "lib"))  # mypyc's shared runtime library of the build
    ACTIVE, NOTE = True, ""
    return True
