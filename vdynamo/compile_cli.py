"""``vdynamo compile``: build the opt-in compiled spec with mypyc (``make compiled``).

Usage::

    vdynamo compile            # build build/compiled/ from spec/*.py as they are now
    vdynamo compile --status   # say whether VDYNAMO_COMPILED=1 would use the build

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

from spec import compiled
from spec.errors import DynamoError

__all__ = ["build", "main", "missing_toolchain"]

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
    why = missing_toolchain()
    if why:
        raise DynamoError(why)
    folder = folder or compiled.build_dir()
    for part in ("src", "spec", "lib", "stamp.json"):
        target = folder / part
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    work = folder / "src"
    (work / "spec").mkdir(parents=True)
    for path in sorted(compiled.SPEC_DIR.glob("*.py")):
        shutil.copyfile(path, work / "spec" / path.name)
    sources = {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
               for path in sorted((work / "spec").glob("*.py"))}
    (work / "setup_compiled.py").write_text(
        _SETUP.format(paths=[f"spec/{m}.py" for m in compiled.MODULES]))
    done = subprocess.run([sys.executable, "setup_compiled.py"], cwd=work, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise DynamoError(f"mypyc failed (exit {done.returncode}):\n{tail}")
    (folder / "spec").mkdir()
    (folder / "lib").mkdir()
    for module in compiled.MODULES:
        for built in (work / "spec").glob(f"{module}.*.so"):
            built.rename(folder / "spec" / built.name)
    for shared in work.glob("*__mypyc.*.so"):
        shared.rename(folder / "lib" / shared.name)
    (folder / "stamp.json").write_text(json.dumps(
        {"python": sys.implementation.cache_tag, "modules": list(compiled.MODULES),
         "sources": sources}, indent=1) + "\n")
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vdynamo compile", description=__doc__.splitlines()[0])
    parser.add_argument("--status", action="store_true",
                        help="say whether VDYNAMO_COMPILED=1 would use the build, build nothing")
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as stop:
        return int(stop.code or 0)
    if args.status:
        usable, why = compiled.status()
        print(f"compiled spec: usable ({compiled.build_dir()}, modules: "
              f"{', '.join(compiled.MODULES)})" if usable else f"compiled spec: not usable: {why}")
        return 0 if usable else 1
    started = time.perf_counter()
    try:
        folder = build()
    except DynamoError as error:
        print(f"vdynamo compile: {error}; the pure-Python spec stays in use", file=sys.stderr)
        return 1
    print(f"compiled {len(compiled.MODULES)} spec modules into {folder} in "
          f"{time.perf_counter() - started:.0f} s; use them with VDYNAMO_COMPILED=1 or "
          "`vdynamo check --compiled`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
