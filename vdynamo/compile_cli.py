"""``vdynamo compile``: build the opt-in compiled spec with mypyc (``make compiled``).

Usage::

    vdynamo compile            # build build/compiled/ from spec/*.py as they are now
    vdynamo compile --status   # say whether VDYNAMO_COMPILED=1 would use the build
    vdynamo compile --impl     # the node core (session 60): build/compiled-impl/
    vdynamo compile --impl --status  # whether VDYNAMO_COMPILED_IMPL=1 would use it

It copies ``spec/*.py`` into ``build/compiled/src/``, compiles the modules of
:data:`spec.compiled.MODULES` there with mypyc (part of mypy, a test
dependency; it needs a C compiler and Python's headers: on Debian ``apt-get
install gcc python3-dev``), and moves the extension modules to
``build/compiled/spec/``, mypyc's runtime library to ``build/compiled/lib/``,
with ``stamp.json`` (the sources' SHA-256). Nothing is written into ``spec/``:
the build is used only under ``VDYNAMO_COMPILED=1`` (or ``vdynamo check
--compiled``) and only while the sources are those it was built from
(:mod:`spec.compiled`). Exit status: 0 built (or ``--status``: usable), 1 not
(the reason on stderr), 2 usage error.

``--impl`` does the same for the node core (:mod:`impl.compiled`, session 60): it
copies ``impl/**/*.py`` and ``spec/*.py`` into ``build/compiled-impl/src/``, compiles
:data:`impl.compiled.MODULES`, and puts the extension modules in
``build/compiled-impl/impl/``; ``VDYNAMO_COMPILED_IMPL=1`` uses them while the sources
are those it was built from.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Sequence
from pathlib import Path

from impl import compiled as impl_compiled
from spec import compiled
from spec.errors import DynamoError

__all__ = ["build", "build_impl", "main", "missing_toolchain"]

_SETUP = """\
from mypyc.build import mypycify
from setuptools import setup

setup(name="vdynamo-compiled-spec", script_args=["build_ext", "--inplace"],
      ext_modules=mypycify({paths!r}, opt_level="3"))
"""


def missing_toolchain() -> str:
    """Why mypyc cannot build here (a sentence naming the remedy), or "" if it can."""
    try:
        import mypyc  # noqa: F401
    except ImportError:
        return "mypyc is not installed (it comes with mypy: pip install -e '.[test]')"
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(cc) is None:
        return f"no C compiler ({cc}): on Debian, apt-get install gcc python3-dev"
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not headers.exists():
        return f"no Python headers ({headers}): on Debian, apt-get install python3-dev"
    return ""


def build(folder: Path | None = None) -> Path:
    """Compile :data:`spec.compiled.MODULES` into ``folder`` (default
    :func:`spec.compiled.build_dir`) and write its stamp; returns the folder.

    Raises DynamoError naming the cause when the toolchain is missing or mypyc
    fails (its output's tail in the message)."""
    folder = folder or compiled.build_dir()
    sources = sorted(compiled.SPEC_DIR.glob("*.py"))
    return _build(folder, "spec", compiled.MODULES, compiled.SPEC_DIR.parent, sources)


def build_impl(folder: Path | None = None) -> Path:
    """Compile :data:`impl.compiled.MODULES` (the node core, session 60) into ``folder``
    (default :func:`impl.compiled.build_dir`) and write its stamp; returns the folder.
    The copy it compiles holds ``impl/**/*.py`` and ``spec/*.py`` (mypyc type-checks the
    whole program); the stamp names every one of them.

    Raises DynamoError as :func:`build` does."""
    folder = folder or impl_compiled.build_dir()
    root = impl_compiled.IMPL_DIR.parent
    sources = sorted([*impl_compiled.IMPL_DIR.rglob("*.py"),
                      *impl_compiled.SPEC_DIR.glob("*.py")])
    return _build(folder, "impl", impl_compiled.MODULES, root, sources)


def _build(folder: Path, package: str, modules: Sequence[str], root: Path,
           paths: Sequence[Path]) -> Path:
    why = missing_toolchain()
    if why:
        raise DynamoError(why)
    for part in ("src", package, "lib", "stamp.json"):
        target = folder / part
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    work = folder / "src"
    sources: dict[str, str] = {}
    for path in paths:
        name = path.relative_to(root)
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, work / name)
        key = path.name if package == "spec" else name.as_posix()
        sources[key] = hashlib.sha256((work / name).read_bytes()).hexdigest()
    (work / "setup_compiled.py").write_text(
        _SETUP.format(paths=[f"{package}/{m}.py" for m in modules]))
    done = subprocess.run([sys.executable, "setup_compiled.py"], cwd=work, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise DynamoError(f"mypyc failed (exit {done.returncode}):\n{tail}")
    (folder / "lib").mkdir()
    for module in modules:
        for built in (work / package).glob(f"{module}.*.so"):
            target = folder / package / built.relative_to(work / package)
            target.parent.mkdir(parents=True, exist_ok=True)
            built.rename(target)
    for shared in work.glob("*__mypyc.*.so"):
        shared.rename(folder / "lib" / shared.name)
    (folder / "stamp.json").write_text(json.dumps(
        {"python": sys.implementation.cache_tag, "modules": list(modules),
         "sources": sources}, indent=1) + "\n")
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vdynamo compile", description=__doc__.splitlines()[0])
    parser.add_argument("--status", action="store_true",
                        help="say whether VDYNAMO_COMPILED=1 would use the build, build nothing")
    parser.add_argument("--impl", action="store_true",
                        help="the node core instead (impl.compiled.MODULES; "
                             "VDYNAMO_COMPILED_IMPL=1 uses it)")
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as stop:
        return int(stop.code or 0)
    what, module = ("node core", impl_compiled) if args.impl else ("spec", compiled)
    if args.status:
        usable, why = module.status()
        print(f"compiled {what}: usable ({module.build_dir()}, modules: "
              f"{', '.join(module.MODULES)})" if usable else
              f"compiled {what}: not usable: {why}")
        return 0 if usable else 1
    started = time.perf_counter()
    try:
        folder = build_impl() if args.impl else build()
    except DynamoError as error:
        print(f"vdynamo compile: {error}; the pure-Python {what} stays in use", file=sys.stderr)
        return 1
    use = (f"{module.ENV}=1 (bench/sim.py --compiled)" if args.impl
           else f"{module.ENV}=1 or `vdynamo check --compiled`")
    print(f"compiled {len(module.MODULES)} {what} modules into {folder} in "
          f"{time.perf_counter() - started:.0f} s; use them with {use}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
