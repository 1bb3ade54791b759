"""The import contract (.importlinter) covers every module of spec/.

`make test` runs lint-imports; this test makes sure the contract cannot go stale:
each spec module is either a value type impl may import or a protected one, so a
new spec module must be placed deliberately (DESIGN.md: impl knows nothing of the
spec's State or Actions).
"""

from __future__ import annotations

import configparser
import pkgutil
from pathlib import Path

import spec

ROOT = Path(__file__).resolve().parent.parent
VALUE_TYPES = {"spec.errors", "spec.vclock", "spec.dvv", "spec.ring", "spec.validation"}


def _contract() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(ROOT / ".importlinter")
    return parser


def test_every_spec_module_is_a_value_type_or_protected() -> None:
    section = _contract()["importlinter:contract:spec-value-types"]
    protected = set(section["protected_modules"].split())
    modules = {f"spec.{m.name}" for m in pkgutil.iter_modules(spec.__path__)}
    assert not protected & VALUE_TYPES
    unplaced = modules - protected - VALUE_TYPES
    assert not unplaced, f"add these spec modules to .importlinter: {sorted(unplaced)}"
    assert not protected - modules, f"stale names in .importlinter: {sorted(protected - modules)}"


def test_value_types_are_named_in_the_contract_comment() -> None:
    text = (ROOT / ".importlinter").read_text(encoding="utf-8")
    for name in sorted(VALUE_TYPES):
        assert name in text
